#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# TLS 1.3 client authentication with the card's EC P-256 key through libp11's pkcs11 engine
# (tls-openssl.sh's ec13 case). Expected to fail (XFAIL) on the embedded virtual card: with the
# engine loaded in the process, the card's answer to the EC public-key read (GET DATA 7F49 of
# the key file) is 6984, so the module lists no EC key. When this passes, move it out of
# XFAIL_TESTS.
TLS_OPENSSL_CASES=ec13 exec sh "$top_srcdir/tests/integration/tls-openssl.sh"
