/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual card's state file encoding: format 2 (sealed) and format 1 (unsealed), checked. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

/*
 * Layout (docs/vcard.md): "MDP11VCD", be32 format version, be32 body length, body, SHA-256 over
 * everything before it. All integers big-endian. Format 1 is the unsealed layout of the first
 * releases: it is read into the same model (seal kind none: items hold their values in clear)
 * and written back as format 1 until the card is resealed.
 */
static const uint8_t state_magic[8] = {'M', 'D', 'P', '1', '1', 'V', 'C', 'D'};
#define HEADER_LEN 16
#define DIGEST_LEN 32
#define MAX_SPEC 1024
#define MAX_SEAL_DATA 4096
#define V1_ADMIN_INFO "mdp11-vcard admin wrap"

#define STATE_BAD(...) mdp_err_reason(MDP_ERR_STATE, "state file: " __VA_ARGS__)

void
vc_file_free(struct vc_file *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n_dos; i++)
		free(f->dos[i].val);
	free(f->dos);
	free(f->crt);
	mdp_secure_free(f->sym, f->sym_len);
	free(f->pub);
	free(f->priv);
	EVP_PKEY_free(f->cache);
	memset(f, 0, sizeof(*f));
}

void
vc_state_free(struct vc_state *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->n_files; i++)
		vc_file_free(&st->files[i]);
	free(st->files);
	for (i = 0; i < st->n_items; i++)
		mdp_secure_free(st->items[i].blob, st->items[i].len);
	free(st->items);
	free(st->seal.spec);
	mdp_secure_free(st->seal.data, st->seal.data_len);
	mdp_wipe(st, sizeof(*st));
}

static void
put_blob32(struct mdp_buf *b, const uint8_t *p, size_t len)
{
	buf_put_be32(b, (uint32_t)len);
	buf_put_bytes(b, p, len);
}

static bool
digest(const uint8_t *p, size_t len, uint8_t out[DIGEST_LEN])
{
	unsigned int n = 0;

	return EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) == 1 && n == DIGEST_LEN;
}

/* ---- encoding ---- */

static void
encode_files(const struct vc_state *st, struct mdp_buf *b, bool v2)
{
	size_t i, j;

	buf_put_be16(b, (uint16_t)st->n_files);
	for (i = 0; i < st->n_files; i++) {
		const struct vc_file *f = &st->files[i];

		buf_put_be16(b, f->fid);
		buf_put_u8(b, f->desc);
		buf_put_u8(b, f->lcs);
		buf_put_u8(b, (uint8_t)f->acl_len);
		buf_put_bytes(b, f->acl, f->acl_len);
		if (f->desc == VC_DESC_EF) {
			buf_put_be32(b, (uint32_t)f->n_dos);
			for (j = 0; j < f->n_dos; j++) {
				buf_put_be32(b, f->dos[j].tag);
				put_blob32(b, f->dos[j].val, f->dos[j].len);
			}
		} else {
			put_blob32(b, f->crt, f->crt_len);
			buf_put_u8(b, f->key_type);
			buf_put_u8(b, f->alg);
			put_blob32(b, f->sym, f->sym_len);
			put_blob32(b, f->pub, f->pub_len);
			put_blob32(b, f->priv, f->priv_len);
		}
	}
}

void
vc_encode_files(const struct vc_state *st, struct mdp_buf *b)
{
	encode_files(st, b, true);
}

/* Application life cycle and the PIN record, as both formats have them. */
static void
encode_pin_record(const struct vc_state *st, struct mdp_buf *b)
{
	buf_put_u8(b, st->app_lcs);
	buf_put_u8(b, st->pin_set);
	buf_put_u8(b, st->pin_len);
	buf_put_u8(b, st->pin_max);
	buf_put_u8(b, st->pin_left);
	buf_put_u8(b, st->kdf_cost);
	buf_put_bytes(b, st->pin_salt, VC_SALT_LEN);
}

static void
encode_gids(const struct vc_state *st, struct mdp_buf *b)
{
	encode_pin_record(st, b);
	buf_put_u8(b, st->ck_open);
	buf_put_u8(b, st->ck_admin);
	encode_files(st, b, true);
}

static enum mdp_err
encode_v2(const struct vc_state *st, struct mdp_buf *b)
{
	size_t i, mark, n, spec_len = st->seal.spec ? strlen(st->seal.spec) : 0;

	if (st->seal.kind != VC_SEAL_KEYFILE && st->seal.kind != VC_SEAL_TPM)
		return mdp_err_reason(MDP_ERR_INTERNAL, "no seal to write");
	buf_put_bytes(b, st->uuid, VC_UUID_LEN);
	buf_put_be32(b, (uint32_t)(st->generation >> 32));
	buf_put_be32(b, (uint32_t)st->generation);
	buf_put_u8(b, st->type);
	buf_put_u8(b, st->seal.kind);
	buf_put_be16(b, (uint16_t)spec_len);
	buf_put_bytes(b, (const uint8_t *)st->seal.spec, spec_len);
	put_blob32(b, st->seal.data, st->seal.data_len);
	buf_put_be16(b, (uint16_t)st->n_items);
	for (i = 0; i < st->n_items; i++) {
		buf_put_be32(b, st->items[i].id);
		put_blob32(b, st->items[i].blob, st->items[i].len);
	}
	buf_put_be32(b, 0); /* section length, patched below */
	mark = b->len;
	if (st->type == VCARD_TYPE_PIV)
		vc_piv_encode(st, b);
	else
		encode_gids(st, b);
	if (b->bad)
		return MDP_ERR_NOMEM;
	n = b->len - mark;
	b->data[mark - 4] = (uint8_t)(n >> 24);
	b->data[mark - 3] = (uint8_t)(n >> 16);
	b->data[mark - 2] = (uint8_t)(n >> 8);
	b->data[mark - 1] = (uint8_t)n;
	return MDP_OK;
}

/* Format 1 keeps the admin path's copy of the card key wrapped under the admin key itself. */
static enum mdp_err
encode_v1(const struct vc_state *st, struct mdp_buf *b)
{
	static const uint8_t zero[VC_WRAP_LEN];
	const struct vc_item *pin = vc_item_find(st, VC_ITEM_PIN),
			     *ck = vc_item_find(st, VC_ITEM_CK);
	const struct vc_file *adm = NULL;
	uint8_t wrap_admin[VC_WRAP_LEN], kek[VC_CK_LEN];
	bool has_wrap_admin = false;
	size_t i;
	enum mdp_err err = MDP_OK;

	if (st->seal.kind != VC_SEAL_NONE)
		return mdp_err_reason(MDP_ERR_INTERNAL, "a sealed card in format 1");
	for (i = 0; i < st->n_files; i++) {
		if (st->files[i].fid == 0xB080 && st->files[i].sym_len == VCARD_ADMIN_KEY_LEN)
			adm = &st->files[i];
	}
	if (st->ck_admin && ck && ck->len == VC_CK_LEN && adm) {
		err = vc_hkdf(adm->sym, adm->sym_len, st->uuid, VC_UUID_LEN, V1_ADMIN_INFO, kek);
		if (!err)
			err = vc_wrap_ck(st, kek, "admin", ck->blob, wrap_admin);
		mdp_wipe(kek, sizeof(kek));
		if (err)
			return err;
		has_wrap_admin = true;
	}
	buf_put_bytes(b, st->uuid, VC_UUID_LEN);
	buf_put_be32(b, (uint32_t)(st->generation >> 32));
	buf_put_be32(b, (uint32_t)st->generation);
	encode_pin_record(st, b);
	buf_put_bytes(b, pin && pin->len == VC_WRAP_LEN ? pin->blob : zero, VC_WRAP_LEN);
	buf_put_u8(b, has_wrap_admin);
	buf_put_bytes(b, has_wrap_admin ? wrap_admin : zero, VC_WRAP_LEN);
	buf_put_u8(b, st->ck_open);
	buf_put_bytes(b, st->ck_open && ck && ck->len == VC_CK_LEN ? ck->blob : zero, VC_CK_LEN);
	encode_files(st, b, false);
	mdp_wipe(wrap_admin, sizeof(wrap_admin));
	return MDP_OK;
}

enum mdp_err
vc_state_encode(const struct vc_state *st, struct mdp_buf *out)
{
	struct mdp_buf b;
	uint8_t md[DIGEST_LEN];
	size_t body;
	enum mdp_err err;

	buf_init_secret(&b);
	buf_put_bytes(&b, state_magic, sizeof(state_magic));
	buf_put_be32(&b, st->format);
	buf_put_be32(&b, 0); /* body length, patched below */
	err = st->format == VC_FORMAT_V1 ? encode_v1(st, &b) : encode_v2(st, &b);
	if (err) {
		buf_free(&b);
		return err;
	}
	if (b.bad || b.len < HEADER_LEN) {
		buf_free(&b);
		return MDP_ERR_NOMEM;
	}
	body = b.len - HEADER_LEN;
	b.data[12] = (uint8_t)(body >> 24);
	b.data[13] = (uint8_t)(body >> 16);
	b.data[14] = (uint8_t)(body >> 8);
	b.data[15] = (uint8_t)body;
	if (!digest(b.data, b.len, md)) {
		buf_free(&b);
		return MDP_ERR_CRYPTO;
	}
	buf_put_bytes(&b, md, DIGEST_LEN);
	if (b.bad) {
		buf_free(&b);
		return MDP_ERR_NOMEM;
	}
	*out = b;
	return MDP_OK;
}

/* ---- decoding ---- */

static bool
get_blob32(struct mdp_cursor *c, uint8_t **p, size_t *len, size_t max)
{
	uint32_t n = cur_get_be32(c);
	const uint8_t *src;

	if (c->bad || n > max || n > cur_left(c))
		return false;
	*len = n;
	*p = NULL;
	if (!n)
		return true;
	src = cur_get_bytes(c, n);
	*p = mdp_memdup(src, n);
	return *p != NULL;
}

static enum mdp_err
decode_ef(struct mdp_cursor *c, struct vc_file *f)
{
	size_t i, n, total = 0;

	if ((f->fid >> 8) == 0xB0 || f->fid == 0x3FFF)
		return STATE_BAD("EF with key-file FID %04X", f->fid);
	n = cur_get_be32(c);
	if (c->bad || n > VC_MAX_DOS_PER_EF)
		return STATE_BAD("file %04X: bad data object count", f->fid);
	f->dos = calloc(n ? n : 1, sizeof(*f->dos));
	if (!f->dos)
		return MDP_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		struct vc_do *d = &f->dos[i];

		d->tag = cur_get_be32(c);
		if (c->bad || !d->tag || d->tag > 0xFFFFFF)
			return STATE_BAD("file %04X: bad data object tag", f->fid);
		if (!get_blob32(c, &d->val, &d->len, VC_MAX_DO_LEN))
			return STATE_BAD("file %04X: bad data object", f->fid);
		f->n_dos++;
		total += d->len;
	}
	if (total > VC_MAX_EF_BYTES)
		return STATE_BAD("file %04X too large", f->fid);
	return MDP_OK;
}

/* Format 1 holds the admin key in clear (24 bytes); format 2 holds it sealed. */
static enum mdp_err
decode_key_file(struct mdp_cursor *c, struct vc_file *f, bool v2)
{
	size_t sym_min = v2 ? 1 + VC_SEALED_OVERHEAD : VCARD_ADMIN_KEY_LEN;
	size_t sym_max = v2 ? VC_SYM_MAX + VC_SEALED_OVERHEAD : VCARD_ADMIN_KEY_LEN;

	if ((f->fid >> 8) != 0xB0 || (f->fid & 0xFF) < 0x80)
		return STATE_BAD("key file with FID %04X", f->fid);
	if (!get_blob32(c, &f->crt, &f->crt_len, 1024))
		return STATE_BAD("key file %04X: bad usage list", f->fid);
	f->key_type = cur_get_u8(c);
	f->alg = cur_get_u8(c);
	if (c->bad || f->key_type > VC_KEY_EC)
		return STATE_BAD("key file %04X: bad key type", f->fid);
	if (!get_blob32(c, &f->sym, &f->sym_len, sym_max) ||
	    !get_blob32(c, &f->pub, &f->pub_len, 4096) ||
	    !get_blob32(c, &f->priv, &f->priv_len, 8192))
		return STATE_BAD("key file %04X: bad key material", f->fid);
	switch (f->key_type) {
	case VC_KEY_NONE:
		if (f->sym_len || f->pub_len || f->priv_len)
			return STATE_BAD("key file %04X: stray key material", f->fid);
		break;
	case VC_KEY_SYM:
		if (f->sym_len < sym_min || f->pub_len || f->priv_len)
			return STATE_BAD("key file %04X: bad symmetric key", f->fid);
		break;
	default:
		if (f->sym_len || !f->pub_len || f->priv_len < 29)
			return STATE_BAD("key file %04X: bad key pair", f->fid);
		break;
	}
	return MDP_OK;
}

static enum mdp_err
decode_file(struct mdp_cursor *c, struct vc_file *f, bool v2)
{
	const uint8_t *acl;

	f->fid = cur_get_be16(c);
	f->desc = cur_get_u8(c);
	f->lcs = cur_get_u8(c);
	f->acl_len = cur_get_u8(c);
	if (c->bad)
		return STATE_BAD("truncated file record");
	if (f->desc != VC_DESC_EF && f->desc != VC_DESC_KEY)
		return STATE_BAD("file %04X has unknown descriptor %02X", f->fid, f->desc);
	if (f->lcs != VC_LCS_CREATION && f->lcs != VC_LCS_OPERATIONAL)
		return STATE_BAD("file %04X has bad life cycle %u", f->fid, f->lcs);
	if (f->acl_len > sizeof(f->acl))
		return STATE_BAD("file %04X has a bad access rule", f->fid);
	acl = cur_get_bytes(c, f->acl_len);
	if (!acl && f->acl_len)
		return STATE_BAD("truncated access rule");
	memcpy(f->acl, acl ? acl : f->acl, f->acl_len);
	if (f->desc == VC_DESC_EF)
		return decode_ef(c, f);
	return decode_key_file(c, f, v2);
}

static enum mdp_err
decode_files(struct mdp_cursor *c, struct vc_state *st, bool v2)
{
	size_t i, j, nfiles, nkeys = 0;
	enum mdp_err err;

	nfiles = cur_get_be16(c);
	if (c->bad)
		return STATE_BAD("truncated card record");
	if (nfiles > VC_MAX_FILES)
		return STATE_BAD("too many files (%zu)", nfiles);
	st->files = calloc(nfiles ? nfiles : 1, sizeof(*st->files));
	if (!st->files)
		return MDP_ERR_NOMEM;
	for (i = 0; i < nfiles; i++) {
		err = decode_file(c, &st->files[i], v2);
		st->n_files++;
		if (err)
			return err;
		for (j = 0; j < i; j++) {
			if (st->files[j].fid == st->files[i].fid)
				return STATE_BAD("file %04X twice", st->files[i].fid);
		}
		if (st->files[i].desc == VC_DESC_KEY && st->files[i].fid != 0xB080)
			nkeys++;
	}
	if (nkeys > VC_MAX_KEY_FILES)
		return STATE_BAD("too many key files");
	return MDP_OK;
}

enum mdp_err
vc_decode_files(struct mdp_cursor *c, struct vc_state *st)
{
	return decode_files(c, st, true);
}

/* The GIDS fields shared by both formats, checked. */
static enum mdp_err
check_gids(const struct vc_state *st)
{
	if (st->app_lcs != VC_LCS_CREATION && st->app_lcs != VC_LCS_OPERATIONAL)
		return STATE_BAD("bad application life cycle %u", st->app_lcs);
	if (st->kdf_cost < 1 || st->kdf_cost > VC_KDF_MAX_COST)
		return STATE_BAD("bad KDF cost %u", st->kdf_cost);
	if (st->pin_max < 1 || st->pin_max > 15 || st->pin_left > st->pin_max ||
	    (st->pin_set && (st->pin_len < VC_PIN_MIN || st->pin_len > VC_PIN_MAX)))
		return STATE_BAD("bad PIN record");
	if (!st->pin_set && !st->ck_open && !st->ck_admin)
		return STATE_BAD("card key unreachable");
	return MDP_OK;
}

/* Application life cycle and the PIN record, as both formats have them. */
static void
decode_pin_record(struct mdp_cursor *c, struct vc_state *st)
{
	const uint8_t *q;

	st->app_lcs = cur_get_u8(c);
	st->pin_set = cur_get_u8(c) != 0;
	st->pin_len = cur_get_u8(c);
	st->pin_max = cur_get_u8(c);
	st->pin_left = cur_get_u8(c);
	st->kdf_cost = cur_get_u8(c);
	q = cur_get_bytes(c, VC_SALT_LEN);
	if (q)
		memcpy(st->pin_salt, q, VC_SALT_LEN);
}

/* Store a value as an item of a format 1 card (seal kind none: items hold values in clear). */
static enum mdp_err
v1_item(struct vc_state *st, uint32_t id, const uint8_t *val, size_t len)
{
	struct vc_item *items = realloc(st->items, (st->n_items + 1) * sizeof(*items));

	if (!items)
		return MDP_ERR_NOMEM;
	st->items = items;
	items[st->n_items].id = id;
	items[st->n_items].len = len;
	items[st->n_items].blob = mdp_memdup(val, len);
	if (!items[st->n_items].blob)
		return MDP_ERR_NOMEM;
	st->n_items++;
	return MDP_OK;
}

/*
 * Format 1 into the model: the PIN wrap becomes item GPIN; the card key (kept in clear in
 * creation state, else wrapped under the admin key, which lies in the file) item GCK.
 */
static enum mdp_err
decode_v1(struct mdp_cursor *c, struct vc_state *st)
{
	uint8_t wrap_pin[VC_WRAP_LEN], wrap_admin[VC_WRAP_LEN], ck[VC_CK_LEN], kek[VC_CK_LEN];
	bool has_wrap_admin, has_ck_clear;
	const struct vc_file *adm = NULL;
	const uint8_t *q;
	size_t i;
	enum mdp_err err;

	decode_pin_record(c, st);
	q = cur_get_bytes(c, VC_WRAP_LEN);
	if (q)
		memcpy(wrap_pin, q, VC_WRAP_LEN);
	has_wrap_admin = cur_get_u8(c) != 0;
	q = cur_get_bytes(c, VC_WRAP_LEN);
	if (q)
		memcpy(wrap_admin, q, VC_WRAP_LEN);
	has_ck_clear = cur_get_u8(c) != 0;
	q = cur_get_bytes(c, VC_CK_LEN);
	if (q)
		memcpy(ck, q, VC_CK_LEN);
	if (c->bad)
		return STATE_BAD("truncated card record");
	err = decode_files(c, st, false);
	if (err)
		goto out;
	st->ck_open = has_ck_clear;
	if (st->pin_set && (err = v1_item(st, VC_ITEM_PIN, wrap_pin, VC_WRAP_LEN)))
		goto out;
	for (i = 0; i < st->n_files; i++) {
		if (st->files[i].fid == 0xB080 && st->files[i].key_type == VC_KEY_SYM)
			adm = &st->files[i];
	}
	if (!has_ck_clear && has_wrap_admin && adm) {
		err = vc_hkdf(adm->sym, adm->sym_len, st->uuid, VC_UUID_LEN, V1_ADMIN_INFO, kek);
		if (!err && vc_unwrap_ck(st, kek, "admin", wrap_admin, ck) != MDP_OK)
			err = STATE_BAD("the admin wrap of the card key does not open (damaged)");
		if (err)
			goto out;
	}
	st->ck_admin = has_wrap_admin && adm;
	if ((st->ck_open || st->ck_admin) && (err = v1_item(st, VC_ITEM_CK, ck, VC_CK_LEN)))
		goto out;
	err = check_gids(st);
out:
	mdp_wipe(ck, sizeof(ck));
	mdp_wipe(kek, sizeof(kek));
	mdp_wipe(wrap_pin, sizeof(wrap_pin));
	mdp_wipe(wrap_admin, sizeof(wrap_admin));
	return err;
}

static enum mdp_err
decode_seal(struct mdp_cursor *c, struct vc_state *st)
{
	size_t n;
	const uint8_t *q;
	const char *prefix;

	st->seal.kind = cur_get_u8(c);
	n = cur_get_be16(c);
	if (c->bad || (st->seal.kind != VC_SEAL_KEYFILE && st->seal.kind != VC_SEAL_TPM))
		return STATE_BAD("unknown seal kind %u", st->seal.kind);
	q = cur_get_bytes(c, n);
	if (!q || n == 0 || n > MAX_SPEC || memchr(q, 0, n))
		return STATE_BAD("bad seal record");
	st->seal.spec = malloc(n + 1);
	if (!st->seal.spec)
		return MDP_ERR_NOMEM;
	memcpy(st->seal.spec, q, n);
	st->seal.spec[n] = '\0';
	prefix = st->seal.kind == VC_SEAL_KEYFILE ? "keyfile:" : "tpm:";
	if (strncmp(st->seal.spec, prefix, strlen(prefix)) != 0 || !st->seal.spec[strlen(prefix)])
		return STATE_BAD("bad seal record");
	if (!get_blob32(c, &st->seal.data, &st->seal.data_len, MAX_SEAL_DATA) ||
	    !st->seal.data_len || (st->seal.kind == VC_SEAL_KEYFILE && st->seal.data_len != 16))
		return STATE_BAD("bad seal record");
	return MDP_OK;
}

static enum mdp_err
decode_items(struct mdp_cursor *c, struct vc_state *st)
{
	size_t i, j, n = cur_get_be16(c);

	if (c->bad || n > VC_MAX_ITEMS)
		return STATE_BAD("bad sealed item count");
	st->items = calloc(n ? n : 1, sizeof(*st->items));
	if (!st->items)
		return MDP_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		struct vc_item *it = &st->items[i];

		it->id = cur_get_be32(c);
		if (c->bad || !get_blob32(c, &it->blob, &it->len, VC_MAX_ITEM_LEN) ||
		    it->len < VC_SEALED_OVERHEAD)
			return STATE_BAD("bad sealed item");
		st->n_items++;
		for (j = 0; j < i; j++) {
			if (st->items[j].id == it->id)
				return STATE_BAD("sealed item %08x twice", (unsigned)it->id);
		}
	}
	return MDP_OK;
}

static enum mdp_err
decode_gids(struct mdp_cursor *c, struct vc_state *st)
{
	const struct vc_item *pin, *ck;
	enum mdp_err err;

	decode_pin_record(c, st);
	st->ck_open = cur_get_u8(c) != 0;
	st->ck_admin = cur_get_u8(c) != 0;
	if (c->bad)
		return STATE_BAD("truncated card record");
	err = check_gids(st);
	if (err)
		return err;
	pin = vc_item_find(st, VC_ITEM_PIN);
	ck = vc_item_find(st, VC_ITEM_CK);
	if (st->pin_set != (pin != NULL) || (pin && pin->len != VC_WRAP_LEN + VC_SEALED_OVERHEAD))
		return STATE_BAD("the PIN record and its sealed wrap disagree");
	if ((st->ck_open || st->ck_admin) != (ck != NULL) ||
	    (ck && ck->len != VC_CK_LEN + VC_SEALED_OVERHEAD))
		return STATE_BAD("the card key record and its sealed copy disagree");
	return decode_files(c, st, true);
}

static enum mdp_err
decode_v2(struct mdp_cursor *c, struct vc_state *st)
{
	struct mdp_cursor sec;
	const uint8_t *q;
	size_t n;
	enum mdp_err err;

	st->type = cur_get_u8(c);
	if (c->bad)
		return STATE_BAD("truncated card record");
	if (st->type != VCARD_TYPE_GIDS && st->type != VCARD_TYPE_PIV)
		return STATE_BAD("card type %u is not supported by this build", st->type);
	err = decode_seal(c, st);
	if (!err)
		err = decode_items(c, st);
	if (err)
		return err;
	n = cur_get_be32(c);
	q = cur_get_bytes(c, n);
	if (c->bad || !q)
		return STATE_BAD("truncated card section");
	cur_init(&sec, q, n);
	err = st->type == VCARD_TYPE_PIV ? vc_piv_decode(&sec, st) : decode_gids(&sec, st);
	if (!err && cur_left(&sec))
		err = STATE_BAD("%zu unexpected bytes in the card section", cur_left(&sec));
	return err;
}

enum mdp_err
vc_state_decode(const uint8_t *p, size_t len, struct vc_state *out)
{
	struct vc_state st;
	struct mdp_cursor c;
	uint8_t md[DIGEST_LEN];
	uint32_t version, body, hi, lo;
	const uint8_t *q;
	enum mdp_err err;

	memset(&st, 0, sizeof(st));
	if (len < HEADER_LEN || memcmp(p, state_magic, sizeof(state_magic)) != 0)
		return STATE_BAD("not an mdp11 virtual card (bad magic)");
	cur_init(&c, p, len);
	cur_skip(&c, sizeof(state_magic));
	version = cur_get_be32(&c);
	body = cur_get_be32(&c);
	if (version != VC_FORMAT_V1 && version != VC_FORMAT_V2)
		return STATE_BAD("unsupported format version %u (this build reads 1 and 2)",
				 version);
	if (body > len || len - body != HEADER_LEN + DIGEST_LEN)
		return STATE_BAD("length %zu does not match the header (truncated or extended)",
				 len);
	if (!digest(p, HEADER_LEN + body, md) ||
	    mdp_memeq_ct(md, p + HEADER_LEN + body, DIGEST_LEN) != 0)
		return STATE_BAD("checksum mismatch (damaged)");
	cur_init(&c, p + HEADER_LEN, body);
	st.format = version;
	q = cur_get_bytes(&c, VC_UUID_LEN);
	if (q)
		memcpy(st.uuid, q, VC_UUID_LEN);
	hi = cur_get_be32(&c);
	lo = cur_get_be32(&c);
	st.generation = (uint64_t)hi << 32 | lo;
	err = version == VC_FORMAT_V1 ? decode_v1(&c, &st) : decode_v2(&c, &st);
	if (err)
		goto out;
	if (cur_left(&c) != 0) {
		err = STATE_BAD("%zu unexpected trailing bytes", cur_left(&c));
		goto out;
	}
	*out = st;
	return MDP_OK;
out:
	vc_state_free(&st);
	return err;
}
