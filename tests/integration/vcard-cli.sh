#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# mdp11-vcard's command line: help, exit codes (0 ok, 1 failure, 2 usage), create in both forms,
# PIN sources, info, refusal of damaged files, serve's shutdown on SIGTERM while pcscd is away.
: "${top_builddir:=$(pwd)}"
VCARD_BIN=${VCARD_BIN:-$top_builddir/tools/mdp11-vcard}
W=$(mktemp -d "${TMPDIR:-/tmp}/mdp11-vcard-cli.XXXXXX") || exit 1
SPID=""
cleanup() {
	if [ -n "$SPID" ]; then
		kill -KILL "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
	fi
	rm -rf "$W"
}
trap cleanup EXIT
ADMIN=0123456789ABCDEFFEDCBA98765432100011223344556677

fail() {
	echo "FAIL: vcard-cli: $*" >&2
	[ -f "$W/out" ] && sed 's/^/  | /' "$W/out" >&2
	exit 1
}

# expect STATUS COMMAND...: run, keep stdout+stderr in $W/out, check the exit status.
expect() {
	want=$1
	shift
	"$VCARD_BIN" "$@" >"$W/out" 2>&1
	got=$?
	[ "$got" = "$want" ] || fail "mdp11-vcard $*: exit $got, expected $want"
}

field() {
	sed -n "s/^$1: *//p" "$W/out"
}

# ---- help and usage errors ----
expect 0 --help
grep -q "create FILE" "$W/out" || fail "--help does not list the commands"
for c in create serve info; do
	expect 0 "$c" --help
	grep -q "Usage: mdp11-vcard $c" "$W/out" || fail "$c --help"
done
expect 0 --version
grep -q "^mdp11-vcard [0-9]" "$W/out" || fail "--version"
expect 2
expect 2 frobnicate x
expect 2 info
expect 2 info a b
expect 2 create --pin 1234 "$W/x"
grep -q "admin-key" "$W/out" || fail "no reason given for a missing --admin-key"
expect 2 create --pin 1234 --admin-key 0011 "$W/x"
expect 2 create --admin-key "$ADMIN" "$W/x"
expect 2 serve --vpcd host:0 "$W/x"
expect 2 serve --atr 00 "$W/x"
expect 2 info --force "$W/x"
[ ! -e "$W/x" ] || fail "a usage error created a file"

# ---- create: blank, refusal of an existing file, --force ----
expect 0 create "$W/blank.card"
expect 0 info "$W/blank.card"
[ "$(field initialized)" = "no (creation state)" ] || fail "blank card: initialized=$(field initialized)"
[ "$(field 'key files')" = 0 ] || fail "blank card has key files"
expect 1 create "$W/blank.card"
grep -q "exists" "$W/out" || fail "no reason given for an existing file"
expect 0 create --force --pin 123456 --admin-key "$ADMIN" --serial 0a0b0c0d "$W/blank.card"
expect 0 info "$W/blank.card"
[ "$(field initialized)" = yes ] || fail "--force did not replace the card"
[ "$(field 'card id')" = 0a0b0c0d ] || fail "card id $(field 'card id'), expected 0a0b0c0d"
[ "$(field 'PIN tries left')" = "3 of 3" ] || fail "PIN tries $(field 'PIN tries left')"
mkdir "$W/dir.card"
expect 1 create --force "$W/dir.card"

# ---- PIN sources and the retry limit ----
printf '987654\n' >"$W/pin.txt"
expect 0 create --pin-file "$W/pin.txt" --admin-key "$ADMIN" --pin-tries 5 "$W/f.card"
expect 0 info "$W/f.card"
[ "$(field 'PIN tries left')" = "5 of 5" ] || fail "--pin-tries 5: $(field 'PIN tries left')"
field 'card id' | grep -qE '^[0-9a-f]{32}$' || fail "random card id: $(field 'card id')"
MDP11_CLI_PIN=24682468 expect 0 create --pin-env MDP11_CLI_PIN --admin-key "$ADMIN" "$W/e.card"
expect 1 create --pin-env MDP11_CLI_UNSET_VAR --admin-key "$ADMIN" "$W/u.card"
grep -q MDP11_CLI_UNSET_VAR "$W/out" || fail "no reason given for an unset PIN variable"
expect 1 create --pin-file "$W/absent.txt" --admin-key "$ADMIN" "$W/u.card"
expect 2 create --pin 123 --admin-key "$ADMIN" "$W/u.card"
[ ! -e "$W/u.card" ] || fail "a failed create left a file"
# --force with a bad PIN keeps the old card.
expect 2 create --force --pin 12 --admin-key "$ADMIN" "$W/f.card"
expect 0 info "$W/f.card"
[ "$(field 'PIN tries left')" = "5 of 5" ] || fail "a refused --force damaged the old card"
# The PIN key derivation cost is the one of the environment at creation, shown by info.
MDP11_VCARD_KDF_COST=6 expect 0 create --pin 123456 --admin-key "$ADMIN" "$W/k.card"
expect 0 info "$W/k.card"
[ "$(field 'PIN KDF')" = "scrypt, N = 2^6, r = 8, p = 1" ] || fail "KDF: $(field 'PIN KDF')"
MDP11_VCARD_KDF_COST=21 expect 1 create --pin 123456 --admin-key "$ADMIN" "$W/k21.card"
grep -q MDP11_VCARD_KDF_COST "$W/out" || fail "no reason given for a bad KDF cost"
[ ! -e "$W/k21.card" ] || fail "a bad KDF cost left a file"
# Secrets never appear.
expect 0 info "$W/f.card"
grep -qi "$ADMIN" "$W/out" && fail "info shows the admin key"
grep -q 987654 "$W/out" && fail "info shows the PIN"

# ---- damaged and foreign files ----
expect 1 info "$W/absent.card"
printf 'not a card state file at all\n' >"$W/foreign.card"
expect 1 info "$W/foreign.card"
grep -q "foreign.card" "$W/out" || fail "the error does not name the file"
cp "$W/f.card" "$W/trunc.card"
size=$(wc -c <"$W/trunc.card")
head -c $((size / 2)) "$W/f.card" >"$W/trunc.card"
expect 1 info "$W/trunc.card"
expect 1 serve --vpcd 127.0.0.1:9 "$W/foreign.card"

# ---- serve: keeps retrying while nobody listens, stops cleanly on SIGTERM, SIGINT, SIGHUP ----
for sig in TERM INT HUP; do
	"$VCARD_BIN" serve --verbose --vpcd 127.0.0.1:9 "$W/f.card" >"$W/serve.out" 2>&1 &
	SPID=$!
	sleep 1
	kill -0 "$SPID" 2>/dev/null || fail "serve gave up while vpcd was away: $(cat "$W/serve.out")"
	grep -q "retrying" "$W/serve.out" || fail "serve does not say it is retrying"
	kill -"$sig" "$SPID"
	n=0
	while kill -0 "$SPID" 2>/dev/null && [ $n -lt 30 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -0 "$SPID" 2>/dev/null && fail "serve ignored SIG$sig"
	wait "$SPID"
	rc=$?
	SPID=""
	[ "$rc" = 0 ] || fail "serve exited $rc after SIG$sig"
done
expect 0 info "$W/f.card"
echo "vcard-cli: OK"
