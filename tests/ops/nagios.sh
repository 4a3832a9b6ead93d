#!/bin/sh
# examples/nagios/ with real check_snmp: the command line of the
# check_artmon command (commands.cfg) and the OIDs and thresholds of the
# services (services.cfg), run
# against a private snmpd + artmond replaying a capture of 192.0.2.10:80
# (the example's own server) with 5 answered requests (p90 10 ms) and 3
# reset by the server.  The OIDs must be the objects the comments name;
# the error count (tests/agent/clients.sh covers p90) gives OK, WARNING
# and CRITICAL on either side of its thresholds.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond stdmibs snmptranslate
PLUGINS=${NAGIOS_PLUGINS:-/usr/lib/nagios/plugins}
[ -x "$PLUGINS/check_snmp" ] || am_skip "check_snmp not installed (monitoring-plugins-standard)"
cmds="$top_srcdir/examples/nagios/commands.cfg"
cfg="$top_srcdir/examples/nagios/services.cfg"

python3 "$top_srcdir/tests/ops/mkerrors.py" "$AM_TMP/errors.pcap" 5 3 || am_fail "mkerrors.py"
snmpd_start
artmond_start -c "$top_srcdir/rules/conf/artmon.conf" -r "$AM_TMP/errors.pcap" --interval 10
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
wait_until 20 replay_finished || am_fail "the replay did not finish"
idx=1.4.192.0.2.10.80
assert_eq "errors in the last interval" 3 "$(snmpget_q "ARTMON-MIB::artmonServerIntErrors.$idx")"
assert_eq "p90 in the last interval" 10000 "$(snmpget_q -OU "ARTMON-MIB::artmonServerIntFirstP90.$idx")"

# The command as the example defines it; the test's snmpd listens on its
# own port, which the example leaves at check_snmp's default (161).
cmdline=$(sed -n 's/^[[:space:]]*command_line[[:space:]]*//p' "$cmds" | head -n 1)
case $cmdline in
*check_snmp*'$ARG1$'*'$ARG2$'*'$ARG3$'*) ;;
*) am_fail "unexpected command_line in $cmds: $cmdline" ;;
esac
# run_cmd OID WARN CRIT: prints the exit status of the example's command.
run_cmd() {
	_c=$(printf '%s\n' "$cmdline" | sed -e "s|\\\$USER1\\\$|$PLUGINS|" -e 's|\$HOSTADDRESS\$|127.0.0.1|' \
		-e "s|\\\$ARG1\\\$|$1|" -e "s|\\\$ARG2\\\$|$2|" -e "s|\\\$ARG3\\\$|$3|")
	# shellcheck disable=SC2086
	$_c -p "$SNMPD_PORT" >"$AM_TMP/check.out" 2>&1
	echo $?
}

# Every service of the example: its OID names what its comment says, and
# check_snmp gives the status the thresholds call for.
sed -n 's/^[[:space:]]*check_command[[:space:]]*check_artmon!//p' "$cfg" >"$AM_TMP/services"
[ "$(wc -l <"$AM_TMP/services")" -ge 3 ] || am_fail "expected 3 services in $cfg"
while IFS='!' read -r oid warn crit; do
	name=$(snmptranslate -M "$AM_MIBDIRS" -m ARTMON-MIB ".$oid" 2>&1)
	case $name in
	ARTMON-MIB::artmonServerIntFirstP90.ipv4.\"192.0.2.10\".80) want=0 ;;   # 10000 us < 200000
	ARTMON-MIB::artmonServerIntErrors.ipv4.\"192.0.2.10\".80) want=0 ;;     # 3 <= 4
	ARTMON-MIB::artmonCaptureState.1) want=2 ;;   # a finished replay is not up(1)
	*) am_fail "service OID $oid is $name, not an object the example describes" ;;
	esac
	got=$(run_cmd "$oid" "$warn" "$crit")
	[ "$got" = "$want" ] || am_fail "$name -w $warn -c $crit: status $got, expected $want: $(cat "$AM_TMP/check.out")"
	am_log "ok: example service $name: $(head -n 1 "$AM_TMP/check.out")"
done <"$AM_TMP/services"

# The error count on either side of the thresholds (3 errors).
eoid=$(grep -o '1\.3\.6\.1\.4\.1\.32473\.1\.5\.1\.22\.[0-9.]*' "$cfg" | head -n 1)
[ -n "$eoid" ] || am_fail "no artmonServerIntErrors OID in $cfg"
assert_eq "errors 3, -w 3 -c 5 (OK)" 0 "$(run_cmd "$eoid" 3 5)"
grep -q ' 3' "$AM_TMP/check.out" || am_fail "check_snmp output lacks the value: $(cat "$AM_TMP/check.out")"
assert_eq "errors 3, -w 2 -c 5 (WARNING)" 1 "$(run_cmd "$eoid" 2 5)"
assert_eq "errors 3, -w 1 -c 2 (CRITICAL)" 2 "$(run_cmd "$eoid" 1 2)"
# p90 either side with the example's command line too.
poid=$(grep -o '1\.3\.6\.1\.4\.1\.32473\.1\.5\.1\.26\.[0-9.]*' "$cfg" | head -n 1)
assert_eq "p90 10000, -w 9999 -c 20000 (WARNING)" 1 "$(run_cmd "$poid" 9999 20000)"
assert_eq "p90 10000, -w 5000 -c 9999 (CRITICAL)" 2 "$(run_cmd "$poid" 5000 9999)"
# A row that does not exist: UNKNOWN or CRITICAL, never OK.
st=$(run_cmd "${eoid%.80}.81" 4 49)
[ "$st" = 2 ] || [ "$st" = 3 ] || am_fail "a missing row gave status $st: $(cat "$AM_TMP/check.out")"
am_log "ok: missing row: status $st"
echo PASS
