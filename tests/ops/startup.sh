#!/bin/sh
# What artmond tells an operator when its environment is wrong (issue 10,
# "startup checks"): capture permission, store directory, AgentX socket
# (missing, stale, not a socket, not accessible), pid file (a running
# instance's, a stale one).  Each case
# asserts the exit status and the words of the message, at a start and
# with -n (which checks what a start would and exits 1 on an error, 0 when
# there are only warnings).  artmond runs as the unprivileged user nobody
# through setpriv, as under artmond.service, or starts as root and drops
# to nobody, as under the init script.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond setpriv timeout python3
[ "$(id -u)" = 0 ] || am_skip "changing user needs root"
id nobody >/dev/null 2>&1 || am_skip "no user nobody"
grp=$(id -gn nobody)
WHO="running as user nobody, uid $(id -u nobody)"
CONF="$top_srcdir/rules/conf/artmon.conf"
CAPS="--inh-caps +net_raw,+net_admin --ambient-caps +net_raw,+net_admin"
NOMASTER="$AM_TMP/nomaster.sock"

# as_nobody [caps] ARGS...: artmond as nobody, with the two capabilities
# when the first argument is "caps"; output in $AM_TMP/out, status in $rc.
as_nobody() {
	_c=""
	if [ "$1" = caps ]; then _c=$CAPS; shift; fi
	# shellcheck disable=SC2086
	timeout "${T:-10}" setpriv --reuid nobody --regid "$grp" --clear-groups $_c \
		"$ARTMOND" -c "$CONF" "$@" >"$AM_TMP/out" 2>&1
	rc=$?
}
# as_root ARGS...: the same as root.
as_root() {
	timeout "${T:-10}" "$ARTMOND" -c "$CONF" "$@" >"$AM_TMP/out" 2>&1
	rc=$?
}
# expect WHAT STATUS TEXT...: the last run exited with STATUS and its
# output holds every TEXT (fixed strings).
expect() {
	_what=$1 _want=$2
	shift 2
	[ "$rc" = "$_want" ] || am_fail "$_what: exit status $rc, expected $_want: $(cat "$AM_TMP/out")"
	for _t in "$@"; do
		grep -qF -- "$_t" "$AM_TMP/out" || am_fail "$_what: no \"$_t\" in: $(cat "$AM_TMP/out")"
	done
	am_log "ok: $_what ($rc): $(grep -m1 -E 'error|warning|OK' "$AM_TMP/out" || head -n 1 "$AM_TMP/out")"
}
# refute WHAT TEXT: the last output does not hold TEXT.
refute() {
	grep -qF -- "$2" "$AM_TMP/out" && am_fail "$1: unexpected \"$2\" in: $(cat "$AM_TMP/out")"
	return 0
}
NOPERM="You don't have permission to perform this capture on that device (needs CAP_NET_RAW"
ABSENT="AgentX socket $NOMASTER: No such file or directory ($WHO): no master agent is running yet"

# 1. Capture permission: without CAP_NET_RAW a live start fails at once,
#    naming the interface, the capability and the user; -n says the same.
as_nobody -f -i lo -s none -x "$NOMASTER"
expect "live capture without CAP_NET_RAW" 1 "error: [capture] lo: $NOPERM" "($WHO)"
as_nobody -n -i lo -s none -x "$NOMASTER"
expect "artmond -n without CAP_NET_RAW" 1 "error: [capture] lo: $NOPERM" "($WHO)" \
	"artmond: 1 error(s), 1 warning(s): artmond would not start"
as_nobody caps -n -i lo -s none -x "$NOMASTER"
expect "artmond -n with CAP_NET_RAW, no master yet" 0 \
	"artmond: configuration and inputs OK (see the warnings)" "warning: [snmp] $ABSENT"
as_nobody caps -f -i nosuch0 -s none -x "$NOMASTER"
expect "missing interface" 1 "error: [capture] nosuch0: No such device exists"
refute "missing interface" "$WHO"

# Nothing to capture (the shipped artmon.conf names no interface): a usage
# error, status 2 (artmond.service does not restart on it).
as_nobody caps -f -s none -x "$NOMASTER"
expect "no input" 2 "artmond: nothing to capture: give -i IFACE or -r FILE (or interface = in the configuration)"

# 2. Store directory, as the user artmond runs as: not writable, not
#    creatable, not a directory, not an LMDB store; the same words at a
#    start and from -n.
mkdir -p "$AM_TMP/rostore" "$AM_TMP/rodir" "$AM_TMP/okstore" "$AM_TMP/badstore"
chmod 755 "$AM_TMP/rostore" "$AM_TMP/rodir"
chown nobody "$AM_TMP/okstore" "$AM_TMP/badstore"
ROSTORE="error: [store] store $AM_TMP/rostore: Permission denied ($WHO; the directory needs read, write and search permission)"
RODIR="error: [store] store $AM_TMP/rodir/store: cannot be created in $AM_TMP/rodir: Permission denied ($WHO)"
as_nobody caps -f -i lo -s "$AM_TMP/rostore" -x "$NOMASTER"
expect "store directory not writable" 1 "$ROSTORE"
as_nobody caps -n -i lo -s "$AM_TMP/rostore" -x "$NOMASTER"
expect "artmond -n: store directory not writable" 1 "$ROSTORE" "1 error(s)"
as_nobody caps -f -i lo -s "$AM_TMP/rodir/store" -x "$NOMASTER"
expect "store directory cannot be created" 1 "$RODIR"
as_nobody caps -n -i lo -s "$AM_TMP/rodir/store" -x "$NOMASTER"
expect "artmond -n: store directory cannot be created" 1 "$RODIR"
[ -e "$AM_TMP/rodir/store" ] && am_fail "-n created a store"
as_nobody caps -n -i lo -s "$AM_TMP/nosuchdir/store" -x "$NOMASTER"
expect "artmond -n: store's parent missing" 1 \
	"error: [store] store $AM_TMP/nosuchdir/store: cannot be created: $AM_TMP/nosuchdir: No such file or directory"
: >"$AM_TMP/afile"
as_nobody caps -n -i lo -s "$AM_TMP/afile" -x "$NOMASTER"
expect "artmond -n: store is a file" 1 "error: [store] store $AM_TMP/afile: not a directory"
head -c 16384 /dev/urandom >"$AM_TMP/badstore/data.mdb"
: >"$AM_TMP/badstore/lock.mdb"
chown nobody "$AM_TMP/badstore/data.mdb" "$AM_TMP/badstore/lock.mdb"
as_nobody caps -n -i lo -s "$AM_TMP/badstore" -x "$NOMASTER"
expect "artmond -n: not an LMDB store" 1 "error: [store] store $AM_TMP/badstore: MDB_INVALID"
as_nobody caps -n -i lo -s "$AM_TMP/okstore" -x "$NOMASTER"
expect "artmond -n: a writable store directory" 0 "configuration and inputs OK"
refute "artmond -n: a writable store directory" "[store]"

# 3. AgentX.  No master yet is a warning (artmond starts before snmpd and
#    joins later), a stale socket too; the message says which.
T=5 as_nobody caps -f -i lo -s none -x "$NOMASTER"
expect "no master: artmond keeps running" 124 "warning: [snmp] $ABSENT"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$AM_TMP/stale.sock"
[ -S "$AM_TMP/stale.sock" ] || am_fail "no stale socket"
chmod 777 "$AM_TMP/stale.sock"
STALE="AgentX socket $AM_TMP/stale.sock: Connection refused ($WHO): no master agent listens on it"
T=5 as_nobody caps -f -i lo -s none -x "$AM_TMP/stale.sock"
expect "stale socket: artmond keeps running" 124 "warning: [snmp] $STALE"
as_nobody caps -n -i lo -s none -x "$AM_TMP/stale.sock"
expect "artmond -n: stale socket" 0 "warning: [snmp] $STALE" "(see the warnings)"
as_nobody caps -n -i lo -s none -x "$AM_TMP/afile"
expect "artmond -n: AgentX path is not a socket" 1 "error: [snmp] AgentX socket $AM_TMP/afile: not a socket"

# A master whose socket the user may not open (agentXPerms 0700): an
# error naming the socket, the reason, the user and agentXPerms.  At run
# time artmond keeps retrying (the master may be fixed and restarted).
snmpd_start "agentXPerms 0700 0700"
[ "$(stat -c %a "$AGENTX_SOCKET")" = 700 ] || am_fail "socket mode $(stat -c %a "$AGENTX_SOCKET")"
DENIED="error: [snmp] AgentX socket $AGENTX_SOCKET: Permission denied ($WHO): the master's agentXPerms"
T=5 as_nobody caps -f -i lo -s none -x "$AGENTX_SOCKET"
expect "inaccessible socket: artmond keeps running" 124 "$DENIED"
artmond_registered && am_fail "artmond registered through a socket it may not open"
as_nobody caps -n -i lo -s none -x "$AGENTX_SOCKET"
expect "artmond -n: inaccessible socket" 1 "$DENIED" "1 error(s), 0 warning(s)"
# Started as root, artmond connects after dropping to its user: -n as
# root checks the socket as that user.
as_root -n -i lo -u nobody -s none -x "$AGENTX_SOCKET"
expect "artmond -n as root for user nobody: inaccessible socket" 1 "$DENIED"
as_root -n -i lo -s none -x "$AGENTX_SOCKET" -u root
expect "artmond -n as root staying root" 0 "configuration and inputs OK"
refute "artmond -n as root staying root" "warning"
snmpd_stop
snmpd_start
as_nobody caps -n -i lo -s "$AM_TMP/okstore" -x "$AGENTX_SOCKET"
expect "artmond -n: everything in order" 0 "artmond: configuration and inputs OK"
refute "artmond -n: everything in order" "warning"
snmpd_stop

# 4. The pid file.  Started as root, artmond creates it before dropping
#    its privileges, so it may live in a directory only root writes (like
#    /run); at a clean exit it removes the file, or empties it when the
#    unprivileged process may not remove it.
mkdir -p "$AM_TMP/run" "$AM_TMP/userrun"
chmod 755 "$AM_TMP/run"
chown nobody "$AM_TMP/userrun"
pid_file_of() { [ "$(cat "$1" 2>/dev/null)" = "$ARTMOND_PID" ]; }
"$ARTMOND" -f -D main -c "$CONF" -i lo -u nobody -s "$AM_TMP/pstore" -x "$NOMASTER" \
	-p "$AM_TMP/run/artmond.pid" >"$ARTMOND_LOG" 2>&1 &
ARTMOND_PID=$!
wait_until 10 pid_file_of "$AM_TMP/run/artmond.pid" ||
	am_fail "pid file: '$(cat "$AM_TMP/run/artmond.pid" 2>&1)', not $ARTMOND_PID: $(cat "$ARTMOND_LOG")"
wait_until 10 grep -q "running as nobody" "$ARTMOND_LOG" || am_fail "no privilege drop: $(cat "$ARTMOND_LOG")"
assert_eq "artmond's user" nobody "$(ps -o user= -p "$ARTMOND_PID" | tr -d ' ')"
am_log "ok: pid file $AM_TMP/run/artmond.pid written in a root-only directory"
# -n while it runs: the store is in use, a warning.
as_root -n -i lo -u nobody -s "$AM_TMP/pstore" -x "$NOMASTER"
expect "artmond -n: store in use" 0 \
	"warning: [store] store $AM_TMP/pstore: in use by another writer (a running artmond?)"
artmond_stop
[ -e "$AM_TMP/run/artmond.pid" ] || am_fail "the pid file in a root-only directory was removed"
[ -s "$AM_TMP/run/artmond.pid" ] && am_fail "the pid file still names a process: $(cat "$AM_TMP/run/artmond.pid")"
grep -qF "pid file $AM_TMP/run/artmond.pid emptied: this user may not remove it from its directory" \
	"$ARTMOND_LOG" || am_fail "no word on the emptied pid file: $(cat "$ARTMOND_LOG")"
am_log "ok: pid file emptied at exit (its directory is root's)"
rm -f "$AM_TMP/run/artmond.pid"

"$ARTMOND" -f -c "$CONF" -i lo -u nobody -s none -x "$NOMASTER" \
	-p "$AM_TMP/userrun/artmond.pid" >"$ARTMOND_LOG" 2>&1 &
ARTMOND_PID=$!
wait_until 10 pid_file_of "$AM_TMP/userrun/artmond.pid" || am_fail "pid file in userrun: $(cat "$ARTMOND_LOG")"
# A second artmond with the same pid file (another store, so only the pid
# file is shared): it fails naming the running one, whose pid stays in the
# file and whose file is still removed at its exit.
as_root -f -i lo -u nobody -s none -x "$NOMASTER" -p "$AM_TMP/userrun/artmond.pid"
expect "second artmond with the pid file of a running one" 1 \
	"error: [main] pid file $AM_TMP/userrun/artmond.pid: in use by a running artmond (pid $ARTMOND_PID)"
pid_file_of "$AM_TMP/userrun/artmond.pid" ||
	am_fail "the second artmond changed the pid file: '$(cat "$AM_TMP/userrun/artmond.pid" 2>&1)'"
as_root -n -i lo -u nobody -s none -x "$NOMASTER" -p "$AM_TMP/userrun/artmond.pid"
expect "artmond -n: pid file of a running artmond" 0 \
	"warning: [main] pid file $AM_TMP/userrun/artmond.pid: in use by a running artmond (pid $ARTMOND_PID)"
artmond_stop
[ -e "$AM_TMP/userrun/artmond.pid" ] && am_fail "pid file not removed at exit: $(cat "$ARTMOND_LOG")"
am_log "ok: pid file removed at exit (its directory is the user's)"
# The file of an artmond that died (kill -9) is stale: the next start
# rewrites it.
"$ARTMOND" -f -c "$CONF" -i lo -u nobody -s none -x "$NOMASTER" \
	-p "$AM_TMP/userrun/artmond.pid" >"$ARTMOND_LOG" 2>&1 &
ARTMOND_PID=$!
wait_until 10 pid_file_of "$AM_TMP/userrun/artmond.pid" || am_fail "pid file in userrun: $(cat "$ARTMOND_LOG")"
kill -KILL "$ARTMOND_PID"
wait "$ARTMOND_PID" 2>/dev/null
DEAD=$ARTMOND_PID
"$ARTMOND" -f -c "$CONF" -i lo -u nobody -s none -x "$NOMASTER" \
	-p "$AM_TMP/userrun/artmond.pid" >"$ARTMOND_LOG" 2>&1 &
ARTMOND_PID=$!
wait_until 10 pid_file_of "$AM_TMP/userrun/artmond.pid" ||
	am_fail "stale pid file (pid $DEAD) not rewritten: '$(cat "$AM_TMP/userrun/artmond.pid" 2>&1)': $(cat "$ARTMOND_LOG")"
artmond_stop
am_log "ok: the pid file of an artmond killed with -9 is rewritten by the next start"

PIDERR="error: [main] pid file $AM_TMP/run/artmond.pid: cannot be created in $AM_TMP/run: Permission denied ($WHO)"
as_nobody caps -f -i lo -s none -x "$NOMASTER" -p "$AM_TMP/run/artmond.pid"
expect "pid file not creatable by the user" 1 "$PIDERR"
as_nobody caps -n -i lo -s none -x "$NOMASTER" -p "$AM_TMP/run/artmond.pid"
expect "artmond -n: pid file not creatable by the user" 1 "$PIDERR"
echo PASS
