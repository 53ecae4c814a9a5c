/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The error enum of the card-agnostic base layer (src/), with a reason string. */
#ifndef MDP11_COMMON_ERROR_H
#define MDP11_COMMON_ERROR_H

#include <stdbool.h>

/*
 * Every function in src/ returns one of these. A failing function may also
 * record a human-readable reason with mdp_err_reason(); callers that report
 * the failure to a person (tools, log lines) print mdp_err_last().
 */
enum mdp_err {
	MDP_OK = 0,
	MDP_ERR_NOMEM,	     /* allocation failed */
	MDP_ERR_ARGS,	     /* API misuse: bad pointer, flag or argument */
	MDP_ERR_FORMAT,	     /* malformed input (blob, TLV, config, card answer) */
	MDP_ERR_TRUNCATED,   /* input ends before its declared length */
	MDP_ERR_OVERFLOW,    /* a length or value does not fit */
	MDP_ERR_UNSUPPORTED, /* well-formed but not supported (algorithm, curve, format) */
	MDP_ERR_INVALID_KEY, /* key material fails validation */
	MDP_ERR_CRYPTO,	     /* OpenSSL failed */
	MDP_ERR_BUFFER_TOO_SMALL,
	MDP_ERR_NOT_FOUND, /* file, reader, object absent */
	MDP_ERR_EXISTS,
	MDP_ERR_IO,	      /* file system or socket error */
	MDP_ERR_CONFIG,	      /* bad configuration line */
	MDP_ERR_STATE,	      /* damaged or foreign state file */
	MDP_ERR_BUSY,	      /* locked by someone else, try later */
	MDP_ERR_TRANSPORT,    /* link to the card failed */
	MDP_ERR_NO_SERVICE,   /* PC/SC service not running */
	MDP_ERR_NO_CARD,      /* no card in the reader */
	MDP_ERR_CARD_REMOVED, /* card removed during use */
	MDP_ERR_CARD_RESET,   /* card reset by someone else: state lost */
	MDP_ERR_TIMEOUT,
	MDP_ERR_INTERNAL, /* our bug */
	MDP_ERR_SEAL,	  /* a virtual card's seal (key file, TPM) is not available */
	MDP_ERR__COUNT
};

/* Constant string naming the error ("MDP_ERR_FORMAT"); never NULL. */
const char *mdp_err_name(enum mdp_err err);
/* Short English description ("malformed input"); never NULL. */
const char *mdp_err_str(enum mdp_err err);

/*
 * Record a reason for the error about to be returned (printf format), kept
 * per thread. Returns err so that "return mdp_err_reason(MDP_ERR_FORMAT, ...)"
 * reads naturally. Never pass secret values.
 */
enum mdp_err mdp_err_reason(enum mdp_err err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * The last reason recorded on this thread; without one, the description of
 * the last error recorded, or "no further details" (never "success": it is
 * read after a failure).
 */
const char *mdp_err_last(void);
/* Whether a reason was recorded since the last mdp_err_clear(). */
bool mdp_err_has_reason(void);
/* Forget the recorded reason. */
void mdp_err_clear(void);

#endif
