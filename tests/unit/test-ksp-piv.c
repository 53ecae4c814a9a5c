/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role (ksp/) on the PIV card module: a YubiKey-like card through the minidriver view. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "blob/blob.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/ossl.h"
#include "ksp/ksp.h"
#include "minidriver/card.h"
#include "minidriver/piv.h"
#include "tests/unit/testcrypto.h"
#include "tests/unit/testutil.h"
#include "transport/apdu.h"
#include "transport/transport.h"
#include "vcard/vcard.h"

#define PIN "123456"

static struct mdp_transport *
new_card(void)
{
	struct vcard_init_params p;
	struct mdp_transport *t = NULL;

	memset(&p, 0, sizeof(p));
	p.type = VCARD_TYPE_PIV;
	p.piv_serial = 12345678;
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(NULL, &p, &t), MDP_OK);
	return t;
}

static struct ksp_card *
open_ksp(struct mdp_transport *t)
{
	struct md_card *md = NULL;
	struct ksp_card *kc = NULL;
	struct ksp_policy pol;

	ksp_policy_default(&pol);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &md),
			      MD_OK);
	CU_ASSERT_EQUAL_FATAL(ksp_card_open(md, &pol, &kc), KSP_OK);
	return kc;
}

static void
test_token(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t);
	struct ksp_token_info ti;
	const struct ksp_container *list = NULL;
	size_t n = 9;

	CU_ASSERT_EQUAL(ksp_token_info(kc, &ti), KSP_OK);
	CU_ASSERT_STRING_EQUAL(ti.card_name, "PIV");
	/* the YubiKey serial number (GET SERIAL), 12345678 = 00BC614E */
	CU_ASSERT_STRING_EQUAL(ti.serial, "00bc614e");
	CU_ASSERT_EQUAL(ti.max_containers, 24u);
	CU_ASSERT_TRUE(ti.keygen);
	CU_ASSERT_FALSE(ti.read_only);
	CU_ASSERT_TRUE(ti.sizes[MDP_AT_KEYEXCHANGE].supported);
	CU_ASSERT_EQUAL(ti.sizes[MDP_AT_KEYEXCHANGE].max_bits, 2048u);
	CU_ASSERT_TRUE(ti.sizes[MDP_AT_ECDHE_P384].supported);
	CU_ASSERT_FALSE(ti.sizes[MDP_AT_ECDSA_P521].supported);
	CU_ASSERT_EQUAL(ksp_card_containers(kc, &list, &n), KSP_OK);
	CU_ASSERT_EQUAL(n, 0u);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_keys(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t);
	struct ksp_new_key req = {.spec = MDP_AT_KEYEXCHANGE,
				  .bits = 2048,
				  .index = -1,
				  .id = (const uint8_t *)"\x01",
				  .id_len = 1,
				  .label = "mine"};
	struct ksp_padding pad = {.type = KSP_PAD_PKCS1, .hash = MDP_HASH_SHA256};
	const struct ksp_container *c = NULL;
	uint8_t idx = 99, hash[32], sig[256], *der = NULL;
	size_t sl = sizeof(sig), dl = 0;
	enum ksp_slot slot;
	EVP_PKEY_CTX *v;

	CU_ASSERT_EQUAL_FATAL(ksp_login_user(kc, (const uint8_t *)PIN, 6), KSP_OK);
	CU_ASSERT_EQUAL_FATAL(ksp_generate(kc, &req, &idx), KSP_OK);
	CU_ASSERT_EQUAL(idx, 0);
	CU_ASSERT_EQUAL_FATAL(ksp_card_container(kc, 0, &c), KSP_OK);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_EXCHANGE].bits, 2048u);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_EXCHANGE].origin, KSP_ORIGIN_GENERATED);
	/* a signature checked with OpenSSL */
	EVP_Digest("m", 1, hash, NULL, EVP_sha256(), NULL);
	CU_ASSERT_EQUAL_FATAL(ksp_sign(kc, 0, KSP_SLOT_EXCHANGE, &pad, hash, 32, sig, &sl), KSP_OK);
	v = EVP_PKEY_CTX_new(mdp_key_pkey(c->slot[KSP_SLOT_EXCHANGE].pub), NULL);
	CU_ASSERT(v && EVP_PKEY_verify_init(v) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PADDING) == 1 &&
		  EVP_PKEY_CTX_set_signature_md(v, EVP_sha256()) == 1 &&
		  EVP_PKEY_verify(v, sig, sl, hash, 32) == 1);
	EVP_PKEY_CTX_free(v);
	/* a certificate, then a second process sees id, label, certificate */
	der = tc_cert_for(mdp_key_pkey(c->slot[KSP_SLOT_EXCHANGE].pub), "Alice", &dl);
	CU_ASSERT_EQUAL(ksp_write_certificate(kc, 0, KSP_SLOT_EXCHANGE, der, dl, NULL), KSP_OK);
	{
		struct ksp_card *k2 = open_ksp(t);
		const struct ksp_container *c2 = NULL;

		CU_ASSERT_EQUAL_FATAL(ksp_card_container(k2, 0, &c2), KSP_OK);
		CU_ASSERT_EQUAL(c2->slot[KSP_SLOT_EXCHANGE].id_len, 1u);
		CU_ASSERT_EQUAL(c2->slot[KSP_SLOT_EXCHANGE].id[0], 0x01);
		CU_ASSERT_STRING_EQUAL(c2->slot[KSP_SLOT_EXCHANGE].label, "mine");
		CU_ASSERT_EQUAL(c2->slot[KSP_SLOT_EXCHANGE].cert_len, dl);
		CU_ASSERT_EQUAL(ksp_find_key_by_id(k2, (const uint8_t *)"\x01", 1, &idx, &slot),
				KSP_OK);
		ksp_card_free(k2);
	}
	OPENSSL_free(der);
	/* an EC key imported from a BCRYPT blob's key, then deleted */
	{
		EVP_PKEY *ek = mdp_pkey_keygen_ec("P-256");
		struct mdp_key *mk = NULL;
		struct ksp_new_key r2 = {.spec = MDP_AT_ECDSA_P256, .index = -1, .name = "ec key"};

		CU_ASSERT_EQUAL(mdp_key_from_pkey(ek, MDP_AT_ECDSA_P256, &mk), MDP_OK);
		CU_ASSERT_EQUAL(ksp_import(kc, mk, &r2, &idx), KSP_OK);
		CU_ASSERT_EQUAL(idx, 1);
		CU_ASSERT_EQUAL_FATAL(ksp_card_container(kc, 1, &c), KSP_OK);
		CU_ASSERT_EQUAL(EVP_PKEY_eq(mdp_key_pkey(c->slot[KSP_SLOT_SIGNATURE].pub), ek), 1);
		CU_ASSERT_STRING_EQUAL(c->name, "ec key");
		CU_ASSERT_EQUAL(ksp_delete_key(kc, 1, KSP_SLOT_SIGNATURE), KSP_OK);
		CU_ASSERT_NOT_EQUAL(ksp_card_container(kc, 1, &c), KSP_OK);
		mdp_key_free(mk);
		EVP_PKEY_free(ek);
	}
	ksp_card_free(kc);
	/* the card as another tool sees it: two records, one zeroed, in Windows' form */
	{
		struct mdp_buf q, r;
		struct mdp_apdu a = {.ins = 0xCB, .p1 = 0x3F, .p2 = 0xFF, .le = 256};
		struct mdp_cursor val;
		struct piv_cmap_rec *recs = NULL;
		size_t cnt = 0;
		bool wide = true;
		uint16_t sw = 0;

		buf_init(&q);
		buf_init(&r);
		piv_get_data_field(&q, PIV_OBJ_MSCMAP);
		a.data = q.data;
		a.lc = q.len;
		CU_ASSERT_EQUAL(mdp_apdu_exchange(t, &a, &r, &sw), MDP_OK);
		CU_ASSERT_EQUAL(sw, 0x9000);
		CU_ASSERT_EQUAL(piv_object_value(r.data, r.len, 0x53, &val), MDP_OK);
		CU_ASSERT_EQUAL(
			piv_mscmap_parse(val.p + val.pos, cur_left(&val), &recs, &cnt, &wide),
			MDP_OK);
		CU_ASSERT_EQUAL(cnt, 1u);
		if (recs)
			CU_ASSERT_EQUAL(recs[0].slot, 0x9A);
		free(recs);
		buf_free(&q);
		buf_free(&r);
	}
	mdp_transport_free(t);
}

static void
test_data_objects(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t);
	struct ksp_data_new d = {.application = "app",
				 .label = "note",
				 .value = (const uint8_t *)"hello",
				 .value_len = 5};
	const struct ksp_data_object *list = NULL;
	size_t n = 0;
	unsigned num = 0;

	CU_ASSERT_EQUAL_FATAL(ksp_login_user(kc, (const uint8_t *)PIN, 6), KSP_OK);
	CU_ASSERT_EQUAL(ksp_data_create(kc, &d, &num), KSP_OK);
	d.is_private = true;
	CU_ASSERT_EQUAL(ksp_data_create(kc, &d, &num), KSP_E_UNSUPPORTED);
	ksp_card_free(kc);
	kc = open_ksp(t);
	CU_ASSERT_EQUAL(ksp_data_objects(kc, &list, &n), KSP_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1u);
	CU_ASSERT_STRING_EQUAL(list[0].label, "note");
	CU_ASSERT_EQUAL(list[0].value_len, 5u);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_warm_open(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t);
	struct ksp_new_key req = {.spec = MDP_AT_ECDSA_P256, .index = -1};
	unsigned long before;
	uint8_t idx;
	bool changed = true;

	CU_ASSERT_EQUAL_FATAL(ksp_login_user(kc, (const uint8_t *)PIN, 6), KSP_OK);
	CU_ASSERT_EQUAL_FATAL(ksp_generate(kc, &req, &idx), KSP_OK);
	/* nothing changed behind the host: a refresh costs no APDU */
	before = mdp_transport_apdu_count(t);
	CU_ASSERT_EQUAL(ksp_card_refresh(kc, &changed), KSP_OK);
	CU_ASSERT_FALSE(changed);
	CU_ASSERT_EQUAL(mdp_transport_apdu_count(t), before);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static CU_TestInfo tests[] = {
	{"token facts of a PIV card", test_token},
	{"keys, ids, certificates, import, delete", test_keys},
	{"data objects", test_data_objects},
	{"refresh without change", test_warm_open},
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	CU_SuiteInfo suites[] = {
		{"ksp on PIV", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	mdp_log_init_env();
	return test_run("test-ksp-piv", suites);
}
