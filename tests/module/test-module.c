/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The module through C_GetFunctionList on the embedded virtual card: every function, the rules. */
#include "config.h"

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <dlfcn.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mdp11/pkcs11-vendor.h"
#include "tests/module/p11test.h"
#include "tests/unit/testutil.h"

#define P256 "06082a8648ce3d030107"
#define P384 "06052b81040022"
#define SECP256K1 "06052b8104000a"

/* Keys made by the key suite and used by the later ones. */
static CK_OBJECT_HANDLE rsa_pub, rsa_priv, ec_pub, ec_priv, ecdh_pub, ecdh_priv;

static int
suite_init(void)
{
	return p11test_setup();
}

static int
suite_clean(void)
{
	p11test_teardown();
	return 0;
}

/* ---- initialisation, interfaces, exports ---- */

static int mutex_calls;

static CK_RV
app_create(void **m)
{
	mutex_calls++;
	*m = calloc(1, sizeof(pthread_mutex_t));
	return *m ? CKR_OK : CKR_HOST_MEMORY;
}

static CK_RV
app_destroy(void *m)
{
	mutex_calls++;
	free(m);
	return CKR_OK;
}

static CK_RV
app_lock(void *m)
{
	mutex_calls++;
	return CKR_OK;
}

static CK_RV
app_unlock(void *m)
{
	mutex_calls++;
	return CKR_OK;
}

static void
test_initialize_rules(void)
{
	CK_C_INITIALIZE_ARGS args = {0};
	CK_INFO info;
	CK_ULONG n = 0;

	CU_ASSERT_EQUAL(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	args.pReserved = &n;
	CU_ASSERT_EQUAL(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
	args.pReserved = NULL;
	args.CreateMutex = app_create; /* only one of the four */
	CU_ASSERT_EQUAL(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
	/* Application mutexes without CKF_OS_LOCKING_OK: the module must use them. */
	args.DestroyMutex = app_destroy;
	args.LockMutex = app_lock;
	args.UnlockMutex = app_unlock;
	CU_ASSERT_EQUAL(p11->C_Initialize(&args), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	CU_ASSERT(mutex_calls > 0);
	CU_ASSERT_EQUAL(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	CU_ASSERT_EQUAL(p11->C_Finalize(&n), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
	/* OS locking. */
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	CU_ASSERT_EQUAL(p11->C_Initialize(&args), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(p11->C_GetInfo(&info), CKR_OK);
	CU_ASSERT_EQUAL(info.cryptokiVersion.major, 2);
	CU_ASSERT_EQUAL(info.cryptokiVersion.minor, 40);
	CU_ASSERT(memcmp(info.manufacturerID, "mdp11 ", 6) == 0);
	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
}

static void
test_interfaces(void)
{
	CK_C_GetInterfaceList get_list;
	CK_C_GetInterface get;
	CK_INTERFACE list[4], *itf = NULL;
	CK_VERSION v30 = {3, 0}, v240 = {2, 40}, v99 = {9, 9};
	CK_ULONG n = 0;
	CK_FUNCTION_LIST_3_0 *f3;
	void *dl = dlopen(p11test_module_path(), RTLD_NOW | RTLD_NOLOAD);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dl);
	get_list = (CK_C_GetInterfaceList)dlsym(dl, "C_GetInterfaceList");
	get = (CK_C_GetInterface)dlsym(dl, "C_GetInterface");
	CU_ASSERT_PTR_NOT_NULL_FATAL(get_list);
	CU_ASSERT_PTR_NOT_NULL_FATAL(get);
	CU_ASSERT_EQUAL(get_list(NULL, &n), CKR_OK);
	CU_ASSERT_EQUAL(n, 2);
	n = 1;
	CU_ASSERT_EQUAL(get_list(list, &n), CKR_BUFFER_TOO_SMALL);
	n = 4;
	CU_ASSERT_EQUAL(get_list(list, &n), CKR_OK);
	CU_ASSERT_STRING_EQUAL((char *)list[0].pInterfaceName, "PKCS 11");
	CU_ASSERT_EQUAL(get((CK_UTF8CHAR *)"PKCS 11", &v30, &itf, 0), CKR_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(itf);
	f3 = itf->pFunctionList;
	CU_ASSERT_EQUAL(f3->version.major, 3);
	CU_ASSERT_EQUAL(get((CK_UTF8CHAR *)"PKCS 11", &v240, &itf, 0), CKR_OK);
	CU_ASSERT_PTR_EQUAL(itf->pFunctionList, p11);
	CU_ASSERT_EQUAL(get(NULL, NULL, &itf, 0), CKR_OK);
	CU_ASSERT_EQUAL(get((CK_UTF8CHAR *)"Vendor X", NULL, &itf, 0), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(get((CK_UTF8CHAR *)"PKCS 11", &v99, &itf, 0), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(get(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);

	/* 3.0 functions: C_LoginUser works, the message functions say they are not there. */
	CU_ASSERT_EQUAL_FATAL(p11test_init(), CKR_OK);
	{
		CK_SESSION_HANDLE s = p11test_open(false, false);
		CK_MECHANISM m = {CKM_SHA256, NULL, 0};

		CU_ASSERT_EQUAL(f3->C_MessageSignInit(s, &m, 0), CKR_FUNCTION_NOT_SUPPORTED);
		CU_ASSERT_EQUAL(f3->C_EncryptMessage(s, NULL, 0, NULL, 0, NULL, 0, NULL, NULL),
				CKR_FUNCTION_NOT_SUPPORTED);
		CU_ASSERT_EQUAL(f3->C_MessageVerifyFinal(s), CKR_FUNCTION_NOT_SUPPORTED);
		CU_ASSERT_EQUAL(f3->C_LoginUser(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN,
						strlen(TEST_PIN), (CK_UTF8CHAR *)"x", 1),
				CKR_OK);
		CU_ASSERT_EQUAL(f3->C_DigestInit(s, &m), CKR_OK);
		CU_ASSERT_EQUAL(f3->C_SessionCancel(s, CKF_DIGEST), CKR_OK);
		CU_ASSERT_EQUAL(f3->C_DigestUpdate(s, (CK_BYTE *)"a", 1),
				CKR_OPERATION_NOT_INITIALIZED);
		CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
	}
	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
	dlclose(dl);
}

/* Only the three entry points leave the module (nm -D). */
static void
test_exports(void)
{
	char cmd[1024], line[512];
	int c_syms = 0, others = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s' 2>/dev/null", p11test_module_path());
	p = popen(cmd, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	while (fgets(line, sizeof(line), p)) {
		char *name = strrchr(line, ' ');

		if (!name)
			continue;
		name++;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, "C_GetFunctionList") == 0 ||
		    strcmp(name, "C_GetInterfaceList") == 0 || strcmp(name, "C_GetInterface") == 0)
			c_syms++;
		else if (strcmp(name, "_init") != 0 && strcmp(name, "_fini") != 0)
			others++;
	}
	CU_ASSERT_EQUAL(pclose(p), 0);
	CU_ASSERT_EQUAL(c_syms, 3);
	CU_ASSERT_EQUAL(others, 0);
}

static void
test_bad_config(void)
{
	char path[600];
	const char *saved = getenv("MDP11_CONF");
	char *keep = strdup(saved);
	FILE *f;

	snprintf(path, sizeof(path), "%s.bad.conf", p11test_card_path());
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("[readers]\npcsc = no\n[policy]\nrsa_min_bitz = 1024\n", f);
	fclose(f);
	setenv("MDP11_CONF", path, 1);
	CU_ASSERT_EQUAL(p11->C_Initialize(NULL), CKR_GENERAL_ERROR);
	setenv("MDP11_CONF", "/nonexistent/mdp11.conf", 1);
	CU_ASSERT_EQUAL(p11->C_Initialize(NULL), CKR_GENERAL_ERROR);
	setenv("MDP11_CONF", keep, 1);
	free(keep);
	unlink(path);
}

static void *
waiter(void *arg)
{
	CK_SLOT_ID id;

	return (void *)(long)p11->C_WaitForSlotEvent(0, &id, NULL);
}

/* A blocked C_WaitForSlotEvent returns when another thread calls C_Finalize. */
static void
test_wait_finalize(void)
{
	pthread_t th;
	void *r = NULL;
	CK_SLOT_ID id;

	CU_ASSERT_EQUAL_FATAL(p11test_init(), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &id, &id), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, waiter, NULL), 0);
	usleep(300000);
	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
	CU_ASSERT_EQUAL(pthread_join(th, &r), 0);
	CU_ASSERT_EQUAL((CK_RV)(long)r, CKR_CRYPTOKI_NOT_INITIALIZED);
}

/* A virtual card named in the configuration file, with a token label override. */
static void
test_config_vcard(void)
{
	char path[600];
	char *keep_conf = strdup(getenv("MDP11_CONF")), *keep_vcard = NULL;
	CK_SLOT_ID slots[4];
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_ULONG n = 4;
	FILE *f;

	if (p11test_pcsc()) {
		free(keep_conf);
		return;
	}
	keep_vcard = strdup(getenv("MDP11_VCARD"));
	snprintf(path, sizeof(path), "%s.vc.conf", p11test_card_path());
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f,
		"debug = 0\n[readers]\npcsc = no\n[token]\nlabel = \"Configured\"\n"
		"[vcard \"my card\"]\npath = %s\n",
		p11test_card_path());
	fclose(f);
	setenv("MDP11_CONF", path, 1);
	unsetenv("MDP11_VCARD");
	CU_ASSERT_EQUAL_FATAL(p11->C_Initialize(NULL), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(p11->C_GetSlotInfo(slots[0], &si), CKR_OK);
	CU_ASSERT(memcmp(si.slotDescription, "my card ", 8) == 0);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(slots[0], &ti), CKR_OK);
	CU_ASSERT(memcmp(ti.label, "Configured ", 11) == 0);
	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
	setenv("MDP11_CONF", keep_conf, 1);
	setenv("MDP11_VCARD", keep_vcard, 1);
	free(keep_conf);
	free(keep_vcard);
	unlink(path);
}

/* A card that the configured card module does not recognise: CKR_TOKEN_NOT_RECOGNIZED. */
static void
test_unrecognized(void)
{
	char path[600];
	char *keep_conf = strdup(getenv("MDP11_CONF"));
	CK_SLOT_ID slots[4];
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE h;
	CK_ULONG n = 4;
	FILE *f;

	if (p11test_pcsc()) {
		free(keep_conf);
		return;
	}
	snprintf(path, sizeof(path), "%s.plugin.conf", p11test_card_path());
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	/* The test plugin selects its own application, which the virtual card does not have. */
	fprintf(f,
		"[readers]\npcsc = no\n[card_module \"other\"]\natr = 3B:80:80:01:01\n"
		"module = %s\n",
		MDP11_TEST_PLUGIN);
	fclose(f);
	setenv("MDP11_CONF", path, 1);
	CU_ASSERT_EQUAL_FATAL(p11->C_Initialize(NULL), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(p11->C_GetSlotInfo(slots[0], &si), CKR_OK);
	CU_ASSERT(si.flags & CKF_TOKEN_PRESENT);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(slots[0], &ti), CKR_TOKEN_NOT_RECOGNIZED);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(slots[0], &ti), CKR_TOKEN_NOT_RECOGNIZED);
	CU_ASSERT_EQUAL(p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &h),
			CKR_TOKEN_NOT_RECOGNIZED);
	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
	setenv("MDP11_CONF", keep_conf, 1);
	free(keep_conf);
	unlink(path);
}

/* ---- slots and tokens ---- */

static void
test_slots(void)
{
	CK_SLOT_ID slots[4];
	CK_ULONG n = 0;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_MECHANISM_TYPE mechs[64];
	CK_MECHANISM_INFO mi;
	int i;

	CU_ASSERT_EQUAL_FATAL(p11test_init(), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	if (p11test_pcsc()) {
		CU_ASSERT(n >= 1); /* vpcd offers two readers, one with the card */
	} else {
		CU_ASSERT_EQUAL(n, 1);
	}
	n = 0;
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(p11->C_GetSlotInfo(test_slot, &si), CKR_OK);
	CU_ASSERT(si.flags & CKF_TOKEN_PRESENT);
	CU_ASSERT_EQUAL(p11->C_GetSlotInfo(test_slot + 100, &si), CKR_SLOT_ID_INVALID);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(test_slot + 100, &ti), CKR_SLOT_ID_INVALID);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(test_slot, &ti), CKR_OK);
	CU_ASSERT(memcmp(ti.manufacturerID, "mdp11 ", 6) == 0);
	if (!p11test_pcsc())
		CU_ASSERT(memcmp(ti.label, "card.vcard ", 11) == 0);
	for (i = 0; i < 16; i++)
		CU_ASSERT(strchr("0123456789abcdefABCDEF", ti.serialNumber[i]) != NULL);
	CU_ASSERT(ti.flags & CKF_TOKEN_INITIALIZED);
	CU_ASSERT(ti.flags & CKF_LOGIN_REQUIRED);
	CU_ASSERT(ti.flags & CKF_USER_PIN_INITIALIZED);
	CU_ASSERT(ti.flags & CKF_RNG);
	CU_ASSERT_FALSE(ti.flags & CKF_USER_PIN_LOCKED);

	n = 64;
	CU_ASSERT_EQUAL(p11->C_GetMechanismList(test_slot, mechs, &n), CKR_OK);
	CU_ASSERT(n >= 20);
	CU_ASSERT_EQUAL(p11->C_GetMechanismInfo(test_slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &mi), CKR_OK);
	CU_ASSERT_EQUAL(mi.ulMinKeySize, 1024);
	CU_ASSERT_EQUAL(mi.ulMaxKeySize, 4096);
	CU_ASSERT(mi.flags & CKF_GENERATE_KEY_PAIR);
	CU_ASSERT_EQUAL(p11->C_GetMechanismInfo(test_slot, CKM_ECDSA, &mi), CKR_OK);
	CU_ASSERT_EQUAL(mi.ulMinKeySize, 256);
	CU_ASSERT_EQUAL(mi.ulMaxKeySize, 521);
	CU_ASSERT(mi.flags & CKF_HW);
	CU_ASSERT(mi.flags & CKF_EC_NAMEDCURVE);
	CU_ASSERT_EQUAL(p11->C_GetMechanismInfo(test_slot, CKM_SHA256, &mi), CKR_OK);
	CU_ASSERT(mi.flags & CKF_DIGEST);
	CU_ASSERT_EQUAL(p11->C_GetMechanismInfo(test_slot, CKM_AES_CBC, &mi),
			CKR_MECHANISM_INVALID);
	n = 0;
	CU_ASSERT_EQUAL(p11->C_GetMechanismList(test_slot, mechs, &n), CKR_BUFFER_TOO_SMALL);
	/* Nothing pending: the non-blocking wait answers at once. */
	{
		CK_SLOT_ID ev;

		CU_ASSERT_EQUAL(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_NO_EVENT);
	}
}

/* ---- sessions and login ---- */

static void
test_sessions(void)
{
	CK_SESSION_HANDLE ro, rw, h = 0;
	CK_SESSION_INFO info;
	CK_BYTE buf[16];

	CU_ASSERT_EQUAL(p11->C_OpenSession(test_slot, 0, NULL, NULL, &h),
			CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, NULL),
			CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(p11->C_OpenSession(test_slot + 100, CKF_SERIAL_SESSION, NULL, NULL, &h),
			CKR_SLOT_ID_INVALID);
	ro = p11test_open(false, false);
	rw = p11test_open(true, false);
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(ro, &info), CKR_OK);
	CU_ASSERT_EQUAL(info.state, CKS_RO_PUBLIC_SESSION);
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(rw, &info), CKR_OK);
	CU_ASSERT_EQUAL(info.state, CKS_RW_PUBLIC_SESSION);
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(rw + 1000, &info), CKR_SESSION_HANDLE_INVALID);

	/* Wrong PIN, then right; login state is per token (shared by the sessions). */
	CU_ASSERT_EQUAL(p11->C_Login(ro, CKU_USER, (CK_UTF8CHAR *)"000000", 6), CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(p11->C_Login(ro, 42, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_USER_TYPE_INVALID);
	CU_ASSERT_EQUAL(p11->C_Login(ro, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(rw, &info), CKR_OK);
	CU_ASSERT_EQUAL(info.state, CKS_RW_USER_FUNCTIONS);
	CU_ASSERT_EQUAL(p11->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6),
			CKR_USER_ALREADY_LOGGED_IN);
	CU_ASSERT_EQUAL(p11->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48),
			CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
	CU_ASSERT_EQUAL(p11->C_Logout(rw), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Logout(rw), CKR_USER_NOT_LOGGED_IN);
	/* SO login is refused while a read-only session exists. */
	CU_ASSERT_EQUAL(p11->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48),
			CKR_SESSION_READ_ONLY_EXISTS);
	CU_ASSERT_EQUAL(p11->C_CloseSession(ro), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_CloseSession(ro), CKR_SESSION_HANDLE_INVALID);
	CU_ASSERT_EQUAL(p11->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)"0102", 4), CKR_PIN_LEN_RANGE);
	CU_ASSERT_EQUAL(p11->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(rw, &info), CKR_OK);
	CU_ASSERT_EQUAL(info.state, CKS_RW_SO_FUNCTIONS);
	CU_ASSERT_EQUAL(p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
			CKR_SESSION_READ_WRITE_SO_EXISTS);
	CU_ASSERT_EQUAL(p11->C_Logout(rw), CKR_OK);

	/* Random numbers; no seeding. */
	CU_ASSERT_EQUAL(p11->C_GenerateRandom(rw, buf, sizeof(buf)), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SeedRandom(rw, buf, sizeof(buf)), CKR_RANDOM_SEED_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(p11->C_GetFunctionStatus(rw), CKR_FUNCTION_NOT_PARALLEL);
	CU_ASSERT_EQUAL(p11->C_CloseAllSessions(test_slot), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(rw, &info), CKR_SESSION_HANDLE_INVALID);
}

/* ---- key generation ---- */

static void
test_keygen(void)
{
	CK_SESSION_HANDLE ro = p11test_open(false, false), s = p11test_open(true, false);
	CK_OBJECT_HANDLE pub, priv;
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL f = CK_FALSE, t = CK_TRUE;
	CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_ATTRIBUTE sess_tmpl[] = {{CKA_TOKEN, &f, 1}, {CKA_EC_PARAMS, p256, sizeof(p256)}};
	CK_ATTRIBUTE both[] = {{CKA_SIGN, &t, 1}, {CKA_DERIVE, &t, 1}};
	CK_ATTRIBUTE ec_name[] = {{CKA_EC_PARAMS, (void *)"\x13\x0aprime256v1", 12}};
	CK_ATTRIBUTE none[] = {{CKA_SIGN, &t, 1}};

	CU_ASSERT_EQUAL(p11test_gen_rsa(s, 2048, true, "rsa1", &pub, &priv),
			CKR_USER_NOT_LOGGED_IN);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_OK);
	CU_ASSERT_EQUAL(p11test_gen_rsa(ro, 2048, true, "rsa1", &pub, &priv),
			CKR_SESSION_READ_ONLY);
	CU_ASSERT_EQUAL(p11test_gen_rsa(s, 512, true, "small", &pub, &priv), CKR_KEY_SIZE_RANGE);
	CU_ASSERT_EQUAL(p11test_gen_rsa(s, 8192, true, "big", &pub, &priv), CKR_KEY_SIZE_RANGE);
	CU_ASSERT_EQUAL(p11test_gen_ec(s, SECP256K1, false, "k1", &pub, &priv),
			CKR_CURVE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &mech, sess_tmpl, 2, NULL, 0, &pub, &priv),
			CKR_TEMPLATE_INCONSISTENT);
	CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &mech, &sess_tmpl[1], 1, both, 2, &pub, &priv),
			CKR_TEMPLATE_INCONSISTENT);
	CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &mech, none, 1, none, 1, &pub, &priv),
			CKR_TEMPLATE_INCOMPLETE);
	mech.mechanism = CKM_DSA_KEY_PAIR_GEN;
	CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &mech, none, 1, none, 1, &pub, &priv),
			CKR_MECHANISM_INVALID);
	{
		CK_MECHANISM rm = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
		CK_ULONG bits = 2048;
		CK_BYTE e3[] = {3};
		CK_ATTRIBUTE bad_e[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
					{CKA_PUBLIC_EXPONENT, e3, 1}};

		CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &rm, bad_e, 2, none, 1, &pub, &priv),
				CKR_ATTRIBUTE_VALUE_INVALID);
	}

	CU_ASSERT_EQUAL(p11test_gen_rsa(s, 2048, true, "rsa1", &rsa_pub, &rsa_priv), CKR_OK);
	CU_ASSERT_EQUAL(p11test_gen_ec(s, P256, false, "ec1", &ec_pub, &ec_priv), CKR_OK);
	CU_ASSERT_EQUAL(p11test_gen_ec(s, P256, true, "ecdh1", &ecdh_pub, &ecdh_priv), CKR_OK);
	/*
	 * An ECDH key has no token public key object (OpenSSH takes every EC public key as a
	 * signing key): the handle returned is a session object of this session.
	 */
	{
		CK_ULONG len = 0;
		CK_BBOOL *tok = p11test_attr(s, ecdh_pub, CKA_TOKEN, &len);
		CK_OBJECT_CLASS *c = p11test_attr(s, ecdh_pub, CKA_CLASS, &len);

		CU_ASSERT(tok && *tok == CK_FALSE);
		CU_ASSERT(c && *c == CKO_PUBLIC_KEY);
		free(tok);
		free(c);
	}
	/* A CKA_ID that names an existing key is not silently overwritten. */
	CU_ASSERT_EQUAL(p11test_gen_ec(s, P256, false, "ec1", &pub, &priv),
			CKR_ATTRIBUTE_VALUE_INVALID);
	/* The printable curve name is accepted too (P-384 by OID below). */
	mech.mechanism = CKM_EC_KEY_PAIR_GEN;
	CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &mech, ec_name, 1, none, 1, &pub, &priv), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, priv), CKR_OK);
	/* Vendor attributes: container index and key spec chosen, overwrite asked for. */
	{
		CK_ULONG idx = 7, spec = 6 /* AT_ECDHE_P256 */, got = 0;
		CK_BYTE p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
		CK_ATTRIBUTE pt[] = {{CKA_EC_PARAMS, p256, sizeof(p256)}};
		CK_ATTRIBUTE vt[] = {{CKA_MDP11_CONTAINER_INDEX, &idx, sizeof(idx)},
				     {CKA_MDP11_KEY_SPEC, &spec, sizeof(spec)},
				     {CKA_ID, (void *)"vendor", 6}};
		CK_ATTRIBUTE ow[] = {{CKA_MDP11_OVERWRITE, &t, 1}, {CKA_ID, (void *)"vendor", 6}};
		CK_ATTRIBUTE q = {CKA_MDP11_CONTAINER_INDEX, &got, sizeof(got)};
		CK_ATTRIBUTE q2 = {CKA_MDP11_KEY_SPEC, &got, sizeof(got)};
		CK_ATTRIBUTE p384t[] = {{CKA_EC_PARAMS, p384, sizeof(p384)}};

		CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &mech, pt, 1, vt, 3, &pub, &priv),
				CKR_OK);
		CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, priv, &q, 1), CKR_OK);
		CU_ASSERT_EQUAL(got, 7);
		CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, priv, &q2, 1), CKR_OK);
		CU_ASSERT_EQUAL(got, 6);
		/* The same CKA_ID again: refused, unless overwriting is asked for. */
		CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &mech, p384t, 1, &ow[1], 1, &pub, &priv),
				CKR_ATTRIBUTE_VALUE_INVALID);
		CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &mech, p384t, 1, ow, 2, &pub, &priv),
				CKR_OK);
		q2.pValue = &got;
		CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, priv, &q2, 1), CKR_OK);
		CU_ASSERT_EQUAL(got, 4); /* AT_ECDSA_P384 */
		spec = 1;		 /* an RSA key spec for an EC key */
		CU_ASSERT_EQUAL(p11->C_GenerateKeyPair(s, &mech, pt, 1, vt, 2, &pub, &priv),
				CKR_TEMPLATE_INCONSISTENT);
	}
	{
		CK_OBJECT_HANDLE h[4];
		CK_ULONG n = 0;
		CK_ATTRIBUTE a = {CKA_ID, (void *)"vendor", 6};

		CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, &a, 1), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_FindObjects(s, h, 4, &n), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_FindObjectsFinal(s), CKR_OK);
		CU_ASSERT_EQUAL(n, 2); /* one key pair left: the overwritten one is gone */
		for (CK_ULONG i = 0; i < n; i++)
			p11->C_DestroyObject(s, h[i]);
	}
	CU_ASSERT_EQUAL(p11->C_CloseAllSessions(test_slot), CKR_OK);
}

/* ---- objects and attributes ---- */

static void
test_attributes(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	CK_ULONG cls = 0, bits = 0, spec = 0, len;
	CK_BBOOL sens = 0, extr = 1, local = 0, decrypt = 0;
	CK_BYTE small[4], *p;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)}, {CKA_SENSITIVE, &sens, 1},
		{CKA_EXTRACTABLE, &extr, 1},	{CKA_LOCAL, &local, 1},
		{CKA_DECRYPT, &decrypt, 1},	{CKA_MDP11_KEY_SPEC, &spec, sizeof(spec)},
	};
	CK_ATTRIBUTE q[] = {
		{CKA_MODULUS, NULL, 0},
		{CKA_PRIVATE_EXPONENT, NULL, 0},
		{CKA_VALUE_BITS, NULL, 0},
	};
	CK_ATTRIBUTE tiny = {CKA_MODULUS, small, sizeof(small)};
	CK_ATTRIBUTE mb = {CKA_MODULUS_BITS, &bits, sizeof(bits)};
	CK_ATTRIBUTE setl = {CKA_LABEL, (void *)"new label", 9};
	CK_ATTRIBUTE setcls = {CKA_CLASS, &cls, sizeof(cls)};

	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, rsa_priv, tmpl, 6), CKR_OK);
	CU_ASSERT_EQUAL(cls, CKO_PRIVATE_KEY);
	CU_ASSERT_EQUAL(sens, CK_TRUE);
	CU_ASSERT_EQUAL(extr, CK_FALSE);
	CU_ASSERT_EQUAL(local, CK_TRUE);
	CU_ASSERT_EQUAL(decrypt, CK_TRUE);
	CU_ASSERT_EQUAL(spec, 1); /* AT_KEYEXCHANGE */
	/* Size query, sensitive and invalid attributes in one call: each answered. */
	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, rsa_priv, q, 3), CKR_ATTRIBUTE_SENSITIVE);
	CU_ASSERT_EQUAL(q[0].ulValueLen, 256);
	CU_ASSERT_EQUAL(q[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	CU_ASSERT_EQUAL(q[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, rsa_pub, &tiny, 1), CKR_BUFFER_TOO_SMALL);
	CU_ASSERT_EQUAL(tiny.ulValueLen, CK_UNAVAILABLE_INFORMATION);
	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, rsa_pub, &mb, 1), CKR_OK);
	CU_ASSERT_EQUAL(bits, 2048);
	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, 999999, &mb, 1), CKR_OBJECT_HANDLE_INVALID);
	p = p11test_attr(s, ec_pub, CKA_EC_POINT, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(len, 67);
	CU_ASSERT(p[0] == 0x04 && p[1] == 65 && p[2] == 0x04);
	free(p);
	p = p11test_attr(s, ec_priv, CKA_ID, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(len == 3 && memcmp(p, "ec1", 3) == 0);
	free(p);
	p = p11test_attr(s, ec_priv, CKA_VALUE, &len);
	CU_ASSERT_PTR_NULL(p);

	/* Labels are kept on the card; class is read-only. */
	CU_ASSERT_EQUAL(p11->C_SetAttributeValue(s, ec_priv, &setl, 1), CKR_OK);
	p = p11test_attr(s, ec_priv, CKA_LABEL, &len);
	CU_ASSERT(p && len == 9 && memcmp(p, "new label", 9) == 0);
	free(p);
	cls = CKO_DATA;
	CU_ASSERT_EQUAL(p11->C_SetAttributeValue(s, ec_priv, &setcls, 1), CKR_ATTRIBUTE_READ_ONLY);

	/* Private objects are hidden after logout. The ECDH key has no public key object. */
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_PRIVATE_KEY), 3);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_PUBLIC_KEY), 2);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_PRIVATE_KEY), 0);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_PUBLIC_KEY), 2);
	CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, rsa_priv, &mb, 1), CKR_OBJECT_HANDLE_INVALID);
	CU_ASSERT_EQUAL(p11->C_FindObjects(s, NULL, 0, &len), CKR_OPERATION_NOT_INITIALIZED);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_data_objects(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_TOKEN, &t, 1},
		{CKA_PRIVATE, &f, 1},
		{CKA_LABEL, (void *)"note", 4},
		{CKA_APPLICATION, (void *)"test", 4},
		{CKA_VALUE, (void *)"hello", 5},
	};
	CK_ATTRIBUTE setv = {CKA_VALUE, (void *)"world!", 6};
	CK_OBJECT_HANDLE h = 0;
	CK_ULONG len;
	char *v;

	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, 6, &h), CKR_OK);
	v = p11test_attr(s, h, CKA_VALUE, &len);
	CU_ASSERT(v && len == 5 && memcmp(v, "hello", 5) == 0);
	free(v);
	CU_ASSERT_EQUAL(p11->C_SetAttributeValue(s, h, &setv, 1), CKR_OK);
	v = p11test_attr(s, h, CKA_VALUE, &len);
	CU_ASSERT(v && len == 6 && memcmp(v, "world!", 6) == 0);
	free(v);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_DATA), 1);
	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, h), CKR_OK);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_DATA), 0);
	tmpl[1].pValue = &f;
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, 6, &h), CKR_TEMPLATE_INCONSISTENT);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_certificate(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	EVP_PKEY *pub = p11test_pkey(s, rsa_pub), *signer = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	int der_len;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_BBOOL t = CK_TRUE;
	CK_OBJECT_HANDLE h = 0, found[4];
	CK_ULONG n = 0, len;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
		{CKA_TOKEN, &t, 1},
		{CKA_VALUE, NULL, 0},
		{CKA_LABEL, (void *)"my cert", 7},
	};
	CK_ATTRIBUTE byid[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, (void *)"rsa1", 4}};
	char *v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mdp11 test",
				   -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pub);
	CU_ASSERT(X509_sign(x, signer, EVP_sha256()) > 0);
	der_len = i2d_X509(x, &der);
	CU_ASSERT_FATAL(der_len > 0);
	tmpl[3].pValue = der;
	tmpl[3].ulValueLen = (CK_ULONG)der_len;
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, 5, &h), CKR_OK);
	/* The certificate shares the key's CKA_ID (§10.2). */
	CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, byid, 2), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, byid, 2), CKR_OPERATION_ACTIVE);
	CU_ASSERT_EQUAL(p11->C_FindObjects(s, found, 4, &n), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_FindObjectsFinal(s), CKR_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(found[0], h);
	v = p11test_attr(s, h, CKA_VALUE, &len);
	CU_ASSERT(v && len == (CK_ULONG)der_len && memcmp(v, der, len) == 0);
	free(v);
	v = p11test_attr(s, h, CKA_LABEL, &len);
	CU_ASSERT(v && strcmp(v, "my cert") == 0);
	free(v);
	v = p11test_attr(s, h, CKA_SERIAL_NUMBER, &len);
	CU_ASSERT(v && len == 3 && v[2] == 42);
	free(v);
	/* A certificate for no key on the card is refused. */
	X509_set_pubkey(x, signer);
	X509_sign(x, signer, EVP_sha256());
	OPENSSL_free(der);
	der = NULL;
	der_len = i2d_X509(x, &der);
	tmpl[3].pValue = der;
	tmpl[3].ulValueLen = (CK_ULONG)der_len;
	CU_ASSERT_NOT_EQUAL(p11->C_CreateObject(s, tmpl, 5, &found[1]), CKR_OK);
	tmpl[3].ulValueLen = 10;
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, 5, &found[1]), CKR_ATTRIBUTE_VALUE_INVALID);
	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(signer);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* ---- mechanisms ---- */

static void
test_sign(void)
{
	static const CK_MECHANISM_TYPE rsa_hash[] = {
		CKM_SHA1_RSA_PKCS,   CKM_SHA224_RSA_PKCS, CKM_SHA256_RSA_PKCS,
		CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS,
	};
	static const CK_MECHANISM_TYPE pss_hash[][2] = {
		{CKM_SHA1_RSA_PKCS_PSS, CKM_SHA_1},    {CKM_SHA224_RSA_PKCS_PSS, CKM_SHA224},
		{CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256}, {CKM_SHA384_RSA_PKCS_PSS, CKM_SHA384},
		{CKM_SHA512_RSA_PKCS_PSS, CKM_SHA512},
	};
	static const CK_RSA_PKCS_MGF_TYPE mgfs[] = {CKG_MGF1_SHA1, CKG_MGF1_SHA224, CKG_MGF1_SHA256,
						    CKG_MGF1_SHA384, CKG_MGF1_SHA512};
	static const CK_MECHANISM_TYPE ec_hash[] = {CKM_ECDSA_SHA1, CKM_ECDSA_SHA224,
						    CKM_ECDSA_SHA256, CKM_ECDSA_SHA384,
						    CKM_ECDSA_SHA512};
	CK_SESSION_HANDLE s = p11test_open(false, true);
	EVP_PKEY *rk = p11test_pkey(s, rsa_pub), *ek = p11test_pkey(s, ec_pub);
	const CK_BYTE msg[] = "The quick brown fox jumps over the lazy dog, twice over.";
	CK_BYTE dinfo[19 + 32] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
				  0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
	CK_BYTE digest[32], raw[256] = {0}, sig[300];
	CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
	CK_MECHANISM m = {0, NULL, 0};
	CK_ULONG sl;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ek);
	SHA256(msg, sizeof(msg), digest);
	memcpy(dinfo + 19, digest, 32);
	for (i = 0; i < sizeof(rsa_hash) / sizeof(rsa_hash[0]); i++) {
		m.mechanism = rsa_hash[i];
		p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, msg, sizeof(msg), false);
		p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, msg, sizeof(msg), true);
	}
	m.mechanism = CKM_RSA_PKCS;
	p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, dinfo, sizeof(dinfo), false);
	m.mechanism = CKM_RSA_X_509;
	raw[1] = 0x42;
	raw[255] = 0x17;
	p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, raw, sizeof(raw), false);
	for (i = 0; i < sizeof(pss_hash) / sizeof(pss_hash[0]); i++) {
		CK_RSA_PKCS_PSS_PARAMS p = {pss_hash[i][1], mgfs[i],
					    (CK_ULONG)EVP_MD_get_size(p11test_md(pss_hash[i][0]))};

		m.mechanism = pss_hash[i][0];
		m.pParameter = &p;
		m.ulParameterLen = sizeof(p);
		p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, msg, sizeof(msg), i == 2);
	}
	m.mechanism = CKM_RSA_PKCS_PSS;
	m.pParameter = &pss;
	m.ulParameterLen = sizeof(pss);
	p11test_sign_check(s, rsa_priv, rsa_pub, rk, &m, digest, 32, false);
	/* Bad PSS parameters. */
	pss.hashAlg = CKM_SHA384; /* mechanism hash is SHA-256 */
	m.mechanism = CKM_SHA256_RSA_PKCS_PSS;
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
	pss.hashAlg = CKM_SHA256;
	pss.mgf = 77;
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
	pss.mgf = CKG_MGF1_SHA256;
	pss.sLen = 300;
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
	m.ulParameterLen = 3;
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
	m.pParameter = NULL;
	m.ulParameterLen = 0;

	m.mechanism = CKM_ECDSA;
	p11test_sign_check(s, ec_priv, ec_pub, ek, &m, digest, 32, false);
	for (i = 0; i < sizeof(ec_hash) / sizeof(ec_hash[0]); i++) {
		m.mechanism = ec_hash[i];
		p11test_sign_check(s, ec_priv, ec_pub, ek, &m, msg, sizeof(msg), i % 2);
	}

	/* Error rules. */
	m.mechanism = CKM_SHA256_RSA_PKCS;
	CU_ASSERT_EQUAL(p11->C_Sign(s, digest, 32, sig, &sl), CKR_OPERATION_NOT_INITIALIZED);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, rsa_pub), CKR_KEY_TYPE_INCONSISTENT);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, ec_priv), CKR_KEY_TYPE_INCONSISTENT);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, 987654), CKR_KEY_HANDLE_INVALID);
	m.mechanism = CKM_ECDSA;
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, ecdh_priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
	m.mechanism = CKM_MD5_RSA_PKCS;
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, rsa_priv), CKR_MECHANISM_INVALID);
	m.mechanism = CKM_SHA256_RSA_PKCS;
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, rsa_priv), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, rsa_priv), CKR_OPERATION_ACTIVE);
	sl = 10;
	CU_ASSERT_EQUAL(p11->C_Sign(s, digest, 32, sig, &sl), CKR_BUFFER_TOO_SMALL);
	CU_ASSERT_EQUAL(sl, 256);
	CU_ASSERT_EQUAL(p11->C_Sign(s, digest, 32, sig, &sl), CKR_OK);
	m.mechanism = CKM_RSA_PKCS;
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, rsa_priv), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Sign(s, raw, 250, sig, &sl), CKR_DATA_LEN_RANGE);
	CU_ASSERT_EQUAL(p11->C_SignRecoverInit(s, &m, rsa_priv), CKR_FUNCTION_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(p11->C_VerifyRecoverInit(s, &m, rsa_pub), CKR_FUNCTION_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	m.mechanism = CKM_SHA256_RSA_PKCS;
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, rsa_priv), CKR_USER_NOT_LOGGED_IN);
	/* Verification needs no login. */
	CU_ASSERT_EQUAL(p11->C_VerifyInit(s, &m, rsa_pub), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Verify(s, digest, 32, sig, 10), CKR_SIGNATURE_LEN_RANGE);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ek);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_encrypt_decrypt(void)
{
	CK_SESSION_HANDLE s = p11test_open(false, true);
	CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED,
					(void *)"label", 5};
	CK_MECHANISM mechs[] = {{CKM_RSA_PKCS, NULL, 0},
				{CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)},
				{CKM_RSA_X_509, NULL, 0}};
	CK_BYTE plain[256], ct[256], out[256];
	CK_ULONG cl, ol, pl;
	size_t i;

	for (i = 0; i < 3; i++) {
		pl = i == 2 ? 256 : 32;
		memset(plain, 0x5a, sizeof(plain));
		plain[0] = 0; /* below the modulus for raw RSA */
		cl = sizeof(ct);
		CU_ASSERT_EQUAL(p11->C_EncryptInit(s, &mechs[i], rsa_pub), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_Encrypt(s, plain, pl, ct, &cl), CKR_OK);
		CU_ASSERT_EQUAL(cl, 256);
		CU_ASSERT_EQUAL(p11->C_DecryptInit(s, &mechs[i], rsa_priv), CKR_OK);
		ol = 0;
		CU_ASSERT_EQUAL(p11->C_Decrypt(s, ct, cl, NULL, &ol), CKR_OK);
		CU_ASSERT(ol >= pl);
		ol = sizeof(out);
		CU_ASSERT_EQUAL(p11->C_Decrypt(s, ct, cl, out, &ol), CKR_OK);
		CU_ASSERT_EQUAL(ol, pl);
		CU_ASSERT(memcmp(out, plain, pl) == 0);
	}
	/* Multi-part, and a too-small buffer that keeps the result for the retry. */
	CU_ASSERT_EQUAL(p11->C_EncryptInit(s, &mechs[0], rsa_pub), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_EncryptUpdate(s, plain, 10, out, &ol), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_EncryptUpdate(s, plain + 10, 10, out, &ol), CKR_OK);
	cl = sizeof(ct);
	CU_ASSERT_EQUAL(p11->C_EncryptFinal(s, ct, &cl), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_DecryptInit(s, &mechs[0], rsa_priv), CKR_OK);
	ol = 5;
	CU_ASSERT_EQUAL(p11->C_Decrypt(s, ct, cl, out, &ol), CKR_BUFFER_TOO_SMALL);
	CU_ASSERT_EQUAL(ol, 20);
	CU_ASSERT_EQUAL(p11->C_Decrypt(s, ct, cl, out, &ol), CKR_OK);
	CU_ASSERT(memcmp(out, plain, 20) == 0);
	/* Wrong lengths and keys. */
	CU_ASSERT_EQUAL(p11->C_DecryptInit(s, &mechs[0], rsa_priv), CKR_OK);
	ol = sizeof(out);
	CU_ASSERT_EQUAL(p11->C_Decrypt(s, ct, 100, out, &ol), CKR_ENCRYPTED_DATA_LEN_RANGE);
	CU_ASSERT_EQUAL(p11->C_EncryptInit(s, &mechs[0], rsa_pub), CKR_OK);
	cl = sizeof(ct);
	CU_ASSERT_EQUAL(p11->C_Encrypt(s, plain, 250, ct, &cl), CKR_DATA_LEN_RANGE);
	CU_ASSERT_EQUAL(p11->C_DecryptInit(s, &mechs[0], ec_priv), CKR_KEY_TYPE_INCONSISTENT);
	oaep.mgf = 0;
	CU_ASSERT_EQUAL(p11->C_DecryptInit(s, &mechs[1], rsa_priv), CKR_MECHANISM_PARAM_INVALID);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_digest(void)
{
	CK_SESSION_HANDLE s = p11test_open(false, false);
	CK_MECHANISM m = {CKM_SHA256, NULL, 0};
	CK_BYTE out[64], ref[32];
	CK_ULONG ol = sizeof(out);

	SHA256((const unsigned char *)"abcdef", 6, ref);
	CU_ASSERT_EQUAL(p11->C_DigestInit(s, &m), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Digest(s, (CK_BYTE *)"abcdef", 6, out, &ol), CKR_OK);
	CU_ASSERT(ol == 32 && memcmp(out, ref, 32) == 0);
	CU_ASSERT_EQUAL(p11->C_DigestInit(s, &m), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_DigestUpdate(s, (CK_BYTE *)"abc", 3), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_DigestUpdate(s, (CK_BYTE *)"def", 3), CKR_OK);
	ol = 4;
	CU_ASSERT_EQUAL(p11->C_DigestFinal(s, out, &ol), CKR_BUFFER_TOO_SMALL);
	ol = sizeof(out);
	CU_ASSERT_EQUAL(p11->C_DigestFinal(s, out, &ol), CKR_OK);
	CU_ASSERT(ol == 32 && memcmp(out, ref, 32) == 0);
	m.mechanism = CKM_MD5;
	CU_ASSERT_EQUAL(p11->C_DigestInit(s, &m), CKR_MECHANISM_INVALID);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_derive(void)
{
	CK_SESSION_HANDLE s = p11test_open(false, true);
	EVP_PKEY *peer = EVP_EC_gen("P-256");
	unsigned char point[65];
	size_t rl = 0;
	CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, 65, point};
	CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_OBJECT_HANDLE h = 0;

	p11test_derive_check(s, ecdh_priv);
	CU_ASSERT_FATAL(peer && EVP_PKEY_get_octet_string_param(peer, "encoded-pub-key", point,
								sizeof(point), &rl) == 1);
	EVP_PKEY_free(peer);
	CU_ASSERT_EQUAL(p11->C_DeriveKey(s, &m, ec_priv, tmpl, 1, &h),
			CKR_KEY_FUNCTION_NOT_PERMITTED);
	p.kdf = CKD_SHA1_KDF;
	CU_ASSERT_EQUAL(p11->C_DeriveKey(s, &m, ecdh_priv, tmpl, 1, &h),
			CKR_MECHANISM_PARAM_INVALID);
	p.kdf = CKD_NULL;
	p.ulPublicDataLen = 10;
	CU_ASSERT_EQUAL(p11->C_DeriveKey(s, &m, ecdh_priv, tmpl, 1, &h),
			CKR_MECHANISM_PARAM_INVALID);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* ---- import ---- */

static void
test_import(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	EVP_PKEY *rk = EVP_RSA_gen(2048), *ek = EVP_EC_gen("P-384");
	static const char *names[] = {"n",
				      "e",
				      "d",
				      "rsa-factor1",
				      "rsa-factor2",
				      "rsa-exponent1",
				      "rsa-exponent2",
				      "rsa-coefficient1"};
	static const CK_ATTRIBUTE_TYPE types[] = {
		CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
		CKA_PRIME_2, CKA_EXPONENT_1,	  CKA_EXPONENT_2,	CKA_COEFFICIENT};
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_RSA;
	CK_BBOOL t = CK_TRUE;
	CK_ATTRIBUTE tmpl[14];
	CK_BYTE *parts[8];
	CK_ULONG n = 0, i, len;
	CK_OBJECT_HANDLE h = 0;
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
	CK_BYTE sig[256], p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
	CK_ULONG sl = sizeof(sig);

	CU_ASSERT_FATAL(rk && ek);
	tmpl[n++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &kt, sizeof(kt)};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_TOKEN, &t, 1};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_SIGN, &t, 1};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)"imported", 8};
	for (i = 0; i < 8; i++) {
		parts[i] = p11test_bn(rk, names[i], &len);
		tmpl[n++] = (CK_ATTRIBUTE){types[i], parts[i], len};
	}
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, 6, &h), CKR_TEMPLATE_INCOMPLETE);
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, n, &h), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, h), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Sign(s, (CK_BYTE *)"abc", 3, sig, &sl), CKR_OK);
	CU_ASSERT(p11test_ossl_verify(rk, CKM_SHA256_RSA_PKCS, (CK_BYTE *)"abc", 3, sig, sl));
	{
		CK_BBOOL local = 1, ns = 1;
		CK_ULONG spec = 0;
		CK_ATTRIBUTE q[] = {{CKA_LOCAL, &local, 1},
				    {CKA_NEVER_EXTRACTABLE, &ns, 1},
				    {CKA_MDP11_KEY_SPEC, &spec, sizeof(spec)}};

		CU_ASSERT_EQUAL(p11->C_GetAttributeValue(s, h, q, 3), CKR_OK);
		CU_ASSERT_EQUAL(local, CK_FALSE);
		CU_ASSERT_EQUAL(ns, CK_FALSE);
		CU_ASSERT_EQUAL(spec, 2); /* AT_SIGNATURE: no decrypt asked */
	}
	for (i = 0; i < 8; i++)
		free(parts[i]);

	/* EC: only d, the public point is computed. */
	kt = CKK_EC;
	n = 5;
	tmpl[4] = (CK_ATTRIBUTE){CKA_ID, (void *)"imported-ec", 11};
	tmpl[n++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, p384, sizeof(p384)};
	parts[0] = p11test_bn(ek, "priv", &len);
	tmpl[n++] = (CK_ATTRIBUTE){CKA_VALUE, parts[0], len};
	CU_ASSERT_EQUAL(p11->C_CreateObject(s, tmpl, n, &h), CKR_OK);
	m.mechanism = CKM_ECDSA_SHA384;
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, h), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Sign(s, (CK_BYTE *)"abc", 3, sig, &sl), CKR_OK);
	CU_ASSERT_EQUAL(sl, 96);
	CU_ASSERT(p11test_ossl_verify(ek, CKM_ECDSA_SHA384, (CK_BYTE *)"abc", 3, sig, sl));
	free(parts[0]);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ek);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/* ---- threads, persistence, fork, destroy, PIN life cycle ---- */

/* Each thread signs on its own session (EC and RSA) and checks every signature. */
static EVP_PKEY *thread_ec, *thread_rsa;

static void *
signer_thread(void *arg)
{
	CK_SESSION_HANDLE s = 0;
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0}, mr = {CKM_SHA256_RSA_PKCS, NULL, 0};
	CK_BYTE sig[512], msg[16];
	CK_ULONG sl;
	long bad = 0;
	int i;

	(void)arg;
	if (p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
		return (void *)1L;
	for (i = 0; i < 20; i++) {
		snprintf((char *)msg, sizeof(msg), "thread %p %d", (void *)&s, i);
		sl = sizeof(sig);
		if (p11->C_SignInit(s, &m, ec_priv) != CKR_OK ||
		    p11->C_Sign(s, msg, sizeof(msg), sig, &sl) != CKR_OK || sl != 64 ||
		    !p11test_ossl_verify(thread_ec, CKM_ECDSA_SHA256, msg, sizeof(msg), sig, sl))
			bad++;
		sl = sizeof(sig);
		if (i % 5 == 0 && (p11->C_SignInit(s, &mr, rsa_priv) != CKR_OK ||
				   p11->C_Sign(s, msg, sizeof(msg), sig, &sl) != CKR_OK ||
				   !p11test_ossl_verify(thread_rsa, CKM_SHA256_RSA_PKCS, msg,
							sizeof(msg), sig, sl)))
			bad++;
	}
	p11->C_CloseSession(s);
	return (void *)bad;
}

/* Signs in a loop until its session is closed under it by another thread. */
static void *
closed_signer_thread(void *arg)
{
	CK_SESSION_HANDLE s = *(CK_SESSION_HANDLE *)arg;
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	CK_BYTE sig[64];
	CK_ULONG sl;
	CK_RV rv;
	int i;

	for (i = 0; i < 100000; i++) {
		sl = sizeof(sig);
		rv = p11->C_SignInit(s, &m, ec_priv);
		if (rv == CKR_OK)
			rv = p11->C_Sign(s, (CK_BYTE *)"x", 1, sig, &sl);
		if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED)
			return NULL;
		if (rv != CKR_OK)
			return (void *)1L;
	}
	return (void *)2L;
}

static void
test_threads(void)
{
	CK_SESSION_HANDLE keep = p11test_open(false, true), victim = 0;
	pthread_t th[4];
	void *r;
	int i;

	thread_ec = p11test_pkey(keep, ec_pub);
	thread_rsa = p11test_pkey(keep, rsa_pub);
	CU_ASSERT_PTR_NOT_NULL_FATAL(thread_ec);
	CU_ASSERT_PTR_NOT_NULL_FATAL(thread_rsa);
	/* four signers: three on the embedded card's logical channels, one more the usual way */
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(pthread_create(&th[i], NULL, signer_thread, NULL), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &r);
		CU_ASSERT_PTR_NULL(r);
	}
	/* a session closed while another thread signs on it */
	CU_ASSERT_EQUAL_FATAL(
		p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &victim), CKR_OK);
	CU_ASSERT_EQUAL(pthread_create(&th[0], NULL, closed_signer_thread, &victim), 0);
	usleep(20000);
	CU_ASSERT_EQUAL(p11->C_CloseSession(victim), CKR_OK);
	pthread_join(th[0], &r);
	CU_ASSERT_PTR_NULL(r);
	EVP_PKEY_free(thread_ec);
	EVP_PKEY_free(thread_rsa);
	CU_ASSERT_EQUAL(p11->C_CloseSession(keep), CKR_OK);
}

static void
test_persistence(void)
{
	CK_SESSION_HANDLE s;
	CK_BYTE id[] = "rsa1";
	CK_ATTRIBUTE a = {CKA_ID, id, 4};
	CK_OBJECT_HANDLE h[8];
	CK_ULONG n = 0;

	CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(p11test_init(), CKR_OK);
	s = p11test_open(false, true);
	CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, &a, 1), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_FindObjects(s, h, 8, &n), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_FindObjectsFinal(s), CKR_OK);
	CU_ASSERT_EQUAL(n, 3); /* private key, public key, certificate */
	/* Handles were handed out anew: refresh the ones the later suites use. */
	{
		CK_OBJECT_CLASS c = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE t[] = {{CKA_CLASS, &c, sizeof(c)}, {CKA_ID, (void *)"ec1", 3}};

		CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, t, 2), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_FindObjects(s, &ec_priv, 1, &n), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_FindObjectsFinal(s), CKR_OK);
		CU_ASSERT_EQUAL(n, 1);
		c = CKO_PUBLIC_KEY;
		t[1].pValue = "rsa1";
		t[1].ulValueLen = 4;
		CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, t, 2), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_FindObjects(s, &rsa_pub, 1, &n), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_FindObjectsFinal(s), CKR_OK);
		c = CKO_PRIVATE_KEY;
		CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, t, 2), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_FindObjects(s, &rsa_priv, 1, &n), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_FindObjectsFinal(s), CKR_OK);
	}
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_fork(void)
{
	CK_INFO info;
	pid_t pid;
	int st = 0;

	CU_ASSERT_EQUAL(p11->C_GetInfo(&info), CKR_OK);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int code = 0;

		if (p11->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
			code |= 1;
		if (p11->C_Initialize(NULL) != CKR_OK)
			code |= 2;
		if (p11->C_GetInfo(&info) != CKR_OK)
			code |= 4;
		if (p11->C_Finalize(NULL) != CKR_OK)
			code |= 8;
		_exit(code);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
	CU_ASSERT_EQUAL(p11->C_GetInfo(&info), CKR_OK);
}

static void
test_destroy(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, true);
	CK_ULONG before = p11test_count(s, CKA_CLASS, CKO_PRIVATE_KEY);

	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, rsa_pub), CKR_ACTION_PROHIBITED);
	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, rsa_priv), CKR_OK);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_PRIVATE_KEY), before - 1);
	CU_ASSERT_EQUAL(p11test_count(s, CKA_CLASS, CKO_CERTIFICATE), 0);
	CU_ASSERT_EQUAL(p11->C_DestroyObject(s, rsa_priv), CKR_OBJECT_HANDLE_INVALID);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

static void
test_pin_lifecycle(void)
{
	CK_SESSION_HANDLE s = p11test_open(true, false);
	CK_TOKEN_INFO ti;
	int i;

	/* Change the PIN and back. */
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)TEST_PIN, 6, (CK_UTF8CHAR *)"654321", 6),
			CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(test_slot, &ti), CKR_OK);
	CU_ASSERT(ti.flags & CKF_USER_PIN_COUNT_LOW);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"654321", 6), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)"654321", 6, (CK_UTF8CHAR *)TEST_PIN, 6),
			CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	/* Lock the PIN: three wrong tries. */
	for (i = 0; i < 3; i++)
		CU_ASSERT_NOT_EQUAL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"999999", 6), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_PIN_LOCKED);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(test_slot, &ti), CKR_OK);
	CU_ASSERT(ti.flags & CKF_USER_PIN_LOCKED);
	/* The SO unblocks it with C_InitPIN. */
	CU_ASSERT_EQUAL(p11->C_InitPIN(s, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_USER_NOT_LOGGED_IN);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_InitPIN(s, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_GetTokenInfo(test_slot, &ti), CKR_OK);
	CU_ASSERT_FALSE(ti.flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW));
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);

	/* The SO changes the admin key (C_SetPIN in an SO session), and back. */
	{
		const char *other = "1112131415161718191a1b1c1d1e1f202122232425262728";

		s = p11test_open(true, false);
		CU_ASSERT_EQUAL(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)other, 48),
				CKR_PIN_INCORRECT);
		CU_ASSERT_EQUAL(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48,
					      (CK_UTF8CHAR *)other, 48),
				CKR_OK);
		CU_ASSERT_EQUAL(p11->C_Logout(s), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)other, 48), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_SetPIN(s, (CK_UTF8CHAR *)other, 48,
					      (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48),
				CKR_OK);
		CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
	}
	/* C_InitToken: not with sessions open, not with a wrong admin key. */
	s = p11test_open(false, false);
	CU_ASSERT_EQUAL(p11->C_InitToken(test_slot, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48,
					 (CK_UTF8CHAR *)"                                "),
			CKR_SESSION_EXISTS);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
	CU_ASSERT_EQUAL(
		p11->C_InitToken(test_slot,
				 (CK_UTF8CHAR *)"1112131415161718191a1b1c1d1e1f202122232425262728",
				 48, (CK_UTF8CHAR *)"                                "),
		CKR_PIN_INCORRECT);
	/*
	 * A label the card cannot keep is refused, never dropped: the card stays as it was.
	 * A blank label, or the one the token shows, is taken.
	 */
	{
		CK_UTF8CHAR shown[32];

		CU_ASSERT_EQUAL(p11->C_InitToken(test_slot, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48,
						 (CK_UTF8CHAR *)"fresh                           "),
				CKR_ARGUMENTS_BAD);
		s = p11test_open(false, true);
		CU_ASSERT(p11test_count(s, CK_UNAVAILABLE_INFORMATION, 0) > 0);
		CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
		CU_ASSERT_EQUAL_FATAL(p11->C_GetTokenInfo(test_slot, &ti), CKR_OK);
		memcpy(shown, ti.label, sizeof(shown));
		CU_ASSERT_EQUAL(
			p11->C_InitToken(test_slot, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48, shown),
			CKR_OK);
	}
	/* Re-personalise: every key is gone. */
	CU_ASSERT_EQUAL(p11->C_InitToken(test_slot, (CK_UTF8CHAR *)TEST_ADMIN_HEX, 48,
					 (CK_UTF8CHAR *)"                                "),
			CKR_OK);
	s = p11test_open(false, true);
	CU_ASSERT_EQUAL(p11test_count(s, CK_UNAVAILABLE_INFORMATION, 0), 0);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

/*
 * Card removal and reinsertion (PC/SC only: tests/integration/module-pcsc.sh runs the card
 * server and answers "remove" / "insert" requests on the FIFOs MDP11_TEST_EVENT_FIFO.req and
 * .ack by stopping and restarting it).
 */
static void
card_event(const char *what)
{
	char path[512], line[64];
	const char *base = getenv("MDP11_TEST_EVENT_FIFO");
	FILE *f;

	snprintf(path, sizeof(path), "%s.req", base);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "%s\n", what);
	fclose(f);
	snprintf(path, sizeof(path), "%s.ack", base);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
	fclose(f);
}

static void
test_removal(void)
{
	CK_SESSION_HANDLE s = p11test_open(false, true);
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_SESSION_INFO si;
	CK_SLOT_ID slots[4], ev = 999;
	CK_BYTE sig[64], dig[32] = {1};
	CK_ULONG n, sl = sizeof(sig);
	int i;

	/* Reset by another process: the login is gone, the session and handles stay. */
	card_event("reset");
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(s, &si), CKR_OK);
	CU_ASSERT_EQUAL(si.state, CKS_RO_PUBLIC_SESSION);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, ec_priv), CKR_USER_NOT_LOGGED_IN);
	CU_ASSERT_EQUAL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, ec_priv), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Sign(s, dig, 32, sig, &sl), CKR_OK);

	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, ec_priv), CKR_OK);
	card_event("remove");
	CU_ASSERT_EQUAL(p11->C_Sign(s, dig, 32, sig, &sl), CKR_DEVICE_REMOVED);
	CU_ASSERT_EQUAL(p11->C_GetSessionInfo(s, &si), CKR_DEVICE_REMOVED);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
	n = 4;
	CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_OK);
	CU_ASSERT_EQUAL(ev, test_slot);
	card_event("insert");
	for (i = 0, n = 0; i < 100 && n == 0; i++) {
		n = 4;
		CU_ASSERT_EQUAL(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
		if (n == 0)
			usleep(100000);
	}
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(slots[0], test_slot); /* the slot id is stable */
	s = p11test_open(false, true);
	/* Handles of the old insertion are gone; the key is found again by its CKA_ID. */
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, ec_priv), CKR_KEY_HANDLE_INVALID);
	{
		CK_OBJECT_CLASS c = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE t[] = {{CKA_CLASS, &c, sizeof(c)}, {CKA_ID, (void *)"ec1", 3}};

		CU_ASSERT_EQUAL(p11->C_FindObjectsInit(s, t, 2), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_FindObjects(s, &ec_priv, 1, &n), CKR_OK);
		CU_ASSERT_EQUAL(p11->C_FindObjectsFinal(s), CKR_OK);
		CU_ASSERT_EQUAL(n, 1);
	}
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(p11->C_SignInit(s, &m, ec_priv), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_Sign(s, dig, 32, sig, &sl), CKR_OK);
	CU_ASSERT_EQUAL(p11->C_CloseSession(s), CKR_OK);
}

int
main(void)
{
	CU_TestInfo init_tests[] = {
		{"C_Initialize argument and state rules", test_initialize_rules},
		{"interfaces (3.0)", test_interfaces},
		{"only three exported symbols", test_exports},
		{"configuration errors", test_bad_config},
		{"virtual card and token label from the configuration", test_config_vcard},
		{"C_Finalize wakes C_WaitForSlotEvent", test_wait_finalize},
		{"a card no card module knows", test_unrecognized},
		CU_TEST_INFO_NULL,
	};
	CU_TestInfo token_tests[] = {
		{"slots, token, mechanisms", test_slots},
		{"sessions and login", test_sessions},
		{"key generation", test_keygen},
		{"attributes", test_attributes},
		{"data objects", test_data_objects},
		{"certificates", test_certificate},
		{"sign and verify, every mechanism", test_sign},
		{"encrypt and decrypt", test_encrypt_decrypt},
		{"digest", test_digest},
		{"ECDH derive", test_derive},
		{"private key import", test_import},
		{"threads", test_threads},
		{"persistence across C_Finalize", test_persistence},
		{"fork", test_fork},
		{"destroy", test_destroy},
		{"card removal and reinsertion (PC/SC)", test_removal},
		{"PIN change, lock, unblock, re-personalise", test_pin_lifecycle},
		CU_TEST_INFO_NULL,
	};
	size_t nt = sizeof(token_tests) / sizeof(token_tests[0]);

	/* The removal test needs a card server to stop: only under module-pcsc.sh. */
	if (!getenv("MDP11_TEST_EVENT_FIFO")) {
		memmove(&token_tests[nt - 3], &token_tests[nt - 2], 2 * sizeof(token_tests[0]));
	}
	CU_SuiteInfo suites[] = {
		{"init", suite_init, NULL, NULL, NULL, init_tests},
		{"token", NULL, suite_clean, NULL, NULL, token_tests},
		CU_SUITE_INFO_NULL,
	};

	return test_run("test-module", suites);
}
