# SPDX-License-Identifier: LGPL-2.1-or-later
# The PKCS#11 module: entry points, slots, sessions, objects, mechanisms.
# One source list, built as a convenience library (tests link its internals) and as the
# module mdp11.so, which exports only C_GetFunctionList, C_GetInterfaceList, C_GetInterface.
noinst_LTLIBRARIES += libmdp11pkcs11.la
libmdp11pkcs11_la_SOURCES = \
	pkcs11/module.c pkcs11/module.h pkcs11/pkcs11-3.h \
	pkcs11/lock.c \
	pkcs11/rv.c \
	pkcs11/settings.c \
	pkcs11/attr.c \
	pkcs11/slot.c \
	pkcs11/session.c \
	pkcs11/object.c \
	pkcs11/keygen.c \
	pkcs11/crypto.c
libmdp11pkcs11_la_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS) -fPIC
mdp11include_HEADERS += include/mdp11/pkcs11-vendor.h
