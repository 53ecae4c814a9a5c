#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# mdp11 and the three PIV referees on one virtual PIV card served through pcscd + vpcd:
#  - keys and certificates mdp11 makes (mdp11-tool on the card file) are listed and used by
#    OpenSC's PIV driver and by ykcs11; yubico-piv-tool reads the container map mdp11 wrote
#    (Windows' 107-byte records, UTF-16LE names) and the Key History that shows the retired slot;
#  - keys and certificates yubico-piv-tool makes, and a certificate OpenSC's piv-tool writes, are
#    used by mdp11 (mdp11.so through pcscd, and mdp11-tool on the card file).
# Every signature is checked by OpenSSL.
. "$top_srcdir/tests/integration/lib-piv.sh"
pcsc_enter_ns "$@"
piv_need pkcs11-tool pkcs15-tool yubico-piv-tool openssl python3 "$PIV_OPENSC" "$PIV_YKCS11"

W=$PCSC_TMP
tool=$top_builddir/tools/mdp11-tool
MODULE=$top_builddir/.libs/mdp11.so
[ -x "$tool" ] || pcsc_fail "$tool is not built"
[ -f "$MODULE" ] || pcsc_fail "$MODULE is not built"
pin="--insecure-pin $PIV_PIN"
p11_mdp11() {
	pkcs11-tool --module "$MODULE" "$@"
}

piv_create "$W/card"
printf 'signed on a PIV card\n' >"$W/msg"

# ---- mdp11 writes the card (in process, not served yet) ----
# shellcheck disable=SC2086
{
	piv_must "mdp11-tool generate RSA" env MDP11_VCARD="$W/card" "$tool" generate \
		--type rsa:2048 --name mdp11-rsa --label "mdp11 RSA" --id 01 $pin
	piv_must "mdp11-tool selfsign RSA" env MDP11_VCARD="$W/card" "$tool" selfsign \
		--name mdp11-rsa --subject /CN=mdp11-rsa --store $pin --out "$W/cert-rsa.pem"
	piv_must "mdp11-tool generate P-256" env MDP11_VCARD="$W/card" "$tool" generate \
		--type ec:p256 --name mdp11-ec --id 05 $pin
	piv_must "mdp11-tool selfsign P-256" env MDP11_VCARD="$W/card" "$tool" selfsign \
		--name mdp11-ec --subject /CN=mdp11-ec --store $pin --out "$W/cert-ec.pem"
}
piv_must "public key RSA" openssl x509 -in "$W/cert-rsa.pem" -pubkey -noout -out "$W/pub-rsa.pem"
piv_must "public key EC" openssl x509 -in "$W/cert-ec.pem" -pubkey -noout -out "$W/pub-ec.pem"
# the slots mdp11 chose: PIV Authentication first, then the first retired slot
MDP11_VCARD="$W/card" "$tool" list --json >"$W/list.json" 2>>"$W/commands.log" ||
	pcsc_fail "mdp11-tool list --json"
python3 - "$W/list.json" <<'EOF' || pcsc_fail "mdp11-tool list: $(cat "$W/list.json")"
import json, sys
c = json.load(open(sys.argv[1]))["cards"][0]
assert c["card_name"] == "PIV", c["card_name"]
refs = {ct["name"]: ct["key_reference"] for ct in c["containers"]}
assert refs == {"mdp11-rsa": "9a", "mdp11-ec": "82"}, refs
assert c["puk"] == {"tries_left": 3, "tries_max": 3}, c["puk"]
EOF

pcsc_start "$W/card"

# ---- yubico-piv-tool reads the container map mdp11 wrote (spec/piv.md §7.1) ----
piv_must "read-object 0x5fff10" ykpiv -a read-object --id 0x5fff10 -f binary -o "$W/mscmap.bin"
python3 - "$W/mscmap.bin" <<'EOF' || pcsc_fail "the container map mdp11 wrote"
import sys
d = open(sys.argv[1], "rb").read()
assert d[0] == 0x81, d[:4].hex()
if d[1] < 0x80:
    n, off = d[1], 2
else:
    k = d[1] & 0x7F
    n, off = int.from_bytes(d[2:2 + k], "big"), 2 + k
recs = d[off:off + n]
assert len(recs) == n and n % 107 == 0, (n, len(recs))
seen = {}
for i in range(0, n, 107):
    r = recs[i:i + 107]
    name = r[:80].decode("utf-16-le").split("\0")[0]
    if r[84] & 1:
        seen[name] = (r[80], r[81], int.from_bytes(r[82:84], "little"), r[84])
assert seen == {"mdp11-rsa": (0x9A, 1, 2048, 3), "mdp11-ec": (0x82, 3, 256, 1)}, seen
EOF
piv_must "read-object key history" ykpiv -a read-object --id 0x5fc10c -f hex -o "$W/kh.hex"
grep -qi "^c10101c20100fe00" "$W/kh.hex" || pcsc_fail "key history: $(cat "$W/kh.hex")"
piv_must "yubico-piv-tool status" ykpiv -a status
grep -q "Subject DN:.*mdp11-rsa" "$W/commands.log" ||
	pcsc_fail "yubico-piv-tool does not read mdp11's certificate in 9A"

# ---- OpenSC's PIV driver lists and signs with mdp11's keys ----
pkcs15-tool --list-keys >"$W/keys.txt" 2>&1 || pcsc_fail "pkcs15-tool --list-keys"
grep -q "PIV AUTH key" "$W/keys.txt" || pcsc_fail "OpenSC does not list 9A: $(cat "$W/keys.txt")"
grep -q "Retired KEY MAN 1" "$W/keys.txt" || pcsc_fail "OpenSC does not list 82"
piv_must "OpenSC signs with mdp11's RSA key" p11_opensc --login --pin "$PIV_PIN" --sign \
	--id 01 -m SHA256-RSA-PKCS -i "$W/msg" -o "$W/s-opensc"
piv_verify "$W/pub-rsa.pem" "$W/s-opensc" "$W/msg" || pcsc_fail "OpenSC's signature (9A)"
piv_must "OpenSC signs with mdp11's EC key" p11_opensc --login --pin "$PIV_PIN" --sign \
	--id 05 -m ECDSA-SHA256 --signature-format openssl -i "$W/msg" -o "$W/s-opensc-ec"
piv_verify "$W/pub-ec.pem" "$W/s-opensc-ec" "$W/msg" || pcsc_fail "OpenSC's signature (82)"

# ---- ykcs11 signs with mdp11's key ----
piv_must "ykcs11 signs with mdp11's RSA key" p11_ykcs11 --login --pin "$PIV_PIN" --sign \
	--id 01 -m SHA256-RSA-PKCS -i "$W/msg" -o "$W/s-ykcs11"
piv_verify "$W/pub-rsa.pem" "$W/s-ykcs11" "$W/msg" || pcsc_fail "ykcs11's signature (9A)"

# ---- mdp11 through pcscd: the same keys ----
piv_must "mdp11 signs through pcscd" p11_mdp11 --login --pin "$PIV_PIN" --sign --id 01 \
	-m SHA256-RSA-PKCS -i "$W/msg" -o "$W/s-mdp11"
piv_verify "$W/pub-rsa.pem" "$W/s-mdp11" "$W/msg" || pcsc_fail "mdp11's signature (9A)"

# ---- the other way: a key yubico-piv-tool made, a certificate OpenSC's piv-tool wrote ----
k="--key=$PIV_MGM"
# shellcheck disable=SC2086
{
	piv_must "yubico-piv-tool generate 9D" ykpiv $k -a generate -s 9d -A RSA2048 \
		-o "$W/pub-9d.pem"
	piv_must "certificate for 9D" piv_cert "$W/pub-9d.pem" "/CN=from yubico-piv-tool" \
		"$W/cert-9d.pem"
	piv_must "yubico-piv-tool import-certificate 9D" ykpiv $k -a import-certificate -s 9d \
		-i "$W/cert-9d.pem"
	piv_must "yubico-piv-tool generate 9E" ykpiv $k -a generate -s 9e -A ECCP256 \
		-o "$W/pub-9e.pem"
}
piv_must "certificate for 9E" piv_cert "$W/pub-9e.pem" "/CN=from piv-tool" "$W/cert-9e.pem"
printf '%s' "$PIV_MGM" >"$W/mgm.hex"
# OpenSC 0.23's piv-tool writes the certificate (PUT DATA answered 90 00) and then exits 1 all
# the same (sc_write_binary takes the byte count its PIV driver returns for an error); what counts
# is that the certificate is on the card, which mdp11 shows below.
piv_run env PIV_EXT_AUTH_KEY="$W/mgm.hex" piv-tool -A M:9B:03 -C 9E -i "$W/cert-9e.pem" || :
# mdp11 through pcscd sees both (another process changed the card: its CHUID did not move, so
# a new process is what sees them, as on Windows, docs/piv.md)
p11_mdp11 --list-objects >"$W/objects.txt" 2>&1 || pcsc_fail "pkcs11-tool --list-objects (mdp11)"
grep -q "from yubico-piv-tool" "$W/objects.txt" ||
	pcsc_fail "mdp11 does not list yubico-piv-tool's certificate: $(cat "$W/objects.txt")"
grep -q "from piv-tool" "$W/objects.txt" ||
	pcsc_fail "mdp11 does not list piv-tool's certificate: $(cat "$W/objects.txt")"
# (pkcs11-tool 0.23 picks the key to sign with by --id only: the ids are the container names)
id_of() { # LABEL: the CKA_ID of the certificate labelled LABEL in objects.txt
	awk -v l="$1" '$1 == "label:" { sub(/^ *label: */, ""); hit = ($0 == l) }
		hit && $1 == "ID:" { print $2; exit }' "$W/objects.txt"
}
id9d=$(id_of "from yubico-piv-tool")
id9e=$(id_of "from piv-tool")
[ -n "$id9d" ] && [ -n "$id9e" ] || pcsc_fail "no ids in $(cat "$W/objects.txt")"
piv_must "mdp11 signs with yubico-piv-tool's key" p11_mdp11 --login --pin "$PIV_PIN" --sign \
	--id "$id9d" -m SHA256-RSA-PKCS -i "$W/msg" -o "$W/s-9d"
piv_verify "$W/pub-9d.pem" "$W/s-9d" "$W/msg" || pcsc_fail "mdp11's signature with 9D"
piv_must "mdp11 signs with the 9E key" p11_mdp11 --login --pin "$PIV_PIN" --sign \
	--id "$id9e" -m ECDSA-SHA256 --signature-format openssl -i "$W/msg" -o "$W/s-9e"
piv_verify "$W/pub-9e.pem" "$W/s-9e" "$W/msg" || pcsc_fail "mdp11's signature with 9E"
pcsc_stop

# ---- mdp11-tool on the card file: the other tools' keys in the map's order ----
MDP11_VCARD="$W/card" "$tool" list >"$W/list.txt" 2>&1 || pcsc_fail "mdp11-tool list"
grep -q "^ *2 *9D .*from yubico-piv-tool" "$W/list.txt" ||
	pcsc_fail "9D's container: $(cat "$W/list.txt")"
grep -q "^ *3 *9E .*from piv-tool" "$W/list.txt" || pcsc_fail "9E's container: $(cat "$W/list.txt")"
echo "piv-mdp11: OpenSC, ykcs11 and yubico-piv-tool use mdp11's keys and map; mdp11 theirs"
