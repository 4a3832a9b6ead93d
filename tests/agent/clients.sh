#!/bin/sh
# Real NMS clients against artmond through a private snmpd: check_snmp
# (monitoring-plugins) gives the right exit code on either side of a
# threshold, an mrtg run records the p50/p90 gauges, and the rrdtool
# example script stores them and the cumulative sum and count.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond stdmibs
CHECK_SNMP=${CHECK_SNMP:-/usr/lib/nagios/plugins/check_snmp}
[ -x "$CHECK_SNMP" ] || am_skip "check_snmp not installed (monitoring-plugins-standard)"
agent_require mrtg rrdtool

cap="$AM_TMP/loop.pcap"
make_loopback_capture "$cap" 2 10
snmpd_start
artmond_start -r "$cap" --interval 10
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
wait_until 20 replay_finished || am_fail "the replay did not finish"

idx=$(server_index 127.0.0.1 "$CAP_PORT4")
p50oid=$(snmptranslate -M "$AM_MIBDIRS" -m ARTMON-MIB -On "ARTMON-MIB::artmonServerIntFirstP50.$idx")
p90oid=$(snmptranslate -M "$AM_MIBDIRS" -m ARTMON-MIB -On "ARTMON-MIB::artmonServerIntFirstP90.$idx")
p50=$(snmpget -v2c -c public -Oqv "127.0.0.1:$SNMPD_PORT" "$p50oid")
p90=$(snmpget -v2c -c public -Oqv "127.0.0.1:$SNMPD_PORT" "$p90oid")
[ "$p90" -gt 0 ] 2>/dev/null || am_fail "p90 of 127.0.0.1:$CAP_PORT4 is '$p90'"
am_log "p50 $p50 us, p90 $p90 us"

# check_snmp: OK below the threshold, CRITICAL above it, WARNING between.
run_check() {
	"$CHECK_SNMP" -H 127.0.0.1 -p "$SNMPD_PORT" -P 2c -C public -o "$p90oid" "$@" >"$AM_TMP/check.out" 2>&1
	echo $?
}
assert_eq "check_snmp, p90 under -w and -c" 0 "$(run_check -w $((p90 + 1)) -c $((p90 + 2)))"
assert_eq "check_snmp, p90 over -c" 2 "$(run_check -w $((p90 - 2)) -c $((p90 - 1)))"
assert_eq "check_snmp, p90 between -w and -c" 1 "$(run_check -w $((p90 - 1)) -c $((p90 + 1)))"
grep -q "$p90" "$AM_TMP/check.out" || am_fail "check_snmp output lacks the value: $(cat "$AM_TMP/check.out")"
# With names: check_snmp loads ARTMON-MIB from MIBDIRS.
MIBDIRS="$AM_MIBDIRS" MIBS=ARTMON-MIB "$CHECK_SNMP" -H 127.0.0.1 -p "$SNMPD_PORT" -P 2c -C public \
	-o "ARTMON-MIB::artmonServerIntFirstP90.$idx" -c $((p90 + 1)) >"$AM_TMP/check.out" 2>&1 ||
	am_fail "check_snmp by name: $(cat "$AM_TMP/check.out")"
am_log "ok: check_snmp by name"

# mrtg: the example configuration with this server and port.
mkdir -p "$AM_TMP/mrtg"
sed -e "s|^WorkDir:.*|WorkDir: $AM_TMP/mrtg|" \
	-e "s|1\.3\.6\.1\.4\.1\.32473\.1\.5\.1\.25\.1\.4\.192\.0\.2\.10\.80|${p50oid#.}|" \
	-e "s|1\.3\.6\.1\.4\.1\.32473\.1\.5\.1\.26\.1\.4\.192\.0\.2\.10\.80|${p90oid#.}|" \
	-e "s|public@sensor.example.net:|public@127.0.0.1:$SNMPD_PORT|" \
	"$top_srcdir/examples/mrtg-artmon.cfg" >"$AM_TMP/mrtg.cfg"
grep -q "127.0.0.1:$SNMPD_PORT::::2" "$AM_TMP/mrtg.cfg" || am_fail "mrtg.cfg not adapted: $(grep Target "$AM_TMP/mrtg.cfg")"
env LANG=C LC_ALL=C mrtg "$AM_TMP/mrtg.cfg" >"$AM_TMP/mrtg.out" 2>&1
# The first line of an mrtg log is "time in out": the current readings.
first=$(head -n1 "$AM_TMP/mrtg/web-first.log" 2>/dev/null)
[ "$(echo "$first" | cut -d' ' -f2-)" = "$p50 $p90" ] ||
	am_fail "mrtg recorded '$first', expected p50 $p50 p90 $p90: $(cat "$AM_TMP/mrtg.out")"
am_log "ok: mrtg recorded $first"

# The rrdtool example: one update with the gauges and the Counter64 pair.
cd "$AM_TMP"
RRD="$AM_TMP/x.rrd" PNG="$AM_TMP/x.png" sh "$top_srcdir/examples/rrd-artmon.sh" \
	"127.0.0.1:$SNMPD_PORT" "$idx" public >"$AM_TMP/rrd.out" 2>&1 ||
	am_fail "rrd-artmon.sh: $(cat "$AM_TMP/rrd.out")"
last=$(rrdtool lastupdate "$AM_TMP/x.rrd" | tail -n1)
fsum=$(snmpget_q "ARTMON-MIB::artmonServerFirstSum.$idx" | sed 's/ .*//')
case $last in
*": $p50 $p90 "*" $fsum "*) am_log "ok: rrd holds $last" ;;
*) am_fail "rrd last update '$last' lacks p50 $p50, p90 $p90, sum $fsum" ;;
esac
[ -s "$AM_TMP/x.png" ] || am_fail "rrd-artmon.sh drew no graph"
echo PASS
