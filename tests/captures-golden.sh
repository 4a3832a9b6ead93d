#!/bin/bash
# Golden outputs: for every committed capture tests/captures/NAME.pcap,
# `artmon read --records transactions --format json` (shipped rules) must equal
# tests/golden/NAME.jsonl byte for byte.  Regenerate with `make regen-golden`
# (which checks the HTTP captures against tshark first).
set -u
. "$(dirname "$0")/captures-lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/golden.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
rc=0 n=0
for pcap in "$cap_dir"/*.pcap; do
	[ -f "$pcap" ] || continue
	name=$(basename "$pcap" .pcap)
	n=$((n + 1))
	if [ ! -f "$golden_dir/$name.jsonl" ]; then
		echo "FAIL: $name: no golden file tests/golden/$name.jsonl (make regen-golden)"; rc=1; continue
	fi
	if ! cap_read "$pcap" >"$tmp/$name.jsonl"; then
		echo "FAIL: $name: artmon read failed"; rc=1; continue
	fi
	if diff -u "$golden_dir/$name.jsonl" "$tmp/$name.jsonl" >"$tmp/$name.diff"; then
		echo "ok: $name ($(wc -l <"$tmp/$name.jsonl") transactions)"
	else
		echo "FAIL: $name differs from tests/golden/$name.jsonl:"; head -40 "$tmp/$name.diff"; rc=1
	fi
done
[ "$n" -ge 4 ] || { echo "FAIL: only $n captures in $cap_dir"; rc=1; }
exit $rc
