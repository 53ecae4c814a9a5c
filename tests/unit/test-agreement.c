/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the secret agreements and KDFs shared by card modules (minidriver/agreement.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/secmem.h"
#include "minidriver/agreement.h"
#include "tests/unit/testutil.h"

static const uint8_t z[32] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
			      0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
			      0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20};

static void
test_table(void)
{
	struct md_agreements t;
	uint8_t idx = 99, i;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < MD_MAX_AGREEMENTS; i++) {
		CU_ASSERT_TRUE(md_agreement_room(&t));
		CU_ASSERT_EQUAL(md_agreement_add(&t, z, sizeof(z), &idx), MD_OK);
		CU_ASSERT_EQUAL(idx, i);
	}
	CU_ASSERT_FALSE(md_agreement_room(&t));
	idx = 99;
	CU_ASSERT_EQUAL(md_agreement_add(&t, z, sizeof(z), &idx), MD_E_NO_MEMORY);
	CU_ASSERT_EQUAL(idx, 99); /* written only on success */
	CU_ASSERT_EQUAL(md_agreement_destroy(&t, 3), MD_OK);
	CU_ASSERT_EQUAL(md_agreement_destroy(&t, 3), MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_agreement_destroy(&t, MD_MAX_AGREEMENTS), MD_E_INVALID_PARAMETER);
	CU_ASSERT_TRUE(md_agreement_room(&t));
	CU_ASSERT_EQUAL(md_agreement_add(&t, z, sizeof(z), &idx), MD_OK);
	CU_ASSERT_EQUAL(idx, 3); /* the freed place is reused */
	md_agreement_clear(&t);
	for (i = 0; i < MD_MAX_AGREEMENTS; i++)
		CU_ASSERT(!t.a[i].used && !t.a[i].secret);
}

/* Derive on a table holding z at index 0; returns the derived key (or NULL) and its length. */
static uint8_t *
derive(const char *kdf, const struct md_kdf_param *p, size_t n, uint32_t flags, size_t *len,
       enum md_rv *rv)
{
	struct md_agreements t;
	struct md_derive_key dk = {.version = 2, .kdf = kdf, .params = p, .param_count = n};
	uint8_t idx;

	memset(&t, 0, sizeof(t));
	md_agreement_add(&t, z, sizeof(z), &idx);
	dk.flags = flags;
	dk.secret_agreement_index = idx;
	*rv = md_agreement_derive(&t, &dk);
	*len = dk.derived_key_len;
	md_agreement_clear(&t);
	return dk.derived_key;
}

static void
test_kdfs(void)
{
	struct md_kdf_param p[6];
	uint8_t want[64], buf[128], *k;
	unsigned wl = 0;
	size_t len, i;
	enum md_rv rv;

	/* TRUNCATE: the raw secret little-endian */
	k = derive(MD_KDF_TRUNCATE, NULL, 0, 0, &len, &rv);
	CU_ASSERT_EQUAL(rv, MD_OK);
	CU_ASSERT_EQUAL_FATAL(len, sizeof(z));
	for (i = 0; i < len; i++)
		CU_ASSERT_EQUAL(k[i], z[sizeof(z) - 1 - i]);
	mdp_secure_free(k, len);

	/* HASH: SHA-1 by default; SHA-256 with prepend and append */
	k = derive(MD_KDF_HASH, NULL, 0, 0, &len, &rv);
	EVP_Digest(z, sizeof(z), want, &wl, EVP_sha1(), NULL);
	CU_ASSERT(rv == MD_OK && len == 20 && memcmp(k, want, 20) == 0);
	mdp_secure_free(k, len);
	p[0] = (struct md_kdf_param){MD_KDF_HASH_ALGORITHM, "SHA256", 7}; /* with its NUL */
	p[1] = (struct md_kdf_param){MD_KDF_SECRET_PREPEND, "pre", 3};
	p[2] = (struct md_kdf_param){MD_KDF_SECRET_APPEND, "app", 3};
	k = derive(MD_KDF_HASH, p, 3, 0, &len, &rv);
	memcpy(buf, "pre", 3);
	memcpy(buf + 3, z, 32);
	memcpy(buf + 35, "app", 3);
	EVP_Digest(buf, 38, want, &wl, EVP_sha256(), NULL);
	CU_ASSERT(rv == MD_OK && len == 32 && memcmp(k, want, 32) == 0);
	mdp_secure_free(k, len);

	/* HMAC with a key, and with the secret as the key */
	p[1] = (struct md_kdf_param){MD_KDF_HMAC_KEY, "key", 3};
	k = derive(MD_KDF_HMAC, p, 2, 0, &len, &rv);
	HMAC(EVP_sha256(), "key", 3, z, sizeof(z), want, &wl);
	CU_ASSERT(rv == MD_OK && len == 32 && memcmp(k, want, 32) == 0);
	mdp_secure_free(k, len);
	k = derive(MD_KDF_HMAC, p, 1, MD_KDF_USE_SECRET_AS_HMAC_KEY, &len, &rv);
	HMAC(EVP_sha256(), z, sizeof(z), z, sizeof(z), want, &wl);
	CU_ASSERT(rv == MD_OK && len == 32 && memcmp(k, want, 32) == 0);
	mdp_secure_free(k, len);

	/* SP800-56A concatenation KDF, one block: H(00000001 || Z || OtherInfo) */
	p[1] = (struct md_kdf_param){MD_KDF_ALGORITHMID, "alg", 3};
	p[2] = (struct md_kdf_param){MD_KDF_PARTYUINFO, "u", 1};
	p[3] = (struct md_kdf_param){MD_KDF_PARTYVINFO, "v", 1};
	k = derive(MD_KDF_SP800_56A_CONCAT, p, 4, 0, &len, &rv);
	memcpy(buf, "\0\0\0\1", 4);
	memcpy(buf + 4, z, 32);
	memcpy(buf + 36, "alguv", 5);
	EVP_Digest(buf, 41, want, &wl, EVP_sha256(), NULL);
	CU_ASSERT(rv == MD_OK && len == 32 && memcmp(k, want, 32) == 0);
	mdp_secure_free(k, len);
	/* without PartyVInfo: refused */
	k = derive(MD_KDF_SP800_56A_CONCAT, p, 3, 0, &len, &rv);
	CU_ASSERT_EQUAL(rv, MD_E_INVALID_PARAMETER);
	CU_ASSERT_PTR_NULL(k);

	/* a size query, unknown hashes and KDFs, a bad hash parameter */
	k = derive(MD_KDF_HASH, p, 1, MD_BUFFER_SIZE_ONLY, &len, &rv);
	CU_ASSERT(rv == MD_OK && len == 32 && !k);
	p[0] = (struct md_kdf_param){MD_KDF_HASH_ALGORITHM, "NOPE", 4};
	k = derive(MD_KDF_HASH, p, 1, 0, &len, &rv);
	CU_ASSERT_EQUAL(rv, MD_E_UNSUPPORTED_FEATURE);
	p[0] = (struct md_kdf_param){MD_KDF_HASH_ALGORITHM, "", 0};
	k = derive(MD_KDF_HASH, p, 1, 0, &len, &rv);
	CU_ASSERT_EQUAL(rv, MD_E_INVALID_PARAMETER);
	k = derive("TLS_PRF", NULL, 0, 0, &len, &rv);
	CU_ASSERT_EQUAL(rv, MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_PTR_NULL(k);
}

static void
test_unknown_index(void)
{
	struct md_agreements t;
	struct md_derive_key dk = {.version = 2, .kdf = MD_KDF_TRUNCATE};

	memset(&t, 0, sizeof(t));
	CU_ASSERT_EQUAL(md_agreement_derive(&t, &dk), MD_E_INVALID_PARAMETER);
	dk.secret_agreement_index = MD_MAX_AGREEMENTS;
	CU_ASSERT_EQUAL(md_agreement_derive(&t, &dk), MD_E_INVALID_PARAMETER);
}

static CU_TestInfo tests[] = {
	{"the agreement table", test_table},
	{"KDFs: TRUNCATE, HASH, HMAC, SP800-56A", test_kdfs},
	{"derive on an unused agreement", test_unknown_index},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"agreement", NULL, NULL, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-agreement", suites);
}
