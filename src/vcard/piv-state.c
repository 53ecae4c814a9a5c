/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PIV card's section of the state file (format 2; docs/vcard-piv.md, "State file"). */
#include "config.h"

#include <string.h>

#include "vcard/piv-int.h"

#define STATE_BAD(...) mdp_err_reason(MDP_ERR_STATE, "state file: " __VA_ARGS__)

/*
 * Section: PIN max, left, salt; PUK max, left, salt; KDF cost; SO path flag; serial (be32);
 * version (3); default flags; then the files (vc_encode_files): the objects' EF 5F00, the
 * management key B09B and the 24 slots B09A..B095. The secrets are items of the file (sealed):
 * the PIN and PUK wraps of the card key, the card key for the SO path, the device key.
 */
void
vc_piv_encode(const struct vc_state *st, struct mdp_buf *b)
{
	buf_put_u8(b, st->pin_max);
	buf_put_u8(b, st->pin_left);
	buf_put_bytes(b, st->pin_salt, VC_SALT_LEN);
	buf_put_u8(b, st->piv.puk_max);
	buf_put_u8(b, st->piv.puk_left);
	buf_put_bytes(b, st->piv.puk_salt, VC_SALT_LEN);
	buf_put_u8(b, st->kdf_cost);
	buf_put_u8(b, st->ck_admin);
	buf_put_be32(b, st->piv.serial);
	buf_put_bytes(b, st->piv.version, 3);
	buf_put_u8(b, st->piv.flags);
	vc_encode_files(st, b);
}

/* A sealed item of the expected length (what sealing adds to len). */
static bool
item_ok(const struct vc_state *st, uint32_t id, size_t len)
{
	const struct vc_item *it = vc_item_find(st, id);

	return it && it->len == len + VC_SEALED_OVERHEAD;
}

static enum mdp_err
check_objects(const struct vc_file *f)
{
	size_t i, total = 0;

	if (f->desc != VC_DESC_EF || f->acl_len)
		return STATE_BAD("PIV objects: not a plain EF");
	for (i = 0; i < f->n_dos; i++) {
		/* storage tags 5Fxxxx (discovery is fixed, 7F61 not offered) */
		if ((f->dos[i].tag >> 16) != 0x5F || !f->dos[i].len || f->dos[i].len > PIV_OBJ_MAX)
			return STATE_BAD("PIV object %06X is not storable",
					 (unsigned)f->dos[i].tag);
		total += f->dos[i].len;
	}
	if (total > PIV_STORE_MAX)
		return STATE_BAD("PIV objects exceed the card's store");
	return MDP_OK;
}

static bool
attrs_ok(const struct vc_file *f)
{
	return f->crt && f->crt_len == VC_PIV_ATTR_LEN &&
	       f->crt[VC_PIV_ATTR_PIN] >= PIV_PIN_NEVER &&
	       f->crt[VC_PIV_ATTR_PIN] <= PIV_PIN_ALWAYS && f->crt[VC_PIV_ATTR_TOUCH] >= 1 &&
	       f->crt[VC_PIV_ATTR_TOUCH] <= 3 &&
	       (f->crt[VC_PIV_ATTR_ORIGIN] == PIV_ORIGIN_GENERATED ||
		f->crt[VC_PIV_ATTR_ORIGIN] == PIV_ORIGIN_IMPORTED);
}

static enum mdp_err
check_key_file(const struct vc_state *st, const struct vc_file *f)
{
	uint8_t slot = (uint8_t)f->fid;
	const struct piv_alg *a;
	size_t bs;

	if (f->acl_len || f->lcs != VC_LCS_OPERATIONAL)
		return STATE_BAD("PIV key file %04X: access rules or life cycle", f->fid);
	if (slot == PIV_SLOT_MGM) {
		if (f->key_type != VC_KEY_SYM || !piv_mgm_key_len(f->alg, &bs) || !f->crt ||
		    f->crt_len != VC_PIV_ATTR_LEN)
			return STATE_BAD("PIV management key record");
		return MDP_OK;
	}
	if (f->key_type == VC_KEY_NONE)
		return f->crt_len ? STATE_BAD("empty PIV slot %02X with attributes", slot) : MDP_OK;
	a = piv_alg_find(st, f->alg);
	if (!a || a->type != f->key_type || !attrs_ok(f))
		return STATE_BAD("PIV slot %02X: bad algorithm or policies", slot);
	return MDP_OK;
}

/* The layout of a PIV card: exactly the objects' EF, 9B and the 24 slots. */
static enum mdp_err
check_files(const struct vc_state *st)
{
	size_t i;
	enum mdp_err err;

	if (st->n_files != 2 + sizeof(piv_key_slots))
		return STATE_BAD("a PIV card has %zu files, not %zu", st->n_files,
				 2 + sizeof(piv_key_slots));
	for (i = 0; i < st->n_files; i++) {
		const struct vc_file *f = &st->files[i];

		if (f->fid == VC_PIV_OBJ_FID)
			err = check_objects(f);
		else if (f->desc == VC_DESC_KEY && (f->fid >> 8) == 0xB0 &&
			 (piv_key_slot((uint8_t)f->fid) || (uint8_t)f->fid == PIV_SLOT_MGM))
			err = check_key_file(st, f);
		else
			err = STATE_BAD("file %04X on a PIV card", f->fid);
		if (err)
			return err;
	}
	/* n_files distinct FIDs (vc_decode_files refuses twins), all of the layout: all there */
	return MDP_OK;
}

enum mdp_err
vc_piv_decode(struct mdp_cursor *c, struct vc_state *st)
{
	const uint8_t *q;
	enum mdp_err err;

	st->pin_max = cur_get_u8(c);
	st->pin_left = cur_get_u8(c);
	q = cur_get_bytes(c, VC_SALT_LEN);
	if (q)
		memcpy(st->pin_salt, q, VC_SALT_LEN);
	st->piv.puk_max = cur_get_u8(c);
	st->piv.puk_left = cur_get_u8(c);
	q = cur_get_bytes(c, VC_SALT_LEN);
	if (q)
		memcpy(st->piv.puk_salt, q, VC_SALT_LEN);
	st->kdf_cost = cur_get_u8(c);
	st->ck_admin = cur_get_u8(c) != 0;
	st->piv.serial = cur_get_be32(c);
	q = cur_get_bytes(c, 3);
	if (q)
		memcpy(st->piv.version, q, 3);
	st->piv.flags = cur_get_u8(c);
	if (c->bad)
		return STATE_BAD("truncated PIV record");
	if (st->pin_max < 1 || st->pin_left > st->pin_max || st->piv.puk_max < 1 ||
	    st->piv.puk_left > st->piv.puk_max)
		return STATE_BAD("bad PIN or PUK record");
	if (st->kdf_cost < 1 || st->kdf_cost > VC_KDF_MAX_COST)
		return STATE_BAD("bad KDF cost %u", st->kdf_cost);
	if (st->piv.version[0] < 4 ||
	    (st->piv.flags & ~(VC_PIV_DEFAULT_PIN | VC_PIV_DEFAULT_PUK | VC_PIV_DEFAULT_MGM)))
		return STATE_BAD("bad PIV version or flags");
	if (!item_ok(st, VC_ITEM_PIN, VC_WRAP_LEN) || !item_ok(st, VC_ITEM_PUK, VC_WRAP_LEN) ||
	    !item_ok(st, VC_ITEM_DK, VC_CK_LEN) ||
	    st->ck_admin != item_ok(st, VC_ITEM_CK, VC_CK_LEN))
		return STATE_BAD("the PIV record and its sealed items disagree");
	/* what every PIV card is (not stored) */
	st->app_lcs = VC_LCS_OPERATIONAL;
	st->pin_set = true;
	st->pin_len = PIV_BLOCK;
	err = vc_decode_files(c, st);
	if (!err)
		err = check_files(st);
	return err;
}
