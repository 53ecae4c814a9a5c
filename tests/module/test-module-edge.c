/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module at its edges, through C_GetFunctionList on the embedded virtual card: malformed
 * templates, answers that must not be silent (a second certificate, a CKA_ID that disagrees),
 * the return codes PKCS#11 asks for, and PIN changes that must not trust the card's split.
 */
#include "config.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdp11/pkcs11-vendor.h"
#include "tests/module/p11test.h"
#include "tests/unit/testutil.h"

#define P256 "06082a8648ce3d030107"

static CK_OBJECT_HANDLE rsa_pub, rsa_priv, ec_pub, ec_priv, ecdh_pub, ecdh_priv;

static int
suite_init(void)
{
	CK_SESSION_HANDLE s = p11test_suite_session();
	int rv = 0;

	if (s == CK_INVALID_HANDLE)
		return -1;
	if (p11test_gen_rsa(s, 1024, true, "rsa", &rsa_pub, &rsa_priv) != CKR_OK ||
	    p11test_gen_ec(s, P256, false, "ec1", &ec_pub, &ec_priv) != CKR_OK ||
	    p11test_gen_ec(s, P256, true, "ecdh", &ecdh_pub, &ecdh_priv) != CKR_OK)
		rv = -1;
	p11->C_CloseSession(s);
	return rv;
}

static int
suite_clean(void)
{
	p11test_teardown();
	return 0;
}

/* ---- templates: every attribute is read through one checked accessor ---- */

static void
test_template_null_values(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	CK_OBJECT_CLASS data = CKO_DATA;
	CK_BBOOL t = CK_TRUE;
	CK_ULONG four = 4, count_before = p11test_count(s, CKA_CLASS, CKO_DATA);
	CK_OBJECT_HANDLE h = 0, pub = 0, priv = 0;
	CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_ATTRIBUTE label_null[] = {
		{CKA_CLASS, &data, sizeof(data)},
		{CKA_TOKEN, &t, 1},
		{CKA_LABEL, NULL, 5},
		{CKA_VALUE, (void *)"x", 1},
	};
	CK_ATTRIBUTE app_null[] = {
		{CKA_CLASS, &data, sizeof(data)},
		{CKA_APPLICATION, NULL, 4},
	};
	CK_ATTRIBUTE bool_size[] = {
		{CKA_CLASS, &data, sizeof(data)},
		{CKA_TOKEN, &four, sizeof(four)}, /* a CK_BBOOL of the size of a CK_ULONG */
	};
	CK_ATTRIBUTE ulong_size[] = {{CKA_CLASS, &t, 1}};
	CK_ATTRIBUTE pubt[] = {{CKA_EC_PARAMS, p256, sizeof(p256)}};
	CK_ATTRIBUTE privt[] = {{CKA_SIGN, &t, 1}, {CKA_LABEL, NULL, 3}};
	CK_ATTRIBUTE id_null = {CKA_ID, NULL, 3}; /* as long as "ec1": compared if not checked */
	CK_ATTRIBUTE label_set = {CKA_LABEL, NULL, 2};

	/* SIGSEGV in dup_label before the accessor existed. */
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, label_null, 4, &h), CKR_ATTRIBUTE_VALUE_INVALID);
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, app_null, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID);
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, bool_size, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID);
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, ulong_size, 1, &h), CKR_ATTRIBUTE_VALUE_INVALID);
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, NULL, 2, &h), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_DATA), count_before);
	CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &gen, pubt, 1, privt, 2, &pub, &priv),
			CKR_ATTRIBUTE_VALUE_INVALID);
	CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, &id_null, 1), CKR_ATTRIBUTE_VALUE_INVALID);
	CU_ASSERT_EQUAL(p11->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
	CU_ASSERT_EQUAL(p11->C_SetAttributeValue(s, ec_priv, &label_set, 1),
			CKR_ATTRIBUTE_VALUE_INVALID);
	/* A derived secret's template is read the same way. */
	{
		EVP_PKEY *peer = EVP_EC_gen("P-256");
		unsigned char point[65];
		size_t pl = sizeof(point);
		CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, 65, point};
		CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
		CK_ATTRIBUTE dt[] = {{CKA_LABEL, NULL, 4}};

		CU_ASSERT_FATAL(peer != NULL);
		CU_ASSERT_EQUAL_FATAL(EVP_PKEY_get_octet_string_param(peer, "encoded-pub-key",
								      point, sizeof(point), &pl),
				      1);
		CU_ASSERT_EQUAL(p11->C_DeriveKey(s, &m, ecdh_priv, dt, 1, &h),
				CKR_ATTRIBUTE_VALUE_INVALID);
		EVP_PKEY_free(peer);
	}
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* ---- certificates: never silently replaced, never silently renamed ---- */

static unsigned char *
make_cert(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pubh, const char *cn, int *len)
{
	CK_ULONG dl = 0;
	unsigned char *spki = p11test_attr(s, pubh, CKA_PUBLIC_KEY_INFO, &dl), *der = NULL;
	const unsigned char *p = spki;
	EVP_PKEY *pub = spki ? d2i_PUBKEY(NULL, &p, (long)dl) : NULL, *signer = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	*len = -1;
	if (pub && signer && x && name) {
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
					   -1, 0);
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
		X509_set_subject_name(x, name);
		X509_set_issuer_name(x, name);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 3600);
		X509_set_pubkey(x, pub);
		if (X509_sign(x, signer, EVP_sha256()) > 0)
			*len = i2d_X509(x, &der);
	}
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(signer);
	free(spki);
	return der;
}

static void
test_certificate_overwrite(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_BBOOL t = CK_TRUE;
	int l1 = 0, l2 = 0;
	unsigned char *c1 = make_cert(s, ec_pub, "first", &l1),
		      *c2 = make_cert(s, ec_pub, "second", &l2);
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)}, {CKA_TOKEN, &t, 1},
		{CKA_VALUE, c1, (CK_ULONG)l1},	{CKA_ID, (void *)"ec1", 3},
		{CKA_MDP11_OVERWRITE, &t, 1},
	};
	CK_OBJECT_HANDLE h1 = 0, h2 = 0;
	CK_ULONG len = 0;
	unsigned char *v;

	CU_ASSERT_FATAL(l1 > 0 && l2 > 0);
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, 4, &h1), CKR_OK);
	/* A second certificate for the same key: refused, the first stays. */
	tmpl[2].pValue = c2;
	tmpl[2].ulValueLen = (CK_ULONG)l2;
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, 4, &h2), CKR_ATTRIBUTE_VALUE_INVALID);
	v = p11test_attr(s, h1, CKA_VALUE, &len);
	CU_ASSERT(v && len == (CK_ULONG)l1 && memcmp(v, c1, len) == 0);
	free(v);
	/* A CKA_ID that is not the key's: refused, never replaced by the key's. */
	tmpl[3].pValue = (void *)"\x77";
	tmpl[3].ulValueLen = 1;
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, 5, &h2), CKR_ATTRIBUTE_VALUE_INVALID);
	v = p11test_attr(s, h1, CKA_VALUE, &len);
	CU_ASSERT(v && len == (CK_ULONG)l1 && memcmp(v, c1, len) == 0);
	free(v);
	/* Overwriting asked for, with the key's CKA_ID (or none): the second replaces the first. */
	tmpl[3].pValue = (void *)"ec1";
	tmpl[3].ulValueLen = 3;
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, 5, &h2), CKR_OK);
	v = p11test_attr(s, h2, CKA_VALUE, &len);
	CU_ASSERT(v && len == (CK_ULONG)l2 && memcmp(v, c2, len) == 0);
	free(v);
	v = p11test_attr(s, h2, CKA_ID, &len);
	CU_ASSERT(v && len == 3 && memcmp(v, "ec1", 3) == 0);
	free(v);
	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, h2), CKR_OK);
	OPENSSL_free(c1);
	OPENSSL_free(c2);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* ---- key generation: CKA_MODULUS_BITS 0 is no size ---- */

static void
test_modulus_bits_zero(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	CK_ULONG before = p11test_count(s, CKA_CLASS, CKO_PRIVATE_KEY);
	CK_OBJECT_HANDLE pub = 0, priv = 0;

	CU_ASSERT_EQUAL(p11test_gen_rsa(s, 0, false, "zero", &pub, &priv),
			CKR_ATTRIBUTE_VALUE_INVALID);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_PRIVATE_KEY), before);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* ---- return codes ---- */

static void
test_codes(void)
{
	CK_SESSION_HANDLE s = p11test_open(false, true);
	CK_MECHANISM x509 = {CKM_RSA_X_509, NULL, 0};
	CK_BYTE big[128], sig[256], out[256];
	CK_ULONG sl, ol, len = 0;
	CK_BBOOL *derive;

	/* Raw RSA: a block at or above the modulus is invalid data, a longer one out of range. */
	memset(big, 0xff, sizeof(big));
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &x509, rsa_priv), CKR_OK);
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(p11->C_Sign(s, big, sizeof(big), sig, &sl), CKR_DATA_INVALID);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &x509, rsa_priv), CKR_OK);
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(p11->C_Sign(s, sig, 129, sig, &sl), CKR_DATA_LEN_RANGE);
	CU_ASSERT_EQUAL(p11->C_EncryptInit(s, &x509, rsa_pub), CKR_OK);
	ol = sizeof(out);
	CU_ASSERT_EQUAL(p11->C_Encrypt(s, big, sizeof(big), out, &ol), CKR_DATA_INVALID);
	CU_ASSERT_EQUAL(p11->C_DecryptInit(s, &x509, rsa_priv), CKR_OK);
	ol = sizeof(out);
	CU_ASSERT_EQUAL(p11->C_Decrypt(s, big, sizeof(big), out, &ol), CKR_ENCRYPTED_DATA_INVALID);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);

	/* A session key pair in a read-only session: the template is what is wrong. */
	s = p11test_open(false, true);
	{
		CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
		CK_BBOOL f = CK_FALSE, t = CK_TRUE;
		CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
		CK_ATTRIBUTE pubt[] = {{CKA_TOKEN, &f, 1}, {CKA_EC_PARAMS, p256, sizeof(p256)}};
		CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &f, 1}, {CKA_SIGN, &t, 1}};
		CK_OBJECT_CLASS data = CKO_DATA;
		CK_ATTRIBUTE dt[] = {{CKA_CLASS, &data, sizeof(data)}, {CKA_TOKEN, &f, 1}};
		CK_OBJECT_HANDLE pub = 0, priv = 0;

		CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &gen, pubt, 2, privt, 2, &pub, &priv),
				CKR_TEMPLATE_INCONSISTENT);
		CU_ASSERT_EQUAL(p11->C_CreateObject(s, dt, 2, &pub), CKR_TEMPLATE_INCONSISTENT);
	}
	/*
	 * An ECDH key pair derives: its private key says so, and the session public key
	 * C_GenerateKeyPair returns lives as long as the session that made it (an ECDH key has
	 * no token public key object).
	 */
	CU_ASSERT_PTR_NULL(p11test_attr(s, ecdh_pub, CKA_DERIVE, &len));
	{
		CK_SESSION_HANDLE rw = p11test_open(true, false);
		CK_OBJECT_HANDLE pub = 0, priv = 0;

		CU_ASSERT_EQUAL(p11test_gen_ec(rw, P256, true, "ecdh2", &pub, &priv), CKR_OK);
		derive = p11test_attr(rw, pub, CKA_DERIVE, &len);
		CU_ASSERT(derive && len == 1 && *derive == CK_TRUE);
		free(derive);
		derive = p11test_attr(rw, pub, CKA_TOKEN, &len);
		CU_ASSERT(derive && len == 1 && *derive == CK_FALSE);
		free(derive);
		/* Another session does not see it; it goes with its session. */
		CU_ASSERT_PTR_NULL(p11test_attr(s, pub, CKA_DERIVE, &len));
		CU_ASSERT_EQUAL(p11->C_DestroyObject(rw, pub), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_DestroyObject(rw, priv), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_CloseSession(rw), CKR_OK);
	}
	derive = p11test_attr(s, ecdh_priv, CKA_DERIVE, &len);
	CU_ASSERT(derive && len == 1 && *derive == CK_TRUE);
	free(derive);
	derive = p11test_attr(s, ec_pub, CKA_DERIVE, &len);
	CU_ASSERT(derive && len == 1 && *derive == CK_FALSE);
	free(derive);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* Count the token public key objects of an EC key pair with this CKA_ID. */
static CK_ULONG
count_token_public(CK_SESSION_HANDLE s, const char *id)
{
	CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY;
	CK_BBOOL t = CK_TRUE;
	CK_ATTRIBUTE q[] = {
		{CKA_CLASS, &pub, sizeof(pub)},
		{CKA_TOKEN, &t, sizeof(t)},
		{CKA_ID, (void *)id, strlen(id)},
	};
	CK_OBJECT_HANDLE h[4];
	CK_ULONG n = 0;

	if (p11->C_FindObjectsInit(s, q, 3) != CKR_OK)
		return (CK_ULONG)-1;
	if (p11->C_FindObjects(s, h, 4, &n) != CKR_OK)
		n = (CK_ULONG)-1;
	p11->C_FindObjectsFinal(s);
	return n;
}

/*
 * [token] ecdh_public_objects: by default an ECDH key has no token public key object (ssh
 * would offer it as a signing key); with yes it has one, deriving like its private key, as
 * conformance tools (OpenSC's p11test usage_test) expect of every key pair.
 */
static void
test_ecdh_public_objects(void)
{
	const char *conf = getenv("MDP11_CONF");
	char *keep = NULL;
	CK_SESSION_HANDLE s;
	CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE q[] = {{CKA_CLASS, &pub, sizeof(pub)}, {CKA_ID, "ecdh", 4}};
	CK_OBJECT_HANDLE h = 0;
	CK_ULONG n = 0, len = 0;
	CK_BBOOL *derive;
	FILE *f;
	long size;

	if (p11test_pcsc() || !conf)
		return;
	s = p11test_open(false, false);
	CU_ASSERT_EQUAL(count_token_public(s, "ecdh"), 0);
	CU_ASSERT_EQUAL(count_token_public(s, "ec1"), 1);
	p11->C_CloseSession(s);

	/* Keep the suite's configuration, add the option, and start the module again. */
	f = fopen(conf, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	keep = calloc(1, (size_t)size + 1);
	CU_ASSERT_FATAL(keep && fread(keep, 1, (size_t)size, f) == (size_t)size);
	fclose(f);
	f = fopen(conf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "%s[token]\necdh_public_objects = yes\n", keep);
	fclose(f);
	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(p11test_init(), CKR_OK);

	s = p11test_open(false, false);
	CU_ASSERT_EQUAL(count_token_public(s, "ecdh"), 1);
	CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, q, 2), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_FindObjects(s, &h, 1, &n), CKR_OK);
	p11->C_FindObjectsFinal(s);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	derive = p11test_attr(s, h, CKA_DERIVE, &len);
	CU_ASSERT(derive && len == 1 && *derive == CK_TRUE);
	free(derive);
	derive = p11test_attr(s, h, CKA_VERIFY, &len);
	CU_ASSERT(derive && len == 1 && *derive == CK_FALSE);
	free(derive);
	p11->C_CloseSession(s);

	/* Back to the suite's configuration. */
	f = fopen(conf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(keep, f);
	fclose(f);
	free(keep);
	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
	CU_ASSERT_EQUAL(p11test_init(), CKR_OK);
}

/* ---- PINs: the old PIN is verified, whole, before it is changed ---- */

static void
test_set_pin_checks_old(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, false);
	CK_TOKEN_INFO ti;

	/* The card splits old||new at the stored PIN's length: "12345678" is not "123456". */
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)"12345678", 8, (CK_UTF8CHAR *)TEST_PIN, 6),
			CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)"12345", 5, (CK_UTF8CHAR *)"1234567", 7),
			CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"78123456", 8), CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	/* The right old PIN still works, and a public session stays public afterwards. */
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)TEST_PIN, 6, (CK_UTF8CHAR *)"24682468", 8),
			CKR_OK);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_PRIVATE_KEY), 0);
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)"24682468", 8, (CK_UTF8CHAR *)TEST_PIN, 6),
			CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(test_slot, &ti), CKR_OK);
	CU_ASSERT_FALSE(ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED));
	/* The admin key: a wrong old key changes nothing. */
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48), CKR_OK);
	CU_ASSERT_EQUAL(
		p11->C_SetPIN(s, (CK_UTF8CHAR *)"2122232425262728292a2b2c2d2e2f303132333435363738",
			      48, (CK_UTF8CHAR *)"1112131415161718191a1b1c1d1e1f202122232425262728",
			      48),
		CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

int
main(void)
{
	CU_TestInfo tests[] = {
		{"templates: NULL values, wrong sizes", test_template_null_values},
		{"certificates: no silent replacement, no silent CKA_ID",
		 test_certificate_overwrite},
		{"CKA_MODULUS_BITS 0", test_modulus_bits_zero},
		{"return codes: raw RSA, read-only session objects, ECDH derive", test_codes},
		{"C_SetPIN verifies the old PIN", test_set_pin_checks_old},
		{"[token] ecdh_public_objects", test_ecdh_public_objects},
		CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suites[] = {
		{"edge", suite_init, suite_clean, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return test_run("test-module-edge", suites);
}
