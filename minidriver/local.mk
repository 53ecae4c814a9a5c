# SPDX-License-Identifier: LGPL-2.1-or-later
# The card-module layer: the card-module interface (minidriver/card.h, include/mdp11/card-module.h),
# the registry and the card modules (GIDS).

mdp11include_HEADERS += include/mdp11/card-module.h include/mdp11/keyspec.h
EXTRA_DIST += minidriver/card.h
noinst_LTLIBRARIES += libmdp11minidriver.la
EXTRA_libmdp11minidriver_la_DEPENDENCIES = $(MDP11_LAYER_DEPS)
libmdp11minidriver_la_SOURCES = \
	minidriver/card.c minidriver/card.h minidriver/card-int.h minidriver/card-props.c \
	minidriver/registry.c \
	minidriver/agreement.c minidriver/agreement.h \
	minidriver/card-gids.c minidriver/gids-int.h minidriver/gids-fs.c minidriver/gids-keys.c \
	minidriver/gids-auth.c minidriver/gids-crypto.c \
	minidriver/piv.h minidriver/piv-format.c \
	minidriver/card-piv.h minidriver/card-piv.c minidriver/card-piv-auth.c \
	minidriver/card-piv-view.c minidriver/card-piv-fs.c minidriver/card-piv-keys.c
libmdp11minidriver_la_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS) -fPIC
libmdp11minidriver_la_LIBADD = $(CRYPTO_LIBS) $(ZLIB_LIBS)

check_PROGRAMS += tests/unit/test-agreement
TESTS += tests/unit/test-agreement
tests_unit_test_agreement_SOURCES = tests/unit/test-agreement.c
tests_unit_test_agreement_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_agreement_LDADD = $(MDP11_LIBS_MINIDRIVER) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-card-hostile
TESTS += tests/unit/test-card-hostile
tests_unit_test_card_hostile_SOURCES = tests/unit/test-card-hostile.c \
	tests/mock/hostile.c tests/mock/hostile.h \
	tests/mock/mock-transport.c tests/mock/mock-transport.h \
	tests/mock/card-ops.c tests/mock/card-ops.h
tests_unit_test_card_hostile_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_card_hostile_LDADD = $(MDP11_LIBS_MINIDRIVER) $(TEST_LIBS)

# A small external card module for tests/unit/test-card-registry (never installed).
noinst_LTLIBRARIES += mdp11-test-plugin.la mdp11-test-plugin-v2.la
mdp11_test_plugin_la_SOURCES = tests/plugin/scripted-card.c
mdp11_test_plugin_la_CFLAGS = $(AM_CFLAGS)
mdp11_test_plugin_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
mdp11_test_plugin_v2_la_SOURCES = tests/plugin/scripted-card.c
mdp11_test_plugin_v2_la_CFLAGS = $(AM_CFLAGS) -DPLUGIN_INTERFACE=2
mdp11_test_plugin_v2_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

check_PROGRAMS += tests/unit/test-card-registry
TESTS += tests/unit/test-card-registry
tests_unit_test_card_registry_SOURCES = tests/unit/test-card-registry.c \
	tests/mock/mock-transport.c tests/mock/mock-transport.h
tests_unit_test_card_registry_CFLAGS = $(TEST_CFLAGS) \
	-DTEST_PLUGIN=\"$(abs_top_builddir)/.libs/mdp11-test-plugin.so\" \
	-DTEST_PLUGIN_V2=\"$(abs_top_builddir)/.libs/mdp11-test-plugin-v2.so\"
tests_unit_test_card_registry_LDADD = $(MDP11_LIBS_MINIDRIVER) $(TEST_LIBS)
EXTRA_tests_unit_test_card_registry_DEPENDENCIES = mdp11-test-plugin.la mdp11-test-plugin-v2.la

# Drives the card module over a PC/SC reader from the shell tests (not installed).
check_PROGRAMS += tests/integration/md-probe
tests_integration_md_probe_SOURCES = tests/integration/md-probe.c
tests_integration_md_probe_LDADD = $(MDP11_LIBS_MINIDRIVER)

check_PROGRAMS += tests/unit/test-card-gids
TESTS += tests/unit/test-card-gids
tests_unit_test_card_gids_SOURCES = tests/unit/test-card-gids.c \
	tests/unit/testcrypto.c tests/unit/testcrypto.h \
	tests/mock/mock-transport.c tests/mock/mock-transport.h
tests_unit_test_card_gids_CFLAGS = $(TEST_CFLAGS) $(ZLIB_CFLAGS)
tests_unit_test_card_gids_LDADD = $(MDP11_LIBS_MINIDRIVER) $(TEST_LIBS)

# PC/SC link events and OpenSC interop through pcscd + vpcd + mdp11-vcard (tests/integration/lib-pcsc.sh).
TESTS += tests/integration/md-pcsc-events.sh tests/integration/md-opensc-interop.sh \
	tests/integration/md-pcsc-shared.sh
EXTRA_DIST += tests/integration/md-pcsc-events.sh tests/integration/md-opensc-interop.sh \
	tests/integration/md-pcsc-shared.sh

# Fuzz target: the GIDS card module against a card whose answers come from the input (the
# scripted transport and the operation driver of tests/mock/ are shared with test-card-hostile).
FUZZ_GIDS_SOURCES = tests/fuzz/fuzz-gids-answers.c \
	tests/mock/answer-feed.c tests/mock/answer-feed.h \
	tests/mock/mock-transport.c tests/mock/mock-transport.h \
	tests/mock/card-ops.c tests/mock/card-ops.h
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-gids-answers
tests_fuzz_fuzz_gids_answers_SOURCES = $(FUZZ_GIDS_SOURCES)
tests_fuzz_fuzz_gids_answers_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_gids_answers_LDFLAGS = -fsanitize=fuzzer
else
check_PROGRAMS += tests/fuzz/fuzz-gids-answers
TESTS += tests/fuzz/fuzz-gids-answers
tests_fuzz_fuzz_gids_answers_SOURCES = $(FUZZ_GIDS_SOURCES) tests/fuzz/replay-main.c
tests_fuzz_fuzz_gids_answers_CFLAGS = $(AM_CFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/gids-answers\"
endif
tests_fuzz_fuzz_gids_answers_LDADD = $(MDP11_LIBS_MINIDRIVER)
EXTRA_DIST += tests/fuzz/corpus/gids-answers

# The PIV codecs (minidriver/piv-format.c): MSCMAP, CHUID, certificates, chunks, mdp11's store.
check_PROGRAMS += tests/unit/test-piv-format
TESTS += tests/unit/test-piv-format
tests_unit_test_piv_format_SOURCES = tests/unit/test-piv-format.c
tests_unit_test_piv_format_CFLAGS = $(TEST_CFLAGS) $(ZLIB_CFLAGS)
tests_unit_test_piv_format_LDADD = $(MDP11_LIBS_MINIDRIVER) $(TEST_LIBS) $(ZLIB_LIBS)

# The PIV card module against the in-memory virtual PIV card.
check_PROGRAMS += tests/unit/test-card-piv
TESTS += tests/unit/test-card-piv
tests_unit_test_card_piv_SOURCES = tests/unit/test-card-piv.c \
	tests/unit/testcrypto.c tests/unit/testcrypto.h
tests_unit_test_card_piv_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_card_piv_LDADD = $(MDP11_LIBS_MINIDRIVER) $(TEST_LIBS)

# The PIV card module against a hostile card (tests/mock/piv-ops.c answers the PIV SELECT).
check_PROGRAMS += tests/unit/test-card-piv-hostile
TESTS += tests/unit/test-card-piv-hostile
tests_unit_test_card_piv_hostile_SOURCES = tests/unit/test-card-piv-hostile.c \
	tests/mock/hostile.c tests/mock/hostile.h \
	tests/mock/mock-transport.c tests/mock/mock-transport.h \
	tests/mock/card-ops.c tests/mock/card-ops.h tests/mock/piv-ops.c tests/mock/piv-ops.h
tests_unit_test_card_piv_hostile_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_card_piv_hostile_LDADD = $(MDP11_LIBS_MINIDRIVER) $(TEST_LIBS)

# Fuzz target: the PIV card module against a card whose answers come from the input; its
# corpus (sessions recorded from the virtual PIV card, short answers, link events) runs in
# make check.
FUZZ_PIV_SOURCES = tests/fuzz/fuzz-piv-answers.c \
	tests/mock/answer-feed.c tests/mock/answer-feed.h \
	tests/mock/mock-transport.c tests/mock/mock-transport.h \
	tests/mock/card-ops.c tests/mock/card-ops.h tests/mock/piv-ops.c tests/mock/piv-ops.h
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-piv-answers
tests_fuzz_fuzz_piv_answers_SOURCES = $(FUZZ_PIV_SOURCES)
tests_fuzz_fuzz_piv_answers_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_piv_answers_LDFLAGS = -fsanitize=fuzzer
else
check_PROGRAMS += tests/fuzz/fuzz-piv-answers
TESTS += tests/fuzz/fuzz-piv-answers
tests_fuzz_fuzz_piv_answers_SOURCES = $(FUZZ_PIV_SOURCES) tests/fuzz/replay-main.c
tests_fuzz_fuzz_piv_answers_CFLAGS = $(AM_CFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/piv-answers\"
endif
tests_fuzz_fuzz_piv_answers_LDADD = $(MDP11_LIBS_MINIDRIVER)
EXTRA_DIST += tests/fuzz/corpus/piv-answers

# mdp11 and the PIV referees (OpenSC, yubico-piv-tool, ykcs11) on one served virtual PIV card
# (tests/integration/lib-piv.sh).
TESTS += tests/integration/piv-mdp11.sh
EXTRA_DIST += tests/integration/piv-mdp11.sh
