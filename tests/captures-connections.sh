#!/bin/bash
# Connection records against tshark on every committed capture: handshake
# legs (srv_rtt, cli_rtt, rtt), MSS, window scale, bytes and packets per
# direction, start and duration (tests/captures-lib.sh, cap_xcheck_conns).
set -u
. "$(dirname "$0")/captures-lib.sh"
for t in jq "${TSHARK:-tshark}"; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not found (scripts/install-deps)"; exit 77; }
done
artmon=$(cap_artmon) || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/conns.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
rc=0 n=0
for pcap in "$cap_dir"/*.pcap; do
	[ -f "$pcap" ] || continue
	"$artmon" read -q -c "$cap_conf" --records connections --format json "$pcap" >"$tmp/c.jsonl" ||
		{ echo "FAIL: artmon read $pcap"; rc=1; continue; }
	cap_xcheck_conns "$pcap" "$tmp/c.jsonl" || rc=1
	n=$((n + 1))
done
[ "$n" -ge 4 ] || { echo "FAIL: only $n captures"; rc=1; }
exit $rc
