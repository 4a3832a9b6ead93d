#!/bin/sh
# examples/snmpd.conf.artmon works: snmpd accepts every line of it, the
# SNMPv3 user it describes reads ARTMON-MIB (authenticated and encrypted)
# but nothing outside its view, and the read-write user may write only
# below artmonAlarmTable, where it creates, changes and destroys rows.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond

# The example, pointed at this test's socket and sinks; the agentXPerms
# line names a group that may not exist here.
ex="$top_srcdir/examples/snmpd.conf.artmon"
sed -e "s|^agentXSocket .*|agentXSocket unix:$AGENTX_SOCKET|" \
	-e "s|^agentXPerms .*|agentXPerms 0777 0755|" \
	-e "s|^trap2sink .*|trap2sink 127.0.0.1:9 public|" \
	-e '/^master agentx/d' "$ex" >"$AM_TMP/example.conf"
# The users, as net-snmp-create-v3-user would create them (snmpd -C does
# not read the persistent file, so they go into the configuration).
cat >>"$AM_TMP/example.conf" <<EOC
createUser artmonro SHA-256 "auth pass phrase" AES "priv pass phrase"
createUser artmonrw SHA-256 "auth pass phrase" AES "priv pass phrase"
EOC
# Every non-comment line of the example goes into snmpd's configuration.
IFS='
'
set -f
# shellcheck disable=SC2046
snmpd_start $(grep -v '^#' "$AM_TMP/example.conf" | grep -v '^[[:space:]]*$')
set +f
unset IFS
if grep -Ei 'warning|error|unknown' "$SNMPD_LOG" | grep -v 'Created directory' >"$AM_TMP/bad"; then
	am_fail "snmpd complains about the example: $(cat "$AM_TMP/bad")"
fi
am_log "ok: snmpd accepts the example"

cap="$AM_TMP/loop.pcap"
make_loopback_capture "$cap" 1 10
artmond_start -r "$cap" --interval 10
artmond_wait_registered

v3() {
	_tool=$1 _user=$2
	shift 2
	"$_tool" -v3 -l authPriv -u "$_user" -a SHA-256 -A "auth pass phrase" -x AES -X "priv pass phrase" \
		-r 1 -t 2 -Ov -Oq "127.0.0.1:$SNMPD_PORT" "$@"
}
name=$(v3 snmpget artmonro .1.3.6.1.4.1.32473.1.1.2.0) || am_fail "SNMPv3 read of artmonSoftwareVersion.0 failed"
[ -n "$name" ] && ! echo "$name" | grep -q 'No Such' || am_fail "SNMPv3 user cannot read ARTMON-MIB: $name"
am_log "ok: artmonro reads ARTMON-MIB ($name)"
sysd=$(v3 snmpget artmonro .1.3.6.1.2.1.1.1.0)
echo "$sysd" | grep -q 'No Such' && am_fail "artmonro cannot read the system group"
outside=$(v3 snmpget artmonro .1.3.6.1.2.1.2.1.0)
echo "$outside" | grep -q 'No Such' || am_fail "artmonro reads outside its view: $outside"
am_log "ok: nothing outside the view"
# Without privacy the user is refused (priv is required).
if snmpget -v3 -l authNoPriv -u artmonro -a SHA-256 -A "auth pass phrase" -r 0 -t 1 \
	"127.0.0.1:$SNMPD_PORT" .1.3.6.1.4.1.32473.1.1.2.0 >"$AM_TMP/np" 2>&1; then
	grep -q 'No Such\|authorizationError' "$AM_TMP/np" || am_fail "authNoPriv accepted: $(cat "$AM_TMP/np")"
fi
# artmonrw may not write outside artmonAlarmTable.
if v3 snmpset artmonrw .1.3.6.1.2.1.1.5.0 s x >"$AM_TMP/set" 2>&1; then
	am_fail "artmonrw wrote sysName"
fi
am_log "ok: artmonrw cannot write outside artmonAlarmTable"
# ... and creates, suspends and destroys an alarm row (RowStatus).
a=.1.3.6.1.4.1.32473.1.9.3.1
v3 snmpset artmonrw "$a.16.42" i 4 "$a.7.42" i 2 "$a.9.42" u 200000 "$a.10.42" u 100000 \
	"$a.2.42" s "web p90" >"$AM_TMP/set" 2>&1 || am_fail "createAndGo refused: $(cat "$AM_TMP/set")"
assert_eq "artmonAlarmRowStatus.42 after createAndGo" active "$(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.42)"
assert_eq "artmonAlarmDescr.42" "web p90" "$(snmpget_q ARTMON-MIB::artmonAlarmDescr.42)"
if v3 snmpset artmonrw "$a.9.42" u 1 >"$AM_TMP/set" 2>&1; then
	am_fail "an active row was changed"
fi
grep -q inconsistentValue "$AM_TMP/set" || am_fail "expected inconsistentValue: $(cat "$AM_TMP/set")"
v3 snmpset artmonrw "$a.16.42" i 2 "$a.9.42" u 300000 >"$AM_TMP/set" 2>&1 || am_fail "notInService: $(cat "$AM_TMP/set")"
assert_eq "artmonAlarmRisingThreshold.42" 300000 "$(snmpget_q ARTMON-MIB::artmonAlarmRisingThreshold.42)"
snmptable_q ARTMON-MIB::artmonAlarmTable >"$AM_TMP/alarms" || am_fail "snmptable alarms"
grep -q '^42,web p90,unknown,"",0,,p90,first,300000,100000,risingAlarm,10,' "$AM_TMP/alarms" ||
	am_fail "alarm table: $(cat "$AM_TMP/alarms")"
v3 snmpset artmonrw "$a.16.42" i 6 >"$AM_TMP/set" 2>&1 || am_fail "destroy: $(cat "$AM_TMP/set")"
case $(snmpget_q ARTMON-MIB::artmonAlarmRowStatus.42) in
*"No Such"*) am_log "ok: alarm row created, changed out of service and destroyed" ;;
*) am_fail "row 42 still there" ;;
esac
# The read-only user cannot create rows.
if v3 snmpset artmonro "$a.16.43" i 5 >"$AM_TMP/set" 2>&1; then
	am_fail "artmonro created a row"
fi
echo PASS
