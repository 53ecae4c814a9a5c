/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The virtual card: APDU framing (channels, chaining, GET RESPONSE) for every card edge; the GIDS
 * file system, data objects, PIN and life cycle. The PIV applet is in piv.c and piv-keys.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

/* spec/gids.md §2.1 */
static const uint8_t gids_aid[11] = {0xA0, 0x00, 0x00, 0x03, 0x97, 0x42,
				     0x54, 0x46, 0x59, 0x02, 0x01};
static const uint8_t default_atr[5] = {0x3B, 0x80, 0x80, 0x01, 0x01};

/* ---- helpers shared with the other files ---- */

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

uint16_t
vc_commit(struct vcard *vc)
{
	enum mdp_err err;

	vc->dirty = true;
	err = vc_save(vc);
	if (err) {
		log_error("cannot save the card state: %s", mdp_err_last());
		vc->io_err = err;
		return SW_MEMORY_FAILURE;
	}
	return 0;
}

static void
pend_clear(struct vcard *vc)
{
	mdp_secure_free(vc->pend, vc->pend_len);
	vc->pend = NULL;
	vc->pend_len = 0;
	vc->pend_pos = 0;
}

static void
chain_abort(struct vcard *vc)
{
	buf_free(&vc->chain);
	buf_init_secret(&vc->chain);
	vc->chaining = false;
}

/* ---- logical channels ---- */

static void
chan_save(const struct vcard *vc, struct vc_chan *ch)
{
	ch->cur_fid = vc->cur_fid;
	ch->mse = vc->mse;
	ch->mse_alg = vc->mse_alg;
	ch->mse_kid = vc->mse_kid;
	ch->auth_stage = vc->auth_stage;
	memcpy(ch->auth_r1, vc->auth_r1, sizeof(ch->auth_r1));
	memcpy(ch->auth_r2, vc->auth_r2, sizeof(ch->auth_r2));
	ch->chaining = vc->chaining;
	ch->chain_ins = vc->chain_ins;
	ch->chain_p1 = vc->chain_p1;
	ch->chain_p2 = vc->chain_p2;
	ch->chain = vc->chain;
	ch->pend = vc->pend;
	ch->pend_len = vc->pend_len;
	ch->pend_pos = vc->pend_pos;
}

static void
chan_load(struct vcard *vc, const struct vc_chan *ch)
{
	vc->cur_fid = ch->cur_fid;
	vc->mse = ch->mse;
	vc->mse_alg = ch->mse_alg;
	vc->mse_kid = ch->mse_kid;
	vc->auth_stage = ch->auth_stage;
	memcpy(vc->auth_r1, ch->auth_r1, sizeof(vc->auth_r1));
	memcpy(vc->auth_r2, ch->auth_r2, sizeof(vc->auth_r2));
	vc->chaining = ch->chaining;
	vc->chain_ins = ch->chain_ins;
	vc->chain_p1 = ch->chain_p1;
	vc->chain_p2 = ch->chain_p2;
	vc->chain = ch->chain;
	vc->pend = ch->pend;
	vc->pend_len = ch->pend_len;
	vc->pend_pos = ch->pend_pos;
}

/* A channel as a reset leaves one: the application selected, nothing else. */
static void
chan_open(struct vc_chan *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->open = true;
	ch->cur_fid = 0x3FFF;
	ch->mse = VC_MSE_NONE;
	buf_init_secret(&ch->chain);
}

static void
chan_close(struct vc_chan *ch)
{
	/* (its kept signing context goes with the next signature or vc_drop_secrets) */
	if (!ch->open)
		return;
	buf_free(&ch->chain);
	mdp_secure_free(ch->pend, ch->pend_len);
	mdp_wipe(ch, sizeof(*ch));
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

static enum mdp_err
check_params(const struct vcard_init_params *p)
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

/*
 * A blank card (params NULL, creation state, card key kept in clear until
 * the application is activated) or the card gids-tool --initialize leaves.
 */
static enum mdp_err
build_state(struct vc_state *out, const struct vcard_init_params *params, uint8_t kdf_cost)
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
	struct vc_state st;
	struct vc_file *f = NULL;
	uint8_t ck[VC_CK_LEN], kek[VC_CK_LEN], mf[141], serial[16];
	const uint8_t *sp;
	size_t sl, i;
	enum mdp_err err;

	memset(&st, 0, sizeof(st));
	if (params && params->type == VCARD_TYPE_PIV)
		return vc_piv_build_state(out, params, kdf_cost);
	if (params && params->type != VCARD_TYPE_GIDS)
		return mdp_err_reason(MDP_ERR_ARGS, "unknown card type %d", (int)params->type);
	if (params) {
		err = check_params(params);
		if (err)
			return err;
	}
	st.kdf_cost = kdf_cost;
	st.pin_max = params && params->pin_tries ? (uint8_t)params->pin_tries : VC_DEFAULT_TRIES;
	st.pin_left = st.pin_max;
	if (RAND_bytes(st.uuid, VC_UUID_LEN) != 1 || RAND_bytes(ck, VC_CK_LEN) != 1) {
		err = MDP_ERR_CRYPTO;
		goto out;
	}
	if (!params) {
		st.app_lcs = VC_LCS_CREATION;
		st.has_ck_clear = true;
		memcpy(st.ck_clear, ck, VC_CK_LEN);
		*out = st;
		memset(&st, 0, sizeof(st));
		err = MDP_OK;
		goto out;
	}
	st.app_lcs = VC_LCS_OPERATIONAL;
	for (i = 0; i < 6; i++) {
		uint8_t acl[3] = {0x03, efs[i].put, efs[i].get};

		err = vc_add_file(&st, efs[i].fid, VC_DESC_EF, acl, sizeof(acl), &f);
		if (err)
			goto out;
	}
	err = vc_add_file(&st, 0xB080, VC_DESC_KEY, admin_acl, sizeof(admin_acl), &f);
	if (err)
		goto out;
	f->crt = mdp_memdup(admin_crt, sizeof(admin_crt));
	f->sym = mdp_memdup(params->admin_key, VCARD_ADMIN_KEY_LEN);
	if (!f->crt || !f->sym) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	f->crt_len = sizeof(admin_crt);
	f->sym_len = VCARD_ADMIN_KEY_LEN;
	f->key_type = VC_KEY_SYM;
	f->alg = 0x02;

	masterfile(mf);
	if (params->serial) {
		sp = params->serial;
		sl = params->serial_len;
	} else {
		if (RAND_bytes(serial, sizeof(serial)) != 1) {
			err = MDP_ERR_CRYPTO;
			goto out;
		}
		sp = serial;
		sl = sizeof(serial);
	}
	if ((err = add_do(vc_find_file(&st, 0xA000), 0xDF1F, mf, sizeof(mf))) ||
	    (err = add_do(vc_find_file(&st, 0xA010), 0xDF21, cardapps, sizeof(cardapps))) ||
	    (err = add_do(vc_find_file(&st, 0xA010), 0xDF22, cardcf, sizeof(cardcf))) ||
	    (err = add_do(vc_find_file(&st, 0xA010), 0xDF23, NULL, 0)) ||
	    (err = add_do(vc_find_file(&st, 0xA012), 0xDF20, sp, sl)))
		goto out;

	st.pin_set = true;
	st.pin_len = (uint8_t)strlen(params->pin);
	if (RAND_bytes(st.pin_salt, VC_SALT_LEN) != 1) {
		err = MDP_ERR_CRYPTO;
		goto out;
	}
	err = vc_pin_key(&st, (const uint8_t *)params->pin, st.pin_len, st.pin_salt, kek);
	if (!err)
		err = vc_wrap_ck(&st, kek, "pin", ck, st.wrap_pin);
	if (!err)
		err = vc_admin_wrap_key(&st, params->admin_key, VCARD_ADMIN_KEY_LEN, kek);
	if (!err)
		err = vc_wrap_ck(&st, kek, "admin", ck, st.wrap_admin);
	if (err)
		goto out;
	st.has_wrap_admin = true;
	*out = st;
	memset(&st, 0, sizeof(st));
	err = MDP_OK;
out:
	vc_state_free(&st);
	mdp_wipe(ck, sizeof(ck));
	mdp_wipe(kek, sizeof(kek));
	return err;
}

static enum mdp_err
kdf_cost_from_env(uint8_t *cost)
{
	const char *s = getenv("MDP11_VCARD_KDF_COST");
	char *end = NULL;
	long v;

	*cost = VC_KDF_DEFAULT_COST;
	if (!s || !*s)
		return MDP_OK;
	v = strtol(s, &end, 10);
	if (*end || v < 1 || v > 20)
		return mdp_err_reason(MDP_ERR_CONFIG,
				      "MDP11_VCARD_KDF_COST must be 1..20 (log2 of scrypt N)");
	*cost = (uint8_t)v;
	return MDP_OK;
}

/* ---- public API ---- */

enum mdp_err
vcard_create(const char *path, const struct vcard_init_params *params)
{
	struct vc_state st;
	uint8_t cost;
	enum mdp_err err;

	if (!path)
		return mdp_err_reason(MDP_ERR_ARGS, "vcard_create needs a path");
	if (params && params->type == VCARD_TYPE_PIV)
		return mdp_err_reason(MDP_ERR_UNSUPPORTED,
				      "a PIV card is in memory only for now (its state file comes "
				      "with the sealed state format)");
	if (access(path, F_OK) == 0)
		return mdp_err_reason(MDP_ERR_EXISTS, "%s already exists", path);
	err = kdf_cost_from_env(&cost);
	if (err)
		return err;
	err = build_state(&st, params, cost);
	if (err)
		return err;
	err = vc_write_new(path, &st);
	vc_state_free(&st);
	return err;
}

static struct vcard *
vcard_alloc(void)
{
	struct vcard *vc = calloc(1, sizeof(*vc));

	if (!vc)
		return NULL;
	pthread_mutex_init(&vc->mu, NULL);
	vc->lock_fd = -1;
	vc->cur_fid = 0x3FFF;
	buf_init_secret(&vc->chain);
	memcpy(vc->atr, default_atr, sizeof(default_atr));
	vc->atr_len = sizeof(default_atr);
	return vc;
}

/* What the card's type sets in a new handle: the ATR. */
static void
type_defaults(struct vcard *vc)
{
	if (vc->st.type == VCARD_TYPE_PIV) {
		memcpy(vc->atr, vc_piv_atr, sizeof(vc_piv_atr));
		vc->atr_len = sizeof(vc_piv_atr);
	}
}

enum mdp_err
vcard_open(const char *path, const struct vcard_init_params *params, struct vcard **out)
{
	struct vcard *vc = NULL;
	enum mdp_err err;
	size_t n;

	if (!out)
		return MDP_ERR_ARGS;
	vc = vcard_alloc();
	if (!vc)
		return MDP_ERR_NOMEM;
	if (!path) {
		err = build_state(&vc->st, params, VC_KDF_MEMORY_COST);
		if (err)
			goto out;
		if (vc->st.has_ck_clear) {
			memcpy(vc->ck, vc->st.ck_clear, VC_CK_LEN);
			vc->ck_ok = true;
		}
		/* A card that is never written: its device key lives and dies with it. */
		if (RAND_bytes(vc->dk, VC_CK_LEN) != 1) {
			err = MDP_ERR_CRYPTO;
			goto out;
		}
		vc->dk_ok = true;
		type_defaults(vc);
		*out = vc;
		return MDP_OK;
	}
	n = strlen(path);
	vc->path = strdup(path);
	vc->lock_path = malloc(n + 6);
	if (!vc->path || !vc->lock_path) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	memcpy(vc->lock_path, path, n);
	memcpy(vc->lock_path + n, ".lock", 6);
	err = vc_load(vc);
	if (err)
		goto out;
	type_defaults(vc);
	*out = vc;
	return MDP_OK;
out:
	vcard_free(vc);
	return err;
}

void
vcard_free(struct vcard *vc)
{
	size_t i;

	if (!vc)
		return;
	vc_drop_secrets(vc);
	vc_state_free(&vc->st);
	buf_free(&vc->chain);
	pend_clear(vc);
	for (i = 1; i < VC_CHANNELS; i++)
		chan_close(&vc->chans[i]);
	vc_job_clear(&vc->job);
	if (vc->lock_fd >= 0)
		close(vc->lock_fd);
	free(vc->path);
	free(vc->lock_path);
	pthread_mutex_destroy(&vc->mu);
	mdp_wipe(vc, sizeof(*vc));
	free(vc);
}

static enum mdp_err
lock_locked(struct vcard *vc)
{
	enum mdp_err err;

	if (!vc->path)
		return MDP_OK;
	if (vc->held == 0) {
		err = vc_lock(vc);
		if (err)
			return err;
	}
	vc->held++;
	return MDP_OK;
}

enum mdp_err
vcard_lock(struct vcard *vc)
{
	enum mdp_err err;

	if (!vc)
		return MDP_ERR_ARGS;
	pthread_mutex_lock(&vc->mu);
	err = lock_locked(vc);
	pthread_mutex_unlock(&vc->mu);
	return err;
}

void
vcard_unlock(struct vcard *vc)
{
	if (!vc)
		return;
	pthread_mutex_lock(&vc->mu);
	if (vc->path && vc->held > 0 && --vc->held == 0)
		vc_unlock(vc);
	pthread_mutex_unlock(&vc->mu);
}

enum mdp_err
vcard_changes(struct vcard *vc, bool check, struct vcard_changes *out)
{
	enum mdp_err err = MDP_OK;

	if (!vc || !out)
		return MDP_ERR_ARGS;
	pthread_mutex_lock(&vc->mu);
	if (check)
		err = vc_refresh(vc);
	out->commits = vc->commits;
	out->reloads = vc->reloads;
	pthread_mutex_unlock(&vc->mu);
	return err;
}

void
vcard_reset(struct vcard *vc)
{
	size_t i;

	if (!vc)
		return;
	pthread_mutex_lock(&vc->mu);
	chain_abort(vc);
	pend_clear(vc);
	vc_logout(vc);
	vc->cur_fid = 0x3FFF;
	for (i = 1; i < VC_CHANNELS; i++)
		chan_close(&vc->chans[i]);
	vc->resets++;
	pthread_mutex_unlock(&vc->mu);
}

uint64_t
vcard_resets(struct vcard *vc)
{
	uint64_t n;

	if (!vc)
		return 0;
	pthread_mutex_lock(&vc->mu);
	n = vc->resets;
	pthread_mutex_unlock(&vc->mu);
	return n;
}

size_t
vcard_atr(const struct vcard *vc, uint8_t *atr, size_t cap)
{
	if (!vc || !atr || cap < vc->atr_len)
		return 0;
	memcpy(atr, vc->atr, vc->atr_len);
	return vc->atr_len;
}

enum mdp_err
vcard_set_atr(struct vcard *vc, const uint8_t *atr, size_t len)
{
	if (!vc || !atr || len < 2 || len > sizeof(vc->atr))
		return mdp_err_reason(MDP_ERR_ARGS, "an ATR has 2 to 33 bytes");
	memcpy(vc->atr, atr, len);
	vc->atr_len = len;
	return MDP_OK;
}

static enum mdp_err
get_info_locked(struct vcard *vc, struct vcard_info *info)
{
	struct vcard_info r;
	struct vc_file *f;
	enum mdp_err err;
	size_t i;

	err = vc_refresh(vc);
	if (err)
		return err;
	memset(&r, 0, sizeof(r));
	if (vc->st.type == VCARD_TYPE_PIV) {
		vc_piv_info(vc, info);
		return MDP_OK;
	}
	r.initialized = vc->st.app_lcs == VC_LCS_OPERATIONAL;
	r.pin_tries_left = vc->st.pin_left;
	r.pin_tries_max = vc->st.pin_max;
	r.format_version = VC_FORMAT_VERSION;
	r.kdf_cost = vc->st.kdf_cost;
	f = vc_find_file(&vc->st, 0xA012);
	for (i = 0; f && i < f->n_dos; i++) {
		if (f->dos[i].tag == 0xDF20 && f->dos[i].len <= sizeof(r.cardid)) {
			memcpy(r.cardid, f->dos[i].val, f->dos[i].len);
			r.cardid_len = f->dos[i].len;
		}
	}
	for (i = 0; i < vc->st.n_files; i++) {
		f = &vc->st.files[i];
		if (f->desc == VC_DESC_KEY && f->fid != 0xB080)
			r.key_files++;
		if (f->desc == VC_DESC_EF)
			r.data_objects += (unsigned)f->n_dos;
	}
	*info = r;
	return MDP_OK;
}

enum mdp_err
vcard_get_info(struct vcard *vc, struct vcard_info *info)
{
	enum mdp_err err;

	if (!vc || !info)
		return MDP_ERR_ARGS;
	pthread_mutex_lock(&vc->mu);
	err = get_info_locked(vc, info);
	pthread_mutex_unlock(&vc->mu);
	return err;
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

static uint16_t
cmd_select(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
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

static uint16_t
cmd_get_data(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
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

static uint16_t
cmd_put_data(struct vcard *vc, const struct vc_cmd *c)
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

static uint16_t
cmd_create(struct vcard *vc, const struct vc_cmd *c)
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

static uint16_t
cmd_activate(struct vcard *vc, const struct vc_cmd *c)
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
		 * card key is no longer kept in clear once a PIN protects it.
		 */
		vc->st.app_lcs = VC_LCS_OPERATIONAL;
		if (vc->st.pin_set) {
			vc->st.has_ck_clear = false;
			mdp_wipe(vc->st.ck_clear, VC_CK_LEN);
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

static uint16_t
cmd_delete(struct vcard *vc, const struct vc_cmd *c)
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

static uint16_t
cmd_verify(struct vcard *vc, const struct vc_cmd *c)
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

static uint16_t
cmd_change_ref(struct vcard *vc, const struct vc_cmd *c)
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

static uint16_t
cmd_reset_retry(struct vcard *vc, const struct vc_cmd *c)
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

/* ---- framing ---- */

static bool
mutating(uint8_t ins)
{
	switch (ins) {
	case 0x20: /* VERIFY: retry counter */
	case 0x24:
	case 0x2C:
	case 0x44:
	case 0x47:
	case 0xDB:
	case 0xE0:
	case 0xE4:
		return true;
	default:
		return false;
	}
}

static bool
chainable(uint8_t ins)
{
	return ins == 0xDB || ins == 0x2A || ins == 0x87;
}

static uint16_t
dispatch(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out)
{
	switch (c->ins) {
	case 0xA4:
		return cmd_select(vc, c, out);
	case 0xCB:
		return cmd_get_data(vc, c, out);
	case 0xDB:
		return cmd_put_data(vc, c);
	case 0xE0:
		return cmd_create(vc, c);
	case 0x44:
		return cmd_activate(vc, c);
	case 0xE4:
		return cmd_delete(vc, c);
	case 0x20:
		return cmd_verify(vc, c);
	case 0x24:
		return cmd_change_ref(vc, c);
	case 0x2C:
		return cmd_reset_retry(vc, c);
	case 0x22:
		return vc_cmd_mse(vc, c);
	case 0x87:
		if (vc->mse == VC_MSE_AGREE)
			return vc_cmd_ecdh(vc, c, out);
		return vc_admin_auth(vc, c, out);
	case 0x47:
		return vc_cmd_generate(vc, c, out);
	case 0x2A:
		return vc_cmd_pso(vc, c, out);
	default:
		return SW_INS_UNSUPPORTED;
	}
}

static const struct vc_applet gids_applet = {
	.dispatch = dispatch,
	.chainable = chainable,
	.mutating = mutating,
	.max_data = VC_MAX_CHAIN,
	.extended = false,
	.ne_absent = 0, /* §3: 61xx, the data waits for GET RESPONSE */
};

static const struct vc_applet *
applet_of(const struct vcard *vc)
{
	return vc->st.type == VCARD_TYPE_PIV ? &vc_piv_applet : &gids_applet;
}

/*
 * Lc, data and Le of a command. Short APDUs always; extended ones (B1 = 00) only where the card
 * edge takes them. An Le above 256 counts as 256: one response never carries more (the rest waits
 * for GET RESPONSE). False: wrong length.
 */
static bool
parse_lengths(const struct vc_applet *app, const uint8_t *apdu, size_t len, struct vc_cmd *c)
{
	size_t n;

	if (len == 4)
		return true;
	if (len == 5) {
		c->has_le = true;
		c->ne = apdu[4] ? apdu[4] : 256;
		return true;
	}
	if (apdu[4] != 0x00) {
		c->lc = apdu[4];
		c->data = apdu + 5;
		if (len != 5 + c->lc && len != 6 + c->lc)
			return false;
		if (len == 6 + c->lc) {
			c->has_le = true;
			c->ne = apdu[len - 1] ? apdu[len - 1] : 256;
		}
		return true;
	}
	/* Lc 00: extended length (GIDS §3 offers short APDUs only) */
	if (!app->extended || len < 7)
		return false;
	n = (size_t)apdu[5] << 8 | apdu[6];
	if (len == 7) {
		c->has_le = true;
		c->ne = 256;
		return true;
	}
	if (n == 0)
		return false;
	c->lc = n;
	c->data = apdu + 7;
	if (len == 7 + n)
		return true;
	if (len != 9 + n)
		return false;
	c->has_le = true;
	n = (size_t)apdu[len - 2] << 8 | apdu[len - 1];
	c->ne = n && n < 256 ? n : 256;
	return true;
}

/* Copy up to ne pending bytes into resp, with 61xx while more remain. */
static size_t
emit(struct vcard *vc, size_t ne, uint8_t *resp, uint16_t *sw)
{
	size_t left = vc->pend_len - vc->pend_pos;
	size_t n = left < ne ? left : ne;

	memcpy(resp, vc->pend + vc->pend_pos, n);
	vc->pend_pos += n;
	left -= n;
	if (left) {
		*sw = (uint16_t)(0x6100 | (left > 255 ? 0 : left));
	} else {
		*sw = SW_OK;
		pend_clear(vc);
	}
	return n;
}

/* Parse the APDU, handle chaining, run the command; returns the data length in resp. */
static size_t
process_cmd(struct vcard *vc, const uint8_t *apdu, size_t len, uint8_t *resp, uint16_t *sw)
{
	const struct vc_applet *app = applet_of(vc);
	struct vc_cmd c;
	struct mdp_buf out;
	enum mdp_err err;
	bool chained, locked = false;
	size_t n = 0;

	memset(&c, 0, sizeof(c));
	buf_init_secret(&out);
	if (len < 4) {
		*sw = SW_WRONG_LENGTH;
		return 0;
	}
	c.cla = apdu[0];
	c.ins = apdu[1];
	c.p1 = apdu[2];
	c.p2 = apdu[3];
	if (!parse_lengths(app, apdu, len, &c)) {
		*sw = SW_WRONG_LENGTH;
		return 0;
	}
	if (c.cla & 0xE0) {
		*sw = SW_CLA_UNSUPPORTED;
		return 0;
	}
	if (c.cla & 0x0C) {
		*sw = SW_SM_UNSUPPORTED;
		return 0;
	}
	chained = (c.cla & 0x10) != 0;

	if (c.ins == 0xC0 && !vc->chaining) {
		if (c.p1 || c.p2) {
			*sw = SW_WRONG_P1P2;
			return 0;
		}
		if (!vc->pend) {
			*sw = SW_CONDITIONS;
			return 0;
		}
		return emit(vc, c.has_le ? c.ne : 256, resp, sw);
	}
	pend_clear(vc);

	if (vc->chaining &&
	    (c.ins != vc->chain_ins || c.p1 != vc->chain_p1 || c.p2 != vc->chain_p2)) {
		chain_abort(vc);
		*sw = SW_CHAIN_BROKEN;
		return 0;
	}
	if (chained) {
		if (!app->chainable(c.ins)) {
			chain_abort(vc);
			*sw = SW_CHAIN_UNSUPPORTED;
			return 0;
		}
		if (vc->chain.len + c.lc > app->max_data) {
			chain_abort(vc);
			*sw = SW_NO_MEMORY;
			return 0;
		}
		vc->chaining = true;
		vc->chain_ins = c.ins;
		vc->chain_p1 = c.p1;
		vc->chain_p2 = c.p2;
		buf_put_bytes(&vc->chain, c.data, c.lc);
		if (vc->chain.bad) {
			chain_abort(vc);
			*sw = SW_MEMORY_FAILURE;
			return 0;
		}
		*sw = SW_OK;
		return 0;
	}
	if (vc->chaining) {
		if (vc->chain.len + c.lc > app->max_data) {
			chain_abort(vc);
			*sw = SW_NO_MEMORY;
			return 0;
		}
		buf_put_bytes(&vc->chain, c.data, c.lc);
		if (vc->chain.bad) {
			chain_abort(vc);
			*sw = SW_MEMORY_FAILURE;
			return 0;
		}
		c.data = vc->chain.data;
		c.lc = vc->chain.len;
	} else if (c.lc > app->max_data) {
		*sw = SW_NO_MEMORY;
		return 0;
	}

	/* Work on the freshest state; changes are made under the file lock. */
	vc->io_err = MDP_OK;
	if (vc->path && app->mutating(c.ins) && !vc->locked) {
		err = vc_lock(vc);
		if (err) {
			vc->io_err = err;
			*sw = SW_MEMORY_FAILURE;
			goto out;
		}
		locked = true;
	}
	err = vc_refresh(vc);
	if (err) {
		log_error("card state unavailable: %s", mdp_err_last());
		vc->io_err = err;
		*sw = SW_MEMORY_FAILURE;
		goto out;
	}
	vc->dirty = false;
	*sw = app->dispatch(vc, &c, &out);
	if (vc->dirty && *sw != SW_MEMORY_FAILURE) {
		if (vc_commit(vc))
			*sw = SW_MEMORY_FAILURE;
	}
	if (*sw == SW_MEMORY_FAILURE && vc->path) {
		/* Roll back to what the file holds: the previous state. */
		vc->seen.valid = false;
		if (vc_refresh(vc) != MDP_OK)
			log_error("cannot reload the card state: %s", mdp_err_last());
		vc->dirty = false;
	}
	if (*sw == SW_OK && out.len) {
		if (out.bad) {
			*sw = SW_MEMORY_FAILURE;
			goto out;
		}
		vc->pend = buf_steal(&out, &vc->pend_len);
		vc->pend_pos = 0;
		/* No Le: GIDS keeps the data for GET RESPONSE (§3), PIV sends it (piv.md §3). */
		n = emit(vc, c.has_le ? c.ne : app->ne_absent, resp, sw);
	}
out:
	if (locked)
		vc_unlock(vc);
	if (vc->chaining)
		chain_abort(vc);
	buf_free(&out);
	return n;
}

#define SW_CHANNEL_UNSUPPORTED 0x6881

/*
 * MANAGE CHANNEL: 00 70 00 00 opens the lowest free channel (1..3) and answers its number;
 * 00 70 80 0X closes channel X (from any channel; P2 00: the command's own channel). The basic
 * channel 0 is always open and cannot be closed.
 */
static size_t
manage_channel(struct vcard *vc, const uint8_t *apdu, size_t len, unsigned chan, uint8_t *resp,
	       uint16_t *sw)
{
	unsigned i, target;

	if (len != 4 && len != 5) {
		*sw = SW_WRONG_LENGTH;
		return 0;
	}
	if (apdu[2] == 0x00 && apdu[3] == 0x00) {
		for (i = 1; i < VC_CHANNELS; i++) {
			if (!vc->chans[i].open) {
				chan_open(&vc->chans[i]);
				resp[0] = (uint8_t)i;
				*sw = SW_OK;
				return 1;
			}
		}
		*sw = SW_CHANNEL_UNSUPPORTED;
		return 0;
	}
	if (apdu[2] == 0x80 && apdu[3] < VC_CHANNELS) {
		target = apdu[3] ? apdu[3] : chan;
		if (target == 0 || !vc->chans[target].open) {
			*sw = SW_CHANNEL_UNSUPPORTED;
			return 0;
		}
		chan_close(&vc->chans[target]);
		*sw = SW_OK;
		return 0;
	}
	*sw = SW_WRONG_P1P2;
	return 0;
}

/* The command's channel (CLA bits 0-1): its registers swapped in around the command. */
static size_t
process(struct vcard *vc, const uint8_t *apdu, size_t len, uint8_t *resp, uint16_t *sw)
{
	struct vc_chan base;
	unsigned chan;
	size_t n;

	if (len < 4 || (apdu[0] & 0xE0))
		return process_cmd(vc, apdu, len, resp, sw);
	chan = apdu[0] & 0x03;
	if (chan && !vc->chans[chan].open) {
		*sw = SW_CHANNEL_UNSUPPORTED;
		return 0;
	}
	if (apdu[1] == 0x70 && !(apdu[0] & 0x1C))
		return manage_channel(vc, apdu, len, chan, resp, sw);
	vc->cur_chan = chan;
	if (!chan)
		return process_cmd(vc, apdu, len, resp, sw);
	chan_save(vc, &base);
	chan_load(vc, &vc->chans[chan]);
	n = process_cmd(vc, apdu, len, resp, sw);
	chan_save(vc, &vc->chans[chan]);
	chan_load(vc, &base);
	return n;
}

/*
 * Keep the job's signing context for the channel's next signature with the same key, unless the
 * card forgot its secrets (logout, reset) or the channel meanwhile.
 */
static void
keep_context(struct vcard *vc, struct vc_job *job)
{
	unsigned ch = job->chan;

	if (!job->ctx)
		return;
	pthread_mutex_lock(&vc->mu);
	if (vc->secrets == job->secrets && vc->resets == job->resets &&
	    (ch == 0 || vc->chans[ch].open) && !vc->sctx[ch].ctx) {
		vc->sctx[ch].ctx = job->ctx;
		vc->sctx[ch].pkey = job->pkey;
		vc->sctx[ch].ec = job->ec;
		vc->sctx[ch].pad = job->pad;
		job->ctx = NULL;
		job->pkey = NULL;
	}
	pthread_mutex_unlock(&vc->mu);
}

/* The rest of a deferred answer waits for GET RESPONSE on its channel (if it is still open). */
static uint16_t
defer_pending(struct vcard *vc, const struct vc_job *job, struct mdp_buf *out, size_t sent)
{
	struct vc_chan ch;
	size_t left = out->len - sent;
	uint16_t sw = SW_CONDITIONS;

	pthread_mutex_lock(&vc->mu);
	if (vc->resets == job->resets && (job->chan == 0 || vc->chans[job->chan].open)) {
		if (job->chan == 0) {
			pend_clear(vc);
			vc->pend = buf_steal(out, &vc->pend_len);
			vc->pend_pos = sent;
		} else {
			/* outside a command channel 0's registers are in place: swap as process
			 * does */
			chan_save(vc, &ch);
			chan_load(vc, &vc->chans[job->chan]);
			pend_clear(vc);
			vc->pend = buf_steal(out, &vc->pend_len);
			vc->pend_pos = sent;
			chan_save(vc, &vc->chans[job->chan]);
			chan_load(vc, &ch);
		}
		sw = (uint16_t)(0x6100 | (left > 255 ? 0 : left));
	}
	pthread_mutex_unlock(&vc->mu);
	return sw;
}

static enum mdp_err
transmit(struct vcard *vc, const uint64_t *since, const uint8_t *apdu, size_t apdu_len,
	 uint8_t *resp, size_t *resp_len)
{
	struct vc_job job;
	struct mdp_buf out;
	enum mdp_err err = MDP_OK;
	uint16_t sw = SW_OK;
	size_t n;

	if (!vc || !apdu || !resp || !resp_len)
		return MDP_ERR_ARGS;
	pthread_mutex_lock(&vc->mu);
	if (since && *since != vc->resets) {
		pthread_mutex_unlock(&vc->mu);
		return mdp_err_reason(MDP_ERR_CARD_RESET, "the card was reset: channel closed");
	}
	vc->defer_ok = true;
	n = process(vc, apdu, apdu_len, resp, &sw);
	vc->defer_ok = false;
	if (sw == SW_MEMORY_FAILURE && vc->io_err != MDP_OK)
		err = vc->io_err;
	job = vc->job;
	memset(&vc->job, 0, sizeof(vc->job));
	pthread_mutex_unlock(&vc->mu);
	if (sw == SW_DEFERRED) {
		/* Checked and accepted under the lock; the private-key work runs without it. */
		buf_init_secret(&out);
		sw = vc_job_run(&job, &out);
		n = 0;
		if (sw == SW_OK && out.bad)
			sw = SW_MEMORY_FAILURE;
		if (sw == SW_OK) {
			n = out.len < job.ne ? out.len : job.ne;
			memcpy(resp, out.data, n);
			if (out.len > n)
				sw = defer_pending(vc, &job, &out, n);
		}
		buf_free(&out);
		keep_context(vc, &job);
	}
	vc_job_clear(&job);
	/* Header and status only: the data field may hold a PIN or key material. */
	if (apdu_len >= 4)
		log_debug("%02X %02X %02X %02X (%zu bytes) -> %zu bytes %04X", apdu[0], apdu[1],
			  apdu[2], apdu[3], apdu_len, n, sw);
	resp[n] = (uint8_t)(sw >> 8);
	resp[n + 1] = (uint8_t)sw;
	*resp_len = n + 2;
	return err;
}

enum mdp_err
vcard_transmit(struct vcard *vc, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
	       size_t *resp_len)
{
	return transmit(vc, NULL, apdu, apdu_len, resp, resp_len);
}

enum mdp_err
vcard_transmit_since(struct vcard *vc, uint64_t resets, const uint8_t *apdu, size_t apdu_len,
		     uint8_t *resp, size_t *resp_len)
{
	return transmit(vc, &resets, apdu, apdu_len, resp, resp_len);
}
