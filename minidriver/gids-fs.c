/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GIDS card module: the file system (masterfile, certificates, cardcf / cmapfile / keymap,
 * files; spec/gids.md §5). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/gids-int.h"

/* ---- masterfile (§5.1) ---- */

struct mf_entry {
	char dir[9];
	char file[9];
	uint16_t tag;
	uint16_t fid;
};

/* Parse record i of a masterfile image; false when malformed. */
static bool
mf_get(const uint8_t *mf, size_t len, size_t i, struct mf_entry *e)
{
	struct mdp_cursor c;
	const uint8_t *d, *f;
	uint32_t tag, fid;

	cur_init(&c, mf, len);
	if (!cur_skip(&c, 1 + i * GIDS_MF_RECORD))
		return false;
	d = cur_get_bytes(&c, 9);
	f = cur_get_bytes(&c, 9);
	cur_skip(&c, 2);
	tag = cur_get_le32(&c);
	fid = cur_get_le32(&c);
	if (c.bad || tag > 0xFFFF || fid > 0xFFFF)
		return false;
	memcpy(e->dir, d, 9);
	memcpy(e->file, f, 9);
	e->dir[8] = e->file[8] = '\0';
	e->tag = (uint16_t)tag;
	e->fid = (uint16_t)fid;
	return true;
}

static size_t
mf_count(const struct gids *g)
{
	return g->mf_len >= 1 ? (g->mf_len - 1) / GIDS_MF_RECORD : 0;
}

static enum md_rv
load_mf(struct md_card *card)
{
	struct gids *g = G(card);
	struct mdp_buf b;
	bool present = false;
	enum md_rv rv;

	if (g->mf_valid)
		return MD_OK;
	buf_init(&b);
	rv = gids_get_do(card, GIDS_EF_UCDD, GIDS_DO_MASTERFILE, &b, &present);
	if (rv != MD_OK)
		goto out;
	if (!present || b.len < 1 || b.data[0] != 0x01 || (b.len - 1) % GIDS_MF_RECORD) {
		log_warn("masterfile missing or malformed (%zu bytes)", b.len);
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	free(g->mf);
	g->mf_len = b.len;
	g->mf = buf_steal(&b, &g->mf_len);
	g->mf_valid = g->mf != NULL;
	rv = g->mf_valid ? MD_OK : MD_E_NO_MEMORY;
out:
	buf_free(&b);
	return rv;
}

static bool
name_eq(const char *a, const char *b)
{
	return strcasecmp(a ? a : "", b ? b : "") == 0;
}

/* Index of the record for (dir, file) or -1; file "" finds a directory record. */
static long
mf_find(const struct gids *g, const char *dir, const char *file)
{
	struct mf_entry e;
	size_t i;

	for (i = 0; i < mf_count(g); i++) {
		if (!mf_get(g->mf, g->mf_len, i, &e))
			return -1;
		if (name_eq(e.dir, dir) && name_eq(e.file, file))
			return (long)i;
	}
	return -1;
}

static bool
dir_exists(const struct gids *g, const char *dir)
{
	return !dir || !*dir || mf_find(g, dir, "") >= 0;
}

static enum md_rv
store_mf(struct md_card *card, uint8_t *mf, size_t len)
{
	struct gids *g = G(card);
	enum md_rv rv;

	rv = gids_put_do(card, GIDS_EF_UCDD, GIDS_DO_MASTERFILE, mf, len);
	if (rv != MD_OK) {
		free(mf);
		g->mf_valid = false;
		return rv;
	}
	free(g->mf);
	g->mf = mf;
	g->mf_len = len;
	g->mf_valid = true;
	return MD_OK;
}

/* Files every initialised GIDS card has at fixed places (gids-tool, Windows): no masterfile read
 * needed. */
static bool
well_known(const char *dir, const char *file, uint16_t *fid, uint16_t *tag)
{
	if (!dir || !*dir) {
		if (strcasecmp(file, "cardid") == 0) {
			*fid = GIDS_EF_ERAW;
			*tag = 0xDF20;
			return true;
		}
		if (strcasecmp(file, "cardapps") == 0) {
			*fid = GIDS_EF_ERUW;
			*tag = 0xDF21;
			return true;
		}
		if (strcasecmp(file, "cardcf") == 0) {
			*fid = GIDS_EF_ERUW;
			*tag = 0xDF22;
			return true;
		}
		return false;
	}
	if (strcasecmp(dir, "mscp") == 0 && strcasecmp(file, "cmapfile") == 0) {
		*fid = GIDS_EF_ERUW;
		*tag = 0xDF23;
		return true;
	}
	return false;
}

/* Where a file lives. MD_E_FILE_NOT_FOUND / MD_E_DIR_NOT_FOUND when absent. */
static enum md_rv
locate(struct md_card *card, const char *dir, const char *file, uint16_t *fid, uint16_t *tag)
{
	struct gids *g = G(card);
	struct mf_entry e;
	long i;
	enum md_rv rv;

	if (!g->mf_valid && well_known(dir, file, fid, tag))
		return MD_OK;
	rv = load_mf(card);
	if (rv != MD_OK)
		return rv;
	i = mf_find(g, dir, file);
	if (i < 0)
		return dir_exists(g, dir) ? MD_E_FILE_NOT_FOUND : MD_E_DIR_NOT_FOUND;
	mf_get(g->mf, g->mf_len, (size_t)i, &e);
	*fid = e.fid;
	*tag = e.tag;
	return MD_OK;
}

static enum md_file_access
access_of_fid(uint16_t fid)
{
	switch (fid) {
	case GIDS_EF_ERUW:
		return MD_AC_EVERYONE_READ_USER_WRITE;
	case GIDS_EF_UWE:
		return MD_AC_USER_WRITE_EXECUTE;
	case GIDS_EF_ERAW:
		return MD_AC_EVERYONE_READ_ADMIN_WRITE;
	case GIDS_EF_URW:
		return MD_AC_USER_READ_WRITE;
	case GIDS_EF_ARW:
		return MD_AC_ADMIN_READ_WRITE;
	default:
		return MD_AC_UNKNOWN;
	}
}

static uint16_t
fid_of_access(enum md_file_access ac)
{
	switch (ac) {
	case MD_AC_EVERYONE_READ_USER_WRITE:
		return GIDS_EF_ERUW;
	case MD_AC_USER_WRITE_EXECUTE:
		return GIDS_EF_UWE;
	case MD_AC_EVERYONE_READ_ADMIN_WRITE:
		return GIDS_EF_ERAW;
	case MD_AC_USER_READ_WRITE:
		return GIDS_EF_URW;
	case MD_AC_ADMIN_READ_WRITE:
		return GIDS_EF_ARW;
	default:
		return 0;
	}
}

/* ---- certificates (§5.7): the module compresses, the host sees plain DER ---- */

static bool
is_cert_file(const char *dir, const char *file)
{
	return dir && strcasecmp(dir, "mscp") == 0 &&
	       (strncasecmp(file, "kxc", 3) == 0 || strncasecmp(file, "ksc", 3) == 0);
}

static enum md_rv
cert_compress(const uint8_t *der, size_t len, struct mdp_buf *out)
{
	uLongf zlen;
	uint8_t *z = NULL;
	enum md_rv rv = MD_OK;

	if (len > 0xFFFF)
		return MD_E_INVALID_PARAMETER;
	zlen = compressBound((uLong)len);
	z = malloc(zlen);
	if (!z)
		return MD_E_NO_MEMORY;
	if (compress2(z, &zlen, der, (uLong)len, Z_BEST_COMPRESSION) != Z_OK) {
		rv = MD_E_UNEXPECTED;
		goto out;
	}
	buf_put_u8(out, 0x01);
	buf_put_u8(out, 0x00);
	buf_put_le16(out, (uint16_t)len);
	buf_put_bytes(out, z, zlen);
	if (out->bad)
		rv = MD_E_NO_MEMORY;
out:
	free(z);
	return rv;
}

/* Inflate a "01 00 <len> <zlib>" file; a file not starting 01 00 is plain DER. */
static enum md_rv
cert_decompress(const uint8_t *p, size_t len, uint8_t **out, size_t *out_len)
{
	uLongf n;
	uint8_t *d;

	if (len < 4 || p[0] != 0x01 || p[1] != 0x00) {
		d = malloc(len ? len : 1);
		if (!d)
			return MD_E_NO_MEMORY;
		if (len)
			memcpy(d, p, len);
		*out = d;
		*out_len = len;
		return MD_OK;
	}
	n = (uLongf)(p[2] | p[3] << 8);
	d = malloc(n ? n : 1);
	if (!d)
		return MD_E_NO_MEMORY;
	if (uncompress(d, &n, p + 4, (uLong)(len - 4)) != Z_OK || n != (uLongf)(p[2] | p[3] << 8)) {
		free(d);
		log_warn("certificate does not inflate to its declared size");
		return MD_E_COMM_DATA_LOST;
	}
	*out = d;
	*out_len = n;
	return MD_OK;
}

/* ---- cardcf / cmapfile / keymap ---- */

static void
note_cardcf(struct gids *g, const uint8_t *cf, size_t len)
{
	uint8_t v[6] = {0};

	if (len) /* an empty cardcf (no data, NULL) reads as zero counters */
		memcpy(v, cf, len < 6 ? len : 6);
	if (g->cardcf_valid) {
		/* files counter changed: masterfile and files; containers counter: keys */
		if (memcmp(v + 4, g->cardcf + 4, 2) != 0 || memcmp(v + 2, g->cardcf + 2, 2) != 0)
			gids_drop_file_caches(g);
		if (memcmp(v + 2, g->cardcf + 2, 2) != 0)
			gids_drop_container_caches(g);
	}
	memcpy(g->cardcf, v, 6);
	g->cardcf_valid = true;
}

enum md_rv
gids_load_cmap(struct md_card *card)
{
	struct gids *g = G(card);
	struct mdp_buf b;
	uint16_t fid = 0, tag = 0;
	bool present = false;
	enum md_rv rv;

	if (g->cmap_valid)
		return MD_OK;
	rv = locate(card, "mscp", "cmapfile", &fid, &tag);
	if (rv != MD_OK)
		return rv;
	buf_init(&b);
	rv = gids_get_do(card, fid, tag, &b, &present);
	if (rv != MD_OK)
		goto out;
	free(g->cmap);
	g->cmap = NULL;
	g->cmap_len = 0;
	if (b.len)
		g->cmap = buf_steal(&b, &g->cmap_len);
	g->cmap_valid = true;
out:
	buf_free(&b);
	return rv;
}

static enum md_rv
load_keymap(struct md_card *card)
{
	struct gids *g = G(card);
	struct mdp_buf b;
	bool present = false;
	enum md_rv rv;

	if (g->keymap_valid || g->keymap_absent)
		return MD_OK;
	buf_init(&b);
	rv = gids_get_do(card, GIDS_EF_UCDD, GIDS_DO_KEYMAP, &b, &present);
	if (rv != MD_OK)
		goto out;
	if (!present) {
		/* no keymap yet (a fresh card): the first key creates it */
		g->keymap_absent = true;
		goto out;
	}
	if (b.len < 1 || b.data[0] != 0x01 || (b.len - 1) % GIDS_KEYMAP_RECORD) {
		/* never overwrite what we cannot read */
		log_warn("keymap malformed (%zu bytes)", b.len);
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	free(g->keymap);
	g->keymap_len = b.len;
	g->keymap = buf_steal(&b, &g->keymap_len);
	g->keymap_valid = g->keymap != NULL;
out:
	buf_free(&b);
	return rv;
}

size_t
gids_keymap_count(const struct gids *g)
{
	return g->keymap_valid ? (g->keymap_len - 1) / GIDS_KEYMAP_RECORD : 0;
}

static uint32_t
spec_from(bool exchange, uint8_t alg)
{
	switch (alg) {
	case 0x0C:
		return exchange ? MDP_AT_ECDHE_P256 : MDP_AT_ECDSA_P256;
	case 0x0D:
		return exchange ? MDP_AT_ECDHE_P384 : MDP_AT_ECDSA_P384;
	case 0x0E:
		return exchange ? MDP_AT_ECDHE_P521 : MDP_AT_ECDSA_P521;
	default:
		return exchange ? MDP_AT_KEYEXCHANGE : MDP_AT_SIGNATURE;
	}
}

static uint8_t
alg_for_bits(unsigned bits)
{
	switch (bits) {
	case 256:
		return 0x0C;
	case 384:
		return 0x0D;
	case 521:
		return 0x0E;
	default:
		return alg_for_rsa_bits(bits);
	}
}

/*
 * What container index holds: the keymap (kept by this module when it
 * creates keys, and by OpenSC and Windows) says it right after
 * create_container, before the host has written the cmapfile record; the
 * cmapfile is the fallback for cards without a usable keymap.
 */
enum md_rv
gids_describe(struct md_card *card, uint8_t index, struct key_desc *kd)
{
	struct gids *g = G(card);
	struct mdp_cursor c;
	enum md_rv rv;

	memset(kd, 0, sizeof(*kd));
	if (index >= GIDS_MAX_CONTAINERS)
		return MD_OK;
	rv = load_keymap(card);
	if (rv != MD_OK)
		return rv;
	if (g->keymap_valid && index < gids_keymap_count(g)) {
		uint32_t state;
		uint8_t alg, type;

		cur_init(&c, g->keymap + 1 + (size_t)index * GIDS_KEYMAP_RECORD,
			 GIDS_KEYMAP_RECORD);
		state = cur_get_le32(&c);
		alg = cur_get_u8(&c);
		type = cur_get_u8(&c);
		if (state == 1 && bits_for_alg(alg) &&
		    (type == GIDS_KEYTYPE_KX || type == GIDS_KEYTYPE_SIG)) {
			kd->present = true;
			kd->alg = alg;
			kd->bits = bits_for_alg(alg);
			kd->spec = spec_from(type == GIDS_KEYTYPE_KX, alg);
			return MD_OK;
		}
	}
	rv = gids_load_cmap(card);
	if (rv != MD_OK)
		return rv;
	if ((size_t)(index + 1) * GIDS_CMAP_RECORD <= g->cmap_len) {
		const uint8_t *r = g->cmap + (size_t)index * GIDS_CMAP_RECORD;
		unsigned sig = (unsigned)(r[82] | r[83] << 8), kx = (unsigned)(r[84] | r[85] << 8);

		if ((r[80] & 0x01) && (sig || kx)) {
			unsigned bits = kx ? kx : sig;

			if (alg_for_bits(bits)) {
				kd->present = true;
				kd->bits = bits;
				kd->alg = alg_for_bits(bits);
				kd->spec = spec_from(kx != 0, kd->alg);
			}
		}
	}
	return MD_OK;
}

/* Write keymap record index (and grow or shrink to count records when count is not 0). */
enum md_rv
gids_keymap_update(struct md_card *card, uint8_t index, const struct key_desc *kd, size_t min_count)
{
	struct gids *g = G(card);
	struct mdp_buf b;
	size_t n, i, have;
	enum md_rv rv;

	rv = load_keymap(card);
	if (rv != MD_OK)
		return rv;
	have = gids_keymap_count(g);
	n = have;
	if (n < (size_t)index + 1)
		n = (size_t)index + 1;
	if (n < min_count)
		n = min_count;
	buf_init(&b);
	buf_put_u8(&b, 0x01);
	for (i = 0; i < n; i++) {
		if (i == index) {
			buf_put_le32(&b, kd->present ? 1 : 0);
			buf_put_u8(&b, kd->present ? kd->alg : 0);
			buf_put_u8(&b, kd->present ? (MDP_KEY_SPEC_IS_SIG_SLOT(kd->spec)
							      ? GIDS_KEYTYPE_SIG
							      : GIDS_KEYTYPE_KX)
						   : 0);
			buf_put_le16(&b, kd->present ? (uint16_t)(0xB000 | (0x81 + i)) : 0xFFFF);
			buf_put_le16(&b, 0xFFFF);
			buf_put_le16(&b, 0);
		} else if (i < have) {
			buf_put_bytes(&b, g->keymap + 1 + i * GIDS_KEYMAP_RECORD,
				      GIDS_KEYMAP_RECORD);
		} else {
			buf_put_le32(&b, 0);
			buf_put_u8(&b, 0);
			buf_put_u8(&b, 0);
			buf_put_le16(&b, 0xFFFF);
			buf_put_le16(&b, 0xFFFF);
			buf_put_le16(&b, 0);
		}
	}
	if (b.bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = gids_put_do(card, GIDS_EF_UCDD, GIDS_DO_KEYMAP, b.data, b.len);
	if (rv != MD_OK) {
		g->keymap_valid = false;
		goto out;
	}
	free(g->keymap);
	g->keymap_len = b.len;
	g->keymap = buf_steal(&b, &g->keymap_len);
	g->keymap_valid = g->keymap != NULL;
	g->keymap_absent = false;
out:
	buf_free(&b);
	return rv;
}

/* ---- files ---- */

static enum md_rv
read_raw(struct md_card *card, const char *dir, const char *file, struct mdp_buf *out)
{
	uint16_t fid = 0, tag = 0;
	bool present = false;
	enum md_rv rv;

	rv = locate(card, dir, file, &fid, &tag);
	if (rv != MD_OK)
		return rv;
	rv = gids_get_do(card, fid, tag, out, &present);
	/* a listed file whose DO is absent is empty (GIDS deletes DOs written empty twice) */
	if (rv == MD_E_FILE_NOT_FOUND)
		rv = MD_E_COMM_DATA_LOST;
	return rv;
}

enum md_rv
gids_read_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
	       uint8_t **data, size_t *len)
{
	struct gids *g = G(card);
	struct mdp_buf b;
	enum md_rv rv;
	bool is_cmap = dir && strcasecmp(dir, "mscp") == 0 && strcasecmp(file, "cmapfile") == 0;
	bool is_cf = !dir && strcasecmp(file, "cardcf") == 0;

	rv = gids_sync(card);
	if (rv != MD_OK)
		return rv;
	if (is_cmap) {
		rv = gids_load_cmap(card);
		if (rv != MD_OK)
			return rv;
		*data = malloc(g->cmap_len ? g->cmap_len : 1);
		if (!*data)
			return MD_E_NO_MEMORY;
		if (g->cmap_len)
			memcpy(*data, g->cmap, g->cmap_len);
		*len = g->cmap_len;
		return MD_OK;
	}
	buf_init(&b);
	rv = read_raw(card, dir, file, &b);
	if (rv != MD_OK)
		goto out;
	if (is_cf)
		note_cardcf(g, b.data, b.len);
	if (!dir && strcasecmp(file, "cardid") == 0 && b.len <= sizeof(g->cardid)) {
		if (b.len)
			memcpy(g->cardid, b.data, b.len);
		g->cardid_len = b.len;
	}
	if (is_cert_file(dir, file)) {
		rv = cert_decompress(b.data, b.len, data, len);
		goto out;
	}
	*len = b.len;
	*data = b.len ? buf_steal(&b, len) : malloc(1);
	if (!*data)
		rv = MD_E_NO_MEMORY;
out:
	buf_free(&b);
	return rv;
}

/* Keep the keymap as long as the cmapfile (OpenSC refuses key changes otherwise, §5.6). */
static enum md_rv
align_keymap(struct md_card *card, size_t cmap_records)
{
	struct gids *g = G(card);
	struct key_desc none = {0};
	enum md_rv rv;

	rv = load_keymap(card);
	if (rv != MD_OK)
		return rv;
	if (gids_keymap_count(g) >= cmap_records || cmap_records == 0)
		return MD_OK;
	return gids_keymap_update(card, (uint8_t)(cmap_records - 1), &none, cmap_records);
}

enum md_rv
gids_write_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
		const uint8_t *data, size_t len)
{
	struct gids *g = G(card);
	struct mdp_buf z;
	uint16_t fid = 0, tag = 0;
	bool is_cmap = dir && strcasecmp(dir, "mscp") == 0 && strcasecmp(file, "cmapfile") == 0;
	enum md_rv rv;

	buf_init(&z);
	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = locate(card, dir, file, &fid, &tag);
	if (rv != MD_OK)
		goto out;
	if (is_cmap && len % GIDS_CMAP_RECORD) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	if (is_cert_file(dir, file) && len) {
		rv = cert_compress(data, len, &z);
		if (rv != MD_OK)
			goto out;
		data = z.data;
		len = z.len;
	}
	rv = gids_put_do(card, fid, tag, data, len);
	if (rv != MD_OK) {
		if (is_cmap)
			g->cmap_valid = false;
		goto out;
	}
	if (is_cmap) {
		free(g->cmap);
		g->cmap = len ? mdp_memdup(data, len) : NULL;
		g->cmap_len = len;
		g->cmap_valid = !len || g->cmap;
		if (g->cmap_valid && len / GIDS_CMAP_RECORD <= GIDS_MAX_CONTAINERS)
			rv = align_keymap(card, len / GIDS_CMAP_RECORD);
	} else if (!dir && strcasecmp(file, "cardcf") == 0) {
		/* our own change: caches are already current */
		memset(g->cardcf, 0, sizeof(g->cardcf));
		memcpy(g->cardcf, data, len < 6 ? len : 6);
		g->cardcf_valid = true;
	}
out:
	buf_free(&z);
	return rv;
}

static uint16_t
free_tag(const struct gids *g, uint16_t fid)
{
	uint16_t tag;
	struct mf_entry e;
	size_t i;
	bool used;

	for (tag = GIDS_DO_FIRST_FREE; tag <= GIDS_DO_LAST; tag++) {
		used = false;
		for (i = 0; i < mf_count(g) && !used; i++)
			if (mf_get(g->mf, g->mf_len, i, &e) && e.fid == fid && e.tag == tag)
				used = true;
		if (!used)
			return tag;
	}
	return 0;
}

static enum md_rv
mf_append(struct md_card *card, const char *dir, const char *file, uint16_t tag, uint16_t fid)
{
	struct gids *g = G(card);
	struct mdp_buf b;
	uint8_t name[9];

	buf_init(&b);
	buf_put_bytes(&b, g->mf, g->mf_len);
	memset(name, 0, sizeof(name));
	memcpy(name, dir ? dir : "", dir ? strlen(dir) : 0);
	buf_put_bytes(&b, name, 9);
	memset(name, 0, sizeof(name));
	memcpy(name, file, strlen(file));
	buf_put_bytes(&b, name, 9);
	buf_put_zeros(&b, 2);
	buf_put_le32(&b, tag);
	buf_put_le32(&b, fid);
	if (b.bad) {
		buf_free(&b);
		return MD_E_NO_MEMORY;
	}
	{
		size_t n = b.len;
		uint8_t *p = buf_steal(&b, &n);

		return store_mf(card, p, n);
	}
}

static enum md_rv
mf_remove(struct md_card *card, size_t index)
{
	struct gids *g = G(card);
	uint8_t *p;
	size_t off = 1 + index * GIDS_MF_RECORD;

	p = malloc(g->mf_len - GIDS_MF_RECORD);
	if (!p)
		return MD_E_NO_MEMORY;
	memcpy(p, g->mf, off);
	memcpy(p + off, g->mf + off + GIDS_MF_RECORD, g->mf_len - off - GIDS_MF_RECORD);
	return store_mf(card, p, g->mf_len - GIDS_MF_RECORD);
}

static void
lower(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i < MD_MAX_NAME; i++)
		dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
	dst[i] = '\0';
}

/*
 * Certificate names as OpenSC writes and reads them (kxcNN with NN two
 * upper-case hex digits): a host that asks for "kxc0a" gets the record
 * "kxc0A" (names match case-insensitively) and new certificate files are
 * stored with upper-case hex so that OpenSC finds them (docs/minidriver.md).
 */
static void
store_name(char *dst, const char *dir, const char *file)
{
	lower(dst, file);
	if (is_cert_file(dir, file) && strlen(dst) == 5) {
		dst[3] = (char)((dst[3] >= 'a' && dst[3] <= 'f') ? dst[3] - 32 : dst[3]);
		dst[4] = (char)((dst[4] >= 'a' && dst[4] <= 'f') ? dst[4] - 32 : dst[4]);
	}
}

enum md_rv
gids_create_file(struct md_card *card, const char *dir, const char *file, uint32_t size,
		 enum md_file_access ac)
{
	struct gids *g = G(card);
	char d[MD_MAX_NAME + 1], f[MD_MAX_NAME + 1];
	uint16_t fid = fid_of_access(ac), tag;
	enum md_rv rv;

	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = load_mf(card);
	if (rv != MD_OK)
		return rv;
	if (!dir_exists(g, dir))
		return MD_E_DIR_NOT_FOUND;
	if (mf_find(g, dir, file) >= 0)
		return MD_ERROR_FILE_EXISTS;
	if (!fid)
		return MD_E_INVALID_PARAMETER;
	tag = free_tag(g, fid);
	if (!tag)
		return MD_E_WRITE_TOO_MANY;
	lower(d, dir);
	store_name(f, dir, file);
	/* The DO itself is written by the first write_file; until then the file reads empty. */
	return mf_append(card, dir ? d : NULL, f, tag, fid);
}

enum md_rv
gids_delete_file(struct md_card *card, const char *dir, const char *file, uint32_t flags)
{
	struct gids *g = G(card);
	struct mf_entry e;
	long i;
	enum md_rv rv;

	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = load_mf(card);
	if (rv != MD_OK)
		return rv;
	i = mf_find(g, dir, file);
	if (i < 0)
		return dir_exists(g, dir) ? MD_E_FILE_NOT_FOUND : MD_E_DIR_NOT_FOUND;
	mf_get(g->mf, g->mf_len, (size_t)i, &e);
	rv = mf_remove(card, (size_t)i);
	if (rv != MD_OK)
		return rv;
	/* free the card memory: the DO becomes empty (as OpenSC does) */
	return gids_put_do(card, e.fid, e.tag, NULL, 0);
}

enum md_rv
gids_create_directory(struct md_card *card, const char *dir, enum md_dir_access ac)
{
	struct gids *g = G(card);
	char d[MD_MAX_NAME + 1];
	enum md_rv rv;

	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = load_mf(card);
	if (rv != MD_OK)
		return rv;
	if (mf_find(g, dir, "") >= 0)
		return MD_ERROR_FILE_EXISTS;
	lower(d, dir);
	return mf_append(card, d, "", 0, GIDS_EF_UCDD);
}

enum md_rv
gids_delete_directory(struct md_card *card, const char *dir)
{
	struct gids *g = G(card);
	struct mf_entry e;
	long idx;
	size_t i;
	enum md_rv rv;

	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = load_mf(card);
	if (rv != MD_OK)
		return rv;
	idx = mf_find(g, dir, "");
	if (idx < 0)
		return MD_E_DIR_NOT_FOUND;
	for (i = 0; i < mf_count(g); i++)
		if (mf_get(g->mf, g->mf_len, i, &e) && name_eq(e.dir, dir) && e.file[0])
			return MD_ERROR_DIR_NOT_EMPTY;
	return mf_remove(card, (size_t)idx);
}

enum md_rv
gids_enum_files(struct md_card *card, const char *dir, char **names, size_t *len, uint32_t flags)
{
	struct gids *g = G(card);
	struct mdp_buf b;
	struct mf_entry e;
	size_t i;
	enum md_rv rv;

	rv = gids_sync(card);
	if (rv == MD_OK)
		rv = load_mf(card);
	if (rv != MD_OK)
		return rv;
	if (!dir_exists(g, dir))
		return MD_E_DIR_NOT_FOUND;
	buf_init(&b);
	for (i = 0; i < mf_count(g); i++) {
		if (!mf_get(g->mf, g->mf_len, i, &e) || !e.file[0] || !name_eq(e.dir, dir))
			continue;
		buf_put_bytes(&b, e.file, strlen(e.file) + 1);
	}
	buf_put_u8(&b, 0);
	if (b.bad) {
		buf_free(&b);
		return MD_E_NO_MEMORY;
	}
	*len = b.len;
	*names = (char *)buf_steal(&b, len);
	return MD_OK;
}

enum md_rv
gids_get_file_info(struct md_card *card, const char *dir, const char *file, struct md_file_info *fi)
{
	uint8_t *data = NULL;
	size_t len = 0;
	uint16_t fid = 0, tag = 0;
	enum md_rv rv;

	rv = gids_read_file(card, dir, file, 0, &data, &len);
	if (rv != MD_OK)
		return rv;
	free(data);
	rv = locate(card, dir, file, &fid, &tag);
	if (rv != MD_OK)
		return rv;
	fi->size = (uint32_t)len;
	fi->access = access_of_fid(fid);
	return MD_OK;
}
