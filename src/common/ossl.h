/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* OpenSSL helpers that always reach the default provider, whatever ENGINE the application set. */
#ifndef MDP11_COMMON_OSSL_H
#define MDP11_COMMON_OSSL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/*
 * mdp11 runs inside applications that may have made an ENGINE the default
 * for RSA or EC (openssl req -engine pkcs11 with libp11, which loads mdp11
 * itself). In OpenSSL 3.0 a context created by the names "RSA" or "EC" then
 * becomes a legacy ENGINE context, and EVP_PKEY_fromdata/keygen on it fail.
 * Fetching by the algorithm's OID reaches the provider's key management
 * directly. Use these instead of EVP_PKEY_CTX_new_from_name(NULL, "RSA"...).
 *
 * type is EVP_PKEY_RSA or EVP_PKEY_EC; NULL for anything else.
 */
EVP_PKEY_CTX *mdp_pkey_ctx_new(int type);
/* RSA key pair with e = 65537; NULL on failure. */
EVP_PKEY *mdp_pkey_keygen_rsa(size_t bits);
/* EC key pair on a named curve ("P-256", "P-384", "P-521"); NULL on failure. */
EVP_PKEY *mdp_pkey_keygen_ec(const char *curve);

/*
 * DER decoding through OSSL_DECODER, which always yields provider keys: the
 * d2i_* functions fall back to an ENGINE's legacy methods when the
 * application made one the default, and the resulting keys then refuse
 * EVP_PKEY_get_bn_param and friends.
 *
 * structure: "PrivateKeyInfo" (PKCS#8), "SubjectPublicKeyInfo", or
 * "type-specific" (PKCS#1 RSAPrivateKey, SEC1 ECPrivateKey); keytype "RSA",
 * "EC" or NULL for any; selection EVP_PKEY_KEYPAIR or EVP_PKEY_PUBLIC_KEY.
 * Like d2i_*, *pp is advanced past the bytes consumed (so a caller can
 * refuse trailing bytes); NULL on failure with *pp unchanged.
 */
EVP_PKEY *mdp_pkey_decode_der(const uint8_t **pp, size_t len, const char *structure,
			      const char *keytype, int selection);

#endif
