/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual card's keys: generation, import, public key read, MSE, PSO, ECDH, admin auth. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/ossl.h"
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

void
vc_file_clear_key(struct vc_file *f)
{
	mdp_secure_free(f->sym, f->sym_len);
	free(f->pub);
	free(f->priv);
	EVP_PKEY_free(f->cache);
	f->sym = f->pub = f->priv = NULL;
	f->cache = NULL;
	f->sym_len = f->pub_len = f->priv_len = 0;
	f->key_type = VC_KEY_NONE;
	f->alg = 0;
}

struct vc_file *
vc_key_file(struct vcard *vc, uint8_t kid)
{
	struct vc_file *f = vc_find_file(&vc->st, (uint16_t)(0xB000 | kid));

	if (!f || f->desc != VC_DESC_KEY)
		return NULL;
	return f;
}

/*
 * Additional data binding a sealed key to this card, its file and its kind; extra is 0 for GIDS,
 * the PIN policy for PIV (so that a policy edited in the file no longer opens the key).
 */
static size_t
key_aad(const struct vc_state *st, const struct vc_file *f, uint8_t extra, uint8_t aad[24])
{
	memcpy(aad, st->uuid, VC_UUID_LEN);
	memcpy(aad + VC_UUID_LEN, "key", 3);
	aad[19] = (uint8_t)(f->fid >> 8);
	aad[20] = (uint8_t)f->fid;
	aad[21] = f->key_type;
	aad[22] = f->alg;
	aad[23] = extra;
	return 24;
}

/* The unsealed private key of a key file, cached while the card key is known. */
uint16_t
vc_key_open(struct vcard *vc, struct vc_file *f, const uint8_t *key, uint8_t extra, EVP_PKEY **out)
{
	uint8_t aad[24];
	uint8_t *der = NULL;
	const uint8_t *p;
	size_t der_len = 0, al;
	EVP_PKEY *pkey = NULL;
	uint16_t sw;

	if (f->key_type != VC_KEY_RSA && f->key_type != VC_KEY_EC)
		return SW_REF_NOT_FOUND;
	if (f->cache) {
		*out = f->cache;
		return SW_OK;
	}
	if (!key) {
		sw = vc_need_ck(vc);
		if (sw != SW_OK)
			return sw;
		key = vc->ck;
	}
	al = key_aad(&vc->st, f, extra, aad);
	if (vc_gcm_open(key, aad, al, f->priv, f->priv_len, &der, &der_len) != MDP_OK) {
		log_error("key file %04X does not open with the card key", f->fid);
		return SW_DATA_INVALID;
	}
	p = der;
	pkey = mdp_pkey_decode_der(&p, der_len, "PrivateKeyInfo", NULL, EVP_PKEY_KEYPAIR);
	mdp_secure_free(der, der_len);
	if (!pkey)
		return SW_DATA_INVALID;
	f->cache = pkey;
	*out = pkey;
	return SW_OK;
}

static uint16_t
get_pkey(struct vcard *vc, struct vc_file *f, EVP_PKEY **out)
{
	return vc_key_open(vc, f, NULL, 0, out);
}

static uint8_t
alg_of(EVP_PKEY *pkey, uint8_t *type)
{
	int bits = EVP_PKEY_get_bits(pkey);

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		*type = VC_KEY_RSA;
		switch (bits) {
		case 1024:
			return 0x06;
		case 2048:
			return 0x07;
		case 3072:
			return 0x08;
		case 4096:
			return 0x09;
		default:
			return 0;
		}
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		char name[64];

		*type = VC_KEY_EC;
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name,
						    sizeof(name), NULL))
			return 0;
		if (!strcmp(name, "prime256v1") || !strcmp(name, "P-256"))
			return 0x0C;
		if (!strcmp(name, "secp384r1") || !strcmp(name, "P-384"))
			return 0x0D;
		if (!strcmp(name, "secp521r1") || !strcmp(name, "P-521"))
			return 0x0E;
		return 0;
	}
	return 0;
}

/* Seal pkey under key (the card key if NULL) into f, replacing what it held; keeps it cached. */
uint16_t
vc_key_seal(struct vcard *vc, struct vc_file *f, EVP_PKEY *pkey, uint8_t type, uint8_t alg,
	    const uint8_t *key, uint8_t extra)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	uint8_t *pub = NULL, *der = NULL, *sealed = NULL, *q;
	uint8_t aad[24];
	size_t sealed_len = 0, al;
	int pub_len, der_len = 0;
	uint16_t sw;

	if (!key) {
		sw = vc_need_ck(vc);
		if (sw != SW_OK)
			return sw;
		key = vc->ck;
	}
	sw = SW_MEMORY_FAILURE;
	pub_len = i2d_PUBKEY(pkey, NULL);
	if (pub_len <= 0)
		goto out;
	pub = malloc((size_t)pub_len);
	if (!pub)
		goto out;
	q = pub;
	if (i2d_PUBKEY(pkey, &q) != pub_len)
		goto out;
	p8 = EVP_PKEY2PKCS8(pkey);
	if (!p8)
		goto out;
	der_len = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
	if (der_len <= 0)
		goto out;
	der = mdp_zalloc((size_t)der_len);
	if (!der)
		goto out;
	q = der;
	if (i2d_PKCS8_PRIV_KEY_INFO(p8, &q) != der_len)
		goto out;
	vc_file_clear_key(f);
	f->key_type = type;
	f->alg = alg;
	al = key_aad(&vc->st, f, extra, aad);
	if (vc_gcm_seal(key, aad, al, der, (size_t)der_len, &sealed, &sealed_len) != MDP_OK) {
		f->key_type = VC_KEY_NONE;
		f->alg = 0;
		goto out;
	}
	f->pub = pub;
	f->pub_len = (size_t)pub_len;
	f->priv = sealed;
	f->priv_len = sealed_len;
	pub = NULL;
	if (EVP_PKEY_up_ref(pkey))
		f->cache = pkey;
	vc->dirty = true;
	sw = SW_OK;
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	free(pub);
	mdp_secure_free(der, der_len > 0 ? (size_t)der_len : 0);
	return sw;
}

static uint16_t
install_key(struct vcard *vc, struct vc_file *f, EVP_PKEY *pkey)
{
	uint8_t type = 0, alg;
	uint16_t sw;

	sw = vc_need_ck(vc);
	if (sw != SW_OK)
		return sw;
	alg = alg_of(pkey, &type);
	if (!alg)
		return SW_FUNC_UNSUPPORTED;
	return vc_key_seal(vc, f, pkey, type, alg, NULL, 0);
}

static void
put_bn(struct mdp_buf *out, uint32_t tag, const BIGNUM *bn)
{
	int n = BN_num_bytes(bn);
	uint8_t *tmp = malloc(n > 0 ? (size_t)n : 1);

	if (!tmp) {
		out->bad = true;
		return;
	}
	BN_bn2bin(bn, tmp);
	buf_put_tlv(out, tag, tmp, (size_t)n);
	free(tmp);
}

/* 7F49 template of §8.4 (RSA: 81 n, 82 e) or §9 (EC: 86 04||X||Y). */
uint16_t
vc_put_public(const struct vc_file *f, struct mdp_buf *out)
{
	const uint8_t *p = f->pub;
	EVP_PKEY *pub = mdp_pkey_decode_der(&p, f->pub_len, "SubjectPublicKeyInfo", NULL,
					    EVP_PKEY_PUBLIC_KEY);
	BIGNUM *a = NULL, *b = NULL;
	uint8_t pt[1 + 2 * 66];
	size_t fs, m;
	uint16_t sw = SW_DATA_INVALID;

	if (!pub)
		goto out;
	m = buf_tlv_open(out, 0x7F49);
	if (f->key_type == VC_KEY_RSA) {
		if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &a) ||
		    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &b))
			goto out;
		put_bn(out, 0x81, a);
		put_bn(out, 0x82, b);
	} else {
		fs = ((size_t)EVP_PKEY_get_bits(pub) + 7) / 8;
		if (fs < 1 || fs > 66 ||
		    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
		    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_EC_PUB_Y, &b))
			goto out;
		pt[0] = 0x04;
		if (BN_bn2binpad(a, pt + 1, (int)fs) < 0 ||
		    BN_bn2binpad(b, pt + 1 + fs, (int)fs) < 0)
			goto out;
		buf_put_tlv(out, 0x86, pt, 1 + 2 * fs);
	}
	buf_tlv_close(out, m);
	sw = out->bad ? SW_MEMORY_FAILURE : SW_OK;
out:
	BN_free(a);
	BN_free(b);
	EVP_PKEY_free(pub);
	return sw;
}

uint16_t
vc_get_public(struct vcard *vc, const uint8_t *data, size_t len, struct mdp_buf *out)
{
	struct mdp_cursor cur, tpl, kid;
	struct vc_file *f;
	uint32_t tag;

	cur_init(&cur, data, len);
	if (tlv_read(&cur, &tag, &tpl) != MDP_OK || tag != 0x70)
		return SW_WRONG_DATA;
	if (tlv_find(tpl.p, tpl.len, 0x84, &kid) != MDP_OK || kid.len != 1)
		return SW_WRONG_DATA;
	f = vc_key_file(vc, kid.p[0]);
	if (!f)
		return SW_REF_NOT_FOUND;
	if (!vc_acl_ok(vc, f, VC_AM_GET))
		return SW_SECURITY;
	if (f->key_type != VC_KEY_RSA && f->key_type != VC_KEY_EC)
		return SW_REF_NOT_FOUND;
	return vc_put_public(f, out);
}

/* ---- GENERATE ASYMMETRIC KEY PAIR (§8.3, §9) ---- */

uint16_t
vc_cmd_generate(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct mdp_cursor cur, tpl, v;
	struct vc_file *f;
	EVP_PKEY *pkey = NULL;
	uint32_t tag;
	uint8_t alg, kid;
	uint16_t sw;

	if (c->p1 != 0x00 || c->p2 != 0x00)
		return SW_WRONG_P1P2;
	cur_init(&cur, c->data, c->lc);
	if (tlv_read(&cur, &tag, &tpl) != MDP_OK || tag != 0xAC)
		return SW_WRONG_DATA;
	if (tlv_find(tpl.p, tpl.len, 0x80, &v) != MDP_OK || v.len != 1)
		return SW_WRONG_DATA;
	alg = v.p[0];
	if (tlv_find(tpl.p, tpl.len, 0x83, &v) != MDP_OK || v.len != 1)
		return SW_WRONG_DATA;
	kid = v.p[0];
	if (!((alg >= 0x06 && alg <= 0x09) || (alg >= 0x0C && alg <= 0x0E)))
		return SW_FUNC_UNSUPPORTED;
	f = vc_key_file(vc, kid);
	if (!f || kid < 0x81)
		return SW_REF_NOT_FOUND;
	if (f->lcs != VC_LCS_OPERATIONAL)
		return SW_CONDITIONS;
	if (!vc_acl_ok(vc, f, VC_AM_GENERATE))
		return SW_SECURITY;
	sw = vc_need_ck(vc);
	if (sw != SW_OK)
		return sw;
	switch (alg) {
	case 0x06:
	case 0x07:
	case 0x08:
	case 0x09:
		pkey = mdp_pkey_keygen_rsa((size_t)1024 * (size_t)(alg - 0x05));
		break;
	case 0x0C:
		pkey = mdp_pkey_keygen_ec("P-256");
		break;
	case 0x0D:
		pkey = mdp_pkey_keygen_ec("P-384");
		break;
	default:
		pkey = mdp_pkey_keygen_ec("P-521");
		break;
	}
	if (!pkey)
		return SW_MEMORY_FAILURE;
	sw = install_key(vc, f, pkey);
	EVP_PKEY_free(pkey);
	if (sw != SW_OK)
		return sw;
	/* With Le the public key comes back at once (Windows); without, nothing (OpenSC). */
	if (c->has_le)
		return vc_put_public(f, out);
	return SW_OK;
}

/* ---- key import: PUT DATA 3FFF (§8.5, §9) ---- */

EVP_PKEY *
vc_pkey_from_bld(OSSL_PARAM_BLD *bld, int type)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = mdp_pkey_ctx_new(type), *chk = NULL;
	EVP_PKEY *pkey = NULL, *ret = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		goto out;
	/* The parts must make one key: a wrong CRT part would sign garbage. */
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!chk || EVP_PKEY_pairwise_check(chk) != 1)
		goto out;
	ret = pkey;
	pkey = NULL;
out:
	OSSL_PARAM_free(params); /* secure BNs: their block is cleansed */
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_free(pkey);
	return ret;
}

static EVP_PKEY *
rsa_from_template(const uint8_t *p, size_t len)
{
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_N,	       OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D,	       OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	struct mdp_cursor cur, seq, v;
	BIGNUM *bn[8] = {NULL};
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *ret = NULL;
	uint32_t tag;
	size_t i;

	cur_init(&cur, p, len);
	if (tlv_read(&cur, &tag, &seq) != MDP_OK || tag != 0x30)
		return NULL;
	/* version */
	if (tlv_read(&seq, &tag, &v) != MDP_OK || tag != 0x02)
		return NULL;
	for (i = 0; i < v.len; i++) {
		if (v.p[i])
			return NULL;
	}
	for (i = 0; i < 8; i++) {
		if (tlv_read(&seq, &tag, &v) != MDP_OK || tag != 0x02 || v.len == 0)
			goto out;
		while (v.len && v.p[0] == 0x00) {
			v.p++;
			v.len--;
		}
		bn[i] = BN_secure_new();
		if (!bn[i] || !BN_bin2bn(v.p, (int)v.len, bn[i]) || BN_is_zero(bn[i]))
			goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		goto out;
	for (i = 0; i < 8; i++) {
		if (!OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]))
			goto out;
	}
	ret = vc_pkey_from_bld(bld, EVP_PKEY_RSA);
out:
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	return ret;
}

static EVP_PKEY *
ec_from_template(const uint8_t *p, size_t len)
{
	const uint8_t *q = p;
	EVP_PKEY *pkey = mdp_pkey_decode_der(&q, len, "type-specific", "EC", EVP_PKEY_KEYPAIR);
	EVP_PKEY_CTX *chk = NULL;

	if (!pkey)
		return NULL;
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (q != p + len || !chk || EVP_PKEY_pairwise_check(chk) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(chk);
	return pkey;
}

uint16_t
vc_put_key(struct vcard *vc, const uint8_t *data, size_t len)
{
	struct mdp_cursor cur, tpl, a5, v;
	struct vc_file *f;
	EVP_PKEY *pkey = NULL;
	uint32_t tag;
	uint8_t kid, type = VC_KEY_SYM;
	uint16_t sw;

	cur_init(&cur, data, len);
	if (tlv_read(&cur, &tag, &tpl) != MDP_OK || tag != 0x70 || cur_left(&cur))
		return SW_WRONG_DATA;
	if (tlv_find(tpl.p, tpl.len, 0x84, &v) != MDP_OK || v.len != 1)
		return SW_WRONG_DATA;
	kid = v.p[0];
	if (tlv_find(tpl.p, tpl.len, 0xA5, &a5) != MDP_OK)
		return SW_WRONG_DATA;
	if (tlv_find(a5.p, a5.len, 0x83, &v) == MDP_OK) {
		if (v.len != 1)
			return SW_WRONG_DATA;
		type = v.p[0];
	}
	if (tlv_find(a5.p, a5.len, 0x84, &v) == MDP_OK && (v.len != 1 || v.p[0] != 0x00))
		return SW_FUNC_UNSUPPORTED; /* wrapped import: not offered */
	if (tlv_find(a5.p, a5.len, 0x87, &v) != MDP_OK)
		return SW_WRONG_DATA;
	f = vc_key_file(vc, kid);
	if (!f)
		return SW_REF_NOT_FOUND;
	if (f->lcs != VC_LCS_OPERATIONAL)
		return SW_CONDITIONS;
	if (!vc_acl_ok(vc, f, VC_AM_PUT))
		return SW_SECURITY;
	switch (type) {
	case VC_KEY_SYM:
		if (kid != 0x80)
			return SW_FUNC_UNSUPPORTED;
		return vc_import_admin_key(vc, f, v.p, v.len);
	case VC_KEY_RSA:
		if (kid == 0x80)
			return SW_WRONG_DATA;
		pkey = rsa_from_template(v.p, v.len);
		break;
	case VC_KEY_EC:
		if (kid == 0x80)
			return SW_WRONG_DATA;
		pkey = ec_from_template(v.p, v.len);
		break;
	default:
		return SW_FUNC_UNSUPPORTED;
	}
	if (!pkey)
		return SW_WRONG_DATA;
	sw = install_key(vc, f, pkey);
	EVP_PKEY_free(pkey);
	return sw;
}

/* ---- MANAGE SECURITY ENVIRONMENT (§8.2) ---- */

/* Is alg listed in a CRT of this kind (B6/B8/A4/A6) in the key file's A5 list? */
static bool
crt_allows(const struct vc_file *f, uint8_t kind, int alg)
{
	struct mdp_cursor cur, t, v;
	uint32_t tag;

	cur_init(&cur, f->crt, f->crt_len);
	while (cur_left(&cur)) {
		if (tlv_read(&cur, &tag, &t) != MDP_OK)
			return false;
		if (tag != kind)
			continue;
		if (alg < 0)
			return true;
		if (tlv_find(t.p, t.len, 0x80, &v) == MDP_OK && v.len == 1 && v.p[0] == alg)
			return true;
	}
	return false;
}

static bool
alg_fits(uint8_t kind, uint8_t key_type, uint8_t alg)
{
	uint8_t hi = alg & 0xF0;

	switch (kind) {
	case VC_MSE_SIGN:
		if (key_type == VC_KEY_RSA)
			return hi == 0x10 || hi == 0x50;
		return key_type == VC_KEY_EC && hi == 0x10;
	case VC_MSE_DECIPHER:
		return key_type == VC_KEY_RSA && (hi == 0x00 || hi == 0x40 || hi == 0x80);
	case VC_MSE_AGREE:
		return key_type == VC_KEY_EC && hi == 0x00;
	default:
		return false;
	}
}

uint16_t
vc_cmd_mse(struct vcard *vc, const struct vc_cmd *c)
{
	struct mdp_cursor v;
	struct vc_file *f;
	uint8_t alg, kid;

	vc->mse = VC_MSE_NONE;
	vc->auth_stage = 0;
	if (c->p1 != 0x41 && c->p1 != 0x81 && c->p1 != 0xC1)
		return SW_WRONG_P1P2;
	if (c->p2 == VC_MSE_AUTH) {
		if ((tlv_find(c->data, c->lc, 0x83, &v) != MDP_OK &&
		     tlv_find(c->data, c->lc, 0x84, &v) != MDP_OK) ||
		    v.len != 1)
			return SW_WRONG_DATA;
		if (v.p[0] != 0x80)
			return SW_REF_NOT_FOUND;
		f = vc_key_file(vc, 0x80);
		if (!f || f->key_type != VC_KEY_SYM)
			return SW_REF_NOT_FOUND;
		if (!vc_acl_ok(vc, f, VC_AM_MSE))
			return SW_SECURITY;
		if (f->crt_len && !crt_allows(f, VC_MSE_AUTH, -1))
			return SW_DATA_INVALID;
		vc->mse = VC_MSE_AUTH;
		vc->mse_kid = 0x80;
		return SW_OK;
	}
	if (c->p2 != VC_MSE_SIGN && c->p2 != VC_MSE_DECIPHER && c->p2 != VC_MSE_AGREE)
		return SW_WRONG_P1P2;
	if (tlv_find(c->data, c->lc, 0x80, &v) != MDP_OK || v.len != 1)
		return SW_WRONG_DATA;
	alg = v.p[0];
	if (tlv_find(c->data, c->lc, 0x84, &v) != MDP_OK || v.len != 1)
		return SW_WRONG_DATA;
	kid = v.p[0];
	f = vc_key_file(vc, kid);
	if (!f || kid < 0x81)
		return SW_REF_NOT_FOUND;
	/* Key use needs what the key file says (normally the user PIN), checked here (§8.2). */
	if (!vc_acl_ok(vc, f, VC_AM_MSE))
		return SW_SECURITY;
	if (!crt_allows(f, c->p2, alg))
		return SW_DATA_INVALID;
	if (f->key_type != VC_KEY_RSA && f->key_type != VC_KEY_EC)
		return SW_REF_NOT_FOUND;
	if ((alg & 0x0F) != f->alg || !alg_fits(c->p2, f->key_type, alg))
		return SW_DATA_INVALID;
	vc->mse = (enum vc_mse_op)c->p2;
	vc->mse_alg = alg;
	vc->mse_kid = kid;
	return SW_OK;
}

/* The key chosen by MSE, with its rule re-checked (a logout may have happened since). */
static uint16_t
mse_key(struct vcard *vc, enum vc_mse_op op, struct vc_file **fp, EVP_PKEY **pkey)
{
	struct vc_file *f;

	if (vc->mse != op)
		return SW_CONDITIONS;
	f = vc_key_file(vc, vc->mse_kid);
	if (!f)
		return SW_REF_NOT_FOUND;
	if (!vc_acl_ok(vc, f, VC_AM_MSE))
		return SW_SECURITY;
	*fp = f;
	return get_pkey(vc, f, pkey);
}

/* ---- PSO ---- */

static uint16_t
rsa_op(EVP_PKEY *pkey, bool sign, int pad, const uint8_t *in, size_t in_len, struct mdp_buf *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	uint8_t *res = NULL;
	size_t res_len = (size_t)EVP_PKEY_get_size(pkey);
	size_t cap = res_len;
	uint16_t sw = SW_WRONG_DATA;
	int ok;

	res = mdp_zalloc(cap);
	if (!ctx || !res) {
		sw = SW_MEMORY_FAILURE;
		goto out;
	}
	if (sign) {
		ok = EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, pad) == 1 &&
		     EVP_PKEY_sign(ctx, res, &res_len, in, in_len) == 1;
	} else {
		ok = EVP_PKEY_decrypt_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, pad) == 1;
#ifdef OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION
		if (ok && pad == RSA_PKCS1_PADDING) {
			/* The card reports bad padding (6A80) rather than returning noise. */
			unsigned int zero = 0;
			OSSL_PARAM p[2];

			p[0] = OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION,
							 &zero);
			p[1] = OSSL_PARAM_construct_end();
			ok = EVP_PKEY_CTX_set_params(ctx, p) == 1;
		}
#endif
		ok = ok && EVP_PKEY_decrypt(ctx, res, &res_len, in, in_len) == 1;
	}
	if (!ok)
		goto out;
	buf_put_bytes(out, res, res_len);
	sw = out->bad ? SW_MEMORY_FAILURE : SW_OK;
out:
	mdp_secure_free(res, cap);
	EVP_PKEY_CTX_free(ctx);
	return sw;
}

static uint16_t
ecdsa_sign(EVP_PKEY *pkey, const uint8_t *in, size_t in_len, struct mdp_buf *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;
	uint8_t der[160], rs[132];
	const uint8_t *p = der;
	size_t der_len = sizeof(der);
	size_t fs = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
	uint16_t sw = SW_MEMORY_FAILURE;

	if (!ctx || fs > 66)
		goto out;
	if (EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_sign(ctx, der, &der_len, in, in_len) != 1)
		goto out;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (!sig)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, rs, (int)fs) < 0 || BN_bn2binpad(s, rs + fs, (int)fs) < 0)
		goto out;
	buf_put_bytes(out, rs, 2 * fs);
	sw = out->bad ? SW_MEMORY_FAILURE : SW_OK;
out:
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(ctx);
	return sw;
}

/*
 * Everything is checked: leave the private-key work to vcard_transmit, outside the engine's
 * lock (what does not fit in Le then waits for GET RESPONSE on the command's channel).
 */
bool
vc_defer(struct vcard *vc, const struct vc_cmd *c, const uint8_t *in, size_t in_len, EVP_PKEY *pkey,
	 bool ec, int pad, bool piv)
{
	unsigned ch = vc->cur_chan;
	const struct vc_applet *app = vc->st.type == VCARD_TYPE_PIV ? &vc_piv_applet : NULL;

	if (!vc->defer_ok || in_len > sizeof(vc->job.in) || !EVP_PKEY_up_ref(pkey))
		return false;
	vc->job.ne = c->has_le ? c->ne : app ? app->ne_absent : 0;
	vc->job.chan = ch;
	vc->job.resets = vc->resets;
	vc->job.secrets = vc->secrets;
	/* the channel's context from its last signature, if it is for this key and form */
	if (vc->sctx[ch].ctx && vc->sctx[ch].pkey == pkey && vc->sctx[ch].ec == ec &&
	    vc->sctx[ch].pad == pad) {
		vc->job.ctx = vc->sctx[ch].ctx;
		vc->sctx[ch].ctx = NULL;
	}
	vc_sctx_drop(vc, ch);
	vc->job.pkey = pkey;
	vc->job.ec = ec;
	vc->job.pad = pad;
	vc->job.piv = piv;
	memcpy(vc->job.in, in, in_len);
	vc->job.in_len = in_len;
	return true;
}

static bool
defer(struct vcard *vc, const struct vc_cmd *c, EVP_PKEY *pkey, bool ec, int pad)
{
	return vc_defer(vc, c, c->data, c->lc, pkey, ec, pad, false);
}

uint16_t
vc_job_run(struct vc_job *j, struct mdp_buf *out)
{
	uint8_t der[160], rs[132], *res = NULL;
	const uint8_t *p = der;
	size_t len, fs, cap = 0, m = 0;
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;
	uint16_t sw = SW_MEMORY_FAILURE;

	if (!j->ctx) {
		j->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, j->pkey, NULL);
		if (!j->ctx || EVP_PKEY_sign_init(j->ctx) != 1 ||
		    (!j->ec && EVP_PKEY_CTX_set_rsa_padding(j->ctx, j->pad) != 1)) {
			EVP_PKEY_CTX_free(j->ctx);
			j->ctx = NULL;
			return SW_MEMORY_FAILURE;
		}
	}
	if (j->piv) {
		/* spec/piv.md §4.7: 7C{82 result} */
		m = buf_tlv_open(out, 0x7C);
		buf_put_tag(out, 0x82); /* its length follows once known */
	}
	if (j->ec) {
		fs = ((size_t)EVP_PKEY_get_bits(j->pkey) + 7) / 8;
		len = sizeof(der);
		if (fs > 66 || EVP_PKEY_sign(j->ctx, der, &len, j->in, j->in_len) != 1)
			goto out;
		if (j->piv) {
			/* the DER SEQUENCE{r, s} as is */
			buf_put_len(out, len);
			buf_put_bytes(out, der, len);
		} else {
			sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
			if (!sig)
				goto out;
			ECDSA_SIG_get0(sig, &r, &s);
			if (BN_bn2binpad(r, rs, (int)fs) < 0 ||
			    BN_bn2binpad(s, rs + fs, (int)fs) < 0)
				goto out;
			buf_put_bytes(out, rs, 2 * fs);
		}
	} else {
		cap = len = (size_t)EVP_PKEY_get_size(j->pkey);
		res = mdp_zalloc(cap);
		if (!res)
			goto out;
		if (EVP_PKEY_sign(j->ctx, res, &len, j->in, j->in_len) != 1) {
			sw = SW_WRONG_DATA;
			goto out;
		}
		if (j->piv)
			buf_put_len(out, len);
		buf_put_bytes(out, res, len);
	}
	if (j->piv)
		buf_tlv_close(out, m);
	sw = out->bad ? SW_MEMORY_FAILURE : SW_OK;
out:
	ECDSA_SIG_free(sig);
	mdp_secure_free(res, cap);
	return sw;
}

void
vc_job_clear(struct vc_job *j)
{
	EVP_PKEY_CTX_free(j->ctx);
	EVP_PKEY_free(j->pkey);
	mdp_wipe(j, sizeof(*j));
}

void
vc_sctx_drop(struct vcard *vc, unsigned chan)
{
	EVP_PKEY_CTX_free(vc->sctx[chan].ctx);
	EVP_PKEY_free(vc->sctx[chan].pkey);
	memset(&vc->sctx[chan], 0, sizeof(vc->sctx[chan]));
}

uint16_t
vc_cmd_pso(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct vc_file *f = NULL;
	EVP_PKEY *pkey = NULL;
	const uint8_t *in = c->data;
	size_t in_len = c->lc, k;
	uint8_t hi = vc->mse_alg & 0xF0;
	uint16_t sw;

	if (c->p1 == 0x9E && c->p2 == 0x9A) {
		sw = mse_key(vc, VC_MSE_SIGN, &f, &pkey);
		if (sw != SW_OK)
			return sw;
		if (f->key_type == VC_KEY_EC) {
			if (in_len < 1 || in_len > 64)
				return SW_WRONG_LENGTH;
			if (defer(vc, c, pkey, true, 0))
				return SW_DEFERRED;
			return ecdsa_sign(pkey, in, in_len, out);
		}
		k = (size_t)EVP_PKEY_get_size(pkey);
		if (hi == 0x50) {
			/* DigestInfo (or any short block): the card adds type-1 padding (§8.6). */
			if (in_len < 1 || in_len > k - 11)
				return SW_WRONG_LENGTH;
			if (defer(vc, c, pkey, false, RSA_PKCS1_PADDING))
				return SW_DEFERRED;
			return rsa_op(pkey, true, RSA_PKCS1_PADDING, in, in_len, out);
		}
		if (in_len != k)
			return SW_WRONG_LENGTH;
		if (defer(vc, c, pkey, false, RSA_NO_PADDING))
			return SW_DEFERRED;
		return rsa_op(pkey, true, RSA_NO_PADDING, in, in_len, out);
	}
	if (c->p1 == 0x80 && c->p2 == 0x86) {
		sw = mse_key(vc, VC_MSE_DECIPHER, &f, &pkey);
		if (sw != SW_OK)
			return sw;
		k = (size_t)EVP_PKEY_get_size(pkey);
		/* Bare cryptogram (OpenSC, Windows) or with the ISO padding indicator 00 (§8.7). */
		if (in_len == k + 1 && in[0] == 0x00) {
			in++;
			in_len--;
		}
		if (in_len != k)
			return SW_WRONG_LENGTH;
		switch (hi) {
		case 0x40:
			return rsa_op(pkey, false, RSA_PKCS1_PADDING, in, in_len, out);
		case 0x80:
			return rsa_op(pkey, false, RSA_PKCS1_OAEP_PADDING, in, in_len, out);
		default:
			return rsa_op(pkey, false, RSA_NO_PADDING, in, in_len, out);
		}
	}
	return SW_WRONG_P1P2;
}

/* ---- GENERAL AUTHENTICATE: ECDH (§9) ---- */

uint16_t
vc_ecdh_derive(EVP_PKEY *pkey, const uint8_t *pt, size_t pt_len, uint8_t *secret,
	       size_t *secret_len)
{
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *pctx = NULL, *dctx = NULL;
	OSSL_PARAM params[3];
	char group[64];
	size_t fs, slen = *secret_len;
	uint16_t sw;

	fs = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
	if (pt_len != 1 + 2 * fs || pt[0] != 0x04 || slen < fs)
		return SW_WRONG_DATA;
	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    NULL))
		return SW_MEMORY_FAILURE;
	sw = SW_WRONG_DATA;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, pt_len);
	params[2] = OSSL_PARAM_construct_end();
	pctx = mdp_pkey_ctx_new(EVP_PKEY_EC);
	if (!pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	dctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	/* set_peer validates the point: an invalid curve point is refused. */
	if (!dctx || EVP_PKEY_derive_init(dctx) != 1 || EVP_PKEY_derive_set_peer(dctx, peer) != 1 ||
	    EVP_PKEY_derive(dctx, secret, &slen) != 1 || slen != fs)
		goto out;
	*secret_len = slen;
	sw = SW_OK;
out:
	EVP_PKEY_free(peer);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_CTX_free(dctx);
	return sw;
}

uint16_t
vc_cmd_ecdh(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct mdp_cursor cur, tpl, pt;
	struct vc_file *f = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t secret[66];
	size_t slen = sizeof(secret), m;
	uint32_t tag;
	uint16_t sw;

	if (c->p1 != 0x00 || c->p2 != 0x00)
		return SW_WRONG_P1P2;
	cur_init(&cur, c->data, c->lc);
	if (tlv_read(&cur, &tag, &tpl) != MDP_OK || tag != 0x7C ||
	    tlv_find(tpl.p, tpl.len, 0x85, &pt) != MDP_OK)
		return SW_WRONG_DATA;
	sw = mse_key(vc, VC_MSE_AGREE, &f, &pkey);
	if (sw != SW_OK)
		return sw;
	sw = vc_ecdh_derive(pkey, pt.p, pt.len, secret, &slen);
	if (sw == SW_OK) {
		m = buf_tlv_open(out, 0x7C);
		buf_put_tlv(out, 0x82, secret, slen);
		buf_tlv_close(out, m);
		sw = out->bad ? SW_MEMORY_FAILURE : SW_OK;
	}
	mdp_wipe(secret, sizeof(secret));
	return sw;
}
