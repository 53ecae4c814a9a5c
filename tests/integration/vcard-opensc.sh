#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# OpenSC's GIDS driver against our virtual card behind pcscd: initialize, generate and import
# RSA keys, sign, decrypt, store a certificate, PIN lockout and unblock. OpenSC is the client only.
. "$top_srcdir/tests/integration/lib-pcsc.sh"
pcsc_enter_ns "$@"

for t in gids-tool pkcs15-init pkcs15-tool pkcs11-tool openssl opensc-tool; do
	command -v "$t" >/dev/null 2>&1 || pcsc_skip "$t is not installed (Debian: opensc, openssl)"
done
P11MOD=${P11MOD:-/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}
if [ ! -f "$P11MOD" ]; then
	P11MOD=$(find /usr/lib /usr/lib64 -name opensc-pkcs11.so 2>/dev/null | head -n 1)
	[ -n "$P11MOD" ] || pcsc_skip "opensc-pkcs11.so is not installed (Debian: opensc-pkcs11)"
fi
# OpenSC runs with the system opensc.conf: all its drivers probe the card first, which is part
# of what this test proves (the card must refuse the other drivers' probes, spec/gids.md §4.1).

PIN=246810
NEWPIN=13579135
ADMIN=0123456789ABCDEFFEDCBA98765432100011223344556677
SERIAL=00112233445566778899AABBCCDDEEFF
W=$PCSC_TMP
STATE=$W/card.state

run() {
	echo "+ [$(date +%T.%N | cut -c1-12)] $*" >>"$W/commands.log"
	"$@" >>"$W/commands.log" 2>&1
}

# Runs a command and fails the test with MESSAGE when it fails.
must() {
	msg=$1
	shift
	run "$@" || pcsc_fail "$msg (command: $*; output in commands.log)"
}

info_field() {
	"$VCARD_BIN" info "$STATE" | sed -n "s/^$1: *//p"
}

p11() {
	pkcs11-tool --module "$P11MOD" "$@"
}

# gids-tool exits 0 even when a card operation failed: its messages tell.
gids() {
	gids-tool "$@" >"$W/gids.out" 2>&1
	rc=$?
	cat "$W/gids.out"
	[ $rc = 0 ] && ! grep -qiE 'failed|error|not ' "$W/gids.out"
}

# ---- a blank card, initialized by gids-tool ----
must "mdp11-vcard create (blank)" "$VCARD_BIN" create "$STATE"
"$VCARD_BIN" create "$STATE" >/dev/null 2>&1 && pcsc_fail "create overwrote a card without --force"
[ "$(info_field initialized)" = "no (creation state)" ] || pcsc_fail "a blank card says it is initialized"

pcsc_start "$STATE"
must "gids-tool --initialize" gids --initialize --pin "$PIN" --admin-key "$ADMIN" \
	--serial-number "$SERIAL"
[ "$(info_field initialized)" = yes ] || pcsc_fail "info: not initialized after gids-tool"
[ "$(info_field 'card id')" = "$(echo "$SERIAL" | tr 'A-F' 'a-f')" ] ||
	pcsc_fail "info: card id $(info_field 'card id'), expected $SERIAL"
[ "$(info_field 'PIN tries left')" = "3 of 3" ] || pcsc_fail "info: PIN tries $(info_field 'PIN tries left')"
# A second initialization is refused by gids-tool (the masterfile exists now).
run gids --initialize --pin "$PIN" --admin-key "$ADMIN" --serial-number "$SERIAL" &&
	pcsc_fail "gids-tool initialized an initialized card"

# The token as OpenSC's PKCS#15 emulation sees it.
pkcs15-tool --dump >"$W/dump0.txt" 2>&1 || pcsc_fail "pkcs15-tool -D on the empty card"
grep -q "GIDS card" "$W/dump0.txt" || pcsc_fail "pkcs15-tool does not show a GIDS card"
grep -qi "$SERIAL" "$W/dump0.txt" || pcsc_fail "pkcs15-tool does not show the serial"
p11 --list-slots >"$W/slots.txt" 2>&1 || pcsc_fail "pkcs11-tool --list-slots"
grep -q "GIDS card" "$W/slots.txt" || pcsc_fail "no GIDS token in the PKCS#11 slots"

# ---- RSA-2048 generated on the card ----
must "pkcs15-init --generate-key rsa/2048" pkcs15-init --generate-key rsa/2048 --verify-pin \
	--auth-id 80 --pin "$PIN" --label gen2048 --key-usage sign,decrypt
pkcs15-tool --dump >"$W/dump1.txt" 2>&1 || pcsc_fail "pkcs15-tool -D after generation"
grep -q "gen2048" "$W/dump1.txt" || pcsc_fail "pkcs15-tool -D does not list the generated key"
grep -q "ModLength *: 2048" "$W/dump1.txt" || pcsc_fail "the generated key is not 2048 bits"
GEN_ID=$(awk '/Private RSA Key \[gen2048\]/ { k = 1 } k && $1 == "ID" { print $NF; exit }' "$W/dump1.txt")
[ -n "$GEN_ID" ] || pcsc_fail "no ID for the generated key in pkcs15-tool -D"
[ "$(info_field 'key files')" -ge 1 ] || pcsc_fail "info: no key file after generation"

must "pkcs15-tool --read-public-key" pkcs15-tool --read-public-key "$GEN_ID" -o "$W/gen-pub.pem"
must "exported public key unreadable" openssl pkey -pubin -in "$W/gen-pub.pem" -noout
# The same public key through PKCS#11.
must "pkcs11-tool --read-object pubkey" p11 --read-object --type pubkey --id "$GEN_ID" \
	-o "$W/gen-pub.der"
must "PKCS#11 public key unreadable" openssl pkey -pubin -inform DER -in "$W/gen-pub.der" \
	-out "$W/gen-pub2.pem"
cmp -s "$W/gen-pub.pem" "$W/gen-pub2.pem" || pcsc_fail "PKCS#15 and PKCS#11 public keys differ"

printf 'mdp11 virtual card signature test %s\n' "$$" >"$W/msg.txt"
must "pkcs11-tool --sign (generated key)" p11 --login --pin "$PIN" --sign -m SHA256-RSA-PKCS \
	--id "$GEN_ID" -i "$W/msg.txt" -o "$W/gen.sig"
must "openssl rejects the generated key's signature" openssl dgst -sha256 \
	-verify "$W/gen-pub.pem" -signature "$W/gen.sig" "$W/msg.txt"

head -c 32 /dev/urandom >"$W/secret.bin"
must "openssl encrypt" openssl pkeyutl -encrypt -pubin -inkey "$W/gen-pub.pem" \
	-pkeyopt rsa_padding_mode:pkcs1 -in "$W/secret.bin" -out "$W/gen.enc"
must "pkcs11-tool --decrypt (generated key)" p11 --login --pin "$PIN" --decrypt -m RSA-PKCS \
	--id "$GEN_ID" -i "$W/gen.enc" -o "$W/gen.dec"
cmp -s "$W/secret.bin" "$W/gen.dec" || pcsc_fail "decryption with the generated key is wrong"

# ---- RSA-2048 imported ----
must "openssl genrsa" openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out "$W/imp.pem"
must "openssl pubkey" openssl pkey -in "$W/imp.pem" -pubout -out "$W/imp-pub.pem"
must "pkcs15-init --store-private-key" pkcs15-init --store-private-key "$W/imp.pem" \
	--verify-pin --auth-id 80 --pin "$PIN" --label imported --key-usage sign,decrypt
pkcs15-tool --dump >"$W/dump2.txt" 2>&1 || pcsc_fail "pkcs15-tool -D after import"
grep -q "imported" "$W/dump2.txt" || pcsc_fail "pkcs15-tool -D does not list the imported key"
grep -q "gen2048" "$W/dump2.txt" || pcsc_fail "the generated key is gone after the import"
IMP_ID=$(awk '/Private RSA Key \[imported\]/ { k = 1 } k && $1 == "ID" { print $NF; exit }' "$W/dump2.txt")
[ -n "$IMP_ID" ] && [ "$IMP_ID" != "$GEN_ID" ] || pcsc_fail "bad ID for the imported key"
must "pkcs15-tool --read-public-key (imported)" pkcs15-tool --read-public-key "$IMP_ID" \
	-o "$W/imp-pub-card.pem"
cmp -s "$W/imp-pub.pem" "$W/imp-pub-card.pem" ||
	pcsc_fail "the card's public key of the imported key differs from the original"

must "pkcs11-tool --sign (imported key)" p11 --login --pin "$PIN" --sign -m SHA256-RSA-PKCS \
	--id "$IMP_ID" -i "$W/msg.txt" -o "$W/imp.sig"
must "openssl rejects the imported key's signature" openssl dgst -sha256 \
	-verify "$W/imp-pub.pem" -signature "$W/imp.sig" "$W/msg.txt"
# RSA PKCS#1 v1.5 signatures are deterministic: the card must match OpenSSL with the same key.
must "openssl sign" openssl dgst -sha256 -sign "$W/imp.pem" -out "$W/imp-ref.sig" "$W/msg.txt"
cmp -s "$W/imp.sig" "$W/imp-ref.sig" || pcsc_fail "the card's signature differs from OpenSSL's"
must "openssl encrypt" openssl pkeyutl -encrypt -pubin -inkey "$W/imp-pub.pem" \
	-pkeyopt rsa_padding_mode:pkcs1 -in "$W/secret.bin" -out "$W/imp.enc"
must "pkcs11-tool --decrypt (imported key)" p11 --login --pin "$PIN" --decrypt -m RSA-PKCS \
	--id "$IMP_ID" -i "$W/imp.enc" -o "$W/imp.dec"
cmp -s "$W/secret.bin" "$W/imp.dec" || pcsc_fail "decryption with the imported key is wrong"

# ---- a certificate for the imported key ----
must "openssl req -x509" openssl req -new -x509 -key "$W/imp.pem" -subj "/CN=mdp11 vcard test" \
	-days 2 -out "$W/cert.pem"
must "pkcs15-init --store-certificate" pkcs15-init --store-certificate "$W/cert.pem" \
	--id "$IMP_ID" --verify-pin --auth-id 80 --pin "$PIN"
must "pkcs15-tool -r" pkcs15-tool --read-certificate "$IMP_ID" -o "$W/cert-card.pem"
must "openssl x509 (original)" openssl x509 -in "$W/cert.pem" -outform DER -out "$W/cert.der"
must "openssl x509 (card)" openssl x509 -in "$W/cert-card.pem" -outform DER \
	-out "$W/cert-card.der"
cmp -s "$W/cert.der" "$W/cert-card.der" || pcsc_fail "the certificate read back differs"
pkcs15-tool --list-certificates >"$W/certs.txt" 2>&1 || pcsc_fail "pkcs15-tool --list-certificates"
grep -q "X.509 Certificate \[imported\]" "$W/certs.txt" || pcsc_fail "the certificate is not listed"

# The card still works after the card server restarts (state reloaded from the file).
vcard_restart
must "pkcs11-tool --sign after a card server restart" p11 --login --pin "$PIN" --sign \
	-m SHA256-RSA-PKCS --id "$GEN_ID" -i "$W/msg.txt" -o "$W/gen2.sig"
must "signature after restart" openssl dgst -sha256 -verify "$W/gen-pub.pem" \
	-signature "$W/gen2.sig" "$W/msg.txt"
pkcs15-tool --dump >"$W/dump3.txt" 2>&1 || pcsc_fail "pkcs15-tool -D after restart"
grep -q "X.509 Certificate \[imported\]" "$W/dump3.txt" || pcsc_fail "certificate lost over a restart"

# ---- wrong PIN: counts down, then blocks ----
tries_left() {
	pkcs15-tool --list-pins 2>/dev/null | sed -n 's/^[[:space:]]*Tries left[[:space:]]*:[[:space:]]*//p' |
		head -n 1
}
[ "$(tries_left)" = 3 ] || pcsc_fail "pkcs15-tool shows $(tries_left) tries left, expected 3"
n=2
for bad in 000000 111111 222222; do
	run p11 --login --pin "$bad" --list-objects && pcsc_fail "a wrong PIN was accepted"
	if [ $n -gt 0 ]; then
		[ "$(tries_left)" = $n ] || pcsc_fail "after a wrong PIN: $(tries_left) tries left, expected $n"
		[ "$(info_field 'PIN tries left')" = "$n of 3" ] ||
			pcsc_fail "info after a wrong PIN: $(info_field 'PIN tries left')"
	fi
	n=$((n - 1))
done
[ "$(info_field 'PIN tries left')" = "0 of 3 (blocked)" ] ||
	pcsc_fail "info does not show a blocked PIN: $(info_field 'PIN tries left')"
p11 --login --pin "$PIN" --list-objects >"$W/blocked.txt" 2>&1 &&
	pcsc_fail "the right PIN was accepted on a blocked card"
grep -q "CKR_PIN_LOCKED" "$W/blocked.txt" || pcsc_fail "a blocked PIN is not reported as CKR_PIN_LOCKED"
p11 --list-token-slots >"$W/flags.txt" 2>&1
grep -qi "locked" "$W/flags.txt" || pcsc_fail "the token flags do not show the PIN locked"
# Blocked stays blocked, also over a card server restart.
vcard_restart
run p11 --login --pin "$PIN" --list-objects && pcsc_fail "the PIN unblocked itself on restart"

# ---- unblock with the admin key ----
run gids --unblock --admin-key 000000000000000000000000000000000000000000000000 \
	--pin "$NEWPIN" && pcsc_fail "unblock worked with a wrong admin key"
must "gids-tool --unblock" gids --unblock --admin-key "$ADMIN" --pin "$NEWPIN"
[ "$(info_field 'PIN tries left')" = "3 of 3" ] ||
	pcsc_fail "info after unblock: $(info_field 'PIN tries left')"
run p11 --login --pin "$PIN" --list-objects && pcsc_fail "the old PIN works after unblock"
must "pkcs11-tool --sign with the new PIN" p11 --login --pin "$NEWPIN" --sign -m SHA256-RSA-PKCS \
	--id "$IMP_ID" -i "$W/msg.txt" -o "$W/imp2.sig"
cmp -s "$W/imp2.sig" "$W/imp-ref.sig" || pcsc_fail "signature with the new PIN differs"
must "pkcs11-tool --decrypt with the new PIN" p11 --login --pin "$NEWPIN" --decrypt -m RSA-PKCS \
	--id "$GEN_ID" -i "$W/gen.enc" -o "$W/gen2.dec"
cmp -s "$W/secret.bin" "$W/gen2.dec" || pcsc_fail "decryption with the new PIN is wrong"

# ---- everything stops ----
vpid=$PCSC_VCARD_PID
ppid=$PCSC_PCSCD_PID
pcsc_stop
pcsc_alive "$vpid" && pcsc_fail "the card server survived pcsc_stop"
pcsc_alive "$ppid" && pcsc_fail "pcscd survived pcsc_stop"
must "the state file does not load after the card server stopped" "$VCARD_BIN" info "$STATE"
echo "vcard-opensc: OK"
