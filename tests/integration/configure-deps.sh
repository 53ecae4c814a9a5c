#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# configure names the Debian package of every missing dependency: for each pkg-config module it
# needs, configure runs (in a scratch directory) against a pkg-config path that lacks just that
# module and must stop with "install the Debian package <name>".
set -u

: "${top_srcdir:?}"
command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: pkg-config not installed"; exit 77; }
[ -x "$top_srcdir/configure" ] || { echo "SKIP: $top_srcdir/configure not generated"; exit 77; }
# configure refuses a second build directory when the source tree is configured in place.
if [ -f "$top_srcdir/config.status" ]; then
	echo "SKIP: the source tree is configured in place"
	exit 77
fi

# configure compiles test programs: no sanitizer runtime preloaded into the compiler (ASan build).
unset LD_PRELOAD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Every .pc file pkg-config would see, as links in one directory.
mkdir "$tmp/all"
for d in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
	[ -d "$d" ] || continue
	for f in "$d"/*.pc; do
		[ -e "$f" ] && [ ! -e "$tmp/all/${f##*/}" ] && ln -s "$f" "$tmp/all/"
	done
done

checks=0
for dep in libcrypto:libssl-dev libpcsclite:libpcsclite-dev p11-kit-1:libp11-kit-dev \
	zlib:zlib1g-dev cunit:libcunit1-dev tss2-esys:libtss2-dev tss2-tctildr:libtss2-dev; do
	mod=${dep%%:*}
	pkg=${dep#*:}
	[ -e "$tmp/all/$mod.pc" ] || fail "$mod.pc is not installed: the test needs every dependency"
	rm -rf "$tmp/pc" "$tmp/build"
	mkdir "$tmp/pc" "$tmp/build"
	for f in "$tmp/all"/*.pc; do
		[ "${f##*/}" = "$mod.pc" ] || ln -s "$(readlink "$f")" "$tmp/pc/"
	done
	(cd "$tmp/build" && PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$tmp/pc" \
		"$top_srcdir/configure" --quiet >out 2>err)
	rc=$?
	[ "$rc" != 0 ] || fail "configure succeeded without $mod"
	grep -q "$mod.* not found: install the Debian package $pkg" "$tmp/build/err" ||
		fail "configure without $mod: $(tail -n 3 "$tmp/build/err")"
	checks=$((checks + 1))
done
echo "configure-deps: $checks checks passed"
