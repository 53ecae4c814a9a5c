/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The C_* entry points: argument checks, locking, tracing; the work is in the _inlock helpers. */
#include "config.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/log.h"
#include "common/secmem.h"
#include "pkcs11/module.h"

#define EXPORT __attribute__((visibility("default")))

/*
 * Global state. init_lock (a plain pthread mutex, always valid) serialises C_Initialize and
 * C_Finalize; mod.lock is the module mutex of the locking rules in module.h. pid is the
 * process that initialised: a forked child sees a different pid and gets
 * CKR_CRYPTOKI_NOT_INITIALIZED until it calls C_Initialize itself (PKCS#11 2.40 §6.7.1).
 */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static struct {
	_Atomic bool initialized;
	_Atomic pid_t pid;
	struct mod_mutex *lock;
	struct settings settings;
} mod;
static _Atomic CK_ULONG next_handle = 1;

/*
 * Calls in flight (docs/pkcs11.md, Threads): every C_* function that uses the module's state
 * counts itself in with call_enter() and out with call_leave(). C_Finalize first clears
 * mod.initialized, so that new calls answer CKR_CRYPTOKI_NOT_INITIALIZED, then waits until the
 * calls already inside have left before it frees anything: a call in flight finishes, none
 * touches freed memory. The counter and the flag are sequentially consistent atomics, so a call
 * either sees the flag cleared or is seen by C_Finalize (the usual store-then-load pairing).
 */
static _Atomic int calls;
static _Atomic bool draining;
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drain_cv = PTHREAD_COND_INITIALIZER;

static void
call_leave(void)
{
	if (atomic_fetch_sub(&calls, 1) == 1 && atomic_load(&draining)) {
		pthread_mutex_lock(&drain_lock);
		pthread_cond_broadcast(&drain_cv);
		pthread_mutex_unlock(&drain_lock);
	}
}

static bool
call_enter(void)
{
	atomic_fetch_add(&calls, 1);
	if (atomic_load(&mod.initialized))
		return true;
	call_leave();
	return false;
}

/* C_Finalize: wait for the calls in flight, waking C_WaitForSlotEvent callers as they block. */
static void
drain_calls(void)
{
	struct timespec ts;

	atomic_store(&draining, true);
	pthread_mutex_lock(&drain_lock);
	while (atomic_load(&calls) > 0) {
		slot_cancel_wait();
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&drain_cv, &drain_lock, &ts);
	}
	pthread_mutex_unlock(&drain_lock);
	atomic_store(&draining, false);
}

CK_OBJECT_HANDLE
module_new_handle(void)
{
	return atomic_fetch_add(&next_handle, 1);
}

const struct settings *
module_settings(void)
{
	return &mod.settings;
}

/*
 * Initialised in this process? The fork child handler clears the flag, so the hot path needs
 * no getpid() (a system call per C_* call); the pid comparison is kept for C_Initialize, which
 * also covers a child created without fork() (raw clone).
 */
static bool
is_initialized(void)
{
	return atomic_load(&mod.initialized);
}

static bool
is_initialized_here(void)
{
	return atomic_load(&mod.initialized) && atomic_load(&mod.pid) == getpid();
}

/*
 * In the child of a fork the parent's state is a copy whose card handles and PC/SC contexts
 * belong to the parent: forget it without releasing anything (releasing would act on the
 * parent's connections) and start from scratch at the child's C_Initialize.
 */
static void
atfork_child(void)
{
	pthread_mutex_init(&init_lock, NULL);
	pthread_mutex_init(&drain_lock, NULL);
	pthread_cond_init(&drain_cv, NULL);
	atomic_store(&mod.initialized, false);
	memset(&mod.settings, 0, sizeof(mod.settings));
	mod.lock = NULL;
	/* the parent's calls in flight are not this process's */
	atomic_store(&calls, 0);
	atomic_store(&draining, false);
	session_table_forget();
	slot_table_forget();
}

static void
register_atfork(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

bool
module_running(void)
{
	return is_initialized();
}

bool
module_wait_enter(void)
{
	return call_enter();
}

void
module_wait_leave(void)
{
	call_leave();
}

void
module_lock(void)
{
	lock_take(mod.lock);
}

void
module_unlock(void)
{
	lock_release(mod.lock);
}

#define TRACE_IN(...)                   \
	do {                            \
		p11_call_begin();       \
		log_trace(__VA_ARGS__); \
	} while (0)
#define TRACE_OUT(name, rv) p11_call_result(name, rv)

/* ---- helpers: enter a slot or a session with the locks the rules ask for ---- */

static CK_RV
enter_slot(CK_SLOT_ID id, struct slot **out)
{
	struct slot *s;

	if (!call_enter())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	lock_take(mod.lock);
	s = slot_lookup_inlock(id);
	if (s)
		lock_take(s->lock);
	lock_release(mod.lock);
	if (!s) {
		call_leave();
		return CKR_SLOT_ID_INVALID;
	}
	*out = s;
	return CKR_OK;
}

static void
leave_slot(struct slot *s)
{
	lock_release(s->lock);
	call_leave();
}

/*
 * Session calls: look the handle up, lock its slot, and check that the card the session was
 * opened on is still there (a removed card ends its sessions with CKR_DEVICE_REMOVED; the
 * handle stays valid for C_CloseSession). fresh: also bring the view up to date (cardcf,
 * one APDU, which also shows a reset by another process and so the loss of the login); the
 * calls that continue an operation begun by an *Init call only check presence, which costs
 * no APDU (spec/minidriver.md §5.3: the host reads cardcf once per transaction, not per
 * step).
 */
static CK_RV
enter_session_mode(CK_SESSION_HANDLE h, struct session **out, bool fresh)
{
	struct session *se;
	CK_RV rv;

	if (!call_enter())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	for (;;) {
		lock_take(mod.lock);
		se = session_lookup_inlock(h);
		if (se)
			lock_take(se->slot->lock);
		lock_release(mod.lock);
		if (!se) {
			call_leave();
			return CKR_SESSION_HANDLE_INVALID;
		}
		if (!se->busy)
			break;
		/* Another thread signs on this session without the slot lock: one call at a time.
		 */
		lock_release(se->slot->lock);
		{
			struct timespec ts = {0, 20000};

			nanosleep(&ts, NULL);
		}
	}
	if (se->gen == se->slot->gen) {
		rv = fresh ? slot_token_slocked(se->slot) : slot_present_slocked(se->slot);
		if (rv == CKR_OK && se->gen == se->slot->gen) {
			*out = se;
			return CKR_OK;
		}
	}
	lock_release(se->slot->lock);
	call_leave();
	return CKR_DEVICE_REMOVED;
}

static CK_RV
enter_session(CK_SESSION_HANDLE h, struct session **out)
{
	return enter_session_mode(h, out, true);
}

/* For calls that continue an operation or only read session state. */
static CK_RV
enter_session_light(CK_SESSION_HANDLE h, struct session **out)
{
	return enter_session_mode(h, out, false);
}

static void
leave_session(struct session *se)
{
	struct slot *s = se->slot;

	if (se->closed && !se->busy)
		session_free(se); /* closed by another thread while this call signed */
	lock_release(s->lock);
	call_leave();
}

/* ---- general purpose ---- */

static CK_RV
check_init_args(const CK_C_INITIALIZE_ARGS *a)
{
	int n;

	if (!a)
		return CKR_OK;
	if (a->pReserved)
		return CKR_ARGUMENTS_BAD;
	n = !!a->CreateMutex + !!a->DestroyMutex + !!a->LockMutex + !!a->UnlockMutex;
	if (n != 0 && n != 4)
		return CKR_ARGUMENTS_BAD;
	return CKR_OK;
}

static CK_RV
mdp_C_Initialize(CK_VOID_PTR pInitArgs)
{
	const CK_C_INITIALIZE_ARGS *args = pInitArgs;
	CK_RV rv;

	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&init_lock);
	mdp_log_init_env();
	TRACE_IN("C_Initialize(%p)", pInitArgs);
	rv = check_init_args(args);
	if (rv != CKR_OK)
		goto out;
	if (is_initialized_here()) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto out;
	}
	lock_configure(args);
	rv = settings_load(&mod.settings);
	if (rv != CKR_OK)
		goto out;
	if (!getenv("MDP11_DEBUG")) {
		/* debug (default 2: errors and warnings) and debug_file, checked by settings_load
		 */
		char spec[8];

		snprintf(spec, sizeof(spec), "%d", mod.settings.debug);
		if (mdp_log_configure(spec, mod.settings.debug_file) < 0)
			mdp_log_configure(spec, NULL);
	}
	rv = lock_new(&mod.lock);
	if (rv != CKR_OK)
		goto out_settings;
	lock_take(mod.lock);
	rv = slot_table_init_inlock();
	lock_release(mod.lock);
	if (rv != CKR_OK)
		goto out_lock;
	atomic_store(&mod.pid, getpid());
	atomic_store(&mod.initialized, true);
	log_info("mdp11 %s initialised: %zu virtual card(s), PC/SC %s", MDP11_VERSION,
		 mod.settings.n_vcards, mod.settings.pcsc ? "on" : "off");
	goto out;
out_lock:
	lock_free(mod.lock);
	mod.lock = NULL;
out_settings:
	settings_clear(&mod.settings);
out:
	TRACE_OUT("C_Initialize", rv);
	pthread_mutex_unlock(&init_lock);
	return rv;
}

static CK_RV
mdp_C_Finalize(CK_VOID_PTR pReserved)
{
	CK_RV rv = CKR_OK;

	pthread_mutex_lock(&init_lock);
	TRACE_IN("C_Finalize");
	if (pReserved) {
		rv = CKR_ARGUMENTS_BAD;
	} else if (!is_initialized()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	} else {
		/* New calls fail from here; those in flight (C_WaitForSlotEvent woken) finish
		 * before anything is freed. */
		atomic_store(&mod.initialized, false);
		drain_calls();
		lock_take(mod.lock);
		session_table_free_inlock();
		slot_table_free_inlock();
		lock_release(mod.lock);
		lock_free(mod.lock);
		mod.lock = NULL;
		settings_clear(&mod.settings);
	}
	TRACE_OUT("C_Finalize", rv);
	pthread_mutex_unlock(&init_lock);
	return rv;
}

static CK_RV
mdp_C_GetInfo(CK_INFO_PTR pInfo)
{
	CK_RV rv = CKR_OK;

	TRACE_IN("C_GetInfo");
	if (!is_initialized()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	} else if (!pInfo) {
		rv = CKR_ARGUMENTS_BAD;
	} else {
		memset(pInfo, 0, sizeof(*pInfo));
		pInfo->cryptokiVersion.major = 2;
		pInfo->cryptokiVersion.minor = 40;
		attr_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "mdp11");
		attr_pad(pInfo->libraryDescription, sizeof(pInfo->libraryDescription),
			 "mdp11 minidriver PKCS#11 module");
		pInfo->libraryVersion.major = MDP11_VERSION_MAJOR;
		pInfo->libraryVersion.minor = MDP11_VERSION_MINOR;
	}
	TRACE_OUT("C_GetInfo", rv);
	return rv;
}

static CK_FUNCTION_LIST function_list;
static CK_FUNCTION_LIST_3_0 function_list_3_0;

EXPORT CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	TRACE_IN("C_GetFunctionList");
	if (!ppFunctionList)
		return CKR_ARGUMENTS_BAD;
	*ppFunctionList = &function_list;
	return CKR_OK;
}

static CK_INTERFACE interfaces[] = {
	{(CK_CHAR *)"PKCS 11", &function_list_3_0, 0},
	{(CK_CHAR *)"PKCS 11", &function_list, 0},
};
#define N_INTERFACES (sizeof(interfaces) / sizeof(interfaces[0]))

EXPORT CK_RV
C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
	CK_RV rv = CKR_OK;

	TRACE_IN("C_GetInterfaceList");
	if (!pulCount) {
		rv = CKR_ARGUMENTS_BAD;
	} else if (!pInterfacesList) {
		*pulCount = N_INTERFACES;
	} else if (*pulCount < N_INTERFACES) {
		*pulCount = N_INTERFACES;
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		memcpy(pInterfacesList, interfaces, sizeof(interfaces));
		*pulCount = N_INTERFACES;
	}
	TRACE_OUT("C_GetInterfaceList", rv);
	return rv;
}

EXPORT CK_RV
C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
	       CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
	size_t i;
	CK_RV rv = CKR_FUNCTION_FAILED;

	TRACE_IN("C_GetInterface(%s)", pInterfaceName ? (const char *)pInterfaceName : "default");
	if (!ppInterface) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	for (i = 0; i < N_INTERFACES; i++) {
		const CK_VERSION *v = interfaces[i].pFunctionList;

		if (pInterfaceName && strcmp((const char *)pInterfaceName,
					     (const char *)interfaces[i].pInterfaceName) != 0)
			continue;
		if (pVersion && (pVersion->major != v->major || pVersion->minor != v->minor))
			continue;
		if ((interfaces[i].flags & flags) != flags)
			continue;
		*ppInterface = &interfaces[i];
		rv = CKR_OK;
		break;
	}
	if (rv != CKR_OK)
		rv = CKR_ARGUMENTS_BAD;
out:
	TRACE_OUT("C_GetInterface", rv);
	return rv;
}

/* ---- slots and tokens ---- */

static CK_RV
mdp_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
	CK_RV rv;

	TRACE_IN("C_GetSlotList(present=%d)", tokenPresent);
	if (!call_enter()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	} else {
		if (!pulCount) {
			rv = CKR_ARGUMENTS_BAD;
		} else {
			lock_take(mod.lock);
			rv = slot_list_inlock(tokenPresent, pSlotList, pulCount);
			lock_release(mod.lock);
		}
		call_leave();
	}
	TRACE_OUT("C_GetSlotList", rv);
	return rv;
}

static CK_RV
mdp_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	struct slot *s = NULL;
	CK_RV rv;

	TRACE_IN("C_GetSlotInfo(%lu)", slotID);
	rv = enter_slot(slotID, &s);
	if (rv == CKR_OK) {
		rv = pInfo ? slot_info_slocked(s, pInfo) : CKR_ARGUMENTS_BAD;
		leave_slot(s);
	}
	TRACE_OUT("C_GetSlotInfo", rv);
	return rv;
}

static CK_RV
mdp_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	struct slot *s = NULL;
	CK_RV rv;

	TRACE_IN("C_GetTokenInfo(%lu)", slotID);
	rv = enter_slot(slotID, &s);
	if (rv == CKR_OK) {
		rv = pInfo ? slot_token_info_slocked(s, pInfo) : CKR_ARGUMENTS_BAD;
		leave_slot(s);
	}
	TRACE_OUT("C_GetTokenInfo", rv);
	return rv;
}

static CK_RV
mdp_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	CK_RV rv;

	TRACE_IN("C_WaitForSlotEvent(flags=0x%lx)", flags);
	if (!is_initialized())
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	else if (!pSlot || pReserved)
		rv = CKR_ARGUMENTS_BAD;
	else
		rv = slot_wait_event(flags, pSlot);
	if (rv == CKR_OK && !is_initialized())
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	TRACE_OUT("C_WaitForSlotEvent", rv);
	return rv;
}

static CK_RV
mdp_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
		       CK_ULONG_PTR pulCount)
{
	struct slot *s = NULL;
	CK_RV rv;

	TRACE_IN("C_GetMechanismList(%lu)", slotID);
	rv = enter_slot(slotID, &s);
	if (rv == CKR_OK) {
		rv = pulCount ? slot_mechanisms_slocked(s, pMechanismList, pulCount)
			      : CKR_ARGUMENTS_BAD;
		leave_slot(s);
	}
	TRACE_OUT("C_GetMechanismList", rv);
	return rv;
}

static CK_RV
mdp_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
	struct slot *s = NULL;
	CK_RV rv;

	TRACE_IN("C_GetMechanismInfo(%lu, 0x%lx)", slotID, type);
	rv = enter_slot(slotID, &s);
	if (rv == CKR_OK) {
		rv = pInfo ? slot_mechanism_info_slocked(s, type, pInfo) : CKR_ARGUMENTS_BAD;
		leave_slot(s);
	}
	TRACE_OUT("C_GetMechanismInfo", rv);
	return rv;
}

static CK_RV
mdp_C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel)
{
	struct slot *s = NULL;
	char label[33];
	CK_RV rv;
	size_t n;

	TRACE_IN("C_InitToken(%lu)", slotID);
	rv = enter_slot(slotID, &s);
	if (rv != CKR_OK)
		goto out;
	if (!pPin || !pLabel) {
		rv = CKR_ARGUMENTS_BAD;
	} else {
		memcpy(label, pLabel, 32);
		label[32] = '\0';
		for (n = 32; n > 0 && label[n - 1] == ' '; n--)
			label[n - 1] = '\0';
		rv = slot_init_token_slocked(s, pPin, ulPinLen, label);
	}
	leave_slot(s);
out:
	TRACE_OUT("C_InitToken", rv);
	return rv;
}

static CK_RV
mdp_C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_InitPIN(%lu)", hSession);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		rv = (pPin || !ulPinLen) ? session_init_pin_slocked(se, pPin, ulPinLen)
					 : CKR_ARGUMENTS_BAD;
		leave_session(se);
	}
	TRACE_OUT("C_InitPIN", rv);
	return rv;
}

static CK_RV
mdp_C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
	     CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_SetPIN(%lu)", hSession);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if ((!pOldPin && ulOldLen) || (!pNewPin && ulNewLen))
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = session_set_pin_slocked(se, pOldPin, ulOldLen, pNewPin, ulNewLen);
		leave_session(se);
	}
	TRACE_OUT("C_SetPIN", rv);
	return rv;
}

/* ---- sessions ---- */

static CK_RV
mdp_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
		  CK_SESSION_HANDLE_PTR phSession)
{
	struct slot *s;
	CK_RV rv;

	TRACE_IN("C_OpenSession(%lu, flags=0x%lx)", slotID, flags);
	if (!call_enter()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	if (!phSession) {
		rv = CKR_ARGUMENTS_BAD;
		goto leave;
	}
	if (!(flags & CKF_SERIAL_SESSION)) {
		rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
		goto leave;
	}
	lock_take(mod.lock);
	s = slot_lookup_inlock(slotID);
	if (!s) {
		rv = CKR_SLOT_ID_INVALID;
	} else {
		lock_take(s->lock);
		rv = slot_token_slocked(s);
		if (rv == CKR_OK)
			rv = session_open_inlock(s, flags, phSession);
		lock_release(s->lock);
	}
	lock_release(mod.lock);
leave:
	call_leave();
out:
	TRACE_OUT("C_OpenSession", rv);
	return rv;
}

static CK_RV
mdp_C_CloseSession(CK_SESSION_HANDLE hSession)
{
	struct session *se;
	CK_RV rv;

	TRACE_IN("C_CloseSession(%lu)", hSession);
	if (!call_enter()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	lock_take(mod.lock);
	se = session_lookup_inlock(hSession);
	if (!se) {
		rv = CKR_SESSION_HANDLE_INVALID;
	} else {
		struct slot *s = se->slot;

		lock_take(s->lock);
		rv = session_close_inlock(se);
		lock_release(s->lock);
	}
	lock_release(mod.lock);
	call_leave();
out:
	TRACE_OUT("C_CloseSession", rv);
	return rv;
}

static CK_RV
mdp_C_CloseAllSessions(CK_SLOT_ID slotID)
{
	struct slot *s;
	CK_RV rv;

	TRACE_IN("C_CloseAllSessions(%lu)", slotID);
	if (!call_enter()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	lock_take(mod.lock);
	s = slot_lookup_inlock(slotID);
	if (!s) {
		rv = CKR_SLOT_ID_INVALID;
	} else {
		lock_take(s->lock);
		rv = session_close_all_inlock(s);
		lock_release(s->lock);
	}
	lock_release(mod.lock);
	call_leave();
out:
	TRACE_OUT("C_CloseAllSessions", rv);
	return rv;
}

static CK_RV
mdp_C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_GetSessionInfo(%lu)", hSession);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		rv = pInfo ? session_info_slocked(se, pInfo) : CKR_ARGUMENTS_BAD;
		leave_session(se);
	}
	TRACE_OUT("C_GetSessionInfo", rv);
	return rv;
}

/* Functions that are recognised but not offered: a session check, then a clear answer. */
static CK_RV
unsupported_session(const char *name, CK_SESSION_HANDLE h, CK_RV answer)
{
	struct session *se = NULL;
	CK_RV rv;

	p11_call_begin();
	rv = enter_session(h, &se);
	if (rv == CKR_OK) {
		leave_session(se);
		rv = p11_refuse(answer, "mdp11 does not offer %s", name);
	}
	TRACE_OUT(name, rv);
	return rv;
}

static CK_RV
mdp_C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			CK_ULONG_PTR pulOperationStateLen)
{
	return unsupported_session("C_GetOperationState", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
			CK_OBJECT_HANDLE hAuthenticationKey)
{
	return unsupported_session("C_SetOperationState", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
	    CK_ULONG ulPinLen)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_Login(%lu, user=%lu)", hSession, userType);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		rv = (pPin || !ulPinLen) ? session_login_slocked(se, userType, pPin, ulPinLen)
					 : CKR_ARGUMENTS_BAD;
		leave_session(se);
	}
	TRACE_OUT("C_Login", rv);
	return rv;
}

static CK_RV
mdp_C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen)
{
	/* Minidriver roles have no user names (PKCS#11 3.0 §5.6: the name is then ignored). */
	return mdp_C_Login(hSession, userType, pPin, ulPinLen);
}

static CK_RV
mdp_C_Logout(CK_SESSION_HANDLE hSession)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_Logout(%lu)", hSession);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		rv = session_logout_slocked(se);
		leave_session(se);
	}
	TRACE_OUT("C_Logout", rv);
	return rv;
}

/* ---- objects ---- */

static CK_RV
mdp_C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
		   CK_OBJECT_HANDLE_PTR phObject)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_CreateObject(%lu, %lu attributes)", hSession, ulCount);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!phObject || (!pTemplate && ulCount))
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = object_create_slocked(se, pTemplate, ulCount, phObject);
		leave_session(se);
	}
	TRACE_OUT("C_CreateObject", rv);
	return rv;
}

static CK_RV
mdp_C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
		 CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject)
{
	/* A card object cannot be duplicated: a container holds one key per slot. */
	return unsupported_session("C_CopyObject", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	struct session *se = NULL;
	struct object *o;
	CK_RV rv;

	TRACE_IN("C_DestroyObject(%lu, %lu)", hSession, hObject);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		o = object_lookup_slocked(se, hObject);
		rv = o ? object_destroy_slocked(se, o) : CKR_OBJECT_HANDLE_INVALID;
		leave_session(se);
	}
	TRACE_OUT("C_DestroyObject", rv);
	return rv;
}

static CK_RV
mdp_C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_GetObjectSize(%lu, %lu)", hSession, hObject);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!pulSize)
			rv = CKR_ARGUMENTS_BAD;
		else if (!object_lookup_slocked(se, hObject))
			rv = CKR_OBJECT_HANDLE_INVALID;
		else
			*pulSize = CK_UNAVAILABLE_INFORMATION; /* card storage is not per object */
		leave_session(se);
	}
	TRACE_OUT("C_GetObjectSize", rv);
	return rv;
}

static CK_RV
mdp_C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct session *se = NULL;
	struct object *o;
	CK_RV rv;

	TRACE_IN("C_GetAttributeValue(%lu, %lu, %lu attributes)", hSession, hObject, ulCount);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		o = object_lookup_slocked(se, hObject);
		if (!o)
			rv = CKR_OBJECT_HANDLE_INVALID;
		else if (!pTemplate && ulCount)
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = object_get_attrs_slocked(se, o, pTemplate, ulCount);
		leave_session(se);
	}
	TRACE_OUT("C_GetAttributeValue", rv);
	return rv;
}

static CK_RV
mdp_C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct session *se = NULL;
	struct object *o;
	CK_RV rv;

	TRACE_IN("C_SetAttributeValue(%lu, %lu, %lu attributes)", hSession, hObject, ulCount);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		o = object_lookup_slocked(se, hObject);
		if (!o)
			rv = CKR_OBJECT_HANDLE_INVALID;
		else if (!pTemplate && ulCount)
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = object_set_attrs_slocked(se, o, pTemplate, ulCount);
		leave_session(se);
	}
	TRACE_OUT("C_SetAttributeValue", rv);
	return rv;
}

static CK_RV
mdp_C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_FindObjectsInit(%lu, %lu attributes)", hSession, ulCount);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!pTemplate && ulCount)
			rv = CKR_ARGUMENTS_BAD;
		else if (se->finding)
			rv = CKR_OPERATION_ACTIVE;
		else
			rv = object_find_init_slocked(se, pTemplate, ulCount);
		leave_session(se);
	}
	TRACE_OUT("C_FindObjectsInit", rv);
	return rv;
}

static CK_RV
mdp_C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
		  CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	struct session *se = NULL;
	CK_RV rv;
	CK_ULONG n = 0;

	TRACE_IN("C_FindObjects(%lu, max %lu)", hSession, ulMaxObjectCount);
	rv = enter_session_light(hSession, &se);
	if (rv == CKR_OK) {
		if (!pulObjectCount || (!phObject && ulMaxObjectCount)) {
			rv = CKR_ARGUMENTS_BAD;
		} else if (!se->finding) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else {
			while (n < ulMaxObjectCount && se->found_pos < se->nfound)
				phObject[n++] = se->found[se->found_pos++];
			*pulObjectCount = n;
		}
		leave_session(se);
	}
	log_trace("C_FindObjects = %s, %lu found", ckr_name(rv), n);
	return rv;
}

static CK_RV
mdp_C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_FindObjectsFinal(%lu)", hSession);
	rv = enter_session_light(hSession, &se);
	if (rv == CKR_OK) {
		if (!se->finding) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else {
			free(se->found);
			se->found = NULL;
			se->nfound = se->found_pos = 0;
			se->finding = false;
		}
		leave_session(se);
	}
	TRACE_OUT("C_FindObjectsFinal", rv);
	return rv;
}

/* ---- cryptographic operations: one set of helpers for the five kinds ---- */

static CK_RV
op_init(const char *name, enum op_kind kind, CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
	CK_OBJECT_HANDLE key)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("%s(%lu, mech 0x%lx, key %lu)", name, h, mech ? mech->mechanism : 0UL, key);
	rv = enter_session(h, &se);
	if (rv == CKR_OK) {
		if (!mech)
			rv = CKR_ARGUMENTS_BAD;
		else if (se->op[kind].active)
			rv = CKR_OPERATION_ACTIVE;
		else
			rv = crypto_init_slocked(se, kind, mech, key);
		leave_session(se);
	}
	TRACE_OUT(name, rv);
	return rv;
}

static CK_RV
op_oneshot(const char *name, enum op_kind kind, CK_SESSION_HANDLE h, CK_BYTE_PTR in,
	   CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("%s(%lu, %lu bytes)", name, h, in_len);
	rv = enter_session_light(h, &se);
	if (rv == CKR_OK) {
		if (!se->op[kind].active) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else if ((!in && in_len) || !out_len) {
			session_op_clear(&se->op[kind]);
			rv = CKR_ARGUMENTS_BAD;
		} else {
			rv = crypto_oneshot_slocked(se, kind, in, in_len, out, out_len);
		}
		leave_session(se);
	}
	TRACE_OUT(name, rv);
	return rv;
}

static CK_RV
op_update(const char *name, enum op_kind kind, CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("%s(%lu, %lu bytes)", name, h, in_len);
	rv = enter_session_light(h, &se);
	if (rv == CKR_OK) {
		if (!se->op[kind].active) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else if (!in && in_len) {
			session_op_clear(&se->op[kind]);
			rv = CKR_ARGUMENTS_BAD;
		} else {
			rv = crypto_update_slocked(se, kind, in, in_len);
		}
		leave_session(se);
	}
	TRACE_OUT(name, rv);
	return rv;
}

static CK_RV
op_final(const char *name, enum op_kind kind, CK_SESSION_HANDLE h, CK_BYTE_PTR out,
	 CK_ULONG_PTR out_len)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("%s(%lu)", name, h);
	rv = enter_session_light(h, &se);
	if (rv == CKR_OK) {
		if (!se->op[kind].active) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else if (!out_len) {
			session_op_clear(&se->op[kind]);
			rv = CKR_ARGUMENTS_BAD;
		} else {
			rv = crypto_final_slocked(se, kind, out, out_len);
		}
		leave_session(se);
	}
	TRACE_OUT(name, rv);
	return rv;
}

static CK_RV
mdp_C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init("C_EncryptInit", OP_ENCRYPT, hSession, pMechanism, hKey);
}

static CK_RV
mdp_C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	      CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
	return op_oneshot("C_Encrypt", OP_ENCRYPT, hSession, pData, ulDataLen, pEncryptedData,
			  pulEncryptedDataLen);
}

static CK_RV
mdp_C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
		    CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
	CK_RV rv = op_update("C_EncryptUpdate", OP_ENCRYPT, hSession, pPart, ulPartLen);

	/* RSA encryption is one block: the output comes with C_EncryptFinal. */
	if (rv == CKR_OK && pulEncryptedPartLen)
		*pulEncryptedPartLen = 0;
	return rv;
}

static CK_RV
mdp_C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
		   CK_ULONG_PTR pulLastEncryptedPartLen)
{
	return op_final("C_EncryptFinal", OP_ENCRYPT, hSession, pLastEncryptedPart,
			pulLastEncryptedPartLen);
}

static CK_RV
mdp_C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init("C_DecryptInit", OP_DECRYPT, hSession, pMechanism, hKey);
}

static CK_RV
mdp_C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
	      CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
	return op_oneshot("C_Decrypt", OP_DECRYPT, hSession, pEncryptedData, ulEncryptedDataLen,
			  pData, pulDataLen);
}

static CK_RV
mdp_C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
		    CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	CK_RV rv = op_update("C_DecryptUpdate", OP_DECRYPT, hSession, pEncryptedPart,
			     ulEncryptedPartLen);

	if (rv == CKR_OK && pulPartLen)
		*pulPartLen = 0;
	return rv;
}

static CK_RV
mdp_C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
	return op_final("C_DecryptFinal", OP_DECRYPT, hSession, pLastPart, pulLastPartLen);
}

static CK_RV
mdp_C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	return op_init("C_DigestInit", OP_DIGEST, hSession, pMechanism, CK_INVALID_HANDLE);
}

static CK_RV
mdp_C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pDigest,
	     CK_ULONG_PTR pulDigestLen)
{
	return op_oneshot("C_Digest", OP_DIGEST, hSession, pData, ulDataLen, pDigest, pulDigestLen);
}

static CK_RV
mdp_C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return op_update("C_DigestUpdate", OP_DIGEST, hSession, pPart, ulPartLen);
}

static CK_RV
mdp_C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	/* Only private keys (never digestible) and derived secrets live here. */
	return unsupported_session("C_DigestKey", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	return op_final("C_DigestFinal", OP_DIGEST, hSession, pDigest, pulDigestLen);
}

static CK_RV
mdp_C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init("C_SignInit", OP_SIGN, hSession, pMechanism, hKey);
}

static CK_RV
mdp_C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	   CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	return op_oneshot("C_Sign", OP_SIGN, hSession, pData, ulDataLen, pSignature,
			  pulSignatureLen);
}

static CK_RV
mdp_C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return op_update("C_SignUpdate", OP_SIGN, hSession, pPart, ulPartLen);
}

static CK_RV
mdp_C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	return op_final("C_SignFinal", OP_SIGN, hSession, pSignature, pulSignatureLen);
}

static CK_RV
mdp_C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		      CK_OBJECT_HANDLE hKey)
{
	return unsupported_session("C_SignRecoverInit", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		  CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	return unsupported_session("C_SignRecover", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init("C_VerifyInit", OP_VERIFY, hSession, pMechanism, hKey);
}

static CK_RV
verify_common(const char *name, CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, bool oneshot,
	      CK_BYTE_PTR sig, CK_ULONG sig_len)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("%s(%lu, %lu bytes, signature %lu bytes)", name, h, len, sig_len);
	rv = enter_session_light(h, &se);
	if (rv == CKR_OK) {
		if (!se->op[OP_VERIFY].active) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else if ((!data && len) || (!sig && sig_len)) {
			session_op_clear(&se->op[OP_VERIFY]);
			rv = CKR_ARGUMENTS_BAD;
		} else {
			rv = crypto_verify_slocked(se, data, len, oneshot, sig, sig_len);
		}
		leave_session(se);
	}
	TRACE_OUT(name, rv);
	return rv;
}

static CK_RV
mdp_C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	     CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	return verify_common("C_Verify", hSession, pData, ulDataLen, true, pSignature,
			     ulSignatureLen);
}

static CK_RV
mdp_C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return op_update("C_VerifyUpdate", OP_VERIFY, hSession, pPart, ulPartLen);
}

static CK_RV
mdp_C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	return verify_common("C_VerifyFinal", hSession, NULL, 0, false, pSignature, ulSignatureLen);
}

static CK_RV
mdp_C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			CK_OBJECT_HANDLE hKey)
{
	return unsupported_session("C_VerifyRecoverInit", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen,
		    CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
	return unsupported_session("C_VerifyRecover", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
			  CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
	return unsupported_session("C_DigestEncryptUpdate", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
			  CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	return unsupported_session("C_DecryptDigestUpdate", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
			CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
	return unsupported_session("C_SignEncryptUpdate", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
			  CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	return unsupported_session("C_DecryptVerifyUpdate", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
	/* No secret-key mechanism is offered: the card holds key pairs only. */
	return unsupported_session("C_GenerateKey", hSession, CKR_MECHANISM_INVALID);
}

static CK_RV
mdp_C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		      CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
		      CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
		      CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_GenerateKeyPair(%lu, mech 0x%lx)", hSession,
		 pMechanism ? pMechanism->mechanism : 0UL);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!pMechanism || !phPublicKey || !phPrivateKey ||
		    (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
		    (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount))
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = keygen_pair_slocked(se, pMechanism, pPublicKeyTemplate,
						 ulPublicKeyAttributeCount, pPrivateKeyTemplate,
						 ulPrivateKeyAttributeCount, phPublicKey,
						 phPrivateKey);
		leave_session(se);
	}
	TRACE_OUT("C_GenerateKeyPair", rv);
	return rv;
}

static CK_RV
mdp_C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	      CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
	      CK_ULONG_PTR pulWrappedKeyLen)
{
	return unsupported_session("C_WrapKey", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey, CK_ULONG ulWrappedKeyLen,
		CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	return unsupported_session("C_UnwrapKey", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hBaseKey,
		CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_DeriveKey(%lu, mech 0x%lx, key %lu)", hSession,
		 pMechanism ? pMechanism->mechanism : 0UL, hBaseKey);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!pMechanism || !phKey || (!pTemplate && ulAttributeCount))
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = crypto_derive_slocked(se, pMechanism, hBaseKey, pTemplate,
						   ulAttributeCount, phKey);
		leave_session(se);
	}
	TRACE_OUT("C_DeriveKey", rv);
	return rv;
}

static CK_RV
mdp_C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	return unsupported_session("C_SeedRandom", hSession, CKR_RANDOM_SEED_NOT_SUPPORTED);
}

static CK_RV
mdp_C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_GenerateRandom(%lu, %lu bytes)", hSession, ulRandomLen);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!RandomData && ulRandomLen)
			rv = CKR_ARGUMENTS_BAD;
		else if (ulRandomLen > INT32_MAX)
			rv = CKR_ARGUMENTS_BAD;
		else if (ulRandomLen && RAND_bytes(RandomData, (int)ulRandomLen) != 1)
			rv = CKR_FUNCTION_FAILED;
		leave_session(se);
	}
	TRACE_OUT("C_GenerateRandom", rv);
	return rv;
}

static CK_RV
mdp_C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
	return unsupported_session("C_GetFunctionStatus", hSession, CKR_FUNCTION_NOT_PARALLEL);
}

static CK_RV
mdp_C_CancelFunction(CK_SESSION_HANDLE hSession)
{
	return unsupported_session("C_CancelFunction", hSession, CKR_FUNCTION_NOT_PARALLEL);
}

/* ---- PKCS#11 3.0 ---- */

static CK_RV
mdp_C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	static const struct {
		CK_FLAGS flag;
		enum op_kind kind;
	} map[] = {
		{CKF_ENCRYPT, OP_ENCRYPT}, {CKF_DECRYPT, OP_DECRYPT}, {CKF_DIGEST, OP_DIGEST},
		{CKF_SIGN, OP_SIGN},	   {CKF_VERIFY, OP_VERIFY},
	};
	struct session *se = NULL;
	CK_RV rv;
	size_t i;

	TRACE_IN("C_SessionCancel(%lu, 0x%lx)", hSession, flags);
	rv = enter_session(hSession, &se);
	if (rv == CKR_OK) {
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (flags & map[i].flag)
				session_op_clear(&se->op[map[i].kind]);
		if ((flags & CKF_FIND_OBJECTS) && se->finding) {
			free(se->found);
			se->found = NULL;
			se->nfound = se->found_pos = 0;
			se->finding = false;
		}
		leave_session(se);
	}
	TRACE_OUT("C_SessionCancel", rv);
	return rv;
}

/*
 * The message-based functions of PKCS#11 3.0 (§5.14-5.19) need AEAD or per-message signature
 * mechanisms; mdp11 offers none, so each answers CKR_FUNCTION_NOT_SUPPORTED.
 */
#define MESSAGE_UNSUPPORTED(fn, ...)                                                   \
	static CK_RV mdp_##fn(CK_SESSION_HANDLE hSession, __VA_ARGS__)                 \
	{                                                                              \
		return unsupported_session(#fn, hSession, CKR_FUNCTION_NOT_SUPPORTED); \
	}
MESSAGE_UNSUPPORTED(C_MessageEncryptInit, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
MESSAGE_UNSUPPORTED(C_EncryptMessage, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al,
		    CK_BYTE_PTR i, CK_ULONG il, CK_BYTE_PTR o, CK_ULONG_PTR ol)
MESSAGE_UNSUPPORTED(C_EncryptMessageBegin, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al)
MESSAGE_UNSUPPORTED(C_EncryptMessageNext, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR i, CK_ULONG il,
		    CK_BYTE_PTR o, CK_ULONG_PTR ol, CK_FLAGS f)
MESSAGE_UNSUPPORTED(C_MessageDecryptInit, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
MESSAGE_UNSUPPORTED(C_DecryptMessage, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al,
		    CK_BYTE_PTR i, CK_ULONG il, CK_BYTE_PTR o, CK_ULONG_PTR ol)
MESSAGE_UNSUPPORTED(C_DecryptMessageBegin, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al)
MESSAGE_UNSUPPORTED(C_DecryptMessageNext, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR i, CK_ULONG il,
		    CK_BYTE_PTR o, CK_ULONG_PTR ol, CK_FLAGS f)
MESSAGE_UNSUPPORTED(C_MessageSignInit, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
MESSAGE_UNSUPPORTED(C_SignMessage, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl,
		    CK_BYTE_PTR s, CK_ULONG_PTR sl)
MESSAGE_UNSUPPORTED(C_SignMessageBegin, CK_VOID_PTR p, CK_ULONG pl)
MESSAGE_UNSUPPORTED(C_SignMessageNext, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl,
		    CK_BYTE_PTR s, CK_ULONG_PTR sl)
MESSAGE_UNSUPPORTED(C_MessageVerifyInit, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
MESSAGE_UNSUPPORTED(C_VerifyMessage, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl,
		    CK_BYTE_PTR s, CK_ULONG sl)
MESSAGE_UNSUPPORTED(C_VerifyMessageBegin, CK_VOID_PTR p, CK_ULONG pl)
MESSAGE_UNSUPPORTED(C_VerifyMessageNext, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl,
		    CK_BYTE_PTR s, CK_ULONG sl)

static CK_RV
mdp_C_MessageFinal(const char *name, CK_SESSION_HANDLE hSession)
{
	return unsupported_session(name, hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
mdp_C_MessageEncryptFinal(CK_SESSION_HANDLE hSession)
{
	return mdp_C_MessageFinal("C_MessageEncryptFinal", hSession);
}

static CK_RV
mdp_C_MessageDecryptFinal(CK_SESSION_HANDLE hSession)
{
	return mdp_C_MessageFinal("C_MessageDecryptFinal", hSession);
}

static CK_RV
mdp_C_MessageSignFinal(CK_SESSION_HANDLE hSession)
{
	return mdp_C_MessageFinal("C_MessageSignFinal", hSession);
}

static CK_RV
mdp_C_MessageVerifyFinal(CK_SESSION_HANDLE hSession)
{
	return mdp_C_MessageFinal("C_MessageVerifyFinal", hSession);
}

/* ---- the function lists ---- */

#define LIST_2_40                                                                                 \
	.C_Initialize = mdp_C_Initialize, .C_Finalize = mdp_C_Finalize,                           \
	.C_GetInfo = mdp_C_GetInfo, .C_GetFunctionList = C_GetFunctionList,                       \
	.C_GetSlotList = mdp_C_GetSlotList, .C_GetSlotInfo = mdp_C_GetSlotInfo,                   \
	.C_GetTokenInfo = mdp_C_GetTokenInfo, .C_GetMechanismList = mdp_C_GetMechanismList,       \
	.C_GetMechanismInfo = mdp_C_GetMechanismInfo, .C_InitToken = mdp_C_InitToken,             \
	.C_InitPIN = mdp_C_InitPIN, .C_SetPIN = mdp_C_SetPIN, .C_OpenSession = mdp_C_OpenSession, \
	.C_CloseSession = mdp_C_CloseSession, .C_CloseAllSessions = mdp_C_CloseAllSessions,       \
	.C_GetSessionInfo = mdp_C_GetSessionInfo, .C_GetOperationState = mdp_C_GetOperationState, \
	.C_SetOperationState = mdp_C_SetOperationState, .C_Login = mdp_C_Login,                   \
	.C_Logout = mdp_C_Logout, .C_CreateObject = mdp_C_CreateObject,                           \
	.C_CopyObject = mdp_C_CopyObject, .C_DestroyObject = mdp_C_DestroyObject,                 \
	.C_GetObjectSize = mdp_C_GetObjectSize, .C_GetAttributeValue = mdp_C_GetAttributeValue,   \
	.C_SetAttributeValue = mdp_C_SetAttributeValue,                                           \
	.C_FindObjectsInit = mdp_C_FindObjectsInit, .C_FindObjects = mdp_C_FindObjects,           \
	.C_FindObjectsFinal = mdp_C_FindObjectsFinal, .C_EncryptInit = mdp_C_EncryptInit,         \
	.C_Encrypt = mdp_C_Encrypt, .C_EncryptUpdate = mdp_C_EncryptUpdate,                       \
	.C_EncryptFinal = mdp_C_EncryptFinal, .C_DecryptInit = mdp_C_DecryptInit,                 \
	.C_Decrypt = mdp_C_Decrypt, .C_DecryptUpdate = mdp_C_DecryptUpdate,                       \
	.C_DecryptFinal = mdp_C_DecryptFinal, .C_DigestInit = mdp_C_DigestInit,                   \
	.C_Digest = mdp_C_Digest, .C_DigestUpdate = mdp_C_DigestUpdate,                           \
	.C_DigestKey = mdp_C_DigestKey, .C_DigestFinal = mdp_C_DigestFinal,                       \
	.C_SignInit = mdp_C_SignInit, .C_Sign = mdp_C_Sign, .C_SignUpdate = mdp_C_SignUpdate,     \
	.C_SignFinal = mdp_C_SignFinal, .C_SignRecoverInit = mdp_C_SignRecoverInit,               \
	.C_SignRecover = mdp_C_SignRecover, .C_VerifyInit = mdp_C_VerifyInit,                     \
	.C_Verify = mdp_C_Verify, .C_VerifyUpdate = mdp_C_VerifyUpdate,                           \
	.C_VerifyFinal = mdp_C_VerifyFinal, .C_VerifyRecoverInit = mdp_C_VerifyRecoverInit,       \
	.C_VerifyRecover = mdp_C_VerifyRecover,                                                   \
	.C_DigestEncryptUpdate = mdp_C_DigestEncryptUpdate,                                       \
	.C_DecryptDigestUpdate = mdp_C_DecryptDigestUpdate,                                       \
	.C_SignEncryptUpdate = mdp_C_SignEncryptUpdate,                                           \
	.C_DecryptVerifyUpdate = mdp_C_DecryptVerifyUpdate, .C_GenerateKey = mdp_C_GenerateKey,   \
	.C_GenerateKeyPair = mdp_C_GenerateKeyPair, .C_WrapKey = mdp_C_WrapKey,                   \
	.C_UnwrapKey = mdp_C_UnwrapKey, .C_DeriveKey = mdp_C_DeriveKey,                           \
	.C_SeedRandom = mdp_C_SeedRandom, .C_GenerateRandom = mdp_C_GenerateRandom,               \
	.C_GetFunctionStatus = mdp_C_GetFunctionStatus, .C_CancelFunction = mdp_C_CancelFunction, \
	.C_WaitForSlotEvent = mdp_C_WaitForSlotEvent

static CK_FUNCTION_LIST function_list = {
	.version = {2, 40},
	LIST_2_40,
};

static CK_FUNCTION_LIST_3_0 function_list_3_0 = {
	.version = {3, 0},
	LIST_2_40,
	.C_GetInterfaceList = C_GetInterfaceList,
	.C_GetInterface = C_GetInterface,
	.C_LoginUser = mdp_C_LoginUser,
	.C_SessionCancel = mdp_C_SessionCancel,
	.C_MessageEncryptInit = mdp_C_MessageEncryptInit,
	.C_EncryptMessage = mdp_C_EncryptMessage,
	.C_EncryptMessageBegin = mdp_C_EncryptMessageBegin,
	.C_EncryptMessageNext = mdp_C_EncryptMessageNext,
	.C_MessageEncryptFinal = mdp_C_MessageEncryptFinal,
	.C_MessageDecryptInit = mdp_C_MessageDecryptInit,
	.C_DecryptMessage = mdp_C_DecryptMessage,
	.C_DecryptMessageBegin = mdp_C_DecryptMessageBegin,
	.C_DecryptMessageNext = mdp_C_DecryptMessageNext,
	.C_MessageDecryptFinal = mdp_C_MessageDecryptFinal,
	.C_MessageSignInit = mdp_C_MessageSignInit,
	.C_SignMessage = mdp_C_SignMessage,
	.C_SignMessageBegin = mdp_C_SignMessageBegin,
	.C_SignMessageNext = mdp_C_SignMessageNext,
	.C_MessageSignFinal = mdp_C_MessageSignFinal,
	.C_MessageVerifyInit = mdp_C_MessageVerifyInit,
	.C_VerifyMessage = mdp_C_VerifyMessage,
	.C_VerifyMessageBegin = mdp_C_VerifyMessageBegin,
	.C_VerifyMessageNext = mdp_C_VerifyMessageNext,
	.C_MessageVerifyFinal = mdp_C_MessageVerifyFinal,
};
