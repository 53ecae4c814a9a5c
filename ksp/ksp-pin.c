/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role: PINs and the admin key. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_KSP
#include "common/log.h"
#include "common/secmem.h"
#include "ksp/ksp-int.h"

/* ---- PINs ---- */

enum ksp_rv
ksp_pin_info(struct ksp_card *kc, struct ksp_pin_info *out)
{
	struct ksp_pin_info pi;
	enum ksp_rv rv;

	if (!kc || !out)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	if (kc->md->resets != kc->resets_seen)
		ksp_note_reset(kc);
	memset(&pi, 0, sizeof(pi));
	pi.tries_left = kc->tries_left;
	pi.tries_max = kc->tries_max;
	pi.blocked = kc->blocked;
	pi.user_logged_in = kc->user_in;
	pi.admin_logged_in = kc->admin_in;
	pi.external = kc->user_pin_type == MD_PIN_EXTERNAL;
	pi.admin_challenge = kc->admin_pin_type == MD_PIN_CHALLENGE_RESPONSE;
	*out = pi;
	return KSP_OK;
}

enum ksp_rv
ksp_pin_tries_refresh(struct ksp_card *kc)
{
	struct md_pin_tries pt;
	size_t len = 0;
	enum ksp_rv rv;

	if (!kc)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK || kc->tries_fresh || kc->no_tries)
		return rv;
	memset(&pt, 0, sizeof(pt));
	rv = ksp_rv_from_md(md_card_begin(kc->md));
	if (rv == KSP_OK) {
		rv = ksp_rv_from_md(md_get_property(kc->md, MD_CP_MDP11_PIN_TRIES, &pt, sizeof(pt),
						    &len, MD_ROLE_USER));
		md_card_end(kc->md, false);
	}
	ksp_check_reset(kc, rv);
	if (rv == KSP_E_UNSUPPORTED || rv == KSP_E_INVALID_ARG) {
		log_debug("the card module does not read the PIN retry counter");
		kc->no_tries = true;
		return KSP_OK;
	}
	if (rv != KSP_OK)
		return rv;
	if (len < sizeof(pt) || pt.left > 255)
		return KSP_E_FAILED;
	kc->tries_left = (int)pt.left;
	kc->tries_max = pt.max == MD_VALUE_UNKNOWN || pt.max > 255 ? -1 : (int)pt.max;
	kc->blocked = pt.left == 0;
	kc->tries_fresh = true;
	return KSP_OK;
}

/* Record what an authentication answer says about the retry counter. */
static void
note_tries(struct ksp_card *kc, enum ksp_rv rv, uint32_t tries)
{
	if (rv == KSP_E_PIN_BLOCKED) {
		kc->tries_left = 0;
		kc->blocked = true;
		return;
	}
	if (tries != MD_VALUE_UNKNOWN && tries < 1000)
		kc->tries_left = (int)tries;
	if (rv == KSP_OK) {
		/* A good PIN resets the counter; the module does not say to what. */
		kc->blocked = false;
		kc->tries_left = kc->tries_max;
	} else if (rv == KSP_E_PIN_INCORRECT && kc->tries_left == 0) {
		kc->blocked = true;
	}
}

/* Forget what only a logged-in user may see (private data objects). */
static void
drop_private(struct ksp_card *kc)
{
	size_t i;

	for (i = 0; i < kc->ndobs; i++)
		if (kc->dobs[i].is_private)
			kc->view_ok = false;
	ksp_cache_drop(&kc->cache, KSP_C_PRIVATE);
}

enum ksp_rv
ksp_login_user(struct ksp_card *kc, const uint8_t *pin, size_t len)
{
	uint32_t tries = MD_VALUE_UNKNOWN;
	enum ksp_rv rv;

	if (!kc || (!pin && len))
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	if (!pin && kc->user_pin_type != MD_PIN_EXTERNAL)
		return KSP_E_INVALID_ARG;
	rv = ksp_rv_from_md(
		md_authenticate_ex(kc->md, MD_ROLE_USER, 0, pin, len, NULL, NULL, &tries));
	ksp_check_reset(kc, rv);
	note_tries(kc, rv, tries);
	if (rv != KSP_OK)
		return rv;
	kc->user_in = true;
	drop_private(kc); /* private data objects become readable: reload them */
	return KSP_OK;
}

/*
 * Admin authentication with the 24-byte key (challenge/response computed here), or an admin PIN
 * or key that the card module checks itself (PIV: a management key of 16, 24 or 32 bytes).
 */
static enum ksp_rv
admin_auth(struct ksp_card *kc, const uint8_t *key, size_t len)
{
	uint8_t *ch = NULL, *resp = NULL;
	size_t ch_len = 0, resp_len = 0;
	uint32_t tries = MD_VALUE_UNKNOWN;
	enum ksp_rv rv;

	if (kc->admin_pin_type != MD_PIN_CHALLENGE_RESPONSE)
		return ksp_rv_from_md(
			md_authenticate_ex(kc->md, MD_ROLE_ADMIN, 0, key, len, NULL, NULL, &tries));
	if (len != KSP_ADMIN_3DES_LEN)
		return ksp_reason(KSP_E_PIN_LEN, "the admin key is %s bytes of 3DES key", "24");
	rv = ksp_rv_from_md(md_get_challenge(kc->md, &ch, &ch_len));
	if (rv != KSP_OK)
		goto out;
	rv = ksp_rv_from_md(md_admin_response_3des(key, ch, ch_len, &resp, &resp_len));
	if (rv != KSP_OK)
		goto out;
	rv = ksp_rv_from_md(md_authenticate_challenge(kc->md, resp, resp_len, &tries));
out:
	free(ch);
	mdp_secure_free(resp, resp_len);
	return rv;
}

/* A fresh challenge/response for the admin key (unblock, change): the response bytes. */
static enum ksp_rv
admin_response(struct ksp_card *kc, const uint8_t *key, size_t len, uint8_t **resp,
	       size_t *resp_len)
{
	uint8_t *ch = NULL;
	size_t ch_len = 0;
	enum ksp_rv rv;

	if (kc->admin_pin_type != MD_PIN_CHALLENGE_RESPONSE) {
		*resp = mdp_memdup(key, len);
		*resp_len = len;
		return *resp ? KSP_OK : KSP_E_NO_MEMORY;
	}
	if (len != KSP_ADMIN_3DES_LEN)
		return ksp_reason(KSP_E_PIN_LEN, "the admin key is %s bytes of 3DES key", "24");
	rv = ksp_rv_from_md(md_get_challenge(kc->md, &ch, &ch_len));
	if (rv == KSP_OK)
		rv = ksp_rv_from_md(md_admin_response_3des(key, ch, ch_len, resp, resp_len));
	free(ch);
	return rv;
}

/* Keep the admin key for a later re-authentication (ksp_init_pin). */
static enum ksp_rv
keep_admin_key(struct ksp_card *kc, const uint8_t *key, size_t len)
{
	if (len > KSP_ADMIN_KEY_MAX)
		return KSP_E_INVALID_ARG;
	if (!kc->admin_key)
		kc->admin_key = mdp_zalloc(KSP_ADMIN_KEY_MAX);
	if (!kc->admin_key)
		return KSP_E_NO_MEMORY;
	memset(kc->admin_key, 0, KSP_ADMIN_KEY_MAX);
	memcpy(kc->admin_key, key, len);
	kc->admin_key_len = len;
	return KSP_OK;
}

enum ksp_rv
ksp_login_admin(struct ksp_card *kc, const uint8_t *key, size_t len)
{
	enum ksp_rv rv;

	if (!kc || !key || !len || len > KSP_ADMIN_KEY_MAX)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	rv = admin_auth(kc, key, len);
	ksp_check_reset(kc, rv);
	if (rv != KSP_OK)
		return rv;
	rv = keep_admin_key(kc, key, len);
	if (rv != KSP_OK)
		return rv;
	kc->admin_in = true;
	return KSP_OK;
}

enum ksp_rv
ksp_logout(struct ksp_card *kc)
{
	enum ksp_rv rv;

	if (!kc)
		return KSP_E_INVALID_ARG;
	rv = ksp_rv_from_md(md_deauthenticate_ex(kc->md, MD_PIN_SET_ALL_ROLES, 0));
	if (rv != KSP_OK && rv != KSP_E_CARD_RESET) {
		/* No way to log out on the card: reset it (spec/minidriver.md §10.3). */
		rv = ksp_rv_from_md(md_card_begin(kc->md));
		if (rv == KSP_OK)
			rv = ksp_rv_from_md(md_card_end(kc->md, true));
	}
	kc->user_in = false;
	kc->admin_in = false;
	mdp_secure_free(kc->admin_key, KSP_ADMIN_KEY_MAX);
	kc->admin_key = NULL;
	kc->admin_key_len = 0;
	drop_private(kc);
	kc->resets_seen = kc->md->resets;
	return rv == KSP_E_CARD_RESET ? KSP_OK : rv;
}

/* A PIN change happened: bump bPinsFreshness (spec/minidriver.md §10.3). */
static enum ksp_rv
pin_changed(struct ksp_card *kc)
{
	enum ksp_rv rv = ksp_rv_from_md(md_card_begin(kc->md));

	if (rv != KSP_OK)
		return rv;
	rv = ksp_bump_cardcf(kc, KSP_C_PIN);
	ksp_save_cache(kc);
	md_card_end(kc->md, false);
	return rv;
}

/*
 * After a change authenticated by the old PIN or key: a role that was not logged in before is
 * logged out again (the card keeps a PIN verified after CHANGE REFERENCE DATA, and another
 * PC/SC client must not inherit that).
 */
static void
change_logout(struct ksp_card *kc, bool user_was_in, bool admin_was_in)
{
	if (user_was_in || admin_was_in || (!kc->user_in && !kc->admin_in))
		return;
	if (ksp_rv_from_md(md_deauthenticate_ex(kc->md, MD_PIN_SET_ALL_ROLES, 0)) == KSP_OK) {
		kc->user_in = false;
		kc->admin_in = false;
		drop_private(kc);
	}
}

/*
 * The old PIN is verified, whole, before the change (a rule of the host role, so every card
 * module gets it): GIDS CHANGE REFERENCE DATA carries old||new and the card splits it at the
 * stored PIN's length, so an old PIN of another length could pass as a prefix ("12345678" for
 * "123456" would set "78123456"). The host never relies on that split: VERIFY compares the
 * whole PIN (a card that refuses an impossible length does so without spending a try), and
 * the change runs in the same transaction, with the PIN that was just verified.
 */
enum ksp_rv
ksp_change_pin(struct ksp_card *kc, const uint8_t *old_pin, size_t old_len, const uint8_t *new_pin,
	       size_t new_len)
{
	uint32_t tries = MD_VALUE_UNKNOWN;
	bool user_was_in, admin_was_in;
	enum ksp_rv rv;

	if (!kc || !old_pin || !new_pin || !old_len || !new_len)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	rv = ksp_rv_from_md(md_card_begin(kc->md));
	if (rv != KSP_OK) {
		ksp_check_reset(kc, rv);
		return rv;
	}
	user_was_in = kc->user_in;
	admin_was_in = kc->admin_in;
	rv = ksp_rv_from_md(
		md_authenticate_ex(kc->md, MD_ROLE_USER, 0, old_pin, old_len, NULL, NULL, &tries));
	ksp_check_reset(kc, rv);
	note_tries(kc, rv, tries);
	if (rv == KSP_OK) {
		kc->user_in = true;
		tries = MD_VALUE_UNKNOWN;
		rv = ksp_rv_from_md(md_change_authenticator_ex(
			kc->md, MD_PIN_CHANGE_CHANGEPIN, MD_ROLE_USER, old_pin, old_len,
			MD_ROLE_USER, new_pin, new_len, 0, &tries));
		ksp_check_reset(kc, rv);
		note_tries(kc, rv, tries);
	}
	if (rv == KSP_OK)
		rv = pin_changed(kc);
	change_logout(kc, user_was_in, admin_was_in);
	md_card_end(kc->md, false);
	return rv;
}

/* The same rule for the admin key: authenticated with the old key first, then changed. */
enum ksp_rv
ksp_change_admin_key(struct ksp_card *kc, const uint8_t *old_key, size_t old_len,
		     const uint8_t *new_key, size_t new_len)
{
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	uint32_t tries = MD_VALUE_UNKNOWN;
	bool user_was_in, admin_was_in;
	enum ksp_rv rv;

	if (!kc || !old_key || !new_key || !old_len || !new_len || new_len > KSP_ADMIN_KEY_MAX)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	rv = ksp_rv_from_md(md_card_begin(kc->md));
	if (rv != KSP_OK)
		return rv;
	user_was_in = kc->user_in;
	admin_was_in = kc->admin_in;
	rv = admin_auth(kc, old_key, old_len);
	if (rv == KSP_OK) {
		kc->admin_in = true;
		rv = admin_response(kc, old_key, old_len, &resp, &resp_len);
	}
	if (rv == KSP_OK)
		rv = ksp_rv_from_md(md_change_authenticator(
			kc->md, "admin", resp, resp_len, new_key, new_len, 0,
			kc->admin_pin_type == MD_PIN_CHALLENGE_RESPONSE
				? MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE
				: MD_AUTHENTICATE_PIN_PIN,
			&tries));
	ksp_check_reset(kc, rv);
	if (rv == KSP_OK)
		rv = ksp_bump_cardcf(kc, KSP_C_PIN);
	if (rv == KSP_OK && kc->admin_key)
		keep_admin_key(kc, new_key, new_len);
	ksp_save_cache(kc);
	change_logout(kc, user_was_in, admin_was_in);
	md_card_end(kc->md, false);
	mdp_secure_free(resp, resp_len);
	return rv;
}

/* PIN_INFO of a PIN id (from the card module's memory, no APDU). */
static bool
pin_info_of(struct ksp_card *kc, uint32_t id, struct md_pin_info *pi)
{
	size_t len = 0;

	memset(pi, 0, sizeof(*pi));
	pi->version = MD_PIN_INFO_VERSION;
	return md_get_property(kc->md, MD_CP_CARD_PIN_INFO, pi, sizeof(*pi), &len, id) == MD_OK &&
	       len >= sizeof(*pi);
}

/* Whether the admin key unblocks the user PIN (not on PIV, where the PUK does). */
static bool
admin_unblocks(struct ksp_card *kc)
{
	struct md_pin_info pi;

	return !pin_info_of(kc, MD_ROLE_USER, &pi) || !pi.unblock_permission ||
	       (pi.unblock_permission & MD_PIN_SET(MD_ROLE_ADMIN));
}

static enum ksp_rv
unblock_intx(struct ksp_card *kc, const uint8_t *key, size_t key_len, const uint8_t *new_pin,
	     size_t new_len)
{
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	enum ksp_rv rv;

	/*
	 * cardcf is bumped while the admin is authenticated: resetting the
	 * retry counter ends the admin authentication (spec/gids.md §7.1) and
	 * cardcf is not writable by everyone.
	 */
	rv = admin_auth(kc, key, key_len);
	if (rv == KSP_OK)
		rv = ksp_bump_cardcf(kc, KSP_C_PIN);
	if (rv == KSP_OK)
		rv = admin_response(kc, key, key_len, &resp, &resp_len);
	if (rv == KSP_OK)
		rv = ksp_rv_from_md(md_unblock_pin(kc->md, "user", resp, resp_len, new_pin, new_len,
						   0,
						   kc->admin_pin_type == MD_PIN_CHALLENGE_RESPONSE
							   ? MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE
							   : MD_AUTHENTICATE_PIN_PIN));
	ksp_check_reset(kc, rv);
	mdp_secure_free(resp, resp_len);
	if (rv != KSP_OK)
		return rv;
	kc->blocked = false;
	kc->tries_left = kc->tries_max;
	return KSP_OK;
}

enum ksp_rv
ksp_unblock_pin(struct ksp_card *kc, const uint8_t *admin_key, size_t key_len,
		const uint8_t *new_pin, size_t new_len)
{
	enum ksp_rv rv;

	if (!kc || !admin_key || !key_len || !new_pin || !new_len)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	if (!admin_unblocks(kc))
		return ksp_reason(
			KSP_E_UNSUPPORTED,
			"this card's PIN is unblocked with its PUK, not with the admin key "
			"(mdp11-tool pin unblock --puk)");
	rv = ksp_rv_from_md(md_card_begin(kc->md));
	if (rv != KSP_OK)
		return rv;
	rv = unblock_intx(kc, admin_key, key_len, new_pin, new_len);
	ksp_save_cache(kc);
	md_card_end(kc->md, false);
	return rv;
}

/* ---- a PUK and PINs given again (PIV, docs/piv.md "PINs") ---- */

uint32_t
ksp_pin_id(struct ksp_card *kc, enum ksp_pin_kind kind)
{
	struct md_pin_info pi;
	uint32_t id;

	for (id = MD_ROLE_ADMIN + 1; id < MD_MAX_PINS; id++) {
		if (!pin_info_of(kc, id, &pi))
			continue;
		if (kind == KSP_PIN_PUK && pi.purpose == MD_PURPOSE_UNBLOCK_ONLY)
			return id;
		if (kind == KSP_PIN_EACH_USE && pi.purpose != MD_PURPOSE_UNBLOCK_ONLY &&
		    pi.cache_policy.type == MD_PIN_CACHE_ALWAYS_PROMPT)
			return id;
	}
	return 0;
}

/*
 * One change_authenticator_ex with the PUK (PIN id found by its purpose): unblock (target the
 * user PIN) or change the PUK itself, in a transaction of its own.
 */
static enum ksp_rv
with_puk(struct ksp_card *kc, uint32_t flags, const uint8_t *puk, size_t puk_len,
	 const uint8_t *new_secret, size_t new_len)
{
	uint32_t tries = MD_VALUE_UNKNOWN, puk_id;
	enum ksp_rv rv;

	if (!kc || !puk || !puk_len || !new_secret || !new_len)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	puk_id = ksp_pin_id(kc, KSP_PIN_PUK);
	if (!puk_id)
		return ksp_reason(KSP_E_UNSUPPORTED,
				  "this card has no PUK: the admin key unblocks its PIN");
	rv = ksp_rv_from_md(md_card_begin(kc->md));
	if (rv == KSP_OK) {
		rv = ksp_rv_from_md(md_change_authenticator_ex(
			kc->md, flags, puk_id, puk, puk_len,
			flags == MD_PIN_CHANGE_UNBLOCK ? MD_ROLE_USER : puk_id, new_secret, new_len,
			0, &tries));
		if (rv == KSP_OK && flags == MD_PIN_CHANGE_UNBLOCK) {
			kc->blocked = false;
			kc->tries_left = kc->tries_max;
			rv = pin_changed(kc);
		}
		md_card_end(kc->md, false);
	}
	ksp_check_reset(kc, rv);
	kc->tries_fresh = false; /* the PIN counter is read again */
	return rv;
}

/* The PUK unblocks the user PIN (RESET RETRY COUNTER) and sets a new one. */
enum ksp_rv
ksp_unblock_pin_puk(struct ksp_card *kc, const uint8_t *puk, size_t puk_len, const uint8_t *new_pin,
		    size_t new_len)
{
	return with_puk(kc, MD_PIN_CHANGE_UNBLOCK, puk, puk_len, new_pin, new_len);
}

/* The old PUK is the proof for the new one (CHANGE REFERENCE DATA checks it whole on PIV). */
enum ksp_rv
ksp_change_puk(struct ksp_card *kc, const uint8_t *old_puk, size_t old_len, const uint8_t *new_puk,
	       size_t new_len)
{
	return with_puk(kc, MD_PIN_CHANGE_CHANGEPIN, old_puk, old_len, new_puk, new_len);
}

enum ksp_rv
ksp_login_context(struct ksp_card *kc, uint8_t index, const uint8_t *pin, size_t len)
{
	const struct ksp_container *ct;
	uint32_t tries = MD_VALUE_UNKNOWN, id = 0;
	enum ksp_rv rv;
	int s;

	if (!kc || !pin || !len)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	ct = ksp_container_at(kc, index);
	for (s = 0; ct && s < KSP_SLOTS; s++)
		if (ct->slot[s].spec != MDP_AT_NONE)
			id = ct->slot[s].pin_id;
	if (!ct)
		return KSP_E_NO_KEY;
	if (id <= MD_ROLE_ADMIN)
		return ksp_reason(KSP_E_INVALID_ARG,
				  "the key's PIN is the user PIN: log in once, not per operation");
	if (!kc->user_in)
		return KSP_E_NOT_LOGGED_IN;
	rv = ksp_rv_from_md(md_authenticate_ex(kc->md, id, 0, pin, len, NULL, NULL, &tries));
	ksp_check_reset(kc, rv);
	note_tries(kc, rv, tries); /* the same PIN, so the same counter */
	return rv;
}

enum ksp_rv
ksp_init_pin(struct ksp_card *kc, const uint8_t *new_pin, size_t new_len)
{
	if (!kc || !new_pin || !new_len)
		return KSP_E_INVALID_ARG;
	if (!kc->admin_in || !kc->admin_key)
		return KSP_E_NOT_LOGGED_IN;
	return ksp_unblock_pin(kc, kc->admin_key, kc->admin_key_len, new_pin, new_len);
}

enum ksp_rv
ksp_reinit(struct ksp_card *kc, const uint8_t *admin_key, size_t key_len, const uint8_t *new_pin,
	   size_t new_len)
{
	const struct ksp_cache_entry *ls;
	uint8_t *recs = NULL;
	size_t count = 0, i, pos;
	char **names = NULL;
	size_t nnames = 0;
	const char *nm;
	enum ksp_rv rv;

	if (!kc || !admin_key || !key_len || (!new_pin && new_len))
		return KSP_E_INVALID_ARG;
	rv = ksp_change_begin(kc);
	if (rv != KSP_OK)
		return rv;
	rv = admin_auth(kc, admin_key, key_len);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_bump_cardcf(kc, KSP_C_CONTAINERS | KSP_C_FILES);
	if (rv != KSP_OK)
		goto out;
	for (i = 0; i < kc->nconts; i++) {
		rv = ksp_rv_from_md(md_delete_container(kc->md, kc->conts[i].index, 0));
		if (rv != KSP_OK)
			goto out;
	}
	kc->view_ok = false;
	ksp_cache_drop(&kc->cache, KSP_C_CONTAINERS);
	/* Every certificate file in mscp, and mdp11's directory with its files. */
	for (int pass = 0; pass < 2; pass++) {
		const char *dir = pass == 0 ? KSP_DIR_MSCP : KSP_DIR_APP;

		bool had_dir;

		rv = ksp_load_listing(kc, dir, &ls);
		if (rv != KSP_OK)
			goto out;
		had_dir = !ls->absent; /* ls goes when the first file is deleted */
		pos = 0;
		while ((nm = ksp_next_name(ls, &pos))) {
			uint8_t idx;
			bool sig;
			char **grown;

			if (pass == 0 && !ksp_cert_file_parse(nm, &idx, &sig))
				continue;
			grown = realloc(names, (nnames + 1) * sizeof(*names));
			if (!grown || !(grown[nnames] = strdup(nm))) {
				names = grown ? grown : names;
				rv = KSP_E_NO_MEMORY;
				goto out;
			}
			names = grown;
			nnames++;
		}
		for (i = 0; i < nnames; i++) {
			rv = ksp_delete_file(kc, dir, names[i]);
			if (rv != KSP_OK)
				goto out;
			free(names[i]);
		}
		free(names);
		names = NULL;
		nnames = 0;
		if (pass == 1 && had_dir) {
			rv = ksp_rv_from_md(md_delete_directory(kc->md, KSP_DIR_APP));
			if (rv != KSP_OK && rv != KSP_E_DIR_NOT_FOUND)
				goto out;
			ksp_cache_drop_tag(&kc->cache, "ls:" KSP_DIR_APP);
		}
	}
	/*
	 * Records are zeroed, not removed: the GIDS keymap keeps one record per
	 * cmapfile record (spec/gids.md §5.6) and OpenSC checks the two agree.
	 */
	rv = ksp_cmap_get(kc, 0, &recs, &count);
	if (rv != KSP_OK)
		goto out;
	memset(recs, 0, count * KSP_CMAP_RECORD);
	rv = ksp_cmap_put(kc, recs, count);
	if (rv != KSP_OK)
		goto out;
	if (new_pin) {
		rv = unblock_intx(kc, admin_key, key_len, new_pin, new_len);
		if (rv != KSP_OK)
			goto out;
	}
	log_info("card re-personalised%s", new_pin ? " with a new PIN" : "");
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(recs);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
	if (ksp_rv_from_md(md_deauthenticate_ex(kc->md, MD_PIN_SET_ALL_ROLES, 0)) != KSP_OK) {
		/* No log out on this card: end our transaction with a reset and take a new one. */
		md_card_end(kc->md, true);
		md_card_begin(kc->md);
	}
	kc->user_in = kc->admin_in = false;
	mdp_secure_free(kc->admin_key, KSP_ADMIN_KEY_MAX);
	kc->admin_key = NULL;
	kc->admin_key_len = 0;
	drop_private(kc);
	return ksp_change_end(kc, rv);
}
