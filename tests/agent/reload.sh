#!/bin/sh
# artmond with a configuration: -n checks it (exit status and file:line:col
# messages), the rules name signatures in the signature table, and SIGHUP
# reloads it; a bad file keeps the previous rules and the MIB says so.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond stdmibs

cap="$AM_TMP/loop.pcap"
make_loopback_capture "$cap" 1 10
conf="$AM_TMP/artmon.conf"
good() {
	cat >"$conf" <<EOC
artmon {
	interval = 10s;
	sensor = "cfg-sensor";
}
generic {
	rule web {
		Summarise_by = "ip";
		Server_port = $CAP_PORT4;
		transaction GET { Offset = 0; Depth = 4; Content = "GET "; }
	}
}
EOC
}
good

# -n: a good file passes, a bad one fails with its place.
"$ARTMOND" -n -s none -x "$AM_TMP/nomaster.sock" -c "$conf" >"$AM_TMP/n.out" 2>&1 || am_fail "-n on a good file: $(cat "$AM_TMP/n.out")"
printf 'generic {\n\trule broken {\n\t\tServer_port = ;\n\t}\n}\n' >"$AM_TMP/bad.conf"
if "$ARTMOND" -n -s none -x "$AM_TMP/nomaster.sock" -c "$AM_TMP/bad.conf" >"$AM_TMP/n.out" 2>&1; then
	am_fail "-n accepted a bad file"
fi
grep -q "bad.conf:3:[0-9]*:" "$AM_TMP/n.out" || am_fail "-n gave no file:line:col: $(cat "$AM_TMP/n.out")"
am_log "ok: -n"

snmpd_start
artmond_start -c "$conf" -r "$cap"
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
wait_until 20 replay_finished || am_fail "the replay did not finish"
assert_eq "artmonConfigFile" "$conf" "$(snmpget_q ARTMON-MIB::artmonConfigFile.0)"
assert_eq "artmonConfigLoadResult" ok "$(snmpget_q ARTMON-MIB::artmonConfigLoadResult.0)"
assert_eq "artmonSummaryInterval (from the file)" "10 seconds" "$(snmpget_q ARTMON-MIB::artmonSummaryInterval.0)"
assert_eq "artmonSensorName (from the file)" cfg-sensor "$(snmpget_q ARTMON-MIB::artmonSensorName.0)"
# The rule names the GET requests of the IPv4 server.
idx4=$(server_index 127.0.0.1 "$CAP_PORT4")
snmpwalk_q ARTMON-MIB::artmonSignatureName >"$AM_TMP/names"
grep -q "^artmonSignatureName\.$idx4\.[1-9][0-9]* = GET\$" "$AM_TMP/names" ||
	am_fail "no GET signature for 127.0.0.1:$CAP_PORT4: $(cat "$AM_TMP/names")"
assert_eq "artmonServerRules" web "$(snmpget_q "ARTMON-MIB::artmonServerRules.$idx4")"
am_log "ok: the rule names signatures"

# A bad reload keeps the old rules and is reported.
t0=$(snmpget_q ARTMON-MIB::artmonConfigLoadTime.0)
printf 'generic {\n\trule web {\n\t\tServer_port = 80\n\t}\n' >"$conf"
kill -HUP "$ARTMOND_PID"
failed() { [ "$(snmpget_q ARTMON-MIB::artmonConfigLoadResult.0)" = failedKeptPrevious ]; }
wait_until 5 failed || am_fail "a bad reload is not reported"
assert_eq "artmonConfigLoadFailures" 1 "$(snmpget_q ARTMON-MIB::artmonConfigLoadFailures.0)"
msg=$(snmpget_q ARTMON-MIB::artmonConfigLoadMessage.0)
case $msg in
"$conf":[0-9]*:[0-9]*:*) am_log "ok: message $msg" ;;
*) am_fail "message without file:line:col: $msg" ;;
esac
[ "$(snmpget_q ARTMON-MIB::artmonConfigLoadTime.0)" != "$t0" ] || am_fail "load time did not change"
kill -0 "$ARTMOND_PID" || am_fail "artmond died on a bad reload"

# A good reload clears it.
good
kill -HUP "$ARTMOND_PID"
ok() { [ "$(snmpget_q ARTMON-MIB::artmonConfigLoadResult.0)" = ok ]; }
wait_until 5 ok || am_fail "a good reload is not reported"
assert_eq "artmonConfigLoadMessage after a good reload" "" "$(snmpget_q ARTMON-MIB::artmonConfigLoadMessage.0)"
echo PASS
