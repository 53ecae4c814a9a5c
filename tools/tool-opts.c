/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Command-line options shared by mdp11-tool's card commands, parsed apart from the commands for
 * tests. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "blob/blob.h"
#include "common/bytes.h"
#include "tools/tool.h"

enum opt_id {
	OPT_READER = 256,
	OPT_CARD,
	OPT_SERIAL,
	OPT_TOKEN,
	OPT_CONTAINER,
	OPT_NAME,
	OPT_PIN_FILE,
	OPT_PIN_ENV,
	OPT_INSECURE_PIN,
	OPT_NEW_PIN_FILE,
	OPT_NEW_PIN_ENV,
	OPT_INSECURE_NEW_PIN,
	OPT_ADMIN_FILE,
	OPT_ADMIN_ENV,
	OPT_INSECURE_ADMIN,
	OPT_NEW_ADMIN_FILE,
	OPT_NEW_ADMIN_ENV,
	OPT_INSECURE_NEW_ADMIN,
	OPT_JSON,
	OPT_FORCE,
	OPT_IN,
	OPT_FROM,
	OPT_KEY_SPEC,
	OPT_CERT_FILE,
	OPT_P12_PASS_FILE,
	OPT_P12_PASS_ENV,
	OPT_NO_VALIDATE,
	OPT_OVERWRITE,
	OPT_CERT_FLAG,
	OPT_FORMAT,
	OPT_OUT,
	OPT_TYPE,
	OPT_CERT_ONLY,
	OPT_CARD_ID,
	OPT_LABEL,
	OPT_ID,
	OPT_SUBJECT,
	OPT_HASH,
	OPT_PADDING,
	OPT_DAYS,
	OPT_STORE,
	OPT_PUK,
	OPT_PUK_FILE,
	OPT_PUK_ENV,
	OPT_INSECURE_PUK,
	OPT_NEW_PUK_FILE,
	OPT_NEW_PUK_ENV,
	OPT_INSECURE_NEW_PUK,
	OPT_VERBOSE,
	OPT_HELP,
};

struct opt_def {
	const char *name;
	int has_arg;
	enum opt_id id;
	unsigned groups; /* 0: every command */
};

static const struct opt_def defs[] = {
	{"reader", required_argument, OPT_READER, TOOL_O_CARD},
	{"card", required_argument, OPT_CARD, TOOL_O_CARD},
	{"serial", required_argument, OPT_SERIAL, TOOL_O_CARD},
	{"token", required_argument, OPT_TOKEN, TOOL_O_CARD},
	{"container", required_argument, OPT_CONTAINER, TOOL_O_CONTAINER},
	{"name", required_argument, OPT_NAME, TOOL_O_CONTAINER},
	{"label", required_argument, OPT_LABEL, TOOL_O_CONTAINER},
	{"id", required_argument, OPT_ID, TOOL_O_CONTAINER},
	{"pin-file", required_argument, OPT_PIN_FILE, TOOL_O_PIN},
	{"pin-env", required_argument, OPT_PIN_ENV, TOOL_O_PIN},
	{"insecure-pin", required_argument, OPT_INSECURE_PIN, TOOL_O_PIN},
	{"new-pin-file", required_argument, OPT_NEW_PIN_FILE, TOOL_O_NEW_PIN},
	{"new-pin-env", required_argument, OPT_NEW_PIN_ENV, TOOL_O_NEW_PIN},
	{"insecure-new-pin", required_argument, OPT_INSECURE_NEW_PIN, TOOL_O_NEW_PIN},
	{"admin-key-file", required_argument, OPT_ADMIN_FILE, TOOL_O_ADMIN},
	{"admin-key-env", required_argument, OPT_ADMIN_ENV, TOOL_O_ADMIN},
	{"insecure-admin-key", required_argument, OPT_INSECURE_ADMIN, TOOL_O_ADMIN},
	{"new-admin-key-file", required_argument, OPT_NEW_ADMIN_FILE, TOOL_O_NEW_ADMIN},
	{"new-admin-key-env", required_argument, OPT_NEW_ADMIN_ENV, TOOL_O_NEW_ADMIN},
	{"insecure-new-admin-key", required_argument, OPT_INSECURE_NEW_ADMIN, TOOL_O_NEW_ADMIN},
	{"json", no_argument, OPT_JSON, TOOL_O_JSON},
	{"force", no_argument, OPT_FORCE, TOOL_O_FORCE},
	{"in", required_argument, OPT_IN, TOOL_O_IMPORT},
	{"from", required_argument, OPT_FROM, TOOL_O_IMPORT},
	/* --format names the input format of import (the format of export's output) */
	{"format", required_argument, OPT_FROM, TOOL_O_IMPORT},
	{"key-spec", required_argument, OPT_KEY_SPEC,
	 TOOL_O_IMPORT | TOOL_O_GENERATE | TOOL_O_DELETE | TOOL_O_EXPORT | TOOL_O_SIGN},
	{"cert", required_argument, OPT_CERT_FILE, TOOL_O_IMPORT},
	{"p12-pass-file", required_argument, OPT_P12_PASS_FILE, TOOL_O_IMPORT},
	{"p12-pass-env", required_argument, OPT_P12_PASS_ENV, TOOL_O_IMPORT},
	{"no-validate", no_argument, OPT_NO_VALIDATE, TOOL_O_IMPORT},
	{"overwrite", no_argument, OPT_OVERWRITE,
	 TOOL_O_IMPORT | TOOL_O_GENERATE | TOOL_O_SELFSIGN},
	{"cert", no_argument, OPT_CERT_FLAG, TOOL_O_EXPORT},
	{"format", required_argument, OPT_FORMAT, TOOL_O_EXPORT | TOOL_O_SIGN},
	{"out", required_argument, OPT_OUT, TOOL_O_EXPORT | TOOL_O_SIGN},
	{"type", required_argument, OPT_TYPE, TOOL_O_GENERATE},
	{"cert-only", no_argument, OPT_CERT_ONLY, TOOL_O_DELETE},
	{"card-id", required_argument, OPT_CARD_ID, TOOL_O_INIT},
	{"subject", required_argument, OPT_SUBJECT, TOOL_O_SIGN},
	{"hash", required_argument, OPT_HASH, TOOL_O_SIGN},
	{"padding", required_argument, OPT_PADDING, TOOL_O_SIGN},
	{"days", required_argument, OPT_DAYS, TOOL_O_SELFSIGN},
	{"store", no_argument, OPT_STORE, TOOL_O_SELFSIGN},
	{"puk", no_argument, OPT_PUK, TOOL_O_PUK},
	{"puk-file", required_argument, OPT_PUK_FILE, TOOL_O_PUK},
	{"puk-env", required_argument, OPT_PUK_ENV, TOOL_O_PUK},
	{"insecure-puk", required_argument, OPT_INSECURE_PUK, TOOL_O_PUK},
	{"new-puk-file", required_argument, OPT_NEW_PUK_FILE, TOOL_O_NEW_PUK},
	{"new-puk-env", required_argument, OPT_NEW_PUK_ENV, TOOL_O_NEW_PUK},
	{"insecure-new-puk", required_argument, OPT_INSECURE_NEW_PUK, TOOL_O_NEW_PUK},
	{"verbose", no_argument, OPT_VERBOSE, 0},
	{"help", no_argument, OPT_HELP, 0},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static int usage(char *err, size_t errcap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
usage(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
	return TOOL_EXIT_USAGE;
}

static bool
parse_uint(const char *s, long max, int *out)
{
	char *end = NULL;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > max)
		return false;
	*out = (int)v;
	return true;
}

/* Set one source of a secret; a second source for the same secret is a usage error. */
static int
set_secret(struct tool_secret_src *s, const char **field, const char *v, const char *what,
	   char *err, size_t errcap)
{
	if (s->file || s->env || s->insecure)
		return usage(err, errcap, "give the %s only once (one of -file, -env, --insecure-)",
			     what);
	*field = v;
	return TOOL_EXIT_OK;
}

static int
apply(struct tool_opts *o, enum opt_id id, const char *v, char *err, size_t errcap)
{
	switch (id) {
	case OPT_READER:
		o->reader = v;
		break;
	case OPT_CARD:
		if (!parse_uint(v, 9999, &o->card_index))
			return usage(err, errcap, "--card wants a card number, not '%s'", v);
		break;
	case OPT_SERIAL:
		o->serial = v;
		break;
	case OPT_TOKEN:
		o->token_uri = v;
		break;
	case OPT_CONTAINER:
		if (!parse_uint(v, 254, &o->container))
			return usage(err, errcap, "--container wants an index 0..254, not '%s'", v);
		break;
	case OPT_NAME:
		if (*v == '\0')
			return usage(err, errcap, "--name wants a non-empty container name");
		o->name = v;
		break;
	case OPT_PIN_FILE:
		return set_secret(&o->pin, &o->pin.file, v, "PIN", err, errcap);
	case OPT_PIN_ENV:
		return set_secret(&o->pin, &o->pin.env, v, "PIN", err, errcap);
	case OPT_INSECURE_PIN:
		return set_secret(&o->pin, &o->pin.insecure, v, "PIN", err, errcap);
	case OPT_NEW_PIN_FILE:
		return set_secret(&o->new_pin, &o->new_pin.file, v, "new PIN", err, errcap);
	case OPT_NEW_PIN_ENV:
		return set_secret(&o->new_pin, &o->new_pin.env, v, "new PIN", err, errcap);
	case OPT_INSECURE_NEW_PIN:
		return set_secret(&o->new_pin, &o->new_pin.insecure, v, "new PIN", err, errcap);
	case OPT_ADMIN_FILE:
		return set_secret(&o->admin_key, &o->admin_key.file, v, "admin key", err, errcap);
	case OPT_ADMIN_ENV:
		return set_secret(&o->admin_key, &o->admin_key.env, v, "admin key", err, errcap);
	case OPT_INSECURE_ADMIN:
		return set_secret(&o->admin_key, &o->admin_key.insecure, v, "admin key", err,
				  errcap);
	case OPT_NEW_ADMIN_FILE:
		return set_secret(&o->new_admin_key, &o->new_admin_key.file, v, "new admin key",
				  err, errcap);
	case OPT_NEW_ADMIN_ENV:
		return set_secret(&o->new_admin_key, &o->new_admin_key.env, v, "new admin key", err,
				  errcap);
	case OPT_INSECURE_NEW_ADMIN:
		return set_secret(&o->new_admin_key, &o->new_admin_key.insecure, v, "new admin key",
				  err, errcap);
	case OPT_PUK:
		o->use_puk = true;
		break;
	case OPT_PUK_FILE:
		o->use_puk = true;
		return set_secret(&o->puk, &o->puk.file, v, "PUK", err, errcap);
	case OPT_PUK_ENV:
		o->use_puk = true;
		return set_secret(&o->puk, &o->puk.env, v, "PUK", err, errcap);
	case OPT_INSECURE_PUK:
		o->use_puk = true;
		return set_secret(&o->puk, &o->puk.insecure, v, "PUK", err, errcap);
	case OPT_NEW_PUK_FILE:
		return set_secret(&o->new_puk, &o->new_puk.file, v, "new PUK", err, errcap);
	case OPT_NEW_PUK_ENV:
		return set_secret(&o->new_puk, &o->new_puk.env, v, "new PUK", err, errcap);
	case OPT_INSECURE_NEW_PUK:
		return set_secret(&o->new_puk, &o->new_puk.insecure, v, "new PUK", err, errcap);
	case OPT_JSON:
		o->json = true;
		break;
	case OPT_FORCE:
		o->force = true;
		break;
	case OPT_IN:
		o->in = v;
		break;
	case OPT_FROM:
		if (blob_format_from_name(v) == BLOB_FMT_UNKNOWN && strcmp(v, "pkcs12") != 0)
			return usage(err, errcap, "unknown input format '%s'", v);
		o->from = v;
		break;
	case OPT_KEY_SPEC:
		if (mdp_key_spec_from_name(v) == MDP_AT_NONE &&
		    tool_spec_resolve(v, EVP_PKEY_RSA, 2048) == MDP_AT_NONE &&
		    tool_spec_resolve(v, EVP_PKEY_EC, 256) == MDP_AT_NONE)
			return usage(err, errcap, "unknown key spec '%s'", v);
		o->key_spec = v;
		break;
	case OPT_CERT_FILE:
		o->cert_file = v;
		break;
	case OPT_P12_PASS_FILE:
		if (o->p12_pass_env)
			return usage(err, errcap, "give the PKCS#12 password only once");
		o->p12_pass_file = v;
		break;
	case OPT_P12_PASS_ENV:
		if (o->p12_pass_file)
			return usage(err, errcap, "give the PKCS#12 password only once");
		o->p12_pass_env = v;
		break;
	case OPT_NO_VALIDATE:
		o->no_validate = true;
		break;
	case OPT_OVERWRITE:
		o->overwrite = true;
		break;
	case OPT_CERT_FLAG:
		o->export_cert = true;
		break;
	case OPT_FORMAT:
		o->format = v;
		break;
	case OPT_OUT:
		o->out = v;
		break;
	case OPT_TYPE: {
		int kt;
		unsigned bits;

		if (!tool_parse_type(v, &kt, &bits))
			return usage(err, errcap,
				     "unknown key type '%s' (rsa:BITS, ec:p256, "
				     "ec:p384, ec:p521)",
				     v);
		o->type = v;
		break;
	}
	case OPT_CERT_ONLY:
		o->cert_only = true;
		break;
	case OPT_CARD_ID: {
		uint8_t cardid[16];

		if (!tool_hex_decode(v, cardid, sizeof(cardid)))
			return usage(err, errcap, "--card-id wants 32 hex digits (16 bytes)");
		o->card_id = v;
		break;
	}
	case OPT_LABEL:
		if (*v == '\0')
			return usage(err, errcap, "--label wants a non-empty label");
		o->label = v;
		break;
	case OPT_ID: {
		uint8_t bytes[255];
		size_t n;

		if (!tool_hex_decode_var(v, bytes, sizeof(bytes), &n))
			return usage(err, errcap,
				     "--id wants 1 to 255 bytes in hex (e.g. 01 or a1:b2), "
				     "not '%s'",
				     v);
		o->id_hex = v;
		break;
	}
	case OPT_SUBJECT:
		if (*v != '/')
			return usage(err, errcap,
				     "--subject wants a name like /CN=Alice/O=Example, not '%s'",
				     v);
		o->subject = v;
		break;
	case OPT_HASH:
		if (strcmp(v, "sha256") != 0 && strcmp(v, "sha384") != 0 &&
		    strcmp(v, "sha512") != 0)
			return usage(err, errcap, "--hash wants sha256, sha384 or sha512, not '%s'",
				     v);
		o->hash = v;
		break;
	case OPT_PADDING:
		if (strcmp(v, "pkcs1") != 0 && strcmp(v, "pss") != 0)
			return usage(err, errcap, "--padding wants pkcs1 or pss, not '%s'", v);
		o->padding = v;
		break;
	case OPT_DAYS:
		if (!parse_uint(v, 36500, &o->days) || o->days < 1)
			return usage(err, errcap,
				     "--days wants a number of days 1..36500, not '%s'", v);
		break;
	case OPT_STORE:
		o->store = true;
		break;
	case OPT_VERBOSE:
		o->verbose = true;
		break;
	case OPT_HELP:
		o->help = true;
		break;
	}
	return TOOL_EXIT_OK;
}

int
tool_opts_parse(int argc, char **argv, unsigned mask, struct tool_opts *o, char *err, size_t errcap)
{
	struct option table[NDEFS + 1];
	size_t i, n = 0;
	int c, idx, rc, selectors;

	memset(o, 0, sizeof(*o));
	o->card_index = -1;
	o->container = -1;
	o->mask = mask;
	o->cmd = argc > 0 ? argv[0] : NULL;
	if (errcap)
		err[0] = '\0';
	for (i = 0; i < NDEFS; i++) {
		if (defs[i].groups != 0 && !(defs[i].groups & mask))
			continue;
		table[n].name = defs[i].name;
		table[n].has_arg = defs[i].has_arg;
		table[n].flag = NULL;
		table[n].val = defs[i].id;
		n++;
	}
	memset(&table[n], 0, sizeof(table[n]));

	optind = 0; /* full reinitialisation of getopt (GNU) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hv", table, &idx)) != -1) {
		if (c == 'h')
			c = OPT_HELP;
		else if (c == 'v')
			c = OPT_VERBOSE;
		if (c == '?' || c == ':') {
			if (optopt >= OPT_READER)
				return usage(err, errcap, "option '%s' needs a value",
					     argv[optind - 1]);
			return usage(err, errcap, "unknown option '%s'", argv[optind - 1]);
		}
		rc = apply(o, (enum opt_id)c, optarg, err, errcap);
		if (rc != TOOL_EXIT_OK)
			return rc;
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	if (o->help)
		return TOOL_EXIT_OK;
	selectors = (o->reader != NULL) + (o->card_index >= 0) + (o->serial != NULL) +
		    (o->token_uri != NULL);
	if (selectors > 1)
		return usage(err, errcap,
			     "choose the card with one of --reader, --card, --serial "
			     "or --token");
	if (o->container >= 0 && o->name != NULL && !(mask & (TOOL_O_IMPORT | TOOL_O_GENERATE)))
		return usage(err, errcap,
			     "choose the container with --container or --name, not "
			     "both");
	return TOOL_EXIT_OK;
}

enum mdp_key_spec
tool_spec_resolve(const char *name, int key_type, unsigned bits)
{
	enum mdp_key_spec s;
	int off = bits == 256 ? 0 : bits == 384 ? 1 : bits == 521 ? 2 : -1;

	if (name == NULL) {
		if (key_type == EVP_PKEY_RSA)
			return MDP_AT_KEYEXCHANGE;
		return off < 0 ? MDP_AT_NONE : (enum mdp_key_spec)(MDP_AT_ECDSA_P256 + off);
	}
	s = mdp_key_spec_from_name(name);
	if (s != MDP_AT_NONE && key_type == EVP_PKEY_RSA)
		return MDP_KEY_SPEC_IS_RSA(s) ? s : MDP_AT_NONE;
	if (MDP_KEY_SPEC_IS_EC(s)) {
		if (key_type != EVP_PKEY_EC || off < 0)
			return MDP_AT_NONE;
		/* The curve of an EC spec must be the key's. */
		if ((int)s - (MDP_KEY_SPEC_IS_ECDSA(s) ? (int)MDP_AT_ECDSA_P256
						       : (int)MDP_AT_ECDHE_P256) !=
		    off)
			return MDP_AT_NONE;
		return s;
	}
	if (key_type == EVP_PKEY_RSA) {
		if (strcmp(name, "exchange") == 0 || strcmp(name, "at_keyexchange") == 0)
			return MDP_AT_KEYEXCHANGE;
		if (strcmp(name, "sign") == 0 || strcmp(name, "at_signature") == 0)
			return MDP_AT_SIGNATURE;
		return MDP_AT_NONE;
	}
	if (key_type != EVP_PKEY_EC || off < 0)
		return MDP_AT_NONE;
	if (strcmp(name, "ecdsa") == 0 || strcmp(name, "signature") == 0)
		return (enum mdp_key_spec)(MDP_AT_ECDSA_P256 + off);
	if (strcmp(name, "ecdh") == 0 || strcmp(name, "ecdhe") == 0 ||
	    strcmp(name, "keyexchange") == 0 || strcmp(name, "exchange") == 0)
		return (enum mdp_key_spec)(MDP_AT_ECDHE_P256 + off);
	return MDP_AT_NONE;
}

bool
tool_parse_type(const char *text, int *key_type, unsigned *bits)
{
	static const struct {
		const char *name;
		unsigned bits;
	} curves[] = {
		{"p256", 256},	{"p-256", 256},	    {"secp256r1", 256}, {"prime256v1", 256},
		{"p384", 384},	{"p-384", 384},	    {"secp384r1", 384}, {"p521", 521},
		{"p-521", 521}, {"secp521r1", 521},
	};
	int v = 0;
	size_t i;

	if (text == NULL)
		return false;
	if (strcasecmp(text, "rsa") == 0) {
		*key_type = EVP_PKEY_RSA;
		*bits = 0;
		return true;
	}
	if (strncasecmp(text, "rsa:", 4) == 0) {
		if (!parse_uint(text + 4, 16384, &v) || v < 512)
			return false;
		*key_type = EVP_PKEY_RSA;
		*bits = (unsigned)v;
		return true;
	}
	if (strncasecmp(text, "ec:", 3) == 0) {
		for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
			if (strcasecmp(text + 3, curves[i].name) == 0) {
				*key_type = EVP_PKEY_EC;
				*bits = curves[i].bits;
				return true;
			}
		}
	}
	return false;
}
