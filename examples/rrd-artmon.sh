#!/bin/sh
# rrd-artmon.sh: poll one server row of ARTMON-MIB into an RRD and draw
# p50/p90/p99 of the first-byte time and the mean of each polling period
# computed from the cumulative sum and count (two Counter64 objects: the
# RRD turns each into a rate, and their ratio is the mean of the period).
#
#   rrd-artmon.sh HOST INDEX [COMMUNITY]     e.g. rrd-artmon.sh sensor1 1.4.192.0.2.10.80
#
# Run it from cron at the summary interval (300 s by default).  Needs
# snmpget (package snmp) and rrdtool.
set -eu
host=$1
idx=$2
community=${3:-public}
step=${STEP:-300}
rrd=${RRD:-artmon-$idx.rrd}
png=${PNG:-artmon-$idx.png}
base=1.3.6.1.4.1.32473.1.5.1

get() {
	snmpget -v2c -c "$community" -Oqv "$host" "$base.$1.$idx"
}

if [ ! -f "$rrd" ]; then
	rrdtool create "$rrd" --step "$step" \
		DS:p50:GAUGE:$((2 * step)):0:U \
		DS:p90:GAUGE:$((2 * step)):0:U \
		DS:p99:GAUGE:$((2 * step)):0:U \
		DS:firstsum:DERIVE:$((2 * step)):0:U \
		DS:firstcount:DERIVE:$((2 * step)):0:U \
		RRA:AVERAGE:0.5:1:2016 RRA:MAX:0.5:12:1488
fi

# artmonServerIntFirstP50 .25, P90 .26, P99 .27, FirstSum .11, FirstCount .12
rrdtool update "$rrd" "N:$(get 25):$(get 26):$(get 27):$(get 11):$(get 12)"

rrdtool graph "$png" --start -1d --vertical-label microseconds \
	--title "first-byte time of $idx" \
	DEF:p50=$rrd:p50:AVERAGE DEF:p90=$rrd:p90:AVERAGE DEF:p99=$rrd:p99:AVERAGE \
	DEF:s=$rrd:firstsum:AVERAGE DEF:n=$rrd:firstcount:AVERAGE \
	CDEF:mean=s,n,/ \
	LINE1:p50#00a000:p50 LINE1:p90#e0a000:p90 LINE1:p99#d00000:p99 \
	LINE2:mean#0000d0:"mean of the period (sum/count)" >/dev/null
