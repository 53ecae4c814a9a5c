# SPDX-License-Identifier: LGPL-2.1-or-later
# PIV referee helpers (sourced, POSIX sh): the virtual PIV card behind the private pcscd of
# lib-pcsc.sh, and the Debian peers that check it — OpenSC's PIV driver, yubico-piv-tool and
# ykcs11 (libykpiv 2.2) — with OpenSSL verifying every signature.
#
# Use:
#   . "$top_srcdir/tests/integration/lib-piv.sh"   (sources lib-pcsc.sh)
#   pcsc_enter_ns "$@"
#   piv_need TOOL...            skip (77) unless every tool is installed
#   piv_create STATE [OPTS]     mdp11-vcard create --type piv [OPTS] STATE (defaults below; the
#                               seal is make check's default key file, the KDF cost 10)
#   pcsc_start STATE            serve it (lib-pcsc.sh)
#   piv_run CMD...              run CMD, output appended to $PCSC_TMP/commands.log
#   piv_must MESSAGE CMD...     piv_run, or fail the test with MESSAGE
#   piv_mustnt MESSAGE CMD...   the command must fail
#   ykpiv ARGS...               yubico-piv-tool on the test's reader
#   p11_opensc ARGS... / p11_ykcs11 ARGS...   pkcs11-tool with OpenSC's module / ykcs11
#   piv_cert PUB SUBJECT OUT    a PEM certificate for the card's public key PUB (PEM), issued by a
#                               throwaway key (OpenSC shows a PIV key only with its certificate)
#   piv_selfsign KEYURI SUBJECT OUT   a certificate self-signed by the card's key through libp11's
#                               engine and ykcs11 (KEYURI e.g. "pkcs11:id=%01;type=private")
#   piv_verify PUB SIG MSG [OPTS]   OpenSSL checks a SHA-256 signature (DER ECDSA, RSA PKCS#1 v1.5;
#                               OPTS e.g. -sigopt rsa_padding_mode:pss)
#
# The reader is named "Yubico YubiKey vpcd" (reader "Yubico YubiKey vpcd 00 00"): ykcs11 2.2 only
# sees readers whose name starts with "Yubico" (spec/piv.md §8.4), and yubico-piv-tool finds it by
# that name too. Set PCSC_FRIENDLYNAME before sourcing to change it.
#
# Variables: PIV_PIN, PIV_PUK, PIV_MGM (the card's factory defaults), PIV_OPENSC, PIV_YKCS11
# (module paths), PIV_ENGINE (libp11's engine, empty when not installed).

: "${PCSC_FRIENDLYNAME:=Yubico YubiKey vpcd}"
. "$top_srcdir/tests/integration/lib-pcsc.sh"

PIV_PIN=123456
PIV_PUK=12345678
PIV_MGM=010203040506070801020304050607080102030405060708
: "${PIV_OPENSC:=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}"
: "${PIV_YKCS11:=/usr/lib/x86_64-linux-gnu/libykcs11.so.2}"
: "${PIV_ENGINE:=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so}"
[ -f "$PIV_ENGINE" ] || PIV_ENGINE=""

piv_need() {
	for t in "$@"; do
		case $t in
		/*) [ -f "$t" ] || pcsc_skip "$t is not installed" ;;
		*) command -v "$t" >/dev/null 2>&1 || pcsc_skip "$t is not installed" ;;
		esac
	done
}

piv_run() {
	echo "+ [$(date +%T.%N | cut -c1-12)] $*" >>"$PCSC_TMP/commands.log"
	"$@" >>"$PCSC_TMP/commands.log" 2>&1
}

piv_must() {
	msg=$1
	shift
	piv_run "$@" || pcsc_fail "$msg (command: $*; output in commands.log)"
}

piv_mustnt() {
	msg=$1
	shift
	if piv_run "$@"; then
		pcsc_fail "$msg (command: $*)"
	fi
	return 0
}

piv_create() {
	st=$1
	shift
	# (a cheap PIN KDF: the referees do not measure it, and PIN changes and RESET run it)
	piv_must "mdp11-vcard create --type piv" "$VCARD_BIN" create --type piv --kdf-cost 10 \
		"$@" "$st"
}

ykpiv() {
	yubico-piv-tool -r "$PCSC_READER" "$@"
}

p11_opensc() {
	pkcs11-tool --module "$PIV_OPENSC" "$@"
}

p11_ykcs11() {
	pkcs11-tool --module "$PIV_YKCS11" "$@"
}

piv_cert() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$PCSC_TMP/issuer.key" 2>/dev/null &&
		openssl req -new -key "$PCSC_TMP/issuer.key" -subj "$2" -out "$PCSC_TMP/issuer.csr" &&
		openssl x509 -req -in "$PCSC_TMP/issuer.csr" -signkey "$PCSC_TMP/issuer.key" \
			-force_pubkey "$1" -days 30 -out "$3" 2>/dev/null
}

piv_selfsign() {
	[ -n "$PIV_ENGINE" ] || pcsc_skip "libp11's pkcs11 engine is not installed (libengine-pkcs11-openssl)"
	cat >"$PCSC_TMP/engine.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $PIV_ENGINE
MODULE_PATH = $PIV_YKCS11
PIN = $PIV_PIN
init = 0
[req]
distinguished_name = dn
[dn]
CNF
	OPENSSL_CONF="$PCSC_TMP/engine.cnf" openssl req -new -x509 -days 30 -engine pkcs11 \
		-keyform engine -key "$1" -subj "$2" -out "$3"
}

piv_verify() {
	pub=$1
	sig=$2
	msg=$3
	shift 3
	openssl dgst -sha256 -verify "$pub" -signature "$sig" "$@" "$msg" >/dev/null
}
