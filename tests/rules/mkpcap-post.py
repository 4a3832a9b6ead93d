#!/usr/bin/env python3
"""Writes post-split.pcap: one HTTP/1.1 connection to 10.20.1.1:80 in which
a POST's body arrives in a later segment than its headers (with a pause
between them), then a GET under /images/, a health check and a plain GET.
The compat fixture names them POST, GET_images, (ignored) and GET.
Usage: mkpcap-post.py OUT.pcap"""
import struct
import sys

CLI, SRV = bytes([10, 30, 1, 1]), bytes([10, 20, 1, 1])
CPORT, SPORT = 40000, 80


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    c = csum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0x4000,
                     64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + tcp + payload


FIN, SYN, PSH, ACK = 0x01, 0x02, 0x08, 0x10
pkts = []
cseq, sseq = 1000, 5000
t = 1700000000.0


def c2s(dt, flags, data=b""):
    global cseq, t
    t += dt
    pkts.append((t, frame(CLI, SRV, CPORT, SPORT, cseq, sseq, flags, data)))
    cseq += len(data) + (1 if flags & (SYN | FIN) else 0)


def s2c(dt, flags, data=b""):
    global sseq, t
    t += dt
    pkts.append((t, frame(SRV, CLI, SPORT, CPORT, sseq, cseq, flags, data)))
    sseq += len(data) + (1 if flags & (SYN | FIN) else 0)


def exchange(req, resp, think=0.010):
    c2s(0.050, PSH | ACK, req)
    s2c(think, PSH | ACK, resp)
    c2s(0.0001, ACK)


t0 = t
pkts.append((t, frame(CLI, SRV, CPORT, SPORT, cseq, 0, SYN)))
cseq += 1
t += 0.0001
pkts.append((t, frame(SRV, CLI, SPORT, CPORT, sseq, cseq, SYN | ACK)))
sseq += 1
c2s(0.0001, ACK)
# POST: headers, the server's ACK, a pause, then the body
c2s(0.001, PSH | ACK, b"POST /form HTTP/1.1\r\nHost: intranet\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 11\r\n\r\n")
s2c(0.0001, ACK)
c2s(0.040, PSH | ACK, b"hello world")
s2c(0.020, PSH | ACK, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
c2s(0.0001, ACK)
exchange(b"GET /images/logo.png HTTP/1.1\r\nHost: intranet\r\n\r\n",
         b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\x89PNG")
exchange(b"GET /healthz HTTP/1.1\r\nHost: intranet\r\n\r\n",
         b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
exchange(b"GET / HTTP/1.1\r\nHost: intranet\r\n\r\n",
         b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nindex")
c2s(0.050, FIN | ACK)
s2c(0.0001, FIN | ACK)
c2s(0.0001, ACK)

with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for ts, data in pkts:
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
        f.write(data)
