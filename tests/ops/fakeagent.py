#!/usr/bin/env python3
"""A hostile SNMPv2c agent for tests/ops/mrtg-cfg-robust.sh: answers every
request with the same request id and ARTMON-MIB-like varbinds, then damages
the answer in one of several ways chosen by a seeded generator (truncation,
flipped bytes, wrong lengths, odd indexes, OIDs that go backwards, wrong
types, huge sub-identifiers, varbind lists longer than asked).
Usage: fakeagent.py PORTFILE SEED"""
import random
import socket
import sys

ART = [1, 3, 6, 1, 4, 1, 32473, 1]


def enc_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + enc_len(len(content)) + content


def enc_int(v, tag=0x02):
    n = max(1, (v.bit_length() + 8) // 8)
    return tlv(tag, v.to_bytes(n, "big", signed=(tag == 0x02)))


def enc_oid(o):
    out = bytearray([o[0] * 40 + o[1]])
    for x in o[2:]:
        parts = [x & 0x7F]
        x >>= 7
        while x:
            parts.append(0x80 | (x & 0x7F))
            x >>= 7
        out += bytes(reversed(parts))
    return tlv(0x06, bytes(out))


def dec(buf, pos):
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    return tag, buf[pos:pos + n], pos + n


def parse_request(data):
    _, msg, _ = dec(data, 0)
    _, _, p = dec(msg, 0)          # version
    _, _, p = dec(msg, p)          # community
    ptype, pdu, _ = dec(msg, p)
    _, rid, q = dec(pdu, 0)
    _, _, q = dec(pdu, q)
    _, _, q = dec(pdu, q)
    _, vbl, _ = dec(pdu, q)
    oids = []
    p = 0
    while p < len(vbl):
        _, vb, p = dec(vbl, p)
        _, o, _ = dec(vb, 0)
        arcs = [o[0] // 40, o[0] % 40]
        x = 0
        for b in o[1:]:
            x = (x << 7) | (b & 0x7F)
            if not b & 0x80:
                arcs.append(x)
                x = 0
        oids.append(arcs)
    return ptype, int.from_bytes(rid, "big", signed=True), oids


def response(rid, varbinds, err=0):
    vbl = b"".join(tlv(0x30, enc_oid(o) + v) for o, v in varbinds)
    pdu = enc_int(rid) + enc_int(err) + enc_int(0) + tlv(0x30, vbl)
    return tlv(0x30, enc_int(1) + tlv(0x04, b"public") + tlv(0xA2, pdu))


def main():
    rng = random.Random(int(sys.argv[2]))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    while True:
        data, peer = s.recvfrom(65535)
        try:
            ptype, rid, oids = parse_request(data)
        except Exception:
            continue
        if ptype == 0xA0:      # GET: sensor name and interval
            vbs = [(oids[0], tlv(0x04, b"fake<&>\n" * rng.randint(0, 60))),
                   (oids[1] if len(oids) > 1 else oids[0], enc_int(rng.choice([0, 10, 300, 86400, 2**32 - 1]), 0x42))]
        else:                  # GETBULK under a column
            req = oids[0]
            col = req[:len(ART) + 3]
            vbs = []
            for _ in range(rng.randint(0, 30)):
                kind = rng.random()
                if kind < 0.5:
                    t, ln = rng.choice([(1, 4), (2, 16)])
                    idx = [t, ln] + [rng.randint(0, 255) for _ in range(ln)] + [rng.randint(0, 65535)]
                    if rng.random() < 0.5:
                        idx.append(rng.randint(0, 2**32 - 1))
                elif kind < 0.7:
                    idx = [rng.randint(0, 2**32 - 1) for _ in range(rng.randint(0, 40))]
                elif kind < 0.8:
                    idx = [1, 4, 300, 2, 3, 4, 80]
                else:
                    idx = [2, 16] + [rng.randint(0, 255) for _ in range(rng.randint(0, 20))]
                val = rng.choice([tlv(0x04, bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 300)))),
                                  tlv(0x04, b"GET /<b>&\n\x7f"), enc_int(rng.randint(0, 2**31)),
                                  b"\x80\x00", b"\x82\x00", b"\x05\x00",
                                  enc_int(rng.randint(0, 2**64 - 1), 0x46)])
                vbs.append((col + idx, val))
            if rng.random() < 0.8:
                # Mostly in order and past the request, as a walk expects.
                vbs = sorted((o, v) for o, v in vbs if o > req)
            if rng.random() < 0.6:
                vbs.append((col[:-1] + [col[-1] + 1, 1, 4, 1, 2, 3, 4, 80], enc_int(5, 0x42)))
            elif rng.random() < 0.2:
                vbs.append((ART[:6] + [99], b"\x82\x00"))
        pkt = bytearray(response(rid, vbs, err=1 if rng.random() < 0.03 else 0))
        mode = rng.random()
        if mode < 0.6:
            pass
        elif mode < 0.75:
            pkt = pkt[:rng.randint(0, len(pkt))]
        elif mode < 0.9:
            for _ in range(rng.randint(1, 8)):
                pkt[rng.randrange(len(pkt))] = rng.randint(0, 255)
        else:
            pos = rng.randrange(len(pkt))
            pkt[pos:pos] = bytes([0x84, 0xFF, 0xFF, 0xFF, 0xFF])
        s.sendto(bytes(pkt), peer)


main()
