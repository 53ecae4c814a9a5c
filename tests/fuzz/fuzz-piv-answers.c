/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the PIV card module against a card whose every answer comes from the input. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "blob/blob.h"
#include "common/log.h"
#include "common/ossl.h"
#include "common/secmem.h"
#include "minidriver/card.h"
#include "tests/mock/card-ops.h"
#include "tests/mock/mock-transport.h"
#include "tests/mock/piv-ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: as fuzz-gids-answers (one flag byte, then answers of a 2-byte big-endian length and
 * that many bytes; FFFF the card was removed, FFFE it was reset), except that SELECT of the PIV
 * application is answered with its template and the GIDS SELECT with 6A 82
 * (tests/mock/piv-ops.c), so the PIV card module takes the card. Every operation of
 * mock_card_run_all and mock_piv_run_extra runs once. Flags: bit 0 when the answers run out the
 * card is gone (else it says 6F 00), bit 1 the APDU trace is on (to /dev/null).
 */
struct feed {
	const uint8_t *p;
	size_t len, pos;
	bool gone_at_end;
};

static enum mdp_err
answer(void *ctx, const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen)
{
	struct feed *f = ctx;
	size_t n;

	if (mock_piv_select(apdu, len, r, rlen))
		return MDP_OK;
	if (f->len - f->pos < 2) {
		if (f->gone_at_end)
			return MDP_ERR_CARD_REMOVED;
		r[0] = 0x6F;
		r[1] = 0x00;
		*rlen = 2;
		return MDP_OK;
	}
	n = (size_t)f->p[f->pos] << 8 | f->p[f->pos + 1];
	f->pos += 2;
	if (n == 0xFFFF)
		return MDP_ERR_CARD_REMOVED;
	if (n == 0xFFFE)
		return MDP_ERR_CARD_RESET;
	if (n > f->len - f->pos)
		n = f->len - f->pos;
	memcpy(r, f->p + f->pos, n < *rlen ? n : *rlen);
	f->pos += n;
	*rlen = n;
	return MDP_OK;
}

/* The key blobs the operations need, made once: an RSA key to import, a peer for ECDH. */
static bool
make_blobs(uint8_t **rsa, size_t *rsa_len, uint8_t **peer, size_t *peer_len)
{
	EVP_PKEY *r = mdp_pkey_keygen_rsa(1024), *e = mdp_pkey_keygen_ec("P-256");
	struct mdp_key *kr = NULL, *ke = NULL;
	bool ok =
		r && e && mdp_key_from_pkey(r, MDP_AT_KEYEXCHANGE, &kr) == MDP_OK &&
		mdp_key_from_pkey(e, MDP_AT_ECDHE_P256, &ke) == MDP_OK &&
		blob_write(kr, BLOB_FMT_CAPI_PRIVATE, MDP_AT_KEYEXCHANGE, rsa, rsa_len) == MDP_OK &&
		blob_write(ke, BLOB_FMT_CNG_ECC_PUBLIC, MDP_AT_ECDHE_P256, peer, peer_len) ==
			MDP_OK;

	mdp_key_free(kr);
	mdp_key_free(ke);
	EVP_PKEY_free(r);
	EVP_PKEY_free(e);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *rsa, *peer;
	static size_t rsa_len, peer_len;
	struct feed f = {.p = data, .len = size, .pos = 1};
	struct mdp_transport *t = NULL;
	struct md_card *card = NULL;

	if (size < 1)
		return 0;
	if (!rsa && !make_blobs(&rsa, &rsa_len, &peer, &peer_len))
		abort();
	f.gone_at_end = data[0] & 1;
	if (data[0] & 2)
		mdp_log_configure("debug:transport,card", "/dev/null");
	if (mock_transport_new(answer, &f, NULL, &t) != MDP_OK)
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
