#!/bin/sh
# The anomaly state survives a restart of artmond: the history of
# tests/agent/anomaly.sh cut at day 15 12:30 UTC, in the middle of the x3
# episode, and replayed by two runs of artmond on the same store.  The
# first run raises artmonAnomalyDetected; the second starts with the row
# still anomalous (and its baseline back from the store), does not raise
# it again and sends artmonAnomalyCleared after the recovery; the tail
# episode of day 16 is raised and cleared as usual.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond snmptrapd stdmibs editcap

cap="$AM_TMP/history.pcap"
python3 "$top_srcdir/tests/agent/mkseries.py" history "$cap" >"$AM_TMP/history.txt" ||
	am_fail "mkseries.py"
shift_t=$(awk '{ print $2 }' "$AM_TMP/history.txt")
cut=$((shift_t + 9000))
editcap -B "$cut" "$cap" "$AM_TMP/h1.pcap" >/dev/null || am_fail "editcap"
editcap -A "$cut" "$cap" "$AM_TMP/h2.pcap" >/dev/null || am_fail "editcap"
cat >"$AM_TMP/artmon.conf" <<EOF2
generic {
	include "$top_srcdir/rules/conf/http.conf";
}
EOF2
A='\.1\.3\.6\.1\.4\.1\.32473'
row=1.4.10.2.0.1.80.1
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
snmptrapd_start
snmpd_start
artmond_start -c "$AM_TMP/artmon.conf" -r "$AM_TMP/h1.pcap" --interval 3600
artmond_wait_registered
wait_until 60 replay_finished || am_fail "the first replay did not finish"
wait_trap 10 "= $A\.0\.3(\||$)" || am_fail "no artmonAnomalyDetected in the first run"
assert_eq "state at the end of the first run" anomalous "$(snmpget_q ARTMON-MIB::artmonAnomalyState.$row)"
artmond_stop

artmond_start -c "$AM_TMP/artmon.conf" -r "$AM_TMP/h2.pcap" --interval 3600
artmond_wait_registered
wait_until 60 replay_finished || am_fail "the second replay did not finish"
wait_trap 10 "= $A\.0\.4(\||$)" 2 || am_fail "not two artmonAnomalyCleared"
sleep 1
assert_eq "artmonAnomalyDetected" 2 "$(trap_count "= $A\.0\.3(\||$)")"
assert_eq "artmonAnomalyCleared" 2 "$(trap_count "= $A\.0\.4(\||$)")"
order=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\.[34](\||$)" | sed -E "s/.*= $A\.0\.([34])(\||$).*/\1/" | tr -d '\n')
# without the stored state the second run would start the row over and
# never clear the first episode (334)
assert_eq "order" 3434 "$order"
assert_eq "anomaly history" 14 "$(snmpget_q ARTMON-MIB::artmonAnomalyHistory.$row)"
echo PASS
