/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module under threads, through C_GetFunctionList on the embedded virtual card: C_Finalize
 * while other threads are inside the module, fork() while a thread signs. Built with
 * ThreadSanitizer as well (tests/tsan, docs/testing.md).
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/module/p11test.h"
#include "tests/unit/testutil.h"

#define P256 "06082a8648ce3d030107"

/*
 * GCC 12's AddressSanitizer does not hold its allocator's locks across fork(): the child of a
 * process whose other thread was inside malloc waits in the allocator forever (seen in this
 * test's ASan run, inside opendir's malloc). That is the sanitizer's limit, not the module's:
 * the fork test runs in the strict and ThreadSanitizer passes, and is skipped under ASan.
 */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
/* Generous: the machine may be loaded; a hang ends with a message, never a wait forever. */
#define TIMEOUT_S 120

static CK_OBJECT_HANDLE ec_priv;

/* A call that never returns (a deadlock) ends the program with a message instead of a hang. */
static void
on_alarm(int sig)
{
	static const char msg[] = "test-module-threads: no progress for a long time: a call hangs "
				  "in the module\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static void
watchdog(void)
{
	signal(SIGALRM, on_alarm);
	alarm(2 * TIMEOUT_S);
}

static int
suite_init(void)
{
	CK_SESSION_HANDLE s = p11test_suite_session();
	CK_OBJECT_HANDLE pub;
	int rv = 0;

	if (s == CK_INVALID_HANDLE)
		return -1;
	if (p11test_gen_ec(s, P256, false, "ec", &pub, &ec_priv) != CKR_OK)
		rv = -1;
	p11->C_CloseSession(s);
	return rv;
}

static int
suite_clean(void)
{
	p11test_teardown();
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The private key by its CKA_ID (handles change with every C_Initialize). */
static CK_OBJECT_HANDLE
find_key(CK_SESSION_HANDLE s)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, (void *)"ec", 2}};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG n = 0;

	if (p11->C_FindObjectsInit(s, t, 2) != CKR_OK)
		return CK_INVALID_HANDLE;
	if (p11->C_FindObjects(s, &h, 1, &n) != CKR_OK || n != 1)
		h = CK_INVALID_HANDLE;
	p11->C_FindObjectsFinal(s);
	return h;
}

/* ---- C_Finalize with calls in flight ---- */

struct busy {
	pthread_t th;
	int kind;
	_Atomic unsigned long calls; /* calls that answered CKR_OK */
	CK_RV bad;		     /* first answer that is neither OK nor NOT_INITIALIZED */
};

/* An answer a call in flight may give while C_Finalize runs. */
static bool
allowed(CK_RV rv)
{
	return rv == CKR_OK || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

#define CHECK(b, call)                                    \
	do {                                              \
		CK_RV r_ = (call);                        \
		if (r_ == CKR_CRYPTOKI_NOT_INITIALIZED)   \
			return NULL;                      \
		if (!allowed(r_)) {                       \
			(b)->bad = r_;                    \
			return NULL;                      \
		}                                         \
		if (r_ == CKR_OK)                         \
			atomic_fetch_add(&(b)->calls, 1); \
	} while (0)

/* Calls of every kind until the module says it is no longer initialised. */
static void *
busy_thread(void *arg)
{
	struct busy *b = arg;
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_BYTE digest[32] = {7}, sig[64];
	CK_SESSION_HANDLE s = 0;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slots[4];
	CK_ULONG n, sl;
	CK_OBJECT_HANDLE key;

	for (;;) {
		switch (b->kind) {
		case 0: /* sign, on a session of its own */
			CHECK(b, p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
			key = find_key(s);
			sl = sizeof(sig);
			CHECK(b, p11->C_SignInit(s, &m, key));
			CHECK(b, p11->C_Sign(s, digest, sizeof(digest), sig, &sl));
			CHECK(b, p11->C_CloseSession(s));
			break;
		case 1: /* search */
			CHECK(b, p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
			CHECK(b, p11->C_FindObjectsInit(s, NULL, 0));
			CHECK(b, p11->C_FindObjects(s, slots, 4, &n));
			CHECK(b, p11->C_FindObjectsFinal(s));
			CHECK(b, p11->C_CloseSession(s));
			break;
		default: /* polling, as a browser does */
			n = 4;
			CHECK(b, p11->C_GetSlotList(CK_TRUE, slots, &n));
			CHECK(b, p11->C_GetTokenInfo(test_slot, &ti));
			break;
		}
	}
}

/* pthread_join with a limit (CLOCK_REALTIME, as pthread_timedjoin_np counts). */
static bool
join_within(pthread_t th, int seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	return pthread_timedjoin_np(th, NULL, &ts) == 0;
}

static void
test_finalize_in_flight(void)
{
	struct busy b[6];
	CK_SESSION_HANDLE s;
	double deadline;
	int round, i;
	bool started;

	for (round = 0; round < 12; round++) {
		watchdog();
		CU_ASSERT_EQUAL_FATAL(p11test_init(), CKR_OK);
		/* a logged-in session keeps the login for the signing threads */
		s = p11test_open(false, true);
		CU_ASSERT_NOT_EQUAL(s, CK_INVALID_HANDLE);
		memset(b, 0, sizeof(b));
		for (i = 0; i < 6; i++) {
			b[i].kind = i % 3;
			CU_ASSERT_EQUAL_FATAL(pthread_create(&b[i].th, NULL, busy_thread, &b[i]),
					      0);
		}
		/* every thread is at work (no fixed sleep: wait for their calls, with a limit) */
		deadline = now_s() + TIMEOUT_S;
		do {
			started = true;
			for (i = 0; i < 6; i++)
				started = started && atomic_load(&b[i].calls) >= 3;
			if (!started)
				sched_yield();
		} while (!started && now_s() < deadline);
		if (!started)
			fprintf(stderr, "round %d: the threads did not start within %d s\n", round,
				TIMEOUT_S);
		CU_ASSERT_TRUE(started);
		CU_ASSERT_EQUAL(p11->C_Finalize(NULL), CKR_OK);
		for (i = 0; i < 6; i++) {
			bool joined = join_within(b[i].th, TIMEOUT_S);

			if (!joined) {
				fprintf(stderr,
					"round %d: thread %d still in the module after %d s\n",
					round, i, TIMEOUT_S);
				CU_FAIL_FATAL("a call in flight hangs after C_Finalize");
			}
			if (b[i].bad)
				fprintf(stderr, "round %d: thread %d got %#lx\n", round, i,
					b[i].bad);
			CU_ASSERT_EQUAL(b[i].bad, CKR_OK);
		}
	}
	alarm(0);
	CU_ASSERT_EQUAL(p11test_init(), CKR_OK);
	ec_priv = CK_INVALID_HANDLE;
}

/* ---- fork while a thread signs ---- */

static _Atomic bool stop_signing;
static _Atomic unsigned long signatures;

/* Logs in, signs, logs out, again and again: the card is often inside a transaction. */
static void *
login_signer(void *arg)
{
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_BYTE digest[32] = {9}, sig[64];
	CK_SESSION_HANDLE s = 0;
	CK_OBJECT_HANDLE key;
	CK_ULONG sl;
	long bad = 0;
	bool pace = p11test_pcsc();

	(void)arg;
	if (p11->C_OpenSession(test_slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
		return (void *)1L;
	while (!atomic_load(&stop_signing)) {
		sl = sizeof(sig);
		if (p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6) != CKR_OK ||
		    (key = find_key(s)) == CK_INVALID_HANDLE ||
		    p11->C_SignInit(s, &m, key) != CKR_OK ||
		    p11->C_Sign(s, digest, sizeof(digest), sig, &sl) != CKR_OK || sl != 64 ||
		    p11->C_Logout(s) != CKR_OK)
			bad++;
		atomic_fetch_add(&signatures, 1);
		if (pace) {
			/*
			 * Over PC/SC a client that never pauses keeps the card from everyone else
			 * (pcscd lets a waiting client in only when it finds the card free, polling
			 * every 100 ms): the workload of an application that signs now and then.
			 */
			struct timespec ts = {0, 250000000L};

			nanosleep(&ts, NULL);
		}
	}
	p11->C_CloseSession(s);
	return (void *)bad;
}

/* In the child: the module from scratch, a signature, out. The exit code says what failed. */
static int
child_signs(void)
{
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_BYTE digest[32] = {3}, sig[64];
	CK_SESSION_HANDLE s = 0;
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4, sl = sizeof(sig);
	CK_OBJECT_HANDLE key;
	CK_INFO info;

	if (p11->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
		return 10;
	if (p11->C_Initialize(NULL) != CKR_OK)
		return 11;
	if (p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n != 1)
		return 12;
	if (p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
		return 13;
	if (p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)TEST_PIN, 6) != CKR_OK)
		return 14;
	key = find_key(s);
	if (p11->C_SignInit(s, &m, key) != CKR_OK ||
	    p11->C_Sign(s, digest, sizeof(digest), sig, &sl) != CKR_OK || sl != 64)
		return 15;
	if (p11->C_Finalize(NULL) != CKR_OK)
		return 16;
	return 0;
}

/* waitpid with a limit; a child that does not end is killed and reported. */
static int
wait_child(pid_t pid, int seconds)
{
	double deadline = now_s() + seconds;
	int st = 0;
	pid_t r;

	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && now_s() < deadline) {
		struct timespec ts = {0, 2000000};

		nanosleep(&ts, NULL);
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
test_fork_while_signing(void)
{
	pthread_t th;
	void *bad = NULL;
	int i, code;
	unsigned long before;

#ifdef UNDER_ASAN
	printf("\n    skipped under AddressSanitizer: its allocator is not fork-safe in a threaded "
	       "process (the strict and TSan passes run it)\n");
	return;
#endif
	watchdog();
	CU_ASSERT_EQUAL_FATAL(p11test_init(), CKR_OK);
	atomic_store(&stop_signing, false);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, login_signer, NULL), 0);
	for (i = 0; i < 30; i++) {
		pid_t pid;

		/* fork at a different point of the signer's loop each time */
		before = atomic_load(&signatures);
		while (atomic_load(&signatures) == before)
			sched_yield();
		pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0)
			_exit(child_signs());
		code = wait_child(pid, TIMEOUT_S);
		if (code != 0)
			fprintf(stderr, "fork %d: the child %s (%d)\n", i,
				code < 0 ? "hangs in the module" : "failed", code);
		CU_ASSERT_EQUAL(code, 0);
		if (code < 0)
			break;
	}
	atomic_store(&stop_signing, true);
	CU_ASSERT_EQUAL(pthread_join(th, &bad), 0);
	CU_ASSERT_PTR_NULL(bad);
	alarm(0);
}

int
main(void)
{
	CU_TestInfo tests[] = {
		{"C_Finalize while other threads are in the module", test_finalize_in_flight},
		{"fork 30 times while a thread signs", test_fork_while_signing},
		CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suites[] = {
		{"threads", suite_init, suite_clean, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return test_run("test-module-threads", suites);
}
