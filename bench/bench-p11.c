/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark harness: signature rate, key generation and start-up cost of a PKCS#11 module; raw
 * OpenSSL as the limit. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "p11-kit/pkcs11.h"

/*
 * Output: one line per figure, "impl,key,metric,value" (CSV without a header), so the
 * driver (bench/run-bench.sh) can put the runs side by side.
 *
 *   bench-p11 module  --module SO --name NAME --pin PIN [--token LABEL] [--seconds S] [--threads N]
 *   bench-p11 openssl --name NAME [--seconds S] [--threads N]
 *   bench-p11 startup --module SO --name NAME --pin PIN [--token LABEL] [--apdu-log FILE]
 *   bench-p11 login   --module SO --name NAME --pin PIN [--token LABEL]
 */

enum key_type { KEY_RSA2048, KEY_RSA3072, KEY_P256, KEY_P384, KEY_COUNT };

struct key_info {
	const char *name;
	bool rsa;
	unsigned bits;
	const char *curve;  /* OpenSSL group name */
	const uint8_t *oid; /* DER OBJECT IDENTIFIER of the curve */
	size_t oid_len;
	const EVP_MD *(*md)(void); /* digest signed */
};

static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};

static const struct key_info keys[KEY_COUNT] = {
	[KEY_RSA2048] = {"rsa2048", true, 2048, NULL, NULL, 0, EVP_sha256},
	[KEY_RSA3072] = {"rsa3072", true, 3072, NULL, NULL, 0, EVP_sha256},
	[KEY_P256] = {"p256", false, 256, "P-256", oid_p256, sizeof(oid_p256), EVP_sha256},
	[KEY_P384] = {"p384", false, 384, "P-384", oid_p384, sizeof(oid_p384), EVP_sha384},
};

/* The message signed: 64 bytes, hashed by the module (RSA) or by the caller (ECDSA). */
static const uint8_t message[64] = "mdp11 benchmark message: the same 64 bytes for every signer...";

struct opts {
	const char *cmd;
	const char *module;
	const char *name;
	const char *pin;
	const char *token;
	const char *apdu_log;
	double seconds;
	unsigned threads;
	unsigned keygen_runs;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread: robust against other work on a busy machine. */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, CK_RV rv)
{
	fprintf(stderr, "bench-p11: %s failed: CK_RV 0x%08lx\n", what, (unsigned long)rv);
	exit(1);
}

/* ---- PKCS#11 side ---- */

struct p11 {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
};

static void
p11_load(struct p11 *p, const char *path)
{
	CK_C_GetFunctionList get = NULL;
	CK_RV rv;

	p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		fprintf(stderr, "bench-p11: cannot load %s: %s\n", path, dlerror());
		exit(1);
	}
	*(void **)&get = dlsym(p->dl, "C_GetFunctionList");
	if (!get) {
		fprintf(stderr, "bench-p11: %s has no C_GetFunctionList\n", path);
		exit(1);
	}
	rv = get(&p->f);
	if (rv != CKR_OK)
		die("C_GetFunctionList", rv);
}

static void
p11_init(struct p11 *p)
{
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_RV rv = p->f->C_Initialize(&args);

	if (rv != CKR_OK)
		die("C_Initialize", rv);
}

/* The slot whose token has this label (blank-padded), or the first token when label is NULL. */
static void
p11_find_slot(struct p11 *p, const char *label)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 0;
	/* Size query first: a module may refresh its reader list only then (PKCS#11 §5.5). */
	CK_RV rv = p->f->C_GetSlotList(CK_TRUE, NULL, &n);

	if (rv != CKR_OK)
		die("C_GetSlotList", rv);
	n = 64;
	rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK)
		die("C_GetSlotList", rv);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		size_t len;

		rv = p->f->C_GetTokenInfo(slots[i], &ti);
		if (rv != CKR_OK)
			die("C_GetTokenInfo", rv);
		len = sizeof(ti.label);
		while (len > 0 && ti.label[len - 1] == ' ')
			len--;
		if (!label || (strlen(label) == len && memcmp(ti.label, label, len) == 0)) {
			p->slot = slots[i];
			return;
		}
	}
	fprintf(stderr, "bench-p11: no token %s\n", label ? label : "present");
	exit(1);
}

static CK_SESSION_HANDLE
p11_session(struct p11 *p)
{
	CK_SESSION_HANDLE s = 0;
	CK_RV rv =
		p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);

	if (rv != CKR_OK)
		die("C_OpenSession", rv);
	return s;
}

static void
p11_login(struct p11 *p, CK_SESSION_HANDLE s, const char *pin)
{
	CK_RV rv = p->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));

	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		die("C_Login", rv);
}

/* Generates a key pair of type k with CKA_ID id; returns the elapsed seconds. */
static double
p11_keygen(struct p11 *p, CK_SESSION_HANDLE s, const struct key_info *k, uint8_t id,
	   CK_OBJECT_HANDLE *priv, CK_OBJECT_HANDLE *pub)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = k->bits;
	CK_BYTE e[] = {1, 0, 1};
	CK_BYTE ckid = id;
	char label[32];
	CK_MECHANISM mech = {k->rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pubt[6];
	CK_ATTRIBUTE privt[6];
	CK_ULONG np = 0, nq = 0;
	double t0;
	CK_RV rv;

	snprintf(label, sizeof(label), "bench-%s-%u", k->name, id);
	pubt[np++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	pubt[np++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof(yes)};
	pubt[np++] = (CK_ATTRIBUTE){CKA_ID, &ckid, 1};
	pubt[np++] = (CK_ATTRIBUTE){CKA_LABEL, label, strlen(label)};
	if (k->rsa) {
		pubt[np++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
		pubt[np++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, e, sizeof(e)};
	} else {
		pubt[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)k->oid, k->oid_len};
	}
	privt[nq++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	privt[nq++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof(yes)};
	privt[nq++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof(yes)};
	privt[nq++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof(yes)};
	privt[nq++] = (CK_ATTRIBUTE){CKA_ID, &ckid, 1};
	privt[nq++] = (CK_ATTRIBUTE){CKA_DECRYPT, &no, sizeof(no)};
	t0 = now();
	rv = p->f->C_GenerateKeyPair(s, &mech, pubt, np, privt, nq, pub, priv);
	if (rv != CKR_OK)
		die("C_GenerateKeyPair", rv);
	return now() - t0;
}

/* One signature with key h; the mechanism follows the key type (RSA hashes in the module). */
static CK_RV
p11_sign_once(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
	      const struct key_info *k, const uint8_t *digest, unsigned dlen)
{
	CK_MECHANISM mech = {k->rsa ? CKM_SHA256_RSA_PKCS : CKM_ECDSA, NULL, 0};
	uint8_t sig[1024];
	CK_ULONG siglen = sizeof(sig);
	CK_RV rv = f->C_SignInit(s, &mech, h);

	if (rv != CKR_OK)
		return rv;
	if (k->rsa)
		return f->C_Sign(s, (CK_BYTE_PTR)message, sizeof(message), sig, &siglen);
	return f->C_Sign(s, (CK_BYTE_PTR)digest, dlen, sig, &siglen);
}

/* ---- the timed loops (shared by both sides) ---- */

struct worker {
	pthread_t th;
	pthread_barrier_t *start;
	double deadline_len;
	const struct key_info *k;
	/* PKCS#11 */
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h;
	/* OpenSSL */
	EVP_PKEY *pkey;
	/* result */
	unsigned long ops;
	double elapsed;
	double cpu;
	CK_RV rv;
	bool failed;
};

static void
digest_of(const struct key_info *k, uint8_t *out, unsigned *len)
{
	EVP_Digest(message, sizeof(message), out, len, k->md(), NULL);
}

static bool
ossl_sign_once(EVP_PKEY *pkey, const struct key_info *k, const uint8_t *digest, unsigned dlen)
{
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);
	bool ok = false;

	if (k->rsa) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();

		ok = c && EVP_DigestSignInit(c, NULL, k->md(), NULL, pkey) == 1 &&
		     EVP_DigestSign(c, sig, &siglen, message, sizeof(message)) == 1;
		EVP_MD_CTX_free(c);
	} else {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);

		ok = c && EVP_PKEY_sign_init(c) == 1 &&
		     EVP_PKEY_sign(c, sig, &siglen, digest, dlen) == 1;
		EVP_PKEY_CTX_free(c);
	}
	return ok;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	double t0, c0, end;

	digest_of(w->k, digest, &dlen);
	pthread_barrier_wait(w->start);
	t0 = now();
	c0 = cpu_now();
	end = t0 + w->deadline_len;
	do {
		if (w->f) {
			w->rv = p11_sign_once(w->f, w->s, w->h, w->k, digest, dlen);
			if (w->rv != CKR_OK) {
				w->failed = true;
				break;
			}
		} else if (!ossl_sign_once(w->pkey, w->k, digest, dlen)) {
			w->failed = true;
			break;
		}
		w->ops++;
	} while (now() < end);
	w->elapsed = now() - t0;
	w->cpu = cpu_now() - c0;
	return NULL;
}

/*
 * Runs n workers prepared by the caller; returns signatures per second in total (wall clock),
 * and in *per_cpu the signatures per second of thread CPU time (summed over the threads).
 */
static double
run_workers(struct worker *w, unsigned n, double seconds, double *per_cpu)
{
	pthread_barrier_t start;
	double rate = 0, ops = 0, cpu = 0;

	pthread_barrier_init(&start, NULL, n);
	for (unsigned i = 0; i < n; i++) {
		w[i].start = &start;
		w[i].deadline_len = seconds;
		if (pthread_create(&w[i].th, NULL, worker_run, &w[i]) != 0) {
			fprintf(stderr, "bench-p11: pthread_create: %s\n", strerror(errno));
			exit(1);
		}
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(w[i].th, NULL);
	pthread_barrier_destroy(&start);
	for (unsigned i = 0; i < n; i++) {
		if (w[i].failed) {
			if (w[i].f)
				die("C_Sign", w[i].rv);
			fprintf(stderr, "bench-p11: OpenSSL signature failed\n");
			exit(1);
		}
		rate += (double)w[i].ops / w[i].elapsed;
		ops += (double)w[i].ops;
		cpu += w[i].cpu;
	}
	*per_cpu = cpu > 0 ? ops / cpu : 0;
	return rate;
}

/* ---- commands ---- */

static void
print_rates(const char *impl, const char *key, unsigned n, double wall, double per_cpu)
{
	printf("%s,%s,sign_per_s_%ut,%.1f\n", impl, key, n, wall);
	printf("%s,%s,sign_per_cpu_s_%ut,%.1f\n", impl, key, n, per_cpu);
}

static int
cmd_module(const struct opts *o)
{
	struct p11 p = {0};
	CK_SESSION_HANDLE s;

	p11_load(&p, o->module);
	p11_init(&p);
	p11_find_slot(&p, o->token);
	s = p11_session(&p);
	p11_login(&p, s, o->pin);

	for (int t = 0; t < KEY_COUNT; t++) {
		const struct key_info *k = &keys[t];
		CK_OBJECT_HANDLE priv = 0, pub = 0;
		double gen = p11_keygen(&p, s, k, (uint8_t)(0x40 + t), &priv, &pub);

		printf("%s,%s,keygen_s,%.3f\n", o->name, k->name, gen);
		/* Key generation varies a lot: RSA-2048 gets more runs, on throw-away keys. */
		if (t == KEY_RSA2048 && o->keygen_runs > 1) {
			double sum = gen;

			for (unsigned r = 1; r < o->keygen_runs; r++) {
				CK_OBJECT_HANDLE xp = 0, xq = 0;

				sum += p11_keygen(&p, s, k, (uint8_t)(0x60 + r), &xq, &xp);
				p.f->C_DestroyObject(s, xq);
				p.f->C_DestroyObject(s, xp);
			}
			printf("%s,%s,keygen_mean_s,%.3f\n", o->name, k->name,
			       sum / o->keygen_runs);
		}
		for (unsigned n = 1; n <= o->threads; n++) {
			struct worker w[16];
			double per_cpu = 0, wall;

			if (n > 2 && n != o->threads)
				continue;
			memset(w, 0, sizeof(w));
			for (unsigned i = 0; i < n; i++) {
				w[i].k = k;
				w[i].f = p.f;
				w[i].s = p11_session(&p);
				w[i].h = priv;
			}
			wall = run_workers(w, n, o->seconds, &per_cpu);
			print_rates(o->name, k->name, n, wall, per_cpu);
			for (unsigned i = 0; i < n; i++)
				p.f->C_CloseSession(w[i].s);
		}
		fflush(stdout);
	}
	p.f->C_Logout(s);
	p.f->C_CloseSession(s);
	p.f->C_Finalize(NULL);
	return 0;
}

static EVP_PKEY *
ossl_keygen(const struct key_info *k, double *secs)
{
	EVP_PKEY *pkey = NULL;
	double t0 = now();

	if (k->rsa)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)k->bits);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", k->curve);
	*secs = now() - t0;
	if (!pkey) {
		fprintf(stderr, "bench-p11: OpenSSL key generation (%s) failed\n", k->name);
		exit(1);
	}
	return pkey;
}

static int
cmd_openssl(const struct opts *o)
{
	for (int t = 0; t < KEY_COUNT; t++) {
		const struct key_info *k = &keys[t];
		double gen = 0;
		EVP_PKEY *pkey = ossl_keygen(k, &gen);

		printf("%s,%s,keygen_s,%.3f\n", o->name, k->name, gen);
		if (t == KEY_RSA2048 && o->keygen_runs > 1) {
			double sum = gen;

			for (unsigned r = 1; r < o->keygen_runs; r++) {
				double g = 0;

				EVP_PKEY_free(ossl_keygen(k, &g));
				sum += g;
			}
			printf("%s,%s,keygen_mean_s,%.3f\n", o->name, k->name,
			       sum / o->keygen_runs);
		}
		for (unsigned n = 1; n <= o->threads; n++) {
			struct worker w[16];
			double per_cpu = 0, wall;

			if (n > 2 && n != o->threads)
				continue;
			memset(w, 0, sizeof(w));
			for (unsigned i = 0; i < n; i++) {
				w[i].k = k;
				w[i].pkey = pkey;
			}
			wall = run_workers(w, n, o->seconds, &per_cpu);
			print_rates(o->name, k->name, n, wall, per_cpu);
		}
		EVP_PKEY_free(pkey);
		fflush(stdout);
	}
	return 0;
}

/* APDUs the card has seen so far: lines with "APDU: " in pcscd's --apdu log (-1: no log). */
static long
apdu_count(const char *log)
{
	char line[4096];
	long n = 0;
	FILE *fp;

	if (!log)
		return -1;
	fp = fopen(log, "r");
	if (!fp) {
		fprintf(stderr, "bench-p11: cannot read %s: %s\n", log, strerror(errno));
		exit(1);
	}
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, "APDU: "))
			n++;
	fclose(fp);
	return n;
}

/* Finds every private key and certificate and reads what a lister shows of them. */
static unsigned
list_objects(struct p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls)
{
	CK_ATTRIBUTE t = {CKA_CLASS, &cls, sizeof(cls)};
	CK_OBJECT_HANDLE h[32];
	CK_ULONG n = 0;
	CK_RV rv;

	rv = p->f->C_FindObjectsInit(s, &t, 1);
	if (rv != CKR_OK)
		die("C_FindObjectsInit", rv);
	rv = p->f->C_FindObjects(s, h, 32, &n);
	if (rv != CKR_OK)
		die("C_FindObjects", rv);
	p->f->C_FindObjectsFinal(s);
	for (CK_ULONG i = 0; i < n; i++) {
		uint8_t label[256], id[256], value[8192];
		CK_ATTRIBUTE a[3] = {
			{CKA_LABEL, label, sizeof(label)},
			{CKA_ID, id, sizeof(id)},
			{CKA_VALUE, value, sizeof(value)},
		};

		rv = p->f->C_GetAttributeValue(s, h[i], a, cls == CKO_CERTIFICATE ? 3 : 2);
		if (rv != CKR_OK)
			die("C_GetAttributeValue", rv);
	}
	return (unsigned)n;
}

static int
cmd_startup(const struct opts *o)
{
	struct p11 p = {0};
	CK_SESSION_HANDLE s;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE ta = {CKA_KEY_TYPE, &kt, sizeof(kt)};
	CK_ATTRIBUTE find = {CKA_CLASS, &cls, sizeof(cls)};
	CK_OBJECT_HANDLE key = 0;
	CK_ULONG n = 0;
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	unsigned nkeys, npub, ncerts;
	long a0, a1, a2, a3;
	double t0, t1, t2, t3;
	const struct key_info *k;
	CK_RV rv;

	p11_load(&p, o->module);
	a0 = apdu_count(o->apdu_log);
	t0 = now();
	p11_init(&p);
	p11_find_slot(&p, o->token);
	s = p11_session(&p);
	nkeys = list_objects(&p, s, CKO_PRIVATE_KEY);
	npub = list_objects(&p, s, CKO_PUBLIC_KEY);
	ncerts = list_objects(&p, s, CKO_CERTIFICATE);
	t1 = now();
	a1 = apdu_count(o->apdu_log);
	p11_login(&p, s, o->pin);
	rv = p.f->C_FindObjectsInit(s, &find, 1);
	if (rv != CKR_OK)
		die("C_FindObjectsInit", rv);
	rv = p.f->C_FindObjects(s, &key, 1, &n);
	if (rv != CKR_OK || n != 1)
		die("C_FindObjects (private key)", rv);
	p.f->C_FindObjectsFinal(s);
	rv = p.f->C_GetAttributeValue(s, key, &ta, 1);
	if (rv != CKR_OK)
		die("C_GetAttributeValue (CKA_KEY_TYPE)", rv);
	k = kt == CKK_RSA ? &keys[KEY_RSA2048] : &keys[KEY_P256];
	digest_of(k, digest, &dlen);
	t2 = now();
	a2 = apdu_count(o->apdu_log);
	rv = p11_sign_once(p.f, s, key, k, digest, dlen);
	if (rv != CKR_OK)
		die("C_Sign", rv);
	t3 = now();
	a3 = apdu_count(o->apdu_log);

	printf("%s,token,private_keys_listed,%u\n", o->name, nkeys);
	printf("%s,token,public_keys_listed,%u\n", o->name, npub);
	printf("%s,token,certs_listed,%u\n", o->name, ncerts);
	printf("%s,startup,list_ms,%.1f\n", o->name, (t1 - t0) * 1e3);
	printf("%s,startup,login_ms,%.1f\n", o->name, (t2 - t1) * 1e3);
	printf("%s,startup,sign_ms,%.1f\n", o->name, (t3 - t2) * 1e3);
	printf("%s,startup,first_signature_ms,%.1f\n", o->name, (t3 - t0) * 1e3);
	if (o->apdu_log) {
		printf("%s,apdu,list,%ld\n", o->name, a1 - a0);
		printf("%s,apdu,login,%ld\n", o->name, a2 - a1);
		printf("%s,apdu,sign,%ld\n", o->name, a3 - a2);
		printf("%s,apdu,before_first_signature,%ld\n", o->name, a2 - a0);
	}
	p.f->C_Logout(s);
	p.f->C_CloseSession(s);
	p.f->C_Finalize(NULL);
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The cost of C_Login: the first in this process (the module may derive a key from the PIN),
 * then the median of 21 more with the same PIN, each after a C_Logout.
 */
static int
cmd_login(const struct opts *o)
{
	struct p11 p = {0};
	CK_SESSION_HANDLE s;
	double t0, first, again[21];
	CK_RV rv;

	p11_load(&p, o->module);
	p11_init(&p);
	p11_find_slot(&p, o->token);
	s = p11_session(&p);
	t0 = now();
	p11_login(&p, s, o->pin);
	first = now() - t0;
	for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
		rv = p.f->C_Logout(s);
		if (rv != CKR_OK)
			die("C_Logout", rv);
		t0 = now();
		p11_login(&p, s, o->pin);
		again[i] = now() - t0;
	}
	qsort(again, sizeof(again) / sizeof(again[0]), sizeof(again[0]), cmp_double);
	printf("%s,login,first_ms,%.2f\n", o->name, first * 1e3);
	printf("%s,login,repeat_median_ms,%.2f\n", o->name, again[10] * 1e3);
	p.f->C_Logout(s);
	p.f->C_CloseSession(s);
	p.f->C_Finalize(NULL);
	return 0;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: bench-p11 module  --module SO --name NAME --pin PIN [--token LABEL]\n"
		    "                         [--seconds S] [--threads N] [--keygen-runs N]\n"
		    "       bench-p11 openssl --name NAME [--seconds S] [--threads N] "
		    "[--keygen-runs N]\n"
		    "       bench-p11 startup --module SO --name NAME --pin PIN [--token LABEL]\n"
		    "                         [--apdu-log PCSCD_LOG]\n"
		    "       bench-p11 login   --module SO --name NAME --pin PIN [--token LABEL]\n"
		    "Prints CSV lines: impl,key,metric,value\n");
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"module", required_argument, NULL, 'm'},
		{"name", required_argument, NULL, 'n'},
		{"pin", required_argument, NULL, 'p'},
		{"token", required_argument, NULL, 't'},
		{"seconds", required_argument, NULL, 's'},
		{"threads", required_argument, NULL, 'j'},
		{"keygen-runs", required_argument, NULL, 'k'},
		{"apdu-log", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.seconds = 1.0, .threads = 2, .keygen_runs = 3};
	int c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	o.cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.module = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'p':
			o.pin = optarg;
			break;
		case 't':
			o.token = optarg;
			break;
		case 's':
			o.seconds = strtod(optarg, NULL);
			break;
		case 'j':
			o.threads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			o.keygen_runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'a':
			o.apdu_log = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o.name || o.seconds <= 0 || o.threads < 1 || o.threads > 16) {
		usage(stderr);
		return 2;
	}
	if (strcmp(o.cmd, "openssl") == 0)
		return cmd_openssl(&o);
	if (!o.module || !o.pin) {
		usage(stderr);
		return 2;
	}
	if (strcmp(o.cmd, "module") == 0)
		return cmd_module(&o);
	if (strcmp(o.cmd, "startup") == 0)
		return cmd_startup(&o);
	if (strcmp(o.cmd, "login") == 0)
		return cmd_login(&o);
	usage(stderr);
	return 2;
}
