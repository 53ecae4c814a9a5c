/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GIDS card module: key containers (info, generation, import, deletion; spec/gids.md §8). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "blob/blob.h"
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/gids-int.h"
#include "transport/apdu.h"

/* ---- keys ---- */

/* Parse a 7F49 public key template into the blob CONTAINER_INFO carries. */
static enum md_rv
pubkey_blob(const uint8_t *p, size_t len, const struct key_desc *kd, uint8_t **blob,
	    size_t *blob_len)
{
	struct mdp_cursor t, n, e, pt;
	struct mdp_key *k = NULL;
	enum mdp_err err;
	enum md_rv rv = MD_E_COMM_DATA_LOST;

	if (tlv_find(p, len, 0x7F49, &t) != MDP_OK)
		return MD_E_COMM_DATA_LOST;
	if (MDP_KEY_SPEC_IS_RSA(kd->spec)) {
		if (tlv_find(t.p + t.pos, cur_left(&t), 0x81, &n) != MDP_OK ||
		    tlv_find(t.p + t.pos, cur_left(&t), 0x82, &e) != MDP_OK)
			goto out;
		err = blob_rsa_public_from_components(n.p + n.pos, cur_left(&n), e.p + e.pos,
						      cur_left(&e), &k);
		if (err != MDP_OK || mdp_key_bits(k) != kd->bits)
			goto out;
		err = blob_write(k, BLOB_FMT_CAPI_PUBLIC, (enum mdp_key_spec)kd->spec, blob,
				 blob_len);
	} else {
		if (tlv_find(t.p + t.pos, cur_left(&t), 0x86, &pt) != MDP_OK)
			goto out;
		err = blob_ec_public_from_point((enum mdp_key_spec)kd->spec, pt.p + pt.pos,
						cur_left(&pt), &k);
		if (err != MDP_OK)
			goto out;
		err = blob_write(k, BLOB_FMT_CNG_ECC_PUBLIC, (enum mdp_key_spec)kd->spec, blob,
				 blob_len);
	}
	rv = err == MDP_OK ? MD_OK : MD_E_COMM_DATA_LOST;
out:
	if (rv != MD_OK)
		log_warn("public key from the card does not parse: %s", mdp_err_last());
	mdp_key_free(k);
	return rv;
}

static enum md_rv
read_pubkey(struct md_card *card, uint8_t index, const struct key_desc *kd)
{
	struct gids *g = G(card);
	uint8_t req[10] = {0x70, 0x08, 0x84, 0x01, (uint8_t)(0x81 + index),
			   0xA5, 0x03, 0x7F, 0x49, 0x80};
	struct mdp_buf b;
	uint16_t sw = 0;
	enum md_rv rv;

	if (g->pub[index])
		return MD_OK;
	buf_init(&b);
	rv = gids_xfer(card, 0x00, 0xCB, 0x3F, 0xFF, req, sizeof(req), 256, &b, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		rv = (sw == 0x6A88 || sw == 0x6984 || sw == 0x6A82) ? MD_E_NO_KEY_CONTAINER
								    : gids_sw_rv(sw);
		goto out;
	}
	rv = pubkey_blob(b.data, b.len, kd, &g->pub[index], &g->pub_len[index]);
out:
	buf_free(&b);
	return rv;
}

enum md_rv
gids_get_container_info(struct md_card *card, uint8_t index, uint32_t flags,
			struct md_container_info *ci)
{
	struct gids *g = G(card);
	struct key_desc kd;
	uint8_t *copy;
	enum md_rv rv;

	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = gids_describe(card, index, &kd);
	if (rv != MD_OK)
		return rv;
	if (!kd.present)
		return MD_E_NO_KEY_CONTAINER;
	rv = read_pubkey(card, index, &kd);
	if (rv != MD_OK)
		return rv;
	copy = mdp_memdup(g->pub[index], g->pub_len[index]);
	if (!copy)
		return MD_E_NO_MEMORY;
	if (MDP_KEY_SPEC_IS_SIG_SLOT(kd.spec)) {
		ci->sig_public_key = copy;
		ci->sig_public_key_len = g->pub_len[index];
	} else {
		ci->kx_public_key = copy;
		ci->kx_public_key_len = g->pub_len[index];
	}
	return MD_OK;
}

static enum md_rv
delete_key_file(struct md_card *card, uint8_t index)
{
	uint8_t fid[2] = {0xB0, (uint8_t)(0x81 + index)};
	uint16_t sw = 0;
	enum md_rv rv;

	rv = gids_xfer(card, 0x00, 0xA4, 0x00, 0x0C, fid, 2, MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		return rv;
	/* the application stays selected in GIDS' flat model, but the key is gone either way */
	if (sw == 0x6A82)
		return MD_OK;
	if (!MDP_SW_IS_OK(sw))
		return gids_sw_rv(sw);
	rv = gids_xfer(card, 0x00, 0xE4, 0x00, 0x00, NULL, 0, MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		return rv;
	return MDP_SW_IS_OK(sw) ? MD_OK : gids_sw_rv(sw);
}

enum md_rv
gids_delete_container(struct md_card *card, uint8_t index, uint32_t reserved)
{
	struct gids *g = G(card);
	struct key_desc kd, none = {0};
	enum md_rv rv;

	/* v7: an empty or invalid index is not an error (§4.3) */
	if (index >= GIDS_MAX_CONTAINERS)
		return MD_OK;
	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = gids_describe(card, index, &kd);
	if (rv != MD_OK)
		return rv;
	rv = delete_key_file(card, index);
	if (rv != MD_OK)
		return rv;
	g->mse_valid = false;
	free(g->pub[index]);
	g->pub[index] = NULL;
	g->pub_len[index] = 0;
	if (g->keymap_valid && index < gids_keymap_count(g))
		rv = gids_keymap_update(card, index, &none, 0);
	return rv;
}

/* CREATE FILE of key file B0(81+i) with the §8.1 / §9 usage templates, then ACTIVATE. */
static enum md_rv
create_key_file(struct md_card *card, uint8_t index, const struct key_desc *kd, bool *existed)
{
	uint8_t kid = (uint8_t)(0x81 + index);
	struct mdp_buf b;
	size_t fcp, a5;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init(&b);
	fcp = buf_tlv_open(&b, 0x62);
	buf_put_tlv(&b, 0x82, "\x18", 1);
	buf_put_tlv(&b, 0x83, (uint8_t[]){0xB0, kid}, 2);
	/* generate = PIN, MSE = PIN, put key = PIN, read public = always */
	buf_put_tlv(&b, 0x8C, "\x8F\x10\x10\x10\x00", 5);
	a5 = buf_tlv_open(&b, 0xA5);
	if (kd->spec == MDP_AT_KEYEXCHANGE) {
		static const uint8_t modes[] = {0x00, 0x80, 0x40};
		size_t i;

		for (i = 0; i < 3; i++)
			buf_put_tlv(&b, 0xB8,
				    (uint8_t[]){0x80, 0x01, (uint8_t)(modes[i] | kd->alg), 0x83,
						0x01, kid, 0x95, 0x01, 0x40},
				    9);
	}
	if (MDP_KEY_SPEC_IS_RSA(kd->spec)) {
		buf_put_tlv(&b, 0xB6,
			    (uint8_t[]){0x80, 0x01, (uint8_t)(0x10 | kd->alg), 0x83, 0x01, kid,
					0x95, 0x01, 0x40},
			    9);
		buf_put_tlv(&b, 0xB6,
			    (uint8_t[]){0x80, 0x01, (uint8_t)(0x50 | kd->alg), 0x83, 0x01, kid,
					0x95, 0x01, 0x40},
			    9);
	} else if (MDP_KEY_SPEC_IS_ECDSA(kd->spec)) {
		buf_put_tlv(&b, 0xB6,
			    (uint8_t[]){0x80, 0x01, (uint8_t)(0x10 | kd->alg), 0x83, 0x01, kid,
					0x95, 0x01, 0x40},
			    9);
	} else {
		buf_put_tlv(&b, 0xA6,
			    (uint8_t[]){0x80, 0x01, kd->alg, 0x83, 0x01, kid, 0x95, 0x01, 0x40}, 9);
	}
	buf_tlv_close(&b, a5);
	buf_tlv_close(&b, fcp);
	if (b.bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	*existed = false;
	rv = gids_xfer(card, 0x00, 0xE0, 0x00, 0x00, b.data, b.len, MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		goto out;
	if (sw == 0x6A89 || sw == 0x6A80 || sw == 0x6985) {
		/* a key file is there already: CardCreateContainer overwrites (§4.2) */
		*existed = true;
		rv = delete_key_file(card, index);
		if (rv != MD_OK)
			goto out;
		rv = gids_xfer(card, 0x00, 0xE0, 0x00, 0x00, b.data, b.len, MDP_APDU_NO_LE, NULL,
			       &sw);
		if (rv != MD_OK)
			goto out;
	}
	if (!MDP_SW_IS_OK(sw)) {
		rv = gids_sw_rv(sw);
		goto out;
	}
	rv = gids_xfer(card, 0x00, 0x44, 0x00, 0x00, NULL, 0, MDP_APDU_NO_LE, NULL, &sw);
	if (rv == MD_OK && !MDP_SW_IS_OK(sw))
		rv = gids_sw_rv(sw);
out:
	buf_free(&b);
	return rv;
}

static void
put_der_int(struct mdp_buf *b, const uint8_t *p, size_t n)
{
	while (n > 1 && p[0] == 0) {
		p++;
		n--;
	}
	buf_put_tag(b, 0x02);
	if (p[0] & 0x80) {
		buf_put_len(b, n + 1);
		buf_put_u8(b, 0);
	} else {
		buf_put_len(b, n);
	}
	buf_put_bytes(b, p, n);
}

/* The key import template of §8.5 (RSA) / §9 (EC) for PUT DATA 3FFF. */
static enum md_rv
import_template(const struct mdp_key *k, uint8_t kid, struct mdp_buf *b)
{
	static const enum blob_rsa_part parts[] = {BLOB_RSA_N,	BLOB_RSA_E,   BLOB_RSA_D,
						   BLOB_RSA_P,	BLOB_RSA_Q,   BLOB_RSA_DP,
						   BLOB_RSA_DQ, BLOB_RSA_QINV};
	struct mdp_buf v;
	uint8_t *part = NULL, *der = NULL;
	size_t plen = 0, i, t70, ta5;
	int dlen = 0;
	enum md_rv rv = MD_OK;

	buf_init_secret(&v);
	if (mdp_key_type(k) == EVP_PKEY_RSA) {
		size_t seq = buf_tlv_open(&v, 0x30);

		buf_put_tlv(&v, 0x02, "\x00", 1);
		for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			if (mdp_key_rsa_component(k, parts[i], 0, &part, &plen) != MDP_OK) {
				rv = MD_E_INVALID_PARAMETER;
				goto out;
			}
			put_der_int(&v, part, plen);
			mdp_secure_free(part, plen);
			part = NULL;
		}
		buf_tlv_close(&v, seq);
	} else {
		/* RFC 5915 ECPrivateKey */
		dlen = i2d_PrivateKey(mdp_key_pkey(k), &der);
		if (dlen <= 0) {
			rv = MD_E_INVALID_PARAMETER;
			goto out;
		}
		buf_put_bytes(&v, der, (size_t)dlen);
	}
	t70 = buf_tlv_open(b, 0x70);
	buf_put_tlv(b, 0x84, &kid, 1);
	ta5 = buf_tlv_open(b, 0xA5);
	buf_put_tlv(b, 0x83, mdp_key_type(k) == EVP_PKEY_RSA ? "\x02" : "\x03", 1);
	buf_put_tlv(b, 0x84, "\x00", 1);
	buf_put_tlv(b, 0x87, v.data, v.len);
	buf_tlv_close(b, ta5);
	buf_tlv_close(b, t70);
	if (b->bad || v.bad)
		rv = MD_E_NO_MEMORY;
out:
	if (der) {
		mdp_wipe(der, (size_t)dlen);
		OPENSSL_free(der);
	}
	buf_free(&v);
	return rv;
}

/* Check an import blob against the key spec; the key it holds. */
static enum md_rv
parse_import(uint32_t spec, const uint8_t *data, size_t len, struct mdp_key **out,
	     struct key_desc *kd)
{
	struct mdp_key *k = NULL;
	enum blob_format want =
		MDP_KEY_SPEC_IS_RSA(spec) ? BLOB_FMT_CAPI_PRIVATE : BLOB_FMT_CNG_ECC_PRIVATE;

	if (blob_detect(data, len) != want || blob_parse(data, len, want, 0, &k) != MDP_OK) {
		log_info("import: not a valid %s for key spec %u: %s", blob_format_name(want),
			 (unsigned)spec, mdp_err_last());
		return MD_E_INVALID_PARAMETER;
	}
	/* CALG_RSA_KEYX for AT_KEYEXCHANGE, CALG_RSA_SIGN for AT_SIGNATURE; ECK / ECS magic and
	 * curve */
	if (mdp_key_spec(k) != (enum mdp_key_spec)spec) {
		mdp_key_free(k);
		return MD_E_INVALID_PARAMETER;
	}
	kd->present = true;
	kd->spec = spec;
	kd->bits = mdp_key_bits(k);
	kd->alg = MDP_KEY_SPEC_IS_RSA(spec) ? alg_for_rsa_bits(kd->bits) : alg_for_ec_spec(spec);
	if (!kd->alg) {
		mdp_key_free(k);
		return MD_E_INVALID_PARAMETER;
	}
	*out = k;
	return MD_OK;
}

enum md_rv
gids_create_container(struct md_card *card, uint8_t index, uint32_t flags, uint32_t spec,
		      uint32_t size, const uint8_t *data, size_t len, uint32_t pin_id)
{
	struct gids *g = G(card);
	struct key_desc kd = {0};
	struct mdp_key *k = NULL;
	struct mdp_buf b, tmpl;
	uint16_t sw = 0;
	bool existed = false;
	enum md_rv rv;

	buf_init(&b);
	buf_init_secret(&tmpl);
	/* one PIN on GIDS: keys are bound to the user PIN */
	if (pin_id != MD_ROLE_USER) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	if (index >= GIDS_MAX_CONTAINERS) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	if (flags == MD_CREATE_KEY_IMPORT) {
		rv = parse_import(spec, data, len, &k, &kd);
		if (rv != MD_OK)
			goto out;
	} else {
		kd.present = true;
		kd.spec = spec;
		if (MDP_KEY_SPEC_IS_RSA(spec)) {
			kd.alg = alg_for_rsa_bits(size);
			if (!kd.alg) {
				rv = MD_E_INVALID_PARAMETER;
				goto out;
			}
		} else {
			kd.alg = alg_for_ec_spec(spec);
		}
		kd.bits = bits_for_alg(kd.alg);
	}
	rv = gids_sync(card);
	if (rv != MD_OK)
		goto out;
	rv = create_key_file(card, index, &kd, &existed);
	if (rv != MD_OK)
		goto out;
	g->mse_valid = false;
	free(g->pub[index]);
	g->pub[index] = NULL;
	g->pub_len[index] = 0;
	if (flags == MD_CREATE_KEY_GEN) {
		uint8_t gen[8] = {0xAC,	  0x06, 0x80, 0x01,
				  kd.alg, 0x83, 0x01, (uint8_t)(0x81 + index)};

		/* with Le the card answers the public key at once (§8.3) */
		rv = gids_xfer(card, 0x00, 0x47, 0x00, 0x00, gen, sizeof(gen), 256, &b, &sw);
		if (rv != MD_OK)
			goto out;
		if (!MDP_SW_IS_OK(sw)) {
			rv = gids_sw_rv(sw);
			goto out;
		}
		if (b.len) {
			rv = pubkey_blob(b.data, b.len, &kd, &g->pub[index], &g->pub_len[index]);
			if (rv != MD_OK)
				goto out;
		}
	} else {
		rv = import_template(k, (uint8_t)(0x81 + index), &tmpl);
		if (rv != MD_OK)
			goto out;
		rv = gids_xfer(card, 0x00, 0xDB, 0x3F, 0xFF, tmpl.data, tmpl.len, MDP_APDU_NO_LE,
			       NULL, &sw);
		if (rv != MD_OK)
			goto out;
		if (!MDP_SW_IS_OK(sw)) {
			rv = sw == 0x6A80 ? MD_E_INVALID_PARAMETER : gids_sw_rv(sw);
			goto out;
		}
		if (blob_write(k,
			       MDP_KEY_SPEC_IS_RSA(spec) ? BLOB_FMT_CAPI_PUBLIC
							 : BLOB_FMT_CNG_ECC_PUBLIC,
			       (enum mdp_key_spec)spec, &g->pub[index],
			       &g->pub_len[index]) != MDP_OK) {
			rv = MD_E_UNEXPECTED;
			goto out;
		}
	}
	rv = gids_keymap_update(card, index, &kd, 0);
out:
	if (rv != MD_OK && kd.present && index < GIDS_MAX_CONTAINERS) {
		free(g->pub[index]);
		g->pub[index] = NULL;
		g->pub_len[index] = 0;
	}
	mdp_key_free(k);
	buf_free(&b);
	buf_free(&tmpl);
	return rv;
}
