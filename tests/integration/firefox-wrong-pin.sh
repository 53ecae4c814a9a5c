#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Firefox test's wrong-PIN variant must fail by Firefox's own answer, not hang: with a wrong
# PIN the prompt is answered once, every later prompt is cancelled (Firefox may ask again for a
# retried connection: how often is its choice), no client certificate is sent, Firefox shows its
# error page and firefox.sh fails. That is checked on what happened, not on a time budget: on a
# loaded machine every limit stretches (lib-run.sh, TIME_SCALE), and a run that reaches a limit
# instead of the error page is reported as a hang.
set -eu
# An ASan build preloads the sanitizer runtime into every process of a test (asan-run.sh).
if [ "${MDP11_ASAN:-}" = 1 ]; then
	echo "firefox-wrong-pin.sh: skipped under ASan: Firefox does not run with a preloaded sanitizer runtime"
	exit 77
fi
command -v "${FIREFOX:-firefox-esr}" >/dev/null 2>&1 || { echo "firefox-esr is not installed: skipped"; exit 77; }
. "$top_srcdir/tests/integration/lib-run.sh"
start=$(date +%s)
rc=0
shots=$(mktemp -d "${TMPDIR:-/tmp}/mdp11-firefox-wrong-pin.XXXXXX")
trap 'rm -rf "$shots"' EXIT
limit=$(scaled 150)
out=$(FIREFOX_PIN=000000 FIREFOX_SHOT_DIR=$shots timeout -k 5 "$limit" \
	sh "$top_srcdir/tests/integration/firefox.sh" 2>&1) || rc=$?
took=$(($(date +%s) - start))
printf '%s\n' "$out" | grep -E '^(firefox|marionette|PIN prompts|https|ok)' || true
case $rc in
0) echo "FAIL: a wrong PIN let Firefox authenticate"; printf '%s\n' "$out"; exit 1 ;;
77) echo "firefox.sh skipped"; exit 77 ;;
124 | 137) echo "FAIL: the wrong-PIN run hung (killed after ${took}s, limit ${limit}s)"; printf '%s\n' "$out"; exit 1 ;;
esac
printf '%s\n' "$out" | grep -q "shows an error page" || {
	echo "FAIL: the wrong-PIN run ended at a time limit, not on Firefox's error page (${took}s)"
	printf '%s\n' "$out"
	exit 1
}
printf '%s\n' "$out" | grep -Eq '"answered": 1, "cancelled": [1-9][0-9]*' || {
	echo "FAIL: the wrong PIN was not answered exactly once with the later prompts cancelled"
	printf '%s\n' "$out"
	exit 1
}
echo "ok: a wrong PIN fails the Firefox test on its error page in ${took}s (exit $rc, time scale $TIME_SCALE)"
