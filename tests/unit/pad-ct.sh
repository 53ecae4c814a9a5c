#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Constant-time RSA decryption unpadding (common/pad.c, issue #10 item 9): tests/unit/pad-ct-probe
# runs the unpadding on blocks that valgrind's memcheck sees as undefined, so any branch or
# address that depends on the plaintext is reported. Passes when
#   - the unpadding of common/pad.c gives the expected outcomes with no memcheck error, and
#   - the OAEP decoding card-gids.c used before (kept in the probe as the control) is reported:
#     the check can fail, and it fails on the implementation it replaced.
# Skips (77) without valgrind, and in an ASan build (valgrind cannot run ASan programs).
set -u
: "${top_builddir:?}"
: "${top_srcdir:?}"
probe=$top_builddir/tests/unit/pad-ct-probe
supp=$top_srcdir/scripts/memcheck.supp

if [ "${MDP11_ASAN:-}" = 1 ]; then
	echo "SKIP: an ASan build cannot run under valgrind (the plain build runs this test)"
	exit 77
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "SKIP: valgrind is not installed (scripts/install-deps installs it)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mdp11-padct.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

run() {
	"$top_builddir/libtool" --mode=execute valgrind -q --error-exitcode=99 \
		--suppressions="$supp" "$probe" "$@"
}

run >"$work/new.log" 2>&1
rc=$?
cat "$work/new.log"
if [ "$rc" = 77 ]; then
	echo "SKIP: the probe was built without valgrind/memcheck.h"
	exit 77
fi
if [ "$rc" != 0 ]; then
	echo "FAIL: common/pad.c unpadding (exit $rc): a branch on the plaintext, or a wrong outcome"
	exit 1
fi
if grep -q 'Conditional jump\|uninitialised' "$work/new.log"; then
	echo "FAIL: memcheck reported a dependence on the plaintext in common/pad.c"
	exit 1
fi

run old >"$work/old.log" 2>&1
rc=$?
if [ "$rc" != 99 ] || ! grep -q 'Conditional jump or move depends on uninitialised' "$work/old.log"; then
	cat "$work/old.log"
	echo "FAIL: the control (the old branching OAEP decoder) was not reported (exit $rc):"
	echo "      the check would not see a branch on the plaintext"
	exit 1
fi
echo "control: memcheck reported the old OAEP decoder's branches on the plaintext:"
grep -c 'Conditional jump or move depends on uninitialised' "$work/old.log" |
	sed 's/^/  reports: /'
echo "PASS: unpadding is constant-time in the plaintext"
exit 0
