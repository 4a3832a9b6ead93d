#!/bin/sh
# Many sensors, one NMS (issue 10): two snmpd masters on different ports,
# each with its own artmond and sensor name.  Sensor A captures live on two
# interfaces at once (lo, and a veth whose peer lives in a network
# namespace with its own HTTP server); sensor B replays a capture.  One
# manager polls both: each answers with its own name and rows, `artmon
# mrtg-cfg` of both joins into one MRTG configuration without clashing
# target names, and one mrtg run records the gauges of both.  Sensor A's
# two handles are merged in time order (the merge_window setting): no
# frame reaches the merge behind the other interface's clock and neither
# server's timings collapse to 0.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond ip curl mrtg snmpwalk
[ "$(id -u)" = 0 ] || am_skip "live capture and network namespaces need root"
ARTMON=${ARTMON:-$top_builddir/cli/artmon}
[ -x "$ARTMON" ] || am_skip "artmon not built"

ns="amms$$"
ifa="amma$$"
ifb="ammb$$"
B_SNMPD_PID=""
B_ARTMOND_PID=""
H1=""
H2=""
cleanup_multi() {
	stop_pid "$B_ARTMOND_PID"
	stop_pid "$B_SNMPD_PID"
	[ -n "$H1" ] && kill "$H1" 2>/dev/null
	[ -n "$H2" ] && kill "$H2" 2>/dev/null
	ip link del "$ifa" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	true
}
AM_CLEANUP_HOOK=cleanup_multi
ip netns add "$ns" 2>/dev/null || am_skip "cannot create a network namespace"
ip link add "$ifa" type veth peer name "$ifb" || am_skip "cannot create veth interfaces"
ip link set "$ifb" netns "$ns"
ip addr add 10.213.7.1/24 dev "$ifa"
ip link set "$ifa" up
ip netns exec "$ns" ip addr add 10.213.7.2/24 dev "$ifb"
ip netns exec "$ns" ip link set "$ifb" up
ip netns exec "$ns" ip link set lo up

# HTTP servers: one on loopback, one behind the veth.
mkdir -p "$AM_TMP/www" && echo hello >"$AM_TMP/www/index.html"
chmod -R a+rX "$AM_TMP/www"
p1=$(free_port tcp)
python3 -m http.server "$p1" --bind 127.0.0.1 -d "$AM_TMP/www" >"$AM_TMP/h1.log" 2>&1 &
H1=$!
p2=8080
ip netns exec "$ns" python3 -m http.server "$p2" --bind 10.213.7.2 -d "$AM_TMP/www" >"$AM_TMP/h2.log" 2>&1 &
H2=$!
wait_until 5 curl -s -o /dev/null "http://127.0.0.1:$p1/" || am_fail "HTTP server on lo"
wait_until 5 curl -s -o /dev/null "http://10.213.7.2:$p2/" || am_fail "HTTP server behind $ifa"

# Sensor A: the harness's snmpd, artmond live on lo and the veth.
snmpd_start
artmond_start -i "lo,$ifa" --interval 10 --name sensor-a -c "$top_srcdir/rules/conf/artmon.conf"
artmond_wait_registered
PORT_A=$SNMPD_PORT

# Sensor B: a second snmpd (own port, socket, state) and artmond.
mkdir -p "$AM_TMP/b/persist"
PORT_B=$(free_port udp)
cat >"$AM_TMP/b/snmpd.conf" <<EOC
agentAddress udp:127.0.0.1:$PORT_B
rocommunity public 127.0.0.1
master agentx
agentXSocket unix:$AM_TMP/b/agentx.sock
agentXPerms 0777 0755
dontLogTCPWrappersConnects yes
[snmp] mibs :
[snmp] persistentDir $AM_TMP/b/persist
EOC
snmpd -f -C -c "$AM_TMP/b/snmpd.conf" -I -smux -A -Lf "$AM_TMP/b/snmpd.log" -p "$AM_TMP/b/snmpd.pid" &
B_SNMPD_PID=$!
python3 "$top_srcdir/tests/ops/mkerrors.py" "$AM_TMP/b/errors.pcap" 5 3 || am_fail "mkerrors.py"
wait_until 5 test -S "$AM_TMP/b/agentx.sock" || am_fail "second snmpd did not start"
"$ARTMOND" -f -x "$AM_TMP/b/agentx.sock" -s "$AM_TMP/b/store" -c "$top_srcdir/rules/conf/artmon.conf" \
	-r "$AM_TMP/b/errors.pcap" --interval 10 --name sensor-b >>"$AM_TMP/b/artmond.log" 2>&1 &
B_ARTMOND_PID=$!
get_b() { snmpget -v2c -c public -r 1 -t 2 -M "$AM_MIBDIRS" -m ARTMON-MIB -Ob -Os -OQ -Ov "127.0.0.1:$PORT_B" "$@"; }
b_done() { [ "$(get_b ARTMON-MIB::artmonCaptureState.1 2>/dev/null)" = finished ]; }
wait_until 15 b_done || am_fail "sensor B did not finish its replay: $(tail -n 5 "$AM_TMP/b/artmond.log")"

# Traffic for sensor A on both interfaces, then one interval closes.
for i in 1 2 3 4 5 6; do
	curl -s -o /dev/null "http://127.0.0.1:$p1/index.html"
	curl -s -o /dev/null "http://10.213.7.2:$p2/index.html"
done
idx1=$(server_index 127.0.0.1 "$p1")
idx2=$(server_index 10.213.7.2 "$p2")
closed() {
	[ "$(snmpget_q -OU "ARTMON-MIB::artmonServerIntTransactions.$idx1")" -ge 6 ] 2>/dev/null &&
		[ "$(snmpget_q -OU "ARTMON-MIB::artmonServerIntTransactions.$idx2")" -ge 6 ] 2>/dev/null
}
# Intervals close on packet time: keep a trickle of traffic going.
i=0
while ! closed && [ $i -lt 30 ]; do
	curl -s -o /dev/null "http://127.0.0.1:$p1/index.html"
	curl -s -o /dev/null "http://10.213.7.2:$p2/index.html"
	sleep 1
	i=$((i + 1))
done
closed || am_fail "sensor A: no closed interval with both servers: $(snmpwalk_q ARTMON-MIB::artmonServerIntTransactions)"

# Each sensor answers with its own name and its own rows.
assert_eq "sensor A name" sensor-a "$(snmpget_q ARTMON-MIB::artmonSensorName.0 | tr -d '"')"
assert_eq "sensor B name" sensor-b "$(get_b ARTMON-MIB::artmonSensorName.0 | tr -d '"')"
assert_eq "sensor A capture rows" "lo $ifa" "$(snmpwalk_q ARTMON-MIB::artmonCaptureName | sed 's/.* = //' | tr -d '"' | tr '\n' ' ' | sed 's/ $//')"
assert_eq "sensor A capture states" "up up" "$(snmpwalk_q ARTMON-MIB::artmonCaptureState | sed 's/.* = //' | tr '\n' ' ' | sed 's/ $//')"
# The merge held every frame long enough: none late, none released early.
assert_eq "sensor A frames late after the merge" "0 0" "$(snmpwalk_q ARTMON-MIB::artmonCaptureMergeLate | sed 's/.* = //' | tr '\n' ' ' | sed 's/ $//')"
assert_eq "sensor A frames released early by the merge" "0 0" "$(snmpwalk_q ARTMON-MIB::artmonCaptureMergeEarly | sed 's/.* = //' | tr '\n' ' ' | sed 's/ $//')"
rows_a=$(snmpwalk -v2c -c public -On "127.0.0.1:$PORT_A" .1.3.6.1.4.1.32473.1.5.1.4 | sed 's/^\.1\.3\.6\.1\.4\.1\.32473\.1\.5\.1\.4\.\([0-9.]*\) = .*/\1/' | sort | tr '\n' ' ')
rows_b=$(snmpwalk -v2c -c public -On "127.0.0.1:$PORT_B" .1.3.6.1.4.1.32473.1.5.1.4 | sed 's/^\.1\.3\.6\.1\.4\.1\.32473\.1\.5\.1\.4\.\([0-9.]*\) = .*/\1/' | sort | tr '\n' ' ')
for want in "$idx1" "$idx2"; do
	case " $rows_a" in *" $want "*) ;; *) am_fail "sensor A rows lack $want: $rows_a" ;; esac
done
assert_eq "sensor B rows" "1.4.192.0.2.10.80 " "$rows_b"
am_log "ok: sensor A serves $rows_a; sensor B serves $rows_b"

# One MRTG configuration for both sensors.
mkdir -p "$AM_TMP/mrtg"
"$ARTMON" mrtg-cfg -w "$AM_TMP/mrtg" "public@127.0.0.1:$PORT_A" >"$AM_TMP/a.cfg" 2>"$AM_TMP/a.err" || am_fail "mrtg-cfg A: $(cat "$AM_TMP/a.err")"
"$ARTMON" mrtg-cfg -w "$AM_TMP/mrtg" "public@127.0.0.1:$PORT_B" >"$AM_TMP/b.cfg" 2>"$AM_TMP/b.err" || am_fail "mrtg-cfg B: $(cat "$AM_TMP/b.err")"
{
	cat "$AM_TMP/a.cfg"
	grep -v '^\(WorkDir\|Interval\):' "$AM_TMP/b.cfg"
} >"$AM_TMP/all.cfg"
dups=$(sed -n 's/^Target\[\([^]]*\)\].*/\1/p' "$AM_TMP/all.cfg" | sort | uniq -d)
[ -z "$dups" ] || am_fail "target names clash: $dups"
env LANG=C LC_ALL=C mrtg "$AM_TMP/all.cfg" >"$AM_TMP/mrtg.out" 2>&1
for t in "sensor-a_127.0.0.1_$p1" "sensor-a_10.213.7.2_$p2" "sensor-b_192.0.2.10_80"; do
	[ -s "$AM_TMP/mrtg/$t.log" ] || am_fail "mrtg wrote no $t.log: $(tail -n 10 "$AM_TMP/mrtg.out")"
	v=$(head -n 1 "$AM_TMP/mrtg/$t.log" | cut -d' ' -f2-)
	# A server's response time is never 0 us: a 0 median means its
	# packets were fed behind the merged clock.
	case $v in "0 "* | "") am_fail "$t.log holds '$v'" ;; esac
	am_log "ok: one mrtg run, $t: p50 p90 = $v"
done
assert_eq "sensor B p90 through the joined config" "10000" "$(head -n 1 "$AM_TMP/mrtg/sensor-b_192.0.2.10_80.log" | cut -d' ' -f3)"
echo PASS
