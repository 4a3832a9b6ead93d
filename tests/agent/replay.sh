#!/bin/sh
# artmond replays a capture spanning several intervals (IPv4 and IPv6
# servers) into a store and serves it through a private snmpd: snmpget,
# snmpwalk, snmpbulkwalk and snmptable with ARTMON-MIB loaded show the
# capture row and server rows whose counters equal what `artmon read`
# reports for the same capture; history rows come from the store; after a
# restart of snmpd and of artmond the rows keep their indexes and counters.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond stdmibs snmpwalk snmpbulkwalk snmptable
ARTMON="$top_builddir/cli/artmon"
[ -x "$ARTMON" ] || am_skip "artmon not built"

cap="$AM_TMP/loop.pcap"
make_loopback_capture "$cap" 3 10
store="$AM_TMP/store"

# What artmon read reports.
"$ARTMON" read -R summary -F csv "$cap" >"$AM_TMP/read.csv" 2>"$AM_TMP/read.err" ||
	am_fail "artmon read failed: $(cat "$AM_TMP/read.err")"
read_pkts=$(sed -n 's/^artmon read: \([0-9]*\) packets, \([0-9]*\) bytes.*/\1/p' "$AM_TMP/read.err")
read_bytes=$(sed -n 's/^artmon read: \([0-9]*\) packets, \([0-9]*\) bytes.*/\2/p' "$AM_TMP/read.err")
[ -n "$read_pkts" ] || am_fail "no packet count from artmon read: $(cat "$AM_TMP/read.err")"

snmptrapd_start
snmpd_start
artmond_start -r "$cap" -s "$store" --interval 10 --name replay-test
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
wait_until 20 replay_finished ||
	am_fail "the replay did not finish"

# Scalars.
assert_eq "artmonSensorName" replay-test "$(snmpget_q ARTMON-MIB::artmonSensorName.0)"
assert_eq "artmonSummaryInterval" "10 seconds" "$(snmpget_q ARTMON-MIB::artmonSummaryInterval.0)"
nint=$(snmpget_q ARTMON-MIB::artmonIntervalsCompleted.0)
[ "$nint" -ge 3 ] || am_fail "only $nint intervals completed, the capture spans at least 3"
am_log "ok: $nint intervals completed"

# The capture row equals artmon read's counts.
assert_eq "artmonCapturePackets.1" "$read_pkts" "$(snmpget_q ARTMON-MIB::artmonCapturePackets.1)"
assert_eq "artmonCaptureOctets.1" "$read_bytes octets" "$(snmpget_q ARTMON-MIB::artmonCaptureOctets.1)"
assert_eq "artmonCaptureLinkType.1" 1 "$(snmpget_q ARTMON-MIB::artmonCaptureLinkType.1)"
assert_eq "artmonCaptureKind.1" file "$(snmpget_q ARTMON-MIB::artmonCaptureKind.1)"
snmptable_q ARTMON-MIB::artmonCaptureTable >"$AM_TMP/captable" || am_fail "snmptable capture"
grep -q "^1,$cap,file,1,finished,$read_pkts," "$AM_TMP/captable" ||
	am_fail "capture table row: $(cat "$AM_TMP/captable")"
am_log "ok: snmptable capture row"

# Server rows: every server of artmon read's summary, with its totals.
# (Summary rows are per signature; a server's totals are their sum.)
awk -F, 'NR > 1 { k = $1 "," $2; n[k] += $4; r[k] += $5; t[k] += $6; i[k] += $7;
	q[k] += $9; s[k] += $10; fn[k] += $11 }
	END { for (k in n) print k, n[k], r[k], t[k], i[k], q[k], s[k], fn[k] }' \
	"$AM_TMP/read.csv" >"$AM_TMP/servers"
nsrv=$(wc -l <"$AM_TMP/servers")
[ "$nsrv" -eq 2 ] || am_fail "expected 2 servers in artmon read's summary, got $nsrv"
snmpwalk_q ARTMON-MIB::artmonServerTable >"$AM_TMP/walk" || am_fail "snmpwalk server table"
snmpbulkwalk_q ARTMON-MIB::artmonServerTable >"$AM_TMP/bulkwalk" || am_fail "snmpbulkwalk server table"
cmp -s "$AM_TMP/walk" "$AM_TMP/bulkwalk" || am_fail "snmpwalk and snmpbulkwalk differ"
saw6=0
while read -r key n r t i q s fn; do
	addr=${key%,*}
	port=${key#*,}
	idx=$(server_index "$addr" "$port")
	case $idx in 2.16.*) saw6=1 ;; esac
	get() { grep "^$1\.$idx = " "$AM_TMP/walk" | sed 's/.* = //; s/ octets$//'; }
	assert_eq "transactions of $addr:$port" "$n" "$(get artmonServerTransactions)"
	assert_eq "resets of $addr:$port" "$r" "$(get artmonServerResets)"
	assert_eq "timeouts of $addr:$port" "$t" "$(get artmonServerTimeouts)"
	assert_eq "incomplete of $addr:$port" "$i" "$(get artmonServerIncomplete)"
	assert_eq "request octets of $addr:$port" "$q" "$(get artmonServerRequestOctets)"
	assert_eq "response octets of $addr:$port" "$s" "$(get artmonServerResponseOctets)"
	assert_eq "first count of $addr:$port" "$fn" "$(get artmonServerFirstCount)"
	# snmpget on the same instance agrees with the walk.
	assert_eq "snmpget transactions of $addr:$port" "$n" \
		"$(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")"
done <"$AM_TMP/servers"
[ "$saw6" = 1 ] || am_fail "no IPv6 server row"

# The mean of `first` from the cumulative sum and count equals artmon read's
# (one signature per server without rules: compare per row).
awk -F, 'NR > 1 && $11 > 0 { print $1, $2, $13 }' "$AM_TMP/read.csv" | while read -r addr port mean; do
	idx=$(server_index "$addr" "$port")
	sum=$(grep "^artmonServerFirstSum\.$idx = " "$AM_TMP/walk" | sed 's/.* = //; s/ .*//')
	cnt=$(grep "^artmonServerFirstCount\.$idx = " "$AM_TMP/walk" | sed 's/.* = //')
	got=$(( (sum + cnt / 2) / cnt ))
	[ "$got" = "$mean" ] || am_fail "mean first of $addr:$port: sum/count $got, artmon read $mean"
done || exit 1
am_log "ok: mean first from sum and count"

# snmptable names every column and shows both servers.
snmptable_q ARTMON-MIB::artmonServerTable >"$AM_TMP/srvtable" || am_fail "snmptable servers"
assert_eq "server table rows" 2 "$(wc -l <"$AM_TMP/srvtable")"
grep -q '^ipv6\.' "$AM_TMP/srvtable" || am_fail "no IPv6 row in snmptable: $(cat "$AM_TMP/srvtable")"
snmptable_q ARTMON-MIB::artmonSignatureTable >"$AM_TMP/sigtable" || am_fail "snmptable signatures"
assert_eq "signature table rows" 2 "$(wc -l <"$AM_TMP/sigtable")"

# The whole module: every object is named by the MIB (no numeric leftovers)
# and has the type the MIB gives it.
snmpwalk_q ARTMON-MIB::artmonMIB >"$AM_TMP/all" || am_fail "full walk"
bad=$(grep -v '^artmon' "$AM_TMP/all" | head -5)
[ -z "$bad" ] || am_fail "objects the MIB does not name: $bad"
bad=$(grep -i 'wrong type' "$AM_TMP/all" | head -5)
[ -z "$bad" ] || am_fail "objects with a type the MIB does not give: $bad"
am_log "ok: $(wc -l <"$AM_TMP/all") objects named and typed by ARTMON-MIB"

# History: at least one row per interval with traffic for the IPv4 server's
# signature, and the histogram's +inf bound counts every timed transaction.
idx4=$(server_index 127.0.0.1 "$CAP_PORT4")
sig4=$(grep "^artmonSignatureName\.$idx4\." "$AM_TMP/all" | head -n1 | sed 's/ = .*//; s/.*\.//')
[ -n "$sig4" ] || am_fail "no signature row for 127.0.0.1:$CAP_PORT4"
nh=$(grep -c "^artmonHistoryTransactions\.$idx4\.$sig4\." "$AM_TMP/all")
[ "$nh" -ge 3 ] || am_fail "only $nh history rows for 127.0.0.1:$CAP_PORT4"
fn4=$(grep "^artmonServerFirstCount\.$idx4 = " "$AM_TMP/all" | sed 's/.* = //')
assert_eq "histogram +inf count" "$fn4" \
	"$(snmpget_q "ARTMON-MIB::artmonHistogramCount.$idx4.$sig4.4294967295")"

# The last-interval gauges of each signature row equal the store's record
# of the final interval (artmon store show).
"$top_builddir/cli/artmon" store -s "$store" show -F csv >"$AM_TMP/show.csv" 2>"$AM_TMP/show.err" ||
	am_fail "artmon store show: $(cat "$AM_TMP/show.err")"
python3 - "$AM_TMP/show.csv" "$AM_TMP/all" <<'PY' >"$AM_TMP/gauges.out" 2>&1 || am_fail "gauges differ from the store: $(cat "$AM_TMP/gauges.out")"
import csv, ipaddress, sys
rows = list(csv.DictReader(open(sys.argv[1])))
last = max(float(r["interval_start"]) for r in rows)
walk = {}
for line in open(sys.argv[2]):
    if " = " in line:
        k, v = line.rstrip("\n").split(" = ", 1)
        walk[k] = v.split(" ")[0] if v else ""
def index(addr, port):
    a = ipaddress.ip_address(addr)
    b = a.packed
    return ".".join([str(1 if a.version == 4 else 2), str(len(b))] + [str(x) for x in b] + [port])
cols = {"IntTransactions": "count", "IntFirstMin": "first_min_us", "IntFirstP50": "first_p50_us",
        "IntFirstP90": "first_p90_us", "IntFirstP99": "first_p99_us", "IntFirstMax": "first_max_us",
        "IntLastP50": "last_p50_us", "IntLastMax": "last_max_us", "IntRttP90": "rtt_p90_us"}
bad = checked = 0
for r in rows:
    if float(r["interval_start"]) != last:
        continue
    idx = index(r["server"], r["server_port"])
    names = [k for k, v in walk.items() if k.startswith("artmonSignatureName." + idx + ".") and v == r["signature"]]
    if len(names) != 1:
        print("no signature row for", idx, repr(r["signature"])); bad += 1; continue
    sid = names[0].rsplit(".", 1)[1]
    for col, field in cols.items():
        want = r[field] if r[field] not in ("", "null") else "0"
        got = walk.get("artmonSignature%s.%s.%s" % (col, idx, sid))
        checked += 1
        if got != want:
            print("%s of %s.%s: MIB %s, store %s" % (col, idx, sid, got, want)); bad += 1
    errs = int(r["resets"]) + int(r["timeouts"]) + int(r["incomplete"])
    if walk.get("artmonSignatureIntErrors.%s.%s" % (idx, sid)) != str(errs):
        print("IntErrors of", idx, sid); bad += 1
print("checked", checked)
sys.exit(1 if bad or checked == 0 else 0)
PY
am_log "ok: last-interval gauges equal the store's final interval ($(tail -n1 "$AM_TMP/gauges.out"))"

# Store health is published.
flushes=$(snmpget_q ARTMON-MIB::artmonStoreFlushes.0)
[ "$flushes" -ge 3 ] || am_fail "only $flushes flushes"
assert_eq "artmonStorePath" "$store" "$(snmpget_q ARTMON-MIB::artmonStorePath.0)"

# Registered in the master's sysORTable.
snmpwalk -v2c -c public -On "127.0.0.1:$SNMPD_PORT" .1.3.6.1.2.1.1.9.1.2 |
	grep -q '= OID: \.1\.3\.6\.1\.4\.1\.32473$' || am_fail "ARTMON-MIB not in sysORTable"
am_log "ok: sysORTable entry"

# Restarting the master keeps everything (the subagent re-joins).
grep -v 'artmonStoreMapUsed\|artmonStoreLastFlush' "$AM_TMP/all" >"$AM_TMP/all.before"
snmpd_stop
snmpd_start
wait_until 10 replay_finished || am_fail "artmond did not re-join the restarted master"
snmpwalk_q ARTMON-MIB::artmonMIB | grep -v 'artmonStoreMapUsed\|artmonStoreLastFlush' >"$AM_TMP/all.after"
cmp -s "$AM_TMP/all.before" "$AM_TMP/all.after" || am_fail "walk differs after restarting snmpd: $(diff "$AM_TMP/all.before" "$AM_TMP/all.after" | head -5)"
am_log "ok: same walk after restarting snmpd"

# Restarting artmond on the same store keeps the indexes and the counters:
# replaying the capture again doubles the server totals.
artmond_stop
artmond_start -r "$cap" -s "$store" --name replay-test
artmond_wait_registered
wait_until 20 replay_finished || am_fail "the second replay did not finish"
while read -r key n r t i q s fn; do
	idx=$(server_index "${key%,*}" "${key#*,}")
	assert_eq "transactions of ${key%,*}:${key#*,} after a restart" $((2 * n)) \
		"$(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")"
done <"$AM_TMP/servers"
# kill -9 after the end of the replay loses nothing: the final flush was
# made and the store closed its books, so the counters go on and there is
# no discontinuity.
disc=$(snmpget_q ARTMON-MIB::artmonCounterDiscontinuityTime.0)
kill -KILL "$ARTMOND_PID"
wait "$ARTMOND_PID" 2>/dev/null
ARTMOND_PID=""
artmond_start -r "$cap" -s "$store" --name replay-test
artmond_wait_registered
wait_until 20 replay_finished || am_fail "the replay after kill -9 did not finish"
assert_eq "artmonCounterDiscontinuityTime after kill -9 at the end" "$disc" \
	"$(snmpget_q ARTMON-MIB::artmonCounterDiscontinuityTime.0)"
while read -r key n r t i q s fn; do
	idx=$(server_index "${key%,*}" "${key#*,}")
	assert_eq "transactions of ${key%,*}:${key#*,} after kill -9 at the end" $((3 * n)) \
		"$(snmpget_q "ARTMON-MIB::artmonServerTransactions.$idx")"
done <"$AM_TMP/servers"

before=$(grep '^artmonSignatureName\.' "$AM_TMP/all.before" | sed 's/ = .*//' | sort)
after=$(snmpwalk_q ARTMON-MIB::artmonSignatureName | sed 's/ = .*//' | sort)
assert_eq "signature rows after a restart" "$before" "$after"
echo PASS
