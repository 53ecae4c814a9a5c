# SPDX-License-Identifier: LGPL-2.1-or-later
# The BLOB translator: CAPI/CNG key blobs, PKCS#8, SPKI, PEM <-> EVP_PKEY.
noinst_LTLIBRARIES += libmdp11blob.la
EXTRA_libmdp11blob_la_DEPENDENCIES = $(MDP11_LAYER_DEPS)
libmdp11blob_la_SOURCES = \
	src/blob/blob.c src/blob/blob.h src/blob/internal.h \
	src/blob/key.c \
	src/blob/capi.c \
	src/blob/cng.c \
	src/blob/der.c
libmdp11blob_la_CFLAGS = $(AM_CFLAGS) -fPIC
libmdp11blob_la_LIBADD = $(CRYPTO_LIBS)

check_PROGRAMS += tests/unit/test-blob
TESTS += tests/unit/test-blob
tests_unit_test_blob_SOURCES = tests/unit/test-blob.c
tests_unit_test_blob_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_blob_LDADD = $(MDP11_LIBS_BLOB) $(TEST_LIBS)

# Fuzz target over blob_parse. With --enable-fuzzing (clang, see tests/fuzz/build-fuzz.sh) it is
# a libFuzzer binary; otherwise tests/fuzz/replay-main.c replays its corpus in make check.
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-blob
tests_fuzz_fuzz_blob_SOURCES = tests/fuzz/fuzz-blob.c
tests_fuzz_fuzz_blob_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_blob_LDFLAGS = -fsanitize=fuzzer
else
check_PROGRAMS += tests/fuzz/fuzz-blob
TESTS += tests/fuzz/fuzz-blob
tests_fuzz_fuzz_blob_SOURCES = tests/fuzz/fuzz-blob.c tests/fuzz/replay-main.c
tests_fuzz_fuzz_blob_CFLAGS = $(AM_CFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/blob\"
endif
tests_fuzz_fuzz_blob_LDADD = $(MDP11_LIBS_BLOB)
EXTRA_DIST += tests/fuzz/corpus/blob tests/fuzz/replay-main.c tests/fuzz/build-fuzz.sh
