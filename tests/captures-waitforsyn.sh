#!/bin/bash
# Per-rule WaitforSYN: the handshakes of three connections of
# http-nginx.pcap are cut out (editcap).  Rule "strict" (WaitforSYN = 1)
# claims the first, rule "plain" (no WaitforSYN) the second, rule "loose"
# (WaitforSYN = 0) the rest.  The connection of "strict" is never reported,
# the one of "loose" always (its rule picks up connections mid-stream), the
# one of "plain" only with --midstream; connections that kept their
# handshake are reported as on the whole capture.
set -u
. "$(dirname "$0")/captures-lib.sh"
cap_need jq editcap "${TSHARK:-tshark}"
artmon=$(cap_artmon) || exit 1
pcap=$cap_dir/http-nginx.pcap
tmp=$(mktemp -d "${TMPDIR:-/tmp}/waitforsyn.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
rc=0
ports=$("${TSHARK:-tshark}" -n -r "$pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e tcp.srcport 2>/dev/null |
	awk '!seen[$0]++' | head -n 3)
set -- $ports
[ $# -eq 3 ] || { echo "FAIL: fewer than three connections in $pcap"; exit 1; }
strict=$1 plain=$2 loose=$3
frames=
for p in $strict $plain $loose; do
	f=$(cap_handshake_frames "$pcap" "$p")
	[ "$(echo $f | wc -w)" -eq 3 ] || { echo "FAIL: handshake of client port $p not found"; exit 1; }
	frames="$frames $f"
done
editcap "$pcap" "$tmp/cut.pcap" $frames >/dev/null || { echo "FAIL: editcap"; exit 1; }
echo "handshakes of client ports $strict (strict), $plain (plain), $loose (loose) removed"

get='transaction GET { Offset = 0; Depth = 4; Content = "GET "; }'
cat >"$tmp/rules.conf" <<CONF
generic {
	rule strict { Server_port = 80; Client_port = $strict; WaitforSYN = 1; $get }
	rule plain { Server_port = 80; Client_port = $plain; $get }
	rule loose { Server_port = 80; WaitforSYN = 0; $get }
}
CONF
read_json() { "$artmon" read -q -c "$tmp/rules.conf" "$@" --records transactions --format json; }
read_json "$pcap" >"$tmp/full.jsonl" || exit 1
read_json "$tmp/cut.pcap" >"$tmp/cut.jsonl" || exit 1
read_json --midstream "$tmp/cut.pcap" >"$tmp/mid.jsonl" || exit 1
count() { jq -c "select(.client_port == $2)" "$1" | wc -l; }
for p in $strict $plain $loose; do
	[ "$(count "$tmp/full.jsonl" $p)" -ge 1 ] || { echo "FAIL: client port $p has no transaction in the whole capture"; rc=1; }
done
expect() {   # file what port want
	local n
	n=$(count "$1" "$3")
	if [ "$4" = none ] && [ "$n" -ne 0 ]; then
		echo "FAIL: $2: $n transactions of client port $3 reported"; rc=1
	elif [ "$4" = all ] && [ "$n" -ne "$(count "$tmp/full.jsonl" "$3")" ]; then
		echo "FAIL: $2: $n transactions of client port $3, $(count "$tmp/full.jsonl" "$3") in the whole capture"; rc=1
	fi
}
expect "$tmp/cut.jsonl" "rule strict (WaitforSYN = 1)" $strict none
expect "$tmp/mid.jsonl" "rule strict (WaitforSYN = 1) with --midstream" $strict none
expect "$tmp/cut.jsonl" "rule plain (no WaitforSYN)" $plain none
expect "$tmp/mid.jsonl" "rule plain (no WaitforSYN) with --midstream" $plain all
expect "$tmp/cut.jsonl" "rule loose (WaitforSYN = 0)" $loose all
expect "$tmp/mid.jsonl" "rule loose (WaitforSYN = 0) with --midstream" $loose all
# the connections that kept their handshake: as on the whole capture
sel="select(.client_port != $strict and .client_port != $plain and .client_port != $loose)"
jq -c "$sel" "$tmp/full.jsonl" >"$tmp/a"
for f in cut mid; do
	jq -c "$sel" "$tmp/$f.jsonl" >"$tmp/b"
	[ -s "$tmp/a" ] && cmp -s "$tmp/a" "$tmp/b" || { echo "FAIL: $f: the connections with a handshake changed"; rc=1; }
done
[ $rc = 0 ] && echo "ok: WaitforSYN = 1 ignores, WaitforSYN = 0 measures, no WaitforSYN follows --midstream"
exit $rc
