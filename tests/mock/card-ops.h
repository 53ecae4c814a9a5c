/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives every operation of a card module, for hostile-card tests and the card fuzz target. */
#ifndef MDP11_TESTS_MOCK_CARD_OPS_H
#define MDP11_TESTS_MOCK_CARD_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "minidriver/card.h"

/*
 * When apdu is SELECT of the GIDS application (ISO 7816-4 SELECT by DF name), write a
 * well-formed answer into r (the FCI for P2 00, then 90 00), set *rlen and return true, so that
 * a scripted card gets past md_card_acquire. Any other APDU: false, r untouched.
 */
bool mock_gids_select(const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen);

/*
 * Called before (before = true) and after each operation of mock_card_run_all, so a test can
 * reset and check per-operation state.
 */
typedef void (*mock_op_hook)(void *ctx, bool before);

/*
 * Run every Card* operation once (files, directories, containers, key generation and import,
 * sign, decrypt, ECDH, PIN and challenge authentication, free space, properties), ignoring
 * the results: what is tested is what happens on the way. rsa_blob is a CAPI private key blob
 * for the import, peer a CNG ECC public blob for the agreement. hook may be NULL.
 */
void mock_card_run_all(struct md_card *card, const uint8_t *rsa_blob, size_t rsa_len,
		       const uint8_t *peer, size_t peer_len, mock_op_hook hook, void *ctx);

#endif
