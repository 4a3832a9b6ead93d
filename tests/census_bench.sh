#!/bin/sh
# census_bench.sh FILE... : packets/s of source + decode with and without the
# census (hardwired + top-N, then 1 and 8 Ourmon-style filter sets of four
# expressions each, fast path and interpreter).  Best of RUNS (default 3).
# Not part of `make check`; numbers go to doc/census.md.
set -eu
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
run=$top_builddir/tests/tools/censusrun
runs=${RUNS:-3}
[ $# -gt 0 ] || { echo "usage: census_bench.sh FILE... | census_bench.sh -w OUT.pcap" >&2; exit 2; }

# -w OUT: make the benchmark capture: nginx under wrk (keep-alive small
# files, a 20 kB file, connection-per-request) on the loopback of a private
# network namespace, recorded by tcpdump with snaplen 256.  Needs root.
if [ "$1" = "-w" ]; then
	[ $# = 2 ] || { echo "usage: census_bench.sh -w OUT.pcap" >&2; exit 2; }
	out=$(readlink -f "$2")
	if [ -z "${CENSUS_IN_NETNS:-}" ]; then
		CENSUS_IN_NETNS=1 exec unshare -n sh "$0" "$@"
	fi
	w=$(mktemp -d /tmp/census_bench.XXXXXX)
	[ -d "$w" ] || exit 1
	chmod 755 "$w"
	ip link set lo up
	mkdir -p "$w/www" "$w/tmp"
	echo hello > "$w/www/index.html"
	head -c 20000 /dev/urandom > "$w/www/m.bin"
	{
		echo "daemon on; worker_processes 1; pid $w/nginx.pid; error_log $w/error.log;"
		echo "events { worker_connections 1024; }"
		echo "http { access_log off; client_body_temp_path $w/tmp; proxy_temp_path $w/tmp;"
		echo " fastcgi_temp_path $w/tmp; uwsgi_temp_path $w/tmp; scgi_temp_path $w/tmp;"
		echo " server { listen 127.0.0.1:8080; root $w/www; } }"
	} > "$w/nginx.conf"
	nginx -p "$w" -c "$w/nginx.conf"
	tcpdump -i lo -s 256 -w "$out" --immediate-mode -Z root -B 65536 2>"$w/td.log" &
	td=$!
	sleep 1
	wrk -t1 -c20 -d4s http://127.0.0.1:8080/index.html >/dev/null
	wrk -t1 -c5 -d2s http://127.0.0.1:8080/m.bin >/dev/null
	wrk -t1 -c50 -d2s -H 'Connection: close' http://127.0.0.1:8080/index.html >/dev/null
	sleep 0.5
	kill -INT "$td"
	wait "$td" || true
	kill "$(cat "$w/nginx.pid")"
	cat "$w/td.log" >&2
	rm -rf "$w"
	exit 0
fi

set4() { # NAME: four expressions that a set of application ports would hold
	echo "$1:ssh=tcp port 22,web=tcp port 80,https=tcp port 443,mail=tcp port 25"
}
best() { # label, censusrun args...
	label=$1; shift
	b=0
	for i in $(seq "$runs"); do
		pps=$("$run" -b "$@" 2>&1 >/dev/null | sed -n 's/^bench:.* pps \([0-9]*\).*/\1/p')
		[ "$pps" -gt "$b" ] && b=$pps
	done
	printf '%-44s %10s pkt/s\n' "$label" "$b"
}

best "decode only (no census)" --no-census "$@"
best "census: hardwired + top-N" "$@"
best "census: hardwired only" --no-topn "$@"
best "census + 1 set x 4 expr (fast path)" -f "$(set4 ports)" "$@"
best "census + 1 set x 4 expr (interpreter)" --no-fast -f "$(set4 ports)" "$@"
eval "best 'census + 8 sets x 4 expr (fast path)' $(for i in 1 2 3 4 5 6 7 8; do printf -- "-f '%s' " "$(set4 s$i)"; done) \"\$@\""
eval "best 'census + 8 sets x 4 expr (interpreter)' --no-fast $(for i in 1 2 3 4 5 6 7 8; do printf -- "-f '%s' " "$(set4 s$i)"; done) \"\$@\""
best "decode + tracker (no census)" --no-census --tracker "$@"
best "decode + tracker + census + 1 set (fast)" --tracker -f "$(set4 ports)" "$@"
best "census + 1 set (fast), census decodes itself" --no-packet -f "$(set4 ports)" "$@"
