/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-tool: command-line front end; a table of commands, each a table of subcommands. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MDP_LOG_AREA MDP_AREA_TOOL
#include "blob/blob.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/log.h"
#include "common/secmem.h"
#include "tools/tool-card.h"
#include "tools/tool.h"
#include "vcard/vcard.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_BAD_INPUT 7 /* = TOOL_EXIT_BAD_INPUT: the card commands use the same code */

static const char *progname = "mdp11-tool";

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* One line "mdp11-tool: <reason>" on stderr; returns code. */
static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s %s --help')\n", progname, cmd);
	return EXIT_USAGE;
}

/* getopt_long() answered '?' or ':' (opterr is 0, so it printed nothing): one line. */
static int
bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return usage_error(cmd, "option '%s' needs a value", arg);
	return usage_error(cmd, "unknown option '%s'", arg);
}

/* Read and parse a key file ('-': standard input); prints the reason, returns an exit code. */
static int
load_key(const char *path, enum blob_format fmt, unsigned flags, struct mdp_key **out)
{
	uint8_t *data = NULL;
	size_t len = 0;
	enum mdp_err rv;
	int rc;

	rc = tool_read_input(path, &data, &len);
	if (rc != EXIT_OK)
		return rc;
	rv = blob_parse(data, len, fmt, flags, out);
	mdp_secure_free(data, TOOL_INPUT_ALLOC);
	if (rv != MDP_OK)
		return fail(EXIT_BAD_INPUT, "%s: %s", path, mdp_err_last());
	return EXIT_OK;
}

/* ---- blob show ---- */

static void
blob_show_help(FILE *f)
{
	fprintf(f,
		"Usage: %s blob show [--from FORMAT] [--no-validate] FILE\n"
		"\n"
		"Describe the key in FILE ('-': standard input; format detected): format, type,\n"
		"size, curve, key spec, CAPI ALG_ID or CNG magic, and the SHA-256 of its\n"
		"SubjectPublicKeyInfo.\n"
		"Private values are never printed.\n"
		"\n"
		"  --from FORMAT   read FILE as FORMAT instead of detecting it\n"
		"  --no-validate   skip the key pair check (n = p*q, Q = d*G)\n"
		"  -h, --help      this text\n",
		progname);
}

static const char *
alg_id_name(uint32_t alg)
{
	switch (alg) {
	case MDP_CALG_RSA_KEYX:
		return "CALG_RSA_KEYX";
	case MDP_CALG_RSA_SIGN:
		return "CALG_RSA_SIGN";
	default:
		return "?";
	}
}

static int
blob_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'},
		{"no-validate", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum blob_format from = BLOB_FMT_UNKNOWN;
	unsigned flags = 0;
	struct mdp_key *k = NULL;
	uint8_t digest[32];
	uint8_t *e = NULL;
	size_t elen = 0, i;
	uint32_t magic;
	char mtext[5];
	enum mdp_err rv;
	int c;

	optind = 0; /* full reinitialisation of getopt (GNU) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			from = blob_format_from_name(optarg);
			if (from == BLOB_FMT_UNKNOWN)
				return usage_error("blob show", "unknown format '%s'", optarg);
			break;
		case 'n':
			flags |= BLOB_NO_VALIDATION;
			break;
		case 'h':
			blob_show_help(stdout);
			return EXIT_OK;
		default:
			return bad_option("blob show", c, argv);
		}
	}
	if (argc - optind != 1)
		return usage_error("blob show", "expected one FILE");
	c = load_key(argv[optind], from, flags, &k);
	if (c != EXIT_OK)
		return c;
	rv = mdp_key_public_sha256(k, digest);
	if (rv != MDP_OK) {
		mdp_key_free(k);
		return fail(EXIT_FAIL, "%s", mdp_err_last());
	}
	printf("format:      %s\n", blob_format_name(mdp_key_source_format(k)));
	printf("type:        %s %s key\n", mdp_key_type(k) == EVP_PKEY_RSA ? "RSA" : "EC",
	       mdp_key_is_private(k) ? "private" : "public");
	printf("bits:        %u\n", mdp_key_bits(k));
	if (mdp_key_type(k) == EVP_PKEY_EC) {
		printf("curve:       %s\n", mdp_key_curve_name(k));
	} else if (mdp_key_rsa_component(k, BLOB_RSA_E, 0, &e, &elen) == MDP_OK) {
		printf("exponent:    0x");
		for (i = 0; i < elen; i++)
			printf("%02x", e[i]);
		printf("\n");
		mdp_secure_free(e, elen);
	}
	printf("key spec:    %s\n", mdp_key_spec_name(mdp_key_spec(k)));
	if (mdp_key_alg_id(k))
		printf("alg id:      0x%08x (%s)\n", mdp_key_alg_id(k),
		       alg_id_name(mdp_key_alg_id(k)));
	magic = mdp_key_magic(k);
	if (magic) {
		for (i = 0; i < 4; i++) {
			uint8_t b = (uint8_t)(magic >> (8 * i));

			mtext[i] = (b >= 0x20 && b < 0x7f) ? (char)b : '.';
		}
		mtext[4] = '\0';
		printf("magic:       0x%08x (%s)\n", magic, mtext);
	}
	printf("spki sha256: ");
	for (i = 0; i < sizeof(digest); i++)
		printf("%02x", digest[i]);
	printf("\n");
	mdp_key_free(k);
	if (fflush(stdout) != 0)
		return fail(EXIT_FAIL, "writing to standard output failed");
	return EXIT_OK;
}

/* ---- blob convert ---- */

static void
blob_convert_help(FILE *f)
{
	fprintf(f,
		"Usage: %s blob convert --in FILE --out FILE --to FORMAT [--key-spec SPEC]\n"
		"                         [--from FORMAT] [--no-validate]\n"
		"\n"
		"Convert a key between formats (input format detected unless --from is given).\n"
		"The output is written atomically; private outputs get mode 0600.\n"
		"\n"
		"FORMAT: pem, pkcs8, spki, capi-public, capi-private, cng-rsa-public,\n"
		"        cng-rsa-private, cng-rsa-full, cng-ecc-public, cng-ecc-private\n"
		"        (--from also accepts 'traditional': PKCS#1 / SEC1, DER or PEM)\n"
		"SPEC:   keyexchange, signature (capi-*: CALG_RSA_KEYX / CALG_RSA_SIGN),\n"
		"        ecdsa-p256, ecdsa-p384, ecdsa-p521, ecdhe-p256, ecdhe-p384, ecdhe-p521\n"
		"        (cng-ecc-*: ECDSA or ECDH magic). Default: what the input says, else\n"
		"        keyexchange for RSA and ECDSA for EC.\n"
		"\n"
		"  --in FILE        input key ('-': standard input)\n"
		"  --out FILE       output file, replaced atomically ('-': standard output)\n"
		"  --to FORMAT      output format\n"
		"  --key-spec SPEC  key spec written into the output\n"
		"  --from FORMAT    read the input as FORMAT instead of detecting it\n"
		"  --no-validate    skip the key pair check (n = p*q, Q = d*G)\n"
		"  -h, --help       this text\n",
		progname);
}

static int
blob_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{"in", required_argument, NULL, 'i'},	    {"out", required_argument, NULL, 'o'},
		{"to", required_argument, NULL, 't'},	    {"from", required_argument, NULL, 'f'},
		{"key-spec", required_argument, NULL, 's'}, {"no-validate", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0},
	};
	const char *in = NULL, *outpath = NULL, *to_name = NULL;
	enum blob_format from = BLOB_FMT_UNKNOWN, to;
	enum mdp_key_spec spec = MDP_AT_NONE;
	unsigned flags = 0;
	struct mdp_key *k = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	enum mdp_err rv;
	int c, status = EXIT_OK;

	optind = 0; /* full reinitialisation of getopt (GNU) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			in = optarg;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 't':
			to_name = optarg;
			break;
		case 'f':
			from = blob_format_from_name(optarg);
			if (from == BLOB_FMT_UNKNOWN)
				return usage_error("blob convert", "unknown format '%s'", optarg);
			break;
		case 's':
			spec = mdp_key_spec_from_name(optarg);
			if (spec == MDP_AT_NONE)
				return usage_error("blob convert", "unknown key spec '%s'", optarg);
			break;
		case 'n':
			flags |= BLOB_NO_VALIDATION;
			break;
		case 'h':
			blob_convert_help(stdout);
			return EXIT_OK;
		default:
			return bad_option("blob convert", c, argv);
		}
	}
	if (optind != argc)
		return usage_error("blob convert", "unexpected argument '%s'", argv[optind]);
	if (in == NULL || outpath == NULL || to_name == NULL)
		return usage_error("blob convert", "--in, --out and --to are required");
	to = blob_format_from_name(to_name);
	if (to == BLOB_FMT_UNKNOWN || to == BLOB_FMT_TRADITIONAL)
		return usage_error("blob convert", "unknown output format '%s'", to_name);
	status = load_key(in, from, flags, &k);
	if (status != EXIT_OK)
		return status;
	/* A key the output format or key spec cannot hold is a fault of the input, too. */
	rv = blob_write(k, to, spec, &data, &len);
	if (rv != MDP_OK) {
		status = fail(EXIT_BAD_INPUT, "%s", mdp_err_last());
		goto out;
	}
	status = tool_write_output(outpath, data, len,
				   blob_format_is_private(to) ||
					   (to == BLOB_FMT_PEM && mdp_key_is_private(k)));
out:
	if (data)
		mdp_secure_free(data, len);
	mdp_key_free(k);
	return status;
}

/* ---- command tables ---- */

static const struct command blob_commands[] = {
	{"show", blob_show, "describe a key blob (never its private values)"},
	{"convert", blob_convert, "convert a key between blob formats"},
	{NULL, NULL, NULL},
};

static void
list_commands(FILE *f, const char *prefix, const struct command *cmds)
{
	const struct command *c;

	for (c = cmds; c->name; c++)
		fprintf(f, "  %s%-10s %s\n", prefix, c->name, c->summary);
}

static int
dispatch(const char *group, const struct command *cmds, int argc, char **argv, void (*help)(FILE *))
{
	const struct command *c;

	if (argc < 1)
		return usage_error(group, "a command is required");
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
	    strcmp(argv[0], "help") == 0) {
		help(stdout);
		return EXIT_OK;
	}
	for (c = cmds; c->name; c++)
		if (strcmp(argv[0], c->name) == 0)
			return c->run(argc, argv);
	return usage_error(group, "unknown command '%s'", argv[0]);
}

static void
blob_help(FILE *f)
{
	fprintf(f, "Usage: %s blob COMMAND [OPTIONS]\n\nCommands:\n", progname);
	list_commands(f, "", blob_commands);
	fprintf(f, "\nRun '%s blob COMMAND --help' for a command's options.\n", progname);
}

static int
cmd_blob(int argc, char **argv)
{
	return dispatch("blob", blob_commands, argc - 1, argv + 1, blob_help);
}

static const struct command top_commands[] = {
	{"blob", cmd_blob, "inspect and convert key blobs (CAPI, CNG, PKCS#8, SPKI, PEM)"},
	{"list", tool_cmd_list, "readers, cards, PIN state and container maps (--json)"},
	{"init", tool_cmd_init, "personalise a blank GIDS card or re-initialise a card"},
	{"import", tool_cmd_import, "put a private key (PEM, PKCS#8/12, CAPI, CNG) on a card"},
	{"export", tool_cmd_export, "write a container's public key or certificate"},
	{"generate", tool_cmd_generate, "generate a key pair on the card"},
	{"delete", tool_cmd_delete, "delete a container's key or certificate"},
	{"pin", tool_cmd_pin, "change or unblock the user PIN, change the admin key"},
	{"req", tool_cmd_req, "make a PKCS#10 certificate request signed by a key on the card"},
	{"selfsign", tool_cmd_selfsign, "make a self-signed certificate for a key on the card"},
	{NULL, NULL, NULL},
};

static void
top_help(FILE *f)
{
	fprintf(f,
		"Usage: %s COMMAND [SUBCOMMAND] [OPTIONS]\n"
		"       %s --version\n\nCommands:\n",
		progname, progname);
	list_commands(f, "", top_commands);
	fprintf(f,
		"\nRun '%s COMMAND --help' for details. Exit status: 0 success, 1 failure,\n"
		"2 usage error, 3 no card, 4 wrong PIN or admin key, 5 PIN blocked,\n"
		"6 refused by policy, 7 bad input file, 8 no such container or\n"
		"certificate, 9 container in use or card full (see mdp11-tool(1)).\n",
		progname);
}

int
main(int argc, char **argv)
{
	const struct command *c;

	/* The tool reports a card's problems itself; tpm2-tss's own log stays quiet. */
	vcard_set_notices(false);
	setenv("TSS2_LOG", "all+NONE", 0);
	mdp_log_init_env();
	if (argc < 2) {
		top_help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		top_help(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", progname, MDP11_VERSION);
		return EXIT_OK;
	}
	for (c = top_commands; c->name; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s' (see '%s --help')\n", progname, argv[1],
		progname);
	return EXIT_USAGE;
}
