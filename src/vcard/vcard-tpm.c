/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TPM seal: a card's secret sealed to a TPM 2.0 through tpm2-tss (ESAPI and the tctildr). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

/*
 * The secret is the sensitive data of a keyedhash "sealed data" object (fixedTPM, fixedParent,
 * noDA, empty authorisation) whose parent is the storage key every caller can recreate: the TCG
 * ECC P-256 SRK template under the owner hierarchy (empty owner authorisation, as a machine has
 * it unless someone took ownership). The object's public and private areas, the private one
 * encrypted by the TPM under that parent, are what the card file stores: any other TPM, or this
 * one after its owner hierarchy was cleared, cannot load it. Creation and unsealing run in a
 * session salted by the storage key, with parameter encryption, so the secret never crosses the
 * bus to the TPM in clear. Every transient object and session is flushed on every path (a TPM
 * without a resource manager keeps them otherwise).
 */
#define TPM_DEFAULT_TCTI "device:/dev/tpmrm0"
#define TPM_OBJ_VERSION 1 /* first byte of the stored object: the template set above */

struct tpm {
	const char *tcti_conf;
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR primary;
	ESYS_TR session;
	ESYS_TR object;
};

static enum mdp_err
tpm_fail(const struct tpm *t, const char *what, TSS2_RC rc)
{
	return mdp_err_reason(MDP_ERR_SEAL, "TPM at %s: %s: %s", t->tcti_conf, what,
			      Tss2_RC_Decode(rc));
}

static void
tpm_close(struct tpm *t)
{
	if (t->esys) {
		if (t->object != ESYS_TR_NONE)
			Esys_FlushContext(t->esys, t->object);
		if (t->session != ESYS_TR_NONE)
			Esys_FlushContext(t->esys, t->session);
		if (t->primary != ESYS_TR_NONE)
			Esys_FlushContext(t->esys, t->primary);
		Esys_Finalize(&t->esys);
	}
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	t->object = t->session = t->primary = ESYS_TR_NONE;
}

static enum mdp_err
tpm_connect(struct tpm *t, const char *tcti)
{
	TSS2_RC rc;

	memset(t, 0, sizeof(*t));
	t->tcti_conf = tcti ? tcti : TPM_DEFAULT_TCTI;
	t->primary = t->session = t->object = ESYS_TR_NONE;
	rc = Tss2_TctiLdr_Initialize(t->tcti_conf, &t->tcti);
	if (rc != TSS2_RC_SUCCESS)
		return mdp_err_reason(MDP_ERR_SEAL, "TPM at %s: cannot connect: %s", t->tcti_conf,
				      Tss2_RC_Decode(rc));
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_close(t);
		return tpm_fail(t, "cannot start a session with it", rc);
	}
	return MDP_OK;
}

/* The storage key, and a session salted by it with parameter encryption both ways. */
static enum mdp_err
tpm_primary(struct tpm *t)
{
	TPM2B_SENSITIVE_CREATE in_sensitive;
	TPM2B_PUBLIC tpl;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION pcrs;
	TPMT_SYM_DEF sym;
	TSS2_RC rc;

	memset(&in_sensitive, 0, sizeof(in_sensitive));
	memset(&tpl, 0, sizeof(tpl));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	tpl.publicArea.type = TPM2_ALG_ECC;
	tpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					  TPMA_OBJECT_SENSITIVEDATAORIGIN |
					  TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED |
					  TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA;
	tpl.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	tpl.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	tpl.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	tpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	tpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	tpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &in_sensitive, &tpl, &outside, &pcrs, &t->primary,
				NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, "cannot create the storage key of the owner hierarchy", rc);
	memset(&sym, 0, sizeof(sym));
	sym.algorithm = TPM2_ALG_AES;
	sym.keyBits.aes = 128;
	sym.mode.aes = TPM2_ALG_CFB;
	rc = Esys_StartAuthSession(t->esys, t->primary, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256,
				   &t->session);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, "cannot start an encrypted session", rc);
	rc = Esys_TRSess_SetAttributes(
		t->esys, t->session,
		TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(t, "cannot set up the session", rc);
	return MDP_OK;
}

bool
vc_tpm_usable(const char *tcti)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = TPM2_NO;
	struct tpm t;
	TSS2_RC rc;
	bool ok;

	/* Only a device is tried by default, and only when it is there: no network probing. */
	if (!tcti && access("/dev/tpmrm0", R_OK | W_OK) != 0)
		return false;
	if (tpm_connect(&t, tcti) != MDP_OK)
		return false;
	rc = Esys_GetCapability(t.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_TPM_PROPERTIES, TPM2_PT_FAMILY_INDICATOR, 1, &more, &cap);
	ok = rc == TSS2_RC_SUCCESS;
	Esys_Free(cap);
	tpm_close(&t);
	return ok;
}

enum mdp_err
vc_tpm_seal(const char *tcti, const uint8_t *secret, size_t len, uint8_t **out, size_t *out_len)
{
	TPM2B_SENSITIVE_CREATE in_sensitive;
	TPM2B_PUBLIC tpl;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION pcrs;
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	uint8_t *buf = NULL;
	size_t cap = 1 + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE), off = 1;
	struct tpm t;
	TSS2_RC rc;
	enum mdp_err err;

	if (len > sizeof(in_sensitive.sensitive.data.buffer))
		return MDP_ERR_ARGS;
	err = tpm_connect(&t, tcti);
	if (err)
		return err;
	err = tpm_primary(&t);
	if (err)
		goto out;
	memset(&in_sensitive, 0, sizeof(in_sensitive));
	memset(&tpl, 0, sizeof(tpl));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	in_sensitive.sensitive.data.size = (UINT16)len;
	memcpy(in_sensitive.sensitive.data.buffer, secret, len);
	tpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					  TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
	tpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	rc = Esys_Create(t.esys, t.primary, t.session, ESYS_TR_NONE, ESYS_TR_NONE, &in_sensitive,
			 &tpl, &outside, &pcrs, &priv, &pub, NULL, NULL, NULL);
	mdp_wipe(&in_sensitive, sizeof(in_sensitive));
	if (rc != TSS2_RC_SUCCESS) {
		err = tpm_fail(&t, "cannot create the sealed object", rc);
		goto out;
	}
	buf = malloc(cap);
	if (!buf) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	buf[0] = TPM_OBJ_VERSION;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, cap, &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, cap, &off) != TSS2_RC_SUCCESS) {
		err = mdp_err_reason(MDP_ERR_INTERNAL, "cannot store the TPM object");
		goto out;
	}
	*out = buf;
	*out_len = off;
	buf = NULL;
	err = MDP_OK;
out:
	free(buf);
	Esys_Free(priv);
	Esys_Free(pub);
	tpm_close(&t);
	return err;
}

enum mdp_err
vc_tpm_unseal(const char *tcti, const uint8_t *obj, size_t obj_len, uint8_t *secret, size_t cap,
	      size_t *len)
{
	TPM2B_SENSITIVE_DATA *data = NULL;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	size_t off = 1;
	struct tpm t;
	TSS2_RC rc;
	enum mdp_err err;

	memset(&pub, 0, sizeof(pub));
	memset(&priv, 0, sizeof(priv));
	if (obj_len < 1 || obj[0] != TPM_OBJ_VERSION ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(obj, obj_len, &off, &pub) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(obj, obj_len, &off, &priv) != TSS2_RC_SUCCESS ||
	    off != obj_len)
		return mdp_err_reason(MDP_ERR_STATE,
				      "state file: the TPM seal's object is damaged");
	err = tpm_connect(&t, tcti);
	if (err)
		return err;
	err = tpm_primary(&t);
	if (err)
		goto out;
	rc = Esys_Load(t.esys, t.primary, t.session, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub,
		       &t.object);
	if (rc != TSS2_RC_SUCCESS) {
		err = mdp_err_reason(MDP_ERR_SEAL,
				     "TPM at %s does not take this card's sealed object (another "
				     "TPM, or its owner hierarchy was cleared): %s",
				     t.tcti_conf, Tss2_RC_Decode(rc));
		goto out;
	}
	rc = Esys_Unseal(t.esys, t.object, t.session, ESYS_TR_NONE, ESYS_TR_NONE, &data);
	if (rc != TSS2_RC_SUCCESS) {
		err = tpm_fail(&t, "cannot unseal the card's secret", rc);
		goto out;
	}
	if (data->size > cap) {
		err = mdp_err_reason(MDP_ERR_STATE, "state file: the TPM seal holds a bad secret");
		goto out;
	}
	memcpy(secret, data->buffer, data->size);
	*len = data->size;
	err = MDP_OK;
out:
	if (data) {
		mdp_wipe(data, sizeof(*data));
		Esys_Free(data);
	}
	tpm_close(&t);
	return err;
}
