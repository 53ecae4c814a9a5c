/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Why a call was refused. A refusal site records its reason (p11_refuse(), or a lower layer's
 * mdp_err_reason()); when the entry point returns, p11_call_result() logs one line with the
 * function, the CK_RV and that reason: at level 2 (warn, the default level) for a refused
 * template or operation, so a user learns why instead of the bare code; at level 3 (info) for a
 * call refused because of the caller's state (not logged in, no card, no such session), which
 * applications meet in their normal course (NSS polls empty slots) and would flood the log.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/error.h"
#include "common/log.h"
#include "pkcs11/module.h"

CK_RV
p11_refuse(CK_RV rv, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mdp_err_reason(MDP_ERR_ARGS, "%s", msg);
	return rv;
}

const char *
p11_attr_name(CK_ATTRIBUTE_TYPE type)
{
	static _Thread_local char other[32];
	static const struct {
		CK_ATTRIBUTE_TYPE type;
		const char *name;
	} names[] = {
		{CKA_CLASS, "CKA_CLASS"},
		{CKA_TOKEN, "CKA_TOKEN"},
		{CKA_PRIVATE, "CKA_PRIVATE"},
		{CKA_LABEL, "CKA_LABEL"},
		{CKA_APPLICATION, "CKA_APPLICATION"},
		{CKA_VALUE, "CKA_VALUE"},
		{CKA_OBJECT_ID, "CKA_OBJECT_ID"},
		{CKA_CERTIFICATE_TYPE, "CKA_CERTIFICATE_TYPE"},
		{CKA_KEY_TYPE, "CKA_KEY_TYPE"},
		{CKA_ID, "CKA_ID"},
		{CKA_SENSITIVE, "CKA_SENSITIVE"},
		{CKA_DECRYPT, "CKA_DECRYPT"},
		{CKA_UNWRAP, "CKA_UNWRAP"},
		{CKA_SIGN, "CKA_SIGN"},
		{CKA_VERIFY, "CKA_VERIFY"},
		{CKA_DERIVE, "CKA_DERIVE"},
		{CKA_MODULUS, "CKA_MODULUS"},
		{CKA_MODULUS_BITS, "CKA_MODULUS_BITS"},
		{CKA_PUBLIC_EXPONENT, "CKA_PUBLIC_EXPONENT"},
		{CKA_EXTRACTABLE, "CKA_EXTRACTABLE"},
		{CKA_EC_PARAMS, "CKA_EC_PARAMS"},
		{CKA_EC_POINT, "CKA_EC_POINT"},
		{CKA_VALUE_LEN, "CKA_VALUE_LEN"},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(other, sizeof(other), "attribute 0x%lx", type);
	return other;
}

void
p11_call_begin(void)
{
	mdp_err_clear();
}

/* Outcomes that answer the call rather than refuse it. */
static bool
is_answer(const char *fn, CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
	case CKR_BUFFER_TOO_SMALL: /* the size query of the two-call convention */
	case CKR_NO_EVENT:
		return true;
	case CKR_ATTRIBUTE_SENSITIVE:
	case CKR_ATTRIBUTE_TYPE_INVALID:
		/* C_GetAttributeValue marks such attributes and goes on: applications ask for
		 * every attribute they know. */
		return strcmp(fn, "C_GetAttributeValue") == 0;
	case CKR_SIGNATURE_INVALID:
	case CKR_SIGNATURE_LEN_RANGE:
		return strncmp(fn, "C_Verify", 8) == 0; /* the result of a verification */
	default:
		return false;
	}
}

/* Refusals that answer the caller's state rather than refuse its template or operation. */
static bool
is_state(CK_RV rv)
{
	switch (rv) {
	case CKR_SLOT_ID_INVALID:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_DEVICE_REMOVED:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_SESSION_COUNT:
	case CKR_SESSION_EXISTS:
	case CKR_SESSION_READ_ONLY_EXISTS:
	case CKR_SESSION_READ_WRITE_SO_EXISTS:
	case CKR_SESSION_PARALLEL_NOT_SUPPORTED:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
	case CKR_OPERATION_ACTIVE:
	case CKR_OPERATION_NOT_INITIALIZED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_USER_ALREADY_LOGGED_IN:
	case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_CRYPTOKI_ALREADY_INITIALIZED:
	case CKR_FUNCTION_NOT_PARALLEL:
		return true;
	default:
		return false;
	}
}

/* What the code means where it is its own reason (the caller's state or arguments). */
static const char *
meaning(CK_RV rv)
{
	switch (rv) {
	case CKR_ARGUMENTS_BAD:
		return "a pointer argument is NULL or an argument is malformed";
	case CKR_SLOT_ID_INVALID:
		return "no slot with this ID";
	case CKR_SESSION_HANDLE_INVALID:
		return "no open session with this handle";
	case CKR_SESSION_CLOSED:
		return "the session was closed during the call";
	case CKR_SESSION_COUNT:
		return "too many sessions";
	case CKR_SESSION_EXISTS:
		return "sessions are open on the token";
	case CKR_SESSION_READ_ONLY_EXISTS:
		return "the security officer logs in only when every session is read-write";
	case CKR_SESSION_READ_WRITE_SO_EXISTS:
		return "the security officer is logged in: read-only sessions cannot be opened";
	case CKR_SESSION_READ_ONLY:
		return "the session is read-only (open it with CKF_RW_SESSION)";
	case CKR_SESSION_PARALLEL_NOT_SUPPORTED:
		return "CKF_SERIAL_SESSION must be set";
	case CKR_OBJECT_HANDLE_INVALID:
		return "no object with this handle in the session's view";
	case CKR_KEY_HANDLE_INVALID:
		return "no key with this handle in the session's view";
	case CKR_OPERATION_ACTIVE:
		return "an operation of this kind is already running in the session";
	case CKR_OPERATION_NOT_INITIALIZED:
		return "no operation of this kind was started in the session";
	case CKR_USER_NOT_LOGGED_IN:
		return "the operation needs the user logged in (C_Login)";
	case CKR_USER_ALREADY_LOGGED_IN:
		return "the user is already logged in";
	case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
		return "the other user type is logged in";
	case CKR_USER_TYPE_INVALID:
		return "the user type is neither CKU_USER nor CKU_SO";
	case CKR_USER_PIN_NOT_INITIALIZED:
		return "the token has no user PIN";
	case CKR_PIN_INCORRECT:
		return "wrong PIN or admin key";
	case CKR_PIN_LOCKED:
		return "the PIN is blocked (unblock it with the admin key)";
	case CKR_PIN_LEN_RANGE:
		return "the PIN length is outside what the card takes";
	case CKR_TOKEN_NOT_PRESENT:
		return "no card in the slot";
	case CKR_TOKEN_NOT_RECOGNIZED:
		return "no card module recognises the card";
	case CKR_DEVICE_REMOVED:
		return "the card was removed";
	case CKR_CRYPTOKI_NOT_INITIALIZED:
		return "C_Initialize was not called";
	case CKR_CRYPTOKI_ALREADY_INITIALIZED:
		return "C_Initialize was already called";
	case CKR_FUNCTION_NOT_PARALLEL:
		return "no parallel functions";
	case CKR_RANDOM_NO_RNG:
		return "the card has no random number generator";
	default:
		return "no further reason recorded";
	}
}

void
p11_call_result(const char *fn, CK_RV rv)
{
	enum mdp_log_level level;

	log_trace("%s = %s", fn, ckr_name(rv));
	if (is_answer(fn, rv))
		return;
	level = is_state(rv) ? MDP_LOG_INFO : MDP_LOG_WARN;
	if (!mdp_log_enabled(level, MDP_LOG_AREA))
		return;
	if (level == MDP_LOG_INFO && mdp_err_has_reason())
		log_info("%s: %s: %s", fn, ckr_name(rv), mdp_err_last());
	else if (level == MDP_LOG_INFO)
		log_info("%s: %s (%s)", fn, ckr_name(rv), meaning(rv));
	else if (mdp_err_has_reason())
		log_warn("%s: %s: %s", fn, ckr_name(rv), mdp_err_last());
	else
		log_warn("%s: %s (%s)", fn, ckr_name(rv), meaning(rv));
}
