#!/bin/sh
# artmon store: list, show, info, formats, filters and errors, on a store
# filled with synthetic transactions by store_fill.
set -eu
: "${top_builddir:=..}"
artmon=$top_builddir/cli/artmon
fill=$top_builddir/tests/store_fill
dir=$(mktemp -d /tmp/store_cli.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 3 keys, 24 intervals of 5 minutes (2 hours from an hour boundary), 30 per interval
start=1699999200
"$fill" "$dir/s" 3 24 30 $start

# list: 3 keys, then the signatures
"$artmon" store -s "$dir/s" > "$dir/list"
[ "$(grep -c ' synth ' "$dir/list")" = 3 ] || fail "list shows 3 keys"
grep -q '^ *1 sig0$' "$dir/list" || fail "list shows signatures"
"$artmon" store -s "$dir/s" list -F json > "$dir/list.json"
[ "$(grep -c '"type":"key"' "$dir/list.json")" = 3 ] || fail "json list"
grep -q '"key_id":2,"server":"10.1.0.1","server_port":8001' "$dir/list.json" || fail "json key fields"

# show, level 1: one record per key and interval, with the issue's fields
"$artmon" store -s "$dir/s" show --format csv > "$dir/l1.csv"
[ "$(wc -l < "$dir/l1.csv")" = $((1 + 3 * 24)) ] || fail "level 1 record count"
head -1 "$dir/l1.csv" | tr ',' '\n' > "$dir/fields"
for f in interval_start interval_s level server server_port signature count; do
	grep -qx "$f" "$dir/fields" || fail "field $f"
done
for t in first last ack think rtt; do
	for s in min mean p50 p90 p99 max; do
		grep -qx "${t}_${s}_us" "$dir/fields" || fail "field ${t}_${s}_us"
	done
done
# each interval holds 30 transactions over 3 keys
col() { head -1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }
c=$(col "$dir/l1.csv" count)
tail -n +2 "$dir/l1.csv" | cut -d, -f"$c" | sort -u | tr '\n' ' ' | grep -qx '10 ' || fail "count per interval"
# starts are aligned and inside the range
s=$(col "$dir/l1.csv" interval_start)
[ "$(tail -n +2 "$dir/l1.csv" | cut -d, -f"$s" | sort -u | head -1)" = "$start.000000" ] || fail "first start"
[ "$(tail -n +2 "$dir/l1.csv" | cut -d, -f"$s" | sort -u | wc -l)" = 24 ] || fail "24 starts"

# level 2: two hourly rollups per key whose counts add up to level 1's
"$artmon" store -s "$dir/s" show --format csv --level 2 > "$dir/l2.csv"
[ "$(wc -l < "$dir/l2.csv")" = 7 ] || fail "level 2 record count"
[ "$(tail -n +2 "$dir/l2.csv" | cut -d, -f"$c" | sort -u)" = 120 ] || fail "level 2 counts"
i=$(col "$dir/l2.csv" interval_s)
[ "$(tail -n +2 "$dir/l2.csv" | cut -d, -f"$i" | sort -u)" = 3600 ] || fail "level 2 interval_s"
# the maximum of an hour is the largest of its intervals' maxima
m=$(col "$dir/l1.csv" first_max_us)
k=$(col "$dir/l1.csv" key_id)
l1max=$(tail -n +2 "$dir/l1.csv" | awk -F, -v k="$k" -v s="$s" -v m="$m" -v st=$start \
	'$k == 1 && $s + 0 < st + 3600 && $m + 0 > x { x = $m + 0 } END { print x }')
l2max=$(tail -n +2 "$dir/l2.csv" | awk -F, -v k="$k" -v m="$m" 'NR == 1 && $k == 1 { print $m }')
[ "$l1max" = "$l2max" ] || fail "rollup max $l2max != $l1max"

# --from / --to (epoch seconds and ISO), --key
"$artmon" store -s "$dir/s" show -F csv --from $((start + 600)) --to $((start + 1800)) > "$dir/r.csv"
[ "$(wc -l < "$dir/r.csv")" = $((1 + 3 * 4)) ] || fail "--from/--to"
"$artmon" store -s "$dir/s" show -F csv --from 2023-11-14T22:10:00Z --to 2023-11-14T22:30:00Z > "$dir/r2.csv"
cmp -s "$dir/r.csv" "$dir/r2.csv" || fail "ISO times"
"$artmon" store -s "$dir/s" show -F json -k 3 > "$dir/k3.json"
[ "$(wc -l < "$dir/k3.json")" = 24 ] || fail "--key"
grep -vq '"key_id":3,' "$dir/k3.json" && fail "--key shows only key 3"
head -1 "$dir/k3.json" | grep -q '^{"interval_start":1699999200.000000,"interval_s":300,"level":1,' || fail "json record"

# --server, --port, --signature
"$artmon" store -s "$dir/s" show -F csv --server 10.1.0.1 > "$dir/f1.csv"
[ "$(wc -l < "$dir/f1.csv")" = 25 ] || fail "--server"
"$artmon" store -s "$dir/s" show -F csv --port 8002 --signature sig2 > "$dir/f2.csv"
[ "$(wc -l < "$dir/f2.csv")" = 25 ] || fail "--port --signature"
"$artmon" store -s "$dir/s" show -F csv --port 8002 --signature sig0 > "$dir/f3.csv"
[ "$(wc -l < "$dir/f3.csv")" -le 1 ] || fail "filters combine"

# info
"$artmon" store -s "$dir/s" info -F json | grep -q '"interval_s":300,"rollup_s":3600,"keys":3,' || fail "info"

# errors: stderr and a non-zero exit
for args in "store" "store -s $dir/none" "store -s $dir/s bogus" "store -s $dir/s show -F xml" \
    "store -s $dir/s show --level 3" "store -s $dir/s show --from yesterday" "store -s $dir/s show -k 99" \
    "store -s $dir/s show --server 10.1.0" "store -s $dir/s show --port 70000"; do
	if $artmon $args > "$dir/out" 2> "$dir/err"; then fail "artmon $args succeeded"; fi
	[ -s "$dir/err" ] || fail "artmon $args: no message"
done
"$artmon" store --help | grep -q '^usage: artmon store' || fail "--help"
echo "store_cli: ok"
