#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# APDUs per operation and start-up time through pcscd + vpcd, for mdp11.so and for OpenSC's
# opensc-pkcs11.so on the same virtual card (one RSA-2048 key and one certificate), counted at
# the reader from pcscd's APDU log. Prints CSV lines impl,key,metric,value (see bench-p11.c).
#
# Runs inside lib-pcsc.sh's private namespaces. Environment: top_srcdir, top_builddir,
# BENCH_WORK (a directory for the card and the caches).
set -eu
: "${VCARD_BIN:=$top_builddir/tools/mdp11-vcard}"
export VCARD_BIN
. "$top_srcdir/tests/integration/lib-pcsc.sh"
pcsc_enter_ns "$@"

MODULE=$top_builddir/.libs/mdp11.so
OPENSC=${OPENSC_MODULE:-/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so}
BENCH=$top_builddir/bench/bench-p11
PIN=648219
W=$PCSC_TMP
CARD=$W/card.vcard
[ -f "$OPENSC" ] || pcsc_skip "opensc-pkcs11.so is not installed"

# The card: one RSA-2048 key and its certificate, made through mdp11 on the embedded card.
"$VCARD_BIN" create "$CARD" --insecure-pin "$PIN" --insecure-admin-key 0102030405060708090a0b0c0d0e0f101112131415161718 \
	>"$W/create.log" 2>&1 || pcsc_fail "mdp11-vcard create failed"
MDP11_VCARD=$CARD pkcs11-tool --module "$MODULE" --login --pin "$PIN" --keypairgen \
	--key-type rsa:2048 --id 01 --label bench >"$W/keygen.log" 2>&1 || pcsc_fail "keygen failed"
MDP11_VCARD=$CARD pkcs11-tool --module "$MODULE" --read-object --type pubkey --id 01 \
	-o "$W/pub.der" >"$W/readpub.log" 2>&1 || pcsc_fail "reading the public key failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" \
	-out "$W/ca.pem" -subj "/CN=bench CA" >"$W/ca.log" 2>&1 || pcsc_fail "CA failed"
openssl x509 -new -subj "/CN=bench" -force_pubkey "$W/pub.der" -keyform DER -CA "$W/ca.pem" \
	-CAkey "$W/ca.key" -outform DER -out "$W/cert.der" >>"$W/ca.log" 2>&1 || pcsc_fail "cert failed"
MDP11_VCARD=$CARD pkcs11-tool --module "$MODULE" --login --pin "$PIN" --write-object "$W/cert.der" \
	--type cert --id 01 --label bench >"$W/cert.log" 2>&1 || pcsc_fail "storing the certificate failed"

PCSC_DEBUG=1
export PCSC_DEBUG
pcsc_start "$CARD"

. "$top_srcdir/bench/lib-startup.sh"
unset MDP11_VCARD 2>/dev/null || true
MDP11_CONF=$W/mdp11.conf startup mdp11 "$MODULE"
OPENSC_CONF=$W/opensc.conf startup opensc "$OPENSC"
startup_done
