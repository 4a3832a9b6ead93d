#!/bin/bash
# redis-benchmark with pipelines (-P 16, then -P 32: artmon's largest
# --max-pending) against a real redis-server: artmon must report one
# transaction per command, equal per command name to the difference in the
# server's own "INFO commandstats" (calls + rejected_calls) before and
# after the capture.  The INFO commands that read the statistics are
# issued outside the capture and left out of the comparison; everything
# else (redis-benchmark's own CONFIG GET, PING...) is counted on both sides.
. "$(dirname "$0")/lib.sh"
pl_init redis redis-server redis-cli redis-benchmark
pl_net

mkdir -p "$pl_work/redis"
pl_bg redis redis-server --bind $pl_s4 --port 6379 --save '' --appendonly no \
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
pl_end
