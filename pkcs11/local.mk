# SPDX-License-Identifier: LGPL-2.1-or-later
# The PKCS#11 module: entry points, slots, sessions, objects, mechanisms.
# One source list, built as a convenience library (tests link its internals) and as the
# module mdp11.so, which exports only C_GetFunctionList, C_GetInterfaceList, C_GetInterface.
noinst_LTLIBRARIES += libmdp11pkcs11.la
EXTRA_libmdp11pkcs11_la_DEPENDENCIES = $(MDP11_LAYER_DEPS)
libmdp11pkcs11_la_SOURCES = \
	pkcs11/module.c pkcs11/module.h pkcs11/pkcs11-3.h \
	pkcs11/module-slot.c pkcs11/module-object.c pkcs11/module-crypto.c \
	pkcs11/lock.c \
	pkcs11/rv.c \
	pkcs11/refuse.c \
	pkcs11/settings.c \
	pkcs11/attr.c \
	pkcs11/slot.c \
	pkcs11/session.c \
	pkcs11/object.c pkcs11/object-change.c \
	pkcs11/keygen.c \
	pkcs11/crypto.c
libmdp11pkcs11_la_CFLAGS = $(AM_CFLAGS) -fPIC
mdp11include_HEADERS += include/mdp11/pkcs11-vendor.h

# The module: every layer's convenience library, each once (see MDP11_LIBS_* in Makefile.am).
# Only the three entry points are exported.
mdp11dir = $(p11_module_path)
mdp11_LTLIBRARIES = mdp11.la
mdp11_la_SOURCES =
mdp11_la_LIBADD = $(MDP11_LIBS_PKCS11)
mdp11_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-export-symbols-regex '^C_(GetFunctionList|GetInterfaceList|GetInterface)$$'

# A loadable module needs no libtool archive next to it. Without the archive libtool's
# uninstall cannot find the module, so uninstall removes it by name.
install-data-hook: mdp11-remove-la
uninstall-hook: mdp11-remove-la mdp11-remove-so
.PHONY: mdp11-remove-la mdp11-remove-so
mdp11-remove-la:
	rm -f "$(DESTDIR)$(mdp11dir)/mdp11.la"
mdp11-remove-so:
	rm -f "$(DESTDIR)$(mdp11dir)/mdp11.so"

# Module tests: they dlopen the built module and go through C_GetFunctionList.
MDP11_MODULE_CFLAGS = -DMDP11_MODULE_PATH=\"$(abs_top_builddir)/.libs/mdp11.so\" \
	-DMDP11_TEST_PLUGIN=\"$(abs_top_builddir)/.libs/mdp11-test-plugin.so\"
check_PROGRAMS += tests/module/test-module
TESTS += tests/module/test-module
tests_module_test_module_SOURCES = tests/module/test-module.c \
	tests/module/p11test.c tests/module/p11test.h
tests_module_test_module_CFLAGS = $(TEST_CFLAGS) $(MDP11_MODULE_CFLAGS)
tests_module_test_module_LDADD = $(MDP11_LIBS_VCARD) $(TEST_LIBS) $(LIBS)

# The module at its edges: malformed templates, refusals that must not be silent, return codes,
# PIN changes (tests/module/test-module-edge.c).
check_PROGRAMS += tests/module/test-module-edge
TESTS += tests/module/test-module-edge
tests_module_test_module_edge_SOURCES = tests/module/test-module-edge.c \
	tests/module/p11test.c tests/module/p11test.h
tests_module_test_module_edge_CFLAGS = $(TEST_CFLAGS) $(MDP11_MODULE_CFLAGS)
tests_module_test_module_edge_LDADD = $(MDP11_LIBS_VCARD) $(TEST_LIBS) $(LIBS)

# The module on an embedded virtual PIV card (tests/module/test-module-piv.c, docs/piv.md).
check_PROGRAMS += tests/module/test-module-piv
TESTS += tests/module/test-module-piv
tests_module_test_module_piv_SOURCES = tests/module/test-module-piv.c \
	tests/module/p11test.c tests/module/p11test.h
tests_module_test_module_piv_CFLAGS = $(TEST_CFLAGS) $(MDP11_MODULE_CFLAGS)
tests_module_test_module_piv_LDADD = $(MDP11_LIBS_VCARD) $(TEST_LIBS) $(LIBS)

# The module under threads: C_Finalize with calls in flight, fork while a thread signs.
check_PROGRAMS += tests/module/test-module-threads
TESTS += tests/module/test-module-threads
tests_module_test_module_threads_SOURCES = tests/module/test-module-threads.c \
	tests/module/p11test.c tests/module/p11test.h
tests_module_test_module_threads_CFLAGS = $(TEST_CFLAGS) $(MDP11_MODULE_CFLAGS)
tests_module_test_module_threads_LDADD = $(MDP11_LIBS_VCARD) $(TEST_LIBS) $(LIBS)

# Internals (settings, SO PIN, curves, names, template helpers), linked like the module.
check_PROGRAMS += tests/unit/test-pkcs11
TESTS += tests/unit/test-pkcs11
tests_unit_test_pkcs11_SOURCES = tests/unit/test-pkcs11.c
tests_unit_test_pkcs11_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_pkcs11_LDADD = $(MDP11_LIBS_PKCS11) $(TEST_LIBS)

# APDU budgets through the embedded transport (warm open, login, signatures, polling).
check_PROGRAMS += tests/unit/test-pkcs11-apdu
TESTS += tests/unit/test-pkcs11-apdu
tests_unit_test_pkcs11_apdu_SOURCES = tests/unit/test-pkcs11-apdu.c
tests_unit_test_pkcs11_apdu_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_pkcs11_apdu_LDADD = $(MDP11_LIBS_PKCS11) $(TEST_LIBS)

# A test helper that makes a virtual card state file (independent of the mdp11-vcard tool).
check_PROGRAMS += tests/module/mkcard
tests_module_mkcard_SOURCES = tests/module/mkcard.c
tests_module_mkcard_LDADD = $(MDP11_LIBS_VCARD)

# Fuzz target: caller templates through the module on an embedded card (tests/fuzz/fuzz-template.c).
# With --enable-fuzzing it is a libFuzzer binary; otherwise make check replays its corpus.
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-template
tests_fuzz_fuzz_template_SOURCES = tests/fuzz/fuzz-template.c
tests_fuzz_fuzz_template_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_template_LDFLAGS = -fsanitize=fuzzer
else
check_PROGRAMS += tests/fuzz/fuzz-template
TESTS += tests/fuzz/fuzz-template
tests_fuzz_fuzz_template_SOURCES = tests/fuzz/fuzz-template.c tests/fuzz/replay-main.c
tests_fuzz_fuzz_template_CFLAGS = $(AM_CFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/template\"
endif
tests_fuzz_fuzz_template_LDADD = $(MDP11_LIBS_PKCS11)
EXTRA_DIST += tests/fuzz/corpus/template

# Integration tests through real clients.
TESTS += tests/integration/pkcs11-tool.sh tests/integration/nss.sh \
	tests/integration/libp11.sh tests/integration/module-pcsc.sh
# Every refusal logged with its reason (MDP11_DEBUG=2), through pkcs11-tool and the module tests.
TESTS += tests/integration/module-reasons.sh
EXTRA_DIST += tests/integration/module-reasons.sh
# Card file and configuration problems are said (slot description, warning, file:line).
TESTS += tests/integration/module-card-file.sh
EXTRA_DIST += tests/integration/module-card-file.sh
# APDU budgets through pcscd + vpcd (held PC/SC transactions).
TESTS += tests/integration/pcsc-apdu-budget.sh
EXTRA_DIST += tests/integration/pcsc-apdu-budget.sh
EXTRA_DIST += tests/integration/lib-module.sh tests/integration/pkcs11-tool.sh \
	tests/integration/nss.sh tests/integration/libp11.sh tests/integration/module-pcsc.sh \
	scripts/demo docs/pkcs11.md
dist_man_MANS += man/mdp11.conf.5
