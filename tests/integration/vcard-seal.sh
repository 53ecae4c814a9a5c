#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The virtual card's seals end to end (docs/vcard.md, "Seal"), through mdp11-vcard, mdp11-tool,
# mdp11.so with pkcs11-tool, and openssl: for a key file and for a TPM (Debian's swtpm on
# loopback, on free ports, started and stopped here): create, import, sign, PIN change, lockout
# and unblock with the admin key, no secret in the card file, the messages of a card without its
# seal, another TPM refused, and the reseal of a format 1 file made by the old code.
. "$top_srcdir/tests/integration/lib-run.sh"
run_init vcard-seal
need_tool swtpm
need_tool pkcs11-tool
need_tool openssl
need_tool python3

VCARD=$top_builddir/tools/mdp11-vcard
TOOL=$top_builddir/tools/mdp11-tool
MODULE=$top_builddir/.libs/mdp11.so
DATA=${MDP11_TEST_DATA:-$top_srcdir/tests/data}
[ -x "$VCARD" ] && [ -x "$TOOL" ] && [ -f "$MODULE" ] || fail "the tools or the module are not built"
ADMIN=0102030405060708090a0b0c0d0e0f101112131415161718
unset MDP11_VCARD MDP11_VCARD_SEAL MDP11_DEBUG MDP11_DEBUG_FILE
MDP11_VCARD_KDF_COST=4
TSS2_LOG=all+NONE
XDG_DATA_HOME=$WORK/xdg
export MDP11_VCARD_KDF_COST TSS2_LOG XDG_DATA_HOME
cd "$WORK" || exit 1
umask 077
printf '123456\n' >pin
printf '654321\n' >pin2
printf '13572468\n' >pin3
printf '%s\n' "$ADMIN" >admin
printf 'the data signed by the card\n' >data
openssl pkey -in "$DATA/vcard-v1/rsa.pem" -pubout -out rsa.pub 2>/dev/null || fail "rsa.pub"

# free_port_pair: a free port P on 127.0.0.1 whose P+1 is free too (the swtpm TCTI talks to the
# control channel on P+1)
free_port_pair() {
	python3 -c 'import socket
for _ in range(100):
    a = socket.socket()
    a.bind(("127.0.0.1", 0))
    p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1))
    except OSError:
        a.close()
        continue
    a.close()
    b.close()
    print(p)
    break'
}

# start_tpm NAME: a swtpm of its own (state in NAME/), its TCTI in $TCTI
start_tpm() {
	mkdir -p "$WORK/$1"
	_p=$(free_port_pair)
	[ -n "$_p" ] || fail "no two free ports for swtpm"
	run_bg "$1" swtpm socket --tpm2 --tpmstate dir="$WORK/$1" \
		--server type=tcp,port="$_p",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port="$((_p + 1))",bindaddr=127.0.0.1 --flags not-need-init,startup-clear
	wait_port "$_p" 20
	wait_port "$((_p + 1))" 20
	TCTI=swtpm:host=127.0.0.1,port=$_p
}

# conf CARD [SEAL]: the module's and mdp11-tool's configuration for one card
conf() {
	printf '[readers]\npcsc = no\n[vcard "sealed"]\npath = %s/%s\n' "$WORK" "$1" >mdp11.conf
	[ -z "${2:-}" ] || printf 'seal = %s\n' "$2" >>mdp11.conf
	MDP11_CONF=$WORK/mdp11.conf
	export MDP11_CONF
}

# p11 ARGS...: pkcs11-tool on the module, output in p11.out (stdout and stderr)
p11() {
	timeout -k 3 60 pkcs11-tool --module "$MODULE" "$@" >p11.out 2>&1
}

# signs PIN PUBKEY: the card's key "imp" signs data (SHA256-RSA-PKCS), openssl verifies it
signs() {
	rm -f sig
	p11 --login --pin "$1" --sign --label imp -m SHA256-RSA-PKCS -i data -o sig ||
		fail "signing with PIN $1: $(cat p11.out)"
	openssl dgst -sha256 -verify "$2" -signature sig data >/dev/null 2>&1 ||
		fail "the card's signature does not verify"
}

# secrets_absent CARD ADMINHEX PIN...: none of these, nor rsa.pem's private parts, is in CARD
secrets_absent() {
	python3 - "$@" "$DATA/vcard-v1/rsa.pem" <<'PY' || fail "a secret is in the card file $1"
import subprocess, sys
card = open(sys.argv[1], "rb").read()
needles = [bytes.fromhex(sys.argv[2])] + [p.encode() for p in sys.argv[3:-1]]
text = subprocess.run(["openssl", "pkey", "-in", sys.argv[-1], "-text", "-noout"],
                      capture_output=True, text=True, check=True).stdout
name = None
parts = {}
for line in text.splitlines():
    if not line.startswith(" ") and line.endswith(":"):
        name = line[:-1]
        parts[name] = ""
    elif name and line.startswith(" "):
        parts[name] += line.strip().replace(":", "")
for n in ("privateExponent", "prime1", "prime2", "exponent1", "exponent2", "coefficient"):
    v = bytes.fromhex(parts[n]).lstrip(b"\0")
    needles += [v[:16], v[-16:]]
bad = [n.hex() for n in needles if n in card]
if bad:
    print("found in the card file:", bad)
    sys.exit(1)
PY
}

# exercise SEAL NAME: the whole life of a card sealed by SEAL
exercise() {
	seal=$1
	card=$2.vcard
	"$VCARD" create --pin-file pin --admin-key-file admin --seal "$seal" "$card" >out 2>&1 ||
		fail "create $card: $(cat out)"
	grep -q "^sealed by $seal" out || fail "create does not say the seal: $(cat out)"
	conf "$card"
	"$TOOL" import --in "$DATA/vcard-v1/rsa.pem" --name imp --pin-file pin >out 2>&1 ||
		fail "import: $(cat out)"
	signs 123456 rsa.pub
	"$TOOL" pin change --pin-file pin --new-pin-file pin2 >out 2>&1 || fail "PIN change: $(cat out)"
	signs 654321 rsa.pub
	# three wrong PINs block it; the admin key unblocks it; the key is still there
	for _i in 1 2 3; do
		! p11 --login --pin 000000 --list-objects || fail "a wrong PIN logged in"
	done
	! p11 --login --pin 654321 --list-objects || fail "a blocked PIN logged in"
	grep -q CKR_PIN_LOCKED p11.out || fail "no CKR_PIN_LOCKED: $(cat p11.out)"
	"$TOOL" pin unblock --admin-key-file admin --new-pin-file pin3 >out 2>&1 ||
		fail "unblock: $(cat out)"
	signs 13572468 rsa.pub
	secrets_absent "$card" "$ADMIN" 123456 654321 13572468
	"$VCARD" info "$card" >out 2>&1 || fail "info: $(cat out)"
	grep -q "^format version:  2" out || fail "info: not format 2"
	grep -q "^seal:            $seal" out || fail "info: not sealed by $seal: $(cat out)"
	grep -q "^seal available:  yes" out || fail "info: the seal is not available: $(cat out)"
}

# without_seal CARD SEAL WORD: the card with its seal moved away (the setting says SEAL)
without_seal() {
	conf "$1" "$2"
	p11 --list-objects || fail "the public objects are not listed without the seal"
	grep -q "Public Key Object" p11.out || fail "no public key without the seal: $(cat p11.out)"
	! p11 --login --pin 13572468 --list-objects || fail "a login without the seal"
	grep -q CKR_DEVICE_ERROR p11.out || fail "C_Login: not CKR_DEVICE_ERROR: $(cat p11.out)"
	grep -q "cannot open its secrets.*$3" p11.out || fail "the module names no seal: $(cat p11.out)"
	! "$TOOL" pin change --pin-file pin3 --new-pin-file pin >out 2>&1 || fail "PIN change"
	grep -q "$3" out || fail "mdp11-tool names no seal: $(cat out)"
	! "$TOOL" pin unblock --admin-key-file admin --new-pin-file pin >out 2>&1 || fail "unblock"
	grep -q "$3" out || fail "mdp11-tool names no seal for the admin key: $(cat out)"
	"$VCARD" info --seal "$2" "$1" >out 2>&1 || fail "info: $(cat out)"
	grep -q "^seal available:  no: .*$3" out || fail "info says the seal is there: $(cat out)"
	# no try was spent
	grep -q "^PIN tries left:  3 of 3" out || fail "a try was spent without the seal: $(cat out)"
}

# ---- a key file ----
exercise "keyfile:$WORK/card.key" kf
mv card.key card.key.away
without_seal kf.vcard "keyfile:$WORK/card.key" "card.key"
mv card.key.away card.key
# a key file in the data directory by default, never beside the card
"$VCARD" create --pin-file pin --admin-key-file admin dflt.vcard >out 2>&1 || fail "create: $(cat out)"
grep -Eq "^sealed by (keyfile:$XDG_DATA_HOME/mdp11/vcard-seal/dflt.vcard\.[0-9a-f]{8}\.key|tpm:device:/dev/tpmrm0)$" out ||
	fail "the default seal: $(cat out)"

# ---- the TPM ----
start_tpm tpm
TPM=tpm:$TCTI
exercise "$TPM" tpm
# the card file alone, without this TPM: another TPM does not take the sealed object
start_tpm tpm2
without_seal tpm.vcard "tpm:$TCTI" "does not take this card's sealed object"
# and no TPM at all
without_seal tpm.vcard "tpm:swtpm:host=127.0.0.1,port=$(free_port_pair)" "cannot connect"
conf tpm.vcard
signs 13572468 rsa.pub

# ---- a format 1 card, made by the old code, resealed ----
for seal in "keyfile:$WORK/v1.key" "$TPM"; do
	cp "$DATA/vcard-v1/card-v1.vcard" v1.vcard
	chmod 600 v1.vcard
	conf v1.vcard
	p11 -L || fail "the format 1 card is not listed"
	grep -q "warning: the virtual card .* is not sealed" p11.out || fail "no warning: $(cat p11.out)"
	"$VCARD" info v1.vcard >out 2>&1 || fail "info v1: $(cat out)"
	grep -q "^seal:            none" out || fail "info: format 1 is not shown unsealed"
	"$VCARD" reseal --seal "$seal" v1.vcard >out 2>&1 || fail "reseal: $(cat out)"
	grep -q "^resealed .* (was not sealed, format 1)" out || fail "reseal says: $(cat out)"
	grep -q "^sealed by $seal" out || fail "reseal: not sealed by $seal: $(cat out)"
	p11 -L || fail "the resealed card is not listed"
	! grep -q "not sealed" p11.out || fail "a resealed card is still called unsealed"
	# the fixture's own key (container "fixture rsa") signs, with the fixture's PIN
	rm -f sig
	p11 --login --pin 123456 --sign --label "fixture rsa" -m SHA256-RSA-PKCS -i data -o sig ||
		fail "the resealed card does not sign: $(cat p11.out)"
	openssl dgst -sha256 -verify rsa.pub -signature sig data >/dev/null 2>&1 ||
		fail "the resealed card's signature does not verify"
	secrets_absent v1.vcard "$ADMIN" 123456
	# the fixture's admin key still unblocks
	"$TOOL" pin unblock --admin-key-file admin --new-pin-file pin2 >out 2>&1 ||
		fail "unblock after reseal: $(cat out)"
done
# a reseal needs the current seal
conf kf.vcard
mv card.key card.key.away
! "$VCARD" reseal --seal "keyfile:$WORK/new.key" kf.vcard >out 2>&1 || fail "reseal without seal"
grep -q "card.key" out || fail "reseal names no seal: $(cat out)"
[ ! -e new.key ] || fail "a failed reseal left a key file"
mv card.key.away card.key
# kf: from the key file to the TPM, and it still signs
"$VCARD" reseal --seal "$TPM" kf.vcard >out 2>&1 || fail "reseal to the TPM: $(cat out)"
rm card.key
signs 13572468 rsa.pub

echo "vcard-seal: key file and TPM seals end to end, no seal, format 1 resealed"
