/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the hash table and the RSA padding module (src/common/hash.c, pad.c). */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/hash.h"
#include "common/pad.h"
#include "mdp11/keyspec.h"
#include "tests/unit/testutil.h"

static EVP_PKEY *key; /* RSA-2048, made once */

static int
suite_init(void)
{
	key = EVP_RSA_gen(2048);
	return key ? 0 : 1;
}

static int
suite_clean(void)
{
	EVP_PKEY_free(key);
	key = NULL;
	return 0;
}

/* The raw private-key operation the card performs: em -> em^d mod n. */
static void
raw_private(const uint8_t *in, uint8_t *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t len = 256;

	CU_ASSERT_FATAL(ctx != NULL);
	CU_ASSERT_TRUE(EVP_PKEY_decrypt_init(ctx) == 1);
	CU_ASSERT_TRUE(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1);
	CU_ASSERT_TRUE(EVP_PKEY_decrypt(ctx, out, &len, in, 256) == 1);
	CU_ASSERT_EQUAL(len, 256);
	EVP_PKEY_CTX_free(ctx);
}

/* (moved from test-card-registry "hash tables": the facts card modules rely on) */
static void
test_hash_table(void)
{
	const struct mdp_hash_info *hi = mdp_hash_get(mdp_hash_by_calg(MDP_CALG_SHA_256));

	CU_ASSERT(hi && hi->prefix && hi->prefix_len == 19 && hi->prefix[18] == 0x20);
	hi = mdp_hash_get(mdp_hash_by_name("sha1"));
	CU_ASSERT(hi && hi->prefix && hi->prefix_len == 15);
	hi = mdp_hash_get(mdp_hash_by_calg(MDP_CALG_SSL3_SHAMD5));
	CU_ASSERT(hi && !hi->prefix && hi->prefix_len == 0);
	CU_ASSERT_EQUAL(mdp_hash_len(mdp_hash_by_calg(MDP_CALG_SSL3_SHAMD5)), 36);
	CU_ASSERT_EQUAL(mdp_hash_len(mdp_hash_by_name("SHA512")), 64);
	CU_ASSERT_EQUAL(mdp_hash_len(mdp_hash_by_calg(0x1234)), 0);
	CU_ASSERT_EQUAL(mdp_hash_by_name("NOPE"), MDP_HASH_NONE);
	CU_ASSERT_EQUAL(mdp_hash_by_name(NULL), MDP_HASH_NONE);
	CU_ASSERT_EQUAL(mdp_hash_by_calg(0), MDP_HASH_NONE);
	CU_ASSERT_PTR_NULL(mdp_hash_get(MDP_HASH_NONE));
	/* every entry: name and CALG lead back to it, the OpenSSL digest has its length */
	for (int h = MDP_HASH_MD5; h <= MDP_HASH_SSL3_SHAMD5; h++) {
		hi = mdp_hash_get((enum mdp_hash)h);
		CU_ASSERT_PTR_NOT_NULL_FATAL(hi);
		CU_ASSERT_EQUAL(mdp_hash_by_name(hi->name), h);
		if (hi->calg) {
			CU_ASSERT_EQUAL(mdp_hash_by_calg(hi->calg), h);
		}
		if (h == MDP_HASH_SSL3_SHAMD5) {
			CU_ASSERT_PTR_NULL(mdp_hash_md((enum mdp_hash)h));
		} else {
			CU_ASSERT_EQUAL(EVP_MD_get_size(mdp_hash_md((enum mdp_hash)h)),
					(int)hi->len);
		}
		if (hi->prefix) {
			CU_ASSERT_EQUAL(hi->prefix[hi->prefix_len - 1], hi->len);
		}
	}
}

static void
test_pkcs1_sign(void)
{
	uint8_t digest[32], em[256], sig[256];
	EVP_PKEY_CTX *ctx;

	RAND_bytes(digest, sizeof(digest));
	CU_ASSERT_EQUAL(mdp_pad_pkcs1_sign(MDP_HASH_SHA256, digest, 32, em, 256), MDP_OK);
	CU_ASSERT(em[0] == 0x00 && em[1] == 0x01 && em[2] == 0xFF);
	raw_private(em, sig);
	ctx = EVP_PKEY_CTX_new(key, NULL);
	CU_ASSERT_TRUE(EVP_PKEY_verify_init(ctx) == 1);
	EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
	EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
	CU_ASSERT_EQUAL(EVP_PKEY_verify(ctx, sig, 256, digest, 32), 1);
	EVP_PKEY_CTX_free(ctx);
	/* a DigestInfo built by the caller (hash NONE) gives the same block */
	{
		const struct mdp_hash_info *hi = mdp_hash_get(MDP_HASH_SHA256);
		uint8_t t[51], em2[256];

		memcpy(t, hi->prefix, 19);
		memcpy(t + 19, digest, 32);
		CU_ASSERT_EQUAL(mdp_pad_pkcs1_sign(MDP_HASH_NONE, t, sizeof(t), em2, 256), MDP_OK);
		CU_ASSERT_MEM_EQUAL(em, em2, 256);
	}
	CU_ASSERT_EQUAL(mdp_pad_pkcs1_sign(MDP_HASH_SHA256, digest, 31, em, 256), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_pad_pkcs1_sign(MDP_HASH_SSL3_SHAMD5, em, 36, em, 256), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_pad_pkcs1_sign(MDP_HASH_SHA512, em, 64, sig, 74), MDP_ERR_OVERFLOW);
	CU_ASSERT_EQUAL(mdp_pad_pkcs1_sign(MDP_HASH_SHA512, em, 64, sig, 83), MDP_ERR_OVERFLOW);
	CU_ASSERT_EQUAL(mdp_pad_pkcs1_sign(MDP_HASH_SHA512, em, 64, sig, 94), MDP_OK);
}

/* (moved from test-ksp "host-side padding": PSS with another MGF1 hash, OAEP with a label) */
static void
test_pss_oaep(void)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t mhash[32], em[256], sig[256], ct[256], raw[256], msg[40];
	size_t ctlen = sizeof(ct), n = 0;

	RAND_bytes(mhash, sizeof(mhash));
	CU_ASSERT_EQUAL(mdp_pad_pss(MDP_HASH_SHA256, MDP_HASH_SHA1, mhash, 32, 20, 2048, em, 256),
			MDP_OK);
	/* raw private operation on em, then OpenSSL verifies PSS with MGF1-SHA1 */
	raw_private(em, sig);
	ctx = EVP_PKEY_CTX_new(key, NULL);
	CU_ASSERT_TRUE(EVP_PKEY_verify_init(ctx) == 1);
	EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
	EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1());
	EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 20);
	CU_ASSERT_EQUAL(EVP_PKEY_verify(ctx, sig, 256, mhash, 32), 1);
	EVP_PKEY_CTX_free(ctx);
	CU_ASSERT_NOT_EQUAL(
		mdp_pad_pss(MDP_HASH_SHA256, MDP_HASH_SHA1, mhash, 31, 20, 2048, em, 256), MDP_OK);
	CU_ASSERT_NOT_EQUAL(mdp_pad_pss(MDP_HASH_NONE, MDP_HASH_SHA1, mhash, 32, 20, 2048, em, 256),
			    MDP_OK);
	/* emLen >= hLen + sLen + 2 (RFC 8017 §9.1.1) */
	CU_ASSERT_EQUAL(
		mdp_pad_pss(MDP_HASH_SHA256, MDP_HASH_SHA256, mhash, 32, 222, 2048, em, 256),
		MDP_OK);
	CU_ASSERT_EQUAL(
		mdp_pad_pss(MDP_HASH_SHA256, MDP_HASH_SHA256, mhash, 32, 223, 2048, em, 256),
		MDP_ERR_OVERFLOW);
	/* 2047 bits: emBits = 2046, the two top bits cleared */
	CU_ASSERT_EQUAL(mdp_pad_pss(MDP_HASH_SHA256, MDP_HASH_SHA256, mhash, 32, 32, 2047, em, 256),
			MDP_OK);
	CU_ASSERT_EQUAL(em[0] & 0xC0, 0);
	CU_ASSERT_EQUAL(em[255], 0xBC);
	/* 2049 bits: emLen = k - 1, the block starts with 00 */
	{
		uint8_t big[257];

		CU_ASSERT_EQUAL(mdp_pad_pss(MDP_HASH_SHA256, MDP_HASH_SHA256, mhash, 32, 32, 2049,
					    big, sizeof(big)),
				MDP_OK);
		CU_ASSERT_EQUAL(big[0], 0x00);
		CU_ASSERT_EQUAL(big[256], 0xBC);
		CU_ASSERT_EQUAL(mdp_pad_pss(MDP_HASH_SHA256, MDP_HASH_SHA256, mhash, 32, 32, 2049,
					    big, 256),
				MDP_ERR_ARGS);
	}

	/* OAEP SHA-256 / MGF1-SHA-1 with a label */
	memset(msg, 0x33, sizeof(msg));
	ctx = EVP_PKEY_CTX_new(key, NULL);
	EVP_PKEY_encrypt_init(ctx);
	EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
	EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256());
	EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1());
	EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, OPENSSL_memdup("lab", 3), 3);
	CU_ASSERT_EQUAL(EVP_PKEY_encrypt(ctx, ct, &ctlen, msg, sizeof(msg)), 1);
	EVP_PKEY_CTX_free(ctx);
	raw_private(ct, raw);
	CU_ASSERT_EQUAL(mdp_unpad_oaep(MDP_HASH_SHA256, MDP_HASH_SHA1, (const uint8_t *)"lab", 3,
				       raw, 256, em, sizeof(em), &n),
			MDP_OK);
	CU_ASSERT_EQUAL(n, sizeof(msg));
	CU_ASSERT_MEM_EQUAL(em, msg, sizeof(msg));
	CU_ASSERT_EQUAL(mdp_unpad_oaep(MDP_HASH_SHA256, MDP_HASH_SHA1, (const uint8_t *)"lab", 2,
				       raw, 256, em, sizeof(em), &n),
			MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(mdp_unpad_oaep(MDP_HASH_SHA256, MDP_HASH_SHA256, (const uint8_t *)"lab", 3,
				       raw, 256, em, sizeof(em), &n),
			MDP_ERR_FORMAT);
	/* a message longer than the buffer is a failure like any other */
	CU_ASSERT_EQUAL(mdp_unpad_oaep(MDP_HASH_SHA256, MDP_HASH_SHA1, (const uint8_t *)"lab", 3,
				       raw, 256, em, sizeof(msg) - 1, &n),
			MDP_ERR_FORMAT);
	/* arguments are checked before the block is read */
	CU_ASSERT_EQUAL(
		mdp_unpad_oaep(MDP_HASH_NONE, MDP_HASH_SHA1, NULL, 0, raw, 256, em, sizeof(em), &n),
		MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_unpad_oaep(MDP_HASH_SHA512, MDP_HASH_SHA512, NULL, 0, raw, 129, em,
				       sizeof(em), &n),
			MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(
		mdp_unpad_oaep(MDP_HASH_SHA1, MDP_HASH_SHA1, NULL, 3, raw, 256, em, sizeof(em), &n),
		MDP_ERR_ARGS);
}

static void
test_pkcs1_unpad(void)
{
	EVP_PKEY_CTX *ctx;
	uint8_t msg[48], ct[256], raw[256], out[256];
	size_t ctlen = sizeof(ct), n = 99;

	RAND_bytes(msg, sizeof(msg));
	ctx = EVP_PKEY_CTX_new(key, NULL);
	EVP_PKEY_encrypt_init(ctx);
	EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
	CU_ASSERT_EQUAL(EVP_PKEY_encrypt(ctx, ct, &ctlen, msg, sizeof(msg)), 1);
	EVP_PKEY_CTX_free(ctx);
	raw_private(ct, raw);
	CU_ASSERT_EQUAL(mdp_unpad_pkcs1(raw, 256, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_EQUAL(n, sizeof(msg));
	CU_ASSERT_MEM_EQUAL(out, msg, sizeof(msg));
	CU_ASSERT_EQUAL(mdp_unpad_pkcs1(raw, 256, out, sizeof(msg) - 1, &n), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(n, 0);
	raw[1] = 0x01; /* block type 1 */
	CU_ASSERT_EQUAL(mdp_unpad_pkcs1(raw, 256, out, sizeof(out), &n), MDP_ERR_FORMAT);
	raw[1] = 0x02;
	raw[0] = 0x01;
	CU_ASSERT_EQUAL(mdp_unpad_pkcs1(raw, 256, out, sizeof(out), &n), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(mdp_unpad_pkcs1(raw, 10, out, sizeof(out), &n), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_unpad_pkcs1(NULL, 256, out, sizeof(out), &n), MDP_ERR_ARGS);
}

static CU_TestInfo hash_tests[] = {
	{"one table: names, CALG ids, lengths, DigestInfo prefixes", test_hash_table},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo pad_tests[] = {
	{"PKCS#1 v1.5 signature encoding", test_pkcs1_sign},
	{"PSS encoding, OAEP decoding", test_pss_oaep},
	{"PKCS#1 v1.5 decryption unpadding", test_pkcs1_unpad},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"hash", NULL, NULL, NULL, NULL, hash_tests},
	{"padding", suite_init, suite_clean, NULL, NULL, pad_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-pad", suites);
}
