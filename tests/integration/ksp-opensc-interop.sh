#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A card laid out by mdp11's host role (container map with a zeroed record, moved default flag,
# mdp11's application directory with key attributes and data objects) is used by OpenSC's GIDS
# driver, OpenSC adds a key to it, and the host role then sees and uses OpenSC's key.
. "$top_srcdir/tests/integration/lib-pcsc.sh"
pcsc_enter_ns "$@"

probe="$top_builddir/tests/integration/ksp-probe"
opensc=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
[ -x "$VCARD_BIN" ] || pcsc_skip "mdp11-vcard is not built"
command -v pkcs11-tool >/dev/null 2>&1 || pcsc_skip "pkcs11-tool (Debian: opensc) is missing"
command -v pkcs15-init >/dev/null 2>&1 || pcsc_skip "pkcs15-init (Debian: opensc) is missing"
[ -f "$opensc" ] || pcsc_skip "opensc-pkcs11.so (Debian: opensc-pkcs11) is missing"
pin=12345678
t="$PCSC_TMP"
state="$t/card.state"
"$VCARD_BIN" create --insecure-pin $pin --insecure-admin-key 010203040506070801020304050607080102030405060708 \
	"$state" >/dev/null || pcsc_fail "mdp11-vcard create"

make_cert() { # pubkey.pem subject out.der
	openssl req -new -newkey rsa:2048 -nodes -keyout "$t/ca.key" -subj "/CN=ca" \
		-out "$t/ca.csr" 2>/dev/null &&
		openssl x509 -req -in "$t/ca.csr" -signkey "$t/ca.key" -out "$t/ca.pem" \
			2>/dev/null &&
		openssl x509 -req -in "$t/ca.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
			-force_pubkey "$1" -subj "$2" -set_serial 7 -outform DER -out "$3" 2>/dev/null
}
echo "signed by the card" >"$t/data"

# ---- mdp11's host role writes the card (in process, the card is not served yet) ----
"$probe" "$state" --pin $pin populate "$t/pub.pem" || pcsc_fail "ksp-probe populate"
make_cert "$t/pub.pem" "/CN=mdp11key" "$t/cert.der" || pcsc_fail "certificate"
"$probe" "$state" --pin $pin putcert mdp11key "$t/cert.der" || pcsc_fail "ksp-probe putcert"
"$probe" "$state" list >"$t/list0.txt" || pcsc_fail "ksp-probe list"
grep -q '^1 mdp11key keyexchange generated 42 \[mylabel\] default cert$' "$t/list0.txt" ||
	pcsc_fail "unexpected view: $(cat "$t/list0.txt")"

# ---- OpenSC reads and uses it ----
pcsc_start "$state"
pkcs11-tool --module "$opensc" --login --pin $pin --list-objects >"$t/objects.txt" 2>&1 ||
	pcsc_fail "pkcs11-tool --list-objects: $(cat "$t/objects.txt")"
grep -q "Private Key Object; RSA" "$t/objects.txt" || pcsc_fail "OpenSC lists no private key"
grep -q "Certificate Object" "$t/objects.txt" || pcsc_fail "OpenSC lists no certificate"
grep -q "mdp11key" "$t/objects.txt" || pcsc_fail "OpenSC does not show our container name"
# The deleted container's record is zeroed: OpenSC 0.23 still lists an empty object for it (its
# emulator adds one per record, as after its own deletions), but never the deleted key.
grep -q "first" "$t/objects.txt" && pcsc_fail "OpenSC sees a deleted container: $(cat "$t/objects.txt")"
# OpenSC names GIDS keys by container index: mdp11key is container 1.
pkcs11-tool --module "$opensc" --login --pin $pin --sign --mechanism SHA256-RSA-PKCS \
	--id 01 --input-file "$t/data" --output-file "$t/sig0" >"$t/sign.txt" 2>&1 ||
	pcsc_fail "pkcs11-tool --sign: $(cat "$t/sign.txt")"
openssl dgst -sha256 -verify "$t/pub.pem" -signature "$t/sig0" "$t/data" >/dev/null ||
	pcsc_fail "OpenSC's signature with our key does not verify"

# ---- OpenSC adds a key next to ours (it checks keymap against cmapfile first) ----
pkcs15-init --verify-pin --auth-id 80 --pin $pin --generate-key rsa/2048 --id 07 \
	--label osckey >"$t/p15.txt" 2>&1 || pcsc_fail "pkcs15-init --generate-key: $(cat "$t/p15.txt")"
pcsc_stop

# ---- the host role sees OpenSC's key with default attributes, and ours unchanged ----
"$probe" "$state" list >"$t/list1.txt" || pcsc_fail "ksp-probe list (after OpenSC)"
grep -q '^1 mdp11key keyexchange generated 42 \[mylabel\] default cert$' "$t/list1.txt" ||
	pcsc_fail "our key changed: $(cat "$t/list1.txt")"
line=$(grep ' unknown ' "$t/list1.txt")
[ -n "$line" ] || pcsc_fail "OpenSC's key not seen: $(cat "$t/list1.txt")"
oname=$(echo "$line" | awk '{ print $2 }')
case "$oname" in osckey*) ;; *) pcsc_fail "OpenSC's container name: $line" ;; esac
ohex=$(printf '%s' "$oname" | od -An -tx1 | tr -d ' \n')
echo "$line" | grep -q " $ohex \[$oname\] - *$" || pcsc_fail "default CKA_ID/label: $line"
"$probe" "$state" --pin $pin sign "$oname" "$t/data" "$t/sig1" || pcsc_fail "ksp-probe sign"
"$probe" "$state" pubkey "$oname" "$t/opub.pem" || pcsc_fail "ksp-probe pubkey"
openssl dgst -sha256 -verify "$t/opub.pem" -signature "$t/sig1" "$t/data" >/dev/null ||
	pcsc_fail "our signature with OpenSC's key does not verify"
"$probe" "$state" --pin $pin sign mdp11key "$t/data" "$t/sig2" || pcsc_fail "ksp-probe sign 2"
openssl dgst -sha256 -verify "$t/pub.pem" -signature "$t/sig2" "$t/data" >/dev/null ||
	pcsc_fail "our signature does not verify"
echo "ksp-opensc-interop: OK"
