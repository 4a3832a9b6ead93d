#!/bin/sh
# Compares artmon's transactions for a capture of a real server asked for
# known service times (PostgreSQL pg_sleep, Redis DEBUG SLEEP) with the
# requested delays and, where the server logs it, its own time.
#
#   compare-real.sh DIR PORT SIGNATURE
#
# DIR holds capture.pcap, real.truth ("delay_ms requests", one line per
# connection, in the order the connections were made, one at a time) and
# maybe real.server (the server's own time of every request in order,
# microseconds).  Only the transactions named SIGNATURE count (PostgreSQL:
# SELECT, Redis: DEBUG; not the connection's startup).  Needs ARTMON, jq,
# awk and the shipped rules (VAL_TOP/rules/conf/artmon.conf).  Writes
# DIR/results (key=value) and, one line per request, DIR/real-pairs:
#   requested_ms first_us think_us server_us ("-" without a server time)
set -u
dir=$1
port=$2
sig=$3
: "${ARTMON:?set ARTMON}"
conf=${VAL_CONF:-${VAL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/rules/conf/artmon.conf}

# ts client_port first think outcome, in time order
"$ARTMON" read -q -c "$conf" --records transactions --format json "$dir/capture.pcap" |
	jq -r --argjson port "$port" --arg sig "$sig" 'select(.proto == "tcp" and .server_port == $port and .signature == $sig) |
	[.ts, .client_port, (.first_us | tostring), (.think_us | tostring), .outcome] | @tsv' |
	sort -s -g -k1,1 >"$dir/real-artmon.tsv" || exit 1
[ -f "$dir/real.server" ] && srv=1 || srv=0
[ $srv = 1 ] || : >"$dir/real.server"

awk -v out="$dir/real-pairs" -v srv=$srv '
FILENAME ~ /real\.truth$/ { nc++; cd[nc] = $1; cn[nc] = $2; ntruth += $2; next }
FILENAME ~ /real\.server$/ { st[++ns] = $1; next }
{
	c = $2
	if (!(c in conn)) { conn[c] = ++order }
	k = conn[c]
	nart++
	if ($5 != "complete") notcomplete++
	if (($3 != "null" && $3 < 0) || ($4 != "null" && $4 < 0)) neg++
	if (k > nc || ++seen[k] > cn[k]) { unmatched++; next }
	# The i-th request overall (connections one after the other).
	i++
	if ($3 == "null" || $4 == "null") { nulltime++; next }
	matched++
	print cd[k], $3, $4, (srv && i <= ns) ? st[i] : "-" > out
}
END {
	printf "real_requests=%d\nreal_conns=%d\nreal_conns_seen=%d\nreal_records=%d\nreal_matched=%d\nreal_unmatched=%d\nreal_null=%d\nreal_not_complete=%d\nnegative_times=%d\nreal_server_times=%d\nreal_server_n=%d\n", \
		ntruth, nc, order, nart, matched, unmatched, nulltime, notcomplete, neg, srv, ns
}' "$dir/real.truth" "$dir/real.server" "$dir/real-artmon.tsv" >"$dir/results" || exit 1
touch "$dir/real-pairs"
# Per requested delay: n, median (first_us - delay), max |first_us - delay|,
# median (think_us - delay), max |think_us - delay|, median (server - delay),
# median |first_us - server|, max, median |think_us - server| ("-" without
# server times).
sort -n -k1,1 "$dir/real-pairs" | awk '
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return a[int((n + 1) / 2)]
	}
	function abs(x) { return x < 0 ? -x : x }
	function flush(   m1, m2, m3, m4, m5) {
		if (cnt == 0) return
		m1 = med(e, cnt); m2 = med(t, cnt)
		m3 = "-"; m4 = "-"; m5 = "-"; ms = "-"
		if (ns == cnt) { m3 = med(sd, cnt); m4 = med(fs, cnt); m5 = med(ts, cnt); ms = mxs }
		printf "real_delay_%s_ms=%d %d %d %d %d %s %s %s %s\n", cur, cnt, m1, mx, m2, mxt, m3, m4, ms, m5
		nd++
		if (abs(m1) <= 1000) ndok++
		if (abs(m2) <= 1000) ntok++
		if (ns == cnt && m4 <= 1000) nsok++
		if (ns == cnt && m5 <= 1000) nstok++
	}
	NR == 1 || $1 != cur {
		flush(); cur = $1; cnt = 0; ns = 0; mx = 0; mxt = 0; mxs = 0
		split("", e); split("", t); split("", sd); split("", fs); split("", ts)
	}
	{
		cnt++
		e[cnt] = $2 - $1 * 1000; if (abs(e[cnt]) > mx) mx = abs(e[cnt])
		t[cnt] = $3 - $1 * 1000; if (abs(t[cnt]) > mxt) mxt = abs(t[cnt])
		if ($4 != "-") {
			ns++
			sd[ns] = $4 - $1 * 1000
			fs[ns] = abs($2 - $4); if (fs[ns] > mxs) mxs = fs[ns]
			ts[ns] = abs($3 - $4)
		}
	}
	END {
		flush()
		printf "real_delays=%d\nreal_delays_ok=%d\nreal_delays_think_ok=%d\nreal_delays_srv_ok=%d\nreal_delays_srv_think_ok=%d\n", \
			nd, ndok, ntok, nsok, nstok
	}' >>"$dir/results"
exit 0
