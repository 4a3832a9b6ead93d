#!/bin/sh
# The shipped rule sets on traffic between real clients and real servers:
# nginx with curl, Redis with redis-cli, PostgreSQL with psql, run in a
# private network namespace on its loopback and captured with tcpdump.
# The signature names and counts that `artmon read` gives must equal what
# the clients were told to send.  Needs root and the servers (scripts/install-deps);
# skipped (77) without them.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
artmon="$top_builddir/cli/artmon"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ "$(id -u)" = 0 ] || { echo "shipped-real: needs root" >&2; exit 77; }
for t in unshare ip tcpdump nginx curl redis-server redis-cli psql runuser; do
	command -v "$t" > /dev/null || { echo "shipped-real: $t not found" >&2; exit 77; }
done
[ -x "$pgbin/initdb" ] && id postgres > /dev/null 2>&1 || {
	echo "shipped-real: PostgreSQL server not found" >&2; exit 77; }
unshare -n true 2> /dev/null || { echo "shipped-real: cannot unshare the network" >&2; exit 77; }

tmp=$(mktemp -d) || exit 99
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/inner.sh" <<INNER
set -u
ip link set lo up
tcpdump -i lo -s 0 -U --immediate-mode -Z root -w "$tmp/real.pcap" tcp 2> "$tmp/tcpdump.log" &
tp=\$!
for i in 1 2 3 4 5 6 7 8 9 10; do grep -q listening "$tmp/tcpdump.log" && break; sleep 0.2; done

# HTTP: nginx serving one file
mkdir -p "$tmp/www" "$tmp/nginx"
echo hello > "$tmp/www/index.html"
chmod -R a+rX "$tmp/www"
cat > "$tmp/nginx/nginx.conf" <<NGX
worker_processes 1;
pid $tmp/nginx/pid;
error_log $tmp/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $tmp/nginx/access.log;
	client_body_temp_path $tmp/nginx;
	proxy_temp_path $tmp/nginx;
	fastcgi_temp_path $tmp/nginx;
	uwsgi_temp_path $tmp/nginx;
	scgi_temp_path $tmp/nginx;
	server { listen 127.0.0.1:80; root $tmp/www; }
}
NGX
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx"
sleep 0.3
curl -s -o /dev/null http://127.0.0.1/
curl -s -o /dev/null http://127.0.0.1/index.html
curl -s -o /dev/null -I http://127.0.0.1/
curl -s -o /dev/null -d 'a=1&b=2' http://127.0.0.1/form
curl -s -o /dev/null -X DELETE http://127.0.0.1/index.html
kill \$(cat "$tmp/nginx/pid")

# Redis
redis-server --port 6379 --bind 127.0.0.1 --save '' --daemonize yes \
	--pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log" --dir "$tmp"
for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 -p 6379 --no-raw ping 2>/dev/null | grep -q PONG && break; sleep 0.2; done
redis-cli -h 127.0.0.1 set k1 v1 > /dev/null
redis-cli -h 127.0.0.1 set k2 v2 > /dev/null
redis-cli -h 127.0.0.1 get k1 > /dev/null
redis-cli -h 127.0.0.1 get k2 > /dev/null
redis-cli -h 127.0.0.1 get k3 > /dev/null
redis-cli -h 127.0.0.1 lpush l a b c > /dev/null
redis-cli -h 127.0.0.1 incr n > /dev/null
redis-cli -h 127.0.0.1 incr n > /dev/null
kill \$(cat "$tmp/redis.pid")

# PostgreSQL
mkdir -p "$tmp/pg" "$tmp/pgsock"
chown postgres "$tmp/pg" "$tmp/pgsock"
runuser -u postgres -- "$pgbin/initdb" -D "$tmp/pg" -A trust > /dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/pgsock/pg.log" -w \
	-o "-c listen_addresses=127.0.0.1 -c unix_socket_directories=$tmp/pgsock -c ssl=off -c fsync=off" start > /dev/null
runuser -u postgres -- psql -q -h 127.0.0.1 -X -c "create table t (a int)" \
	-c "insert into t values (1)" -c "insert into t values (2)" -c "select * from t" \
	-c "update t set a = 3" -c "delete from t" -c "begin" -c "commit" postgres > /dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/pg" -w stop > /dev/null

sleep 0.5
kill \$tp
wait \$tp
INNER

unshare -n sh "$tmp/inner.sh" > "$tmp/inner.log" 2>&1
[ -s "$tmp/real.pcap" ] || { echo "shipped-real: no capture" >&2; cat "$tmp/inner.log" >&2; exit 1; }

"$artmon" read -q -F csv -c "$top_srcdir/rules/conf/artmon.conf" "$tmp/real.pcap" > "$tmp/out" 2> "$tmp/err" || {
	echo "shipped-real: artmon read failed" >&2; cat "$tmp/err" >&2; exit 1; }
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	{ print $col["server_port"], $col["signature"] }' "$tmp/out" | sort | uniq -c |
	awk '{ print $2, $3, $1 }' > "$tmp/got"
cat > "$tmp/want" <<'END'
5432 BEGIN 1
5432 COMMIT 1
5432 CREATE 1
5432 DELETE 1
5432 INSERT 2
5432 SELECT 1
5432 UPDATE 1
5432 sslrequest 1
5432 startup 1
6379 GET 3
6379 INCR 2
6379 LPUSH 1
6379 PING 1
6379 SET 2
80 DELETE 1
80 GET 2
80 HEAD 1
80 POST 1
END
sort "$tmp/want" > "$tmp/want.sorted"
sort "$tmp/got" > "$tmp/got.sorted"
if ! diff -u "$tmp/want.sorted" "$tmp/got.sorted"; then
	cat "$tmp/inner.log" >&2
	exit 1
fi
exit 0
