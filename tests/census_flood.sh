#!/bin/sh
# census_flood.sh: top-N talkers under a random-source SYN flood.
#
# tests/tools/synflood writes one million SYNs from random IPv4 sources plus
# ten talkers (10.77.0.1-10) each carrying 1.5% of the packets (every tenth
# of their packets a SYN).  With k = 8192 counters per table the stated
# bound is W/k, under 1% of a talker's count, so:
#   - talkers_packets and talkers_bytes: the top 10 are exactly the ten
#     talkers, each count within 1% of tshark's (endpoints, Tx) and each
#     reported error under 1% of the count;
#   - syn_senders: the top 10 are the ten talkers, counts within 1% of what
#     the generator wrote;
#   - memory: the top-N tables hold what their configuration says, and the
#     process peak stays the same (within 4 MB) whether the flood has 100 000
#     or 1 000 000 distinct sources: bounded, not growing with the keys;
#   - with k = 1024 (bound W/k above 1% of a talker) the top 10 are still
#     exactly the talkers, as Space-Saving guarantees for keys above W/k;
#   - every talker row is marked guaranteed, and in a flood alone no row is.
# Needs tshark; skipped (77) without it.  Takes about 20 s.
set -eu

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
gen=$top_builddir/tests/tools/synflood
run=$top_builddir/tests/tools/censusrun

skip() { echo "census_flood: SKIP: $*"; exit 77; }
fail() { echo "census_flood: FAIL: $*"; exit 1; }

[ -x "$gen" ] && [ -x "$run" ] || fail "tools not built"
command -v tshark >/dev/null 2>&1 || skip "tshark not installed"

work=$(mktemp -d /tmp/census_flood.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT INT TERM
cap=$work/flood.pcap
MEMCAP_KB=${MEMCAP_KB:-16384}       # top-N tables, all six, at k = 8192

"$gen" -S -o "$cap" > "$work/gen.txt" || fail "synflood"
"$run" -t -n 10 -k 8192 -b -F csv "$cap" > "$work/out.csv" 2> "$work/bench.txt" || fail "censusrun"
cat "$work/bench.txt"

# tshark's view: Tx packets and bytes per IPv4 address.
tshark -n -r "$cap" --disable-protocol tcp -q -z endpoints,ip 2>/dev/null |
	awk '$1 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ && $4 > 0 { print $1, $4, $5 }' |
	sort -k2,2nr -k1,1 > "$work/tshark.txt"
[ "$(wc -l < "$work/tshark.txt")" -gt 900000 ] || fail "tshark saw too few sources"
head -10 "$work/tshark.txt" | awk '{ print $1 }' | sort > "$work/want.txt"
printf '10.77.0.%s\n' 1 2 3 4 5 6 7 8 9 10 | sort > "$work/talkers.txt"
cmp -s "$work/want.txt" "$work/talkers.txt" || fail "tshark's top 10 are not the ten talkers"

check_table() { # TABLE FIELD(2 packets, 3 bytes) OUT
	awk -F, -v t="$1" '$1 == t { print $3, $4, $5 }' "$3" > "$work/rows.txt"
	[ "$(awk -F, -v t="$1" '$1 == t && $7 == 1' "$3" | wc -l)" = 10 ] || fail "$1: rows not all guaranteed"
	[ "$(wc -l < "$work/rows.txt")" = 10 ] || fail "$1: expected 10 rows"
	awk '{ print $1 }' "$work/rows.txt" | sort > "$work/got.txt"
	cmp -s "$work/got.txt" "$work/talkers.txt" || fail "$1: top 10 are not the ten talkers: $(tr '\n' ' ' < "$work/got.txt")"
	while read -r key count err; do
		truth=$(awk -v k="$key" -v f="$2" '$1 == k { print $f }' "$work/tshark.txt")
		[ -n "$truth" ] || fail "$1: $key unknown to tshark"
		awk -v c="$count" -v t="$truth" -v e="$err" -v k="$key" -v tab="$1" 'BEGIN {
			d = c - t; if (d < 0) d = -d
			if (d > t / 100) { printf "%s %s: census %d, tshark %d\n", tab, k, c, t; exit 1 }
			if (e > c / 100) { printf "%s %s: error %d over 1%% of %d\n", tab, k, e, c; exit 1 } }' ||
			fail "$1: count or error out of bounds"
	done < "$work/rows.txt"
}
check_table talkers_packets 2 "$work/out.csv"
check_table talkers_bytes 3 "$work/out.csv"

# SYN senders: the generator's count per talker
awk -F, '$1 == "syn_senders" { print $3, $4 }' "$work/out.csv" > "$work/syn.txt"
[ "$(wc -l < "$work/syn.txt")" = 10 ] || fail "syn_senders: expected 10 rows"
awk '{ print $1 }' "$work/syn.txt" | sort | cmp -s - "$work/talkers.txt" || fail "syn_senders: not the ten talkers"
want_syn=$(awk '$1 == "talker" && $2 == 1 { print $6 }' "$work/gen.txt")
awk -v w="$want_syn" '{ d = $2 - w; if (d < 0) d = -d; if (d > w / 100) { print "syn " $1 ": " $2 " vs " w; exit 1 } }' \
	"$work/syn.txt" || fail "syn_senders counts"

# memory: fixed by the configuration, not by the flood
mem=$(sed -n 's/.*topn_memory \([0-9]*\).*/\1/p' "$work/bench.txt")
[ -n "$mem" ] && [ "$mem" -le $((MEMCAP_KB * 1024)) ] || fail "top-N memory $mem over ${MEMCAP_KB} KB"
rss_big=$(sed -n 's/.*maxrss_kb \([0-9]*\).*/\1/p' "$work/bench.txt")
"$gen" -S -n 100000 -o "$work/small.pcap" > /dev/null
"$run" -t -n 10 -k 8192 -b -F csv "$work/small.pcap" > /dev/null 2> "$work/bench_small.txt"
rss_small=$(sed -n 's/.*maxrss_kb \([0-9]*\).*/\1/p' "$work/bench_small.txt")
[ $((rss_big - rss_small)) -le 4096 ] ||
	fail "peak memory grew with the flood: $rss_small KB at 100k sources, $rss_big KB at 1M"
echo "census_flood: top-N memory $mem bytes; peak RSS $rss_small KB (100k sources), $rss_big KB (1M sources)"

# a small table still finds the heavy hitters
"$run" -t -n 10 -k 1024 -F csv "$cap" > "$work/out_small.csv" || fail "censusrun -k 1024"
for t in talkers_packets talkers_bytes syn_senders; do
	awk -F, -v t="$t" '$1 == t { print $3 }' "$work/out_small.csv" | sort | cmp -s - "$work/talkers.txt" ||
		fail "k=1024 $t: top 10 are not the ten talkers"
	[ "$(awk -F, -v t="$t" '$1 == t && $7 == 1' "$work/out_small.csv" | wc -l)" = 10 ] ||
		fail "k=1024 $t: rows not all guaranteed"
done

# a flood alone: ten rows of noise, none of them guaranteed
"$gen" -t 0 -n 50000 -o "$work/noise.pcap" > /dev/null
"$run" -t -n 10 -k 8192 -F csv "$work/noise.pcap" > "$work/noise.csv" || fail "censusrun on noise"
[ "$(awk -F, '$1 == "syn_senders"' "$work/noise.csv" | wc -l)" = 10 ] || fail "noise: expected 10 rows"
[ "$(awk -F, '$1 == "syn_senders" && $7 == 1' "$work/noise.csv" | wc -l)" = 0 ] ||
	fail "noise: flood sources reported as guaranteed"
echo "census_flood: PASS"
