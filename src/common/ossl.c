/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Provider-only key contexts, immune to an application's default ENGINE. */
#include "config.h"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/params.h>

#include "common/ossl.h"

/* rsaEncryption and id-ecPublicKey: names the default provider's keymgmt answers to. */
#define OID_RSA "1.2.840.113549.1.1.1"
#define OID_EC "1.2.840.10045.2.1"

EVP_PKEY_CTX *
mdp_pkey_ctx_new(int type)
{
	if (type == EVP_PKEY_RSA)
		return EVP_PKEY_CTX_new_from_name(NULL, OID_RSA, NULL);
	if (type == EVP_PKEY_EC)
		return EVP_PKEY_CTX_new_from_name(NULL, OID_EC, NULL);
	return NULL;
}

static EVP_PKEY *
keygen(int type, const OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = mdp_pkey_ctx_new(type);
	EVP_PKEY *pkey = NULL;

	if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_params(ctx, params) == 1 &&
	    EVP_PKEY_generate(ctx, &pkey) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

EVP_PKEY *
mdp_pkey_keygen_rsa(size_t bits)
{
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &bits);
	params[1] = OSSL_PARAM_construct_end();
	return keygen(EVP_PKEY_RSA, params);
}

EVP_PKEY *
mdp_pkey_keygen_ec(const char *curve)
{
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
	params[1] = OSSL_PARAM_construct_end();
	return keygen(EVP_PKEY_EC, params);
}

EVP_PKEY *
mdp_pkey_decode_der(const uint8_t **pp, size_t len, const char *structure, const char *keytype,
		    int selection)
{
	OSSL_DECODER_CTX *dctx;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = *pp;
	size_t left = len;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", structure, keytype, selection, NULL,
					     NULL);
	if (dctx == NULL)
		return NULL;
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || pkey == NULL) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	} else {
		*pp += len - left;
	}
	OSSL_DECODER_CTX_free(dctx);
	return pkey;
}
