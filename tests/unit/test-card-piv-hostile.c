/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PIV card module against a hostile card: malformed, truncated and oversized answers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "minidriver/card.h"
#include "tests/mock/card-ops.h"
#include "tests/mock/hostile.h"
#include "tests/mock/mock-transport.h"
#include "tests/mock/piv-ops.h"
#include "tests/unit/testutil.h"

/*
 * The card (tests/mock/hostile.h) answers SELECT of the PIV application properly (so the PIV
 * module takes it) and every other command with one kind of bad answer. Every operation runs
 * against every kind. Nothing may crash (ASan run), and once the card has answered a reading
 * command badly (GET DATA, GENERATE, GENERAL AUTHENTICATE, GET RESPONSE, GET METADATA / VERSION /
 * SERIAL) the module must not write anything in that operation (PUT DATA, GENERATE, IMPORT, CHANGE
 * REFERENCE DATA, RESET RETRY COUNTER, SET MANAGEMENT KEY).
 */
static bool
is_read(uint8_t ins)
{
	return ins == 0xCB || ins == 0x47 || ins == 0x87 || ins == 0xC0 || ins == 0xF7 ||
	       ins == 0xFD || ins == 0xF8;
}

static bool
is_write(uint8_t ins)
{
	return ins == 0xDB || ins == 0x47 || ins == 0xFE || ins == 0x24 || ins == 0x2C ||
	       ins == 0xFF || ins == 0xF6;
}

/* The outer tag of an answer: 7C (GENERAL AUTHENTICATE), 7F 49 (GENERATE), 53 (objects). */
static size_t
outer_tag(const uint8_t *apdu, size_t len, uint8_t *r)
{
	if (apdu[1] == 0x87) {
		r[0] = 0x7C;
		return 1;
	}
	if (apdu[1] == 0x47) {
		r[0] = 0x7F;
		r[1] = 0x49;
		return 2;
	}
	r[0] = 0x53;
	return 1;
}

/* PIV's own modes: a map whose length fits no record size, a gzip-flagged garbage certificate. */
#define H_BAD_MAP HOSTILE__COMMON
#define H_BAD_CERT (HOSTILE__COMMON + 1)

static size_t
special(struct hostile_script *s, const uint8_t *apdu, size_t len, uint8_t *r)
{
	size_t n = 0, i;

	if (s->mode == H_BAD_MAP) {
		memcpy(r, "\x53\x81\x6F\x81\x6C", 5);
		n = 5;
		for (i = 0; i < 108; i++)
			r[n++] = hostile_rnd(s);
		return n;
	}
	memcpy(r, "\x53\x0C\x70\x05", 4);
	n = 4;
	for (i = 0; i < 5; i++)
		r[n++] = hostile_rnd(s);
	memcpy(r + n, "\x71\x01\x01\xFE\x00", 5);
	return n + 5;
}

static const struct hostile_card piv_card = {
	.select = mock_piv_select,
	.is_read = is_read,
	.is_write = is_write,
	.outer_tag = outer_tag,
	.special = special,
	.modes = H_BAD_CERT + 1,
};

static const uint8_t yk5_atr[] = {0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE,
				  0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59,
				  0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40};

/* The hostile card, counting the extended APDUs it gets (00 after the header, then more). */
struct counted {
	struct hostile_script s;
	unsigned extended;
};

static enum mdp_err
counted_answer(void *ctx, const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen)
{
	struct counted *c = ctx;

	if (len > 5 && apdu[4] == 0x00)
		c->extended++;
	return hostile_answer(&c->s, apdu, len, r, rlen);
}

static void
test_hostile(void)
{
	size_t rsa_len = 0, peer_len = 0;
	uint8_t *rsa = test_load_vector("capi_rsa1024_keyx_privatekeyblob", &rsa_len);
	uint8_t *peer = test_load_vector("cng_ecdh_p256_eccpublicblob_peer", &peer_len);
	int mode;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
	/* every mode twice: short APDUs, then extended ones (the YubiKey 5 ATR offers them) */
	for (mode = 0; mode < 2 * piv_card.modes; mode++) {
		struct counted c = {
			.s = {.card = &piv_card, .mode = mode % piv_card.modes, .rng = 1}};
		struct hostile_script *s = &c.s;
		struct mdp_transport *t = NULL;
		struct md_card *card = NULL;
		enum md_rv rv;

		CU_ASSERT_EQUAL_FATAL(mock_transport_new(counted_answer, &c, NULL, &t), MDP_OK);
		if (mode >= piv_card.modes)
			mock_transport_set_atr(t, yk5_atr, sizeof(yk5_atr));
		rv = md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card);
		CU_ASSERT_EQUAL(rv, MD_OK);
		if (card) {
			CU_ASSERT_STRING_EQUAL(md_card_name(card), "PIV");
			mock_piv_admin_login(card);
			mock_card_run_all(card, rsa, rsa_len, peer, peer_len, hostile_op_hook, s);
			mock_piv_run_extra(card, hostile_op_hook, s);
			md_card_delete(card);
		}
		/* the first round short APDUs only, the second extended ones */
		CU_ASSERT(mode < piv_card.modes ? c.extended == 0 : c.extended > 0);
		mdp_transport_free(t);
	}
	free(rsa);
	free(peer);
}

/* A card that answers SELECT with 90 00 but no template is not taken for PIV. */
static enum mdp_err
bare_ok_card(void *ctx, const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen)
{
	if (apdu[1] == 0xA4 && len > 9 && memcmp(apdu + 5, "\xA0\x00\x00\x03\x97", 5) == 0) {
		r[0] = 0x6A;
		r[1] = 0x82;
	} else {
		r[0] = 0x90;
		r[1] = 0x00;
	}
	*rlen = 2;
	return MDP_OK;
}

static void
test_bare_select(void)
{
	struct mdp_transport *t = NULL;
	struct md_card *card = NULL;

	CU_ASSERT_EQUAL_FATAL(mock_transport_new(bare_ok_card, NULL, NULL, &t), MDP_OK);
	CU_ASSERT_EQUAL(md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card),
			MD_E_UNKNOWN_CARD);
	CU_ASSERT_PTR_NULL(card);
	mdp_transport_free(t);
}

static CU_TestInfo tests[] = {
	{"every operation against every bad answer", test_hostile},
	{"SELECT answered 90 00 without template: not PIV", test_bare_select},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"hostile PIV card", NULL, NULL, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-card-piv-hostile", suites);
}
