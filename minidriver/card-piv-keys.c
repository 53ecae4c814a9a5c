/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PIV card module's containers and private-key operations: generate, import, delete, sign,
 * decrypt, ECDH. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "blob/blob.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/pad.h"
#include "common/secmem.h"
#include "minidriver/card-piv.h"
#include "transport/apdu.h"

/* ---- container info ---- */

enum md_rv
piv_get_container_info(struct md_card *card, uint8_t index, uint32_t flags,
		       struct md_container_info *info)
{
	struct piv_cont *c;
	struct mdp_key *pub = NULL;
	uint8_t *blob = NULL;
	size_t n = 0;
	enum md_rv rv;

	rv = piv_container(card, index, &c);
	if (rv != MD_OK)
		return rv;
	rv = piv_slot_pub(card, piv_slot_index(c->slot), &pub);
	if (rv != MD_OK)
		return rv;
	if (blob_write(pub,
		       MDP_KEY_SPEC_IS_RSA(c->spec) ? BLOB_FMT_CAPI_PUBLIC
						    : BLOB_FMT_CNG_ECC_PUBLIC,
		       (enum mdp_key_spec)c->spec, &blob, &n) != MDP_OK) {
		log_warn("PIV slot %02X: its public key does not suit key spec %u (%s)", c->slot,
			 c->spec, mdp_err_last());
		return MD_E_NO_KEY_CONTAINER;
	}
	if (MDP_KEY_SPEC_IS_SIG_SLOT(c->spec)) {
		info->sig_public_key = blob;
		info->sig_public_key_len = n;
	} else {
		info->kx_public_key = blob;
		info->kx_public_key_len = n;
	}
	return MD_OK;
}

/* ---- creating and deleting containers ---- */

/*
 * The slot for a new container (docs/piv.md "Which slot"): PIV Authentication (9A) when free,
 * then the retired key-management slots 82..95 in order. 9C (a PIN for every signature), 9D
 * (key management, often escrowed) and 9E (no PIN at all) keep their standard meanings and are
 * never chosen for the host — except 9C for a container created for PIN id 4 (a key that wants
 * the PIN before each use: PKCS#11 CKA_ALWAYS_AUTHENTICATE).
 */
static enum md_rv
choose_slot(struct md_card *card, uint32_t pin_id, int *out)
{
	static const int order[] = {0,	4,  5,	6,  7,	8,  9,	10, 11, 12, 13,
				    14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
	size_t i;
	bool is_free;
	enum md_rv rv;

	if (pin_id == PIV_PIN_ID_CONSENT) {
		int si = piv_slot_index(PIV_SLOT_SIGN);

		rv = piv_slot_free(card, si, &is_free);
		if (rv == MD_OK && !is_free)
			rv = piv_refuse(MD_E_WRITE_TOO_MANY,
					"a key that wants the PIN before each use goes to 9C, "
					"which holds a key");
		if (rv == MD_OK)
			*out = si;
		return rv;
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		rv = piv_slot_free(card, order[i], &is_free);
		if (rv != MD_OK)
			return rv;
		if (is_free) {
			*out = order[i];
			return MD_OK;
		}
	}
	return piv_refuse(MD_E_WRITE_TOO_MANY,
			  "no free PIV key slot: 9A and the twenty retired slots are in use");
}

static bool
spec_supported(struct md_card *card, uint32_t spec, unsigned bits, bool *rsa)
{
	*rsa = spec == MDP_AT_KEYEXCHANGE || spec == MDP_AT_SIGNATURE;
	if (*rsa)
		return bits == 1024 || bits == 2048 ||
		       ((bits == 3072 || bits == 4096) && piv_version_at_least(card, 5, 7, 0));
	return spec == MDP_AT_ECDSA_P256 || spec == MDP_AT_ECDHE_P256 ||
	       spec == MDP_AT_ECDSA_P384 || spec == MDP_AT_ECDHE_P384;
}

static unsigned
ec_bits(uint32_t spec)
{
	return spec == MDP_AT_ECDSA_P256 || spec == MDP_AT_ECDHE_P256 ? 256 : 384;
}

/* GENERATE ASYMMETRIC KEY PAIR (§4.8) with the slot's default policies. */
static enum md_rv
generate(struct md_card *card, uint8_t ref, uint8_t alg, struct mdp_key **pub)
{
	uint8_t t[5] = {0xAC, 0x03, 0x80, 0x01, alg};
	struct mdp_buf r;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init(&r);
	rv = piv_xfer(card, 0x47, 0x00, ref, t, sizeof(t), PIV_LE_ALL, &r, &sw);
	if (rv == MD_OK && !MDP_SW_IS_OK(sw))
		rv = sw == 0x6A80 ? piv_refuse(MD_E_UNSUPPORTED_FEATURE,
					       "the card does not generate PIV algorithm %02X", alg)
				  : piv_sw_rv(sw);
	if (rv == MD_OK && piv_generate_answer(r.data, r.len, alg, pub) != MDP_OK) {
		log_warn("PIV GENERATE %02X: %s", ref, mdp_err_last());
		rv = MD_E_COMM_DATA_LOST;
	}
	buf_free(&r);
	return rv;
}

/*
 * IMPORT ASYMMETRIC KEY (§6.2) of a PRIVATEKEYBLOB / BCRYPT_ECCPRIVATE_BLOB: p, q, dP, dQ, qInv
 * each padded to half the modulus, or the EC scalar padded to the field. *pub is the key's
 * public half.
 */
static enum md_rv
import_key(struct md_card *card, uint8_t ref, uint32_t spec, const uint8_t *data, size_t len,
	   uint8_t *alg_out, struct mdp_key **pub)
{
	/* tags 01..05 in this order (§6.2) */
	static const enum blob_rsa_part parts[] = {BLOB_RSA_P, BLOB_RSA_Q, BLOB_RSA_DP, BLOB_RSA_DQ,
						   BLOB_RSA_QINV};
	struct mdp_key *k = NULL;
	struct mdp_buf t;
	uint8_t *v = NULL, alg;
	size_t vn = 0, half, i;
	uint16_t sw = 0;
	bool rsa = MDP_KEY_SPEC_IS_RSA(spec);
	enum md_rv rv = MD_OK;

	buf_init_secret(&t);
	if (blob_parse(data, len, rsa ? BLOB_FMT_CAPI_PRIVATE : BLOB_FMT_CNG_ECC_PRIVATE, 0, &k) !=
		    MDP_OK ||
	    (rsa && mdp_key_alg_id(k) !=
			    (spec == MDP_AT_KEYEXCHANGE ? MDP_CALG_RSA_KEYX : MDP_CALG_RSA_SIGN)) ||
	    (!rsa && mdp_key_spec(k) != (enum mdp_key_spec)spec)) {
		rv = piv_refuse(MD_E_INVALID_PARAMETER,
				"import: the key blob does not suit key "
				"spec %u (%s)",
				spec, mdp_err_last());
		goto out;
	}
	alg = piv_alg_for(rsa, mdp_key_bits(k));
	if (!alg || (rsa && !spec_supported(card, spec, mdp_key_bits(k), &rsa))) {
		rv = piv_refuse(MD_E_UNSUPPORTED_FEATURE, "import: PIV has no %u-bit %s keys",
				mdp_key_bits(k), rsa ? "RSA" : "EC");
		goto out;
	}
	if (rsa) {
		/* the card keeps e = 65537 (a YubiKey computes nothing else, §6.2): refuse others
		 */
		if (mdp_key_rsa_component(k, BLOB_RSA_E, 0, &v, &vn) != MDP_OK || vn != 3 ||
		    memcmp(v, "\x01\x00\x01", 3) != 0)
			rv = piv_refuse(MD_E_UNSUPPORTED_FEATURE,
					"import: PIV keys have the public exponent 65537");
		mdp_secure_free(v, vn);
		v = NULL;
		if (rv != MD_OK)
			goto out;
		half = mdp_key_bits(k) / 16;
		for (i = 0; i < 5 && rv == MD_OK; i++) {
			if (mdp_key_rsa_component(k, parts[i], half, &v, &vn) != MDP_OK)
				rv = MD_E_INVALID_PARAMETER;
			else
				buf_put_tlv(&t, (uint32_t)(i + 1), v, vn);
			mdp_secure_free(v, vn);
			v = NULL;
		}
	} else {
		if (mdp_key_ec_private(k, &v, &vn) != MDP_OK)
			rv = MD_E_INVALID_PARAMETER;
		else
			buf_put_tlv(&t, 0x06, v, vn);
		mdp_secure_free(v, vn);
		v = NULL;
	}
	if (rv == MD_OK && t.bad)
		rv = MD_E_NO_MEMORY;
	if (rv != MD_OK)
		goto out;
	rv = piv_xfer(card, 0xFE, alg, ref, t.data, t.len, MDP_APDU_NO_LE, NULL, &sw);
	if (rv == MD_OK && !MDP_SW_IS_OK(sw))
		rv = sw == 0x6A80 ? piv_refuse(MD_E_UNSUPPORTED_FEATURE,
					       "the card refused to import the key")
				  : piv_sw_rv(sw);
	if (rv != MD_OK)
		goto out;
	{
		uint8_t *spki = NULL;
		size_t sn = 0;

		/* the public half only, as a new key object */
		if (blob_write(k, BLOB_FMT_SPKI, MDP_AT_NONE, &spki, &sn) != MDP_OK ||
		    blob_parse(spki, sn, BLOB_FMT_SPKI, 0, pub) != MDP_OK)
			rv = MD_E_NO_MEMORY;
		free(spki);
	}
	*alg_out = alg;
out:
	mdp_key_free(k);
	buf_free(&t);
	return rv;
}

enum md_rv
piv_create_container(struct md_card *card, uint8_t index, uint32_t flags, uint32_t spec,
		     uint32_t bits, const uint8_t *key_data, size_t key_len, uint32_t pin_id)
{
	struct piv *p = piv_of(card);
	struct piv_cont *c;
	struct mdp_key *pub = NULL;
	const uint8_t *cert;
	size_t clen;
	uint8_t alg = 0, ref;
	bool rsa;
	int si = -1;
	enum md_rv rv;

	if (pin_id != MD_ROLE_USER && pin_id != PIV_PIN_ID_CONSENT)
		return piv_refuse(MD_E_INVALID_PARAMETER,
				  "PIV keys are bound to the PIN (1), or to it given again before "
				  "each use (4, slot 9C)");
	if (index >= PIV_MAX_CONTAINERS)
		return piv_refuse(MD_E_INVALID_PARAMETER,
				  "a PIV container map has at most %d records", PIV_MAX_CONTAINERS);
	if (flags == MD_CREATE_KEY_GEN) {
		if (!MDP_KEY_SPEC_IS_RSA(spec))
			bits = ec_bits(spec);
		if (!spec_supported(card, spec, bits, &rsa))
			return piv_refuse(MD_E_UNSUPPORTED_FEATURE,
					  "PIV cannot generate key spec %u of %u bits%s", spec,
					  bits,
					  MDP_KEY_SPEC_IS_RSA(spec) && bits > 2048
						  ? " (RSA 3072/4096 need a YubiKey 5.7)"
						  : "");
		alg = piv_alg_for(rsa, bits);
	} else if (spec == MDP_AT_ECDSA_P521 || spec == MDP_AT_ECDHE_P521) {
		return piv_refuse(MD_E_UNSUPPORTED_FEATURE, "PIV has no P-521 keys");
	}
	rv = piv_view(card);
	if (rv != MD_OK)
		return rv;
	/* an index the host reuses keeps its slot (the old key is overwritten, spec §4.2) */
	if (index < p->ncont && p->cont[index].used)
		si = piv_slot_index(p->cont[index].slot);
	else
		rv = choose_slot(card, pin_id, &si);
	if (rv == MD_OK && (pin_id == PIV_PIN_ID_CONSENT) != (piv_slot_ref(si) == PIV_SLOT_SIGN))
		rv = piv_refuse(MD_E_INVALID_PARAMETER,
				"container %u is in slot %02X: its PIN stays that of the slot",
				index, piv_slot_ref(si));
	if (rv == MD_OK)
		rv = piv_need_admin(card);
	if (rv != MD_OK)
		return rv;
	ref = piv_slot_ref(si);
	if (flags == MD_CREATE_KEY_GEN)
		rv = generate(card, ref, alg, &pub);
	else
		rv = import_key(card, ref, spec, key_data, key_len, &alg, &pub);
	if (rv != MD_OK)
		return rv;
	log_info("PIV: key of container %u %s in slot %02X", index,
		 flags == MD_CREATE_KEY_GEN ? "generated" : "imported", ref);
	/* a certificate left by the slot's old key belongs to nobody now */
	rv = piv_slot_cert(card, si, &cert, &clen);
	if (rv == MD_OK && cert)
		rv = piv_slot_write_cert(card, si, NULL, 0);
	p->slots[si].meta_known = false;
	p->slots[si].unsupported = false;
	/* mdp11 makes keys with the slot's default policies */
	p->slots[si].pin_policy = piv_default_pin_policy(ref);
	if (p->store.freed & (1u << si)) {
		p->store.freed &= ~(1u << si);
		if (rv == MD_OK)
			rv = piv_store_save(card);
	}
	if (rv == MD_OK)
		rv = piv_slot_set_pub(card, si, pub, true);
	else
		mdp_key_free(pub);
	if (rv != MD_OK)
		return rv;
	c = &p->cont[index];
	if (!c->used) {
		memset(c, 0, sizeof(*c));
		c->pending = true; /* listed once the host writes its cmapfile record */
		c->ecdh = PIV_MSCMAP_NO_ECDH;
	}
	c->used = true;
	c->key_gone = false;
	c->slot = ref;
	c->spec = spec;
	c->bits = piv_alg_bits(alg);
	if (index >= p->ncont)
		p->ncont = (size_t)index + 1;
	return MD_OK;
}

/*
 * CardDeleteContainer: the key material goes. YubiKey 5.7 deletes a key (MOVE/DELETE KEY);
 * before that a PIV key can only be overwritten, so the module generates a throw-away key over
 * it and remembers the slot as free in its store (docs/piv.md "Deleting keys").
 */
enum md_rv
piv_delete_container(struct md_card *card, uint8_t index, uint32_t reserved)
{
	struct piv *p = piv_of(card);
	struct piv_cont *c;
	struct mdp_key *junk = NULL;
	uint16_t sw = 0;
	uint8_t ref;
	int si;
	enum md_rv rv;

	rv = piv_view(card);
	if (rv != MD_OK)
		return rv;
	c = piv_cont_at(p, index);
	if (!c)
		return MD_OK; /* v7: an empty or invalid index is no error */
	rv = piv_need_admin(card);
	if (rv != MD_OK)
		return rv;
	ref = c->slot;
	si = piv_slot_index(ref);
	rv = MD_E_UNSUPPORTED_FEATURE;
	if (piv_version_at_least(card, 5, 7, 0)) {
		rv = piv_xfer(card, 0xF6, 0xFF, ref, NULL, 0, MDP_APDU_NO_LE, NULL, &sw);
		if (rv == MD_OK && !MDP_SW_IS_OK(sw))
			rv = piv_sw_rv(sw);
	}
	if (rv == MD_E_UNSUPPORTED_FEATURE) {
		rv = generate(card, ref, PIV_ALG_P256, &junk);
		mdp_key_free(junk);
		if (rv == MD_OK) {
			p->store.freed |= 1u << si;
			rv = piv_store_save(card);
		}
	}
	if (rv != MD_OK)
		return rv;
	mdp_key_free(p->slots[si].pub);
	p->slots[si].pub = NULL;
	p->slots[si].meta_known = false;
	if (p->store.spki[si]) {
		free(p->store.spki[si]);
		p->store.spki[si] = NULL;
		p->store.spki_len[si] = 0;
		rv = piv_store_save(card);
	}
	if (c->pending)
		memset(c, 0, sizeof(*c)); /* never recorded: nothing for the host to zero */
	else
		c->key_gone =
			true; /* the certificate file stays reachable until the host deletes */
	log_info("PIV: key of container %u in slot %02X destroyed", index, ref);
	return rv;
}

/* ---- private-key operations ---- */

/* The container's key for an operation with key spec spec (an exchange key may sign). */
static enum md_rv
key_for(struct md_card *card, uint8_t index, uint32_t spec, struct piv_cont **out)
{
	struct piv_cont *c = NULL;
	enum md_rv rv = piv_op_container(card, index, &c);

	if (rv == MD_OK && c->spec != spec)
		rv = MD_E_NO_KEY_CONTAINER;
	if (rv == MD_OK)
		*out = c;
	return rv;
}

/*
 * A slot whose key wants the PIN right before each use (PIN policy "always", the 9C default,
 * §2.3): the consent given through PIN id 4 is verified again just before the operation. What
 * the module knows without an APDU: the policy GET METADATA gave when it was read for another
 * reason (a key without certificate) or that mdp11 gave the key, else the slot's default — so
 * that listing a card costs no GET METADATA per key (docs/piv.md "PINs and roles").
 */
uint8_t
piv_pin_policy(struct md_card *card, const struct piv_cont *c)
{
	struct piv_slot *s = &piv_of(card)->slots[piv_slot_index(c->slot)];

	return s->pin_policy ? s->pin_policy : piv_default_pin_policy(c->slot);
}

/*
 * Send the consent given through PIN id 4 as a VERIFY right before the operation. Whether the
 * key wants it is known without an APDU: the policy already read, else the slot's default (a
 * key generated elsewhere with "always" in another slot is caught by the card's 6982, and the
 * operation is tried again with the consent, see private_op).
 */
static enum md_rv
consent(struct md_card *card, const struct piv_cont *c, bool force)
{
	struct piv *p = piv_of(card);
	struct piv_slot *s = &p->slots[piv_slot_index(c->slot)];
	uint8_t policy = s->pin_policy ? s->pin_policy : piv_default_pin_policy(c->slot);
	uint16_t sw = 0;
	enum md_rv rv;

	if ((!force && policy != PIV_PIN_POLICY_ALWAYS) || !p->oneshot_valid)
		return MD_OK;
	rv = piv_xfer(card, 0x20, 0x00, PIV_REF_PIN, p->oneshot_pin, 8, MDP_APDU_NO_LE, NULL, &sw);
	mdp_wipe(p->oneshot_pin, sizeof(p->oneshot_pin));
	p->oneshot_valid = false;
	if (rv == MD_OK && !MDP_SW_IS_OK(sw))
		rv = piv_sw_rv(sw);
	return rv;
}

/* GENERAL AUTHENTICATE with the slot's private key; out gets element 82 (§4.7). */
static enum md_rv
private_op(struct md_card *card, const struct piv_cont *c, uint8_t tag, const uint8_t *in,
	   size_t in_len, struct mdp_buf *out)
{
	uint8_t alg = piv_alg_for(MDP_KEY_SPEC_IS_RSA(c->spec), c->bits);
	struct mdp_buf req, r;
	struct mdp_cursor e;
	uint16_t sw = 0;
	bool retry;
	enum md_rv rv;

	rv = consent(card, c, false);
	if (rv != MD_OK)
		return rv;
	retry = piv_of(card)->oneshot_valid;
	buf_init_secret(&req);
	buf_init_secret(&r);
	piv_ga_request(&req, tag, in, in_len);
	rv = req.bad ? MD_E_NO_MEMORY
		     : piv_xfer(card, 0x87, alg, c->slot, req.data, req.len, PIV_LE_ALL, &r, &sw);
	if (rv == MD_OK && sw == 0x6982 && retry) {
		/* the key wants the PIN right before each use although its slot does not */
		piv_of(card)->slots[piv_slot_index(c->slot)].pin_policy = PIV_PIN_POLICY_ALWAYS;
		rv = consent(card, c, true);
		if (rv == MD_OK) {
			buf_free(&r);
			buf_init_secret(&r);
			rv = piv_xfer(card, 0x87, alg, c->slot, req.data, req.len, PIV_LE_ALL, &r,
				      &sw);
		}
	}
	if (rv == MD_OK && !MDP_SW_IS_OK(sw))
		rv = sw == 0x6A80 ? MD_E_INVALID_PARAMETER : piv_sw_rv(sw);
	if (rv == MD_OK && piv_ga_response(r.data, r.len, 0x82, &e) != MDP_OK) {
		log_warn("PIV GENERAL AUTHENTICATE %02X: %s", c->slot, mdp_err_last());
		rv = MD_E_COMM_DATA_LOST;
	}
	if (rv == MD_OK)
		buf_put_bytes(out, e.p + e.pos, cur_left(&e));
	if (rv == MD_OK && out->bad)
		rv = MD_E_NO_MEMORY;
	buf_free(&req);
	buf_free(&r);
	return rv;
}

/* The k-byte block to sign with raw RSA, padded on the host (spec §4.7: RSA is raw on PIV). */
static enum md_rv
rsa_sign_block(const struct md_signing_info *si, unsigned bits, uint8_t *em, size_t k)
{
	uint32_t pad = (si->flags & MD_PADDING_INFO_PRESENT) ? si->padding_type : MD_PADDING_PKCS1;
	enum mdp_hash h = MDP_HASH_NONE;
	enum mdp_err e;

	if (pad == MD_PADDING_NONE) {
		if (si->data_len > k)
			return MD_E_INSUFFICIENT_BUFFER;
		memset(em, 0, k - si->data_len);
		memcpy(em + k - si->data_len, si->data, si->data_len);
		return MD_OK;
	}
	if (si->flags & MD_PADDING_INFO_PRESENT) {
		const char *name = si->padding_info ? si->padding_info->alg_id : NULL;

		if (name && (h = mdp_hash_by_name(name)) == MDP_HASH_NONE)
			return MD_E_UNSUPPORTED_FEATURE;
	} else if (si->hash_alg && (h = mdp_hash_by_calg(si->hash_alg)) == MDP_HASH_NONE) {
		return MD_E_UNSUPPORTED_FEATURE;
	}
	if (pad == MD_PADDING_PSS) {
		if (h == MDP_HASH_NONE || h == MDP_HASH_SSL3_SHAMD5)
			return MD_E_INVALID_PARAMETER;
		e = mdp_pad_pss(h, h, si->data, si->data_len, si->padding_info->salt_len, bits, em,
				k);
	} else if (pad == MD_PADDING_PKCS1) {
		if (h == MDP_HASH_SSL3_SHAMD5 && si->data_len != mdp_hash_len(h))
			return MD_E_INVALID_PARAMETER;
		/* MD5 || SHA-1 of TLS 1.0 has no DigestInfo: signed as given */
		e = mdp_pad_pkcs1_sign(h == MDP_HASH_SSL3_SHAMD5 ? MDP_HASH_NONE : h, si->data,
				       si->data_len, em, k);
	} else {
		return MD_E_INVALID_PARAMETER;
	}
	if (e == MDP_ERR_OVERFLOW)
		return MD_E_INSUFFICIENT_BUFFER;
	return e == MDP_OK ? MD_OK : MD_E_INVALID_PARAMETER;
}

enum md_rv
piv_sign_data(struct md_card *card, struct md_signing_info *si)
{
	struct piv_cont *c = NULL;
	struct mdp_buf out;
	uint8_t em[512];
	size_t k, flen;
	enum md_rv rv;

	buf_init_secret(&out);
	rv = key_for(card, si->container_index, si->key_spec, &c);
	if (rv != MD_OK)
		goto out;
	if (MDP_KEY_SPEC_IS_ECDH(c->spec)) {
		rv = MD_E_INVALID_PARAMETER; /* an ECDH key does not sign */
		goto out;
	}
	k = MDP_KEY_SPEC_IS_RSA(c->spec) ? c->bits / 8 : 2 * (c->bits / 8);
	if (si->flags & MD_BUFFER_SIZE_ONLY) {
		si->signature_len = k;
		goto out;
	}
	if (MDP_KEY_SPEC_IS_RSA(c->spec)) {
		rv = rsa_sign_block(si, c->bits, em, k);
		if (rv == MD_OK)
			rv = private_op(card, c, 0x81, em, k, &out);
		if (rv == MD_OK && out.len != k) {
			log_warn("PIV: RSA signature of %zu bytes, expected %zu", out.len, k);
			rv = MD_E_COMM_DATA_LOST;
		}
		if (rv == MD_OK)
			mdp_reverse(out.data, out.len); /* little-endian, as CAPI (§4.5) */
	} else {
		/* the hash as an integer of the field's size: truncated (FIPS 186) or zero-padded
		 */
		flen = c->bits / 8;
		memset(em, 0, flen);
		if (si->data_len >= flen)
			memcpy(em, si->data, flen);
		else
			memcpy(em + flen - si->data_len, si->data, si->data_len);
		rv = private_op(card, c, 0x81, em, flen, &out);
		if (rv == MD_OK) {
			uint8_t raw[96];

			if (piv_ecdsa_der_to_raw(out.data, out.len, flen, raw) != MDP_OK) {
				log_warn("PIV: %s", mdp_err_last());
				rv = MD_E_COMM_DATA_LOST;
			} else {
				buf_free(&out);
				buf_init(&out);
				buf_put_bytes(&out, raw, k);
			}
		}
	}
	if (rv != MD_OK)
		goto out;
	si->signature_len = out.len;
	si->signature = buf_steal(&out, &si->signature_len);
	if (!si->signature)
		rv = MD_E_NO_MEMORY;
out:
	mdp_wipe(em, sizeof(em));
	buf_free(&out);
	return rv;
}

enum md_rv
piv_rsa_decrypt(struct md_card *card, struct md_rsa_decrypt_info *di)
{
	struct piv_cont *c = NULL;
	struct mdp_buf out;
	uint8_t ct[512], msg[512];
	size_t k, mlen = 0, i;
	enum mdp_hash h = MDP_HASH_SHA1;
	enum mdp_err e = MDP_OK;
	enum md_rv rv;

	buf_init_secret(&out);
	rv = key_for(card, di->container_index, di->key_spec, &c);
	if (rv != MD_OK)
		goto out;
	if (c->spec != MDP_AT_KEYEXCHANGE) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	k = c->bits / 8;
	if (di->data_len < k) {
		rv = MD_E_INSUFFICIENT_BUFFER;
		goto out;
	}
	if (di->data_len > k) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	if (di->padding_type == MD_PADDING_OAEP) {
		if (!di->padding_info) {
			rv = MD_E_INVALID_PARAMETER;
			goto out;
		}
		if (di->padding_info->alg_id &&
		    (h = mdp_hash_by_name(di->padding_info->alg_id)) == MDP_HASH_NONE) {
			rv = MD_E_UNSUPPORTED_FEATURE;
			goto out;
		}
	} else if (di->padding_type != MD_PADDING_PKCS1 && di->padding_type != MD_PADDING_NONE) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	for (i = 0; i < k; i++) /* little-endian in (§4.6) */
		ct[i] = di->data[k - 1 - i];
	rv = private_op(card, c, 0x81, ct, k, &out);
	if (rv == MD_OK && out.len != k) {
		log_warn("PIV: RSA result of %zu bytes, expected %zu", out.len, k);
		rv = MD_E_COMM_DATA_LOST;
	}
	if (rv != MD_OK)
		goto out;
	/* the card returns the padded block: unpadded here, in constant time (common/pad.h) */
	if (di->padding_type == MD_PADDING_PKCS1)
		e = mdp_unpad_pkcs1(out.data, k, msg, sizeof(msg), &mlen);
	else if (di->padding_type == MD_PADDING_OAEP)
		e = mdp_unpad_oaep(h, h, di->padding_info->label, di->padding_info->label_len,
				   out.data, k, msg, sizeof(msg), &mlen);
	else {
		memcpy(msg, out.data, k);
		mlen = k;
	}
	if (e != MDP_OK) {
		/* one answer for every way the padding can be wrong */
		rv = piv_refuse(MD_E_INVALID_PARAMETER,
				"the decrypted block's padding is not valid");
		goto out;
	}
	mdp_wipe(di->data, di->data_len);
	for (i = 0; i < mlen; i++) /* little-endian out, in place */
		di->data[i] = msg[mlen - 1 - i];
	di->data_len = mlen;
out:
	mdp_wipe(ct, sizeof(ct));
	mdp_wipe(msg, sizeof(msg));
	buf_free(&out);
	return rv;
}

/* ---- ECDH (§4.7: tag 85) ---- */

enum md_rv
piv_construct_dh_agreement(struct md_card *card, struct md_dh_agreement_info *ai)
{
	struct piv *p = piv_of(card);
	struct piv_cont *c = NULL;
	struct mdp_key *peer = NULL;
	struct mdp_buf x;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	enum md_rv rv;

	buf_init_secret(&x);
	rv = piv_op_container(card, ai->container_index, &c);
	if (rv == MD_OK && !MDP_KEY_SPEC_IS_ECDH(c->spec))
		rv = MD_E_NO_KEY_CONTAINER;
	if (rv != MD_OK)
		goto out;
	if (!md_agreement_room(&p->agreements)) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	if (blob_parse(ai->public_key, ai->public_key_len, BLOB_FMT_CNG_ECC_PUBLIC, 0, &peer) !=
		    MDP_OK ||
	    mdp_key_bits(peer) != c->bits || mdp_key_ec_point(peer, &pt, &ptlen) != MDP_OK) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	rv = private_op(card, c, 0x85, pt, ptlen, &x);
	if (rv == MD_OK && x.len != c->bits / 8) {
		log_warn("PIV: ECDH secret of %zu bytes", x.len);
		rv = MD_E_COMM_DATA_LOST;
	}
	if (rv != MD_OK)
		goto out;
	rv = md_agreement_add(&p->agreements, x.data, x.len, &ai->secret_agreement_index);
out:
	free(pt);
	mdp_key_free(peer);
	buf_free(&x);
	return rv;
}

enum md_rv
piv_derive_key(struct md_card *card, struct md_derive_key *dk)
{
	return md_agreement_derive(&piv_of(card)->agreements, dk);
}

enum md_rv
piv_destroy_dh_agreement(struct md_card *card, uint8_t index, uint32_t flags)
{
	if (flags != 0)
		return MD_E_INVALID_PARAMETER;
	return md_agreement_destroy(&piv_of(card)->agreements, index);
}
