/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* APDU helpers for the virtual card tests. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "tests/unit/vcard-testlib.h"

uint16_t
tx_raw(struct vcard *vc, const uint8_t *apdu, size_t len, struct rapdu *r)
{
	uint8_t resp[VCARD_MAX_RESPONSE];
	size_t rl = 0;

	r->len = 0;
	if (vcard_transmit(vc, apdu, len, resp, &rl) != MDP_OK || rl < 2)
		return 0;
	r->len = rl - 2;
	memcpy(r->data, resp, r->len);
	return (uint16_t)(resp[rl - 2] << 8 | resp[rl - 1]);
}

uint16_t
tx(struct vcard *vc, const char *hex, struct rapdu *r)
{
	uint8_t apdu[300];
	long n = mdp_hex_decode(hex, apdu, sizeof(apdu));

	if (n < 0) {
		r->len = 0;
		return 0;
	}
	return tx_raw(vc, apdu, (size_t)n, r);
}

uint16_t
tx_chunk(struct vcard *vc, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
	 size_t lc, int le, struct rapdu *r)
{
	uint8_t apdu[262];
	size_t n = 4;

	if (lc > 255)
		return 0;
	apdu[0] = cla;
	apdu[1] = ins;
	apdu[2] = p1;
	apdu[3] = p2;
	if (lc) {
		apdu[n++] = (uint8_t)lc;
		memcpy(apdu + n, data, lc);
		n += lc;
	}
	if (le >= 0)
		apdu[n++] = (uint8_t)(le == 256 ? 0 : le);
	return tx_raw(vc, apdu, n, r);
}

static uint16_t
collect(struct vcard *vc, uint16_t sw, struct rapdu *r, uint8_t **out, size_t *out_len)
{
	uint8_t *acc = NULL, *grown;
	size_t len = 0;

	for (;;) {
		if (r->len) {
			grown = realloc(acc, len + r->len);
			if (!grown) {
				free(acc);
				return 0;
			}
			acc = grown;
			memcpy(acc + len, r->data, r->len);
			len += r->len;
		}
		if ((sw & 0xFF00) != 0x6100)
			break;
		sw = tx_chunk(vc, 0x00, 0xC0, 0x00, 0x00, NULL, 0, (sw & 0xFF) ? (sw & 0xFF) : 256,
			      r);
	}
	*out = acc;
	*out_len = len;
	return sw;
}

uint16_t
xfer_bytes(struct vcard *vc, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t len,
	   uint8_t **out, size_t *out_len)
{
	struct rapdu r;
	size_t pos = 0;
	uint16_t sw;

	while (len - pos > 255) {
		sw = tx_chunk(vc, 0x10, ins, p1, p2, data + pos, 255, -1, &r);
		if (sw != 0x9000) {
			*out = NULL;
			*out_len = 0;
			return sw;
		}
		pos += 255;
	}
	sw = tx_chunk(vc, 0x00, ins, p1, p2, data + pos, len - pos, 256, &r);
	return collect(vc, sw, &r, out, out_len);
}

uint16_t
xfer(struct vcard *vc, const char *hex, uint8_t **out, size_t *out_len)
{
	struct rapdu r;
	uint16_t sw = tx(vc, hex, &r);

	return collect(vc, sw, &r, out, out_len);
}

int
rapdu_is(const struct rapdu *r, const char *hex)
{
	uint8_t want[VCARD_MAX_RESPONSE];
	long n = mdp_hex_decode(hex, want, sizeof(want));

	return n >= 0 && (size_t)n == r->len && memcmp(want, r->data, r->len) == 0;
}
