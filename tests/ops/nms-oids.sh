#!/bin/sh
# Every OID the Cacti data queries (examples/cacti/*.xml) and the LibreNMS
# definitions (examples/librenms/artmon.yaml and the custom OIDs of the
# READMEs) reference, walked against a private snmpd + artmond replaying
# captures of IPv4 and IPv6 servers: each names the MIB object its field
# says, each answers for every row of its table, index parsing yields the
# rows' indexes.
set -u
. "$top_srcdir/tests/agent/lib.sh"
agent_setup
agent_require artmond stdmibs snmpwalk snmptranslate
python3 -c 'import yaml, xml.etree.ElementTree' 2>/dev/null || am_skip "python3-yaml missing"
cap="$top_srcdir/tests/captures/http-nginx.pcap"
[ -f "$cap" ] || am_skip "no $cap"
python3 "$top_srcdir/tests/ops/mkerrors.py" "$AM_TMP/errors.pcap" 5 3 || am_fail "mkerrors.py"

snmpd_start
# The errors capture (192.0.2.10:80, the examples' server) is older: first.
artmond_start -c "$top_srcdir/rules/conf/artmon.conf" -r "$AM_TMP/errors.pcap" -r "$cap" --interval 10
artmond_wait_registered
replay_finished() { [ "$(snmpget_q ARTMON-MIB::artmonCaptureState.2)" = finished ]; }
wait_until 20 replay_finished || am_fail "the replay did not finish"

AGENT="127.0.0.1:$SNMPD_PORT" MIBDIRS_ARG="$AM_MIBDIRS" EXAMPLES="$top_srcdir/examples" python3 - <<'PY' || am_fail "see above"
import os, re, subprocess, sys
import xml.etree.ElementTree as ET
import yaml

agent, mibdirs, ex = os.environ["AGENT"], os.environ["MIBDIRS_ARG"], os.environ["EXAMPLES"]
failures = []

def fail(msg):
    print("FAIL: " + msg)
    failures.append(msg)

def run(*args):
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout

def walk(oid):
    """{full numeric oid: value} under oid (Net-SNMP, numeric, bare values)."""
    out = run("snmpwalk", "-v2c", "-c", "public", "-r", "1", "-t", "2", "-On", "-OQ", "-Ot", "-Oe", agent, oid)
    rows = {}
    for line in out.splitlines():
        if " = " not in line:
            continue
        k, v = line.split(" = ", 1)
        if not k.startswith(oid + "."):
            continue
        rows[k] = v.strip().strip('"')
    return rows

def get(oid):
    out = run("snmpget", "-v2c", "-c", "public", "-r", "1", "-t", "2", "-On", "-OQ", "-Ot", "-Oe", agent, oid)
    if " = " not in out:
        return None
    v = out.split(" = ", 1)[1].strip()
    return None if "No Such" in v else v

def num(name):
    return run("snmptranslate", "-M", mibdirs, "-m", "ARTMON-MIB", "-On", "ARTMON-MIB::" + name).strip()

def name_of(oid):
    return run("snmptranslate", "-M", mibdirs, "-m", "ARTMON-MIB", oid).strip()

def cacti_regexp(src):
    assert src.startswith("OID/REGEXP:"), src
    return re.compile(src[len("OID/REGEXP:"):])

# ------------------------------------------------------------ Cacti
for fname in ("artmon_servers.xml", "artmon_signatures.xml"):
    root = ET.parse(os.path.join(ex, "cacti", fname)).getroot()
    oid_index = root.findtext("oid_index")
    parse = cacti_regexp(root.findtext("oid_index_parse"))
    index_rows = walk(oid_index)
    indexes = set()
    for k in index_rows:
        m = parse.match(k)
        if not m:
            fail("%s: oid_index_parse does not match %s" % (fname, k))
            continue
        indexes.add(m.group(1))
    if len(indexes) < 3:
        fail("%s: only %d rows under %s" % (fname, len(indexes), oid_index))
        continue
    fields = list(root.find("fields"))
    order = root.findtext("index_order").split(":")
    tags = [f.tag for f in fields]
    for o in order:
        if o not in tags:
            fail("%s: index_order names %s, not a field" % (fname, o))
    n_out = 0
    for f in fields:
        oid, src, direction = f.findtext("oid"), f.findtext("source"), f.findtext("direction")
        if f.findtext("method") != "walk" or direction not in ("input", "output"):
            fail("%s: %s: method %s direction %s" % (fname, f.tag, f.findtext("method"), direction))
        rows = walk(oid)
        if src == "value":
            want = num(f.tag)
            if want != oid:
                fail("%s: field %s has OID %s, ARTMON-MIB::%s is %s" % (fname, f.tag, oid, f.tag, want))
            got = {k[len(oid) + 1:] for k in rows}
            if got != indexes:
                fail("%s: %s answers for %d rows, the table has %d" % (fname, f.tag, len(got), len(indexes)))
            if direction == "output":
                n_out += 1
                bad = [v for v in rows.values() if not v.isdigit()]
                if bad:
                    fail("%s: %s has non-numeric values %s" % (fname, f.tag, bad[:3]))
        else:
            r = cacti_regexp(src)
            got = {r.match(k).group(1) for k in rows if r.match(k)}
            if got != indexes:
                fail("%s: %s parses %s, expected %s" % (fname, f.tag, sorted(got), sorted(indexes)))
    print("# ok: %s: %d rows, %d fields (%d outputs) answer for every row" % (fname, len(indexes), len(fields), n_out))

# ------------------------------------------------------------ LibreNMS YAML
doc = yaml.safe_load(open(os.path.join(ex, "librenms", "artmon.yaml")))
if doc.get("mib") != "ARTMON-MIB":
    fail("artmon.yaml: mib is %r" % doc.get("mib"))
n = 0
for cls, spec in doc["modules"]["sensors"].items():
    for d in spec["data"]:
        n += 1
        table, value = num(d["oid"]), num(d["value"])
        if not table or not value.startswith(table + ".1."):
            fail("librenms %s: %s (%s) is not a column of %s (%s)" % (cls, d["value"], value, d["oid"], table))
            continue
        tmpl = d["num_oid"]
        if tmpl != value + ".{{ $index }}":
            fail("librenms %s: num_oid %s is not %s.{{ $index }} (%s)" % (cls, tmpl, value, d["value"]))
        rows = walk(value)
        idx = [k[len(value) + 1:] for k in rows]
        if not idx:
            fail("librenms %s: no rows for %s" % (cls, d["value"]))
            continue
        refs = re.findall(r"\{\{ \$(\w+) \}\}", d["descr"] + d["index"])
        for ref in refs:
            if ref == "index":
                continue
            col = num(ref)
            if not col.startswith(table + ".1."):
                fail("librenms %s: descr names %s, not a column of %s" % (cls, ref, d["oid"]))
            elif {k[len(col) + 1:] for k in walk(col)} != set(idx):
                fail("librenms %s: %s does not answer for every row" % (cls, ref))
        for i in idx:
            v = get(tmpl.replace("{{ $index }}", i))
            if v is None or not v.isdigit():
                fail("librenms %s: %s for row %s gives %r" % (cls, d["value"], i, v))
        print("# ok: librenms %s %s: %d rows" % (cls, d["value"], len(idx)))
print("# ok: librenms: %d sensor definitions" % n)

# ------------------------------------------------------------ numeric OIDs in the notes
for notes in ("librenms/README.md", "cacti/README.md", "NMS-NOTES.md"):
    text = open(os.path.join(ex, notes)).read()
    oids = sorted(set(re.findall(r"\.?1\.3\.6\.1\.4\.1\.32473(?:\.\d+)+", text)))
    for o in oids:
        o = "." + o.lstrip(".")
        v = get(o)
        nm = name_of(o)
        if v is None:
            fail("%s: %s (%s) does not answer" % (notes, o, nm))
        else:
            print("# ok: %s: %s = %s" % (notes, nm, v))

sys.exit(1 if failures else 0)
PY
echo PASS
