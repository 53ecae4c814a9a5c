#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# OpenSC's pkcs11-tool against mdp11.so on an embedded virtual card: its self test, key
# generation, signatures verified by openssl, decryption, ECDH derivation, data objects.
. "$top_srcdir/tests/integration/lib-module.sh"
need_tool pkcs11-tool
need_tool openssl
module_setup

p11() {
	pkcs11-tool --module "$MODULE" "$@"
}
login() {
	p11 --login --pin "$PIN" "$@"
}

p11 --list-slots | grep -q "card.vcard" || fail "the token is not listed"
login --keypairgen --key-type rsa:2048 --id 01 --label rsa --usage-sign --usage-decrypt \
	>/dev/null || fail "RSA key generation"
login --keypairgen --key-type EC:prime256v1 --id 02 --label ec --usage-sign >/dev/null ||
	fail "EC key generation"
login --keypairgen --key-type EC:prime256v1 --id 03 --label ecdh --usage-derive >/dev/null ||
	fail "ECDH key generation"

# pkcs11-tool's own test of every function and mechanism it knows.
login --test >"$WORK/test.log" 2>&1 || {
	cat "$WORK/test.log"
	fail "pkcs11-tool --test --login"
}
grep -q "No errors" "$WORK/test.log" || {
	cat "$WORK/test.log"
	fail "pkcs11-tool --test reported errors"
}

printf 'data to be signed\n' >"$WORK/data"
p11 --read-object --type pubkey --id 01 -o "$WORK/rsa.der" >/dev/null
openssl pkey -pubin -inform DER -in "$WORK/rsa.der" -out "$WORK/rsa.pem"
p11 --read-object --type pubkey --id 02 -o "$WORK/ec.der" >/dev/null
openssl pkey -pubin -inform DER -in "$WORK/ec.der" -out "$WORK/ec.pem"

for mech in SHA256-RSA-PKCS SHA384-RSA-PKCS SHA512-RSA-PKCS SHA1-RSA-PKCS; do
	md=$(echo "$mech" | sed 's/-RSA-PKCS//' | tr 'A-Z' 'a-z')
	login --sign --id 01 -m "$mech" -i "$WORK/data" -o "$WORK/sig" >/dev/null 2>&1 ||
		fail "sign $mech"
	openssl dgst -"$md" -verify "$WORK/rsa.pem" -signature "$WORK/sig" "$WORK/data" \
		>/dev/null || fail "openssl rejects $mech"
	p11 --verify --id 01 -m "$mech" -i "$WORK/data" --signature-file "$WORK/sig" \
		>/dev/null 2>&1 || fail "C_Verify rejects $mech"
done
login --sign --id 01 -m SHA256-RSA-PKCS-PSS -i "$WORK/data" -o "$WORK/sig" >/dev/null 2>&1 ||
	fail "sign SHA256-RSA-PKCS-PSS"
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 \
	-verify "$WORK/rsa.pem" -signature "$WORK/sig" "$WORK/data" >/dev/null ||
	fail "openssl rejects the PSS signature"
login --sign --id 02 -m ECDSA-SHA256 --signature-format openssl -i "$WORK/data" \
	-o "$WORK/sig" >/dev/null 2>&1 || fail "sign ECDSA-SHA256"
openssl dgst -sha256 -verify "$WORK/ec.pem" -signature "$WORK/sig" "$WORK/data" >/dev/null ||
	fail "openssl rejects the ECDSA signature"

# Decryption: openssl encrypts with the public key, the card decrypts.
printf 'a secret message' >"$WORK/plain"
openssl pkeyutl -encrypt -pubin -inkey "$WORK/rsa.pem" -in "$WORK/plain" -out "$WORK/ct"
login --decrypt --id 01 -m RSA-PKCS -i "$WORK/ct" -o "$WORK/out" >/dev/null 2>&1 ||
	fail "decrypt RSA-PKCS"
cmp -s "$WORK/plain" "$WORK/out" || fail "RSA-PKCS plaintext differs"
openssl pkeyutl -encrypt -pubin -inkey "$WORK/rsa.pem" -pkeyopt rsa_padding_mode:oaep \
	-in "$WORK/plain" -out "$WORK/ct"
login --decrypt --id 01 -m RSA-PKCS-OAEP --hash-algorithm SHA-1 -i "$WORK/ct" -o "$WORK/out" \
	>/dev/null 2>&1 || fail "decrypt RSA-PKCS-OAEP"
cmp -s "$WORK/plain" "$WORK/out" || fail "OAEP plaintext differs"

# ECDH: the card and openssl agree on the secret.
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/peer.pem"
openssl pkey -in "$WORK/peer.pem" -pubout -outform DER -out "$WORK/peer.der"
login --derive --id 03 -m ECDH1-DERIVE -i "$WORK/peer.der" -o "$WORK/secret.card" \
	>/dev/null 2>&1 || fail "derive ECDH1-DERIVE"
# An ECDH key has no public key object (docs/pkcs11.md, "ECDH keys"): mdp11-tool exports it.
p11 --read-object --type pubkey --id 03 -o "$WORK/ecdh.der" >/dev/null 2>&1 &&
	fail "an ECDH key has a public key object"
"$top_builddir/tools/mdp11-tool" export --id 03 --out "$WORK/ecdh.pem" ||
	fail "mdp11-tool export of the ECDH key"
openssl pkeyutl -derive -inkey "$WORK/peer.pem" -peerkey "$WORK/ecdh.pem" -out "$WORK/secret.ref"
cmp -s "$WORK/secret.card" "$WORK/secret.ref" || fail "ECDH secrets differ"

# Data objects.
printf 'some application data' >"$WORK/blob"
login --write-object "$WORK/blob" --type data --label "my data" --application-label demo \
	>/dev/null || fail "write a data object"
login --read-object --type data --label "my data" -o "$WORK/blob.out" >/dev/null ||
	fail "read the data object"
cmp -s "$WORK/blob" "$WORK/blob.out" || fail "data object content differs"
login --delete-object --type data --label "my data" >/dev/null || fail "delete the data object"

# A private key written from a PEM file.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/imp.pem" 2>/dev/null
login --write-object "$WORK/imp.pem" --type privkey --id 04 --usage-sign >/dev/null ||
	fail "import an EC private key"
login --sign --id 04 -m ECDSA-SHA256 --signature-format openssl -i "$WORK/data" \
	-o "$WORK/sig" >/dev/null 2>&1 || fail "sign with the imported key"
openssl pkey -in "$WORK/imp.pem" -pubout -out "$WORK/imp.pub"
openssl dgst -sha256 -verify "$WORK/imp.pub" -signature "$WORK/sig" "$WORK/data" >/dev/null ||
	fail "the imported key's signature does not verify"

# Wrong PIN.
if p11 --login --pin 000000 --list-objects >/dev/null 2>&1; then
	fail "a wrong PIN was accepted"
fi
module_done "all flows passed"
