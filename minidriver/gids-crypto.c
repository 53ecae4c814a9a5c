/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GIDS card module: private-key operations (sign, decrypt, ECDH; spec/gids.md §8, §9). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "blob/blob.h"
#include "common/log.h"
#include "common/hash.h"
#include "common/pad.h"
#include "common/secmem.h"
#include "minidriver/gids-int.h"
#include "transport/apdu.h"

/* ---- private key operations ---- */

/* The key of (index, spec) for an operation, or NO_KEY_CONTAINER. */
static enum md_rv
key_for(struct md_card *card, uint8_t index, uint32_t spec, struct key_desc *kd)
{
	enum md_rv rv;

	rv = gids_describe(card, index, kd);
	if (rv != MD_OK)
		return rv;
	if (!kd->present)
		return MD_E_NO_KEY_CONTAINER;
	if (MDP_KEY_SPEC_IS_RSA(spec) && MDP_KEY_SPEC_IS_RSA(kd->spec)) {
		/* an exchange key may sign; a signature key answers only for AT_SIGNATURE */
		if (spec == MDP_AT_SIGNATURE && kd->spec != MDP_AT_SIGNATURE)
			return MD_E_NO_KEY_CONTAINER;
		if (spec == MDP_AT_KEYEXCHANGE && kd->spec != MDP_AT_KEYEXCHANGE)
			return MD_E_NO_KEY_CONTAINER;
		return MD_OK;
	}
	return spec == kd->spec ? MD_OK : MD_E_NO_KEY_CONTAINER;
}

/* MSE SET, skipped when the same key and algorithm are still set in this card session. */
static enum md_rv
mse(struct md_card *card, uint8_t crt, uint8_t alg, uint8_t kid)
{
	struct gids *g = G(card);
	uint8_t d[6] = {0x80, 0x01, alg, 0x84, 0x01, kid};
	uint16_t sw = 0;
	enum md_rv rv;

	if (g->mse_valid && g->mse_crt == crt && g->mse_alg == alg && g->mse_kid == kid)
		return MD_OK;
	g->mse_valid = false;
	rv = gids_xfer(card, 0x00, 0x22, 0x41, crt, d, sizeof(d), MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		return rv;
	if (!MDP_SW_IS_OK(sw))
		return gids_sw_rv(sw);
	g->mse_valid = true;
	g->mse_crt = crt;
	g->mse_alg = alg;
	g->mse_kid = kid;
	return MD_OK;
}

enum md_rv
gids_sign_data(struct md_card *card, struct md_signing_info *si)
{
	struct key_desc kd;
	struct mdp_buf in, sig;
	const uint8_t *prefix = NULL;
	size_t plen = 0, k, i;
	uint8_t alg, *block = NULL;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init_secret(&in);
	buf_init(&sig);
	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = key_for(card, si->container_index, si->key_spec, &kd);
	if (rv != MD_OK)
		goto out;
	k = MDP_KEY_SPEC_IS_RSA(kd.spec) ? kd.bits / 8 : 2 * ec_field_len(kd.bits);
	if (si->flags & MD_BUFFER_SIZE_ONLY) {
		si->signature_len = k;
		goto out;
	}
	if (MDP_KEY_SPEC_IS_EC(kd.spec)) {
		alg = (uint8_t)(0x10 | kd.alg);
		buf_put_bytes(&in, si->data, si->data_len);
	} else {
		uint32_t pad =
			(si->flags & MD_PADDING_INFO_PRESENT) ? si->padding_type : MD_PADDING_PKCS1;

		if (pad == MD_PADDING_PKCS1) {
			/* The card pads (alg 0x50); the host sends DigestInfo || digest (§4.5). */
			enum mdp_hash h = MDP_HASH_NONE;
			const struct mdp_hash_info *hi;

			alg = (uint8_t)(0x50 | kd.alg);
			if (si->flags & MD_PADDING_INFO_PRESENT) {
				const char *name =
					si->padding_info ? si->padding_info->alg_id : NULL;

				if (name && (h = mdp_hash_by_name(name)) == MDP_HASH_NONE) {
					rv = MD_E_UNSUPPORTED_FEATURE;
					goto out;
				}
			} else if (si->hash_alg &&
				   (h = mdp_hash_by_calg(si->hash_alg)) == MDP_HASH_NONE) {
				rv = MD_E_UNSUPPORTED_FEATURE;
				goto out;
			}
			hi = mdp_hash_get(h);
			if (hi) {
				prefix = hi->prefix;
				plen = hi->prefix_len;
				if (si->data_len != hi->len) {
					rv = MD_E_INVALID_PARAMETER;
					goto out;
				}
			}
			if (plen + si->data_len > k - 11) {
				rv = MD_E_INSUFFICIENT_BUFFER;
				goto out;
			}
			buf_put_bytes(&in, prefix, plen);
			buf_put_bytes(&in, si->data, si->data_len);
		} else if (pad == MD_PADDING_PSS) {
			enum mdp_hash h = mdp_hash_by_name(si->padding_info->alg_id);
			enum mdp_err err;

			alg = (uint8_t)(0x10 | kd.alg);
			if (!mdp_hash_md(h)) {
				rv = MD_E_UNSUPPORTED_FEATURE;
				goto out;
			}
			block = malloc(k);
			if (!block) {
				rv = MD_E_NO_MEMORY;
				goto out;
			}
			/* The card signs raw (alg 0x10); EMSA-PSS with MGF1 over the same hash. */
			err = mdp_pad_pss(h, h, si->data, si->data_len, si->padding_info->salt_len,
					  kd.bits, block, k);
			if (err != MDP_OK) {
				rv = err == MDP_ERR_CRYPTO ? MD_E_UNEXPECTED
							   : MD_E_INVALID_PARAMETER;
				goto out;
			}
			buf_put_bytes(&in, block, k);
		} else {
			/* raw: the caller's block, left-padded to the modulus length */
			alg = (uint8_t)(0x10 | kd.alg);
			if (si->data_len > k) {
				rv = MD_E_INSUFFICIENT_BUFFER;
				goto out;
			}
			buf_put_zeros(&in, k - si->data_len);
			buf_put_bytes(&in, si->data, si->data_len);
		}
	}
	if (in.bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = mse(card, 0xB6, alg, (uint8_t)(0x81 + si->container_index));
	if (rv != MD_OK)
		goto out;
	rv = gids_xfer(card, 0x00, 0x2A, 0x9E, 0x9A, in.data, in.len, 256, &sig, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		if (sw == 0x6982)
			G(card)->mse_valid = false;
		rv = gids_sw_rv(sw);
		goto out;
	}
	if (sig.len != k) {
		log_warn("signature of %zu bytes, expected %zu", sig.len, k);
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	/* RSA signatures go back little-endian (CAPI); ECDSA r || s as is (§4.5) */
	if (MDP_KEY_SPEC_IS_RSA(kd.spec))
		mdp_reverse(sig.data, sig.len);
	si->signature_len = sig.len;
	si->signature = buf_steal(&sig, &si->signature_len);
	if (!si->signature)
		rv = MD_E_NO_MEMORY;
out:
	if (block)
		mdp_secure_free(block, k);
	(void)i;
	buf_free(&in);
	buf_free(&sig);
	return rv;
}

enum md_rv
gids_rsa_decrypt(struct md_card *card, struct md_rsa_decrypt_info *di)
{
	struct key_desc kd;
	struct mdp_buf out;
	uint8_t *ct = NULL, *plain = NULL;
	size_t k = 0, off = 0, mlen = 0;
	uint8_t alg;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init_secret(&out);
	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = key_for(card, di->container_index, di->key_spec, &kd);
	if (rv != MD_OK)
		goto out;
	if (kd.spec != MDP_AT_KEYEXCHANGE) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	k = kd.bits / 8;
	if (di->data_len < k) {
		rv = MD_E_INSUFFICIENT_BUFFER;
		goto out;
	}
	if (di->data_len > k) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	if (di->padding_type == MD_PADDING_OAEP &&
	    (!di->padding_info ||
	     !mdp_hash_md(mdp_hash_by_name(di->padding_info->alg_id ? di->padding_info->alg_id
								    : "SHA1")))) {
		rv = di->padding_info ? MD_E_UNSUPPORTED_FEATURE : MD_E_INVALID_PARAMETER;
		goto out;
	}
	ct = malloc(k);
	if (!ct) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	/* little-endian in (§4.6) */
	for (off = 0; off < k; off++)
		ct[off] = di->data[k - 1 - off];
	alg = (uint8_t)((di->padding_type == MD_PADDING_PKCS1 ? 0x40 : 0x00) | kd.alg);
	rv = mse(card, 0xB8, alg, (uint8_t)(0x81 + di->container_index));
	if (rv != MD_OK)
		goto out;
	rv = gids_xfer(card, 0x00, 0x2A, 0x80, 0x86, ct, k, 256, &out, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		if (sw == 0x6982)
			G(card)->mse_valid = false;
		rv = sw == 0x6A80 ? MD_E_INVALID_PARAMETER : gids_sw_rv(sw);
		goto out;
	}
	off = 0;
	mlen = out.len;
	if (di->padding_type == MD_PADDING_PKCS1) {
		if (out.len > k - 11) {
			rv = MD_E_COMM_DATA_LOST;
			goto out;
		}
	} else {
		if (out.len != k) {
			rv = MD_E_COMM_DATA_LOST;
			goto out;
		}
		if (di->padding_type == MD_PADDING_OAEP) {
			const struct md_padding_info *pi = di->padding_info;
			enum mdp_hash h = mdp_hash_by_name(pi->alg_id ? pi->alg_id : "SHA1");

			/* The card decrypts raw (alg 0x00); constant-time unpadding (common/pad.h).
			 */
			plain = mdp_zalloc(k);
			if (!plain) {
				rv = MD_E_NO_MEMORY;
				goto out;
			}
			if (mdp_unpad_oaep(h, h, pi->label, pi->label_len, out.data, k, plain, k,
					   &mlen) != MDP_OK) {
				rv = MD_E_INVALID_PARAMETER;
				goto out;
			}
			memcpy(out.data, plain, mlen);
		}
	}
	/* result little-endian, in place */
	mdp_wipe(di->data, di->data_len);
	for (size_t i = 0; i < mlen; i++)
		di->data[i] = out.data[off + mlen - 1 - i];
	di->data_len = mlen;
out:
	if (ct)
		mdp_secure_free(ct, k);
	if (plain)
		mdp_secure_free(plain, k);
	buf_free(&out);
	return rv;
}

/* ---- ECDH (§9) ---- */

enum md_rv
gids_construct_dh_agreement(struct md_card *card, struct md_dh_agreement_info *ai)
{
	struct gids *g = G(card);
	struct key_desc kd;
	struct mdp_key *peer = NULL;
	uint8_t *point = NULL;
	size_t plen = 0;
	struct mdp_buf cmd, resp;
	struct mdp_cursor t, s;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init(&cmd);
	buf_init_secret(&resp);
	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = gids_describe(card, ai->container_index, &kd);
	if (rv != MD_OK)
		goto out;
	if (!kd.present || !MDP_KEY_SPEC_IS_ECDH(kd.spec)) {
		rv = MD_E_NO_KEY_CONTAINER;
		goto out;
	}
	if (blob_detect(ai->public_key, ai->public_key_len) != BLOB_FMT_CNG_ECC_PUBLIC ||
	    blob_parse(ai->public_key, ai->public_key_len, BLOB_FMT_CNG_ECC_PUBLIC, 0, &peer) !=
		    MDP_OK ||
	    mdp_key_spec(peer) != (enum mdp_key_spec)kd.spec ||
	    mdp_key_ec_point(peer, &point, &plen) != MDP_OK) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	if (!md_agreement_room(&g->agreements)) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = mse(card, 0xA6, kd.alg, (uint8_t)(0x81 + ai->container_index));
	if (rv != MD_OK)
		goto out;
	{
		size_t t7c = buf_tlv_open(&cmd, 0x7C);

		buf_put_tlv(&cmd, 0x85, point, plen);
		buf_tlv_close(&cmd, t7c);
	}
	if (cmd.bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = gids_xfer(card, 0x00, 0x87, 0x00, 0x00, cmd.data, cmd.len, 256, &resp, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		rv = sw == 0x6A80 ? MD_E_INVALID_PARAMETER : gids_sw_rv(sw);
		goto out;
	}
	if (tlv_find(resp.data, resp.len, 0x7C, &t) != MDP_OK ||
	    tlv_find(t.p + t.pos, cur_left(&t), 0x82, &s) != MDP_OK ||
	    cur_left(&s) != ec_field_len(kd.bits)) {
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	rv = md_agreement_add(&g->agreements, s.p + s.pos, cur_left(&s),
			      &ai->secret_agreement_index);
out:
	free(point);
	mdp_key_free(peer);
	buf_free(&cmd);
	buf_free(&resp);
	return rv;
}

enum md_rv
gids_derive_key(struct md_card *card, struct md_derive_key *dk)
{
	return md_agreement_derive(&G(card)->agreements, dk);
}

enum md_rv
gids_destroy_dh_agreement(struct md_card *card, uint8_t index, uint32_t flags)
{
	return md_agreement_destroy(&G(card)->agreements, index);
}
