#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs each unit test program given under valgrind; any error or leak fails.
set -u
status=0
for p in "$@"; do
	case "$p" in tests/unit/*) ;; *) continue ;; esac
	echo "memcheck: $p"
	libtool --mode=execute valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect "./$p" >"$p.memcheck.log" 2>&1 || {
		echo "memcheck: $p FAILED (see $p.memcheck.log)"
		status=1
	}
done
exit $status
