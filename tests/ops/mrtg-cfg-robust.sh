#!/bin/sh
# artmon mrtg-cfg against a hostile agent (tests/ops/fakeagent.py: damaged,
# truncated, out-of-order and oddly indexed answers, names with markup and
# line breaks): every run ends in time with status 0 or 1, never a crash or
# a sanitizer report, and whatever it writes is a configuration that
# `mrtg --check` accepts, line by line of the expected shapes.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
fail() { echo "FAIL: $*"; exit 1; }
ARTMON=${ARTMON:-$top_builddir/cli/artmon}
[ -x "$ARTMON" ] || { echo "SKIP: artmon not built"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/artmon-mrtgrobust.XXXXXX") || fail mktemp
agent=""
trap '[ -n "$agent" ] && kill "$agent" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
have_mrtg=0
command -v mrtg >/dev/null 2>&1 && have_mrtg=1

runs=0
written=0
checked=0
for seed in 1 2 3; do
	rm -f "$tmp/port"
	python3 "$top_srcdir/tests/ops/fakeagent.py" "$tmp/port" "$seed" &
	agent=$!
	i=0
	while [ ! -s "$tmp/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$tmp/port" ] || fail "fake agent did not start"
	port=$(cat "$tmp/port")
	n=0
	while [ $n -lt 12 ]; do
		timeout 30 "$ARTMON" mrtg-cfg -t 1 -r 0 -w "$tmp/w" "127.0.0.1:$port" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		runs=$((runs + 1))
		case $rc in 0 | 1) ;; *) fail "seed $seed run $n: status $rc: $(cat "$tmp/err")" ;; esac
		if grep -Eq 'Sanitizer|runtime error|LeakSanitizer' "$tmp/err"; then
			fail "seed $seed run $n: $(cat "$tmp/err")"
		fi
		if [ $rc = 0 ]; then
			written=$((written + 1))
			bad=$(grep -Ev '^$|^#|^[A-Za-z0-9]+(\[[a-z0-9._-]+\])?: |^ <p>' "$tmp/out" | head -n 3)
			[ -z "$bad" ] || fail "seed $seed run $n: unexpected lines: $bad"
			if [ $have_mrtg = 1 ] && grep -q '^Target' "$tmp/out"; then
				mkdir -p "$tmp/w"
				env LANG=C LC_ALL=C mrtg --check "$tmp/out" >"$tmp/check" 2>&1 ||
					fail "seed $seed run $n: mrtg --check: $(cat "$tmp/check")"
				checked=$((checked + 1))
			fi
		elif [ -s "$tmp/out" ]; then
			fail "seed $seed run $n: status 1 but output written"
		fi
		n=$((n + 1))
	done
	kill "$agent" 2>/dev/null
	wait "$agent" 2>/dev/null
	agent=""
done
[ "$written" -gt 0 ] || fail "no run got through to a configuration: the fake agent is too hostile to test the writer"
echo "# ok: $runs runs against a hostile agent, $written configurations written, $checked with targets accepted by mrtg --check"
echo PASS
