# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the mdp11-tool tests (tool.sh, tool-select.sh; POSIX sh, sourced after $tmp is the
# test's work directory): run a command and check its exit status and output.
#
#   run WANT_RC COMMAND...   stdout in $tmp/out, stderr in $tmp/err, the exit status checked
#   grep_out RE, grep_err RE the last command's stdout / stderr matches RE
#   one_line_err             the last failure's message is one line with a reason
#   json EXPR                a Python expression over the last stdout parsed as JSON (d)
#   fail MESSAGE             print it with the last output, exit 1
# $checks counts the checks made.

checks=0
fail() {
	echo "FAIL: $*" >&2
	for f in out err; do
		[ -s "$tmp/$f" ] && { echo "---- $f ----" >&2; cat "$tmp/$f" >&2; }
	done
	exit 1
}
ok() {
	checks=$((checks + 1))
}
run() {
	want=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	[ "$rc" = "$want" ] || fail "exit $rc (wanted $want): $*"
	ok
}
grep_out() { grep -q -- "$1" "$tmp/out" || fail "stdout lacks '$1'"; ok; }
grep_err() { grep -q -- "$1" "$tmp/err" || fail "stderr lacks '$1'"; ok; }
# The message of a failure is one line, with a reason (never a leftover "success").
one_line_err() {
	[ "$(wc -l <"$tmp/err")" = 1 ] || fail "stderr is not one line"
	! grep -q "success" "$tmp/err" || fail "stderr gives no reason"
	ok
}
json() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$tmp/out" "$1"
}
