/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mechanisms: the table, digests, card signatures/decryption/ECDH, software verify/encrypt. */
#include "config.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "blob/blob.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/secmem.h"
#include "pkcs11/module.h"

/* ---- the mechanism table ---- */

enum mfam { FAM_DIGEST, FAM_RSA, FAM_ECDSA, FAM_ECDH, FAM_RSA_GEN, FAM_EC_GEN };

struct mech {
	CK_MECHANISM_TYPE type;
	enum mfam fam;
	enum ksp_pad pad;   /* RSA: padding; ECDSA: NONE */
	enum mdp_hash hash; /* hash-then-sign / digest; NONE for raw mechanisms */
	CK_FLAGS flags;
};

#define ECF (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
static const struct mech mechs[] = {
	{CKM_RSA_PKCS_KEY_PAIR_GEN, FAM_RSA_GEN, KSP_PAD_NONE, MDP_HASH_NONE,
	 CKF_HW | CKF_GENERATE_KEY_PAIR},
	{CKM_RSA_PKCS, FAM_RSA, KSP_PAD_PKCS1, MDP_HASH_NONE,
	 CKF_HW | CKF_SIGN | CKF_VERIFY | CKF_ENCRYPT | CKF_DECRYPT},
	{CKM_RSA_X_509, FAM_RSA, KSP_PAD_NONE, MDP_HASH_NONE,
	 CKF_HW | CKF_SIGN | CKF_VERIFY | CKF_ENCRYPT | CKF_DECRYPT},
	{CKM_RSA_PKCS_PSS, FAM_RSA, KSP_PAD_PSS, MDP_HASH_NONE, CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_RSA_PKCS_OAEP, FAM_RSA, KSP_PAD_OAEP, MDP_HASH_NONE,
	 CKF_HW | CKF_ENCRYPT | CKF_DECRYPT},
	{CKM_SHA1_RSA_PKCS, FAM_RSA, KSP_PAD_PKCS1, MDP_HASH_SHA1, CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_SHA224_RSA_PKCS, FAM_RSA, KSP_PAD_PKCS1, MDP_HASH_SHA224,
	 CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_SHA256_RSA_PKCS, FAM_RSA, KSP_PAD_PKCS1, MDP_HASH_SHA256,
	 CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_SHA384_RSA_PKCS, FAM_RSA, KSP_PAD_PKCS1, MDP_HASH_SHA384,
	 CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_SHA512_RSA_PKCS, FAM_RSA, KSP_PAD_PKCS1, MDP_HASH_SHA512,
	 CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_SHA1_RSA_PKCS_PSS, FAM_RSA, KSP_PAD_PSS, MDP_HASH_SHA1,
	 CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_SHA224_RSA_PKCS_PSS, FAM_RSA, KSP_PAD_PSS, MDP_HASH_SHA224,
	 CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_SHA256_RSA_PKCS_PSS, FAM_RSA, KSP_PAD_PSS, MDP_HASH_SHA256,
	 CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_SHA384_RSA_PKCS_PSS, FAM_RSA, KSP_PAD_PSS, MDP_HASH_SHA384,
	 CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_SHA512_RSA_PKCS_PSS, FAM_RSA, KSP_PAD_PSS, MDP_HASH_SHA512,
	 CKF_HW | CKF_SIGN | CKF_VERIFY},
	{CKM_EC_KEY_PAIR_GEN, FAM_EC_GEN, KSP_PAD_NONE, MDP_HASH_NONE,
	 CKF_HW | CKF_GENERATE_KEY_PAIR | ECF},
	{CKM_ECDSA, FAM_ECDSA, KSP_PAD_NONE, MDP_HASH_NONE, CKF_HW | CKF_SIGN | CKF_VERIFY | ECF},
	{CKM_ECDSA_SHA1, FAM_ECDSA, KSP_PAD_NONE, MDP_HASH_SHA1,
	 CKF_HW | CKF_SIGN | CKF_VERIFY | ECF},
	{CKM_ECDSA_SHA224, FAM_ECDSA, KSP_PAD_NONE, MDP_HASH_SHA224,
	 CKF_HW | CKF_SIGN | CKF_VERIFY | ECF},
	{CKM_ECDSA_SHA256, FAM_ECDSA, KSP_PAD_NONE, MDP_HASH_SHA256,
	 CKF_HW | CKF_SIGN | CKF_VERIFY | ECF},
	{CKM_ECDSA_SHA384, FAM_ECDSA, KSP_PAD_NONE, MDP_HASH_SHA384,
	 CKF_HW | CKF_SIGN | CKF_VERIFY | ECF},
	{CKM_ECDSA_SHA512, FAM_ECDSA, KSP_PAD_NONE, MDP_HASH_SHA512,
	 CKF_HW | CKF_SIGN | CKF_VERIFY | ECF},
	{CKM_ECDH1_DERIVE, FAM_ECDH, KSP_PAD_NONE, MDP_HASH_NONE, CKF_HW | CKF_DERIVE | ECF},
	{CKM_SHA_1, FAM_DIGEST, KSP_PAD_NONE, MDP_HASH_SHA1, CKF_DIGEST},
	{CKM_SHA224, FAM_DIGEST, KSP_PAD_NONE, MDP_HASH_SHA224, CKF_DIGEST},
	{CKM_SHA256, FAM_DIGEST, KSP_PAD_NONE, MDP_HASH_SHA256, CKF_DIGEST},
	{CKM_SHA384, FAM_DIGEST, KSP_PAD_NONE, MDP_HASH_SHA384, CKF_DIGEST},
	{CKM_SHA512, FAM_DIGEST, KSP_PAD_NONE, MDP_HASH_SHA512, CKF_DIGEST},
};
#define N_MECHS (sizeof(mechs) / sizeof(mechs[0]))

static const struct mech *
mech_find(CK_MECHANISM_TYPE t)
{
	size_t i;

	for (i = 0; i < N_MECHS; i++)
		if (mechs[i].type == t)
			return &mechs[i];
	return NULL;
}

static enum mdp_hash
hash_from_ckm(CK_MECHANISM_TYPE t)
{
	switch (t) {
	case CKM_SHA_1:
		return MDP_HASH_SHA1;
	case CKM_SHA224:
		return MDP_HASH_SHA224;
	case CKM_SHA256:
		return MDP_HASH_SHA256;
	case CKM_SHA384:
		return MDP_HASH_SHA384;
	case CKM_SHA512:
		return MDP_HASH_SHA512;
	default:
		return MDP_HASH_NONE;
	}
}

static enum mdp_hash
hash_from_mgf(CK_RSA_PKCS_MGF_TYPE m)
{
	switch (m) {
	case CKG_MGF1_SHA1:
		return MDP_HASH_SHA1;
	case CKG_MGF1_SHA224:
		return MDP_HASH_SHA224;
	case CKG_MGF1_SHA256:
		return MDP_HASH_SHA256;
	case CKG_MGF1_SHA384:
		return MDP_HASH_SHA384;
	case CKG_MGF1_SHA512:
		return MDP_HASH_SHA512;
	default:
		return MDP_HASH_NONE;
	}
}

/* Which key families the token supports (card key sizes intersected with the policy). */
static bool
fam_supported(const struct ksp_token_info *ti, enum mfam fam)
{
	switch (fam) {
	case FAM_DIGEST:
		return true;
	case FAM_RSA:
		return ti->sizes[MDP_AT_KEYEXCHANGE].supported ||
		       ti->sizes[MDP_AT_SIGNATURE].supported;
	case FAM_RSA_GEN:
		return ti->keygen && fam_supported(ti, FAM_RSA);
	case FAM_ECDSA:
		return ti->sizes[MDP_AT_ECDSA_P256].supported ||
		       ti->sizes[MDP_AT_ECDSA_P384].supported ||
		       ti->sizes[MDP_AT_ECDSA_P521].supported;
	case FAM_ECDH:
		return ti->sizes[MDP_AT_ECDHE_P256].supported ||
		       ti->sizes[MDP_AT_ECDHE_P384].supported ||
		       ti->sizes[MDP_AT_ECDHE_P521].supported;
	case FAM_EC_GEN:
		return ti->keygen && (fam_supported(ti, FAM_ECDSA) || fam_supported(ti, FAM_ECDH));
	}
	return false;
}

CK_RV
crypto_mechanism_list(const struct ksp_token_info *ti, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
	CK_ULONG n = 0;
	size_t i;

	for (i = 0; i < N_MECHS; i++) {
		if (!fam_supported(ti, mechs[i].fam))
			continue;
		if (list && n < *count)
			list[n] = mechs[i].type;
		n++;
	}
	if (list && n > *count) {
		*count = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	*count = n;
	return CKR_OK;
}

CK_RV
crypto_mechanism_info(const struct ksp_token_info *ti, CK_MECHANISM_TYPE type,
		      CK_MECHANISM_INFO *info)
{
	const struct mech *m = mech_find(type);
	unsigned lo = 0, hi = 0;
	int spec;

	if (!m)
		return p11_refuse(CKR_MECHANISM_INVALID, "mechanism 0x%lx is not offered by mdp11",
				  type);
	if (!fam_supported(ti, m->fam))
		return p11_refuse(CKR_MECHANISM_INVALID,
				  "mechanism 0x%lx: the card takes no key of its kind", type);
	memset(info, 0, sizeof(*info));
	info->flags = m->flags;
	if (m->fam == FAM_RSA || m->fam == FAM_RSA_GEN) {
		for (spec = MDP_AT_KEYEXCHANGE; spec <= MDP_AT_SIGNATURE; spec++) {
			const struct ksp_key_sizes *sz = &ti->sizes[spec];

			if (!sz->supported)
				continue;
			if (!lo || sz->min_bits < lo)
				lo = sz->min_bits;
			if (sz->max_bits > hi)
				hi = sz->max_bits;
		}
	} else if (m->fam != FAM_DIGEST) {
		for (spec = MDP_AT_ECDSA_P256; spec <= MDP_AT_ECDHE_P521; spec++) {
			unsigned bits = (spec - MDP_AT_ECDSA_P256) % 3 == 0   ? 256
					: (spec - MDP_AT_ECDSA_P256) % 3 == 1 ? 384
									      : 521;

			if (!ti->sizes[spec].supported)
				continue;
			if (!lo || bits < lo)
				lo = bits;
			if (bits > hi)
				hi = bits;
		}
	}
	info->ulMinKeySize = lo;
	info->ulMaxKeySize = hi;
	return CKR_OK;
}

/* ---- helpers ---- */

/* The object for a crypto operation: private objects answer "not logged in", not "invalid". */
static CK_RV
key_object(struct session *se, CK_OBJECT_HANDLE h, struct object **out, const struct ksp_key **k)
{
	struct slot *s = se->slot;
	size_t i;

	for (i = 0; i < s->nobjs; i++) {
		struct object *o = &s->objs[i];

		if (o->handle != h || (o->owner && o->owner != se->handle))
			continue;
		if (object_is_private(s, o) && s->login != CKU_USER)
			return CKR_USER_NOT_LOGGED_IN;
		if (o->kind != OBJ_PRIVATE_KEY && o->kind != OBJ_PUBLIC_KEY)
			return p11_refuse(CKR_KEY_TYPE_INCONSISTENT,
					  "object %lu is not a key of a key pair", h);
		*k = object_key(s, o);
		if (!*k)
			return CKR_KEY_HANDLE_INVALID;
		*out = o;
		return CKR_OK;
	}
	return CKR_KEY_HANDLE_INVALID;
}

static size_t
key_bytes(const struct ksp_key *k)
{
	return (k->bits + 7) / 8;
}

/*
 * RSA works on numbers below the modulus (RFC 8017 §5.1, §5.2): a block of the modulus' size
 * that is not is invalid data (CKR_DATA_INVALID / CKR_ENCRYPTED_DATA_INVALID), which the
 * module answers itself rather than passing it to the card and mapping its refusal.
 */
static bool
below_modulus(EVP_PKEY *pub, const uint8_t *block, size_t len)
{
	BIGNUM *n = NULL, *m = BN_bin2bn(block, (int)len, NULL);
	bool ok =
		m && EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) == 1 && BN_cmp(m, n) < 0;

	BN_clear_free(m);
	BN_free(n);
	return ok;
}

static CK_RV
check_pss(const struct mech *m, const CK_MECHANISM *mech, const struct ksp_key *k, struct op *op)
{
	const CK_RSA_PKCS_PSS_PARAMS *p = mech->pParameter;
	enum mdp_hash h, mgf;
	const EVP_MD *md;

	if (!p || mech->ulParameterLen != sizeof(*p))
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "PSS needs a CK_RSA_PKCS_PSS_PARAMS parameter");
	h = hash_from_ckm(p->hashAlg);
	mgf = hash_from_mgf(p->mgf);
	if (h == MDP_HASH_NONE || mgf == MDP_HASH_NONE)
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "PSS: unknown hash 0x%lx or MGF 0x%lx", p->hashAlg, p->mgf);
	if (m->hash != MDP_HASH_NONE && m->hash != h)
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "PSS: hashAlg 0x%lx is not the mechanism's hash", p->hashAlg);
	md = mdp_hash_md(h);
	/* RFC 8017 §9.1.1: emLen >= hLen + sLen + 2. */
	if (p->sLen + (size_t)EVP_MD_get_size(md) + 2 > key_bytes(k))
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "PSS: a salt of %lu bytes does not fit a %u-bit key with this "
				  "hash",
				  p->sLen, k->bits);
	op->pad.type = KSP_PAD_PSS;
	op->pad.hash = h;
	op->pad.mgf1_hash = mgf;
	op->pad.salt_len = p->sLen;
	return CKR_OK;
}

static CK_RV
check_oaep(const CK_MECHANISM *mech, struct op *op)
{
	const CK_RSA_PKCS_OAEP_PARAMS *p = mech->pParameter;
	enum mdp_hash h, mgf;

	if (!p || mech->ulParameterLen != sizeof(*p))
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "OAEP needs a CK_RSA_PKCS_OAEP_PARAMS parameter");
	h = hash_from_ckm(p->hashAlg);
	mgf = hash_from_mgf(p->mgf);
	if (h == MDP_HASH_NONE || mgf == MDP_HASH_NONE)
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "OAEP: unknown hash 0x%lx or MGF 0x%lx", p->hashAlg, p->mgf);
	if (p->source != 0 && p->source != CKZ_DATA_SPECIFIED)
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "OAEP: source 0x%lx is not CKZ_DATA_SPECIFIED", p->source);
	if (p->ulSourceDataLen && !p->pSourceData)
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "OAEP: ulSourceDataLen without pSourceData");
	op->pad.type = KSP_PAD_OAEP;
	op->pad.hash = h;
	op->pad.mgf1_hash = mgf;
	if (p->ulSourceDataLen) {
		op->oaep_label = mdp_memdup(p->pSourceData, p->ulSourceDataLen);
		if (!op->oaep_label)
			return CKR_HOST_MEMORY;
		op->pad.label = op->oaep_label;
		op->pad.label_len = p->ulSourceDataLen;
	}
	return CKR_OK;
}

CK_RV
crypto_init_slocked(struct session *se, enum op_kind kind, const CK_MECHANISM *mech,
		    CK_OBJECT_HANDLE key)
{
	const struct mech *m = mech_find(mech->mechanism);
	struct op *op = &se->op[kind];
	const struct ksp_key *k = NULL;
	struct object *o = NULL;
	CK_RV rv;

	if (!m)
		return p11_refuse(CKR_MECHANISM_INVALID, "mechanism 0x%lx is not offered by mdp11",
				  mech->mechanism);
	if (kind == OP_DIGEST) {
		if (m->fam != FAM_DIGEST)
			return p11_refuse(CKR_MECHANISM_INVALID,
					  "mechanism 0x%lx is not a digest mechanism", m->type);
		if (mech->pParameter || mech->ulParameterLen)
			return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
					  "digest mechanisms take no parameter");
		memset(op, 0, sizeof(*op));
		op->md = mdp_hash_md(m->hash);
		op->mdctx = EVP_MD_CTX_new();
		if (!op->mdctx || !EVP_DigestInit_ex(op->mdctx, op->md, NULL)) {
			session_op_clear(op);
			return CKR_HOST_MEMORY;
		}
		op->mech = m->type;
		op->out_len = (size_t)EVP_MD_get_size(op->md);
		op->active = true;
		return CKR_OK;
	}
	if (m->fam != FAM_RSA && m->fam != FAM_ECDSA)
		return p11_refuse(CKR_MECHANISM_INVALID,
				  "mechanism 0x%lx is not a signature or encryption mechanism",
				  m->type);
	if ((kind == OP_SIGN || kind == OP_VERIFY) && !(m->flags & CKF_SIGN))
		return p11_refuse(CKR_MECHANISM_INVALID, "mechanism 0x%lx does not sign", m->type);
	if ((kind == OP_ENCRYPT || kind == OP_DECRYPT) && !(m->flags & CKF_ENCRYPT))
		return p11_refuse(CKR_MECHANISM_INVALID, "mechanism 0x%lx does not encrypt",
				  m->type);
	rv = key_object(se, key, &o, &k);
	if (rv != CKR_OK)
		return rv;
	/* Private-key operations need the private key; public ones take either half. */
	if ((kind == OP_SIGN || kind == OP_DECRYPT) && o->kind != OBJ_PRIVATE_KEY)
		return p11_refuse(
			CKR_KEY_TYPE_INCONSISTENT,
			"key %lu is a public key: signing and decrypting need the private "
			"key",
			key);
	if ((m->fam == FAM_RSA) != MDP_KEY_SPEC_IS_RSA(k->spec))
		return p11_refuse(CKR_KEY_TYPE_INCONSISTENT,
				  "mechanism 0x%lx is for %s keys; "
				  "key %lu is an %s key",
				  m->type, m->fam == FAM_RSA ? "RSA" : "EC", key,
				  MDP_KEY_SPEC_IS_RSA(k->spec) ? "RSA" : "EC");
	if ((kind == OP_SIGN || kind == OP_VERIFY) && MDP_KEY_SPEC_IS_ECDH(k->spec))
		return p11_refuse(CKR_KEY_FUNCTION_NOT_PERMITTED,
				  "key %lu is an ECDH key (%s): it derives, it does not sign", key,
				  mdp_key_spec_name(k->spec));
	if ((kind == OP_DECRYPT || kind == OP_ENCRYPT) && k->spec != MDP_AT_KEYEXCHANGE)
		return p11_refuse(CKR_KEY_FUNCTION_NOT_PERMITTED,
				  "key %lu is a %s key: only exchange (AT_KEYEXCHANGE) keys "
				  "decrypt",
				  key, mdp_key_spec_name(k->spec));

	memset(op, 0, sizeof(*op));
	op->pad.type = m->pad;
	op->pad.hash = m->hash;
	if (m->pad == KSP_PAD_PSS)
		rv = check_pss(m, mech, k, op);
	else if (m->pad == KSP_PAD_OAEP)
		rv = check_oaep(mech, op);
	else if (mech->pParameter || mech->ulParameterLen)
		rv = p11_refuse(CKR_MECHANISM_PARAM_INVALID, "mechanism 0x%lx takes no parameter",
				m->type);
	if (rv != CKR_OK) {
		session_op_clear(op);
		return rv;
	}
	if (m->hash != MDP_HASH_NONE) {
		op->md = mdp_hash_md(m->hash);
		op->mdctx = EVP_MD_CTX_new();
		if (!op->mdctx || !EVP_DigestInit_ex(op->mdctx, op->md, NULL)) {
			session_op_clear(op);
			return CKR_HOST_MEMORY;
		}
	}
	if (kind == OP_VERIFY || kind == OP_ENCRYPT) {
		op->pub = mdp_key_pkey(k->pub);
		EVP_PKEY_up_ref(op->pub);
	}
	op->mech = m->type;
	op->key = key;
	op->out_len = m->fam == FAM_RSA ? key_bytes(k) : 2 * ((k->bits + 7) / 8);
	op->active = true;
	return CKR_OK;
}

/* Append to the buffered input of a raw mechanism (secret buffer: it may be plaintext). */
static CK_RV
accumulate(struct op *op, const uint8_t *in, size_t len)
{
	uint8_t *n;

	if (!len)
		return CKR_OK;
	if (op->acc_len + len > 65536)
		return p11_refuse(CKR_DATA_LEN_RANGE, "more than 64 KiB of data for a single-part "
						      "mechanism");
	n = mdp_zalloc(op->acc_len + len);
	if (!n)
		return CKR_HOST_MEMORY;
	if (op->acc)
		memcpy(n, op->acc, op->acc_len);
	memcpy(n + op->acc_len, in, len);
	if (op->acc)
		mdp_secure_free(op->acc, op->acc_len);
	op->acc = n;
	op->acc_len += len;
	return CKR_OK;
}

CK_RV
crypto_update_slocked(struct session *se, enum op_kind kind, const uint8_t *in, size_t len)
{
	struct op *op = &se->op[kind];
	CK_RV rv = CKR_OK;

	op->multi = true;
	if (op->mdctx) {
		if (len && !EVP_DigestUpdate(op->mdctx, in, len))
			rv = CKR_FUNCTION_FAILED;
	} else {
		rv = accumulate(op, in, len);
	}
	if (rv != CKR_OK)
		session_op_clear(op);
	return rv;
}

/*
 * ECDSA input as an integer of the order's size (FIPS 186-4 §6.4: the leftmost bits of
 * the hash): shorter inputs are left-padded, longer ones truncated; the card then sees one
 * field-sized block whatever the caller's hash.
 */
static void
ecdsa_input(const uint8_t *in, size_t len, unsigned bits, uint8_t *out, size_t *out_len)
{
	size_t flen = (bits + 7) / 8, i;
	unsigned shift = (unsigned)(flen * 8 - bits);

	memset(out, 0, flen);
	if (len <= flen) {
		memcpy(out + flen - len, in, len);
	} else {
		memcpy(out, in, flen);
		if (shift) {
			for (i = flen; i-- > 0;)
				out[i] = (uint8_t)((out[i] >> shift) |
						   (i ? out[i - 1] << (8 - shift) : 0));
		}
	}
	*out_len = flen;
}

/*
 * Sign on a lane (the host's: a logical channel of an embedded card with its own card-module
 * context) without the slot lock, so that another session's signature runs at the same time.
 * The padding and the input are copied under the lock; the session is marked busy (its other
 * calls wait, a close is deferred). *done false: no lane, or the lane failed — the caller signs
 * the usual way, which gives the authoritative answer (a logout, a reset, a key gone).
 */
static enum ksp_rv
sign_on_lane(struct session *se, const struct object *o, const struct op *op, const uint8_t *data,
	     size_t len, uint8_t *sig, size_t *sig_len, bool *done)
{
	struct slot *s = se->slot;
	struct ksp_padding pad = op->pad;
	unsigned long gen = s->gen;
	uint8_t in[1024];
	size_t sl = *sig_len;
	struct ksp_lane *l;
	enum ksp_rv krv;

	*done = false;
	if (len > sizeof(in) || pad.label)
		return KSP_OK;
	l = ksp_lane_take(s->kc, o->index, o->kslot);
	if (!l)
		return KSP_OK;
	memcpy(in, data, len);
	se->busy = true;
	lock_release(s->lock);
	krv = ksp_lane_sign(l, &pad, in, len, sig, &sl);
	lock_take(s->lock);
	se->busy = false;
	mdp_wipe(in, sizeof(in));
	ksp_lane_put(s->kc, l, krv == KSP_OK);
	if (s->gen != gen || !s->kc) {
		*done = true;
		return KSP_E_CARD_REMOVED;
	}
	if (krv == KSP_OK) {
		*sig_len = sl;
		*done = true;
	}
	return krv;
}

/*
 * C_Login(CKU_CONTEXT_SPECIFIC): the PIN again for the active signature or decryption with a key
 * that asks for it before each use (CKA_ALWAYS_AUTHENTICATE; PIV PIN policy "always").
 */
CK_RV
crypto_context_login_slocked(struct session *se, const uint8_t *pin, size_t len)
{
	static const enum op_kind kinds[] = {OP_SIGN, OP_DECRYPT};
	const struct ksp_key *k = NULL;
	struct object *o = NULL;
	struct op *op = NULL;
	enum ksp_rv krv;
	CK_RV rv;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (se->op[kinds[i]].active)
			op = &se->op[kinds[i]];
	if (!op)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (se->slot->login != CKU_USER)
		return CKR_USER_NOT_LOGGED_IN;
	if (!pin)
		return CKR_ARGUMENTS_BAD;
	rv = key_object(se, op->key, &o, &k);
	if (rv != CKR_OK)
		return rv;
	if (!k->always_auth)
		return p11_refuse(
			CKR_OPERATION_NOT_INITIALIZED,
			"the key has no CKA_ALWAYS_AUTHENTICATE: the user login covers it");
	krv = ksp_login_context(se->slot->kc, o->index, pin, len);
	if (krv != KSP_OK)
		return slot_result_slocked(se->slot, krv);
	op->context_ok = true;
	return CKR_OK;
}

/* A key with CKA_ALWAYS_AUTHENTICATE is used once per C_Login(CKU_CONTEXT_SPECIFIC). */
static CK_RV
check_context(const struct op *op, const struct ksp_key *k)
{
	if (k->always_auth && !op->context_ok)
		return p11_refuse(
			CKR_USER_NOT_LOGGED_IN,
			"the key has CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) "
			"with the PIN before the operation");
	return CKR_OK;
}

static CK_RV
do_sign(struct session *se, struct op *op, const uint8_t *data, size_t len, uint8_t *sig,
	size_t *sig_len)
{
	struct slot *s = se->slot;
	const struct ksp_key *k = NULL;
	struct object *o = NULL;
	uint8_t block[1024];
	size_t blen = 0;
	/* every path below sets it; a failure to start with, so that a change that forgets to can
	 * never report a signature that was not made */
	enum ksp_rv krv = KSP_E_FAILED;
	CK_RV rv;

	rv = key_object(se, op->key, &o, &k);
	if (rv == CKR_OK)
		rv = check_context(op, k);
	if (rv != CKR_OK)
		return rv;
	if (MDP_KEY_SPEC_IS_EC(k->spec)) {
		ecdsa_input(data, len, k->bits, block, &blen);
		data = block;
		len = blen;
	} else if (op->pad.type == KSP_PAD_NONE) {
		/* Raw RSA: one modulus-sized block, left-padded. */
		if (len > key_bytes(k))
			return p11_refuse(CKR_DATA_LEN_RANGE,
					  "raw RSA: %zu bytes of data for a %zu-byte modulus", len,
					  key_bytes(k));
		memset(block, 0, key_bytes(k) - len);
		memcpy(block + key_bytes(k) - len, data, len);
		data = block;
		len = key_bytes(k);
		if (!below_modulus(mdp_key_pkey(k->pub), block, len)) {
			mdp_wipe(block, sizeof(block));
			return p11_refuse(CKR_DATA_INVALID,
					  "raw RSA: the data is not below the modulus");
		}
	} else if (op->pad.type == KSP_PAD_PKCS1 && op->pad.hash == MDP_HASH_NONE) {
		if (len + 11 > key_bytes(k))
			return p11_refuse(CKR_DATA_LEN_RANGE,
					  "CKM_RSA_PKCS: %zu bytes do not fit a %zu-byte modulus "
					  "with the padding",
					  len, key_bytes(k));
	} else if (op->pad.type == KSP_PAD_PSS && !op->md) {
		if (len != (size_t)EVP_MD_get_size(mdp_hash_md(op->pad.hash)))
			return p11_refuse(CKR_DATA_LEN_RANGE,
					  "CKM_RSA_PKCS_PSS signs a hash: %zu bytes is not the "
					  "length of the parameters' hash",
					  len);
	}
	{
		bool done = false;

		/* a lane is another card-module context: the PIN given again is not there */
		if (!k->always_auth)
			krv = sign_on_lane(se, o, op, data, len, sig, sig_len, &done);
		if (!done)
			krv = ksp_sign(s->kc, o->index, o->kslot, &op->pad, data, len, sig,
				       sig_len);
	}
	mdp_wipe(block, sizeof(block));
	return krv == KSP_OK ? CKR_OK : slot_result_slocked(s, krv);
}

static CK_RV
do_decrypt(struct session *se, struct op *op, const uint8_t *in, size_t len, uint8_t *out,
	   CK_ULONG *out_len)
{
	struct slot *s = se->slot;
	const struct ksp_key *k = NULL;
	struct object *o = NULL;
	uint8_t *plain = NULL;
	size_t plen;
	enum ksp_rv krv;
	CK_RV rv;

	if (op->acc && op->out_len == (size_t)-1) {
		/* A result kept from a call whose buffer was too small. */
		goto deliver;
	}
	rv = key_object(se, op->key, &o, &k);
	if (rv == CKR_OK)
		rv = check_context(op, k);
	if (rv != CKR_OK)
		return rv;
	if (len != key_bytes(k))
		return p11_refuse(CKR_ENCRYPTED_DATA_LEN_RANGE,
				  "%zu bytes to decrypt with a %zu-byte modulus", len,
				  key_bytes(k));
	if (!below_modulus(mdp_key_pkey(k->pub), in, len))
		return p11_refuse(CKR_ENCRYPTED_DATA_INVALID,
				  "the encrypted block is not below the modulus");
	plen = key_bytes(k);
	plain = mdp_zalloc(plen);
	if (!plain)
		return CKR_HOST_MEMORY;
	krv = ksp_decrypt(s->kc, o->index, o->kslot, &op->pad, in, len, plain, &plen);
	if (krv != KSP_OK) {
		mdp_secure_free(plain, key_bytes(k));
		return slot_result_slocked(s, krv);
	}
	if (op->acc)
		mdp_secure_free(op->acc, op->acc_len);
	op->acc = mdp_memdup(plain, plen);
	mdp_secure_free(plain, key_bytes(k));
	if (!op->acc && plen)
		return CKR_HOST_MEMORY;
	op->acc_len = plen;
	op->out_len = (size_t)-1;
deliver:
	if (*out_len < op->acc_len) {
		*out_len = op->acc_len;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(out, op->acc, op->acc_len);
	*out_len = op->acc_len;
	return CKR_OK;
}

static CK_RV
do_encrypt(struct op *op, const uint8_t *in, size_t len, uint8_t *out, CK_ULONG *out_len)
{
	EVP_PKEY_CTX *ctx = NULL;
	size_t klen = op->out_len, olen = op->out_len;
	uint8_t block[1024];
	CK_RV rv = CKR_FUNCTION_FAILED;
	int pad;

	if (*out_len < klen) {
		*out_len = klen;
		return CKR_BUFFER_TOO_SMALL;
	}
	pad = op->pad.type == KSP_PAD_NONE   ? RSA_NO_PADDING
	      : op->pad.type == KSP_PAD_OAEP ? RSA_PKCS1_OAEP_PADDING
					     : RSA_PKCS1_PADDING;
	if (pad == RSA_NO_PADDING) {
		if (len > klen)
			return p11_refuse(CKR_DATA_LEN_RANGE,
					  "raw RSA: %zu bytes of data for a %zu-byte modulus", len,
					  klen);
		memset(block, 0, klen - len);
		memcpy(block + klen - len, in, len);
		in = block;
		len = klen;
		if (!below_modulus(op->pub, block, len)) {
			mdp_wipe(block, sizeof(block));
			return p11_refuse(CKR_DATA_INVALID,
					  "raw RSA: the data is not below the modulus");
		}
	} else if (pad == RSA_PKCS1_PADDING && len + 11 > klen) {
		return p11_refuse(CKR_DATA_LEN_RANGE,
				  "CKM_RSA_PKCS: %zu bytes do not fit a %zu-byte modulus with the "
				  "padding",
				  len, klen);
	}
	ctx = EVP_PKEY_CTX_new(op->pub, NULL);
	if (!ctx || EVP_PKEY_encrypt_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx, pad) <= 0)
		goto out;
	if (pad == RSA_PKCS1_OAEP_PADDING) {
		uint8_t *label = NULL;

		if (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, mdp_hash_md(op->pad.hash)) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mdp_hash_md(op->pad.mgf1_hash)) <= 0)
			goto out;
		if (op->pad.label_len) {
			label = OPENSSL_memdup(op->pad.label, op->pad.label_len);
			if (!label || EVP_PKEY_CTX_set0_rsa_oaep_label(
					      ctx, label, (int)op->pad.label_len) <= 0) {
				OPENSSL_free(label);
				goto out;
			}
		}
	}
	if (EVP_PKEY_encrypt(ctx, out, &olen, in, len) <= 0) {
		rv = p11_refuse(CKR_DATA_LEN_RANGE,
				"OAEP: %zu bytes do not fit the modulus with "
				"the padding",
				len);
		goto out;
	}
	*out_len = olen;
	rv = CKR_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	mdp_wipe(block, sizeof(block));
	return rv;
}

/* The data of a hash mechanism becomes its digest; raw mechanisms keep theirs. */
static CK_RV
finish_input(struct op *op, const uint8_t **data, size_t *len, uint8_t *digest)
{
	unsigned dlen = 0;

	if (!op->mdctx) {
		if (op->multi) {
			*data = op->acc;
			*len = op->acc_len;
		}
		return CKR_OK;
	}
	if (!op->multi && *len && !EVP_DigestUpdate(op->mdctx, *data, *len))
		return CKR_FUNCTION_FAILED;
	if (!EVP_DigestFinal_ex(op->mdctx, digest, &dlen))
		return CKR_FUNCTION_FAILED;
	*data = digest;
	*len = dlen;
	return CKR_OK;
}

static CK_RV
run(struct session *se, enum op_kind kind, const uint8_t *in, size_t len, uint8_t *out,
    CK_ULONG *out_len)
{
	struct op *op = &se->op[kind];
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t sl;
	CK_RV rv;

	/* Size query: the operation stays active (PKCS#11 §5.2 "Conventions for functions
	 * returning output in a variable-length buffer"). */
	if (!out) {
		*out_len = op->out_len == (size_t)-1 ? op->acc_len : op->out_len;
		return CKR_OK;
	}
	if (kind == OP_DECRYPT) {
		rv = do_decrypt(se, op, op->multi ? op->acc : in, op->multi ? op->acc_len : len,
				out, out_len);
		if (rv != CKR_BUFFER_TOO_SMALL)
			session_op_clear(op);
		return rv;
	}
	if (kind != OP_DIGEST && *out_len < op->out_len) {
		*out_len = op->out_len;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (kind == OP_DIGEST && *out_len < op->out_len) {
		*out_len = op->out_len;
		return CKR_BUFFER_TOO_SMALL;
	}
	rv = finish_input(op, &in, &len, digest);
	if (rv == CKR_OK) {
		switch (kind) {
		case OP_DIGEST:
			memcpy(out, in, len);
			*out_len = len;
			break;
		case OP_SIGN:
			sl = *out_len;
			rv = do_sign(se, op, in, len, out, &sl);
			if (rv == CKR_OK)
				*out_len = sl;
			break;
		case OP_ENCRYPT:
			rv = do_encrypt(op, in, len, out, out_len);
			break;
		default:
			rv = CKR_FUNCTION_FAILED;
			break;
		}
	}
	OPENSSL_cleanse(digest, sizeof(digest));
	session_op_clear(op);
	return rv;
}

CK_RV
crypto_oneshot_slocked(struct session *se, enum op_kind kind, const uint8_t *in, size_t len,
		       uint8_t *out, CK_ULONG *out_len)
{
	if (se->op[kind].multi) {
		/* C_Sign after C_SignUpdate is a caller error; the operation ends. */
		session_op_clear(&se->op[kind]);
		return CKR_OPERATION_ACTIVE;
	}
	return run(se, kind, in, len, out, out_len);
}

CK_RV
crypto_final_slocked(struct session *se, enum op_kind kind, uint8_t *out, CK_ULONG *out_len)
{
	se->op[kind].multi = true;
	return run(se, kind, NULL, 0, out, out_len);
}

/* ---- verification in software ---- */

static ECDSA_SIG *
ecdsa_sig_from_raw(const uint8_t *sig, size_t len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)(len / 2), NULL);
	BIGNUM *s = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);

	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		ECDSA_SIG_free(es);
		BN_free(r);
		BN_free(s);
		return NULL;
	}
	return es;
}

CK_RV
crypto_verify_slocked(struct session *se, const uint8_t *data, size_t len, bool oneshot,
		      const uint8_t *sig, size_t sig_len)
{
	struct op *op = &se->op[OP_VERIFY];
	uint8_t digest[EVP_MAX_MD_SIZE], *der = NULL, block[1024];
	EVP_PKEY_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	CK_RV rv = CKR_FUNCTION_FAILED;
	size_t rlen;
	int derlen, r;

	if (oneshot && op->multi) {
		session_op_clear(op);
		return CKR_OPERATION_ACTIVE;
	}
	if (!oneshot)
		op->multi = true;
	if (sig_len != op->out_len) {
		rv = CKR_SIGNATURE_LEN_RANGE;
		goto out;
	}
	rv = finish_input(op, &data, &len, digest);
	if (rv != CKR_OK)
		goto out;
	rv = CKR_FUNCTION_FAILED;
	ctx = EVP_PKEY_CTX_new(op->pub, NULL);
	if (!ctx)
		goto out;
	if (EVP_PKEY_get_base_id(op->pub) == EVP_PKEY_EC) {
		es = ecdsa_sig_from_raw(sig, sig_len);
		derlen = es ? i2d_ECDSA_SIG(es, &der) : -1;
		if (derlen < 0 || EVP_PKEY_verify_init(ctx) <= 0)
			goto out;
		r = EVP_PKEY_verify(ctx, der, (size_t)derlen, data, len);
	} else if (op->pad.type == KSP_PAD_NONE) {
		rlen = sizeof(block);
		if (EVP_PKEY_verify_recover_init(ctx) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) <= 0)
			goto out;
		r = EVP_PKEY_verify_recover(ctx, block, &rlen, sig, sig_len) > 0 && len <= rlen &&
		    memcmp(block + rlen - len, data, len) == 0;
		if (r) {
			size_t i;

			for (i = 0; i < rlen - len; i++)
				r &= block[i] == 0;
		}
	} else {
		if (EVP_PKEY_verify_init(ctx) <= 0)
			goto out;
		if (op->pad.type == KSP_PAD_PSS) {
			if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
			    EVP_PKEY_CTX_set_signature_md(ctx, mdp_hash_md(op->pad.hash)) <= 0 ||
			    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mdp_hash_md(op->pad.mgf1_hash)) <=
				    0 ||
			    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)op->pad.salt_len) <= 0)
				goto out;
		} else {
			if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
				goto out;
			if (op->md && EVP_PKEY_CTX_set_signature_md(ctx, op->md) <= 0)
				goto out;
		}
		r = EVP_PKEY_verify(ctx, sig, sig_len, data, len);
	}
	rv = r == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	session_op_clear(op);
	return rv;
}

/* ---- ECDH ---- */

CK_RV
crypto_derive_slocked(struct session *se, const CK_MECHANISM *mech, CK_OBJECT_HANDLE base,
		      const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	const CK_ECDH1_DERIVE_PARAMS *p = mech->pParameter;
	struct slot *s = se->slot;
	const struct ksp_key *k = NULL;
	struct object *o = NULL;
	const uint8_t *peer;
	size_t peer_len, slen, flen;
	uint8_t *secret = NULL;
	CK_ULONG v;
	enum ksp_rv krv;
	CK_RV rv;

	if (mech->mechanism != CKM_ECDH1_DERIVE)
		return p11_refuse(CKR_MECHANISM_INVALID,
				  "mechanism 0x%lx: keys are derived with CKM_ECDH1_DERIVE only",
				  mech->mechanism);
	if (!p || mech->ulParameterLen != sizeof(*p))
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "CKM_ECDH1_DERIVE needs a CK_ECDH1_DERIVE_PARAMS parameter");
	rv = attr_check_template(tmpl, n);
	if (rv != CKR_OK)
		return rv;
	/* The card returns the raw x coordinate only: no KDF on top (§10.2 "Derive"). */
	if (p->kdf != CKD_NULL || p->ulSharedDataLen)
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "the card gives the raw shared x coordinate: kdf must be "
				  "CKD_NULL, without shared data");
	if (!p->pPublicData || !p->ulPublicDataLen)
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID, "no peer public point");
	rv = key_object(se, base, &o, &k);
	if (rv != CKR_OK)
		return rv;
	if (o->kind != OBJ_PRIVATE_KEY || !MDP_KEY_SPEC_IS_ECDH(k->spec))
		return p11_refuse(CKR_KEY_FUNCTION_NOT_PERMITTED,
				  "key %lu is %s: only ECDH private keys derive", base,
				  o->kind != OBJ_PRIVATE_KEY ? "not a private key"
							     : mdp_key_spec_name(k->spec));
	if (k->always_auth)
		return p11_refuse(CKR_KEY_FUNCTION_NOT_PERMITTED,
				  "key %lu wants the PIN before each use, and C_DeriveKey has no "
				  "C_Login(CKU_CONTEXT_SPECIFIC) step",
				  base);
	if (attr_is_true(tmpl, n, CKA_TOKEN))
		return p11_refuse(CKR_TEMPLATE_INCONSISTENT,
				  "a derived secret is a session object: CKA_TOKEN is TRUE");
	if (attr_has(tmpl, n, CKA_CLASS)) {
		rv = attr_get_ulong(tmpl, n, CKA_CLASS, &v);
		if (rv != CKR_OK || v != CKO_SECRET_KEY)
			return p11_refuse(CKR_TEMPLATE_INCONSISTENT,
					  "a derived secret is CKO_SECRET_KEY");
	}
	if (attr_has(tmpl, n, CKA_KEY_TYPE)) {
		rv = attr_get_ulong(tmpl, n, CKA_KEY_TYPE, &v);
		if (rv != CKR_OK || v != CKK_GENERIC_SECRET)
			return p11_refuse(CKR_TEMPLATE_INCONSISTENT,
					  "a derived secret is CKK_GENERIC_SECRET");
	}
	flen = (k->bits + 7) / 8;
	/* The peer point: raw 04||X||Y, or wrapped in a DER OCTET STRING (both are in use). */
	peer = p->pPublicData;
	peer_len = p->ulPublicDataLen;
	if (peer_len > 2 && peer[0] == 0x04 && peer_len != 1 + 2 * flen) {
		size_t hdr = peer[1] == 0x81 ? 3 : 2;

		if (peer_len > hdr && peer_len - hdr == 1 + 2 * flen) {
			peer += hdr;
			peer_len -= hdr;
		}
	}
	if (peer_len != 1 + 2 * flen || peer[0] != 0x04)
		return p11_refuse(CKR_MECHANISM_PARAM_INVALID,
				  "the peer point is not an uncompressed point on the key's curve");
	slen = flen;
	secret = mdp_zalloc(flen);
	if (!secret)
		return CKR_HOST_MEMORY;
	krv = ksp_ecdh(s->kc, o->index, o->kslot, peer, peer_len, secret, &slen);
	if (krv != KSP_OK) {
		mdp_secure_free(secret, flen);
		return slot_result_slocked(s, krv);
	}
	if (attr_has(tmpl, n, CKA_VALUE_LEN)) {
		rv = attr_get_ulong(tmpl, n, CKA_VALUE_LEN, &v);
		if (rv != CKR_OK || v == 0 || v > slen) {
			mdp_secure_free(secret, flen);
			return p11_refuse(
				CKR_ATTRIBUTE_VALUE_INVALID,
				"CKA_VALUE_LEN must be 1..%zu (the shared secret's length)", slen);
		}
		/* PKCS#11 §2.3.19: a shorter key takes the leading bytes. */
		mdp_wipe(secret + v, slen - v);
		slen = v;
	}
	if (slen != flen) {
		uint8_t *t = mdp_memdup(secret, slen);

		mdp_secure_free(secret, flen);
		if (!t)
			return CKR_HOST_MEMORY;
		secret = t;
	}
	return object_add_secret_slocked(se, secret, slen, tmpl, n, out);
}
