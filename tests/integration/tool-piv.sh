#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# mdp11-tool on embedded virtual PIV cards (docs/piv.md): a card with its own AES management key
# is changed only with --admin-key-*, keys imported from Windows BLOBs (CAPI PRIVATEKEYBLOB, CNG
# ECCPRIVATEBLOB) land in PIV slots with the public keys OpenSSL computes, a blocked PIN is
# unblocked with the PUK (pin unblock --puk), the PUK and the management key change (16 -> 32
# bytes), list --json shows slots and both counters, and what PIV cannot do is refused with a
# reason (P-521, the admin key unblocking the PIN).
set -u
. "$top_srcdir/tests/integration/lib-run.sh"
run_init tool-piv
need_tool openssl python3
tool=$top_builddir/tools/mdp11-tool
vcardtool=$top_builddir/tools/mdp11-vcard
[ -x "$tool" ] && [ -x "$vcardtool" ] || fail "mdp11-tool / mdp11-vcard are not built"
cd "$WORK" || exit 1

tmp=$WORK
. "$top_srcdir/tests/integration/lib-tool.sh"
hex2bin() { perl -ne 'next if /^\s*#/; s/\s+//g; print pack("H*", $_)' "$1" >"$2"; }

export MDP11_CONF="$WORK/mdp11.conf"
printf '[readers]\npcsc = no\n' >"$MDP11_CONF"
unset MDP11_DEBUG MDP11_DEBUG_FILE
AES128=00112233445566778899aabbccddeeff
AES256=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
pin="--insecure-pin 123456"
adm="--insecure-admin-key $AES128"

run 0 "$vcardtool" create --type piv --kdf-cost 10 --mgm-alg aes128 \
	--insecure-admin-key "$AES128" card.vcard
export MDP11_VCARD="$WORK/card.vcard"

# ---- the user alone cannot change a card whose management key is its own ----
run 1 "$tool" generate --type ec:p256 --name nokey $pin
grep_err "admin-key-file"
run 0 "$tool" generate --type ec:p256 --name mine $pin $adm
run 1 "$tool" generate --type ec:p521 --name big $pin $adm
grep_err "ecdsa-p521 not supported"
run 2 "$tool" generate --type ec:p256 --name short $pin --insecure-admin-key 0011
grep_err "32, 48 or 64 hex digits"

# ---- Windows BLOBs through the BLOB translator ----
MDP11_TEST_DATA=${MDP11_TEST_DATA:-$top_srcdir/tests/data}
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null ||
	fail "openssl genpkey"
openssl rsa -in rsa.pem -outform MSBLOB -out rsa.capi 2>/dev/null || fail "openssl MSBLOB"
openssl pkey -in rsa.pem -pubout -outform DER -out rsa.spki 2>/dev/null || fail "openssl pkey"
hex2bin "$MDP11_TEST_DATA/vectors/cng_ecdsa_p256_eccprivateblob.wine.hex" ecdsa.blob
"$tool" blob convert --in ecdsa.blob --out ecdsa.spki --to spki || fail "blob convert"
run 0 "$tool" import --in rsa.capi --format capi-private --name capi $pin $adm
run 0 "$tool" import --in ecdsa.blob --name cng $pin $adm
run 0 "$tool" export --name capi --format der --out card-rsa.spki
cmp -s card-rsa.spki rsa.spki || fail "the CAPI blob's key is not the card's"
run 0 "$tool" export --name cng --format der --out card-ec.spki
cmp -s card-ec.spki ecdsa.spki || fail "the CNG blob's key is not the card's"
# a signature with the imported RSA key, checked by OpenSSL
run 0 "$tool" selfsign --name capi --subject /CN=capi --store $pin $adm --out capi.pem
openssl verify -CAfile capi.pem capi.pem >/dev/null 2>&1 || fail "the card's self-signed certificate"

# ---- list: slots, PIN and PUK counters ----
run 0 "$tool" list --json
[ "$(json 'd["cards"][0]["card_name"]')" = PIV ] || fail "not a PIV card"
[ "$(json 'sorted(c["key_reference"] for c in d["cards"][0]["containers"])')" = \
	"['82', '83', '9a']" ] || fail "slots"
[ "$(json 'd["cards"][0]["puk"]["tries_left"]')" = 3 ] || fail "PUK counter"

# ---- PIN blocked, unblocked with the PUK; PUK and management key changed ----
for i in 1 2 3; do
	"$tool" generate --type ec:p256 --name x --insecure-pin 000000 $adm >/dev/null 2>&1
done
run 5 "$tool" generate --type ec:p256 --name x $pin $adm
run 1 "$tool" pin unblock --insecure-admin-key "$AES128" --insecure-new-pin 654321
grep_err "PUK"
run 4 "$tool" pin unblock --insecure-puk 87654321 --insecure-new-pin 654321
run 0 "$tool" pin unblock --puk --insecure-puk 12345678 --insecure-new-pin 654321
grep_out "unblocked"
run 0 "$tool" pin change-puk --insecure-puk 12345678 --insecure-new-puk 11223344
run 4 "$tool" pin change-puk --insecure-puk 12345678 --insecure-new-puk 11223344
run 0 "$tool" list --json
[ "$(json 'd["cards"][0]["puk"]["tries_left"]')" = 2 ] || fail "PUK counter"
run 0 "$tool" pin change-admin-key --insecure-admin-key "$AES128" \
	--insecure-new-admin-key "$AES256"
run 4 "$tool" delete --name mine --insecure-pin 654321 $adm
run 0 "$tool" delete --name mine --insecure-pin 654321 --insecure-admin-key "$AES256"
run 0 "$tool" list
grep_out "capi"
! grep -q "mine" out || fail "the deleted key is listed"

echo "PASS: tool-piv"
