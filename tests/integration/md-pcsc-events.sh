#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The PC/SC transport under the card module: a reset by another application (SCARD_W_RESET_CARD),
# card server stopped mid-session (removal), restarted (reinsertion = reset), pcscd restarted
# (context re-established).
. "$top_srcdir/tests/integration/lib-pcsc.sh"
pcsc_enter_ns "$@"

probe="$top_builddir/tests/integration/md-probe"
[ -x "$VCARD_BIN" ] || pcsc_skip "mdp11-vcard is not built"
state="$PCSC_TMP/card.state"
"$VCARD_BIN" create --insecure-pin 12345678 --insecure-admin-key 010203040506070801020304050607080102030405060708 \
	"$state" >/dev/null || pcsc_fail "mdp11-vcard create"
pcsc_start "$state"

fifo="$PCSC_TMP/probe.in"
out="$PCSC_TMP/probe.out"
mkfifo "$fifo"
# The probe's redirections wait for the FIFO's writer, so create its output file first: ask()
# must never read a file that does not exist yet.
: >"$out"
"$probe" "$PCSC_READER" session <"$fifo" >"$out" 2>"$PCSC_TMP/probe.log" &
probe_pid=$!
exec 3>"$fifo"
pcsc_add_cleanup "exec 3>&-; kill $probe_pid 2>/dev/null"

# ask: send "read", wait for the answer line number $1, print it
ask() {
	echo read >&3
	i=0
	while [ "$(wc -l <"$out")" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || pcsc_fail "md-probe does not answer (line $1)"
		pcsc_nap
	done
	sed -n "$1p" "$out"
}

[ "$(ask 1)" = MD_OK ] || pcsc_fail "first read: $(sed -n 1p "$out")"

# another application resets the card (SCARD_W_RESET_CARD): one reset report, then it works
opensc-tool --reader 0 --reset warm >/dev/null 2>&1 || pcsc_fail "opensc-tool could not reset the card"
[ "$(ask 2)" = MD_W_RESET_CARD ] || pcsc_fail "after a reset by another application: $(sed -n 2p "$out")"
[ "$(ask 3)" = MD_OK ] || pcsc_fail "after the reset: $(sed -n 3p "$out")"

# the card goes away: removed once, then no card
vcard_stop
pcsc_wait_card absent
r=$(ask 4)
[ "$r" = MD_W_REMOVED_CARD ] || [ "$r" = MD_E_NO_SMARTCARD ] || pcsc_fail "after removal: $r"
[ "$(ask 5)" = MD_E_NO_SMARTCARD ] || pcsc_fail "no card: $(sed -n 5p "$out")"

# it comes back: one reset report, then it works
vcard_start "$state"
pcsc_wait_card present
[ "$(ask 6)" = MD_W_RESET_CARD ] || pcsc_fail "reinsertion: $(sed -n 6p "$out")"
[ "$(ask 7)" = MD_OK ] || pcsc_fail "after reinsertion: $(sed -n 7p "$out")"

# pcscd restarts under us: the context is re-established
pcscd_restart
pcsc_wait_card present
r=$(ask 8)
[ "$r" = MD_W_RESET_CARD ] || [ "$r" = MD_OK ] || pcsc_fail "after pcscd restart: $r"
[ "$(ask 9)" = MD_OK ] || pcsc_fail "after pcscd restart: $(sed -n 9p "$out")"
echo quit >&3
wait "$probe_pid" || pcsc_fail "md-probe exit status"
echo "md-pcsc-events: OK"
