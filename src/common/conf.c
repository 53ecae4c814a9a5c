/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11.conf parser: every bad line is an error naming its line number. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/conf.h"

#define CONFIG_MAX_SIZE (1024 * 1024)

/* conf/mdp11.conf.example documents each one; the module and mdp11-tool check against it. */
const char *const mdp_config_module_keys[] = {
	"global.debug",
	"global.debug_file",
	"readers.pcsc",
	"readers.include",
	"readers.exclude",
	"vcard.path",
	"vcard.seal",
	"token.label",
	"token.ecdh_public_objects",
	"cache.mode",
	"cache.dir",
	"policy.rsa_min_bits",
	"policy.rsa_max_bits",
	"policy.rsa_default_bits",
	"policy.allow_private_exchange_key_import",
	"policy.allow_private_signature_key_import",
	"policy.allow_private_ecdsa_key_import",
	"policy.allow_private_ecdhe_key_import",
	"card_module.atr",
	"card_module.atr_mask",
	"card_module.module",
	NULL,
};

static bool
is_ident(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Unquote "..." in place; returns NULL on a malformed string. */
static char *
unquote(char *s, char **rest)
{
	char *r = s + 1, *w = s;

	for (; *r && *r != '"'; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		*w++ = *r;
	}
	if (*r != '"')
		return NULL;
	*w = '\0';
	*rest = r + 1;
	return s;
}

static enum mdp_err
add_entry(struct mdp_config *cfg, size_t *cap, const char *section, const char *name,
	  const char *key, const char *value, int line)
{
	struct mdp_config_entry *e;

	if (cfg->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;

		e = realloc(cfg->entries, ncap * sizeof(*e));
		if (!e)
			return MDP_ERR_NOMEM;
		cfg->entries = e;
		*cap = ncap;
	}
	e = &cfg->entries[cfg->count++];
	e->section = section;
	e->name = name;
	e->key = key;
	e->value = value;
	e->line = line;
	return MDP_OK;
}

static enum mdp_err
parse_section(struct mdp_config *cfg, char *s, int line, const char **section, const char **name)
{
	char *end = strchr(s, ']');
	char *sp, *rest;

	if (!end || *trim(end + 1))
		return mdp_err_reason(MDP_ERR_CONFIG,
				      "%s:%d: section header must be [name] or "
				      "[name \"label\"]",
				      cfg->origin, line);
	*end = '\0';
	s = trim(s + 1);
	sp = strpbrk(s, " \t");
	*name = NULL;
	if (sp) {
		*sp = '\0';
		rest = trim(sp + 1);
		if (*rest != '"' || !unquote(rest, &end) || *trim(end))
			return mdp_err_reason(MDP_ERR_CONFIG,
					      "%s:%d: section label must be "
					      "\"quoted\"",
					      cfg->origin, line);
		*name = rest;
	}
	if (!is_ident(s))
		return mdp_err_reason(MDP_ERR_CONFIG, "%s:%d: bad section name \"%s\"", cfg->origin,
				      line, s);
	*section = s;
	return MDP_OK;
}

enum mdp_err
mdp_config_parse(const char *text, size_t len, const char *origin, struct mdp_config **out)
{
	struct mdp_config *cfg;
	const char *section = "global", *name = NULL;
	size_t cap = 0;
	char *line, *next;
	int lineno = 0;
	enum mdp_err err = MDP_OK;

	if (!text || !out)
		return MDP_ERR_ARGS;
	if (memchr(text, '\0', len))
		return mdp_err_reason(MDP_ERR_CONFIG, "%s: contains a NUL byte", origin);
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return MDP_ERR_NOMEM;
	cfg->origin = strdup(origin ? origin : "config");
	cfg->text = malloc(len + 1);
	if (!cfg->origin || !cfg->text) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	memcpy(cfg->text, text, len);
	cfg->text[len] = '\0';

	for (line = cfg->text; line; line = next) {
		char *eq, *key, *value, *rest;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line = trim(line);
		if (!*line || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			err = parse_section(cfg, line, lineno, &section, &name);
			if (err)
				goto out;
			continue;
		}
		eq = strchr(line, '=');
		if (!eq) {
			err = mdp_err_reason(MDP_ERR_CONFIG, "%s:%d: expected \"key = value\"",
					     cfg->origin, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(line);
		value = trim(eq + 1);
		if (!is_ident(key)) {
			err = mdp_err_reason(MDP_ERR_CONFIG, "%s:%d: bad key \"%s\"", cfg->origin,
					     lineno, key);
			goto out;
		}
		if (*value == '"') {
			if (!unquote(value, &rest) || (*(rest = trim(rest)) && *rest != '#')) {
				err = mdp_err_reason(MDP_ERR_CONFIG,
						     "%s:%d: unterminated or "
						     "malformed quoted value",
						     cfg->origin, lineno);
				goto out;
			}
		} else {
			/* An unquoted value ends at " #" (inline comment). */
			char *hash = strstr(value, " #");

			if (hash)
				*hash = '\0';
			value = trim(value);
		}
		err = add_entry(cfg, &cap, section, name, key, value, lineno);
		if (err)
			goto out;
	}
out:
	if (err) {
		mdp_config_free(cfg);
		return err;
	}
	*out = cfg;
	return MDP_OK;
}

enum mdp_err
mdp_config_load(const char *path, struct mdp_config **out)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	enum mdp_err err;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return mdp_err_reason(MDP_ERR_NOT_FOUND, "%s: no such file", path);
		return mdp_err_reason(MDP_ERR_IO, "%s: %s", path, strerror(errno));
	}
	do {
		if (len == cap) {
			char *t;

			cap = cap ? cap * 2 : 4096;
			if (cap > CONFIG_MAX_SIZE) {
				free(text);
				fclose(f);
				return mdp_err_reason(MDP_ERR_CONFIG, "%s: larger than 1 MiB",
						      path);
			}
			t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				return MDP_ERR_NOMEM;
			}
			text = t;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		free(text);
		fclose(f);
		return mdp_err_reason(MDP_ERR_IO, "%s: read error", path);
	}
	fclose(f);
	err = mdp_config_parse(text ? text : "", len, path, out);
	free(text);
	return err;
}

void
mdp_config_free(struct mdp_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->entries);
	free(cfg->origin);
	free(cfg->text);
	free(cfg);
}

static bool
same_name(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

const struct mdp_config_entry *
mdp_config_find(const struct mdp_config *cfg, const char *section, const char *name,
		const char *key)
{
	size_t i;

	if (!cfg)
		return NULL;
	for (i = cfg->count; i-- > 0;) {
		const struct mdp_config_entry *e = &cfg->entries[i];

		if (strcmp(e->section, section) == 0 && same_name(e->name, name) &&
		    strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

const char *
mdp_config_get(const struct mdp_config *cfg, const char *section, const char *name, const char *key)
{
	const struct mdp_config_entry *e = mdp_config_find(cfg, section, name, key);

	return e ? e->value : NULL;
}

enum mdp_err
mdp_config_get_bool(const struct mdp_config *cfg, const char *section, const char *name,
		    const char *key, bool def, bool *out)
{
	const struct mdp_config_entry *e = mdp_config_find(cfg, section, name, key);
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i;

	if (!e) {
		*out = def;
		return MDP_OK;
	}
	for (i = 0; i < 4; i++) {
		if (strcasecmp(e->value, yes[i]) == 0) {
			*out = true;
			return MDP_OK;
		}
		if (strcasecmp(e->value, no[i]) == 0) {
			*out = false;
			return MDP_OK;
		}
	}
	return mdp_err_reason(MDP_ERR_CONFIG, "%s:%d: %s: expected yes or no, got \"%s\"",
			      cfg->origin, e->line, key, e->value);
}

enum mdp_err
mdp_config_get_long(const struct mdp_config *cfg, const char *section, const char *name,
		    const char *key, long min, long max, long def, long *out)
{
	const struct mdp_config_entry *e = mdp_config_find(cfg, section, name, key);
	char *end;
	long v;

	if (!e) {
		*out = def;
		return MDP_OK;
	}
	errno = 0;
	v = strtol(e->value, &end, 0);
	if (errno || end == e->value || *end)
		return mdp_err_reason(MDP_ERR_CONFIG, "%s:%d: %s: expected a number, got \"%s\"",
				      cfg->origin, e->line, key, e->value);
	if (v < min || v > max)
		return mdp_err_reason(MDP_ERR_CONFIG, "%s:%d: %s: %ld is outside %ld..%ld",
				      cfg->origin, e->line, key, v, min, max);
	*out = v;
	return MDP_OK;
}

enum mdp_err
mdp_config_check_keys(const struct mdp_config *cfg, const char *const *allowed)
{
	size_t i, j;

	if (!cfg)
		return MDP_OK;
	for (i = 0; i < cfg->count; i++) {
		const struct mdp_config_entry *e = &cfg->entries[i];
		size_t sl = strlen(e->section);
		bool ok = false;

		for (j = 0; allowed[j] && !ok; j++)
			ok = strncmp(allowed[j], e->section, sl) == 0 && allowed[j][sl] == '.' &&
			     strcmp(allowed[j] + sl + 1, e->key) == 0;
		if (!ok)
			return mdp_err_reason(MDP_ERR_CONFIG,
					      "%s:%d: unknown option \"%s\" in "
					      "section [%s]",
					      cfg->origin, e->line, e->key, e->section);
	}
	return MDP_OK;
}
