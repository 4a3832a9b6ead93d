#!/bin/bash
# Pipelined HTTP/1.1 requests to nginx, each batch sent in one write():
# artmon must report one transaction per request, equal to nginx's own
# access log (per connection, in order), with the same status and method.
# The batches mix GET (200, 404), HEAD and a 304 (no body), a POST to a
# static file (405 with a body), large and empty objects, and end with
# "Connection: close".
. "$(dirname "$0")/lib.sh"
pl_init nginx nginx
pl_net

www=$pl_work/nginx
mkdir -p "$www/htdocs" "$www/logs" "$www/tmp"
line="artmon pipeline test object 0123456789 abcdefghijklmnopqrstuvwxyz"
for s in 0 100 1448 5000 70000; do
	{ yes "$line" || true; } | head -c "$s" >"$www/htdocs/f$s"
done
chmod -R a+rX "$www"
# one line per request: client port, the request's number on its
# connection, status, method
cat >"$www/nginx.conf" <<EOF
worker_processes 1;
user nobody nogroup;
pid $www/nginx.pid;
error_log $www/logs/error.log warn;
events { worker_connections 64; }
http {
	log_format pl '\$remote_port \$connection_requests \$status \$request_method';
	access_log $www/logs/access.log pl;
	sendfile off;
	keepalive_timeout 30;
	keepalive_requests 1000;
	client_body_temp_path $www/tmp;
	proxy_temp_path $www/tmp;
	fastcgi_temp_path $www/tmp;
	uwsgi_temp_path $www/tmp;
	scgi_temp_path $www/tmp;
	server {
		listen $pl_s4:80;
		root $www/htdocs;
	}
}
EOF
pl_bg nginx nginx -p "$www" -c "$www/nginx.conf" -g 'daemon off;'
pl_wait_port 80
sleep 0.3
: >"$www/logs/access.log"   # the probe connections log nothing, but to be sure

# 304: If-Modified-Since equal to the file's own time (nginx's default
# "if_modified_since exact")
lm=$(LC_ALL=C date -u -r "$www/htdocs/f5000" '+%a, %d %b %Y %H:%M:%S GMT')
H="Host: pl"
{
	printf 'GET /f100 HTTP/1.1\r\n%s\r\n\r\n' "$H"
	printf 'GET /missing HTTP/1.1\r\n%s\r\n\r\n' "$H"
	printf 'HEAD /f70000 HTTP/1.1\r\n%s\r\n\r\n' "$H"
	printf 'GET /f0 HTTP/1.1\r\n%s\r\n\r\n' "$H"
	printf 'GET /f70000 HTTP/1.1\r\n%s\r\n\r\n' "$H"
	printf 'GET /f5000 HTTP/1.1\r\n%s\r\nIf-Modified-Since: %s\r\n\r\n' "$H" "$lm"
	printf 'POST /f100 HTTP/1.1\r\n%s\r\nContent-Length: 11\r\n\r\nhello=world' "$H"
	printf 'GET /f1448 HTTP/1.1\r\n%s\r\n\r\n' "$H"
	printf 'HEAD /missing HTTP/1.1\r\n%s\r\n\r\n' "$H"
	printf 'GET /f5000 HTTP/1.1\r\n%s\r\nConnection: close\r\n\r\n' "$H"
} >"$pl_work/batch1"
# 32 requests in one write (about 3.5 KB: three segments, requests cut
# across them), exactly artmon's largest --max-pending, all unanswered at
# once; responses of 0 to 5000 bytes, so that they straddle segments too
{
	for i in $(seq 1 31); do
		case $((i % 4)) in 0) f=f0 ;; 1) f=f100 ;; 2) f=f1448 ;; 3) f=f5000 ;; esac
		printf 'GET /%s?req=%s HTTP/1.1\r\n%s\r\nAccept: */*\r\nUser-Agent: artmon-pipeline-test/1.0\r\n\r\n' "$f" "$i" "$H"
	done
	printf 'GET /f100 HTTP/1.1\r\n%s\r\nConnection: close\r\n\r\n' "$H"
} >"$pl_work/batch2"
# 120 requests in one write (several segments: request lines straddle
# them): paired one by one with the default bound (256); read again with
# --max-pending 100, more than artmon keeps pending: the connection must fall
# back to header-only timing, counted, and report no more transactions than
# there were requests
{
	for i in $(seq 1 119); do printf 'GET /f1448?i=%s HTTP/1.1\r\n%s\r\nUser-Agent: pipeline-test\r\n\r\n' "$i" "$H"; done
	printf 'GET /f0 HTTP/1.1\r\n%s\r\nConnection: close\r\n\r\n' "$H"
} >"$pl_work/batch3"

pl_cap_start "tcp port 80"
for b in batch1 batch2 batch3; do
	# cat writes the whole file at once; the response is read to the close
	pl_c timeout 20 bash -c "exec 3<>/dev/tcp/$pl_s4/80; cat '$pl_work/$b' >&3; cat <&3 >'$pl_work/$b.out'" ||
		pl_fail "$b: client failed"
done
pl_cap_stop
sleep 0.2
pl_read
big=$(awk '$2 == 120 { print $1 }' "$www/logs/access.log")
n_am=$(jq -r --argjson p "${big:-0}" 'select(.server_port == 80 and .client_port == $p) | .status' "$pl_work/txn.jsonl" | wc -l)
[ "$n_am" = 120 ] || pl_fail "batch of 120 with the default bound: $n_am transactions, 120 expected"
[ "$n_am" = 120 ] && pl_ok "batch of 120 (port $big): 120 transactions with the default bound"
PL_READ_OPTS="--max-pending 100" pl_read allow-pending

# nginx: per connection (client port), in request order, "status method"
sort -k1,1n -k2,2n "$www/logs/access.log" | awk '{ print $1 "\t" $3 " " $4 }' >"$pl_work/nginx.tsv"
# artmon: per connection, in response order (request start + first byte
# time; a stable sort keeps artmon's order for responses in one segment)
jq -r 'select(.server_port == 80) | [.client_port, (.ts * 1000000 + .first_us | floor), .status, .signature, .outcome] | @tsv' \
	"$pl_work/txn.jsonl" | sort -s -t"$(printf '\t')" -k1,1n -k2,2n |
	awk -F'\t' '{ print $1 "\t" $3 " " $4; if ($5 != "complete") print "outcome " $5 > "/dev/stderr" }' \
	>"$pl_work/artmon.tsv" 2>"$pl_work/outcomes"
[ -s "$pl_work/outcomes" ] && pl_fail "transactions not complete: $(sort "$pl_work/outcomes" | uniq -c | tr '\n' ' ')"

nconn=$(cut -f1 "$pl_work/nginx.tsv" | sort -u | wc -l)
[ "$nconn" -eq 3 ] || pl_fail "nginx logged $nconn connections, 3 expected"
over=$(sed -n 's/.*, \([0-9]*\) over the pending bound.*/\1/p' "$pl_work/read.err")
[ "$over" = 1 ] || pl_fail "connections over the pending bound: ${over:-?}, 1 expected (the batch of 120)"
# the batch of 120: nginx numbers the requests of a connection
big=$(awk '$2 == 120 { print $1 }' "$www/logs/access.log")
if [ -n "$big" ]; then
	n_am=$(awk -v p="$big" '$1 == p' "$pl_work/artmon.tsv" | wc -l)
	if [ "$n_am" -ge 1 ] && [ "$n_am" -le 120 ]; then
		pl_ok "batch of 120 (port $big): over the pending bound, $n_am transactions after the fall back to header-only timing"
	else
		pl_fail "batch of 120 (port $big): $n_am transactions"
	fi
else
	pl_fail "nginx did not log the batch of 120"
fi
for port in $(cut -f1 "$pl_work/nginx.tsv" | sort -un); do
	[ "$port" = "$big" ] && continue
	n_ng=$(awk -v p="$port" '$1 == p' "$pl_work/nginx.tsv" | wc -l)
	n_am=$(awk -v p="$port" '$1 == p' "$pl_work/artmon.tsv" | wc -l)
	if [ "$n_ng" -ne "$n_am" ]; then
		pl_fail "connection from port $port: nginx logged $n_ng requests, artmon reports $n_am transactions"
	elif ! diff <(awk -v p="$port" '$1 == p' "$pl_work/nginx.tsv") <(awk -v p="$port" '$1 == p' "$pl_work/artmon.tsv") >"$pl_work/diff.$port"; then
		pl_fail "connection from port $port: status/method sequence differs (nginx <, artmon >):"
		head -10 "$pl_work/diff.$port"
	else
		pl_ok "connection from port $port: $n_am requests = nginx access log, same statuses and methods in order"
	fi
done
total_ng=$(wc -l <"$pl_work/nginx.tsv")
[ "$total_ng" -eq 162 ] || pl_fail "nginx logged $total_ng requests, the client sent 162"
echo "$pl_name: statuses (artmon): $(cut -f2 "$pl_work/artmon.tsv" | sort | uniq -c | awk '{printf "%s %s x%s; ", $2, $3, $1}')"
pl_end
