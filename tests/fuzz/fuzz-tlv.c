/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the bounds-checked cursor and the BER-TLV reader of src/common/bytes.c. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A value must lie inside the input it was read from. */
static void
check_inside(const struct mdp_cursor *v, const uint8_t *p, size_t len)
{
	if (v->pos != 0 || v->bad || v->len > len ||
	    (v->len && (v->p < p || v->p + v->len > p + len)))
		abort();
}

/*
 * Walk every TLV of [p, p+len), descending into constructed ones (bit 6 of the first tag byte)
 * up to a depth; every TLV read is written back and must read back the same.
 */
static void
walk(const uint8_t *p, size_t len, unsigned depth)
{
	struct mdp_cursor c, v;
	uint32_t tag;
	enum mdp_err err;

	cur_init(&c, p, len);
	while (cur_left(&c) > 0) {
		size_t before = c.pos;

		err = tlv_read(&c, &tag, &v);
		if (err != MDP_OK) {
			if (c.pos != before || c.bad)
				abort(); /* a failed read leaves the cursor where it was */
			return;
		}
		if (c.pos <= before || c.pos > len)
			abort();
		check_inside(&v, p, len);
		if (c.pos - before != tlv_header_len(tag, v.len) + v.len) {
			/* a non-minimal length encoding is accepted; it is never shorter */
			if (c.pos - before < tlv_header_len(tag, v.len) + v.len)
				abort();
		}
		{
			struct mdp_buf b;
			struct mdp_cursor rc, rv;
			uint32_t rtag;

			buf_init(&b);
			buf_put_tlv(&b, tag, v.p, v.len);
			if (b.bad || b.len != tlv_header_len(tag, v.len) + v.len)
				abort();
			cur_init(&rc, b.data, b.len);
			if (tlv_read(&rc, &rtag, &rv) != MDP_OK || rtag != tag || rv.len != v.len ||
			    cur_left(&rc) != 0 || (v.len && memcmp(rv.p, v.p, v.len) != 0))
				abort();
			buf_free(&b);
		}
		if (depth < 8 && ((tag >> (tag > 0xffff ? 16 : tag > 0xff ? 8 : 0)) & 0x20))
			walk(v.p, v.len, depth + 1);
	}
}

/*
 * The cursor getters driven by the input: a read of adv bytes either succeeds (the position
 * moves by adv, the cursor is not bad) or fails (the position stays, the cursor is bad).
 */
static void
cursor_program(const uint8_t *p, size_t len)
{
	struct mdp_cursor c, sub;
	size_t i;

	cur_init(&c, p, len);
	for (i = 0; i < len && i < 64; i++) {
		size_t pos = c.pos, n = p[i] & 0x1f, adv = n;
		bool got = true;

		c.bad = false;
		switch (p[i] >> 5) {
		case 0:
			(void)cur_get_u8(&c);
			adv = 1;
			break;
		case 1:
			(void)cur_get_le16(&c);
			adv = 2;
			break;
		case 2:
			(void)cur_get_be32(&c);
			adv = 4;
			break;
		case 3:
			(void)cur_get_le32(&c);
			adv = 4;
			break;
		case 4:
			(void)cur_get_be16(&c);
			adv = 2;
			break;
		case 5:
			got = cur_get_bytes(&c, n) != NULL;
			break;
		case 6:
			got = cur_sub(&c, n, &sub);
			if (got)
				check_inside(&sub, p, len);
			break;
		default:
			got = cur_skip(&c, n);
			break;
		}
		if (pos + adv <= len) {
			if (!got || c.bad || c.pos != pos + adv)
				abort();
		} else if ((got && p[i] >> 5 >= 5) || !c.bad || c.pos != pos) {
			abort();
		}
		if (cur_left(&c) != len - c.pos)
			abort();
	}
}

/*
 * Input: one byte choosing a tag to look for (with the next two bytes, when they look like a
 * multi-byte tag), then the TLV data; the whole input also drives a cursor program.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdp_cursor v;
	uint32_t tag;

	cursor_program(data, size);
	if (size < 1)
		return 0;
	tag = data[0];
	walk(data + 1, size - 1, 0);
	if (tlv_find(data + 1, size - 1, tag, &v) == MDP_OK)
		check_inside(&v, data + 1, size - 1);
	if (size >= 3 && (data[0] & 0x1f) == 0x1f) {
		tag = (uint32_t)data[0] << 8 | data[1];
		if (tlv_find(data + 2, size - 2, tag, &v) == MDP_OK)
			check_inside(&v, data + 2, size - 2);
	}
	return 0;
}
