/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the CUnit test programs. */
#ifndef MDP11_TESTS_TESTUTIL_H
#define MDP11_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

/*
 * Register the suites, run them (basic interface, verbose), and return the
 * process exit code: 0 when every assertion passed, 1 otherwise (never the
 * failure count), 77 when skip_reason is set by the program before running.
 */
int test_run(const char *program, CU_SuiteInfo *suites);

/* Absolute path of a file under tests/data (MDP11_TEST_DATA or the source tree). */
char *test_data_path(const char *rel);
/*
 * Load tests/data/vectors/<name>.wine.hex: '#' lines skipped, hex decoded.
 * Fails the current test (and returns NULL) if the file is missing or bad.
 */
uint8_t *test_load_vector(const char *name, size_t *len);
/* Read a whole file; NULL if it cannot be read. */
uint8_t *test_read_file(const char *path, size_t *len);
/* Do the len bytes of needle occur in the file (false when it cannot be read)? */
int test_file_has(const char *path, const uint8_t *needle, size_t len);
/* A fresh private temporary directory (removed by test_rmtree). */
char *test_tmpdir(void);
void test_rmtree(const char *path);

#define CU_ASSERT_MEM_EQUAL(a, b, n) CU_ASSERT(memcmp((a), (b), (n)) == 0)

#endif
