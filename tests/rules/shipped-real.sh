#!/bin/sh
# The shipped rule sets on traffic between real clients and real servers,
# run in a private network namespace on its loopback and captured with
# tcpdump: nginx (HTTP and TLS) with curl, Redis with redis-cli, PostgreSQL
# with psql, MariaDB with its client, memcached (a stdlib Python client),
# vsftpd with curl, dovecot (IMAP, POP3) with curl, Python's smtpd with
# curl, slapd with the OpenLDAP tools, unbound with dig +tcp, OpenSSH.
# `artmon read` with the shipped artmon.conf must name every request as the
# client sent it, with the counts the client was told to send.
# Each server that is not installed is left out (scripts/install-deps lists
# them); without root or without any of them the test is skipped (77).
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
artmon="$top_builddir/cli/artmon"
[ "$(id -u)" = 0 ] || { echo "shipped-real: needs root" >&2; exit 77; }
for t in unshare ip tcpdump curl; do
	command -v "$t" > /dev/null || { echo "shipped-real: $t not found" >&2; exit 77; }
done
unshare -n true 2> /dev/null || { echo "shipped-real: cannot unshare the network" >&2; exit 77; }

tmp=$(mktemp -d) || exit 99
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

# Runs inside the namespace.  Each block appends what it expects to $W:
# "port signature count", or "port signature +" for at least one
# (payload-free protocols, whose exchanges follow the protocol, not the user).
cat > "$tmp/inner.sh" <<'INNER'
set -u
T=$1
W=$T/want
have() { command -v "$1" > /dev/null 2>&1; }
waitfor() { i=0; while [ $i -lt 50 ]; do eval "$1" && return 0; sleep 0.2; i=$((i + 1)); done; return 1; }
# A server's pid file can come before its listening socket (slapd refused
# the first clients now and then): wait until the port takes a connection,
# one that sends nothing and so is no exchange.
accepting() {
	have python3 || return 0
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1).close()" 2> /dev/null
}
ip link set lo up
# A large kernel buffer (KiB): with the default 2 MB and a full snaplen the
# ring holds four blocks, and on a loaded machine a burst (memcached's six
# short connections, an FTP session) overran it about one run in ten, so
# whole exchanges were missing from the capture (see the check below).
tcpdump -i lo -B 65536 -s 0 -U --immediate-mode -Z root -w "$T/real.pcap" tcp 2> "$T/tcpdump.log" &
tp=$!
waitfor 'grep -q listening "$T/tcpdump.log"'

nginx_conf() {   # dir, listen
	cat > "$1/nginx.conf" <<NGX
worker_processes 1;
pid $1/pid;
error_log $1/error.log;
events { worker_connections 64; }
http {
	access_log $1/access.log;
	client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1;
	uwsgi_temp_path $1; scgi_temp_path $1;
	server { $2 root $1/www; }
}
NGX
}

if have nginx; then
	D=$T/nginx; mkdir -p $D/www; echo hello > $D/www/index.html; chmod -R a+rX $D
	nginx_conf $D "listen 127.0.0.1:80;"
	if nginx -c $D/nginx.conf -p $D && waitfor "[ -s $D/pid ] && accepting 80"; then
		curl -s -o /dev/null http://127.0.0.1/
		curl -s -o /dev/null http://127.0.0.1/index.html
		curl -s -o /dev/null -I http://127.0.0.1/
		curl -s -o /dev/null -d 'a=1&b=2' http://127.0.0.1/form
		curl -s -o /dev/null -X DELETE http://127.0.0.1/index.html
		kill $(cat $D/pid)
		printf '80 GET 2\n80 HEAD 1\n80 POST 1\n80 DELETE 1\n' >> $W
	fi
fi

if have nginx && have openssl; then
	D=$T/tls; mkdir -p $D/www; echo hi > $D/www/index.html; chmod -R a+rX $D
	openssl req -x509 -newkey rsa:2048 -nodes -keyout $D/key.pem -out $D/cert.pem -days 2 \
		-subj /CN=www.example.test 2> /dev/null
	nginx_conf $D "listen 127.0.0.1:443 ssl; ssl_certificate $D/cert.pem; ssl_certificate_key $D/key.pem;"
	if nginx -c $D/nginx.conf -p $D && waitfor "[ -s $D/pid ] && accepting 443"; then
		curl -sk --resolve www.example.test:443:127.0.0.1 -o /dev/null https://www.example.test/
		curl -sk --resolve api.example.test:443:127.0.0.1 -o /dev/null https://api.example.test/
		kill $(cat $D/pid)
		printf '443 www.example.test +\n443 api.example.test +\n' >> $W
	fi
fi

if have redis-server && have redis-cli; then
	redis-server --port 6379 --bind 127.0.0.1 --save '' --daemonize yes \
		--pidfile $T/redis.pid --logfile $T/redis.log --dir $T
	if waitfor "[ -s $T/redis.pid ] && accepting 6379"; then
		for c in "set k1 v1" "set k2 v2" "get k1" "get k2" "get k3" "lpush l a b c" "incr n" "incr n"; do
			redis-cli -h 127.0.0.1 $c > /dev/null
		done
		kill $(cat $T/redis.pid)
		printf '6379 SET 2\n6379 GET 3\n6379 LPUSH 1\n6379 INCR 2\n' >> $W
	fi
fi

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1)
if [ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] && have psql && id postgres > /dev/null 2>&1; then
	mkdir -p $T/pg $T/pgsock; chown postgres $T/pg $T/pgsock
	runuser -u postgres -- "$pgbin/initdb" -D $T/pg -A trust > /dev/null
	if runuser -u postgres -- "$pgbin/pg_ctl" -D $T/pg -l $T/pgsock/log -w -o \
		"-c listen_addresses=127.0.0.1 -c unix_socket_directories=$T/pgsock -c ssl=off -c fsync=off" \
		start > /dev/null; then
		runuser -u postgres -- psql -q -X -h 127.0.0.1 -c "create table t (a int)" \
			-c "insert into t values (1)" -c "insert into t values (2)" -c "select * from t" \
			-c "update t set a = 3" -c "delete from t" -c "begin" -c "commit" postgres > /dev/null
		runuser -u postgres -- "$pgbin/pg_ctl" -D $T/pg -w stop > /dev/null
		printf '5432 sslrequest 1\n5432 startup 1\n5432 CREATE 1\n5432 INSERT 2\n5432 SELECT 1\n' >> $W
		printf '5432 UPDATE 1\n5432 DELETE 1\n5432 BEGIN 1\n5432 COMMIT 1\n' >> $W
	fi
fi

if have mariadbd && have mariadb-install-db && have mariadb; then
	M=$T/my; mkdir -p $M
	mariadb-install-db --no-defaults --datadir=$M/data --user=root \
		--auth-root-authentication-method=normal > $M/install.log 2>&1
	mariadbd --no-defaults --datadir=$M/data --user=root --bind-address=127.0.0.1 --port=3306 \
		--socket=$M/sock --pid-file=$M/pid --skip-ssl --skip-grant-tables --log-error=$M/err.log &
	if waitfor "[ -S $M/sock ]"; then
		mariadb --no-defaults -h 127.0.0.1 -P 3306 -u root --skip-ssl \
			-e "create database d; create table d.t (a int); insert into d.t values (1); select * from d.t" > /dev/null
		mariadb-admin --no-defaults -h 127.0.0.1 -P 3306 -u root --skip-ssl ping > /dev/null
		kill $(cat $M/pid)
		waitfor "[ ! -S $M/sock ]"
		printf '3306 login 2\n3306 COM_QUERY 4\n3306 COM_PING 1\n' >> $W
	fi
fi

if have memcached && have python3; then
	memcached -u root -l 127.0.0.1 -p 11211 &
	mp=$!
	if waitfor "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 11211)).close()' 2> /dev/null"; then
		python3 - <<'PY'
import socket, time
def cmd(req, want):
    s = socket.create_connection(("127.0.0.1", 11211))
    s.sendall(req)
    got = b""
    while not got.endswith(want):
        got += s.recv(4096)
    s.close()
cmd(b"set k 0 0 3\r\nabc\r\n", b"STORED\r\n")
cmd(b"set n 0 0 1\r\n5\r\n", b"STORED\r\n")
cmd(b"get k\r\n", b"END\r\n")
cmd(b"get nothere\r\n", b"END\r\n")
cmd(b"incr n 2\r\n", b"7\r\n")
cmd(b"delete k\r\n", b"DELETED\r\n")
PY
		printf '11211 set 2\n11211 get 2\n11211 incr 1\n11211 delete 1\n' >> $W
	fi
	kill $mp
fi

if have vsftpd; then
	F=$T/ftp; mkdir -p $F/root $F/empty; echo data > $F/root/f.txt
	cat > $F/vsftpd.conf <<C
listen=YES
listen_address=127.0.0.1
listen_port=21
anonymous_enable=YES
anon_root=$F/root
local_enable=NO
write_enable=NO
secure_chroot_dir=$F/empty
seccomp_sandbox=NO
pasv_min_port=30000
pasv_max_port=30010
background=NO
run_as_launching_user=YES
C
	vsftpd $F/vsftpd.conf &
	vp=$!
	sleep 0.5
	curl -s -o /dev/null ftp://127.0.0.1/f.txt
	curl -s -o /dev/null -l ftp://127.0.0.1/
	sleep 0.5   # let the last QUIT exchange reach the capture before the server goes
	kill $vp
	# curl waits for each reply (the 226 after RETR and NLST included)
	# before its next command: every command is answered in turn
	printf '21 USER 2\n21 PASS 2\n21 PWD 2\n21 EPSV 2\n21 TYPE 2\n21 SIZE 1\n21 RETR 1\n21 NLST 1\n21 QUIT 2\n' >> $W
fi

if have dovecot; then
	D=$T/dovecot
	mkdir -p $D/run $D/mail/u/Maildir/cur $D/mail/u/Maildir/new $D/mail/u/Maildir/tmp
	printf 'From: a@b\r\nSubject: hi\r\n\r\nbody\r\n' > "$D/mail/u/Maildir/cur/1.msg:2,"
	chown -R nobody $D/mail
	echo "u:{PLAIN}pw:65534:65534::$D/mail/u" > $D/passwd
	cat > $D/dovecot.conf <<C
base_dir = $D/run
state_dir = $D/run
listen = 127.0.0.1
protocols = imap pop3
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
log_path = $D/log
default_internal_user = nobody
default_login_user = nobody
passdb {
  driver = passwd-file
  args = $D/passwd
}
userdb {
  driver = passwd-file
  args = $D/passwd
}
C
	dovecot -F -c $D/dovecot.conf &
	dp=$!
	if waitfor "curl -s -o /dev/null imap://127.0.0.1/ -u u:pw --max-time 1 -X NOOP 2> /dev/null; [ \$? -ne 7 ]"; then
		: > $D/ready
	fi
	# the probe above logged in once: NOOP, counted
	curl -s -o /dev/null imap://127.0.0.1/INBOX -u u:pw
	curl -s -o /dev/null "imap://127.0.0.1/INBOX;UID=1" -u u:pw
	curl -s -o /dev/null pop3://127.0.0.1/1 -u u:pw
	curl -s -o /dev/null pop3://127.0.0.1/ -u u:pw
	kill $dp
	# curl sends AUTH PLAIN's credentials to POP3 on a line of their own: (other)
	printf '143 CAPABILITY 3+\n143 AUTHENTICATE 3+\n143 NOOP 1+\n143 LIST 1\n143 SELECT 1\n143 UID_FETCH 1\n143 LOGOUT 3+\n' >> $W
	printf '110 CAPA 2\n110 AUTH 2\n110 (other) 2\n110 RETR 1\n110 LIST 1\n110 QUIT 2\n' >> $W
fi

if [ -x /usr/bin/python3 ] && /usr/bin/python3 -W ignore -c 'import smtpd' 2> /dev/null; then
	/usr/bin/python3 -W ignore -m smtpd -n -c DebuggingServer 127.0.0.1:25 > $T/smtpd.out 2>&1 &
	sp=$!
	sleep 0.5
	printf 'Subject: test\r\n\r\nhello\r\n' > $T/mail.txt
	curl -s smtp://127.0.0.1 --mail-from a@example.org --mail-rcpt b@example.org \
		--mail-rcpt c@example.org -T $T/mail.txt
	kill $sp
	# the message after DATA is no command: (other)
	printf '25 EHLO 1\n25 MAIL 1\n25 RCPT 2\n25 DATA 1\n25 (other) 1\n25 QUIT 1\n' >> $W
fi

if have slapd && have ldapadd && [ -f /etc/ldap/schema/core.schema ]; then
	L=$T/ldap; mkdir -p $L/db
	cat > $L/slapd.conf <<C
include /etc/ldap/schema/core.schema
pidfile $L/pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw secret
directory $L/db
C
	printf 'dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n' > $L/base.ldif
	slapd -f $L/slapd.conf -h ldap://127.0.0.1:389/ > $L/out 2>&1
	if waitfor "[ -s $L/pid ] && accepting 389"; then
		ldapadd -x -H ldap://127.0.0.1 -D cn=admin,dc=example,dc=org -w secret -f $L/base.ldif > /dev/null
		ldapsearch -x -H ldap://127.0.0.1 -b dc=example,dc=org -LLL > /dev/null
		ldapdelete -x -H ldap://127.0.0.1 -D cn=admin,dc=example,dc=org -w secret dc=example,dc=org
		kill $(cat $L/pid)
		# unbind gets no answer: ignored
		printf '389 bind 3\n389 add 1\n389 search 1\n389 delete 1\n' >> $W
	fi
fi

if have unbound && have dig; then
	U=$T/unbound; mkdir -p $U
	cat > $U/unbound.conf <<C
server:
	interface: 127.0.0.1
	port: 53
	do-daemonize: no
	username: ""
	chroot: ""
	directory: "$U"
	pidfile: "$U/pid"
	use-syslog: no
	logfile: "$U/log"
	access-control: 127.0.0.0/8 allow
	local-zone: "example.test." static
	local-data: "www.example.test. A 192.0.2.1"
	local-data: "www.example.test. AAAA 2001:db8::1"
	local-data: "example.test. MX 10 mail.example.test."
	local-data: "example.test. TXT \"hello\""
remote-control:
	control-enable: no
C
	unbound -c $U/unbound.conf &
	up=$!
	if waitfor "[ -s $U/pid ] && accepting 53"; then
		sleep 0.2
		for q in "www.example.test A" "www.example.test A" "www.example.test AAAA" \
			 "example.test MX" "example.test TXT"; do
			dig +tcp +short @127.0.0.1 $q > /dev/null
		done
		printf '53 A 2\n53 AAAA 1\n53 MX 1\n53 TXT 1\n' >> $W
	fi
	kill $up
fi

if [ -x /usr/sbin/sshd ] && have ssh && have ssh-keygen; then
	S=$T/ssh; mkdir -p $S /run/sshd; chmod 700 $S
	ssh-keygen -q -t ed25519 -N '' -f $S/host
	ssh-keygen -q -t ed25519 -N '' -f $S/user
	cp $S/user.pub $S/authorized_keys
	cat > $S/sshd_config <<C
ListenAddress 127.0.0.1:22
HostKey $S/host
PidFile $S/pid
PermitRootLogin yes
PasswordAuthentication no
AuthorizedKeysFile $S/authorized_keys
StrictModes no
UsePAM no
C
	/usr/sbin/sshd -f $S/sshd_config -D -e 2> $S/log &
	sp=$!
	if waitfor "[ -s $S/pid ]"; then
		ssh -q -i $S/user -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
			-o BatchMode=yes root@127.0.0.1 true
		printf '22 (other) +\n' >> $W
	fi
	kill $sp
fi

sleep 0.5
kill $tp
wait $tp
INNER

# A capture that lost packets cannot be held against artmon: the exchanges
# it lost are simply not there to count.  tcpdump says how many the kernel
# dropped; such a run is made again (at most three runs in all).
try=1
while :; do
	R=$tmp/run$try   # each run from scratch (data directories, keys)
	mkdir "$R" && chmod 755 "$R" && : > "$R/want" || exit 99
	unshare -n sh "$tmp/inner.sh" "$R" > "$R/inner.log" 2>&1
	dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel$/\1/p' "$R/tcpdump.log" 2> /dev/null)
	[ "${dropped:-x}" = 0 ] && break
	echo "shipped-real: run $try: the capture is incomplete: $(tr '\n' ' ' < "$R/tcpdump.log")" >&2
	if [ $try -ge 3 ]; then
		echo "shipped-real: no complete capture in $try runs" >&2
		cat "$R/inner.log" >&2
		exit 1
	fi
	try=$((try + 1))
done
if [ ! -s "$R/want" ]; then
	echo "shipped-real: none of the servers is installed" >&2
	exit 77
fi
[ -s "$R/real.pcap" ] || { echo "shipped-real: no capture" >&2; cat "$R/inner.log" >&2; exit 1; }

"$artmon" read -q -F csv -c "$top_srcdir/rules/conf/artmon.conf" "$R/real.pcap" > "$tmp/out" 2> "$tmp/err" || {
	echo "shipped-real: artmon read failed" >&2; cat "$tmp/err" >&2; exit 1; }
# port signature count, for the requests of connections a rule claimed
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	$col["signature"] != "" { n[$col["server_port"] " " $col["signature"]]++ }
	END { for (k in n) print k, n[k] }' "$tmp/out" | sort > "$tmp/got"
[ -n "${VERBOSE:-}" ] && cat "$tmp/got"
# want: exact counts, N+ for at least N; every name seen must be wanted
if ! awk 'FNR == NR { want[$1 " " $2] = $3; next }
	{ got[$1 " " $2] = $3 }
	END {
		bad = 0
		for (k in want) {
			w = want[k]; g = (k in got) ? got[k] : 0
			if (w ~ /\+$/) { sub(/\+$/, "", w); if (w == "") w = 1; ok = g >= w + 0 }
			else ok = g == w + 0
			if (!ok) { printf "shipped-real: %s: %d, expected %s\n", k, g, want[k]; bad = 1 }
		}
		for (k in got) if (!(k in want)) { printf "shipped-real: %s: %d, not expected\n", k, got[k]; bad = 1 }
		exit bad
	}' "$R/want" "$tmp/got" >&2; then
	cat "$R/inner.log" >&2
	exit 1
fi
exit 0
