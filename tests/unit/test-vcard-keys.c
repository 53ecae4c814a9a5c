/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* APDU-level tests of the virtual card's keys, admin authentication and initialization. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
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

#include "common/bytes.h"
#include "tests/unit/testutil.h"
#include "tests/unit/vcard-testlib.h"
#include "vcard/vcard.h"

static const uint8_t admin_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
				      5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

static struct vcard *
new_card(void)
{
	struct vcard_init_params p = {.pin = "123456", .admin_key = admin_key};
	struct vcard *vc = NULL;

	CU_ASSERT_EQUAL_FATAL(vcard_open(NULL, &p, &vc), MDP_OK);
	return vc;
}

static void
login(struct vcard *vc)
{
	struct rapdu r;

	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x9000);
}

static uint16_t
generate(struct vcard *vc, uint8_t alg, uint8_t kid, bool with_le, struct rapdu *r)
{
	uint8_t d[8] = {0xAC, 0x06, 0x80, 0x01, alg, 0x83, 0x01, kid};

	return tx_chunk(vc, 0x00, 0x47, 0x00, 0x00, d, sizeof(d), with_le ? 256 : -1, r);
}

static const uint8_t digest_info[51] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 1,	  2,	3,    4,    5,	  6,	7,
	8,    9,    10,	  11,	12,   13,   14,	  15,	16,   17,   18,	  19,	20,
	21,   22,   23,	  24,	25,   26,   27,	  28,	29,   30,   31,	  32};

static bool
rsa_verify_pkcs1(EVP_PKEY *pub, const uint8_t *sig, size_t sig_len, const uint8_t *tbs,
		 size_t tbs_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	bool ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		  EVP_PKEY_verify(ctx, sig, sig_len, tbs, tbs_len) == 1;

	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static size_t
rsa_encrypt(EVP_PKEY *pub, int pad, const uint8_t *in, size_t in_len, uint8_t *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	size_t out_len = 512;

	if (!ctx || EVP_PKEY_encrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1 ||
	    EVP_PKEY_encrypt(ctx, out, &out_len, in, in_len) != 1)
		out_len = 0;
	EVP_PKEY_CTX_free(ctx);
	return out_len;
}

/* Sign with 5X and 1X, decrypt 4X, 0X, 8X: everything checked with OpenSSL. */
static void
check_rsa_key(struct vcard *vc, uint8_t kid, uint8_t id, EVP_PKEY *pub)
{
	uint8_t *out = NULL, block[512], ct[520], msg[40];
	size_t out_len = 0, k = (size_t)EVP_PKEY_get_size(pub), ct_len;

	CU_ASSERT_EQUAL_FATAL(gids_mse(vc, 0xB6, 0x50 | id, kid), 0x9000);
	CU_ASSERT_EQUAL(gids_pso(vc, true, digest_info, sizeof(digest_info), &out, &out_len),
			0x9000);
	CU_ASSERT_EQUAL(out_len, k);
	CU_ASSERT(rsa_verify_pkcs1(pub, out, out_len, digest_info, sizeof(digest_info)));
	free(out);
	/* a second signature with the same MSE */
	CU_ASSERT_EQUAL(gids_pso(vc, true, digest_info, 20, &out, &out_len), 0x9000);
	CU_ASSERT(rsa_verify_pkcs1(pub, out, out_len, digest_info, 20));
	free(out);
	/* too long for type-1 padding */
	memset(block, 0x11, sizeof(block));
	CU_ASSERT_EQUAL(gids_pso(vc, true, block, k - 10, &out, &out_len), 0x6700);
	free(out);
	/* raw: the host pads */
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x10 | id, kid), 0x9000);
	block[0] = 0x00;
	block[1] = 0x01;
	memset(block + 2, 0xFF, k - 3 - sizeof(digest_info));
	block[k - 1 - sizeof(digest_info)] = 0x00;
	memcpy(block + k - sizeof(digest_info), digest_info, sizeof(digest_info));
	CU_ASSERT_EQUAL(gids_pso(vc, true, block, k, &out, &out_len), 0x9000);
	CU_ASSERT(rsa_verify_pkcs1(pub, out, out_len, digest_info, sizeof(digest_info)));
	free(out);
	CU_ASSERT_EQUAL(gids_pso(vc, true, block, k - 1, &out, &out_len), 0x6700);
	free(out);

	/* decipher, PKCS#1 v1.5: bare cryptogram and with the 00 indicator */
	RAND_bytes(msg, sizeof(msg));
	ct_len = rsa_encrypt(pub, RSA_PKCS1_PADDING, msg, sizeof(msg), ct + 1);
	CU_ASSERT_EQUAL_FATAL(ct_len, k);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB8, 0x40 | id, kid), 0x9000);
	CU_ASSERT_EQUAL(gids_pso(vc, false, ct + 1, k, &out, &out_len), 0x9000);
	CU_ASSERT(out_len == sizeof(msg) && memcmp(out, msg, sizeof(msg)) == 0);
	free(out);
	ct[0] = 0x00;
	CU_ASSERT_EQUAL(gids_pso(vc, false, ct, k + 1, &out, &out_len), 0x9000);
	CU_ASSERT(out_len == sizeof(msg) && memcmp(out, msg, sizeof(msg)) == 0);
	free(out);
	CU_ASSERT_EQUAL(gids_pso(vc, false, ct + 1, k - 1, &out, &out_len), 0x6700);
	free(out);
	ct[0] = 0x01;
	CU_ASSERT_EQUAL(gids_pso(vc, false, ct, k + 1, &out, &out_len), 0x6700);
	free(out);
	/* bad padding: a raw block that is not type 2 */
	ct_len = rsa_encrypt(pub, RSA_NO_PADDING, block, k, ct);
	CU_ASSERT_EQUAL(gids_pso(vc, false, ct, ct_len, &out, &out_len), 0x6A80);
	free(out);
	/* raw decipher returns the whole block */
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB8, 0x00 | id, kid), 0x9000);
	CU_ASSERT_EQUAL(gids_pso(vc, false, ct, ct_len, &out, &out_len), 0x9000);
	CU_ASSERT(out_len == k && memcmp(out, block, k) == 0);
	free(out);
	/* OAEP (SHA-1) */
	ct_len = rsa_encrypt(pub, RSA_PKCS1_OAEP_PADDING, msg, sizeof(msg), ct);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB8, 0x80 | id, kid), 0x9000);
	CU_ASSERT_EQUAL(gids_pso(vc, false, ct, ct_len, &out, &out_len), 0x9000);
	CU_ASSERT(out_len == sizeof(msg) && memcmp(out, msg, sizeof(msg)) == 0);
	free(out);
	/* PSO of the wrong kind for the current MSE */
	CU_ASSERT_EQUAL(gids_pso(vc, true, digest_info, 20, &out, &out_len), 0x6985);
	free(out);
}

static void
test_rsa_generate(void)
{
	struct vcard *vc = new_card();
	struct rapdu r;
	EVP_PKEY *pub = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0;
	struct vcard_info info;

	/* no PIN: no key file, no key */
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x06, true), 0x6982);
	login(vc);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x06, true), 0x9000);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x06, true), 0x6A89);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x82, 0x07, true), 0x9000);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x83, 0x06, false), 0x9000);
	/* the public key of an empty key file is absent */
	CU_ASSERT_PTR_NULL(gids_read_public(vc, 0x81, NULL));
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF0A700884018AA5037F498000", &r), 0x6A88);
	/* GENERATE errors */
	CU_ASSERT_EQUAL(generate(vc, 0x05, 0x81, false, &r), 0x6A81);
	CU_ASSERT_EQUAL(generate(vc, 0x0F, 0x81, false, &r), 0x6A81);
	CU_ASSERT_EQUAL(generate(vc, 0x06, 0x90, false, &r), 0x6A88);
	CU_ASSERT_EQUAL(generate(vc, 0x06, 0x80, false, &r), 0x6A88);
	CU_ASSERT_EQUAL(tx(vc, "0047000003AC0180", &r), 0x6A80);
	/* OpenSC's form: no Le, no data */
	CU_ASSERT_EQUAL(generate(vc, 0x06, 0x81, false, &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 0);
	/* Windows' form: Le, public key back (RSA-2048 needs GET RESPONSE) */
	CU_ASSERT_EQUAL(generate(vc, 0x07, 0x82, true, &r), 0x610E);
	CU_ASSERT_EQUAL(r.len, 256);
	CU_ASSERT_EQUAL(r.data[0], 0x7F);
	CU_ASSERT_EQUAL(r.data[1], 0x49);
	CU_ASSERT_EQUAL(r.data[2], 0x82);
	CU_ASSERT_EQUAL(r.data[3], 0x01);
	CU_ASSERT_EQUAL(r.data[4], 0x09);
	CU_ASSERT_EQUAL(r.data[5], 0x81);
	CU_ASSERT_EQUAL(tx(vc, "00C000000E", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 14);
	CU_ASSERT_MEM_EQUAL(r.data + 9, "\x82\x03\x01\x00\x01", 5);
	CU_ASSERT_EQUAL(generate(vc, 0x06, 0x83, false, &r), 0x9000);

	/* public keys read without the PIN */
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	pub = gids_read_public(vc, 0x81, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(pub), 1024);
	/* RSA-1024 public key in one APDU: 7F49 8188 {8181 80 n, 8203 e} = 140 bytes (§8.4) */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF0A7008840181A5037F498000", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 140);
	CU_ASSERT_MEM_EQUAL(r.data, "\x7F\x49\x81\x88\x81\x81\x80", 7);

	/* key use needs the PIN */
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x56, 0x81), 0x6982);
	login(vc);
	/* MSE checks: unknown key, algorithm not in the CRTs, wrong size, sign-only key */
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x56, 0x88), 0x6A88);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x26, 0x81), 0x6984);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x57, 0x81), 0x6984);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB8, 0x46, 0x83), 0x6984);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xA6, 0x06, 0x81), 0x6984);
	CU_ASSERT_EQUAL(tx(vc, "00224AB606800156840181", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "002241B603800156", &r), 0x6A80);
	/* PSO without MSE */
	CU_ASSERT_EQUAL(gids_pso(vc, true, digest_info, 20, &out, &out_len), 0x6985);
	free(out);
	CU_ASSERT_EQUAL(tx(vc, "002A9EAA0101", &r), 0x6A86);

	check_rsa_key(vc, 0x81, 0x06, pub);
	EVP_PKEY_free(pub);
	pub = gids_read_public(vc, 0x82, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(pub), 2048);
	check_rsa_key(vc, 0x82, 0x07, pub);

	/* logout ends key use */
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x57, 0x82), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	CU_ASSERT_EQUAL(gids_pso(vc, true, digest_info, 20, &out, &out_len), 0x6985);
	free(out);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x57, 0x82), 0x6982);
	CU_ASSERT_EQUAL(generate(vc, 0x06, 0x81, false, &r), 0x6982);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.key_files, 3);
	EVP_PKEY_free(pub);
	vcard_free(vc);
}

static void
test_rsa_large(void)
{
	struct vcard *vc = new_card();
	struct rapdu r;
	EVP_PKEY *pub = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0;

	login(vc);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x09, true), 0x9000);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x82, 0x08, false), 0x9000);
	CU_ASSERT_EQUAL(generate(vc, 0x09, 0x81, true, &r), 0x6100);
	CU_ASSERT_EQUAL(r.len, 256);
	CU_ASSERT_EQUAL(generate(vc, 0x08, 0x82, false, &r), 0x9000);
	pub = gids_read_public(vc, 0x81, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(pub), 4096);
	/* a 512-byte signature and a 512-byte cryptogram (chained in 255-byte chunks) */
	check_rsa_key(vc, 0x81, 0x09, pub);
	EVP_PKEY_free(pub);
	pub = gids_read_public(vc, 0x82, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(pub), 3072);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x58, 0x82), 0x9000);
	CU_ASSERT_EQUAL(gids_pso(vc, true, digest_info, sizeof(digest_info), &out, &out_len),
			0x9000);
	CU_ASSERT_EQUAL(out_len, 384);
	CU_ASSERT(rsa_verify_pkcs1(pub, out, out_len, digest_info, sizeof(digest_info)));
	free(out);
	EVP_PKEY_free(pub);
	vcard_free(vc);
}

/* ---- import ---- */

static EVP_PKEY *
public_of(EVP_PKEY *key)
{
	uint8_t *der = NULL;
	const uint8_t *p;
	int n = i2d_PUBKEY(key, &der);
	EVP_PKEY *pub;

	p = der;
	pub = n > 0 ? d2i_PUBKEY(NULL, &p, n) : NULL;
	OPENSSL_free(der);
	return pub;
}

static void
test_rsa_import(void)
{
	struct vcard *vc = new_card();
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *pub = NULL, *card_pub = NULL;
	struct mdp_buf b;
	uint8_t *out = NULL;
	size_t out_len = 0;
	struct rapdu r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	pub = public_of(key);
	login(vc);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x07, true), 0x9000);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x82, 0x07, true), 0x9000);

	/* OpenSC's encoding: unsigned integers without sign byte, chained in 255-byte chunks */
	gids_rsa_template(&b, key, 0x81, false, false);
	CU_ASSERT(b.len > 1000);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xDB, 0x3F, 0xFF, b.data, b.len, &out, &out_len), 0x9000);
	buf_free(&b);
	free(out);
	card_pub = gids_read_public(vc, 0x81, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(card_pub);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(card_pub, pub), 1);
	check_rsa_key(vc, 0x81, 0x07, pub);
	EVP_PKEY_free(card_pub);

	/* Windows' encoding: proper DER integers */
	gids_rsa_template(&b, key, 0x82, true, false);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xDB, 0x3F, 0xFF, b.data, b.len, &out, &out_len), 0x9000);
	buf_free(&b);
	free(out);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x57, 0x82), 0x9000);
	CU_ASSERT_EQUAL(gids_pso(vc, true, digest_info, sizeof(digest_info), &out, &out_len),
			0x9000);
	CU_ASSERT(rsa_verify_pkcs1(pub, out, out_len, digest_info, sizeof(digest_info)));
	free(out);

	/* inconsistent key, missing key file, bad templates */
	gids_rsa_template(&b, key, 0x82, true, true);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xDB, 0x3F, 0xFF, b.data, b.len, &out, &out_len), 0x6A80);
	free(out);
	buf_free(&b);
	gids_rsa_template(&b, key, 0x85, true, false);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xDB, 0x3F, 0xFF, b.data, b.len, &out, &out_len), 0x6A88);
	free(out);
	buf_free(&b);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF0B7009840181A50483010287", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF0F700D840181A5088301028401018700", &r), 0x6A81);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF0F700D840181A5088301098401008700", &r), 0x6A81);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF0F700D840181A5088301028401008700", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF03710100", &r), 0x6A80);
	/* no PIN, no import */
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	gids_rsa_template(&b, key, 0x82, true, false);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xDB, 0x3F, 0xFF, b.data, b.len, &out, &out_len), 0x6982);
	free(out);
	buf_free(&b);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
	vcard_free(vc);
}

/* ---- EC (§9) ---- */

static bool
ecdsa_verify_rs(EVP_PKEY *pub, const uint8_t *rs, size_t rs_len, const uint8_t *hash,
		size_t hash_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	uint8_t *der = NULL;
	int der_len;
	bool ok = false;

	if (!sig || !ctx)
		goto out;
	ECDSA_SIG_set0(sig, BN_bin2bn(rs, (int)rs_len / 2, NULL),
		       BN_bin2bn(rs + rs_len / 2, (int)rs_len / 2, NULL));
	der_len = i2d_ECDSA_SIG(sig, &der);
	ok = der_len > 0 && EVP_PKEY_verify_init(ctx) == 1 &&
	     EVP_PKEY_verify(ctx, der, (size_t)der_len, hash, hash_len) == 1;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static void
check_ec_key(struct vcard *vc, uint8_t kid, uint8_t id, EVP_PKEY *pub, size_t fs)
{
	uint8_t hash[64], *out = NULL;
	size_t out_len = 0;

	RAND_bytes(hash, sizeof(hash));
	CU_ASSERT_EQUAL_FATAL(gids_mse(vc, 0xB6, 0x10 | id, kid), 0x9000);
	CU_ASSERT_EQUAL(gids_pso(vc, true, hash, 32, &out, &out_len), 0x9000);
	CU_ASSERT_EQUAL(out_len, 2 * fs);
	CU_ASSERT(ecdsa_verify_rs(pub, out, out_len, hash, 32));
	free(out);
	CU_ASSERT_EQUAL(gids_pso(vc, true, hash, 64, &out, &out_len), 0x9000);
	CU_ASSERT(ecdsa_verify_rs(pub, out, out_len, hash, 64));
	free(out);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x50 | id, kid), 0x6984);
}

static void
test_ec(void)
{
	static const struct {
		uint8_t id;
		const char *group;
		size_t fs;
	} curves[3] = {{0x0C, "P-256", 32}, {0x0D, "P-384", 48}, {0x0E, "P-521", 66}};
	struct vcard *vc = new_card();
	struct rapdu r;
	EVP_PKEY *pub = NULL, *peer = NULL;
	EVP_PKEY_CTX *dctx = NULL;
	struct mdp_buf b;
	uint8_t *out = NULL, *pt = NULL, want[66];
	size_t out_len = 0, pt_len, want_len = sizeof(want), i, m;

	login(vc);
	for (i = 0; i < 3; i++) {
		uint8_t kid = (uint8_t)(0x81 + i);

		CU_ASSERT_EQUAL(gids_create_key_file(vc, kid, curves[i].id, true), 0x9000);
		CU_ASSERT_EQUAL(generate(vc, curves[i].id, kid, i == 0, &r), 0x9000);
		if (i == 0) {
			/* 7F49 { 86 41 04 X Y } */
			CU_ASSERT_EQUAL(r.len, 3 + 2 + 65);
			CU_ASSERT_EQUAL(r.data[3], 0x86);
			CU_ASSERT_EQUAL(r.data[5], 0x04);
		}
		pub = gids_read_public(vc, kid, curves[i].group);
		CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
		check_ec_key(vc, kid, curves[i].id, pub, curves[i].fs);
		EVP_PKEY_free(pub);
	}

	/* ECDH: the card's secret equals OpenSSL's */
	pub = gids_read_public(vc, 0x81, "P-256");
	peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
	dctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
	CU_ASSERT(EVP_PKEY_derive_init(dctx) == 1 && EVP_PKEY_derive_set_peer(dctx, pub) == 1 &&
		  EVP_PKEY_derive(dctx, want, &want_len) == 1);
	pt_len = EVP_PKEY_get1_encoded_public_key(peer, &pt);
	CU_ASSERT_EQUAL(pt_len, 65);
	buf_init(&b);
	m = buf_tlv_open(&b, 0x7C);
	buf_put_tlv(&b, 0x85, pt, pt_len);
	buf_tlv_close(&b, m);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0x87, 0x00, 0x00, b.data, b.len, &out, &out_len), 0x6985);
	free(out);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xA6, 0x0D, 0x81), 0x6984);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xA6, 0x0C, 0x81), 0x9000);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0x87, 0x00, 0x00, b.data, b.len, &out, &out_len), 0x9000);
	CU_ASSERT_EQUAL(out_len, 4 + 32);
	CU_ASSERT(out_len == 36 && out[0] == 0x7C && out[2] == 0x82 &&
		  memcmp(out + 4, want, 32) == 0);
	free(out);
	/* a point off the curve, a wrong length */
	b.data[b.len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0x87, 0x00, 0x00, b.data, b.len, &out, &out_len), 0x6A80);
	free(out);
	CU_ASSERT_EQUAL(tx(vc, "00870000067C0485020400", &r), 0x6A80);
	buf_free(&b);
	OPENSSL_free(pt);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(pub);

	/* EC import: RFC 5915 ECPrivateKey in 87 with key type 03 */
	{
		EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		uint8_t *der = NULL, kid = 0x84;
		int der_len = i2d_PrivateKey(key, &der);
		size_t m70, ma5;

		CU_ASSERT_FATAL(der_len > 0);
		CU_ASSERT_EQUAL(gids_create_key_file(vc, kid, 0x0D, false), 0x9000);
		buf_init(&b);
		m70 = buf_tlv_open(&b, 0x70);
		buf_put_tlv(&b, 0x84, &kid, 1);
		ma5 = buf_tlv_open(&b, 0xA5);
		buf_put_tlv(&b, 0x83, "\x03", 1);
		buf_put_tlv(&b, 0x84, "\x00", 1);
		buf_put_tlv(&b, 0x87, der, (size_t)der_len);
		buf_tlv_close(&b, ma5);
		buf_tlv_close(&b, m70);
		CU_ASSERT_EQUAL(xfer_bytes(vc, 0xDB, 0x3F, 0xFF, b.data, b.len, &out, &out_len),
				0x9000);
		free(out);
		pub = gids_read_public(vc, kid, "P-384");
		CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
		CU_ASSERT_EQUAL(EVP_PKEY_eq(pub, key), 1);
		check_ec_key(vc, kid, 0x0D, pub, 48);
		/* a damaged private key */
		b.data[b.len - 20] ^= 0x55;
		CU_ASSERT_EQUAL(xfer_bytes(vc, 0xDB, 0x3F, 0xFF, b.data, b.len, &out, &out_len),
				0x6A80);
		free(out);
		buf_free(&b);
		OPENSSL_clear_free(der, (size_t)der_len);
		EVP_PKEY_free(pub);
		EVP_PKEY_free(key);
	}
	vcard_free(vc);
}

/* ---- key files ---- */

static void
test_key_files(void)
{
	struct vcard *vc = new_card();
	struct rapdu r;
	struct vcard_info info;
	unsigned i;
	uint16_t sw = 0;

	login(vc);
	/* bad FCPs */
	CU_ASSERT_EQUAL(tx(vc, "00E000000462028201", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00E00000086206820118830181", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00E0000009620782011883024081", &r), 0x6A80);  /* key FID */
	CU_ASSERT_EQUAL(tx(vc, "00E0000009620782013983 02B090", &r), 0x6A80); /* EF FID */
	CU_ASSERT_EQUAL(tx(vc, "00E0000009620782010183 02A020", &r), 0x6A81); /* descriptor */
	CU_ASSERT_EQUAL(tx(vc, "00E000000D620B820139830240208C020330", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00E0010009620782013983 02A020", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "00E0000009630782013983 02A020", &r), 0x6A80);
	/* an EF in creation state refuses GET/PUT until activated */
	CU_ASSERT_EQUAL(tx(vc, "00E000000E620C8201398302A0208C03033000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DBA02003DF0100", &r), 0x6985);
	CU_ASSERT_EQUAL(tx(vc, "00CBA020045C02DF0100", &r), 0x6985);
	CU_ASSERT_EQUAL(tx(vc, "0044000101", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DBA02003DF0100", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA020045C02DF0100", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000); /* again: no-op */
	/* select + delete (§8.8) */
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x07, true), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4000C02B081", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4000002B08100", &r), 0x9000);
	CU_ASSERT_EQUAL(r.data[0], 0x62);
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00E40000", &r), 0x6982);
	login(vc);
	CU_ASSERT_EQUAL(tx(vc, "00E4000101", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "00E40000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4000C02B081", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00E40000", &r), 0x6986); /* the application now */
	CU_ASSERT_EQUAL(tx(vc, "00A4000C02A020", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00E40000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA020045C02DF0100", &r), 0x6A82);
	/* 127 key files at most */
	for (i = 0; i < 127; i++) {
		sw = gids_create_key_file(vc, (uint8_t)(0x81 + i), 0x07, true);
		if (sw != 0x9000)
			break;
	}
	CU_ASSERT_EQUAL(sw, 0x9000);
	CU_ASSERT_EQUAL(i, 127);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.key_files, 127);
	CU_ASSERT_EQUAL(tx(vc, "00A4000C02B0FF", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00E40000", &r), 0x9000);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0xFF, 0x07, true), 0x9000);
	/* 192 files at most: 6 EFs, B080 and 127 key files leave room for 58 more EFs */
	for (i = 0; i < 100; i++) {
		uint8_t fcp[14] = {0x62, 0x0C,	     0x82, 0x01, 0x39, 0x83, 0x02,
				   0x40, (uint8_t)i, 0x8C, 0x03, 0x03, 0x30, 0x00};

		sw = tx_chunk(vc, 0x00, 0xE0, 0x00, 0x00, fcp, sizeof(fcp), -1, &r);
		if (sw != 0x9000)
			break;
	}
	CU_ASSERT_EQUAL(sw, 0x6A84);
	CU_ASSERT_EQUAL(i, 58);
	vcard_free(vc);
}

/* ---- admin key (§7.3) ---- */

static void
test_admin_unblock(void)
{
	struct vcard *vc = new_card();
	struct rapdu r;
	uint8_t wrong[24], ch[8], ct[8], cmd[12];
	EVP_PKEY *pub = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0;

	/* a key to prove the card key survives the unblock */
	login(vc);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x06, true), 0x9000);
	CU_ASSERT_EQUAL(generate(vc, 0x06, 0x81, false, &r), 0x9000);
	pub = gids_read_public(vc, 0x81, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);

	/* GENERAL AUTHENTICATE without MSE, MSE errors */
	CU_ASSERT_EQUAL(tx(vc, "00870000147C128110000102030405060708090A0B0C0D0E0F00", &r), 0x6985);
	CU_ASSERT_EQUAL(tx(vc, "0022C1A403830181", &r), 0x6A88);
	CU_ASSERT_EQUAL(tx(vc, "0022C1A4039A0180", &r), 0x6A80);
	/* wrong admin key */
	memcpy(wrong, admin_key, 24);
	wrong[5] ^= 0x40;
	CU_ASSERT_EQUAL(gids_admin_auth(vc, wrong, 0xC1), 0x6982);
	CU_ASSERT_EQUAL(tx(vc, "00CBA014045C02DF2000", &r), 0x6982);
	/* a response without the challenge step */
	CU_ASSERT_EQUAL(tx(vc, "0022C1A403830180", &r), 0x9000);
	{
		uint8_t zero[44] = {0x7C, 0x2A, 0x82, 0x28};

		CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0x87, 0x00, 0x00, zero, 44, 256, &r), 0x6982);
	}

	/* block the PIN */
	CU_ASSERT_EQUAL(tx(vc, "0020008006313131313131", &r), 0x63C2);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313131313131", &r), 0x63C1);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313131313131", &r), 0x63C0);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x6983);
	/* mutual authentication (OpenSC P1=C1, Windows P1=81), then RESET RETRY COUNTER */
	CU_ASSERT_EQUAL(gids_admin_auth(vc, admin_key, 0x81), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA014045C02DF2000", &r), 0x6A88); /* admin may read A014 */
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA014045C02DF2000", &r), 0x6982);
	CU_ASSERT_EQUAL(tx(vc, "002C028006373737373737", &r), 0x6982);
	CU_ASSERT_EQUAL(gids_admin_auth(vc, admin_key, 0xC1), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "002C028003373737", &r), 0x6700);
	CU_ASSERT_EQUAL(tx(vc, "002C038006373737373737", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "002C028006373737373737", &r), 0x9000);
	/* the admin state ended with the reset */
	CU_ASSERT_EQUAL(tx(vc, "002C028006383838383838", &r), 0x6982);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701039301 03");
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x63C2);
	CU_ASSERT_EQUAL(tx(vc, "0020008006373737373737", &r), 0x9000);
	/* the old key still works with the new PIN (card key rewrapped, not replaced) */
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x56, 0x81), 0x9000);
	CU_ASSERT_EQUAL(gids_pso(vc, true, digest_info, sizeof(digest_info), &out, &out_len),
			0x9000);
	CU_ASSERT(rsa_verify_pkcs1(pub, out, out_len, digest_info, sizeof(digest_info)));
	free(out);

	/* external authentication variant */
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "002281A403830180", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00870000047C02810000", &r), 0x9000);
	CU_ASSERT_FATAL(r.len == 12 && r.data[2] == 0x81 && r.data[3] == 0x08);
	memcpy(ch, r.data + 4, 8);
	CU_ASSERT(gids_des3(admin_key, 1, ch, 8, ct));
	memcpy(cmd, "\x7C\x0A\x82\x08", 4);
	memcpy(cmd + 4, ct, 8);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0x87, 0x00, 0x00, cmd, 12, -1, &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA014045C02DF2000", &r), 0x6A88);
	/* a wrong external answer */
	CU_ASSERT_EQUAL(tx(vc, "00870000047C02810000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0x87, 0x00, 0x00, cmd, 12, -1, &r), 0x6982);
	CU_ASSERT_EQUAL(tx(vc, "00CBA014045C02DF2000", &r), 0x6982);

	/* changing the admin key needs the admin; then only the new key works */
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	memcpy(wrong, admin_key, 24);
	wrong[0] = 0x55;
	{
		uint8_t imp[38] = {0x70, 0x24, 0x84, 0x01, 0x80, 0xA5, 0x1F, 0x87, 0x18};

		memcpy(imp + 9, wrong, 24);
		memcpy(imp + 33, "\x88\x03\xB0\x73\xDC", 5);
		CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0xDB, 0x3F, 0xFF, imp, sizeof(imp), -1, &r),
				0x6982);
		CU_ASSERT_EQUAL(gids_admin_auth(vc, admin_key, 0xC1), 0x9000);
		CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0xDB, 0x3F, 0xFF, imp, sizeof(imp), -1, &r),
				0x9000);
		imp[9 + 24 - 1] = 0; /* 23-byte key */
		imp[8] = 0x17;
		CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0xDB, 0x3F, 0xFF, imp, sizeof(imp), -1, &r),
				0x6A80);
	}
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	CU_ASSERT_EQUAL(gids_admin_auth(vc, admin_key, 0xC1), 0x6982);
	CU_ASSERT_EQUAL(gids_admin_auth(vc, wrong, 0xC1), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "002C028006393939393939", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0020008006393939393939", &r), 0x9000);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x56, 0x81), 0x9000);
	CU_ASSERT_EQUAL(gids_pso(vc, true, digest_info, 20, &out, &out_len), 0x9000);
	CU_ASSERT(rsa_verify_pkcs1(pub, out, out_len, digest_info, 20));
	free(out);
	EVP_PKEY_free(pub);
	vcard_free(vc);
}

/* ---- gids-tool --initialize, APDU by APDU (§10.1) ---- */

static void
test_init_sequence(void)
{
	struct vcard *vc = NULL;
	struct rapdu r;
	struct vcard_info info;
	uint8_t *mf = NULL;
	size_t mf_len = 0;
	static const char *const efs[6] = {
		"00E000000E620C8201398302A0008C03033000", "00E000000E620C8201398302A0108C03033000",
		"00E000000E620C8201398302A0118C030330FF", "00E000000E620C8201398302A0128C03032000",
		"00E000000E620C8201398302A0138C03033030", "00E000000E620C8201398302A0148C03032020",
	};
	unsigned i;

	CU_ASSERT_EQUAL_FATAL(vcard_open(NULL, NULL, &vc), MDP_OK);
	/* 1: detection, gids-tool's select, the masterfile must be absent */
	CU_ASSERT_EQUAL(tx(vc, "00A4040009A0000003974254465900", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4040C09A00000039742544659", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA000045C02DF1F00", &r), 0x6A82);
	/* GENERAL AUTHENTICATE and RESET RETRY COUNTER are refused in creation state */
	CU_ASSERT_EQUAL(tx(vc, "00870000147C128110000102030405060708090A0B0C0D0E0F00", &r), 0x6986);
	CU_ASSERT_EQUAL(tx(vc, "002C028006313233343536", &r), 0x6986);
	/* 2: set the PIN */
	CU_ASSERT_EQUAL(tx(vc, "0024018003313233", &r), 0x6700);
	CU_ASSERT_EQUAL(tx(vc, "00240180083132333435363738", &r), 0x9000);
	/* 3: the six EFs */
	for (i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(tx(vc, efs[i], &r), 0x9000);
		CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	}
	/* 4: the admin key file; 5: the admin key */
	CU_ASSERT_EQUAL(tx(vc,
			   "00E000001C621A8201188302B0808C04870020FFA50BA40980010283018095"
			   "01C0",
			   &r),
			0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc,
			   "00DB3FFF26"
			   "7024"
			   "840180"
			   "A51F"
			   "8718"
			   "010203040506070801020304050607080102030405060708"
			   "8803B073DC",
			   &r),
			0x9000);
	/* 6: masterfile, cardapps, cardcf, cmapfile, cardid */
	{
		uint8_t put[200];
		static const uint8_t rec[] = {0x01, 'm', 's', 'c', 'p'};

		memset(put, 0, sizeof(put));
		put[0] = 0xDF;
		put[1] = 0x1F;
		put[2] = 0x81;
		put[3] = 141;
		memcpy(put + 4, rec, sizeof(rec));
		CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0xDB, 0xA0, 0x00, put, 4 + 141, -1, &r), 0x9000);
	}
	CU_ASSERT_EQUAL(tx(vc, "00DBA0100BDF21086D73637000000000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01009DF2206000000000000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01003DF2300", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01213DF201000112233445566778899AABBCCDDEEFF", &r), 0x9000);
	/* still in creation state: no rule applies yet */
	CU_ASSERT_EQUAL(tx(vc, "00CBA014045C02DF2000", &r), 0x6A88);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(!info.initialized);
	/* 7: select the application, activate it */
	CU_ASSERT_EQUAL(tx(vc, "00A4000C023FFF", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(info.initialized);
	CU_ASSERT_EQUAL(info.cardid_len, 16);

	/* the card now enforces its rules */
	CU_ASSERT_EQUAL(xfer(vc, "00CBA000045C02DF1F00", &mf, &mf_len), 0x9000);
	CU_ASSERT_EQUAL(mf_len, 145);
	free(mf);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2300", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2300");
	CU_ASSERT_EQUAL(tx(vc, "00CBA014045C02DF2000", &r), 0x6982);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01003DF2300", &r), 0x6982);
	CU_ASSERT_EQUAL(tx(vc, "0024018006313233343536", &r), 0x6986);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701039301 03");
	CU_ASSERT_EQUAL(tx(vc, "00200080083132333435363738", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01003DF2300", &r), 0x9000);
	/* the imported admin key unblocks, and a key generated now still works after it */
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x06, true), 0x9000);
	CU_ASSERT_EQUAL(generate(vc, 0x06, 0x81, false, &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	CU_ASSERT_EQUAL(gids_admin_auth(vc, admin_key, 0xC1), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "002C028006313233343536", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x9000);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x56, 0x81), 0x9000);
	{
		uint8_t *out = NULL;
		size_t out_len = 0;

		CU_ASSERT_EQUAL(gids_pso(vc, true, digest_info, 20, &out, &out_len), 0x9000);
		CU_ASSERT_EQUAL(out_len, 128);
		free(out);
	}
	vcard_free(vc);
}

/* ---- logical channels: separate security environments, shared security status ---- */

struct chan_signer {
	struct vcard *vc;
	uint8_t chan;
	EVP_PKEY *pub;
	unsigned good, bad;
};

static uint16_t
chan_pso(struct vcard *vc, uint8_t chan, const uint8_t *hash, struct rapdu *r)
{
	return tx_chunk(vc, chan, 0x2A, 0x9E, 0x9A, hash, 32, 256, r);
}

static void *
chan_sign_loop(void *arg)
{
	struct chan_signer *s = arg;
	struct rapdu r;
	uint8_t hash[32];
	int i;

	for (i = 0; i < 200; i++) {
		RAND_bytes(hash, sizeof(hash));
		if (chan_pso(s->vc, s->chan, hash, &r) == 0x9000 && r.len == 64 &&
		    ecdsa_verify_rs(s->pub, r.data, r.len, hash, 32))
			s->good++;
		else
			s->bad++;
	}
	return NULL;
}

static void
test_channels(void)
{
	struct vcard *vc = new_card();
	struct chan_signer sg[2];
	pthread_t th[2];
	EVP_PKEY *pub1 = NULL, *pub2 = NULL;
	uint8_t hash[32], d[6] = {0x80, 0x01, 0x1C, 0x84, 0x01, 0x81};
	struct rapdu r;
	int i;

	login(vc);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x0C, false), 0x9000);
	CU_ASSERT_EQUAL(generate(vc, 0x0C, 0x81, false, &r), 0x9000);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x82, 0x0C, false), 0x9000);
	CU_ASSERT_EQUAL(generate(vc, 0x0C, 0x82, false, &r), 0x9000);
	pub1 = gids_read_public(vc, 0x81, "P-256");
	pub2 = gids_read_public(vc, 0x82, "P-256");
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub2);

	/* MANAGE CHANNEL: open 1, 2, 3, then none left; close; unopened channels refused */
	CU_ASSERT_EQUAL(tx(vc, "01CB3FFF045C027F7100", &r), 0x6881);
	CU_ASSERT_EQUAL(tx(vc, "0070000001", &r), 0x9000);
	CU_ASSERT_HEX(r, "01");
	CU_ASSERT_EQUAL(tx(vc, "0070000001", &r), 0x9000);
	CU_ASSERT_HEX(r, "02");
	CU_ASSERT_EQUAL(tx(vc, "0070000001", &r), 0x9000);
	CU_ASSERT_HEX(r, "03");
	CU_ASSERT_EQUAL(tx(vc, "0070000001", &r), 0x6881);
	CU_ASSERT_EQUAL(tx(vc, "0070800400", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "03708000", &r), 0x9000); /* closes itself */
	CU_ASSERT_EQUAL(tx(vc, "00708003", &r), 0x6881);
	CU_ASSERT_EQUAL(tx(vc, "03CB3FFF045C027F7100", &r), 0x6881);
	CU_ASSERT_EQUAL(tx(vc, "00708000", &r), 0x6881); /* the basic channel stays */
	CU_ASSERT_EQUAL(tx(vc, "0070010000", &r), 0x6A86);
	/* a new channel has the application selected: GET DATA works at once */
	CU_ASSERT_EQUAL(tx(vc, "01CB3FFF045C027F7100", &r), 0x9000);

	/* one security environment per channel */
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x01, 0x22, 0x41, 0xB6, d, sizeof(d), -1, &r), 0x9000);
	d[5] = 0x82;
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x02, 0x22, 0x41, 0xB6, d, sizeof(d), -1, &r), 0x9000);
	RAND_bytes(hash, sizeof(hash));
	CU_ASSERT_NOT_EQUAL(chan_pso(vc, 0x00, hash, &r), 0x9000); /* channel 0 has none */
	CU_ASSERT_EQUAL(chan_pso(vc, 0x01, hash, &r), 0x9000);
	CU_ASSERT(ecdsa_verify_rs(pub1, r.data, r.len, hash, 32));
	CU_ASSERT_EQUAL(chan_pso(vc, 0x02, hash, &r), 0x9000);
	CU_ASSERT(ecdsa_verify_rs(pub2, r.data, r.len, hash, 32));
	/* a signature whose answer does not fit Le waits for GET RESPONSE on its own channel */
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x01, 0x2A, 0x9E, 0x9A, hash, 32, 16, &r), 0x6130);
	CU_ASSERT_EQUAL(tx(vc, "02C0000030", &r), 0x6985);
	CU_ASSERT_EQUAL(tx(vc, "01C0000030", &r), 0x9000);

	/* two threads sign at once, each on its channel, each with its key */
	for (i = 0; i < 2; i++) {
		memset(&sg[i], 0, sizeof(sg[i]));
		sg[i].vc = vc;
		sg[i].chan = (uint8_t)(i + 1);
		sg[i].pub = i ? pub2 : pub1;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, chan_sign_loop, &sg[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(sg[0].good, 200);
	CU_ASSERT_EQUAL(sg[1].good, 200);
	CU_ASSERT_EQUAL(sg[0].bad + sg[1].bad, 0);

	/* the security status is shared: a logout on channel 0 ends every channel's (and, as on
	 * the basic channel, clears their security environments) */
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	CU_ASSERT_EQUAL(chan_pso(vc, 0x01, hash, &r), 0x6985);
	d[5] = 0x81;
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x01, 0x22, 0x41, 0xB6, d, sizeof(d), -1, &r), 0x6982);
	d[5] = 0x82;
	login(vc);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x02, 0x22, 0x41, 0xB6, d, sizeof(d), -1, &r), 0x9000);
	CU_ASSERT_EQUAL(chan_pso(vc, 0x02, hash, &r), 0x9000);
	/* a reset closes every channel */
	vcard_reset(vc);
	CU_ASSERT_EQUAL(chan_pso(vc, 0x02, hash, &r), 0x6881);
	EVP_PKEY_free(pub1);
	EVP_PKEY_free(pub2);
	vcard_free(vc);
}

static CU_TestInfo rsa_tests[] = {
	{"generate, sign, decipher (1024, 2048)", test_rsa_generate},
	{"RSA 3072 and 4096", test_rsa_large},
	{"RSA import, both integer encodings", test_rsa_import},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo ec_tests[] = {
	{"generate, ECDSA, ECDH, import", test_ec},
	{"logical channels: own environments, shared status, two threads", test_channels},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo file_tests[] = {
	{"create, activate, delete, limits", test_key_files},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo admin_tests[] = {
	{"admin authentication and unblock", test_admin_unblock},
	{"gids-tool --initialize sequence", test_init_sequence},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"rsa", NULL, NULL, NULL, NULL, rsa_tests},
	{"ec", NULL, NULL, NULL, NULL, ec_tests},
	{"key files", NULL, NULL, NULL, NULL, file_tests},
	{"admin", NULL, NULL, NULL, NULL, admin_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-vcard-keys", suites);
}
