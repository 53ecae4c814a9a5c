/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the PIV card module against a card whose every answer comes from the input. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "common/log.h"
#include "minidriver/card.h"
#include "tests/mock/answer-feed.h"
#include "tests/mock/card-ops.h"
#include "tests/mock/mock-transport.h"
#include "tests/mock/piv-ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: tests/mock/answer-feed.h (one flag byte, then the card's answers; FFFF removal, FFFE
 * reset; bit 0 of the flags: the card is gone when the answers run out, bit 1: the APDU trace is
 * on, to /dev/null, so its blanking of secrets runs over hostile answers too).
 * SELECT of the PIV application is answered with its template and the GIDS SELECT with 6A 82
 * (tests/mock/piv-ops.c), so the PIV card module takes the card; every other APDU consumes the
 * next answer. The management key is authenticated by external authentication (deterministic
 * for a recorded session), then every operation of mock_card_run_all and mock_piv_run_extra
 * runs once.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *rsa, *peer;
	static size_t rsa_len, peer_len;
	struct mock_feed f = {.p = data, .len = size, .pos = 1, .select = mock_piv_select};
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
		mock_piv_admin_login(card);
		mock_card_run_all(card, rsa, rsa_len, peer, peer_len, NULL, NULL);
		mock_piv_run_extra(card, NULL, NULL);
		md_card_delete(card);
	}
	mdp_transport_free(t);
	if (data[0] & 2)
		mdp_log_shutdown();
	ERR_clear_error();
	return 0;
}
