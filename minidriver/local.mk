# SPDX-License-Identifier: LGPL-2.1-or-later
# The minidriver core: the card-module interface, the GIDS card module, the registry.
mdp11include_HEADERS += include/mdp11/card-module.h
EXTRA_DIST += minidriver/card.h

noinst_LTLIBRARIES += libmdp11minidriver.la
libmdp11minidriver_la_SOURCES = \
	minidriver/card.c minidriver/card.h minidriver/card-int.h \
	minidriver/registry.c \
	minidriver/card-gids.c
libmdp11minidriver_la_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS) -fPIC
libmdp11minidriver_la_LIBADD = libmdp11blob.la libmdp11transport.la libmdp11common.la \
	$(CRYPTO_LIBS) $(ZLIB_LIBS)
