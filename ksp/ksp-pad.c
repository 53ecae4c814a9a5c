/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host-side RSA padding (PSS encoding, OAEP decoding) over a card's raw RSA operation. */
#include "config.h"

/* OpenSSL 3 keeps the padding primitives only in its deprecated RSA API. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "ksp/ksp-int.h"

static const EVP_MD *
md_by_cng(const char *name)
{
	static const struct {
		const char *cng, *ossl;
	} map[] = {
		{"MD5", "MD5"},	      {"SHA1", "SHA1"},	    {"SHA224", "SHA224"},
		{"SHA256", "SHA256"}, {"SHA384", "SHA384"}, {"SHA512", "SHA512"},
	};
	size_t i;

	for (i = 0; name && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].cng, name) == 0)
			return EVP_get_digestbyname(map[i].ossl);
	return NULL;
}

bool
ksp_pss_encode(struct evp_pkey_st *pub, const char *hash, const char *mgf1, const uint8_t *mhash,
	       size_t mhash_len, size_t salt_len, uint8_t *em, size_t k)
{
	const EVP_MD *md = md_by_cng(hash), *mgf = md_by_cng(mgf1);
	const RSA *rsa = pub ? EVP_PKEY_get0_RSA(pub) : NULL;

	if (!md || !mgf || !rsa || (size_t)RSA_size(rsa) != k ||
	    mhash_len != (size_t)EVP_MD_get_size(md) || salt_len > INT_MAX)
		return false;
	memset(em, 0, k);
	return RSA_padding_add_PKCS1_PSS_mgf1((RSA *)rsa, em, mhash, md, mgf, (int)salt_len) == 1;
}

int
ksp_oaep_decode(const uint8_t *em, size_t k, const char *hash, const char *mgf1,
		const uint8_t *label, size_t label_len, uint8_t *out, size_t cap)
{
	const EVP_MD *md = md_by_cng(hash), *mgf = md_by_cng(mgf1);

	if (!md || !mgf || k > INT_MAX || cap > INT_MAX || label_len > INT_MAX)
		return -1;
	return RSA_padding_check_PKCS1_OAEP_mgf1(out, (int)cap, em, (int)k, (int)k, label,
						 (int)label_len, md, mgf);
}
