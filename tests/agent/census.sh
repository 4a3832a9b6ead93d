#!/bin/sh
# The traffic census through a real snmpd: artmond replays a capture (a
# random-source SYN flood with ten steady talkers) with filter sets from
# its configuration.  Every label of artmonFilterTable counts the packets
# `tcpdump -r FILE EXPR | wc -l` prints, and the octets `artmon read
# --records filters` counts; the hardwired counters add up to the capture;
# the talker tables of artmonTopTable hold the rows of `artmon read
# --records topn` for the same capture (one summary interval).  A reload
# with a bad BPF expression keeps the previous configuration and counters;
# a reload that changes the sets starts new counters (artmonCensusSince).
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond stdmibs snmpwalk snmpbulkwalk snmptranslate snmptable tcpdump
ARTMON="$top_builddir/cli/artmon"
SYNFLOOD="$top_builddir/tests/tools/synflood"
[ -x "$ARTMON" ] || am_skip "artmon not built"
[ -x "$SYNFLOOD" ] || am_skip "tests/tools/synflood not built"

cap="$AM_TMP/flood.pcap"
# 3,000 random sources and ten talkers at 5% each (6,000 frames, within
# one hour from 1700000000: one summary interval of 3600 s).
"$SYNFLOOD" -n 3000 -t 10 -p 5 -S -o "$cap" >/dev/null || am_fail "synflood"

conf="$AM_TMP/census.conf"
cat >"$conf" <<'CONF'
artmon {
	top_n = 10;
	top_capacity = 8192;
	filter_set flood {
		syn = "tcp[tcpflags] & tcp-syn != 0";
		talkers = "src net 10.77.0.0/16";
		https = "tcp dst port 443";
		big = "greater 300";
	}
	filter_set web {
		http = "tcp port 80";
		none = "udp";
	}
}
CONF

# What the CLI reports for the same capture and configuration.
"$ARTMON" read -q -c "$conf" -R filters -F csv "$cap" >"$AM_TMP/filters.csv" ||
	am_fail "artmon read --records filters"
"$ARTMON" read -q -c "$conf" -R topn -F csv "$cap" >"$AM_TMP/topn.csv" ||
	am_fail "artmon read --records topn"

snmpd_start
artmond_start -c "$conf" -r "$cap" --interval 3600 --name census-test
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
wait_until 30 replay_finished || am_fail "the replay did not finish"
# the top-N interval is complete once the replay ended
top_done() { [ "$(snmpget_q ARTMON-MIB::artmonCensusTopIntervals.0)" -ge 1 ] 2>/dev/null; }
wait_until 10 top_done || am_fail "no completed top-N interval"

snmpwalk_q ARTMON-MIB::artmonCensus >"$AM_TMP/walk" || am_fail "snmpwalk artmonCensus"
# GETNEXT across the census's scalars and four tables: numeric OIDs
# strictly increasing (snmpwalk's own check on, nothing on stderr), and the
# same objects as GETBULK.
census_oid=$(snmptranslate -M "$AM_MIBDIRS" -m ARTMON-MIB -On ARTMON-MIB::artmonCensus)
snmpwalk -v2c -c public -r 1 -t 2 -On -Oq "127.0.0.1:$SNMPD_PORT" "$census_oid" \
	>"$AM_TMP/nwalk" 2>"$AM_TMP/nwalk.err" || am_fail "numeric snmpwalk: $(cat "$AM_TMP/nwalk.err")"
[ -s "$AM_TMP/nwalk.err" ] && am_fail "snmpwalk artmonCensus: $(cat "$AM_TMP/nwalk.err")"
snmpbulkwalk -v2c -c public -r 1 -t 2 -On -Oq "127.0.0.1:$SNMPD_PORT" "$census_oid" \
	>"$AM_TMP/nbwalk" 2>&1 || am_fail "numeric snmpbulkwalk: $(cat "$AM_TMP/nbwalk")"
python3 - "$AM_TMP/nwalk" "$AM_TMP/nbwalk" <<'PY' || am_fail "artmonCensus walk out of order or incomplete"
import sys
def oids(path):
    return [tuple(int(x) for x in l.split()[0].strip('.').split('.')) for l in open(path) if l.strip()]
walk, bulk = oids(sys.argv[1]), oids(sys.argv[2])
bad = [i for i in range(1, len(walk)) if walk[i] <= walk[i - 1]]
if bad:
    sys.exit("not increasing after %s" % '.'.join(map(str, walk[bad[0] - 1])))
if walk != bulk:
    sys.exit("GETNEXT walk (%d objects) differs from GETBULK walk (%d)" % (len(walk), len(bulk)))
PY
assert_eq "artmonCensus objects (walk = bulkwalk, increasing)" "$(wc -l <"$AM_TMP/walk")" "$(wc -l <"$AM_TMP/nwalk")"
val() { grep "^$1 = " "$AM_TMP/walk" | sed 's/^[^=]* = //; s/ \(packets\|octets\)$//'; }

assert_eq "artmonCensusTopN" 10 "$(val artmonCensusTopN.0)"
assert_eq "artmonCensusTopCapacity" 8192 "$(val artmonCensusTopCapacity.0)"

# Filter table: set, label, expression, and counts equal to tcpdump's.
snmptable_q ARTMON-MIB::artmonFilterTable >"$AM_TMP/ftable" || am_fail "snmptable artmonFilterTable"
nrows=$(wc -l <"$AM_TMP/ftable")
assert_eq "artmonFilterTable rows" 6 "$nrows"
i=0
for spec in "1 1 flood syn" "1 2 flood talkers" "1 3 flood https" "1 4 flood big" "2 1 web http" "2 2 web none"; do
	set -- $spec
	expr=$(awk -v s="$3" -v l="$4" '
		/filter_set/ { set = $2 }
		$2 == "=" && set == s && $1 == l { sub(/^[^"]*"/, ""); sub(/";$/, ""); print }' "$conf")
	assert_eq "artmonFilterSetName.$1.$2" "$3" "$(val "artmonFilterSetName.$1.$2")"
	assert_eq "artmonFilterLabel.$1.$2" "$4" "$(val "artmonFilterLabel.$1.$2")"
	assert_eq "artmonFilterExpression.$1.$2" "$expr" "$(val "artmonFilterExpression.$1.$2")"
	want=$(tcpdump -r "$cap" -n "$expr" 2>/dev/null | wc -l)
	assert_eq "artmonFilterPackets.$1.$2 ($expr) vs tcpdump" "$want" "$(val "artmonFilterPackets.$1.$2")"
	octets=$(awk -F, -v s="$3" -v l="$4" '$1 == s && $2 == l { print $4 }' "$AM_TMP/filters.csv")
	assert_eq "artmonFilterOctets.$1.$2 vs artmon read" "$octets" "$(val "artmonFilterOctets.$1.$2")"
	i=$((i + 1))
done
[ "$(val artmonFilterPackets.1.1)" -gt 0 ] && [ "$(val artmonFilterPackets.1.2)" -gt 0 ] ||
	am_fail "the syn and talkers labels counted nothing"

# Hardwired counters: each group adds up to the capture's frames.
total=$(tcpdump -r "$cap" -n 2>/dev/null | wc -l)
snmptable_q ARTMON-MIB::artmonHwCounterTable >"$AM_TMP/hwtable" || am_fail "snmptable artmonHwCounterTable"
for g in cast ip size; do
	sum=$(awk -F, -v g="$g" '$2 == g { s += $4 } END { print s + 0 }' "$AM_TMP/hwtable")
	assert_eq "hardwired group $g adds up to the frames" "$total" "$sum"
done
assert_eq "hardwired ipv4" "$total" "$(awk -F, '$3 == "ipv4" { print $4 + 0 }' "$AM_TMP/hwtable")"

# Top-N: the talker tables equal artmon read's (as sets of address and
# count: ties may be ranked either way), and the error bound columns.
top_rows() {   # LIST: "address count error" per rank, sorted
	_l=$1
	for r in $(seq 1 10); do
		a=$(val "artmonTopAddress.$_l.$r")
		[ -n "$a" ] || continue
		case $a in
			*.*.*.*) ip=$a ;;
			*)	# an IPv4 InetAddress as hex octets: "0A 4D 00 01 "
				# shellcheck disable=SC2046
				set -- $(printf '%s\n' "$a" | tr -d '"')
				ip=$(printf '%d.%d.%d.%d' "0x$1" "0x$2" "0x$3" "0x$4") ;;
		esac
		echo "$ip $(val "artmonTopCount.$_l.$r") $(val "artmonTopError.$_l.$r")"
	done | sort
}
read_rows() {  # TABLE
	awk -F, -v t="$1" '$1 == t { print $3, $4, $5 }' "$AM_TMP/topn.csv" | sort
}
for pair in "1 talkers_bytes" "2 talkers_packets" "3 syn_senders"; do
	set -- $pair
	top_rows "$1" >"$AM_TMP/mib.$2"
	read_rows "$2" >"$AM_TMP/read.$2"
	[ -s "$AM_TMP/read.$2" ] || am_fail "artmon read has no $2 rows"
	cmp -s "$AM_TMP/mib.$2" "$AM_TMP/read.$2" ||
		am_fail "artmonTopTable list $1 differs from artmon read's $2:
$(diff "$AM_TMP/read.$2" "$AM_TMP/mib.$2")"
	am_log "ok: artmonTopTable list $1 = artmon read $2 ($(wc -l <"$AM_TMP/mib.$2") rows)"
done
# the ten talkers are the top ten talkers by packets, exactly counted
talkers=$(awk '$1 ~ /^10\.77\.0\./ && $3 == 0' "$AM_TMP/mib.talkers_packets" | wc -l)
assert_eq "talkers in the top 10 by packets, exact" 10 "$talkers"
assert_eq "artmonTopInfoRows.2" 10 "$(val artmonTopInfoRows.2)"
assert_eq "artmonTopInfoTotal.2 (packets in the interval)" "$total" "$(val artmonTopInfoTotal.2)"
assert_eq "artmonTopInfoName.1" talkers_bytes "$(val artmonTopInfoName.1)"
assert_eq "artmonTopPort.1.1 (a talker row)" 0 "$(val artmonTopPort.1.1)"
assert_eq "artmonTopGuaranteed.2.1" true "$(val artmonTopGuaranteed.2.1)"

# Reload with a bad expression: refused, counters kept.
since=$(snmpget_q ARTMON-MIB::artmonCensusSince.0)
syn=$(val artmonFilterPackets.1.1)
cp "$conf" "$AM_TMP/good.conf"
sed -i 's/"tcp dst port 443"/"tcp dst port four"/' "$conf"
kill -HUP "$ARTMOND_PID"
failed() { [ "$(snmpget_q ARTMON-MIB::artmonConfigLoadResult.0)" = failedKeptPrevious ]; }
wait_until 10 failed || am_fail "a bad BPF expression was not refused on reload"
msg=$(snmpget_q ARTMON-MIB::artmonConfigLoadMessage.0)
case $msg in *census.conf:7:*"label 'https'"*) ;; *) am_fail "artmonConfigLoadMessage: $msg" ;; esac
am_log "ok: reload refused: $msg"
assert_eq "filter counters kept" "$syn" "$(snmpget_q ARTMON-MIB::artmonFilterPackets.1.1 | sed 's/ packets$//')"
assert_eq "artmonCensusSince kept" "$since" "$(snmpget_q ARTMON-MIB::artmonCensusSince.0)"

# Reload with a changed set: new rows, counters from zero.
sleep 1.1   # artmonCensusSince has a resolution of 0.1 s
sed 's/none = "udp";/none = "udp";\n\t\tdns = "udp port 53";/' "$AM_TMP/good.conf" >"$conf"
kill -HUP "$ARTMOND_PID"
newrow() { [ "$(snmpget_q ARTMON-MIB::artmonFilterLabel.2.3)" = dns ]; }
wait_until 10 newrow || am_fail "the changed filter set did not appear after a reload"
assert_eq "artmonConfigLoadResult after a good reload" ok "$(snmpget_q ARTMON-MIB::artmonConfigLoadResult.0)"
assert_eq "counters start again" 0 "$(snmpget_q ARTMON-MIB::artmonFilterPackets.1.1 | sed 's/ packets$//')"
[ "$(snmpget_q ARTMON-MIB::artmonCensusSince.0)" != "$since" ] || am_fail "artmonCensusSince unchanged"
am_log "ok: reload replaced the census"
echo "PASS: census"
