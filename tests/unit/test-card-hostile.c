/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GIDS card module against a hostile card: malformed, truncated and oversized answers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "minidriver/card.h"
#include "tests/mock/card-ops.h"
#include "tests/mock/hostile.h"
#include "tests/mock/mock-transport.h"
#include "tests/unit/testutil.h"

/*
 * The card (tests/mock/hostile.h) answers SELECT of the GIDS AID properly (so a context
 * exists) and every other command with one kind of bad answer. Every Card* operation is run
 * against every kind. Nothing may crash (run under ASan with scripts/run-tests --asan), and
 * once the card has given a bad answer to a reading command (GET DATA, GENERATE, PSO, GENERAL
 * AUTHENTICATE, GET RESPONSE) the module must not write anything in that operation.
 */
static bool
is_read(uint8_t ins)
{
	return ins == 0xCB || ins == 0x47 || ins == 0x2A || ins == 0x87 || ins == 0xC0;
}

static bool
is_write(uint8_t ins)
{
	return ins == 0xDB || ins == 0xE0 || ins == 0xE4 || ins == 0x44 || ins == 0x24 ||
	       ins == 0x2C;
}

/* The outer tag of an answer: the DO asked for (DF 1F ...), 7C for GENERAL AUTHENTICATE, 7F 49. */
static size_t
outer_tag(const uint8_t *apdu, size_t len, uint8_t *r)
{
	if (apdu[1] == 0xCB && len > 8 && apdu[5] == 0x5C) {
		r[0] = apdu[7];
		r[1] = apdu[8];
		return 2;
	}
	if (apdu[1] == 0x87) {
		r[0] = 0x7C;
		return 1;
	}
	r[0] = 0x7F;
	r[1] = 0x49;
	return 2;
}

/* GIDS's own mode: masterfile-shaped garbage, version 1, odd size. */
#define H_BAD_MASTERFILE HOSTILE__COMMON

static size_t
special(struct hostile_script *s, const uint8_t *apdu, size_t len, uint8_t *r)
{
	size_t n = 0, i;

	r[n++] = 0xDF;
	r[n++] = 0x1F;
	r[n++] = 30;
	r[n++] = 0x01;
	for (i = 0; i < 29; i++)
		r[n++] = hostile_rnd(s);
	return n;
}

static const struct hostile_card gids_card = {
	.select = mock_gids_select,
	.is_read = is_read,
	.is_write = is_write,
	.outer_tag = outer_tag,
	.special = special,
	.modes = H_BAD_MASTERFILE + 1,
};

static void
test_hostile(void)
{
	size_t rsa_len = 0, peer_len = 0;
	uint8_t *rsa = test_load_vector("capi_rsa1024_keyx_privatekeyblob", &rsa_len);
	uint8_t *peer = test_load_vector("cng_ecdh_p256_eccpublicblob_peer", &peer_len);
	int mode;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
	for (mode = 0; mode < gids_card.modes; mode++) {
		struct hostile_script s = {.card = &gids_card, .mode = mode, .rng = 1};
		struct mdp_transport *t = NULL;
		struct md_card *card = NULL;
		enum md_rv rv;

		CU_ASSERT_EQUAL_FATAL(mock_transport_new(hostile_answer, &s, NULL, &t), MDP_OK);
		rv = md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card);
		CU_ASSERT_EQUAL(rv, MD_OK);
		if (card) {
			mock_card_run_all(card, rsa, rsa_len, peer, peer_len, hostile_op_hook, &s);
			md_card_delete(card);
		}
		mdp_transport_free(t);
	}
	free(rsa);
	free(peer);
}

/* A card that does not answer the GIDS SELECT is not taken. */
static enum mdp_err
foreign_card(void *ctx, const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen)
{
	r[0] = 0x6A;
	r[1] = 0x82;
	*rlen = 2;
	return MDP_OK;
}

static void
test_foreign(void)
{
	struct mdp_transport *t = NULL;
	struct md_card *card = NULL;

	CU_ASSERT_EQUAL_FATAL(mock_transport_new(foreign_card, NULL, NULL, &t), MDP_OK);
	CU_ASSERT_EQUAL(md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card),
			MD_E_UNKNOWN_CARD);
	CU_ASSERT_PTR_NULL(card);
	mdp_transport_free(t);
}

static CU_TestInfo tests[] = {
	{"every operation against every bad answer", test_hostile},
	{"foreign card refused", test_foreign},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"hostile card", NULL, NULL, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-card-hostile", suites);
}
