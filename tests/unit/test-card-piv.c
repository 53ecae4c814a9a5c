/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PIV card module against the in-memory virtual PIV card: the minidriver view, keys, PINs,
 * the management key; checked with OpenSSL and with the card's own objects. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "blob/blob.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/ossl.h"
#include "common/secmem.h"
#include "minidriver/card-int.h"
#include "minidriver/card-piv.h"
#include "minidriver/piv.h"
#include "tests/unit/testcrypto.h"
#include "tests/unit/testutil.h"
#include "transport/apdu.h"
#include "transport/transport.h"
#include "vcard/vcard.h"

static const uint8_t mgmt_default[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
					 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

struct fx {
	struct mdp_transport *t;
	struct md_card *card;
};

static void
fx_open_with(struct fx *f, struct vcard_init_params *p)
{
	memset(f, 0, sizeof(*f));
	p->type = VCARD_TYPE_PIV;
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(NULL, p, &f->t), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(
		md_card_acquire(NULL, f->t, MD_CARD_DATA_CURRENT_VERSION, 0, &f->card), MD_OK);
}

static void
fx_open(struct fx *f)
{
	struct vcard_init_params p;

	memset(&p, 0, sizeof(p));
	fx_open_with(f, &p);
}

static void
fx_close(struct fx *f)
{
	md_card_delete(f->card);
	mdp_transport_free(f->t);
}

static void
login(struct fx *f)
{
	CU_ASSERT_EQUAL(md_authenticate_ex(f->card, MD_ROLE_USER, 0, (const uint8_t *)"123456", 6,
					   NULL, NULL, NULL),
			MD_OK);
}

/* Another application resets the card: every security state is gone. */
static void
reset_card(struct fx *f)
{
	uint8_t r[VCARD_MAX_RESPONSE];
	size_t n = sizeof(r);

	CU_ASSERT_EQUAL(mdp_transport_embedded_event(f->t, false), MDP_OK);
	CU_ASSERT_EQUAL(mdp_transport_transmit(f->t, (const uint8_t *)"\x00\xFD\x00\x00", 4, r,
					       sizeof(r), &n),
			MDP_ERR_CARD_RESET);
}

/* A raw command to the card (the module's selection stands). */
static uint16_t
raw(struct fx *f, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t lc,
    struct mdp_buf *resp)
{
	struct mdp_apdu a = {.ins = ins,
			     .p1 = p1,
			     .p2 = p2,
			     .data = data,
			     .lc = lc,
			     .le = 256,
			     .chain = lc > 255};
	uint16_t sw = 0;

	CU_ASSERT_EQUAL(mdp_apdu_exchange(f->t, &a, resp, &sw), MDP_OK);
	return sw;
}

/* The value of a PIV object as the card holds it; false when absent. */
static bool
get_object(struct fx *f, uint32_t tag, struct mdp_buf *value)
{
	struct mdp_buf q, r;
	struct mdp_cursor v;
	uint16_t sw;
	bool ok;

	buf_init(&q);
	buf_init(&r);
	piv_get_data_field(&q, tag);
	sw = raw(f, 0xCB, 0x3F, 0xFF, q.data, q.len, &r);
	ok = sw == 0x9000 && piv_object_value(r.data, r.len, 0x53, &v) == MDP_OK;
	if (ok)
		buf_put_bytes(value, v.p + v.pos, cur_left(&v));
	buf_free(&q);
	buf_free(&r);
	return ok;
}

/* PUT DATA as another tool would (management key authenticated through the module first). */
static void
put_object(struct fx *f, uint32_t tag, const uint8_t *value, size_t len)
{
	struct mdp_buf q;

	CU_ASSERT_EQUAL(
		md_authenticate_ex(f->card, MD_ROLE_ADMIN, 0, mgmt_default, 24, NULL, NULL, NULL),
		MD_OK);
	buf_init(&q);
	piv_put_data_field(&q, tag, value, len);
	CU_ASSERT_EQUAL(raw(f, 0xDB, 0x3F, 0xFF, q.data, q.len, NULL), 0x9000);
	buf_free(&q);
}

/* GENERATE in a slot as yubico-piv-tool does; returns the public key. */
static EVP_PKEY *
raw_generate(struct fx *f, uint8_t slot, uint8_t alg, uint8_t pin_policy)
{
	uint8_t t[8] = {0xAC, 0x03, 0x80, 0x01, alg, 0xAA, 0x01, pin_policy};
	struct mdp_buf r;
	struct mdp_key *k = NULL;
	EVP_PKEY *pk = NULL;

	CU_ASSERT_EQUAL(
		md_authenticate_ex(f->card, MD_ROLE_ADMIN, 0, mgmt_default, 24, NULL, NULL, NULL),
		MD_OK);
	buf_init(&r);
	if (pin_policy)
		t[1] = 0x06;
	CU_ASSERT_EQUAL(raw(f, 0x47, 0x00, slot, t, pin_policy ? 8 : 5, &r), 0x9000);
	CU_ASSERT_EQUAL(piv_generate_answer(r.data, r.len, alg, &k), MDP_OK);
	if (k) {
		pk = mdp_key_pkey(k);
		EVP_PKEY_up_ref(pk);
	}
	mdp_key_free(k);
	buf_free(&r);
	return pk;
}

/* A certificate in a slot's object, as yubico-piv-tool -a import-certificate writes it. */
static void
raw_put_cert(struct fx *f, uint8_t slot, const uint8_t *der, size_t len)
{
	struct mdp_buf v;

	buf_init(&v);
	CU_ASSERT_EQUAL(piv_cert_object_build(der, len, PIV_OBJECT_MAX, &v), MDP_OK);
	put_object(f, piv_cert_tag(slot), v.data, v.len);
	buf_free(&v);
}

/* The host's part after create_container: the cmapfile record (spec/minidriver.md §11). */
static void
host_record(struct fx *f, uint8_t idx, uint32_t spec, unsigned bits, const char *name)
{
	uint8_t *old = NULL, rec[86];
	size_t n = 0, i;
	struct mdp_buf b;
	bool have_default = false;

	CU_ASSERT_EQUAL_FATAL(md_read_file(f->card, "mscp", "cmapfile", 0, &old, &n), MD_OK);
	for (i = 0; i + 86 <= n; i += 86)
		have_default |= (old[i + 80] & 0x03) == 0x03;
	buf_init(&b);
	buf_put_bytes(&b, old, n);
	while (b.len < (size_t)(idx + 1) * 86)
		buf_put_zeros(&b, 86);
	memset(rec, 0, sizeof(rec));
	for (i = 0; name[i]; i++)
		rec[2 * i] = (uint8_t)name[i];
	rec[80] = have_default ? 0x01 : 0x03;
	if (MDP_KEY_SPEC_IS_SIG_SLOT(spec)) {
		rec[82] = (uint8_t)bits;
		rec[83] = (uint8_t)(bits >> 8);
	} else {
		rec[84] = (uint8_t)bits;
		rec[85] = (uint8_t)(bits >> 8);
	}
	memcpy(b.data + (size_t)idx * 86, rec, 86);
	CU_ASSERT_EQUAL(md_write_file(f->card, "mscp", "cmapfile", 0, b.data, b.len), MD_OK);
	buf_free(&b);
	free(old);
}

static void
host_generate(struct fx *f, uint8_t idx, uint32_t spec, unsigned bits, const char *name)
{
	CU_ASSERT_EQUAL_FATAL(md_create_container(f->card, idx, MD_CREATE_KEY_GEN, spec,
						  MDP_KEY_SPEC_IS_RSA(spec) ? bits : 0, NULL, 0),
			      MD_OK);
	host_record(f, idx, spec, bits, name);
}

static EVP_PKEY *
container_key(struct fx *f, uint8_t idx, uint32_t spec)
{
	struct md_container_info ci = {.version = 1};
	struct mdp_key *k = NULL;
	EVP_PKEY *pk = NULL;
	const uint8_t *blob;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(md_get_container_info(f->card, idx, 0, &ci), MD_OK);
	blob = MDP_KEY_SPEC_IS_SIG_SLOT(spec) ? ci.sig_public_key : ci.kx_public_key;
	len = MDP_KEY_SPEC_IS_SIG_SLOT(spec) ? ci.sig_public_key_len : ci.kx_public_key_len;
	CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
	CU_ASSERT_PTR_NULL(MDP_KEY_SPEC_IS_SIG_SLOT(spec) ? ci.kx_public_key : ci.sig_public_key);
	CU_ASSERT_EQUAL_FATAL(blob_parse(blob, len, BLOB_FMT_UNKNOWN, 0, &k), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_spec(k), (enum mdp_key_spec)spec);
	pk = mdp_key_pkey(k);
	EVP_PKEY_up_ref(pk);
	mdp_key_free(k);
	md_container_info_clear(&ci);
	return pk;
}

/* The records of the card's MSCMAP object. */
static size_t
card_map(struct fx *f, struct piv_cmap_rec **recs)
{
	struct mdp_buf b;
	size_t n = 0;
	bool wide = true;

	*recs = NULL;
	buf_init(&b);
	if (get_object(f, PIV_OBJ_MSCMAP, &b)) {
		CU_ASSERT_EQUAL(piv_mscmap_parse(b.data, b.len, recs, &n, &wide), MDP_OK);
		CU_ASSERT_FALSE(wide);
	}
	buf_free(&b);
	return n;
}

static bool
has_name(const char *names, const char *want)
{
	const char *s;

	for (s = names; s && *s; s += strlen(s) + 1)
		if (strcmp(s, want) == 0)
			return true;
	return false;
}

/* ---- identification and identity ---- */

static void
test_identify(void)
{
	struct fx f;
	struct md_card *c2 = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	static const uint8_t plain_atr[] = {0x3B, 0x88, 0x80, 0x01, 'P', 'I', 'V',
					    'c',  'a',	'r',  'd',  '!', 0x00};

	fx_open(&f);
	CU_ASSERT_STRING_EQUAL(md_card_name(f.card), "PIV");
	CU_ASSERT_TRUE(md_piv_atr_known((const uint8_t *)"\x3B\xFD\x13\x00\x00\x81\x31\xFE\x15"
							 "\x80\x73\xC0\x21\xC0\x57YubiKey\x40",
					23));
	CU_ASSERT_FALSE(md_piv_atr_known(plain_atr, sizeof(plain_atr)));
	/* a PIV card with another ATR is found by its application, after the GIDS probe */
	CU_ASSERT_EQUAL(
		vcard_set_atr(mdp_transport_embedded_vcard(f.t), plain_atr, sizeof(plain_atr)),
		MDP_OK);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &c2), MD_OK);
	CU_ASSERT_STRING_EQUAL(md_card_name(c2), "PIV");
	CU_ASSERT_EQUAL(md_read_file(c2, NULL, "cardapps", 0, &p, &n), MD_OK);
	CU_ASSERT(n == 8 && memcmp(p, "mscp\0\0\0\0", 8) == 0);
	free(p);
	md_card_delete(c2);
	fx_close(&f);
}

static void
test_cardid_cardcf(void)
{
	struct fx f;
	uint8_t *id = NULL, *id2 = NULL, *cf = NULL, mine[6];
	size_t n = 0, n2 = 0;
	struct mdp_buf ch;
	struct piv_chuid c;
	struct md_card *c2 = NULL;

	fx_open(&f);
	CU_ASSERT_EQUAL(md_read_file(f.card, NULL, "cardid", 0, &id, &n), MD_OK);
	CU_ASSERT_EQUAL(n, 16u);
	buf_init(&ch);
	CU_ASSERT_TRUE_FATAL(get_object(&f, PIV_OBJ_CHUID, &ch));
	CU_ASSERT_EQUAL(piv_chuid_parse(ch.data, ch.len, &c), MDP_OK);
	/* cardid: the GUID's first ten bytes (docs/piv.md) */
	CU_ASSERT_MEM_EQUAL(id, c.guid, 10);
	CU_ASSERT_MEM_EQUAL(id + 10, "\0\0\0\0\0\0", 6);
	buf_free(&ch);
	CU_ASSERT_EQUAL(md_read_file(f.card, NULL, "cardcf", 0, &cf, &n), MD_OK);
	CU_ASSERT_EQUAL(n, 6u);
	CU_ASSERT_MEM_EQUAL(cf + 2, c.guid + 12, 4);
	/* the host bumps the counters: the card gets a new GUID carrying them */
	memcpy(mine, cf, 6);
	mine[2]++;
	mine[4]++;
	CU_ASSERT_EQUAL(md_write_file(f.card, NULL, "cardcf", 0, mine, 6), MD_OK);
	free(cf);
	CU_ASSERT_EQUAL(md_read_file(f.card, NULL, "cardcf", 0, &cf, &n), MD_OK);
	CU_ASSERT_MEM_EQUAL(cf, mine, 6);
	free(cf);
	buf_init(&ch);
	CU_ASSERT_TRUE(get_object(&f, PIV_OBJ_CHUID, &ch));
	CU_ASSERT_EQUAL(piv_chuid_parse(ch.data, ch.len, &c), MDP_OK);
	CU_ASSERT_MEM_EQUAL(c.guid, id, 10);
	CU_ASSERT_MEM_EQUAL(c.guid + 12, mine + 2, 4);
	buf_free(&ch);
	/* a PIN counter alone needs no card write (and no management key) */
	mine[1]++;
	CU_ASSERT_EQUAL(md_write_file(f.card, NULL, "cardcf", 0, mine, 6), MD_OK);
	/* another context: the same card, the same counters */
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &c2), MD_OK);
	CU_ASSERT_EQUAL(md_read_file(c2, NULL, "cardid", 0, &id2, &n2), MD_OK);
	CU_ASSERT(n2 == 16 && memcmp(id, id2, 16) == 0);
	free(id2);
	CU_ASSERT_EQUAL(md_read_file(c2, NULL, "cardcf", 0, &cf, &n), MD_OK);
	CU_ASSERT_MEM_EQUAL(cf + 2, mine + 2, 4);
	free(cf);
	md_card_delete(c2);
	free(id);
	fx_close(&f);
}

/* ---- containers ---- */

static void
test_generate_map(void)
{
	struct fx f;
	struct piv_cmap_rec *r = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	char *names = NULL;
	struct md_free_space fs = {.version = 1};
	struct mdp_buf kh;
	EVP_PKEY *k0, *k1;

	fx_open(&f);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "cmapfile", 0, &p, &n), MD_OK);
	CU_ASSERT_EQUAL(n, 0u);
	free(p);
	CU_ASSERT_EQUAL(md_query_free_space(f.card, 0, &fs), MD_OK);
	CU_ASSERT_EQUAL(fs.max_containers, 24u);
	CU_ASSERT_EQUAL(fs.containers_available, 24u);
	login(&f);
	host_generate(&f, 0, MDP_AT_KEYEXCHANGE, 2048, "{first}");
	host_generate(&f, 1, MDP_AT_ECDSA_P256, 256, "{second}");
	/* the map: Windows' 107-byte records, 9A first, then the retired slots */
	CU_ASSERT_EQUAL(card_map(&f, &r), 2u);
	if (r) {
		CU_ASSERT_EQUAL(r[0].slot, 0x9A);
		CU_ASSERT_EQUAL(r[0].key_spec, MDP_AT_KEYEXCHANGE);
		CU_ASSERT_EQUAL(r[0].key_bits, 2048);
		CU_ASSERT_EQUAL(r[0].flags, 0x03);
		CU_ASSERT_EQUAL(r[0].pin_id, 1);
		CU_ASSERT_EQUAL(r[0].ecdh, 0xFF);
		CU_ASSERT_EQUAL(r[0].name[0], '{');
		CU_ASSERT_EQUAL(r[1].slot, 0x82);
		CU_ASSERT_EQUAL(r[1].key_spec, MDP_AT_ECDSA_P256);
		CU_ASSERT_EQUAL(r[1].key_bits, 256);
		CU_ASSERT_EQUAL(r[1].flags, 0x01);
	}
	free(r);
	/* the Key History now names one retired slot, so OpenSC sees it (spec §5.4) */
	buf_init(&kh);
	CU_ASSERT_TRUE(get_object(&f, PIV_OBJ_KEY_HISTORY, &kh));
	CU_ASSERT(kh.len == 8 && memcmp(kh.data, "\xC1\x01\x01\xC2\x01\x00\xFE\x00", 8) == 0);
	buf_free(&kh);
	k0 = container_key(&f, 0, MDP_AT_KEYEXCHANGE);
	k1 = container_key(&f, 1, MDP_AT_ECDSA_P256);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(k0), 2048);
	/* another context reads the same view from the card (public keys by GET METADATA) */
	{
		struct md_card *c2 = NULL;
		struct fx g = f;
		EVP_PKEY *again;

		CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &c2), MD_OK);
		g.card = c2;
		again = container_key(&g, 0, MDP_AT_KEYEXCHANGE);
		CU_ASSERT_EQUAL(EVP_PKEY_eq(again, k0), 1);
		EVP_PKEY_free(again);
		again = container_key(&g, 1, MDP_AT_ECDSA_P256);
		CU_ASSERT_EQUAL(EVP_PKEY_eq(again, k1), 1);
		EVP_PKEY_free(again);
		CU_ASSERT_EQUAL(md_read_file(c2, "mscp", "cmapfile", 0, &p, &n), MD_OK);
		CU_ASSERT_EQUAL(n, 172u);
		if (n == 172) {
			CU_ASSERT_EQUAL(p[80], 0x03);
			CU_ASSERT_EQUAL(p[84] | p[85] << 8, 2048);
			CU_ASSERT_EQUAL(p[86 + 82] | p[86 + 83] << 8, 256);
		}
		free(p);
		md_card_delete(c2);
	}
	CU_ASSERT_EQUAL(md_query_free_space(f.card, 0, &fs), MD_OK);
	CU_ASSERT_EQUAL(fs.containers_available, 22u);
	CU_ASSERT_EQUAL(md_enum_files(f.card, "mscp", &names, &n, 0), MD_OK);
	CU_ASSERT_TRUE(has_name(names, "cmapfile"));
	CU_ASSERT_FALSE(has_name(names, "kxc00"));
	free(names);
	/* a record for an index without a key, or with the wrong size, is refused */
	{
		uint8_t rec[3 * 86];

		CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "cmapfile", 0, &p, &n), MD_OK);
		memcpy(rec, p, 172);
		free(p);
		memset(rec + 172, 0, 86);
		rec[172] = 'x';
		rec[172 + 80] = 1;
		rec[172 + 84] = 0x00;
		rec[172 + 85] = 0x08;
		CU_ASSERT_EQUAL(md_write_file(f.card, "mscp", "cmapfile", 0, rec, sizeof(rec)),
				MD_E_INVALID_PARAMETER);
		rec[172 + 80] = 0;
		rec[84] = 0x00;
		rec[85] = 0x04;
		CU_ASSERT_EQUAL(md_write_file(f.card, "mscp", "cmapfile", 0, rec, sizeof(rec)),
				MD_E_INVALID_PARAMETER);
		CU_ASSERT_EQUAL(md_write_file(f.card, "mscp", "cmapfile", 0, rec, 87),
				MD_E_INVALID_PARAMETER);
	}
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
	fx_close(&f);
}

static void
test_rsa_ops(void)
{
	struct fx f;
	EVP_PKEY *pk;
	uint8_t hash[32], *ct = NULL, le[256];
	size_t ctl = 0, i;
	struct md_signing_info si;
	struct md_padding_info pi = {.alg_id = "SHA256", .salt_len = 32};
	struct md_rsa_decrypt_info di;
	EVP_PKEY_CTX *c;
	static const uint8_t msg[] = "a secret for the card";

	fx_open(&f);
	login(&f);
	host_generate(&f, 0, MDP_AT_KEYEXCHANGE, 2048, "rsa");
	pk = container_key(&f, 0, MDP_AT_KEYEXCHANGE);
	tc_sha256("data", 4, hash);
	/* PKCS#1 v1.5 with the DigestInfo of CALG_SHA_256, then PSS, then raw */
	memset(&si, 0, sizeof(si));
	si.version = 2;
	si.container_index = 0;
	si.key_spec = MDP_AT_KEYEXCHANGE;
	si.hash_alg = MDP_CALG_SHA_256;
	si.data = hash;
	si.data_len = 32;
	CU_ASSERT_EQUAL_FATAL(md_sign_data(f.card, &si), MD_OK);
	CU_ASSERT_EQUAL(si.signature_len, 256u);
	CU_ASSERT_TRUE(tc_verify_rsa_le(pk, RSA_PKCS1_PADDING, EVP_sha256(), 32, hash, 32,
					si.signature, si.signature_len));
	free(si.signature);
	si.signature = NULL;
	si.flags = MD_PADDING_INFO_PRESENT;
	si.padding_type = MD_PADDING_PSS;
	si.padding_info = &pi;
	CU_ASSERT_EQUAL_FATAL(md_sign_data(f.card, &si), MD_OK);
	CU_ASSERT_TRUE(tc_verify_rsa_le(pk, RSA_PKCS1_PSS_PADDING, EVP_sha256(), 32, hash, 32,
					si.signature, si.signature_len));
	free(si.signature);
	si.signature = NULL;
	si.flags = MD_BUFFER_SIZE_ONLY;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	CU_ASSERT_EQUAL(si.signature_len, 256u);
	CU_ASSERT_PTR_NULL(si.signature);
	/* an unknown hash, a digest of the wrong length */
	si.flags = 0;
	si.hash_alg = 0x80FF;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_UNSUPPORTED_FEATURE);
	si.hash_alg = MDP_CALG_SHA1;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_INVALID_PARAMETER);
	/* the wrong key spec for the container */
	si.hash_alg = MDP_CALG_SHA_256;
	si.key_spec = MDP_AT_SIGNATURE;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_NO_KEY_CONTAINER);
	si.key_spec = MDP_AT_KEYEXCHANGE;
	si.container_index = 5;
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_E_NO_KEY_CONTAINER);

	/* decryption: PKCS#1 and OAEP unpadded on the host, raw returns the block */
	for (int pad = 0; pad < 3; pad++) {
		int opad = pad == 0   ? RSA_PKCS1_PADDING
			   : pad == 1 ? RSA_PKCS1_OAEP_PADDING
				      : RSA_NO_PADDING;
		uint8_t in[256];
		struct md_padding_info oaep = {.alg_id = "SHA256"};

		c = EVP_PKEY_CTX_new(pk, NULL);
		CU_ASSERT_EQUAL(EVP_PKEY_encrypt_init(c), 1);
		EVP_PKEY_CTX_set_rsa_padding(c, opad);
		if (pad == 1) {
			EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256());
			EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256());
		}
		memset(in, 0, sizeof(in));
		memcpy(in + (pad == 2 ? 256 - sizeof(msg) : 0), msg, sizeof(msg));
		ctl = 256;
		ct = malloc(ctl);
		CU_ASSERT_EQUAL(EVP_PKEY_encrypt(c, ct, &ctl, pad == 2 ? in : msg,
						 pad == 2 ? 256 : sizeof(msg)),
				1);
		EVP_PKEY_CTX_free(c);
		for (i = 0; i < ctl; i++)
			le[i] = ct[ctl - 1 - i];
		memset(&di, 0, sizeof(di));
		di.version = 2;
		di.container_index = 0;
		di.key_spec = MDP_AT_KEYEXCHANGE;
		di.data = le;
		di.data_len = ctl;
		di.padding_type = pad == 0   ? MD_PADDING_PKCS1
				  : pad == 1 ? MD_PADDING_OAEP
					     : MD_PADDING_NONE;
		di.padding_info = pad == 1 ? &oaep : NULL;
		CU_ASSERT_EQUAL(md_rsa_decrypt(f.card, &di), MD_OK);
		CU_ASSERT_EQUAL(di.data_len, pad == 2 ? 256 : sizeof(msg));
		for (i = 0; i < sizeof(msg); i++)
			CU_ASSERT_EQUAL(di.data[sizeof(msg) - 1 - i], msg[i]);
		/*
		 * The same ciphertext with the other padding never gives the message back. A
		 * PKCS#1 v1.5 check of an OAEP block passes by chance (about 2^-16: 02 second,
		 * a zero after eight nonzero bytes), so the result is compared, not the code.
		 */
		if (pad < 2) {
			enum md_rv other;

			for (i = 0; i < ctl; i++)
				le[i] = ct[ctl - 1 - i];
			di.data_len = ctl;
			di.padding_type = pad == 0 ? MD_PADDING_OAEP : MD_PADDING_PKCS1;
			di.padding_info = &oaep;
			other = md_rsa_decrypt(f.card, &di);
			if (pad == 0)
				CU_ASSERT_EQUAL(other, MD_E_INVALID_PARAMETER);
			CU_ASSERT(other != MD_OK || di.data_len != sizeof(msg) ||
				  di.data[sizeof(msg) - 1] != msg[0]);
		}
		free(ct);
	}
	di.data_len = 255;
	di.padding_type = MD_PADDING_NONE;
	CU_ASSERT_EQUAL(md_rsa_decrypt(f.card, &di), MD_E_INSUFFICIENT_BUFFER);
	EVP_PKEY_free(pk);
	fx_close(&f);
}

static void
test_ec_ops(void)
{
	struct fx f;
	EVP_PKEY *pk, *pk2, *peer = mdp_pkey_keygen_ec("P-384");
	uint8_t hash[48], *blob = NULL, want[48];
	size_t bl = 0, wl = sizeof(want), i;
	struct md_signing_info si;
	struct md_dh_agreement_info ai = {.version = 2};
	struct md_derive_key dk = {.version = 2, .kdf = MD_KDF_TRUNCATE};
	struct mdp_key *pm = NULL;
	EVP_PKEY_CTX *c;

	fx_open(&f);
	login(&f);
	host_generate(&f, 0, MDP_AT_ECDSA_P256, 256, "ecdsa");
	host_generate(&f, 1, MDP_AT_ECDHE_P384, 384, "ecdh");
	pk = container_key(&f, 0, MDP_AT_ECDSA_P256);
	pk2 = container_key(&f, 1, MDP_AT_ECDHE_P384);
	/* a hash of the field's size, a shorter and a longer one (truncated as FIPS 186) */
	for (size_t hl = 20; hl <= 48; hl += 12) {
		for (i = 0; i < hl; i++)
			hash[i] = (uint8_t)(i * 7 + 1);
		memset(&si, 0, sizeof(si));
		si.version = 2;
		si.key_spec = MDP_AT_ECDSA_P256;
		si.data = hash;
		si.data_len = hl;
		CU_ASSERT_EQUAL_FATAL(md_sign_data(f.card, &si), MD_OK);
		CU_ASSERT_EQUAL(si.signature_len, 64u);
		CU_ASSERT_TRUE(tc_verify_ecdsa_rs(pk, hash, hl > 32 ? 32 : hl, si.signature, 64));
		free(si.signature);
	}
	/* an ECDH key does not sign, an ECDSA key does not agree */
	si.container_index = 1;
	si.key_spec = MDP_AT_ECDHE_P384;
	CU_ASSERT_NOT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	CU_ASSERT_EQUAL(mdp_key_from_pkey(peer, MDP_AT_ECDHE_P384, &pm), MDP_OK);
	CU_ASSERT_EQUAL(blob_write(pm, BLOB_FMT_CNG_ECC_PUBLIC, MDP_AT_ECDHE_P384, &blob, &bl),
			MDP_OK);
	ai.public_key = blob;
	ai.public_key_len = bl;
	ai.container_index = 0;
	CU_ASSERT_EQUAL(md_construct_dh_agreement(f.card, &ai), MD_E_NO_KEY_CONTAINER);
	ai.container_index = 1;
	CU_ASSERT_EQUAL_FATAL(md_construct_dh_agreement(f.card, &ai), MD_OK);
	dk.secret_agreement_index = ai.secret_agreement_index;
	CU_ASSERT_EQUAL_FATAL(md_derive_key(f.card, &dk), MD_OK);
	c = EVP_PKEY_CTX_new(peer, NULL);
	CU_ASSERT(EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, pk2) == 1 &&
		  EVP_PKEY_derive(c, want, &wl) == 1);
	EVP_PKEY_CTX_free(c);
	CU_ASSERT_EQUAL(dk.derived_key_len, 48u);
	for (i = 0; i < 48 && dk.derived_key; i++)
		CU_ASSERT_EQUAL(dk.derived_key[i], want[47 - i]); /* little-endian */
	mdp_secure_free(dk.derived_key, dk.derived_key_len);
	CU_ASSERT_EQUAL(md_destroy_dh_agreement(f.card, ai.secret_agreement_index, 0), MD_OK);
	CU_ASSERT_EQUAL(md_destroy_dh_agreement(f.card, ai.secret_agreement_index, 0),
			MD_E_INVALID_PARAMETER);
	/* a peer on another curve */
	free(blob);
	mdp_key_free(pm);
	EVP_PKEY_free(peer);
	peer = mdp_pkey_keygen_ec("P-256");
	mdp_key_from_pkey(peer, MDP_AT_ECDHE_P256, &pm);
	blob_write(pm, BLOB_FMT_CNG_ECC_PUBLIC, MDP_AT_ECDHE_P256, &blob, &bl);
	ai.public_key = blob;
	ai.public_key_len = bl;
	CU_ASSERT_EQUAL(md_construct_dh_agreement(f.card, &ai), MD_E_INVALID_PARAMETER);
	free(blob);
	mdp_key_free(pm);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(pk2);
	fx_close(&f);
}

static void
test_import_delete(void)
{
	struct fx f;
	EVP_PKEY *rk = mdp_pkey_keygen_rsa(1024), *ek = mdp_pkey_keygen_ec("P-384"), *got;
	struct mdp_key *k = NULL;
	uint8_t *blob = NULL, *der = NULL, *p = NULL;
	size_t bl = 0, dl = 0, n = 0;
	struct piv_cmap_rec *r = NULL;
	char *names = NULL;
	struct mdp_buf obj;

	fx_open(&f);
	login(&f);
	mdp_key_from_pkey(rk, MDP_AT_SIGNATURE, &k);
	blob_write(k, BLOB_FMT_CAPI_PRIVATE, MDP_AT_SIGNATURE, &blob, &bl);
	mdp_key_free(k);
	/* the blob's CALG must be the key spec's */
	CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_IMPORT, MDP_AT_KEYEXCHANGE,
					    1024, blob, bl),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL_FATAL(md_create_container(f.card, 0, MD_CREATE_KEY_IMPORT, MDP_AT_SIGNATURE,
						  1024, blob, bl),
			      MD_OK);
	mdp_secure_free(blob, bl);
	host_record(&f, 0, MDP_AT_SIGNATURE, 1024, "imported rsa");
	got = container_key(&f, 0, MDP_AT_SIGNATURE);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(got, rk), 1);
	EVP_PKEY_free(got);
	mdp_key_from_pkey(ek, MDP_AT_ECDHE_P384, &k);
	blob_write(k, BLOB_FMT_CNG_ECC_PRIVATE, MDP_AT_ECDHE_P384, &blob, &bl);
	mdp_key_free(k);
	CU_ASSERT_EQUAL_FATAL(md_create_container(f.card, 1, MD_CREATE_KEY_IMPORT,
						  MDP_AT_ECDHE_P384, 0, blob, bl),
			      MD_OK);
	mdp_secure_free(blob, bl);
	host_record(&f, 1, MDP_AT_ECDHE_P384, 384, "imported ec");
	got = container_key(&f, 1, MDP_AT_ECDHE_P384);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(got, ek), 1);
	EVP_PKEY_free(got);

	/* a certificate for container 1 lands in slot 82's object, plain */
	der = tc_cert_for(ek, "imported ec", &dl);
	CU_ASSERT_EQUAL(md_create_file(f.card, "mscp", "kxc01", 0, MD_AC_EVERYONE_READ_USER_WRITE),
			MD_OK);
	CU_ASSERT_EQUAL(md_write_file(f.card, "mscp", "kxc01", 0, der, dl), MD_OK);
	buf_init(&obj);
	CU_ASSERT_TRUE(get_object(&f, 0x5FC10D, &obj));
	CU_ASSERT(obj.len > 5 && obj.data[0] == 0x70 &&
		  memcmp(obj.data + obj.len - 5, "\x71\x01\x00\xFE\x00", 5) == 0);
	buf_free(&obj);
	CU_ASSERT_EQUAL(md_enum_files(f.card, "mscp", &names, &n, 0), MD_OK);
	CU_ASSERT_TRUE(has_name(names, "kxc01"));
	free(names);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "KXC01", 0, &p, &n), MD_OK);
	CU_ASSERT(n == dl && memcmp(p, der, dl) == 0);
	free(p);
	/* the record's fingerprint is the certificate's SHA-1 (docs/piv.md) */
	CU_ASSERT_EQUAL(card_map(&f, &r), 2u);
	if (r) {
		uint8_t h[20];
		unsigned hl = 0;

		EVP_Digest(der, dl, h, &hl, EVP_sha1(), NULL);
		CU_ASSERT_MEM_EQUAL(r[1].fingerprint, h, 20);
	}
	free(r);
	/* a certificate for an index without a key, or not a certificate at all */
	CU_ASSERT_EQUAL(md_create_file(f.card, "mscp", "kxc05", 0, MD_AC_EVERYONE_READ_USER_WRITE),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_write_file(f.card, "mscp", "kxc01", 0, (const uint8_t *)"\x30\x00", 2),
			MD_E_INVALID_PARAMETER);

	/* delete: the key is destroyed, the certificate goes with the host's delete */
	CU_ASSERT_EQUAL(md_delete_container(f.card, 1, 0), MD_OK);
	{
		struct md_container_info ci = {.version = 1};

		CU_ASSERT_EQUAL(md_get_container_info(f.card, 1, 0, &ci), MD_E_NO_KEY_CONTAINER);
	}
	CU_ASSERT_EQUAL(md_delete_file(f.card, "mscp", "kxc01", 0), MD_OK);
	buf_init(&obj);
	CU_ASSERT_FALSE(get_object(&f, 0x5FC10D, &obj));
	buf_free(&obj);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "cmapfile", 0, &p, &n), MD_OK);
	CU_ASSERT_EQUAL(n, 172u);
	memset(p + 86, 0, 86);
	CU_ASSERT_EQUAL(md_write_file(f.card, "mscp", "cmapfile", 0, p, n), MD_OK);
	free(p);
	CU_ASSERT_EQUAL(card_map(&f, &r), 1u);
	free(r);
	/* its slot is free again: the next key takes it */
	host_generate(&f, 1, MDP_AT_ECDSA_P256, 256, "again");
	CU_ASSERT_EQUAL(card_map(&f, &r), 2u);
	if (r)
		CU_ASSERT_EQUAL(r[1].slot, 0x82);
	free(r);
	CU_ASSERT_EQUAL(md_delete_container(f.card, 9, 0), MD_OK);
	OPENSSL_free(der);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ek);
	fx_close(&f);
}

/* ---- cards other tools set up ---- */

static void
test_foreign_slots(void)
{
	struct fx f;
	EVP_PKEY *k9c, *k9d, *k82, *k9e, *got;
	uint8_t *der, *p = NULL;
	size_t dl = 0, n = 0;
	struct mdp_buf ch;
	struct piv_chuid c;
	uint32_t pin_id = 0;
	char *names = NULL;

	fx_open(&f);
	/* as yubico-piv-tool -a generate + selfsign + import-certificate leave a card */
	k9c = raw_generate(&f, 0x9C, PIV_ALG_RSA2048, 0);
	k9d = raw_generate(&f, 0x9D, PIV_ALG_P256, 0);
	k82 = raw_generate(&f, 0x82, PIV_ALG_P384, 0);
	k9e = raw_generate(&f, 0x9E, PIV_ALG_P256, 0);
	der = tc_cert_for(k9c, "sign", &dl);
	raw_put_cert(&f, 0x9C, der, dl);
	OPENSSL_free(der);
	der = tc_cert_for(k9d, "keyman", &dl);
	raw_put_cert(&f, 0x9D, der, dl);
	OPENSSL_free(der);
	der = tc_cert_for(k82, "retired", &dl);
	raw_put_cert(&f, 0x82, der, dl);
	OPENSSL_free(der);
	der = tc_cert_for(k9e, "cardauth", &dl);
	raw_put_cert(&f, 0x9E, der, dl);
	OPENSSL_free(der);
	/* no Key History yet: the retired slot is not looked at (as OpenSC) */
	{
		struct md_card *c2 = NULL;

		CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &c2), MD_OK);
		CU_ASSERT_EQUAL(md_read_file(c2, "mscp", "cmapfile", 0, &p, &n), MD_OK);
		CU_ASSERT_EQUAL(n, 4u * 86u);
		free(p);
		md_card_delete(c2);
	}
	put_object(&f, PIV_OBJ_KEY_HISTORY, (const uint8_t *)"\xC1\x01\x01\xC2\x01\x00\xFE\x00", 8);
	md_card_delete(f.card);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
	/* containers at the slots' own indexes: 9C 1, 9D 2, 9E 3, 82 4 */
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "cmapfile", 0, &p, &n), MD_OK);
	CU_ASSERT_EQUAL_FATAL(n, 5u * 86u);
	CU_ASSERT_EQUAL(p[80], 0);
	CU_ASSERT_EQUAL(p[86 + 80], 0x03); /* 9C: the first behind the PIN is the default */
	CU_ASSERT_EQUAL(p[86 + 82] | p[86 + 83] << 8, 2048);
	CU_ASSERT_EQUAL(p[2 * 86 + 80], 0x01);
	CU_ASSERT_EQUAL(p[2 * 86 + 84] | p[2 * 86 + 85] << 8, 256); /* 9D EC: ECDH */
	CU_ASSERT_EQUAL(p[3 * 86 + 82] | p[3 * 86 + 83] << 8, 256); /* 9E: ECDSA */
	CU_ASSERT_EQUAL(p[4 * 86 + 84] | p[4 * 86 + 85] << 8, 384); /* 82: ECDH */
	/* names: the CHUID GUID with the certificate tag, as Windows' PIV driver (FreeRDP) */
	buf_init(&ch);
	CU_ASSERT_TRUE(get_object(&f, PIV_OBJ_CHUID, &ch));
	CU_ASSERT_EQUAL(piv_chuid_parse(ch.data, ch.len, &c), MDP_OK);
	{
		char want[40], got_name[40];
		size_t i;
		const uint8_t *g = c.guid;

		snprintf(want, sizeof(want),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x5fc10a", g[3],
			 g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12]);
		for (i = 0; i < 39; i++)
			got_name[i] = (char)p[86 + 2 * i];
		got_name[39] = '\0';
		CU_ASSERT_STRING_EQUAL(got_name, want);
	}
	buf_free(&ch);
	free(p);
	got = container_key(&f, 1, MDP_AT_SIGNATURE);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(got, k9c), 1);
	EVP_PKEY_free(got);
	got = container_key(&f, 4, MDP_AT_ECDHE_P384);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(got, k82), 1);
	EVP_PKEY_free(got);
	CU_ASSERT_EQUAL(md_enum_files(f.card, "mscp", &names, &n, 0), MD_OK);
	CU_ASSERT_TRUE(has_name(names, "ksc01"));
	CU_ASSERT_TRUE(has_name(names, "kxc02"));
	CU_ASSERT_TRUE(has_name(names, "ksc03"));
	CU_ASSERT_TRUE(has_name(names, "kxc04"));
	free(names);
	/* 9C wants the PIN for each signature: PIN id 4 (docs/piv.md) */
	CU_ASSERT_EQUAL(md_get_container_property(f.card, 1, MD_CCP_PIN_IDENTIFIER, &pin_id,
						  sizeof(pin_id), &n, 0),
			MD_OK);
	CU_ASSERT_EQUAL(pin_id, 4u);
	CU_ASSERT_EQUAL(md_get_container_property(f.card, 2, MD_CCP_PIN_IDENTIFIER, &pin_id,
						  sizeof(pin_id), &n, 0),
			MD_OK);
	CU_ASSERT_EQUAL(pin_id, 1u);
	{
		uint8_t hash[32];
		struct md_signing_info si = {.version = 2,
					     .container_index = 1,
					     .key_spec = MDP_AT_SIGNATURE,
					     .hash_alg = MDP_CALG_SHA_256,
					     .data = hash,
					     .data_len = 32};

		tc_sha256("x", 1, hash);
		login(&f);
		/* the VERIFY of the login was not right before it (another command came between) */
		CU_ASSERT_EQUAL(md_read_file(f.card, NULL, "cardapps", 0, &p, &n), MD_OK);
		free(p);
		{
			struct mdp_buf r;

			buf_init(&r);
			CU_ASSERT_EQUAL(raw(&f, 0xFD, 0, 0, NULL, 0, &r), 0x9000);
			buf_free(&r);
		}
		CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_W_SECURITY_VIOLATION);
		CU_ASSERT_EQUAL(md_authenticate_ex(f.card, 4, 0, (const uint8_t *)"123456", 6, NULL,
						   NULL, NULL),
				MD_OK);
		CU_ASSERT_EQUAL_FATAL(md_sign_data(f.card, &si), MD_OK);
		CU_ASSERT_TRUE(tc_verify_rsa_le(k9c, RSA_PKCS1_PADDING, EVP_sha256(), 32, hash, 32,
						si.signature, si.signature_len));
		free(si.signature);
		si.signature = NULL;
		/* the consent was for one signature */
		CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_W_SECURITY_VIOLATION);
		/* a key elsewhere whose policy is "always" (made by another tool) works too */
		{
			EVP_PKEY *k85 = raw_generate(&f, 0x83, PIV_ALG_P256, PIV_PIN_POLICY_ALWAYS);
			uint8_t *cd = NULL;
			size_t cdl = 0;
			struct md_signing_info s2 = si;

			cd = tc_cert_for(k85, "always", &cdl);
			raw_put_cert(&f, 0x83, cd, cdl);
			OPENSSL_free(cd);
			put_object(&f, PIV_OBJ_KEY_HISTORY,
				   (const uint8_t *)"\xC1\x01\x02\xC2\x01\x00\xFE\x00", 8);
			md_card_delete(f.card);
			CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
			s2.container_index = 5;
			s2.key_spec = MDP_AT_ECDHE_P256;
			/* an ECDH key in a retired slot: not a signing key; use ECDH instead */
			CU_ASSERT_EQUAL(md_authenticate_ex(f.card, 4, 0, (const uint8_t *)"123456",
							   6, NULL, NULL, NULL),
					MD_OK);
			{
				EVP_PKEY *peer = mdp_pkey_keygen_ec("P-256");
				struct mdp_key *pm = NULL;
				uint8_t *pb = NULL;
				size_t pbl = 0;
				struct md_dh_agreement_info ai = {.version = 2,
								  .container_index = 5};

				mdp_key_from_pkey(peer, MDP_AT_ECDHE_P256, &pm);
				blob_write(pm, BLOB_FMT_CNG_ECC_PUBLIC, MDP_AT_ECDHE_P256, &pb,
					   &pbl);
				ai.public_key = pb;
				ai.public_key_len = pbl;
				CU_ASSERT_EQUAL(md_construct_dh_agreement(f.card, &ai), MD_OK);
				md_destroy_dh_agreement(f.card, ai.secret_agreement_index, 0);
				free(pb);
				mdp_key_free(pm);
				EVP_PKEY_free(peer);
			}
			(void)s2;
			EVP_PKEY_free(k85);
		}
		/* 9E needs no PIN at all (PIN policy never) */
		CU_ASSERT_EQUAL(md_deauthenticate_ex(f.card, MD_PIN_SET_ALL_ROLES, 0), MD_OK);
		si.container_index = 3;
		si.key_spec = MDP_AT_ECDSA_P256;
		CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
		free(si.signature);
	}
	/* the first write through mdp11 keeps these containers where they are, in a map */
	login(&f);
	host_generate(&f, 0, MDP_AT_KEYEXCHANGE, 1024, "new");
	{
		struct piv_cmap_rec *r = NULL;

		CU_ASSERT_EQUAL(card_map(&f, &r), 6u);
		if (r) {
			CU_ASSERT_EQUAL(r[0].slot, 0x9A);
			CU_ASSERT_EQUAL(r[1].slot, 0x9C);
			CU_ASSERT_EQUAL(r[2].slot, 0x9D);
			CU_ASSERT_EQUAL(r[3].slot, 0x9E);
			CU_ASSERT_EQUAL(r[4].slot, 0x82);
			CU_ASSERT_EQUAL(r[4].key_spec, MDP_AT_ECDHE_P384);
			CU_ASSERT_EQUAL(r[5].slot, 0x83);
		}
		free(r);
	}
	/* the next key skips the retired slots that hold keys */
	host_generate(&f, 6, MDP_AT_ECDSA_P256, 256, "next");
	{
		struct piv_cmap_rec *r = NULL;
		struct mdp_buf kh;

		CU_ASSERT_EQUAL(card_map(&f, &r), 7u);
		if (r)
			CU_ASSERT_EQUAL(r[6].slot, 0x84);
		free(r);
		buf_init(&kh);
		CU_ASSERT_TRUE(get_object(&f, PIV_OBJ_KEY_HISTORY, &kh));
		CU_ASSERT(kh.len == 8 && kh.data[2] == 3);
		buf_free(&kh);
	}
	EVP_PKEY_free(k9c);
	EVP_PKEY_free(k9d);
	EVP_PKEY_free(k82);
	EVP_PKEY_free(k9e);
	fx_close(&f);
}

static void
test_wide_map(void)
{
	struct fx f;
	uint8_t rec[187], *p = NULL;
	struct mdp_buf v;
	size_t n = 0;
	EVP_PKEY *k;
	struct piv_cmap_rec *r = NULL;

	fx_open(&f);
	k = raw_generate(&f, 0x9A, PIV_ALG_P256, 0);
	/* a map written by libykpiv on Linux: 187-byte records, UTF-32LE names (spec §7.3) */
	memset(rec, 0, sizeof(rec));
	rec[0] = 'w';
	rec[4] = 'i';
	rec[8] = 'd';
	rec[12] = 'e';
	rec[160] = 0x9A;
	rec[161] = MDP_AT_ECDSA_P256;
	rec[162] = 0x00;
	rec[163] = 0x01;
	rec[164] = 0x03;
	rec[165] = 1;
	buf_init(&v);
	buf_put_tlv(&v, 0x81, rec, sizeof(rec));
	put_object(&f, PIV_OBJ_MSCMAP, v.data, v.len);
	buf_free(&v);
	md_card_delete(f.card);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "cmapfile", 0, &p, &n), MD_OK);
	CU_ASSERT_EQUAL_FATAL(n, 86u);
	CU_ASSERT_MEM_EQUAL(p, "w\0i\0d\0e\0\0\0", 10);
	CU_ASSERT_EQUAL(p[80], 0x03);
	CU_ASSERT_EQUAL(p[82] | p[83] << 8, 256);
	/* the next write stores it in Windows' form */
	login(&f);
	CU_ASSERT_EQUAL(md_write_file(f.card, "mscp", "cmapfile", 0, p, n), MD_OK);
	free(p);
	CU_ASSERT_EQUAL(card_map(&f, &r), 1u);
	if (r) {
		CU_ASSERT_EQUAL(r[0].name[0], 'w');
		CU_ASSERT_EQUAL(r[0].name[3], 'e');
		CU_ASSERT_EQUAL(r[0].slot, 0x9A);
	}
	free(r);
	EVP_PKEY_free(k);
	fx_close(&f);
}

/* ---- PINs and the management key ---- */

static void
test_pins(void)
{
	struct fx f;
	uint32_t tries = 99, v = 0;
	size_t n = 0;
	struct md_pin_info pi = {.version = 6};

	fx_open(&f);
	CU_ASSERT_EQUAL(md_authenticate_ex(f.card, MD_ROLE_USER, 0, (const uint8_t *)"654321", 6,
					   NULL, NULL, &tries),
			MD_W_WRONG_CHV);
	CU_ASSERT_EQUAL(tries, 2u);
	CU_ASSERT_EQUAL(md_authenticate_ex(f.card, MD_ROLE_USER, 0, (const uint8_t *)"123456789", 9,
					   NULL, NULL, &tries),
			MD_E_INVALID_CHV);
	{
		struct md_pin_tries pt = {.version = 1};

		CU_ASSERT_EQUAL(
			md_get_property(f.card, MD_CP_MDP11_PIN_TRIES, &pt, sizeof(pt), &n, 1),
			MD_OK);
		CU_ASSERT_EQUAL(pt.left, 2u);
		CU_ASSERT_EQUAL(pt.max, 3u);
		CU_ASSERT_EQUAL(
			md_get_property(f.card, MD_CP_MDP11_PIN_TRIES, &pt, sizeof(pt), &n, 2),
			MD_E_INVALID_PARAMETER);
	}
	login(&f);
	CU_ASSERT_EQUAL(
		md_get_property(f.card, MD_CP_CARD_AUTHENTICATED_STATE, &v, sizeof(v), &n, 0),
		MD_OK);
	CU_ASSERT_EQUAL(v, MD_PIN_SET(MD_ROLE_USER));
	/* a YubiKey logs out when another application is selected */
	CU_ASSERT_EQUAL(md_deauthenticate_ex(f.card, MD_PIN_SET(MD_ROLE_USER), 0), MD_OK);
	CU_ASSERT_EQUAL(
		md_get_property(f.card, MD_CP_CARD_AUTHENTICATED_STATE, &v, sizeof(v), &n, 0),
		MD_OK);
	CU_ASSERT_EQUAL(v, 0u);
	{
		struct mdp_buf r;

		buf_init(&r);
		CU_ASSERT_EQUAL(raw(&f, 0x20, 0x00, 0x80, NULL, 0, &r), 0x63C3);
		buf_free(&r);
	}
	/* change the PIN; a new PIN of 5 characters is refused before the card */
	CU_ASSERT_EQUAL(md_change_authenticator_ex(f.card, MD_PIN_CHANGE_CHANGEPIN, 1,
						   (const uint8_t *)"123456", 6, 1,
						   (const uint8_t *)"12345", 5, 0, &tries),
			MD_E_INVALID_CHV);
	CU_ASSERT_EQUAL(md_change_authenticator_ex(f.card, MD_PIN_CHANGE_CHANGEPIN, 1,
						   (const uint8_t *)"123456", 6, 1,
						   (const uint8_t *)"24681357", 8, 0, &tries),
			MD_OK);
	/* block it, then unblock with the PUK (PIN id 3) */
	for (int i = 0; i < 3; i++)
		md_authenticate_ex(f.card, 1, 0, (const uint8_t *)"000000", 6, NULL, NULL, &tries);
	CU_ASSERT_EQUAL(md_authenticate_ex(f.card, 1, 0, (const uint8_t *)"24681357", 8, NULL, NULL,
					   &tries),
			MD_W_CHV_BLOCKED);
	CU_ASSERT_EQUAL(md_change_authenticator_ex(f.card, MD_PIN_CHANGE_UNBLOCK, MD_ROLE_ADMIN,
						   mgmt_default, 24, 1, (const uint8_t *)"111111",
						   6, 0, &tries),
			MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_EQUAL(md_change_authenticator_ex(f.card, MD_PIN_CHANGE_UNBLOCK, 3,
						   (const uint8_t *)"87654321", 8, 1,
						   (const uint8_t *)"111111", 6, 0, &tries),
			MD_W_WRONG_CHV);
	CU_ASSERT_EQUAL(tries, 2u);
	CU_ASSERT_EQUAL(md_change_authenticator_ex(f.card, MD_PIN_CHANGE_UNBLOCK, 3,
						   (const uint8_t *)"12345678", 8, 1,
						   (const uint8_t *)"111111", 6, 0, &tries),
			MD_OK);
	CU_ASSERT_EQUAL(
		md_authenticate_ex(f.card, 1, 0, (const uint8_t *)"111111", 6, NULL, NULL, &tries),
		MD_OK);
	/* change the PUK */
	CU_ASSERT_EQUAL(md_change_authenticator_ex(f.card, MD_PIN_CHANGE_CHANGEPIN, 3,
						   (const uint8_t *)"12345678", 8, 3,
						   (const uint8_t *)"99887766", 8, 0, &tries),
			MD_OK);
	CU_ASSERT_EQUAL(
		md_authenticate_ex(f.card, 3, 0, (const uint8_t *)"99887766", 8, NULL, NULL, NULL),
		MD_E_UNSUPPORTED_FEATURE);
	/* what the PINs are */
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_LIST_PINS, &v, sizeof(v), &n, 0), MD_OK);
	CU_ASSERT_EQUAL(v, 0x1Eu);
	/* the UI hints: write-only, accepted; secure key injection is not offered */
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_PIN_CONTEXT_STRING, &v, sizeof(v), &n, 0),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_set_property(f.card, MD_CP_PIN_CONTEXT_STRING, &v, sizeof(v), 0), MD_OK);
	CU_ASSERT_EQUAL(md_set_property(f.card, MD_CP_PIN_CONTEXT_STRING, &v, sizeof(v), 1),
			MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_set_property(f.card, MD_CP_CARD_READ_ONLY, &v, sizeof(v), 0),
			MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_PADDING_SCHEMES, &v, sizeof(v), &n, 0),
			MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_PIN_INFO, &pi, sizeof(pi), &n, 1),
			MD_OK);
	CU_ASSERT_EQUAL(pi.unblock_permission, MD_PIN_SET(3));
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_PIN_INFO, &pi, sizeof(pi), &n, 2),
			MD_OK);
	CU_ASSERT_EQUAL(pi.pin_type, MD_PIN_ALPHANUMERIC);
	CU_ASSERT_EQUAL(pi.purpose, MD_PURPOSE_ADMINISTRATOR);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_PIN_INFO, &pi, sizeof(pi), &n, 4),
			MD_OK);
	CU_ASSERT_EQUAL(pi.cache_policy.type, MD_PIN_CACHE_ALWAYS_PROMPT);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_PIN_INFO, &pi, sizeof(pi), &n, 5),
			MD_E_INVALID_PARAMETER);
	fx_close(&f);
}

/* A card without GET METADATA (before YubiKey 5.3): the PIN counter from an empty VERIFY. */
static void
test_tries_old_card(void)
{
	struct vcard_init_params p;
	struct fx f;
	struct md_pin_tries pt = {.version = 1};
	size_t n = 0;

	memset(&p, 0, sizeof(p));
	p.version[0] = 5;
	p.version[1] = 1;
	fx_open_with(&f, &p);
	CU_ASSERT_EQUAL(
		md_authenticate_ex(f.card, 1, 0, (const uint8_t *)"000000", 6, NULL, NULL, NULL),
		MD_W_WRONG_CHV);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_MDP11_PIN_TRIES, &pt, sizeof(pt), &n, 1),
			MD_OK);
	CU_ASSERT_EQUAL(pt.left, 2u);
	CU_ASSERT_EQUAL(pt.max, MD_VALUE_UNKNOWN);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_MDP11_PIN_TRIES, &pt, sizeof(pt), &n, 3),
			MD_E_UNSUPPORTED_FEATURE);
	login(&f);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_MDP11_PIN_TRIES, &pt, sizeof(pt), &n, 1),
			MD_OK);
	CU_ASSERT_EQUAL(pt.left, 15u); /* verified: the counter is full, its size unknown */
	fx_close(&f);
}

static void
test_mgmt_keys(void)
{
	static const uint8_t alg[4] = {0x03, 0x08, 0x0A, 0x0C};
	static const size_t klen[4] = {24, 16, 24, 32};
	uint8_t key[32], wrong[32], newkey[32];
	int i;

	for (i = 0; i < 4; i++) {
		struct vcard_init_params p;
		struct fx f;
		uint8_t *ch = NULL, *resp = NULL;
		size_t cl = 0, rl = 0;

		memset(key, 0x40 + i, sizeof(key));
		memset(wrong, 0x11, sizeof(wrong));
		memset(newkey, 0x70 + i, sizeof(newkey));
		memset(&p, 0, sizeof(p));
		p.admin_key = key;
		p.admin_key_len = klen[i];
		p.mgm_alg = alg[i];
		fx_open_with(&f, &p);
		/* mutual authentication with the raw key */
		CU_ASSERT_EQUAL(md_authenticate_ex(f.card, MD_ROLE_ADMIN, 0, wrong, klen[i], NULL,
						   NULL, NULL),
				MD_W_WRONG_CHV);
		CU_ASSERT_EQUAL(md_authenticate_ex(f.card, MD_ROLE_ADMIN, 0, key, klen[i], NULL,
						   NULL, NULL),
				MD_OK);
		CU_ASSERT_EQUAL(
			md_authenticate_ex(f.card, MD_ROLE_ADMIN, 0, key, 20, NULL, NULL, NULL),
			MD_E_INVALID_CHV);
		/* the key changes; only the new one works */
		CU_ASSERT_EQUAL(md_change_authenticator_ex(f.card, MD_PIN_CHANGE_CHANGEPIN, 2, key,
							   klen[i], 2, newkey, klen[i], 0, NULL),
				MD_OK);
		CU_ASSERT_EQUAL(md_authenticate_ex(f.card, MD_ROLE_ADMIN, 0, key, klen[i], NULL,
						   NULL, NULL),
				MD_W_WRONG_CHV);
		CU_ASSERT_EQUAL(md_authenticate_ex(f.card, MD_ROLE_ADMIN, 0, newkey, klen[i], NULL,
						   NULL, NULL),
				MD_OK);
		/* external authentication: the host encrypts the card's challenge (3DES) */
		if (alg[i] == 0x03) {
			CU_ASSERT_EQUAL_FATAL(md_get_challenge(f.card, &ch, &cl), MD_OK);
			CU_ASSERT_EQUAL(cl, 8u);
			CU_ASSERT_EQUAL(md_admin_response_3des(newkey, ch, cl, &resp, &rl), MD_OK);
			CU_ASSERT_EQUAL(md_authenticate_challenge(f.card, resp, rl, NULL), MD_OK);
			free(ch);
			free(resp);
		}
		/* without the key nothing is written */
		md_card_delete(f.card);
		reset_card(&f);
		CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
		login(&f);
		CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P256,
						    0, NULL, 0),
				MD_W_SECURITY_VIOLATION);
		CU_ASSERT_EQUAL(md_authenticate_ex(f.card, MD_ROLE_ADMIN, 0, newkey, klen[i], NULL,
						   NULL, NULL),
				MD_OK);
		CU_ASSERT_EQUAL(md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P256,
						    0, NULL, 0),
				MD_OK);
		fx_close(&f);
	}
}

static void
test_protected_mgmt(void)
{
	struct vcard_init_params p;
	struct fx f;
	uint8_t key[24], printed[28];

	memset(key, 0x5C, sizeof(key));
	memset(&p, 0, sizeof(p));
	p.admin_key = key;
	p.admin_key_len = 24;
	fx_open_with(&f, &p);
	/* set the card up as the Yubico minidriver does (spec §5.6): key in Printed, flag 02 */
	CU_ASSERT_EQUAL(md_authenticate_ex(f.card, MD_ROLE_ADMIN, 0, key, 24, NULL, NULL, NULL),
			MD_OK);
	printed[0] = 0x88;
	printed[1] = 26;
	printed[2] = 0x89;
	printed[3] = 24;
	memcpy(printed + 4, key, 24);
	{
		struct mdp_buf q;

		buf_init(&q);
		piv_put_data_field(&q, PIV_OBJ_PRINTED, printed, sizeof(printed));
		CU_ASSERT_EQUAL(raw(&f, 0xDB, 0x3F, 0xFF, q.data, q.len, NULL), 0x9000);
		buf_free(&q);
		buf_init(&q);
		piv_put_data_field(&q, PIV_OBJ_ADMIN_DATA, (const uint8_t *)"\x80\x03\x81\x01\x03",
				   5);
		CU_ASSERT_EQUAL(raw(&f, 0xDB, 0x3F, 0xFF, q.data, q.len, NULL), 0x9000);
		buf_free(&q);
	}
	md_card_delete(f.card);
	reset_card(&f);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
	/* without the PIN the key stays unknown; with it, the card can be changed */
	CU_ASSERT_EQUAL(
		md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P256, 0, NULL, 0),
		MD_W_SECURITY_VIOLATION);
	login(&f);
	CU_ASSERT_EQUAL(
		md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P256, 0, NULL, 0),
		MD_OK);
	/* a key change keeps the PIN-protected copy current */
	{
		uint8_t nk[24];
		struct mdp_buf v;

		memset(nk, 0x6D, sizeof(nk));
		CU_ASSERT_EQUAL(md_change_authenticator_ex(f.card, MD_PIN_CHANGE_CHANGEPIN, 2, key,
							   24, 2, nk, 24, 0, NULL),
				MD_OK);
		buf_init(&v);
		CU_ASSERT_TRUE(get_object(&f, PIV_OBJ_PRINTED, &v));
		CU_ASSERT(v.len == 28 && memcmp(v.data + 4, nk, 24) == 0);
		buf_free(&v);
	}
	fx_close(&f);
}

static void
test_signed_chuid(void)
{
	struct fx f;
	struct mdp_buf ch;
	uint32_t ro = 0;
	size_t n = 0;

	fx_open(&f);
	buf_init(&ch);
	CU_ASSERT_TRUE_FATAL(get_object(&f, PIV_OBJ_CHUID, &ch));
	ch.len -= 4; /* drop 3E 00 FE 00 */
	buf_put_tlv(&ch, 0x3E, "\x30\x03\x02\x01\x01", 5);
	buf_put_tlv(&ch, 0xFE, NULL, 0);
	put_object(&f, PIV_OBJ_CHUID, ch.data, ch.len);
	buf_free(&ch);
	md_card_delete(f.card);
	reset_card(&f);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
	CU_ASSERT_EQUAL(md_get_property(f.card, MD_CP_CARD_READ_ONLY, &ro, sizeof(ro), &n, 0),
			MD_OK);
	CU_ASSERT_EQUAL(ro, 1u);
	login(&f);
	CU_ASSERT_EQUAL(
		md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P256, 0, NULL, 0),
		MD_E_READ_ONLY_CARD);
	fx_close(&f);
}

static void
test_sizes_refused(void)
{
	struct vcard_init_params p;
	struct fx f;
	struct md_key_sizes ks = {.version = 1};

	fx_open(&f);
	CU_ASSERT_EQUAL(md_query_key_sizes(f.card, MDP_AT_KEYEXCHANGE, 0, &ks), MD_OK);
	CU_ASSERT_EQUAL(ks.maximum, 2048u);
	CU_ASSERT_EQUAL(md_query_key_sizes(f.card, MDP_AT_ECDSA_P521, 0, &ks),
			MD_E_UNSUPPORTED_FEATURE);
	login(&f);
	CU_ASSERT_EQUAL(
		md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_ECDHE_P521, 0, NULL, 0),
		MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_EQUAL(
		md_create_container(f.card, 0, MD_CREATE_KEY_GEN, MDP_AT_SIGNATURE, 3072, NULL, 0),
		MD_E_UNSUPPORTED_FEATURE);
	fx_close(&f);
	/* a card of version 5.7 has RSA 3072 and 4096 */
	memset(&p, 0, sizeof(p));
	p.version[0] = 5;
	p.version[1] = 7;
	p.version[2] = 1;
	fx_open_with(&f, &p);
	CU_ASSERT_EQUAL(md_query_key_sizes(f.card, MDP_AT_SIGNATURE, 0, &ks), MD_OK);
	CU_ASSERT_EQUAL(ks.maximum, 4096u);
	login(&f);
	host_generate(&f, 0, MDP_AT_SIGNATURE, 3072, "big");
	{
		EVP_PKEY *k = container_key(&f, 0, MDP_AT_SIGNATURE);

		CU_ASSERT_EQUAL(EVP_PKEY_get_bits(k), 3072);
		EVP_PKEY_free(k);
	}
	/* the deleted key is gone from the slot */
	{
		EVP_PKEY *old = container_key(&f, 0, MDP_AT_SIGNATURE);
		struct mdp_buf r;
		struct piv_metadata md;
		struct mdp_key *now = NULL;

		CU_ASSERT_EQUAL(md_delete_container(f.card, 0, 0), MD_OK);
		buf_init(&r);
		if (raw(&f, 0xF7, 0x00, 0x9A, NULL, 0, &r) == 0x9000) {
			CU_ASSERT_EQUAL(piv_metadata_parse(r.data, r.len, &md), MDP_OK);
			CU_ASSERT_EQUAL(piv_public_key_parse(md.pub, md.pub_len, md.alg, &now),
					MDP_OK);
			CU_ASSERT_TRUE(now && EVP_PKEY_eq(mdp_key_pkey(now), old) != 1);
			mdp_key_free(now);
		}
		buf_free(&r);
		EVP_PKEY_free(old);
	}
	fx_close(&f);
}

/* ---- mdp11's directory and msroots ---- */

static void
test_app_files(void)
{
	struct fx f;
	uint8_t *p = NULL, big[5000];
	size_t n = 0, i;
	char *names = NULL;
	struct md_file_info fi = {.version = 1};

	fx_open(&f);
	CU_ASSERT_EQUAL(md_enum_files(f.card, "mdp11", &names, &n, 0), MD_OK);
	CU_ASSERT(n == 1 && names && names[0] == '\0');
	free(names);
	CU_ASSERT_EQUAL(md_create_directory(f.card, "mdp11", MD_DIR_AC_USER_CREATE_DELETE),
			MD_ERROR_FILE_EXISTS);
	CU_ASSERT_EQUAL(md_create_file(f.card, "mdp11", "dop000", 0, MD_AC_USER_READ_WRITE),
			MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_EQUAL(
		md_create_file(f.card, "mdp11", "keyattr", 0, MD_AC_EVERYONE_READ_USER_WRITE),
		MD_OK);
	CU_ASSERT_EQUAL(
		md_create_file(f.card, "mdp11", "keyattr", 0, MD_AC_EVERYONE_READ_USER_WRITE),
		MD_ERROR_FILE_EXISTS);
	/* larger than one object: chunked over mdp11's objects */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31);
	CU_ASSERT_EQUAL(md_write_file(f.card, "mdp11", "keyattr", 0, big, sizeof(big)), MD_OK);
	md_card_delete(f.card);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mdp11", "keyattr", 0, &p, &n), MD_OK);
	CU_ASSERT(n == sizeof(big) && memcmp(p, big, n) == 0);
	free(p);
	CU_ASSERT_EQUAL(md_get_file_info(f.card, "mdp11", "keyattr", &fi), MD_OK);
	CU_ASSERT_EQUAL(fi.size, sizeof(big));
	{
		struct mdp_buf v;

		buf_init(&v);
		CU_ASSERT_TRUE(get_object(&f, PIV_OBJ_STORE, &v));
		CU_ASSERT_EQUAL(v.data[0], 0x83);
		buf_free(&v);
		buf_init(&v);
		CU_ASSERT_TRUE(get_object(&f, PIV_OBJ_STORE + 1, &v));
		CU_ASSERT_EQUAL(v.data[0], 0x82);
		buf_free(&v);
	}
	CU_ASSERT_EQUAL(md_delete_file(f.card, "mdp11", "keyattr", 0), MD_OK);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mdp11", "keyattr", 0, &p, &n), MD_E_FILE_NOT_FOUND);
	{
		struct mdp_buf v;

		buf_init(&v);
		CU_ASSERT_FALSE(get_object(&f, PIV_OBJ_STORE, &v));
		CU_ASSERT_FALSE(get_object(&f, PIV_OBJ_STORE + 1, &v));
		buf_free(&v);
	}
	/* msroots over MSROOTS1.. (spec §7.4) */
	for (i = 0; i < 4000; i++)
		big[i] = (uint8_t)(i * 7);
	CU_ASSERT_EQUAL(
		md_create_file(f.card, "mscp", "msroots", 0, MD_AC_EVERYONE_READ_USER_WRITE),
		MD_OK);
	CU_ASSERT_EQUAL(md_write_file(f.card, "mscp", "msroots", 0, big, 4000), MD_OK);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "msroots", 0, &p, &n), MD_OK);
	CU_ASSERT(n == 4000 && memcmp(p, big, n) == 0);
	free(p);
	CU_ASSERT_EQUAL(md_enum_files(f.card, "mscp", &names, &n, 0), MD_OK);
	CU_ASSERT_TRUE(has_name(names, "msroots"));
	free(names);
	CU_ASSERT_EQUAL(md_delete_file(f.card, "mscp", "msroots", 0), MD_OK);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "msroots", 0, &p, &n), MD_E_FILE_NOT_FOUND);
	/* what is not a PIV card's */
	CU_ASSERT_EQUAL(md_write_file(f.card, NULL, "cardid", 0, big, 16), MD_E_NO_ACCESS);
	CU_ASSERT_EQUAL(md_create_directory(f.card, "other", MD_DIR_AC_USER_CREATE_DELETE),
			MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_EQUAL(md_read_file(f.card, "other", "x", 0, &p, &n), MD_E_DIR_NOT_FOUND);
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "kxc07", 0, &p, &n), MD_E_FILE_NOT_FOUND);
	fx_close(&f);
}

/* ---- APDU budget ---- */

static void
test_apdu_budget(void)
{
	struct fx f;
	uint8_t *p = NULL, hash[32];
	size_t n = 0;
	unsigned long before;
	struct md_signing_info si = {.version = 2,
				     .key_spec = MDP_AT_KEYEXCHANGE,
				     .hash_alg = MDP_CALG_SHA_256,
				     .data = hash,
				     .data_len = 32};

	fx_open(&f);
	login(&f);
	host_generate(&f, 0, MDP_AT_KEYEXCHANGE, 1024, "k");
	tc_sha256("y", 1, hash);
	/* a signature with the PIN verified: one GENERAL AUTHENTICATE */
	before = mdp_transport_apdu_count(f.t);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	CU_ASSERT_EQUAL(mdp_transport_apdu_count(f.t) - before, 1u);
	free(si.signature);
	/* a new context: SELECT; cardid and cardcf from one CHUID read */
	md_card_delete(f.card);
	before = mdp_transport_apdu_count(f.t);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
	CU_ASSERT_EQUAL(md_card_begin(f.card), MD_OK);
	CU_ASSERT_EQUAL(md_read_file(f.card, NULL, "cardid", 0, &p, &n), MD_OK);
	free(p);
	CU_ASSERT_EQUAL(md_read_file(f.card, NULL, "cardcf", 0, &p, &n), MD_OK);
	free(p);
	md_card_end(f.card, false);
	CU_ASSERT_EQUAL(mdp_transport_apdu_count(f.t) - before, 2u);
	/* its first signature (the PIN still verified on the card): the container map, not the
	 * view, then GENERAL AUTHENTICATE; the next one is GENERAL AUTHENTICATE alone */
	si.signature = NULL;
	before = mdp_transport_apdu_count(f.t);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	CU_ASSERT_EQUAL(mdp_transport_apdu_count(f.t) - before, 2u);
	free(si.signature);
	si.signature = NULL;
	before = mdp_transport_apdu_count(f.t);
	CU_ASSERT_EQUAL(md_sign_data(f.card, &si), MD_OK);
	CU_ASSERT_EQUAL(mdp_transport_apdu_count(f.t) - before, 1u);
	free(si.signature);
	/* the view loaded later starts over from the card, not from the map alone */
	CU_ASSERT_EQUAL(md_read_file(f.card, "mscp", "cmapfile", 0, &p, &n), MD_OK);
	CU_ASSERT_EQUAL(n, 86u);
	free(p);
	fx_close(&f);
}

/* ---- extended-length APDUs ---- */

/* What the card saw: extended APDUs (00 after the header, then more) and the longest answer. */
struct apdu_log {
	unsigned extended;
	size_t longest;
};

static void
log_apdu(void *ctx, const uint8_t *apdu, size_t len, const uint8_t *resp, size_t rlen)
{
	struct apdu_log *l = ctx;

	(void)resp;
	if (len > 5 && apdu[4] == 0x00)
		l->extended++;
	if (rlen > l->longest)
		l->longest = rlen;
}

/*
 * An RSA-2048 key in container 0 and its certificate (300..500 bytes, more than one short
 * answer) in the slot's object, as another tool writes it. Returns the slot.
 */
static uint8_t
ext_setup(struct fx *f, EVP_PKEY **pk)
{
	uint8_t *der = NULL, slot;
	size_t len = 0;

	login(f);
	host_generate(f, 0, MDP_AT_KEYEXCHANGE, 2048, "k");
	*pk = container_key(f, 0, MDP_AT_KEYEXCHANGE);
	slot = piv_of(f->card)->cont[0].slot;
	der = tc_cert_for(*pk, "extended", &len);
	CU_ASSERT_FATAL(der != NULL && len > 300);
	raw_put_cert(f, slot, der, len);
	OPENSSL_free(der);
	return slot;
}

/* APDUs of one certificate read (GET DATA) and of one RSA-2048 signature, which must verify. */
static void
ext_count(struct fx *f, uint8_t slot, EVP_PKEY *pk, unsigned long *read, unsigned long *sign)
{
	struct mdp_transport *t = md_card_transport(f->card);
	struct mdp_buf v;
	uint8_t hash[32];
	unsigned long before;
	struct md_signing_info si = {.version = 2,
				     .key_spec = MDP_AT_KEYEXCHANGE,
				     .hash_alg = MDP_CALG_SHA_256,
				     .data = hash,
				     .data_len = 32};

	buf_init(&v);
	before = mdp_transport_apdu_count(t);
	CU_ASSERT_EQUAL(piv_get_object(f->card, piv_cert_tag(slot), &v), MD_OK);
	*read = mdp_transport_apdu_count(t) - before;
	/* one answer of 257..512 bytes: two short ones (GET DATA, GET RESPONSE) */
	CU_ASSERT(v.len > 300 && v.len < 500);
	buf_free(&v);
	tc_sha256("extended", 8, hash);
	before = mdp_transport_apdu_count(t);
	CU_ASSERT_EQUAL_FATAL(md_sign_data(f->card, &si), MD_OK);
	*sign = mdp_transport_apdu_count(t) - before;
	CU_ASSERT_TRUE(tc_verify_rsa_le(pk, RSA_PKCS1_PADDING, EVP_sha256(), 32, hash, 32,
					si.signature, si.signature_len));
	free(si.signature);
}

/*
 * The virtual card's ATR (the YubiKey 5's) says "extended Lc and Le": a certificate is one
 * GET DATA, an RSA-2048 signature one GENERAL AUTHENTICATE (short: 2 and 3 APDUs).
 */
static void
test_extended_apdus(void)
{
	struct fx f;
	struct apdu_log l = {0};
	EVP_PKEY *pk = NULL;
	unsigned long rd = 0, sg = 0;
	uint8_t slot;

	fx_open(&f);
	slot = ext_setup(&f, &pk);
	mdp_transport_set_observer(f.t, log_apdu, &l);
	ext_count(&f, slot, pk, &rd, &sg);
	CU_ASSERT_EQUAL(rd, 1u);
	CU_ASSERT_EQUAL(sg, 1u);
	CU_ASSERT_EQUAL(l.extended, 2u);
	CU_ASSERT(l.longest > 258); /* more than a short answer at once */
	mdp_transport_set_observer(f.t, NULL, NULL);
	EVP_PKEY_free(pk);
	fx_close(&f);
}

/*
 * An ATR that says nothing of extended lengths gets short APDUs only; a YubiKey ATR that says
 * nothing (YubiKey 4) gets extended ones once the version (4 or later) is known, and not before.
 */
static void
test_extended_by_atr_and_version(void)
{
	static const uint8_t plain_atr[] = {0x3B, 0x88, 0x80, 0x01, 'P', 'I', 'V',
					    'c',  'a',	'r',  'd',  '!', 0x00};
	static const uint8_t yk4_atr[] = {0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15,
					  0x59, 0x75, 0x62, 0x69, 0x6B, 0x65, 0x79, 0x34, 0xD4};
	struct fx f;
	struct apdu_log l = {0};
	EVP_PKEY *pk = NULL;
	unsigned long rd = 0, sg = 0;
	uint8_t slot;

	fx_open(&f);
	slot = ext_setup(&f, &pk);
	md_card_delete(f.card);
	f.card = NULL;
	CU_ASSERT_EQUAL(
		vcard_set_atr(mdp_transport_embedded_vcard(f.t), plain_atr, sizeof(plain_atr)),
		MDP_OK);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
	login(&f);
	mdp_transport_set_observer(f.t, log_apdu, &l);
	ext_count(&f, slot, pk, &rd, &sg);
	CU_ASSERT_EQUAL(rd, 2u); /* GET DATA, GET RESPONSE */
	/* the context's first: the container map, GENERAL AUTHENTICATE in two chained parts, GET
	 * RESPONSE */
	CU_ASSERT_EQUAL(sg, 4u);
	CU_ASSERT_EQUAL(l.extended, 0u);
	CU_ASSERT(l.longest <= 258);

	md_card_delete(f.card);
	f.card = NULL;
	CU_ASSERT_EQUAL(vcard_set_atr(mdp_transport_embedded_vcard(f.t), yk4_atr, sizeof(yk4_atr)),
			MDP_OK);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, f.t, 7, 0, &f.card), MD_OK);
	login(&f);
	l.extended = 0;
	/* the version is not asked for this alone: short APDUs until it is known */
	ext_count(&f, slot, pk, &rd, &sg);
	CU_ASSERT_EQUAL(rd, 2u);
	CU_ASSERT_EQUAL(sg, 4u);
	CU_ASSERT_EQUAL(l.extended, 0u);
	CU_ASSERT_TRUE(piv_version_at_least(f.card, 4, 0, 0));
	ext_count(&f, slot, pk, &rd, &sg);
	CU_ASSERT_EQUAL(rd, 1u);
	CU_ASSERT_EQUAL(sg, 1u);
	CU_ASSERT_EQUAL(l.extended, 2u);
	mdp_transport_set_observer(f.t, NULL, NULL);
	EVP_PKEY_free(pk);
	fx_close(&f);
}

/*
 * A card whose ATR promises extended lengths but answers 6700 to them, and a reader that refuses
 * them (a link error): a transport in front of the virtual card. The module sends each command
 * again as short APDUs and no extended one after the first refusal; the results are right.
 */
struct refusing {
	struct mdp_transport *card;
	bool link_error; /* else 6700 */
	unsigned refused;
};

static enum mdp_err
refusing_transmit(void *priv, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *resp_len)
{
	struct refusing *r = priv;

	if (len > 5 && apdu[4] == 0x00) {
		r->refused++;
		if (r->link_error)
			return mdp_err_reason(MDP_ERR_TRANSPORT,
					      "reader exchanges short APDUs only");
		resp[0] = 0x67;
		resp[1] = 0x00;
		*resp_len = 2;
		return MDP_OK;
	}
	return mdp_transport_transmit(r->card, apdu, len, resp, *resp_len, resp_len);
}

static enum mdp_err
refusing_status(void *priv, struct mdp_transport_status *st)
{
	struct refusing *r = priv;

	return mdp_transport_status(r->card, st); /* the YubiKey 5 ATR: extended lengths */
}

static const struct mdp_transport_ops refusing_ops = {
	.kind = "script",
	.transmit = refusing_transmit,
	.status = refusing_status,
};

static void
test_extended_refused(void)
{
	int mode;

	for (mode = 0; mode < 2; mode++) {
		struct fx f;
		struct refusing r = {.link_error = mode == 1};
		struct mdp_transport *t = NULL;
		struct md_card *card = NULL;
		EVP_PKEY *pk = NULL;
		unsigned long rd = 0, sg = 0;
		uint8_t slot;

		fx_open(&f);
		slot = ext_setup(&f, &pk);
		r.card = f.t;
		CU_ASSERT_EQUAL_FATAL(mdp_transport_new(&refusing_ops, &r, "refusing", &t), MDP_OK);
		CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, t, 7, 0, &card), MD_OK);
		md_card_delete(f.card);
		f.card = card;
		login(&f);
		ext_count(&f, slot, pk, &rd, &sg);
		CU_ASSERT_EQUAL(r.refused, 1u); /* the first one only */
		CU_ASSERT_EQUAL(rd, 3u);	/* the refused one, then GET DATA + GET RESPONSE */
		CU_ASSERT_EQUAL(sg, 4u); /* the container map, GA chained in two, GET RESPONSE */
		ext_count(&f, slot, pk, &rd, &sg);
		CU_ASSERT_EQUAL(r.refused, 1u);
		CU_ASSERT_EQUAL(rd, 2u);
		CU_ASSERT_EQUAL(sg, 3u);
		md_card_delete(f.card);
		f.card = NULL;
		mdp_transport_free(t);
		EVP_PKEY_free(pk);
		fx_close(&f);
	}
}

static CU_TestInfo id_tests[] = {
	{"identified by ATR and by application", test_identify},
	{"cardid and cardcf from the CHUID", test_cardid_cardcf},
	{"APDU budget", test_apdu_budget},
	{"extended APDUs: a certificate and a signature in one APDU each", test_extended_apdus},
	{"extended APDUs: by ATR, by YubiKey version", test_extended_by_atr_and_version},
	{"extended APDUs refused (6700, reader): short ones", test_extended_refused},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo key_tests[] = {
	{"generation and the container map", test_generate_map},
	{"RSA: PKCS#1, PSS, raw; decryption PKCS#1, OAEP, raw", test_rsa_ops},
	{"ECDSA and ECDH", test_ec_ops},
	{"import, certificates, delete", test_import_delete},
	{"cards set up by other tools", test_foreign_slots},
	{"libykpiv's 187-byte map", test_wide_map},
	{"sizes and curves PIV does not have", test_sizes_refused},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo auth_tests[] = {
	{"PIN, PUK and their roles", test_pins},
	{"PIN counter without GET METADATA", test_tries_old_card},
	{"management keys 3DES, AES-128/192/256", test_mgmt_keys},
	{"PIN-protected management key", test_protected_mgmt},
	{"issuer-signed CHUID: read-only", test_signed_chuid},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo file_tests[] = {
	{"mdp11's directory and msroots", test_app_files},
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	CU_SuiteInfo suites[] = {
		{"identity", NULL, NULL, NULL, NULL, id_tests},
		{"keys", NULL, NULL, NULL, NULL, key_tests},
		{"auth", NULL, NULL, NULL, NULL, auth_tests},
		{"files", NULL, NULL, NULL, NULL, file_tests},
		CU_SUITE_INFO_NULL,
	};

	mdp_log_init_env();
	return test_run("test-card-piv", suites);
}
