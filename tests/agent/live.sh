#!/bin/sh
# artmond capturing live on lo: started as root it drops to an unprivileged
# user after opening the interface and the store, writes its pidfile,
# measures real requests to a local server and serves them; SIGTERM
# flushes the open interval to the store and removes the pidfile.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond curl
[ "$(id -u)" = 0 ] || am_skip "live capture needs root"

mkdir -p "$AM_TMP/www"
echo hello >"$AM_TMP/www/index.html"
port=$(free_port tcp)
python3 -m http.server "$port" --bind 127.0.0.1 -d "$AM_TMP/www" >"$AM_TMP/http.log" 2>&1 &
httpd=$!
wait_until 5 curl -s -o /dev/null "http://127.0.0.1:$port/" || am_fail "http server did not start"

snmpd_start
store="$AM_TMP/store"
# The pidfile lives where the unprivileged user may remove it.
mkdir -p "$AM_TMP/run"
chmod 1777 "$AM_TMP/run" "$AM_TMP"
"$ARTMOND" -f -i lo -x "$AGENTX_SOCKET" -s "$store" -p "$AM_TMP/run/artmond.pid" \
	--filter "tcp port $port" --interval 10 >>"$ARTMOND_LOG" 2>&1 &
ARTMOND_PID=$!
artmond_wait_registered
wait_until 5 test -s "$AM_TMP/run/artmond.pid" || am_fail "no pidfile"
assert_eq "pidfile" "$ARTMOND_PID" "$(cat "$AM_TMP/run/artmond.pid")"

# Privileges: not root any more, and the store belongs to that user.
uid=$(awk '/^Uid:/ { print $3 }' "/proc/$ARTMOND_PID/status")
[ "$uid" != 0 ] || am_fail "artmond still runs as root"
want=$(id -u artmon 2>/dev/null || id -u nobody)
assert_eq "effective uid" "$want" "$uid"
assert_eq "store owner" "$want" "$(stat -c %u "$store")"

assert_eq "artmonCaptureKind.1" interface "$(snmpget_q ARTMON-MIB::artmonCaptureKind.1)"
assert_eq "artmonCaptureState.1" up "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)"
for i in 1 2 3 4 5; do
	curl -s -o /dev/null "http://127.0.0.1:$port/index.html" || am_fail "curl"
done
idx=$(server_index 127.0.0.1 "$port")
# Totals include the open interval; the snapshot refreshes within a second
# and the tracker reports a response once the connection closes.
five() { [ "$(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")" = 5 ]; }
wait_until 10 five || am_fail "transactions of 127.0.0.1:$port: $(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")"
am_log "ok: 5 live transactions"
pk=$(snmpget_q ARTMON-MIB::artmonCapturePackets.1)
[ "$pk" -ge 50 ] || am_fail "only $pk packets counted on lo"

# kill -9 while live, after an interval was flushed: the restarted artmond
# resumes from that flush and artmonCounterDiscontinuityTime says so.
flushed() { [ "$(snmpget_q ARTMON-MIB::artmonStoreFlushes.0)" -ge 1 ]; }
wait_until 15 flushed || am_fail "no flush within an interval"
disc=$(snmpget_q ARTMON-MIB::artmonCounterDiscontinuityTime.0)
kill -KILL "$ARTMOND_PID"
wait "$ARTMOND_PID" 2>/dev/null
"$ARTMOND" -f -i lo -x "$AGENTX_SOCKET" -s "$store" -p "$AM_TMP/run/artmond.pid" \
	--filter "tcp port $port" --interval 10 >>"$ARTMOND_LOG" 2>&1 &
ARTMOND_PID=$!
artmond_wait_registered
grep -q 'not closed cleanly' "$ARTMOND_LOG" || am_fail "the store did not notice the unclean stop"
disc2=$(snmpget_q ARTMON-MIB::artmonCounterDiscontinuityTime.0)
[ "$disc2" != "$disc" ] || am_fail "artmonCounterDiscontinuityTime did not change after kill -9 ($disc)"
am_log "ok: discontinuity $disc -> $disc2 after kill -9"
# the MIB view is built in steps after the start: a row appears within
# about a second (artmond(8)), so wait for it before reading its value
row_back() { snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx" | grep -qv 'No Such'; }
wait_until 10 row_back || true
assert_eq "transactions resumed from the flush" 5 "$(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")"
for i in 1 2; do
	curl -s -o /dev/null "http://127.0.0.1:$port/index.html" || am_fail "curl"
done
seven() { [ "$(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")" = 7 ]; }
wait_until 10 seven || am_fail "transactions after the restart: $(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")"

# SIGTERM: the open interval is flushed (a store record appears) and the
# pidfile is removed.
kill -TERM "$ARTMOND_PID"
wait "$ARTMOND_PID"
rc=$?
ARTMOND_PID=""
assert_eq "exit status after SIGTERM" 0 "$rc"
[ ! -e "$AM_TMP/run/artmond.pid" ] || am_fail "pidfile left behind"
if [ -x "$top_builddir/cli/artmon" ]; then
	"$top_builddir/cli/artmon" store -s "$store" show -F csv >"$AM_TMP/show.csv" 2>"$AM_TMP/show.err" ||
		am_fail "artmon store show: $(cat "$AM_TMP/show.err")"
	grep -q "127.0.0.1" "$AM_TMP/show.csv" || am_fail "no record of 127.0.0.1:$port in the store: $(head -5 "$AM_TMP/show.csv")"
	am_log "ok: the open interval was flushed"
fi
stop_pid "$httpd"
echo PASS
