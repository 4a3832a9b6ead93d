#!/bin/bash
# Ground truth from sleepd (tests/captures/http-sleep.truth, written by
# scripts/mkcaptures): artmon's think time is never below the sleep the
# request asked for, its median error is under 1 ms, and a body delayed by
# D ms shows as last_us - first_us >= D ms.  Every request in the truth file
# must match one artmon transaction (same client, client port and order on
# the connection) and artmon may report no other transaction on port 8080.
#   captures-truth.sh [PCAP TRUTH]   (default: the committed capture)
set -u
. "$(dirname "$0")/captures-lib.sh"
command -v jq >/dev/null || { echo "jq missing (scripts/install-deps)"; exit 77; }
pcap=${1:-$cap_dir/http-sleep.pcap}
truth=${2:-${pcap%.pcap}.truth}
[ -f "$pcap" ] && [ -f "$truth" ] || { echo "missing $pcap or $truth"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/truth.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cap_read "$pcap" >"$tmp/out.jsonl" || { echo "artmon read failed"; exit 1; }
jq -r 'select(.server_port == 8080) | [.client, .client_port, .ts, (.first_us // "null"), (.last_us // "null"), (.think_us // "null"), .resp_bytes, .outcome] | @tsv' \
	"$tmp/out.jsonl" | sort -s -t"$(printf '\t')" -k1,1 -k2,2n -k3,3n >"$tmp/artmon.tsv"
# truth: client, port, seq, ms, body_delay, size
sed -e 's/^client=::ffff:\([0-9.]*\) /client=\1 /' "$truth" | sed -n 's/^client=\([^ ]*\) client_port=\([0-9]*\) seq=\([0-9]*\) ms=\([0-9]*\) body_delay=\([0-9]*\) size=\([0-9]*\) .*/\1\t\2\t\3\t\4\t\5\t\6/p' \
	| sort -s -t"$(printf '\t')" -k1,1 -k2,2n -k3,3n >"$tmp/truth.tsv"
[ "$(wc -l <"$tmp/truth.tsv")" -eq "$(wc -l <"$truth")" ] || { echo "$truth: unparsable lines"; exit 1; }

awk -F'\t' '
	FNR == 1 { file++ }
	file == 1 { k = $1 "|" $2; n1[k]++; ms[k, n1[k]] = $4; bd[k, n1[k]] = $5; sz[k, n1[k]] = $6; keys[k] = 1; total++; next }
	{ k = $1 "|" $2; n2[k]++; fi[k, n2[k]] = $4; la[k, n2[k]] = $5; th[k, n2[k]] = $6; rb[k, n2[k]] = $7; oc[k, n2[k]] = $8; keys[k] = 1 }
	function fail(msg) { print "FAIL: " msg; bad++ }
	END {
		for (k in keys) {
			if (n1[k] != n2[k]) fail(k ": sleepd served " n1[k] + 0 " requests, artmon reports " n2[k] + 0 " transactions")
			n = (n1[k] < n2[k]) ? n1[k] : n2[k]
			for (i = 1; i <= n; i++) {
				id = k " #" i " (ms=" ms[k, i] " body_delay=" bd[k, i] " size=" sz[k, i] ")"
				if (oc[k, i] != "complete") fail(id ": outcome " oc[k, i])
				if (th[k, i] == "null" || fi[k, i] == "null" || la[k, i] == "null") { fail(id ": a timing is null"); continue }
				want = ms[k, i] * 1000
				if (th[k, i] < want) fail(id ": think_us " th[k, i] " below the requested " want)
				err[++ne] = th[k, i] - want
				if (bd[k, i] > 0 && la[k, i] - fi[k, i] < bd[k, i] * 1000)
					fail(id ": last_us - first_us = " la[k, i] - fi[k, i] " below the body delay " bd[k, i] * 1000)
				if (rb[k, i] < sz[k, i]) fail(id ": resp_bytes " rb[k, i] " below the body size")
				printf "%-28s think_us %7d (sleep %6d, error %5d)  last-first %7d (body delay %6d)\n", id, th[k, i], want, th[k, i] - want, la[k, i] - fi[k, i], bd[k, i] * 1000
				if (bd[k, i] > 0) nd++
			}
		}
		if (total < 10) fail("only " total + 0 " requests in the truth file")
		if (nd < 3) fail("only " nd + 0 " delayed bodies checked")
		# median error (insertion sort, small n)
		for (i = 2; i <= ne; i++) { v = err[i]; for (j = i - 1; j >= 1 && err[j] > v; j--) err[j + 1] = err[j]; err[j + 1] = v }
		if (ne > 0) {
			med = (ne % 2) ? err[(ne + 1) / 2] : (err[ne / 2] + err[ne / 2 + 1]) / 2
			printf "%d requests, median think error %.1f us, max %d us\n", ne, med, err[ne]
			if (med >= 1000) fail("median think error " med " us is not under 1 ms")
		}
		exit bad > 0
	}' "$tmp/truth.tsv" "$tmp/artmon.tsv"
