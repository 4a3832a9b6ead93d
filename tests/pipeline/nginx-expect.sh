#!/bin/bash
# POSTs with "Expect: 100-continue" to nginx, from a client that writes the
# headers, waits D ms, then writes the 3000-byte body (as curl does when no
# 100 comes in time), on three connections:
#   A  POST /ret (nginx answers "return 200" at once, 100 Continue first,
#      before the body; the body comes after the response), then a GET
#   B  POST /up (proxied to a closed port: nginx sends 100 Continue,
#      reads the body, answers 502): first_us >= D
#   C  POST /f100 (a static file: 405 at once, no 100; the client closes
#      without sending the body)
# artmon must report one transaction per request = nginx's access log,
# with nginx's statuses, count the interim responses that are on the wire,
# and give each request the bytes the client sent for it (req_bytes).
. "$(dirname "$0")/lib.sh"
pl_init nginx-expect nginx
pl_net

D=200
www=$pl_work/nginx
mkdir -p "$www/htdocs" "$www/logs" "$www/tmp"
echo "a small file" >"$www/htdocs/f100"
chmod -R a+rX "$www"
cat >"$www/nginx.conf" <<EOF
worker_processes 1;
user nobody nogroup;
pid $www/nginx.pid;
error_log $www/logs/error.log warn;
events { worker_connections 64; }
http {
	log_format pl '\$remote_port \$connection_requests \$status \$request_method \$request_length';
	access_log $www/logs/access.log pl;
	client_body_temp_path $www/tmp;
	proxy_temp_path $www/tmp;
	fastcgi_temp_path $www/tmp;
	uwsgi_temp_path $www/tmp;
	scgi_temp_path $www/tmp;
	server {
		listen $pl_s4:80;
		root $www/htdocs;
		location /ret { return 200 "ok\n"; }
		location /up { proxy_pass http://127.0.0.1:9/; }
	}
}
EOF
pl_bg nginx nginx -p "$www" -c "$www/nginx.conf" -g 'daemon off;'
pl_wait_port 80
sleep 0.2

head -c 3000 /dev/zero | tr '\0' 'b' >"$pl_work/body"
post() {   # post PATH FILE: the headers of a POST with Expect
	printf 'POST %s HTTP/1.1\r\nHost: pl\r\nExpect: 100-continue\r\nContent-Length: 3000\r\nContent-Type: text/plain\r\n\r\n' "$1" >"$2"
}
post /ret "$pl_work/a.hdr"
printf 'GET /f100 HTTP/1.1\r\nHost: pl\r\nConnection: close\r\n\r\n' >"$pl_work/a.get"
post /up "$pl_work/b.hdr"
post /f100 "$pl_work/c.hdr"
sec=$(awk -v d=$D 'BEGIN { print d / 1000 }')

pl_cap_start "tcp port 80"
pl_c timeout 10 bash -c "exec 3<>/dev/tcp/$pl_s4/80; cat '$pl_work/a.hdr' >&3; sleep $sec; cat '$pl_work/body' >&3; sleep 0.05; cat '$pl_work/a.get' >&3; cat <&3 >/dev/null" ||
	pl_fail "connection A: client failed"
pl_c timeout 10 bash -c "exec 3<>/dev/tcp/$pl_s4/80; cat '$pl_work/b.hdr' >&3; sleep $sec; cat '$pl_work/body' >&3; sleep 0.3" ||
	pl_fail "connection B: client failed"
pl_c timeout 10 bash -c "exec 3<>/dev/tcp/$pl_s4/80; cat '$pl_work/c.hdr' >&3; sleep 0.3" ||
	pl_fail "connection C: client failed"
pl_cap_stop
pl_read

ncont=$(grep -a -c 'HTTP/1.1 100 Continue' "$pl_work/cap.pcap")
nint=$(sed -n 's/.*, \([0-9]*\) interim responses.*/\1/p' "$pl_work/read.err")
[ "$ncont" -ge 1 ] || pl_fail "no 100 Continue on the wire (test setup)"
[ "$nint" = "$ncont" ] && pl_ok "$nint interim responses = the 100 Continue on the wire" ||
	pl_fail "artmon counted ${nint:-?} interim responses, $ncont on the wire"

# expected per request, in order of connections and requests: the bytes
# the client sent for it
bytes() { wc -c <"$1"; }
body=$(bytes "$pl_work/body")
cat >"$pl_work/want" <<EOF
A POST $(( $(bytes "$pl_work/a.hdr") + body ))
A GET $(bytes "$pl_work/a.get")
B POST $(( $(bytes "$pl_work/b.hdr") + body ))
C POST $(bytes "$pl_work/c.hdr")
EOF
# nginx: "client-port request-number status method"; the connections in
# the order made are the client ports of the SYNs on the wire (the kernel
# does not hand out ephemeral ports in increasing order)
sort -k1,1n -k2,2n "$www/logs/access.log" >"$pl_work/nginx.log"
ports=$(tcpdump -n -r "$pl_work/cap.pcap" 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2>/dev/null |
	awk '{ sub(/.*\./, "", $3); if (!seen[$3]++) print $3 }')
[ "$(echo "$ports" | wc -l)" -eq 3 ] || { pl_fail "nginx logged $(echo "$ports" | wc -l) connections, 3 made"; pl_end; }
jq -r 'select(.server_port == 80) | [.client_port, .ts, .first_us, .status, .signature, .req_bytes, .outcome] | @tsv' "$pl_work/txn.jsonl" |
	sort -s -t"$(printf '\t')" -k1,1n -k2,2n -k3,3n >"$pl_work/artmon.tsv"
n_am=$(wc -l <"$pl_work/artmon.tsv")
n_ng=$(wc -l <"$pl_work/nginx.log")
[ "$n_am" -eq "$n_ng" ] && pl_ok "$n_am transactions = nginx's $n_ng requests" ||
	pl_fail "artmon reports $n_am transactions, nginx logged $n_ng requests"
i=0
for port in $ports; do
	i=$((i + 1)); conn=$(echo "A B C" | cut -d' ' -f$i)
	paste <(awk -v c="$conn" '$1 == c' "$pl_work/want") \
		<(awk -v p="$port" '$1 == p { print $3 }' "$pl_work/nginx.log") \
		<(awk -F'\t' -v p="$port" '$1 == p { print $3 "\t" $4 "\t" $5 "\t" $6 }' "$pl_work/artmon.tsv") |
		awk -F'\t' -v name="$pl_name" -v D=$D '
		# $1 expected "conn method bytes", $2 nginx status, then artmon:
		# $3 first_us, $4 status, $5 signature, $6 req_bytes
		{ split($1, w, " "); n++
		  what = sprintf("connection %s request %d (%s)", w[1], n, w[2])
		  if ($5 != w[2] || $4 != $2) { printf "FAIL: %s: %s: artmon %s %s, nginx status %s\n", name, what, $5, $4, $2; bad = 1; next }
		  if ($6 != w[3]) { printf "FAIL: %s: %s: req_bytes %s, the client sent %d\n", name, what, $6, w[3]; bad = 1 }
		  else printf "ok: %s: %s: status %s, req_bytes %s\n", name, what, $4, $6
		  if (w[1] == "B" && ($3 == "null" || $3 < D * 1000)) { printf "FAIL: %s: %s: first_us %s < %d (answered after the body, sent %d ms after the headers)\n", name, what, $3, D * 1000, D; bad = 1 }
		}
		END { exit bad }' || pl_rc=1
done
pl_end
