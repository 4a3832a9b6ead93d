#!/bin/bash
# Connections picked up mid-stream: the handshake of the first connection of
# http-nginx.pcap is cut out (editcap).  By default ("wait for SYN") artmon
# reports nothing for that connection and every other transaction exactly as
# on the whole capture; with --midstream it reports the connection's
# transactions with the same timings, and null handshake timings.
set -u
. "$(dirname "$0")/captures-lib.sh"
cap_need jq editcap "${TSHARK:-tshark}"
artmon=$(cap_artmon) || exit 1
pcap=$cap_dir/http-nginx.pcap
tmp=$(mktemp -d "${TMPDIR:-/tmp}/midstream.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
rc=0
# the first connection: its client port and the frames of its handshake
port=$("${TSHARK:-tshark}" -n -r "$pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -c 1 -T fields -e tcp.srcport 2>/dev/null)
frames=$(cap_handshake_frames "$pcap" "$port")
[ -n "$port" ] && [ "$(echo $frames | wc -w)" -eq 3 ] || { echo "FAIL: handshake of the first connection not found"; exit 1; }
editcap "$pcap" "$tmp/cut.pcap" $frames >/dev/null || { echo "FAIL: editcap"; exit 1; }
echo "client port $port, handshake frames $frames removed"

read_json() { "$artmon" read -q -c "$cap_conf" "$@" --records transactions --format json; }
read_json "$pcap" >"$tmp/full.jsonl" || exit 1
read_json "$tmp/cut.pcap" >"$tmp/cut.jsonl" || exit 1
read_json --midstream "$tmp/cut.pcap" >"$tmp/mid.jsonl" || exit 1

n_conn=$(jq -c "select(.client_port == $port)" "$tmp/full.jsonl" | wc -l)
[ "$n_conn" -ge 2 ] || { echo "FAIL: the first connection has only $n_conn transactions"; rc=1; }
# default: that connection is ignored, the others are untouched
grep -v "\"client_port\":$port," "$tmp/full.jsonl" >"$tmp/full.others"
if [ -n "$(jq -c "select(.client_port == $port)" "$tmp/cut.jsonl")" ]; then
	echo "FAIL: without --midstream, artmon reports the connection without a handshake"; rc=1
fi
if ! cmp -s "$tmp/full.others" "$tmp/cut.jsonl"; then
	echo "FAIL: without --midstream, the other transactions changed:"; diff "$tmp/full.others" "$tmp/cut.jsonl" | head; rc=1
fi
# --midstream: the connection's transactions, same timings, no handshake legs
strip='select(.client_port == '$port') | del(.rtt_us, .srv_rtt_us, .cli_rtt_us)'
jq -c "$strip" "$tmp/full.jsonl" >"$tmp/a"
jq -c "$strip" "$tmp/mid.jsonl" >"$tmp/b"
if ! cmp -s "$tmp/a" "$tmp/b"; then
	echo "FAIL: with --midstream, the connection's transactions differ (handshake fields aside):"; diff "$tmp/a" "$tmp/b" | head; rc=1
fi
bad=$(jq -c "select(.client_port == $port and (.rtt_us != null or .srv_rtt_us != null or .cli_rtt_us != null))" "$tmp/mid.jsonl" | wc -l)
[ "$bad" -eq 0 ] || { echo "FAIL: with --midstream, $bad transactions claim handshake timings that were not captured"; rc=1; }
if ! cmp -s "$tmp/full.others" <(grep -v "\"client_port\":$port," "$tmp/mid.jsonl"); then
	echo "FAIL: with --midstream, the other transactions changed"; rc=1
fi
[ $rc = 0 ] && echo "ok: $n_conn transactions ignored by default, measured alike with --midstream"
exit $rc
