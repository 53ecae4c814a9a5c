/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The module's life: C_Initialize, C_Finalize, fork, entering a slot or a session with the
 * locks the rules ask for, the PKCS#11 3.0 session functions, the function lists. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/log.h"
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
 * counts itself in with module_call_enter() and out with module_call_leave(). C_Finalize first
 * clears mod.initialized, so that new calls answer CKR_CRYPTOKI_NOT_INITIALIZED, then waits until
 * the calls already inside have left before it frees anything: a call in flight finishes, none
 * touches freed memory. The counter and the flag are sequentially consistent atomics, so a call
 * either sees the flag cleared or is seen by C_Finalize (the usual store-then-load pairing).
 */
static _Atomic int calls;
static _Atomic bool draining;
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drain_cv = PTHREAD_COND_INITIALIZER;

void
module_call_leave(void)
{
	if (atomic_fetch_sub(&calls, 1) == 1 && atomic_load(&draining)) {
		pthread_mutex_lock(&drain_lock);
		pthread_cond_broadcast(&drain_cv);
		pthread_mutex_unlock(&drain_lock);
	}
}

bool
module_call_enter(void)
{
	atomic_fetch_add(&calls, 1);
	if (atomic_load(&mod.initialized))
		return true;
	module_call_leave();
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
	return module_call_enter();
}

void
module_wait_leave(void)
{
	module_call_leave();
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

/* ---- helpers: enter a slot or a session with the locks the rules ask for ---- */

CK_RV
module_enter_slot(CK_SLOT_ID id, struct slot **out)
{
	struct slot *s;

	if (!module_call_enter())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	lock_take(mod.lock);
	s = slot_lookup_inlock(id);
	if (s)
		lock_take(s->lock);
	lock_release(mod.lock);
	if (!s) {
		module_call_leave();
		return CKR_SLOT_ID_INVALID;
	}
	*out = s;
	return CKR_OK;
}

void
module_leave_slot(struct slot *s)
{
	lock_release(s->lock);
	module_call_leave();
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

	if (!module_call_enter())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	for (;;) {
		lock_take(mod.lock);
		se = session_lookup_inlock(h);
		if (se)
			lock_take(se->slot->lock);
		lock_release(mod.lock);
		if (!se) {
			module_call_leave();
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
	module_call_leave();
	return CKR_DEVICE_REMOVED;
}

CK_RV
module_enter_session(CK_SESSION_HANDLE h, struct session **out)
{
	return enter_session_mode(h, out, true);
}

/* For calls that continue an operation or only read session state. */
CK_RV
module_enter_session_light(CK_SESSION_HANDLE h, struct session **out)
{
	return enter_session_mode(h, out, false);
}

void
module_leave_session(struct session *se)
{
	struct slot *s = se->slot;

	if (se->closed && !se->busy)
		session_free(se); /* closed by another thread while this call signed */
	lock_release(s->lock);
	module_call_leave();
}

/* Functions that are recognised but not offered: a session check, then a clear answer. */
CK_RV
module_unsupported(const char *name, CK_SESSION_HANDLE h, CK_RV answer)
{
	struct session *se = NULL;
	CK_RV rv;

	p11_call_begin();
	rv = module_enter_session(h, &se);
	if (rv == CKR_OK) {
		module_leave_session(se);
		rv = p11_refuse(answer, "mdp11 does not offer %s", name);
	}
	TRACE_OUT(name, rv);
	return rv;
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
	rv = module_enter_session(hSession, &se);
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
		module_leave_session(se);
	}
	TRACE_OUT("C_SessionCancel", rv);
	return rv;
}

/*
 * The message-based functions of PKCS#11 3.0 (§5.14-5.19) need AEAD or per-message signature
 * mechanisms; mdp11 offers none, so each answers CKR_FUNCTION_NOT_SUPPORTED.
 */
#define MESSAGE_UNSUPPORTED(fn, ...)                                                  \
	static CK_RV mdp_##fn(CK_SESSION_HANDLE hSession, __VA_ARGS__)                \
	{                                                                             \
		return module_unsupported(#fn, hSession, CKR_FUNCTION_NOT_SUPPORTED); \
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
	return module_unsupported(name, hSession, CKR_FUNCTION_NOT_SUPPORTED);
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
