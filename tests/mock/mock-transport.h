/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A transport whose card is a C callback: scripted and hostile cards for tests. */
#ifndef MDP11_TESTS_MOCK_TRANSPORT_H
#define MDP11_TESTS_MOCK_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "transport/transport.h"

/*
 * The card: gets one APDU, writes the response (data + SW) into resp
 * (capacity *resp_len, at least 258) and returns MDP_OK, or returns a
 * transport error to simulate a link event.
 */
typedef enum mdp_err (*mock_card_fn)(void *ctx, const uint8_t *apdu, size_t len, uint8_t *resp,
				     size_t *resp_len);

struct mock_stats {
	unsigned begins, ends, resets, reconnects;
};

/* A transport over fn. stats (may be NULL) counts the transaction calls. */
enum mdp_err mock_transport_new(mock_card_fn fn, void *ctx, struct mock_stats *stats,
				struct mdp_transport **out);

/* The ATR the card presents (default: the GIDS ATR 3B 80 80 01 01). */
void mock_transport_set_atr(struct mdp_transport *t, const uint8_t *atr, size_t len);

#endif
