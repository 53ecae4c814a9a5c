/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the PIV byte codecs (minidriver/piv-format.c): no card needed. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "blob/blob.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/ossl.h"
#include "minidriver/piv.h"
#include "tests/unit/testutil.h"

/* ---- helpers ---- */

/*
 * A self-signed certificate of key k. extra > 0 adds a subject key identifier of extra bytes:
 * repeated (compressible) or random (not compressible), to make certificates of a given size.
 */
static uint8_t *
make_cert(EVP_PKEY *k, size_t extra, bool random_extra, size_t *len)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char *der = NULL;
	int l;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"piv test", -1, -1,
				   0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	if (extra) {
		ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
		unsigned char *e = malloc(extra);

		if (random_extra)
			RAND_bytes(e, (int)extra);
		else
			memset(e, 0x41, extra);
		ASN1_OCTET_STRING_set(o, e, (int)extra);
		X509_add1_ext_i2d(x, NID_subject_key_identifier, o, 0, 0);
		ASN1_OCTET_STRING_free(o);
		free(e);
	}
	X509_sign(x, k, EVP_sha256());
	l = i2d_X509(x, &der);
	*len = l > 0 ? (size_t)l : 0;
	X509_NAME_free(n);
	X509_free(x);
	return der;
}

static void
compress_into(const uint8_t *in, size_t n, int wbits, struct mdp_buf *out)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY);
	buf_reserve(out, deflateBound(&z, n) + 32);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out->data + out->len;
	z.avail_out = (uInt)(out->cap - out->len);
	CU_ASSERT_EQUAL(deflate(&z, Z_FINISH), Z_STREAM_END);
	out->len += z.total_out;
	deflateEnd(&z);
}

/* ---- slots and algorithms ---- */

static void
test_slots(void)
{
	static const uint8_t ids[24] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
					0x09, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
					0x17, 0x18, 0x19, 0x20, 0x21, 0x22, 0x23, 0x24};
	int i;

	CU_ASSERT_EQUAL(piv_slot_index(0x9A), 0);
	CU_ASSERT_EQUAL(piv_slot_index(0x9C), 1);
	CU_ASSERT_EQUAL(piv_slot_index(0x9D), 2);
	CU_ASSERT_EQUAL(piv_slot_index(0x9E), 3);
	CU_ASSERT_EQUAL(piv_slot_index(0x82), 4);
	CU_ASSERT_EQUAL(piv_slot_index(0x95), 23);
	CU_ASSERT_EQUAL(piv_slot_index(0x9B), -1);
	CU_ASSERT_EQUAL(piv_slot_index(0x80), -1);
	CU_ASSERT_EQUAL(piv_slot_index(0x96), -1);
	CU_ASSERT_EQUAL(piv_slot_index(0xF9), -1);
	for (i = 0; i < 24; i++) {
		uint8_t ref = piv_slot_ref(i);

		CU_ASSERT_EQUAL(piv_slot_index(ref), i);
		/* OpenSC's CKA_ID: the decimal number written as hex (spec §8.2) */
		CU_ASSERT_EQUAL(piv_opensc_id(ref), ids[i]);
	}
	CU_ASSERT_EQUAL(piv_slot_ref(24), 0);
	CU_ASSERT_EQUAL(piv_cert_tag(0x9A), 0x5FC105u);
	CU_ASSERT_EQUAL(piv_cert_tag(0x9C), 0x5FC10Au);
	CU_ASSERT_EQUAL(piv_cert_tag(0x9D), 0x5FC10Bu);
	CU_ASSERT_EQUAL(piv_cert_tag(0x9E), 0x5FC101u);
	CU_ASSERT_EQUAL(piv_cert_tag(0x82), 0x5FC10Du);
	CU_ASSERT_EQUAL(piv_cert_tag(0x95), 0x5FC120u);
	CU_ASSERT_EQUAL(piv_cert_tag(0x9B), 0u);
	CU_ASSERT_STRING_EQUAL(piv_slot_title(0x9D), "Key Management");
	CU_ASSERT_STRING_EQUAL(piv_slot_title(0x86), "Retired Key Management 5");
	/* the key specs of spec §8.7's table */
	CU_ASSERT_EQUAL(piv_default_spec(0x9A, true, 2048), MDP_AT_KEYEXCHANGE);
	CU_ASSERT_EQUAL(piv_default_spec(0x9C, true, 2048), MDP_AT_SIGNATURE);
	CU_ASSERT_EQUAL(piv_default_spec(0x9D, true, 2048), MDP_AT_KEYEXCHANGE);
	CU_ASSERT_EQUAL(piv_default_spec(0x9E, true, 1024), MDP_AT_SIGNATURE);
	CU_ASSERT_EQUAL(piv_default_spec(0x85, true, 2048), MDP_AT_KEYEXCHANGE);
	CU_ASSERT_EQUAL(piv_default_spec(0x9A, false, 256), MDP_AT_ECDSA_P256);
	CU_ASSERT_EQUAL(piv_default_spec(0x9C, false, 384), MDP_AT_ECDSA_P384);
	CU_ASSERT_EQUAL(piv_default_spec(0x9D, false, 256), MDP_AT_ECDHE_P256);
	CU_ASSERT_EQUAL(piv_default_spec(0x9E, false, 384), MDP_AT_ECDSA_P384);
	CU_ASSERT_EQUAL(piv_default_spec(0x95, false, 384), MDP_AT_ECDHE_P384);
	CU_ASSERT_EQUAL(piv_default_spec(0x9A, false, 521), MDP_AT_NONE);
	CU_ASSERT_EQUAL(piv_default_pin_policy(0x9C), PIV_PIN_POLICY_ALWAYS);
	CU_ASSERT_EQUAL(piv_default_pin_policy(0x9E), PIV_PIN_POLICY_NEVER);
	CU_ASSERT_EQUAL(piv_default_pin_policy(0x9A), PIV_PIN_POLICY_ONCE);
	CU_ASSERT_EQUAL(piv_default_pin_policy(0x8F), PIV_PIN_POLICY_ONCE);
}

static void
test_algs(void)
{
	uint8_t blk[8];

	CU_ASSERT_EQUAL(piv_alg_for(true, 1024), PIV_ALG_RSA1024);
	CU_ASSERT_EQUAL(piv_alg_for(true, 2048), PIV_ALG_RSA2048);
	CU_ASSERT_EQUAL(piv_alg_for(true, 3072), PIV_ALG_RSA3072);
	CU_ASSERT_EQUAL(piv_alg_for(true, 4096), PIV_ALG_RSA4096);
	CU_ASSERT_EQUAL(piv_alg_for(true, 1536), 0);
	CU_ASSERT_EQUAL(piv_alg_for(false, 256), PIV_ALG_P256);
	CU_ASSERT_EQUAL(piv_alg_for(false, 384), PIV_ALG_P384);
	CU_ASSERT_EQUAL(piv_alg_for(false, 521), 0);
	CU_ASSERT_EQUAL(piv_alg_bits(PIV_ALG_RSA3072), 3072u);
	CU_ASSERT_EQUAL(piv_alg_bits(PIV_ALG_ED25519), 0u);
	CU_ASSERT_TRUE(piv_alg_is_rsa(PIV_ALG_RSA4096));
	CU_ASSERT_FALSE(piv_alg_is_rsa(PIV_ALG_P256));
	CU_ASSERT_TRUE(piv_alg_is_ec(PIV_ALG_P384));
	CU_ASSERT_FALSE(piv_alg_is_ec(PIV_ALG_X25519));
	CU_ASSERT_EQUAL(piv_mgmt_block(PIV_ALG_3DES), 8u);
	CU_ASSERT_EQUAL(piv_mgmt_block(PIV_ALG_AES256), 16u);
	CU_ASSERT_EQUAL(piv_mgmt_block(PIV_ALG_RSA2048), 0u);
	CU_ASSERT_EQUAL(piv_mgmt_key_len(PIV_ALG_3DES), 24u);
	CU_ASSERT_EQUAL(piv_mgmt_key_len(PIV_ALG_AES128), 16u);
	CU_ASSERT_EQUAL(piv_mgmt_key_len(PIV_ALG_AES192), 24u);
	CU_ASSERT_EQUAL(piv_mgmt_key_len(PIV_ALG_AES256), 32u);
	CU_ASSERT_TRUE(piv_pin_block((const uint8_t *)"123456", 6, blk));
	CU_ASSERT_MEM_EQUAL(blk, "123456\xFF\xFF", 8);
	CU_ASSERT_TRUE(piv_pin_block((const uint8_t *)"12345678", 8, blk));
	CU_ASSERT_MEM_EQUAL(blk, "12345678", 8);
	CU_ASSERT_FALSE(piv_pin_block((const uint8_t *)"123456789", 9, blk));
	CU_ASSERT_FALSE(piv_pin_block((const uint8_t *)"", 0, blk));
}

/* ---- objects ---- */

static void
test_object_value(void)
{
	struct mdp_cursor v;
	struct mdp_buf b;
	static const uint8_t ok[] = {0x53, 0x03, 1, 2, 3};
	static const uint8_t trailing[] = {0x53, 0x02, 1, 2, 0x90};
	static const uint8_t disco[] = {0x7E, 0x02, 0x4F, 0x00};
	uint8_t big[300];

	CU_ASSERT_EQUAL(piv_object_value(ok, sizeof(ok), 0x53, &v), MDP_OK);
	CU_ASSERT_EQUAL(cur_left(&v), 3u);
	CU_ASSERT_EQUAL(piv_object_value(trailing, sizeof(trailing), 0x53, &v), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_object_value(ok, sizeof(ok), 0x7E, &v), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_object_value(ok, 4, 0x53, &v), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_object_value(disco, sizeof(disco), 0x7E, &v), MDP_OK);
	CU_ASSERT_EQUAL(piv_object_value(NULL, 0, 0x53, &v), MDP_ERR_FORMAT);
	/* 82 xx xx lengths */
	big[0] = 0x53;
	big[1] = 0x82;
	big[2] = 0x01;
	big[3] = 0x00;
	memset(big + 4, 0xAB, 256);
	CU_ASSERT_EQUAL(piv_object_value(big, 260, 0x53, &v), MDP_OK);
	CU_ASSERT_EQUAL(cur_left(&v), 256u);
	/* the command fields */
	buf_init(&b);
	piv_get_data_field(&b, 0x5FC102);
	CU_ASSERT_EQUAL(b.len, 5u);
	CU_ASSERT_MEM_EQUAL(b.data, "\x5C\x03\x5F\xC1\x02", 5);
	buf_free(&b);
	buf_init(&b);
	piv_get_data_field(&b, 0x7E);
	CU_ASSERT_MEM_EQUAL(b.data, "\x5C\x01\x7E", 3);
	buf_free(&b);
	buf_init(&b);
	piv_put_data_field(&b, 0x5FFF10, (const uint8_t *)"\x81\x00", 2);
	CU_ASSERT_EQUAL(b.len, 9u);
	CU_ASSERT_MEM_EQUAL(b.data, "\x5C\x03\x5F\xFF\x10\x53\x02\x81\x00", 9);
	buf_free(&b);
	buf_init(&b);
	piv_put_data_field(&b, 0x5FC10A, NULL, 0);
	CU_ASSERT_MEM_EQUAL(b.data, "\x5C\x03\x5F\xC1\x0A\x53\x00", 7);
	buf_free(&b);
}

static void
test_chuid(void)
{
	static const uint8_t guid[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
					 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00};
	uint8_t g2[16];
	struct piv_chuid c;
	struct mdp_buf b, b2;

	/* a new CHUID: libykpiv's 59-byte layout (spec §5.1) */
	buf_init(&b);
	CU_ASSERT_EQUAL(piv_chuid_with_guid(NULL, 0, guid, &b), MDP_OK);
	CU_ASSERT_EQUAL(b.len, 59u);
	CU_ASSERT_MEM_EQUAL(b.data, "\x30\x19\xD4\xE7\x39\xDA", 6);
	CU_ASSERT_MEM_EQUAL(b.data + 27, "\x34\x10", 2);
	CU_ASSERT_MEM_EQUAL(b.data + 29, guid, 16);
	CU_ASSERT_MEM_EQUAL(b.data + 45,
			    "\x35\x08"
			    "20300101"
			    "\x3E\x00\xFE\x00",
			    14);
	CU_ASSERT_EQUAL(piv_chuid_parse(b.data, b.len, &c), MDP_OK);
	CU_ASSERT_TRUE(c.has_guid);
	CU_ASSERT_MEM_EQUAL(c.guid, guid, 16);
	CU_ASSERT_EQUAL(c.fascn_len, 25u);
	CU_ASSERT_FALSE(c.signed_by_issuer);
	CU_ASSERT_FALSE(piv_fascn_is_federal(c.fascn, c.fascn_len));
	/* a new GUID keeps every other TLV in place */
	memcpy(g2, guid, 16);
	g2[15] = 0x42;
	buf_init(&b2);
	CU_ASSERT_EQUAL(piv_chuid_with_guid(b.data, b.len, g2, &b2), MDP_OK);
	CU_ASSERT_EQUAL(b2.len, b.len);
	CU_ASSERT_MEM_EQUAL(b2.data, b.data, 29);
	CU_ASSERT_MEM_EQUAL(b2.data + 29, g2, 16);
	CU_ASSERT_MEM_EQUAL(b2.data + 45, b.data + 45, 14);
	buf_free(&b2);
	/* a CHUID without GUID gets one after the FASC-N */
	buf_init(&b2);
	CU_ASSERT_EQUAL(piv_chuid_with_guid(b.data, 27, g2, &b2), MDP_OK);
	CU_ASSERT_EQUAL(b2.len, 45u);
	CU_ASSERT_MEM_EQUAL(b2.data + 27, "\x34\x10", 2);
	buf_free(&b2);
	/* an issuer signature is seen */
	buf_init(&b2);
	buf_put_bytes(&b2, b.data, 45);
	buf_put_tlv(&b2, 0x3E, "\x30\x03\x02\x01\x01", 5);
	CU_ASSERT_EQUAL(piv_chuid_parse(b2.data, b2.len, &c), MDP_OK);
	CU_ASSERT_TRUE(c.signed_by_issuer);
	buf_free(&b2);
	/* broken TLVs and a federal FASC-N */
	CU_ASSERT_EQUAL(piv_chuid_parse((const uint8_t *)"\x30\x19\xD4", 3, &c), MDP_ERR_FORMAT);
	{
		uint8_t f[25];

		memcpy(f, b.data + 2, 25);
		f[0] = 0xD0;
		CU_ASSERT_TRUE(piv_fascn_is_federal(f, 25));
		CU_ASSERT_FALSE(piv_fascn_is_federal(f, 24));
	}
	buf_free(&b);
}

static void
test_key_history(void)
{
	struct piv_key_history kh;
	struct mdp_buf b;

	buf_init(&b);
	piv_key_history_build(2, &b);
	CU_ASSERT_EQUAL(b.len, 8u);
	CU_ASSERT_MEM_EQUAL(b.data, "\xC1\x01\x02\xC2\x01\x00\xFE\x00", 8);
	CU_ASSERT_EQUAL(piv_key_history_parse(b.data, b.len, &kh), MDP_OK);
	CU_ASSERT_TRUE(kh.present);
	CU_ASSERT_EQUAL(kh.on_card, 2u);
	CU_ASSERT_EQUAL(kh.off_card, 0u);
	buf_free(&b);
	CU_ASSERT_EQUAL(piv_key_history_parse((const uint8_t *)"\xC1\x01\x30\xC2\x01\x05", 6, &kh),
			MDP_OK);
	CU_ASSERT_EQUAL(kh.on_card, 20u); /* capped: twenty retired slots exist */
	CU_ASSERT_EQUAL(kh.off_card, 5u);
	CU_ASSERT_EQUAL(piv_key_history_parse((const uint8_t *)"\xC1\x05\x01", 3, &kh),
			MDP_ERR_FORMAT);
	buf_init(&b);
	piv_key_history_build(30, &b);
	CU_ASSERT_EQUAL(b.data[2], 20);
	buf_free(&b);
}

static void
test_cert_object(void)
{
	EVP_PKEY *k = mdp_pkey_keygen_ec("P-256");
	size_t len = 0, big_len = 0, out_len = 0;
	uint8_t *der = make_cert(k, 0, false, &len), *big, *out = NULL;
	struct mdp_buf b, z;

	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	/* built uncompressed: 70 cert 71 01 00 FE 00 (what libykpiv and ykcs11 read) */
	buf_init(&b);
	CU_ASSERT_EQUAL(piv_cert_object_build(der, len, PIV_OBJECT_MAX, &b), MDP_OK);
	CU_ASSERT_EQUAL(b.data[0], 0x70);
	CU_ASSERT_MEM_EQUAL(b.data + b.len - 5, "\x71\x01\x00\xFE\x00", 5);
	CU_ASSERT_EQUAL(piv_cert_object_parse(b.data, b.len, &out, &out_len), MDP_OK);
	CU_ASSERT_EQUAL(out_len, len);
	CU_ASSERT_MEM_EQUAL(out, der, len);
	free(out);
	buf_free(&b);
	/* gzip (CertInfo 01), zlib (OpenSC accepts both) and SP 800-72's bit 7 */
	for (int form = 0; form < 3; form++) {
		buf_init(&z);
		compress_into(der, len, form == 1 ? 15 : 15 + 16, &z);
		buf_init(&b);
		buf_put_tlv(&b, 0x70, z.data, z.len);
		buf_put_tlv(&b, 0x71, form == 2 ? "\x80" : "\x01", 1);
		buf_put_tlv(&b, 0xFE, NULL, 0);
		out = NULL;
		CU_ASSERT_EQUAL(piv_cert_object_parse(b.data, b.len, &out, &out_len), MDP_OK);
		CU_ASSERT_EQUAL(out_len, len);
		if (out)
			CU_ASSERT_MEM_EQUAL(out, der, len);
		free(out);
		/* compressed data that is not: refused */
		b.data[5] ^= 0xFF;
		b.data[6] ^= 0xFF;
		out = NULL;
		CU_ASSERT_EQUAL(piv_cert_object_parse(b.data, b.len, &out, &out_len),
				MDP_ERR_FORMAT);
		buf_free(&b);
		buf_free(&z);
	}
	/* a bomb: more than 65535 bytes inflated */
	{
		uint8_t *zeros = calloc(1, 200000);

		buf_init(&z);
		compress_into(zeros, 200000, 15 + 16, &z);
		buf_init(&b);
		buf_put_tlv(&b, 0x70, z.data, z.len);
		buf_put_tlv(&b, 0x71, "\x01", 1);
		CU_ASSERT_EQUAL(piv_cert_object_parse(b.data, b.len, &out, &out_len),
				MDP_ERR_FORMAT);
		buf_free(&b);
		buf_free(&z);
		free(zeros);
	}
	/* empty and malformed objects */
	CU_ASSERT_EQUAL(piv_cert_object_parse(NULL, 0, &out, &out_len), MDP_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(
		piv_cert_object_parse((const uint8_t *)"\x70\x00\x71\x01\x00", 5, &out, &out_len),
		MDP_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(piv_cert_object_parse((const uint8_t *)"\x71\x01\x00", 3, &out, &out_len),
			MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_cert_object_parse((const uint8_t *)"\x70\x05\x30", 3, &out, &out_len),
			MDP_ERR_FORMAT);
	/* too large uncompressed: gzip when that fits, else refused */
	big = make_cert(k, 4000, true, &big_len);
	CU_ASSERT_TRUE(big_len > PIV_OBJECT_MAX);
	buf_init(&b);
	CU_ASSERT_EQUAL(piv_cert_object_build(big, big_len, PIV_OBJECT_MAX, &b), MDP_ERR_OVERFLOW);
	buf_free(&b);
	OPENSSL_free(big);
	big = make_cert(k, 4000, false, &big_len);
	CU_ASSERT_TRUE(big_len > PIV_OBJECT_MAX);
	buf_init(&b);
	CU_ASSERT_EQUAL(piv_cert_object_build(big, big_len, PIV_OBJECT_MAX, &b), MDP_OK);
	CU_ASSERT_MEM_EQUAL(b.data + b.len - 5, "\x71\x01\x01\xFE\x00", 5);
	CU_ASSERT_TRUE(b.len <= PIV_OBJECT_MAX);
	out = NULL;
	CU_ASSERT_EQUAL(piv_cert_object_parse(b.data, b.len, &out, &out_len), MDP_OK);
	CU_ASSERT_EQUAL(out_len, big_len);
	free(out);
	buf_free(&b);
	OPENSSL_free(big);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

/* ---- MSCMAP ---- */

static void
set_name(struct piv_cmap_rec *r, const char *s)
{
	size_t i;

	memset(r->name, 0, sizeof(r->name));
	for (i = 0; s[i]; i++)
		r->name[i] = (uint8_t)s[i];
}

static void
test_mscmap_layout(void)
{
	struct piv_cmap_rec r[2], *back = NULL;
	struct mdp_buf b;
	size_t n = 0;
	bool wide = true;

	memset(r, 0, sizeof(r));
	set_name(&r[0], "{ABC}");
	r[0].slot = 0x9A;
	r[0].key_spec = 1;
	r[0].key_bits = 2048;
	r[0].flags = 3;
	r[0].pin_id = 1;
	r[0].ecdh = 0xFF;
	memset(r[0].fingerprint, 0x5A, 20);
	buf_init(&b);
	CU_ASSERT_EQUAL(piv_mscmap_build(r, 2, &b), MDP_OK);
	/* 81 81 D6 (214 = 2 x 107), then Windows' packed record (spec §7.1) */
	CU_ASSERT_EQUAL(b.len, 3u + 214u);
	CU_ASSERT_MEM_EQUAL(b.data, "\x81\x81\xD6", 3);
	CU_ASSERT_MEM_EQUAL(b.data + 3, "{\0A\0B\0C\0}\0\0\0", 12);
	CU_ASSERT_EQUAL(b.data[3 + 80], 0x9A);
	CU_ASSERT_EQUAL(b.data[3 + 81], 1);
	CU_ASSERT_EQUAL(b.data[3 + 82], 0x00);
	CU_ASSERT_EQUAL(b.data[3 + 83], 0x08);
	CU_ASSERT_EQUAL(b.data[3 + 84], 3);
	CU_ASSERT_EQUAL(b.data[3 + 85], 1);
	CU_ASSERT_EQUAL(b.data[3 + 86], 0xFF);
	CU_ASSERT_EQUAL(b.data[3 + 87], 0x5A);
	CU_ASSERT_EQUAL(b.data[3 + 106], 0x5A);
	CU_ASSERT_EQUAL(b.data[3 + 107], 0); /* record 1: all zero */
	CU_ASSERT_EQUAL(piv_mscmap_parse(b.data, b.len, &back, &n, &wide), MDP_OK);
	CU_ASSERT_EQUAL(n, 2u);
	CU_ASSERT_FALSE(wide);
	if (back && n == 2) {
		CU_ASSERT_MEM_EQUAL(&back[0], &r[0], sizeof(r[0]));
		CU_ASSERT_EQUAL(back[1].flags, 0);
	}
	free(back);
	buf_free(&b);
	/* no records: an empty object (53 00) */
	buf_init(&b);
	CU_ASSERT_EQUAL(piv_mscmap_build(r, 0, &b), MDP_OK);
	CU_ASSERT_EQUAL(b.len, 0u);
	buf_free(&b);
	CU_ASSERT_EQUAL(piv_mscmap_parse(NULL, 0, &back, &n, &wide), MDP_OK);
	CU_ASSERT_EQUAL(n, 0u);
	CU_ASSERT_EQUAL(piv_mscmap_parse((const uint8_t *)"\x81\x00", 2, &back, &n, &wide), MDP_OK);
	CU_ASSERT_EQUAL(n, 0u);
}

static void
test_mscmap_wide(void)
{
	/* libykpiv on Linux: wchar_t of 4 bytes, 187-byte records (spec §7.3) */
	uint8_t rec[187];
	struct piv_cmap_rec *back = NULL;
	struct mdp_buf b;
	size_t n = 0;
	bool wide = false;

	memset(rec, 0, sizeof(rec));
	rec[0] = 'k';
	{
		uint32_t cp = 0x1F600; /* as UTF-32LE */

		rec[4] = (uint8_t)cp;
		rec[5] = (uint8_t)(cp >> 8);
		rec[6] = (uint8_t)(cp >> 16);
		rec[7] = 0;
	}
	rec[160] = 0x83;
	rec[161] = 6;
	rec[162] = 0x00;
	rec[163] = 0x01;
	rec[164] = 1;
	rec[165] = 1;
	rec[166] = 0xFF;
	buf_init(&b);
	buf_put_tlv(&b, 0x81, rec, sizeof(rec));
	CU_ASSERT_EQUAL(piv_mscmap_parse(b.data, b.len, &back, &n, &wide), MDP_OK);
	CU_ASSERT_TRUE(wide);
	CU_ASSERT_EQUAL_FATAL(n, 1u);
	CU_ASSERT_EQUAL(back[0].name[0], 'k');
	CU_ASSERT_EQUAL(back[0].name[1], 0xD83D); /* the surrogate pair */
	CU_ASSERT_EQUAL(back[0].name[2], 0xDE00);
	CU_ASSERT_EQUAL(back[0].name[3], 0);
	CU_ASSERT_EQUAL(back[0].slot, 0x83);
	CU_ASSERT_EQUAL(back[0].key_spec, 6);
	CU_ASSERT_EQUAL(back[0].key_bits, 256);
	free(back);
	buf_free(&b);
	/* a code point beyond Unicode */
	rec[7] = 0x01;
	buf_init(&b);
	buf_put_tlv(&b, 0x81, rec, sizeof(rec));
	CU_ASSERT_EQUAL(piv_mscmap_parse(b.data, b.len, &back, &n, &wide), MDP_ERR_FORMAT);
	buf_free(&b);
}

static void
test_mscmap_bad(void)
{
	uint8_t rec[107 * 29];
	struct piv_cmap_rec r[29], *back = NULL;
	struct mdp_buf b;
	size_t n = 0;
	bool wide;

	/* neither 107 nor 187 bytes per record */
	memset(rec, 0, sizeof(rec));
	buf_init(&b);
	buf_put_tlv(&b, 0x81, rec, 108);
	CU_ASSERT_EQUAL(piv_mscmap_parse(b.data, b.len, &back, &n, &wide), MDP_ERR_FORMAT);
	buf_free(&b);
	/* a name without its NUL in 40 units */
	memset(rec, 'x', 80);
	buf_init(&b);
	buf_put_tlv(&b, 0x81, rec, 107);
	CU_ASSERT_EQUAL(piv_mscmap_parse(b.data, b.len, &back, &n, &wide), MDP_ERR_FORMAT);
	buf_free(&b);
	/* another tag, trailing bytes */
	CU_ASSERT_EQUAL(piv_mscmap_parse((const uint8_t *)"\x82\x00", 2, &back, &n, &wide),
			MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_mscmap_parse((const uint8_t *)"\x81\x00\x00", 3, &back, &n, &wide),
			MDP_ERR_FORMAT);
	/* more records than one object holds */
	memset(r, 0, sizeof(r));
	buf_init(&b);
	CU_ASSERT_EQUAL(piv_mscmap_build(r, 29, &b), MDP_ERR_OVERFLOW);
	buf_free(&b);
	buf_init(&b);
	CU_ASSERT_EQUAL(piv_mscmap_build(r, 28, &b), MDP_OK);
	CU_ASSERT_TRUE(b.len + 4 <= PIV_OBJECT_MAX);
	buf_free(&b);
}

/* ---- chunks and the store ---- */

static void
test_chunks(void)
{
	struct mdp_cursor d;
	struct mdp_buf b;
	bool last = false;

	buf_init(&b);
	piv_chunk_build((const uint8_t *)"abc", 3, false, &b);
	CU_ASSERT_MEM_EQUAL(b.data,
			    "\x83\x03"
			    "abc",
			    5);
	CU_ASSERT_EQUAL(piv_chunk_parse(b.data, b.len, &d, &last), MDP_OK);
	CU_ASSERT_FALSE(last);
	CU_ASSERT_EQUAL(cur_left(&d), 3u);
	buf_free(&b);
	buf_init(&b);
	piv_chunk_build((const uint8_t *)"z", 1, true, &b);
	CU_ASSERT_EQUAL(piv_chunk_parse(b.data, b.len, &d, &last), MDP_OK);
	CU_ASSERT_TRUE(last);
	buf_free(&b);
	CU_ASSERT_EQUAL(piv_chunk_parse(NULL, 0, &d, &last), MDP_OK);
	CU_ASSERT_TRUE(last);
	CU_ASSERT_EQUAL(cur_left(&d), 0u);
	CU_ASSERT_EQUAL(piv_chunk_parse((const uint8_t *)"\x81\x00", 2, &d, &last), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_chunk_count(0), 1u);
	CU_ASSERT_EQUAL(piv_chunk_count(PIV_CHUNK_MAX), 1u);
	CU_ASSERT_EQUAL(piv_chunk_count(PIV_CHUNK_MAX + 1), 2u);
	/* a full chunk fits one object with its headers */
	CU_ASSERT_TRUE(tlv_header_len(0x83, PIV_CHUNK_MAX) + PIV_CHUNK_MAX <= PIV_OBJECT_MAX);
}

static void
test_store(void)
{
	struct piv_store s, t;
	struct mdp_buf b;
	uint8_t spki[5] = {0x30, 0x03, 0x02, 0x01, 0x00};

	memset(&s, 0, sizeof(s));
	snprintf(s.files[0].name, sizeof(s.files[0].name), "keyattr");
	s.files[0].data = (uint8_t *)strdup("\x01\xE0\x00");
	s.files[0].len = 3;
	snprintf(s.files[1].name, sizeof(s.files[1].name), "dob000");
	s.files[1].data = malloc(1);
	s.files[1].len = 0;
	s.nfiles = 2;
	s.spki[5] = malloc(sizeof(spki));
	memcpy(s.spki[5], spki, sizeof(spki));
	s.spki_len[5] = sizeof(spki);
	s.freed = (1u << 4) | (1u << 23);
	buf_init(&b);
	piv_store_build(&s, &b);
	CU_ASSERT_FALSE(b.bad);
	/* a later version's record is skipped */
	buf_put_tlv(&b, 0xEF, "??", 2);
	CU_ASSERT_EQUAL_FATAL(piv_store_parse(b.data, b.len, &t), MDP_OK);
	CU_ASSERT_EQUAL(t.nfiles, 2u);
	CU_ASSERT_STRING_EQUAL(t.files[0].name, "keyattr");
	CU_ASSERT_EQUAL(t.files[0].len, 3u);
	CU_ASSERT_MEM_EQUAL(t.files[0].data, "\x01\xE0\x00", 3);
	CU_ASSERT_EQUAL(t.files[1].len, 0u);
	CU_ASSERT_PTR_NOT_NULL(piv_store_find(&t, "dob000"));
	CU_ASSERT_PTR_NULL(piv_store_find(&t, "dob001"));
	CU_ASSERT_EQUAL(t.spki_len[5], sizeof(spki));
	CU_ASSERT_EQUAL(t.freed, s.freed);
	piv_store_clear(&t);
	buf_free(&b);
	/* damage: a file twice, an upper-case name, a public key of no slot */
	buf_init(&b);
	piv_store_build(&s, &b);
	piv_store_build(&s, &b);
	CU_ASSERT_EQUAL(piv_store_parse(b.data, b.len, &t), MDP_ERR_FORMAT);
	buf_free(&b);
	buf_init(&b);
	{
		size_t m = buf_tlv_open(&b, 0xE0);

		buf_put_tlv(&b, 0x80, "KEY", 3);
		buf_put_tlv(&b, 0x81, "x", 1);
		buf_tlv_close(&b, m);
	}
	CU_ASSERT_EQUAL(piv_store_parse(b.data, b.len, &t), MDP_ERR_FORMAT);
	buf_free(&b);
	buf_init(&b);
	{
		size_t m = buf_tlv_open(&b, 0xE1);

		buf_put_tlv(&b, 0x80, "\x9B", 1);
		buf_put_tlv(&b, 0x81, "x", 1);
		buf_tlv_close(&b, m);
	}
	CU_ASSERT_EQUAL(piv_store_parse(b.data, b.len, &t), MDP_ERR_FORMAT);
	buf_free(&b);
	CU_ASSERT_EQUAL(piv_store_parse((const uint8_t *)"\xE0\x05\x80", 3, &t), MDP_ERR_FORMAT);
	piv_store_clear(&s);
	/* an empty store is no bytes */
	buf_init(&b);
	piv_store_build(&s, &b);
	CU_ASSERT_EQUAL(b.len, 0u);
	buf_free(&b);
}

static void
test_admin_printed(void)
{
	struct piv_admin_data ad;
	struct mdp_cursor k;
	static const uint8_t admin[] = {0x80, 0x09, 0x81, 0x01, 0x03, 0x83, 0x04, 1, 2, 3, 4};
	static const uint8_t salted[] = {0x80, 0x05, 0x82, 0x03, 1, 2, 3};
	uint8_t printed[2 + 2 + 24];

	CU_ASSERT_EQUAL(piv_admin_data_parse(admin, sizeof(admin), &ad), MDP_OK);
	CU_ASSERT_EQUAL(ad.flags, PIV_ADMIN_PUK_BLOCKED | PIV_ADMIN_MGMT_PROTECTED);
	CU_ASSERT_FALSE(ad.has_salt);
	CU_ASSERT_EQUAL(piv_admin_data_parse(salted, sizeof(salted), &ad), MDP_OK);
	CU_ASSERT_TRUE(ad.has_salt);
	CU_ASSERT_EQUAL(piv_admin_data_parse(salted + 2, 5, &ad), MDP_ERR_FORMAT);
	printed[0] = 0x88;
	printed[1] = 26;
	printed[2] = 0x89;
	printed[3] = 24;
	memset(printed + 4, 7, 24);
	CU_ASSERT_EQUAL(piv_printed_mgmt_key(printed, sizeof(printed), &k), MDP_OK);
	CU_ASSERT_EQUAL(cur_left(&k), 24u);
	printed[3] = 23;
	printed[1] = 25;
	CU_ASSERT_EQUAL(piv_printed_mgmt_key(printed, 27, &k), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_printed_mgmt_key((const uint8_t *)"\x88\x00", 2, &k),
			MDP_ERR_NOT_FOUND);
}

/* ---- GENERAL AUTHENTICATE and key templates ---- */

static void
test_ga(void)
{
	struct mdp_buf b;
	struct mdp_cursor e;
	uint8_t blk[256];

	buf_init(&b);
	piv_ga_request(&b, 0x81, (const uint8_t *)"\x01\x02", 2);
	CU_ASSERT_EQUAL(b.len, 8u);
	CU_ASSERT_MEM_EQUAL(b.data, "\x7C\x06\x82\x00\x81\x02\x01\x02", 8);
	buf_free(&b);
	/* an RSA-2048 block: long lengths (spec §4.7) */
	memset(blk, 0x33, sizeof(blk));
	buf_init(&b);
	piv_ga_request(&b, 0x81, blk, sizeof(blk));
	CU_ASSERT_EQUAL(b.len, 4u + 2u + 4u + 256u);
	CU_ASSERT_MEM_EQUAL(b.data, "\x7C\x82\x01\x06\x82\x00\x81\x82\x01\x00", 10);
	buf_free(&b);
	CU_ASSERT_EQUAL(piv_ga_response((const uint8_t *)"\x7C\x04\x82\x02\xAA\xBB", 6, 0x82, &e),
			MDP_OK);
	CU_ASSERT_EQUAL(cur_left(&e), 2u);
	CU_ASSERT_EQUAL(piv_ga_response((const uint8_t *)"\x7C\x04\x81\x02\xAA\xBB", 6, 0x82, &e),
			MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_ga_response((const uint8_t *)"\x7C\x05\x82\x02\xAA\xBB", 6, 0x82, &e),
			MDP_ERR_FORMAT);
}

static void
test_public_keys(void)
{
	EVP_PKEY *rk = mdp_pkey_keygen_rsa(1024), *ek = mdp_pkey_keygen_ec("P-384");
	struct mdp_key *k = NULL, *back = NULL;
	uint8_t *n = NULL, *pt = NULL;
	size_t nl = 0, ptl = 0;
	struct mdp_buf b, g;

	CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(rk, MDP_AT_NONE, &k), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_rsa_component(k, BLOB_RSA_N, 128, &n, &nl), MDP_OK);
	/* 7F49 { 81 n, 82 e } as GENERATE answers (§4.8) */
	buf_init(&b);
	buf_put_tlv(&b, 0x81, n, nl);
	buf_put_tlv(&b, 0x82, "\x01\x00\x01", 3);
	buf_init(&g);
	buf_put_tlv(&g, 0x7F49, b.data, b.len);
	CU_ASSERT_EQUAL(piv_generate_answer(g.data, g.len, PIV_ALG_RSA1024, &back), MDP_OK);
	CU_ASSERT_TRUE(back && EVP_PKEY_eq(mdp_key_pkey(back), rk) == 1);
	mdp_key_free(back);
	back = NULL;
	/* the wrong size for the algorithm */
	CU_ASSERT_EQUAL(piv_public_key_parse(b.data, b.len, PIV_ALG_RSA2048, &back),
			MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_public_key_parse(b.data, b.len, PIV_ALG_P256, &back), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_public_key_parse(b.data, b.len, PIV_ALG_ED25519, &back),
			MDP_ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(piv_generate_answer(b.data, b.len, PIV_ALG_RSA1024, &back), MDP_ERR_FORMAT);
	buf_free(&b);
	buf_free(&g);
	mdp_key_free(k);
	free(n);
	/* 86 point */
	CU_ASSERT_EQUAL_FATAL(mdp_key_from_pkey(ek, MDP_AT_NONE, &k), MDP_OK);
	CU_ASSERT_EQUAL(mdp_key_ec_point(k, &pt, &ptl), MDP_OK);
	buf_init(&b);
	buf_put_tlv(&b, 0x86, pt, ptl);
	CU_ASSERT_EQUAL(piv_public_key_parse(b.data, b.len, PIV_ALG_P384, &back), MDP_OK);
	CU_ASSERT_TRUE(back && EVP_PKEY_eq(mdp_key_pkey(back), ek) == 1);
	mdp_key_free(back);
	back = NULL;
	CU_ASSERT_EQUAL(piv_public_key_parse(b.data, b.len, PIV_ALG_P256, &back), MDP_ERR_FORMAT);
	b.data[b.len - 1] ^= 1; /* off the curve */
	CU_ASSERT_NOT_EQUAL(piv_public_key_parse(b.data, b.len, PIV_ALG_P384, &back), MDP_OK);
	buf_free(&b);
	mdp_key_free(k);
	free(pt);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ek);
}

static void
test_ecdsa_der(void)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_new(), *ss = BN_new();
	unsigned char *der = NULL;
	uint8_t raw[64];
	int l;

	BN_set_word(r, 0x1234);
	BN_set_word(ss, 0xFFFFFFFF);
	ECDSA_SIG_set0(s, r, ss);
	l = i2d_ECDSA_SIG(s, &der);
	CU_ASSERT_EQUAL(piv_ecdsa_der_to_raw(der, (size_t)l, 32, raw), MDP_OK);
	CU_ASSERT_EQUAL(raw[30], 0x12);
	CU_ASSERT_EQUAL(raw[31], 0x34);
	CU_ASSERT_EQUAL(raw[0], 0);
	CU_ASSERT_MEM_EQUAL(raw + 60, "\xFF\xFF\xFF\xFF", 4);
	CU_ASSERT_EQUAL(piv_ecdsa_der_to_raw(der, (size_t)l - 1, 32, raw), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_ecdsa_der_to_raw(der, (size_t)l, 1, raw), MDP_ERR_FORMAT);
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
}

static void
test_metadata(void)
{
	static const uint8_t key[] = {0x01, 0x01, 0x11, 0x02, 0x02, 0x03, 0x01, 0x03,
				      0x01, 0x02, 0x04, 0x03, 0x86, 0x01, 0x04};
	static const uint8_t pin[] = {0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x05, 0x03};
	struct piv_metadata md;

	CU_ASSERT_EQUAL(piv_metadata_parse(key, sizeof(key), &md), MDP_OK);
	CU_ASSERT_EQUAL(md.alg, PIV_ALG_P256);
	CU_ASSERT_EQUAL(md.pin_policy, PIV_PIN_POLICY_ALWAYS);
	CU_ASSERT_EQUAL(md.origin, 2);
	CU_ASSERT_EQUAL(md.pub_len, 3u);
	CU_ASSERT_EQUAL(md.retries_left, -1);
	CU_ASSERT_EQUAL(piv_metadata_parse(pin, sizeof(pin), &md), MDP_OK);
	CU_ASSERT_TRUE(md.is_default);
	CU_ASSERT_EQUAL(md.retries_total, 5);
	CU_ASSERT_EQUAL(md.retries_left, 3);
	CU_ASSERT_PTR_NULL(md.pub);
	CU_ASSERT_EQUAL(piv_metadata_parse(pin + 3, sizeof(pin) - 3, &md), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(piv_metadata_parse(key, 5, &md), MDP_ERR_FORMAT);
}

static CU_TestInfo slot_tests[] = {
	{"slots, objects, OpenSC ids, key specs", test_slots},
	{"algorithms and PIN blocks", test_algs},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo object_tests[] = {
	{"GET DATA answers and command fields", test_object_value},
	{"CHUID parse and GUID renewal", test_chuid},
	{"Key History", test_key_history},
	{"certificate objects: plain, gzip, zlib, bombs, size", test_cert_object},
	{"ADMIN DATA and Printed", test_admin_printed},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo map_tests[] = {
	{"MSCMAP 107-byte layout and round trip", test_mscmap_layout},
	{"MSCMAP 187-byte records of libykpiv on Linux", test_mscmap_wide},
	{"MSCMAP damage", test_mscmap_bad},
	{"chunked objects", test_chunks},
	{"mdp11's store", test_store},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo crypto_tests[] = {
	{"GENERAL AUTHENTICATE templates", test_ga},
	{"public key templates", test_public_keys},
	{"ECDSA DER to r||s", test_ecdsa_der},
	{"GET METADATA", test_metadata},
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	CU_SuiteInfo suites[] = {
		{"slots", NULL, NULL, NULL, NULL, slot_tests},
		{"objects", NULL, NULL, NULL, NULL, object_tests},
		{"map", NULL, NULL, NULL, NULL, map_tests},
		{"crypto", NULL, NULL, NULL, NULL, crypto_tests},
		CU_SUITE_INFO_NULL,
	};

	mdp_log_init_env();
	return test_run("test-piv-format", suites);
}
