/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the host role's entry to cards (ksp/ksp-link.c) and its signing lanes (ksp-crypto.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "blob/blob.h"
#include "common/conf.h"
#include "common/error.h"
#include "ksp/ksp.h"
#include "minidriver/card.h"
#include "vcard/vcard.h"
#include "tests/unit/testutil.h"

#define PIN "123456"

static const uint8_t admin_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
				      5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

static char *dir;
static char card_path[512];

static int
suite_init(void)
{
	struct vcard_init_params p;

	dir = test_tmpdir();
	if (!dir)
		return 1;
	snprintf(card_path, sizeof(card_path), "%s/card.vcard", dir);
	memset(&p, 0, sizeof(p));
	p.pin = PIN;
	p.admin_key = admin_key;
	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	return vcard_create(card_path, &p) == MDP_OK ? 0 : 1;
}

static int
suite_clean(void)
{
	test_rmtree(dir);
	free(dir);
	return 0;
}

static void
test_names(void)
{
	CU_ASSERT_STRING_EQUAL(ksp_rv_name(KSP_OK), "KSP_OK");
	CU_ASSERT_STRING_EQUAL(ksp_rv_name(KSP_E_NO_CARD), "KSP_E_NO_CARD");
	CU_ASSERT_STRING_EQUAL(ksp_rv_name((enum ksp_rv)999), "KSP_E_UNKNOWN");
	/* one table from the card modules' codes */
	CU_ASSERT_EQUAL(ksp_rv_from_md(MD_OK), KSP_OK);
	CU_ASSERT_EQUAL(ksp_rv_from_md(MD_W_WRONG_CHV), KSP_E_PIN_INCORRECT);
	CU_ASSERT_EQUAL(ksp_rv_from_md(MD_W_CHV_BLOCKED), KSP_E_PIN_BLOCKED);
	CU_ASSERT_EQUAL(ksp_rv_from_md(MD_E_NO_SMARTCARD), KSP_E_CARD_REMOVED);
	CU_ASSERT_EQUAL(ksp_rv_from_md(MD_W_RESET_CARD), KSP_E_CARD_RESET);
	CU_ASSERT_EQUAL(ksp_rv_from_md(MD_E_NO_ACCESS), KSP_E_NO_ACCESS);
	CU_ASSERT_EQUAL(ksp_rv_from_md(MD_E_WRITE_TOO_MANY), KSP_E_NO_ROOM);
	CU_ASSERT_EQUAL(ksp_rv_from_md(MD_E_NO_SERVICE), KSP_E_NO_SERVICE);
	CU_ASSERT_EQUAL(ksp_rv_from_md(MD_E_UNEXPECTED), KSP_E_FAILED);
	CU_ASSERT_EQUAL(ksp_rv_from_md((enum md_rv)0x12345678u), KSP_E_FAILED);
}

static void
test_host(void)
{
	struct ksp_host *h = NULL;
	struct mdp_config *cfg = NULL;
	static const char bad[] = "[card_module \"x\"]\natr = zz\nmodule = gids\n";

	CU_ASSERT_EQUAL(ksp_host_new(NULL, NULL, &h), KSP_OK);
	ksp_host_free(h);
	ksp_host_free(NULL);
	CU_ASSERT_EQUAL(ksp_host_new(NULL, NULL, NULL), KSP_E_INVALID_ARG);
	/* a bad [card_module] entry is refused with a reason */
	CU_ASSERT_EQUAL_FATAL(mdp_config_parse(bad, strlen(bad), "test.conf", &cfg), MDP_OK);
	h = NULL;
	mdp_err_clear();
	CU_ASSERT_EQUAL(ksp_host_new(cfg, NULL, &h), KSP_E_INVALID_ARG);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_TRUE(mdp_err_has_reason());
	mdp_config_free(cfg);
}

static void
test_links(void)
{
	struct ksp_link *l = NULL;
	char what[48], path[600];
	bool present = false, changed = true;
	FILE *f;

	/* a missing card file, a file that is not a card */
	snprintf(path, sizeof(path), "%s/missing.vcard", dir);
	CU_ASSERT_EQUAL(ksp_link_open_vcard(path, NULL, &l, what, sizeof(what)), KSP_E_NO_CARD);
	CU_ASSERT_STRING_EQUAL(what, "no card file");
	CU_ASSERT_PTR_NULL(l);
	snprintf(path, sizeof(path), "%s/garbage.vcard", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("not a card at all\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(ksp_link_open_vcard(path, NULL, &l, what, sizeof(what)), KSP_E_DEVICE);
	CU_ASSERT_STRING_EQUAL(what, "not a card file");
	/* the card file */
	CU_ASSERT_EQUAL_FATAL(ksp_link_open_vcard(card_path, NULL, &l, what, sizeof(what)), KSP_OK);
	CU_ASSERT_STRING_EQUAL(what, "");
	CU_ASSERT_EQUAL(ksp_link_status(l, &present, &changed), KSP_OK);
	CU_ASSERT_TRUE(present);
	CU_ASSERT_EQUAL(ksp_link_status(NULL, &present, &changed), KSP_E_INVALID_ARG);
	ksp_link_free(l);
	ksp_link_free(NULL);
	CU_ASSERT_EQUAL(ksp_link_open_vcard(NULL, NULL, &l, NULL, 0), KSP_E_INVALID_ARG);
	CU_ASSERT_EQUAL(ksp_link_open_reader(NULL, &l, NULL, 0), KSP_E_INVALID_ARG);
}

/* PC/SC: whatever the machine has (no pcscd in most test runs): a clear answer either way. */
static void
test_readers(void)
{
	char **names = NULL;
	size_t n = 99;
	enum ksp_rv rv = ksp_readers(&names, &n);
	struct ksp_monitor *m = NULL;

	CU_ASSERT(rv == KSP_OK || rv == KSP_E_NO_SERVICE);
	if (rv != KSP_OK)
		CU_ASSERT_EQUAL(n, 0);
	ksp_readers_free(names, n);
	CU_ASSERT_EQUAL(ksp_readers(NULL, &n), KSP_E_INVALID_ARG);
	rv = ksp_monitor_new(&m);
	CU_ASSERT(rv == KSP_OK || rv == KSP_E_NO_SERVICE);
	if (rv == KSP_OK) {
		struct ksp_event ev;
		bool changed = true;

		ksp_monitor_cancel(m);
		CU_ASSERT(ksp_monitor_wait(m, 0, &changed, &ev) == KSP_OK ||
			  ksp_monitor_wait(m, 0, &changed, &ev) == KSP_E_NO_SERVICE);
		ksp_monitor_free(m);
	}
	CU_ASSERT_EQUAL(ksp_monitor_wait(NULL, 0, NULL, NULL), KSP_E_INVALID_ARG);
	ksp_monitor_free(NULL);
}

/* Attach, sign on lanes, and lanes are kept only for the card and view they came from. */
static void
test_attach_and_lanes(void)
{
	struct ksp_host *h = NULL;
	struct ksp_link *l = NULL;
	struct ksp_card *kc = NULL;
	struct ksp_lane *a, *b;
	struct ksp_new_key req;
	struct ksp_padding pad = {.type = KSP_PAD_NONE};
	const struct ksp_container *c = NULL;
	uint8_t idx = 0, digest[32], sig[64];
	size_t sl = sizeof(sig);
	unsigned long before;
	EVP_PKEY_CTX *v;

	CU_ASSERT_EQUAL_FATAL(ksp_host_new(NULL, NULL, &h), KSP_OK);
	CU_ASSERT_EQUAL_FATAL(ksp_link_open_vcard(card_path, NULL, &l, NULL, 0), KSP_OK);
	CU_ASSERT_EQUAL_FATAL(ksp_card_attach(h, l, &kc), KSP_OK);
	CU_ASSERT_STRING_EQUAL(ksp_card_module_name(kc), "GIDS");
	CU_ASSERT_EQUAL_FATAL(ksp_login_user(kc, (const uint8_t *)PIN, 6), KSP_OK);
	memset(&req, 0, sizeof(req));
	req.spec = MDP_AT_ECDSA_P256;
	req.index = -1;
	CU_ASSERT_EQUAL_FATAL(ksp_generate(kc, &req, &idx), KSP_OK);
	CU_ASSERT_EQUAL_FATAL(ksp_card_container(kc, idx, &c), KSP_OK);

	/* a lane signs like ksp_sign; OpenSSL checks the signature */
	memset(digest, 0x5A, sizeof(digest));
	a = ksp_lane_take(kc, idx, KSP_SLOT_SIGNATURE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	b = ksp_lane_take(kc, idx, KSP_SLOT_SIGNATURE); /* a second one, on another channel */
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL_FATAL(ksp_lane_sign(a, &pad, digest, 32, sig, &sl), KSP_OK);
	CU_ASSERT_EQUAL(sl, 64);
	{
		ECDSA_SIG *es = ECDSA_SIG_new();
		uint8_t *der = NULL;
		int dl;

		ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
		dl = i2d_ECDSA_SIG(es, &der);
		v = EVP_PKEY_CTX_new(mdp_key_pkey(c->slot[KSP_SLOT_SIGNATURE].pub), NULL);
		CU_ASSERT_EQUAL(EVP_PKEY_verify_init(v), 1);
		CU_ASSERT_EQUAL(EVP_PKEY_verify(v, der, (size_t)dl, digest, 32), 1);
		EVP_PKEY_CTX_free(v);
		OPENSSL_free(der);
		ECDSA_SIG_free(es);
	}
	/* given back, a lane is taken again (no new channel: no MANAGE CHANNEL, no SELECT) */
	ksp_lane_put(kc, b, true);
	ksp_lane_put(kc, a, true); /* the last one given back is taken first */
	before = ksp_link_apdus(l, kc);
	a = ksp_lane_take(kc, idx, KSP_SLOT_SIGNATURE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(ksp_lane_sign(a, &pad, digest, 32, sig, &sl), KSP_OK);
	ksp_lane_put(kc, a, true);
	/* the lane that signed before: its channel's count is in; the PSO alone (its security
	 * environment is still set) */
	CU_ASSERT_EQUAL(ksp_link_apdus(l, kc) - before, 1);
	/* a lane given back to another card (the card went away meanwhile) is freed */
	a = ksp_lane_take(kc, idx, KSP_SLOT_SIGNATURE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	ksp_lane_put(NULL, a, true);
	/* no key there: no lane */
	CU_ASSERT_PTR_NULL(ksp_lane_take(kc, 99, KSP_SLOT_SIGNATURE));
	CU_ASSERT_EQUAL(ksp_lane_sign(NULL, &pad, digest, 32, sig, &sl), KSP_E_INVALID_ARG);
	ksp_lane_put(kc, NULL, true);

	CU_ASSERT_EQUAL(ksp_delete_key(kc, idx, KSP_SLOT_SIGNATURE), KSP_OK);
	ksp_card_free(kc);
	ksp_link_free(l);
	ksp_host_free(h);
}

static CU_TestInfo tests[] = {
	{"names and the one table from md_rv", test_names},
	{"host: card modules from the configuration", test_host},
	{"links to card files", test_links},
	{"PC/SC readers and events", test_readers},
	{"attach a card, sign on lanes", test_attach_and_lanes},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"ksp-link", suite_init, suite_clean, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-ksp-link", suites);
}
