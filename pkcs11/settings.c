/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Module settings: mdp11.conf (read in C_Initialize) and the MDP11_VCARD environment variable. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/conf.h"
#include "common/log.h"
#include "pkcs11/module.h"

#define MDP11_DEFAULT_CONF MDP11_SYSCONFDIR "/mdp11/mdp11.conf"

static bool
push_str(char ***list, size_t *n, const char *v)
{
	char **l = realloc(*list, (*n + 1) * sizeof(**list));

	if (!l)
		return false;
	*list = l;
	l[*n] = strdup(v);
	if (!l[*n])
		return false;
	(*n)++;
	return true;
}

static bool
push_vcard(struct settings *s, const char *label, const char *path)
{
	struct settings_vcard *v = realloc(s->vcards, (s->n_vcards + 1) * sizeof(*v));

	if (!v)
		return false;
	s->vcards = v;
	v[s->n_vcards].label = strdup(label);
	v[s->n_vcards].path = strdup(path);
	v[s->n_vcards].seal = NULL;
	if (!v[s->n_vcards].label || !v[s->n_vcards].path) {
		free(v[s->n_vcards].label);
		free(v[s->n_vcards].path);
		return false;
	}
	s->n_vcards++;
	return true;
}

/* MDP11_VCARD=PATH[:PATH...]: the label of each card is the file's base name. */
static CK_RV
load_env_vcards(struct settings *s)
{
	const char *env = secure_getenv("MDP11_VCARD");
	char *copy, *tok, *save = NULL;
	CK_RV rv = CKR_OK;

	if (!env || !*env)
		return CKR_OK;
	copy = strdup(env);
	if (!copy)
		return CKR_HOST_MEMORY;
	for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		const char *base = strrchr(tok, '/');

		base = base ? base + 1 : tok;
		if (!push_vcard(s, *base ? base : tok, tok)) {
			rv = CKR_HOST_MEMORY;
			break;
		}
	}
	free(copy);
	return rv;
}

static CK_RV
config_error(void)
{
	/* Printed even with logging off: a typo in the configuration must never go unnoticed. */
	fprintf(stderr, "mdp11: configuration error: %s\n", mdp_err_last());
	log_error("configuration error: %s", mdp_err_last());
	return CKR_GENERAL_ERROR;
}

/* A [vcard "label"] entry: a label, a file, and one file per label (a second one is a typo). */
static CK_RV
check_vcard(const struct mdp_config *cfg, size_t at)
{
	const struct mdp_config_entry *e = &cfg->entries[at];
	size_t i;

	if (!e->name || !*e->name) {
		mdp_err_reason(MDP_ERR_CONFIG,
			       "%s:%d: a virtual card section needs a label: [vcard \"name\"]",
			       cfg->origin, e->line);
		return config_error();
	}
	if (!*e->value) {
		mdp_err_reason(MDP_ERR_CONFIG, "%s:%d: path: [vcard \"%s\"] needs its card file",
			       cfg->origin, e->line, e->name);
		return config_error();
	}
	for (i = 0; i < at; i++) {
		const struct mdp_config_entry *p = &cfg->entries[i];

		if (strcmp(p->section, "vcard") == 0 && strcmp(p->key, "path") == 0 && p->name &&
		    strcmp(p->name, e->name) == 0) {
			mdp_err_reason(MDP_ERR_CONFIG,
				       "%s:%d: [vcard \"%s\"] has its path already (line %d): "
				       "one card per label",
				       cfg->origin, e->line, e->name, p->line);
			return config_error();
		}
	}
	return CKR_OK;
}

/* [vcard "label"] seal = SEAL: where that card's seal is (a section with a path). */
static CK_RV
read_vcard_seals(struct settings *s, const struct mdp_config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->count; i++) {
		const struct mdp_config_entry *e = &cfg->entries[i];

		if (strcmp(e->section, "vcard") != 0 || strcmp(e->key, "seal") != 0)
			continue;
		for (j = 0; j < s->n_vcards; j++) {
			if (e->name && strcmp(s->vcards[j].label, e->name) == 0)
				break;
		}
		if (j == s->n_vcards) {
			mdp_err_reason(MDP_ERR_CONFIG,
				       "%s:%d: seal without a path in its [vcard] section",
				       cfg->origin, e->line);
			return config_error();
		}
		free(s->vcards[j].seal);
		s->vcards[j].seal = strdup(e->value);
		if (!s->vcards[j].seal)
			return CKR_HOST_MEMORY;
	}
	return CKR_OK;
}

const char *
settings_vcard_seal(const struct settings *s, const char *path)
{
	size_t i;

	for (i = 0; i < s->n_vcards; i++) {
		if (strcmp(s->vcards[i].path, path) == 0)
			return s->vcards[i].seal;
	}
	return NULL;
}

static CK_RV
read_config(struct settings *s, const struct mdp_config *cfg)
{
	long v;
	bool b;
	size_t i;
	const char *str;
	CK_RV rv;

	if (mdp_config_check_keys(cfg, mdp_config_module_keys))
		return config_error();
	/* Errors and warnings are shown by default: a card file that cannot be used says why. */
	if (mdp_config_get_long(cfg, "global", NULL, "debug", 0, 5, SETTINGS_DEBUG_DEFAULT, &v))
		return config_error();
	s->debug = (int)v;
	str = mdp_config_get(cfg, "global", NULL, "debug_file");
	if (str && *str) {
		/* The file the log will go to must open now, not be dropped silently later. */
		FILE *f = fopen(str, "ae");

		if (!f) {
			mdp_err_reason(MDP_ERR_CONFIG, "%s:%d: debug_file: cannot open %s: %s",
				       cfg->origin,
				       mdp_config_find(cfg, "global", NULL, "debug_file")->line,
				       str, strerror(errno));
			return config_error();
		}
		fclose(f);
		if (!(s->debug_file = strdup(str)))
			return CKR_HOST_MEMORY;
	}
	if (mdp_config_get_bool(cfg, "readers", NULL, "pcsc", true, &b))
		return config_error();
	s->pcsc = b;
	str = mdp_config_get(cfg, "token", NULL, "label");
	if (str && *str && !(s->token_label = strdup(str)))
		return CKR_HOST_MEMORY;
	if (mdp_config_get_bool(cfg, "token", NULL, "ecdh_public_objects", false, &b))
		return config_error();
	s->ecdh_public_objects = b;

	str = mdp_config_get(cfg, "cache", NULL, "mode");
	if (!str || strcmp(str, "memory") == 0) {
		s->cache_mode = SETTINGS_CACHE_MEMORY;
	} else if (strcmp(str, "persistent") == 0) {
		s->cache_mode = SETTINGS_CACHE_PERSISTENT;
	} else {
		mdp_err_reason(MDP_ERR_CONFIG, "%s:%d: mode: expected memory or persistent",
			       cfg->origin, mdp_config_find(cfg, "cache", NULL, "mode")->line);
		return config_error();
	}
	str = mdp_config_get(cfg, "cache", NULL, "dir");
	if (str && *str && !(s->cache_dir = strdup(str)))
		return CKR_HOST_MEMORY;
	if (s->cache_mode == SETTINGS_CACHE_PERSISTENT && !s->cache_dir) {
		mdp_err_reason(MDP_ERR_CONFIG,
			       "%s: [cache] mode = persistent needs dir = DIRECTORY", cfg->origin);
		return config_error();
	}

	if (mdp_config_get_long(cfg, "policy", NULL, "rsa_min_bits", 512, 16384, 1024, &v))
		return config_error();
	s->rsa_min_bits = (unsigned)v;
	if (mdp_config_get_long(cfg, "policy", NULL, "rsa_max_bits", 512, 16384, 4096, &v))
		return config_error();
	s->rsa_max_bits = (unsigned)v;
	if (mdp_config_get_long(cfg, "policy", NULL, "rsa_default_bits", 512, 16384, 2048, &v))
		return config_error();
	s->rsa_default_bits = (unsigned)v;
	if (s->rsa_min_bits > s->rsa_max_bits || s->rsa_default_bits < s->rsa_min_bits ||
	    s->rsa_default_bits > s->rsa_max_bits) {
		mdp_err_reason(MDP_ERR_CONFIG,
			       "%s: [policy] needs rsa_min_bits <= "
			       "rsa_default_bits <= rsa_max_bits",
			       cfg->origin);
		return config_error();
	}
	if (mdp_config_get_bool(cfg, "policy", NULL, "allow_private_exchange_key_import", true,
				&s->allow_import_exchange) ||
	    mdp_config_get_bool(cfg, "policy", NULL, "allow_private_signature_key_import", true,
				&s->allow_import_signature) ||
	    mdp_config_get_bool(cfg, "policy", NULL, "allow_private_ecdsa_key_import", true,
				&s->allow_import_ecdsa) ||
	    mdp_config_get_bool(cfg, "policy", NULL, "allow_private_ecdhe_key_import", true,
				&s->allow_import_ecdhe))
		return config_error();

	for (i = 0; i < cfg->count; i++) {
		const struct mdp_config_entry *e = &cfg->entries[i];

		if (strcmp(e->section, "readers") == 0 && strcmp(e->key, "include") == 0) {
			if (!push_str(&s->reader_include, &s->n_reader_include, e->value))
				return CKR_HOST_MEMORY;
		} else if (strcmp(e->section, "readers") == 0 && strcmp(e->key, "exclude") == 0) {
			if (!push_str(&s->reader_exclude, &s->n_reader_exclude, e->value))
				return CKR_HOST_MEMORY;
		} else if (strcmp(e->section, "vcard") == 0 && strcmp(e->key, "path") == 0) {
			rv = check_vcard(cfg, i);
			if (rv != CKR_OK)
				return rv;
			if (!push_vcard(s, e->name, e->value))
				return CKR_HOST_MEMORY;
		}
	}
	return read_vcard_seals(s, cfg);
}

/*
 * The environment is read with secure_getenv(): in a set-user-ID or otherwise privileged
 * program that loads the module, MDP11_CONF and MDP11_VCARD are ignored.
 */
CK_RV
settings_load(struct settings *s)
{
	const char *path = secure_getenv("MDP11_CONF");
	struct mdp_config *cfg = NULL;
	enum mdp_err err;
	CK_RV rv;

	memset(s, 0, sizeof(*s));
	s->debug = SETTINGS_DEBUG_DEFAULT;
	s->pcsc = true;
	s->cache_mode = SETTINGS_CACHE_MEMORY;
	s->rsa_min_bits = 1024;
	s->rsa_max_bits = 4096;
	s->rsa_default_bits = 2048;
	s->allow_import_exchange = s->allow_import_signature = true;
	s->allow_import_ecdsa = s->allow_import_ecdhe = true;

	if (!path || !*path)
		path = MDP11_DEFAULT_CONF;
	err = mdp_config_load(path, &cfg);
	if (err == MDP_ERR_NOT_FOUND) {
		/* A named file that is missing is an error; the installed default may be absent. */
		if (secure_getenv("MDP11_CONF") && *secure_getenv("MDP11_CONF"))
			return config_error();
		err = mdp_config_parse("", 0, path, &cfg);
	}
	if (err)
		return err == MDP_ERR_NOMEM ? CKR_HOST_MEMORY : config_error();
	s->cfg = cfg;
	rv = read_config(s, cfg);
	if (rv == CKR_OK)
		rv = load_env_vcards(s);
	if (rv != CKR_OK)
		settings_clear(s);
	return rv;
}

static void
free_list(char **l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void
settings_clear(struct settings *s)
{
	size_t i;

	free(s->debug_file);
	free_list(s->reader_include, s->n_reader_include);
	free_list(s->reader_exclude, s->n_reader_exclude);
	for (i = 0; i < s->n_vcards; i++) {
		free(s->vcards[i].label);
		free(s->vcards[i].path);
		free(s->vcards[i].seal);
	}
	free(s->vcards);
	free(s->token_label);
	free(s->cache_dir);
	mdp_config_free(s->cfg);
	memset(s, 0, sizeof(*s));
}

bool
settings_reader_wanted(const struct settings *s, const char *reader)
{
	size_t i;
	bool in = s->n_reader_include == 0;

	if (!s->pcsc)
		return false;
	for (i = 0; i < s->n_reader_include && !in; i++)
		in = fnmatch(s->reader_include[i], reader, 0) == 0;
	for (i = 0; i < s->n_reader_exclude && in; i++)
		in = fnmatch(s->reader_exclude[i], reader, 0) != 0;
	return in;
}
