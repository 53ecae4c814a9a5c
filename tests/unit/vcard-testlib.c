/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* APDU helpers for the virtual card tests. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "common/bytes.h"
#include "tests/unit/vcard-testlib.h"

uint16_t
tx_raw(struct vcard *vc, const uint8_t *apdu, size_t len, struct rapdu *r)
{
	uint8_t resp[VCARD_MAX_RESPONSE];
	size_t rl = 0;

	r->len = 0;
	if (vcard_transmit(vc, apdu, len, resp, &rl) != MDP_OK || rl < 2)
		return 0;
	r->len = rl - 2;
	memcpy(r->data, resp, r->len);
	return (uint16_t)(resp[rl - 2] << 8 | resp[rl - 1]);
}

uint16_t
tx(struct vcard *vc, const char *hex, struct rapdu *r)
{
	uint8_t apdu[300];
	long n = mdp_hex_decode(hex, apdu, sizeof(apdu));

	if (n < 0) {
		r->len = 0;
		return 0;
	}
	return tx_raw(vc, apdu, (size_t)n, r);
}

uint16_t
tx_chunk(struct vcard *vc, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
	 size_t lc, int le, struct rapdu *r)
{
	uint8_t apdu[262];
	size_t n = 4;

	if (lc > 255)
		return 0;
	apdu[0] = cla;
	apdu[1] = ins;
	apdu[2] = p1;
	apdu[3] = p2;
	if (lc) {
		apdu[n++] = (uint8_t)lc;
		memcpy(apdu + n, data, lc);
		n += lc;
	}
	if (le >= 0)
		apdu[n++] = (uint8_t)(le == 256 ? 0 : le);
	return tx_raw(vc, apdu, n, r);
}

static uint16_t
collect(struct vcard *vc, uint16_t sw, struct rapdu *r, uint8_t **out, size_t *out_len)
{
	uint8_t *acc = NULL, *grown;
	size_t len = 0;

	for (;;) {
		if (r->len) {
			grown = realloc(acc, len + r->len);
			if (!grown) {
				free(acc);
				return 0;
			}
			acc = grown;
			memcpy(acc + len, r->data, r->len);
			len += r->len;
		}
		if ((sw & 0xFF00) != 0x6100)
			break;
		sw = tx_chunk(vc, 0x00, 0xC0, 0x00, 0x00, NULL, 0, (sw & 0xFF) ? (sw & 0xFF) : 256,
			      r);
	}
	*out = acc;
	*out_len = len;
	return sw;
}

uint16_t
xfer_bytes(struct vcard *vc, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t len,
	   uint8_t **out, size_t *out_len)
{
	struct rapdu r;
	size_t pos = 0;
	uint16_t sw;

	while (len - pos > 255) {
		sw = tx_chunk(vc, 0x10, ins, p1, p2, data + pos, 255, -1, &r);
		if (sw != 0x9000) {
			*out = NULL;
			*out_len = 0;
			return sw;
		}
		pos += 255;
	}
	sw = tx_chunk(vc, 0x00, ins, p1, p2, data + pos, len - pos, 256, &r);
	return collect(vc, sw, &r, out, out_len);
}

uint16_t
xfer(struct vcard *vc, const char *hex, uint8_t **out, size_t *out_len)
{
	struct rapdu r;
	uint16_t sw = tx(vc, hex, &r);

	return collect(vc, sw, &r, out, out_len);
}

int
rapdu_is(const struct rapdu *r, const char *hex)
{
	uint8_t want[VCARD_MAX_RESPONSE];
	long n = mdp_hex_decode(hex, want, sizeof(want));

	return n >= 0 && (size_t)n == r->len && memcmp(want, r->data, r->len) == 0;
}

/* ---- GIDS commands ---- */

/* CREATE FILE + ACTIVATE of a key file as OpenSC writes it (§8.1), or an EC one (§9). */
uint16_t
gids_create_key_file(struct vcard *vc, uint8_t kid, uint8_t id, bool decrypt)
{
	struct mdp_buf b;
	struct rapdu r;
	size_t m, a5;
	uint16_t sw;
	uint8_t fid[2] = {0xB0, kid};
	uint8_t acl[5] = {0x8F, 0x10, 0x10, 0x10, 0x00};
	bool ec = id >= 0x0C;

	buf_init(&b);
	m = buf_tlv_open(&b, 0x62);
	buf_put_tlv(&b, 0x82, "\x18", 1);
	buf_put_tlv(&b, 0x83, fid, 2);
	buf_put_tlv(&b, 0x8C, acl, sizeof(acl));
	a5 = buf_tlv_open(&b, 0xA5);
	{
		const uint8_t rsa_dec[3] = {0x00, 0x80, 0x40}, rsa_sig[2] = {0x10, 0x50};
		size_t i, t;

		if (ec) {
			uint8_t tpl[9] = {0x80, 0x01, (uint8_t)(0x10 | id), 0x83, 0x01, kid, 0x95,
					  0x01, 0x40};

			buf_put_tlv(&b, 0xB6, tpl, 9);
			if (decrypt) {
				tpl[2] = id;
				buf_put_tlv(&b, 0xA6, tpl, 9);
			}
		} else {
			for (i = 0; decrypt && i < 3; i++) {
				uint8_t tpl[9] = {0x80, 0x01, (uint8_t)(rsa_dec[i] | id),
						  0x83, 0x01, kid,
						  0x95, 0x01, 0x40};

				buf_put_tlv(&b, 0xB8, tpl, 9);
			}
			for (t = 0; t < 2; t++) {
				uint8_t tpl[9] = {0x80, 0x01, (uint8_t)(rsa_sig[t] | id),
						  0x83, 0x01, 0x83,
						  0x95, 0x01, 0x40};

				buf_put_tlv(&b, 0xB6, tpl, 9);
			}
		}
	}
	buf_tlv_close(&b, a5);
	buf_tlv_close(&b, m);
	sw = tx_chunk(vc, 0x00, 0xE0, 0x00, 0x00, b.data, b.len, -1, &r);
	buf_free(&b);
	if (sw != 0x9000)
		return sw;
	return tx(vc, "00440000", &r);
}

/* Public key from the card's 7F49 template (GET DATA 3FFF 70{84 kid}). */
EVP_PKEY *
gids_read_public(struct vcard *vc, uint8_t kid, const char *group)
{
	uint8_t req[10] = {0x70, 0x08, 0x84, 0x01, kid, 0xA5, 0x03, 0x7F, 0x49, 0x80};
	uint8_t *resp = NULL;
	size_t len = 0;
	struct mdp_cursor c, t, v;
	uint32_t tag;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;

	if (xfer_bytes(vc, 0xCB, 0x3F, 0xFF, req, sizeof(req), &resp, &len) != 0x9000)
		goto out;
	cur_init(&c, resp, len);
	if (tlv_read(&c, &tag, &t) != MDP_OK || tag != 0x7F49 || cur_left(&c))
		goto out;
	if (!group) {
		if (tlv_find(t.p, t.len, 0x81, &v) != MDP_OK || v.p[0] == 0)
			goto out;
		n = BN_bin2bn(v.p, (int)v.len, NULL);
		if (tlv_find(t.p, t.len, 0x82, &v) != MDP_OK)
			goto out;
		e = BN_bin2bn(v.p, (int)v.len, NULL);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		if (tlv_find(t.p, t.len, 0x86, &v) != MDP_OK)
			goto out;
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, v.p, v.len);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (!ctx || !params || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	free(resp);
	return pkey;
}

uint16_t
gids_mse(struct vcard *vc, uint8_t kind, uint8_t alg, uint8_t kid)
{
	uint8_t d[6] = {0x80, 0x01, alg, 0x84, 0x01, kid};
	struct rapdu r;

	return tx_chunk(vc, 0x00, 0x22, 0x41, kind, d, sizeof(d), -1, &r);
}

uint16_t
gids_pso(struct vcard *vc, bool sign, const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	return xfer_bytes(vc, 0x2A, sign ? 0x9E : 0x80, sign ? 0x9A : 0x86, in, len, out, out_len);
}

static void
put_int(struct mdp_buf *b, EVP_PKEY *key, const char *name, bool sign_byte)
{
	BIGNUM *bn = NULL;
	uint8_t tmp[600];
	int n;

	CU_ASSERT_FATAL(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
	n = BN_num_bytes(bn);
	tmp[0] = 0;
	BN_bn2bin(bn, tmp + 1);
	if (sign_byte && (tmp[1] & 0x80))
		buf_put_tlv(b, 0x02, tmp, (size_t)n + 1);
	else
		buf_put_tlv(b, 0x02, tmp + 1, (size_t)n);
	BN_clear_free(bn);
}

/* The import template of §8.5; corrupt != 0 damages d. */
void
gids_rsa_template(struct mdp_buf *b, EVP_PKEY *key, uint8_t kid, bool sign_byte, bool corrupt)
{
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_N,	       OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D,	       OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	size_t m70, ma5, m87, m30, i, dpos = 0;

	buf_init(b);
	m70 = buf_tlv_open(b, 0x70);
	buf_put_tlv(b, 0x84, &kid, 1);
	ma5 = buf_tlv_open(b, 0xA5);
	buf_put_tlv(b, 0x83, "\x02", 1);
	buf_put_tlv(b, 0x84, "\x00", 1);
	m87 = buf_tlv_open(b, 0x87);
	m30 = buf_tlv_open(b, 0x30);
	buf_put_tlv(b, 0x02, "\x00", 1);
	for (i = 0; i < 8; i++) {
		if (i == 2)
			dpos = b->len + 8;
		put_int(b, key, names[i], sign_byte);
	}
	if (corrupt)
		b->data[dpos] ^= 0x01;
	buf_tlv_close(b, m30);
	buf_tlv_close(b, m87);
	buf_tlv_close(b, ma5);
	buf_tlv_close(b, m70);
}

bool
gids_des3(const uint8_t *key, int enc, const uint8_t *in, size_t len, uint8_t *out)
{
	static const uint8_t iv[8] = {0};
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok = ctx && EVP_CipherInit_ex2(ctx, EVP_des_ede3_cbc(), key, iv, enc, NULL) == 1 &&
		  EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
		  EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 &&
		  EVP_CipherFinal_ex(ctx, out + n, &fin) == 1;

	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* gids-tool's mutual authentication; returns the SW of the second GENERAL AUTHENTICATE. */
uint16_t
gids_admin_auth(struct vcard *vc, const uint8_t *key, uint8_t p1)
{
	uint8_t cmd[46], r1[16], r2[16], buf[40], c1[40], plain[40];
	uint8_t mse_cmd[3] = {0x83, 0x01, 0x80};
	struct rapdu r;
	uint16_t sw;

	if (tx_chunk(vc, 0x00, 0x22, p1, 0xA4, mse_cmd, 3, -1, &r) != 0x9000)
		return 0;
	RAND_bytes(r1, 16);
	cmd[0] = 0x7C;
	cmd[1] = 0x12;
	cmd[2] = 0x81;
	cmd[3] = 0x10;
	memcpy(cmd + 4, r1, 16);
	if (tx_chunk(vc, 0x00, 0x87, 0x00, 0x00, cmd, 20, 256, &r) != 0x9000 || r.len != 20 ||
	    r.data[0] != 0x7C || r.data[2] != 0x81 || r.data[3] != 0x10)
		return 1;
	memcpy(r2, r.data + 4, 16);
	memcpy(buf, r2, 16);
	memcpy(buf + 16, r1, 16);
	RAND_bytes(buf + 32, 7);
	buf[39] = 0x80;
	if (!gids_des3(key, 1, buf, 40, c1))
		return 2;
	cmd[0] = 0x7C;
	cmd[1] = 0x2A;
	cmd[2] = 0x82;
	cmd[3] = 0x28;
	memcpy(cmd + 4, c1, 40);
	sw = tx_chunk(vc, 0x00, 0x87, 0x00, 0x00, cmd, 44, 256, &r);
	if (sw != 0x9000)
		return sw;
	/* the card's proof: exactly 44 bytes, R1 || R2 || Z2 with 80 padding */
	if (r.len != 44 || r.data[0] != 0x7C || r.data[1] != 0x2A || r.data[2] != 0x82 ||
	    !gids_des3(key, 0, r.data + 4, 40, plain) || memcmp(plain, r1, 16) != 0 ||
	    memcmp(plain + 16, r2, 16) != 0 || plain[39] != 0x80)
		return 3;
	return sw;
}
