# SPDX-License-Identifier: LGPL-2.1-or-later
# Test-local p11-kit registration of the module under test, for tests sourced after lib-run.sh.
#
# p11-kit 0.24 reads user module files (~/.config/pkcs11/modules) but skips them in programs
# running as root. So: as a user, the module file goes under a temporary HOME; as root, the test
# runs in a private mount namespace where p11-kit's package module directory
# (/usr/share/p11-kit/modules) is replaced by a copy holding the system's files and ours.
#
#   p11kit_enter_ns "$@"   first thing in the test (root only: re-runs it in the namespace)
#   p11kit_register NAME   after token_setup: register $MODULE as p11-kit module NAME

P11KIT_MODULES_DIR=${P11KIT_MODULES_DIR:-/usr/share/p11-kit/modules}

p11kit_enter_ns()
{
	[ "$(id -u)" = 0 ] || return 0
	[ "${MDP11_P11KIT_NS:-}" = 1 ] && return 0
	command -v unshare >/dev/null 2>&1 || { echo "unshare is not installed: skipped"; exit 77; }
	if ! unshare --mount --propagation private true 2>/dev/null; then
		echo "cannot create a private mount namespace (needed as root): skipped"
		exit 77
	fi
	MDP11_P11KIT_NS=1 exec unshare --mount --propagation private -- /bin/sh "$0" "$@"
}

p11kit_register()
{
	if [ "$(id -u)" != 0 ]; then
		HOME=$WORK/home
		XDG_CONFIG_HOME=$HOME/.config
		export HOME XDG_CONFIG_HOME
		mkdir -p "$HOME/.config/pkcs11/modules"
		printf 'module: %s\n' "$MODULE" >"$HOME/.config/pkcs11/modules/$1.module"
		return 0
	fi
	[ "${MDP11_P11KIT_NS:-}" = 1 ] || fail "p11kit_register as root needs p11kit_enter_ns"
	mkdir -p "$WORK/p11-kit-modules"
	if [ -d "$P11KIT_MODULES_DIR" ]; then
		cp -p "$P11KIT_MODULES_DIR"/*.module "$WORK/p11-kit-modules/" 2>/dev/null || true
	else
		mkdir -p "$P11KIT_MODULES_DIR"
	fi
	printf 'module: %s\n' "$MODULE" >"$WORK/p11-kit-modules/$1.module"
	mount --bind "$WORK/p11-kit-modules" "$P11KIT_MODULES_DIR" ||
		fail "cannot bind-mount the test's module directory on $P11KIT_MODULES_DIR"
	# Unmounted with the namespace when the test exits.
}
