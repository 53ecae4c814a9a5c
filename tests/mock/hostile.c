/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hostile card for the card-module tests: one kind of bad answer to every reading command. */
#include "config.h"

#include <string.h>

#include <CUnit/CUnit.h>

#include "tests/mock/hostile.h"

uint8_t
hostile_rnd(struct hostile_script *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 17;
	s->rng ^= s->rng << 5;
	return (uint8_t)s->rng;
}

static void
sw(uint8_t *r, size_t *n, uint16_t v)
{
	r[(*n)++] = (uint8_t)(v >> 8);
	r[(*n)++] = (uint8_t)v;
}

enum mdp_err
hostile_answer(void *ctx, const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen)
{
	struct hostile_script *s = ctx;
	const struct hostile_card *c = s->card;
	uint8_t ins = apdu[1];
	size_t n = 0, i;

	s->commands++;
	if (c->select(apdu, len, r, rlen))
		return MDP_OK;
	if (c->is_write(ins) && s->poisoned)
		s->writes_after_poison++;
	if (!c->is_read(ins) && s->mode != HOSTILE_SHORT_SW && s->mode != HOSTILE_OVERSIZED &&
	    s->mode != HOSTILE_ERROR_SW) {
		sw(r, &n, 0x9000);
		*rlen = n;
		return MDP_OK;
	}
	if (c->is_read(ins))
		s->poisoned = true;
	switch (s->mode) {
	case HOSTILE_EMPTY_OK:
		break;
	case HOSTILE_ONE_BYTE:
		n = c->outer_tag(apdu, len, r) > 0 ? 1 : 0;
		break;
	case HOSTILE_SHORT_SW:
		r[0] = 0x90;
		*rlen = 1;
		return MDP_OK;
	case HOSTILE_LONG_TLV:
		n = c->outer_tag(apdu, len, r);
		memcpy(r + n, "\x82\xFF\xF0\x01", 4);
		n += 4;
		break;
	case HOSTILE_WRONG_TAG:
		memcpy(r, "\x5F\x20\x03\x01\x02\x03", 6);
		n = 6;
		break;
	case HOSTILE_ENDLESS_61:
		for (i = 0; i < 256; i++)
			r[n++] = 0x30;
		sw(r, &n, 0x6100);
		*rlen = n;
		return MDP_OK;
	case HOSTILE_OVERSIZED:
		*rlen = *rlen + 100;
		return MDP_OK;
	case HOSTILE_RANDOM:
		for (i = 0; i < 200; i++)
			r[n++] = hostile_rnd(s);
		break;
	case HOSTILE_NESTED_BAD:
		n = c->outer_tag(apdu, len, r);
		memcpy(r + n, "\x05\x81\x82\xFF\x00\x86", 6);
		n += 6;
		break;
	case HOSTILE_ERROR_SW:
		sw(r, &n, 0x6F00);
		*rlen = n;
		return MDP_OK;
	default:
		n = c->special(s, apdu, len, r);
		break;
	}
	sw(r, &n, 0x9000);
	*rlen = n;
	return MDP_OK;
}

void
hostile_op_hook(void *ctx, bool before)
{
	struct hostile_script *s = ctx;

	if (before) {
		s->poisoned = false;
		s->rng = 0x9E3779B9u + s->commands;
		return;
	}
	CU_ASSERT_EQUAL(s->writes_after_poison, 0);
	s->writes_after_poison = 0;
}
