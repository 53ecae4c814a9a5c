/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hash table every layer names hashes through (common/hash.h). */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/hash.h"
#include "mdp11/keyspec.h"

/* DER DigestInfo prefixes: SEQUENCE { AlgorithmIdentifier { OID, NULL }, OCTET STRING (len) }. */
static const uint8_t prefix_md5[] = {0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48,
				     0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10};
static const uint8_t prefix_sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
				      0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const uint8_t prefix_sha224[] = {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c};
static const uint8_t prefix_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t prefix_sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const uint8_t prefix_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
static const uint8_t prefix_ripemd160[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x24,
					   0x03, 0x02, 0x01, 0x05, 0x00, 0x04, 0x14};

#define P(a) a, sizeof(a)
static const struct mdp_hash_info hashes[] = {
	{MDP_HASH_MD5, "MD5", MDP_CALG_MD5, 16, P(prefix_md5)},
	{MDP_HASH_SHA1, "SHA1", MDP_CALG_SHA1, 20, P(prefix_sha1)},
	{MDP_HASH_SHA224, "SHA224", 0, 28, P(prefix_sha224)},
	{MDP_HASH_SHA256, "SHA256", MDP_CALG_SHA_256, 32, P(prefix_sha256)},
	{MDP_HASH_SHA384, "SHA384", MDP_CALG_SHA_384, 48, P(prefix_sha384)},
	{MDP_HASH_SHA512, "SHA512", MDP_CALG_SHA_512, 64, P(prefix_sha512)},
	{MDP_HASH_RIPEMD160, "RIPEMD160", MDP_CALG_RIPEMD160, 20, P(prefix_ripemd160)},
	{MDP_HASH_SSL3_SHAMD5, "SHAMD5", MDP_CALG_SSL3_SHAMD5, 36, NULL, 0},
};
#undef P
#define N_HASHES (sizeof(hashes) / sizeof(hashes[0]))

const struct mdp_hash_info *
mdp_hash_get(enum mdp_hash h)
{
	size_t i;

	for (i = 0; i < N_HASHES; i++)
		if (hashes[i].id == h)
			return &hashes[i];
	return NULL;
}

enum mdp_hash
mdp_hash_by_name(const char *cng_name)
{
	size_t i;

	for (i = 0; cng_name && i < N_HASHES; i++)
		if (strcasecmp(hashes[i].name, cng_name) == 0)
			return hashes[i].id;
	return MDP_HASH_NONE;
}

enum mdp_hash
mdp_hash_by_calg(uint32_t calg)
{
	size_t i;

	for (i = 0; calg && i < N_HASHES; i++)
		if (hashes[i].calg == calg)
			return hashes[i].id;
	return MDP_HASH_NONE;
}

size_t
mdp_hash_len(enum mdp_hash h)
{
	const struct mdp_hash_info *hi = mdp_hash_get(h);

	return hi ? hi->len : 0;
}

const EVP_MD *
mdp_hash_md(enum mdp_hash h)
{
	switch (h) {
	case MDP_HASH_MD5:
		return EVP_md5();
	case MDP_HASH_SHA1:
		return EVP_sha1();
	case MDP_HASH_SHA224:
		return EVP_sha224();
	case MDP_HASH_SHA256:
		return EVP_sha256();
	case MDP_HASH_SHA384:
		return EVP_sha384();
	case MDP_HASH_SHA512:
		return EVP_sha512();
	case MDP_HASH_RIPEMD160:
		return EVP_ripemd160();
	case MDP_HASH_NONE:
	case MDP_HASH_SSL3_SHAMD5:
		break;
	}
	return NULL;
}
