#!/bin/sh
# ICMP errors per server: a DNS query to a port where nothing listens
# draws a port unreachable, which artmon counts under the DNS rule's server
# (the shipped configuration switches destination_unreachable on); an
# unreachable about a port no rule watches is not counted.
set -u
ARTMON="$top_builddir/cli/artmon"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for tcpdump"; exit 77; }
for p in tcpdump dig unshare; do
	command -v $p >/dev/null 2>&1 || { echo "SKIP: $p missing"; exit 77; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# A private network namespace: nothing listens on port 53 there.
unshare -n sh -c '
	ip link set lo up
	tcpdump -i lo -s 0 -U --immediate-mode -B 65536 -Z root -w "$1/icmp.pcap" "icmp or udp" 2>"$1/tcpdump.log" &
	tp=$!
	i=0; while [ $i -lt 50 ] && ! grep -q listening "$1/tcpdump.log"; do sleep 0.1; i=$((i + 1)); done
	dig +tries=1 +timeout=1 @127.0.0.1 -p 53 one.test >/dev/null 2>&1
	dig +tries=1 +timeout=1 @127.0.0.1 -p 53 two.test >/dev/null 2>&1
	dig +tries=1 +timeout=1 @127.0.0.1 -p 5999 three.test >/dev/null 2>&1
	sleep 0.5
	kill $tp; wait $tp
' sh "$T" || { echo "FAIL: capture"; exit 1; }
"$ARTMON" read -q -R icmp -F csv "$T/icmp.pcap" >"$T/out" || { echo "FAIL: artmon read"; exit 1; }
cat "$T/out"
line=$(grep '^127.0.0.1,53,' "$T/out")
[ -n "$line" ] || { echo "FAIL: no row for 127.0.0.1:53"; exit 1; }
unreach=$(echo "$line" | cut -d, -f3)
[ "$unreach" = 2 ] || { echo "FAIL: 127.0.0.1:53 unreachable = $unreach, expected 2"; exit 1; }
if grep -q ',5999,' "$T/out"; then echo "FAIL: port 5999 is watched by no rule"; exit 1; fi
echo PASS
