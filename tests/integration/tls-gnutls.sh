#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# TLS client authentication with GnuTLS: the module registered for p11-kit through a test-local
# module file (tests/integration/lib-p11kit.sh); gnutls-cli takes key and certificate as pkcs11: URIs
# against openssl s_server requiring a client certificate (RSA-2048 TLS 1.3 and 1.2, EC P-256
# TLS 1.3); p11tool --list-all shows the card's objects and p11tool --test-sign signs with each key.
set -eu
# An ASan build preloads the sanitizer runtime into every process of a test (asan-run.sh).
if [ "${MDP11_ASAN:-}" = 1 ]; then
	echo "tls-gnutls.sh: skipped under ASan: p11tool and gnutls-cli load p11-kit's trust module, which deadlocks in its constructor when the sanitizer runtime is preloaded"
	exit 77
fi
. "$top_srcdir/tests/integration/lib-run.sh"
. "$top_srcdir/tests/integration/lib-p11kit.sh"
p11kit_enter_ns "$@"
run_init tls-gnutls
need_tool openssl pkcs11-tool python3 gnutls-cli p11tool
. "$top_srcdir/tests/integration/lib-token.sh"
. "$top_srcdir/tests/integration/lib-tls.sh"
token_setup
token_server_cert

p11kit_register mdp11-test
GNUTLS_PIN=$PIN
export GNUTLS_PIN

run_to 60 p11tool-tokens p11tool --list-tokens || fail "p11tool --list-tokens failed"
tls_expect "$WORK/p11tool-tokens.log" "URL: pkcs11:.*${TOKEN_URI#pkcs11:}(;|\$)" \
	"p11-kit does not show the token"

run_to 60 p11tool-all p11tool --login --list-all "$TOKEN_URI" || fail "p11tool --list-all failed"
for want in "id=%$RSA_ID;.*type=private" "id=%$RSA_ID;.*type=cert" "id=%$EC_ID;.*type=private" \
	"id=%$EC_ID;.*type=cert"; do
	tls_expect "$WORK/p11tool-all.log" "URL: .*$want" "p11tool --list-all misses an object"
done
echo "ok: p11tool --list-all shows both keys and both certificates"

for k in "$RSA_KEY_URI" "$EC_KEY_URI"; do
	run_to 60 p11tool-sign p11tool --login --test-sign "$k" || fail "p11tool --test-sign $k failed"
	tls_expect "$WORK/p11tool-sign.log" "Verifying against public key in the token\.\.\. ok" \
		"p11tool --test-sign did not verify"
done
echo "ok: p11tool --test-sign with the RSA and the EC key"

# client NAME KEY CERT PRIORITY: gnutls-cli fetches the s_server status page. Its input (a fifo)
# stays open until the server has answered and closed the connection.
client()
{
	rm -f "$WORK/in.fifo"
	mkfifo "$WORK/in.fifo"
	timeout -k 3 30 gnutls-cli --x509cafile "$CA_PEM" --x509keyfile "$2" --x509certfile "$3" \
		--priority "$4" -p "$TLS_PORT" 127.0.0.1 <"$WORK/in.fifo" >"$WORK/$1.log" 2>&1 &
	_cpid=$!
	exec 3>"$WORK/in.fifo"
	printf 'GET / HTTP/1.0\r\n\r\n' >&3
	_crc=0
	wait "$_cpid" || _crc=$?
	exec 3>&-
	[ "$_crc" = 0 ] && grep -q "Client certificate" "$WORK/$1.log"
}

tls_server server-rsa13 -tls1_3
client client-rsa13 "$RSA_KEY_URI" "$RSA_CERT_URI" NORMAL:-VERS-ALL:+VERS-TLS1.3 ||
	fail "gnutls-cli with the RSA key (TLS 1.3) failed"
tls_server_wait
tls_page_check "$WORK/client-rsa13.log" TLSv1.3 RSA-PSS "$RSA_CN"
tls_server_saw server-rsa13 "$RSA_CN"
echo "ok: RSA-2048 TLS 1.3 (RSA-PSS) with gnutls-cli"

tls_server server-rsa12 -tls1_2 -client_sigalgs RSA+SHA256
client client-rsa12 "$RSA_KEY_URI" "$RSA_CERT_URI" NORMAL:-VERS-ALL:+VERS-TLS1.2 ||
	fail "gnutls-cli with the RSA key (TLS 1.2) failed"
tls_server_wait
tls_page_check "$WORK/client-rsa12.log" TLSv1.2 RSA "$RSA_CN"
tls_server_saw server-rsa12 "$RSA_CN"
echo "ok: RSA-2048 TLS 1.2 (PKCS#1 v1.5) with gnutls-cli"

tls_server server-ec13 -tls1_3
client client-ec13 "$EC_KEY_URI" "$EC_CERT_URI" NORMAL:-VERS-ALL:+VERS-TLS1.3 ||
	fail "gnutls-cli with the EC key (TLS 1.3) failed"
tls_server_wait
tls_page_check "$WORK/client-ec13.log" TLSv1.3 ECDSA "$EC_CN"
tls_server_saw server-ec13 "$EC_CN"
echo "ok: EC P-256 TLS 1.3 with gnutls-cli"
