/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module through C_GetFunctionList on an embedded virtual PIV card (docs/piv.md): keys in
 * PIV slots, signatures and decryption over the card's raw RSA, ECDSA, ECDH, a key that wants
 * the PIN before each use (9C, CKU_CONTEXT_SPECIFIC), certificates, import, the management key
 * as the SO PIN (3DES and AES), and what PIV refuses.
 */
#include "config.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdp11/pkcs11-vendor.h"
#include "tests/module/p11test.h"
#include "tests/unit/testutil.h"
#include "vcard/vcard.h"

#define P256 "06082a8648ce3d030107"
#define P384 "06052b81040022"
#define P521 "06052b81040023"
#define AES128_HEX "00112233445566778899aabbccddeeff"
/* a factory YubiKey's management key: mdp11 tries it when a change needs the key */
#define MGM_DEFAULT_HEX "010203040506070801020304050607080102030405060708"
#define AES256_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static CK_OBJECT_HANDLE rsa_pub, rsa_priv, ec_pub, ec_priv, ec384_pub, ec384_priv, ecdh_priv;

static int
suite_init_3des(void)
{
	static const uint8_t key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
					5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	struct vcard_init_params p = {.type = VCARD_TYPE_PIV, .admin_key = key};

	return p11test_setup_card(&p);
}

static int
suite_init_aes(void)
{
	static uint8_t key[32];
	struct vcard_init_params p = {.type = VCARD_TYPE_PIV,
				      .admin_key = key,
				      .admin_key_len = 32,
				      .mgm_alg = 0x0C,
				      .version = {5, 7, 1}};
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	return p11test_setup_card(&p);
}

static int
suite_clean(void)
{
	p11test_teardown();
	return 0;
}

static CK_RV
login(CK_SESSION_HANDLE s, CK_USER_TYPE who, const char *secret)
{
	return p11->C_Login(s, who, (CK_UTF8CHAR *)secret, (CK_ULONG)strlen(secret));
}

/* A key pair with extra private-key attributes (CKA_ALWAYS_AUTHENTICATE). */
static CK_RV
gen_ec_always(CK_SESSION_HANDLE s, const char *id, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL t = CK_TRUE;
	CK_BYTE params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_ATTRIBUTE pubt[] = {{CKA_TOKEN, &t, sizeof(t)}, {CKA_EC_PARAMS, params, sizeof(params)}};
	CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &t, sizeof(t)},
				{CKA_SIGN, &t, sizeof(t)},
				{CKA_ALWAYS_AUTHENTICATE, &t, sizeof(t)},
				{CKA_ID, (void *)id, strlen(id)}};

	return p11->C_GenerateKeyPair(s, &mech, pubt, 2, privt, 4, pub, priv);
}

static CK_BBOOL
bool_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = {t, &v, sizeof(v)};

	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, h, &a, 1), CKR_OK);
	return v;
}

/* ---- token ---- */

static void
test_token(void)
{
	CK_TOKEN_INFO ti;
	CK_MECHANISM_INFO mi;

	CU_ASSERT_EQUAL_FATAL(p11test_init(), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(p11->C_GetTokenInfo(test_slot, &ti), CKR_OK);
	CU_ASSERT(ti.flags & CKF_LOGIN_REQUIRED);
	CU_ASSERT(ti.flags & CKF_USER_PIN_INITIALIZED);
	CU_ASSERT(ti.flags & CKF_TOKEN_INITIALIZED);
	CU_ASSERT_FALSE(ti.flags & CKF_WRITE_PROTECTED);
	CU_ASSERT_EQUAL(ti.ulMinPinLen, 6);
	CU_ASSERT_EQUAL(ti.ulMaxPinLen, 8);
	CU_ASSERT_EQUAL(p11->C_GetMechanismInfo(test_slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &mi), CKR_OK);
	CU_ASSERT_EQUAL(mi.ulMinKeySize, 1024);
	CU_ASSERT_EQUAL(mi.ulMaxKeySize, 2048); /* 3072/4096 need a 5.7 card */
	CU_ASSERT_EQUAL(p11->C_GetMechanismInfo(test_slot, CKM_EC_KEY_PAIR_GEN, &mi), CKR_OK);
	CU_ASSERT_EQUAL(mi.ulMinKeySize, 256);
	CU_ASSERT_EQUAL(mi.ulMaxKeySize, 384);
	CU_ASSERT_EQUAL(p11->C_GetMechanismInfo(test_slot, CKM_EC_EDWARDS_KEY_PAIR_GEN, &mi),
			CKR_MECHANISM_INVALID);
}

/* ---- keys ---- */

static void
test_keygen(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	CK_MECHANISM ed = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE pub = 0, priv = 0, ecdh_pub = 0;
	CK_ULONG keys;

	CU_ASSERT_EQUAL_FATAL(p11test_gen_rsa(s, 2048, true, "rsa", &rsa_pub, &rsa_priv), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(p11test_gen_ec(s, P256, false, "ec", &ec_pub, &ec_priv), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(p11test_gen_ec(s, P384, false, "ec384", &ec384_pub, &ec384_priv),
			      CKR_OK);
	CU_ASSERT_EQUAL_FATAL(p11test_gen_ec(s, P256, true, "ecdh", &ecdh_pub, &ecdh_priv), CKR_OK);
	CU_ASSERT_EQUAL(p11test_gen_rsa(s, 1024, false, "rsa1024", &pub, &priv), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, priv), CKR_OK);
	/* What PIV has not: RSA 3072 before 5.7, P-521, EdDSA */
	CU_ASSERT_EQUAL(p11test_gen_rsa(s, 3072, false, "big", &pub, &priv), CKR_KEY_SIZE_RANGE);
	CU_ASSERT_EQUAL(p11test_gen_ec(s, P521, false, "p521", &pub, &priv),
			CKR_CURVE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &ed, NULL, 0, NULL, 0, &pub, &priv),
			CKR_MECHANISM_INVALID);
	keys = p11test_count(s, CKA_CLASS, CKO_PRIVATE_KEY);
	CU_ASSERT_EQUAL(keys, 4);
	CU_ASSERT_FALSE(bool_attr(s, rsa_priv, CKA_ALWAYS_AUTHENTICATE));
	CU_ASSERT(bool_attr(s, rsa_priv, CKA_DECRYPT));
	CU_ASSERT(bool_attr(s, ecdh_priv, CKA_DERIVE));
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_sign(void)
{
	CK_SESSION_HANDLE s = p11test_open(false, true);
	EVP_PKEY *rk = p11test_pkey(s, rsa_pub), *ek = p11test_pkey(s, ec_pub),
		 *ek384 = p11test_pkey(s, ec384_pub);
	const CK_BYTE msg[] = "PIV keys sign through the card's raw RSA and ECDSA.";
	CK_BYTE digest[32], raw[256] = {0};
	CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};

	CU_ASSERT_FATAL(rk && ek && ek384);
	SHA256(msg, sizeof(msg), digest);
	p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, msg, sizeof(msg), false);
	m.mechanism = CKM_SHA512_RSA_PKCS;
	p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, msg, sizeof(msg), true);
	m.mechanism = CKM_RSA_X_509;
	raw[1] = 0x42;
	raw[255] = 0x17;
	p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, raw, sizeof(raw), false);
	m.mechanism = CKM_SHA256_RSA_PKCS_PSS;
	m.pParameter = &pss;
	m.ulParameterLen = sizeof(pss);
	p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, msg, sizeof(msg), false);
	m.mechanism = CKM_RSA_PKCS_PSS;
	p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, digest, 32, false);
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	m.mechanism = CKM_ECDSA;
	p11test_sign_check(s, ec_priv, ec_pub, ek, &m, digest, 32, false);
	m.mechanism = CKM_ECDSA_SHA256;
	p11test_sign_check(s, ec_priv, ec_pub, ek, &m, msg, sizeof(msg), true);
	m.mechanism = CKM_ECDSA_SHA384;
	p11test_sign_check(s, ec384_priv, ec384_pub, ek384, &m, msg, sizeof(msg), false);
	/* a key of a login-once slot needs no CKU_CONTEXT_SPECIFIC, and refuses one */
	m.mechanism = CKM_ECDSA_SHA256;
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, ec_priv), CKR_OK);
	CU_ASSERT_EQUAL(login(s, CKU_CONTEXT_SPECIFIC, TEST_PIN), CKR_OPERATION_NOT_INITIALIZED);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ek);
	EVP_PKEY_free(ek384);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_decrypt(void)
{
	CK_SESSION_HANDLE s = p11test_open(false, true);
	CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED,
					(void *)"label", 5};
	CK_MECHANISM mechs[] = {{CKM_RSA_PKCS, NULL, 0},
				{CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)},
				{CKM_RSA_X_509, NULL, 0}};
	CK_BYTE plain[256], ct[256], out[256];
	CK_ULONG cl, ol, pl;
	size_t i;

	for (i = 0; i < 3; i++) {
		pl = i == 2 ? 256 : 32;
		memset(plain, 0x5a, sizeof(plain));
		plain[0] = 0;
		cl = sizeof(ct);
		CU_ASSERT_EQUAL(p11->C_EncryptInit(s, &mechs[i], rsa_pub), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_Encrypt(s, plain, pl, ct, &cl), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_DecryptInit(s, &mechs[i], rsa_priv), CKR_OK);
		ol = sizeof(out);
		CU_ASSERT_EQUAL(p11->C_Decrypt(s, ct, cl, out, &ol), CKR_OK);
		CU_ASSERT(ol == pl && memcmp(out, plain, pl) == 0);
	}
	/* a damaged ciphertext: the padding check fails without saying where */
	cl = sizeof(ct);
	CU_ASSERT_EQUAL(p11->C_EncryptInit(s, &mechs[1], rsa_pub), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Encrypt(s, plain, 32, ct, &cl), CKR_OK);
	oaep.pSourceData = "other";
	CU_ASSERT_EQUAL(p11->C_DecryptInit(s, &mechs[1], rsa_priv), CKR_OK);
	ol = sizeof(out);
	CU_ASSERT_EQUAL(p11->C_Decrypt(s, ct, cl, out, &ol), CKR_ENCRYPTED_DATA_INVALID);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_derive(void)
{
	CK_SESSION_HANDLE s = p11test_open(false, true);

	p11test_derive_check(s, ecdh_priv);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* 9C: the PIN again right before each signature (PIN policy "always", docs/piv.md "PINs"). */
static void
test_always_authenticate(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	CK_OBJECT_HANDLE pub = 0, priv = 0, pub2 = 0, priv2 = 0;
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	CK_BYTE sig[64];
	CK_ULONG sl = sizeof(sig);
	CK_TOKEN_INFO ti;
	EVP_PKEY *k;

	CU_ASSERT_EQUAL_FATAL(gen_ec_always(s, "consent", &pub, &priv), CKR_OK);
	CU_ASSERT(bool_attr(s, priv, CKA_ALWAYS_AUTHENTICATE));
	/* 9C holds it now: a second one has no slot */
	CU_ASSERT_NOT_EQUAL(gen_ec_always(s, "consent2", &pub2, &priv2), CKR_OK);
	k = p11test_pkey(s, pub);
	CU_ASSERT_FATAL(k != NULL);
	/* without the PIN given again */
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, priv), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Sign(s, (CK_BYTE *)"abc", 3, sig, &sl), CKR_USER_NOT_LOGGED_IN);
	/* a wrong PIN spends a try, the right one allows one signature */
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, priv), CKR_OK);
	CU_ASSERT_EQUAL(login(s, CKU_CONTEXT_SPECIFIC, "999999"), CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(test_slot, &ti), CKR_OK);
	CU_ASSERT(ti.flags & CKF_USER_PIN_COUNT_LOW);
	CU_ASSERT_EQUAL(login(s, CKU_CONTEXT_SPECIFIC, TEST_PIN), CKR_OK);
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(p11->C_Sign(s, (CK_BYTE *)"abc", 3, sig, &sl), CKR_OK);
	CU_ASSERT(p11test_ossl_verify(k, CKM_ECDSA_SHA256, (CK_BYTE *)"abc", 3, sig, sl));
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(test_slot, &ti), CKR_OK);
	CU_ASSERT_FALSE(ti.flags & CKF_USER_PIN_COUNT_LOW);
	/* one signature per PIN */
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, priv), CKR_OK);
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(p11->C_Sign(s, (CK_BYTE *)"abc", 3, sig, &sl), CKR_USER_NOT_LOGGED_IN);
	/* multi-part: the PIN may come before the final step */
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, priv), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SignUpdate(s, (CK_BYTE *)"ab", 2), CKR_OK);
	CU_ASSERT_EQUAL(login(s, CKU_CONTEXT_SPECIFIC, TEST_PIN), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SignUpdate(s, (CK_BYTE *)"c", 1), CKR_OK);
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(p11->C_SignFinal(s, sig, &sl), CKR_OK);
	CU_ASSERT(p11test_ossl_verify(k, CKM_ECDSA_SHA256, (CK_BYTE *)"abc", 3, sig, sl));
	/* no operation, or not logged in */
	CU_ASSERT_EQUAL(login(s, CKU_CONTEXT_SPECIFIC, TEST_PIN), CKR_OPERATION_NOT_INITIALIZED);
	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, priv), CKR_OK);
	EVP_PKEY_free(k);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_certificate(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	EVP_PKEY *pub = p11test_pkey(s, rsa_pub);
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_BBOOL t = CK_TRUE;
	CK_OBJECT_HANDLE h = 0, found[4];
	CK_ULONG n = 0, len = 0;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
			       {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
			       {CKA_TOKEN, &t, 1},
			       {CKA_VALUE, NULL, 0}};
	CK_ATTRIBUTE byid[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, (void *)"rsa", 3}};
	unsigned char *der;
	int der_len = 0;
	CK_BYTE *v;

	CU_ASSERT_FATAL(pub != NULL);
	der = p11test_cert(pub, "mdp11 PIV test", &der_len);
	CU_ASSERT_FATAL(der != NULL);
	tmpl[3].pValue = der;
	tmpl[3].ulValueLen = (CK_ULONG)der_len;
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, 4, &h), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
	/* in the slot's object: seen again by a fresh module instance */
	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(p11test_init(), CKR_OK);
	s = p11test_open(false, false);
	CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, byid, 2), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_FindObjects(s, found, 4, &n), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_FindObjectsFinal(s), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	v = p11test_attr(s, found[0], CKA_VALUE, &len);
	CU_ASSERT(v && len == (CK_ULONG)der_len && memcmp(v, der, len) == 0);
	free(v);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
}

/* Find the key handles again after a new module instance. */
static CK_OBJECT_HANDLE
find_key(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *id)
{
	CK_ATTRIBUTE q[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, (void *)id, strlen(id)}};
	CK_OBJECT_HANDLE h = 0;
	CK_ULONG n = 0;

	CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, q, 2), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_FindObjects(s, &h, 1, &n), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_FindObjectsFinal(s), CKR_OK);
	CU_ASSERT_EQUAL(n, 1);
	return h;
}

static void
test_import(void)
{
	static const char *names[] = {"n",
				      "e",
				      "d",
				      "rsa-factor1",
				      "rsa-factor2",
				      "rsa-exponent1",
				      "rsa-exponent2",
				      "rsa-coefficient1"};
	static const CK_ATTRIBUTE_TYPE types[] = {
		CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
		CKA_PRIME_2, CKA_EXPONENT_1,	  CKA_EXPONENT_2,	CKA_COEFFICIENT};
	CK_SESSION_HANDLE s;
	EVP_PKEY *rk = EVP_RSA_gen(2048), *ek = EVP_EC_gen("P-256");
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_RSA;
	CK_BBOOL t = CK_TRUE;
	CK_ATTRIBUTE tmpl[14];
	CK_BYTE *parts[8], p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_BYTE sig[256];
	CK_ULONG n = 0, i, len = 0, sl = sizeof(sig);
	CK_OBJECT_HANDLE h = 0;
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};

	/* new module instance: find the keys of the key suite again */
	s = p11test_open(true, true);
	rsa_pub = find_key(s, CKO_PUBLIC_KEY, "rsa");
	rsa_priv = find_key(s, CKO_PRIVATE_KEY, "rsa");
	CU_ASSERT_FATAL(rk && ek);
	tmpl[n++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &kt, sizeof(kt)};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_TOKEN, &t, 1};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_DECRYPT, &t, 1};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)"imported", 8};
	for (i = 0; i < 8; i++) {
		parts[i] = p11test_bn(rk, names[i], &len);
		tmpl[n++] = (CK_ATTRIBUTE){types[i], parts[i], len};
	}
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, n, &h), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, h), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Sign(s, (CK_BYTE *)"abc", 3, sig, &sl), CKR_OK);
	CU_ASSERT(p11test_ossl_verify(rk, CKM_SHA256_RSA_PKCS, (CK_BYTE *)"abc", 3, sig, sl));
	for (i = 0; i < 8; i++)
		free(parts[i]);
	/* EC: d alone */
	kt = CKK_EC;
	n = 3;
	tmpl[n++] = (CK_ATTRIBUTE){CKA_SIGN, &t, 1};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)"imported-ec", 11};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, p256, sizeof(p256)};
	parts[0] = p11test_bn(ek, "priv", &len);
	tmpl[n++] = (CK_ATTRIBUTE){CKA_VALUE, parts[0], len};
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, n, &h), CKR_OK);
	m.mechanism = CKM_ECDSA_SHA256;
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, h), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Sign(s, (CK_BYTE *)"abc", 3, sig, &sl), CKR_OK);
	CU_ASSERT_EQUAL(sl, 64);
	CU_ASSERT(p11test_ossl_verify(ek, CKM_ECDSA_SHA256, (CK_BYTE *)"abc", 3, sig, sl));
	free(parts[0]);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ek);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* The management key is the SO PIN (hex); the PUK, not the SO, unblocks the PIN. */
static void
test_so(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, false);

	CU_ASSERT_EQUAL(login(s, CKU_SO, "0102030405060708090a0b0c0d0e0f10111213141516171x"),
			CKR_PIN_INVALID);
	/* a key of another length than the card's algorithm takes */
	CU_ASSERT_EQUAL(login(s, CKU_SO, AES128_HEX), CKR_PIN_LEN_RANGE);
	CU_ASSERT_EQUAL(login(s, CKU_SO, "0102030405060708010203040506070801020304050607ff"),
			CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(login(s, CKU_SO, MGM_DEFAULT_HEX), CKR_OK);
	CU_ASSERT_NOT_EQUAL(p11->C_InitPIN(s, (CK_UTF8CHAR *)"654321", 6), CKR_OK);
	/* to AES-128 (the card is 5.4.3: AES allowed), and back to 3DES */
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)MGM_DEFAULT_HEX, strlen(MGM_DEFAULT_HEX),
				      (CK_UTF8CHAR *)AES128_HEX, strlen(AES128_HEX)),
			CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	CU_ASSERT_EQUAL(login(s, CKU_SO, MGM_DEFAULT_HEX), CKR_PIN_LEN_RANGE);
	CU_ASSERT_EQUAL(login(s, CKU_SO, "00112233445566778899aabbccddeef0"), CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(login(s, CKU_SO, AES128_HEX), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)AES128_HEX, strlen(AES128_HEX),
				      (CK_UTF8CHAR *)MGM_DEFAULT_HEX, strlen(MGM_DEFAULT_HEX)),
			CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	CU_ASSERT_EQUAL(login(s, CKU_SO, MGM_DEFAULT_HEX), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* C_SetPIN as the user: the old PIN is verified first (a wrong one spends a try). */
static void
test_user_pin(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, false);
	CK_TOKEN_INFO ti;

	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)"111111", 6, (CK_UTF8CHAR *)"654321", 6),
			CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(test_slot, &ti), CKR_OK);
	CU_ASSERT(ti.flags & CKF_USER_PIN_COUNT_LOW);
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)TEST_PIN, 6, (CK_UTF8CHAR *)"12", 2),
			CKR_PIN_LEN_RANGE);
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)TEST_PIN, 6, (CK_UTF8CHAR *)"654321", 6),
			CKR_OK);
	CU_ASSERT_EQUAL(login(s, CKU_USER, TEST_PIN), CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(login(s, CKU_USER, "654321"), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)"654321", 6, (CK_UTF8CHAR *)TEST_PIN, 6),
			CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	CU_ASSERT_EQUAL(login(s, CKU_USER, TEST_PIN), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* ---- a YubiKey 5.7 with its own AES-256 management key: the SO makes the changes ---- */

static void
test_aes_card(void)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE pub = 0, priv = 0, cert = 0;
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
	CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_BBOOL t = CK_TRUE;
	CK_ATTRIBUTE ctmpl[] = {{CKA_CLASS, &cc, sizeof(cc)},
				{CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
				{CKA_TOKEN, &t, 1},
				{CKA_VALUE, NULL, 0}};
	CK_MECHANISM_INFO mi;
	unsigned char *der;
	int der_len = 0;
	EVP_PKEY *k;

	CU_ASSERT_EQUAL_FATAL(p11test_init(), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetMechanismInfo(test_slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &mi), CKR_OK);
	CU_ASSERT_EQUAL(mi.ulMaxKeySize, 4096);
	s = p11test_open(true, false);
	/* the user alone cannot change this card: the management key is not the factory one */
	CU_ASSERT_EQUAL(login(s, CKU_USER, TEST_PIN), CKR_OK);
	CU_ASSERT_EQUAL(p11test_gen_ec(s, P256, false, "user", &pub, &priv),
			CKR_USER_NOT_LOGGED_IN);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	/* the SO: 64 hex digits */
	CU_ASSERT_EQUAL(login(s, CKU_SO, MGM_DEFAULT_HEX), CKR_PIN_LEN_RANGE);
	CU_ASSERT_EQUAL(login(s, CKU_SO, AES256_HEX), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(p11test_gen_rsa(s, 3072, false, "rsa3072", &pub, &priv), CKR_OK);
	k = p11test_pkey(s, pub);
	CU_ASSERT_FATAL(k != NULL);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(k), 3072);
	der = p11test_cert(k, "SO-made", &der_len);
	CU_ASSERT_FATAL(der != NULL);
	ctmpl[3].pValue = der;
	ctmpl[3].ulValueLen = (CK_ULONG)der_len;
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, ctmpl, 4, &cert), CKR_OK);
	OPENSSL_free(der);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	/* the user signs with it */
	CU_ASSERT_EQUAL(login(s, CKU_USER, TEST_PIN), CKR_OK);
	pub = find_key(s, CKO_PUBLIC_KEY, "rsa3072");
	priv = find_key(s, CKO_PRIVATE_KEY, "rsa3072");
	p11test_sign_check(s, priv, pub, k, &m, (const CK_BYTE *)"abc", 3, false);
	EVP_PKEY_free(k);
	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, priv), CKR_USER_NOT_LOGGED_IN);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	/* the SO sees no private key: destroying the public key deletes the pair (5.7: F6) */
	CU_ASSERT_EQUAL(login(s, CKU_SO, AES256_HEX), CKR_OK);
	pub = find_key(s, CKO_PUBLIC_KEY, "rsa3072");
	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, pub), CKR_OK);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_PUBLIC_KEY), 0);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_CERTIFICATE), 0);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	CU_ASSERT_EQUAL(login(s, CKU_USER, TEST_PIN), CKR_OK);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_PRIVATE_KEY), 0);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

int
main(void)
{
	CU_TestInfo piv_tests[] = {
		{"token and mechanisms", test_token},
		{"key generation, what PIV refuses", test_keygen},
		{"signatures (raw RSA + host padding, ECDSA)", test_sign},
		{"decryption (PKCS#1, OAEP, raw)", test_decrypt},
		{"ECDH", test_derive},
		{"9C: CKA_ALWAYS_AUTHENTICATE, CKU_CONTEXT_SPECIFIC", test_always_authenticate},
		{"certificate in the slot's object, a new instance", test_certificate},
		{"private key import", test_import},
		{"SO PIN = management key (3DES, AES-128)", test_so},
		{"user PIN change", test_user_pin},
		CU_TEST_INFO_NULL,
	};
	CU_TestInfo aes_tests[] = {
		{"5.7, AES-256 management key: the SO changes, RSA 3072, delete", test_aes_card},
		CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suites[] = {
		{"piv", suite_init_3des, suite_clean, NULL, NULL, piv_tests},
		{"piv-5.7-aes", suite_init_aes, suite_clean, NULL, NULL, aes_tests},
		CU_SUITE_INFO_NULL,
	};

	return test_run("test-module-piv", suites);
}
