/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A card whose answers come from a byte string: the fuzz targets over card modules. */
#include "config.h"

#include <string.h>

#include "blob/blob.h"
#include "common/ossl.h"
#include "tests/mock/answer-feed.h"

enum mdp_err
mock_feed_answer(void *ctx, const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen)
{
	struct mock_feed *f = ctx;
	size_t n;

	if (f->select && f->select(apdu, len, r, rlen))
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

bool
mock_make_blobs(uint8_t **rsa, size_t *rsa_len, uint8_t **peer, size_t *peer_len)
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
