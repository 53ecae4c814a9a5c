#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# mdp11-tool's card commands against the embedded virtual card: every command, every key blob
# format imported and checked with OpenSSL, the list --json schema, every error path's exit code,
# and that a refused or failed import leaves the card unchanged.
set -u

: "${top_builddir:?}"
: "${top_srcdir:?}"
: "${MDP11_TEST_DATA:=$top_srcdir/tests/data}"
tool="$top_builddir/tools/mdp11-tool"
vcardtool="$top_builddir/tools/mdp11-vcard"
module="$top_builddir/.libs/mdp11.so"

[ -x "$tool" ] || { echo "FAIL: $tool not built"; exit 1; }
[ -x "$vcardtool" ] || { echo "SKIP: mdp11-vcard is not built"; exit 77; }
command -v openssl >/dev/null 2>&1 || { echo "SKIP: openssl not installed"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 (JSON checks) not installed"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp" || exit 1
umask 022

. "$top_srcdir/tests/integration/lib-tool.sh"
hex2bin() { perl -ne 'next if /^\s*#/; s/\s+//g; print pack("H*", $_)' "$1" >"$2"; }

export MDP11_CONF="$tmp/mdp11.conf"
: >"$MDP11_CONF"
printf '[readers]\npcsc = no\n' >"$MDP11_CONF"
unset MDP11_DEBUG MDP11_DEBUG_FILE MDP11_VCARD

PIN=123456
ADMIN=010203040506070801020304050607080102030405060708
printf '%s\n' "$PIN" >pin
printf '%s\n' "$ADMIN" >admin
printf '%s\n' "000000" >badpin
printf '%s\n' 111111111111111111111111111111111111111111111111 >badadmin

# ---- help ----
for c in list init import export generate delete pin; do
	run 0 "$tool" $c --help
	grep_out Usage
done
run 0 "$tool" --help
grep_out "7 bad input file"
run 2 "$tool" bogus
run 2 "$tool" list --bogus
grep_err "unknown option"
run 2 "$tool" pin
one_line_err
run 2 "$tool" pin frobnicate

# A bad configuration line is a usage error naming the file and line; a missing MDP11_CONF too.
printf '[readers]\npcsc = no\n[policy]\nrsa_min_bits = 2048\nbogus = 1\n' >bad.conf
run 2 env MDP11_CONF="$tmp/bad.conf" "$tool" list
grep_err "bad.conf:5: unknown option \"bogus\""
one_line_err
run 2 env MDP11_CONF="$tmp/missing.conf" "$tool" list
grep_err "missing.conf: no such file"

# ---- no card at all: exit 3 and how to get one (tool-select.sh: with PC/SC on) ----
run 3 "$tool" list
grep_out "No reader and no virtual card"
grep_err "MDP11_VCARD=FILE or a \[vcard \"label\"\] section"
one_line_err
run 3 "$tool" list --json
[ "$(json 'len(d["cards"])')" = 0 ] || fail "cards listed without any"
run 3 "$tool" export --container 0
grep_err "mdp11-vcard create FILE"
run 3 "$tool" list --card 0

# ---- cards: A initialised, B blank ----
"$vcardtool" create a.vcard --pin-file pin --admin-key-file admin --serial 00112233445566778899aabbccddeeff \
	>/dev/null || fail "mdp11-vcard create a.vcard"
"$vcardtool" create b.vcard >/dev/null || fail "mdp11-vcard create b.vcard"
export MDP11_VCARD="$tmp/a.vcard:$tmp/b.vcard"
sel="--reader a.vcard"
opin="--pin-file pin"

run 0 "$tool" list
grep_out 'Card 0: virtual card "a.vcard"'
grep_out 'Card 1: virtual card "b.vcard"'
grep_out "blank"
run 0 "$tool" list --json
[ "$(json 'd["cards"][0]["state"]')" = ready ] || fail "card A not ready"
[ "$(json 'd["cards"][1]["state"]')" = blank ] || fail "card B not blank"
[ "$(json 'd["cards"][0]["cardid"]')" = 00112233445566778899aabbccddeeff ] || fail "cardid"
[ "$(json 'd["cards"][0]["serial"]')" = 0011223344556677 ] || fail "serial"
ok

# Selection: ambiguous without a selector only when two cards are usable (B is blank).
run 3 "$tool" export --container 0 --reader b.vcard
grep_err "init"
run 3 "$tool" list --card 7
run 3 "$tool" list --reader nosuchcard
run 0 "$tool" list --serial 0011223344556677
grep_out a.vcard
run 0 "$tool" list --serial 00112233445566778899AABBCCDDEEFF
run 3 "$tool" list --serial 0000000000000000
run 0 "$tool" list --token 'pkcs11:token=a.vcard;serial=0011223344556677;model=GIDS;manufacturer=mdp11'
grep_out a.vcard
run 0 "$tool" list --token 'pkcs11:token=a%2evcard'
run 3 "$tool" list --token 'pkcs11:token=a.vcard;serial=1'
run 3 "$tool" list --token 'pkcs11:token=a.vcard;library-version=1'
run 0 "$tool" list --token 'pkcs11:token=a.vcard;library-version=0.1'
run 2 "$tool" list --token 'pkcs11:token=a.vcard;library-version=x'
# An attribute the tool cannot check is an error, never silently ignored.
run 2 "$tool" list --token 'pkcs11:token=a.vcard;x-vendor=1'
grep_err 'cannot check the attribute "x-vendor"'
run 2 "$tool" list --token 'pkcs11:token=a.vcard;future-attr=1'
run 0 "$tool" list --token 'pkcs11:token=a.vcard?module-name=mdp11'
run 3 "$tool" list --token 'pkcs11:token=a.vcard?module-name=opensc-pkcs11'
run 0 "$tool" list --token 'pkcs11:token=a.vcard?module-path=/usr/lib/x86_64-linux-gnu/pkcs11/mdp11.so'
run 3 "$tool" list --token 'pkcs11:token=a.vcard?module-path=/usr/lib/softhsm/libsofthsm2.so'
# object=, id=, type= select a key: list takes none.
run 2 "$tool" list --token 'pkcs11:token=a.vcard;object=x'
run 2 "$tool" list --token 'pkcs11:token=%zz'
run 2 "$tool" list --token 'pkcs11:token=a.vcard?pin-value=123456'
run 2 "$tool" list --token 'pkcs11:token=a.vcard?pin-source=file:pin'
grep_err "pin-source"
run 2 "$tool" list --card 0 --serial 00

# ---- init: blank card B ----
run 2 "$tool" init --reader b.vcard --admin-key-file admin --new-pin-file pin --card-id 12
run 0 "$tool" init --reader b.vcard --admin-key-file admin --new-pin-file pin \
	--card-id a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
grep_out "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
run 0 "$tool" list --reader b.vcard --json
[ "$(json 'd["cards"][0]["state"]')" = ready ] || fail "card B not ready after init"
[ "$(json 'd["cards"][0]["cardid"]')" = a0a1a2a3a4a5a6a7a8a9aaabacadaeaf ] || fail "B cardid"
ok
# Now both cards are usable: no selector is ambiguous.
run 2 "$tool" list --json --token 'pkcs11:model=GIDS'
run 2 "$tool" export --container 0
grep_err "cards match"
# The initialised card B takes keys and then can be re-initialised.
run 0 "$tool" generate --reader b.vcard $opin --type ec:p256 --name tmp
run 2 "$tool" init --reader b.vcard --admin-key-file admin
grep_err "confirm"
run 4 "$tool" init --reader b.vcard --admin-key-file badadmin --force
run 0 "$tool" list --reader b.vcard --json
[ "$(json 'len(d["cards"][0]["containers"])')" = 1 ] || fail "failed re-init changed the card"
run 2 "$tool" init --reader b.vcard --admin-key-file admin --force --new-pin-env NEWPIN_UNSET
run 0 env NEWPIN=654321 "$tool" init --reader b.vcard --admin-key-file admin \
	--force --new-pin-env NEWPIN
run 0 "$tool" list --reader b.vcard --json
[ "$(json 'len(d["cards"][0]["containers"])')" = 0 ] || fail "re-init left containers"
ok
run 4 "$tool" generate --reader b.vcard $opin --type ec:p256
run 0 env P=654321 "$tool" generate --reader b.vcard --pin-env P --type ec:p256
run 2 "$tool" init --reader b.vcard --admin-key-file admin --force --card-id \
	a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
export MDP11_VCARD="$tmp/a.vcard"

# ---- keys to import ----
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl req -new -x509 -key rsa.pem -subj "/CN=Alice Example/O=mdp11 test" -days 30 \
	-out rsa.crt 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2.pem 2>/dev/null
openssl rsa -in rsa2.pem -outform MSBLOB -out rsa2.capi 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa3.pem 2>/dev/null
"$tool" blob convert --in rsa3.pem --out rsa3.cngfull --to cng-rsa-full || fail "blob convert"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa4.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in rsa4.pem -outform DER -out rsa4.p8 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec384.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa5.pem 2>/dev/null
openssl req -new -x509 -key rsa5.pem -subj "/CN=Bob P12" -days 40 -out rsa5.crt 2>/dev/null
openssl pkcs12 -export -inkey rsa5.pem -in rsa5.crt -passout pass:p12secret -out rsa5.p12 \
	2>/dev/null || fail "openssl pkcs12 -export"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa6.pem 2>/dev/null
"$tool" blob convert --in rsa6.pem --out rsa6.cngpriv --to cng-rsa-private ||
	fail "blob convert cng-rsa-private"
"$tool" blob convert --in rsa6.pem --out rsa6.pub --to spki || fail "blob convert spki"
hex2bin "$MDP11_TEST_DATA/vectors/capi_rsa1024_keyx_privatekeyblob.wine.hex" wine-capi.blob
hex2bin "$MDP11_TEST_DATA/vectors/cng_ecdsa_p256_eccprivateblob.wine.hex" wine-ecdsa.blob
hex2bin "$MDP11_TEST_DATA/vectors/cng_ecdh_p256_eccprivateblob.wine.hex" wine-ecdh.blob
hex2bin "$MDP11_TEST_DATA/vectors/cng_rsa512_rsafullprivateblob.wine.hex" wine-rsa512.blob
head -c 300 /dev/urandom >garbage.bin

snapshot() { # name: the card as list --json shows it
	"$tool" list $sel --json >"$1.json" 2>/dev/null || fail "list for snapshot $1"
}
unchanged() { # name
	"$tool" list $sel --json >now.json 2>/dev/null || fail "list after $1"
	cmp -s "$1.json" now.json || fail "$1 changed the card"
	ok
}
# spki_of FILE: the public key of a private key file as DER SPKI (OpenSSL's view).
spki_of() {
	openssl pkey -in "$1" -pubout -outform DER -out "$2" 2>/dev/null || fail "openssl pkey $1"
}
# check_pub INDEX REFERENCE_SPKI_DER: the card's public key is the imported one.
check_pub() {
	run 0 "$tool" export $sel --container "$1" --format der --out card.spki
	cmp -s card.spki "$2" || fail "container $1: the card's public key is not the imported one"
	ok
}

# ---- imports: each format, public key compared with OpenSSL's ----
run 0 "$tool" import $sel $opin --in rsa.pem --cert rsa.crt --name alice
grep_out 'container 0 "alice"'
spki_of rsa.pem rsa.spki
check_pub 0 rsa.spki

# --format (the blob format names) gives the input format, as --from does.
run 0 "$tool" import $sel $opin --in rsa2.capi --format capi-private --name capi
grep_out "keyexchange"
spki_of rsa2.pem rsa2.spki
check_pub 1 rsa2.spki

run 0 "$tool" import $sel $opin --in wine-capi.blob --name wine-capi
"$tool" blob convert --in wine-capi.blob --out wine-capi.spki --to spki || fail "convert wine"
check_pub 2 wine-capi.spki

run 0 "$tool" import $sel $opin --in wine-ecdsa.blob --name wine-ecdsa
grep_out "ecdsa-p256"
"$tool" blob convert --in wine-ecdsa.blob --out wine-ecdsa.spki --to spki || fail "convert"
check_pub 3 wine-ecdsa.spki

run 0 "$tool" import $sel $opin --in wine-ecdh.blob --name wine-ecdh
grep_out "ecdhe-p256"
"$tool" blob convert --in wine-ecdh.blob --out wine-ecdh.spki --to spki || fail "convert"
check_pub 4 wine-ecdh.spki

run 0 "$tool" import $sel $opin --in rsa3.cngfull --name cngfull --key-spec signature
grep_out "as signature"
spki_of rsa3.pem rsa3.spki
check_pub 5 rsa3.spki

run 0 "$tool" import $sel $opin --in rsa4.p8 --name pkcs8
spki_of rsa4.pem rsa4.spki
check_pub 6 rsa4.spki

run 0 "$tool" import $sel $opin --in ec384.pem --name ec384 --key-spec ecdh
grep_out "ecdhe-p384"
spki_of ec384.pem ec384.spki
check_pub 7 ec384.spki

run 0 env P12PASS=p12secret "$tool" import $sel $opin --in rsa5.p12 --p12-pass-env P12PASS \
	--name p12
grep_out "with its certificate"
spki_of rsa5.pem rsa5.spki
check_pub 8 rsa5.spki

run 0 "$tool" import $sel $opin --in rsa6.cngpriv --container 20 --name cngpriv
check_pub 20 rsa6.pub

# The container map as list shows it.
run 0 "$tool" list $sel
grep_out "Alice Example"
grep_out "CN=Bob P12"
grep_out "cngpriv"
# The card facts and the table columns; the expiry is the certificate's notAfter date.
grep_out "card: *GIDS"
grep_out "serial: *0011223344556677"
grep_out "cardid: *00112233445566778899aabbccddeeff"
grep_out "PIN: *3 of 3 tries left"
grep_out "containers free, free bytes not reported by the card"
grep_out "cache: *memory (cardcf: "
grep_out "IDX  NAME .* KEY SPEC  *BITS DEF EXPIRES  *CERTIFICATE SUBJECT"
expiry=$(openssl x509 -in rsa.crt -noout -enddate -dateopt iso_8601 | sed 's/notAfter=//' |
	cut -c1-10)
grep_out "^    0  *alice  *keyexchange  *2048 yes $expiry O=mdp11 test,CN=Alice Example"
run 0 "$tool" list $sel --json
[ "$(json '[c["index"] for c in d["cards"][0]["containers"]]')" = \
	"[0, 1, 2, 3, 4, 5, 6, 7, 8, 20]" ] || fail "container indexes"
[ "$(json 'd["cards"][0]["containers"][0]["default"]')" = True ] || fail "first not default"
[ "$(json 'd["cards"][0]["containers"][0]["keys"][0]["certificate"]["subject"]')" = \
	"O=mdp11 test,CN=Alice Example" ] || fail "certificate subject"
[ "$(json 'd["cards"][0]["containers"][3]["keys"][0]["key_spec"]')" = ecdsa-p256 ] ||
	fail "key spec of the ECDSA blob"
[ "$(json 'd["cards"][0]["containers"][5]["keys"][0]["slot"]')" = signature ] ||
	fail "slot of a signature key"
[ "$(json 'd["cards"][0]["containers"][0]["keys"][0]["origin"]')" = imported ] ||
	fail "origin"
ok

# ---- the JSON schema: exactly these keys (scripts rely on them) ----
run 0 "$tool" list --json
python3 - "$tmp/out" <<'EOF' || fail "list --json schema"
import json, sys
d = json.load(open(sys.argv[1]))
def keys(o, want, what):
    if sorted(o.keys()) != sorted(want):
        sys.exit("%s keys %s, want %s" % (what, sorted(o.keys()), sorted(want)))
keys(d, ["format", "version", "pcsc_problem", "cards"], "top")
assert d["format"] == "mdp11-tool-list" and d["version"] == 2
c = d["cards"][0]
keys(c, ["index", "kind", "reader", "path", "state", "error", "card_name", "label", "serial",
         "cardid", "read_only", "keygen", "pin", "puk", "free_bytes", "free_containers",
         "max_containers", "cache", "containers"], "card")
keys(c["pin"], ["tries_left", "tries_max", "blocked", "external"], "pin")
keys(c["cache"], ["mode", "dir", "cardcf"], "cache")
keys(c["cache"]["cardcf"], ["pins", "containers", "files"], "cardcf")
for ct in c["containers"]:
    keys(ct, ["index", "name", "key_reference", "default", "keys"], "container")
    for k in ct["keys"]:
        keys(k, ["slot", "key_spec", "algorithm", "bits", "curve", "origin", "label", "id",
                 "certificate"], "key")
        if k["certificate"] is not None:
            keys(k["certificate"], ["subject", "issuer", "serial", "not_before", "not_after",
                                    "sha256"], "certificate")
assert c["kind"] == "vcard" and c["card_name"] == "GIDS"
assert c["puk"] is None and all(ct["key_reference"] is None for ct in c["containers"])
EOF
ok

# '-' reads the key from standard input.
"$tool" import $sel $opin --in - --name from-stdin <rsa2.capi >"$tmp/out" 2>"$tmp/err" ||
	fail "import --in - (standard input)"
grep_out 'container .* "from-stdin"'
run 0 "$tool" delete $sel $opin --name from-stdin
run 7 "$tool" import $sel $opin --in - --name from-stdin
grep_err "empty"

# ---- refused and failed imports leave the card unchanged ----
snapshot before
run 6 "$tool" import $sel $opin --in wine-rsa512.blob
grep_err "512 bits: the card takes at least 1024"
unchanged before
run 7 "$tool" import $sel $opin --in garbage.bin
unchanged before
run 7 "$tool" import $sel $opin --in nonexistent.pem
run 7 "$tool" import $sel $opin --in rsa2.pem --format capi-private
one_line_err
run 7 "$tool" import $sel $opin --in .
grep_err "Is a directory"
: >empty.pin
run 2 "$tool" import $sel --pin-file empty.pin --in rsa2.pem
grep_err "the PIN is empty"
one_line_err
run 2 "$tool" import $sel --pin-file nonexistent.pin --in rsa2.pem
grep_err "nonexistent.pin: No such file"
one_line_err
unchanged before
run 7 "$tool" import $sel $opin --in rsa6.pub
grep_err "private key"
run 7 "$tool" import $sel $opin --in rsa2.pem --cert rsa.crt
grep_err "does not belong"
unchanged before
run 7 "$tool" import $sel $opin --in rsa2.pem --cert garbage.bin
run 7 env P12PASS=wrong "$tool" import $sel $opin --in rsa5.p12 --p12-pass-env P12PASS
run 2 "$tool" import $sel $opin --in rsa2.pem --key-spec ecdsa
run 2 "$tool" import $sel $opin --in ec384.pem --key-spec ecdsa-p256
run 2 "$tool" import $sel $opin
run 2 "$tool" import $sel --in rsa2.pem
grep_err "PIN"
run 9 "$tool" import $sel $opin --in rsa2.pem --name alice
grep_err "KSP_E_EXISTS"
grep_err "overwrite"
unchanged before
run 4 "$tool" import $sel --pin-file badpin --in rsa2.pem
grep_err "wrong PIN (2 tries left)"
one_line_err
# A wrong PIN spends a try: take the snapshot again after a good login resets the counter.
run 0 "$tool" generate $sel $opin --type ec:p256 --name reset-tries
run 0 "$tool" delete $sel $opin --name reset-tries
snapshot before

# Policy: [policy] refuses exchange-key import; the reason names the option.
cp "$MDP11_CONF" conf.saved
printf '[policy]\nallow_private_exchange_key_import = no\nallow_private_ecdhe_key_import = no\n' \
	>>"$MDP11_CONF"
run 6 "$tool" import $sel $opin --in rsa2.pem
grep_err "allow_private_exchange_key_import"
run 6 "$tool" import $sel $opin --in wine-ecdh.blob
grep_err "allow_private_ecdhe_key_import"
unchanged before
run 0 "$tool" import $sel $opin --in rsa2.pem --key-spec signature --name policy-sig
run 0 "$tool" delete $sel $opin --name policy-sig
cp conf.saved "$MDP11_CONF"
printf '[policy]\nrsa_min_bits = 3072\nrsa_default_bits = 3072\n' >>"$MDP11_CONF"
run 6 "$tool" import $sel $opin --in rsa2.pem
cp conf.saved "$MDP11_CONF"
printf '[policy]\nbogus_option = 1\n' >>"$MDP11_CONF"
run 2 "$tool" list
grep_err "bogus_option"
cp conf.saved "$MDP11_CONF"
snapshot before

# ---- export ----
run 0 "$tool" export $sel --container 0 --out pub.pem
openssl pkey -pubin -in pub.pem -outform DER -out pub.der 2>/dev/null || fail "PEM export unreadable"
cmp -s pub.der rsa.spki || fail "PEM export is not the key"
ok
run 0 "$tool" export $sel --name alice --format spki --out pub.spki
cmp -s pub.spki rsa.spki || fail "spki export"
ok
run 0 "$tool" export $sel --container 0 --format capi-public --out pub.capi
openssl rsa -pubin -inform MSBLOB -in pub.capi -outform DER -out capi.der 2>/dev/null ||
	fail "OpenSSL cannot read the PUBLICKEYBLOB"
openssl pkey -pubin -inform DER -in capi.der -outform DER -out capi.spki 2>/dev/null
cmp -s capi.spki rsa.spki || fail "PUBLICKEYBLOB is not the key"
ok
run 0 "$tool" blob show pub.capi
grep_out "CALG_RSA_KEYX"
run 0 "$tool" export $sel --container 5 --format capi-public --out sig.capi
run 0 "$tool" blob show sig.capi
grep_out "CALG_RSA_SIGN"
run 0 "$tool" export $sel --container 0 --format cng-rsa-public --out pub.cng
run 0 "$tool" blob show pub.cng
grep_out "cng-rsa-public"
run 0 "$tool" export $sel --container 3 --format cng-ecc-public --out ecdsa.cng
run 0 "$tool" blob show ecdsa.cng
grep_out "(ECS1)"
run 0 "$tool" export $sel --container 4 --format cng-ecc-public --out ecdh.cng
run 0 "$tool" blob show ecdh.cng
grep_out "(ECK1)"
run 0 "$tool" export $sel --container 0 --cert --out cert.pem
openssl x509 -in cert.pem -noout -subject >subj 2>/dev/null || fail "certificate export"
grep -q "Alice Example" subj || fail "exported certificate subject"
ok
run 0 "$tool" export $sel --container 8 --cert --format der --out cert.der
openssl x509 -inform DER -in cert.der -noout -subject >subj 2>/dev/null || fail "DER cert"
grep -q "Bob P12" subj || fail "PKCS#12 certificate"
ok
run 0 "$tool" export $sel --container 0
grep_out "BEGIN PUBLIC KEY"
run 8 "$tool" export $sel --container 1 --cert
run 8 "$tool" export $sel --container 99
run 8 "$tool" export $sel --name nosuch
run 2 "$tool" export $sel --container 3 --format capi-public
run 2 "$tool" export $sel --container 0 --format cng-ecc-public
run 2 "$tool" export $sel --container 0 --format capi-private
grep_err "never leave"
run 2 "$tool" export $sel --container 0 --cert --format capi-public
run 2 "$tool" export $sel
unchanged before

# ---- generate ----
run 0 "$tool" generate $sel $opin --type rsa:2048 --name gen-rsa
grep_out "RSA-2048"
run 0 "$tool" generate $sel $opin --type ec:p384 --key-spec ecdh --name gen-ecdh
grep_out "ecdhe-p384"
run 0 "$tool" generate $sel $opin --type ec:p521 --container 30 --name gen-521
grep_out "container 30"
run 0 "$tool" generate $sel $opin --name gen-default
grep_out "RSA-2048"
run 9 "$tool" generate $sel $opin --type ec:p256 --name gen-rsa
run 0 "$tool" generate $sel $opin --type ec:p256 --name gen-rsa --overwrite
run 2 "$tool" generate $sel $opin --type rsa:2048 --key-spec ecdsa
run 2 "$tool" generate $sel $opin --type ed25519
cp conf.saved "$MDP11_CONF"
printf '[policy]\nrsa_max_bits = 2048\nrsa_default_bits = 2048\n' >>"$MDP11_CONF"
run 6 "$tool" generate $sel $opin --type rsa:3072
# A size refusal names the limit that binds: here the policy's ...
grep_err "3072 bits: rsa_max_bits = 2048 in \[policy\] of mdp11.conf (the card takes up to 4096)"
cp conf.saved "$MDP11_CONF"
# ... and here the card's own (the policy's rsa_max_bits is 4096 too, but raising it would not
# help), never an internal code alone.
run 6 "$tool" generate $sel $opin --type rsa:8192
grep_err "8192 bits: the card takes at most 4096"
! grep -q "rsa_max_bits" "$tmp/err" || fail "the card's limit binds, not rsa_max_bits"
! grep -q "failed (KSP_E" "$tmp/err" || fail "an internal code alone"
# Progress: on a terminal a slow generation shows the elapsed seconds (script(1) gives a pty;
# a generation can be quicker than the first tick, so up to three tries).
if command -v script >/dev/null 2>&1; then
	shown=no
	for i in 1 2 3; do
		script -qec "'$tool' generate $sel $opin --type rsa:4096 --name gen-progress" \
			/dev/null </dev/null >tty.out 2>&1 || fail "generate on a terminal"
		"$tool" delete $sel $opin --name gen-progress >/dev/null 2>&1 || fail "delete"
		grep -q "Generated RSA-4096" tty.out || fail "generate on a terminal: $(cat tty.out)"
		if grep -q "generating RSA-4096 on the card\.\.\. [0-9]*s" tty.out; then
			shown=yes
			break
		fi
	done
	[ "$shown" = yes ] || fail "no progress shown on a terminal"
	ok
fi
run 0 "$tool" generate $sel $opin --type rsa:1024 --name gen-quiet
grep -q "generating" "$tmp/err" && fail "progress shown when stderr is not a terminal"
run 0 "$tool" delete $sel $opin --name gen-quiet
run 0 "$tool" list $sel --json
python3 - "$tmp/out" <<'EOF' || fail "generated keys in the listing"
import json, sys
c = json.load(open(sys.argv[1]))["cards"][0]
by = {ct["name"]: ct for ct in c["containers"]}
assert by["gen-rsa"]["keys"][0]["key_spec"] == "ecdsa-p256", by["gen-rsa"]
assert by["gen-ecdh"]["keys"][0]["key_spec"] == "ecdhe-p384"
assert by["gen-521"]["index"] == 30 and by["gen-521"]["keys"][0]["bits"] == 521
assert by["gen-default"]["keys"][0]["bits"] == 2048
assert by["gen-default"]["keys"][0]["origin"] == "generated"
EOF
ok

# ---- signatures with the keys on the card, verified with OpenSSL ----
if [ -f "$module" ] && command -v pkcs11-tool >/dev/null 2>&1; then
	head -c 1000 /dev/urandom >data
	# sign NAME MECHANISM PUBFILE: through the PKCS#11 module, CKA_ID = the container name.
	sign() {
		id=$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')
		pkcs11-tool --module "$module" --token-label a.vcard --login --pin "$PIN" \
			--sign --mechanism "$2" --id "$id" --input-file data --output-file sig \
			--signature-format openssl >/dev/null 2>&1 || fail "pkcs11-tool signs with $1"
		openssl dgst -sha256 -verify "$3" -signature sig data >/dev/null 2>&1 ||
			fail "the signature of $1 does not verify"
		ok
	}
	for n in alice capi wine-capi cngfull pkcs8 p12 cngpriv; do
		"$tool" export $sel --name $n --out $n.pub.pem || fail "export $n"
		sign $n SHA256-RSA-PKCS $n.pub.pem
	done
	"$tool" export $sel --name wine-ecdsa --out ecdsa.pub.pem || fail "export wine-ecdsa"
	sign wine-ecdsa ECDSA-SHA256 ecdsa.pub.pem
	"$tool" export $sel --name gen-default --out gen.pub.pem || fail "export gen-default"
	sign gen-default SHA256-RSA-PKCS gen.pub.pem
else
	echo "note: the PKCS#11 module or pkcs11-tool is missing: signatures not checked" >&2
fi

# ---- delete ----
snapshot before
run 8 "$tool" delete $sel $opin --container 99
run 8 "$tool" delete $sel $opin --container 1 --cert-only
run 2 "$tool" delete $sel $opin
unchanged before
run 0 "$tool" delete $sel $opin --container 0 --cert-only
run 8 "$tool" export $sel --container 0 --cert
run 0 "$tool" export $sel --container 0 --out /dev/null
# A non-regular output (here a FIFO) is written in place, not replaced by a rename.
mkfifo out.fifo || fail "mkfifo"
timeout 20 cat out.fifo >fifo.data &
reader=$!
run 0 timeout 20 "$tool" export $sel --container 0 --out out.fifo
wait "$reader" || fail "nothing read from the FIFO"
[ -p out.fifo ] || fail "export --out FIFO replaced the FIFO with a regular file"
grep -q 'BEGIN' fifo.data || fail "export --out FIFO wrote nothing"
ok
run 0 "$tool" delete $sel $opin --name capi
run 8 "$tool" export $sel --name capi
run 0 "$tool" list $sel --json
[ "$(json '[c["name"] for c in d["cards"][0]["containers"]].count("capi")')" = 0 ] ||
	fail "deleted container still listed"
ok

# ---- PIN: change, wrong, blocked, unblock; admin key change ----
printf '%s\n' 24682468 >pin2
run 4 "$tool" pin change $sel --pin-file badpin --new-pin-file pin2
grep_err "wrong PIN"
one_line_err
printf '12\n' >short.pin
run 1 "$tool" pin change $sel --pin-file pin --new-pin-file short.pin
grep_err "refused the PIN (GIDS cards take 4 to 16"
one_line_err
run 0 "$tool" pin change $sel --pin-file pin --new-pin-file pin2
run 4 "$tool" generate $sel $opin --type ec:p256
run 0 "$tool" generate $sel --pin-file pin2 --type ec:p256 --name after-change
run 0 "$tool" pin change $sel --pin-file pin2 --insecure-new-pin "$PIN"
run 2 "$tool" pin change $sel --pin-file pin --new-pin-file pin2 --insecure-new-pin 1
# --verbose: the APDU trace, without the PIN.
run 0 "$tool" pin change $sel --verbose --pin-file pin --new-pin-file pin2
grep -qi "apdu\|00 20\|002000\|=>\|->" "$tmp/err" || fail "--verbose shows no APDU trace"
ok
if grep -qi "31 *32 *33 *34 *35 *36\|32 *34 *36 *38 *32 *34 *36 *38" "$tmp/err"; then
	fail "the APDU trace shows a PIN"
fi
ok
run 0 "$tool" pin change $sel --pin-file pin2 --new-pin-file pin
snapshot blockbase
for i in 1 2 3; do
	"$tool" generate $sel --pin-file badpin --type ec:p256 >/dev/null 2>&1
done
run 5 "$tool" generate $sel $opin --type ec:p256
grep_err "blocked"
run 0 "$tool" list $sel --json
[ "$(json 'd["cards"][0]["pin"]["blocked"]')" = True ] || fail "list does not show the block"
ok
run 5 "$tool" import $sel $opin --in rsa2.pem
run 4 "$tool" pin unblock $sel --admin-key-file badadmin --new-pin-file pin
grep_err "unblock: wrong admin key"
one_line_err
run 0 "$tool" pin unblock $sel --admin-key-file admin --new-pin-file pin
run 0 "$tool" generate $sel $opin --type ec:p256 --name after-unblock
printf '%s\n' 0f0e0d0c0b0a09080f0e0d0c0b0a09080f0e0d0c0b0a0908 >admin2
run 4 "$tool" pin change-admin-key $sel --admin-key-file badadmin --new-admin-key-file admin2
grep_err "wrong admin key"
one_line_err
run 0 "$tool" pin change-admin-key $sel --admin-key-file admin --new-admin-key-file admin2
run 4 "$tool" pin unblock $sel --admin-key-file admin --new-pin-file pin
run 0 env ADMIN2="$(cat admin2)" "$tool" pin unblock $sel --admin-key-env ADMIN2 \
	--new-pin-file pin
run 2 "$tool" pin unblock $sel --admin-key-file admin2
grep_err "new PIN"

echo "tool: $checks checks passed"
