#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The pcscd test harness itself: private namespaces, a private pcscd with the vpcd reader,
# mdp11-vcard serve (ATR, SIGTERM, reconnect after a pcscd restart) and clean stop.
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

# The card server: card present with the default ATR, then a configured one.
"$VCARD_BIN" create "$PCSC_TMP/card.state" >/dev/null || pcsc_fail "mdp11-vcard create"
vcard_start "$PCSC_TMP/card.state"
pcsc_wait_card present || pcsc_fail "no card after mdp11-vcard serve"
[ "$(opensc-tool --atr 2>/dev/null)" = "3b:80:80:01:01" ] ||
	pcsc_fail "default ATR: $(opensc-tool --atr 2>&1)"
opensc-tool --name 2>/dev/null | grep -q GIDS || pcsc_fail "OpenSC does not see a GIDS card"
# SIGTERM: the server exits 0, the reader is empty.
vpid=$PCSC_VCARD_PID
kill -TERM "$vpid"
wait "$vpid"
rc=$?
PCSC_VCARD_PID=""
[ "$rc" = 0 ] || pcsc_fail "mdp11-vcard serve exited $rc on SIGTERM"
pcsc_wait_card absent 10 || pcsc_fail "the card stayed in the reader after its server stopped"
vcard_start "$PCSC_TMP/card.state" "3B 02 14 50"
pcsc_wait_card present || pcsc_fail "no card with a configured ATR"
[ "$(opensc-tool --atr 2>/dev/null)" = "3b:02:14:50" ] ||
	pcsc_fail "configured ATR: $(opensc-tool --atr 2>&1)"
# pcscd restarts: the card server reconnects by itself.
vpid=$PCSC_VCARD_PID
pcscd_restart
pcsc_wait_card present || pcsc_fail "the card server did not reconnect after a pcscd restart"
[ "$PCSC_VCARD_PID" = "$vpid" ] && pcsc_alive "$vpid" || pcsc_fail "the card server was replaced"
grep -q "reconnecting" "$PCSC_TMP/vcard.log" || pcsc_fail "vcard.log does not tell of the reconnect"
vcard_stop
pcsc_alive "$vpid" && pcsc_fail "the card server survived vcard_stop"
"$VCARD_BIN" info "$PCSC_TMP/card.state" >/dev/null || pcsc_fail "state file unusable after stop"

# Stop: no pcscd left, clients see no reader.
pid2=$PCSC_PCSCD_PID
pcsc_stop
pcsc_alive "$pid2" && pcsc_fail "pcscd still running after pcsc_stop"
[ "$(pcsc_card_state)" = noreader ] || pcsc_fail "a reader is visible after pcsc_stop"

echo "pcsc harness: OK (vpcd port $PCSC_PORT)"
