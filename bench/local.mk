# SPDX-License-Identifier: LGPL-2.1-or-later
# Ecosystem integration tests (real clients against the module) and the benchmark suite (make bench).

# ---- ecosystem tests: TLS (NSS, OpenSSL, GnuTLS), OpenSSH, p11-kit, Firefox ----
# Each test provisions its own virtual card through tests/integration/lib-token.sh and starts
# its own servers on loopback; TOKEN_BACKEND=softhsm runs the same tests against SoftHSM2.
ECO_TEST_LIBS = \
	tests/integration/lib-run.sh \
	tests/integration/lib-token.sh \
	tests/integration/lib-tls.sh \
	tests/integration/marionette.py
ECO_TESTS = \
	tests/integration/tls-openssl.sh \
	tests/integration/tls-nss.sh \
	tests/integration/tls-gnutls.sh \
	tests/integration/ssh.sh \
	tests/integration/p11kit.sh \
	tests/integration/firefox.sh \
	tests/integration/firefox-wrong-pin.sh
EXTRA_DIST += $(ECO_TEST_LIBS) $(ECO_TESTS)
CLEANFILES += tests/integration/firefox-screenshot.png tests/integration/firefox-screenshot-ec.png

# ---- the benchmark suite: make bench (bench/run-bench.sh) ----
EXTRA_PROGRAMS += bench/bench-p11
bench_bench_p11_SOURCES = bench/bench-p11.c
bench_bench_p11_LDADD = $(CRYPTO_LIBS)
EXTRA_DIST += bench/run-bench.sh bench/bench-pcsc.sh bench/table.py
CLEANFILES += $(EXTRA_PROGRAMS) bench/results.csv
# The suite needs the module and mdp11-vcard too.
bench: all
EXTRA_DIST += docs/remote.md docs/ecosystem.md
