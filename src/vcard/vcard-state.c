/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual card's state file: encoding, checks, atomic writes, locking and key sealing. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

/*
 * Layout (docs/vcard.md): "MDP11VCD", be32 format version, be32 body length,
 * body, SHA-256 over everything before it. All integers big-endian.
 */
static const uint8_t state_magic[8] = {'M', 'D', 'P', '1', '1', 'V', 'C', 'D'};
#define HEADER_LEN 16
#define DIGEST_LEN 32
#define MAX_STATE_FILE (64u * 1024u * 1024u)

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

enum mdp_err
vc_state_encode(const struct vc_state *st, struct mdp_buf *out)
{
	struct mdp_buf b;
	uint8_t md[DIGEST_LEN];
	size_t i, j, body;

	buf_init_secret(&b);
	buf_put_bytes(&b, state_magic, sizeof(state_magic));
	buf_put_be32(&b, VC_FORMAT_VERSION);
	buf_put_be32(&b, 0); /* body length, patched below */
	buf_put_bytes(&b, st->uuid, VC_UUID_LEN);
	buf_put_be32(&b, (uint32_t)(st->generation >> 32));
	buf_put_be32(&b, (uint32_t)st->generation);
	buf_put_u8(&b, st->app_lcs);
	buf_put_u8(&b, st->pin_set);
	buf_put_u8(&b, st->pin_len);
	buf_put_u8(&b, st->pin_max);
	buf_put_u8(&b, st->pin_left);
	buf_put_u8(&b, st->kdf_cost);
	buf_put_bytes(&b, st->pin_salt, VC_SALT_LEN);
	buf_put_bytes(&b, st->wrap_pin, VC_WRAP_LEN);
	buf_put_u8(&b, st->has_wrap_admin);
	buf_put_bytes(&b, st->wrap_admin, VC_WRAP_LEN);
	buf_put_u8(&b, st->has_ck_clear);
	buf_put_bytes(&b, st->ck_clear, VC_CK_LEN);
	buf_put_be16(&b, (uint16_t)st->n_files);
	for (i = 0; i < st->n_files; i++) {
		const struct vc_file *f = &st->files[i];

		buf_put_be16(&b, f->fid);
		buf_put_u8(&b, f->desc);
		buf_put_u8(&b, f->lcs);
		buf_put_u8(&b, (uint8_t)f->acl_len);
		buf_put_bytes(&b, f->acl, f->acl_len);
		if (f->desc == VC_DESC_EF) {
			buf_put_be32(&b, (uint32_t)f->n_dos);
			for (j = 0; j < f->n_dos; j++) {
				buf_put_be32(&b, f->dos[j].tag);
				put_blob32(&b, f->dos[j].val, f->dos[j].len);
			}
		} else {
			put_blob32(&b, f->crt, f->crt_len);
			buf_put_u8(&b, f->key_type);
			buf_put_u8(&b, f->alg);
			put_blob32(&b, f->sym, f->sym_len);
			put_blob32(&b, f->pub, f->pub_len);
			put_blob32(&b, f->priv, f->priv_len);
		}
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

#define STATE_BAD(...) mdp_err_reason(MDP_ERR_STATE, "state file: " __VA_ARGS__)

static enum mdp_err
decode_file(struct mdp_cursor *c, struct vc_file *f)
{
	size_t i, n, total = 0;
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
	if (f->desc == VC_DESC_EF) {
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
	if ((f->fid >> 8) != 0xB0 || (f->fid & 0xFF) < 0x80)
		return STATE_BAD("key file with FID %04X", f->fid);
	if (!get_blob32(c, &f->crt, &f->crt_len, 1024))
		return STATE_BAD("key file %04X: bad usage list", f->fid);
	f->key_type = cur_get_u8(c);
	f->alg = cur_get_u8(c);
	if (c->bad || f->key_type > VC_KEY_EC)
		return STATE_BAD("key file %04X: bad key type", f->fid);
	if (!get_blob32(c, &f->sym, &f->sym_len, VCARD_ADMIN_KEY_LEN) ||
	    !get_blob32(c, &f->pub, &f->pub_len, 4096) ||
	    !get_blob32(c, &f->priv, &f->priv_len, 8192))
		return STATE_BAD("key file %04X: bad key material", f->fid);
	switch (f->key_type) {
	case VC_KEY_NONE:
		if (f->sym_len || f->pub_len || f->priv_len)
			return STATE_BAD("key file %04X: stray key material", f->fid);
		break;
	case VC_KEY_SYM:
		if (f->sym_len != VCARD_ADMIN_KEY_LEN || f->pub_len || f->priv_len)
			return STATE_BAD("key file %04X: bad symmetric key", f->fid);
		break;
	default:
		if (f->sym_len || !f->pub_len || f->priv_len < 29)
			return STATE_BAD("key file %04X: bad key pair", f->fid);
		break;
	}
	return MDP_OK;
}

enum mdp_err
vc_state_decode(const uint8_t *p, size_t len, struct vc_state *out)
{
	struct vc_state st;
	struct mdp_cursor c;
	uint8_t md[DIGEST_LEN];
	uint32_t version, body;
	size_t i, j, nfiles, nkeys = 0;
	enum mdp_err err;
	const uint8_t *q;
	uint32_t hi, lo;

	memset(&st, 0, sizeof(st));
	if (len < HEADER_LEN || memcmp(p, state_magic, sizeof(state_magic)) != 0)
		return STATE_BAD("not an mdp11 virtual card (bad magic)");
	cur_init(&c, p, len);
	cur_skip(&c, sizeof(state_magic));
	version = cur_get_be32(&c);
	body = cur_get_be32(&c);
	if (version != VC_FORMAT_VERSION)
		return STATE_BAD("unsupported format version %u (this build reads %u)", version,
				 VC_FORMAT_VERSION);
	if (body > len || len - body != HEADER_LEN + DIGEST_LEN)
		return STATE_BAD("length %zu does not match the header (truncated or extended)",
				 len);
	if (!digest(p, HEADER_LEN + body, md) ||
	    mdp_memeq_ct(md, p + HEADER_LEN + body, DIGEST_LEN) != 0)
		return STATE_BAD("checksum mismatch (damaged)");
	cur_init(&c, p + HEADER_LEN, body);
	q = cur_get_bytes(&c, VC_UUID_LEN);
	if (q)
		memcpy(st.uuid, q, VC_UUID_LEN);
	hi = cur_get_be32(&c);
	lo = cur_get_be32(&c);
	st.generation = (uint64_t)hi << 32 | lo;
	st.app_lcs = cur_get_u8(&c);
	st.pin_set = cur_get_u8(&c) != 0;
	st.pin_len = cur_get_u8(&c);
	st.pin_max = cur_get_u8(&c);
	st.pin_left = cur_get_u8(&c);
	st.kdf_cost = cur_get_u8(&c);
	q = cur_get_bytes(&c, VC_SALT_LEN);
	if (q)
		memcpy(st.pin_salt, q, VC_SALT_LEN);
	q = cur_get_bytes(&c, VC_WRAP_LEN);
	if (q)
		memcpy(st.wrap_pin, q, VC_WRAP_LEN);
	st.has_wrap_admin = cur_get_u8(&c) != 0;
	q = cur_get_bytes(&c, VC_WRAP_LEN);
	if (q)
		memcpy(st.wrap_admin, q, VC_WRAP_LEN);
	st.has_ck_clear = cur_get_u8(&c) != 0;
	q = cur_get_bytes(&c, VC_CK_LEN);
	if (q)
		memcpy(st.ck_clear, q, VC_CK_LEN);
	nfiles = cur_get_be16(&c);
	if (c.bad) {
		err = STATE_BAD("truncated card record");
		goto out;
	}
	if (st.app_lcs != VC_LCS_CREATION && st.app_lcs != VC_LCS_OPERATIONAL) {
		err = STATE_BAD("bad application life cycle %u", st.app_lcs);
		goto out;
	}
	if (st.kdf_cost < 1 || st.kdf_cost > 20) {
		err = STATE_BAD("bad KDF cost %u", st.kdf_cost);
		goto out;
	}
	if (st.pin_max < 1 || st.pin_max > 15 || st.pin_left > st.pin_max ||
	    (st.pin_set && (st.pin_len < VC_PIN_MIN || st.pin_len > VC_PIN_MAX))) {
		err = STATE_BAD("bad PIN record");
		goto out;
	}
	if (!st.pin_set && !st.has_ck_clear && !st.has_wrap_admin) {
		err = STATE_BAD("card key unreachable");
		goto out;
	}
	if (nfiles > VC_MAX_FILES) {
		err = STATE_BAD("too many files (%zu)", nfiles);
		goto out;
	}
	st.files = calloc(nfiles ? nfiles : 1, sizeof(*st.files));
	if (!st.files) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < nfiles; i++) {
		err = decode_file(&c, &st.files[i]);
		st.n_files++;
		if (err)
			goto out;
		for (j = 0; j < i; j++) {
			if (st.files[j].fid == st.files[i].fid) {
				err = STATE_BAD("file %04X twice", st.files[i].fid);
				goto out;
			}
		}
		if (st.files[i].desc == VC_DESC_KEY && st.files[i].fid != 0xB080)
			nkeys++;
	}
	if (nkeys > VC_MAX_KEY_FILES) {
		err = STATE_BAD("too many key files");
		goto out;
	}
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

/* ---- key sealing and derivation ---- */

enum mdp_err
vc_seal(const uint8_t key[VC_CK_LEN], const uint8_t *aad, size_t aad_len, const uint8_t *in,
	size_t in_len, uint8_t **out, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	size_t total = 12 + in_len + 16;
	int n = 0, fin = 0;
	enum mdp_err err = MDP_ERR_CRYPTO;

	if (in_len > INT_MAX - 64 || aad_len > INT_MAX)
		return MDP_ERR_OVERFLOW;
	buf = malloc(total);
	ctx = EVP_CIPHER_CTX_new();
	if (!buf || !ctx) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	if (RAND_bytes(buf, 12) != 1 ||
	    EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, buf, NULL) != 1 ||
	    (aad_len && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
	    EVP_EncryptUpdate(ctx, buf + 12, &n, in, (int)in_len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + 12 + n, &fin) != 1 || (size_t)(n + fin) != in_len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, buf + 12 + in_len) != 1)
		goto out;
	*out = buf;
	*out_len = total;
	buf = NULL;
	err = MDP_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	mdp_secure_free(buf, total);
	return err;
}

enum mdp_err
vc_unseal(const uint8_t key[VC_CK_LEN], const uint8_t *aad, size_t aad_len, const uint8_t *in,
	  size_t in_len, uint8_t **out, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	uint8_t tag[16];
	size_t plen;
	int n = 0, fin = 0;
	enum mdp_err err = MDP_ERR_CRYPTO;

	if (in_len < 28 || in_len > INT_MAX || aad_len > INT_MAX)
		return MDP_ERR_FORMAT;
	plen = in_len - 28;
	buf = mdp_zalloc(plen ? plen : 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!buf || !ctx) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	memcpy(tag, in + in_len - 16, 16);
	if (EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, in, NULL) != 1 ||
	    (aad_len && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
	    EVP_DecryptUpdate(ctx, buf, &n, in + 12, (int)plen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, buf + n, &fin) != 1 || (size_t)(n + fin) != plen)
		goto out;
	*out = buf;
	*out_len = plen;
	buf = NULL;
	err = MDP_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	mdp_secure_free(buf, plen ? plen : 1);
	return err;
}

enum mdp_err
vc_pin_key(const struct vc_state *st, const uint8_t *pin, size_t pin_len,
	   const uint8_t salt[VC_SALT_LEN], uint8_t key[VC_CK_LEN])
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[7];
	uint64_t n = (uint64_t)1 << st->kdf_cost;
	uint32_t r = 8, p = 1;
	uint64_t maxmem = (uint64_t)128 * r * n + (uint64_t)64 * 1024 * 1024;
	enum mdp_err err = MDP_ERR_CRYPTO;

	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL);
	if (!kdf)
		goto out;
	ctx = EVP_KDF_CTX_new(kdf);
	if (!ctx)
		goto out;
	params[0] =
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pin, pin_len);
	params[1] =
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, VC_SALT_LEN);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, key, VC_CK_LEN, params) != 1)
		goto out;
	err = MDP_OK;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return err;
}

enum mdp_err
vc_admin_wrap_key(const struct vc_state *st, const uint8_t *admin, size_t admin_len,
		  uint8_t key[VC_CK_LEN])
{
	static const char info[] = "mdp11-vcard admin wrap";
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[5];
	enum mdp_err err = MDP_ERR_CRYPTO;

	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (!kdf)
		goto out;
	ctx = EVP_KDF_CTX_new(kdf);
	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)admin, admin_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)st->uuid,
						      VC_UUID_LEN);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
						      sizeof(info) - 1);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, key, VC_CK_LEN, params) != 1)
		goto out;
	err = MDP_OK;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return err;
}

static size_t
wrap_aad(const struct vc_state *st, const char *label, uint8_t *aad, size_t cap)
{
	size_t l = strlen(label);

	if (l > cap - VC_UUID_LEN)
		l = cap - VC_UUID_LEN;
	memcpy(aad, st->uuid, VC_UUID_LEN);
	memcpy(aad + VC_UUID_LEN, label, l);
	return VC_UUID_LEN + l;
}

enum mdp_err
vc_wrap_ck(const struct vc_state *st, const uint8_t kek[VC_CK_LEN], const char *label,
	   const uint8_t ck[VC_CK_LEN], uint8_t wrap[VC_WRAP_LEN])
{
	uint8_t aad[64];
	uint8_t *w = NULL;
	size_t wl = 0, al = wrap_aad(st, label, aad, sizeof(aad));
	enum mdp_err err;

	err = vc_seal(kek, aad, al, ck, VC_CK_LEN, &w, &wl);
	if (err)
		return err;
	if (wl != VC_WRAP_LEN) {
		free(w);
		return MDP_ERR_INTERNAL;
	}
	memcpy(wrap, w, VC_WRAP_LEN);
	free(w);
	return MDP_OK;
}

enum mdp_err
vc_unwrap_ck(const struct vc_state *st, const uint8_t kek[VC_CK_LEN], const char *label,
	     const uint8_t wrap[VC_WRAP_LEN], uint8_t ck[VC_CK_LEN])
{
	uint8_t aad[64];
	uint8_t *p = NULL;
	size_t pl = 0, al = wrap_aad(st, label, aad, sizeof(aad));
	enum mdp_err err;

	err = vc_unseal(kek, aad, al, wrap, VC_WRAP_LEN, &p, &pl);
	if (err)
		return err;
	if (pl != VC_CK_LEN) {
		mdp_secure_free(p, pl);
		return MDP_ERR_STATE;
	}
	memcpy(ck, p, VC_CK_LEN);
	mdp_secure_free(p, pl);
	return MDP_OK;
}

/* ---- files ---- */

static void
file_id_of(const struct stat *sb, struct vc_file_id *id)
{
	id->dev = sb->st_dev;
	id->ino = sb->st_ino;
	id->size = sb->st_size;
	id->mtime_ns = (long long)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
	id->ctime_ns = (long long)sb->st_ctim.tv_sec * 1000000000LL + sb->st_ctim.tv_nsec;
	id->valid = true;
}

static bool
file_id_eq(const struct vc_file_id *a, const struct vc_file_id *b)
{
	return a->valid && b->valid && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

/* Move the volatile key caches of unchanged keys from old to new. */
static void
keep_caches(struct vc_state *old, struct vc_state *nw)
{
	size_t i;

	for (i = 0; i < nw->n_files; i++) {
		struct vc_file *f = &nw->files[i];
		struct vc_file *o = vc_find_file(old, f->fid);

		if (!o || !o->cache || o->desc != VC_DESC_KEY || o->priv_len != f->priv_len ||
		    !f->priv || memcmp(o->priv, f->priv, f->priv_len) != 0)
			continue;
		f->cache = o->cache;
		o->cache = NULL;
	}
}

enum mdp_err
vc_load(struct vcard *vc)
{
	struct vc_state st;
	struct vc_file_id id;
	struct stat sb;
	uint8_t *data = NULL;
	size_t len = 0, got = 0;
	enum mdp_err err;
	int fd = -1;

	memset(&st, 0, sizeof(st));
	fd = open(vc->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return mdp_err_reason(MDP_ERR_NOT_FOUND, "%s: no such card", vc->path);
		return mdp_err_reason(MDP_ERR_IO, "%s: %s", vc->path, strerror(errno));
	}
	if (fstat(fd, &sb) != 0) {
		err = mdp_err_reason(MDP_ERR_IO, "%s: %s", vc->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)MAX_STATE_FILE) {
		err = STATE_BAD("%s is not a plausible card file", vc->path);
		goto out;
	}
	len = (size_t)sb.st_size;
	data = malloc(len ? len : 1);
	if (!data) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	while (got < len) {
		ssize_t r = read(fd, data + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = mdp_err_reason(MDP_ERR_IO, "%s: short read", vc->path);
			goto out;
		}
		got += (size_t)r;
	}
	err = vc_state_decode(data, len, &st);
	if (err)
		goto out;
	file_id_of(&sb, &id);
	if (memcmp(st.uuid, vc->st.uuid, VC_UUID_LEN) != 0) {
		/* A different card: nothing of the old security state applies. */
		vc_drop_secrets(vc);
		vc->pin_ok = false;
		vc->admin_ok = false;
	} else {
		keep_caches(&vc->st, &st);
	}
	vc_state_free(&vc->st);
	vc->st = st;
	if (vc->loaded)
		vc->reloads++; /* not the first load: someone else's change (or a roll-back) */
	vc->loaded = true;
	vc->seen = id;
	if (vc->st.has_ck_clear && !vc->ck_ok) {
		memcpy(vc->ck, vc->st.ck_clear, VC_CK_LEN);
		vc->ck_ok = true;
	}
	memset(&st, 0, sizeof(st));
	err = MDP_OK;
out:
	if (fd >= 0)
		close(fd);
	mdp_secure_free(data, len ? len : 1);
	return err;
}

enum mdp_err
vc_refresh(struct vcard *vc)
{
	struct stat sb;
	struct vc_file_id id;

	if (!vc->path)
		return MDP_OK;
	if (stat(vc->path, &sb) != 0) {
		if (errno == ENOENT)
			return mdp_err_reason(MDP_ERR_NOT_FOUND, "%s: card file vanished",
					      vc->path);
		return mdp_err_reason(MDP_ERR_IO, "%s: %s", vc->path, strerror(errno));
	}
	file_id_of(&sb, &id);
	if (file_id_eq(&id, &vc->seen))
		return MDP_OK;
	log_debug("state file changed, reloading");
	return vc_load(vc);
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	d = malloc((size_t)(slash - path) + 1);
	if (!d)
		return NULL;
	memcpy(d, path, (size_t)(slash - path));
	d[slash - path] = '\0';
	return d;
}

static enum mdp_err
fsync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd;
	enum mdp_err err = MDP_OK;

	if (!dir)
		return MDP_ERR_NOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		err = mdp_err_reason(MDP_ERR_IO, "%s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

/* Write data to a fresh temporary file next to path; returns its name. */
static enum mdp_err
write_temp(const char *path, const uint8_t *data, size_t len, char **tmp_out)
{
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	size_t done = 0;
	int fd;

	if (!tmp)
		return MDP_ERR_NOMEM;
	snprintf(tmp, n, "%s.tmpXXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		enum mdp_err e = mdp_err_reason(MDP_ERR_IO, "%s: %s", tmp, strerror(errno));

		free(tmp);
		return e;
	}
	if (fchmod(fd, 0600) != 0)
		goto fail;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		done += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	*tmp_out = tmp;
	return MDP_OK;
fail : {
	enum mdp_err e = mdp_err_reason(MDP_ERR_IO, "%s: %s", tmp, strerror(errno));

	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return e;
}
}

/*
 * Remove temporary files a killed writer left next to path. Called with the
 * card lock held: every writer of an existing card holds it while its
 * temporary file exists, so any "<name>.tmpXXXXXX" seen now is stale.
 */
static void
remove_stale_temps(const char *path)
{
	char *dir = dir_of(path);
	const char *base = strrchr(path, '/');
	size_t blen;
	struct dirent *e;
	DIR *d;

	base = base ? base + 1 : path;
	blen = strlen(base);
	if (!dir)
		return;
	d = opendir(dir);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (strlen(e->d_name) == blen + 10 && !strncmp(e->d_name, base, blen) &&
			    !strncmp(e->d_name + blen, ".tmp", 4) &&
			    unlinkat(dirfd(d), e->d_name, 0) == 0)
				log_info("removed a stale temporary file %s/%s", dir, e->d_name);
		}
		closedir(d);
	}
	free(dir);
}

enum mdp_err
vc_save(struct vcard *vc)
{
	struct mdp_buf b;
	struct stat sb;
	char *tmp = NULL;
	enum mdp_err err;

	if (!vc->path) {
		vc->dirty = false;
		vc->commits++;
		return MDP_OK;
	}
	if (vc->locked)
		remove_stale_temps(vc->path);
	vc->st.generation++;
	err = vc_state_encode(&vc->st, &b);
	if (err)
		return err;
	err = write_temp(vc->path, b.data, b.len, &tmp);
	buf_free(&b);
	if (err)
		return err;
	if (rename(tmp, vc->path) != 0) {
		err = mdp_err_reason(MDP_ERR_IO, "%s: %s", vc->path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return err;
	}
	free(tmp);
	err = fsync_dir(vc->path);
	if (err)
		return err;
	if (stat(vc->path, &sb) == 0)
		file_id_of(&sb, &vc->seen);
	else
		vc->seen.valid = false;
	vc->dirty = false;
	vc->commits++;
	return MDP_OK;
}

enum mdp_err
vc_write_new(const char *path, const struct vc_state *st)
{
	struct mdp_buf b;
	char *tmp = NULL;
	enum mdp_err err;

	err = vc_state_encode(st, &b);
	if (err)
		return err;
	err = write_temp(path, b.data, b.len, &tmp);
	buf_free(&b);
	if (err)
		return err;
	/* link() refuses an existing name atomically: never overwrite a card. */
	if (link(tmp, path) != 0) {
		if (errno == EEXIST)
			err = mdp_err_reason(MDP_ERR_EXISTS, "%s already exists", path);
		else
			err = mdp_err_reason(MDP_ERR_IO, "%s: %s", path, strerror(errno));
	}
	unlink(tmp);
	free(tmp);
	if (err)
		return err;
	return fsync_dir(path);
}

enum mdp_err
vc_lock(struct vcard *vc)
{
	if (!vc->path || vc->locked)
		return MDP_OK;
	if (vc->lock_fd < 0) {
		vc->lock_fd = open(vc->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (vc->lock_fd < 0)
			return mdp_err_reason(MDP_ERR_IO, "%s: %s", vc->lock_path, strerror(errno));
	}
	while (flock(vc->lock_fd, LOCK_EX) != 0) {
		if (errno != EINTR)
			return mdp_err_reason(MDP_ERR_IO, "%s: lock: %s", vc->lock_path,
					      strerror(errno));
	}
	vc->locked = true;
	return MDP_OK;
}

void
vc_unlock(struct vcard *vc)
{
	if (!vc->locked)
		return;
	flock(vc->lock_fd, LOCK_UN);
	vc->locked = false;
}
