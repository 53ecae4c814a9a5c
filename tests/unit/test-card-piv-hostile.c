/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PIV card module against a hostile card: malformed, truncated and oversized answers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "minidriver/card.h"
#include "tests/mock/card-ops.h"
#include "tests/mock/mock-transport.h"
#include "tests/mock/piv-ops.h"
#include "tests/unit/testutil.h"

/*
 * The card answers SELECT of the PIV application properly (so the PIV module takes it) and
 * every other command with one kind of bad answer. Every operation runs against every kind.
 * Nothing may crash (ASan run), and once the card has answered a reading command badly (GET
 * DATA, GENERATE, GENERAL AUTHENTICATE, GET RESPONSE, GET METADATA / VERSION / SERIAL) the
 * module must not write anything in that operation (PUT DATA, GENERATE, IMPORT, CHANGE
 * REFERENCE DATA, RESET RETRY COUNTER, SET MANAGEMENT KEY).
 */
enum hostile {
	H_EMPTY_OK,   /* 90 00, no data */
	H_ONE_BYTE,   /* 1 byte + 90 00 */
	H_SHORT_SW,   /* a single byte: no status word */
	H_LONG_TLV,   /* a TLV announcing far more than it carries */
	H_WRONG_TAG,  /* well-formed TLV of another tag */
	H_ENDLESS_61, /* 61 00 forever */
	H_OVERSIZED,  /* more bytes than the reader buffer */
	H_RANDOM,     /* random bytes + 90 00 */
	H_NESTED_BAD, /* right outer tag (53, 7C, 7F49), broken inside */
	H_ERROR_SW,   /* 6F 00 */
	H_BAD_MAP,    /* 53 { 81 L records } whose length fits no record size */
	H_BAD_CERT,   /* 53 { 70 gzip-flagged garbage 71 01 01 } */
	H__COUNT
};

struct script {
	enum hostile mode;
	uint32_t rng;
	bool poisoned;
	unsigned writes_after_poison;
	unsigned commands;
};

static uint8_t
rnd(struct script *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 17;
	s->rng ^= s->rng << 5;
	return (uint8_t)s->rng;
}

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

static void
sw(uint8_t *r, size_t *n, uint16_t v)
{
	r[(*n)++] = (uint8_t)(v >> 8);
	r[(*n)++] = (uint8_t)v;
}

static enum mdp_err
hostile_card(void *ctx, const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen)
{
	struct script *s = ctx;
	uint8_t ins = apdu[1];
	size_t n = 0, i;

	s->commands++;
	if (mock_piv_select(apdu, len, r, rlen))
		return MDP_OK;
	if (is_write(ins) && s->poisoned)
		s->writes_after_poison++;
	if (!is_read(ins) && s->mode != H_SHORT_SW && s->mode != H_OVERSIZED &&
	    s->mode != H_ERROR_SW) {
		/* writes and VERIFY are accepted: the trouble is in what the card says back */
		sw(r, &n, 0x9000);
		*rlen = n;
		return MDP_OK;
	}
	if (is_read(ins))
		s->poisoned = true;
	switch (s->mode) {
	case H_EMPTY_OK:
		break;
	case H_ONE_BYTE:
		r[n++] = 0x53;
		break;
	case H_SHORT_SW:
		r[0] = 0x90;
		*rlen = 1;
		return MDP_OK;
	case H_LONG_TLV:
		r[n++] = ins == 0x87 ? 0x7C : ins == 0x47 ? 0x7F : 0x53;
		if (ins == 0x47)
			r[n++] = 0x49;
		r[n++] = 0x82;
		r[n++] = 0xFF;
		r[n++] = 0xF0;
		r[n++] = 0x01;
		break;
	case H_WRONG_TAG:
		memcpy(r, "\x5F\x20\x03\x01\x02\x03", 6);
		n = 6;
		break;
	case H_ENDLESS_61:
		for (i = 0; i < 256; i++)
			r[n++] = 0x30;
		sw(r, &n, 0x6100);
		*rlen = n;
		return MDP_OK;
	case H_OVERSIZED:
		*rlen = *rlen + 100;
		return MDP_OK;
	case H_RANDOM:
		for (i = 0; i < 200; i++)
			r[n++] = rnd(s);
		break;
	case H_NESTED_BAD:
		if (ins == 0x87) {
			r[n++] = 0x7C;
		} else if (ins == 0x47) {
			r[n++] = 0x7F;
			r[n++] = 0x49;
		} else {
			r[n++] = 0x53;
		}
		r[n++] = 0x05;
		memcpy(r + n, "\x81\x82\xFF\x00\x86", 5);
		n += 5;
		break;
	case H_ERROR_SW:
		sw(r, &n, 0x6F00);
		*rlen = n;
		return MDP_OK;
	case H_BAD_MAP:
		r[n++] = 0x53;
		r[n++] = 0x81;
		r[n++] = 111;
		r[n++] = 0x81;
		r[n++] = 108;
		for (i = 0; i < 108; i++)
			r[n++] = rnd(s);
		break;
	case H_BAD_CERT:
		r[n++] = 0x53;
		r[n++] = 0x0C;
		r[n++] = 0x70;
		r[n++] = 0x05;
		for (i = 0; i < 5; i++)
			r[n++] = rnd(s);
		memcpy(r + n, "\x71\x01\x01\xFE\x00", 5);
		n += 5;
		break;
	case H__COUNT:
		break;
	}
	sw(r, &n, 0x9000);
	*rlen = n;
	return MDP_OK;
}

static void
op_hook(void *ctx, bool before)
{
	struct script *s = ctx;

	if (before) {
		s->poisoned = false;
		s->rng = 0x9E3779B9u + s->commands;
		return;
	}
	CU_ASSERT_EQUAL(s->writes_after_poison, 0);
	s->writes_after_poison = 0;
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
	for (mode = 0; mode < H__COUNT; mode++) {
		struct script s = {.mode = (enum hostile)mode, .rng = 1};
		struct mdp_transport *t = NULL;
		struct md_card *card = NULL;
		enum md_rv rv;

		CU_ASSERT_EQUAL_FATAL(mock_transport_new(hostile_card, &s, NULL, &t), MDP_OK);
		rv = md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card);
		CU_ASSERT_EQUAL(rv, MD_OK);
		if (card) {
			CU_ASSERT_STRING_EQUAL(md_card_name(card), "PIV");
			mock_piv_admin_login(card);
			mock_card_run_all(card, rsa, rsa_len, peer, peer_len, op_hook, &s);
			mock_piv_run_extra(card, op_hook, &s);
			md_card_delete(card);
		}
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
