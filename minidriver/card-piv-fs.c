/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PIV card module's virtual file system: cardid, cardcf, cmapfile, certificates, msroots
 * and mdp11's directory over PIV objects (docs/piv.md "Files"). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/card-piv.h"

/* ---- the virtual file system (docs/piv.md "Files") ---- */

static const uint8_t cardapps[8] = {'m', 's', 'c', 'p', 0, 0, 0, 0};

enum file_kind {
	F_NONE,
	F_CARDID,
	F_CARDCF,
	F_CARDAPPS,
	F_CMAP,
	F_CERT,
	F_ROOTS,
	F_APP, /* a file of mdp11's directory */
};

static bool
is_dir(const char *dir, const char *name)
{
	return dir && strcasecmp(dir, name) == 0;
}

/* kxcNN / kscNN: the container index (hex or decimal-looking: both are hex digits here) */
static bool
cert_file(const char *file, uint8_t *index)
{
	unsigned v = 0;
	size_t i, n = strlen(file);

	if (n < 4 || n > 5 ||
	    (strncasecmp(file, "kxc", 3) != 0 && strncasecmp(file, "ksc", 3) != 0))
		return false;
	for (i = 3; i < n; i++) {
		int d = mdp_hex_digit((unsigned char)file[i]);

		if (d < 0)
			return false;
		v = v * 16 + (unsigned)d;
	}
	*index = (uint8_t)v;
	return v < PIV_MAX_CONTAINERS;
}

static enum file_kind
classify(const char *dir, const char *file, uint8_t *index)
{
	if (!dir) {
		if (strcasecmp(file, "cardid") == 0)
			return F_CARDID;
		if (strcasecmp(file, "cardcf") == 0)
			return F_CARDCF;
		if (strcasecmp(file, "cardapps") == 0)
			return F_CARDAPPS;
		return F_NONE;
	}
	if (is_dir(dir, "mscp")) {
		if (strcasecmp(file, "cmapfile") == 0)
			return F_CMAP;
		if (strcasecmp(file, "msroots") == 0)
			return F_ROOTS;
		if (cert_file(file, index))
			return F_CERT;
		return F_NONE;
	}
	if (is_dir(dir, "mdp11"))
		return F_APP;
	return F_NONE;
}

/* The slot a certificate file names: its container's; -1 when the container has none. */
static int
cert_slot(struct piv *p, uint8_t index)
{
	if (index >= p->ncont || !p->cont[index].used)
		return -1;
	return piv_slot_index(p->cont[index].slot);
}

static enum md_rv
load_roots(struct md_card *card)
{
	struct piv *p = piv_of(card);
	struct mdp_buf b;
	size_t objects = 0;
	enum md_rv rv;

	if (p->roots_valid)
		return MD_OK;
	buf_init(&b);
	rv = piv_read_chunks(card, PIV_OBJ_MSROOTS1, PIV_MSROOTS_OBJECTS, &b, &objects);
	if (rv == MD_OK || rv == MD_E_FILE_NOT_FOUND) {
		free(p->roots);
		p->roots = NULL;
		p->roots_len = 0;
		if (rv == MD_OK && b.len) {
			p->roots_len = b.len;
			p->roots = buf_steal(&b, &p->roots_len);
		}
		p->roots_valid = true;
		rv = MD_OK;
	}
	buf_free(&b);
	return rv;
}

static enum md_rv
out_copy(const uint8_t *src, size_t n, uint8_t **data, size_t *len)
{
	*data = malloc(n ? n : 1);
	if (!*data)
		return MD_E_NO_MEMORY;
	if (n)
		memcpy(*data, src, n);
	*len = n;
	return MD_OK;
}

enum md_rv
piv_read_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
	      uint8_t **data, size_t *len)
{
	struct piv *p = piv_of(card);
	struct piv_store_file *f;
	struct mdp_buf b;
	uint8_t cf[6], index = 0;
	const uint8_t *cert;
	size_t clen;
	enum file_kind k = classify(dir, file, &index);
	enum md_rv rv;
	int si;

	rv = piv_sync(card);
	if (rv != MD_OK)
		return rv;
	switch (k) {
	case F_CARDID:
		rv = piv_load_chuid(card);
		return rv == MD_OK ? out_copy(p->cardid, sizeof(p->cardid), data, len) : rv;
	case F_CARDCF:
		rv = piv_load_chuid(card);
		if (rv != MD_OK)
			return rv;
		piv_cardcf(card, cf);
		return out_copy(cf, sizeof(cf), data, len);
	case F_CARDAPPS:
		return out_copy(cardapps, sizeof(cardapps), data, len);
	default:
		break;
	}
	if (dir && !is_dir(dir, "mscp") && !is_dir(dir, "mdp11"))
		return MD_E_DIR_NOT_FOUND;
	rv = piv_load_view(card);
	if (rv != MD_OK)
		return rv;
	switch (k) {
	case F_CMAP:
		buf_init(&b);
		piv_cmap_encode(p, &b);
		rv = b.bad ? MD_E_NO_MEMORY : out_copy(b.data, b.len, data, len);
		buf_free(&b);
		return rv;
	case F_CERT:
		si = cert_slot(p, index);
		if (si < 0)
			return MD_E_FILE_NOT_FOUND;
		rv = piv_slot_cert(card, si, &cert, &clen);
		if (rv != MD_OK)
			return rv;
		return cert ? out_copy(cert, clen, data, len) : MD_E_FILE_NOT_FOUND;
	case F_ROOTS:
		rv = load_roots(card);
		if (rv != MD_OK)
			return rv;
		return p->roots ? out_copy(p->roots, p->roots_len, data, len) : MD_E_FILE_NOT_FOUND;
	case F_APP:
		f = piv_store_find(&p->store, file);
		return f ? out_copy(f->data, f->len, data, len) : MD_E_FILE_NOT_FOUND;
	default:
		return MD_E_FILE_NOT_FOUND;
	}
}

static enum md_rv
write_roots(struct md_card *card, const uint8_t *data, size_t len)
{
	struct piv *p = piv_of(card);
	size_t objects = 0;
	enum md_rv rv;

	/* libykpiv's reader stops at the last chunk (82), so stale objects after it are harmless */
	rv = piv_write_chunks(card, PIV_OBJ_MSROOTS1, PIV_MSROOTS_OBJECTS, data, len, 0, &objects);
	free(p->roots);
	p->roots = NULL;
	p->roots_len = 0;
	p->roots_valid = false;
	return rv;
}

static enum md_rv
write_app_file(struct md_card *card, const char *file, const uint8_t *data, size_t len)
{
	struct piv *p = piv_of(card);
	struct piv_store_file *f = piv_store_find(&p->store, file);
	uint8_t *copy, *old;
	size_t old_len;
	enum md_rv rv;

	if (!f)
		return MD_E_FILE_NOT_FOUND;
	copy = len ? mdp_memdup(data, len) : malloc(1);
	if (!copy)
		return MD_E_NO_MEMORY;
	old = f->data;
	old_len = f->len;
	f->data = copy;
	f->len = len;
	rv = piv_store_save(card);
	if (rv != MD_OK) {
		f = piv_store_find(&p->store, file);
		if (f) {
			f->data = old;
			f->len = old_len;
			old = copy;
		}
	}
	free(old);
	return rv;
}

enum md_rv
piv_write_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
	       const uint8_t *data, size_t len)
{
	struct piv *p = piv_of(card);
	uint8_t index = 0;
	enum file_kind k = classify(dir, file, &index);
	enum md_rv rv;
	int si;

	rv = piv_sync(card);
	if (rv != MD_OK)
		return rv;
	if (k == F_CARDCF)
		return piv_write_cardcf(card, data, len);
	if (k == F_CARDID || k == F_CARDAPPS)
		return piv_refuse(MD_E_NO_ACCESS, "%s is derived from the PIV card, not stored",
				  file);
	if (k == F_NONE)
		return dir && !is_dir(dir, "mscp") && !is_dir(dir, "mdp11") ? MD_E_DIR_NOT_FOUND
									    : MD_E_FILE_NOT_FOUND;
	rv = piv_load_view(card);
	if (rv != MD_OK)
		return rv;
	switch (k) {
	case F_CMAP:
		return piv_write_cmap(card, data, len);
	case F_CERT:
		si = cert_slot(p, index);
		if (si < 0)
			return MD_E_FILE_NOT_FOUND;
		rv = piv_slot_write_cert(card, si, len ? data : NULL, len);
		/* the record's certificate fingerprint follows (§7.2) */
		if (rv == MD_OK && p->have_map && !p->cont[index].pending)
			rv = piv_save_map(card);
		return rv;
	case F_ROOTS:
		return write_roots(card, data, len);
	case F_APP:
		return write_app_file(card, file, data, len);
	default:
		return MD_E_FILE_NOT_FOUND;
	}
}

enum md_rv
piv_create_file(struct md_card *card, const char *dir, const char *file, uint32_t size,
		enum md_file_access ac)
{
	struct piv *p = piv_of(card);
	struct piv_store_file *f;
	uint8_t index = 0;
	enum file_kind k = classify(dir, file, &index);
	enum md_rv rv;
	size_t i;

	rv = piv_view(card);
	if (rv != MD_OK)
		return rv;
	switch (k) {
	case F_CARDID:
	case F_CARDCF:
	case F_CARDAPPS:
	case F_CMAP:
		return MD_ERROR_FILE_EXISTS;
	case F_CERT:
		/* a certificate file exists where its container does: created by the write */
		return cert_slot(p, index) >= 0
			       ? MD_OK
			       : piv_refuse(MD_E_INVALID_PARAMETER,
					    "%s: PIV keeps certificates only in key slots, and "
					    "container %u holds no key",
					    file, index);
	case F_ROOTS:
		return MD_OK;
	case F_APP:
		if (ac != MD_AC_EVERYONE_READ_USER_WRITE && ac != MD_AC_EVERYONE_READ_ADMIN_WRITE)
			return piv_refuse(MD_E_UNSUPPORTED_FEATURE,
					  "PIV cards have no storage readable by the user only: "
					  "private data objects are not supported");
		if (piv_store_find(&p->store, file))
			return MD_ERROR_FILE_EXISTS;
		for (i = 0; file[i]; i++)
			if (file[i] >= 'A' && file[i] <= 'Z')
				break;
		if (file[i] || strlen(file) > 8 || p->store.nfiles == PIV_STORE_FILES)
			return MD_E_INVALID_PARAMETER;
		f = &p->store.files[p->store.nfiles];
		memset(f, 0, sizeof(*f));
		f->data = malloc(1);
		if (!f->data)
			return MD_E_NO_MEMORY;
		snprintf(f->name, sizeof(f->name), "%s", file);
		p->store.nfiles++;
		/* stored by the first write (an empty file costs nothing on the card) */
		return MD_OK;
	default:
		return dir && !is_dir(dir, "mscp") && !is_dir(dir, "mdp11")
			       ? MD_E_DIR_NOT_FOUND
			       : piv_refuse(MD_E_UNSUPPORTED_FEATURE,
					    "a PIV card has no place for file %s", file);
	}
}

enum md_rv
piv_delete_file(struct md_card *card, const char *dir, const char *file, uint32_t flags)
{
	struct piv *p = piv_of(card);
	struct piv_store_file *f;
	uint8_t index = 0;
	enum file_kind k = classify(dir, file, &index);
	const uint8_t *cert;
	size_t clen;
	enum md_rv rv;
	int si;

	rv = piv_view(card);
	if (rv != MD_OK)
		return rv;
	switch (k) {
	case F_CERT:
		si = cert_slot(p, index);
		if (si < 0)
			return MD_E_FILE_NOT_FOUND;
		rv = piv_slot_cert(card, si, &cert, &clen);
		if (rv != MD_OK)
			return rv;
		return cert ? piv_slot_write_cert(card, si, NULL, 0) : MD_E_FILE_NOT_FOUND;
	case F_ROOTS:
		rv = load_roots(card);
		if (rv != MD_OK || !p->roots)
			return rv == MD_OK ? MD_E_FILE_NOT_FOUND : rv;
		rv = piv_put_object(card, PIV_OBJ_MSROOTS1, NULL, 0);
		p->roots_valid = false;
		return rv;
	case F_APP:
		f = piv_store_find(&p->store, file);
		if (!f)
			return MD_E_FILE_NOT_FOUND;
		{
			struct piv_store_file gone = *f;
			size_t i = (size_t)(f - p->store.files);

			memmove(f, f + 1, (p->store.nfiles - i - 1) * sizeof(*f));
			p->store.nfiles--;
			rv = piv_store_save(card);
			if (rv != MD_OK) {
				/* put it back where it was */
				memmove(&p->store.files[i + 1], &p->store.files[i],
					(p->store.nfiles - i) * sizeof(*f));
				p->store.files[i] = gone;
				p->store.nfiles++;
				return rv;
			}
			free(gone.data);
		}
		return MD_OK;
	case F_NONE:
		return MD_E_FILE_NOT_FOUND;
	default:
		return piv_refuse(MD_E_NO_ACCESS, "%s belongs to the PIV card's structure", file);
	}
}

enum md_rv
piv_enum_files(struct md_card *card, const char *dir, char **names, size_t *len, uint32_t flags)
{
	struct piv *p = piv_of(card);
	struct mdp_buf b;
	char n[16];
	size_t i;
	enum md_rv rv;

	rv = piv_sync(card);
	if (rv != MD_OK)
		return rv;
	buf_init(&b);
	if (!dir) {
		buf_put_bytes(&b, "cardid\0cardcf\0cardapps\0", 23);
	} else if (is_dir(dir, "mscp")) {
		rv = piv_load_view(card);
		if (rv == MD_OK)
			rv = load_roots(card);
		if (rv != MD_OK)
			goto out;
		buf_put_bytes(&b, "cmapfile", 9);
		for (i = 0; i < p->ncont; i++) {
			const struct piv_cont *c = &p->cont[i];
			const struct piv_slot *s;

			if (!c->used)
				continue;
			s = &p->slots[piv_slot_index(c->slot)];
			if (!s->cert)
				continue;
			snprintf(n, sizeof(n), "%s%02X",
				 MDP_KEY_SPEC_IS_SIG_SLOT(c->spec) ? "ksc" : "kxc", (unsigned)i);
			buf_put_bytes(&b, n, strlen(n) + 1);
		}
		if (p->roots)
			buf_put_bytes(&b, "msroots", 8);
	} else if (is_dir(dir, "mdp11")) {
		rv = piv_load_view(card);
		if (rv != MD_OK)
			goto out;
		for (i = 0; i < p->store.nfiles; i++)
			buf_put_bytes(&b, p->store.files[i].name,
				      strlen(p->store.files[i].name) + 1);
	} else {
		rv = MD_E_DIR_NOT_FOUND;
		goto out;
	}
	buf_put_u8(&b, 0);
	if (b.bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	*len = b.len;
	*names = (char *)buf_steal(&b, len);
	if (!*names)
		rv = MD_E_NO_MEMORY;
out:
	buf_free(&b);
	return rv;
}

enum md_rv
piv_get_file_info(struct md_card *card, const char *dir, const char *file, struct md_file_info *fi)
{
	uint8_t *d = NULL;
	size_t n = 0;
	uint8_t index;
	enum file_kind k = classify(dir, file, &index);
	enum md_rv rv;

	rv = piv_read_file(card, dir, file, 0, &d, &n);
	if (rv != MD_OK)
		return rv;
	free(d);
	fi->size = (uint32_t)n;
	fi->access = k == F_CARDID || k == F_CARDAPPS ? MD_AC_EVERYONE_READ_ADMIN_WRITE
						      : MD_AC_EVERYONE_READ_USER_WRITE;
	return MD_OK;
}

enum md_rv
piv_create_directory(struct md_card *card, const char *dir, enum md_dir_access ac)
{
	/* mscp and mdp11 always exist in the minidriver view of a PIV card */
	if (strcasecmp(dir, "mscp") == 0 || strcasecmp(dir, "mdp11") == 0)
		return MD_ERROR_FILE_EXISTS;
	return piv_refuse(MD_E_UNSUPPORTED_FEATURE, "a PIV card has no directory %s", dir);
}

enum md_rv
piv_delete_directory(struct md_card *card, const char *dir)
{
	struct piv *p = piv_of(card);
	enum md_rv rv;
	size_t i;

	if (strcasecmp(dir, "mdp11") != 0)
		return piv_refuse(MD_E_NO_ACCESS,
				  "directory %s belongs to the PIV card's structure", dir);
	rv = piv_view(card);
	if (rv != MD_OK)
		return rv;
	for (i = 0; i < p->store.nfiles; i++)
		free(p->store.files[i].data);
	p->store.nfiles = 0;
	return piv_store_save(card);
}
