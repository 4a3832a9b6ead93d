#!/bin/sh
# --realtime replays at the recorded speed, the default as fast as it can;
# --exit-at-end exits once the replay is done (no master needed for that).
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond editcap mergecap

cap="$AM_TMP/loop.pcap"
make_loopback_capture "$cap" 1 10
# Two copies 3 s apart: a capture that lasts a little over 3 s.
editcap -t 3 "$cap" "$AM_TMP/later.pcap" >/dev/null || am_fail "editcap"
mergecap -F pcap -w "$AM_TMP/two.pcap" "$cap" "$AM_TMP/later.pcap" || am_fail "mergecap"

run() {
	_t0=$(date +%s%N)
	"$ARTMOND" -f -s none -x "$AM_TMP/nomaster.sock" -r "$AM_TMP/two.pcap" --exit-at-end "$@" \
		>>"$ARTMOND_LOG" 2>&1 || am_fail "artmond $*: exit status $?"
	echo $(( ($(date +%s%N) - _t0) / 1000000 ))
}
fast=$(run)
slow=$(run --realtime)
am_log "as fast as possible: $fast ms, --realtime: $slow ms"
[ "$slow" -ge 2900 ] || am_fail "--realtime took $slow ms for a 3 s capture"
[ "$fast" -lt 2000 ] || am_fail "the default replay took $fast ms"
echo PASS
