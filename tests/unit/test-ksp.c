/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the host role's formats and cache (no card needed); padding: test-pad.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/bytes.h"
#include "common/error.h"
#include "common/log.h"
#include "common/secmem.h"
#include "ksp/ksp-int.h"
#include "ksp/ksp.h"
#include "minidriver/card.h"
#include "tests/unit/testutil.h"

/* ---- formats ---- */

static void
test_cmap_record(void)
{
	/* "ab" valid+default, sig 0, kx 2048 */
	uint8_t rec[KSP_CMAP_RECORD], out[KSP_CMAP_RECORD];
	struct ksp_cmap_rec r;
	char name[200];

	memset(rec, 0, sizeof(rec));
	rec[0] = 'a';
	rec[2] = 'b';
	rec[80] = 0x03;
	rec[84] = 0x00;
	rec[85] = 0x08;
	ksp_cmap_rec_parse(rec, &r);
	CU_ASSERT_EQUAL(r.flags, 0x03);
	CU_ASSERT_EQUAL(r.sig_bits, 0);
	CU_ASSERT_EQUAL(r.kx_bits, 2048);
	CU_ASSERT_TRUE(ksp_name_from_utf16(r.name_utf16, name, sizeof(name)));
	CU_ASSERT_STRING_EQUAL(name, "ab");
	ksp_cmap_rec_write(&r, out);
	CU_ASSERT_MEM_EQUAL(rec, out, sizeof(rec));
	r.sig_bits = 256;
	r.kx_bits = 0;
	ksp_cmap_rec_write(&r, out);
	CU_ASSERT_EQUAL(out[82], 0x00);
	CU_ASSERT_EQUAL(out[83], 0x01);
	CU_ASSERT_EQUAL(out[84], 0);
}

static void
test_names(void)
{
	uint8_t u[KSP_CMAP_NAME_BYTES];
	char back[200], long39[40], long40[41];
	const char *euro = "\xe2\x82\xac-key";	/* U+20AC */
	const char *smile = "\xf0\x9f\x98\x80"; /* U+1F600: a surrogate pair */

	CU_ASSERT_TRUE(ksp_name_to_utf16("My key", 6, u));
	CU_ASSERT_EQUAL(u[0], 'M');
	CU_ASSERT_EQUAL(u[1], 0);
	CU_ASSERT_EQUAL(u[12], 0);
	CU_ASSERT_TRUE(ksp_name_from_utf16(u, back, sizeof(back)));
	CU_ASSERT_STRING_EQUAL(back, "My key");
	CU_ASSERT_TRUE(ksp_name_to_utf16(euro, strlen(euro), u));
	CU_ASSERT_EQUAL(u[0], 0xAC);
	CU_ASSERT_EQUAL(u[1], 0x20);
	CU_ASSERT_TRUE(ksp_name_from_utf16(u, back, sizeof(back)));
	CU_ASSERT_STRING_EQUAL(back, euro);
	CU_ASSERT_TRUE(ksp_name_to_utf16(smile, strlen(smile), u));
	CU_ASSERT_EQUAL(u[0] | u[1] << 8, 0xD83D);
	CU_ASSERT_EQUAL(u[2] | u[3] << 8, 0xDE00);
	CU_ASSERT_TRUE(ksp_name_from_utf16(u, back, sizeof(back)));
	CU_ASSERT_STRING_EQUAL(back, smile);

	memset(long39, 'x', 39);
	long39[39] = '\0';
	memset(long40, 'x', 40);
	long40[40] = '\0';
	CU_ASSERT_TRUE(ksp_name_to_utf16(long39, 39, u));
	CU_ASSERT_EQUAL(u[76], 'x');
	CU_ASSERT_EQUAL(u[78], 0);
	CU_ASSERT_FALSE(ksp_name_to_utf16(long40, 40, NULL));
	CU_ASSERT_FALSE(ksp_name_to_utf16("", 0, NULL));
	CU_ASSERT_FALSE(ksp_name_to_utf16("a\\b", 3, NULL));
	CU_ASSERT_FALSE(ksp_name_to_utf16("a\x01", 2, NULL));
	CU_ASSERT_FALSE(ksp_name_to_utf16("\xc0\x80", 2, NULL));     /* overlong */
	CU_ASSERT_FALSE(ksp_name_to_utf16("\xed\xa0\x80", 3, NULL)); /* surrogate */
	/* 38 units plus a pair does not fit in 39 */
	{
		char s[60];

		memset(s, 'y', 38);
		memcpy(s + 38, smile, 4);
		CU_ASSERT_FALSE(ksp_name_to_utf16(s, 42, NULL));
	}
	/* Unterminated and broken UTF-16 are refused. */
	memset(u, 'z', sizeof(u));
	CU_ASSERT_FALSE(ksp_name_from_utf16(u, back, sizeof(back)));
	memset(u, 0, sizeof(u));
	u[0] = 0x00;
	u[1] = 0xDC; /* lone low surrogate */
	CU_ASSERT_FALSE(ksp_name_from_utf16(u, back, sizeof(back)));
}

static void
test_guid(void)
{
	char a[39], b[39];
	size_t i;

	CU_ASSERT_TRUE(ksp_guid_name(a));
	CU_ASSERT_TRUE(ksp_guid_name(b));
	CU_ASSERT_EQUAL(strlen(a), 38);
	CU_ASSERT_EQUAL(a[0], '{');
	CU_ASSERT_EQUAL(a[37], '}');
	CU_ASSERT_EQUAL(a[9], '-');
	CU_ASSERT_EQUAL(a[14], '-');
	CU_ASSERT_EQUAL(a[15], '4'); /* version 4 */
	CU_ASSERT_EQUAL(a[19], '-');
	CU_ASSERT_EQUAL(a[24], '-');
	for (i = 1; i < 37; i++)
		if (a[i] != '-')
			CU_ASSERT_PTR_NOT_NULL(strchr("0123456789ABCDEF", a[i]));
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_TRUE(ksp_name_to_utf16(a, strlen(a), NULL));
}

static void
test_cert_names(void)
{
	char n[9];
	uint8_t idx;
	bool sig;

	ksp_cert_file_name(0, false, n);
	CU_ASSERT_STRING_EQUAL(n, "kxc00");
	ksp_cert_file_name(10, true, n);
	CU_ASSERT_STRING_EQUAL(n, "ksc0A");
	CU_ASSERT_TRUE(ksp_cert_file_parse("kxc0a", &idx, &sig));
	CU_ASSERT_EQUAL(idx, 10);
	CU_ASSERT_FALSE(sig);
	CU_ASSERT_TRUE(ksp_cert_file_parse("KSC7F", &idx, &sig));
	CU_ASSERT_EQUAL(idx, 127);
	CU_ASSERT_TRUE(sig);
	CU_ASSERT_FALSE(ksp_cert_file_parse("kxc0", &idx, &sig));
	CU_ASSERT_FALSE(ksp_cert_file_parse("kxc0g", &idx, &sig));
	CU_ASSERT_FALSE(ksp_cert_file_parse("cmapfile", &idx, &sig));
	CU_ASSERT_FALSE(ksp_cert_file_parse("msroots", &idx, &sig));
}

static void
test_cert_compression(void)
{
	uint8_t der[600], *z = NULL, *back = NULL;
	size_t zlen = 0, blen = 0;

	memset(der, 0x41, sizeof(der));
	der[0] = 0x30;
	CU_ASSERT_TRUE(ksp_cert_compress(der, sizeof(der), &z, &zlen));
	CU_ASSERT_EQUAL(z[0], 0x01);
	CU_ASSERT_EQUAL(z[1], 0x00);
	CU_ASSERT_EQUAL(z[2] | z[3] << 8, sizeof(der));
	CU_ASSERT_EQUAL(z[4], 0x78); /* zlib header */
	CU_ASSERT_TRUE(zlen < sizeof(der));
	CU_ASSERT_TRUE(ksp_cert_decompress(z, zlen, &back, &blen));
	CU_ASSERT_EQUAL(blen, sizeof(der));
	CU_ASSERT_MEM_EQUAL(back, der, sizeof(der));
	free(back);
	back = NULL;
	/* A wrong declared length, a damaged stream and an unknown method are refused. */
	z[2] ^= 1;
	CU_ASSERT_FALSE(ksp_cert_decompress(z, zlen, &back, &blen));
	z[2] ^= 1;
	z[zlen - 1] ^= 0xff;
	CU_ASSERT_FALSE(ksp_cert_decompress(z, zlen, &back, &blen));
	z[0] = 0x02;
	CU_ASSERT_FALSE(ksp_cert_decompress(z, zlen, &back, &blen));
	free(z);
	/* Plain DER passes unchanged. */
	CU_ASSERT_TRUE(ksp_cert_decompress(der, sizeof(der), &back, &blen));
	CU_ASSERT_EQUAL(blen, sizeof(der));
	free(back);
	CU_ASSERT_FALSE(ksp_cert_compress(der, 0, &z, &zlen));
}

static void
test_keyattr_roundtrip(void)
{
	struct ksp_keyattr in[2], *out = NULL;
	uint8_t *data = NULL;
	size_t len = 0, n = 0;

	memset(in, 0, sizeof(in));
	in[0].index = 3;
	in[0].slot = 1;
	in[0].name = "{ABC}";
	in[0].has_pub = true;
	memset(in[0].pub_sha256, 0x5a, 32);
	in[0].has_id = true;
	in[0].id = (uint8_t *)"\x01\x02";
	in[0].id_len = 2;
	in[0].label = "signing key";
	in[0].cert_label = "my cert";
	in[0].origin = 1;
	in[1].index = 0;
	in[1].slot = 0;
	in[1].name = "x";
	in[1].has_id = true; /* empty CKA_ID is kept as such */
	in[1].origin = 2;
	CU_ASSERT_TRUE(ksp_keyattr_write(in, 2, &data, &len));
	CU_ASSERT_EQUAL(data[0], 0x01);
	CU_ASSERT_TRUE(ksp_keyattr_parse(data, len, &out, &n));
	CU_ASSERT_EQUAL(n, 2);
	if (n == 2) {
		CU_ASSERT_EQUAL(out[0].index, 3);
		CU_ASSERT_EQUAL(out[0].slot, 1);
		CU_ASSERT_STRING_EQUAL(out[0].name, "{ABC}");
		CU_ASSERT_TRUE(out[0].has_pub);
		CU_ASSERT_EQUAL(out[0].pub_sha256[31], 0x5a);
		CU_ASSERT_EQUAL(out[0].id_len, 2);
		CU_ASSERT_MEM_EQUAL(out[0].id, "\x01\x02", 2);
		CU_ASSERT_STRING_EQUAL(out[0].label, "signing key");
		CU_ASSERT_STRING_EQUAL(out[0].cert_label, "my cert");
		CU_ASSERT_EQUAL(out[0].origin, 1);
		CU_ASSERT_TRUE(out[1].has_id);
		CU_ASSERT_EQUAL(out[1].id_len, 0);
		CU_ASSERT_PTR_NULL(out[1].label);
		CU_ASSERT_FALSE(out[1].has_pub);
		CU_ASSERT_EQUAL(out[1].origin, 2);
	}
	ksp_keyattr_free_list(out, n);
	/* Every truncation is refused (no partial lists). */
	for (size_t cut = 0; cut < len; cut++) {
		out = NULL;
		n = 0;
		if (ksp_keyattr_parse(data, cut, &out, &n)) {
			/* a cut exactly between records is a shorter valid file */
			CU_ASSERT_TRUE(cut == 1 || n == 1);
			ksp_keyattr_free_list(out, n);
		}
	}
	data[0] = 0x02;
	CU_ASSERT_FALSE(ksp_keyattr_parse(data, len, &out, &n));
	free(data);
	/* An unknown field inside a record is skipped. */
	{
		static const uint8_t f[] = {0x01, 0xE0, 0x0D, 0x80, 0x01, 0x05, 0x81, 0x01,
					    0x00, 0x82, 0x01, 'k',  0x9F, 0x20, 0x01, 0xAA};
		CU_ASSERT_TRUE(ksp_keyattr_parse(f, sizeof(f), &out, &n));
		CU_ASSERT_EQUAL(n, 1);
		if (n == 1)
			CU_ASSERT_EQUAL(out[0].index, 5);
		ksp_keyattr_free_list(out, n);
	}
}

static void
test_dob_roundtrip(void)
{
	struct ksp_dob in, out;
	uint8_t *data = NULL;
	size_t len = 0;
	char name[9];
	unsigned num;
	bool priv;

	memset(&in, 0, sizeof(in));
	in.is_private = true;
	in.application = "app";
	in.label = "lbl";
	in.has_object_id = true;
	in.object_id = (uint8_t *)"\x06\x03\x2a\x03\x04";
	in.object_id_len = 5;
	in.value = (uint8_t *)"secret";
	in.value_len = 6;
	CU_ASSERT_TRUE(ksp_dob_write(&in, &data, &len));
	CU_ASSERT_TRUE(ksp_dob_parse(data, len, &out));
	CU_ASSERT_TRUE(out.is_private);
	CU_ASSERT_STRING_EQUAL(out.application, "app");
	CU_ASSERT_STRING_EQUAL(out.label, "lbl");
	CU_ASSERT_EQUAL(out.object_id_len, 5);
	CU_ASSERT_EQUAL(out.value_len, 6);
	CU_ASSERT_MEM_EQUAL(out.value, "secret", 6);
	ksp_dob_clear(&out);
	CU_ASSERT_FALSE(ksp_dob_parse(data, len - 1, &out));
	mdp_secure_free(data, len);

	ksp_dob_file_name(7, false, name);
	CU_ASSERT_STRING_EQUAL(name, "dob007");
	ksp_dob_file_name(999, true, name);
	CU_ASSERT_STRING_EQUAL(name, "dop999");
	CU_ASSERT_TRUE(ksp_dob_file_parse("dop012", &num, &priv));
	CU_ASSERT_EQUAL(num, 12);
	CU_ASSERT_TRUE(priv);
	CU_ASSERT_FALSE(ksp_dob_file_parse("dob12", &num, &priv));
	CU_ASSERT_FALSE(ksp_dob_file_parse("keyattr", &num, &priv));
}

/* ---- cache ---- */

static void
test_cardcf(void)
{
	uint8_t a[6] = {1, 0xff, 0xff, 0xff, 0x10, 0}, b[6];

	memcpy(b, a, 6);
	CU_ASSERT_EQUAL(ksp_cardcf_diff(a, b), 0);
	ksp_cardcf_bump(b, KSP_C_PIN);
	CU_ASSERT_EQUAL(b[1], 0x00); /* wraps */
	CU_ASSERT_EQUAL(ksp_cardcf_diff(a, b), KSP_C_PIN);
	memcpy(b, a, 6);
	ksp_cardcf_bump(b, KSP_C_CONTAINERS | KSP_C_FILES);
	CU_ASSERT_EQUAL(b[2], 0x00);
	CU_ASSERT_EQUAL(b[3], 0x00); /* 0xffff + 1 wraps */
	CU_ASSERT_EQUAL(b[4], 0x11);
	CU_ASSERT_EQUAL(b[0], 1);
	CU_ASSERT_EQUAL(ksp_cardcf_diff(a, b), KSP_C_CONTAINERS | KSP_C_FILES);
}

static void
test_cache_classes(void)
{
	struct ksp_cache c;
	const struct ksp_cache_entry *e;

	ksp_cache_init(&c);
	CU_ASSERT_TRUE(ksp_cache_put(&c, "caps", KSP_C_STATIC, false, (const uint8_t *)"x", 1));
	CU_ASSERT_TRUE(ksp_cache_put(&c, "f:mscp/cmapfile", KSP_C_CONTAINERS | KSP_C_FILES, false,
				     (const uint8_t *)"", 0));
	CU_ASSERT_TRUE(ksp_cache_put(&c, "ci:00", KSP_C_CONTAINERS, true, NULL, 0));
	CU_ASSERT_TRUE(ksp_cache_put(&c, "pin:1", KSP_C_PIN, false, (const uint8_t *)"p", 1));
	CU_ASSERT_TRUE(ksp_cache_put(&c, "f:mdp11/dop000", KSP_C_FILES | KSP_C_PRIVATE, false,
				     (const uint8_t *)"s", 1));
	e = ksp_cache_get(&c, "ci:00");
	CU_ASSERT_PTR_NOT_NULL(e);
	if (e)
		CU_ASSERT_TRUE(e->absent);
	/* replace keeps one entry */
	CU_ASSERT_TRUE(ksp_cache_put(&c, "pin:1", KSP_C_PIN, false, (const uint8_t *)"q", 1));
	CU_ASSERT_EQUAL(c.n, 5);
	ksp_cache_drop(&c, KSP_C_FILES);
	CU_ASSERT_PTR_NULL(ksp_cache_get(&c, "f:mscp/cmapfile"));
	CU_ASSERT_PTR_NULL(ksp_cache_get(&c, "f:mdp11/dop000"));
	CU_ASSERT_PTR_NOT_NULL(ksp_cache_get(&c, "ci:00"));
	ksp_cache_drop(&c, KSP_C_CONTAINERS);
	CU_ASSERT_PTR_NULL(ksp_cache_get(&c, "ci:00"));
	CU_ASSERT_PTR_NOT_NULL(ksp_cache_get(&c, "caps"));
	CU_ASSERT_PTR_NOT_NULL(ksp_cache_get(&c, "pin:1"));
	ksp_cache_drop_tag(&c, "pin:1");
	CU_ASSERT_PTR_NULL(ksp_cache_get(&c, "pin:1"));
	ksp_cache_clear(&c);
}

static void
test_cache_disk(void)
{
	struct ksp_cache c, d;
	uint8_t id[16], other[16], cf[6] = {1, 2, 3, 0, 4, 0}, got[6];
	char *dir = test_tmpdir(), path[512];
	char *hex;
	uint8_t *file;
	size_t flen = 0;
	FILE *f;
	struct stat st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	memset(id, 0xA5, sizeof(id));
	memset(other, 0x5A, sizeof(other));
	ksp_cache_init(&c);
	ksp_cache_init(&d);
	CU_ASSERT_TRUE(ksp_cache_put(&c, "f:mscp/cmapfile", KSP_C_FILES, false,
				     (const uint8_t *)"abc", 3));
	CU_ASSERT_TRUE(ksp_cache_put(&c, "ls:mdp11", KSP_C_FILES, true, NULL, 0));
	CU_ASSERT_TRUE(ksp_cache_put(&c, "f:mdp11/dop001", KSP_C_FILES | KSP_C_PRIVATE, false,
				     (const uint8_t *)"SECRET", 6));
	CU_ASSERT_TRUE(ksp_cache_save(&c, dir, id, sizeof(id), cf));
	CU_ASSERT_TRUE(ksp_cache_load(&d, dir, id, sizeof(id), got));
	CU_ASSERT_MEM_EQUAL(got, cf, 6);
	CU_ASSERT_EQUAL(d.n, 2);
	CU_ASSERT_PTR_NOT_NULL(ksp_cache_get(&d, "f:mscp/cmapfile"));
	CU_ASSERT_PTR_NULL(ksp_cache_get(&d, "f:mdp11/dop001")); /* secrets never reach the disk */
	CU_ASSERT_TRUE(ksp_cache_get(&d, "ls:mdp11") && ksp_cache_get(&d, "ls:mdp11")->absent);
	CU_ASSERT_FALSE(d.dirty);
	/* the file holds no private bytes and is private to the user */
	hex = mdp_hex_encode(id, sizeof(id));
	snprintf(path, sizeof(path), "%s/%s.cache", dir, hex);
	free(hex);
	file = test_read_file(path, &flen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	CU_ASSERT_PTR_NULL(memmem(file, flen, "SECRET", 6));
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 077, 0);
	/* another card's id finds nothing */
	CU_ASSERT_FALSE(ksp_cache_load(&d, dir, other, sizeof(other), got));
	/* a damaged file is ignored and leaves the cache as it was */
	file[flen / 2] ^= 0x01;
	f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite(file, 1, flen, f);
	fclose(f);
	CU_ASSERT_FALSE(ksp_cache_load(&d, dir, id, sizeof(id), got));
	CU_ASSERT_EQUAL(d.n, 2);
	/* truncated */
	f = fopen(path, "wb");
	fwrite(file, 1, flen / 3, f);
	fclose(f);
	CU_ASSERT_FALSE(ksp_cache_load(&d, dir, id, sizeof(id), got));
	free(file);
	ksp_cache_clear(&c);
	ksp_cache_clear(&d);
	test_rmtree(dir);
	free(dir);
}

/* ---- messages: what an outcome means, which size limit binds ---- */

static void
test_rv_text(void)
{
	int v;

	/* Words for people for every outcome, never the internal name again. */
	for (v = KSP_OK; v <= KSP_E_DECRYPT; v++) {
		const char *t = ksp_rv_text((enum ksp_rv)v);

		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		CU_ASSERT(strlen(t) > 3);
		CU_ASSERT_PTR_NULL(strstr(t, "KSP_"));
		CU_ASSERT_STRING_NOT_EQUAL(t, "unknown outcome");
		CU_ASSERT_STRING_NOT_EQUAL(t, ksp_rv_name((enum ksp_rv)v));
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(ksp_rv_text(KSP_E_NO_SERVICE), "pcscd"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ksp_rv_text(KSP_E_EXISTS), "exists"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ksp_rv_text(KSP_E_DEVICE), "communication"));
}

static void
test_rsa_size_why(void)
{
	/* The card takes 1024..4096 step 8; the policy allows 2048..3072. */
	struct ksp_key_sizes ks = {
		.supported = true,
		.min_bits = 2048,
		.max_bits = 3072,
		.incr_bits = 8,
		.card_min_bits = 1024,
		.card_max_bits = 4096,
		.policy_min_bits = 2048,
		.policy_max_bits = 3072,
	};
	char buf[192];

	ksp_rsa_size_why(&ks, 8192, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "8192 bits: the card takes at most 4096");
	ksp_rsa_size_why(&ks, 4096, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "4096 bits: rsa_max_bits = 3072 in [policy] of mdp11.conf "
				    "(the card takes up to 4096)");
	ksp_rsa_size_why(&ks, 512, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "512 bits: the card takes at least 1024");
	ksp_rsa_size_why(&ks, 1024, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "1024 bits: rsa_min_bits = 2048 in [policy] of mdp11.conf "
				    "(the card takes from 1024)");
	ksp_rsa_size_why(&ks, 2049, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2049 bits: the card takes sizes from 2048 in steps of 8");
	/* Policy and card equal (the defaults): the card's limit is named. */
	ks.max_bits = ks.policy_max_bits = 4096;
	ksp_rsa_size_why(&ks, 8192, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "8192 bits: the card takes at most 4096");
}

static CU_TestInfo format_tests[] = {
	{"cmapfile record layout", test_cmap_record},
	{"container names UTF-8 <-> UTF-16LE and validity", test_names},
	{"GUID container names", test_guid},
	{"certificate file names", test_cert_names},
	{"certificate compression", test_cert_compression},
	{"mdp11/keyattr round trip and damage", test_keyattr_roundtrip},
	{"mdp11 data object files", test_dob_roundtrip},
	{"outcomes in words (ksp_rv_text)", test_rv_text},
	{"RSA size refusals name the binding limit", test_rsa_size_why},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo cache_tests[] = {
	{"cardcf counters: diff and bump", test_cardcf},
	{"freshness classes", test_cache_classes},
	{"persistent cache file", test_cache_disk},
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	CU_SuiteInfo suites[] = {
		{"format", NULL, NULL, NULL, NULL, format_tests},
		{"cache", NULL, NULL, NULL, NULL, cache_tests},
		CU_SUITE_INFO_NULL,
	};

	mdp_log_init_env();
	return test_run("test-ksp", suites);
}
