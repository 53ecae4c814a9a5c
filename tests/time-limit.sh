#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one test of make check under a time limit (the LOG_COMPILERs of Makefile.am): a test that
# hangs ends with a message naming it, instead of stopping the suite, and CI, for good.
#
#   sh tests/time-limit.sh PROGRAM [ARGS...]    run it; exit 99 (a hard error) at the limit
#   sh tests/time-limit.sh --scale               print the time scale
#
# The limit is MDP11_TEST_LIMIT seconds (default 600) times the time scale: the 1-minute load
# average per CPU rounded up, at least 1 (a parallel build beside the tests, CI on 2 cores), or
# MDP11_TEST_TIME_SCALE when set. The integration tests stretch their own limits by the same
# scale (tests/integration/lib-run.sh), which is exported to them.
set -u
if [ -z "${MDP11_TEST_TIME_SCALE:-}" ]; then
	MDP11_TEST_TIME_SCALE=$(awk -v cpus="$(nproc 2>/dev/null || echo 1)" \
		'{ s = int($1 / cpus); if (s < $1 / cpus) s++; if (s < 1) s = 1; print s; exit }' \
		/proc/loadavg 2>/dev/null || echo 1)
fi
export MDP11_TEST_TIME_SCALE
if [ "${1:-}" = --scale ]; then
	echo "$MDP11_TEST_TIME_SCALE"
	exit 0
fi
[ $# -gt 0 ] || {
	echo "usage: time-limit.sh PROGRAM [ARGS...] | --scale" >&2
	exit 2
}
limit=$((${MDP11_TEST_LIMIT:-600} * MDP11_TEST_TIME_SCALE))
for last in "$@"; do :; done
timeout -k 10 "$limit" "$@"
rc=$?
case $rc in
124 | 137)
	echo "TIMEOUT: ${last##*/} did not finish within ${limit}s (time scale $MDP11_TEST_TIME_SCALE): it hangs" >&2
	exit 99
	;;
esac
exit $rc
