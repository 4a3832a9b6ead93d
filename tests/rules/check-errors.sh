#!/bin/sh
# `artmon check` on a file full of mistakes: exit status 1, every error on
# standard error as file:line:column, nothing on standard output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
artmon="$top_builddir/cli/artmon"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
cd "$top_srcdir/tests/rules" || exit 99

"$artmon" check bad.conf > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ "$rc" -ne 1 ]; then
	echo "check-errors: exit status $rc, expected 1" >&2
	cat "$tmp/err" >&2
	exit 1
fi
if [ -s "$tmp/out" ]; then
	echo "check-errors: unexpected output on stdout" >&2
	exit 1
fi
diff -u bad.stderr.expected "$tmp/err" || exit 1

# a good file: exit status 0, quiet mode prints nothing
"$artmon" check -q compat/pastmon.conf > "$tmp/out" 2> /dev/null || {
	echo "check-errors: the compat fixture does not load" >&2; exit 1; }
[ -s "$tmp/out" ] && { echo "check-errors: -q printed something" >&2; exit 1; }
# usage errors
"$artmon" check --bogus > /dev/null 2>&1
[ $? -eq 2 ] || { echo "check-errors: unknown option not a usage error" >&2; exit 1; }
"$artmon" check --help | grep -q '^usage: artmon check' || exit 1
exit 0
