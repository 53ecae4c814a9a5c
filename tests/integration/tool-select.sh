#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# mdp11-tool by what the PKCS#11 module shows: keys chosen by --label, --id and full PKCS#11 URIs
# (object=, id=, type=; what cannot be honoured is an error, no match is exit 8), certificates
# stored with import --cert, PKCS#10 requests (req) and self-signed certificates (selfsign)
# signed on the card and verified by OpenSSL, and the message that says how to get a card.
set -u

: "${top_builddir:?}"
: "${top_srcdir:?}"
tool="$top_builddir/tools/mdp11-tool"
vcardtool="$top_builddir/tools/mdp11-vcard"
module="$top_builddir/.libs/mdp11.so"
[ -x "$tool" ] && [ -x "$vcardtool" ] || { echo "FAIL: the tools are not built"; exit 1; }
command -v openssl >/dev/null 2>&1 || { echo "SKIP: openssl not installed"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 (JSON checks) not installed"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mdp11-tool-select.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp" || exit 1
. "$top_srcdir/tests/integration/lib-tool.sh"

unset MDP11_DEBUG MDP11_DEBUG_FILE MDP11_VCARD
export MDP11_VCARD_KDF_COST=4
printf '[readers]\npcsc = no\n' >off.conf
printf '[readers]\npcsc = yes\n' >on.conf
export MDP11_CONF="$tmp/off.conf"
printf '123456\n' >pin
printf '010203040506070801020304050607080102030405060708\n' >admin
opin="--pin-file pin"

# ---- no card: the message says how to get one, and the exit status says there is none ----
# PC/SC on, but no pcscd to talk to (the client library's socket points nowhere).
run 3 env MDP11_CONF="$tmp/on.conf" PCSCLITE_CSOCK_NAME="$tmp/no-pcscd" "$tool" list
grep_err "start pcscd"
grep_err "MDP11_VCARD=FILE"
grep_err '\[vcard "label"\] section'
run 3 env MDP11_CONF="$tmp/on.conf" PCSCLITE_CSOCK_NAME="$tmp/no-pcscd" "$tool" export --label x
grep_err "start pcscd"
# PC/SC off: no pcscd hint, the virtual card ones.
run 3 "$tool" list
grep_err "MDP11_VCARD=FILE"
! grep -q "pcscd" "$tmp/err" || fail "a pcscd hint with PC/SC turned off"
# A virtual card whose file is missing: a reader without a card.
run 3 env MDP11_VCARD="$tmp/missing.vcard" "$tool" list
grep_err "insert a card"

# ---- two cards, keys made with labels and ids ----
"$vcardtool" create --pin-file pin --admin-key-file admin a.vcard >/dev/null || fail "create a"
"$vcardtool" create --pin-file pin --admin-key-file admin b.vcard >/dev/null || fail "create b"
export MDP11_VCARD="$tmp/a.vcard:$tmp/b.vcard"
A="--reader a.vcard"
run 0 "$tool" generate $A $opin --type ec:p256 --label p256 --id 01
run 0 "$tool" generate $A $opin --type rsa:2048 --name Alice
# A URI's object= and id= name the new key, so that the same URI finds it.
run 0 "$tool" generate $opin --token 'pkcs11:token=a.vcard;object=p384;id=%02' --type ec:p384
run 0 "$tool" generate $A $opin --type ec:p256 --key-spec ecdh --label agree --id 03
run 0 "$tool" generate $A $opin --type ec:p256 --label twin --id 04
run 0 "$tool" generate $A $opin --type ec:p256 --label twin --id 05
run 0 "$tool" generate --reader b.vcard $opin --type ec:p256 --label onlyb --id 0b
run 2 "$tool" generate $opin --token 'pkcs11:token=a.vcard;type=cert'
grep_err "type=cert names a certificate"
run 0 "$tool" list $A --json
python3 - "$tmp/out" <<'EOF' || fail "labels and ids in list --json"
import json, sys
d = json.load(open(sys.argv[1]))
keys = {k["label"]: k for c in d["cards"][0]["containers"] for k in c["keys"]}
assert keys["p256"]["id"] == "01", keys["p256"]
assert keys["p384"]["id"] == "02" and keys["p384"]["curve"] == "P-384", keys["p384"]
assert keys["agree"]["key_spec"] == "ecdhe-p256", keys["agree"]
assert keys["Alice"]["id"] == "416c696365", keys["Alice"]  # default: the container name
EOF

# ---- selection: --label, --id, URIs ----
"$tool" export $A --label p256 --format der --out p256.der || fail "export --label"
openssl pkey -pubin -inform der -in p256.der -noout -text | grep -q "P-256" || fail "not P-256"
run 0 "$tool" export $A --id 02
openssl pkey -pubin -in out -noout -text | grep -q "P-384" || fail "--id 02 is not the P-384 key"
run 0 "$tool" export --token 'pkcs11:token=a.vcard;object=p384;type=public'
openssl pkey -pubin -in out -noout -text | grep -q "P-384" || fail "object=p384 is not P-384"
run 0 "$tool" export --token 'pkcs11:token=a.vcard;id=%01;type=private'
openssl pkey -pubin -in out -outform der | cmp -s - p256.der || fail "id=%01 is not the p256 key"
# Without token=, the one card holding the key is taken.
run 0 "$tool" export --token 'pkcs11:object=onlyb'
run 0 "$tool" export --label onlyb
# All selectors must match: the URI's object= and --name of another key select nothing (8).
run 8 "$tool" export --token 'pkcs11:token=a.vcard;object=p384;type=public' --name Alice
grep_err 'no key matches name "Alice", object="p384", type=public'
run 8 "$tool" export $A --label nosuch
run 8 "$tool" export $A --id 99
run 8 "$tool" export $A --label p256 --id 02
run 8 "$tool" export --token 'pkcs11:token=a.vcard;object=p256;type=cert'
# Several keys match: say so (2), and how to narrow it.
run 2 "$tool" export $A --label twin
grep_err "2 keys match"
run 0 "$tool" export $A --label twin --id 05
# Contradictions and what cannot be honoured are usage errors.
run 2 "$tool" export --label p256 --token 'pkcs11:token=a.vcard;object=p384'
run 2 "$tool" export --id 01 --token 'pkcs11:token=a.vcard;id=%02'
run 2 "$tool" export --token 'pkcs11:token=a.vcard;object=p256;type=data'
run 2 "$tool" export --token 'pkcs11:token=a.vcard;object=p256;type=secret-key'
run 2 "$tool" export --token 'pkcs11:token=a.vcard;object=p256;type=bogus'
run 2 "$tool" export --token 'pkcs11:token=a.vcard;object=p256;x-vendor=1'
run 2 "$tool" export --token 'pkcs11:token=a.vcard;object=p256?pin-source=file:pin'
run 2 "$tool" export $A
grep_err "choose the key with"
run 2 "$tool" export $A --id 0g
run 2 "$tool" list --token 'pkcs11:token=a.vcard;id=%01'
# delete, by label.
run 0 "$tool" generate $A $opin --type ec:p256 --label scratch
run 0 "$tool" delete $A $opin --label scratch
run 8 "$tool" export $A --label scratch

# ---- req: PKCS#10 requests signed on the card, verified by OpenSSL ----
run 0 "$tool" req $A $opin --label p256 --subject '/CN=Alice EC/O=Example' --out p256.csr
openssl req -in p256.csr -verify -noout 2>/dev/null || fail "the EC request does not verify"
openssl req -in p256.csr -noout -subject | grep -q "CN = Alice EC, O = Example" || fail "subject"
openssl req -in p256.csr -noout -pubkey | openssl pkey -pubin -outform der | cmp -s - p256.der ||
	fail "the request does not hold the card's key"
openssl req -in p256.csr -noout -text | grep -q "ecdsa-with-SHA256" || fail "not ECDSA-SHA256"
run 0 "$tool" req $A $opin --name Alice --subject /CN=Alice --format der --out rsa.csr
openssl req -inform der -in rsa.csr -verify -noout 2>/dev/null || fail "RSA request"
openssl req -inform der -in rsa.csr -noout -text | grep -q sha256WithRSAEncryption || fail "PKCS#1"
run 0 "$tool" req $A $opin --name Alice --subject /CN=Alice --padding pss --hash sha384 \
	--out pss.csr
openssl req -in pss.csr -verify -noout 2>/dev/null || fail "RSA-PSS request"
openssl req -in pss.csr -noout -text | grep -q "rsassaPss" || fail "not RSASSA-PSS"
openssl req -in pss.csr -noout -text | grep -q "Hash Algorithm: sha384" || fail "not SHA-384"
run 0 "$tool" req --token 'pkcs11:token=a.vcard;object=p384' $opin --subject /CN=p384
openssl req -in out -verify -noout 2>/dev/null || fail "P-384 request (standard output)"
openssl req -in out -noout -text | grep -q "ecdsa-with-SHA384" || fail "P-384: not SHA-384"
# An ECDH key cannot sign; EC keys take no padding; the subject is required and checked.
run 2 "$tool" req $A $opin --label agree --subject /CN=x
grep_err "ECDH key"
run 2 "$tool" req $A $opin --label p256 --subject /CN=x --padding pss
run 2 "$tool" req $A $opin --label p256
run 2 "$tool" req $A $opin --label p256 --subject /CN
run 2 "$tool" req $A $opin --label p256 --subject /XX=y
run 8 "$tool" req $A $opin --label nosuch --subject /CN=x
printf '000000\n' >badpin
run 4 "$tool" req $A --pin-file badpin --label p256 --subject /CN=x

# ---- selfsign: certificates signed on the card, verified by OpenSSL ----
run 0 "$tool" selfsign $A $opin --name Alice --subject /CN=Alice --days 10 --out rsa.crt
openssl verify -CAfile rsa.crt rsa.crt >/dev/null || fail "the RSA certificate does not verify"
openssl x509 -in rsa.crt -noout -text >rsa.txt
grep -q "Version: 3" rsa.txt || fail "not X.509 v3"
grep -q "CA:FALSE" rsa.txt || fail "no basicConstraints CA:FALSE"
grep -q "Key Encipherment" rsa.txt || fail "an exchange key without keyEncipherment"
grep -q "X509v3 Subject Key Identifier" rsa.txt || fail "no subject key identifier"
end=$(openssl x509 -in rsa.crt -noout -enddate | cut -d= -f2)
python3 - "$end" <<'EOF' || fail "--days 10 gave $end"
import sys, datetime
end = datetime.datetime.strptime(sys.argv[1], "%b %d %H:%M:%S %Y GMT")
days = (end - datetime.datetime.utcnow()).total_seconds() / 86400
assert 9.9 < days <= 10.01, days
EOF
run 0 "$tool" selfsign $A $opin --name Alice --subject /CN=Alice --padding pss --hash sha512 \
	--out pss.crt
openssl verify -CAfile pss.crt pss.crt >/dev/null || fail "the RSA-PSS certificate does not verify"
openssl x509 -in pss.crt -noout -text | grep -q "rsassaPss" || fail "not RSASSA-PSS"
run 0 "$tool" selfsign --token 'pkcs11:token=a.vcard;object=p384' $opin \
	--subject '/CN=p384/O=Ex\/ample' --format der --out p384.der --store
grep_err "Stored the certificate"
openssl x509 -inform der -in p384.der -out p384.crt || fail "DER certificate"
openssl verify -CAfile p384.crt p384.crt >/dev/null || fail "the P-384 certificate does not verify"
openssl x509 -in p384.crt -noout -subject | grep -q "O = Ex/ample" || fail "escaped '/'"
# --store put it with the key: type=cert finds it, export gives the same certificate.
run 0 "$tool" export --token 'pkcs11:token=a.vcard;object=p384;type=cert' --format der
cmp -s out p384.der || fail "the stored certificate differs from selfsign's output"
run 9 "$tool" selfsign $A $opin --id 02 --subject /CN=again --store
run 0 "$tool" selfsign $A $opin --id 02 --subject /CN=again --store --overwrite --out again.crt
run 0 "$tool" export $A --id 02 --cert
cmp -s out again.crt || fail "--overwrite did not replace the certificate"
run 2 "$tool" selfsign $A $opin --id 02 --subject /CN=x --overwrite
run 2 "$tool" req $A $opin --id 02 --subject /CN=x --store

# ---- import --cert: the certificate goes to the key with its public key ----
run 0 "$tool" import $opin --cert rsa.crt
grep_out 'container 1 "Alice"'
run 0 "$tool" export $A --name Alice --cert --format der
openssl x509 -in rsa.crt -outform der | cmp -s - out || fail "import --cert stored another certificate"
# The same again: nothing to do; another certificate of the key needs --overwrite.
run 0 "$tool" import $opin --cert rsa.crt
grep_out "already stored"
openssl x509 -in pss.crt -outform der -out pss.der
run 9 "$tool" import $A $opin --cert pss.der
run 0 "$tool" import $A $opin --cert pss.der --overwrite
# No key with that public key (exit 8), also when the selection names another key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
	-subj /CN=other -out other.crt 2>/dev/null || fail "openssl req -x509"
run 8 "$tool" import $A $opin --cert other.crt
grep_err "no key on the card has the certificate's public key"
run 8 "$tool" import $A $opin --cert rsa.crt --label p256
run 7 "$tool" import $A $opin --cert pin
run 2 "$tool" import $A $opin
grep_err -- "--cert FILE"
# The module sees the certificate with the key (pkcs11-tool, when installed).
if command -v pkcs11-tool >/dev/null 2>&1 && [ -f "$module" ] && [ -z "${MDP11_ASAN:-}" ]; then
	pkcs11-tool --module "$module" --token-label a.vcard -O >objects.txt 2>&1 ||
		fail "pkcs11-tool -O: $(cat objects.txt)"
	grep -q "Certificate Object" objects.txt || fail "the module shows no certificate"
	grep -q "label: *p384" objects.txt || fail "the module does not show the label p384"
fi

echo "tool-select: $checks checks passed"
