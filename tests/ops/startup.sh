#!/bin/sh
# What artmond tells an operator when its environment is wrong (issue 10,
# "startup checks"): capture permission, store directory permissions,
# AgentX socket missing or not accessible.  artmond runs as an
# unprivileged user through setpriv, as under artmond.service.
#
# Lines "# gap:" name checks artmond does not make yet (agent/ owns
# them); with ARTMON_STRICT_STARTUP=1 each gap fails the test.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond setpriv timeout
[ "$(id -u)" = 0 ] || am_skip "changing user needs root"
id nobody >/dev/null 2>&1 || am_skip "no user nobody"
grp=$(id -gn nobody)
CAPS="--inh-caps +net_raw,+net_admin --ambient-caps +net_raw,+net_admin"
gaps=0
gap() {
	echo "# gap: $*"
	gaps=$((gaps + 1))
}
# as_nobody [caps] ARGS...: artmond as nobody, with the two capabilities
# when the first argument is "caps"; output in $AM_TMP/out, status in $rc.
as_nobody() {
	_c=""
	if [ "$1" = caps ]; then _c=$CAPS; shift; fi
	# shellcheck disable=SC2086
	timeout "${T:-5}" setpriv --reuid nobody --regid "$grp" --clear-groups $_c \
		"$ARTMOND" -c "$top_srcdir/rules/conf/artmon.conf" "$@" >"$AM_TMP/out" 2>&1
	rc=$?
}
expect_exit1() { # WHAT REGEXP
	[ "$rc" = 1 ] || am_fail "$1: exit status $rc, expected 1: $(cat "$AM_TMP/out")"
	grep -Eq -- "$2" "$AM_TMP/out" || am_fail "$1: no /$2/ in: $(cat "$AM_TMP/out")"
	am_log "ok: $1: $(grep -E -- "$2" "$AM_TMP/out" | head -n 1)"
}

# 1. Capture permission: without CAP_NET_RAW a live start fails at once,
#    naming the interface and the capability; -n says the same.
as_nobody -f -i lo -s none -x "$AGENTX_SOCKET"
expect_exit1 "live capture without CAP_NET_RAW" 'lo: .*permission.*CAP_NET_RAW'
as_nobody -n -i lo -s none
expect_exit1 "artmond -n without CAP_NET_RAW" 'lo: .*permission.*CAP_NET_RAW'
as_nobody caps -n -i lo -s none
[ "$rc" = 0 ] || am_fail "artmond -n with the capabilities: $rc $(cat "$AM_TMP/out")"
am_log "ok: with CAP_NET_RAW and CAP_NET_ADMIN as ambient capabilities, -n accepts lo"
as_nobody caps -f -i nosuch0 -s none -x "$AGENTX_SOCKET"
expect_exit1 "missing interface" 'nosuch0: .*(No such device|does not exist)'

# Nothing to capture (the shipped artmon.conf names no interface): a usage
# error, status 2 (artmond.service does not restart on it).
as_nobody caps -f -s none -x "$AGENTX_SOCKET"
[ "$rc" = 2 ] || am_fail "no input: status $rc, expected 2: $(cat "$AM_TMP/out")"
grep -q 'nothing to capture.*-i IFACE.*interface =' "$AM_TMP/out" || am_fail "no input: $(cat "$AM_TMP/out")"
am_log "ok: no input: $(head -n 1 "$AM_TMP/out")"

# 2. Store directory: not writable by the user, or under a directory the
#    user cannot create in: the start fails naming the directory.
mkdir -p "$AM_TMP/rostore" "$AM_TMP/rodir"
chmod 755 "$AM_TMP/rostore" "$AM_TMP/rodir"
as_nobody caps -f -i lo -s "$AM_TMP/rostore" -x "$AGENTX_SOCKET"
expect_exit1 "store directory not writable" "$AM_TMP/rostore.*Permission denied"
as_nobody caps -f -i lo -s "$AM_TMP/rodir/store" -x "$AGENTX_SOCKET"
expect_exit1 "store directory cannot be created" "$AM_TMP/rodir/store.*Permission denied"
grep -q "nobody\|uid" "$AM_TMP/out" || gap "the store error does not say which user needs the access"
as_nobody caps -n -i lo -s "$AM_TMP/rostore"
[ "$rc" = 0 ] && gap "artmond -n accepts a store directory it cannot write (the store is not checked by -n)"

# 3. AgentX: no master yet is not an error (artmond starts before snmpd
#    and joins later) but it is logged with the socket's path.
T=3 as_nobody caps -f -i lo -s none -x "$AM_TMP/nomaster.sock"
[ "$rc" = 124 ] || am_fail "without a master artmond must keep running: status $rc $(cat "$AM_TMP/out")"
grep -q "agentx master agent ($AM_TMP/nomaster.sock)" "$AM_TMP/out" ||
	am_fail "no AgentX connection message: $(cat "$AM_TMP/out")"
am_log "ok: no master: $(grep -m1 'agentx' "$AM_TMP/out")"
grep -Eqi 'no such file|does not exist|not found' "$AM_TMP/out" ||
	gap "a missing AgentX socket is not told apart from a refused connection (no reason printed)"
as_nobody caps -n -i lo -s none -x "$AM_TMP/nomaster.sock"
[ "$rc" = 0 ] && gap "artmond -n does not check the AgentX socket"

# A master whose socket the user may not open (agentXPerms 0700).
snmpd_start "agentXPerms 0700 0700"
[ "$(stat -c %a "$AGENTX_SOCKET")" = 700 ] || am_fail "socket mode $(stat -c %a "$AGENTX_SOCKET")"
T=3 as_nobody caps -f -i lo -s none -x "$AGENTX_SOCKET"
[ "$rc" = 124 ] || am_fail "artmond exited ($rc) on an inaccessible AgentX socket: $(cat "$AM_TMP/out")"
grep -q "agentx master agent ($AGENTX_SOCKET)" "$AM_TMP/out" ||
	am_fail "an inaccessible AgentX socket is not logged: $(cat "$AM_TMP/out")"
am_log "ok: inaccessible socket logged: $(grep -m1 'agentx' "$AM_TMP/out")"
grep -qi 'permission' "$AM_TMP/out" ||
	gap "an AgentX socket the user may not open is reported like an absent master (no 'permission denied', no hint at agentXPerms)"
artmond_registered && am_fail "artmond registered through a socket it may not open"

echo "# $gaps gap(s) in the startup checks"
if [ "${ARTMON_STRICT_STARTUP:-0}" = 1 ] && [ $gaps -gt 0 ]; then
	am_fail "$gaps startup check(s) missing"
fi
echo PASS
