/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs RSA decryption unpadding on blocks valgrind sees as undefined (tests/unit/pad-ct.sh). */
#include "config.h"

/* The blocks are made with OpenSSL's padding functions, which only its RSA API offers. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#ifdef HAVE_VALGRIND_MEMCHECK_H
#include <valgrind/memcheck.h>
#endif

#include "common/pad.h"

/*
 * The constant-time rule for unpadding (docs/testing.md): the plaintext block is secret, so no
 * branch and no memory address may depend on it. Memcheck tracks definedness bit by bit; a
 * block marked undefined makes every conditional jump, conditional move or address computed
 * from it an error ("Conditional jump or move depends on uninitialised value(s)"). Only the
 * results the caller is entitled to see (the outcome, the length, the message) are marked
 * defined after the call, as the API reveals them.
 *
 *   pad-ct-probe          mdp_unpad_oaep / mdp_unpad_pkcs1: valgrind must report nothing
 *   pad-ct-probe old      the OAEP decoding card-gids.c had before common/pad.c: valgrind must
 *                         report its branches (the check can fail; the old code fails it)
 *
 * Exit 0 when every block gave the expected outcome, 1 otherwise, 77 when built without
 * valgrind's client requests.
 */

#define K 256 /* a 2048-bit modulus */

#ifdef HAVE_VALGRIND_MEMCHECK_H
#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#endif

/* ---- the implementation common/pad.c replaced (minidriver/card-gids.c, kept as the control) ----
 */

/* MGF1 mask XORed into out (OpenSSL's MGF1; the old module had its own copy of the same). */
static bool
old_mgf1_xor(const EVP_MD *md, const uint8_t *seed, size_t seed_len, uint8_t *out, size_t len)
{
	uint8_t mask[K];
	size_t i;

	if (len > sizeof(mask) || PKCS1_MGF1(mask, (long)len, seed, (long)seed_len, md) != 0)
		return false;
	for (i = 0; i < len; i++)
		out[i] ^= mask[i];
	return true;
}

static int
old_oaep_decode(const EVP_MD *md, const uint8_t *label, size_t label_len, uint8_t *em, size_t k,
		size_t *msg_off, size_t *msg_len)
{
	uint8_t lhash[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	size_t h = (size_t)EVP_MD_get_size(md), i, one = 0;
	unsigned bad = 0, found = 0;

	if (k < 2 * h + 2)
		return -1;
	if (EVP_Digest(label, label_len, lhash, &hl, md, NULL) != 1)
		return -1;
	if (!old_mgf1_xor(md, em + 1 + h, k - h - 1, em + 1, h) ||
	    !old_mgf1_xor(md, em + 1, h, em + 1 + h, k - h - 1))
		return -1;
	bad |= em[0];
	bad |= (unsigned)CRYPTO_memcmp(em + 1 + h, lhash, h);
	for (i = 1 + 2 * h; i < k; i++) {
		unsigned is_one = (em[i] == 0x01), is_zero = (em[i] == 0x00);

		if (!found && is_one)
			one = i;
		bad |= (!found && !is_one && !is_zero);
		found |= is_one;
	}
	bad |= !found;
	if (bad)
		return -1;
	*msg_off = one + 1;
	*msg_len = k - one - 1;
	return 0;
}

/* ---- the cases ---- */

enum kind { OAEP, PKCS1 };

struct block {
	const char *name;
	enum kind kind;
	enum mdp_hash hash, mgf1;
	const char *label; /* OAEP label given to the decoder */
	uint8_t em[K];
	bool ok; /* expected outcome */
	size_t len;
};

static const uint8_t msg[] = "attack at dawn: the secret the card decrypted";

static bool
make_blocks(struct block *b, size_t *n)
{
	size_t i = 0, mlen = sizeof(msg) - 1;

	/* valid OAEP, SHA-256 / MGF1-SHA-1 with a label */
	b[i] = (struct block){"OAEP SHA-256 label", OAEP, MDP_HASH_SHA256, MDP_HASH_SHA1, "lab"};
	if (RSA_padding_add_PKCS1_OAEP_mgf1(b[i].em, K, msg, (int)mlen,
					    (const unsigned char *)"lab", 3, EVP_sha256(),
					    EVP_sha1()) != 1)
		return false;
	b[i].ok = true;
	b[i++].len = mlen;
	/* the same block with another label: the lHash check fails */
	b[i] = b[i - 1];
	b[i].name = "OAEP wrong label";
	b[i].label = "lax";
	b[i].ok = false;
	b[i++].len = 0;
	/* valid OAEP, SHA-1, no label, an empty message */
	b[i] = (struct block){"OAEP SHA-1 empty", OAEP, MDP_HASH_SHA1, MDP_HASH_SHA1, ""};
	if (RSA_padding_add_PKCS1_OAEP_mgf1(b[i].em, K, msg, 0, NULL, 0, EVP_sha1(), EVP_sha1()) !=
	    1)
		return false;
	b[i].ok = true;
	b[i++].len = 0;
	/* first byte not zero */
	b[i] = b[0];
	b[i].name = "OAEP first byte";
	b[i].em[0] = 0x01;
	b[i].ok = false;
	b[i++].len = 0;
	/* noise */
	b[i] = (struct block){"OAEP random", OAEP, MDP_HASH_SHA256, MDP_HASH_SHA256, ""};
	if (RAND_bytes(b[i].em + 1, K - 1) != 1)
		return false;
	b[i++].ok = false;

	/* valid PKCS#1 v1.5 type 2 */
	b[i] = (struct block){"PKCS#1 v1.5", PKCS1};
	if (RSA_padding_add_PKCS1_type_2(b[i].em, K, msg, (int)mlen) != 1)
		return false;
	b[i].ok = true;
	b[i++].len = mlen;
	/* block type 1 instead of 2 */
	b[i] = b[i - 1];
	b[i].name = "PKCS#1 block type 1";
	b[i].em[1] = 0x01;
	b[i].ok = false;
	b[i++].len = 0;
	/* no zero byte after the padding string */
	b[i] = b[i - 2];
	b[i].name = "PKCS#1 no separator";
	memset(b[i].em + 2, 0x5A, K - 2);
	b[i].ok = false;
	b[i++].len = 0;
	/* the separator too early: a padding string of 7 bytes */
	b[i] = b[i - 3];
	b[i].name = "PKCS#1 short padding";
	memset(b[i].em + 2, 0x5A, K - 2);
	b[i].em[9] = 0x00;
	b[i].ok = false;
	b[i++].len = 0;
	*n = i;
	return true;
}

#ifdef HAVE_VALGRIND_MEMCHECK_H
static bool
run_new(struct block *b)
{
	uint8_t em[K], out[K];
	size_t len = 0;
	enum mdp_err err;

	memcpy(em, b->em, K);
	memset(out, 0, sizeof(out));
	SECRET(em, K);
	if (b->kind == OAEP)
		err = mdp_unpad_oaep(b->hash, b->mgf1, (const uint8_t *)b->label, strlen(b->label),
				     em, K, out, sizeof(out), &len);
	else
		err = mdp_unpad_pkcs1(em, K, out, sizeof(out), &len);
	/* What the API reveals: the outcome, then (on success) the message and its length. */
	PUBLIC(&err, sizeof(err));
	PUBLIC(&len, sizeof(len));
	PUBLIC(out, sizeof(out));
	if ((err == MDP_OK) != b->ok || (b->ok && (len != b->len || memcmp(out, msg, len) != 0))) {
		fprintf(stderr, "pad-ct-probe: %s: %s, length %zu (expected %s, %zu)\n", b->name,
			mdp_err_name(err), len, b->ok ? "success" : "failure", b->len);
		return false;
	}
	return true;
}

static bool
run_old(struct block *b)
{
	uint8_t em[K];
	size_t off = 0, len = 0;
	int r;

	if (b->kind != OAEP || b->hash != b->mgf1)
		return true;
	memcpy(em, b->em, K);
	SECRET(em, K);
	r = old_oaep_decode(mdp_hash_md(b->hash), (const uint8_t *)b->label, strlen(b->label), em,
			    K, &off, &len);
	PUBLIC(&r, sizeof(r));
	PUBLIC(&off, sizeof(off));
	PUBLIC(&len, sizeof(len));
	PUBLIC(em, K);
	return (r == 0) == b->ok;
}
#endif

int
main(int argc, char **argv)
{
	struct block blocks[16];
	size_t n = 0, i;
	bool old = argc > 1 && strcmp(argv[1], "old") == 0, ok = true;

#ifndef HAVE_VALGRIND_MEMCHECK_H
	(void)old;
	(void)i;
	fprintf(stderr, "pad-ct-probe: built without valgrind/memcheck.h: nothing to check\n");
	return 77;
#else
	if (!make_blocks(blocks, &n)) {
		fprintf(stderr, "pad-ct-probe: could not build the test blocks\n");
		return 1;
	}
	for (i = 0; i < n; i++)
		ok &= old ? run_old(&blocks[i]) : run_new(&blocks[i]);
	printf("pad-ct-probe: %zu blocks through the %s unpadding: %s\n", n,
	       old ? "old OAEP" : "common/pad.c", ok ? "outcomes as expected" : "WRONG OUTCOMES");
	return ok ? 0 : 1;
#endif
}
