/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The generic transport object: dispatch to a link, transaction nesting, APDU trace with secrets
 * blanked. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_TRANSPORT
#include "common/log.h"
#include "common/secmem.h"
#include "transport/transport.h"

struct mdp_transport {
	const struct mdp_transport_ops *ops;
	void *priv;
	char *name;
	unsigned depth;	      /* transaction nesting */
	unsigned long apdus;  /* statistics */
	bool secret_response; /* the last command answers with secret data (GET RESPONSE continues
				 it) */
	mdp_transport_observer observer;
	void *observer_ctx;
};

enum mdp_err
mdp_transport_new(const struct mdp_transport_ops *ops, void *priv, const char *name,
		  struct mdp_transport **out)
{
	struct mdp_transport *t = NULL;

	if (!ops || !ops->transmit || !ops->status || !out)
		return mdp_err_reason(MDP_ERR_ARGS, "transport without transmit/status");
	t = calloc(1, sizeof(*t));
	if (!t)
		return MDP_ERR_NOMEM;
	t->name = strdup(name ? name : ops->kind ? ops->kind : "transport");
	if (!t->name) {
		free(t);
		return MDP_ERR_NOMEM;
	}
	t->ops = ops;
	t->priv = priv;
	*out = t;
	return MDP_OK;
}

void
mdp_transport_free(struct mdp_transport *t)
{
	if (!t)
		return;
	if (t->ops->free)
		t->ops->free(t->priv);
	free(t->name);
	free(t);
}

/*
 * Which commands carry secrets in their data field (blanked in the trace):
 * VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, GENERAL AUTHENTICATE,
 * PUT DATA on 3FFF (key import). The CLA chaining bit does not matter, so
 * every chunk of a chained import is blanked.
 */
static bool
command_is_secret(const uint8_t *apdu, size_t len)
{
	uint8_t ins;

	if (len < 4)
		return false;
	ins = apdu[1];
	if (ins == 0x20 || ins == 0x24 || ins == 0x2C || ins == 0x87)
		return true;
	if (ins == 0xDB && apdu[2] == 0x3F && apdu[3] == 0xFF)
		return true;
	return false;
}

/* Commands whose response data is secret: GENERAL AUTHENTICATE, PSO DECIPHER. */
static bool
response_is_secret(const uint8_t *apdu, size_t len)
{
	if (len < 4)
		return false;
	if (apdu[1] == 0x87)
		return true;
	return apdu[1] == 0x2A && apdu[2] == 0x80 && apdu[3] == 0x86;
}

static void
trace_bytes(const char *dir, const uint8_t *p, size_t len, size_t keep, bool blank)
{
	char line[3 * 48 + 64];
	size_t i, n = 0;
	size_t shown = blank ? (keep < len ? keep : len) : len;

	for (i = 0; i < shown && n + 4 < sizeof(line) - 40; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%02X ", p[i]);
	if (blank && len > shown)
		snprintf(line + n, sizeof(line) - n, "[%zu bytes hidden]", len - shown);
	else if (i < shown)
		snprintf(line + n, sizeof(line) - n, "... (%zu bytes)", len);
	log_debug("%s %s", dir, line);
}

static void
trace_command(const uint8_t *apdu, size_t len)
{
	size_t header = len > 5 ? 5 : len;
	bool secret = command_is_secret(apdu, len);

	/* A secret command shows CLA INS P1 P2 Lc only; trailing Le is not worth the special case.
	 */
	trace_bytes("->", apdu, len, header, secret);
}

static void
trace_response(const uint8_t *resp, size_t len, bool secret)
{
	if (secret && len > 2) {
		char sw[8];

		snprintf(sw, sizeof(sw), "%02X %02X", resp[len - 2], resp[len - 1]);
		log_debug("<- [%zu bytes hidden] %s", len - 2, sw);
		return;
	}
	trace_bytes("<-", resp, len, len, false);
}

enum mdp_err
mdp_transport_transmit(struct mdp_transport *t, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
		       size_t cap, size_t *resp_len)
{
	enum mdp_err rv;
	size_t n = cap;
	bool secret_resp;

	if (!t || !apdu || apdu_len < 4 || !resp || cap < 2 || !resp_len)
		return mdp_err_reason(MDP_ERR_ARGS, "bad transmit arguments");
	/* GET RESPONSE continues the previous command's answer. */
	if (apdu[1] == 0xC0)
		secret_resp = t->secret_response;
	else
		secret_resp = response_is_secret(apdu, apdu_len);
	t->secret_response = secret_resp;

	if (mdp_log_enabled(MDP_LOG_DEBUG, MDP_AREA_TRANSPORT))
		trace_command(apdu, apdu_len);
	t->apdus++;
	rv = t->ops->transmit(t->priv, apdu, apdu_len, resp, &n);
	if (rv != MDP_OK) {
		log_debug("<- %s (%s)", mdp_err_name(rv), mdp_err_last());
		return rv;
	}
	if (n > cap || n < 2) {
		log_debug("<- malformed response of %zu bytes", n);
		return mdp_err_reason(MDP_ERR_FORMAT, "response of %zu bytes", n);
	}
	if (mdp_log_enabled(MDP_LOG_DEBUG, MDP_AREA_TRANSPORT))
		trace_response(resp, n, secret_resp);
	if (t->observer)
		t->observer(t->observer_ctx, apdu, apdu_len, resp, n);
	*resp_len = n;
	return MDP_OK;
}

enum mdp_err
mdp_transport_begin(struct mdp_transport *t)
{
	enum mdp_err rv = MDP_OK;

	if (!t)
		return MDP_ERR_ARGS;
	if (t->depth == 0 && t->ops->begin) {
		rv = t->ops->begin(t->priv);
		if (rv != MDP_OK && rv != MDP_ERR_CARD_RESET)
			return rv;
	}
	/* A reset seen while locking still leaves us holding the transaction. */
	t->depth++;
	return rv;
}

enum mdp_err
mdp_transport_end(struct mdp_transport *t, enum mdp_disposition disp)
{
	if (!t || t->depth == 0)
		return mdp_err_reason(MDP_ERR_ARGS, "end without begin");
	t->depth--;
	if (t->depth == 0 && t->ops->end)
		return t->ops->end(t->priv, disp);
	return MDP_OK;
}

enum mdp_err
mdp_transport_reconnect(struct mdp_transport *t, enum mdp_disposition disp)
{
	if (!t)
		return MDP_ERR_ARGS;
	if (!t->ops->reconnect)
		return MDP_OK;
	return t->ops->reconnect(t->priv, disp);
}

enum mdp_err
mdp_transport_status(struct mdp_transport *t, struct mdp_transport_status *st)
{
	struct mdp_transport_status s;
	enum mdp_err rv;

	if (!t || !st)
		return MDP_ERR_ARGS;
	memset(&s, 0, sizeof(s));
	rv = t->ops->status(t->priv, &s);
	if (rv == MDP_OK)
		*st = s;
	return rv;
}

enum mdp_err
mdp_transport_mark(struct mdp_transport *t, uint64_t *mark)
{
	uint64_t m = 0;
	enum mdp_err rv;

	if (!t || !mark)
		return MDP_ERR_ARGS;
	if (!t->ops->mark)
		return MDP_ERR_UNSUPPORTED;
	rv = t->ops->mark(t->priv, &m);
	if (rv == MDP_OK)
		*mark = m;
	return rv;
}

const char *
mdp_transport_name(const struct mdp_transport *t)
{
	return t ? t->name : "";
}

const char *
mdp_transport_kind(const struct mdp_transport *t)
{
	return t && t->ops->kind ? t->ops->kind : "";
}

unsigned long
mdp_transport_apdu_count(const struct mdp_transport *t)
{
	return t ? t->apdus : 0;
}

void
mdp_transport_reset_count(struct mdp_transport *t)
{
	if (t)
		t->apdus = 0;
}

void
mdp_transport_set_observer(struct mdp_transport *t, mdp_transport_observer cb, void *ctx)
{
	if (!t)
		return;
	t->observer = cb;
	t->observer_ctx = ctx;
}

void *
mdp_transport_priv(struct mdp_transport *t, const struct mdp_transport_ops *ops)
{
	return t && t->ops == ops ? t->priv : NULL;
}
