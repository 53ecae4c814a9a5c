/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Command-line parsing of mdp11-vcard: commands, options, PIN sources, hex arguments. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "tools/vcard-opts.h"
#include "tools/vpcd.h"

static const char usage_all[] =
	"Usage: mdp11-vcard COMMAND [OPTIONS] FILE\n"
	"The mdp11 virtual smart card (GIDS, or a YubiKey-compatible PIV card): one\n"
	"state file per card.\n"
	"\n"
	"Commands:\n"
	"  create FILE   create a card (GIDS: blank, or initialized with a PIN and an admin\n"
	"                key; --type piv: a PIV card)\n"
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
	"A PIV card (--type piv) is always ready: PIN 123456, PUK 12345678 and management\n"
	"key 010203040506070801020304050607080102030405060708 unless given.\n"
	"\n"
	"  --type gids|piv          the card edge (default gids)\n"
	"  --pin-file F             user PIN (4 to 16 bytes; PIV 6 to 8) from the first\n"
	"                           line of F\n"
	"  --pin-env VAR            user PIN from the environment variable VAR\n"
	"  --insecure-pin P         user PIN on the command line (visible to others)\n"
	"  --admin-key-file F       3DES admin key (48 hex digits, or 24 raw bytes)\n"
	"                           from F; PIV: the management key (16, 24 or 32\n"
	"                           bytes, --mgm-alg)\n"
	"  --admin-key-env VAR      admin key (hex) from the variable VAR\n"
	"  --insecure-admin-key HEX admin key on the command line (visible to others)\n"
	"  --serial HEX             card id, 1 to 16 bytes in hex (default: random)\n"
	"  --pin-tries N            PIN retry limit, 1 to 15, PIV 1 to 255 (default 3)\n"
	"  --seal SEAL              what seals the card's secrets: tpm[:TCTI] or\n"
	"                           keyfile[:PATH] (default: MDP11_VCARD_SEAL, else the\n"
	"                           TPM when one answers, else a new key file in\n"
	"                           ~/.local/share/mdp11/vcard-seal)\n"
	"  --kdf-cost N             PIN KDF cost, log2 of scrypt N, 1 to 20 (default 15)\n"
	"  --force                  replace FILE if it exists\n"
	"  -h, --help               this help\n"
	"PIV only:\n"
	"  --puk-file F             the PUK (6 to 8 bytes) from the first line of F\n"
	"  --puk-env VAR            the PUK from the environment variable VAR\n"
	"  --insecure-puk P         the PUK on the command line (visible to others)\n"
	"  --puk-tries N            PUK retry limit, 1 to 255 (default 3)\n"
	"  --mgm-alg ALG            management key: 3des, aes128, aes192 or aes256\n"
	"                           (default 3des, aes192 from version 5.7)\n"
	"  --piv-version X.Y.Z      what GET VERSION says (default 5.4.3; 5.7 or\n"
	"                           later offers RSA 3072 and 4096)\n"
	"  --piv-serial N           what GET SERIAL says, 1 to 4294967295\n"
	"                           (default: random)\n";

static const char usage_serve[] =
	"Usage: mdp11-vcard serve [OPTIONS] FILE\n"
	"Connect to pcscd's vpcd reader and serve the card until SIGTERM or SIGINT;\n"
	"reconnect whenever pcscd goes away.\n"
	"\n"
	"  --vpcd HOST:PORT     vpcd endpoint (default 127.0.0.1:35963)\n"
	"  --atr HEX            answer-to-reset (default: GIDS 3B 80 80 01 01, PIV the\n"
	"                       YubiKey 5 ATR)\n"
	"  --seal SEAL          where the card's seal is, if not where the file says\n"
	"  -v, --verbose        also log connections (warnings are always logged)\n"
	"  -h, --help           this help\n";

static const char usage_info[] =
	"Usage: mdp11-vcard info [OPTIONS] FILE\n"
	"Show the card's type, whether it is initialized, its card id, PIN tries, key\n"
	"files, data objects, its seal and whether the seal is available (PIV: also the\n"
	"serial, version, PUK tries, management key algorithm, which secrets are still\n"
	"the factory defaults and the slots holding keys). Never shows secrets.\n"
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
	OPT_TYPE,
	OPT_PLAIN_PUK,
	OPT_PUK_FILE,
	OPT_PUK_ENV,
	OPT_INSECURE_PUK,
	OPT_PUK_TRIES,
	OPT_MGM_ALG,
	OPT_PIV_VERSION,
	OPT_PIV_SERIAL,
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
	{"type", 0, OPT_TYPE, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"puk", 0, OPT_PLAIN_PUK, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"puk-file", 0, OPT_PUK_FILE, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"puk-env", 0, OPT_PUK_ENV, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"insecure-puk", 0, OPT_INSECURE_PUK, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"puk-tries", 0, OPT_PUK_TRIES, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"mgm-alg", 0, OPT_MGM_ALG, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"piv-version", 0, OPT_PIV_VERSION, true, CMD_BIT(VCARD_CMD_CREATE)},
	{"piv-serial", 0, OPT_PIV_SERIAL, true, CMD_BIT(VCARD_CMD_CREATE)},
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

/* Option values checked once the whole command line is read. */
struct raw {
	const char *serial_hex, *atr_hex, *tries, *vpcd;
	const char *type, *puk_tries, *mgm_alg, *piv_version, *piv_serial;
};

static int
parse_value(struct vcard_opts *o, enum opt_id id, const char *v, struct raw *raw, char *err,
	    size_t errcap)
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
	case OPT_PLAIN_PUK:
		return usage_err(err, errcap,
				 "--puk puts the PUK where other users see it: use --puk-file F, "
				 "--puk-env VAR or --insecure-puk PUK");
	case OPT_PUK_FILE:
		return set_secret(o, &o->puk, &o->puk.file, v, "PUK", err, errcap);
	case OPT_PUK_ENV:
		return set_secret(o, &o->puk, &o->puk.env, v, "PUK", err, errcap);
	case OPT_INSECURE_PUK:
		return set_secret(o, &o->puk, &o->puk.insecure, v, "PUK", err, errcap);
	case OPT_SERIAL:
		raw->serial_hex = v;
		break;
	case OPT_PIN_TRIES:
		raw->tries = v;
		break;
	case OPT_TYPE:
		raw->type = v;
		break;
	case OPT_PUK_TRIES:
		raw->puk_tries = v;
		break;
	case OPT_MGM_ALG:
		raw->mgm_alg = v;
		break;
	case OPT_PIV_VERSION:
		raw->piv_version = v;
		break;
	case OPT_PIV_SERIAL:
		raw->piv_serial = v;
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
		raw->vpcd = v;
		break;
	case OPT_ATR:
		raw->atr_hex = v;
		break;
	default:
		break;
	}
	return VCARD_EXIT_OK;
}

/* A decimal number min..max; false for anything else. */
static bool
number(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end = NULL;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || !*v || *end || *v == '-' || *v == '+' || n < min || n > max)
		return false;
	*out = n;
	return true;
}

/* --mgm-alg: a name or the algorithm id (03, 08, 0A, 0C). */
static bool
mgm_alg(const char *v, uint8_t *alg)
{
	static const struct {
		const char *name, *id;
		uint8_t alg;
	} algs[] = {{"3des", "03", 0x03},
		    {"aes128", "08", 0x08},
		    {"aes192", "0a", 0x0A},
		    {"aes256", "0c", 0x0C}};
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (!strcasecmp(v, algs[i].name) || !strcasecmp(v, algs[i].id)) {
			*alg = algs[i].alg;
			return true;
		}
	}
	return false;
}

/* The options of a PIV card (--type piv), checked. */
static int
finish_piv(struct vcard_opts *o, const struct raw *raw, char *err, size_t errcap)
{
	unsigned long v, a, b, c;
	int n = 0;

	if (raw->serial_hex)
		return usage_err(
			err, errcap,
			"--serial is a GIDS card's id; a PIV card's serial is --piv-serial");
	if (raw->tries) {
		if (!number(raw->tries, 1, 255, &v))
			return usage_err(err, errcap, "--pin-tries must be 1 to 255");
		o->pin_tries = (unsigned)v;
	}
	if (raw->puk_tries) {
		if (!number(raw->puk_tries, 1, 255, &v))
			return usage_err(err, errcap, "--puk-tries must be 1 to 255");
		o->puk_tries = (unsigned)v;
	}
	if (raw->mgm_alg && !mgm_alg(raw->mgm_alg, &o->mgm_alg))
		return usage_err(err, errcap,
				 "--mgm-alg must be 3des, aes128, aes192 or aes256, not \"%s\"",
				 raw->mgm_alg);
	if (raw->piv_version) {
		if (sscanf(raw->piv_version, "%lu.%lu.%lu%n", &a, &b, &c, &n) != 3 ||
		    raw->piv_version[n] || a < 4 || a > 255 || b > 255 || c > 255)
			return usage_err(
				err, errcap,
				"--piv-version must be X.Y.Z with X 4 to 255, Y and Z 0 to "
				"255");
		o->piv_version[0] = (uint8_t)a;
		o->piv_version[1] = (uint8_t)b;
		o->piv_version[2] = (uint8_t)c;
	}
	if (raw->piv_serial) {
		if (!number(raw->piv_serial, 1, 4294967295ul, &v))
			return usage_err(err, errcap, "--piv-serial must be 1 to 4294967295");
		o->piv_serial = (uint32_t)v;
	}
	return VCARD_EXIT_OK;
}

static int
finish_create(struct vcard_opts *o, const struct raw *raw, char *err, size_t errcap)
{
	int rc;
	unsigned long v;

	if (raw->type && !strcmp(raw->type, "piv"))
		o->piv = true;
	else if (raw->type && strcmp(raw->type, "gids"))
		return usage_err(err, errcap, "--type must be gids or piv, not \"%s\"", raw->type);
	if (o->piv)
		return finish_piv(o, raw, err, errcap);
	if (o->puk.file || o->puk.env || o->puk.insecure || raw->puk_tries || raw->mgm_alg ||
	    raw->piv_version || raw->piv_serial)
		return usage_err(err, errcap,
				 "the PUK, --puk-tries, --mgm-alg, --piv-version and --piv-serial "
				 "are for a PIV card (--type piv)");
	if (!o->initialized && (raw->serial_hex || raw->tries))
		return usage_err(err, errcap,
				 "--serial and --pin-tries are for an initialized card: give the "
				 "PIN and the admin key (--pin-file, --admin-key-file, ...)");
	if (!o->initialized)
		return VCARD_EXIT_OK;
	if (raw->serial_hex) {
		rc = decode_hex("--serial", raw->serial_hex, o->serial, 1, VCARD_OPTS_SERIAL_MAX,
				&o->serial_len, err, errcap);
		if (rc != VCARD_EXIT_OK)
			return rc;
	}
	if (raw->tries) {
		if (!number(raw->tries, 1, 15, &v))
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
	struct raw raw;
	const char *cmdname;
	bool options_done = false;
	int rc;
	int i;

	if (err && errcap)
		err[0] = '\0';
	memset(&raw, 0, sizeof(raw));
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
			rc = parse_value(o, def->id, value, &raw, err, errcap);
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
		rc = finish_create(o, &raw, err, errcap);
	else if (o->cmd == VCARD_CMD_SERVE)
		rc = finish_serve(o, raw.vpcd, raw.atr_hex, err, errcap);
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

/* A PIN or PUK from its options (or the terminal), checked for min..max bytes. */
static enum mdp_err
read_code(const struct tool_secret_src *src, const char *what, const char *opt, size_t min,
	  size_t max, char **out, size_t *len)
{
	char *p = NULL, prompt[64];
	size_t n = 0;
	enum mdp_err rv;

	snprintf(prompt, sizeof(prompt), "%s of the new card", what);
	rv = tool_pin_read(src, prompt, true, &p, &n);
	if (rv == MDP_ERR_NOT_FOUND && !src->file && !src->env && !src->insecure)
		return mdp_err_reason(MDP_ERR_ARGS,
				      "no %s: give --%s-file F or --%s-env VAR (or run on a "
				      "terminal to be asked)",
				      what, opt, opt);
	if (rv != MDP_OK)
		return rv;
	if (n < min || n > max) {
		mdp_secure_free(p, n + 1);
		return mdp_err_reason(MDP_ERR_ARGS, "the %s must be %zu to %zu bytes", what, min,
				      max);
	}
	*out = p;
	*len = n;
	return MDP_OK;
}

enum mdp_err
vcard_opts_read_pin(const struct vcard_opts *o, char **pin, size_t *len)
{
	if (!o || !pin || !len)
		return mdp_err_reason(MDP_ERR_ARGS, "bad PIN call");
	if (o->piv)
		return read_code(&o->pin, "PIN", "pin", 6, 8, pin, len);
	return read_code(&o->pin, "PIN", "pin", VCARD_OPTS_PIN_MIN, VCARD_OPTS_PIN_MAX, pin, len);
}

enum mdp_err
vcard_opts_read_puk(const struct vcard_opts *o, char **puk, size_t *len)
{
	if (!o || !puk || !len)
		return mdp_err_reason(MDP_ERR_ARGS, "bad PUK call");
	return read_code(&o->puk, "PUK", "puk", 6, 8, puk, len);
}

enum mdp_err
vcard_opts_read_admin_key(const struct vcard_opts *o, uint8_t key[VCARD_OPTS_ADMIN_KEY_LEN])
{
	return vcard_opts_read_mgm_key(o, key, VCARD_OPTS_ADMIN_KEY_LEN);
}

enum mdp_err
vcard_opts_read_mgm_key(const struct vcard_opts *o, uint8_t *key, size_t len)
{
	enum mdp_err rv;

	if (!o || !key)
		return mdp_err_reason(MDP_ERR_ARGS, "bad admin key call");
	rv = tool_key_read(&o->admin_key,
			   o->piv ? "management key of the new card" : "admin key of the new card",
			   true, key, len);
	if (rv == MDP_ERR_NOT_FOUND && !o->admin_key.file && !o->admin_key.env &&
	    !o->admin_key.insecure)
		return mdp_err_reason(MDP_ERR_ARGS,
				      "no admin key: give --admin-key-file F or --admin-key-env "
				      "VAR (or run on a terminal to be asked)");
	return rv;
}
