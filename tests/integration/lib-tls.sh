# SPDX-License-Identifier: LGPL-2.1-or-later
# TLS test servers for the client-authentication tests: openssl s_server on a free loopback port,
# requiring a client certificate from the test CA, and the checks on what it saw.
#
# Sourced after lib-run.sh and lib-token.sh (token_setup and token_server_cert done).

# tls_server NAME OPTIONS...: s_server -www for one connection; sets $TLS_PORT, log $WORK/NAME.log.
tls_server()
{
	_n=$1
	shift
	TLS_PORT=$(free_port)
	run_bg "$_n" timeout -k 3 60 openssl s_server -accept "127.0.0.1:$TLS_PORT" -naccept 1 \
		-www -Verify 1 -verify_return_error -CAfile "$CA_PEM" -cert "$SERVER_CERT" \
		-key "$SERVER_KEY" "$@"
	TLS_PID=$LAST_PID
	# Not wait_port: a probe connection would use up the one accepted connection.
	wait_log "$WORK/$_n.log" '^ACCEPT' 10
}

# tls_server_wait: the one-connection server has finished (or is stopped after 10 s).
tls_server_wait()
{
	_n=0
	while kill -0 "$TLS_PID" 2>/dev/null && [ $_n -lt 100 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	kill "$TLS_PID" 2>/dev/null || true
}

# tls_expect FILE PATTERN WHAT: FILE has a line matching the extended regex PATTERN.
tls_expect()
{
	grep -qE "$2" "$1" || fail "$3 (no '$2' in ${1##*/})"
}

# tls_server_saw NAME CN: the server verified a client certificate with this common name.
tls_server_saw()
{
	tls_expect "$WORK/$1.log" "^depth=0 .*CN = $2\$" "the server did not see the card's certificate"
}

# The s_server -www status page, as seen by the client (in FILE): protocol, client signature
# type, client certificate subject.
tls_page_check()
{
	tls_expect "$1" "Protocol *: $2\$" "protocol is not $2"
	tls_expect "$1" "^Peer signature type: $3\$" "client signature type is not $3"
	tls_expect "$1" "Subject: .*CN *= *$4" "the page does not show the client certificate"
}
