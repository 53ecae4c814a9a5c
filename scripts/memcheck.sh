#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs test programs under valgrind (make memcheck): any memory error, and any definite or
# indirect leak, fails. Run from the build directory; the arguments are the check programs
# (libtool wrapper scripts or binaries, relative to it). Only the unit tests (tests/unit/) and
# the fuzz corpus replays (tests/fuzz/) are run: the module tests dlopen mdp11.so and the
# integration helpers are driven by the shell tests, which run in make check.
#
#   LIBTOOL   the libtool script that runs a wrapper's real program (default ./libtool)
#   VALGRIND  the valgrind command (default valgrind)
#   MEMCHECK_ONLY   a pattern (shell case syntax) to run only some programs, e.g. '*blob*'
set -u
: "${LIBTOOL:=./libtool}"
: "${VALGRIND:=valgrind}"
: "${MEMCHECK_ONLY:=*}"
here=$(cd "$(dirname "$0")" && pwd)
supp="$here/memcheck.supp"
status=0
ran=0
for p in "$@"; do
	case "$p" in tests/unit/* | tests/fuzz/*) ;; *) continue ;; esac
	# shellcheck disable=SC2254
	case "$p" in $MEMCHECK_ONLY) ;; *) continue ;; esac
	ran=$((ran + 1))
	log="$p.memcheck.log"
	# CUnit runners exit 77 to skip; anything else but 0 is a failure of the test itself.
	$LIBTOOL --mode=execute $VALGRIND -q --error-exitcode=99 --leak-check=full \
		--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--suppressions="$supp" --child-silent-after-fork=yes --track-fds=no \
		"./$p" >"$log" 2>&1
	rc=$?
	case $rc in
	0) echo "PASS: memcheck $p" ;;
	77) echo "SKIP: memcheck $p" ;;
	99)
		echo "FAIL: memcheck $p (valgrind errors, see $log)"
		grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|[0-9,]+ .*(definitely|indirectly) lost)' \
			"$log" | head -n 20
		status=1
		;;
	*)
		echo "FAIL: memcheck $p (exit $rc, see $log)"
		tail -n 20 "$log"
		status=1
		;;
	esac
done
echo "memcheck: $ran programs, $([ $status = 0 ] && echo clean || echo FAILED)"
exit $status
