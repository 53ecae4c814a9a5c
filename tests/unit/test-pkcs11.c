/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the PKCS#11 layer: settings, reader patterns, SO PIN decoding, curves, names. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "pkcs11/module.h"
#include "tests/unit/testutil.h"

static char *
write_conf(const char *dir, const char *text)
{
	char *path = malloc(strlen(dir) + 16);
	FILE *f;

	sprintf(path, "%s/t.conf", dir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_settings(void)
{
	char *dir = test_tmpdir(), *path;
	struct settings s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	path = write_conf(dir, "debug = 2\n[readers]\ninclude = Gemalto*\ninclude = Virtual*\n"
			       "exclude = *01\n[policy]\nrsa_min_bits = 2048\n"
			       "allow_private_signature_key_import = no\n"
			       "[vcard \"a\"]\npath = /x/a.vcard\nseal = keyfile:/k/a.key\n"
			       "[cache]\nmode = persistent\n"
			       "dir = /tmp/c\n");
	setenv("MDP11_CONF", path, 1);
	setenv("MDP11_VCARD", "/y/b.vcard:/z/c.vcard", 1);
	CU_ASSERT_EQUAL_FATAL(settings_load(&s), CKR_OK);
	CU_ASSERT_EQUAL(s.debug, 2);
	CU_ASSERT_EQUAL(s.rsa_min_bits, 2048);
	CU_ASSERT_EQUAL(s.rsa_max_bits, 4096);
	CU_ASSERT_EQUAL(s.rsa_default_bits, 2048);
	CU_ASSERT_FALSE(s.allow_import_signature);
	CU_ASSERT_TRUE(s.allow_import_exchange);
	CU_ASSERT_EQUAL(s.cache_mode, SETTINGS_CACHE_PERSISTENT);
	CU_ASSERT_STRING_EQUAL(s.cache_dir, "/tmp/c");
	CU_ASSERT_EQUAL_FATAL(s.n_vcards, 3);
	CU_ASSERT_STRING_EQUAL(s.vcards[0].label, "a");
	CU_ASSERT_STRING_EQUAL(s.vcards[1].label, "b.vcard");
	CU_ASSERT_STRING_EQUAL(s.vcards[2].path, "/z/c.vcard");
	/* [vcard "a"] seal: that card's seal is elsewhere; the others use their files' */
	CU_ASSERT_STRING_EQUAL(settings_vcard_seal(&s, "/x/a.vcard"), "keyfile:/k/a.key");
	CU_ASSERT_PTR_NULL(settings_vcard_seal(&s, "/y/b.vcard"));
	CU_ASSERT_PTR_NULL(settings_vcard_seal(&s, "/nowhere.vcard"));
	CU_ASSERT_TRUE(settings_reader_wanted(&s, "Virtual PCD 00 00"));
	CU_ASSERT_FALSE(settings_reader_wanted(&s, "Virtual PCD 00 01"));
	CU_ASSERT_TRUE(settings_reader_wanted(&s, "Gemalto PC Twin Reader"));
	CU_ASSERT_FALSE(settings_reader_wanted(&s, "Yubico YubiKey"));
	settings_clear(&s);

	/* Errors name their line; they fail C_Initialize. */
	free(path);
	path = write_conf(dir, "[policy]\nrsa_min_bits = 4096\nrsa_max_bits = 2048\n");
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	free(path);
	path = write_conf(dir, "[cache]\nmode = none\n");
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	free(path);
	path = write_conf(dir, "[cache]\nmode = persistent\n");
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	free(path);
	path = write_conf(dir, "[vcard]\npath = /x\n");
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	free(path);
	path = write_conf(dir, "[vcard \"a\"]\nseal = tpm\n");
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	CU_ASSERT(strstr(mdp_err_last(), "seal without a path") != NULL);
	free(path);
	path = write_conf(dir, "[readers]\npcsc = maybe\n");
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	/* A virtual card needs a file and a label; one label names one card. */
	free(path);
	path = write_conf(dir, "debug = 0\n[vcard \"x\"]\npath =\n");
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "t.conf:3:"));
	free(path);
	path = write_conf(dir, "[vcard \"\"]\npath = /x\n");
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "t.conf:2:"));
	free(path);
	path = write_conf(dir, "[vcard \"a\"]\npath = /x\n[vcard \"a\"]\npath = /y\n");
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "t.conf:4:"));
	/* A log file that cannot be written is an error, not silence. */
	free(path);
	path = write_conf(dir, "\ndebug_file = /nonexistent/dir/mdp11.log\n");
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "t.conf:2:"));
	free(path);
	path = write_conf(dir, "debug = 0\n");
	CU_ASSERT_EQUAL_FATAL(settings_load(&s), CKR_OK);
	CU_ASSERT_EQUAL(s.debug, 0);
	settings_clear(&s);
	/* No file at the installed path is fine; a named file that is missing is not. */
	setenv("MDP11_CONF", "/nonexistent/mdp11.conf", 1);
	CU_ASSERT_EQUAL(settings_load(&s), CKR_GENERAL_ERROR);
	unsetenv("MDP11_CONF");
	unsetenv("MDP11_VCARD");
	free(path);
	test_rmtree(dir);
	free(dir);
}

static void
test_admin_key(void)
{
	uint8_t key[24];
	const char *hex = "0102030405060708090a0b0c0d0e0f101112131415161718";
	const char *bad = "0102030405060708090a0b0c0d0e0f10111213141516171x";

	CU_ASSERT_EQUAL(slot_admin_key((const uint8_t *)hex, 48, key), CKR_OK);
	CU_ASSERT(key[0] == 1 && key[9] == 0x0a && key[23] == 0x18);
	CU_ASSERT_EQUAL(slot_admin_key((const uint8_t *)"ABCDEFGHIJKLMNOPQRSTUVWX", 24, key),
			CKR_OK);
	CU_ASSERT_EQUAL(key[0], 'A');
	CU_ASSERT_EQUAL(slot_admin_key((const uint8_t *)bad, 48, key), CKR_PIN_INVALID);
	CU_ASSERT_EQUAL(slot_admin_key((const uint8_t *)hex, 47, key), CKR_PIN_LEN_RANGE);
	CU_ASSERT_EQUAL(slot_admin_key(NULL, 48, key), CKR_ARGUMENTS_BAD);
}

static void
test_curves(void)
{
	enum mdp_key_spec spec = MDP_AT_NONE;

	CU_ASSERT_EQUAL(keygen_curve_from_params((const uint8_t *)"\x06\x08\x2a\x86\x48\xce\x3d\x03"
								  "\x01\x07",
						 10, &spec),
			CKR_OK);
	CU_ASSERT_EQUAL(spec, MDP_AT_ECDSA_P256);
	CU_ASSERT_EQUAL(keygen_curve_from_params((const uint8_t *)"\x13\x09secp384r1", 11, &spec),
			CKR_OK);
	CU_ASSERT_EQUAL(spec, MDP_AT_ECDSA_P384);
	CU_ASSERT_EQUAL(
		keygen_curve_from_params((const uint8_t *)"\x06\x05\x2b\x81\x04\x00\x23", 7, &spec),
		CKR_OK);
	CU_ASSERT_EQUAL(spec, MDP_AT_ECDSA_P521);
	CU_ASSERT_EQUAL(
		keygen_curve_from_params((const uint8_t *)"\x06\x05\x2b\x81\x04\x00\x0a", 7, &spec),
		CKR_CURVE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(keygen_curve_from_params((const uint8_t *)"\x30\x00", 2, &spec),
			CKR_ATTRIBUTE_VALUE_INVALID);
	CU_ASSERT_EQUAL(keygen_curve_from_params(NULL, 0, &spec), CKR_ATTRIBUTE_VALUE_INVALID);
}

static void
test_names_and_pad(void)
{
	CK_UTF8CHAR field[8];
	CK_ATTRIBUTE a = {CKA_LABEL, NULL, 0};
	char buf[4];

	CU_ASSERT_STRING_EQUAL(ckr_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
	CU_ASSERT_STRING_EQUAL(ckr_name(0x12345678UL), "CKR_0x12345678");
	CU_ASSERT_EQUAL(ckr_from_mdp(MDP_ERR_NOMEM), CKR_HOST_MEMORY);
	CU_ASSERT_EQUAL(ckr_from_mdp(MDP_ERR_CARD_REMOVED), CKR_DEVICE_REMOVED);
	CU_ASSERT_EQUAL(ckr_from_mdp(MDP_ERR_NO_CARD), CKR_TOKEN_NOT_PRESENT);
	CU_ASSERT_EQUAL(ckr_from_mdp(MDP_ERR_INTERNAL), CKR_FUNCTION_FAILED);
	CU_ASSERT_EQUAL(ckr_from_mdp(MDP_ERR_SEAL), CKR_DEVICE_ERROR);
	attr_pad(field, sizeof(field), "abc");
	CU_ASSERT(memcmp(field, "abc     ", 8) == 0);
	/* "abcdefg" + e-acute (2 bytes) does not fit: cut before the character, not inside it. */
	attr_pad(field, sizeof(field), "abcdefg\xc3\xa9");
	CU_ASSERT(memcmp(field, "abcdefg ", 8) == 0);
	CU_ASSERT_EQUAL(attr_put(&a, "xyz", 3), CKR_OK);
	CU_ASSERT_EQUAL(a.ulValueLen, 3);
	a.pValue = buf;
	a.ulValueLen = 2;
	CU_ASSERT_EQUAL(attr_put(&a, "xyz", 3), CKR_BUFFER_TOO_SMALL);
	CU_ASSERT_EQUAL(a.ulValueLen, CK_UNAVAILABLE_INFORMATION);
	a.ulValueLen = 4;
	CU_ASSERT_EQUAL(attr_put(&a, "xyz", 3), CKR_OK);
	CU_ASSERT(a.ulValueLen == 3 && memcmp(buf, "xyz", 3) == 0);
}

static void
test_template_helpers(void)
{
	CK_BBOOL t = CK_TRUE, bad = 7;
	CK_ULONG v = 42, got = 0;
	CK_ATTRIBUTE tmpl[] = {{CKA_SIGN, &t, 1},
			       {CKA_DERIVE, &bad, 1},
			       {CKA_MODULUS_BITS, &v, sizeof(v)},
			       {CKA_CLASS, &v, 2}};
	CK_BBOOL b;

	CU_ASSERT_TRUE(attr_is_true(tmpl, 4, CKA_SIGN));
	CU_ASSERT_FALSE(attr_is_false(tmpl, 4, CKA_SIGN));
	CU_ASSERT_FALSE(attr_is_true(tmpl, 4, CKA_DECRYPT));
	CU_ASSERT_EQUAL(attr_get_bool(tmpl, 4, CKA_DERIVE, &b), CKR_ATTRIBUTE_VALUE_INVALID);
	CU_ASSERT_EQUAL(attr_get_bool(tmpl, 4, CKA_DECRYPT, &b), CKR_TEMPLATE_INCOMPLETE);
	CU_ASSERT_EQUAL(attr_get_ulong(tmpl, 4, CKA_MODULUS_BITS, &got), CKR_OK);
	CU_ASSERT_EQUAL(got, 42);
	CU_ASSERT_EQUAL(attr_get_ulong(tmpl, 4, CKA_CLASS, &got), CKR_ATTRIBUTE_VALUE_INVALID);
	CU_ASSERT_FALSE(attr_has(NULL, 0, CKA_SIGN));
	CU_ASSERT_TRUE(attr_has(tmpl, 4, CKA_CLASS));
	/* The checked accessor: every entry, whatever its type. */
	{
		CK_ATTRIBUTE ent[] = {{CKA_LABEL, NULL, 5},
				      {CKA_TOKEN, &v, sizeof(v)},
				      {CKA_VALUE_LEN, &t, 1},
				      {CKA_ID, (void *)"x", CK_UNAVAILABLE_INFORMATION},
				      {CKA_LABEL, (void *)"a\0b", 3},
				      {CKA_LABEL, (void *)"ok", 2},
				      {CKA_ID, NULL, 0}};
		const void *p = (void *)1;
		size_t len = 9;
		char *str = NULL;

		CU_ASSERT_EQUAL(attr_value(&ent[0], &p, &len), CKR_ATTRIBUTE_VALUE_INVALID);
		CU_ASSERT_EQUAL(attr_value(&ent[1], &p, &len), CKR_ATTRIBUTE_VALUE_INVALID);
		CU_ASSERT_EQUAL(attr_value(&ent[2], &p, &len), CKR_ATTRIBUTE_VALUE_INVALID);
		CU_ASSERT_EQUAL(attr_value(&ent[3], &p, &len), CKR_ATTRIBUTE_VALUE_INVALID);
		CU_ASSERT_EQUAL(attr_value(&ent[6], &p, &len), CKR_OK);
		CU_ASSERT_PTR_NULL(p);
		CU_ASSERT_EQUAL(len, 0);
		CU_ASSERT_EQUAL(attr_check_template(ent, 1), CKR_ATTRIBUTE_VALUE_INVALID);
		CU_ASSERT_EQUAL(attr_check_template(&ent[5], 2), CKR_OK);
		CU_ASSERT_EQUAL(attr_check_template(NULL, 1), CKR_ARGUMENTS_BAD);
		CU_ASSERT_EQUAL(attr_check_template(NULL, 0), CKR_OK);
		CU_ASSERT_EQUAL(attr_get(&ent[5], 1, CKA_LABEL, &p, &len), CKR_OK);
		CU_ASSERT(len == 2 && memcmp(p, "ok", 2) == 0);
		CU_ASSERT_EQUAL(attr_get(&ent[5], 1, CKA_ID, &p, &len), CKR_TEMPLATE_INCOMPLETE);
		CU_ASSERT_EQUAL(attr_get_string(&ent[4], 1, CKA_LABEL, &str),
				CKR_ATTRIBUTE_VALUE_INVALID);
		CU_ASSERT_EQUAL(attr_get_string(ent, 1, CKA_LABEL, &str),
				CKR_ATTRIBUTE_VALUE_INVALID);
		CU_ASSERT_EQUAL(attr_get_string(&ent[5], 1, CKA_LABEL, &str), CKR_OK);
		CU_ASSERT_STRING_EQUAL(str, "ok");
		free(str);
	}
}

/* Read a whole (small) file. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
test_refusal_log(void)
{
	char *dir = test_tmpdir(), path[512], *log;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(path, sizeof(path), "%s/log", dir);
	CU_ASSERT_EQUAL_FATAL(mdp_log_configure("2", path), 0);
	/* A refusal with its reason. */
	p11_call_begin();
	CU_ASSERT_EQUAL(p11_refuse(CKR_TEMPLATE_INCONSISTENT, "an EC key is either %s", "x"),
			CKR_TEMPLATE_INCONSISTENT);
	p11_call_result("C_GenerateKeyPair", CKR_TEMPLATE_INCONSISTENT);
	/* The next call starts afresh: its refusal says what the code means. */
	p11_call_begin();
	p11_call_result("C_Sign", CKR_DATA_LEN_RANGE);
	/* A refusal because of the caller's state is level 3 (info): not logged at level 2. */
	p11_call_result("C_SignInit", CKR_USER_NOT_LOGGED_IN);
	/* Answers are no refusals. */
	p11_call_begin();
	p11_call_result("C_GetAttributeValue", CKR_ATTRIBUTE_TYPE_INVALID);
	p11_call_result("C_VerifyFinal", CKR_SIGNATURE_INVALID);
	p11_call_result("C_Sign", CKR_BUFFER_TOO_SMALL);
	p11_call_result("C_WaitForSlotEvent", CKR_NO_EVENT);
	/* A reason recorded by a lower layer is logged the same way. */
	p11_call_begin();
	mdp_err_reason(MDP_ERR_ARGS, "a key named \"%s\" exists", "vendor");
	p11_call_result("C_CreateObject", CKR_ATTRIBUTE_VALUE_INVALID);
	/* At level 3 the state refusals come with what the code means. */
	mdp_log_shutdown();
	snprintf(path, sizeof(path), "%s/log3", dir);
	CU_ASSERT_EQUAL_FATAL(mdp_log_configure("3", path), 0);
	p11_call_begin();
	p11_call_result("C_SignInit", CKR_USER_NOT_LOGGED_IN);
	mdp_log_shutdown();
	log = slurp(path);
	CU_ASSERT_PTR_NOT_NULL(log && strstr(log, "C_SignInit: CKR_USER_NOT_LOGGED_IN (the "
						  "operation needs the user logged in (C_Login))"));
	free(log);
	snprintf(path, sizeof(path), "%s/log", dir);

	log = slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "C_GenerateKeyPair: CKR_TEMPLATE_INCONSISTENT: an EC "
					   "key is either x\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "C_Sign: CKR_DATA_LEN_RANGE (no further reason "
					   "recorded)"));
	CU_ASSERT_PTR_NULL(strstr(log, "C_SignInit"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "C_CreateObject: CKR_ATTRIBUTE_VALUE_INVALID: a key "
					   "named \"vendor\" exists"));
	CU_ASSERT_PTR_NULL(strstr(log, "C_GetAttributeValue"));
	CU_ASSERT_PTR_NULL(strstr(log, "C_VerifyFinal"));
	CU_ASSERT_PTR_NULL(strstr(log, "BUFFER_TOO_SMALL"));
	CU_ASSERT_PTR_NULL(strstr(log, "NO_EVENT"));
	free(log);

	CU_ASSERT_STRING_EQUAL(p11_attr_name(CKA_LABEL), "CKA_LABEL");
	CU_ASSERT_STRING_EQUAL(p11_attr_name(0x12345), "attribute 0x12345");
	test_rmtree(dir);
	free(dir);
}

int
main(void)
{
	CU_TestInfo tests[] = {
		{"refusals logged with their reason", test_refusal_log},
		{"settings from file and environment", test_settings},
		{"SO PIN as admin key", test_admin_key},
		{"EC curves from CKA_EC_PARAMS", test_curves},
		{"CK_RV names, error map, padded strings, size rules", test_names_and_pad},
		{"template helpers", test_template_helpers},
		CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suites[] = {
		{"pkcs11", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return test_run("test-pkcs11", suites);
}
