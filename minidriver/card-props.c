/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Card properties the built-in card modules answer alike (GIDS, PIV): CardGetProperty's buffer
 * rule, the properties whose flags mean something, and the ones their own Card* functions give. */
#include "config.h"

#include <string.h>

#include "minidriver/card-int.h"

enum md_rv
md_prop_out(const void *v, size_t n, void *data, size_t cap, size_t *len)
{
	*len = n;
	if (cap < n || !data)
		return MD_ERROR_INSUFFICIENT_BUFFER;
	memcpy(data, v, n);
	return MD_OK;
}

enum md_rv
md_prop_common(struct md_card *card, const char *name, void *data, size_t cap, size_t *len,
	       uint32_t flags, bool *done)
{
	/* properties whose flags carry a meaning (a key spec, a PIN id) */
	bool flagged = strcmp(name, MD_CP_CARD_KEYSIZES) == 0 ||
		       strcmp(name, MD_CP_CARD_PIN_INFO) == 0 ||
		       strcmp(name, MD_CP_MDP11_PIN_TRIES) == 0 ||
		       strcmp(name, MD_CP_MDP11_PIN_LENGTHS) == 0 ||
		       strcmp(name, MD_CP_CARD_PIN_STRENGTH_VERIFY) == 0 ||
		       strcmp(name, MD_CP_CARD_PIN_STRENGTH_CHANGE) == 0 ||
		       strcmp(name, MD_CP_CARD_PIN_STRENGTH_UNBLOCK) == 0;
	enum md_rv rv;

	*done = true;
	if (!flagged && flags != 0)
		return MD_E_INVALID_PARAMETER;
	if (strcmp(name, MD_CP_CARD_FREE_SPACE) == 0) {
		struct md_free_space fs = {.version = MD_FREE_SPACE_VERSION};

		rv = card->ops->query_free_space(card, 0, &fs);
		return rv == MD_OK ? md_prop_out(&fs, sizeof(fs), data, cap, len) : rv;
	}
	if (strcmp(name, MD_CP_CARD_CAPABILITIES) == 0) {
		struct md_capabilities c = {.version = MD_CAPABILITIES_VERSION};

		rv = card->ops->query_capabilities(card, &c);
		return rv == MD_OK ? md_prop_out(&c, sizeof(c), data, cap, len) : rv;
	}
	if (strcmp(name, MD_CP_CARD_KEYSIZES) == 0) {
		struct md_key_sizes ks = {.version = MD_KEY_SIZES_VERSION};

		if (flags < MDP_AT_KEYEXCHANGE || flags > MDP_AT_ECDHE_P521)
			return MD_E_INVALID_PARAMETER;
		rv = card->ops->query_key_sizes(card, flags, 0, &ks);
		return rv == MD_OK ? md_prop_out(&ks, sizeof(ks), data, cap, len) : rv;
	}
	if (strcmp(name, MD_CP_PARENT_WINDOW) == 0 || strcmp(name, MD_CP_PIN_CONTEXT_STRING) == 0)
		return MD_E_INVALID_PARAMETER; /* write-only */
	if (strcmp(name, MD_CP_ENUM_ALGORITHMS) == 0 || strcmp(name, MD_CP_PADDING_SCHEMES) == 0 ||
	    strcmp(name, MD_CP_CHAINING_MODES) == 0)
		return MD_E_UNSUPPORTED_FEATURE; /* secure key injection only */
	*done = false;
	return MD_OK;
}

enum md_rv
md_set_prop_ui_hints(struct md_card *card, const char *name, const void *data, size_t len,
		     uint32_t flags)
{
	if (flags != 0)
		return MD_E_INVALID_PARAMETER;
	/* UI hints: accepted, nothing to do without a UI */
	if (strcmp(name, MD_CP_PARENT_WINDOW) == 0 || strcmp(name, MD_CP_PIN_CONTEXT_STRING) == 0)
		return MD_OK;
	return MD_E_UNSUPPORTED_FEATURE;
}
