/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GIDS card module: minidriver operations as GIDS APDUs (spec/gids.md). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <zlib.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "blob/blob.h"
#include "common/bytes.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/pad.h"
#include "common/secmem.h"
#include "minidriver/card-int.h"
#include "transport/apdu.h"

/* ---- constants (spec/gids.md §2) ---- */

static const uint8_t gids_aid[] = {0xA0, 0x00, 0x00, 0x03, 0x97, 0x42, 0x54, 0x46, 0x59};

#define EF_UCDD 0xA000u /* UserCreateDeleteDirAc: masterfile, keymap */
#define EF_ERUW 0xA010u /* EveryoneReadUserWriteAc */
#define EF_UWE 0xA011u	/* UserWriteExecuteAc */
#define EF_ERAW 0xA012u /* EveryoneReadAdminWriteAc */
#define EF_URW 0xA013u	/* UserReadWriteAc */
#define EF_ARW 0xA014u	/* AdminReadWriteAc */
#define DO_MASTERFILE 0xDF1Fu
#define DO_KEYMAP 0xDF20u
#define DO_FIRST_FREE 0xDF21u
#define DO_LAST 0xDFFEu

#define MF_RECORD 28
#define CMAP_RECORD 86
#define KEYMAP_RECORD 12
#define MAX_CONTAINERS 127 /* key references 0x81..0xFF */
#define MAX_AGREEMENTS 8
#define CHALLENGE_LEN 40

#define KEYTYPE_KX 0x9A
#define KEYTYPE_SIG 0x9C

/* Algorithm ids (§2.4, §9). */
static uint8_t
alg_for_rsa_bits(unsigned bits)
{
	switch (bits) {
	case 1024:
		return 0x06;
	case 2048:
		return 0x07;
	case 3072:
		return 0x08;
	case 4096:
		return 0x09;
	default:
		return 0;
	}
}

static unsigned
bits_for_alg(uint8_t alg)
{
	static const unsigned t[] = {[0x06] = 1024, [0x07] = 2048, [0x08] = 3072, [0x09] = 4096,
				     [0x0C] = 256,  [0x0D] = 384,  [0x0E] = 521};

	return alg < sizeof(t) / sizeof(t[0]) ? t[alg] : 0;
}

static uint8_t
alg_for_ec_spec(uint32_t spec)
{
	switch (spec) {
	case MDP_AT_ECDSA_P256:
	case MDP_AT_ECDHE_P256:
		return 0x0C;
	case MDP_AT_ECDSA_P384:
	case MDP_AT_ECDHE_P384:
		return 0x0D;
	default:
		return 0x0E;
	}
}

static size_t
ec_field_len(unsigned bits)
{
	return (bits + 7) / 8;
}

/* ---- module state ---- */

struct agreement {
	bool used;
	uint8_t *secret; /* x coordinate, big-endian */
	size_t len;
};

/* What one container holds (from the keymap, or the cmapfile as a fallback). */
struct key_desc {
	bool present;
	uint32_t spec; /* MDP_AT_* of the key */
	unsigned bits;
	uint8_t alg; /* GIDS algorithm id */
};

struct gids {
	uint32_t resets_seen;
	bool selected;
	uint32_t authenticated; /* PIN_SET */
	/* caches, dropped when cardcf says so */
	uint8_t *mf;
	size_t mf_len;
	bool mf_valid;
	uint8_t *cmap;
	size_t cmap_len;
	bool cmap_valid;
	uint8_t *keymap;
	size_t keymap_len;
	bool keymap_valid; /* false also when the card has none */
	bool keymap_absent;
	uint8_t cardcf[6];
	bool cardcf_valid;
	uint8_t cardid[32];
	size_t cardid_len;
	uint8_t *pub[MAX_CONTAINERS]; /* public key blobs */
	size_t pub_len[MAX_CONTAINERS];
	/* the security environment last set in this card session */
	bool mse_valid;
	uint8_t mse_crt, mse_alg, mse_kid;
	/* admin challenge in progress */
	uint8_t challenge[CHALLENGE_LEN];
	bool challenge_valid;
	struct agreement agreements[MAX_AGREEMENTS];
};

static struct gids *
G(struct md_card *card)
{
	return card->module;
}

static void
drop_pubkeys(struct gids *g)
{
	size_t i;

	for (i = 0; i < MAX_CONTAINERS; i++) {
		free(g->pub[i]);
		g->pub[i] = NULL;
		g->pub_len[i] = 0;
	}
}

static void
drop_file_caches(struct gids *g)
{
	free(g->mf);
	g->mf = NULL;
	g->mf_len = 0;
	g->mf_valid = false;
	free(g->cmap);
	g->cmap = NULL;
	g->cmap_len = 0;
	g->cmap_valid = false;
}

static void
drop_container_caches(struct gids *g)
{
	free(g->keymap);
	g->keymap = NULL;
	g->keymap_len = 0;
	g->keymap_valid = false;
	g->keymap_absent = false;
	drop_pubkeys(g);
	free(g->cmap);
	g->cmap = NULL;
	g->cmap_len = 0;
	g->cmap_valid = false;
}

static void
wipe_challenge(struct gids *g)
{
	mdp_wipe(g->challenge, sizeof(g->challenge));
	g->challenge_valid = false;
}

/* ---- APDU helpers ---- */

/* Map a status word to a result (operations refine where the spec asks). */
static enum md_rv
sw_rv(uint16_t sw)
{
	if (MDP_SW_IS_OK(sw))
		return MD_OK;
	if ((sw & 0xFFF0) == 0x63C0)
		return MD_W_WRONG_CHV;
	switch (sw) {
	case 0x6982:
		return MD_W_SECURITY_VIOLATION;
	case 0x6983:
		return MD_W_CHV_BLOCKED;
	case 0x6A82:
		return MD_E_FILE_NOT_FOUND;
	case 0x6A88:
	case 0x6984:
		return MD_E_NO_KEY_CONTAINER;
	case 0x6A84:
	case 0x6581:
		return MD_E_WRITE_TOO_MANY;
	case 0x6A81:
	case 0x6D00:
	case 0x6884:
		return MD_E_UNSUPPORTED_FEATURE;
	case 0x6A80:
	case 0x6700:
	case 0x6A86:
		return MD_E_INVALID_PARAMETER;
	default:
		return MD_E_UNEXPECTED;
	}
}

/*
 * One command: resp (may be NULL) receives the data. Transport events end
 * the operation; a reset also forgets the card session.
 */
static enum md_rv
xfer(struct md_card *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
     size_t lc, int le, struct mdp_buf *resp, uint16_t *sw)
{
	struct mdp_apdu a = {.cla = cla,
			     .ins = ins,
			     .p1 = p1,
			     .p2 = p2,
			     .data = data,
			     .lc = lc,
			     .le = le,
			     .chain = lc > 255};
	enum mdp_err e;

	e = md_card_exchange(card, &a, resp, sw);
	if (e != MDP_OK) {
		if (e == MDP_ERR_CARD_RESET) {
			G(card)->selected = false;
			G(card)->authenticated = 0;
			G(card)->mse_valid = false;
			wipe_challenge(G(card));
		}
		log_debug("exchange: %s", mdp_err_last());
		return md_rv_from_err(e);
	}
	return MD_OK;
}

static enum md_rv
select_app(struct md_card *card, bool fci, struct mdp_buf *out)
{
	uint16_t sw = 0;
	enum md_rv rv;

	rv = xfer(card, 0x00, 0xA4, 0x04, fci ? 0x00 : 0x0C, gids_aid, sizeof(gids_aid),
		  fci ? 256 : MDP_APDU_NO_LE, out, &sw);
	if (rv != MD_OK)
		return rv;
	if (!MDP_SW_IS_OK(sw))
		return MD_E_UNKNOWN_CARD;
	G(card)->selected = true;
	return MD_OK;
}

/*
 * Called first by every operation: catch up with resets the host saw
 * (security state and selection are gone) and select the application.
 */
static enum md_rv
sync_card(struct md_card *card)
{
	struct gids *g = G(card);

	if (card->resets != g->resets_seen) {
		g->resets_seen = card->resets;
		g->selected = false;
		g->authenticated = 0;
		g->mse_valid = false;
		wipe_challenge(g);
	}
	if (g->selected)
		return MD_OK;
	return select_app(card, false, NULL);
}

/* GET DATA of a DO in an EF; *present false when the DO does not exist (6A88). */
static enum md_rv
get_do(struct md_card *card, uint16_t fid, uint16_t tag, struct mdp_buf *value, bool *present)
{
	uint8_t req[4] = {0x5C, 0x02, (uint8_t)(tag >> 8), (uint8_t)tag};
	struct mdp_buf b;
	struct mdp_cursor v;
	uint16_t sw = 0;
	enum md_rv rv;
	enum mdp_err e;

	buf_init(&b);
	*present = false;
	rv = xfer(card, 0x00, 0xCB, (uint8_t)(fid >> 8), (uint8_t)fid, req, sizeof(req), 256, &b,
		  &sw);
	if (rv != MD_OK)
		goto out;
	if (sw == 0x6A88) {
		rv = MD_OK;
		goto out;
	}
	if (sw == 0x6A82) {
		rv = MD_E_FILE_NOT_FOUND;
		goto out;
	}
	if (!MDP_SW_IS_OK(sw)) {
		rv = sw_rv(sw);
		goto out;
	}
	/* the answer is the TLV of the requested DO */
	e = tlv_find(b.data, b.len, tag, &v);
	if (e != MDP_OK) {
		log_debug("GET DATA %04X/%04X: malformed answer", fid, tag);
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	buf_put_bytes(value, v.p + v.pos, cur_left(&v));
	if (value->bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	*present = true;
out:
	buf_free(&b);
	return rv;
}

static enum md_rv
put_do(struct md_card *card, uint16_t fid, uint16_t tag, const uint8_t *data, size_t len)
{
	struct mdp_buf b;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init(&b);
	buf_put_tlv(&b, tag, data, len);
	if (b.bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = xfer(card, 0x00, 0xDB, (uint8_t)(fid >> 8), (uint8_t)fid, b.data, b.len,
		  MDP_APDU_NO_LE, NULL, &sw);
	if (rv == MD_OK && !MDP_SW_IS_OK(sw))
		rv = sw == 0x6A82 ? MD_E_FILE_NOT_FOUND : sw_rv(sw);
out:
	buf_free(&b);
	return rv;
}

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
	if (!cur_skip(&c, 1 + i * MF_RECORD))
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
	return g->mf_len >= 1 ? (g->mf_len - 1) / MF_RECORD : 0;
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
	rv = get_do(card, EF_UCDD, DO_MASTERFILE, &b, &present);
	if (rv != MD_OK)
		goto out;
	if (!present || b.len < 1 || b.data[0] != 0x01 || (b.len - 1) % MF_RECORD) {
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

	rv = put_do(card, EF_UCDD, DO_MASTERFILE, mf, len);
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
			*fid = EF_ERAW;
			*tag = 0xDF20;
			return true;
		}
		if (strcasecmp(file, "cardapps") == 0) {
			*fid = EF_ERUW;
			*tag = 0xDF21;
			return true;
		}
		if (strcasecmp(file, "cardcf") == 0) {
			*fid = EF_ERUW;
			*tag = 0xDF22;
			return true;
		}
		return false;
	}
	if (strcasecmp(dir, "mscp") == 0 && strcasecmp(file, "cmapfile") == 0) {
		*fid = EF_ERUW;
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
	case EF_ERUW:
		return MD_AC_EVERYONE_READ_USER_WRITE;
	case EF_UWE:
		return MD_AC_USER_WRITE_EXECUTE;
	case EF_ERAW:
		return MD_AC_EVERYONE_READ_ADMIN_WRITE;
	case EF_URW:
		return MD_AC_USER_READ_WRITE;
	case EF_ARW:
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
		return EF_ERUW;
	case MD_AC_USER_WRITE_EXECUTE:
		return EF_UWE;
	case MD_AC_EVERYONE_READ_ADMIN_WRITE:
		return EF_ERAW;
	case MD_AC_USER_READ_WRITE:
		return EF_URW;
	case MD_AC_ADMIN_READ_WRITE:
		return EF_ARW;
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
			drop_file_caches(g);
		if (memcmp(v + 2, g->cardcf + 2, 2) != 0)
			drop_container_caches(g);
	}
	memcpy(g->cardcf, v, 6);
	g->cardcf_valid = true;
}

static enum md_rv
load_cmap(struct md_card *card)
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
	rv = get_do(card, fid, tag, &b, &present);
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
	rv = get_do(card, EF_UCDD, DO_KEYMAP, &b, &present);
	if (rv != MD_OK)
		goto out;
	if (!present) {
		/* no keymap yet (a fresh card): the first key creates it */
		g->keymap_absent = true;
		goto out;
	}
	if (b.len < 1 || b.data[0] != 0x01 || (b.len - 1) % KEYMAP_RECORD) {
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

static size_t
keymap_count(const struct gids *g)
{
	return g->keymap_valid ? (g->keymap_len - 1) / KEYMAP_RECORD : 0;
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
static enum md_rv
describe(struct md_card *card, uint8_t index, struct key_desc *kd)
{
	struct gids *g = G(card);
	struct mdp_cursor c;
	enum md_rv rv;

	memset(kd, 0, sizeof(*kd));
	if (index >= MAX_CONTAINERS)
		return MD_OK;
	rv = load_keymap(card);
	if (rv != MD_OK)
		return rv;
	if (g->keymap_valid && index < keymap_count(g)) {
		uint32_t state;
		uint8_t alg, type;

		cur_init(&c, g->keymap + 1 + (size_t)index * KEYMAP_RECORD, KEYMAP_RECORD);
		state = cur_get_le32(&c);
		alg = cur_get_u8(&c);
		type = cur_get_u8(&c);
		if (state == 1 && bits_for_alg(alg) &&
		    (type == KEYTYPE_KX || type == KEYTYPE_SIG)) {
			kd->present = true;
			kd->alg = alg;
			kd->bits = bits_for_alg(alg);
			kd->spec = spec_from(type == KEYTYPE_KX, alg);
			return MD_OK;
		}
	}
	rv = load_cmap(card);
	if (rv != MD_OK)
		return rv;
	if ((size_t)(index + 1) * CMAP_RECORD <= g->cmap_len) {
		const uint8_t *r = g->cmap + (size_t)index * CMAP_RECORD;
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
static enum md_rv
keymap_update(struct md_card *card, uint8_t index, const struct key_desc *kd, size_t min_count)
{
	struct gids *g = G(card);
	struct mdp_buf b;
	size_t n, i, have;
	enum md_rv rv;

	rv = load_keymap(card);
	if (rv != MD_OK)
		return rv;
	have = keymap_count(g);
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
			buf_put_u8(&b, kd->present
					       ? (MDP_KEY_SPEC_IS_SIG_SLOT(kd->spec) ? KEYTYPE_SIG
										     : KEYTYPE_KX)
					       : 0);
			buf_put_le16(&b, kd->present ? (uint16_t)(0xB000 | (0x81 + i)) : 0xFFFF);
			buf_put_le16(&b, 0xFFFF);
			buf_put_le16(&b, 0);
		} else if (i < have) {
			buf_put_bytes(&b, g->keymap + 1 + i * KEYMAP_RECORD, KEYMAP_RECORD);
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
	rv = put_do(card, EF_UCDD, DO_KEYMAP, b.data, b.len);
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

/* ---- operations: context ---- */

static enum md_rv
gids_delete_context(struct md_card *card)
{
	struct gids *g = G(card);
	size_t i;

	if (!g)
		return MD_OK;
	drop_file_caches(g);
	drop_container_caches(g);
	for (i = 0; i < MAX_AGREEMENTS; i++)
		mdp_secure_free(g->agreements[i].secret, g->agreements[i].len);
	mdp_secure_free(g, sizeof(*g));
	card->module = NULL;
	return MD_OK;
}

static enum md_rv
gids_query_capabilities(struct md_card *card, struct md_capabilities *caps)
{
	caps->certificate_compression = 1;
	caps->key_gen = 1;
	return MD_OK;
}

static enum md_rv
gids_query_key_sizes(struct md_card *card, uint32_t key_spec, uint32_t flags,
		     struct md_key_sizes *ks)
{
	if (MDP_KEY_SPEC_IS_RSA(key_spec)) {
		ks->minimum = 1024;
		ks->default_bits = 2048;
		ks->maximum = 4096;
		ks->increment = 1024;
	} else {
		unsigned bits = bits_for_alg(alg_for_ec_spec(key_spec));

		ks->minimum = ks->default_bits = ks->maximum = bits;
		ks->increment = 1;
	}
	return MD_OK;
}

static enum md_rv
gids_query_free_space(struct md_card *card, uint32_t flags, struct md_free_space *fs)
{
	struct gids *g = G(card);
	size_t used = 0, i;
	enum md_rv rv;

	rv = sync_card(card);
	if (rv == MD_OK)
		rv = load_cmap(card);
	if (rv != MD_OK)
		return rv;
	for (i = 0; (i + 1) * CMAP_RECORD <= g->cmap_len; i++)
		if (g->cmap[i * CMAP_RECORD + 80] & 0x01)
			used++;
	fs->bytes_available = MD_VALUE_UNKNOWN; /* GIDS cannot tell */
	fs->max_containers = MAX_CONTAINERS;
	fs->containers_available =
		(uint32_t)(MAX_CONTAINERS - (used < MAX_CONTAINERS ? used : MAX_CONTAINERS));
	return MD_OK;
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
	rv = get_do(card, fid, tag, out, &present);
	/* a listed file whose DO is absent is empty (GIDS deletes DOs written empty twice) */
	if (rv == MD_E_FILE_NOT_FOUND)
		rv = MD_E_COMM_DATA_LOST;
	return rv;
}

static enum md_rv
gids_read_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
	       uint8_t **data, size_t *len)
{
	struct gids *g = G(card);
	struct mdp_buf b;
	enum md_rv rv;
	bool is_cmap = dir && strcasecmp(dir, "mscp") == 0 && strcasecmp(file, "cmapfile") == 0;
	bool is_cf = !dir && strcasecmp(file, "cardcf") == 0;

	rv = sync_card(card);
	if (rv != MD_OK)
		return rv;
	if (is_cmap) {
		rv = load_cmap(card);
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
	if (keymap_count(g) >= cmap_records || cmap_records == 0)
		return MD_OK;
	return keymap_update(card, (uint8_t)(cmap_records - 1), &none, cmap_records);
}

static enum md_rv
gids_write_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
		const uint8_t *data, size_t len)
{
	struct gids *g = G(card);
	struct mdp_buf z;
	uint16_t fid = 0, tag = 0;
	bool is_cmap = dir && strcasecmp(dir, "mscp") == 0 && strcasecmp(file, "cmapfile") == 0;
	enum md_rv rv;

	buf_init(&z);
	rv = sync_card(card);
	if (rv == MD_OK)
		rv = locate(card, dir, file, &fid, &tag);
	if (rv != MD_OK)
		goto out;
	if (is_cmap && len % CMAP_RECORD) {
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
	rv = put_do(card, fid, tag, data, len);
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
		if (g->cmap_valid && len / CMAP_RECORD <= MAX_CONTAINERS)
			rv = align_keymap(card, len / CMAP_RECORD);
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

	for (tag = DO_FIRST_FREE; tag <= DO_LAST; tag++) {
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
	size_t off = 1 + index * MF_RECORD;

	p = malloc(g->mf_len - MF_RECORD);
	if (!p)
		return MD_E_NO_MEMORY;
	memcpy(p, g->mf, off);
	memcpy(p + off, g->mf + off + MF_RECORD, g->mf_len - off - MF_RECORD);
	return store_mf(card, p, g->mf_len - MF_RECORD);
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

static enum md_rv
gids_create_file(struct md_card *card, const char *dir, const char *file, uint32_t size,
		 enum md_file_access ac)
{
	struct gids *g = G(card);
	char d[MD_MAX_NAME + 1], f[MD_MAX_NAME + 1];
	uint16_t fid = fid_of_access(ac), tag;
	enum md_rv rv;

	rv = sync_card(card);
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

static enum md_rv
gids_delete_file(struct md_card *card, const char *dir, const char *file, uint32_t flags)
{
	struct gids *g = G(card);
	struct mf_entry e;
	long i;
	enum md_rv rv;

	rv = sync_card(card);
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
	return put_do(card, e.fid, e.tag, NULL, 0);
}

static enum md_rv
gids_create_directory(struct md_card *card, const char *dir, enum md_dir_access ac)
{
	struct gids *g = G(card);
	char d[MD_MAX_NAME + 1];
	enum md_rv rv;

	rv = sync_card(card);
	if (rv == MD_OK)
		rv = load_mf(card);
	if (rv != MD_OK)
		return rv;
	if (mf_find(g, dir, "") >= 0)
		return MD_ERROR_FILE_EXISTS;
	lower(d, dir);
	return mf_append(card, d, "", 0, EF_UCDD);
}

static enum md_rv
gids_delete_directory(struct md_card *card, const char *dir)
{
	struct gids *g = G(card);
	struct mf_entry e;
	long idx;
	size_t i;
	enum md_rv rv;

	rv = sync_card(card);
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

static enum md_rv
gids_enum_files(struct md_card *card, const char *dir, char **names, size_t *len, uint32_t flags)
{
	struct gids *g = G(card);
	struct mdp_buf b;
	struct mf_entry e;
	size_t i;
	enum md_rv rv;

	rv = sync_card(card);
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

static enum md_rv
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

/* ---- keys ---- */

/* Parse a 7F49 public key template into the blob CONTAINER_INFO carries. */
static enum md_rv
pubkey_blob(const uint8_t *p, size_t len, const struct key_desc *kd, uint8_t **blob,
	    size_t *blob_len)
{
	struct mdp_cursor t, n, e, pt;
	struct mdp_key *k = NULL;
	enum mdp_err err;
	enum md_rv rv = MD_E_COMM_DATA_LOST;

	if (tlv_find(p, len, 0x7F49, &t) != MDP_OK)
		return MD_E_COMM_DATA_LOST;
	if (MDP_KEY_SPEC_IS_RSA(kd->spec)) {
		if (tlv_find(t.p + t.pos, cur_left(&t), 0x81, &n) != MDP_OK ||
		    tlv_find(t.p + t.pos, cur_left(&t), 0x82, &e) != MDP_OK)
			goto out;
		err = blob_rsa_public_from_components(n.p + n.pos, cur_left(&n), e.p + e.pos,
						      cur_left(&e), &k);
		if (err != MDP_OK || mdp_key_bits(k) != kd->bits)
			goto out;
		err = blob_write(k, BLOB_FMT_CAPI_PUBLIC, (enum mdp_key_spec)kd->spec, blob,
				 blob_len);
	} else {
		if (tlv_find(t.p + t.pos, cur_left(&t), 0x86, &pt) != MDP_OK)
			goto out;
		err = blob_ec_public_from_point((enum mdp_key_spec)kd->spec, pt.p + pt.pos,
						cur_left(&pt), &k);
		if (err != MDP_OK)
			goto out;
		err = blob_write(k, BLOB_FMT_CNG_ECC_PUBLIC, (enum mdp_key_spec)kd->spec, blob,
				 blob_len);
	}
	rv = err == MDP_OK ? MD_OK : MD_E_COMM_DATA_LOST;
out:
	if (rv != MD_OK)
		log_warn("public key from the card does not parse: %s", mdp_err_last());
	mdp_key_free(k);
	return rv;
}

static enum md_rv
read_pubkey(struct md_card *card, uint8_t index, const struct key_desc *kd)
{
	struct gids *g = G(card);
	uint8_t req[10] = {0x70, 0x08, 0x84, 0x01, (uint8_t)(0x81 + index),
			   0xA5, 0x03, 0x7F, 0x49, 0x80};
	struct mdp_buf b;
	uint16_t sw = 0;
	enum md_rv rv;

	if (g->pub[index])
		return MD_OK;
	buf_init(&b);
	rv = xfer(card, 0x00, 0xCB, 0x3F, 0xFF, req, sizeof(req), 256, &b, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		rv = (sw == 0x6A88 || sw == 0x6984 || sw == 0x6A82) ? MD_E_NO_KEY_CONTAINER
								    : sw_rv(sw);
		goto out;
	}
	rv = pubkey_blob(b.data, b.len, kd, &g->pub[index], &g->pub_len[index]);
out:
	buf_free(&b);
	return rv;
}

static enum md_rv
gids_get_container_info(struct md_card *card, uint8_t index, uint32_t flags,
			struct md_container_info *ci)
{
	struct gids *g = G(card);
	struct key_desc kd;
	uint8_t *copy;
	enum md_rv rv;

	rv = sync_card(card);
	if (rv == MD_OK)
		rv = describe(card, index, &kd);
	if (rv != MD_OK)
		return rv;
	if (!kd.present)
		return MD_E_NO_KEY_CONTAINER;
	rv = read_pubkey(card, index, &kd);
	if (rv != MD_OK)
		return rv;
	copy = mdp_memdup(g->pub[index], g->pub_len[index]);
	if (!copy)
		return MD_E_NO_MEMORY;
	if (MDP_KEY_SPEC_IS_SIG_SLOT(kd.spec)) {
		ci->sig_public_key = copy;
		ci->sig_public_key_len = g->pub_len[index];
	} else {
		ci->kx_public_key = copy;
		ci->kx_public_key_len = g->pub_len[index];
	}
	return MD_OK;
}

static enum md_rv
delete_key_file(struct md_card *card, uint8_t index)
{
	uint8_t fid[2] = {0xB0, (uint8_t)(0x81 + index)};
	uint16_t sw = 0;
	enum md_rv rv;

	rv = xfer(card, 0x00, 0xA4, 0x00, 0x0C, fid, 2, MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		return rv;
	/* the application stays selected in GIDS' flat model, but the key is gone either way */
	if (sw == 0x6A82)
		return MD_OK;
	if (!MDP_SW_IS_OK(sw))
		return sw_rv(sw);
	rv = xfer(card, 0x00, 0xE4, 0x00, 0x00, NULL, 0, MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		return rv;
	return MDP_SW_IS_OK(sw) ? MD_OK : sw_rv(sw);
}

static enum md_rv
gids_delete_container(struct md_card *card, uint8_t index, uint32_t reserved)
{
	struct gids *g = G(card);
	struct key_desc kd, none = {0};
	enum md_rv rv;

	/* v7: an empty or invalid index is not an error (§4.3) */
	if (index >= MAX_CONTAINERS)
		return MD_OK;
	rv = sync_card(card);
	if (rv == MD_OK)
		rv = describe(card, index, &kd);
	if (rv != MD_OK)
		return rv;
	rv = delete_key_file(card, index);
	if (rv != MD_OK)
		return rv;
	g->mse_valid = false;
	free(g->pub[index]);
	g->pub[index] = NULL;
	g->pub_len[index] = 0;
	if (g->keymap_valid && index < keymap_count(g))
		rv = keymap_update(card, index, &none, 0);
	return rv;
}

/* CREATE FILE of key file B0(81+i) with the §8.1 / §9 usage templates, then ACTIVATE. */
static enum md_rv
create_key_file(struct md_card *card, uint8_t index, const struct key_desc *kd, bool *existed)
{
	uint8_t kid = (uint8_t)(0x81 + index);
	struct mdp_buf b;
	size_t fcp, a5;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init(&b);
	fcp = buf_tlv_open(&b, 0x62);
	buf_put_tlv(&b, 0x82, "\x18", 1);
	buf_put_tlv(&b, 0x83, (uint8_t[]){0xB0, kid}, 2);
	/* generate = PIN, MSE = PIN, put key = PIN, read public = always */
	buf_put_tlv(&b, 0x8C, "\x8F\x10\x10\x10\x00", 5);
	a5 = buf_tlv_open(&b, 0xA5);
	if (kd->spec == MDP_AT_KEYEXCHANGE) {
		static const uint8_t modes[] = {0x00, 0x80, 0x40};
		size_t i;

		for (i = 0; i < 3; i++)
			buf_put_tlv(&b, 0xB8,
				    (uint8_t[]){0x80, 0x01, (uint8_t)(modes[i] | kd->alg), 0x83,
						0x01, kid, 0x95, 0x01, 0x40},
				    9);
	}
	if (MDP_KEY_SPEC_IS_RSA(kd->spec)) {
		buf_put_tlv(&b, 0xB6,
			    (uint8_t[]){0x80, 0x01, (uint8_t)(0x10 | kd->alg), 0x83, 0x01, kid,
					0x95, 0x01, 0x40},
			    9);
		buf_put_tlv(&b, 0xB6,
			    (uint8_t[]){0x80, 0x01, (uint8_t)(0x50 | kd->alg), 0x83, 0x01, kid,
					0x95, 0x01, 0x40},
			    9);
	} else if (MDP_KEY_SPEC_IS_ECDSA(kd->spec)) {
		buf_put_tlv(&b, 0xB6,
			    (uint8_t[]){0x80, 0x01, (uint8_t)(0x10 | kd->alg), 0x83, 0x01, kid,
					0x95, 0x01, 0x40},
			    9);
	} else {
		buf_put_tlv(&b, 0xA6,
			    (uint8_t[]){0x80, 0x01, kd->alg, 0x83, 0x01, kid, 0x95, 0x01, 0x40}, 9);
	}
	buf_tlv_close(&b, a5);
	buf_tlv_close(&b, fcp);
	if (b.bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	*existed = false;
	rv = xfer(card, 0x00, 0xE0, 0x00, 0x00, b.data, b.len, MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		goto out;
	if (sw == 0x6A89 || sw == 0x6A80 || sw == 0x6985) {
		/* a key file is there already: CardCreateContainer overwrites (§4.2) */
		*existed = true;
		rv = delete_key_file(card, index);
		if (rv != MD_OK)
			goto out;
		rv = xfer(card, 0x00, 0xE0, 0x00, 0x00, b.data, b.len, MDP_APDU_NO_LE, NULL, &sw);
		if (rv != MD_OK)
			goto out;
	}
	if (!MDP_SW_IS_OK(sw)) {
		rv = sw_rv(sw);
		goto out;
	}
	rv = xfer(card, 0x00, 0x44, 0x00, 0x00, NULL, 0, MDP_APDU_NO_LE, NULL, &sw);
	if (rv == MD_OK && !MDP_SW_IS_OK(sw))
		rv = sw_rv(sw);
out:
	buf_free(&b);
	return rv;
}

static void
put_der_int(struct mdp_buf *b, const uint8_t *p, size_t n)
{
	while (n > 1 && p[0] == 0) {
		p++;
		n--;
	}
	buf_put_tag(b, 0x02);
	if (p[0] & 0x80) {
		buf_put_len(b, n + 1);
		buf_put_u8(b, 0);
	} else {
		buf_put_len(b, n);
	}
	buf_put_bytes(b, p, n);
}

/* The key import template of §8.5 (RSA) / §9 (EC) for PUT DATA 3FFF. */
static enum md_rv
import_template(const struct mdp_key *k, uint8_t kid, struct mdp_buf *b)
{
	static const enum blob_rsa_part parts[] = {BLOB_RSA_N,	BLOB_RSA_E,   BLOB_RSA_D,
						   BLOB_RSA_P,	BLOB_RSA_Q,   BLOB_RSA_DP,
						   BLOB_RSA_DQ, BLOB_RSA_QINV};
	struct mdp_buf v;
	uint8_t *part = NULL, *der = NULL;
	size_t plen = 0, i, t70, ta5;
	int dlen = 0;
	enum md_rv rv = MD_OK;

	buf_init_secret(&v);
	if (mdp_key_type(k) == EVP_PKEY_RSA) {
		size_t seq = buf_tlv_open(&v, 0x30);

		buf_put_tlv(&v, 0x02, "\x00", 1);
		for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			if (mdp_key_rsa_component(k, parts[i], 0, &part, &plen) != MDP_OK) {
				rv = MD_E_INVALID_PARAMETER;
				goto out;
			}
			put_der_int(&v, part, plen);
			mdp_secure_free(part, plen);
			part = NULL;
		}
		buf_tlv_close(&v, seq);
	} else {
		/* RFC 5915 ECPrivateKey */
		dlen = i2d_PrivateKey(mdp_key_pkey(k), &der);
		if (dlen <= 0) {
			rv = MD_E_INVALID_PARAMETER;
			goto out;
		}
		buf_put_bytes(&v, der, (size_t)dlen);
	}
	t70 = buf_tlv_open(b, 0x70);
	buf_put_tlv(b, 0x84, &kid, 1);
	ta5 = buf_tlv_open(b, 0xA5);
	buf_put_tlv(b, 0x83, mdp_key_type(k) == EVP_PKEY_RSA ? "\x02" : "\x03", 1);
	buf_put_tlv(b, 0x84, "\x00", 1);
	buf_put_tlv(b, 0x87, v.data, v.len);
	buf_tlv_close(b, ta5);
	buf_tlv_close(b, t70);
	if (b->bad || v.bad)
		rv = MD_E_NO_MEMORY;
out:
	if (der) {
		mdp_wipe(der, (size_t)dlen);
		OPENSSL_free(der);
	}
	buf_free(&v);
	return rv;
}

/* Check an import blob against the key spec; the key it holds. */
static enum md_rv
parse_import(uint32_t spec, const uint8_t *data, size_t len, struct mdp_key **out,
	     struct key_desc *kd)
{
	struct mdp_key *k = NULL;
	enum blob_format want =
		MDP_KEY_SPEC_IS_RSA(spec) ? BLOB_FMT_CAPI_PRIVATE : BLOB_FMT_CNG_ECC_PRIVATE;

	if (blob_detect(data, len) != want || blob_parse(data, len, want, 0, &k) != MDP_OK) {
		log_info("import: not a valid %s for key spec %u: %s", blob_format_name(want),
			 (unsigned)spec, mdp_err_last());
		return MD_E_INVALID_PARAMETER;
	}
	/* CALG_RSA_KEYX for AT_KEYEXCHANGE, CALG_RSA_SIGN for AT_SIGNATURE; ECK / ECS magic and
	 * curve */
	if (mdp_key_spec(k) != (enum mdp_key_spec)spec) {
		mdp_key_free(k);
		return MD_E_INVALID_PARAMETER;
	}
	kd->present = true;
	kd->spec = spec;
	kd->bits = mdp_key_bits(k);
	kd->alg = MDP_KEY_SPEC_IS_RSA(spec) ? alg_for_rsa_bits(kd->bits) : alg_for_ec_spec(spec);
	if (!kd->alg) {
		mdp_key_free(k);
		return MD_E_INVALID_PARAMETER;
	}
	*out = k;
	return MD_OK;
}

static enum md_rv
gids_create_container(struct md_card *card, uint8_t index, uint32_t flags, uint32_t spec,
		      uint32_t size, const uint8_t *data, size_t len, uint32_t pin_id)
{
	struct gids *g = G(card);
	struct key_desc kd = {0};
	struct mdp_key *k = NULL;
	struct mdp_buf b, tmpl;
	uint16_t sw = 0;
	bool existed = false;
	enum md_rv rv;

	buf_init(&b);
	buf_init_secret(&tmpl);
	/* one PIN on GIDS: keys are bound to the user PIN */
	if (pin_id != MD_ROLE_USER) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	if (index >= MAX_CONTAINERS) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	if (flags == MD_CREATE_KEY_IMPORT) {
		rv = parse_import(spec, data, len, &k, &kd);
		if (rv != MD_OK)
			goto out;
	} else {
		kd.present = true;
		kd.spec = spec;
		if (MDP_KEY_SPEC_IS_RSA(spec)) {
			kd.alg = alg_for_rsa_bits(size);
			if (!kd.alg) {
				rv = MD_E_INVALID_PARAMETER;
				goto out;
			}
		} else {
			kd.alg = alg_for_ec_spec(spec);
		}
		kd.bits = bits_for_alg(kd.alg);
	}
	rv = sync_card(card);
	if (rv != MD_OK)
		goto out;
	rv = create_key_file(card, index, &kd, &existed);
	if (rv != MD_OK)
		goto out;
	g->mse_valid = false;
	free(g->pub[index]);
	g->pub[index] = NULL;
	g->pub_len[index] = 0;
	if (flags == MD_CREATE_KEY_GEN) {
		uint8_t gen[8] = {0xAC,	  0x06, 0x80, 0x01,
				  kd.alg, 0x83, 0x01, (uint8_t)(0x81 + index)};

		/* with Le the card answers the public key at once (§8.3) */
		rv = xfer(card, 0x00, 0x47, 0x00, 0x00, gen, sizeof(gen), 256, &b, &sw);
		if (rv != MD_OK)
			goto out;
		if (!MDP_SW_IS_OK(sw)) {
			rv = sw_rv(sw);
			goto out;
		}
		if (b.len) {
			rv = pubkey_blob(b.data, b.len, &kd, &g->pub[index], &g->pub_len[index]);
			if (rv != MD_OK)
				goto out;
		}
	} else {
		rv = import_template(k, (uint8_t)(0x81 + index), &tmpl);
		if (rv != MD_OK)
			goto out;
		rv = xfer(card, 0x00, 0xDB, 0x3F, 0xFF, tmpl.data, tmpl.len, MDP_APDU_NO_LE, NULL,
			  &sw);
		if (rv != MD_OK)
			goto out;
		if (!MDP_SW_IS_OK(sw)) {
			rv = sw == 0x6A80 ? MD_E_INVALID_PARAMETER : sw_rv(sw);
			goto out;
		}
		if (blob_write(k,
			       MDP_KEY_SPEC_IS_RSA(spec) ? BLOB_FMT_CAPI_PUBLIC
							 : BLOB_FMT_CNG_ECC_PUBLIC,
			       (enum mdp_key_spec)spec, &g->pub[index],
			       &g->pub_len[index]) != MDP_OK) {
			rv = MD_E_UNEXPECTED;
			goto out;
		}
	}
	rv = keymap_update(card, index, &kd, 0);
out:
	if (rv != MD_OK && kd.present && index < MAX_CONTAINERS) {
		free(g->pub[index]);
		g->pub[index] = NULL;
		g->pub_len[index] = 0;
	}
	mdp_key_free(k);
	buf_free(&b);
	buf_free(&tmpl);
	return rv;
}

/* ---- PINs ---- */

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
	return sw_rv(sw);
}

/* Finish the §7.3 mutual authentication with the host's response to our challenge. */
static enum md_rv
admin_respond(struct md_card *card, const uint8_t *resp, size_t len)
{
	struct gids *g = G(card);
	uint8_t cmd[4 + CHALLENGE_LEN];
	struct mdp_buf b;
	uint16_t sw = 0;
	enum md_rv rv;

	if (!g->challenge_valid)
		return MD_E_INVALID_PARAMETER;
	if (len != CHALLENGE_LEN) {
		wipe_challenge(g);
		return MD_W_WRONG_CHV;
	}
	cmd[0] = 0x7C;
	cmd[1] = 0x2A;
	cmd[2] = 0x82;
	cmd[3] = 0x28;
	memcpy(cmd + 4, resp, CHALLENGE_LEN);
	buf_init_secret(&b);
	rv = xfer(card, 0x00, 0x87, 0x00, 0x00, cmd, sizeof(cmd), 256, &b, &sw);
	wipe_challenge(g);
	mdp_wipe(cmd, sizeof(cmd));
	if (rv != MD_OK)
		goto out;
	if (sw == 0x6982 || sw == 0x6A80 || sw == 0x6300) {
		rv = MD_W_WRONG_CHV;
		goto out;
	}
	if (!MDP_SW_IS_OK(sw)) {
		rv = sw_rv(sw);
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

static enum md_rv
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
	rv = sync_card(card);
	if (rv != MD_OK)
		return rv;
	if (pin_id == MD_ROLE_ADMIN)
		return admin_respond(card, pin, pin_len);
	rv = xfer(card, 0x00, 0x20, 0x00, 0x80, pin, pin_len, MDP_APDU_NO_LE, NULL, &sw);
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
static enum md_rv
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
	wipe_challenge(g);
	buf_init(&b);
	rv = sync_card(card);
	if (rv != MD_OK)
		goto out;
	rv = xfer(card, 0x00, 0x22, 0xC1, 0xA4, (const uint8_t *)"\x83\x01\x80", 3, MDP_APDU_NO_LE,
		  NULL, &sw);
	if (rv != MD_OK)
		goto out;
	g->mse_valid = false;
	if (!MDP_SW_IS_OK(sw)) {
		rv = sw_rv(sw);
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
	rv = xfer(card, 0x00, 0x87, 0x00, 0x00, cmd, sizeof(cmd), 256, &b, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		rv = sw_rv(sw);
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
	*challenge = mdp_memdup(g->challenge, CHALLENGE_LEN);
	if (!*challenge) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	*len = CHALLENGE_LEN;
	g->challenge_valid = true;
out:
	if (rv != MD_OK)
		wipe_challenge(g);
	buf_free(&b);
	return rv;
}

static enum md_rv
gids_deauthenticate_ex(struct md_card *card, uint32_t pin_set, uint32_t flags)
{
	struct gids *g = G(card);
	uint16_t sw = 0;
	enum md_rv rv;

	rv = sync_card(card);
	if (rv != MD_OK)
		return rv;
	/* GIDS logs everyone out at once (VERIFY P2=82, §7.1) */
	rv = xfer(card, 0x00, 0x20, 0x00, 0x82, NULL, 0, MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		return rv;
	g->authenticated = 0;
	g->mse_valid = false;
	return MDP_SW_IS_OK(sw) ? MD_OK : sw_rv(sw);
}

static enum md_rv
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
	rv = sync_card(card);
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
		rv = xfer(card, 0x00, 0x24, 0x00, 0x80, both, auth_len + target_len, MDP_APDU_NO_LE,
			  NULL, &sw);
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
		rv = xfer(card, 0x00, 0xDB, 0x3F, 0xFF, b.data, b.len, MDP_APDU_NO_LE, NULL, &sw);
		if (rv == MD_OK && !MDP_SW_IS_OK(sw))
			rv = sw_rv(sw);
		goto out;
	}
	if (op == MD_PIN_CHANGE_UNBLOCK && auth_id == MD_ROLE_ADMIN && target_id == MD_ROLE_USER) {
		rv = admin_respond(card, auth, auth_len);
		if (rv != MD_OK)
			goto out;
		rv = xfer(card, 0x00, 0x2C, 0x02, 0x80, target, target_len, MDP_APDU_NO_LE, NULL,
			  &sw);
		/* the card ends the admin authentication with the reset */
		g->authenticated &= ~MD_PIN_SET(MD_ROLE_ADMIN);
		if (rv == MD_OK && !MDP_SW_IS_OK(sw))
			rv = sw_rv(sw);
		goto out;
	}
	rv = MD_E_INVALID_PARAMETER;
out:
	if (both)
		mdp_secure_free(both, auth_len + target_len);
	buf_free(&b);
	return rv;
}

/* ---- private key operations ---- */

/* The key of (index, spec) for an operation, or NO_KEY_CONTAINER. */
static enum md_rv
key_for(struct md_card *card, uint8_t index, uint32_t spec, struct key_desc *kd)
{
	enum md_rv rv;

	rv = describe(card, index, kd);
	if (rv != MD_OK)
		return rv;
	if (!kd->present)
		return MD_E_NO_KEY_CONTAINER;
	if (MDP_KEY_SPEC_IS_RSA(spec) && MDP_KEY_SPEC_IS_RSA(kd->spec)) {
		/* an exchange key may sign; a signature key answers only for AT_SIGNATURE */
		if (spec == MDP_AT_SIGNATURE && kd->spec != MDP_AT_SIGNATURE)
			return MD_E_NO_KEY_CONTAINER;
		if (spec == MDP_AT_KEYEXCHANGE && kd->spec != MDP_AT_KEYEXCHANGE)
			return MD_E_NO_KEY_CONTAINER;
		return MD_OK;
	}
	return spec == kd->spec ? MD_OK : MD_E_NO_KEY_CONTAINER;
}

/* MSE SET, skipped when the same key and algorithm are still set in this card session. */
static enum md_rv
mse(struct md_card *card, uint8_t crt, uint8_t alg, uint8_t kid)
{
	struct gids *g = G(card);
	uint8_t d[6] = {0x80, 0x01, alg, 0x84, 0x01, kid};
	uint16_t sw = 0;
	enum md_rv rv;

	if (g->mse_valid && g->mse_crt == crt && g->mse_alg == alg && g->mse_kid == kid)
		return MD_OK;
	g->mse_valid = false;
	rv = xfer(card, 0x00, 0x22, 0x41, crt, d, sizeof(d), MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		return rv;
	if (!MDP_SW_IS_OK(sw))
		return sw_rv(sw);
	g->mse_valid = true;
	g->mse_crt = crt;
	g->mse_alg = alg;
	g->mse_kid = kid;
	return MD_OK;
}

static enum md_rv
gids_sign_data(struct md_card *card, struct md_signing_info *si)
{
	struct key_desc kd;
	struct mdp_buf in, sig;
	const uint8_t *prefix = NULL;
	size_t plen = 0, k, i;
	uint8_t alg, *block = NULL;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init_secret(&in);
	buf_init(&sig);
	rv = sync_card(card);
	if (rv == MD_OK)
		rv = key_for(card, si->container_index, si->key_spec, &kd);
	if (rv != MD_OK)
		goto out;
	k = MDP_KEY_SPEC_IS_RSA(kd.spec) ? kd.bits / 8 : 2 * ec_field_len(kd.bits);
	if (si->flags & MD_BUFFER_SIZE_ONLY) {
		si->signature_len = k;
		goto out;
	}
	if (MDP_KEY_SPEC_IS_EC(kd.spec)) {
		alg = (uint8_t)(0x10 | kd.alg);
		buf_put_bytes(&in, si->data, si->data_len);
	} else {
		uint32_t pad =
			(si->flags & MD_PADDING_INFO_PRESENT) ? si->padding_type : MD_PADDING_PKCS1;

		if (pad == MD_PADDING_PKCS1) {
			/* The card pads (alg 0x50); the host sends DigestInfo || digest (§4.5). */
			enum mdp_hash h = MDP_HASH_NONE;
			const struct mdp_hash_info *hi;

			alg = (uint8_t)(0x50 | kd.alg);
			if (si->flags & MD_PADDING_INFO_PRESENT) {
				const char *name =
					si->padding_info ? si->padding_info->alg_id : NULL;

				if (name && (h = mdp_hash_by_name(name)) == MDP_HASH_NONE) {
					rv = MD_E_UNSUPPORTED_FEATURE;
					goto out;
				}
			} else if (si->hash_alg &&
				   (h = mdp_hash_by_calg(si->hash_alg)) == MDP_HASH_NONE) {
				rv = MD_E_UNSUPPORTED_FEATURE;
				goto out;
			}
			hi = mdp_hash_get(h);
			if (hi) {
				prefix = hi->prefix;
				plen = hi->prefix_len;
				if (si->data_len != hi->len) {
					rv = MD_E_INVALID_PARAMETER;
					goto out;
				}
			}
			if (plen + si->data_len > k - 11) {
				rv = MD_E_INSUFFICIENT_BUFFER;
				goto out;
			}
			buf_put_bytes(&in, prefix, plen);
			buf_put_bytes(&in, si->data, si->data_len);
		} else if (pad == MD_PADDING_PSS) {
			enum mdp_hash h = mdp_hash_by_name(si->padding_info->alg_id);
			enum mdp_err err;

			alg = (uint8_t)(0x10 | kd.alg);
			if (!mdp_hash_md(h)) {
				rv = MD_E_UNSUPPORTED_FEATURE;
				goto out;
			}
			block = malloc(k);
			if (!block) {
				rv = MD_E_NO_MEMORY;
				goto out;
			}
			/* The card signs raw (alg 0x10); EMSA-PSS with MGF1 over the same hash. */
			err = mdp_pad_pss(h, h, si->data, si->data_len, si->padding_info->salt_len,
					  kd.bits, block, k);
			if (err != MDP_OK) {
				rv = err == MDP_ERR_CRYPTO ? MD_E_UNEXPECTED
							   : MD_E_INVALID_PARAMETER;
				goto out;
			}
			buf_put_bytes(&in, block, k);
		} else {
			/* raw: the caller's block, left-padded to the modulus length */
			alg = (uint8_t)(0x10 | kd.alg);
			if (si->data_len > k) {
				rv = MD_E_INSUFFICIENT_BUFFER;
				goto out;
			}
			buf_put_zeros(&in, k - si->data_len);
			buf_put_bytes(&in, si->data, si->data_len);
		}
	}
	if (in.bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = mse(card, 0xB6, alg, (uint8_t)(0x81 + si->container_index));
	if (rv != MD_OK)
		goto out;
	rv = xfer(card, 0x00, 0x2A, 0x9E, 0x9A, in.data, in.len, 256, &sig, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		if (sw == 0x6982)
			G(card)->mse_valid = false;
		rv = sw_rv(sw);
		goto out;
	}
	if (sig.len != k) {
		log_warn("signature of %zu bytes, expected %zu", sig.len, k);
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	/* RSA signatures go back little-endian (CAPI); ECDSA r || s as is (§4.5) */
	if (MDP_KEY_SPEC_IS_RSA(kd.spec))
		mdp_reverse(sig.data, sig.len);
	si->signature_len = sig.len;
	si->signature = buf_steal(&sig, &si->signature_len);
	if (!si->signature)
		rv = MD_E_NO_MEMORY;
out:
	if (block)
		mdp_secure_free(block, k);
	(void)i;
	buf_free(&in);
	buf_free(&sig);
	return rv;
}

static enum md_rv
gids_rsa_decrypt(struct md_card *card, struct md_rsa_decrypt_info *di)
{
	struct key_desc kd;
	struct mdp_buf out;
	uint8_t *ct = NULL, *plain = NULL;
	size_t k = 0, off = 0, mlen = 0;
	uint8_t alg;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init_secret(&out);
	rv = sync_card(card);
	if (rv == MD_OK)
		rv = key_for(card, di->container_index, di->key_spec, &kd);
	if (rv != MD_OK)
		goto out;
	if (kd.spec != MDP_AT_KEYEXCHANGE) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	k = kd.bits / 8;
	if (di->data_len < k) {
		rv = MD_E_INSUFFICIENT_BUFFER;
		goto out;
	}
	if (di->data_len > k) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	if (di->padding_type == MD_PADDING_OAEP &&
	    (!di->padding_info ||
	     !mdp_hash_md(mdp_hash_by_name(di->padding_info->alg_id ? di->padding_info->alg_id
								    : "SHA1")))) {
		rv = di->padding_info ? MD_E_UNSUPPORTED_FEATURE : MD_E_INVALID_PARAMETER;
		goto out;
	}
	ct = malloc(k);
	if (!ct) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	/* little-endian in (§4.6) */
	for (off = 0; off < k; off++)
		ct[off] = di->data[k - 1 - off];
	alg = (uint8_t)((di->padding_type == MD_PADDING_PKCS1 ? 0x40 : 0x00) | kd.alg);
	rv = mse(card, 0xB8, alg, (uint8_t)(0x81 + di->container_index));
	if (rv != MD_OK)
		goto out;
	rv = xfer(card, 0x00, 0x2A, 0x80, 0x86, ct, k, 256, &out, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		if (sw == 0x6982)
			G(card)->mse_valid = false;
		rv = sw == 0x6A80 ? MD_E_INVALID_PARAMETER : sw_rv(sw);
		goto out;
	}
	off = 0;
	mlen = out.len;
	if (di->padding_type == MD_PADDING_PKCS1) {
		if (out.len > k - 11) {
			rv = MD_E_COMM_DATA_LOST;
			goto out;
		}
	} else {
		if (out.len != k) {
			rv = MD_E_COMM_DATA_LOST;
			goto out;
		}
		if (di->padding_type == MD_PADDING_OAEP) {
			const struct md_padding_info *pi = di->padding_info;
			enum mdp_hash h = mdp_hash_by_name(pi->alg_id ? pi->alg_id : "SHA1");

			/* The card decrypts raw (alg 0x00); constant-time unpadding (common/pad.h).
			 */
			plain = mdp_zalloc(k);
			if (!plain) {
				rv = MD_E_NO_MEMORY;
				goto out;
			}
			if (mdp_unpad_oaep(h, h, pi->label, pi->label_len, out.data, k, plain, k,
					   &mlen) != MDP_OK) {
				rv = MD_E_INVALID_PARAMETER;
				goto out;
			}
			memcpy(out.data, plain, mlen);
		}
	}
	/* result little-endian, in place */
	mdp_wipe(di->data, di->data_len);
	for (size_t i = 0; i < mlen; i++)
		di->data[i] = out.data[off + mlen - 1 - i];
	di->data_len = mlen;
out:
	if (ct)
		mdp_secure_free(ct, k);
	if (plain)
		mdp_secure_free(plain, k);
	buf_free(&out);
	return rv;
}

/* ---- ECDH (§9) ---- */

static enum md_rv
gids_construct_dh_agreement(struct md_card *card, struct md_dh_agreement_info *ai)
{
	struct gids *g = G(card);
	struct key_desc kd;
	struct mdp_key *peer = NULL;
	uint8_t *point = NULL;
	size_t plen = 0, slot;
	struct mdp_buf cmd, resp;
	struct mdp_cursor t, s;
	uint16_t sw = 0;
	enum md_rv rv;

	buf_init(&cmd);
	buf_init_secret(&resp);
	rv = sync_card(card);
	if (rv == MD_OK)
		rv = describe(card, ai->container_index, &kd);
	if (rv != MD_OK)
		goto out;
	if (!kd.present || !MDP_KEY_SPEC_IS_ECDH(kd.spec)) {
		rv = MD_E_NO_KEY_CONTAINER;
		goto out;
	}
	if (blob_detect(ai->public_key, ai->public_key_len) != BLOB_FMT_CNG_ECC_PUBLIC ||
	    blob_parse(ai->public_key, ai->public_key_len, BLOB_FMT_CNG_ECC_PUBLIC, 0, &peer) !=
		    MDP_OK ||
	    mdp_key_spec(peer) != (enum mdp_key_spec)kd.spec ||
	    mdp_key_ec_point(peer, &point, &plen) != MDP_OK) {
		rv = MD_E_INVALID_PARAMETER;
		goto out;
	}
	for (slot = 0; slot < MAX_AGREEMENTS && g->agreements[slot].used; slot++)
		;
	if (slot == MAX_AGREEMENTS) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = mse(card, 0xA6, kd.alg, (uint8_t)(0x81 + ai->container_index));
	if (rv != MD_OK)
		goto out;
	{
		size_t t7c = buf_tlv_open(&cmd, 0x7C);

		buf_put_tlv(&cmd, 0x85, point, plen);
		buf_tlv_close(&cmd, t7c);
	}
	if (cmd.bad) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = xfer(card, 0x00, 0x87, 0x00, 0x00, cmd.data, cmd.len, 256, &resp, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		rv = sw == 0x6A80 ? MD_E_INVALID_PARAMETER : sw_rv(sw);
		goto out;
	}
	if (tlv_find(resp.data, resp.len, 0x7C, &t) != MDP_OK ||
	    tlv_find(t.p + t.pos, cur_left(&t), 0x82, &s) != MDP_OK ||
	    cur_left(&s) != ec_field_len(kd.bits)) {
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	g->agreements[slot].secret = mdp_memdup(s.p + s.pos, cur_left(&s));
	if (!g->agreements[slot].secret) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	g->agreements[slot].len = cur_left(&s);
	g->agreements[slot].used = true;
	ai->secret_agreement_index = (uint8_t)slot;
out:
	free(point);
	mdp_key_free(peer);
	buf_free(&cmd);
	buf_free(&resp);
	return rv;
}

static const struct md_kdf_param *
kdf_param(const struct md_derive_key *dk, uint32_t type)
{
	size_t i;

	for (i = 0; i < dk->param_count; i++)
		if (dk->params[i].type == type)
			return &dk->params[i];
	return NULL;
}

/* A hash name parameter: ASCII, with or without its terminating NUL. */
static const EVP_MD *
kdf_hash(const struct md_derive_key *dk, bool *bad)
{
	const struct md_kdf_param *p = kdf_param(dk, MD_KDF_HASH_ALGORITHM);
	char name[16];
	size_t n;

	*bad = false;
	if (!p)
		return EVP_sha1();
	n = p->len;
	if (n && ((const char *)p->data)[n - 1] == '\0')
		n--;
	if (!p->data || n == 0 || n >= sizeof(name)) {
		*bad = true;
		return NULL;
	}
	memcpy(name, p->data, n);
	name[n] = '\0';
	return mdp_hash_md(mdp_hash_by_name(name));
}

static enum md_rv
gids_derive_key(struct md_card *card, struct md_derive_key *dk)
{
	struct gids *g = G(card);
	struct agreement *a;
	const struct md_kdf_param *pre, *app;
	const EVP_MD *md = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0, i;
	bool bad = false;
	enum md_rv rv = MD_OK;

	if (dk->secret_agreement_index >= MAX_AGREEMENTS ||
	    !g->agreements[dk->secret_agreement_index].used)
		return MD_E_INVALID_PARAMETER;
	a = &g->agreements[dk->secret_agreement_index];
	pre = kdf_param(dk, MD_KDF_SECRET_PREPEND);
	app = kdf_param(dk, MD_KDF_SECRET_APPEND);

	if (strcmp(dk->kdf, MD_KDF_TRUNCATE) == 0) {
		/* the raw secret, little-endian as CNG returns it */
		out_len = a->len;
		if (!(dk->flags & MD_BUFFER_SIZE_ONLY)) {
			out = malloc(out_len);
			if (!out)
				return MD_E_NO_MEMORY;
			for (i = 0; i < out_len; i++)
				out[i] = a->secret[out_len - 1 - i];
		}
	} else if (strcmp(dk->kdf, MD_KDF_HASH) == 0 || strcmp(dk->kdf, MD_KDF_HMAC) == 0) {
		bool hmac = strcmp(dk->kdf, MD_KDF_HMAC) == 0;
		unsigned hl = 0;

		md = kdf_hash(dk, &bad);
		if (bad)
			return MD_E_INVALID_PARAMETER;
		if (!md)
			return MD_E_UNSUPPORTED_FEATURE;
		out_len = (size_t)EVP_MD_get_size(md);
		if (!(dk->flags & MD_BUFFER_SIZE_ONLY)) {
			out = malloc(out_len);
			if (!out)
				return MD_E_NO_MEMORY;
			if (!hmac) {
				EVP_MD_CTX *c = EVP_MD_CTX_new();

				if (!c || EVP_DigestInit_ex(c, md, NULL) != 1 ||
				    (pre && EVP_DigestUpdate(c, pre->data, pre->len) != 1) ||
				    EVP_DigestUpdate(c, a->secret, a->len) != 1 ||
				    (app && EVP_DigestUpdate(c, app->data, app->len) != 1) ||
				    EVP_DigestFinal_ex(c, out, &hl) != 1)
					rv = MD_E_UNEXPECTED;
				EVP_MD_CTX_free(c);
			} else {
				const struct md_kdf_param *key = kdf_param(dk, MD_KDF_HMAC_KEY);
				const void *kp = key ? key->data : NULL;
				size_t kl = key ? key->len : 0;
				EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
				EVP_MAC_CTX *mc = mac ? EVP_MAC_CTX_new(mac) : NULL;
				OSSL_PARAM prm[2];
				size_t ol = 0;

				if (dk->flags & MD_KDF_USE_SECRET_AS_HMAC_KEY) {
					kp = a->secret;
					kl = a->len;
				}
				prm[0] = OSSL_PARAM_construct_utf8_string(
					OSSL_MAC_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0);
				prm[1] = OSSL_PARAM_construct_end();
				if (!mc ||
				    EVP_MAC_init(mc, kp ? kp : (const void *)"", kl, prm) != 1 ||
				    (pre && EVP_MAC_update(mc, pre->data, pre->len) != 1) ||
				    EVP_MAC_update(mc, a->secret, a->len) != 1 ||
				    (app && EVP_MAC_update(mc, app->data, app->len) != 1) ||
				    EVP_MAC_final(mc, out, &ol, out_len) != 1)
					rv = MD_E_UNEXPECTED;
				EVP_MAC_CTX_free(mc);
				EVP_MAC_free(mac);
			}
		}
	} else if (strcmp(dk->kdf, MD_KDF_SP800_56A_CONCAT) == 0) {
		/* single-step KDF (NIST SP 800-56A): OtherInfo = AlgorithmID || PartyU || PartyV ||
		 * SuppPub || SuppPriv */
		static const uint32_t parts[] = {MD_KDF_ALGORITHMID, MD_KDF_PARTYUINFO,
						 MD_KDF_PARTYVINFO, MD_KDF_SUPPPUBINFO,
						 MD_KDF_SUPPPRIVINFO};
		struct mdp_buf info;

		md = kdf_hash(dk, &bad);
		if (bad)
			return MD_E_INVALID_PARAMETER;
		if (!md)
			return MD_E_UNSUPPORTED_FEATURE;
		if (!kdf_param(dk, MD_KDF_ALGORITHMID) || !kdf_param(dk, MD_KDF_PARTYUINFO) ||
		    !kdf_param(dk, MD_KDF_PARTYVINFO))
			return MD_E_INVALID_PARAMETER;
		out_len =
			dk->version >= 2 && dk->key_len ? dk->key_len : (size_t)EVP_MD_get_size(md);
		if (out_len > 1024)
			return MD_E_INVALID_PARAMETER;
		if (!(dk->flags & MD_BUFFER_SIZE_ONLY)) {
			EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
			EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
			OSSL_PARAM prm[4];

			buf_init(&info);
			for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
				const struct md_kdf_param *p = kdf_param(dk, parts[i]);

				if (p)
					buf_put_bytes(&info, p->data, p->len);
			}
			out = malloc(out_len);
			prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
								  (char *)EVP_MD_get0_name(md), 0);
			prm[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, a->secret,
								   a->len);
			prm[2] = OSSL_PARAM_construct_octet_string(
				OSSL_KDF_PARAM_INFO, info.data ? info.data : (uint8_t *)"",
				info.len);
			prm[3] = OSSL_PARAM_construct_end();
			if (!out || info.bad || !kc || EVP_KDF_derive(kc, out, out_len, prm) != 1)
				rv = out ? MD_E_UNEXPECTED : MD_E_NO_MEMORY;
			EVP_KDF_CTX_free(kc);
			EVP_KDF_free(kdf);
			buf_free(&info);
		}
	} else {
		/* TLS_PRF and others: not offered */
		return MD_E_UNSUPPORTED_FEATURE;
	}
	if (rv != MD_OK) {
		if (out)
			mdp_secure_free(out, out_len);
		return rv;
	}
	dk->derived_key = out;
	dk->derived_key_len = out_len;
	return MD_OK;
}

static enum md_rv
gids_destroy_dh_agreement(struct md_card *card, uint8_t index, uint32_t flags)
{
	struct gids *g = G(card);

	if (index >= MAX_AGREEMENTS || !g->agreements[index].used)
		return MD_E_INVALID_PARAMETER;
	mdp_secure_free(g->agreements[index].secret, g->agreements[index].len);
	g->agreements[index].secret = NULL;
	g->agreements[index].len = 0;
	g->agreements[index].used = false;
	return MD_OK;
}

/* ---- properties (§4.11) ---- */

static enum md_rv
prop_out(const void *v, size_t n, void *data, size_t cap, size_t *len)
{
	*len = n;
	if (cap < n || !data)
		return MD_ERROR_INSUFFICIENT_BUFFER;
	memcpy(data, v, n);
	return MD_OK;
}

static enum md_rv
load_cardid(struct md_card *card)
{
	struct gids *g = G(card);
	uint8_t *p = NULL;
	size_t n = 0;
	enum md_rv rv;

	if (g->cardid_len)
		return MD_OK;
	rv = gids_read_file(card, NULL, "cardid", 0, &p, &n);
	if (rv == MD_OK && (n == 0 || n > sizeof(g->cardid)))
		rv = MD_E_COMM_DATA_LOST;
	free(p);
	return rv;
}

static void
pin_info_of(uint32_t id, struct md_pin_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->version = MD_PIN_INFO_VERSION;
	pi->cache_policy.version = MD_PIN_INFO_VERSION;
	pi->cache_policy.type = MD_PIN_CACHE_NORMAL;
	if (id == MD_ROLE_USER) {
		pi->pin_type = MD_PIN_ALPHANUMERIC;
		pi->purpose = MD_PURPOSE_PRIMARY_CARD;
		pi->change_permission = MD_PIN_SET(MD_ROLE_USER);
		pi->unblock_permission = MD_PIN_SET(MD_ROLE_ADMIN);
	} else {
		pi->pin_type = MD_PIN_CHALLENGE_RESPONSE;
		pi->purpose = MD_PURPOSE_ADMINISTRATOR;
		pi->change_permission = MD_PIN_SET(MD_ROLE_ADMIN);
		pi->unblock_permission = 0;
	}
}

static enum md_rv
gids_get_property(struct md_card *card, const char *name, void *data, size_t cap, size_t *len,
		  uint32_t flags)
{
	struct gids *g = G(card);
	uint32_t v;
	enum md_rv rv;
	/* properties whose flags carry a meaning */
	bool flagged = strcmp(name, MD_CP_CARD_KEYSIZES) == 0 ||
		       strcmp(name, MD_CP_CARD_PIN_INFO) == 0 ||
		       strcmp(name, MD_CP_CARD_PIN_STRENGTH_VERIFY) == 0 ||
		       strcmp(name, MD_CP_CARD_PIN_STRENGTH_CHANGE) == 0 ||
		       strcmp(name, MD_CP_CARD_PIN_STRENGTH_UNBLOCK) == 0;

	if (!flagged && flags != 0)
		return MD_E_INVALID_PARAMETER;
	if (strcmp(name, MD_CP_CARD_FREE_SPACE) == 0) {
		struct md_free_space fs = {.version = MD_FREE_SPACE_VERSION};

		rv = gids_query_free_space(card, 0, &fs);
		return rv == MD_OK ? prop_out(&fs, sizeof(fs), data, cap, len) : rv;
	}
	if (strcmp(name, MD_CP_CARD_CAPABILITIES) == 0) {
		struct md_capabilities c = {.version = MD_CAPABILITIES_VERSION};

		gids_query_capabilities(card, &c);
		return prop_out(&c, sizeof(c), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_KEYSIZES) == 0) {
		struct md_key_sizes ks = {.version = MD_KEY_SIZES_VERSION};

		if (flags < MDP_AT_KEYEXCHANGE || flags > MDP_AT_ECDHE_P521)
			return MD_E_INVALID_PARAMETER;
		gids_query_key_sizes(card, flags, 0, &ks);
		return prop_out(&ks, sizeof(ks), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_READ_ONLY) == 0) {
		v = 0;
		return prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_CACHE_MODE) == 0) {
		/* the host keeps cardcf current, so a global cache is safe */
		v = MD_CP_CACHE_MODE_GLOBAL_CACHE;
		return prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_SUPPORTS_WIN_X509_ENROLLMENT) == 0) {
		v = 1;
		return prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_GUID) == 0 || strcmp(name, MD_CP_CARD_SERIAL_NO) == 0) {
		rv = sync_card(card);
		if (rv == MD_OK)
			rv = load_cardid(card);
		return rv == MD_OK ? prop_out(g->cardid, g->cardid_len, data, cap, len) : rv;
	}
	if (strcmp(name, MD_CP_CARD_PIN_INFO) == 0) {
		struct md_pin_info pi;

		if (flags != MD_ROLE_USER && flags != MD_ROLE_ADMIN)
			return MD_E_INVALID_PARAMETER;
		if (data && cap >= sizeof(uint32_t)) {
			uint32_t want;

			memcpy(&want, data, sizeof(want));
			if (want != 0 && want != MD_PIN_INFO_VERSION)
				return MD_ERROR_REVISION_MISMATCH;
		}
		pin_info_of(flags, &pi);
		return prop_out(&pi, sizeof(pi), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_LIST_PINS) == 0) {
		v = MD_PIN_SET(MD_ROLE_USER) | MD_PIN_SET(MD_ROLE_ADMIN);
		return prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_AUTHENTICATED_STATE) == 0) {
		if (card->resets != g->resets_seen)
			g->authenticated = 0;
		v = g->authenticated;
		return prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_CARD_PIN_STRENGTH_VERIFY) == 0 ||
	    strcmp(name, MD_CP_CARD_PIN_STRENGTH_CHANGE) == 0 ||
	    strcmp(name, MD_CP_CARD_PIN_STRENGTH_UNBLOCK) == 0) {
		if (flags != MD_ROLE_USER && flags != MD_ROLE_ADMIN)
			return MD_E_INVALID_PARAMETER;
		v = MD_PIN_STRENGTH_PLAINTEXT;
		return prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_KEY_IMPORT_SUPPORT) == 0) {
		/* plain-text key pairs through create_container(KEY_IMPORT); no secure key
		 * injection */
		v = MD_KEY_IMPORT_PLAIN_TEXT;
		return prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CP_PARENT_WINDOW) == 0 || strcmp(name, MD_CP_PIN_CONTEXT_STRING) == 0)
		return MD_E_INVALID_PARAMETER; /* write-only */
	if (strcmp(name, MD_CP_ENUM_ALGORITHMS) == 0 || strcmp(name, MD_CP_PADDING_SCHEMES) == 0 ||
	    strcmp(name, MD_CP_CHAINING_MODES) == 0)
		return MD_E_UNSUPPORTED_FEATURE; /* secure key injection only */
	return MD_E_INVALID_PARAMETER;
}

static enum md_rv
gids_set_property(struct md_card *card, const char *name, const void *data, size_t len,
		  uint32_t flags)
{
	if (flags != 0)
		return MD_E_INVALID_PARAMETER;
	/* UI hints: accepted, nothing to do without a UI */
	if (strcmp(name, MD_CP_PARENT_WINDOW) == 0 || strcmp(name, MD_CP_PIN_CONTEXT_STRING) == 0)
		return MD_OK;
	return MD_E_UNSUPPORTED_FEATURE;
}

static enum md_rv
gids_get_container_property(struct md_card *card, uint8_t index, const char *name, void *data,
			    size_t cap, size_t *len, uint32_t flags)
{
	struct key_desc kd;
	enum md_rv rv;

	rv = sync_card(card);
	if (rv == MD_OK)
		rv = describe(card, index, &kd);
	if (rv != MD_OK)
		return rv;
	if (!kd.present)
		return MD_E_NO_KEY_CONTAINER;
	if (strcmp(name, MD_CCP_CONTAINER_INFO) == 0) {
		struct md_container_info ci = {.version = MD_CONTAINER_INFO_VERSION};

		*len = sizeof(ci);
		if (!data || cap < sizeof(ci))
			return MD_ERROR_INSUFFICIENT_BUFFER;
		rv = gids_get_container_info(card, index, 0, &ci);
		if (rv != MD_OK)
			return rv;
		memcpy(data, &ci, sizeof(ci));
		return MD_OK;
	}
	if (strcmp(name, MD_CCP_PIN_IDENTIFIER) == 0) {
		uint32_t v = MD_ROLE_USER;

		return prop_out(&v, sizeof(v), data, cap, len);
	}
	if (strcmp(name, MD_CCP_ASSOCIATED_ECDH_KEY) == 0)
		return MD_E_UNSUPPORTED_FEATURE; /* GIDS has nowhere to store the pairing */
	return MD_E_INVALID_PARAMETER;
}

static enum md_rv
gids_set_container_property(struct md_card *card, uint8_t index, const char *name, const void *data,
			    size_t len, uint32_t flags)
{
	struct key_desc kd;
	enum md_rv rv;
	uint32_t v;

	rv = sync_card(card);
	if (rv == MD_OK)
		rv = describe(card, index, &kd);
	if (rv != MD_OK)
		return rv;
	if (!kd.present)
		return MD_E_NO_KEY_CONTAINER;
	if (strcmp(name, MD_CCP_PIN_IDENTIFIER) == 0) {
		if (len != sizeof(v))
			return MD_E_INVALID_PARAMETER;
		memcpy(&v, data, sizeof(v));
		/* every GIDS key is bound to the one user PIN */
		return v == MD_ROLE_USER ? MD_OK : MD_E_INVALID_PARAMETER;
	}
	if (strcmp(name, MD_CCP_CONTAINER_INFO) == 0)
		return MD_E_INVALID_PARAMETER; /* read-only */
	if (strcmp(name, MD_CCP_ASSOCIATED_ECDH_KEY) == 0)
		return MD_E_UNSUPPORTED_FEATURE;
	return MD_E_INVALID_PARAMETER;
}

static const struct md_card_ops gids_ops = {
	.delete_context = gids_delete_context,
	.query_capabilities = gids_query_capabilities,
	.delete_container = gids_delete_container,
	.create_container = gids_create_container,
	.get_container_info = gids_get_container_info,
	.authenticate_ex = gids_authenticate_ex,
	.get_challenge_ex = gids_get_challenge_ex,
	.deauthenticate_ex = gids_deauthenticate_ex,
	.change_authenticator_ex = gids_change_authenticator_ex,
	.create_directory = gids_create_directory,
	.delete_directory = gids_delete_directory,
	.create_file = gids_create_file,
	.read_file = gids_read_file,
	.write_file = gids_write_file,
	.delete_file = gids_delete_file,
	.enum_files = gids_enum_files,
	.get_file_info = gids_get_file_info,
	.query_free_space = gids_query_free_space,
	.query_key_sizes = gids_query_key_sizes,
	.sign_data = gids_sign_data,
	.rsa_decrypt = gids_rsa_decrypt,
	.construct_dh_agreement = gids_construct_dh_agreement,
	.derive_key = gids_derive_key,
	.destroy_dh_agreement = gids_destroy_dh_agreement,
	.get_property = gids_get_property,
	.set_property = gids_set_property,
	.get_container_property = gids_get_container_property,
	.set_container_property = gids_set_container_property,
};

/* CardAcquireContext for GIDS: identified by SELECT of the GIDS AID (§4.2), one APDU. */
enum md_rv
md_gids_acquire(struct md_card *card, unsigned flags)
{
	struct gids *g = NULL;
	enum md_rv rv;

	rv = md_negotiate_version(card, MD_CARD_DATA_VERSION_FOUR, MD_CARD_DATA_CURRENT_VERSION);
	if (rv != MD_OK)
		return rv;
	g = mdp_zalloc(sizeof(*g));
	if (!g)
		return MD_E_NO_MEMORY;
	card->module = g;
	g->resets_seen = card->resets;
	rv = select_app(card, true, NULL);
	if (rv != MD_OK) {
		card->module = NULL;
		mdp_secure_free(g, sizeof(*g));
		return rv;
	}
	card->ops = &gids_ops;
	return MD_OK;
}
