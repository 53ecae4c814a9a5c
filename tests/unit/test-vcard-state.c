/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the virtual card's state file: persistence, damage, concurrency, write failures. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/bytes.h"
#include "common/log.h"
#include "tests/unit/testutil.h"
#include "tests/unit/vcard-testlib.h"
#include "vcard/vcard.h"

static const uint8_t admin_key[24] = {9, 8, 7, 6, 5, 4, 3, 2, 9, 8, 7, 6,
				      5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2};
static char *dir;

static int
setup(void)
{
	/* A cheap KDF: the cost is recorded in each file at creation. */
	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	dir = test_tmpdir();
	return dir ? 0 : 1;
}

static int
teardown(void)
{
	test_rmtree(dir);
	free(dir);
	return 0;
}

static char *
card_path(const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static char *
new_card_file(const char *name)
{
	struct vcard_init_params p = {.pin = "246810", .admin_key = admin_key};
	char *path = card_path(name);

	CU_ASSERT_EQUAL(vcard_create(path, &p), MDP_OK);
	return path;
}

static struct vcard *
open_card(const char *path)
{
	struct vcard *vc = NULL;

	CU_ASSERT_EQUAL_FATAL(vcard_open(path, NULL, &vc), MDP_OK);
	return vc;
}

static const uint8_t key_fcp[] = {0x62, 0x26, 0x82, 0x01, 0x18, 0x83, 0x02, 0xB0, 0x81, 0x8C,
				  0x05, 0x8F, 0x10, 0x10, 0x10, 0x00, 0xA5, 0x16, 0xB6, 0x09,
				  0x80, 0x01, 0x16, 0x83, 0x01, 0x81, 0x95, 0x01, 0x40, 0xB6,
				  0x09, 0x80, 0x01, 0x56, 0x83, 0x01, 0x81, 0x95, 0x01, 0x40};

/* Sign 20 bytes with key 81 (alg 56); returns the signature length (0 on failure). */
static size_t
sign_81(struct vcard *vc)
{
	struct rapdu r;
	uint8_t *out = NULL, msg[20] = {1, 2, 3};
	size_t len = 0;

	if (tx(vc, "002241B606800156840181", &r) != 0x9000)
		return 0;
	if (xfer_bytes(vc, 0x2A, 0x9E, 0x9A, msg, sizeof(msg), &out, &len) != 0x9000)
		len = 0;
	free(out);
	return len;
}

static bool
write_file(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return false;
	ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static void
test_create_reload(void)
{
	struct vcard_init_params p = {.pin = "246810", .admin_key = admin_key};
	struct vcard *vc = NULL;
	struct vcard_info info;
	struct rapdu r;
	struct stat sb;
	char *path = new_card_file("a.card");
	uint8_t *pub1 = NULL, *pub2 = NULL;
	size_t pub1_len = 0, pub2_len = 0;

	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(vcard_create(path, &p), MDP_ERR_EXISTS);
	CU_ASSERT_EQUAL(vcard_create(NULL, &p), MDP_ERR_ARGS);
	setenv("MDP11_VCARD_KDF_COST", "33", 1);
	{
		char *bad = card_path("bad-cost.card");

		CU_ASSERT_EQUAL(vcard_create(bad, &p), MDP_ERR_CONFIG);
		CU_ASSERT_EQUAL(access(bad, F_OK), -1);
		free(bad);
	}
	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	{
		char *none = card_path("none.card");

		CU_ASSERT_EQUAL(vcard_open(none, NULL, &vc), MDP_ERR_NOT_FOUND);
		free(none);
	}

	/* a temporary file left by a killed writer is removed by the next save */
	{
		size_t n = strlen(path) + 16;
		char *stale = malloc(n);

		snprintf(stale, n, "%s.tmpAbC123", path);
		CU_ASSERT(write_file(stale, (const uint8_t *)"partial", 7));
		vc = open_card(path);
		CU_ASSERT_EQUAL(tx(vc, "0020008006313131313131", &r), 0x63C2);
		vcard_free(vc);
		CU_ASSERT_EQUAL(access(stale, F_OK), -1);
		free(stale);
	}
	/* the retry counter survived */
	vc = open_card(path);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701029301 03");
	CU_ASSERT_EQUAL(tx(vc, "0020008006323436383130", &r), 0x9000);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0xE0, 0x00, 0x00, key_fcp, sizeof(key_fcp), -1, &r),
			0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0047000008AC0680010683018100", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 140);
	CU_ASSERT_EQUAL(xfer(vc, "00CB3FFF0A7008840181A5037F498000", &pub1, &pub1_len), 0x9000);
	CU_ASSERT_EQUAL(pub1_len, 140);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01006DF2403414243", &r), 0x9000);
	CU_ASSERT_EQUAL(sign_81(vc), 128);
	vcard_free(vc);

	/* everything is back after a reopen; the key needs the PIN again */
	vc = open_card(path);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701039301 03");
	CU_ASSERT_EQUAL(xfer(vc, "00CB3FFF0A7008840181A5037F498000", &pub2, &pub2_len), 0x9000);
	CU_ASSERT(pub1_len == pub2_len && memcmp(pub1, pub2, pub1_len) == 0);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2400", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2403414243");
	CU_ASSERT_EQUAL(sign_81(vc), 0);
	CU_ASSERT_EQUAL(tx(vc, "0020008006323436383130", &r), 0x9000);
	CU_ASSERT_EQUAL(sign_81(vc), 128);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(info.initialized);
	CU_ASSERT_EQUAL(info.key_files, 1);
	CU_ASSERT_EQUAL(info.data_objects, 6);
	CU_ASSERT_EQUAL(info.format_version, 2);
	CU_ASSERT(info.sealed);
	vcard_free(vc);
	free(pub1);
	free(pub2);
	free(path);
}

/* A blank card file initialized over APDUs; a key made in creation state survives. */
static void
test_blank_file(void)
{
	struct vcard *vc = NULL;
	struct vcard_info info;
	struct rapdu r;
	char *path = card_path("blank.card");

	CU_ASSERT_EQUAL_FATAL(vcard_create(path, NULL), MDP_OK);
	vc = open_card(path);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(!info.initialized);
	CU_ASSERT_EQUAL(tx(vc, "00CBA000045C02DF1F00", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00240180083132333435363738", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00E000000E620C8201398302A0108C03033000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01003DF2300", &r), 0x9000);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0xE0, 0x00, 0x00, key_fcp, sizeof(key_fcp), -1, &r),
			0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0047000008AC06800106830181", &r), 0x9000);
	CU_ASSERT_EQUAL(sign_81(vc), 128); /* creation state: no PIN needed */
	vcard_free(vc);
	vc = open_card(path);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2300", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4000C023FFF", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	vcard_free(vc);
	/* operational now: the card key is only reachable through the PIN */
	vc = open_card(path);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(info.initialized);
	CU_ASSERT_EQUAL(sign_81(vc), 0);
	CU_ASSERT_EQUAL(tx(vc, "00200080083132333435363738", &r), 0x9000);
	CU_ASSERT_EQUAL(sign_81(vc), 128);
	vcard_free(vc);
	free(path);
}

static void
expect_refused(const char *path, const uint8_t *p, size_t len)
{
	struct vcard *vc = NULL;

	CU_ASSERT_FATAL(write_file(path, p, len));
	CU_ASSERT_EQUAL(vcard_open(path, NULL, &vc), MDP_ERR_STATE);
	CU_ASSERT_PTR_NULL(vc);
	CU_ASSERT(strstr(mdp_err_last(), "state file") != NULL);
	vcard_free(vc);
}

static void
test_damaged(void)
{
	char *path = new_card_file("good.card");
	char *bad = card_path("bad.card");
	uint8_t *data = NULL, *copy;
	size_t len = 0, i;
	struct vcard *vc = NULL;
	struct rapdu r;
	uint8_t resp[VCARD_MAX_RESPONSE];
	size_t rl = 0;
	static const uint8_t apdu[] = {0x00, 0xCB, 0x3F, 0xFF, 0x04, 0x5C, 0x02, 0x7F, 0x71, 0x00};

	/* give the file a key so that it has some body */
	vc = open_card(path);
	CU_ASSERT_EQUAL(tx(vc, "0020008006323436383130", &r), 0x9000);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0xE0, 0x00, 0x00, key_fcp, sizeof(key_fcp), -1, &r),
			0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0047000008AC06800106830181", &r), 0x9000);
	vcard_free(vc);

	data = test_read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_FATAL(len > 600);
	copy = malloc(len + 1);
	{
		const size_t offs[] = {0,  3,	7,	 8,	   11,	     12,       15,     16,
				       40, 100, len / 2, len - 40, len - 33, len - 32, len - 1};

		for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			memcpy(copy, data, len);
			copy[offs[i]] ^= 0x04;
			expect_refused(bad, copy, len);
		}
	}
	/* truncated, extended, empty, foreign */
	expect_refused(bad, data, len - 1);
	expect_refused(bad, data, len / 2);
	expect_refused(bad, data, 16);
	expect_refused(bad, data, 5);
	expect_refused(bad, data, 0);
	memcpy(copy, data, len);
	copy[len] = 0;
	expect_refused(bad, copy, len + 1);
	expect_refused(bad, (const uint8_t *)"[card]\npin = 1234\n", 18);
	/* a newer format version with a correct checksum: refused by version */
	{
		unsigned int n = 0;

		memcpy(copy, data, len);
		copy[11] = 3;
		EVP_Digest(copy, len - 32, copy + len - 32, &n, EVP_sha256(), NULL);
		expect_refused(bad, copy, len);
		CU_ASSERT(strstr(mdp_err_last(), "version 3") != NULL);
	}
	/* a file damaged under an open handle: the card answers 6581, nothing is half-loaded */
	vc = open_card(path);
	memcpy(copy, data, len);
	copy[len / 2] ^= 0x10;
	{
		char *tmp = card_path("swap.tmp");

		CU_ASSERT(write_file(tmp, copy, len));
		CU_ASSERT_EQUAL(rename(tmp, path), 0);
		free(tmp);
	}
	CU_ASSERT_EQUAL(vcard_transmit(vc, apdu, sizeof(apdu), resp, &rl), MDP_ERR_STATE);
	CU_ASSERT(rl == 2 && resp[0] == 0x65 && resp[1] == 0x81);
	/* repaired: the handle picks the file up again */
	CU_ASSERT(write_file(path, data, len));
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	/* the file vanished */
	CU_ASSERT_EQUAL(unlink(path), 0);
	CU_ASSERT_EQUAL(vcard_transmit(vc, apdu, sizeof(apdu), resp, &rl), MDP_ERR_NOT_FOUND);
	CU_ASSERT(rl == 2 && resp[0] == 0x65 && resp[1] == 0x81);
	vcard_free(vc);
	free(copy);
	free(data);
	free(bad);
	free(path);
}

static void
test_two_handles(void)
{
	char *path = new_card_file("shared.card");
	struct vcard *a = open_card(path), *b = open_card(path);
	struct rapdu r;
	unsigned i;
	char cmd[64];

	CU_ASSERT_EQUAL(tx(a, "0020008006323436383130", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(b, "0020008006323436383130", &r), 0x9000);
	for (i = 0; i < 10; i++) {
		snprintf(cmd, sizeof(cmd), "00DBA01004DF%02X01%02X", 0x30 + i, i);
		CU_ASSERT_EQUAL(tx(a, cmd, &r), 0x9000);
		snprintf(cmd, sizeof(cmd), "00DBA01004DF%02X01%02X", 0x50 + i, i);
		CU_ASSERT_EQUAL(tx(b, cmd, &r), 0x9000);
	}
	for (i = 0; i < 10; i++) {
		snprintf(cmd, sizeof(cmd), "00CBA010045C02DF%02X00", 0x50 + i);
		CU_ASSERT_EQUAL(tx(a, cmd, &r), 0x9000);
		snprintf(cmd, sizeof(cmd), "00CBA010045C02DF%02X00", 0x30 + i);
		CU_ASSERT_EQUAL(tx(b, cmd, &r), 0x9000);
	}
	/* a key made by one handle is used by the other */
	CU_ASSERT_EQUAL(tx_chunk(a, 0x00, 0xE0, 0x00, 0x00, key_fcp, sizeof(key_fcp), -1, &r),
			0x9000);
	CU_ASSERT_EQUAL(tx(a, "00440000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(a, "0047000008AC06800106830181", &r), 0x9000);
	CU_ASSERT_EQUAL(sign_81(b), 128);
	CU_ASSERT_EQUAL(sign_81(a), 128);
	/* the retry counter is shared */
	CU_ASSERT_EQUAL(tx(a, "0020008006313131313131", &r), 0x63C2);
	CU_ASSERT_EQUAL(tx(b, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701029301 03");
	CU_ASSERT_EQUAL(tx(b, "0020008006313131313131", &r), 0x63C1);
	CU_ASSERT_EQUAL(tx(a, "0020008006323436383130", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(b, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701039301 03");
	/* a failed VERIFY ended b's PIN state; a deletion is seen by a */
	CU_ASSERT_EQUAL(tx(b, "00A4000C02B081", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(b, "00E40000", &r), 0x6982);
	CU_ASSERT_EQUAL(tx(b, "0020008006323436383130", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(b, "00E40000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(a, "002241B606800156840181", &r), 0x6A88);
	vcard_free(a);
	vcard_free(b);
	free(path);
}

/* Two processes writing at once: no change is lost (the file lock). */
static void
test_two_processes(void)
{
	char *path = new_card_file("race.card");
	struct vcard *vc = NULL;
	struct rapdu r;
	pid_t pid;
	int status = -1, round;
	unsigned i;
	char cmd[64];

	for (round = 0; round < 2; round++) {
		unsigned base = round ? 0x10 : 0x60;

		if (round == 0) {
			pid = fork();
			CU_ASSERT_FATAL(pid >= 0);
			if (pid == 0) {
				int bad = 0;

				vc = NULL;
				if (vcard_open(path, NULL, &vc) != MDP_OK)
					_exit(2);
				bad |= tx(vc, "0020008006323436383130", &r) != 0x9000;
				for (i = 0; i < 25; i++) {
					snprintf(cmd, sizeof(cmd), "00DBA01004DF%02X01%02X",
						 0x30 + i, i);
					bad |= tx(vc, cmd, &r) != 0x9000;
				}
				vcard_free(vc);
				free(path);
				_exit(bad);
			}
		}
		vc = open_card(path);
		CU_ASSERT_EQUAL(tx(vc, "0020008006323436383130", &r), 0x9000);
		for (i = 0; i < 25; i++) {
			snprintf(cmd, sizeof(cmd), "00DBA01004DF%02X01%02X", base + i, i);
			CU_ASSERT_EQUAL(tx(vc, cmd, &r), 0x9000);
		}
		vcard_free(vc);
		if (round == 0) {
			CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
			CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
	}
	vc = open_card(path);
	CU_ASSERT_EQUAL(tx(vc, "0020008006323436383130", &r), 0x9000);
	for (i = 0; i < 25; i++) {
		snprintf(cmd, sizeof(cmd), "00CBA010045C02DF%02X00", 0x30 + i);
		CU_ASSERT_EQUAL(tx(vc, cmd, &r), 0x9000);
		snprintf(cmd, sizeof(cmd), "00CBA010045C02DF%02X00", 0x60 + i);
		CU_ASSERT_EQUAL(tx(vc, cmd, &r), 0x9000);
		snprintf(cmd, sizeof(cmd), "00CBA010045C02DF%02X00", 0x10 + i);
		CU_ASSERT_EQUAL(tx(vc, cmd, &r), 0x9000);
	}
	vcard_free(vc);
	free(path);
}

/*
 * A state file that cannot be written: 6581, the previous state kept, and a
 * VERIFY whose counter cannot be saved never compares the PIN. Run in a child
 * because it lowers RLIMIT_FSIZE.
 */
static void
test_write_failure(void)
{
	char *path = new_card_file("full.card");
	pid_t pid;
	int status = -1;

	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct vcard *vc = NULL;
		struct rapdu r;
		struct rlimit rl = {.rlim_cur = 64, .rlim_max = RLIM_INFINITY};
		uint8_t resp[VCARD_MAX_RESPONSE];
		size_t n = 0;
		static const uint8_t put[] = {0x00, 0xDB, 0xA0, 0x10, 0x04, 0xDF, 0x24, 0x01, 0x55};
		static const uint8_t verify[] = {0x00, 0x20, 0x00, 0x80, 0x06, '2',
						 '4',  '6',  '8',  '1',	 '3',  '0'};

		int logp[2];
		char log[4096];
		ssize_t got;

		signal(SIGXFSZ, SIG_IGN);
		if (vcard_open(path, NULL, &vc) != MDP_OK)
			_exit(10);
		/* the engine's debug log goes to a pipe (RLIMIT_FSIZE does not apply to it) */
		if (pipe(logp) != 0 || fcntl(logp[0], F_SETFL, O_NONBLOCK) != 0 ||
		    dup2(logp[1], 2) < 0 || mdp_log_configure("debug:vcard", NULL) != 0)
			_exit(20);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(11);
		if (vcard_transmit(vc, verify, sizeof(verify), resp, &n) != MDP_ERR_IO || n != 2 ||
		    resp[0] != 0x65 || resp[1] != 0x81)
			_exit(12);
		/* the counter could not be saved: the PIN was never compared */
		got = read(logp[0], log, sizeof(log) - 1);
		log[got > 0 ? got : 0] = '\0';
		if (!strstr(log, "00 20 00 80") || strstr(log, "comparing the user PIN"))
			_exit(21);
		/* not verified: PUT still refused, counter unchanged */
		if (tx(vc, "00200080", &r) != 0x63C3)
			_exit(13);
		rl.rlim_cur = RLIM_INFINITY;
		setrlimit(RLIMIT_FSIZE, &rl);
		if (tx(vc, "0020008006323436383130", &r) != 0x9000)
			_exit(14);
		/* with a writable file the comparison comes after the save */
		got = read(logp[0], log, sizeof(log) - 1);
		log[got > 0 ? got : 0] = '\0';
		if (!strstr(log, "comparing the user PIN (2 tries left if wrong)"))
			_exit(22);
		mdp_log_shutdown();
		rl.rlim_cur = 64;
		setrlimit(RLIMIT_FSIZE, &rl);
		if (vcard_transmit(vc, put, sizeof(put), resp, &n) != MDP_ERR_IO || n != 2 ||
		    resp[0] != 0x65 || resp[1] != 0x81)
			_exit(15);
		/* rolled back: the DO is not there, the card goes on */
		if (tx(vc, "00CBA010045C02DF2400", &r) != 0x6A88)
			_exit(16);
		if (tx(vc, "00200080", &r) != 0x9000)
			_exit(17);
		vcard_free(vc);
		free(path);
		_exit(0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	free(path);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * The PIN key comes from a slow KDF: a card created without MDP11_VCARD_KDF_COST
 * records scrypt N = 2^15 (32 MiB), and every PIN comparison, right or wrong,
 * pays for it (more than 10 ms on any machine; a cheap cost takes well under).
 */
static void
test_kdf_cost(void)
{
	struct vcard_init_params p = {.pin = "246810", .admin_key = admin_key};
	char *path = card_path("slow.card");
	struct vcard *vc = NULL;
	struct vcard_info info;
	struct timespec t0;
	struct rapdu r;

	unsetenv("MDP11_VCARD_KDF_COST");
	CU_ASSERT_EQUAL_FATAL(vcard_create(path, &p), MDP_OK);
	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	vc = open_card(path);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.kdf_cost, 15);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313131313131", &r), 0x63C2);
	CU_ASSERT(ms_since(&t0) > 10.0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(tx(vc, "0020008006323436383130", &r), 0x9000);
	CU_ASSERT(ms_since(&t0) > 10.0);
	vcard_free(vc);
	free(path);
	/* the cost is the one recorded at creation, whatever the environment says now */
	path = new_card_file("cheap.card");
	vc = open_card(path);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.kdf_cost, 4);
	vcard_free(vc);
	free(path);
}

/* Is the big-endian value of an RSA part of key anywhere in the file? */
static bool
part_in_file(EVP_PKEY *key, const char *name, const uint8_t *file, size_t flen)
{
	BIGNUM *bn = NULL;
	uint8_t v[256];
	int n;
	bool found;

	if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
		return true;
	n = BN_bn2bin(bn, v);
	BN_clear_free(bn);
	found = n > 0 && memmem(file, flen, v, (size_t)n) != NULL;
	OPENSSL_cleanse(v, sizeof(v));
	return found;
}

/*
 * Private keys are never in the state file in clear (sealed under the card
 * key), neither after an import nor after a PIN change; the public modulus
 * is there (the check can see what it looks for).
 */
static void
test_keys_sealed(void)
{
	static const char *const secret[] = {
		OSSL_PKEY_PARAM_RSA_D,	       OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
	char *path = new_card_file("sealed.card");
	struct vcard *vc = open_card(path);
	EVP_PKEY *key = EVP_RSA_gen(1024);
	uint8_t *der = NULL, *out = NULL, *file = NULL, kid = 0x81;
	int der_len;
	size_t out_len = 0, flen = 0, i, m70, ma5;
	struct mdp_buf b;
	struct rapdu r;
	int pass;

	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	der_len = i2d_PrivateKey(key, &der); /* RSAPrivateKey: the 9 INTEGERs of §8.5 */
	CU_ASSERT_FATAL(der_len > 0);
	CU_ASSERT_EQUAL(tx(vc, "0020008006323436383130", &r), 0x9000);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0xE0, 0x00, 0x00, key_fcp, sizeof(key_fcp), -1, &r),
			0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00440000", &r), 0x9000);
	buf_init(&b);
	m70 = buf_tlv_open(&b, 0x70);
	buf_put_tlv(&b, 0x84, &kid, 1);
	ma5 = buf_tlv_open(&b, 0xA5);
	buf_put_tlv(&b, 0x83, "\x02", 1);
	buf_put_tlv(&b, 0x84, "\x00", 1);
	buf_put_tlv(&b, 0x87, der, (size_t)der_len);
	buf_tlv_close(&b, ma5);
	buf_tlv_close(&b, m70);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xDB, 0x3F, 0xFF, b.data, b.len, &out, &out_len), 0x9000);
	free(out);
	CU_ASSERT_EQUAL(sign_81(vc), 128);
	for (pass = 0; pass < 2; pass++) {
		file = test_read_file(path, &flen);
		CU_ASSERT_PTR_NOT_NULL_FATAL(file);
		CU_ASSERT_TRUE(part_in_file(key, OSSL_PKEY_PARAM_RSA_N, file, flen));
		for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
			CU_ASSERT_FALSE(part_in_file(key, secret[i], file, flen));
		CU_ASSERT_PTR_NULL(memmem(file, flen, der, (size_t)der_len));
		free(file);
		/* change the PIN (old || new), then look again */
		if (pass == 0)
			CU_ASSERT_EQUAL(tx(vc, "002400800C323436383130313335373931", &r), 0x9000);
	}
	vcard_free(vc);
	/* the key still works with the new PIN after a reload */
	vc = open_card(path);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313335373931", &r), 0x9000);
	CU_ASSERT_EQUAL(sign_81(vc), 128);
	vcard_free(vc);
	buf_free(&b);
	OPENSSL_clear_free(der, (size_t)der_len);
	EVP_PKEY_free(key);
	free(path);
}

static CU_TestInfo state_tests[] = {
	{"create, reload, retry counter persists", test_create_reload},
	{"blank card file initialized by APDUs", test_blank_file},
	{"damaged, truncated and foreign files refused", test_damaged},
	{"two handles on one file", test_two_handles},
	{"two processes writing at once", test_two_processes},
	{"write failure answers 6581 and rolls back", test_write_failure},
	{"slow PIN KDF by default", test_kdf_cost},
	{"private keys sealed in the file", test_keys_sealed},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"state file", setup, teardown, NULL, NULL, state_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-vcard-state", suites);
}
