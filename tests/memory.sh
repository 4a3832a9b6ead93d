#!/bin/bash
# Bounded memory: peak RSS of `artmon read --records summary` on a generated
# capture of BIG_MB MiB is within 10% of the peak on its first SMALL_MB MiB
# (tests/tools/pcapgen, same seed: the small file is a prefix of the big one).
#   make check: SMALL_MB=20, BIG_MB=200.  bench/memory: 200 and 2000.
# Environment: ARTMON, PCAPGEN (paths), SMALL_MB, BIG_MB, MEM_TOLERANCE_PCT
# (10), MEM_SEED (7), TMPDIR.
set -u
. "$(dirname "$0")/captures-lib.sh"
small=${SMALL_MB:-20} big=${BIG_MB:-200} tol=${MEM_TOLERANCE_PCT:-10} seed=${MEM_SEED:-7}
artmon=$(cap_artmon) || exit 1
pcapgen=${PCAPGEN:-${top_builddir:-.}/tests/tools/pcapgen}
[ -x "$pcapgen" ] || { echo "FAIL: pcapgen not built ($pcapgen)"; exit 1; }
timebin=/usr/bin/time
[ -x "$timebin" ] || { echo "SKIP: /usr/bin/time missing (package time)"; exit 77; }
# Sanitizer builds keep freed memory in quarantine: their RSS says nothing.
if ldd "$artmon" 2>/dev/null | grep -q 'lib[at]san' || nm "$artmon" 2>/dev/null | grep -q '__asan_init'; then
	echo "SKIP: artmon is built with a sanitizer"; exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/memory.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
avail=$(df -Pk "$tmp" | awk 'NR == 2 { print int($4 / 1024) }')
if [ "${avail:-0}" -lt $((big + small + 100)) ]; then
	echo "SKIP: ${avail} MiB free in $tmp, need $((big + small + 100))"; exit 77
fi

peak() {  # peak FILE -> KiB; checks the run worked
	local out
	"$timebin" -f '%M' -o "$tmp/time" "$artmon" read -q -c "$cap_conf" --records summary "$1" >"$tmp/summary" 2>"$tmp/err" ||
		{ echo "FAIL: artmon read $1: $(cat "$tmp/err")" >&2; return 1; }
	[ "$(wc -l <"$tmp/summary")" -gt 1 ] || { echo "FAIL: empty summary for $1" >&2; return 1; }
	out=$(tail -n1 "$tmp/time")
	case $out in ''|*[!0-9]*) echo "FAIL: no RSS from time: $out" >&2; return 1 ;; esac
	echo "$out"
}

"$pcapgen" -s "$seed" "$small" "$tmp/small.pcap" || { echo "FAIL: pcapgen"; exit 1; }
p_small=$(peak "$tmp/small.pcap") || exit 1
rm -f "$tmp/small.pcap"
"$pcapgen" -s "$seed" "$big" "$tmp/big.pcap" || { echo "FAIL: pcapgen"; exit 1; }
p_big=$(peak "$tmp/big.pcap") || exit 1
# the big file must really hold more connections (it is not a repeat)
"$artmon" read -c "$cap_conf" --records summary "$tmp/big.pcap" 2>&1 >/dev/null | grep 'sessions:' | sed 's/^ */big: /'
rm -f "$tmp/big.pcap"

limit=$(( p_small + p_small * tol / 100 ))
echo "peak RSS: ${small} MiB file ${p_small} KiB, ${big} MiB file ${p_big} KiB (limit ${limit} KiB, +${tol}%)"
if [ "$p_big" -gt "$limit" ]; then
	echo "FAIL: peak RSS grows with the input: $p_small KiB -> $p_big KiB"
	exit 1
fi
echo "ok"
