#!/bin/sh
# Alarm rows created by a manager with SNMP SET: a nonVolatile row is kept
# in the store and survives a restart of artmond, where it is evaluated on
# the next capture's intervals (one rising and one falling notification of
# that row); a volatile row does not survive; a reload (SIGHUP) replaces
# the rows of the configuration file and keeps the manager's rows; rows of
# the file cannot be changed with SET.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond snmptrapd snmpset stdmibs

early="$AM_TMP/early.pcap"
python3 "$top_srcdir/tests/agent/mkmany.py" "$early" 1 1 1 || am_fail "mkmany.py"
cap="$AM_TMP/series.pcap"
python3 "$top_srcdir/tests/agent/mkseries.py" alarm "$cap" >"$AM_TMP/series.txt" ||
	am_fail "mkseries.py"
conf() {
	cat >"$AM_TMP/artmon.conf" <<EOF2
artmon {
	alarm $1 {
		descr = "from the file";
		statistic = transactions;
		rising = 100000;
		falling = 0;
	}
}
generic {
	include "$top_srcdir/rules/conf/http.conf";
}
EOF2
}
conf 1
snmpset_q() {
	snmpset -v2c -c private -r 1 -t 2 -M "$AM_MIBDIRS" -m ARTMON-MIB "127.0.0.1:$SNMPD_PORT" "$@"
}
snmptrapd_start
snmpd_start
artmond_start -c "$AM_TMP/artmon.conf" -r "$early" --interval 10
artmond_wait_registered

# A nonVolatile row (the default storage) on 10.1.0.1:80's p90 of first,
# and a volatile one.
snmpset_q ARTMON-MIB::artmonAlarmRowStatus.5 i createAndGo \
	ARTMON-MIB::artmonAlarmDescr.5 s "set p90" \
	ARTMON-MIB::artmonAlarmTargetAddressType.5 i ipv4 \
	ARTMON-MIB::artmonAlarmTargetAddress.5 x 0A010001 \
	ARTMON-MIB::artmonAlarmTargetPort.5 u 80 \
	ARTMON-MIB::artmonAlarmStatistic.5 i p90 \
	ARTMON-MIB::artmonAlarmRisingThreshold.5 u 200000 \
	ARTMON-MIB::artmonAlarmFallingThreshold.5 u 100000 >"$AM_TMP/set" 2>&1 ||
	am_fail "createAndGo: $(cat "$AM_TMP/set")"
snmpset_q ARTMON-MIB::artmonAlarmRowStatus.6 i createAndGo \
	ARTMON-MIB::artmonAlarmStorageType.6 i volatile \
	ARTMON-MIB::artmonAlarmStatistic.6 i transactions \
	ARTMON-MIB::artmonAlarmTiming.6 i none \
	ARTMON-MIB::artmonAlarmRisingThreshold.6 u 1000 \
	ARTMON-MIB::artmonAlarmFallingThreshold.6 u 1 >"$AM_TMP/set" 2>&1 ||
	am_fail "createAndGo (volatile): $(cat "$AM_TMP/set")"
# A row of the file is readOnly.
if snmpset_q ARTMON-MIB::artmonAlarmRisingThreshold.1 u 5 >"$AM_TMP/set" 2>&1; then
	am_fail "a row of the configuration file was changed by SET"
fi
grep -qi 'notWritable' "$AM_TMP/set" || am_fail "SET on a file row: $(cat "$AM_TMP/set")"
assert_eq "row 5" active "$(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.5)"
assert_eq "row 6" active "$(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.6)"

# Restart on the capture where 10.1.0.1:80 slows down.
artmond_stop
artmond_start -c "$AM_TMP/artmon.conf" -r "$cap" --interval 10
artmond_wait_registered
assert_eq "row 5 after the restart" active "$(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.5)"
assert_eq "row 5 storage" nonVolatile "$(snmpget_q ARTMON-MIB::artmonAlarmStorageType.5)"
assert_eq "row 5 descr" "set p90" "$(snmpget_q ARTMON-MIB::artmonAlarmDescr.5 | tr -d '"')"
assert_eq "row 5 rising" 200000 "$(snmpget_q ARTMON-MIB::artmonAlarmRisingThreshold.5)"
case $(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.6) in
*"No Such"*) ;;
*) am_fail "the volatile row 6 survived the restart" ;;
esac
A='\.1\.3\.6\.1\.4\.1\.32473'
wait_trap 20 "= $A\.0\.2(\||$)" || am_fail "no artmonAlarmFalling from row 5"
sleep 1
assert_eq "rising notifications of row 5" 1 "$(trap_count "= $A\.0\.1\|.*$A\.1\.11\.5\.0 = 5(\||$)")"
assert_eq "falling notifications of row 5" 1 "$(trap_count "= $A\.0\.2\|.*$A\.1\.11\.5\.0 = 5(\||$)")"
assert_eq "alarm notifications" 2 "$(trap_count "= $A\.0\.[12](\||$)")"

# Reload with another file row: row 1 goes, row 2 comes, row 5 stays.
conf 2
kill -HUP "$ARTMOND_PID"
reloaded() { [ "$(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.2)" = active ]; }
wait_until 10 reloaded || am_fail "row 2 of the reloaded file did not appear"
case $(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.1) in
*"No Such"*) ;;
*) am_fail "row 1 of the old file survived the reload" ;;
esac
assert_eq "row 5 after the reload" active "$(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.5)"
assert_eq "row 2 storage" readOnly "$(snmpget_q ARTMON-MIB::artmonAlarmStorageType.2)"

# Destroyed rows are gone from the store too.
snmpset_q ARTMON-MIB::artmonAlarmRowStatus.5 i destroy >"$AM_TMP/set" 2>&1 ||
	am_fail "destroy: $(cat "$AM_TMP/set")"
artmond_stop
artmond_start -c "$AM_TMP/artmon.conf" -r "$early" --interval 10
artmond_wait_registered
case $(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.5) in
*"No Such"*) ;;
*) am_fail "the destroyed row 5 came back after a restart" ;;
esac
echo PASS
