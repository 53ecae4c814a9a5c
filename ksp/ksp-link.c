/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role: card modules, readers, reader events, links to cards, and attaching a card. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_KSP
#include "common/conf.h"
#include "common/log.h"
#include "ksp/ksp-int.h"
#include "transport/transport.h"

struct ksp_host {
	struct md_registry *reg;
	struct ksp_policy policy;
	char *cache_dir; /* the policy's, owned */
};

struct ksp_link {
	struct mdp_transport *tr;
};

struct ksp_monitor {
	struct mdp_pcsc_monitor *m;
};

/* What the host makes of a link's or a monitor's error (transport.h's enum mdp_err). */
static enum ksp_rv
link_rv(enum mdp_err err)
{
	switch (err) {
	case MDP_OK:
		return KSP_OK;
	case MDP_ERR_NOMEM:
		return KSP_E_NO_MEMORY;
	case MDP_ERR_ARGS:
		return KSP_E_INVALID_ARG;
	case MDP_ERR_UNSUPPORTED:
		return KSP_E_UNSUPPORTED;
	case MDP_ERR_NO_CARD:
	case MDP_ERR_NOT_FOUND:
		return KSP_E_NO_CARD;
	case MDP_ERR_CARD_REMOVED:
		return KSP_E_CARD_REMOVED;
	case MDP_ERR_NO_SERVICE:
		return KSP_E_NO_SERVICE;
	case MDP_ERR_CONFIG:
	case MDP_ERR_CRYPTO:
	case MDP_ERR_INTERNAL:
	case MDP_ERR__COUNT:
		return KSP_E_FAILED;
	default:
		/* the file or the link is unusable: damaged, unreadable, busy, sealed elsewhere */
		return KSP_E_DEVICE;
	}
}

enum ksp_rv
ksp_host_new(const struct mdp_config *cfg, const struct ksp_policy *policy, struct ksp_host **out)
{
	struct ksp_host *h;
	enum md_rv mrv;

	if (!out)
		return KSP_E_INVALID_ARG;
	h = calloc(1, sizeof(*h));
	if (!h)
		return KSP_E_NO_MEMORY;
	if (policy)
		h->policy = *policy;
	else
		ksp_policy_default(&h->policy);
	if (h->policy.cache_dir) {
		h->cache_dir = strdup(h->policy.cache_dir);
		if (!h->cache_dir) {
			free(h);
			return KSP_E_NO_MEMORY;
		}
		h->policy.cache_dir = h->cache_dir;
	}
	mrv = md_registry_new(cfg, &h->reg);
	if (mrv != MD_OK) {
		ksp_host_free(h);
		return ksp_rv_from_md(mrv);
	}
	*out = h;
	return KSP_OK;
}

void
ksp_host_free(struct ksp_host *h)
{
	if (!h)
		return;
	md_registry_free(h->reg);
	free(h->cache_dir);
	free(h);
}

enum ksp_rv
ksp_readers(char ***names, size_t *count)
{
	if (!names || !count)
		return KSP_E_INVALID_ARG;
	*names = NULL;
	*count = 0;
	return link_rv(mdp_pcsc_list_readers(names, count));
}

void
ksp_readers_free(char **names, size_t count)
{
	if (names)
		mdp_pcsc_free_readers(names, count);
}

enum ksp_rv
ksp_monitor_new(struct ksp_monitor **out)
{
	struct ksp_monitor *m;
	enum mdp_err err;

	if (!out)
		return KSP_E_INVALID_ARG;
	m = calloc(1, sizeof(*m));
	if (!m)
		return KSP_E_NO_MEMORY;
	err = mdp_pcsc_monitor_new(&m->m);
	if (err != MDP_OK) {
		free(m);
		return link_rv(err);
	}
	*out = m;
	return KSP_OK;
}

enum ksp_rv
ksp_monitor_wait(struct ksp_monitor *m, int timeout_ms, bool *changed, struct ksp_event *ev)
{
	struct mdp_pcsc_event e;
	enum mdp_err err;

	if (!m || !changed || !ev)
		return KSP_E_INVALID_ARG;
	*changed = false;
	memset(&e, 0, sizeof(e));
	err = mdp_pcsc_monitor_wait(m->m, timeout_ms, &e);
	if (err == MDP_ERR_TIMEOUT || err == MDP_ERR_BUSY) /* nothing happened, or cancelled */
		return KSP_OK;
	if (err != MDP_OK)
		return link_rv(err);
	snprintf(ev->reader, sizeof(ev->reader), "%s", e.reader);
	ev->present = e.present;
	*changed = true;
	return KSP_OK;
}

void
ksp_monitor_cancel(struct ksp_monitor *m)
{
	if (m)
		mdp_pcsc_monitor_cancel(m->m);
}

void
ksp_monitor_free(struct ksp_monitor *m)
{
	if (!m)
		return;
	mdp_pcsc_monitor_free(m->m);
	free(m);
}

/*
 * The few words a person sees for a link that did not open (a slot's description): the
 * transports' reasons start with them ("card file not writable: PATH: ..."), the others are
 * named by their error.
 */
static void
link_what(enum mdp_err err, bool vcard, char *what, size_t len)
{
	const char *why = mdp_err_last(), *colon = strchr(why, ':');

	if (!what || !len)
		return;
	if (err == MDP_ERR_NO_CARD && !vcard)
		snprintf(what, len, "%s", ""); /* an empty reader is no problem */
	else if (err == MDP_ERR_NOT_FOUND)
		snprintf(what, len, "no card file");
	else if (err == MDP_ERR_STATE)
		snprintf(what, len, "not a card file");
	else if (err == MDP_ERR_SEAL)
		snprintf(what, len, "card's seal not available");
	else if (strncmp(why, "card file ", 10) == 0 && colon)
		snprintf(what, len, "%.*s", (int)(colon - why), why);
	else
		snprintf(what, len, "card not usable, see the log");
}

static enum ksp_rv
link_done(enum mdp_err err, struct mdp_transport *tr, bool vcard, struct ksp_link **out, char *what,
	  size_t what_len)
{
	struct ksp_link *l;

	if (what && what_len)
		what[0] = '\0';
	if (err != MDP_OK) {
		link_what(err, vcard, what, what_len);
		return link_rv(err);
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		mdp_transport_free(tr);
		return KSP_E_NO_MEMORY;
	}
	l->tr = tr;
	*out = l;
	return KSP_OK;
}

enum ksp_rv
ksp_link_open_reader(const char *reader, struct ksp_link **out, char *what, size_t what_len)
{
	struct mdp_transport *tr = NULL;
	enum mdp_err err;

	if (!reader || !out)
		return KSP_E_INVALID_ARG;
	err = mdp_transport_pcsc_new(reader, &tr);
	return link_done(err, tr, false, out, what, what_len);
}

enum ksp_rv
ksp_link_open_vcard(const char *path, const char *seal, struct ksp_link **out, char *what,
		    size_t what_len)
{
	struct mdp_transport *tr = NULL;
	enum mdp_err err;

	if (!path || !out)
		return KSP_E_INVALID_ARG;
	err = mdp_transport_embedded_open(path, seal, &tr);
	return link_done(err, tr, true, out, what, what_len);
}

void
ksp_link_free(struct ksp_link *l)
{
	if (!l)
		return;
	mdp_transport_free(l->tr);
	free(l);
}

enum ksp_rv
ksp_link_status(struct ksp_link *l, bool *present, bool *changed)
{
	struct mdp_transport_status ts;
	enum mdp_err err;

	if (!l || !present || !changed)
		return KSP_E_INVALID_ARG;
	err = mdp_transport_status(l->tr, &ts);
	if (err != MDP_OK)
		return link_rv(err);
	*present = ts.present;
	*changed = ts.changed;
	return KSP_OK;
}

enum ksp_rv
ksp_card_attach(struct ksp_host *h, struct ksp_link *l, struct ksp_card **out)
{
	struct md_card *card = NULL;
	enum ksp_rv rv;

	if (!h || !l || !out)
		return KSP_E_INVALID_ARG;
	rv = ksp_rv_from_md(md_card_acquire(h->reg, l->tr, MD_CARD_DATA_CURRENT_VERSION, 0, &card));
	if (rv != KSP_OK)
		return rv;
	rv = ksp_card_open(card, &h->policy, out);
	if (rv != KSP_OK) {
		char why[256];

		snprintf(why, sizeof(why), "%s", mdp_err_last());
		mdp_err_reason(MDP_ERR_TRANSPORT, "opening the card: %s (%s)", ksp_rv_name(rv),
			       why);
	}
	return rv;
}

const char *
ksp_card_module_name(struct ksp_card *kc)
{
	return kc ? md_card_name(kc->md) : "";
}

unsigned long
ksp_link_apdus(struct ksp_link *l, struct ksp_card *kc)
{
	return (l ? mdp_transport_apdu_count(l->tr) : 0) + ksp_lanes_apdus(kc);
}
