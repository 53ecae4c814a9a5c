/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sessions: the handle table, session state, and login (spec/minidriver.md §10.3). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/log.h"
#include "common/secmem.h"
#include "pkcs11/module.h"

/* Handle table (module lock). Handles are keys, never pointers; they are never reused. */
static struct {
	struct session **list;
	size_t count;
	CK_SESSION_HANDLE next;
} table;

#define MAX_SESSIONS 1024

struct session *
session_lookup_inlock(CK_SESSION_HANDLE h)
{
	size_t i;

	for (i = 0; i < table.count; i++)
		if (table.list[i]->handle == h)
			return table.list[i];
	return NULL;
}

bool
session_is_rw(const struct session *s)
{
	return (s->flags & CKF_RW_SESSION) != 0;
}

void
session_op_clear(struct op *op)
{
	EVP_MD_CTX_free(op->mdctx);
	EVP_PKEY_free(op->pub);
	if (op->acc)
		mdp_secure_free(op->acc, op->acc_len);
	if (op->oaep_label)
		free(op->oaep_label);
	memset(op, 0, sizeof(*op));
}

void
session_free(struct session *s)
{
	int k;

	if (!s)
		return;
	for (k = 0; k < OP_COUNT; k++)
		session_op_clear(&s->op[k]);
	free(s->found);
	free(s);
}

/* Live sessions of a slot: those opened on the card that is in it now. */
static void
count_sessions(const struct slot *slot, size_t *all, size_t *rw)
{
	size_t i;

	*all = *rw = 0;
	for (i = 0; i < slot->nsessions; i++) {
		if (slot->sessions[i]->gen != slot->gen)
			continue;
		(*all)++;
		if (session_is_rw(slot->sessions[i]))
			(*rw)++;
	}
}

CK_RV
session_open_inlock(struct slot *slot, CK_FLAGS flags, CK_SESSION_HANDLE *out)
{
	struct session *s, **l, **sl;
	size_t all, rw;

	if (table.count >= MAX_SESSIONS)
		return CKR_SESSION_COUNT;
	/* PKCS#11 §5.6: an SO session cannot coexist with a read-only session. */
	if (slot->login == CKU_SO && !(flags & CKF_RW_SESSION))
		return CKR_SESSION_READ_WRITE_SO_EXISTS;
	count_sessions(slot, &all, &rw);
	s = calloc(1, sizeof(*s));
	if (!s)
		return CKR_HOST_MEMORY;
	l = realloc(table.list, (table.count + 1) * sizeof(*l));
	if (!l) {
		free(s);
		return CKR_HOST_MEMORY;
	}
	table.list = l;
	sl = realloc(slot->sessions, (slot->nsessions + 1) * sizeof(*sl));
	if (!sl) {
		free(s);
		return CKR_HOST_MEMORY;
	}
	slot->sessions = sl;
	s->handle = ++table.next;
	s->slot = slot;
	s->gen = slot->gen;
	s->flags = flags;
	table.list[table.count++] = s;
	slot->sessions[slot->nsessions++] = s;
	*out = s->handle;
	log_debug("session %lu opened on slot %lu (%s)", s->handle, slot->id,
		  (flags & CKF_RW_SESSION) ? "rw" : "ro");
	return CKR_OK;
}

/* Remove from both tables; when the last live session of a token closes, log out (§5.6). */
static void
unlink_session(struct session *s)
{
	struct slot *slot = s->slot;
	size_t i, all, rw;

	for (i = 0; i < table.count; i++) {
		if (table.list[i] == s) {
			table.list[i] = table.list[--table.count];
			break;
		}
	}
	for (i = 0; i < slot->nsessions; i++) {
		if (slot->sessions[i] == s) {
			slot->sessions[i] = slot->sessions[--slot->nsessions];
			break;
		}
	}
	if (s->gen == slot->gen)
		object_session_gone_slocked(slot, s->handle);
	count_sessions(slot, &all, &rw);
	if (all == 0 && slot->login != LOGIN_NONE) {
		if (slot->kc)
			ksp_logout(slot->kc);
		slot->login = LOGIN_NONE;
	}
	if (s->busy)
		s->closed = true; /* the call signing on it frees it when it leaves */
	else
		session_free(s);
}

CK_RV
session_close_inlock(struct session *s)
{
	log_debug("session %lu closed", s->handle);
	unlink_session(s);
	return CKR_OK;
}

CK_RV
session_close_all_inlock(struct slot *slot)
{
	while (slot->nsessions)
		unlink_session(slot->sessions[slot->nsessions - 1]);
	return CKR_OK;
}

void
session_table_free_inlock(void)
{
	size_t i;

	for (i = 0; i < table.count; i++) {
		struct session *s = table.list[i];

		s->slot->nsessions = 0;
		session_free(s);
	}
	free(table.list);
	memset(&table, 0, sizeof(table));
}

void
session_table_forget(void)
{
	memset(&table, 0, sizeof(table));
}

CK_RV
session_info_slocked(struct session *s, CK_SESSION_INFO *info)
{
	bool rw = session_is_rw(s);

	memset(info, 0, sizeof(*info));
	info->slotID = s->slot->id;
	info->flags = s->flags;
	switch (s->slot->login) {
	case CKU_USER:
		info->state = rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
		break;
	case CKU_SO:
		info->state = CKS_RW_SO_FUNCTIONS;
		break;
	default:
		info->state = rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
		break;
	}
	return CKR_OK;
}

static bool
any_ro_session(const struct slot *slot)
{
	size_t i;

	for (i = 0; i < slot->nsessions; i++)
		if (slot->sessions[i]->gen == slot->gen && !session_is_rw(slot->sessions[i]))
			return true;
	return false;
}

CK_RV
session_login_slocked(struct session *s, CK_USER_TYPE type, const uint8_t *pin, size_t len)
{
	struct slot *slot = s->slot;
	struct ksp_pin_info pi;
	uint8_t key[SLOT_ADMIN_KEY_MAX];
	size_t key_len = 0;
	enum ksp_rv krv;
	CK_RV rv;

	if (type != CKU_USER && type != CKU_SO && type != CKU_CONTEXT_SPECIFIC)
		return CKR_USER_TYPE_INVALID;
	if (type == CKU_CONTEXT_SPECIFIC)
		return crypto_context_login_slocked(s, pin, len);
	if (slot->login == type)
		return CKR_USER_ALREADY_LOGGED_IN;
	if (slot->login != LOGIN_NONE)
		return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
	if (type == CKU_SO && any_ro_session(slot))
		return CKR_SESSION_READ_ONLY_EXISTS;

	krv = ksp_pin_info(slot->kc, &pi);
	if (krv != KSP_OK)
		return slot_result_slocked(slot, krv);
	if (type == CKU_USER) {
		if (pi.blocked)
			return CKR_PIN_LOCKED;
		if (!pin && !pi.external)
			return CKR_ARGUMENTS_BAD;
		krv = ksp_login_user(slot->kc, pin, len);
	} else {
		rv = slot_admin_key(pin, len, key, &key_len);
		if (rv != CKR_OK)
			return rv;
		krv = ksp_login_admin(slot->kc, key, key_len);
		mdp_wipe(key, sizeof(key));
	}
	if (krv != KSP_OK) {
		rv = slot_result_slocked(slot, krv);
		if (type == CKU_USER && (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED))
			slot->pin_failed = true;
		log_info("login as %s failed: %s", type == CKU_SO ? "SO" : "user", ckr_name(rv));
		return rv;
	}
	if (type == CKU_USER)
		slot->pin_failed = false;
	slot->login = type;
	slot->info_valid = false; /* PIN counters changed */
	/* Private objects (data objects) become visible. */
	slot->view_valid = false;
	return slot_token_slocked(slot);
}

CK_RV
session_logout_slocked(struct session *s)
{
	struct slot *slot = s->slot;
	enum ksp_rv krv;

	if (slot->login == LOGIN_NONE)
		return CKR_USER_NOT_LOGGED_IN;
	krv = ksp_logout(slot->kc);
	slot->login = LOGIN_NONE;
	slot->view_valid = false;
	if (krv != KSP_OK)
		return slot_result_slocked(slot, krv);
	return slot_token_slocked(slot);
}

CK_RV
session_init_pin_slocked(struct session *s, const uint8_t *pin, size_t len)
{
	struct slot *slot = s->slot;
	enum ksp_rv krv;

	if (slot->login != CKU_SO)
		return CKR_USER_NOT_LOGGED_IN;
	if (!session_is_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (!pin)
		return CKR_ARGUMENTS_BAD;
	krv = ksp_init_pin(slot->kc, pin, len);
	slot->info_valid = false;
	if (krv == KSP_OK)
		slot->pin_failed = false;
	return krv == KSP_OK ? CKR_OK : slot_result_slocked(slot, krv);
}

CK_RV
session_set_pin_slocked(struct session *s, const uint8_t *old_pin, size_t old_len,
			const uint8_t *new_pin, size_t new_len)
{
	struct slot *slot = s->slot;
	uint8_t old_key[SLOT_ADMIN_KEY_MAX], new_key[SLOT_ADMIN_KEY_MAX];
	size_t old_key_len = 0, new_key_len = 0;
	enum ksp_rv krv;
	CK_RV rv;

	if (!session_is_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (!old_pin || !new_pin)
		return CKR_ARGUMENTS_BAD;
	slot->info_valid = false;
	if (slot->login == CKU_SO) {
		rv = slot_admin_key(old_pin, old_len, old_key, &old_key_len);
		if (rv != CKR_OK)
			return rv;
		rv = slot_admin_key(new_pin, new_len, new_key, &new_key_len);
		if (rv == CKR_OK) {
			krv = ksp_change_admin_key(slot->kc, old_key, old_key_len, new_key,
						   new_key_len);
			rv = krv == KSP_OK ? CKR_OK : slot_result_slocked(slot, krv);
		}
		mdp_wipe(old_key, sizeof(old_key));
		mdp_wipe(new_key, sizeof(new_key));
		return rv;
	}
	/* Public session or user: the user PIN (PKCS#11 allows C_SetPIN without login). */
	krv = ksp_change_pin(slot->kc, old_pin, old_len, new_pin, new_len);
	rv = krv == KSP_OK ? CKR_OK : slot_result_slocked(slot, krv);
	if (rv == CKR_OK || rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED)
		slot->pin_failed = rv != CKR_OK;
	return rv;
}

CK_RV
session_check_writable_slocked(struct session *se)
{
	struct slot *s = se->slot;
	struct ksp_token_info ti;

	if (!session_is_rw(se))
		return CKR_SESSION_READ_ONLY;
	if (s->login == CKU_USER)
		return CKR_OK;
	/* the SO on a card whose admin alone changes keys and certificates (PIV's management
	 * key, the SO of ykcs11; docs/piv.md "The host side") */
	if (s->login == CKU_SO && ksp_token_info(s->kc, &ti) == KSP_OK && ti.admin_writes)
		return CKR_OK;
	return CKR_USER_NOT_LOGGED_IN;
}
