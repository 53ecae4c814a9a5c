#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# ykcs11 2.2 (Yubico's PKCS#11 module, libykpiv) as the referee of the virtual PIV card alone,
# behind pcscd, in a reader named "Yubico ..." (the only readers ykcs11 2.2 sees): the token,
# keys without certificates (found through GET METADATA, as the card has no attestation key),
# ECDSA and RSA signatures checked by OpenSSL, a certificate self-signed by a card key through
# libp11's engine, key generation with the management key as SO PIN, and OpenSC reading what
# ykcs11 wrote.
. "$top_srcdir/tests/integration/lib-piv.sh"
pcsc_enter_ns "$@"
piv_need pkcs11-tool yubico-piv-tool pkcs15-tool openssl "$PIV_YKCS11"

W=$PCSC_TMP
piv_create "$W/card"
pcsc_start "$W/card"
case $PCSC_READER in
Yubico*) ;;
*) pcsc_fail "reader \"$PCSC_READER\": ykcs11 2.2 would not see it" ;;
esac

# The EC point of a PEM public key on stdin, as hex.
ec_point() {
	openssl pkey -pubin -noout -text | awk '/^pub:/ { f = 1; next }
		f && /^ +[0-9a-f:]+$/ { gsub(/[ :]/, ""); printf "%s", $0; next } f { exit }'
}

# ---- the token ----
serial=$(ykpiv -a status 2>/dev/null | sed -n 's/^Serial Number:	//p')
[ -n "$serial" ] || pcsc_fail "no serial from yubico-piv-tool"
p11_ykcs11 -L >"$W/slots.txt" 2>&1 || pcsc_fail "pkcs11-tool -L with ykcs11"
grep -q "token label *: YubiKey PIV #$serial" "$W/slots.txt" ||
	pcsc_fail "token label: $(grep 'token label' "$W/slots.txt")"
grep -q "token model *: YubiKey YK5" "$W/slots.txt" || pcsc_fail "ykcs11 does not see a YubiKey 5"

# ---- keys without certificates: ykcs11 finds them through GET METADATA ----
k="--key=$PIV_MGM" # (an optional argument: -k alone would prompt)
# shellcheck disable=SC2086
{
	piv_must "generate 9A P-256" ykpiv $k -a generate -s 9a -A ECCP256 -o "$W/pub01.pem"
	piv_must "generate 9C RSA-2048" ykpiv $k -a generate -s 9c -A RSA2048 -o "$W/pub02.pem"
}
p11_ykcs11 --login --pin "$PIV_PIN" -O >"$W/objects.txt" 2>&1 || pcsc_fail "pkcs11-tool -O"
grep -q "Private Key Object; EC" "$W/objects.txt" || pcsc_fail "ykcs11 lists no EC private key"
grep -q "Private Key Object; RSA" "$W/objects.txt" || pcsc_fail "ykcs11 lists no RSA private key"
grep -q "Certificate Object" "$W/objects.txt" && pcsc_fail "a certificate where none was written"

printf 'signed through ykcs11\n' >"$W/msg"
piv_must "ECDSA with 9A" p11_ykcs11 --login --pin "$PIV_PIN" --sign --id 01 -m ECDSA-SHA256 \
	-i "$W/msg" -o "$W/s01" --signature-format openssl
piv_verify "$W/pub01.pem" "$W/s01" "$W/msg" || pcsc_fail "ECDSA signature through ykcs11"
# 9C: PIN always; pkcs11-tool logs in again for the key (CKA_ALWAYS_AUTHENTICATE)
piv_must "RSA with 9C" p11_ykcs11 --login --pin "$PIV_PIN" --sign --id 02 -m SHA256-RSA-PKCS \
	-i "$W/msg" -o "$W/s02"
piv_verify "$W/pub02.pem" "$W/s02" "$W/msg" || pcsc_fail "RSA signature through ykcs11"
piv_must "RSA-PSS with 9C" p11_ykcs11 --login --pin "$PIV_PIN" --sign --id 02 \
	-m SHA256-RSA-PKCS-PSS --mgf MGF1-SHA256 --salt-len 32 -i "$W/msg" -o "$W/s02p"
piv_verify "$W/pub02.pem" "$W/s02p" "$W/msg" -sigopt rsa_padding_mode:pss \
	-sigopt rsa_pss_saltlen:32 || pcsc_fail "RSA-PSS signature through ykcs11"

# ---- a certificate self-signed by the card's 9A key (OpenSSL, libp11's engine, ykcs11) ----
if [ -n "$PIV_ENGINE" ]; then
	piv_must "self-signed certificate through ykcs11" piv_selfsign \
		"pkcs11:id=%01;type=private" "/CN=ykcs11 self-signed" "$W/self.pem"
	piv_must "the self-signed certificate verifies" openssl verify -CAfile "$W/self.pem" \
		"$W/self.pem"
	# (ykcs11 2.2 gives the curve as explicit parameters, Yubico/yubico-piv-tool#393: compare
	# the points)
	[ "$(openssl x509 -in "$W/self.pem" -noout -pubkey | ec_point)" = \
		"$(ec_point <"$W/pub01.pem")" ] ||
		pcsc_fail "the self-signed certificate is not for the 9A key"
	piv_must "DER" openssl x509 -in "$W/self.pem" -outform DER -out "$W/self.der"
	piv_must "write the certificate through ykcs11 (SO = management key)" p11_ykcs11 --login \
		--login-type so --so-pin "$PIV_MGM" --write-object "$W/self.der" --type cert --id 01
	piv_must "read it with yubico-piv-tool" ykpiv -a read-certificate -s 9a -o "$W/read01.pem"
	[ "$(openssl x509 -in "$W/read01.pem" -outform DER | od -An -tx1)" = \
		"$(od -An -tx1 <"$W/self.der")" ] || pcsc_fail "the card holds another certificate"
else
	pcsc_log "libp11's engine is not installed: no self-signed certificate step"
fi

# OpenSC reads a certificate ykcs11 wrote (a named curve: OpenSC 0.23 ignores a certificate whose
# key has explicit curve parameters, like the self-signed one above)
piv_must "certificate for 9C" piv_cert "$W/pub02.pem" "/CN=slot 9c" "$W/cert02.pem"
piv_must "DER" openssl x509 -in "$W/cert02.pem" -outform DER -out "$W/cert02.der"
piv_must "write the 9C certificate through ykcs11" p11_ykcs11 --login --login-type so \
	--so-pin "$PIV_MGM" --write-object "$W/cert02.der" --type cert --id 02
pkcs15-tool --read-certificate 02 >"$W/read02.pem" 2>/dev/null ||
	pcsc_fail "OpenSC cannot read the certificate ykcs11 wrote"
[ "$(openssl x509 -in "$W/read02.pem" -outform DER | od -An -tx1)" = \
	"$(od -An -tx1 <"$W/cert02.der")" ] || pcsc_fail "OpenSC reads another certificate"

# ---- key generation through ykcs11: SO login with the management key ----
piv_must "keypairgen P-384 in 9D" p11_ykcs11 --login --login-type so --so-pin "$PIV_MGM" \
	--keypairgen --key-type EC:secp384r1 --id 03
# ykcs11 leaves a placeholder certificate in the slot: its public key is the new key's
piv_must "read the 9D certificate" ykpiv -a read-certificate -s 9d -o "$W/cert03.pem"
piv_must "public key of 9D" openssl x509 -in "$W/cert03.pem" -noout -pubkey -out "$W/pub03.pem"
piv_must "ECDSA with the new 9D key" p11_ykcs11 --login --pin "$PIV_PIN" --sign --id 03 \
	-m ECDSA-SHA256 -i "$W/msg" -o "$W/s03" --signature-format openssl
piv_verify "$W/pub03.pem" "$W/s03" "$W/msg" || pcsc_fail "signature of the key ykcs11 generated"
piv_mustnt "keypairgen with a wrong management key" p11_ykcs11 --login --login-type so \
	--so-pin 000102030405060708090a0b0c0d0e0f1011121314151617 --keypairgen \
	--key-type EC:prime256v1 --id 04
echo "piv-ykcs11: ykcs11 2.2 lists, signs, writes a certificate and generates a key"
