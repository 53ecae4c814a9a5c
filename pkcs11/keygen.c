/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* C_GenerateKeyPair and private-key C_CreateObject: templates to key specs (§10.2) and ksp calls.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "blob/blob.h"
#include "common/log.h"
#include "common/secmem.h"
#include "mdp11/pkcs11-vendor.h"
#include "pkcs11/module.h"

static const struct {
	const uint8_t *oid;
	size_t oid_len;
	const char *const names[4];
	enum mdp_key_spec spec;
} curves[] = {
	{(const uint8_t *)"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07",
	 10,
	 {"P-256", "prime256v1", "secp256r1", "nistp256"},
	 MDP_AT_ECDSA_P256},
	{(const uint8_t *)"\x06\x05\x2b\x81\x04\x00\x22",
	 7,
	 {"P-384", "secp384r1", "nistp384", "prime384v1"},
	 MDP_AT_ECDSA_P384},
	{(const uint8_t *)"\x06\x05\x2b\x81\x04\x00\x23",
	 7,
	 {"P-521", "secp521r1", "nistp521", "prime521v1"},
	 MDP_AT_ECDSA_P521},
};

/*
 * CKA_EC_PARAMS is DER ECParameters: a namedCurve OID, or (PKCS#11 3.0 §2.3.3) a
 * PrintableString with the curve name. Explicit parameters are not supported.
 */
CK_RV
keygen_curve_from_params(const uint8_t *p, size_t len, enum mdp_key_spec *ecdsa_spec)
{
	size_t i, j;

	if (!p || len < 2)
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID, "CKA_EC_PARAMS is empty");
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		if (p[0] == 0x06 && len == curves[i].oid_len &&
		    memcmp(p, curves[i].oid, len) == 0) {
			*ecdsa_spec = curves[i].spec;
			return CKR_OK;
		}
		if (p[0] == 0x13 && p[1] == len - 2) {
			for (j = 0; j < 4; j++) {
				if (strlen(curves[i].names[j]) == len - 2 &&
				    memcmp(p + 2, curves[i].names[j], len - 2) == 0) {
					*ecdsa_spec = curves[i].spec;
					return CKR_OK;
				}
			}
		}
	}
	if (p[0] != 0x06 && p[0] != 0x13)
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "CKA_EC_PARAMS is neither a named curve OID nor a curve name "
				  "(explicit parameters are not supported)");
	return p11_refuse(CKR_CURVE_NOT_SUPPORTED,
			  "the curve of CKA_EC_PARAMS is not P-256, P-384 or P-521");
}

static bool
either_true(const CK_ATTRIBUTE *a, CK_ULONG na, const CK_ATTRIBUTE *b, CK_ULONG nb,
	    CK_ATTRIBUTE_TYPE t)
{
	return attr_is_true(a, na, t) || attr_is_true(b, nb, t);
}

/*
 * The key spec from the templates (§10.2): RSA with decrypt/unwrap (private) or
 * encrypt/wrap (public) -> AT_KEYEXCHANGE, else AT_SIGNATURE; EC with derive -> AT_ECDHE,
 * else AT_ECDSA; EC sign + derive is inconsistent (a minidriver key has one purpose).
 * CKA_MDP11_KEY_SPEC overrides when it agrees with the key type.
 */
static CK_RV
choose_spec(bool rsa, enum mdp_key_spec ecdsa, const CK_ATTRIBUTE *priv, CK_ULONG np,
	    const CK_ATTRIBUTE *pub, CK_ULONG npub, enum mdp_key_spec *out)
{
	enum mdp_key_spec spec;
	CK_ULONG v;
	CK_RV rv;

	if (rsa) {
		spec = (either_true(priv, np, pub, npub, CKA_DECRYPT) ||
			either_true(priv, np, pub, npub, CKA_UNWRAP) ||
			either_true(priv, np, pub, npub, CKA_ENCRYPT) ||
			either_true(priv, np, pub, npub, CKA_WRAP))
			       ? MDP_AT_KEYEXCHANGE
			       : MDP_AT_SIGNATURE;
		if (spec == MDP_AT_KEYEXCHANGE && attr_is_true(priv, np, CKA_DERIVE))
			return p11_refuse(CKR_TEMPLATE_INCONSISTENT,
					  "an RSA key cannot derive: CKA_DERIVE is TRUE");
	} else {
		bool derive = attr_is_true(priv, np, CKA_DERIVE);

		if (derive &&
		    (attr_is_true(priv, np, CKA_SIGN) || attr_is_true(pub, npub, CKA_VERIFY)))
			return p11_refuse(
				CKR_TEMPLATE_INCONSISTENT,
				"an EC key is either ECDSA or ECDH: CKA_%s and CKA_DERIVE "
				"are both TRUE (pkcs11-tool asks for both unless given "
				"--usage-sign or --usage-derive)",
				attr_is_true(priv, np, CKA_SIGN) ? "SIGN" : "VERIFY");
		if (attr_is_true(priv, np, CKA_DECRYPT) || attr_is_true(priv, np, CKA_UNWRAP))
			return p11_refuse(CKR_TEMPLATE_INCONSISTENT,
					  "an EC key cannot decrypt or unwrap: CKA_%s is TRUE",
					  attr_is_true(priv, np, CKA_DECRYPT) ? "DECRYPT"
									      : "UNWRAP");
		spec = derive ? (enum mdp_key_spec)(ecdsa + (MDP_AT_ECDHE_P256 - MDP_AT_ECDSA_P256))
			      : ecdsa;
	}
	if (attr_has(priv, np, CKA_MDP11_KEY_SPEC)) {
		rv = attr_get_ulong(priv, np, CKA_MDP11_KEY_SPEC, &v);
		if (rv != CKR_OK)
			return rv;
		if (rsa ? !MDP_KEY_SPEC_IS_RSA(v)
			: !(v == ecdsa || v == ecdsa + (MDP_AT_ECDHE_P256 - MDP_AT_ECDSA_P256)))
			return p11_refuse(CKR_TEMPLATE_INCONSISTENT,
					  "CKA_MDP11_KEY_SPEC %lu does not suit %s", v,
					  rsa ? "an RSA key" : "an EC key on this curve");
		spec = (enum mdp_key_spec)v;
	}
	*out = spec;
	return CKR_OK;
}

/* Things no card key can be: session keys, extractable or non-sensitive private keys. */
static CK_RV
check_card_key_template(const CK_ATTRIBUTE *priv, CK_ULONG np, const CK_ATTRIBUTE *pub,
			CK_ULONG npub)
{
	if (attr_is_false(priv, np, CKA_TOKEN) || attr_is_false(pub, npub, CKA_TOKEN))
		return p11_refuse(CKR_TEMPLATE_INCONSISTENT,
				  "CKA_TOKEN is FALSE: card keys live in containers, session keys "
				  "are refused");
	if (attr_is_true(priv, np, CKA_EXTRACTABLE) || attr_is_false(priv, np, CKA_SENSITIVE) ||
	    attr_is_false(priv, np, CKA_PRIVATE))
		return p11_refuse(
			CKR_TEMPLATE_INCONSISTENT,
			"a private key on a card is sensitive, private and not extractable: "
			"CKA_%s is %s",
			attr_is_true(priv, np, CKA_EXTRACTABLE)	 ? "EXTRACTABLE"
			: attr_is_false(priv, np, CKA_SENSITIVE) ? "SENSITIVE"
								 : "PRIVATE",
			attr_is_true(priv, np, CKA_EXTRACTABLE) ? "TRUE" : "FALSE");
	return CKR_OK;
}

/* CKA_ID, CKA_LABEL and the vendor attributes into a ksp request. */
static CK_RV
fill_request(const CK_ATTRIBUTE *priv, CK_ULONG np, const CK_ATTRIBUTE *pub, CK_ULONG npub,
	     struct ksp_new_key *req, char **label)
{
	const CK_ATTRIBUTE *t = attr_has(priv, np, CKA_ID) ? priv : pub;
	CK_ULONG nt = t == priv ? np : npub, idx;
	const void *id;
	size_t id_len;
	CK_RV rv;

	req->index = -1;
	if (attr_has(t, nt, CKA_ID)) {
		rv = attr_get(t, nt, CKA_ID, &id, &id_len);
		if (rv != CKR_OK)
			return rv;
		if (id_len > 255)
			return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
					  "CKA_ID of %zu bytes: at most 255 are kept", id_len);
		req->id = id;
		req->id_len = id_len;
	}
	t = attr_has(priv, np, CKA_LABEL) ? priv : pub;
	nt = t == priv ? np : npub;
	if (attr_has(t, nt, CKA_LABEL)) {
		rv = attr_get_string(t, nt, CKA_LABEL, label);
		if (rv != CKR_OK)
			return rv;
		if (**label)
			req->label = *label;
	}
	if (attr_has(priv, np, CKA_MDP11_CONTAINER_INDEX)) {
		rv = attr_get_ulong(priv, np, CKA_MDP11_CONTAINER_INDEX, &idx);
		if (rv != CKR_OK)
			return rv;
		if (idx > 254)
			return p11_refuse(
				CKR_ATTRIBUTE_VALUE_INVALID,
				"CKA_MDP11_CONTAINER_INDEX %lu: container indexes are 0..254", idx);
		req->index = (int)idx;
	}
	req->overwrite = attr_is_true(priv, np, CKA_MDP11_OVERWRITE);
	/* PIV: slot 9C, the PIN before each use (docs/piv.md) */
	req->always_auth = attr_is_true(priv, np, CKA_ALWAYS_AUTHENTICATE);
	return CKR_OK;
}

/* A refused new key; CKA_ALWAYS_AUTHENTICATE that the card cannot honour is the template's fault.
 */
static CK_RV
key_refused(struct slot *s, const struct ksp_new_key *req, enum ksp_rv krv)
{
	if (krv == KSP_E_UNSUPPORTED && req->always_auth)
		return p11_refuse(CKR_TEMPLATE_INCONSISTENT,
				  "CKA_ALWAYS_AUTHENTICATE: this card has no PIN asked for before "
				  "each use of a key (PIV has: slot 9C)");
	return slot_result_slocked(s, krv);
}

static CK_RV
handles_after(struct slot *s, uint8_t index, enum mdp_key_spec spec, CK_OBJECT_HANDLE *hpub,
	      CK_OBJECT_HANDLE *hpriv)
{
	enum ksp_slot kslot = ksp_slot_of(spec);
	CK_RV rv;

	s->view_valid = false;
	s->info_valid = false;
	rv = slot_token_slocked(s);
	if (rv != CKR_OK)
		return rv;
	*hpriv = object_handle_for(s, OBJ_PRIVATE_KEY, index, kslot);
	if (hpub)
		*hpub = object_handle_for(s, OBJ_PUBLIC_KEY, index, kslot);
	return *hpriv ? CKR_OK : CKR_FUNCTION_FAILED;
}

CK_RV
keygen_pair_slocked(struct session *se, const CK_MECHANISM *mech, const CK_ATTRIBUTE *pub,
		    CK_ULONG npub, const CK_ATTRIBUTE *priv, CK_ULONG npriv, CK_OBJECT_HANDLE *hpub,
		    CK_OBJECT_HANDLE *hpriv)
{
	struct slot *s = se->slot;
	struct ksp_new_key req = {0};
	enum mdp_key_spec spec, ecdsa = MDP_AT_NONE;
	const struct ksp_key_sizes *sz;
	CK_ULONG bits = 0;
	char *label = NULL;
	uint8_t index = 0;
	enum ksp_rv krv;
	CK_RV rv;
	bool rsa;

	if (mech->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN)
		rsa = true;
	else if (mech->mechanism == CKM_EC_KEY_PAIR_GEN)
		rsa = false;
	else
		return p11_refuse(CKR_MECHANISM_INVALID,
				  "mechanism 0x%lx: key pairs are generated with "
				  "CKM_RSA_PKCS_KEY_PAIR_GEN or CKM_EC_KEY_PAIR_GEN",
				  mech->mechanism);
	if (mech->pParameter || mech->ulParameterLen)
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID, "%s takes no parameter",
				  rsa ? "CKM_RSA_PKCS_KEY_PAIR_GEN" : "CKM_EC_KEY_PAIR_GEN");
	rv = attr_check_template(pub, npub);
	if (rv == CKR_OK)
		rv = attr_check_template(priv, npriv);
	if (rv != CKR_OK)
		return rv;
	/* The template first: a session key pair is refused as such in any session. */
	rv = check_card_key_template(priv, npriv, pub, npub);
	if (rv != CKR_OK)
		return rv;
	rv = session_check_writable_slocked(se);
	if (rv != CKR_OK)
		return rv;
	if (rsa) {
		if (attr_has(pub, npub, CKA_MODULUS_BITS)) {
			rv = attr_get_ulong(pub, npub, CKA_MODULUS_BITS, &bits);
			if (rv != CKR_OK)
				return rv;
			/* Absent means the policy's default; 0 is no size at all. */
			if (bits == 0)
				return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
						  "CKA_MODULUS_BITS is 0");
		}
		if (attr_has(pub, npub, CKA_PUBLIC_EXPONENT)) {
			static const uint8_t f4[] = {0x01, 0x00, 0x01};
			const void *ev;
			const uint8_t *e;
			size_t n;

			rv = attr_get(pub, npub, CKA_PUBLIC_EXPONENT, &ev, &n);
			if (rv != CKR_OK)
				return rv;
			e = ev;
			while (e && n > 3 && *e == 0) {
				e++;
				n--;
			}
			/* CAPI blobs carry a 32-bit exponent; cards generate with 65537. */
			if (!e || n != 3 || memcmp(e, f4, 3) != 0)
				return p11_refuse(
					CKR_ATTRIBUTE_VALUE_INVALID,
					"CKA_PUBLIC_EXPONENT: cards generate RSA keys with "
					"65537 only");
		}
	} else {
		const void *params;
		size_t plen;

		rv = attr_get(pub, npub, CKA_EC_PARAMS, &params, &plen);
		if (rv == CKR_TEMPLATE_INCOMPLETE)
			rv = attr_get(priv, npriv, CKA_EC_PARAMS, &params, &plen);
		if (rv == CKR_TEMPLATE_INCOMPLETE)
			return p11_refuse(rv, "an EC key pair needs CKA_EC_PARAMS (the curve)");
		if (rv != CKR_OK)
			return rv;
		rv = keygen_curve_from_params(params, plen, &ecdsa);
		if (rv != CKR_OK)
			return rv;
	}
	rv = choose_spec(rsa, ecdsa, priv, npriv, pub, npub, &spec);
	if (rv != CKR_OK)
		return rv;
	if (!s->info_valid) {
		krv = ksp_token_info(s->kc, &s->info);
		if (krv != KSP_OK)
			return slot_result_slocked(s, krv);
		s->info_valid = true;
	}
	sz = &s->info.sizes[spec];
	if (!s->info.keygen)
		return p11_refuse(rsa ? CKR_KEY_SIZE_RANGE : CKR_CURVE_NOT_SUPPORTED,
				  "the card does not generate key pairs");
	if (!sz->supported)
		return p11_refuse(rsa ? CKR_KEY_SIZE_RANGE : CKR_CURVE_NOT_SUPPORTED,
				  "the card does not take %s keys%s", mdp_key_spec_name(spec),
				  rsa ? " (or the [policy] RSA sizes exclude every size it takes)"
				      : "");
	if (rsa && bits &&
	    (bits < sz->min_bits || bits > sz->max_bits ||
	     (sz->incr_bits && (bits - sz->min_bits) % sz->incr_bits))) {
		char why[192];

		ksp_rsa_size_why(sz, (unsigned)bits, why, sizeof(why));
		return p11_refuse(CKR_KEY_SIZE_RANGE, "RSA key size %s", why);
	}
	rv = fill_request(priv, npriv, pub, npub, &req, &label);
	if (rv != CKR_OK)
		goto out;
	req.spec = spec;
	req.bits = rsa ? (unsigned)bits : 0;
	krv = ksp_generate(s->kc, &req, &index);
	if (krv != KSP_OK) {
		rv = key_refused(s, &req, krv);
		log_info("key generation failed: %s (%s)", ksp_rv_name(krv), mdp_err_last());
		goto out;
	}
	log_debug("generated %s key in container %u", mdp_key_spec_name(spec), index);
	rv = handles_after(s, index, spec, hpub, hpriv);
	if (rv == CKR_OK && MDP_KEY_SPEC_IS_ECDH(spec))
		rv = object_add_public_slocked(se, index, ksp_slot_of(spec), hpub);
out:
	free(label);
	return rv;
}

/* One big integer of a private key template; absent or empty: *p NULL. */
static void
part(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE t, const uint8_t **p, size_t *len)
{
	const void *v = NULL;
	size_t l = 0;

	if (attr_get(tmpl, n, t, &v, &l) != CKR_OK)
		v = NULL;
	*p = v;
	*len = v ? l : 0;
}

CK_RV
keygen_import_slocked(struct session *se, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
		      CK_OBJECT_HANDLE *out)
{
	struct slot *s = se->slot;
	struct ksp_new_key req = {0};
	struct blob_rsa_parts parts = {0};
	struct mdp_key *key = NULL;
	enum mdp_key_spec spec = MDP_AT_NONE, ecdsa = MDP_AT_NONE;
	const void *v;
	size_t vlen;
	CK_KEY_TYPE type;
	char *label = NULL;
	uint8_t index = 0;
	enum mdp_err err;
	enum ksp_rv krv;
	CK_RV rv;

	rv = attr_get_ulong(tmpl, n, CKA_KEY_TYPE, &type);
	if (rv != CKR_OK)
		return rv;
	rv = check_card_key_template(tmpl, n, NULL, 0);
	if (rv != CKR_OK)
		return rv;
	if (type == CKK_RSA) {
		rv = choose_spec(true, MDP_AT_NONE, tmpl, n, NULL, 0, &spec);
		if (rv != CKR_OK)
			return rv;
		part(tmpl, n, CKA_MODULUS, &parts.n, &parts.n_len);
		part(tmpl, n, CKA_PUBLIC_EXPONENT, &parts.e, &parts.e_len);
		part(tmpl, n, CKA_PRIVATE_EXPONENT, &parts.d, &parts.d_len);
		part(tmpl, n, CKA_PRIME_1, &parts.p, &parts.p_len);
		part(tmpl, n, CKA_PRIME_2, &parts.q, &parts.q_len);
		part(tmpl, n, CKA_EXPONENT_1, &parts.dp, &parts.dp_len);
		part(tmpl, n, CKA_EXPONENT_2, &parts.dq, &parts.dq_len);
		part(tmpl, n, CKA_COEFFICIENT, &parts.qinv, &parts.qinv_len);
		if (!parts.n || !parts.e || !parts.p || !parts.q)
			return p11_refuse(
				CKR_TEMPLATE_INCOMPLETE,
				"an RSA private key needs CKA_MODULUS, CKA_PUBLIC_EXPONENT, "
				"CKA_PRIME_1 and CKA_PRIME_2");
		if (!parts.dp || !parts.dq || !parts.qinv || !parts.d) {
			/* All four CRT values, or none (the translator computes them). */
			parts.d = parts.dp = parts.dq = parts.qinv = NULL;
			parts.d_len = parts.dp_len = parts.dq_len = parts.qinv_len = 0;
		}
		err = blob_rsa_private_from_components(&parts, spec, 0, &key);
	} else if (type == CKK_EC) {
		rv = attr_get(tmpl, n, CKA_EC_PARAMS, &v, &vlen);
		if (rv != CKR_OK)
			return rv;
		rv = keygen_curve_from_params(v, vlen, &ecdsa);
		if (rv != CKR_OK)
			return rv;
		rv = choose_spec(false, ecdsa, tmpl, n, NULL, 0, &spec);
		if (rv != CKR_OK)
			return rv;
		rv = attr_get(tmpl, n, CKA_VALUE, &v, &vlen);
		if (rv != CKR_OK)
			return rv;
		if (!vlen)
			return p11_refuse(CKR_TEMPLATE_INCOMPLETE, "CKA_VALUE (the private scalar) "
								   "is empty");
		/* PKCS#11 templates carry no public point: Q = d*G is computed. */
		err = blob_ec_private_from_scalar(spec, v, vlen, &key);
	} else {
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "CKA_KEY_TYPE 0x%lx: cards take CKK_RSA and CKK_EC keys", type);
	}
	if (err != MDP_OK) /* the translator's reason is logged with the result */
		return ckr_from_mdp(err);
	rv = fill_request(tmpl, n, NULL, 0, &req, &label);
	if (rv != CKR_OK)
		goto out;
	req.spec = spec;
	krv = ksp_import(s->kc, key, &req, &index);
	if (krv != KSP_OK) {
		rv = key_refused(s, &req, krv);
		log_info("key import failed: %s (%s)", ksp_rv_name(krv), mdp_err_last());
		goto out;
	}
	rv = handles_after(s, index, spec, NULL, out);
out:
	mdp_key_free(key);
	free(label);
	return rv;
}
