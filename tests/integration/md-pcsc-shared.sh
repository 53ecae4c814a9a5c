#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# One served card, several PC/SC hosts at once: OpenSC signs in a loop while mdp11-tool generates
# keys and both stacks list the card. PC/SC transactions keep every multi-APDU operation whole:
# every command succeeds, every signature verifies, no container is lost.
. "$top_srcdir/tests/integration/lib-pcsc.sh"
pcsc_enter_ns "$@"

tool="$top_builddir/tools/mdp11-tool"
module="$top_builddir/.libs/mdp11.so"
opensc=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
[ -x "$VCARD_BIN" ] || pcsc_skip "mdp11-vcard is not built"
[ -x "$tool" ] || pcsc_fail "$tool not built"
for c in pkcs11-tool pkcs15-tool pkcs15-init openssl; do
	command -v $c >/dev/null 2>&1 || pcsc_skip "$c is missing"
done
[ -f "$opensc" ] || pcsc_skip "opensc-pkcs11.so (Debian: opensc-pkcs11) is missing"

cd "$PCSC_TMP" || exit 1
export MDP11_CONF="$PCSC_TMP/mdp11.conf"
: >"$MDP11_CONF"
unset MDP11_VCARD MDP11_DEBUG
PIN=12345678
printf '%s\n' $PIN >pin
MDP11_VCARD_KDF_COST=8 "$VCARD_BIN" create --insecure-pin $PIN \
	--insecure-admin-key 010203040506070801020304050607080102030405060708 card.state >/dev/null ||
	pcsc_fail "mdp11-vcard create"
pcsc_start card.state

pkcs15-init --verify-pin --auth-id 80 --pin $PIN --generate-key rsa/2048 --id 01 \
	--label osckey >p15.txt 2>&1 || pcsc_fail "pkcs15-init --generate-key: $(cat p15.txt)"
pkcs11-tool --module $opensc --read-object --type pubkey --id 00 -o pub.der >/dev/null 2>&1 ||
	pcsc_fail "pkcs11-tool --read-object"
openssl pkey -pubin -inform DER -in pub.der -out pub.pem 2>/dev/null || pcsc_fail "public key"
echo "signed while others work" >data

(
	for i in 1 2 3 4 5 6; do
		pkcs11-tool --module $opensc --login --pin $PIN --sign -m SHA256-RSA-PKCS --id 00 \
			-i data -o sig$i >osc$i.out 2>&1 || echo "OpenSC sign $i: $(cat osc$i.out)"
	done
) >osc.log 2>&1 &
a=$!
(
	for i in 1 2 3 4; do
		"$tool" generate --reader="$PCSC_READER" --type ec:p256 --pin-file pin \
			--name ours$i >our$i.out 2>&1 || echo "mdp11-tool generate $i: $(cat our$i.out)"
	done
) >ours.log 2>&1 &
b=$!
(
	for i in 1 2 3 4 5; do
		pkcs11-tool --module "$module" -O >p11$i.out 2>&1 || echo "mdp11 -O $i: $(cat p11$i.out)"
		pkcs15-tool -D >p15$i.out 2>&1 || echo "pkcs15-tool -D $i: $(cat p15$i.out)"
	done
) >list.log 2>&1 &
c=$!
wait $a $b $c
for f in osc.log ours.log list.log; do
	[ ! -s $f ] || pcsc_fail "a host failed while sharing the card: $(cat $f)"
done
for i in 1 2 3 4 5 6; do
	openssl dgst -sha256 -verify pub.pem -signature sig$i data >/dev/null ||
		pcsc_fail "OpenSC's signature $i does not verify"
done
# nothing lost: OpenSC's key and our four, seen by both stacks
n=$(pkcs15-tool -D 2>/dev/null | grep -c 'Private \(RSA\|EC\) Key')
[ "$n" = 5 ] || pcsc_fail "OpenSC sees $n private keys, expected 5"
n=$(pkcs11-tool --module "$module" --login --pin $PIN -O 2>/dev/null | grep -c 'Private Key Object')
[ "$n" = 5 ] || pcsc_fail "mdp11 sees $n private keys, expected 5"
"$tool" list --reader="$PCSC_READER" >list.txt 2>&1 || pcsc_fail "mdp11-tool list"
for name in osckey ours1 ours2 ours3 ours4; do
	grep -q " $name " list.txt || pcsc_fail "container $name missing: $(cat list.txt)"
done
echo "md-pcsc-shared: OK"
