/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The virtual card: public API, APDU framing and dispatch to the card edge of the card's type
 * (GIDS here and in vcard-fs.c, vcard-auth.c, vcard-keys.c; PIV in piv.c, piv-keys.c), logical
 * channels, transmit.
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

static const uint8_t default_atr[5] = {0x3B, 0x80, 0x80, 0x01, 0x01};
static _Atomic bool notices = true;

void
vcard_set_notices(bool on)
{
	atomic_store(&notices, on);
}

void
vc_notice(bool *given, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (*given)
		return;
	*given = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s", msg);
	if (atomic_load(&notices))
		fprintf(stderr, "mdp11: %s\n", msg);
}

/* ---- helpers shared with the other files ---- */

static uint16_t
commit(struct vcard *vc, bool dir_sync)
{
	enum mdp_err err;

	vc->dirty = true;
	err = vc_save_sync(vc, dir_sync);
	if (err) {
		log_error("cannot save the card state: %s", mdp_err_last());
		vc->io_err = err;
		return SW_MEMORY_FAILURE;
	}
	return 0;
}

uint16_t
vc_commit(struct vcard *vc)
{
	return commit(vc, true);
}

uint16_t
vc_commit_lazy(struct vcard *vc)
{
	return commit(vc, false);
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

/* ---- public API ---- */

/* The KDF cost of a new card: params, else MDP11_VCARD_KDF_COST, else the default. */
static enum mdp_err
kdf_cost(const struct vcard_init_params *params, uint8_t def, uint8_t *cost)
{
	const char *s = getenv("MDP11_VCARD_KDF_COST");
	char *end = NULL;
	long v;

	*cost = def;
	if (params && params->kdf_cost) {
		if (params->kdf_cost > VC_KDF_MAX_COST)
			return mdp_err_reason(MDP_ERR_ARGS,
					      "the KDF cost must be 1..20 (log2 of scrypt N)");
		*cost = (uint8_t)params->kdf_cost;
		return MDP_OK;
	}
	if (!s || !*s)
		return MDP_OK;
	v = strtol(s, &end, 10);
	if (*end || v < 1 || v > VC_KDF_MAX_COST)
		return mdp_err_reason(MDP_ERR_CONFIG,
				      "MDP11_VCARD_KDF_COST must be 1..20 (log2 of scrypt N)");
	*cost = (uint8_t)v;
	return MDP_OK;
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
	vc_keep_new(&vc->keep, &vc->keep_token);
	return vc;
}

static enum mdp_err
check_type(const struct vcard_init_params *params)
{
	if (params && params->type != VCARD_TYPE_GIDS && params->type != VCARD_TYPE_PIV)
		return mdp_err_reason(MDP_ERR_ARGS, "unknown card type %d", (int)params->type);
	return MDP_OK;
}

enum mdp_err
vcard_create(const char *path, const struct vcard_init_params *params)
{
	struct vcard *vc = NULL;
	uint8_t key[VC_CK_LEN];
	char *created = NULL;
	enum mdp_err err;

	if (!path)
		return mdp_err_reason(MDP_ERR_ARGS, "vcard_create needs a path");
	if (access(path, F_OK) == 0)
		return mdp_err_reason(MDP_ERR_EXISTS, "%s already exists", path);
	err = check_type(params);
	if (!err && params && params->type == VCARD_TYPE_PIV)
		err = vc_piv_check_params(params);
	else if (!err && params && (params->pin || params->admin_key))
		err = vc_check_init_params(params);
	if (err)
		return err;
	vc = vcard_alloc();
	if (!vc)
		return MDP_ERR_NOMEM;
	vc->st.format = VC_FORMAT_V2;
	err = kdf_cost(params, VC_KDF_DEFAULT_COST, &vc->st.kdf_cost);
	if (!err && RAND_bytes(vc->st.uuid, VC_UUID_LEN) != 1)
		err = MDP_ERR_CRYPTO;
	if (!err)
		err = vc_seal_new(vc, params ? params->seal : NULL, path, key, &created);
	if (!err)
		err = vc_build_card(vc, params);
	if (!err)
		err = vc_write_new(path, &vc->st);
	if (err && created) {
		log_info("removing the key file %s made for the card", created);
		unlink(created);
	}
	free(created);
	mdp_wipe(key, sizeof(key));
	vcard_free(vc);
	return err;
}

/* A fresh in-memory card: sealed by a random secret of the handle, never written. */
static enum mdp_err
open_memory(struct vcard *vc, const struct vcard_init_params *params)
{
	enum mdp_err err;

	err = check_type(params);
	if (!err)
		err = kdf_cost(params, VC_KDF_MEMORY_COST, &vc->st.kdf_cost);
	if (err)
		return err;
	vc->st.format = VC_FORMAT_V2;
	vc->st.seal.kind = VC_SEAL_MEMORY;
	vc->st.seal.data = mdp_zalloc(VC_CK_LEN);
	if (!vc->st.seal.data)
		return MDP_ERR_NOMEM;
	vc->st.seal.data_len = VC_CK_LEN;
	if (RAND_bytes(vc->st.seal.data, VC_CK_LEN) != 1 ||
	    RAND_bytes(vc->st.uuid, VC_UUID_LEN) != 1)
		return MDP_ERR_CRYPTO;
	return vc_build_card(vc, params);
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
	const char *override;
	enum mdp_err err;
	size_t n;

	if (!out)
		return MDP_ERR_ARGS;
	vc = vcard_alloc();
	if (!vc)
		return MDP_ERR_NOMEM;
	if (!path) {
		err = open_memory(vc, params);
		if (err)
			goto out;
		type_defaults(vc);
		*out = vc;
		return MDP_OK;
	}
	override = params && params->seal ? params->seal : secure_getenv("MDP11_VCARD_SEAL");
	vc->override_env = !(params && params->seal);
	if (override && *override && !(vc->seal_override = strdup(override))) {
		err = MDP_ERR_NOMEM;
		goto out;
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
	free(vc->seal_override);
	vc_keep_free(vc->keep, vc->keep_token);
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

/* The seal in use and, when an override moves it, the one the file records. */
static void
seal_names(const struct vcard *vc, struct vcard_info *r)
{
	const char *rec = vc->st.seal.spec;

	switch (vc->st.seal.kind) {
	case VC_SEAL_NONE:
		snprintf(r->seal, sizeof(r->seal), "none");
		return;
	case VC_SEAL_MEMORY:
		snprintf(r->seal, sizeof(r->seal), "memory");
		return;
	default:
		break;
	}
	if (vc_seal_override_applies(vc) && strcmp(vc->seal_override, rec ? rec : "") != 0) {
		snprintf(r->seal, sizeof(r->seal), "%s", vc->seal_override);
		snprintf(r->seal_file, sizeof(r->seal_file), "%s", rec ? rec : "");
	} else {
		snprintf(r->seal, sizeof(r->seal), "%s", rec ? rec : "");
	}
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
		vc_piv_info(vc, &r);
		r.sealed = vc->st.seal.kind != VC_SEAL_NONE;
		seal_names(vc, &r);
		*info = r;
		return MDP_OK;
	}
	r.initialized = vc->st.app_lcs == VC_LCS_OPERATIONAL;
	r.pin_tries_left = vc->st.pin_left;
	r.pin_tries_max = vc->st.pin_max;
	r.format_version = vc->st.format;
	r.kdf_cost = vc->st.kdf_cost;
	r.type = (enum vcard_type)vc->st.type;
	r.sealed = vc->st.seal.kind != VC_SEAL_NONE;
	seal_names(vc, &r);
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
		return vc_cmd_select(vc, c, out);
	case 0xCB:
		return vc_cmd_get_data(vc, c, out);
	case 0xDB:
		return vc_cmd_put_data(vc, c);
	case 0xE0:
		return vc_cmd_create(vc, c);
	case 0x44:
		return vc_cmd_activate(vc, c);
	case 0xE4:
		return vc_cmd_delete(vc, c);
	case 0x20:
		return vc_cmd_verify(vc, c);
	case 0x24:
		return vc_cmd_change_ref(vc, c);
	case 0x2C:
		return vc_cmd_reset_retry(vc, c);
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
 * edge takes them, with Le 00 00 meaning 65536. The caller cuts Ne to what one response may carry
 * (the rest waits for GET RESPONSE). False: wrong length.
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
		c->ne = n ? n : 65536;
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
	c->ne = n ? n : 65536;
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
	/* an extended Le gets what the caller's buffer holds (vcard_transmit: 256, as before) */
	if (c.ne > vc->ne_max)
		c.ne = vc->ne_max;
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
	 uint8_t *resp, size_t cap, size_t *resp_len)
{
	struct vc_job job;
	struct mdp_buf out;
	enum mdp_err err = MDP_OK;
	uint16_t sw = SW_OK;
	size_t n;

	if (!vc || !apdu || !resp || !resp_len || cap < VCARD_MAX_RESPONSE)
		return MDP_ERR_ARGS;
	pthread_mutex_lock(&vc->mu);
	if (since && *since != vc->resets) {
		pthread_mutex_unlock(&vc->mu);
		return mdp_err_reason(MDP_ERR_CARD_RESET, "the card was reset: channel closed");
	}
	vc->defer_ok = true;
	vc->io_err = MDP_OK;
	vc->ne_max = (cap < VCARD_MAX_EXT_RESPONSE ? cap : VCARD_MAX_EXT_RESPONSE) - 2;
	n = process(vc, apdu, apdu_len, resp, &sw);
	vc->defer_ok = false;
	if (vc->io_err != MDP_OK)
		err = vc->io_err; /* a failed save (6581) or a missing seal (6985) */
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
	return transmit(vc, NULL, apdu, apdu_len, resp, VCARD_MAX_RESPONSE, resp_len);
}

enum mdp_err
vcard_transmit_cap(struct vcard *vc, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
		   size_t cap, size_t *resp_len)
{
	return transmit(vc, NULL, apdu, apdu_len, resp, cap, resp_len);
}

enum mdp_err
vcard_transmit_since(struct vcard *vc, uint64_t resets, const uint8_t *apdu, size_t apdu_len,
		     uint8_t *resp, size_t cap, size_t *resp_len)
{
	return transmit(vc, &resets, apdu, apdu_len, resp, cap, resp_len);
}
