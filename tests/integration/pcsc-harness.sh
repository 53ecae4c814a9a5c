#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The pcscd test harness itself: private namespaces, a private pcscd with the vpcd reader,
# restart, and clean stop.
. "$top_srcdir/tests/integration/lib-pcsc.sh"
pcsc_enter_ns "$@"

# Our own /run/pcscd, not the system's.
[ "$(stat -f -c %T /run/pcscd)" = tmpfs ] || pcsc_fail "/run/pcscd is not the private tmpfs"
[ ! -e /run/pcscd/pcscd.comm ] || pcsc_fail "a pcscd socket exists before the test started one"

pcscd_start
pid1=$PCSC_PCSCD_PID
grep -q "CHANNELID    $PCSC_PORT" "$PCSC_TMP/reader.conf.d/vpcd" ||
	pcsc_fail "reader.conf.d entry without the chosen port"
# Both vpcd slots listen (port and port + 1).
pcsc_port_listening "$PCSC_PORT" || pcsc_fail "vpcd slot 0 is not listening on $PCSC_PORT"
pcsc_port_listening $((PCSC_PORT + 1)) || pcsc_fail "vpcd slot 1 is not listening"

opensc-tool --list-readers >"$PCSC_TMP/readers.txt" 2>&1 || pcsc_fail "opensc-tool -l failed"
grep -q "Virtual PCD 00 00" "$PCSC_TMP/readers.txt" || pcsc_fail "vpcd reader not listed"
[ "$(pcsc_card_state)" = absent ] || pcsc_fail "a card is present before any card server ran"

# pcscd restart: the reader comes back.
pcscd_restart
[ "$PCSC_PCSCD_PID" != "$pid1" ] || pcsc_fail "pcscd was not restarted"
pcsc_alive "$pid1" && pcsc_fail "the first pcscd is still running"
[ "$(pcsc_card_state)" = absent ] || pcsc_fail "reader missing after a pcscd restart"

# Stop: no pcscd left, clients see no reader.
pid2=$PCSC_PCSCD_PID
pcsc_stop
pcsc_alive "$pid2" && pcsc_fail "pcscd still running after pcsc_stop"
[ "$(pcsc_card_state)" = noreader ] || pcsc_fail "a reader is visible after pcsc_stop"

echo "pcsc harness: OK (vpcd port $PCSC_PORT)"
