#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Our GIDS card module and OpenSC's GIDS driver on the same virtual card, both ways:
# a key and certificate we create are used by pkcs11-tool; a key OpenSC creates is used by us.
. "$top_srcdir/tests/integration/lib-pcsc.sh"
pcsc_enter_ns "$@"

probe="$top_builddir/tests/integration/md-probe"
opensc=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
[ -x "$VCARD_BIN" ] || pcsc_skip "mdp11-vcard is not built"
command -v pkcs11-tool >/dev/null 2>&1 || pcsc_skip "pkcs11-tool (Debian: opensc) is missing"
[ -f "$opensc" ] || pcsc_skip "opensc-pkcs11.so (Debian: opensc-pkcs11) is missing"
pin=12345678
state="$PCSC_TMP/card.state"
t="$PCSC_TMP"
"$VCARD_BIN" create --insecure-pin $pin --insecure-admin-key 010203040506070801020304050607080102030405060708 \
	"$state" >/dev/null || pcsc_fail "mdp11-vcard create"
pcsc_start "$state"

# A certificate for a public key whose private half lives on the card.
make_cert() { # pubkey.pem subject out.der
	openssl req -new -newkey rsa:2048 -nodes -keyout "$t/ca.key" -subj "/CN=ca" \
		-out "$t/ca.csr" 2>/dev/null &&
		openssl x509 -req -in "$t/ca.csr" -signkey "$t/ca.key" -out "$t/ca.pem" \
			2>/dev/null &&
		openssl x509 -req -in "$t/ca.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
			-force_pubkey "$1" -subj "$2" -set_serial 7 -outform DER -out "$3" 2>/dev/null
}

echo "signed by the card" >"$t/data"

# ---- ours -> OpenSC ----
"$probe" "$PCSC_READER" --pin $pin gen 0 keyexchange 2048 mdp11key || pcsc_fail "md-probe gen"
"$probe" "$PCSC_READER" pubkey 0 "$t/pub0.pem" || pcsc_fail "md-probe pubkey"
make_cert "$t/pub0.pem" "/CN=mdp11key" "$t/cert0.der" || pcsc_fail "certificate"
"$probe" "$PCSC_READER" --pin $pin putcert 0 "$t/cert0.der" || pcsc_fail "md-probe putcert"
pkcs11-tool --module "$opensc" --login --pin $pin --list-objects >"$t/objects.txt" 2>&1 ||
	pcsc_fail "pkcs11-tool --list-objects: $(cat "$t/objects.txt")"
grep -q "Private Key Object; RSA" "$t/objects.txt" || pcsc_fail "OpenSC lists no private key"
grep -q "Certificate Object" "$t/objects.txt" || pcsc_fail "OpenSC lists no certificate"
grep -q "mdp11key" "$t/objects.txt" || pcsc_fail "OpenSC does not show our container name"
pkcs11-tool --module "$opensc" --login --pin $pin --sign --mechanism SHA256-RSA-PKCS --id 00 \
	--input-file "$t/data" --output-file "$t/sig0" >"$t/sign.txt" 2>&1 ||
	pcsc_fail "pkcs11-tool --sign: $(cat "$t/sign.txt")"
openssl dgst -sha256 -verify "$t/pub0.pem" -signature "$t/sig0" "$t/data" >/dev/null ||
	pcsc_fail "OpenSC's signature with our key does not verify"
# OpenSC reads our compressed certificate
pkcs11-tool --module "$opensc" --read-object --type cert --id 00 --output-file "$t/cert0.back" \
	>/dev/null 2>&1 || pcsc_fail "pkcs11-tool --read-object"
cmp -s "$t/cert0.der" "$t/cert0.back" || pcsc_fail "certificate differs through OpenSC"

# ---- OpenSC -> ours ----
pkcs15-init --verify-pin --auth-id 80 --pin $pin --generate-key rsa/2048 --id 01 \
	--label osckey >"$t/p15.txt" 2>&1 || pcsc_fail "pkcs15-init --generate-key: $(cat "$t/p15.txt")"
"$probe" "$PCSC_READER" list >"$t/list.txt" || pcsc_fail "md-probe list"
idx=$(awk '$4 ~ /osckey/ { print $1 }' "$t/list.txt")
[ -n "$idx" ] || pcsc_fail "our card module does not see OpenSC's key: $(cat "$t/list.txt")"
"$probe" "$PCSC_READER" pubkey "$idx" "$t/pub1.pem" || pcsc_fail "md-probe pubkey (OpenSC key)"
make_cert "$t/pub1.pem" "/CN=oscert" "$t/cert1.der" || pcsc_fail "certificate 2"
openssl x509 -inform DER -in "$t/cert1.der" -out "$t/cert1.pem"
pkcs15-init --verify-pin --auth-id 80 --pin $pin --store-certificate "$t/cert1.pem" --id 01 \
	>"$t/p15c.txt" 2>&1 || pcsc_fail "pkcs15-init --store-certificate: $(cat "$t/p15c.txt")"
"$probe" "$PCSC_READER" getcert "$idx" "$t/cert1.back" || pcsc_fail "md-probe getcert"
cmp -s "$t/cert1.der" "$t/cert1.back" || pcsc_fail "OpenSC's certificate differs through us"
"$probe" "$PCSC_READER" --pin $pin sign "$idx" "$t/data" "$t/sig1" || pcsc_fail "md-probe sign"
openssl dgst -sha256 -verify "$t/pub1.pem" -signature "$t/sig1" "$t/data" >/dev/null ||
	pcsc_fail "our signature with OpenSC's key does not verify"
echo "md-opensc-interop: OK"
