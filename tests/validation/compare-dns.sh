#!/bin/sh
# Compares artmon's DNS transactions for a capture with tshark's dns.time
# and with dnsd's logs.
#
#   compare-dns.sh DIR
#
# DIR holds capture.pcap, dnsd-client.log and dnsd-server.log.  Needs ARTMON,
# tshark, jq, awk.  Writes DIR/results (key=value) and, one number a line:
#   DIR/err-dns        |artmon first_us - tshark dns.time| per answered query (us)
#   DIR/err-dns-delay  "delay_ms measured_us" per answered query (server's delay)
set -u
dir=$1
: "${ARTMON:?set ARTMON}"

"$ARTMON" read -q --records transactions --format json "$dir/capture.pcap" >"$dir/txn.jsonl" || exit 1
# ts_us client_port first_us status outcome
jq -r 'select(.proto == "udp") | [((.ts * 1000000) | round), .client_port, (.first_us | tostring),
	(.status | tostring), .outcome] | @tsv' "$dir/txn.jsonl" >"$dir/dns-artmon.tsv" || exit 1
# Responses: time client_port id dns.time rcode
tshark -r "$dir/capture.pcap" -Y 'dns.flags.response == 1' -T fields -e frame.time_epoch \
	-e udp.dstport -e dns.id -e dns.time -e dns.flags.rcode >"$dir/dns-tshark-resp.tsv" 2>/dev/null || exit 1
# Queries tshark found no response for: time client_port id
tshark -2 -r "$dir/capture.pcap" -Y 'dns.flags.response == 0 && !dns.response_in' -T fields \
	-e frame.time_epoch -e udp.srcport -e dns.id >"$dir/dns-tshark-noresp.tsv" 2>/dev/null || exit 1

rm -f "$dir/err-dns" "$dir/err-dns-delay"
touch "$dir/err-dns" "$dir/err-dns-delay"
awk -F '\t' -v out="$dir" '
function abs(x) { return x < 0 ? -x : x }
# "1795360720.563375000" or "0.020123000" -> integer microseconds, exactly.
function us(s,   p, f) {
	p = index(s, ".")
	if (p == 0) return s * 1000000
	f = substr(s, p + 1) "000000"
	return substr(s, 1, p - 1) * 1000000 + substr(f, 1, 6) + (substr(f, 7, 1) >= 5 ? 1 : 0)
}
FILENAME ~ /dns-artmon\.tsv$/ {
	na++
	key = $2
	cnt[key]++
	ats[key, cnt[key]] = $1; afirst[key, cnt[key]] = $3; astatus[key, cnt[key]] = $4; aout[key, cnt[key]] = $5
	if ($5 == "timeout") atimeout++
	if ($5 == "open") aopen++
	if ($3 != "null" && $3 < 0) neg++
	next
}
FILENAME ~ /dns-tshark-resp\.tsv$/ {
	if ($4 == "") { unsol++; next }
	nr++
	t = us($1) - us($4)
	key = $2
	best = 0
	for (j = 1; j <= cnt[key]; j++)
		if (!used[key, j] && abs(ats[key, j] - t) <= 2) { best = j; break }
	if (!best) { unmatched++; next }
	used[key, best] = 1
	matched++
	if (afirst[key, best] == "null") { nulltime++; next }
	e = afirst[key, best] - us($4)
	if (abs(e) <= 1) within1++
	print abs(e) > (out "/err-dns")
	if (astatus[key, best] != $5) rcodediff++
	mfirst[key, $3] = afirst[key, best]
	next
}
FILENAME ~ /dns-tshark-noresp\.tsv$/ {
	tnoresp++
	next
}
FILENAME ~ /dnsd-client\.log$/ {
	nq++
	if ($5 == -1) cunans++
	next
}
FILENAME ~ /dnsd-server\.log$/ {
	# name delay_ms id client_port t_recv t_sent
	if ($2 >= 0 && (($4, $3) in mfirst))
		print $2, mfirst[$4, $3] > (out "/err-dns-delay")
	next
}
END {
	printf "queries_sent=%d\nclient_unanswered=%d\nartmon_records=%d\nartmon_timeout=%d\nartmon_open=%d\n", \
		nq, cunans, na, atimeout, aopen
	printf "tshark_responses=%d\ntshark_unanswered=%d\ntshark_unpaired_responses=%d\n", nr, tnoresp, unsol
	printf "matched=%d\nunmatched=%d\nnull_time=%d\nwithin_1us=%d\nrcode_mismatch=%d\nnegative_times=%d\n", \
		matched, unmatched, nulltime, within1, rcodediff, neg
}' "$dir/dns-artmon.tsv" "$dir/dns-tshark-resp.tsv" "$dir/dns-tshark-noresp.tsv" \
	"$dir/dnsd-client.log" "$dir/dnsd-server.log" >"$dir/results" || exit 1

. "${VAL_LIB:-$(dirname "$0")/lib.sh}"
set -- $(val_stats "$dir/err-dns")
printf 'err_dns_n=%s\nerr_dns_p50=%s\nerr_dns_p90=%s\nerr_dns_p99=%s\nerr_dns_max=%s\n' "$1" "$2" "$3" "$4" "$5" >>"$dir/results"
# Per requested delay: n, median measured minus delay (us), max |error|.
awk '{ print $1, $2 - $1 * 1000 }' "$dir/err-dns-delay" | sort -n -k1,1 -k2,2 | awk '
	{ d[NR] = $1; e[NR] = $2 }
	END {
		i = 1
		while (i <= NR) {
			j = i
			while (j + 1 <= NR && d[j + 1] == d[i]) j++
			m = i + int((j - i) / 2)
			mx = 0
			for (k = i; k <= j; k++) { a = e[k] < 0 ? -e[k] : e[k]; if (a > mx) mx = a }
			printf "delay_%s_ms=%d %d %d\n", d[i], j - i + 1, e[m], mx
			i = j + 1
		}
	}' >>"$dir/results"
exit 0
