/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The whole Card* surface of the GIDS card module against the in-memory virtual card, checked with
 * OpenSSL. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <zlib.h>

#include "blob/blob.h"
#include "common/bytes.h"
#include "common/secmem.h"
#include "minidriver/card.h"
#include "tests/mock/mock-transport.h"
#include "tests/unit/testcrypto.h"
#include "tests/unit/testutil.h"
#include "transport/apdu.h"
#include "transport/transport.h"
#include "vcard/vcard.h"

static const uint8_t admin_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
				      5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t serial[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
				   0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F};

struct fx {
	struct mdp_transport *t;
	struct md_card *card;
};

static void
fx_open(struct fx *f)
{
	struct vcard_init_params p = {.pin = "1234",
				      .admin_key = admin_key,
				      .serial = serial,
				      .serial_len = sizeof(serial)};

	memset(f, 0, sizeof(*f));
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(NULL, &p, &f->t), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(
		md_card_acquire(NULL, f->t, MD_CARD_DATA_CURRENT_VERSION, 0, &f->card), MD_OK);
}

static void
fx_close(struct fx *f)
{
	md_card_delete(f->card);
	mdp_transport_free(f->t);
}

static void
login(struct fx *f)
{
	uint32_t tries = 99;

	CU_ASSERT_EQUAL(md_authenticate_pin(f->card, "user", (const uint8_t *)"1234", 4, &tries),
			MD_OK);
}

/* The host's part after create_container: a cmapfile record (spec/minidriver.md §11). */
static void
host_cmap(struct fx *f, uint8_t idx, uint32_t spec, unsigned bits)
{
	uint8_t *old = NULL, rec[86];
	size_t n = 0;
	struct mdp_buf b;

	CU_ASSERT_EQUAL_FATAL(md_read_file(f->card, "mscp", "cmapfile", 0, &old, &n), MD_OK);
	buf_init(&b);
	buf_put_bytes(&b, old, n);
	while (b.len < (size_t)(idx + 1) * 86)
		buf_put_zeros(&b, 86);
	memset(rec, 0, sizeof(rec));
	rec[0] = 'k';
	rec[2] = (uint8_t)('0' + idx);
	rec[80] = 0x01;
	if (MDP_KEY_SPEC_IS_SIG_SLOT(spec)) {
		rec[82] = (uint8_t)bits;
		rec[83] = (uint8_t)(bits >> 8);
	} else {
		rec[84] = (uint8_t)bits;
		rec[85] = (uint8_t)(bits >> 8);
	}
	memcpy(b.data + (size_t)idx * 86, rec, 86);
	CU_ASSERT_EQUAL(md_write_file(f->card, "mscp", "cmapfile", 0, b.data, b.len), MD_OK);
	buf_free(&b);
	free(old);
}

/* The public key of a container as an OpenSSL key. */
static EVP_PKEY *
container_key(struct fx *f, uint8_t idx, uint32_t spec)
{
	struct md_container_info ci = {.version = 1};
	struct mdp_key *k = NULL;
	EVP_PKEY *pk = NULL;
	const uint8_t *blob;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(md_get_container_info(f->card, idx, 0, &ci), MD_OK);
	blob = MDP_KEY_SPEC_IS_SIG_SLOT(spec) ? ci.sig_public_key : ci.kx_public_key;
	len = MDP_KEY_SPEC_IS_SIG_SLOT(spec) ? ci.sig_public_key_len : ci.kx_public_key_len;
	CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
	CU_ASSERT_PTR_NULL(MDP_KEY_SPEC_IS_SIG_SLOT(spec) ? ci.kx_public_key : ci.sig_public_key);
	CU_ASSERT_EQUAL(blob_detect(blob, len),
			MDP_KEY_SPEC_IS_RSA(spec) ? BLOB_FMT_CAPI_PUBLIC : BLOB_FMT_CNG_ECC_PUBLIC);
	CU_ASSERT_EQUAL_FATAL(blob_parse(blob, len, BLOB_FMT_UNKNOWN, 0, &k), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_spec(k), (enum mdp_key_spec)spec);
	pk = mdp_key_pkey(k);
	EVP_PKEY_up_ref(pk);
	mdp_key_free(k);
	md_container_info_clear(&ci);
	return pk;
}

/* ---- files ---- */

static void
test_files(void)
{
	struct fx f;
	uint8_t *p = NULL, big[700], cert[1200], raw_req[4] = {0x5C, 0x02, 0xDF, 0x24};
	size_t n = 0, i;
	char *names = NULL;
	struct md_file_info fi = {0};
	struct mdp_apdu get = {
		.ins = 0xCB, .p1 = 0xA0, .p2 = 0x10, .data = raw_req, .lc = 4, .le = 256};
	struct mdp_buf b;
	uint16_t sw = 0;
	uLongf zl;
	uint8_t inflated[1300];

	fx_open(&f);
	CU_ASSERT_EQUAL(md_read_file(f.card, NULL, "cardid", 0, &p, &n), MD_OK);
	CU_ASSERT(n == 16 && memcmp(p, serial, 16) == 0);
	free(p);
	CU_ASSERT_EQUAL(md_read_file(f.card, NULL, "cardapps", 0, &p, &n), MD_OK);
	CU_ASSERT(n == 8 && memcmp(p, "mscp\0\0\0\0", 8) == 0);
	free(p);
	CU_ASSERT_EQUAL(md_read_file(f.card, NULL, "cardcf", 0, &p, &n), MD_OK);
	CU_ASSERT_EQUAL(n, 6);
	free(p);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "cmapfile", 0, &p, &n), MD_OK);
	CU_ASSERT_EQUAL(n, 0);
	free(p);
	CU_ASSERT_EQUAL(md_enum_files(f.card, NULL, &names, &n, 0), MD_OK);
	CU_ASSERT_PTR_NOT_NULL(names);
	free(names);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "nothere", 0, &p, &n), MD_E_FILE_NOT_FOUND);
	CU_ASSERT_EQUAL(md_read_file(f.card, "nodir", "x", 0, &p, &n), MD_E_DIR_NOT_FOUND);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "cmapfile", 1, &p, &n),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_file(f.card, "mscp", "toolongname", 0, 1),
			MD_E_INVALID_PARAMETER);

	/* without the PIN the card refuses writes */
	CU_ASSERT_EQUAL(md_create_file(f.card, "mscp", "kxc00", 0, MD_AC_EVERYONE_READ_USER_WRITE),
			MD_W_SECURITY_VIOLATION);
	login(&f);
	CU_ASSERT_EQUAL(md_create_file(f.card, "mscp", "kxc00", 0, MD_AC_EVERYONE_READ_USER_WRITE),
			MD_OK);
	CU_ASSERT_EQUAL(md_create_file(f.card, "mscp", "KXC00", 0, MD_AC_EVERYONE_READ_USER_WRITE),
			MD_ERROR_FILE_EXISTS);
	/* a certificate: compressed on the card (§5.7), plain DER for the host */
	cert[0] = 0x30;
	cert[1] = 0x82;
	cert[2] = (uint8_t)((sizeof(cert) - 4) >> 8);
	cert[3] = (uint8_t)(sizeof(cert) - 4);
	for (i = 4; i < sizeof(cert); i++)
		cert[i] = (uint8_t)(i % 7);
	CU_ASSERT_EQUAL(md_write_file(f.card, "mscp", "kxc00", 0, cert, sizeof(cert)), MD_OK);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "Kxc00", 0, &p, &n), MD_OK);
	CU_ASSERT(n == sizeof(cert) && memcmp(p, cert, n) == 0);
	free(p);
	buf_init(&b);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(f.t, &get, &b, &sw), MDP_OK);
	CU_ASSERT_EQUAL(sw, 0x9000);
	CU_ASSERT(b.len > 8 && b.data[0] == 0xDF && b.data[1] == 0x24);
	{
		struct mdp_cursor v;

		CU_ASSERT_EQUAL_FATAL(tlv_find(b.data, b.len, 0xDF24, &v), MDP_OK);
		CU_ASSERT(cur_left(&v) > 4 && v.p[v.pos] == 0x01 && v.p[v.pos + 1] == 0x00);
		CU_ASSERT_EQUAL(v.p[v.pos + 2] | v.p[v.pos + 3] << 8, (int)sizeof(cert));
		zl = sizeof(inflated);
		CU_ASSERT_EQUAL(uncompress(inflated, &zl, v.p + v.pos + 4, cur_left(&v) - 4), Z_OK);
		CU_ASSERT(zl == sizeof(cert) && memcmp(inflated, cert, zl) == 0);
	}
	buf_free(&b);
	CU_ASSERT_EQUAL(md_get_file_info(f.card, "mscp", "kxc00", &fi), MD_OK);
	CU_ASSERT_EQUAL(fi.size, sizeof(cert));
	CU_ASSERT_EQUAL(fi.access, MD_AC_EVERYONE_READ_USER_WRITE);
	/* index >= 10: stored with upper-case hex as OpenSC reads it */
	CU_ASSERT_EQUAL(md_create_file(f.card, "mscp", "ksc0a", 0, MD_AC_EVERYONE_READ_USER_WRITE),
			MD_OK);
	CU_ASSERT_EQUAL(md_enum_files(f.card, "mscp", &names, &n, 0), MD_OK);
	{
		bool found = false;
		const char *s;

		for (s = names; s && *s; s += strlen(s) + 1)
			if (strcmp(s, "ksc0A") == 0)
				found = true;
		CU_ASSERT_TRUE(found);
	}
	free(names);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "ksc0a", 0, &p, &n), MD_OK);
	CU_ASSERT_EQUAL(n, 0);
	free(p);

	/* our own application directory, a file over 256 bytes */
	CU_ASSERT_EQUAL(md_create_directory(f.card, "mdp11", MD_DIR_AC_USER_CREATE_DELETE), MD_OK);
	CU_ASSERT_EQUAL(md_create_directory(f.card, "MDP11", MD_DIR_AC_USER_CREATE_DELETE),
			MD_ERROR_FILE_EXISTS);
	CU_ASSERT_EQUAL(md_create_file(f.card, "mdp11", "ids", 0, MD_AC_USER_READ_WRITE), MD_OK);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	CU_ASSERT_EQUAL(md_write_file(f.card, "mdp11", "ids", 0, big, sizeof(big)), MD_OK);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mdp11", "ids", 0, &p, &n), MD_OK);
	CU_ASSERT(n == sizeof(big) && memcmp(p, big, n) == 0);
	free(p);
	CU_ASSERT_EQUAL(md_get_file_info(f.card, "mdp11", "ids", &fi), MD_OK);
	CU_ASSERT_EQUAL(fi.access, MD_AC_USER_READ_WRITE);
	CU_ASSERT_EQUAL(md_enum_files(f.card, "mdp11", &names, &n, 0), MD_OK);
	CU_ASSERT(names && strcmp(names, "ids") == 0 && n == 5);
	free(names);
	CU_ASSERT_EQUAL(md_delete_directory(f.card, "mdp11"), MD_ERROR_DIR_NOT_EMPTY);
	CU_ASSERT_EQUAL(md_delete_file(f.card, "mdp11", "ids", 0), MD_OK);
	CU_ASSERT_EQUAL(md_delete_file(f.card, "mdp11", "ids", 0), MD_E_FILE_NOT_FOUND);
	CU_ASSERT_EQUAL(md_delete_directory(f.card, "mdp11"), MD_OK);
	CU_ASSERT_EQUAL(md_delete_directory(f.card, "mdp11"), MD_E_DIR_NOT_FOUND);
	CU_ASSERT_EQUAL(md_enum_files(f.card, "mdp11", &names, &n, 0), MD_E_DIR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(names);
	/* a second context sees what the first wrote */
	{
		struct md_card *c2 = NULL;

		CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &c2), MD_OK);
		CU_ASSERT_EQUAL(md_read_file(c2, "mscp", "kxc00", 0, &p, &n), MD_OK);
		CU_ASSERT_EQUAL(n, sizeof(cert));
		free(p);
		md_card_delete(c2);
	}
	fx_close(&f);
}

/* ---- PINs and admin ---- */

static void
admin_auth(struct fx *f, const uint8_t *key, enum md_rv want)
{
	uint8_t *ch = NULL, *resp = NULL;
	size_t cl = 0, rl = 0;

	CU_ASSERT_EQUAL_FATAL(md_get_challenge(f->card, &ch, &cl), MD_OK);
	CU_ASSERT_EQUAL(cl, 40);
	CU_ASSERT_EQUAL(md_admin_response_3des(key, ch, cl, &resp, &rl), MD_OK);
	CU_ASSERT_EQUAL(md_authenticate_challenge(f->card, resp, rl, NULL), want);
	free(ch);
	free(resp);
}

static void
test_pins(void)
{
	struct fx f;
	uint32_t tries = 99, v = 0;
	size_t n = 0;
	uint8_t *ch = NULL, *resp = NULL, newkey[24];
	size_t cl = 0, rl = 0;
	struct md_pin_info pi = {.version = 6};

	fx_open(&f);
	CU_ASSERT_EQUAL(md_authenticate_pin(f.card, "user", (const uint8_t *)"9999", 4, &tries),
			MD_W_WRONG_CHV);
	CU_ASSERT_EQUAL(tries, 2);
	CU_ASSERT_EQUAL(md_authenticate_pin(f.card, "user", (const uint8_t *)"1234", 4, &tries),
			MD_OK);
	CU_ASSERT_EQUAL(
		md_get_property(f.card, MD_CP_CARD_AUTHENTICATED_STATE, &v, sizeof(v), &n, 0),
		MD_OK);
	CU_ASSERT_EQUAL(v, MD_PIN_SET(MD_ROLE_USER));
	CU_ASSERT_EQUAL(md_deauthenticate_ex(f.card, MD_PIN_SET(MD_ROLE_USER), 0), MD_OK);
	CU_ASSERT_EQUAL(
		md_get_property(f.card, MD_CP_CARD_AUTHENTICATED_STATE, &v, sizeof(v), &n, 0),
		MD_OK);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(md_deauthenticate_ex(f.card, 0, 0), MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_authenticate_pin(f.card, "nobody", (const uint8_t *)"1", 1, NULL),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(
		md_authenticate_ex(f.card, 1, 0x1, (const uint8_t *)"1234", 4, NULL, NULL, NULL),
		MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(
		md_authenticate_ex(f.card, 3, 0, (const uint8_t *)"1234", 4, NULL, NULL, NULL),
		MD_E_INVALID_PARAMETER);
	/* the admin response without a challenge */
	CU_ASSERT_EQUAL(md_authenticate_challenge(f.card, admin_key, 24, NULL),
			MD_E_INVALID_PARAMETER);

	/* change PIN */
	CU_ASSERT_EQUAL(md_change_authenticator(f.card, "user", (const uint8_t *)"1234", 4,
						(const uint8_t *)"24681357", 8, 0,
						MD_AUTHENTICATE_PIN_PIN, &tries),
			MD_OK);
	CU_ASSERT_EQUAL(md_authenticate_pin(f.card, "user", (const uint8_t *)"1234", 4, &tries),
			MD_W_WRONG_CHV);
	CU_ASSERT_EQUAL(md_authenticate_pin(f.card, "user", (const uint8_t *)"24681357", 8, &tries),
			MD_OK);

	/* lockout */
	CU_ASSERT_EQUAL(md_authenticate_pin(f.card, "user", (const uint8_t *)"0000", 4, &tries),
			MD_W_WRONG_CHV);
	CU_ASSERT_EQUAL(md_authenticate_pin(f.card, "user", (const uint8_t *)"0000", 4, &tries),
			MD_W_WRONG_CHV);
	CU_ASSERT_EQUAL(md_authenticate_pin(f.card, "user", (const uint8_t *)"0000", 4, &tries),
			MD_W_CHV_BLOCKED);
	CU_ASSERT_EQUAL(tries, 0);
	CU_ASSERT_EQUAL(md_authenticate_pin(f.card, "user", (const uint8_t *)"24681357", 8, &tries),
			MD_W_CHV_BLOCKED);

	/* a wrong admin key is refused */
	memset(newkey, 0x55, sizeof(newkey));
	admin_auth(&f, newkey, MD_W_WRONG_CHV);

	/* unblock with the admin challenge/response */
	CU_ASSERT_EQUAL_FATAL(md_get_challenge(f.card, &ch, &cl), MD_OK);
	CU_ASSERT_EQUAL(md_admin_response_3des(admin_key, ch, cl, &resp, &rl), MD_OK);
	CU_ASSERT_EQUAL(md_unblock_pin(f.card, "user", resp, rl, (const uint8_t *)"4321", 4, 0,
				       MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE),
			MD_OK);
	free(ch);
	free(resp);
	CU_ASSERT_EQUAL(md_authenticate_pin(f.card, "user", (const uint8_t *)"4321", 4, &tries),
			MD_OK);
	CU_ASSERT_EQUAL(md_unblock_pin(f.card, "admin", admin_key, 24, (const uint8_t *)"4321", 4,
				       0, MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE),
			MD_E_INVALID_PARAMETER);

	/* change the admin key, then only the new one works */
	CU_ASSERT_EQUAL_FATAL(md_get_challenge(f.card, &ch, &cl), MD_OK);
	CU_ASSERT_EQUAL(md_admin_response_3des(admin_key, ch, cl, &resp, &rl), MD_OK);
	CU_ASSERT_EQUAL(md_change_authenticator(f.card, "admin", resp, rl, newkey, sizeof(newkey),
						0, MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE, NULL),
			MD_OK);
	free(ch);
	free(resp);
	admin_auth(&f, admin_key, MD_W_WRONG_CHV);
	admin_auth(&f, newkey, MD_OK);

	/* PIN information */
	CU_ASSERT_EQUAL(
		md_get_property(f.card, MD_CP_CARD_PIN_INFO, &pi, sizeof(pi), &n, MD_ROLE_USER),
		MD_OK);
	CU_ASSERT_EQUAL(pi.pin_type, MD_PIN_ALPHANUMERIC);
	CU_ASSERT_EQUAL(pi.unblock_permission, MD_PIN_SET(MD_ROLE_ADMIN));
	CU_ASSERT_EQUAL(
		md_get_property(f.card, MD_CP_CARD_PIN_INFO, &pi, sizeof(pi), &n, MD_ROLE_ADMIN),
		MD_OK);
	CU_ASSERT_EQUAL(pi.pin_type, MD_PIN_CHALLENGE_RESPONSE);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_PIN_INFO, &pi, sizeof(pi), &n, 5),
			MD_E_INVALID_PARAMETER);
	fx_close(&f);
}

/* ---- containers, signatures, decryption, ECDH ---- */

static void
sign_rsa_all(struct fx *f, uint8_t idx, uint32_t spec, unsigned bits)
{
	EVP_PKEY *pk = container_key(f, idx, spec);
	uint8_t h[32], raw[512];
	struct md_padding_info pss = {.alg_id = "SHA256", .salt_len = 32};
	struct md_padding_info pk1 = {.alg_id = "SHA256"};
	struct md_signing_info si = {.version = 2,
				     .container_index = idx,
				     .key_spec = spec,
				     .hash_alg = MDP_CALG_SHA_256,
				     .data = h,
				     .data_len = 32};
	size_t k = bits / 8, i;
	EVP_PKEY_CTX *c;
	uint8_t back[512];
	size_t bl = sizeof(back);

	CU_ASSERT_EQUAL_FATAL(EVP_PKEY_get_bits(pk), (int)bits);
	tc_sha256("hello", 5, h);
	/* PKCS#1 with the ALG_ID */
	CU_ASSERT_EQUAL(md_sign_data(f->card, &si), MD_OK);
	CU_ASSERT_EQUAL(si.signature_len, k);
	CU_ASSERT_TRUE(tc_verify_rsa_le(pk, RSA_PKCS1_PADDING, EVP_sha256(), 0, h, 32, si.signature,
					si.signature_len));
	free(si.signature);
	/* PKCS#1 with padding info */
	si.flags = MD_PADDING_INFO_PRESENT;
	si.padding_type = MD_PADDING_PKCS1;
	si.padding_info = &pk1;
	CU_ASSERT_EQUAL(md_sign_data(f->card, &si), MD_OK);
	CU_ASSERT_TRUE(tc_verify_rsa_le(pk, RSA_PKCS1_PADDING, EVP_sha256(), 0, h, 32, si.signature,
					si.signature_len));
	free(si.signature);
	/* PSS */
	si.padding_type = MD_PADDING_PSS;
	si.padding_info = &pss;
	CU_ASSERT_EQUAL(md_sign_data(f->card, &si), MD_OK);
	CU_ASSERT_TRUE(tc_verify_rsa_le(pk, RSA_PKCS1_PSS_PADDING, EVP_sha256(), 32, h, 32,
					si.signature, si.signature_len));
	free(si.signature);
	/* raw: the public operation gives the block back */
	for (i = 0; i < k; i++)
		raw[i] = (uint8_t)(i + 1);
	raw[0] = 0x00;
	si.padding_type = MD_PADDING_NONE;
	si.padding_info = NULL;
	si.data = raw;
	si.data_len = k;
	CU_ASSERT_EQUAL(md_sign_data(f->card, &si), MD_OK);
	{
		uint8_t be[512];

		for (i = 0; i < si.signature_len; i++)
			be[i] = si.signature[si.signature_len - 1 - i];
		c = EVP_PKEY_CTX_new(pk, NULL);
		CU_ASSERT(EVP_PKEY_verify_recover_init(c) == 1 &&
			  EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
			  EVP_PKEY_verify_recover(c, back, &bl, be, si.signature_len) == 1);
		CU_ASSERT(bl == k && memcmp(back, raw, k) == 0);
		EVP_PKEY_CTX_free(c);
	}
	free(si.signature);
	/* size only */
	si.flags = MD_BUFFER_SIZE_ONLY;
	si.data = h;
	si.data_len = 32;
	CU_ASSERT_EQUAL(md_sign_data(f->card, &si), MD_OK);
	CU_ASSERT_EQUAL(si.signature_len, k);
	CU_ASSERT_PTR_NULL(si.signature);
	EVP_PKEY_free(pk);
}

static void
decrypt_all(struct fx *f, uint8_t idx, unsigned bits)
{
	EVP_PKEY *pk = container_key(f, idx, MDP_AT_KEYEXCHANGE);
	static const uint8_t msg[] = "session key 0123456789abcdef";
	uint8_t ct[512], le[512];
	size_t cl = sizeof(ct), k = bits / 8, i;
	struct md_padding_info oaep = {
		.alg_id = "SHA256", .label = (const uint8_t *)"lbl", .label_len = 3};
	struct md_rsa_decrypt_info di = {
		.version = 2, .container_index = idx, .key_spec = MDP_AT_KEYEXCHANGE};
	EVP_PKEY_CTX *c;
	int pads[2] = {RSA_PKCS1_PADDING, RSA_PKCS1_OAEP_PADDING};
	int j;

	for (j = 0; j < 2; j++) {
		c = EVP_PKEY_CTX_new(pk, NULL);
		cl = sizeof(ct);
		CU_ASSERT(EVP_PKEY_encrypt_init(c) == 1 &&
			  EVP_PKEY_CTX_set_rsa_padding(c, pads[j]) == 1);
		if (pads[j] == RSA_PKCS1_OAEP_PADDING) {
			uint8_t *l = OPENSSL_memdup("lbl", 3);

			EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256());
			EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256());
			EVP_PKEY_CTX_set0_rsa_oaep_label(c, l, 3);
		}
		CU_ASSERT_EQUAL(EVP_PKEY_encrypt(c, ct, &cl, msg, sizeof(msg)), 1);
		EVP_PKEY_CTX_free(c);
		CU_ASSERT_EQUAL(cl, k);
		for (i = 0; i < k; i++)
			le[i] = ct[k - 1 - i];
		di.data = le;
		di.data_len = k;
		di.padding_type = j ? MD_PADDING_OAEP : MD_PADDING_PKCS1;
		di.padding_info = j ? &oaep : NULL;
		CU_ASSERT_EQUAL(md_rsa_decrypt(f->card, &di), MD_OK);
		CU_ASSERT_EQUAL(di.data_len, sizeof(msg));
		for (i = 0; i < di.data_len && i < sizeof(msg); i++)
			CU_ASSERT_EQUAL(le[i], msg[sizeof(msg) - 1 - i]);
	}
	/* wrong sizes */
	di.data = le;
	di.data_len = k - 1;
	di.padding_type = MD_PADDING_PKCS1;
	CU_ASSERT_EQUAL(md_rsa_decrypt(f->card, &di), MD_E_INSUFFICIENT_BUFFER);
	di.version = 1;
	di.data_len = k;
	CU_ASSERT_EQUAL(md_rsa_decrypt(f->card, &di), MD_ERROR_REVISION_MISMATCH);
	EVP_PKEY_free(pk);
}

static void
test_rsa(void)
{
	struct fx f;
	static const unsigned sizes[] = {1024, 2048};
	size_t i;

	fx_open(&f);
	login(&f);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL_FATAL(md_create_container_ex(f.card, (uint8_t)i, MD_CREATE_KEY_GEN,
							     MDP_AT_KEYEXCHANGE, sizes[i], NULL, 0,
							     MD_ROLE_USER),
				      MD_OK);
		host_cmap(&f, (uint8_t)i, MDP_AT_KEYEXCHANGE, sizes[i]);
		sign_rsa_all(&f, (uint8_t)i, MDP_AT_KEYEXCHANGE, sizes[i]);
		decrypt_all(&f, (uint8_t)i, sizes[i]);
	}
	/* a signature-only key signs but does not decrypt */
	CU_ASSERT_EQUAL_FATAL(
		md_create_container(f.card, 2, MD_CREATE_KEY_GEN, MDP_AT_SIGNATURE, 1024, NULL, 0),
		MD_OK);
	host_cmap(&f, 2, MDP_AT_SIGNATURE, 1024);
	sign_rsa_all(&f, 2, MDP_AT_SIGNATURE, 1024);
	{
		uint8_t d[128] = {0};
		struct md_rsa_decrypt_info di = {.version = 2,
						 .container_index = 2,
						 .key_spec = MDP_AT_SIGNATURE,
						 .data = d,
						 .data_len = 128,
						 .padding_type = MD_PADDING_PKCS1};

		/* decryption with a signature key is refused (as OpenSC does, §4.6) */
		CU_ASSERT_EQUAL(md_rsa_decrypt(f.card, &di), MD_E_INVALID_PARAMETER);
	}
	/* keymap and cmapfile agree in record count (§5.6) */
	{
		uint8_t req[4] = {0x5C, 0x02, 0xDF, 0x20};
		struct mdp_apdu a = {
			.ins = 0xCB, .p1 = 0xA0, .p2 = 0x00, .data = req, .lc = 4, .le = 256};
		struct mdp_buf b;
		struct mdp_cursor v;
		uint16_t sw = 0;

		buf_init(&b);
		CU_ASSERT_EQUAL(mdp_apdu_exchange(f.t, &a, &b, &sw), MDP_OK);
		CU_ASSERT_EQUAL_FATAL(tlv_find(b.data, b.len, 0xDF20, &v), MDP_OK);
		CU_ASSERT_EQUAL(cur_left(&v), 1 + 3 * 12);
		buf_free(&b);
	}
	fx_close(&f);
}

static void
test_rsa_large(void)
{
	struct fx f;

	fx_open(&f);
	login(&f);
	CU_ASSERT_EQUAL_FATAL(md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE,
						  3072, NULL, 0),
			      MD_OK);
	sign_rsa_all(&f, 0, MDP_AT_KEYEXCHANGE, 3072);
	CU_ASSERT_EQUAL_FATAL(md_create_container(f.card, 1, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE,
						  4096, NULL, 0),
			      MD_OK);
	sign_rsa_all(&f, 1, MDP_AT_KEYEXCHANGE, 4096);
	decrypt_all(&f, 1, 4096);
	fx_close(&f);
}

static void
test_ec(void)
{
	static const uint32_t specs[] = {MDP_AT_ECDSA_P256, MDP_AT_ECDSA_P384, MDP_AT_ECDSA_P521};
	static const char *const curves[] = {"P-256", "P-384", "P-521"};
	struct fx f;
	size_t i;

	fx_open(&f);
	login(&f);
	for (i = 0; i < 3; i++) {
		uint8_t h[32];
		EVP_PKEY *pk;
		struct md_signing_info si = {.version = 2,
					     .container_index = (uint8_t)i,
					     .key_spec = specs[i],
					     .data = h,
					     .data_len = 32};

		CU_ASSERT_EQUAL_FATAL(md_create_container(f.card, (uint8_t)i, MD_CREATE_KEY_GEN,
							  specs[i], 0, NULL, 0),
				      MD_OK);
		pk = container_key(&f, (uint8_t)i, specs[i]);
		tc_sha256(curves[i], 5, h);
		CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
		CU_ASSERT_EQUAL(si.signature_len, i == 0 ? 64u : i == 1 ? 96u : 132u);
		CU_ASSERT_TRUE(tc_verify_ecdsa_rs(pk, h, 32, si.signature, si.signature_len));
		free(si.signature);
		EVP_PKEY_free(pk);
	}
	fx_close(&f);
}

static void
test_ecdh(void)
{
	static const uint32_t specs[] = {MDP_AT_ECDHE_P256, MDP_AT_ECDHE_P384, MDP_AT_ECDHE_P521};
	static const char *const names[] = {"P-256", "P-384", "P-521"};
	struct fx f;
	size_t i;

	fx_open(&f);
	login(&f);
	for (i = 0; i < 3; i++) {
		EVP_PKEY *mine, *peer = EVP_EC_gen(names[i]);
		struct mdp_key *pk = NULL;
		uint8_t *blob = NULL, secret[80], *dk_out;
		size_t bl = 0, sl = sizeof(secret), j;
		EVP_PKEY_CTX *c;
		struct md_dh_agreement_info ai = {.version = 2, .container_index = (uint8_t)i};
		struct md_derive_key dk = {.version = 2, .kdf = MD_KDF_TRUNCATE};
		struct md_kdf_param hp = {MD_KDF_HASH_ALGORITHM, "SHA256", 6};
		uint8_t h[32];

		CU_ASSERT_EQUAL_FATAL(md_create_container(f.card, (uint8_t)i, MD_CREATE_KEY_GEN,
							  specs[i], 0, NULL, 0),
				      MD_OK);
		mine = container_key(&f, (uint8_t)i, specs[i]);
		CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(peer, specs[i], &pk), MDP_OK);
		CU_ASSERT_EQUAL_FATAL(blob_write(pk, BLOB_FMT_CNG_ECC_PUBLIC, specs[i], &blob, &bl),
				      MDP_OK);
		ai.public_key = blob;
		ai.public_key_len = bl;
		CU_ASSERT_EQUAL_FATAL(md_construct_dh_agreement(f.card, &ai), MD_OK);
		/* the same secret on the OpenSSL side */
		c = EVP_PKEY_CTX_new(peer, NULL);
		CU_ASSERT(EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, mine) == 1 &&
			  EVP_PKEY_derive(c, secret, &sl) == 1);
		EVP_PKEY_CTX_free(c);
		dk.secret_agreement_index = ai.secret_agreement_index;
		CU_ASSERT_EQUAL(md_derive_key(f.card, &dk), MD_OK);
		CU_ASSERT_EQUAL(dk.derived_key_len, sl);
		dk_out = dk.derived_key;
		for (j = 0; j < sl && dk_out; j++)
			CU_ASSERT_EQUAL(dk_out[j], secret[sl - 1 - j]);
		free(dk.derived_key);
		/* HASH with SHA-256 */
		dk.kdf = MD_KDF_HASH;
		dk.params = &hp;
		dk.param_count = 1;
		CU_ASSERT_EQUAL(md_derive_key(f.card, &dk), MD_OK);
		tc_sha256(secret, sl, h);
		CU_ASSERT(dk.derived_key_len == 32 && memcmp(dk.derived_key, h, 32) == 0);
		free(dk.derived_key);
		dk.kdf = "TLS_PRF";
		CU_ASSERT_EQUAL(md_derive_key(f.card, &dk), MD_E_UNSUPPORTED_FEATURE);
		CU_ASSERT_EQUAL(md_destroy_dh_agreement(f.card, ai.secret_agreement_index, 0),
				MD_OK);
		CU_ASSERT_EQUAL(md_destroy_dh_agreement(f.card, ai.secret_agreement_index, 0),
				MD_E_INVALID_PARAMETER);
		dk.kdf = MD_KDF_TRUNCATE;
		CU_ASSERT_EQUAL(md_derive_key(f.card, &dk), MD_E_INVALID_PARAMETER);
		free(blob);
		mdp_key_free(pk);
		EVP_PKEY_free(peer);
		EVP_PKEY_free(mine);
	}
	/* v1 agreement structures are obsolete */
	{
		struct md_dh_agreement_info ai = {
			.version = 1, .public_key = (const uint8_t *)"x", .public_key_len = 1};

		CU_ASSERT_EQUAL(md_construct_dh_agreement(f.card, &ai), MD_ERROR_REVISION_MISMATCH);
	}
	fx_close(&f);
}

static void
test_import(void)
{
	struct fx f;
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256"), *pub;
	struct mdp_key *k = NULL;
	uint8_t *blob = NULL, h[32];
	size_t bl = 0;
	struct md_signing_info si = {.version = 2,
				     .key_spec = MDP_AT_KEYEXCHANGE,
				     .hash_alg = MDP_CALG_SHA_256,
				     .data = h,
				     .data_len = 32};

	tc_sha256("import", 6, h);
	fx_open(&f);
	login(&f);
	CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(rsa, MDP_AT_KEYEXCHANGE, &k), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(blob_write(k, BLOB_FMT_CAPI_PRIVATE, MDP_AT_KEYEXCHANGE, &blob, &bl),
			      MDP_OK);
	/* a key exchange blob for a signature key is the wrong type */
	CU_ASSERT_EQUAL(
		md_create_container(f.card, 0, MD_CREATE_KEY_IMPORT, MDP_AT_SIGNATURE, 0, blob, bl),
		MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_IMPORT, MDP_AT_ECDSA_P256, 0,
					    blob, bl),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_IMPORT, MDP_AT_KEYEXCHANGE, 0,
					    blob, bl - 1),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_IMPORT, MDP_AT_KEYEXCHANGE, 0,
					    blob, bl),
			MD_OK);
	mdp_secure_free(blob, bl);
	mdp_key_free(k);
	pub = container_key(&f, 0, MDP_AT_KEYEXCHANGE);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(pub, rsa), 1);
	EVP_PKEY_free(pub);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	CU_ASSERT_TRUE(tc_verify_rsa_le(rsa, RSA_PKCS1_PADDING, EVP_sha256(), 0, h, 32,
					si.signature, si.signature_len));
	free(si.signature);

	/* EC import */
	CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(ec, MDP_AT_ECDSA_P256, &k), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(
		blob_write(k, BLOB_FMT_CNG_ECC_PRIVATE, MDP_AT_ECDSA_P256, &blob, &bl), MDP_OK);
	CU_ASSERT_EQUAL(md_create_container(f.card, 1, MD_CREATE_KEY_IMPORT, MDP_AT_ECDHE_P256, 0,
					    blob, bl),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_container(f.card, 1, MD_CREATE_KEY_IMPORT, MDP_AT_ECDSA_P256, 0,
					    blob, bl),
			MD_OK);
	mdp_secure_free(blob, bl);
	mdp_key_free(k);
	si.container_index = 1;
	si.key_spec = MDP_AT_ECDSA_P256;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	CU_ASSERT_TRUE(tc_verify_ecdsa_rs(ec, h, 32, si.signature, si.signature_len));
	free(si.signature);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	fx_close(&f);
}

/* Every rule of spec/minidriver.md §4.2-§4.8 the host functions enforce. */
static void
test_rules(void)
{
	struct fx f;
	struct md_container_info ci = {0};
	struct md_key_sizes ks = {0};
	uint8_t h[32] = {0};
	struct md_signing_info si = {.version = 2,
				     .key_spec = MDP_AT_KEYEXCHANGE,
				     .hash_alg = MDP_CALG_SHA_256,
				     .data = h,
				     .data_len = 32};
	EVP_PKEY *a, *b;

	fx_open(&f);
	CU_ASSERT_EQUAL(
		md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P256, 256, NULL, 0),
		MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_GEN, 9, 2048, NULL, 0),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_GEN, 0, 2048, NULL, 0),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_container(f.card, 0, 3, MDP_AT_KEYEXCHANGE, 2048, NULL, 0),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_IMPORT, MDP_AT_KEYEXCHANGE, 0,
					    NULL, 0),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_container_ex(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE,
					       2048, NULL, 0, MD_ROLE_ADMIN),
			MD_W_SECURITY_VIOLATION);
	CU_ASSERT_EQUAL(md_create_container_ex(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE,
					       2048, NULL, 0, 3),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE, 1536,
					    NULL, 0),
			MD_E_INVALID_PARAMETER);
	/* without the PIN the card refuses key generation */
	CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE, 1024,
					    NULL, 0),
			MD_W_SECURITY_VIOLATION);
	CU_ASSERT_EQUAL(md_get_container_info(f.card, 0, 0, &ci), MD_E_NO_KEY_CONTAINER);
	CU_ASSERT_EQUAL(md_get_container_info(f.card, 0, 1, &ci), MD_E_INVALID_PARAMETER);
	ci.version = 2;
	CU_ASSERT_EQUAL(md_get_container_info(f.card, 0, 0, &ci), MD_ERROR_REVISION_MISMATCH);
	/* deleting an empty index succeeds (v7) */
	CU_ASSERT_EQUAL(md_delete_container(f.card, 5, 0), MD_OK);
	CU_ASSERT_EQUAL(md_delete_container(f.card, 5, 1), MD_E_INVALID_PARAMETER);

	/* key sizes */
	CU_ASSERT_EQUAL(md_query_key_sizes(f.card, MDP_AT_KEYEXCHANGE, 0, &ks), MD_OK);
	CU_ASSERT(ks.version == 1 && ks.minimum == 1024 && ks.default_bits == 2048 &&
		  ks.maximum == 4096 && ks.increment == 1024);
	CU_ASSERT_EQUAL(md_query_key_sizes(f.card, MDP_AT_ECDHE_P384, 0, &ks), MD_OK);
	CU_ASSERT(ks.minimum == 384 && ks.maximum == 384);
	CU_ASSERT_EQUAL(md_query_key_sizes(f.card, 0, 0, &ks), MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_query_key_sizes(f.card, MDP_AT_SIGNATURE, 1, &ks),
			MD_E_INVALID_PARAMETER);

	login(&f);
	/* CardCreateContainer overwrites an existing index */
	CU_ASSERT_EQUAL_FATAL(md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE,
						  1024, NULL, 0),
			      MD_OK);
	a = container_key(&f, 0, MDP_AT_KEYEXCHANGE);
	CU_ASSERT_EQUAL_FATAL(md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE,
						  1024, NULL, 0),
			      MD_OK);
	b = container_key(&f, 0, MDP_AT_KEYEXCHANGE);
	CU_ASSERT_NOT_EQUAL(EVP_PKEY_eq(a, b), 1);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	/* signing rules */
	si.version = 3;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_ERROR_REVISION_MISMATCH);
	si.version = 1;
	si.flags = MD_PADDING_INFO_PRESENT;
	si.padding_type = MD_PADDING_PKCS1;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_ERROR_REVISION_MISMATCH);
	si.version = 2;
	si.flags = 0x1;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_INVALID_PARAMETER);
	si.flags = 0;
	si.hash_alg = 0x8099;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_UNSUPPORTED_FEATURE);
	si.hash_alg = MDP_CALG_SHA1;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_INVALID_PARAMETER);
	si.hash_alg = MDP_CALG_SHA_256;
	si.key_spec = MDP_AT_SIGNATURE;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_NO_KEY_CONTAINER);
	si.key_spec = MDP_AT_KEYEXCHANGE;
	si.container_index = 7;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_NO_KEY_CONTAINER);
	si.container_index = 0;
	/* after logout the card refuses the key */
	CU_ASSERT_EQUAL(md_deauthenticate(f.card, "user", 0), MD_OK);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_W_SECURITY_VIOLATION);
	/* delete */
	login(&f);
	CU_ASSERT_EQUAL(md_delete_container(f.card, 0, 0), MD_OK);
	ci.version = 1;
	CU_ASSERT_EQUAL(md_get_container_info(f.card, 0, 0, &ci), MD_E_NO_KEY_CONTAINER);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_NO_KEY_CONTAINER);
	fx_close(&f);
}

static void
test_properties(void)
{
	struct fx f;
	uint8_t buf[128];
	uint32_t v = 0;
	size_t n = 0;
	struct md_free_space fs = {0};
	struct md_capabilities caps = {0};

	fx_open(&f);
	CU_ASSERT_EQUAL(md_query_capabilities(f.card, &caps), MD_OK);
	CU_ASSERT(caps.certificate_compression && caps.key_gen);
	CU_ASSERT_EQUAL(md_query_free_space(f.card, 0, &fs), MD_OK);
	CU_ASSERT_EQUAL(fs.bytes_available, MD_VALUE_UNKNOWN);
	CU_ASSERT_EQUAL(fs.containers_available, fs.max_containers);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_GUID, buf, sizeof(buf), &n, 0), MD_OK);
	CU_ASSERT(n == 16 && memcmp(buf, serial, 16) == 0);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_SERIAL_NO, buf, 4, &n, 0),
			MD_ERROR_INSUFFICIENT_BUFFER);
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_READ_ONLY, &v, sizeof(v), &n, 0), MD_OK);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_CACHE_MODE, &v, sizeof(v), &n, 0),
			MD_OK);
	CU_ASSERT_EQUAL(v, MD_CP_CACHE_MODE_GLOBAL_CACHE);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_LIST_PINS, &v, sizeof(v), &n, 0), MD_OK);
	CU_ASSERT_EQUAL(v, 0x06);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_KEY_IMPORT_SUPPORT, &v, sizeof(v), &n, 0),
			MD_OK);
	CU_ASSERT_EQUAL(v, MD_KEY_IMPORT_PLAIN_TEXT);
	CU_ASSERT_EQUAL(
		md_get_property(f.card, MD_CP_SUPPORTS_WIN_X509_ENROLLMENT, &v, sizeof(v), &n, 0),
		MD_OK);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_PIN_STRENGTH_VERIFY, &v, sizeof(v), &n,
					MD_ROLE_USER),
			MD_OK);
	CU_ASSERT_EQUAL(v, MD_PIN_STRENGTH_PLAINTEXT);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_KEYSIZES, buf, sizeof(buf), &n,
					MDP_AT_ECDSA_P521),
			MD_OK);
	CU_ASSERT_EQUAL(n, sizeof(struct md_key_sizes));
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_FREE_SPACE, buf, sizeof(buf), &n, 0),
			MD_OK);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_CAPABILITIES, buf, sizeof(buf), &n, 0),
			MD_OK);
	/* flags must be 0 where the property gives them no meaning */
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_READ_ONLY, &v, sizeof(v), &n, 1),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_get_property(f.card, "No Such Property", &v, sizeof(v), &n, 0),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_PARENT_WINDOW, &v, sizeof(v), &n, 0),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_set_property(f.card, MD_CP_PARENT_WINDOW, &v, sizeof(v), 0), MD_OK);
	CU_ASSERT_EQUAL(md_set_property(f.card, MD_CP_CARD_READ_ONLY, &v, sizeof(v), 0),
			MD_E_UNSUPPORTED_FEATURE);
	/* container properties */
	CU_ASSERT_EQUAL(
		md_get_container_property(f.card, 0, MD_CCP_PIN_IDENTIFIER, &v, sizeof(v), &n, 0),
		MD_E_NO_KEY_CONTAINER);
	login(&f);
	CU_ASSERT_EQUAL_FATAL(
		md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P256, 0, NULL, 0),
		MD_OK);
	CU_ASSERT_EQUAL(
		md_get_container_property(f.card, 0, MD_CCP_PIN_IDENTIFIER, &v, sizeof(v), &n, 0),
		MD_OK);
	CU_ASSERT_EQUAL(v, MD_ROLE_USER);
	{
		struct md_container_info ci;

		CU_ASSERT_EQUAL(md_get_container_property(f.card, 0, MD_CCP_CONTAINER_INFO, &ci,
							  sizeof(ci), &n, 0),
				MD_OK);
		CU_ASSERT(ci.sig_public_key && ci.sig_public_key_len == 8 + 64);
		md_container_info_clear(&ci);
	}
	CU_ASSERT_EQUAL(
		md_set_container_property(f.card, 0, MD_CCP_PIN_IDENTIFIER, &v, sizeof(v), 0),
		MD_OK);
	v = 3;
	CU_ASSERT_EQUAL(
		md_set_container_property(f.card, 0, MD_CCP_PIN_IDENTIFIER, &v, sizeof(v), 0),
		MD_E_INVALID_PARAMETER);
	fx_close(&f);
}

/* A reset by someone else: reported once, login gone, operations work after re-authenticating. */
static void
test_reset(void)
{
	struct fx f;
	uint8_t h[32] = {1};
	struct md_signing_info si = {
		.version = 2, .key_spec = MDP_AT_ECDSA_P256, .data = h, .data_len = 32};
	unsigned long before;

	fx_open(&f);
	login(&f);
	CU_ASSERT_EQUAL_FATAL(
		md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P256, 0, NULL, 0),
		MD_OK);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	free(si.signature);
	/* APDU budget: a signature is MSE + PSO, the next one on the same key only PSO */
	before = mdp_transport_apdu_count(f.t);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	free(si.signature);
	CU_ASSERT_EQUAL(mdp_transport_apdu_count(f.t) - before, 1);

	CU_ASSERT_EQUAL(mdp_transport_embedded_event(f.t, false), MDP_OK);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_W_RESET_CARD);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_W_SECURITY_VIOLATION);
	login(&f);
	before = mdp_transport_apdu_count(f.t);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	free(si.signature);
	CU_ASSERT_EQUAL(mdp_transport_apdu_count(f.t) - before, 2);
	/* removal */
	CU_ASSERT_EQUAL(mdp_transport_embedded_event(f.t, true), MDP_OK);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_W_REMOVED_CARD);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_NO_SMARTCARD);
	fx_close(&f);
}

/* The ECDH secret of container idx with peer, through TRUNCATE (little-endian), compared with
 * OpenSSL. */
static bool
ecdh_matches(struct fx *f, uint8_t idx, uint32_t spec, EVP_PKEY *mine)
{
	static const char *const names[] = {"P-256", "P-384", "P-521"};
	EVP_PKEY *peer = EVP_EC_gen(names[(spec - MDP_AT_ECDHE_P256) % 3]);
	struct mdp_key *pk = NULL;
	uint8_t *blob = NULL, secret[80];
	size_t bl = 0, sl = sizeof(secret), j;
	struct md_dh_agreement_info ai = {.version = 2, .container_index = idx};
	struct md_derive_key dk = {.version = 2, .kdf = MD_KDF_TRUNCATE};
	EVP_PKEY_CTX *c = NULL;
	bool ok = false;

	if (!peer || mdp_key_from_pkey(peer, (enum mdp_key_spec)spec, &pk) != MDP_OK ||
	    blob_write(pk, BLOB_FMT_CNG_ECC_PUBLIC, (enum mdp_key_spec)spec, &blob, &bl) != MDP_OK)
		goto out;
	ai.public_key = blob;
	ai.public_key_len = bl;
	if (md_construct_dh_agreement(f->card, &ai) != MD_OK)
		goto out;
	c = EVP_PKEY_CTX_new(peer, NULL);
	if (!c || EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, mine) != 1 ||
	    EVP_PKEY_derive(c, secret, &sl) != 1)
		goto out;
	dk.secret_agreement_index = ai.secret_agreement_index;
	if (md_derive_key(f->card, &dk) != MD_OK || dk.derived_key_len != sl)
		goto out;
	ok = true;
	for (j = 0; j < sl; j++)
		ok = ok && dk.derived_key[j] == secret[sl - 1 - j];
	md_destroy_dh_agreement(f->card, ai.secret_agreement_index, 0);
out:
	free(dk.derived_key);
	EVP_PKEY_CTX_free(c);
	free(blob);
	mdp_key_free(pk);
	EVP_PKEY_free(peer);
	return ok;
}

/*
 * Import for every key spec (§4.2), each key used afterwards; blobs of a type
 * the spec does not name for import are SCARD_E_INVALID_PARAMETER and leave
 * the index empty.
 */
static void
test_import_every_spec(void)
{
	static const char *const curves[] = {"P-256", "P-384", "P-521"};
	struct fx f;
	uint32_t spec;
	uint8_t h[32];
	struct md_container_info ci = {.version = 1};

	tc_sha256("every spec", 10, h);
	fx_open(&f);
	login(&f);
	for (spec = MDP_AT_KEYEXCHANGE; spec <= MDP_AT_ECDHE_P521; spec++) {
		uint8_t idx = (uint8_t)(spec + 10);
		EVP_PKEY *key = MDP_KEY_SPEC_IS_RSA(spec)
					? EVP_RSA_gen(1024)
					: EVP_EC_gen(curves[(spec - MDP_AT_ECDSA_P256) % 3]);
		struct mdp_key *k = NULL;
		uint8_t *blob = NULL;
		size_t bl = 0;
		EVP_PKEY *pub;

		CU_ASSERT_PTR_NOT_NULL_FATAL(key);
		CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(key, (enum mdp_key_spec)spec, &k), MDP_OK);
		CU_ASSERT_EQUAL_FATAL(blob_write(k,
						 MDP_KEY_SPEC_IS_RSA(spec)
							 ? BLOB_FMT_CAPI_PRIVATE
							 : BLOB_FMT_CNG_ECC_PRIVATE,
						 (enum mdp_key_spec)spec, &blob, &bl),
				      MDP_OK);
		CU_ASSERT_EQUAL(
			md_create_container(f.card, idx, MD_CREATE_KEY_IMPORT, spec, 0, blob, bl),
			MD_OK);
		mdp_secure_free(blob, bl);
		blob = NULL;
		pub = container_key(&f, idx, spec);
		CU_ASSERT_EQUAL(EVP_PKEY_eq(pub, key), 1);
		if (MDP_KEY_SPEC_IS_ECDH(spec)) {
			CU_ASSERT_TRUE(ecdh_matches(&f, idx, spec, pub));
		} else {
			struct md_signing_info si = {
				.version = 2,
				.container_index = idx,
				.key_spec = spec,
				.data = h,
				.data_len = 32,
				.hash_alg = MDP_KEY_SPEC_IS_RSA(spec) ? MDP_CALG_SHA_256 : 0};

			CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
			CU_ASSERT_TRUE(MDP_KEY_SPEC_IS_RSA(spec)
					       ? tc_verify_rsa_le(key, RSA_PKCS1_PADDING,
								  EVP_sha256(), 0, h, 32,
								  si.signature, si.signature_len)
					       : tc_verify_ecdsa_rs(key, h, 32, si.signature,
								    si.signature_len));
			free(si.signature);
		}
		/* the public half, PKCS#8 and SPKI are not import formats */
		CU_ASSERT_EQUAL_FATAL(blob_write(k,
						 MDP_KEY_SPEC_IS_RSA(spec)
							 ? BLOB_FMT_CAPI_PUBLIC
							 : BLOB_FMT_CNG_ECC_PUBLIC,
						 (enum mdp_key_spec)spec, &blob, &bl),
				      MDP_OK);
		CU_ASSERT_EQUAL(
			md_create_container(f.card, 40, MD_CREATE_KEY_IMPORT, spec, 0, blob, bl),
			MD_E_INVALID_PARAMETER);
		free(blob);
		CU_ASSERT_EQUAL_FATAL(
			blob_write(k, BLOB_FMT_PKCS8, (enum mdp_key_spec)spec, &blob, &bl), MDP_OK);
		CU_ASSERT_EQUAL(
			md_create_container(f.card, 40, MD_CREATE_KEY_IMPORT, spec, 0, blob, bl),
			MD_E_INVALID_PARAMETER);
		mdp_secure_free(blob, bl);
		if (MDP_KEY_SPEC_IS_RSA(spec)) {
			/* a CNG RSA private blob is not the CAPI form the spec names */
			CU_ASSERT_EQUAL_FATAL(blob_write(k, BLOB_FMT_CNG_RSA_FULL,
							 (enum mdp_key_spec)spec, &blob, &bl),
					      MDP_OK);
			CU_ASSERT_EQUAL(md_create_container(f.card, 40, MD_CREATE_KEY_IMPORT, spec,
							    0, blob, bl),
					MD_E_INVALID_PARAMETER);
			mdp_secure_free(blob, bl);
		}
		EVP_PKEY_free(pub);
		mdp_key_free(k);
		EVP_PKEY_free(key);
	}
	/* random bytes */
	{
		uint8_t junk[300];
		size_t i;

		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(i * 37 + 11);
		CU_ASSERT_EQUAL(md_create_container(f.card, 40, MD_CREATE_KEY_IMPORT,
						    MDP_AT_KEYEXCHANGE, 0, junk, sizeof(junk)),
				MD_E_INVALID_PARAMETER);
	}
	/* RSA of a size the card does not take (1536 bits) */
	{
		EVP_PKEY *odd = EVP_RSA_gen(1536);
		struct mdp_key *k = NULL;
		uint8_t *blob = NULL;
		size_t bl = 0;

		CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(odd, MDP_AT_SIGNATURE, &k), MDP_OK);
		CU_ASSERT_EQUAL_FATAL(
			blob_write(k, BLOB_FMT_CAPI_PRIVATE, MDP_AT_SIGNATURE, &blob, &bl), MDP_OK);
		CU_ASSERT_EQUAL(md_create_container(f.card, 40, MD_CREATE_KEY_IMPORT,
						    MDP_AT_SIGNATURE, 0, blob, bl),
				MD_E_INVALID_PARAMETER);
		mdp_secure_free(blob, bl);
		mdp_key_free(k);
		EVP_PKEY_free(odd);
	}
	/* nothing of the refused imports reached the card */
	CU_ASSERT_EQUAL(md_get_container_info(f.card, 40, 0, &ci), MD_E_NO_KEY_CONTAINER);
	fx_close(&f);
}

/* The rules of §2-§4.11 not covered above: structure versions, flags, ranges, properties. */
static void
test_more_rules(void)
{
	struct fx f;
	struct md_capabilities caps = {.version = 2};
	struct md_free_space fs = {.version = 2};
	struct md_key_sizes ks = {.version = 2};
	struct md_file_info fi = {.version = 2};
	struct md_derive_key dk = {.version = 3, .kdf = MD_KDF_TRUNCATE};
	struct md_dh_agreement_info ai = {
		.version = 2, .flags = 1, .public_key = (const uint8_t *)"x", .public_key_len = 1};
	struct md_pin_info pi = {.version = 7};
	struct md_container_info ci = {.version = 1};
	uint8_t *ch = NULL, buf[64];
	char *names = (char *)buf; /* must come back NULL on failure */
	size_t n = 0;
	uint32_t v = 0;
	EVP_PKEY *a;

	fx_open(&f);
	/* structure versions above the current one */
	CU_ASSERT_EQUAL(md_query_capabilities(f.card, &caps), MD_ERROR_REVISION_MISMATCH);
	CU_ASSERT_EQUAL(md_query_free_space(f.card, 0, &fs), MD_ERROR_REVISION_MISMATCH);
	CU_ASSERT_EQUAL(md_query_key_sizes(f.card, MDP_AT_KEYEXCHANGE, 0, &ks),
			MD_ERROR_REVISION_MISMATCH);
	CU_ASSERT_EQUAL(md_get_file_info(f.card, NULL, "cardid", &fi), MD_ERROR_REVISION_MISMATCH);
	CU_ASSERT_EQUAL(md_derive_key(f.card, &dk), MD_ERROR_REVISION_MISMATCH);
	CU_ASSERT_EQUAL(
		md_get_property(f.card, MD_CP_CARD_PIN_INFO, &pi, sizeof(pi), &n, MD_ROLE_USER),
		MD_ERROR_REVISION_MISMATCH);
	/* version 0 counts as 1 */
	caps.version = 0;
	CU_ASSERT_EQUAL(md_query_capabilities(f.card, &caps), MD_OK);
	CU_ASSERT_EQUAL(caps.version, 1);
	fi.version = 0;
	CU_ASSERT_EQUAL(md_get_file_info(f.card, NULL, "cardid", &fi), MD_OK);
	CU_ASSERT(fi.version == 1 && fi.size == 16 && fi.access == MD_AC_EVERYONE_READ_ADMIN_WRITE);
	/* flags that must be 0 */
	CU_ASSERT_EQUAL(md_query_free_space(f.card, 1, &fs), MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_write_file(f.card, NULL, "cardcf", 1, buf, 6), MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_delete_file(f.card, "mscp", "cmapfile", 1), MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_enum_files(f.card, "mscp", &names, &n, 1), MD_E_INVALID_PARAMETER);
	CU_ASSERT_PTR_NULL(names);
	CU_ASSERT_EQUAL(md_get_challenge_ex(f.card, MD_ROLE_ADMIN, &ch, &n, 1),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_deauthenticate_ex(f.card, MD_PIN_SET(MD_ROLE_USER), 1),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_construct_dh_agreement(f.card, &ai), MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_destroy_dh_agreement(f.card, 0, 1), MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_set_property(f.card, MD_CP_PARENT_WINDOW, &v, sizeof(v), 1),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(
		md_get_container_property(f.card, 0, MD_CCP_PIN_IDENTIFIER, &v, sizeof(v), &n, 1),
		MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(
		md_set_container_property(f.card, 0, MD_CCP_PIN_IDENTIFIER, &v, sizeof(v), 1),
		MD_E_INVALID_PARAMETER);
	/* CardDeleteContainer on an index past the card's range succeeds as well (v7) */
	CU_ASSERT_EQUAL(md_delete_container(f.card, 255, 0), MD_OK);
	CU_ASSERT_EQUAL(md_get_container_info(f.card, 255, 0, &ci), MD_E_NO_KEY_CONTAINER);
	/* properties not covered elsewhere */
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_PIN_STRENGTH_CHANGE, &v, sizeof(v), &n,
					MD_ROLE_USER),
			MD_OK);
	CU_ASSERT_EQUAL(v, MD_PIN_STRENGTH_PLAINTEXT);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_PIN_STRENGTH_UNBLOCK, &v, sizeof(v), &n,
					MD_ROLE_USER),
			MD_OK);
	CU_ASSERT_EQUAL(
		md_get_property(f.card, MD_CP_CARD_PIN_STRENGTH_VERIFY, &v, sizeof(v), &n, 4),
		MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_ENUM_ALGORITHMS, buf, sizeof(buf), &n, 0),
			MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_KEYSIZES, buf, sizeof(buf), &n, 0),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_set_property(f.card, MD_CP_PIN_CONTEXT_STRING, "x", 2, 0), MD_OK);
	CU_ASSERT_EQUAL(md_set_property(f.card, MD_CP_CARD_GUID, buf, 16, 0),
			MD_E_UNSUPPORTED_FEATURE);
	/* a too small buffer says how much is needed */
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_PIN_INFO, buf, 2, &n, MD_ROLE_USER),
			MD_ERROR_INSUFFICIENT_BUFFER);
	CU_ASSERT_EQUAL(n, sizeof(struct md_pin_info));

	/* CardCreateContainer overwrites an index holding a key of another kind */
	login(&f);
	CU_ASSERT_EQUAL_FATAL(md_create_container(f.card, 3, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE,
						  1024, NULL, 0),
			      MD_OK);
	CU_ASSERT_EQUAL_FATAL(
		md_create_container(f.card, 3, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P384, 0, NULL, 0),
		MD_OK);
	a = container_key(&f, 3, MDP_AT_ECDSA_P384); /* checks the exchange slot is empty now */
	EVP_PKEY_free(a);
	CU_ASSERT_EQUAL(md_get_container_property(f.card, 3, MD_CCP_ASSOCIATED_ECDH_KEY, &v,
						  sizeof(v), &n, 0),
			MD_E_UNSUPPORTED_FEATURE);
	fx_close(&f);
}

/* Negotiated CARD_DATA versions: what exists below v7, and the v1 decrypt structure at v6. */
static void
test_versions(void)
{
	struct vcard_init_params ip = {.pin = "1234", .admin_key = admin_key};
	struct mdp_transport *t = NULL;
	struct md_card *card = NULL;
	uint32_t v = 0;
	size_t n = 0, k = 128, i;
	uint8_t ct[128], le[128];
	EVP_PKEY *pk;
	EVP_PKEY_CTX *c;
	struct fx f;
	struct md_dh_agreement_info ai = {
		.version = 2, .public_key = (const uint8_t *)"x", .public_key_len = 1};
	struct md_rsa_decrypt_info di = {
		.version = 1, .key_spec = MDP_AT_KEYEXCHANGE, .padding_type = MD_PADDING_PKCS1};

	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(NULL, &ip, &t), MDP_OK);
	CU_ASSERT_EQUAL(md_card_acquire(NULL, t, 3, 0, &card), MD_ERROR_REVISION_MISMATCH);
	CU_ASSERT_PTR_NULL(card);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, t, 9, 0, &card), MD_OK);
	CU_ASSERT_EQUAL(card->version, 7);
	md_card_delete(card);
	/* v4: no properties, no ECDH */
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, t, 4, 0, &card), MD_OK);
	CU_ASSERT_EQUAL(card->version, 4);
	CU_ASSERT_EQUAL(md_get_property(card, MD_CP_CARD_READ_ONLY, &v, sizeof(v), &n, 0),
			MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_EQUAL(md_construct_dh_agreement(card, &ai), MD_E_UNSUPPORTED_FEATURE);
	md_card_delete(card);
	/* v6: the v1 decrypt structure gives the raw block, padding still in place */
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, t, 6, 0, &card), MD_OK);
	f.t = t;
	f.card = card;
	login(&f);
	CU_ASSERT_EQUAL_FATAL(
		md_create_container(card, 0, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE, 1024, NULL, 0),
		MD_OK);
	pk = container_key(&f, 0, MDP_AT_KEYEXCHANGE);
	c = EVP_PKEY_CTX_new(pk, NULL);
	CU_ASSERT(EVP_PKEY_encrypt_init(c) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
		  EVP_PKEY_encrypt(c, ct, &k, (const uint8_t *)"v1", 2) == 1);
	EVP_PKEY_CTX_free(c);
	for (i = 0; i < k; i++)
		le[i] = ct[k - 1 - i];
	di.data = le;
	di.data_len = k;
	CU_ASSERT_EQUAL(md_rsa_decrypt(card, &di), MD_OK);
	CU_ASSERT_EQUAL(di.data_len, 128);
	/* little-endian: 00 02 ... 00 'v' '1' read backwards */
	CU_ASSERT(le[127] == 0x00 && le[126] == 0x02 && le[1] == 'v' && le[0] == '1' &&
		  le[2] == 0x00);
	EVP_PKEY_free(pk);
	md_card_delete(card);
	mdp_transport_free(t);
}

/* Every Card* call runs inside one card transaction: no APDU is sent outside one. */
struct txn_card {
	struct vcard *vc;
	struct mock_stats *st;
	unsigned apdus, outside;
};

static enum mdp_err
txn_card_fn(void *ctx, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *resp_len)
{
	struct txn_card *c = ctx;

	c->apdus++;
	if (c->st->begins <= c->st->ends)
		c->outside++;
	return vcard_transmit(c->vc, apdu, len, resp, resp_len);
}

static void
test_transactions(void)
{
	struct vcard_init_params ip = {.pin = "1234",
				       .admin_key = admin_key,
				       .serial = serial,
				       .serial_len = sizeof(serial)};
	struct mock_stats st = {0};
	struct txn_card c = {.st = &st};
	struct fx f = {0};
	uint8_t h[32] = {7}, *p = NULL;
	size_t n = 0;
	unsigned before;
	struct md_signing_info si = {.version = 2,
				     .key_spec = MDP_AT_KEYEXCHANGE,
				     .hash_alg = MDP_CALG_SHA_256,
				     .data = h,
				     .data_len = 32};
	struct md_container_info ci = {.version = 1};

	CU_ASSERT_EQUAL_FATAL(vcard_open(NULL, &ip, &c.vc), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(mock_transport_new(txn_card_fn, &c, &st, &f.t), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
	before = st.begins;
	login(&f);
	CU_ASSERT_EQUAL_FATAL(md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE,
						  1024, NULL, 0),
			      MD_OK);
	CU_ASSERT_EQUAL(md_get_container_info(f.card, 0, 0, &ci), MD_OK);
	md_container_info_clear(&ci);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	free(si.signature);
	CU_ASSERT_EQUAL(md_create_file(f.card, "mscp", "kxc00", 0, MD_AC_EVERYONE_READ_USER_WRITE),
			MD_OK);
	CU_ASSERT_EQUAL(md_write_file(f.card, "mscp", "kxc00", 0, h, sizeof(h)), MD_OK);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "kxc00", 0, &p, &n), MD_OK);
	free(p);
	CU_ASSERT_EQUAL(md_delete_container(f.card, 0, 0), MD_OK);
	CU_ASSERT_EQUAL(md_deauthenticate_ex(f.card, MD_PIN_SET(MD_ROLE_USER), 0), MD_OK);
	/* one transaction per call (9 calls), each around all of its APDUs */
	CU_ASSERT_EQUAL(st.begins - before, 9);
	CU_ASSERT_EQUAL(st.begins, st.ends);
	CU_ASSERT(c.apdus > 9);
	CU_ASSERT_EQUAL(c.outside, 0);
	md_card_delete(f.card);
	mdp_transport_free(f.t);
	vcard_free(c.vc);
}

static CU_TestInfo tests[] = {
	{"files and certificates", test_files},
	{"PINs, admin challenge/response, unblock", test_pins},
	{"RSA 1024/2048 sign and decrypt", test_rsa},
	{"RSA 3072/4096", test_rsa_large},
	{"ECDSA P-256/384/521", test_ec},
	{"ECDH P-256/384/521", test_ecdh},
	{"key import", test_import},
	{"spec rules", test_rules},
	{"properties", test_properties},
	{"reset and removal", test_reset},
	{"key import for every key spec, refused types", test_import_every_spec},
	{"structure versions, flags, properties", test_more_rules},
	{"CARD_DATA version negotiation", test_versions},
	{"a transaction around every call", test_transactions},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"gids", NULL, NULL, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-card-gids", suites);
}
