/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parser for mdp11.conf: INI-like sections of "key = value" lines. */
#ifndef MDP11_COMMON_CONF_H
#define MDP11_COMMON_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/*
 * Syntax (see conf/mdp11.conf.example):
 *   # comment            ; comment
 *   key = value          value may be "double quoted" (then \" and \\ escape)
 *   [section]            entries below belong to the section
 *   [section "name"]     a named section (several may exist: virtual cards, card modules)
 * Keys before any section belong to the section "global". Keys may repeat;
 * a getter returns the last one. Names are case-sensitive, lower-case by
 * convention. Errors carry "path:line: reason" in mdp_err_last().
 */
struct mdp_config_entry {
	const char *section; /* never NULL */
	const char *name;    /* section name, or NULL */
	const char *key;
	const char *value;
	int line;
};

struct mdp_config {
	struct mdp_config_entry *entries;
	size_t count;
	char *origin; /* file path or label, for messages */
	char *text;   /* storage the entries point into */
};

/* Parse text (need not be NUL-terminated). origin names it in error messages. */
enum mdp_err mdp_config_parse(const char *text, size_t len, const char *origin,
			      struct mdp_config **out);
/* Read and parse a file. A missing file is MDP_ERR_NOT_FOUND (callers use defaults). */
enum mdp_err mdp_config_load(const char *path, struct mdp_config **out);
void mdp_config_free(struct mdp_config *cfg);

/* Last entry for (section, name, key); name NULL matches an unnamed section. */
const struct mdp_config_entry *mdp_config_find(const struct mdp_config *cfg, const char *section,
					       const char *name, const char *key);
const char *mdp_config_get(const struct mdp_config *cfg, const char *section, const char *name,
			   const char *key);
/*
 * Typed getters: def when absent; MDP_ERR_CONFIG with "path:line: key: reason"
 * when present but invalid.
 */
enum mdp_err mdp_config_get_bool(const struct mdp_config *cfg, const char *section,
				 const char *name, const char *key, bool def, bool *out);
enum mdp_err mdp_config_get_long(const struct mdp_config *cfg, const char *section,
				 const char *name, const char *key, long min, long max, long def,
				 long *out);
/*
 * Check that every key of every section is in the allowed list, so a typo is
 * an error and not a silently ignored line. allowed is a NULL-terminated list
 * of "section.key" strings ("vcard.path", "global.debug").
 */
enum mdp_err mdp_config_check_keys(const struct mdp_config *cfg, const char *const *allowed);
/* Every option of mdp11.conf the module reads, as "section.key", NULL-terminated. */
extern const char *const mdp_config_module_keys[];

#endif
