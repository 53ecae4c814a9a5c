/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The virtual PIV card (YubiKey-compatible, spec/piv.md §10): selection, data objects, PIN and
 * PUK, the YubiKey management commands, the initial state. Key commands are in piv-keys.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/piv-int.h"

/* The YubiKey 5 ATR (T=1; historical bytes carry "YubiKey"), spec/piv.md §3. */
const uint8_t vc_piv_atr[23] = {0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE,
				0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59,
				0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40};

/* §2.1 */
static const uint8_t piv_aid[11] = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
				    0x00, 0x10, 0x00, 0x01, 0x00};
static const uint8_t mgmt_aid[8] = {0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17};
static const uint8_t otp_aid[8] = {0xA0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01, 0x01};

static const uint8_t default_pin[PIV_BLOCK] = {'1', '2', '3', '4', '5', '6', 0xFF, 0xFF};
static const uint8_t default_puk[PIV_BLOCK] = {'1', '2', '3', '4', '5', '6', '7', '8'};

const uint8_t piv_key_slots[24] = {0x9A, 0x9C, 0x9D, 0x9E, 0x82, 0x83, 0x84, 0x85,
				   0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D,
				   0x8E, 0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95};

/* Objects readable only after VERIFY (§2.2): fingerprints, facial image, printed, iris. */
static bool
pin_protected(uint32_t tag)
{
	return tag == 0x5FC103 || tag == 0x5FC108 || tag == 0x5FC109 || tag == 0x5FC121;
}

bool
piv_key_slot(uint8_t slot)
{
	return (slot >= 0x9A && slot <= 0x9E && slot != PIV_SLOT_MGM) ||
	       (slot >= 0x82 && slot <= 0x95);
}

struct vc_file *
piv_slot(struct vcard *vc, uint8_t slot)
{
	struct vc_file *f;

	if (!piv_key_slot(slot) && slot != PIV_SLOT_MGM)
		return NULL;
	f = vc_find_file(&vc->st, (uint16_t)(0xB000 | slot));
	return f && f->desc == VC_DESC_KEY ? f : NULL;
}

bool
piv_version_ge(const struct vc_state *st, uint8_t major, uint8_t minor)
{
	const uint8_t *v = st->piv.version;

	return v[0] > major || (v[0] == major && v[1] >= minor);
}

size_t
piv_mgm_key_len(uint8_t alg, size_t *block)
{
	*block = alg == 0x03 ? 8 : 16;
	switch (alg) {
	case 0x03:
	case 0x0A:
		return 24;
	case 0x08:
		return 16;
	case 0x0C:
		return 32;
	default:
		return 0;
	}
}

void
piv_mgm_default(uint8_t *key, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		key[i] = (uint8_t)(i % 8 + 1);
}

uint8_t
piv_mgm_default_alg(const uint8_t version[3])
{
	return version[0] > 5 || (version[0] == 5 && version[1] >= 7) ? 0x0A : 0x03;
}

/*
 * A PIN or PUK as the card receives it: 8 bytes, 6..8 of value, padded with FF (spec/piv.md
 * §2.5). A value holding FF itself would be ambiguous and is not accepted as a new value.
 */
static bool
block_well_formed(const uint8_t b[PIV_BLOCK])
{
	size_t n = 0, i;

	while (n < PIV_BLOCK && b[n] != 0xFF)
		n++;
	for (i = n; i < PIV_BLOCK; i++) {
		if (b[i] != 0xFF)
			return false;
	}
	return n >= 6;
}

static void
set_flag(struct vcard *vc, uint8_t flag, bool on)
{
	if (on)
		vc->st.piv.flags |= flag;
	else
		vc->st.piv.flags &= (uint8_t)~flag;
}

/* ---- the initial state ---- */

/* CHUID of the YubiKey tools (§5.1): FASC-N of agency 9999, a random GUID, expiry 2030. */
static void
make_chuid(uint8_t out[59], const uint8_t guid[16])
{
	static const uint8_t head[29] = {0x30, 0x19, 0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39,
					 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08, 0x42, 0x10,
					 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB, 0x34, 0x10};
	static const uint8_t tail[14] = {0x35, 0x08, '2', '0',	'3',  '0',  '0',
					 '1',  '0',  '1', 0x3E, 0x00, 0xFE, 0x00};

	memcpy(out, head, sizeof(head));
	memcpy(out + 29, guid, 16);
	memcpy(out + 45, tail, sizeof(tail));
}

/* CCC of the YubiKey tools (§5.2): GSC-IS RID, manufacturer FF, type 02, a random card id. */
static void
make_ccc(uint8_t out[51], const uint8_t id[14])
{
	static const uint8_t head[9] = {0xF0, 0x15, 0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02};
	static const uint8_t tail[28] = {0xF1, 0x01, 0x21, 0xF2, 0x01, 0x21, 0xF3, 0x00, 0xF4, 0x01,
					 0x00, 0xF5, 0x01, 0x10, 0xF6, 0x00, 0xF7, 0x00, 0xFA, 0x00,
					 0xFB, 0x00, 0xFC, 0x00, 0xFD, 0x00, 0xFE, 0x00};

	memcpy(out, head, sizeof(head));
	memcpy(out + 9, id, 14);
	memcpy(out + 23, tail, sizeof(tail));
}

static enum mdp_err
param_block(const char *value, const uint8_t *dflt, const char *what, uint8_t out[PIV_BLOCK])
{
	size_t n;

	if (!value) {
		memcpy(out, dflt, PIV_BLOCK);
		return MDP_OK;
	}
	n = strlen(value);
	if (n < 6 || n > PIV_BLOCK || memchr(value, 0xFF, n))
		return mdp_err_reason(MDP_ERR_ARGS, "the %s must have 6 to 8 bytes", what);
	memset(out, 0xFF, PIV_BLOCK);
	memcpy(out, value, n);
	return MDP_OK;
}

/*
 * The card key (vc->ck) wrapped under a PIN or PUK block (the comparison of VERIFY is this
 * unwrap) with a new salt, into its sealed item; the KDF result is kept for the next VERIFY.
 */
static enum mdp_err
wrap_block(struct vcard *vc, const uint8_t block[PIV_BLOCK], uint32_t item, const char *label,
	   uint8_t salt[VC_SALT_LEN])
{
	uint8_t kek[VC_CK_LEN], wrap[VC_WRAP_LEN], new_salt[VC_SALT_LEN];
	enum mdp_err err = MDP_ERR_CRYPTO;

	if (RAND_bytes(new_salt, VC_SALT_LEN) == 1) {
		err = vc_scrypt(block, PIV_BLOCK, new_salt, vc->st.kdf_cost, kek);
		if (!err)
			err = vc_wrap_ck(&vc->st, kek, label, vc->ck, wrap);
		if (!err)
			err = vc_item_put(vc, item, wrap, sizeof(wrap));
		if (!err) {
			memcpy(salt, new_salt, VC_SALT_LEN);
			vc_pin_kdf_keep(vc, block, PIV_BLOCK, salt, vc->st.kdf_cost, kek);
		}
	}
	mdp_wipe(kek, sizeof(kek));
	mdp_wipe(wrap, sizeof(wrap));
	return err;
}

static enum mdp_err
check_piv_params(const struct vcard_init_params *p, uint8_t version[3], uint8_t *alg, size_t *klen)
{
	size_t block;

	if (p->version[0] || p->version[1] || p->version[2])
		memcpy(version, p->version, 3);
	if (version[0] < 4)
		return mdp_err_reason(MDP_ERR_ARGS,
				      "a PIV card version below 4.0.0 is not offered");
	*alg = p->mgm_alg ? p->mgm_alg : piv_mgm_default_alg(version);
	*klen = piv_mgm_key_len(*alg, &block);
	if (!*klen)
		return mdp_err_reason(MDP_ERR_ARGS,
				      "management key algorithm %02X: use 03 (3DES), 08, 0A or 0C "
				      "(AES-128/192/256)",
				      *alg);
	if (*alg != 0x03 && (version[0] < 5 || (version[0] == 5 && version[1] < 4)))
		return mdp_err_reason(MDP_ERR_ARGS,
				      "AES management keys need version 5.4 or later");
	if (p->admin_key && (p->admin_key_len ? p->admin_key_len : 24) != *klen)
		return mdp_err_reason(MDP_ERR_ARGS,
				      "a management key for algorithm %02X has %zu bytes", *alg,
				      *klen);
	if (p->pin_tries > 255 || p->puk_tries > 255)
		return mdp_err_reason(MDP_ERR_ARGS, "at most 255 PIN or PUK tries");
	return MDP_OK;
}

enum mdp_err
vc_piv_check_params(const struct vcard_init_params *p)
{
	uint8_t version[3] = {5, 4, 3}, alg = 0, pin[PIV_BLOCK], puk[PIV_BLOCK];
	size_t klen = 0;
	enum mdp_err err;

	err = check_piv_params(p, version, &alg, &klen);
	if (!err)
		err = param_block(p->pin, default_pin, "PIN", pin);
	if (!err)
		err = param_block(p->puk, default_puk, "PUK", puk);
	mdp_wipe(pin, sizeof(pin));
	mdp_wipe(puk, sizeof(puk));
	return err;
}

static enum mdp_err
add_objects_and_slots(struct vcard *vc, uint8_t alg, const uint8_t *key, size_t klen)
{
	struct vc_state *st = &vc->st;
	uint8_t guid[16], ccc_id[14], chuid[59], ccc[51];
	struct vc_file *f = NULL;
	enum mdp_err err;
	size_t i;

	if (RAND_bytes(guid, sizeof(guid)) != 1 || RAND_bytes(ccc_id, sizeof(ccc_id)) != 1)
		return MDP_ERR_CRYPTO;
	make_chuid(chuid, guid);
	make_ccc(ccc, ccc_id);
	err = vc_add_file(st, VC_PIV_OBJ_FID, VC_DESC_EF, NULL, 0, &f);
	if (err)
		return err;
	if (vc_store_do(f, 0x5FC102, chuid, sizeof(chuid)) != SW_OK ||
	    vc_store_do(f, 0x5FC107, ccc, sizeof(ccc)) != SW_OK)
		return MDP_ERR_NOMEM;
	err = vc_add_file(st, 0xB000 | PIV_SLOT_MGM, VC_DESC_KEY, NULL, 0, &f);
	if (err)
		return err;
	f->crt = calloc(1, VC_PIV_ATTR_LEN);
	if (!f->crt)
		return MDP_ERR_NOMEM;
	f->crt_len = VC_PIV_ATTR_LEN;
	f->crt[VC_PIV_ATTR_TOUCH] = PIV_TOUCH_NEVER;
	f->key_type = VC_KEY_SYM;
	f->alg = alg;
	err = vc_sym_set(vc, f, key, klen);
	if (err)
		return err;
	for (i = 0; i < sizeof(piv_key_slots); i++) {
		err = vc_add_file(st, 0xB000 | piv_key_slots[i], VC_DESC_KEY, NULL, 0, &f);
		if (err)
			return err;
	}
	return MDP_OK;
}

/*
 * A YubiKey as it leaves the factory, plus a CHUID and a CCC (Windows and OpenSC key their
 * caches and serial on the CHUID; docs/vcard-piv.md), into vc->st (uuid, seal and KDF cost set).
 * Its secrets are sealed by the card's seal: the PIN and PUK wraps of the card key, the card key
 * for the SO's path, the device key, the management key.
 */
enum mdp_err
vc_piv_build(struct vcard *vc, const struct vcard_init_params *p)
{
	struct vc_state *st = &vc->st;
	uint8_t pin[PIV_BLOCK], puk[PIV_BLOCK], mgm[32], alg = 0;
	uint8_t serial[4];
	size_t klen = 0;
	enum mdp_err err;

	st->piv.version[0] = 5;
	st->piv.version[1] = 4;
	st->piv.version[2] = 3;
	err = check_piv_params(p, st->piv.version, &alg, &klen);
	if (!err)
		err = param_block(p->pin, default_pin, "PIN", pin);
	if (!err)
		err = param_block(p->puk, default_puk, "PUK", puk);
	if (err)
		goto out;
	if (p->admin_key)
		memcpy(mgm, p->admin_key, klen);
	else
		piv_mgm_default(mgm, klen);
	st->type = VCARD_TYPE_PIV;
	st->app_lcs = VC_LCS_OPERATIONAL;
	st->pin_set = true;
	st->pin_len = PIV_BLOCK;
	st->pin_max = p->pin_tries ? (uint8_t)p->pin_tries : VC_DEFAULT_TRIES;
	st->pin_left = st->pin_max;
	st->piv.puk_max = p->puk_tries ? (uint8_t)p->puk_tries : VC_DEFAULT_TRIES;
	st->piv.puk_left = st->piv.puk_max;
	st->piv.serial = p->piv_serial;
	err = MDP_ERR_CRYPTO;
	if (RAND_bytes(vc->ck, VC_CK_LEN) != 1 || RAND_bytes(vc->dk, VC_CK_LEN) != 1 ||
	    RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	vc->ck_ok = true;
	vc->dk_ok = true;
	if (!st->piv.serial) { /* eight decimal digits, as a YubiKey 5's */
		struct mdp_cursor cur;

		cur_init(&cur, serial, sizeof(serial));
		st->piv.serial = 10000000u + cur_get_be32(&cur) % 90000000u;
	}
	st->piv.flags =
		(uint8_t)((mdp_memeq_ct(pin, default_pin, PIV_BLOCK) == 0 ? VC_PIV_DEFAULT_PIN
									  : 0) |
			  (mdp_memeq_ct(puk, default_puk, PIV_BLOCK) == 0 ? VC_PIV_DEFAULT_PUK
									  : 0));
	if (!p->admin_key)
		st->piv.flags |= VC_PIV_DEFAULT_MGM;
	err = wrap_block(vc, pin, VC_ITEM_PIN, "pin", st->pin_salt);
	if (!err)
		err = wrap_block(vc, puk, VC_ITEM_PUK, "puk", st->piv.puk_salt);
	if (!err)
		err = vc_ck_to_seal(vc);
	if (!err)
		err = vc_item_put(vc, VC_ITEM_DK, vc->dk, VC_CK_LEN);
	if (!err)
		err = add_objects_and_slots(vc, alg, mgm, klen);
	if (!err)
		st->ck_admin = true;
out:
	mdp_wipe(pin, sizeof(pin));
	mdp_wipe(puk, sizeof(puk));
	mdp_wipe(mgm, sizeof(mgm));
	return err;
}

void
vc_piv_info(struct vcard *vc, struct vcard_info *info)
{
	struct vcard_info r;
	struct vc_file *f, *ef = vc_find_file(&vc->st, VC_PIV_OBJ_FID);
	struct vc_do *chuid = ef ? vc_find_do(ef, 0x5FC102) : NULL;
	struct mdp_cursor guid;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.type = VCARD_TYPE_PIV;
	r.initialized = true;
	r.format_version = vc->st.format;
	r.kdf_cost = vc->st.kdf_cost;
	r.pin_tries_left = vc->st.pin_left;
	r.pin_tries_max = vc->st.pin_max;
	r.puk_tries_left = vc->st.piv.puk_left;
	r.puk_tries_max = vc->st.piv.puk_max;
	r.piv_serial = vc->st.piv.serial;
	memcpy(r.version, vc->st.piv.version, 3);
	r.pin_default = (vc->st.piv.flags & VC_PIV_DEFAULT_PIN) != 0;
	r.puk_default = (vc->st.piv.flags & VC_PIV_DEFAULT_PUK) != 0;
	r.mgm_default = (vc->st.piv.flags & VC_PIV_DEFAULT_MGM) != 0;
	f = piv_slot(vc, PIV_SLOT_MGM);
	r.mgm_alg = f ? f->alg : 0;
	if (chuid && tlv_find(chuid->val, chuid->len, 0x34, &guid) == MDP_OK && guid.len == 16) {
		memcpy(r.cardid, guid.p, 16);
		r.cardid_len = 16;
	}
	r.data_objects = ef ? (unsigned)ef->n_dos : 0;
	for (i = 0; i < sizeof(piv_key_slots); i++) {
		f = piv_slot(vc, piv_key_slots[i]);
		if (f && f->key_type != VC_KEY_NONE) {
			r.slots[r.n_slots] = piv_key_slots[i];
			r.slot_algs[r.n_slots++] = f->alg;
		}
	}
	r.key_files = (unsigned)r.n_slots;
	*info = r;
}

/* ---- SELECT ---- */

static uint16_t
cmd_select(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	/* §2.1: 61{4F PIX, 79{4F RID}} */
	static const uint8_t apt[19] = {0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
					0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08};
	uint16_t app;

	if (c->p1 != 0x04)
		return SW_FILE_NOT_FOUND; /* no files: path and FID probes of other drivers fail */
	if (c->p2 != 0x00 && c->p2 != 0x0C)
		return SW_WRONG_P1P2;
	if (c->lc >= 5 && c->lc <= sizeof(piv_aid) && memcmp(c->data, piv_aid, c->lc) == 0)
		app = PIV_APP_PIV;
	else if (c->lc == sizeof(mgmt_aid) && memcmp(c->data, mgmt_aid, c->lc) == 0)
		app = PIV_APP_MGMT;
	else if (c->lc == sizeof(otp_aid) && memcmp(c->data, otp_aid, c->lc) == 0)
		app = PIV_APP_OTP;
	else
		return SW_FILE_NOT_FOUND;
	/*
	 * Another application starts with a clean security state; re-selecting PIV keeps it, as a
	 * YubiKey 5 does (§3).
	 */
	if (app != vc->cur_fid || app != PIV_APP_PIV)
		vc_logout(vc);
	vc->cur_fid = app;
	if (app == PIV_APP_PIV && c->p2 == 0x00)
		buf_put_bytes(out, apt, sizeof(apt));
	return SW_OK;
}

/* ---- GET DATA / PUT DATA ---- */

/* The object a tag list 5C names (§4.2): 7E, 7F61 or 5Fxxxx; 0 when malformed. */
static uint32_t
object_tag(struct mdp_cursor *cur)
{
	struct mdp_cursor v;
	uint32_t tag;

	if (tlv_read(cur, &tag, &v) != MDP_OK || tag != 0x5C)
		return 0;
	if (v.len == 1 && v.p[0] == 0x7E)
		return 0x7E;
	if (v.len == 2 && v.p[0] == 0x7F && v.p[1] == 0x61)
		return 0x7F61;
	if (v.len == 3 && v.p[0] == 0x5F)
		return (uint32_t)v.p[0] << 16 | (uint32_t)v.p[1] << 8 | v.p[2];
	return 0;
}

static uint16_t
cmd_get_data(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	/* §5.3: the YubiKey's fixed discovery object, PIV application PIN only */
	static const uint8_t discovery[18] = {0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00,
					      0x10, 0x00, 0x01, 0x00, 0x5F, 0x2F, 0x02, 0x40, 0x00};
	struct mdp_cursor cur;
	struct vc_file *ef = vc_find_file(&vc->st, VC_PIV_OBJ_FID);
	struct vc_do *d;
	uint32_t tag;

	if (c->p1 != 0x3F || c->p2 != 0xFF)
		return SW_WRONG_P1P2;
	cur_init(&cur, c->data, c->lc);
	tag = object_tag(&cur);
	if (!tag || cur_left(&cur))
		return SW_WRONG_DATA;
	if (tag == 0x7E) {
		buf_put_tlv(out, 0x7E, discovery, sizeof(discovery));
		return SW_OK;
	}
	d = ef ? vc_find_do(ef, tag) : NULL;
	/* An absent protected object is "not found" even without the PIN, as on a YubiKey. */
	if (!d || !d->len)
		return SW_FILE_NOT_FOUND;
	if (pin_protected(tag) && !vc->pin_ok)
		return SW_SECURITY;
	buf_put_tlv(out, 0x53, d->val, d->len);
	return SW_OK;
}

static size_t
store_bytes(const struct vc_file *ef)
{
	size_t i, n = 0;

	for (i = 0; i < ef->n_dos; i++)
		n += ef->dos[i].len;
	return n;
}

static uint16_t
cmd_put_data(struct vcard *vc, const struct vc_cmd *c)
{
	struct mdp_cursor cur, val;
	struct vc_file *ef = vc_find_file(&vc->st, VC_PIV_OBJ_FID);
	struct vc_do *d;
	uint32_t tag, wrap;
	size_t total;

	if (c->p1 != 0x3F || c->p2 != 0xFF)
		return SW_WRONG_P1P2;
	if (!vc->admin_ok)
		return SW_SECURITY;
	cur_init(&cur, c->data, c->lc);
	tag = object_tag(&cur);
	if (!tag || tlv_read(&cur, &wrap, &val) != MDP_OK || wrap != 0x53 || cur_left(&cur))
		return SW_WRONG_DATA;
	/* Discovery is fixed; the biometric group template is not offered (as a YubiKey). */
	if (tag == 0x7E || tag == 0x7F61 || !ef)
		return SW_WRONG_DATA;
	if (val.len > PIV_OBJ_MAX)
		return SW_NO_MEMORY;
	d = vc_find_do(ef, tag);
	if (!val.len) {
		/* 53 00 deletes (§4.3): emptied first, then the empty DO removed */
		if (d && d->len && vc_store_do(ef, tag, NULL, 0) != SW_OK)
			return SW_MEMORY_FAILURE;
		if (d)
			vc_store_do(ef, tag, NULL, 0);
		vc->dirty = true;
		return SW_OK;
	}
	total = store_bytes(ef) - (d ? d->len : 0) + val.len;
	if (total > PIV_STORE_MAX || (!d && ef->n_dos >= VC_MAX_DOS_PER_EF))
		return SW_NO_MEMORY;
	if (vc_store_do(ef, tag, val.p, val.len) != SW_OK)
		return SW_MEMORY_FAILURE;
	vc->dirty = true;
	return SW_OK;
}

/* ---- PIN and PUK ---- */

struct ref {
	uint8_t *left;
	uint8_t max;
	uint8_t *salt;
	uint32_t item; /* the wrap of the card key under it */
	const char *label;
	uint8_t flag;
	const uint8_t *dflt;
};

static void
ref_of(struct vcard *vc, bool puk, struct ref *r)
{
	if (puk) {
		r->left = &vc->st.piv.puk_left;
		r->max = vc->st.piv.puk_max;
		r->salt = vc->st.piv.puk_salt;
		r->item = VC_ITEM_PUK;
		r->label = "puk";
		r->flag = VC_PIV_DEFAULT_PUK;
		r->dflt = default_puk;
	} else {
		r->left = &vc->st.pin_left;
		r->max = vc->st.pin_max;
		r->salt = vc->st.pin_salt;
		r->item = VC_ITEM_PIN;
		r->label = "pin";
		r->flag = VC_PIV_DEFAULT_PIN;
		r->dflt = default_pin;
	}
}

static uint16_t
tries_sw(uint8_t left)
{
	return SW_PIN_WRONG(left > 15 ? 15 : left);
}

/*
 * One comparison of a PIN or PUK (an unwrap of the card key with it): the counter is decremented
 * and saved first, restored and saved after a success. On success the card key is in vc->ck. A
 * card whose seal is missing cannot compare: it says so and spends no try.
 */
static uint16_t
check_block(struct vcard *vc, bool puk, const uint8_t block[PIV_BLOCK])
{
	uint8_t kek[VC_CK_LEN], ck[VC_CK_LEN], wrap[VC_WRAP_LEN];
	struct ref r;
	bool ok;
	uint16_t sw;

	ref_of(vc, puk, &r);
	sw = vc_item_fixed(vc, r.item, wrap, sizeof(wrap));
	if (sw != SW_OK)
		return sw;
	(*r.left)--;
	sw = vc_commit(vc);
	if (sw)
		return sw;
	ok = vc_pin_kdf(vc, block, PIV_BLOCK, r.salt, vc->st.kdf_cost, kek) == MDP_OK &&
	     vc_unwrap_ck(&vc->st, kek, r.label, wrap, ck) == MDP_OK;
	if (ok)
		vc_pin_kdf_keep(vc, block, PIV_BLOCK, r.salt, vc->st.kdf_cost, kek);
	mdp_wipe(kek, sizeof(kek));
	mdp_wipe(wrap, sizeof(wrap));
	if (!ok) {
		mdp_wipe(ck, sizeof(ck));
		if (!puk) {
			/* SP 800-73-4: a failed VERIFY resets the PIN's security status */
			vc->pin_ok = false;
			if (!vc->admin_ok)
				vc_drop_secrets(vc);
		}
		return tries_sw(*r.left);
	}
	memcpy(vc->ck, ck, VC_CK_LEN);
	vc->ck_ok = true;
	mdp_wipe(ck, sizeof(ck));
	*r.left = r.max;
	return vc_commit_lazy(vc) ? SW_MEMORY_FAILURE : SW_OK;
}

/* Protect the (known) card key with a new PIN or PUK; its counter back to the maximum. */
static uint16_t
set_block(struct vcard *vc, bool puk, const uint8_t block[PIV_BLOCK])
{
	struct ref r;
	enum mdp_err err;

	if (!vc->ck_ok)
		return SW_CONDITIONS;
	ref_of(vc, puk, &r);
	err = wrap_block(vc, block, r.item, r.label, r.salt);
	if (err)
		return vc_unseal_failed(vc, err);
	*r.left = r.max;
	set_flag(vc, r.flag, mdp_memeq_ct(block, r.dflt, PIV_BLOCK) == 0);
	vc->dirty = true;
	return SW_OK;
}

/* The card key was reached through the PUK only: forget it again unless someone is logged in. */
static void
end_puk_use(struct vcard *vc)
{
	if (!vc->pin_ok && !vc->admin_ok)
		vc_drop_secrets(vc);
}

static uint16_t
cmd_verify(struct vcard *vc, const struct vc_cmd *c)
{
	uint16_t sw;

	if (c->p1 == 0xFF && c->p2 == 0x80 && c->lc == 0) {
		/* SP 800-73-4: reset the PIN's security status */
		vc->pin_ok = false;
		if (!vc->admin_ok)
			vc_drop_secrets(vc);
		return SW_OK;
	}
	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (c->p2 != 0x80)
		return SW_REF_NOT_FOUND; /* no global PIN, no VERIFY of the PUK */
	if (vc->st.pin_left == 0)
		return SW_PIN_BLOCKED;
	if (c->lc == 0)
		return vc->pin_ok ? SW_OK : tries_sw(vc->st.pin_left);
	/* A wrong length spends no try (ykcs11's 8 x FF is a PIN of the right length). */
	if (c->lc != PIV_BLOCK)
		return SW_WRONG_DATA;
	sw = check_block(vc, false, c->data);
	if (sw != SW_OK)
		return sw;
	vc->pin_ok = true;
	vc->pin_always = true; /* for the next command only (§2.3) */
	return SW_OK;
}

static uint16_t
cmd_change_ref(struct vcard *vc, const struct vc_cmd *c)
{
	bool puk = c->p2 == 0x81;
	struct ref r;
	uint16_t sw;

	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (c->p2 != 0x80 && c->p2 != 0x81)
		return SW_REF_NOT_FOUND;
	if (c->lc != 2 * PIV_BLOCK)
		return SW_WRONG_DATA;
	ref_of(vc, puk, &r);
	if (*r.left == 0)
		return SW_PIN_BLOCKED;
	/*
	 * The old value is compared first, whatever the new one: hosts block a PIN or PUK by
	 * changing it with wrong values (spec/piv.md §6.4), and each such attempt spends a try.
	 */
	sw = check_block(vc, puk, c->data);
	if (sw != SW_OK)
		return sw;
	if (!puk)
		vc->pin_ok = true; /* the PIN was proven, as by VERIFY */
	sw = block_well_formed(c->data + PIV_BLOCK) ? set_block(vc, puk, c->data + PIV_BLOCK)
						    : SW_CONDITIONS;
	if (puk)
		end_puk_use(vc);
	return sw;
}

static uint16_t
cmd_reset_retry(struct vcard *vc, const struct vc_cmd *c)
{
	uint16_t sw;

	if (c->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (c->p2 != 0x80)
		return SW_REF_NOT_FOUND;
	if (c->lc != 2 * PIV_BLOCK)
		return SW_WRONG_DATA;
	if (vc->st.piv.puk_left == 0)
		return SW_PIN_BLOCKED;
	/* The PUK first: ykcs11 blocks it with 16 x FF, each attempt a wrong PUK (§4.6). */
	sw = check_block(vc, true, c->data);
	if (sw == SW_OK)
		sw = block_well_formed(c->data + PIV_BLOCK)
			     ? set_block(vc, false, c->data + PIV_BLOCK)
			     : SW_CONDITIONS;
	end_puk_use(vc);
	return sw;
}

/* ---- YubiKey management ---- */

static uint16_t
put_serial(struct vcard *vc, struct mdp_buf *out)
{
	buf_put_be32(out, vc->st.piv.serial);
	return SW_OK;
}

/* RESET (FB): only with PIN and PUK blocked; a factory card again, same serial and version. */
static uint16_t
cmd_reset(struct vcard *vc, const struct vc_cmd *c)
{
	struct vcard_init_params p;
	struct vc_state old;
	enum mdp_err err;

	if (c->p1 != 0x00 || c->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (vc->st.pin_left != 0 || vc->st.piv.puk_left != 0)
		return SW_CONDITIONS;
	memset(&p, 0, sizeof(p));
	p.type = VCARD_TYPE_PIV;
	p.piv_serial = vc->st.piv.serial;
	memcpy(p.version, vc->st.piv.version, 3);
	vc_logout(vc);
	/* The same card (uuid, seal, KDF cost, file) with a factory state. */
	old = vc->st;
	memset(&vc->st, 0, sizeof(vc->st));
	vc->st.format = old.format;
	vc->st.generation = old.generation;
	vc->st.kdf_cost = old.kdf_cost;
	memcpy(vc->st.uuid, old.uuid, VC_UUID_LEN);
	vc->st.seal = old.seal;
	memset(&old.seal, 0, sizeof(old.seal));
	err = vc_piv_build(vc, &p);
	if (err) {
		log_error("PIV reset: %s", mdp_err_last());
		old.seal = vc->st.seal;
		memset(&vc->st.seal, 0, sizeof(vc->st.seal));
		vc_state_free(&vc->st);
		vc->st = old;
		vc_drop_secrets(vc);
		return err == MDP_ERR_SEAL ? vc_seal_failed(vc) : SW_MEMORY_FAILURE;
	}
	vc_state_free(&old);
	vc_drop_secrets(vc);
	vc->dirty = true;
	log_info("PIV application reset");
	return SW_OK;
}

/* SET PIN RETRIES (FA): needs the management key and the PIN; PIN and PUK back to defaults. */
static uint16_t
cmd_set_retries(struct vcard *vc, const struct vc_cmd *c)
{
	uint16_t sw;

	if (c->p1 == 0 || c->p2 == 0)
		return SW_WRONG_P1P2;
	if (!vc->admin_ok || !vc->pin_ok)
		return SW_SECURITY;
	vc->st.pin_max = c->p1;
	vc->st.piv.puk_max = c->p2;
	sw = set_block(vc, false, default_pin);
	if (sw == SW_OK)
		sw = set_block(vc, true, default_puk);
	return sw;
}

/* ---- dispatch ---- */

static uint16_t
piv_dispatch(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	/* "PIN always" holds for the command right after the VERIFY, whatever it is (§2.3). */
	vc->pin_always_now = vc->pin_always;
	vc->pin_always = false;
	if (c->ins == 0xA4)
		return cmd_select(vc, c, out);
	if (vc->cur_fid == PIV_APP_OTP && c->ins == 0x01 && c->p1 == 0x10)
		return put_serial(vc, out); /* the OTP applet's serial (libykpiv, version < 5) */
	if (vc->cur_fid != PIV_APP_PIV)
		return SW_INS_UNSUPPORTED;
	switch (c->ins) {
	case 0xCB:
		return cmd_get_data(vc, c, out);
	case 0xDB:
		return cmd_put_data(vc, c);
	case 0x20:
		return cmd_verify(vc, c);
	case 0x24:
		return cmd_change_ref(vc, c);
	case 0x2C:
		return cmd_reset_retry(vc, c);
	case 0x87:
		return piv_cmd_general_auth(vc, c, out);
	case 0x47:
		return piv_cmd_generate(vc, c, out);
	case 0xFE:
		return piv_cmd_import(vc, c);
	case 0xFF:
		return piv_cmd_set_mgm(vc, c);
	case 0xFD:
		buf_put_bytes(out, vc->st.piv.version, 3);
		return SW_OK;
	case 0xF8:
		return vc->st.piv.version[0] >= 5 ? put_serial(vc, out) : SW_INS_UNSUPPORTED;
	case 0xF7:
		return piv_cmd_metadata(vc, c, out);
	case 0xFB:
		return cmd_reset(vc, c);
	case 0xFA:
		return cmd_set_retries(vc, c);
	default:
		/* ATTEST (F9) included: this card has no attestation key (docs/vcard-piv.md) */
		return SW_INS_UNSUPPORTED;
	}
}

static bool
piv_chainable(uint8_t ins)
{
	return ins == 0xDB || ins == 0x87 || ins == 0xFE;
}

static bool
piv_mutating(uint8_t ins)
{
	switch (ins) {
	case 0x20: /* VERIFY: retry counter */
	case 0x24:
	case 0x2C:
	case 0x47:
	case 0xDB:
	case 0xFA:
	case 0xFB:
	case 0xFE:
	case 0xFF:
		return true;
	default:
		return false;
	}
}

const struct vc_applet vc_piv_applet = {
	.dispatch = piv_dispatch,
	.chainable = piv_chainable,
	.mutating = piv_mutating,
	.max_data = PIV_CMD_MAX,
	.extended = true,
	.ne_absent = 256, /* libykpiv 2.2.0 sends no Le and expects the data (§3) */
};
