/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Module test helpers: dlopen the built module, one virtual card per test program. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/module/p11test.h"
#include "tests/unit/testutil.h"
#include "vcard/vcard.h"

CK_FUNCTION_LIST *p11;
CK_SLOT_ID test_slot;

static void *dl;
static char *tmpdir;
static char card_path[512];
static char conf_path[512];
static const char *module_path;

bool
p11test_pcsc(void)
{
	const char *v = getenv("MDP11_TEST_PCSC");

	return v && strcmp(v, "1") == 0;
}

const char *
p11test_card_path(void)
{
	return card_path;
}

const char *
p11test_module_path(void)
{
	return module_path;
}

int
p11test_setup(void)
{
	static const uint8_t admin[24] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
					  13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
	struct vcard_init_params params = {0};
	CK_C_GetFunctionList get;
	FILE *f;

	module_path = getenv("MDP11_TEST_MODULE");
	if (!module_path)
		module_path = MDP11_MODULE_PATH;
	dl = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "dlopen %s: %s\n", module_path, dlerror());
		return -1;
	}
	get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
	if (!get || get(&p11) != CKR_OK)
		return -1;
	tmpdir = test_tmpdir();
	if (!tmpdir)
		return -1;
	snprintf(card_path, sizeof(card_path), "%s/card.vcard", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/mdp11.conf", tmpdir);
	f = fopen(conf_path, "w");
	if (!f)
		return -1;
	if (p11test_pcsc()) {
		/* The card is served to pcscd by the calling script (tests/integration). */
		fputs("[readers]\npcsc = yes\n", f);
		fclose(f);
		unsetenv("MDP11_VCARD");
		setenv("MDP11_CONF", conf_path, 1);
		return 0;
	}
	fputs("[readers]\npcsc = no\n", f);
	fclose(f);
	params.pin = TEST_PIN;
	params.admin_key = admin;
	params.pin_tries = 3;
	if (vcard_create(card_path, &params) != 0)
		return -1;
	setenv("MDP11_CONF", conf_path, 1);
	setenv("MDP11_VCARD", card_path, 1);
	return 0;
}

void
p11test_teardown(void)
{
	if (p11)
		p11->C_Finalize(NULL);
	if (dl)
		dlclose(dl);
	if (tmpdir) {
		test_rmtree(tmpdir);
		free(tmpdir);
	}
}

CK_RV
p11test_init(void)
{
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4;
	CK_RV rv;

	rv = p11->C_Initialize(NULL);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return rv;
	rv = p11->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK)
		return rv;
	if (n != 1)
		return CKR_GENERAL_ERROR;
	test_slot = slots[0];
	return CKR_OK;
}

CK_SESSION_HANDLE
p11test_suite_session(void)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;

	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	if (p11test_setup() != 0 || p11test_init() != CKR_OK)
		return CK_INVALID_HANDLE;
	if (p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) !=
	    CKR_OK)
		return CK_INVALID_HANDLE;
	if (p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, strlen(TEST_PIN)) != CKR_OK) {
		p11->C_CloseSession(s);
		return CK_INVALID_HANDLE;
	}
	return s;
}

CK_SESSION_HANDLE
p11test_open(bool rw, bool login)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_RV rv;

	rv = p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL,
				NULL, &s);
	CU_ASSERT_EQUAL(rv, CKR_OK);
	if (login) {
		rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, strlen(TEST_PIN));
		CU_ASSERT(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
	}
	return s;
}

CK_RV
p11test_gen_rsa(CK_SESSION_HANDLE s, CK_ULONG bits, bool exchange, const char *id,
		CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_MECHANISM mech = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL t = CK_TRUE, x = exchange ? CK_TRUE : CK_FALSE;
	CK_BYTE e[] = {1, 0, 1};
	CK_ATTRIBUTE pubt[] = {
		{CKA_TOKEN, &t, sizeof(t)},
		{CKA_MODULUS_BITS, &bits, sizeof(bits)},
		{CKA_PUBLIC_EXPONENT, e, sizeof(e)},
		{CKA_VERIFY, &t, sizeof(t)},
	};
	CK_ATTRIBUTE privt[] = {
		{CKA_TOKEN, &t, sizeof(t)},
		{CKA_SIGN, &t, sizeof(t)},
		{CKA_DECRYPT, &x, sizeof(x)},
		{CKA_ID, (void *)id, id ? strlen(id) : 0},
	};

	return p11->C_GenerateKeyPair(s, &mech, pubt, 4, privt, id ? 4 : 3, pub, priv);
}

static size_t
unhex(const char *h, CK_BYTE *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (CK_BYTE)v;
	}
	return n;
}

CK_RV
p11test_gen_ec(CK_SESSION_HANDLE s, const char *curve_oid_hex, bool derive, const char *id,
	       CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL t = CK_TRUE, d = derive ? CK_TRUE : CK_FALSE, sg = derive ? CK_FALSE : CK_TRUE;
	CK_BYTE params[64];
	size_t plen = unhex(curve_oid_hex, params);
	CK_ATTRIBUTE pubt[] = {
		{CKA_TOKEN, &t, sizeof(t)},
		{CKA_EC_PARAMS, params, plen},
	};
	CK_ATTRIBUTE privt[] = {
		{CKA_TOKEN, &t, sizeof(t)},
		{CKA_SIGN, &sg, sizeof(sg)},
		{CKA_DERIVE, &d, sizeof(d)},
		{CKA_ID, (void *)id, id ? strlen(id) : 0},
	};

	return p11->C_GenerateKeyPair(s, &mech, pubt, 2, privt, id ? 4 : 3, pub, priv);
}

void *
p11test_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t, CK_ULONG *len)
{
	CK_ATTRIBUTE a = {t, NULL, 0};
	void *p;

	if (p11->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return NULL;
	p = malloc(a.ulValueLen + 1);
	if (!p)
		return NULL;
	a.pValue = p;
	if (p11->C_GetAttributeValue(s, o, &a, 1) != CKR_OK) {
		free(p);
		return NULL;
	}
	((char *)p)[a.ulValueLen] = '\0';
	if (len)
		*len = a.ulValueLen;
	return p;
}

CK_ULONG
p11test_count(CK_SESSION_HANDLE s, CK_ATTRIBUTE_TYPE t, CK_ULONG v)
{
	CK_ATTRIBUTE a = {t, &v, sizeof(v)};
	CK_OBJECT_HANDLE h[64];
	CK_ULONG n = 0;

	bool all = t == CK_UNAVAILABLE_INFORMATION;

	if (p11->C_FindObjectsInit(s, all ? NULL : &a, all ? 0 : 1) != CKR_OK)
		return (CK_ULONG)-1;
	if (p11->C_FindObjects(s, h, 64, &n) != CKR_OK)
		n = (CK_ULONG)-1;
	p11->C_FindObjectsFinal(s);
	return n;
}
