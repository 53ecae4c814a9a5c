#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Firefox with the card: Firefox ESR, headless, loads the module into the test's own profile
# (modutil), opens an https page from openssl s_server (TLS 1.3) that requires a client
# certificate, answers the token's PIN prompt (tests/integration/marionette.py), and the page and
# the server's log show the certificate from the card; the page's screenshot is kept as
# tests/integration/firefox-screenshot.png in the build directory.
# FIREFOX_PIN=WRONG runs the wrong-PIN variant: Firefox must show the error page, not hang.
# Every limit stretches on a loaded machine (lib-run.sh, TIME_SCALE).
set -eu
# An ASan build preloads the sanitizer runtime into every process of a test (asan-run.sh).
if [ "${MDP11_ASAN:-}" = 1 ]; then
	echo "firefox.sh: skipped under ASan: Firefox does not run with a preloaded sanitizer runtime"
	exit 77
fi
. "$top_srcdir/tests/integration/lib-run.sh"
run_init firefox
FIREFOX=${FIREFOX:-firefox-esr}
need_tool openssl pkcs11-tool python3 certutil modutil "$FIREFOX"
. "$top_srcdir/tests/integration/lib-token.sh"
token_setup
token_server_cert

PROFILE=$WORK/profile
mkdir "$PROFILE"
certutil -N -d "sql:$PROFILE" --empty-password >"$WORK/profile.log" 2>&1 || fail "certutil -N failed"
for ca in "$RSA_CA_PEM" "$EC_CA_PEM"; do
	certutil -A -d "sql:$PROFILE" -n "${ca##*/}" -t "C,," -i "$ca" >>"$WORK/profile.log" 2>&1 ||
		fail "certutil -A ($ca) failed"
done
modutil -dbdir "sql:$PROFILE" -add mdp11 -libfile "$MODULE" -force >>"$WORK/profile.log" 2>&1 ||
	fail "modutil -add failed"

MPORT=$(free_port)
cat >"$PROFILE/user.js" <<EOC
user_pref("marionette.port", $MPORT);
user_pref("security.default_personal_cert", "Select Automatically");
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("security.OCSP.enabled", 0);
EOC

# Two https servers, TLS 1.3 only, each requiring a client certificate from one of the test CAs:
# the CA named in the certificate request makes Firefox pick the card's RSA or EC certificate.
RPORT=$(free_port)
run_bg server-rsa timeout -k 3 "$(scaled 120)" openssl s_server -accept "127.0.0.1:$RPORT" -www -tls1_3 \
	-Verify 1 -verify_return_error -CAfile "$RSA_CA_PEM" -cert "$SERVER_CERT" -key "$SERVER_KEY"
wait_log "$WORK/server-rsa.log" '^ACCEPT' 10
EPORT=$(free_port)
run_bg server-ec timeout -k 3 "$(scaled 120)" openssl s_server -accept "127.0.0.1:$EPORT" -www -tls1_3 \
	-Verify 1 -verify_return_error -CAfile "$EC_CA_PEM" -cert "$SERVER_CERT" -key "$SERVER_KEY"
wait_log "$WORK/server-ec.log" '^ACCEPT' 10

TEST_PIN=${FIREFOX_PIN:-$PIN}
FF_HOME=$WORK/home
mkdir -p "$FF_HOME"
HOME=$FF_HOME MOZ_HEADLESS=1 run_bg firefox timeout -k 5 "$(scaled 120)" "$FIREFOX" --headless --no-remote \
	--marionette --remote-allow-system-access --profile "$PROFILE" about:blank

# FIREFOX_SHOT_DIR: where the screenshots go (the wrong-PIN variant keeps its own).
SHOT_DIR=${FIREFOX_SHOT_DIR:-$top_builddir/tests/integration}
SHOT=$SHOT_DIR/firefox-screenshot.png
SHOT_EC=$SHOT_DIR/firefox-screenshot-ec.png
mkdir -p "${SHOT%/*}"
rm -f "$SHOT" "$SHOT_EC"
run_to 90 marionette python3 "$top_srcdir/tests/integration/marionette.py" --port "$MPORT" \
	--token "$TOKEN_LABEL" --pin "$TEST_PIN" --timeout "$(scaled 75)" \
	--page "https://127.0.0.1:$RPORT/|Client certificate|CN=$RSA_CN|Peer signature type: RSA-PSS|Protocol  : TLSv1.3" \
	--screenshot "$SHOT" \
	--page "https://127.0.0.1:$EPORT/|Client certificate|CN=$EC_CN|Peer signature type: ECDSA|Protocol  : TLSv1.3" \
	--screenshot "$SHOT_EC" </dev/null || fail "Firefox did not authenticate with the card"
cat "$WORK/marionette.log"
grep -qE "^depth=0 .*CN = $RSA_CN\$" "$WORK/server-rsa.log" ||
	fail "the RSA server's log does not show the card's certificate"
grep -qE "^depth=0 .*CN = $EC_CN\$" "$WORK/server-ec.log" ||
	fail "the EC server's log does not show the card's certificate"
[ -s "$SHOT" ] && [ -s "$SHOT_EC" ] || fail "no screenshot"
echo "ok: Firefox authenticated with the card's RSA key (TLS 1.3, RSA-PSS) and EC key; screenshots: $SHOT $SHOT_EC"
