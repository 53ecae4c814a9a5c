#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make bench: one run of the whole benchmark suite. Prints one table on stdout and writes every
# figure to bench/results.csv (in the build directory): signatures per second through mdp11 on
# the embedded virtual card (1 and 2 threads), raw OpenSSL in the same process (the limit) and
# SoftHSM2 through the same harness; RSA-2048 key generation against openssl genpkey; APDUs and
# start-up time through pcscd + vpcd for mdp11 and OpenSC; the first and the repeated login, and
# p11tool --login --list-all against SoftHSM2 with the same keys; the same on a virtual PIV card
# (embedded signatures; APDUs against OpenSC's PIV driver and ykcs11); then bench/bench-sign's second opinion
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
# Sealed by a key file of the run (docs/vcard.md, "Seal"); the default KDF cost, as a user has it.
"$VCARD" create "$W/card.vcard" --insecure-pin "$PIN" --insecure-admin-key 0102030405060708090a0b0c0d0e0f101112131415161718 \
	--seal "keyfile:$W/card.key" >"$W/vcard.log" 2>&1 || { cat "$W/vcard.log" >&2; exit 1; }
MDP11_VCARD=$W/card.vcard "$BENCH" module --module "$MODULE" --name mdp11 --pin "$PIN" \
	--seconds "$SECS" --threads 2 >>"$RAW" || note "the mdp11 run failed"

# mdp11 on an embedded virtual PIV card (a YubiKey 5.7: RSA 3072 too), the factory management
# key, so that the user's login creates the keys as on GIDS (docs/piv.md).
note "mdp11.so on an embedded virtual PIV card"
PIV_PIN=648219
"$VCARD" create --type piv --piv-version 5.7.1 "$W/piv.vcard" --insecure-pin "$PIV_PIN" \
	--seal "keyfile:$W/card.key" >"$W/piv.log" 2>&1 || { cat "$W/piv.log" >&2; exit 1; }
MDP11_VCARD=$W/piv.vcard "$BENCH" module --module "$MODULE" --name mdp11-piv --pin "$PIV_PIN" \
	--seconds "$SECS" --threads 2 >>"$RAW" || note "the mdp11 PIV run failed"

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

# Logins: the first in a process and the median of repeated ones; then p11tool --login
# --list-all (it logs in again and again) on both tokens, which hold the same keys now.
note "logins, p11tool --login --list-all"
MDP11_VCARD=$W/card.vcard "$BENCH" login --module "$MODULE" --name mdp11 --pin "$PIN" >>"$RAW" ||
	note "the mdp11 login run failed"
if [ -d "$W/softhsm" ]; then
	SOFTHSM2_CONF=$W/softhsm2.conf "$BENCH" login --module "$SOFTHSM" --name softhsm2 \
		--token bench --pin "$PIN" >>"$RAW" || note "the SoftHSM2 login run failed"
fi
if command -v p11tool >/dev/null 2>&1; then
	python3 - "$MODULE" "$SOFTHSM" "$PIN" "$W" >>"$RAW" <<'PY' || note "p11tool timing failed"
import os, statistics, subprocess, sys, time
module, softhsm, pin, w = sys.argv[1:5]
runs = [("mdp11", module, "card.vcard", {"MDP11_VCARD": w + "/card.vcard"})]
if os.path.isdir(w + "/softhsm"):
    runs.append(("softhsm2", softhsm, "bench", {"SOFTHSM2_CONF": w + "/softhsm2.conf"}))
for name, so, token, env in runs:
    times, objects = [], 0
    for _ in range(3):
        t = time.monotonic()
        r = subprocess.run(["p11tool", "--provider", so, "--login", "--set-pin", pin, "--list-all",
                            "pkcs11:token=" + token], env=dict(os.environ, **env),
                           capture_output=True, text=True)
        times.append(time.monotonic() - t)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            sys.exit(1)
        objects = r.stdout.count("Object ")
    print("%s,p11tool,list_all_login_s,%.3f" % (name, statistics.median(times)))
    print("%s,p11tool,objects,%d" % (name, objects))
PY
else
	note "p11tool (gnutls-bin) is not installed: no p11tool figures"
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

note "APDUs through pcscd + vpcd on a PIV card: mdp11, OpenSC, ykcs11"
rc=0
sh "$top_srcdir/bench/bench-pcsc-piv.sh" >>"$RAW" 2>"$W/pcsc-piv.log" || rc=$?
if [ "$rc" != 0 ]; then
	note "the PIV PC/SC part did not run (exit $rc):"
	tail -n 30 "$W/pcsc-piv.log" >&2
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
