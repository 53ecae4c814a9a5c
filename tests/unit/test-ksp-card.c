/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the host role (ksp/ksp.c) against the embedded virtual GIDS card. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "blob/blob.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/card.h"
#include "ksp/ksp-int.h"
#include "ksp/ksp.h"
#include "transport/apdu.h"
#include "transport/transport.h"
#include "vcard/vcard.h"
#include "tests/unit/testutil.h"

/* ---- against the embedded virtual card ---- */

static const uint8_t admin_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
				      5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t serial[16] = {0xC0, 0xFF, 0xEE, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
#define PIN "123456"
#define PINLEN 6

static struct vcard_init_params
card_params(void)
{
	struct vcard_init_params p;

	memset(&p, 0, sizeof(p));
	p.pin = PIN;
	p.admin_key = admin_key;
	p.serial = serial;
	p.serial_len = sizeof(serial);
	p.pin_tries = 3;
	return p;
}

/* A fresh in-memory card behind the embedded transport. */
static struct mdp_transport *
new_card(void)
{
	struct vcard_init_params p = card_params();
	struct mdp_transport *t = NULL;

	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(NULL, &p, &t), MDP_OK);
	return t;
}

static struct ksp_card *
open_ksp(struct mdp_transport *t, const struct ksp_policy *pol)
{
	struct md_card *md = NULL;
	struct ksp_card *kc = NULL;
	struct ksp_policy def;

	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &md),
			      MD_OK);
	if (!pol) {
		ksp_policy_default(&def);
		pol = &def;
	}
	CU_ASSERT_EQUAL_FATAL(ksp_card_open(md, pol, &kc), KSP_OK);
	return kc;
}

static void
login(struct ksp_card *kc)
{
	CU_ASSERT_EQUAL_FATAL(ksp_login_user(kc, (const uint8_t *)PIN, PINLEN), KSP_OK);
}

/* A whole file as the card module reads it (through the key's own context). */
static uint8_t *
raw_file(struct ksp_card *kc, const char *dir, const char *name, size_t *len)
{
	uint8_t *p = NULL;

	*len = 0;
	if (md_read_file(ksp_card_md(kc), dir, name, 0, &p, len) != MD_OK)
		return NULL;
	return p;
}

static void
raw_cardcf(struct ksp_card *kc, uint8_t cf[6])
{
	size_t len = 0;
	uint8_t *p = raw_file(kc, NULL, "cardcf", &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(len, 6); /* OpenSC needs exactly 6 bytes (spec/gids.md §5.4) */
	memcpy(cf, p, 6);
	free(p);
}

/* A GIDS DO read with GET DATA (spec/gids.md §6): keymap A000/DF20, masterfile A000/DF1F. */
static uint8_t *
raw_do(struct mdp_transport *t, uint16_t fid, uint16_t tag, size_t *len)
{
	uint8_t req[4] = {0x5C, 0x02, (uint8_t)(tag >> 8), (uint8_t)tag};
	struct mdp_apdu a = {0x00, 0xCB, (uint8_t)(fid >> 8), (uint8_t)fid, req, 4, 256, false};
	struct mdp_buf b;
	struct mdp_cursor c, v;
	uint32_t got = 0;
	uint16_t sw = 0;
	uint8_t *out = NULL;

	buf_init(&b);
	if (mdp_apdu_exchange(t, &a, &b, &sw) == MDP_OK && sw == 0x9000) {
		cur_init(&c, b.data, b.len);
		if (tlv_read(&c, &got, &v) == MDP_OK && got == tag) {
			*len = cur_left(&v);
			out = mdp_memdup(v.p + v.pos, *len);
		}
	}
	buf_free(&b);
	return out;
}

static const struct ksp_container *
cont(struct ksp_card *kc, uint8_t index)
{
	const struct ksp_container *c = NULL;

	if (ksp_card_container(kc, index, &c) != KSP_OK)
		return NULL;
	return c;
}

static enum ksp_rv
gen(struct ksp_card *kc, enum mdp_key_spec spec, unsigned bits, const char *name, const char *id,
    uint8_t *index)
{
	struct ksp_new_key req;

	memset(&req, 0, sizeof(req));
	req.spec = spec;
	req.bits = bits;
	req.index = -1;
	req.name = name;
	req.id = (const uint8_t *)id;
	req.id_len = id ? strlen(id) : 0;
	return ksp_generate(kc, &req, index);
}

#define KSP_ASSERT_RV(expr, want) CU_ASSERT_EQUAL((uint32_t)(expr), (uint32_t)(want))

static void
test_open_fresh_card(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	const struct ksp_container *list = NULL;
	struct ksp_token_info ti;
	struct ksp_pin_info pi;
	size_t n = 99;

	CU_ASSERT_EQUAL(ksp_card_containers(kc, &list, &n), KSP_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(ksp_token_info(kc, &ti), KSP_OK);
	CU_ASSERT_MEM_EQUAL(ti.cardid, serial, 16);
	CU_ASSERT_EQUAL(strlen(ti.serial), 16);
	CU_ASSERT_STRING_EQUAL(ti.card_name, md_card_name(ksp_card_md(kc)));
	CU_ASSERT_TRUE(ti.sizes[MDP_AT_KEYEXCHANGE].supported);
	CU_ASSERT_EQUAL(ti.sizes[MDP_AT_KEYEXCHANGE].min_bits, 1024);
	CU_ASSERT_EQUAL(ti.sizes[MDP_AT_KEYEXCHANGE].max_bits, 4096);
	CU_ASSERT_EQUAL(ti.sizes[MDP_AT_KEYEXCHANGE].default_bits, 2048);
	CU_ASSERT_EQUAL(ti.sizes[MDP_AT_ECDSA_P384].min_bits, 384);
	CU_ASSERT_TRUE(ti.keygen);
	CU_ASSERT_FALSE(ti.read_only);
	CU_ASSERT_EQUAL(ksp_pin_info(kc, &pi), KSP_OK);
	CU_ASSERT_FALSE(pi.user_logged_in);
	CU_ASSERT_TRUE(pi.admin_challenge);
	CU_ASSERT_STRING_EQUAL(ksp_rv_name(KSP_E_EXISTS), "KSP_E_EXISTS");
	CU_ASSERT_STRING_EQUAL(ksp_rv_name(KSP_E_PIN_INCORRECT), "KSP_E_PIN_INCORRECT");
	CU_ASSERT_EQUAL(ksp_slot_of(MDP_AT_ECDSA_P256), KSP_SLOT_SIGNATURE);
	CU_ASSERT_EQUAL(ksp_slot_of(MDP_AT_ECDHE_P256), KSP_SLOT_EXCHANGE);
	CU_ASSERT_EQUAL(ksp_slot_of(MDP_AT_KEYEXCHANGE), KSP_SLOT_EXCHANGE);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

/* The masterfile records as (dir, file, DO, FID) in order (spec/gids.md §5.1). */
struct mf_rec {
	char dir[10], file[10];
	uint32_t tag, fid;
};

static size_t
parse_masterfile(const uint8_t *p, size_t len, struct mf_rec *out, size_t cap)
{
	size_t n = 0, off;

	CU_ASSERT_TRUE(len >= 1 && p[0] == 0x01);
	CU_ASSERT_EQUAL((len - 1) % 28, 0);
	for (off = 1; off + 28 <= len && n < cap; off += 28, n++) {
		memcpy(out[n].dir, p + off, 9);
		out[n].dir[9] = '\0';
		memcpy(out[n].file, p + off + 9, 9);
		out[n].file[9] = '\0';
		CU_ASSERT_EQUAL(p[off + 18], 0);
		CU_ASSERT_EQUAL(p[off + 19], 0);
		out[n].tag = (uint32_t)(p[off + 20] | p[off + 21] << 8 | p[off + 22] << 16 |
					(uint32_t)p[off + 23] << 24);
		out[n].fid = (uint32_t)(p[off + 24] | p[off + 25] << 8 | p[off + 26] << 16 |
					(uint32_t)p[off + 27] << 24);
	}
	return n;
}

static void
test_generate_layout(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	const struct ksp_container *c;
	uint8_t idx = 0xff, want[KSP_CMAP_RECORD], *p;
	uint8_t u[KSP_CMAP_NAME_BYTES];
	size_t len = 0;
	struct mf_rec mf[32];
	size_t nmf, i;
	static const uint8_t km_want[] = {
		0x01, 0x01, 0x00, 0x00, 0x00, 0x07, 0x9A, 0x81, 0xB0, 0xFF, 0xFF, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x06, 0x9C, 0x82, 0xB0, 0xFF, 0xFF, 0x00, 0x00,
	};

	unsigned long g0 = ksp_card_generation(kc);

	login(kc);
	/* 1: no name, no id -> a GUID, default container (first on the card) */
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_KEYEXCHANGE, 2048, NULL, NULL, &idx), KSP_OK);
	CU_ASSERT_TRUE(ksp_card_generation(kc) > g0);
	CU_ASSERT_EQUAL(idx, 0);
	c = cont(kc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(strnlen(c->name, sizeof(c->name)), 38);
	CU_ASSERT_EQUAL(c->name[0], '{');
	CU_ASSERT_TRUE(c->is_default);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_EXCHANGE].spec, MDP_AT_KEYEXCHANGE);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_EXCHANGE].bits, 2048);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_SIGNATURE].spec, MDP_AT_NONE);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_EXCHANGE].origin, KSP_ORIGIN_GENERATED);
	/* default CKA_ID = the container name (spec/minidriver.md §10.2) */
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_EXCHANGE].id_len, 38);
	CU_ASSERT_MEM_EQUAL(c->slot[KSP_SLOT_EXCHANGE].id, c->name, 38);
	CU_ASSERT_STRING_EQUAL(c->slot[KSP_SLOT_EXCHANGE].label, c->name);

	/* 2: a chosen valid name, signature key */
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_SIGNATURE, 1024, "sig key", NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(idx, 1);
	c = cont(kc, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->name, "sig key");
	CU_ASSERT_FALSE(c->is_default);

	/* cmapfile byte for byte (spec/gids.md §5.5) */
	p = raw_file(kc, "mscp", "cmapfile", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(len, 2 * KSP_CMAP_RECORD);
	memset(want, 0, sizeof(want));
	CU_ASSERT_TRUE(ksp_name_to_utf16(cont(kc, 0)->name, 38, u));
	memcpy(want, u, sizeof(u));
	want[80] = 0x03;
	want[84] = 0x00;
	want[85] = 0x08;
	CU_ASSERT_MEM_EQUAL(p, want, KSP_CMAP_RECORD);
	memset(want, 0, sizeof(want));
	CU_ASSERT_TRUE(ksp_name_to_utf16("sig key", 7, u));
	memcpy(want, u, sizeof(u));
	want[80] = 0x01;
	want[82] = 0x00;
	want[83] = 0x04;
	if (len == 2 * KSP_CMAP_RECORD)
		CU_ASSERT_MEM_EQUAL(p + KSP_CMAP_RECORD, want, KSP_CMAP_RECORD);
	free(p);

	/* keymap (spec/gids.md §5.6): one record per cmapfile record */
	p = raw_do(t, 0xA000, 0xDF20, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(len, sizeof(km_want));
	if (len == sizeof(km_want))
		CU_ASSERT_MEM_EQUAL(p, km_want, len);
	free(p);

	/* masterfile (spec/gids.md §5.1): the five initial records, then what we created */
	p = raw_do(t, 0xA000, 0xDF1F, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	nmf = parse_masterfile(p, len, mf, 32);
	CU_ASSERT_TRUE(nmf >= 5);
	if (nmf >= 5) {
		CU_ASSERT_STRING_EQUAL(mf[0].dir, "mscp");
		CU_ASSERT_STRING_EQUAL(mf[0].file, "");
		CU_ASSERT_EQUAL(mf[0].tag, 0);
		CU_ASSERT_EQUAL(mf[0].fid, 0xA000);
		CU_ASSERT_STRING_EQUAL(mf[1].file, "cardid");
		CU_ASSERT_EQUAL(mf[1].tag, 0xDF20);
		CU_ASSERT_EQUAL(mf[1].fid, 0xA012);
		CU_ASSERT_STRING_EQUAL(mf[2].file, "cardapps");
		CU_ASSERT_EQUAL(mf[2].tag, 0xDF21);
		CU_ASSERT_STRING_EQUAL(mf[3].file, "cardcf");
		CU_ASSERT_EQUAL(mf[3].tag, 0xDF22);
		CU_ASSERT_STRING_EQUAL(mf[4].dir, "mscp");
		CU_ASSERT_STRING_EQUAL(mf[4].file, "cmapfile");
		CU_ASSERT_EQUAL(mf[4].tag, 0xDF23);
		CU_ASSERT_EQUAL(mf[4].fid, 0xA010);
	}
	/* mdp11's directory and its keyattr file come next; no DO is used twice in an EF */
	CU_ASSERT_TRUE(nmf >= 7);
	if (nmf >= 7) {
		CU_ASSERT_STRING_EQUAL(mf[5].dir, "mdp11");
		CU_ASSERT_STRING_EQUAL(mf[5].file, "");
		CU_ASSERT_EQUAL(mf[5].tag, 0);
		CU_ASSERT_STRING_EQUAL(mf[6].dir, "mdp11");
		CU_ASSERT_STRING_EQUAL(mf[6].file, "keyattr");
		CU_ASSERT_EQUAL(mf[6].tag, 0xDF24);
	}
	for (i = 0; i < nmf; i++)
		for (size_t j = i + 1; j < nmf; j++)
			if (mf[i].tag)
				CU_ASSERT_FALSE(mf[i].tag == mf[j].tag && mf[i].fid == mf[j].fid);
	free(p);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_default_and_reuse(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	uint8_t idx = 0, *p, zero[KSP_CMAP_RECORD];
	size_t len = 0;

	login(kc);
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P256, 0, "a", NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDHE_P256, 0, "b", NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P384, 0, "c", NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(idx, 2);
	CU_ASSERT_TRUE(cont(kc, 0)->is_default);
	CU_ASSERT_EQUAL(cont(kc, 1)->slot[KSP_SLOT_EXCHANGE].spec, MDP_AT_ECDHE_P256);
	CU_ASSERT_EQUAL(cont(kc, 0)->slot[KSP_SLOT_SIGNATURE].bits, 256);
	/* deleting the default moves the flag to the lowest valid record and zeroes the record */
	KSP_ASSERT_RV(ksp_delete_key(kc, 0, KSP_SLOT_EXCHANGE), KSP_E_NOT_FOUND);
	CU_ASSERT_EQUAL(ksp_delete_key(kc, 0, KSP_SLOT_SIGNATURE), KSP_OK);
	CU_ASSERT_PTR_NULL(cont(kc, 0));
	CU_ASSERT_TRUE(cont(kc, 1)->is_default);
	CU_ASSERT_FALSE(cont(kc, 2)->is_default);
	p = raw_file(kc, "mscp", "cmapfile", &len);
	CU_ASSERT_EQUAL_FATAL(len, 3 * KSP_CMAP_RECORD);
	memset(zero, 0, sizeof(zero));
	CU_ASSERT_MEM_EQUAL(p, zero, KSP_CMAP_RECORD);
	CU_ASSERT_EQUAL(p[KSP_CMAP_RECORD + 80], 0x03);
	CU_ASSERT_EQUAL(p[2 * KSP_CMAP_RECORD + 80], 0x01);
	CU_ASSERT_EQUAL(p[KSP_CMAP_RECORD + 84] | p[KSP_CMAP_RECORD + 85] << 8, 256);
	CU_ASSERT_EQUAL(p[2 * KSP_CMAP_RECORD + 82] | p[2 * KSP_CMAP_RECORD + 83] << 8, 384);
	free(p);
	/* the zeroed record is reused, and does not take the default flag */
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P521, 0, "d", NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(idx, 0);
	CU_ASSERT_FALSE(cont(kc, 0)->is_default);
	CU_ASSERT_EQUAL(cont(kc, 0)->slot[KSP_SLOT_SIGNATURE].bits, 521);
	p = raw_file(kc, "mscp", "cmapfile", &len);
	CU_ASSERT_EQUAL(len, 3 * KSP_CMAP_RECORD);
	CU_ASSERT_EQUAL(p[80], 0x01);
	free(p);
	/* explicit index: beyond the end pads with zeroed records */
	{
		struct ksp_new_key req;

		memset(&req, 0, sizeof(req));
		req.spec = MDP_AT_ECDSA_P256;
		req.index = 5;
		CU_ASSERT_EQUAL(ksp_generate(kc, &req, &idx), KSP_OK);
		CU_ASSERT_EQUAL(idx, 5);
		p = raw_file(kc, "mscp", "cmapfile", &len);
		CU_ASSERT_EQUAL(len, 6 * KSP_CMAP_RECORD);
		CU_ASSERT_MEM_EQUAL(p + 3 * KSP_CMAP_RECORD, zero, KSP_CMAP_RECORD);
		free(p);
		p = raw_do(t, 0xA000, 0xDF20, &len);
		CU_ASSERT_EQUAL(len, 1 + 6 * 12); /* keymap follows the cmapfile */
		free(p);
		req.index = 5;
		KSP_ASSERT_RV(ksp_generate(kc, &req, &idx), KSP_E_EXISTS);
		req.index = 200;
		KSP_ASSERT_RV(ksp_generate(kc, &req, &idx), KSP_E_INVALID_ARG);
	}
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_names_and_overwrite(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	struct ksp_new_key req;
	uint8_t idx = 0, idx2 = 0;
	enum ksp_slot slot;
	EVP_PKEY *before;

	login(kc);
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P256, 0, "alpha", NULL, &idx), KSP_OK);
	/* NCryptCreatePersistedKey's rule: an existing name is not overwritten silently */
	KSP_ASSERT_RV(gen(kc, MDP_AT_ECDSA_P256, 0, "alpha", NULL, &idx2), KSP_E_EXISTS);
	/* invalid names are refused, not renamed */
	KSP_ASSERT_RV(gen(kc, MDP_AT_ECDSA_P256, 0, "a\\b", NULL, &idx2), KSP_E_INVALID_ARG);
	KSP_ASSERT_RV(gen(kc, MDP_AT_ECDSA_P256, 0, "", NULL, &idx2), KSP_E_INVALID_ARG);
	/* an id that is a valid name becomes the container name */
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P256, 0, NULL, "my-id", &idx2), KSP_OK);
	CU_ASSERT_STRING_EQUAL(cont(kc, idx2)->name, "my-id");
	CU_ASSERT_FALSE(cont(kc, idx2)->slot[KSP_SLOT_SIGNATURE].id_is_default);
	KSP_ASSERT_RV(gen(kc, MDP_AT_ECDSA_P256, 0, NULL, "my-id", &idx2), KSP_E_EXISTS);
	/* a binary id gets a GUID name and is kept in mdp11's application data */
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P256, 0, NULL, "\x01\x02", &idx2), KSP_OK);
	CU_ASSERT_EQUAL(cont(kc, idx2)->name[0], '{');
	CU_ASSERT_EQUAL(ksp_find_key_by_id(kc, (const uint8_t *)"\x01\x02", 2, &idx, &slot),
			KSP_OK);
	CU_ASSERT_EQUAL(idx, idx2);
	CU_ASSERT_EQUAL(slot, KSP_SLOT_SIGNATURE);
	KSP_ASSERT_RV(ksp_find_key_by_id(kc, (const uint8_t *)"\x01", 1, &idx, &slot),
		      KSP_E_NOT_FOUND);
	/* explicit overwrite replaces the key in place */
	CU_ASSERT_EQUAL(ksp_find_key_by_id(kc, (const uint8_t *)"alpha", 5, &idx, &slot), KSP_OK);
	before = mdp_key_pkey(cont(kc, idx)->slot[KSP_SLOT_SIGNATURE].pub);
	EVP_PKEY_up_ref(before);
	memset(&req, 0, sizeof(req));
	req.spec = MDP_AT_ECDSA_P384;
	req.index = -1;
	req.name = "alpha";
	req.overwrite = true;
	CU_ASSERT_EQUAL(ksp_generate(kc, &req, &idx2), KSP_OK);
	CU_ASSERT_EQUAL(idx2, idx);
	CU_ASSERT_EQUAL(cont(kc, idx)->slot[KSP_SLOT_SIGNATURE].bits, 384);
	CU_ASSERT_NOT_EQUAL(
		EVP_PKEY_eq(before, mdp_key_pkey(cont(kc, idx)->slot[KSP_SLOT_SIGNATURE].pub)), 1);
	EVP_PKEY_free(before);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

/* A certificate for a card key, issued by a throwaway CA. */
static uint8_t *
make_cert(EVP_PKEY *subject_key, const char *cn, size_t *len)
{
	EVP_PKEY *ca = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char *der = NULL;
	int l;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, subject_key);
	X509_sign(x, ca, EVP_sha256());
	l = i2d_X509(x, &der);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(ca);
	if (l <= 0)
		return NULL;
	*len = (size_t)l;
	return der;
}

static void
test_certificates(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	const struct ksp_container *c;
	uint8_t idx = 0, idx2 = 0, *der, *der2, *p;
	size_t len = 0, len2 = 0, plen = 0;
	enum ksp_slot slot;

	login(kc);
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_KEYEXCHANGE, 1024, "kx", NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P256, 0, "sig", NULL, &idx2), KSP_OK);
	c = cont(kc, idx);
	der = make_cert(mdp_key_pkey(c->slot[KSP_SLOT_EXCHANGE].pub), "Alice", &len);
	der2 = make_cert(mdp_key_pkey(cont(kc, idx2)->slot[KSP_SLOT_SIGNATURE].pub), "Bob", &len2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der2);
	/* the key a certificate belongs to is found by its public key */
	CU_ASSERT_EQUAL(ksp_find_key_for_certificate(kc, der2, len2, &idx, &slot), KSP_OK);
	CU_ASSERT_EQUAL(idx, idx2);
	CU_ASSERT_EQUAL(slot, KSP_SLOT_SIGNATURE);
	CU_ASSERT_EQUAL(ksp_find_key_for_certificate(kc, der, len, &idx, &slot), KSP_OK);
	CU_ASSERT_EQUAL(slot, KSP_SLOT_EXCHANGE);
	/* a certificate of another key is refused */
	KSP_ASSERT_RV(ksp_write_certificate(kc, idx, KSP_SLOT_EXCHANGE, der2, len2, NULL),
		      KSP_E_CERT_MISMATCH);
	KSP_ASSERT_RV(ksp_write_certificate(kc, idx, KSP_SLOT_EXCHANGE, der, len - 1, NULL),
		      KSP_E_BAD_DATA);
	CU_ASSERT_EQUAL(ksp_write_certificate(kc, idx, KSP_SLOT_EXCHANGE, der, len, NULL), KSP_OK);
	CU_ASSERT_EQUAL(ksp_write_certificate(kc, idx2, KSP_SLOT_SIGNATURE, der2, len2, "bob cert"),
			KSP_OK);
	c = cont(kc, idx);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_EXCHANGE].cert_len, len);
	CU_ASSERT_MEM_EQUAL(c->slot[KSP_SLOT_EXCHANGE].cert, der, len);
	/* default label: the subject CN */
	CU_ASSERT_STRING_EQUAL(c->slot[KSP_SLOT_EXCHANGE].label, "Alice");
	CU_ASSERT_STRING_EQUAL(cont(kc, idx2)->slot[KSP_SLOT_SIGNATURE].cert_label, "bob cert");
	CU_ASSERT_STRING_EQUAL(cont(kc, idx2)->slot[KSP_SLOT_SIGNATURE].label, "Bob");
	/* files kxc00 / ksc01 linked to their containers, stored as OpenSC reads them */
	p = raw_file(kc, "mscp", "kxc00", &plen);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(plen, len);
	free(p);
	p = raw_file(kc, "mscp", "ksc01", &plen);
	CU_ASSERT_PTR_NOT_NULL(p);
	free(p);
	/* relabel, then delete the certificate */
	CU_ASSERT_EQUAL(ksp_set_certificate_label(kc, idx, KSP_SLOT_EXCHANGE, "work"), KSP_OK);
	CU_ASSERT_STRING_EQUAL(cont(kc, idx)->slot[KSP_SLOT_EXCHANGE].cert_label, "work");
	CU_ASSERT_EQUAL(ksp_delete_certificate(kc, idx, KSP_SLOT_EXCHANGE), KSP_OK);
	CU_ASSERT_PTR_NULL(cont(kc, idx)->slot[KSP_SLOT_EXCHANGE].cert);
	KSP_ASSERT_RV(ksp_delete_certificate(kc, idx, KSP_SLOT_EXCHANGE), KSP_E_NOT_FOUND);
	CU_ASSERT_PTR_NULL(raw_file(kc, "mscp", "kxc00", &plen));
	/* deleting a key deletes its certificate */
	CU_ASSERT_EQUAL(ksp_delete_key(kc, idx2, KSP_SLOT_SIGNATURE), KSP_OK);
	CU_ASSERT_PTR_NULL(raw_file(kc, "mscp", "ksc01", &plen));
	free(der);
	free(der2);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_appdata_survives(void)
{
	char *dir = test_tmpdir(), state[512];
	struct vcard_init_params vp = card_params();
	struct mdp_transport *t = NULL, *tb = NULL;
	struct ksp_card *kc;
	struct md_card *other = NULL;
	const struct ksp_container *c;
	uint8_t idx = 0, idx2 = 0, u[KSP_CMAP_NAME_BYTES], *p, *grown;
	size_t len = 0;
	struct ksp_new_key req;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(state, sizeof(state), "%s/card.state", dir);
	CU_ASSERT_EQUAL_FATAL(vcard_create(state, &vp), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(state, NULL, &t), MDP_OK);
	kc = open_ksp(t, NULL);
	login(kc);
	memset(&req, 0, sizeof(req));
	req.spec = MDP_AT_ECDSA_P256;
	req.index = -1;
	req.id = (const uint8_t *)"\xAA\xBB";
	req.id_len = 2;
	req.label = "my label";
	CU_ASSERT_EQUAL(ksp_generate(kc, &req, &idx), KSP_OK);
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P256, 0, "plain", NULL, &idx2), KSP_OK);
	CU_ASSERT_EQUAL(ksp_set_key_attrs(kc, idx2, KSP_SLOT_SIGNATURE, (const uint8_t *)"\x07", 1,
					  "renamed"),
			KSP_OK);
	KSP_ASSERT_RV(ksp_set_key_attrs(kc, idx2, KSP_SLOT_EXCHANGE, NULL, 0, "x"),
		      KSP_E_NOT_FOUND);
	ksp_card_free(kc);

	/* a fresh context on the same card sees the application data */
	kc = open_ksp(t, NULL);
	c = cont(kc, idx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_SIGNATURE].id_len, 2);
	CU_ASSERT_MEM_EQUAL(c->slot[KSP_SLOT_SIGNATURE].id, "\xAA\xBB", 2);
	CU_ASSERT_STRING_EQUAL(c->slot[KSP_SLOT_SIGNATURE].label, "my label");
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_SIGNATURE].origin, KSP_ORIGIN_GENERATED);
	c = cont(kc, idx2);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_SIGNATURE].id_len, 1);
	CU_ASSERT_STRING_EQUAL(c->slot[KSP_SLOT_SIGNATURE].label, "renamed");

	/*
	 * A container another host made (not in mdp11's data): a record written
	 * straight into cmapfile for a key created through the card module, by
	 * another process (its own connection to the card).
	 */
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(state, NULL, &tb), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, tb, MD_CARD_DATA_CURRENT_VERSION, 0, &other),
			      MD_OK);
	CU_ASSERT_EQUAL(md_authenticate_pin(other, "user", (const uint8_t *)PIN, PINLEN, NULL),
			MD_OK);
	CU_ASSERT_EQUAL(
		md_create_container(other, 2, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P256, 0, NULL, 0),
		MD_OK);
	p = raw_file(kc, "mscp", "cmapfile", &len);
	grown = realloc(p, len + KSP_CMAP_RECORD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(grown);
	memset(grown + len, 0, KSP_CMAP_RECORD);
	CU_ASSERT_TRUE(ksp_name_to_utf16("Private Key 00", 14, u));
	memcpy(grown + len, u, sizeof(u));
	grown[len + 80] = 0x01;
	grown[len + 82] = 0x00;
	grown[len + 83] = 0x01;
	CU_ASSERT_EQUAL(md_write_file(other, "mscp", "cmapfile", 0, grown, len + KSP_CMAP_RECORD),
			MD_OK);
	free(grown);
	/* the other host bumps cardcf as hosts must */
	{
		uint8_t cf[6];

		raw_cardcf(kc, cf);
		cf[2]++;
		cf[4]++;
		CU_ASSERT_EQUAL(md_write_file(other, NULL, "cardcf", 0, cf, 6), MD_OK);
	}
	md_card_delete(other);
	mdp_transport_free(tb);
	{
		bool changed = false;

		CU_ASSERT_EQUAL(ksp_card_refresh(kc, &changed), KSP_OK);
		CU_ASSERT_TRUE(changed);
	}
	c = cont(kc, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(c->slot[KSP_SLOT_SIGNATURE].id_is_default);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_SIGNATURE].id_len, 14);
	CU_ASSERT_MEM_EQUAL(c->slot[KSP_SLOT_SIGNATURE].id, "Private Key 00", 14);
	CU_ASSERT_EQUAL(c->slot[KSP_SLOT_SIGNATURE].origin, KSP_ORIGIN_UNKNOWN);
	ksp_card_free(kc);
	mdp_transport_free(t);
	free(dir);
}

static void
test_cardcf_counters(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	uint8_t a[6], b[6], idx = 0, *der;
	size_t len = 0;
	unsigned num = 0;
	struct ksp_data_new dn;

	login(kc);
	raw_cardcf(kc, a);
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P256, 0, NULL, NULL, &idx), KSP_OK);
	raw_cardcf(kc, b);
	CU_ASSERT_EQUAL(ksp_cardcf_diff(a, b), KSP_C_CONTAINERS | KSP_C_FILES);
	CU_ASSERT_EQUAL(b[2] | b[3] << 8, (a[2] | a[3] << 8) + 1);
	memcpy(a, b, 6);
	der = make_cert(mdp_key_pkey(cont(kc, idx)->slot[KSP_SLOT_SIGNATURE].pub), "c", &len);
	CU_ASSERT_EQUAL(ksp_write_certificate(kc, idx, KSP_SLOT_SIGNATURE, der, len, NULL), KSP_OK);
	free(der);
	raw_cardcf(kc, b);
	CU_ASSERT_EQUAL(ksp_cardcf_diff(a, b), KSP_C_FILES);
	memcpy(a, b, 6);
	CU_ASSERT_EQUAL(ksp_set_key_attrs(kc, idx, KSP_SLOT_SIGNATURE, NULL, 0, "l"), KSP_OK);
	raw_cardcf(kc, b);
	CU_ASSERT_EQUAL(ksp_cardcf_diff(a, b), KSP_C_FILES);
	memcpy(a, b, 6);
	memset(&dn, 0, sizeof(dn));
	dn.label = "d";
	CU_ASSERT_EQUAL(ksp_data_create(kc, &dn, &num), KSP_OK);
	raw_cardcf(kc, b);
	CU_ASSERT_EQUAL(ksp_cardcf_diff(a, b), KSP_C_FILES);
	memcpy(a, b, 6);
	CU_ASSERT_EQUAL(
		ksp_change_pin(kc, (const uint8_t *)PIN, PINLEN, (const uint8_t *)"654321", 6),
		KSP_OK);
	raw_cardcf(kc, b);
	CU_ASSERT_EQUAL(ksp_cardcf_diff(a, b), KSP_C_PIN);
	memcpy(a, b, 6);
	CU_ASSERT_EQUAL(ksp_delete_key(kc, idx, KSP_SLOT_SIGNATURE), KSP_OK);
	raw_cardcf(kc, b);
	CU_ASSERT_EQUAL(ksp_cardcf_diff(a, b), KSP_C_CONTAINERS | KSP_C_FILES);
	memcpy(a, b, 6);
	/* a refused change leaves cardcf alone */
	KSP_ASSERT_RV(ksp_delete_key(kc, idx, KSP_SLOT_SIGNATURE), KSP_E_NOT_FOUND);
	raw_cardcf(kc, b);
	CU_ASSERT_MEM_EQUAL(a, b, 6);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_persistent_cache(void)
{
	char *dir = test_tmpdir(), state[512], cache[512];
	struct vcard_init_params p = card_params();
	struct mdp_transport *ta = NULL, *tb = NULL, *tc = NULL;
	struct ksp_card *ka, *kb, *kc;
	struct ksp_policy pol;
	const struct ksp_container *list;
	struct ksp_token_info ti;
	struct ksp_pin_info pi;
	unsigned long cold, warm, poll;
	size_t n = 0;
	uint8_t idx = 0;
	bool changed = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(state, sizeof(state), "%s/card.state", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	CU_ASSERT_EQUAL_FATAL(vcard_create(state, &p), MDP_OK);
	ksp_policy_default(&pol);
	pol.cache_dir = cache;

	/* cold start fills the cache */
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(state, NULL, &ta), MDP_OK);
	ka = open_ksp(ta, &pol);
	login(ka);
	CU_ASSERT_EQUAL(gen(ka, MDP_AT_ECDSA_P256, 0, "one", NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(gen(ka, MDP_AT_KEYEXCHANGE, 1024, "two", NULL, &idx), KSP_OK);
	ksp_card_free(ka);
	mdp_transport_free(ta);
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(state, NULL, &ta), MDP_OK);
	mdp_transport_reset_count(ta);
	{
		struct ksp_policy nocache;

		ksp_policy_default(&nocache);
		ka = open_ksp(ta, &nocache);
	}
	cold = mdp_transport_apdu_count(ta);
	ksp_card_free(ka);

	/* warm start: cardid + cardcf after the module's own opening */
	mdp_transport_reset_count(ta);
	ka = open_ksp(ta, &pol);
	warm = mdp_transport_apdu_count(ta);
	CU_ASSERT_TRUE(warm < cold);
	CU_ASSERT_TRUE(warm <= 6);
	printf("\n    open: %lu APDUs cold, %lu with a valid cache\n", cold, warm);
	CU_ASSERT_EQUAL(ksp_card_containers(ka, &list, &n), KSP_OK);
	CU_ASSERT_EQUAL(n, 2);
	/* NSS-style polling touches nothing */
	mdp_transport_reset_count(ta);
	CU_ASSERT_EQUAL(ksp_token_info(ka, &ti), KSP_OK);
	CU_ASSERT_EQUAL(ksp_pin_info(ka, &pi), KSP_OK);
	CU_ASSERT_EQUAL(ksp_card_containers(ka, &list, &n), KSP_OK);
	poll = mdp_transport_apdu_count(ta);
	CU_ASSERT_EQUAL(poll, 0);
	/*
	 * a refresh with nothing changed costs nothing: the embedded transport's change mark
	 * proves that nobody else wrote the state file since cardcf was read
	 */
	CU_ASSERT_EQUAL(ksp_card_refresh(ka, &changed), KSP_OK);
	CU_ASSERT_FALSE(changed);
	CU_ASSERT_EQUAL(mdp_transport_apdu_count(ta), 0);
	/* a simulated reset by someone else moves the mark: cardcf is read again */
	CU_ASSERT_EQUAL(mdp_transport_embedded_event(ta, false), MDP_OK);
	CU_ASSERT_EQUAL(ksp_card_refresh(ka, &changed), KSP_OK);
	CU_ASSERT_TRUE(mdp_transport_apdu_count(ta) >= 1);
	login(ka);

	/* another handle changes the card: the first one notices */
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(state, NULL, &tb), MDP_OK);
	kb = open_ksp(tb, &pol);
	login(kb);
	CU_ASSERT_EQUAL(gen(kb, MDP_AT_ECDHE_P384, 0, "three", NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(ksp_delete_key(kb, 0, KSP_SLOT_SIGNATURE), KSP_OK);
	CU_ASSERT_EQUAL(ksp_card_refresh(ka, &changed), KSP_OK);
	CU_ASSERT_TRUE(changed);
	CU_ASSERT_EQUAL(ksp_card_containers(ka, &list, &n), KSP_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_PTR_NULL(cont(ka, 0));
	CU_ASSERT_PTR_NOT_NULL(cont(ka, 2));

	/* a stale cache file (written before kb's change) is detected on open */
	{
		char *hex = mdp_hex_encode(serial, 16), old[600], cur[600];
		uint8_t *data;
		size_t dlen = 0;
		FILE *f;

		snprintf(cur, sizeof(cur), "%s/%s.cache", cache, hex);
		snprintf(old, sizeof(old), "%s/old", dir);
		free(hex);
		ksp_card_free(kb);
		kb = NULL;
		data = test_read_file(cur, &dlen);
		CU_ASSERT_PTR_NOT_NULL_FATAL(data);
		/* make the card move on without this cache seeing it */
		CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(state, NULL, &tc), MDP_OK);
		{
			struct ksp_policy nocache;

			ksp_policy_default(&nocache);
			kc = open_ksp(tc, &nocache);
		}
		login(kc);
		CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P256, 0, "four", NULL, &idx), KSP_OK);
		ksp_card_free(kc);
		f = fopen(cur, "wb");
		fwrite(data, 1, dlen, f);
		fclose(f);
		free(data);
		kc = open_ksp(tc, &pol);
		CU_ASSERT_EQUAL(ksp_card_containers(kc, &list, &n), KSP_OK);
		CU_ASSERT_EQUAL(n, 3);
		CU_ASSERT_PTR_NOT_NULL(cont(kc, 0));
		CU_ASSERT_STRING_EQUAL(cont(kc, 0)->name, "four");
		ksp_card_free(kc);
	}
	ksp_card_free(ka);
	mdp_transport_free(ta);
	mdp_transport_free(tb);
	mdp_transport_free(tc);
	test_rmtree(dir);
	free(dir);
}

static EVP_PKEY *
rsa_key(unsigned bits)
{
	return EVP_RSA_gen(bits);
}

static struct mdp_key *
wrap(EVP_PKEY *pk, enum mdp_key_spec spec)
{
	struct mdp_key *k = NULL;

	CU_ASSERT_EQUAL(mdp_key_from_pkey(pk, spec, &k), MDP_OK);
	return k;
}

static void
test_policy(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_policy pol;
	struct ksp_card *kc;
	struct ksp_new_key req;
	struct ksp_token_info ti;
	EVP_PKEY *pk = rsa_key(2048);
	struct mdp_key *k;
	uint8_t idx = 0;

	ksp_policy_default(&pol);
	CU_ASSERT_TRUE(pol.allow_exchange_import && pol.allow_signature_import &&
		       pol.allow_ecdsa_import && pol.allow_ecdhe_import);
	CU_ASSERT_EQUAL(pol.rsa_default_bits, 2048);
	pol.rsa_min_bits = 2048;
	pol.rsa_max_bits = 3072;
	pol.allow_signature_import = false;
	kc = open_ksp(t, &pol);
	login(kc);
	CU_ASSERT_EQUAL(ksp_token_info(kc, &ti), KSP_OK);
	CU_ASSERT_EQUAL(ti.sizes[MDP_AT_SIGNATURE].min_bits, 2048);
	CU_ASSERT_EQUAL(ti.sizes[MDP_AT_SIGNATURE].max_bits, 3072);
	KSP_ASSERT_RV(gen(kc, MDP_AT_KEYEXCHANGE, 1024, NULL, NULL, &idx), KSP_E_KEY_SIZE);
	KSP_ASSERT_RV(gen(kc, MDP_AT_KEYEXCHANGE, 4096, NULL, NULL, &idx), KSP_E_KEY_SIZE);
	KSP_ASSERT_RV(gen(kc, MDP_AT_KEYEXCHANGE, 2500, NULL, NULL, &idx), KSP_E_KEY_SIZE);
	KSP_ASSERT_RV(gen(kc, MDP_AT_ECDSA_P256, 384, NULL, NULL, &idx), KSP_E_INVALID_ARG);
	KSP_ASSERT_RV(gen(kc, (enum mdp_key_spec)9, 0, NULL, NULL, &idx), KSP_E_INVALID_ARG);
	/* bits 0: the policy default, 2048 */
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_KEYEXCHANGE, 0, NULL, NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(cont(kc, idx)->slot[KSP_SLOT_EXCHANGE].bits, 2048);
	/* import refused per key spec, naming the option */
	k = wrap(pk, MDP_AT_SIGNATURE);
	memset(&req, 0, sizeof(req));
	req.spec = MDP_AT_SIGNATURE;
	req.index = -1;
	mdp_err_clear();
	KSP_ASSERT_RV(ksp_import(kc, k, &req, &idx), KSP_E_POLICY);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "allow_private_signature_key_import"));
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "AllowPrivateSignatureKeyImport"));
	req.spec = MDP_AT_KEYEXCHANGE;
	CU_ASSERT_EQUAL(ksp_import(kc, k, &req, &idx), KSP_OK);
	CU_ASSERT_EQUAL(cont(kc, idx)->slot[KSP_SLOT_EXCHANGE].origin, KSP_ORIGIN_IMPORTED);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(pk, mdp_key_pkey(cont(kc, idx)->slot[KSP_SLOT_EXCHANGE].pub)),
			1);
	/* a public key or a key of the wrong family is refused */
	req.spec = MDP_AT_ECDSA_P256;
	KSP_ASSERT_RV(ksp_import(kc, k, &req, &idx), KSP_E_BAD_KEY);
	mdp_key_free(k);
	ksp_card_free(kc);
	mdp_transport_free(t);
	EVP_PKEY_free(pk);
}

static void
verify_rsa(EVP_PKEY *pk, int padding, const EVP_MD *md, const EVP_MD *mgf, int salt,
	   const uint8_t *tbs, size_t tbslen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);

	CU_ASSERT_EQUAL(EVP_PKEY_verify_init(ctx), 1);
	EVP_PKEY_CTX_set_rsa_padding(ctx, padding);
	if (md)
		EVP_PKEY_CTX_set_signature_md(ctx, md);
	if (mgf)
		EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf);
	if (padding == RSA_PKCS1_PSS_PADDING)
		EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salt);
	CU_ASSERT_EQUAL(EVP_PKEY_verify(ctx, sig, siglen, tbs, tbslen), 1);
	EVP_PKEY_CTX_free(ctx);
}

static void
test_rsa_operations(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	struct ksp_padding pad;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *ctx;
	uint8_t idx = 0, sidx = 0, h[32], sig[256], ct[256], out[256], msg[20], block[256];
	size_t sl, cl, ol;

	login(kc);
	CU_ASSERT_EQUAL_FATAL(gen(kc, MDP_AT_KEYEXCHANGE, 2048, NULL, NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL_FATAL(gen(kc, MDP_AT_SIGNATURE, 1024, NULL, NULL, &sidx), KSP_OK);
	pk = mdp_key_pkey(cont(kc, idx)->slot[KSP_SLOT_EXCHANGE].pub);
	RAND_bytes(h, sizeof(h));
	memset(&pad, 0, sizeof(pad));

	/* size query, then PKCS#1 v1.5 with a DigestInfo: big-endian, verified by OpenSSL */
	pad.type = KSP_PAD_PKCS1;
	pad.hash = MDP_HASH_SHA256;
	sl = 0;
	CU_ASSERT_EQUAL(ksp_sign(kc, idx, KSP_SLOT_EXCHANGE, &pad, h, 32, NULL, &sl), KSP_OK);
	CU_ASSERT_EQUAL(sl, 256);
	sl = 255;
	KSP_ASSERT_RV(ksp_sign(kc, idx, KSP_SLOT_EXCHANGE, &pad, h, 32, sig, &sl),
		      KSP_E_BUFFER_TOO_SMALL);
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(ksp_sign(kc, idx, KSP_SLOT_EXCHANGE, &pad, h, 32, sig, &sl), KSP_OK);
	verify_rsa(pk, RSA_PKCS1_PADDING, EVP_sha256(), NULL, 0, h, 32, sig, sl);
	KSP_ASSERT_RV(ksp_sign(kc, idx, KSP_SLOT_EXCHANGE, &pad, h, 31, sig, &sl), KSP_E_BAD_DATA);
	/* PSS on the card module, and with another MGF1 hash on the host */
	pad.type = KSP_PAD_PSS;
	pad.salt_len = 32;
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(ksp_sign(kc, idx, KSP_SLOT_EXCHANGE, &pad, h, 32, sig, &sl), KSP_OK);
	verify_rsa(pk, RSA_PKCS1_PSS_PADDING, EVP_sha256(), EVP_sha256(), 32, h, 32, sig, sl);
	pad.mgf1_hash = MDP_HASH_SHA1;
	pad.salt_len = 20;
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(ksp_sign(kc, idx, KSP_SLOT_EXCHANGE, &pad, h, 32, sig, &sl), KSP_OK);
	verify_rsa(pk, RSA_PKCS1_PSS_PADDING, EVP_sha256(), EVP_sha1(), 20, h, 32, sig, sl);
	/* raw RSA: the public operation gives the block back */
	pad.type = KSP_PAD_NONE;
	memset(block, 0x11, sizeof(block));
	block[0] = 0x00;
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(ksp_sign(kc, idx, KSP_SLOT_EXCHANGE, &pad, block, 256, sig, &sl), KSP_OK);
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	EVP_PKEY_verify_recover_init(ctx);
	EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING);
	ol = sizeof(out);
	CU_ASSERT_EQUAL(EVP_PKEY_verify_recover(ctx, out, &ol, sig, sl), 1);
	CU_ASSERT_EQUAL(ol, 256);
	CU_ASSERT_MEM_EQUAL(out, block, 256);
	EVP_PKEY_CTX_free(ctx);

	/* decrypt: PKCS#1, OAEP (SHA-1, SHA-256 + label, mixed MGF1), raw */
	RAND_bytes(msg, sizeof(msg));
	for (int mode = 0; mode < 4; mode++) {
		ctx = EVP_PKEY_CTX_new(pk, NULL);
		EVP_PKEY_encrypt_init(ctx);
		memset(&pad, 0, sizeof(pad));
		if (mode == 0) {
			EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
			pad.type = KSP_PAD_PKCS1;
		} else {
			EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
			pad.type = KSP_PAD_OAEP;
			pad.hash = mode == 1 ? MDP_HASH_SHA1 : MDP_HASH_SHA256;
			EVP_PKEY_CTX_set_rsa_oaep_md(ctx, mode == 1 ? EVP_sha1() : EVP_sha256());
			if (mode == 3) {
				EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1());
				pad.mgf1_hash = MDP_HASH_SHA1;
			}
			if (mode >= 2) {
				EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, OPENSSL_memdup("L", 1), 1);
				pad.label = (const uint8_t *)"L";
				pad.label_len = 1;
			}
		}
		cl = sizeof(ct);
		CU_ASSERT_EQUAL(EVP_PKEY_encrypt(ctx, ct, &cl, msg, sizeof(msg)), 1);
		EVP_PKEY_CTX_free(ctx);
		ol = sizeof(out);
		CU_ASSERT_EQUAL(ksp_decrypt(kc, idx, KSP_SLOT_EXCHANGE, &pad, ct, cl, out, &ol),
				KSP_OK);
		CU_ASSERT_EQUAL(ol, sizeof(msg));
		CU_ASSERT_MEM_EQUAL(out, msg, sizeof(msg));
		/* too small an output buffer */
		ol = sizeof(msg) - 1;
		KSP_ASSERT_RV(ksp_decrypt(kc, idx, KSP_SLOT_EXCHANGE, &pad, ct, cl, out, &ol),
			      KSP_E_BUFFER_TOO_SMALL);
		if (mode == 0) {
			/* a damaged PKCS#1 block */
			ct[10] ^= 0x55;
			ol = sizeof(out);
			KSP_ASSERT_RV(
				ksp_decrypt(kc, idx, KSP_SLOT_EXCHANGE, &pad, ct, cl, out, &ol),
				KSP_E_DECRYPT);
			ct[10] ^= 0x55;
		}
		if (mode >= 2) {
			/* a wrong label fails the padding check */
			pad.label = (const uint8_t *)"M";
			ol = sizeof(out);
			KSP_ASSERT_RV(
				ksp_decrypt(kc, idx, KSP_SLOT_EXCHANGE, &pad, ct, cl, out, &ol),
				KSP_E_DECRYPT);
		}
	}
	/* raw decrypt of a raw public-key encryption gives the block back */
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	EVP_PKEY_encrypt_init(ctx);
	EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING);
	cl = sizeof(ct);
	CU_ASSERT_EQUAL(EVP_PKEY_encrypt(ctx, ct, &cl, block, 256), 1);
	EVP_PKEY_CTX_free(ctx);
	memset(&pad, 0, sizeof(pad));
	pad.type = KSP_PAD_NONE;
	ol = 0;
	CU_ASSERT_EQUAL(ksp_decrypt(kc, idx, KSP_SLOT_EXCHANGE, &pad, ct, cl, NULL, &ol), KSP_OK);
	CU_ASSERT_EQUAL(ol, 256);
	ol = sizeof(out);
	CU_ASSERT_EQUAL(ksp_decrypt(kc, idx, KSP_SLOT_EXCHANGE, &pad, ct, cl, out, &ol), KSP_OK);
	CU_ASSERT_EQUAL(ol, 256);
	CU_ASSERT_MEM_EQUAL(out, block, 256);
	KSP_ASSERT_RV(ksp_decrypt(kc, idx, KSP_SLOT_EXCHANGE, &pad, sig, 255, out, &ol),
		      KSP_E_BAD_DATA);
	/* signature keys sign but do not decrypt */
	ol = sizeof(out);
	KSP_ASSERT_RV(ksp_decrypt(kc, sidx, KSP_SLOT_SIGNATURE, &pad, sig, 128, out, &ol),
		      KSP_E_BAD_KEY);
	pad.type = KSP_PAD_PKCS1;
	pad.hash = MDP_HASH_SHA1;
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(ksp_sign(kc, sidx, KSP_SLOT_SIGNATURE, &pad, h, 20, sig, &sl), KSP_OK);
	CU_ASSERT_EQUAL(sl, 128);
	verify_rsa(mdp_key_pkey(cont(kc, sidx)->slot[KSP_SLOT_SIGNATURE].pub), RSA_PKCS1_PADDING,
		   EVP_sha1(), NULL, 0, h, 20, sig, sl);
	KSP_ASSERT_RV(ksp_sign(kc, 77, KSP_SLOT_SIGNATURE, &pad, h, 20, sig, &sl), KSP_E_NOT_FOUND);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_ec_operations(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	struct ksp_padding pad;
	uint8_t sidx = 0, didx = 0, iidx = 0, h[48], sig[132], peer_pt[133], secret[66], want[66];
	size_t sl, pl = 0, ol, wl;
	EVP_PKEY *peer = EVP_EC_gen("P-384"), *imp = EVP_EC_gen("P-256");
	EVP_PKEY_CTX *ctx;
	struct mdp_key *k;
	struct ksp_new_key req;

	login(kc);
	CU_ASSERT_EQUAL_FATAL(gen(kc, MDP_AT_ECDSA_P384, 0, NULL, NULL, &sidx), KSP_OK);
	CU_ASSERT_EQUAL_FATAL(gen(kc, MDP_AT_ECDHE_P384, 0, NULL, NULL, &didx), KSP_OK);
	memset(&pad, 0, sizeof(pad));
	RAND_bytes(h, sizeof(h));
	for (int which = 0; which < 2; which++) {
		uint8_t ix = sidx;
		EVP_PKEY *pub;
		size_t f;

		if (which == 1) {
			/* an imported key signs as well */
			k = wrap(imp, MDP_AT_ECDSA_P256);
			memset(&req, 0, sizeof(req));
			req.spec = MDP_AT_ECDSA_P256;
			req.index = -1;
			CU_ASSERT_EQUAL_FATAL(ksp_import(kc, k, &req, &iidx), KSP_OK);
			mdp_key_free(k);
			ix = iidx;
		}
		pub = mdp_key_pkey(cont(kc, ix)->slot[KSP_SLOT_SIGNATURE].pub);
		f = which ? 32 : 48;
		sl = sizeof(sig);
		CU_ASSERT_EQUAL(ksp_sign(kc, ix, KSP_SLOT_SIGNATURE, &pad, h, f, sig, &sl), KSP_OK);
		CU_ASSERT_EQUAL(sl, 2 * f);
		{
			ECDSA_SIG *es = ECDSA_SIG_new();
			unsigned char *der = NULL;
			int dl;

			ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)f, NULL),
				       BN_bin2bn(sig + f, (int)f, NULL));
			dl = i2d_ECDSA_SIG(es, &der);
			ctx = EVP_PKEY_CTX_new(pub, NULL);
			EVP_PKEY_verify_init(ctx);
			CU_ASSERT_EQUAL(EVP_PKEY_verify(ctx, der, (size_t)dl, h, f), 1);
			EVP_PKEY_CTX_free(ctx);
			OPENSSL_free(der);
			ECDSA_SIG_free(es);
		}
		if (which == 1)
			CU_ASSERT_EQUAL(EVP_PKEY_eq(pub, imp), 1);
	}
	/* ECDH keys do not sign; ECDSA keys do not derive */
	sl = sizeof(sig);
	KSP_ASSERT_RV(ksp_sign(kc, didx, KSP_SLOT_EXCHANGE, &pad, h, 48, sig, &sl), KSP_E_BAD_KEY);
	/* ECDH: the card's secret equals OpenSSL's with the card's public key */
	{
		unsigned char *enc = NULL;
		size_t el = EVP_PKEY_get1_encoded_public_key(peer, &enc);

		CU_ASSERT_EQUAL_FATAL(el, 97);
		memcpy(peer_pt, enc, el);
		pl = el;
		OPENSSL_free(enc);
	}
	ol = 0;
	CU_ASSERT_EQUAL(ksp_ecdh(kc, didx, KSP_SLOT_EXCHANGE, peer_pt, pl, NULL, &ol), KSP_OK);
	CU_ASSERT_EQUAL(ol, 48);
	ol = sizeof(secret);
	CU_ASSERT_EQUAL(ksp_ecdh(kc, didx, KSP_SLOT_EXCHANGE, peer_pt, pl, secret, &ol), KSP_OK);
	ctx = EVP_PKEY_CTX_new(peer, NULL);
	EVP_PKEY_derive_init(ctx);
	EVP_PKEY_derive_set_peer(ctx, mdp_key_pkey(cont(kc, didx)->slot[KSP_SLOT_EXCHANGE].pub));
	wl = sizeof(want);
	CU_ASSERT_EQUAL(EVP_PKEY_derive(ctx, want, &wl), 1);
	EVP_PKEY_CTX_free(ctx);
	CU_ASSERT_EQUAL(wl, ol);
	CU_ASSERT_MEM_EQUAL(secret, want, wl);
	KSP_ASSERT_RV(ksp_ecdh(kc, didx, KSP_SLOT_EXCHANGE, peer_pt, pl - 1, secret, &ol),
		      KSP_E_BAD_DATA);
	KSP_ASSERT_RV(ksp_ecdh(kc, sidx, KSP_SLOT_SIGNATURE, peer_pt, pl, secret, &ol),
		      KSP_E_BAD_KEY);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(imp);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_pins(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	struct ksp_pin_info pi;
	uint8_t bad_key[24];
	int i;

	KSP_ASSERT_RV(ksp_login_user(kc, (const uint8_t *)"000000", 6), KSP_E_PIN_INCORRECT);
	CU_ASSERT_EQUAL(ksp_pin_info(kc, &pi), KSP_OK);
	CU_ASSERT_EQUAL(pi.tries_left, 2);
	CU_ASSERT_FALSE(pi.user_logged_in);
	login(kc);
	CU_ASSERT_EQUAL(ksp_pin_info(kc, &pi), KSP_OK);
	CU_ASSERT_TRUE(pi.user_logged_in);
	CU_ASSERT_EQUAL(pi.tries_left, -1); /* reset by the good PIN, to a value the card keeps */
	CU_ASSERT_EQUAL(
		ksp_change_pin(kc, (const uint8_t *)PIN, PINLEN, (const uint8_t *)"1111", 4),
		KSP_OK);
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	CU_ASSERT_EQUAL(ksp_pin_info(kc, &pi), KSP_OK);
	CU_ASSERT_FALSE(pi.user_logged_in);
	KSP_ASSERT_RV(ksp_login_user(kc, (const uint8_t *)PIN, PINLEN), KSP_E_PIN_INCORRECT);
	CU_ASSERT_EQUAL(ksp_login_user(kc, (const uint8_t *)"1111", 4), KSP_OK);
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	/* lockout */
	for (i = 0; i < 2; i++)
		KSP_ASSERT_RV(ksp_login_user(kc, (const uint8_t *)"9999", 4), KSP_E_PIN_INCORRECT);
	{
		enum ksp_rv rv = ksp_login_user(kc, (const uint8_t *)"9999", 4);

		CU_ASSERT_TRUE(rv == KSP_E_PIN_BLOCKED || rv == KSP_E_PIN_INCORRECT);
	}
	KSP_ASSERT_RV(ksp_login_user(kc, (const uint8_t *)"1111", 4), KSP_E_PIN_BLOCKED);
	CU_ASSERT_EQUAL(ksp_pin_info(kc, &pi), KSP_OK);
	CU_ASSERT_TRUE(pi.blocked);
	CU_ASSERT_EQUAL(pi.tries_left, 0);
	/* a wrong admin key does not unblock */
	memcpy(bad_key, admin_key, 24);
	bad_key[0] ^= 0x80; /* not the DES parity bit */
	CU_ASSERT_NOT_EQUAL(ksp_unblock_pin(kc, bad_key, 24, (const uint8_t *)"2222", 4), KSP_OK);
	KSP_ASSERT_RV(ksp_unblock_pin(kc, admin_key, 23, (const uint8_t *)"2222", 4),
		      KSP_E_PIN_LEN);
	CU_ASSERT_EQUAL(ksp_unblock_pin(kc, admin_key, 24, (const uint8_t *)"2222", 4), KSP_OK);
	CU_ASSERT_EQUAL(ksp_pin_info(kc, &pi), KSP_OK);
	CU_ASSERT_FALSE(pi.blocked);
	CU_ASSERT_EQUAL(ksp_login_user(kc, (const uint8_t *)"2222", 4), KSP_OK);
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	/* C_InitPIN: needs the admin logged in */
	KSP_ASSERT_RV(ksp_init_pin(kc, (const uint8_t *)"3333", 4), KSP_E_NOT_LOGGED_IN);
	CU_ASSERT_NOT_EQUAL(ksp_login_admin(kc, bad_key, 24), KSP_OK);
	CU_ASSERT_EQUAL(ksp_login_admin(kc, admin_key, 24), KSP_OK);
	CU_ASSERT_EQUAL(ksp_pin_info(kc, &pi), KSP_OK);
	CU_ASSERT_TRUE(pi.admin_logged_in);
	CU_ASSERT_EQUAL(ksp_init_pin(kc, (const uint8_t *)"3333", 4), KSP_OK);
	/* the admin key can change */
	memset(bad_key, 0x42, sizeof(bad_key));
	CU_ASSERT_EQUAL(ksp_change_admin_key(kc, admin_key, 24, bad_key, 24), KSP_OK);
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	CU_ASSERT_NOT_EQUAL(ksp_login_admin(kc, admin_key, 24), KSP_OK);
	CU_ASSERT_EQUAL(ksp_login_admin(kc, bad_key, 24), KSP_OK);
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	CU_ASSERT_EQUAL(ksp_login_user(kc, (const uint8_t *)"3333", 4), KSP_OK);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

/*
 * C_SetPIN's rule in the host role: the old PIN is verified whole before CHANGE REFERENCE DATA
 * (the card splits old||new at the stored PIN's length), and a change made without a login
 * leaves the card logged out.
 */
static void
test_change_pin_verifies_old(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	struct ksp_padding pad;
	uint8_t idx = 0, h[32] = {1}, sig[64];
	size_t sl = sizeof(sig);

	login(kc);
	CU_ASSERT_EQUAL_FATAL(gen(kc, MDP_AT_ECDSA_P256, 0, NULL, NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	/* "12345678" starts with the PIN "123456": the card alone would take it */
	KSP_ASSERT_RV(
		ksp_change_pin(kc, (const uint8_t *)"12345678", 8, (const uint8_t *)PIN, PINLEN),
		KSP_E_PIN_INCORRECT);
	KSP_ASSERT_RV(ksp_login_user(kc, (const uint8_t *)"78123456", 8), KSP_E_PIN_INCORRECT);
	login(kc);
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	/* the right old PIN: changed, and the card is not left logged in */
	CU_ASSERT_EQUAL(
		ksp_change_pin(kc, (const uint8_t *)PIN, PINLEN, (const uint8_t *)"24682468", 8),
		KSP_OK);
	memset(&pad, 0, sizeof(pad));
	CU_ASSERT_NOT_EQUAL(ksp_sign(kc, idx, KSP_SLOT_SIGNATURE, &pad, h, 32, sig, &sl), KSP_OK);
	CU_ASSERT_EQUAL(ksp_login_user(kc, (const uint8_t *)"24682468", 8), KSP_OK);
	/* logged in before: still logged in after */
	CU_ASSERT_EQUAL(
		ksp_change_pin(kc, (const uint8_t *)"24682468", 8, (const uint8_t *)PIN, PINLEN),
		KSP_OK);
	sl = sizeof(sig);
	CU_ASSERT_EQUAL(ksp_sign(kc, idx, KSP_SLOT_SIGNATURE, &pad, h, 32, sig, &sl), KSP_OK);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_pin_state_other_handle(void)
{
	char *dir = test_tmpdir(), state[512];
	struct vcard_init_params p = card_params();
	struct mdp_transport *ta = NULL, *tb = NULL;
	struct ksp_card *ka, *kb;
	struct ksp_pin_info pi;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(state, sizeof(state), "%s/card.state", dir);
	CU_ASSERT_EQUAL_FATAL(vcard_create(state, &p), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(state, NULL, &ta), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(state, NULL, &tb), MDP_OK);
	ka = open_ksp(ta, NULL);
	kb = open_ksp(tb, NULL);
	/* the retry counter as the card keeps it: another handle's wrong PIN shows here */
	CU_ASSERT_EQUAL(ksp_pin_tries_refresh(ka), KSP_OK);
	CU_ASSERT_EQUAL(ksp_pin_info(ka, &pi), KSP_OK);
	CU_ASSERT_EQUAL(pi.tries_left, 3);
	CU_ASSERT_EQUAL(pi.tries_max, 3);
	KSP_ASSERT_RV(ksp_login_user(kb, (const uint8_t *)"0000", 4), KSP_E_PIN_INCORRECT);
	CU_ASSERT_EQUAL(ksp_card_refresh(ka, NULL), KSP_OK);
	CU_ASSERT_EQUAL(ksp_pin_tries_refresh(ka), KSP_OK);
	CU_ASSERT_EQUAL(ksp_pin_info(ka, &pi), KSP_OK);
	CU_ASSERT_EQUAL(pi.tries_left, 2);
	CU_ASSERT_FALSE(pi.blocked);
	CU_ASSERT_EQUAL(ksp_login_user(kb, (const uint8_t *)PIN, PINLEN), KSP_OK);
	CU_ASSERT_EQUAL(ksp_logout(kb), KSP_OK);
	for (i = 0; i < 3; i++)
		CU_ASSERT_NOT_EQUAL(ksp_login_user(ka, (const uint8_t *)"0000", 4), KSP_OK);
	CU_ASSERT_EQUAL(ksp_pin_info(ka, &pi), KSP_OK);
	CU_ASSERT_TRUE(pi.blocked);
	/* the other handle unblocks: the PIN counter of cardcf tells the first one */
	CU_ASSERT_EQUAL(ksp_unblock_pin(kb, admin_key, 24, (const uint8_t *)"4444", 4), KSP_OK);
	CU_ASSERT_EQUAL(ksp_card_refresh(ka, NULL), KSP_OK);
	CU_ASSERT_EQUAL(ksp_pin_info(ka, &pi), KSP_OK);
	CU_ASSERT_FALSE(pi.blocked);
	CU_ASSERT_EQUAL(pi.tries_left, -1);
	CU_ASSERT_EQUAL(ksp_login_user(ka, (const uint8_t *)"4444", 4), KSP_OK);
	ksp_card_free(ka);
	ksp_card_free(kb);
	mdp_transport_free(ta);
	mdp_transport_free(tb);
	test_rmtree(dir);
	free(dir);
}

static void
test_data_objects(void)
{
	char *dir = test_tmpdir(), state[512], cache[512];
	struct vcard_init_params p = card_params();
	struct mdp_transport *t = NULL;
	struct ksp_card *kc;
	struct ksp_policy pol;
	const struct ksp_data_object *list;
	struct ksp_data_new dn;
	size_t n = 0;
	unsigned pub = 0, priv = 0;

	snprintf(state, sizeof(state), "%s/card.state", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	CU_ASSERT_EQUAL_FATAL(vcard_create(state, &p), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(state, NULL, &t), MDP_OK);
	ksp_policy_default(&pol);
	pol.cache_dir = cache;
	kc = open_ksp(t, &pol);
	login(kc);
	memset(&dn, 0, sizeof(dn));
	dn.application = "app";
	dn.label = "public one";
	dn.value = (const uint8_t *)"hello";
	dn.value_len = 5;
	dn.object_id = (const uint8_t *)"\x06\x01\x01";
	dn.object_id_len = 3;
	CU_ASSERT_EQUAL(ksp_data_create(kc, &dn, &pub), KSP_OK);
	dn.label = "private one";
	dn.value = (const uint8_t *)"TOPSECRETVALUE";
	dn.value_len = 14;
	dn.object_id = NULL;
	dn.object_id_len = 0;
	dn.is_private = true;
	CU_ASSERT_EQUAL(ksp_data_create(kc, &dn, &priv), KSP_OK);
	CU_ASSERT_NOT_EQUAL(pub, priv);
	CU_ASSERT_EQUAL(ksp_data_objects(kc, &list, &n), KSP_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_TRUE(list[0].loaded && list[1].loaded);
	CU_ASSERT_STRING_EQUAL(list[0].label, "public one");
	CU_ASSERT_EQUAL(list[0].object_id_len, 3);
	CU_ASSERT_TRUE(list[1].is_private);
	CU_ASSERT_EQUAL(list[1].value_len, 14);
	/* update: content may change, privacy may not */
	dn.value = (const uint8_t *)"NEWSECRET";
	dn.value_len = 9;
	CU_ASSERT_EQUAL(ksp_data_update(kc, priv, &dn), KSP_OK);
	dn.is_private = false;
	KSP_ASSERT_RV(ksp_data_update(kc, priv, &dn), KSP_E_PROHIBITED);
	KSP_ASSERT_RV(ksp_data_update(kc, 999, &dn), KSP_E_NOT_FOUND);
	ksp_card_free(kc);

	/* another context, not logged in: the private object is listed but not read */
	kc = open_ksp(t, &pol);
	CU_ASSERT_EQUAL(ksp_data_objects(kc, &list, &n), KSP_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_TRUE(list[0].loaded);
	CU_ASSERT_STRING_EQUAL(list[0].application, "app");
	CU_ASSERT_FALSE(list[1].loaded);
	CU_ASSERT_PTR_NULL(list[1].value);
	login(kc);
	CU_ASSERT_EQUAL(ksp_data_objects(kc, &list, &n), KSP_OK);
	CU_ASSERT_TRUE(list[1].loaded);
	CU_ASSERT_EQUAL(list[1].value_len, 9);
	CU_ASSERT_MEM_EQUAL(list[1].value, "NEWSECRET", 9);
	/* logout forgets it again */
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	CU_ASSERT_EQUAL(ksp_data_objects(kc, &list, &n), KSP_OK);
	CU_ASSERT_FALSE(list[1].loaded);
	login(kc);
	CU_ASSERT_EQUAL(ksp_data_delete(kc, pub), KSP_OK);
	CU_ASSERT_EQUAL(ksp_data_objects(kc, &list, &n), KSP_OK);
	CU_ASSERT_EQUAL(n, 1);
	KSP_ASSERT_RV(ksp_data_delete(kc, pub), KSP_E_NOT_FOUND);
	ksp_card_free(kc);
	/* no private value in the cache directory */
	{
		char *hex = mdp_hex_encode(serial, 16), path[600];
		uint8_t *data;
		size_t dlen = 0;

		snprintf(path, sizeof(path), "%s/%s.cache", cache, hex);
		free(hex);
		data = test_read_file(path, &dlen);
		CU_ASSERT_PTR_NOT_NULL(data);
		if (data) {
			CU_ASSERT_PTR_NULL(memmem(data, dlen, "NEWSECRET", 9));
			CU_ASSERT_PTR_NULL(memmem(data, dlen, "TOPSECRET", 9));
		}
		free(data);
	}
	mdp_transport_free(t);
	test_rmtree(dir);
	free(dir);
}

static void
test_reinit(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	const struct ksp_container *list;
	const struct ksp_data_object *dl;
	struct ksp_data_new dn;
	uint8_t idx = 0, *p, zero[2 * KSP_CMAP_RECORD], *der;
	size_t n = 0, len = 0;
	unsigned num;
	uint8_t bad[24];

	login(kc);
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P256, 0, NULL, "k1", &idx), KSP_OK);
	der = make_cert(mdp_key_pkey(cont(kc, idx)->slot[KSP_SLOT_SIGNATURE].pub), "x", &len);
	CU_ASSERT_EQUAL(ksp_write_certificate(kc, idx, KSP_SLOT_SIGNATURE, der, len, NULL), KSP_OK);
	free(der);
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDHE_P256, 0, NULL, "k2", &idx), KSP_OK);
	memset(&dn, 0, sizeof(dn));
	dn.value = (const uint8_t *)"v";
	dn.value_len = 1;
	CU_ASSERT_EQUAL(ksp_data_create(kc, &dn, &num), KSP_OK);
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	memset(bad, 0, sizeof(bad));
	CU_ASSERT_NOT_EQUAL(ksp_reinit(kc, bad, 24, NULL, 0), KSP_OK);
	CU_ASSERT_EQUAL(ksp_card_containers(kc, &list, &n), KSP_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(ksp_reinit(kc, admin_key, 24, (const uint8_t *)"7777", 4), KSP_OK);
	CU_ASSERT_EQUAL(ksp_card_containers(kc, &list, &n), KSP_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(ksp_data_objects(kc, &dl, &n), KSP_OK);
	CU_ASSERT_EQUAL(n, 0);
	p = raw_file(kc, "mscp", "cmapfile", &len);
	memset(zero, 0, sizeof(zero));
	CU_ASSERT_EQUAL(len, 2 * KSP_CMAP_RECORD);
	if (p && len == sizeof(zero))
		CU_ASSERT_MEM_EQUAL(p, zero, len);
	free(p);
	CU_ASSERT_PTR_NULL(raw_file(kc, "mscp", "ksc00", &len));
	CU_ASSERT_PTR_NULL(raw_file(kc, "mdp11", "keyattr", &len));
	KSP_ASSERT_RV(ksp_login_user(kc, (const uint8_t *)PIN, PINLEN), KSP_E_PIN_INCORRECT);
	CU_ASSERT_EQUAL(ksp_login_user(kc, (const uint8_t *)"7777", 4), KSP_OK);
	/* the card is usable again */
	CU_ASSERT_EQUAL(gen(kc, MDP_AT_ECDSA_P256, 0, NULL, NULL, &idx), KSP_OK);
	CU_ASSERT_EQUAL(idx, 0);
	CU_ASSERT_TRUE(cont(kc, 0)->is_default);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_reset_drops_login(void)
{
	struct mdp_transport *t = new_card();
	struct ksp_card *kc = open_ksp(t, NULL);
	struct ksp_pin_info pi;
	bool changed = true;

	login(kc);
	CU_ASSERT_EQUAL(mdp_transport_embedded_event(t, false), MDP_OK);
	CU_ASSERT_EQUAL(ksp_card_refresh(kc, &changed), KSP_OK);
	CU_ASSERT_EQUAL(ksp_pin_info(kc, &pi), KSP_OK);
	CU_ASSERT_FALSE(pi.user_logged_in);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static CU_TestInfo card_tests[] = {
	{"open a fresh card: empty view, token and PIN info", test_open_fresh_card},
	{"generate: names, cmapfile, keymap and masterfile as gids.md §5", test_generate_layout},
	{"default flag moves on delete, zeroed records reused", test_default_and_reuse},
	{"names and ids: duplicates refused unless overwrite", test_names_and_overwrite},
	{"certificates kxcNN/kscNN linked to their keys", test_certificates},
	{"application data survives a fresh open; foreign containers", test_appdata_survives},
	{"cardcf counters bump per kind of change", test_cardcf_counters},
	{"persistent cache: warm start, zero-APDU polling, staleness", test_persistent_cache},
	{"policy: RSA sizes and import per key spec", test_policy},
	{"RSA sign/decrypt byte orders checked with OpenSSL", test_rsa_operations},
	{"ECDSA, ECDH and EC import checked with OpenSSL", test_ec_operations},
	{"PIN change, lockout, unblock, admin login, init PIN", test_pins},
	{"PIN change verifies the old PIN first", test_change_pin_verifies_old},
	{"PIN state changed by another handle", test_pin_state_other_handle},
	{"data objects, public and private", test_data_objects},
	{"re-personalisation", test_reinit},
	{"a card reset drops the login", test_reset_drops_login},
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	CU_SuiteInfo suites[] = {
		{"card", NULL, NULL, NULL, NULL, card_tests},
		CU_SUITE_INFO_NULL,
	};

	mdp_log_init_env();
	return test_run("test-ksp-card", suites);
}
