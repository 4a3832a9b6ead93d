# Shared functions of the validation harness (POSIX sh, sourced).
#
# Two network namespaces, client and server, joined by a veth pair with
# segmentation offloads off.  A run captures on one side; an impaired run
# (delay, loss) queues the packets of the *other* side through nfqdelay, so
# the monitor sees its own side's packets as they were sent.
#
# Callers set: VAL_TOP (source tree), VAL_WORK (a scratch directory), and
# may set ARTMON, ABT, DNSD, NFQDELAY, SLEEPD (programs; built into VAL_WORK from
# the sources when unset).

VAL_ID=${VAL_ID:-$$}
NS_C="amvc$VAL_ID"
NS_S="amvs$VAL_ID"
IF_C="amvc$VAL_ID"
IF_S="amvs$VAL_ID"
IP_C=10.77.0.1
IP_S=10.77.0.2
ABT_PORT=4433
VAL_PIDS=""
# Client ports: each abt run takes the next block, so that no two
# connections of a run (nor of consecutive runs, in TIME_WAIT) share one.
VAL_CPORT=10000
# abt runs SCHED_FIFO at this priority (0: not), so that its stamps are not
# blurred by scheduling delays on a loaded machine.
VAL_RT=${VAL_RT:-10}

val_log() {
	printf '%s\n' "validation: $*" >&2
}

val_die() {
	val_log "$*"
	exit 1
}

# Builds a tool from tests/tools when no binary was given.
val_tool() {
	name=$1
	shift
	out="$VAL_WORK/bin/$name"
	if [ ! -x "$out" ]; then
		mkdir -p "$VAL_WORK/bin"
		${CC:-cc} -O2 -Wall -Wextra -o "$out" "$VAL_TOP/tests/tools/$name.c" "$@" >&2 || return 1
	fi
	printf '%s\n' "$out"
}

val_tools() {
	[ -n "${ABT:-}" ] || ABT=$(val_tool abt -pthread) || val_die "cannot build abt"
	[ -n "${DNSD:-}" ] || DNSD=$(val_tool dnsd) || val_die "cannot build dnsd"
	if [ -z "${NFQDELAY:-}" ]; then
		if pkg-config --exists libnetfilter_queue 2>/dev/null; then
			# shellcheck disable=SC2046
			NFQDELAY=$(val_tool nfqdelay $(pkg-config --cflags --libs libnetfilter_queue)) || NFQDELAY=
		else
			NFQDELAY=
		fi
	fi
	[ -x "${ARTMON:-}" ] || val_die "artmon not found (set ARTMON)"
}

# Prerequisites; prints what is missing.
val_missing() {
	m=""
	[ "$(id -u)" = 0 ] || m="$m root"
	for c in ip tcpdump tshark jq ethtool awk sort; do
		command -v "$c" >/dev/null 2>&1 || m="$m $c"
	done
	ip netns list >/dev/null 2>&1 || m="$m netns"
	printf '%s' "$m"
}

val_setup() {
	ip netns add "$NS_C" || return 1
	ip netns add "$NS_S" || return 1
	ip link add "$IF_C" type veth peer name "$IF_S" || return 1
	ip link set "$IF_C" netns "$NS_C"
	ip link set "$IF_S" netns "$NS_S"
	ip -n "$NS_C" addr add "$IP_C/24" dev "$IF_C"
	ip -n "$NS_S" addr add "$IP_S/24" dev "$IF_S"
	for x in "$NS_C:$IF_C" "$NS_S:$IF_S"; do
		ns=${x%%:*}
		ifc=${x#*:}
		ip -n "$ns" link set lo up
		ip -n "$ns" link set "$ifc" up
		ip netns exec "$ns" ethtool -K "$ifc" tso off gso off gro off >/dev/null 2>&1 ||
			val_log "ethtool could not turn offloads off on $ifc"
	done
	ip netns exec "$NS_C" ping -c 1 -W 2 "$IP_S" >/dev/null 2>&1 || val_log "ping between namespaces failed"
}

val_teardown() {
	val_pg_stop
	for p in $VAL_PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	VAL_PIDS=""
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	return 0
}

# Waits up to $2 tenths of a second for file $1 to exist (or match $3).
val_wait_file() {
	i=0
	while [ $i -lt "$2" ]; do
		if [ -n "${3:-}" ]; then
			grep -q "$3" "$1" 2>/dev/null && return 0
		elif [ -e "$1" ]; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# val_start NAME NS CMD...: runs CMD in namespace NS in the background.
# Sets VAL_LAST to its pid (that of the program itself: exec).
val_start() {
	name=$1
	ns=$2
	shift 2
	ip netns exec "$ns" "$@" >"$VAL_DIR/$name.out" 2>"$VAL_DIR/$name.err" &
	VAL_LAST=$!
	VAL_PIDS="$VAL_LAST $VAL_PIDS"
}

# val_stop PID: SIGTERM and wait.
val_stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	rest=""
	for p in $VAL_PIDS; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	VAL_PIDS=$rest
}

# val_impair NS IF DELAY_MS LOSS: queues NS's traffic on IF (both ways)
# through nfqdelay.  Sets IMPAIR_PID.
val_impair() {
	IMPAIR_PID=""
	[ -n "$NFQDELAY" ] || val_die "nfqdelay is not available (libnetfilter-queue-dev, iptables)"
	ip netns exec "$1" iptables -A OUTPUT -o "$2" -j NFQUEUE --queue-num 0 --queue-bypass || return 1
	ip netns exec "$1" iptables -A INPUT -i "$2" -j NFQUEUE --queue-num 0 --queue-bypass || return 1
	val_start nfqdelay "$1" "$NFQDELAY" -q 0 -d "$3" -l "$4" -s "${VAL_SEED:-1}"
	IMPAIR_PID=$VAL_LAST
	IMPAIR_NS=$1
	val_wait_file "$VAL_DIR/nfqdelay.err" 50 "queue 0" || val_die "nfqdelay did not start"
}

val_unimpair() {
	[ -n "${IMPAIR_PID:-}" ] || return 0
	ip netns exec "$IMPAIR_NS" iptables -F OUTPUT
	ip netns exec "$IMPAIR_NS" iptables -F INPUT
	val_stop "$IMPAIR_PID"
	IMPAIR_PID=""
}

# val_capture_start SIDE (server|client) FILE: sets CAP_PID.
val_capture_start() {
	if [ "$1" = server ]; then ns=$NS_S ifc=$IF_S; else ns=$NS_C ifc=$IF_C; fi
	val_start tcpdump "$ns" tcpdump -i "$ifc" -n -s "${VAL_SNAPLEN:-256}" -B 32768 --immediate-mode -Z root -w "$2"
	CAP_PID=$VAL_LAST
	val_wait_file "$VAL_DIR/tcpdump.err" 50 "listening on" || val_die "tcpdump did not start"
}

# Stops the capture; fails when the kernel dropped packets.
val_capture_stop() {
	sleep 0.3
	val_stop "$CAP_PID"
	d=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$VAL_DIR/tcpdump.err")
	if [ -n "$d" ] && [ "$d" != 0 ]; then
		val_log "tcpdump: $d packets dropped by the kernel"
		return 1
	fi
	return 0
}

# val_abt_run MODE SIDE DELAY_MS LOSS CONNS PARALLEL ABT_OPTIONS...
# Runs one abt scenario in $VAL_DIR: capture.pcap, server.tsv, client.tsv.
val_abt_run() {
	mode=$1 side=$2 delay=$3 loss=$4 conns=$5 par=$6
	shift 6
	rm -f "$VAL_DIR/server.tsv" "$VAL_DIR/client.tsv" "$VAL_DIR/abt.ready"
	if [ "$delay" != 0 ] || [ "$loss" != 0 ]; then
		if [ "$side" = server ]; then val_impair "$NS_C" "$IF_C" "$delay" "$loss" || return 1
		else val_impair "$NS_S" "$IF_S" "$delay" "$loss" || return 1; fi
	fi
	[ $((VAL_CPORT + conns)) -lt 60000 ] || VAL_CPORT=10000
	cport=$VAL_CPORT
	VAL_CPORT=$((VAL_CPORT + conns + 100))
	val_capture_start "$side" "$VAL_DIR/capture.pcap"
	val_start abt-server "$NS_S" "$ABT" server --mode "$mode" --rt "$VAL_RT" "$@" -o "$VAL_DIR/server.tsv" \
		--ready "$VAL_DIR/abt.ready" "$IP_S" "$ABT_PORT"
	srv=$VAL_LAST
	val_wait_file "$VAL_DIR/abt.ready" 50 || val_die "abt server did not start"
	ip netns exec "$NS_C" "$ABT" client --mode "$mode" --rt "$VAL_RT" --cport "$cport" "$@" -n "$conns" -P "$par" \
		-o "$VAL_DIR/client.tsv" "$IP_S" "$ABT_PORT" 2>"$VAL_DIR/abt-client.err"
	crc=$?
	sleep 0.5
	val_stop "$srv"
	val_capture_stop
	caprc=$?
	val_unimpair
	[ $crc = 0 ] || val_log "abt client failed (see $VAL_DIR/abt-client.err)"
	[ $crc = 0 ] && [ $caprc = 0 ]
}

# val_dns_run SIDE DELAY_MS LOSS N INTERVAL_MS NAMES...
val_dns_run() {
	side=$1 delay=$2 loss=$3 n=$4 ival=$5
	shift 5
	rm -f "$VAL_DIR/dnsd-server.log" "$VAL_DIR/dnsd-client.log" "$VAL_DIR/dnsd.ready"
	if [ "$delay" != 0 ] || [ "$loss" != 0 ]; then
		if [ "$side" = server ]; then val_impair "$NS_C" "$IF_C" "$delay" "$loss" || return 1
		else val_impair "$NS_S" "$IF_S" "$delay" "$loss" || return 1; fi
	fi
	val_capture_start "$side" "$VAL_DIR/capture.pcap"
	val_start dnsd-server "$NS_S" "$DNSD" server -a "$IP_S" -p 53 -o "$VAL_DIR/dnsd-server.log" \
		--ready "$VAL_DIR/dnsd.ready"
	srv=$VAL_LAST
	val_wait_file "$VAL_DIR/dnsd.ready" 50 || val_die "dnsd did not start"
	# The tail query comes 5.5 s after the last answer or timeout, past
	# artmon's 5 s DNS timeout, so unanswered queries are reported as such.
	ip netns exec "$NS_C" "$DNSD" client -s "$IP_S" -p 53 -n "$n" -i "$ival" -t 2000 -T 5500 \
		-S "${VAL_SEED:-1}" -o "$VAL_DIR/dnsd-client.log" "$@" 2>"$VAL_DIR/dnsd-client.err"
	crc=$?
	val_stop "$srv"
	val_capture_stop
	caprc=$?
	val_unimpair
	[ $crc = 0 ] && [ $caprc = 0 ]
}

# Percentiles of the numbers in file $1 (one a line): "n p50 p90 p99 max",
# nearest-rank; "0 - - - -" when empty.
val_stats() {
	sort -g "$1" | awk '
		{ v[NR] = $1 }
		function pct(p,   k) { k = int(p * NR + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR; return v[k] }
		END {
			if (NR == 0) { print "0 - - - -"; exit }
			print NR, pct(0.5), pct(0.9), pct(0.99), v[NR]
		}'
}

# key=value lookups in a results file.
val_get() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# val_expect RESULTS DESCRIPTION EXPR: EXPR is an awk expression over v["key"]
# (the results' values).  Prints PASS or FAIL; counts failures in VAL_FAILS.
VAL_FAILS=0
val_expect() {
	if awk -F '=' '{ v[$1] = $2 } END { exit !('"$3"') }' "$1"; then
		printf '  PASS  %s\n' "$2"
	else
		printf '  FAIL  %s\n' "$2"
		VAL_FAILS=$((VAL_FAILS + 1))
	fi
}

# The checks of one abt scenario.  $1 results, $2 kind:
#   seq       sequential, no loss, server side: every ADU size exact, think
#             within 1 ms for 99%, no CONC
#   seq-cli   sequential, no loss, client side: sizes exact, no CONC
#   seq-loss  sequential with loss: 97% of sizes exact
#   conc      concurrent: every observably concurrent connection flagged and
#             no other; never a sequential ADU after CONC; bytes exact
#   conc-all  conc, and every connection flagged (when delay makes it observable)
# Every kind: every connection seen, no negative time, no INC record (every
# connection was closed before the capture ended).
val_check_abt() {
	r=$1
	val_expect "$r" "every connection measured" 'v["conns"] > 0 && v["conns_seen"] == v["conns"]'
	val_expect "$r" "no negative or impossible time" 'v["negative_times"] == 0'
	val_expect "$r" "no INC record after a FIN close (closed connections end with ADU)" 'v["inc_records"] == 0'
	case $2 in
	seq*)
		val_expect "$r" "sequential: think_us equals the wire think time (tshark) within 1 us" \
			'v["wire_n"] > 0 && v["wire_within_1us"] == v["wire_n"]'
		val_expect "$r" "sequential: one transaction record per exchange, think_us as on the wire" \
			'v["txn_n"] == v["adus_expected"] / 2 && v["txn_think_wire"] == v["txn_n"]'
		;;
	esac
	case $2 in
	seq | seq-cli)
		val_expect "$r" "sequential: transaction sizes exact, every outcome complete" \
			'v["txn_bytes_exact"] == v["txn_n"] && v["txn_not_complete"] == 0'
		;;
	esac
	case $2 in
	seq)
		val_expect "$r" "sequential: 100% of ADU sizes exact" \
			'v["adus_expected"] > 0 && v["adus_exact"] == v["adus_expected"] && v["adus_measured"] == v["adus_expected"]'
		val_expect "$r" "sequential: think within 1 ms of the server's for 99%" \
			'v["think_n"] > 0 && v["think_within_1ms"] >= 0.99 * v["think_n"]'
		val_expect "$r" "sequential: no connection flagged concurrent" 'v["false_conc"] == 0 && v["conc_flagged_unobservable"] == 0'
		;;
	seq-cli)
		val_expect "$r" "sequential: 100% of ADU sizes exact" \
			'v["adus_expected"] > 0 && v["adus_exact"] == v["adus_expected"] && v["adus_measured"] == v["adus_expected"]'
		val_expect "$r" "sequential: no connection flagged concurrent" 'v["false_conc"] == 0'
		;;
	seq-loss)
		val_expect "$r" "loss: at least 97% of ADU sizes exact" \
			'v["adus_expected"] > 0 && v["adus_exact"] >= 0.97 * v["adus_expected"]'
		val_expect "$r" "loss: no connection flagged concurrent that was not" 'v["conc_flagged_unobservable"] == 0'
		;;
	conc | conc-all)
		val_expect "$r" "concurrent: every observably concurrent connection flagged, no other" \
			'v["conc_flagged_observable"] == v["conc_observable"] && v["conc_flagged_unobservable"] == 0'
		val_expect "$r" "concurrent: no sequential ADU after CONC" 'v["seq_after_conc"] == 0'
		val_expect "$r" "concurrent: bytes per direction exact" 'v["conns_bytes_exact"] == v["conns"]'
		if [ "$2" = conc-all ]; then
			val_expect "$r" "concurrent: at least 99% of connections flagged" \
				'v["conc_flagged"] >= 0.99 * v["conns"]'
		fi
		;;
	esac
}

# The checks of a DNS scenario; $2 "loss" when packets were dropped (then
# the client's own count of unanswered queries includes queries and answers
# lost out of the monitor's sight, and only tshark is the reference).
val_check_dns() {
	r=$1
	val_expect "$r" "DNS: every response paired with its query" \
		'v["tshark_responses"] > 0 && v["matched"] == v["tshark_responses"] && v["unmatched"] == 0 && v["null_time"] == 0'
	val_expect "$r" "DNS: every response time equals tshark dns.time within 1 us" 'v["within_1us"] == v["matched"]'
	val_expect "$r" "DNS: rcode as tshark reads it" 'v["rcode_mismatch"] == 0'
	val_expect "$r" "DNS: unanswered queries reported with outcome timeout" \
		'v["artmon_timeout"] == v["tshark_unanswered"] && v["artmon_open"] == 0'
	if [ "${2:-}" != loss ]; then
		val_expect "$r" "DNS: unanswered as the client counted them" 'v["artmon_timeout"] == v["client_unanswered"]'
		val_expect "$r" "DNS: one record per query" 'v["artmon_records"] == v["queries_sent"]'
	fi
	val_expect "$r" "DNS: no negative time" 'v["negative_times"] == 0'
}

# val_mixed_run: unanswered DNS queries, then only TCP traffic for more than
# artmon's 5 s DNS timeout, in one capture.  Writes DIR/results with
# dns_queries, dns_timeout, dns_open (artmon's outcomes for the queries).
val_mixed_run() {
	rm -f "$VAL_DIR/dnsd.ready" "$VAL_DIR/abt.ready"
	val_capture_start server "$VAL_DIR/capture.pcap"
	val_start dnsd-server "$NS_S" "$DNSD" server -a "$IP_S" -p 53 --ready "$VAL_DIR/dnsd.ready"
	dsrv=$VAL_LAST
	val_wait_file "$VAL_DIR/dnsd.ready" 50 || val_die "dnsd did not start"
	ip netns exec "$NS_C" "$DNSD" client -s "$IP_S" -p 53 -n 3 -i 1 -t 200 -S 7 \
		-o "$VAL_DIR/dnsd-client.log" drop.test 2>/dev/null
	mopts="--exchanges 7 --req 100 --resp 1000 --think 1s --cthink 0 --rt $VAL_RT"
	# shellcheck disable=SC2086
	val_start abt-server "$NS_S" "$ABT" server $mopts -o "$VAL_DIR/server.tsv" --ready "$VAL_DIR/abt.ready" \
		"$IP_S" "$ABT_PORT"
	asrv=$VAL_LAST
	val_wait_file "$VAL_DIR/abt.ready" 50 || val_die "abt server did not start"
	# shellcheck disable=SC2086
	ip netns exec "$NS_C" "$ABT" client $mopts -n 1 -P 1 -o "$VAL_DIR/client.tsv" "$IP_S" "$ABT_PORT"
	val_stop "$asrv"
	val_stop "$dsrv"
	val_capture_stop || return 1
	"$ARTMON" read -q --format json "$VAL_DIR/capture.pcap" | jq -r 'select(.proto == "udp") | .outcome' |
		awk '{ n++; c[$1]++ } END { printf "dns_queries=%d\ndns_timeout=%d\ndns_open=%d\n", n, c["timeout"], c["open"] }' \
		>"$VAL_DIR/results"
}

# val_http_run SIDE DELAY_MS LOSS CURLS REQS DELAYS...: the HTTP server that
# sleeps (tests/tools/sleepd): for every requested delay, CURLS curl
# processes at once, each REQS keep-alive requests on one connection.
# Writes DIR/sleepd.truth.
HTTP_PORT=8080
val_http_run() {
	side=$1 delay=$2 loss=$3 ncurl=$4 nreq=$5
	shift 5
	[ -n "${SLEEPD:-}" ] || SLEEPD=$(val_tool sleepd) || val_die "cannot build sleepd"
	command -v curl >/dev/null 2>&1 || val_die "curl missing"
	rm -f "$VAL_DIR/sleepd.truth"
	if [ "$delay" != 0 ] || [ "$loss" != 0 ]; then
		if [ "$side" = server ]; then val_impair "$NS_C" "$IF_C" "$delay" "$loss" || return 1
		else val_impair "$NS_S" "$IF_S" "$delay" "$loss" || return 1; fi
	fi
	val_capture_start "$side" "$VAL_DIR/capture.pcap"
	# Real-time priority (inherited by its per-connection processes), so
	# that its sleeps end on time.
	# shellcheck disable=SC2046
	val_start sleepd "$NS_S" $(val_rt) "$SLEEPD" -l "$IP_S" -p "$HTTP_PORT" -t "$VAL_DIR/sleepd.truth"
	hsrv=$VAL_LAST
	i=0
	while [ $i -lt 50 ] && ! ip netns exec "$NS_S" ss -ltn 2>/dev/null | grep -q ":$HTTP_PORT "; do
		sleep 0.1
		i=$((i + 1))
	done
	hpids=""
	for d in "$@"; do
		urls=""
		j=0
		while [ $j -lt "$nreq" ]; do
			urls="$urls -o /dev/null http://$IP_S:$HTTP_PORT/sleep?ms=$d&size=2000"
			j=$((j + 1))
		done
		k=0
		while [ $k -lt "$ncurl" ]; do
			# shellcheck disable=SC2086
			ip netns exec "$NS_C" curl -s --max-time 120 $urls &
			hpids="$hpids $!"
			k=$((k + 1))
		done
	done
	hrc=0
	for p in $hpids; do wait "$p" || hrc=1; done
	sleep 0.3
	val_stop "$hsrv"
	val_capture_stop || hrc=1
	val_unimpair
	[ $hrc = 0 ]
}

# The checks of an HTTP (sleepd) scenario: every request measured once,
# complete, the median response time within 1 ms of the server's own for
# every delay and, with $2 "strict", within 1 ms of the requested delay (which
# also needs the server to keep its time).
val_check_http() {
	r=$1
	val_expect "$r" "HTTP: one complete transaction per request" \
		'v["http_requests"] > 0 && v["http_matched"] == v["http_requests"] && v["http_records"] == v["http_requests"] && v["http_not_complete"] == 0 && v["http_unmatched"] == 0'
	val_expect "$r" "HTTP: no negative time" 'v["negative_times"] == 0'
	val_expect "$r" "HTTP: median |first_us - server's own time| within 1 ms for every delay" \
		'v["http_delays"] > 0 && v["http_delays_srv_ok"] == v["http_delays"]'
	if [ "${2:-}" = strict ]; then
		val_expect "$r" "HTTP: median first_us within 1 ms of every requested delay" \
			'v["http_delays"] > 0 && v["http_delays_ok"] == v["http_delays"]'
	fi
}

# --- Real servers with requested service times: PostgreSQL, Redis ------
#
# One client at a time, one connection per requested delay (Redis serves one
# command at a time: a second client would wait for the first one's sleep),
# each sending REQS requests that sleep that long: PostgreSQL
# `SELECT pg_sleep(s)` (psql), Redis `DEBUG SLEEP s` (redis-cli -r).
# The servers run as unprivileged instances in the server namespace, as
# tests/pipeline/ starts them, at real-time priority as sleepd.  DIR/real.truth lists "delay_ms requests" in
# the order of the connections; the capture is taken on the server side at
# full snaplen (artmon frames the payloads with the shipped rules).
# The servers' own time of every request goes to DIR/real.server
# (microseconds, in order): PostgreSQL's log_min_duration_statement = 0
# (parse to end of execution), Redis's slow log (the command's execution).
# It does not always keep the requested time: on this machine pg_sleep of
# 1, 3, 6 or 100 ms often takes about 1 ms more (its own log says so).

# Prints what a real server scenario needs and does not have; $1 pg or redis.
val_real_missing() {
	m=""
	case $1 in
	pg)
		pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
		[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] && [ -x "$pgbin/pg_ctl" ] || m="$m postgresql"
		command -v psql >/dev/null 2>&1 || m="$m psql"
		command -v runuser >/dev/null 2>&1 || m="$m runuser"
		id postgres >/dev/null 2>&1 || m="$m user-postgres"
		;;
	redis)
		command -v redis-server >/dev/null 2>&1 || m="$m redis-server"
		command -v redis-cli >/dev/null 2>&1 || m="$m redis-cli"
		;;
	esac
	command -v bash >/dev/null 2>&1 || m="$m bash"
	printf '%s' "$m"
}

VAL_PG_DATA=""
VAL_PG_BIN=""
val_pg_stop() {
	[ -n "$VAL_PG_DATA" ] || return 0
	ip netns exec "$NS_S" runuser -u postgres -- "$VAL_PG_BIN/pg_ctl" -D "$VAL_PG_DATA" -m fast -w stop \
		>/dev/null 2>&1
	VAL_PG_DATA=""
}

# Starts PostgreSQL on $IP_S:5432 with its data in $VAL_DIR/pg.
val_pg_start() {
	VAL_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	# The server runs as postgres: it must reach its directory.
	chmod 755 "$VAL_WORK" "$VAL_DIR"
	mkdir -p "$VAL_DIR/pg/data" "$VAL_DIR/pg/sock"
	chown -R postgres: "$VAL_DIR/pg"
	runuser -u postgres -- "$VAL_PG_BIN/initdb" -D "$VAL_DIR/pg/data" -U postgres --auth=trust --no-sync \
		-E UTF8 --locale=C >"$VAL_DIR/initdb.log" 2>&1 || { val_log "initdb failed (see $VAL_DIR/initdb.log)"; return 1; }
	echo "host all all $IP_C/32 trust" >>"$VAL_DIR/pg/data/pg_hba.conf"
	# shellcheck disable=SC2046
	ip netns exec "$NS_S" $(val_rt) runuser -u postgres -- "$VAL_PG_BIN/pg_ctl" -D "$VAL_DIR/pg/data" \
		-l "$VAL_DIR/pg/server.log" -w -o "-c listen_addresses=$IP_S -p 5432 -c unix_socket_directories=$VAL_DIR/pg/sock -c ssl=off -c fsync=off -c log_min_duration_statement=0" \
		start >/dev/null 2>&1 || { val_log "PostgreSQL did not start (see $VAL_DIR/pg/server.log)"; return 1; }
	VAL_PG_DATA=$VAL_DIR/pg/data
}

# Waits until a TCP connection from the client namespace to $IP_S:$1 works.
val_wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		ip netns exec "$NS_C" bash -c "exec 3<>/dev/tcp/$IP_S/$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# "chrt -f VAL_RT" when real-time priority is asked for and possible: the
# servers (and the processes they fork) then wake on time on a loaded machine.
val_rt() {
	[ "$VAL_RT" != 0 ] && command -v chrt >/dev/null 2>&1 && printf 'chrt -f %s' "$VAL_RT"
	return 0
}

# val_real_run KIND REQS DELAYS...: KIND pg or redis; server-side capture.
# Writes DIR/real.truth; sets REAL_PORT.
val_real_run() {
	vr_kind=$1 vr_n=$2
	shift 2
	rm -f "$VAL_DIR/real.truth"
	case $vr_kind in
	pg)
		REAL_PORT=5432
		val_pg_start || return 1
		;;
	redis)
		REAL_PORT=6379
		mkdir -p "$VAL_DIR/redis"
		# A private instance in the namespace: "--enable-debug-command local"
		# (Debian's Redis 7) would refuse the client's address, so "yes".
		# shellcheck disable=SC2046
		val_start redis "$NS_S" $(val_rt) redis-server --bind "$IP_S" --port "$REAL_PORT" --save '' --appendonly no \
			--enable-debug-command yes --protected-mode no --daemonize no --dir "$VAL_DIR/redis" \
			--logfile "$VAL_DIR/redis/redis.log" --slowlog-log-slower-than 0 --slowlog-max-len 100000
		rsrv=$VAL_LAST
		;;
	esac
	val_wait_port "$REAL_PORT" || { val_log "$vr_kind: nothing listening on port $REAL_PORT"; return 1; }
	sleep 0.2
	VAL_SNAPLEN=0 val_capture_start server "$VAL_DIR/capture.pcap"
	rrc=0
	for vr_d in "$@"; do
		vr_s=$(awk -v d="$vr_d" 'BEGIN { printf "%.3f", d / 1000 }')
		case $vr_kind in
		pg)
			set --
			j=0
			while [ $j -lt "$vr_n" ]; do
				set -- "$@" -c "SELECT pg_sleep($vr_s)"
				j=$((j + 1))
			done
			ip netns exec "$NS_C" env PGSSLMODE=disable PGGSSENCMODE=disable PGCONNECT_TIMEOUT=10 \
				psql -X -q -A -t -h "$IP_S" -p "$REAL_PORT" -U postgres -d postgres "$@" \
				>/dev/null 2>>"$VAL_DIR/client.err" || rrc=1
			;;
		redis)
			ip netns exec "$NS_C" redis-cli -h "$IP_S" -p "$REAL_PORT" -r "$vr_n" DEBUG SLEEP "$vr_s" \
				>/dev/null 2>>"$VAL_DIR/client.err" || rrc=1
			;;
		esac
		echo "$vr_d $vr_n" >>"$VAL_DIR/real.truth"
	done
	sleep 0.3
	val_capture_stop || rrc=1
	case $vr_kind in
	pg)
		val_pg_stop
		# The server's own time of each statement, in order (one client at
		# a time): log_min_duration_statement's "duration: 5.143 ms".
		sed -n 's/.*duration: \([0-9.]*\) ms  statement: SELECT pg_sleep(.*/\1/p' "$VAL_DIR/pg/server.log" |
			awk '{ printf "%d\n", $1 * 1000 + 0.5 }' >"$VAL_DIR/real.server"
		;;
	redis)
		# Its own time of each command (the slow log, every command, newest
		# first): microseconds, oldest first.
		ip netns exec "$NS_C" redis-cli -2 --json -h "$IP_S" -p "$REAL_PORT" SLOWLOG GET -1 >"$VAL_DIR/slowlog.json" ||
			rrc=1
		jq -r 'reverse | .[] | select(.[3][0] == "DEBUG") | .[2]' "$VAL_DIR/slowlog.json" >"$VAL_DIR/real.server" || rrc=1
		val_stop "$rsrv"
		;;
	esac
	[ $rrc = 0 ] || val_log "$vr_kind: a client failed (see $VAL_DIR/client.err)"
	[ $rrc = 0 ]
}

# The checks of a real server scenario (compare-real.sh's results): every
# request measured once, complete, and for every requested delay the median
# first_us and think_us within 1 ms of the requested delay and of the
# server's own time.  PostgreSQL does not always keep the requested time:
# the checks against the requested delay are left out with $3 "srv-only".
val_check_real() {
	r=$1
	val_expect "$r" "$2: one complete transaction per request" \
		'v["real_requests"] > 0 && v["real_matched"] == v["real_requests"] && v["real_records"] == v["real_requests"] && v["real_not_complete"] == 0'
	val_expect "$r" "$2: no negative time" 'v["negative_times"] == 0'
	val_expect "$r" "$2: one server time logged per request" 'v["real_server_n"] == v["real_requests"]'
	val_expect "$r" "$2: median first_us within 1 ms of the server's own time for every delay" \
		'v["real_delays"] > 0 && v["real_delays_srv_ok"] == v["real_delays"]'
	val_expect "$r" "$2: median think_us within 1 ms of the server's own time for every delay" \
		'v["real_delays"] > 0 && v["real_delays_srv_think_ok"] == v["real_delays"]'
	if [ "${3:-}" != srv-only ]; then
		val_expect "$r" "$2: median first_us within 1 ms of every requested delay" \
			'v["real_delays"] > 0 && v["real_delays_ok"] == v["real_delays"]'
		val_expect "$r" "$2: median think_us within 1 ms of every requested delay" \
			'v["real_delays"] > 0 && v["real_delays_think_ok"] == v["real_delays"]'
	fi
}
