/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* OpenSSL checks shared by the card-module tests: signatures as card modules return them. */
#ifndef MDP11_TESTS_TESTCRYPTO_H
#define MDP11_TESTS_TESTCRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* SHA-256 of p. */
void tc_sha256(const void *p, size_t n, uint8_t out[32]);
/*
 * Verify an RSA signature as CardSignData returns it (little-endian) over hash: padding pad
 * (RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING with saltlen, RSA_NO_PADDING), digest md (NULL: none).
 */
bool tc_verify_rsa_le(EVP_PKEY *pk, int pad, const EVP_MD *md, int saltlen, const uint8_t *hash,
		      size_t hlen, const uint8_t *sig_le, size_t slen);
/* Verify an ECDSA signature r || s (each len / 2 bytes) over hash. */
bool tc_verify_ecdsa_rs(EVP_PKEY *pk, const uint8_t *hash, size_t hlen, const uint8_t *rs,
			size_t len);
/* A certificate of pub with subject CN cn, signed by a throw-away key (OPENSSL_free the DER). */
uint8_t *tc_cert_for(EVP_PKEY *pub, const char *cn, size_t *len);

#endif
