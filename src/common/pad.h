/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RSA padding for the host and every card module: PKCS#1 v1.5, PSS, OAEP; constant-time unpadding.
 */
#ifndef MDP11_COMMON_PAD_H
#define MDP11_COMMON_PAD_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/hash.h"

/*
 * A card that only does raw RSA (or a host asked for what the card module cannot do) pads and
 * unpads on the host, as Windows' pfnCspPadData does (spec/minidriver.md §3). Every card module
 * and the host role do it through these functions; none keeps its own copy.
 *
 * Blocks are big-endian and exactly k bytes (the modulus length), the leading 00 included.
 * Hashes are enum mdp_hash (common/hash.h).
 */

/*
 * EMSA-PKCS1-v1_5 (RFC 8017 §9.2): em = 00 01 FF..FF 00 || T, with T = the DigestInfo prefix of
 * h || data (data must then be the digest), or T = data when h is MDP_HASH_NONE (a DigestInfo
 * built by the caller). MDP_ERR_ARGS for a digest of the wrong length or a hash without
 * DigestInfo, MDP_ERR_OVERFLOW when T does not fit (k < len(T) + 11).
 */
enum mdp_err mdp_pad_pkcs1_sign(enum mdp_hash h, const uint8_t *data, size_t len, uint8_t *em,
				size_t k);

/*
 * EMSA-PSS encoding (RFC 8017 §9.1.1) of the digest mhash (hash h) with MGF1 over mgf1 and a
 * random salt of salt_len bytes, for a modulus of mod_bits bits (k = its length in bytes).
 * MDP_ERR_ARGS for unknown hashes or a digest of the wrong length, MDP_ERR_OVERFLOW when the
 * modulus is too small for the digest and the salt.
 */
enum mdp_err mdp_pad_pss(enum mdp_hash h, enum mdp_hash mgf1, const uint8_t *mhash, size_t hlen,
			 size_t salt_len, unsigned mod_bits, uint8_t *em, size_t k);

/*
 * Decryption unpadding, constant-time in the content of em: no branch and no memory access
 * depends on the plaintext, on where its padding ends, or on which check failed. Both run
 * OpenSSL's own constant-time checks (RSA_padding_check_PKCS1_OAEP_mgf1,
 * RSA_padding_check_PKCS1_type_2); tests/unit/test-pad-ct.c proves it under valgrind, with em
 * marked undefined so that any branch on it is reported.
 *
 * The result is the only thing revealed: MDP_OK with the message in out[0 .. *out_len), or
 * MDP_ERR_FORMAT for every padding failure alike (and for a message longer than cap). Unlike
 * the rest of the project, *out_len is written in both cases (0 on failure): choosing not to
 * write it would be a branch on the secret outcome. MDP_ERR_ARGS (checked before anything
 * secret is read) for NULL pointers, unknown hashes, k < 11 (PKCS#1) or k < 2 hLen + 2 (OAEP).
 *
 * PKCS#1 v1.5 gets no implicit rejection (a synthetic message instead of an error): PKCS#11
 * defines CKR_ENCRYPTED_DATA_INVALID for a bad block and its callers (TLS stacks) apply their
 * own Bleichenbacher countermeasure to that answer; OpenSSL's implicit rejection (3.2+) also
 * needs the private exponent, which stays on the card (docs/design.md).
 */
enum mdp_err mdp_unpad_pkcs1(const uint8_t *em, size_t k, uint8_t *out, size_t cap,
			     size_t *out_len);
enum mdp_err mdp_unpad_oaep(enum mdp_hash h, enum mdp_hash mgf1, const uint8_t *label,
			    size_t label_len, const uint8_t *em, size_t k, uint8_t *out, size_t cap,
			    size_t *out_len);

#endif
