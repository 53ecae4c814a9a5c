/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Plain main() for libFuzzer targets: replays corpus files so make check runs them without clang.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * Any fuzz target (tests/fuzz/fuzz-*.c) defines LLVMFuzzerTestOneInput; linked with this file
 * instead of libFuzzer it becomes a program that feeds it every regular file of the directories
 * and files named on the command line, or, with no arguments, of FUZZ_CORPUS_DIR (set per
 * target by its build rule). A crash or sanitizer report fails the run; so does an empty corpus.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (4u * 1024 * 1024)

static int
replay_file(const char *path, unsigned *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len;

	if (f == NULL) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return -1;
	}
	buf = malloc(REPLAY_MAX_INPUT);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	len = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	/* An exact-size copy, so that AddressSanitizer sees any read past the end. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (exact == NULL) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	(*count)++;
	return 0;
}

static int
replay_path(const char *path, unsigned *count)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char *child;
	int rv = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: not found\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, count);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && rv == 0) {
		if (e->d_name[0] == '.')
			continue;
		child = malloc(strlen(path) + strlen(e->d_name) + 2);
		if (child == NULL) {
			rv = -1;
			break;
		}
		sprintf(child, "%s/%s", path, e->d_name);
		if (stat(child, &st) == 0 && S_ISREG(st.st_mode))
			rv = replay_file(child, count);
		free(child);
	}
	closedir(d);
	return rv;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	int i;

#ifdef FUZZ_CORPUS_DIR
	if (argc < 2) {
		if (replay_path(FUZZ_CORPUS_DIR, &count) != 0)
			return 1;
	}
#endif
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) != 0)
			return 1;
	printf("replayed %u inputs\n", count);
	return count > 0 ? 0 : 1;
}
