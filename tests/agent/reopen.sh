#!/bin/sh
# A live interface that vanishes is reopened with backoff: the capture row
# goes to reopening, comes back up when the interface returns, counts the
# reopen, and its counters do not go backwards.  artmond runs unprivileged
# (it keeps only the capabilities a capture handle needs).
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond ip
[ "$(id -u)" = 0 ] || am_skip "needs root (veth interfaces)"

ifa="amr$$"
ifb="ams$$"
mkif() {
	ip link add "$ifa" type veth peer name "$ifb" && ip link set "$ifa" up && ip link set "$ifb" up
}
cleanup_if() { ip link del "$ifa" 2>/dev/null; true; }
mkif || am_skip "cannot create veth interfaces"
AM_CLEANUP_HOOK=cleanup_if

snmpd_start
"$ARTMOND" -f -i "$ifa" -x "$AGENTX_SOCKET" -s none --interval 10 >>"$ARTMOND_LOG" 2>&1 &
ARTMOND_PID=$!
artmond_wait_registered
state() { snmpget_q ARTMON-MIB::artmonCaptureState.1; }
assert_eq "state at start" up "$(state)"
uid=$(awk '/^Uid:/ { print $3 }' "/proc/$ARTMOND_PID/status")
[ "$uid" != 0 ] || am_fail "artmond still runs as root"

# Some traffic on the interface (IPv6 router solicitations and the like
# appear by themselves; send a few frames to be sure).
python3 - "$ifb" <<'PY' || true
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for i in range(20):
    s.send(b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x09" + b"\x08\x06" + b"\x00" * 28)
PY
got() { [ "$(snmpget_q ARTMON-MIB::artmonCapturePackets.1)" -ge 20 ]; }
wait_until 5 got || am_fail "frames on $ifa not counted: $(snmpget_q ARTMON-MIB::artmonCapturePackets.1)"
before=$(snmpget_q ARTMON-MIB::artmonCapturePackets.1)

ip link del "$ifa"
reopening() { [ "$(state)" = reopening ]; }
wait_until 5 reopening || am_fail "state after the interface vanished: $(state)"
am_log "ok: reopening"
sleep 2
mkif || am_fail "cannot recreate $ifa"
up() { [ "$(state)" = up ]; }
wait_until 40 up || am_fail "the interface was not reopened: $(state); $(tail -3 "$ARTMOND_LOG")"
assert_eq "artmonCaptureReopens" 1 "$(snmpget_q ARTMON-MIB::artmonCaptureReopens.1)"
after=$(snmpget_q ARTMON-MIB::artmonCapturePackets.1)
[ "$after" -ge "$before" ] || am_fail "packets went backwards: $before -> $after"
kill -0 "$ARTMOND_PID" || am_fail "artmond died"
echo PASS
