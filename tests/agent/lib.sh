# Shell library for agent integration tests: a private snmpd master agent,
# a snmptrapd that logs one line per notification, artmond, and the client
# tools pointed at them.  Source it from a test script:
#
#     . "$top_srcdir/tests/agent/lib.sh"
#     agent_setup                      # temp dir, cleanup on exit, skips
#     snmptrapd_start                  # before snmpd: it gets coldStart
#     snmpd_start
#     artmond_start -r capture.pcap
#     snmpget_q ARTMON-MIB::artmonSensorName.0
#
# Everything lives in $AM_TMP (removed on exit unless AM_KEEP=1).  Ports are
# chosen at run time.  agent_stop_all (run from the EXIT trap) stops artmond
# first, then snmpd, then snmptrapd, waiting for each.
#
# Variables set: AM_TMP, AM_STDMIBS, AM_MIBDIRS, SNMPD_PORT, TRAPD_PORT,
# AGENTX_SOCKET, TRAP_LOG, SNMPD_LOG, ARTMOND_LOG, SNMPD_PID, TRAPD_PID,
# ARTMOND_PID, ARTMOND (path of the binary).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
AM_STDMIBS="${ARTMON_STDMIBS:-/var/lib/artmon-stdmibs}"
AM_MIBDIRS="$top_srcdir/mibs:$AM_STDMIBS"
ARTMOND="${ARTMOND:-$top_builddir/agent/artmond}"
SNMPD_PID=""
TRAPD_PID=""
ARTMOND_PID=""

am_log() { echo "# $*"; }
am_fail() { echo "FAIL: $*"; agent_dump_logs; exit 1; }
am_skip() { echo "SKIP: $*"; exit 77; }

# Prints the tails of the daemons' logs (on failure).
agent_dump_logs() {
	for f in "$AM_TMP/snmpd.log" "$AM_TMP/snmptrapd.log" "$AM_TMP/snmptrapd.out" "$AM_TMP/artmond.log"; do
		[ -s "$f" ] || continue
		echo "---- $f (last 30 lines)"
		tail -n 30 "$f"
	done
}

# Skips the test unless every named program is available.
agent_require() {
	for p in "$@"; do
		case "$p" in
		artmond) [ -x "$ARTMOND" ] || am_skip "artmond not built ($ARTMOND)" ;;
		stdmibs)
			[ -f "$AM_STDMIBS/SNMPv2-SMI" ] || [ -f "$AM_STDMIBS/SNMPv2-SMI.mib" ] ||
				am_skip "IETF core MIBs missing in $AM_STDMIBS (scripts/install-deps)" ;;
		*) command -v "$p" >/dev/null 2>&1 || am_skip "$p not installed" ;;
		esac
	done
}

# Creates the private directory, isolates the Net-SNMP tools from the
# system's configuration and persistent state, and installs the cleanup.
agent_setup() {
	agent_require snmpd snmpget python3
	AM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/artmon-agent.XXXXXX") || am_fail "mktemp"
	# artmond may drop to an unprivileged user: it must reach the AgentX
	# socket in here.
	chmod 755 "$AM_TMP"
	mkdir -p "$AM_TMP/persist" "$AM_TMP/client" "$AM_TMP/trapd-persist"
	# Client tools: no system snmp.conf, no MIB noise, private state.
	SNMPCONFPATH="$AM_TMP/client"
	SNMP_PERSISTENT_DIR="$AM_TMP/client"
	MIBS=""
	export SNMPCONFPATH SNMP_PERSISTENT_DIR MIBS
	printf 'mibs :\n' >"$AM_TMP/client/snmp.conf"
	AGENTX_SOCKET="$AM_TMP/agentx.sock"
	TRAP_LOG="$AM_TMP/snmptrapd.log"
	SNMPD_LOG="$AM_TMP/snmpd.log"
	ARTMOND_LOG="$AM_TMP/artmond.log"
	trap 'agent_cleanup' EXIT
	trap 'exit 1' INT TERM HUP
}

agent_cleanup() {
	rc=$?
	agent_stop_all
	# A test's own cleanup (set AM_CLEANUP_HOOK to a command).
	[ -n "${AM_CLEANUP_HOOK:-}" ] && eval "$AM_CLEANUP_HOOK"
	if [ "${AM_KEEP:-0}" = 1 ]; then
		echo "# kept $AM_TMP"
	else
		rm -rf "$AM_TMP"
	fi
	exit $rc
}

# Prints a port number that is free for UDP (default) or TCP on 127.0.0.1.
free_port() {
	python3 - "${1:-udp}" <<'PY'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

# wait_until SECONDS COMMAND...: polls every 0.1 s; 0 if the command
# succeeded in time, 1 otherwise.
wait_until() {
	_limit=$(( $1 * 10 )); shift
	_i=0
	while [ $_i -lt $_limit ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# Stops one daemon by pid (TERM, then KILL after 10 s) and reaps it.
stop_pid() {
	_pid=$1
	[ -n "$_pid" ] || return 0
	if kill -0 "$_pid" 2>/dev/null; then
		kill -TERM "$_pid" 2>/dev/null
		_i=0
		while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 100 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		kill -0 "$_pid" 2>/dev/null && kill -KILL "$_pid" 2>/dev/null
	fi
	wait "$_pid" 2>/dev/null
	return 0
}

# ---------------------------------------------------------------- snmptrapd

snmptrapd_start() {
	agent_require snmptrapd
	TRAPD_PORT=$(free_port udp)
	cat >"$AM_TMP/snmptrapd.conf" <<EOF
disableAuthorization yes
[snmp] mibs :
[snmp] persistentDir $AM_TMP/trapd-persist
EOF
	# One line per notification in $TRAP_LOG, numeric OIDs, bare values:
	#   TRAP <sender> .1.3.6.1.2.1.1.3.0 = 12| .1.3.6.1.6.3.1.1.4.1.0 = .1.3...| ...
	SNMP_PERSISTENT_DIR="$AM_TMP/trapd-persist" \
	snmptrapd -f -C -c "$AM_TMP/snmptrapd.conf" -OnQ -A -Lf "$TRAP_LOG" \
		-F 'TRAP %B %V| %v\n' "udp:127.0.0.1:$TRAPD_PORT" >>"$AM_TMP/snmptrapd.out" 2>&1 &
	TRAPD_PID=$!
	wait_until 5 grep -q 'NET-SNMP version' "$TRAP_LOG" ||
		am_fail "snmptrapd did not start"
}

# Number of logged notifications whose line matches the extended regexp.
trap_count() {
	grep '^TRAP ' "$TRAP_LOG" | grep -Ec -- "$1"
}

# wait_trap SECONDS REGEXP [COUNT]: waits until COUNT (default 1) matching
# notifications were logged.
wait_trap() {
	_want=${3:-1}
	wait_until "$1" sh -c '[ "$(grep "^TRAP " "$2" | grep -Ec -- "$1")" -ge "$3" ]' sh "$2" "$TRAP_LOG" "$_want"
}

# ---------------------------------------------------------------- snmpd

# snmpd_start [EXTRA CONFIG LINE...]: a master agent on a free UDP port of
# 127.0.0.1 with AgentX on a unix socket in $AM_TMP.  Sends notifications
# to snmptrapd when it runs.  A restart (snmpd_stop; snmpd_start) keeps the
# port and socket.
snmpd_start() {
	[ -n "${SNMPD_PORT:-}" ] || SNMPD_PORT=$(free_port udp)
	{
		echo "agentAddress udp:127.0.0.1:$SNMPD_PORT"
		echo "rocommunity public 127.0.0.1"
		echo "rwcommunity private 127.0.0.1"
		echo "master agentx"
		echo "agentXSocket unix:$AGENTX_SOCKET"
		echo "agentXPerms 0777 0755"
		echo "dontLogTCPWrappersConnects yes"
		[ -n "${TRAPD_PORT:-}" ] && echo "trap2sink 127.0.0.1:$TRAPD_PORT public"
		echo "[snmp] mibs :"
		echo "[snmp] persistentDir $AM_TMP/persist"
		for l in "$@"; do echo "$l"; done
	} >"$AM_TMP/snmpd.conf"
	snmpd -f -C -c "$AM_TMP/snmpd.conf" -I -smux -A -Lf "$SNMPD_LOG" \
		-p "$AM_TMP/snmpd.pid" &
	SNMPD_PID=$!
	wait_until 5 snmp_ping || am_fail "snmpd did not answer on port $SNMPD_PORT"
	[ -S "$AGENTX_SOCKET" ] || am_fail "snmpd did not create $AGENTX_SOCKET"
}

snmpd_stop() {
	stop_pid "$SNMPD_PID"
	SNMPD_PID=""
}

# True when the master answers sysDescr.0.
snmp_ping() {
	snmpget -v2c -c public -r 0 -t 1 "127.0.0.1:$SNMPD_PORT" .1.3.6.1.2.1.1.1.0
}

# ---------------------------------------------------------------- artmond

# artmond_start ARGS...: runs artmond in the foreground mode (-f) against
# the test's AgentX socket, logging to $ARTMOND_LOG.  Without -s in ARGS
# the store is $AM_TMP/store (never the configuration's default).
artmond_start() {
	agent_require artmond
	_s="-s $AM_TMP/store"
	for _a in "$@"; do [ "$_a" = -s ] && _s=""; done
	# shellcheck disable=SC2086
	"$ARTMOND" -f -x "$AGENTX_SOCKET" -p "$AM_TMP/artmond.pid" $_s "$@" >>"$ARTMOND_LOG" 2>&1 &
	ARTMOND_PID=$!
}

# True when artmond's objects answer through the master.
artmond_registered() {
	_v=$(snmpget_q ARTMON-MIB::artmonSoftwareVersion.0 2>/dev/null) || return 1
	case $_v in "" | *"No Such"*) return 1 ;; esac
	return 0
}

# Waits until artmond has registered with the master.
artmond_wait_registered() {
	wait_until "${1:-10}" artmond_registered ||
		am_fail "artmond did not register with the master"
}

artmond_stop() {
	stop_pid "$ARTMOND_PID"
	ARTMOND_PID=""
}

# Subagent first (stopping it together with the master trips an assertion
# in the subagent), then the master, then the trap receiver (which gets the
# master's shutdown notification).
agent_stop_all() {
	artmond_stop
	snmpd_stop
	stop_pid "$TRAPD_PID"
	TRAPD_PID=""
}

# ---------------------------------------------------------------- clients

# Client tools with ARTMON-MIB loaded, against the private master; values
# bare, indexes numeric (snmpget_q prints only the values).
snmpget_q()  { snmpget  -v2c -c public -r 1 -t 2 -M "$AM_MIBDIRS" -m ARTMON-MIB -Ob -Os -OQ -Ov "127.0.0.1:$SNMPD_PORT" "$@"; }
snmpwalk_q() { snmpwalk -v2c -c public -r 1 -t 2 -M "$AM_MIBDIRS" -m ARTMON-MIB -Ob -Os -OQ "127.0.0.1:$SNMPD_PORT" "$@"; }
snmpbulkwalk_q() { snmpbulkwalk -v2c -c public -r 1 -t 2 -M "$AM_MIBDIRS" -m ARTMON-MIB -Ob -Os -OQ "127.0.0.1:$SNMPD_PORT" "$@"; }
snmptable_q() { snmptable -v2c -c public -r 1 -t 2 -M "$AM_MIBDIRS" -m ARTMON-MIB -Cf , -CH -Ci "127.0.0.1:$SNMPD_PORT" "$@"; }

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
	if [ "$2" != "$3" ]; then
		am_fail "$1: expected '$2', got '$3'"
	fi
	am_log "ok: $1 = $3"
}

# ---------------------------------------------------------------- captures

# make_loopback_capture FILE [BATCHES] [SPACING]: records HTTP traffic on
# loopback to an IPv4 and an IPv6 server (python3 http.server) in BATCHES
# bursts (default 3), each recorded on its own and shifted in time so that
# they lie SPACING seconds apart (default 10: one per 10-second interval),
# then merged into FILE.  Needs root (tcpdump), curl, editcap and mergecap;
# skips the test otherwise.  Sets CAP_PORT4 and CAP_PORT6.
make_loopback_capture() {
	_out=$1
	_batches=${2:-3}
	_spacing=${3:-10}
	[ "$(id -u)" = 0 ] || am_skip "capturing on lo needs root"
	agent_require tcpdump curl python3 editcap mergecap
	mkdir -p "$AM_TMP/www"
	printf 'hello\n' >"$AM_TMP/www/index.html"
	head -c 20000 /dev/zero | tr '\0' x >"$AM_TMP/www/big.txt"
	_p4=$(free_port tcp)
	_p6=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1])')
	python3 -m http.server "$_p4" --bind 127.0.0.1 -d "$AM_TMP/www" >"$AM_TMP/http4.log" 2>&1 &
	_h4=$!
	python3 -m http.server "$_p6" --bind ::1 -d "$AM_TMP/www" >"$AM_TMP/http6.log" 2>&1 &
	_h6=$!
	wait_until 5 curl -s -o /dev/null "http://127.0.0.1:$_p4/" || am_fail "IPv4 server did not start"
	wait_until 5 curl -s -o /dev/null "http://[::1]:$_p6/" || am_fail "IPv6 server did not start"
	_b=0
	_parts=""
	while [ $_b -lt "$_batches" ]; do
		: >"$AM_TMP/tcpdump.log"
		# a large buffer: the default 2 MB drops whole bursts when a loaded
		# machine does not schedule tcpdump for a few milliseconds
		tcpdump -i lo -n -U --immediate-mode -B 65536 -Z root -w "$AM_TMP/part$_b.pcap" \
			"tcp port $_p4 or tcp port $_p6" >"$AM_TMP/tcpdump.log" 2>&1 &
		_td=$!
		wait_until 30 grep -q 'listening on' "$AM_TMP/tcpdump.log" || am_fail "tcpdump did not start"
		for _i in 1 2 3; do
			curl -s -o /dev/null "http://127.0.0.1:$_p4/index.html"
			curl -s -o /dev/null "http://127.0.0.1:$_p4/big.txt"
			curl -s -o /dev/null "http://127.0.0.1:$_p4/missing"
		done
		curl -s -o /dev/null "http://[::1]:$_p6/index.html"
		sleep 0.3
		stop_pid "$_td"
		grep -q '^0 packets dropped by kernel' "$AM_TMP/tcpdump.log" ||
			am_fail "tcpdump lost packets: $(cat "$AM_TMP/tcpdump.log")"
		# Batch b starts b * SPACING seconds after the first one.
		editcap -t $((_b * _spacing)) "$AM_TMP/part$_b.pcap" "$AM_TMP/shift$_b.pcap" >/dev/null ||
			am_fail "editcap"
		_parts="$_parts $AM_TMP/shift$_b.pcap"
		_b=$((_b + 1))
	done
	stop_pid "$_h4"
	stop_pid "$_h6"
	# shellcheck disable=SC2086
	mergecap -F pcap -w "$_out" $_parts || am_fail "mergecap"
	[ -s "$_out" ] || am_fail "empty capture $_out"
	CAP_PORT4=$_p4
	CAP_PORT6=$_p6
}

# server_index ADDRESS PORT: the ARTMON-MIB row index of a server
# (InetAddressType.InetAddress.port), e.g. 1.4.127.0.0.1.80.
server_index() {
	python3 - "$1" "$2" <<'PY'
import ipaddress, sys
a = ipaddress.ip_address(sys.argv[1])
t = 1 if a.version == 4 else 2
b = a.packed
print(".".join([str(t), str(len(b))] + [str(x) for x in b] + [sys.argv[2]]))
PY
}
