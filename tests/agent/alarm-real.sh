#!/bin/sh
# Thresholds on real traffic: curl asks tests/tools/sleepd on loopback for
# responses delayed 20 ms (bursts 0, 1, 4, 5) and 300 ms (bursts 2, 3);
# tcpdump records each burst, and each is shifted into its own 10-second
# interval and merged (as make_loopback_capture does).  Replayed, the p90
# alarm on that server sends exactly one artmonAlarmRising (end of interval
# 2) and one artmonAlarmFalling (end of interval 4), with the measured p90
# as value.  Needs root (tcpdump); about 20 s.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond snmptrapd stdmibs tcpdump curl editcap mergecap capinfos
[ "$(id -u)" = 0 ] || am_skip "capturing on lo needs root"
SLEEPD="$top_builddir/tests/tools/sleepd"
[ -x "$SLEEPD" ] || am_skip "tests/tools/sleepd not built (make -C tests check builds it)"

port=$(free_port tcp)
"$SLEEPD" -l 127.0.0.1 -p "$port" >"$AM_TMP/sleepd.log" 2>&1 &
SLEEPD_PID=$!
AM_CLEANUP_HOOK='stop_pid "$SLEEPD_PID"'
wait_until 5 curl -s -o /dev/null "http://127.0.0.1:$port/sleep?ms=1&size=10" || am_fail "sleepd did not start"

base=1700000000     # interval b starts at base + 10 b
parts=""
for b in 0 1 2 3 4 5; do
	case $b in 2 | 3) ms=300 ;; *) ms=20 ;; esac
	: >"$AM_TMP/tcpdump.log"
	tcpdump -i lo -n -U --immediate-mode -B 65536 -Z root -w "$AM_TMP/part$b.pcap" "tcp port $port" \
		>"$AM_TMP/tcpdump.log" 2>&1 &
	td=$!
	wait_until 30 grep -q 'listening on' "$AM_TMP/tcpdump.log" || am_fail "tcpdump did not start"
	# 15 requests on one keep-alive connection
	args=""
	i=0
	while [ $i -lt 15 ]; do
		args="$args -o /dev/null http://127.0.0.1:$port/sleep?ms=$ms&size=200"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	curl -s $args || am_fail "curl"
	sleep 0.3
	stop_pid "$td"
	grep -q '^0 packets dropped by kernel' "$AM_TMP/tcpdump.log" ||
		am_fail "tcpdump lost packets: $(cat "$AM_TMP/tcpdump.log")"
	first=$(capinfos -a -T -r -S "$AM_TMP/part$b.pcap" | awk -F'\t' '{ print $2 }')
	shift=$(python3 -c 'import sys; print("%.6f" % (float(sys.argv[1]) + 10 * int(sys.argv[2]) + 0.5 - float(sys.argv[3])))' \
		"$base" "$b" "$first")
	editcap -t "$shift" "$AM_TMP/part$b.pcap" "$AM_TMP/shift$b.pcap" >/dev/null || am_fail "editcap"
	parts="$parts $AM_TMP/shift$b.pcap"
done
# shellcheck disable=SC2086
mergecap -F pcap -w "$AM_TMP/real.pcap" $parts || am_fail "mergecap"

cat >"$AM_TMP/artmon.conf" <<EOF2
artmon {
	alarm 7 {
		server = "127.0.0.1";
		port = $port;
		statistic = p90;
		rising = 200ms;
		falling = 100ms;
	}
}
generic {
	rule sleepd {
		Summarise_by = "ip";
		Server_port = $port;
		Framing = "http";
		transaction GET { Offset = 0; Depth = 4; Content = "GET "; }
	}
}
EOF2
snmptrapd_start
snmpd_start
artmond_start -c "$AM_TMP/artmon.conf" -r "$AM_TMP/real.pcap" --interval 10
artmond_wait_registered
A='\.1\.3\.6\.1\.4\.1\.32473'
wait_trap 20 "= $A\.0\.2(\||$)" || am_fail "no artmonAlarmFalling"
sleep 1
assert_eq "rising" 1 "$(trap_count "= $A\.0\.1(\||$)")"
assert_eq "falling" 1 "$(trap_count "= $A\.0\.2(\||$)")"
dat() {
	python3 -c 'import sys, time; t = time.gmtime(int(sys.argv[1]))
print(" ".join("%02X" % b for b in [t.tm_year >> 8, t.tm_year & 255, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0, 0x2B, 0, 0]))' "$1"
}
vb() {
	echo "$2" | tr '|' '\n' | sed -n "s/^ *$A\.1\.11\.$1\.0 = //p" | sed 's/ *$//; s/^"//; s/"$//; s/ *$//'
}
r=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\.1(\||$)")
f=$(grep '^TRAP ' "$TRAP_LOG" | grep -E "= $A\.0\.2(\||$)")
am_log "rising: $r"
assert_eq "rising interval end" "$(dat $((base + 30)))" "$(vb 10 "$r")"
assert_eq "falling interval end" "$(dat $((base + 50)))" "$(vb 10 "$f")"
assert_eq "port" "$port" "$(vb 3 "$r")"
assert_eq "address" "7F 00 00 01" "$(vb 2 "$r")"
v=$(vb 8 "$r")
[ "$v" -ge 300000 ] && [ "$v" -lt 360000 ] || am_fail "rising value $v, expected the p90 of 300 ms sleeps"
v=$(vb 8 "$f")
[ "$v" -ge 20000 ] && [ "$v" -lt 80000 ] || am_fail "falling value $v, expected the p90 of 20 ms sleeps"
echo PASS
