#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# TLS client authentication with OpenSSL: openssl s_client signs with the card's key through
# libp11's pkcs11 engine (pkcs11: URIs) against openssl s_server requiring a client certificate;
# RSA-2048 under TLS 1.3 (RSA-PSS) and TLS 1.2 (PKCS#1 v1.5), EC P-256 under TLS 1.3.
# TLS_OPENSSL_CASES selects cases: rsa13 rsa12 ec13 none.
set -eu
CASES=${TLS_OPENSSL_CASES:-rsa13 rsa12 ec13 none}
RAN=0
has_case()
{
	case " $CASES " in *" $1 "*) RAN=$((RAN + 1)); return 0 ;; esac
	return 1
}
. "$top_srcdir/tests/integration/lib-run.sh"
run_init tls-openssl
ENGINE=${P11_ENGINE:-/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so}
need_tool openssl pkcs11-tool python3 "$ENGINE"
. "$top_srcdir/tests/integration/lib-token.sh"
. "$top_srcdir/tests/integration/lib-tls.sh"
token_setup
token_server_cert

cat >"$WORK/openssl.cnf" <<EOC
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $MODULE
init = 0
EOC

# The client certificates, read back from the card.
for id in "$RSA_ID" "$EC_ID"; do
	p11 --read-object --type cert --id "$id" -o "$WORK/card-$id.der" >/dev/null 2>&1 ||
		fail "reading certificate $id from the card failed"
	openssl x509 -inform DER -in "$WORK/card-$id.der" -out "$WORK/card-$id.pem" ||
		fail "certificate $id from the card does not parse"
done

# client NAME KEY_URI CERT PROTO_OPT: s_client fetches the s_server status page.
client()
{
	printf 'GET / HTTP/1.0\r\n\r\n' >"$WORK/get.txt"
	OPENSSL_CONF=$WORK/openssl.cnf run_to 30 "$1" openssl s_client \
		-connect "127.0.0.1:$TLS_PORT" -CAfile "$CA_PEM" -verify_return_error \
		-engine pkcs11 -keyform engine -key "$2;pin-value=$PIN" -cert "$3" "$4" -quiet \
		<"$WORK/get.txt"
}

if has_case rsa13; then
	# RSA-2048, TLS 1.3: the client's CertificateVerify is RSA-PSS.
	tls_server server-rsa13 -tls1_3
	client client-rsa13 "$RSA_KEY_URI" "$WORK/card-$RSA_ID.pem" -tls1_3 ||
		fail "s_client with the RSA key (TLS 1.3) failed"
	tls_server_wait
	tls_page_check "$WORK/client-rsa13.log" TLSv1.3 RSA-PSS "$RSA_CN"
	tls_server_saw server-rsa13 "$RSA_CN"
	echo "ok: RSA-2048 TLS 1.3 (RSA-PSS) through the engine"
fi

if has_case rsa12; then
	# RSA-2048, TLS 1.2 with the server asking for PKCS#1 v1.5 client signatures.
	tls_server server-rsa12 -tls1_2 -client_sigalgs RSA+SHA256
	client client-rsa12 "$RSA_KEY_URI" "$WORK/card-$RSA_ID.pem" -tls1_2 ||
		fail "s_client with the RSA key (TLS 1.2) failed"
	tls_server_wait
	tls_page_check "$WORK/client-rsa12.log" TLSv1.2 RSA "$RSA_CN"
	tls_server_saw server-rsa12 "$RSA_CN"
	echo "ok: RSA-2048 TLS 1.2 (PKCS#1 v1.5) through the engine"
fi

if has_case ec13; then
	# EC P-256, TLS 1.3.
	tls_server server-ec13 -tls1_3
	client client-ec13 "$EC_KEY_URI" "$WORK/card-$EC_ID.pem" -tls1_3 ||
		fail "s_client with the EC key (TLS 1.3) failed"
	tls_server_wait
	tls_page_check "$WORK/client-ec13.log" TLSv1.3 ECDSA "$EC_CN"
	tls_server_saw server-ec13 "$EC_CN"
	echo "ok: EC P-256 TLS 1.3 through the engine"
fi

if has_case none; then
	# The server really requires the certificate: without the card's key the handshake fails.
	tls_server server-none -tls1_3
	printf 'GET / HTTP/1.0\r\n\r\n' >"$WORK/get.txt"
	if run_to 20 client-none openssl s_client -connect "127.0.0.1:$TLS_PORT" -CAfile "$CA_PEM" \
		-tls1_3 -quiet <"$WORK/get.txt" && grep -q 'Client certificate' "$WORK/client-none.log"; then
		fail "the server accepted a client without a certificate"
	fi
	tls_server_wait
	echo "ok: a client without the card is refused"
fi
[ "$RAN" -gt 0 ] || fail "no case selected by TLS_OPENSSL_CASES=$CASES"
