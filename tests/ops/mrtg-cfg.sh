#!/bin/sh
# artmon mrtg-cfg against a private snmpd + artmond replaying a committed
# capture: one target per server and per signature row (compared with what
# snmpwalk lists), p50/p90 OIDs that name the right MIB objects, then a
# real `env LANG=C mrtg` run that records every target's gauges in its
# .log (and, with --rrd, in its .rrd).  Error paths: no agent, no
# ARTMON-MIB, usage.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond stdmibs mrtg snmpwalk snmptranslate
ARTMON=${ARTMON:-$top_builddir/cli/artmon}
[ -x "$ARTMON" ] || am_skip "artmon not built"
cap="$top_srcdir/tests/captures/http-nginx.pcap"
[ -f "$cap" ] || am_skip "no $cap"

# The master also listens on [::1] (mrtg-cfg over IPv6).
P6=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1",0)); print(s.getsockname()[1])' 2>/dev/null)
if [ -n "$P6" ]; then
	snmpd_start "agentAddress udp6:[::1]:$P6" "rocommunity6 public ::1"
else
	snmpd_start
fi
artmond_start -c "$top_srcdir/rules/conf/artmon.conf" -r "$cap" --interval 10 --name mrtg-test
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.1)" = finished ]; }
wait_until 20 replay_finished || am_fail "the replay did not finish"
agent="public@127.0.0.1:$SNMPD_PORT"
base=.1.3.6.1.4.1.32473.1

# The reference: every server and signature row, by Net-SNMP's snmpwalk.
walk_idx() { # COLUMN-OID: the row indexes under it
	snmpwalk -v2c -c public -On -r 1 -t 2 "127.0.0.1:$SNMPD_PORT" "$1" |
		sed -n "s/^\\$1\\.\\([0-9.]*\\) = .*/\\1/p"
}
walk_idx "$base.5.1.4" >"$AM_TMP/servers"
walk_idx "$base.6.1.2" >"$AM_TMP/sigs"
nsrv=$(wc -l <"$AM_TMP/servers")
nsig=$(wc -l <"$AM_TMP/sigs")
[ "$nsrv" -ge 2 ] || am_fail "expected at least 2 server rows, snmpwalk lists $nsrv"
[ "$nsig" -gt "$nsrv" ] || am_fail "expected more signature rows than servers: $nsig"
{
	sed "s|.*|${base#.}.5.1.25.&\\&${base#.}.5.1.26.&|" "$AM_TMP/servers"
	sed "s|.*|${base#.}.6.1.24.&\\&${base#.}.6.1.25.&|" "$AM_TMP/sigs"
} | sort >"$AM_TMP/expected"

mkdir -p "$AM_TMP/mrtg" "$AM_TMP/mrtg-rrd"
"$ARTMON" mrtg-cfg -w "$AM_TMP/mrtg" -o "$AM_TMP/mrtg.cfg" "$agent" 2>"$AM_TMP/cfg.err" ||
	am_fail "artmon mrtg-cfg: $(cat "$AM_TMP/cfg.err")"
grep -q "^Target\[" "$AM_TMP/mrtg.cfg" || am_fail "no targets: $(cat "$AM_TMP/mrtg.cfg")"
sed -n 's/^Target\[[^]]*\]: \([^:]*\):.*/\1/p' "$AM_TMP/mrtg.cfg" | sort >"$AM_TMP/actual"
cmp -s "$AM_TMP/expected" "$AM_TMP/actual" ||
	am_fail "targets differ from the rows snmpwalk lists: $(diff "$AM_TMP/expected" "$AM_TMP/actual")"
am_log "ok: $nsrv server and $nsig signature targets, as snmpwalk lists the rows"
grep -q "^Target\[[^]]*\]: [^:]*:public@127.0.0.1:$SNMPD_PORT::::2\$" "$AM_TMP/mrtg.cfg" ||
	am_fail "targets do not name the agent as public@127.0.0.1:$SNMPD_PORT::::2"
names=$(sed -n 's/^Target\[\([^]]*\)\].*/\1/p' "$AM_TMP/mrtg.cfg")
[ "$(echo "$names" | sort -u | wc -l)" = $((nsrv + nsig)) ] || am_fail "target names are not unique"
for n in $names; do
	case $n in *[!a-z0-9._-]*) am_fail "target name $n: MRTG wants lower case file names" ;; esac
	case $n in mrtg-test_*) ;; *) am_fail "target name $n does not start with the sensor's name" ;; esac
	for k in MaxBytes Options Title PageTop; do
		grep -q "^$k\[$n\]: " "$AM_TMP/mrtg.cfg" || am_fail "${k}[$n] missing"
	done
	grep -q "^Options\[$n\]: gauge" "$AM_TMP/mrtg.cfg" || am_fail "$n is not a gauge"
done
grep -q '^Title\[.*mrtg-test' "$AM_TMP/mrtg.cfg" || am_fail "titles lack the sensor name"
# The OIDs are the p50 and p90 gauges by the MIB's own names.
first=$(sed -n '1p' "$AM_TMP/actual")
for o in $(echo "$first" | tr '&' ' ') $(sed -n '$p' "$AM_TMP/actual" | tr '&' ' '); do
	snmptranslate -M "$AM_MIBDIRS" -m ARTMON-MIB ".$o"
done >"$AM_TMP/names"
grep -Eq '^ARTMON-MIB::artmon(Server|Signature)IntFirstP50\.' "$AM_TMP/names" &&
	grep -Eq '^ARTMON-MIB::artmon(Server|Signature)IntFirstP90\.' "$AM_TMP/names" ||
	am_fail "OIDs are not the p50/p90 gauges: $(cat "$AM_TMP/names")"
am_log "ok: OIDs name $(tr '\n' ' ' <"$AM_TMP/names")"

# A real MRTG run; the first line of each .log holds "time p50 p90".
env LANG=C LC_ALL=C mrtg "$AM_TMP/mrtg.cfg" >"$AM_TMP/mrtg.out" 2>&1
checked=0
nonzero=0
for n in $names; do
	oids=$(sed -n "s/^Target\\[$n\\]: \\([^:]*\\):.*/\\1/p" "$AM_TMP/mrtg.cfg")
	want=$(snmpget -v2c -c public -Oqv "127.0.0.1:$SNMPD_PORT" $(echo "$oids" | sed 's/^/./; s/&/ ./') | tr '\n' ' ' | sed 's/ $//')
	got=$(head -n 1 "$AM_TMP/mrtg/$n.log" 2>/dev/null | cut -d' ' -f2-)
	[ "$got" = "$want" ] || am_fail "mrtg recorded '$got' for $n, snmpget gives '$want': $(tail -n 20 "$AM_TMP/mrtg.out")"
	[ "${want%% *}" -gt 0 ] 2>/dev/null && nonzero=$((nonzero + 1))
	checked=$((checked + 1))
done
[ "$nonzero" -ge "$nsrv" ] || am_fail "only $nonzero targets recorded a p50 above 0"
am_log "ok: mrtg recorded p50 and p90 of all $checked targets ($nonzero above 0)"

# --rrd: LogFormat rrdtool (librrds-perl); the .rrd holds the gauges.
if perl -MRRDs -e 1 2>/dev/null && command -v rrdtool >/dev/null 2>&1; then
	"$ARTMON" mrtg-cfg --rrd --no-signatures -w "$AM_TMP/mrtg-rrd" -o "$AM_TMP/mrtg-rrd.cfg" "$agent" 2>/dev/null ||
		am_fail "artmon mrtg-cfg --rrd"
	grep -q '^LogFormat: rrdtool$' "$AM_TMP/mrtg-rrd.cfg" || am_fail "--rrd without LogFormat"
	[ "$(grep -c '^Target\[' "$AM_TMP/mrtg-rrd.cfg")" = "$nsrv" ] || am_fail "--no-signatures"
	env LANG=C LC_ALL=C mrtg "$AM_TMP/mrtg-rrd.cfg" >"$AM_TMP/mrtg-rrd.out" 2>&1
	for n in $(sed -n 's/^Target\[\([^]]*\)\].*/\1/p' "$AM_TMP/mrtg-rrd.cfg"); do
		oids=$(sed -n "s/^Target\\[$n\\]: \\([^:]*\\):.*/\\1/p" "$AM_TMP/mrtg-rrd.cfg")
		want=$(snmpget -v2c -c public -Oqv "127.0.0.1:$SNMPD_PORT" $(echo "$oids" | sed 's/^/./; s/&/ ./') | tr '\n' ' ' | sed 's/ $//')
		[ -f "$AM_TMP/mrtg-rrd/$n.rrd" ] || am_fail "no $n.rrd: $(tail -n 20 "$AM_TMP/mrtg-rrd.out")"
		got=$(rrdtool lastupdate "$AM_TMP/mrtg-rrd/$n.rrd" | tail -n 1 | sed 's/^[0-9]*: //')
		[ "$got" = "$want" ] || am_fail "$n.rrd holds '$got', snmpget gives '$want'"
	done
	am_log "ok: mrtg --rrd stored the gauges of $nsrv servers in RRD files"
else
	am_log "librrds-perl missing: LogFormat rrdtool not tried"
fi

# The same rows through an IPv6 agent address: EnableIPv6 and a bracketed
# host; MRTG itself needs Socket6 and IO::Socket::INET6 for IPv6.
if [ -n "$P6" ]; then
	"$ARTMON" mrtg-cfg -w "$AM_TMP/mrtg6" -o "$AM_TMP/mrtg6.cfg" "public@[::1]:$P6" 2>"$AM_TMP/cfg6.err" ||
		am_fail "artmon mrtg-cfg over IPv6: $(cat "$AM_TMP/cfg6.err")"
	grep -q '^EnableIPv6: yes$' "$AM_TMP/mrtg6.cfg" || am_fail "no EnableIPv6 for an IPv6 agent"
	sed -n 's/^Target\[[^]]*\]: \([^:]*\):public@\[::1\]:'"$P6"'::::2$/\1/p' "$AM_TMP/mrtg6.cfg" | sort >"$AM_TMP/actual6"
	cmp -s "$AM_TMP/actual" "$AM_TMP/actual6" || am_fail "IPv6 agent: targets differ: $(diff "$AM_TMP/actual" "$AM_TMP/actual6")"
	am_log "ok: the same $((nsrv + nsig)) targets through [::1]:$P6"
	if perl -MSocket6 -MIO::Socket::INET6 -e 1 2>/dev/null; then
		mkdir -p "$AM_TMP/mrtg6"
		env LANG=C LC_ALL=C mrtg "$AM_TMP/mrtg6.cfg" >"$AM_TMP/mrtg6.out" 2>&1
		n=$(sed -n 's/^Target\[\([^]]*\)\].*/\1/p' "$AM_TMP/mrtg6.cfg" | head -n 1)
		[ "$(head -n 1 "$AM_TMP/mrtg6/$n.log" | cut -d' ' -f2-)" = "$(head -n 1 "$AM_TMP/mrtg/$n.log" | cut -d' ' -f2-)" ] ||
			am_fail "mrtg over IPv6 recorded $(head -n 1 "$AM_TMP/mrtg6/$n.log"): $(tail -n 5 "$AM_TMP/mrtg6.out")"
		am_log "ok: mrtg over IPv6 recorded the gauges"
	else
		am_log "Socket6/IO::Socket::INET6 missing: mrtg not run over IPv6"
	fi
fi

# Errors: a usage error, a port where nothing answers, an agent without
# ARTMON-MIB (artmond stopped), each with its exit status and a message.
"$ARTMON" mrtg-cfg --bogus >/dev/null 2>&1
assert_eq "usage error" 2 "$?"
dead=$(free_port udp)
"$ARTMON" mrtg-cfg -t 1 -r 0 "127.0.0.1:$dead" >"$AM_TMP/o" 2>"$AM_TMP/e"
assert_eq "no agent" 1 "$?"
grep -q 'no answer from 127.0.0.1' "$AM_TMP/e" || am_fail "no-agent message: $(cat "$AM_TMP/e")"
[ -s "$AM_TMP/o" ] && am_fail "output written without an agent"
artmond_stop
"$ARTMON" mrtg-cfg -t 1 -r 0 "$agent" >/dev/null 2>"$AM_TMP/e"
assert_eq "no ARTMON-MIB" 1 "$?"
grep -q 'no ARTMON-MIB' "$AM_TMP/e" || am_fail "no-MIB message: $(cat "$AM_TMP/e")"
echo PASS
