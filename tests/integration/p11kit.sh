#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# p11-kit: a test-local module file makes p11-kit list-modules show the module with its token,
# and pkcs11-tool through p11-kit-proxy.so finds the token and signs; remote use: p11-kit server
# --provider MODULE serves the token on a unix socket and pkcs11-tool through p11-kit-client.so
# (P11_KIT_SERVER_ADDRESS) lists it, signs with both keys (verified by openssl) and verifies.
set -eu
# An ASan build preloads the sanitizer runtime into every process of a test (asan-run.sh).
if [ "${MDP11_ASAN:-}" = 1 ]; then
	echo "p11kit.sh: skipped under ASan: p11-kit's trust module deadlocks in its constructor (newlocale under the setlocale lock) when the sanitizer runtime is preloaded"
	exit 77
fi
. "$top_srcdir/tests/integration/lib-run.sh"
. "$top_srcdir/tests/integration/lib-p11kit.sh"
p11kit_enter_ns "$@"
run_init p11kit
LIBDIR=${P11KIT_LIBDIR:-/usr/lib/x86_64-linux-gnu}
PROXY=$LIBDIR/p11-kit-proxy.so
CLIENT=$LIBDIR/pkcs11/p11-kit-client.so
need_tool openssl pkcs11-tool python3 p11-kit "$PROXY" "$CLIENT"
. "$top_srcdir/tests/integration/lib-token.sh"
token_setup

p11kit_register mdp11-test

run_to 60 list-modules p11-kit list-modules || fail "p11-kit list-modules failed"
python3 - "$WORK/list-modules.log" "$TOKEN_LABEL" "$MODULE" <<'PY' ||
import os, sys
# A module block starts with "NAME: PATH" at column 0; p11-kit merges module files that name
# the same library, so the block is ours when its name or its library's real path is.
log, label, module = sys.argv[1], sys.argv[2], os.path.realpath(sys.argv[3])
ours = False
for line in open(log).read().splitlines():
    if line and not line[0].isspace():
        name, _, path = line.partition(": ")
        ours = name == "mdp11-test" or (os.path.isabs(path) and os.path.realpath(path) == module)
    elif ours and line.strip() == "token: " + label:
        sys.exit(0)
sys.exit(1)
PY
	fail "p11-kit list-modules does not show the module with its token"
echo "ok: p11-kit list-modules shows mdp11-test with token '$TOKEN_LABEL'"

echo "data signed through p11-kit" >"$WORK/data.txt"
openssl dgst -sha256 -binary -out "$WORK/data.sha256" "$WORK/data.txt"

# sign_check NAME MODULE: sign with both keys through MODULE, verify with openssl and pkcs11-tool.
sign_check()
{
	_n=$1
	_m=$2
	timeout -k 3 60 pkcs11-tool --module "$_m" --token-label "$TOKEN_LABEL" --login --pin "$PIN" \
		--sign --mechanism SHA256-RSA-PKCS --id "$RSA_ID" -i "$WORK/data.txt" \
		-o "$WORK/$_n-rsa.sig" >"$WORK/$_n-sign.log" 2>&1 || fail "$_n: RSA signature failed"
	openssl dgst -sha256 -verify "$RSA_PUB_PEM" -signature "$WORK/$_n-rsa.sig" "$WORK/data.txt" \
		>>"$WORK/$_n-sign.log" 2>&1 || fail "$_n: the RSA signature does not verify"
	timeout -k 3 60 pkcs11-tool --module "$_m" --token-label "$TOKEN_LABEL" --login --pin "$PIN" \
		--sign --mechanism ECDSA --signature-format openssl --id "$EC_ID" \
		-i "$WORK/data.sha256" -o "$WORK/$_n-ec.sig" >>"$WORK/$_n-sign.log" 2>&1 ||
		fail "$_n: EC signature failed"
	openssl dgst -sha256 -verify "$EC_PUB_PEM" -signature "$WORK/$_n-ec.sig" "$WORK/data.txt" \
		>>"$WORK/$_n-sign.log" 2>&1 || fail "$_n: the EC signature does not verify"
	timeout -k 3 60 pkcs11-tool --module "$_m" --token-label "$TOKEN_LABEL" --verify \
		--mechanism SHA256-RSA-PKCS --id "$RSA_ID" -i "$WORK/data.txt" \
		--signature-file "$WORK/$_n-rsa.sig" >>"$WORK/$_n-sign.log" 2>&1 ||
		fail "$_n: pkcs11-tool --verify failed"
	grep -q "Signature is valid" "$WORK/$_n-sign.log" || fail "$_n: the signature is not valid"
}

run_to 60 proxy-list pkcs11-tool --module "$PROXY" -L || fail "pkcs11-tool through the proxy failed"
grep -q "token label *: $TOKEN_LABEL\$" "$WORK/proxy-list.log" || fail "the proxy does not show the token"
sign_check proxy "$PROXY"
echo "ok: p11-kit-proxy.so finds the token; signatures verify"

# Remote: p11-kit server serves the one token on a unix socket.
SOCK=$WORK/p11-kit.sock
run_bg p11-kit-server p11-kit server -f -n "$SOCK" --provider "$MODULE" "$TOKEN_URI"
n=0
while [ ! -S "$SOCK" ]; do
	n=$((n + 1))
	[ $n -le 100 ] || fail "p11-kit server did not create its socket"
	kill -0 "$LAST_PID" 2>/dev/null || fail "p11-kit server exited"
	sleep 0.1
done
P11_KIT_SERVER_ADDRESS=unix:path=$SOCK
export P11_KIT_SERVER_ADDRESS
run_to 60 client-list pkcs11-tool --module "$CLIENT" -L || fail "pkcs11-tool through p11-kit-client failed"
grep -q "token label *: $TOKEN_LABEL\$" "$WORK/client-list.log" ||
	fail "p11-kit-client does not show the token"
run_to 60 client-objects pkcs11-tool --module "$CLIENT" --token-label "$TOKEN_LABEL" --login \
	--pin "$PIN" -O || fail "listing objects through p11-kit-client failed"
for want in "Private Key Object; RSA" "Private Key Object; EC" "subject: *DN: O=mdp11 tests, CN=$RSA_CN"; do
	grep -q "$want" "$WORK/client-objects.log" || fail "p11-kit-client does not show: $want"
done
sign_check remote "$CLIENT"
echo "ok: p11-kit server + p11-kit-client.so list, sign and verify"
