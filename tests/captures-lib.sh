# Shared by the capture tests and tests/regen-golden (sourced, bash).
#
#   cap_artmon            path of the artmon binary to test
#   cap_read PCAP         artmon's transaction records (JSON Lines) for PCAP,
#                         with the options the golden files are made with
#   cap_http_ports PCAP   HTTP server ports of a capture (80 8080)
#   cap_xcheck_http PCAP JSONL
#                         compares every HTTP response with tshark; prints
#                         one line per problem and a summary; returns 1 on
#                         any mismatch.
#
# Environment: top_srcdir, top_builddir (set by make check); ARTMON to force
# a binary; TSHARK (default tshark).

cap_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cap_dir=${CAP_DIR:-$cap_srcdir/tests/captures}
golden_dir=$cap_srcdir/tests/golden

cap_artmon() {
	if [ -n "${ARTMON:-}" ]; then
		echo "$ARTMON"
	elif [ -n "${top_builddir:-}" ] && [ -x "$top_builddir/cli/artmon" ]; then
		echo "$top_builddir/cli/artmon"
	else
		echo "captures: artmon not built (set top_builddir or ARTMON)" >&2
		return 1
	fi
}

# The golden files are made with the shipped configuration of the source
# tree (rules/conf/artmon.conf: signatures, payload framing of HTTP, Redis,
# PostgreSQL...).  CAP_READ_OPTS adds options (e.g. --no-rules).
cap_conf=$cap_srcdir/rules/conf/artmon.conf
cap_read() {
	local artmon
	artmon=$(cap_artmon) || return 1
	# shellcheck disable=SC2086
	"$artmon" read -q -c "$cap_conf" ${CAP_READ_OPTS:-} --records transactions --format json "$1"
}

# HTTP ports by capture name: nginx listens on 80, sleepd on 8080.
cap_http_ports() {
	case $(basename "$1") in
	http-sleep*) echo 8080 ;;
	http-*) echo 80 ;;
	*) echo "" ;;
	esac
}

# Converts "SEC.FRACTION" (any number of digits) to integer microseconds,
# exactly (string arithmetic, rounding on the 7th digit).  awk function text.
cap_awk_us='
function us(s,   p, i, f, r) {
	p = index(s, ".")
	if (p == 0) return s * 1000000
	i = substr(s, 1, p - 1); f = substr(s, p + 1) "0000000"
	r = i * 1000000 + substr(f, 1, 6)
	if (substr(f, 7, 1) >= 5) r++
	return r
}'

cap_xcheck_http() {
	local pcap=$1 jsonl=$2 ports tmp rc=0 p filter="" dports=""
	ports=$(cap_http_ports "$pcap")
	[ -n "$ports" ] || { echo "xcheck: $pcap: not an HTTP capture" >&2; return 1; }
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/xcheck.XXXXXX")
	for p in $ports; do
		filter="$filter${filter:+ || }tcp.srcport == $p"
		dports="$dports -d tcp.port==$p,http"
	done
	# tshark (desegmentation off) finds where each HTTP request and response
	# starts: frame time, per message (a frame may start several pipelined
	# messages).  Each final response answers the oldest unanswered request
	# of its connection (HTTP/1.1 order); interim (1xx) responses answer
	# none.  The reference time is response frame - request frame, which is
	# tshark's http.time wherever tshark gives one (checked: tshark leaves
	# http.time empty after a 1xx and for pipelined requests after the
	# first, so those are timed from the frames alone).
	# shellcheck disable=SC2086
	"${TSHARK:-tshark}" -n -r "$pcap" -o tcp.desegment_tcp_streams:FALSE $dports \
		-Y "http && ($filter || $(echo "$filter" | sed 's/srcport/dstport/g'))" \
		-T fields -E separator=/t -E occurrence=a -E aggregator=, \
		-e tcp.stream -e frame.time_epoch -e ip.src -e ipv6.src -e tcp.srcport -e tcp.dstport \
		-e http.request.method -e http.response.code -e http.time -e frame.number >"$tmp/tshark.raw" 2>"$tmp/tshark.err" || {
		echo "xcheck: tshark failed on $pcap: $(cat "$tmp/tshark.err")" >&2
		rm -rf "$tmp"; return 1; }
	# frames with new payload (req_pkts, resp_pkts: "data segments carrying
	# new bytes", whatever tshark calls the copies): stream, frame number,
	# direction (c: to the server)
	# shellcheck disable=SC2086
	"${TSHARK:-tshark}" -n -r "$pcap" -Y "tcp.len > 0 && ($filter || $(echo "$filter" | sed 's/srcport/dstport/g'))" \
		-T fields -E separator=/t -e tcp.stream -e frame.number -e tcp.srcport -e tcp.seq -e tcp.len 2>/dev/null |
		awk -F'\t' -v ports=" $ports " '{ d = index(ports, " " $3 " ") ? "s" : "c"; e = $4 + $5
			if (!(($1, d) in hi) || e > hi[$1, d]) { hi[$1, d] = e; print $1 "\t" $2 "\t" d } }' >"$tmp/dataframes"
	# Packets of a message: the frames with payload in its direction from
	# the one where it starts to the one where the next message starts
	# (1 when the next one starts in the same frame).
	awk -F'\t' "$cap_awk_us"'
		FNR == 1 { file++ }
		file == 1 { nd[$1, $3]++; df[$1, $3, nd[$1, $3]] = $2; next }
		{ s = $1; t = us($2); src = ($3 != "") ? $3 : $4
		  if ($7 != "") {                     # requests (client -> server)
			key[s] = src "|" $5 "|" $6
			nm = split($7, m, ",")
			for (i = 1; i <= nm; i++) { q[s, ++qn[s]] = t; qf[s, qn[s]] = $10; nreq++ }
		  }
		  if ($8 != "") {                     # responses (server -> client)
			nc = split($8, c, ","); nt = split($9, ht, ",")
			for (i = 1; i <= nc; i++) {
				rs[s, ++rn[s]] = $10          # every response start, 1xx too
				if (c[i] + 0 < 200) continue
				if (qh[s] + 0 >= qn[s] + 0) { print "xcheck: tshark: a response without a request in stream " s > "/dev/stderr"; bad = 1; continue }
				req = q[s, ++qh[s]]
				if (nc == 1 && nt == 1 && ht[1] != "" && us(ht[1]) != t - req) {
					printf "xcheck: stream %s: tshark http.time %s, frames give %.0f us\n", s, ht[1], t - req > "/dev/stderr"; bad = 1
				}
				np++; ps[np] = s; pq[np] = qh[s]; pr[np] = rn[s]; pt[np] = req; pd[np] = t - req
			}
		  }
		}
		function count(s, d, from, to,   i, n) {
			n = 0
			for (i = 1; i <= nd[s, d]; i++) if (df[s, d, i] >= from && df[s, d, i] < to) n++
			return n
		}
		END {
			for (i = 1; i <= np; i++) {
				s = ps[i]; k = pq[i]; r = pr[i]
				f = qf[s, k]; g = 1e18
				for (j = k + 1; j <= qn[s]; j++) if (qf[s, j] > f) { g = qf[s, j]; break }
				reqp = (k < qn[s] && qf[s, k + 1] == f) ? 1 : count(s, "c", f, g)
				f = rs[s, r]; g = 1e18
				for (j = r + 1; j <= rn[s]; j++) if (rs[s, j] > f) { g = rs[s, j]; break }
				respp = (r < rn[s] && rs[s, r + 1] == f) ? 1 : count(s, "s", f, g)
				printf "%s\t%.0f\t%.0f\t%d\t%d\n", key[s], pt[i], pd[i], reqp, respp
			}
			print nreq + 0 > "/dev/stderr"; exit bad
		}' "$tmp/dataframes" "$tmp/tshark.raw" 2>"$tmp/tshark.req" | sort -s -t"$(printf '\t')" -k1,1 -k2,2n >"$tmp/tshark.tsv"
	grep -v '^[0-9]*$' "$tmp/tshark.req" >&2 && rc=1
	# Full frames (no snaplen truncation): tshark can reassemble each
	# response, and the frame that completes it is the response's last byte,
	# so last_us is checked too: that frame's time - the request time above.
	local truncated
	truncated=$("${TSHARK:-tshark}" -n -r "$pcap" -Y 'frame.cap_len < frame.len' -T fields -e frame.number 2>/dev/null | wc -l)
	if [ "$truncated" -eq 0 ]; then
		# shellcheck disable=SC2086
		"${TSHARK:-tshark}" -n -r "$pcap" -o tcp.desegment_tcp_streams:TRUE -o http.desegment_body:TRUE $dports \
			-Y "http.response && http.response.code >= 200 && ($filter)" \
			-T fields -E separator=/t -E occurrence=a -E aggregator=, -e ip.dst -e ipv6.dst -e tcp.dstport -e tcp.srcport \
			-e frame.time_epoch -e tcp.stream -e tcp.nxtseq -e http.response.code -e tcp.len 2>/dev/null |
			awk -F'\t' "$cap_awk_us"'{ nc = split($8, c, ","); for (i = 1; i <= nc; i++) if (c[i] + 0 >= 200)
				printf "%s|%s|%s\t%.0f\t%s\t%s\t%s\n", ($1 != "") ? $1 : $2, $3, $4, us($5), $6, $7, $9 }' |
			sort -s -t"$(printf '\t')" -k1,1 -k2,2n >"$tmp/tshark2.tsv"
		# client -> server frames: stream, time, acknowledgment number (relative)
		# shellcheck disable=SC2086
		"${TSHARK:-tshark}" -n -r "$pcap" -Y "$(echo "$filter" | sed 's/srcport/dstport/g')" \
			-T fields -E separator=/t -e tcp.stream -e frame.time_epoch -e tcp.ack 2>/dev/null |
			awk -F'\t' "$cap_awk_us"'{ printf "%s\t%.0f\t%s\n", $1, us($2), $3 }' >"$tmp/acks.tsv"
		# server -> client frames with data: stream, time, next sequence number
		# shellcheck disable=SC2086
		"${TSHARK:-tshark}" -n -r "$pcap" -Y "($filter) && tcp.len > 0" \
			-T fields -E separator=/t -e tcp.stream -e frame.time_epoch -e tcp.nxtseq 2>/dev/null |
			awk -F'\t' "$cap_awk_us"'{ printf "%s\t%.0f\t%s\n", $1, us($2), $3 }' >"$tmp/data.tsv"
		# last_us: the frame completing the response (when that is a bare FIN,
		# as for a body delimited by the close, the last data frame before
		# it); ack_us: the first client frame after it acknowledging its last
		# byte (none: "null")
		awk -F'\t' 'FNR == 1 { file++ }
			file == 1 { na[$1]++; at[$1, na[$1]] = $2; av[$1, na[$1]] = $3; next }
			file == 2 { nd[$1]++; dt[$1, nd[$1]] = $2; dn[$1, nd[$1]] = $3; next }
			file == 3 { n[$1]++; c[$1, n[$1]] = $2; st[$1, n[$1]] = $3; nx[$1, n[$1]] = $4
			            if ($5 + 0 == 0) for (i = nd[$3]; i >= 1; i--) if (dt[$3, i] <= $2) { c[$1, n[$1]] = dt[$3, i]; nx[$1, n[$1]] = dn[$3, i]; break }
			            next }
			{ m[$1]++
			  if (!(($1 in n) && m[$1] <= n[$1])) { printf "%s\tnone\tnone\n", $0; next }
			  j = m[$1]; s = st[$1, j]; a = "null"
			  for (i = 1; i <= na[s]; i++)
				if (at[s, i] >= c[$1, j] && av[s, i] + 0 >= nx[$1, j] + 0) { a = sprintf("%.0f", at[s, i] - $2); break }
			  printf "%s\t%.0f\t%s\n", $0, c[$1, j] - $2, a }' \
			"$tmp/acks.tsv" "$tmp/data.tsv" "$tmp/tshark2.tsv" "$tmp/tshark.tsv" >"$tmp/tshark.tsv2" && mv "$tmp/tshark.tsv2" "$tmp/tshark.tsv"
	else
		awk '{ print $0 "\t-\t-" }' "$tmp/tshark.tsv" >"$tmp/tshark.tsv2" && mv "$tmp/tshark.tsv2" "$tmp/tshark.tsv"
	fi

	# artmon: every transaction on the HTTP ports
	local sel
	sel=$(for p in $ports; do printf '.server_port == %s or ' "$p"; done)
	jq -r "select(${sel}false) | [.client, .client_port, .server_port, .ts, (.first_us // \"null\"), .outcome, (.last_us // \"null\"), (.ack_us // \"null\"), .req_pkts, .resp_pkts] | @tsv" \
		"$jsonl" >"$tmp/artmon.raw" || { echo "xcheck: $jsonl: not JSON Lines" >&2; rm -rf "$tmp"; return 1; }
	awk -F'\t' '{ printf "%s|%s|%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\n", $1, $2, $3, $4 * 1000000, $5, $6, $7, $8, $9, $10 }' "$tmp/artmon.raw" |
		sort -s -t"$(printf '\t')" -k1,1 -k2,2n >"$tmp/artmon.tsv"

	local nresp nreq ntx nans
	nresp=$(wc -l <"$tmp/tshark.tsv")
	nreq=$(grep '^[0-9]*$' "$tmp/tshark.req" | tail -n1)
	ntx=$(wc -l <"$tmp/artmon.tsv")
	nans=$(awk -F'\t' '$3 != "null"' "$tmp/artmon.tsv" | wc -l)

	# Pair the k-th response of a connection (client, client port, server
	# port; ordered by request time) in both lists.
	awk -F'\t' -v name="$(basename "$pcap")" '
		FNR == 1 { file++ }
		file == 1 { k = $1; n1[k]++; t1[k, n1[k]] = $2; f1[k, n1[k]] = $3; q1[k, n1[k]] = $4; r1[k, n1[k]] = $5; l1[k, n1[k]] = $6; a1[k, n1[k]] = $7; keys[k] = 1; next }
		file == 2 { if ($3 == "null") { nonull[$1]++; next }
		            k = $1; n2[k]++; t2[k, n2[k]] = $2; f2[k, n2[k]] = $3; o2[k, n2[k]] = $4; l2[k, n2[k]] = $5; a2[k, n2[k]] = $6; q2[k, n2[k]] = $7; r2[k, n2[k]] = $8; keys[k] = 1 }
		END {
			for (k in keys) {
				n = (n1[k] > n2[k]) ? n1[k] : n2[k]
				for (i = 1; i <= n; i++) {
					if (i > n1[k]) { printf "%s: %s #%d: artmon has a response tshark does not (ts %.0f first_us %s)\n", name, k, i, t2[k, i], f2[k, i]; bad++; continue }
					if (i > n2[k]) { printf "%s: %s #%d: tshark response (request at %.0f, http.time %.0f us) missing in artmon\n", name, k, i, t1[k, i], f1[k, i]; bad++; continue }
					d = f2[k, i] - f1[k, i]; if (d < 0) d = -d
					dt = t2[k, i] - t1[k, i]; if (dt < 0) dt = -dt
					if (d > 1 || dt > 1) {
						printf "%s: %s #%d: artmon ts %.0f first_us %.0f (%s), tshark request %.0f http.time %.0f us\n", name, k, i, t2[k, i], f2[k, i], o2[k, i], t1[k, i], f1[k, i]
						bad++
					}
					if (q1[k, i] != q2[k, i] || r1[k, i] != r2[k, i]) {
						printf "%s: %s #%d: artmon req_pkts %s resp_pkts %s, tshark frames %s and %s\n", name, k, i, q2[k, i], r2[k, i], q1[k, i], r1[k, i]
						bad++
					}
					if (l1[k, i] == "none") {
						printf "%s: %s #%d: tshark reassembled no response for it\n", name, k, i; bad++
					} else if (l1[k, i] != "-") {
						d = l2[k, i] - l1[k, i]; if (d < 0) d = -d
						if (l2[k, i] == "null" || d > 1) {
							printf "%s: %s #%d: artmon last_us %s, tshark (reassembled response) %.0f us\n", name, k, i, l2[k, i], l1[k, i]
							bad++
						}
						lasts++
						if (a1[k, i] == "null" || a2[k, i] == "null") {
							if (a1[k, i] != a2[k, i]) { printf "%s: %s #%d: artmon ack_us %s, tshark %s\n", name, k, i, a2[k, i], a1[k, i]; bad++ }
						} else {
							d = a2[k, i] - a1[k, i]; if (d < 0) d = -d
							if (d > 1) { printf "%s: %s #%d: artmon ack_us %s, tshark (client ACK of the last byte) %s us\n", name, k, i, a2[k, i], a1[k, i]; bad++ }
						}
					}
					pairs++
				}
			}
			printf "%s: %d pairs compared (first_us, req_pkts, resp_pkts), %d of them also last_us and ack_us; %d mismatches\n", name, pairs, lasts, bad + 0
			exit bad > 0
		}' "$tmp/tshark.tsv" "$tmp/artmon.tsv" || rc=1

	echo "$(basename "$pcap"): tshark $nreq requests, $nresp final responses; artmon $ntx transactions, $nans with a response"
	if [ "$nresp" -eq 0 ]; then
		echo "$(basename "$pcap"): tshark found no HTTP response" ; rc=1
	fi
	if [ "$nans" -ne "$nresp" ]; then
		echo "$(basename "$pcap"): artmon timed $nans responses, tshark $nresp"; rc=1
	fi
	if [ "$ntx" -ne "$nreq" ]; then
		echo "$(basename "$pcap"): artmon reports $ntx transactions, tshark saw $nreq requests"; rc=1
	fi
	rm -rf "$tmp"
	return $rc
}

# cap_xcheck_conns PCAP JSONL: artmon's connection records (--records
# connections --format json) against the frames as tshark dissects them:
# handshake legs (srv_rtt = SYN-ACK - SYN, cli_rtt = client ACK - SYN-ACK),
# MSS and window scale of both sides, new payload bytes (from sequence
# numbers: retransmitted bytes once) and packets per direction, start time
# and duration.  Connections whose handshake is not
# in the capture are not compared.
cap_xcheck_conns() {
	local pcap=$1 jsonl=$2 tmp rc=0
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/xconn.XXXXXX")
	"${TSHARK:-tshark}" -n -r "$pcap" -Y tcp -T fields -E separator=/t \
		-e tcp.stream -e frame.time_epoch -e ip.src -e ipv6.src -e tcp.srcport \
		-e ip.dst -e ipv6.dst -e tcp.dstport -e tcp.flags.syn -e tcp.flags.ack -e tcp.len \
		-e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.seq \
		>"$tmp/frames" 2>"$tmp/err" || { echo "xconn: tshark failed: $(cat "$tmp/err")" >&2; rm -rf "$tmp"; return 1; }
	awk -F'\t' "$cap_awk_us"'
		{ s = $1; t = us($2); src = ($3 != "") ? $3 : $4; dst = ($6 != "") ? $6 : $7
		  if (!(s in first)) { first[s] = t; order[++ns] = s }
		  last[s] = t
		  if ($9 == 1 && $10 == 0) {           # SYN
			if (!(s in cli)) { cli[s] = src; cport[s] = $5; srv[s] = dst; sport[s] = $8 }
			syn[s] = t; cmss[s] = $12; cws[s] = $13
		  } else if ($9 == 1 && $10 == 1) {    # SYN-ACK
			if (s in syn) { synack[s] = t; smss[s] = $12; sws[s] = $13 }
		  } else if ((s in synack) && !(s in est) && src == cli[s] && $5 == cport[s]) {
			est[s] = t
		  }
		  if (!(s in cli)) next
		  d = (src == cli[s] && $5 == cport[s]) ? "c" : "s"
		  pk[s, d]++
		  # new bytes only: what lies beyond the highest byte seen so far
		  # (retransmissions count once, whatever tshark calls them)
		  if ($11 > 0) {
			e = $14 + $11
			if (!((s, d) in hi)) { by[s, d] += $11; hi[s, d] = e }
			else if (e > hi[s, d]) { by[s, d] += e - (($14 > hi[s, d]) ? $14 : hi[s, d]); hi[s, d] = e }
		  }
		}
		END {
			for (i = 1; i <= ns; i++) {
				s = order[i]
				if (!(s in cli) || !(s in est)) continue
				printf "%s|%s|%s\t%.0f\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\n", cli[s], cport[s], sport[s],
					first[s], synack[s] - syn[s], est[s] - synack[s], cmss[s], smss[s], cws[s], sws[s],
					by[s, "c"] + 0, by[s, "s"] + 0, pk[s, "c"] + 0, pk[s, "s"] + 0, 0, last[s] - first[s]
			}
		}' "$tmp/frames" | sort -s -t"$(printf '\t')" -k1,1 -k2,2n >"$tmp/tshark.tsv"
	jq -r '[.client, .client_port, .server_port, .ts, (.srv_rtt_us // "null"), (.cli_rtt_us // "null"),
		(.client_mss // ""), (.server_mss // ""), (.client_wscale // ""), (.server_wscale // ""),
		.c2s_bytes, .s2c_bytes, .c2s_pkts, .s2c_pkts, (.rtt_us // "null"), .duration_us] | @tsv' "$jsonl" >"$tmp/artmon.raw" ||
		{ echo "xconn: $jsonl: not JSON Lines" >&2; rm -rf "$tmp"; return 1; }
	awk -F'\t' '{ printf "%s|%s|%s\t%.0f", $1, $2, $3, $4 * 1000000; for (i = 5; i <= NF; i++) printf "\t%s", $i; printf "\n" }' \
		"$tmp/artmon.raw" | sort -s -t"$(printf '\t')" -k1,1 -k2,2n >"$tmp/artmon.tsv"
	awk -F'\t' -v name="$(basename "$pcap")" '
		FNR == 1 { file++ }
		file == 1 { k = $1; n1[k]++; r1[k, n1[k]] = $0; keys[k] = 1; next }
		{ k = $1; n2[k]++; r2[k, n2[k]] = $0; keys[k] = 1 }
		function cmp(what, a, b, tol) {
			if (a == "" && b == "") return
			if (a == "null" || b == "null" || a == "" || b == "" || (a - b > tol) || (b - a > tol)) {
				printf "%s: %s #%d: %s: artmon %s, tshark %s\n", name, k, i, what, b, a; bad++
			}
		}
		END {
			for (k in keys) {
				if (n1[k] != n2[k]) {
					# artmon may know connections without a handshake in the capture
					printf "%s: %s: tshark %d connections with a handshake, artmon %d\n", name, k, n1[k], n2[k]; bad++; continue
				}
				for (i = 1; i <= n1[k]; i++) {
					split(r1[k, i], a, "\t"); split(r2[k, i], b, "\t")
					cmp("start", a[2], b[2], 1)
					cmp("srv_rtt_us", a[3], b[3], 1); cmp("cli_rtt_us", a[4], b[4], 1)
					cmp("rtt_us", a[3] + a[4], b[13], 2)
					cmp("client_mss", a[5], b[5], 0); cmp("server_mss", a[6], b[6], 0)
					cmp("client_wscale", a[7], b[7], 0); cmp("server_wscale", a[8], b[8], 0)
					cmp("c2s_bytes", a[9], b[9], 0); cmp("s2c_bytes", a[10], b[10], 0)
					cmp("c2s_pkts", a[11], b[11], 0); cmp("s2c_pkts", a[12], b[12], 0)
					cmp("duration_us", a[14], b[14], 1)
					pairs++
				}
			}
			printf "%s: %d connections compared, %d mismatches\n", name, pairs, bad + 0
			exit (bad > 0 || pairs == 0)
		}' "$tmp/tshark.tsv" "$tmp/artmon.tsv" || rc=1
	rm -rf "$tmp"
	return $rc
}

# Skips the test (exit 77) unless every tool named is installed.
cap_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "SKIP: $t not found (scripts/install-deps)"; exit 77; }
	done
}

# The frame numbers of the handshake (SYN, SYN-ACK, ACK) of the connection
# of client port $2 in capture $1, on one line.
cap_handshake_frames() {
	"${TSHARK:-tshark}" -n -r "$1" -Y "tcp.port == $2 && tcp.len == 0 && tcp.seq <= 1 && tcp.ack <= 1" \
		-T fields -e frame.number 2>/dev/null | head -n 3 | tr '\n' ' '
}
