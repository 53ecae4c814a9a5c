#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer targets (tests/fuzz/fuzz-*.c) with clang, AddressSanitizer and
# UBSan in build-fuzz/, and optionally runs one of them on a copy of its seed corpus.
#
#   tests/fuzz/build-fuzz.sh                         build every fuzz target
#   tests/fuzz/build-fuzz.sh fuzz-blob [OPTIONS]     build, then fuzz (default -max_total_time=60)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v clang >/dev/null 2>&1 || { echo "build-fuzz: clang is required" >&2; exit 1; }
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build-fuzz
cd build-fuzz
if [ ! -f Makefile ]; then
	san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
	CC=clang CFLAGS="-g -O1 -fno-omit-frame-pointer $san -fsanitize=fuzzer-no-link" \
		LDFLAGS="$san" ../configure --enable-fuzzing --quiet
fi
targets=""
for src in "$top"/tests/fuzz/fuzz-*.c; do
	targets="$targets tests/fuzz/$(basename "$src" .c)"
done
# shellcheck disable=SC2086
make -j"$(nproc)" $targets
if [ $# -gt 0 ]; then
	target=$1
	shift
	work=fuzz-work/${target#fuzz-}
	mkdir -p "$work"
	[ $# -gt 0 ] || set -- -max_total_time=60
	"./tests/fuzz/$target" "$@" "$work" "$top/tests/fuzz/corpus/${target#fuzz-}"
fi
