#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make bench: one run of the whole benchmark suite. Prints one table on stdout and writes every
# figure to bench/results.csv (in the build directory): signatures per second through mdp11 on
# the embedded virtual card (1 and 2 threads), raw OpenSSL in the same process (the limit) and
# SoftHSM2 through the same harness; RSA-2048 key generation against openssl genpkey; APDUs and
# start-up time through pcscd + vpcd for mdp11 and OpenSC; then bench/bench-sign's second opinion
# on the one-thread ratios (the module signs exactly the input EVP_PKEY_sign gets). No
# assertions: the tables report the figures against the targets.
#   BENCH_SECONDS  seconds per signature measurement (default 2)
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
top_builddir=$(pwd)
export top_srcdir top_builddir
SECS=${BENCH_SECONDS:-2}
BENCH=$top_builddir/bench/bench-p11
MODULE=$top_builddir/.libs/mdp11.so
VCARD=$top_builddir/tools/mdp11-vcard
SOFTHSM=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
CSV=$top_builddir/bench/results.csv
PIN=648219

SIGN=$top_builddir/bench/bench-sign
for f in "$BENCH" "$SIGN" "$MODULE" "$VCARD"; do
	if [ ! -e "$f" ]; then
		echo "make bench: $f is not built (run make first)" >&2
		exit 1
	fi
done
W=$(mktemp -d "${TMPDIR:-/tmp}/mdp11-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
RAW=$W/raw.csv
: >"$RAW"
note() { echo "make bench: $*" >&2; }

# mdp11 on the embedded virtual card.
note "mdp11.so on the embedded virtual card"
"$VCARD" create "$W/card.vcard" --insecure-pin "$PIN" --insecure-admin-key 0102030405060708090a0b0c0d0e0f101112131415161718 \
	>"$W/vcard.log" 2>&1 || { cat "$W/vcard.log" >&2; exit 1; }
MDP11_VCARD=$W/card.vcard "$BENCH" module --module "$MODULE" --name mdp11 --pin "$PIN" \
	--seconds "$SECS" --threads 2 >>"$RAW" || note "the mdp11 run failed"

# SoftHSM2 through the same harness.
if [ -f "$SOFTHSM" ] && command -v softhsm2-util >/dev/null 2>&1; then
	note "SoftHSM2"
	mkdir "$W/softhsm"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$W/softhsm" >"$W/softhsm2.conf"
	SOFTHSM2_CONF=$W/softhsm2.conf softhsm2-util --init-token --free --label bench --pin "$PIN" \
		--so-pin 87654321 >/dev/null
	SOFTHSM2_CONF=$W/softhsm2.conf "$BENCH" module --module "$SOFTHSM" --name softhsm2 \
		--token bench --pin "$PIN" --seconds "$SECS" --threads 2 >>"$RAW" ||
		note "the SoftHSM2 run failed"
else
	note "SoftHSM2 is not installed: its column stays empty"
fi

# Raw OpenSSL in the same process: the limit.
note "raw OpenSSL"
"$BENCH" openssl --name openssl --seconds "$SECS" --threads 2 >>"$RAW"

# openssl genpkey for RSA-2048 (a process per key, as a user would run it).
note "openssl genpkey"
python3 - >>"$RAW" <<'PY'
import subprocess, time
runs = []
for _ in range(5):
    t = time.monotonic()
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    runs.append(time.monotonic() - t)
print("genpkey,rsa2048,keygen_mean_s,%.3f" % (sum(runs) / len(runs)))
PY

# APDUs and start-up through pcscd + vpcd (private namespaces; skipped where not possible).
note "APDUs through pcscd + vpcd"
rc=0
sh "$top_srcdir/bench/bench-pcsc.sh" >>"$RAW" 2>"$W/pcsc.log" || rc=$?
if [ "$rc" != 0 ]; then
	note "the PC/SC part did not run (exit $rc):"
	tail -n 30 "$W/pcsc.log" >&2
fi

{
	echo "impl,key,metric,value"
	grep -v '^#' "$RAW"
} >"$CSV"
python3 "$top_srcdir/bench/table.py" "$CSV"
echo "CSV: $CSV"

# One thread, the same prepared input on both sides: CKM_RSA_PKCS with the DigestInfo / CKM_ECDSA
# through the module against EVP_PKEY_sign with a reused context (per second of CPU time).
note "bench-sign"
echo
echo "One thread, same input on both sides (bench/bench-sign: CKM_RSA_PKCS / CKM_ECDSA vs EVP_PKEY_sign, CPU time)"
MDP11_BENCH_MODULE=$MODULE "$SIGN" "$SECS" || note "bench-sign failed"
