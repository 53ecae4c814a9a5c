/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The object view of a token (spec/minidriver.md §10.2): keys, certificates, data objects. */
#include "config.h"

#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blob.h"
#include "common/bytes.h"
#include "common/secmem.h"
#include "mdp11/pkcs11-vendor.h"
#include "pkcs11/module.h"

/* ---- the view ---- */

struct object *
object_add_slocked(struct slot *s)
{
	struct object *o = realloc(s->objs, (s->nobjs + 1) * sizeof(*o));

	if (!o)
		return NULL;
	s->objs = o;
	o = &s->objs[s->nobjs++];
	memset(o, 0, sizeof(*o));
	return o;
}

void
object_clear(struct object *o)
{
	if (o->secret)
		mdp_secure_free(o->secret, o->secret_len);
	free(o->label);
	free(o->id);
}

/* Keep the handle of an object with the same identity; else a fresh one. */
static CK_RV
keep(struct slot *s, enum obj_kind kind, uint8_t index, enum ksp_slot kslot, unsigned num)
{
	struct object *o;
	size_t i;

	for (i = 0; i < s->nobjs; i++) {
		o = &s->objs[i];
		if (o->kind == kind && !o->owner && o->index == index && o->kslot == kslot &&
		    o->num == num) {
			o->seen = true;
			return CKR_OK;
		}
	}
	o = object_add_slocked(s);
	if (!o)
		return CKR_HOST_MEMORY;
	o->handle = module_new_handle();
	o->kind = kind;
	o->index = index;
	o->kslot = kslot;
	o->num = num;
	o->seen = true;
	return CKR_OK;
}

CK_RV
object_view_rebuild_slocked(struct slot *s)
{
	const struct ksp_container *c = NULL;
	const struct ksp_data_object *d = NULL;
	size_t nc = 0, nd = 0, i, w;
	enum ksp_rv krv;
	CK_RV rv = CKR_OK;
	int k;

	krv = ksp_card_containers(s->kc, &c, &nc);
	if (krv != KSP_OK)
		return slot_result_slocked(s, krv);
	krv = ksp_data_objects(s->kc, &d, &nd);
	if (krv != KSP_OK)
		return slot_result_slocked(s, krv);
	for (i = 0; i < s->nobjs; i++)
		s->objs[i].seen = s->objs[i].owner != 0; /* session objects stay */
	for (i = 0; i < nc && rv == CKR_OK; i++) {
		for (k = 0; k < KSP_SLOTS && rv == CKR_OK; k++) {
			const struct ksp_key *key = &c[i].slot[k];

			if (key->spec == MDP_AT_NONE)
				continue;
			rv = keep(s, OBJ_PRIVATE_KEY, c[i].index, (enum ksp_slot)k, 0);
			/*
			 * No public key object for an ECDH key unless the configuration asks
			 * for one ([token] ecdh_public_objects): OpenSSH (ssh-add -s, ssh -I)
			 * takes every EC public key it finds as a signing key, while
			 * conformance tools such as OpenSC's p11test expect one per key pair.
			 * The private key carries CKA_EC_POINT and CKA_PUBLIC_KEY_INFO either
			 * way (docs/pkcs11.md, "ECDH keys").
			 */
			if (rv == CKR_OK && (!MDP_KEY_SPEC_IS_ECDH(key->spec) ||
					     module_settings()->ecdh_public_objects))
				rv = keep(s, OBJ_PUBLIC_KEY, c[i].index, (enum ksp_slot)k, 0);
			if (rv == CKR_OK && key->cert)
				rv = keep(s, OBJ_CERTIFICATE, c[i].index, (enum ksp_slot)k, 0);
		}
	}
	for (i = 0; i < nd && rv == CKR_OK; i++)
		rv = keep(s, OBJ_DATA, 0, KSP_SLOT_EXCHANGE, d[i].num);
	/* Sweep what the card no longer has. */
	for (i = w = 0; i < s->nobjs; i++) {
		if (s->objs[i].seen)
			s->objs[w++] = s->objs[i];
		else
			object_clear(&s->objs[i]);
	}
	s->nobjs = w;
	return rv;
}

void
object_view_clear_slocked(struct slot *s)
{
	size_t i;

	for (i = 0; i < s->nobjs; i++)
		object_clear(&s->objs[i]);
	free(s->objs);
	s->objs = NULL;
	s->nobjs = 0;
}

void
object_session_gone_slocked(struct slot *s, CK_SESSION_HANDLE h)
{
	size_t i, w;

	for (i = w = 0; i < s->nobjs; i++) {
		if (s->objs[i].owner == h)
			object_clear(&s->objs[i]);
		else
			s->objs[w++] = s->objs[i];
	}
	s->nobjs = w;
}

CK_OBJECT_HANDLE
object_handle_for(struct slot *s, enum obj_kind kind, uint8_t index, enum ksp_slot kslot)
{
	size_t i;

	for (i = 0; i < s->nobjs; i++) {
		const struct object *o = &s->objs[i];

		if (o->kind == kind && !o->owner && o->index == index && o->kslot == kslot)
			return o->handle;
	}
	return CK_INVALID_HANDLE;
}

const struct ksp_data_object *
object_data(struct slot *s, unsigned num)
{
	const struct ksp_data_object *d = NULL;
	size_t n = 0, i;

	if (ksp_data_objects(s->kc, &d, &n) != KSP_OK)
		return NULL;
	for (i = 0; i < n; i++)
		if (d[i].num == num)
			return &d[i];
	return NULL;
}

static const struct ksp_container *
container_of(struct slot *s, const struct object *o)
{
	const struct ksp_container *c = NULL;

	if (ksp_card_container(s->kc, o->index, &c) != KSP_OK)
		return NULL;
	return c;
}

const struct ksp_key *
object_key(struct slot *s, const struct object *o)
{
	const struct ksp_container *c;

	if (o->kind != OBJ_PRIVATE_KEY && o->kind != OBJ_PUBLIC_KEY && o->kind != OBJ_CERTIFICATE)
		return NULL;
	c = container_of(s, o);
	if (!c || c->slot[o->kslot].spec == MDP_AT_NONE)
		return NULL;
	return &c->slot[o->kslot];
}

bool
object_is_private(const struct slot *s, const struct object *o)
{
	const struct ksp_data_object *d;

	switch (o->kind) {
	case OBJ_PRIVATE_KEY:
	case OBJ_SECRET:
		return true;
	case OBJ_DATA:
		d = object_data((struct slot *)s, o->num);
		return !d || d->is_private;
	default:
		return false;
	}
}

struct object *
object_lookup_slocked(struct session *se, CK_OBJECT_HANDLE h)
{
	struct slot *s = se->slot;
	size_t i;

	for (i = 0; i < s->nobjs; i++) {
		struct object *o = &s->objs[i];

		if (o->handle != h)
			continue;
		if (o->owner && o->owner != se->handle)
			return NULL;
		if (object_is_private(s, o) && s->login != CKU_USER)
			return NULL;
		return o;
	}
	return NULL;
}

/* ---- attribute values ---- */

static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};

static void
ec_params(unsigned bits, const uint8_t **p, size_t *len)
{
	switch (bits) {
	case 384:
		*p = oid_p384;
		*len = sizeof(oid_p384);
		break;
	case 521:
		*p = oid_p521;
		*len = sizeof(oid_p521);
		break;
	default:
		*p = oid_p256;
		*len = sizeof(oid_p256);
		break;
	}
}

static void
put_bool(struct mdp_buf *b, bool v)
{
	CK_BBOOL x = v ? CK_TRUE : CK_FALSE;

	buf_put_bytes(b, &x, sizeof(x));
}

static void
put_ulong(struct mdp_buf *b, CK_ULONG v)
{
	buf_put_bytes(b, &v, sizeof(v));
}

static void
put_str(struct mdp_buf *b, const char *s)
{
	if (s)
		buf_put_bytes(b, s, strlen(s));
}

/* Mechanisms a key may be used with (CKA_ALLOWED_MECHANISMS), per key spec (§10.2). */
static void
put_mechanisms(struct mdp_buf *b, enum mdp_key_spec spec)
{
	static const CK_MECHANISM_TYPE rsa_sig[] = {
		CKM_RSA_PKCS,
		CKM_RSA_X_509,
		CKM_RSA_PKCS_PSS,
		CKM_SHA1_RSA_PKCS,
		CKM_SHA224_RSA_PKCS,
		CKM_SHA256_RSA_PKCS,
		CKM_SHA384_RSA_PKCS,
		CKM_SHA512_RSA_PKCS,
		CKM_SHA1_RSA_PKCS_PSS,
		CKM_SHA224_RSA_PKCS_PSS,
		CKM_SHA256_RSA_PKCS_PSS,
		CKM_SHA384_RSA_PKCS_PSS,
		CKM_SHA512_RSA_PKCS_PSS,
	};
	static const CK_MECHANISM_TYPE ecdsa[] = {
		CKM_ECDSA,	  CKM_ECDSA_SHA1,   CKM_ECDSA_SHA224,
		CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512,
	};
	static const CK_MECHANISM_TYPE oaep = CKM_RSA_PKCS_OAEP;
	static const CK_MECHANISM_TYPE ecdh = CKM_ECDH1_DERIVE;

	if (MDP_KEY_SPEC_IS_RSA(spec)) {
		buf_put_bytes(b, rsa_sig, sizeof(rsa_sig));
		if (spec == MDP_AT_KEYEXCHANGE)
			buf_put_bytes(b, &oaep, sizeof(oaep));
	} else if (MDP_KEY_SPEC_IS_ECDSA(spec)) {
		buf_put_bytes(b, ecdsa, sizeof(ecdsa));
	} else if (MDP_KEY_SPEC_IS_ECDH(spec)) {
		buf_put_bytes(b, &ecdh, sizeof(ecdh));
	}
}

static CK_RV
put_der(struct mdp_buf *b, int len, unsigned char *der)
{
	if (len < 0 || !der)
		return CKR_FUNCTION_FAILED;
	buf_put_bytes(b, der, (size_t)len);
	OPENSSL_free(der);
	return CKR_OK;
}

/* Certificate fields (parsed per query: certificates are not on the signing path). */
static CK_RV
cert_attr(const struct ksp_key *k, CK_ATTRIBUTE_TYPE type, struct mdp_buf *b)
{
	const unsigned char *p = k->cert;
	X509 *x = d2i_X509(NULL, &p, (long)k->cert_len);
	unsigned char *der = NULL;
	CK_RV rv = CKR_OK;
	int len = -1;

	if (!x)
		return CKR_DEVICE_ERROR;
	switch (type) {
	case CKA_SUBJECT:
		len = i2d_X509_NAME(X509_get_subject_name(x), &der);
		rv = put_der(b, len, der);
		break;
	case CKA_ISSUER:
		len = i2d_X509_NAME(X509_get_issuer_name(x), &der);
		rv = put_der(b, len, der);
		break;
	case CKA_SERIAL_NUMBER:
		len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der);
		rv = put_der(b, len, der);
		break;
	default:
		rv = CKR_ATTRIBUTE_TYPE_INVALID;
		break;
	}
	X509_free(x);
	return rv;
}

static CK_RV
public_attr(const struct ksp_key *k, CK_ATTRIBUTE_TYPE type, struct mdp_buf *b)
{
	uint8_t *p = NULL;
	size_t n = 0;
	unsigned char *der = NULL;
	enum mdp_err err = MDP_OK;
	const uint8_t *oid;
	size_t oid_len;
	bool rsa = MDP_KEY_SPEC_IS_RSA(k->spec);

	switch (type) {
	case CKA_MODULUS:
	case CKA_PUBLIC_EXPONENT:
		if (!rsa)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		err = mdp_key_rsa_component(k->pub, type == CKA_MODULUS ? BLOB_RSA_N : BLOB_RSA_E,
					    0, &p, &n);
		break;
	case CKA_MODULUS_BITS:
		if (!rsa)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		put_ulong(b, k->bits);
		return CKR_OK;
	case CKA_EC_PARAMS:
		if (rsa)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		ec_params(k->bits, &oid, &oid_len);
		buf_put_bytes(b, oid, oid_len);
		return CKR_OK;
	case CKA_EC_POINT:
		if (rsa)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		err = mdp_key_ec_point(k->pub, &p, &n);
		if (err == MDP_OK) {
			/* DER OCTET STRING around 04||X||Y (at most 133 bytes: one length byte
			 * or 0x81 n). */
			buf_put_u8(b, 0x04);
			if (n >= 0x80)
				buf_put_u8(b, 0x81);
			buf_put_u8(b, (uint8_t)n);
			buf_put_bytes(b, p, n);
			mdp_secure_free(p, n);
		}
		return err == MDP_OK ? CKR_OK : CKR_FUNCTION_FAILED;
	case CKA_PUBLIC_KEY_INFO: {
		int dlen = i2d_PUBKEY(mdp_key_pkey(k->pub), &der);

		return put_der(b, dlen, der);
	}
	default:
		return CKR_ATTRIBUTE_TYPE_INVALID;
	}
	if (err != MDP_OK)
		return CKR_FUNCTION_FAILED;
	buf_put_bytes(b, p, n);
	mdp_secure_free(p, n);
	return CKR_OK;
}

/*
 * The value of one attribute of one object, into b. CKR_ATTRIBUTE_TYPE_INVALID when the
 * object has no such attribute, CKR_ATTRIBUTE_SENSITIVE when it may not be revealed.
 */
CK_RV
object_attr(struct slot *s, const struct object *o, CK_ATTRIBUTE_TYPE type, struct mdp_buf *b)
{
	const struct ksp_container *c = NULL;
	const struct ksp_key *k = NULL;
	const struct ksp_data_object *d = NULL;
	bool rsa = false, generated = false, writable = s->info_valid ? !s->info.read_only : true;
	enum mdp_key_spec spec = MDP_AT_NONE;

	if (o->kind == OBJ_DATA) {
		d = object_data(s, o->num);
		if (!d)
			return CKR_OBJECT_HANDLE_INVALID;
	} else if (o->kind != OBJ_SECRET) {
		c = container_of(s, o);
		k = object_key(s, o);
		if (!c || !k)
			return CKR_OBJECT_HANDLE_INVALID;
		spec = k->spec;
		rsa = MDP_KEY_SPEC_IS_RSA(spec);
		generated = k->origin == KSP_ORIGIN_GENERATED;
	}

	/* Common to all storage objects. */
	switch (type) {
	case CKA_CLASS:
		put_ulong(b, o->kind == OBJ_PRIVATE_KEY	  ? CKO_PRIVATE_KEY
			     : o->kind == OBJ_PUBLIC_KEY  ? CKO_PUBLIC_KEY
			     : o->kind == OBJ_CERTIFICATE ? CKO_CERTIFICATE
			     : o->kind == OBJ_DATA	  ? CKO_DATA
							  : CKO_SECRET_KEY);
		return CKR_OK;
	case CKA_TOKEN:
		put_bool(b, !o->owner);
		return CKR_OK;
	case CKA_PRIVATE:
		put_bool(b, object_is_private(s, o));
		return CKR_OK;
	case CKA_MODIFIABLE:
		put_bool(b, writable);
		return CKR_OK;
	case CKA_COPYABLE:
		put_bool(b, false);
		return CKR_OK;
	case CKA_DESTROYABLE:
		put_bool(b, o->owner || (o->kind != OBJ_PUBLIC_KEY && writable));
		return CKR_OK;
	case CKA_LABEL:
		if (o->kind == OBJ_DATA)
			put_str(b, d->label);
		else if (o->kind == OBJ_SECRET)
			put_str(b, o->label);
		else
			put_str(b, o->kind == OBJ_CERTIFICATE ? k->cert_label : k->label);
		return CKR_OK;
	default:
		break;
	}

	if (o->kind == OBJ_DATA) {
		switch (type) {
		case CKA_APPLICATION:
			put_str(b, d->application);
			return CKR_OK;
		case CKA_OBJECT_ID:
			if (d->object_id)
				buf_put_bytes(b, d->object_id, d->object_id_len);
			return CKR_OK;
		case CKA_VALUE:
			buf_put_bytes(b, d->value, d->value_len);
			return CKR_OK;
		default:
			return CKR_ATTRIBUTE_TYPE_INVALID;
		}
	}

	if (o->kind == OBJ_SECRET) {
		switch (type) {
		case CKA_KEY_TYPE:
			put_ulong(b, CKK_GENERIC_SECRET);
			return CKR_OK;
		case CKA_ID:
			if (o->id)
				buf_put_bytes(b, o->id, o->id_len);
			return CKR_OK;
		case CKA_VALUE_LEN:
			put_ulong(b, o->secret_len);
			return CKR_OK;
		case CKA_VALUE:
			if (o->sensitive || !o->extractable)
				return CKR_ATTRIBUTE_SENSITIVE;
			buf_put_bytes(b, o->secret, o->secret_len);
			return CKR_OK;
		case CKA_SENSITIVE:
		case CKA_ALWAYS_SENSITIVE:
			put_bool(b, o->sensitive);
			return CKR_OK;
		case CKA_EXTRACTABLE:
			put_bool(b, o->extractable);
			return CKR_OK;
		case CKA_NEVER_EXTRACTABLE:
			put_bool(b, !o->extractable);
			return CKR_OK;
		case CKA_LOCAL:
			put_bool(b, false);
			return CKR_OK;
		case CKA_KEY_GEN_MECHANISM:
			put_ulong(b, CK_UNAVAILABLE_INFORMATION);
			return CKR_OK;
		case CKA_DERIVE:
		case CKA_ENCRYPT:
		case CKA_DECRYPT:
		case CKA_SIGN:
		case CKA_VERIFY:
		case CKA_WRAP:
		case CKA_UNWRAP:
			put_bool(b, false);
			return CKR_OK;
		default:
			return CKR_ATTRIBUTE_TYPE_INVALID;
		}
	}

	/* Keys and certificates of a container. */
	switch (type) {
	case CKA_ID:
		buf_put_bytes(b, k->id, k->id_len);
		return CKR_OK;
	case CKA_MDP11_CONTAINER_INDEX:
		put_ulong(b, c->index);
		return CKR_OK;
	case CKA_MDP11_KEY_SPEC:
		put_ulong(b, spec);
		return CKR_OK;
	case CKA_MDP11_DEFAULT_CONTAINER:
		put_bool(b, c->is_default);
		return CKR_OK;
	case CKA_MDP11_CONTAINER_NAME:
		put_str(b, c->name);
		return CKR_OK;
	default:
		break;
	}

	if (o->kind == OBJ_CERTIFICATE) {
		uint8_t hash[SHA_DIGEST_LENGTH];

		switch (type) {
		case CKA_CERTIFICATE_TYPE:
			put_ulong(b, CKC_X_509);
			return CKR_OK;
		case CKA_TRUSTED:
			put_bool(b, false);
			return CKR_OK;
		case CKA_CERTIFICATE_CATEGORY:
			put_ulong(b, 1); /* token user: the card holds its private key */
			return CKR_OK;
		case CKA_CHECK_VALUE:
			SHA1(k->cert, k->cert_len, hash);
			buf_put_bytes(b, hash, 3);
			return CKR_OK;
		case CKA_VALUE:
			buf_put_bytes(b, k->cert, k->cert_len);
			return CKR_OK;
		case CKA_START_DATE:
		case CKA_END_DATE:
		case CKA_URL:
		case CKA_HASH_OF_SUBJECT_PUBLIC_KEY:
		case CKA_HASH_OF_ISSUER_PUBLIC_KEY:
			return CKR_OK; /* empty */
		case CKA_JAVA_MIDP_SECURITY_DOMAIN:
			put_ulong(b, 0);
			return CKR_OK;
		case CKA_NAME_HASH_ALGORITHM:
			put_ulong(b, CKM_SHA_1);
			return CKR_OK;
		default:
			return cert_attr(k, type, b);
		}
	}

	/* Key objects. */
	switch (type) {
	case CKA_KEY_TYPE:
		put_ulong(b, rsa ? CKK_RSA : CKK_EC);
		return CKR_OK;
	case CKA_START_DATE:
	case CKA_END_DATE:
		return CKR_OK;
	case CKA_LOCAL:
		put_bool(b, generated);
		return CKR_OK;
	case CKA_KEY_GEN_MECHANISM:
		put_ulong(b, !generated ? CK_UNAVAILABLE_INFORMATION
			     : rsa	? CKM_RSA_PKCS_KEY_PAIR_GEN
					: CKM_EC_KEY_PAIR_GEN);
		return CKR_OK;
	case CKA_ALLOWED_MECHANISMS:
		put_mechanisms(b, spec);
		return CKR_OK;
	case CKA_DERIVE:
		/* Both halves of an ECDH key pair (what p11test's usage check expects). */
		put_bool(b, MDP_KEY_SPEC_IS_ECDH(spec));
		return CKR_OK;
	case CKA_SUBJECT:
		if (k->cert)
			return cert_attr(k, CKA_SUBJECT, b);
		return CKR_OK;
	default:
		break;
	}

	if (o->kind == OBJ_PUBLIC_KEY) {
		switch (type) {
		case CKA_ENCRYPT:
		case CKA_WRAP:
			put_bool(b, spec == MDP_AT_KEYEXCHANGE);
			return CKR_OK;
		case CKA_VERIFY:
			put_bool(b, rsa || MDP_KEY_SPEC_IS_ECDSA(spec));
			return CKR_OK;
		case CKA_VERIFY_RECOVER:
		case CKA_TRUSTED:
			put_bool(b, false);
			return CKR_OK;
		default:
			return public_attr(k, type, b);
		}
	}

	/* Private keys (§10.2 table). */
	switch (type) {
	case CKA_SENSITIVE:
		put_bool(b, true);
		return CKR_OK;
	case CKA_ALWAYS_AUTHENTICATE:
		/* a PIV key with PIN policy "always" (its container's PIN is not the user PIN) */
		put_bool(b, k->always_auth);
		return CKR_OK;
	case CKA_EXTRACTABLE:
	case CKA_SIGN_RECOVER:
	case CKA_WRAP_WITH_TRUSTED:
		put_bool(b, false);
		return CKR_OK;
	case CKA_ALWAYS_SENSITIVE:
	case CKA_NEVER_EXTRACTABLE:
		put_bool(b, generated);
		return CKR_OK;
	case CKA_DECRYPT:
	case CKA_UNWRAP:
		put_bool(b, spec == MDP_AT_KEYEXCHANGE);
		return CKR_OK;
	case CKA_SIGN:
		put_bool(b, rsa || MDP_KEY_SPEC_IS_ECDSA(spec));
		return CKR_OK;
	case CKA_PRIVATE_EXPONENT:
	case CKA_PRIME_1:
	case CKA_PRIME_2:
	case CKA_EXPONENT_1:
	case CKA_EXPONENT_2:
	case CKA_COEFFICIENT:
		return rsa ? CKR_ATTRIBUTE_SENSITIVE : CKR_ATTRIBUTE_TYPE_INVALID;
	case CKA_VALUE:
		return rsa ? CKR_ATTRIBUTE_TYPE_INVALID : CKR_ATTRIBUTE_SENSITIVE;
	case CKA_MODULUS_BITS:
		return CKR_ATTRIBUTE_TYPE_INVALID;
	default:
		return public_attr(k, type, b);
	}
}

CK_RV
object_get_attrs_slocked(struct session *se, struct object *o, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_RV rv = CKR_OK, r;
	struct mdp_buf b;
	CK_ULONG i;

	/* PKCS#11 §5.7 C_GetAttributeValue: every attribute is processed; the error returned
	 * is one of those met (sensitive, type invalid, buffer too small). */
	for (i = 0; i < n; i++) {
		buf_init_secret(&b);
		r = object_attr(se->slot, o, tmpl[i].type, &b);
		if (r == CKR_OK && b.bad)
			r = CKR_HOST_MEMORY;
		if (r == CKR_OK) {
			r = attr_put(&tmpl[i], b.data, b.len);
		} else if (r == CKR_ATTRIBUTE_SENSITIVE || r == CKR_ATTRIBUTE_TYPE_INVALID) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
		} else {
			buf_free(&b);
			return r;
		}
		if (r != CKR_OK && rv == CKR_OK)
			rv = r; /* the first problem met is the answer (§5.7 allows any) */
		buf_free(&b);
	}
	return rv;
}

/* Does the object match every attribute of the (checked) template (byte comparison)? */
bool
object_matches(struct slot *s, const struct object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	struct mdp_buf b;
	const void *v;
	size_t len;
	CK_ULONG i;
	bool ok = true;

	for (i = 0; i < n && ok; i++) {
		if (attr_value(&tmpl[i], &v, &len) != CKR_OK)
			return false;
		buf_init_secret(&b);
		ok = object_attr(s, o, tmpl[i].type, &b) == CKR_OK && !b.bad && b.len == len &&
		     (len == 0 || memcmp(b.data, v, len) == 0);
		buf_free(&b);
	}
	return ok;
}

CK_RV
object_find_init_slocked(struct session *se, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	struct slot *s = se->slot;
	CK_OBJECT_HANDLE *found;
	size_t i, k = 0, pass;
	CK_RV rv = attr_check_template(tmpl, n);

	if (rv != CKR_OK)
		return rv;
	found = calloc(s->nobjs + 1, sizeof(*found));
	if (!found)
		return CKR_HOST_MEMORY;
	/* The default container's objects first (what a caller picking "the first key" wants). */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < s->nobjs; i++) {
			const struct object *o = &s->objs[i];
			const struct ksp_container *c = NULL;
			bool dflt;

			if (o->owner && o->owner != se->handle)
				continue;
			if (object_is_private(s, o) && s->login != CKU_USER)
				continue;
			dflt = o->kind != OBJ_DATA && o->kind != OBJ_SECRET &&
			       (c = container_of(s, o)) && c->is_default;
			if (dflt != (pass == 0))
				continue;
			if (object_matches(s, o, tmpl, n))
				found[k++] = o->handle;
		}
	}
	se->found = found;
	se->nfound = k;
	se->found_pos = 0;
	se->finding = true;
	return CKR_OK;
}
