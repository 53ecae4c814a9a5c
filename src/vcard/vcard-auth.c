/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual GIDS card's authentication: security state, user PIN (§7.1), admin key (§7.3). */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

/* ---- security state ---- */

/* Forget the card key and every unsealed private key (a clear card key stays). */
void
vc_drop_secrets(struct vcard *vc)
{
	size_t i;

	for (i = 0; i < vc->st.n_files; i++) {
		EVP_PKEY_free(vc->st.files[i].cache);
		vc->st.files[i].cache = NULL;
	}
	mdp_wipe(vc->ck, sizeof(vc->ck));
	vc->ck_ok = false;
	for (i = 1; i < VC_CHANNELS; i++)
		vc->chans[i].mse = VC_MSE_NONE;
	for (i = 0; i < VC_CHANNELS; i++)
		vc_sctx_drop(vc, (unsigned)i);
	vc->secrets++;
	if (vc->st.has_ck_clear) {
		memcpy(vc->ck, vc->st.ck_clear, VC_CK_LEN);
		vc->ck_ok = true;
	}
	vc->mse = VC_MSE_NONE;
	vc->auth_stage = 0;
}

bool
vc_ck_available(struct vcard *vc)
{
	return vc->ck_ok;
}

void
vc_logout(struct vcard *vc)
{
	vc->pin_ok = false;
	vc->admin_ok = false;
	vc->pin_always = false;
	vc->pin_always_now = false;
	vc_drop_secrets(vc);
}

/* ---- PIN ---- */

static bool
pin_len_ok(size_t n)
{
	return n >= VC_PIN_MIN && n <= VC_PIN_MAX;
}

/* Compare a PIN by unwrapping the card key with it; the key lands in vc->ck. */
static bool
pin_matches(struct vcard *vc, const uint8_t *pin, size_t len)
{
	uint8_t kek[VC_CK_LEN], ck[VC_CK_LEN];
	bool ok = false;

	if (vc_pin_key(&vc->st, pin, len, vc->st.pin_salt, kek) == MDP_OK &&
	    vc_unwrap_ck(&vc->st, kek, "pin", vc->st.wrap_pin, ck) == MDP_OK) {
		memcpy(vc->ck, ck, VC_CK_LEN);
		vc->ck_ok = true;
		ok = true;
	}
	mdp_wipe(kek, sizeof(kek));
	mdp_wipe(ck, sizeof(ck));
	return ok;
}

/* Protect the card key (in vc->ck) with a new PIN: new salt, new wrap. */
static uint16_t
set_pin(struct vcard *vc, const uint8_t *pin, size_t len)
{
	uint8_t kek[VC_CK_LEN], salt[VC_SALT_LEN], wrap[VC_WRAP_LEN];
	uint16_t sw = SW_MEMORY_FAILURE;

	if (!vc->ck_ok)
		return SW_CONDITIONS;
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    vc_pin_key(&vc->st, pin, len, salt, kek) != MDP_OK ||
	    vc_wrap_ck(&vc->st, kek, "pin", vc->ck, wrap) != MDP_OK)
		goto out;
	memcpy(vc->st.pin_salt, salt, sizeof(salt));
	memcpy(vc->st.wrap_pin, wrap, sizeof(wrap));
	vc->st.pin_set = true;
	vc->st.pin_len = (uint8_t)len;
	vc->st.pin_left = vc->st.pin_max;
	vc->dirty = true;
	sw = SW_OK;
out:
	mdp_wipe(kek, sizeof(kek));
	return sw;
}

/*
 * One PIN comparison with the §7 rules: the retry counter is decremented and
 * saved before the comparison, restored and saved after a success.
 */
static uint16_t
check_pin(struct vcard *vc, const uint8_t *pin, size_t len)
{
	uint16_t sw;

	vc->st.pin_left--;
	sw = vc_commit(vc);
	if (sw)
		return sw;
	log_debug("counter saved, comparing the user PIN (%u tries left if wrong)",
		  (unsigned)vc->st.pin_left);
	if (!pin_matches(vc, pin, len)) {
		vc->pin_ok = false;
		if (!vc->admin_ok)
			vc_drop_secrets(vc);
		return SW_PIN_WRONG(vc->st.pin_left);
	}
	vc->st.pin_left = vc->st.pin_max;
	sw = vc_commit(vc);
	if (sw)
		return sw;
	vc->pin_ok = true;
	return SW_OK;
}

uint16_t
vc_cmd_verify(struct vcard *vc, const struct vc_cmd *c)
{
	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (c->p2 == 0x82) {
		/* GIDS logout: clears the PIN and the admin state (§7.1). */
		vc_logout(vc);
		return SW_OK;
	}
	if (c->p2 == 0x81)
		return SW_REF_NOT_FOUND; /* no PUK */
	if (c->p2 != 0x80)
		return SW_WRONG_P1P2;
	if (!vc->st.pin_set)
		return SW_REF_NOT_FOUND;
	if (vc->st.pin_left == 0)
		return SW_PIN_BLOCKED;
	if (c->lc == 0)
		return vc->pin_ok ? SW_OK : SW_PIN_WRONG(vc->st.pin_left);
	/* A PIN of impossible length is refused without spending a try (docs/vcard.md). */
	if (!pin_len_ok(c->lc))
		return SW_PIN_WRONG(vc->st.pin_left);
	return check_pin(vc, c->data, c->lc);
}

uint16_t
vc_cmd_change_ref(struct vcard *vc, const struct vc_cmd *c)
{
	size_t newlen;
	uint16_t sw;

	if (c->p2 == 0x81)
		return SW_REF_NOT_FOUND;
	if (c->p2 != 0x80)
		return SW_WRONG_P1P2;
	if (c->p1 == 0x01) {
		/* Set the PIN without the old one: initialization only (§10.1). */
		if (vc->st.app_lcs != VC_LCS_CREATION)
			return SW_NOT_ALLOWED;
		if (!pin_len_ok(c->lc))
			return SW_WRONG_LENGTH;
		return set_pin(vc, c->data, c->lc);
	}
	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (!vc->st.pin_set)
		return SW_REF_NOT_FOUND;
	if (vc->st.pin_left == 0)
		return SW_PIN_BLOCKED;
	/* old || new, split by the stored PIN length (§7.1). */
	if (c->lc <= vc->st.pin_len)
		return SW_WRONG_LENGTH;
	newlen = c->lc - vc->st.pin_len;
	if (!pin_len_ok(newlen))
		return SW_WRONG_LENGTH;
	sw = check_pin(vc, c->data, vc->st.pin_len);
	if (sw != SW_OK)
		return sw;
	return set_pin(vc, c->data + vc->st.pin_len, newlen);
}

uint16_t
vc_cmd_reset_retry(struct vcard *vc, const struct vc_cmd *c)
{
	uint16_t sw;

	if (vc->st.app_lcs == VC_LCS_CREATION)
		return SW_NOT_ALLOWED;
	if (c->p2 != 0x80)
		return c->p2 == 0x81 ? SW_REF_NOT_FOUND : SW_WRONG_P1P2;
	if (c->p1 == 0x00 || c->p1 == 0x01)
		return SW_REF_NOT_FOUND; /* unblock by PUK: this card has no PUK */
	if (c->p1 != 0x02)
		return SW_WRONG_P1P2;
	if (!vc->admin_ok)
		return SW_SECURITY;
	if (!pin_len_ok(c->lc))
		return SW_WRONG_LENGTH;
	sw = set_pin(vc, c->data, c->lc);
	if (sw != SW_OK)
		return sw;
	/* The admin state ends with the reset (§7.1). */
	vc->admin_ok = false;
	if (!vc->pin_ok)
		vc_drop_secrets(vc);
	return SW_OK;
}

/* ---- GENERAL AUTHENTICATE: admin key (§7.3) ---- */

/* 3DES-CBC, zero IV, no padding (what the Microsoft minidriver uses). */
static bool
des3(const uint8_t *key, bool enc, const uint8_t *in, size_t len, uint8_t *out)
{
	static const uint8_t iv[8] = {0};
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok;

	ok = ctx && EVP_CipherInit_ex2(ctx, EVP_des_ede3_cbc(), key, iv, enc ? 1 : 0, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 &&
	     EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && (size_t)(n + fin) == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

static void
admin_granted(struct vcard *vc, const uint8_t *key)
{
	uint8_t kek[VC_CK_LEN], ck[VC_CK_LEN];

	vc->admin_ok = true;
	vc->auth_stage = 0;
	if (vc->st.has_wrap_admin && !vc->ck_ok &&
	    vc_admin_wrap_key(&vc->st, key, VCARD_ADMIN_KEY_LEN, kek) == MDP_OK &&
	    vc_unwrap_ck(&vc->st, kek, "admin", vc->st.wrap_admin, ck) == MDP_OK) {
		memcpy(vc->ck, ck, VC_CK_LEN);
		vc->ck_ok = true;
	}
	mdp_wipe(kek, sizeof(kek));
	mdp_wipe(ck, sizeof(ck));
}

uint16_t
vc_admin_auth(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct mdp_cursor cur, tpl, ch, rsp;
	struct vc_file *f;
	uint8_t buf[40], plain[40];
	uint32_t tag;
	bool has_ch, has_rsp;
	size_t m;
	uint16_t sw = SW_SECURITY;

	if (vc->st.app_lcs == VC_LCS_CREATION)
		return SW_NOT_ALLOWED;
	if (c->p1 != 0x00 || c->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (vc->mse != VC_MSE_AUTH)
		return SW_CONDITIONS;
	f = vc_key_file(vc, 0x80);
	if (!f || f->key_type != VC_KEY_SYM || f->sym_len != VCARD_ADMIN_KEY_LEN)
		return SW_REF_NOT_FOUND;
	cur_init(&cur, c->data, c->lc);
	if (tlv_read(&cur, &tag, &tpl) != MDP_OK || tag != 0x7C) {
		vc->auth_stage = 0;
		return SW_WRONG_DATA;
	}
	has_ch = tlv_find(tpl.p, tpl.len, 0x81, &ch) == MDP_OK;
	has_rsp = tlv_find(tpl.p, tpl.len, 0x82, &rsp) == MDP_OK;
	if (has_ch && !has_rsp && ch.len == 16) {
		/* Mutual authentication, step 1: keep R1, answer R2. */
		memcpy(vc->auth_r1, ch.p, 16);
		if (RAND_bytes(vc->auth_r2, 16) != 1)
			return SW_MEMORY_FAILURE;
		vc->auth_stage = 1;
		m = buf_tlv_open(out, 0x7C);
		buf_put_tlv(out, 0x81, vc->auth_r2, 16);
		buf_tlv_close(out, m);
		return SW_OK;
	}
	if (has_ch && !has_rsp && ch.len == 0) {
		/* External authentication: an 8-byte challenge. */
		if (RAND_bytes(vc->auth_r2, 8) != 1)
			return SW_MEMORY_FAILURE;
		vc->auth_stage = 2;
		m = buf_tlv_open(out, 0x7C);
		buf_put_tlv(out, 0x81, vc->auth_r2, 8);
		buf_tlv_close(out, m);
		return SW_OK;
	}
	if (has_rsp && !has_ch && vc->auth_stage == 1 && rsp.len == 40) {
		vc->auth_stage = 0;
		if (!des3(f->sym, false, rsp.p, 40, plain))
			goto out;
		if (mdp_memeq_ct(plain, vc->auth_r2, 16) != 0 ||
		    mdp_memeq_ct(plain + 16, vc->auth_r1, 16) != 0 || plain[39] != 0x80)
			goto out;
		/* C2 = 3DES(K, R1 || R2 || Z2), Z2 = 7 random bytes || 80. */
		memcpy(buf, vc->auth_r1, 16);
		memcpy(buf + 16, vc->auth_r2, 16);
		if (RAND_bytes(buf + 32, 7) != 1) {
			sw = SW_MEMORY_FAILURE;
			goto out;
		}
		buf[39] = 0x80;
		if (!des3(f->sym, true, buf, 40, plain)) {
			sw = SW_MEMORY_FAILURE;
			goto out;
		}
		admin_granted(vc, f->sym);
		m = buf_tlv_open(out, 0x7C);
		buf_put_tlv(out, 0x82, plain, 40);
		buf_tlv_close(out, m);
		sw = SW_OK;
		goto out;
	}
	if (has_rsp && !has_ch && vc->auth_stage == 2 && rsp.len == 8) {
		vc->auth_stage = 0;
		if (!des3(f->sym, true, vc->auth_r2, 8, plain) ||
		    mdp_memeq_ct(plain, rsp.p, 8) != 0)
			goto out;
		admin_granted(vc, f->sym);
		sw = SW_OK;
		goto out;
	}
	vc->auth_stage = 0;
	sw = has_rsp ? SW_SECURITY : SW_WRONG_DATA;
out:
	if (sw == SW_SECURITY && vc->admin_ok) {
		vc->admin_ok = false;
		if (!vc->pin_ok)
			vc_drop_secrets(vc);
	}
	mdp_wipe(plain, sizeof(plain));
	mdp_wipe(buf, sizeof(buf));
	return sw;
}
