#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints the benchmark table (make bench) from bench/results.csv, with the targets."""

import csv
import datetime
import os
import platform
import sys


def load(path):
    data = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            try:
                data[(row["impl"], row["key"], row["metric"])] = float(row["value"])
            except (KeyError, ValueError):
                continue
    return data


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ""
    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        pass
    return "%s, %s, %d CPUs, %s, load %s" % (platform.node(), cpu, os.cpu_count() or 0,
                                              platform.platform(terse=True), load)


def fmt(v, spec="%.0f"):
    return "-" if v is None else spec % v


def ratio(a, b):
    return None if a is None or not b else a / b


def verdict(v, target):
    if v is None:
        return "n/a"
    return "met" if v >= target else "MISSED"


def main():
    d = load(sys.argv[1])
    g = d.get
    print("mdp11 benchmark, %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip())
    print("machine: %s" % machine())
    print()
    print("Signatures per second (RSA: CKM_SHA256_RSA_PKCS; EC: CKM_ECDSA on a SHA-2 digest).")
    print("1t/2t: wall clock with 1 and 2 threads; cpu: per second of thread CPU time, 1 thread")
    print("(robust when the machine is busy); ratios to raw OpenSSL use the cpu figures.")
    head = ("key", "mdp11 1t", "2t", "cpu", "OpenSSL 1t", "2t", "cpu", "SoftHSM2 1t", "2t", "cpu",
            "mdp11/OSSL", "SoftHSM2/OSSL", "mdp11 2t/1t")
    line = "%-8s %9s %7s %7s %10s %7s %7s %11s %7s %7s %10s %13s %11s"
    print(line % head)
    for key in ("rsa2048", "rsa3072", "p256", "p384"):
        row = [key]
        for impl in ("mdp11", "openssl", "softhsm2"):
            row += [fmt(g((impl, key, "sign_per_s_1t"))), fmt(g((impl, key, "sign_per_s_2t"))),
                    fmt(g((impl, key, "sign_per_cpu_s_1t")))]
        oc = g(("openssl", key, "sign_per_cpu_s_1t"))
        row += [fmt(ratio(g(("mdp11", key, "sign_per_cpu_s_1t")), oc), "%.2fx"),
                fmt(ratio(g(("softhsm2", key, "sign_per_cpu_s_1t")), oc), "%.2fx"),
                fmt(ratio(g(("mdp11", key, "sign_per_s_2t")), g(("mdp11", key, "sign_per_s_1t"))),
                    "%.2fx")]
        print(line % tuple(row))
    print()
    print("Key generation (seconds)")
    print("  RSA-2048: mdp11 %s (mean of 3), openssl genpkey %s (mean of 5, a process each), "
          "OpenSSL in-process %s, SoftHSM2 %s" % (
              fmt(g(("mdp11", "rsa2048", "keygen_mean_s")), "%.3f"),
              fmt(g(("genpkey", "rsa2048", "keygen_mean_s")), "%.3f"),
              fmt(g(("openssl", "rsa2048", "keygen_mean_s")), "%.3f"),
              fmt(g(("softhsm2", "rsa2048", "keygen_mean_s")), "%.3f")))
    print("  mdp11 once each: RSA-3072 %s, P-256 %s, P-384 %s" % (
        fmt(g(("mdp11", "rsa3072", "keygen_s")), "%.3f"),
        fmt(g(("mdp11", "p256", "keygen_s")), "%.3f"),
        fmt(g(("mdp11", "p384", "keygen_s")), "%.3f")))
    print()
    print("Logins (ms; the first in a process derives the PIN key, a repeated one does not)")
    print("  mdp11: first %s, repeated %s (median of 21); SoftHSM2: first %s, repeated %s" % (
        fmt(g(("mdp11", "login", "first_ms")), "%.1f"),
        fmt(g(("mdp11", "login", "repeat_median_ms")), "%.2f"),
        fmt(g(("softhsm2", "login", "first_ms")), "%.1f"),
        fmt(g(("softhsm2", "login", "repeat_median_ms")), "%.2f")))
    print("  p11tool --login --list-all (s, median of 3): mdp11 %s (%s objects), SoftHSM2 %s "
          "(%s objects)" % (
              fmt(g(("mdp11", "p11tool", "list_all_login_s")), "%.3f"),
              fmt(g(("mdp11", "p11tool", "objects"))),
              fmt(g(("softhsm2", "p11tool", "list_all_login_s")), "%.3f"),
              fmt(g(("softhsm2", "p11tool", "objects")))))
    print()
    print("APDUs at the card through pcscd + vpcd (one RSA-2048 key + certificate; start-up = "
          "C_Initialize to first signature)")
    print("%-13s %13s %6s %6s %6s %16s %12s" % ("run", "listed k/p/c", "list", "login", "sign",
                                               "before 1st sign", "start-up ms"))
    for impl in ("mdp11-cold", "mdp11-warm", "opensc-cold", "opensc-warm"):
        if g((impl, "startup", "error")):
            print("%-13s failed (see the messages above)" % impl)
            continue
        listed = "/".join(fmt(g((impl, "token", m))) for m in (
            "private_keys_listed", "public_keys_listed", "certs_listed"))
        print("%-13s %13s %6s %6s %6s %16s %12s" % (
            impl, listed, fmt(g((impl, "apdu", "list"))), fmt(g((impl, "apdu", "login"))),
            fmt(g((impl, "apdu", "sign"))), fmt(g((impl, "apdu", "before_first_signature"))),
            fmt(g((impl, "startup", "first_signature_ms")), "%.1f")))
    print("(listed k/p/c: private keys, public keys, certificates found before login; the private")
    print("key is found after login. list: C_Initialize to the listed token.)")
    print()
    print("PIV (a virtual YubiKey 5.7, docs/piv.md): signatures per second through mdp11 on the "
          "embedded card")
    line = "%-8s %9s %7s %7s %10s %11s"
    print(line % ("key", "mdp11 1t", "2t", "cpu", "OpenSSL cpu", "mdp11/OSSL"))
    for key in ("rsa2048", "rsa3072", "p256", "p384"):
        oc = g(("openssl", key, "sign_per_cpu_s_1t"))
        mc = g(("mdp11-piv", key, "sign_per_cpu_s_1t"))
        print(line % (key, fmt(g(("mdp11-piv", key, "sign_per_s_1t"))),
                      fmt(g(("mdp11-piv", key, "sign_per_s_2t"))), fmt(mc), fmt(oc),
                      fmt(ratio(mc, oc), "%.2fx")))
    print("APDUs at the PIV card through pcscd + vpcd (one RSA-2048 key in 9A + certificate)")
    print("%-17s %13s %6s %6s %6s %16s %12s" % ("run", "listed k/p/c", "list", "login", "sign",
                                               "before 1st sign", "start-up ms"))
    for impl in ("mdp11-piv-cold", "mdp11-piv-warm", "opensc-piv-cold", "opensc-piv-warm",
                 "ykcs11-piv-cold", "ykcs11-piv-warm"):
        if g((impl, "startup", "error")):
            print("%-17s failed (see the messages above)" % impl)
            continue
        if g((impl, "apdu", "list")) is None:
            continue
        listed = "/".join(fmt(g((impl, "token", m))) for m in (
            "private_keys_listed", "public_keys_listed", "certs_listed"))
        print("%-17s %13s %6s %6s %6s %16s %12s" % (
            impl, listed, fmt(g((impl, "apdu", "list"))), fmt(g((impl, "apdu", "login"))),
            fmt(g((impl, "apdu", "sign"))), fmt(g((impl, "apdu", "before_first_signature"))),
            fmt(g((impl, "startup", "first_signature_ms")), "%.1f")))
    print()
    print("Targets")
    r1 = ratio(g(("mdp11", "rsa2048", "sign_per_cpu_s_1t")),
               g(("openssl", "rsa2048", "sign_per_cpu_s_1t")))
    r2 = ratio(g(("mdp11", "p256", "sign_per_cpu_s_1t")), g(("openssl", "p256", "sign_per_cpu_s_1t")))
    print("  RSA-2048, 1 thread, >= 0.9x raw OpenSSL: %s (%s)" % (fmt(r1, "%.2fx"), verdict(r1, 0.9)))
    print("  P-256, 1 thread, >= 0.8x raw OpenSSL:    %s (%s)" % (fmt(r2, "%.2fx"), verdict(r2, 0.8)))
    for key in ("rsa2048", "p256"):
        s = ratio(g(("mdp11", key, "sign_per_s_2t")), g(("mdp11", key, "sign_per_s_1t")))
        o = ratio(g(("openssl", key, "sign_per_s_2t")), g(("openssl", key, "sign_per_s_1t")))
        print("  %s, 1 -> 2 threads >= 1.7x:      %s (%s; raw OpenSSL on this machine: %s)" % (
            key.upper().ljust(7), fmt(s, "%.2fx"), verdict(s, 1.7), fmt(o, "%.2fx")))
    warm = g(("mdp11-warm", "apdu", "before_first_signature"))
    print("  warm start <= 4 APDUs before the first signature: %s (%s)" % (
        fmt(warm), "n/a" if warm is None else ("met" if warm <= 4 else "MISSED")))
    rl = g(("mdp11", "login", "repeat_median_ms"))
    print("  repeated login <= 10 ms (median): %s (%s)" % (
        fmt(rl, "%.2f ms"), "n/a" if rl is None else ("met" if rl <= 10 else "MISSED")))
    pt = ratio(g(("mdp11", "p11tool", "list_all_login_s")),
               g(("softhsm2", "p11tool", "list_all_login_s")))
    print("  p11tool --login --list-all within 3x SoftHSM2: %s (%s)" % (
        fmt(pt, "%.2fx"), "n/a" if pt is None else ("met" if pt <= 3 else "MISSED")))
    mc, oc = g(("mdp11-cold", "apdu", "list")), g(("opensc-cold", "apdu", "list"))
    half = None if mc is None or not oc else mc / oc
    print("  cold start <= half of OpenSC's APDUs: mdp11 %s, OpenSC %s (%s)" % (
        fmt(mc), fmt(oc), "n/a" if half is None else ("met" if half <= 0.5 else "MISSED")))
    r1 = ratio(g(("mdp11-piv", "rsa2048", "sign_per_cpu_s_1t")),
               g(("openssl", "rsa2048", "sign_per_cpu_s_1t")))
    r2 = ratio(g(("mdp11-piv", "p256", "sign_per_cpu_s_1t")),
               g(("openssl", "p256", "sign_per_cpu_s_1t")))
    print("  PIV RSA-2048, 1 thread, >= 0.9x raw OpenSSL: %s (%s)" % (fmt(r1, "%.2fx"),
                                                                    verdict(r1, 0.9)))
    print("  PIV P-256, 1 thread, >= 0.8x raw OpenSSL:    %s (%s)" % (fmt(r2, "%.2fx"),
                                                                    verdict(r2, 0.8)))
    mc, oc = g(("mdp11-piv-cold", "apdu", "list")), g(("opensc-piv-cold", "apdu", "list"))
    yc = g(("ykcs11-piv-cold", "apdu", "list"))
    half = None if mc is None or not oc else mc / oc
    print("  PIV cold start <= half of OpenSC's APDUs: mdp11 %s, OpenSC %s, ykcs11 %s (%s)" % (
        fmt(mc), fmt(oc), fmt(yc),
        "n/a" if half is None else ("met" if half <= 0.5 else "MISSED")))
    sc = g(("mdp11-piv-cold", "apdu", "sign"))
    sg = g(("mdp11-piv-warm", "apdu", "sign"))
    print("  PIV signature at the floor (RSA-2048; 1 with extended APDUs: one GENERAL "
          "AUTHENTICATE; 3 with short ones: chained in two and GET RESPONSE): mdp11 %s (%s), "
          "first of a warm process %s (+1: the container map), OpenSC %s, ykcs11 %s" % (
              fmt(sc), "n/a" if sc is None else ("met" if sc <= 1 else "MISSED"), fmt(sg),
              fmt(g(("opensc-piv-warm", "apdu", "sign"))),
              fmt(g(("ykcs11-piv-warm", "apdu", "sign")))))

if __name__ == "__main__":
    main()
