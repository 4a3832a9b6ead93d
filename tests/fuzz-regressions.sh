#!/bin/bash
# Captures that once hung or broke artmon (tests/fuzz/tracker-regressions/
# *.pcap): artmon read must finish (20 s limit) and succeed, with the shipped
# rules and without rules, and its records must keep the invariants.
set -u
. "$(dirname "$0")/captures-lib.sh"
artmon=$(cap_artmon) || exit 1
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
rc=0 n=0
for f in "$cap_srcdir"/tests/fuzz/tracker-regressions/*.pcap; do
	[ -f "$f" ] || continue
	for opts in "-c $cap_conf" "--no-rules"; do
		# shellcheck disable=SC2086
		out=$(timeout 20 "$artmon" read -q $opts --records transactions --format json "$f")
		st=$?
		if [ $st = 124 ]; then
			echo "FAIL: $(basename "$f") ($opts): artmon read did not finish in 20 s"; rc=1; continue
		elif [ $st != 0 ]; then
			echo "FAIL: $(basename "$f") ($opts): artmon read exit status $st"; rc=1; continue
		fi
		bad=$(printf '%s\n' "$out" | jq -c 'select(.first_us != null and (.last_us == null or .last_us < .first_us))' | wc -l)
		[ "$bad" -eq 0 ] || { echo "FAIL: $(basename "$f") ($opts): $bad records with first_us but no later last_us"; rc=1; continue; }
		echo "ok: $(basename "$f") ($opts)"
		n=$((n + 1))
	done
done
[ "$n" -gt 0 ] || [ $rc != 0 ] || { echo "FAIL: no regression capture"; rc=1; }
exit $rc
