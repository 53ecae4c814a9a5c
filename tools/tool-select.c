/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-tool: which card a PKCS#11 URI names, and which key the container, label, id and URI
 * options select, by what the PKCS#11 module shows (CKA_LABEL, CKA_ID, object class). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/err.h>

#include "blob/blob.h"
#include "tools/tool-card.h"

/* ---- the card a URI names ---- */

/* "M" or "M.m" (RFC 7512 library-version; a missing minor is 0). */
static bool
parse_version(const char *s, long *major, long *minor)
{
	char *end = NULL;

	if (*s < '0' || *s > '9')
		return false;
	*major = strtol(s, &end, 10);
	*minor = 0;
	if (*end == '\0')
		return true;
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return false;
	*minor = strtol(end + 1, &end, 10);
	return *end == '\0';
}

int
tool_uri_card_prepare(const struct tool_opts *o, struct tool_uri *uri)
{
	long major, minor;
	int rc = TOOL_EXIT_USAGE;

	if (tool_uri_parse(o->token_uri, uri) != MDP_OK)
		return tool_error(TOOL_EXIT_USAGE, "--token: %s", mdp_err_last());
	if (uri->pin_value)
		tool_error(rc, "--token: pin-value in a URI is refused (give the PIN with "
			       "--pin-file or --pin-env)");
	else if (uri->pin_source)
		tool_error(rc, "--token: pin-source in a URI is not read (give the PIN file with "
			       "--pin-file)");
	else if (uri->slot_id >= 0)
		tool_error(rc,
			   "--token: slot-id is a PKCS#11 module's number: use --card N instead");
	else if (uri->unknown)
		tool_error(rc,
			   "--token: mdp11-tool cannot check the attribute \"%s\" (it selects "
			   "nothing it could honour)",
			   uri->unknown);
	else if (uri->library_version && !parse_version(uri->library_version, &major, &minor))
		tool_error(rc, "--token: library-version \"%s\" is not M or M.m",
			   uri->library_version);
	else if ((uri->object || uri->id || uri->type) && !(o->mask & TOOL_O_CONTAINER))
		tool_error(rc,
			   "--token: object=, id= and type= select a key; 'mdp11-tool %s' does "
			   "not work on one",
			   o->cmd ? o->cmd : "");
	else
		rc = TOOL_EXIT_OK;
	if (rc != TOOL_EXIT_OK)
		tool_uri_clear(uri);
	return rc;
}

/* Does module-path name this module: a file called mdp11.so, or a directory holding one? */
static bool
module_path_matches(const char *path)
{
	const char *base = strrchr(path, '/');
	struct stat st;
	char *inside;
	bool ok;

	base = base ? base + 1 : path;
	if (strcmp(base, "mdp11.so") == 0)
		return true;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return false;
	inside = malloc(strlen(path) + sizeof("/mdp11.so"));
	if (inside == NULL)
		return false;
	sprintf(inside, "%s/mdp11.so", path);
	ok = stat(inside, &st) == 0;
	free(inside);
	return ok;
}

bool
tool_uri_card_matches(const struct tool_uri *u, const struct tool_card *c)
{
	long major = 0, minor = 0;

	if (u->token && strcmp(u->token, c->label) != 0)
		return false;
	if (u->manufacturer && strcmp(u->manufacturer, "mdp11") != 0)
		return false;
	if (u->model && strcmp(u->model, c->info.card_name) != 0)
		return false;
	if (u->serial && strcasecmp(u->serial, c->info.serial) != 0)
		return false;
	if (u->slot_description && strcmp(u->slot_description, c->slot->name) != 0)
		return false;
	if (u->slot_manufacturer &&
	    strcmp(u->slot_manufacturer, c->slot->is_vcard ? "mdp11 virtual card" : "PC/SC") != 0)
		return false;
	if (u->library_manufacturer && strcmp(u->library_manufacturer, "mdp11") != 0)
		return false;
	if (u->library_description &&
	    strcmp(u->library_description, "mdp11 minidriver PKCS#11 module") != 0)
		return false;
	if (u->library_version && (!parse_version(u->library_version, &major, &minor) ||
				   major != MDP11_VERSION_MAJOR || minor != MDP11_VERSION_MINOR))
		return false;
	if (u->module_name && strcmp(u->module_name, "mdp11") != 0)
		return false;
	if (u->module_path && !module_path_matches(u->module_path))
		return false;
	return true;
}

/* ---- the key the options select ---- */

/* Append "name value" (value quoted when quote) to the words of the selection. */
static void
add_what(struct tool_key_sel *sel, const char *name, const char *v, bool quote)
{
	size_t n = strlen(sel->what);
	const char *sep = name[strlen(name) - 1] == '=' ? "" : " ";

	snprintf(sel->what + n, sizeof(sel->what) - n, "%s%s%s%s%s%s", n ? ", " : "", name, sep,
		 quote ? "\"" : "", v, quote ? "\"" : "");
}

static int
parse_type(const char *t, enum tool_obj_type *out)
{
	if (strcmp(t, "private") == 0)
		*out = TOOL_OBJ_PRIVATE;
	else if (strcmp(t, "public") == 0)
		*out = TOOL_OBJ_PUBLIC;
	else if (strcmp(t, "cert") == 0)
		*out = TOOL_OBJ_CERT;
	else if (strcmp(t, "data") == 0 || strcmp(t, "secret-key") == 0)
		return tool_error(TOOL_EXIT_USAGE,
				  "--token: type=%s selects no key: mdp11-tool works on key "
				  "pairs and their certificates (type=private, public or cert)",
				  t);
	else
		return tool_error(TOOL_EXIT_USAGE,
				  "--token: unknown object type \"%s\" (private, public, cert, "
				  "secret-key or data)",
				  t);
	return TOOL_EXIT_OK;
}

int
tool_key_sel_init(const struct tool_opts *o, struct tool_key_sel *sel)
{
	struct tool_uri uri;
	char num[16];
	int rc = TOOL_EXIT_OK;

	memset(sel, 0, sizeof(*sel));
	memset(&uri, 0, sizeof(uri));
	sel->container = o->container;
	sel->name = o->name;
	sel->key_spec = o->key_spec;
	if (o->container >= 0) {
		snprintf(num, sizeof(num), "%d", o->container);
		add_what(sel, "container", num, false);
	}
	if (o->name)
		add_what(sel, "name", o->name, true);
	if (o->label) {
		sel->label = o->label;
		add_what(sel, "label", o->label, true);
	}
	if (o->id_hex) {
		tool_hex_decode_var(o->id_hex, sel->id, sizeof(sel->id), &sel->id_len);
		add_what(sel, "id", o->id_hex, false);
	}
	if (o->token_uri == NULL)
		return TOOL_EXIT_OK;
	if (tool_uri_parse(o->token_uri, &uri) != MDP_OK)
		return tool_error(TOOL_EXIT_USAGE, "--token: %s", mdp_err_last());
	if (uri.object) {
		if (sel->label && strcmp(sel->label, uri.object) != 0) {
			rc = tool_error(TOOL_EXIT_USAGE,
					"--label \"%s\" and the URI's object=\"%s\" contradict "
					"each other",
					sel->label, uri.object);
			goto out;
		}
		sel->label_owned = uri.object;
		uri.object = NULL;
		sel->label = sel->label_owned;
		if (!o->label)
			add_what(sel, "object=", sel->label, true);
	}
	if (uri.id) {
		if (uri.id_len == 0 || uri.id_len > sizeof(sel->id) ||
		    (sel->id_len &&
		     (sel->id_len != uri.id_len || memcmp(sel->id, uri.id, uri.id_len) != 0))) {
			rc = tool_error(TOOL_EXIT_USAGE, "%s",
					uri.id_len == 0 || uri.id_len > sizeof(sel->id)
						? "--token: id= wants 1 to 255 bytes"
						: "--id and the URI's id= contradict each other");
			goto out;
		}
		memcpy(sel->id, uri.id, uri.id_len);
		sel->id_len = uri.id_len;
		if (!o->id_hex) {
			char hex[2 * sizeof(sel->id) + 1];
			size_t i;

			for (i = 0; i < sel->id_len; i++)
				snprintf(hex + 2 * i, 3, "%02x", sel->id[i]);
			add_what(sel, "id", hex, false);
		}
	}
	if (uri.type) {
		rc = parse_type(uri.type, &sel->type);
		if (rc != TOOL_EXIT_OK)
			goto out;
		add_what(sel, "type=", uri.type, false);
	}
out:
	tool_uri_clear(&uri);
	if (rc != TOOL_EXIT_OK)
		tool_key_sel_clear(sel);
	return rc;
}

void
tool_key_sel_clear(struct tool_key_sel *sel)
{
	free(sel->label_owned);
	memset(sel, 0, sizeof(*sel));
	sel->container = -1;
}

bool
tool_key_sel_empty(const struct tool_key_sel *sel)
{
	return sel->container < 0 && sel->name == NULL && sel->label == NULL && sel->id_len == 0 &&
	       sel->type == TOOL_OBJ_ANY && sel->pub == NULL;
}

static bool
key_matches(const struct ksp_container *c, int s, const struct tool_key_sel *sel)
{
	const struct ksp_key *k = &c->slot[s];
	bool key_label, cert_label;

	if (k->spec == MDP_AT_NONE)
		return false;
	if (sel->container >= 0 && c->index != sel->container)
		return false;
	if (sel->name && strcmp(c->name, sel->name) != 0)
		return false;
	if (sel->id_len && (k->id_len != sel->id_len || memcmp(k->id, sel->id, sel->id_len) != 0))
		return false;
	if (sel->type == TOOL_OBJ_CERT && k->cert == NULL)
		return false;
	if (sel->label) {
		key_label = k->label && strcmp(k->label, sel->label) == 0;
		cert_label = k->cert && k->cert_label && strcmp(k->cert_label, sel->label) == 0;
		if (sel->type == TOOL_OBJ_CERT	? !cert_label
		    : sel->type == TOOL_OBJ_ANY ? !(key_label || cert_label)
						: !key_label)
			return false;
	}
	if (sel->key_spec &&
	    k->spec != tool_spec_resolve(sel->key_spec,
					 MDP_KEY_SPEC_IS_RSA(k->spec) ? EVP_PKEY_RSA : EVP_PKEY_EC,
					 k->bits))
		return false;
	if (sel->pub) {
		bool same = k->pub && EVP_PKEY_eq(mdp_key_pkey(k->pub), sel->pub) == 1;

		ERR_clear_error();
		if (!same)
			return false;
	}
	return true;
}

/* The keys that match: count, the first, and whether they all are in one container. */
static enum ksp_rv
find_keys(struct tool_card *card, const struct tool_key_sel *sel, const struct ksp_container **c,
	  enum ksp_slot *slot, size_t *n, bool *one_container, char *where, size_t wcap)
{
	const struct ksp_container *list = NULL;
	size_t count = 0, i, len;
	enum ksp_rv rv;
	int s;

	*n = 0;
	*one_container = true;
	where[0] = '\0';
	rv = ksp_card_containers(card->kc, &list, &count);
	if (rv != KSP_OK)
		return rv;
	for (i = 0; i < count; i++) {
		for (s = 0; s < KSP_SLOTS; s++) {
			if (!key_matches(&list[i], s, sel))
				continue;
			if (*n == 0) {
				*c = &list[i];
				*slot = (enum ksp_slot)s;
			} else if ((*c)->index != list[i].index) {
				*one_container = false;
			}
			len = strlen(where);
			if (len + 8 < wcap && (*n == 0 || (*c)->index != list[i].index))
				snprintf(where + len, wcap - len, "%s%u", len ? ", " : "",
					 list[i].index);
			(*n)++;
		}
	}
	return KSP_OK;
}

bool
tool_key_sel_any(struct tool_card *card, const struct tool_key_sel *sel)
{
	const struct ksp_container *c = NULL;
	enum ksp_slot slot;
	bool one;
	char where[64];
	size_t n = 0;

	if (card->kc == NULL || find_keys(card, sel, &c, &slot, &n, &one, where, sizeof(where)))
		return false;
	return n > 0;
}

int
tool_key_find(struct tool_card *card, const struct tool_key_sel *sel,
	      const struct ksp_container **out_c, enum ksp_slot *out_slot)
{
	const struct ksp_container *c = NULL;
	enum ksp_slot slot = KSP_SLOT_EXCHANGE;
	char where[128];
	size_t n = 0;
	bool one = true;
	enum ksp_rv rv;

	if (tool_key_sel_empty(sel))
		return tool_error(TOOL_EXIT_USAGE,
				  "choose the key with --container N, --name NAME, --label TEXT, "
				  "--id HEX or --token 'pkcs11:object=...;id=...'");
	rv = find_keys(card, sel, &c, &slot, &n, &one, where, sizeof(where));
	if (rv != KSP_OK)
		return tool_card_error(rv, "reading the container map");
	if (n == 0 && sel->pub)
		return tool_error(TOOL_EXIT_NOT_FOUND,
				  "no key on the card has the certificate's public key%s%s",
				  sel->what[0] ? " and matches " : "", sel->what);
	if (n == 0 && sel->key_spec)
		return tool_error(TOOL_EXIT_NOT_FOUND, "no %s key matches %s", sel->key_spec,
				  sel->what[0] ? sel->what : "the selection");
	if (n == 0)
		return tool_error(TOOL_EXIT_NOT_FOUND, "no key matches %s (see 'mdp11-tool list')",
				  sel->what);
	if (n > 1 && one)
		return tool_error(TOOL_EXIT_USAGE,
				  "container %u holds two keys that match: choose one with "
				  "--key-spec",
				  c->index);
	if (n > 1)
		return tool_error(TOOL_EXIT_USAGE,
				  "%zu keys match %s (containers %s): narrow the choice with "
				  "--container N or --id HEX",
				  n, sel->what[0] ? sel->what : "the selection", where);
	*out_c = c;
	*out_slot = slot;
	return TOOL_EXIT_OK;
}

int
tool_open_key(struct tool_ctx *ctx, struct tool_opts *o, const struct tool_key_sel *sel,
	      struct tool_card *card, const struct ksp_container **c, enum ksp_slot *slot)
{
	int rc;

	if (tool_key_sel_empty(sel))
		return tool_key_find(card, sel, c, slot); /* the usage message */
	o->key_filter = sel;
	rc = tool_ctx_init(ctx, o->verbose, true);
	if (rc == TOOL_EXIT_OK)
		rc = tool_card_select(ctx, o, false, card);
	if (rc == TOOL_EXIT_OK)
		rc = tool_key_find(card, sel, c, slot);
	return rc;
}
