# SPDX-License-Identifier: LGPL-2.1-or-later
# APDU transports: framing, PC/SC (pcsc-lite), the embedded virtual card.
noinst_LTLIBRARIES += libmdp11transport.la
EXTRA_libmdp11transport_la_DEPENDENCIES = $(MDP11_LAYER_DEPS)
libmdp11transport_la_SOURCES = \
	src/transport/transport.c src/transport/transport.h \
	src/transport/apdu.c src/transport/apdu.h \
	src/transport/pcsc.c \
	src/transport/embedded.c
libmdp11transport_la_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) -fPIC
libmdp11transport_la_LIBADD = $(PCSC_LIBS)

check_PROGRAMS += tests/unit/test-transport
TESTS += tests/unit/test-transport
tests_unit_test_transport_SOURCES = tests/unit/test-transport.c \
	tests/mock/mock-transport.c tests/mock/mock-transport.h
tests_unit_test_transport_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_transport_LDADD = $(MDP11_LIBS_TRANSPORT) $(TEST_LIBS)
