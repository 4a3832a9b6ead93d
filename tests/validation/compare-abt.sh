#!/bin/sh
# Compares artmon's ADU records for a capture with abt's ground truth.
#
#   compare-abt.sh DIR MODE
#
# DIR holds capture.pcap, server.tsv and client.tsv (abt -o); MODE is seq
# or conc.  Needs ARTMON (path of artmon), jq, awk.  Writes DIR/adu.jsonl
# (artmon read --records adu --format json), DIR/results (key=value) and,
# one number a line, the errors in microseconds:
#   DIR/err-first      |first_us - actual| of the transaction records (the
#                      server's first request byte read to first response write)
#   DIR/err-wire       |measured - wire| server think, the wire think computed
#                      from tshark's segment list (same packets: should be 0)
#   DIR/err-think      |measured - actual| server think (request ADU's think_us
#                      against the server's time from reading the request's last
#                      byte to writing the response's first byte)
#   DIR/err-think-signed   the same, signed (measured - actual)
#   DIR/err-think-drawn    |measured - drawn| (the think time abt asked for)
#   DIR/err-cthink     |measured - actual| client pause (response ADU's think_us
#                      against the client's time from the response's last byte
#                      read to the next request's first write)
#   DIR/think-actual, DIR/think-measured   pairs for CDF plots
set -u
dir=$1
mode=$2
: "${ARTMON:?set ARTMON}"
port=${ABT_PORT:-4433}

"$ARTMON" read -q --records adu --format json "$dir/capture.pcap" >"$dir/adu.jsonl" || exit 1
# One line per record: type cport sport dir bytes think mode rtt
jq -r '[.type, .client_port, .server_port, (.dir // "-"), (.bytes // -1 | tostring),
	(.think_us | tostring), (.mode // "-"), (.rtt_us | tostring)] | @tsv' \
	"$dir/adu.jsonl" >"$dir/adu.tsv" || exit 1

# Independently of artmon, from tshark's view of every segment:
# - observed.tsv: was the connection observably concurrent at the monitor,
#   i.e. did one side send new data while the other side had data not yet
#   acknowledged?  client_port conc|seq
# - wire.tsv: the wire think time of each turn, from the last new client byte
#   to the first new server byte after it.  client_port turn microseconds
tshark -r "$dir/capture.pcap" -Y "tcp.port == $port" -T fields -e frame.time_epoch -e tcp.stream \
	-e tcp.srcport -e tcp.dstport -e tcp.seq -e tcp.len -e tcp.ack -e tcp.flags.ack -e tcp.flags.syn 2>/dev/null |
awk -F '\t' -v port="$port" -v wire="$dir/wire.tsv" '
function us(x,   p, f) {
	p = index(x, ".")
	f = substr(x, p + 1) "000000"
	return substr(x, 1, p - 1) * 1000000 + substr(f, 1, 6)
}
{
	s = $2; d = ($3 == port) ? 1 : 0; o = 1 - d
	cp[s] = d ? $4 : $3
	if ($8 == 1 && $9 == 0 && $7 > acked[s, o]) acked[s, o] = $7
	if ($6 > 0 && $5 + $6 > nxt[s, d]) {
		if (nxt[s, o] > acked[s, o]) conc[s] = 1
		nxt[s, d] = $5 + $6
		t = us($1)
		if (d == 1 && last[s] == "c")
			print cp[s] "\t" (++turn[s]) "\t" (t - lastc[s]) > wire
		if (d == 0) lastc[s] = t
		last[s] = d ? "s" : "c"
	}
}
END { for (s in cp) print cp[s] "\t" ((s in conc) ? "conc" : "seq") }' >"$dir/observed.tsv" || exit 1
touch "$dir/wire.tsv"

# Transactions (payload-free exchanges): cport req_bytes resp_bytes first think outcome
"$ARTMON" read -q --records transactions --format json "$dir/capture.pcap" |
	jq -r --argjson port "$port" 'select(.proto == "tcp" and .server_port == $port) |
	[.client_port, .req_bytes, .resp_bytes, (.first_us | tostring), (.think_us | tostring), .outcome] | @tsv' \
	>"$dir/txn.tsv" || exit 1

rm -f "$dir/err-first" "$dir/err-wire" "$dir/err-think" "$dir/err-think-signed" "$dir/err-think-drawn" "$dir/err-cthink" \
	"$dir/think-actual" "$dir/think-measured" "$dir/size-actual" "$dir/size-measured"
touch "$dir/err-first" "$dir/err-wire" "$dir/err-think" "$dir/err-think-signed" "$dir/err-think-drawn" "$dir/err-cthink" \
	"$dir/think-actual" "$dir/think-measured" "$dir/size-actual" "$dir/size-measured"

awk -F '\t' -v mode="$mode" -v port="$port" -v out="$dir" '
function abs(x) { return x < 0 ? -x : x }
FILENAME ~ /server\.tsv$/ && $1 == "X" {
	c = $4; i = $5
	req[c, i] = $6; resp[c, i] = $7; drawn[c, i] = $8
	sthink[c, i] = $11 - $10
	sfirst[c, i] = $11 - $9
	if (i > sn[c]) sn[c] = i
	next
}
FILENAME ~ /client\.tsv$/ && $1 == "X" {
	c = $4; i = $5
	conn[c] = 1
	creq[c, i] = $6; cresp[c, i] = $7
	ct1[c, i] = $9; ct4[c, i] = $12
	if (i > cn[c]) cn[c] = i
	next
}
$1 == "A" {
	c = $4; i = $5; d = $6
	conn[c] = 1
	asz[c, d, i] = $7
	if (i > an[c, d]) an[c, d] = i
	sent[c, d] += $7
	next
}
$1 == "R" { next }
FILENAME ~ /observed\.tsv$/ { obs[$1] = $2; next }
FILENAME ~ /wire\.tsv$/ { wire[$1, $2] = $3; next }
FILENAME ~ /txn\.tsv$/ {
	c = $1
	k = ++tk[c]
	ntxn++
	if ($6 != "complete") txn_notcomplete++
	if (($4 != "null" && $4 < 0) || ($5 != "null" && $5 < 0)) neg++
	if (creq[c, k] == $2 && cresp[c, k] == $3) txn_exact++
	if ((c, k) in wire && $5 != "null" && abs($5 - wire[c, k]) <= 1) txn_think_wire++
	if ((c, k) in sfirst && $4 != "null") print abs($4 - sfirst[c, k]) > (out "/err-first")
	next
}
FILENAME ~ /adu\.tsv$/ {
	if ($3 != port) next
	c = $2
	seen[c] = 1
	if ($1 == "RTT" && $8 != "null" && $8 < 0) neg++
	if ($1 == "CONC") { conc[c] = 1; next }
	if ($1 != "ADU" && $1 != "INC") next
	# Every abt connection was closed (FIN both ways) before the capture
	# stopped: no ADU was still in progress at the end of the input.
	if ($1 == "INC") inc++
	if ($6 != "null" && $6 < 0) neg++
	if ($7 == "seq" && (c in conc)) seqafter++
	k = ++mk[c]
	mdir[c, k] = $4; mbytes[c, k] = $5; mthink[c, k] = $6
	kd = ++mkd[c, $4]
	mdsz[c, $4, kd] = $5
	mtot[c, $4] += $5
	nadu++
	print $5 > (out "/size-measured")
	next
}
END {
	nconn = 0
	for (c in conn) {
		nconn++
		if (c in seen) nseen++
		if (obs[c] == "conc") {
			observable++
			if (c in conc) flagged_obs++
		} else if (c in conc)
			flagged_unobs++
		if (mode == "seq") {
			n = cn[c]
			if (sn[c] != n) truthdiff++
			if (c in conc) falseconc++
			ok = (mk[c] == 2 * n)
			for (i = 1; i <= n; i++) {
				ek[1] = 2 * i - 1; ed[1] = "c2s"; eb[1] = creq[c, i]
				ek[2] = 2 * i;     ed[2] = "s2c"; eb[2] = cresp[c, i]
				print creq[c, i] > (out "/size-actual")
				print cresp[c, i] > (out "/size-actual")
				for (j = 1; j <= 2; j++) {
					adus++
					k = ek[j]
					if (mdir[c, k] == ed[j] && mbytes[c, k] == eb[j]) exact++
					else ok = 0
				}
				# The request ADU: its think time is the server think time.
				k = 2 * i - 1
				if (mdir[c, k] == "c2s" && mbytes[c, k] == creq[c, i] && ((c, i) in sthink)) {
					if (mthink[c, k] == "null") thmiss++
					else {
						e = mthink[c, k] - sthink[c, i]
						thn++
						if (abs(e) < 1000) th1ms++
						print abs(e) > (out "/err-think")
						print e > (out "/err-think-signed")
						print abs(mthink[c, k] - drawn[c, i]) > (out "/err-think-drawn")
						print sthink[c, i] > (out "/think-actual")
						print mthink[c, k] > (out "/think-measured")
						if ((c, i) in wire) {
							wn++
							ew = abs(mthink[c, k] - wire[c, i])
							if (ew <= 1) wexact++
							print ew > (out "/err-wire")
						}
					}
				}
				# The response ADU (not the last): the client pause.
				k = 2 * i
				if (i < n && mdir[c, k] == "s2c" && mbytes[c, k] == cresp[c, i] && mthink[c, k] != "null")
					print abs(mthink[c, k] - (ct1[c, i + 1] - ct4[c, i])) > (out "/err-cthink")
			}
			if (ok) connexact++
		} else {
			if (c in conc) flagged++
			bok = 1
			for (dd = 1; dd <= 2; dd++) {
				d = dd == 1 ? "c2s" : "s2c"
				if (mtot[c, d] != sent[c, d]) bok = 0
				for (i = 1; i <= an[c, d]; i++) {
					adus++
					print asz[c, d, i] > (out "/size-actual")
					if (mdsz[c, d, i] == asz[c, d, i]) exact++
				}
			}
			if (bok) bytesok++
		}
	}
	printf "mode=%s\nconns=%d\nconns_seen=%d\nadus_expected=%d\nadus_measured=%d\nadus_exact=%d\n", \
		mode, nconn, nseen, adus, nadu, exact
	printf "wire_n=%d\nwire_within_1us=%d\n", wn, wexact
	printf "txn_n=%d\ntxn_bytes_exact=%d\ntxn_think_wire=%d\ntxn_not_complete=%d\n", ntxn, txn_exact, txn_think_wire, txn_notcomplete
	printf "conns_exact=%d\nthink_n=%d\nthink_within_1ms=%d\nthink_missing=%d\n", connexact, thn, th1ms, thmiss
	printf "negative_times=%d\nfalse_conc=%d\ntruth_mismatch=%d\ninc_records=%d\n", neg, falseconc, truthdiff, inc
	printf "conc_flagged=%d\nseq_after_conc=%d\nconns_bytes_exact=%d\n", flagged, seqafter, bytesok
	printf "conc_observable=%d\nconc_flagged_observable=%d\nconc_flagged_unobservable=%d\n", observable, flagged_obs, flagged_unobs
}' "$dir/server.tsv" "$dir/client.tsv" "$dir/observed.tsv" "$dir/wire.tsv" "$dir/txn.tsv" "$dir/adu.tsv" >"$dir/results" || exit 1

. "${VAL_LIB:-$(dirname "$0")/lib.sh}"
for f in err-first err-wire err-think err-think-signed err-think-drawn err-cthink; do
	set -- $(val_stats "$dir/$f")
	k=$(echo "$f" | tr - _)
	printf '%s_n=%s\n%s_p50=%s\n%s_p90=%s\n%s_p99=%s\n%s_max=%s\n' "$k" "$1" "$k" "$2" "$k" "$3" "$k" "$4" "$k" "$5" >>"$dir/results"
done
# The signed minimum (a measured think shorter than the actual is suspicious).
printf 'err_think_signed_min=%s\n' "$(sort -g "$dir/err-think-signed" | head -n 1)" >>"$dir/results"
exit 0
