/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of mdp11-tool's helpers: option parsing, PKCS#11 URIs, JSON escaping, secrets. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/secmem.h"
#include "testutil.h"
#include "tools/tool.h"

static int
parse(char **argv, unsigned mask, struct tool_opts *o, char *err, size_t cap)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return tool_opts_parse(argc, argv, mask, o, err, cap);
}

/* ---- options ---- */

static void
test_opts_basic(void)
{
	char *argv[] = {"import", "--in",	 "key.pem",   "--container", "3",   "--name",
			"my key", "--key-spec",	 "signature", "--pin-env",   "PIN", "--card",
			"1",	  "--overwrite", "--verbose", NULL};
	struct tool_opts o;
	char err[200];

	CU_ASSERT_EQUAL(parse(argv, TOOL_O_CARD | TOOL_O_CONTAINER | TOOL_O_PIN | TOOL_O_IMPORT, &o,
			      err, sizeof(err)),
			TOOL_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.in, "key.pem");
	CU_ASSERT_EQUAL(o.container, 3);
	CU_ASSERT_STRING_EQUAL(o.name, "my key");
	CU_ASSERT_STRING_EQUAL(o.key_spec, "signature");
	CU_ASSERT_STRING_EQUAL(o.pin.env, "PIN");
	CU_ASSERT_PTR_NULL(o.pin.file);
	CU_ASSERT_EQUAL(o.card_index, 1);
	CU_ASSERT(o.overwrite);
	CU_ASSERT(o.verbose);
	CU_ASSERT_EQUAL(o.nargs, 0);
}

static void
test_opts_defaults(void)
{
	char *argv[] = {"list", NULL};
	struct tool_opts o;
	char err[200];

	CU_ASSERT_EQUAL(parse(argv, TOOL_O_CARD | TOOL_O_JSON, &o, err, sizeof(err)), TOOL_EXIT_OK);
	CU_ASSERT_EQUAL(o.card_index, -1);
	CU_ASSERT_EQUAL(o.container, -1);
	CU_ASSERT(!o.json);
	CU_ASSERT(!o.help);
}

static void
test_opts_cert_flag_vs_file(void)
{
	char *exp[] = {"export", "--container", "0", "--cert", "--format", "der", NULL};
	char *imp[] = {"import", "--in", "k", "--cert", "c.pem", NULL};
	struct tool_opts o;
	char err[200];

	CU_ASSERT_EQUAL(parse(exp, TOOL_O_CONTAINER | TOOL_O_EXPORT, &o, err, sizeof(err)),
			TOOL_EXIT_OK);
	CU_ASSERT(o.export_cert);
	CU_ASSERT_STRING_EQUAL(o.format, "der");
	CU_ASSERT_PTR_NULL(o.cert_file);
	CU_ASSERT_EQUAL(parse(imp, TOOL_O_IMPORT, &o, err, sizeof(err)), TOOL_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.cert_file, "c.pem");
	CU_ASSERT(!o.export_cert);
}

static void
test_opts_key_and_sign(void)
{
	char *exp[] = {"export", "--label", "mail", "--id", "01:ab", "--container", "2", NULL};
	char *sign[] = {"selfsign", "--label", "x",	    "--subject", "/CN=a",
			"--hash",   "sha384",  "--padding", "pss",	 "--days",
			"30",	    "--store", "--out",	    "c.pem",	 NULL};
	char *req_days[] = {"req", "--days", "30", NULL};
	char *bad_id[] = {"export", "--id", "0g", NULL};
	char *odd_id[] = {"export", "--id", "012", NULL};
	char *empty_label[] = {"export", "--label", "", NULL};
	char *bad_subject[] = {"req", "--subject", "CN=a", NULL};
	char *bad_hash[] = {"req", "--hash", "md5", NULL};
	char *bad_padding[] = {"req", "--padding", "oaep", NULL};
	char *zero_days[] = {"selfsign", "--days", "0", NULL};
	unsigned signs = TOOL_O_CONTAINER | TOOL_O_SIGN | TOOL_O_SELFSIGN;
	struct tool_opts o;
	char err[200];

	CU_ASSERT_EQUAL(parse(exp, TOOL_O_CONTAINER | TOOL_O_EXPORT, &o, err, sizeof(err)),
			TOOL_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.label, "mail");
	CU_ASSERT_STRING_EQUAL(o.id_hex, "01:ab");
	CU_ASSERT_EQUAL(o.container, 2);
	CU_ASSERT_STRING_EQUAL(o.cmd, "export");
	CU_ASSERT_EQUAL(parse(sign, signs, &o, err, sizeof(err)), TOOL_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.subject, "/CN=a");
	CU_ASSERT_STRING_EQUAL(o.hash, "sha384");
	CU_ASSERT_STRING_EQUAL(o.padding, "pss");
	CU_ASSERT_EQUAL(o.days, 30);
	CU_ASSERT(o.store);
	CU_ASSERT_STRING_EQUAL(o.out, "c.pem");
	/* --days and --store are selfsign's only. */
	CU_ASSERT_EQUAL(parse(req_days, TOOL_O_CONTAINER | TOOL_O_SIGN, &o, err, sizeof(err)),
			TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(bad_id, TOOL_O_CONTAINER, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(odd_id, TOOL_O_CONTAINER, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(empty_label, TOOL_O_CONTAINER, &o, err, sizeof(err)),
			TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(bad_subject, signs, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(bad_hash, signs, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(bad_padding, signs, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(zero_days, signs, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
}

static void
test_opts_errors(void)
{
	char *unknown[] = {"list", "--bogus", NULL};
	char *not_here[] = {"list", "--pin-file", "f", NULL};
	char *two_pins[] = {"delete", "--pin-file", "f", "--pin-env", "V", NULL};
	char *bad_index[] = {"delete", "--container", "255", NULL};
	char *neg_index[] = {"delete", "--container", "-1", NULL};
	char *text_index[] = {"delete", "--container", "one", NULL};
	char *missing_value[] = {"delete", "--container", NULL};
	char *two_cards[] = {"list", "--card", "0", "--serial", "00", NULL};
	char *both_cont[] = {"delete", "--container", "1", "--name", "x", NULL};
	char *bad_spec[] = {"generate", "--key-spec", "bogus", NULL};
	char *bad_type[] = {"generate", "--type", "dsa:1024", NULL};
	char *bad_cardid[] = {"init", "--card-id", "0011", NULL};
	char *bad_from[] = {"import", "--from", "jpeg", NULL};
	char *bad_format[] = {"import", "--format", "jpeg", NULL};
	char *import_format[] = {"import", "--format", "capi-private", NULL};
	char *empty_name[] = {"delete", "--name", "", NULL};
	struct tool_opts o;
	char err[200];
	unsigned del = TOOL_O_CARD | TOOL_O_CONTAINER | TOOL_O_PIN | TOOL_O_DELETE;

	CU_ASSERT_EQUAL(parse(unknown, TOOL_O_CARD, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--bogus"));
	CU_ASSERT_EQUAL(parse(not_here, TOOL_O_CARD | TOOL_O_JSON, &o, err, sizeof(err)),
			TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(two_pins, del, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "PIN"));
	CU_ASSERT_EQUAL(parse(bad_index, del, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(neg_index, del, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(text_index, del, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(missing_value, del, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a value"));
	CU_ASSERT_EQUAL(parse(two_cards, TOOL_O_CARD, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(both_cont, del, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(bad_spec, TOOL_O_GENERATE, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(bad_type, TOOL_O_GENERATE, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(bad_cardid, TOOL_O_INIT, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(bad_from, TOOL_O_IMPORT, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(bad_format, TOOL_O_IMPORT, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
	/* import's --format is its input format (the blob format names), as --from. */
	CU_ASSERT_EQUAL(parse(import_format, TOOL_O_IMPORT, &o, err, sizeof(err)), TOOL_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.from, "capi-private");
	CU_ASSERT_EQUAL(parse(empty_name, del, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
}

static void
test_opts_help_and_args(void)
{
	char *help[] = {"export", "-h", NULL};
	char *pos[] = {"list", "extra", "--json", NULL};
	struct tool_opts o;
	char err[200];

	CU_ASSERT_EQUAL(parse(help, TOOL_O_EXPORT, &o, err, sizeof(err)), TOOL_EXIT_OK);
	CU_ASSERT(o.help);
	CU_ASSERT_EQUAL(parse(pos, TOOL_O_JSON, &o, err, sizeof(err)), TOOL_EXIT_OK);
	CU_ASSERT(o.json);
	CU_ASSERT_EQUAL(o.nargs, 1);
	CU_ASSERT_STRING_EQUAL(o.args[0], "extra");
	/* Parsing twice in one process starts afresh (getopt state reset). */
	CU_ASSERT_EQUAL(parse(pos, TOOL_O_JSON, &o, err, sizeof(err)), TOOL_EXIT_OK);
	CU_ASSERT_EQUAL(o.nargs, 1);
}

static void
test_opts_secrets(void)
{
	char *argv[] = {"pin", "--insecure-admin-key", "00", "--new-admin-key-file",
			"f",   "--new-pin-env",	       "NP", NULL};
	char *twice[] = {"pin", "--admin-key-env", "A", "--insecure-admin-key", "00", NULL};
	struct tool_opts o;
	char err[200];

	CU_ASSERT_EQUAL(
		parse(argv, TOOL_O_ADMIN | TOOL_O_NEW_ADMIN | TOOL_O_NEW_PIN, &o, err, sizeof(err)),
		TOOL_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.admin_key.insecure, "00");
	CU_ASSERT_STRING_EQUAL(o.new_admin_key.file, "f");
	CU_ASSERT_STRING_EQUAL(o.new_pin.env, "NP");
	CU_ASSERT_EQUAL(parse(twice, TOOL_O_ADMIN, &o, err, sizeof(err)), TOOL_EXIT_USAGE);
}

static void
test_spec_resolve(void)
{
	CU_ASSERT_EQUAL(tool_spec_resolve(NULL, EVP_PKEY_RSA, 2048), MDP_AT_KEYEXCHANGE);
	CU_ASSERT_EQUAL(tool_spec_resolve(NULL, EVP_PKEY_EC, 384), MDP_AT_ECDSA_P384);
	CU_ASSERT_EQUAL(tool_spec_resolve("signature", EVP_PKEY_RSA, 2048), MDP_AT_SIGNATURE);
	CU_ASSERT_EQUAL(tool_spec_resolve("sign", EVP_PKEY_RSA, 1024), MDP_AT_SIGNATURE);
	CU_ASSERT_EQUAL(tool_spec_resolve("exchange", EVP_PKEY_RSA, 1024), MDP_AT_KEYEXCHANGE);
	CU_ASSERT_EQUAL(tool_spec_resolve("ecdh", EVP_PKEY_EC, 256), MDP_AT_ECDHE_P256);
	CU_ASSERT_EQUAL(tool_spec_resolve("ecdsa", EVP_PKEY_EC, 521), MDP_AT_ECDSA_P521);
	CU_ASSERT_EQUAL(tool_spec_resolve("ecdhe-p384", EVP_PKEY_EC, 384), MDP_AT_ECDHE_P384);
	/* Wrong family or curve: refused. */
	CU_ASSERT_EQUAL(tool_spec_resolve("ecdsa-p256", EVP_PKEY_EC, 384), MDP_AT_NONE);
	CU_ASSERT_EQUAL(tool_spec_resolve("ecdsa", EVP_PKEY_RSA, 2048), MDP_AT_NONE);
	CU_ASSERT_EQUAL(tool_spec_resolve("keyexchange", EVP_PKEY_EC, 999), MDP_AT_NONE);
	CU_ASSERT_EQUAL(tool_spec_resolve("signature", EVP_PKEY_EC, 256), MDP_AT_ECDSA_P256);
	/* For an EC key the slot names mean ECDH (exchange slot) and ECDSA (signature slot). */
	CU_ASSERT_EQUAL(tool_spec_resolve("keyexchange", EVP_PKEY_EC, 384), MDP_AT_ECDHE_P384);
	CU_ASSERT_EQUAL(tool_spec_resolve("exchange", EVP_PKEY_EC, 521), MDP_AT_ECDHE_P521);
	CU_ASSERT_EQUAL(tool_spec_resolve("bogus", EVP_PKEY_RSA, 2048), MDP_AT_NONE);
}

static void
test_parse_type(void)
{
	int kt = 0;
	unsigned bits = 1;

	CU_ASSERT(tool_parse_type("rsa", &kt, &bits));
	CU_ASSERT_EQUAL(kt, EVP_PKEY_RSA);
	CU_ASSERT_EQUAL(bits, 0);
	CU_ASSERT(tool_parse_type("RSA:4096", &kt, &bits));
	CU_ASSERT_EQUAL(bits, 4096);
	CU_ASSERT(tool_parse_type("ec:p256", &kt, &bits));
	CU_ASSERT_EQUAL(kt, EVP_PKEY_EC);
	CU_ASSERT_EQUAL(bits, 256);
	CU_ASSERT(tool_parse_type("ec:P-384", &kt, &bits));
	CU_ASSERT_EQUAL(bits, 384);
	CU_ASSERT(tool_parse_type("ec:secp521r1", &kt, &bits));
	CU_ASSERT_EQUAL(bits, 521);
	CU_ASSERT(tool_parse_type("ec:prime256v1", &kt, &bits));
	CU_ASSERT(!tool_parse_type("rsa:", &kt, &bits));
	CU_ASSERT(!tool_parse_type("rsa:100", &kt, &bits));
	CU_ASSERT(!tool_parse_type("rsa:2048x", &kt, &bits));
	CU_ASSERT(!tool_parse_type("ec:p192", &kt, &bits));
	CU_ASSERT(!tool_parse_type("ed25519", &kt, &bits));
	CU_ASSERT(!tool_parse_type(NULL, &kt, &bits));
}

static void
test_hex_decode(void)
{
	uint8_t b[4];
	size_t n;

	CU_ASSERT(tool_hex_decode("0aFf10:20", b, 4));
	CU_ASSERT_EQUAL(b[0], 0x0a);
	CU_ASSERT_EQUAL(b[1], 0xff);
	CU_ASSERT_EQUAL(b[3], 0x20);
	CU_ASSERT(tool_hex_decode("01 02-03:04", b, 4));
	CU_ASSERT(!tool_hex_decode("010203", b, 4));	 /* short */
	CU_ASSERT(!tool_hex_decode("0102030405", b, 4)); /* long */
	CU_ASSERT(!tool_hex_decode("0102030g", b, 4));
	CU_ASSERT(!tool_hex_decode("010203040", b, 4)); /* odd */
	n = 0;
	CU_ASSERT(tool_hex_decode_var("01:ab", b, 4, &n));
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT(b[0] == 0x01 && b[1] == 0xab);
	CU_ASSERT(!tool_hex_decode_var("0102030405", b, 4, &n)); /* too long */
	CU_ASSERT(!tool_hex_decode_var("", b, 4, &n));		 /* empty */
	CU_ASSERT(!tool_hex_decode_var("1", b, 4, &n));		 /* odd */
}

/* ---- URIs ---- */

static void
test_uri_parse(void)
{
	struct tool_uri u;

	CU_ASSERT_EQUAL(tool_uri_parse("pkcs11:token=My%20card;serial=00112233AABBCCDD;"
				       "model=GIDS;manufacturer=mdp11",
				       &u),
			MDP_OK);
	CU_ASSERT_STRING_EQUAL(u.token, "My card");
	CU_ASSERT_STRING_EQUAL(u.serial, "00112233AABBCCDD");
	CU_ASSERT_STRING_EQUAL(u.model, "GIDS");
	CU_ASSERT_STRING_EQUAL(u.manufacturer, "mdp11");
	CU_ASSERT_EQUAL(u.slot_id, -1);
	CU_ASSERT_PTR_NULL(u.unknown);
	tool_uri_clear(&u);

	CU_ASSERT_EQUAL(tool_uri_parse("pkcs11:", &u), MDP_OK);
	CU_ASSERT_PTR_NULL(u.token);
	tool_uri_clear(&u);

	/* The scheme is case-insensitive (RFC 3986). */
	CU_ASSERT_EQUAL(tool_uri_parse("PKCS11:token=x", &u), MDP_OK);
	CU_ASSERT_STRING_EQUAL(u.token, "x");
	tool_uri_clear(&u);

	CU_ASSERT_EQUAL(tool_uri_parse("pkcs11:object=a%3bb;id=%01%00%ff;slot-id=7;x-vendor=1;"
				       "library-version=1.0?pin-source=file:/p&module-name=m",
				       &u),
			MDP_OK);
	CU_ASSERT_STRING_EQUAL(u.object, "a;b");
	CU_ASSERT_EQUAL(u.id_len, 3);
	CU_ASSERT(memcmp(u.id, "\x01\x00\xff", 3) == 0);
	CU_ASSERT_EQUAL(u.slot_id, 7);
	/* library-version is checked; the vendor attribute is kept for the caller to refuse. */
	CU_ASSERT_STRING_EQUAL(u.library_version, "1.0");
	CU_ASSERT_STRING_EQUAL(u.unknown, "x-vendor");
	CU_ASSERT_STRING_EQUAL(u.pin_source, "file:/p");
	CU_ASSERT_STRING_EQUAL(u.module_name, "m");
	CU_ASSERT(!u.pin_value);
	tool_uri_clear(&u);

	/* A standard attribute this tool does not know, and an unknown query attribute. */
	CU_ASSERT_EQUAL(tool_uri_parse("pkcs11:token=x;future-attr=1", &u), MDP_OK);
	CU_ASSERT_STRING_EQUAL(u.unknown, "future-attr");
	tool_uri_clear(&u);
	CU_ASSERT_EQUAL(tool_uri_parse("pkcs11:token=x?x-q=1&module-path=/usr/lib/mdp11.so", &u),
			MDP_OK);
	CU_ASSERT_STRING_EQUAL(u.unknown, "x-q");
	CU_ASSERT_STRING_EQUAL(u.module_path, "/usr/lib/mdp11.so");
	tool_uri_clear(&u);
	CU_ASSERT_EQUAL(tool_uri_parse("pkcs11:?module-name=a&module-name=b", &u), MDP_ERR_FORMAT);

	CU_ASSERT_EQUAL(tool_uri_parse("pkcs11:token=x?pin-value=1234", &u), MDP_OK);
	CU_ASSERT(u.pin_value);
	tool_uri_clear(&u);
}

static void
test_uri_errors(void)
{
	static const char *const bad[] = {
		"token=x",		    /* no scheme */
		"pkcs11:token",		    /* no '=' */
		"pkcs11:=x",		    /* empty name */
		"pkcs11:token=a;token=b",   /* repeated */
		"pkcs11:token=%zz",	    /* bad escape */
		"pkcs11:token=%4",	    /* truncated escape */
		"pkcs11:token=x%",	    /* truncated escape */
		"pkcs11:token=x;;serial=1", /* empty attribute */
		"pkcs11:token=x;",	    /* trailing separator */
		"pkcs11:slot-id=abc",	    /* not a number */
		"pkcs11:slot-id=-1",
		"pkcs11:slot-id=1;slot-id=2",
		"pkcs11:token=x?pin-source=a&pin-source=b",
		"pkcs11:token=x?&",
	};
	struct tool_uri u;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&u, 0x5a, sizeof(u));
		if (tool_uri_parse(bad[i], &u) == MDP_OK) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			CU_FAIL("bad URI accepted");
			tool_uri_clear(&u);
		}
	}
	CU_ASSERT_NOT_EQUAL(tool_uri_parse(NULL, &u), MDP_OK);
}

static void
test_percent_decode(void)
{
	char *out = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL(tool_percent_decode("a%41%62c%00d", 12, &out, &len), MDP_OK);
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT(memcmp(out, "aAbc\0d", 7) == 0);
	free(out);
	CU_ASSERT_EQUAL(tool_percent_decode("", 0, &out, &len), MDP_OK);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	CU_ASSERT_NOT_EQUAL(tool_percent_decode("%1", 2, &out, &len), MDP_OK);
}

/* ---- JSON ---- */

static char *
json_of(const char *s, size_t len)
{
	char *buf = NULL;
	size_t cap = 0;
	FILE *f = open_memstream(&buf, &cap);

	if (f == NULL)
		return NULL;
	if (len == (size_t)-1)
		tool_json_string(f, s);
	else
		tool_json_string_n(f, s, len);
	fclose(f);
	return buf;
}

static void
check_json(const char *in, size_t len, const char *want)
{
	char *got = json_of(in, len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "JSON of input: got %s want %s\n", got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

static void
test_json_escape(void)
{
	check_json("plain", (size_t)-1, "\"plain\"");
	check_json(NULL, (size_t)-1, "null");
	check_json("", (size_t)-1, "\"\"");
	check_json("a\"b\\c/", (size_t)-1, "\"a\\\"b\\\\c/\"");
	check_json("\b\f\n\r\t", (size_t)-1, "\"\\b\\f\\n\\r\\t\"");
	check_json("\x01\x1f\x7f", (size_t)-1, "\"\\u0001\\u001f\\u007f\"");
	check_json("a\0b", 3, "\"a\\u0000b\"");
	/* Valid UTF-8 passes through. */
	check_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", (size_t)-1,
		   "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\"");
	/* Invalid UTF-8 becomes U+FFFD, one per bad byte. */
	check_json("\xff", (size_t)-1, "\"\\ufffd\"");
	check_json("\xc3", (size_t)-1, "\"\\ufffd\"");			     /* truncated */
	check_json("\xc0\xaf", (size_t)-1, "\"\\ufffd\\ufffd\"");	     /* overlong */
	check_json("\xed\xa0\x80", (size_t)-1, "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	check_json("\xf4\x90\x80\x80", (size_t)-1,
		   "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
	check_json("\xe2\x82", (size_t)-1, "\"\\ufffd\\ufffd\"");
}

/* ---- secrets ---- */

static void
test_secret_sources(void)
{
	char *dir = test_tmpdir();
	char path[512], path2[512], path3[512];
	struct tool_secret_src src;
	uint8_t key[24];
	char *s = NULL;
	size_t len = 0;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(path, sizeof(path), "%s/pin", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("123456\r\nsecond line\n", f);
	fclose(f);

	memset(&src, 0, sizeof(src));
	src.file = path;
	CU_ASSERT_EQUAL(tool_secret_read(&src, "PIN", false, &s, &len), MDP_OK);
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT_STRING_EQUAL(s, "123456");
	mdp_secure_free(s, len + 1);

	memset(&src, 0, sizeof(src));
	setenv("TEST_TOOL_PIN", "env-pin", 1);
	src.env = "TEST_TOOL_PIN";
	CU_ASSERT_EQUAL(tool_secret_read(&src, "PIN", true, &s, &len), MDP_OK);
	CU_ASSERT_STRING_EQUAL(s, "env-pin");
	mdp_secure_free(s, len + 1);
	src.env = "TEST_TOOL_UNSET_VARIABLE";
	CU_ASSERT_EQUAL(tool_secret_read(&src, "PIN", false, &s, &len), MDP_ERR_NOT_FOUND);

	memset(&src, 0, sizeof(src));
	src.insecure = "plain";
	CU_ASSERT_EQUAL(tool_secret_read(&src, "PIN", false, &s, &len), MDP_OK);
	CU_ASSERT_STRING_EQUAL(s, "plain");
	mdp_secure_free(s, len + 1);

	memset(&src, 0, sizeof(src));
	src.file = "/nonexistent/pin";
	CU_ASSERT_NOT_EQUAL(tool_secret_read(&src, "PIN", false, &s, &len), MDP_OK);

	/* Admin keys: hex anywhere, 24 raw bytes in a file. */
	memset(&src, 0, sizeof(src));
	src.insecure = "010203040506070801020304050607080102030405060708";
	CU_ASSERT_EQUAL(tool_admin_key_read(&src, "admin key", false, key), MDP_OK);
	CU_ASSERT_EQUAL(key[0], 1);
	CU_ASSERT_EQUAL(key[23], 8);
	src.insecure = "0102";
	CU_ASSERT_NOT_EQUAL(tool_admin_key_read(&src, "admin key", false, key), MDP_OK);

	snprintf(path2, sizeof(path2), "%s/raw", dir);
	f = fopen(path2, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite("\n\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14"
	       "\x15\x16\x17\x18",
	       1, 24, f);
	fclose(f);
	memset(&src, 0, sizeof(src));
	src.file = path2;
	CU_ASSERT_EQUAL(tool_admin_key_read(&src, "admin key", false, key), MDP_OK);
	CU_ASSERT_EQUAL(key[0], '\n');
	CU_ASSERT_EQUAL(key[23], 0x18);

	snprintf(path3, sizeof(path3), "%s/hex", dir);
	f = fopen(path3, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77\n", f);
	fclose(f);
	src.file = path3;
	CU_ASSERT_EQUAL(tool_admin_key_read(&src, "admin key", false, key), MDP_OK);
	CU_ASSERT_EQUAL(key[1], 0x11);
	CU_ASSERT_EQUAL(key[15], 0xff);

	/* PIV management keys: 16, 24 or 32 bytes; the raw file of 24 bytes above too */
	{
		uint8_t vk[32];
		size_t vl = 0;

		memset(&src, 0, sizeof(src));
		src.insecure = "00112233445566778899aabbccddeeff";
		CU_ASSERT_EQUAL(tool_admin_key_read_var(&src, "admin key", false, vk, &vl), MDP_OK);
		CU_ASSERT(vl == 16 && vk[15] == 0xff);
		src.insecure = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
		CU_ASSERT_EQUAL(tool_admin_key_read_var(&src, "admin key", false, vk, &vl), MDP_OK);
		CU_ASSERT(vl == 32 && vk[31] == 0x1f);
		src.insecure = "0011223344556677";
		CU_ASSERT_NOT_EQUAL(tool_admin_key_read_var(&src, "admin key", false, vk, &vl),
				    MDP_OK);
		memset(&src, 0, sizeof(src));
		src.file = path2;
		CU_ASSERT_EQUAL(tool_admin_key_read_var(&src, "admin key", false, vk, &vl), MDP_OK);
		CU_ASSERT(vl == 24 && vk[0] == '\n' && vk[23] == 0x18);
		src.file = path3;
		CU_ASSERT_EQUAL(tool_admin_key_read_var(&src, "admin key", false, vk, &vl), MDP_OK);
		CU_ASSERT(vl == 24 && vk[1] == 0x11);
		mdp_wipe(vk, sizeof(vk));
	}
	mdp_wipe(key, sizeof(key));
	test_rmtree(dir);
	free(dir);
}

/* A PIN from an empty file or variable is refused before it reaches a card. */
static void
test_pin_read(void)
{
	char *dir = test_tmpdir();
	char path[512];
	struct tool_secret_src src;
	char *s = NULL;
	size_t len = 0;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(path, sizeof(path), "%s/empty", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("\n", f);
	fclose(f);
	memset(&src, 0, sizeof(src));
	src.file = path;
	CU_ASSERT_EQUAL(tool_pin_read(&src, "PIN", false, &s, &len), MDP_ERR_FORMAT);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "the PIN is empty"));
	/* The same file is a valid (empty) secret for tool_secret_read: a PKCS#12 password. */
	CU_ASSERT_EQUAL(tool_secret_read(&src, "password", false, &s, &len), MDP_OK);
	CU_ASSERT_EQUAL(len, 0);
	mdp_secure_free(s, len + 1);
	s = NULL;

	memset(&src, 0, sizeof(src));
	setenv("TEST_TOOL_EMPTY_PIN", "", 1);
	src.env = "TEST_TOOL_EMPTY_PIN";
	CU_ASSERT_EQUAL(tool_pin_read(&src, "PIN", false, &s, &len), MDP_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "TEST_TOOL_EMPTY_PIN"));
	src.env = "TEST_TOOL_UNSET_VARIABLE";
	CU_ASSERT_EQUAL(tool_pin_read(&src, "PIN", false, &s, &len), MDP_ERR_NOT_FOUND);

	memset(&src, 0, sizeof(src));
	src.insecure = "1234";
	CU_ASSERT_EQUAL(tool_pin_read(&src, "PIN", false, &s, &len), MDP_OK);
	CU_ASSERT_EQUAL(len, 4);
	CU_ASSERT_STRING_EQUAL(s, "1234");
	mdp_secure_free(s, len + 1);
	test_rmtree(dir);
	free(dir);
}

static void
test_secret_no_terminal(void)
{
	struct tool_secret_src src;
	char *s = NULL;
	size_t len = 0;
	int fd;

	/* Without a source and without a controlling terminal the read fails cleanly. */
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		close(fd); /* interactive run: a prompt would wait for a person */
		return;
	}
	memset(&src, 0, sizeof(src));
	CU_ASSERT_EQUAL(tool_secret_read(&src, "PIN", false, &s, &len), MDP_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(s);
}

static CU_TestInfo opts_tests[] = {
	{"basic", test_opts_basic},
	{"defaults", test_opts_defaults},
	{"--cert flag and file", test_opts_cert_flag_vs_file},
	{"key selection and signing options", test_opts_key_and_sign},
	{"errors", test_opts_errors},
	{"help and arguments", test_opts_help_and_args},
	{"secret sources", test_opts_secrets},
	{"key spec names", test_spec_resolve},
	{"key types", test_parse_type},
	{"hex", test_hex_decode},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo uri_tests[] = {
	{"parse", test_uri_parse},
	{"errors", test_uri_errors},
	{"percent decoding", test_percent_decode},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo json_tests[] = {
	{"escaping", test_json_escape},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo secret_tests[] = {
	{"file, env, insecure, admin key", test_secret_sources},
	{"empty PIN", test_pin_read},
	{"no terminal", test_secret_no_terminal},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"options", NULL, NULL, NULL, NULL, opts_tests},
	{"uri", NULL, NULL, NULL, NULL, uri_tests},
	{"json", NULL, NULL, NULL, NULL, json_tests},
	{"secrets", NULL, NULL, NULL, NULL, secret_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-tool", suites);
}
