#!/bin/sh
# Anomalies against a signature row's own history: 17 days of one-hour
# intervals with a daily cycle (tests/agent/mkseries.py history, replayed
# at full speed into a store), where day 15 from 10:00 to 14:00 UTC is
# three times slower and day 16 over the same hours has its slowest 3%
# five times slower (median unchanged).  With the defaults (bound 4000,
# 2 intervals, 7 intervals of history) the trap receiver gets exactly
# artmonAnomalyDetected at the end of the second shifted hour and
# artmonAnomalyCleared after two normal hours, for each episode, and
# nothing during the 15 normal days; artmonAnomalyTable shows the state,
# score, history and baseline.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond snmptrapd stdmibs

cap="$AM_TMP/history.pcap"
python3 "$top_srcdir/tests/agent/mkseries.py" history "$cap" >"$AM_TMP/history.txt" ||
	am_fail "mkseries.py"
shift_t=$(awk '{ print $2 }' "$AM_TMP/history.txt")
tail_t=$(awk '{ print $4 }' "$AM_TMP/history.txt")
cat >"$AM_TMP/artmon.conf" <<EOF2
generic {
	include "$top_srcdir/rules/conf/http.conf";
}
EOF2
snmptrapd_start
snmpd_start
artmond_start -c "$AM_TMP/artmon.conf" -r "$cap" --interval 3600
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
wait_until 60 replay_finished || am_fail "the replay did not finish"

A='\.1\.3\.6\.1\.4\.1\.32473'
wait_trap 10 "= $A\.0\.4(\||$)" 2 || am_fail "not two artmonAnomalyCleared"
sleep 1
assert_eq "artmonAnomalyDetected" 2 "$(trap_count "= $A\.0\.3(\||$)")"
assert_eq "artmonAnomalyCleared" 2 "$(trap_count "= $A\.0\.4(\||$)")"
order=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\.[34](\||$)" | sed -E "s/.*= $A\.0\.([34])(\||$).*/\1/" | tr -d '\n')
assert_eq "order" 3434 "$order"

dat() {
	python3 -c 'import sys, time; t = time.gmtime(int(sys.argv[1]))
print(" ".join("%02X" % b for b in [t.tm_year >> 8, t.tm_year & 255, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0, 0x2B, 0, 0]))' "$1"
}
vb() {
	echo "$2" | tr '|' '\n' | sed -n "s/^ *$A\.1\.11\.$1\.0 = //p" | sed 's/ *$//; s/^"//; s/"$//; s/ *$//'
}
n=0
grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\.[34](\||$)" >"$AM_TMP/anomalies"
while IFS= read -r line; do
	n=$((n + 1))
	case $n in
	1) end=$((shift_t + 7200)) ;;   # second shifted hour
	2) end=$((shift_t + 21600)) ;;  # second normal hour after 14:00
	3) end=$((tail_t + 7200)) ;;
	4) end=$((tail_t + 21600)) ;;
	esac
	am_log "$line"
	assert_eq "interval end of notification $n" "$(dat "$end")" "$(vb 10 "$line")"
	assert_eq "address type" 1 "$(vb 1 "$line")"
	assert_eq "address" "0A 02 00 01" "$(vb 2 "$line")"
	assert_eq "port" 80 "$(vb 3 "$line")"
	assert_eq "signature" GET "$(vb 4 "$line")"
	assert_eq "bound" 4000 "$(vb 9 "$line")"
	v=$(vb 8 "$line")
	case $n in
	1 | 3) [ "$v" -gt 4000 ] || am_fail "score $v of a detected anomaly within the bound" ;;
	*) [ "$v" -le 4000 ] || am_fail "score $v of a cleared anomaly beyond the bound" ;;
	esac
done <"$AM_TMP/anomalies"

# The anomaly row of 10.2.0.1:80's signature (id 1): normal again, a
# baseline of 14 days, its p50 and p90 near the generated ones (the last
# interval is 23:00 UTC: median 20 ms x (1.5 - 0.5 cos(2 pi 20 / 24)) =
# 25 ms, p90 x exp(1.28 x 0.35) = 39.2 ms).
row=1.4.10.2.0.1.80.1
assert_eq "anomaly state" normal "$(snmpget_q ARTMON-MIB::artmonAnomalyState.$row)"
assert_eq "anomaly history" 14 "$(snmpget_q ARTMON-MIB::artmonAnomalyHistory.$row)"
assert_eq "anomalies active" 0 "$(snmpget_q ARTMON-MIB::artmonAnomaliesActive.0)"
assert_eq "anomaly bound" 4000 "$(snmpget_q ARTMON-MIB::artmonAnomalyBound.0 | sed "s/ .*//")"
score=$(snmpget_q ARTMON-MIB::artmonAnomalyScore.$row | sed 's/ .*//')
[ "$score" -le 4000 ] || am_fail "score $score of the last interval"
p50=$(snmpget_q ARTMON-MIB::artmonAnomalyBaselineP50.$row | sed 's/ .*//')
p90=$(snmpget_q ARTMON-MIB::artmonAnomalyBaselineP90.$row | sed 's/ .*//')
am_log "last hour: score $score, baseline p50 $p50 p90 $p90"
[ "$p50" -gt 23000 ] && [ "$p50" -lt 27000 ] || am_fail "baseline p50 $p50"
[ "$p90" -gt 36000 ] && [ "$p90" -lt 42500 ] || am_fail "baseline p90 $p90"
echo PASS
