#!/usr/bin/env python3
"""Writes a small Ethernet pcap of HTTP on 192.0.2.10:80 (tests/ops): OK
transactions with known response times, and requests the server answers
with a TCP reset (errors).  Usage: mkerrors.py OUT.pcap OK RESETS"""
import struct
import sys

T0 = 1700000000  # a multiple of 10 and 60: the capture fits one interval


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + ip + tcp


def main():
    out, n_ok, n_rst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cli, srv = bytes([198, 51, 100, 7]), bytes([192, 0, 2, 10])
    pkts = []
    t = T0 + 0.5
    F, S, R, P, A = 0x01, 0x02, 0x04, 0x08, 0x10
    for i in range(n_ok + n_rst):
        port = 40000 + i
        cs, ss = 1000 * (i + 1), 500000 * (i + 1)
        req = b"GET /item HTTP/1.1\r\nHost: example\r\n\r\n"
        up = lambda seq, ack, fl, pl=b"": frame(cli, srv, port, 80, seq, ack, fl, pl)
        down = lambda seq, ack, fl, pl=b"": frame(srv, cli, 80, port, seq, ack, fl, pl)
        pkts.append((t, up(cs, 0, S)))
        pkts.append((t + 0.0002, down(ss, cs + 1, S | A)))
        pkts.append((t + 0.0004, up(cs + 1, ss + 1, A)))
        pkts.append((t + 0.0010, up(cs + 1, ss + 1, P | A, req)))
        c2 = cs + 1 + len(req)
        if i < n_ok:
            body = b"ok"
            resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" + body
            rt = 0.002 * (i + 1)  # response times 2 ms, 4 ms, ...
            pkts.append((t + 0.0010 + rt, down(ss + 1, c2, P | A, resp)))
            s2 = ss + 1 + len(resp)
            pkts.append((t + 0.0012 + rt, up(c2, s2, A)))
            pkts.append((t + 0.0020 + rt, up(c2, s2, F | A)))
            pkts.append((t + 0.0022 + rt, down(s2, c2 + 1, F | A)))
            pkts.append((t + 0.0024 + rt, up(c2 + 1, s2 + 1, A)))
        else:
            pkts.append((t + 0.0030, down(ss + 1, c2, R | A)))
        t += 0.2
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in sorted(pkts, key=lambda p: p[0]):
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)


main()
