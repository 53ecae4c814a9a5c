/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-tool card commands: options, exit codes, card selection, secrets, JSON and URI helpers. */
#ifndef MDP11_TOOLS_TOOL_H
#define MDP11_TOOLS_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "mdp11/keyspec.h"

/*
 * Exit status of every command (documented in mdp11-tool(1) and docs/tool.md; scripts rely
 * on them, so the values never change).
 */
enum tool_exit {
	TOOL_EXIT_OK = 0,
	TOOL_EXIT_FAIL = 1,	   /* any other failure (card error, I/O) */
	TOOL_EXIT_USAGE = 2,	   /* bad command line */
	TOOL_EXIT_NO_CARD = 3,	   /* no reader / no card / no card matches the selection */
	TOOL_EXIT_PIN_WRONG = 4,   /* PIN or admin key wrong */
	TOOL_EXIT_PIN_BLOCKED = 5, /* PIN (or admin key) blocked */
	TOOL_EXIT_POLICY = 6,	   /* refused by the host policy or the card's limits */
	TOOL_EXIT_BAD_INPUT = 7,   /* input file unreadable or not a usable key/certificate */
	TOOL_EXIT_NOT_FOUND = 8,   /* no such container, key or certificate */
	TOOL_EXIT_EXISTS = 9,	   /* container index or name in use, or card full */
};

/* The card commands, each run(argc, argv) with argv[0] the command name. */
int tool_cmd_list(int argc, char **argv);
int tool_cmd_init(int argc, char **argv);
int tool_cmd_import(int argc, char **argv);
int tool_cmd_export(int argc, char **argv);
int tool_cmd_generate(int argc, char **argv);
int tool_cmd_delete(int argc, char **argv);
int tool_cmd_pin(int argc, char **argv);
int tool_cmd_req(int argc, char **argv);
int tool_cmd_selfsign(int argc, char **argv);

/* One line "mdp11-tool: <message>" on stderr; returns code. */
int tool_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- PKCS#11 URI (RFC 7512), tool-uri.c ---- */

/* Path attributes mdp11-tool matches a card with (percent-decoded, NUL-terminated). */
struct tool_uri {
	char *token;	    /* token label */
	char *manufacturer; /* token manufacturer */
	char *model;	    /* token model */
	char *serial;	    /* token serial number */
	char *slot_description;
	char *slot_manufacturer;
	char *library_manufacturer;
	char *library_description;
	char *library_version; /* "M" or "M.m" */
	char *object;	       /* object label: selects a container by key label / name */
	char *id;	       /* CKA_ID bytes (may hold any byte: id_len gives the length) */
	size_t id_len;
	char *type;	   /* object class: "private", "public", "cert", ... */
	char *pin_source;  /* query: file holding the PIN */
	bool pin_value;	   /* query pin-value present (refused: use --pin-file) */
	char *module_name; /* query: the module's name ("mdp11") */
	char *module_path; /* query: the module's path (its file name is mdp11.so) */
	long slot_id;	   /* -1 when absent */
	char *unknown;	   /* first attribute we cannot check (standard or x-), or NULL */
};

/*
 * Parse a "pkcs11:" URI: path attributes separated by ';', an optional query after '?'
 * with attributes separated by '&', values percent-decoded. A repeated path attribute, a
 * bad %XX escape, an empty attribute name or a missing '=' is MDP_ERR_FORMAT with a reason.
 * An attribute the tool cannot check (a vendor "x-..." one, a future standard one) is kept in
 * unknown, for the caller to refuse. Free with tool_uri_clear().
 */
enum mdp_err tool_uri_parse(const char *text, struct tool_uri *out);
void tool_uri_clear(struct tool_uri *u);
/* Percent-decode len bytes of s into a fresh NUL-terminated buffer (*out_len without NUL). */
enum mdp_err tool_percent_decode(const char *s, size_t len, char **out, size_t *out_len);

/* ---- JSON output, tool-json.c ---- */

/* Write s as a JSON string literal (quotes included): escapes ", \, controls; invalid UTF-8
 * bytes become U+FFFD so the output is always valid JSON. */
void tool_json_string(FILE *f, const char *s);
/* Same for len bytes (embedded NUL allowed). */
void tool_json_string_n(FILE *f, const char *s, size_t len);

/* ---- command-line options, tool-opts.c ---- */

/* Where a secret comes from; none set: the terminal (without echo). */
struct tool_secret_src {
	const char *file;
	const char *env;
	const char *insecure; /* value given on the command line (--insecure-...) */
};

/* Option groups a command accepts (bits of tool_opts_parse's mask). */
#define TOOL_O_CARD 0x0001u	 /* --reader --card --serial --token */
#define TOOL_O_CONTAINER 0x0002u /* --container --name --label --id */
#define TOOL_O_PIN 0x0004u	 /* --pin-file --pin-env --insecure-pin */
#define TOOL_O_NEW_PIN 0x0008u	 /* --new-pin-file --new-pin-env --insecure-new-pin */
#define TOOL_O_ADMIN 0x0010u	 /* --admin-key-file --admin-key-env --insecure-admin-key */
#define TOOL_O_NEW_ADMIN \
	0x0020u		     /* --new-admin-key-file --new-admin-key-env --insecure-new-admin-key */
#define TOOL_O_JSON 0x0040u  /* --json */
#define TOOL_O_FORCE 0x0080u /* --force */
#define TOOL_O_IMPORT \
	0x0100u /* --in --from --key-spec --cert FILE --p12-pass-* --no-validate --overwrite */
#define TOOL_O_EXPORT 0x0200u	/* --cert (flag) --format --out */
#define TOOL_O_GENERATE 0x0400u /* --type --key-spec --overwrite */
#define TOOL_O_DELETE 0x0800u	/* --cert-only --key-spec */
#define TOOL_O_INIT 0x1000u	/* --card-id */
#define TOOL_O_SIGN 0x2000u	/* req, selfsign: --subject --hash --padding --out --format */
#define TOOL_O_SELFSIGN 0x4000u /* --days --store */

struct tool_key_sel;

struct tool_opts {
	/* card selection */
	const char *reader;
	int card_index; /* -1: none */
	const char *serial;
	const char *token_uri;
	/* container selection (import, generate: the new key's container, label and id) */
	int container; /* -1: none */
	const char *name;
	const char *label;  /* --label: CKA_LABEL */
	const char *id_hex; /* --id: CKA_ID in hex (checked by the parser) */
	/* secrets */
	struct tool_secret_src pin, new_pin, admin_key, new_admin_key;
	/* files and formats */
	const char *in, *out, *cert_file, *format, *from;
	const char *p12_pass_file, *p12_pass_env;
	const char *key_spec; /* name as given; resolved against the key (tool_spec_resolve) */
	const char *type;     /* generate: rsa[:BITS] or ec:CURVE */
	const char *card_id;  /* init: 32 hex digits */
	const char *subject;  /* req, selfsign: "/CN=.../O=..." */
	const char *hash;     /* req, selfsign: sha256, sha384, sha512 */
	const char *padding;  /* req, selfsign: pkcs1 or pss (RSA) */
	int days;	      /* selfsign: validity in days (0: default) */
	bool store;	      /* selfsign: store the certificate with the key */
	bool export_cert;
	bool cert_only;
	bool no_validate;
	bool overwrite;
	bool json, force, verbose, help;
	const char *cmd; /* the command's name (argv[0]) */
	unsigned mask;	 /* the option groups the command accepts */
	/* card selection narrowed to the cards holding a key the selection matches (set by a
	 * command that works on an existing key; see tool-card.h) */
	const struct tool_key_sel *key_filter;
	/* what remains after the options */
	int nargs;
	char **args;
};

/*
 * Parse argv (argv[0] is the command name, e.g. "import") with the options of the groups in
 * mask plus --verbose and --help. Returns TOOL_EXIT_OK, or TOOL_EXIT_USAGE with the reason in
 * err. Checks that numbers are numbers and that at most one source is given per secret and
 * one card selector at a time. Positional arguments are left in o->args.
 */
int tool_opts_parse(int argc, char **argv, unsigned mask, struct tool_opts *o, char *err,
		    size_t errcap);

/*
 * The key spec for a key of this type (EVP_PKEY_RSA / EVP_PKEY_EC) and size / curve bits
 * (256/384/521) from a user's name: the full names of mdp_key_spec_from_name(), or the
 * shorter "exchange", "signature", "ecdsa", "ecdh" / "ecdhe" (curve from bits). name NULL
 * gives the default (RSA: keyexchange, EC: ecdsa). MDP_AT_NONE when the name does not fit
 * the key.
 */
enum mdp_key_spec tool_spec_resolve(const char *name, int key_type, unsigned bits);

/* generate --type: "rsa" (bits 0: the policy's default), "rsa:2048", "ec:p256", "ec:P-384",
 * "ec:secp521r1", "ec:prime256v1". Returns false when not understood. */
bool tool_parse_type(const char *text, int *key_type, unsigned *bits);

/* ---- secrets, tool-secret.c ---- */

/*
 * Read a secret: from src (file: first line without its end; env: the variable's value;
 * insecure: the argument) or else from the terminal with prompt (twice with confirm, which
 * must match). *out is secure memory (free with mdp_secure_free(*out, *len + 1)).
 * MDP_ERR_NOT_FOUND when there is no terminal and no source.
 */
enum mdp_err tool_secret_read(const struct tool_secret_src *src, const char *prompt, bool confirm,
			      char **out, size_t *len);
/*
 * A PIN: as tool_secret_read(), but an empty PIN is MDP_ERR_FORMAT ("the PIN is empty"), so
 * that an empty file or variable is reported as such instead of reaching the card.
 */
enum mdp_err tool_pin_read(const struct tool_secret_src *src, const char *prompt, bool confirm,
			   char **out, size_t *len);
/*
 * An admin key: 48 hex digits (':' ' ' '-' separators allowed) from any source, or a file of
 * exactly 24 raw bytes. key receives 24 bytes.
 */
enum mdp_err tool_admin_key_read(const struct tool_secret_src *src, const char *prompt,
				 bool confirm, uint8_t key[24]);
/* A key of len bytes (1..32) the same way: 2 * len hex digits, or a file of len raw bytes. */
enum mdp_err tool_key_read(const struct tool_secret_src *src, const char *prompt, bool confirm,
			   uint8_t *key, size_t len);
/* Hex digits (separators ':' ' ' '-' allowed) into exactly len bytes. */
bool tool_hex_decode(const char *s, uint8_t *out, size_t len);
/* Hex digits (separators allowed) into 1..cap bytes; false when not hex or too long. */
bool tool_hex_decode_var(const char *s, uint8_t *out, size_t cap, size_t *len);

#endif
