/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PIV helpers for scripted cards: the SELECT answer, and the operations only PIV has. */
#ifndef MDP11_TESTS_MOCK_PIV_OPS_H
#define MDP11_TESTS_MOCK_PIV_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/mock/card-ops.h"

/*
 * When apdu is a SELECT by DF name: for the PIV AID (any prefix from its RID on) write the
 * application property template and 90 00, for the GIDS AID 6A 82, so that a scripted card is
 * taken by the PIV card module; return true. Any other APDU: false, r untouched.
 */
bool mock_piv_select(const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen);

/*
 * Authenticate the factory management key by external authentication (the card's challenge
 * encrypted on the host): deterministic for a recorded card, unlike mutual authentication,
 * whose host challenge is random, so replayed sessions reach the writes.
 */
void mock_piv_admin_login(struct md_card *card);

/*
 * Run what a PIV card does beyond mock_card_run_all: the host's cardcf and cmapfile writes
 * (CHUID renewal, MSCMAP), mdp11's files, msroots, the management key, PIN id 3 (PUK) and 4
 * (consent), PSS, OAEP, ECDSA, the ECDH pairing property. Results are ignored.
 */
void mock_piv_run_extra(struct md_card *card, mock_op_hook hook, void *ctx);

#endif
