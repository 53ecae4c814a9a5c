/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The C_* functions of objects: argument checks, locking, tracing. */
#include "config.h"

#include <stdlib.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/log.h"
#include "pkcs11/module.h"

/* ---- objects ---- */

CK_RV
mdp_C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
		   CK_OBJECT_HANDLE_PTR phObject)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_CreateObject(%lu, %lu attributes)", hSession, ulCount);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!phObject || (!pTemplate && ulCount))
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = object_create_slocked(se, pTemplate, ulCount, phObject);
		module_leave_session(se);
	}
	TRACE_OUT("C_CreateObject", rv);
	return rv;
}

CK_RV
mdp_C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
		 CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject)
{
	/* A card object cannot be duplicated: a container holds one key per slot. */
	return module_unsupported("C_CopyObject", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	struct session *se = NULL;
	struct object *o;
	CK_RV rv;

	TRACE_IN("C_DestroyObject(%lu, %lu)", hSession, hObject);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		o = object_lookup_slocked(se, hObject);
		rv = o ? object_destroy_slocked(se, o) : CKR_OBJECT_HANDLE_INVALID;
		module_leave_session(se);
	}
	TRACE_OUT("C_DestroyObject", rv);
	return rv;
}

CK_RV
mdp_C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_GetObjectSize(%lu, %lu)", hSession, hObject);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!pulSize)
			rv = CKR_ARGUMENTS_BAD;
		else if (!object_lookup_slocked(se, hObject))
			rv = CKR_OBJECT_HANDLE_INVALID;
		else
			*pulSize = CK_UNAVAILABLE_INFORMATION; /* card storage is not per object */
		module_leave_session(se);
	}
	TRACE_OUT("C_GetObjectSize", rv);
	return rv;
}

CK_RV
mdp_C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct session *se = NULL;
	struct object *o;
	CK_RV rv;

	TRACE_IN("C_GetAttributeValue(%lu, %lu, %lu attributes)", hSession, hObject, ulCount);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		o = object_lookup_slocked(se, hObject);
		if (!o)
			rv = CKR_OBJECT_HANDLE_INVALID;
		else if (!pTemplate && ulCount)
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = object_get_attrs_slocked(se, o, pTemplate, ulCount);
		module_leave_session(se);
	}
	TRACE_OUT("C_GetAttributeValue", rv);
	return rv;
}

CK_RV
mdp_C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct session *se = NULL;
	struct object *o;
	CK_RV rv;

	TRACE_IN("C_SetAttributeValue(%lu, %lu, %lu attributes)", hSession, hObject, ulCount);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		o = object_lookup_slocked(se, hObject);
		if (!o)
			rv = CKR_OBJECT_HANDLE_INVALID;
		else if (!pTemplate && ulCount)
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = object_set_attrs_slocked(se, o, pTemplate, ulCount);
		module_leave_session(se);
	}
	TRACE_OUT("C_SetAttributeValue", rv);
	return rv;
}

CK_RV
mdp_C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_FindObjectsInit(%lu, %lu attributes)", hSession, ulCount);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!pTemplate && ulCount)
			rv = CKR_ARGUMENTS_BAD;
		else if (se->finding)
			rv = CKR_OPERATION_ACTIVE;
		else
			rv = object_find_init_slocked(se, pTemplate, ulCount);
		module_leave_session(se);
	}
	TRACE_OUT("C_FindObjectsInit", rv);
	return rv;
}

CK_RV
mdp_C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
		  CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	struct session *se = NULL;
	CK_RV rv;
	CK_ULONG n = 0;

	TRACE_IN("C_FindObjects(%lu, max %lu)", hSession, ulMaxObjectCount);
	rv = module_enter_session_light(hSession, &se);
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
		module_leave_session(se);
	}
	log_trace("C_FindObjects = %s, %lu found", ckr_name(rv), n);
	return rv;
}

CK_RV
mdp_C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_FindObjectsFinal(%lu)", hSession);
	rv = module_enter_session_light(hSession, &se);
	if (rv == CKR_OK) {
		if (!se->finding) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else {
			free(se->found);
			se->found = NULL;
			se->nfound = se->found_pos = 0;
			se->finding = false;
		}
		module_leave_session(se);
	}
	TRACE_OUT("C_FindObjectsFinal", rv);
	return rv;
}
