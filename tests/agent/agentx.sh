#!/bin/sh
# AgentX life: artmond starts before the master and keeps retrying without
# flooding its log; it joins the master when it appears and re-joins
# within 3 s when the master restarts.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond

cap="$AM_TMP/loop.pcap"
make_loopback_capture "$cap" 1 10
SNMPD_PORT=$(free_port udp)
artmond_start -r "$cap" --interval 10
sleep 4
kill -0 "$ARTMOND_PID" || am_fail "artmond exited without a master"
n=$(grep -cF "AgentX socket $AGENTX_SOCKET: No such file or directory" "$ARTMOND_LOG")
[ "$n" -ge 1 ] || am_fail "the missing master is not logged: $(cat "$ARTMOND_LOG")"
[ "$n" -le 1 ] || am_fail "$n connection failures logged in 4 s (no rate limit)"
am_log "ok: $n connection failure line(s) in 4 s"

snmpd_start
wait_until 3 artmond_registered || am_fail "artmond did not join a master started after it within 3 s"
am_log "ok: joined the master that started later"
for i in 1 2; do
	snmpd_stop
	snmpd_start
	wait_until 3 artmond_registered || am_fail "artmond did not re-join within 3 s after master restart $i"
	am_log "ok: re-joined after master restart $i"
done
echo PASS
