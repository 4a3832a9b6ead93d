#!/bin/sh
# A threshold set with snmpset while artmond runs takes effect on the next
# completed interval: a replay at recorded speed (--realtime) of three
# 10-second intervals where 10.1.0.1:80 is fast, slow (p90 about 324 ms),
# then fast; during the first interval a manager creates an alarm on its
# p90 (rising 200 ms, falling 100 ms); the second interval raises one
# artmonAlarmRising and the third one artmonAlarmFalling.  About 35 s.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond snmptrapd snmpset stdmibs

cap="$AM_TMP/live.pcap"
python3 "$top_srcdir/tests/agent/mkseries.py" live "$cap" >/dev/null || am_fail "mkseries.py"
snmptrapd_start
snmpd_start
artmond_start -r "$cap" --interval 10 --realtime
artmond_wait_registered
[ "$(snmpget_q ARTMON-MIB::artmonIntervalsCompleted.0)" = 0 ] ||
	am_fail "the first interval closed before the alarm could be set"
snmpset -v2c -c private -r 1 -t 2 -M "$AM_MIBDIRS" -m ARTMON-MIB "127.0.0.1:$SNMPD_PORT" \
	ARTMON-MIB::artmonAlarmRowStatus.3 i createAndGo \
	ARTMON-MIB::artmonAlarmTargetAddressType.3 i ipv4 \
	ARTMON-MIB::artmonAlarmTargetAddress.3 x 0A010001 \
	ARTMON-MIB::artmonAlarmStatistic.3 i p90 \
	ARTMON-MIB::artmonAlarmRisingThreshold.3 u 200000 \
	ARTMON-MIB::artmonAlarmFallingThreshold.3 u 100000 >"$AM_TMP/set" 2>&1 ||
	am_fail "createAndGo: $(cat "$AM_TMP/set")"
A='\.1\.3\.6\.1\.4\.1\.32473'
# (an interval is judged once the tracker's closed-state timeout has
# passed after its end, or when the next one closes: see doc/anomaly.md)
wait_trap 40 "= $A\.0\.2(\||$)" || am_fail "no artmonAlarmFalling after the fast interval"
sleep 1
assert_eq "rising" 1 "$(trap_count "= $A\.0\.1(\||$)")"
assert_eq "falling" 1 "$(trap_count "= $A\.0\.2(\||$)")"
dat() {
	python3 -c 'import sys, time; t = time.gmtime(1700000000 + int(sys.argv[1]))
print(" ".join("%02X" % b for b in [t.tm_year >> 8, t.tm_year & 255, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0, 0x2B, 0, 0]))' "$1"
}
vb() {
	echo "$2" | tr '|' '\n' | sed -n "s/^ *$A\.1\.11\.$1\.0 = //p" | sed 's/ *$//; s/^"//; s/"$//; s/ *$//'
}
assert_eq "rising: end of the slow interval" "$(dat 20)" "$(vb 10 "$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\.1(\||$)")")"
assert_eq "falling: end of the last interval" "$(dat 30)" "$(vb 10 "$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\.2(\||$)")")"
assert_eq "status" falling "$(snmpget_q ARTMON-MIB::artmonAlarmStatusLastEvent.3.1.4.10.1.0.1.80.0)"
echo PASS
