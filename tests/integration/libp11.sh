#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# OpenSSL through libp11's pkcs11 engine: a CSR signed by a card key through a pkcs11: URI.
. "$top_srcdir/tests/integration/lib-module.sh"
need_tool openssl
need_tool pkcs11-tool
ENGINE=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
[ -f "$ENGINE" ] || ENGINE=$(find /usr/lib -name pkcs11.so -path '*engines-3*' 2>/dev/null | head -n1)
[ -n "$ENGINE" ] && [ -f "$ENGINE" ] || skip "libp11's pkcs11 engine is not installed"
module_setup

pkcs11-tool --module "$MODULE" --login --pin "$PIN" --keypairgen --key-type rsa:2048 --id 01 \
	--label csrkey >/dev/null || fail "RSA key generation"

cat >"$WORK/openssl.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $MODULE
PIN = $PIN
init = 0
[req]
distinguished_name = dn
[dn]
CNF
export OPENSSL_CONF="$WORK/openssl.cnf"

for key in "pkcs11:token=card.vcard;object=csrkey;type=private" \
	   "pkcs11:token=card.vcard;id=%01;type=private"; do
	openssl req -new -engine pkcs11 -keyform engine -key "$key" -subj "/CN=mdp11 libp11" \
		-out "$WORK/req.pem" 2>"$WORK/err" || {
		cat "$WORK/err"
		fail "openssl req with $key"
	}
	openssl req -in "$WORK/req.pem" -verify -noout 2>&1 | grep -q "verify OK" ||
		fail "the CSR signed with $key does not verify"
done
module_done "CSRs signed by card keys verify"
