#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# No silent refusals: with MDP11_DEBUG=2 every refused template or operation is one log line with
# its reason. Through pkcs11-tool: an EC key for both ECDSA and ECDH, RSA-8192 (the card's own
# limit named, not rsa_max_bits), a signature with an ECDH key, C_InitToken with a label the card
# cannot keep (refused, the card unchanged); and the module test programs, whose every refusal
# must carry a reason (none may fall back to "no further reason recorded").
. "$top_srcdir/tests/integration/lib-module.sh"
need_tool pkcs11-tool
module_setup
LOG=$WORK/mdp11.log
MDP11_DEBUG=2
MDP11_DEBUG_FILE=$LOG
export MDP11_DEBUG MDP11_DEBUG_FILE

p11() {
	pkcs11-tool --module "$MODULE" "$@" >"$WORK/p11.out" 2>&1
}
login() {
	p11 --login --pin "$PIN" "$@"
}
# logged PATTERN: the log has a line matching PATTERN (grep -E).
logged() {
	grep -Eq -- "$1" "$LOG" || {
		cat "$LOG" >&2
		fail "the log lacks: $1"
	}
}

# A minidriver EC key is ECDSA or ECDH, not both.
login --keypairgen --key-type EC:prime256v1 --id 01 --usage-sign --usage-derive &&
	fail "an EC key for both signing and derivation was made"
logged "C_GenerateKeyPair: CKR_TEMPLATE_INCONSISTENT: an EC key is either ECDSA or ECDH: \
CKA_SIGN and CKA_DERIVE are both TRUE"
# pkcs11-tool's default usage for an EC key is both: the line says what to give it instead.
: >"$LOG"
login --keypairgen --key-type EC:prime256v1 --id 01 &&
	fail "an EC key for both signing and derivation was made (pkcs11-tool's default)"
logged "are both TRUE \(pkcs11-tool asks for both unless given --usage-sign or --usage-derive\)"

# RSA-8192: the card's limit is what binds (rsa_max_bits is 4096 too, raising it would not help).
login --keypairgen --key-type rsa:8192 --id 02 && fail "an RSA-8192 key was made"
logged "C_GenerateKeyPair: CKR_KEY_SIZE_RANGE: RSA key size 8192 bits: the card takes at most 4096"
! grep -q "rsa_max_bits" "$LOG" || fail "the refusal names rsa_max_bits, not the card's limit"

# An ECDH key derives; a signature with it is refused with the reason.
login --keypairgen --key-type EC:prime256v1 --id 03 --label agree --usage-derive ||
	fail "ECDH key generation: $(cat "$WORK/p11.out")"
echo data >"$WORK/data"
login --sign --id 03 -m ECDSA -i "$WORK/data" -o "$WORK/sig" && fail "an ECDH key signed"
logged "C_SignInit: CKR_KEY_FUNCTION_NOT_PERMITTED: key [0-9]+ is an ECDH key \(ecdhe-p256\): \
it derives, it does not sign"

# C_InitToken: a label the card cannot keep is refused before the card is touched.
p11 --init-token --label "another label" --so-pin "$ADMIN" && fail "C_InitToken dropped a label"
logged "C_InitToken: CKR_ARGUMENTS_BAD: label \"another label\": the card has no place for a \
token label"
login --list-objects || fail "listing after the refused C_InitToken"
grep -q "agree" "$WORK/p11.out" || fail "the refused C_InitToken changed the card"

# The module tests refuse on purpose all over the API: every refusal has its reason.
: >"$LOG"
for t in test-module test-module-edge test-module-piv; do
	prog=$top_builddir/tests/module/$t
	[ -x "$prog" ] || fail "$prog is not built"
	(unset MDP11_VCARD MDP11_CONF && "$prog") >"$WORK/$t.out" 2>&1 ||
		fail "$t failed under MDP11_DEBUG=2: $(tail -n 20 "$WORK/$t.out")"
done
[ "$(grep -c ': CKR_' "$LOG")" -gt 50 ] || fail "the module tests logged few refusals"
if grep "no further reason recorded" "$LOG"; then
	fail "refusals without a reason (above)"
fi
module_done "every refusal logged with its reason"
