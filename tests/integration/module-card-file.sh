#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Problems with a virtual card's file or configuration are said, never silent: a card file that
# is missing, not a card, not readable or not writable by the user shows as a slot whose
# description says why, with a warning on standard error at the default log level; a [vcard]
# section without a file or label, and a debug_file that cannot be written, are configuration
# errors with file and line (pkcs11-tool -L through mdp11.so).
. "$top_srcdir/tests/integration/lib-module.sh"
need_tool pkcs11-tool
module_setup
chmod 755 "$WORK"

# list CONF CARD...: pkcs11-tool -L with that configuration and those cards (MDP11_VCARD).
list() {
	conf=$1
	shift
	cards=$(printf '%s:' "$@")
	MDP11_CONF=$conf MDP11_VCARD=${cards%:} timeout -k 3 60 pkcs11-tool --module "$MODULE" -L \
		>"$WORK/out" 2>"$WORK/err" || true
}
# expect_slot CARD WHY: the slot of CARD says WHY, and a warning names the file.
expect_slot() {
	grep -q "$(basename "$1") ($2)" "$WORK/out" || {
		cat "$WORK/out" "$WORK/err"
		fail "the slot of $1 does not say \"$2\""
	}
	grep -q "warn.*$(basename "$1")" "$WORK/err" || {
		cat "$WORK/err"
		fail "no warning about $1 on standard error"
	}
}

printf '[readers]\npcsc = no\n' >"$WORK/plain.conf"
mkdir "$WORK/dir.vcard"
printf 'not a card\n' >"$WORK/bad.vcard"
list "$WORK/plain.conf" "$WORK/missing.vcard" "$WORK/bad.vcard" "$WORK/dir.vcard" \
	"$WORK/card.vcard"
expect_slot "$WORK/missing.vcard" "no card file"
expect_slot "$WORK/bad.vcard" "not a card file"
expect_slot "$WORK/dir.vcard" "not a card file"
grep -q "token label.*card.vcard" "$WORK/out" || fail "the usable card is not listed"
# a usable card is never described as a problem
if grep -q "card.vcard (" "$WORK/out"; then
	cat "$WORK/out"
	fail "the usable card is described as a problem"
fi

# Permissions: root reads and writes anything, so as root the check runs as "nobody", with its
# own copy of the module (the build tree may sit in a directory only root can enter).
if [ "$(id -u)" = 0 ]; then
	cp "$MODULE" "$WORK/mdp11.so"
	chmod 755 "$WORK/mdp11.so"
	MODULE=$WORK/mdp11.so
fi
as_user() {
	if [ "$(id -u)" = 0 ]; then
		command -v setpriv >/dev/null 2>&1 || skip "setpriv is not installed"
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}
# The card file of a user who may read and write it, in a directory of its own.
mkdir "$WORK/own"
cp "$WORK/card.vcard" "$WORK/own/ro.vcard"
cp "$WORK/card.vcard" "$WORK/own/none.vcard"
if [ "$(id -u)" = 0 ]; then
	chown -R 65534:65534 "$WORK/own"
	chmod 644 "$WORK/plain.conf"
fi
chmod 444 "$WORK/own/ro.vcard"
chmod 000 "$WORK/own/none.vcard"
MDP11_CONF=$WORK/plain.conf MDP11_VCARD=$WORK/own/ro.vcard:$WORK/own/none.vcard \
	as_user timeout -k 3 60 pkcs11-tool --module "$MODULE" -L >"$WORK/out" 2>"$WORK/err" || true
expect_slot "$WORK/own/ro.vcard" "card file not writable"
expect_slot "$WORK/own/none.vcard" "card file not readable"
# debug = 0 silences the warning (the description still says why)
printf 'debug = 0\n[readers]\npcsc = no\n' >"$WORK/quiet.conf"
list "$WORK/quiet.conf" "$WORK/missing.vcard"
grep -q "missing.vcard (no card file)" "$WORK/out" || fail "debug = 0 hides the reason"
[ ! -s "$WORK/err" ] || {
	cat "$WORK/err"
	fail "debug = 0 still prints"
}

# Configuration errors: file and line, and the module does not start.
expect_conf_error() {
	printf "$1" >"$WORK/bad.conf"
	list "$WORK/bad.conf"
	grep -q "configuration error: $WORK/bad.conf:$2:" "$WORK/err" || {
		cat "$WORK/err" "$WORK/out"
		fail "no configuration error at line $2 for: $1"
	}
}
expect_conf_error '[readers]\npcsc = no\n[vcard "x"]\npath =\n' 4
expect_conf_error '[vcard ""]\npath = /x\n' 2
expect_conf_error '[vcard "a"]\npath = /x\n[vcard "a"]\npath = /y\n' 4
expect_conf_error "debug_file = $WORK/no/such/dir/log\n" 1
module_done "missing, damaged, unreadable and unwritable card files say why; bad lines are errors"
