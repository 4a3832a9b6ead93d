#!/bin/sh
# artmon read --store, then artmon store show, agrees with
# artmon read --records summary, interval by interval, on a capture spanning
# five 10-second intervals (tests/store_pcap).
set -eu
: "${top_builddir:=..}"
artmon=$top_builddir/cli/artmon
dir=$(mktemp -d /tmp/store_read.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$top_builddir/tests/store_pcap" "$dir/c.pcap" 45

# Compares two CSV files on the summary's fields: rows are matched on
# interval_start, server, server_port and signature; every field the summary
# has (but interval_s) must be equal.
compare() {
	awk -F, '
	FNR == 1 { for (i = 1; i <= NF; i++) col[FILENAME, $i] = i; if (!first) first = FILENAME; next }
	function key(f) { return $col[f, "interval_start"] "|" $col[f, "server"] "|" $col[f, "server_port"] "|" $col[f, "signature"] }
	FILENAME == first { n++; sum[key(FILENAME)] = $0; next }
	{
		k = key(FILENAME)
		if (!(k in sum)) { print "not in the summary: " k; bad = 1; next }
		split(sum[k], s, ",")
		for (name in col) {
			split(name, p, SUBSEP)
			if (p[1] != first || p[2] == "interval_s") continue
			if (!((FILENAME, p[2]) in col)) continue
			if (s[col[first, p[2]]] != $col[FILENAME, p[2]]) {
				print k ": " p[2] " " s[col[first, p[2]]] " != " $col[FILENAME, p[2]]; bad = 1
			}
		}
		m++; seen[k] = 1
	}
	END {
		if (n != m) { print "rows: summary " n ", store " m; bad = 1 }
		if (n == 0) { print "no rows"; bad = 1 }
		exit bad
	}' "$1" "$2"
}

# Without rules: one key per server and port, so every field must agree.
"$artmon" read --no-rules --store "$dir/s1" --interval 10 -R summary -F csv -q "$dir/c.pcap" > "$dir/sum1.csv"
"$artmon" store -s "$dir/s1" show -F csv > "$dir/show1.csv"
[ "$(tail -n +2 "$dir/sum1.csv" | cut -d, -f1 | sort -u | wc -l)" -ge 3 ] || fail "fewer than 3 intervals"
head -1 "$dir/sum1.csv" | grep -q first_p90_us || fail "summary has no quantiles"
compare "$dir/sum1.csv" "$dir/show1.csv" || fail "store show differs from the summary (no rules)"

# With the shipped rules (Summarise_by client for HTTP): the counts of the
# per-client keys add up to the summary's.
if [ -n "${ARTMON_CONF:-}" ] && [ -r "$ARTMON_CONF" ]; then
	"$artmon" read --store "$dir/s2" --interval 10 -R summary -F csv -q "$dir/c.pcap" > "$dir/sum2.csv"
	"$artmon" store -s "$dir/s2" show -F csv > "$dir/show2.csv"
	awk -F, 'FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ k = $c["interval_start"] "|" $c["server"] "|" $c["server_port"] "|" $c["signature"];
		  if (FILENAME == ARGV[1]) want[k] = $c["count"]; else got[k] += $c["count"] }
		END { for (k in want) if (want[k] != got[k]) { print k ": " want[k] " != " got[k]; bad = 1 }
		      for (k in got) if (!(k in want)) { print "extra " k; bad = 1 }
		      exit bad }' "$dir/sum2.csv" "$dir/show2.csv" || fail "per-client counts differ from the summary"
fi
echo "store_read: ok"
