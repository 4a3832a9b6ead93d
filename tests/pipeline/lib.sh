# Shared by the tests in tests/pipeline/ (sourced, bash): real servers in a
# private pair of network namespaces joined by a veth link (MTU 1500,
# offloads off, as scripts/mkcaptures sets it up), traffic captured on the
# server's side with tcpdump at full snaplen, then read by artmon with the
# shipped rules (tests/captures-lib.sh: cap_read, cap_artmon).
#
#   pl_init NAME TOOLS...  skip (77) unless root, jq, tcpdump, ip, TOOLS;
#                          work directory $pl_work; cleanup on exit
#   pl_net                 namespaces $pl_nsc (client, $pl_c4) and
#                          $pl_nss (server, $pl_s4)
#   pl_c CMD... / pl_s CMD...   run in the client / server namespace
#   pl_bg NAME CMD...      start a daemon in the server namespace (stopped
#                          on exit, in reverse order)
#   pl_wait_port PORT      until a connection from the client works
#   pl_cap_start / pl_cap_stop   capture to $pl_work/cap.pcap
#   pl_read                artmon's transactions (JSON Lines) into
#                          $pl_work/txn.jsonl, its counters into
#                          $pl_work/read.err; fails on a framing loss
#                          (but over the pending bound with allow-pending)
#   pl_fail MSG / pl_ok MSG     report; a failure keeps the capture
#   pl_end                 exit 0 or 1; on failure the capture and the
#                          server logs are kept in /tmp/pipeline-NAME.*
set -u
pl_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$pl_here/../captures-lib.sh"

pl_name=
pl_work=
pl_rc=0
pl_pids=()
pl_tcpdump=
pl_nsc=
pl_nss=
pl_c4=10.97.0.1
pl_s4=10.97.0.2
pl_cleanup_hook=:

pl_skip() { echo "SKIP: $pl_name: $*"; exit 77; }
pl_fail() { echo "FAIL: $pl_name: $*"; pl_rc=1; }
pl_ok() { echo "ok: $pl_name: $*"; }

pl_init() {
	local t
	pl_name=$1; shift
	[ "$(id -u)" = 0 ] || pl_skip "needs root (network namespaces, tcpdump)"
	for t in ip tcpdump jq ethtool "$@"; do
		command -v "$t" >/dev/null || pl_skip "$t not found (scripts/install-deps)"
	done
	cap_artmon >/dev/null || pl_skip "artmon not built"
	pl_work=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-$pl_name.XXXXXX")
	chmod 755 "$pl_work"
	trap pl_cleanup EXIT
	trap 'exit 130' INT TERM
}

pl_cleanup() {
	local rc=$? i entry p
	set +e
	if [ -n "$pl_tcpdump" ]; then
		kill -TERM "$pl_tcpdump" 2>/dev/null; wait "$pl_tcpdump" 2>/dev/null
	fi
	$pl_cleanup_hook
	for ((i=${#pl_pids[@]}-1; i>=0; i--)); do
		entry=${pl_pids[$i]}
		kill -TERM "${entry#*:}" 2>/dev/null
		wait "${entry#*:}" 2>/dev/null
	done
	for ns in $pl_nss $pl_nsc; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
	done
	sleep 0.1
	for ns in $pl_nss $pl_nsc; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$rc" = 1 ] && [ -d "$pl_work" ]; then
		echo "$pl_name: capture and logs kept in $pl_work"
	elif [ -n "$pl_work" ]; then
		rm -rf "$pl_work"
	fi
	exit $rc
}

pl_c() { ip netns exec "$pl_nsc" "$@"; }
pl_s() { ip netns exec "$pl_nss" "$@"; }

pl_net() {
	local tag=$$ vc vs ns
	pl_nsc=ampl-c-$tag
	pl_nss=ampl-s-$tag
	vc=amplc$tag vs=ampls$tag
	ip netns add "$pl_nsc" 2>/dev/null || pl_skip "cannot create a network namespace"
	ip netns add "$pl_nss" || pl_skip "cannot create a network namespace"
	ip link add "$vc" type veth peer name "$vs" || pl_skip "cannot create a veth pair"
	ip link set "$vc" netns "$pl_nsc"
	ip link set "$vs" netns "$pl_nss"
	pl_vs=$vs
	for ns in "$pl_nsc" "$pl_nss"; do
		ip netns exec "$ns" ip link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
	done
	pl_c ip addr add $pl_c4/24 dev "$vc"
	pl_s ip addr add $pl_s4/24 dev "$vs"
	pl_c ip link set "$vc" up
	pl_s ip link set "$vs" up
	# MTU-sized frames as on a mirror port, so that pipelined messages
	# straddle segments
	pl_c ethtool -K "$vc" tso off gso off gro off >/dev/null 2>&1 || true
	pl_s ethtool -K "$vs" tso off gso off gro off >/dev/null 2>&1 || true
	pl_c ethtool -K "$vc" tx off >/dev/null 2>&1 || true
	pl_s ethtool -K "$vs" tx off >/dev/null 2>&1 || true
	pl_c ping -c1 -W2 $pl_s4 >/dev/null 2>&1 || true
}

# pl_bg NAME CMD...: ip netns exec execs CMD, so $! is the daemon
pl_bg() {
	local name=$1; shift
	ip netns exec "$pl_nss" "$@" >"$pl_work/$name.out" 2>&1 &
	pl_pids+=("$name:$!")
}

pl_wait_port() {
	local i
	for i in $(seq 1 100); do
		if pl_c bash -c "exec 3<>/dev/tcp/$pl_s4/$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	pl_fail "nothing listening on port $1"
	exit 1
}

pl_cap_start() {
	local i
	# not through pl_s: a function run with & is a subshell, and $! would
	# not be tcpdump's pid
	# a large kernel buffer (KiB) and no per-packet flush (-U): benchmarks
	# run at full speed while other tests share the CPUs; tcpdump writes
	# everything out when stopped
	ip netns exec "$pl_nss" tcpdump -i "$pl_vs" -s 0 --immediate-mode -Z root -B 32768 -n \
		-w "$pl_work/cap.pcap" "${1:-tcp}" 2>"$pl_work/tcpdump.err" &
	pl_tcpdump=$!
	# generous: on a loaded 2-core machine tcpdump can take seconds to
	# allocate its buffer and start
	for i in $(seq 1 600); do
		grep -q "listening on" "$pl_work/tcpdump.err" 2>/dev/null && break
		sleep 0.05
	done
	grep -q "listening on" "$pl_work/tcpdump.err" || { pl_fail "tcpdump did not start: $(cat "$pl_work/tcpdump.err")"; exit 1; }
	sleep 0.2
}

pl_cap_stop() {
	sleep 0.5   # last ACKs and FINs
	kill -TERM "$pl_tcpdump"
	wait "$pl_tcpdump"
	pl_tcpdump=
	grep -q "^0 packets dropped by kernel" "$pl_work/tcpdump.err" ||
		pl_fail "tcpdump dropped packets: $(cat "$pl_work/tcpdump.err")"
}

pl_read() {
	local artmon lost
	artmon=$(cap_artmon) || return 1
	# shellcheck disable=SC2086
	"$artmon" read -c "$cap_conf" ${PL_READ_OPTS:-} --records transactions --format json "$pl_work/cap.pcap" \
		>"$pl_work/txn.jsonl" 2>"$pl_work/read.err" || { pl_fail "artmon read: $(cat "$pl_work/read.err")"; return 1; }
	grep 'paired from the payload' "$pl_work/read.err" | sed "s/^ */$pl_name: /"
	# every capture here is whole (full snaplen, no loss): the framer must
	# keep sync on every connection
	lost=$(sed -n 's/.*paired from the payload: [0-9]* connections, \([0-9]*\) lost sync.*/\1/p' "$pl_work/read.err")
	# (but over the pending bound, when the caller says so: that counts as
	# lost sync too)
	local over
	over=$(sed -n 's/.*, \([0-9]*\) over the pending bound.*/\1/p' "$pl_work/read.err")
	[ "${1:-}" = allow-pending ] && lost=$((lost - over))
	[ "$lost" = 0 ] || pl_fail "artmon lost sync on ${lost:-?} connections (want 0)"
}

pl_end() {
	[ "$pl_rc" = 0 ] && echo "PASS: $pl_name"
	exit $pl_rc
}
