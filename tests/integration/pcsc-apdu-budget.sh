#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# APDU budgets of mdp11.so through pcscd + vpcd, counted at the reader (pcscd --apdu): with the
# persistent cache, a second process lists the token with SELECT, cardid and cardcf only (the
# PC/SC transaction is held across the burst of calls, so cardcf is read once), and a login is
# one VERIFY (after one read of the PIN's retry counter for the token flags). Another PC/SC
# client gets the card while mdp11 is idle (the hold is released).
if [ -z "${VCARD_BIN:-}" ] && [ -x "$top_builddir/tools/mdp11-vcard" ]; then
	VCARD_BIN=$top_builddir/tools/mdp11-vcard
fi
. "$top_srcdir/tests/integration/lib-pcsc.sh"
[ -x "$VCARD_BIN" ] || pcsc_skip "mdp11-vcard is not built"
command -v pkcs11-tool >/dev/null 2>&1 || pcsc_skip "pkcs11-tool is not installed"
pcsc_enter_ns "$@"

PIN=123456
ADMIN=0102030405060708090a0b0c0d0e0f101112131415161718
MODULE=$top_builddir/.libs/mdp11.so
CARD=$PCSC_TMP/card.vcard
[ -f "$MODULE" ] || pcsc_fail "$MODULE is not built"
"$top_builddir/tests/module/mkcard" "$CARD" "$PIN" "$ADMIN" 3 ||
	pcsc_fail "creating the virtual card failed"
MDP11_VCARD=$CARD pkcs11-tool --module "$MODULE" --login --pin "$PIN" --keypairgen \
	--key-type EC:prime256v1 --usage-sign --id 01 --label budget >"$PCSC_TMP/keygen.log" 2>&1 ||
	pcsc_fail "key generation on the embedded card failed"

PCSC_DEBUG=1
export PCSC_DEBUG
pcsc_start "$CARD"
mkdir -p "$PCSC_TMP/cache"
cat >"$PCSC_TMP/mdp11.conf" <<EOC
[readers]
pcsc = true
[cache]
mode = persistent
dir = $PCSC_TMP/cache
EOC
MDP11_CONF=$PCSC_TMP/mdp11.conf
export MDP11_CONF
unset MDP11_VCARD 2>/dev/null || true

apdus() {
	grep -c 'APDU: ' "$PCSC_TMP/pcscd.log" || true
}
p11() {
	timeout -k 3 60 pkcs11-tool --module "$MODULE" "$@" >>"$PCSC_TMP/p11.log" 2>&1
}

# cold: fills the cache
p11 --list-objects || pcsc_fail "listing (cold) failed"
grep -q "budget" "$PCSC_TMP/p11.log" || pcsc_fail "the key is not listed"
# warm: SELECT, cardid, cardcf
a=$(apdus)
p11 --list-objects || pcsc_fail "listing (warm) failed"
b=$(apdus)
warm=$((b - a))
echo "warm listing: $warm APDUs"
[ "$warm" -eq 3 ] || pcsc_fail "a warm listing took $warm APDUs (expected 3)"
# warm login: the same 3, the PIN's retry counter (pkcs11-tool asks C_GetTokenInfo before it
# logs in; the counter is read once per process, docs/pkcs11.md), one VERIFY, and the logout
# (VERIFY 82) when the last session closes
p11 --login --pin "$PIN" --list-objects || pcsc_fail "login failed"
c=$(apdus)
login=$((c - b))
echo "warm listing with login: $login APDUs"
[ "$login" -eq 6 ] || pcsc_fail "a warm listing with login took $login APDUs (expected 6)"

# mdp11 logged in and idle in another process (pkcs11-tool waits for its input on a FIFO):
# another PC/SC client gets the card (the held transaction is released after 100 ms idle)
mkfifo "$PCSC_TMP/in"
verifies() {
	grep -c 'APDU: 00 20 00 80' "$PCSC_TMP/pcscd.log" || true
}
v0=$(verifies)
timeout -k 3 60 pkcs11-tool --module "$MODULE" --login --pin "$PIN" --sign --id 01 -m ECDSA \
	-i "$PCSC_TMP/in" -o "$PCSC_TMP/sig" >>"$PCSC_TMP/p11.log" 2>&1 &
signer=$!
pcsc_add_cleanup "kill $signer 2>/dev/null"
# wait until it has logged in (its VERIFY reached the card): then it waits on the FIFO, idle
n=0
while [ "$(verifies)" -le "$v0" ]; do
	n=$((n + 1))
	[ $n -le $((PCSC_TIMEOUT * 10)) ] || pcsc_fail "pkcs11-tool did not log in within ${PCSC_TIMEOUT}s"
	pcsc_alive "$signer" || pcsc_fail "pkcs11-tool ended before it logged in"
	pcsc_nap
done
timeout 10 opensc-tool --reader 0 --send-apdu 00A4040009A0000003974254465900 \
	>"$PCSC_TMP/other.log" 2>&1 || pcsc_fail "another PC/SC client could not use the card"
grep -q "SW1=0x90, SW2=0x00" "$PCSC_TMP/other.log" || pcsc_fail "another client's SELECT failed"
echo "another PC/SC client used the card while mdp11 was idle"
printf '0123456789abcdef0123456789abcdef' >"$PCSC_TMP/in"
wait "$signer" || pcsc_fail "signing failed"
[ -s "$PCSC_TMP/sig" ] || pcsc_fail "no signature"
exit 0
