/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* APDU budgets of the PKCS#11 module on the embedded virtual card: warm open, login, signatures,
 * polling. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11/module.h"
#include "transport/transport.h"
#include "vcard/vcard.h"
#include "tests/unit/testutil.h"

/*
 * The counts are deterministic (the embedded transport counts every APDU it carries), so they
 * are asserted exactly: a change that adds an APDU to one of these paths shows up here.
 */

#define PIN "648219"

static const uint8_t admin_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
				      5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

static CK_FUNCTION_LIST_PTR f;

/* APDUs the slot's transport and its idle signing lanes have carried since they were made. */
static unsigned long
apdus(CK_SLOT_ID id)
{
	struct slot *s;
	unsigned long n = 0;

	module_lock();
	s = slot_lookup_inlock(id);
	if (s)
		n = ksp_link_apdus(s->link, s->kc);
	module_unlock();
	return n;
}

static CK_SLOT_ID
the_slot(void)
{
	CK_SLOT_ID list[4];
	CK_ULONG n = 0;

	CU_ASSERT_EQUAL_FATAL(f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL_FATAL(f->C_GetSlotList(CK_TRUE, list, &n), CKR_OK);
	return list[0];
}

static unsigned
find(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *first)
{
	CK_ATTRIBUTE t = {CKA_CLASS, &cls, sizeof(cls)};
	CK_OBJECT_HANDLE h[8];
	CK_ULONG n = 0;

	CU_ASSERT_EQUAL(f->C_FindObjectsInit(s, &t, 1), CKR_OK);
	CU_ASSERT_EQUAL(f->C_FindObjects(s, h, 8, &n), CKR_OK);
	CU_ASSERT_EQUAL(f->C_FindObjectsFinal(s), CKR_OK);
	if (n && first)
		*first = h[0];
	return (unsigned)n;
}

static CK_RV
sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_BYTE digest[32], sig[64];
	CK_ULONG len = sizeof(sig);
	CK_RV rv;

	memset(digest, 0x5A, sizeof(digest));
	rv = f->C_SignInit(s, &m, key);
	if (rv == CKR_OK)
		rv = f->C_Sign(s, digest, sizeof(digest), sig, &len);
	return rv;
}

static void
test_apdu_budgets(void)
{
	char *dir = test_tmpdir(), card[512], cache[512], conf[1600];
	struct vcard_init_params p;
	CK_SESSION_HANDLE s;
	CK_SLOT_ID id;
	CK_OBJECT_HANDLE pub = 0, priv = 0, key = 0;
	CK_BBOOL yes = CK_TRUE;
	CK_BYTE ckid[] = {0x42};
	CK_KEY_TYPE kt = CKK_EC;
	CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pubt[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_EC_PARAMS, (void *)p256_oid, sizeof(p256_oid)},
		{CKA_ID, ckid, sizeof(ckid)},
	};
	CK_ATTRIBUTE privt[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_SIGN, &yes, sizeof(yes)},
		{CKA_ID, ckid, sizeof(ckid)},
	};
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO ssi;
	unsigned long a;
	FILE *fp;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(card, sizeof(card), "%s/card.vcard", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	snprintf(conf, sizeof(conf), "%s/mdp11.conf", dir);
	memset(&p, 0, sizeof(p));
	p.pin = PIN;
	p.admin_key = admin_key;
	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	CU_ASSERT_EQUAL_FATAL(vcard_create(card, &p), MDP_OK);
	fp = fopen(conf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fprintf(fp, "[readers]\npcsc = no\n[vcard \"apdu\"]\npath = %s\n", card);
	fprintf(fp, "[cache]\nmode = persistent\ndir = %s\n", cache);
	fclose(fp);
	setenv("MDP11_CONF", conf, 1);
	unsetenv("MDP11_VCARD");
	CU_ASSERT_EQUAL_FATAL(C_GetFunctionList(&f), CKR_OK);

	/* first process: a P-256 key on the card, the cache written */
	CU_ASSERT_EQUAL_FATAL(f->C_Initialize(NULL), CKR_OK);
	id = the_slot();
	CU_ASSERT_EQUAL_FATAL(
		f->C_OpenSession(id, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)PIN, 6), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(f->C_GenerateKeyPair(s, &gen, pubt, 4, privt, 3, &pub, &priv),
			      CKR_OK);
	CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);

	/*
	 * warm start: SELECT, cardid, cardcf, and the PIN's retry counter for the token flags
	 * (C_GetTokenInfo; nobody else's wrong PINs show in cardcf); the listing costs nothing
	 */
	CU_ASSERT_EQUAL_FATAL(f->C_Initialize(NULL), CKR_OK);
	id = the_slot();
	CU_ASSERT_EQUAL(f->C_GetTokenInfo(id, &ti), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(f->C_OpenSession(id, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
	CU_ASSERT_EQUAL(find(s, CKO_PRIVATE_KEY, NULL), 0);
	CU_ASSERT_EQUAL(find(s, CKO_PUBLIC_KEY, NULL), 1);
	CU_ASSERT_EQUAL(find(s, CKO_CERTIFICATE, NULL), 0);
	a = apdus(id);
	CU_ASSERT_EQUAL(a, 4);
	printf("\n    warm open and listing: %lu APDUs", a);

	/* login: VERIFY */
	CU_ASSERT_EQUAL(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)PIN, 6), CKR_OK);
	CU_ASSERT_EQUAL(apdus(id) - a, 1);
	printf(", login %lu", apdus(id) - a);
	a = apdus(id);
	CU_ASSERT_EQUAL(find(s, CKO_PRIVATE_KEY, &key), 1);
	CU_ASSERT_EQUAL(apdus(id) - a, 0);

	/*
	 * the first signature opens a signing lane (MANAGE CHANNEL), whose card-module context
	 * selects the application, reads its keymap, sets the environment (MSE) and signs (PSO)
	 */
	a = apdus(id);
	CU_ASSERT_EQUAL(sign(s, key), CKR_OK);
	CU_ASSERT_EQUAL(apdus(id) - a, 5);
	printf(", first signature %lu", apdus(id) - a);
	/* the next ones: PSO only (same security environment, nothing changed) */
	a = apdus(id);
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(sign(s, key), CKR_OK);
	CU_ASSERT_EQUAL(apdus(id) - a, 5);

	/* NSS-style polling: nothing reaches the card */
	a = apdus(id);
	for (i = 0; i < 20; i++) {
		CU_ASSERT_EQUAL(f->C_GetSlotInfo(id, &si), CKR_OK);
		CU_ASSERT_EQUAL(f->C_GetTokenInfo(id, &ti), CKR_OK);
		CU_ASSERT_EQUAL(f->C_GetSessionInfo(s, &ssi), CKR_OK);
	}
	CU_ASSERT_EQUAL(apdus(id) - a, 0);
	printf(", polling %lu\n", apdus(id) - a);

	/* another process changes the card: the next call that needs fresh data reads cardcf */
	{
		struct vcard *vc = NULL;
		/* PUT DATA A010/DF22 (cardcf) with a bumped files counter */
		uint8_t apdu[] = {0x00, 0xDB, 0xA0, 0x10, 0x09, 0xDF, 0x22,
				  0x06, 0x00, 0x05, 0x09, 0x00, 0x0B, 0x00};
		uint8_t vpin[] = {0x00, 0x20, 0x00, 0x80, 0x06, '6', '4', '8', '2', '1', '9'};
		uint8_t resp[VCARD_MAX_RESPONSE];
		size_t rlen = 0;

		CU_ASSERT_EQUAL_FATAL(vcard_open(card, NULL, &vc), MDP_OK);
		CU_ASSERT_EQUAL(vcard_transmit(vc, vpin, sizeof(vpin), resp, &rlen), MDP_OK);
		CU_ASSERT_EQUAL(vcard_transmit(vc, apdu, sizeof(apdu), resp, &rlen), MDP_OK);
		CU_ASSERT_EQUAL(rlen, 2);
		CU_ASSERT_EQUAL(resp[0], 0x90);
		vcard_free(vc);
	}
	a = apdus(id);
	CU_ASSERT_EQUAL(find(s, CKO_PRIVATE_KEY, NULL), 1);
	CU_ASSERT_TRUE(apdus(id) - a >= 1);

	CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);
	unsetenv("MDP11_CONF");
	free(dir);
}

/* Another process enters a wrong PIN (straight to the card's state file, as a second process). */
static void
other_process_wrong_pin(const char *card)
{
	static const uint8_t wrong[] = {0x00, 0x20, 0x00, 0x80, 0x06, '0', '0', '0', '0', '0', '0'};
	uint8_t resp[VCARD_MAX_RESPONSE];
	struct vcard *vc = NULL;
	size_t rlen = 0;

	CU_ASSERT_EQUAL_FATAL(vcard_open(card, NULL, &vc), MDP_OK);
	CU_ASSERT_EQUAL(vcard_transmit(vc, wrong, sizeof(wrong), resp, &rlen), MDP_OK);
	CU_ASSERT_EQUAL(rlen, 2);
	CU_ASSERT_EQUAL(resp[0], 0x63);
	vcard_free(vc);
}

static CK_FLAGS
pin_flags(CK_SLOT_ID id)
{
	CK_TOKEN_INFO ti;

	CU_ASSERT_EQUAL(f->C_GetTokenInfo(id, &ti), CKR_OK);
	return ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
}

/*
 * The token flags come from the card's retry counter in every process: wrong PINs typed
 * elsewhere show here, and in a process started afterwards; polling while nothing changed
 * still costs no APDU.
 */
static void
test_pin_state_other_process(void)
{
	char *dir = test_tmpdir(), card[512], conf[1100];
	struct vcard_init_params p;
	CK_SLOT_ID id;
	unsigned long a;
	FILE *fp;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(card, sizeof(card), "%s/card.vcard", dir);
	snprintf(conf, sizeof(conf), "%s/mdp11.conf", dir);
	memset(&p, 0, sizeof(p));
	p.pin = PIN;
	p.admin_key = admin_key;
	p.pin_tries = 3;
	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	CU_ASSERT_EQUAL_FATAL(vcard_create(card, &p), MDP_OK);
	fp = fopen(conf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fprintf(fp, "[readers]\npcsc = no\n[vcard \"pins\"]\npath = %s\n", card);
	fclose(fp);
	setenv("MDP11_CONF", conf, 1);
	unsetenv("MDP11_VCARD");
	CU_ASSERT_EQUAL_FATAL(C_GetFunctionList(&f), CKR_OK);

	CU_ASSERT_EQUAL_FATAL(f->C_Initialize(NULL), CKR_OK);
	id = the_slot();
	CU_ASSERT_EQUAL(pin_flags(id), 0);
	a = apdus(id);
	for (i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(pin_flags(id), 0);
	CU_ASSERT_EQUAL(apdus(id) - a, 0);

	other_process_wrong_pin(card);
	CU_ASSERT_EQUAL(pin_flags(id), CKF_USER_PIN_COUNT_LOW);
	/* read once (cardcf and the counter), then polling is free again */
	a = apdus(id);
	for (i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(pin_flags(id), CKF_USER_PIN_COUNT_LOW);
	CU_ASSERT_EQUAL(apdus(id) - a, 0);
	other_process_wrong_pin(card);
	CU_ASSERT_EQUAL(pin_flags(id), CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY);
	CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);

	/* a process started afterwards (pkcs11-tool -L, Firefox) sees it at once */
	CU_ASSERT_EQUAL_FATAL(f->C_Initialize(NULL), CKR_OK);
	id = the_slot();
	CU_ASSERT_EQUAL(pin_flags(id), CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY);
	other_process_wrong_pin(card);
	CU_ASSERT_EQUAL(pin_flags(id), CKF_USER_PIN_LOCKED);
	CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(f->C_Initialize(NULL), CKR_OK);
	CU_ASSERT_EQUAL(pin_flags(the_slot()), CKF_USER_PIN_LOCKED);
	CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);
	unsetenv("MDP11_CONF");
	test_rmtree(dir);
	free(dir);
}

int
main(void)
{
	CU_TestInfo tests[] = {
		{"APDU budgets: warm open, login, signatures, polling", test_apdu_budgets},
		{"PIN state from other processes, polling still free",
		 test_pin_state_other_process},
		CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suites[] = {
		{"pkcs11-apdu", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return test_run("test-pkcs11-apdu", suites);
}
