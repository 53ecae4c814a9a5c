/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-tool pin (change, unblock, change-admin-key) and init (personalise or re-initialise). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/secmem.h"
#include "tools/tool-card.h"

#define SELECT_HELP                                                                          \
	"  --reader NAME / --card N / --serial S / --token URI   the card (see 'mdp11-tool " \
	"list')\n"

#define NEW_PIN_HELP                                                                    \
	"  --new-pin-file F / --new-pin-env VAR / --insecure-new-pin P   the new PIN\n" \
	"                    (none: asked twice on the terminal, without echo)\n"

#define ADMIN_HELP                                                                         \
	"  --admin-key-file F / --admin-key-env VAR / --insecure-admin-key HEX\n"          \
	"                    the 24-byte 3DES admin key: 48 hex digits (a file may also\n" \
	"                    hold the 24 raw bytes); none: asked on the terminal\n"

#define TAIL_HELP                                                      \
	"  --verbose         APDU trace on stderr (secrets blanked)\n" \
	"  -h, --help        this text\n"

static int
read_new_pin(const struct tool_opts *o, char **pin, size_t *len)
{
	if (tool_pin_read(&o->new_pin, "new PIN", true, pin, len) != MDP_OK)
		return tool_secret_error("new PIN", "new-pin", &o->new_pin);
	return TOOL_EXIT_OK;
}

/* ---- pin ---- */

static void
pin_help(FILE *f)
{
	fprintf(f,
		"Usage: mdp11-tool pin change [PIN options] [new PIN options] [card selection]\n"
		"       mdp11-tool pin unblock [admin key options] [new PIN options] [card "
		"selection]\n"
		"       mdp11-tool pin change-admin-key [admin key options] [new admin key "
		"options]\n"
		"                                       [card selection]\n"
		"\n"
		"change            change the user PIN (the current PIN is needed)\n"
		"unblock           set a new user PIN and reset its retry counter with the admin "
		"key\n"
		"change-admin-key  replace the 3DES admin key (the current one is needed)\n"
		"\n"
		"  --pin-file F / --pin-env VAR / --insecure-pin P   the current PIN\n" NEW_PIN_HELP
			ADMIN_HELP "  --new-admin-key-file F / --new-admin-key-env VAR / "
		"--insecure-new-admin-key HEX\n"
		"                    the new admin key (none: asked twice on the "
		"terminal)\n" SELECT_HELP TAIL_HELP);
}

static int
pin_change(struct tool_card *card, const struct tool_opts *o)
{
	char *old = NULL, *new = NULL;
	size_t olen = 0, nlen = 0;
	enum ksp_rv rv;
	int rc;

	if (tool_pin_read(&o->pin, "current PIN", false, &old, &olen) != MDP_OK)
		return tool_secret_error("current PIN", "pin", &o->pin);
	rc = read_new_pin(o, &new, &nlen);
	if (rc == TOOL_EXIT_OK) {
		mdp_err_clear();
		rv = ksp_change_pin(card->kc, (const uint8_t *)old, olen, (const uint8_t *)new,
				    nlen);
		if (rv != KSP_OK)
			rc = tool_auth_error(card, rv, "PIN change", false);
		else
			printf("PIN changed\n");
	}
	if (new)
		mdp_secure_free(new, nlen + 1);
	mdp_secure_free(old, olen + 1);
	return rc;
}

static int
pin_unblock(struct tool_card *card, const struct tool_opts *o)
{
	uint8_t key[24];
	char *new = NULL;
	size_t nlen = 0;
	enum ksp_rv rv;
	int rc;

	if (tool_admin_key_read(&o->admin_key, "admin key", false, key) != MDP_OK) {
		mdp_wipe(key, sizeof(key));
		return tool_secret_error("admin key", "admin-key", &o->admin_key);
	}
	rc = read_new_pin(o, &new, &nlen);
	if (rc == TOOL_EXIT_OK) {
		mdp_err_clear();
		rv = ksp_unblock_pin(card->kc, key, sizeof(key), (const uint8_t *)new, nlen);
		if (rv == KSP_E_PIN_INCORRECT)
			rc = tool_auth_error(card, rv, "unblock", true);
		else if (rv != KSP_OK)
			rc = tool_auth_error(card, rv, "unblock", false);
		else
			printf("PIN set and unblocked\n");
		mdp_secure_free(new, nlen + 1);
	}
	mdp_wipe(key, sizeof(key));
	return rc;
}

static int
pin_change_admin(struct tool_card *card, const struct tool_opts *o)
{
	uint8_t old[24], new[24];
	enum ksp_rv rv;
	int rc = TOOL_EXIT_OK;

	if (tool_admin_key_read(&o->admin_key, "current admin key", false, old) != MDP_OK) {
		rc = tool_secret_error("current admin key", "admin-key", &o->admin_key);
		goto out;
	}
	if (tool_admin_key_read(&o->new_admin_key, "new admin key", true, new) != MDP_OK) {
		rc = tool_secret_error("new admin key", "new-admin-key", &o->new_admin_key);
		goto out;
	}
	mdp_err_clear();
	rv = ksp_change_admin_key(card->kc, old, sizeof(old), new, sizeof(new));
	if (rv != KSP_OK)
		rc = tool_auth_error(card, rv, "admin key change", true);
	else
		printf("Admin key changed\n");
out:
	mdp_wipe(old, sizeof(old));
	mdp_wipe(new, sizeof(new));
	return rc;
}

int
tool_cmd_pin(int argc, char **argv)
{
	static const struct {
		const char *name;
		unsigned mask;
		int (*run)(struct tool_card *, const struct tool_opts *);
	} subs[] = {
		{"change", TOOL_O_PIN | TOOL_O_NEW_PIN, pin_change},
		{"unblock", TOOL_O_ADMIN | TOOL_O_NEW_PIN, pin_unblock},
		{"change-admin-key", TOOL_O_ADMIN | TOOL_O_NEW_ADMIN, pin_change_admin},
	};
	struct tool_opts o;
	struct tool_ctx ctx;
	struct tool_card card;
	char err[256], cmd[48];
	size_t i;
	int rc;

	if (argc < 2)
		return tool_error(TOOL_EXIT_USAGE,
				  "a pin command is required: change, unblock or "
				  "change-admin-key (see 'mdp11-tool pin --help')");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		pin_help(stdout);
		return TOOL_EXIT_OK;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			break;
	if (i == sizeof(subs) / sizeof(subs[0]))
		return tool_error(TOOL_EXIT_USAGE,
				  "unknown pin command '%s' (change, unblock, "
				  "change-admin-key)",
				  argv[1]);
	snprintf(cmd, sizeof(cmd), "pin %s", subs[i].name);
	rc = tool_opts_parse(argc - 1, argv + 1, TOOL_O_CARD | subs[i].mask, &o, err, sizeof(err));
	if (rc != TOOL_EXIT_OK)
		return tool_error(rc, "%s (see 'mdp11-tool pin --help')", err);
	if (o.help) {
		pin_help(stdout);
		return TOOL_EXIT_OK;
	}
	if (o.nargs)
		return tool_error(TOOL_EXIT_USAGE, "unexpected argument '%s'", o.args[0]);
	memset(&card, 0, sizeof(card));
	rc = tool_ctx_init(&ctx, o.verbose, true);
	if (rc == TOOL_EXIT_OK)
		rc = tool_card_select(&ctx, &o, false, &card);
	if (rc == TOOL_EXIT_OK)
		rc = subs[i].run(&card, &o);
	tool_card_close(&card);
	tool_ctx_clear(&ctx);
	return rc;
}

/* ---- init ---- */

static void
init_help(FILE *f)
{
	fprintf(f,
		"Usage: mdp11-tool init [admin key options] [new PIN options] [--card-id HEX]\n"
		"                       [--force] [card selection]\n"
		"\n"
		"A blank GIDS card (creation state) is personalised as gids-tool --initialize\n"
		"does: user PIN, 3DES admin key, cardid (--card-id, else random), the minidriver\n"
		"files; the card is then operational.\n"
		"\n"
		"An initialised card is re-initialised: after the admin key is checked, every\n"
		"key, certificate and mdp11 data object is deleted and the container map\n"
		"emptied; the user PIN is replaced when a new PIN is given. This asks for\n"
		"confirmation on the terminal unless --force is given.\n"
		"\n" ADMIN_HELP
		"                    (blank card: the key to install, asked twice)\n" NEW_PIN_HELP
		"                    (blank card: required; initialised card: optional)\n"
		"  --card-id HEX     cardid of a blank card: 32 hex digits (default: random)\n"
		"  --force           re-initialise without asking\n" SELECT_HELP TAIL_HELP);
}

static int
init_blank(struct tool_card *card, const struct tool_opts *o)
{
	uint8_t key[24], cardid[16];
	char *pin = NULL;
	size_t plen = 0;
	enum mdp_err e;
	int rc = TOOL_EXIT_OK;

	if (o->card_id) {
		if (!tool_hex_decode(o->card_id, cardid, sizeof(cardid)))
			return tool_error(TOOL_EXIT_USAGE, "--card-id wants 32 hex digits");
	} else if (RAND_bytes(cardid, sizeof(cardid)) != 1) {
		return tool_error(TOOL_EXIT_FAIL, "no random numbers for the cardid");
	}
	if (tool_admin_key_read(&o->admin_key, "admin key to install", true, key) != MDP_OK) {
		mdp_wipe(key, sizeof(key));
		return tool_secret_error("admin key", "admin-key", &o->admin_key);
	}
	if (tool_pin_read(&o->new_pin, "new PIN", true, &pin, &plen) != MDP_OK) {
		rc = tool_secret_error("new PIN", "new-pin", &o->new_pin);
		goto out;
	}
	if (plen < 4 || plen > 16) {
		rc = tool_error(TOOL_EXIT_USAGE, "a GIDS PIN has 4 to 16 characters");
		goto out;
	}
	e = gids_initialize(card->t, (const uint8_t *)pin, plen, key, cardid);
	if (e != MDP_OK) {
		rc = tool_error(TOOL_EXIT_FAIL, "init: %s", mdp_err_last());
		goto out;
	}
	printf("Card initialised (cardid ");
	for (size_t i = 0; i < sizeof(cardid); i++)
		printf("%02x", cardid[i]);
	printf(")\n");
out:
	if (pin)
		mdp_secure_free(pin, plen + 1);
	mdp_wipe(key, sizeof(key));
	return rc;
}

/* Ask "yes" on the terminal. */
static bool
confirm(const struct tool_card *card)
{
	char line[16];
	FILE *tty = fopen("/dev/tty", "r+");
	bool yes = false;

	if (tty == NULL)
		return false;
	fprintf(tty,
		"Erase every key, certificate and data object on \"%s\" (serial %s)?\n"
		"Type 'yes' to go on: ",
		card->label, card->info.serial);
	fflush(tty);
	if (fgets(line, sizeof(line), tty))
		yes = strcmp(line, "yes\n") == 0 || strcmp(line, "yes") == 0;
	fclose(tty);
	return yes;
}

static int
init_reinit(struct tool_card *card, const struct tool_opts *o)
{
	uint8_t key[24];
	char *pin = NULL;
	size_t plen = 0;
	bool new_pin = o->new_pin.file || o->new_pin.env || o->new_pin.insecure;
	enum ksp_rv rv;
	int rc = TOOL_EXIT_OK;

	if (o->card_id)
		return tool_error(TOOL_EXIT_USAGE, "--card-id is for blank cards: the cardid of an "
						   "initialised card is not rewritten");
	if (!o->force) {
		if (!isatty(STDIN_FILENO) && access("/dev/tty", R_OK | W_OK) != 0)
			return tool_error(TOOL_EXIT_USAGE, "re-initialising erases the card: "
							   "confirm on a terminal or give --force");
		if (!confirm(card))
			return tool_error(TOOL_EXIT_USAGE, "not confirmed: nothing changed");
	}
	if (tool_admin_key_read(&o->admin_key, "admin key", false, key) != MDP_OK) {
		mdp_wipe(key, sizeof(key));
		return tool_secret_error("admin key", "admin-key", &o->admin_key);
	}
	if (new_pin && tool_pin_read(&o->new_pin, "new PIN", true, &pin, &plen) != MDP_OK) {
		rc = tool_secret_error("new PIN", "new-pin", &o->new_pin);
		goto out;
	}
	mdp_err_clear();
	rv = ksp_reinit(card->kc, key, sizeof(key), (const uint8_t *)pin, plen);
	if (rv != KSP_OK) {
		rc = tool_auth_error(card, rv, "re-initialisation", rv == KSP_E_PIN_INCORRECT);
		goto out;
	}
	printf("Card re-initialised%s\n", pin ? " with a new PIN" : " (PIN unchanged)");
out:
	if (pin)
		mdp_secure_free(pin, plen + 1);
	mdp_wipe(key, sizeof(key));
	return rc;
}

int
tool_cmd_init(int argc, char **argv)
{
	struct tool_opts o;
	struct tool_ctx ctx;
	struct tool_card card;
	int rc;

	if (!tool_cmd_opts(argc, argv,
			   TOOL_O_CARD | TOOL_O_ADMIN | TOOL_O_NEW_PIN | TOOL_O_FORCE | TOOL_O_INIT,
			   "init", init_help, &o, &rc))
		return rc;
	memset(&card, 0, sizeof(card));
	rc = tool_ctx_init(&ctx, o.verbose, true);
	if (rc == TOOL_EXIT_OK)
		rc = tool_card_select(&ctx, &o, true, &card);
	if (rc == TOOL_EXIT_OK)
		rc = card.state == TOOL_CARD_BLANK ? init_blank(&card, &o) : init_reinit(&card, &o);
	tool_card_close(&card);
	tool_ctx_clear(&ctx);
	return rc;
}
