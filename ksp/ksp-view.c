/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role: the view (containers, keys, names, certificates, data objects) built from the
 * tagged store. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define MDP_LOG_AREA MDP_AREA_KSP
#include "blob/blob.h"
#include "common/log.h"
#include "common/secmem.h"
#include "ksp/ksp-int.h"

/* ---- the view ---- */

void
ksp_free_view(struct ksp_card *kc)
{
	size_t i;
	int s;

	for (i = 0; i < kc->nconts; i++) {
		for (s = 0; s < KSP_SLOTS; s++) {
			struct ksp_slot_store *st = &kc->store[i][s];

			mdp_key_free(st->pub);
			free(st->cert);
			free(st->id);
			free(st->label);
			free(st->cert_label);
		}
	}
	free(kc->conts);
	free(kc->store);
	kc->conts = NULL;
	kc->store = NULL;
	kc->nconts = 0;
	ksp_keyattr_free_list(kc->attrs, kc->nattrs);
	kc->attrs = NULL;
	kc->nattrs = 0;
	for (i = 0; i < kc->ndobs; i++)
		ksp_dob_clear(&kc->dob_store[i]);
	free(kc->dob_store);
	free(kc->dobs);
	kc->dob_store = NULL;
	kc->dobs = NULL;
	kc->ndobs = 0;
	kc->view_ok = false;
}

/* The subject CN of a certificate as UTF-8, or NULL. */
static char *
cert_cn(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509_NAME *n;
	char *out = NULL;
	int i;

	if (!x)
		return NULL;
	n = X509_get_subject_name(x);
	i = n ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
	if (i >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
		unsigned char *u = NULL;
		int ul = ASN1_STRING_to_UTF8(&u, s);

		if (ul > 0 && !memchr(u, 0, (size_t)ul)) {
			out = malloc((size_t)ul + 1);
			if (out) {
				memcpy(out, u, (size_t)ul);
				out[ul] = '\0';
			}
		}
		OPENSSL_free(u);
	}
	X509_free(x);
	return out;
}

EVP_PKEY *
ksp_cert_pkey(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	EVP_PKEY *k;

	if (!x)
		return NULL;
	if (p != der + len) {
		X509_free(x);
		return NULL;
	}
	k = X509_get_pubkey(x);
	X509_free(x);
	return k;
}

const struct ksp_keyattr *
ksp_find_attr(const struct ksp_card *kc, uint8_t index, int slot, const char *name,
	      const struct mdp_key *pub)
{
	uint8_t h[32];
	bool have_h = pub && mdp_key_public_sha256(pub, h) == MDP_OK;
	size_t i;

	for (i = 0; i < kc->nattrs; i++) {
		const struct ksp_keyattr *a = &kc->attrs[i];

		if (a->index != index || a->slot != slot || strcmp(a->name, name) != 0)
			continue;
		/* A key replaced by another host under the same name does not inherit the data. */
		if (a->has_pub && (!have_h || memcmp(a->pub_sha256, h, 32) != 0))
			continue;
		return a;
	}
	return NULL;
}

/* Find in the mscp listing the certificate file of (index, slot), whatever its case. */
const char *
ksp_find_cert_name(const struct ksp_cache_entry *ls, uint8_t index, bool sig)
{
	size_t pos = 0;
	const char *n;

	while ((n = ksp_next_name(ls, &pos))) {
		uint8_t i;
		bool s;

		if (ksp_cert_file_parse(n, &i, &s) && i == index && s == sig)
			return n;
	}
	return NULL;
}

static enum ksp_rv
build_slot(struct ksp_card *kc, struct ksp_container *ct, struct ksp_slot_store *st, int slot,
	   const uint8_t *blob, size_t blob_len, const struct ksp_cache_entry *mscp_ls)
{
	struct ksp_key *k = &ct->slot[slot];
	const struct ksp_keyattr *a;
	const struct ksp_cache_entry *ce;
	const char *cname;
	enum mdp_err e;
	enum ksp_rv rv;
	char *cn = NULL;

	e = blob_parse(blob, blob_len, BLOB_FMT_UNKNOWN, 0, &st->pub);
	if (e != MDP_OK) {
		log_warn("container %u: unreadable public key (%s): %s", ct->index, mdp_err_name(e),
			 mdp_err_last());
		return KSP_OK;
	}
	k->spec = ksp_spec_from_key(st->pub, (enum ksp_slot)slot);
	if (k->spec == MDP_AT_NONE) {
		mdp_key_free(st->pub);
		st->pub = NULL;
		return KSP_OK;
	}
	k->bits = mdp_key_bits(st->pub);
	k->pub = st->pub;
	k->pub_blob = blob;
	k->pub_blob_len = blob_len;

	cname = ksp_find_cert_name(mscp_ls, ct->index, slot == KSP_SLOT_SIGNATURE);
	if (cname) {
		rv = ksp_load_file(kc, KSP_DIR_MSCP, cname, KSP_C_FILES, &ce);
		if (rv != KSP_OK)
			return rv;
		if (!ce->absent &&
		    !ksp_cert_decompress(ce->data, ce->len, &st->cert, &st->cert_len))
			log_warn("container %u: certificate %s unreadable", ct->index, cname);
		k->cert = st->cert;
		k->cert_len = st->cert_len;
	}

	a = ksp_find_attr(kc, ct->index, slot, ct->name, st->pub);
	if (a && a->has_id) {
		st->id = mdp_memdup(a->id, a->id_len);
		st->id_len = a->id_len;
	} else {
		st->id = mdp_memdup(ct->name, strlen(ct->name));
		st->id_len = strlen(ct->name);
	}
	if (st->cert)
		cn = cert_cn(st->cert, st->cert_len);
	if (a && a->label)
		st->label = strdup(a->label);
	else
		st->label = strdup(cn ? cn : ct->name);
	if (a && a->cert_label)
		st->cert_label = strdup(a->cert_label);
	else
		st->cert_label = strdup(st->label ? st->label : "");
	free(cn);
	if (!st->id || !st->label || !st->cert_label)
		return KSP_E_NO_MEMORY;
	k->id = st->id;
	k->id_len = st->id_len;
	k->label = st->label;
	k->cert_label = st->cert_label;
	k->id_is_default = !a;
	k->origin = a ? (enum ksp_origin)a->origin : KSP_ORIGIN_UNKNOWN;
	return KSP_OK;
}

static int
cmp_dob(const void *a, const void *b)
{
	const struct ksp_data_object *x = a, *y = b;

	return (x->num > y->num) - (x->num < y->num);
}

static enum ksp_rv
build_data_objects(struct ksp_card *kc, const struct ksp_cache_entry *app_ls)
{
	size_t pos = 0, n = 0, cap = 0;
	const char *name;
	enum ksp_rv rv = KSP_OK;

	while ((name = ksp_next_name(app_ls, &pos))) {
		const struct ksp_cache_entry *fe = NULL;
		struct ksp_data_object *o;
		struct ksp_dob *d;
		unsigned num;
		bool priv;

		if (!ksp_dob_file_parse(name, &num, &priv))
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 8;
			struct ksp_data_object *g1 = realloc(kc->dobs, nc * sizeof(*g1));

			if (!g1)
				return KSP_E_NO_MEMORY;
			kc->dobs = g1;
			{
				struct ksp_dob *g2 = realloc(kc->dob_store, nc * sizeof(*g2));

				if (!g2)
					return KSP_E_NO_MEMORY;
				kc->dob_store = g2;
			}
			cap = nc;
		}
		o = &kc->dobs[n];
		d = &kc->dob_store[n];
		memset(o, 0, sizeof(*o));
		memset(d, 0, sizeof(*d));
		o->num = num;
		o->is_private = priv;
		kc->ndobs = ++n;
		if (priv && !kc->user_in)
			continue;
		rv = ksp_load_file(kc, KSP_DIR_APP, name, KSP_C_FILES | (priv ? KSP_C_PRIVATE : 0),
				   &fe);
		if (priv && (rv == KSP_E_NOT_LOGGED_IN || rv == KSP_E_NO_ACCESS)) {
			rv = KSP_OK;
			continue;
		}
		if (rv != KSP_OK)
			return rv;
		if (fe->absent || !ksp_dob_parse(fe->data, fe->len, d)) {
			log_warn("data object %s unreadable", name);
			kc->ndobs = --n;
			continue;
		}
		o->loaded = true;
		o->application = d->application;
		o->label = d->label;
		o->object_id = d->has_object_id ? d->object_id : NULL;
		o->object_id_len = d->has_object_id ? d->object_id_len : 0;
		o->value = d->value;
		o->value_len = d->value_len;
	}
	/* dob_store entries stay at the index they were parsed with; sort only after copying. */
	if (n > 1)
		qsort(kc->dobs, n, sizeof(*kc->dobs), cmp_dob);
	return rv;
}

static enum ksp_rv
build_view(struct ksp_card *kc)
{
	const struct ksp_cache_entry *cmap = NULL, *mscp_ls = NULL, *app_ls = NULL, *ka = NULL;
	enum ksp_rv rv;
	size_t i, nvalid = 0;

	ksp_free_view(kc);
	rv = ksp_load_file(kc, KSP_DIR_MSCP, "cmapfile", KSP_C_CONTAINERS | KSP_C_FILES, &cmap);
	if (rv != KSP_OK)
		return rv;
	rv = ksp_load_listing(kc, KSP_DIR_MSCP, &mscp_ls);
	if (rv != KSP_OK)
		return rv;
	rv = ksp_load_listing(kc, KSP_DIR_APP, &app_ls);
	if (rv != KSP_OK)
		return rv;
	if (ksp_listing_has(app_ls, KSP_FILE_KEYATTR)) {
		rv = ksp_load_file(kc, KSP_DIR_APP, KSP_FILE_KEYATTR, KSP_C_FILES, &ka);
		if (rv != KSP_OK)
			return rv;
		if (!ka->absent && !ksp_keyattr_parse(ka->data, ka->len, &kc->attrs, &kc->nattrs))
			log_warn("mdp11/keyattr unreadable: application data ignored");
	}
	kc->ncmap = cmap->absent ? 0 : cmap->len / KSP_CMAP_RECORD;
	if (!cmap->absent && cmap->len % KSP_CMAP_RECORD)
		log_warn("cmapfile length %zu is not a multiple of 86", cmap->len);
	if (kc->ncmap > 255)
		kc->ncmap = 255;
	for (i = 0; i < kc->ncmap; i++)
		if (cmap->data[i * KSP_CMAP_RECORD + 80] & KSP_CMAP_VALID)
			nvalid++;
	kc->conts = calloc(nvalid ? nvalid : 1, sizeof(*kc->conts));
	kc->store = calloc(nvalid ? nvalid : 1, sizeof(*kc->store));
	if (!kc->conts || !kc->store)
		return KSP_E_NO_MEMORY;
	for (i = 0; i < kc->ncmap; i++) {
		struct ksp_cmap_rec rec;
		const struct ksp_cache_entry *ci;
		struct ksp_container *ct = &kc->conts[kc->nconts];
		struct ksp_slot_store *st = kc->store[kc->nconts];
		struct mdp_cursor c;
		const uint8_t *blob[2];
		uint32_t blen[2];

		ksp_cmap_rec_parse(cmap->data + i * KSP_CMAP_RECORD, &rec);
		if (!(rec.flags & KSP_CMAP_VALID))
			continue;
		memset(ct, 0, sizeof(*ct));
		ct->index = (uint8_t)i;
		if (!ksp_name_from_utf16(rec.name_utf16, ct->name, sizeof(ct->name))) {
			log_warn("container %zu: name is not valid UTF-16", i);
			continue;
		}
		ct->is_default = (rec.flags & KSP_CMAP_DEFAULT) != 0;
		rv = ksp_load_container_info(kc, (uint8_t)i, &ci);
		if (rv != KSP_OK)
			return rv;
		if (ci->absent) {
			log_warn("container %zu (%s) is in cmapfile but has no key", i, ct->name);
			continue;
		}
		cur_init(&c, ci->data, ci->len);
		blen[KSP_SLOT_SIGNATURE] = cur_get_le32(&c);
		blob[KSP_SLOT_SIGNATURE] = cur_get_bytes(&c, blen[KSP_SLOT_SIGNATURE]);
		blen[KSP_SLOT_EXCHANGE] = cur_get_le32(&c);
		blob[KSP_SLOT_EXCHANGE] = cur_get_bytes(&c, blen[KSP_SLOT_EXCHANGE]);
		if (c.bad) {
			char tag[16];

			/* a damaged entry (from a damaged disk cache) is read again next time */
			snprintf(tag, sizeof(tag), "ci:%02x", (unsigned)i);
			ksp_cache_drop_tag(&kc->cache, tag);
			log_warn("container %zu: damaged cache entry", i);
			continue;
		}
		for (int s = 0; s < KSP_SLOTS; s++) {
			if (blen[s] == 0)
				continue;
			rv = build_slot(kc, ct, &st[s], s, blob[s], blen[s], mscp_ls);
			if (rv != KSP_OK) {
				kc->nconts++;
				return rv;
			}
		}
		kc->nconts++;
	}
	rv = build_data_objects(kc, app_ls);
	if (rv != KSP_OK)
		return rv;
	kc->view_ok = true;
	kc->generation++;
	return KSP_OK;
}

/* The view, and what token info needs, so that polling it never reaches the card. */
enum ksp_rv
ksp_rebuild(struct ksp_card *kc)
{
	const struct ksp_cache_entry *fe;
	struct ksp_key_sizes ks;
	enum ksp_rv rv;
	int spec;

	rv = build_view(kc);
	if (rv == KSP_OK)
		rv = ksp_load_free_space(kc, &fe);
	for (spec = MDP_AT_KEYEXCHANGE; rv == KSP_OK && spec <= MDP_AT_ECDHE_P521; spec++)
		rv = ksp_load_key_sizes(kc, (enum mdp_key_spec)spec, &ks);
	return rv;
}
