#!/usr/bin/env python3
"""mkseries.py KIND OUT [FIRST LAST]

Writes a pcap of synthetic HTTP exchanges whose `first` times follow a
known schedule over many summary intervals, for the alarm and anomaly
tests.  Each interval of each server gets one keep-alive connection:
handshake, COUNT request/response pairs (the response starts FIRST
microseconds after the request), FIN exchange, all inside the interval.

KIND
  alarm    10-second intervals from T0 = 1700000000 for 10.1.0.1:80 (see
           ALARM below); prints one line per interval: index, count, p90.
  live     the same servers and spacing over 3 intervals only: fast, slow
           (300 ms), fast (for a replay at recorded speed).
  gap      like alarm, but the slow intervals (300 ms) lose part of every
           response (a sequence gap): capture loss above any small bound.
  history  one-hour intervals over 17 days for 10.2.0.1:80 with a daily
           cycle (median 20 ms at night, 40 ms by day); day 15 from 10:00
           to 14:00 UTC: every time x3; day 16 from 10:00 to 14:00: the
           slowest 3% x5 (p99 x5, median unchanged).  Prints the hours of
           the two episodes."""
import math
import random
import struct
import sys

T0 = 1700000000          # a multiple of 10 (history starts at the day before)
CLIENT = bytes([192, 168, 0, 1])
MAC_C = b"\x02\x00\x00\x00\x00\x01"
MAC_S = b"\x02\x00\x00\x00\x00\x02"
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
REQ = b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = (MAC_S + MAC_C) if src == CLIENT else (MAC_C + MAC_S)
    return eth + b"\x08\x00" + ip + tcp


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.cport = 20000

    def put(self, t, data):
        sec = int(t)
        usec = int(round((t - sec) * 1e6))
        if usec >= 1000000:
            sec, usec = sec + 1, usec - 1000000
        self.f.write(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)

    def connection(self, srv, start, span, firsts, gap=False):
        """One keep-alive connection from start, its exchanges spread over
        span seconds; firsts in microseconds.  gap: the capture misses the
        middle of every response (its sequence numbers jump)."""
        self.cport = 20000 + (self.cport - 19999) % 40000
        cp = self.cport
        c, s = 1000, 5000
        t = start
        self.put(t, frame(CLIENT, srv, cp, 80, c, 0, SYN))
        self.put(t + 20e-6, frame(srv, CLIENT, 80, cp, s, c + 1, SYN | ACK))
        self.put(t + 40e-6, frame(CLIENT, srv, cp, 80, c + 1, s + 1, ACK))
        c += 1
        s += 1
        step = span / max(1, len(firsts))
        for i, first in enumerate(firsts):
            tq = start + 100e-6 + i * step
            self.put(tq, frame(CLIENT, srv, cp, 80, c, s, ACK | PSH, REQ))
            c += len(REQ)
            tr = tq + first / 1e6
            if gap:
                # 100 bytes of the response never captured
                self.put(tr, frame(srv, CLIENT, 80, cp, s, c, ACK | PSH, RESP[:20]))
                self.put(tr + 10e-6, frame(srv, CLIENT, 80, cp, s + 120, c, ACK | PSH, RESP[20:]))
                s += 100 + len(RESP)
            else:
                self.put(tr, frame(srv, CLIENT, 80, cp, s, c, ACK | PSH, RESP))
                s += len(RESP)
            self.put(tr + 20e-6, frame(CLIENT, srv, cp, 80, c, s, ACK))
        te = start + span + 200e-6
        self.put(te, frame(CLIENT, srv, cp, 80, c, s, ACK | FIN))
        self.put(te + 20e-6, frame(srv, CLIENT, 80, cp, s, c + 1, ACK | FIN))
        self.put(te + 40e-6, frame(CLIENT, srv, cp, 80, c + 1, s + 1, ACK))


def p90(values):
    v = sorted(values)
    return v[max(0, math.ceil(0.9 * len(v)) - 1)]


# (count, base first in microseconds) per 10-second interval
ALARM = [
    (3, 500000),    # 0: slow but below the minimum count: no alarm
    (20, 20000),    # 1
    (20, 20000),    # 2
    (20, 300000),   # 3: rising
    (20, 300000),   # 4: sustained, nothing
    (3, 10000),     # 5: fast but too few: nothing
    (20, 300000),   # 6: still slow
    (20, 20000),    # 7: falling
    (20, 20000),    # 8
    (20, 20000),    # 9
]


LIVE = [(20, 20000), (20, 300000), (20, 20000)]


def alarm(out, gap=False, plan=ALARM, first=0, last=None):
    w = Writer(out)
    srv = bytes([10, 1, 0, 1])
    for i, (n, base) in enumerate(plan):
        if i < first or (last is not None and i > last):
            continue
        firsts = [base + (k % 10) * base // 100 for k in range(n)]   # base .. base x1.09
        w.connection(srv, T0 + 10 * i + 0.2, 9.0, firsts, gap=gap and base == 300000)
        print(i, n, p90(firsts))


def history(out):
    rnd = random.Random(7)
    w = Writer(out)
    srv = bytes([10, 2, 0, 1])
    day0 = T0 - T0 % 86400
    for day in range(17):
        for hour in range(24):
            start = day0 + day * 86400 + hour * 3600
            # daily cycle: 20 ms at night, up to 40 ms in the afternoon
            med = 20000 * (1.5 - 0.5 * math.cos(2 * math.pi * (hour - 3) / 24))
            firsts = sorted(med * math.exp(rnd.gauss(0, 0.35)) for _ in range(300))
            if day == 15 and 10 <= hour < 14:
                firsts = [f * 3 for f in firsts]
            if day == 16 and 10 <= hour < 14:
                k = len(firsts) * 97 // 100
                firsts = firsts[:k] + [f * 5 for f in firsts[k:]]
            w.connection(srv, start + 60, 3000.0, [int(f) for f in firsts])
    print("shift", day0 + 15 * 86400 + 10 * 3600, "tail", day0 + 16 * 86400 + 10 * 3600)


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    if kind == "alarm":
        if len(sys.argv) > 4:
            alarm(out, first=int(sys.argv[3]), last=int(sys.argv[4]))
        else:
            alarm(out)
    elif kind == "live":
        alarm(out, plan=LIVE)
    elif kind == "gap":
        alarm(out, gap=True)
    elif kind == "history":
        history(out)
    else:
        sys.exit("unknown kind " + kind)
