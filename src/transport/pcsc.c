/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PC/SC transport over pcsc-lite: connect, transactions, reset/removal recovery, reader
 * monitor. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#define MDP_LOG_AREA MDP_AREA_TRANSPORT
#include "common/log.h"
#include "transport/transport.h"

/*
 * Held transactions. A host reads cardcf at the start of each transaction to learn whether
 * another application changed the card (spec/minidriver.md §5.3); PC/SC reports nothing about
 * other applications' transactions, so that read would be needed before every PKCS#11 call.
 * Instead the PC/SC transaction outlives the end of ours by up to HOLD_MS of idleness: while
 * it is held nobody else can reach the card, the change mark stays the same, and the host
 * trusts what it read. A burst of calls (listing a token, logging in, signing) is then one
 * PC/SC transaction with one cardcf read. A helper thread ends a held transaction after
 * HOLD_MS without a call; a reset disposition ends it at once. Other applications wait at
 * most HOLD_MS longer than without holding.
 */
#define HOLD_MS 100

struct pcsc {
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	bool connected;
	DWORD proto;
	char *reader;
	bool in_transaction; /* the PC/SC transaction is ours (active or held) */
	bool active;	     /* between begin and end: never released under a caller */
	bool changed;
	bool lost;	/* the card went away: the next call reconnects or reports NO_CARD */
	uint64_t epoch; /* the change mark: moves whenever others may have had the card */
	struct timespec idle_since;
	/* every op and the releaser thread run under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t releaser;
	bool releaser_running;
	bool quit;
	pid_t pid; /* the process that made it */
};

/*
 * fork(): a child has copies of the parent's links, with the parent's PC/SC context and
 * handle, a mutex that the releaser thread (which the child does not have) may hold, and
 * perhaps the parent's held transaction. Such a copy is inert in the child: every operation
 * answers MDP_ERR_NO_SERVICE without touching its mutex or the parent's PC/SC handles, and
 * freeing it frees memory only. The child opens links of its own (the PKCS#11 module does so
 * at its C_Initialize), with a releaser thread of their own.
 */
static bool
forked_copy(const struct pcsc *p)
{
	if (p->pid == getpid())
		return false;
	mdp_err_reason(MDP_ERR_NO_SERVICE, "%s: a PC/SC link of the parent process (fork)",
		       p->reader);
	return true;
}

static enum mdp_err
map_rv(LONG rv)
{
	switch (rv) {
	case SCARD_S_SUCCESS:
		return MDP_OK;
	case SCARD_W_RESET_CARD:
		return MDP_ERR_CARD_RESET;
	case SCARD_W_REMOVED_CARD:
		return MDP_ERR_CARD_REMOVED;
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_UNPOWERED_CARD:
	case SCARD_W_UNRESPONSIVE_CARD:
		return MDP_ERR_NO_CARD;
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
	case SCARD_E_INVALID_HANDLE:
		return MDP_ERR_NO_SERVICE;
	case SCARD_E_UNKNOWN_READER:
	case SCARD_E_READER_UNAVAILABLE:
		return MDP_ERR_NOT_FOUND;
	case SCARD_E_NO_READERS_AVAILABLE:
		return MDP_ERR_NOT_FOUND;
	case SCARD_E_TIMEOUT:
		return MDP_ERR_TIMEOUT;
	case SCARD_E_CANCELLED:
		return MDP_ERR_BUSY;
	case SCARD_E_SHARING_VIOLATION:
		return MDP_ERR_BUSY;
	case SCARD_E_NO_MEMORY:
		return MDP_ERR_NOMEM;
	default:
		return MDP_ERR_TRANSPORT;
	}
}

static enum mdp_err
fail(const char *what, LONG rv)
{
	return mdp_err_reason(map_rv(rv), "%s: %s (0x%08lX)", what, pcsc_stringify_error(rv),
			      (unsigned long)rv);
}

static void
drop_handle(struct pcsc *p)
{
	if (p->connected)
		SCardDisconnect(p->h, SCARD_LEAVE_CARD);
	p->connected = false;
	p->in_transaction = false;
	p->epoch++;
}

static enum mdp_err
connect_card(struct pcsc *p)
{
	LONG rv;

	rv = SCardConnect(p->ctx, p->reader, SCARD_SHARE_SHARED,
			  SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &p->h, &p->proto);
	if (rv != SCARD_S_SUCCESS)
		return fail("SCardConnect", rv);
	p->connected = true;
	p->lost = false;
	return MDP_OK;
}

/* pcscd restarted (or our context died): a new context, a new connection. */
static enum mdp_err
reestablish(struct pcsc *p)
{
	LONG rv;

	drop_handle(p);
	SCardReleaseContext(p->ctx);
	p->ctx = 0;
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
	if (rv != SCARD_S_SUCCESS)
		return fail("SCardEstablishContext", rv);
	log_info("PC/SC context re-established for %s", p->reader);
	return connect_card(p);
}

/*
 * Bring the link back after an event. Returns the error to report for
 * this call: CARD_RESET (state lost, link usable again), CARD_REMOVED,
 * NO_CARD, NO_SERVICE.
 */
static enum mdp_err
recover(struct pcsc *p, enum mdp_err ev)
{
	LONG rv;
	enum mdp_err e;

	p->changed = true;
	p->epoch++;
	switch (ev) {
	case MDP_ERR_CARD_RESET:
		rv = SCardReconnect(p->h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
				    SCARD_LEAVE_CARD, &p->proto);
		if (rv != SCARD_S_SUCCESS) {
			p->lost = true;
			return fail("SCardReconnect", rv);
		}
		p->in_transaction = false;
		return mdp_err_reason(MDP_ERR_CARD_RESET, "card reset by another application");
	case MDP_ERR_NO_SERVICE:
		e = reestablish(p);
		if (e == MDP_OK)
			return mdp_err_reason(MDP_ERR_CARD_RESET, "PC/SC service restarted");
		p->lost = true;
		return e;
	case MDP_ERR_CARD_REMOVED:
	case MDP_ERR_NO_CARD:
		drop_handle(p);
		p->lost = true;
		return ev;
	default:
		return ev;
	}
}

/* After a loss: try to find a card again. OK means connected (caller reports a reset). */
static enum mdp_err
relink(struct pcsc *p)
{
	enum mdp_err e;

	drop_handle(p);
	e = connect_card(p);
	if (e == MDP_ERR_NO_SERVICE)
		e = reestablish(p);
	if (e == MDP_OK)
		p->changed = true;
	return e;
}

static enum mdp_err
transmit_locked(void *priv, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t *resp_len)
{
	struct pcsc *p = priv;
	const SCARD_IO_REQUEST *pci;
	DWORD n = (DWORD)*resp_len;
	LONG rv;
	enum mdp_err e;

	if (p->lost || !p->connected) {
		e = relink(p);
		if (e != MDP_OK)
			return e;
		return mdp_err_reason(MDP_ERR_CARD_RESET, "card reinserted");
	}
	/*
	 * An extended APDU (B5 = 00 after the header) cannot travel as a T=0 TPDU without
	 * ENVELOPE: refused here, so that the card module falls back to short APDUs. Over T=1 the
	 * reader's driver decides (a CCID reader that exchanges short APDUs only refuses it, which
	 * the module takes the same way); pcsc-lite takes commands and answers up to 65548 bytes,
	 * so resp may be as large as the caller made it (65538 for an Le of 00 00).
	 */
	if (apdu_len > 5 && apdu[4] == 0x00 && p->proto == SCARD_PROTOCOL_T0)
		return mdp_err_reason(MDP_ERR_UNSUPPORTED, "extended APDU over T=0");
	pci = p->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	rv = SCardTransmit(p->h, pci, apdu, (DWORD)apdu_len, NULL, resp, &n);
	if (rv != SCARD_S_SUCCESS) {
		e = map_rv(rv);
		log_debug("SCardTransmit: %s", pcsc_stringify_error(rv));
		return recover(p, e);
	}
	*resp_len = n;
	return MDP_OK;
}

static enum mdp_err
begin_locked(struct pcsc *p)
{
	enum mdp_err e, ret = MDP_OK;
	LONG rv;
	int attempt;

	if (p->in_transaction && p->connected && !p->lost)
		return MDP_OK; /* still held: nobody else had the card */
	for (attempt = 0; attempt < 2; attempt++) {
		if (p->lost || !p->connected) {
			e = relink(p);
			if (e != MDP_OK)
				return e;
			ret = MDP_ERR_CARD_RESET;
		}
		rv = SCardBeginTransaction(p->h);
		if (rv == SCARD_S_SUCCESS) {
			p->in_transaction = true;
			p->epoch++;
			if (ret == MDP_ERR_CARD_RESET)
				return mdp_err_reason(MDP_ERR_CARD_RESET, "card reconnected");
			return MDP_OK;
		}
		e = recover(p, map_rv(rv));
		if (e != MDP_ERR_CARD_RESET)
			return e;
		/* reconnected after a reset or service restart: take the lock, report the reset */
		ret = MDP_ERR_CARD_RESET;
	}
	return mdp_err_reason(MDP_ERR_TRANSPORT, "cannot begin a transaction");
}

static enum mdp_err
end_locked(struct pcsc *p, enum mdp_disposition disp)
{
	LONG rv;

	if (!p->in_transaction || !p->connected)
		return MDP_OK;
	p->in_transaction = false;
	p->epoch++;
	rv = SCardEndTransaction(p->h,
				 disp == MDP_RESET_CARD ? SCARD_RESET_CARD : SCARD_LEAVE_CARD);
	if (rv != SCARD_S_SUCCESS) {
		enum mdp_err e = map_rv(rv);

		/* Ending after the card went away is not worth an error for the operation. */
		if (e == MDP_ERR_CARD_REMOVED || e == MDP_ERR_NO_CARD || e == MDP_ERR_CARD_RESET) {
			recover(p, e);
			return MDP_OK;
		}
		return fail("SCardEndTransaction", rv);
	}
	return MDP_OK;
}

static enum mdp_err
reconnect_locked(struct pcsc *p, enum mdp_disposition disp)
{
	LONG rv;

	p->epoch++;
	if (p->lost || !p->connected)
		return relink(p);
	rv = SCardReconnect(p->h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
			    disp == MDP_RESET_CARD ? SCARD_RESET_CARD : SCARD_LEAVE_CARD,
			    &p->proto);
	if (rv != SCARD_S_SUCCESS) {
		enum mdp_err e = recover(p, map_rv(rv));

		return e == MDP_ERR_CARD_RESET ? MDP_OK : e;
	}
	p->in_transaction = false;
	return MDP_OK;
}

static enum mdp_err
status_locked(struct pcsc *p, struct mdp_transport_status *st)
{
	SCARD_READERSTATE rs;
	LONG rv;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		memset(&rs, 0, sizeof(rs));
		rs.szReader = p->reader;
		rs.dwCurrentState = SCARD_STATE_UNAWARE;
		rv = SCardGetStatusChange(p->ctx, 0, &rs, 1);
		if (rv == SCARD_S_SUCCESS)
			break;
		if (map_rv(rv) != MDP_ERR_NO_SERVICE || attempt)
			return fail("SCardGetStatusChange", rv);
		drop_handle(p);
		SCardReleaseContext(p->ctx);
		p->ctx = 0;
		p->lost = true;
		p->changed = true;
		rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
		if (rv != SCARD_S_SUCCESS)
			return fail("SCardEstablishContext", rv);
	}
	st->present = (rs.dwEventState & SCARD_STATE_PRESENT) != 0;
	if (!st->present && p->connected) {
		drop_handle(p);
		p->lost = true;
		p->changed = true;
	}
	st->changed = p->changed;
	p->changed = false;
	st->atr_len = 0;
	if (st->present && rs.cbAtr <= sizeof(st->atr)) {
		memcpy(st->atr, rs.rgbAtr, rs.cbAtr);
		st->atr_len = rs.cbAtr;
	}
	return MDP_OK;
}

static void
now_mono(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

/* Ends a held transaction after HOLD_MS without a call. */
static void *
releaser_main(void *arg)
{
	struct pcsc *p = arg;
	struct timespec now, deadline;

	pthread_mutex_lock(&p->mu);
	while (!p->quit) {
		if (p->in_transaction && !p->active && p->connected) {
			deadline = p->idle_since;
			deadline.tv_nsec += (long)HOLD_MS * 1000000L;
			deadline.tv_sec += deadline.tv_nsec / 1000000000L;
			deadline.tv_nsec %= 1000000000L;
			now_mono(&now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
				end_locked(p, MDP_LEAVE_CARD);
				continue;
			}
			pthread_cond_timedwait(&p->cv, &p->mu, &deadline);
		} else {
			pthread_cond_wait(&p->cv, &p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static enum mdp_err
pcsc_transmit(void *priv, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t *resp_len)
{
	struct pcsc *p = priv;
	enum mdp_err e;

	if (forked_copy(p))
		return MDP_ERR_NO_SERVICE;
	pthread_mutex_lock(&p->mu);
	e = transmit_locked(p, apdu, apdu_len, resp, resp_len);
	pthread_mutex_unlock(&p->mu);
	return e;
}

static enum mdp_err
pcsc_begin(void *priv)
{
	struct pcsc *p = priv;
	enum mdp_err e;

	if (forked_copy(p))
		return MDP_ERR_NO_SERVICE;
	pthread_mutex_lock(&p->mu);
	e = begin_locked(p);
	p->active = e == MDP_OK || e == MDP_ERR_CARD_RESET;
	pthread_mutex_unlock(&p->mu);
	return e;
}

static enum mdp_err
pcsc_end(void *priv, enum mdp_disposition disp)
{
	struct pcsc *p = priv;
	enum mdp_err e = MDP_OK;

	if (forked_copy(p))
		return MDP_ERR_NO_SERVICE;
	pthread_mutex_lock(&p->mu);
	p->active = false;
	if (disp == MDP_RESET_CARD || !p->in_transaction || !p->connected) {
		e = end_locked(p, disp);
	} else {
		/* Hold it: the next begin within HOLD_MS needs no SCardBeginTransaction. */
		now_mono(&p->idle_since);
		if (!p->releaser_running &&
		    pthread_create(&p->releaser, NULL, releaser_main, p) == 0)
			p->releaser_running = true;
		if (p->releaser_running)
			pthread_cond_signal(&p->cv);
		else
			e = end_locked(p, disp);
	}
	pthread_mutex_unlock(&p->mu);
	return e;
}

static enum mdp_err
pcsc_reconnect(void *priv, enum mdp_disposition disp)
{
	struct pcsc *p = priv;
	enum mdp_err e;

	if (forked_copy(p))
		return MDP_ERR_NO_SERVICE;
	pthread_mutex_lock(&p->mu);
	e = reconnect_locked(p, disp);
	pthread_mutex_unlock(&p->mu);
	return e;
}

static enum mdp_err
pcsc_status(void *priv, struct mdp_transport_status *st)
{
	struct pcsc *p = priv;
	enum mdp_err e;

	if (forked_copy(p))
		return MDP_ERR_NO_SERVICE;
	pthread_mutex_lock(&p->mu);
	e = status_locked(p, st);
	pthread_mutex_unlock(&p->mu);
	return e;
}

static enum mdp_err
pcsc_mark(void *priv, uint64_t *mark)
{
	struct pcsc *p = priv;

	if (forked_copy(p))
		return MDP_ERR_NO_SERVICE;
	pthread_mutex_lock(&p->mu);
	*mark = p->epoch;
	pthread_mutex_unlock(&p->mu);
	return MDP_OK;
}

static void
pcsc_free(void *priv)
{
	struct pcsc *p = priv;

	if (!p)
		return;
	if (p->pid != getpid()) {
		/* a copy made by fork(): its thread, transaction and handles are the parent's */
		free(p->reader);
		free(p);
		return;
	}
	if (p->releaser_running) {
		pthread_mutex_lock(&p->mu);
		p->quit = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->releaser, NULL);
	}
	if (p->in_transaction && p->connected)
		SCardEndTransaction(p->h, SCARD_LEAVE_CARD);
	p->in_transaction = false;
	drop_handle(p);
	if (p->ctx)
		SCardReleaseContext(p->ctx);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->reader);
	free(p);
}

static const struct mdp_transport_ops pcsc_ops = {
	.kind = "pcsc",
	.transmit = pcsc_transmit,
	.begin = pcsc_begin,
	.end = pcsc_end,
	.reconnect = pcsc_reconnect,
	.status = pcsc_status,
	.free = pcsc_free,
	.mark = pcsc_mark,
};

enum mdp_err
mdp_transport_pcsc_new(const char *reader, struct mdp_transport **out)
{
	struct pcsc *p = NULL;
	enum mdp_err e;
	LONG rv;

	if (!reader || !out)
		return MDP_ERR_ARGS;
	p = calloc(1, sizeof(*p));
	if (!p)
		return MDP_ERR_NOMEM;
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&p->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_mutex_init(&p->mu, NULL);
	p->pid = getpid();
	p->reader = strdup(reader);
	if (!p->reader) {
		e = MDP_ERR_NOMEM;
		goto out;
	}
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
	if (rv != SCARD_S_SUCCESS) {
		p->ctx = 0;
		e = fail("SCardEstablishContext", rv);
		goto out;
	}
	e = connect_card(p);
	if (e != MDP_OK)
		goto out;
	e = mdp_transport_new(&pcsc_ops, p, reader, out);
	if (e == MDP_OK)
		p = NULL;
out:
	pcsc_free(p);
	return e;
}

/* Split a PC/SC multi-string into a list. */
static enum mdp_err
split_multistring(const char *ms, size_t len, char ***readers, size_t *count)
{
	char **list = NULL;
	size_t n = 0, i = 0;
	const char *s;

	for (s = ms; s < ms + len && *s; s += strlen(s) + 1)
		n++;
	list = calloc(n ? n : 1, sizeof(*list));
	if (!list)
		return MDP_ERR_NOMEM;
	for (s = ms; i < n; s += strlen(s) + 1, i++) {
		list[i] = strdup(s);
		if (!list[i]) {
			mdp_pcsc_free_readers(list, i);
			return MDP_ERR_NOMEM;
		}
	}
	*readers = list;
	*count = n;
	return MDP_OK;
}

enum mdp_err
mdp_pcsc_list_readers(char ***readers, size_t *count)
{
	SCARDCONTEXT ctx = 0;
	char *ms = NULL;
	DWORD len = 0;
	LONG rv;
	enum mdp_err e;

	if (!readers || !count)
		return MDP_ERR_ARGS;
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv != SCARD_S_SUCCESS)
		return fail("SCardEstablishContext", rv);
	rv = SCardListReaders(ctx, NULL, NULL, &len);
	if (rv == SCARD_E_NO_READERS_AVAILABLE) {
		e = split_multistring("", 0, readers, count);
		goto out;
	}
	if (rv != SCARD_S_SUCCESS) {
		e = fail("SCardListReaders", rv);
		goto out;
	}
	ms = calloc(1, len + 1);
	if (!ms) {
		e = MDP_ERR_NOMEM;
		goto out;
	}
	rv = SCardListReaders(ctx, NULL, ms, &len);
	if (rv == SCARD_E_NO_READERS_AVAILABLE) {
		e = split_multistring("", 0, readers, count);
		goto out;
	}
	if (rv != SCARD_S_SUCCESS) {
		e = fail("SCardListReaders", rv);
		goto out;
	}
	e = split_multistring(ms, len, readers, count);
out:
	free(ms);
	SCardReleaseContext(ctx);
	return e;
}

void
mdp_pcsc_free_readers(char **readers, size_t count)
{
	size_t i;

	if (!readers)
		return;
	for (i = 0; i < count; i++)
		free(readers[i]);
	free(readers);
}

/* ---- monitor ---- */

#define PNP_READER "\\\\?PnP?\\Notification"
#define MONITOR_MAX 16

struct mdp_pcsc_monitor {
	SCARDCONTEXT ctx;
	pthread_mutex_t lock;
	SCARD_READERSTATE rs[MONITOR_MAX + 1];
	char *names[MONITOR_MAX];
	size_t n; /* readers tracked, rs[n] is the PnP entry */
	bool primed;
};

static void
monitor_clear(struct mdp_pcsc_monitor *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->names[i]);
	m->n = 0;
}

/* Rebuild the reader list, keeping the known state of readers that stay. */
static enum mdp_err
monitor_refresh(struct mdp_pcsc_monitor *m)
{
	char *ms = NULL;
	DWORD len = 0;
	LONG rv;
	SCARD_READERSTATE old[MONITOR_MAX];
	char *oldnames[MONITOR_MAX];
	size_t oldn = m->n, i, j;
	const char *s;

	memcpy(old, m->rs, sizeof(old));
	memcpy(oldnames, m->names, sizeof(oldnames));
	m->n = 0;
	rv = SCardListReaders(m->ctx, NULL, NULL, &len);
	if (rv == SCARD_S_SUCCESS && (ms = calloc(1, len + 1)) != NULL)
		rv = SCardListReaders(m->ctx, NULL, ms, &len);
	if (rv == SCARD_S_SUCCESS && ms) {
		for (s = ms; s < ms + len && *s && m->n < MONITOR_MAX; s += strlen(s) + 1) {
			memset(&m->rs[m->n], 0, sizeof(m->rs[m->n]));
			m->names[m->n] = strdup(s);
			if (!m->names[m->n])
				break;
			m->rs[m->n].szReader = m->names[m->n];
			m->rs[m->n].dwCurrentState = SCARD_STATE_UNAWARE;
			for (j = 0; j < oldn; j++)
				if (strcmp(oldnames[j], s) == 0)
					m->rs[m->n].dwCurrentState = old[j].dwEventState;
			m->n++;
		}
	}
	for (i = 0; i < oldn; i++)
		free(oldnames[i]);
	free(ms);
	memset(&m->rs[m->n], 0, sizeof(m->rs[m->n]));
	m->rs[m->n].szReader = PNP_READER;
	m->rs[m->n].dwCurrentState = (DWORD)(oldn << 16);
	if (rv != SCARD_S_SUCCESS && rv != SCARD_E_NO_READERS_AVAILABLE)
		return fail("SCardListReaders", rv);
	return MDP_OK;
}

enum mdp_err
mdp_pcsc_monitor_new(struct mdp_pcsc_monitor **out)
{
	struct mdp_pcsc_monitor *m;
	LONG rv;

	if (!out)
		return MDP_ERR_ARGS;
	m = calloc(1, sizeof(*m));
	if (!m)
		return MDP_ERR_NOMEM;
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &m->ctx);
	if (rv != SCARD_S_SUCCESS) {
		free(m);
		return fail("SCardEstablishContext", rv);
	}
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return MDP_OK;
}

enum mdp_err
mdp_pcsc_monitor_wait(struct mdp_pcsc_monitor *m, int timeout_ms, struct mdp_pcsc_event *ev)
{
	enum mdp_err e;
	LONG rv;
	size_t i;

	if (!m || !ev)
		return MDP_ERR_ARGS;
	if (!m->primed) {
		e = monitor_refresh(m);
		if (e != MDP_OK)
			return e;
		/* learn the current state without waiting */
		rv = SCardGetStatusChange(m->ctx, 0, m->rs, (DWORD)m->n + 1);
		if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
			return fail("SCardGetStatusChange", rv);
		for (i = 0; i <= m->n; i++)
			m->rs[i].dwCurrentState = m->rs[i].dwEventState & ~SCARD_STATE_CHANGED;
		m->primed = true;
	}
	rv = SCardGetStatusChange(m->ctx, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms, m->rs,
				  (DWORD)m->n + 1);
	if (rv == SCARD_E_TIMEOUT)
		return MDP_ERR_TIMEOUT;
	if (rv == SCARD_E_CANCELLED)
		return mdp_err_reason(MDP_ERR_BUSY, "wait cancelled");
	if (rv != SCARD_S_SUCCESS)
		return fail("SCardGetStatusChange", rv);
	memset(ev, 0, sizeof(*ev));
	for (i = 0; i < m->n; i++) {
		SCARD_READERSTATE *r = &m->rs[i];
		DWORD was = r->dwCurrentState & (SCARD_STATE_PRESENT | SCARD_STATE_EMPTY);
		DWORD now = r->dwEventState & (SCARD_STATE_PRESENT | SCARD_STATE_EMPTY);

		r->dwCurrentState = r->dwEventState & ~SCARD_STATE_CHANGED;
		if (was != now && !ev->reader[0]) {
			snprintf(ev->reader, sizeof(ev->reader), "%s", m->names[i]);
			ev->present = (now & SCARD_STATE_PRESENT) != 0;
		}
	}
	if (m->rs[m->n].dwEventState & SCARD_STATE_CHANGED) {
		e = monitor_refresh(m);
		if (e != MDP_OK)
			return e;
	}
	return MDP_OK;
}

void
mdp_pcsc_monitor_cancel(struct mdp_pcsc_monitor *m)
{
	if (m)
		SCardCancel(m->ctx);
}

void
mdp_pcsc_monitor_free(struct mdp_pcsc_monitor *m)
{
	if (!m)
		return;
	monitor_clear(m);
	SCardReleaseContext(m->ctx);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
