#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# How the format-version-1 (unsealed) card files beside this script were made, with the build of
# main at commit b549469 (before the seal existed), so that the reseal tests convert files the old
# code really wrote. Not run by the tests: the files are kept as they were made.
#
#   sh make-fixture.sh BUILDDIR   (BUILDDIR of that commit; writes into the current directory)
#
# card-v1.vcard: initialized (PIN 123456, admin key below, serial 0011..EEFF, scrypt cost 4),
#   container 0 "fixture rsa": the RSA-2048 key rsa.pem imported with its certificate rsa.crt,
#   container 1 "fixture ec": the P-256 key ec.pem imported (ECDSA),
#   container 2 "fixture gen": a P-256 ECDSA key generated on the card (ec-gen.pub is its public key).
# blank-v1.vcard: a blank card in creation state (its card key was kept in clear by that format).
set -eu
b=$1
ADMIN=0102030405060708090a0b0c0d0e0f101112131415161718
export MDP11_VCARD_KDF_COST=4
printf '123456\n' >pin.txt
rm -f card-v1.vcard blank-v1.vcard
"$b/src/tools/mdp11-vcard" create --pin-file pin.txt --admin-key "$ADMIN" \
	--serial 00112233445566778899aabbccddeeff card-v1.vcard
"$b/src/tools/mdp11-vcard" create blank-v1.vcard
printf '[readers]\npcsc = no\n[vcard "fixture"]\npath = %s/card-v1.vcard\n' "$(pwd)" >fixture.conf
export MDP11_CONF="$(pwd)/fixture.conf"
t="$b/src/tools/mdp11-tool"
"$t" import --in rsa.pem --cert rsa.crt --name "fixture rsa" --container 0 --pin-file pin.txt
"$t" import --in ec.pem --name "fixture ec" --container 1 --key-spec ecdsa --pin-file pin.txt
"$t" generate --type ec:p256 --name "fixture gen" --container 2 --pin-file pin.txt
"$t" export --name "fixture gen" --format pem --out ec-gen.pub
rm -f fixture.conf pin.txt card-v1.vcard.lock
