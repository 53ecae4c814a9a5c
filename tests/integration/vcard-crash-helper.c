/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helper of vcard-crash.sh: PUT DATA in a loop on a card state file, and checks of what survived.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "vcard/vcard.h"

/*
 * One data object, tag DF30 in EF A010 (written with the user PIN, read by
 * anyone, spec/gids.md §2.2), holds generation number SEQ: 4 bytes SEQ
 * (big-endian) then a filler of the byte SEQ & 0xff, the whole value
 * value_len(SEQ) bytes long, so that a torn or mixed write cannot pass
 * for a whole one. Values are 200 to 1400 bytes: every PUT DATA is
 * chained (255-byte chunks) and the state file changes size.
 *
 *   write STATE PIN FIRST   verify PIN, then write FIRST, FIRST+1, ... until
 *                           killed; prints "ready" after VERIFY and each SEQ
 *                           once its PUT DATA answered 9000
 *   check STATE LAST        the DO must hold LAST or LAST+1 (LAST 0: absent
 *                           or 1); prints the SEQ found; exit 1 otherwise
 *   apdus SEQ               the chained PUT DATA APDUs for SEQ in hex, one per
 *                           line (for opensc-tool -s)
 */
#define DO_TAG 0xdf30
#define EF_FID 0xa010
#define CHUNK 255

static const uint8_t select_gids[] = {0x00, 0xa4, 0x04, 0x00, 0x09, 0xa0, 0x00, 0x00,
				      0x03, 0x97, 0x42, 0x54, 0x46, 0x59, 0x00};

static size_t
value_len(unsigned long seq)
{
	return 200 + (size_t)((seq * 397) % 1200);
}

/* The DO as a TLV: DF30 <len> <value>. */
static uint8_t *
make_tlv(unsigned long seq, size_t *len)
{
	struct mdp_buf b;
	uint8_t *v = NULL;
	uint8_t *out = NULL;
	size_t n = value_len(seq);

	v = malloc(n);
	if (!v)
		return NULL;
	v[0] = (uint8_t)(seq >> 24);
	v[1] = (uint8_t)(seq >> 16);
	v[2] = (uint8_t)(seq >> 8);
	v[3] = (uint8_t)seq;
	memset(v + 4, (int)(seq & 0xff), n - 4);
	buf_init(&b);
	buf_put_tlv(&b, DO_TAG, v, n);
	out = buf_steal(&b, len);
	buf_free(&b);
	free(v);
	return out;
}

/* Chunk i of the chained PUT DATA for tlv (CLA 10 on all but the last). */
static size_t
put_chunk(const uint8_t *tlv, size_t tlv_len, size_t i, uint8_t *apdu, bool *last)
{
	size_t off = i * CHUNK;
	size_t n = tlv_len - off > CHUNK ? CHUNK : tlv_len - off;

	*last = off + n == tlv_len;
	apdu[0] = *last ? 0x00 : 0x10;
	apdu[1] = 0xdb;
	apdu[2] = EF_FID >> 8;
	apdu[3] = EF_FID & 0xff;
	apdu[4] = (uint8_t)n;
	memcpy(apdu + 5, tlv + off, n);
	return 5 + n;
}

static unsigned
sw_of(const uint8_t *resp, size_t len)
{
	return len >= 2 ? (unsigned)resp[len - 2] << 8 | resp[len - 1] : 0;
}

static unsigned
xmit(struct vcard *vc, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *rlen)
{
	*rlen = 0;
	if (vcard_transmit(vc, apdu, len, resp, rlen) != MDP_OK)
		fprintf(stderr, "vcard_transmit: %s\n", mdp_err_last());
	return sw_of(resp, *rlen);
}

static int
cmd_write(const char *state, const char *pin, unsigned long seq)
{
	struct vcard *vc = NULL;
	uint8_t apdu[5 + CHUNK];
	uint8_t resp[VCARD_MAX_RESPONSE];
	uint8_t *tlv = NULL;
	size_t rlen = 0;
	size_t plen = strlen(pin);
	unsigned sw;
	int rc = 1;

	if (plen > 16) {
		fprintf(stderr, "PIN too long\n");
		return 1;
	}
	if (vcard_open(state, NULL, &vc) != MDP_OK) {
		fprintf(stderr, "open %s: %s\n", state, mdp_err_last());
		return 1;
	}
	if (xmit(vc, select_gids, sizeof(select_gids), resp, &rlen) != 0x9000) {
		fprintf(stderr, "SELECT failed\n");
		goto out;
	}
	apdu[0] = 0x00;
	apdu[1] = 0x20;
	apdu[2] = 0x00;
	apdu[3] = 0x80;
	apdu[4] = (uint8_t)plen;
	memcpy(apdu + 5, pin, plen);
	sw = xmit(vc, apdu, 5 + plen, resp, &rlen);
	if (sw != 0x9000) {
		fprintf(stderr, "VERIFY: SW %04X\n", sw);
		goto out;
	}
	printf("ready\n");
	fflush(stdout);
	/* Until killed: the test's SIGKILL is the only way out of a good run. */
	for (;; seq++) {
		size_t tlv_len = 0;
		bool last = false;
		size_t i;

		tlv = make_tlv(seq, &tlv_len);
		if (!tlv)
			goto out;
		for (i = 0; !last; i++) {
			size_t n = put_chunk(tlv, tlv_len, i, apdu, &last);

			sw = xmit(vc, apdu, n, resp, &rlen);
			if (sw != 0x9000) {
				fprintf(stderr, "PUT DATA %lu chunk %zu: SW %04X\n", seq, i, sw);
				goto out;
			}
		}
		free(tlv);
		tlv = NULL;
		printf("%lu\n", seq);
		fflush(stdout);
	}
out:
	free(tlv);
	vcard_free(vc);
	return rc;
}

/* GET DATA of the DO (with GET RESPONSE); -1 on error, 0 absent, 1 found. */
static int
read_do(struct vcard *vc, uint8_t *out, size_t cap, size_t *len)
{
	static const uint8_t get[] = {0x00, 0xcb, EF_FID >> 8, EF_FID & 0xff, 0x04,
				      0x5c, 0x02, DO_TAG >> 8, DO_TAG & 0xff, 0x00};
	uint8_t resp[VCARD_MAX_RESPONSE];
	uint8_t more[5] = {0x00, 0xc0, 0x00, 0x00, 0x00};
	size_t rlen = 0;
	size_t have = 0;
	unsigned sw;

	if (xmit(vc, select_gids, sizeof(select_gids), resp, &rlen) != 0x9000)
		return -1;
	sw = xmit(vc, get, sizeof(get), resp, &rlen);
	if (sw == 0x6a88)
		return 0;
	for (;;) {
		if (sw != 0x9000 && (sw >> 8) != 0x61) {
			fprintf(stderr, "GET DATA: SW %04X\n", sw);
			return -1;
		}
		if (have + rlen - 2 > cap)
			return -1;
		memcpy(out + have, resp, rlen - 2);
		have += rlen - 2;
		if (sw == 0x9000)
			break;
		more[4] = (uint8_t)(sw & 0xff);
		sw = xmit(vc, more, sizeof(more), resp, &rlen);
	}
	*len = have;
	return 1;
}

static int
cmd_check(const char *state, unsigned long last)
{
	struct vcard *vc = NULL;
	static uint8_t data[4096];
	struct mdp_cursor c;
	struct mdp_cursor v;
	uint32_t tag = 0;
	size_t len = 0;
	unsigned long seq;
	const uint8_t *p;
	size_t n;
	size_t i;
	int found;
	int rc = 1;

	if (vcard_open(state, NULL, &vc) != MDP_OK) {
		fprintf(stderr, "open %s: %s\n", state, mdp_err_last());
		return 1;
	}
	found = read_do(vc, data, sizeof(data), &len);
	if (found < 0)
		goto out;
	if (found == 0) {
		if (last != 0) {
			fprintf(stderr, "DO absent, expected generation %lu or %lu\n", last,
				last + 1);
			goto out;
		}
		printf("0\n");
		rc = 0;
		goto out;
	}
	cur_init(&c, data, len);
	if (tlv_read(&c, &tag, &v) != MDP_OK || tag != DO_TAG || cur_left(&c) != 0) {
		fprintf(stderr, "GET DATA answer is not one DF30 TLV\n");
		goto out;
	}
	n = cur_left(&v);
	p = cur_get_bytes(&v, n);
	if (n < 4 || !p) {
		fprintf(stderr, "DO too short (%zu bytes)\n", n);
		goto out;
	}
	seq = (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 |
	      p[3];
	if (n != value_len(seq)) {
		fprintf(stderr, "generation %lu: %zu bytes, expected %zu (torn write)\n", seq, n,
			value_len(seq));
		goto out;
	}
	for (i = 4; i < n; i++) {
		if (p[i] != (uint8_t)(seq & 0xff)) {
			fprintf(stderr, "generation %lu: byte %zu is %02x (mixed write)\n", seq, i,
				p[i]);
			goto out;
		}
	}
	if (seq != last && seq != last + 1) {
		fprintf(stderr, "generation %lu found, expected %lu or %lu\n", seq, last, last + 1);
		goto out;
	}
	printf("%lu\n", seq);
	rc = 0;
out:
	vcard_free(vc);
	return rc;
}

static int
cmd_apdus(unsigned long seq)
{
	uint8_t apdu[5 + CHUNK];
	size_t tlv_len = 0;
	uint8_t *tlv = make_tlv(seq, &tlv_len);
	bool last = false;
	size_t i;
	size_t j;

	if (!tlv)
		return 1;
	for (i = 0; !last; i++) {
		size_t n = put_chunk(tlv, tlv_len, i, apdu, &last);

		for (j = 0; j < n; j++)
			printf("%02X", apdu[j]);
		printf("\n");
	}
	free(tlv);
	return 0;
}

static int
number(const char *s, unsigned long *v)
{
	char *end = NULL;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || !*s || *end || *v > 0xffffffffUL ? -1 : 0;
}

int
main(int argc, char **argv)
{
	unsigned long n = 0;

	if (argc == 5 && !strcmp(argv[1], "write") && number(argv[4], &n) == 0 && n > 0)
		return cmd_write(argv[2], argv[3], n);
	if (argc == 4 && !strcmp(argv[1], "check") && number(argv[3], &n) == 0)
		return cmd_check(argv[2], n);
	if (argc == 3 && !strcmp(argv[1], "apdus") && number(argv[2], &n) == 0 && n > 0)
		return cmd_apdus(n);
	fprintf(stderr, "usage: %s write STATE PIN FIRST | check STATE LAST | apdus SEQ\n",
		argv[0]);
	return 2;
}
