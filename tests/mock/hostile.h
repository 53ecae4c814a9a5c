/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hostile card for the card-module tests: one kind of bad answer to every reading command. */
#ifndef MDP11_TESTS_MOCK_HOSTILE_H
#define MDP11_TESTS_MOCK_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/*
 * The card answers the SELECT that lets the module take it properly and every other command
 * with one kind of bad answer. Writes are accepted (90 00) unless the mode breaks every answer:
 * the trouble is in what the card says back. Once the card has answered a reading command
 * badly, the module must not write anything in that operation (hostile_op_hook checks it).
 */
enum hostile_mode {
	HOSTILE_EMPTY_OK,   /* 90 00, no data */
	HOSTILE_ONE_BYTE,   /* 1 byte + 90 00 */
	HOSTILE_SHORT_SW,   /* a single byte: no status word */
	HOSTILE_LONG_TLV,   /* a TLV announcing far more than it carries (card's outer tag) */
	HOSTILE_WRONG_TAG,  /* well-formed TLV of another tag */
	HOSTILE_ENDLESS_61, /* 61 00 forever */
	HOSTILE_OVERSIZED,  /* more bytes than the reader buffer */
	HOSTILE_RANDOM,	    /* random bytes + 90 00 */
	HOSTILE_NESTED_BAD, /* the card's outer tag, broken inside */
	HOSTILE_ERROR_SW,   /* 6F 00 */
	HOSTILE__COMMON	    /* card-specific modes from here on (struct hostile_card.special) */
};

struct hostile_script;

/* What a test says about its card edge. */
struct hostile_card {
	bool (*select)(const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen);
	bool (*is_read)(uint8_t ins);
	bool (*is_write)(uint8_t ins);
	/* The outer tag an answer to apdu has (LONG_TLV, NESTED_BAD), written into r: its length.
	 */
	size_t (*outer_tag)(const uint8_t *apdu, size_t len, uint8_t *r);
	/* The data of a card-specific mode (mode >= HOSTILE__COMMON) into r: its length. */
	size_t (*special)(struct hostile_script *s, const uint8_t *apdu, size_t len, uint8_t *r);
	int modes; /* HOSTILE__COMMON + the card-specific ones */
};

struct hostile_script {
	const struct hostile_card *card;
	int mode;
	uint32_t rng;
	bool poisoned;
	unsigned writes_after_poison;
	unsigned commands;
};

uint8_t hostile_rnd(struct hostile_script *s);
/* The card (a mock_card_fn; ctx is the struct hostile_script). */
enum mdp_err hostile_answer(void *ctx, const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen);
/* The mock_op_hook: before an operation a fresh random stream; after it, no write once poisoned
 * (a CUnit assertion). */
void hostile_op_hook(void *ctx, bool before);

#endif
