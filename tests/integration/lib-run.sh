# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared shell helpers for the integration tests: a private work directory, free loopback ports,
# background servers stopped by a trap, bounded waits, and logs printed when a test fails.
#
# Usage (POSIX sh, sourced):  . "$top_srcdir/tests/integration/lib-run.sh"; run_init NAME
# Then: run_bg NAME CMD...   start a server, output in $WORK/NAME.log, stopped at exit
#       free_port            print a free TCP port on 127.0.0.1
#       wait_port PORT [S]   wait up to S seconds (default 10) for a listener on 127.0.0.1:PORT
#       wait_log FILE RE [S] wait up to S seconds for a line matching RE in FILE
#       run_to S NAME CMD... run a client with a time limit, output in $WORK/NAME.log
#       fail MSG             print MSG and every log, exit 1
#       need_tool T...       exit 77 (skip) when a program is not installed
#       scaled S             S seconds stretched for a loaded machine (below)
#
# Time limits stretch on a loaded machine (a parallel build beside the tests, CI on 2 cores):
# every limit above is multiplied by TIME_SCALE (tests/time-limit.sh --scale: the 1-minute load
# average per CPU rounded up, at least 1, or MDP11_TEST_TIME_SCALE). A limit is a bound with a
# message, never a fixed wait: the helpers return as soon as their condition holds.

RUN_PIDS=""
RUN_STATUS=1
RUN_NAME=test

TIME_SCALE=$(sh "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/time-limit.sh" --scale)
# Child scripts use the same scale.
MDP11_TEST_TIME_SCALE=$TIME_SCALE
export MDP11_TEST_TIME_SCALE

scaled()
{
	echo $(($1 * TIME_SCALE))
}

run_logs()
{
	for f in "$WORK"/*.log; do
		[ -f "$f" ] || continue
		echo "==== ${f##*/} ===="
		tail -n 80 "$f"
	done
}

run_cleanup()
{
	rc=$?
	trap - EXIT INT TERM HUP
	for p in $RUN_PIDS; do
		kill "$p" 2>/dev/null || true
	done
	# Give the servers a moment, then make sure they are gone.
	for p in $RUN_PIDS; do
		n=0
		while kill -0 "$p" 2>/dev/null && [ $n -lt 20 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		kill -9 "$p" 2>/dev/null || true
	done
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ "${RUN_LOGS_SHOWN:-0}" = 0 ]; then
		echo "$RUN_NAME: failed (exit $rc)"
		run_logs
	fi
	if [ -n "${KEEP_WORK:-}" ]; then
		echo "$RUN_NAME: work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}

run_init()
{
	RUN_NAME=$1
	: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
	: "${top_builddir:=$top_srcdir/build}"
	export top_srcdir top_builddir
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/mdp11-$RUN_NAME.XXXXXX")
	export WORK
	trap run_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

need_tool()
{
	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1 && [ ! -e "$t" ]; then
			echo "$RUN_NAME: $t is not installed: skipped"
			exit 77
		fi
	done
}

fail()
{
	echo "$RUN_NAME: FAIL: $*"
	run_logs
	RUN_LOGS_SHOWN=1
	exit 1
}

free_port()
{
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

run_bg()
{
	_name=$1
	shift
	"$@" >"$WORK/$_name.log" 2>&1 </dev/null &
	RUN_PIDS="$RUN_PIDS $!"
	LAST_PID=$!
}

wait_port()
{
	_port=$1
	_secs=$(scaled "${2:-10}")
	python3 - "$_port" "$_secs" <<'PY' || fail "nothing listens on 127.0.0.1:$_port after ${_secs}s"
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + secs
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

wait_log()
{
	_f=$1
	_re=$2
	_secs=$(scaled "${3:-10}")
	_n=0
	while ! grep -qE "$_re" "$_f" 2>/dev/null; do
		_n=$((_n + 1))
		[ $_n -le $((_secs * 10)) ] || fail "no line matching '$_re' in ${_f##*/} after ${_secs}s"
		sleep 0.1
	done
}

run_to()
{
	_secs=$(scaled "$1")
	_name=$2
	shift 2
	timeout -k 3 "$_secs" "$@" >"$WORK/$_name.log" 2>&1
}
