#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make bench: runs every benchmark program built from bench/ and prints its table.
set -eu
found=0
for p in bench/bench-*; do
	[ -x "$p" ] || continue
	case "$p" in *.o|*.c|*.log) continue ;; esac
	found=1
	"./$p"
done
if [ "$found" = 0 ]; then
	echo "make bench: no benchmark programs were built" >&2
	exit 1
fi
