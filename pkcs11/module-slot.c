/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The C_* functions of slots, tokens, sessions and login: argument checks, locking, tracing. */
#include "config.h"

#include <string.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/log.h"
#include "pkcs11/module.h"

/* ---- slots and tokens ---- */

CK_RV
mdp_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
	CK_RV rv;

	TRACE_IN("C_GetSlotList(present=%d)", tokenPresent);
	if (!module_call_enter()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	} else {
		if (!pulCount) {
			rv = CKR_ARGUMENTS_BAD;
		} else {
			module_lock();
			rv = slot_list_inlock(tokenPresent, pSlotList, pulCount);
			module_unlock();
		}
		module_call_leave();
	}
	TRACE_OUT("C_GetSlotList", rv);
	return rv;
}

CK_RV
mdp_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	struct slot *s = NULL;
	CK_RV rv;

	TRACE_IN("C_GetSlotInfo(%lu)", slotID);
	rv = module_enter_slot(slotID, &s);
	if (rv == CKR_OK) {
		rv = pInfo ? slot_info_slocked(s, pInfo) : CKR_ARGUMENTS_BAD;
		module_leave_slot(s);
	}
	TRACE_OUT("C_GetSlotInfo", rv);
	return rv;
}

CK_RV
mdp_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	struct slot *s = NULL;
	CK_RV rv;

	TRACE_IN("C_GetTokenInfo(%lu)", slotID);
	rv = module_enter_slot(slotID, &s);
	if (rv == CKR_OK) {
		rv = pInfo ? slot_token_info_slocked(s, pInfo) : CKR_ARGUMENTS_BAD;
		module_leave_slot(s);
	}
	TRACE_OUT("C_GetTokenInfo", rv);
	return rv;
}

CK_RV
mdp_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	CK_RV rv;

	TRACE_IN("C_WaitForSlotEvent(flags=0x%lx)", flags);
	if (!module_running())
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	else if (!pSlot || pReserved)
		rv = CKR_ARGUMENTS_BAD;
	else
		rv = slot_wait_event(flags, pSlot);
	if (rv == CKR_OK && !module_running())
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	TRACE_OUT("C_WaitForSlotEvent", rv);
	return rv;
}

CK_RV
mdp_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
		       CK_ULONG_PTR pulCount)
{
	struct slot *s = NULL;
	CK_RV rv;

	TRACE_IN("C_GetMechanismList(%lu)", slotID);
	rv = module_enter_slot(slotID, &s);
	if (rv == CKR_OK) {
		rv = pulCount ? slot_mechanisms_slocked(s, pMechanismList, pulCount)
			      : CKR_ARGUMENTS_BAD;
		module_leave_slot(s);
	}
	TRACE_OUT("C_GetMechanismList", rv);
	return rv;
}

CK_RV
mdp_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
	struct slot *s = NULL;
	CK_RV rv;

	TRACE_IN("C_GetMechanismInfo(%lu, 0x%lx)", slotID, type);
	rv = module_enter_slot(slotID, &s);
	if (rv == CKR_OK) {
		rv = pInfo ? slot_mechanism_info_slocked(s, type, pInfo) : CKR_ARGUMENTS_BAD;
		module_leave_slot(s);
	}
	TRACE_OUT("C_GetMechanismInfo", rv);
	return rv;
}

CK_RV
mdp_C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel)
{
	struct slot *s = NULL;
	char label[33];
	CK_RV rv;
	size_t n;

	TRACE_IN("C_InitToken(%lu)", slotID);
	rv = module_enter_slot(slotID, &s);
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
	module_leave_slot(s);
out:
	TRACE_OUT("C_InitToken", rv);
	return rv;
}

CK_RV
mdp_C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_InitPIN(%lu)", hSession);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		rv = (pPin || !ulPinLen) ? session_init_pin_slocked(se, pPin, ulPinLen)
					 : CKR_ARGUMENTS_BAD;
		module_leave_session(se);
	}
	TRACE_OUT("C_InitPIN", rv);
	return rv;
}

CK_RV
mdp_C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
	     CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_SetPIN(%lu)", hSession);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if ((!pOldPin && ulOldLen) || (!pNewPin && ulNewLen))
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = session_set_pin_slocked(se, pOldPin, ulOldLen, pNewPin, ulNewLen);
		module_leave_session(se);
	}
	TRACE_OUT("C_SetPIN", rv);
	return rv;
}

/* ---- sessions ---- */

CK_RV
mdp_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
		  CK_SESSION_HANDLE_PTR phSession)
{
	struct slot *s;
	CK_RV rv;

	TRACE_IN("C_OpenSession(%lu, flags=0x%lx)", slotID, flags);
	if (!module_call_enter()) {
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
	module_lock();
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
	module_unlock();
leave:
	module_call_leave();
out:
	TRACE_OUT("C_OpenSession", rv);
	return rv;
}

CK_RV
mdp_C_CloseSession(CK_SESSION_HANDLE hSession)
{
	struct session *se;
	CK_RV rv;

	TRACE_IN("C_CloseSession(%lu)", hSession);
	if (!module_call_enter()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	module_lock();
	se = session_lookup_inlock(hSession);
	if (!se) {
		rv = CKR_SESSION_HANDLE_INVALID;
	} else {
		struct slot *s = se->slot;

		lock_take(s->lock);
		rv = session_close_inlock(se);
		lock_release(s->lock);
	}
	module_unlock();
	module_call_leave();
out:
	TRACE_OUT("C_CloseSession", rv);
	return rv;
}

CK_RV
mdp_C_CloseAllSessions(CK_SLOT_ID slotID)
{
	struct slot *s;
	CK_RV rv;

	TRACE_IN("C_CloseAllSessions(%lu)", slotID);
	if (!module_call_enter()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	module_lock();
	s = slot_lookup_inlock(slotID);
	if (!s) {
		rv = CKR_SLOT_ID_INVALID;
	} else {
		lock_take(s->lock);
		rv = session_close_all_inlock(s);
		lock_release(s->lock);
	}
	module_unlock();
	module_call_leave();
out:
	TRACE_OUT("C_CloseAllSessions", rv);
	return rv;
}

CK_RV
mdp_C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_GetSessionInfo(%lu)", hSession);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		rv = pInfo ? session_info_slocked(se, pInfo) : CKR_ARGUMENTS_BAD;
		module_leave_session(se);
	}
	TRACE_OUT("C_GetSessionInfo", rv);
	return rv;
}

CK_RV
mdp_C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			CK_ULONG_PTR pulOperationStateLen)
{
	return module_unsupported("C_GetOperationState", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
			CK_OBJECT_HANDLE hAuthenticationKey)
{
	return module_unsupported("C_SetOperationState", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
	    CK_ULONG ulPinLen)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_Login(%lu, user=%lu)", hSession, userType);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		rv = (pPin || !ulPinLen) ? session_login_slocked(se, userType, pPin, ulPinLen)
					 : CKR_ARGUMENTS_BAD;
		module_leave_session(se);
	}
	TRACE_OUT("C_Login", rv);
	return rv;
}

CK_RV
mdp_C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen)
{
	/* Minidriver roles have no user names (PKCS#11 3.0 §5.6: the name is then ignored). */
	return mdp_C_Login(hSession, userType, pPin, ulPinLen);
}

CK_RV
mdp_C_Logout(CK_SESSION_HANDLE hSession)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_Logout(%lu)", hSession);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		rv = session_logout_slocked(se);
		module_leave_session(se);
	}
	TRACE_OUT("C_Logout", rv);
	return rv;
}
