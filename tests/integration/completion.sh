# SPDX-License-Identifier: LGPL-2.1-or-later
# Bash completion of mdp11-tool and mdp11-vcard (conf/completion/mdp11-tool): commands,
# subcommands, options and option values, read from the built programs' --help.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
bc=/usr/share/bash-completion/bash_completion
[ -r "$bc" ] || { echo "SKIP: bash-completion is not installed"; exit 77; }
tool=$top_builddir/tools/mdp11-tool
vcard=$top_builddir/tools/mdp11-vcard
[ -x "$tool" ] && [ -x "$vcard" ] || { echo "FAIL: the tools are not built"; exit 1; }

# shellcheck disable=SC1090
. "$bc"
# shellcheck disable=SC1091
. "$top_srcdir/conf/completion/mdp11-tool"
[ "$(complete -p mdp11-vcard)" = "complete -F _mdp11 mdp11-vcard" ] ||
	{ echo "FAIL: mdp11-vcard is not completed by _mdp11"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mdp11-completion.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
touch key.pem key.blob other.txt
failures=0

# comp WORD... : the completions of the last word (may be empty) of the command line.
comp()
{
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_mdp11 "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
}

# expect "LINE" WORD... : the completions, sorted and joined by spaces, are exactly LINE.
expect()
{
	local want=$1 got
	shift
	got=$(comp "$@" | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" != "$want" ]; then
		echo "FAIL: '$*' completes to '$got', expected '$want'"
		failures=$((failures + 1))
	fi
}

# has WORD WORD... : WORD is among the completions of the rest.
has()
{
	local want=$1
	shift
	if ! comp "$@" | grep -qx -- "$want"; then
		echo "FAIL: '$*' does not offer '$want' (offers: $(comp "$@" | tr '\n' ' '))"
		failures=$((failures + 1))
	fi
}

# The top level: every command of 'mdp11-tool --help', and nothing else.
cmds=$("$tool" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p' | LC_ALL=C sort |
	tr '\n' ' ' | sed 's/ $//')
[ -n "$cmds" ] || { echo "FAIL: no commands in mdp11-tool --help"; exit 1; }
expect "$cmds" "$tool" ""
expect "import" "$tool" "im"
expect "change change-admin-key change-puk" "$tool" pin "ch"
expect "change change-admin-key change-puk unblock" "$tool" pin ""
expect "convert show" "$tool" blob ""
# Options of a command, and of a subcommand.
has --in "$tool" import --
has --cert "$tool" import --
has --pin-env "$tool" import --
has --token "$tool" export --
has --new-pin-file "$tool" pin change --
has --to "$tool" blob convert --
expect "--insecure-admin-key --insecure-new-admin-key --insecure-new-pin --insecure-new-puk \
--insecure-pin --insecure-puk" "$tool" pin unblock --insec
# Option arguments, by the kind the help names.
expect "key.blob key.pem" "$tool" import --in key
expect "cng-ecc-private cng-ecc-public cng-rsa-full cng-rsa-private cng-rsa-public" \
	"$tool" blob convert --in key.pem --to cng-
expect "ec:p256 ec:p384 ec:p521" "$tool" generate --type ec
expect "ecdh ecdhe-p256 ecdhe-p384 ecdhe-p521" "$tool" generate --key-spec ecdh
export MDP11_COMPLETION_TEST_PIN=1
has MDP11_COMPLETION_TEST_PIN "$tool" delete --pin-env MDP11_COMPLETION
# req and selfsign: their options and values.
has --subject "$tool" req --
has --store "$tool" selfsign --
has --label "$tool" export --
expect "pkcs1 pss" "$tool" selfsign --padding ""
expect "sha256 sha384 sha512" "$tool" req --hash sha
# A flag (export --cert) takes no argument: options follow it.
has --out "$tool" export --cert --
expect "" "$tool" export --container ""
# mdp11-vcard: commands, options, the card file.
expect "create info reseal serve" "$vcard" ""
has --pin-file "$vcard" create --
has --seal "$vcard" create --
has --kdf-cost "$vcard" create --
has --seal "$vcard" reseal --
has --vpcd "$vcard" serve --
expect "key.blob key.pem" "$vcard" info key

[ "$failures" = 0 ] || exit 1
echo "completion: commands, subcommands, options and values of both tools"
