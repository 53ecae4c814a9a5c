/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Command-line parsing of mdp11-vcard (create, serve, info), kept apart from main for tests. */
#ifndef MDP11_TOOLS_VCARD_OPTS_H
#define MDP11_TOOLS_VCARD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "tools/tool.h"

enum vcard_cmd {
	VCARD_CMD_NONE,
	VCARD_CMD_CREATE,
	VCARD_CMD_SERVE,
	VCARD_CMD_INFO,
	VCARD_CMD_RESEAL,
	VCARD_CMD_VERSION,
};

#define VCARD_OPTS_ADMIN_KEY_LEN 24
#define VCARD_OPTS_SERIAL_MAX 16
#define VCARD_OPTS_ATR_MAX 33
#define VCARD_OPTS_PIN_MIN 4
#define VCARD_OPTS_PIN_MAX 16

/* The parsed command line; strings point into argv. */
struct vcard_opts {
	enum vcard_cmd cmd;
	bool help; /* --help: print the (command's) usage and exit 0 */
	const char *file;

	/* create: secrets as mdp11-tool takes them (file, environment variable, --insecure-
	 * value, else the terminal) */
	struct tool_secret_src pin; /* --pin-file --pin-env --insecure-pin */
	struct tool_secret_src
		admin_key; /* --admin-key-file --admin-key-env --insecure-admin-key */
	bool initialized;  /* a PIN or admin-key option was given: create a ready card */
	uint8_t serial[VCARD_OPTS_SERIAL_MAX];
	size_t serial_len;  /* 0: random */
	unsigned pin_tries; /* 0: the card's default */
	unsigned kdf_cost;  /* --kdf-cost, 1..20; 0: the default */
	bool force;

	/* create --type piv (the PIN: 6 to 8 bytes; every secret has its factory default) */
	bool piv;
	struct tool_secret_src puk; /* --puk-file --puk-env --insecure-puk */
	unsigned puk_tries;	    /* 1..255; 0: the card's default */
	uint8_t mgm_alg;	    /* --mgm-alg: 03, 08, 0A, 0C; 0: the version's default */
	uint8_t piv_version[3];	    /* --piv-version; 0.0.0: the card's default */
	uint32_t piv_serial;	    /* --piv-serial; 0: random */

	/* create, reseal: the new seal; serve, info: where the card's seal is */
	const char *seal; /* --seal, "tpm[:TCTI]" or "keyfile[:PATH]"; NULL: the default */

	/* serve */
	char host[256];
	uint16_t port;
	uint8_t atr[VCARD_OPTS_ATR_MAX];
	size_t atr_len; /* 0: the card's default */
	bool verbose;
};

#define VCARD_EXIT_OK 0
#define VCARD_EXIT_FAIL 1
#define VCARD_EXIT_USAGE 2

/*
 * Parse argv (argv[0] is the program). Returns VCARD_EXIT_OK, or
 * VCARD_EXIT_USAGE with a one-line message in err. On success o is filled
 * (it names where the secrets are; it holds none).
 */
int vcard_opts_parse(int argc, char *const argv[], struct vcard_opts *o, char *err, size_t errcap);
/* Forget o (kept for callers; o holds no secret). */
void vcard_opts_clear(struct vcard_opts *o);

/*
 * The new card's PIN: the first line of --pin-file, the variable named by --pin-env, the
 * --insecure-pin value, or else asked twice on the terminal; checked for 4..16 bytes (PIV:
 * 6..8) (MDP_ERR_ARGS). Free with mdp_secure_free(pin, *len + 1).
 */
enum mdp_err vcard_opts_read_pin(const struct vcard_opts *o, char **pin, size_t *len);
/* The new card's admin key (24 bytes: 48 hex digits, or a file of 24 raw bytes), likewise. */
enum mdp_err vcard_opts_read_admin_key(const struct vcard_opts *o,
				       uint8_t key[VCARD_OPTS_ADMIN_KEY_LEN]);

/* A PIV card's PUK (6 to 8 bytes), from --puk-file, --puk-env or --insecure-puk. */
enum mdp_err vcard_opts_read_puk(const struct vcard_opts *o, char **puk, size_t *len);
/* A PIV card's management key of len bytes (the algorithm's), from the admin-key options. */
enum mdp_err vcard_opts_read_mgm_key(const struct vcard_opts *o, uint8_t *key, size_t len);

/* Usage text of a command (VCARD_CMD_NONE: the whole tool). */
const char *vcard_opts_usage(enum vcard_cmd cmd);

#endif
