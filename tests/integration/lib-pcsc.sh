# SPDX-License-Identifier: LGPL-2.1-or-later
# Test harness (sourced, POSIX sh): a private pcscd with the vpcd reader and our virtual card.
#
# pcscd 1.9.9 always listens on /run/pcscd/pcscd.comm, and vpcd listens on
# every interface. To keep clear of a system pcscd (and of the host's
# network), a test runs in private mount and network namespaces: a tmpfs on
# /run/pcscd, only a loopback interface, its own reader.conf.d. Clients
# started by the test (OpenSC tools, our module) see only this pcscd.
#
# Use:
#   . "$top_srcdir/tests/integration/lib-pcsc.sh"
#   pcsc_enter_ns "$@"        first line after sourcing: re-runs the script inside
#                             the namespaces (or exits 77 with the precise reason)
#   pcsc_start STATE [ATR]    start pcscd and `mdp11-vcard serve STATE`; returns when
#                             the reader shows the card (fails after PCSC_TIMEOUT s)
#   pcsc_stop                 stop the card server and pcscd (also done at exit)
#
# Finer control:
#   pcscd_start / pcscd_stop / pcscd_restart    pcscd alone (the card server reconnects)
#   vcard_start STATE [ATR] / vcard_stop        the card server alone (SIGTERM)
#   vcard_kill                                  SIGKILL the card server (crash tests)
#   vcard_restart                               vcard_stop + vcard_start, same STATE
#   pcsc_wait_card present|absent [SECONDS]     wait for the reader's card state
#   pcsc_card_state                             prints present, absent or noreader
#   pcsc_add_cleanup 'COMMAND'                  run COMMAND at exit, before pcsc_stop
#   pcsc_fail MESSAGE                           print MESSAGE, exit 1 (the logs follow)
#   pcsc_skip REASON                            print REASON, exit 77
#
# The functions also work in scripts running with "set -eu".
#
# Variables (set by the harness unless given):
#   VCARD_BIN     mdp11-vcard binary ($top_builddir/tools/mdp11-vcard)
#   PCSC_TMP      private work directory, removed at exit (kept when MDP11_KEEP_TMP=1)
#   PCSC_PORT     vpcd TCP port (slot 0; vpcd also opens PCSC_PORT+1 for slot 1)
#   PCSC_FRIENDLYNAME  the vpcd reader's name in reader.conf ("Virtual PCD"; ykcs11 2.2 sees
#                 only readers whose name starts with "Yubico"): set it before pcscd_start
#   PCSC_READER   name of the reader the card is in ("$PCSC_FRIENDLYNAME 00 00")
#   PCSC_TIMEOUT  readiness timeout in seconds (default 20)
#   PCSC_DEBUG=1  run pcscd with --debug --apdu (log: $PCSC_TMP/pcscd.log)
#   HOME          set to $PCSC_TMP/home, so OpenSC's file cache starts empty

set -u

: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$top_builddir}"
: "${VCARD_BIN:=$top_builddir/tools/mdp11-vcard}"
: "${PCSC_TIMEOUT:=20}"
: "${PCSC_FRIENDLYNAME:=Virtual PCD}"
PCSC_READER="$PCSC_FRIENDLYNAME 00 00"
PCSC_PORT=""
PCSC_PCSCD_PID=""
PCSC_VCARD_PID=""
PCSC_VCARD_STATE=""
PCSC_VCARD_ATR=""
PCSC_CLEANUP=""
PCSC_NAME=$(basename "$0" .sh)

pcsc_log() {
	echo "$PCSC_NAME: $*" >&2
}

pcsc_skip() {
	echo "SKIP: $PCSC_NAME: $*" >&2
	exit 77
}

# Print the tail of every log of this test (called on failure).
pcsc_dump_logs() {
	[ -n "${PCSC_TMP:-}" ] || return 0
	for f in "$PCSC_TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $(basename "$f") (last 40 lines) ----" >&2
		tail -n 40 "$f" >&2
	done
}

# The exit trap prints the logs.
pcsc_fail() {
	echo "FAIL: $PCSC_NAME: $*" >&2
	exit 1
}

pcsc_add_cleanup() {
	PCSC_CLEANUP="$1
$PCSC_CLEANUP"
}

# Re-execute the calling script in private mount + network namespaces.
pcsc_enter_ns() {
	if [ "${MDP11_PCSC_NS:-}" = "$$" ]; then
		pcsc_ns_setup
		return 0
	fi
	command -v unshare >/dev/null 2>&1 ||
		pcsc_skip "unshare (util-linux) is not installed: cannot isolate pcscd"
	command -v pcscd >/dev/null 2>&1 || pcsc_skip "pcscd is not installed (Debian: pcscd)"
	[ -f /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] ||
		pcsc_skip "the vpcd driver is not installed (Debian: vsmartcard-vpcd)"
	# root: plain namespaces; others: a user namespace that maps them to root.
	if [ "$(id -u)" = 0 ]; then
		ns_flags="--mount --net"
	else
		ns_flags="--map-root-user --mount --net"
	fi
	# shellcheck disable=SC2086
	if ! err=$(unshare $ns_flags --propagation private true 2>&1); then
		pcsc_skip "cannot create private mount/network namespaces (unshare $ns_flags: $err);" \
			"pcscd 1.9.9 has a fixed socket path, so it cannot run beside the system's" \
			"without them"
	fi
	# The namespaced shell's pid is the one exec'd by unshare: mark it so.
	# shellcheck disable=SC2086
	exec unshare $ns_flags --propagation private -- \
		/bin/sh -c 'MDP11_PCSC_NS=$$; export MDP11_PCSC_NS; exec /bin/sh "$@"' \
		pcsc-ns "$0" "$@"
}

# Inside the namespaces: loopback up, private /run/pcscd, work directory, exit trap.
pcsc_ns_setup() {
	if command -v ip >/dev/null 2>&1; then
		ip link set lo up || pcsc_fail "cannot bring up the loopback interface"
	else
		pcsc_fail "ip (iproute2) is needed to bring up loopback in the test's network namespace"
	fi
	mkdir -p /run/pcscd 2>/dev/null || true
	mount -t tmpfs -o mode=0755,size=1m mdp11-pcscd /run/pcscd ||
		pcsc_fail "cannot mount a private tmpfs on /run/pcscd"
	PCSC_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mdp11-$PCSC_NAME.XXXXXX") ||
		pcsc_fail "cannot create a work directory"
	mkdir -p "$PCSC_TMP/reader.conf.d" "$PCSC_TMP/home"
	HOME=$PCSC_TMP/home
	export HOME
	# OpenSC reads the system opensc.conf unless a test sets OPENSC_CONF.
	unset PCSCLITE_CSOCK_NAME 2>/dev/null || true
	trap 'pcsc_exit_trap' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

pcsc_exit_trap() {
	rc=$?
	trap - EXIT
	if [ -n "$PCSC_CLEANUP" ]; then
		eval "$PCSC_CLEANUP" || true
	fi
	pcsc_stop
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		pcsc_dump_logs
	fi
	if [ -n "${PCSC_TMP:-}" ] && [ "${MDP11_KEEP_TMP:-0}" != 1 ]; then
		rm -rf "$PCSC_TMP"
	elif [ -n "${PCSC_TMP:-}" ]; then
		pcsc_log "work directory kept: $PCSC_TMP"
	fi
	exit "$rc"
}

# Is a TCP port listening (IPv4 or IPv6, from /proc/net)?
pcsc_port_listening() {
	hex=$(printf '%04X' "$1")
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }'
}

# A port with its successor free (vpcd opens two slots).
pcsc_pick_port() {
	i=0
	while [ $i -lt 50 ]; do
		p=$(awk -v s="$$$i" 'BEGIN { srand(s); print 20000 + int(rand() * 40000) }')
		if ! pcsc_port_listening "$p" && ! pcsc_port_listening $((p + 1)); then
			echo "$p"
			return 0
		fi
		i=$((i + 1))
	done
	return 1
}

# Sleep for a fraction of a second where sleep supports it.
pcsc_nap() {
	sleep 0.1 2>/dev/null || sleep 1
}

pcsc_alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# Stop a process: SIGTERM, wait up to 5 s, then SIGKILL.
pcsc_kill_wait() {
	pid=$1
	pcsc_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	n=0
	while pcsc_alive "$pid" && [ $n -lt 50 ]; do
		pcsc_nap
		n=$((n + 1))
	done
	if pcsc_alive "$pid"; then
		pcsc_log "process $pid ignored SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	return 0
}

pcscd_start() {
	[ -n "$PCSC_PORT" ] || PCSC_PORT=$(pcsc_pick_port) || pcsc_fail "no free TCP port for vpcd"
	PCSC_READER="$PCSC_FRIENDLYNAME 00 00"
	cat >"$PCSC_TMP/reader.conf.d/vpcd" <<EOF
FRIENDLYNAME "$PCSC_FRIENDLYNAME"
DEVICENAME   /dev/null:$PCSC_PORT
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    $PCSC_PORT
EOF
	rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
	if [ "${PCSC_DEBUG:-0}" = 1 ]; then
		pcscd --foreground --debug --apdu --config "$PCSC_TMP/reader.conf.d" \
			>>"$PCSC_TMP/pcscd.log" 2>&1 &
	else
		pcscd --foreground --config "$PCSC_TMP/reader.conf.d" >>"$PCSC_TMP/pcscd.log" 2>&1 &
	fi
	PCSC_PCSCD_PID=$!
	n=0
	while ! { [ -S /run/pcscd/pcscd.comm ] && pcsc_port_listening "$PCSC_PORT"; }; do
		pcsc_alive "$PCSC_PCSCD_PID" || pcsc_fail "pcscd exited at start"
		n=$((n + 1))
		[ $n -le $((PCSC_TIMEOUT * 10)) ] ||
			pcsc_fail "pcscd did not open its socket and vpcd port $PCSC_PORT in ${PCSC_TIMEOUT}s"
		pcsc_nap
	done
}

pcscd_stop() {
	[ -n "$PCSC_PCSCD_PID" ] || return 0
	pcsc_kill_wait "$PCSC_PCSCD_PID"
	PCSC_PCSCD_PID=""
}

pcscd_restart() {
	pcscd_stop
	pcscd_start
}

# present, absent or noreader, from the reader list of opensc-tool.
pcsc_card_state() {
	out=$(opensc-tool --list-readers 2>/dev/null) || { echo noreader; return 0; }
	line=$(printf '%s\n' "$out" | grep -F "$PCSC_READER" | head -n 1)
	case $line in
	"") echo noreader ;;
	*" Yes "*) echo present ;;
	*) echo absent ;;
	esac
}

pcsc_wait_card() {
	want=$1
	limit=${2:-$PCSC_TIMEOUT}
	n=0
	while [ "$(pcsc_card_state)" != "$want" ]; do
		n=$((n + 1))
		[ $n -le $((limit * 5)) ] || return 1
		if [ "$want" = present ] && [ -n "$PCSC_VCARD_PID" ] && ! pcsc_alive "$PCSC_VCARD_PID"; then
			return 1
		fi
		sleep 0.2 2>/dev/null || sleep 1
	done
	return 0
}

vcard_start() {
	PCSC_VCARD_STATE=$1
	PCSC_VCARD_ATR=${2:-}
	[ -x "$VCARD_BIN" ] || pcsc_fail "$VCARD_BIN is not built"
	[ -n "$PCSC_PORT" ] || pcsc_fail "vcard_start before pcscd_start"
	if [ -n "$PCSC_VCARD_ATR" ]; then
		"$VCARD_BIN" serve --verbose --vpcd "127.0.0.1:$PCSC_PORT" --atr "$PCSC_VCARD_ATR" \
			"$PCSC_VCARD_STATE" >>"$PCSC_TMP/vcard.log" 2>&1 &
	else
		"$VCARD_BIN" serve --verbose --vpcd "127.0.0.1:$PCSC_PORT" "$PCSC_VCARD_STATE" \
			>>"$PCSC_TMP/vcard.log" 2>&1 &
	fi
	PCSC_VCARD_PID=$!
}

vcard_stop() {
	[ -n "$PCSC_VCARD_PID" ] || return 0
	pcsc_kill_wait "$PCSC_VCARD_PID"
	PCSC_VCARD_PID=""
}

vcard_kill() {
	[ -n "$PCSC_VCARD_PID" ] || return 0
	kill -KILL "$PCSC_VCARD_PID" 2>/dev/null || true
	wait "$PCSC_VCARD_PID" 2>/dev/null || true
	PCSC_VCARD_PID=""
}

vcard_restart() {
	vcard_stop
	pcsc_wait_card absent || pcsc_fail "the card did not leave the reader"
	vcard_start "$PCSC_VCARD_STATE" "$PCSC_VCARD_ATR"
	pcsc_wait_card present || pcsc_fail "the card did not come back within ${PCSC_TIMEOUT}s"
}

pcsc_start() {
	pcscd_start
	vcard_start "$@"
	pcsc_wait_card present ||
		pcsc_fail "no card in \"$PCSC_READER\" within ${PCSC_TIMEOUT}s (state: $(pcsc_card_state))"
}

pcsc_stop() {
	vcard_stop
	pcscd_stop
}
