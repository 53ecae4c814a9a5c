# SPDX-License-Identifier: LGPL-2.1-or-later
# The virtual card engine (GIDS, spec/gids.md §13; PIV, spec/piv.md §10), its unit tests and fuzz
# target.
noinst_LTLIBRARIES += libmdp11vcard.la
EXTRA_libmdp11vcard_la_DEPENDENCIES = $(MDP11_LAYER_DEPS)
libmdp11vcard_la_SOURCES = \
	src/vcard/vcard.c src/vcard/vcard.h \
	src/vcard/vcard-int.h \
	src/vcard/vcard-auth.c \
	src/vcard/vcard-crypt.c \
	src/vcard/vcard-file.c \
	src/vcard/vcard-fs.c \
	src/vcard/vcard-keep.c \
	src/vcard/vcard-keys.c \
	src/vcard/vcard-seal.c \
	src/vcard/vcard-state.c \
	src/vcard/vcard-tpm.c \
	src/vcard/piv.c src/vcard/piv-int.h \
	src/vcard/piv-keys.c \
	src/vcard/piv-state.c
libmdp11vcard_la_CFLAGS = $(AM_CFLAGS) $(TSS2_CFLAGS) -fPIC
libmdp11vcard_la_LIBADD = $(CRYPTO_LIBS) $(TSS2_LIBS)

check_PROGRAMS += tests/unit/test-vcard
TESTS += tests/unit/test-vcard
tests_unit_test_vcard_SOURCES = tests/unit/test-vcard.c \
	tests/unit/vcard-testlib.c tests/unit/vcard-testlib.h
tests_unit_test_vcard_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_vcard_LDADD = $(MDP11_LIBS_VCARD) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-vcard-keys
TESTS += tests/unit/test-vcard-keys
tests_unit_test_vcard_keys_SOURCES = tests/unit/test-vcard-keys.c \
	tests/unit/vcard-testlib.c tests/unit/vcard-testlib.h
tests_unit_test_vcard_keys_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_vcard_keys_LDADD = $(MDP11_LIBS_VCARD) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-vcard-state
TESTS += tests/unit/test-vcard-state
tests_unit_test_vcard_state_SOURCES = tests/unit/test-vcard-state.c \
	tests/unit/vcard-testlib.c tests/unit/vcard-testlib.h
tests_unit_test_vcard_state_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_vcard_state_LDADD = $(MDP11_LIBS_VCARD) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-vcard-seal
TESTS += tests/unit/test-vcard-seal
tests_unit_test_vcard_seal_SOURCES = tests/unit/test-vcard-seal.c \
	tests/unit/vcard-testlib.c tests/unit/vcard-testlib.h
tests_unit_test_vcard_seal_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_vcard_seal_LDADD = $(MDP11_LIBS_VCARD) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-vcard-piv
TESTS += tests/unit/test-vcard-piv
tests_unit_test_vcard_piv_SOURCES = tests/unit/test-vcard-piv.c \
	tests/unit/vcard-testlib.c tests/unit/vcard-testlib.h
tests_unit_test_vcard_piv_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_vcard_piv_LDADD = $(MDP11_LIBS_VCARD) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-vcard-piv-state
TESTS += tests/unit/test-vcard-piv-state
tests_unit_test_vcard_piv_state_SOURCES = tests/unit/test-vcard-piv-state.c \
	tests/unit/vcard-testlib.c tests/unit/vcard-testlib.h
tests_unit_test_vcard_piv_state_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_vcard_piv_state_LDADD = $(MDP11_LIBS_VCARD) $(TEST_LIBS)

# Fuzz target over vcard_transmit. With --enable-fuzzing (clang, see tests/fuzz/build-fuzz.sh) it
# is a libFuzzer binary; otherwise tests/fuzz/replay-main.c replays its corpus in make check.
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-vcard
tests_fuzz_fuzz_vcard_SOURCES = tests/fuzz/fuzz-vcard.c
tests_fuzz_fuzz_vcard_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_vcard_LDFLAGS = -fsanitize=fuzzer
else
check_PROGRAMS += tests/fuzz/fuzz-vcard
TESTS += tests/fuzz/fuzz-vcard
tests_fuzz_fuzz_vcard_SOURCES = tests/fuzz/fuzz-vcard.c tests/fuzz/replay-main.c
tests_fuzz_fuzz_vcard_CFLAGS = $(AM_CFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/vcard\"
endif
tests_fuzz_fuzz_vcard_LDADD = $(MDP11_LIBS_VCARD) $(CRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/vcard
