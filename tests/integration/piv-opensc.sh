#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# OpenSC's PIV driver as the referee of the virtual PIV card alone, behind pcscd: recognition,
# PKCS#15 objects, ECDSA P-256/P-384 (P-384 with the PIN-less 9E), RSA PKCS#1 v1.5 and PSS
# signatures, RSA PKCS#1 v1.5 and
# OAEP decryption, ECDH, a retired key shown through the key history object, random numbers
# through the management key's challenge, PIN change, lockout and unblock with the PUK. Keys are
# made with yubico-piv-tool (OpenSC 0.23's piv-tool cannot generate: its EC path fails on the
# host, OpenSC#3156 for RSA); every signature is checked by OpenSSL.
. "$top_srcdir/tests/integration/lib-piv.sh"
pcsc_enter_ns "$@"
piv_need opensc-tool pkcs15-tool pkcs11-tool yubico-piv-tool openssl "$PIV_OPENSC"

W=$PCSC_TMP
piv_create "$W/card"
pcsc_start "$W/card"

# ---- recognition: the YubiKey 5 ATR, OpenSC's PIV driver (not PIVKey, not GIDS) ----
atr=$(opensc-tool --atr 2>/dev/null)
[ "$atr" = "3b:fd:13:00:00:81:31:fe:15:80:73:c0:21:c0:57:59:75:62:69:4b:65:79:40" ] ||
	pcsc_fail "ATR $atr"
[ "$(opensc-tool -n 2>/dev/null)" = "Personal Identity Verification Card" ] ||
	pcsc_fail "OpenSC names the card \"$(opensc-tool -n 2>&1)\""
opensc-tool -s 00:FD:00:00:00 2>/dev/null | grep -q "^05 04 03" ||
	pcsc_fail "GET VERSION through opensc-tool: $(opensc-tool -s 00:FD:00:00:00 2>&1)"

# ---- keys and certificates (OpenSC shows a PIV key only with its certificate) ----
k="--key=$PIV_MGM" # (an optional argument: -k alone would prompt)
# shellcheck disable=SC2086
{
	piv_must "generate 9A P-256" ykpiv $k -a generate -s 9a -A ECCP256 -o "$W/pub01.pem"
	piv_must "generate 9C RSA-2048" ykpiv $k -a generate -s 9c -A RSA2048 -o "$W/pub02.pem"
	piv_must "generate 9D P-384" ykpiv $k -a generate -s 9d -A ECCP384 -o "$W/pub03.pem"
	piv_must "generate 9E P-384" ykpiv $k -a generate -s 9e -A ECCP384 -o "$W/pub04.pem"
	piv_must "openssl genrsa" openssl genrsa -out "$W/k05.pem" 2048
	piv_must "import an RSA key into 82" ykpiv $k -a import-key -s 82 -i "$W/k05.pem"
}
piv_must "public key of 82" openssl pkey -in "$W/k05.pem" -pubout -out "$W/pub05.pem"
for s in 9a:01 9c:02 9d:03 9e:04 82:05; do
	slot=${s%:*}
	id=${s#*:}
	piv_must "certificate for $slot" piv_cert "$W/pub$id.pem" "/CN=slot $slot" "$W/cert$id.pem"
	# shellcheck disable=SC2086
	piv_must "import-certificate $slot" ykpiv $k -a import-certificate -s "$slot" \
		-i "$W/cert$id.pem"
done
# Without a key history object OpenSC shows no retired key; with "1 on card" it shows 82.
pkcs15-tool --list-keys >"$W/keys0.txt" 2>&1 || pcsc_fail "pkcs15-tool --list-keys"
grep -q "Retired" "$W/keys0.txt" && pcsc_fail "a retired key shown without a key history object"
echo c10101c20100fe00 >"$W/history.hex"
# shellcheck disable=SC2086
piv_must "write the key history object" ykpiv $k -a write-object --id 0x5fc10c -f hex \
	-i "$W/history.hex"

# Everything is in the state file: a new server process serves the same card.
vcard_restart
pkcs15-tool --list-keys >"$W/keys.txt" 2>&1 || pcsc_fail "pkcs15-tool --list-keys"
for label in "PIV AUTH key" "SIGN key" "KEY MAN key" "CARD AUTH key" "Retired KEY MAN 1"; do
	grep -q "$label" "$W/keys.txt" || pcsc_fail "pkcs15-tool does not list \"$label\""
done
pkcs15-tool --read-certificate 01 >"$W/read01.pem" 2>/dev/null ||
	pcsc_fail "pkcs15-tool --read-certificate 01"
[ "$(openssl x509 -in "$W/read01.pem" -outform DER | od -An -tx1)" = \
	"$(openssl x509 -in "$W/cert01.pem" -outform DER | od -An -tx1)" ] ||
	pcsc_fail "the certificate read by OpenSC is not the one written"
p11_opensc -L >"$W/slots.txt" 2>&1 || pcsc_fail "pkcs11-tool -L"
# OpenSC's serial: the last 16 hex digits of the CHUID GUID (spec/piv.md §5.1)
guid=$("$VCARD_BIN" info "$W/card" | sed -n 's/^card id: *//p')
grep -q "serial num *: $(printf '%s' "$guid" | cut -c17-32)" "$W/slots.txt" ||
	pcsc_fail "token serial is not from the CHUID GUID $guid: $(grep serial "$W/slots.txt")"
grep -q "token label *: slot 9a" "$W/slots.txt" ||
	pcsc_fail "token label is not the first certificate's CN: $(grep label "$W/slots.txt")"

# ---- signatures, each checked by OpenSSL ----
printf 'signed through OpenSC\n' >"$W/msg"
sign() { # ID MECHANISM OUT [pkcs11-tool options]
	id=$1
	mech=$2
	out=$3
	shift 3
	piv_must "sign with $id ($mech)" p11_opensc "$@" --sign --id "$id" -m "$mech" \
		-i "$W/msg" -o "$out"
}
sign 01 ECDSA-SHA256 "$W/s01" --login --pin "$PIV_PIN" --signature-format openssl
piv_verify "$W/pub01.pem" "$W/s01" "$W/msg" || pcsc_fail "ECDSA P-256 signature of 9A"
# 9C: PIN always (CKA_ALWAYS_AUTHENTICATE): OpenSC logs in again just before each use
sign 02 SHA256-RSA-PKCS "$W/s02" --login --pin "$PIV_PIN"
piv_verify "$W/pub02.pem" "$W/s02" "$W/msg" || pcsc_fail "RSA PKCS#1 v1.5 signature of 9C"
sign 02 SHA256-RSA-PKCS-PSS "$W/s02p" --login --pin "$PIV_PIN" \
	--mgf MGF1-SHA256 --salt-len 32
piv_verify "$W/pub02.pem" "$W/s02p" "$W/msg" -sigopt rsa_padding_mode:pss \
	-sigopt rsa_pss_saltlen:32 || pcsc_fail "RSA-PSS signature of 9C"
# 9E: card authentication (the card needs no PIN for it; pkcs11-tool logs in all the same). 9D's
# EC key is for key agreement only in OpenSC (below).
sign 04 ECDSA-SHA384 "$W/s04" --login --pin "$PIV_PIN" --signature-format openssl
openssl dgst -sha384 -verify "$W/pub04.pem" -signature "$W/s04" "$W/msg" >/dev/null ||
	pcsc_fail "ECDSA P-384 signature of 9E"

# ---- decryption with the retired key (82): PKCS#1 v1.5 and OAEP, unpadded by OpenSC ----
printf 'a session key' >"$W/plain"
piv_must "encrypt PKCS#1" openssl pkeyutl -encrypt -pubin -inkey "$W/pub05.pem" -in "$W/plain" \
	-out "$W/c1"
piv_must "decrypt RSA-PKCS with 82" p11_opensc --login --pin "$PIV_PIN" --decrypt --id 05 \
	-m RSA-PKCS -i "$W/c1" -o "$W/p1"
cmp -s "$W/plain" "$W/p1" || pcsc_fail "RSA-PKCS decryption gave other bytes"
piv_must "encrypt OAEP" openssl pkeyutl -encrypt -pubin -inkey "$W/pub05.pem" -in "$W/plain" \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 \
	-out "$W/c2"
piv_must "decrypt RSA-PKCS-OAEP with 82" p11_opensc --login --pin "$PIV_PIN" --decrypt --id 05 \
	-m RSA-PKCS-OAEP --hash-algorithm SHA256 --mgf MGF1-SHA256 -i "$W/c2" -o "$W/p2"
cmp -s "$W/plain" "$W/p2" || pcsc_fail "OAEP decryption gave other bytes"

# ---- ECDH with 9D (P-384): the same secret as OpenSSL's ----
piv_must "peer key" openssl ecparam -name secp384r1 -genkey -noout -out "$W/peer.key"
piv_must "peer public key" openssl pkey -in "$W/peer.key" -pubout -outform DER -out "$W/peer.der"
piv_must "ECDH through OpenSC" p11_opensc --login --pin "$PIV_PIN" --derive -m ECDH1-DERIVE \
	--id 03 -i "$W/peer.der" -o "$W/z-card"
piv_must "ECDH in OpenSSL" openssl pkeyutl -derive -inkey "$W/peer.key" -peerkey "$W/pub03.pem" \
	-out "$W/z-ossl"
cmp -s "$W/z-card" "$W/z-ossl" || pcsc_fail "the card's ECDH secret differs from OpenSSL's"

# ---- random numbers: the management key's challenge (P1 00, spec/piv.md §4.7) ----
p11_opensc --generate-random 64 >"$W/rand" 2>>"$W/commands.log" ||
	pcsc_fail "C_GenerateRandom through OpenSC"
[ "$(wc -c <"$W/rand")" -eq 64 ] || pcsc_fail "C_GenerateRandom gave $(wc -c <"$W/rand") bytes"

# ---- PIN: change, lockout, unblock with the PUK ----
piv_must "change the PIN" p11_opensc --change-pin --pin "$PIV_PIN" --new-pin 24681357
piv_mustnt "the old PIN still works" p11_opensc --login --pin "$PIV_PIN" -O
piv_must "the new PIN" p11_opensc --login --pin 24681357 -O
for i in 1 2 3; do
	piv_mustnt "a wrong PIN was accepted" p11_opensc --login --pin 00000000 -O
done
p11_opensc -L 2>/dev/null | grep -q "user PIN locked" || pcsc_fail "no PIN lock flag after 3 tries"
piv_mustnt "a blocked PIN was accepted" p11_opensc --login --pin 24681357 -O
piv_must "unblock with the PUK" pkcs15-tool --unblock-pin --puk "$PIV_PUK" --new-pin 11223344
piv_must "the PIN set by the unblock" p11_opensc --login --pin 11223344 --sign --id 01 \
	-m ECDSA-SHA256 -i "$W/msg" -o "$W/s01b" --signature-format openssl
piv_verify "$W/pub01.pem" "$W/s01b" "$W/msg" || pcsc_fail "signature after the unblock"
echo "piv-opensc: OpenSC's PIV driver lists, signs, decrypts, derives, unblocks"
