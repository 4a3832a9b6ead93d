#!/bin/sh
# agent/latency.sh in every make check: 3,000 keys flushed at each of 30
# interval closes during a full-speed replay, GETs answered with a p99
# latency under 100 ms (a few ms when the machine is idle: the margin is
# for a loaded CI machine).  The heavy variant (ARTMON_HEAVY=1) uses
# 10,000 keys.
LATENCY_QUICK=1
NSRV=${NSRV:-3000}
COPIES=${COPIES:-10}
SAMPLE_MS=${SAMPLE_MS:-2}
export LATENCY_QUICK NSRV COPIES SAMPLE_MS
exec sh "$top_srcdir/tests/agent/latency.sh"
