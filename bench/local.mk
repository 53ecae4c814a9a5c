# SPDX-License-Identifier: LGPL-2.1-or-later
# Ecosystem integration tests (real clients against the module) and the benchmark suite (make bench).

# bench-sign: a quick signatures-per-second figure through mdp11.so vs raw OpenSSL (one thread,
# CPU time); the full suite is bench-p11 driven by bench/run-bench.sh below.
EXTRA_PROGRAMS += bench/bench-sign
bench_bench_sign_SOURCES = bench/bench-sign.c
bench_bench_sign_CFLAGS = $(AM_CFLAGS) $(MDP11_MODULE_CFLAGS)
bench_bench_sign_LDADD = $(MDP11_LIBS_VCARD) $(LIBS)
bench_bench_sign_DEPENDENCIES = libmdp11vcard.la libmdp11common.la mdp11.la
CLEANFILES += bench/bench-sign

# ---- ecosystem tests: TLS (NSS, OpenSSL, GnuTLS), OpenSSH, p11-kit, Firefox ----
# Each test provisions its own virtual card through tests/integration/lib-token.sh and starts
# its own servers on loopback; TOKEN_BACKEND=softhsm runs the same tests against SoftHSM2.
ECO_TEST_LIBS = \
	tests/integration/lib-run.sh \
	tests/integration/lib-token.sh \
	tests/integration/lib-tls.sh \
	tests/integration/lib-p11kit.sh \
	tests/integration/marionette.py
ECO_TESTS = \
	tests/integration/tls-openssl.sh \
	tests/integration/tls-nss.sh \
	tests/integration/tls-gnutls.sh \
	tests/integration/ssh.sh \
	tests/integration/p11kit.sh \
	tests/integration/firefox.sh \
	tests/integration/firefox-wrong-pin.sh
TESTS += $(ECO_TESTS)
EXTRA_DIST += $(ECO_TEST_LIBS) $(ECO_TESTS)
CLEANFILES += tests/integration/firefox-screenshot.png tests/integration/firefox-screenshot-ec.png

# ---- the benchmark suite: make bench (bench/run-bench.sh) ----
EXTRA_PROGRAMS += bench/bench-p11
bench_bench_p11_SOURCES = bench/bench-p11.c
bench_bench_p11_LDADD = $(CRYPTO_LIBS)
EXTRA_DIST += bench/run-bench.sh bench/bench-pcsc.sh bench/bench-pcsc-piv.sh bench/lib-startup.sh bench/table.py
CLEANFILES += bench/bench-p11 bench/results.csv
# The suite needs the module and mdp11-vcard too.
bench: all
EXTRA_DIST += docs/remote.md docs/ecosystem.md
