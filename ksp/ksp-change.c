/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role: changes (cardcf first), new keys, deletion, key attributes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MDP_LOG_AREA MDP_AREA_KSP
#include "blob/blob.h"
#include "common/log.h"
#include "common/secmem.h"
#include "ksp/ksp-int.h"

/* ---- changes ---- */

/* Open a change: transaction, fresh view. */
enum ksp_rv
ksp_change_begin(struct ksp_card *kc)
{
	enum ksp_rv rv = ksp_rv_from_md(md_card_begin(kc->md));

	if (rv != KSP_OK) {
		ksp_check_reset(kc, rv);
		return rv;
	}
	rv = ksp_sync_intx(kc, NULL);
	if (rv != KSP_OK)
		md_card_end(kc->md, false);
	return rv;
}

/*
 * Bump the cardcf counters of the kinds of change about to be made and
 * write cardcf, before the change itself: a host that reads the card after
 * this sees new counters even if the change is interrupted (as OpenSC does).
 */
enum ksp_rv
ksp_bump_cardcf(struct ksp_card *kc, unsigned classes)
{
	uint8_t cf[64];
	uint8_t *cur = NULL;
	size_t len = 0;
	enum ksp_rv rv;

	rv = ksp_read_file(kc, NULL, "cardcf", &cur, &len);
	if (rv != KSP_OK)
		return rv;
	if (len > sizeof(cf))
		len = sizeof(cf);
	memset(cf, 0, sizeof(cf));
	memcpy(cf, cur, len);
	free(cur);
	if (len < 6)
		len = 6;
	ksp_cardcf_bump(cf, classes);
	rv = ksp_rv_from_md(md_write_file(kc->md, NULL, "cardcf", 0, cf, len));
	if (rv != KSP_OK)
		return rv;
	/* Our own view stays valid: only what we change is dropped by the caller. */
	memcpy(kc->cardcf, cf, 6);
	kc->cardcf_len = len;
	kc->cache.dirty = true;
	return KSP_OK;
}

enum ksp_rv
ksp_change_end(struct ksp_card *kc, enum ksp_rv rv)
{
	enum ksp_rv r2 = KSP_OK;

	ksp_check_reset(kc, rv);
	if (!kc->view_ok)
		r2 = ksp_rebuild(kc);
	ksp_save_cache(kc);
	md_card_end(kc->md, false);
	return rv != KSP_OK ? rv : r2;
}

/* Write a whole file, creating it (and mdp11's directory) when missing. */
enum ksp_rv
ksp_write_file(struct ksp_card *kc, const char *dir, const char *name, const uint8_t *data,
	       size_t len, enum md_file_access access)
{
	enum ksp_rv rv = ksp_rv_from_md(md_write_file(kc->md, dir, name, 0, data, len));

	if (rv == KSP_E_DIR_NOT_FOUND && dir && strcmp(dir, KSP_DIR_APP) == 0) {
		rv = ksp_rv_from_md(
			md_create_directory(kc->md, KSP_DIR_APP, MD_DIR_AC_USER_CREATE_DELETE));
		if (rv != KSP_OK && rv != KSP_E_FILE_EXISTS)
			return rv;
		ksp_cache_drop_tag(&kc->cache, "ls:" KSP_DIR_APP);
		rv = KSP_E_FILE_NOT_FOUND;
	}
	if (rv == KSP_E_FILE_NOT_FOUND) {
		rv = ksp_rv_from_md(md_create_file(kc->md, dir, name, (uint32_t)len, access));
		if (rv != KSP_OK)
			return rv;
		if (dir) {
			char *t = ksp_tag_of("ls", dir, NULL);

			if (t)
				ksp_cache_drop_tag(&kc->cache, t);
			free(t);
		}
		rv = ksp_rv_from_md(md_write_file(kc->md, dir, name, 0, data, len));
	}
	return rv;
}

void
ksp_drop_file_tag(struct ksp_card *kc, const char *dir, const char *name)
{
	char *t = ksp_tag_of("f", dir, name);

	if (t)
		ksp_cache_drop_tag(&kc->cache, t);
	free(t);
}

enum ksp_rv
ksp_delete_file(struct ksp_card *kc, const char *dir, const char *name)
{
	enum ksp_rv rv = ksp_rv_from_md(md_delete_file(kc->md, dir, name, 0));
	char *t;

	if (rv == KSP_E_FILE_NOT_FOUND)
		rv = KSP_OK;
	ksp_drop_file_tag(kc, dir, name);
	t = ksp_tag_of("ls", dir, NULL);
	if (t)
		ksp_cache_drop_tag(&kc->cache, t);
	free(t);
	return rv;
}

/* The current cmapfile as records (at least n records, zero-filled). */
enum ksp_rv
ksp_cmap_get(struct ksp_card *kc, size_t n, uint8_t **out, size_t *count)
{
	const struct ksp_cache_entry *e;
	size_t have, want;
	uint8_t *p;
	enum ksp_rv rv;

	rv = ksp_load_file(kc, KSP_DIR_MSCP, "cmapfile", KSP_C_CONTAINERS | KSP_C_FILES, &e);
	if (rv != KSP_OK)
		return rv;
	have = e->absent ? 0 : e->len / KSP_CMAP_RECORD;
	want = have > n ? have : n;
	p = calloc(want ? want : 1, KSP_CMAP_RECORD);
	if (!p)
		return KSP_E_NO_MEMORY;
	if (have)
		memcpy(p, e->data, have * KSP_CMAP_RECORD);
	*out = p;
	*count = want;
	return KSP_OK;
}

enum ksp_rv
ksp_cmap_put(struct ksp_card *kc, const uint8_t *recs, size_t count)
{
	size_t len = count * KSP_CMAP_RECORD;
	enum ksp_rv rv = ksp_write_file(kc, KSP_DIR_MSCP, "cmapfile", recs, len,
					MD_AC_EVERYONE_READ_USER_WRITE);

	ksp_drop_file_tag(kc, KSP_DIR_MSCP, "cmapfile");
	if (rv == KSP_OK && !ksp_cache_put(&kc->cache, "f:" KSP_DIR_MSCP "/cmapfile",
					   KSP_C_CONTAINERS | KSP_C_FILES, false, recs, len))
		rv = KSP_E_NO_MEMORY;
	kc->view_ok = false;
	return rv;
}

/*
 * Rewrite mdp11/keyattr: the records of the current view except those of
 * index `drop` (-1: none) and slot drop_slot (-1: both), plus `add` when
 * given. Records that no longer match a container are pruned.
 */
enum ksp_rv
ksp_keyattr_rewrite(struct ksp_card *kc, int drop, int drop_slot, const struct ksp_keyattr *add)
{
	struct ksp_keyattr *list = NULL;
	size_t n = 0, i;
	uint8_t *data = NULL;
	size_t len = 0;
	enum ksp_rv rv;

	list = calloc(kc->nattrs + 1, sizeof(*list));
	if (!list)
		return KSP_E_NO_MEMORY;
	for (i = 0; i < kc->nattrs; i++) {
		const struct ksp_keyattr *a = &kc->attrs[i];
		const struct ksp_container *c = ksp_container_at(kc, a->index);

		if (((int)a->index == drop && (drop_slot < 0 || drop_slot == a->slot)) || !c ||
		    strcmp(c->name, a->name) != 0 || c->slot[a->slot].spec == MDP_AT_NONE)
			continue;
		if (ksp_find_attr(kc, a->index, a->slot, a->name, c->slot[a->slot].pub) != a)
			continue;
		list[n++] = *a; /* shallow: kc->attrs keeps ownership */
	}
	if (add)
		list[n++] = *add;
	if (!ksp_keyattr_write(list, n, &data, &len)) {
		free(list);
		return KSP_E_NO_MEMORY;
	}
	free(list);
	rv = ksp_write_file(kc, KSP_DIR_APP, KSP_FILE_KEYATTR, data, len,
			    MD_AC_EVERYONE_READ_USER_WRITE);
	ksp_drop_file_tag(kc, KSP_DIR_APP, KSP_FILE_KEYATTR);
	if (rv == KSP_OK && !ksp_cache_put(&kc->cache, "f:" KSP_DIR_APP "/" KSP_FILE_KEYATTR,
					   KSP_C_FILES, false, data, len))
		rv = KSP_E_NO_MEMORY;
	free(data);
	kc->view_ok = false;
	return rv;
}

static bool
name_taken(const struct ksp_card *kc, const char *name, uint8_t *index)
{
	size_t i;

	for (i = 0; i < kc->nconts; i++) {
		if (strcmp(kc->conts[i].name, name) == 0) {
			*index = kc->conts[i].index;
			return true;
		}
	}
	return false;
}

static bool
id_taken(const struct ksp_card *kc, const uint8_t *id, size_t len, uint8_t *index)
{
	size_t i;
	int s;

	for (i = 0; i < kc->nconts; i++)
		for (s = 0; s < KSP_SLOTS; s++) {
			const struct ksp_key *k = &kc->conts[i].slot[s];

			if (k->spec != MDP_AT_NONE && k->id_len == len &&
			    (len == 0 || memcmp(k->id, id, len) == 0)) {
				*index = kc->conts[i].index;
				return true;
			}
		}
	return false;
}

static unsigned
max_index(const struct ksp_card *kc)
{
	if (kc->max_containers == MD_VALUE_UNKNOWN || kc->max_containers == 0 ||
	    kc->max_containers > 255)
		return KSP_MAX_INDEX_DEFAULT;
	return kc->max_containers;
}

/*
 * Choose the container name and index of a new key (spec/minidriver.md
 * §10.2, §9.1). A name, id or index in use is KSP_E_EXISTS unless
 * req->overwrite; then the container is replaced as a whole (a GIDS
 * container holds one key file, so its other slot cannot be kept).
 */
static enum ksp_rv
plan_new_key(struct ksp_card *kc, const struct ksp_new_key *req, char name[4 * 39 + 1],
	     uint8_t *index, bool *replacing)
{
	uint8_t taken_at = 0;
	int target = -1;
	size_t i;

	*replacing = false;
	if (req->name) {
		if (!ksp_name_to_utf16(req->name, strlen(req->name), NULL))
			return ksp_reason(
				KSP_E_INVALID_ARG,
				"container name \"%s\" is not 1..39 characters without '\\'",
				req->name);
		snprintf(name, 4 * 39 + 1, "%s", req->name);
	} else if (req->id && req->id_len && !memchr(req->id, 0, req->id_len) &&
		   ksp_name_to_utf16((const char *)req->id, req->id_len, NULL)) {
		memcpy(name, req->id, req->id_len);
		name[req->id_len] = '\0';
	} else {
		do {
			if (!ksp_guid_name(name))
				return KSP_E_FAILED;
		} while (name_taken(kc, name, &taken_at));
	}
	if (req->index >= 0) {
		if ((unsigned)req->index >= max_index(kc))
			return ksp_reason(KSP_E_INVALID_ARG, "container index %s out of range",
					  "requested");
		target = req->index;
		if (ksp_container_at(kc, (uint8_t)target)) {
			if (!req->overwrite)
				return ksp_reason(KSP_E_EXISTS, "container index %s is in use",
						  "requested");
			*replacing = true;
		}
	}
	if (name_taken(kc, name, &taken_at)) {
		if (!req->overwrite)
			return ksp_reason(KSP_E_EXISTS, "a key named \"%s\" exists", name);
		if (target >= 0 && target != taken_at)
			return ksp_reason(KSP_E_INVALID_ARG,
					  "name \"%s\" belongs to another container index", name);
		target = taken_at;
		*replacing = true;
	}
	if (req->id && id_taken(kc, req->id, req->id_len, &taken_at)) {
		if (!req->overwrite)
			return ksp_reason(KSP_E_EXISTS, "a key with this CKA_ID exists%s", "");
		if (target >= 0 && target != taken_at)
			return ksp_reason(KSP_E_INVALID_ARG,
					  "CKA_ID belongs to another container%s", "");
		target = taken_at;
		*replacing = true;
	}
	if (target < 0) {
		/* First zeroed (non-valid) record, else append. */
		for (i = 0; i < kc->ncmap; i++) {
			if (!ksp_container_at(kc, (uint8_t)i)) {
				target = (int)i;
				break;
			}
		}
		if (target < 0)
			target = (int)kc->ncmap;
		if ((unsigned)target >= max_index(kc))
			return ksp_reason(KSP_E_NO_ROOM, "no free container index%s", "");
	}
	*index = (uint8_t)target;
	return KSP_OK;
}

/* Write the cmapfile record of a new key and keep exactly one default container. */
static enum ksp_rv
record_new_key(struct ksp_card *kc, uint8_t index, const char *name, enum mdp_key_spec spec,
	       unsigned bits)
{
	struct ksp_cmap_rec rec;
	uint8_t *recs = NULL;
	size_t count = 0, i;
	bool have_default = false;
	enum ksp_rv rv;

	rv = ksp_cmap_get(kc, (size_t)index + 1, &recs, &count);
	if (rv != KSP_OK)
		return rv;
	for (i = 0; i < count; i++) {
		uint8_t f = recs[i * KSP_CMAP_RECORD + 80];

		if (i != index && (f & KSP_CMAP_VALID) && (f & KSP_CMAP_DEFAULT))
			have_default = true;
	}
	memset(&rec, 0, sizeof(rec));
	if (!ksp_name_to_utf16(name, strlen(name), rec.name_utf16)) {
		free(recs);
		return KSP_E_INVALID_ARG;
	}
	rec.flags = KSP_CMAP_VALID | (have_default ? 0 : KSP_CMAP_DEFAULT);
	if (MDP_KEY_SPEC_IS_SIG_SLOT(spec))
		rec.sig_bits = (uint16_t)bits;
	else
		rec.kx_bits = (uint16_t)bits;
	ksp_cmap_rec_write(&rec, recs + (size_t)index * KSP_CMAP_RECORD);
	rv = ksp_cmap_put(kc, recs, count);
	free(recs);
	return rv;
}

static bool
import_allowed(const struct ksp_policy *p, enum mdp_key_spec spec, const char **option)
{
	if (spec == MDP_AT_KEYEXCHANGE) {
		*option = "allow_private_exchange_key_import (Windows: "
			  "AllowPrivateExchangeKeyImport)";
		return p->allow_exchange_import;
	}
	if (spec == MDP_AT_SIGNATURE) {
		*option = "allow_private_signature_key_import (Windows: "
			  "AllowPrivateSignatureKeyImport)";
		return p->allow_signature_import;
	}
	if (MDP_KEY_SPEC_IS_ECDSA(spec)) {
		*option = "allow_private_ecdsa_key_import (Windows: AllowPrivateECDSAKeyImport)";
		return p->allow_ecdsa_import;
	}
	*option = "allow_private_ecdhe_key_import (Windows: AllowPrivateECDHEKeyImport)";
	return p->allow_ecdhe_import;
}

static enum ksp_rv
check_rsa_bits(struct ksp_card *kc, enum mdp_key_spec spec, unsigned bits)
{
	struct ksp_key_sizes ks;
	enum ksp_rv rv = ksp_load_key_sizes(kc, spec, &ks);
	char msg[192];

	if (rv != KSP_OK)
		return rv;
	if (!ks.supported)
		return ksp_reason(KSP_E_UNSUPPORTED, "key spec %s not supported by the card",
				  mdp_key_spec_name(spec));
	if (bits < ks.min_bits || bits > ks.max_bits ||
	    (ks.incr_bits > 1 && (bits - ks.min_bits) % ks.incr_bits)) {
		ksp_rsa_size_why(&ks, bits, msg, sizeof(msg));
		return ksp_reason(KSP_E_KEY_SIZE, "RSA key size %s", msg);
	}
	return KSP_OK;
}

/* Delete the certificates of a container index (both slots, whatever case the names have). */
static enum ksp_rv
delete_certs(struct ksp_card *kc, uint8_t index)
{
	const struct ksp_cache_entry *ls;
	char names[4][9];
	size_t pos = 0, n = 0, i;
	const char *nm;
	enum ksp_rv rv;

	rv = ksp_load_listing(kc, KSP_DIR_MSCP, &ls);
	if (rv != KSP_OK)
		return rv;
	while ((nm = ksp_next_name(ls, &pos)) && n < 4) {
		uint8_t idx;
		bool sig;

		if (ksp_cert_file_parse(nm, &idx, &sig) && idx == index)
			snprintf(names[n++], 9, "%s", nm);
	}
	for (i = 0; i < n; i++) {
		rv = ksp_delete_file(kc, KSP_DIR_MSCP, names[i]);
		if (rv != KSP_OK)
			return rv;
	}
	if (n)
		kc->view_ok = false;
	return KSP_OK;
}

/* Common tail of generate and import: the key is on the card at index. */
static enum ksp_rv
finish_new_key(struct ksp_card *kc, const struct ksp_new_key *req, uint8_t index, const char *name,
	       enum ksp_origin origin)
{
	struct md_container_info ci;
	struct ksp_keyattr a;
	struct mdp_key *pub = NULL;
	const uint8_t *blob;
	size_t blen;
	enum ksp_rv rv;
	enum mdp_err e;
	char tag[16];

	memset(&ci, 0, sizeof(ci));
	memset(&a, 0, sizeof(a));
	ci.version = MD_CONTAINER_INFO_VERSION;
	rv = ksp_rv_from_md(md_get_container_info(kc->md, index, 0, &ci));
	if (rv != KSP_OK)
		goto out;
	if (MDP_KEY_SPEC_IS_SIG_SLOT(req->spec)) {
		blob = ci.sig_public_key;
		blen = ci.sig_public_key_len;
	} else {
		blob = ci.kx_public_key;
		blen = ci.kx_public_key_len;
	}
	e = blob ? blob_parse(blob, blen, BLOB_FMT_UNKNOWN, 0, &pub) : MDP_ERR_FORMAT;
	if (e != MDP_OK) {
		rv = KSP_E_FAILED;
		goto out;
	}
	snprintf(tag, sizeof(tag), "ci:%02x", index);
	ksp_cache_drop_tag(&kc->cache, tag);
	rv = record_new_key(kc, index, name, req->spec, mdp_key_bits(pub));
	if (rv != KSP_OK)
		goto out;
	a.index = index;
	a.slot = (uint8_t)ksp_slot_of(req->spec);
	a.name = (char *)name;
	a.has_pub = mdp_key_public_sha256(pub, a.pub_sha256) == MDP_OK;
	a.has_id = req->id != NULL;
	a.id = (uint8_t *)req->id;
	a.id_len = req->id ? req->id_len : 0;
	a.label = (char *)req->label;
	a.origin = (uint8_t)origin;
	rv = ksp_keyattr_rewrite(kc, index, -1, &a);
out:
	md_container_info_clear(&ci);
	mdp_key_free(pub);
	return rv;
}

/* Remove a freshly created key again when its record could not be written (no partial state). */
static void
undo_new_key(struct ksp_card *kc, uint8_t index)
{
	char tag[16];

	md_delete_container(kc->md, index, 0);
	snprintf(tag, sizeof(tag), "ci:%02x", index);
	ksp_cache_drop_tag(&kc->cache, tag);
	kc->view_ok = false;
}

static enum ksp_rv
create_key(struct ksp_card *kc, const struct ksp_new_key *req, uint32_t flags, uint32_t bits,
	   const uint8_t *blob, size_t blob_len, uint8_t *index_out)
{
	char name[4 * 39 + 1];
	uint8_t index = 0;
	uint32_t pin_id = MD_ROLE_USER;
	bool replacing = false;
	enum ksp_rv rv;

	if (req->always_auth) {
		pin_id = ksp_pin_id(kc, KSP_PIN_EACH_USE);
		if (!pin_id)
			return ksp_reason(
				KSP_E_UNSUPPORTED,
				"this card has no PIN asked for before each use of a key");
	}
	rv = ksp_change_begin(kc);
	if (rv != KSP_OK)
		return rv;
	rv = plan_new_key(kc, req, name, &index, &replacing);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_bump_cardcf(kc, KSP_C_CONTAINERS | KSP_C_FILES);
	if (rv != KSP_OK)
		goto out;
	if (replacing) {
		/* The old keys, certificates and application data of the container go. */
		rv = ksp_rv_from_md(md_delete_container(kc->md, index, 0));
		if (rv != KSP_OK)
			goto out;
		rv = delete_certs(kc, index);
		if (rv != KSP_OK)
			goto out;
	}
	rv = ksp_rv_from_md(md_create_container_ex(kc->md, index, flags, (uint32_t)req->spec, bits,
						   blob, blob_len, pin_id));
	if (rv != KSP_OK) {
		if (replacing)
			kc->view_ok = false;
		goto out;
	}
	rv = finish_new_key(kc, req, index, name,
			    flags == MD_CREATE_KEY_GEN ? KSP_ORIGIN_GENERATED
						       : KSP_ORIGIN_IMPORTED);
	if (rv != KSP_OK) {
		undo_new_key(kc, index);
		goto out;
	}
	log_info("key %s created in container %u (%s)", mdp_key_spec_name(req->spec), index, name);
out : {
	char tag[16];

	snprintf(tag, sizeof(tag), "ci:%02x", index);
	ksp_cache_drop_tag(&kc->cache, tag);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
}
	rv = ksp_change_end(kc, rv);
	if (rv == KSP_OK && index_out)
		*index_out = index;
	return rv;
}

enum ksp_rv
ksp_generate(struct ksp_card *kc, const struct ksp_new_key *req, uint8_t *index_out)
{
	unsigned bits;
	enum ksp_rv rv;

	if (!kc || !req || !ksp_spec_valid(req->spec) || (req->id == NULL && req->id_len))
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	if (MDP_KEY_SPEC_IS_EC(req->spec)) {
		if (req->bits != 0 && req->bits != ksp_ec_bits_of(req->spec))
			return ksp_reason(KSP_E_INVALID_ARG, "EC key size must be 0 for %s",
					  mdp_key_spec_name(req->spec));
		bits = 0; /* spec/minidriver.md §4.2: the curve is implied by the key spec */
		{
			struct ksp_key_sizes ks;

			rv = ksp_load_key_sizes(kc, req->spec, &ks);
			if (rv != KSP_OK)
				return rv;
			if (!ks.supported)
				return ksp_reason(KSP_E_UNSUPPORTED,
						  "key spec %s not supported by the card",
						  mdp_key_spec_name(req->spec));
		}
	} else {
		bits = req->bits ? req->bits : kc->policy.rsa_default_bits;
		rv = check_rsa_bits(kc, req->spec, bits);
		if (rv != KSP_OK)
			return rv;
	}
	if (!kc->keygen)
		return ksp_reason(KSP_E_UNSUPPORTED, "the card cannot generate keys%s", "");
	return create_key(kc, req, MD_CREATE_KEY_GEN, bits, NULL, 0, index_out);
}

enum ksp_rv
ksp_import(struct ksp_card *kc, const struct mdp_key *key, const struct ksp_new_key *req,
	   uint8_t *index_out)
{
	const char *option = NULL;
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	enum blob_format fmt;
	enum mdp_err e;
	enum ksp_rv rv;
	unsigned bits;

	if (!kc || !key || !req || !ksp_spec_valid(req->spec) || (req->id == NULL && req->id_len))
		return KSP_E_INVALID_ARG;
	if (!mdp_key_is_private(key))
		return ksp_reason(KSP_E_BAD_KEY, "import needs a private key%s", "");
	if (!import_allowed(&kc->policy, req->spec, &option))
		return ksp_reason(KSP_E_POLICY,
				  "importing %s private keys is disabled by the policy option %s",
				  mdp_key_spec_name(req->spec), option);
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	bits = mdp_key_bits(key);
	if (mdp_key_type(key) == EVP_PKEY_RSA) {
		if (!MDP_KEY_SPEC_IS_RSA(req->spec))
			return ksp_reason(KSP_E_BAD_KEY, "an RSA key cannot have key spec %s",
					  mdp_key_spec_name(req->spec));
		rv = check_rsa_bits(kc, req->spec, bits);
		if (rv != KSP_OK)
			return rv;
		fmt = BLOB_FMT_CAPI_PRIVATE;
	} else {
		if (!MDP_KEY_SPEC_IS_EC(req->spec) || ksp_ec_bits_of(req->spec) != bits)
			return ksp_reason(KSP_E_BAD_KEY, "the EC key does not suit key spec %s",
					  mdp_key_spec_name(req->spec));
		fmt = BLOB_FMT_CNG_ECC_PRIVATE;
	}
	e = blob_write(key, fmt, req->spec, &blob, &blob_len);
	if (e != MDP_OK)
		return e == MDP_ERR_NOMEM ? KSP_E_NO_MEMORY : KSP_E_BAD_KEY;
	/* dwKeySize: RSA bits; the blob carries the key (spec/minidriver.md §4.2, §14.10). */
	rv = create_key(kc, req, MD_CREATE_KEY_IMPORT, MDP_KEY_SPEC_IS_RSA(req->spec) ? bits : 0,
			blob, blob_len, index_out);
	mdp_secure_free(blob, blob_len);
	return rv;
}

enum ksp_rv
ksp_delete_key(struct ksp_card *kc, uint8_t index, enum ksp_slot slot)
{
	const struct ksp_container *c;
	uint8_t *recs = NULL;
	size_t count = 0, i;
	bool was_default;
	enum ksp_rv rv;
	char tag[16];

	if (!kc || (unsigned)slot >= KSP_SLOTS)
		return KSP_E_INVALID_ARG;
	rv = ksp_change_begin(kc);
	if (rv != KSP_OK)
		return rv;
	c = ksp_container_at(kc, index);
	if (!c || c->slot[slot].spec == MDP_AT_NONE) {
		rv = KSP_E_NOT_FOUND;
		goto out;
	}
	if (c->slot[1 - slot].spec != MDP_AT_NONE) {
		rv = ksp_reason(
			KSP_E_PROHIBITED,
			"container \"%s\" holds a second key: deleting one would delete both",
			c->name);
		goto out;
	}
	was_default = c->is_default;
	rv = ksp_bump_cardcf(kc, KSP_C_CONTAINERS | KSP_C_FILES);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_rv_from_md(md_delete_container(kc->md, index, 0));
	if (rv != KSP_OK)
		goto out;
	snprintf(tag, sizeof(tag), "ci:%02x", index);
	ksp_cache_drop_tag(&kc->cache, tag);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
	rv = delete_certs(kc, index);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_cmap_get(kc, 0, &recs, &count);
	if (rv != KSP_OK)
		goto out;
	if (index < count)
		memset(recs + (size_t)index * KSP_CMAP_RECORD, 0, KSP_CMAP_RECORD);
	if (was_default) {
		/* The lowest remaining valid record becomes the default (docs/ksp.md). */
		for (i = 0; i < count; i++) {
			if (recs[i * KSP_CMAP_RECORD + 80] & KSP_CMAP_VALID) {
				recs[i * KSP_CMAP_RECORD + 80] |= KSP_CMAP_DEFAULT;
				break;
			}
		}
	}
	rv = ksp_cmap_put(kc, recs, count);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_keyattr_rewrite(kc, index, -1, NULL);
out:
	free(recs);
	return ksp_change_end(kc, rv);
}

enum ksp_rv
ksp_set_key_attrs(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const uint8_t *id,
		  size_t id_len, const char *label)
{
	const struct ksp_container *c;
	const struct ksp_keyattr *old;
	struct ksp_keyattr a;
	enum ksp_rv rv;

	if (!kc || (unsigned)slot >= KSP_SLOTS)
		return KSP_E_INVALID_ARG;
	rv = ksp_change_begin(kc);
	if (rv != KSP_OK)
		return rv;
	c = ksp_container_at(kc, index);
	if (!c || c->slot[slot].spec == MDP_AT_NONE) {
		rv = KSP_E_NOT_FOUND;
		goto out;
	}
	old = ksp_find_attr(kc, index, slot, c->name, c->slot[slot].pub);
	memset(&a, 0, sizeof(a));
	if (old)
		a = *old;
	a.index = index;
	a.slot = (uint8_t)slot;
	a.name = (char *)c->name;
	a.has_pub = mdp_key_public_sha256(c->slot[slot].pub, a.pub_sha256) == MDP_OK;
	if (id) {
		a.id = (uint8_t *)id;
		a.id_len = id_len;
		a.has_id = true;
	}
	if (label)
		a.label = (char *)label;
	rv = ksp_bump_cardcf(kc, KSP_C_FILES);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_keyattr_rewrite(kc, index, slot, &a);
out:
	return ksp_change_end(kc, rv);
}
