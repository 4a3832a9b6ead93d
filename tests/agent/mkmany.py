#!/usr/bin/env python3
"""mkmany.py OUT NSERVERS ROUNDS SPACING

Writes a pcap of synthetic HTTP-like exchanges: in each of ROUNDS rounds,
SPACING seconds apart, one client talks once to each of NSERVERS servers
(10.x.y.z:80): handshake, a request, a response, the client's ACK and a
FIN exchange.  Each server's `first` time is known: 100 us plus 1 us per
server number.  Used to load artmond with many keys at once."""
import struct
import sys

out, nsrv, rounds, spacing = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
T0 = 1700000000.0
CLIENT = bytes([192, 168, 0, 1])
MAC_C = b"\x02\x00\x00\x00\x00\x01"
MAC_S = b"\x02\x00\x00\x00\x00\x02"
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = (MAC_S + MAC_C) if src == CLIENT else (MAC_C + MAC_S)
    return eth + b"\x08\x00" + ip + tcp


with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def put(t, data):
        sec = int(t)
        usec = int(round((t - sec) * 1e6))
        if usec >= 1000000:
            sec, usec = sec + 1, usec - 1000000
        f.write(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)

    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    for r in range(rounds):
        base = T0 + r * spacing
        for i in range(nsrv):
            srv = bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])
            cport = 1024 + (r * nsrv + i) % 60000
            t = base + i * (spacing * 0.5 / nsrv)
            first = (100 + i) / 1e6
            c, s = 1000, 5000
            put(t, frame(CLIENT, srv, cport, 80, c, 0, SYN))
            put(t + 20e-6, frame(srv, CLIENT, 80, cport, s, c + 1, SYN | ACK))
            put(t + 40e-6, frame(CLIENT, srv, cport, 80, c + 1, s + 1, ACK))
            put(t + 50e-6, frame(CLIENT, srv, cport, 80, c + 1, s + 1, ACK | PSH, req))
            t2 = t + 50e-6 + first
            put(t2, frame(srv, CLIENT, 80, cport, s + 1, c + 1 + len(req), ACK | PSH, resp))
            put(t2 + 20e-6, frame(CLIENT, srv, cport, 80, c + 1 + len(req), s + 1 + len(resp), ACK))
            put(t2 + 30e-6, frame(CLIENT, srv, cport, 80, c + 1 + len(req), s + 1 + len(resp), ACK | FIN))
            put(t2 + 50e-6, frame(srv, CLIENT, 80, cport, s + 1 + len(resp), c + 2 + len(req), ACK | FIN))
            put(t2 + 70e-6, frame(CLIENT, srv, cport, 80, c + 2 + len(req), s + 2 + len(resp), ACK))
