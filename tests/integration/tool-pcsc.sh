#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# mdp11-tool through PC/SC: a private pcscd with the vpcd reader serving a virtual card file.
# list, init of a blank card, import, generate, export, delete and PIN commands by reader name.
. "$top_srcdir/tests/integration/lib-pcsc.sh"
pcsc_enter_ns "$@"

tool="$top_builddir/tools/mdp11-tool"
[ -x "$tool" ] || pcsc_fail "$tool not built"
[ -x "$VCARD_BIN" ] || pcsc_skip "mdp11-vcard is not built"
command -v openssl >/dev/null 2>&1 || pcsc_skip "openssl not installed"

cd "$PCSC_TMP" || exit 1
export MDP11_CONF="$PCSC_TMP/mdp11.conf"
: >"$MDP11_CONF"
unset MDP11_VCARD MDP11_DEBUG

run() { # WANT_RC COMMAND...
	want=$1
	shift
	"$@" >out 2>err </dev/null
	rc=$?
	[ "$rc" = "$want" ] || { cat out err >&2; pcsc_fail "exit $rc (wanted $want): $*"; }
}
grep_out() { grep -q -- "$1" out || { cat out >&2; pcsc_fail "stdout lacks '$1'"; }; }

PIN=123456
ADMIN=010203040506070801020304050607080102030405060708
printf '%s\n' "$PIN" >pin
printf '%s\n' "$ADMIN" >admin
sel="--reader=$PCSC_READER"

# No card in the reader yet: the reader is listed, empty; no card at all is exit 3 with how to
# get one.
pcscd_start
run 3 "$tool" list
grep_out "reader \"$PCSC_READER\""
grep_out "absent"
grep -q "no card: insert a card" err || pcsc_fail "list without a card: no hint: $(cat err)"
run 3 "$tool" export "$sel" --container 0

# A blank card: init through the reader.
"$VCARD_BIN" create blank.vcard >/dev/null || pcsc_fail "mdp11-vcard create (blank)"
vcard_start "$PCSC_TMP/blank.vcard"
pcsc_wait_card present
run 0 "$tool" list
grep_out "blank"
run 0 "$tool" init "$sel" --admin-key-file admin --new-pin-file pin \
	--card-id 0f0e0d0c0b0a09080706050403020100
run 0 "$tool" list "$sel"
grep_out "cardid:      0f0e0d0c0b0a09080706050403020100"
grep_out "3 of 3 tries left"

# Keys through PC/SC.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl rsa -in rsa.pem -outform MSBLOB -out rsa.capi 2>/dev/null
openssl pkey -in rsa.pem -pubout -outform DER -out rsa.spki 2>/dev/null
run 0 "$tool" import "$sel" --pin-file pin --in rsa.capi --name capi
run 0 "$tool" export "$sel" --name capi --format der --out card.spki
cmp -s card.spki rsa.spki || pcsc_fail "the key imported through PC/SC is not the same"
run 0 "$tool" generate "$sel" --pin-file pin --type ec:p256 --name gen
run 0 "$tool" export "$sel" --name gen --format cng-ecc-public --out gen.blob
run 0 "$tool" blob show gen.blob
grep_out "ECS1"
# The CNG and PKCS#8 formats through PC/SC too, each compared with OpenSSL's public key.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec.pem 2>/dev/null
"$tool" blob convert --in rsa2.pem --out rsa2.cng --to cng-rsa-full || pcsc_fail "convert"
"$tool" blob convert --in ec.pem --out ec.cng --to cng-ecc-private || pcsc_fail "convert"
"$tool" blob convert --in rsa2.pem --out rsa2.p8 --to pkcs8 || pcsc_fail "convert"
for f in rsa2.cng:rsa2.pem ec.cng:ec.pem rsa2.p8:rsa2.pem; do
	in=${f%%:*}
	ref=${f#*:}
	name=$(echo "$in" | tr . -)
	run 0 "$tool" import "$sel" --pin-file pin --in "$in" --name "$name"
	run 0 "$tool" export "$sel" --name "$name" --format der --out "$name.spki"
	openssl pkey -in "$ref" -pubout -outform DER -out ref.spki 2>/dev/null
	cmp -s "$name.spki" ref.spki || pcsc_fail "$in imported through PC/SC is not the same key"
done
# Signatures through the PKCS#11 module over the same pcscd, verified with OpenSSL.
module="$top_builddir/.libs/mdp11.so"
if [ -f "$module" ] && command -v pkcs11-tool >/dev/null 2>&1; then
	head -c 1000 /dev/urandom >data
	for n in capi:SHA256-RSA-PKCS rsa2-cng:SHA256-RSA-PKCS ec-cng:ECDSA-SHA256 \
		rsa2-p8:SHA256-RSA-PKCS; do
		name=${n%%:*}
		mech=${n#*:}
		id=$(printf '%s' "$name" | od -An -tx1 | tr -d ' \n')
		run 0 "$tool" export "$sel" --name "$name" --out "$name.pub.pem"
		pkcs11-tool --module "$module" --login --pin "$PIN" --sign --mechanism "$mech" \
			--id "$id" --input-file data --output-file sig --signature-format openssl \
			>/dev/null 2>&1 || pcsc_fail "pkcs11-tool signs with $name through pcscd"
		openssl dgst -sha256 -verify "$name.pub.pem" -signature sig data >/dev/null 2>&1 ||
			pcsc_fail "the signature of $name does not verify"
		echo "signature of $name ($mech) through pcscd verified by OpenSSL"
	done
fi
run 0 "$tool" list "$sel" --json
grep_out '"kind":"pcsc"'
grep_out '"name":"capi"'
run 0 "$tool" list --token "pkcs11:serial=0f0e0d0c0b0a0908"
grep_out "$PCSC_READER"
run 4 "$tool" pin change "$sel" --insecure-pin 000000 --new-pin-file pin
run 0 "$tool" pin change "$sel" --pin-file pin --insecure-new-pin 24682468
run 0 "$tool" delete "$sel" --insecure-pin 24682468 --name gen
run 8 "$tool" export "$sel" --name gen
# Blocked PIN, unblock with the admin key, admin key change: through PC/SC.
for i in 1 2 3; do
	"$tool" pin change "$sel" --insecure-pin 000000 --new-pin-file pin >/dev/null 2>&1
done
run 5 "$tool" pin change "$sel" --insecure-pin 24682468 --new-pin-file pin
run 0 "$tool" pin unblock "$sel" --admin-key-file admin --new-pin-file pin
printf '%s\n' 0f0e0d0c0b0a09080f0e0d0c0b0a09080f0e0d0c0b0a0908 >admin2
run 0 "$tool" pin change-admin-key "$sel" --admin-key-file admin --new-admin-key-file admin2
run 4 "$tool" pin unblock "$sel" --admin-key-file admin --new-pin-file pin
run 0 "$tool" pin change-admin-key "$sel" --admin-key-file admin2 --new-admin-key-file admin
run 0 "$tool" init "$sel" --admin-key-file admin --new-pin-file pin --force
run 0 "$tool" list "$sel" --json
grep -q '"containers":\[\]' out || pcsc_fail "re-initialisation left containers"

# The card goes away: exit 3.
vcard_stop
pcsc_wait_card absent
run 3 "$tool" list "$sel"

echo "tool-pcsc: OK"
