# SPDX-License-Identifier: LGPL-2.1-or-later
noinst_LTLIBRARIES += libmdp11common.la
EXTRA_libmdp11common_la_DEPENDENCIES = $(MDP11_LAYER_DEPS)
libmdp11common_la_SOURCES = \
	src/common/error.c src/common/error.h \
	src/common/log.c src/common/log.h \
	src/common/bytes.c src/common/bytes.h \
	src/common/secmem.c src/common/secmem.h \
	src/common/conf.c src/common/conf.h \
	src/common/ossl.c src/common/ossl.h \
	src/common/hash.c src/common/hash.h \
	src/common/pad.c src/common/pad.h
libmdp11common_la_CFLAGS = $(AM_CFLAGS) -fPIC
libmdp11common_la_LIBADD = $(CRYPTO_LIBS)

check_PROGRAMS += tests/unit/test-common
TESTS += tests/unit/test-common
tests_unit_test_common_SOURCES = tests/unit/test-common.c
tests_unit_test_common_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_common_LDADD = $(MDP11_LIBS_COMMON) $(TEST_LIBS)

# The hash table and the RSA padding module (hash.c, pad.c).
check_PROGRAMS += tests/unit/test-pad
TESTS += tests/unit/test-pad
tests_unit_test_pad_SOURCES = tests/unit/test-pad.c
tests_unit_test_pad_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_pad_LDADD = $(MDP11_LIBS_COMMON) $(TEST_LIBS)

# Constant-time unpadding: pad-ct.sh runs pad-ct-probe under valgrind with the plaintext marked
# undefined (issue #10 item 9, docs/testing.md).
check_PROGRAMS += tests/unit/pad-ct-probe
tests_unit_pad_ct_probe_SOURCES = tests/unit/pad-ct-probe.c
tests_unit_pad_ct_probe_LDADD = $(MDP11_LIBS_COMMON)
TESTS += tests/unit/pad-ct.sh
EXTRA_DIST += tests/unit/pad-ct.sh

# Fuzz targets over the configuration parser and the cursor/TLV reader. With --enable-fuzzing
# (clang, see tests/fuzz/build-fuzz.sh) they are libFuzzer binaries; otherwise
# tests/fuzz/replay-main.c replays their seed corpus in make check.
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-config tests/fuzz/fuzz-tlv
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_config_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_tlv_SOURCES = tests/fuzz/fuzz-tlv.c
tests_fuzz_fuzz_tlv_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_tlv_LDFLAGS = -fsanitize=fuzzer
else
check_PROGRAMS += tests/fuzz/fuzz-config tests/fuzz/fuzz-tlv
TESTS += tests/fuzz/fuzz-config tests/fuzz/fuzz-tlv
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c tests/fuzz/replay-main.c
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/config\"
tests_fuzz_fuzz_tlv_SOURCES = tests/fuzz/fuzz-tlv.c tests/fuzz/replay-main.c
tests_fuzz_fuzz_tlv_CFLAGS = $(AM_CFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/tlv\"
endif
tests_fuzz_fuzz_config_LDADD = $(MDP11_LIBS_COMMON)
tests_fuzz_fuzz_tlv_LDADD = $(MDP11_LIBS_COMMON)
EXTRA_DIST += tests/fuzz/corpus/config tests/fuzz/corpus/tlv
