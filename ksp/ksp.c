/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role on top of a card module: names, the card's life cycle (open, refresh, free), read
 * access to the view. */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MDP_LOG_AREA MDP_AREA_KSP
#include "blob/blob.h"
#include "common/log.h"
#include "common/secmem.h"
#include "ksp/ksp-int.h"

/* ---- names and small helpers ---- */

const char *
ksp_rv_name(enum ksp_rv rv)
{
	switch (rv) {
#define N(x)    \
	case x: \
		return #x
		N(KSP_OK);
		N(KSP_E_INVALID_ARG);
		N(KSP_E_NO_MEMORY);
		N(KSP_E_BUFFER_TOO_SMALL);
		N(KSP_E_UNSUPPORTED);
		N(KSP_E_NO_CARD);
		N(KSP_E_CARD_REMOVED);
		N(KSP_E_CARD_RESET);
		N(KSP_E_UNKNOWN_CARD);
		N(KSP_E_READ_ONLY);
		N(KSP_E_NO_SERVICE);
		N(KSP_E_DEVICE);
		N(KSP_E_FILE_NOT_FOUND);
		N(KSP_E_DIR_NOT_FOUND);
		N(KSP_E_FILE_EXISTS);
		N(KSP_E_CANCELLED);
		N(KSP_E_NO_KEY);
		N(KSP_E_FAILED);
		N(KSP_E_PIN_INCORRECT);
		N(KSP_E_PIN_BLOCKED);
		N(KSP_E_PIN_LEN);
		N(KSP_E_NOT_LOGGED_IN);
		N(KSP_E_NO_ACCESS);
		N(KSP_E_BAD_KEY);
		N(KSP_E_KEY_SIZE);
		N(KSP_E_BAD_DATA);
		N(KSP_E_PROHIBITED);
		N(KSP_E_EXISTS);
		N(KSP_E_POLICY);
		N(KSP_E_NOT_FOUND);
		N(KSP_E_CERT_MISMATCH);
		N(KSP_E_NO_ROOM);
		N(KSP_E_DECRYPT);
#undef N
	}
	return "KSP_E_UNKNOWN";
}

enum ksp_rv
ksp_rv_from_md(enum md_rv rv)
{
	switch (rv) {
	case MD_OK:
		return KSP_OK;
	case MD_E_INVALID_PARAMETER:
		return KSP_E_INVALID_ARG;
	case MD_E_NO_MEMORY:
		return KSP_E_NO_MEMORY;
	case MD_E_INSUFFICIENT_BUFFER:
	case MD_ERROR_INSUFFICIENT_BUFFER:
		return KSP_E_BUFFER_TOO_SMALL;
	case MD_E_UNSUPPORTED_FEATURE:
		return KSP_E_UNSUPPORTED;
	case MD_E_NO_SMARTCARD:
	case MD_W_REMOVED_CARD:
		return KSP_E_CARD_REMOVED;
	case MD_W_RESET_CARD:
		return KSP_E_CARD_RESET;
	case MD_E_UNKNOWN_CARD:
		return KSP_E_UNKNOWN_CARD;
	case MD_E_READ_ONLY_CARD:
		return KSP_E_READ_ONLY;
	case MD_E_FILE_NOT_FOUND:
		return KSP_E_FILE_NOT_FOUND;
	case MD_E_DIR_NOT_FOUND:
		return KSP_E_DIR_NOT_FOUND;
	case MD_ERROR_FILE_EXISTS:
		return KSP_E_FILE_EXISTS;
	case MD_F_COMM_ERROR:
	case MD_E_COMM_DATA_LOST:
	case MD_E_NOT_TRANSACTED:
	case MD_W_UNRESPONSIVE_CARD:
	case MD_E_SHARING_VIOLATION:
	case MD_E_TIMEOUT:
	case MD_ERROR_REVISION_MISMATCH:
		return KSP_E_DEVICE;
	case MD_E_NO_SERVICE:
		return KSP_E_NO_SERVICE;
	case MD_W_CANCELLED_BY_USER:
	case MD_E_CANCELLED:
		return KSP_E_CANCELLED;
	case MD_E_NO_KEY_CONTAINER:
		return KSP_E_NO_KEY;
	case MD_E_WRITE_TOO_MANY:
		return KSP_E_NO_ROOM;
	case MD_W_WRONG_CHV:
		return KSP_E_PIN_INCORRECT;
	case MD_W_CHV_BLOCKED:
		return KSP_E_PIN_BLOCKED;
	case MD_E_INVALID_CHV:
		return KSP_E_PIN_LEN;
	case MD_W_SECURITY_VIOLATION:
	case MD_W_CARD_NOT_AUTHENTICATED:
		return KSP_E_NOT_LOGGED_IN;
	case MD_E_NO_ACCESS:
		return KSP_E_NO_ACCESS;
	case MD_ERROR_DIR_NOT_EMPTY:
	case MD_F_INTERNAL_ERROR:
	case MD_E_INVALID_HANDLE:
	case MD_E_UNEXPECTED:
		break;
	}
	log_warn("card module result %s (0x%08x) taken as a failure", md_rv_name(rv), (unsigned)rv);
	return KSP_E_FAILED;
}

const char *
ksp_rv_text(enum ksp_rv rv)
{
	switch (rv) {
	case KSP_OK:
		return "done";
	case KSP_E_INVALID_ARG:
		return "the card or card module refused an argument";
	case KSP_E_NO_MEMORY:
		return "out of memory";
	case KSP_E_BUFFER_TOO_SMALL:
		return "a buffer is too small";
	case KSP_E_UNSUPPORTED:
		return "the card does not support this";
	case KSP_E_NO_CARD:
		return "no card";
	case KSP_E_CARD_REMOVED:
		return "the card was removed";
	case KSP_E_CARD_RESET:
		return "the card was reset by another program";
	case KSP_E_UNKNOWN_CARD:
		return "no card module recognises the card";
	case KSP_E_READ_ONLY:
		return "the card is read-only";
	case KSP_E_NO_SERVICE:
		return "the PC/SC service (pcscd) is not running";
	case KSP_E_DEVICE:
		return "communication with the card failed";
	case KSP_E_FILE_NOT_FOUND:
		return "a file is missing on the card";
	case KSP_E_DIR_NOT_FOUND:
		return "a directory is missing on the card";
	case KSP_E_FILE_EXISTS:
		return "a file to create exists on the card";
	case KSP_E_CANCELLED:
		return "cancelled";
	case KSP_E_NO_KEY:
		return "the container holds no such key";
	case KSP_E_FAILED:
		return "the card module gave an answer that makes no sense here";
	case KSP_E_PIN_INCORRECT:
		return "wrong PIN or admin key";
	case KSP_E_PIN_BLOCKED:
		return "the PIN is blocked";
	case KSP_E_PIN_LEN:
		return "the card refuses a PIN or key of this length";
	case KSP_E_NOT_LOGGED_IN:
		return "the operation needs a login";
	case KSP_E_NO_ACCESS:
		return "the card refuses access (not logged in, or a virtual card's seal is "
		       "missing)";
	case KSP_E_BAD_KEY:
		return "the key cannot be used for this";
	case KSP_E_KEY_SIZE:
		return "a key size outside the allowed range";
	case KSP_E_BAD_DATA:
		return "input of the wrong length or form";
	case KSP_E_PROHIBITED:
		return "the change would destroy another key";
	case KSP_E_EXISTS:
		return "a container with that name, index or CKA_ID exists";
	case KSP_E_POLICY:
		return "refused by the [policy] of mdp11.conf";
	case KSP_E_NOT_FOUND:
		return "no such container or object";
	case KSP_E_CERT_MISMATCH:
		return "the certificate matches no key on the card";
	case KSP_E_NO_ROOM:
		return "no free container on the card, or the card is full";
	case KSP_E_DECRYPT:
		return "decryption failed";
	}
	return "unknown outcome";
}

void
ksp_policy_default(struct ksp_policy *policy)
{
	memset(policy, 0, sizeof(*policy));
	policy->rsa_default_bits = KSP_DEFAULT_RSA_BITS;
	policy->allow_exchange_import = true;
	policy->allow_signature_import = true;
	policy->allow_ecdsa_import = true;
	policy->allow_ecdhe_import = true;
}

enum ksp_slot
ksp_slot_of(enum mdp_key_spec spec)
{
	return MDP_KEY_SPEC_IS_SIG_SLOT(spec) ? KSP_SLOT_SIGNATURE : KSP_SLOT_EXCHANGE;
}

struct md_card *
ksp_card_md(struct ksp_card *kc)
{
	return kc ? kc->md : NULL;
}

unsigned long
ksp_card_generation(const struct ksp_card *kc)
{
	return kc ? kc->generation : 0;
}

enum ksp_rv
ksp_reason(enum ksp_rv rv, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mdp_err_reason(MDP_ERR_ARGS, "%s", msg);
	log_debug("%s: %s", ksp_rv_name(rv), msg);
	return rv;
}

bool
ksp_spec_valid(enum mdp_key_spec spec)
{
	return spec >= MDP_AT_KEYEXCHANGE && spec <= MDP_AT_ECDHE_P521;
}

unsigned
ksp_ec_bits_of(enum mdp_key_spec spec)
{
	switch (spec) {
	case MDP_AT_ECDSA_P256:
	case MDP_AT_ECDHE_P256:
		return 256;
	case MDP_AT_ECDSA_P384:
	case MDP_AT_ECDHE_P384:
		return 384;
	case MDP_AT_ECDSA_P521:
	case MDP_AT_ECDHE_P521:
		return 521;
	default:
		return 0;
	}
}

/* The key spec of a public key found in a container slot. */
enum mdp_key_spec
ksp_spec_from_key(const struct mdp_key *k, enum ksp_slot slot)
{
	if (mdp_key_type(k) == EVP_PKEY_RSA)
		return slot == KSP_SLOT_SIGNATURE ? MDP_AT_SIGNATURE : MDP_AT_KEYEXCHANGE;
	switch (mdp_key_bits(k)) {
	case 256:
		return slot == KSP_SLOT_SIGNATURE ? MDP_AT_ECDSA_P256 : MDP_AT_ECDHE_P256;
	case 384:
		return slot == KSP_SLOT_SIGNATURE ? MDP_AT_ECDSA_P384 : MDP_AT_ECDHE_P384;
	case 521:
		return slot == KSP_SLOT_SIGNATURE ? MDP_AT_ECDSA_P521 : MDP_AT_ECDHE_P521;
	default:
		return MDP_AT_NONE;
	}
}

/* ---- life cycle: the persistent cache, cardcf, refresh, open, free ---- */

void
ksp_save_cache(struct ksp_card *kc)
{
	if (!kc->cache_dir || !kc->cache.dirty || !kc->have_cardcf)
		return;
	if (ksp_cache_save(&kc->cache, kc->cache_dir, kc->cardid, kc->cardid_len, kc->cardcf))
		kc->cache.dirty = false;
}

/*
 * Whether the transport proves that nobody else touched the card since cardcf was last read
 * (the embedded card: its state file is the one we saw then, or changed only by our own
 * commands, whose cardcf bumps we made ourselves). PC/SC cannot tell: always false.
 */
static bool
unchanged(struct ksp_card *kc)
{
	uint64_t m;

	return kc->have_cardcf && kc->have_mark && md_card_mark(kc->md, &m) && m == kc->mark;
}

/* Read cardcf and drop what its counters say changed (spec/minidriver.md §5.3). */
static enum ksp_rv
sync_cardcf(struct ksp_card *kc)
{
	uint8_t *cf = NULL;
	size_t len = 0;
	uint8_t now[6];
	unsigned diff;
	enum ksp_rv rv;

	if (kc->md->resets != kc->resets_seen)
		ksp_note_reset(kc);
	if (unchanged(kc))
		return KSP_OK;
	rv = ksp_read_file(kc, NULL, "cardcf", &cf, &len);
	if (rv != KSP_OK)
		return rv;
	/* Inside the transaction: nobody else can change the card before it ends. */
	kc->have_mark = md_card_mark(kc->md, &kc->mark);
	/* someone else may have used the card: a wrong PIN moves no cardcf counter */
	kc->tries_fresh = false;
	memset(now, 0, sizeof(now));
	memcpy(now, cf, len < 6 ? len : 6);
	free(cf);
	diff = kc->have_cardcf ? ksp_cardcf_diff(kc->cardcf, now)
			       : (KSP_C_PIN | KSP_C_CONTAINERS | KSP_C_FILES);
	if (diff) {
		log_debug("cardcf changed (classes 0x%x): reloading", diff);
		ksp_cache_drop(&kc->cache, diff);
		kc->view_ok = false;
		if (diff & KSP_C_PIN) {
			/* another host changed or unblocked the PIN: what we knew of its counter is
			 * old */
			kc->have_pin_info = false;
			kc->tries_left = -1;
			kc->blocked = false;
		}
	}
	memcpy(kc->cardcf, now, 6);
	kc->cardcf_len = len < 6 ? 6 : len;
	kc->have_cardcf = true;
	return KSP_OK;
}

/* Bring the view up to date inside a transaction the caller holds. */
enum ksp_rv
ksp_sync_intx(struct ksp_card *kc, bool *changed)
{
	bool was_ok;
	enum ksp_rv rv;

	rv = sync_cardcf(kc);
	if (rv != KSP_OK)
		return rv;
	was_ok = kc->view_ok;
	if (!kc->have_pin_info) {
		rv = ksp_load_pin_info(kc);
		if (rv != KSP_OK)
			return rv;
	}
	if (!kc->view_ok) {
		rv = ksp_rebuild(kc);
		if (rv != KSP_OK)
			return rv;
	}
	if (changed)
		*changed = !was_ok;
	ksp_save_cache(kc);
	return KSP_OK;
}

enum ksp_rv
ksp_card_refresh(struct ksp_card *kc, bool *changed)
{
	bool ch = false;
	enum ksp_rv rv;

	if (!kc)
		return KSP_E_INVALID_ARG;
	/* Nothing to read and nothing can have changed: no transaction, no APDU. */
	if (kc->view_ok && kc->have_pin_info && kc->md->resets == kc->resets_seen &&
	    unchanged(kc)) {
		if (changed)
			*changed = false;
		return KSP_OK;
	}
	rv = ksp_rv_from_md(md_card_begin(kc->md));
	if (rv != KSP_OK) {
		ksp_check_reset(kc, rv);
		return rv;
	}
	rv = ksp_sync_intx(kc, &ch);
	md_card_end(kc->md, false);
	if (rv == KSP_OK && changed)
		*changed = ch;
	return rv;
}

enum ksp_rv
ksp_ensure_view(struct ksp_card *kc)
{
	if (kc->view_ok && kc->have_pin_info)
		return KSP_OK;
	return ksp_card_refresh(kc, NULL);
}

/* Instance numbers of the cards opened in this process (see struct ksp_card). */
static _Atomic unsigned long card_instances = 1;

enum ksp_rv
ksp_card_open(struct md_card *card, const struct ksp_policy *policy, struct ksp_card **out)
{
	struct ksp_card *kc = NULL;
	uint8_t *id = NULL, cf[6];
	size_t idlen = 0;
	enum ksp_rv rv;
	bool in_tx = false;

	if (!card || !out) {
		md_card_delete(card);
		return KSP_E_INVALID_ARG;
	}
	kc = calloc(1, sizeof(*kc));
	if (!kc) {
		md_card_delete(card);
		return KSP_E_NO_MEMORY;
	}
	kc->md = card;
	kc->instance = atomic_fetch_add(&card_instances, 1);
	kc->resets_seen = card->resets;
	kc->tries_left = -1;
	kc->tries_max = -1;
	ksp_cache_init(&kc->cache);
	if (policy)
		kc->policy = *policy;
	else
		ksp_policy_default(&kc->policy);
	if (!kc->policy.rsa_default_bits)
		kc->policy.rsa_default_bits = KSP_DEFAULT_RSA_BITS;
	kc->policy.cache_dir = NULL;
	if (policy && policy->cache_dir && policy->cache_dir[0]) {
		kc->cache_dir = strdup(policy->cache_dir);
		if (!kc->cache_dir) {
			rv = KSP_E_NO_MEMORY;
			goto out;
		}
		kc->policy.cache_dir = kc->cache_dir;
	}

	rv = ksp_rv_from_md(md_card_begin(card));
	if (rv != KSP_OK)
		goto out;
	in_tx = true;
	rv = ksp_read_file(kc, NULL, "cardid", &id, &idlen);
	if (rv != KSP_OK)
		goto out;
	if (idlen == 0) {
		rv = KSP_E_DEVICE;
		goto out;
	}
	kc->cardid_len = idlen > sizeof(kc->cardid) ? sizeof(kc->cardid) : idlen;
	memcpy(kc->cardid, id, kc->cardid_len);
	/* A persistent cache of this card: trusted per class while cardcf matches. */
	if (kc->cache_dir &&
	    ksp_cache_load(&kc->cache, kc->cache_dir, kc->cardid, kc->cardid_len, cf)) {
		memcpy(kc->cardcf, cf, 6);
		kc->cardcf_len = 6;
		kc->have_cardcf = true;
		log_debug("persistent cache loaded");
	}
	rv = ksp_load_static(kc);
	if (rv != KSP_OK)
		goto out;
	rv = ksp_sync_intx(kc, NULL);
out:
	if (in_tx)
		md_card_end(card, false);
	free(id);
	if (rv != KSP_OK) {
		ksp_card_free(kc);
		return rv;
	}
	*out = kc;
	return KSP_OK;
}

void
ksp_card_free(struct ksp_card *kc)
{
	if (!kc)
		return;
	ksp_lanes_drop(kc);
	ksp_save_cache(kc);
	ksp_free_view(kc);
	ksp_cache_clear(&kc->cache);
	mdp_secure_free(kc->admin_key, KSP_ADMIN_KEY_MAX);
	md_card_delete(kc->md);
	free(kc->cache_dir);
	free(kc);
}

/* ---- read access ---- */

enum ksp_rv
ksp_card_containers(struct ksp_card *kc, const struct ksp_container **list, size_t *count)
{
	enum ksp_rv rv;

	if (!kc || !list || !count)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	*list = kc->conts;
	*count = kc->nconts;
	return KSP_OK;
}

const struct ksp_container *
ksp_container_at(const struct ksp_card *kc, uint8_t index)
{
	size_t i;

	for (i = 0; i < kc->nconts; i++)
		if (kc->conts[i].index == index)
			return &kc->conts[i];
	return NULL;
}

enum ksp_rv
ksp_card_container(struct ksp_card *kc, uint8_t index, const struct ksp_container **out)
{
	const struct ksp_container *c;
	enum ksp_rv rv;

	if (!kc || !out)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	c = ksp_container_at(kc, index);
	if (!c)
		return KSP_E_NOT_FOUND;
	*out = c;
	return KSP_OK;
}

const struct ksp_key *
ksp_key_at(const struct ksp_card *kc, uint8_t index, enum ksp_slot slot)
{
	const struct ksp_container *c = ksp_container_at(kc, index);

	if (!c || (unsigned)slot >= KSP_SLOTS || c->slot[slot].spec == MDP_AT_NONE)
		return NULL;
	return &c->slot[slot];
}

enum ksp_rv
ksp_find_key_by_id(struct ksp_card *kc, const uint8_t *id, size_t id_len, uint8_t *index,
		   enum ksp_slot *slot)
{
	enum ksp_rv rv;
	size_t i;
	int s;

	if (!kc || (!id && id_len) || !index || !slot)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	for (i = 0; i < kc->nconts; i++) {
		for (s = 0; s < KSP_SLOTS; s++) {
			const struct ksp_key *k = &kc->conts[i].slot[s];

			if (k->spec != MDP_AT_NONE && k->id_len == id_len &&
			    (id_len == 0 || memcmp(k->id, id, id_len) == 0)) {
				*index = kc->conts[i].index;
				*slot = (enum ksp_slot)s;
				return KSP_OK;
			}
		}
	}
	return KSP_E_NOT_FOUND;
}

static enum ksp_rv
find_by_pkey(struct ksp_card *kc, EVP_PKEY *pk, uint8_t *index, enum ksp_slot *slot)
{
	size_t i;
	int s;

	for (i = 0; i < kc->nconts; i++) {
		for (s = 0; s < KSP_SLOTS; s++) {
			const struct ksp_key *k = &kc->conts[i].slot[s];

			if (k->spec != MDP_AT_NONE && EVP_PKEY_eq(mdp_key_pkey(k->pub), pk) == 1) {
				*index = kc->conts[i].index;
				*slot = (enum ksp_slot)s;
				return KSP_OK;
			}
		}
	}
	return KSP_E_NOT_FOUND;
}

enum ksp_rv
ksp_find_container_for_public_key(struct ksp_card *kc, const struct mdp_key *pub, uint8_t *index,
				  enum ksp_slot *slot)
{
	enum ksp_rv rv;

	if (!kc || !pub || !index || !slot)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	return find_by_pkey(kc, mdp_key_pkey(pub), index, slot);
}

enum ksp_rv
ksp_find_key_for_certificate(struct ksp_card *kc, const uint8_t *der, size_t len, uint8_t *index,
			     enum ksp_slot *slot)
{
	EVP_PKEY *pk;
	enum ksp_rv rv;

	if (!kc || !der || !len || !index || !slot)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	pk = ksp_cert_pkey(der, len);
	if (!pk)
		return KSP_E_BAD_DATA;
	rv = find_by_pkey(kc, pk, index, slot);
	EVP_PKEY_free(pk);
	if ((uint32_t)rv == (uint32_t)KSP_E_NOT_FOUND)
		rv = KSP_E_CERT_MISMATCH;
	return rv;
}

enum ksp_rv
ksp_token_info(struct ksp_card *kc, struct ksp_token_info *out)
{
	struct ksp_token_info ti;
	const struct ksp_cache_entry *e;
	enum ksp_rv rv;
	int spec;

	if (!kc || !out)
		return KSP_E_INVALID_ARG;
	rv = ksp_ensure_view(kc);
	if (rv != KSP_OK)
		return rv;
	memset(&ti, 0, sizeof(ti));
	memcpy(ti.cardid, kc->cardid, kc->cardid_len);
	snprintf(ti.serial, sizeof(ti.serial), "%s", kc->serial);
	snprintf(ti.card_name, sizeof(ti.card_name), "%s", md_card_name(kc->md));
	for (spec = MDP_AT_KEYEXCHANGE; spec <= MDP_AT_ECDHE_P521; spec++) {
		rv = ksp_load_key_sizes(kc, (enum mdp_key_spec)spec, &ti.sizes[spec]);
		if (rv != KSP_OK)
			return rv;
	}
	rv = ksp_load_free_space(kc, &e);
	if (rv != KSP_OK)
		return rv;
	{
		struct mdp_cursor c;

		cur_init(&c, e->data, e->len);
		ti.free_bytes = cur_get_le32(&c);
		ti.free_containers = cur_get_le32(&c);
		ti.max_containers = cur_get_le32(&c);
	}
	ti.read_only = kc->read_only;
	ti.keygen = kc->keygen;
	ti.admin_writes = kc->admin_writes;
	ti.pin_min_len = kc->pin_min_len ? kc->pin_min_len : 4;
	ti.pin_max_len = kc->pin_max_len ? kc->pin_max_len : 16;
	*out = ti;
	return KSP_OK;
}
