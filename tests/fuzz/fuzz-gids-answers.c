/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the GIDS card module against a card whose every answer comes from the input. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "common/log.h"
#include "minidriver/card.h"
#include "tests/mock/answer-feed.h"
#include "tests/mock/card-ops.h"
#include "tests/mock/mock-transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: tests/mock/answer-feed.h (one flag byte, then the card's answers; FFFF removal, FFFE
 * reset; bit 0 of the flags: the card is gone when the answers run out, bit 1: the APDU trace is
 * on, to /dev/null, so its blanking of secrets runs over hostile answers too).
 * SELECT of the GIDS application is answered properly (tests/mock/card-ops.c), so the module
 * takes the card; every other APDU consumes the next answer, and every Card* operation runs once
 * (mock_card_run_all).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *rsa, *peer;
	static size_t rsa_len, peer_len;
	struct mock_feed f = {.p = data, .len = size, .pos = 1, .select = mock_gids_select};
	struct mdp_transport *t = NULL;
	struct md_card *card = NULL;

	if (size < 1)
		return 0;
	if (!rsa && !mock_make_blobs(&rsa, &rsa_len, &peer, &peer_len))
		abort();
	f.gone_at_end = data[0] & 1;
	if (data[0] & 2)
		mdp_log_configure("debug:transport,card", "/dev/null");
	if (mock_transport_new(mock_feed_answer, &f, NULL, &t) != MDP_OK)
		abort();
	if (md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card) == MD_OK) {
		mock_card_run_all(card, rsa, rsa_len, peer, peer_len, NULL, NULL);
		md_card_delete(card);
	}
	mdp_transport_free(t);
	if (data[0] & 2)
		mdp_log_shutdown();
	ERR_clear_error();
	return 0;
}
