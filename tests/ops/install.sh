#!/bin/sh
# `make install DESTDIR=...` puts every file where the configured
# directories say (issue 10): artmond in sbindir, artmon in bindir, the MIB
# in mibdir, the default configuration and the shipped rules in
# sysconfdir/artmon, the man pages and the MIB guide; nothing else.
# `make uninstall` removes them again.  The installed programs run.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
MAKE=${MAKE:-make}
fail() { echo "FAIL: $*"; exit 1; }
[ -f "$top_builddir/Makefile" ] || { echo "SKIP: no configured build in $top_builddir"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/artmon-install.XXXXXX") || fail mktemp
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

# The configured directories, as make expands them.
cat >"$tmp/print.mk" <<'MK'
ops-print-dirs:
	@echo "prefix='$(prefix)'"
	@echo "bindir='$(bindir)'"
	@echo "sbindir='$(sbindir)'"
	@echo "sysconfdir='$(sysconfdir)'"
	@echo "mibdir='$(mibdir)'"
	@echo "mandir='$(mandir)'"
	@echo "docdir='$(docdir)'"
	@echo "with_snmp='$(if $(NETSNMP_LIBS),yes)'"
MK
# print_dirs [VAR=VALUE...]: the directories as make expands them (only
# the name='value' lines: a parent make may add its own messages).
print_dirs() {
	$MAKE -s --no-print-directory -C "$top_builddir/mibs" -f Makefile -f "$tmp/print.mk" ops-print-dirs "$@" \
		2>/dev/null | grep "^[a-z_]*='[^']*'\$"
}
print_dirs >"$tmp/dirs" || fail "cannot read the configured directories"
. "$tmp/dirs"
echo "# sbindir=$sbindir sysconfdir=$sysconfdir mibdir=$mibdir"

dest="$tmp/dest"
$MAKE -C "$top_builddir" install DESTDIR="$dest" >"$tmp/install.log" 2>&1 ||
	{ tail -n 30 "$tmp/install.log"; fail "make install DESTDIR=$dest"; }

with_snmp=${with_snmp:-}
{
	echo "$bindir/artmon"
	[ -n "$with_snmp" ] && echo "$sbindir/artmond"
	echo "$mibdir/ARTMON-MIB.txt"
	for f in "$top_srcdir"/rules/conf/*.conf; do
		echo "$sysconfdir/artmon/${f##*/}"
	done
	echo "$mandir/man1/artmon.1"
	echo "$mandir/man5/artmond.conf.5"
	echo "$mandir/man8/artmond.8"
	echo "$docdir/mib.md"
	echo "$docdir/operations.md"
} | sort >"$tmp/expected"
# Other documents may be added to docdir (with the plots of
# validation.md); everything else must be listed.
(cd "$dest" && find . ! -type d | sed 's|^\.||') | sort >"$tmp/actual"
missing=$(comm -23 "$tmp/expected" "$tmp/actual")
[ -z "$missing" ] || fail "not installed: $missing"
extra=$(comm -13 "$tmp/expected" "$tmp/actual" | grep -v -e "^$docdir/[^/]*\.md\$" -e "^$docdir/validation/[^/]*\.png\$")
[ -z "$extra" ] || fail "installed but not expected: $extra"
echo "# ok: $(wc -l <"$tmp/actual") files installed"

# Every shipped rule file and the MIB arrive unchanged.
for f in "$top_srcdir"/rules/conf/*.conf; do
	cmp -s "$f" "$dest$sysconfdir/artmon/${f##*/}" || fail "${f##*/} differs once installed"
done
cmp -s "$top_srcdir/mibs/ARTMON-MIB.txt" "$dest$mibdir/ARTMON-MIB.txt" || fail "MIB differs once installed"
# Man pages are complete roff documents.
for m in man1/artmon.1 man5/artmond.conf.5 man8/artmond.8; do
	head -n 20 "$dest$mandir/$m" | grep -q '^\.TH ' || fail "$m has no .TH"
done

# The installed programs run, and the installed configuration loads.
"$dest$bindir/artmon" --version | grep -q '^artmon ' || fail "installed artmon does not run"
(cd "$dest$sysconfdir/artmon" && "$dest$bindir/artmon" check "$dest$sysconfdir/artmon/artmon.conf") \
	>"$tmp/check.out" 2>&1 || fail "artmon check on the installed configuration: $(cat "$tmp/check.out")"
if [ -n "$with_snmp" ]; then
	"$dest$sbindir/artmond" --help 2>&1 | grep -q '^usage: artmond' || fail "installed artmond does not run"
fi
echo "# ok: installed artmon and artmond run; artmon check accepts the installed artmon.conf"

$MAKE -C "$top_builddir" uninstall DESTDIR="$dest" >"$tmp/uninstall.log" 2>&1 ||
	{ tail -n 30 "$tmp/uninstall.log"; fail "make uninstall"; }
left=$(cd "$dest" && find . ! -type d)
[ -z "$left" ] || fail "left after make uninstall: $left"
echo "# ok: make uninstall removes every file"

# prefix given to make install moves everything that follows it.
$MAKE -C "$top_builddir" install DESTDIR="$dest" prefix=/opt/artmon-prefix-test >"$tmp/install2.log" 2>&1 ||
	{ tail -n 30 "$tmp/install2.log"; fail "make install prefix=/opt/artmon-prefix-test"; }
# Where make says the files go with that prefix (a directory configured
# as an absolute path, e.g. --with-mibdir=/usr/share/snmp/mibs, stays).
(
	print_dirs prefix=/opt/artmon-prefix-test >"$tmp/dirs2" || fail "cannot read the directories for prefix=..."
	. "$tmp/dirs2"
	[ "$bindir" = /opt/artmon-prefix-test/bin ] || fail "bindir does not follow prefix: $bindir"
	for f in "$bindir/artmon" "$sysconfdir/artmon/artmon.conf" "$mandir/man8/artmond.8" "$mibdir/ARTMON-MIB.txt"; do
		[ -f "$dest$f" ] || fail "prefix=/opt/artmon-prefix-test: no $f"
	done
) || exit 1
echo "# ok: make install prefix=... honoured"
echo PASS
