/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* APDU helpers for the virtual card tests: hex APDUs, chunked sends, GET RESPONSE loops. */
#ifndef MDP11_TESTS_VCARD_TESTLIB_H
#define MDP11_TESTS_VCARD_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/bytes.h"
#include "vcard/vcard.h"

/* One response: data without the status word. */
struct rapdu {
	uint8_t data[VCARD_MAX_RESPONSE];
	size_t len;
};

/* Send a hex APDU (spaces allowed); returns SW1SW2, 0 on a transport failure. */
uint16_t tx(struct vcard *vc, const char *hex, struct rapdu *r);
/* Send raw bytes. */
uint16_t tx_raw(struct vcard *vc, const uint8_t *apdu, size_t len, struct rapdu *r);
/* Build one short APDU: le < 0 means no Le, 256 means Le=00. */
uint16_t tx_chunk(struct vcard *vc, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
		  const uint8_t *data, size_t lc, int le, struct rapdu *r);
/*
 * Send a command of any data length (chained in 255-byte chunks, Le=00 on
 * the last) and collect the whole answer through GET RESPONSE. *out is
 * malloc'ed (may be NULL when empty). Returns the final SW.
 */
uint16_t xfer_bytes(struct vcard *vc, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
		    size_t len, uint8_t **out, size_t *out_len);
/* Same for a hex APDU that fits in one short command. */
uint16_t xfer(struct vcard *vc, const char *hex, uint8_t **out, size_t *out_len);
/* Compare r's data with hex (spaces ignored). */
int rapdu_is(const struct rapdu *r, const char *hex);

#define CU_ASSERT_HEX(r, hex) CU_ASSERT(rapdu_is(&(r), (hex)))

/* ---- GIDS commands ---- */

/* CREATE FILE + ACTIVATE of a key file as OpenSC writes it (§8.1), or an EC one (§9, id >= 0C). */
uint16_t gids_create_key_file(struct vcard *vc, uint8_t kid, uint8_t id, bool decrypt);
/* Public key from the card's 7F49 template (group NULL: RSA); NULL on failure. */
EVP_PKEY *gids_read_public(struct vcard *vc, uint8_t kid, const char *group);
/* MSE SET (kind B6 / B8 / A6) of alg and key file kid. */
uint16_t gids_mse(struct vcard *vc, uint8_t kind, uint8_t alg, uint8_t kid);
/* PSO sign (CDS) or decipher of any length; the whole answer in *out. */
uint16_t gids_pso(struct vcard *vc, bool sign, const uint8_t *in, size_t len, uint8_t **out,
		  size_t *out_len);
/* The RSA import template of §8.5 for kid (sign_byte: integers with a sign byte; corrupt: d). */
void gids_rsa_template(struct mdp_buf *b, EVP_PKEY *key, uint8_t kid, bool sign_byte, bool corrupt);
/* 3DES-CBC with a zero IV, no padding. */
bool gids_des3(const uint8_t *key, int enc, const uint8_t *in, size_t len, uint8_t *out);
/* gids-tool's mutual authentication with key (MSE P1 p1); the SW of the second step. */
uint16_t gids_admin_auth(struct vcard *vc, const uint8_t *key, uint8_t p1);

#endif
