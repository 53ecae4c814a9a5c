#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# TLS client authentication with NSS: tstclnt with the client key and certificate on the card
# (module added to a fresh NSS database with modutil) against openssl s_server requiring a client
# certificate; RSA-2048 under TLS 1.3 (RSA-PSS) and TLS 1.2, EC P-256 under TLS 1.3.
set -eu
. "$top_srcdir/tests/integration/lib-run.sh"
run_init tls-nss
need_tool openssl pkcs11-tool python3 tstclnt certutil modutil
. "$top_srcdir/tests/integration/lib-token.sh"
. "$top_srcdir/tests/integration/lib-tls.sh"
token_setup
token_server_cert

DB=sql:$WORK/nssdb
mkdir "$WORK/nssdb"
certutil -N -d "$DB" --empty-password >"$WORK/nss-setup.log" 2>&1 || fail "certutil -N failed"
modutil -dbdir "$DB" -add mdp11 -libfile "$MODULE" -force >>"$WORK/nss-setup.log" 2>&1 ||
	fail "modutil -add failed"
for ca in "$RSA_CA_PEM" "$EC_CA_PEM"; do
	certutil -A -d "$DB" -n "${ca##*/}" -t "C,," -i "$ca" >>"$WORK/nss-setup.log" 2>&1 ||
		fail "certutil -A ($ca) failed"
done
printf '%s\n' "$PIN" >"$WORK/pin.txt"

# NSS sees the card's certificates under TOKEN:LABEL nicknames.
timeout -k 3 60 certutil -L -d "$DB" -h "$TOKEN_LABEL" -f "$WORK/pin.txt" >"$WORK/certutil-L.log" 2>&1 ||
	fail "certutil -L on the token failed"
grep -q "$TOKEN_LABEL:rsa2048" "$WORK/certutil-L.log" || fail "NSS does not list the RSA certificate"
grep -q "$TOKEN_LABEL:p256" "$WORK/certutil-L.log" || fail "NSS does not list the EC certificate"

# client NAME NICKNAME VERSION: tstclnt fetches the s_server status page.
client()
{
	printf 'GET / HTTP/1.0\r\n\r\n' >"$WORK/get.txt"
	run_to 30 "$1" tstclnt -h 127.0.0.1 -p "$TLS_PORT" -d "$DB" -n "$TOKEN_LABEL:$2" \
		-w "$PIN" -V "$3:$3" <"$WORK/get.txt"
}

tls_server server-rsa13 -tls1_3
client client-rsa13 rsa2048 tls1.3 || fail "tstclnt with the RSA key (TLS 1.3) failed"
tls_server_wait
tls_page_check "$WORK/client-rsa13.log" TLSv1.3 RSA-PSS "$RSA_CN"
tls_server_saw server-rsa13 "$RSA_CN"
echo "ok: RSA-2048 TLS 1.3 (RSA-PSS) with tstclnt"

tls_server server-rsa12 -tls1_2 -client_sigalgs RSA+SHA256
client client-rsa12 rsa2048 tls1.2 || fail "tstclnt with the RSA key (TLS 1.2) failed"
tls_server_wait
tls_page_check "$WORK/client-rsa12.log" TLSv1.2 RSA "$RSA_CN"
tls_server_saw server-rsa12 "$RSA_CN"
echo "ok: RSA-2048 TLS 1.2 (PKCS#1 v1.5) with tstclnt"

tls_server server-ec13 -tls1_3
client client-ec13 p256 tls1.3 || fail "tstclnt with the EC key (TLS 1.3) failed"
tls_server_wait
tls_page_check "$WORK/client-ec13.log" TLSv1.3 ECDSA "$EC_CN"
tls_server_saw server-ec13 "$EC_CN"
echo "ok: EC P-256 TLS 1.3 with tstclnt"

# A wrong PIN: no signature, no connection.
tls_server server-badpin -tls1_3
printf 'GET / HTTP/1.0\r\n\r\n' >"$WORK/get.txt"
run_to 30 client-badpin tstclnt -h 127.0.0.1 -p "$TLS_PORT" -d "$DB" -n "$TOKEN_LABEL:p256" \
	-w 000000 -V tls1.3:tls1.3 <"$WORK/get.txt" || true
tls_server_wait
if grep -q "Client certificate" "$WORK/client-badpin.log"; then
	fail "a wrong PIN still authenticated the client"
fi
echo "ok: a wrong PIN does not authenticate"
