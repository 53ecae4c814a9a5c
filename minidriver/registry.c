/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which card module serves a card: ATR bindings from the configuration, plugins, the built-in
 * GIDS and PIV modules (by known ATR, then by application probe). */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "common/bytes.h"
#include "common/conf.h"
#include "common/log.h"
#include "minidriver/card-int.h"

struct binding {
	char *name;
	uint8_t atr[MDP_ATR_MAX];
	uint8_t mask[MDP_ATR_MAX];
	size_t atr_len;
	char *plugin_path; /* NULL: a built-in module (builtin) */
	md_card_acquire_fn builtin;
	md_card_acquire_fn entry; /* for plugins, valid while check_handle is open */
	void *check_handle;
};

struct md_registry {
	struct binding *b;
	size_t n;
};

enum md_rv
md_registry_new(const struct mdp_config *cfg, struct md_registry **out)
{
	struct md_registry *reg;
	size_t i;
	enum md_rv rv = MD_OK;

	if (!out)
		return MD_E_INVALID_PARAMETER;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return MD_E_NO_MEMORY;
	for (i = 0; cfg && i < cfg->count; i++) {
		const struct mdp_config_entry *e = &cfg->entries[i];
		const char *atr_s, *mask_s, *mod;
		uint8_t atr[MDP_ATR_MAX], mask[MDP_ATR_MAX];
		long alen, mlen;
		size_t j;
		bool seen = false;

		if (strcmp(e->section, "card_module") != 0)
			continue;
		if (!e->name) {
			mdp_err_reason(MDP_ERR_CONFIG, "%s:%d: [card_module] needs a name",
				       cfg->origin, e->line);
			rv = MD_E_INVALID_PARAMETER;
			goto out;
		}
		/* one binding per named section: handle it at its first entry */
		for (j = 0; j < i; j++)
			if (strcmp(cfg->entries[j].section, "card_module") == 0 &&
			    cfg->entries[j].name && strcmp(cfg->entries[j].name, e->name) == 0)
				seen = true;
		if (seen)
			continue;
		atr_s = mdp_config_get(cfg, "card_module", e->name, "atr");
		mask_s = mdp_config_get(cfg, "card_module", e->name, "atr_mask");
		mod = mdp_config_get(cfg, "card_module", e->name, "module");
		if (!atr_s || !mod) {
			mdp_err_reason(MDP_ERR_CONFIG,
				       "%s:%d: card_module \"%s\" needs atr and module",
				       cfg->origin, e->line, e->name);
			rv = MD_E_INVALID_PARAMETER;
			goto out;
		}
		alen = mdp_hex_decode(atr_s, atr, sizeof(atr));
		mlen = mask_s ? mdp_hex_decode(mask_s, mask, sizeof(mask)) : alen;
		if (alen < 2 || mlen != alen) {
			mdp_err_reason(MDP_ERR_CONFIG,
				       "%s:%d: card_module \"%s\": bad atr or atr_mask",
				       cfg->origin, e->line, e->name);
			rv = MD_E_INVALID_PARAMETER;
			goto out;
		}
		if (!mask_s)
			memset(mask, 0xFF, sizeof(mask));
		rv = md_registry_add(reg, e->name, atr, mask, (size_t)alen, mod);
		if (rv != MD_OK)
			goto out;
	}
out:
	if (rv != MD_OK) {
		md_registry_free(reg);
		return rv;
	}
	*out = reg;
	return MD_OK;
}

/* Load a plugin and check its interface version; returns the handle and entry point. */
static enum md_rv
load_plugin(const char *path, void **handle, md_card_acquire_fn *entry)
{
	void *h;
	const unsigned *ver;
	void *sym;

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		mdp_err_reason(MDP_ERR_NOT_FOUND, "card module %s: %s", path, dlerror());
		return MD_E_UNKNOWN_CARD;
	}
	ver = dlsym(h, MD_CARD_MODULE_INTERFACE_SYMBOL);
	if (!ver || *ver != MD_CARD_MODULE_INTERFACE_VERSION) {
		mdp_err_reason(MDP_ERR_UNSUPPORTED,
			       "card module %s: interface version %u, mdp11 speaks %u", path,
			       ver ? *ver : 0u, MD_CARD_MODULE_INTERFACE_VERSION);
		dlclose(h);
		return MD_E_UNKNOWN_CARD;
	}
	sym = dlsym(h, MD_CARD_MODULE_ENTRY);
	if (!sym) {
		mdp_err_reason(MDP_ERR_UNSUPPORTED, "card module %s: no %s", path,
			       MD_CARD_MODULE_ENTRY);
		dlclose(h);
		return MD_E_UNKNOWN_CARD;
	}
	*handle = h;
	/* POSIX: a data pointer from dlsym may be converted to a function pointer. */
	memcpy(entry, &sym, sizeof(*entry));
	return MD_OK;
}

enum md_rv
md_registry_add(struct md_registry *reg, const char *name, const uint8_t *atr, const uint8_t *mask,
		size_t atr_len, const char *module)
{
	struct binding b, *nb;
	size_t i;
	enum md_rv rv;

	if (!reg || !name || !atr || !module || atr_len < 2 || atr_len > MDP_ATR_MAX)
		return MD_E_INVALID_PARAMETER;
	memset(&b, 0, sizeof(b));
	memcpy(b.atr, atr, atr_len);
	if (mask)
		memcpy(b.mask, mask, atr_len);
	else
		memset(b.mask, 0xFF, atr_len);
	for (i = 0; i < atr_len; i++)
		b.atr[i] &= b.mask[i];
	b.atr_len = atr_len;
	if (strcmp(module, "gids") == 0) {
		b.builtin = md_gids_acquire;
	} else if (strcmp(module, "piv") == 0) {
		b.builtin = md_piv_acquire;
	} else {
		rv = load_plugin(module, &b.check_handle, &b.entry);
		if (rv != MD_OK)
			return rv;
		b.plugin_path = strdup(module);
	}
	b.name = strdup(name);
	nb = realloc(reg->b, (reg->n + 1) * sizeof(*nb));
	if (!b.name || (!b.builtin && !b.plugin_path) || !nb) {
		if (nb)
			reg->b = nb;
		free(b.name);
		free(b.plugin_path);
		if (b.check_handle)
			dlclose(b.check_handle);
		return MD_E_NO_MEMORY;
	}
	reg->b = nb;
	reg->b[reg->n++] = b;
	return MD_OK;
}

void
md_registry_free(struct md_registry *reg)
{
	size_t i;

	if (!reg)
		return;
	for (i = 0; i < reg->n; i++) {
		free(reg->b[i].name);
		free(reg->b[i].plugin_path);
		if (reg->b[i].check_handle)
			dlclose(reg->b[i].check_handle);
	}
	free(reg->b);
	free(reg);
}

static bool
atr_matches(const struct binding *b, const uint8_t *atr, size_t len)
{
	size_t i;

	if (len != b->atr_len)
		return false;
	for (i = 0; i < len; i++)
		if ((atr[i] & b->mask[i]) != b->atr[i])
			return false;
	return true;
}

static enum md_rv
run_plugin(const struct binding *b, struct md_card *card, unsigned flags, void **plugin_handle)
{
	md_card_acquire_fn entry = NULL;
	void *h = NULL;
	enum md_rv rv;

	/* each context holds its own reference on the plugin */
	rv = load_plugin(b->plugin_path, &h, &entry);
	if (rv != MD_OK)
		return rv;
	rv = entry(card, flags);
	if (rv != MD_OK || !card->ops) {
		dlclose(h);
		return rv != MD_OK ? rv : MD_E_UNEXPECTED;
	}
	*plugin_handle = h;
	return MD_OK;
}

enum md_rv
md_registry_acquire(struct md_registry *reg, struct md_card *card, unsigned flags,
		    void **plugin_handle)
{
	size_t i;
	enum md_rv rv;
	bool known_piv;

	*plugin_handle = NULL;
	for (i = 0; reg && i < reg->n; i++) {
		const struct binding *b = &reg->b[i];

		if (!atr_matches(b, card->atr, card->atr_len))
			continue;
		snprintf(card->card_name, sizeof(card->card_name), "%s", b->name);
		log_debug("ATR bound to card module \"%s\" (%s)", b->name,
			  b->plugin_path		 ? b->plugin_path
			  : b->builtin == md_piv_acquire ? "piv"
							 : "gids");
		if (b->plugin_path)
			return run_plugin(b, card, flags, plugin_handle);
		return b->builtin(card, flags);
	}
	/*
	 * A YubiKey (or the virtual PIV card) is PIV at once; any other card is probed for GIDS
	 * first, so a GIDS card costs no extra APDU, then for PIV (one SELECT each).
	 */
	known_piv = md_piv_atr_known(card->atr, card->atr_len);
	if (known_piv) {
		snprintf(card->card_name, sizeof(card->card_name), "PIV");
		rv = md_piv_acquire(card, flags);
		if (rv != MD_E_UNKNOWN_CARD)
			return rv;
	}
	snprintf(card->card_name, sizeof(card->card_name), "GIDS");
	rv = md_gids_acquire(card, flags);
	if (rv == MD_E_UNKNOWN_CARD && !known_piv) {
		snprintf(card->card_name, sizeof(card->card_name), "PIV");
		rv = md_piv_acquire(card, flags);
	}
	if (rv == MD_E_UNKNOWN_CARD)
		log_info("no card module for this card");
	return rv;
}

void
md_registry_unload(void *plugin_handle)
{
	if (plugin_handle)
		dlclose(plugin_handle);
}
