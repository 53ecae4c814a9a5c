/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for src/blob: round trips, Windows test vectors, negative cases, the API. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "blob/blob.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/secmem.h"
#include "tests/unit/testutil.h"

/* ---- keys generated once per run ---- */

enum { K_RSA1024, K_RSA2048, K_RSA3072, K_RSA4096, K_RSA1032, K_P256, K_P384, K_P521, K__COUNT };
static const struct {
	const char *label;
	bool ec;
	unsigned bits;
	const char *curve;
} key_defs[K__COUNT] = {
	{"RSA-1024", false, 1024, NULL}, {"RSA-2048", false, 2048, NULL},
	{"RSA-3072", false, 3072, NULL}, {"RSA-4096", false, 4096, NULL},
	{"RSA-1032", false, 1032, NULL}, {"P-256", true, 256, "P-256"},
	{"P-384", true, 384, "P-384"},	 {"P-521", true, 521, "P-521"},
};
static EVP_PKEY *keys[K__COUNT];

static EVP_PKEY *
gen_rsa(unsigned bits, unsigned long e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn = BN_new();

	if (ctx && bn && BN_set_word(bn, e) && EVP_PKEY_keygen_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) > 0 &&
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) > 0)
		EVP_PKEY_keygen(ctx, &pkey);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static EVP_PKEY *
gen_ec(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

static int
suite_init(void)
{
	int i;

	for (i = 0; i < K__COUNT; i++) {
		keys[i] = key_defs[i].ec ? gen_ec(key_defs[i].curve)
					 : gen_rsa(key_defs[i].bits, 65537);
		if (keys[i] == NULL)
			return 1;
	}
	return 0;
}

static int
suite_clean(void)
{
	int i;

	for (i = 0; i < K__COUNT; i++) {
		EVP_PKEY_free(keys[i]);
		keys[i] = NULL;
	}
	return 0;
}

static struct mdp_key *
wrap(int i)
{
	struct mdp_key *k = NULL;

	CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(keys[i], MDP_AT_NONE, &k), MDP_OK);
	return k;
}

static const enum blob_format rsa_formats[] = {
	BLOB_FMT_CAPI_PUBLIC,	 BLOB_FMT_CAPI_PRIVATE,
	BLOB_FMT_CNG_RSA_PUBLIC, BLOB_FMT_CNG_RSA_PRIVATE,
	BLOB_FMT_CNG_RSA_FULL,	 BLOB_FMT_PKCS8,
	BLOB_FMT_SPKI,		 BLOB_FMT_PEM,
};
static const enum blob_format ec_formats[] = {
	BLOB_FMT_CNG_ECC_PUBLIC,
	BLOB_FMT_CNG_ECC_PRIVATE,
	BLOB_FMT_PKCS8,
	BLOB_FMT_SPKI,
	BLOB_FMT_PEM,
};
#define N_RSA_FMT (sizeof(rsa_formats) / sizeof(rsa_formats[0]))
#define N_EC_FMT (sizeof(ec_formats) / sizeof(ec_formats[0]))

/* Compare one BN parameter of two keys. */
static bool
same_bn(EVP_PKEY *a, EVP_PKEY *b, const char *name)
{
	BIGNUM *x = NULL, *y = NULL;
	bool eq;

	eq = EVP_PKEY_get_bn_param(a, name, &x) && EVP_PKEY_get_bn_param(b, name, &y) &&
	     BN_cmp(x, y) == 0;
	BN_clear_free(x);
	BN_clear_free(y);
	return eq;
}

/* Sign with priv, verify with pub (SHA-256). */
static bool
sign_verify(EVP_PKEY *priv, EVP_PKEY *pub)
{
	static const unsigned char msg[] = "mdp11 blob test";
	EVP_MD_CTX *s = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	bool ok = s && v && EVP_DigestSignInit(s, NULL, EVP_sha256(), NULL, priv) > 0 &&
		  EVP_DigestSign(s, sig, &siglen, msg, sizeof(msg)) > 0 &&
		  EVP_DigestVerifyInit(v, NULL, EVP_sha256(), NULL, pub) > 0 &&
		  EVP_DigestVerify(v, sig, siglen, msg, sizeof(msg)) == 1;

	EVP_MD_CTX_free(s);
	EVP_MD_CTX_free(v);
	return ok;
}

/* ---- round trips ---- */

static void
roundtrip_key(int i)
{
	const enum blob_format *fmts = key_defs[i].ec ? ec_formats : rsa_formats;
	size_t nf = key_defs[i].ec ? N_EC_FMT : N_RSA_FMT, f;
	struct mdp_key *k = wrap(i), *back = NULL, *again = NULL;
	uint8_t *b1 = NULL, *b2 = NULL;
	size_t l1 = 0, l2 = 0;

	for (f = 0; f < nf; f++) {
		enum blob_format fmt = fmts[f];
		bool priv = blob_format_is_private(fmt) || fmt == BLOB_FMT_PEM;
		EVP_PKEY *a, *b;

		CU_ASSERT_EQUAL_FATAL(blob_write(k, fmt, MDP_AT_NONE, &b1, &l1), MDP_OK);
		CU_ASSERT_EQUAL(blob_detect(b1, l1), fmt);
		CU_ASSERT_EQUAL_FATAL(blob_parse(b1, l1, BLOB_FMT_UNKNOWN, 0, &back), MDP_OK);
		CU_ASSERT_EQUAL(mdp_key_source_format(back), fmt);
		CU_ASSERT_EQUAL(mdp_key_is_private(back), priv);
		CU_ASSERT_EQUAL(mdp_key_bits(back), key_defs[i].bits);
		CU_ASSERT_EQUAL(mdp_key_type(back), key_defs[i].ec ? EVP_PKEY_EC : EVP_PKEY_RSA);
		CU_ASSERT_EQUAL(mdp_key_spec(back), mdp_key_spec(k));
		a = mdp_key_pkey(k);
		b = mdp_key_pkey(back);
		CU_ASSERT_EQUAL(EVP_PKEY_eq(a, b), 1);
		if (priv && key_defs[i].ec) {
			CU_ASSERT(same_bn(a, b, OSSL_PKEY_PARAM_PRIV_KEY));
		} else if (priv) {
			static const char *const parts[] = {
				OSSL_PKEY_PARAM_RSA_FACTOR1,	  OSSL_PKEY_PARAM_RSA_FACTOR2,
				OSSL_PKEY_PARAM_RSA_EXPONENT1,	  OSSL_PKEY_PARAM_RSA_EXPONENT2,
				OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
			};
			size_t j;

			for (j = 0; j < 5; j++)
				CU_ASSERT(same_bn(a, b, parts[j]));
			/* RSAPRIVATEBLOB carries no d: ours is computed, and must work. */
			if (fmt != BLOB_FMT_CNG_RSA_PRIVATE)
				CU_ASSERT(same_bn(a, b, OSSL_PKEY_PARAM_RSA_D));
		}
		if (priv && i != K_RSA4096)
			CU_ASSERT(sign_verify(b, a));
		/* The same format given explicitly; and writing the parsed key again is stable. */
		mdp_key_free(back);
		back = NULL;
		CU_ASSERT_EQUAL_FATAL(blob_parse(b1, l1, fmt, 0, &back), MDP_OK);
		CU_ASSERT_EQUAL_FATAL(blob_write(back, fmt, MDP_AT_NONE, &b2, &l2), MDP_OK);
		CU_ASSERT_EQUAL(l1, l2);
		CU_ASSERT(l1 == l2 && memcmp(b1, b2, l1) == 0);
		/* No validation gives the same key. */
		CU_ASSERT_EQUAL(blob_parse(b1, l1, fmt, BLOB_NO_VALIDATION, &again), MDP_OK);
		CU_ASSERT_EQUAL(EVP_PKEY_eq(mdp_key_pkey(again), a), 1);
		mdp_key_free(again);
		again = NULL;
		mdp_key_free(back);
		back = NULL;
		mdp_secure_free(b1, l1);
		mdp_secure_free(b2, l2);
		b1 = b2 = NULL;
	}
	mdp_key_free(k);
}

static void
test_roundtrip_rsa1024(void)
{
	roundtrip_key(K_RSA1024);
}
static void
test_roundtrip_rsa2048(void)
{
	roundtrip_key(K_RSA2048);
}
static void
test_roundtrip_rsa3072(void)
{
	roundtrip_key(K_RSA3072);
}
static void
test_roundtrip_rsa4096(void)
{
	roundtrip_key(K_RSA4096);
}
static void
test_roundtrip_rsa1032(void)
{
	roundtrip_key(K_RSA1032);
}
static void
test_roundtrip_p256(void)
{
	roundtrip_key(K_P256);
}
static void
test_roundtrip_p384(void)
{
	roundtrip_key(K_P384);
}
static void
test_roundtrip_p521(void)
{
	roundtrip_key(K_P521);
}

static size_t
written_len(int i, enum blob_format fmt)
{
	struct mdp_key *k = wrap(i);
	uint8_t *b = NULL;
	size_t l = 0;

	CU_ASSERT_EQUAL(blob_write(k, fmt, MDP_AT_NONE, &b, &l), MDP_OK);
	mdp_secure_free(b, l);
	mdp_key_free(k);
	return l;
}

/* spec/blobs.md §2.2, §2.3, §4, §5 sizes; odd sizes rounded up as OpenSSL does. */
static void
test_sizes(void)
{
	static const struct {
		int key;
		size_t pub, priv;
	} capi[] = {
		{K_RSA1024, 148, 596},	{K_RSA2048, 276, 1172},	    {K_RSA3072, 404, 1748},
		{K_RSA4096, 532, 2324}, {K_RSA1032, 20 + 129, 603},
	};
	size_t i;

	for (i = 0; i < sizeof(capi) / sizeof(capi[0]); i++) {
		CU_ASSERT_EQUAL(written_len(capi[i].key, BLOB_FMT_CAPI_PUBLIC), capi[i].pub);
		CU_ASSERT_EQUAL(written_len(capi[i].key, BLOB_FMT_CAPI_PRIVATE), capi[i].priv);
	}
	CU_ASSERT_EQUAL(written_len(K_RSA2048, BLOB_FMT_CNG_RSA_PUBLIC), 24 + 3 + 256);
	CU_ASSERT_EQUAL(written_len(K_RSA2048, BLOB_FMT_CNG_RSA_PRIVATE), 24 + 3 + 256 + 256);
	CU_ASSERT_EQUAL(written_len(K_RSA2048, BLOB_FMT_CNG_RSA_FULL), 24 + 3 + 2 * 256 + 5 * 128);
	CU_ASSERT_EQUAL(written_len(K_P256, BLOB_FMT_CNG_ECC_PUBLIC), 72);
	CU_ASSERT_EQUAL(written_len(K_P256, BLOB_FMT_CNG_ECC_PRIVATE), 104);
	CU_ASSERT_EQUAL(written_len(K_P384, BLOB_FMT_CNG_ECC_PUBLIC), 104);
	CU_ASSERT_EQUAL(written_len(K_P384, BLOB_FMT_CNG_ECC_PRIVATE), 152);
	CU_ASSERT_EQUAL(written_len(K_P521, BLOB_FMT_CNG_ECC_PUBLIC), 140);
	CU_ASSERT_EQUAL(written_len(K_P521, BLOB_FMT_CNG_ECC_PRIVATE), 206);
}

/* Key specs: CAPI ALG_ID and CNG ECC magic written and read back. */
static void
test_key_specs(void)
{
	struct mdp_key *k = wrap(K_RSA1024), *e = wrap(K_P384), *back = NULL;
	uint8_t *b = NULL;
	size_t l = 0;

	CU_ASSERT_EQUAL(mdp_key_spec(k), MDP_AT_KEYEXCHANGE);
	CU_ASSERT_EQUAL(mdp_key_spec(e), MDP_AT_ECDSA_P384);
	CU_ASSERT_EQUAL_FATAL(blob_write(k, BLOB_FMT_CAPI_PRIVATE, MDP_AT_SIGNATURE, &b, &l),
			      MDP_OK);
	CU_ASSERT(b[4] == 0x00 && b[5] == 0x24 && b[6] == 0 && b[7] == 0);
	CU_ASSERT_EQUAL_FATAL(blob_parse(b, l, BLOB_FMT_UNKNOWN, 0, &back), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_spec(back), MDP_AT_SIGNATURE);
	CU_ASSERT_EQUAL(mdp_key_alg_id(back), MDP_CALG_RSA_SIGN);
	CU_ASSERT_EQUAL(mdp_key_magic(back), 0x32415352u);
	mdp_secure_free(b, l);
	/* MDP_AT_NONE keeps the blob's ALG_ID. */
	CU_ASSERT_EQUAL_FATAL(blob_write(back, BLOB_FMT_CAPI_PUBLIC, MDP_AT_NONE, &b, &l), MDP_OK);
	CU_ASSERT(b[0] == 0x06 && b[5] == 0x24);
	mdp_secure_free(b, l);
	CU_ASSERT_EQUAL(blob_write(back, BLOB_FMT_CAPI_PUBLIC, MDP_AT_KEYEXCHANGE, &b, &l), MDP_OK);
	CU_ASSERT(b[5] == 0xa4);
	mdp_secure_free(b, l);
	mdp_key_free(back);
	back = NULL;
	/* ECDH magic from the key spec, and back. */
	CU_ASSERT_EQUAL_FATAL(blob_write(e, BLOB_FMT_CNG_ECC_PRIVATE, MDP_AT_ECDHE_P384, &b, &l),
			      MDP_OK);
	CU_ASSERT(memcmp(b, "ECK4", 4) == 0);
	CU_ASSERT_EQUAL_FATAL(blob_parse(b, l, BLOB_FMT_UNKNOWN, 0, &back), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_spec(back), MDP_AT_ECDHE_P384);
	mdp_secure_free(b, l);
	CU_ASSERT_EQUAL_FATAL(blob_write(back, BLOB_FMT_CNG_ECC_PUBLIC, MDP_AT_NONE, &b, &l),
			      MDP_OK);
	CU_ASSERT(memcmp(b, "ECK3", 4) == 0);
	mdp_secure_free(b, l);
	CU_ASSERT_EQUAL(blob_write(back, BLOB_FMT_CNG_ECC_PUBLIC, MDP_AT_ECDSA_P384, &b, &l),
			MDP_OK);
	CU_ASSERT(memcmp(b, "ECS3", 4) == 0);
	mdp_secure_free(b, l);
	/* Specs of the wrong family or curve. */
	CU_ASSERT_EQUAL(blob_write(back, BLOB_FMT_CNG_ECC_PUBLIC, MDP_AT_ECDSA_P256, &b, &l),
			MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_write(back, BLOB_FMT_PEM, MDP_AT_SIGNATURE, &b, &l), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_write(k, BLOB_FMT_CAPI_PUBLIC, MDP_AT_ECDSA_P256, &b, &l),
			MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_write(k, BLOB_FMT_CNG_RSA_PUBLIC, MDP_AT_ECDHE_P256, &b, &l),
			MDP_ERR_ARGS);
	mdp_key_free(back);
	mdp_key_free(k);
	mdp_key_free(e);
}

/* ---- Windows test vectors ---- */

static struct mdp_key *
parse_vector(const char *name, enum mdp_err want, uint8_t **raw, size_t *rawlen)
{
	struct mdp_key *k = NULL;
	size_t len = 0;
	uint8_t *p = test_load_vector(name, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(blob_parse(p, len, BLOB_FMT_UNKNOWN, 0, &k), want);
	if (raw) {
		*raw = p;
		*rawlen = len;
	} else {
		free(p);
	}
	return k;
}

/* Raw RSA verification: PKCS#1 v1.5 over a digest, with or without DigestInfo (md NULL). */
static bool
rsa_verify_digest(EVP_PKEY *pkey, const EVP_MD *md, const uint8_t *dgst, size_t dlen,
		  const uint8_t *sig, size_t slen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	bool ok = ctx && EVP_PKEY_verify_init(ctx) > 0 &&
		  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
		  (md == NULL || EVP_PKEY_CTX_set_signature_md(ctx, md) > 0) &&
		  EVP_PKEY_verify(ctx, sig, slen, dgst, dlen) == 1;

	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

static void
test_vector_capi(void)
{
	static const uint8_t msg[12] = "Wine rocks!";
	struct mdp_key *priv, *pub;
	uint8_t *raw = NULL, *out = NULL, *sig = NULL, *sig2 = NULL, *sb = NULL;
	size_t rawlen = 0, outlen = 0, siglen = 0, sig2len = 0, sblen = 0, ptlen = 0;
	uint8_t dgst[20], pt[128];
	EVP_PKEY_CTX *ctx;

	/* Key #1: CAPI PRIVATEKEYBLOB RSA-1024 CALG_RSA_KEYX, rewritten byte for byte. */
	priv = parse_vector("capi_rsa1024_keyx_privatekeyblob", MDP_OK, &raw, &rawlen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(priv);
	CU_ASSERT_EQUAL(mdp_key_spec(priv), MDP_AT_KEYEXCHANGE);
	CU_ASSERT_EQUAL(mdp_key_alg_id(priv), MDP_CALG_RSA_KEYX);
	CU_ASSERT_EQUAL(mdp_key_bits(priv), 1024);
	CU_ASSERT(mdp_key_is_private(priv));
	CU_ASSERT_EQUAL(blob_write(priv, BLOB_FMT_CAPI_PRIVATE, MDP_AT_NONE, &out, &outlen),
			MDP_OK);
	CU_ASSERT(outlen == rawlen && memcmp(out, raw, rawlen) == 0);
	CU_ASSERT(sign_verify(mdp_key_pkey(priv), mdp_key_pkey(priv)));
	mdp_secure_free(out, outlen);
	free(raw);

	/* The SIMPLEBLOB wrapped to key #1 decrypts (little-endian ciphertext) to a session key. */
	sb = test_load_vector("capi_simpleblob_rc4", &sblen);
	CU_ASSERT_FATAL(sb != NULL && sblen >= 12 + 128);
	CU_ASSERT_EQUAL(blob_detect(sb, sblen), BLOB_FMT_UNKNOWN);
	mdp_reverse(sb + 12, 128);
	ctx = EVP_PKEY_CTX_new(mdp_key_pkey(priv), NULL);
	ptlen = sizeof(pt);
	CU_ASSERT(ctx && EVP_PKEY_decrypt_init(ctx) > 0 &&
		  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
		  EVP_PKEY_decrypt(ctx, pt, &ptlen, sb + 12, 128) > 0);
	CU_ASSERT(ptlen > 0 && ptlen <= 16);
	EVP_PKEY_CTX_free(ctx);
	free(sb);

	/* Key #2: PUBLICKEYBLOB CALG_RSA_SIGN; its SHA-1 signatures over "Wine rocks!\0". */
	pub = parse_vector("capi_rsa1024_sign_publickeyblob", MDP_OK, &raw, &rawlen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_EQUAL(mdp_key_spec(pub), MDP_AT_SIGNATURE);
	CU_ASSERT_EQUAL(mdp_key_alg_id(pub), MDP_CALG_RSA_SIGN);
	CU_ASSERT_FALSE(mdp_key_is_private(pub));
	CU_ASSERT_EQUAL(blob_write(pub, BLOB_FMT_CAPI_PUBLIC, MDP_AT_NONE, &out, &outlen), MDP_OK);
	CU_ASSERT(outlen == rawlen && memcmp(out, raw, rawlen) == 0);
	mdp_secure_free(out, outlen);
	free(raw);
	EVP_Digest(msg, sizeof(msg), dgst, NULL, EVP_sha1(), NULL);
	sig = test_load_vector("capi_rsa1024_sha1_signature_le", &siglen);
	sig2 = test_load_vector("capi_rsa1024_sha1_nooid_signature_le", &sig2len);
	CU_ASSERT_FATAL(sig && sig2 && siglen == 128 && sig2len == 128);
	/* Little-endian as CAPI gives it: verifies only once reversed to big-endian. */
	CU_ASSERT_FALSE(rsa_verify_digest(mdp_key_pkey(pub), EVP_sha1(), dgst, 20, sig, siglen));
	mdp_reverse(sig, siglen);
	mdp_reverse(sig2, sig2len);
	CU_ASSERT(rsa_verify_digest(mdp_key_pkey(pub), EVP_sha1(), dgst, 20, sig, siglen));
	CU_ASSERT(rsa_verify_digest(mdp_key_pkey(pub), NULL, dgst, 20, sig2, sig2len));
	CU_ASSERT_FALSE(rsa_verify_digest(mdp_key_pkey(priv), EVP_sha1(), dgst, 20, sig, siglen));
	free(sig);
	free(sig2);
	mdp_key_free(pub);
	mdp_key_free(priv);
}

static void
test_vector_cng_rsa(void)
{
	struct mdp_key *pub, *priv, *full;
	uint8_t *raw = NULL, *out = NULL, *dg = NULL, *sig = NULL, *praw = NULL;
	size_t rawlen = 0, outlen = 0, dglen = 0, siglen = 0, prawlen = 0;

	pub = parse_vector("cng_rsa2048_rsapublicblob", MDP_OK, &raw, &rawlen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_EQUAL(mdp_key_source_format(pub), BLOB_FMT_CNG_RSA_PUBLIC);
	CU_ASSERT_EQUAL(mdp_key_bits(pub), 2048);
	CU_ASSERT_EQUAL(blob_write(pub, BLOB_FMT_CNG_RSA_PUBLIC, MDP_AT_NONE, &out, &outlen),
			MDP_OK);
	CU_ASSERT(outlen == rawlen && memcmp(out, raw, rawlen) == 0);
	mdp_secure_free(out, outlen);
	free(raw);
	dg = test_load_vector("cng_rsa2048_sha1_digest", &dglen);
	sig = test_load_vector("cng_rsa2048_pkcs1_sha1_signature_be", &siglen);
	CU_ASSERT_FATAL(dg && sig);
	CU_ASSERT(rsa_verify_digest(mdp_key_pkey(pub), EVP_sha1(), dg, dglen, sig, siglen));
	sig[siglen - 1] ^= 1;
	CU_ASSERT_FALSE(rsa_verify_digest(mdp_key_pkey(pub), EVP_sha1(), dg, dglen, sig, siglen));
	free(dg);
	free(sig);
	mdp_key_free(pub);

	/* RSA-512: RSAPRIVATEBLOB and RSAFULLPRIVATEBLOB of the same key. */
	priv = parse_vector("cng_rsa512_rsaprivateblob", MDP_OK, &praw, &prawlen);
	full = parse_vector("cng_rsa512_rsafullprivateblob", MDP_OK, &raw, &rawlen);
	CU_ASSERT_FATAL(priv && full);
	CU_ASSERT_EQUAL(mdp_key_source_format(priv), BLOB_FMT_CNG_RSA_PRIVATE);
	CU_ASSERT_EQUAL(mdp_key_source_format(full), BLOB_FMT_CNG_RSA_FULL);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(mdp_key_pkey(priv), mdp_key_pkey(full)), 1);
	CU_ASSERT(same_bn(mdp_key_pkey(priv), mdp_key_pkey(full), OSSL_PKEY_PARAM_RSA_FACTOR1));
	CU_ASSERT(same_bn(mdp_key_pkey(priv), mdp_key_pkey(full), OSSL_PKEY_PARAM_RSA_FACTOR2));
	CU_ASSERT(same_bn(mdp_key_pkey(priv), mdp_key_pkey(full), OSSL_PKEY_PARAM_RSA_EXPONENT1));
	CU_ASSERT(same_bn(mdp_key_pkey(priv), mdp_key_pkey(full), OSSL_PKEY_PARAM_RSA_EXPONENT2));
	CU_ASSERT(
		same_bn(mdp_key_pkey(priv), mdp_key_pkey(full), OSSL_PKEY_PARAM_RSA_COEFFICIENT1));
	CU_ASSERT(sign_verify(mdp_key_pkey(priv), mdp_key_pkey(full)));
	CU_ASSERT(sign_verify(mdp_key_pkey(full), mdp_key_pkey(priv)));
	CU_ASSERT_EQUAL(blob_write(full, BLOB_FMT_CNG_RSA_FULL, MDP_AT_NONE, &out, &outlen),
			MDP_OK);
	CU_ASSERT(outlen == rawlen && memcmp(out, raw, rawlen) == 0);
	mdp_secure_free(out, outlen);
	CU_ASSERT_EQUAL(blob_write(full, BLOB_FMT_CNG_RSA_PRIVATE, MDP_AT_NONE, &out, &outlen),
			MDP_OK);
	CU_ASSERT(outlen == prawlen && memcmp(out, praw, prawlen) == 0);
	mdp_secure_free(out, outlen);
	/* An RSAPRIVATEBLOB is the full blob's prefix except for the magic (§4). */
	CU_ASSERT(memcmp(raw + 4, praw + 4, prawlen - 4) == 0);
	free(raw);
	free(praw);
	mdp_key_free(priv);
	mdp_key_free(full);
}

static void
test_vector_ecdsa(void)
{
	struct mdp_key *priv, *pub;
	uint8_t *raw = NULL, *out = NULL, *dg = NULL, *rs = NULL, *der = NULL;
	size_t rawlen = 0, outlen = 0, dglen = 0, rslen = 0;
	ECDSA_SIG *es = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int derlen;

	priv = parse_vector("cng_ecdsa_p256_eccprivateblob", MDP_OK, &raw, &rawlen);
	pub = parse_vector("cng_ecdsa_p256_eccpublicblob", MDP_OK, NULL, NULL);
	CU_ASSERT_FATAL(priv && pub);
	CU_ASSERT_EQUAL(mdp_key_spec(priv), MDP_AT_ECDSA_P256);
	CU_ASSERT_EQUAL(mdp_key_spec(pub), MDP_AT_ECDSA_P256);
	CU_ASSERT_EQUAL(mdp_key_ec_nid(priv), NID_X9_62_prime256v1);
	CU_ASSERT_STRING_EQUAL(mdp_key_curve_name(priv), "P-256");
	CU_ASSERT_EQUAL(mdp_key_ec_field_len(priv), 32);
	CU_ASSERT_EQUAL(blob_write(priv, BLOB_FMT_CNG_ECC_PRIVATE, MDP_AT_NONE, &out, &outlen),
			MDP_OK);
	CU_ASSERT(outlen == rawlen && memcmp(out, raw, rawlen) == 0);
	mdp_secure_free(out, outlen);
	free(raw);
	/* The vector's r||s over its digest verifies with the public blob's key. */
	dg = test_load_vector("cng_ecdsa_p256_digest", &dglen);
	rs = test_load_vector("cng_ecdsa_p256_signature_rs", &rslen);
	CU_ASSERT_FATAL(dg && rs && rslen == 64);
	es = ECDSA_SIG_new();
	CU_ASSERT_FATAL(es != NULL);
	ECDSA_SIG_set0(es, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
	derlen = i2d_ECDSA_SIG(es, &der);
	CU_ASSERT_FATAL(derlen > 0);
	ctx = EVP_PKEY_CTX_new(mdp_key_pkey(pub), NULL);
	CU_ASSERT(ctx && EVP_PKEY_verify_init(ctx) > 0 &&
		  EVP_PKEY_verify(ctx, der, (size_t)derlen, dg, dglen) == 1);
	EVP_PKEY_CTX_free(ctx);
	dg[0] ^= 1;
	ctx = EVP_PKEY_CTX_new(mdp_key_pkey(pub), NULL);
	CU_ASSERT(ctx && EVP_PKEY_verify_init(ctx) > 0 &&
		  EVP_PKEY_verify(ctx, der, (size_t)derlen, dg, dglen) != 1);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	/* The private blob (another key than the public one in Wine's test) signs and verifies. */
	CU_ASSERT(sign_verify(mdp_key_pkey(priv), mdp_key_pkey(priv)));
	CU_ASSERT_FALSE(sign_verify(mdp_key_pkey(priv), mdp_key_pkey(pub)));
	ERR_clear_error();
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	free(dg);
	free(rs);
	mdp_key_free(priv);
	mdp_key_free(pub);
}

static void
test_vector_ecdh(void)
{
	struct mdp_key *priv, *peer;
	uint8_t *raw_le = NULL, *kdf = NULL;
	size_t raw_len = 0, kdf_len = 0, slen = 0;
	uint8_t secret[32], sha[20];
	EVP_PKEY_CTX *ctx;

	priv = parse_vector("cng_ecdh_p256_eccprivateblob", MDP_OK, NULL, NULL);
	peer = parse_vector("cng_ecdh_p256_eccpublicblob_peer", MDP_OK, NULL, NULL);
	CU_ASSERT_FATAL(priv && peer);
	CU_ASSERT_EQUAL(mdp_key_spec(priv), MDP_AT_ECDHE_P256);
	CU_ASSERT_EQUAL(mdp_key_spec(peer), MDP_AT_ECDHE_P256);
	CU_ASSERT_EQUAL(mdp_key_magic(priv), 0x324B4345u);
	ctx = EVP_PKEY_CTX_new(mdp_key_pkey(priv), NULL);
	slen = sizeof(secret);
	CU_ASSERT_FATAL(ctx && EVP_PKEY_derive_init(ctx) > 0 &&
			EVP_PKEY_derive_set_peer(ctx, mdp_key_pkey(peer)) > 0 &&
			EVP_PKEY_derive(ctx, secret, &slen) > 0 && slen == 32);
	EVP_PKEY_CTX_free(ctx);
	raw_le = test_load_vector("cng_ecdh_p256_raw_secret_le", &raw_len);
	kdf = test_load_vector("cng_ecdh_p256_kdf_hash_sha1", &kdf_len);
	CU_ASSERT_FATAL(raw_le && kdf && raw_len == 32 && kdf_len == 20);
	EVP_Digest(secret, 32, sha, NULL, EVP_sha1(), NULL);
	CU_ASSERT(memcmp(sha, kdf, 20) == 0);
	mdp_reverse(secret, 32);
	CU_ASSERT(memcmp(secret, raw_le, 32) == 0);
	free(raw_le);
	free(kdf);
	mdp_key_free(priv);
	mdp_key_free(peer);
}

static void
test_vector_dss_refused(void)
{
	struct mdp_key *k =
		parse_vector("capi_dss1024_privatekeyblob_v2", MDP_ERR_UNSUPPORTED, NULL, NULL);

	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "DSS"));
}

/* ---- negative cases ---- */

static uint8_t *
make(int i, enum blob_format fmt, enum mdp_key_spec spec, size_t *len)
{
	struct mdp_key *k = wrap(i);
	uint8_t *b = NULL;

	CU_ASSERT_EQUAL_FATAL(blob_write(k, fmt, spec, &b, len), MDP_OK);
	mdp_key_free(k);
	return b;
}

static enum mdp_err
try_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags)
{
	struct mdp_key *k = NULL;
	enum mdp_err rv = blob_parse(p, len, fmt, flags, &k);

	CU_ASSERT((rv == MDP_OK) == (k != NULL));
	mdp_key_free(k);
	return rv;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Every prefix of a valid blob of each format fails cleanly (copied: ASan sees over-reads). */
static void
test_truncation(void)
{
	static const struct {
		int key;
		enum blob_format fmt;
	} cases[] = {
		{K_RSA1024, BLOB_FMT_CAPI_PUBLIC},
		{K_RSA1024, BLOB_FMT_CAPI_PRIVATE},
		{K_RSA1024, BLOB_FMT_CNG_RSA_PUBLIC},
		{K_RSA1024, BLOB_FMT_CNG_RSA_PRIVATE},
		{K_RSA1024, BLOB_FMT_CNG_RSA_FULL},
		{K_P521, BLOB_FMT_CNG_ECC_PUBLIC},
		{K_P256, BLOB_FMT_CNG_ECC_PRIVATE},
		{K_RSA1024, BLOB_FMT_PKCS8},
		{K_P384, BLOB_FMT_PKCS8},
		{K_RSA1024, BLOB_FMT_SPKI},
		{K_P256, BLOB_FMT_SPKI},
		{K_RSA1024, BLOB_FMT_PEM},
		{K_P256, BLOB_FMT_PEM},
	};
	size_t c, n, len = 0;
	uint8_t *full, *cut;
	unsigned bad = 0;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		full = make(cases[c].key, cases[c].fmt, MDP_AT_NONE, &len);
		/* PEM: only the final newline is optional. */
		for (n = 0; n < (cases[c].fmt == BLOB_FMT_PEM ? len - 1 : len); n++) {
			cut = malloc(n ? n : 1);
			memcpy(cut, full, n);
			if (try_parse(cut, n, BLOB_FMT_UNKNOWN, 0) == MDP_OK ||
			    try_parse(cut, n, cases[c].fmt, BLOB_FMT_UNKNOWN) == MDP_OK)
				bad++;
			free(cut);
		}
		mdp_secure_free(full, len);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* One byte more is an error for the binary formats. */
static void
test_trailing_bytes(void)
{
	static const struct {
		int key;
		enum blob_format fmt;
	} cases[] = {
		{K_RSA1024, BLOB_FMT_CAPI_PUBLIC},
		{K_RSA1024, BLOB_FMT_CAPI_PRIVATE},
		{K_RSA1024, BLOB_FMT_CNG_RSA_PUBLIC},
		{K_RSA1024, BLOB_FMT_CNG_RSA_PRIVATE},
		{K_RSA1024, BLOB_FMT_CNG_RSA_FULL},
		{K_P256, BLOB_FMT_CNG_ECC_PUBLIC},
		{K_P256, BLOB_FMT_CNG_ECC_PRIVATE},
		{K_RSA1024, BLOB_FMT_PKCS8},
		{K_P256, BLOB_FMT_SPKI},
	};
	size_t c, len = 0;
	uint8_t *full, *longer;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		full = make(cases[c].key, cases[c].fmt, MDP_AT_NONE, &len);
		longer = calloc(1, len + 1);
		memcpy(longer, full, len);
		CU_ASSERT_NOT_EQUAL(try_parse(longer, len + 1, BLOB_FMT_UNKNOWN, 0), MDP_OK);
		CU_ASSERT_NOT_EQUAL(try_parse(longer, len + 1, cases[c].fmt, 0), MDP_OK);
		free(longer);
		mdp_secure_free(full, len);
	}
	full = make(K_RSA1024, BLOB_FMT_CAPI_PRIVATE, MDP_AT_NONE, &len);
	longer = calloc(1, len + 4);
	memcpy(longer, full, len);
	CU_ASSERT_EQUAL(try_parse(longer, len + 4, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(mdp_err_last(),
			       "CAPI PRIVATEKEYBLOB: 600 bytes, expected 596 for bitlen 1024");
	free(longer);
	mdp_secure_free(full, len);
}

/* Flipping any header byte of a private blob makes it fail. */
static void
test_header_flips(void)
{
	static const struct {
		int key;
		enum blob_format fmt;
		size_t hdr;
	} cases[] = {
		{K_RSA1024, BLOB_FMT_CAPI_PRIVATE, 20},
		{K_RSA1024, BLOB_FMT_CNG_RSA_PRIVATE, 24},
		{K_RSA1024, BLOB_FMT_CNG_RSA_FULL, 24},
		{K_P256, BLOB_FMT_CNG_ECC_PRIVATE, 8},
	};
	size_t c, i, len = 0;
	uint8_t *b;
	unsigned bad = 0;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		b = make(cases[c].key, cases[c].fmt, MDP_AT_NONE, &len);
		for (i = 0; i < cases[c].hdr; i++) {
			b[i] ^= 0xff;
			if (try_parse(b, len, BLOB_FMT_UNKNOWN, 0) == MDP_OK ||
			    try_parse(b, len, cases[c].fmt, 0) == MDP_OK)
				bad++;
			b[i] ^= 0xff;
		}
		CU_ASSERT_EQUAL(try_parse(b, len, cases[c].fmt, 0), MDP_OK);
		mdp_secure_free(b, len);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* Public blobs: every flip either fails or gives a valid key; never a crash. */
	b = make(K_RSA1024, BLOB_FMT_CAPI_PUBLIC, MDP_AT_NONE, &len);
	for (i = 0; i < 20; i++) {
		b[i] ^= 0xff;
		try_parse(b, len, BLOB_FMT_UNKNOWN, 0);
		b[i] ^= 0xff;
	}
	mdp_secure_free(b, len);
}

static void
test_capi_negative(void)
{
	size_t len = 0;
	uint8_t *b = make(K_RSA1024, BLOB_FMT_CAPI_PRIVATE, MDP_AT_NONE, &len);
	uint8_t *pb;
	size_t plen = 0;

	/* Wrong magic for the type. */
	put_le32(b + 8, 0x31415352u);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "expected \"RSA2\""));
	put_le32(b + 8, 0x32415352u);
	/* Format asked for does not match bType. */
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_CAPI_PUBLIC, 0), MDP_ERR_FORMAT);
	/* bVersion 3, reserved, aiKeyAlg. */
	b[1] = 3;
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_UNSUPPORTED);
	b[1] = 2;
	b[2] = 1;
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	b[2] = 0;
	put_le32(b + 4, 0);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(b + 4, MDP_CALG_RSA_KEYX);
	/* bitlen: absurd values are refused before any size arithmetic. */
	put_le32(b + 12, 0xffffffffu);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_UNSUPPORTED);
	put_le32(b + 12, 0);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_UNSUPPORTED);
	put_le32(b + 12, 1024);
	/* Even exponent, exponent 1. */
	put_le32(b + 16, 65536);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_INVALID_KEY);
	put_le32(b + 16, 1);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_INVALID_KEY);
	put_le32(b + 16, 65537);
	/* A damaged prime: the pair check catches it, BLOB_NO_VALIDATION skips only that. */
	b[20 + 128] ^= 0x02;
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_INVALID_KEY);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, BLOB_NO_VALIDATION), MDP_OK);
	b[20 + 128] ^= 0x02;
	/* A damaged d. */
	b[len - 10] ^= 0x40;
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_INVALID_KEY);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, BLOB_NO_VALIDATION), MDP_OK);
	b[len - 10] ^= 0x40;
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_OK);
	mdp_secure_free(b, len);

	/* Bit length disagreeing with the data: top byte of the modulus cleared. */
	pb = make(K_RSA1024, BLOB_FMT_CAPI_PUBLIC, MDP_AT_NONE, &plen);
	pb[20 + 127] = 0;
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "disagrees"));
	/* An even modulus. */
	pb[20 + 127] = 0xff;
	pb[20] &= 0xfe;
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_INVALID_KEY);
	/* bitlen changed: the size no longer matches. */
	put_le32(pb + 12, 1016);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	/* Other bTypes. */
	pb[0] = 0x01;
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_CAPI_PUBLIC, 0), MDP_ERR_FORMAT);
	mdp_secure_free(pb, plen);
}

static void
test_capi_exponent_overflow(void)
{
	EVP_PKEY *big = gen_rsa(1024, 0x100000001ul);
	struct mdp_key *k = NULL, *back = NULL;
	uint8_t *b = NULL;
	size_t l = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(big, MDP_AT_NONE, &k), MDP_OK);
	CU_ASSERT_EQUAL(blob_write(k, BLOB_FMT_CAPI_PUBLIC, MDP_AT_NONE, &b, &l), MDP_ERR_OVERFLOW);
	CU_ASSERT_EQUAL(blob_write(k, BLOB_FMT_CAPI_PRIVATE, MDP_AT_NONE, &b, &l),
			MDP_ERR_OVERFLOW);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "32"));
	/* CNG takes it (5 bytes). */
	CU_ASSERT_EQUAL_FATAL(blob_write(k, BLOB_FMT_CNG_RSA_FULL, MDP_AT_NONE, &b, &l), MDP_OK);
	CU_ASSERT_EQUAL(b[8], 5);
	CU_ASSERT_EQUAL(blob_parse(b, l, BLOB_FMT_UNKNOWN, 0, &back), MDP_OK);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(mdp_key_pkey(back), big), 1);
	mdp_secure_free(b, l);
	mdp_key_free(back);
	mdp_key_free(k);
	EVP_PKEY_free(big);
}

static void
test_cng_rsa_negative(void)
{
	size_t len = 0, plen = 0;
	uint8_t *b = make(K_RSA1024, BLOB_FMT_CNG_RSA_FULL, MDP_AT_NONE, &len);
	uint8_t *pb = make(K_RSA1024, BLOB_FMT_CNG_RSA_PUBLIC, MDP_AT_NONE, &plen);

	/* Magic not matching the format asked for (Windows: NTE_INVALID_PARAMETER). */
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_CNG_RSA_PRIVATE, 0), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_CNG_RSA_FULL, 0), MDP_ERR_FORMAT);
	/* cbPublicExp 9 (Windows: NTE_BAD_DATA), 0, huge. */
	put_le32(pb + 8, 9);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(pb + 8, 0);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(pb + 8, 0xfffffffdu);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(pb + 8, 3);
	/* cbModulus huge / not matching BitLength. */
	put_le32(pb + 12, 0xffffffffu);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(pb + 12, 127);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(pb + 12, 128);
	/* BitLength 1023 with a 1024-bit modulus. */
	put_le32(pb + 4, 1023);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "disagrees"));
	put_le32(pb + 4, 1024);
	/* Primes announced in a public blob. */
	put_le32(pb + 16, 64);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(pb + 16, 0);
	/* One byte short / long (Windows: NTE_BAD_DATA). */
	CU_ASSERT_EQUAL(try_parse(pb, plen - 1, BLOB_FMT_UNKNOWN, 0), MDP_ERR_TRUNCATED);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_OK);
	/* Private: cbPrime overflowing, zero, larger than the modulus. */
	put_le32(b + 16, 0xffffffffu);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(b + 16, 0);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(b + 16, 129);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(b + 16, 64);
	/* Damaged coefficient: pair check only. */
	b[len - 128 - 5] ^= 0x01;
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_INVALID_KEY);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, BLOB_NO_VALIDATION), MDP_OK);
	b[len - 128 - 5] ^= 0x01;
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_OK);
	/* A wrong magic altogether. */
	memcpy(b, "RSA4", 4);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_CNG_RSA_FULL, 0), MDP_ERR_FORMAT);
	mdp_secure_free(b, len);
	mdp_secure_free(pb, plen);
	/* An RSAPRIVATEBLOB whose primes do not make n: refused (d cannot be checked). */
	b = make(K_RSA1024, BLOB_FMT_CNG_RSA_PRIVATE, MDP_AT_NONE, &len);
	b[len - 1] ^= 0x04;
	CU_ASSERT_NOT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_OK);
	mdp_secure_free(b, len);
}

static void
test_cng_ecc_negative(void)
{
	size_t len = 0, plen = 0;
	uint8_t *b = make(K_P256, BLOB_FMT_CNG_ECC_PRIVATE, MDP_AT_NONE, &len);
	uint8_t *pb = make(K_P521, BLOB_FMT_CNG_ECC_PUBLIC, MDP_AT_ECDHE_P521, &plen);
	static const char *const generic[] = {"ECKP", "ECKV", "ECDP", "ECDV"};
	size_t i;

	CU_ASSERT(memcmp(pb, "ECK5", 4) == 0);
	/* cbKey not matching the curve; absurd cbKey. */
	put_le32(b + 4, 33);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(b + 4, 0xffffffffu);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(b + 4, 32);
	put_le32(pb + 4, 64);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	put_le32(pb + 4, 66);
	/* A P-384 magic on P-256-sized data. */
	memcpy(b, "ECS4", 4);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	/* Private magic where public was asked for, and the reverse. */
	memcpy(b, "ECS2", 4);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_CNG_ECC_PUBLIC, 0), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_CNG_ECC_PRIVATE, 0), MDP_ERR_FORMAT);
	/* Public magic on a private-sized blob. */
	memcpy(b, "ECS1", 4);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	memcpy(b, "ECS2", 4);
	/* Generic magics: recognised, refused as unsupported. */
	for (i = 0; i < 4; i++) {
		uint8_t save[4];

		memcpy(save, b, 4);
		memcpy(b, generic[i], 4);
		CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_UNSUPPORTED);
		memcpy(b, save, 4);
	}
	/* Point off the curve: refused even without validation. */
	b[8 + 63] ^= 0x01;
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_INVALID_KEY);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, BLOB_NO_VALIDATION),
			MDP_ERR_INVALID_KEY);
	b[8 + 63] ^= 0x01;
	/* d not matching Q: the pair check. */
	b[len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, 0), MDP_ERR_INVALID_KEY);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, BLOB_NO_VALIDATION), MDP_OK);
	b[len - 1] ^= 0x01;
	/* d = 0 and d >= order: range checks, always. */
	memset(b + 8 + 64, 0, 32);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, BLOB_NO_VALIDATION),
			MDP_ERR_INVALID_KEY);
	memset(b + 8 + 64, 0xff, 32);
	CU_ASSERT_EQUAL(try_parse(b, len, BLOB_FMT_UNKNOWN, BLOB_NO_VALIDATION),
			MDP_ERR_INVALID_KEY);
	/* X beyond the field (P-521: the top 7 bits must be zero). */
	pb[8] = 0xff;
	CU_ASSERT_EQUAL(try_parse(pb, plen, BLOB_FMT_UNKNOWN, 0), MDP_ERR_INVALID_KEY);
	mdp_secure_free(b, len);
	mdp_secure_free(pb, plen);
}

static void
test_der_pem_negative(void)
{
	EVP_PKEY *rsa = keys[K_RSA1024], *ec = keys[K_P256];
	struct mdp_key *k = NULL;
	BIO *bio;
	BUF_MEM *mem;
	unsigned char *der = NULL;
	int dlen;
	char pem2[8192];
	size_t n1, n2;
	uint8_t *a, *b;

	/* Traditional DER (PKCS#1, SEC1). */
	dlen = i2d_PrivateKey(rsa, &der);
	CU_ASSERT_FATAL(dlen > 0);
	CU_ASSERT_EQUAL(blob_detect(der, (size_t)dlen), BLOB_FMT_TRADITIONAL);
	CU_ASSERT_EQUAL_FATAL(blob_parse(der, (size_t)dlen, BLOB_FMT_UNKNOWN, 0, &k), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_source_format(k), BLOB_FMT_TRADITIONAL);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(mdp_key_pkey(k), rsa), 1);
	mdp_key_free(k);
	k = NULL;
	CU_ASSERT_EQUAL(try_parse(der, (size_t)dlen, BLOB_FMT_PKCS8, 0), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(try_parse(der, (size_t)dlen, BLOB_FMT_TRADITIONAL, 0), MDP_OK);
	OPENSSL_free(der);
	der = NULL;
	dlen = i2d_PrivateKey(ec, &der);
	CU_ASSERT_FATAL(dlen > 0);
	CU_ASSERT_EQUAL_FATAL(blob_parse(der, (size_t)dlen, BLOB_FMT_TRADITIONAL, 0, &k), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_spec(k), MDP_AT_ECDSA_P256);
	mdp_key_free(k);
	k = NULL;
	OPENSSL_free(der);
	der = NULL;

	/* Encrypted PKCS#8, PEM and DER: unsupported. */
	bio = BIO_new(BIO_s_mem());
	CU_ASSERT_FATAL(PEM_write_bio_PKCS8PrivateKey(bio, rsa, EVP_aes_128_cbc(), NULL, 0, NULL,
						      (void *)"secret") == 1);
	BIO_get_mem_ptr(bio, &mem);
	CU_ASSERT_EQUAL(try_parse((uint8_t *)mem->data, mem->length, BLOB_FMT_UNKNOWN, 0),
			MDP_ERR_UNSUPPORTED);
	BIO_free(bio);
	bio = BIO_new(BIO_s_mem());
	CU_ASSERT_FATAL(i2d_PKCS8PrivateKey_bio(bio, rsa, EVP_aes_128_cbc(), NULL, 0, NULL,
						(void *)"secret") == 1);
	BIO_get_mem_ptr(bio, &mem);
	CU_ASSERT_EQUAL(try_parse((uint8_t *)mem->data, mem->length, BLOB_FMT_UNKNOWN, 0),
			MDP_ERR_UNSUPPORTED);
	BIO_free(bio);
	/* Legacy encrypted traditional PEM. */
	bio = BIO_new(BIO_s_mem());
	CU_ASSERT_FATAL(PEM_write_bio_PrivateKey_traditional(bio, ec, EVP_aes_128_cbc(),
							     (unsigned char *)"secret", 6, NULL,
							     NULL) == 1);
	BIO_get_mem_ptr(bio, &mem);
	CU_ASSERT_EQUAL(try_parse((uint8_t *)mem->data, mem->length, BLOB_FMT_UNKNOWN, 0),
			MDP_ERR_UNSUPPORTED);
	BIO_free(bio);

	/* Two keys in one PEM: refused. EC PARAMETERS before a key: accepted. */
	a = make(K_RSA1024, BLOB_FMT_PEM, MDP_AT_NONE, &n1);
	b = make(K_P256, BLOB_FMT_SPKI, MDP_AT_NONE, &n2);
	mdp_secure_free(b, n2);
	b = make(K_P256, BLOB_FMT_PEM, MDP_AT_NONE, &n2);
	CU_ASSERT_FATAL(n1 + n2 < sizeof(pem2));
	memcpy(pem2, a, n1);
	memcpy(pem2 + n1, b, n2);
	CU_ASSERT_EQUAL(try_parse((uint8_t *)pem2, n1 + n2, BLOB_FMT_UNKNOWN, 0), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(try_parse((uint8_t *)pem2, n1 + n2, BLOB_FMT_TRADITIONAL, 0),
			MDP_ERR_FORMAT);
	mdp_secure_free(a, n1);
	mdp_secure_free(b, n2);
	bio = BIO_new(BIO_s_mem());
	/* What "openssl ecparam -genkey -name prime256v1" writes first. */
	BIO_puts(bio,
		 "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n");
	CU_ASSERT(PEM_write_bio_PrivateKey_traditional(bio, ec, NULL, NULL, 0, NULL, NULL) == 1);
	BIO_get_mem_ptr(bio, &mem);
	CU_ASSERT_EQUAL(blob_detect((uint8_t *)mem->data, mem->length), BLOB_FMT_TRADITIONAL);
	CU_ASSERT_EQUAL_FATAL(
		blob_parse((uint8_t *)mem->data, mem->length, BLOB_FMT_UNKNOWN, 0, &k), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_source_format(k), BLOB_FMT_TRADITIONAL);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(mdp_key_pkey(k), ec), 1);
	mdp_key_free(k);
	k = NULL;
	BIO_free(bio);

	/* SPKI where PKCS#8 was asked for, and unknown key types. */
	a = make(K_P256, BLOB_FMT_SPKI, MDP_AT_NONE, &n1);
	CU_ASSERT_EQUAL(try_parse(a, n1, BLOB_FMT_PKCS8, 0), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(try_parse(a, n1, BLOB_FMT_PEM, 0), MDP_ERR_FORMAT);
	mdp_secure_free(a, n1);
	{
		EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

		CU_ASSERT_FATAL(ed != NULL);
		dlen = i2d_PUBKEY(ed, &der);
		CU_ASSERT_EQUAL(try_parse(der, (size_t)dlen, BLOB_FMT_UNKNOWN, 0),
				MDP_ERR_UNSUPPORTED);
		OPENSSL_free(der);
		der = NULL;
		CU_ASSERT_EQUAL(mdp_key_from_pkey(ed, MDP_AT_NONE, &k), MDP_ERR_UNSUPPORTED);
		EVP_PKEY_free(ed);
	}
	{
		EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");

		CU_ASSERT_FATAL(k1 != NULL);
		dlen = i2d_PrivateKey(k1, &der);
		CU_ASSERT_EQUAL(try_parse(der, (size_t)dlen, BLOB_FMT_UNKNOWN, 0),
				MDP_ERR_UNSUPPORTED);
		OPENSSL_free(der);
		der = NULL;
		EVP_PKEY_free(k1);
	}
	/* Garbage and empty input. */
	CU_ASSERT_EQUAL(try_parse((const uint8_t *)"hello", 5, BLOB_FMT_UNKNOWN, 0),
			MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(try_parse((const uint8_t *)"\x30\x03\x02\x01\x00", 5, BLOB_FMT_UNKNOWN, 0),
			MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(try_parse((const uint8_t *)"x", 0, BLOB_FMT_UNKNOWN, 0), MDP_ERR_TRUNCATED);
	CU_ASSERT_EQUAL(try_parse((const uint8_t *)"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n",
				  43, BLOB_FMT_UNKNOWN, 0),
			MDP_ERR_UNSUPPORTED);
}

/* ---- API ---- */

static void
test_names(void)
{
	int f;
	unsigned s;

	for (f = 1; f < BLOB_FMT__COUNT; f++)
		CU_ASSERT_EQUAL(blob_format_from_name(blob_format_name((enum blob_format)f)), f);
	CU_ASSERT_STRING_EQUAL(blob_format_name(BLOB_FMT_CAPI_PUBLIC), "capi-public");
	CU_ASSERT_STRING_EQUAL(blob_format_name(BLOB_FMT_CNG_ECC_PRIVATE), "cng-ecc-private");
	CU_ASSERT_STRING_EQUAL(blob_format_name(BLOB_FMT_PEM), "pem");
	CU_ASSERT_STRING_EQUAL(blob_format_name((enum blob_format)99), "unknown");
	CU_ASSERT_EQUAL(blob_format_from_name("PEM"), BLOB_FMT_UNKNOWN);
	CU_ASSERT_EQUAL(blob_format_from_name("unknown"), BLOB_FMT_UNKNOWN);
	CU_ASSERT_EQUAL(blob_format_from_name(NULL), BLOB_FMT_UNKNOWN);
	CU_ASSERT_TRUE(blob_format_is_private(BLOB_FMT_CNG_RSA_PRIVATE));
	CU_ASSERT_FALSE(blob_format_is_private(BLOB_FMT_SPKI));
	CU_ASSERT_FALSE(blob_format_is_private(BLOB_FMT_PEM));
	for (s = MDP_AT_KEYEXCHANGE; s <= MDP_AT_ECDHE_P521; s++)
		CU_ASSERT_EQUAL(mdp_key_spec_from_name(mdp_key_spec_name((enum mdp_key_spec)s)), s);
	CU_ASSERT_STRING_EQUAL(mdp_key_spec_name(MDP_AT_ECDHE_P384), "ecdhe-p384");
	CU_ASSERT_STRING_EQUAL(mdp_key_spec_name((enum mdp_key_spec)42), "none");
	CU_ASSERT_EQUAL(mdp_key_spec_from_name("none"), MDP_AT_NONE);
	CU_ASSERT_EQUAL(mdp_key_spec_from_name("bogus"), MDP_AT_NONE);
}

static void
test_api_misuse(void)
{
	struct mdp_key *k = wrap(K_RSA1024), *pub = NULL, *out = NULL;
	uint8_t *b = NULL;
	size_t l = 0;

	CU_ASSERT_EQUAL(blob_parse(NULL, 5, BLOB_FMT_UNKNOWN, 0, &out), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_parse((const uint8_t *)"x", 1, BLOB_FMT_UNKNOWN, 0, NULL),
			MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_parse((const uint8_t *)"x", 1, BLOB_FMT_UNKNOWN, 0x80, &out),
			MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_parse((const uint8_t *)"x", 1, (enum blob_format)77, 0, &out),
			MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_write(NULL, BLOB_FMT_PEM, MDP_AT_NONE, &b, &l), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_write(k, BLOB_FMT_UNKNOWN, MDP_AT_NONE, &b, &l), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_write(k, BLOB_FMT_TRADITIONAL, MDP_AT_NONE, &b, &l), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_write(k, BLOB_FMT_CNG_ECC_PUBLIC, MDP_AT_NONE, &b, &l), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_write(k, BLOB_FMT_PEM, (enum mdp_key_spec)50, &b, &l), MDP_ERR_ARGS);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NULL(b);
	/* A public key cannot be written in a private format. */
	CU_ASSERT_EQUAL_FATAL(blob_write(k, BLOB_FMT_SPKI, MDP_AT_NONE, &b, &l), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(blob_parse(b, l, BLOB_FMT_SPKI, 0, &pub), MDP_OK);
	mdp_secure_free(b, l);
	b = NULL;
	CU_ASSERT_FALSE(mdp_key_is_private(pub));
	CU_ASSERT_EQUAL(blob_write(pub, BLOB_FMT_CAPI_PRIVATE, MDP_AT_NONE, &b, &l), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_write(pub, BLOB_FMT_PKCS8, MDP_AT_NONE, &b, &l), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(blob_write(pub, BLOB_FMT_CNG_RSA_FULL, MDP_AT_NONE, &b, &l), MDP_ERR_ARGS);
	CU_ASSERT_PTR_NULL(b);
	/* PEM of a public key is SPKI. */
	CU_ASSERT_EQUAL_FATAL(blob_write(pub, BLOB_FMT_PEM, MDP_AT_NONE, &b, &l), MDP_OK);
	CU_ASSERT(l > 26 && memcmp(b, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
	mdp_secure_free(b, l);
	/* NULL-safe accessors. */
	mdp_key_free(NULL);
	CU_ASSERT_PTR_NULL(mdp_key_pkey(NULL));
	CU_ASSERT_FALSE(mdp_key_is_private(NULL));
	CU_ASSERT_EQUAL(mdp_key_bits(NULL), 0);
	CU_ASSERT_EQUAL(mdp_key_spec(NULL), MDP_AT_NONE);
	CU_ASSERT_EQUAL(mdp_key_source_format(NULL), BLOB_FMT_UNKNOWN);
	CU_ASSERT_EQUAL(mdp_key_alg_id(NULL), 0);
	CU_ASSERT_EQUAL(mdp_key_magic(NULL), 0);
	CU_ASSERT_EQUAL(mdp_key_ec_nid(k), 0);
	CU_ASSERT_PTR_NULL(mdp_key_curve_name(k));
	CU_ASSERT_EQUAL(mdp_key_ec_field_len(k), 0);
	CU_ASSERT_EQUAL(blob_detect(NULL, 0), BLOB_FMT_UNKNOWN);
	mdp_key_free(pub);
	mdp_key_free(k);
}

static void
test_from_pkey(void)
{
	struct mdp_key *k = NULL;

	CU_ASSERT_EQUAL(mdp_key_from_pkey(NULL, MDP_AT_NONE, &k), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_key_from_pkey(keys[K_RSA2048], MDP_AT_ECDSA_P256, &k), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_key_from_pkey(keys[K_P384], MDP_AT_ECDSA_P256, &k), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_key_from_pkey(keys[K_P384], MDP_AT_SIGNATURE, &k), MDP_ERR_ARGS);
	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(keys[K_RSA2048], MDP_AT_SIGNATURE, &k), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_spec(k), MDP_AT_SIGNATURE);
	CU_ASSERT_PTR_EQUAL(mdp_key_pkey(k), keys[K_RSA2048]);
	CU_ASSERT(mdp_key_is_private(k));
	CU_ASSERT_EQUAL(mdp_key_bits(k), 2048);
	CU_ASSERT_EQUAL(mdp_key_type(k), EVP_PKEY_RSA);
	CU_ASSERT_EQUAL(mdp_key_source_format(k), BLOB_FMT_UNKNOWN);
	CU_ASSERT_EQUAL(mdp_key_alg_id(k), 0);
	mdp_key_free(k);
	k = NULL;
	CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(keys[K_P521], MDP_AT_ECDHE_P521, &k), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_spec(k), MDP_AT_ECDHE_P521);
	CU_ASSERT_EQUAL(mdp_key_bits(k), 521);
	CU_ASSERT_EQUAL(mdp_key_ec_field_len(k), 66);
	CU_ASSERT_EQUAL(mdp_key_ec_nid(k), NID_secp521r1);
	CU_ASSERT_STRING_EQUAL(mdp_key_curve_name(k), "P-521");
	mdp_key_free(k);
	/* The caller's reference is untouched: the key is still usable. */
	CU_ASSERT(sign_verify(keys[K_P521], keys[K_P521]));
}

static void
test_components_rsa(void)
{
	struct mdp_key *k = wrap(K_RSA1024), *pub = NULL, *priv = NULL, *nocrt = NULL;
	static const enum blob_rsa_part parts[] = {BLOB_RSA_N,	BLOB_RSA_E,   BLOB_RSA_D,
						   BLOB_RSA_P,	BLOB_RSA_Q,   BLOB_RSA_DP,
						   BLOB_RSA_DQ, BLOB_RSA_QINV};
	uint8_t *v[8] = {0};
	size_t vl[8] = {0}, i;
	struct blob_rsa_parts rp;
	uint8_t *pad = NULL;
	size_t padlen = 0;

	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL_FATAL(mdp_key_rsa_component(k, parts[i], 0, &v[i], &vl[i]), MDP_OK);
	CU_ASSERT_EQUAL(vl[0], 128);
	CU_ASSERT(vl[1] == 3 && v[1][0] == 1 && v[1][1] == 0 && v[1][2] == 1);
	/* Padded to a width; too small a width overflows. */
	CU_ASSERT_EQUAL(mdp_key_rsa_component(k, BLOB_RSA_E, 8, &pad, &padlen), MDP_OK);
	CU_ASSERT(padlen == 8 && pad[0] == 0 && pad[5] == 1 && pad[7] == 1);
	mdp_secure_free(pad, padlen);
	CU_ASSERT_EQUAL(mdp_key_rsa_component(k, BLOB_RSA_N, 127, &pad, &padlen), MDP_ERR_OVERFLOW);
	/* Public from n, e; private from all parts and from n, e, p, q only. */
	CU_ASSERT_EQUAL_FATAL(blob_rsa_public_from_components(v[0], vl[0], v[1], vl[1], &pub),
			      MDP_OK);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(mdp_key_pkey(pub), keys[K_RSA1024]), 1);
	CU_ASSERT_FALSE(mdp_key_is_private(pub));
	CU_ASSERT_EQUAL(mdp_key_rsa_component(pub, BLOB_RSA_D, 0, &pad, &padlen), MDP_ERR_ARGS);
	memset(&rp, 0, sizeof(rp));
	rp.n = v[0], rp.n_len = vl[0], rp.e = v[1], rp.e_len = vl[1];
	rp.d = v[2], rp.d_len = vl[2], rp.p = v[3], rp.p_len = vl[3], rp.q = v[4];
	rp.q_len = vl[4], rp.dp = v[5], rp.dp_len = vl[5], rp.dq = v[6], rp.dq_len = vl[6];
	rp.qinv = v[7], rp.qinv_len = vl[7];
	CU_ASSERT_EQUAL_FATAL(blob_rsa_private_from_components(&rp, MDP_AT_SIGNATURE, 0, &priv),
			      MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_spec(priv), MDP_AT_SIGNATURE);
	CU_ASSERT(same_bn(mdp_key_pkey(priv), keys[K_RSA1024], OSSL_PKEY_PARAM_RSA_D));
	CU_ASSERT(sign_verify(mdp_key_pkey(priv), keys[K_RSA1024]));
	rp.d = rp.dp = rp.dq = rp.qinv = NULL;
	rp.d_len = rp.dp_len = rp.dq_len = rp.qinv_len = 0;
	CU_ASSERT_EQUAL_FATAL(blob_rsa_private_from_components(&rp, MDP_AT_NONE, 0, &nocrt),
			      MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_spec(nocrt), MDP_AT_KEYEXCHANGE);
	CU_ASSERT(same_bn(mdp_key_pkey(nocrt), keys[K_RSA1024], OSSL_PKEY_PARAM_RSA_COEFFICIENT1));
	CU_ASSERT(sign_verify(mdp_key_pkey(nocrt), keys[K_RSA1024]));
	/* Partial CRT, wrong spec, inconsistent parts. */
	rp.d = v[2], rp.d_len = vl[2];
	CU_ASSERT_EQUAL(blob_rsa_private_from_components(&rp, MDP_AT_NONE, 0, &pub), MDP_ERR_ARGS);
	rp.dp = v[5], rp.dp_len = vl[5], rp.dq = v[6], rp.dq_len = vl[6];
	rp.qinv = v[7], rp.qinv_len = vl[7];
	CU_ASSERT_EQUAL(blob_rsa_private_from_components(&rp, MDP_AT_ECDSA_P256, 0, &pub),
			MDP_ERR_ARGS);
	v[3][vl[3] - 1] ^= 2;
	CU_ASSERT_EQUAL(blob_rsa_private_from_components(&rp, MDP_AT_NONE, 0, &pub),
			MDP_ERR_INVALID_KEY);
	v[3][vl[3] - 1] ^= 2;
	CU_ASSERT_EQUAL(blob_rsa_public_from_components(v[0], vl[0], v[1], 0, &pub), MDP_ERR_ARGS);
	for (i = 0; i < 8; i++)
		mdp_secure_free(v[i], vl[i]);
	mdp_key_free(pub);
	mdp_key_free(priv);
	mdp_key_free(nocrt);
	mdp_key_free(k);
}

static void
test_components_ec(void)
{
	struct mdp_key *k = wrap(K_P521), *pub = NULL, *priv = NULL, *out = NULL;
	uint8_t *pt = NULL, *d = NULL, *pad;
	size_t ptlen = 0, dlen = 0;
	uint8_t dg[32];

	CU_ASSERT_EQUAL_FATAL(mdp_key_ec_point(k, &pt, &ptlen), MDP_OK);
	CU_ASSERT(ptlen == 133 && pt[0] == 0x04);
	CU_ASSERT_EQUAL_FATAL(mdp_key_ec_private(k, &d, &dlen), MDP_OK);
	CU_ASSERT_EQUAL(dlen, 66);
	CU_ASSERT_EQUAL(d[0] & 0xfe, 0);
	/* From the point; from the scalar (Q computed); both the original key. */
	CU_ASSERT_EQUAL_FATAL(blob_ec_public_from_point(MDP_AT_ECDHE_P521, pt, ptlen, &pub),
			      MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_spec(pub), MDP_AT_ECDHE_P521);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(mdp_key_pkey(pub), keys[K_P521]), 1);
	CU_ASSERT_EQUAL(mdp_key_ec_private(pub, &pad, &dlen), MDP_ERR_ARGS);
	dlen = 66;
	CU_ASSERT_EQUAL_FATAL(blob_ec_private_from_scalar(MDP_AT_ECDSA_P521, d, dlen, &priv),
			      MDP_OK);
	CU_ASSERT(mdp_key_is_private(priv));
	CU_ASSERT_EQUAL(EVP_PKEY_eq(mdp_key_pkey(priv), keys[K_P521]), 1);
	CU_ASSERT(sign_verify(mdp_key_pkey(priv), keys[K_P521]));
	/* Minimal (leading zeros stripped) and over-long (extra zeros) scalars are accepted. */
	{
		uint8_t longer[70] = {0};

		memcpy(longer + 4, d, 66);
		CU_ASSERT_EQUAL(blob_ec_private_from_scalar(MDP_AT_ECDSA_P521, longer, 70, &out),
				MDP_OK);
		mdp_key_free(out);
		out = NULL;
		CU_ASSERT_EQUAL_FATAL(
			blob_ec_private_from_scalar(MDP_AT_ECDSA_P521, d + 1, 65, &out), MDP_OK);
		CU_ASSERT_EQUAL(EVP_PKEY_eq(mdp_key_pkey(out), keys[K_P521]), d[0] == 0 ? 1 : 0);
		mdp_key_free(out);
		out = NULL;
	}
	/* Bad inputs. */
	CU_ASSERT_EQUAL(blob_ec_public_from_point(MDP_AT_ECDSA_P256, pt, ptlen, &out),
			MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(blob_ec_public_from_point(MDP_AT_SIGNATURE, pt, ptlen, &out), MDP_ERR_ARGS);
	pt[0] = 0x02;
	CU_ASSERT_EQUAL(blob_ec_public_from_point(MDP_AT_ECDSA_P521, pt, ptlen, &out),
			MDP_ERR_FORMAT);
	pt[0] = 0x04;
	pt[ptlen - 1] ^= 1;
	CU_ASSERT_EQUAL(blob_ec_public_from_point(MDP_AT_ECDSA_P521, pt, ptlen, &out),
			MDP_ERR_INVALID_KEY);
	memset(dg, 0, sizeof(dg));
	CU_ASSERT_EQUAL(blob_ec_private_from_scalar(MDP_AT_ECDSA_P256, dg, 32, &out),
			MDP_ERR_INVALID_KEY);
	memset(dg, 0xff, sizeof(dg));
	CU_ASSERT_EQUAL(blob_ec_private_from_scalar(MDP_AT_ECDSA_P256, dg, 32, &out),
			MDP_ERR_INVALID_KEY);
	CU_ASSERT_EQUAL(blob_ec_private_from_scalar(MDP_AT_KEYEXCHANGE, dg, 32, &out),
			MDP_ERR_ARGS);
	CU_ASSERT_PTR_NULL(out);
	/* RSA getters on EC keys and the reverse. */
	CU_ASSERT_EQUAL(mdp_key_rsa_component(k, BLOB_RSA_N, 0, &pad, &dlen), MDP_ERR_ARGS);
	mdp_secure_free(pt, ptlen);
	mdp_secure_free(d, 66);
	mdp_key_free(pub);
	mdp_key_free(priv);
	mdp_key_free(k);
	k = wrap(K_RSA1024);
	CU_ASSERT_EQUAL(mdp_key_ec_point(k, &pt, &ptlen), MDP_ERR_ARGS);
	mdp_key_free(k);
}

static void
test_public_sha256(void)
{
	struct mdp_key *k = wrap(K_P256);
	uint8_t got[32], want[32];
	unsigned char *der = NULL;
	int dlen = i2d_PUBKEY(keys[K_P256], &der);

	CU_ASSERT_FATAL(dlen > 0);
	EVP_Digest(der, (size_t)dlen, want, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	CU_ASSERT_EQUAL(mdp_key_public_sha256(k, got), MDP_OK);
	CU_ASSERT(memcmp(got, want, 32) == 0);
	CU_ASSERT_EQUAL(mdp_key_public_sha256(NULL, got), MDP_ERR_ARGS);
	mdp_key_free(k);
}

static CU_TestInfo roundtrip_tests[] = {
	{"RSA-1024, every format", test_roundtrip_rsa1024},
	{"RSA-2048, every format", test_roundtrip_rsa2048},
	{"RSA-3072, every format", test_roundtrip_rsa3072},
	{"RSA-4096, every format", test_roundtrip_rsa4096},
	{"RSA-1032 (odd size), every format", test_roundtrip_rsa1032},
	{"P-256, every format", test_roundtrip_p256},
	{"P-384, every format", test_roundtrip_p384},
	{"P-521, every format", test_roundtrip_p521},
	{"blob sizes", test_sizes},
	{"key specs: ALG_ID and ECC magic", test_key_specs},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo vector_tests[] = {
	{"CAPI RSA-1024 keyx, sign key, signatures, SIMPLEBLOB", test_vector_capi},
	{"CNG RSA-2048 public + signature, RSA-512 private/full", test_vector_cng_rsa},
	{"CNG ECDSA P-256 blobs + signature", test_vector_ecdsa},
	{"CNG ECDH P-256 secret and SHA-1 KDF", test_vector_ecdh},
	{"CAPI DSS blob refused", test_vector_dss_refused},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo negative_tests[] = {
	{"truncation at every offset", test_truncation},
	{"trailing bytes", test_trailing_bytes},
	{"header bytes flipped", test_header_flips},
	{"CAPI bad headers and keys", test_capi_negative},
	{"CAPI exponent over 32 bits", test_capi_exponent_overflow},
	{"CNG RSA bad headers and keys", test_cng_rsa_negative},
	{"CNG ECC bad headers and keys", test_cng_ecc_negative},
	{"DER and PEM edge cases", test_der_pem_negative},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo api_tests[] = {
	{"format and key spec names", test_names},
	{"API misuse", test_api_misuse},
	{"mdp_key_from_pkey", test_from_pkey},
	{"RSA components", test_components_rsa},
	{"EC components", test_components_ec},
	{"SHA-256 of the public key", test_public_sha256},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"round trips", suite_init, NULL, NULL, NULL, roundtrip_tests},
	{"Windows vectors", NULL, NULL, NULL, NULL, vector_tests},
	{"negative", NULL, NULL, NULL, NULL, negative_tests},
	{"api", NULL, suite_clean, NULL, NULL, api_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-blob", suites);
}
