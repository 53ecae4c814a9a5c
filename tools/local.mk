# SPDX-License-Identifier: LGPL-2.1-or-later
# ---- mdp11-tool: key blob inspection and conversion (card commands join its table later) ----
bin_PROGRAMS += tools/mdp11-tool
tools_mdp11_tool_SOURCES = tools/mdp11-tool.c
dist_man_MANS += man/mdp11-tool.1

TESTS += tests/integration/blob-openssl.sh
EXTRA_DIST += tests/integration/blob-openssl.sh
# ---- end mdp11-tool ----

# ---- mdp11-vcard: the virtual card's command-line tool (create / serve over vpcd / info) ----
VCARD_TOOL_SOURCES = \
	tools/vpcd.c tools/vpcd.h \
	tools/vcard-opts.c tools/vcard-opts.h tools/tool-secret.c

bin_PROGRAMS += tools/mdp11-vcard
tools_mdp11_vcard_SOURCES = tools/mdp11-vcard.c $(VCARD_TOOL_SOURCES)
tools_mdp11_vcard_LDADD = $(MDP11_LIBS_VCARD)
dist_man_MANS += man/mdp11-vcard.1

check_PROGRAMS += tests/unit/test-vcard-tool
TESTS += tests/unit/test-vcard-tool
tests_unit_test_vcard_tool_SOURCES = tests/unit/test-vcard-tool.c $(VCARD_TOOL_SOURCES)
tests_unit_test_vcard_tool_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_vcard_tool_LDADD = $(MDP11_LIBS_COMMON) $(TEST_LIBS)

# The pcscd + vpcd harness (tests/integration/lib-pcsc.sh) and the integration tests using it.
TESTS += tests/integration/vcard-cli.sh tests/integration/pcsc-harness.sh \
	tests/integration/vcard-opensc.sh tests/integration/vcard-crash.sh
EXTRA_DIST += tests/integration/lib-pcsc.sh tests/integration/vcard-cli.sh \
	tests/integration/pcsc-harness.sh tests/integration/vcard-opensc.sh \
	tests/integration/vcard-crash.sh
# The virtual PIV card alone against the Debian peers (OpenSC, yubico-piv-tool, ykcs11).
TESTS += tests/integration/piv-opensc.sh tests/integration/piv-yubico.sh \
	tests/integration/piv-ykcs11.sh
EXTRA_DIST += tests/integration/lib-piv.sh tests/integration/piv-opensc.sh \
	tests/integration/piv-yubico.sh tests/integration/piv-ykcs11.sh
# The seals end to end: key file and TPM (swtpm), with mdp11-tool, the module and pkcs11-tool.
TESTS += tests/integration/vcard-seal.sh
EXTRA_DIST += tests/integration/vcard-seal.sh
# The crash test's writer links the card engine in-process.
check_PROGRAMS += tests/integration/vcard-crash-helper
tests_integration_vcard_crash_helper_SOURCES = tests/integration/vcard-crash-helper.c
tests_integration_vcard_crash_helper_LDADD = $(MDP11_LIBS_VCARD)
# ---- end mdp11-vcard ----

# ---- mdp11-tool card commands (list, init, import, export, generate, delete, pin) ----
TOOL_CARD_HELPERS = \
	tools/tool.h \
	tools/tool-opts.c tools/tool-uri.c tools/tool-json.c tools/tool-secret.c
tools_mdp11_tool_SOURCES += $(TOOL_CARD_HELPERS) \
	tools/tool-card.h tools/tool-common.c tools/tool-list.c \
	tools/tool-keys.c tools/tool-pin.c tools/tool-select.c tools/tool-cert.c \
	minidriver/gids-init.c minidriver/gids-init.h
tools_mdp11_tool_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
tools_mdp11_tool_LDADD = $(MDP11_LIBS_KSP) -lpthread

check_PROGRAMS += tests/unit/test-tool
TESTS += tests/unit/test-tool
tests_unit_test_tool_SOURCES = tests/unit/test-tool.c $(TOOL_CARD_HELPERS)
tests_unit_test_tool_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_tool_LDADD = $(MDP11_LIBS_BLOB) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-gids-init
TESTS += tests/unit/test-gids-init
tests_unit_test_gids_init_SOURCES = tests/unit/test-gids-init.c \
	minidriver/gids-init.c minidriver/gids-init.h
tests_unit_test_gids_init_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_gids_init_LDADD = $(MDP11_LIBS_KSP) $(TEST_LIBS)

TESTS += tests/integration/tool.sh tests/integration/tool-pcsc.sh tests/integration/tool-select.sh \
	tests/integration/tool-piv.sh
EXTRA_DIST += tests/integration/tool.sh tests/integration/tool-pcsc.sh docs/tool.md \
	tests/integration/tool-select.sh tests/integration/pty-answer.py tests/integration/lib-tool.sh \
	tests/integration/tool-piv.sh
# ---- end mdp11-tool card commands ----
