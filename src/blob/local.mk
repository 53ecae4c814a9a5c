# SPDX-License-Identifier: LGPL-2.1-or-later
# The BLOB translator: CAPI/CNG key blobs, PKCS#8, SPKI, PEM <-> EVP_PKEY.
noinst_LTLIBRARIES += libmdp11blob.la
libmdp11blob_la_SOURCES = \
	src/blob/blob.c src/blob/blob.h src/blob/internal.h \
	src/blob/key.c \
	src/blob/capi.c \
	src/blob/cng.c \
	src/blob/der.c
libmdp11blob_la_CFLAGS = $(AM_CFLAGS) -fPIC
libmdp11blob_la_LIBADD = libmdp11common.la $(CRYPTO_LIBS)
