#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The PIV figures of bench-pcsc.sh: APDUs from C_Initialize to a listed token, for the login and
# per signature, through pcscd + vpcd on one virtual PIV card (one RSA-2048 key in 9A with its
# certificate, made by mdp11), for mdp11.so, OpenSC's PIV driver and Yubico's ykcs11. A cold
# start has empty caches (mdp11's persistent cache, OpenSC's file cache; ykcs11 keeps none), a
# warm one is a second process. Prints CSV lines impl,key,metric,value (bench-p11.c).
set -eu
: "${VCARD_BIN:=$top_builddir/tools/mdp11-vcard}"
export VCARD_BIN
. "$top_srcdir/tests/integration/lib-piv.sh"
pcsc_enter_ns "$@"

MODULE=$top_builddir/.libs/mdp11.so
BENCH=$top_builddir/bench/bench-p11
TOOL=$top_builddir/tools/mdp11-tool
W=$PCSC_TMP
CARD=$W/piv.vcard
piv_need openssl "$PIV_OPENSC"

# The card: one RSA-2048 key in 9A and its certificate, made by mdp11 on the card file.
piv_create "$CARD"
printf '[readers]\npcsc = no\n' >"$W/embedded.conf"
MDP11_CONF=$W/embedded.conf MDP11_VCARD=$CARD piv_must "mdp11-tool generate" "$TOOL" generate \
	--type rsa:2048 --name bench --id 01 --insecure-pin "$PIV_PIN"
MDP11_CONF=$W/embedded.conf MDP11_VCARD=$CARD piv_must "mdp11-tool selfsign" "$TOOL" selfsign \
	--name bench --subject /CN=bench --store --insecure-pin "$PIV_PIN" --out "$W/cert.pem"

PCSC_DEBUG=1
export PCSC_DEBUG
pcsc_start "$CARD"

PIN=$PIV_PIN
. "$top_srcdir/bench/lib-startup.sh"
unset MDP11_VCARD 2>/dev/null || true
MDP11_CONF=$W/mdp11.conf startup mdp11-piv "$MODULE"
OPENSC_CONF=$W/opensc.conf startup opensc-piv "$PIV_OPENSC"
if [ -f "$PIV_YKCS11" ]; then
	startup ykcs11-piv "$PIV_YKCS11"
fi
startup_done
