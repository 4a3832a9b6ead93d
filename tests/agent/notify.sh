#!/bin/sh
# Notifications reach the master's trap sink: with a session table of one
# entry, replaying a capture whose connections overlap the closed-state
# timeout makes the tracker refuse or evict sessions; artmond sends
# artmonSessionTableFull once per interval where that happened, with the
# limit as threshold, and nothing else of ARTMON-MIB.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond snmptrapd

cap="$AM_TMP/loop.pcap"
make_loopback_capture "$cap" 2 10
snmptrapd_start
snmpd_start
artmond_start -r "$cap" --interval 10 --max-sessions 1
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
wait_until 20 replay_finished || am_fail "the replay did not finish"
refused=$(snmpget_q ARTMON-MIB::artmonCaptureSessionsRefused.1)
evicted=$(snmpget_q ARTMON-MIB::artmonCaptureSessionsEvicted.1)
[ $((refused + evicted)) -gt 0 ] || am_fail "no session refused or evicted with a limit of 1"
am_log "refused $refused, evicted $evicted"

full='\.1\.3\.6\.1\.6\.3\.1\.1\.4\.1\.0 = \.1\.3\.6\.1\.4\.1\.32473\.0\.7'
wait_trap 5 "$full" || am_fail "no artmonSessionTableFull"
sleep 1
n=$(trap_count "$full")
nint=$(snmpget_q ARTMON-MIB::artmonIntervalsCompleted.0)
[ "$n" -ge 1 ] && [ "$n" -le "$nint" ] || am_fail "$n artmonSessionTableFull for $nint intervals"
line=$(grep "^TRAP .*$full" "$TRAP_LOG" | head -n1)
# artmonNotifyThreshold.0 (.11.9.0) is the limit, 1.
echo "$line" | grep -q '\.1\.3\.6\.1\.4\.1\.32473\.1\.11\.9\.0 = 1\(|\|$\)' ||
	am_fail "threshold varbind missing or wrong: $line"
echo "$line" | grep -q '\.1\.3\.6\.1\.4\.1\.32473\.1\.11\.10\.0 = ' || am_fail "interval end varbind missing: $line"
am_log "ok: $n artmonSessionTableFull for $nint intervals"
# No other ARTMON notification (no store error, no alarm).
others=$(grep '^TRAP ' "$TRAP_LOG" | grep '32473\.0\.' | grep -vc '32473\.0\.7')
assert_eq "other ARTMON notifications" 0 "$others"
echo PASS
