# SPDX-License-Identifier: LGPL-2.1-or-later
# make bench: signatures per second through mdp11.so vs raw OpenSSL (bench/bench-sign.c).
EXTRA_PROGRAMS += bench/bench-sign
bench_bench_sign_SOURCES = bench/bench-sign.c
bench_bench_sign_CFLAGS = $(AM_CFLAGS) $(MDP11_MODULE_CFLAGS)
bench_bench_sign_LDADD = libmdp11vcard.la libmdp11common.la $(CRYPTO_LIBS) $(LIBS)
bench_bench_sign_DEPENDENCIES = libmdp11vcard.la libmdp11common.la mdp11.la
CLEANFILES += bench/bench-sign
