#!/usr/bin/env python3
"""make-concurrent-pcap.py: a capture with N connections open at once.

Each connection does what an idle keep-alive HTTP client leaves behind:
SYN, SYN/ACK, ACK, one GET, its 200 response, the client's ACK, and then
nothing: no FIN.  Connections start evenly over --span seconds (shorter
than the sensor's TCP idle timeout, 300 s by default), so when the last one
opens, all N are in the flow table at once.  The point is the sensor's
memory with N concurrent flows, each with its HTTP plugin state.

With --distinct-urls each connection asks for its own URL (/u/<n>), and
with --close it ends with FIN from both sides: over a long --span that
is a steady stream of short connections and ever new transaction names,
which is what the name cap and the summary row cap must hold flat
(bench/sensor-memory-flat.sh).

Usage: make-concurrent-pcap.py OUT.pcap [--flows 1000000] [--span 120]
                               [--distinct-urls] [--close]
Addresses: clients 10.x.y.z (distinct per flow), server 10.255.255.254:80.
Stdlib only; classic pcap, Ethernet, microsecond timestamps.
"""
import argparse
import struct
import sys

REQ = b"GET /idle HTTP/1.1\r\nHost: bench\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
SERVER = bytes([10, 255, 255, 254])
ETH = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(src, dst, sport, dport, seq, ack, flags, payload, opts=b""):
    off = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags,
                      65535, 0, 0) + opts + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64,
                     6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ETH + ip + tcp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--flows", type=int, default=1000000)
    ap.add_argument("--span", type=float, default=120.0)
    ap.add_argument("--start", type=int, default=1700000000)
    ap.add_argument("--distinct-urls", action="store_true")
    ap.add_argument("--close", action="store_true")
    a = ap.parse_args()
    syn_opts = bytes([2, 4, 5, 0xb4, 1, 3, 3, 7])
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        step = a.span / a.flows
        for i in range(a.flows):
            cli = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
            cport = 10000 + (i % 50000)
            t = a.start * 1000000 + int(i * step * 1e6)
            c, s = 1000, 5000
            req = b"GET /u/%d HTTP/1.1\r\nHost: bench\r\n\r\n" % i if a.distinct_urls else REQ
            pk = [
                (0, packet(cli, SERVER, cport, 80, c, 0, 0x02, b"", syn_opts)),
                (10, packet(SERVER, cli, 80, cport, s, c + 1, 0x12, b"", syn_opts)),
                (20, packet(cli, SERVER, cport, 80, c + 1, s + 1, 0x10, b"")),
                (30, packet(cli, SERVER, cport, 80, c + 1, s + 1, 0x18, req)),
                (70, packet(SERVER, cli, 80, cport, s + 1, c + 1 + len(req), 0x18, RESP)),
                (90, packet(cli, SERVER, cport, 80, c + 1 + len(req), s + 1 + len(RESP), 0x10, b"")),
            ]
            if a.close:
                cs, ss = c + 1 + len(req), s + 1 + len(RESP)
                pk += [
                    (100, packet(cli, SERVER, cport, 80, cs, ss, 0x11, b"")),
                    (110, packet(SERVER, cli, 80, cport, ss, cs + 1, 0x11, b"")),
                    (120, packet(cli, SERVER, cport, 80, cs + 1, ss + 1, 0x10, b"")),
                ]
            for dt, p in pk:
                us = t + dt
                f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(p), len(p)))
                f.write(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
