#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Crash consistency of the card's state file: a process writing to the card is killed with
# SIGKILL at random moments; the file must always load and hold the old or the new data.
. "$top_srcdir/tests/integration/lib-pcsc.sh"
pcsc_enter_ns "$@"

HELPER=${VCARD_CRASH_HELPER:-$top_builddir/tests/integration/vcard-crash-helper}
[ -x "$HELPER" ] || pcsc_fail "$HELPER is not built"
PIN=55667788
ADMIN=0123456789ABCDEFFEDCBA98765432100011223344556677
STATE=$PCSC_TMP/card.state
W=$PCSC_TMP
# PIN tries: 15, because a kill between the counter decrement and the PIN comparison
# legitimately costs a try (the counter is saved before the comparison).
"$VCARD_BIN" create --insecure-pin "$PIN" --insecure-admin-key "$ADMIN" --pin-tries 15 "$STATE" >/dev/null ||
	pcsc_fail "mdp11-vcard create"

# A delay of $1 to $2 milliseconds, different each call.
SEED=$$
random_sleep() {
	SEED=$((SEED + 1))
	awk -v s="$SEED" -v lo="$1" -v hi="$2" \
		'BEGIN { srand(s); printf "%.3f\n", (lo + rand() * (hi - lo)) / 1000 }' | xargs sleep
}

# The state must load, and its DO hold generation $1 or $1 + 1; prints the one found.
check_state() {
	"$VCARD_BIN" info "$STATE" >"$W/info.txt" 2>&1 ||
		pcsc_fail "after kill $2: the state file does not load: $(cat "$W/info.txt")"
	grep -q '^initialized: *yes' "$W/info.txt" || pcsc_fail "after kill $2: card not initialized"
	"$HELPER" check "$STATE" "$1" 2>"$W/check.err" ||
		pcsc_fail "after kill $2: $(cat "$W/check.err")"
}

# ---- phase 1: an in-process card (the helper links the engine) killed while writing ----
ITER=${VCARD_CRASH_ITER:-40}
last=0
after_commit=0
i=1
while [ $i -le "$ITER" ]; do
	"$HELPER" write "$STATE" "$PIN" $((last + 1)) >"$W/w.out" 2>"$W/w.err" &
	wpid=$!
	n=0
	until grep -q '^ready$' "$W/w.out" 2>/dev/null; do
		pcsc_alive "$wpid" || pcsc_fail "writer $i died: $(cat "$W/w.err")"
		n=$((n + 1))
		[ $n -le 200 ] || pcsc_fail "writer $i not ready after 20 s"
		pcsc_nap
	done
	random_sleep 0 120
	kill -KILL "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	[ ! -s "$W/w.err" ] || pcsc_fail "writer $i failed before it was killed: $(cat "$W/w.err")"
	confirmed=$(grep -v '^ready$' "$W/w.out" | tail -n 1)
	[ -n "$confirmed" ] || confirmed=$last
	found=$(check_state "$confirmed" "$i") || exit 1
	[ "$found" = "$confirmed" ] || after_commit=$((after_commit + 1))
	last=$found
	i=$((i + 1))
done
# The loop must really have been writing: at least one completed write per kill on average.
[ "$last" -ge "$ITER" ] || pcsc_fail "only $last writes in $ITER runs: the kills did not hit writes"
echo "phase 1: $ITER kills, $last generations written, $after_commit kills between commit and answer"

# ---- phase 2: mdp11-vcard serve killed while OpenSC writes through pcscd ----
SELECT=00A4040009A00000039742544659
VERIFY=00200080$(printf '%02X' ${#PIN})$(printf '%s' "$PIN" | od -An -tx1 | tr -d ' \n')
# One opensc-tool run per generation: SELECT, VERIFY, chained PUT DATA; all must answer 9000.
opensc_writer() {
	seq=$1
	while :; do
		set -- -r 0 -s "$SELECT" -s "$VERIFY"
		for a in $("$HELPER" apdus "$seq"); do
			set -- "$@" -s "$a"
		done
		napdu=$(($# / 2 - 1))
		opensc-tool "$@" >"$W/o.out" 2>&1 || return 0
		[ "$(grep -c 'SW1=0x90, SW2=0x00' "$W/o.out")" = "$napdu" ] || return 0
		echo "$seq"
		seq=$((seq + 1))
	done
}

pcsc_start "$STATE"
ITER2=${VCARD_CRASH_ITER2:-10}
i=1
total=0
while [ $i -le "$ITER2" ]; do
	opensc_writer $((last + 1)) >"$W/c.out" 2>/dev/null &
	cpid=$!
	random_sleep 400 1600
	vcard_kill
	wait "$cpid"
	confirmed=$(tail -n 1 "$W/c.out")
	[ -n "$confirmed" ] || confirmed=$last
	total=$((total + $(wc -l <"$W/c.out")))
	found=$(check_state "$confirmed" "serve $i") || exit 1
	last=$found
	vcard_start "$STATE"
	pcsc_wait_card present || pcsc_fail "the card did not come back after kill $i"
	i=$((i + 1))
done
[ "$total" -ge 1 ] || pcsc_fail "no write through pcscd completed in phase 2"
echo "phase 2: $ITER2 kills of the card server, $total writes through pcscd confirmed"
echo "vcard-crash: OK"
