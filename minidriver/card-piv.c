/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PIV card module: identification, APDUs, identity and freshness, PINs, management key. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "blob/blob.h"
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/card-piv.h"
#include "transport/apdu.h"

/* ---- constants (shared/spec/piv.md §2.1, §3) ---- */

/* OpenSC's 9-byte form of the PIV AID; cards accept any prefix of 5 bytes or more. */
static const uint8_t piv_aid[] = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00};

/*
 * ATRs of PIV cards: YubiKey NEO, 4 and 5 (§3). Their historical bytes spell "Yubikey" /
 * "YubiKey"; any ATR whose historical bytes contain that word (either case) counts, which also
 * covers the virtual PIV card (it presents the YubiKey 5 ATR).
 */
bool
md_piv_atr_known(const uint8_t *atr, size_t len)
{
	static const char word[] = "ubikey";
	size_t i, j;

	for (i = 0; i + 6 <= len; i++) {
		for (j = 0; j < 6; j++) {
			uint8_t c = atr[i + j];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			if (c != (uint8_t)word[j])
				break;
		}
		if (j == 6)
			return true;
	}
	return false;
}

enum md_rv
piv_refuse(enum md_rv rv, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mdp_err_reason(MDP_ERR_UNSUPPORTED, "%s", msg);
	log_info("PIV: %s", msg);
	return rv;
}

/* ---- APDUs ---- */

enum md_rv
piv_sw_rv(uint16_t sw)
{
	if (MDP_SW_IS_OK(sw))
		return MD_OK;
	if ((sw & 0xFFF0) == 0x63C0)
		return (sw & 0x0F) ? MD_W_WRONG_CHV : MD_W_CHV_BLOCKED;
	switch (sw) {
	case 0x6982:
		return MD_W_SECURITY_VIOLATION;
	case 0x6983:
		return MD_W_CHV_BLOCKED;
	case 0x6985:
		return MD_E_INVALID_CHV; /* a new PIN/PUK of the wrong length or form (§4.5) */
	case 0x6A82:
		return MD_E_FILE_NOT_FOUND;
	case 0x6A88:
		return MD_E_NO_KEY_CONTAINER;
	case 0x6A84:
	case 0x6581:
		return MD_E_WRITE_TOO_MANY;
	case 0x6D00:
	case 0x6E00:
	case 0x6A81:
		return MD_E_UNSUPPORTED_FEATURE;
	case 0x6A80:
	case 0x6A86:
	case 0x6700:
	case 0x6B00:
		return MD_E_INVALID_PARAMETER;
	default:
		return MD_E_UNEXPECTED;
	}
}

/* What a reset takes away: the card session's security state and selection. */
static void
forget_session(struct piv *p)
{
	p->selected = false;
	p->authenticated = 0;
	mdp_wipe(p->oneshot_pin, sizeof(p->oneshot_pin));
	p->oneshot_valid = false;
	p->chuid_valid = false;
	p->challenge_alg = 0;
	p->default_key_failed = false;
}

/* May this command go as one extended APDU? */
static bool
use_extended(struct piv *p, size_t lc, int le)
{
	if (p->ext_off || (lc <= 255 && le <= 256))
		return false;
	/* Yubico's SDK sends extended APDUs from firmware 4.0.0 on */
	return p->ext_atr || (p->yubikey_atr && p->have_version && p->version[0] >= 4);
}

enum md_rv
piv_xfer(struct md_card *card, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t lc,
	 int le, struct mdp_buf *resp, uint16_t *sw)
{
	struct piv *p = piv_of(card);
	bool ext = use_extended(p, lc, le);
	struct mdp_apdu a = {.cla = 0x00,
			     .ins = ins,
			     .p1 = p1,
			     .p2 = p2,
			     .data = data,
			     .lc = lc,
			     .le = le > 256 && !ext ? 256 : le,
			     .chain = lc > 255 && !ext,
			     .extended = ext};
	size_t had = resp ? resp->len : 0;
	enum mdp_err e;

	e = md_card_exchange(card, &a, resp, sw);
	/*
	 * A card whose ATR promised extended lengths may still answer 6700 (wrong length), and a
	 * reader that exchanges short APDUs only (or T=0) refuses one: the same command again as
	 * short APDUs, and short ones from now on. Only when nothing came back, so that a failure
	 * after the card answered is not taken for a refusal.
	 */
	if (ext && (resp ? resp->len : 0) == had &&
	    ((e == MDP_OK && *sw == 0x6700) || e == MDP_ERR_TRANSPORT ||
	     e == MDP_ERR_UNSUPPORTED)) {
		log_debug("extended APDU refused (%s): short APDUs from now on",
			  e == MDP_OK ? "6700" : mdp_err_last());
		p->ext_off = true;
		a.extended = false;
		a.chain = lc > 255;
		a.le = le > 256 ? 256 : le;
		e = md_card_exchange(card, &a, resp, sw);
	}
	if (e != MDP_OK) {
		if (e == MDP_ERR_CARD_RESET)
			forget_session(p);
		log_debug("exchange: %s", mdp_err_last());
		return md_rv_from_err(e);
	}
	return MD_OK;
}

/*
 * SELECT of the PIV application. When identifying the card the answer must be the application
 * property template (61, or an FCI 6F) naming the PIV PIX or AID, so that a card that answers
 * 90 00 to every SELECT is not taken for PIV (§2.1, §3).
 */
static enum md_rv
select_app(struct md_card *card, bool identify)
{
	struct mdp_buf b;
	struct mdp_cursor v, aid;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init(&b);
	rv = piv_xfer(card, 0xA4, 0x04, 0x00, piv_aid, sizeof(piv_aid), 256, &b, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		rv = MD_E_UNKNOWN_CARD;
		goto out;
	}
	if (identify) {
		bool ok = false;

		if ((piv_object_value(b.data, b.len, 0x61, &v) == MDP_OK ||
		     piv_object_value(b.data, b.len, 0x6F, &v) == MDP_OK) &&
		    tlv_find(v.p + v.pos, cur_left(&v), 0x4F, &aid) == MDP_OK) {
			size_t n = cur_left(&aid);
			const uint8_t *a = aid.p + aid.pos;

			/* the PIX (00 00 10 00 ..) or the AID from its RID on */
			ok = (n >= 4 && memcmp(a, piv_aid + 5, 4) == 0) ||
			     (n >= 9 && memcmp(a, piv_aid, 9) == 0);
		}
		if (!ok) {
			rv = MD_E_UNKNOWN_CARD;
			goto out;
		}
	}
	piv_of(card)->selected = true;
out:
	buf_free(&b);
	return rv;
}

enum md_rv
piv_sync(struct md_card *card)
{
	struct piv *p = piv_of(card);

	if (card->resets != p->resets_seen) {
		p->resets_seen = card->resets;
		forget_session(p);
	}
	if (p->selected)
		return MD_OK;
	return select_app(card, false);
}

enum md_rv
piv_get_object(struct md_card *card, uint32_t tag, struct mdp_buf *value)
{
	struct mdp_buf f, r;
	struct mdp_cursor v;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init(&f);
	buf_init(&r);
	piv_get_data_field(&f, tag);
	rv = f.bad ? MD_E_NO_MEMORY
		   : piv_xfer(card, 0xCB, 0x3F, 0xFF, f.data, f.len, PIV_LE_ALL, &r, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		rv = piv_sw_rv(sw);
		goto out;
	}
	if (piv_object_value(r.data, r.len, tag == PIV_OBJ_DISCOVERY ? tag : 0x53, &v) != MDP_OK) {
		log_warn("object %X: %s", (unsigned)tag, mdp_err_last());
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	buf_put_bytes(value, v.p + v.pos, cur_left(&v));
	if (value->bad)
		rv = MD_E_NO_MEMORY;
out:
	buf_free(&f);
	buf_free(&r);
	return rv;
}

enum md_rv
piv_put_object(struct md_card *card, uint32_t tag, const uint8_t *value, size_t len)
{
	struct mdp_buf f;
	uint16_t sw = 0;
	enum md_rv rv;

	if (len > PIV_OBJECT_MAX)
		return piv_refuse(MD_E_WRITE_TOO_MANY,
				  "object %X of %zu bytes: a PIV object holds "
				  "at most %d",
				  (unsigned)tag, len, PIV_OBJECT_MAX);
	rv = piv_need_admin(card);
	if (rv != MD_OK)
		return rv;
	buf_init(&f);
	piv_put_data_field(&f, tag, value, len);
	rv = f.bad ? MD_E_NO_MEMORY
		   : piv_xfer(card, 0xDB, 0x3F, 0xFF, f.data, f.len, MDP_APDU_NO_LE, NULL, &sw);
	if (rv == MD_OK && !MDP_SW_IS_OK(sw)) {
		rv = piv_sw_rv(sw);
		if (rv == MD_E_FILE_NOT_FOUND) /* a tag the card does not store */
			rv = MD_E_UNSUPPORTED_FEATURE;
		if (sw == 0x6982)
			piv_of(card)->authenticated &= ~MD_PIN_SET(MD_ROLE_ADMIN);
	}
	buf_free(&f);
	return rv;
}

/* ---- card facts: version, serial, metadata (§6) ---- */

static void
load_version(struct md_card *card)
{
	struct piv *p = piv_of(card);
	struct mdp_buf b;
	uint16_t sw = 0;

	if (p->have_version)
		return;
	p->have_version = true; /* asked: a card without GET VERSION keeps 0.0.0 */
	buf_init(&b);
	if (piv_xfer(card, 0xFD, 0x00, 0x00, NULL, 0, 256, &b, &sw) == MD_OK && MDP_SW_IS_OK(sw) &&
	    b.len == 3)
		memcpy(p->version, b.data, 3);
	else if (sw == 0 || !MDP_SW_IS_OK(sw))
		memset(p->version, 0, 3);
	buf_free(&b);
}

bool
piv_version_at_least(struct md_card *card, uint8_t major, uint8_t minor, uint8_t patch)
{
	struct piv *p = piv_of(card);
	uint32_t have, want = (uint32_t)major << 16 | (uint32_t)minor << 8 | patch;

	load_version(card);
	have = (uint32_t)p->version[0] << 16 | (uint32_t)p->version[1] << 8 | p->version[2];
	return have != 0 && have >= want;
}

static void
load_serial(struct md_card *card)
{
	struct piv *p = piv_of(card);
	struct mdp_buf b;
	uint16_t sw = 0;

	if (p->serial_asked)
		return;
	p->serial_asked = true;
	if (!piv_version_at_least(card, 5, 0, 0))
		return; /* YubiKey 4 reads it from the OTP application: not worth a context switch
			 */
	buf_init(&b);
	if (piv_xfer(card, 0xF8, 0x00, 0x00, NULL, 0, 256, &b, &sw) == MD_OK && MDP_SW_IS_OK(sw) &&
	    b.len == 4) {
		memcpy(p->serial, b.data, 4);
		p->have_serial = true;
	}
	buf_free(&b);
}

enum md_rv
piv_get_metadata(struct md_card *card, uint8_t ref, struct mdp_buf *answer, struct piv_metadata *md)
{
	struct piv *p = piv_of(card);
	uint16_t sw = 0;
	enum md_rv rv;

	/*
	 * A YubiKey whose version is not known yet is asked directly: the answer 6D00 says as
	 * much as GET VERSION would, and a warm start then needs no GET VERSION at all.
	 */
	if (p->no_metadata ||
	    ((p->have_version || !p->yubikey_atr) && !piv_version_at_least(card, 5, 3, 0)))
		return MD_E_UNSUPPORTED_FEATURE;
	rv = piv_xfer(card, 0xF7, 0x00, ref, NULL, 0, PIV_LE_ALL, answer, &sw);
	if (rv != MD_OK)
		return rv;
	if (sw == 0x6A88 || sw == 0x6A80)
		return MD_E_NO_KEY_CONTAINER; /* empty slot (§6.6; both forms are seen) */
	if (sw == 0x6D00 || sw == 0x6E00) {
		p->no_metadata = true;
		return MD_E_UNSUPPORTED_FEATURE;
	}
	if (!MDP_SW_IS_OK(sw))
		return piv_sw_rv(sw);
	if (piv_metadata_parse(answer->data, answer->len, md) != MDP_OK) {
		log_warn("GET METADATA %02X: %s", ref, mdp_err_last());
		return MD_E_COMM_DATA_LOST;
	}
	return MD_OK;
}

/* ---- identity and freshness: the CHUID (docs/piv.md "cardid and cardcf") ---- */

void
piv_drop_view(struct piv *p)
{
	size_t i;

	for (i = 0; i < PIV_SLOTS; i++) {
		free(p->slots[i].cert);
		mdp_key_free(p->slots[i].pub);
	}
	memset(p->slots, 0, sizeof(p->slots));
	memset(p->cont, 0, sizeof(p->cont));
	p->ncont = 0;
	p->have_map = false;
	p->view_valid = false;
	p->map_only = false;
	piv_store_clear(&p->store);
	p->store_valid = false;
	p->store_objects = 0;
	p->kh_valid = false;
	free(p->roots);
	p->roots = NULL;
	p->roots_len = 0;
	p->roots_valid = false;
	p->admin_data_known = false;
}

static bool
all_zero(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * cardid: the first ten bytes of the CHUID GUID (mdp11 renews only the last six, which carry
 * the cardcf counters), so the card keeps its identity across mdp11's own changes; without a
 * GUID, a digest of the FASC-N, else of the serial number.
 */
static void
derive_cardid(struct md_card *card)
{
	struct piv *p = piv_of(card);
	uint8_t h[32];
	unsigned hl = 0;

	memset(p->cardid, 0, sizeof(p->cardid));
	if (p->ch.has_guid && !all_zero(p->ch.guid, 10)) {
		memcpy(p->cardid, p->ch.guid, 10);
		return;
	}
	if (p->ch.fascn_len &&
	    EVP_Digest(p->ch.fascn, p->ch.fascn_len, h, &hl, EVP_sha256(), NULL) == 1) {
		memcpy(p->cardid, h, 16);
		return;
	}
	load_serial(card);
	if (p->have_serial) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();

		if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestUpdate(c, "mdp11 PIV", 9) == 1 &&
		    EVP_DigestUpdate(c, p->serial, 4) == 1 && EVP_DigestFinal_ex(c, h, &hl) == 1)
			memcpy(p->cardid, h, 10);
		EVP_MD_CTX_free(c);
	}
}

enum md_rv
piv_load_chuid(struct md_card *card)
{
	struct piv *p = piv_of(card);
	struct mdp_buf b;
	uint8_t old_guid[16];
	bool had_guid = p->ch.has_guid;
	uint64_t m = 0;
	bool marked;
	enum md_rv rv;

	marked = md_card_mark(card, &m);
	if (p->chuid_valid && p->chuid_marked && marked && m == p->chuid_mark)
		return MD_OK;
	memcpy(old_guid, p->ch.guid, 16);
	buf_init(&b);
	rv = piv_get_object(card, PIV_OBJ_CHUID, &b);
	free(p->chuid);
	p->chuid = NULL;
	p->chuid_len = 0;
	memset(&p->ch, 0, sizeof(p->ch));
	if (rv == MD_E_FILE_NOT_FOUND) {
		rv = MD_OK; /* a card without CHUID: mdp11 writes one at its first change */
	} else if (rv == MD_OK && b.len) {
		if (piv_chuid_parse(b.data, b.len, &p->ch) != MDP_OK) {
			log_warn("CHUID: %s", mdp_err_last());
			rv = MD_E_COMM_DATA_LOST;
			goto out;
		}
		p->chuid_len = b.len;
		p->chuid = buf_steal(&b, &p->chuid_len);
		if (!p->chuid) {
			rv = MD_E_NO_MEMORY;
			goto out;
		}
	}
	if (rv != MD_OK)
		goto out;
	/* another host changed the card (ykman renews the GUID, §5.1): read everything again */
	if (had_guid != p->ch.has_guid || memcmp(old_guid, p->ch.guid, 16) != 0)
		piv_drop_view(p);
	derive_cardid(card);
	p->chuid_valid = true;
	p->chuid_marked = marked;
	p->chuid_mark = m;
out:
	buf_free(&b);
	return rv;
}

void
piv_cardcf(struct md_card *card, uint8_t out[6])
{
	struct piv *p = piv_of(card);

	out[0] = 0x01; /* CARD_CACHE_FILE_CURRENT_VERSION */
	out[1] = p->pin_fresh;
	if (p->ch.has_guid)
		memcpy(out + 2, p->ch.guid + 12, 4);
	else
		memset(out + 2, 0, 4);
}

enum md_rv
piv_write_cardcf(struct md_card *card, const uint8_t *data, size_t len)
{
	struct piv *p = piv_of(card);
	struct mdp_buf v;
	uint8_t cur[6], guid[16];
	enum md_rv rv;

	if (len < 6)
		return MD_E_INVALID_PARAMETER;
	rv = piv_load_chuid(card);
	if (rv != MD_OK)
		return rv;
	piv_cardcf(card, cur);
	p->pin_fresh = data[1];
	/* PIN changes need no card write: nothing cached about the PIN lives on the card. */
	if (memcmp(cur + 2, data + 2, 4) == 0)
		return MD_OK;
	if (p->chuid && !p->ch.has_guid && p->ch.fascn_len == 0)
		return piv_refuse(MD_E_COMM_DATA_LOST,
				  "the CHUID has neither GUID nor FASC-N: "
				  "mdp11 does not rewrite what it cannot read");
	/*
	 * Containers synthesised from slots are named after the CHUID GUID: before it changes they
	 * go into the container map, so that their names (and the CKA_IDs made of them) stay.
	 */
	if (p->view_valid) {
		size_t i;
		bool synth = false;

		for (i = 0; i < p->ncont; i++)
			synth |= p->cont[i].used && p->cont[i].synth;
		if (synth) {
			rv = piv_save_map(card);
			if (rv != MD_OK)
				return rv;
		}
	}
	/* a new GUID tells every host that caches by CHUID (Windows, §5.1) that the card changed */
	if (p->ch.has_guid) {
		memcpy(guid, p->ch.guid, 10);
	} else {
		memcpy(guid, p->cardid, 10);
		if (all_zero(guid, 10) && RAND_bytes(guid, 10) != 1)
			return MD_E_UNEXPECTED;
	}
	if (RAND_bytes(guid + 10, 2) != 1)
		return MD_E_UNEXPECTED;
	memcpy(guid + 12, data + 2, 4);
	buf_init(&v);
	if (piv_chuid_with_guid(p->chuid, p->chuid_len, guid, &v) != MDP_OK) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = piv_put_object(card, PIV_OBJ_CHUID, v.data, v.len);
	if (rv != MD_OK)
		goto out;
	free(p->chuid);
	p->chuid_len = v.len;
	p->chuid = buf_steal(&v, &p->chuid_len);
	if (!p->chuid || piv_chuid_parse(p->chuid, p->chuid_len, &p->ch) != MDP_OK) {
		p->chuid_valid = false;
		rv = MD_E_NO_MEMORY;
	}
	/* the cardid keeps its ten bytes, so the card is still the same card (derive_cardid) */
out:
	buf_free(&v);
	return rv;
}

/* ---- properties (spec/minidriver.md §4.11) ---- */

static enum md_rv
piv_query_capabilities(struct md_card *card, struct md_capabilities *caps)
{
	/* the module stores certificates in PIV's own form (plain, or gzip when too large) */
	caps->certificate_compression = 1;
	caps->key_gen = 1;
	return MD_OK;
}

static enum md_rv
piv_query_key_sizes(struct md_card *card, uint32_t spec, uint32_t flags, struct md_key_sizes *ks)
{
	enum md_rv rv = piv_sync(card);

	if (rv != MD_OK)
		return rv;
	if (spec == MDP_AT_KEYEXCHANGE || spec == MDP_AT_SIGNATURE) {
		ks->minimum = 1024;
		ks->default_bits = 2048;
		/* RSA 3072 and 4096 from YubiKey 5.7 on (§2.4) */
		ks->maximum = piv_version_at_least(card, 5, 7, 0) ? 4096 : 2048;
		ks->increment = 1024;
		return MD_OK;
	}
	if (spec == MDP_AT_ECDSA_P256 || spec == MDP_AT_ECDHE_P256 || spec == MDP_AT_ECDSA_P384 ||
	    spec == MDP_AT_ECDHE_P384) {
		unsigned bits = spec == MDP_AT_ECDSA_P256 || spec == MDP_AT_ECDHE_P256 ? 256 : 384;

		ks->minimum = ks->default_bits = ks->maximum = bits;
		ks->increment = 1;
		return MD_OK;
	}
	return piv_refuse(MD_E_UNSUPPORTED_FEATURE, "PIV has no P-521 keys (SP 800-78 names "
						    "P-256 and P-384 only)");
}

static enum md_rv
piv_query_free_space(struct md_card *card, uint32_t flags, struct md_free_space *fs)
{
	struct piv *p = piv_of(card);
	size_t used = 0, i;
	enum md_rv rv;

	rv = piv_view(card);
	if (rv != MD_OK)
		return rv;
	for (i = 0; i < p->ncont; i++)
		if (p->cont[i].used)
			used++;
	fs->bytes_available = MD_VALUE_UNKNOWN; /* a YubiKey does not say (§5.5) */
	fs->max_containers = PIV_SLOTS;
	fs->containers_available = (uint32_t)(used < PIV_SLOTS ? PIV_SLOTS - used : 0);
	return MD_OK;
}

static bool
pin_id_known(uint32_t id)
{
	return id == MD_ROLE_USER || id == MD_ROLE_ADMIN || id == PIV_PIN_ID_PUK ||
	       id == PIV_PIN_ID_CONSENT;
}

static void
pin_info_of(uint32_t id, struct md_pin_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->version = MD_PIN_INFO_VERSION;
	pi->cache_policy.version = MD_PIN_INFO_VERSION;
	pi->cache_policy.type = MD_PIN_CACHE_NORMAL;
	/* every PIV secret is handed to the module as it is: the management key too, which the
	 * module proves to the card by mutual authentication (docs/piv.md) */
	pi->pin_type = MD_PIN_ALPHANUMERIC;
	if (id == MD_ROLE_USER) {
		pi->purpose = MD_PURPOSE_PRIMARY_CARD;
		pi->change_permission = MD_PIN_SET(MD_ROLE_USER);
		pi->unblock_permission = MD_PIN_SET(PIV_PIN_ID_PUK);
	} else if (id == MD_ROLE_ADMIN) {
		pi->purpose = MD_PURPOSE_ADMINISTRATOR;
		pi->change_permission = MD_PIN_SET(MD_ROLE_ADMIN);
	} else if (id == PIV_PIN_ID_CONSENT) {
		/* the same PIV PIN, asked for every operation of a PIN-always key */
		pi->purpose = MD_PURPOSE_DIGITAL_SIGNATURE;
		pi->change_permission = MD_PIN_SET(MD_ROLE_USER);
		pi->unblock_permission = MD_PIN_SET(PIV_PIN_ID_PUK);
		pi->cache_policy.type = MD_PIN_CACHE_ALWAYS_PROMPT;
	} else {
		pi->purpose = MD_PURPOSE_UNBLOCK_ONLY;
		pi->change_permission = MD_PIN_SET(PIV_PIN_ID_PUK);
	}
}

static enum md_rv
piv_get_property(struct md_card *card, const char *name, void *data, size_t cap, size_t *len,
		 uint32_t flags)
{
	struct piv *p = piv_of(card);
	uint32_t v;
	enum md_rv rv;
	bool done = false;

	rv = md_prop_common(card, name, data, cap, len, flags, &done);
	if (done)
		return rv;
	if (strcmp(name, MD_CP_CARD_READ_ONLY) == 0 ||
	    strcmp(name, MD_CP_SUPPORTS_WIN_X509_ENROLLMENT) == 0) {
		rv = piv_sync(card);
		if (rv == MD_OK)
			rv = piv_load_chuid(card);
		if (rv != MD_OK)
			return rv;
		/* an issuer-signed card is never changed; others need the management key */
		v = p->ch.signed_by_issuer;
		if (strcmp(name, MD_CP_SUPPORTS_WIN_X509_ENROLLMENT) == 0)
			v = !v;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_MDP11_PIN_LENGTHS) == 0) {
		/* PIN and PUK: 6 to 8 bytes (SP 800-73-4 Part 2 §2.4.3; the YubiKey's limits) */
		struct md_pin_lengths pl = {6, 8};

		if (flags != MD_ROLE_USER && flags != PIV_PIN_ID_PUK && flags != PIV_PIN_ID_CONSENT)
			return MD_E_INVALID_PARAMETER;
		return md_prop_out(&pl, sizeof(pl), data, cap, len);
	}
	if (strcmp(name, MD_CP_MDP11_ADMIN_WRITES) == 0) {
		/* GENERATE, IMPORT and PUT DATA need the management key, not the PIN (§6.2) */
		v = 1;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_CACHE_MODE) == 0) {
		/* the synthesised cardcf follows the CHUID, which mdp11 renews on every change */
		v = MD_CP_CACHE_MODE_GLOBAL_CACHE;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_GUID) == 0 || strcmp(name, MD_CP_CARD_SERIAL_NO) == 0) {
		rv = piv_sync(card);
		if (rv == MD_OK)
			rv = piv_load_chuid(card);
		if (rv != MD_OK)
			return rv;
		if (strcmp(name, MD_CP_CARD_SERIAL_NO) == 0) {
			load_serial(card);
			if (p->have_serial)
				return md_prop_out(p->serial, 4, data, cap, len);
		}
		return md_prop_out(p->cardid, sizeof(p->cardid), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_PIN_INFO) == 0) {
		struct md_pin_info pi;

		if (!pin_id_known(flags))
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

		rv = piv_pin_tries(card, flags, &pt);
		return rv == MD_OK ? md_prop_out(&pt, sizeof(pt), data, cap, len) : rv;
	}
	if (strcmp(name, MD_CP_CARD_LIST_PINS) == 0) {
		v = MD_PIN_SET(MD_ROLE_USER) | MD_PIN_SET(MD_ROLE_ADMIN) |
		    MD_PIN_SET(PIV_PIN_ID_PUK) | MD_PIN_SET(PIV_PIN_ID_CONSENT);
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_AUTHENTICATED_STATE) == 0) {
		if (card->resets != p->resets_seen)
			p->authenticated = 0;
		v = p->authenticated;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_PIN_STRENGTH_VERIFY) == 0 ||
	    strcmp(name, MD_CP_CARD_PIN_STRENGTH_CHANGE) == 0 ||
	    strcmp(name, MD_CP_CARD_PIN_STRENGTH_UNBLOCK) == 0) {
		if (!pin_id_known(flags))
			return MD_E_INVALID_PARAMETER;
		v = MD_PIN_STRENGTH_PLAINTEXT;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_KEY_IMPORT_SUPPORT) == 0) {
		v = MD_KEY_IMPORT_PLAIN_TEXT; /* IMPORT ASYMMETRIC KEY (§6.2) */
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	return MD_E_INVALID_PARAMETER;
}

static enum md_rv
piv_get_container_property(struct md_card *card, uint8_t index, const char *name, void *data,
			   size_t cap, size_t *len, uint32_t flags)
{
	struct piv *p = piv_of(card);
	struct piv_cont *c;
	enum md_rv rv;

	rv = piv_container(card, index, &c);
	if (rv != MD_OK)
		return rv;
	if (strcmp(name, MD_CCP_CONTAINER_INFO) == 0) {
		struct md_container_info ci = {.version = MD_CONTAINER_INFO_VERSION};

		*len = sizeof(ci);
		if (!data || cap < sizeof(ci))
			return MD_ERROR_INSUFFICIENT_BUFFER;
		rv = piv_get_container_info(card, index, 0, &ci);
		if (rv != MD_OK)
			return rv;
		memcpy(data, &ci, sizeof(ci));
		return MD_OK;
	}
	if (strcmp(name, MD_CCP_PIN_IDENTIFIER) == 0) {
		uint32_t v = piv_pin_policy(card, c) == PIV_PIN_POLICY_ALWAYS ? PIV_PIN_ID_CONSENT
									      : MD_ROLE_USER;

		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CCP_MDP11_KEY_REFERENCE) == 0)
		return md_prop_out(&c->slot, 1, data, cap, len);
	if (strcmp(name, MD_CCP_ASSOCIATED_ECDH_KEY) == 0) {
		struct piv_cont *e = c->ecdh < p->ncont ? piv_cont_at(p, c->ecdh) : NULL;
		uint8_t v;

		/* only an ECDSA container pairs with an ECDH one (minidriver v7) */
		if (!MDP_KEY_SPEC_IS_ECDSA(c->spec) || !e || !MDP_KEY_SPEC_IS_ECDH(e->spec))
			return MD_E_INVALID_PARAMETER;
		v = c->ecdh;
		return md_prop_out(&v, sizeof(v), data, cap, len);
	}
	return MD_E_INVALID_PARAMETER;
}

static enum md_rv
piv_set_container_property(struct md_card *card, uint8_t index, const char *name, const void *data,
			   size_t len, uint32_t flags)
{
	struct piv *p = piv_of(card);
	struct piv_cont *c, *e;
	uint32_t v;
	enum md_rv rv;

	rv = piv_container(card, index, &c);
	if (rv != MD_OK)
		return rv;
	if (strcmp(name, MD_CCP_PIN_IDENTIFIER) == 0) {
		if (len != sizeof(v))
			return MD_E_INVALID_PARAMETER;
		memcpy(&v, data, sizeof(v));
		/* fixed by the key's PIN policy on the card */
		return v == (piv_pin_policy(card, c) == PIV_PIN_POLICY_ALWAYS ? PIV_PIN_ID_CONSENT
									      : MD_ROLE_USER)
			       ? MD_OK
			       : MD_E_INVALID_PARAMETER;
	}
	if (strcmp(name, MD_CCP_ASSOCIATED_ECDH_KEY) == 0) {
		uint8_t old = c->ecdh;

		if (len != 1)
			return MD_E_INVALID_PARAMETER;
		e = piv_cont_at(p, *(const uint8_t *)data);
		if (!MDP_KEY_SPEC_IS_ECDSA(c->spec) || !e || !MDP_KEY_SPEC_IS_ECDH(e->spec))
			return MD_E_INVALID_PARAMETER;
		/* kept in the MSCMAP record's associated_echd_container field (§7.2) */
		c->ecdh = *(const uint8_t *)data;
		rv = piv_save_map(card);
		if (rv != MD_OK)
			c->ecdh = old;
		return rv;
	}
	return MD_E_INVALID_PARAMETER;
}

/* ---- context ---- */

static enum md_rv
piv_delete_context(struct md_card *card)
{
	struct piv *p = piv_of(card);

	if (!p)
		return MD_OK;
	piv_drop_view(p);
	md_agreement_clear(&p->agreements);
	free(p->chuid);
	mdp_secure_free(p, sizeof(*p));
	card->module = NULL;
	return MD_OK;
}

static const struct md_card_ops piv_ops = {
	.delete_context = piv_delete_context,
	.query_capabilities = piv_query_capabilities,
	.delete_container = piv_delete_container,
	.create_container = piv_create_container,
	.get_container_info = piv_get_container_info,
	.authenticate_ex = piv_authenticate_ex,
	.get_challenge_ex = piv_get_challenge_ex,
	.deauthenticate_ex = piv_deauthenticate_ex,
	.change_authenticator_ex = piv_change_authenticator_ex,
	.create_directory = piv_create_directory,
	.delete_directory = piv_delete_directory,
	.create_file = piv_create_file,
	.read_file = piv_read_file,
	.write_file = piv_write_file,
	.delete_file = piv_delete_file,
	.enum_files = piv_enum_files,
	.get_file_info = piv_get_file_info,
	.query_free_space = piv_query_free_space,
	.query_key_sizes = piv_query_key_sizes,
	.sign_data = piv_sign_data,
	.rsa_decrypt = piv_rsa_decrypt,
	.construct_dh_agreement = piv_construct_dh_agreement,
	.derive_key = piv_derive_key,
	.destroy_dh_agreement = piv_destroy_dh_agreement,
	.get_property = piv_get_property,
	.set_property = md_set_prop_ui_hints,
	.get_container_property = piv_get_container_property,
	.set_container_property = piv_set_container_property,
};

/* CardAcquireContext for PIV: SELECT of the PIV application and its template (§2.1), 1 APDU. */
enum md_rv
md_piv_acquire(struct md_card *card, unsigned flags)
{
	struct piv *p = NULL;
	enum md_rv rv;

	rv = md_negotiate_version(card, MD_CARD_DATA_VERSION_FOUR, MD_CARD_DATA_CURRENT_VERSION);
	if (rv != MD_OK)
		return rv;
	p = mdp_zalloc(sizeof(*p));
	if (!p)
		return MD_E_NO_MEMORY;
	card->module = p;
	p->resets_seen = card->resets;
	p->yubikey_atr = md_piv_atr_known(card->atr, card->atr_len);
	p->ext_atr = mdp_atr_extended_length(card->atr, card->atr_len);
	log_debug("extended APDUs: %s", p->ext_atr ? "the ATR offers them" : "not in the ATR");
	rv = select_app(card, true);
	if (rv != MD_OK) {
		card->module = NULL;
		mdp_secure_free(p, sizeof(*p));
		return rv;
	}
	snprintf(card->card_name, sizeof(card->card_name), "PIV");
	card->ops = &piv_ops;
	return MD_OK;
}
