#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# NSS: mdp11.so added to a fresh NSS database with modutil; certutil sees the token and its keys.
. "$top_srcdir/tests/integration/lib-module.sh"
need_tool modutil
need_tool certutil
need_tool pkcs11-tool
module_setup

pkcs11-tool --module "$MODULE" --login --pin "$PIN" --keypairgen --key-type rsa:2048 --id 01 \
	--label "nss rsa" >/dev/null || fail "RSA key generation"
pkcs11-tool --module "$MODULE" --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --usage-sign \
	--id 02 --label "nss ec" >/dev/null || fail "EC key generation"

mkdir "$WORK/db"
certutil -N -d "sql:$WORK/db" --empty-password || fail "certutil -N"
echo | modutil -dbdir "sql:$WORK/db" -add mdp11 -libfile "$MODULE" -force >/dev/null 2>&1 ||
	fail "modutil -add"
modutil -dbdir "sql:$WORK/db" -list mdp11 >"$WORK/list" 2>&1 || fail "modutil -list"
grep -q "card.vcard" "$WORK/list" || {
	cat "$WORK/list"
	fail "modutil does not show the token"
}
certutil -U -d "sql:$WORK/db" >"$WORK/u" 2>&1 || fail "certutil -U"
grep -q "card.vcard" "$WORK/u" || {
	cat "$WORK/u"
	fail "certutil -U does not show the token"
}
echo "$PIN" >"$WORK/pw"
certutil -K -d "sql:$WORK/db" -h card.vcard -f "$WORK/pw" >"$WORK/k" 2>&1 || {
	cat "$WORK/k"
	fail "certutil -K"
}
grep -q "rsa" "$WORK/k" && grep -q "ec" "$WORK/k" || {
	cat "$WORK/k"
	fail "certutil -K does not list both keys"
}
module_done "token and keys visible"
