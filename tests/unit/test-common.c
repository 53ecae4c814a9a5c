/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for src/common: errors, cursor, buffer, TLV, hex, config, log, secmem. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "common/bytes.h"
#include "common/conf.h"
#include "common/error.h"
#include "common/log.h"
#include "common/ossl.h"
#include "common/secmem.h"
#include "tests/unit/testutil.h"

static void
test_error_names(void)
{
	int i;

	for (i = 0; i < MDP_ERR__COUNT; i++) {
		CU_ASSERT_PTR_NOT_NULL(mdp_err_name((enum mdp_err)i));
		CU_ASSERT(strncmp(mdp_err_name((enum mdp_err)i), "MDP_", 4) == 0);
		CU_ASSERT_PTR_NOT_NULL(mdp_err_str((enum mdp_err)i));
	}
	CU_ASSERT_STRING_EQUAL(mdp_err_name((enum mdp_err)999), "MDP_ERR_UNKNOWN");
	CU_ASSERT_EQUAL(mdp_err_reason(MDP_ERR_FORMAT, "bad %d", 7), MDP_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(mdp_err_last(), "bad 7");
	CU_ASSERT_TRUE(mdp_err_has_reason());
	mdp_err_clear();
	CU_ASSERT_FALSE(mdp_err_has_reason());
	/* Read after a failure that recorded nothing: never "success". */
	CU_ASSERT_STRING_EQUAL(mdp_err_last(), "no further details");
}

static void
test_cursor_reads(void)
{
	static const uint8_t d[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	struct mdp_cursor c, sub;

	cur_init(&c, d, sizeof(d));
	CU_ASSERT_EQUAL(cur_get_u8(&c), 1);
	CU_ASSERT_EQUAL(cur_get_le16(&c), 0x0302);
	CU_ASSERT_EQUAL(cur_get_be16(&c), 0x0405);
	CU_ASSERT_EQUAL(cur_left(&c), 4);
	CU_ASSERT_EQUAL(cur_get_le32(&c), 0x09080706);
	CU_ASSERT_FALSE(c.bad);
	CU_ASSERT_EQUAL(cur_get_u8(&c), 0);
	CU_ASSERT_TRUE(c.bad);

	cur_init(&c, d, sizeof(d));
	CU_ASSERT_EQUAL(cur_get_be32(&c), 0x01020304);
	CU_ASSERT_TRUE(cur_sub(&c, 3, &sub));
	CU_ASSERT_EQUAL(cur_left(&sub), 3);
	CU_ASSERT_EQUAL(cur_get_u8(&sub), 5);
	CU_ASSERT_PTR_NULL(cur_get_bytes(&c, 3));
	CU_ASSERT_TRUE(c.bad);
	/* A failed read does not move the position. */
	CU_ASSERT_EQUAL(c.pos, 7);
	CU_ASSERT_FALSE(cur_sub(&c, 1, &sub));
}

static void
test_buf_writes(void)
{
	struct mdp_buf b;
	uint8_t *p;
	size_t n;
	static const uint8_t want[] = {0xaa, 0x01, 0x02, 0x04, 0x03, 0x02, 0x01, 0x01, 0x02,
				       0x01, 0x02, 0x03, 0x04, 3,    2,	   1,	 0,    0};
	static const uint8_t rev[] = {1, 2, 3};
	int i;

	buf_init(&b);
	buf_put_u8(&b, 0xaa);
	buf_put_le16(&b, 0x0201);
	buf_put_le32(&b, 0x01020304);
	buf_put_be16(&b, 0x0102);
	buf_put_be32(&b, 0x01020304);
	buf_put_reversed(&b, rev, 3);
	buf_put_zeros(&b, 2);
	p = buf_steal(&b, &n);
	CU_ASSERT_EQUAL_FATAL(n, sizeof(want));
	CU_ASSERT_MEM_EQUAL(p, want, n);
	free(p);

	/* Growth across many reallocations, secret mode copies and wipes. */
	buf_init_secret(&b);
	for (i = 0; i < 5000; i++)
		buf_put_u8(&b, (uint8_t)i);
	CU_ASSERT_EQUAL(b.len, 5000);
	CU_ASSERT_EQUAL(b.data[4999], (uint8_t)4999);
	buf_free(&b);
	CU_ASSERT_PTR_NULL(b.data);
}

static void
test_cursor_skip(void)
{
	static const uint8_t d[] = {1, 2, 3, 4};
	struct mdp_cursor c;

	cur_init(&c, d, sizeof(d));
	CU_ASSERT_TRUE(cur_skip(&c, 0));
	CU_ASSERT_TRUE(cur_skip(&c, 2));
	CU_ASSERT_EQUAL(cur_get_u8(&c), 3);
	/* Skipping past the end fails, marks the cursor and does not move it. */
	CU_ASSERT_FALSE(cur_skip(&c, 2));
	CU_ASSERT_TRUE(c.bad);
	CU_ASSERT_EQUAL(c.pos, 3);
	CU_ASSERT_EQUAL(cur_left(&c), 1);
	cur_init(&c, d, sizeof(d));
	CU_ASSERT_FALSE(cur_skip(&c, SIZE_MAX));
	CU_ASSERT_EQUAL(c.pos, 0);
}

static void
test_buf_reserve_reverse(void)
{
	static const uint8_t want[] = {0x81, 0x7f, 0x49, 0x5f, 0x7f, 0x21, 0x00, 0x7f, 0x81,
				       0x80, 0x82, 0x01, 0x00, 0x83, 0x01, 0x00, 0x00};
	uint8_t r[] = {1, 2, 3, 4, 5};
	struct mdp_buf b;
	uint8_t *p;
	size_t n;

	buf_init(&b);
	CU_ASSERT_TRUE(buf_reserve(&b, 1000));
	CU_ASSERT_TRUE(b.cap >= 1000);
	CU_ASSERT_EQUAL(b.len, 0);
	/* Tags of 1 to 3 bytes, lengths in short form and long form of 1 to 3 bytes. */
	buf_put_tag(&b, 0x81);
	buf_put_tag(&b, 0x7f49);
	buf_put_tag(&b, 0x5f7f21);
	buf_put_len(&b, 0);
	buf_put_len(&b, 0x7f);
	buf_put_len(&b, 0x80);
	buf_put_len(&b, 0x100);
	buf_put_len(&b, 0x10000);
	CU_ASSERT_FALSE(b.bad);
	p = buf_steal(&b, &n);
	CU_ASSERT_EQUAL_FATAL(n, sizeof(want));
	CU_ASSERT_MEM_EQUAL(p, want, n);
	free(p);

	/* A length BER-TLV cannot state, or a reservation that overflows, spoils the buffer. */
	buf_init(&b);
	buf_put_len(&b, 0x1000000);
	CU_ASSERT_TRUE(b.bad);
	CU_ASSERT_PTR_NULL(buf_steal(&b, &n));
	buf_free(&b);
	buf_init(&b);
	buf_put_u8(&b, 1);
	CU_ASSERT_FALSE(buf_reserve(&b, SIZE_MAX));
	CU_ASSERT_TRUE(b.bad);
	CU_ASSERT_FALSE(buf_reserve(&b, 1));
	buf_free(&b);

	mdp_reverse(r, 5);
	CU_ASSERT_EQUAL(r[0], 5);
	CU_ASSERT_EQUAL(r[2], 3);
	CU_ASSERT_EQUAL(r[4], 1);
	mdp_reverse(r, 4);
	CU_ASSERT_EQUAL(r[0], 2);
	CU_ASSERT_EQUAL(r[3], 5);
	CU_ASSERT_EQUAL(r[4], 1);
	mdp_reverse(r, 0);
	CU_ASSERT_EQUAL(r[0], 2);
}

static void
test_tlv(void)
{
	struct mdp_buf b;
	struct mdp_cursor c, v, inner;
	uint32_t tag;
	uint8_t big[300];
	size_t mark, mark2;

	memset(big, 0x5a, sizeof(big));
	buf_init(&b);
	mark = buf_tlv_open(&b, 0x70);
	buf_put_tlv(&b, 0x84, "\x81", 1);
	mark2 = buf_tlv_open(&b, 0x7f49);
	buf_put_tlv(&b, 0x81, big, sizeof(big));
	buf_tlv_close(&b, mark2);
	buf_tlv_close(&b, mark);
	CU_ASSERT_FALSE_FATAL(b.bad);
	/* 70 82 01 36 | 84 01 81 | 7f49 82 01 2f | 81 82 01 2c ... */
	CU_ASSERT_EQUAL(b.data[0], 0x70);
	CU_ASSERT_EQUAL(b.data[1], 0x82);
	CU_ASSERT_EQUAL(b.len, 4 + 3 + 5 + 4 + 300);

	cur_init(&c, b.data, b.len);
	CU_ASSERT_EQUAL(tlv_read(&c, &tag, &v), MDP_OK);
	CU_ASSERT_EQUAL(tag, 0x70);
	CU_ASSERT_EQUAL(cur_left(&c), 0);
	CU_ASSERT_EQUAL(tlv_find(v.p, v.len, 0x7f49, &inner), MDP_OK);
	CU_ASSERT_EQUAL(tlv_find(inner.p, inner.len, 0x81, &v), MDP_OK);
	CU_ASSERT_EQUAL(v.len, 300);
	CU_ASSERT_EQUAL(tlv_find(b.data + 4, 3, 0x85, &v), MDP_ERR_NOT_FOUND);

	/* Truncation at every offset is an error, never an over-read. */
	for (size_t cut = 0; cut < b.len; cut++) {
		cur_init(&c, b.data, cut);
		CU_ASSERT_NOT_EQUAL(tlv_read(&c, &tag, &v), MDP_OK);
	}
	/* Indefinite length and 4-byte lengths are refused. */
	cur_init(&c, (const uint8_t *)"\x30\x80\x00\x00", 4);
	CU_ASSERT_EQUAL(tlv_read(&c, &tag, &v), MDP_ERR_FORMAT);
	cur_init(&c, (const uint8_t *)"\x30\x84\x00\x00\x00\x01\x00", 7);
	CU_ASSERT_EQUAL(tlv_read(&c, &tag, &v), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(tlv_header_len(0x81, 0x7f), 2);
	CU_ASSERT_EQUAL(tlv_header_len(0x7f49, 0x100), 5);
	buf_free(&b);
}

static void
test_hex(void)
{
	uint8_t out[4];
	char *s;

	CU_ASSERT_EQUAL(mdp_hex_decode("0a Bc\n:ff", out, sizeof(out)), 3);
	CU_ASSERT_EQUAL(out[1], 0xbc);
	s = mdp_hex_encode(out, 3);
	CU_ASSERT_STRING_EQUAL(s, "0abcff");
	free(s);
	CU_ASSERT_EQUAL(mdp_hex_decode("abc", out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(mdp_hex_digit('0'), 0);
	CU_ASSERT_EQUAL(mdp_hex_digit('9'), 9);
	CU_ASSERT_EQUAL(mdp_hex_digit('a'), 10);
	CU_ASSERT_EQUAL(mdp_hex_digit('F'), 15);
	CU_ASSERT_EQUAL(mdp_hex_digit('g'), -1);
	CU_ASSERT_EQUAL(mdp_hex_digit(':'), -1);
	CU_ASSERT_EQUAL(mdp_hex_digit(0xC1), -1);
	CU_ASSERT_EQUAL(mdp_hex_decode("zz", out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(mdp_hex_decode("0102030405", out, sizeof(out)), -1);
}

static void
test_config_parse(void)
{
	static const char text[] = "# top comment\n"
				   "debug = 3\n"
				   "[policy]\n"
				   "rsa_min_bits = 2048   # inline\n"
				   "allow_import = yes\n"
				   "[vcard \"demo card\"]\n"
				   "path = \"/tmp/a #b.card\"\n"
				   "; other comment\n";
	struct mdp_config *cfg = NULL;
	long v;
	bool b;
	static const char *const allowed[] = {"global.debug", "policy.rsa_min_bits",
					      "policy.allow_import", "vcard.path", NULL};

	CU_ASSERT_EQUAL_FATAL(mdp_config_parse(text, strlen(text), "t.conf", &cfg), MDP_OK);
	CU_ASSERT_STRING_EQUAL(mdp_config_get(cfg, "global", NULL, "debug"), "3");
	CU_ASSERT_STRING_EQUAL(mdp_config_get(cfg, "vcard", "demo card", "path"), "/tmp/a #b.card");
	CU_ASSERT_EQUAL(mdp_config_get_long(cfg, "policy", NULL, "rsa_min_bits", 512, 4096, 0, &v),
			MDP_OK);
	CU_ASSERT_EQUAL(v, 2048);
	CU_ASSERT_EQUAL(mdp_config_get_long(cfg, "policy", NULL, "rsa_min_bits", 512, 1024, 0, &v),
			MDP_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "t.conf:4"));
	CU_ASSERT_EQUAL(mdp_config_get_bool(cfg, "policy", NULL, "allow_import", false, &b),
			MDP_OK);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(mdp_config_get_bool(cfg, "policy", NULL, "missing", true, &b), MDP_OK);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(mdp_config_get_bool(cfg, "global", NULL, "debug", false, &b),
			MDP_ERR_CONFIG);
	/* find: the entry with its line, sections told apart by name. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(mdp_config_find(cfg, "policy", NULL, "allow_import"));
	CU_ASSERT_EQUAL(mdp_config_find(cfg, "policy", NULL, "allow_import")->line, 5);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mdp_config_find(cfg, "vcard", "demo card", "path"));
	CU_ASSERT_EQUAL(mdp_config_find(cfg, "vcard", "demo card", "path")->line, 7);
	CU_ASSERT_PTR_NULL(mdp_config_find(cfg, "vcard", NULL, "path"));
	CU_ASSERT_PTR_NULL(mdp_config_find(cfg, "vcard", "other card", "path"));
	CU_ASSERT_PTR_NULL(mdp_config_find(cfg, "policy", NULL, "missing"));
	CU_ASSERT_EQUAL(mdp_config_check_keys(cfg, allowed), MDP_OK);
	CU_ASSERT_EQUAL(mdp_config_check_keys(cfg, allowed + 1), MDP_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "t.conf:2"));
	mdp_config_free(cfg);
}

/* The module's option list: the documented example passes it, a misspelt option does not. */
static void
test_config_module_keys(void)
{
	static const char typo[] = "[policy]\nrsa_min_bit = 2048\n";
	char *data = test_data_path(".."), *path = NULL;
	struct mdp_config *cfg = NULL;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	path = malloc(strlen(data) + sizeof("/../conf/mdp11.conf.example"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	sprintf(path, "%s/../conf/mdp11.conf.example", data);
	CU_ASSERT_EQUAL_FATAL(mdp_config_load(path, &cfg), MDP_OK);
	CU_ASSERT(cfg->count > 10);
	CU_ASSERT_EQUAL(mdp_config_check_keys(cfg, mdp_config_module_keys), MDP_OK);
	mdp_config_free(cfg);
	cfg = NULL;
	for (i = 0; mdp_config_module_keys[i]; i++)
		CU_ASSERT_PTR_NOT_NULL(strchr(mdp_config_module_keys[i], '.'));
	CU_ASSERT(i > 10);
	CU_ASSERT_EQUAL_FATAL(mdp_config_parse(typo, strlen(typo), "t.conf", &cfg), MDP_OK);
	CU_ASSERT_EQUAL(mdp_config_check_keys(cfg, mdp_config_module_keys), MDP_ERR_CONFIG);
	mdp_config_free(cfg);
	free(path);
	free(data);
}

static void
test_config_errors(void)
{
	static const struct {
		const char *text;
		const char *where;
	} bad[] = {
		{"a = 1\nnot a pair\n", ":2:"},	 {"[sec\n", ":1:"},
		{"[sec name]\n", ":1:"},	 {"\n\nkey with space = 1\n", ":3:"},
		{"k = \"unterminated\n", ":1:"}, {"[bad/name]\n", ":1:"},
	};
	struct mdp_config *cfg = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(mdp_config_parse(bad[i].text, strlen(bad[i].text), "x", &cfg),
				MDP_ERR_CONFIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), bad[i].where));
	}
	CU_ASSERT_EQUAL(mdp_config_load("/nonexistent/mdp11.conf", &cfg), MDP_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(mdp_config_parse("a\0b", 3, "x", &cfg), MDP_ERR_CONFIG);
}

static void
test_config_load_file(void)
{
	char *dir = test_tmpdir();
	char path[512];
	FILE *f;
	struct mdp_config *cfg = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(path, sizeof(path), "%s/m.conf", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("debug = 2\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(mdp_config_load(path, &cfg), MDP_OK);
	CU_ASSERT_STRING_EQUAL(mdp_config_get(cfg, "global", NULL, "debug"), "2");
	mdp_config_free(cfg);
	mdp_config_free(NULL);
	test_rmtree(dir);
	free(dir);
}

static void
test_log(void)
{
	char *dir = test_tmpdir();
	char path[512];
	size_t len = 0;
	char *text;
	static const uint8_t bytes[] = {0xde, 0xad};

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(path, sizeof(path), "%s/log", dir);
	/* Off by default: nothing is enabled before a configuration or MDP11_DEBUG says so. */
	CU_ASSERT_FALSE(mdp_log_enabled(MDP_LOG_ERROR, MDP_AREA_BLOB));
	CU_ASSERT_FALSE(mdp_log_enabled(MDP_LOG_ERROR, MDP_AREA_TOOL));
	CU_ASSERT_EQUAL(mdp_log_configure("bogus", NULL), -1);
	CU_ASSERT_EQUAL(mdp_log_configure("4:nosuch", NULL), -1);
	CU_ASSERT_EQUAL(mdp_log_configure("debug:blob,card", path), 0);
	CU_ASSERT_TRUE(mdp_log_enabled(MDP_LOG_DEBUG, MDP_AREA_BLOB));
	CU_ASSERT_FALSE(mdp_log_enabled(MDP_LOG_TRACE, MDP_AREA_BLOB));
	CU_ASSERT_FALSE(mdp_log_enabled(MDP_LOG_ERROR, MDP_AREA_PKCS11));
	mdp_log_msg(MDP_LOG_INFO, MDP_AREA_BLOB, "dir/file.c", 12, "fn", "hello %d", 5);
	mdp_log_hex(MDP_LOG_DEBUG, MDP_AREA_CARD, "f.c", 1, "g", "apdu", bytes, 2);
	mdp_log_shutdown();
	CU_ASSERT_FALSE(mdp_log_enabled(MDP_LOG_ERROR, MDP_AREA_BLOB));
	text = (char *)test_read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "file.c:12:fn: hello 5"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "apdu (2 bytes):"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "de ad"));
	free(text);
	setenv("MDP11_DEBUG", "2", 1);
	mdp_log_init_env();
	CU_ASSERT_TRUE(mdp_log_enabled(MDP_LOG_WARN, MDP_AREA_TOOL));
	mdp_log_shutdown();
	/* A file that cannot be opened is named as such, and the level still applies (stderr). */
	snprintf(path, sizeof(path), "%s/no/such/dir/log", dir);
	CU_ASSERT_EQUAL(mdp_log_configure("2", path), -2);
	{
		char errpath[512];
		int saved = dup(2), fd;

		snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CU_ASSERT_FATAL(saved >= 0 && fd >= 0);
		dup2(fd, 2);
		close(fd);
		setenv("MDP11_DEBUG_FILE", path, 1);
		mdp_log_init_env();
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		unsetenv("MDP11_DEBUG_FILE");
		CU_ASSERT_TRUE(mdp_log_enabled(MDP_LOG_WARN, MDP_AREA_TOOL));
		mdp_log_shutdown();
		text = (char *)test_read_file(errpath, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "MDP11_DEBUG_FILE"));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "cannot open"));
		CU_ASSERT_PTR_NULL(strstr(text, "ignoring MDP11_DEBUG"));
		free(text);
	}
	unsetenv("MDP11_DEBUG");
	test_rmtree(dir);
	free(dir);
}

static void
test_secmem(void)
{
	uint8_t *p = mdp_zalloc(16);
	uint8_t *q;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p[15], 0);
	memset(p, 7, 16);
	q = mdp_memdup(p, 16);
	CU_ASSERT_EQUAL(mdp_memeq_ct(p, q, 16), 0);
	q[3] = 0;
	CU_ASSERT_NOT_EQUAL(mdp_memeq_ct(p, q, 16), 0);
	mdp_wipe(q, 16);
	CU_ASSERT_EQUAL(q[0], 0);
	mdp_secure_free(p, 16);
	mdp_secure_free(q, 16);
	mdp_secure_free(NULL, 5);
	CU_ASSERT_PTR_NULL(mdp_memdup(NULL, 3));
}

static void
test_ossl(void)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *k;

	ctx = mdp_pkey_ctx_new(EVP_PKEY_RSA);
	CU_ASSERT_PTR_NOT_NULL(ctx);
	EVP_PKEY_CTX_free(ctx);
	ctx = mdp_pkey_ctx_new(EVP_PKEY_EC);
	CU_ASSERT_PTR_NOT_NULL(ctx);
	EVP_PKEY_CTX_free(ctx);
	CU_ASSERT_PTR_NULL(mdp_pkey_ctx_new(EVP_PKEY_DSA));

	k = mdp_pkey_keygen_rsa(1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(EVP_PKEY_get_base_id(k), EVP_PKEY_RSA);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(k), 1024);
	EVP_PKEY_free(k);
	k = mdp_pkey_keygen_ec("P-384");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(k), 384);
	EVP_PKEY_free(k);
	CU_ASSERT_PTR_NULL(mdp_pkey_keygen_ec("no-such-curve"));
}

/* DER through the provider decoders, with d2i-like pointer semantics. */
static void
test_ossl_decode(void)
{
	EVP_PKEY *k = mdp_pkey_keygen_ec("P-256"), *d;
	unsigned char *der = NULL, *buf;
	const uint8_t *p;
	BIGNUM *x = NULL;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	n = i2d_PUBKEY(k, &der);
	CU_ASSERT_FATAL(n > 0);
	buf = malloc((size_t)n + 3);
	memcpy(buf, der, (size_t)n);
	memcpy(buf + n, "\x05\x00\x00", 3);

	p = buf;
	d = mdp_pkey_decode_der(&p, (size_t)n, "SubjectPublicKeyInfo", NULL, EVP_PKEY_PUBLIC_KEY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT(p == buf + n);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(k, d), 1);
	/* A provider key: its parameters can be read (an ENGINE-backed one refuses). */
	CU_ASSERT_EQUAL(EVP_PKEY_get_bn_param(d, "qx", &x), 1);
	BN_free(x);
	EVP_PKEY_free(d);

	/* Trailing bytes are left for the caller to see. */
	p = buf;
	d = mdp_pkey_decode_der(&p, (size_t)n + 3, "SubjectPublicKeyInfo", NULL,
				EVP_PKEY_PUBLIC_KEY);
	if (d)
		CU_ASSERT(p == buf + n);
	EVP_PKEY_free(d);

	/* Truncated: NULL, pointer unchanged. */
	p = buf;
	CU_ASSERT_PTR_NULL(mdp_pkey_decode_der(&p, (size_t)n - 1, "SubjectPublicKeyInfo", NULL,
					       EVP_PKEY_PUBLIC_KEY));
	CU_ASSERT(p == buf);
	OPENSSL_free(der);
	free(buf);
	EVP_PKEY_free(k);
}

/*
 * A secret buffer leaves no copy of its bytes past its length: buf_tlv_close moves the value
 * down over the unused length bytes, and buf_steal hands out len bytes that the caller wipes
 * (mdp_secure_free(p, len)), so whatever lies between len and the capacity must be clear.
 */
static void
test_buf_secret_slack(void)
{
	static const uint8_t key[10] = {0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA};
	struct mdp_buf b;
	size_t mark, n = 0, cap, i;
	uint8_t *p;

	buf_init_secret(&b);
	mark = buf_tlv_open(&b, 0x87);
	buf_put_bytes(&b, key, sizeof(key));
	buf_tlv_close(&b, mark);
	CU_ASSERT_FALSE_FATAL(b.bad);
	CU_ASSERT_EQUAL_FATAL(b.len, 2 + sizeof(key));
	CU_ASSERT_MEM_EQUAL(b.data + 2, key, sizeof(key));
	/* the 3 bytes the value moved away from, still inside the block */
	CU_ASSERT_FATAL(b.cap >= b.len + 3);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(b.data[b.len + i], 0);
	buf_free(&b);

	buf_init_secret(&b);
	buf_put_bytes(&b, key, sizeof(key));
	b.len = 4; /* a writer that drops what it wrote last */
	cap = b.cap;
	p = buf_steal(&b, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(n, 4);
	for (i = n; i < cap; i++)
		CU_ASSERT_EQUAL(p[i], 0);
	mdp_secure_free(p, cap);
}

static CU_TestInfo common_tests[] = {
	{"provider-only key contexts", test_ossl},
	{"provider DER decoding", test_ossl_decode},
	{"error names and reasons", test_error_names},
	{"cursor reads", test_cursor_reads},
	{"cursor skip", test_cursor_skip},
	{"buffer reserve, tags, lengths, reverse", test_buf_reserve_reverse},
	{"buffer writes", test_buf_writes},
	{"BER-TLV", test_tlv},
	{"secret buffer leaves no copy past its length", test_buf_secret_slack},
	{"hex", test_hex},
	{"secure memory", test_secmem},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo config_tests[] = {
	{"parse", test_config_parse},
	{"errors with line numbers", test_config_errors},
	{"the module's option list", test_config_module_keys},
	{"load file", test_config_load_file},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo log_tests[] = {
	{"levels, areas, file", test_log},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"common", NULL, NULL, NULL, NULL, common_tests},
	{"config", NULL, NULL, NULL, NULL, config_tests},
	{"log", NULL, NULL, NULL, NULL, log_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-common", suites);
}
