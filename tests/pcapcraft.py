"""pcapcraft.py: hostile captures, in stdlib Python, for the bounds tests.

    w = PcapWriter(path)
    c = Conn(w, "10.0.0.9", 40000, "10.0.0.1", 80)
    c.handshake(t)
    t = c.send(C2S, b"GET / HTTP/1.1\\r\\n\\r\\n", t)
    w.udp(t, "10.0.0.9", 5353, "10.0.0.1", 53, payload)
    w.close()

Frames are Ethernet II / IPv4 / TCP or UDP with zero checksums (the sensor
does not verify them, as captures taken on the sending host carry
offloaded ones).  Times are microseconds; the file is a classic pcap.
frames(path) reads one back (for replaying it on an interface).
"""
import socket
import struct

C2S, S2C = 0, 1
SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08
MSS = 1448


def ipv4(addr):
    return socket.inet_aton(addr)


class PcapWriter:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.count = 0

    def frame(self, t_us, data):
        self.f.write(struct.pack("<IIII", t_us // 1000000, t_us % 1000000,
                                 len(data), len(data)))
        self.f.write(data)
        self.count += 1

    def _ip(self, t_us, src, dst, proto, l4):
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000,
                         64, proto, 0, ipv4(src), ipv4(dst))
        eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
        self.frame(t_us, eth + ip + l4)

    def tcp(self, t_us, src, sport, dst, dport, seq, ack, flags, payload=b"",
            window=65535, opts=b""):
        off = (20 + len(opts)) // 4
        hdr = struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                          ack & 0xFFFFFFFF, off << 4, flags, window, 0, 0)
        self._ip(t_us, src, dst, 6, hdr + opts + payload)

    def udp(self, t_us, src, sport, dst, dport, payload):
        hdr = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0)
        self._ip(t_us, src, dst, 17, hdr + payload)

    def close(self):
        self.f.close()


class Conn:
    """A TCP connection whose sequence numbers are kept for you."""

    def __init__(self, w, cli, cport, srv, sport, isn=(1000, 500000)):
        self.w = w
        self.ends = [(cli, cport), (srv, sport)]
        self.seq = [isn[0], isn[1]]

    def _send(self, d, t, flags, payload=b"", seq=None, opts=b""):
        (src, sp), (dst, dp) = self.ends[d], self.ends[1 - d]
        s = self.seq[d] if seq is None else seq
        ack = self.seq[1 - d] if flags & ACK else 0
        self.w.tcp(t, src, sp, dst, dp, s, ack, flags, payload, opts=opts)

    def handshake(self, t, rtt=100):
        opts = struct.pack(">BBH", 2, 4, MSS) + b"\x01\x03\x03\x07"
        self._send(C2S, t, SYN, opts=opts)
        self.seq[C2S] += 1
        self._send(S2C, t + rtt, SYN | ACK, opts=opts)
        self.seq[S2C] += 1
        self._send(C2S, t + 2 * rtt, ACK)
        return t + 2 * rtt

    def send(self, d, data, t, step=10, ack=True):
        """data from d in MSS-sized segments, each acknowledged by the peer
        (unless ack=False); returns the time after the last."""
        for i in range(0, len(data), MSS):
            seg = data[i:i + MSS]
            self._send(d, t, ACK | PSH, seg)
            self.seq[d] += len(seg)
            t += step
            if ack:
                self._send(1 - d, t, ACK)
                t += step
        return t

    def skip(self, d, n):
        """n bytes of d's stream the capture never saw."""
        self.seq[d] += n

    def ack(self, d, t):
        self._send(d, t, ACK)

    def fin(self, d, t):
        self._send(d, t, FIN | ACK)
        self.seq[d] += 1


def frames(path):
    """The frames of a classic pcap file (microseconds, any endianness)."""
    with open(path, "rb") as f:
        data = f.read()
    end = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off = 24
    while off + 16 <= len(data):
        _s, _u, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        yield data[off:off + incl]
        off += incl


def replay(iface, paths):
    """Send every frame of every capture out of iface (AF_PACKET, root)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    sent = 0
    for p in paths:
        for fr in frames(p):
            while True:
                try:
                    s.send(fr)
                    break
                except BlockingIOError:
                    pass
                except OSError as e:        # ENOBUFS: the queue is full
                    if e.errno != 105:
                        raise
            sent += 1
    s.close()
    return sent


if __name__ == "__main__":
    import sys
    # python3 pcapcraft.py replay IFACE PCAP...
    if len(sys.argv) >= 4 and sys.argv[1] == "replay":
        print(replay(sys.argv[2], sys.argv[3:]))
    else:
        sys.exit("usage: pcapcraft.py replay IFACE PCAP...")
