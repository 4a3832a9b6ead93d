#!/bin/bash
# redis-benchmark with pipelines (-P 16, then -P 32: artmon's largest
# --max-pending) against a real redis-server: artmon must report one
# transaction per command, equal per command name to the difference in the
# server's own "INFO commandstats" (calls + rejected_calls) before and
# after the capture.  The INFO commands that read the statistics are
# issued outside the capture and left out of the comparison; everything
# else (redis-benchmark's own CONFIG GET, PING...) is counted on both sides.
# Then ten pipelined commands where only the fourth (DEBUG SLEEP) takes D
# ms: its first_us >= D, the three before it below D.  They go in two
# writes, three commands then, 50 ms later, seven: Redis writes the replies
# to the commands of one read together, after the last of them (seen
# here: with all ten in one write, the first reply leaves after the sleep),
# so only an earlier write can be answered before the sleep.
. "$(dirname "$0")/lib.sh"
pl_init redis redis-server redis-cli redis-benchmark
pl_net

mkdir -p "$pl_work/redis"
pl_bg redis redis-server --bind $pl_s4 --port 6379 --save '' --appendonly no --enable-debug-command yes \
	--protected-mode no --daemonize no --dir "$pl_work/redis" --logfile "$pl_work/redis/redis.log"
pl_wait_port 6379
sleep 0.2

# command name (upper case, without a "|subcommand") and calls, one a line
stats() {
	pl_c redis-cli -h $pl_s4 -p 6379 INFO commandstats | tr -d '\r' |
		awk -F'[:,=]' '/^cmdstat_/ {
			name = toupper(substr($1, 9)); sub(/\|.*/, "", name)
			calls = 0
			for (i = 2; i < NF; i += 2) if ($i == "calls" || $i == "rejected_calls") calls += $(i + 1)
			n[name] += calls
		} END { for (c in n) print c "\t" n[c] }' | sort
}
stats >"$pl_work/before"

pl_cap_start "tcp port 6379"
pl_c redis-benchmark -h $pl_s4 -p 6379 -q -c 4 -n 2000 -P 16 -d 20 -t set,get,lpush,lrange_100 \
	>"$pl_work/bench1" 2>&1 || pl_fail "redis-benchmark -P 16 failed: $(tail -3 "$pl_work/bench1")"
pl_c redis-benchmark -h $pl_s4 -p 6379 -q -c 2 -n 1000 -P 32 -t incr,rpush \
	>"$pl_work/bench2" 2>&1 || pl_fail "redis-benchmark -P 32 failed: $(tail -3 "$pl_work/bench2")"
# RESP commands, one a line of words, in one write; the connection is
# closed once the replies are in
D=200
resp() { awk '{ printf "*%d\r\n", NF; for (i = 1; i <= NF; i++) printf "$%d\r\n%s\r\n", length($i), $i }'; }
printf '%s\n' "SET pk1 one" "GET pk1" "INCR pc" | resp >"$pl_work/batch1"
printf '%s\n' "DEBUG SLEEP $(awk -v d=$D 'BEGIN { print d / 1000 }')" \
	"GET pk1" "INCR pc" "LPUSH pl a b c" "LRANGE pl 0 -1" "DEL pk1 pc pl" "PING" | resp >"$pl_work/batch2"
pl_c timeout 10 bash -c "exec 3<>/dev/tcp/$pl_s4/6379; cat '$pl_work/batch1' >&3; sleep 0.05; cat '$pl_work/batch2' >&3; sleep $(awk -v d=$D 'BEGIN { print d / 1000 + 0.5 }')" ||
	pl_fail "pipelined batch: client failed"
pl_cap_stop
stats >"$pl_work/after"
pl_read

# server: calls during the capture per command (INFO left out)
join -t "$(printf '\t')" -a 2 -e 0 -o 0,1.2,2.2 "$pl_work/before" "$pl_work/after" |
	awk -F'\t' '$1 != "INFO" && $3 - $2 > 0 { print $1 "\t" $3 - $2 }' | sort >"$pl_work/server"
# artmon: transactions on 6379 per signature
jq -r 'select(.server_port == 6379) | .signature' "$pl_work/txn.jsonl" | sort | uniq -c |
	awk '{ print $2 "\t" $1 }' | sort >"$pl_work/artmon"
nsrv=$(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$pl_work/server")
nam=$(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$pl_work/artmon")
echo "$pl_name: server commandstats delta: $(tr '\t\n' '= ' <"$pl_work/server")"
if [ "$nsrv" -lt 6000 ]; then
	pl_fail "the server counted only $nsrv commands (test setup)"
elif diff "$pl_work/server" "$pl_work/artmon" >"$pl_work/diff"; then
	pl_ok "$nam transactions = the server's $nsrv commands, per command"
else
	pl_fail "per command, server (<) and artmon (>) differ: server $nsrv commands, artmon $nam transactions"
	cat "$pl_work/diff"
fi
nbad=$(jq -r 'select(.server_port == 6379 and (.outcome != "complete" or .first_us == null))' "$pl_work/txn.jsonl" | grep -c '^{')
[ "$nbad" -eq 0 ] || pl_fail "$nbad transactions not complete or without a response"
# the batch: the connection whose transactions include DEBUG
port=$(jq -r 'select(.server_port == 6379 and .signature == "DEBUG") | .client_port' "$pl_work/txn.jsonl" | head -n1)
jq -r --argjson p "${port:-0}" 'select(.server_port == 6379 and .client_port == $p) | [.ts, .first_us, .signature] | @tsv' "$pl_work/txn.jsonl" |
	sort -s -k1,1n -k2,2n | awk -v D=$D -v name="$pl_name" -F'\t' '
	{ f[++n] = $2; s[n] = $3 }
	END {
		want = "SET GET INCR DEBUG GET INCR LPUSH LRANGE DEL PING"; nw = split(want, w, " ")
		if (n != nw) { printf "FAIL: %s: pipelined batch: %d transactions, %d commands sent\n", name, n, nw; exit 1 }
		for (i = 1; i <= n; i++) {
			if (s[i] != w[i]) { printf "FAIL: %s: pipelined batch: command %d is %s, %s sent\n", name, i, s[i], w[i]; bad = 1 }
			if (f[i] == "null") { printf "FAIL: %s: pipelined batch: command %d: no first_us\n", name, i; bad = 1; continue }
			if (i < 4 && f[i] >= D * 1000) { printf "FAIL: %s: pipelined batch: command %d (before DEBUG SLEEP): first_us %d >= %d\n", name, i, f[i], D * 1000; bad = 1 }
			if (i >= 4 && f[i] < D * 1000) { printf "FAIL: %s: pipelined batch: command %d (DEBUG SLEEP or after): first_us %d < %d\n", name, i, f[i], D * 1000; bad = 1 }
			line = line " " f[i]
		}
		if (!bad) printf "ok: %s: pipelined batch, the 4th of 10 commands sleeps %d ms: first_us%s\n", name, D, line
		exit bad
	}' || pl_rc=1
pl_end
