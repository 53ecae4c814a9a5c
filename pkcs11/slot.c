/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Slots and tokens: PC/SC readers and virtual cards, card attachment, token info, slot events. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/conf.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/secmem.h"
#include "pkcs11/module.h"

/*
 * Slot IDs are stable for the life of the process (spec/minidriver.md §10.1, and what
 * browsers need): a name -> id table survives C_Finalize, so a reader that comes back, or a
 * virtual card after a re-initialisation, gets the id it had. Names are "pcsc:<reader>" and
 * "vcard:<path>".
 */
static struct {
	char **names;
	size_t count;
} ids;
static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;

static CK_SLOT_ID
stable_id(const char *kind, const char *name)
{
	char *key = NULL;
	size_t i, len = strlen(kind) + strlen(name) + 2;
	CK_SLOT_ID id = (CK_SLOT_ID)-1;

	key = malloc(len);
	if (!key)
		return id;
	snprintf(key, len, "%s:%s", kind, name);
	pthread_mutex_lock(&ids_lock);
	for (i = 0; i < ids.count; i++) {
		if (strcmp(ids.names[i], key) == 0) {
			id = i;
			break;
		}
	}
	if (id == (CK_SLOT_ID)-1) {
		char **n = realloc(ids.names, (ids.count + 1) * sizeof(*n));

		if (n) {
			ids.names = n;
			n[ids.count] = key;
			key = NULL;
			id = ids.count++;
		}
	}
	pthread_mutex_unlock(&ids_lock);
	free(key);
	return id;
}

/* The id table lives until the module is unloaded. */
__attribute__((destructor)) static void
free_stable_ids(void)
{
	size_t i;

	for (i = 0; i < ids.count; i++)
		free(ids.names[i]);
	free(ids.names);
	ids.names = NULL;
	ids.count = 0;
}

/* The slot table (module lock). */
static struct {
	struct slot **list;
	size_t count;
	struct ksp_host *host; /* the card modules and the key policy */
} st;

static void scan_readers_inlock(void);

/* C_WaitForSlotEvent's PC/SC monitor: kept across calls, freed when no waiter uses it. */
static struct ksp_monitor *monitor;
static _Atomic int monitor_users;
static pthread_mutex_t monitor_lock = PTHREAD_MUTEX_INITIALIZER;

static bool initial_scan;

static CK_RV
slot_add_inlock(const char *kind, const char *name, const char *vcard_path, struct slot **out)
{
	struct slot *s, **l;
	CK_RV rv;

	s = calloc(1, sizeof(*s));
	if (!s)
		return CKR_HOST_MEMORY;
	s->id = stable_id(kind, vcard_path ? vcard_path : name);
	s->name = strdup(name);
	s->vcard_path = vcard_path ? strdup(vcard_path) : NULL;
	s->login = LOGIN_NONE;
	if (s->id == (CK_SLOT_ID)-1 || !s->name || (vcard_path && !s->vcard_path)) {
		rv = CKR_HOST_MEMORY;
		goto fail;
	}
	rv = lock_new(&s->lock);
	if (rv != CKR_OK)
		goto fail;
	l = realloc(st.list, (st.count + 1) * sizeof(*l));
	if (!l) {
		rv = CKR_HOST_MEMORY;
		goto fail;
	}
	st.list = l;
	st.list[st.count++] = s;
	s->attached = true;
	s->event = !vcard_path && !initial_scan; /* a reader that appeared later */
	*out = s;
	return CKR_OK;
fail:
	lock_free(s->lock);
	free(s->name);
	free(s->vcard_path);
	free(s);
	return rv;
}

CK_RV
slot_table_init_inlock(void)
{
	const struct settings *set = module_settings();
	struct ksp_policy policy;
	struct slot *s;
	enum ksp_rv krv;
	size_t i;
	CK_RV rv;

	ksp_policy_default(&policy);
	policy.rsa_min_bits = set->rsa_min_bits;
	policy.rsa_max_bits = set->rsa_max_bits;
	policy.rsa_default_bits = set->rsa_default_bits;
	policy.allow_exchange_import = set->allow_import_exchange;
	policy.allow_signature_import = set->allow_import_signature;
	policy.allow_ecdsa_import = set->allow_import_ecdsa;
	policy.allow_ecdhe_import = set->allow_import_ecdhe;
	policy.cache_dir = set->cache_mode == SETTINGS_CACHE_PERSISTENT ? set->cache_dir : NULL;

	krv = ksp_host_new(set->cfg, &policy, &st.host);
	if (krv == KSP_E_NO_MEMORY)
		return CKR_HOST_MEMORY;
	if (krv != KSP_OK) {
		fprintf(stderr, "mdp11: card module configuration: %s\n", mdp_err_last());
		log_error("card module configuration: %s", mdp_err_last());
		return CKR_GENERAL_ERROR;
	}
	for (i = 0; i < set->n_vcards; i++) {
		rv = slot_add_inlock("vcard", set->vcards[i].label, set->vcards[i].path, &s);
		if (rv != CKR_OK)
			return rv;
	}
	/* The readers present now are slots at once (a caller may skip the size query). */
	initial_scan = true;
	scan_readers_inlock();
	initial_scan = false;
	return CKR_OK;
}

/* Drop the card of a slot: objects, sessions' access, login. Keeps the slot. */
static void
detach_card(struct slot *s)
{
	object_view_clear_slocked(s);
	ksp_card_free(s->kc);
	s->kc = NULL;
	ksp_link_free(s->link);
	s->link = NULL;
	s->info_valid = false;
	s->view_valid = false;
	s->login = LOGIN_NONE;
	s->pin_failed = false;
}

void
slot_card_gone_slocked(struct slot *s)
{
	log_info("slot %lu (%s): card gone", s->id, s->name);
	detach_card(s);
	s->gen++;
	s->unrecognized = false;
	s->event = true;
}

void
slot_table_free_inlock(void)
{
	size_t i;

	slot_cancel_wait();
	while (atomic_load(&monitor_users) > 0)
		usleep(10000);
	pthread_mutex_lock(&monitor_lock);
	ksp_monitor_free(monitor);
	monitor = NULL;
	pthread_mutex_unlock(&monitor_lock);

	for (i = 0; i < st.count; i++) {
		struct slot *s = st.list[i];

		detach_card(s);
		free(s->sessions);
		lock_free(s->lock);
		free(s->name);
		free(s->vcard_path);
		free(s->problem);
		free(s);
	}
	free(st.list);
	ksp_host_free(st.host);
	memset(&st, 0, sizeof(st));
}

void
slot_table_forget(void)
{
	memset(&st, 0, sizeof(st));
	monitor = NULL;
	atomic_store(&monitor_users, 0);
	pthread_mutex_init(&monitor_lock, NULL);
	pthread_mutex_init(&ids_lock, NULL);
}

struct slot *
slot_lookup_inlock(CK_SLOT_ID id)
{
	size_t i;

	for (i = 0; i < st.count; i++)
		if (st.list[i]->id == id)
			return st.list[i];
	return NULL;
}

static struct slot *
slot_by_reader_inlock(const char *reader)
{
	size_t i;

	for (i = 0; i < st.count; i++)
		if (!st.list[i]->vcard_path && strcmp(st.list[i]->name, reader) == 0)
			return st.list[i];
	return NULL;
}

/* Bring the PC/SC slots in line with the readers present now (hot-plug). */
static void
scan_readers_inlock(void)
{
	const struct settings *set = module_settings();
	char **readers = NULL;
	size_t n = 0, i, j;
	enum ksp_rv krv;

	if (!set->pcsc)
		return;
	krv = ksp_readers(&readers, &n);
	if (krv != KSP_OK && krv != KSP_E_NO_SERVICE)
		log_warn("PC/SC reader list: %s", mdp_err_last());
	for (i = 0; i < st.count; i++) {
		struct slot *s = st.list[i];
		bool there = false;

		if (s->vcard_path)
			continue;
		for (j = 0; j < n && !there; j++)
			there = strcmp(readers[j], s->name) == 0;
		lock_take(s->lock);
		if (!there && s->attached) {
			log_info("reader %s removed (slot %lu)", s->name, s->id);
			if (s->link || s->kc)
				slot_card_gone_slocked(s);
			s->attached = false;
			s->event = true;
		} else if (there && !s->attached) {
			log_info("reader %s back (slot %lu)", s->name, s->id);
			s->attached = true;
			s->event = true;
		}
		lock_release(s->lock);
	}
	for (j = 0; j < n; j++) {
		struct slot *s;

		if (slot_by_reader_inlock(readers[j]) || !settings_reader_wanted(set, readers[j]))
			continue;
		if (slot_add_inlock("pcsc", readers[j], NULL, &s) == CKR_OK)
			log_info("reader %s is slot %lu", readers[j], s->id);
	}
	ksp_readers_free(readers, n);
}

/* A card is there: a token we can use, or a card no card module knows (§10.1). */
static bool
card_present_slocked(struct slot *s)
{
	CK_RV rv = slot_token_slocked(s);

	return rv == CKR_OK || rv == CKR_TOKEN_NOT_RECOGNIZED;
}

CK_RV
slot_list_inlock(CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count)
{
	CK_ULONG n = 0;
	size_t i;
	CK_RV rv = CKR_OK;

	/* The list may change only when the caller asks for its size (PKCS#11 §5.5). */
	if (!list)
		scan_readers_inlock();
	for (i = 0; i < st.count; i++) {
		struct slot *s = st.list[i];
		bool ok;

		if (!s->attached)
			continue;
		if (present) {
			lock_take(s->lock);
			ok = card_present_slocked(s);
			lock_release(s->lock);
			if (!ok)
				continue;
		}
		if (list && n < *count)
			list[n] = s->id;
		n++;
	}
	if (list && n > *count)
		rv = CKR_BUFFER_TOO_SMALL;
	*count = n;
	return rv;
}

CK_RV
slot_info_slocked(struct slot *s, CK_SLOT_INFO *info)
{
	bool present = s->attached && card_present_slocked(s);
	char desc[128];

	memset(info, 0, sizeof(*info));
	if (!present && s->problem)
		snprintf(desc, sizeof(desc), "%s (%s)", s->name, s->problem);
	else
		snprintf(desc, sizeof(desc), "%s", s->name);
	attr_pad(info->slotDescription, sizeof(info->slotDescription), desc);
	attr_pad(info->manufacturerID, sizeof(info->manufacturerID),
		 s->vcard_path ? "mdp11 virtual card" : "PC/SC");
	info->flags = CKF_HW_SLOT;
	if (!s->vcard_path)
		info->flags |= CKF_REMOVABLE_DEVICE;
	if (present)
		info->flags |= CKF_TOKEN_PRESENT;
	return CKR_OK;
}

CK_RV
slot_admin_key(const uint8_t *pin, size_t len, uint8_t key[SLOT_ADMIN_KEY_MAX], size_t *key_len)
{
	bool hex = len == 32 || len == 48 || len == 64;
	size_t i;

	if (!pin)
		return CKR_ARGUMENTS_BAD;
	for (i = 0; hex && i < len; i++)
		hex = mdp_hex_digit(pin[i]) >= 0;
	if (hex) {
		for (i = 0; i < len; i += 2)
			key[i / 2] =
				(uint8_t)(mdp_hex_digit(pin[i]) << 4 | mdp_hex_digit(pin[i + 1]));
		*key_len = len / 2;
		return CKR_OK;
	}
	/* 16, 24 or 32 bytes as they are (32 bytes of hex digits were taken as hex above) */
	if (len == 16 || len == 24 || len == 32) {
		memcpy(key, pin, len);
		*key_len = len;
		return CKR_OK;
	}
	return p11_refuse(len == 32 || len == 48 || len == 64 ? CKR_PIN_INVALID : CKR_PIN_LEN_RANGE,
			  "the SO PIN is the admin key: 32, 48 or 64 hex digits (16, 24 or 32 "
			  "bytes; GIDS takes 24, PIV 24 for 3DES and 16/24/32 for AES)");
}

/*
 * The one place where an error of the layer below acts on the slot: a card that went away is
 * detached (its sessions end), a reset by someone else ends the login (spec/minidriver.md
 * §10.3: the caller then sees CKR_USER_NOT_LOGGED_IN), a blocked PIN makes the token flags stale.
 * The code itself comes from the one map, ckr_from_ksp().
 */
CK_RV
slot_result_slocked(struct slot *s, enum ksp_rv rv)
{
	switch (rv) {
	case KSP_E_CARD_REMOVED:
		slot_card_gone_slocked(s);
		break;
	case KSP_E_CARD_RESET:
		if (s->login != LOGIN_NONE) {
			s->login = LOGIN_NONE;
			s->view_valid = false;
			rv = KSP_E_NOT_LOGGED_IN;
		}
		break;
	case KSP_E_PIN_BLOCKED:
		s->info_valid = false;
		break;
	case KSP_E_NO_ACCESS:
		/* The embedded card refuses so only when its seal is missing (docs/vcard.md). */
		if (s->vcard_path)
			rv = KSP_E_DEVICE;
		break;
	default:
		break;
	}
	return ckr_from_ksp(rv);
}

/*
 * A card that cannot be used says why, never a bare empty slot: a few words in the slot
 * description (C_GetSlotInfo), the whole reason once in the log at the default level
 * (warnings are shown unless debug = 0). what NULL: the card is usable (again).
 */
static void
slot_problem(struct slot *s, const char *what)
{
	if (!what) {
		if (s->problem)
			log_info("slot %lu (%s): the card is usable again", s->id, s->name);
		free(s->problem);
		s->problem = NULL;
		return;
	}
	if (s->problem && strcmp(s->problem, what) == 0)
		return;
	free(s->problem);
	s->problem = strdup(what);
	log_warn("slot %lu (%s): %s", s->id, s->name, mdp_err_last());
}

/* Connect the link and, once per insertion, ask the card modules whether they know the card. */
static CK_RV
attach_card(struct slot *s)
{
	char what[48];
	enum ksp_rv krv;

	if (!s->link) {
		if (s->vcard_path)
			krv = ksp_link_open_vcard(
				s->vcard_path,
				settings_vcard_seal(module_settings(), s->vcard_path), &s->link,
				what, sizeof(what));
		else
			krv = ksp_link_open_reader(s->name, &s->link, what, sizeof(what));
		if (krv != KSP_OK) {
			/* an empty reader is no problem; anything else says why */
			slot_problem(s, what[0] ? what : NULL);
			return ckr_from_ksp(krv);
		}
	}
	if (s->unrecognized)
		return CKR_TOKEN_NOT_RECOGNIZED;
	krv = ksp_card_attach(st.host, s->link, &s->kc);
	if (krv == KSP_E_UNKNOWN_CARD) {
		/* Remembered until the card goes: no endless probing (§10.1). */
		log_info("slot %lu (%s): no card module recognises the card", s->id, s->name);
		s->unrecognized = true;
		return CKR_TOKEN_NOT_RECOGNIZED;
	}
	if (krv != KSP_OK) {
		slot_problem(s, "card not usable, see the log");
		return slot_result_slocked(s, krv);
	}
	slot_problem(s, NULL);
	s->view_valid = false;
	s->info_valid = false;
	log_debug("slot %lu (%s): card attached (%s)", s->id, s->name, ksp_card_module_name(s->kc));
	return CKR_OK;
}

/*
 * The transport says the card was reset or replaced since we last looked. Open it again and
 * compare cardids: the same card was only reset by someone else, so its login state is gone
 * but the sessions and object handles stay (spec/minidriver.md §10.3); another card ends the
 * sessions of the old one (CKR_DEVICE_REMOVED).
 */
static CK_RV
card_changed(struct slot *s)
{
	struct ksp_token_info ti;
	uint8_t old_id[16];
	bool have_old = ksp_token_info(s->kc, &ti) == KSP_OK;
	CK_RV rv;

	if (have_old)
		memcpy(old_id, ti.cardid, sizeof(old_id));
	ksp_card_free(s->kc);
	s->kc = NULL;
	ksp_link_free(s->link);
	s->link = NULL;
	s->info_valid = false;
	s->view_valid = false;
	s->login = LOGIN_NONE;
	rv = attach_card(s);
	if (rv == CKR_OK && have_old && ksp_token_info(s->kc, &ti) == KSP_OK &&
	    memcmp(ti.cardid, old_id, sizeof(old_id)) == 0) {
		log_info("slot %lu (%s): card reset by someone else: login state dropped", s->id,
			 s->name);
		return CKR_OK;
	}
	/* Another card (or none that opens): the old one's sessions end. */
	slot_card_gone_slocked(s);
	return rv == CKR_OK ? attach_card(s) : rv;
}

CK_RV
slot_token_slocked(struct slot *s)
{
	bool changed = false, present = false, reset = false;
	enum ksp_rv krv;
	CK_RV rv;

	if (!s->attached)
		return CKR_TOKEN_NOT_PRESENT;
	if (s->link) {
		if (ksp_link_status(s->link, &present, &reset) != KSP_OK || !present) {
			slot_card_gone_slocked(s);
			return CKR_TOKEN_NOT_PRESENT;
		}
		if (reset && s->kc) {
			rv = card_changed(s);
			if (rv != CKR_OK)
				return rv;
		}
	}
	if (!s->kc) {
		rv = attach_card(s);
		if (rv != CKR_OK)
			return rv;
	}
	krv = ksp_card_refresh(s->kc, &changed);
	if (krv != KSP_OK) {
		rv = slot_result_slocked(s, krv);
		if (rv == CKR_USER_NOT_LOGGED_IN)
			krv = ksp_card_refresh(s->kc, &changed);
		if (krv != KSP_OK)
			return rv == CKR_DEVICE_REMOVED ? CKR_TOKEN_NOT_PRESENT : rv;
	}
	if (changed) {
		s->info_valid = false;
		s->view_valid = false;
	}
	if (!s->view_valid) {
		rv = object_view_rebuild_slocked(s);
		if (rv != CKR_OK)
			return rv;
		s->view_valid = true;
	}
	return CKR_OK;
}

CK_RV
slot_present_slocked(struct slot *s)
{
	bool present = false, changed = false;

	if (!s->kc || !s->link)
		return slot_token_slocked(s);
	if (ksp_link_status(s->link, &present, &changed) != KSP_OK || !present || changed)
		return slot_token_slocked(s);
	return CKR_OK;
}

static CK_RV
token_facts(struct slot *s)
{
	enum ksp_rv krv;

	if (s->info_valid)
		return CKR_OK;
	krv = ksp_token_info(s->kc, &s->info);
	if (krv != KSP_OK)
		return slot_result_slocked(s, krv);
	s->info_valid = true;
	return CKR_OK;
}

/* The label the token shows: [token] label, the virtual card's label, or card name + serial. */
static void
token_label(const struct slot *s, char *label, size_t cap)
{
	const struct settings *set = module_settings();

	if (set->token_label)
		snprintf(label, cap, "%s", set->token_label);
	else if (s->vcard_path)
		snprintf(label, cap, "%s", s->name);
	else
		snprintf(label, cap, "%s %.8s", s->info.card_name, s->info.serial);
}

CK_RV
slot_token_info_slocked(struct slot *s, CK_TOKEN_INFO *info)
{
	struct ksp_pin_info pi;
	char label[96];
	size_t i, all = 0, rw = 0;
	enum ksp_rv krv;
	CK_RV rv;

	rv = slot_token_slocked(s);
	if (rv != CKR_OK)
		return rv;
	rv = token_facts(s);
	if (rv != CKR_OK)
		return rv;
	/* The card's retry counter, read again only when someone else may have used the card. */
	krv = ksp_pin_tries_refresh(s->kc);
	if (krv == KSP_OK)
		krv = ksp_pin_info(s->kc, &pi);
	if (krv != KSP_OK)
		return slot_result_slocked(s, krv);

	memset(info, 0, sizeof(*info));
	token_label(s, label, sizeof(label));
	attr_pad(info->label, sizeof(info->label), label);
	attr_pad(info->manufacturerID, sizeof(info->manufacturerID), "mdp11");
	attr_pad(info->model, sizeof(info->model), s->info.card_name);
	attr_pad(info->serialNumber, sizeof(info->serialNumber), s->info.serial);
	info->flags =
		CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
	if (s->info.read_only)
		info->flags |= CKF_WRITE_PROTECTED;
	if (pi.external)
		info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
	if (pi.blocked)
		info->flags |= CKF_USER_PIN_LOCKED;
	else if (pi.tries_left == 1)
		info->flags |= CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_COUNT_LOW;
	else if (pi.tries_left >= 0 && pi.tries_max > 0 ? pi.tries_left < pi.tries_max
							: s->pin_failed)
		/* the card's counter; this process's own failures only when the card cannot tell */
		info->flags |= CKF_USER_PIN_COUNT_LOW;
	for (i = 0; i < s->nsessions; i++) {
		if (s->sessions[i]->gen != s->gen)
			continue;
		all++;
		if (session_is_rw(s->sessions[i]))
			rw++;
	}
	info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulSessionCount = all;
	info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulRwSessionCount = rw;
	info->ulMaxPinLen = s->info.pin_max_len ? s->info.pin_max_len : 16;
	info->ulMinPinLen = s->info.pin_min_len ? s->info.pin_min_len : 4;
	info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePublicMemory =
		s->info.free_bytes == UINT32_MAX ? CK_UNAVAILABLE_INFORMATION : s->info.free_bytes;
	info->ulFreePrivateMemory = info->ulFreePublicMemory;
	memset(info->utcTime, ' ', sizeof(info->utcTime));
	return CKR_OK;
}

CK_RV
slot_mechanisms_slocked(struct slot *s, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
	CK_RV rv = slot_token_slocked(s);

	if (rv == CKR_OK)
		rv = token_facts(s);
	if (rv != CKR_OK)
		return rv;
	return crypto_mechanism_list(&s->info, list, count);
}

CK_RV
slot_mechanism_info_slocked(struct slot *s, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	CK_RV rv = slot_token_slocked(s);

	if (rv == CKR_OK)
		rv = token_facts(s);
	if (rv != CKR_OK)
		return rv;
	return crypto_mechanism_info(&s->info, type, info);
}

CK_RV
slot_init_token_slocked(struct slot *s, const uint8_t *so_pin, size_t so_len, const char *label)
{
	uint8_t key[SLOT_ADMIN_KEY_MAX];
	size_t key_len = 0;
	enum ksp_rv krv;
	CK_RV rv;

	rv = slot_token_slocked(s);
	if (rv != CKR_OK)
		return rv;
	/* PKCS#11 §5.6: not while sessions are open. */
	if (s->nsessions)
		return CKR_SESSION_EXISTS;
	/*
	 * The card has no place for a token label: a label other than a blank one or the one
	 * the token shows would be dropped, so the call is refused before the card is touched.
	 */
	if (*label) {
		char shown[96];
		size_t n;

		rv = token_facts(s);
		if (rv != CKR_OK)
			return rv;
		token_label(s, shown, sizeof(shown));
		n = strlen(shown) > 32 ? 32 : strlen(shown);
		while (n > 0 && shown[n - 1] == ' ')
			n--;
		shown[n] = '\0';
		if (strcmp(label, shown) != 0)
			return p11_refuse(CKR_ARGUMENTS_BAD,
					  "label \"%s\": the card has no place for a token label; "
					  "give a blank label or the one the token shows (\"%s\"), "
					  "or name every token with [token] label in mdp11.conf",
					  label, shown);
	}
	rv = slot_admin_key(so_pin, so_len, key, &key_len);
	if (rv != CKR_OK)
		return rv;
	krv = ksp_reinit(s->kc, key, key_len, NULL, 0);
	mdp_wipe(key, sizeof(key));
	s->info_valid = false;
	s->view_valid = false;
	if (krv != KSP_OK)
		return slot_result_slocked(s, krv);
	log_info("slot %lu: token re-personalised", s->id);
	return slot_token_slocked(s);
}

/* ---- C_WaitForSlotEvent ---- */

static bool
take_event_inlock(CK_SLOT_ID *out)
{
	size_t i;

	for (i = 0; i < st.count; i++) {
		struct slot *s = st.list[i];
		bool ev;

		lock_take(s->lock);
		ev = s->event;
		s->event = false;
		lock_release(s->lock);
		if (ev) {
			*out = s->id;
			return true;
		}
	}
	return false;
}

/* One round of PC/SC monitoring: true (and *ev) when a reader or card changed. */
static bool
poll_pcsc(int timeout_ms, const struct settings *set, struct ksp_event *ev)
{
	struct ksp_monitor *m;
	bool changed = false;
	enum ksp_rv krv;

	if (set->pcsc) {
		pthread_mutex_lock(&monitor_lock);
		if (!monitor && ksp_monitor_new(&monitor) != KSP_OK)
			monitor = NULL;
		m = monitor;
		if (m)
			atomic_fetch_add(&monitor_users, 1);
		pthread_mutex_unlock(&monitor_lock);
		if (m) {
			krv = ksp_monitor_wait(m, timeout_ms, &changed, ev);
			atomic_fetch_sub(&monitor_users, 1);
			if (krv == KSP_OK)
				return changed;
		}
	}
	/* No PC/SC service: only virtual cards, whose events come from their use. */
	if (timeout_ms)
		usleep(200000);
	return false;
}

/* Apply one PC/SC event to the slot table (module lock). */
static void
apply_event_inlock(const struct ksp_event *ev)
{
	struct slot *s;

	if (!ev->reader[0]) {
		scan_readers_inlock();
		return;
	}
	s = slot_by_reader_inlock(ev->reader);
	if (!s) {
		scan_readers_inlock();
		return;
	}
	lock_take(s->lock);
	if (!ev->present && (s->link || s->kc || s->unrecognized))
		slot_card_gone_slocked(s);
	else if (ev->present)
		s->event = true;
	s->unrecognized = s->unrecognized && ev->present;
	lock_release(s->lock);
}

void
slot_cancel_wait(void)
{
	pthread_mutex_lock(&monitor_lock);
	if (monitor)
		ksp_monitor_cancel(monitor);
	pthread_mutex_unlock(&monitor_lock);
}

CK_RV
slot_wait_event(CK_FLAGS flags, CK_SLOT_ID *out)
{
	const struct settings *set = module_settings();
	bool dont_block = (flags & CKF_DONT_BLOCK) != 0;
	struct ksp_event ev;
	CK_RV rv = CKR_NO_EVENT;

	for (;;) {
		bool changed, found;

		if (!module_wait_enter())
			return CKR_CRYPTOKI_NOT_INITIALIZED;
		changed = poll_pcsc(dont_block ? 0 : 500, set, &ev);
		if (!module_running()) {
			module_wait_leave();
			return CKR_CRYPTOKI_NOT_INITIALIZED;
		}
		module_lock();
		if (changed)
			apply_event_inlock(&ev);
		found = take_event_inlock(out);
		module_unlock();
		module_wait_leave();
		if (found)
			return CKR_OK;
		if (dont_block)
			return rv;
	}
}
