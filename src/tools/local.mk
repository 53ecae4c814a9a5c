# SPDX-License-Identifier: LGPL-2.1-or-later
# mdp11-tool: key blob inspection and conversion (card commands join its command table later).
bin_PROGRAMS += src/tools/mdp11-tool
src_tools_mdp11_tool_SOURCES = src/tools/mdp11-tool.c
src_tools_mdp11_tool_LDADD = libmdp11blob.la libmdp11common.la $(CRYPTO_LIBS)
dist_man_MANS += man/mdp11-tool.1

TESTS += tests/integration/blob-openssl.sh
EXTRA_DIST += tests/integration/blob-openssl.sh
