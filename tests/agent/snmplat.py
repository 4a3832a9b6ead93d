#!/usr/bin/env python3
"""snmplat.py [-n] HOST PORT OID STOPFILE [INTERVAL_MS]

Sends SNMPv2c GET requests (community public) for OID one after the other,
every INTERVAL_MS (default 5), until STOPFILE exists, and prints one line:
  samples N ok N errors N timeouts N p50_ms X p99_ms X max_ms X
Latency is measured from the send to the matching response, without a
client process start in between.  Responses before the first good one
(the subagent not registered yet) are not counted.

With -n, OID is a table column: GETNEXT requests find its first row (once
it exists), and that row is then read with GET."""
import socket
import os
import sys
import time


def ber_len(n):
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + ber_len(len(body)) + body


def ber_int(v):
    return tlv(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def ber_oid(oid):
    parts = [int(x) for x in oid.strip(".").split(".")]
    body = bytes([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(reversed(enc))
    return tlv(0x06, body)


def get_request(reqid, oid, tag=0xA0):
    vb = tlv(0x30, ber_oid(oid) + b"\x05\x00")
    pdu = tlv(tag, ber_int(reqid) + ber_int(0) + ber_int(0) + tlv(0x30, vb))
    return tlv(0x30, ber_int(1) + tlv(0x04, b"public") + pdu)


def oid_str(body):
    parts, v = [], 0
    for b in body:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(v)
            v = 0
    first = parts[0]
    return "." + ".".join(str(x) for x in [min(first // 40, 2), first - 40 * min(first // 40, 2)] + parts[1:])


def parse(buf, pos):
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    return tag, buf[pos:pos + n], pos + n


def response(buf, want_oid=False):
    """(request id, error status, value tag[, name]) of a GetResponse."""
    _, msg, _ = parse(buf, 0)
    _, _, p = parse(msg, 0)          # version
    _, _, p = parse(msg, p)          # community
    tag, pdu, _ = parse(msg, p)
    if tag != 0xA2:
        raise ValueError("not a response")
    _, rid, q = parse(pdu, 0)
    _, err, q = parse(pdu, q)
    _, _, q = parse(pdu, q)
    _, vbl, _ = parse(pdu, q)
    _, vb, _ = parse(vbl, 0)
    _, name, r = parse(vb, 0)
    vtag, _, _ = parse(vb, r)
    out = (int.from_bytes(rid, "big", signed=True), int.from_bytes(err, "big"), vtag)
    return out + (oid_str(name),) if want_oid else out


def first_row(s, host, port, column, stop, every):
    """The OID of the column's first row, once GETNEXT finds one."""
    reqid = 1 << 20
    while not os.path.exists(stop):
        reqid += 1
        s.sendto(get_request(reqid, column, 0xA1), (host, port))
        try:
            while True:
                rid, err, _, name = response(s.recv(65535), True)
                if rid == reqid:
                    break
            if err == 0 and name.startswith(column + "."):
                return name
        except socket.timeout:
            pass
        time.sleep(every)
    return column


def main():
    args = sys.argv[1:]
    discover = args[0] == "-n"
    if discover:
        args = args[1:]
    host, port, oid, stop = args[0], int(args[1]), args[2], args[3]
    every = (float(args[4]) if len(args) > 4 else 5.0) / 1000
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    if discover:
        oid = first_row(s, host, port, oid.rstrip("."), stop, every)
        print("row %s" % oid, file=sys.stderr)
    lat, errors, timeouts, started, reqid = [], 0, 0, False, 1
    while not os.path.exists(stop):
        reqid += 1
        t0 = time.monotonic()
        s.sendto(get_request(reqid, oid), (host, port))
        try:
            while True:
                data = s.recv(65535)
                rid, err, vtag = response(data)
                if rid == reqid:
                    break
        except socket.timeout:
            if started:
                timeouts += 1
            continue
        dt = (time.monotonic() - t0) * 1000
        good = err == 0 and vtag == 0x46      # a Counter64 value
        if not started:
            started = good
            if not good:
                time.sleep(every)
                continue
        if good:
            lat.append(dt)
        else:
            errors += 1
        time.sleep(every)
    lat.sort()

    def q(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else -1

    print("samples %d ok %d errors %d timeouts %d p50_ms %.2f p99_ms %.2f max_ms %.2f" % (
        len(lat) + errors + timeouts, len(lat), errors, timeouts, q(0.50), q(0.99), lat[-1] if lat else -1))


main()
