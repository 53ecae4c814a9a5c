/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal glue between the host side (card.c), the registry and the built-in card modules. */
#ifndef MDP11_MINIDRIVER_CARD_INT_H
#define MDP11_MINIDRIVER_CARD_INT_H

#include "minidriver/card.h"

/* What the host keeps per context (card->host_data). */
struct md_host_data {
	struct mdp_transport *transport;
	struct md_cache_callbacks cache;
	void *plugin; /* dlopen handle of the module's plugin, closed after delete_context */
	char name[64];
};

/* Pick and run the card module for card (host half filled). */
enum md_rv md_registry_acquire(struct md_registry *reg, struct md_card *card, unsigned flags,
			       void **plugin_handle);

/* Release a plugin handle from md_registry_acquire (after the module's delete_context). */
void md_registry_unload(void *plugin_handle);

/* The built-in GIDS module (card-gids.c). */
enum md_rv md_gids_acquire(struct md_card *card, unsigned flags);

/* The built-in PIV module (card-piv*.c) and the ATRs it claims without a GIDS probe. */
enum md_rv md_piv_acquire(struct md_card *card, unsigned flags);
bool md_piv_atr_known(const uint8_t *atr, size_t len);

/* ---- card-props.c: what the built-in modules answer alike ---- */

/* Copy a property value out: *len = n; MD_ERROR_INSUFFICIENT_BUFFER when it does not fit. */
enum md_rv md_prop_out(const void *v, size_t n, void *data, size_t cap, size_t *len);
/*
 * Flags given to a property that takes none (INVALID_PARAMETER), free space, capabilities and
 * key sizes from the module's own Card* functions, the write-only UI hints (INVALID_PARAMETER)
 * and the secure key injection properties (UNSUPPORTED_FEATURE). *done false: none of those,
 * the module answers.
 */
enum md_rv md_prop_common(struct md_card *card, const char *name, void *data, size_t cap,
			  size_t *len, uint32_t flags, bool *done);
/* CardSetProperty of a module whose only settable properties are the UI hints (accepted). */
enum md_rv md_set_prop_ui_hints(struct md_card *card, const char *name, const void *data,
				size_t len, uint32_t flags);

#endif
