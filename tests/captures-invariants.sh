#!/bin/bash
# Invariants of every transaction record of every committed capture, with the
# shipped rules and without rules (header-only timing):
#   timings are null or integers >= 0; think <= first <= last <= ack;
#   no response => first, last, think null (never 0); complete => a response;
#   rtt = srv_rtt + cli_rtt; req_bytes > 0; known outcome; a transaction
#   (start + longest timing) lies within its connection (--records
#   connections: ts, duration_us); and every capture yields transactions.  PostgreSQL and Redis captures hold requests that
#   sleep (pg_sleep(0.05), BLPOP 0.05): some think_us must reach 50 ms.
set -u
. "$(dirname "$0")/captures-lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/invariants.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
rc=0 n=0
check='
def t(f): (f == null) or ((f | type) == "number" and f >= 0 and f == (f | floor));
. as $r | [ (if (t(.first_us) and t(.last_us) and t(.ack_us) and t(.think_us) and t(.rtt_us) and t(.srv_rtt_us) and t(.cli_rtt_us)) then empty else "timing not a non-negative integer or null" end),
  (if .first_us != null and .think_us != null and .think_us > .first_us then "think > first" else empty end),
  (if .first_us != null and .last_us != null and .last_us < .first_us then "last < first" else empty end),
  (if .last_us != null and .ack_us != null and .ack_us < .last_us then "ack < last" else empty end),
  (if .first_us == null and (.last_us != null or .think_us != null) then "last/think without first" else empty end),
  (if .first_us != null and .last_us == null then "first without last" else empty end),
  (if .outcome == "complete" and .first_us == null then "complete without a response" else empty end),
  (if .resp_bytes == 0 and .first_us != null then "a response of 0 bytes" else empty end),
  (if .srv_rtt_us != null and .cli_rtt_us != null and .rtt_us != (.srv_rtt_us + .cli_rtt_us) then "rtt != srv_rtt + cli_rtt" else empty end),
  (if (.req_bytes | type) != "number" or .req_bytes <= 0 then "req_bytes not > 0" else empty end),
  (if (["complete","reset","timeout","incomplete","open","evicted"] | index([$r.outcome])) == null then "unknown outcome" else empty end),
  (if .proto != "tcp" or (.ts | type) != "number" then "proto/ts" else empty end)
] | select(length > 0) | "\(.) line \(input_line_number)"'
for pcap in "$cap_dir"/*.pcap; do
	name=$(basename "$pcap" .pcap)
	for mode in rules no-rules; do
		opts=""; [ $mode = no-rules ] && opts=--no-rules
		if ! CAP_READ_OPTS=$opts cap_read "$pcap" >"$tmp/$name.$mode.jsonl"; then
			echo "FAIL: $name ($mode): artmon read failed"; rc=1; continue
		fi
		cnt=$(wc -l <"$tmp/$name.$mode.jsonl")
		[ "$cnt" -gt 0 ] || { echo "FAIL: $name ($mode): no transactions"; rc=1; }
		jq -r "$check" "$tmp/$name.$mode.jsonl" >"$tmp/bad" 2>"$tmp/err" || {
			echo "FAIL: $name ($mode): not JSON Lines:"; head -5 "$tmp/err"; rc=1; continue; }
		if [ -s "$tmp/bad" ]; then
			echo "FAIL: $name ($mode): records break invariants (problems: record line):"
			head -20 "$tmp/bad"; rc=1
		else
			echo "ok: $name ($mode): $cnt transactions"
		fi
		# a transaction lies inside its connection's life
		artmon=$(cap_artmon)
		"$artmon" read -q -c "$cap_conf" $opts --records connections --format json "$pcap" |
			jq -r '[.client, .client_port, .server_port, .ts, .duration_us] | @tsv' >"$tmp/conns" 2>/dev/null
		jq -r '[.client, .client_port, .server_port, .ts, ([.first_us, .last_us, .ack_us] | map(select(. != null)) | max // 0)] | @tsv' \
			"$tmp/$name.$mode.jsonl" >"$tmp/txns" 2>/dev/null
		if ! awk -F'\t' 'FNR == 1 { file++ }
			file == 1 { k = $1 "|" $2 "|" $3; n[k]++; s[k, n[k]] = $4 * 1000000; e[k, n[k]] = $4 * 1000000 + $5; next }
			{ k = $1 "|" $2 "|" $3; t = $4 * 1000000; ok = 0
			  for (i = 1; i <= n[k]; i++) if (t >= s[k, i] - 1 && t + $5 <= e[k, i] + 1) ok = 1
			  if (!ok) { printf "transaction at %.0f (+%d us) of %s is outside its connection\n", t, $5, k; bad++ } }
			END { exit bad > 0 }' "$tmp/conns" "$tmp/txns"; then
			echo "FAIL: $name ($mode): transactions outside their connection"; rc=1
		fi
		case $name in pg|redis)
			slow=$(jq -r 'select(.think_us != null and .think_us >= 50000) | .think_us' "$tmp/$name.$mode.jsonl" | wc -l)
			[ "$slow" -ge 1 ] || { echo "FAIL: $name ($mode): no think time >= 50 ms (the capture has a 50 ms sleep)"; rc=1; }
		esac
		n=$((n + 1))
	done
done
[ "$n" -ge 8 ] || { echo "FAIL: only $((n / 2)) captures"; rc=1; }
exit $rc
