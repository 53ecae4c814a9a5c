/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one table of hash algorithms: CNG names, CAPI ALG_IDs, lengths, DigestInfo prefixes. */
#ifndef MDP11_COMMON_HASH_H
#define MDP11_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every layer that names a hash uses this enum and this table: the host role (struct
 * ksp_padding), the card modules (the CNG name of md_padding_info.alg_id, the CALG_* of
 * md_signing_info.hash_alg, spec/minidriver.md §4.5), the padding module (common/pad.h) and the
 * PKCS#11 mechanisms. Nothing else keeps a list of hash names.
 */
enum mdp_hash {
	MDP_HASH_NONE = 0,
	MDP_HASH_MD5,
	MDP_HASH_SHA1,
	MDP_HASH_SHA224,
	MDP_HASH_SHA256,
	MDP_HASH_SHA384,
	MDP_HASH_SHA512,
	MDP_HASH_RIPEMD160,
	MDP_HASH_SSL3_SHAMD5, /* CALG_SSL3_SHAMD5: MD5 || SHA-1, 36 bytes, no DigestInfo */
};

struct mdp_hash_info {
	enum mdp_hash id;
	const char *name;      /* CNG name ("SHA256"); compared case-insensitively */
	uint32_t calg;	       /* CAPI ALG_ID; 0 when CAPI has none (SHA-224) */
	size_t len;	       /* digest bytes */
	const uint8_t *prefix; /* DER DigestInfo up to the digest (RFC 8017 §9.2 note 1); NULL for
				  SSL3_SHAMD5 */
	size_t prefix_len;
};

/* The entry of a hash; NULL for MDP_HASH_NONE and values outside the enum. */
const struct mdp_hash_info *mdp_hash_get(enum mdp_hash h);
/* By CNG name (any case) / by CALG_*; MDP_HASH_NONE when unknown (or name NULL, calg 0). */
enum mdp_hash mdp_hash_by_name(const char *cng_name);
enum mdp_hash mdp_hash_by_calg(uint32_t calg);
/* Digest length in bytes; 0 for MDP_HASH_NONE and unknown values. */
size_t mdp_hash_len(enum mdp_hash h);
/*
 * The OpenSSL digest (EVP_sha256() ...); NULL for MDP_HASH_NONE, unknown values and
 * SSL3_SHAMD5 (only ever signed as a precomputed value).
 */
struct evp_md_st;
const struct evp_md_st *mdp_hash_md(enum mdp_hash h);

#endif
