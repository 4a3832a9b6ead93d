#!/bin/bash
# Payload framing (the shipped rules pair requests and responses from the
# payload) against header-only timing (--no-rules) on captures without
# pipelining or interim responses: both must report the same exchanges with
# the same timings, bytes and packets (in any order).  The only difference allowed is a
# request that never gets an answer by design (PostgreSQL Terminate), which
# header-only timing reports without a response and framing does not report.
# This holds on the committed captures, cut at 400 bytes a frame: where the
# framer cannot see far enough it must fall back to header-only timing, not
# lose the exchange.
set -u
. "$(dirname "$0")/captures-lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/framing.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fields='[.client, .client_port, .server_port, .ts, .first_us, .last_us, .ack_us, .think_us, .req_bytes, .resp_bytes, .req_pkts, .resp_pkts, .outcome] | @tsv'
rc=0 n=0
for name in pg redis http-nginx http-lossy; do
	pcap=$cap_dir/$name.pcap
	[ -f "$pcap" ] || { echo "FAIL: $pcap missing"; rc=1; continue; }
	cap_read "$pcap" | jq -r "$fields" | sort >"$tmp/framed" || { echo "FAIL: artmon read $name"; rc=1; continue; }
	CAP_READ_OPTS=--no-rules cap_read "$pcap" |
		jq -r "select(.first_us != null or .req_bytes != 5 or .server_port != 5432) | $fields" | sort >"$tmp/plain" ||
		{ echo "FAIL: artmon read --no-rules $name"; rc=1; continue; }
	if diff "$tmp/plain" "$tmp/framed" >"$tmp/diff"; then
		echo "ok: $name: $(wc -l <"$tmp/framed") exchanges, framed = header-only"
	else
		echo "FAIL: $name: framed (>) and header-only (<) exchanges differ:"
		head -20 "$tmp/diff"; rc=1
	fi
	n=$((n + 1))
done
[ "$n" -eq 4 ] || rc=1
exit $rc
