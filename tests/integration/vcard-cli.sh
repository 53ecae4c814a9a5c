#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# mdp11-vcard's command line: help, exit codes (0 ok, 1 failure, 2 usage), create in both forms,
# PIN and admin-key sources (as mdp11-tool takes them: file, variable, --insecure-, terminal),
# info, refusal of damaged files, serve's shutdown on SIGTERM while pcscd is away; PIV cards
# (create --type piv with the factory or the given secrets, info).
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

# expect STATUS COMMAND...: run without a terminal (a missing secret is not asked), keep
# stdout+stderr in $W/out, check the exit status.
expect() {
	want=$1
	shift
	setsid -w "$VCARD_BIN" "$@" >"$W/out" 2>&1 </dev/null
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
# A secret is never a plain argument: --pin and --admin-key name the options to use.
expect 2 create --pin 123456 --insecure-admin-key "$ADMIN" "$W/x"
grep -q -- "--pin-file F, --pin-env VAR or --insecure-pin" "$W/out" || fail "--pin: no replacements"
expect 2 create --admin-key "$ADMIN" "$W/x"
grep -q -- "--admin-key-file" "$W/out" || fail "--admin-key: no replacements"
# One of the two secrets given, the other missing and no terminal to ask: a usage error.
expect 2 create --insecure-pin 123456 "$W/x"
grep -q "no admin key: give --admin-key-file" "$W/out" || fail "no reason given for a missing admin key"
expect 2 create --insecure-admin-key "$ADMIN" "$W/x"
grep -q "no PIN: give --pin-file" "$W/out" || fail "no reason given for a missing PIN"
expect 2 create --insecure-pin 1234 --insecure-admin-key 0011 "$W/x"
grep -q "48 hex digits" "$W/out" || fail "no reason given for a short admin key"
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
expect 0 create --force --insecure-pin 123456 --insecure-admin-key "$ADMIN" --serial 0a0b0c0d \
	"$W/blank.card"
expect 0 info "$W/blank.card"
[ "$(field initialized)" = yes ] || fail "--force did not replace the card"
[ "$(field 'card id')" = 0a0b0c0d ] || fail "card id $(field 'card id'), expected 0a0b0c0d"
[ "$(field 'PIN tries left')" = "3 of 3" ] || fail "PIN tries $(field 'PIN tries left')"
mkdir "$W/dir.card"
expect 1 create --force "$W/dir.card"

# ---- PIN and admin-key sources, the retry limit ----
printf '987654\n' >"$W/pin.txt"
printf '%s\n' "$ADMIN" >"$W/admin.txt"
expect 0 create --pin-file "$W/pin.txt" --admin-key-file "$W/admin.txt" --pin-tries 5 "$W/f.card"
expect 0 info "$W/f.card"
[ "$(field 'PIN tries left')" = "5 of 5" ] || fail "--pin-tries 5: $(field 'PIN tries left')"
field 'card id' | grep -qE '^[0-9a-f]{32}$' || fail "random card id: $(field 'card id')"
MDP11_CLI_PIN=24682468 MDP11_CLI_ADMIN=$ADMIN expect 0 create --pin-env MDP11_CLI_PIN \
	--admin-key-env MDP11_CLI_ADMIN "$W/e.card"
# The admin key file may also hold the 24 raw bytes.
printf '%s' "$ADMIN" | xxd -r -p >"$W/admin.bin" 2>/dev/null ||
	perl -e 'print pack("H*", $ARGV[0])' "$ADMIN" >"$W/admin.bin"
expect 0 create --insecure-pin 123456 --admin-key-file "$W/admin.bin" "$W/r.card"
# A secret that cannot be read is a usage error (2), as in mdp11-tool.
expect 2 create --pin-env MDP11_CLI_UNSET_VAR --insecure-admin-key "$ADMIN" "$W/u.card"
grep -q MDP11_CLI_UNSET_VAR "$W/out" || fail "no reason given for an unset PIN variable"
expect 2 create --pin-file "$W/absent.txt" --insecure-admin-key "$ADMIN" "$W/u.card"
grep -q "absent.txt" "$W/out" || fail "no reason given for a missing PIN file"
expect 2 create --insecure-pin 123 --insecure-admin-key "$ADMIN" "$W/u.card"
[ ! -e "$W/u.card" ] || fail "a failed create left a file"
# --force with a bad PIN keeps the old card.
expect 2 create --force --insecure-pin 12 --insecure-admin-key "$ADMIN" "$W/f.card"
expect 0 info "$W/f.card"
[ "$(field 'PIN tries left')" = "5 of 5" ] || fail "a refused --force damaged the old card"
# The PIN key derivation cost is the one of the environment at creation, shown by info.
MDP11_VCARD_KDF_COST=6 expect 0 create --insecure-pin 123456 --insecure-admin-key "$ADMIN" "$W/k.card"
expect 0 info "$W/k.card"
[ "$(field 'PIN KDF')" = "scrypt, N = 2^6, r = 8, p = 1" ] || fail "KDF: $(field 'PIN KDF')"
MDP11_VCARD_KDF_COST=21 expect 1 create --insecure-pin 123456 --insecure-admin-key "$ADMIN" \
	"$W/k21.card"
grep -q MDP11_VCARD_KDF_COST "$W/out" || fail "no reason given for a bad KDF cost"
[ ! -e "$W/k21.card" ] || fail "a bad KDF cost left a file"
# On a terminal, the secret not given is asked twice, without echo; two different entries are
# refused. (Through a pseudo-terminal: tests/integration/pty-answer.py.)
if command -v python3 >/dev/null 2>&1; then
	answer="python3 ${top_srcdir:-$top_builddir/..}/tests/integration/pty-answer.py"
	$answer 24682468 24682468 -- "$VCARD_BIN" create --admin-key-file "$W/admin.txt" \
		"$W/t.card" >"$W/out" 2>&1 || fail "create with the PIN asked on the terminal"
	grep -q "PIN of the new card (again):" "$W/out" || fail "the PIN was not asked twice"
	grep -q 24682468 "$W/out" && fail "the PIN was echoed"
	$answer "$ADMIN" "$ADMIN" -- "$VCARD_BIN" create --pin-file "$W/pin.txt" "$W/t2.card" \
		>"$W/out" 2>&1 || fail "create with the admin key asked on the terminal"
	$answer 24682468 13571357 -- "$VCARD_BIN" create --admin-key-file "$W/admin.txt" \
		"$W/t3.card" >"$W/out" 2>&1 && fail "two different PIN entries were accepted"
	grep -q "differ" "$W/out" || fail "no reason given for two different PIN entries"
	[ ! -e "$W/t3.card" ] || fail "a refused create left a file"
fi
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
	"$VCARD_BIN" serve --verbose --vpcd 127.0.0.1:9 "$W/f.card" >"$W/serve-$sig.out" 2>&1 &
	SPID=$!
	# until it says it is retrying (a limit, not a fixed wait: the machine may be loaded)
	n=0
	while ! grep -q "retrying" "$W/serve-$sig.out" && [ $n -lt 300 ]; do
		kill -0 "$SPID" 2>/dev/null || fail "serve gave up while vpcd was away: $(cat "$W/serve-$sig.out")"
		sleep 0.1
		n=$((n + 1))
	done
	kill -0 "$SPID" 2>/dev/null || fail "serve gave up while vpcd was away: $(cat "$W/serve-$sig.out")"
	grep -q "retrying" "$W/serve-$sig.out" ||
		fail "serve (before SIG$sig) does not say it is retrying (30 s): $(cat "$W/serve-$sig.out")"
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

# ---- a PIV card: ready with the factory secrets, or with the given ones ----
expect 0 create --type piv --kdf-cost 4 "$W/piv.card"
grep -q "created a PIV card" "$W/out" || fail "create --type piv: $(cat "$W/out")"
expect 0 info "$W/piv.card"
[ "$(field "card type")" = PIV ] || fail "info: card type $(field "card type")"
[ "$(field "PIV version")" = 5.4.3 ] || fail "info: PIV version $(field "PIV version")"
field "PIV serial" | grep -qx "[1-9][0-9]\{7\}" || fail "info: PIV serial $(field "PIV serial")"
[ "$(field "factory values")" = "PIN PUK management-key" ] ||
	fail "info: factory values $(field "factory values")"
[ "$(field "PUK tries left")" = "3 of 3" ] || fail "info: PUK tries $(field "PUK tries left")"
field "card id" | grep -qx "[0-9a-f]\{32\}" || fail "info: no CHUID GUID as card id"
printf '87654321\n' >"$W/puk"
MDP11_TEST_MGM=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
export MDP11_TEST_MGM
expect 0 create --type piv --kdf-cost 4 --insecure-pin 13572468 --puk-file "$W/puk" \
	--admin-key-env MDP11_TEST_MGM --mgm-alg aes256 --piv-version 5.7.1 --piv-serial 4711 \
	--pin-tries 9 --puk-tries 8 "$W/piv2.card"
expect 0 info "$W/piv2.card"
[ "$(field "factory values")" = none ] || fail "info: factory values $(field "factory values")"
[ "$(field "management key")" = AES256 ] || fail "info: management key $(field "management key")"
[ "$(field "PIV serial")" = 4711 ] && [ "$(field "PIV version")" = 5.7.1 ] &&
	[ "$(field "PIN tries left")" = "9 of 9" ] && [ "$(field "PUK tries left")" = "8 of 8" ] ||
	fail "info of a PIV card with its options: $(cat "$W/out")"
for secret in 13572468 87654321 "$MDP11_TEST_MGM"; do
	grep -qi "$secret" "$W/out" && fail "info shows a secret"
done
expect 2 create --type piv --insecure-pin 12345 "$W/piv3.card"
grep -q "6 to 8" "$W/out" || fail "no reason for a short PIV PIN"
expect 2 create --type piv --mgm-alg aes128 --admin-key-env MDP11_TEST_MGM "$W/piv3.card"
grep -q "32 hex digits" "$W/out" || fail "no reason for a management key of the wrong length"
expect 2 create --type piv --mgm-alg aes128 --piv-version 5.2.0 "$W/piv3.card"
grep -q "5.4" "$W/out" || fail "no reason for an AES key on a 5.2 card"
[ -e "$W/piv3.card" ] && fail "a refused create left a file"
echo "vcard-cli: OK"
