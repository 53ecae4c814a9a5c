/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GIDS card module (spec/gids.md): its state, APDU helpers, context, properties, operation
 * table. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/gids-int.h"
#include "transport/apdu.h"

/* ---- constants (spec/gids.md §2) ---- */

static const uint8_t gids_aid[] = {0xA0, 0x00, 0x00, 0x03, 0x97, 0x42, 0x54, 0x46, 0x59};

/* ---- module state ---- */

static void
drop_pubkeys(struct gids *g)
{
	size_t i;

	for (i = 0; i < GIDS_MAX_CONTAINERS; i++) {
		free(g->pub[i]);
		g->pub[i] = NULL;
		g->pub_len[i] = 0;
	}
}

void
gids_drop_file_caches(struct gids *g)
{
	free(g->mf);
	g->mf = NULL;
	g->mf_len = 0;
	g->mf_valid = false;
	free(g->cmap);
	g->cmap = NULL;
	g->cmap_len = 0;
	g->cmap_valid = false;
}

void
gids_drop_container_caches(struct gids *g)
{
	free(g->keymap);
	g->keymap = NULL;
	g->keymap_len = 0;
	g->keymap_valid = false;
	g->keymap_absent = false;
	drop_pubkeys(g);
	free(g->cmap);
	g->cmap = NULL;
	g->cmap_len = 0;
	g->cmap_valid = false;
}

void
gids_wipe_challenge(struct gids *g)
{
	mdp_wipe(g->challenge, sizeof(g->challenge));
	g->challenge_valid = false;
}

/* ---- APDU helpers ---- */

/* Map a status word to a result (operations refine where the spec asks). */
enum md_rv
gids_sw_rv(uint16_t sw)
{
	if (MDP_SW_IS_OK(sw))
		return MD_OK;
	if ((sw & 0xFFF0) == 0x63C0)
		return MD_W_WRONG_CHV;
	switch (sw) {
	case 0x6982:
		return MD_W_SECURITY_VIOLATION;
	case 0x6983:
		return MD_W_CHV_BLOCKED;
	case 0x6A82:
		return MD_E_FILE_NOT_FOUND;
	case 0x6A88:
	case 0x6984:
		return MD_E_NO_KEY_CONTAINER;
	case 0x6A84:
	case 0x6581:
		return MD_E_WRITE_TOO_MANY;
	case 0x6A81:
	case 0x6D00:
	case 0x6884:
		return MD_E_UNSUPPORTED_FEATURE;
	case 0x6A80:
	case 0x6700:
	case 0x6A86:
		return MD_E_INVALID_PARAMETER;
	default:
		return MD_E_UNEXPECTED;
	}
}

/*
 * One command: resp (may be NULL) receives the data. Transport events end
 * the operation; a reset also forgets the card session.
 */
enum md_rv
gids_xfer(struct md_card *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
	  const uint8_t *data, size_t lc, int le, struct mdp_buf *resp, uint16_t *sw)
{
	struct mdp_apdu a = {.cla = cla,
			     .ins = ins,
			     .p1 = p1,
			     .p2 = p2,
			     .data = data,
			     .lc = lc,
			     .le = le,
			     .chain = lc > 255};
	enum mdp_err e;

	e = md_card_exchange(card, &a, resp, sw);
	if (e != MDP_OK) {
		if (e == MDP_ERR_CARD_RESET) {
			G(card)->selected = false;
			G(card)->authenticated = 0;
			G(card)->mse_valid = false;
			gids_wipe_challenge(G(card));
		}
		log_debug("exchange: %s", mdp_err_last());
		return md_rv_from_err(e);
	}
	return MD_OK;
}

static enum md_rv
select_app(struct md_card *card, bool fci, struct mdp_buf *out)
{
	uint16_t sw = 0;
	enum md_rv rv;

	rv = gids_xfer(card, 0x00, 0xA4, 0x04, fci ? 0x00 : 0x0C, gids_aid, sizeof(gids_aid),
		       fci ? 256 : MDP_APDU_NO_LE, out, &sw);
	if (rv != MD_OK)
		return rv;
	if (!MDP_SW_IS_OK(sw))
		return MD_E_UNKNOWN_CARD;
	G(card)->selected = true;
	return MD_OK;
}

/*
 * Called first by every operation: catch up with resets the host saw
 * (security state and selection are gone) and select the application.
 */
enum md_rv
gids_sync(struct md_card *card)
{
	struct gids *g = G(card);

	if (card->resets != g->resets_seen) {
		g->resets_seen = card->resets;
		g->selected = false;
		g->authenticated = 0;
		g->mse_valid = false;
		gids_wipe_challenge(g);
	}
	if (g->selected)
		return MD_OK;
	return select_app(card, false, NULL);
}

/* GET DATA of a DO in an EF; *present false when the DO does not exist (6A88). */
enum md_rv
gids_get_do(struct md_card *card, uint16_t fid, uint16_t tag, struct mdp_buf *value, bool *present)
{
	uint8_t req[4] = {0x5C, 0x02, (uint8_t)(tag >> 8), (uint8_t)tag};
	struct mdp_buf b;
	struct mdp_cursor v;
	uint16_t sw = 0;
	enum md_rv rv;
	enum mdp_err e;

	buf_init(&b);
	*present = false;
	rv = gids_xfer(card, 0x00, 0xCB, (uint8_t)(fid >> 8), (uint8_t)fid, req, sizeof(req), 256,
		       &b, &sw);
	if (rv != MD_OK)
		goto out;
	if (sw == 0x6A88) {
		rv = MD_OK;
		goto out;
	}
	if (sw == 0x6A82) {
		rv = MD_E_FILE_NOT_FOUND;
		goto out;
	}
	if (!MDP_SW_IS_OK(sw)) {
		rv = gids_sw_rv(sw);
		goto out;
	}
	/* the answer is the TLV of the requested DO */
	e = tlv_find(b.data, b.len, tag, &v);
	if (e != MDP_OK) {
		log_debug("GET DATA %04X/%04X: malformed answer", fid, tag);
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	buf_put_bytes(value, v.p + v.pos, cur_left(&v));
	if (value->bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	*present = true;
out:
	buf_free(&b);
	return rv;
}

enum md_rv
gids_put_do(struct md_card *card, uint16_t fid, uint16_t tag, const uint8_t *data, size_t len)
{
	struct mdp_buf b;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init(&b);
	buf_put_tlv(&b, tag, data, len);
	if (b.bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = gids_xfer(card, 0x00, 0xDB, (uint8_t)(fid >> 8), (uint8_t)fid, b.data, b.len,
		       MDP_APDU_NO_LE, NULL, &sw);
	if (rv == MD_OK && !MDP_SW_IS_OK(sw))
		rv = sw == 0x6A82 ? MD_E_FILE_NOT_FOUND : gids_sw_rv(sw);
out:
	buf_free(&b);
	return rv;
}

/* ---- operations: context ---- */

static enum md_rv
gids_delete_context(struct md_card *card)
{
	struct gids *g = G(card);

	if (!g)
		return MD_OK;
	gids_drop_file_caches(g);
	gids_drop_container_caches(g);
	md_agreement_clear(&g->agreements);
	mdp_secure_free(g, sizeof(*g));
	card->module = NULL;
	return MD_OK;
}

static enum md_rv
gids_query_capabilities(struct md_card *card, struct md_capabilities *caps)
{
	caps->certificate_compression = 1;
	caps->key_gen = 1;
	return MD_OK;
}

static enum md_rv
gids_query_key_sizes(struct md_card *card, uint32_t key_spec, uint32_t flags,
		     struct md_key_sizes *ks)
{
	if (MDP_KEY_SPEC_IS_RSA(key_spec)) {
		ks->minimum = 1024;
		ks->default_bits = 2048;
		ks->maximum = 4096;
		ks->increment = 1024;
	} else {
		unsigned bits = bits_for_alg(alg_for_ec_spec(key_spec));

		ks->minimum = ks->default_bits = ks->maximum = bits;
		ks->increment = 1;
	}
	return MD_OK;
}

static enum md_rv
gids_query_free_space(struct md_card *card, uint32_t flags, struct md_free_space *fs)
{
	struct gids *g = G(card);
	size_t used = 0, i;
	enum md_rv rv;

	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = gids_load_cmap(card);
	if (rv != MD_OK)
		return rv;
	for (i = 0; (i + 1) * GIDS_CMAP_RECORD <= g->cmap_len; i++)
		if (g->cmap[i * GIDS_CMAP_RECORD + 80] & 0x01)
			used++;
	fs->bytes_available = MD_VALUE_UNKNOWN; /* GIDS cannot tell */
	fs->max_containers = GIDS_MAX_CONTAINERS;
	fs->containers_available =
		(uint32_t)(GIDS_MAX_CONTAINERS -
			   (used < GIDS_MAX_CONTAINERS ? used : GIDS_MAX_CONTAINERS));
	return MD_OK;
}

/* ---- properties (§4.11) ---- */

static enum md_rv
load_cardid(struct md_card *card)
{
	struct gids *g = G(card);
	uint8_t *p = NULL;
	size_t n = 0;
	enum md_rv rv;

	if (g->cardid_len)
		return MD_OK;
	rv = gids_read_file(card, NULL, "cardid", 0, &p, &n);
	if (rv == MD_OK && (n == 0 || n > sizeof(g->cardid)))
		rv = MD_E_COMM_DATA_LOST;
	free(p);
	return rv;
}

static void
pin_info_of(uint32_t id, struct md_pin_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->version = MD_PIN_INFO_VERSION;
	pi->cache_policy.version = MD_PIN_INFO_VERSION;
	pi->cache_policy.type = MD_PIN_CACHE_NORMAL;
	if (id == MD_ROLE_USER) {
		pi->pin_type = MD_PIN_ALPHANUMERIC;
		pi->purpose = MD_PURPOSE_PRIMARY_CARD;
		pi->change_permission = MD_PIN_SET(MD_ROLE_USER);
		pi->unblock_permission = MD_PIN_SET(MD_ROLE_ADMIN);
	} else {
		pi->pin_type = MD_PIN_CHALLENGE_RESPONSE;
		pi->purpose = MD_PURPOSE_ADMINISTRATOR;
		pi->change_permission = MD_PIN_SET(MD_ROLE_ADMIN);
		pi->unblock_permission = 0;
	}
}

static enum md_rv
gids_get_property(struct md_card *card, const char *name, void *data, size_t cap, size_t *len,
		  uint32_t flags)
{
	struct gids *g = G(card);
	uint32_t v;
	enum md_rv rv;
	bool done = false;

	rv = md_prop_common(card, name, data, cap, len, flags, &done);
	if (done)
		return rv;
	if (strcmp(name, MD_CP_CARD_READ_ONLY) == 0) {
		v = 0;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_CACHE_MODE) == 0) {
		/* the host keeps cardcf current, so a global cache is safe */
		v = MD_CP_CACHE_MODE_GLOBAL_CACHE;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_SUPPORTS_WIN_X509_ENROLLMENT) == 0) {
		v = 1;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_GUID) == 0 || strcmp(name, MD_CP_CARD_SERIAL_NO) == 0) {
		rv = gids_sync(card);
		if (rv == MD_OK)
			rv = load_cardid(card);
		return rv == MD_OK ? md_prop_out(g->cardid, g->cardid_len, data, cap, len) : rv;
	}
	if (strcmp(name, MD_CP_CARD_PIN_INFO) == 0) {
		struct md_pin_info pi;

		if (flags != MD_ROLE_USER && flags != MD_ROLE_ADMIN)
			return MD_E_INVALID_PARAMETER;
		if (data && cap >= sizeof(uint32_t)) {
			uint32_t want;

			memcpy(&want, data, sizeof(want));
			if (want != 0 && want != MD_PIN_INFO_VERSION)
				return MD_ERROR_REVISION_MISMATCH;
		}
		pin_info_of(flags, &pi);
		return md_prop_out(&pi, sizeof(pi), data, cap, len);
	}
	if (strcmp(name, MD_CP_MDP11_PIN_TRIES) == 0) {
		struct md_pin_tries pt;

		if (flags != MD_ROLE_USER)
			return MD_E_INVALID_PARAMETER; /* the admin key has no counter to read */
		rv = gids_pin_tries(card, &pt);
		return rv == MD_OK ? md_prop_out(&pt, sizeof(pt), data, cap, len) : rv;
	}
	if (strcmp(name, MD_CP_CARD_LIST_PINS) == 0) {
		v = MD_PIN_SET(MD_ROLE_USER) | MD_PIN_SET(MD_ROLE_ADMIN);
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_AUTHENTICATED_STATE) == 0) {
		if (card->resets != g->resets_seen)
			g->authenticated = 0;
		v = g->authenticated;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_PIN_STRENGTH_VERIFY) == 0 ||
	    strcmp(name, MD_CP_CARD_PIN_STRENGTH_CHANGE) == 0 ||
	    strcmp(name, MD_CP_CARD_PIN_STRENGTH_UNBLOCK) == 0) {
		if (flags != MD_ROLE_USER && flags != MD_ROLE_ADMIN)
			return MD_E_INVALID_PARAMETER;
		v = MD_PIN_STRENGTH_PLAINTEXT;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_KEY_IMPORT_SUPPORT) == 0) {
		/* plain-text key pairs through create_container(KEY_IMPORT); no secure key
		 * injection */
		v = MD_KEY_IMPORT_PLAIN_TEXT;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	return MD_E_INVALID_PARAMETER;
}

static enum md_rv
gids_get_container_property(struct md_card *card, uint8_t index, const char *name, void *data,
			    size_t cap, size_t *len, uint32_t flags)
{
	struct key_desc kd;
	enum md_rv rv;

	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = gids_describe(card, index, &kd);
	if (rv != MD_OK)
		return rv;
	if (!kd.present)
		return MD_E_NO_KEY_CONTAINER;
	if (strcmp(name, MD_CCP_CONTAINER_INFO) == 0) {
		struct md_container_info ci = {.version = MD_CONTAINER_INFO_VERSION};

		*len = sizeof(ci);
		if (!data || cap < sizeof(ci))
			return MD_ERROR_INSUFFICIENT_BUFFER;
		rv = gids_get_container_info(card, index, 0, &ci);
		if (rv != MD_OK)
			return rv;
		memcpy(data, &ci, sizeof(ci));
		return MD_OK;
	}
	if (strcmp(name, MD_CCP_PIN_IDENTIFIER) == 0) {
		uint32_t v = MD_ROLE_USER;

		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CCP_ASSOCIATED_ECDH_KEY) == 0)
		return MD_E_UNSUPPORTED_FEATURE; /* GIDS has nowhere to store the pairing */
	return MD_E_INVALID_PARAMETER;
}

static enum md_rv
gids_set_container_property(struct md_card *card, uint8_t index, const char *name, const void *data,
			    size_t len, uint32_t flags)
{
	struct key_desc kd;
	enum md_rv rv;
	uint32_t v;

	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = gids_describe(card, index, &kd);
	if (rv != MD_OK)
		return rv;
	if (!kd.present)
		return MD_E_NO_KEY_CONTAINER;
	if (strcmp(name, MD_CCP_PIN_IDENTIFIER) == 0) {
		if (len != sizeof(v))
			return MD_E_INVALID_PARAMETER;
		memcpy(&v, data, sizeof(v));
		/* every GIDS key is bound to the one user PIN */
		return v == MD_ROLE_USER ? MD_OK : MD_E_INVALID_PARAMETER;
	}
	if (strcmp(name, MD_CCP_CONTAINER_INFO) == 0)
		return MD_E_INVALID_PARAMETER; /* read-only */
	if (strcmp(name, MD_CCP_ASSOCIATED_ECDH_KEY) == 0)
		return MD_E_UNSUPPORTED_FEATURE;
	return MD_E_INVALID_PARAMETER;
}

static const struct md_card_ops gids_ops = {
	.delete_context = gids_delete_context,
	.query_capabilities = gids_query_capabilities,
	.delete_container = gids_delete_container,
	.create_container = gids_create_container,
	.get_container_info = gids_get_container_info,
	.authenticate_ex = gids_authenticate_ex,
	.get_challenge_ex = gids_get_challenge_ex,
	.deauthenticate_ex = gids_deauthenticate_ex,
	.change_authenticator_ex = gids_change_authenticator_ex,
	.create_directory = gids_create_directory,
	.delete_directory = gids_delete_directory,
	.create_file = gids_create_file,
	.read_file = gids_read_file,
	.write_file = gids_write_file,
	.delete_file = gids_delete_file,
	.enum_files = gids_enum_files,
	.get_file_info = gids_get_file_info,
	.query_free_space = gids_query_free_space,
	.query_key_sizes = gids_query_key_sizes,
	.sign_data = gids_sign_data,
	.rsa_decrypt = gids_rsa_decrypt,
	.construct_dh_agreement = gids_construct_dh_agreement,
	.derive_key = gids_derive_key,
	.destroy_dh_agreement = gids_destroy_dh_agreement,
	.get_property = gids_get_property,
	.set_property = md_set_prop_ui_hints,
	.get_container_property = gids_get_container_property,
	.set_container_property = gids_set_container_property,
};

/* CardAcquireContext for GIDS: identified by SELECT of the GIDS AID (§4.2), one APDU. */
enum md_rv
md_gids_acquire(struct md_card *card, unsigned flags)
{
	struct gids *g = NULL;
	enum md_rv rv;

	rv = md_negotiate_version(card, MD_CARD_DATA_VERSION_FOUR, MD_CARD_DATA_CURRENT_VERSION);
	if (rv != MD_OK)
		return rv;
	g = mdp_zalloc(sizeof(*g));
	if (!g)
		return MD_E_NO_MEMORY;
	card->module = g;
	g->resets_seen = card->resets;
	rv = select_app(card, true, NULL);
	if (rv != MD_OK) {
		card->module = NULL;
		mdp_secure_free(g, sizeof(*g));
		return rv;
	}
	card->ops = &gids_ops;
	return MD_OK;
}
