/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The embedded transport: the virtual GIDS card running in this process. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MDP_LOG_AREA MDP_AREA_TRANSPORT
#include "common/log.h"
#include "common/secmem.h"
#include "transport/apdu.h"
#include "transport/transport.h"
#include "vcard/vcard.h"

/*
 * Transactions: the engine locks its state file around every change, which
 * makes each APDU atomic across processes. A transaction makes a multi-APDU
 * operation (a host's read-modify-write of cmapfile, say) atomic as well: it
 * takes a process-wide lock for that path (several transports in this
 * process may open the same state file), then holds the engine's file lock
 * until it ends, so that another process using the same file (a browser and
 * mdp11-tool, say) waits instead of interleaving its own changes.
 */
struct path_lock {
	struct path_lock *next;
	char *path;
	unsigned refs;
	pthread_mutex_t mutex;
};

static pthread_mutex_t locks_guard = PTHREAD_MUTEX_INITIALIZER;
static struct path_lock *locks;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/*
 * fork(): the child has one thread, copies of the parent's transports (their owners forget
 * them: the PKCS#11 module's fork handler does) and of this list, whose mutexes may be held by
 * threads of the parent that the child does not have: a new transport on the same file would
 * wait for them forever. The list is consistent (the forking thread holds its guard across
 * the fork); in the child every path mutex starts unlocked. The file lock itself (flock) is shared
 * with the parent, whose thread releases it for both.
 */
static void
atfork_prepare(void)
{
	pthread_mutex_lock(&locks_guard);
}

static void
atfork_parent(void)
{
	pthread_mutex_unlock(&locks_guard);
}

static void
atfork_child(void)
{
	struct path_lock *l;

	for (l = locks; l; l = l->next)
		pthread_mutex_init(&l->mutex, NULL);
	pthread_mutex_unlock(&locks_guard); /* the forking thread took it in prepare */
}

static void
register_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static struct path_lock *
path_lock_get(const char *path)
{
	struct path_lock *l;

	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&locks_guard);
	for (l = locks; l; l = l->next)
		if (strcmp(l->path, path) == 0)
			break;
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (l && !(l->path = strdup(path))) {
			free(l);
			l = NULL;
		}
		if (l) {
			pthread_mutex_init(&l->mutex, NULL);
			l->next = locks;
			locks = l;
		}
	}
	if (l)
		l->refs++;
	pthread_mutex_unlock(&locks_guard);
	return l;
}

static void
path_lock_put(struct path_lock *l)
{
	struct path_lock **pp;

	if (!l)
		return;
	pthread_mutex_lock(&locks_guard);
	if (--l->refs == 0) {
		for (pp = &locks; *pp; pp = &(*pp)->next) {
			if (*pp == l) {
				*pp = l->next;
				break;
			}
		}
		pthread_mutex_destroy(&l->mutex);
		free(l->path);
		free(l);
	}
	pthread_mutex_unlock(&locks_guard);
}

enum pending { EV_NONE, EV_RESET, EV_REMOVED };

struct embedded {
	struct vcard *vc;
	struct path_lock *lock; /* NULL for an in-memory card */
	bool locked;
	bool removed;
	enum pending pending;
	bool changed;
	uint64_t own;	 /* the card's commits made by commands of this transport */
	uint64_t events; /* simulated resets and removals (mdp_transport_embedded_event) */
	unsigned refs;	 /* the transport and its open channels (atomic) */
};

static void
emb_put(struct embedded *e)
{
	if (!e || __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (e->locked) {
		vcard_unlock(e->vc);
		pthread_mutex_unlock(&e->lock->mutex);
	}
	path_lock_put(e->lock);
	vcard_free(e->vc);
	free(e);
}

static enum mdp_err
emb_transmit(void *priv, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t *resp_len)
{
	struct embedded *e = priv;
	struct vcard_changes before, after;
	size_t n = 0;
	enum mdp_err rv;

	if (e->pending == EV_RESET) {
		e->pending = EV_NONE;
		return mdp_err_reason(MDP_ERR_CARD_RESET, "card was reset");
	}
	if (e->removed) {
		if (e->pending == EV_REMOVED) {
			e->pending = EV_NONE;
			return mdp_err_reason(MDP_ERR_CARD_REMOVED, "card removed");
		}
		return mdp_err_reason(MDP_ERR_NO_CARD, "no card");
	}
	if (*resp_len < VCARD_MAX_RESPONSE)
		return mdp_err_reason(MDP_ERR_ARGS, "response buffer too small");
	vcard_changes(e->vc, false, &before);
	/* an extended Le gets as much as the caller's buffer holds, as through a reader */
	rv = vcard_transmit_cap(e->vc, apdu, apdu_len, resp, *resp_len, &n);
	vcard_changes(e->vc, false, &after);
	e->own += after.commits - before.commits;
	if (rv != MDP_OK)
		return rv;
	*resp_len = n;
	return MDP_OK;
}

static enum mdp_err
emb_begin(void *priv)
{
	struct embedded *e = priv;

	enum mdp_err rv;

	if (e->lock) {
		pthread_mutex_lock(&e->lock->mutex);
		rv = vcard_lock(e->vc);
		if (rv != MDP_OK) {
			pthread_mutex_unlock(&e->lock->mutex);
			return rv;
		}
		e->locked = true;
	}
	/* a removed card is reported by transmit */
	return MDP_OK;
}

static enum mdp_err
emb_end(void *priv, enum mdp_disposition disp)
{
	struct embedded *e = priv;

	if (disp == MDP_RESET_CARD && !e->removed)
		vcard_reset(e->vc);
	if (e->locked) {
		e->locked = false;
		vcard_unlock(e->vc);
		pthread_mutex_unlock(&e->lock->mutex);
	}
	return MDP_OK;
}

static enum mdp_err
emb_reconnect(void *priv, enum mdp_disposition disp)
{
	struct embedded *e = priv;

	if (e->removed)
		return mdp_err_reason(MDP_ERR_NO_CARD, "no card");
	if (disp == MDP_RESET_CARD)
		vcard_reset(e->vc);
	if (e->pending == EV_RESET)
		e->pending = EV_NONE;
	return MDP_OK;
}

static enum mdp_err
emb_status(void *priv, struct mdp_transport_status *st)
{
	struct embedded *e = priv;

	st->present = !e->removed;
	st->changed = e->changed;
	e->changed = false;
	st->atr_len = e->removed ? 0 : vcard_atr(e->vc, st->atr, sizeof(st->atr));
	return MDP_OK;
}

/*
 * The mark: changes made by others (picked up from the state file, or made through the card
 * handle directly, as tests do), plus simulated events. One stat of the state file.
 */
static enum mdp_err
emb_mark(void *priv, uint64_t *mark)
{
	struct embedded *e = priv;
	struct vcard_changes c;
	enum mdp_err rv;

	if (e->removed)
		return mdp_err_reason(MDP_ERR_NO_CARD, "no card");
	rv = vcard_changes(e->vc, true, &c);
	if (rv != MDP_OK)
		return rv;
	*mark = c.reloads + (c.commits - e->own) + e->events;
	return MDP_OK;
}

static void
emb_free(void *priv)
{
	struct embedded *e = priv;

	if (!e)
		return;
	if (e->locked) {
		e->locked = false;
		vcard_unlock(e->vc);
		pthread_mutex_unlock(&e->lock->mutex);
	}
	emb_put(e);
}

static const struct mdp_transport_ops embedded_ops = {
	.kind = "embedded",
	.transmit = emb_transmit,
	.begin = emb_begin,
	.end = emb_end,
	.reconnect = emb_reconnect,
	.status = emb_status,
	.free = emb_free,
	.mark = emb_mark,
};

/*
 * A card file this process cannot read and write is refused at once, with the reason: the card
 * writes its file at every PIN check (the retry counter is saved first) and every change, as a
 * new file beside it, renamed over it, with a lock file there too. Accepting it would give a
 * token whose login fails later with a device error.
 */
static enum mdp_err
usable_card_file(const char *path)
{
	char *copy, *dir;
	int err = 0;

	if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) != 0) {
		if (errno == ENOENT)
			return MDP_OK; /* vcard_open says "no such card" */
		return mdp_err_reason(MDP_ERR_IO, "card file not readable: %s: %s", path,
				      strerror(errno));
	}
	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0)
		return mdp_err_reason(MDP_ERR_IO, "card file not writable: %s: %s", path,
				      strerror(errno));
	copy = strdup(path);
	if (!copy)
		return MDP_ERR_NOMEM;
	dir = dirname(copy);
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0)
		err = errno;
	if (err) {
		mdp_err_reason(MDP_ERR_IO, "card file not writable: %s: no new files in %s: %s",
			       path, dir, strerror(err));
		free(copy);
		return MDP_ERR_IO;
	}
	free(copy);
	return MDP_OK;
}

static enum mdp_err
embedded_make(const char *state_path, const struct vcard_init_params *params,
	      struct mdp_transport **out)
{
	struct embedded *e = NULL;
	char real[PATH_MAX];
	enum mdp_err rv;

	if (!out)
		return MDP_ERR_ARGS;
	e = calloc(1, sizeof(*e));
	if (!e)
		return MDP_ERR_NOMEM;
	e->refs = 1;
	rv = state_path ? usable_card_file(state_path) : MDP_OK;
	if (rv == MDP_OK)
		rv = vcard_open(state_path, params, &e->vc);
	if (rv != MDP_OK)
		goto out;
	if (state_path) {
		e->lock = path_lock_get(realpath(state_path, real) ? real : state_path);
		if (!e->lock) {
			rv = MDP_ERR_NOMEM;
			goto out;
		}
	}
	rv = mdp_transport_new(&embedded_ops, e, state_path ? state_path : "virtual card (memory)",
			       out);
	if (rv == MDP_OK)
		e = NULL;
out:
	emb_free(e);
	return rv;
}

enum mdp_err
mdp_transport_embedded_new(const char *state_path, const struct vcard_init_params *params,
			   struct mdp_transport **out)
{
	return embedded_make(state_path, state_path ? NULL : params, out);
}

enum mdp_err
mdp_transport_embedded_open(const char *state_path, const char *seal, struct mdp_transport **out)
{
	struct vcard_init_params p;

	if (!state_path)
		return MDP_ERR_ARGS;
	memset(&p, 0, sizeof(p));
	p.seal = seal;
	return embedded_make(state_path, &p, out);
}

struct vcard *
mdp_transport_embedded_vcard(struct mdp_transport *t)
{
	struct embedded *e = mdp_transport_priv(t, &embedded_ops);

	return e ? e->vc : NULL;
}

enum mdp_err
mdp_transport_embedded_event(struct mdp_transport *t, bool removed)
{
	struct embedded *e = mdp_transport_priv(t, &embedded_ops);

	if (!e)
		return MDP_ERR_ARGS;
	e->changed = true;
	e->events++;
	if (removed) {
		__atomic_store_n(&e->removed, true, __ATOMIC_RELEASE);
		e->pending = EV_REMOVED;
		return MDP_OK;
	}
	/* Reinsertion or a reset by someone else: power cycle, report once. */
	__atomic_store_n(&e->removed, false, __ATOMIC_RELEASE);
	vcard_reset(e->vc);
	e->pending = EV_RESET;
	return MDP_OK;
}

/* ---- logical channels ---- */

/*
 * A channel shares the card (and keeps it alive) but not the transport: its commands run beside
 * the transport's and other channels' (the engine serialises them and signs outside its lock).
 * It has no transactions: it carries commands that need none (MSE + PSO of a signature), and the
 * state file is not locked for them.
 */
struct emb_channel {
	struct embedded *e;
	uint8_t chan;
	uint64_t resets; /* the card's reset count when the channel was opened */
};

static enum mdp_err
chan_transmit(void *priv, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t *resp_len)
{
	struct emb_channel *c = priv;
	uint8_t short_cmd[5 + 255 + 1];
	uint8_t *cmd = short_cmd;
	size_t n = 0;
	enum mdp_err rv;

	if (__atomic_load_n(&c->e->removed, __ATOMIC_ACQUIRE))
		return mdp_err_reason(MDP_ERR_NO_CARD, "no card");
	if (apdu_len > MDP_APDU_EXT_MAX_COMMAND || apdu_len < 4)
		return mdp_err_reason(MDP_ERR_ARGS, "not an APDU");
	if (*resp_len < VCARD_MAX_RESPONSE)
		return mdp_err_reason(MDP_ERR_ARGS, "response buffer too small");
	/* a copy with the channel in CLA; an extended command does not fit on the stack */
	if (apdu_len > sizeof(short_cmd)) {
		cmd = malloc(apdu_len);
		if (!cmd)
			return MDP_ERR_NOMEM;
	}
	memcpy(cmd, apdu, apdu_len);
	cmd[0] = (uint8_t)((cmd[0] & ~0x03) | c->chan);
	rv = vcard_transmit_since(c->e->vc, c->resets, cmd, apdu_len, resp, *resp_len, &n);
	/* the data field may be the input of a signature */
	mdp_wipe(cmd, apdu_len);
	if (cmd != short_cmd)
		free(cmd);
	if (rv != MDP_OK)
		return rv;
	*resp_len = n;
	return MDP_OK;
}

static enum mdp_err
chan_status(void *priv, struct mdp_transport_status *st)
{
	struct emb_channel *c = priv;

	st->present = !__atomic_load_n(&c->e->removed, __ATOMIC_ACQUIRE);
	st->changed = false;
	st->atr_len = st->present ? vcard_atr(c->e->vc, st->atr, sizeof(st->atr)) : 0;
	return MDP_OK;
}

static void
chan_free(void *priv)
{
	struct emb_channel *c = priv;
	uint8_t cmd[4] = {0x00, 0x70, 0x80, 0x00}, resp[VCARD_MAX_RESPONSE];
	size_t n = 0;

	if (!c)
		return;
	/* MANAGE CHANNEL close, unless a reset closed it already (the number may be reused) */
	cmd[3] = c->chan;
	vcard_transmit_since(c->e->vc, c->resets, cmd, sizeof(cmd), resp, sizeof(resp), &n);
	emb_put(c->e);
	free(c);
}

static const struct mdp_transport_ops channel_ops = {
	.kind = "embedded-channel",
	.transmit = chan_transmit,
	.status = chan_status,
	.free = chan_free,
};

enum mdp_err
mdp_transport_embedded_channel(struct mdp_transport *t, struct mdp_transport **out)
{
	struct embedded *e = mdp_transport_priv(t, &embedded_ops);
	static const uint8_t open_cmd[5] = {0x00, 0x70, 0x00, 0x00, 0x01};
	struct emb_channel *c = NULL;
	uint8_t resp[VCARD_MAX_RESPONSE];
	size_t n = 0;
	uint64_t resets;
	enum mdp_err rv;
	char name[64];

	if (!e || !out)
		return mdp_err_reason(MDP_ERR_UNSUPPORTED, "not an embedded card");
	resets = vcard_resets(e->vc);
	rv = mdp_transport_transmit(t, open_cmd, sizeof(open_cmd), resp, sizeof(resp), &n);
	if (rv != MDP_OK)
		return rv;
	if (n != 3 || resp[1] != 0x90 || resp[2] != 0x00 || resp[0] == 0 || resp[0] > 3)
		return mdp_err_reason(MDP_ERR_BUSY, "no free logical channel");
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->e = e;
	c->chan = resp[0];
	c->resets = resets;
	__atomic_add_fetch(&e->refs, 1, __ATOMIC_ACQ_REL);
	snprintf(name, sizeof(name), "%s, channel %u", mdp_transport_name(t), c->chan);
	rv = mdp_transport_new(&channel_ops, c, name, out);
	if (rv != MDP_OK) {
		chan_free(c);
		return rv;
	}
	return MDP_OK;
fail : {
	uint8_t close_cmd[4] = {0x00, 0x70, 0x80, resp[0]};

	vcard_transmit_since(e->vc, resets, close_cmd, sizeof(close_cmd), resp, sizeof(resp), &n);
}
	return MDP_ERR_NOMEM;
}
