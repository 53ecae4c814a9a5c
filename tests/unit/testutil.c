/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CUnit runner and test-data helpers. */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "common/bytes.h"
#include "tests/unit/testutil.h"

int
test_run(const char *program, CU_SuiteInfo *suites)
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "%s: %s\n", program, CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

char *
test_data_path(const char *rel)
{
	const char *base = getenv("MDP11_TEST_DATA");
	char *p;
	size_t n;

	if (!base)
		base = TEST_SRCDIR "/tests/data";
	n = strlen(base) + strlen(rel) + 2;
	p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", base, rel);
	return p;
}

uint8_t *
test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long sz;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)sz + 1);
		if (data && fread(data, 1, (size_t)sz, f) != (size_t)sz) {
			free(data);
			data = NULL;
		} else if (data) {
			data[sz] = '\0';
			*len = (size_t)sz;
		}
	}
	fclose(f);
	return data;
}

uint8_t *
test_load_vector(const char *name, size_t *len)
{
	char rel[256];
	char *path, *text, *line, *next;
	size_t tlen = 0;
	uint8_t *out = NULL;
	long n;
	size_t total = 0;

	snprintf(rel, sizeof(rel), "vectors/%s.wine.hex", name);
	path = test_data_path(rel);
	text = path ? (char *)test_read_file(path, &tlen) : NULL;
	free(path);
	if (!text) {
		CU_FAIL("test vector missing");
		return NULL;
	}
	out = malloc(tlen / 2 + 1);
	for (line = text; out && line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '#')
			continue;
		n = mdp_hex_decode(line, out + total, tlen / 2 + 1 - total);
		if (n < 0) {
			free(out);
			out = NULL;
			break;
		}
		total += (size_t)n;
	}
	free(text);
	if (!out) {
		CU_FAIL("test vector unreadable");
		return NULL;
	}
	*len = total;
	return out;
}

char *
test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *t;
	size_t n;

	if (!base)
		base = "/tmp";
	n = strlen(base) + 32;
	t = malloc(n);
	if (!t)
		return NULL;
	snprintf(t, n, "%s/mdp11-test-XXXXXX", base);
	if (!mkdtemp(t)) {
		free(t);
		return NULL;
	}
	return t;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void
test_rmtree(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
test_file_has(const char *path, const uint8_t *needle, size_t len)
{
	size_t n = 0, i;
	uint8_t *data = test_read_file(path, &n);
	int found = 0;

	for (i = 0; data && len && i + len <= n && !found; i++)
		found = memcmp(data + i, needle, len) == 0;
	free(data);
	return found;
}
