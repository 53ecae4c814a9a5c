/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for mdp11-vcard's own code: command-line parsing, vpcd framing and serve loop. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/secmem.h"
#include "tests/unit/testutil.h"
#include "tools/vcard-opts.h"
#include "tools/vpcd.h"

#define ADMIN48 "000102030405060708090a0b0c0d0e0f1011121314151617"

/* ---- command line ---- */

static int
parse(struct vcard_opts *o, char *err, size_t cap, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc++] = (char *)"mdp11-vcard";
	va_start(ap, cap);
	while ((a = va_arg(ap, char *)) != NULL && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return vcard_opts_parse(argc, argv, o, err, cap);
}

#define P(...) parse(&o, err, sizeof(err), __VA_ARGS__, (char *)NULL)

static void
test_opts_commands(void)
{
	struct vcard_opts o;
	char err[256];

	CU_ASSERT_EQUAL(vcard_opts_parse(1, (char *[]){(char *)"x", NULL}, &o, err, sizeof(err)),
			VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "missing command") != NULL);
	CU_ASSERT_EQUAL(P("--help"), VCARD_EXIT_OK);
	CU_ASSERT_TRUE(o.help);
	CU_ASSERT_EQUAL(o.cmd, VCARD_CMD_NONE);
	CU_ASSERT_EQUAL(P("-h"), VCARD_EXIT_OK);
	CU_ASSERT_TRUE(o.help);
	CU_ASSERT_EQUAL(P("--help", "extra"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("--version"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(o.cmd, VCARD_CMD_VERSION);
	CU_ASSERT_EQUAL(P("frobnicate", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "unknown command") != NULL);

	/* Per-command help, before any FILE check. */
	CU_ASSERT_EQUAL(P("create", "--help"), VCARD_EXIT_OK);
	CU_ASSERT_TRUE(o.help);
	CU_ASSERT_EQUAL(o.cmd, VCARD_CMD_CREATE);
	CU_ASSERT_EQUAL(P("serve", "-h"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(o.cmd, VCARD_CMD_SERVE);
	CU_ASSERT_EQUAL(P("info", "--help"), VCARD_EXIT_OK);
	CU_ASSERT(strstr(vcard_opts_usage(VCARD_CMD_INFO), "info [OPTIONS] FILE") != NULL);
	CU_ASSERT(strstr(vcard_opts_usage(VCARD_CMD_RESEAL), "reseal [OPTIONS] FILE") != NULL);
	CU_ASSERT(strstr(vcard_opts_usage(VCARD_CMD_NONE), "reseal FILE") != NULL);
	CU_ASSERT_EQUAL(P("reseal", "--help"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(o.cmd, VCARD_CMD_RESEAL);
	CU_ASSERT(strstr(vcard_opts_usage(VCARD_CMD_CREATE), "--admin-key-file") != NULL);
	CU_ASSERT(strstr(vcard_opts_usage(VCARD_CMD_SERVE), "--vpcd") != NULL);
	CU_ASSERT(strstr(vcard_opts_usage(VCARD_CMD_NONE), "Exit status") != NULL);

	/* FILE: exactly one; "--" ends options. */
	CU_ASSERT_EQUAL(P("info"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "missing FILE") != NULL);
	CU_ASSERT_EQUAL(P("info", "a", "b"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "unexpected argument") != NULL);
	CU_ASSERT_EQUAL(P("info", "card.state"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(o.cmd, VCARD_CMD_INFO);
	CU_ASSERT_STRING_EQUAL(o.file, "card.state");
	CU_ASSERT_EQUAL(P("info", "--", "--odd-name"), VCARD_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.file, "--odd-name");

	/* Options belong to their command. */
	CU_ASSERT_EQUAL(P("info", "--pin-file", "p", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "unknown option") != NULL);
	CU_ASSERT_EQUAL(P("create", "--vpcd", "h:1", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("serve", "--bogus", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("serve", "--force=1", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--force=yes", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "takes no value") != NULL);
	CU_ASSERT_EQUAL(P("serve", "f", "--vpcd"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "needs a value") != NULL);
}

static void
test_opts_create(void)
{
	struct vcard_opts o;
	char err[256];

	CU_ASSERT_EQUAL(P("create", "f"), VCARD_EXIT_OK);
	CU_ASSERT_FALSE(o.initialized);
	CU_ASSERT_FALSE(o.force);
	CU_ASSERT_EQUAL(P("create", "--force", "f"), VCARD_EXIT_OK);
	CU_ASSERT_TRUE(o.force);

	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "123456", "--insecure-admin-key", ADMIN48,
			  "--serial", "00112233445566778899aabbccddeeff", "--pin-tries", "5", "f"),
			VCARD_EXIT_OK);
	CU_ASSERT_TRUE(o.initialized);
	CU_ASSERT_STRING_EQUAL(o.pin.insecure, "123456");
	CU_ASSERT_STRING_EQUAL(o.admin_key.insecure, ADMIN48);
	CU_ASSERT_EQUAL(o.serial_len, 16);
	CU_ASSERT_EQUAL(o.serial[15], 0xff);
	CU_ASSERT_EQUAL(o.pin_tries, 5);

	/* --opt=value form, short serial; one secret option is enough to initialise (the other
	 * is asked on the terminal). */
	CU_ASSERT_EQUAL(P("create", "--pin-env=MYPIN", "--admin-key-file=k", "--serial=0a", "f"),
			VCARD_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.pin.env, "MYPIN");
	CU_ASSERT_STRING_EQUAL(o.admin_key.file, "k");
	CU_ASSERT_EQUAL(o.serial_len, 1);
	CU_ASSERT_EQUAL(o.serial[0], 0x0a);
	CU_ASSERT_EQUAL(P("create", "--admin-key-env", "K", "f"), VCARD_EXIT_OK);
	CU_ASSERT_TRUE(o.initialized);

	/* Plain secrets on the command line are refused with the replacements named. */
	CU_ASSERT_EQUAL(P("create", "--pin", "1234", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "--insecure-pin") != NULL);
	CU_ASSERT(strstr(err, "--pin-file") != NULL);
	CU_ASSERT_EQUAL(P("create", "--admin-key", ADMIN48, "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "--admin-key-file") != NULL);

	/* Negative paths. */
	CU_ASSERT_EQUAL(P("create", "--serial", "01", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "initialized card") != NULL);
	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "1234", "--insecure-admin-key", ADMIN48,
			  "--serial", "00112233445566778899aabbccddeeff00", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "1234", "--serial", "", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "1234", "--pin-file", "x", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "PIN once") != NULL);
	CU_ASSERT_EQUAL(P("create", "--admin-key-env", "A", "--admin-key-file", "x", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "1234", "--pin-tries", "0", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "1234", "--pin-tries", "16", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "1234", "--pin-tries", "3x", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "1234", "--pin-tries", "-1", "f"),
			VCARD_EXIT_USAGE);

	/* The seal and the KDF cost: a blank card takes them too. */
	CU_ASSERT_EQUAL(P("create", "f"), VCARD_EXIT_OK);
	CU_ASSERT_PTR_NULL(o.seal);
	CU_ASSERT_EQUAL(o.kdf_cost, 0);
	CU_ASSERT_EQUAL(P("create", "--seal", "tpm", "--kdf-cost", "12", "f"), VCARD_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.seal, "tpm");
	CU_ASSERT_EQUAL(o.kdf_cost, 12);
	CU_ASSERT_EQUAL(P("create", "--seal=tpm:swtpm:host=127.0.0.1,port=2321", "f"),
			VCARD_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.seal, "tpm:swtpm:host=127.0.0.1,port=2321");
	CU_ASSERT_EQUAL(P("create", "--seal", "keyfile", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(P("create", "--seal", "keyfile:/a:b", "f"), VCARD_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.seal, "keyfile:/a:b");
	CU_ASSERT_EQUAL(P("create", "--seal", "keyfile:", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "--seal") != NULL);
	CU_ASSERT_EQUAL(P("create", "--seal", "tpmx", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--seal", "usb", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--kdf-cost", "0", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "--kdf-cost") != NULL);
	CU_ASSERT_EQUAL(P("create", "--kdf-cost", "21", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--kdf-cost", "1x", "f"), VCARD_EXIT_USAGE);
	/* reseal, serve and info take --seal; only create takes --kdf-cost */
	CU_ASSERT_EQUAL(P("reseal", "--seal", "keyfile:/k", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(o.cmd, VCARD_CMD_RESEAL);
	CU_ASSERT_STRING_EQUAL(o.seal, "keyfile:/k");
	CU_ASSERT_STRING_EQUAL(o.file, "f");
	CU_ASSERT_EQUAL(P("reseal", "f"), VCARD_EXIT_OK);
	CU_ASSERT_PTR_NULL(o.seal);
	CU_ASSERT_EQUAL(P("reseal"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("serve", "--seal", "tpm", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(P("info", "--seal", "tpm", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(P("reseal", "--kdf-cost", "4", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("reseal", "--insecure-pin", "1234", "f"), VCARD_EXIT_USAGE);
}

static void
test_opts_piv(void)
{
	struct vcard_opts o;
	char err[256];
	char *puk = NULL, *pin = NULL;
	size_t len = 0;
	uint8_t key[32];

	/* every option of a PIV card */
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "f"), VCARD_EXIT_OK);
	CU_ASSERT_TRUE(o.piv);
	CU_ASSERT_EQUAL(o.mgm_alg, 0);
	CU_ASSERT_EQUAL(o.piv_serial, 0);
	CU_ASSERT_EQUAL(P("create", "--type=piv", "--insecure-pin", "13572468", "--puk-env", "PUK",
			  "--insecure-admin-key", ADMIN48, "--mgm-alg", "aes192", "--pin-tries",
			  "200", "--puk-tries", "255", "--piv-version", "5.7.1", "--piv-serial",
			  "4294967295", "--seal", "tpm", "f"),
			VCARD_EXIT_OK);
	CU_ASSERT(o.piv && o.pin_tries == 200 && o.puk_tries == 255 && o.mgm_alg == 0x0A);
	CU_ASSERT(o.piv_version[0] == 5 && o.piv_version[1] == 7 && o.piv_version[2] == 1);
	CU_ASSERT_EQUAL(o.piv_serial, 4294967295u);
	CU_ASSERT_STRING_EQUAL(o.puk.env, "PUK");
	CU_ASSERT_EQUAL(P("create", "--type", "gids", "f"), VCARD_EXIT_OK);
	CU_ASSERT_FALSE(o.piv);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--mgm-alg", "0C", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(o.mgm_alg, 0x0C);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--mgm-alg", "3DES", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(o.mgm_alg, 0x03);

	/* refused */
	CU_ASSERT_EQUAL(P("create", "--type", "cac", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "gids or piv") != NULL);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--puk", "12345678", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "--insecure-puk") != NULL);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--insecure-puk", "1", "--puk-file", "x", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--serial", "01", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "--piv-serial") != NULL);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--pin-tries", "256", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--puk-tries", "0", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--mgm-alg", "des", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--piv-version", "5.7", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--piv-version", "3.0.0", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--piv-version", "5.4.3x", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--piv-version", "5.256.0", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--piv-serial", "0", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--piv-serial", "4294967296", "f"),
			VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--piv-serial", "-1", "f"), VCARD_EXIT_USAGE);
	/* PIV options on a GIDS card */
	CU_ASSERT_EQUAL(P("create", "--insecure-puk", "12345678", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "--type piv") != NULL);
	CU_ASSERT_EQUAL(P("create", "--mgm-alg", "aes128", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("create", "--piv-serial", "1", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("serve", "--type", "piv", "f"), VCARD_EXIT_USAGE);

	/* secrets: PIN and PUK 6..8 bytes, management key of the length asked */
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--insecure-pin", "1234567", "--insecure-puk",
			  "12345", "--insecure-admin-key", "000102030405060708090a0b0c0d0e0f", "f"),
			VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_OK);
	CU_ASSERT_STRING_EQUAL(pin, "1234567");
	mdp_secure_free(pin, len + 1);
	CU_ASSERT_EQUAL(vcard_opts_read_puk(&o, &puk, &len), MDP_ERR_ARGS);
	CU_ASSERT(strstr(mdp_err_last(), "PUK must be 6 to 8") != NULL);
	CU_ASSERT_EQUAL(vcard_opts_read_mgm_key(&o, key, 16), MDP_OK);
	CU_ASSERT(key[0] == 0x00 && key[15] == 0x0f);
	CU_ASSERT_EQUAL(vcard_opts_read_mgm_key(&o, key, 24), MDP_ERR_FORMAT);
	CU_ASSERT(strstr(mdp_err_last(), "48 hex digits") != NULL);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--insecure-pin", "1234", "--insecure-puk",
			  "123456789", "f"),
			VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(vcard_opts_read_puk(&o, &puk, &len), MDP_ERR_ARGS);
	setenv("MDP11_TEST_PUK", "87654321", 1);
	CU_ASSERT_EQUAL(P("create", "--type", "piv", "--puk-env", "MDP11_TEST_PUK", "f"),
			VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_puk(&o, &puk, &len), MDP_OK);
	CU_ASSERT_STRING_EQUAL(puk, "87654321");
	mdp_secure_free(puk, len + 1);
	unsetenv("MDP11_TEST_PUK");
}

static void
test_opts_serve(void)
{
	struct vcard_opts o;
	char err[256];

	CU_ASSERT_EQUAL(P("serve", "f"), VCARD_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.host, "127.0.0.1");
	CU_ASSERT_EQUAL(o.port, 35963);
	CU_ASSERT_EQUAL(o.atr_len, 0);
	CU_ASSERT_FALSE(o.verbose);
	CU_ASSERT_EQUAL(
		P("serve", "-v", "--vpcd", "localhost:40001", "--atr", "3B 80 80 01 01", "f"),
		VCARD_EXIT_OK);
	CU_ASSERT_TRUE(o.verbose);
	CU_ASSERT_STRING_EQUAL(o.host, "localhost");
	CU_ASSERT_EQUAL(o.port, 40001);
	CU_ASSERT_EQUAL(o.atr_len, 5);
	CU_ASSERT_EQUAL(o.atr[4], 0x01);
	CU_ASSERT_EQUAL(P("serve", "--vpcd=[::1]:9", "f"), VCARD_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.host, "::1");
	CU_ASSERT_EQUAL(o.port, 9);

	CU_ASSERT_EQUAL(P("serve", "--vpcd", "h:0", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "--vpcd") != NULL);
	CU_ASSERT_EQUAL(P("serve", "--atr", "3B", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("serve", "--atr", "0080", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT(strstr(err, "3B or 3F") != NULL);
	CU_ASSERT_EQUAL(P("serve", "--atr", "3Bx0", "f"), VCARD_EXIT_USAGE);
	CU_ASSERT_EQUAL(P("serve", "--atr",
			  "3B000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
			  "f"),
			VCARD_EXIT_USAGE);
}

static void
test_endpoint(void)
{
	char host[64];
	uint16_t port = 0;

	CU_ASSERT_EQUAL(vpcd_parse_endpoint("", host, sizeof(host), &port), MDP_OK);
	CU_ASSERT_STRING_EQUAL(host, VPCD_DEFAULT_HOST);
	CU_ASSERT_EQUAL(port, VPCD_DEFAULT_PORT);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("example.org", host, sizeof(host), &port), MDP_OK);
	CU_ASSERT_STRING_EQUAL(host, "example.org");
	CU_ASSERT_EQUAL(port, VPCD_DEFAULT_PORT);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint(":1234", host, sizeof(host), &port), MDP_OK);
	CU_ASSERT_STRING_EQUAL(host, VPCD_DEFAULT_HOST);
	CU_ASSERT_EQUAL(port, 1234);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("10.0.0.1:65535", host, sizeof(host), &port), MDP_OK);
	CU_ASSERT_EQUAL(port, 65535);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("[fe80::1]", host, sizeof(host), &port), MDP_OK);
	CU_ASSERT_STRING_EQUAL(host, "fe80::1");

	CU_ASSERT_EQUAL(vpcd_parse_endpoint("h:", host, sizeof(host), &port), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("h:65536", host, sizeof(host), &port), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("h:-1", host, sizeof(host), &port), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("h:12a", host, sizeof(host), &port), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("::1:5", host, sizeof(host), &port), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("[::1", host, sizeof(host), &port), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("[]:5", host, sizeof(host), &port), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("[::1]x", host, sizeof(host), &port), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint("averyveryverylonghostname", host, 8, &port),
			MDP_ERR_OVERFLOW);
	CU_ASSERT_EQUAL(vpcd_parse_endpoint(NULL, host, sizeof(host), &port), MDP_ERR_ARGS);
}

static void
test_read_pin(void)
{
	static const uint8_t admin[24] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
					  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
	struct vcard_opts o;
	char err[256];
	char *pin = NULL;
	size_t len = 0;
	uint8_t key[24];
	char *dir = test_tmpdir();
	char path[512];
	FILE *f;

	CU_ASSERT_EQUAL(
		P("create", "--insecure-pin", "123456", "--insecure-admin-key", ADMIN48, "f"),
		VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_OK);
	CU_ASSERT_STRING_EQUAL(pin, "123456");
	CU_ASSERT_EQUAL(len, 6);
	mdp_secure_free(pin, len + 1);
	pin = NULL;
	CU_ASSERT_EQUAL(vcard_opts_read_admin_key(&o, key), MDP_OK);
	CU_ASSERT_MEM_EQUAL(key, admin, 24);

	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "123", "--insecure-admin-key", ADMIN48, "f"),
			VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_ERR_ARGS);
	CU_ASSERT_PTR_NULL(pin);
	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "12345678901234567", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(P("create", "--insecure-pin", "1234567890123456", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_OK);
	mdp_secure_free(pin, len + 1);
	pin = NULL;

	/* Admin keys: 48 hex digits, nothing else. */
	CU_ASSERT_EQUAL(P("create", "--insecure-admin-key", "0011", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_admin_key(&o, key), MDP_ERR_FORMAT);
	CU_ASSERT(strstr(mdp_err_last(), "48 hex digits") != NULL);
	CU_ASSERT_EQUAL(P("create", "--insecure-admin-key", ADMIN48 "18", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_admin_key(&o, key), MDP_ERR_FORMAT);

	/* First line of a file, CR LF stripped. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(path, sizeof(path), "%s/pin", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("4321abcd\r\nsecond line\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(P("create", "--pin-file", path, "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_OK);
	CU_ASSERT_STRING_EQUAL(pin, "4321abcd");
	mdp_secure_free(pin, len + 1);
	pin = NULL;
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_ERR_FORMAT);
	CU_ASSERT(strstr(mdp_err_last(), "empty") != NULL);
	snprintf(path, sizeof(path), "%s/absent", dir);
	CU_ASSERT_EQUAL(P("create", "--pin-file", path, "f"), VCARD_EXIT_OK);
	CU_ASSERT_NOT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_OK);
	CU_ASSERT(strstr(mdp_err_last(), "absent") != NULL);

	/* Environment. */
	setenv("MDP11_TEST_PIN", "987654", 1);
	CU_ASSERT_EQUAL(P("create", "--pin-env", "MDP11_TEST_PIN", "f"), VCARD_EXIT_OK);
	CU_ASSERT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_OK);
	CU_ASSERT_STRING_EQUAL(pin, "987654");
	mdp_secure_free(pin, len + 1);
	pin = NULL;
	unsetenv("MDP11_TEST_PIN");
	CU_ASSERT_EQUAL(vcard_opts_read_pin(&o, &pin, &len), MDP_ERR_NOT_FOUND);
	CU_ASSERT(strstr(mdp_err_last(), "MDP11_TEST_PIN") != NULL);
	/* (No source at all asks the terminal: vcard-cli.sh runs that without one.) */

	test_rmtree(dir);
	free(dir);
}

/* ---- framing ---- */

static void
test_frame(void)
{
	uint8_t out[8];
	uint8_t *big = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL(vpcd_frame((const uint8_t *)"\x04", 1, out, sizeof(out), &n), MDP_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_MEM_EQUAL(out, "\x00\x01\x04", 3);
	CU_ASSERT_EQUAL(vpcd_frame((const uint8_t *)"\x90\x00", 2, out, 3, &n),
			MDP_ERR_BUFFER_TOO_SMALL);
	big = calloc(1, VPCD_MAX_MSG + 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_EQUAL(vpcd_frame(big, VPCD_MAX_MSG, big, VPCD_MAX_MSG + 3, &n), MDP_OK);
	CU_ASSERT_EQUAL(n, VPCD_MAX_MSG + 2);
	CU_ASSERT_EQUAL(big[0], 0xff);
	CU_ASSERT_EQUAL(big[1], 0xff);
	CU_ASSERT_EQUAL(vpcd_frame(big, VPCD_MAX_MSG + 1, big, VPCD_MAX_MSG + 3, &n),
			MDP_ERR_OVERFLOW);
	CU_ASSERT_EQUAL(vpcd_frame(NULL, 1, out, sizeof(out), &n), MDP_ERR_ARGS);
	free(big);
}

static void
test_decoder(void)
{
	static const uint8_t two[] = {0x00, 0x01, 0x04, 0x00, 0x05, 0x00, 0xa4, 0x04, 0x00, 0x00};
	struct vpcd_decoder d;
	size_t used = 0;
	size_t i;
	uint8_t *big = NULL;

	CU_ASSERT_EQUAL_FATAL(vpcd_decoder_init(&d), MDP_OK);

	/* Two messages in one read: the first stops after its own bytes. */
	CU_ASSERT_EQUAL(vpcd_decoder_feed(&d, two, sizeof(two), &used), MDP_OK);
	CU_ASSERT_EQUAL(used, 3);
	CU_ASSERT_TRUE(d.complete);
	CU_ASSERT_EQUAL(d.want, 1);
	CU_ASSERT_EQUAL(d.msg[0], VPCD_CTRL_ATR);
	/* A complete message is not overwritten by more input. */
	CU_ASSERT_EQUAL(vpcd_decoder_feed(&d, two + 3, sizeof(two) - 3, &used), MDP_OK);
	CU_ASSERT_EQUAL(used, 0);
	vpcd_decoder_next(&d);
	CU_ASSERT_FALSE(d.complete);
	CU_ASSERT_EQUAL(vpcd_decoder_feed(&d, two + 3, sizeof(two) - 3, &used), MDP_OK);
	CU_ASSERT_EQUAL(used, 7);
	CU_ASSERT_TRUE(d.complete);
	CU_ASSERT_EQUAL(d.want, 5);
	CU_ASSERT_MEM_EQUAL(d.msg, two + 5, 5);
	vpcd_decoder_next(&d);
	/* The handled message is wiped. */
	CU_ASSERT_EQUAL(d.msg[1], 0);

	/* Partial reads: one byte at a time, header split across reads. */
	for (i = 0; i < sizeof(two); i++) {
		CU_ASSERT_EQUAL(vpcd_decoder_feed(&d, two + i, 1, &used), MDP_OK);
		CU_ASSERT_EQUAL(used, 1);
		if (i == 2 || i == 9) {
			CU_ASSERT_TRUE(d.complete);
			vpcd_decoder_next(&d);
		} else {
			CU_ASSERT_FALSE(d.complete);
		}
	}
	/* Empty input takes nothing. */
	CU_ASSERT_EQUAL(vpcd_decoder_feed(&d, NULL, 0, &used), MDP_OK);
	CU_ASSERT_EQUAL(used, 0);

	/* The largest message: 65535 bytes. */
	big = malloc(VPCD_MAX_MSG + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 0x5a, VPCD_MAX_MSG + 2);
	big[0] = 0xff;
	big[1] = 0xff;
	CU_ASSERT_EQUAL(vpcd_decoder_feed(&d, big, 1000, &used), MDP_OK);
	CU_ASSERT_FALSE(d.complete);
	CU_ASSERT_EQUAL(vpcd_decoder_feed(&d, big + 1000, VPCD_MAX_MSG + 2 - 1000, &used), MDP_OK);
	CU_ASSERT_TRUE(d.complete);
	CU_ASSERT_EQUAL(d.want, VPCD_MAX_MSG);
	CU_ASSERT_EQUAL(d.msg[VPCD_MAX_MSG - 1], 0x5a);
	vpcd_decoder_next(&d);
	free(big);

	/* Bad length: zero, also when its two bytes arrive separately. */
	CU_ASSERT_EQUAL(vpcd_decoder_feed(&d, (const uint8_t *)"\x00\x00\x01", 3, &used),
			MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(used, 2);
	vpcd_decoder_next(&d);
	CU_ASSERT_EQUAL(vpcd_decoder_feed(&d, (const uint8_t *)"\x00", 1, &used), MDP_OK);
	CU_ASSERT_EQUAL(vpcd_decoder_feed(&d, (const uint8_t *)"\x00", 1, &used), MDP_ERR_FORMAT);
	CU_ASSERT_EQUAL(vpcd_decoder_feed(NULL, two, 1, &used), MDP_ERR_ARGS);
	vpcd_decoder_free(&d);
	CU_ASSERT_PTR_NULL(d.msg);
	vpcd_decoder_free(NULL);
	CU_ASSERT_EQUAL(vpcd_decoder_init(NULL), MDP_ERR_ARGS);
}

/* ---- serve loop over a socket pair, with a card double that records what it sees ---- */

struct card_double {
	int powers[8];
	int npower;
	int transmits;
	bool fail_transmit; /* return an error without a response */
	bool fail_with_sw;  /* return an error with a 6581 response */
};

static size_t
double_atr(void *ctx, uint8_t *atr, size_t cap)
{
	static const uint8_t a[] = {0x3b, 0x80, 0x80, 0x01, 0x01};

	(void)ctx;
	if (cap < sizeof(a))
		return 0;
	memcpy(atr, a, sizeof(a));
	return sizeof(a);
}

static void
double_power(void *ctx, int ctrl)
{
	struct card_double *c = ctx;

	if (c->npower < 8)
		c->powers[c->npower++] = ctrl;
}

/* Echo the APDU's INS and length, then 9000. */
static enum mdp_err
double_transmit(void *ctx, const uint8_t *apdu, size_t len, uint8_t *resp, size_t cap,
		size_t *resp_len)
{
	struct card_double *c = ctx;

	c->transmits++;
	if (c->fail_transmit) {
		*resp_len = 0;
		return mdp_err_reason(MDP_ERR_ARGS, "refused");
	}
	if (c->fail_with_sw) {
		resp[0] = 0x65;
		resp[1] = 0x81;
		*resp_len = 2;
		return mdp_err_reason(MDP_ERR_IO, "disk full");
	}
	CU_ASSERT(cap >= 5);
	resp[0] = len > 1 ? apdu[1] : 0;
	resp[1] = (uint8_t)(len >> 8);
	resp[2] = (uint8_t)len;
	resp[3] = 0x90;
	resp[4] = 0x00;
	*resp_len = 5;
	return MDP_OK;
}

static void
init_double(struct card_double *c, struct vpcd_card_ops *ops)
{
	memset(c, 0, sizeof(*c));
	ops->atr = double_atr;
	ops->power = double_power;
	ops->transmit = double_transmit;
	ops->ctx = c;
}

static size_t
read_all(int fd, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)r;
	return n;
}

static void
test_serve_messages(void)
{
	static const uint8_t in[] = {
		0x00, 0x01, VPCD_CTRL_ON,  /* power on */
		0x00, 0x01, VPCD_CTRL_ATR, /* ATR request */
		0x00, 0x04, 0x00,
		0xca, 0x01, 0x02, /* APDU */
		0x00, 0x01, 0x07, /* unknown control code: ignored */
		0x00, 0x01, VPCD_CTRL_RESET,
		0x00, 0x01, VPCD_CTRL_OFF,
	};
	static const uint8_t expect[] = {
		0x00, 0x05, 0x3b, 0x80, 0x80, 0x01, 0x01, /* ATR */
		0x00, 0x05, 0xca, 0x00, 0x04, 0x90, 0x00, /* APDU response */
	};
	struct card_double c;
	struct vpcd_card_ops ops;
	volatile sig_atomic_t stop = 0;
	sigset_t mask;
	uint8_t out[64];
	int sv[2];

	sigemptyset(&mask);
	init_double(&c, &ops);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL(write(sv[1], in, sizeof(in)), (ssize_t)sizeof(in));
	shutdown(sv[1], SHUT_WR);
	CU_ASSERT_EQUAL(vpcd_serve_fd(sv[0], &ops, &stop, &mask), VPCD_END_CLOSED);
	close(sv[0]);
	CU_ASSERT_EQUAL(read_all(sv[1], out, sizeof(out)), sizeof(expect));
	CU_ASSERT_MEM_EQUAL(out, expect, sizeof(expect));
	close(sv[1]);
	CU_ASSERT_EQUAL(c.npower, 3);
	CU_ASSERT_EQUAL(c.powers[0], VPCD_CTRL_ON);
	CU_ASSERT_EQUAL(c.powers[1], VPCD_CTRL_RESET);
	CU_ASSERT_EQUAL(c.powers[2], VPCD_CTRL_OFF);
	CU_ASSERT_EQUAL(c.transmits, 1);
}

static void
test_serve_errors(void)
{
	static const uint8_t apdu[] = {0x00, 0x04, 0x00, 0xdb, 0x3f, 0xff};
	static const uint8_t zero[] = {0x00, 0x01, VPCD_CTRL_ATR, 0x00, 0x00, 0x01};
	struct card_double c;
	struct vpcd_card_ops ops;
	volatile sig_atomic_t stop = 0;
	sigset_t mask;
	uint8_t out[64];
	int sv[2];

	sigemptyset(&mask);

	/* A card call that fails without a response: the reader gets 6F00. */
	init_double(&c, &ops);
	c.fail_transmit = true;
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL(write(sv[1], apdu, sizeof(apdu)), (ssize_t)sizeof(apdu));
	shutdown(sv[1], SHUT_WR);
	CU_ASSERT_EQUAL(vpcd_serve_fd(sv[0], &ops, &stop, &mask), VPCD_END_CLOSED);
	close(sv[0]);
	CU_ASSERT_EQUAL(read_all(sv[1], out, sizeof(out)), 4);
	CU_ASSERT_MEM_EQUAL(out, "\x00\x02\x6f\x00", 4);
	close(sv[1]);

	/* A failure with the card's own status word: that one is sent. */
	init_double(&c, &ops);
	c.fail_with_sw = true;
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL(write(sv[1], apdu, sizeof(apdu)), (ssize_t)sizeof(apdu));
	shutdown(sv[1], SHUT_WR);
	CU_ASSERT_EQUAL(vpcd_serve_fd(sv[0], &ops, &stop, &mask), VPCD_END_CLOSED);
	close(sv[0]);
	CU_ASSERT_EQUAL(read_all(sv[1], out, sizeof(out)), 4);
	CU_ASSERT_MEM_EQUAL(out, "\x00\x02\x65\x81", 4);
	close(sv[1]);

	/* A zero length ends the connection as a protocol error, after the ATR went out. */
	init_double(&c, &ops);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL(write(sv[1], zero, sizeof(zero)), (ssize_t)sizeof(zero));
	CU_ASSERT_EQUAL(vpcd_serve_fd(sv[0], &ops, &stop, &mask), VPCD_END_PROTOCOL);
	close(sv[0]);
	CU_ASSERT_EQUAL(read_all(sv[1], out, sizeof(out)), 7);
	close(sv[1]);
	CU_ASSERT_EQUAL(c.transmits, 0);

	/* A truncated message followed by EOF: closed, nothing sent to the card. */
	init_double(&c, &ops);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL(write(sv[1], apdu, 4), 4);
	shutdown(sv[1], SHUT_WR);
	CU_ASSERT_EQUAL(vpcd_serve_fd(sv[0], &ops, &stop, &mask), VPCD_END_CLOSED);
	CU_ASSERT_EQUAL(c.transmits, 0);
	close(sv[0]);
	close(sv[1]);

	/* The stop flag ends the loop before reading. */
	init_double(&c, &ops);
	stop = 1;
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL(vpcd_serve_fd(sv[0], &ops, &stop, &mask), VPCD_END_STOP);
	close(sv[0]);
	close(sv[1]);
}

/* A writer thread that dribbles bytes so the serve loop sees partial reads. */
struct dribble {
	int fd;
	const uint8_t *p;
	size_t len;
};

static void *
dribble_thread(void *arg)
{
	struct dribble *d = arg;
	struct timespec ts = {0, 2000000};
	size_t i;

	for (i = 0; i < d->len; i++) {
		if (write(d->fd, d->p + i, 1) != 1)
			break;
		nanosleep(&ts, NULL);
	}
	shutdown(d->fd, SHUT_WR);
	return NULL;
}

static void
test_serve_partial_reads(void)
{
	uint8_t in[3 + 2 + 300];
	struct card_double c;
	struct vpcd_card_ops ops;
	struct dribble d;
	pthread_t th;
	volatile sig_atomic_t stop = 0;
	sigset_t mask;
	uint8_t out[64];
	int sv[2];

	sigemptyset(&mask);
	init_double(&c, &ops);
	memcpy(in, "\x00\x01\x04", 3);
	in[3] = 0x01;
	in[4] = 0x2c; /* 300-byte APDU */
	memset(in + 5, 0x11, 300);
	in[6] = 0xdb;
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	d.fd = sv[1];
	d.p = in;
	d.len = 3 + 2 + 40;
	/* Send the first 45 bytes slowly, the rest at once from this thread afterwards. */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, dribble_thread, &d), 0);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(vpcd_serve_fd(sv[0], &ops, &stop, &mask), VPCD_END_CLOSED);
	/* The 300-byte APDU was cut after 40 bytes: never handed to the card. */
	CU_ASSERT_EQUAL(c.transmits, 0);
	close(sv[0]);
	close(sv[1]);

	init_double(&c, &ops);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	d.fd = sv[1];
	d.len = sizeof(in);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, dribble_thread, &d), 0);
	CU_ASSERT_EQUAL(vpcd_serve_fd(sv[0], &ops, &stop, &mask), VPCD_END_CLOSED);
	pthread_join(th, NULL);
	close(sv[0]);
	CU_ASSERT_EQUAL(c.transmits, 1);
	CU_ASSERT_EQUAL(read_all(sv[1], out, sizeof(out)), 14);
	CU_ASSERT_MEM_EQUAL(out, "\x00\x05\x3b\x80\x80\x01\x01\x00\x05\xdb\x01\x2c\x90\x00", 14);
	close(sv[1]);
}

/* ---- TCP connection and reconnect ---- */

static int
listen_loopback(uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

struct fake_vpcd {
	int lfd;
	volatile sig_atomic_t *stop;
	int accepted;
	uint8_t atr[16];
	size_t atr_len;
};

/*
 * Plays vpcd twice: the first connection asks for the ATR and hangs up (a
 * pcscd restart); the second one sets the stop flag and hangs up.
 */
static void *
fake_vpcd_thread(void *arg)
{
	struct fake_vpcd *v = arg;
	int i;

	for (i = 0; i < 2; i++) {
		int fd = accept(v->lfd, NULL, NULL);

		if (fd < 0)
			break;
		v->accepted++;
		if (i == 0) {
			if (write(fd, "\x00\x01\x04", 3) == 3)
				v->atr_len = read_all(fd, v->atr, 7);
		} else {
			*v->stop = 1;
		}
		close(fd);
	}
	return NULL;
}

static void
test_connect_and_reconnect(void)
{
	struct card_double c;
	struct vpcd_card_ops ops;
	struct fake_vpcd v;
	volatile sig_atomic_t stop = 0;
	sigset_t mask;
	pthread_t th;
	uint16_t port = 0;
	int fd = -1;
	int lfd;

	sigemptyset(&mask);
	init_double(&c, &ops);
	lfd = listen_loopback(&port);
	CU_ASSERT_FATAL(lfd >= 0);

	CU_ASSERT_EQUAL(vpcd_connect("127.0.0.1", port, &fd), MDP_OK);
	CU_ASSERT(fd >= 0);
	close(fd);
	fd = accept(lfd, NULL, NULL);
	close(fd);

	memset(&v, 0, sizeof(v));
	v.lfd = lfd;
	v.stop = &stop;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, fake_vpcd_thread, &v), 0);
	CU_ASSERT_EQUAL(vpcd_run("127.0.0.1", port, &ops, &stop, &mask, 200, 0), MDP_OK);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(v.accepted, 2);
	CU_ASSERT_EQUAL(v.atr_len, 7);
	CU_ASSERT_MEM_EQUAL(v.atr, "\x00\x05\x3b\x80\x80\x01\x01", 7);
	/* Each lost connection powers the card off. */
	CU_ASSERT_EQUAL(c.npower, 2);
	CU_ASSERT_EQUAL(c.powers[0], VPCD_CTRL_OFF);
	close(lfd);

	/* Nobody listening any more: connect fails, run gives up after its tries. */
	fd = -1;
	CU_ASSERT_EQUAL(vpcd_connect("127.0.0.1", port, &fd), MDP_ERR_TRANSPORT);
	CU_ASSERT_EQUAL(fd, -1);
	CU_ASSERT(strstr(mdp_err_last(), "cannot connect") != NULL);
	stop = 0;
	CU_ASSERT_EQUAL(vpcd_run("127.0.0.1", port, &ops, &stop, &mask, 200, 3), MDP_ERR_TRANSPORT);
	CU_ASSERT_EQUAL(vpcd_run(NULL, port, &ops, &stop, &mask, 200, 3), MDP_ERR_ARGS);
}

static CU_TestInfo opts_tests[] = {
	{"commands, help, FILE", test_opts_commands},
	{"create options", test_opts_create},
	{"create options of a PIV card", test_opts_piv},
	{"serve options", test_opts_serve},
	{"vpcd endpoint", test_endpoint},
	{"PIN sources", test_read_pin},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo vpcd_tests[] = {
	{"framing", test_frame},
	{"decoder: partial input, bad lengths", test_decoder},
	{"serve: control codes and APDUs", test_serve_messages},
	{"serve: errors", test_serve_errors},
	{"serve: partial reads", test_serve_partial_reads},
	{"connect and reconnect", test_connect_and_reconnect},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"options", NULL, NULL, NULL, NULL, opts_tests},
	{"vpcd", NULL, NULL, NULL, NULL, vpcd_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return test_run("test-vcard-tool", suites);
}
