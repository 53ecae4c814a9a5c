# SPDX-License-Identifier: LGPL-2.1-or-later
# The host role (Windows' Base CSP / KSP on top of a card module): libmdp11ksp.la, between the
# PKCS#11 module and the card modules (minidriver/).

noinst_LTLIBRARIES += libmdp11ksp.la
EXTRA_libmdp11ksp_la_DEPENDENCIES = $(MDP11_LAYER_DEPS)
libmdp11ksp_la_SOURCES = \
	ksp/ksp.c ksp/ksp.h ksp/ksp-int.h \
	ksp/ksp-load.c ksp/ksp-view.c ksp/ksp-change.c ksp/ksp-objects.c \
	ksp/ksp-crypto.c ksp/ksp-pin.c ksp/ksp-link.c ksp/ksp-format.c ksp/ksp-cache.c
libmdp11ksp_la_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS) -fPIC
libmdp11ksp_la_LIBADD = $(ZLIB_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += docs/ksp.md

check_PROGRAMS += tests/unit/test-ksp
TESTS += tests/unit/test-ksp
tests_unit_test_ksp_SOURCES = tests/unit/test-ksp.c
tests_unit_test_ksp_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ksp_LDADD = $(MDP11_LIBS_KSP) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-ksp-card
TESTS += tests/unit/test-ksp-card
tests_unit_test_ksp_card_SOURCES = tests/unit/test-ksp-card.c
tests_unit_test_ksp_card_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ksp_card_LDADD = $(MDP11_LIBS_KSP) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-ksp-piv
TESTS += tests/unit/test-ksp-piv
tests_unit_test_ksp_piv_SOURCES = tests/unit/test-ksp-piv.c \
	tests/unit/testcrypto.c tests/unit/testcrypto.h
tests_unit_test_ksp_piv_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ksp_piv_LDADD = $(MDP11_LIBS_KSP) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-ksp-link
TESTS += tests/unit/test-ksp-link
tests_unit_test_ksp_link_SOURCES = tests/unit/test-ksp-link.c
tests_unit_test_ksp_link_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ksp_link_LDADD = $(MDP11_LIBS_KSP) $(TEST_LIBS)

# A card laid out by the host role, used by OpenSC and changed by it (tests/integration/lib-pcsc.sh).
check_PROGRAMS += tests/integration/ksp-probe
tests_integration_ksp_probe_SOURCES = tests/integration/ksp-probe.c
tests_integration_ksp_probe_LDADD = $(MDP11_LIBS_KSP)
TESTS += tests/integration/ksp-opensc-interop.sh
EXTRA_DIST += tests/integration/ksp-opensc-interop.sh
