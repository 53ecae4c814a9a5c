/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Objects: creating, changing and destroying them (certificates, data objects, keys on the card;
 * session objects). */
#include "config.h"

#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "mdp11/pkcs11-vendor.h"
#include "pkcs11/module.h"

/* ---- changes ---- */

/* After a change on the card: the view follows. */
static CK_RV
refresh_view(struct slot *s)
{
	s->view_valid = false;
	s->info_valid = false;
	return slot_token_slocked(s);
}

CK_RV
object_set_attrs_slocked(struct session *se, struct object *o, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	struct slot *s = se->slot;
	bool label = false, id = false, app = false, value = false;
	const void *id_v = NULL, *value_v = NULL, *v;
	size_t id_len = 0, value_len = 0, len;
	char *label_str = NULL;
	enum ksp_rv krv = KSP_OK;
	CK_RV rv;
	CK_ULONG i;
	struct mdp_buf b;

	rv = attr_check_template(tmpl, n);
	if (rv != CKR_OK)
		return rv;
	for (i = 0; i < n; i++) {
		rv = attr_value(&tmpl[i], &v, &len);
		if (rv != CKR_OK)
			return rv;
		switch (tmpl[i].type) {
		case CKA_LABEL:
			label = true;
			continue;
		case CKA_ID:
			if (o->kind == OBJ_DATA)
				break;
			id = true;
			id_v = v;
			id_len = len;
			continue;
		case CKA_APPLICATION:
		case CKA_VALUE:
			if (o->kind != OBJ_DATA)
				break;
			if (tmpl[i].type == CKA_VALUE) {
				value = true;
				value_v = v;
				value_len = len;
			} else {
				app = true;
			}
			continue;
		default:
			break;
		}
		/* Setting an attribute to the value it has is harmless; anything else is not. */
		buf_init_secret(&b);
		rv = object_attr(s, o, tmpl[i].type, &b);
		if (rv == CKR_OK && (b.len != len || (len && memcmp(b.data, v, len) != 0)))
			rv = CKR_ATTRIBUTE_READ_ONLY;
		buf_free(&b);
		if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_READ_ONLY)
			rv = p11_refuse(
				CKR_ATTRIBUTE_READ_ONLY,
				"attribute 0x%lx cannot be changed (CKA_LABEL, CKA_ID and, for "
				"data objects, CKA_APPLICATION and CKA_VALUE can)",
				tmpl[i].type);
		if (rv != CKR_OK)
			return rv;
	}
	if (!label && !id && !app && !value)
		return CKR_OK;
	if (label) {
		rv = attr_get_string(tmpl, n, CKA_LABEL, &label_str);
		if (rv != CKR_OK)
			return rv;
	}
	if (o->kind == OBJ_SECRET) {
		if (id || app || value) {
			free(label_str);
			return p11_refuse(CKR_ATTRIBUTE_READ_ONLY,
					  "a derived secret's label only can be changed");
		}
		free(o->label);
		o->label = label_str;
		return CKR_OK;
	}
	rv = session_check_writable_slocked(se);
	if (rv != CKR_OK) {
		free(label_str);
		return rv;
	}
	if (o->kind == OBJ_DATA) {
		const struct ksp_data_object *d = object_data(s, o->num);
		struct ksp_data_new nd;
		char *app_str = NULL;

		if (!d) {
			free(label_str);
			return CKR_OBJECT_HANDLE_INVALID;
		}
		nd.application = d->application;
		nd.label = label_str ? label_str : d->label;
		nd.object_id = d->object_id;
		nd.object_id_len = d->object_id_len;
		nd.value = value ? value_v : d->value;
		nd.value_len = value ? value_len : d->value_len;
		nd.is_private = d->is_private;
		if (app) {
			rv = attr_get_string(tmpl, n, CKA_APPLICATION, &app_str);
			if (rv != CKR_OK) {
				free(label_str);
				return rv;
			}
			nd.application = app_str;
		}
		krv = ksp_data_update(s->kc, o->num, &nd);
		free(app_str);
	} else if (o->kind == OBJ_CERTIFICATE && label && !id) {
		krv = ksp_set_certificate_label(s->kc, o->index, o->kslot, label_str);
	} else {
		if (id && (id_len == 0 || id_len > 255)) {
			free(label_str);
			return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
					  "CKA_ID of %zu bytes: 1 to 255 are kept", id_len);
		}
		krv = ksp_set_key_attrs(s->kc, o->index, o->kslot, id ? id_v : NULL,
					id ? id_len : 0,
					o->kind == OBJ_CERTIFICATE ? NULL : label_str);
		if (krv == KSP_OK && o->kind == OBJ_CERTIFICATE && label)
			krv = ksp_set_certificate_label(s->kc, o->index, o->kslot, label_str);
	}
	free(label_str);
	if (krv != KSP_OK)
		return slot_result_slocked(s, krv);
	return refresh_view(s);
}

/*
 * The rules a new certificate meets besides matching a key: the key has no certificate yet (or
 * CKA_MDP11_OVERWRITE TRUE asks to replace it, as for keys), and a CKA_ID in the template is the
 * key's (a certificate shares its key's CKA_ID, §10.2: another one is refused, never silently
 * replaced).
 */
static CK_RV
certificate_fits(struct slot *s, const CK_ATTRIBUTE *tmpl, CK_ULONG n, uint8_t index,
		 enum ksp_slot kslot)
{
	const struct ksp_container *c = NULL;
	const struct ksp_key *k;
	const void *id;
	size_t id_len;
	CK_RV rv;

	if (ksp_card_container(s->kc, index, &c) != KSP_OK || !c)
		return CKR_FUNCTION_FAILED;
	k = &c->slot[kslot];
	if (attr_has(tmpl, n, CKA_ID)) {
		rv = attr_get(tmpl, n, CKA_ID, &id, &id_len);
		if (rv != CKR_OK)
			return rv;
		if (id_len != k->id_len || (id_len && memcmp(id, k->id, id_len) != 0))
			return p11_refuse(
				CKR_ATTRIBUTE_VALUE_INVALID,
				"certificate refused: its CKA_ID is not the one of its key "
				"(container %u)",
				index);
	}
	if (k->cert && !attr_is_true(tmpl, n, CKA_MDP11_OVERWRITE))
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "certificate refused: the key in container %u has one "
				  "(CKA_MDP11_OVERWRITE TRUE replaces it)",
				  index);
	return CKR_OK;
}

static CK_RV
create_certificate(struct session *se, const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	struct slot *s = se->slot;
	const void *value = NULL;
	size_t value_len = 0;
	const unsigned char *p;
	CK_ULONG ctype = CKC_X_509;
	enum ksp_slot kslot;
	char *label_str = NULL;
	uint8_t index;
	enum ksp_rv krv;
	X509 *x;
	CK_RV rv;

	if (attr_has(tmpl, n, CKA_CERTIFICATE_TYPE)) {
		rv = attr_get_ulong(tmpl, n, CKA_CERTIFICATE_TYPE, &ctype);
		if (rv != CKR_OK)
			return rv;
		if (ctype != CKC_X_509)
			return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
					  "CKA_CERTIFICATE_TYPE 0x%lx: only CKC_X_509 certificates "
					  "are stored",
					  ctype);
	}
	rv = attr_get(tmpl, n, CKA_VALUE, &value, &value_len);
	if (rv == CKR_TEMPLATE_INCOMPLETE || (rv == CKR_OK && !value_len))
		return p11_refuse(CKR_TEMPLATE_INCOMPLETE, "a certificate needs CKA_VALUE (DER)");
	if (rv != CKR_OK)
		return rv;
	p = value;
	x = d2i_X509(NULL, &p, (long)value_len);
	if (!x || p != (const unsigned char *)value + value_len) {
		X509_free(x);
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "CKA_VALUE is not one DER X.509 certificate");
	}
	X509_free(x);
	/* The container whose key is the certificate's (§10.2): certificates live in kxc/ksc. */
	krv = ksp_find_key_for_certificate(s->kc, value, value_len, &index, &kslot);
	if (krv != KSP_OK) {
		rv = slot_result_slocked(s, krv);
		return p11_refuse(rv, "certificate refused: no key on the card matches its public "
				      "key");
	}
	rv = certificate_fits(s, tmpl, n, index, kslot);
	if (rv != CKR_OK)
		return rv;
	if (attr_has(tmpl, n, CKA_LABEL)) {
		rv = attr_get_string(tmpl, n, CKA_LABEL, &label_str);
		if (rv != CKR_OK)
			return rv;
	}
	krv = ksp_write_certificate(s->kc, index, kslot, value, value_len, label_str);
	free(label_str);
	if (krv != KSP_OK)
		return slot_result_slocked(s, krv);
	rv = refresh_view(s);
	if (rv != CKR_OK)
		return rv;
	*out = object_handle_for(s, OBJ_CERTIFICATE, index, kslot);
	return *out ? CKR_OK : CKR_FUNCTION_FAILED;
}

static CK_RV
create_data(struct session *se, const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	struct slot *s = se->slot;
	struct ksp_data_new nd = {0};
	char *label = NULL, *app = NULL;
	CK_BBOOL priv = CK_FALSE;
	const void *v;
	size_t len;
	unsigned num = 0;
	enum ksp_rv krv;
	CK_RV rv = CKR_OK;
	size_t i;

	if (attr_has(tmpl, n, CKA_PRIVATE))
		rv = attr_get_bool(tmpl, n, CKA_PRIVATE, &priv);
	if (rv == CKR_OK && attr_has(tmpl, n, CKA_LABEL))
		rv = attr_get_string(tmpl, n, CKA_LABEL, &label);
	if (rv == CKR_OK && attr_has(tmpl, n, CKA_APPLICATION))
		rv = attr_get_string(tmpl, n, CKA_APPLICATION, &app);
	if (rv == CKR_OK && attr_has(tmpl, n, CKA_OBJECT_ID)) {
		rv = attr_get(tmpl, n, CKA_OBJECT_ID, &v, &len);
		nd.object_id = v;
		nd.object_id_len = len;
	}
	if (rv == CKR_OK && attr_has(tmpl, n, CKA_VALUE)) {
		rv = attr_get(tmpl, n, CKA_VALUE, &v, &len);
		nd.value = v;
		nd.value_len = len;
	}
	if (rv != CKR_OK) {
		free(label);
		free(app);
		return rv;
	}
	nd.label = label;
	nd.application = app;
	nd.is_private = priv == CK_TRUE;
	krv = ksp_data_create(s->kc, &nd, &num);
	free(label);
	free(app);
	if (krv != KSP_OK)
		return slot_result_slocked(s, krv);
	rv = refresh_view(s);
	if (rv != CKR_OK)
		return rv;
	for (i = 0; i < s->nobjs; i++) {
		if (s->objs[i].kind == OBJ_DATA && s->objs[i].num == num) {
			*out = s->objs[i].handle;
			return CKR_OK;
		}
	}
	return CKR_FUNCTION_FAILED;
}

CK_RV
object_create_slocked(struct session *se, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
		      CK_OBJECT_HANDLE *out)
{
	CK_OBJECT_CLASS cls;
	CK_RV rv;

	rv = attr_check_template(tmpl, n);
	if (rv != CKR_OK)
		return rv;
	rv = attr_get_ulong(tmpl, n, CKA_CLASS, &cls);
	if (rv != CKR_OK)
		return rv;
	if (attr_is_false(tmpl, n, CKA_TOKEN))
		/* Session objects cannot live in a card container (§10.2 "Ephemeral keys"). */
		return p11_refuse(CKR_TEMPLATE_INCONSISTENT,
				  "CKA_TOKEN is FALSE: mdp11 creates objects on the card only");
	rv = session_check_writable_slocked(se);
	if (rv != CKR_OK)
		return rv;
	switch (cls) {
	case CKO_CERTIFICATE:
		return create_certificate(se, tmpl, n, out);
	case CKO_DATA:
		return create_data(se, tmpl, n, out);
	case CKO_PRIVATE_KEY:
		return keygen_import_slocked(se, tmpl, n, out);
	case CKO_PUBLIC_KEY:
		/* A minidriver card keeps public keys only as the halves of its key pairs. */
		return p11_refuse(CKR_TEMPLATE_INCONSISTENT,
				  "a public key cannot be stored without its private key (a card "
				  "keeps key pairs)");
	default:
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "CKA_CLASS 0x%lx: mdp11 creates certificates, data objects and "
				  "private keys",
				  cls);
	}
}

CK_RV
object_destroy_slocked(struct session *se, struct object *o)
{
	struct slot *s = se->slot;
	enum ksp_rv krv;
	CK_RV rv;
	size_t i;

	if (o->owner) { /* a session object: a derived secret, an ECDH public key */
		for (i = 0; i < s->nobjs; i++) {
			if (&s->objs[i] == o) {
				object_clear(o);
				s->objs[i] = s->objs[--s->nobjs];
				break;
			}
		}
		return CKR_OK;
	}
	rv = session_check_writable_slocked(se);
	if (rv != CKR_OK)
		return rv;
	switch (o->kind) {
	case OBJ_PRIVATE_KEY:
		krv = ksp_delete_key(s->kc, o->index, o->kslot);
		break;
	case OBJ_CERTIFICATE:
		krv = ksp_delete_certificate(s->kc, o->index, o->kslot);
		break;
	case OBJ_DATA:
		krv = ksp_data_delete(s->kc, o->num);
		break;
	default:
		/*
		 * The public half goes with its private key. An SO who may write (PIV) sees no
		 * private keys: destroying the public key deletes the key pair.
		 */
		if (s->login == CKU_SO) {
			krv = ksp_delete_key(s->kc, o->index, o->kslot);
			break;
		}
		return p11_refuse(
			CKR_ACTION_PROHIBITED,
			"a public key goes with its private key: destroy the private key");
	}
	if (krv != KSP_OK)
		return slot_result_slocked(s, krv);
	return refresh_view(s);
}

CK_RV
object_add_public_slocked(struct session *se, uint8_t index, enum ksp_slot kslot,
			  CK_OBJECT_HANDLE *out)
{
	struct object *o = object_add_slocked(se->slot);

	if (!o)
		return CKR_HOST_MEMORY;
	o->handle = module_new_handle();
	o->kind = OBJ_PUBLIC_KEY;
	o->owner = se->handle;
	o->seen = true;
	o->index = index;
	o->kslot = kslot;
	*out = o->handle;
	return CKR_OK;
}

CK_RV
object_add_secret_slocked(struct session *se, uint8_t *secret, size_t len, const CK_ATTRIBUTE *tmpl,
			  CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	struct slot *s = se->slot;
	struct object *o;
	const void *id = NULL;
	size_t id_len = 0;
	char *label = NULL;
	CK_RV rv;

	/* The template was checked by crypto_derive_slocked; the secret is ours from here. */
	rv = attr_has(tmpl, n, CKA_LABEL) ? attr_get_string(tmpl, n, CKA_LABEL, &label) : CKR_OK;
	if (rv == CKR_OK && attr_has(tmpl, n, CKA_ID))
		rv = attr_get(tmpl, n, CKA_ID, &id, &id_len);
	if (rv != CKR_OK) {
		free(label);
		mdp_secure_free(secret, len);
		return rv;
	}
	o = object_add_slocked(s);
	if (!o) {
		free(label);
		mdp_secure_free(secret, len);
		return CKR_HOST_MEMORY;
	}
	o->handle = module_new_handle();
	o->kind = OBJ_SECRET;
	o->owner = se->handle;
	o->seen = true;
	o->secret = secret;
	o->secret_len = len;
	o->sensitive = attr_is_true(tmpl, n, CKA_SENSITIVE) ? CK_TRUE : CK_FALSE;
	o->extractable = attr_is_false(tmpl, n, CKA_EXTRACTABLE) ? CK_FALSE : CK_TRUE;
	o->label = label;
	if (id_len) {
		o->id = mdp_memdup(id, id_len);
		o->id_len = o->id ? id_len : 0;
	}
	*out = o->handle;
	return CKR_OK;
}
