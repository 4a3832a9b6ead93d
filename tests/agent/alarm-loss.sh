#!/bin/sh
# Capture loss holds response-time alarms back: the alarm series of
# tests/agent/alarm.sh, but the slow intervals (3, 4 and 6) lose 100 bytes
# of every response (sequence gaps).  With loss_bound = 10000 ppm, their
# p90 alarm is not judged (artmonAlarmHeldBack counts 3) and no
# artmonAlarmRising/Falling is sent; artmonCaptureLossRising is sent when
# interval 3 and interval 6 lose more than the bound, artmonCaptureLossFalling
# when intervals 5 and 7 are back within it.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond snmptrapd stdmibs

cap="$AM_TMP/gap.pcap"
python3 "$top_srcdir/tests/agent/mkseries.py" gap "$cap" >/dev/null || am_fail "mkseries.py"
cat >"$AM_TMP/artmon.conf" <<EOF2
artmon {
	loss_bound = 10000;
	alarm 7 {
		server = "10.1.0.1";
		port = 80;
		statistic = p90;
		rising = 200ms;
		falling = 100ms;
	}
}
generic {
	include "$top_srcdir/rules/conf/http.conf";
}
EOF2
snmptrapd_start
snmpd_start
artmond_start -c "$AM_TMP/artmon.conf" -r "$cap" --interval 10
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
wait_until 20 replay_finished || am_fail "the replay did not finish"

A='\.1\.3\.6\.1\.4\.1\.32473'
wait_trap 5 "= $A\.0\.6(\||$)" 2 || am_fail "not two artmonCaptureLossFalling"
sleep 1
assert_eq "artmonCaptureLossRising" 2 "$(trap_count "= $A\.0\.5(\||$)")"
assert_eq "artmonCaptureLossFalling" 2 "$(trap_count "= $A\.0\.6(\||$)")"
assert_eq "alarm notifications" 0 "$(trap_count "= $A\.0\.[12](\||$)")"
order=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\.[56](\||$)" | sed -E "s/.*= $A\.0\.([56])(\||$).*/\1/" | tr -d '\n')
assert_eq "order" 5656 "$order"
dat() {
	python3 -c 'import sys, time; t = time.gmtime(1700000000 + int(sys.argv[1]))
print(" ".join("%02X" % b for b in [t.tm_year >> 8, t.tm_year & 255, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0, 0x2B, 0, 0]))' "$1"
}
vb() {
	echo "$2" | tr '|' '\n' | sed -n "s/^ *$A\.1\.11\.$1\.0 = //p" | sed 's/ *$//; s/^"//; s/"$//; s/ *$//'
}
line=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\.5(\||$)" | head -n1)
am_log "$line"
assert_eq "loss interval end" "$(dat 40)" "$(vb 10 "$line")"
assert_eq "loss threshold" 10000 "$(vb 9 "$line")"
v=$(vb 8 "$line")
[ "$v" -gt 10000 ] || am_fail "loss value $v"
line=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\.6(\||$)" | head -n1)
assert_eq "loss falling interval end" "$(dat 60)" "$(vb 10 "$line")"
assert_eq "loss falling value" 0 "$(vb 8 "$line")"
assert_eq "artmonAlarmsHeldBack" 3 "$(snmpget_q ARTMON-MIB::artmonAlarmsHeldBack.0)"
assert_eq "artmonAlarmHeldBack.7" 3 "$(snmpget_q ARTMON-MIB::artmonAlarmHeldBack.7)"
assert_eq "artmonAlarmLossBound" 10000 "$(snmpget_q ARTMON-MIB::artmonAlarmLossBound.0 | sed 's/ .*//')"
echo PASS
