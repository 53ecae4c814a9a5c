/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A transport whose card is a C callback: scripted and hostile cards for tests. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tests/mock/mock-transport.h"

struct mock {
	mock_card_fn fn;
	void *ctx;
	struct mock_stats *stats;
	uint8_t atr[MDP_ATR_MAX];
	size_t atr_len;
};

static enum mdp_err
mock_transmit(void *priv, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *resp_len)
{
	struct mock *m = priv;

	return m->fn(m->ctx, apdu, len, resp, resp_len);
}

static enum mdp_err
mock_begin(void *priv)
{
	struct mock *m = priv;

	if (m->stats)
		m->stats->begins++;
	return MDP_OK;
}

static enum mdp_err
mock_end(void *priv, enum mdp_disposition disp)
{
	struct mock *m = priv;

	if (m->stats) {
		m->stats->ends++;
		if (disp == MDP_RESET_CARD)
			m->stats->resets++;
	}
	return MDP_OK;
}

static enum mdp_err
mock_reconnect(void *priv, enum mdp_disposition disp)
{
	struct mock *m = priv;

	if (m->stats)
		m->stats->reconnects++;
	return MDP_OK;
}

static enum mdp_err
mock_status(void *priv, struct mdp_transport_status *st)
{
	struct mock *m = priv;

	st->present = true;
	st->changed = false;
	memcpy(st->atr, m->atr, m->atr_len);
	st->atr_len = m->atr_len;
	return MDP_OK;
}

static const struct mdp_transport_ops mock_ops = {
	.kind = "script",
	.transmit = mock_transmit,
	.begin = mock_begin,
	.end = mock_end,
	.reconnect = mock_reconnect,
	.status = mock_status,
	.free = free,
};

enum mdp_err
mock_transport_new(mock_card_fn fn, void *ctx, struct mock_stats *stats, struct mdp_transport **out)
{
	struct mock *m = calloc(1, sizeof(*m));
	enum mdp_err rv;

	if (!m)
		return MDP_ERR_NOMEM;
	m->fn = fn;
	m->ctx = ctx;
	m->stats = stats;
	memcpy(m->atr, "\x3B\x80\x80\x01\x01", 5); /* the GIDS ATR */
	m->atr_len = 5;
	rv = mdp_transport_new(&mock_ops, m, "script", out);
	if (rv != MDP_OK)
		free(m);
	return rv;
}

void
mock_transport_set_atr(struct mdp_transport *t, const uint8_t *atr, size_t len)
{
	struct mock *m = mdp_transport_priv(t, &mock_ops);

	if (m && len <= sizeof(m->atr)) {
		memcpy(m->atr, atr, len);
		m->atr_len = len;
	}
}
