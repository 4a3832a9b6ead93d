#!/bin/sh
# census_bench.sh FILE... : packets/s of source + decode with and without the
# census (hardwired + top-N, then 1 and 8 Ourmon-style filter sets of four
# expressions each, fast path and interpreter).  Best of RUNS (default 3).
# Not part of `make check`; numbers go to doc/census.md.
set -eu
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
run=$top_builddir/tests/tools/censusrun
runs=${RUNS:-3}
[ $# -gt 0 ] || { echo "usage: census_bench.sh FILE..." >&2; exit 2; }

set4() { # NAME: four expressions that a set of application ports would hold
	echo "$1:ssh=tcp port 22,web=tcp port 80,https=tcp port 443,mail=tcp port 25"
}
best() { # label, censusrun args...
	label=$1; shift
	b=0
	for i in $(seq "$runs"); do
		pps=$("$run" -b "$@" 2>&1 >/dev/null | sed -n 's/^bench:.* pps \([0-9]*\).*/\1/p')
		[ "$pps" -gt "$b" ] && b=$pps
	done
	printf '%-44s %10s pkt/s\n' "$label" "$b"
}

best "decode only (no census)" --no-census "$@"
best "census: hardwired + top-N" "$@"
best "census: hardwired only" --no-topn "$@"
best "census + 1 set x 4 expr (fast path)" -f "$(set4 ports)" "$@"
best "census + 1 set x 4 expr (interpreter)" --no-fast -f "$(set4 ports)" "$@"
eval "best 'census + 8 sets x 4 expr (fast path)' $(for i in 1 2 3 4 5 6 7 8; do printf -- "-f '%s' " "$(set4 s$i)"; done) \"\$@\""
eval "best 'census + 8 sets x 4 expr (interpreter)' --no-fast $(for i in 1 2 3 4 5 6 7 8; do printf -- "-f '%s' " "$(set4 s$i)"; done) \"\$@\""
best "decode + tracker (no census)" --no-census --tracker "$@"
best "decode + tracker + census + 1 set (fast)" --tracker -f "$(set4 ports)" "$@"
