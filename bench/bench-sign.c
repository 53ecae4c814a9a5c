/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Signatures per second through mdp11.so on the embedded virtual card vs raw OpenSSL (one thread).
 */
#include "config.h"

#include <dlfcn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pkcs11/pkcs11-3.h"
#include "vcard/vcard.h"

/*
 * Usage: bench-sign [seconds per measurement] (default 2). The module is
 * MDP11_BENCH_MODULE or the built .libs/mdp11.so. Each row signs a SHA-256 digest with
 * CKM_RSA_PKCS (DigestInfo supplied) / CKM_ECDSA, the same work EVP_PKEY_sign does.
 * MDP11_BENCH_PIV=1: on a virtual PIV card instead of GIDS.
 */

/*
 * CPU time of this thread: the machine may be busy with other work (a parallel build), and
 * wall-clock time would charge that to whichever side runs at the time. Read every 16
 * operations (reading it is a system call).
 */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
bench_openssl(EVP_PKEY *k, const unsigned char *tbs, size_t tbs_len, double secs)
{
	unsigned char sig[512];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
	double t0 = now(), t = 0;
	long n = 0;
	size_t sl;

	if (!ctx || EVP_PKEY_sign_init(ctx) <= 0)
		return -1;
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
	do {
		sl = sizeof(sig);
		if (EVP_PKEY_sign(ctx, sig, &sl, tbs, tbs_len) <= 0)
			return -1;
		if (++n % 16 == 0)
			t = now() - t0;
	} while (n % 16 || t < secs);
	EVP_PKEY_CTX_free(ctx);
	return n / t;
}

static double
bench_module(CK_FUNCTION_LIST *p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
	     CK_MECHANISM_TYPE mech, const unsigned char *tbs, size_t tbs_len, double secs)
{
	CK_MECHANISM m = {mech, NULL, 0};
	CK_BYTE sig[512];
	CK_ULONG sl;
	double t0 = now(), t = 0;
	long n = 0;

	do {
		sl = sizeof(sig);
		if (p11->C_SignInit(s, &m, key) != CKR_OK ||
		    p11->C_Sign(s, (CK_BYTE *)tbs, tbs_len, sig, &sl) != CKR_OK)
			return -1;
		if (++n % 16 == 0)
			t = now() - t0;
	} while (n % 16 || t < secs);
	return n / t;
}

int
main(int argc, char **argv)
{
	static const uint8_t admin[24] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
					  13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
	static const unsigned char dinfo_prefix[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
						       0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
						       0x01, 0x05, 0x00, 0x04, 0x20};
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	const char *module = getenv("MDP11_BENCH_MODULE");
	struct vcard_init_params params = {.pin = "123456", .admin_key = admin};
	char dir[] = "/tmp/mdp11-bench-XXXXXX", card[64], conf[64];
	unsigned char digest[32], dinfo[51];
	CK_C_GetFunctionList get;
	CK_FUNCTION_LIST *p11 = NULL;
	CK_SLOT_ID slot;
	CK_ULONG n = 1, bits = 2048;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE pub, rsa = 0, ec = 0;
	CK_BBOOL t = CK_TRUE;
	CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_MECHANISM rsagen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_MECHANISM ecgen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE rsapub[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)}};
	CK_ATTRIBUTE ecpub[] = {{CKA_EC_PARAMS, p256, sizeof(p256)}};
	CK_ATTRIBUTE priv[] = {{CKA_SIGN, &t, 1}};
	EVP_PKEY *ork = EVP_RSA_gen(2048), *oek = EVP_EC_gen("P-256");
	double r_mod, r_ssl, e_mod, e_ssl;
	void *dl;
	FILE *f;
	int rc = 1;

	if (!module)
		module = MDP11_MODULE_PATH;
	if (getenv("MDP11_BENCH_PIV")) {
		/* a virtual PIV card with the factory management key (docs/piv.md) */
		static const uint8_t mgm[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
						5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

		params.type = VCARD_TYPE_PIV;
		params.admin_key = mgm;
	}
	memcpy(dinfo, dinfo_prefix, 19);
	memset(digest, 0xab, sizeof(digest));
	memcpy(dinfo + 19, digest, 32);
	if (!mkdtemp(dir))
		return 1;
	snprintf(card, sizeof(card), "%s/card", dir);
	snprintf(conf, sizeof(conf), "%s/conf", dir);
	if (vcard_create(card, &params) != 0 || !(f = fopen(conf, "w"))) {
		fprintf(stderr, "bench-sign: cannot create the virtual card\n");
		goto out;
	}
	fputs("[readers]\npcsc = no\n", f);
	fclose(f);
	setenv("MDP11_CONF", conf, 1);
	setenv("MDP11_VCARD", card, 1);
	dl = dlopen(module, RTLD_NOW);
	get = dl ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
	if (!get || get(&p11) != CKR_OK || p11->C_Initialize(NULL) != CKR_OK ||
	    p11->C_GetSlotList(CK_TRUE, &slot, &n) != CKR_OK || n != 1 ||
	    p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) !=
		    CKR_OK ||
	    p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"123456", 6) != CKR_OK ||
	    p11->C_GenerateKeyPair(s, &rsagen, rsapub, 1, priv, 1, &pub, &rsa) != CKR_OK ||
	    p11->C_GenerateKeyPair(s, &ecgen, ecpub, 1, priv, 1, &pub, &ec) != CKR_OK) {
		fprintf(stderr, "bench-sign: module setup failed (%s)\n", dl ? module : dlerror());
		goto out;
	}
	r_mod = bench_module(p11, s, rsa, CKM_RSA_PKCS, dinfo, sizeof(dinfo), secs);
	r_ssl = bench_openssl(ork, dinfo, sizeof(dinfo), secs);
	e_mod = bench_module(p11, s, ec, CKM_ECDSA, digest, sizeof(digest), secs);
	e_ssl = bench_openssl(oek, digest, sizeof(digest), secs);
	printf("%-14s %14s %14s %8s %8s\n", "key", "mdp11 sig/s", "OpenSSL sig/s", "ratio",
	       "target");
	printf("%-14s %14.1f %14.1f %7.2fx %7.1fx\n", "RSA-2048", r_mod, r_ssl, r_mod / r_ssl, 0.9);
	printf("%-14s %14.1f %14.1f %7.2fx %7.1fx\n", "EC P-256", e_mod, e_ssl, e_mod / e_ssl, 0.8);
	rc = (r_mod > 0 && e_mod > 0) ? 0 : 1;
	p11->C_Finalize(NULL);
out:
	EVP_PKEY_free(ork);
	EVP_PKEY_free(oek);
	unlink(card);
	unlink(conf);
	rmdir(dir);
	return rc;
}
