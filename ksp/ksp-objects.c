/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role: certificates (kxcNN / kscNN) and data objects (mdp11/dobNNN). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "blob/blob.h"
#include "common/secmem.h"
#include "ksp/ksp-int.h"

/* ---- certificates ---- */

/* The name under which the certificate of (index, slot) is stored, existing or new. */
static enum ksp_rv
cert_name_for(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, char out[9], bool *exists)
{
	const struct ksp_cache_entry *ls;
	const char *n;
	enum ksp_rv rv = ksp_load_listing(kc, KSP_DIR_MSCP, &ls);

	if (rv != KSP_OK)
		return rv;
	n = ksp_find_cert_name(ls, index, slot == KSP_SLOT_SIGNATURE);
	*exists = n != NULL;
	if (n)
		snprintf(out, 9, "%s", n);
	else
		ksp_cert_file_name(index, slot == KSP_SLOT_SIGNATURE, out);
	return KSP_OK;
}

static enum ksp_rv
set_cert_label_intx(struct ksp_card *kc, const struct ksp_container *c, enum ksp_slot slot,
		    const char *label)
{
	const struct ksp_keyattr *old =
		ksp_find_attr(kc, c->index, slot, c->name, c->slot[slot].pub);
	struct ksp_keyattr a;

	memset(&a, 0, sizeof(a));
	if (old)
		a = *old;
	a.index = c->index;
	a.slot = (uint8_t)slot;
	a.name = (char *)c->name;
	a.has_pub = mdp_key_public_sha256(c->slot[slot].pub, a.pub_sha256) == MDP_OK;
	a.cert_label = (char *)label;
	return ksp_keyattr_rewrite(kc, c->index, slot, &a);
}

enum ksp_rv
ksp_write_certificate(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const uint8_t *der,
		      size_t len, const char *label)
{
	const struct ksp_container *c;
	EVP_PKEY *pk = NULL;
	uint8_t *stored = NULL;
	size_t stored_len = 0;
	char name[9];
	bool exists = false;
	enum ksp_rv rv;

	if (!kc || !der || !len || (unsigned)slot >= KSP_SLOTS)
		return KSP_E_INVALID_ARG;
	pk = ksp_cert_pkey(der, len);
	if (!pk)
		return ksp_reason(KSP_E_BAD_DATA, "not a DER X.509 certificate%s", "");
	if (len > 0xffff) {
		EVP_PKEY_free(pk);
		return ksp_reason(KSP_E_BAD_DATA, "certificate larger than 65535 bytes%s", "");
	}
	rv = ksp_change_begin(kc);
	if (rv != KSP_OK) {
		EVP_PKEY_free(pk);
		return rv;
	}
	c = ksp_container_at(kc, index);
	if (!c || c->slot[slot].spec == MDP_AT_NONE) {
		rv = KSP_E_NOT_FOUND;
		goto out;
	}
	if (EVP_PKEY_eq(mdp_key_pkey(c->slot[slot].pub), pk) != 1) {
		rv = ksp_reason(KSP_E_CERT_MISMATCH,
				"the certificate's public key is not the key of container \"%s\"",
				c->name);
		goto out;
	}
	if (kc->cert_compression) {
		stored = mdp_memdup(der, len);
		stored_len = len;
	} else if (!ksp_cert_compress(der, len, &stored, &stored_len)) {
		stored = NULL;
	}
	if (!stored) {
		rv = KSP_E_NO_MEMORY;
		goto out;
	}
	rv = cert_name_for(kc, index, slot, name, &exists);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_bump_cardcf(kc, KSP_C_FILES);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_write_file(kc, KSP_DIR_MSCP, name, stored, stored_len,
			    MD_AC_EVERYONE_READ_USER_WRITE);
	ksp_drop_file_tag(kc, KSP_DIR_MSCP, name);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
	if (rv != KSP_OK)
		goto out;
	if (label)
		rv = set_cert_label_intx(kc, c, slot, label);
out:
	EVP_PKEY_free(pk);
	free(stored);
	return ksp_change_end(kc, rv);
}

enum ksp_rv
ksp_delete_certificate(struct ksp_card *kc, uint8_t index, enum ksp_slot slot)
{
	const struct ksp_container *c;
	char name[9];
	bool exists = false;
	enum ksp_rv rv;

	if (!kc || (unsigned)slot >= KSP_SLOTS)
		return KSP_E_INVALID_ARG;
	rv = ksp_change_begin(kc);
	if (rv != KSP_OK)
		return rv;
	c = ksp_container_at(kc, index);
	if (!c || !c->slot[slot].cert) {
		rv = KSP_E_NOT_FOUND;
		goto out;
	}
	rv = cert_name_for(kc, index, slot, name, &exists);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_bump_cardcf(kc, KSP_C_FILES);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_delete_file(kc, KSP_DIR_MSCP, name);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
out:
	return ksp_change_end(kc, rv);
}

enum ksp_rv
ksp_set_certificate_label(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const char *label)
{
	const struct ksp_container *c;
	enum ksp_rv rv;

	if (!kc || !label || (unsigned)slot >= KSP_SLOTS)
		return KSP_E_INVALID_ARG;
	rv = ksp_change_begin(kc);
	if (rv != KSP_OK)
		return rv;
	c = ksp_container_at(kc, index);
	if (!c || !c->slot[slot].cert) {
		rv = KSP_E_NOT_FOUND;
		goto out;
	}
	rv = ksp_bump_cardcf(kc, KSP_C_FILES);
	if (rv != KSP_OK)
		goto out;
	rv = set_cert_label_intx(kc, c, slot, label);
out:
	return ksp_change_end(kc, rv);
}

/* ---- data objects ---- */

enum ksp_rv
ksp_data_objects(struct ksp_card *kc, const struct ksp_data_object **list, size_t *count)
{
	enum ksp_rv rv;

	if (!kc || !list || !count)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	*list = kc->dobs;
	*count = kc->ndobs;
	return KSP_OK;
}

static const struct ksp_data_object *
dob_at(const struct ksp_card *kc, unsigned num)
{
	size_t i;

	for (i = 0; i < kc->ndobs; i++)
		if (kc->dobs[i].num == num)
			return &kc->dobs[i];
	return NULL;
}

static enum ksp_rv
write_dob(struct ksp_card *kc, unsigned num, const struct ksp_data_new *obj)
{
	struct ksp_dob d;
	uint8_t *data = NULL;
	size_t len = 0;
	char name[9];
	enum ksp_rv rv;

	memset(&d, 0, sizeof(d));
	d.is_private = obj->is_private;
	d.application = (char *)(obj->application ? obj->application : "");
	d.label = (char *)(obj->label ? obj->label : "");
	d.has_object_id = obj->object_id != NULL;
	d.object_id = (uint8_t *)obj->object_id;
	d.object_id_len = obj->object_id_len;
	d.value = (uint8_t *)(obj->value ? obj->value : (const uint8_t *)"");
	d.value_len = obj->value ? obj->value_len : 0;
	if (!ksp_dob_write(&d, &data, &len))
		return KSP_E_NO_MEMORY;
	ksp_dob_file_name(num, obj->is_private, name);
	rv = ksp_write_file(kc, KSP_DIR_APP, name, data, len,
			    obj->is_private ? MD_AC_USER_READ_WRITE
					    : MD_AC_EVERYONE_READ_USER_WRITE);
	ksp_drop_file_tag(kc, KSP_DIR_APP, name);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
	mdp_secure_free(data, len);
	return rv;
}

static bool
dob_args_ok(const struct ksp_data_new *obj)
{
	return obj && (obj->value || !obj->value_len) && (obj->object_id || !obj->object_id_len);
}

enum ksp_rv
ksp_data_create(struct ksp_card *kc, const struct ksp_data_new *obj, unsigned *num_out)
{
	unsigned num;
	enum ksp_rv rv;

	if (!kc || !dob_args_ok(obj))
		return KSP_E_INVALID_ARG;
	rv = ksp_change_begin(kc);
	if (rv != KSP_OK)
		return rv;
	for (num = 0; num < KSP_DOB_MAX && dob_at(kc, num); num++)
		;
	if (num == KSP_DOB_MAX) {
		rv = ksp_reason(KSP_E_NO_ROOM, "%s data objects on the card", "too many");
		goto out;
	}
	rv = ksp_bump_cardcf(kc, KSP_C_FILES);
	if (rv != KSP_OK)
		goto out;
	rv = write_dob(kc, num, obj);
out:
	rv = ksp_change_end(kc, rv);
	if (rv == KSP_OK && num_out)
		*num_out = num;
	return rv;
}

enum ksp_rv
ksp_data_update(struct ksp_card *kc, unsigned num, const struct ksp_data_new *obj)
{
	const struct ksp_data_object *o;
	enum ksp_rv rv;

	if (!kc || !dob_args_ok(obj))
		return KSP_E_INVALID_ARG;
	rv = ksp_change_begin(kc);
	if (rv != KSP_OK)
		return rv;
	o = dob_at(kc, num);
	if (!o) {
		rv = KSP_E_NOT_FOUND;
		goto out;
	}
	if (o->is_private != obj->is_private) {
		rv = ksp_reason(KSP_E_PROHIBITED, "CKA_PRIVATE of a data object %s",
				"cannot change");
		goto out;
	}
	rv = ksp_bump_cardcf(kc, KSP_C_FILES);
	if (rv != KSP_OK)
		goto out;
	rv = write_dob(kc, num, obj);
out:
	return ksp_change_end(kc, rv);
}

enum ksp_rv
ksp_data_delete(struct ksp_card *kc, unsigned num)
{
	const struct ksp_data_object *o;
	char name[9];
	enum ksp_rv rv;

	if (!kc)
		return KSP_E_INVALID_ARG;
	rv = ksp_change_begin(kc);
	if (rv != KSP_OK)
		return rv;
	o = dob_at(kc, num);
	if (!o) {
		rv = KSP_E_NOT_FOUND;
		goto out;
	}
	ksp_dob_file_name(num, o->is_private, name);
	rv = ksp_bump_cardcf(kc, KSP_C_FILES);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_delete_file(kc, KSP_DIR_APP, name);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
out:
	return ksp_change_end(kc, rv);
}
