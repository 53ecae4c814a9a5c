/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The virtual PIV card's keys (spec/piv.md §4.7, §4.8, §6): GENERAL AUTHENTICATE with the
 * management key and with the slot keys, GENERATE, IMPORT, SET MANAGEMENT KEY, GET METADATA.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/ossl.h"
#include "common/secmem.h"
#include "vcard/piv-int.h"

/* ---- algorithms ---- */

/* §2.4: RSA 3072 (05) and 4096 (16) from 5.7 on; Ed25519/X25519 are not offered. */
static const struct piv_alg algs[] = {
	{0x06, VC_KEY_RSA, 1024, NULL, {4, 0}},	 {0x07, VC_KEY_RSA, 2048, NULL, {4, 0}},
	{0x05, VC_KEY_RSA, 3072, NULL, {5, 7}},	 {0x16, VC_KEY_RSA, 4096, NULL, {5, 7}},
	{0x11, VC_KEY_EC, 256, "P-256", {4, 0}}, {0x14, VC_KEY_EC, 384, "P-384", {4, 0}},
};

const struct piv_alg *
piv_alg_find(const struct vc_state *st, uint8_t id)
{
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (algs[i].id == id)
			return piv_version_ge(st, algs[i].since[0], algs[i].since[1]) ? &algs[i]
										      : NULL;
	}
	return NULL;
}

/* PIN policy of a slot when the host leaves it to the card (§2.6). */
static uint8_t
default_pin_policy(uint8_t slot)
{
	if (slot == 0x9C)
		return PIV_PIN_ALWAYS;
	if (slot == 0x9E)
		return PIV_PIN_NEVER;
	return PIV_PIN_ONCE;
}

static uint8_t
attr(const struct vc_file *f, size_t i)
{
	return f->crt && f->crt_len > i ? f->crt[i] : 0;
}

/*
 * The key that seals a slot's private key: the device key for PIN policy "never" (the card
 * uses it with no PIN at all; sealed by the card's seal alone), the card key otherwise. SW_OK,
 * SW_SECURITY when it is not available now, or the SW of a missing seal.
 */
static uint16_t
seal_key(struct vcard *vc, uint8_t pin_policy, const uint8_t **key)
{
	uint16_t sw;

	*key = NULL;
	if (pin_policy == PIV_PIN_NEVER) {
		sw = vc_need_dk(vc);
		if (sw == SW_OK)
			*key = vc->dk;
		return sw;
	}
	if (!vc->ck_ok)
		return SW_SECURITY;
	*key = vc->ck;
	return SW_OK;
}

/* ---- management key (9B) ---- */

static const EVP_CIPHER *
mgm_cipher(uint8_t alg)
{
	switch (alg) {
	case 0x03:
		return EVP_des_ede3_ecb();
	case 0x08:
		return EVP_aes_128_ecb();
	case 0x0A:
		return EVP_aes_192_ecb();
	case 0x0C:
		return EVP_aes_256_ecb();
	default:
		return NULL;
	}
}

/* One block of the management key's cipher (ECB, no padding; §4.7). */
static bool
mgm_crypt(uint8_t alg, const uint8_t *key, bool enc, const uint8_t *in, size_t len, uint8_t *out)
{
	return vc_cipher_raw(mgm_cipher(alg), key, NULL, enc, in, len, out);
}

/* The elements of a dynamic authentication template 7C (§4.7); each at most once. */
struct dat {
	bool has[6]; /* 80 81 82 83 84 85 */
	struct mdp_cursor v[6];
};

static bool
parse_dat(const struct vc_cmd *c, struct dat *d)
{
	struct mdp_cursor cur, tpl, v;
	uint32_t tag;

	memset(d, 0, sizeof(*d));
	cur_init(&cur, c->data, c->lc);
	if (tlv_read(&cur, &tag, &tpl) != MDP_OK || tag != 0x7C || cur_left(&cur))
		return false;
	while (cur_left(&tpl)) {
		if (tlv_read(&tpl, &tag, &v) != MDP_OK || tag < 0x80 || tag > 0x85 ||
		    d->has[tag - 0x80])
			return false;
		d->has[tag - 0x80] = true;
		d->v[tag - 0x80] = v;
	}
	return true;
}

#define HAS(d, t) ((d)->has[(t)-0x80])
#define LEN(d, t) ((d)->v[(t)-0x80].len)
#define VAL(d, t) ((d)->v[(t)-0x80].p)

static void
put_dat1(struct mdp_buf *out, uint8_t tag, const uint8_t *v, size_t len)
{
	size_t m = buf_tlv_open(out, 0x7C);

	buf_put_tlv(out, tag, v, len);
	buf_tlv_close(out, m);
}

/*
 * Challenge-response with the management key: mutual (80 witness, then 80 + 81 [+ 82 00]) or
 * external (81 challenge, then 82 response). P1 is the key's algorithm, or 00 (OpenSC's random
 * number request, §4.7; UNSURE point 6 decided in docs/vcard-piv.md).
 */
static uint16_t
mgm_auth(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct vc_file *f = piv_slot(vc, PIV_SLOT_MGM);
	uint8_t blk[16], res[16], key[VC_SYM_MAX];
	struct dat d;
	size_t bs, klen = 0;
	int stage = vc->auth_stage;
	uint16_t sw = SW_WRONG_DATA;
	enum mdp_err err;

	vc->auth_stage = 0;
	if (!f || f->key_type != VC_KEY_SYM || !piv_mgm_key_len(f->alg, &bs))
		return SW_REF_NOT_FOUND;
	if ((c->p1 != 0x00 && c->p1 != f->alg) || !parse_dat(c, &d) || HAS(&d, 0x83) ||
	    HAS(&d, 0x84) || HAS(&d, 0x85))
		return SW_WRONG_DATA;
	/* The card's side needs the management key itself, sealed by the card's seal. */
	err = vc_sym_get(vc, f, key, &klen);
	if (err)
		return vc_unseal_failed(vc, err);
	if (HAS(&d, 0x80) && LEN(&d, 0x80) == 0 && !HAS(&d, 0x81) && !HAS(&d, 0x82)) {
		/* mutual, step 1: a witness, sent encrypted */
		if (RAND_bytes(vc->auth_r1, (int)bs) != 1 ||
		    !mgm_crypt(f->alg, key, true, vc->auth_r1, bs, res)) {
			sw = SW_MEMORY_FAILURE;
			goto out;
		}
		vc->auth_stage = 1;
		put_dat1(out, 0x80, res, bs);
		sw = SW_OK;
	} else if (HAS(&d, 0x80) && LEN(&d, 0x80) == bs && HAS(&d, 0x81) && LEN(&d, 0x81) == bs &&
		   (!HAS(&d, 0x82) || LEN(&d, 0x82) == 0) && stage == 1) {
		/* mutual, step 2: the witness decrypted proves the host; the card answers */
		sw = SW_SECURITY;
		if (mdp_memeq_ct(VAL(&d, 0x80), vc->auth_r1, bs) != 0)
			goto out;
		if (!mgm_crypt(f->alg, key, true, VAL(&d, 0x81), bs, res)) {
			sw = SW_MEMORY_FAILURE;
			goto out;
		}
		vc_admin_granted(vc);
		put_dat1(out, 0x82, res, bs);
		sw = SW_OK;
	} else if (HAS(&d, 0x81) && LEN(&d, 0x81) == 0 && !HAS(&d, 0x80) && !HAS(&d, 0x82)) {
		/* external, step 1 (and OpenSC's random numbers): a challenge in clear */
		if (RAND_bytes(vc->auth_r2, (int)bs) != 1) {
			sw = SW_MEMORY_FAILURE;
			goto out;
		}
		vc->auth_stage = 2;
		put_dat1(out, 0x81, vc->auth_r2, bs);
		sw = SW_OK;
	} else if (HAS(&d, 0x82) && LEN(&d, 0x82) == bs && !HAS(&d, 0x80) && !HAS(&d, 0x81) &&
		   stage == 2) {
		/* external, step 2: the challenge encrypted */
		sw = SW_SECURITY;
		if (!mgm_crypt(f->alg, key, true, vc->auth_r2, bs, blk)) {
			sw = SW_MEMORY_FAILURE;
			goto out;
		}
		if (mdp_memeq_ct(blk, VAL(&d, 0x82), bs) != 0)
			goto out;
		vc_admin_granted(vc);
		sw = SW_OK;
	}
out:
	if (sw == SW_SECURITY && vc->admin_ok) {
		vc->admin_ok = false;
		if (!vc->pin_ok)
			vc_drop_secrets(vc);
	}
	mdp_wipe(blk, sizeof(blk));
	mdp_wipe(res, sizeof(res));
	mdp_wipe(key, sizeof(key));
	return sw;
}

/* ---- GENERAL AUTHENTICATE with a slot's key ---- */

/* Run a checked private-key operation now (when it cannot be deferred). */
static uint16_t
run_now(EVP_PKEY *pkey, bool ec, const uint8_t *in, size_t len, struct mdp_buf *out)
{
	struct vc_job j;
	uint16_t sw;

	memset(&j, 0, sizeof(j));
	if (len > sizeof(j.in) || !EVP_PKEY_up_ref(pkey))
		return SW_MEMORY_FAILURE;
	j.pkey = pkey;
	j.ec = ec;
	j.pad = RSA_NO_PADDING;
	j.piv = true;
	memcpy(j.in, in, len);
	j.in_len = len;
	sw = vc_job_run(&j, out);
	vc_job_clear(&j);
	return sw;
}

static uint16_t
key_auth(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct vc_file *f = piv_slot(vc, c->p2);
	const uint8_t *key = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t policy, secret[66];
	size_t k, slen = sizeof(secret), m;
	bool ec;
	struct dat d;
	uint16_t sw;

	if (!f || !piv_key_slot(c->p2) || f->key_type == VC_KEY_NONE)
		return SW_REF_NOT_FOUND;
	if (c->p1 != f->alg || !parse_dat(c, &d) || !HAS(&d, 0x82) || LEN(&d, 0x82) != 0 ||
	    HAS(&d, 0x80) || HAS(&d, 0x83) || HAS(&d, 0x84) || HAS(&d, 0x81) == HAS(&d, 0x85))
		return SW_WRONG_DATA;
	ec = f->key_type == VC_KEY_EC;
	if (HAS(&d, 0x85) && !ec)
		return SW_WRONG_DATA;
	/* The slot's PIN policy (§2.3, §2.6). */
	policy = attr(f, VC_PIV_ATTR_PIN);
	if ((policy == PIV_PIN_ONCE && !vc->pin_ok) ||
	    (policy == PIV_PIN_ALWAYS && !(vc->pin_ok && vc->pin_always_now)))
		return SW_SECURITY;
	vc->pin_always_now = false;
	sw = seal_key(vc, policy, &key);
	if (sw != SW_OK)
		return sw;
	sw = vc_key_open(vc, f, key, policy, &pkey);
	if (sw != SW_OK)
		return sw;
	if (HAS(&d, 0x85)) {
		/* ECDH (§4.7): the X coordinate of the shared point */
		sw = vc_ecdh_derive(pkey, VAL(&d, 0x85), LEN(&d, 0x85), secret, &slen);
		if (sw == SW_OK) {
			m = buf_tlv_open(out, 0x7C);
			buf_put_tlv(out, 0x82, secret, slen);
			buf_tlv_close(out, m);
		}
		mdp_wipe(secret, sizeof(secret));
		return sw;
	}
	k = ec ? 64 : (size_t)EVP_PKEY_get_size(pkey);
	/*
	 * RSA: the raw private-key operation on exactly one modulus-sized block (signature or
	 * decryption: the host pads and unpads). ECDSA: a hash of up to 64 bytes, truncated to the
	 * field as FIPS 186-4 does (UNSURE point 5, docs/vcard-piv.md), answered in DER.
	 */
	if (ec ? LEN(&d, 0x81) < 1 || LEN(&d, 0x81) > k : LEN(&d, 0x81) != k)
		return SW_WRONG_DATA;
	if (vc_defer(vc, c, VAL(&d, 0x81), LEN(&d, 0x81), pkey, ec, RSA_NO_PADDING, true))
		return SW_DEFERRED;
	return run_now(pkey, ec, VAL(&d, 0x81), LEN(&d, 0x81), out);
}

uint16_t
piv_cmd_general_auth(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	if (c->p2 == PIV_SLOT_MGM)
		return mgm_auth(vc, c, out);
	return key_auth(vc, c, out);
}

/* ---- GENERATE, IMPORT ---- */

/* PIN and touch policies of AA / AB (§2.6): 00 or absent takes the slot's default. */
static uint16_t
policies(const uint8_t *p, size_t len, uint8_t slot, uint8_t *pin, uint8_t *touch)
{
	struct mdp_cursor v;

	*pin = default_pin_policy(slot);
	*touch = PIV_TOUCH_NEVER;
	if (tlv_find(p, len, 0xAA, &v) == MDP_OK) {
		if (v.len != 1 || v.p[0] > PIV_PIN_ALWAYS)
			return SW_WRONG_DATA; /* match-once/-always: no biometrics here */
		if (v.p[0])
			*pin = v.p[0];
	}
	if (tlv_find(p, len, 0xAB, &v) == MDP_OK) {
		if (v.len != 1 || v.p[0] > 0x03)
			return SW_WRONG_DATA;
		if (v.p[0])
			*touch = v.p[0];
	}
	return SW_OK;
}

/* Seal the new key into its slot with its policies and origin. */
static uint16_t
install(struct vcard *vc, struct vc_file *f, EVP_PKEY *pkey, const struct piv_alg *a, uint8_t pin,
	uint8_t touch, uint8_t origin)
{
	const uint8_t *key = NULL;
	uint8_t *attrs;
	uint16_t sw;

	sw = seal_key(vc, pin, &key);
	if (sw != SW_OK)
		return sw;
	attrs = calloc(1, VC_PIV_ATTR_LEN);
	if (!attrs)
		return SW_MEMORY_FAILURE;
	sw = vc_key_seal(vc, f, pkey, a->type, a->id, key, pin);
	if (sw != SW_OK) {
		free(attrs);
		return sw;
	}
	attrs[VC_PIV_ATTR_PIN] = pin;
	attrs[VC_PIV_ATTR_TOUCH] = touch;
	attrs[VC_PIV_ATTR_ORIGIN] = origin;
	free(f->crt);
	f->crt = attrs;
	f->crt_len = VC_PIV_ATTR_LEN;
	return SW_OK;
}

uint16_t
piv_cmd_generate(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct mdp_cursor cur, tpl, v;
	const struct piv_alg *a;
	struct vc_file *f;
	const uint8_t *key = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t pin, touch;
	uint32_t tag;
	uint16_t sw;

	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	f = piv_slot(vc, c->p2);
	if (!f || !piv_key_slot(c->p2))
		return SW_INCORRECT_SLOT;
	if (!vc->admin_ok)
		return SW_SECURITY;
	cur_init(&cur, c->data, c->lc);
	if (tlv_read(&cur, &tag, &tpl) != MDP_OK || tag != 0xAC || cur_left(&cur) ||
	    tlv_find(tpl.p, tpl.len, 0x80, &v) != MDP_OK || v.len != 1)
		return SW_WRONG_DATA;
	a = piv_alg_find(&vc->st, v.p[0]);
	if (!a)
		return SW_WRONG_DATA;
	sw = policies(tpl.p, tpl.len, c->p2, &pin, &touch);
	if (sw != SW_OK)
		return sw;
	sw = seal_key(vc, pin, &key);
	if (sw != SW_OK)
		return sw;
	pkey = a->type == VC_KEY_RSA ? mdp_pkey_keygen_rsa(a->bits) : mdp_pkey_keygen_ec(a->curve);
	if (!pkey)
		return SW_MEMORY_FAILURE;
	sw = install(vc, f, pkey, a, pin, touch, PIV_ORIGIN_GENERATED);
	EVP_PKEY_free(pkey);
	if (sw != SW_OK)
		return sw;
	/* 7F49 with 81/82 or 86 (§4.8); EC in the one-byte length form libykpiv 2.2.0 parses */
	return vc_put_public(f, out);
}

/*
 * RSA from the five CRT parts of IMPORT (§6.2). The card is not sent e or n: n = p q, and e
 * must be 65537 (checked against dP and dQ: UNSURE point 12, docs/vcard-piv.md); d is derived.
 */
static EVP_PKEY *
rsa_from_crt(const struct mdp_cursor part[5], unsigned bits)
{
	BIGNUM *bn[5] = {NULL}, *n = NULL, *e = NULL, *d = NULL, *p1 = NULL, *q1 = NULL;
	BIGNUM *t = NULL, *lcm = NULL;
	BN_CTX *bc = BN_CTX_secure_new();
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *ret = NULL;
	size_t i;

	if (!bc)
		return NULL;
	for (i = 0; i < 5; i++) {
		bn[i] = BN_secure_new();
		if (!bn[i] || !BN_bin2bn(part[i].p, (int)part[i].len, bn[i]) || BN_is_zero(bn[i]))
			goto out;
	}
	n = BN_new();
	e = BN_new();
	d = BN_secure_new();
	p1 = BN_secure_new();
	q1 = BN_secure_new();
	t = BN_secure_new();
	lcm = BN_secure_new();
	if (!n || !e || !d || !p1 || !q1 || !t || !lcm || !BN_set_word(e, 65537) ||
	    !BN_mul(n, bn[0], bn[1], bc) || BN_num_bits(n) != (int)bits ||
	    !BN_sub(p1, bn[0], BN_value_one()) || !BN_sub(q1, bn[1], BN_value_one()) ||
	    BN_is_zero(p1) || BN_is_zero(q1))
		goto out;
	/* e dP = 1 mod p-1, e dQ = 1 mod q-1, qInv q = 1 mod p */
	if (!BN_mod_mul(t, e, bn[2], p1, bc) || !BN_is_one(t) || !BN_mod_mul(t, e, bn[3], q1, bc) ||
	    !BN_is_one(t) || !BN_mod_mul(t, bn[4], bn[1], bn[0], bc) || !BN_is_one(t))
		goto out;
	/* d = e^-1 mod lcm(p-1, q-1) */
	if (!BN_gcd(t, p1, q1, bc) || !BN_mul(lcm, p1, q1, bc) || !BN_div(lcm, NULL, lcm, t, bc) ||
	    !BN_mod_inverse(d, e, lcm, bc))
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, bn[0]) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, bn[1]) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, bn[2]) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, bn[3]) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, bn[4]))
		goto out;
	ret = vc_pkey_from_bld(bld, EVP_PKEY_RSA);
out:
	for (i = 0; i < 5; i++)
		BN_clear_free(bn[i]);
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	BN_clear_free(p1);
	BN_clear_free(q1);
	BN_clear_free(t);
	BN_clear_free(lcm);
	BN_CTX_free(bc);
	OSSL_PARAM_BLD_free(bld);
	return ret;
}

/* EC from the private scalar (§6.2): 0 < d < order; the public point is computed. */
static EVP_PKEY *
ec_from_scalar(const struct piv_alg *a, const uint8_t *s, size_t len)
{
	int nid = a->bits == 256 ? NID_X9_62_prime256v1 : NID_secp384r1;
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(nid);
	EC_POINT *pt = NULL;
	BIGNUM *d = BN_secure_new();
	BN_CTX *bc = BN_CTX_secure_new();
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t pub[1 + 2 * 48];
	size_t pl;

	if (!grp || !d || !bc || !BN_bin2bn(s, (int)len, d) || BN_is_zero(d) ||
	    BN_cmp(d, EC_GROUP_get0_order(grp)) >= 0)
		goto out;
	pt = EC_POINT_new(grp);
	if (!pt || !EC_POINT_mul(grp, pt, d, NULL, NULL, bc))
		goto out;
	pl = EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), bc);
	bld = OSSL_PARAM_BLD_new();
	if (!pl || !bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pl) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
		goto out;
	pkey = vc_pkey_from_bld(bld, EVP_PKEY_EC);
out:
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	BN_clear_free(d);
	BN_CTX_free(bc);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

uint16_t
piv_cmd_import(struct vcard *vc, const struct vc_cmd *c)
{
	struct mdp_cursor cur, v, part[5];
	const struct piv_alg *a;
	struct vc_file *f;
	const uint8_t *key = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t pin, touch, seen = 0;
	uint32_t tag;
	size_t i, half;
	uint16_t sw;

	f = piv_slot(vc, c->p2);
	if (!f || !piv_key_slot(c->p2))
		return SW_INCORRECT_SLOT;
	if (!vc->admin_ok)
		return SW_SECURITY;
	a = piv_alg_find(&vc->st, c->p1);
	if (!a)
		return SW_WRONG_DATA;
	half = a->type == VC_KEY_RSA ? a->bits / 16 : a->bits / 8;
	/* The element TLVs (01..05 RSA, 06 EC) each once, each at most its fixed length. */
	cur_init(&cur, c->data, c->lc);
	while (cur_left(&cur)) {
		if (tlv_read(&cur, &tag, &v) != MDP_OK)
			return SW_WRONG_DATA;
		if (tag == 0xAA || tag == 0xAB)
			continue;
		if (a->type == VC_KEY_RSA ? tag < 0x01 || tag > 0x05 : tag != 0x06)
			return SW_WRONG_DATA;
		i = a->type == VC_KEY_RSA ? tag - 1 : 0;
		if ((seen & (1u << i)) || v.len == 0 || v.len > half)
			return SW_WRONG_DATA;
		seen |= (uint8_t)(1u << i);
		part[i] = v;
	}
	if (seen != (a->type == VC_KEY_RSA ? 0x1F : 0x01))
		return SW_WRONG_DATA;
	sw = policies(c->data, c->lc, c->p2, &pin, &touch);
	if (sw != SW_OK)
		return sw;
	sw = seal_key(vc, pin, &key);
	if (sw != SW_OK)
		return sw;
	pkey = a->type == VC_KEY_RSA ? rsa_from_crt(part, a->bits)
				     : ec_from_scalar(a, part[0].p, part[0].len);
	if (!pkey)
		return SW_WRONG_DATA;
	sw = install(vc, f, pkey, a, pin, touch, PIV_ORIGIN_IMPORTED);
	EVP_PKEY_free(pkey);
	return sw;
}

/* ---- SET MANAGEMENT KEY (§6.3) ---- */

uint16_t
piv_cmd_set_mgm(struct vcard *vc, const struct vc_cmd *c)
{
	struct vc_file *f = piv_slot(vc, PIV_SLOT_MGM);
	struct vc_file tmp;
	uint8_t dflt[32], alg;
	size_t klen, bs;
	enum mdp_err err;

	if (c->p1 != 0xFF || c->p2 < 0xFD)
		return SW_WRONG_P1P2;
	if (!vc->admin_ok || !vc->ck_ok || !f)
		return SW_SECURITY;
	if (c->lc < 3 || c->data[1] != PIV_SLOT_MGM)
		return SW_WRONG_DATA;
	alg = c->data[0];
	klen = piv_mgm_key_len(alg, &bs);
	if (!klen || c->data[2] != klen || c->lc != 3 + klen ||
	    (alg != 0x03 && !piv_version_ge(&vc->st, 5, 4)))
		return SW_WRONG_DATA;
	/* Sealed by the card's seal; the SO's path to the card key does not depend on it. */
	memset(&tmp, 0, sizeof(tmp));
	tmp.fid = f->fid;
	err = vc_sym_set(vc, &tmp, c->data + 3, klen);
	if (err)
		return vc_unseal_failed(vc, err);
	mdp_secure_free(f->sym, f->sym_len);
	f->sym = tmp.sym;
	f->sym_len = tmp.sym_len;
	f->alg = alg;
	if (f->crt && f->crt_len > VC_PIV_ATTR_TOUCH) /* FF never, FE always, FD cached */
		f->crt[VC_PIV_ATTR_TOUCH] = (uint8_t)(0x100 - c->p2);
	piv_mgm_default(dflt, klen);
	if (alg == piv_mgm_default_alg(vc->st.piv.version) &&
	    mdp_memeq_ct(c->data + 3, dflt, klen) == 0)
		vc->st.piv.flags |= VC_PIV_DEFAULT_MGM;
	else
		vc->st.piv.flags &= (uint8_t)~VC_PIV_DEFAULT_MGM;
	vc->dirty = true;
	return SW_OK;
}

/* ---- GET METADATA (§6.6) ---- */

uint16_t
piv_cmd_metadata(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct mdp_buf pub;
	struct mdp_cursor cur, inner;
	struct vc_file *f;
	uint32_t tag;
	uint8_t v[2];
	uint16_t sw;

	if (!piv_version_ge(&vc->st, 5, 3))
		return SW_INS_UNSUPPORTED;
	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (c->p2 == 0x80 || c->p2 == 0x81) {
		bool puk = c->p2 == 0x81;

		v[0] = 0xFF;
		buf_put_tlv(out, 0x01, v, 1);
		v[0] = (vc->st.piv.flags & (puk ? VC_PIV_DEFAULT_PUK : VC_PIV_DEFAULT_PIN)) != 0;
		buf_put_tlv(out, 0x05, v, 1);
		v[0] = puk ? vc->st.piv.puk_max : vc->st.pin_max;
		v[1] = puk ? vc->st.piv.puk_left : vc->st.pin_left;
		buf_put_tlv(out, 0x06, v, 2);
		return SW_OK;
	}
	f = piv_slot(vc, c->p2);
	if (!f || f->key_type == VC_KEY_NONE)
		return SW_REF_NOT_FOUND;
	buf_put_tlv(out, 0x01, &f->alg, 1);
	v[0] = c->p2 == PIV_SLOT_MGM ? 0x00 : attr(f, VC_PIV_ATTR_PIN);
	v[1] = attr(f, VC_PIV_ATTR_TOUCH);
	buf_put_tlv(out, 0x02, v, 2);
	if (c->p2 == PIV_SLOT_MGM) {
		v[0] = (vc->st.piv.flags & VC_PIV_DEFAULT_MGM) != 0;
		buf_put_tlv(out, 0x05, v, 1);
		return SW_OK;
	}
	v[0] = attr(f, VC_PIV_ATTR_ORIGIN);
	buf_put_tlv(out, 0x03, v, 1);
	/* 04: the contents of the 7F49 template */
	buf_init(&pub);
	sw = vc_put_public(f, &pub);
	cur_init(&cur, pub.data, pub.len);
	if (sw == SW_OK && (tlv_read(&cur, &tag, &inner) != MDP_OK || tag != 0x7F49))
		sw = SW_DATA_INVALID;
	if (sw == SW_OK)
		buf_put_tlv(out, 0x04, inner.p, inner.len);
	buf_free(&pub);
	return sw;
}
