/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bounds-checked byte cursor, growable buffer and BER-TLV helpers. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/secmem.h"

void
cur_init(struct mdp_cursor *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = p ? len : 0;
	c->pos = 0;
	c->bad = false;
}

size_t
cur_left(const struct mdp_cursor *c)
{
	return c->len - c->pos;
}

const uint8_t *
cur_get_bytes(struct mdp_cursor *c, size_t n)
{
	const uint8_t *r;

	if (c->bad || n > cur_left(c)) {
		c->bad = true;
		return NULL;
	}
	r = c->p + c->pos;
	c->pos += n;
	return r;
}

bool
cur_skip(struct mdp_cursor *c, size_t n)
{
	return cur_get_bytes(c, n) != NULL || n == 0;
}

bool
cur_sub(struct mdp_cursor *c, size_t n, struct mdp_cursor *sub)
{
	const uint8_t *p = cur_get_bytes(c, n);

	if (!p && n) {
		cur_init(sub, NULL, 0);
		sub->bad = true;
		return false;
	}
	cur_init(sub, p, n);
	return !c->bad;
}

uint8_t
cur_get_u8(struct mdp_cursor *c)
{
	const uint8_t *p = cur_get_bytes(c, 1);

	return p ? p[0] : 0;
}

uint16_t
cur_get_le16(struct mdp_cursor *c)
{
	const uint8_t *p = cur_get_bytes(c, 2);

	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t
cur_get_le32(struct mdp_cursor *c)
{
	const uint8_t *p = cur_get_bytes(c, 4);

	return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			       (uint32_t)p[3] << 24
		 : 0;
}

uint16_t
cur_get_be16(struct mdp_cursor *c)
{
	const uint8_t *p = cur_get_bytes(c, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t
cur_get_be32(struct mdp_cursor *c)
{
	const uint8_t *p = cur_get_bytes(c, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
			       (uint32_t)p[3]
		 : 0;
}

void
buf_init(struct mdp_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
buf_init_secret(struct mdp_buf *b)
{
	buf_init(b);
	b->secret = true;
}

void
buf_free(struct mdp_buf *b)
{
	if (b->secret)
		mdp_secure_free(b->data, b->cap);
	else
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

bool
buf_reserve(struct mdp_buf *b, size_t n)
{
	size_t want;
	uint8_t *p;

	if (b->bad)
		return false;
	if (n > SIZE_MAX - b->len) {
		b->bad = true;
		return false;
	}
	if (b->len + n <= b->cap)
		return true;
	want = b->cap ? b->cap : 64;
	while (want < b->len + n) {
		if (want > SIZE_MAX / 2) {
			want = b->len + n;
			break;
		}
		want *= 2;
	}
	if (b->secret) {
		/* Never realloc a secret: the old block would be freed unwiped. */
		p = malloc(want);
		if (p && b->len)
			memcpy(p, b->data, b->len);
		if (p)
			mdp_secure_free(b->data, b->cap);
	} else {
		p = realloc(b->data, want);
	}
	if (!p) {
		b->bad = true;
		return false;
	}
	b->data = p;
	b->cap = want;
	return true;
}

void
buf_put_bytes(struct mdp_buf *b, const void *p, size_t n)
{
	if (!n || !buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
buf_put_zeros(struct mdp_buf *b, size_t n)
{
	if (!n || !buf_reserve(b, n))
		return;
	memset(b->data + b->len, 0, n);
	b->len += n;
}

void
buf_put_reversed(struct mdp_buf *b, const uint8_t *src, size_t n)
{
	size_t i;

	if (!n || !buf_reserve(b, n))
		return;
	for (i = 0; i < n; i++)
		b->data[b->len + i] = src[n - 1 - i];
	b->len += n;
}

void
buf_put_u8(struct mdp_buf *b, uint8_t v)
{
	buf_put_bytes(b, &v, 1);
}

void
buf_put_le16(struct mdp_buf *b, uint16_t v)
{
	uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	buf_put_bytes(b, t, 2);
}

void
buf_put_le32(struct mdp_buf *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	buf_put_bytes(b, t, 4);
}

void
buf_put_be16(struct mdp_buf *b, uint16_t v)
{
	uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	buf_put_bytes(b, t, 2);
}

void
buf_put_be32(struct mdp_buf *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	buf_put_bytes(b, t, 4);
}

uint8_t *
buf_steal(struct mdp_buf *b, size_t *len)
{
	uint8_t *p;

	if (b->bad) {
		buf_free(b);
		return NULL;
	}
	p = b->data;
	if (!p)
		p = malloc(1);
	/* The caller wipes len bytes only: clear the slack a secret buffer may have left there. */
	else if (b->secret && b->cap > b->len)
		mdp_wipe(p + b->len, b->cap - b->len);
	*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
mdp_reverse(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n / 2; i++) {
		uint8_t t = p[i];

		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
}

enum mdp_err
tlv_read(struct mdp_cursor *c, uint32_t *tag, struct mdp_cursor *value)
{
	size_t start = c->pos;
	uint32_t t;
	uint8_t b;
	size_t len;
	int i;

	if (cur_left(c) < 2)
		return MDP_ERR_TRUNCATED;
	b = cur_get_u8(c);
	t = b;
	if ((b & 0x1f) == 0x1f) {
		/* Multi-byte tag: continuation while bit 8 is set; at most 3 bytes. */
		for (i = 0; i < 2; i++) {
			b = cur_get_u8(c);
			t = t << 8 | b;
			if (!(b & 0x80))
				break;
		}
		if (b & 0x80 || c->bad)
			goto bad;
	}
	b = cur_get_u8(c);
	if (c->bad)
		goto bad;
	if (b < 0x80) {
		len = b;
	} else if (b == 0x80 || b > 0x83) {
		goto bad; /* indefinite or absurd length */
	} else {
		len = 0;
		for (i = 0; i < (b & 0x7f); i++)
			len = len << 8 | cur_get_u8(c);
		if (c->bad)
			goto bad;
	}
	if (len > cur_left(c)) {
		c->pos = start;
		return MDP_ERR_TRUNCATED;
	}
	*tag = t;
	cur_sub(c, len, value);
	return MDP_OK;
bad:
	c->pos = start;
	c->bad = false;
	return MDP_ERR_FORMAT;
}

enum mdp_err
tlv_find(const uint8_t *p, size_t len, uint32_t tag, struct mdp_cursor *value)
{
	struct mdp_cursor c;
	enum mdp_err err;
	uint32_t t;

	cur_init(&c, p, len);
	while (cur_left(&c) > 0) {
		/* Trailing 00/FF padding between TLVs is allowed by ISO 7816-4. */
		if (c.p[c.pos] == 0x00 || c.p[c.pos] == 0xff) {
			cur_skip(&c, 1);
			continue;
		}
		err = tlv_read(&c, &t, value);
		if (err)
			return err;
		if (t == tag)
			return MDP_OK;
	}
	return MDP_ERR_NOT_FOUND;
}

static size_t
tag_len(uint32_t tag)
{
	return tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
}

size_t
tlv_header_len(uint32_t tag, size_t len)
{
	size_t n = tag_len(tag);

	if (len < 0x80)
		return n + 1;
	if (len <= 0xff)
		return n + 2;
	if (len <= 0xffff)
		return n + 3;
	return n + 4;
}

void
buf_put_tag(struct mdp_buf *b, uint32_t tag)
{
	if (tag > 0xffff)
		buf_put_u8(b, (uint8_t)(tag >> 16));
	if (tag > 0xff)
		buf_put_u8(b, (uint8_t)(tag >> 8));
	buf_put_u8(b, (uint8_t)tag);
}

void
buf_put_len(struct mdp_buf *b, size_t len)
{
	if (len < 0x80) {
		buf_put_u8(b, (uint8_t)len);
	} else if (len <= 0xff) {
		buf_put_u8(b, 0x81);
		buf_put_u8(b, (uint8_t)len);
	} else if (len <= 0xffff) {
		buf_put_u8(b, 0x82);
		buf_put_be16(b, (uint16_t)len);
	} else if (len <= 0xffffff) {
		buf_put_u8(b, 0x83);
		buf_put_u8(b, (uint8_t)(len >> 16));
		buf_put_be16(b, (uint16_t)len);
	} else {
		b->bad = true;
	}
}

void
buf_put_tlv(struct mdp_buf *b, uint32_t tag, const void *value, size_t len)
{
	buf_put_tag(b, tag);
	buf_put_len(b, len);
	buf_put_bytes(b, value, len);
}

size_t
buf_tlv_open(struct mdp_buf *b, uint32_t tag)
{
	buf_put_tag(b, tag);
	buf_put_zeros(b, 4); /* placeholder for 83 xx xx xx */
	return b->len;
}

void
buf_tlv_close(struct mdp_buf *b, size_t mark)
{
	size_t vlen, hlen;
	uint8_t hdr[4];
	struct mdp_buf h;

	if (b->bad || mark < 4 || mark > b->len)
		return;
	vlen = b->len - mark;
	buf_init(&h);
	h.data = hdr;
	h.cap = sizeof(hdr);
	buf_put_len(&h, vlen);
	if (h.bad) {
		b->bad = true;
		return;
	}
	hlen = h.len;
	memmove(b->data + mark - 4 + hlen, b->data + mark, vlen);
	memcpy(b->data + mark - 4, hdr, hlen);
	b->len = mark - 4 + hlen + vlen;
	/* The move leaves a copy of the value's last 4 - hlen bytes past the end. */
	if (b->secret)
		mdp_wipe(b->data + b->len, 4 - hlen);
}

char *
mdp_hex_encode(const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(len * 2 + 1);
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * len] = '\0';
	return s;
}

int
mdp_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

long
mdp_hex_decode(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;

		if (isspace((unsigned char)*hex) || *hex == ':')
			continue;
		v = mdp_hex_digit((unsigned char)*hex);
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? (long)n : -1;
}
