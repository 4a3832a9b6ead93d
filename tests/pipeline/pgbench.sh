#!/bin/bash
# pgbench against a real PostgreSQL, in extended-protocol mode (-M
# extended) and, where pgbench has it (PostgreSQL 14 and later), in
# pipeline mode (\startpipeline ... \endpipeline).  What artmon calls a
# request on PostgreSQL is a batch of client messages ending at Sync (or a
# simple Query), answered by one ReadyForQuery, plus the startup of each
# connection (doc/framing.md).  So, for each run, captured on its own:
#
#   artmon's transactions = connections + batches
#
# and both terms are counted by the server itself:
#  - connections: "connection authorized" lines (log_connections) during
#    the run; artmon's "startup" signature must equal them;
#  - batches: pg_stat_database.xact_commit of the benchmark's database.
#    The scripts use no BEGIN/COMMIT, so every batch up to its Sync is one
#    implicit transaction and commits once: three per run of the extended
#    script (three statements, each its own Parse/Bind/Describe/Execute/
#    Sync), one per run of the pipeline script (three statements, one Sync
#    at \endpipeline).  The statistics are read from another database, so
#    reading them does not move the count; the transactions of each
#    connection's startup are measured in a calibration run (connections
#    only, no statement) rather than assumed.
# The server log (log_statement = all, lines of database bench: the
# statistics queries go to database postgres) must show every statement once:
# three per script run in both modes (pipelined statements are executed one
# by one but answered as one batch).
. "$(dirname "$0")/lib.sh"
pl_init pgbench pgbench psql runuser
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$pgbin/initdb" ] && [ -x "$pgbin/pg_ctl" ] || pl_skip "PostgreSQL server binaries not found"
id postgres >/dev/null 2>&1 || pl_skip "no user postgres"
pl_net

pg=$pl_work/pg
mkdir -p "$pg/data" "$pg/sock"
chown -R postgres: "$pg"
runuser -u postgres -- "$pgbin/initdb" -D "$pg/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C \
	>"$pl_work/initdb.log" 2>&1 || { cat "$pl_work/initdb.log"; pl_skip "initdb failed"; }
echo "host all all 10.97.0.0/24 trust" >>"$pg/data/pg_hba.conf"
pg_started=0
pg_stop() {
	[ "$pg_started" = 1 ] && pl_s runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1
	pg_started=0
}
pl_cleanup_hook=pg_stop
pl_s runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w \
	-o "-c listen_addresses='$pl_s4' -p 5432 -c unix_socket_directories='$pg/sock' -c ssl=off -c fsync=off -c log_connections=on -c log_statement=all -c log_line_prefix='%m [%p] db=%d '" \
	start >/dev/null || { cat "$pg/server.log"; pl_fail "PostgreSQL did not start"; exit 1; }
pg_started=1
pl_wait_port 5432

export PGSSLMODE=disable PGGSSENCMODE=disable PGCONNECT_TIMEOUT=10 PGUSER=postgres PGHOST=$pl_s4
sql() { pl_c psql -X -q -A -t -d postgres -v ON_ERROR_STOP=1 -c "$1"; }
sql 'create database bench' >/dev/null || { pl_fail "create database"; exit 1; }
pl_c pgbench -i -q -s 1 bench >"$pl_work/pgbench-init.log" 2>&1 || { pl_fail "pgbench -i: $(tail -3 "$pl_work/pgbench-init.log")"; exit 1; }

# committed transactions of database bench, once the backends that ran them
# have gone (a backend reports its counts when it exits) and the count has
# stopped moving
commits() {
	local i n prev=-1
	for i in $(seq 1 50); do
		n=$(sql "select count(*) from pg_stat_activity where datname = 'bench'")
		[ "$n" = 0 ] && break
		sleep 0.1
	done
	for i in $(seq 1 20); do
		sleep 0.2
		n=$(sql "select pg_stat_clear_snapshot(); select xact_commit from pg_stat_database where datname = 'bench'" | tail -n1)
		[ "$n" = "$prev" ] && break
		prev=$n
	done
	echo "$n"
}
loglines() { wc -l <"$pg/server.log"; }

cat >"$pl_work/extended.sql" <<'EOF'
\set aid random(1, 100000)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
SELECT count(*) FROM pgbench_branches WHERE bid = 1;
EOF
cat >"$pl_work/pipeline.sql" <<'EOF'
\set aid random(1, 100000)
\startpipeline
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_accounts SET abalance = abalance - 1 WHERE aid = :aid;
SELECT count(*) FROM pgbench_branches WHERE bid = 1;
\endpipeline
EOF
cat >"$pl_work/connect.sql" <<'EOF'
\set aid 1
EOF

# run NAME CLIENT-COMMAND...: one capture per run; sets conns, batches
# (server), stmts (server), runs (pgbench's report), txn (artmon)
run() {
	local name=$1 c0 c1 l0
	shift
	c0=$(commits); l0=$(loglines)
	pl_cap_start "tcp port 5432"
	pl_c "$@" >"$pl_work/$name.out" 2>&1 || pl_fail "$name: $1 failed: $(tail -3 "$pl_work/$name.out")"
	pl_cap_stop
	c1=$(commits)
	pl_read
	mv "$pl_work/cap.pcap" "$pl_work/$name.pcap"
	mv "$pl_work/txn.jsonl" "$pl_work/$name.jsonl"
	tail -n +"$((l0 + 1))" "$pg/server.log" >"$pl_work/$name.log"
	conns=$(grep -c 'connection authorized: user=postgres database=bench' "$pl_work/$name.log")
	stmts=$(grep -E -c ' db=bench LOG:  (execute [^:]*|statement): ' "$pl_work/$name.log")
	batches=$((c1 - c0))
	runs=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$pl_work/$name.out")
	txn=$(jq -s 'map(select(.server_port == 5432)) | length' "$pl_work/$name.jsonl")
	startups=$(jq -s 'map(select(.server_port == 5432 and .signature == "startup")) | length' "$pl_work/$name.jsonl")
	nbad=$(jq -r 'select(.server_port == 5432 and (.outcome != "complete" or .first_us == null))' "$pl_work/$name.jsonl" | grep -c '^{')
	echo "$pl_name: $name: ${runs:+pgbench $runs script runs; }server: $conns connections, $stmts statements, $batches commits (batches); artmon: $txn transactions, $startups startups"
	[ -n "$runs" ] || runs=0
	[ "$nbad" -eq 0 ] || pl_fail "$name: $nbad transactions not complete or without a response"
	[ "$startups" -eq "$conns" ] || pl_fail "$name: artmon reports $startups startups, the server authorized $conns connections"
}

# calibration: connections that run no statement (-t 1 of a script
# without SQL): the commits they add to bench are the startups' own
run connect pgbench -n -c 2 -t 1 -f "$pl_work/connect.sql" bench
startup_commits=$batches
[ "$stmts" -eq 0 ] || pl_fail "connect: $stmts statements logged, none sent"
if [ $((startup_commits % conns)) -ne 0 ] || [ "$startups" -ne "$conns" ]; then
	pl_fail "calibration: $startup_commits commits for $conns connections"
	per_conn=0
else
	per_conn=$((startup_commits / conns))
fi
[ "$txn" -eq "$conns" ] || pl_fail "connect: artmon reports $txn transactions for $conns connection startups"
echo "$pl_name: calibration: each connection's startup commits $per_conn transaction(s) in its database"

check() {   # check NAME STATEMENTS-PER-RUN BATCHES-PER-RUN
	local name=$1 spr=$2 bpr=$3 b
	b=$((batches - per_conn * conns))
	[ "$stmts" -eq $((runs * spr)) ] || pl_fail "$name: the server logged $stmts statements, pgbench ran $runs x $spr"
	[ "$b" -eq $((runs * bpr)) ] || pl_fail "$name: the server committed $b batch transactions, $runs x $bpr expected from pgbench's count"
	if [ "$txn" -eq $((conns + b)) ]; then
		pl_ok "$name: $txn transactions = $conns connections + $b batches (server's counts)"
	else
		pl_fail "$name: artmon reports $txn transactions, the server counted $conns connections + $b batches = $((conns + b))"
	fi
}

run extended pgbench -n -M extended -c 3 -t 150 -f "$pl_work/extended.sql" bench
check extended 3 3
[ "$runs" -eq 450 ] || pl_fail "extended: pgbench ran $runs scripts, 450 asked"
# each statement is its own request, named by its command
sigs=$(jq -r 'select(.server_port == 5432 and .signature != "startup") | .signature' "$pl_work/extended.jsonl" | sort | uniq -c | awk '{ printf "%s %s;", $2, $1 }')
[ "$sigs" = "SELECT $((2 * runs));UPDATE $runs;" ] || pl_fail "extended: signatures $sigs, expected SELECT $((2 * runs));UPDATE $runs;"

ver=$(pgbench --version | sed -n 's/.* \([0-9][0-9]*\)[.0-9]*.*/\1/p' | head -n1)
if [ "${ver:-0}" -ge 14 ]; then
	run pipeline pgbench -n -M extended -c 3 -t 150 -f "$pl_work/pipeline.sql" bench
	check pipeline 3 1
	[ "$runs" -eq 450 ] || pl_fail "pipeline: pgbench ran $runs scripts, 450 asked"
	# one request per pipeline, named by its first statement, holding the
	# three statements: longer than any single-statement batch
	sigs=$(jq -r 'select(.server_port == 5432 and .signature != "startup") | .signature' "$pl_work/pipeline.jsonl" | sort | uniq -c | awk '{ printf "%s %s;", $2, $1 }')
	[ "$sigs" = "SELECT $runs;" ] || pl_fail "pipeline: signatures $sigs, expected SELECT $runs;"
	maxe=$(jq -s 'map(select(.server_port == 5432 and .signature != "startup") | .req_bytes) | max' "$pl_work/extended.jsonl")
	minp=$(jq -s 'map(select(.server_port == 5432 and .signature != "startup") | .req_bytes) | min' "$pl_work/pipeline.jsonl")
	if [ "$minp" -gt "$maxe" ]; then
		pl_ok "pipeline: every batch holds more bytes ($minp or more) than any single statement ($maxe at most)"
	else
		pl_fail "pipeline: a batch of $minp bytes, not more than a single statement ($maxe)"
	fi
else
	echo "$pl_name: pgbench $ver has no pipeline mode: not tested"
fi

# Batches pipelined on the wire, which pgbench does not do (it waits for
# each \endpipeline's results): NB extended-protocol batches (Parse, Bind,
# Execute, Sync each) and a Terminate in one write; batch K runs
# pg_sleep(D ms), the others return at once.  The server answers them in
# order; artmon must pair each batch with its own ReadyForQuery: batch K
# first_us >= D, the batches before it below D.  Twice: the batches written
# once the startup has been answered (as a pipelining driver does), then
# the startup message and the batches all in the same write.  The protocol
# says a frontend may issue commands once ReadyForQuery arrives, but with
# trust authentication the server reads and runs commands sent before it
# (the log shows all twelve): a monitor must then count them, or at least
# count them as lost, not drop them silently.
NB=12 K=5 D=200
be32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)))"; }
p='user\0postgres\0database\0bench\0application_name\0rawpipe\0\0'
plen=$(printf "$p" | wc -c)
{ be32 $((8 + plen)); be32 196608; printf "$p"; } >"$pl_work/startup.req"
{
	for i in $(seq 1 "$NB"); do
		q="SELECT $i AS batch"
		[ "$i" = "$K" ] && q="SELECT pg_sleep($D / 1000.0), $i AS batch"
		printf P; be32 $((4 + 1 + ${#q} + 1 + 2)); printf '\0%s\0\0\0' "$q"
		printf B; be32 12; printf '\0\0\0\0\0\0\0\0'
		printf E; be32 9; printf '\0\0\0\0\0'
		printf S; be32 4
	done
	printf X; be32 4
} >"$pl_work/batches.req"
cat "$pl_work/startup.req" "$pl_work/batches.req" >"$pl_work/all.req"

raw_check() {   # raw_check NAME
	local name=$1 b
	b=$((batches - per_conn * conns))
	[ "$conns" -eq 1 ] || pl_fail "$name: the server authorized $conns connections, 1 made"
	[ "$stmts" -eq "$NB" ] || pl_fail "$name: the server logged $stmts statements, $NB sent"
	[ "$b" -eq "$NB" ] || pl_fail "$name: the server committed $b batch transactions, $NB sent"
	if [ "$txn" -eq $((conns + b)) ]; then
		pl_ok "$name: $txn transactions = 1 connection + $b batches pipelined in one write"
	else
		pl_fail "$name: artmon reports $txn transactions, the server counted $conns connection + $b batches (capture: $pl_work/$name.pcap)"
	fi
	jq -r 'select(.server_port == 5432 and .signature != "startup") | [.ts, .first_us] | @tsv' "$pl_work/$name.jsonl" |
		sort -s -k1,1n -k2,2n | awk -v k=$K -v n=$NB -v D=$D -v name="$pl_name: $name" '
		{ f[++c] = $2 }
		END {
			if (c != n) { printf "FAIL: %s: %d batches timed, %d sent\n", name, c, n; exit 1 }
			for (i = 1; i <= k; i++) {
				if (f[i] == "null") { printf "FAIL: %s: batch %d: no first_us\n", name, i; bad = 1; continue }
				if (i < k && f[i] >= D * 1000) { printf "FAIL: %s: batch %d (before the delayed one): first_us %d >= %d\n", name, i, f[i], D * 1000; bad = 1 }
				if (i == k && f[i] < D * 1000) { printf "FAIL: %s: batch %d (pg_sleep %d ms): first_us %d < %d\n", name, i, D, f[i], D * 1000; bad = 1 }
				line = line " " f[i]
			}
			if (!bad) printf "ok: %s: batch %d of %d delayed %d ms: first_us of batches 1..%d:%s\n", name, k, n, D, k, line
			exit bad
		}' || pl_rc=1
}
run raw-after-startup timeout 20 bash -c "exec 3<>/dev/tcp/$pl_s4/5432; cat '$pl_work/startup.req' >&3; sleep 0.3; cat '$pl_work/batches.req' >&3; cat <&3 >/dev/null"
raw_check raw-after-startup
run raw-with-startup timeout 20 bash -c "exec 3<>/dev/tcp/$pl_s4/5432; cat '$pl_work/all.req' >&3; cat <&3 >/dev/null"
raw_check raw-with-startup
pl_end
