/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for src/transport: APDU framing, chaining, GET RESPONSE, 6Cxx, trace blanking, links.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "tests/mock/mock-transport.h"
#include "tests/unit/testutil.h"
#include "transport/apdu.h"
#include "transport/transport.h"
#include "vcard/vcard.h"

/* A scripted card: records what it receives, answers by mode. */
enum mode { M_ECHO, M_CHAIN, M_GETRESP, M_6C, M_ENDLESS, M_REFUSE_CHUNK, M_SHORT, M_BIG, M_EXT };

struct card {
	enum mode mode;
	uint8_t got[4096];
	size_t got_len;
	unsigned apdus;
	uint8_t last[300];
	size_t last_len;
	size_t pending; /* bytes left for GET RESPONSE */
};

static void
put_sw(uint8_t *resp, size_t *n, uint16_t sw)
{
	resp[(*n)++] = (uint8_t)(sw >> 8);
	resp[(*n)++] = (uint8_t)sw;
}

static enum mdp_err
card_fn(void *ctx, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *resp_len)
{
	struct card *c = ctx;
	size_t n = 0, i;

	c->apdus++;
	memcpy(c->last, apdu, len < sizeof(c->last) ? len : sizeof(c->last));
	c->last_len = len;
	if (len > 5 && apdu[4] && c->got_len + apdu[4] <= sizeof(c->got)) {
		memcpy(c->got + c->got_len, apdu + 5, apdu[4]);
		c->got_len += apdu[4];
	}
	switch (c->mode) {
	case M_ECHO:
	case M_CHAIN:
		put_sw(resp, &n, 0x9000);
		break;
	case M_REFUSE_CHUNK:
		put_sw(resp, &n, (apdu[0] & 0x10) ? 0x6884 : 0x9000);
		break;
	case M_GETRESP:
		if (apdu[1] != 0xC0) {
			for (i = 0; i < 256; i++)
				resp[n++] = (uint8_t)i;
			c->pending = 16;
			put_sw(resp, &n, 0x6110);
		} else {
			for (i = 0; i < c->pending && i < apdu[4]; i++)
				resp[n++] = 0xAA;
			c->pending = 0;
			put_sw(resp, &n, 0x9000);
		}
		break;
	case M_6C:
		if (apdu[len - 1] != 5) {
			put_sw(resp, &n, 0x6C05);
		} else {
			memcpy(resp, "\x01\x02\x03\x04\x05", 5);
			n = 5;
			put_sw(resp, &n, 0x9000);
		}
		break;
	case M_ENDLESS:
		resp[n++] = 0x55;
		put_sw(resp, &n, 0x6100);
		break;
	case M_SHORT:
		resp[n++] = 0x90;
		break;
	case M_BIG:
		/* more than the caller's capacity */
		n = *resp_len + 10;
		break;
	case M_EXT:
		/* an extended case 4 command: 1000 bytes at once when there is room, else 6700 */
		if (len < 9 || apdu[4] != 0 || (size_t)(apdu[5] << 8 | apdu[6]) != len - 9 ||
		    *resp_len < 1002) {
			put_sw(resp, &n, 0x6700);
			break;
		}
		c->got_len = len - 9 < sizeof(c->got) ? len - 9 : sizeof(c->got);
		memcpy(c->got, apdu + 7, c->got_len);
		for (i = 0; i < 1000; i++)
			resp[n++] = (uint8_t)(i * 3);
		put_sw(resp, &n, 0x9000);
		break;
	}
	*resp_len = n;
	return MDP_OK;
}

static struct mdp_transport *
new_mock(struct card *c, struct mock_stats *st)
{
	struct mdp_transport *t = NULL;

	CU_ASSERT_EQUAL_FATAL(mock_transport_new(card_fn, c, st, &t), MDP_OK);
	return t;
}

static void
test_build_cases(void)
{
	static const uint8_t d[] = {0xA0, 0x00, 0x00, 0x03, 0x97};
	uint8_t out[300];
	size_t n = 0;
	struct mdp_apdu a = {.cla = 0, .ins = 0xA4, .p1 = 4, .p2 = 0, .le = MDP_APDU_NO_LE};

	/* case 1 */
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_EQUAL(n, 4);
	/* case 2, Le 256 encodes as 00 */
	a.le = 256;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(out[4], 0);
	/* case 4 */
	a.data = d;
	a.lc = sizeof(d);
	a.le = 10;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_EQUAL(n, 11);
	CU_ASSERT_EQUAL(out[4], 5);
	CU_ASSERT_MEM_EQUAL(out + 5, d, 5);
	CU_ASSERT_EQUAL(out[10], 10);
	/* case 3 */
	a.le = MDP_APDU_NO_LE;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_EQUAL(n, 10);
	/* errors */
	a.le = 257;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_ERR_ARGS);
	a.le = 0;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_ERR_ARGS);
	a.le = MDP_APDU_NO_LE;
	a.lc = 256;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_ERR_ARGS);
	a.lc = 5;
	a.data = NULL;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_ERR_ARGS);
	a.data = d;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, 6, &n), MDP_ERR_BUFFER_TOO_SMALL);
}

/* Extended Lc and Le (ISO 7816-4 §5.1): 00 Lc1 Lc2, Le1 Le2 after data, 00 Le1 Le2 alone. */
static void
test_build_extended(void)
{
	static uint8_t d[300];
	uint8_t out[400];
	size_t n = 0;
	struct mdp_apdu a = {.ins = 0xCB, .p1 = 0x3F, .p2 = 0xFF, .le = MDP_APDU_NO_LE};

	a.extended = true;
	/* case 1 is the same four bytes */
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_EQUAL(n, 4);
	/* case 2E: Le 65536 encodes as 00 00 00 */
	a.le = 65536;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT_MEM_EQUAL(out + 4, "\x00\x00\x00", 3);
	a.le = 300;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_MEM_EQUAL(out + 4, "\x00\x01\x2C", 3);
	a.le = 256; /* not 00 in the extended form */
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_MEM_EQUAL(out + 4, "\x00\x01\x00", 3);
	/* case 3E: 300 data bytes */
	memset(d, 0x5A, sizeof(d));
	a.data = d;
	a.lc = sizeof(d);
	a.le = MDP_APDU_NO_LE;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_EQUAL(n, 4 + 3 + 300);
	CU_ASSERT_MEM_EQUAL(out + 4, "\x00\x01\x2C", 3);
	CU_ASSERT_MEM_EQUAL(out + 7, d, sizeof(d));
	/* case 4E: Lc then a two-byte Le, 65536 as 00 00 */
	a.lc = 5;
	a.le = 65536;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_EQUAL(n, 4 + 3 + 5 + 2);
	CU_ASSERT_MEM_EQUAL(out + 4, "\x00\x00\x05", 3);
	CU_ASSERT_MEM_EQUAL(out + 12, "\x00\x00", 2);
	a.le = 0x1234;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_MEM_EQUAL(out + 12, "\x12\x34", 2);
	/* errors: Le beyond 65536 or 0, Lc beyond 65535, no room */
	a.le = 65537;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_ERR_ARGS);
	a.le = 0;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_ERR_ARGS);
	a.le = MDP_APDU_NO_LE;
	a.lc = 65536;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_ERR_ARGS);
	a.lc = 300;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, 306, &n), MDP_ERR_BUFFER_TOO_SMALL);
	/* the short form still refuses what only the extended one carries */
	a.extended = false;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_ERR_ARGS);
	a.lc = 5;
	a.le = 300;
	CU_ASSERT_EQUAL(mdp_apdu_build(&a, out, sizeof(out), &n), MDP_ERR_ARGS);
}

/* An extended exchange: 600 bytes in one command, 1000 back at once, nothing chained. */
static void
test_exchange_extended(void)
{
	struct card c = {.mode = M_EXT};
	struct mdp_transport *t = new_mock(&c, NULL);
	uint8_t data[600];
	struct mdp_apdu a = {.ins = 0x87,
			     .p1 = 0x07,
			     .p2 = 0x9A,
			     .data = data,
			     .lc = sizeof(data),
			     .le = MDP_APDU_EXT_MAX_LE,
			     .extended = true};
	struct mdp_buf b;
	uint16_t sw = 0;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	buf_init(&b);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &a, &b, &sw), MDP_OK);
	CU_ASSERT_EQUAL(sw, 0x9000);
	CU_ASSERT_EQUAL(c.apdus, 1);
	CU_ASSERT_EQUAL(c.got_len, sizeof(data));
	CU_ASSERT_MEM_EQUAL(c.got, data, sizeof(data));
	CU_ASSERT_EQUAL(b.len, 1000);
	CU_ASSERT(b.len == 1000 && b.data[999] == (uint8_t)(999 * 3));
	buf_free(&b);

	/* an extended command never chains: beyond 65535 bytes it is refused unsent */
	a.lc = 65536;
	a.data = malloc(a.lc);
	CU_ASSERT_FATAL(a.data != NULL);
	c.apdus = 0;
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &a, NULL, &sw), MDP_ERR_OVERFLOW);
	CU_ASSERT_EQUAL(c.apdus, 0);
	free((void *)a.data);
	mdp_transport_free(t);
}

/* The card capabilities of the ATR's historical bytes (ISO 7816-4 §8.1.1.2.7). */
static void
test_atr_extended(void)
{
	static const uint8_t yk5[] = {0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE,
				      0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59,
				      0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40};
	/* "Yubikey4": no compact-TLV, so nothing said */
	static const uint8_t yk4[] = {0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15,
				      0x59, 0x75, 0x62, 0x69, 0x6B, 0x65, 0x79, 0x34, 0xD4};
	static const uint8_t gids[] = {0x3B, 0x80, 0x80, 0x01, 0x01};
	/* category 00: capabilities 73 00 00 40, then the three status bytes */
	static const uint8_t cat00[] = {0x3B, 0x88, 0x80, 0x01, 0x00, 0x73, 0x00,
					0x00, 0x40, 0x00, 0x90, 0x00, 0x00};
	uint8_t a[sizeof(yk5)];

	CU_ASSERT_TRUE(mdp_atr_extended_length(yk5, sizeof(yk5)));
	CU_ASSERT_FALSE(mdp_atr_extended_length(yk4, sizeof(yk4)));
	CU_ASSERT_FALSE(mdp_atr_extended_length(gids, sizeof(gids)));
	CU_ASSERT_TRUE(mdp_atr_extended_length(cat00, sizeof(cat00)));
	/* the same capabilities without the bit, or cut short */
	memcpy(a, yk5, sizeof(a));
	a[13] = 0x80;
	CU_ASSERT_FALSE(mdp_atr_extended_length(a, sizeof(a)));
	CU_ASSERT_FALSE(mdp_atr_extended_length(yk5, 12));
	CU_ASSERT_FALSE(mdp_atr_extended_length(yk5, 3));
	CU_ASSERT_FALSE(mdp_atr_extended_length(NULL, 0));
	/* a compact-TLV length that runs past the historical bytes */
	memcpy(a, yk5, sizeof(a));
	a[14] = 0x5F;
	a[10] = 0x7F;
	CU_ASSERT_FALSE(mdp_atr_extended_length(a, sizeof(a)));
}

static void
test_chaining(void)
{
	struct card c = {.mode = M_CHAIN};
	struct mdp_transport *t = new_mock(&c, NULL);
	uint8_t data[600];
	struct mdp_apdu a = {.ins = 0xDB,
			     .p1 = 0xA0,
			     .p2 = 0x10,
			     .data = data,
			     .lc = sizeof(data),
			     .le = MDP_APDU_NO_LE,
			     .chain = true};
	uint16_t sw = 0;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &a, NULL, &sw), MDP_OK);
	CU_ASSERT_EQUAL(sw, 0x9000);
	CU_ASSERT_EQUAL(c.apdus, 3);
	CU_ASSERT_EQUAL(c.got_len, sizeof(data));
	CU_ASSERT_MEM_EQUAL(c.got, data, sizeof(data));
	/* last chunk: CLA without the chaining bit, 90 bytes */
	CU_ASSERT_EQUAL(c.last[0], 0x00);
	CU_ASSERT_EQUAL(c.last[4], 600 - 510);
	CU_ASSERT_EQUAL(mdp_transport_apdu_count(t), 3);

	/* without chaining allowed, > 255 bytes is refused before anything is sent */
	a.chain = false;
	c.apdus = 0;
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &a, NULL, &sw), MDP_ERR_OVERFLOW);
	CU_ASSERT_EQUAL(c.apdus, 0);

	/* a refused chunk stops the chain and reports the status word */
	c.mode = M_REFUSE_CHUNK;
	a.chain = true;
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &a, NULL, &sw), MDP_OK);
	CU_ASSERT_EQUAL(sw, 0x6884);
	CU_ASSERT_EQUAL(c.apdus, 1);
	mdp_transport_free(t);
}

static void
test_get_response(void)
{
	struct card c = {.mode = M_GETRESP};
	struct mdp_transport *t = new_mock(&c, NULL);
	struct mdp_apdu a = {.ins = 0xCB, .p1 = 0x3F, .p2 = 0xFF, .le = 256};
	struct mdp_buf b;
	uint16_t sw = 0;

	buf_init(&b);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &a, &b, &sw), MDP_OK);
	CU_ASSERT_EQUAL(sw, 0x9000);
	CU_ASSERT_EQUAL(b.len, 272);
	CU_ASSERT_EQUAL(b.data[255], 255);
	CU_ASSERT_EQUAL(b.data[256], 0xAA);
	CU_ASSERT_EQUAL(c.apdus, 2);
	/* the GET RESPONSE asked for exactly 0x10 bytes */
	CU_ASSERT_EQUAL(c.last[1], 0xC0);
	CU_ASSERT_EQUAL(c.last[4], 0x10);
	buf_free(&b);

	/* a card that never stops answering 61xx is cut off */
	c.mode = M_ENDLESS;
	buf_init(&b);
	CU_ASSERT_NOT_EQUAL(mdp_apdu_exchange(t, &a, &b, &sw), MDP_OK);
	buf_free(&b);
	mdp_transport_free(t);
}

static void
test_wrong_le(void)
{
	struct card c = {.mode = M_6C};
	struct mdp_transport *t = new_mock(&c, NULL);
	struct mdp_apdu a = {.ins = 0xCA, .le = 256};
	struct mdp_buf b;
	uint16_t sw = 0;

	buf_init(&b);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &a, &b, &sw), MDP_OK);
	CU_ASSERT_EQUAL(sw, 0x9000);
	CU_ASSERT_EQUAL(b.len, 5);
	CU_ASSERT_EQUAL(c.apdus, 2);
	buf_free(&b);
	mdp_transport_free(t);
}

static void
test_malformed(void)
{
	struct card c = {.mode = M_SHORT};
	struct mdp_transport *t = new_mock(&c, NULL);
	struct mdp_apdu a = {.ins = 0xCA, .le = 256};
	uint16_t sw = 0;
	uint8_t raw[4] = {0, 0xCA, 0, 0}, resp[MDP_APDU_SHORT_RESPONSE];
	size_t n = 0;

	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &a, NULL, &sw), MDP_ERR_FORMAT);
	c.mode = M_BIG;
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &a, NULL, &sw), MDP_ERR_FORMAT);
	/* raw transmit argument checks */
	CU_ASSERT_EQUAL(mdp_transport_transmit(t, raw, 3, resp, sizeof(resp), &n), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_transport_transmit(t, raw, 4, resp, 1, &n), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(NULL, &a, NULL, &sw), MDP_ERR_ARGS);
	mdp_transport_free(t);
}

static void
test_transactions(void)
{
	struct card c = {.mode = M_ECHO};
	struct mock_stats st = {0};
	struct mdp_transport *t = new_mock(&c, &st);
	struct mdp_transport_status s;

	CU_ASSERT_EQUAL(mdp_transport_begin(t), MDP_OK);
	CU_ASSERT_EQUAL(mdp_transport_begin(t), MDP_OK);
	CU_ASSERT_EQUAL(st.begins, 1);
	CU_ASSERT_EQUAL(mdp_transport_end(t, MDP_LEAVE_CARD), MDP_OK);
	CU_ASSERT_EQUAL(st.ends, 0);
	CU_ASSERT_EQUAL(mdp_transport_end(t, MDP_RESET_CARD), MDP_OK);
	CU_ASSERT_EQUAL(st.ends, 1);
	CU_ASSERT_EQUAL(st.resets, 1);
	CU_ASSERT_EQUAL(mdp_transport_end(t, MDP_LEAVE_CARD), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_transport_reconnect(t, MDP_RESET_CARD), MDP_OK);
	CU_ASSERT_EQUAL(st.reconnects, 1);
	CU_ASSERT_EQUAL(mdp_transport_status(t, &s), MDP_OK);
	CU_ASSERT_TRUE(s.present);
	CU_ASSERT_EQUAL(s.atr_len, 5);
	CU_ASSERT_STRING_EQUAL(mdp_transport_name(t), "script");
	CU_ASSERT_STRING_EQUAL(mdp_transport_kind(t), "script");
	mdp_transport_reset_count(t);
	CU_ASSERT_EQUAL(mdp_transport_apdu_count(t), 0);
	mdp_transport_free(t);
	mdp_transport_free(NULL);
}

struct observed {
	unsigned n;
	uint8_t ins;
};

static void
observer(void *ctx, const uint8_t *apdu, size_t len, const uint8_t *resp, size_t rlen)
{
	struct observed *o = ctx;

	o->n++;
	o->ins = apdu[1];
}

static char *
slurp(const char *path)
{
	size_t n = 0;
	uint8_t *p = test_read_file(path, &n);
	char *s = calloc(1, n + 1);

	if (p && s)
		memcpy(s, p, n);
	free(p);
	return s;
}

/* The PIN, key and secret bytes never reach the log; the rest of the trace does. */
static void
test_trace_blanking(void)
{
	struct card c = {.mode = M_ECHO};
	struct mdp_transport *t = new_mock(&c, NULL);
	char *dir = test_tmpdir(), path[512], *log = NULL;
	static const uint8_t pin[] = "q7Zk9w";
	uint8_t key[600];
	struct mdp_apdu verify = {
		.ins = 0x20, .p2 = 0x80, .data = pin, .lc = 6, .le = MDP_APDU_NO_LE};
	struct mdp_apdu change = {
		.ins = 0x24, .p2 = 0x80, .data = pin, .lc = 6, .le = MDP_APDU_NO_LE};
	struct mdp_apdu rrc = {
		.ins = 0x2C, .p1 = 2, .p2 = 0x80, .data = pin, .lc = 6, .le = MDP_APDU_NO_LE};
	struct mdp_apdu import = {.ins = 0xDB,
				  .p1 = 0x3F,
				  .p2 = 0xFF,
				  .data = key,
				  .lc = sizeof(key),
				  .le = MDP_APDU_NO_LE,
				  .chain = true};
	struct mdp_apdu ga = {.ins = 0x87, .data = pin, .lc = 6, .le = 256};
	struct mdp_apdu plain = {.ins = 0xCB,
				 .p1 = 0xA0,
				 .p2 = 0x10,
				 .data = (const uint8_t *)"\x5C\x02\xDF\x23",
				 .lc = 4,
				 .le = 256};
	struct observed o = {0};
	uint16_t sw;

	memset(key, 0xE7, sizeof(key));
	snprintf(path, sizeof(path), "%s/trace.log", dir);
	CU_ASSERT_EQUAL_FATAL(mdp_log_configure("debug:transport", path), 0);
	mdp_transport_set_observer(t, observer, &o);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &verify, NULL, &sw), MDP_OK);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &change, NULL, &sw), MDP_OK);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &rrc, NULL, &sw), MDP_OK);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &import, NULL, &sw), MDP_OK);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &ga, NULL, &sw), MDP_OK);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &plain, NULL, &sw), MDP_OK);
	mdp_log_shutdown();
	CU_ASSERT_EQUAL(o.n, 1 + 1 + 1 + 3 + 1 + 1);
	CU_ASSERT_EQUAL(o.ins, 0xCB);

	log = slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	/* the PIN bytes in hex (71 37 5A 6B) and as text never appear */
	CU_ASSERT_PTR_NULL(strstr(log, "71 37 5A"));
	CU_ASSERT_PTR_NULL(strstr(log, "q7Zk9w"));
	CU_ASSERT_PTR_NULL(strstr(log, "E7 E7"));
	/* headers of secret commands and the plain command are traced */
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "00 20 00 80 06 [6 bytes hidden]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "10 DB 3F FF FF [255 bytes hidden]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "00 CB A0 10 04 5C 02 DF 23 00"));
	free(log);
	mdp_transport_free(t);
	test_rmtree(dir);
	free(dir);
}

/* Secret answers (ECDH secret, decrypted data) are hidden, including GET RESPONSE continuations. */
static enum mdp_err
secret_card(void *ctx, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *resp_len)
{
	size_t n = 0;

	if (apdu[1] == 0xC0) {
		memset(resp, 0xD5, 10);
		n = 10;
		put_sw(resp, &n, 0x9000);
	} else {
		memset(resp, 0xD5, 256);
		n = 256;
		put_sw(resp, &n, 0x610A);
	}
	*resp_len = n;
	return MDP_OK;
}

static void
test_trace_secret_response(void)
{
	struct mdp_transport *t = NULL;
	char *dir = test_tmpdir(), path[512], *log = NULL;
	static const uint8_t ct[4] = {1, 2, 3, 4};
	struct mdp_apdu dec = {.ins = 0x2A, .p1 = 0x80, .p2 = 0x86, .data = ct, .lc = 4, .le = 256};
	struct mdp_apdu ecdh = {.ins = 0x87, .data = ct, .lc = 4, .le = 256};
	struct mdp_buf b;
	uint16_t sw;

	CU_ASSERT_EQUAL_FATAL(mock_transport_new(secret_card, NULL, NULL, &t), MDP_OK);
	snprintf(path, sizeof(path), "%s/trace.log", dir);
	CU_ASSERT_EQUAL_FATAL(mdp_log_configure("debug:transport", path), 0);
	buf_init_secret(&b);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &dec, &b, &sw), MDP_OK);
	CU_ASSERT_EQUAL(b.len, 266);
	buf_free(&b);
	/* the ECDH answer of GENERAL AUTHENTICATE (§9), continued by GET RESPONSE */
	buf_init_secret(&b);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &ecdh, &b, &sw), MDP_OK);
	CU_ASSERT_EQUAL(b.len, 266);
	buf_free(&b);
	mdp_log_shutdown();
	log = slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_PTR_NULL(strstr(log, "D5"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "[256 bytes hidden] 61 0A"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "[10 bytes hidden] 90 00"));
	/* two commands, each continued once */
	{
		const char *second = strstr(log, "[10 bytes hidden] 90 00");

		second = second ? strstr(second, "[256 bytes hidden] 61 0A") : NULL;
		CU_ASSERT(second && strstr(second, "[10 bytes hidden] 90 00"));
	}
	free(log);
	mdp_transport_free(t);
	test_rmtree(dir);
	free(dir);
}

static void
test_sw_str(void)
{
	CU_ASSERT_STRING_EQUAL(mdp_sw_str(0x9000), "success");
	CU_ASSERT_STRING_EQUAL(mdp_sw_str(0x6A82), "file or application not found");
	CU_ASSERT_STRING_EQUAL(mdp_sw_str(0x63C2), "verification failed, tries left in low nibble");
	CU_ASSERT_STRING_EQUAL(mdp_sw_str(0x1234), "unknown status");
}

static void
test_embedded(void)
{
	static const uint8_t admin[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
					  5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	struct vcard_init_params p = {.pin = "1234", .admin_key = admin};
	static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x03, 0x97, 0x42, 0x54, 0x46, 0x59};
	struct mdp_apdu sel = {.ins = 0xA4, .p1 = 4, .data = aid, .lc = sizeof(aid), .le = 256};
	struct mdp_transport *t = NULL;
	struct mdp_transport_status st;
	struct mdp_buf b;
	uint16_t sw = 0;

	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(NULL, &p, &t), MDP_OK);
	CU_ASSERT_PTR_NOT_NULL(mdp_transport_embedded_vcard(t));
	CU_ASSERT_STRING_EQUAL(mdp_transport_kind(t), "embedded");
	CU_ASSERT_EQUAL(mdp_transport_status(t, &st), MDP_OK);
	CU_ASSERT_TRUE(st.present);
	CU_ASSERT_FALSE(st.changed);
	CU_ASSERT_EQUAL(st.atr_len, 5);
	CU_ASSERT_EQUAL(mdp_transport_begin(t), MDP_OK);
	buf_init(&b);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &sel, &b, &sw), MDP_OK);
	CU_ASSERT_EQUAL(sw, 0x9000);
	CU_ASSERT(b.len > 0 && b.data[0] == 0x61);
	buf_free(&b);
	CU_ASSERT_EQUAL(mdp_transport_end(t, MDP_LEAVE_CARD), MDP_OK);

	/* reset by someone else: reported once, then the link works */
	CU_ASSERT_EQUAL(mdp_transport_embedded_event(t, false), MDP_OK);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &sel, NULL, &sw), MDP_ERR_CARD_RESET);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &sel, NULL, &sw), MDP_OK);
	CU_ASSERT_EQUAL(mdp_transport_status(t, &st), MDP_OK);
	CU_ASSERT_TRUE(st.changed);
	/* removal: removed once, then no card, until reinsertion */
	CU_ASSERT_EQUAL(mdp_transport_embedded_event(t, true), MDP_OK);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &sel, NULL, &sw), MDP_ERR_CARD_REMOVED);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &sel, NULL, &sw), MDP_ERR_NO_CARD);
	CU_ASSERT_EQUAL(mdp_transport_status(t, &st), MDP_OK);
	CU_ASSERT_FALSE(st.present);
	CU_ASSERT_EQUAL(mdp_transport_embedded_event(t, false), MDP_OK);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &sel, NULL, &sw), MDP_ERR_CARD_RESET);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &sel, NULL, &sw), MDP_OK);
	CU_ASSERT_EQUAL(sw, 0x9000);
	mdp_transport_free(t);
}

static void
test_embedded_state_file(void)
{
	static const uint8_t admin[24] = {0};
	struct vcard_init_params p = {.pin = "1234", .admin_key = admin};
	char *dir = test_tmpdir(), path[512];
	struct mdp_transport *t = NULL, *t2 = NULL;

	snprintf(path, sizeof(path), "%s/card.state", dir);
	CU_ASSERT_EQUAL(mdp_transport_embedded_new(path, NULL, &t), MDP_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL_FATAL(vcard_create(path, &p), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(path, NULL, &t), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(path, NULL, &t2), MDP_OK);
	CU_ASSERT_EQUAL(mdp_transport_begin(t), MDP_OK);
	CU_ASSERT_EQUAL(mdp_transport_end(t, MDP_RESET_CARD), MDP_OK);
	CU_ASSERT_EQUAL(mdp_transport_begin(t2), MDP_OK);
	CU_ASSERT_EQUAL(mdp_transport_end(t2, MDP_LEAVE_CARD), MDP_OK);
	mdp_transport_free(t);
	mdp_transport_free(t2);
	test_rmtree(dir);
	free(dir);
}

/* One raw APDU; the status word, or 0 when the link failed. */
static uint16_t
raw(struct mdp_transport *t, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *n)
{
	*n = VCARD_MAX_RESPONSE;
	if (mdp_transport_transmit(t, apdu, len, resp, *n, n) != MDP_OK || *n < 2)
		return 0;
	return (uint16_t)(resp[*n - 2] << 8 | resp[*n - 1]);
}

/* A PIV card file through the embedded transport (what MDP11_VCARD=file gives the module). */
static void
test_embedded_piv_file(void)
{
	static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x03, 0x08};
	static const uint8_t ver[] = {0x00, 0xFD, 0x00, 0x00, 0x00};
	struct vcard_init_params p;
	struct mdp_apdu sel = {.ins = 0xA4, .p1 = 4, .data = aid, .lc = sizeof(aid), .le = 256};
	struct mdp_transport *t = NULL;
	struct mdp_transport_status st;
	struct mdp_buf b;
	char *dir = test_tmpdir(), path[512], seal[600];
	uint8_t resp[VCARD_MAX_RESPONSE];
	size_t n = 0;
	uint16_t sw = 0;

	snprintf(path, sizeof(path), "%s/piv.card", dir);
	snprintf(seal, sizeof(seal), "keyfile:%s/piv.key", dir);
	memset(&p, 0, sizeof(p));
	p.type = VCARD_TYPE_PIV;
	p.seal = seal;
	p.kdf_cost = 4;
	CU_ASSERT_EQUAL_FATAL(vcard_create(path, &p), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(path, NULL, &t), MDP_OK);
	CU_ASSERT_EQUAL(mdp_transport_status(t, &st), MDP_OK);
	CU_ASSERT(st.present && st.atr_len == 23 && st.atr[1] == 0xFD); /* the YubiKey 5 ATR */
	CU_ASSERT_EQUAL(mdp_transport_begin(t), MDP_OK);
	buf_init(&b);
	CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &sel, &b, &sw), MDP_OK);
	CU_ASSERT(sw == 0x9000 && b.len == 19 && b.data[0] == 0x61);
	buf_free(&b);
	CU_ASSERT_EQUAL(raw(t, ver, sizeof(ver), resp, &n), 0x9000);
	CU_ASSERT(n == 5 && resp[0] == 5 && resp[1] == 4 && resp[2] == 3);
	CU_ASSERT_EQUAL(mdp_transport_end(t, MDP_LEAVE_CARD), MDP_OK);
	mdp_transport_free(t);
	test_rmtree(dir);
	free(dir);
}

/* Inside a transaction: VERIFY, read the counter DO DF40 of EF A010 (absent: 0), write it + 1. */
static int
bump_counter(struct mdp_transport *t, int go_fd)
{
	static const uint8_t verify[] = {0x00, 0x20, 0x00, 0x80, 0x04, '1', '2', '3', '4'};
	static const uint8_t get[] = {0x00, 0xCB, 0xA0, 0x10, 0x04, 0x5C, 0x02, 0xDF, 0x40, 0x00};
	uint8_t put[] = {0x00, 0xDB, 0xA0, 0x10, 0x04, 0xDF, 0x40, 0x01, 0x00};
	uint8_t resp[VCARD_MAX_RESPONSE];
	size_t n = 0;
	uint16_t sw;
	int v = -1;

	if (mdp_transport_begin(t) != MDP_OK)
		return -1;
	if (raw(t, verify, sizeof(verify), resp, &n) != 0x9000)
		goto out;
	sw = raw(t, get, sizeof(get), resp, &n);
	if (sw == 0x6A88)
		v = 0;
	else if (sw == 0x9000 && n == 6 && resp[0] == 0xDF && resp[1] == 0x40 && resp[2] == 1)
		v = resp[3];
	if (v < 0)
		goto out;
	if (go_fd >= 0) {
		/* let the other process try to change the card now, then take our time */
		if (write(go_fd, "g", 1) != 1)
			v = -1;
		usleep(300000);
	}
	put[8] = (uint8_t)(v + 1);
	if (v >= 0 && raw(t, put, sizeof(put), resp, &n) != 0x9000)
		v = -1;
out:
	mdp_transport_end(t, MDP_LEAVE_CARD);
	return v < 0 ? -1 : v + 1;
}

/*
 * Two processes on one state file: a transaction excludes the other process's
 * changes, so a read-modify-write is never lost (the other one waits).
 */
static void
test_embedded_two_processes(void)
{
	static const uint8_t admin[24] = {0};
	struct vcard_init_params p = {.pin = "1234", .admin_key = admin};
	char *dir = test_tmpdir(), path[512];
	struct mdp_transport *t = NULL;
	int go[2] = {-1, -1}, status = -1;
	pid_t pid;
	char c;

	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	snprintf(path, sizeof(path), "%s/shared.state", dir);
	CU_ASSERT_EQUAL_FATAL(vcard_create(path, &p), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int rc;

		/* the child's copy (valgrind checks for leaks at _exit too) */
		free(dir);
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		if (mdp_transport_embedded_new(path, NULL, &t) != MDP_OK)
			_exit(4);
		rc = bump_counter(t, -1) > 0 ? 0 : 5;
		mdp_transport_free(t);
		_exit(rc);
	}
	close(go[0]);
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(path, NULL, &t), MDP_OK);
	CU_ASSERT_EQUAL(bump_counter(t, go[1]), 1);
	close(go[1]);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	/* both increments are there */
	CU_ASSERT_EQUAL(bump_counter(t, -1), 3);
	mdp_transport_free(t);
	test_rmtree(dir);
	free(dir);
}

/* Without pcscd the PC/SC calls fail cleanly (the PC/SC paths are tested in tests/integration). */
static void
test_pcsc_args(void)
{
	struct mdp_transport *t = NULL;

	CU_ASSERT_EQUAL(mdp_transport_pcsc_new(NULL, &t), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_pcsc_list_readers(NULL, NULL), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(mdp_pcsc_monitor_new(NULL), MDP_ERR_ARGS);
	mdp_pcsc_free_readers(NULL, 0);
	mdp_pcsc_monitor_free(NULL);
}

static CU_TestInfo framing_tests[] = {
	{"build cases 1-4", test_build_cases},
	{"build extended APDUs", test_build_extended},
	{"extended exchange", test_exchange_extended},
	{"ATR says extended length", test_atr_extended},
	{"command chaining", test_chaining},
	{"GET RESPONSE", test_get_response},
	{"6Cxx resend", test_wrong_le},
	{"malformed answers", test_malformed},
	{"status word names", test_sw_str},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo transport_tests[] = {
	{"transactions nest", test_transactions},
	{"trace blanks secrets", test_trace_blanking},
	{"trace blanks secret answers", test_trace_secret_response},
	{"pcsc argument checks", test_pcsc_args},
	{"embedded card", test_embedded},
	{"embedded state file", test_embedded_state_file},
	{"embedded PIV card file", test_embedded_piv_file},
	{"embedded transactions across processes", test_embedded_two_processes},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"framing", NULL, NULL, NULL, NULL, framing_tests},
	{"transport", NULL, NULL, NULL, NULL, transport_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-transport", suites);
}
