#!/bin/bash
# Interim responses and per-request timelines against tests/tools/sleepd,
# which sleeps as each request asks:
#  - a POST with "Expect: 100-continue": sleepd answers "100 Continue" at
#    once, then the final response D ms after the body.  artmon must report
#    one transaction (the interim response is not one) with first_us >= D.
#  - a batch of pipelined GETs in one write where only request k sleeps D
#    ms: request k has first_us >= D, the requests before it first_us < D
#    (each pipelined request has its own timeline, not the batch's).
# Every request is counted once: artmon's transactions = sleepd's truth
# file (one line per request it served).
. "$(dirname "$0")/lib.sh"
pl_init sleepd curl
pl_net

D=200   # ms
if [ -x "${top_builddir:-/nonexistent}/tests/tools/sleepd" ]; then
	sleepd=$top_builddir/tests/tools/sleepd
else
	sleepd=$pl_work/sleepd
	"${CC:-cc}" -O2 -o "$sleepd" "$pl_here/../tools/sleepd.c" || pl_skip "cannot build sleepd"
fi
: >"$pl_work/truth"
pl_bg sleepd "$sleepd" -l $pl_s4 -p 8080 -t "$pl_work/truth"
pl_wait_port 8080
sleep 0.3

S="http://$pl_s4:8080/sleep"
head -c 3000 /dev/zero | tr '\0' 'p' >"$pl_work/body"
# pipelined batches: "k n" = request k of n sleeps D ms, the others none
batches="3 6
1 4
5 5"
for b in $(seq 1 3); do
	set -- $(echo "$batches" | sed -n "${b}p")
	k=$1 n=$2
	{
		for i in $(seq 1 "$n"); do
			ms=0; [ "$i" = "$k" ] && ms=$D
			conn=""; [ "$i" = "$n" ] && conn=$'Connection: close\r\n'
			# in the first batch, request 2 has a chunked body sent 20 ms
			# after its headers (the requests behind it wait for it, well
			# below D)
			# in the last batch, the last response has no length: it ends
			# at the close
			extra=""
			[ "$b" = 1 ] && [ "$i" = 2 ] && extra="&chunks=3&body_delay=20"
			[ "$b" = 3 ] && [ "$i" = "$n" ] && extra="&close=1&body_delay=30"
			printf 'GET /sleep?ms=%s&size=%s&i=%s%s HTTP/1.1\r\nHost: pl\r\n%s\r\n' "$ms" $((i * 700)) "$i" "$extra" "$conn"
		done
	} >"$pl_work/batch$b"
done

pl_cap_start "tcp port 8080"
# two POSTs with Expect: 100-continue on one connection (curl waits for
# the 100 before sending the body), then a plain GET
pl_c curl -sS --max-time 20 -o /dev/null -H 'Expect: 100-continue' --data-binary @"$pl_work/body" \
	"$S?ms=$D&size=300" --next -o /dev/null -H 'Expect: 100-continue' --data-binary @"$pl_work/body" \
	"$S?ms=$((D / 2))&size=5000" --next -o /dev/null "$S?ms=0&size=10" || pl_fail "curl failed"
for b in 1 2 3; do
	pl_c timeout 20 bash -c "exec 3<>/dev/tcp/$pl_s4/8080; cat '$pl_work/batch$b' >&3; cat <&3 >/dev/null" ||
		pl_fail "batch $b: client failed"
done
pl_cap_stop
pl_read

# the scenario itself: two interim responses on the wire, before the body
ncont=$(grep -a -c 'HTTP/1.1 100 Continue' "$pl_work/cap.pcap")
[ "$ncont" -eq 2 ] || pl_fail "the capture holds $ncont '100 Continue' responses, 2 expected (test setup)"
nint=$(sed -n 's/.*, \([0-9]*\) interim responses.*/\1/p' "$pl_work/read.err")
[ "$nint" = 2 ] || pl_fail "artmon counted ${nint:-?} interim responses, 2 were sent"

ntruth=$(wc -l <"$pl_work/truth")
ntx=$(jq -s 'map(select(.server_port == 8080)) | length' "$pl_work/txn.jsonl")
[ "$ntruth" -eq 18 ] || pl_fail "sleepd served $ntruth requests, 18 sent"
[ "$ntx" -eq "$ntruth" ] && pl_ok "$ntx transactions = sleepd's $ntruth requests" ||
	pl_fail "artmon reports $ntx transactions, sleepd served $ntruth requests"

# per connection, in request order: client port, request number, first_us,
# status, method, outcome, request bytes, last_us
jq -r 'select(.server_port == 8080) | [.client_port, .ts, .first_us, .status, .signature, .outcome, .req_bytes, .last_us] | @tsv' \
	"$pl_work/txn.jsonl" | sort -s -t"$(printf '\t')" -k1,1n -k2,2n -k3,3n |
	awk -F'\t' '{ if ($1 != p) { p = $1; i = 0 } print $1 "\t" ++i "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7 "\t" $8 }' >"$pl_work/txn.tsv"
# connections in the order they were made = client ports from sleepd's
# truth file in order of appearance
ports=$(awk '{ sub("client_port=", "", $2); if (!seen[$2]++) print $2 }' "$pl_work/truth")
set -- $ports
[ $# -eq 4 ] || { pl_fail "sleepd saw $# connections, 4 expected"; pl_end; }

# Expect: 100-continue
post=$1; shift
awk -v p="$post" -v D=$D -v name="$pl_name" -F'\t' '
	$1 == p { n++; f[n] = $3; st[n] = $4; m[n] = $5; o[n] = $6; rb[n] = $7 }
	function chk(i, want, min, max) {
		if (m[i] != want || st[i] != 200 || o[i] != "complete") {
			printf "FAIL: %s: POST connection, request %d: %s %s %s, expected %s 200 complete\n", name, i, m[i], st[i], o[i], want; bad = 1
		} else if (f[i] == "null" || f[i] < min || f[i] > max) {
			printf "FAIL: %s: POST connection, request %d: first_us %s, expected %d..%d (the final response, not the 100 Continue)\n", name, i, f[i], min, max; bad = 1
		} else printf "ok: %s: %s %d: first_us %d in %d..%d%s, %d request bytes\n", name, want, i, f[i], min, max, (want == "POST") ? " (the final response, after the 100 Continue)" : "", rb[i]
	}
	END {
		if (n != 3) { printf "FAIL: %s: POST connection: %d transactions, 3 requests were sent (2 POSTs with 100 Continue, a GET)\n", name, n; exit 1 }
		chk(1, "POST", D * 1000, D * 1000 + 2000000)
		chk(2, "POST", D * 500, D * 500 + 2000000)
		chk(3, "GET", 0, D * 500 - 1)
		# the request includes its body: sent after the 100 Continue
		if (rb[1] < 3000 || rb[2] < 3000) { printf "FAIL: %s: POST request bytes %s and %s, each carries a 3000-byte body\n", name, rb[1], rb[2]; bad = 1 }
		exit bad
	}' "$pl_work/txn.tsv" || pl_rc=1

# pipelined batches
for b in 1 2 3; do
	set -- $(echo "$batches" | sed -n "${b}p")
	k=$1 n=$2
	port=$(echo "$ports" | sed -n "$((b + 1))p")
	awk -v p="$port" -v k="$k" -v n="$n" -v D=$D -v name="$pl_name" -v b="$b" -F'\t' '
		$1 == p { c++; f[c] = $3; st[c] = $4; o[c] = $6; l[c] = $8 }
		END {
			if (c != n) { printf "FAIL: %s: batch %d (request %d of %d delayed): %d transactions\n", name, b, k, n, c; exit 1 }
			for (i = 1; i <= n; i++) {
				if (st[i] != 200 || o[i] != "complete") { printf "FAIL: %s: batch %d request %d: status %s outcome %s\n", name, b, i, st[i], o[i]; bad = 1 }
				if (f[i] == "null") { printf "FAIL: %s: batch %d request %d: no first_us\n", name, b, i; bad = 1; continue }
				if (i < k && f[i] >= D * 1000) { printf "FAIL: %s: batch %d request %d (before the delayed one): first_us %d >= %d\n", name, b, i, f[i], D * 1000; bad = 1 }
				if (i >= k && f[i] < D * 1000) { printf "FAIL: %s: batch %d request %d (the delayed one or after it): first_us %d < %d\n", name, b, i, f[i], D * 1000; bad = 1 }
				line = line sprintf(" %d", f[i])
			}
			# the close-delimited body of the last batch: 30 ms after its headers
			if (b == 3 && (l[n] == "null" || l[n] < (D + 30) * 1000)) { printf "FAIL: %s: batch 3 request %d (body delimited by the close, 30 ms after the headers): last_us %s < %d\n", name, n, l[n], (D + 30) * 1000; bad = 1 }
			if (!bad) printf "ok: %s: batch %d, request %d of %d delayed %d ms: first_us%s\n", name, b, k, n, D, line
			exit bad
		}' "$pl_work/txn.tsv" || pl_rc=1
done
pl_end
