#!/bin/sh
# artmon report: one self-contained HTML file with one section of charts per
# stored row and one point per interval, checked against `artmon store`
# (list and show), then loaded in headless Chromium (DOM and a screenshot,
# kept as tests/report-screenshot.png in the build directory).  Without
# chromium every other check still runs and the test ends skipped (77).
set -eu
if [ -n "${REPORT_KEEP:-}" ]; then set -x; fi
: "${top_builddir:=..}"
: "${top_srcdir:=..}"
artmon=$top_builddir/cli/artmon
pcapgen=$top_builddir/tests/tools/pcapgen
shot=$top_builddir/tests/report-screenshot.png
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$artmon" ] || fail "artmon not built"
[ -x "$pcapgen" ] || fail "pcapgen not built ($pcapgen)"
tmp=$(mktemp -d /tmp/artmon-report.XXXXXX)
[ -n "${REPORT_KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT

# A capture of about 100 s: 4 concurrent connections to 12 servers (two
# ports each), measured without rules so that rows are servers and ports:
# rows have from 1 to 11 intervals of 10 s, with gaps.
"$pcapgen" -s 3 -c 4 -n 12 -g 50000 1 "$tmp/g.pcap" || fail "pcapgen"
"$artmon" read --no-rules --store "$tmp/s" --interval 10 "$tmp/g.pcap" > /dev/null 2> "$tmp/read.err" ||
	fail "artmon read: $(cat "$tmp/read.err")"
# and a committed capture with the shipped rules: signatures, IPv4 and IPv6
"$artmon" read --store "$tmp/h" --interval 10 "$top_srcdir/tests/captures/http-sleep.pcap" > /dev/null \
	2> "$tmp/read.err" || fail "artmon read http-sleep.pcap: $(cat "$tmp/read.err")"

col() { head -1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }

# "key points bars transactions errors" per row of a store show CSV,
# sorted by key
expect() {
	k=$(col "$1" key_id); p=$(col "$1" first_p50_us); c=$(col "$1" count)
	r=$(col "$1" resets); t=$(col "$1" timeouts); i=$(col "$1" incomplete)
	tail -n +2 "$1" | awk -F, -v k="$k" -v p="$p" -v c="$c" -v r="$r" -v t="$t" -v i="$i" '
		{ n[$k]++; if ($p != "") m[$k]++; tx[$k] += $c; e[$k] += $r + $t + $i }
		END { for (x in n) printf "%d %d %d %d %d\n", x, m[x] + 0, n[x], tx[x], e[x] }' | sort -n
}
# the same from a report: points of the p50 line, bars of the count chart
# (and as many in the errors chart), the transactions and errors of the
# row's text, per section
got() {
	awk '
	/<section class="row" id="k[0-9]+">/ {
		match($0, /id="k[0-9]+"/); id = substr($0, RSTART + 5, RLENGTH - 6); ids[++nid] = id
	}
	/<polyline class="p50/ {
		s = $0; sub(/.*points="/, "", s); sub(/".*/, "", s); pts[id] = split(s, a, " ")
	}
	/<path class="bars cntbars"/ {
		s = $0; sub(/.* d="/, "", s); sub(/".*/, "", s); bars[id] = gsub(/M/, "M", s)
	}
	/<path class="bars errbars"/ {
		s = $0; sub(/.* d="/, "", s); sub(/".*/, "", s); ebars[id] = gsub(/M/, "M", s)
	}
	/^<p>Key [0-9]+ \((rule |no rule)/ {
		s = $0; sub(/ transactions, .*/, "", s); n = split(s, a, " "); tx[id] = a[n]
		s = $0; sub(/ errors \(resets.*/, "", s); n = split(s, a, " "); er[id] = a[n]
	}
	END {
		for (i = 1; i <= nid; i++) {
			x = ids[i]
			# an errors chart with another number of bars shows as a bad count
			printf "%d %d %d %d %d\n", x, pts[x], bars[x] == ebars[x] ? bars[x] : -1, tx[x], er[x]
		}
	}
	' "$1" | sort -n
}
self_contained() {
	grep -Eqi 'https?://|ftp://|src=|<script|<link|<img|<iframe|<object|<embed|@import|@font-face|javascript:' "$1" &&
		fail "$1: an external reference or script: $(grep -Eoi 'https?://[^"]*|ftp://|src=|<script|<link|<img|<iframe|<object|<embed|@import|@font-face|javascript:' "$1" | head -3)"
	grep -Eo 'url\([^)]*\)' "$1" | grep -v '^url(#' && fail "$1: a url() outside the file"
	grep -Eo 'href="[^"]*"' "$1" | grep -v '^href="#' && fail "$1: a link outside the file"
	return 0
}
# A report of the whole store DIR in FILE: self-contained, one section and
# one of each chart per stored row, one point per interval.  Sets nkeys, nrec.
check_report() {
	"$artmon" store -s "$1" list -F json > "$tmp/list.json"
	nkeys=$(grep -c '"type":"key"' "$tmp/list.json")
	head -1 "$2" | grep -qx '<!DOCTYPE html>' || fail "$2: not an HTML document"
	tail -1 "$2" | grep -qx '</html>' || fail "$2: HTML not finished"
	self_contained "$2"
	for c in '<section class="row"' '<svg class="chart lat"' '<svg class="chart cnt"' '<svg class="chart err"' \
	    '<svg class="chart hist"' '<polyline class="p50' '<line class="mark p90"'; do
		n=$(grep -c "$c" "$2")
		[ "$n" = "$nkeys" ] || fail "$2: $n of $c for $nkeys stored rows"
	done
	"$artmon" store -s "$1" show -F csv > "$tmp/l1.csv"
	nrec=$(($(wc -l < "$tmp/l1.csv") - 1))
	expect "$tmp/l1.csv" > "$tmp/want"
	got "$2" > "$tmp/got"
	cmp -s "$tmp/want" "$tmp/got" || { diff "$tmp/want" "$tmp/got" >&2; fail "$2: points per row differ from store show"; }
	grep -q ": $nrec records, $nkeys rows" "$2" || fail "$2: header shows $nrec records, $nkeys rows"
}

# a synthetic store with resets, timeouts and incomplete exchanges
"$top_builddir/tests/store_fill" "$tmp/f" 3 24 30 1699999200 || fail "store_fill"
"$artmon" report -s "$tmp/f" -o "$tmp/f.html" || fail "report of store_fill's store"
check_report "$tmp/f" "$tmp/f.html"
[ "$nkeys" = 3 ] || fail "store_fill: 3 rows expected, got $nkeys"
awk '$5 == 0' "$tmp/want" | grep -q . && fail "store_fill rows without errors: nothing tested"
grep -q '<td class="n warn">[1-9]' "$tmp/f.html" || fail "errors not flagged in the rows table"

# the committed capture: rows by signature, escaped names and addresses
"$artmon" report -s "$tmp/h" -o "$tmp/h.html" || fail "report of http-sleep"
check_report "$tmp/h" "$tmp/h.html"
[ "$nkeys" -ge 3 ] || fail "http-sleep: expected 3 rows or more, got $nkeys"
grep -q '^<section class="row" id="k[0-9]*">$' "$tmp/h.html" || fail "section lines"
grep -q '^<h2>fd00:99::2 port 8080 .* &#183; GET</h2>$' "$tmp/h.html" || fail "IPv6 row with its signature"
grep -q '^<h2>10.99.0.2 port 8080 .* &#183; POST</h2>$' "$tmp/h.html" || fail "POST row"

# the generated capture, with a title that needs escaping
title='<i>x</i> & "q"'
"$artmon" report -s "$tmp/s" --title "$title" -o "$tmp/r.html" 2> "$tmp/err" || fail "report: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "report wrote to stderr: $(cat "$tmp/err")"
check_report "$tmp/s" "$tmp/r.html"
[ "$nkeys" -ge 10 ] || fail "expected at least 10 rows, store has $nkeys"
nint=$(tail -n +2 "$tmp/l1.csv" | cut -d, -f"$(col "$tmp/l1.csv" interval_start)" | sort -u | wc -l)
[ "$nint" -ge 8 ] || fail "expected at least 8 intervals, store has $nint"
awk '$3 > 1 && $3 < '"$nint" "$tmp/want" | grep -q . || fail "no row with a gap to test"
awk '$3 >= 6' "$tmp/want" | grep -q . || fail "no row with 6 intervals or more"
grep -q '<i>x</i>' "$tmp/r.html" && fail "title not escaped"
grep -q '<h1>&lt;i&gt;x&lt;/i&gt; &amp; &quot;q&quot;</h1>' "$tmp/r.html" || fail "escaped title missing"
# store settings and health
for s in '<th>interval</th><td>10 s</td>' '<th>flushes</th>' '<th>unclean stops</th>' \
    '<th>map use</th>' '<th>intervals pruned by retention</th>'; do
	grep -qF "$s" "$tmp/r.html" || fail "header lacks $s"
done
# the histogram has log buckets; rows with a single interval still show
# their point (markers on the line)
grep -q 'log scale, 5 buckets per power of ten' "$tmp/r.html" || fail "histogram axis"
grep -q 'polyline.dots.p50{marker:url(#dotp50)}' "$tmp/r.html" || fail "point markers"
[ "$(grep -c '<polyline class="p50 dots"' "$tmp/r.html")" = "$nkeys" ] || fail "markers on every short line"

# --from/--to (epoch and ISO): the records of the range only
from=1700000020; to=1700000060
"$artmon" report -s "$tmp/s" --from $from --to 2023-11-14T22:14:20Z -o "$tmp/range.html" || fail "report --from --to"
"$artmon" store -s "$tmp/s" show -F csv --from $from --to $to > "$tmp/range.csv"
expect "$tmp/range.csv" > "$tmp/want"
got "$tmp/range.html" > "$tmp/got"
cmp -s "$tmp/want" "$tmp/got" || { diff "$tmp/want" "$tmp/got" >&2; fail "--from/--to points"; }
[ "$(grep -c '<section class="row"' "$tmp/range.html")" -lt "$nkeys" ] || fail "range should leave rows out"

# level 2: one point per rollup
"$artmon" report -s "$tmp/s" --level 2 -o "$tmp/l2.html" || fail "report --level 2"
"$artmon" store -s "$tmp/s" show -F csv --level 2 > "$tmp/l2.csv"
expect "$tmp/l2.csv" > "$tmp/want"
got "$tmp/l2.html" > "$tmp/got"
cmp -s "$tmp/want" "$tmp/got" || { diff "$tmp/want" "$tmp/got" >&2; fail "level 2 points"; }
grep -q 'level 2 (rollups of 3600 s)' "$tmp/l2.html" || fail "level 2 header"

# more intervals than --max-points: adjacent intervals merged, nothing lost
"$artmon" report -s "$tmp/s" --max-points 4 -o "$tmp/ds.html" || fail "report --max-points"
got "$tmp/ds.html" > "$tmp/got"
awk '$2 > 4 || $3 > 4' "$tmp/got" | grep -q . && fail "more than 4 points with --max-points 4"
awk '{ print $1, $4, $5 }' "$tmp/got" > "$tmp/tx.got"
expect "$tmp/l1.csv" | awk '{ print $1, $4, $5 }' > "$tmp/tx.want"
cmp -s "$tmp/tx.want" "$tmp/tx.got" || fail "merged points lose transactions"
grep -q 'intervals are merged into each point' "$tmp/ds.html" || fail "merge noted in the header"
awk '$3 < 4' "$tmp/got" | grep -q . || fail "no row with fewer than 4 merged points"

# --max-rows caps the sections and says so
"$artmon" report -s "$tmp/s" --max-rows 5 -o "$tmp/cap.html" || fail "report --max-rows"
[ "$(grep -c '<section class="row"' "$tmp/cap.html")" = 5 ] || fail "--max-rows 5"
grep -q "Only the 5 busiest of $nkeys rows" "$tmp/cap.html" || fail "--max-rows note"
# the busiest: the 5 rows with the most transactions, in that order
got "$tmp/cap.html" | sort -k4,4nr -k1,1n | awk '{ print $1 }' > "$tmp/cap.got"
grep -o '<section class="row" id="k[0-9]*"' "$tmp/cap.html" | sed 's/.*"k//; s/"//' > "$tmp/cap.order"
cmp -s "$tmp/cap.got" "$tmp/cap.order" || fail "--max-rows sections are not busiest first"
expect "$tmp/l1.csv" | sort -k4,4nr -k1,1n | head -5 | awk '{ print $1 }' > "$tmp/cap.want"
cmp -s "$tmp/cap.want" "$tmp/cap.order" || fail "--max-rows does not keep the busiest rows"

# an empty range is a valid report without rows
"$artmon" report -s "$tmp/s" --from 2030-01-01 -o "$tmp/empty.html" || fail "empty range"
grep -q '<section' "$tmp/empty.html" && fail "empty range has rows"
grep -q 'no intervals in this range' "$tmp/empty.html" || fail "empty range note"
self_contained "$tmp/empty.html"

# usage and errors: stderr and a non-zero exit
"$artmon" report --help | grep -q '^usage: artmon report' || fail "--help"
status() { set +e; "$@" > "$tmp/out" 2> "$tmp/err"; echo $?; set -e; }
[ "$(status "$artmon" report -o "$tmp/x.html")" = 2 ] || fail "no -s"
[ "$(status "$artmon" report -s "$tmp/s")" = 2 ] || fail "no -o"
[ "$(status "$artmon" report -s "$tmp/s" -o "$tmp/x.html" --level 3)" = 2 ] || fail "bad level"
[ "$(status "$artmon" report -s "$tmp/s" -o "$tmp/x.html" --from yesterday)" = 2 ] || fail "bad time"
[ "$(status "$artmon" report -s "$tmp/s" -o "$tmp/x.html" --max-rows 0)" = 2 ] || fail "bad --max-rows"
[ "$(status "$artmon" report -s "$tmp/nostore" -o "$tmp/x.html")" = 1 ] || fail "missing store"
[ -s "$tmp/err" ] || fail "missing store: no message"
[ -e "$tmp/x.html" ] && fail "a report was left after an error"
[ "$(status "$artmon" report -s "$tmp/s" -o "$tmp/no/such/dir/r.html")" = 1 ] || fail "unwritable output"
grep -q 'artmon report: ' "$tmp/err" || fail "unwritable output: no message"

# headless Chromium: the DOM holds the same charts; keep a screenshot
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
	echo "SKIP: chromium is not installed (scripts/install-deps); the other checks passed"
	exit 77
fi
browse() {
	timeout 180 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
	    --disable-component-update --disable-sync --no-first-run --disable-extensions \
	    --user-data-dir="$(mktemp -d "$tmp/profile.XXXXXX")" "$@" 2>> "$tmp/chromium.err"
}
cp "$tmp/r.html" "$tmp/report.html"
browse --dump-dom "file://$tmp/report.html" > "$tmp/dom.html" || fail "chromium --dump-dom: $(tail -5 "$tmp/chromium.err")"
grep -q '</html>' "$tmp/dom.html" || fail "chromium dumped no document"
for c in '<section class="row"' '<svg class="chart lat"' '<svg class="chart cnt"' '<svg class="chart err"' \
    '<svg class="chart hist"' '<polyline class="p50'; do
	n=$(grep -o "$c" "$tmp/dom.html" | wc -l)
	[ "$n" = "$nkeys" ] || fail "DOM: $n of $c for $nkeys stored rows"
done
# the parsed document has the same points as the file
got "$tmp/dom.html" | awk '{ print $1, $2, $3 }' > "$tmp/dom.pts"
got "$tmp/r.html" | awk '{ print $1, $2, $3 }' > "$tmp/file.pts"
cmp -s "$tmp/file.pts" "$tmp/dom.pts" || fail "DOM points differ from the file"
rm -f "$shot"
browse --window-size=1000,2000 --hide-scrollbars --screenshot="$shot" "file://$tmp/report.html" > /dev/null ||
	fail "chromium --screenshot: $(tail -5 "$tmp/chromium.err")"
[ -s "$shot" ] || fail "no screenshot"
[ "$(od -An -c -N4 "$shot" | tr -d ' ')" = '211PNG' ] || fail "screenshot is not a PNG"
# charts and text make a screenshot far larger than a blank page (a few KB)
[ "$(wc -c < "$shot")" -gt 50000 ] || fail "screenshot looks blank ($(wc -c < "$shot") bytes)"
echo "report: $nkeys rows, $nrec records; screenshot $shot"
