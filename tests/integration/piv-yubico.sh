#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# yubico-piv-tool 2.2 (libykpiv) as the referee of the virtual PIV card alone, behind pcscd:
# status, version and serial, management key change, generate (PIN and touch policies), import
# of RSA and EC keys, certificates (import, read, delete), the tool's own signature and
# deciphering tests, signatures checked by OpenSSL, raw objects (the container map 5FFF10),
# CHUID and CCC, PIN and PUK change, lockout and unblock, PIN retries, RESET.
#
# Not here: -a selfsign-certificate and -a request-certificate. In Debian 12's yubico-piv-tool
# 2.2.0 (OpenSSL 3) both fail inside the tool before any APDU is sent, with a real YubiKey too
# (Yubico/yubico-piv-tool#388); piv-ykcs11.sh makes a certificate self-signed by a card key
# through ykcs11 instead.
. "$top_srcdir/tests/integration/lib-piv.sh"
pcsc_enter_ns "$@"
piv_need yubico-piv-tool openssl

W=$PCSC_TMP
piv_create "$W/card"
pcsc_start "$W/card"
MGM2=00112233445566778899aabbccddeeff0011223344556677
k="--key=$MGM2" # (an optional argument: -k alone would prompt)

# ---- status of a new card ----
ykpiv -a version -a status >"$W/status.txt" 2>&1 || pcsc_fail "yubico-piv-tool -a status"
grep -q "^Application version 5.4.3 found" "$W/status.txt" || pcsc_fail "version: $(head -1 "$W/status.txt")"
serial=$("$VCARD_BIN" info "$W/card" | sed -n 's/^PIV serial: *//p')
grep -q "^Serial Number:	$serial$" "$W/status.txt" || pcsc_fail "not the card's serial $serial"
grep -q "^CHUID:	3019d4e739da739ced39ce739d836858210842108421c84210c3eb3410" "$W/status.txt" ||
	pcsc_fail "no CHUID of the YubiKey tools' layout"
grep -q "^CCC:	f015a000000116ff02" "$W/status.txt" || pcsc_fail "no CCC"
grep -q "^PIN tries left:	3$" "$W/status.txt" || pcsc_fail "PIN tries"

# ---- the management key: the default, a new one, the old refused ----
piv_must "set-mgm-key" ykpiv --key=$PIV_MGM -a set-mgm-key -n "$MGM2"
piv_mustnt "the old management key still works" ykpiv --key=$PIV_MGM -a generate -s 9a \
	-o "$W/x.pem"

# ---- keys: generated (policies), imported ----
# shellcheck disable=SC2086
{
	piv_must "generate 9A P-256" ykpiv $k -a generate -s 9a -A ECCP256 -o "$W/pub9a.pem"
	piv_must "generate 9C RSA-2048" ykpiv $k -a generate -s 9c -A RSA2048 -o "$W/pub9c.pem"
	piv_must "generate 9E P-384, PIN never, touch never" ykpiv $k -a generate -s 9e \
		-A ECCP384 --pin-policy=never --touch-policy=never -o "$W/pub9e.pem"
	piv_must "openssl genrsa" openssl genrsa -out "$W/k9d.pem" 2048
	piv_must "import RSA-2048 into 9D" ykpiv $k -a import-key -s 9d -i "$W/k9d.pem" \
		--pin-policy=once
	piv_must "openssl ecparam" openssl ecparam -name prime256v1 -genkey -noout \
		-out "$W/k82.pem"
	piv_must "import P-256 into 82" ykpiv $k -a import-key -s 82 -i "$W/k82.pem"
}
for s in 9a 9c 9d 9e 82; do
	[ -f "$W/pub$s.pem" ] || openssl pkey -in "$W/k$s.pem" -pubout -out "$W/pub$s.pem" ||
		pcsc_fail "public key of $s"
	piv_must "certificate for $s" piv_cert "$W/pub$s.pem" "/CN=slot $s" "$W/cert$s.pem"
	# shellcheck disable=SC2086
	piv_must "import-certificate $s" ykpiv $k -a import-certificate -s "$s" -i "$W/cert$s.pem"
done
piv_must "read-certificate 9a" ykpiv -a read-certificate -s 9a -o "$W/read9a.pem"
[ "$(openssl x509 -in "$W/read9a.pem" -outform DER | od -An -tx1)" = \
	"$(openssl x509 -in "$W/cert9a.pem" -outform DER | od -An -tx1)" ] ||
	pcsc_fail "read-certificate does not give back the certificate written"
ykpiv -a status >"$W/status2.txt" 2>&1 || pcsc_fail "status with keys"
for s in 9a 9c 9d 9e 82; do
	grep -q "^Slot $s:" "$W/status2.txt" || pcsc_fail "status does not show slot $s"
done

# ---- the tool's own tests: it signs or deciphers, then checks against the certificate given ----
piv_must "test-signature 9a" ykpiv -a verify-pin -P "$PIV_PIN" -a test-signature -s 9a -i "$W/cert9a.pem"
piv_must "test-signature 9c (PIN always)" ykpiv -a verify-pin -P "$PIV_PIN" -a test-signature -s 9c -i "$W/cert9c.pem"
piv_must "test-signature 9e (PIN never)" ykpiv -a test-signature -s 9e -i "$W/cert9e.pem"
piv_must "test-decipher 9d (RSA)" ykpiv -a verify-pin -P "$PIV_PIN" -a test-decipher -s 9d -i "$W/cert9d.pem"
piv_must "test-decipher 82 (ECDH)" ykpiv -a verify-pin -P "$PIV_PIN" -a test-decipher -s 82 -i "$W/cert82.pem"
piv_mustnt "9a signed without the PIN" ykpiv -a test-signature -s 9a -i "$W/cert9a.pem"

# ---- signatures checked by OpenSSL (--sign, a hidden option, runs after the actions given) ----
printf 'signed by yubico-piv-tool\n' >"$W/msg"
piv_must "sign with 9c" ykpiv -a verify-pin -P "$PIV_PIN" --sign -s 9c -A RSA2048 -H SHA256 \
	-i "$W/msg" -o "$W/s9c"
piv_verify "$W/pub9c.pem" "$W/s9c" "$W/msg" || pcsc_fail "RSA signature of 9c"
piv_must "sign with 9e" ykpiv -a version --sign -s 9e -A ECCP384 -H SHA256 -i "$W/msg" -o "$W/s9e"
piv_verify "$W/pub9e.pem" "$W/s9e" "$W/msg" || pcsc_fail "ECDSA signature of 9e"
piv_must "sign with 9d (imported)" ykpiv -a verify-pin -P "$PIV_PIN" --sign -s 9d -A RSA2048 \
	-H SHA256 -i "$W/msg" -o "$W/s9d"
piv_verify "$W/pub9d.pem" "$W/s9d" "$W/msg" || pcsc_fail "signature of the imported 9d"
piv_must "sign with 82 (imported)" ykpiv -a verify-pin -P "$PIV_PIN" --sign -s 82 -A ECCP256 \
	-H SHA256 -i "$W/msg" -o "$W/s82"
piv_verify "$W/pub82.pem" "$W/s82" "$W/msg" || pcsc_fail "signature of the imported 82"

# ---- delete a certificate; attestation is not offered ----
# shellcheck disable=SC2086
piv_must "delete-certificate 9e" ykpiv $k -a delete-certificate -s 9e
ykpiv -a status 2>&1 | grep -q "^Slot 9e:" && pcsc_fail "slot 9e still has a certificate"
piv_mustnt "attest succeeded on a card without an attestation key" ykpiv -a attest -s 9a

# ---- raw objects: a 107-byte container map record, CHUID and CCC ----
rec=$(printf '%s' "6d00790063006f006e007400" && printf '%0136d' 0 && printf '9a0300010101ff' &&
	printf '%040d' 0)
printf '816b%s\n' "$rec" >"$W/mscmap.hex"
# shellcheck disable=SC2086
piv_must "write-object 5fff10" ykpiv $k -a write-object --id 0x5fff10 -f hex -i "$W/mscmap.hex"
ykpiv -a read-object --id 0x5fff10 -f hex -o "$W/mscmap.out" >>"$W/commands.log" 2>&1 ||
	pcsc_fail "read-object 5fff10"
[ "$(tr -d '\n' <"$W/mscmap.out")" = "816b$rec" ] ||
	pcsc_fail "read-object 5fff10 gave $(cat "$W/mscmap.out")"
chuid=$(grep '^CHUID:' "$W/status.txt")
# shellcheck disable=SC2086
piv_must "set-chuid" ykpiv $k -a set-chuid -a set-ccc
ykpiv -a status >"$W/status3.txt" 2>&1
[ "$(grep '^CHUID:' "$W/status3.txt")" != "$chuid" ] || pcsc_fail "set-chuid kept the CHUID"

# ---- PIN and PUK ----
piv_must "verify-pin" ykpiv -a verify-pin -P "$PIV_PIN"
piv_must "change-pin" ykpiv -a change-pin -P "$PIV_PIN" -N 24681357
piv_must "change-puk" ykpiv -a change-puk -P "$PIV_PUK" -N 87654321
piv_mustnt "the old PIN was accepted" ykpiv -a verify-pin -P "$PIV_PIN"
piv_mustnt "a wrong PIN was accepted" ykpiv -a verify-pin -P 000000
piv_mustnt "a wrong PIN was accepted" ykpiv -a verify-pin -P 000000
ykpiv -a status 2>&1 | grep -q "^PIN tries left:	0$" || pcsc_fail "the PIN is not blocked"
piv_mustnt "a blocked PIN was accepted" ykpiv -a verify-pin -P 24681357
piv_mustnt "unblock with the old PUK" ykpiv -a unblock-pin -P "$PIV_PUK" -N 135791
piv_must "unblock-pin" ykpiv -a unblock-pin -P 87654321 -N 135791
piv_must "the PIN set by the unblock" ykpiv -a verify-pin -P 135791 -a test-signature -s 9a -i "$W/cert9a.pem"
# shellcheck disable=SC2086
piv_must "pin-retries 5 4" ykpiv $k -a verify-pin -P 135791 -a pin-retries --pin-retries=5 \
	--puk-retries=4
ykpiv -a status 2>&1 | grep -q "^PIN tries left:	5$" || pcsc_fail "pin-retries: not 5 tries"
piv_must "pin-retries resets the PIN" ykpiv -a verify-pin -P "$PIV_PIN"

# ---- RESET: refused until PIN and PUK are blocked ----
piv_mustnt "reset with PIN and PUK usable" ykpiv -a reset
for i in 1 2 3 4 5; do
	piv_run ykpiv -a verify-pin -P 000000
done
for i in 1 2 3 4; do
	piv_run ykpiv -a change-puk -P 00000000 -N 11111111
done
piv_must "reset" ykpiv -a reset
ykpiv -a status >"$W/status4.txt" 2>&1
grep -q "^Slot " "$W/status4.txt" && pcsc_fail "certificates left after RESET"
grep -q "^PIN tries left:	3$" "$W/status4.txt" || pcsc_fail "RESET: PIN tries not back to 3"
piv_must "the default PIN after RESET" ykpiv -a verify-pin -P "$PIV_PIN"
piv_must "the default management key after RESET" ykpiv --key=$PIV_MGM -a generate -s 9a \
	-A ECCP256 -o "$W/after.pem"
echo "piv-yubico: yubico-piv-tool 2.2 generates, imports, signs, reads and writes, resets"
