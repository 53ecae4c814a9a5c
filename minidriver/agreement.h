/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secret agreements and CardDeriveKey's KDFs shared by the built-in card modules (GIDS, PIV). */
#ifndef MDP11_MINIDRIVER_AGREEMENT_H
#define MDP11_MINIDRIVER_AGREEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdp11/card-module.h"

/*
 * A card that answers an ECDH GENERAL AUTHENTICATE with the raw shared secret (the x coordinate)
 * leaves CardConstructDHAgreement's secret and CardDeriveKey's KDFs to the card module
 * (spec/minidriver.md §4.7). These keep the secrets of one context (wiped when destroyed) and
 * derive from them: TRUNCATE (the raw secret little-endian, as CNG), HASH and HMAC (SHA-1 by
 * default, prepend/append, the secret as HMAC key on request), SP800_56A_CONCAT (OpenSSL's SSKDF).
 * TLS_PRF is not offered (MD_E_UNSUPPORTED_FEATURE).
 */
#define MD_MAX_AGREEMENTS 8

struct md_agreement {
	bool used;
	uint8_t *secret; /* x coordinate, big-endian */
	size_t len;
};

struct md_agreements {
	struct md_agreement a[MD_MAX_AGREEMENTS];
};

/* Whether another agreement fits (checked before the card is asked). */
bool md_agreement_room(const struct md_agreements *t);
/* Keep a copy of secret; *index is what CardDeriveKey names. MD_E_NO_MEMORY when full. */
enum md_rv md_agreement_add(struct md_agreements *t, const uint8_t *secret, size_t len,
			    uint8_t *index);
/* CardDeriveKey on dk->secret_agreement_index (MD_E_INVALID_PARAMETER when unused). */
enum md_rv md_agreement_derive(struct md_agreements *t, struct md_derive_key *dk);
/* CardDestroyDHAgreement: the secret is wiped. */
enum md_rv md_agreement_destroy(struct md_agreements *t, uint8_t index);
/* Wipe and forget every agreement (context deletion). */
void md_agreement_clear(struct md_agreements *t);

#endif
