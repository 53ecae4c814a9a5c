# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the module's integration tests (sourced, POSIX sh): a fresh embedded virtual card
# in a private directory, the module path, and fail/skip helpers.
#
#   module_setup        creates $WORK/card.vcard (PIN $PIN, admin key $ADMIN) and exports
#                       MDP11_VCARD and MDP11_CONF (PC/SC off); MODULE = the built mdp11.so
#   fail MESSAGE        print and exit 1;  skip REASON: print and exit 77
set -eu
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$top_builddir}"
NAME=$(basename "$0" .sh)
PIN=123456
ADMIN=0102030405060708090a0b0c0d0e0f101112131415161718

fail() {
	echo "FAIL: $NAME: $*" >&2
	exit 1
}
skip() {
	echo "SKIP: $NAME: $*" >&2
	exit 77
}
need_tool() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

# In an --enable-asan build the module needs the sanitizer runtime loaded first in the
# (uninstrumented) client programs. Reports go to files; the clients' own findings (OpenSC
# 0.23's pkcs11-tool has a use-after-free in its EC code) do not stop them, and module_done
# fails the test on any report that involves mdp11.so.
asan_preload() {
	asan_lib=$(ldd "$1" 2>/dev/null | awk '/libasan/ {print $3; exit}')
	if [ -n "$asan_lib" ]; then
		LD_PRELOAD=$asan_lib
		ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:halt_on_error=0
		ASAN_OPTIONS=$ASAN_OPTIONS:log_path=$WORK/asan
		export LD_PRELOAD ASAN_OPTIONS
	fi
}

module_done() {
	if grep -l "mdp11" "$WORK"/asan.* >/dev/null 2>&1; then
		cat "$WORK"/asan.*
		fail "AddressSanitizer found an error in the module"
	fi
	echo "$NAME: $*"
}

module_setup() {
	MODULE=$top_builddir/.libs/mdp11.so
	[ -f "$MODULE" ] || fail "$MODULE is not built"
	[ -x "$top_builddir/tests/module/mkcard" ] || fail "tests/module/mkcard is not built"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/mdp11-$NAME.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	asan_preload "$MODULE"
	"$top_builddir/tests/module/mkcard" "$WORK/card.vcard" "$PIN" "$ADMIN" ||
		fail "creating the virtual card failed"
	printf '[readers]\npcsc = no\n' >"$WORK/mdp11.conf"
	MDP11_VCARD=$WORK/card.vcard
	MDP11_CONF=$WORK/mdp11.conf
	export MODULE WORK MDP11_VCARD MDP11_CONF
}
