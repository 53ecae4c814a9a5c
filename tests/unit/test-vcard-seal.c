/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests of the virtual card's seal (docs/vcard.md, "Seal"): the file alone yields no secret, a
 * card without its seal, key files, overrides, format 1 cards and their reseal, the per-process
 * login cache, and the seal API the applets use (items, seal-only sealing, symmetric keys).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "tests/unit/testutil.h"
#include "tests/unit/vcard-testlib.h"
#include "vcard/vcard-int.h"

static const uint8_t admin_key[24] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				      0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x0F,
				      0x1E, 0x2D, 0x3C, 0x4B, 0x5A, 0x69, 0x78, 0x87};
/* the admin key of the format 1 fixture (tests/data/vcard-v1/make-fixture.sh) */
static const uint8_t v1_admin[24] = {1,	 2,  3,	 4,  5,	 6,  7,	 8,  9,	 10, 11, 12,
				     13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
#define PIN "246810"
#define VERIFY_PIN "0020008006323436383130"
static char *dir;

static int
setup(void)
{
	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	unsetenv("MDP11_VCARD_SEAL");
	vcard_set_notices(false);
	dir = test_tmpdir();
	return dir ? 0 : 1;
}

static int
teardown(void)
{
	test_rmtree(dir);
	free(dir);
	return 0;
}

static char *
path_of(const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static char *
spec_of(const char *kind, const char *path)
{
	size_t n = strlen(kind) + strlen(path) + 2;
	char *p = malloc(n);

	snprintf(p, n, "%s:%s", kind, path);
	return p;
}

/* A new initialized card file sealed by the key file keyname (made now). */
static char *
new_card(const char *name, const char *keyname)
{
	char *path = path_of(name), *key = path_of(keyname), *seal = spec_of("keyfile", key);
	struct vcard_init_params p = {.pin = PIN, .admin_key = admin_key, .seal = seal};

	unlink(path);
	CU_ASSERT_EQUAL(vcard_create(path, &p), MDP_OK);
	free(key);
	free(seal);
	return path;
}

static struct vcard *
open_card(const char *path, const char *seal)
{
	struct vcard_init_params p = {.seal = seal};
	struct vcard *vc = NULL;

	CU_ASSERT_EQUAL(vcard_open(path, seal ? &p : NULL, &vc), MDP_OK);
	return vc;
}

/* Every private component of key (big-endian, as OpenSSL holds them) occurs nowhere in path. */
static void
check_no_private_part(const char *path, EVP_PKEY *key)
{
	static const char *const rsa[] = {
		OSSL_PKEY_PARAM_RSA_D,	       OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
	static const char *const ec[] = {OSSL_PKEY_PARAM_PRIV_KEY};
	const char *const *names = EVP_PKEY_is_a(key, "RSA") ? rsa : ec;
	size_t i, count = EVP_PKEY_is_a(key, "RSA") ? 6 : 1;
	uint8_t buf[600];
	BIGNUM *bn = NULL;
	int n;

	for (i = 0; i < count; i++) {
		CU_ASSERT_FATAL(EVP_PKEY_get_bn_param(key, names[i], &bn) == 1);
		n = BN_bn2bin(bn, buf);
		/* 16 bytes of a private part is plenty to find it, and avoids chance hits */
		CU_ASSERT(n >= 16 && !test_file_has(path, buf, 16));
		CU_ASSERT(!test_file_has(path, buf + n - 16, 16));
		BN_clear_free(bn);
		bn = NULL;
	}
}

static EVP_PKEY *
load_pem(const char *rel, bool private_key)
{
	char *p = test_data_path(rel);
	FILE *f = fopen(p, "r");
	EVP_PKEY *k = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	k = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
			: PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	free(p);
	return k;
}

/* The kid (81..83) whose public key is pub's, 0 when none. */
static uint8_t
kid_of(struct vcard *vc, EVP_PKEY *pub, const char *group)
{
	uint8_t kid;

	for (kid = 0x81; kid <= 0x85; kid++) {
		EVP_PKEY *k = gids_read_public(vc, kid, group);
		bool same = k && EVP_PKEY_eq(k, pub) == 1;

		EVP_PKEY_free(k);
		if (same)
			return kid;
	}
	return 0;
}

/* A PKCS#1 v1.5 signature by key file kid, checked with pub. */
static bool
rsa_signs(struct vcard *vc, uint8_t kid, uint8_t alg, EVP_PKEY *pub)
{
	static const uint8_t digest_info[51] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
		0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 1,	  2,	3,    4,    5,	  6,	7,
		8,    9,    10,	  11,	12,   13,   14,	  15,	16,   17,   18,	  19,	20,
		21,   22,   23,	  24,	25,   26,   27,	  28,	29,   30,   31,	  32};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	uint8_t *sig = NULL, plain[512];
	size_t sl = 0, pl = sizeof(plain);
	bool ok;

	ok = gids_mse(vc, 0xB6, alg, kid) == 0x9000 &&
	     gids_pso(vc, true, digest_info, sizeof(digest_info), &sig, &sl) == 0x9000 && ctx &&
	     EVP_PKEY_verify_recover_init(ctx) == 1 &&
	     EVP_PKEY_verify_recover(ctx, plain, &pl, sig, sl) == 1 && pl == sizeof(digest_info) &&
	     memcmp(plain, digest_info, pl) == 0;
	EVP_PKEY_CTX_free(ctx);
	free(sig);
	return ok;
}

/* An ECDSA signature (r||s) by key file kid, checked with pub. */
static bool
ec_signs(struct vcard *vc, uint8_t kid, EVP_PKEY *pub)
{
	uint8_t hash[32], *rs = NULL, *der = NULL, *q;
	size_t rl = 0;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	int dl;
	bool ok = false;

	RAND_bytes(hash, sizeof(hash));
	if (gids_mse(vc, 0xB6, 0x1C, kid) == 0x9000 &&
	    gids_pso(vc, true, hash, sizeof(hash), &rs, &rl) == 0x9000 && rl == 64 &&
	    ECDSA_SIG_set0(sig, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL)) == 1) {
		dl = i2d_ECDSA_SIG(sig, NULL);
		der = malloc((size_t)dl);
		q = der;
		i2d_ECDSA_SIG(sig, &q);
		ok = EVP_PKEY_verify_init(ctx) == 1 &&
		     EVP_PKEY_verify(ctx, der, (size_t)dl, hash, sizeof(hash)) == 1;
	}
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(ctx);
	free(rs);
	free(der);
	return ok;
}

static void
copy_file(const char *from, const char *to)
{
	size_t n = 0;
	uint8_t *d = test_read_file(from, &n);
	FILE *f = fopen(to, "wb");

	CU_ASSERT_FATAL(d && f);
	CU_ASSERT(fwrite(d, 1, n, f) == n);
	fclose(f);
	chmod(to, 0600);
	free(d);
}

static uint32_t
file_format(const char *path)
{
	size_t n = 0;
	uint8_t *d = test_read_file(path, &n);
	uint32_t v = d && n > 12 ? (uint32_t)d[8] << 24 | d[9] << 16 | d[10] << 8 | d[11] : 0;

	free(d);
	return v;
}

/* PUT DATA 3FFF of a key import (chained as needed). */
static uint16_t
put_data(struct vcard *vc, const struct mdp_buf *b)
{
	uint8_t *out = NULL;
	size_t ol = 0;
	uint16_t sw = xfer_bytes(vc, 0xDB, 0x3F, 0xFF, b->data, b->len, &out, &ol);

	free(out);
	return sw;
}

/* ---- the file alone ---- */

/* Import a known RSA and EC key, then look for every secret in the file. */
static void
test_file_alone(void)
{
	char *path = new_card("alone.card", "alone.key"), *key = path_of("alone.key");
	char *moved = path_of("alone.key.away");
	EVP_PKEY *rsa = load_pem("vcard-v1/rsa.pem", true), *ec = load_pem("vcard-v1/ec.pem", true);
	struct vcard *vc = open_card(path, NULL);
	struct vcard_info info;
	struct mdp_buf b;
	struct rapdu r;
	uint8_t *der = NULL;
	int dl;

	CU_ASSERT_FATAL(rsa && ec && vc);
	CU_ASSERT_EQUAL(tx(vc, VERIFY_PIN, &r), 0x9000);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x07, true), 0x9000);
	gids_rsa_template(&b, rsa, 0x81, false, false);
	CU_ASSERT_EQUAL(put_data(vc, &b), 0x9000);
	buf_free(&b);
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x82, 0x0C, false), 0x9000);
	{
		/* EC import, §9: 70{84 kid, A5{83 03, 84 00, 87 ECPrivateKey}} */
		size_t m70, ma5;

		dl = i2d_PrivateKey(ec, &der);
		CU_ASSERT_FATAL(dl > 0);
		buf_init(&b);
		m70 = buf_tlv_open(&b, 0x70);
		buf_put_tlv(&b, 0x84, "\x82", 1);
		ma5 = buf_tlv_open(&b, 0xA5);
		buf_put_tlv(&b, 0x83, "\x03", 1);
		buf_put_tlv(&b, 0x84, "\x00", 1);
		buf_put_tlv(&b, 0x87, der, (size_t)dl);
		buf_tlv_close(&b, ma5);
		buf_tlv_close(&b, m70);
		CU_ASSERT_EQUAL(put_data(vc, &b), 0x9000);
		buf_free(&b);
		OPENSSL_free(der);
	}
	/* a PIN change writes the PIN wrap again */
	CU_ASSERT_EQUAL(tx(vc, "002400800C323436383130313335373931", &r), 0x9000);
	CU_ASSERT(rsa_signs(vc, 0x81, 0x57, rsa));
	vcard_free(vc);

	CU_ASSERT(!test_file_has(path, admin_key, sizeof(admin_key)));
	CU_ASSERT(!test_file_has(path, (const uint8_t *)PIN, strlen(PIN)));
	CU_ASSERT(!test_file_has(path, (const uint8_t *)"135791", 6));
	check_no_private_part(path, rsa);
	check_no_private_part(path, ec);

	/* Without its key file the card loads and shows what is public, nothing more. */
	CU_ASSERT_EQUAL_FATAL(rename(key, moved), 0);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(info.sealed);
	CU_ASSERT_EQUAL(info.pin_tries_left, 3);
	CU_ASSERT_EQUAL(tx(vc, "00CBA012045C02DF2000", &r), 0x9000); /* cardid */
	{
		EVP_PKEY *pub = gids_read_public(vc, 0x81, NULL);

		CU_ASSERT(pub && EVP_PKEY_eq(pub, rsa) == 1);
		EVP_PKEY_free(pub);
	}
	CU_ASSERT_EQUAL(vcard_seal_check(vc), MDP_ERR_SEAL);
	CU_ASSERT(strstr(mdp_err_last(), "alone.key") != NULL);
	{
		static const uint8_t verify[] = {0x00, 0x20, 0x00, 0x80, 0x06, '1',
						 '3',  '5',  '7',  '9',	 '1'};
		uint8_t resp[VCARD_MAX_RESPONSE];
		size_t rl = 0;

		mdp_err_clear();
		CU_ASSERT_EQUAL(vcard_transmit(vc, verify, sizeof(verify), resp, &rl),
				MDP_ERR_SEAL);
		CU_ASSERT(rl == 2 && resp[0] == 0x69 && resp[1] == 0x85);
		CU_ASSERT(strstr(mdp_err_last(), "key file") != NULL);
		CU_ASSERT(strstr(mdp_err_last(), "alone.key") != NULL);
	}
	/* no try was spent: the card could not compare */
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.pin_tries_left, 3);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701039301 03");
	/* admin authentication fails at its first step, key use is refused */
	CU_ASSERT_EQUAL(gids_admin_auth(vc, admin_key, 0xC1), 1);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x57, 0x81), 0x6982);
	vcard_free(vc);
	/* the key file back: everything works again */
	CU_ASSERT_EQUAL_FATAL(rename(moved, key), 0);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313335373931", &r), 0x9000);
	CU_ASSERT(rsa_signs(vc, 0x81, 0x57, rsa));
	vcard_free(vc);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	free(path);
	free(key);
	free(moved);
}

/* ---- key files ---- */

static void
test_key_files(void)
{
	char *path = new_card("kf.card", "kf.key"), *key = path_of("kf.key");
	char *other = new_card("other.card", "other.key"), *okey = path_of("other.key");
	char *ospec = spec_of("keyfile", okey), *moved = path_of("moved.key");
	char *mspec = spec_of("keyfile", moved), *none = path_of("none.key");
	struct vcard_init_params p = {.pin = PIN, .admin_key = admin_key};
	struct vcard *vc;
	struct vcard_info info;
	struct stat sb;
	struct rapdu r;
	size_t n = 0;
	uint8_t *kf;

	/* the key file: 0600, its header, 64 hex digits */
	CU_ASSERT_EQUAL(stat(key, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	kf = test_read_file(key, &n);
	CU_ASSERT(kf && n == 95 && memcmp(kf, "mdp11 virtual card seal key 1\n", 30) == 0);
	free(kf);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(strncmp(info.seal, "keyfile:/", 9) == 0 && strstr(info.seal, "kf.key"));
	CU_ASSERT_STRING_EQUAL(info.seal_file, "");
	vcard_free(vc);

	/* another card's key file: refused by name */
	vc = open_card(path, ospec);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(strstr(info.seal, "other.key") && strstr(info.seal_file, "kf.key"));
	CU_ASSERT_EQUAL(vcard_seal_check(vc), MDP_ERR_SEAL);
	CU_ASSERT(strstr(mdp_err_last(), "not this card's seal") != NULL);
	CU_ASSERT_EQUAL(tx(vc, VERIFY_PIN, &r), 0);
	vcard_free(vc);

	/* MDP11_VCARD_SEAL of another kind is not about this card: ignored */
	setenv("MDP11_VCARD_SEAL", "tpm:swtpm:host=127.0.0.1,port=9", 1);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vcard_seal_check(vc), MDP_OK);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_STRING_EQUAL(info.seal_file, "");
	vcard_free(vc);
	unsetenv("MDP11_VCARD_SEAL");

	/* a key file moved: the override finds it; MDP11_VCARD_SEAL too */
	CU_ASSERT_EQUAL_FATAL(rename(key, moved), 0);
	vc = open_card(path, mspec);
	CU_ASSERT_EQUAL(tx(vc, VERIFY_PIN, &r), 0x9000);
	vcard_free(vc);
	setenv("MDP11_VCARD_SEAL", mspec, 1);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(tx(vc, VERIFY_PIN, &r), 0x9000);
	vcard_free(vc);
	/* an explicit override wins over the environment */
	vc = open_card(path, ospec);
	CU_ASSERT_EQUAL(vcard_seal_check(vc), MDP_ERR_SEAL);
	vcard_free(vc);
	unsetenv("MDP11_VCARD_SEAL");

	/* the override moves the seal, never changes its kind */
	vc = open_card(path, "tpm:swtpm:host=127.0.0.1,port=9");
	CU_ASSERT_EQUAL(vcard_seal_check(vc), MDP_ERR_SEAL);
	CU_ASSERT(strstr(mdp_err_last(), "sealed by keyfile:") != NULL);
	vcard_free(vc);

	/* a key file open to others is refused */
	CU_ASSERT_EQUAL(chmod(moved, 0640), 0);
	vc = open_card(path, mspec);
	CU_ASSERT_EQUAL(vcard_seal_check(vc), MDP_ERR_SEAL);
	CU_ASSERT(strstr(mdp_err_last(), "chmod 600") != NULL);
	vcard_free(vc);
	CU_ASSERT_EQUAL(chmod(moved, 0600), 0);

	/* not a key file */
	copy_file(path, none);
	{
		char *nspec = spec_of("keyfile", none);

		vc = open_card(path, nspec);
		CU_ASSERT_EQUAL(vcard_seal_check(vc), MDP_ERR_SEAL);
		CU_ASSERT(strstr(mdp_err_last(), "not an mdp11 virtual card key file") != NULL);
		vcard_free(vc);
		free(nspec);
	}

	/* creation: MDP11_VCARD_SEAL is the default; two cards may share a key file */
	setenv("MDP11_VCARD_SEAL", ospec, 1);
	{
		char *third = path_of("third.card");

		CU_ASSERT_EQUAL(vcard_create(third, &p), MDP_OK);
		unsetenv("MDP11_VCARD_SEAL");
		vc = open_card(third, NULL);
		CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
		CU_ASSERT(strstr(info.seal, "other.key") != NULL);
		CU_ASSERT_EQUAL(tx(vc, VERIFY_PIN, &r), 0x9000);
		vcard_free(vc);
		free(third);
	}
	unsetenv("MDP11_VCARD_SEAL");
	/* bad specifications; a failed creation leaves no card and no key file behind */
	{
		char *bad = path_of("bad.card"), *bkey = path_of("bad.key");
		char *bspec = spec_of("keyfile", bkey);
		struct vcard_init_params q = p;

		q.seal = "usb:stick";
		CU_ASSERT_EQUAL(vcard_create(bad, &q), MDP_ERR_ARGS);
		q.seal = "keyfile:";
		CU_ASSERT_EQUAL(vcard_create(bad, &q), MDP_ERR_ARGS);
		q.seal = bspec;
		q.pin = "12"; /* refused before anything is made */
		CU_ASSERT_EQUAL(vcard_create(bad, &q), MDP_ERR_ARGS);
		CU_ASSERT(access(bkey, F_OK) != 0);
		q.pin = PIN;
		q.kdf_cost = 21;
		CU_ASSERT_EQUAL(vcard_create(bad, &q), MDP_ERR_ARGS);
		CU_ASSERT(access(bad, F_OK) != 0);
		CU_ASSERT(access(bkey, F_OK) != 0);
		/* the card file exists already: the key file made for it goes again */
		q.kdf_cost = 0;
		CU_ASSERT_EQUAL(vcard_create(path, &q), MDP_ERR_EXISTS);
		CU_ASSERT(access(bkey, F_OK) != 0);
		free(bad);
		free(bkey);
		free(bspec);
	}
	free(path);
	free(key);
	free(other);
	free(okey);
	free(ospec);
	free(moved);
	free(mspec);
	free(none);
}

/* The default key file goes to $XDG_DATA_HOME/mdp11/vcard-seal, never beside the card. */
static void
test_default_keyfile(void)
{
	char *xdg = path_of("xdg"), *path = path_of("default.card");
	const char *old = getenv("XDG_DATA_HOME");
	char *saved = old ? strdup(old) : NULL;
	struct vcard_init_params p = {.pin = PIN, .admin_key = admin_key};
	struct vcard_info info;
	struct vcard *vc;
	struct stat sb;
	size_t n;

	setenv("XDG_DATA_HOME", xdg, 1);
	CU_ASSERT_EQUAL(vcard_create(path, &p), MDP_OK);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	n = strlen(xdg);
	if (info.seal[0] == 't') {
		/* this machine has a TPM at /dev/tpmrm0: it is the default then */
		CU_ASSERT_STRING_EQUAL(info.seal, "tpm:device:/dev/tpmrm0");
	} else {
		CU_ASSERT(strncmp(info.seal, "keyfile:", 8) == 0);
		CU_ASSERT(strncmp(info.seal + 8, xdg, n) == 0);
		CU_ASSERT(strncmp(info.seal + 8 + n, "/mdp11/vcard-seal/default.card.", 31) == 0);
		CU_ASSERT_EQUAL(stat(info.seal + 8, &sb), 0);
		CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
		*strrchr(info.seal, '/') = '\0';
		CU_ASSERT_EQUAL(stat(info.seal + 8, &sb), 0);
		CU_ASSERT_EQUAL(sb.st_mode & 0777, 0700);
	}
	vcard_free(vc);
	if (saved)
		setenv("XDG_DATA_HOME", saved, 1);
	else
		unsetenv("XDG_DATA_HOME");
	free(saved);
	free(xdg);
	free(path);
}

/* ---- format 1 ---- */

static void
test_format1(void)
{
	char *src = test_data_path("vcard-v1/card-v1.vcard"), *path = path_of("v1.card");
	char *key = path_of("v1.key"), *seal = spec_of("keyfile", key);
	EVP_PKEY *rsa = load_pem("vcard-v1/rsa.pem", true), *ec = load_pem("vcard-v1/ec.pem", true);
	EVP_PKEY *gen = load_pem("vcard-v1/ec-gen.pub", false);
	struct vcard_info info;
	struct vcard *vc;
	struct rapdu r;
	uint8_t krsa, kec, kgen;

	CU_ASSERT_FATAL(rsa && ec && gen);
	copy_file(src, path);
	/* the fixture is what the old code wrote: admin key in clear */
	CU_ASSERT(test_file_has(path, v1_admin, sizeof(v1_admin)));
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.format_version, 1);
	CU_ASSERT(!info.sealed);
	CU_ASSERT_STRING_EQUAL(info.seal, "none");
	CU_ASSERT_EQUAL(vcard_seal_check(vc), MDP_OK);
	krsa = kid_of(vc, rsa, NULL);
	kec = kid_of(vc, ec, "P-256");
	kgen = kid_of(vc, gen, "P-256");
	CU_ASSERT(krsa && kec && kgen);
	/* it keeps working: login (a save), signatures, and it stays format 1 */
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x9000);
	CU_ASSERT(rsa_signs(vc, krsa, 0x57, rsa));
	CU_ASSERT(ec_signs(vc, kec, ec));
	vcard_free(vc);
	CU_ASSERT_EQUAL(file_format(path), 1);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(gids_admin_auth(vc, v1_admin, 0xC1), 0x9000);
	vcard_free(vc);

	/* reseal: format 2, nothing in the file, nothing lost */
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vcard_reseal(vc, seal), MDP_OK);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.format_version, 2);
	CU_ASSERT(info.sealed);
	vcard_free(vc);
	CU_ASSERT_EQUAL(file_format(path), 2);
	CU_ASSERT(!test_file_has(path, v1_admin, sizeof(v1_admin)));
	CU_ASSERT(!test_file_has(path, (const uint8_t *)"123456", 6));
	check_no_private_part(path, rsa);
	check_no_private_part(path, ec);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x9000);
	CU_ASSERT(rsa_signs(vc, krsa, 0x57, rsa));
	CU_ASSERT(ec_signs(vc, kec, ec));
	CU_ASSERT(ec_signs(vc, kgen, gen));
	vcard_free(vc);
	/* the admin key is the same: block the PIN, unblock it, the keys still open */
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(tx(vc, "0020008006393939393939", &r), 0x63C2);
	CU_ASSERT_EQUAL(tx(vc, "0020008006393939393939", &r), 0x63C1);
	CU_ASSERT_EQUAL(tx(vc, "0020008006393939393939", &r), 0x63C0);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x6983);
	CU_ASSERT_EQUAL(gids_admin_auth(vc, v1_admin, 0xC1), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "002C0280083837363534333231", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00200080083837363534333231", &r), 0x9000);
	CU_ASSERT(rsa_signs(vc, krsa, 0x57, rsa));
	vcard_free(vc);
	/* and reseal again, to another key file: the old one is no longer needed */
	{
		char *key2 = path_of("v1b.key"), *seal2 = spec_of("keyfile", key2);

		vc = open_card(path, NULL);
		CU_ASSERT_EQUAL(vcard_reseal(vc, seal2), MDP_OK);
		vcard_free(vc);
		CU_ASSERT_EQUAL(unlink(key), 0);
		vc = open_card(path, NULL);
		CU_ASSERT_EQUAL(tx(vc, "00200080083837363534333231", &r), 0x9000);
		CU_ASSERT(ec_signs(vc, kgen, gen));
		/* a reseal needs the current seal */
		CU_ASSERT_EQUAL(unlink(key2), 0);
		vcard_free(vc);
		vc = open_card(path, NULL);
		CU_ASSERT_EQUAL(vcard_reseal(vc, seal), MDP_ERR_SEAL);
		CU_ASSERT_EQUAL(vcard_reseal(vc, "nonsense"), MDP_ERR_SEAL);
		vcard_free(vc);
		CU_ASSERT(access(key, F_OK) != 0); /* nothing made for the failed reseal */
		free(key2);
		free(seal2);
	}
	/* an in-memory card has no seal to change */
	{
		struct vcard_init_params mp = {.pin = PIN, .admin_key = admin_key};

		CU_ASSERT_EQUAL(vcard_open(NULL, &mp, &vc), MDP_OK);
		CU_ASSERT_EQUAL(vcard_reseal(vc, seal), MDP_ERR_ARGS);
		vcard_free(vc);
	}
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(gen);
	free(src);
	free(path);
	free(key);
	free(seal);
}

/* A blank format 1 card (its card key in clear) resealed: still blank, still usable. */
static void
test_format1_blank(void)
{
	char *src = test_data_path("vcard-v1/blank-v1.vcard"), *path = path_of("blank1.card");
	char *key = path_of("blank1.key"), *seal = spec_of("keyfile", key);
	struct vcard_info info;
	struct vcard *vc;
	struct rapdu r;

	copy_file(src, path);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vcard_reseal(vc, seal), MDP_OK);
	vcard_free(vc);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(!info.initialized);
	CU_ASSERT_EQUAL(info.format_version, 2);
	/* creation state: a key made without any PIN, then the PIN set */
	CU_ASSERT_EQUAL(gids_create_key_file(vc, 0x81, 0x0C, false), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0047000008AC0680010C830181", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00240180083132333435363738", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4000C023FFF", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	vcard_free(vc);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x1C, 0x81), 0x6982);
	CU_ASSERT_EQUAL(tx(vc, "00200080083132333435363738", &r), 0x9000);
	CU_ASSERT_EQUAL(gids_mse(vc, 0xB6, 0x1C, 0x81), 0x9000);
	vcard_free(vc);
	free(src);
	free(path);
	free(key);
	free(seal);
}

/* ---- the login cache ---- */

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double
timed_verify(struct vcard *vc, const char *hex, uint16_t want)
{
	struct rapdu r;
	double t0 = now();

	CU_ASSERT_EQUAL(tx(vc, hex, &r), want);
	return now() - t0;
}

static bool
kept_pin(struct vcard *vc, const char *pin)
{
	uint8_t kdf[VC_CK_LEN];
	bool hit = vc_keep_pin_get(vc->keep, vc->keep_token, vc->st.uuid, vc->st.pin_salt,
				   vc->st.kdf_cost, (const uint8_t *)pin, strlen(pin), kdf);

	mdp_wipe(kdf, sizeof(kdf));
	return hit;
}

static void
test_login_cache(void)
{
	struct vcard_init_params p = {.pin = PIN, .admin_key = admin_key, .kdf_cost = 15};
	struct vcard *vc = NULL;
	struct vcard_info info;
	struct rapdu r;
	double first, again;
	pid_t pid;
	int status = -1;

	CU_ASSERT_EQUAL_FATAL(vcard_open(NULL, &p, &vc), MDP_OK);
	/* the handle that set the PIN keeps its KDF result; another PIN never matches it */
	CU_ASSERT(kept_pin(vc, PIN));
	CU_ASSERT(!kept_pin(vc, "246811"));
	/* a handle that has not seen the PIN yet (a new slot) keeps nothing */
	vc_keep_free(vc->keep, vc->keep_token);
	vc_keep_new(&vc->keep, &vc->keep_token);
	CU_ASSERT(!kept_pin(vc, PIN));
	first = timed_verify(vc, VERIFY_PIN, 0x9000);
	CU_ASSERT(kept_pin(vc, PIN));
	CU_ASSERT(!kept_pin(vc, "246811"));
	again = timed_verify(vc, VERIFY_PIN, 0x9000);
	printf("(scrypt 2^15: first login %.1f ms, again %.3f ms) ", first * 1e3, again * 1e3);
	CU_ASSERT(again * 10 < first);
	/* a wrong PIN is compared the slow way and spends its try */
	first = timed_verify(vc, "0020008006323436383131", 0x63C2);
	CU_ASSERT(again * 10 < first);
	CU_ASSERT(kept_pin(vc, PIN));
	CU_ASSERT(timed_verify(vc, VERIFY_PIN, 0x9000) * 10 < first);
	/* a PIN change keeps the new PIN's result, the old one no longer opens */
	CU_ASSERT_EQUAL(tx(vc, "002400800C323436383130313335373931", &r), 0x9000);
	CU_ASSERT(kept_pin(vc, "135791"));
	CU_ASSERT(!kept_pin(vc, PIN));
	CU_ASSERT(timed_verify(vc, "0020008006313335373931", 0x9000) * 10 < first);
	timed_verify(vc, VERIFY_PIN, 0x63C2);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.pin_tries_left, 2);

	/* a forked child holds nothing of its parent's kept keys */
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(kept_pin(vc, "135791") ? 1 : 0);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT(kept_pin(vc, "135791")); /* the parent's are still there */
	vcard_free(vc);
}

/* ---- the seal API the applets use ---- */

static void
test_seal_api(void)
{
	char *path = new_card("api.card", "api.key"), *key = path_of("api.key");
	char *key2 = path_of("api2.key"), *seal2 = spec_of("keyfile", key2);
	static const uint8_t value[40] = "a secret of forty bytes, for the test..";
	struct vcard *vc = open_card(path, NULL);
	struct vc_file f;
	uint8_t *out = NULL, *back = NULL, sym[VC_SYM_MAX];
	size_t ol = 0, bl = 0, sl = 0;
	struct rapdu r;

	CU_ASSERT_FATAL(vc != NULL);
	/* seal-only sealing: bound to its label */
	CU_ASSERT_EQUAL(vc_seal_data(vc, "test label", value, sizeof(value), &out, &ol), MDP_OK);
	CU_ASSERT_EQUAL(ol, sizeof(value) + VC_SEALED_OVERHEAD);
	CU_ASSERT_EQUAL(vc_unseal_data(vc, "test label", out, ol, &back, &bl), MDP_OK);
	CU_ASSERT(bl == sizeof(value) && memcmp(back, value, bl) == 0);
	mdp_secure_free(back, bl);
	back = NULL;
	CU_ASSERT_EQUAL(vc_unseal_data(vc, "other label", out, ol, &back, &bl), MDP_ERR_STATE);
	out[20] ^= 1;
	CU_ASSERT_EQUAL(vc_unseal_data(vc, "test label", out, ol, &back, &bl), MDP_ERR_STATE);
	free(out);
	/* items: saved with the state, resealed with it */
	CU_ASSERT(!vc_item_has(&vc->st, VC_ITEM('T', 'E', 'S', 'T')));
	CU_ASSERT_EQUAL(vc_item_get(vc, VC_ITEM('T', 'E', 'S', 'T'), &back, &bl),
			MDP_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(vc_item_put(vc, VC_ITEM('T', 'E', 'S', 'T'), value, sizeof(value)), MDP_OK);
	CU_ASSERT_EQUAL(vc_item_put(vc, VC_ITEM('T', 'E', 'S', 'T'), value, 10), MDP_OK);
	CU_ASSERT_EQUAL(vc_item_put(vc, VC_ITEM('G', 'O', 'N', 'E'), value, 1), MDP_OK);
	vc_item_del(&vc->st, VC_ITEM('G', 'O', 'N', 'E'));
	CU_ASSERT(!vc_item_has(&vc->st, VC_ITEM('G', 'O', 'N', 'E')));
	CU_ASSERT_EQUAL(vc_item_put(vc, 1, value, VC_MAX_ITEM_LEN), MDP_ERR_OVERFLOW);
	/* symmetric keys of key files: 1..32 bytes, sealed */
	memset(&f, 0, sizeof(f));
	f.fid = 0xB09B;
	CU_ASSERT_EQUAL(vc_sym_set(vc, &f, value, 0), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(vc_sym_set(vc, &f, value, 33), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(vc_sym_set(vc, &f, value, 16), MDP_OK);
	CU_ASSERT_EQUAL(f.sym_len, 16 + VC_SEALED_OVERHEAD);
	CU_ASSERT_EQUAL(vc_sym_get(vc, &f, sym, &sl), MDP_OK);
	CU_ASSERT(sl == 16 && memcmp(sym, value, 16) == 0);
	f.fid = 0xB09C; /* moved to another key file: does not open */
	CU_ASSERT_EQUAL(vc_sym_get(vc, &f, sym, &sl), MDP_ERR_STATE);
	mdp_secure_free(f.sym, f.sym_len);
	CU_ASSERT_EQUAL(vc_commit(vc), 0);
	vcard_free(vc);

	/* reseal: the item still opens, with the new key file only */
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vcard_reseal(vc, seal2), MDP_OK);
	vcard_free(vc);
	CU_ASSERT_EQUAL(unlink(key), 0);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vc_item_get(vc, VC_ITEM('T', 'E', 'S', 'T'), &back, &bl), MDP_OK);
	CU_ASSERT(bl == 10 && memcmp(back, value, 10) == 0);
	mdp_secure_free(back, bl);
	CU_ASSERT_EQUAL(tx(vc, VERIFY_PIN, &r), 0x9000);
	CU_ASSERT_EQUAL(gids_admin_auth(vc, admin_key, 0xC1), 0x9000);
	vcard_free(vc);
	/* without the seal: MDP_ERR_SEAL, the reason names it */
	CU_ASSERT_EQUAL(unlink(key2), 0);
	vc = open_card(path, NULL);
	CU_ASSERT_EQUAL(vc_item_get(vc, VC_ITEM('T', 'E', 'S', 'T'), &back, &bl), MDP_ERR_SEAL);
	CU_ASSERT(strstr(mdp_err_last(), "api2.key") != NULL);
	CU_ASSERT_EQUAL(vc_seal_data(vc, "x", value, 1, &out, &ol), MDP_ERR_SEAL);
	vcard_free(vc);
	/* a TPM that does not answer: the reason names it */
	{
		char *tpath = path_of("tpm.card");
		struct vcard_init_params p = {.pin = PIN,
					      .admin_key = admin_key,
					      .seal = "tpm:swtpm:host=127.0.0.1,port=9"};

		setenv("TSS2_LOG", "all+NONE", 1);
		CU_ASSERT_EQUAL(vcard_create(tpath, &p), MDP_ERR_SEAL);
		CU_ASSERT(strstr(mdp_err_last(), "TPM at swtpm:host=127.0.0.1,port=9") != NULL);
		CU_ASSERT(access(tpath, F_OK) != 0);
		free(tpath);
	}
	free(path);
	free(key);
	free(key2);
	free(seal2);
}

static CU_TestInfo seal_tests[] = {
	{"the file alone yields no secret; no seal, no secret", test_file_alone},
	{"key files: check, overrides, modes, sharing, failures", test_key_files},
	{"default key file in the data directory", test_default_keyfile},
	{"format 1: works, stays format 1, reseals without a loss", test_format1},
	{"format 1 blank card resealed", test_format1_blank},
	{"login cache: kept PIN KDF, wrong PIN, PIN change, fork", test_login_cache},
	{"seal API: seal-only data, items, symmetric keys, reseal", test_seal_api},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"seal", setup, teardown, NULL, NULL, seal_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-vcard-seal", suites);
}
