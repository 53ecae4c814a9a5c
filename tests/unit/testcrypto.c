/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* OpenSSL checks shared by the card-module tests: signatures as card modules return them. */
#include "config.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/ossl.h"
#include "tests/unit/testcrypto.h"

void
tc_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned l = 0;

	EVP_Digest(p, n, out, &l, EVP_sha256(), NULL);
}

bool
tc_verify_rsa_le(EVP_PKEY *pk, int pad, const EVP_MD *md, int saltlen, const uint8_t *hash,
		 size_t hlen, const uint8_t *sig_le, size_t slen)
{
	uint8_t sig[512];
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
	size_t i;
	int ok;

	if (slen > sizeof(sig)) {
		EVP_PKEY_CTX_free(c);
		return false;
	}
	for (i = 0; i < slen; i++)
		sig[i] = sig_le[slen - 1 - i];
	ok = c && EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, pad) == 1 &&
	     (!md || EVP_PKEY_CTX_set_signature_md(c, md) == 1) &&
	     (pad != RSA_PKCS1_PSS_PADDING || EVP_PKEY_CTX_set_rsa_pss_saltlen(c, saltlen) == 1) &&
	     EVP_PKEY_verify(c, sig, slen, hash, hlen) == 1;
	EVP_PKEY_CTX_free(c);
	return ok;
}

bool
tc_verify_ecdsa_rs(EVP_PKEY *pk, const uint8_t *hash, size_t hlen, const uint8_t *rs, size_t len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, (int)(len / 2), NULL),
	       *ss = BN_bin2bn(rs + len / 2, (int)(len / 2), NULL);
	uint8_t *der = NULL;
	int dl;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
	bool ok;

	ECDSA_SIG_set0(s, r, ss);
	dl = i2d_ECDSA_SIG(s, &der);
	ok = c && dl > 0 && EVP_PKEY_verify_init(c) == 1 &&
	     EVP_PKEY_verify(c, der, (size_t)dl, hash, hlen) == 1;
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	EVP_PKEY_CTX_free(c);
	return ok;
}

uint8_t *
tc_cert_for(EVP_PKEY *pub, const char *cn, size_t *len)
{
	EVP_PKEY *signer = mdp_pkey_keygen_ec("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char *der = NULL;
	int l;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, pub);
	X509_sign(x, signer, EVP_sha256());
	l = i2d_X509(x, &der);
	*len = l > 0 ? (size_t)l : 0;
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(signer);
	return der;
}
