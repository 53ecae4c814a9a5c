# SPDX-License-Identifier: LGPL-2.1-or-later
# ---- mdp11-tool: key blob inspection and conversion (card commands join its table later) ----
bin_PROGRAMS += src/tools/mdp11-tool
src_tools_mdp11_tool_SOURCES = src/tools/mdp11-tool.c
src_tools_mdp11_tool_LDADD = libmdp11blob.la libmdp11common.la $(CRYPTO_LIBS)
dist_man_MANS += man/mdp11-tool.1

TESTS += tests/integration/blob-openssl.sh
EXTRA_DIST += tests/integration/blob-openssl.sh
# ---- end mdp11-tool ----

# ---- mdp11-vcard: the virtual card's command-line tool (create / serve over vpcd / info) ----
VCARD_TOOL_SOURCES = \
	src/tools/vpcd.c src/tools/vpcd.h \
	src/tools/vcard-opts.c src/tools/vcard-opts.h

bin_PROGRAMS += src/tools/mdp11-vcard
src_tools_mdp11_vcard_SOURCES = src/tools/mdp11-vcard.c $(VCARD_TOOL_SOURCES)
src_tools_mdp11_vcard_LDADD = libmdp11vcard.la libmdp11common.la $(CRYPTO_LIBS)
dist_man_MANS += man/mdp11-vcard.1

check_PROGRAMS += tests/unit/test-vcard-tool
TESTS += tests/unit/test-vcard-tool
tests_unit_test_vcard_tool_SOURCES = tests/unit/test-vcard-tool.c $(VCARD_TOOL_SOURCES)
tests_unit_test_vcard_tool_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_vcard_tool_LDADD = libmdp11common.la $(TEST_LIBS)

# The pcscd + vpcd harness (tests/integration/lib-pcsc.sh) and the integration tests using it.
TESTS += tests/integration/vcard-cli.sh tests/integration/pcsc-harness.sh \
	tests/integration/vcard-opensc.sh tests/integration/vcard-crash.sh
EXTRA_DIST += tests/integration/lib-pcsc.sh tests/integration/vcard-cli.sh \
	tests/integration/pcsc-harness.sh tests/integration/vcard-opensc.sh \
	tests/integration/vcard-crash.sh
# The crash test's writer links the card engine in-process.
check_PROGRAMS += tests/integration/vcard-crash-helper
tests_integration_vcard_crash_helper_SOURCES = tests/integration/vcard-crash-helper.c
tests_integration_vcard_crash_helper_LDADD = libmdp11vcard.la libmdp11common.la $(CRYPTO_LIBS)
# ---- end mdp11-vcard ----
