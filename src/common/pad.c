/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RSA padding and constant-time unpadding shared by the host role and every card module. */
#include "config.h"

/* OpenSSL 3 keeps its constant-time padding checks only in the deprecated RSA API. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/pad.h"
#include "common/secmem.h"

enum mdp_err
mdp_pad_pkcs1_sign(enum mdp_hash h, const uint8_t *data, size_t len, uint8_t *em, size_t k)
{
	const struct mdp_hash_info *hi = NULL;
	size_t tlen = len, plen = 0;

	if ((!data && len) || !em)
		return MDP_ERR_ARGS;
	if (h != MDP_HASH_NONE) {
		hi = mdp_hash_get(h);
		if (!hi || !hi->prefix || len != hi->len)
			return MDP_ERR_ARGS;
		plen = hi->prefix_len;
		tlen += plen;
	}
	if (k < 11 || tlen > k - 11)
		return MDP_ERR_OVERFLOW;
	em[0] = 0x00;
	em[1] = 0x01;
	memset(em + 2, 0xFF, k - tlen - 3);
	em[k - tlen - 1] = 0x00;
	if (plen)
		memcpy(em + k - tlen, hi->prefix, plen);
	if (len)
		memcpy(em + k - len, data, len);
	return MDP_OK;
}

/* MGF1 (RFC 8017 B.2.1) mask of len bytes over seed, XORed into out. */
static bool
mgf1_xor(const EVP_MD *md, const uint8_t *seed, size_t seed_len, uint8_t *out, size_t len)
{
	uint8_t h[EVP_MAX_MD_SIZE], c[4];
	unsigned hl = 0;
	size_t done = 0, i;
	uint32_t counter = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL;

	while (ok && done < len) {
		c[0] = (uint8_t)(counter >> 24);
		c[1] = (uint8_t)(counter >> 16);
		c[2] = (uint8_t)(counter >> 8);
		c[3] = (uint8_t)counter;
		ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
		     EVP_DigestUpdate(ctx, seed, seed_len) == 1 &&
		     EVP_DigestUpdate(ctx, c, 4) == 1 && EVP_DigestFinal_ex(ctx, h, &hl) == 1;
		for (i = 0; ok && i < hl && done < len; i++)
			out[done++] ^= h[i];
		counter++;
	}
	EVP_MD_CTX_free(ctx);
	mdp_wipe(h, sizeof(h));
	return ok;
}

enum mdp_err
mdp_pad_pss(enum mdp_hash h, enum mdp_hash mgf1, const uint8_t *mhash, size_t hlen, size_t salt_len,
	    unsigned mod_bits, uint8_t *em, size_t k)
{
	const EVP_MD *md = mdp_hash_md(h), *mgf = mdp_hash_md(mgf1);
	size_t embits, emlen, dblen;
	uint8_t salt[512], hash[EVP_MAX_MD_SIZE], *db;
	unsigned hl = 0;
	EVP_MD_CTX *ctx = NULL;
	enum mdp_err err = MDP_ERR_CRYPTO;

	if (!md || !mgf || !mhash || !em || hlen != (size_t)EVP_MD_get_size(md) || mod_bits < 2 ||
	    (mod_bits + 7) / 8 != k)
		return MDP_ERR_ARGS;
	embits = mod_bits - 1;
	emlen = (embits + 7) / 8;
	if (salt_len > sizeof(salt) || emlen < hlen + salt_len + 2)
		return MDP_ERR_OVERFLOW;
	memset(em, 0, k);
	/* emLen is k - 1 when modBits - 1 is a multiple of 8: em then starts with a 00 byte. */
	db = em + (k - emlen);
	dblen = emlen - hlen - 1;
	if (salt_len && RAND_bytes(salt, (int)salt_len) != 1)
		goto out;
	/* H = Hash(00 x 8 || mHash || salt) */
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, "\0\0\0\0\0\0\0\0", 8) != 1 ||
	    EVP_DigestUpdate(ctx, mhash, hlen) != 1 || EVP_DigestUpdate(ctx, salt, salt_len) != 1 ||
	    EVP_DigestFinal_ex(ctx, hash, &hl) != 1)
		goto out;
	/* DB = PS || 01 || salt; maskedDB = DB xor MGF1(H); EM = maskedDB || H || BC */
	db[dblen - salt_len - 1] = 0x01;
	memcpy(db + dblen - salt_len, salt, salt_len);
	if (!mgf1_xor(mgf, hash, hl, db, dblen))
		goto out;
	db[0] &= (uint8_t)(0xFF >> (8 * emlen - embits));
	memcpy(db + dblen, hash, hl);
	db[dblen + hl] = 0xBC;
	err = MDP_OK;
out:
	EVP_MD_CTX_free(ctx);
	mdp_wipe(salt, sizeof(salt));
	return err;
}

/*
 * OpenSSL's checks return the message length or -1 without branching on the block; turn that
 * into the result without branching either: the mask is all ones exactly when r < 0.
 */
static enum mdp_err
ct_result(int r, size_t *out_len)
{
	unsigned u = (unsigned)r;
	unsigned neg = 0u - (u >> (sizeof(unsigned) * CHAR_BIT - 1));

	*out_len = (size_t)(u & ~neg);
	return (enum mdp_err)((unsigned)MDP_ERR_FORMAT & neg);
}

enum mdp_err
mdp_unpad_pkcs1(const uint8_t *em, size_t k, uint8_t *out, size_t cap, size_t *out_len)
{
	int r;

	if (!em || !out || !out_len || k < 11 || k > INT_MAX || cap == 0 || cap > INT_MAX)
		return MDP_ERR_ARGS;
	/*
	 * OpenSSL raises an error on every call and marks it cleared in constant time on success;
	 * the mark keeps the thread's error queue as it was either way.
	 */
	ERR_set_mark();
	r = RSA_padding_check_PKCS1_type_2(out, (int)cap, em, (int)k, (int)k);
	ERR_pop_to_mark();
	return ct_result(r, out_len);
}

enum mdp_err
mdp_unpad_oaep(enum mdp_hash h, enum mdp_hash mgf1, const uint8_t *label, size_t label_len,
	       const uint8_t *em, size_t k, uint8_t *out, size_t cap, size_t *out_len)
{
	const EVP_MD *md = mdp_hash_md(h), *mgf = mdp_hash_md(mgf1);
	int r;

	if (!md || !mgf || (!label && label_len) || !em || !out || !out_len || k > INT_MAX ||
	    cap == 0 || cap > INT_MAX || label_len > INT_MAX ||
	    k < 2 * (size_t)EVP_MD_get_size(md) + 2)
		return MDP_ERR_ARGS;
	ERR_set_mark();
	r = RSA_padding_check_PKCS1_OAEP_mgf1(out, (int)cap, em, (int)k, (int)k, label,
					      (int)label_len, md, mgf);
	ERR_pop_to_mark();
	return ct_result(r, out_len);
}
