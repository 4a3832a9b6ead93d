#!/bin/sh
# The bound on exchange states (max_exchanges) has its counter in the
# capture table: with a pool of one state, artmond replaying http-nginx.pcap
# (eleven connections, several carrying data at once) shows in
# artmonCaptureExchangeCap the connections `artmon read` reports as "not
# timed (exchange states exhausted)" with the same configuration, and 0
# with the default pool.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond snmpget
ARTMON="$top_builddir/cli/artmon"
[ -x "$ARTMON" ] || am_skip "artmon not built"
cap="$top_srcdir/tests/captures/http-nginx.pcap"
[ -f "$cap" ] || am_skip "no $cap"

conf="$AM_TMP/tiny.conf"
printf 'artmon {\n\tmax_exchanges = 1;\n}\n' >"$conf"
"$ARTMON" read -c "$conf" "$cap" >/dev/null 2>"$AM_TMP/read.err" || am_fail "artmon read"
want=$(sed -n 's/.*exchange states exhausted): \([0-9]*\).*/\1/p' "$AM_TMP/read.err")
[ -n "$want" ] && [ "$want" -gt 0 ] || am_fail "artmon read reports no connection over max_exchanges = 1"

snmpd_start
artmond_start -c "$conf" -r "$cap" --interval 3600 --name exchange-cap
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
wait_until 30 replay_finished || am_fail "the replay did not finish"
assert_eq "artmonCaptureExchangeCap with max_exchanges = 1" "$want" \
	"$(snmpget_q ARTMON-MIB::artmonCaptureExchangeCap.1)"
artmond_stop

# The default pool (as many states as sessions) is never exhausted here.
printf 'artmon {\n}\n' >"$conf"
artmond_start -c "$conf" -r "$cap" --interval 3600 --name exchange-cap
artmond_wait_registered
wait_until 30 replay_finished || am_fail "the second replay did not finish"
assert_eq "artmonCaptureExchangeCap by default" 0 "$(snmpget_q ARTMON-MIB::artmonCaptureExchangeCap.1)"
echo "PASS: exchange-cap"
