/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Command-line parsing of mdp11-vcard: commands, options, PIN sources, hex arguments. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "tools/vcard-opts.h"
#include "tools/vpcd.h"

static const char usage_all[] =
	"Usage: mdp11-vcard COMMAND [OPTIONS] FILE\n"
	"The mdp11 virtual GIDS smart card: one state file per card.\n"
	"\n"
	"Commands:\n"
	"  create FILE   create a card (blank, or initialized with a PIN and an admin key)\n"
	"  serve FILE    serve the card to pcscd through the vpcd virtual reader\n"
	"  info FILE     show the card's public state and its seal\n"
	"  reseal FILE   seal the card's secrets by another seal (or an unsealed card's)\n"
	"\n"
	"  mdp11-vcard COMMAND --help   options of a command\n"
	"  mdp11-vcard --version\n"
	"\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n";

static const char usage_create[] =
	"Usage: mdp11-vcard create [OPTIONS] FILE\n"
	"Create a new card state file. Without PIN and admin-key options the card is\n"
	"blank, in creation state, ready for mdp11-tool init or gids-tool --initialize.\n"
	"With them it is initialized as gids-tool --initialize leaves a card (empty\n"
	"container map); the one of the two not given is asked twice on the terminal.\n"
	"Secrets are given as to mdp11-tool: never as a plain argument.\n"
	"\n"
	"  --pin-file F            user PIN (4 to 16 bytes) from the first line of F\n"
	"  --pin-env VAR           user PIN from the environment variable VAR\n"
	"  --insecure-pin P        user PIN on the command line (visible to other users)\n"
	"  --admin-key-file F      3DES admin key (48 hex digits, or 24 raw bytes) from F\n"
	"  --admin-key-env VAR     admin key (48 hex digits) from the variable VAR\n"
	"  --insecure-admin-key HEX  admin key on the command line (visible to others)\n"
	"  --serial HEX         card id, 1 to 16 bytes in hex (default: random)\n"
	"  --pin-tries N        PIN retry limit, 1 to 15 (default: the card's, 3)\n"
	"  --seal SEAL          what seals the card's secrets: tpm[:TCTI] or keyfile[:PATH]\n"
	"                       (default: MDP11_VCARD_SEAL, else the TPM when one answers,\n"
	"                       else a new key file in ~/.local/share/mdp11/vcard-seal)\n"
	"  --kdf-cost N         PIN KDF cost, log2 of scrypt N, 1 to 20 (default 15)\n"
	"  --force              replace FILE if it exists\n"
	"  -h, --help           this help\n";

static const char usage_serve[] =
	"Usage: mdp11-vcard serve [OPTIONS] FILE\n"
	"Connect to pcscd's vpcd reader and serve the card until SIGTERM or SIGINT;\n"
	"reconnect whenever pcscd goes away.\n"
	"\n"
	"  --vpcd HOST:PORT     vpcd endpoint (default 127.0.0.1:35963)\n"
	"  --atr HEX            answer-to-reset (default 3B 80 80 01 01)\n"
	"  --seal SEAL          where the card's seal is, if not where the file says\n"
	"  -v, --verbose        also log connections (warnings are always logged)\n"
	"  -h, --help           this help\n";

static const char usage_info[] =
	"Usage: mdp11-vcard info [OPTIONS] FILE\n"
	"Show whether the card is initialized, its card id, PIN tries, key files,\n"
	"data objects, its seal and whether the seal is available. Never shows secrets.\n"
	"\n"
	"  --seal SEAL          where the card's seal is, if not where the file says\n"
	"  -h, --help           this help\n";

static const char usage_reseal[] =
	"Usage: mdp11-vcard reseal [OPTIONS] FILE\n"
	"Seal the card's secrets by a new seal, keeping every key: converts an unsealed\n"
	"card (format 1) or moves a card to another key file or TPM. The current seal\n"
	"must be available.\n"
	"\n"
	"  --seal SEAL          the new seal: tpm[:TCTI] or keyfile[:PATH] (default as\n"
	"                       for create)\n"
	"  -h, --help           this help\n";

const char *
vcard_opts_usage(enum vcard_cmd cmd)
{
	switch (cmd) {
	case VCARD_CMD_CREATE:
		return usage_create;
	case VCARD_CMD_SERVE:
		return usage_serve;
	case VCARD_CMD_INFO:
		return usage_info;
	case VCARD_CMD_RESEAL:
		return usage_reseal;
	default:
		return usage_all;
	}
}

static int usage_err(char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
usage_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err && cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return VCARD_EXIT_USAGE;
}

/* The options, and the commands that accept each. */
enum opt_id {
	OPT_PLAIN_PIN,
	OPT_PIN_FILE,
	OPT_PIN_ENV,
	OPT_INSECURE_PIN,
	OPT_PLAIN_ADMIN_KEY,
	OPT_ADMIN_KEY_FILE,
	OPT_ADMIN_KEY_ENV,
	OPT_INSECURE_ADMIN_KEY,
	OPT_SERIAL,
	OPT_PIN_TRIES,
	OPT_SEAL,
	OPT_KDF_COST,
	OPT_FORCE,
	OPT_VPCD,
	OPT_ATR,
	OPT_VERBOSE,
	OPT_HELP,
};

struct opt_def {
	const char *name;
	char short_name;
	enum opt_id id;
	bool has_value;
	unsigned cmds; /* bit per enum vcard_cmd */
};

#define CMD_BIT(c) (1u << (c))
#define ALL_CMDS                                                                          \
	(CMD_BIT(VCARD_CMD_CREATE) | CMD_BIT(VCARD_CMD_SERVE) | CMD_BIT(VCARD_CMD_INFO) | \
	 CMD_BIT(VCARD_CMD_RESEAL))

static const struct opt_def opt_defs[] = {
	/* --pin and --admin-key with a plain value are refused with the replacements. */
	{"pin", 0, OPT_PLAIN_PIN, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"pin-file", 0, OPT_PIN_FILE, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"pin-env", 0, OPT_PIN_ENV, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"insecure-pin", 0, OPT_INSECURE_PIN, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"admin-key", 0, OPT_PLAIN_ADMIN_KEY, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"admin-key-file", 0, OPT_ADMIN_KEY_FILE, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"admin-key-env", 0, OPT_ADMIN_KEY_ENV, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"insecure-admin-key", 0, OPT_INSECURE_ADMIN_KEY, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"serial", 0, OPT_SERIAL, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"pin-tries", 0, OPT_PIN_TRIES, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"seal", 0, OPT_SEAL, true, ALL_CMDS},
	{"kdf-cost", 0, OPT_KDF_COST, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"force", 0, OPT_FORCE, false, CMD_BIT(VCARD_CMD_CREATE)},
	{"vpcd", 0, OPT_VPCD, true, CMD_BIT(VCARD_CMD_SERVE)},
	{"atr", 0, OPT_ATR, true, CMD_BIT(VCARD_CMD_SERVE)},
	{"verbose", 'v', OPT_VERBOSE, false, CMD_BIT(VCARD_CMD_SERVE)},
	{"help", 'h', OPT_HELP, false, ALL_CMDS},
};

static const struct opt_def *
find_opt(const char *arg, const char **inline_value)
{
	size_t i;

	*inline_value = NULL;
	if (arg[0] == '-' && arg[1] != '-' && arg[1] && !arg[2]) {
		for (i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++)
			if (opt_defs[i].short_name == arg[1])
				return &opt_defs[i];
		return NULL;
	}
	if (arg[0] != '-' || arg[1] != '-')
		return NULL;
	arg += 2;
	for (i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++) {
		size_t n = strlen(opt_defs[i].name);

		if (strncmp(arg, opt_defs[i].name, n) != 0)
			continue;
		if (arg[n] == '\0')
			return &opt_defs[i];
		if (arg[n] == '=') {
			*inline_value = arg + n + 1;
			return &opt_defs[i];
		}
	}
	return NULL;
}

static int
decode_hex(const char *what, const char *hex, uint8_t *out, size_t min, size_t max, size_t *len,
	   char *err, size_t errcap)
{
	long n = mdp_hex_decode(hex, out, max);

	if (n < 0 || (size_t)n < min) {
		mdp_wipe(out, max);
		if (min == max)
			return usage_err(err, errcap, "%s must be %zu bytes (%zu hex digits)", what,
					 max, 2 * max);
		return usage_err(err, errcap, "%s must be %zu to %zu bytes in hex", what, min, max);
	}
	*len = (size_t)n;
	return VCARD_EXIT_OK;
}

/* "tpm", "tpm:TCTI", "keyfile" or "keyfile:PATH" (the card library checks the rest). */
static bool
seal_ok(const char *v)
{
	size_t n = strcspn(v, ":");

	if (!(n == 3 && !strncmp(v, "tpm", 3)) && !(n == 7 && !strncmp(v, "keyfile", 7)))
		return false;
	return v[n] == '\0' || v[n + 1] != '\0';
}

/* One source of a secret; a second one for the same secret is a usage error. */
static int
set_secret(struct vcard_opts *o, struct tool_secret_src *s, const char **field, const char *v,
	   const char *what, char *err, size_t errcap)
{
	if (s->file || s->env || s->insecure)
		return usage_err(err, errcap, "give the %s once (-file, -env or --insecure-)",
				 what);
	*field = v;
	o->initialized = true;
	return VCARD_EXIT_OK;
}

static int
parse_value(struct vcard_opts *o, enum opt_id id, const char *v, const char **serial_hex,
	    const char **atr_hex, const char **tries, const char **vpcd, char *err, size_t errcap)
{
	switch (id) {
	case OPT_PLAIN_PIN:
		return usage_err(err, errcap,
				 "--pin puts the PIN where other users see it: use --pin-file F, "
				 "--pin-env VAR or --insecure-pin PIN");
	case OPT_PLAIN_ADMIN_KEY:
		return usage_err(
			err, errcap,
			"--admin-key puts the key where other users see it: use "
			"--admin-key-file F, --admin-key-env VAR or --insecure-admin-key HEX");
	case OPT_PIN_FILE:
		return set_secret(o, &o->pin, &o->pin.file, v, "PIN", err, errcap);
	case OPT_PIN_ENV:
		return set_secret(o, &o->pin, &o->pin.env, v, "PIN", err, errcap);
	case OPT_INSECURE_PIN:
		return set_secret(o, &o->pin, &o->pin.insecure, v, "PIN", err, errcap);
	case OPT_ADMIN_KEY_FILE:
		return set_secret(o, &o->admin_key, &o->admin_key.file, v, "admin key", err,
				  errcap);
	case OPT_ADMIN_KEY_ENV:
		return set_secret(o, &o->admin_key, &o->admin_key.env, v, "admin key", err, errcap);
	case OPT_INSECURE_ADMIN_KEY:
		return set_secret(o, &o->admin_key, &o->admin_key.insecure, v, "admin key", err,
				  errcap);
	case OPT_SERIAL:
		*serial_hex = v;
		break;
	case OPT_PIN_TRIES:
		*tries = v;
		break;
	case OPT_SEAL:
		if (!seal_ok(v))
			return usage_err(
				err, errcap,
				"--seal: expected tpm[:TCTI] or keyfile[:PATH], not \"%s\"", v);
		o->seal = v;
		break;
	case OPT_KDF_COST: {
		char *end = NULL;
		unsigned long c;

		errno = 0;
		c = strtoul(v, &end, 10);
		if (errno || !*v || *end || *v == '-' || c < 1 || c > 20)
			return usage_err(err, errcap, "--kdf-cost must be 1 to 20");
		o->kdf_cost = (unsigned)c;
		break;
	}
	case OPT_VPCD:
		*vpcd = v;
		break;
	case OPT_ATR:
		*atr_hex = v;
		break;
	default:
		break;
	}
	return VCARD_EXIT_OK;
}

static int
finish_create(struct vcard_opts *o, const char *serial_hex, const char *tries, char *err,
	      size_t errcap)
{
	int rc;

	if (!o->initialized && (serial_hex || tries))
		return usage_err(err, errcap,
				 "--serial and --pin-tries are for an initialized card: give the "
				 "PIN and the admin key (--pin-file, --admin-key-file, ...)");
	if (!o->initialized)
		return VCARD_EXIT_OK;
	if (serial_hex) {
		rc = decode_hex("--serial", serial_hex, o->serial, 1, VCARD_OPTS_SERIAL_MAX,
				&o->serial_len, err, errcap);
		if (rc != VCARD_EXIT_OK)
			return rc;
	}
	if (tries) {
		char *end = NULL;
		unsigned long v;

		errno = 0;
		v = strtoul(tries, &end, 10);
		if (errno || !*tries || *end || *tries == '-' || v < 1 || v > 15)
			return usage_err(err, errcap, "--pin-tries must be 1 to 15");
		o->pin_tries = (unsigned)v;
	}
	return VCARD_EXIT_OK;
}

static int
finish_serve(struct vcard_opts *o, const char *vpcd, const char *atr_hex, char *err, size_t errcap)
{
	int rc;

	if (vpcd_parse_endpoint(vpcd ? vpcd : "", o->host, sizeof(o->host), &o->port) != MDP_OK)
		return usage_err(err, errcap, "--vpcd: %s", mdp_err_last());
	if (atr_hex) {
		rc = decode_hex("--atr", atr_hex, o->atr, 2, VCARD_OPTS_ATR_MAX, &o->atr_len, err,
				errcap);
		if (rc != VCARD_EXIT_OK)
			return rc;
		/* TS: direct (3B) or inverse (3F) convention (ISO 7816-3). */
		if (o->atr[0] != 0x3b && o->atr[0] != 0x3f)
			return usage_err(err, errcap, "--atr must start with 3B or 3F");
	}
	return VCARD_EXIT_OK;
}

int
vcard_opts_parse(int argc, char *const argv[], struct vcard_opts *o, char *err, size_t errcap)
{
	const char *serial_hex = NULL;
	const char *atr_hex = NULL;
	const char *tries = NULL;
	const char *vpcd = NULL;
	const char *cmdname;
	bool options_done = false;
	int rc;
	int i;

	if (err && errcap)
		err[0] = '\0';
	if (!o || !argv)
		return usage_err(err, errcap, "internal: no arguments");
	memset(o, 0, sizeof(*o));
	if (argc < 2)
		return usage_err(err, errcap, "missing command (create, serve, info or reseal)");
	cmdname = argv[1];
	if (!strcmp(cmdname, "-h") || !strcmp(cmdname, "--help") || !strcmp(cmdname, "help")) {
		o->help = true;
		return argc == 2 ? VCARD_EXIT_OK : usage_err(err, errcap, "too many arguments");
	}
	if (!strcmp(cmdname, "--version") || !strcmp(cmdname, "-V")) {
		o->cmd = VCARD_CMD_VERSION;
		return argc == 2 ? VCARD_EXIT_OK : usage_err(err, errcap, "too many arguments");
	}
	if (!strcmp(cmdname, "create"))
		o->cmd = VCARD_CMD_CREATE;
	else if (!strcmp(cmdname, "serve"))
		o->cmd = VCARD_CMD_SERVE;
	else if (!strcmp(cmdname, "info"))
		o->cmd = VCARD_CMD_INFO;
	else if (!strcmp(cmdname, "reseal"))
		o->cmd = VCARD_CMD_RESEAL;
	else
		return usage_err(err, errcap, "unknown command \"%s\"", cmdname);

	for (i = 2; i < argc; i++) {
		const char *arg = argv[i];
		const struct opt_def *def;
		const char *value = NULL;

		if (!options_done && !strcmp(arg, "--")) {
			options_done = true;
			continue;
		}
		if (options_done || arg[0] != '-' || !arg[1]) {
			if (o->file)
				return usage_err(err, errcap, "unexpected argument \"%s\"", arg);
			o->file = arg;
			continue;
		}
		def = find_opt(arg, &value);
		if (!def || !(def->cmds & CMD_BIT(o->cmd)))
			return usage_err(err, errcap, "%s: unknown option \"%s\"", cmdname, arg);
		if (!def->has_value && value)
			return usage_err(err, errcap, "option --%s takes no value", def->name);
		if (def->has_value && !value) {
			if (i + 1 >= argc)
				return usage_err(err, errcap, "option --%s needs a value",
						 def->name);
			value = argv[++i];
		}
		switch (def->id) {
		case OPT_HELP:
			o->help = true;
			break;
		case OPT_FORCE:
			o->force = true;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		default:
			rc = parse_value(o, def->id, value, &serial_hex, &atr_hex, &tries, &vpcd,
					 err, errcap);
			if (rc != VCARD_EXIT_OK)
				return rc;
			break;
		}
	}
	if (o->help)
		return VCARD_EXIT_OK;
	if (!o->file)
		return usage_err(err, errcap, "%s: missing FILE", cmdname);
	if (o->cmd == VCARD_CMD_CREATE)
		rc = finish_create(o, serial_hex, tries, err, errcap);
	else if (o->cmd == VCARD_CMD_SERVE)
		rc = finish_serve(o, vpcd, atr_hex, err, errcap);
	else
		rc = VCARD_EXIT_OK;
	if (rc != VCARD_EXIT_OK)
		vcard_opts_clear(o);
	return rc;
}

void
vcard_opts_clear(struct vcard_opts *o)
{
	if (o)
		memset(o, 0, sizeof(*o));
}

enum mdp_err
vcard_opts_read_pin(const struct vcard_opts *o, char **pin, size_t *len)
{
	char *p = NULL;
	size_t n = 0;
	enum mdp_err rv;

	if (!o || !pin || !len)
		return mdp_err_reason(MDP_ERR_ARGS, "bad PIN call");
	rv = tool_pin_read(&o->pin, "PIN of the new card", true, &p, &n);
	if (rv == MDP_ERR_NOT_FOUND && !o->pin.file && !o->pin.env && !o->pin.insecure)
		return mdp_err_reason(MDP_ERR_ARGS, "no PIN: give --pin-file F or --pin-env VAR "
						    "(or run on a terminal to be asked)");
	if (rv != MDP_OK)
		return rv;
	if (n < VCARD_OPTS_PIN_MIN || n > VCARD_OPTS_PIN_MAX) {
		mdp_secure_free(p, n + 1);
		return mdp_err_reason(MDP_ERR_ARGS, "the PIN must be %d to %d bytes",
				      VCARD_OPTS_PIN_MIN, VCARD_OPTS_PIN_MAX);
	}
	*pin = p;
	*len = n;
	return MDP_OK;
}

enum mdp_err
vcard_opts_read_admin_key(const struct vcard_opts *o, uint8_t key[VCARD_OPTS_ADMIN_KEY_LEN])
{
	enum mdp_err rv;

	if (!o || !key)
		return mdp_err_reason(MDP_ERR_ARGS, "bad admin key call");
	rv = tool_admin_key_read(&o->admin_key, "admin key of the new card", true, key);
	if (rv == MDP_ERR_NOT_FOUND && !o->admin_key.file && !o->admin_key.env &&
	    !o->admin_key.insecure)
		return mdp_err_reason(MDP_ERR_ARGS,
				      "no admin key: give --admin-key-file F or --admin-key-env "
				      "VAR (or run on a terminal to be asked)");
	return rv;
}
