#!/bin/sh
# `artmon read -c` with the compatibility fixture on a capture whose POST
# body arrives in a later segment than its headers (post-split.pcap, made by
# mkpcap-post.py): the POST is one request of both segments, named POST, with
# its think time counted from the end of the body; the GET under /images/ is
# named by its $1; the health check is ignored; nothing falls to (other).
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
artmon="$top_builddir/cli/artmon"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
cd "$top_srcdir/tests/rules" || exit 99

"$artmon" read -q -F csv -c compat/pastmon.conf post-split.pcap > "$tmp/out" 2> "$tmp/err" || {
	echo "read-compat: artmon read failed" >&2; cat "$tmp/err" >&2; exit 1; }
# signature,req_bytes,req_pkts,think_us,outcome whatever the column order
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	{ print $col["signature"] "," $col["req_bytes"] "," $col["req_pkts"] "," \
	  $col["think_us"] "," $col["outcome"] }' "$tmp/out" > "$tmp/got"
cat > "$tmp/want" <<'END'
POST,96,2,20000,complete
GET_images,49,1,10000,complete
GET,34,1,10000,complete
END
diff -u "$tmp/want" "$tmp/got" || exit 1
exit 0
