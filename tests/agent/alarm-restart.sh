#!/bin/sh
# The hysteresis state survives a restart of artmond: the alarm series of
# tests/agent/alarm.sh replayed in two halves by two runs of artmond on the
# same store.  The first run (intervals 0 to 4) sends the rising
# notification at interval 3; the second (5 to 9) starts with 10.1.0.1:80
# still slow (interval 6) and must not send it again, only the falling one
# at interval 7.  Changing the alarm row while artmond is stopped makes it
# start over.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond snmptrapd stdmibs

for half in "0 4" "5 9"; do
	set -- $half
	python3 "$top_srcdir/tests/agent/mkseries.py" alarm "$AM_TMP/s$1.pcap" "$1" "$2" >/dev/null ||
		am_fail "mkseries.py"
done
conf() {
	cat >"$AM_TMP/artmon.conf" <<EOF2
artmon {
	alarm 7 {
		server = "10.1.0.1";
		statistic = p90;
		rising = $1;
		falling = 100ms;
	}
}
generic {
	include "$top_srcdir/rules/conf/http.conf";
}
EOF2
}
A='\.1\.3\.6\.1\.4\.1\.32473'
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
run() {
	artmond_start -c "$AM_TMP/artmon.conf" -r "$1" --interval 10
	artmond_wait_registered
	wait_until 20 replay_finished || am_fail "the replay of $1 did not finish"
	sleep 1
	artmond_stop
}
conf 200ms
snmptrapd_start
snmpd_start
run "$AM_TMP/s0.pcap"
assert_eq "rising after the first half" 1 "$(trap_count "= $A\.0\.1(\||$)")"
assert_eq "falling after the first half" 0 "$(trap_count "= $A\.0\.2(\||$)")"
run "$AM_TMP/s5.pcap"
assert_eq "rising after the second half" 1 "$(trap_count "= $A\.0\.1(\||$)")"
assert_eq "falling after the second half" 1 "$(trap_count "= $A\.0\.2(\||$)")"

# A changed row starts over: the same second half with another rising
# threshold sends the startup rising notification at interval 6.
rm -rf "$AM_TMP/store"
conf 200ms
run "$AM_TMP/s0.pcap"
conf 250ms
run "$AM_TMP/s5.pcap"
assert_eq "rising with the changed row" 3 "$(trap_count "= $A\.0\.1(\||$)")"
echo PASS
