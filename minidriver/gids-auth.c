/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GIDS card module: PINs and the admin key (spec/gids.md §7). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "minidriver/gids-int.h"
#include "transport/apdu.h"

/* ---- PINs ---- */

/* The user PIN's retry counter from the PIN status DO (spec/gids.md §7.2, one GET DATA). */
enum md_rv
gids_pin_tries(struct md_card *card, struct md_pin_tries *pt)
{
	static const uint8_t tag[] = {0x5C, 0x02, 0x7F, 0x71};
	struct mdp_cursor v, t;
	struct mdp_buf b;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init(&b);
	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = gids_xfer(card, 0x00, 0xCB, 0x3F, 0xFF, tag, sizeof(tag), 256, &b, &sw);
	if (rv != MD_OK)
		goto out;
	/* tag 97 tries left (9F17 on older cards), tag 93 the limit */
	if (!MDP_SW_IS_OK(sw) || tlv_find(b.data, b.len, 0x7F71, &v) != MDP_OK ||
	    ((tlv_find(v.p + v.pos, cur_left(&v), 0x97, &t) != MDP_OK &&
	      tlv_find(v.p + v.pos, cur_left(&v), 0x9F17, &t) != MDP_OK) ||
	     cur_left(&t) != 1)) {
		rv = MD_E_UNSUPPORTED_FEATURE;
		goto out;
	}
	pt->version = MD_PIN_TRIES_VERSION;
	pt->left = t.p[t.pos];
	pt->max = MD_VALUE_UNKNOWN;
	if (tlv_find(v.p + v.pos, cur_left(&v), 0x93, &t) == MDP_OK && cur_left(&t) == 1)
		pt->max = t.p[t.pos];
out:
	buf_free(&b);
	return rv;
}

static enum md_rv
pin_result(uint16_t sw, uint32_t *tries_left)
{
	if ((sw & 0xFFF0) == 0x63C0) {
		if (tries_left)
			*tries_left = sw & 0x0F;
		return (sw & 0x0F) ? MD_W_WRONG_CHV : MD_W_CHV_BLOCKED;
	}
	if (sw == 0x6983) {
		if (tries_left)
			*tries_left = 0;
		return MD_W_CHV_BLOCKED;
	}
	return gids_sw_rv(sw);
}

/* Finish the §7.3 mutual authentication with the host's response to our challenge. */
static enum md_rv
admin_respond(struct md_card *card, const uint8_t *resp, size_t len)
{
	struct gids *g = G(card);
	uint8_t cmd[4 + GIDS_CHALLENGE_LEN];
	struct mdp_buf b;
	uint16_t sw = 0;
	enum md_rv rv;

	if (!g->challenge_valid)
		return MD_E_INVALID_PARAMETER;
	if (len != GIDS_CHALLENGE_LEN) {
		gids_wipe_challenge(g);
		return MD_W_WRONG_CHV;
	}
	cmd[0] = 0x7C;
	cmd[1] = 0x2A;
	cmd[2] = 0x82;
	cmd[3] = 0x28;
	memcpy(cmd + 4, resp, GIDS_CHALLENGE_LEN);
	buf_init_secret(&b);
	rv = gids_xfer(card, 0x00, 0x87, 0x00, 0x00, cmd, sizeof(cmd), 256, &b, &sw);
	gids_wipe_challenge(g);
	mdp_wipe(cmd, sizeof(cmd));
	if (rv != MD_OK)
		goto out;
	if (sw == 0x6982 || sw == 0x6A80 || sw == 0x6300) {
		rv = MD_W_WRONG_CHV;
		goto out;
	}
	if (!MDP_SW_IS_OK(sw)) {
		rv = gids_sw_rv(sw);
		goto out;
	}
	/* the card's cryptogram: 7C 2A 82 28 <40 bytes> (the key stays with the host, §7.3) */
	if (b.len != 44 || b.data[0] != 0x7C || b.data[2] != 0x82) {
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	g->authenticated |= MD_PIN_SET(MD_ROLE_ADMIN);
out:
	buf_free(&b);
	return rv;
}

enum md_rv
gids_authenticate_ex(struct md_card *card, uint32_t pin_id, uint32_t flags, const uint8_t *pin,
		     size_t pin_len, uint8_t **session_pin, size_t *session_pin_len,
		     uint32_t *tries_left)
{
	struct gids *g = G(card);
	uint16_t sw = 0;
	enum md_rv rv;

	if (flags & (MD_AUTH_GENERATE_SESSION_PIN | MD_AUTH_SESSION_PIN))
		return MD_E_UNSUPPORTED_FEATURE;
	if (pin_id != MD_ROLE_USER && pin_id != MD_ROLE_ADMIN)
		return MD_E_INVALID_PARAMETER;
	if (!pin || !pin_len || pin_len > 255)
		return MD_E_INVALID_PARAMETER;
	rv = gids_sync(card);
	if (rv != MD_OK)
		return rv;
	if (pin_id == MD_ROLE_ADMIN)
		return admin_respond(card, pin, pin_len);
	rv = gids_xfer(card, 0x00, 0x20, 0x00, 0x80, pin, pin_len, MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		return rv;
	if (MDP_SW_IS_OK(sw)) {
		g->authenticated |= MD_PIN_SET(MD_ROLE_USER);
		return MD_OK;
	}
	g->authenticated &= ~MD_PIN_SET(MD_ROLE_USER);
	return pin_result(sw, tries_left);
}

/*
 * Admin challenge (§7.3 mapped on CardGetChallenge, docs/minidriver.md):
 * MSE for the admin key, GENERAL AUTHENTICATE with our random R1, the card
 * answers R2. The challenge handed to the host is the plaintext the admin
 * key must encrypt, R2 || R1 || Z1 (40 bytes; Z1 = 7 random bytes || 80);
 * the response is its 3DES-CBC encryption under the admin key (zero IV).
 */
enum md_rv
gids_get_challenge_ex(struct md_card *card, uint32_t pin_id, uint8_t **challenge, size_t *len,
		      uint32_t flags)
{
	struct gids *g = G(card);
	uint8_t r1[16], cmd[4 + 16];
	struct mdp_buf b;
	struct mdp_cursor t, r2;
	uint16_t sw = 0;
	enum md_rv rv;

	if (pin_id != MD_ROLE_ADMIN)
		return MD_E_INVALID_PARAMETER;
	gids_wipe_challenge(g);
	buf_init(&b);
	rv = gids_sync(card);
	if (rv != MD_OK)
		goto out;
	rv = gids_xfer(card, 0x00, 0x22, 0xC1, 0xA4, (const uint8_t *)"\x83\x01\x80", 3,
		       MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		goto out;
	g->mse_valid = false;
	if (!MDP_SW_IS_OK(sw)) {
		rv = gids_sw_rv(sw);
		goto out;
	}
	if (RAND_bytes(r1, sizeof(r1)) != 1 || RAND_bytes(g->challenge + 32, 7) != 1) {
		rv = MD_E_UNEXPECTED;
		goto out;
	}
	cmd[0] = 0x7C;
	cmd[1] = 0x12;
	cmd[2] = 0x81;
	cmd[3] = 0x10;
	memcpy(cmd + 4, r1, 16);
	rv = gids_xfer(card, 0x00, 0x87, 0x00, 0x00, cmd, sizeof(cmd), 256, &b, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		rv = gids_sw_rv(sw);
		goto out;
	}
	if (tlv_find(b.data, b.len, 0x7C, &t) != MDP_OK ||
	    tlv_find(t.p + t.pos, cur_left(&t), 0x81, &r2) != MDP_OK || cur_left(&r2) != 16) {
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	memcpy(g->challenge, r2.p + r2.pos, 16);
	memcpy(g->challenge + 16, r1, 16);
	g->challenge[39] = 0x80;
	*challenge = mdp_memdup(g->challenge, GIDS_CHALLENGE_LEN);
	if (!*challenge) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	*len = GIDS_CHALLENGE_LEN;
	g->challenge_valid = true;
out:
	if (rv != MD_OK)
		gids_wipe_challenge(g);
	buf_free(&b);
	return rv;
}

enum md_rv
gids_deauthenticate_ex(struct md_card *card, uint32_t pin_set, uint32_t flags)
{
	struct gids *g = G(card);
	uint16_t sw = 0;
	enum md_rv rv;

	rv = gids_sync(card);
	if (rv != MD_OK)
		return rv;
	/* GIDS logs everyone out at once (VERIFY P2=82, §7.1) */
	rv = gids_xfer(card, 0x00, 0x20, 0x00, 0x82, NULL, 0, MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		return rv;
	g->authenticated = 0;
	g->mse_valid = false;
	return MDP_SW_IS_OK(sw) ? MD_OK : gids_sw_rv(sw);
}

enum md_rv
gids_change_authenticator_ex(struct md_card *card, uint32_t flags, uint32_t auth_id,
			     const uint8_t *auth, size_t auth_len, uint32_t target_id,
			     const uint8_t *target, size_t target_len, uint32_t retry,
			     uint32_t *tries_left)
{
	struct gids *g = G(card);
	uint32_t op = flags & ~MD_PIN_SILENT_CONTEXT;
	uint8_t *both = NULL;
	struct mdp_buf b;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init_secret(&b);
	rv = gids_sync(card);
	if (rv != MD_OK)
		goto out;
	if (op == MD_PIN_CHANGE_CHANGEPIN && target_id == MD_ROLE_USER) {
		if (auth_len + target_len > 255) {
			rv = MD_E_INVALID_PARAMETER;
			goto out;
		}
		both = malloc(auth_len + target_len);
		if (!both) {
			rv = MD_E_NO_MEMORY;
			goto out;
		}
		memcpy(both, auth, auth_len);
		memcpy(both + auth_len, target, target_len);
		rv = gids_xfer(card, 0x00, 0x24, 0x00, 0x80, both, auth_len + target_len,
			       MDP_APDU_NO_LE, NULL, &sw);
		if (rv != MD_OK)
			goto out;
		if (MDP_SW_IS_OK(sw))
			g->authenticated |= MD_PIN_SET(MD_ROLE_USER);
		else
			rv = pin_result(sw, tries_left);
		goto out;
	}
	if (op == MD_PIN_CHANGE_CHANGEPIN && target_id == MD_ROLE_ADMIN) {
		/* new 3DES admin key, imported like gids-tool does (§8.5) */
		if (target_len != 24) {
			rv = MD_E_INVALID_PARAMETER;
			goto out;
		}
		rv = admin_respond(card, auth, auth_len);
		if (rv != MD_OK)
			goto out;
		buf_put_tag(&b, 0x70);
		buf_put_len(&b, 0x24);
		buf_put_tlv(&b, 0x84, "\x80", 1);
		buf_put_tag(&b, 0xA5);
		buf_put_len(&b, 0x1F);
		buf_put_tlv(&b, 0x87, target, 24);
		buf_put_tlv(&b, 0x88, "\xB0\x73\xDC", 3);
		rv = gids_xfer(card, 0x00, 0xDB, 0x3F, 0xFF, b.data, b.len, MDP_APDU_NO_LE, NULL,
			       &sw);
		if (rv == MD_OK && !MDP_SW_IS_OK(sw))
			rv = gids_sw_rv(sw);
		goto out;
	}
	if (op == MD_PIN_CHANGE_UNBLOCK && auth_id == MD_ROLE_ADMIN && target_id == MD_ROLE_USER) {
		rv = admin_respond(card, auth, auth_len);
		if (rv != MD_OK)
			goto out;
		rv = gids_xfer(card, 0x00, 0x2C, 0x02, 0x80, target, target_len, MDP_APDU_NO_LE,
			       NULL, &sw);
		/* the card ends the admin authentication with the reset */
		g->authenticated &= ~MD_PIN_SET(MD_ROLE_ADMIN);
		if (rv == MD_OK && !MDP_SW_IS_OK(sw))
			rv = gids_sw_rv(sw);
		goto out;
	}
	rv = MD_E_INVALID_PARAMETER;
out:
	if (both)
		mdp_secure_free(both, auth_len + target_len);
	buf_free(&b);
	return rv;
}
