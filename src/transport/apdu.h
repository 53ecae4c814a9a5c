/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ISO 7816-4 framing: short and extended APDUs of case 1-4, command chaining, GET RESPONSE and
 * 6Cxx.
 */
#ifndef MDP11_TRANSPORT_APDU_H
#define MDP11_TRANSPORT_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/error.h"
#include "transport/transport.h"

/* Status words the card layer tests by name. */
#define MDP_SW_OK 0x9000u
#define MDP_SW_IS_OK(sw) (((sw)&0xFF00u) == 0x9000u)

/* Le value meaning "no Le field" (case 1 and 3). */
#define MDP_APDU_NO_LE (-1)
/* Largest response mdp_apdu_exchange() assembles (longer answers are MDP_ERR_OVERFLOW). */
#define MDP_APDU_MAX_RESPONSE 65536u
/* Chunk size of command chaining (CLA bit 0x10 on all chunks but the last). */
#define MDP_APDU_CHAIN_CHUNK 255u
/* Largest Lc of an extended APDU, and its largest Le (encoded 00 00). */
#define MDP_APDU_EXT_MAX_LC 65535u
#define MDP_APDU_EXT_MAX_LE 65536
/* Longest encoded APDU: header, 00 Lc1 Lc2, 65535 data bytes, Le1 Le2. */
#define MDP_APDU_EXT_MAX_COMMAND (4u + 3u + MDP_APDU_EXT_MAX_LC + 2u)
/* Response buffer an extended exchange needs: 65536 data bytes + SW1 SW2. */
#define MDP_APDU_EXT_RESPONSE (MDP_APDU_MAX_RESPONSE + 2u)

/*
 * One command. The case follows from lc and le: lc 0 and no Le is case 1,
 * Le only case 2, data only case 3, both case 4. le is 1..256 (256 encodes
 * as 00, "up to 256 bytes") or MDP_APDU_NO_LE. Data longer than 255 bytes is
 * sent with command chaining when chain is set, and refused otherwise
 * (MDP_ERR_OVERFLOW): the module decides which commands the card chains.
 *
 * extended: the extended-length form (ISO 7816-4 §5.1): Lc as 00 Lc1 Lc2 (1..65535 bytes of
 * data, never chained), Le as two bytes after an Lc or 00 Le1 Le2 alone, 1..65536 (65536
 * encodes as 00 00). Only for a card that said it takes them (its ATR, its version): the
 * module decides, and falls back to short APDUs when a card or reader refuses one. A case 1
 * command is the same four bytes in both forms.
 */
struct mdp_apdu {
	uint8_t cla;
	uint8_t ins;
	uint8_t p1;
	uint8_t p2;
	const uint8_t *data;
	size_t lc;
	int le;
	bool chain;
	bool extended;
};

/*
 * Encode one APDU into out: a short one (lc <= 255; cap >= 261 always suffices) or, with
 * a->extended, an extended one (cap >= MDP_APDU_EXT_MAX_COMMAND always suffices).
 * MDP_ERR_ARGS for lc > 255 (extended: > 65535), le outside 1..256 (extended: 1..65536) and
 * not MDP_APDU_NO_LE, or a NULL data pointer with lc > 0; MDP_ERR_BUFFER_TOO_SMALL when cap is.
 */
enum mdp_err mdp_apdu_build(const struct mdp_apdu *a, uint8_t *out, size_t cap, size_t *len);

/*
 * Send a command and collect its whole answer: chains the data in 255-byte
 * chunks (stopping at the first chunk the card does not accept with 9000),
 * follows 61xx with GET RESPONSE (00 C0 00 00 xx) until the card is done,
 * resends once with Le = xx on 6Cxx. An extended command is sent whole (its
 * answer may be up to 65536 bytes at once; the GET RESPONSE that follow a
 * 61xx are short). The response data is appended to resp
 * (which the caller initialised; use buf_init_secret for secret answers)
 * and the final status word is written to *sw. The return value is an error
 * only when no status word could be obtained (transport failure, a response
 * shorter than 2 bytes, more than MDP_APDU_MAX_RESPONSE bytes, a GET
 * RESPONSE loop that does not end); card-level refusals are status words.
 * resp may be NULL when the caller expects no data (data is then discarded).
 */
enum mdp_err mdp_apdu_exchange(struct mdp_transport *t, const struct mdp_apdu *a,
			       struct mdp_buf *resp, uint16_t *sw);

/*
 * Does the ATR say the card takes extended Lc and Le fields? Its historical bytes, when they
 * are compact-TLV (category 00 or 80, ISO 7816-4 §8.1.1), hold the card capabilities (tag 7);
 * the third software function table's bit b7 (0x40) says so. False for an ATR that does not
 * parse or says nothing (the YubiKey 5 ATR says so; the YubiKey 4 and NEO ATRs do not).
 */
bool mdp_atr_extended_length(const uint8_t *atr, size_t len);

/* Human-readable meaning of a status word for log lines ("wrong PIN", ...); never NULL. */
const char *mdp_sw_str(uint16_t sw);

#endif
