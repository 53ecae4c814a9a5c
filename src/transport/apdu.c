/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ISO 7816-4 APDU framing: short and extended encoding, command chaining, GET RESPONSE, 6Cxx. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_TRANSPORT
#include "common/log.h"
#include "common/secmem.h"
#include "transport/apdu.h"

/* More GET RESPONSE rounds than this means a card that never finishes. */
#define MAX_GET_RESPONSE (MDP_APDU_MAX_RESPONSE / 256 + 2)

enum mdp_err
mdp_apdu_build(const struct mdp_apdu *a, uint8_t *out, size_t cap, size_t *len)
{
	size_t max_lc, n = 0;
	int max_le;

	if (!a || !out || !len)
		return mdp_err_reason(MDP_ERR_ARGS, "bad APDU");
	max_lc = a->extended ? MDP_APDU_EXT_MAX_LC : 255;
	max_le = a->extended ? MDP_APDU_EXT_MAX_LE : 256;
	if (a->lc > max_lc || (a->lc && !a->data))
		return mdp_err_reason(MDP_ERR_ARGS, "bad APDU");
	if (a->le != MDP_APDU_NO_LE && (a->le < 1 || a->le > max_le))
		return mdp_err_reason(MDP_ERR_ARGS, "bad Le %d", a->le);
	/* header, the longest Lc and Le fields of the form, the data */
	if (cap < 4 + (a->extended ? 3 + 2 : 1 + 1) + a->lc)
		return MDP_ERR_BUFFER_TOO_SMALL;
	out[n++] = a->cla;
	out[n++] = a->ins;
	out[n++] = a->p1;
	out[n++] = a->p2;
	if (a->extended && (a->lc || a->le != MDP_APDU_NO_LE))
		out[n++] = 0x00; /* the mark of the extended form, before Lc or a lone Le */
	if (a->lc) {
		if (a->extended)
			out[n++] = (uint8_t)(a->lc >> 8);
		out[n++] = (uint8_t)a->lc;
		memcpy(out + n, a->data, a->lc);
		n += a->lc;
	}
	if (a->le != MDP_APDU_NO_LE) {
		/* the largest Le of each form (256, 65536) encodes as zeros */
		if (a->extended)
			out[n++] = (uint8_t)(a->le >> 8);
		out[n++] = (uint8_t)a->le;
	}
	*len = n;
	return MDP_OK;
}

/*
 * Send one encoded APDU; split off the status word. resp holds cap bytes: 258 for a short
 * command, MDP_APDU_EXT_RESPONSE for an extended one.
 */
static enum mdp_err
send_one(struct mdp_transport *t, const struct mdp_apdu *a, uint8_t *resp, size_t cap,
	 size_t *data_len, uint16_t *sw)
{
	uint8_t short_cmd[4 + 1 + 255 + 1];
	uint8_t *cmd = short_cmd;
	size_t cmd_cap = sizeof(short_cmd), cmd_len = 0, n = 0;
	enum mdp_err rv;

	if (a->extended) {
		cmd_cap = 4 + 3 + a->lc + 2;
		cmd = malloc(cmd_cap);
		if (!cmd)
			return MDP_ERR_NOMEM;
	}
	rv = mdp_apdu_build(a, cmd, cmd_cap, &cmd_len);
	if (rv != MDP_OK)
		goto out;
	rv = mdp_transport_transmit(t, cmd, cmd_len, resp, cap, &n);
	if (rv != MDP_OK)
		goto out;
	/* transmit guarantees 2 <= n <= capacity */
	*sw = (uint16_t)(resp[n - 2] << 8 | resp[n - 1]);
	*data_len = n - 2;
out:
	/* the data field may hold a PIN or the input of a signature */
	mdp_wipe(cmd, cmd_cap);
	if (cmd != short_cmd)
		free(cmd);
	return rv;
}

static enum mdp_err
collect(struct mdp_buf *resp, const uint8_t *p, size_t n, size_t *total)
{
	if (*total + n > MDP_APDU_MAX_RESPONSE)
		return mdp_err_reason(MDP_ERR_OVERFLOW, "card answer longer than %u bytes",
				      MDP_APDU_MAX_RESPONSE);
	*total += n;
	if (!resp)
		return MDP_OK;
	buf_put_bytes(resp, p, n);
	return resp->bad ? MDP_ERR_NOMEM : MDP_OK;
}

enum mdp_err
mdp_apdu_exchange(struct mdp_transport *t, const struct mdp_apdu *a, struct mdp_buf *resp,
		  uint16_t *sw_out)
{
	uint8_t short_r[MDP_APDU_SHORT_RESPONSE];
	uint8_t *r = short_r;
	size_t cap = sizeof(short_r);
	struct mdp_apdu chunk;
	size_t off = 0, n = 0, total = 0;
	uint16_t sw = 0;
	unsigned rounds = 0;
	bool resent = false;
	enum mdp_err rv = MDP_OK;

	if (!t || !a || !sw_out || (a->lc && !a->data))
		return mdp_err_reason(MDP_ERR_ARGS, "bad exchange arguments");
	if (a->extended ? a->lc > MDP_APDU_EXT_MAX_LC : a->lc > 255 && !a->chain)
		return mdp_err_reason(MDP_ERR_OVERFLOW, "%zu data bytes without chaining", a->lc);
	if (a->extended) {
		/* the whole answer may come at once: pcsc-lite wants room for 65536 + 2 bytes */
		cap = MDP_APDU_EXT_RESPONSE;
		r = malloc(cap);
		if (!r)
			return MDP_ERR_NOMEM;
	}

	/* Command chaining: every chunk but the last has CLA | 0x10 and no Le. */
	chunk = *a;
	while (!a->extended && a->lc - off > MDP_APDU_CHAIN_CHUNK) {
		chunk.cla = a->cla | 0x10;
		chunk.data = a->data + off;
		chunk.lc = MDP_APDU_CHAIN_CHUNK;
		chunk.le = MDP_APDU_NO_LE;
		rv = send_one(t, &chunk, r, cap, &n, &sw);
		if (rv != MDP_OK)
			goto out;
		if (sw != MDP_SW_OK) {
			/* The card refused a chunk: report its status word, send nothing more. */
			goto done;
		}
		off += MDP_APDU_CHAIN_CHUNK;
	}
	chunk = *a;
	chunk.data = a->lc ? a->data + off : NULL;
	chunk.lc = a->lc - off;

	for (;;) {
		rv = send_one(t, &chunk, r, cap, &n, &sw);
		if (rv != MDP_OK)
			goto out;
		if ((sw & 0xFF00u) == 0x6C00u && !resent) {
			/* Wrong Le: resend the same last command with the length the card wants. */
			chunk.le = (sw & 0xFF) ? (int)(sw & 0xFF) : 256;
			resent = true;
			continue;
		}
		break;
	}
	rv = collect(resp, r, n, &total);
	if (rv != MDP_OK)
		goto out;

	while ((sw & 0xFF00u) == 0x6100u) {
		struct mdp_apdu gr = {.cla = (uint8_t)(a->cla & 0xEF), .ins = 0xC0, .le = 256};

		if (++rounds > MAX_GET_RESPONSE) {
			rv = mdp_err_reason(MDP_ERR_FORMAT, "endless GET RESPONSE");
			goto out;
		}
		gr.le = (sw & 0xFF) ? (int)(sw & 0xFF) : 256;
		rv = send_one(t, &gr, r, cap, &n, &sw);
		if (rv != MDP_OK)
			goto out;
		rv = collect(resp, r, n, &total);
		if (rv != MDP_OK)
			goto out;
	}
done:
	*sw_out = sw;
out:
	/* the answer may be a decrypted key or an ECDH secret */
	mdp_wipe(r, cap);
	if (r != short_r)
		free(r);
	return rv;
}

bool
mdp_atr_extended_length(const uint8_t *atr, size_t len)
{
	size_t i = 2, k, end;
	unsigned y;

	if (!atr || len < 2)
		return false;
	/* T0 and the interface bytes TAi TBi TCi TDi (ISO 7816-3 §8.2) before the historical ones
	 */
	y = atr[1] >> 4;
	k = atr[1] & 0x0F;
	for (;;) {
		i += (y & 1) + (y >> 1 & 1) + (y >> 2 & 1);
		if (!(y & 8))
			break;
		if (i >= len)
			return false;
		y = atr[i++] >> 4;
	}
	if (k == 0 || i + k > len)
		return false;
	end = i + k;
	/* category 80: compact-TLV objects to the end; 00: the last three bytes are a status */
	if (atr[i] == 0x00 && k >= 4)
		end -= 3;
	else if (atr[i] != 0x80)
		return false;
	for (i++; i < end; i += 1 + (atr[i] & 0x0F)) {
		size_t n = atr[i] & 0x0F;

		if (i + 1 + n > end)
			return false;
		if ((atr[i] >> 4) == 0x7)
			return n >= 3 && (atr[i + 3] & 0x40) != 0;
	}
	return false;
}

const char *
mdp_sw_str(uint16_t sw)
{
	static const struct {
		uint16_t sw, mask;
		const char *s;
	} t[] = {
		{0x9000, 0xFF00, "success"},
		{0x6100, 0xFF00, "more data available"},
		{0x63C0, 0xFFF0, "verification failed, tries left in low nibble"},
		{0x6581, 0xFFFF, "memory failure"},
		{0x6700, 0xFFFF, "wrong length"},
		{0x6882, 0xFFFF, "secure messaging not supported"},
		{0x6884, 0xFFFF, "command chaining not supported"},
		{0x6900, 0xFFFF, "command not allowed"},
		{0x6981, 0xFFFF, "command incompatible with file structure"},
		{0x6982, 0xFFFF, "security status not satisfied"},
		{0x6983, 0xFFFF, "authentication method blocked"},
		{0x6984, 0xFFFF, "reference data not usable"},
		{0x6985, 0xFFFF, "conditions of use not satisfied"},
		{0x6986, 0xFFFF, "command not allowed (no current EF)"},
		{0x6A80, 0xFFFF, "incorrect data"},
		{0x6A81, 0xFFFF, "function not supported"},
		{0x6A82, 0xFFFF, "file or application not found"},
		{0x6A84, 0xFFFF, "not enough memory"},
		{0x6A86, 0xFFFF, "incorrect P1 P2"},
		{0x6A88, 0xFFFF, "referenced data not found"},
		{0x6A89, 0xFFFF, "file already exists"},
		{0x6C00, 0xFF00, "wrong Le"},
		{0x6D00, 0xFFFF, "instruction not supported"},
		{0x6E00, 0xFFFF, "class not supported"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if ((sw & t[i].mask) == t[i].sw)
			return t[i].s;
	return "unknown status";
}
