#!/usr/bin/env python3
"""pcapng_precision.py: pcapng input, and nanosecond timestamps kept.

Rewrites a corpus capture (classic pcap, microseconds) as pcapng twice:
once with microsecond resolution, once with nanosecond resolution where
every packet is shifted by a known number of nanoseconds (a different odd
number per packet).  The sensor must give, for the first, exactly the
transactions of the original; for the second, the same transactions with
every time carrying the nanosecond shift: start keeps 9 decimals, and each
duration differs from the microsecond run by exactly the difference of the
shifts of the packets it spans.  Prints TAP.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

BUILD = os.environ.get("ARTMON_BUILDDIR", ".")
SHARED = os.environ.get("ARTMON_SHARED", "../shared")
SENSOR = os.path.join(BUILD, "sensor", "artmon-sensor")
PCAP = os.path.join(SHARED, "corpus", "mixed.pcap")

n = 0
failed = 0


def ok(cond, what, diag=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what))
    if not cond:
        failed += 1
        for line in diag.splitlines()[:30]:
            print("#   " + line)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack("<I", data[:4])
    assert magic == 0xA1B2C3D4, "expected a little-endian microsecond pcap"
    linktype, = struct.unpack("<I", data[20:24])
    off, pkts = 24, []
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack("<IIII", data[off:off + 16])
        pkts.append((sec * 1000000 + usec, wirelen, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return linktype, pkts


def block(btype, body):
    pad = (-len(body)) % 4
    total = 12 + len(body) + pad
    return struct.pack("<II", btype, total) + body + b"\0" * pad + struct.pack("<I", total)


def write_pcapng(path, linktype, pkts, tsresol):
    """pkts: (timestamp in units of 10^-tsresol s, wirelen, data)."""
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = b""
    if tsresol != 6:
        opts = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
    idb = block(1, struct.pack("<HHI", linktype, 0, 262144) + opts)
    with open(path, "wb") as f:
        f.write(shb + idb)
        for ts, wirelen, data in pkts:
            pad = (-len(data)) % 4
            body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF,
                               len(data), wirelen) + data + b"\0" * pad
            f.write(block(6, body))


def run(path):
    out = subprocess.run([SENSOR, "-r", path, "-t", "json", "-o",
                          "http.ports=8080,9000"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    # Keep start as text: a float would lose the nanoseconds.
    rows = []
    for l in out.stdout.splitlines():
        t = json.loads(l)
        t["start_text"] = json.loads(l, parse_float=str)["start"]
        rows.append(t)
    return rows


def key(t):
    return (t["protocol"], t["client"], t["server"], t["signature"], t["status"])


def strip(rows):
    return [{k: v for k, v in t.items() if k != "start_text"} for t in rows]


def main():
    if not os.path.exists(SENSOR) or not os.path.exists(PCAP):
        print("1..0 # SKIP sensor or corpus missing")
        return 0
    linktype, pkts = read_pcap(PCAP)
    with tempfile.TemporaryDirectory() as tmp:
        base = run(PCAP)
        us_ng = os.path.join(tmp, "us.pcapng")
        write_pcapng(us_ng, linktype, pkts, 6)
        got = run(us_ng)
        ok(strip(got) == strip(base), "pcapng (microseconds) gives exactly the pcap's %d transactions" % len(base),
           "first difference: %s" % next(((a, b) for a, b in zip(got, base) if a != b), None))

        # Nanoseconds: packet i is shifted by 1 + 2 * (i % 499) ns.
        ns_pkts = [(ts * 1000 + 1 + 2 * (i % 499), w, d) for i, (ts, w, d) in enumerate(pkts)]
        ns_ng = os.path.join(tmp, "ns.pcapng")
        write_pcapng(ns_ng, linktype, ns_pkts, 9)
        nsr = run(ns_ng)
        ok(len(nsr) == len(base) and [key(t) for t in nsr] == [key(t) for t in base],
           "nanosecond pcapng: the same transactions, in the same order")
        frac = [t for t in nsr if len(t["start_text"].split(".")[1]) == 9]
        ok(len(frac) == len(nsr),
           "every start keeps its nanoseconds (9 decimals): %d of %d" % (len(frac), len(nsr)))
        # Each duration moves by a shift difference: at most 996 ns, and
        # not a multiple of 1000 for most (the shifts are odd-even mixes).
        bad, nonint = [], 0
        for a, b in zip(base, nsr):
            for m in ("ttfb_us", "ttlb_us", "request_us"):
                if a[m] is None:
                    continue
                d = (b[m] - a[m]) * 1000.0
                if abs(d) > 998.0 + 1e-6:
                    bad.append((m, a[m], b[m]))
                if b[m] != int(b[m]):
                    nonint += 1
        ok(not bad, "durations differ from the microsecond run by less than a microsecond",
           "\n".join(map(str, bad[:10])))
        ok(nonint > 0, "durations carry sub-microsecond parts (%d values)" % nonint)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
