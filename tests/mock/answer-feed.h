/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A card whose answers come from a byte string: the fuzz targets over card modules. */
#ifndef MDP11_TESTS_MOCK_ANSWER_FEED_H
#define MDP11_TESTS_MOCK_ANSWER_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/*
 * The input of a card-answers fuzz target: one flag byte, then the card's answers, each a
 * 2-byte big-endian length and that many bytes (data and status word; a length beyond the input
 * takes what is left). Two lengths are link events instead of answers: FFFF the card was removed,
 * FFFE it was reset by someone else. An answer longer than the reader's buffer is passed on as
 * oversized (the transport must refuse it). Flags: bit 0 when the answers run out the card is
 * gone (else it says 6F 00), bit 1 the APDU trace is on.
 *
 * select answers the SELECT that lets the card module take the card (tests/mock/card-ops.h,
 * piv-ops.h) without using up an answer.
 */
struct mock_feed {
	const uint8_t *p;
	size_t len, pos;
	bool gone_at_end;
	bool (*select)(const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen);
};

/* The card of the feed (a mock_card_fn; ctx is the struct mock_feed). */
enum mdp_err mock_feed_answer(void *ctx, const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen);

/* The key blobs the operations need: an RSA-1024 CAPI private blob to import, an ECDH P-256
 * peer (CNG public blob). false when OpenSSL fails. Free with mdp_secure_free / free. */
bool mock_make_blobs(uint8_t **rsa, size_t *rsa_len, uint8_t **peer, size_t *peer_len);

#endif
