#!/bin/sh
# Compatibility: the fixture restating every construct of the PasTmon
# language loads, and `artmon check` lists exactly the expected rules,
# transactions, merges and warnings.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
artmon="$top_builddir/cli/artmon"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
cd "$top_srcdir/tests/rules" || exit 99

"$artmon" check compat/pastmon.conf > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "compat: artmon check failed with status $rc" >&2
	cat "$tmp/err" >&2
	exit 1
fi
diff -u compat.expected "$tmp/out" || exit 1
diff -u compat.stderr.expected "$tmp/err" || exit 1

# the shipped rule sets load without a warning
"$artmon" check "$top_srcdir/rules/conf/artmon.conf" > "$tmp/out" 2> "$tmp/err" || {
	cat "$tmp/err" >&2; exit 1; }
[ -s "$tmp/err" ] && { echo "compat: warnings from the shipped rules" >&2; cat "$tmp/err" >&2; exit 1; }
grep -q '^generic: 13 rules$' "$tmp/out" || { echo "compat: shipped rule count changed" >&2; exit 1; }
exit 0
