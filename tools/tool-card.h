/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-tool's card access: configuration, readers and virtual cards, selection, opening, errors.
 */
#ifndef MDP11_TOOLS_TOOL_CARD_H
#define MDP11_TOOLS_TOOL_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>

#include "common/conf.h"
#include "minidriver/card.h"
#include "minidriver/gids-init.h"
#include "ksp/ksp.h"
#include "tools/tool.h"
#include "transport/transport.h"

/* One place a card can be: a PC/SC reader or a virtual card state file. */
struct tool_slot {
	bool is_vcard;
	char *name;	  /* reader name, or the virtual card's label */
	char *path;	  /* virtual card state file */
	const char *seal; /* its [vcard] seal setting (points into the configuration), or NULL */
};

enum tool_cache_mode { TOOL_CACHE_NONE, TOOL_CACHE_MEMORY, TOOL_CACHE_PERSISTENT };

struct tool_ctx {
	struct mdp_config *cfg;
	char *conf_path;
	struct ksp_policy policy;
	enum tool_cache_mode cache_mode;
	const char *cache_dir;	 /* points into cfg */
	const char *token_label; /* [token] label, or NULL */
	struct md_registry *reg;
	struct tool_slot *slots;
	size_t nslots;
	char pcsc_problem[160]; /* why PC/SC readers are missing from the list, or "" */
};

/* A slot's card, opened through the layers the PKCS#11 module uses. */
enum tool_card_state {
	TOOL_CARD_ABSENT = 0, /* empty reader or missing state file */
	TOOL_CARD_BLANK,      /* GIDS card waiting for `mdp11-tool init` */
	TOOL_CARD_UNKNOWN,    /* no card module takes it */
	TOOL_CARD_ERROR,      /* it failed to open: reason in error */
	TOOL_CARD_READY,      /* kc and info valid */
};

struct tool_card {
	struct tool_slot *slot;
	size_t slot_index;
	enum tool_card_state state;
	char error[256];
	enum ksp_rv error_rv;
	struct mdp_transport *t;
	struct ksp_card *kc;
	struct ksp_token_info info;
	char label[33]; /* the PKCS#11 token label the module shows */
};

/*
 * Read the configuration (MDP11_CONF, else the installed mdp11.conf; a missing installed file
 * means defaults) with the module's option names, build the policy and the registry, and list
 * the slots: [vcard "label"] sections, then MDP11_VCARD=PATH[:PATH], then the PC/SC readers
 * ([readers] pcsc, include, exclude). verbose turns on the APDU trace on stderr.
 * Returns a tool exit code (message printed).
 */
int tool_ctx_init(struct tool_ctx *ctx, bool verbose, bool want_pcsc);
void tool_ctx_clear(struct tool_ctx *ctx);

/* How to get a card when there is none: start pcscd, MDP11_VCARD, a [vcard] section. */
const char *tool_no_card_hint(const struct tool_ctx *ctx);

/* Open the card of slot i (state tells how far it got; TOOL_CARD_READY: usable). */
void tool_card_open_slot(struct tool_ctx *ctx, size_t i, struct tool_card *card);
/* Log out, free the host role and the transport. */
void tool_card_close(struct tool_card *card);

/*
 * The one card the options choose (--reader, --card, --serial, --token, or the only card
 * present). With allow_blank a blank GIDS card is returned too (state BLANK, no kc). Prints
 * the reason and returns an exit code when it cannot.
 */
int tool_card_select(struct tool_ctx *ctx, const struct tool_opts *o, bool allow_blank,
		     struct tool_card *card);

/* Help text shared by the card commands. */
#define TOOL_HELP_CARD                                                                        \
	"  --reader NAME     the card in this reader, or this virtual card (label or path)\n" \
	"  --card N          card N of 'mdp11-tool list'\n"                                   \
	"  --serial S        the card with this serial (16 hex digits) or cardid (32)\n"      \
	"  --token URI       the card (and key) matching a PKCS#11 URI, e.g.\n"               \
	"                    'pkcs11:token=My%%20card;object=mail;type=private'\n"
#define TOOL_HELP_KEY                                                                         \
	"  --container N     the key in container N\n"                                        \
	"  --name NAME       the key in the container named NAME\n"                           \
	"  --label TEXT      the key whose label (CKA_LABEL, or its certificate's) is TEXT\n" \
	"  --id HEX          the key whose CKA_ID is HEX (e.g. 01)\n"                         \
	"  --key-spec SPEC   which key of a container holding two\n"                          \
	"                    (what is given must all match, with --token's object=, id=,\n"   \
	"                    type=; 'mdp11-tool list --json' shows labels and ids)\n"
#define TOOL_HELP_PIN                                                                        \
	"  --pin-file F      read the user PIN from the first line of F\n"                   \
	"  --pin-env VAR     read the user PIN from the environment variable VAR\n"          \
	"  --insecure-pin P  the PIN on the command line (visible to other users: unsafe)\n" \
	"                    (none of these: the PIN is asked on the terminal, without echo)\n"
#define TOOL_HELP_SIGN                                                                        \
	"  --subject NAME    e.g. /CN=Alice/O=Example (a '\\' escapes the next character)\n"  \
	"  --hash HASH       sha256, sha384, sha512 (default: sha256; for EC keys the size\n" \
	"                    that fits the curve)\n"                                          \
	"  --padding PADDING RSA: pkcs1 (PKCS#1 v1.5, the default) or pss (RSASSA-PSS)\n"     \
	"  --format pem|der  output encoding (default: pem)\n"                                \
	"  --out FILE        output file (replaced atomically); default: standard output\n"
#define TOOL_HELP_COMMON                                               \
	"  --verbose         APDU trace on stderr (secrets blanked)\n" \
	"  -h, --help        this text\n"

/* ---- which card a URI names, which key the options select (tool-select.c) ---- */

/*
 * Parse --token for choosing a card and refuse what cannot be honoured: pin-value, pin-source,
 * slot-id, an attribute the tool cannot check (x-..., an unknown one), a bad library-version,
 * and object=/id=/type= for a command that takes no key (o->mask without TOOL_O_CONTAINER).
 * Prints the reason; returns an exit code (uri filled on success, tool_uri_clear() it).
 */
int tool_uri_card_prepare(const struct tool_opts *o, struct tool_uri *uri);
/* Does the card match every token, slot, library and module attribute of the URI? */
bool tool_uri_card_matches(const struct tool_uri *u, const struct tool_card *c);

/* An object class of a URI's type= that selects a key pair or its certificate. */
enum tool_obj_type { TOOL_OBJ_ANY = 0, TOOL_OBJ_PRIVATE, TOOL_OBJ_PUBLIC, TOOL_OBJ_CERT };

/*
 * What selects a key: --container, --name, --label (the key's or its certificate's CKA_LABEL),
 * --id (CKA_ID), --key-spec, and the object=, id= and type= of a --token URI; all must match.
 * import --cert adds the certificate's public key.
 */
struct tool_key_sel {
	int container; /* -1: any */
	const char *name;
	const char *label; /* --label or object= */
	char *label_owned;
	uint8_t id[255];
	size_t id_len; /* 0: any */
	enum tool_obj_type type;
	const char *key_spec;
	EVP_PKEY *pub;	/* not owned */
	char what[320]; /* the selection in words, for messages */
};

/* Build the selection from the options (a contradiction, e.g. --label A with object=B, or a
 * type= that names no key is a usage error, printed). Free with tool_key_sel_clear(). */
int tool_key_sel_init(const struct tool_opts *o, struct tool_key_sel *sel);
void tool_key_sel_clear(struct tool_key_sel *sel);
bool tool_key_sel_empty(const struct tool_key_sel *sel);
/* The one key the selection matches on the card: exit 8 for none, 2 for several (printed). */
int tool_key_find(struct tool_card *card, const struct tool_key_sel *sel,
		  const struct ksp_container **c, enum ksp_slot *slot);
/* Does the card hold a key the selection matches? (quiet; for choosing among cards) */
bool tool_key_sel_any(struct tool_card *card, const struct tool_key_sel *sel);

/* The tool exit code for a card-layer outcome. */
int tool_exit_for(enum ksp_rv rv);
/* Print "mdp11-tool: what: reason" for rv (with a hint for policy refusals); returns the code. */
int tool_card_error(enum ksp_rv rv, const char *what);
/*
 * The same for a PIN or admin-key operation (admin: the secret was the admin key): a wrong
 * PIN with the tries left, a PIN the card refused; anything else as tool_card_error().
 */
int tool_auth_error(struct tool_card *card, enum ksp_rv rv, const char *what, bool admin);
/*
 * A secret that could not be read (reason in mdp_err_last()): one line, exit 2; when src named
 * no source it says which options give it (opt: "pin" for --pin-file / --pin-env, ...).
 */
int tool_secret_error(const char *what, const char *opt, const struct tool_secret_src *src);

/*
 * PIN facts: the host role's, completed for GIDS cards with the card's PIN status DO when
 * the host role does not know the retry counter (no authentication seen yet).
 */
enum ksp_rv tool_pin_facts(struct tool_card *card, struct ksp_pin_info *out);

/* Log the user in with the PIN from o (terminal prompt when no source); returns an exit code. */
int tool_login_user(struct tool_card *card, const struct tool_opts *o);

/*
 * The start of a command on an existing key: the configuration, the card (among several, the
 * one holding a key sel matches) and the one key sel matches (o->key_filter is set to sel).
 * Prints and returns an exit code.
 */
int tool_open_key(struct tool_ctx *ctx, struct tool_opts *o, const struct tool_key_sel *sel,
		  struct tool_card *card, const struct ksp_container **c, enum ksp_slot *slot);

/*
 * Read a file ('-': standard input; at most 1 MiB) into secure memory of TOOL_INPUT_ALLOC
 * bytes (free with mdp_secure_free(p, TOOL_INPUT_ALLOC)); returns a tool exit code (message
 * printed).
 */
#define TOOL_INPUT_ALLOC (1024 * 1024 + 1)
int tool_read_input(const char *path, uint8_t **out, size_t *len);
/*
 * Write a file ('-': standard output): a regular file is replaced atomically (a temporary file
 * in its directory, fsync, rename; mode 0600 for private data, else 0644 minus the umask; a
 * symbolic link stays and its target is replaced); a device or FIFO (/dev/null) is written in
 * place. On failure an existing file is left as it was. Returns a tool exit code (message
 * printed).
 */
int tool_write_output(const char *path, const uint8_t *data, size_t len, bool private_data);

/* "2027-01-31T12:00:00Z" of an ASN1_TIME (cap >= 21); "?" when it cannot be read. */
void tool_asn1_time(const ASN1_TIME *t, char *buf, size_t cap);

/*
 * The start every card command shares: parse the options allowed by mask, print the help
 * (help(stdout)) for --help, refuse stray arguments. Returns true when the command should go
 * on; otherwise *rc is the exit code to return (usage errors already reported).
 */
bool tool_cmd_opts(int argc, char **argv, unsigned mask, const char *name, void (*help)(FILE *),
		   struct tool_opts *o, int *rc);

#endif
