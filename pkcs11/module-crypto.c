/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The C_* cryptographic functions (one set of helpers for the five kinds), keys, random. */
#include "config.h"

#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/log.h"
#include "pkcs11/module.h"

/* ---- cryptographic operations: one set of helpers for the five kinds ---- */

static CK_RV
op_init(const char *name, enum op_kind kind, CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
	CK_OBJECT_HANDLE key)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("%s(%lu, mech 0x%lx, key %lu)", name, h, mech ? mech->mechanism : 0UL, key);
	rv = module_enter_session(h, &se);
	if (rv == CKR_OK) {
		if (!mech)
			rv = CKR_ARGUMENTS_BAD;
		else if (se->op[kind].active)
			rv = CKR_OPERATION_ACTIVE;
		else
			rv = crypto_init_slocked(se, kind, mech, key);
		module_leave_session(se);
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
	rv = module_enter_session_light(h, &se);
	if (rv == CKR_OK) {
		if (!se->op[kind].active) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else if ((!in && in_len) || !out_len) {
			session_op_clear(&se->op[kind]);
			rv = CKR_ARGUMENTS_BAD;
		} else {
			rv = crypto_oneshot_slocked(se, kind, in, in_len, out, out_len);
		}
		module_leave_session(se);
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
	rv = module_enter_session_light(h, &se);
	if (rv == CKR_OK) {
		if (!se->op[kind].active) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else if (!in && in_len) {
			session_op_clear(&se->op[kind]);
			rv = CKR_ARGUMENTS_BAD;
		} else {
			rv = crypto_update_slocked(se, kind, in, in_len);
		}
		module_leave_session(se);
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
	rv = module_enter_session_light(h, &se);
	if (rv == CKR_OK) {
		if (!se->op[kind].active) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else if (!out_len) {
			session_op_clear(&se->op[kind]);
			rv = CKR_ARGUMENTS_BAD;
		} else {
			rv = crypto_final_slocked(se, kind, out, out_len);
		}
		module_leave_session(se);
	}
	TRACE_OUT(name, rv);
	return rv;
}

CK_RV
mdp_C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init("C_EncryptInit", OP_ENCRYPT, hSession, pMechanism, hKey);
}

CK_RV
mdp_C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	      CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
	return op_oneshot("C_Encrypt", OP_ENCRYPT, hSession, pData, ulDataLen, pEncryptedData,
			  pulEncryptedDataLen);
}

CK_RV
mdp_C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
		    CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
	CK_RV rv = op_update("C_EncryptUpdate", OP_ENCRYPT, hSession, pPart, ulPartLen);

	/* RSA encryption is one block: the output comes with C_EncryptFinal. */
	if (rv == CKR_OK && pulEncryptedPartLen)
		*pulEncryptedPartLen = 0;
	return rv;
}

CK_RV
mdp_C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
		   CK_ULONG_PTR pulLastEncryptedPartLen)
{
	return op_final("C_EncryptFinal", OP_ENCRYPT, hSession, pLastEncryptedPart,
			pulLastEncryptedPartLen);
}

CK_RV
mdp_C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init("C_DecryptInit", OP_DECRYPT, hSession, pMechanism, hKey);
}

CK_RV
mdp_C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
	      CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
	return op_oneshot("C_Decrypt", OP_DECRYPT, hSession, pEncryptedData, ulEncryptedDataLen,
			  pData, pulDataLen);
}

CK_RV
mdp_C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
		    CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	CK_RV rv = op_update("C_DecryptUpdate", OP_DECRYPT, hSession, pEncryptedPart,
			     ulEncryptedPartLen);

	if (rv == CKR_OK && pulPartLen)
		*pulPartLen = 0;
	return rv;
}

CK_RV
mdp_C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
	return op_final("C_DecryptFinal", OP_DECRYPT, hSession, pLastPart, pulLastPartLen);
}

CK_RV
mdp_C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	return op_init("C_DigestInit", OP_DIGEST, hSession, pMechanism, CK_INVALID_HANDLE);
}

CK_RV
mdp_C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pDigest,
	     CK_ULONG_PTR pulDigestLen)
{
	return op_oneshot("C_Digest", OP_DIGEST, hSession, pData, ulDataLen, pDigest, pulDigestLen);
}

CK_RV
mdp_C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return op_update("C_DigestUpdate", OP_DIGEST, hSession, pPart, ulPartLen);
}

CK_RV
mdp_C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	/* Only private keys (never digestible) and derived secrets live here. */
	return module_unsupported("C_DigestKey", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	return op_final("C_DigestFinal", OP_DIGEST, hSession, pDigest, pulDigestLen);
}

CK_RV
mdp_C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	return op_init("C_SignInit", OP_SIGN, hSession, pMechanism, hKey);
}

CK_RV
mdp_C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	   CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	return op_oneshot("C_Sign", OP_SIGN, hSession, pData, ulDataLen, pSignature,
			  pulSignatureLen);
}

CK_RV
mdp_C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return op_update("C_SignUpdate", OP_SIGN, hSession, pPart, ulPartLen);
}

CK_RV
mdp_C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	return op_final("C_SignFinal", OP_SIGN, hSession, pSignature, pulSignatureLen);
}

CK_RV
mdp_C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		      CK_OBJECT_HANDLE hKey)
{
	return module_unsupported("C_SignRecoverInit", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		  CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	return module_unsupported("C_SignRecover", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
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
	rv = module_enter_session_light(h, &se);
	if (rv == CKR_OK) {
		if (!se->op[OP_VERIFY].active) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
		} else if ((!data && len) || (!sig && sig_len)) {
			session_op_clear(&se->op[OP_VERIFY]);
			rv = CKR_ARGUMENTS_BAD;
		} else {
			rv = crypto_verify_slocked(se, data, len, oneshot, sig, sig_len);
		}
		module_leave_session(se);
	}
	TRACE_OUT(name, rv);
	return rv;
}

CK_RV
mdp_C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	     CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	return verify_common("C_Verify", hSession, pData, ulDataLen, true, pSignature,
			     ulSignatureLen);
}

CK_RV
mdp_C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return op_update("C_VerifyUpdate", OP_VERIFY, hSession, pPart, ulPartLen);
}

CK_RV
mdp_C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	return verify_common("C_VerifyFinal", hSession, NULL, 0, false, pSignature, ulSignatureLen);
}

CK_RV
mdp_C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			CK_OBJECT_HANDLE hKey)
{
	return module_unsupported("C_VerifyRecoverInit", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen,
		    CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
	return module_unsupported("C_VerifyRecover", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
			  CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
	return module_unsupported("C_DigestEncryptUpdate", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
			  CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	return module_unsupported("C_DecryptDigestUpdate", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
			CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
	return module_unsupported("C_SignEncryptUpdate", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
			  CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	return module_unsupported("C_DecryptVerifyUpdate", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
	/* No secret-key mechanism is offered: the card holds key pairs only. */
	return module_unsupported("C_GenerateKey", hSession, CKR_MECHANISM_INVALID);
}

CK_RV
mdp_C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		      CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
		      CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
		      CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_GenerateKeyPair(%lu, mech 0x%lx)", hSession,
		 pMechanism ? pMechanism->mechanism : 0UL);
	rv = module_enter_session(hSession, &se);
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
		module_leave_session(se);
	}
	TRACE_OUT("C_GenerateKeyPair", rv);
	return rv;
}

CK_RV
mdp_C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	      CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
	      CK_ULONG_PTR pulWrappedKeyLen)
{
	return module_unsupported("C_WrapKey", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey, CK_ULONG ulWrappedKeyLen,
		CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	return module_unsupported("C_UnwrapKey", hSession, CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV
mdp_C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hBaseKey,
		CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_DeriveKey(%lu, mech 0x%lx, key %lu)", hSession,
		 pMechanism ? pMechanism->mechanism : 0UL, hBaseKey);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!pMechanism || !phKey || (!pTemplate && ulAttributeCount))
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = crypto_derive_slocked(se, pMechanism, hBaseKey, pTemplate,
						   ulAttributeCount, phKey);
		module_leave_session(se);
	}
	TRACE_OUT("C_DeriveKey", rv);
	return rv;
}

CK_RV
mdp_C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	return module_unsupported("C_SeedRandom", hSession, CKR_RANDOM_SEED_NOT_SUPPORTED);
}

CK_RV
mdp_C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
	struct session *se = NULL;
	CK_RV rv;

	TRACE_IN("C_GenerateRandom(%lu, %lu bytes)", hSession, ulRandomLen);
	rv = module_enter_session(hSession, &se);
	if (rv == CKR_OK) {
		if (!RandomData && ulRandomLen)
			rv = CKR_ARGUMENTS_BAD;
		else if (ulRandomLen > INT32_MAX)
			rv = CKR_ARGUMENTS_BAD;
		else if (ulRandomLen && RAND_bytes(RandomData, (int)ulRandomLen) != 1)
			rv = CKR_FUNCTION_FAILED;
		module_leave_session(se);
	}
	TRACE_OUT("C_GenerateRandom", rv);
	return rv;
}

CK_RV
mdp_C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
	return module_unsupported("C_GetFunctionStatus", hSession, CKR_FUNCTION_NOT_PARALLEL);
}

CK_RV
mdp_C_CancelFunction(CK_SESSION_HANDLE hSession)
{
	return module_unsupported("C_CancelFunction", hSession, CKR_FUNCTION_NOT_PARALLEL);
}
