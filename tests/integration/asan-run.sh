#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one shell integration test of an ASan/UBSan build (configure --enable-asan): the tests
# start programs that are not instrumented (pkcs11-tool, certutil, openssl, pcscd...) and that
# load the instrumented module mdp11.so. The AddressSanitizer runtime must be the first library
# of such a process, so it is preloaded into every process of the test.
#
#   sh tests/integration/asan-run.sh TEST.sh     (automake: AM_SH_LOG_FLAGS in tests/local.mk)
#
# In those processes only our own code is checked: leak detection is off (the programs' own
# leaks at exit are not ours; the unit test programs, which are instrumented themselves and run
# without this wrapper, keep it) and so are the libc interceptors' checks on calls made by
# uninstrumented code (OpenSC 0.23's pkcs11-tool reads freed memory in strcmp when it checks an
# EC signature; that is not ours to report). Tests that drive a program that cannot run with a
# preloaded runtime read MDP11_ASAN=1 and skip (exit 77) with a reason.
set -eu
: "${top_builddir:=.}"
rt=""
module="$top_builddir/.libs/mdp11.so"
if [ -f "$module" ]; then
	rt=$(ldd "$module" 2>/dev/null | awk '/libasan|libclang_rt\.asan/ { print $3; exit }')
fi
if [ -z "$rt" ]; then
	rt=$("${CC:-cc}" -print-file-name=libasan.so 2>/dev/null || true)
	case "$rt" in /*) ;; *) rt="" ;; esac
fi
if [ -z "$rt" ] || [ ! -e "$rt" ]; then
	echo "asan-run: cannot find the AddressSanitizer runtime of $module" >&2
	exit 99
fi
off="detect_leaks=0:replace_str=0:replace_intrin=0:intercept_intrin=0:intercept_memcmp=0"
off="$off:intercept_memmem=0:intercept_strchr=0:intercept_strcmp=0:intercept_strlen=0"
off="$off:intercept_strndup=0:intercept_strpbrk=0:intercept_strspn=0:intercept_strstr=0"
off="$off:intercept_strtok=0:intercept_send=0:intercept_stat=0"
LD_PRELOAD="$rt${LD_PRELOAD:+ $LD_PRELOAD}"
ASAN_OPTIONS="$off${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
MDP11_ASAN=1
export LD_PRELOAD ASAN_OPTIONS MDP11_ASAN
exec "${SHELL:-/bin/sh}" "$@"
