/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Module test helpers: dlopen the built module, one virtual card per test program. */
#include "config.h"

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/module/p11test.h"
#include "tests/unit/testutil.h"
#include "vcard/vcard.h"

CK_FUNCTION_LIST *p11;
CK_SLOT_ID test_slot;

static void *dl;
static char *tmpdir;
static char card_path[512];
static char conf_path[512];
static const char *module_path;

bool
p11test_pcsc(void)
{
	const char *v = getenv("MDP11_TEST_PCSC");

	return v && strcmp(v, "1") == 0;
}

const char *
p11test_card_path(void)
{
	return card_path;
}

const char *
p11test_module_path(void)
{
	return module_path;
}

int
p11test_setup(void)
{
	return p11test_setup_card(NULL);
}

int
p11test_setup_card(const struct vcard_init_params *card)
{
	static const uint8_t admin[24] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
					  13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
	struct vcard_init_params params = {0};
	CK_C_GetFunctionList get;
	FILE *f;

	module_path = getenv("MDP11_TEST_MODULE");
	if (!module_path)
		module_path = MDP11_MODULE_PATH;
	dl = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "dlopen %s: %s\n", module_path, dlerror());
		return -1;
	}
	get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
	if (!get || get(&p11) != CKR_OK)
		return -1;
	tmpdir = test_tmpdir();
	if (!tmpdir)
		return -1;
	snprintf(card_path, sizeof(card_path), "%s/card.vcard", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/mdp11.conf", tmpdir);
	f = fopen(conf_path, "w");
	if (!f)
		return -1;
	if (p11test_pcsc()) {
		/* The card is served to pcscd by the calling script (tests/integration). */
		fputs("[readers]\npcsc = yes\n", f);
		fclose(f);
		unsetenv("MDP11_VCARD");
		setenv("MDP11_CONF", conf_path, 1);
		return 0;
	}
	fputs("[readers]\npcsc = no\n", f);
	fclose(f);
	if (card)
		params = *card;
	if (!params.pin)
		params.pin = TEST_PIN;
	if (!params.admin_key)
		params.admin_key = admin;
	if (!params.pin_tries)
		params.pin_tries = 3;
	if (vcard_create(card_path, &params) != 0)
		return -1;
	setenv("MDP11_CONF", conf_path, 1);
	setenv("MDP11_VCARD", card_path, 1);
	return 0;
}

void
p11test_teardown(void)
{
	if (p11)
		p11->C_Finalize(NULL);
	if (dl)
		dlclose(dl);
	if (tmpdir) {
		test_rmtree(tmpdir);
		free(tmpdir);
	}
}

CK_RV
p11test_init(void)
{
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4;
	CK_RV rv;

	rv = p11->C_Initialize(NULL);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return rv;
	rv = p11->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK)
		return rv;
	if (n != 1)
		return CKR_GENERAL_ERROR;
	test_slot = slots[0];
	return CKR_OK;
}

CK_SESSION_HANDLE
p11test_suite_session(void)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;

	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	if (p11test_setup() != 0 || p11test_init() != CKR_OK)
		return CK_INVALID_HANDLE;
	if (p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) !=
	    CKR_OK)
		return CK_INVALID_HANDLE;
	if (p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, strlen(TEST_PIN)) != CKR_OK) {
		p11->C_CloseSession(s);
		return CK_INVALID_HANDLE;
	}
	return s;
}

CK_SESSION_HANDLE
p11test_open(bool rw, bool login)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_RV rv;

	rv = p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL,
				NULL, &s);
	CU_ASSERT_EQUAL(rv, CKR_OK);
	if (login) {
		rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, strlen(TEST_PIN));
		CU_ASSERT(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
	}
	return s;
}

CK_RV
p11test_gen_rsa(CK_SESSION_HANDLE s, CK_ULONG bits, bool exchange, const char *id,
		CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_MECHANISM mech = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL t = CK_TRUE, x = exchange ? CK_TRUE : CK_FALSE;
	CK_BYTE e[] = {1, 0, 1};
	CK_ATTRIBUTE pubt[] = {
		{CKA_TOKEN, &t, sizeof(t)},
		{CKA_MODULUS_BITS, &bits, sizeof(bits)},
		{CKA_PUBLIC_EXPONENT, e, sizeof(e)},
		{CKA_VERIFY, &t, sizeof(t)},
	};
	CK_ATTRIBUTE privt[] = {
		{CKA_TOKEN, &t, sizeof(t)},
		{CKA_SIGN, &t, sizeof(t)},
		{CKA_DECRYPT, &x, sizeof(x)},
		{CKA_ID, (void *)id, id ? strlen(id) : 0},
	};

	return p11->C_GenerateKeyPair(s, &mech, pubt, 4, privt, id ? 4 : 3, pub, priv);
}

static size_t
unhex(const char *h, CK_BYTE *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (CK_BYTE)v;
	}
	return n;
}

CK_RV
p11test_gen_ec(CK_SESSION_HANDLE s, const char *curve_oid_hex, bool derive, const char *id,
	       CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL t = CK_TRUE, d = derive ? CK_TRUE : CK_FALSE, sg = derive ? CK_FALSE : CK_TRUE;
	CK_BYTE params[64];
	size_t plen = unhex(curve_oid_hex, params);
	CK_ATTRIBUTE pubt[] = {
		{CKA_TOKEN, &t, sizeof(t)},
		{CKA_EC_PARAMS, params, plen},
	};
	CK_ATTRIBUTE privt[] = {
		{CKA_TOKEN, &t, sizeof(t)},
		{CKA_SIGN, &sg, sizeof(sg)},
		{CKA_DERIVE, &d, sizeof(d)},
		{CKA_ID, (void *)id, id ? strlen(id) : 0},
	};

	return p11->C_GenerateKeyPair(s, &mech, pubt, 2, privt, id ? 4 : 3, pub, priv);
}

void *
p11test_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t, CK_ULONG *len)
{
	CK_ATTRIBUTE a = {t, NULL, 0};
	void *p;

	if (p11->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return NULL;
	p = malloc(a.ulValueLen + 1);
	if (!p)
		return NULL;
	a.pValue = p;
	if (p11->C_GetAttributeValue(s, o, &a, 1) != CKR_OK) {
		free(p);
		return NULL;
	}
	((char *)p)[a.ulValueLen] = '\0';
	if (len)
		*len = a.ulValueLen;
	return p;
}

CK_ULONG
p11test_count(CK_SESSION_HANDLE s, CK_ATTRIBUTE_TYPE t, CK_ULONG v)
{
	CK_ATTRIBUTE a = {t, &v, sizeof(v)};
	CK_OBJECT_HANDLE h[64];
	CK_ULONG n = 0;

	bool all = t == CK_UNAVAILABLE_INFORMATION;

	if (p11->C_FindObjectsInit(s, all ? NULL : &a, all ? 0 : 1) != CKR_OK)
		return (CK_ULONG)-1;
	if (p11->C_FindObjects(s, h, 64, &n) != CKR_OK)
		n = (CK_ULONG)-1;
	p11->C_FindObjectsFinal(s);
	return n;
}

/* ---- checking what the card made ---- */

/* The card key's public key as OpenSSL sees it (from CKA_PUBLIC_KEY_INFO). */
EVP_PKEY *
p11test_pkey(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
	CK_ULONG len = 0;
	unsigned char *der = p11test_attr(s, h, CKA_PUBLIC_KEY_INFO, &len);
	const unsigned char *p = der;
	EVP_PKEY *k = der ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;

	free(der);
	return k;
}

const EVP_MD *
p11test_md(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA1_RSA_PKCS:
	case CKM_SHA1_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA1:
	case CKM_SHA_1:
		return EVP_sha1();
	case CKM_SHA224_RSA_PKCS:
	case CKM_SHA224_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA224:
		return EVP_sha224();
	case CKM_SHA256_RSA_PKCS:
	case CKM_SHA256_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA256:
	case CKM_SHA256:
		return EVP_sha256();
	case CKM_SHA384_RSA_PKCS:
	case CKM_SHA384_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA384:
		return EVP_sha384();
	case CKM_SHA512_RSA_PKCS:
	case CKM_SHA512_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* Check a signature with OpenSSL alone (what a relying party does). */
bool
p11test_ossl_verify(EVP_PKEY *k, CK_MECHANISM_TYPE m, const CK_BYTE *data, size_t len,
		    const CK_BYTE *sig, size_t sig_len)
{
	const EVP_MD *md = p11test_md(m);
	unsigned char dig[64], *der = NULL, rec[512];
	unsigned dlen = 0;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
	size_t rlen = sizeof(rec);
	bool ok = false;
	int derlen;

	if (md) {
		EVP_Digest(data, len, dig, &dlen, md, NULL);
		data = dig;
		len = dlen;
	}
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
		ECDSA_SIG *es = ECDSA_SIG_new();

		ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)sig_len / 2, NULL),
			       BN_bin2bn(sig + sig_len / 2, (int)sig_len / 2, NULL));
		derlen = i2d_ECDSA_SIG(es, &der);
		ok = EVP_PKEY_verify_init(ctx) > 0 &&
		     EVP_PKEY_verify(ctx, der, (size_t)derlen, data, len) == 1;
		ECDSA_SIG_free(es);
		OPENSSL_free(der);
	} else if (m == CKM_RSA_X_509 || m == CKM_RSA_PKCS) {
		ok = EVP_PKEY_verify_recover_init(ctx) > 0 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, m == CKM_RSA_PKCS ? RSA_PKCS1_PADDING
									 : RSA_NO_PADDING) > 0 &&
		     EVP_PKEY_verify_recover(ctx, rec, &rlen, sig, sig_len) > 0 && rlen >= len &&
		     memcmp(rec + rlen - len, data, len) == 0;
	} else if (m == CKM_RSA_PKCS_PSS ||
		   (m >= CKM_SHA256_RSA_PKCS_PSS && m <= CKM_SHA512_RSA_PKCS_PSS) ||
		   m == CKM_SHA1_RSA_PKCS_PSS || m == CKM_SHA224_RSA_PKCS_PSS) {
		ok = EVP_PKEY_verify_init(ctx) > 0 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, md ? md : EVP_sha256()) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) > 0 &&
		     EVP_PKEY_verify(ctx, sig, sig_len, data, len) == 1;
	} else {
		ok = EVP_PKEY_verify_init(ctx) > 0 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, md) > 0 &&
		     EVP_PKEY_verify(ctx, sig, sig_len, data, len) == 1;
	}
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

void
p11test_sign_check(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub, EVP_PKEY *k,
		   CK_MECHANISM *m, const CK_BYTE *data, CK_ULONG len, bool multi)
{
	CK_BYTE sig[600];
	CK_ULONG sl = 0;

	CU_ASSERT_EQUAL_FATAL(p11->C_SignInit(s, m, priv), CKR_OK);
	if (multi) {
		CU_ASSERT_EQUAL(p11->C_SignUpdate(s, (CK_BYTE *)data, len / 2), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_SignUpdate(s, (CK_BYTE *)data + len / 2, len - len / 2),
				CKR_OK);
		CU_ASSERT_EQUAL(p11->C_SignFinal(s, NULL, &sl), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_SignFinal(s, sig, &sl), CKR_OK);
	} else {
		CU_ASSERT_EQUAL(p11->C_Sign(s, (CK_BYTE *)data, len, NULL, &sl), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_Sign(s, (CK_BYTE *)data, len, sig, &sl), CKR_OK);
	}
	if (!p11test_ossl_verify(k, m->mechanism, data, len, sig, sl))
		fprintf(stderr, "mechanism 0x%lx: OpenSSL rejects the signature\n", m->mechanism);
	CU_ASSERT(p11test_ossl_verify(k, m->mechanism, data, len, sig, sl));
	CU_ASSERT_EQUAL(p11->C_VerifyInit(s, m, pub), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Verify(s, (CK_BYTE *)data, len, sig, sl), CKR_OK);
	sig[sl / 2] ^= 1;
	CU_ASSERT_EQUAL(p11->C_VerifyInit(s, m, pub), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Verify(s, (CK_BYTE *)data, len, sig, sl), CKR_SIGNATURE_INVALID);
}

CK_BYTE *
p11test_bn(struct evp_pkey_st *k, const char *name, CK_ULONG *len)
{
	BIGNUM *b = NULL;
	CK_BYTE *p;

	if (!EVP_PKEY_get_bn_param(k, name, &b))
		return NULL;
	*len = (CK_ULONG)BN_num_bytes(b);
	p = malloc(*len ? *len : 1);
	if (p)
		BN_bn2bin(b, p);
	BN_clear_free(b);
	return p;
}

unsigned char *
p11test_cert(struct evp_pkey_st *pub, const char *cn, int *len)
{
	EVP_PKEY *signer = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;

	*len = 0;
	if (signer && x && name &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
				       0) &&
	    X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 42) &&
	    X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, pub) &&
	    X509_sign(x, signer, EVP_sha256()) > 0)
		*len = i2d_X509(x, &der);
	if (*len <= 0) {
		*len = 0;
		der = NULL;
	}
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(signer);
	return der;
}

void
p11test_derive_check(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv)
{
	/* the ECDH public key comes from the private key (CKA_PUBLIC_KEY_INFO) */
	EVP_PKEY *peer = EVP_EC_gen("P-256"), *card = p11test_pkey(s, priv);
	unsigned char point[65], ref[32];
	size_t rl = sizeof(point);
	CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, 65, point};
	CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_BBOOL f = CK_FALSE, t = CK_TRUE;
	CK_ULONG vl = 32, len = 0;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
			       {CKA_KEY_TYPE, &kt, sizeof(kt)},
			       {CKA_SENSITIVE, &f, 1},
			       {CKA_EXTRACTABLE, &t, 1},
			       {CKA_VALUE_LEN, &vl, sizeof(vl)}};
	CK_OBJECT_HANDLE h = 0;
	EVP_PKEY_CTX *ctx;
	CK_BYTE *v;

	CU_ASSERT_FATAL(peer && card);
	CU_ASSERT_EQUAL_FATAL(
		EVP_PKEY_get_octet_string_param(peer, "encoded-pub-key", point, sizeof(point), &rl),
		1);
	ctx = EVP_PKEY_CTX_new(peer, NULL);
	rl = sizeof(ref);
	CU_ASSERT(EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, card) > 0 &&
		  EVP_PKEY_derive(ctx, ref, &rl) > 0);
	EVP_PKEY_CTX_free(ctx);
	CU_ASSERT_EQUAL(p11->C_DeriveKey(s, &m, priv, tmpl, 5, &h), CKR_OK);
	v = p11test_attr(s, h, CKA_VALUE, &len);
	CU_ASSERT(v && len == 32 && memcmp(v, ref, 32) == 0);
	free(v);
	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, h), CKR_OK);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(card);
}
