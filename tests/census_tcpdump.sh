#!/bin/sh
# census_tcpdump.sh: filter-set counts equal `tcpdump -r FILE EXPR | wc -l`
# on real captures.
#
# In a private network namespace (nothing else on its loopback): nginx on
# 127.0.0.1 and ::1, curl requests (small, large, 404, IPv4 and IPv6), dig
# queries to a closed port (UDP and ICMP unreachable), ping; tcpdump records
# `lo` (Ethernet framing) and `any` (Linux cooked framing).  Every capture,
# plus tests/captures/*.pcap when present, goes through censusrun with the
# fast path, without it, and with the fast path verified against the
# interpreter; every label must equal tcpdump's count.
# Needs root, tcpdump, nginx, curl, dig, unshare; skipped (77) otherwise.
set -eu

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
run=$top_builddir/tests/tools/censusrun

skip() { echo "census_tcpdump: SKIP: $*"; exit 77; }
fail() { echo "census_tcpdump: FAIL: $*"; exit 1; }

[ -x "$run" ] || fail "$run not built"
[ "$(id -u)" = 0 ] || skip "needs root"
for t in tcpdump nginx curl dig unshare ip ping; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done

if [ -z "${CENSUS_IN_NETNS:-}" ]; then
	CENSUS_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi

work=$(mktemp -d /tmp/census_tcpdump.XXXXXX)
chmod 755 "$work"
td_lo= td_any=
cleanup() {
	set +e
	[ -n "$td_any" ] && kill -INT "$td_any" 2>/dev/null && wait "$td_any" 2>/dev/null
	[ -n "$td_lo" ] && kill -INT "$td_lo" 2>/dev/null && wait "$td_lo" 2>/dev/null
	[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
	sleep 0.2
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip link set lo up
mkdir -p "$work/www" "$work/tmp"
echo hello > "$work/www/index.html"
head -c 200000 /dev/urandom > "$work/www/big.bin"
cat > "$work/nginx.conf" <<EOF
daemon on;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $work/tmp;
	proxy_temp_path $work/tmp;
	fastcgi_temp_path $work/tmp;
	uwsgi_temp_path $work/tmp;
	scgi_temp_path $work/tmp;
	server {
		listen 127.0.0.1:8080;
		listen [::1]:8080;
		root $work/www;
	}
}
EOF
nginx -p "$work" -c "$work/nginx.conf" || fail "nginx did not start"

start_tcpdump() { # IFACE FILE
	tcpdump -i "$1" -w "$2" -s 0 --immediate-mode -B 65536 -Z root -U 2>"$2.log" &
	pid=$!
	i=0
	while ! grep -q "listening on" "$2.log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "tcpdump on $1 did not start: $(cat "$2.log")"
		sleep 0.05
	done
}
start_tcpdump lo "$work/lo.pcap"; td_lo=$pid
start_tcpdump any "$work/any.pcap"; td_any=$pid

for i in 1 2 3; do
	curl -s -o /dev/null http://127.0.0.1:8080/ || fail curl
	curl -s -o /dev/null -g "http://[::1]:8080/big.bin" || fail curl6
done
curl -s -o /dev/null http://127.0.0.1:8080/big.bin
curl -s -o /dev/null http://127.0.0.1:8080/missing
curl -s -o /dev/null -o /dev/null -o /dev/null http://127.0.0.1:8080/ http://127.0.0.1:8080/ http://127.0.0.1:8080/big.bin
dig @127.0.0.1 -p 5353 +tries=1 +time=1 example.org >/dev/null 2>&1 || true
dig @::1 -p 5353 +tries=1 +time=1 example.org AAAA >/dev/null 2>&1 || true
ping -c 2 -i 0.2 127.0.0.1 >/dev/null 2>&1 || true
ping -c 2 -i 0.2 ::1 >/dev/null 2>&1 || true
sleep 0.3
kill -INT "$td_any"; wait "$td_any" || true; td_any=
kill -INT "$td_lo"; wait "$td_lo" || true; td_lo=

# label=expression (no commas: they separate labels)
set -- \
	"http=tcp port 8080" \
	"dns=udp port 5353" \
	"lo4=host 127.0.0.1" \
	"lo6=host ::1" \
	"net=net 127.0.0.0/8" \
	"srcnet=src net 127.0.0.0/8" \
	"tcp=tcp" \
	"udp=udp" \
	"ip=ip" \
	"ip6=ip6" \
	"icmp=icmp or icmp6" \
	"syn=tcp[tcpflags] & tcp-syn != 0" \
	"srcport=src port 8080" \
	"dstport=tcp dst port 8080" \
	"big=greater 500" \
	"v6http=ip6 and tcp dst port 8080" \
	"web443=port 443" \
	"pg=tcp port 5432" \
	"redis=tcp port 6379" \
	"web80=tcp port 80" \
	"capnet=net 10.99.0.0/24" \
	"cap6=host fd00:99::2" \
	"capcli=src host 10.99.0.1" \
	"cap6net=dst net fd00:99::/64"
spec="t:"
for le in "$@"; do spec="$spec$le,"; done
spec=${spec%,}

files="$work/lo.pcap $work/any.pcap"
for f in "$top_srcdir"/tests/captures/*.pcap; do
	[ -f "$f" ] && files="$files $f"
done

checked=0
for f in $files; do
	n=$(tcpdump -r "$f" 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || fail "$f is empty"
	"$run" -F csv -f "$spec" "$f" > "$work/fast.csv" || fail "censusrun on $f"
	"$run" -F csv --no-fast -f "$spec" "$f" > "$work/slow.csv" || fail "censusrun --no-fast on $f"
	"$run" -F csv --verify -f "$spec" "$f" > "$work/verify.csv" || fail "censusrun --verify on $f: the fast path disagreed"
	cmp -s "$work/fast.csv" "$work/slow.csv" || fail "$f: fast path and interpreter counts differ: $(diff "$work/fast.csv" "$work/slow.csv")"
	cmp -s "$work/fast.csv" "$work/verify.csv" || fail "$f: verify run differs"
	for le in "$@"; do
		label=${le%%=*}
		expr=${le#*=}
		want=$(tcpdump -r "$f" "$expr" 2>/dev/null | wc -l)
		got=$(awk -F, -v l="$label" '$1 == "t" && $2 == l { print $3 }' "$work/fast.csv")
		[ "$got" = "$want" ] || fail "$(basename "$f"): '$expr': census $got, tcpdump $want"
		checked=$((checked + 1))
	done
	# hardwired totals: every group adds up to the file's packet count
	for g in hw.cast hw.ip hw.size; do
		sum=$(awk -F, -v g="$g" '$1 == g { s += $3 } END { print s + 0 }' "$work/fast.csv")
		[ "$sum" = "$n" ] || fail "$(basename "$f"): $g adds up to $sum, tcpdump reads $n packets"
	done
	echo "census_tcpdump: $(basename "$f"): $n packets, $# expressions agree with tcpdump"
done
# the scenario must have produced the traffic it claims to test
for f in lo any; do
	"$run" -F csv -f "$spec" "$work/$f.pcap" > "$work/fast.csv"
	for le in http lo4 lo6 dns icmp syn v6http big; do
		got=$(awk -F, -v l="$le" '$1 == "t" && $2 == l { print $3 }' "$work/fast.csv")
		[ "$got" -gt 0 ] || fail "no '$le' traffic in $f.pcap"
	done
	got=$(awk -F, '$1 == "t" && $2 == "http" { print $3 }' "$work/fast.csv")
	[ "$got" -gt 50 ] || fail "too little HTTP traffic in $f.pcap ($got packets)"
done
echo "census_tcpdump: PASS ($checked comparisons)"
