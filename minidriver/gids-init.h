/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Personalisation of a blank GIDS card (what gids-tool --initialize does), over a transport. */
#ifndef MDP11_MINIDRIVER_GIDS_INIT_H
#define MDP11_MINIDRIVER_GIDS_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "transport/transport.h"

/* What the card in a transport is, as far as initialisation cares. */
enum gids_state {
	GIDS_STATE_NOT_GIDS = 0,    /* SELECT of the GIDS AID refused */
	GIDS_STATE_BLANK = 1,	    /* GIDS application in creation state: no masterfile EF yet */
	GIDS_STATE_INITIALIZED = 2, /* masterfile present */
	GIDS_STATE_PARTIAL = 3,	    /* EF A000 exists without a masterfile (half-done init) */
};

/*
 * Probe: SELECT the GIDS application and GET DATA the masterfile (A000/DF1F). 6A82 for EF
 * A000 means blank (spec/gids.md §10.1). Transport failures are returned as errors.
 */
enum mdp_err gids_probe(struct mdp_transport *t, enum gids_state *state);

/*
 * Personalise a blank card: set the user PIN (4..16 bytes), create the six BER-TLV EFs with
 * gids-tool's access rules and the admin key file, import the 24-byte 3DES admin key, write
 * masterfile, cardapps, cardcf (six zero bytes), an empty cmapfile and cardid (16 bytes),
 * then activate the application (PIN and admin rules enforced from then on). Refuses a card
 * that is not blank (MDP_ERR_STATE). A card answer other than 9000 stops the sequence with
 * MDP_ERR_STATE and the command and status word in mdp_err_last().
 */
enum mdp_err gids_initialize(struct mdp_transport *t, const uint8_t *pin, size_t pin_len,
			     const uint8_t admin_key[24], const uint8_t cardid[16]);

/*
 * The user PIN's retry counter from the PIN status DO 7F71 (tag 97 tries left, or 9F17 on
 * older cards; tag 93 the limit, -1 when absent), spec/gids.md §7.2. The GIDS application
 * must be selected (it is once a card module has acquired the card). MDP_ERR_NOT_FOUND when
 * the card does not answer with the DO.
 */
enum mdp_err gids_pin_status(struct mdp_transport *t, int *tries_left, int *tries_max);

#endif
