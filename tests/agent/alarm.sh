#!/bin/sh
# Threshold alarms from the configuration file, evaluated on every
# completed interval with RMON hysteresis: a replay of 10-second intervals
# (tests/agent/mkseries.py alarm) where 10.1.0.1:80's p90 of `first` rises
# from about 22 ms to 324 ms in interval 3, stays high (with a fast interval
# of too few transactions in between) and falls back in interval 7.  The
# trap receiver gets exactly one artmonAlarmRising and then one
# artmonAlarmFalling for the server row (alarm 7) and for the signature
# row (alarm 8, signature "*"), with the row, statistic, value, threshold
# and interval end as varbinds; the slow first interval of 3 transactions (under the
# minimum of 10) sends nothing; artmonAlarmStatusTable shows the state.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond snmptrapd stdmibs

cap="$AM_TMP/series.pcap"
python3 "$top_srcdir/tests/agent/mkseries.py" alarm "$cap" >"$AM_TMP/series.txt" ||
	am_fail "mkseries.py"
cat >"$AM_TMP/artmon.conf" <<EOF2
artmon {
	alarm 7 {
		descr = "web p90";
		server = "10.1.0.1";
		port = 80;
		statistic = p90;
		timing = first;
		rising = 200ms;
		falling = 100ms;
		min_transactions = 10;
	}
	alarm 8 {
		descr = "any GET p90";
		signature = "*";
		statistic = p90;
		rising = 250ms;
		falling = 50ms;
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
rising="$A\.0\.1(\||$)"
falling="$A\.0\.2(\||$)"
wait_trap 5 "= $falling" 2 || am_fail "no artmonAlarmFalling"
sleep 1
assert_eq "artmonAlarmRising notifications" 2 "$(trap_count "= $rising")"
assert_eq "artmonAlarmFalling notifications" 2 "$(trap_count "= $falling")"
# per alarm: rising before falling
for al in 7 8; do
	order=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "$A\.1\.11\.5\.0 = $al(\||$)" | grep -E "= $A\.0\.[12](\||$)" |
		sed -E "s/.*= $A\.0\.([12])(\||$).*/\1/" | tr -d '\n')
	assert_eq "notifications of alarm $al" 12 "$order"
done

# DateAndTime of T0 + SECONDS as snmptrapd prints it (hex octets)
dat() {
	python3 -c 'import sys, time; t = time.gmtime(1700000000 + int(sys.argv[1]))
print(" ".join("%02X" % b for b in [t.tm_year >> 8, t.tm_year & 255, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0, 0x2B, 0, 0]))' "$1"
}
# varbind VALUE of OBJECT (numeric suffix under artmonNotifyObjects) in LINE
vb() {
	echo "$2" | tr '|' '\n' | sed -n "s/^ *$A\.1\.11\.$1\.0 = //p" | sed 's/ *$//; s/^"//; s/"$//; s/ *$//'
}
check_line() {
	_line=$1 _value=$2 _thr=$3 _end=$4
	assert_eq "alarm index" "${5:-7}" "$(vb 5 "$_line")"
	assert_eq "address type" 1 "$(vb 1 "$_line")"
	assert_eq "address" "0A 01 00 01" "$(vb 2 "$_line")"
	assert_eq "port" 80 "$(vb 3 "$_line")"
	assert_eq "signature" "${6:-}" "$(vb 4 "$_line")"
	assert_eq "statistic (p90)" 2 "$(vb 6 "$_line")"
	assert_eq "timing (first)" 2 "$(vb 7 "$_line")"
	assert_eq "threshold" "$_thr" "$(vb 9 "$_line")"
	assert_eq "interval end" "$(dat "$_end")" "$(vb 10 "$_line")"
	v=$(vb 8 "$_line")
	# the histogram's quantiles are within 0.4%
	python3 -c 'import sys; v, w = int(sys.argv[1]), int(sys.argv[2]); sys.exit(abs(v - w) > w * 0.005)' "$v" "$_value" ||
		am_fail "value $v, expected about $_value"
}
rline=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $rising" | grep -E "$A\.1\.11\.5\.0 = 7(\||$)")
fline=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $falling" | grep -E "$A\.1\.11\.5\.0 = 7(\||$)")
am_log "rising: $rline"
am_log "falling: $fline"
p90_3=$(awk '$1 == 3 { print $3 }' "$AM_TMP/series.txt")
p90_7=$(awk '$1 == 7 { print $3 }' "$AM_TMP/series.txt")
check_line "$rline" "$p90_3" 200000 40
check_line "$fline" "$p90_7" 100000 80
# alarm 8 on every signature row: 10.1.0.1:80's GET
rline=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $rising" | grep -E "$A\.1\.11\.5\.0 = 8(\||$)")
fline=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $falling" | grep -E "$A\.1\.11\.5\.0 = 8(\||$)")
check_line "$rline" "$p90_3" 250000 40 8 GET
check_line "$fline" "$p90_7" 50000 80 8 GET

# The status row: alarm 7 on 10.1.0.1:80's server row, last event falling.
st=$(snmpwalk_q ARTMON-MIB::artmonAlarmStatusLastEvent)
echo "$st" | grep -q '^artmonAlarmStatusLastEvent\.7\.1\.4\.10\.1\.0\.1\.80\.0 = falling' ||
	am_fail "status row: $st"
assert_eq "alarm row status" active "$(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.7)"
assert_eq "alarm storage" readOnly "$(snmpget_q ARTMON-MIB::artmonAlarmStorageType.7)"
assert_eq "alarm rising threshold" 200000 "$(snmpget_q ARTMON-MIB::artmonAlarmRisingThreshold.7)"
# artmonAnomalyTable AUGMENTS the signature table: a row for each
# signature row, learning here (intervals under the minimum of 100).
nsig=$(snmpwalk_q ARTMON-MIB::artmonSignatureName | grep -c .)
[ "$nsig" -ge 1 ] || am_fail "no signature row"
assert_eq "anomaly rows" "$nsig" "$(snmpwalk_q ARTMON-MIB::artmonAnomalyState | grep -c ' = learning$')"
# Nothing else of ARTMON-MIB was sent.
others=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\." | grep -Evc "= $A\.0\.[12](\||$)")
assert_eq "other ARTMON notifications" 0 "$others"
echo PASS
