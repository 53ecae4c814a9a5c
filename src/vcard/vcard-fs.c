/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual GIDS card's file system: access rules, the initial card, SELECT, GET/PUT DATA,
 * CREATE/ACTIVATE/DELETE FILE. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

/* spec/gids.md §2.1 */
static const uint8_t gids_aid[11] = {0xA0, 0x00, 0x00, 0x03, 0x97, 0x42,
				     0x54, 0x46, 0x59, 0x02, 0x01};

/* ---- access rules ---- */

struct vc_file *
vc_find_file(struct vc_state *st, uint16_t fid)
{
	size_t i;

	for (i = 0; i < st->n_files; i++) {
		if (st->files[i].fid == fid)
			return &st->files[i];
	}
	return NULL;
}

/* Condition byte for one access-mode bit (§7.4); false when the bit is absent. */
static bool
acl_cond(const struct vc_file *f, uint8_t bit, uint8_t *cond)
{
	uint8_t am, b;
	size_t idx = 1;

	if (!f->acl_len)
		return false;
	am = f->acl[0];
	if (!(am & bit))
		return false;
	for (b = 0x40; b > bit; b >>= 1) {
		if (am & b)
			idx++;
	}
	*cond = idx < f->acl_len ? f->acl[idx] : 0xFF;
	return true;
}

static bool
cond_ok(const struct vcard *vc, uint8_t cond)
{
	if (cond == 0xFF)
		return false;
	switch (cond & 0xF0) {
	case 0x00:
		return true;
	case 0x10:
	case 0x90:
		return vc->pin_ok;
	case 0x20:
	case 0xA0:
		return vc->admin_ok;
	case 0x30:
	case 0xB0:
		return vc->pin_ok || vc->admin_ok;
	default:
		return false;
	}
}

bool
vc_acl_ok(const struct vcard *vc, const struct vc_file *f, uint8_t bit)
{
	uint8_t cond = 0xFF;

	/* Initialization mode: the application in creation state checks nothing. */
	if (vc->st.app_lcs == VC_LCS_CREATION)
		return true;
	if (!acl_cond(f, bit, &cond))
		return true;
	return cond_ok(vc, cond);
}

/* ---- initial states ---- */

enum mdp_err
vc_add_file(struct vc_state *st, uint16_t fid, uint8_t desc, const uint8_t *acl, size_t acl_len,
	    struct vc_file **out)
{
	struct vc_file *files, *f;

	if (acl_len > sizeof(f->acl))
		return MDP_ERR_ARGS;
	files = realloc(st->files, (st->n_files + 1) * sizeof(*files));
	if (!files)
		return MDP_ERR_NOMEM;
	st->files = files;
	f = &files[st->n_files++];
	memset(f, 0, sizeof(*f));
	f->fid = fid;
	f->desc = desc;
	f->lcs = VC_LCS_OPERATIONAL;
	if (acl_len) /* a file without rules may come with acl NULL (PIV's) */
		memcpy(f->acl, acl, acl_len);
	f->acl_len = acl_len;
	*out = f;
	return MDP_OK;
}

static enum mdp_err
add_do(struct vc_file *f, uint32_t tag, const uint8_t *val, size_t len)
{
	struct vc_do *dos = realloc(f->dos, (f->n_dos + 1) * sizeof(*dos));

	if (!dos)
		return MDP_ERR_NOMEM;
	f->dos = dos;
	dos[f->n_dos].tag = tag;
	dos[f->n_dos].len = len;
	dos[f->n_dos].val = NULL;
	if (len) {
		dos[f->n_dos].val = mdp_memdup(val, len);
		if (!dos[f->n_dos].val)
			return MDP_ERR_NOMEM;
	}
	f->n_dos++;
	return MDP_OK;
}

/* The masterfile gids-tool writes (§5.1): version 1 and five 28-byte records. */
static void
masterfile(uint8_t out[141])
{
	static const struct {
		const char *dir, *name;
		uint16_t tag, fid;
	} rec[5] = {
		{"mscp", "", 0, 0xA000},
		{"", "cardid", 0xDF20, 0xA012},
		{"", "cardapps", 0xDF21, 0xA010},
		{"", "cardcf", 0xDF22, 0xA010},
		{"mscp", "cmapfile", 0xDF23, 0xA010},
	};
	size_t i;

	memset(out, 0, 141);
	out[0] = 0x01;
	for (i = 0; i < 5; i++) {
		uint8_t *r = out + 1 + 28 * i;

		memcpy(r, rec[i].dir, strlen(rec[i].dir));
		memcpy(r + 9, rec[i].name, strlen(rec[i].name));
		r[20] = (uint8_t)rec[i].tag;
		r[21] = (uint8_t)(rec[i].tag >> 8);
		r[24] = (uint8_t)rec[i].fid;
		r[25] = (uint8_t)(rec[i].fid >> 8);
	}
}

enum mdp_err
vc_check_init_params(const struct vcard_init_params *p)
{
	size_t pl;

	if (!p->pin || !p->admin_key)
		return mdp_err_reason(MDP_ERR_ARGS, "a PIN and an admin key are required");
	pl = strlen(p->pin);
	if (pl < VC_PIN_MIN || pl > VC_PIN_MAX)
		return mdp_err_reason(MDP_ERR_ARGS, "the PIN must have 4 to 16 bytes");
	if (p->serial && (p->serial_len < 1 || p->serial_len > 16))
		return mdp_err_reason(MDP_ERR_ARGS, "the serial must have 1 to 16 bytes");
	if (p->pin_tries > 15)
		return mdp_err_reason(MDP_ERR_ARGS, "at most 15 PIN tries");
	return MDP_OK;
}

/* The files and data objects gids-tool --initialize leaves (admin key sealed into B080). */
static enum mdp_err
initial_files(struct vcard *vc, const struct vcard_init_params *params)
{
	static const struct {
		uint16_t fid;
		uint8_t put, get;
	} efs[6] = {{0xA000, 0x30, 0x00}, {0xA010, 0x30, 0x00}, {0xA011, 0x30, 0xFF},
		    {0xA012, 0x20, 0x00}, {0xA013, 0x30, 0x30}, {0xA014, 0x20, 0x20}};
	static const uint8_t admin_acl[4] = {0x87, 0x00, 0x20, 0xFF};
	static const uint8_t admin_crt[11] = {0xA4, 0x09, 0x80, 0x01, 0x02, 0x83,
					      0x01, 0x80, 0x95, 0x01, 0xC0};
	static const uint8_t cardapps[8] = {'m', 's', 'c', 'p', 0, 0, 0, 0};
	static const uint8_t cardcf[6] = {0};
	struct vc_state *st = &vc->st;
	struct vc_file *f = NULL;
	uint8_t mf[141], serial[16];
	const uint8_t *sp;
	size_t sl, i;
	enum mdp_err err;

	for (i = 0; i < 6; i++) {
		uint8_t acl[3] = {0x03, efs[i].put, efs[i].get};

		err = vc_add_file(st, efs[i].fid, VC_DESC_EF, acl, sizeof(acl), &f);
		if (err)
			return err;
	}
	err = vc_add_file(st, 0xB080, VC_DESC_KEY, admin_acl, sizeof(admin_acl), &f);
	if (err)
		return err;
	f->crt = mdp_memdup(admin_crt, sizeof(admin_crt));
	if (!f->crt)
		return MDP_ERR_NOMEM;
	f->crt_len = sizeof(admin_crt);
	f->key_type = VC_KEY_SYM;
	f->alg = 0x02;
	err = vc_sym_set(vc, f, params->admin_key, VCARD_ADMIN_KEY_LEN);
	if (err)
		return err;
	masterfile(mf);
	if (params->serial) {
		sp = params->serial;
		sl = params->serial_len;
	} else {
		if (RAND_bytes(serial, sizeof(serial)) != 1)
			return MDP_ERR_CRYPTO;
		sp = serial;
		sl = sizeof(serial);
	}
	if ((err = add_do(vc_find_file(st, 0xA000), 0xDF1F, mf, sizeof(mf))) ||
	    (err = add_do(vc_find_file(st, 0xA010), 0xDF21, cardapps, sizeof(cardapps))) ||
	    (err = add_do(vc_find_file(st, 0xA010), 0xDF22, cardcf, sizeof(cardcf))) ||
	    (err = add_do(vc_find_file(st, 0xA010), 0xDF23, NULL, 0)) ||
	    (err = add_do(vc_find_file(st, 0xA012), 0xDF20, sp, sl)))
		return err;
	return MDP_OK;
}

enum mdp_err
vc_build_card(struct vcard *vc, const struct vcard_init_params *params)
{
	struct vc_state *st = &vc->st;
	uint8_t kek[VC_CK_LEN], wrap[VC_WRAP_LEN];
	const char *pin = params ? params->pin : NULL;
	enum mdp_err err;

	if (params && params->type == VCARD_TYPE_PIV)
		return vc_piv_build(vc, params);
	if (params && params->type != VCARD_TYPE_GIDS)
		return mdp_err_reason(MDP_ERR_ARGS, "unknown card type %d", (int)params->type);
	if (pin || (params && params->admin_key)) {
		err = vc_check_init_params(params);
		if (err)
			return err;
	}
	st->type = VCARD_TYPE_GIDS;
	st->pin_max = params && params->pin_tries ? (uint8_t)params->pin_tries : VC_DEFAULT_TRIES;
	st->pin_left = st->pin_max;
	if (RAND_bytes(vc->ck, VC_CK_LEN) != 1)
		return MDP_ERR_CRYPTO;
	vc->ck_ok = true;
	/* Blank: the card key is free to use (sealed) until the application is activated. */
	if (!pin) {
		st->app_lcs = VC_LCS_CREATION;
		st->ck_open = true;
		return vc_ck_to_seal(vc);
	}
	st->app_lcs = VC_LCS_OPERATIONAL;
	err = initial_files(vc, params);
	if (err)
		return err;
	st->pin_set = true;
	st->pin_len = (uint8_t)strlen(pin);
	if (RAND_bytes(st->pin_salt, VC_SALT_LEN) != 1)
		return MDP_ERR_CRYPTO;
	err = vc_scrypt((const uint8_t *)pin, st->pin_len, st->pin_salt, st->kdf_cost, kek);
	if (!err)
		err = vc_wrap_ck(st, kek, "pin", vc->ck, wrap);
	if (!err)
		err = vc_item_put(vc, VC_ITEM_PIN, wrap, sizeof(wrap));
	if (!err)
		vc_pin_kdf_keep(vc, (const uint8_t *)pin, st->pin_len, st->pin_salt, st->kdf_cost,
				kek);
	mdp_wipe(kek, sizeof(kek));
	mdp_wipe(wrap, sizeof(wrap));
	if (err)
		return err;
	/* The admin path reaches the card key by the seal alone (docs/vcard.md, Seal). */
	st->ck_admin = true;
	return vc_ck_to_seal(vc);
}

/* ---- SELECT ---- */

static void
put_fcp(struct vc_file *f, struct mdp_buf *out)
{
	size_t m = buf_tlv_open(out, 0x62);

	buf_put_tlv(out, 0x82, &f->desc, 1);
	buf_put_u8(out, 0x83);
	buf_put_u8(out, 2);
	buf_put_be16(out, f->fid);
	buf_put_tlv(out, 0x8A, &f->lcs, 1);
	if (f->acl_len)
		buf_put_tlv(out, 0x8C, f->acl, f->acl_len);
	buf_tlv_close(out, m);
}

static void
put_app_answer(uint8_t p2, struct mdp_buf *out)
{
	static const uint8_t fcp[10] = {0x62, 0x08, 0x82, 0x01, 0x38, 0x8C, 0x03, 0x03, 0x30, 0x30};
	static const uint8_t fmd[11] = {0x64, 0x09, 0x5F, 0x2F, 0x01, 0x60,
					0x7F, 0x65, 0x02, 0x80, 0x00};
	static const uint8_t disc[3] = {0x40, 0x01, 0xC0};
	size_t m;

	switch (p2) {
	case 0x00:
		/* FCI of §2.1: full AID and the supported authentication protocols. */
		m = buf_tlv_open(out, 0x61);
		buf_put_tlv(out, 0x4F, gids_aid, sizeof(gids_aid));
		buf_put_tlv(out, 0x73, disc, sizeof(disc));
		buf_tlv_close(out, m);
		break;
	case 0x04:
		buf_put_bytes(out, fcp, sizeof(fcp));
		break;
	case 0x08:
		buf_put_bytes(out, fmd, sizeof(fmd));
		break;
	default:
		break;
	}
}

uint16_t
vc_cmd_select(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct vc_file *f;
	uint16_t fid;

	if (c->p2 != 0x00 && c->p2 != 0x04 && c->p2 != 0x08 && c->p2 != 0x0C)
		return SW_WRONG_P1P2;
	switch (c->p1) {
	case 0x04:
		/* A right-truncated AID matches (§4.2); anything else is another card's probe. */
		if (c->lc < 9 || c->lc > sizeof(gids_aid) || memcmp(c->data, gids_aid, c->lc) != 0)
			return SW_FILE_NOT_FOUND;
		vc->cur_fid = 0x3FFF;
		put_app_answer(c->p2, out);
		return SW_OK;
	case 0x00:
		if (c->lc != 2)
			return SW_FILE_NOT_FOUND;
		fid = (uint16_t)(c->data[0] << 8 | c->data[1]);
		if (fid == 0x3FFF) {
			vc->cur_fid = 0x3FFF;
			put_app_answer(c->p2, out);
			return SW_OK;
		}
		f = vc_find_file(&vc->st, fid);
		if (!f)
			return SW_FILE_NOT_FOUND;
		vc->cur_fid = fid;
		if (c->p2 == 0x00 || c->p2 == 0x04)
			put_fcp(f, out);
		return SW_OK;
	case 0x01:
	case 0x02:
	case 0x03:
	case 0x08:
	case 0x09:
		/* No path addressing on GIDS (§4.3): PKCS#15 probes must fail. */
		return SW_FILE_NOT_FOUND;
	default:
		return SW_WRONG_P1P2;
	}
}

/* ---- GET DATA / PUT DATA ---- */

struct vc_do *
vc_find_do(struct vc_file *f, uint32_t tag)
{
	size_t i;

	for (i = 0; i < f->n_dos; i++) {
		if (f->dos[i].tag == tag)
			return &f->dos[i];
	}
	return NULL;
}

static size_t
ef_bytes(const struct vc_file *f)
{
	size_t i, n = 0;

	for (i = 0; i < f->n_dos; i++)
		n += f->dos[i].len;
	return n;
}

/* Resolve the EF a GET/PUT DATA addresses (P1P2 = FID, 0000 = current). */
static uint16_t
data_file(struct vcard *vc, const struct vc_cmd *c, uint16_t *fid, struct vc_file **out)
{
	struct vc_file *f;

	*fid = (uint16_t)(c->p1 << 8 | c->p2);
	if (*fid == 0x0000)
		*fid = vc->cur_fid;
	if (*fid == 0x3FFF) {
		*out = NULL;
		return SW_OK;
	}
	f = vc_find_file(&vc->st, *fid);
	if (!f)
		return SW_FILE_NOT_FOUND;
	if (f->desc != VC_DESC_EF)
		return SW_NOT_BER_TLV;
	if (f->lcs != VC_LCS_OPERATIONAL)
		return SW_CONDITIONS;
	*out = f;
	return SW_OK;
}

static uint16_t
pin_status(struct vcard *vc, struct mdp_buf *out)
{
	const uint8_t v[6] = {0x97, 0x01, vc->st.pin_left, 0x93, 0x01, vc->st.pin_max};

	if (!vc->st.pin_set)
		return SW_REF_NOT_FOUND;
	buf_put_tlv(out, 0x7F71, v, sizeof(v));
	return SW_OK;
}

uint16_t
vc_cmd_get_data(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	struct mdp_cursor cur, val;
	struct vc_file *f = NULL;
	struct vc_do *d;
	uint32_t tag = 0, want = 0;
	uint16_t fid, sw;
	size_t i;

	sw = data_file(vc, c, &fid, &f);
	if (sw != SW_OK)
		return sw;
	if (!c->lc)
		return SW_WRONG_DATA;
	if (!f && c->data[0] == 0x70)
		return vc_get_public(vc, c->data, c->lc, out);
	cur_init(&cur, c->data, c->lc);
	if (tlv_read(&cur, &tag, &val) != MDP_OK || tag != 0x5C || cur_left(&cur) != 0 ||
	    val.len > 3)
		return f ? SW_WRONG_DATA : SW_REF_NOT_FOUND;
	for (i = 0; i < val.len; i++)
		want = want << 8 | val.p[i];
	if (!f) {
		/* Card-level objects (§2.3); anything else (PIV's 5C 01 7E) is absent. */
		if (want == 0x7F71 || want == 0x7F72)
			return pin_status(vc, out);
		return SW_REF_NOT_FOUND;
	}
	if (!vc_acl_ok(vc, f, VC_AM_GET))
		return SW_SECURITY;
	if (val.len == 0) {
		for (i = 0; i < f->n_dos; i++)
			buf_put_tlv(out, f->dos[i].tag, f->dos[i].val, f->dos[i].len);
		return SW_OK;
	}
	d = vc_find_do(f, want);
	if (!d)
		return SW_REF_NOT_FOUND;
	buf_put_tlv(out, d->tag, d->val, d->len);
	return SW_OK;
}

/* Store one DO with the replace and empty-DO rules of §6. */
uint16_t
vc_store_do(struct vc_file *f, uint32_t tag, const uint8_t *val, size_t len)
{
	struct vc_do *d = vc_find_do(f, tag);
	uint8_t *copy = NULL;

	if (len) {
		copy = mdp_memdup(val, len);
		if (!copy)
			return SW_MEMORY_FAILURE;
	}
	if (!d) {
		struct vc_do *dos = realloc(f->dos, (f->n_dos + 1) * sizeof(*dos));

		if (!dos) {
			free(copy);
			return SW_MEMORY_FAILURE;
		}
		f->dos = dos;
		d = &dos[f->n_dos++];
		d->tag = tag;
		d->val = copy;
		d->len = len;
		return SW_OK;
	}
	if (!len && !d->len) {
		/* Writing an empty value over an empty DO deletes it. */
		size_t idx = (size_t)(d - f->dos);

		memmove(d, d + 1, (f->n_dos - idx - 1) * sizeof(*d));
		f->n_dos--;
		return SW_OK;
	}
	free(d->val);
	d->val = copy;
	d->len = len;
	return SW_OK;
}

uint16_t
vc_cmd_put_data(struct vcard *vc, const struct vc_cmd *c)
{
	struct mdp_cursor cur, val;
	struct vc_file *f = NULL;
	uint32_t tag;
	uint16_t fid, sw;
	size_t count = 0, total, i, j;
	enum mdp_err err;
	struct {
		uint32_t tag;
		const uint8_t *p;
		size_t len;
	} items[8];

	sw = data_file(vc, c, &fid, &f);
	if (sw != SW_OK)
		return sw;
	if (!c->lc)
		return SW_WRONG_LENGTH;
	if (!f)
		return vc_put_key(vc, c->data, c->lc);
	if (!vc_acl_ok(vc, f, VC_AM_PUT))
		return SW_SECURITY;
	/* Parse and size-check everything first: a refused command changes nothing. */
	cur_init(&cur, c->data, c->lc);
	total = ef_bytes(f);
	while (cur_left(&cur)) {
		struct vc_do *d;

		err = tlv_read(&cur, &tag, &val);
		if (err)
			return SW_WRONG_DATA;
		if (count == sizeof(items) / sizeof(items[0]))
			return SW_WRONG_DATA;
		for (j = 0; j < count; j++) {
			if (items[j].tag == tag)
				return SW_WRONG_DATA;
		}
		if (val.len > VC_MAX_DO_LEN)
			return SW_NO_MEMORY;
		d = vc_find_do(f, tag);
		if (d)
			total -= d->len;
		else if (f->n_dos + count >= VC_MAX_DOS_PER_EF)
			return SW_NO_MEMORY;
		total += val.len;
		items[count].tag = tag;
		items[count].p = val.p;
		items[count].len = val.len;
		count++;
	}
	if (total > VC_MAX_EF_BYTES)
		return SW_NO_MEMORY;
	for (i = 0; i < count; i++) {
		sw = vc_store_do(f, items[i].tag, items[i].p, items[i].len);
		if (sw != SW_OK)
			return sw;
	}
	vc->dirty = true;
	return SW_OK;
}

/* ---- CREATE / ACTIVATE / DELETE FILE ---- */

static bool
acl_well_formed(const uint8_t *acl, size_t len)
{
	uint8_t b;
	size_t need = 1;

	if (len == 0)
		return true;
	if (len > 8)
		return false;
	for (b = 0x40; b; b >>= 1) {
		if (acl[0] & b)
			need++;
	}
	return need == len;
}

uint16_t
vc_cmd_create(struct vcard *vc, const struct vc_cmd *c)
{
	struct mdp_cursor cur, fcp, val;
	struct vc_file *f = NULL, *files;
	uint32_t tag;
	bool have_desc = false, have_fid = false;
	uint8_t desc = 0;
	uint16_t fid = 0;
	const uint8_t *acl = NULL, *crt = NULL;
	size_t acl_len = 0, crt_len = 0, i, nkeys = 0;

	if (c->p1 != 0x00 || c->p2 != 0x00)
		return SW_WRONG_P1P2;
	/* The application's own rule for creating children: user PIN or admin. */
	if (vc->st.app_lcs == VC_LCS_OPERATIONAL && !vc->pin_ok && !vc->admin_ok)
		return SW_SECURITY;
	cur_init(&cur, c->data, c->lc);
	if (tlv_read(&cur, &tag, &fcp) != MDP_OK || tag != 0x62 || cur_left(&cur))
		return SW_WRONG_DATA;
	while (cur_left(&fcp)) {
		if (tlv_read(&fcp, &tag, &val) != MDP_OK)
			return SW_WRONG_DATA;
		switch (tag) {
		case 0x82:
			if (val.len < 1)
				return SW_WRONG_DATA;
			desc = val.p[0];
			have_desc = true;
			break;
		case 0x83:
			if (val.len != 2)
				return SW_WRONG_DATA;
			fid = (uint16_t)(val.p[0] << 8 | val.p[1]);
			have_fid = true;
			break;
		case 0x8C:
			acl = val.p;
			acl_len = val.len;
			break;
		case 0xA5:
			crt = val.p;
			crt_len = val.len;
			break;
		default:
			break; /* other FCP tags carry nothing the card enforces */
		}
	}
	if (!have_desc || !have_fid || !acl_well_formed(acl, acl_len))
		return SW_WRONG_DATA;
	if (desc == VC_DESC_KEY) {
		if ((fid >> 8) != 0xB0 || (fid & 0xFF) < 0x80 || crt_len > 1024)
			return SW_WRONG_DATA;
	} else if (desc == VC_DESC_EF) {
		if ((fid >> 8) == 0xB0 || fid == 0x3FFF || fid == 0x3F00 || fid == 0x0000 ||
		    fid == 0xFFFF)
			return SW_WRONG_DATA;
	} else {
		return SW_FUNC_UNSUPPORTED;
	}
	if (vc_find_file(&vc->st, fid))
		return SW_FILE_EXISTS;
	for (i = 0; i < vc->st.n_files; i++) {
		if (vc->st.files[i].desc == VC_DESC_KEY && vc->st.files[i].fid != 0xB080)
			nkeys++;
	}
	if (vc->st.n_files >= VC_MAX_FILES ||
	    (desc == VC_DESC_KEY && fid != 0xB080 && nkeys >= VC_MAX_KEY_FILES))
		return SW_NO_MEMORY;
	files = realloc(vc->st.files, (vc->st.n_files + 1) * sizeof(*files));
	if (!files)
		return SW_MEMORY_FAILURE;
	vc->st.files = files;
	f = &files[vc->st.n_files];
	memset(f, 0, sizeof(*f));
	if (crt_len) {
		f->crt = mdp_memdup(crt, crt_len);
		if (!f->crt)
			return SW_MEMORY_FAILURE;
		f->crt_len = crt_len;
	}
	vc->st.n_files++;
	f->fid = fid;
	f->desc = desc;
	f->lcs = VC_LCS_CREATION;
	if (acl_len)
		memcpy(f->acl, acl, acl_len);
	f->acl_len = acl_len;
	vc->cur_fid = fid;
	vc->dirty = true;
	return SW_OK;
}

uint16_t
vc_cmd_activate(struct vcard *vc, const struct vc_cmd *c)
{
	struct vc_file *f;

	if (c->p1 != 0x00 || c->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (c->lc)
		return SW_WRONG_LENGTH;
	if (vc->cur_fid == 0x3FFF) {
		if (vc->st.app_lcs == VC_LCS_OPERATIONAL)
			return SW_OK;
		/*
		 * End of initialization: checks are enforced from now on, and the
		 * card key is no longer free to use once a PIN protects it.
		 */
		vc->st.app_lcs = VC_LCS_OPERATIONAL;
		if (vc->st.pin_set) {
			vc->st.ck_open = false;
			if (!vc->st.ck_admin)
				vc_item_del(&vc->st, VC_ITEM_CK);
		}
		if (!vc->pin_ok && !vc->admin_ok)
			vc_drop_secrets(vc);
		vc->dirty = true;
		return SW_OK;
	}
	f = vc_find_file(&vc->st, vc->cur_fid);
	if (!f)
		return SW_FILE_NOT_FOUND;
	if (f->lcs == VC_LCS_OPERATIONAL)
		return SW_OK;
	if (!vc_acl_ok(vc, f, VC_AM_ACTIVATE))
		return SW_SECURITY;
	f->lcs = VC_LCS_OPERATIONAL;
	vc->dirty = true;
	return SW_OK;
}

uint16_t
vc_cmd_delete(struct vcard *vc, const struct vc_cmd *c)
{
	struct vc_file *f;
	size_t idx;

	if (c->p1 != 0x00 || c->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (c->lc)
		return SW_WRONG_LENGTH;
	if (vc->cur_fid == 0x3FFF)
		return SW_NOT_ALLOWED; /* TERMINATE / delete of the application: not offered */
	f = vc_find_file(&vc->st, vc->cur_fid);
	if (!f)
		return SW_FILE_NOT_FOUND;
	/* The file's own delete rule, then the application's: user PIN or admin. */
	if (!vc_acl_ok(vc, f, VC_AM_DELETE))
		return SW_SECURITY;
	if (vc->st.app_lcs == VC_LCS_OPERATIONAL && !vc->pin_ok && !vc->admin_ok)
		return SW_SECURITY;
	if (vc->mse != VC_MSE_NONE && (f->fid & 0xFF) == vc->mse_kid && (f->fid >> 8) == 0xB0)
		vc->mse = VC_MSE_NONE;
	idx = (size_t)(f - vc->st.files);
	vc_file_free(f);
	memmove(f, f + 1, (vc->st.n_files - idx - 1) * sizeof(*f));
	vc->st.n_files--;
	vc->cur_fid = 0x3FFF;
	vc->dirty = true;
	return SW_OK;
}
