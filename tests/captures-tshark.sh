#!/bin/bash
# Cross-check with tshark on the committed HTTP captures: for every final
# (non-1xx) HTTP response, artmon's first_us equals tshark's http.time
# (-o tcp.desegment_tcp_streams:FALSE) within 1 us, the request times agree,
# and both count the same transactions.  On captures of full frames (not
# cut by a snaplen) last_us is also compared with the frame where tshark
# completes the reassembled response.
#   captures-tshark.sh [PCAP...]   (default: tests/captures/http-*.pcap)
set -u
. "$(dirname "$0")/captures-lib.sh"
for t in jq "${TSHARK:-tshark}"; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not found (scripts/install-deps)"; exit 77; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xcheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ $# -gt 0 ] || set -- "$cap_dir"/http-*.pcap
rc=0 n=0
for pcap in "$@"; do
	[ -f "$pcap" ] || { echo "FAIL: $pcap missing"; rc=1; continue; }
	name=$(basename "$pcap" .pcap)
	cap_read "$pcap" >"$tmp/$name.jsonl" || { echo "FAIL: artmon read $pcap"; rc=1; continue; }
	cap_xcheck_http "$pcap" "$tmp/$name.jsonl" || rc=1
	n=$((n + 1))
done
[ "$n" -ge 1 ] || { echo "FAIL: no HTTP capture"; rc=1; }
exit $rc
