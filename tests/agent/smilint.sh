#!/bin/sh
# ARTMON-MIB must pass smilint at its strictest level with no output at all.
# smilint always exits 0, so any line it prints is a failure.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
stdmibs="${ARTMON_STDMIBS:-/var/lib/artmon-stdmibs}"
mib="$top_srcdir/mibs/ARTMON-MIB.txt"

if ! command -v smilint >/dev/null 2>&1; then
	echo "SKIP: smilint not installed (package smitools)"
	exit 77
fi
if [ ! -f "$stdmibs/SNMPv2-SMI" ] && [ ! -f "$stdmibs/SNMPv2-SMI.mib" ]; then
	echo "SKIP: IETF core MIBs not found in $stdmibs (run scripts/install-deps)"
	exit 77
fi

out=$(SMIPATH="$stdmibs" smilint -s -l 6 "$mib" 2>&1)
if [ -n "$out" ]; then
	echo "FAIL: smilint reports on $mib:"
	echo "$out"
	exit 1
fi

# The check itself must be able to fail: a module with a known defect
# (an object without DESCRIPTION) must produce output.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed '/^artmonSensorName OBJECT-TYPE/,/::=/{/DESCRIPTION/,/"$/d}' "$mib" >"$tmp/ARTMON-MIB.txt"
bad=$(SMIPATH="$stdmibs" smilint -s -l 6 "$tmp/ARTMON-MIB.txt" 2>&1)
if [ -z "$bad" ]; then
	echo "FAIL: smilint said nothing about a module with a removed DESCRIPTION"
	exit 1
fi
echo "PASS: ARTMON-MIB is smilint-clean"
exit 0
