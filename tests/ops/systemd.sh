#!/bin/sh
# examples/systemd/artmond.service: `systemd-analyze verify` accepts it
# (with the built artmond in ExecStart and the man pages on MANPATH), the
# settings issue 10 asks for are in force according to
# `systemd-analyze security --offline=true`, and the overall exposure is
# the one doc/operations.md documents.  A unit with a misspelt setting is
# refused, so the check can fail.  Needs no systemd running as PID 1.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
fail() { echo "FAIL: $*"; exit 1; }
command -v systemd-analyze >/dev/null 2>&1 || { echo "SKIP: systemd-analyze not installed (package systemd)"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 77; }
ARTMOND=${ARTMOND:-$top_builddir/agent/artmond}
[ -x "$ARTMOND" ] || { echo "SKIP: artmond not built"; exit 77; }
unit="$top_srcdir/examples/systemd/artmond.service"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/artmon-systemd.XXXXXX") || fail mktemp
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

# The unit as installed, but with this build's artmond and man pages.
mkdir -p "$tmp/unit" "$tmp/man/man5" "$tmp/man/man8"
cp "$top_srcdir/doc/artmond.8" "$tmp/man/man8/"
cp "$top_srcdir/doc/artmond.conf.5" "$tmp/man/man5/"
sed -e "s|^ExecStart=/usr/sbin/artmond |ExecStart=$ARTMOND |" "$unit" >"$tmp/unit/artmond.service"
grep -q "^ExecStart=$ARTMOND " "$tmp/unit/artmond.service" || fail "no ExecStart=/usr/sbin/artmond in $unit"

verify() {
	(cd "$1" && MANPATH="$tmp/man" SYSTEMD_LOG_COLOR=0 systemd-analyze verify ./artmond.service) >"$tmp/verify.out" 2>&1
}
verify "$tmp/unit" || fail "systemd-analyze verify: $(cat "$tmp/verify.out")"
# Warnings do not change the exit code: any word about the unit fails.
if grep -q 'artmond' "$tmp/verify.out"; then
	fail "systemd-analyze verify complains: $(cat "$tmp/verify.out")"
fi
echo "# ok: systemd-analyze verify"

# Negative control: a misspelt setting and a missing binary are noticed.
mkdir -p "$tmp/bad"
sed -e 's/^NoNewPrivileges=/NoNewPrivilege=/' -e "s|^ExecStart=$ARTMOND |ExecStart=$tmp/nonexistent |" \
	"$tmp/unit/artmond.service" >"$tmp/bad/artmond.service"
verify "$tmp/bad"
grep -q 'NoNewPrivilege' "$tmp/verify.out" || fail "verify missed a misspelt setting: $(cat "$tmp/verify.out")"
grep -q 'nonexistent' "$tmp/verify.out" || fail "verify missed a missing binary: $(cat "$tmp/verify.out")"
echo "# ok: a broken unit is reported"

# The security assessment, check by check.
(cd "$tmp/unit" && SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=true --no-pager ./artmond.service) \
	>"$tmp/security.out" 2>&1 || fail "systemd-analyze security: $(cat "$tmp/security.out")"
ok() { # ok SETTING-TEXT: the line of this check starts with a tick
	grep -F -- "$1" "$tmp/security.out" | grep -q '^✓' || fail "security check not passed: $1 ($(grep -F -- "$1" "$tmp/security.out"))"
}
for c in 'User=/DynamicUser=' 'NoNewPrivileges=' 'ProtectSystem=' 'PrivateTmp=' 'ProtectHome=' \
	'PrivateDevices=' 'ProtectKernelTunables=' 'ProtectKernelModules=' 'ProtectControlGroups=' \
	'RestrictNamespaces=~user' 'RestrictRealtime=' 'RestrictSUIDSGID=' 'LockPersonality=' \
	'MemoryDenyWriteExecute=' 'SystemCallArchitectures=' 'SystemCallFilter=~@privileged' \
	'SystemCallFilter=~@mount' 'SystemCallFilter=~@module' 'RestrictAddressFamilies=~…' \
	'CapabilityBoundingSet=~CAP_SYS_ADMIN' 'CapabilityBoundingSet=~CAP_SET(UID|GID|PCAP)' \
	'CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)' 'PrivateMounts=' 'UMask='; do
	ok "$c"
done
echo "# ok: every hardening check issue 10 names passes"

# The settings the assessment does not spell out.
for s in 'User=artmon' 'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN' \
	'CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN' 'ReadWritePaths=/var/lib/artmon' \
	'StateDirectory=artmon' 'ExecReload=/bin/kill -HUP $MAINPID' 'Type=simple'; do
	grep -qxF "$s" "$unit" || fail "$unit lacks $s"
done
grep -q '^RestrictAddressFamilies=.*AF_PACKET' "$unit" && grep -q '^RestrictAddressFamilies=.*AF_NETLINK' "$unit" &&
	grep -q '^RestrictAddressFamilies=.*AF_UNIX' "$unit" && grep -q '^RestrictAddressFamilies=.*AF_INET6' "$unit" ||
	fail "RestrictAddressFamilies must allow AF_UNIX AF_INET AF_INET6 AF_PACKET AF_NETLINK"
# -f: artmond stays in the foreground as a Type=simple service must.
grep -q '^ExecStart=[^ ]*artmond -f ' "$unit" || fail "ExecStart does not keep artmond in the foreground (-f)"
echo "# ok: user, capabilities, store path, address families, reload"

# The exposure documented in doc/operations.md is the one measured.
score=$(sed -n 's/.*Overall exposure level for artmond.service: \([0-9.]*\).*/\1/p' "$tmp/security.out")
[ -n "$score" ] || fail "no overall exposure in: $(tail -n 3 "$tmp/security.out")"
doc=$(sed -n 's/.*overall exposure \*\*\([0-9.]*\)\*\*.*/\1/p' "$top_srcdir/doc/operations.md" | head -n 1)
[ "$score" = "$doc" ] || fail "systemd-analyze security gives $score, doc/operations.md documents '$doc'"
python3 -c "import sys; sys.exit(0 if float('$score') <= 2.0 else 1)" || fail "exposure $score above 2.0"
echo "# ok: overall exposure $score as documented"
echo PASS
