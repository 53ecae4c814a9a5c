# SPDX-License-Identifier: LGPL-2.1-or-later
# Provisions a token for the integration tests: an RSA-2048 and an EC P-256 key generated on it
# through the PKCS#11 module with pkcs11-tool, client certificates from a test CA, stored on it.
#
# Sourced after lib-run.sh (needs $WORK). The token backend is a parameter:
#   TOKEN_BACKEND=mdp11    (default) a virtual card made by mdp11-vcard, served by mdp11.so
#                          in-process through MDP11_VCARD; MODULE defaults to the built module
#   TOKEN_BACKEND=softhsm  SoftHSM2 in a temporary token directory (SOFTHSM2_CONF)
#   MODULE=PATH            the PKCS#11 module under test (overrides the backend's default)
#
# token_setup exports:
#   MODULE TOKEN_LABEL PIN TOKEN_URI
#   RSA_ID EC_ID (hex)  RSA_KEY_URI RSA_CERT_URI EC_KEY_URI EC_CERT_URI  (pkcs11: URIs)
#   CA_PEM (both test CAs) CA_KEY (the RSA CA's key, also signs server certificates)
#   RSA_CA_PEM EC_CA_PEM (each client certificate has its own issuer, so a server that names one
#   CA in its certificate request makes a browser pick that certificate)
#   RSA_CERT_PEM EC_CERT_PEM  RSA_CN EC_CN
#   RSA_PUB_PEM EC_PUB_PEM (public keys read back from the token)
# and the backend's own variables (MDP11_VCARD, or SOFTHSM2_CONF).

: "${TOKEN_BACKEND:=mdp11}"
PIN=${PIN:-648219}
SO_PIN=${SO_PIN:-87654321}
ADMIN_KEY=${ADMIN_KEY:-0102030405060708090a0b0c0d0e0f101112131415161718}
RSA_ID=01
EC_ID=02
RSA_CN="mdp11 test RSA client"
EC_CN="mdp11 test EC client"
export PIN RSA_ID EC_ID RSA_CN EC_CN

# The built mdp11.so and mdp11-vcard (libtool puts the real files under .libs).
token_find_mdp11()
{
	if [ -z "${MODULE:-}" ]; then
		MODULE=$top_builddir/.libs/mdp11.so
	fi
	VCARD_TOOL=${VCARD_TOOL:-$top_builddir/tools/mdp11-vcard}
	[ -f "$MODULE" ] || fail "module $MODULE is not built"
	[ -x "$VCARD_TOOL" ] || fail "$VCARD_TOOL is not built"
}

# pkcs11-tool on the test token.
p11()
{
	timeout -k 3 120 pkcs11-tool --module "$MODULE" --token-label "$TOKEN_LABEL" "$@"
}

token_make_mdp11()
{
	token_find_mdp11
	MDP11_VCARD=$WORK/card.vcard
	export MDP11_VCARD
	"$VCARD_TOOL" create "$MDP11_VCARD" --insecure-pin "$PIN" --insecure-admin-key "$ADMIN_KEY" \
		>"$WORK/vcard-create.log" 2>&1 || fail "mdp11-vcard create failed"
	# The token label comes from the card: read it back.
	TOKEN_LABEL=$(timeout 30 pkcs11-tool --module "$MODULE" -L 2>"$WORK/list.log" |
		sed -n 's/^ *token label *: *//p' | head -n 1)
	TOKEN_LABEL=$(printf '%s' "$TOKEN_LABEL" | sed 's/ *$//')
	[ -n "$TOKEN_LABEL" ] || fail "mdp11.so shows no token for $MDP11_VCARD"
}

token_make_softhsm()
{
	MODULE=${MODULE:-/usr/lib/softhsm/libsofthsm2.so}
	[ -f "$MODULE" ] || { echo "SoftHSM2 is not installed: skipped"; exit 77; }
	mkdir -p "$WORK/softhsm"
	SOFTHSM2_CONF=$WORK/softhsm2.conf
	export SOFTHSM2_CONF
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$WORK/softhsm" >"$SOFTHSM2_CONF"
	TOKEN_LABEL=mdp11-test
	softhsm2-util --init-token --free --label "$TOKEN_LABEL" --pin "$PIN" --so-pin "$SO_PIN" \
		>"$WORK/softhsm-init.log" 2>&1 || fail "softhsm2-util --init-token failed"
}

# Percent-encode a string for a pkcs11: URI path attribute.
token_uri_enc()
{
	python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# token_ca NAME CN: a test CA ($WORK/NAME.pem, $WORK/NAME.key).
token_ca()
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/$1.key" \
		-out "$WORK/$1.pem" -subj "/O=mdp11 tests/CN=$2" -days 2 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
		>>"$WORK/certs.log" 2>&1 || fail "making the test CA $1 failed"
}

# token_cert NAME PUBKEY_DER CN CA: a client certificate from a test CA for a public key.
token_cert()
{
	printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=clientAuth" "subjectKeyIdentifier=hash" \
		"authorityKeyIdentifier=keyid" >"$WORK/client.ext"
	openssl x509 -new -subj "/O=mdp11 tests/CN=$3" -force_pubkey "$2" -keyform DER \
		-CA "$WORK/$4.pem" -CAkey "$WORK/$4.key" -days 2 -extfile "$WORK/client.ext" \
		-out "$WORK/$1.pem" 2>>"$WORK/certs.log" || fail "openssl x509 -new for $1 failed"
	openssl x509 -in "$WORK/$1.pem" -outform DER -out "$WORK/$1.der" ||
		fail "openssl x509 DER for $1 failed"
}

token_setup()
{
	case "$TOKEN_BACKEND" in
	mdp11) token_make_mdp11 ;;
	softhsm) token_make_softhsm ;;
	*) fail "unknown TOKEN_BACKEND $TOKEN_BACKEND" ;;
	esac
	export MODULE TOKEN_LABEL

	p11 --login --pin "$PIN" --keypairgen --key-type rsa:2048 --id "$RSA_ID" \
		--label "rsa2048" >"$WORK/keygen-rsa.log" 2>&1 || fail "RSA-2048 key generation failed"
	p11 --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --usage-sign --id "$EC_ID" \
		--label "p256" >"$WORK/keygen-ec.log" 2>&1 || fail "P-256 key generation failed"

	p11 --read-object --type pubkey --id "$RSA_ID" -o "$WORK/rsa-pub.der" \
		>>"$WORK/readpub.log" 2>&1 || fail "reading the RSA public key failed"
	p11 --read-object --type pubkey --id "$EC_ID" -o "$WORK/ec-pub.der" \
		>>"$WORK/readpub.log" 2>&1 || fail "reading the EC public key failed"
	RSA_PUB_PEM=$WORK/rsa-pub.pem
	EC_PUB_PEM=$WORK/ec-pub.pem
	openssl pkey -pubin -inform DER -in "$WORK/rsa-pub.der" -out "$RSA_PUB_PEM" ||
		fail "the RSA public key from the token does not parse"
	openssl pkey -pubin -inform DER -in "$WORK/ec-pub.der" -out "$EC_PUB_PEM" ||
		fail "the EC public key from the token does not parse"

	token_ca rsa-ca "mdp11 test CA (RSA clients)"
	token_ca ec-ca "mdp11 test CA (EC clients)"
	RSA_CA_PEM=$WORK/rsa-ca.pem
	EC_CA_PEM=$WORK/ec-ca.pem
	CA_PEM=$WORK/ca.pem
	CA_KEY=$WORK/rsa-ca.key
	cat "$RSA_CA_PEM" "$EC_CA_PEM" >"$CA_PEM"
	token_cert rsa-cert "$WORK/rsa-pub.der" "$RSA_CN" rsa-ca
	token_cert ec-cert "$WORK/ec-pub.der" "$EC_CN" ec-ca
	RSA_CERT_PEM=$WORK/rsa-cert.pem
	EC_CERT_PEM=$WORK/ec-cert.pem

	p11 --login --pin "$PIN" --write-object "$WORK/rsa-cert.der" --type cert --id "$RSA_ID" \
		--label "rsa2048" >"$WORK/write-cert.log" 2>&1 || fail "storing the RSA certificate failed"
	p11 --login --pin "$PIN" --write-object "$WORK/ec-cert.der" --type cert --id "$EC_ID" \
		--label "p256" >>"$WORK/write-cert.log" 2>&1 || fail "storing the EC certificate failed"

	_tok=$(token_uri_enc "$TOKEN_LABEL")
	TOKEN_URI="pkcs11:token=$_tok"
	RSA_KEY_URI="$TOKEN_URI;id=%$RSA_ID;type=private"
	RSA_CERT_URI="$TOKEN_URI;id=%$RSA_ID;type=cert"
	EC_KEY_URI="$TOKEN_URI;id=%$EC_ID;type=private"
	EC_CERT_URI="$TOKEN_URI;id=%$EC_ID;type=cert"
	export TOKEN_URI RSA_KEY_URI RSA_CERT_URI EC_KEY_URI EC_CERT_URI
	export CA_PEM CA_KEY RSA_CA_PEM EC_CA_PEM RSA_CERT_PEM EC_CERT_PEM RSA_PUB_PEM EC_PUB_PEM
	echo "token: $TOKEN_LABEL on $MODULE (backend $TOKEN_BACKEND)"
}

# A TLS server certificate for 127.0.0.1/localhost from the test CA: $SERVER_CERT, $SERVER_KEY.
token_server_cert()
{
	SERVER_KEY=$WORK/server.key
	SERVER_CERT=$WORK/server.pem
	printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		>"$WORK/server.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$SERVER_KEY" \
		-subj "/O=mdp11 tests/CN=localhost" -out "$WORK/server.csr" >>"$WORK/certs.log" 2>&1 &&
		openssl x509 -req -in "$WORK/server.csr" -CA "$RSA_CA_PEM" -CAkey "$CA_KEY" -days 2 \
			-extfile "$WORK/server.ext" -out "$SERVER_CERT" >>"$WORK/certs.log" 2>&1 ||
		fail "making the server certificate failed"
	export SERVER_KEY SERVER_CERT
}
