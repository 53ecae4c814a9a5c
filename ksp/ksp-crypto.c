/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role: private-key operations (sign, decrypt, ECDH). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MDP_LOG_AREA MDP_AREA_KSP
#include "blob/blob.h"
#include "common/log.h"
#include "common/hash.h"
#include "common/pad.h"
#include "common/secmem.h"
#include "ksp/ksp-int.h"
#include "transport/transport.h"

/* ---- private-key operations ---- */

/* A hash the host computes with (common/hash.h); NULL for NONE and hashes OpenSSL lacks. */
static const struct mdp_hash_info *
hash_of(enum mdp_hash h)
{
	return mdp_hash_md(h) ? mdp_hash_get(h) : NULL;
}

/* The RSA signature the module returned (little-endian) as k big-endian bytes. */
static enum ksp_rv
put_reversed(const uint8_t *le, size_t len, uint8_t *out, size_t k)
{
	size_t i;

	if (len > k)
		return KSP_E_FAILED;
	memset(out, 0, k - len);
	for (i = 0; i < len; i++)
		out[k - 1 - i] = le[i];
	return KSP_OK;
}

static enum ksp_rv
sign_call(struct md_card *md, uint8_t index, enum mdp_key_spec spec, uint32_t padding,
	  const struct md_padding_info *pi, const uint8_t *data, size_t len, uint8_t **sig,
	  size_t *sig_len)
{
	struct md_signing_info si;
	enum ksp_rv rv;

	memset(&si, 0, sizeof(si));
	si.version = MD_SIGNING_INFO_VERSION;
	si.container_index = index;
	si.key_spec = (uint32_t)spec;
	si.data = data;
	si.data_len = len;
	if (padding) {
		si.flags = MD_PADDING_INFO_PRESENT;
		si.padding_type = padding;
		si.padding_info = pi;
	}
	rv = ksp_rv_from_md(md_sign_data(md, &si));
	if (rv != KSP_OK) {
		free(si.signature);
		return rv;
	}
	*sig = si.signature;
	*sig_len = si.signature_len;
	return KSP_OK;
}

enum ksp_rv
ksp_sign_key_get(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, struct ksp_sign_key *out)
{
	const struct ksp_key *k;
	enum ksp_rv rv;

	if (!kc || !out)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	k = ksp_key_at(kc, index, slot);
	if (!k)
		return KSP_E_NOT_FOUND;
	memset(out, 0, sizeof(*out));
	out->index = index;
	out->spec = k->spec;
	out->bits = k->bits;
	if (MDP_KEY_SPEC_IS_EC(k->spec))
		out->ec_field = mdp_key_ec_field_len(k->pub);
	out->pub = mdp_key_pkey(k->pub);
	if (!out->pub || !EVP_PKEY_up_ref(out->pub)) {
		out->pub = NULL;
		return KSP_E_NO_MEMORY;
	}
	return KSP_OK;
}

void
ksp_sign_key_clear(struct ksp_sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pub);
	memset(k, 0, sizeof(*k));
}

enum ksp_rv
ksp_sign_on(struct md_card *md, const struct ksp_sign_key *sk, const struct ksp_padding *pad,
	    const uint8_t *data, size_t len, uint8_t *sig, size_t *sig_len)
{
	struct md_padding_info pi;
	uint8_t *out = NULL, *block = NULL;
	const struct mdp_hash_info *hi = NULL;
	size_t out_len = 0, n;
	enum ksp_rv rv;

	if (!md || !sk || !pad || (!data && len) || !sig_len)
		return KSP_E_INVALID_ARG;
	memset(&pi, 0, sizeof(pi));
	if (MDP_KEY_SPEC_IS_EC(sk->spec)) {
		if (!MDP_KEY_SPEC_IS_ECDSA(sk->spec))
			return ksp_reason(KSP_E_BAD_KEY, "an ECDH key cannot sign%s", "");
		if (pad->type != KSP_PAD_NONE || len == 0)
			return KSP_E_BAD_DATA;
		n = 2 * sk->ec_field;
		if (!sig) {
			*sig_len = n;
			return KSP_OK;
		}
		if (*sig_len < n)
			return KSP_E_BUFFER_TOO_SMALL;
		rv = sign_call(md, sk->index, sk->spec, 0, NULL, data, len, &out, &out_len);
		if (rv == KSP_OK && out_len != n)
			rv = KSP_E_FAILED;
		if (rv == KSP_OK) {
			memcpy(sig, out, n);
			*sig_len = n;
		}
		free(out);
		return rv;
	}
	n = (sk->bits + 7) / 8;
	if (!sig) {
		*sig_len = n;
		return KSP_OK;
	}
	if (*sig_len < n)
		return KSP_E_BUFFER_TOO_SMALL;
	switch (pad->type) {
	case KSP_PAD_NONE:
		/* Raw RSA on a modulus-size block (CKM_RSA_X_509: shorter input is left-padded). */
		if (len > n)
			return KSP_E_BAD_DATA;
		block = calloc(1, n);
		if (!block)
			return KSP_E_NO_MEMORY;
		memcpy(block + n - len, data, len);
		rv = sign_call(md, sk->index, sk->spec, MD_PADDING_NONE, &pi, block, n, &out,
			       &out_len);
		break;
	case KSP_PAD_PKCS1:
		if (pad->hash != MDP_HASH_NONE) {
			hi = hash_of(pad->hash);
			if (!hi || len != hi->len)
				return KSP_E_BAD_DATA;
			pi.alg_id = hi->name;
		} else if (len == 0 || len + 11 > n) {
			return KSP_E_BAD_DATA;
		}
		rv = sign_call(md, sk->index, sk->spec, MD_PADDING_PKCS1, &pi, data, len, &out,
			       &out_len);
		break;
	case KSP_PAD_PSS: {
		enum mdp_hash mgf = pad->mgf1_hash == MDP_HASH_NONE ? pad->hash : pad->mgf1_hash;

		hi = hash_of(pad->hash);
		if (!hi || len != hi->len)
			return KSP_E_BAD_DATA;
		rv = KSP_E_UNSUPPORTED;
		if (mgf == pad->hash) {
			pi.alg_id = hi->name;
			pi.salt_len = (uint32_t)pad->salt_len;
			rv = sign_call(md, sk->index, sk->spec, MD_PADDING_PSS, &pi, data, len,
				       &out, &out_len);
		}
		if (rv == KSP_E_UNSUPPORTED) {
			/* Host-side EMSA-PSS over raw RSA (spec/minidriver.md §3: pfnCspPadData).
			 */
			if (!hash_of(mgf))
				return KSP_E_BAD_DATA;
			block = calloc(1, n);
			if (!block)
				return KSP_E_NO_MEMORY;
			if (mdp_pad_pss(pad->hash, mgf, data, len, pad->salt_len, sk->bits, block,
					n) != MDP_OK) {
				rv = KSP_E_BAD_DATA;
				break;
			}
			memset(&pi, 0, sizeof(pi));
			rv = sign_call(md, sk->index, sk->spec, MD_PADDING_NONE, &pi, block, n,
				       &out, &out_len);
		}
		break;
	}
	default:
		return KSP_E_INVALID_ARG;
	}
	if (rv == KSP_OK)
		rv = put_reversed(out, out_len, sig, n);
	if (rv == KSP_OK)
		*sig_len = n;
	free(out);
	free(block);
	return rv;
}

/* ---- signing lanes ---- */

struct ksp_lane {
	struct mdp_transport *tr; /* a logical channel of the card's link */
	struct md_card *md;	  /* its own card-module context */
	unsigned long card;	  /* instance of the ksp_card it was made for */
	unsigned long view_gen;	  /* that card's view generation then */
	struct ksp_sign_key key;  /* set by ksp_lane_take, cleared by ksp_lane_put */
};

static void
lane_free(struct ksp_lane *l)
{
	if (!l)
		return;
	ksp_sign_key_clear(&l->key);
	md_card_delete(l->md);
	mdp_transport_free(l->tr);
	free(l);
}

void
ksp_lanes_drop(struct ksp_card *kc)
{
	while (kc->nlanes)
		lane_free(kc->lanes[--kc->nlanes]);
}

unsigned long
ksp_lanes_apdus(const struct ksp_card *kc)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; kc && i < kc->nlanes; i++)
		n += mdp_transport_apdu_count(kc->lanes[i]->tr);
	return n;
}

/* A new lane: a logical channel of the card's transport and a card module on it. */
static struct ksp_lane *
lane_new(struct ksp_card *kc)
{
	struct mdp_transport *tr = NULL;
	struct md_card *md = NULL;
	struct ksp_lane *l;
	enum mdp_err err;

	err = mdp_transport_embedded_channel(md_card_transport(kc->md), &tr);
	if (err != MDP_OK) {
		if (err != MDP_ERR_BUSY) /* busy: all channels in use now; otherwise: none at all */
			kc->no_lanes = true;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l || md_card_acquire(NULL, tr, MD_CARD_DATA_CURRENT_VERSION, 0, &md) != MD_OK) {
		log_debug("no signing lane (%s)", mdp_err_last());
		free(l);
		mdp_transport_free(tr);
		kc->no_lanes = true;
		return NULL;
	}
	l->tr = tr;
	l->md = md;
	l->card = kc->instance;
	l->view_gen = kc->generation;
	return l;
}

struct ksp_lane *
ksp_lane_take(struct ksp_card *kc, uint8_t index, enum ksp_slot slot)
{
	struct ksp_lane *l = NULL;

	if (!kc || kc->no_lanes)
		return NULL;
	while (kc->nlanes && !l) {
		l = kc->lanes[--kc->nlanes];
		if (l->view_gen != kc->generation) {
			lane_free(l); /* the view changed: its card-module caches may be stale */
			l = NULL;
		}
	}
	if (!l)
		l = lane_new(kc);
	if (!l)
		return NULL;
	if (ksp_sign_key_get(kc, index, slot, &l->key) != KSP_OK) {
		ksp_lane_put(kc, l, true);
		return NULL;
	}
	return l;
}

enum ksp_rv
ksp_lane_sign(struct ksp_lane *l, const struct ksp_padding *pad, const uint8_t *data, size_t len,
	      uint8_t *sig, size_t *sig_len)
{
	if (!l)
		return KSP_E_INVALID_ARG;
	return ksp_sign_on(l->md, &l->key, pad, data, len, sig, sig_len);
}

void
ksp_lane_put(struct ksp_card *kc, struct ksp_lane *l, bool ok)
{
	if (!l)
		return;
	ksp_sign_key_clear(&l->key);
	if (ok && kc && l->card == kc->instance && l->view_gen == kc->generation &&
	    kc->nlanes < KSP_MAX_LANES) {
		kc->lanes[kc->nlanes++] = l;
		return;
	}
	lane_free(l);
}

enum ksp_rv
ksp_sign(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const struct ksp_padding *pad,
	 const uint8_t *data, size_t len, uint8_t *sig, size_t *sig_len)
{
	struct ksp_sign_key sk;
	enum ksp_rv rv;

	if (!kc || !pad || (!data && len) || !sig_len)
		return KSP_E_INVALID_ARG;
	rv = ksp_sign_key_get(kc, index, slot, &sk);
	if (rv != KSP_OK)
		return rv;
	rv = ksp_sign_on(kc->md, &sk, pad, data, len, sig, sig_len);
	ksp_check_reset(kc, rv);
	ksp_sign_key_clear(&sk);
	return rv;
}

static enum ksp_rv
decrypt_call(struct ksp_card *kc, uint8_t index, enum mdp_key_spec spec, uint32_t padding,
	     const struct md_padding_info *pi, uint8_t *le, size_t *len)
{
	struct md_rsa_decrypt_info di;
	enum ksp_rv rv;

	memset(&di, 0, sizeof(di));
	di.version = MD_RSA_DECRYPT_INFO_VERSION;
	di.container_index = index;
	di.key_spec = (uint32_t)spec;
	di.data = le;
	di.data_len = *len;
	di.padding_type = padding;
	di.padding_info = pi;
	rv = ksp_rv_from_md(md_rsa_decrypt(kc->md, &di));
	ksp_check_reset(kc, rv);
	if (rv == KSP_OK)
		*len = di.data_len;
	return rv;
}

enum ksp_rv
ksp_decrypt(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const struct ksp_padding *pad,
	    const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
	const struct ksp_key *k;
	struct md_padding_info pi;
	uint8_t *buf = NULL, *plain = NULL;
	size_t n, m = 0, i;
	enum ksp_rv rv;

	if (!kc || !pad || !in || !out_len)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	k = ksp_key_at(kc, index, slot);
	if (!k)
		return KSP_E_NOT_FOUND;
	if (k->spec != MDP_AT_KEYEXCHANGE)
		return ksp_reason(KSP_E_BAD_KEY, "only AT_KEYEXCHANGE keys decrypt (%s)",
				  mdp_key_spec_name(k->spec));
	n = (k->bits + 7) / 8;
	if (len != n)
		return KSP_E_BAD_DATA;
	if (!out) {
		*out_len = n;
		return KSP_OK;
	}
	buf = mdp_zalloc(n);
	plain = mdp_zalloc(n);
	if (!buf || !plain) {
		rv = KSP_E_NO_MEMORY;
		goto out;
	}
	/* CardRSADecrypt takes and returns little-endian data (spec/minidriver.md §4.6). */
	for (i = 0; i < n; i++)
		buf[i] = in[n - 1 - i];
	m = n;
	memset(&pi, 0, sizeof(pi));
	switch (pad->type) {
	case KSP_PAD_NONE:
		rv = decrypt_call(kc, index, k->spec, MD_PADDING_NONE, &pi, buf, &m);
		break;
	case KSP_PAD_PKCS1:
		rv = decrypt_call(kc, index, k->spec, MD_PADDING_PKCS1, &pi, buf, &m);
		break;
	case KSP_PAD_OAEP: {
		enum mdp_hash h = pad->hash == MDP_HASH_NONE ? MDP_HASH_SHA1 : pad->hash;
		enum mdp_hash mgf = pad->mgf1_hash == MDP_HASH_NONE ? h : pad->mgf1_hash;

		if (!hash_of(h) || !hash_of(mgf)) {
			rv = KSP_E_BAD_DATA;
			break;
		}
		rv = KSP_E_UNSUPPORTED;
		if (mgf == h) {
			pi.alg_id = hash_of(h)->name;
			pi.label = pad->label;
			pi.label_len = pad->label_len;
			rv = decrypt_call(kc, index, k->spec, MD_PADDING_OAEP, &pi, buf, &m);
		}
		if (rv == KSP_E_UNSUPPORTED) {
			/* Raw RSA on the card, constant-time OAEP decoding here (common/pad.h). */
			for (i = 0; i < n; i++)
				buf[i] = in[n - 1 - i];
			m = n;
			memset(&pi, 0, sizeof(pi));
			rv = decrypt_call(kc, index, k->spec, MD_PADDING_NONE, &pi, buf, &m);
			if (rv == KSP_OK && m > n)
				rv = KSP_E_FAILED;
			if (rv != KSP_OK)
				break;
			mdp_reverse(buf, m);
			memmove(buf + (n - m), buf, m);
			memset(buf, 0, n - m);
			if (mdp_unpad_oaep(h, mgf, pad->label, pad->label_len, buf, n, plain, n,
					   &m) != MDP_OK) {
				rv = KSP_E_DECRYPT;
				break;
			}
			if (*out_len < m) {
				rv = KSP_E_BUFFER_TOO_SMALL;
				break;
			}
			memcpy(out, plain, m);
			*out_len = m;
			goto out;
		}
		break;
	}
	default:
		rv = KSP_E_INVALID_ARG;
		break;
	}
	/*
	 * Every argument was checked above: a module refusing the block now
	 * means the padding did not verify (the GIDS card answers 6A80).
	 */
	if (rv == KSP_E_INVALID_ARG && pad->type != KSP_PAD_NONE)
		rv = KSP_E_DECRYPT;
	if (rv != KSP_OK)
		goto out;
	if (m > n) {
		rv = KSP_E_FAILED;
		goto out;
	}
	if (*out_len < m) {
		rv = KSP_E_BUFFER_TOO_SMALL;
		goto out;
	}
	for (i = 0; i < m; i++)
		out[i] = buf[m - 1 - i];
	*out_len = m;
out:
	mdp_secure_free(buf, n);
	mdp_secure_free(plain, n);
	return rv;
}

enum ksp_rv
ksp_ecdh(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const uint8_t *peer,
	 size_t peer_len, uint8_t *out, size_t *out_len)
{
	const struct ksp_key *k;
	struct md_dh_agreement_info ai;
	struct md_derive_key dk;
	struct mdp_buf b;
	uint8_t *blob = NULL;
	size_t f, blob_len = 0, i;
	uint32_t magic;
	enum ksp_rv rv;
	bool have_agreement = false;

	if (!kc || !peer || !out_len)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	k = ksp_key_at(kc, index, slot);
	if (!k)
		return KSP_E_NOT_FOUND;
	if (!MDP_KEY_SPEC_IS_ECDH(k->spec))
		return ksp_reason(KSP_E_BAD_KEY, "key agreement needs an ECDH key (%s)",
				  mdp_key_spec_name(k->spec));
	f = mdp_key_ec_field_len(k->pub);
	if (peer_len != 1 + 2 * f || peer[0] != 0x04)
		return KSP_E_BAD_DATA;
	if (!out) {
		*out_len = f;
		return KSP_OK;
	}
	if (*out_len < f)
		return KSP_E_BUFFER_TOO_SMALL;
	/* The peer as a BCRYPT_ECCPUBLIC_BLOB with the ECDH magic ECK1/ECK3/ECK5. */
	magic = f == 32 ? 0x314B4345u : f == 48 ? 0x334B4345u : 0x354B4345u;
	buf_init(&b);
	buf_put_le32(&b, magic);
	buf_put_le32(&b, (uint32_t)f);
	buf_put_bytes(&b, peer + 1, 2 * f);
	blob = buf_steal(&b, &blob_len);
	buf_free(&b);
	if (!blob)
		return KSP_E_NO_MEMORY;
	memset(&ai, 0, sizeof(ai));
	memset(&dk, 0, sizeof(dk));
	ai.version = MD_DH_AGREEMENT_INFO_VERSION;
	ai.container_index = index;
	ai.public_key = blob;
	ai.public_key_len = blob_len;
	rv = ksp_rv_from_md(md_construct_dh_agreement(kc->md, &ai));
	ksp_check_reset(kc, rv);
	if (rv != KSP_OK)
		goto out;
	have_agreement = true;
	dk.version = MD_DERIVE_KEY_VERSION;
	dk.kdf = MD_KDF_TRUNCATE;
	dk.secret_agreement_index = ai.secret_agreement_index;
	rv = ksp_rv_from_md(md_derive_key(kc->md, &dk));
	if (rv != KSP_OK)
		goto out;
	if (dk.derived_key_len != f) {
		rv = KSP_E_FAILED;
		goto out;
	}
	/* TRUNCATE returns the raw secret little-endian (spec/minidriver.md §4.7). */
	for (i = 0; i < f; i++)
		out[i] = dk.derived_key[f - 1 - i];
	*out_len = f;
out:
	if (have_agreement)
		md_destroy_dh_agreement(kc->md, ai.secret_agreement_index, 0);
	mdp_secure_free(dk.derived_key, dk.derived_key_len);
	free(blob);
	return rv;
}
