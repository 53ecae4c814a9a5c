# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared test helpers: CUnit runner, test-vector loader.
check_LTLIBRARIES = libmdp11testutil.la
EXTRA_libmdp11testutil_la_DEPENDENCIES = $(MDP11_LAYER_DEPS)
libmdp11testutil_la_SOURCES = tests/unit/testutil.c tests/unit/testutil.h
libmdp11testutil_la_CFLAGS = $(TEST_CFLAGS) -DTEST_SRCDIR=\"$(abs_top_srcdir)\"
libmdp11testutil_la_LIBADD = $(CUNIT_LIBS)

EXTRA_DIST += tests/data

# The layering test: includes and calls follow the table of allowed directions (CONTRIBUTING.md).
TESTS += tests/layering.py
EXTRA_DIST += tests/layering.py

# configure names the Debian package of a missing dependency.
TESTS += tests/integration/configure-deps.sh
EXTRA_DIST += tests/integration/configure-deps.sh

# With --enable-asan the shell tests run their programs with the ASan runtime preloaded, since
# uninstrumented programs (pkcs11-tool, certutil...) load the instrumented module (see the file).
if ASAN
AM_SH_LOG_FLAGS = $(top_srcdir)/tests/integration/asan-run.sh
endif
EXTRA_DIST += tests/integration/asan-run.sh
