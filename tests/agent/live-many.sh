#!/bin/sh
# artmond capturing live on many interfaces (more than 32, up to the 64 it
# accepts) waits in poll() on every interface's descriptor, so that a frame
# on the last interface wakes it like a frame on the first (it waited only
# on the first 32: the others were read when something else woke it, up to
# a second later).  40 veth pairs in a network namespace; artmond's poll()
# is read from /proc/PID/syscall while it waits (x86_64 and aarch64).
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond ip
[ "$(id -u)" = 0 ] || am_skip "live capture and network namespaces need root"
case $(uname -m) in
	x86_64) POLL=7 ;;          # poll(fds, nfds, timeout)
	aarch64) POLL=73 ;;        # ppoll(fds, nfds, ...)
	*) am_skip "poll's system call number unknown on $(uname -m)" ;;
esac
NS="artmon-many-$$"
ip netns add "$NS" || am_skip "cannot create a network namespace"
AM_CLEANUP_HOOK='ip netns del "$NS" 2>/dev/null'
N=40
ifaces=""
i=1
while [ $i -le $N ]; do
	ip -n "$NS" link add "m$i" type veth peer name "p$i" || am_fail "veth pair $i"
	ip -n "$NS" link set "m$i" up || am_fail "link up m$i"
	ip -n "$NS" link set "p$i" up || am_fail "link up p$i"
	ifaces="$ifaces${ifaces:+,}m$i"
	i=$((i + 1))
done
# 1 MB of kernel buffer per interface (not 64), no store, no master agent.
printf 'artmon {\n\tbuffer = 1M;\n}\n' >"$AM_TMP/many.conf"
ip netns exec "$NS" "$ARTMOND" -f -D main -c "$AM_TMP/many.conf" -s none -u root \
	-x "$AM_TMP/nomaster.sock" -i "$ifaces" >>"$ARTMOND_LOG" 2>&1 &
ARTMOND_PID=$!
wait_until 20 grep -q "started: $N interface" "$ARTMOND_LOG" ||
	am_fail "artmond did not start on $N interfaces"

# nfds of the poll() artmond waits in: the second field of the syscall
# line.  The most of ten looks (a look may fall on the short poll of SNMP
# alone between two slices of work).
nfds=0
polled() {
	# shellcheck disable=SC2046
	set -- $(cat "/proc/$ARTMOND_PID/syscall" 2>/dev/null)
	[ "${1:-}" = "$POLL" ] || return 1
	[ $(( $3 )) -gt "$nfds" ] && nfds=$(( $3 ))
	return 0
}
wait_until 10 polled || am_fail "artmond is not seen waiting in poll: $(cat "/proc/$ARTMOND_PID/syscall")"
_k=0
while [ $_k -lt 9 ]; do
	sleep 0.1
	polled
	_k=$((_k + 1))
done
[ "$nfds" -ge "$N" ] || am_fail "artmond polls $nfds descriptors: not every one of its $N interfaces"
am_log "ok: artmond waits on $nfds descriptors for $N interfaces"
echo "PASS: live-many"
