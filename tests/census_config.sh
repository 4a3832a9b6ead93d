#!/bin/sh
# census_config.sh: filter sets and top-N settings in the configuration.
#
#  - `artmon check` accepts filter_set blocks and lists them; a BPF
#    expression libpcap refuses is an error at its file:line:column
#    (exit 1), as is a bad top_n/top_capacity.
#  - `artmon read --records filters` without --filter-set counts the
#    configuration's sets, each label equal to `tcpdump -r FILE EXPR | wc -l`;
#    --filter-set still replaces them; top_n sets the rows of
#    `--records topn` (--top wins).
# Needs tcpdump for the counts (that part is skipped without it).
set -eu

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
artmon=$top_builddir/cli/artmon
pcap=$top_srcdir/tests/captures/http-nginx.pcap

fail() { echo "census_config: FAIL: $*"; exit 1; }

[ -x "$artmon" ] || fail "$artmon not built"
work=$(mktemp -d /tmp/census_config.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat >"$work/good.conf" <<'CONF'
artmon {
	top_n = 3;
	top_capacity = 64;
	filter_set web {
		http = "tcp port 80";
		syn = "tcp[tcpflags] & tcp-syn != 0";
	}
	filter_set other {
		to_server = "tcp dst port 80";
		big = "greater 1000";
	}
}
CONF
"$artmon" check "$work/good.conf" >"$work/check.out" 2>"$work/check.err" ||
	fail "artmon check refused a good configuration: $(cat "$work/check.err")"
grep -q '^  top_n 3, top_capacity 64$' "$work/check.out" || fail "check does not list top_n: $(cat "$work/check.out")"
grep -q '^  filter_set web$' "$work/check.out" || fail "check does not list filter_set web"
grep -q '^    syn "tcp\[tcpflags\] & tcp-syn != 0" (' "$work/check.out" || fail "check does not list label syn"

# a bad expression: an error at the expression, exit 1
cat >"$work/bad.conf" <<'CONF'
artmon {
	filter_set web {
		http = "tcp port 80";
		oops = "tcp prot 80";
	}
}
CONF
set +e
"$artmon" check "$work/bad.conf" >/dev/null 2>"$work/bad.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "artmon check exits $rc on a bad BPF expression (want 1)"
grep -q "^$work/bad.conf:4:10: error: filter set 'web', label 'oops': the BPF expression does not compile" "$work/bad.err" ||
	fail "no error at bad.conf:4:10: $(cat "$work/bad.err")"
# artmon read refuses it too
set +e
"$artmon" read -c "$work/bad.conf" --records filters -F csv "$pcap" >/dev/null 2>"$work/bad2.err"
rc=$?
set -e
[ "$rc" != 0 ] || fail "artmon read accepted a bad BPF expression"
grep -q "bad.conf:4:10: error" "$work/bad2.err" || fail "artmon read: no located error: $(cat "$work/bad2.err")"

# artmond -n reports it the same way
artmond=$top_builddir/agent/artmond
# artmond -n also checks the store, the pid file and the AgentX socket:
# private ones, so that nothing of the machine's (or of a test running
# beside this one) decides the result
priv="-s $work/store -x $work/agentx.sock -p $work/artmond.pid"
if [ -x "$artmond" ]; then
	set +e
	# shellcheck disable=SC2086
	"$artmond" -n $priv -c "$work/bad.conf" >/dev/null 2>"$work/bad4.err"
	rc=$?
	set -e
	[ "$rc" = 1 ] && grep -q "bad.conf:4:10: error: filter set 'web', label 'oops'" "$work/bad4.err" ||
		fail "artmond -n: exit $rc, $(cat "$work/bad4.err")"
	# shellcheck disable=SC2086
	"$artmond" -n $priv -c "$work/good.conf" >/dev/null 2>"$work/good4.err" ||
		fail "artmond -n refused the good configuration: $(cat "$work/good4.err")"
fi

# an expression that compiles for Ethernet but not for the link type of
# the input (raw IP): artmond -n with the input names its place
if [ -x "$artmond" ] && command -v python3 >/dev/null 2>&1; then
	python3 - "$work/raw.pcap" <<'PY'
import struct, sys
ip = bytes.fromhex("4500001c000100004011f7c9c0000201c000020204d2003500080000")
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
    f.write(struct.pack("<IIII", 1700000000, 0, len(ip), len(ip)) + ip)
PY
	printf 'artmon {\n\tfilter_set l {\n\t\tbcast = "ether broadcast";\n\t}\n}\n' >"$work/link.conf"
	"$artmon" check "$work/link.conf" >/dev/null 2>&1 || fail "artmon check refused 'ether broadcast' (Ethernet)"
	set +e
	# shellcheck disable=SC2086
	"$artmond" -n $priv -c "$work/link.conf" -r "$work/raw.pcap" >/dev/null 2>"$work/link.err"
	rc=$?
	set -e
	[ "$rc" = 1 ] && grep -q "link.conf:3:11: error: filter set 'l', label 'bcast': .*link type RAW" "$work/link.err" ||
		fail "artmond -n on raw IP: exit $rc, $(cat "$work/link.err")"
fi

printf 'artmon { top_n = 50; top_capacity = 20; }\n' >"$work/bad3.conf"
set +e
"$artmon" check "$work/bad3.conf" >/dev/null 2>"$work/bad3.err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "bad3.conf:1:37: error: top_capacity (20) must be at least top_n (50)" "$work/bad3.err" ||
	fail "top_capacity < top_n not refused at 1:37: $(cat "$work/bad3.err")"

[ -f "$pcap" ] || { echo "census_config: no $pcap; counts not checked"; exit 0; }

# the configuration's sets, counted as tcpdump counts
"$artmon" read -q -c "$work/good.conf" --records filters -F csv "$pcap" >"$work/filters.csv" ||
	fail "artmon read --records filters failed"
check_label() {
	got=$(awk -F, -v s="$1" -v l="$2" '$1 == s && $2 == l { print $3 }' "$work/filters.csv")
	[ -n "$got" ] || fail "no row for $1/$2 in $(cat "$work/filters.csv")"
	if command -v tcpdump >/dev/null 2>&1; then
		want=$(tcpdump -r "$pcap" -n "$3" 2>/dev/null | wc -l)
		[ "$got" = "$want" ] || fail "$1/$2 ($3): artmon $got, tcpdump $want"
		echo "census_config: $1/$2 = $got (tcpdump $want)"
	fi
}
check_label web http "tcp port 80"
check_label web syn "tcp[tcpflags] & tcp-syn != 0"
check_label other to_server "tcp dst port 80"
check_label other big "greater 1000"
[ "$(awk -F, '$1 == "web" || $1 == "other"' "$work/filters.csv" | wc -l)" = 4 ] || fail "not exactly 4 labels"

# --filter-set replaces the configuration's sets
"$artmon" read -q -c "$work/good.conf" --filter-set 'cli:h=tcp port 80' --records filters -F csv "$pcap" \
	>"$work/cli.csv" || fail "artmon read --filter-set failed"
grep -q '^cli,h,' "$work/cli.csv" || fail "--filter-set set missing"
! grep -q '^web,' "$work/cli.csv" || fail "the configuration's sets counted despite --filter-set"

# top_n rows per table; --top wins
"$artmon" read -q -c "$work/good.conf" --records topn -F csv "$pcap" >"$work/top.csv" || fail "--records topn failed"
n=$(awk -F, '$1 == "talkers_packets"' "$work/top.csv" | wc -l)
distinct=$(tcpdump -r "$pcap" -n 2>/dev/null | awk '{ print $3 }' | sed 's/\.[0-9]*$//' | sort -u | wc -l)
want=3; [ "$distinct" -lt 3 ] && want=$distinct
[ "$n" = "$want" ] || fail "talkers_packets has $n rows with top_n = 3 (want $want)"
"$artmon" read -q -c "$work/good.conf" --top 1 --records topn -F csv "$pcap" >"$work/top1.csv" || fail "--top 1 failed"
[ "$(awk -F, '$1 == "talkers_packets"' "$work/top1.csv" | wc -l)" = 1 ] || fail "--top 1 did not win"
echo "census_config: PASS"
