#!/bin/sh
# Compares artmon's transactions for a capture of the sleeping HTTP server
# (tests/tools/sleepd) with its ground truth.
#
#   compare-http.sh DIR
#
# DIR holds capture.pcap and sleepd.truth.  Needs ARTMON, jq, awk.  Writes
# DIR/results (key=value) and, one line per request, DIR/http-pairs:
#   requested_ms first_us server_us  (server_us: the server's own time from
#   the request complete to the headers written)
set -u
dir=$1
: "${ARTMON:?set ARTMON}"
port=${HTTP_PORT:-8080}

"$ARTMON" read -q --records transactions --format json "$dir/capture.pcap" |
	jq -r --argjson port "$port" 'select(.proto == "tcp" and .server_port == $port) |
	[.client_port, (.first_us | tostring), .outcome] | @tsv' >"$dir/http-artmon.tsv" || exit 1

awk -v out="$dir/http-pairs" '
FILENAME ~ /sleepd\.truth$/ {
	for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	c = f["client_port"]; k = f["seq"]
	ms[c, k] = f["ms"]; srv[c, k] = f["hdr_us"] - f["req_us"]
	ntruth++
	next
}
{
	c = $1; k = ++n[c]
	nart++
	if ($3 != "complete") notcomplete++
	if ($2 != "null" && $2 < 0) neg++
	if (!((c, k) in ms)) { unmatched++; next }
	if ($2 == "null") { nulltime++; next }
	matched++
	print ms[c, k], $2, srv[c, k] > out
}
END {
	printf "http_requests=%d\nhttp_records=%d\nhttp_matched=%d\nhttp_unmatched=%d\nhttp_null=%d\nhttp_not_complete=%d\nnegative_times=%d\n", \
		ntruth, nart, matched, unmatched, nulltime, notcomplete, neg
}' "$dir/sleepd.truth" "$dir/http-artmon.tsv" >"$dir/results" || exit 1
touch "$dir/http-pairs"
# Per requested delay: n, median (first_us - delay), max |first_us - delay|,
# median and max |first_us - server's own time|.
sort -n -k1,1 "$dir/http-pairs" | awk '
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return a[int((n + 1) / 2)]
	}
	function flush(   m1, m2) {
		if (cnt == 0) return
		m1 = med(e, cnt); m2 = med(s, cnt)
		printf "http_delay_%s_ms=%d %d %d %d %d\n", cur, cnt, m1, mx, m2, mxs
		nd++
		if (m1 >= -1000 && m1 <= 1000) ndok++
		if (m2 <= 1000) nsok++
	}
	NR == 1 || $1 != cur { flush(); cur = $1; cnt = 0; mx = 0; mxs = 0; split("", e); split("", s) }
	{
		cnt++
		e[cnt] = $2 - $1 * 1000; a = e[cnt] < 0 ? -e[cnt] : e[cnt]; if (a > mx) mx = a
		s[cnt] = $2 - $3; a = s[cnt] < 0 ? -s[cnt] : s[cnt]; s[cnt] = a; if (a > mxs) mxs = a
	}
	END { flush(); printf "http_delays=%d\nhttp_delays_ok=%d\nhttp_delays_srv_ok=%d\n", nd, ndok, nsok }' >>"$dir/results"
exit 0
