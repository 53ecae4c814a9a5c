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

/* Forget the card key and every unsealed private key. */
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
	mdp_wipe(vc->dk, sizeof(vc->dk));
	vc->dk_ok = false;
	for (i = 1; i < VC_CHANNELS; i++)
		vc->chans[i].mse = VC_MSE_NONE;
	for (i = 0; i < VC_CHANNELS; i++)
		vc_sctx_drop(vc, (unsigned)i);
	vc->secrets++;
	vc->mse = VC_MSE_NONE;
	vc->auth_stage = 0;
}

uint16_t
vc_unseal_failed(struct vcard *vc, enum mdp_err err)
{
	if (err == MDP_ERR_SEAL)
		return vc_seal_failed(vc);
	log_error("a sealed secret of the card does not open: %s", mdp_err_last());
	vc->io_err = err;
	return SW_MEMORY_FAILURE;
}

uint16_t
vc_item_fixed(struct vcard *vc, uint32_t id, uint8_t *out, size_t len)
{
	uint8_t *p = NULL;
	size_t n = 0;
	enum mdp_err err;

	err = vc_item_get(vc, id, &p, &n);
	if (!err && n != len)
		err = mdp_err_reason(MDP_ERR_STATE, "state file: sealed item %08x has %zu bytes",
				     (unsigned)id, n);
	if (err) {
		mdp_secure_free(p, n);
		return vc_unseal_failed(vc, err);
	}
	memcpy(out, p, len);
	mdp_secure_free(p, n);
	return SW_OK;
}

uint16_t
vc_ck_from_seal(struct vcard *vc)
{
	uint16_t sw = vc_item_fixed(vc, VC_ITEM_CK, vc->ck, VC_CK_LEN);

	vc->ck_ok = sw == SW_OK;
	return sw;
}

uint16_t
vc_need_ck(struct vcard *vc)
{
	if (vc->ck_ok)
		return SW_OK;
	if (!vc->st.ck_open)
		return SW_SECURITY;
	return vc_ck_from_seal(vc);
}

enum mdp_err
vc_ck_to_seal(struct vcard *vc)
{
	return vc_item_put(vc, VC_ITEM_CK, vc->ck, VC_CK_LEN);
}

uint16_t
vc_need_dk(struct vcard *vc)
{
	uint16_t sw;

	if (vc->dk_ok)
		return SW_OK;
	sw = vc_item_fixed(vc, VC_ITEM_DK, vc->dk, VC_CK_LEN);
	vc->dk_ok = sw == SW_OK;
	return sw;
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

/*
 * Compare a PIN by unwrapping the card key with it (the key lands in vc->ck). The KDF result of
 * a PIN proved right is kept for this handle, so the same PIN again costs no KDF.
 */
static bool
pin_matches(struct vcard *vc, const uint8_t wrap[VC_WRAP_LEN], const uint8_t *pin, size_t len)
{
	uint8_t kek[VC_CK_LEN], ck[VC_CK_LEN];
	bool ok = false;

	if (vc_pin_kdf(vc, pin, len, vc->st.pin_salt, vc->st.kdf_cost, kek) == MDP_OK &&
	    vc_unwrap_ck(&vc->st, kek, "pin", wrap, ck) == MDP_OK) {
		memcpy(vc->ck, ck, VC_CK_LEN);
		vc->ck_ok = true;
		vc_pin_kdf_keep(vc, pin, len, vc->st.pin_salt, vc->st.kdf_cost, kek);
		ok = true;
	}
	mdp_wipe(kek, sizeof(kek));
	mdp_wipe(ck, sizeof(ck));
	return ok;
}

/* Protect the card key (in vc->ck) with a new PIN: new salt, new wrap, sealed. */
static uint16_t
set_pin(struct vcard *vc, const uint8_t *pin, size_t len)
{
	uint8_t kek[VC_CK_LEN], salt[VC_SALT_LEN], wrap[VC_WRAP_LEN];
	uint16_t sw;
	enum mdp_err err;

	sw = vc_need_ck(vc);
	if (sw != SW_OK)
		return sw == SW_SECURITY ? SW_CONDITIONS : sw;
	sw = SW_MEMORY_FAILURE;
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    vc_scrypt(pin, len, salt, vc->st.kdf_cost, kek) != MDP_OK ||
	    vc_wrap_ck(&vc->st, kek, "pin", vc->ck, wrap) != MDP_OK)
		goto out;
	err = vc_item_put(vc, VC_ITEM_PIN, wrap, sizeof(wrap));
	if (err) {
		sw = vc_unseal_failed(vc, err);
		goto out;
	}
	memcpy(vc->st.pin_salt, salt, sizeof(salt));
	vc->st.pin_set = true;
	vc->st.pin_len = (uint8_t)len;
	vc->st.pin_left = vc->st.pin_max;
	vc->dirty = true;
	vc_pin_kdf_keep(vc, pin, len, salt, vc->st.kdf_cost, kek);
	sw = SW_OK;
out:
	mdp_wipe(kek, sizeof(kek));
	mdp_wipe(wrap, sizeof(wrap));
	return sw;
}

/*
 * One PIN comparison with the §7 rules: the retry counter is decremented and saved before the
 * comparison, restored and saved after a success. A card whose seal is missing cannot compare:
 * it says so and spends no try.
 */
static uint16_t
check_pin(struct vcard *vc, const uint8_t *pin, size_t len)
{
	uint8_t wrap[VC_WRAP_LEN];
	uint16_t sw;

	sw = vc_item_fixed(vc, VC_ITEM_PIN, wrap, sizeof(wrap));
	if (sw != SW_OK)
		return sw;
	vc->st.pin_left--;
	sw = vc_commit(vc);
	if (sw)
		goto out;
	log_debug("counter saved, comparing the user PIN (%u tries left if wrong)",
		  (unsigned)vc->st.pin_left);
	if (!pin_matches(vc, wrap, pin, len)) {
		vc->pin_ok = false;
		if (!vc->admin_ok)
			vc_drop_secrets(vc);
		sw = SW_PIN_WRONG(vc->st.pin_left);
		goto out;
	}
	/* the counter back: losing this write in an OS crash would only cost the user a try */
	vc->st.pin_left = vc->st.pin_max;
	sw = vc_commit_lazy(vc);
	if (sw)
		goto out;
	vc->pin_ok = true;
	sw = SW_OK;
out:
	mdp_wipe(wrap, sizeof(wrap));
	return sw;
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

	return vc_cipher_raw(EVP_des_ede3_cbc(), key, iv, enc, in, len, out);
}

void
vc_admin_granted(struct vcard *vc)
{
	vc->admin_ok = true;
	vc->auth_stage = 0;
	if (vc->st.ck_admin && !vc->ck_ok && vc_ck_from_seal(vc) != SW_OK) {
		/* the seal answered a moment ago: a damaged item; the admin has no card key */
		vc->io_err = MDP_OK;
		log_error("the admin path's card key does not open: %s", mdp_err_last());
	}
}

/* The admin key of B080, unsealed: SW_OK, or the SW of a missing seal. */
static uint16_t
admin_key(struct vcard *vc, const struct vc_file *f, uint8_t key[VC_SYM_MAX])
{
	size_t len = 0;
	enum mdp_err err;

	err = vc_sym_get(vc, f, key, &len);
	if (err)
		return vc_unseal_failed(vc, err);
	if (len != VCARD_ADMIN_KEY_LEN) {
		mdp_wipe(key, VC_SYM_MAX);
		return SW_REF_NOT_FOUND;
	}
	return SW_OK;
}

uint16_t
vc_import_admin_key(struct vcard *vc, struct vc_file *f, const uint8_t *key, size_t len)
{
	struct vc_file tmp;
	uint16_t sw;
	enum mdp_err err;

	if (len != VCARD_ADMIN_KEY_LEN)
		return SW_WRONG_DATA;
	/* The admin path must reach the card key, so it must be known now. */
	sw = vc_need_ck(vc);
	if (sw != SW_OK)
		return sw;
	memset(&tmp, 0, sizeof(tmp));
	tmp.fid = f->fid;
	err = vc_sym_set(vc, &tmp, key, len);
	if (!err) {
		err = vc_ck_to_seal(vc);
		if (err)
			mdp_secure_free(tmp.sym, tmp.sym_len);
	}
	if (err)
		return vc_unseal_failed(vc, err);
	vc_file_clear_key(f);
	f->sym = tmp.sym;
	f->sym_len = tmp.sym_len;
	f->key_type = VC_KEY_SYM;
	f->alg = 0x02;
	vc->st.ck_admin = true;
	vc->dirty = true;
	return SW_OK;
}

uint16_t
vc_admin_auth(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct mdp_cursor cur, tpl, ch, rsp;
	struct vc_file *f;
	uint8_t buf[40], plain[40], key[VC_SYM_MAX];
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
	if (!f || f->key_type != VC_KEY_SYM)
		return SW_REF_NOT_FOUND;
	cur_init(&cur, c->data, c->lc);
	if (tlv_read(&cur, &tag, &tpl) != MDP_OK || tag != 0x7C) {
		vc->auth_stage = 0;
		return SW_WRONG_DATA;
	}
	/* The card's side of the protocol needs the admin key itself (docs/vcard.md, Seal). */
	sw = admin_key(vc, f, key);
	if (sw != SW_OK) {
		vc->auth_stage = 0;
		return sw;
	}
	sw = SW_SECURITY;
	has_ch = tlv_find(tpl.p, tpl.len, 0x81, &ch) == MDP_OK;
	has_rsp = tlv_find(tpl.p, tpl.len, 0x82, &rsp) == MDP_OK;
	if (has_ch && !has_rsp && ch.len == 16) {
		/* Mutual authentication, step 1: keep R1, answer R2. */
		memcpy(vc->auth_r1, ch.p, 16);
		if (RAND_bytes(vc->auth_r2, 16) != 1) {
			sw = SW_MEMORY_FAILURE;
			goto out;
		}
		vc->auth_stage = 1;
		m = buf_tlv_open(out, 0x7C);
		buf_put_tlv(out, 0x81, vc->auth_r2, 16);
		buf_tlv_close(out, m);
		sw = SW_OK;
		goto out;
	}
	if (has_ch && !has_rsp && ch.len == 0) {
		/* External authentication: an 8-byte challenge. */
		if (RAND_bytes(vc->auth_r2, 8) != 1) {
			sw = SW_MEMORY_FAILURE;
			goto out;
		}
		vc->auth_stage = 2;
		m = buf_tlv_open(out, 0x7C);
		buf_put_tlv(out, 0x81, vc->auth_r2, 8);
		buf_tlv_close(out, m);
		sw = SW_OK;
		goto out;
	}
	if (has_rsp && !has_ch && vc->auth_stage == 1 && rsp.len == 40) {
		vc->auth_stage = 0;
		if (!des3(key, false, rsp.p, 40, plain))
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
		if (!des3(key, true, buf, 40, plain)) {
			sw = SW_MEMORY_FAILURE;
			goto out;
		}
		vc_admin_granted(vc);
		m = buf_tlv_open(out, 0x7C);
		buf_put_tlv(out, 0x82, plain, 40);
		buf_tlv_close(out, m);
		sw = SW_OK;
		goto out;
	}
	if (has_rsp && !has_ch && vc->auth_stage == 2 && rsp.len == 8) {
		vc->auth_stage = 0;
		if (!des3(key, true, vc->auth_r2, 8, plain) || mdp_memeq_ct(plain, rsp.p, 8) != 0)
			goto out;
		vc_admin_granted(vc);
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
	mdp_wipe(key, sizeof(key));
	return sw;
}
