/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the mdp11.conf parser (src/common/conf.c) and its getters. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A few keys of the real configuration, so that check_keys sees both outcomes. */
static const char *const allowed[] = {
	"global.debug",		"global.debug_file",  "readers.pcsc",
	"vcard.path",		"vcard.label",	      "card_module.atr",
	"card_module.atr_mask", "card_module.module", NULL,
};

static bool
is_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static void
check_ident(const char *s)
{
	if (!*s)
		abort();
	for (; *s; s++)
		if (!is_ident_char(*s))
			abort();
}

/*
 * The input is the file's text. Whatever parses must give entries that satisfy the grammar of
 * conf.h (section and key are identifiers, a value has no line break, lines ascend), and every
 * getter must answer for every entry: find returns the last entry of its (section, name, key).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdp_config *cfg = NULL;
	size_t i;
	int last_line = 0;

	if (mdp_config_parse((const char *)data, size, "fuzz", &cfg) != MDP_OK) {
		if (cfg)
			abort(); /* out-parameter written on failure */
		return 0;
	}
	if (memchr(data, '\0', size))
		abort(); /* a NUL byte must be refused */
	for (i = 0; i < cfg->count; i++) {
		const struct mdp_config_entry *e = &cfg->entries[i], *found;
		bool b;
		long l;

		check_ident(e->section);
		check_ident(e->key);
		if (strchr(e->value, '\n') || (e->name && strchr(e->name, '\n')))
			abort();
		if (e->line < last_line || e->line < 1)
			abort();
		last_line = e->line;
		found = mdp_config_find(cfg, e->section, e->name, e->key);
		if (!found || found < e || strcmp(found->key, e->key) != 0)
			abort();
		if (mdp_config_get(cfg, e->section, e->name, e->key) != found->value)
			abort();
		(void)mdp_config_get_bool(cfg, e->section, e->name, e->key, false, &b);
		(void)mdp_config_get_long(cfg, e->section, e->name, e->key, -5, 1000, 0, &l);
	}
	(void)mdp_config_check_keys(cfg, allowed);
	mdp_config_free(cfg);
	return 0;
}
