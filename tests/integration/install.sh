# SPDX-License-Identifier: LGPL-2.1-or-later
# make install / uninstall into a DESTDIR (never into /): the module without its libtool
# archive, the p11-kit module file naming it, the tools, man pages, headers with a pkg-config
# file that compiles them, the bash completions, the documentation the configuration names; an
# existing configuration is never overwritten (the new default goes beside it, and make says
# so), and uninstall keeps a changed one.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
. "$top_srcdir/tests/integration/lib-run.sh"
run_init install
need_tool pkg-config cc cmp
# The test runs inside make check: its make must not join the jobserver of that make.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES || true
# Nothing here loads the module: the ASan run's preloaded runtime (asan-run.sh) would only break
# uninstrumented programs (groff aborts on an alloc-dealloc mismatch of its own).
unset LD_PRELOAD || true
MAKE=${MAKE:-make}
DEST=$WORK/root

inst()
{
	"$MAKE" -C "$top_builddir" "$@" DESTDIR="$DEST" >"$WORK/make.log" 2>&1 ||
		fail "make $* failed: $(tail -n 20 "$WORK/make.log")"
}

inst install
# Paths the build was configured with, from what was installed.
module_file=$(find "$DEST" -path '*/p11-kit/modules/mdp11.module' -type f)
[ -n "$module_file" ] || fail "no p11-kit module file mdp11.module installed"
module=$(sed -n 's/^module: *//p' "$module_file")
case $module in /*) ;; *) fail "the module file names '$module', not an absolute path" ;; esac
[ -f "$DEST$module" ] || fail "the module file names $module, which is not installed"
moddir=${module%/*}
[ ! -e "$DEST$moddir/mdp11.la" ] || fail "mdp11.la was installed next to the module in $moddir"
[ "$(ls "$DEST$moddir")" = mdp11.so ] || fail "more than the module in $moddir: $(ls "$DEST$moddir")"

conf=$(find "$DEST" -path '*/mdp11/mdp11.conf' -type f)
[ -n "$conf" ] || fail "no mdp11.conf installed"
pc=$(find "$DEST" -path '*/pkgconfig/mdp11.pc' -type f)
[ -n "$pc" ] || fail "no mdp11.pc installed"
for f in bin/mdp11-tool bin/mdp11-vcard share/man/man1/mdp11-tool.1 \
	share/man/man1/mdp11-vcard.1 share/man/man5/mdp11.conf.5 include/mdp11/pkcs11-vendor.h \
	include/mdp11/card-module.h share/bash-completion/completions/mdp11-tool; do
	[ -n "$(find "$DEST" -path "*/$f")" ] || fail "$f is not installed"
done
# The manual pages format without a warning.
if command -v man >/dev/null 2>&1; then
	for f in $(find "$DEST" -path '*/share/man/man*' -type f); do
		# (man's formatters do not run with the ASan runtime preloaded: asan-run.sh)
		w=$(env -u LD_PRELOAD LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
		[ -z "$w" ] || fail "${f##*/}: $w"
	done
fi
link=$(find "$DEST" -path '*/bash-completion/completions/mdp11-vcard')
[ -h "$link" ] && [ "$(readlink "$link")" = mdp11-tool ] ||
	fail "completions/mdp11-vcard is not a link to mdp11-tool"

# Every document the installed configuration names is installed.
named=$(grep -o '/[^ ]*/doc/[^ ]*[a-z]' "$conf" | sort -u)
[ -n "$named" ] || fail "the installed configuration names no documentation"
echo "$named" | grep -q '/docs/pkcs11\.md$' || fail "the configuration does not name pkcs11.md"
for f in $named; do
	[ -f "$DEST$f" ] || fail "the configuration names $f, which is not installed"
done
docdir=$(dirname "$(echo "$named" | grep '/conf/mdp11.conf.example$')")
docdir=${docdir%/conf}
for f in "$top_srcdir"/docs/*.md; do
	[ -f "$DEST$docdir/docs/${f##*/}" ] || fail "docs/${f##*/} is not installed in $docdir/docs"
done
[ -f "$DEST$docdir/README.md" ] || fail "README.md is not installed in $docdir"

# pkg-config: the headers compile with its flags alone, and it names the installed module.
export PKG_CONFIG_PATH="${pc%/*}" PKG_CONFIG_SYSROOT_DIR="$DEST"
[ "$(pkg-config --modversion mdp11)" = "$(sed -n 's/^Version: //p' "$pc")" ] ||
	fail "pkg-config does not read mdp11.pc"
[ "$(pkg-config --variable=module mdp11)" = "$DEST$module" ] ||
	fail "pkg-config --variable=module names $(pkg-config --variable=module mdp11), not $module"
cat >"$WORK/use.c" <<'EOF'
#include <mdp11/card-module.h>
#include <mdp11/pkcs11-vendor.h>
int main(void) { return CKA_MDP11_CONTAINER_INDEX == 0 || MD_CARD_MODULE_INTERFACE_VERSION == 0; }
EOF
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror $(pkg-config --cflags mdp11) -c "$WORK/use.c" -o "$WORK/use.o" \
	>"$WORK/cc.log" 2>&1 || fail "the installed headers do not compile: $(cat "$WORK/cc.log")"

# A second install over the unchanged default: nothing beside it.
default=$WORK/default.conf
cp "$conf" "$default"
inst install
[ ! -e "$conf.new" ] || fail "an unchanged configuration got a .new beside it"
cmp -s "$conf" "$default" || fail "the unchanged configuration changed"

# A changed configuration is kept; the new default goes beside it, and make says so.
printf '\ndebug = 2\n' >>"$conf"
cp "$conf" "$WORK/changed.conf"
inst install
cmp -s "$conf" "$WORK/changed.conf" || fail "make install overwrote a changed configuration"
cmp -s "$conf.new" "$default" || fail "the new default is not installed as $conf.new"
grep -q "kept your configuration .*mdp11.conf" "$WORK/make.log" ||
	fail "make install did not say that it kept the configuration: $(cat "$WORK/make.log")"
grep -q "mdp11.conf.new" "$WORK/make.log" || fail "make install did not name mdp11.conf.new"

# Uninstall keeps the changed configuration, removes the rest.
inst uninstall
[ -f "$conf" ] || fail "make uninstall removed a changed configuration"
[ ! -e "$conf.new" ] || fail "make uninstall left mdp11.conf.new"
grep -q "kept .*mdp11.conf" "$WORK/make.log" || fail "make uninstall did not say what it kept"
left=$(find "$DEST" ! -type d ! -path "$conf")
[ -z "$left" ] || fail "make uninstall left: $left"
# ... and removes an unchanged one.
cp "$default" "$conf"
inst uninstall
[ ! -e "$conf" ] || fail "make uninstall left the unchanged default configuration"

RUN_STATUS=0
echo "install: files, no mdp11.la, pkg-config, completions, docs, configuration kept"
