/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-tool's card access: configuration, slots, card selection and opening, error reporting. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>

#define MDP_LOG_AREA MDP_AREA_TOOL
#include "common/log.h"
#include "common/secmem.h"
#include "tools/tool-card.h"
#include "vcard/vcard.h"

#define TOOL_MAX_FILE (TOOL_INPUT_ALLOC - 1)

int
tool_error(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("mdp11-tool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int
config_error(void)
{
	return tool_error(TOOL_EXIT_USAGE, "configuration: %s", mdp_err_last());
}

static bool
add_slot(struct tool_ctx *ctx, bool is_vcard, const char *name, const char *path)
{
	struct tool_slot *s = realloc(ctx->slots, (ctx->nslots + 1) * sizeof(*s));

	if (s == NULL)
		return false;
	ctx->slots = s;
	s = &ctx->slots[ctx->nslots];
	s->is_vcard = is_vcard;
	s->seal = NULL;
	s->name = strdup(name);
	s->path = path ? strdup(path) : NULL;
	if (s->name == NULL || (path && s->path == NULL)) {
		free(s->name);
		free(s->path);
		return false;
	}
	ctx->nslots++;
	return true;
}

static bool
reader_wanted(const struct mdp_config *cfg, const char *reader)
{
	bool any_include = false, included = false;
	size_t i;

	for (i = 0; i < cfg->count; i++) {
		const struct mdp_config_entry *e = &cfg->entries[i];

		if (strcmp(e->section, "readers") != 0)
			continue;
		if (strcmp(e->key, "include") == 0) {
			any_include = true;
			if (fnmatch(e->value, reader, 0) == 0)
				included = true;
		}
	}
	if (any_include && !included)
		return false;
	for (i = 0; i < cfg->count; i++) {
		const struct mdp_config_entry *e = &cfg->entries[i];

		if (strcmp(e->section, "readers") == 0 && strcmp(e->key, "exclude") == 0 &&
		    fnmatch(e->value, reader, 0) == 0)
			return false;
	}
	return true;
}

static int
read_policy(struct tool_ctx *ctx)
{
	const struct mdp_config *cfg = ctx->cfg;
	const char *mode;
	long v;

	ksp_policy_default(&ctx->policy);
	if (mdp_config_get_long(cfg, "policy", NULL, "rsa_min_bits", 512, 16384, 1024, &v))
		return config_error();
	ctx->policy.rsa_min_bits = (unsigned)v;
	if (mdp_config_get_long(cfg, "policy", NULL, "rsa_max_bits", 512, 16384, 4096, &v))
		return config_error();
	ctx->policy.rsa_max_bits = (unsigned)v;
	if (mdp_config_get_long(cfg, "policy", NULL, "rsa_default_bits", 512, 16384, 2048, &v))
		return config_error();
	ctx->policy.rsa_default_bits = (unsigned)v;
	if (ctx->policy.rsa_min_bits > ctx->policy.rsa_max_bits ||
	    ctx->policy.rsa_default_bits < ctx->policy.rsa_min_bits ||
	    ctx->policy.rsa_default_bits > ctx->policy.rsa_max_bits)
		return tool_error(TOOL_EXIT_USAGE,
				  "configuration: %s: [policy] needs rsa_min_bits "
				  "<= rsa_default_bits <= rsa_max_bits",
				  cfg->origin);
	if (mdp_config_get_bool(cfg, "policy", NULL, "allow_private_exchange_key_import", true,
				&ctx->policy.allow_exchange_import) ||
	    mdp_config_get_bool(cfg, "policy", NULL, "allow_private_signature_key_import", true,
				&ctx->policy.allow_signature_import) ||
	    mdp_config_get_bool(cfg, "policy", NULL, "allow_private_ecdsa_key_import", true,
				&ctx->policy.allow_ecdsa_import) ||
	    mdp_config_get_bool(cfg, "policy", NULL, "allow_private_ecdhe_key_import", true,
				&ctx->policy.allow_ecdhe_import))
		return config_error();
	mode = mdp_config_get(cfg, "cache", NULL, "mode");
	ctx->cache_dir = mdp_config_get(cfg, "cache", NULL, "dir");
	if (mode == NULL || strcmp(mode, "memory") == 0) {
		ctx->cache_mode = TOOL_CACHE_MEMORY;
	} else if (strcmp(mode, "none") == 0) {
		ctx->cache_mode = TOOL_CACHE_NONE;
	} else if (strcmp(mode, "persistent") == 0) {
		ctx->cache_mode = TOOL_CACHE_PERSISTENT;
		if (ctx->cache_dir == NULL || *ctx->cache_dir == '\0')
			return tool_error(TOOL_EXIT_USAGE,
					  "configuration: %s: [cache] mode = "
					  "persistent needs dir",
					  cfg->origin);
		ctx->policy.cache_dir = ctx->cache_dir;
	} else {
		return tool_error(TOOL_EXIT_USAGE,
				  "configuration: %s:%d: mode: expected none, "
				  "memory or persistent",
				  cfg->origin, mdp_config_find(cfg, "cache", NULL, "mode")->line);
	}
	ctx->token_label = mdp_config_get(cfg, "token", NULL, "label");
	if (ctx->token_label && *ctx->token_label == '\0')
		ctx->token_label = NULL;
	return TOOL_EXIT_OK;
}

static int
list_slots(struct tool_ctx *ctx, bool want_pcsc)
{
	const struct mdp_config *cfg = ctx->cfg;
	const char *env = getenv("MDP11_VCARD");
	char *copy = NULL, *tok, *save = NULL;
	char **readers = NULL;
	size_t i, n = 0;
	enum mdp_err err;
	bool pcsc = true;

	for (i = 0; i < cfg->count; i++) {
		const struct mdp_config_entry *e = &cfg->entries[i];

		if (strcmp(e->section, "vcard") != 0 || strcmp(e->key, "path") != 0)
			continue;
		if (e->name == NULL)
			return tool_error(TOOL_EXIT_USAGE,
					  "configuration: %s:%d: a virtual card "
					  "section needs a label: [vcard \"name\"]",
					  cfg->origin, e->line);
		if (!add_slot(ctx, true, e->name, e->value))
			return tool_error(TOOL_EXIT_FAIL, "out of memory");
		ctx->slots[ctx->nslots - 1].seal = mdp_config_get(cfg, "vcard", e->name, "seal");
	}
	if (env && *env) {
		copy = strdup(env);
		if (copy == NULL)
			return tool_error(TOOL_EXIT_FAIL, "out of memory");
		for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
			const char *base = strrchr(tok, '/');

			base = base ? base + 1 : tok;
			if (!add_slot(ctx, true, *base ? base : tok, tok)) {
				free(copy);
				return tool_error(TOOL_EXIT_FAIL, "out of memory");
			}
		}
		free(copy);
	}
	if (mdp_config_get_bool(cfg, "readers", NULL, "pcsc", true, &pcsc))
		return config_error();
	if (!pcsc) {
		snprintf(ctx->pcsc_problem, sizeof(ctx->pcsc_problem),
			 "PC/SC readers are turned off ([readers] pcsc = no)");
		return TOOL_EXIT_OK;
	}
	if (!want_pcsc)
		return TOOL_EXIT_OK;
	err = mdp_pcsc_list_readers(&readers, &n);
	if (err != MDP_OK) {
		snprintf(ctx->pcsc_problem, sizeof(ctx->pcsc_problem), "PC/SC: %s", mdp_err_last());
		log_debug("no PC/SC readers: %s", mdp_err_last());
		return TOOL_EXIT_OK;
	}
	for (i = 0; i < n; i++) {
		if (!reader_wanted(cfg, readers[i]))
			continue;
		if (!add_slot(ctx, false, readers[i], NULL)) {
			mdp_pcsc_free_readers(readers, n);
			return tool_error(TOOL_EXIT_FAIL, "out of memory");
		}
	}
	mdp_pcsc_free_readers(readers, n);
	return TOOL_EXIT_OK;
}

int
tool_ctx_init(struct tool_ctx *ctx, bool verbose, bool want_pcsc)
{
	const char *env = getenv("MDP11_CONF");
	const char *path = env && *env ? env : MDP11_SYSCONFDIR "/mdp11/mdp11.conf";
	const char *dbg_file;
	enum mdp_err err;
	enum md_rv mrv;
	long level = 0;
	char spec[16];
	int rc;

	memset(ctx, 0, sizeof(*ctx));
	err = mdp_config_load(path, &ctx->cfg);
	if (err == MDP_ERR_NOT_FOUND && !(env && *env))
		err = mdp_config_parse("", 0, path, &ctx->cfg);
	if (err != MDP_OK)
		return config_error();
	if (mdp_config_check_keys(ctx->cfg, mdp_config_module_keys))
		return config_error();
	if (mdp_config_get_long(ctx->cfg, "global", NULL, "debug", 0, 5, 0, &level))
		return config_error();
	if (level > 0) {
		dbg_file = mdp_config_get(ctx->cfg, "global", NULL, "debug_file");
		snprintf(spec, sizeof(spec), "%ld", level);
		mdp_log_configure(spec, dbg_file);
	}
	mdp_log_init_env(); /* MDP11_DEBUG wins over the file */
	if (verbose)
		mdp_log_configure("debug:transport,tool", NULL);
	rc = read_policy(ctx);
	if (rc != TOOL_EXIT_OK)
		return rc;
	mrv = md_registry_new(ctx->cfg, &ctx->reg);
	if (mrv != MD_OK)
		return tool_error(TOOL_EXIT_USAGE, "configuration: card modules: %s",
				  mdp_err_last());
	return list_slots(ctx, want_pcsc);
}

void
tool_ctx_clear(struct tool_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nslots; i++) {
		free(ctx->slots[i].name);
		free(ctx->slots[i].path);
	}
	free(ctx->slots);
	md_registry_free(ctx->reg);
	mdp_config_free(ctx->cfg);
	memset(ctx, 0, sizeof(*ctx));
}

static void card_fail(struct tool_card *card, enum tool_card_state st, enum ksp_rv rv,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
card_fail(struct tool_card *card, enum tool_card_state st, enum ksp_rv rv, const char *fmt, ...)
{
	va_list ap;

	card->state = st;
	card->error_rv = rv;
	va_start(ap, fmt);
	vsnprintf(card->error, sizeof(card->error), fmt, ap);
	va_end(ap);
}

/* Is it a blank GIDS card? (after the card layers failed to open it) */
static bool
probe_blank(struct tool_card *card)
{
	enum gids_state gs = GIDS_STATE_NOT_GIDS;

	if (gids_probe(card->t, &gs) != MDP_OK)
		return false;
	return gs == GIDS_STATE_BLANK;
}

static void
make_label(struct tool_ctx *ctx, struct tool_card *card)
{
	char label[96];
	size_t n;

	if (ctx->token_label)
		snprintf(label, sizeof(label), "%s", ctx->token_label);
	else if (card->slot->is_vcard)
		snprintf(label, sizeof(label), "%s", card->slot->name);
	else
		snprintf(label, sizeof(label), "%s %.8s", card->info.card_name, card->info.serial);
	/* As CK_TOKEN_INFO carries it: 32 bytes, trailing blanks dropped. */
	n = strlen(label);
	if (n > 32)
		n = 32;
	while (n > 0 && label[n - 1] == ' ')
		n--;
	memcpy(card->label, label, n);
	card->label[n] = '\0';
}

/* A virtual card from before the seal: say so (docs/vcard.md, "Format 1"). */
static void
warn_unsealed(const struct tool_slot *s, struct mdp_transport *t)
{
	struct vcard *vc = mdp_transport_embedded_vcard(t);
	struct vcard_info info;

	if (vc && vcard_get_info(vc, &info) == MDP_OK && !info.sealed)
		fprintf(stderr,
			"mdp11-tool: warning: the virtual card %s is not sealed (format 1): "
			"whoever "
			"copies the file gets every key on it; convert it with 'mdp11-vcard reseal "
			"%s'\n",
			s->path, s->path);
}

void
tool_card_open_slot(struct tool_ctx *ctx, size_t i, struct tool_card *card)
{
	struct tool_slot *s = &ctx->slots[i];
	struct md_card *md = NULL;
	struct stat st;
	enum mdp_err err;
	enum ksp_rv rv;

	memset(card, 0, sizeof(*card));
	card->slot = s;
	card->slot_index = i;
	if (s->is_vcard) {
		if (stat(s->path, &st) != 0) {
			card_fail(card, TOOL_CARD_ABSENT, KSP_E_NO_CARD, "%s: %s", s->path,
				  strerror(errno));
			return;
		}
		err = mdp_transport_embedded_open(s->path, s->seal, &card->t);
	} else {
		err = mdp_transport_pcsc_new(s->name, &card->t);
	}
	if (err == MDP_ERR_NO_CARD) {
		card_fail(card, TOOL_CARD_ABSENT, KSP_E_NO_CARD, "no card in the reader");
		return;
	}
	if (err != MDP_OK) {
		card_fail(card, TOOL_CARD_ERROR, ksp_rv_from_md(md_rv_from_err(err)), "%s",
			  mdp_err_last());
		return;
	}
	if (s->is_vcard)
		warn_unsealed(s, card->t);
	rv = ksp_rv_from_md(
		md_card_acquire(ctx->reg, card->t, MD_CARD_DATA_CURRENT_VERSION, 0, &md));
	if (rv == KSP_OK) {
		rv = ksp_card_open(md, &ctx->policy, &card->kc); /* takes md */
		if (rv == KSP_OK)
			rv = ksp_token_info(card->kc, &card->info);
		if (rv == KSP_OK) {
			card->state = TOOL_CARD_READY;
			make_label(ctx, card);
			return;
		}
	}
	/* Keep the layers' reason before probing (the probe may overwrite it). */
	card_fail(card, rv == KSP_E_UNKNOWN_CARD ? TOOL_CARD_UNKNOWN : TOOL_CARD_ERROR, rv,
		  "%s (%s)", mdp_err_has_reason() ? mdp_err_last() : ksp_rv_text(rv),
		  ksp_rv_name(rv));
	ksp_card_free(card->kc);
	card->kc = NULL;
	if (rv == KSP_E_NO_CARD || rv == KSP_E_CARD_REMOVED) {
		card->state = TOOL_CARD_ABSENT;
		return;
	}
	if (probe_blank(card))
		card_fail(card, TOOL_CARD_BLANK, rv,
			  "blank GIDS card: personalise it with "
			  "'mdp11-tool init'");
}

void
tool_card_close(struct tool_card *card)
{
	if (card->kc) {
		ksp_logout(card->kc);
		ksp_card_free(card->kc);
	}
	mdp_transport_free(card->t);
	memset(card, 0, sizeof(*card));
}

static bool
serial_matches(const char *want, const struct tool_card *c)
{
	char hex[33];
	size_t i;

	if (strcasecmp(want, c->info.serial) == 0)
		return true;
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", c->info.cardid[i]);
	return strcasecmp(want, hex) == 0;
}

static int
open_state_error(const struct tool_card *c, bool allow_blank)
{
	switch (c->state) {
	case TOOL_CARD_READY:
		return TOOL_EXIT_OK;
	case TOOL_CARD_BLANK:
		if (allow_blank)
			return TOOL_EXIT_OK;
		return tool_error(TOOL_EXIT_NO_CARD, "%s: %s", c->slot->name, c->error);
	case TOOL_CARD_ABSENT:
		return tool_error(TOOL_EXIT_NO_CARD, "%s: %s", c->slot->name, c->error);
	case TOOL_CARD_UNKNOWN:
		return tool_error(TOOL_EXIT_NO_CARD, "%s: no card module recognises this card: %s",
				  c->slot->name, c->error);
	case TOOL_CARD_ERROR:
	default:
		return tool_error(tool_exit_for(c->error_rv) == TOOL_EXIT_OK
					  ? TOOL_EXIT_FAIL
					  : tool_exit_for(c->error_rv),
				  "%s: %s", c->slot->name, c->error);
	}
}

const char *
tool_no_card_hint(const struct tool_ctx *ctx)
{
	if (ctx->nslots == 0 && ctx->pcsc_problem[0] && !strstr(ctx->pcsc_problem, "turned off"))
		return "start pcscd (systemctl start pcscd.socket) and connect a reader with a "
		       "card, "
		       "or use a virtual card: MDP11_VCARD=FILE or a [vcard \"label\"] section "
		       "in mdp11.conf ('mdp11-vcard create FILE' makes one)";
	if (ctx->nslots == 0)
		return "connect a reader with a card, or use a virtual card: MDP11_VCARD=FILE or a "
		       "[vcard \"label\"] section in mdp11.conf ('mdp11-vcard create FILE' makes "
		       "one)";
	return "insert a card, or use a virtual card: MDP11_VCARD=FILE or a [vcard \"label\"] "
	       "section in mdp11.conf ('mdp11-vcard create FILE' makes one)";
}

static int
no_slots_error(const struct tool_ctx *ctx)
{
	return tool_error(TOOL_EXIT_NO_CARD, "no reader and no virtual card%s%s%s: %s",
			  ctx->pcsc_problem[0] ? " (" : "", ctx->pcsc_problem,
			  ctx->pcsc_problem[0] ? ")" : "", tool_no_card_hint(ctx));
}

int
tool_card_select(struct tool_ctx *ctx, const struct tool_opts *o, bool allow_blank,
		 struct tool_card *card)
{
	struct tool_uri uri;
	struct tool_card cur, keyed;
	size_t i, found = 0, nmatch = 0, nkey = 0, last_fail = (size_t)-1;
	bool have_uri = false, have_keyed = false, first_keyed = false;
	int rc = TOOL_EXIT_OK;

	memset(card, 0, sizeof(*card));
	memset(&uri, 0, sizeof(uri));
	if (ctx->nslots == 0)
		return no_slots_error(ctx);
	if (o->reader) {
		for (i = 0; i < ctx->nslots; i++) {
			if (strcmp(ctx->slots[i].name, o->reader) == 0 ||
			    (ctx->slots[i].path && strcmp(ctx->slots[i].path, o->reader) == 0)) {
				found = i;
				nmatch++;
				break;
			}
		}
		if (nmatch == 0) {
			for (i = 0; i < ctx->nslots; i++) {
				if (strstr(ctx->slots[i].name, o->reader)) {
					found = i;
					nmatch++;
				}
			}
		}
		if (nmatch == 0)
			return tool_error(TOOL_EXIT_NO_CARD,
					  "no reader or virtual card named "
					  "\"%s\" (see 'mdp11-tool list')",
					  o->reader);
		if (nmatch > 1)
			return tool_error(TOOL_EXIT_USAGE,
					  "\"%s\" names several readers: give the "
					  "whole name or --card N",
					  o->reader);
		tool_card_open_slot(ctx, found, card);
		rc = open_state_error(card, allow_blank);
		if (rc != TOOL_EXIT_OK)
			tool_card_close(card);
		return rc;
	}
	if (o->card_index >= 0) {
		if ((size_t)o->card_index >= ctx->nslots)
			return tool_error(TOOL_EXIT_NO_CARD,
					  "no card %d: there %s %zu reader%s and "
					  "virtual card%s (see 'mdp11-tool list')",
					  o->card_index, ctx->nslots == 1 ? "is" : "are",
					  ctx->nslots, ctx->nslots == 1 ? "" : "s",
					  ctx->nslots == 1 ? "" : "s");
		tool_card_open_slot(ctx, (size_t)o->card_index, card);
		rc = open_state_error(card, allow_blank);
		if (rc != TOOL_EXIT_OK)
			tool_card_close(card);
		return rc;
	}
	if (o->token_uri) {
		rc = tool_uri_card_prepare(o, &uri);
		if (rc != TOOL_EXIT_OK)
			return rc;
		have_uri = true;
	}
	/*
	 * Open every slot and keep the one card that matches. When several do and the command
	 * works on an existing key, the one card holding a key the selection matches is taken.
	 */
	for (i = 0; i < ctx->nslots; i++) {
		bool match, keyhit;

		tool_card_open_slot(ctx, i, &cur);
		if (cur.state == TOOL_CARD_READY)
			match = (!o->serial || serial_matches(o->serial, &cur)) &&
				(!have_uri || tool_uri_card_matches(&uri, &cur));
		else
			match = cur.state == TOOL_CARD_BLANK && allow_blank && !o->serial &&
				!have_uri;
		if (cur.state == TOOL_CARD_ERROR || cur.state == TOOL_CARD_UNKNOWN)
			last_fail = i;
		if (!match) {
			tool_card_close(&cur);
			continue;
		}
		nmatch++;
		keyhit = o->key_filter && tool_key_sel_any(&cur, o->key_filter);
		nkey += keyhit;
		if (nmatch == 1) {
			*card = cur;
			first_keyed = keyhit;
		} else if (keyhit && nkey == 1) {
			keyed = cur;
			have_keyed = true;
		} else {
			tool_card_close(&cur);
		}
	}
	if (have_uri)
		tool_uri_clear(&uri);
	if (nmatch > 1 && nkey == 1) {
		if (!first_keyed) {
			tool_card_close(card);
			*card = keyed;
			have_keyed = false;
		}
		nmatch = 1;
	}
	if (have_keyed)
		tool_card_close(&keyed);
	if (nmatch == 1) {
		mdp_err_clear(); /* what probing the other slots recorded is not this card's */
		return TOOL_EXIT_OK;
	}
	if (nmatch > 1) {
		tool_card_close(card);
		return tool_error(TOOL_EXIT_USAGE,
				  "%zu cards match: choose one with --card N, "
				  "--serial or --token (see 'mdp11-tool list')",
				  nmatch);
	}
	if (o->serial)
		return tool_error(TOOL_EXIT_NO_CARD, "no card with serial %s", o->serial);
	if (have_uri)
		return tool_error(TOOL_EXIT_NO_CARD, "no card matches %s", o->token_uri);
	if (last_fail != (size_t)-1) {
		tool_card_open_slot(ctx, last_fail, &cur);
		rc = open_state_error(&cur, allow_blank);
		tool_card_close(&cur);
		if (rc != TOOL_EXIT_OK)
			return rc;
	}
	return tool_error(TOOL_EXIT_NO_CARD, "no card found%s%s%s: %s",
			  ctx->pcsc_problem[0] ? " (" : "", ctx->pcsc_problem,
			  ctx->pcsc_problem[0] ? ")" : "", tool_no_card_hint(ctx));
}

int
tool_exit_for(enum ksp_rv rv)
{
	switch (rv) {
	case KSP_OK:
		return TOOL_EXIT_OK;
	case KSP_E_PIN_INCORRECT:
	case KSP_E_PIN_LEN:
		return TOOL_EXIT_PIN_WRONG;
	case KSP_E_PIN_BLOCKED:
		return TOOL_EXIT_PIN_BLOCKED;
	case KSP_E_NO_CARD:
	case KSP_E_CARD_REMOVED:
	case KSP_E_NO_SERVICE:
	case KSP_E_UNKNOWN_CARD:
		return TOOL_EXIT_NO_CARD;
	case KSP_E_POLICY:
	case KSP_E_KEY_SIZE:
		return TOOL_EXIT_POLICY;
	case KSP_E_BAD_KEY:
	case KSP_E_BAD_DATA:
	case KSP_E_CERT_MISMATCH:
		return TOOL_EXIT_BAD_INPUT;
	case KSP_E_NOT_FOUND:
	case KSP_E_NO_KEY:
		return TOOL_EXIT_NOT_FOUND;
	case KSP_E_EXISTS:
	case KSP_E_NO_ROOM:
		return TOOL_EXIT_EXISTS;
	default:
		return TOOL_EXIT_FAIL;
	}
}

/*
 * The configuration option behind a policy refusal, from the reason the host role gave. (A key
 * size refusal names its binding limit itself: the card's range or rsa_min/max_bits.)
 */
static const char *
policy_hint(enum ksp_rv rv, const char *reason)
{
	if (rv != KSP_E_POLICY)
		return NULL;
	if (strstr(reason, "xchange"))
		return "allow it with 'allow_private_exchange_key_import = yes' in [policy] of "
		       "mdp11.conf";
	if (strstr(reason, "ignature"))
		return "allow it with 'allow_private_signature_key_import = yes' in [policy] of "
		       "mdp11.conf";
	if (strstr(reason, "ECDSA") || strstr(reason, "ecdsa"))
		return "allow it with 'allow_private_ecdsa_key_import = yes' in [policy] of "
		       "mdp11.conf";
	if (strstr(reason, "ECDH") || strstr(reason, "ecdh"))
		return "allow it with 'allow_private_ecdhe_key_import = yes' in [policy] of "
		       "mdp11.conf";
	return "see [policy] in mdp11.conf";
}

/* The reason the layers recorded, or "" when they recorded none. */
static void
last_reason(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", mdp_err_has_reason() ? mdp_err_last() : "");
}

int
tool_card_error(enum ksp_rv rv, const char *what)
{
	char reason[256];
	const char *hint;
	int code = tool_exit_for(rv);

	if (code == TOOL_EXIT_OK)
		code = TOOL_EXIT_FAIL;
	last_reason(reason, sizeof(reason));
	switch (rv) {
	case KSP_E_PIN_INCORRECT:
		return tool_error(code, "%s: wrong PIN or admin key%s%s%s", what,
				  reason[0] ? " (" : "", reason, reason[0] ? ")" : "");
	case KSP_E_PIN_BLOCKED:
		return tool_error(code,
				  "%s: blocked: unblock the PIN with 'mdp11-tool pin unblock' "
				  "and the admin key",
				  what);
	default:
		break;
	}
	hint = policy_hint(rv, reason);
	if (hint)
		return tool_error(code, "%s: refused by policy: %s; %s", what, reason, hint);
	/* Never an internal code alone: what it means, then the code for a bug report. */
	if (reason[0] == '\0')
		return tool_error(code, "%s: %s (%s)", what, ksp_rv_text(rv), ksp_rv_name(rv));
	if (rv == KSP_E_EXISTS)
		return tool_error(code, "%s: %s (%s); --overwrite replaces it", what, reason,
				  ksp_rv_name(rv));
	return tool_error(code, "%s: %s (%s)", what, reason, ksp_rv_name(rv));
}

int
tool_auth_error(struct tool_card *card, enum ksp_rv rv, const char *what, bool admin)
{
	struct ksp_pin_info pi;
	char reason[256];

	last_reason(reason, sizeof(reason));
	if (rv == KSP_E_PIN_INCORRECT && admin)
		return tool_error(TOOL_EXIT_PIN_WRONG, "%s: wrong admin key", what);
	if (rv == KSP_E_PIN_INCORRECT) {
		if (ksp_pin_info(card->kc, &pi) == KSP_OK && pi.tries_left > 0)
			return tool_error(TOOL_EXIT_PIN_WRONG, "%s: wrong PIN (%d %s left)", what,
					  pi.tries_left, pi.tries_left == 1 ? "try" : "tries");
		return tool_error(TOOL_EXIT_PIN_WRONG, "%s: wrong PIN", what);
	}
	/* A new PIN of a length the card does not take is refused without a reason (6A80). */
	if (rv == KSP_E_INVALID_ARG && reason[0] == '\0' && !admin)
		return tool_error(TOOL_EXIT_FAIL,
				  "%s: the card refused the PIN (GIDS cards take 4 to 16 "
				  "characters)",
				  what);
	return tool_card_error(rv, what);
}

int
tool_secret_error(const char *what, const char *opt, const struct tool_secret_src *src)
{
	if (src->file || src->env || src->insecure)
		return tool_error(TOOL_EXIT_USAGE, "%s: %s", what, mdp_err_last());
	return tool_error(TOOL_EXIT_USAGE, "%s: %s (give --%s-file FILE or --%s-env VAR)", what,
			  mdp_err_last(), opt, opt);
}

enum ksp_rv
tool_pin_facts(struct tool_card *card, struct ksp_pin_info *out)
{
	struct ksp_pin_info pi;
	int left = -1, max = -1;
	enum ksp_rv rv;

	rv = ksp_pin_info(card->kc, &pi);
	if (rv != KSP_OK)
		return rv;
	/* the card's own counter when its module reads it (GIDS, PIV: MD_CP_MDP11_PIN_TRIES) */
	if (pi.tries_left < 0 && ksp_pin_tries_refresh(card->kc) == KSP_OK) {
		rv = ksp_pin_info(card->kc, &pi);
		if (rv != KSP_OK)
			return rv;
	}
	if (pi.tries_left < 0 && strcmp(card->info.card_name, "GIDS") == 0 &&
	    gids_pin_status(card->t, &left, &max) == MDP_OK) {
		pi.tries_left = left;
		if (max >= 0)
			pi.tries_max = max;
		pi.blocked = left == 0;
	}
	*out = pi;
	return KSP_OK;
}

int
tool_login_user(struct tool_card *card, const struct tool_opts *o)
{
	struct ksp_pin_info pi;
	char *pin = NULL;
	size_t len = 0;
	enum mdp_err err;
	enum ksp_rv rv;

	if (tool_pin_facts(card, &pi) == KSP_OK && pi.blocked)
		return tool_card_error(KSP_E_PIN_BLOCKED, "PIN");
	err = tool_pin_read(&o->pin, "PIN", false, &pin, &len);
	if (err != MDP_OK)
		return tool_secret_error("PIN", "pin", &o->pin);
	mdp_err_clear();
	rv = ksp_login_user(card->kc, (const uint8_t *)pin, len);
	mdp_secure_free(pin, len + 1);
	if (rv != KSP_OK)
		return tool_auth_error(card, rv, "login", false);
	return TOOL_EXIT_OK;
}

int
tool_read_input(const char *path, uint8_t **out, size_t *len)
{
	uint8_t *p = NULL;
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tool_error(TOOL_EXIT_BAD_INPUT, "%s: %s", path, strerror(errno));
	p = mdp_zalloc(TOOL_INPUT_ALLOC);
	if (p == NULL) {
		close(fd);
		return tool_error(TOOL_EXIT_FAIL, "out of memory");
	}
	while (n <= TOOL_MAX_FILE) {
		r = read(fd, p + n, TOOL_MAX_FILE + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			mdp_secure_free(p, TOOL_INPUT_ALLOC);
			return tool_error(TOOL_EXIT_BAD_INPUT, "%s: %s", path, strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > TOOL_MAX_FILE) {
		mdp_secure_free(p, TOOL_INPUT_ALLOC);
		return tool_error(TOOL_EXIT_BAD_INPUT, "%s: larger than %d bytes", path,
				  TOOL_MAX_FILE);
	}
	if (n == 0) {
		mdp_secure_free(p, TOOL_INPUT_ALLOC);
		return tool_error(TOOL_EXIT_BAD_INPUT, "%s: empty file", path);
	}
	*out = p;
	*len = n;
	return TOOL_EXIT_OK;
}

/* Write all of data to fd; false with errno set on failure. */
static bool
write_all(int fd, const uint8_t *data, size_t len)
{
	size_t off = 0;
	ssize_t w;

	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return false;
		}
		off += (size_t)w;
	}
	return true;
}

int
tool_write_output(const char *path, const uint8_t *data, size_t len, bool private_data)
{
	char *tmp = NULL, *target = NULL;
	size_t plen;
	struct stat st;
	mode_t mask;
	int fd, rc = TOOL_EXIT_OK;

	if (strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			return tool_error(TOOL_EXIT_FAIL, "writing to standard output failed");
		return TOOL_EXIT_OK;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return tool_error(TOOL_EXIT_FAIL, "%s: %s", path, strerror(EISDIR));
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A device or FIFO (/dev/null, /dev/stdout): written in place, never replaced. */
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return tool_error(TOOL_EXIT_FAIL, "%s: %s", path, strerror(errno));
		if (!write_all(fd, data, len))
			rc = tool_error(TOOL_EXIT_FAIL, "%s: write failed: %s", path,
					strerror(errno));
		if (close(fd) != 0 && rc == TOOL_EXIT_OK)
			rc = tool_error(TOOL_EXIT_FAIL, "%s: %s", path, strerror(errno));
		return rc;
	}
	/* A symbolic link stays a link: the file it points to is replaced. */
	target = realpath(path, NULL);
	if (target == NULL && errno != ENOENT)
		return tool_error(TOOL_EXIT_FAIL, "%s: %s", path, strerror(errno));
	if (target == NULL && (target = strdup(path)) == NULL)
		return tool_error(TOOL_EXIT_FAIL, "out of memory");
	plen = strlen(target);
	tmp = malloc(plen + sizeof(".tmpXXXXXX"));
	if (tmp == NULL) {
		free(target);
		return tool_error(TOOL_EXIT_FAIL, "out of memory");
	}
	memcpy(tmp, target, plen);
	memcpy(tmp + plen, ".tmpXXXXXX", sizeof(".tmpXXXXXX"));
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		rc = tool_error(TOOL_EXIT_FAIL, "%s: cannot create a temporary file: %s", path,
				strerror(errno));
		free(tmp);
		free(target);
		return rc;
	}
	if (!private_data) {
		mask = umask(0);
		umask(mask);
		if (fchmod(fd, 0644 & ~mask) != 0) {
			rc = tool_error(TOOL_EXIT_FAIL, "%s: chmod: %s", path, strerror(errno));
			goto out;
		}
	}
	if (!write_all(fd, data, len)) {
		rc = tool_error(TOOL_EXIT_FAIL, "%s: write failed: %s", path, strerror(errno));
		goto out;
	}
	if (fsync(fd) != 0) {
		rc = tool_error(TOOL_EXIT_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = tool_error(TOOL_EXIT_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, target) != 0)
		rc = tool_error(TOOL_EXIT_FAIL, "%s: %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (rc != TOOL_EXIT_OK)
		unlink(tmp);
	free(tmp);
	free(target);
	return rc;
}

void
tool_asn1_time(const ASN1_TIME *t, char *buf, size_t cap)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		snprintf(buf, cap, "?");
		return;
	}
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool
tool_cmd_opts(int argc, char **argv, unsigned mask, const char *name, void (*help)(FILE *),
	      struct tool_opts *o, int *rc)
{
	char err[256];

	*rc = tool_opts_parse(argc, argv, mask, o, err, sizeof(err));
	if (*rc != TOOL_EXIT_OK) {
		*rc = tool_error(*rc, "%s (see 'mdp11-tool %s --help')", err, name);
		return false;
	}
	if (o->help) {
		help(stdout);
		*rc = TOOL_EXIT_OK;
		return false;
	}
	if (o->nargs) {
		*rc = tool_error(TOOL_EXIT_USAGE, "unexpected argument '%s'", o->args[0]);
		return false;
	}
	return true;
}
