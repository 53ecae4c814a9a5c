/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PKCS#11 URI parsing (RFC 7512) for mdp11-tool's --token option. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "tools/tool.h"

enum mdp_err
tool_percent_decode(const char *s, size_t len, char **out, size_t *out_len)
{
	char *d = NULL;
	size_t i, n = 0;
	int hi, lo;

	d = malloc(len + 1);
	if (d == NULL)
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			d[n++] = s[i];
			continue;
		}
		if (i + 2 >= len) {
			free(d);
			return mdp_err_reason(MDP_ERR_FORMAT,
					      "'%%' at the end of \"%.*s\" is not a "
					      "%%XX escape",
					      (int)len, s);
		}
		hi = mdp_hex_digit((unsigned char)s[i + 1]);
		lo = mdp_hex_digit((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0) {
			free(d);
			return mdp_err_reason(MDP_ERR_FORMAT, "bad escape '%%%c%c' in \"%.*s\"",
					      s[i + 1], s[i + 2], (int)len, s);
		}
		d[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	d[n] = '\0';
	*out = d;
	*out_len = n;
	return MDP_OK;
}

void
tool_uri_clear(struct tool_uri *u)
{
	free(u->token);
	free(u->manufacturer);
	free(u->model);
	free(u->serial);
	free(u->slot_description);
	free(u->slot_manufacturer);
	free(u->library_manufacturer);
	free(u->library_description);
	free(u->library_version);
	free(u->object);
	free(u->id);
	free(u->type);
	free(u->pin_source);
	free(u->module_name);
	free(u->module_path);
	free(u->unknown);
	memset(u, 0, sizeof(*u));
	u->slot_id = -1;
}

/* The field a path attribute fills, or NULL for attributes handled apart. */
static char **
path_field(struct tool_uri *u, const char *name, size_t nlen)
{
	static const struct {
		const char *name;
		size_t off;
	} map[] = {
		{"token", offsetof(struct tool_uri, token)},
		{"manufacturer", offsetof(struct tool_uri, manufacturer)},
		{"model", offsetof(struct tool_uri, model)},
		{"serial", offsetof(struct tool_uri, serial)},
		{"slot-description", offsetof(struct tool_uri, slot_description)},
		{"slot-manufacturer", offsetof(struct tool_uri, slot_manufacturer)},
		{"library-manufacturer", offsetof(struct tool_uri, library_manufacturer)},
		{"library-description", offsetof(struct tool_uri, library_description)},
		{"library-version", offsetof(struct tool_uri, library_version)},
		{"object", offsetof(struct tool_uri, object)},
		{"id", offsetof(struct tool_uri, id)},
		{"type", offsetof(struct tool_uri, type)},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].name) == nlen && memcmp(map[i].name, name, nlen) == 0)
			return (char **)((char *)u + map[i].off);
	return NULL;
}

static enum mdp_err
parse_slot_id(const char *v, long *out)
{
	char *end = NULL;
	long n;

	errno = 0;
	if (*v < '0' || *v > '9')
		return mdp_err_reason(MDP_ERR_FORMAT, "slot-id \"%s\" is not a number", v);
	n = strtol(v, &end, 10);
	if (errno || *end || n < 0)
		return mdp_err_reason(MDP_ERR_FORMAT, "slot-id \"%s\" is not a number", v);
	*out = n;
	return MDP_OK;
}

/* Keep the first attribute the tool cannot check, for the caller to refuse. */
static enum mdp_err
note_unknown(struct tool_uri *u, const char *name, size_t nlen)
{
	if (u->unknown)
		return MDP_OK;
	u->unknown = malloc(nlen + 1);
	if (u->unknown == NULL)
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	memcpy(u->unknown, name, nlen);
	u->unknown[nlen] = '\0';
	return MDP_OK;
}

/* A query attribute that may be given once. */
static enum mdp_err
set_once(char **field, char *value, const char *name)
{
	if (*field) {
		free(value);
		return mdp_err_reason(MDP_ERR_FORMAT, "%s given twice", name);
	}
	*field = value;
	return MDP_OK;
}

/* One "name=value" of the path (query false) or the query (query true). */
static enum mdp_err
parse_attr(struct tool_uri *u, const char *a, size_t alen, bool query, bool *seen_slot_id,
	   bool *seen_pin_source)
{
	const char *eq = memchr(a, '=', alen);
	size_t nlen;
	char *value = NULL, **field;
	size_t vlen = 0;
	enum mdp_err rv;

	if (eq == NULL)
		return mdp_err_reason(MDP_ERR_FORMAT, "attribute \"%.*s\" has no '='", (int)alen,
				      a);
	nlen = (size_t)(eq - a);
	if (nlen == 0)
		return mdp_err_reason(MDP_ERR_FORMAT, "empty attribute name in \"%.*s\"", (int)alen,
				      a);
	rv = tool_percent_decode(eq + 1, alen - nlen - 1, &value, &vlen);
	if (rv != MDP_OK)
		return rv;
	if (query) {
		if (nlen == 9 && memcmp(a, "pin-value", 9) == 0) {
			u->pin_value = true;
			mdp_secure_free(value, vlen + 1);
			return MDP_OK;
		}
		if (nlen == 10 && memcmp(a, "pin-source", 10) == 0) {
			if (*seen_pin_source) {
				free(value);
				return mdp_err_reason(MDP_ERR_FORMAT, "pin-source given twice");
			}
			*seen_pin_source = true;
			u->pin_source = value;
			return MDP_OK;
		}
		if (nlen == 11 && memcmp(a, "module-name", 11) == 0)
			return set_once(&u->module_name, value, "module-name");
		if (nlen == 11 && memcmp(a, "module-path", 11) == 0)
			return set_once(&u->module_path, value, "module-path");
		free(value);
		return note_unknown(u, a, nlen);
	}
	if (nlen == 7 && memcmp(a, "slot-id", 7) == 0) {
		if (*seen_slot_id) {
			free(value);
			return mdp_err_reason(MDP_ERR_FORMAT, "slot-id given twice");
		}
		*seen_slot_id = true;
		rv = parse_slot_id(value, &u->slot_id);
		free(value);
		return rv;
	}
	field = path_field(u, a, nlen);
	if (field != NULL) {
		if (*field != NULL) {
			free(value);
			return mdp_err_reason(MDP_ERR_FORMAT, "attribute \"%.*s\" given twice",
					      (int)nlen, a);
		}
		*field = value;
		if (field == &u->id)
			u->id_len = vlen;
		return MDP_OK;
	}
	free(value);
	/* A vendor attribute (x-...) or a standard one this tool does not know. */
	return note_unknown(u, a, nlen);
}

enum mdp_err
tool_uri_parse(const char *text, struct tool_uri *out)
{
	struct tool_uri u;
	const char *p, *q, *end, *sep;
	bool seen_slot_id = false, seen_pin_source = false, query = false;
	enum mdp_err rv = MDP_OK;

	memset(&u, 0, sizeof(u));
	u.slot_id = -1;
	if (text == NULL || strncasecmp(text, "pkcs11:", 7) != 0)
		return mdp_err_reason(MDP_ERR_FORMAT, "a PKCS#11 URI starts with \"pkcs11:\"");
	p = text + 7;
	q = strchr(p, '?');
	end = q ? q : p + strlen(p);
	for (;;) {
		char sepc = query ? '&' : ';';

		while (p < end) {
			sep = memchr(p, sepc, (size_t)(end - p));
			if (sep == NULL)
				sep = end;
			if (sep == p) {
				rv = mdp_err_reason(MDP_ERR_FORMAT, "empty attribute in the URI");
				goto out;
			}
			rv = parse_attr(&u, p, (size_t)(sep - p), query, &seen_slot_id,
					&seen_pin_source);
			if (rv != MDP_OK)
				goto out;
			p = sep < end ? sep + 1 : end;
			if (sep < end && p == end) {
				rv = mdp_err_reason(MDP_ERR_FORMAT, "the URI ends with '%c'", sepc);
				goto out;
			}
		}
		if (query || q == NULL)
			break;
		query = true;
		p = q + 1;
		end = p + strlen(p);
	}
	*out = u;
	return MDP_OK;
out:
	tool_uri_clear(&u);
	return rv;
}
