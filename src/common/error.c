/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Error names and the per-thread reason string. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/error.h"

static const struct {
	const char *name;
	const char *text;
} err_table[MDP_ERR__COUNT] = {
	[MDP_OK] = {"MDP_OK", "success"},
	[MDP_ERR_NOMEM] = {"MDP_ERR_NOMEM", "out of memory"},
	[MDP_ERR_ARGS] = {"MDP_ERR_ARGS", "invalid arguments"},
	[MDP_ERR_FORMAT] = {"MDP_ERR_FORMAT", "malformed input"},
	[MDP_ERR_TRUNCATED] = {"MDP_ERR_TRUNCATED", "input truncated"},
	[MDP_ERR_OVERFLOW] = {"MDP_ERR_OVERFLOW", "length or value out of range"},
	[MDP_ERR_UNSUPPORTED] = {"MDP_ERR_UNSUPPORTED", "not supported"},
	[MDP_ERR_INVALID_KEY] = {"MDP_ERR_INVALID_KEY", "key material is not consistent"},
	[MDP_ERR_CRYPTO] = {"MDP_ERR_CRYPTO", "cryptographic operation failed"},
	[MDP_ERR_BUFFER_TOO_SMALL] = {"MDP_ERR_BUFFER_TOO_SMALL", "buffer too small"},
	[MDP_ERR_NOT_FOUND] = {"MDP_ERR_NOT_FOUND", "not found"},
	[MDP_ERR_EXISTS] = {"MDP_ERR_EXISTS", "already exists"},
	[MDP_ERR_IO] = {"MDP_ERR_IO", "input/output error"},
	[MDP_ERR_CONFIG] = {"MDP_ERR_CONFIG", "configuration error"},
	[MDP_ERR_STATE] = {"MDP_ERR_STATE", "damaged or foreign state"},
	[MDP_ERR_BUSY] = {"MDP_ERR_BUSY", "resource busy"},
	[MDP_ERR_TRANSPORT] = {"MDP_ERR_TRANSPORT", "card link failed"},
	[MDP_ERR_NO_SERVICE] = {"MDP_ERR_NO_SERVICE", "PC/SC service not available"},
	[MDP_ERR_NO_CARD] = {"MDP_ERR_NO_CARD", "no card present"},
	[MDP_ERR_CARD_REMOVED] = {"MDP_ERR_CARD_REMOVED", "card removed"},
	[MDP_ERR_CARD_RESET] = {"MDP_ERR_CARD_RESET", "card was reset"},
	[MDP_ERR_TIMEOUT] = {"MDP_ERR_TIMEOUT", "timed out"},
	[MDP_ERR_INTERNAL] = {"MDP_ERR_INTERNAL", "internal error"},
	[MDP_ERR_SEAL] = {"MDP_ERR_SEAL", "the virtual card's seal is not available"},
};

static _Thread_local char last_reason[256];
static _Thread_local enum mdp_err last_err;

const char *
mdp_err_name(enum mdp_err err)
{
	if ((unsigned)err >= MDP_ERR__COUNT)
		return "MDP_ERR_UNKNOWN";
	return err_table[err].name;
}

const char *
mdp_err_str(enum mdp_err err)
{
	if ((unsigned)err >= MDP_ERR__COUNT)
		return "unknown error";
	return err_table[err].text;
}

enum mdp_err
mdp_err_reason(enum mdp_err err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_reason, sizeof(last_reason), fmt, ap);
	va_end(ap);
	last_err = err;
	return err;
}

const char *
mdp_err_last(void)
{
	if (last_reason[0])
		return last_reason;
	if (last_err != MDP_OK)
		return mdp_err_str(last_err);
	return "no further details";
}

bool
mdp_err_has_reason(void)
{
	return last_reason[0] != '\0';
}

void
mdp_err_clear(void)
{
	last_reason[0] = '\0';
	last_err = MDP_OK;
}
