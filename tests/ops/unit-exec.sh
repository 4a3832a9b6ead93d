#!/bin/sh
# The parts of examples/systemd/artmond.service that can run without
# systemd as PID 1: its ExecStart, as its User (nobody when the user artmon
# does not exist) with exactly its capabilities (ambient and bounding),
# NoNewPrivileges, SecureBits and UMask, in a mount namespace where the
# whole file system is read-only except the store (ProtectSystem=strict
# with ReadWritePaths).  artmond must join a private snmpd through its
# AgentX socket, capture live on lo, write its store with private files,
# and flush on SIGTERM.  (The seccomp, namespace and /proc settings are
# checked statically by tests/ops/systemd.sh.)
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond setpriv unshare curl
[ "$(id -u)" = 0 ] || am_skip "changing user and mount namespaces need root"
unit="$top_srcdir/examples/systemd/artmond.service"
setting() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }

user=$(setting User)
group=$(setting Group)
if ! id "$user" >/dev/null 2>&1; then
	am_log "no user $user here: running as nobody"
	user=nobody
	group=$(id -gn nobody)
fi
caps=$(setting AmbientCapabilities)
assert_eq "AmbientCapabilities" "CAP_NET_RAW CAP_NET_ADMIN" "$caps"
assert_eq "CapabilityBoundingSet" "$caps" "$(setting CapabilityBoundingSet)"
capset=$(echo "$caps" | tr 'A-Z' 'a-z' | sed 's/cap_//g; s/^/+/; s/ /,+/g')
umask_v=$(setting UMask)
state=$(setting StateDirectory)
rw=$(setting ReadWritePaths)
assert_eq "ReadWritePaths is the StateDirectory" "/var/lib/$state" "$rw"
[ "$(setting ProtectSystem)" = strict ] || am_fail "ProtectSystem is not strict"

# StateDirectory=: systemd creates it for the user with StateDirectoryMode.
store="$AM_TMP/lib/$state"
mkdir -p "$store"
chown "$user:$group" "$store"
chmod "$(setting StateDirectoryMode)" "$store"

# ExecStart with this build's paths, live on lo, the test's AgentX socket.
exec_start=$(setting ExecStart)
args=$(echo "$exec_start" | sed -e "s|^/usr/sbin/artmond |$ARTMOND |" \
	-e "s|-c /etc/artmon/artmon.conf|-c $top_srcdir/rules/conf/artmon.conf|" \
	-e "s|-s $rw|-s $store|" \
	-e "s|\\\$ARTMOND_OPTS|-i lo -x $AGENTX_SOCKET --interval 10 --name unit-test|")
case $args in "$ARTMOND -f "*"-s $store "*) ;; *) am_fail "unexpected ExecStart: $exec_start" ;; esac
am_log "running: $args"

snmpd_start
# ProtectSystem=strict + ReadWritePaths: everything read-only but the store.
# shellcheck disable=SC2086
unshare -m --propagation private sh -c '
	store=$1; umask_v=$2; user=$3; group=$4; capset=$5; shift 5
	mount --bind "$store" "$store" && mount -o remount,bind,ro / || exit 99
	umask "$umask_v"
	exec setpriv --reuid "$user" --regid "$group" --clear-groups \
		--inh-caps "$capset" --ambient-caps "$capset" --bounding-set "-all,$capset" \
		--no-new-privs --securebits +noroot,+noroot_locked "$@"
' sh "$store" "$umask_v" "$user" "$group" "$capset" $args >>"$ARTMOND_LOG" 2>&1 &
ARTMOND_PID=$!
artmond_wait_registered
assert_eq "sensor name" unit-test "$(snmpget_q ARTMON-MIB::artmonSensorName.0 | tr -d '"')"
st="/proc/$ARTMOND_PID/status"
assert_eq "uid" "$(id -u "$user")" "$(awk '/^Uid:/ { print $2 }' "$st")"
assert_eq "effective capabilities" 0000000000003000 "$(awk '/^CapEff:/ { print $2 }' "$st")"
assert_eq "bounding set" 0000000000003000 "$(awk '/^CapBnd:/ { print $2 }' "$st")"
assert_eq "ambient set" 0000000000003000 "$(awk '/^CapAmb:/ { print $2 }' "$st")"
assert_eq "NoNewPrivs" 1 "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")"

# Live traffic on lo is measured.
mkdir -p "$AM_TMP/www" && echo hi >"$AM_TMP/www/index.html"
port=$(free_port tcp)
python3 -m http.server "$port" --bind 127.0.0.1 -d "$AM_TMP/www" >"$AM_TMP/http.log" 2>&1 &
http=$!
AM_CLEANUP_HOOK="kill $http 2>/dev/null"
wait_until 5 curl -s -o /dev/null "http://127.0.0.1:$port/" || am_fail "http server"
for i in 1 2 3 4 5; do curl -s -o /dev/null "http://127.0.0.1:$port/index.html"; done
idx=$(server_index 127.0.0.1 "$port")
counted() { [ "$(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx" 2>/dev/null)" -ge 5 ] 2>/dev/null; }
wait_until 15 counted || am_fail "live traffic not counted: $(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")"
am_log "ok: live capture on lo under the unit's identity: $(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx") transactions"

# SIGTERM (systemctl stop): flush and exit 0; the store is private.
kill -TERM "$ARTMOND_PID"
wait "$ARTMOND_PID"
rc=$?
ARTMOND_PID=""
assert_eq "exit status after SIGTERM" 0 "$rc"
[ -s "$store/data.mdb" ] || am_fail "no store: $(ls -la "$store")"
for f in "$store"/*; do
	assert_eq "mode of ${f##*/}" 600 "$(stat -c %a "$f")"
	assert_eq "owner of ${f##*/}" "$user" "$(stat -c %U "$f")"
done
grep -qi 'read-only\|permission denied' "$ARTMOND_LOG" && am_fail "artmond tried to write outside its store: $(grep -i 'read-only\|permission denied' "$ARTMOND_LOG")"
echo PASS
