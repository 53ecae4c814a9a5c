#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Cross-checks mdp11-tool's blob conversions against OpenSSL (an independent implementation of
# the CAPI MSBLOB format and of PKCS#8/SPKI), and checks the tool's exit codes and messages.
set -eu

tool="${top_builddir:?}/tools/mdp11-tool"
command -v openssl >/dev/null 2>&1 || { echo "openssl not installed"; exit 77; }
[ -x "$tool" ] || { echo "FAIL: $tool not built"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"
umask 022

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
checks=0
ok() {
	checks=$((checks + 1))
}
same() { # file1 file2 what
	cmp -s "$1" "$2" || fail "$3: $1 and $2 differ"
	ok
}

# ---- RSA: ours -> OpenSSL, OpenSSL -> ours, for normal and odd sizes ----
for bits in 1024 2048 1032; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$bits -out k$bits.pem 2>/dev/null
	openssl rsa -in k$bits.pem -noout -modulus >ref.mod
	openssl pkey -in k$bits.pem -out ref.pkcs8.pem
	openssl pkey -in k$bits.pem -pubout -out ref.spki.pem

	# Our CAPI blobs read by OpenSSL's MSBLOB decoder as the same key.
	for spec in keyexchange signature; do
		"$tool" blob convert --in k$bits.pem --out our.priv.blob --to capi-private \
			--key-spec $spec
		openssl rsa -inform MSBLOB -in our.priv.blob -noout -modulus >got.mod
		same ref.mod got.mod "RSA-$bits $spec: OpenSSL reads our PRIVATEKEYBLOB"
		openssl rsa -inform MSBLOB -in our.priv.blob 2>/dev/null | openssl pkey -out got.pem
		same ref.pkcs8.pem got.pem "RSA-$bits $spec: private key via OpenSSL"
	done
	"$tool" blob convert --in k$bits.pem --out our.pub.blob --to capi-public
	openssl rsa -pubin -inform MSBLOB -in our.pub.blob -noout -modulus >got.mod
	same ref.mod got.mod "RSA-$bits: OpenSSL reads our PUBLICKEYBLOB"
	openssl rsa -pubin -inform MSBLOB -in our.pub.blob -pubout -out got.pem 2>/dev/null
	same ref.spki.pem got.pem "RSA-$bits: public key via OpenSSL"

	# OpenSSL's MSBLOBs read by us as the same key (and byte-identical to ours for KEYX).
	openssl rsa -in k$bits.pem -outform MSBLOB -out ossl.priv.blob 2>/dev/null
	openssl rsa -in k$bits.pem -pubout -outform MSBLOB -out ossl.pub.blob 2>/dev/null
	"$tool" blob convert --in k$bits.pem --out our.keyx.blob --to capi-private
	same ossl.priv.blob our.keyx.blob "RSA-$bits: PRIVATEKEYBLOB bytes"
	"$tool" blob convert --in k$bits.pem --out our.pub.blob --to capi-public
	same ossl.pub.blob our.pub.blob "RSA-$bits: PUBLICKEYBLOB bytes"
	"$tool" blob convert --in ossl.priv.blob --out got.pem --to pem
	same ref.pkcs8.pem got.pem "RSA-$bits: we read OpenSSL's PRIVATEKEYBLOB"
	"$tool" blob convert --in ossl.pub.blob --out got.pem --to pem
	same ref.spki.pem got.pem "RSA-$bits: we read OpenSSL's PUBLICKEYBLOB"

	# Through every CNG form and back; OpenSSL (openssl pkey) reads the results.
	for f in cng-rsa-full cng-rsa-private cng-rsa-public pkcs8 spki; do
		"$tool" blob convert --in k$bits.pem --out mid.$f --to $f
		"$tool" blob convert --in mid.$f --out back.pem --to pem
		case $f in
		*public | spki) same ref.spki.pem back.pem "RSA-$bits via $f" ;;
		cng-rsa-private)
			# No d in this blob: ours is e^-1 mod lcm(p-1, q-1); OpenSSL's keygen may
			# have used (p-1)(q-1). Same modulus and primes, and OpenSSL's check passes.
			openssl pkey -in back.pem -check -noout >/dev/null 2>&1 ||
				fail "RSA-$bits via $f: openssl pkey -check"
			for part in modulus prime1 prime2 exponent1 exponent2 coefficient; do
				openssl rsa -in back.pem -text -noout |
					sed -n "/^$part:/,/^[a-z]/p" | sed '$d' >got.txt
				openssl rsa -in k$bits.pem -text -noout |
					sed -n "/^$part:/,/^[a-z]/p" | sed '$d' >ref.txt
				[ -s ref.txt ] || fail "no $part in openssl's output"
				same ref.txt got.txt "RSA-$bits via $f: $part"
			done
			;;
		*) same ref.pkcs8.pem back.pem "RSA-$bits via $f" ;;
		esac
	done
	openssl pkey -inform DER -in mid.pkcs8 -out got.pem
	same ref.pkcs8.pem got.pem "RSA-$bits: openssl pkey reads our PKCS#8 DER"
	openssl pkey -pubin -inform DER -in mid.spki -out got.pem
	same ref.spki.pem got.pem "RSA-$bits: openssl pkey reads our SPKI DER"
done

# ---- EC: OpenSSL reads our PKCS#8/SPKI made from CNG blobs ----
for curve in P-256 P-384 P-521; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:$curve -out ec.pem
	openssl pkey -in ec.pem -out ref.pkcs8.pem
	openssl pkey -in ec.pem -pubout -out ref.spki.pem
	for spec in ecdsa ecdhe; do
		s=$spec-$(echo $curve | tr -d 'P-' | sed 's/^/p/')
		"$tool" blob convert --in ec.pem --out ec.cng --to cng-ecc-private --key-spec $s
		"$tool" blob show ec.cng >show.txt
		grep -q "^key spec: *$s\$" show.txt || fail "$curve: key spec $s not kept"
		ok
		"$tool" blob convert --in ec.cng --out ec.p8 --to pkcs8
		openssl pkey -inform DER -in ec.p8 -out got.pem
		same ref.pkcs8.pem got.pem "$curve $spec: private key through CNG"
		"$tool" blob convert --in ec.pem --out ec.pub --to cng-ecc-public --key-spec $s
		"$tool" blob convert --in ec.pub --out ec.spki --to spki
		openssl pkey -pubin -inform DER -in ec.spki -out got.pem
		same ref.spki.pem got.pem "$curve $spec: public key through CNG"
	done
done

# ---- show: fields, and no private values ----
"$tool" blob convert --in k1024.pem --out k.capi --to capi-private --key-spec signature
"$tool" blob show k.capi >show.txt
grep -q '^format: *capi-private$' show.txt || fail "show: format"
grep -q '^type: *RSA private key$' show.txt || fail "show: type"
grep -q '^bits: *1024$' show.txt || fail "show: bits"
grep -q '^key spec: *signature$' show.txt || fail "show: key spec"
grep -q '^alg id: *0x00002400 (CALG_RSA_SIGN)$' show.txt || fail "show: alg id"
want=$(openssl pkey -in k1024.pem -pubout -outform DER | openssl dgst -sha256 -r | cut -c1-64)
grep -q "^spki sha256: *$want\$" show.txt || fail "show: SPKI SHA-256"
d=$(openssl rsa -in k1024.pem -text -noout | sed -n '/^privateExponent/,/^prime1/p' |
	sed -n '2p' | tr -d ' :\n' | cut -c1-16)
[ -n "$d" ] && ! tr -d '\n' <show.txt | grep -qi "$d" || fail "show prints private values"
ok

# ---- file handling: modes, atomic replace ----
"$tool" blob convert --in k1024.pem --out priv.out --to pkcs8
[ "$(stat -c %a priv.out)" = 600 ] || fail "private output mode $(stat -c %a priv.out)"
"$tool" blob convert --in k1024.pem --out pub.out --to spki
[ "$(stat -c %a pub.out)" = 644 ] || fail "public output mode $(stat -c %a pub.out)"
ok
[ -z "$(ls | grep '\.tmp')" ] || fail "temporary files left behind"

# ---- errors: one line "mdp11-tool: <reason>", no output file; exit 7 for a bad input
# file (as the card commands), 2 for a bad command line, 1 when the output cannot be written ----
expect_fail() { # status pattern args...
	want_status=$1
	pattern=$2
	shift 2
	set +e
	"$tool" "$@" >out.txt 2>err.txt
	status=$?
	set -e
	[ "$status" = "$want_status" ] || fail "'$*': exit $status, expected $want_status"
	[ "$(wc -l <err.txt)" = 1 ] || fail "'$*': expected one line on stderr, got: $(cat err.txt)"
	grep -q "^mdp11-tool: .*$pattern" err.txt || fail "'$*': message '$(cat err.txt)'"
	ok
}
openssl rsa -in k1024.pem -outform MSBLOB -out k1024.blob 2>/dev/null
head -c 595 k1024.blob >trunc.blob
expect_fail 7 "595 bytes, expected 596 for bitlen 1024" blob show trunc.blob
expect_fail 7 "expected 596" blob convert --in trunc.blob --out x.out --to pem
[ ! -e x.out ] || fail "a failed conversion left x.out"
cp k1024.blob long.blob && printf 'x' >>long.blob
expect_fail 7 "597 bytes, expected 596" blob show long.blob
expect_fail 7 "No such file" blob show missing.blob
expect_fail 7 "holds EC keys" blob convert --in k1024.pem --out x.out --to cng-ecc-public
[ ! -e x.out ] || fail "a failed conversion left x.out"
expect_fail 7 "needs a private key" blob convert --in pub.out --out x.out --to capi-private
expect_fail 7 "does not fit" blob convert --in ec.pem --out x.out --to cng-ecc-public \
	--key-spec ecdsa-p256
printf 'garbage here' >junk.bin
expect_fail 7 "unrecognised key blob" blob show junk.bin
# A CAPI exponent must fit 32 bits (CNG takes up to 64).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 \
	-pkeyopt rsa_keygen_pubexp:4294967297 -out bige.pem 2>/dev/null
expect_fail 7 "CAPI holds 32" blob convert --in bige.pem --out x.out --to capi-public
[ ! -e x.out ] || fail "a failed conversion left x.out"
"$tool" blob convert --in bige.pem --out bige.cng --to cng-rsa-full
"$tool" blob convert --in bige.cng --out got.pem --to pem
openssl pkey -in bige.pem -out ref.pem
same ref.pem got.pem "RSA with a 33-bit exponent through CNG"

expect_fail 7 "Is a directory" blob show .
expect_fail 7 "Is a directory" blob convert --in . --out x.out --to pem
: >empty.bin
expect_fail 7 "empty" blob show empty.bin
head -c 1048577 /dev/zero >huge.bin
expect_fail 7 "larger than 1048576 bytes" blob show huge.bin
expect_fail 1 "No such file" blob convert --in k1024.pem --out nodir/x.out --to pem
mkdir adir
expect_fail 1 "adir: Is a directory" blob convert --in k1024.pem --out adir --to pem
expect_fail 1 "Is a directory" blob convert --in k1024.pem --out . --to pem
[ -z "$(ls adir)" ] || fail "a failed conversion wrote into adir/"
mkdir ro && chmod 555 ro
if [ "$(id -u)" != 0 ]; then
	expect_fail 1 "Permission denied" blob convert --in k1024.pem --out ro/x.out --to pem
elif command -v setpriv >/dev/null 2>&1; then
	chmod 711 "$tmp"
	chmod 644 k1024.pem
	set +e
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$tool" blob convert --in k1024.pem --out ro/x.out --to pem >out.txt 2>err.txt
	status=$?
	set -e
	[ "$status" = 1 ] || fail "unwritable directory: exit $status"
	[ "$(wc -l <err.txt)" = 1 ] && grep -q "Permission denied" err.txt ||
		fail "unwritable directory: $(cat err.txt)"
	ok
fi
[ -z "$(ls ro)" ] || fail "a failed conversion left files in ro/"
[ -z "$(ls | grep '\.tmp')" ] || fail "temporary files left behind"
# Standard input and output; a device is written in place (never replaced by a file, which
# root could do with a rename); a symbolic link stays a link and its target gets the key.
"$tool" blob convert --in - --out - --to spki <k1024.pem >stdio.spki || fail "convert - -"
openssl pkey -in k1024.pem -pubout -outform DER | cmp -s - stdio.spki ||
	fail "convert from standard input to standard output"
"$tool" blob show - <k1024.pem | grep -q "RSA private key" || fail "blob show -"
mkfifo out.fifo
timeout 20 cat out.fifo >fifo.got &
"$tool" blob convert --in k1024.pem --out out.fifo --to spki || fail "convert to a FIFO"
wait
[ -p out.fifo ] || fail "blob convert --out FIFO replaced the FIFO"
cmp -s fifo.got stdio.spki || fail "blob convert --out FIFO: not the key"
printf 'old' >target.der
ln -s target.der link.der
"$tool" blob convert --in k1024.pem --out link.der --to spki || fail "convert to a link"
[ -L link.der ] || fail "the symbolic link was replaced"
cmp -s target.der stdio.spki || fail "the link's target does not hold the key"
ok
# A failed conversion leaves an existing output file as it was.
printf 'keep me' >kept.out
expect_fail 7 "expected 596" blob convert --in trunc.blob --out kept.out --to pem
expect_fail 7 "holds EC keys" blob convert --in k1024.pem --out kept.out --to cng-ecc-public
[ "$(cat kept.out)" = "keep me" ] || fail "a failed conversion changed kept.out"
ok
expect_fail 2 "unknown option '--bogus'" blob convert --bogus
expect_fail 2 "unknown option '-x'" blob show -x k1024.pem
expect_fail 2 "option '--to' needs a value" blob convert --in k1024.pem --out x.out --to
expect_fail 2 "unknown output format" blob convert --in k1024.pem --out x.out --to msblob
expect_fail 2 "unknown output format" blob convert --in k1024.pem --out x.out --to traditional
expect_fail 2 "unknown key spec" blob convert --in k1024.pem --out x.out --to pem --key-spec x
expect_fail 2 "required" blob convert --in k1024.pem --to pem
expect_fail 2 "expected one FILE" blob show
expect_fail 2 "unknown command" blob frobnicate
expect_fail 2 "unknown command" frobnicate
set +e
"$tool" >/dev/null 2>&1
[ $? = 2 ] || fail "no arguments: exit status"
set -e
"$tool" --help | grep -q '^  blob' || fail "--help lists blob"
"$tool" blob --help | grep -q 'convert' || fail "blob --help"
"$tool" blob show --help | grep -q 'Usage:.*blob show' || fail "blob show --help"
"$tool" blob convert --help | grep -q 'cng-ecc-private' || fail "blob convert --help"
ok

echo "blob-openssl: $checks checks passed"
