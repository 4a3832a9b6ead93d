#!/bin/sh
# The test harness itself: a private snmpd master and snmptrapd start on
# free ports, the master answers, its notifications reach the trap log one
# line each, and everything stops in order leaving no process behind.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require snmptrapd snmptrap

snmptrapd_start
snmpd_start

# The master answers on its port with our configuration.
descr=$(snmpget -v2c -c public -Ov -Oq "127.0.0.1:$SNMPD_PORT" .1.3.6.1.2.1.1.1.0) ||
	am_fail "snmpget sysDescr"
[ -n "$descr" ] || am_fail "empty sysDescr"
am_log "ok: master answers on udp:127.0.0.1:$SNMPD_PORT"

# coldStart (.1.3.6.1.6.3.1.1.5.1) from the master reaches the trap log.
wait_trap 5 '\.1\.3\.6\.1\.6\.3\.1\.1\.4\.1\.0 = \.1\.3\.6\.1\.6\.3\.1\.1\.5\.1' ||
	am_fail "no coldStart in $TRAP_LOG"
am_log "ok: coldStart logged"

# A notification sent by hand arrives as exactly one greppable line with
# its varbinds.
snmptrap -v2c -c public "127.0.0.1:$TRAPD_PORT" '' .1.3.6.1.4.1.32473.0.1 \
	.1.3.6.1.4.1.32473.1.11.8.0 u 4242 || am_fail "snmptrap"
wait_trap 5 '\.1\.3\.6\.1\.4\.1\.32473\.0\.1.*\.1\.3\.6\.1\.4\.1\.32473\.1\.11\.8\.0 = 4242' ||
	am_fail "hand-made notification not logged"
assert_eq "lines for one notification" 1 "$(trap_count '32473\.0\.1')"

# The AgentX socket accepts connections (the master listens).
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$AGENTX_SOCKET" ||
	am_fail "cannot connect to $AGENTX_SOCKET"
am_log "ok: AgentX socket listening"

# Orderly stop: the master's shutdown notification (nsNotifyShutdown,
# .1.3.6.1.4.1.8072.4.0.2) reaches snmptrapd before it stops.
spid=$SNMPD_PID
snmpd_stop
kill -0 "$spid" 2>/dev/null && am_fail "snmpd still running"
wait_trap 5 '\.1\.3\.6\.1\.4\.1\.8072\.4\.0\.2' || am_fail "no shutdown notification"
am_log "ok: shutdown notification logged"

# A restarted master keeps its port.
snmpd_start
snmp_ping >/dev/null || am_fail "restarted master does not answer"
am_log "ok: master restarted on the same port"
echo "PASS"
