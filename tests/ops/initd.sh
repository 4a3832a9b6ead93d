#!/bin/sh
# examples/init.d/artmond: start (live on lo, as root, through a private
# snmpd), status, reload, stop.  artmond must detach, drop to the
# unprivileged user with only CAP_NET_RAW and CAP_NET_ADMIN, register,
# count traffic, reload on `reload`, flush and exit on `stop`.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond curl
[ "$(id -u)" = 0 ] || am_skip "live capture and the privilege drop need root"
id nobody >/dev/null 2>&1 || am_skip "no user nobody"
snmpd_start

user=nobody
id artmon >/dev/null 2>&1 && user=artmon
initd() {
	env DAEMON="$ARTMOND" ARTMOND_DEFAULTS=/dev/null ARTMOND_USER=$user \
		ARTMOND_CONF="$top_srcdir/rules/conf/artmon.conf" ARTMOND_STORE="$AM_TMP/store" \
		ARTMOND_RUNDIR="$AM_TMP/run" ARTMOND_OPTS="-i lo -x $AGENTX_SOCKET --interval 10 --name initd-test" \
		sh "$top_srcdir/examples/init.d/artmond" "$@" >"$AM_TMP/initd.out" 2>&1
}

initd start || am_fail "init.d start: $(cat "$AM_TMP/initd.out")"
ARTMOND_PID=$(cat "$AM_TMP/run/artmond.pid")   # stopped by the cleanup on failure
# Like /run: only root writes there; artmond created the file before it
# dropped its privileges.
assert_eq "pid file directory owner" root "$(stat -c %U "$AM_TMP/run")"
am_log "started: $(cat "$AM_TMP/initd.out")"
artmond_wait_registered
assert_eq "sensor name" initd-test "$(snmpget_q ARTMON-MIB::artmonSensorName.0 | tr -d '"')"
initd status || am_fail "status of a running artmond: $(cat "$AM_TMP/initd.out")"
initd start || am_fail "second start: $(cat "$AM_TMP/initd.out")"
grep -q 'already running' "$AM_TMP/initd.out" || am_fail "second start did not notice: $(cat "$AM_TMP/initd.out")"

# Detached, unprivileged, only the two capabilities.
assert_eq "user" "$user" "$(ps -o user= -p "$ARTMOND_PID" | tr -d ' ')"
assert_eq "parent" 1 "$(ps -o ppid= -p "$ARTMOND_PID" | tr -d ' ')"
capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$ARTMOND_PID/status")
assert_eq "effective capabilities (CAP_NET_ADMIN|CAP_NET_RAW)" 0000000000003000 "$capeff"

# Traffic on lo is counted.
mkdir -p "$AM_TMP/www" && echo hi >"$AM_TMP/www/index.html"
port=$(free_port tcp)
python3 -m http.server "$port" --bind 127.0.0.1 -d "$AM_TMP/www" >"$AM_TMP/http.log" 2>&1 &
http=$!
AM_CLEANUP_HOOK="kill $http 2>/dev/null"
wait_until 5 curl -s -o /dev/null "http://127.0.0.1:$port/" || am_fail "http server"
for i in 1 2 3 4 5; do curl -s -o /dev/null "http://127.0.0.1:$port/index.html"; done
idx=$(server_index 127.0.0.1 "$port")
counted() { [ "$(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx" 2>/dev/null)" -ge 5 ] 2>/dev/null; }
wait_until 15 counted || am_fail "transactions of 127.0.0.1:$port: $(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")"
am_log "ok: live traffic counted: $(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")"

# reload: SIGHUP, a new configuration load time.
t0=$(snmpget_q ARTMON-MIB::artmonConfigLoadTime.0)
sleep 1.1
initd reload || am_fail "reload: $(cat "$AM_TMP/initd.out")"
reloaded() { [ "$(snmpget_q ARTMON-MIB::artmonConfigLoadTime.0)" != "$t0" ]; }
wait_until 10 reloaded || am_fail "artmonConfigLoadTime stayed $t0 after reload"
assert_eq "reload result" ok "$(snmpget_q ARTMON-MIB::artmonConfigLoadResult.0)"
kill -0 "$ARTMOND_PID" || am_fail "artmond died on reload"

# stop: the process is gone, the status says so, the store holds data.
initd stop || am_fail "stop: $(cat "$AM_TMP/initd.out")"
kill -0 "$ARTMOND_PID" 2>/dev/null && am_fail "artmond still runs after stop"
ARTMOND_PID=""
[ -e "$AM_TMP/run/artmond.pid" ] && am_fail "pid file left after stop"
initd status
assert_eq "status of a stopped artmond" 3 "$?"
[ -s "$AM_TMP/store/data.mdb" ] || am_fail "no store after stop: $(ls -l "$AM_TMP/store")"
assert_eq "store owner" "$user" "$(stat -c %U "$AM_TMP/store")"
initd bogus
assert_eq "unknown action" 2 "$?"
echo PASS
