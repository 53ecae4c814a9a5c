# SPDX-License-Identifier: LGPL-2.1-or-later
noinst_LTLIBRARIES += libmdp11common.la
libmdp11common_la_SOURCES = \
	src/common/error.c src/common/error.h \
	src/common/log.c src/common/log.h \
	src/common/bytes.c src/common/bytes.h \
	src/common/secmem.c src/common/secmem.h \
	src/common/conf.c src/common/conf.h \
	src/common/ossl.c src/common/ossl.h
libmdp11common_la_CFLAGS = $(AM_CFLAGS) -fPIC
libmdp11common_la_LIBADD = $(CRYPTO_LIBS)

check_PROGRAMS += tests/unit/test-common
TESTS += tests/unit/test-common
tests_unit_test_common_SOURCES = tests/unit/test-common.c
tests_unit_test_common_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_common_LDADD = libmdp11common.la $(TEST_LIBS)
