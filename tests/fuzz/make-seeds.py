#!/usr/bin/env python3
"""make-seeds.py: seed inputs for the fuzz targets, from real captures.

    tests/fuzz/make-seeds.py OUTDIR [--max-flows N] [--max-bytes B] PCAP...

Writes OUTDIR/<target>/<name> in each target's input format (the comment
at the top of tests/fuzz/fuzz-<target>.c describes it):

  capture        one conversation per seed (every packet of one TCP or UDP
                 flow, as captured), plus the first packets of each
                 capture, several flows interleaved
  plugin-http, plugin-dns, plugin-imap, plugin-tcp
                 one conversation per seed as a plugin sees it: the
                 in-order bytes of each packet, per direction, with the
                 ends (FIN) and a gap where the capture missed bytes;
                 DNS over UDP as datagrams.  Flows go to a plugin by
                 server port (8080/9000/80 http, 53 dns, 143 imap, any
                 other TCP port: tcp, which also gets every HTTP flow)
  rules          each etc/artmon/*.sigs, NUL, then request texts of the
                 kind each plugin names (HTTP heads from the captures)
  config         etc/artmon/*.conf
  wire-collector a valid AUTH and batches (tests/artmon_wire.py)
  wire-sensor    a HELLO, AUTH_OK and each answer a collector sends
  spool          spool files holding those batches

Captures: classic pcap (not pcapng), Ethernet, IPv4 or IPv6.  Stdlib only.
The seeds checked in under tests/fuzz/seeds were made with
    tests/fuzz/make-seeds.py tests/fuzz/seeds ../shared/corpus/*.pcap TLS.pcap
where TLS.pcap is a capture tests/tls_handshake.sh keeps (KEEP_TMP=1).
bench/fuzz makes more of them from ../shared/corpus at its start.
"""
import argparse
import hashlib
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import artmon_wire as w  # noqa: E402

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


# ---------------------------------------------------------------- pcap

def read_pcap(path):
    """(ts_us, frame, wirelen) for each record."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise SystemExit("%s: not a classic pcap file" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit("%s: link type %d, not Ethernet" % (path, linktype))
    off = 24
    out = []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        us = sec * 1000000 + (frac // 1000 if nano else frac)
        out.append((us, frame, orig))
    return out


def decode(frame):
    """Ethernet/IP/TCP-or-UDP fields, or None."""
    if len(frame) < 14:
        return None
    et = struct.unpack(">H", frame[12:14])[0]
    p = 14
    while et in (0x8100, 0x88a8) and len(frame) >= p + 4:
        et = struct.unpack(">H", frame[p + 2:p + 4])[0]
        p += 4
    if et == 0x0800:
        ihl = (frame[p] & 15) * 4
        total = struct.unpack(">H", frame[p + 2:p + 4])[0]
        proto = frame[p + 9]
        src, dst = frame[p + 12:p + 16], frame[p + 16:p + 20]
        l4, end = p + ihl, p + total
    elif et == 0x86DD:
        plen = struct.unpack(">H", frame[p + 4:p + 6])[0]
        proto = frame[p + 6]
        src, dst = frame[p + 8:p + 24], frame[p + 24:p + 40]
        l4, end = p + 40, p + 40 + plen
    else:
        return None
    seg = frame[l4:end]
    if proto == 6 and len(seg) >= 20:
        sport, dport, seq, ack, offx, flags = struct.unpack(">HHIIBB", seg[:14])
        return dict(proto=6, src=src, dst=dst, sport=sport, dport=dport,
                    seq=seq, flags=flags, payload=seg[(offx >> 4) * 4:])
    if proto == 17 and len(seg) >= 8:
        sport, dport = struct.unpack(">HH", seg[:4])
        return dict(proto=17, src=src, dst=dst, sport=sport, dport=dport,
                    flags=0, payload=seg[8:])
    return None


SERVER_PORTS = {8080: "http", 9000: "http", 80: "http", 53: "dns", 143: "imap"}


def flows(records):
    """{key: [(ts, frame, wirelen, pkt, from_client)]} in capture order;
    the client is the sender of the first SYN (else the higher port)."""
    out = {}
    clients = {}
    for ts, frame, orig in records:
        d = decode(frame)
        if not d:
            continue
        a, b = (d["src"], d["sport"]), (d["dst"], d["dport"])
        key = (d["proto"],) + tuple(sorted([a, b]))
        if key not in clients:
            syn = d["proto"] == 6 and d["flags"] & 0x12 == 0x02
            if syn or d["dport"] in SERVER_PORTS or d["dport"] < d["sport"]:
                clients[key] = a
            else:
                clients[key] = b
        out.setdefault(key, []).append((ts, frame, orig, d, a == clients[key]))
    return out


def server_port(key, pkts):
    d, fc = pkts[0][3], pkts[0][4]
    return d["dport"] if fc else d["sport"]


# ---------------------------------------------------------------- targets

def capture_seed(pkts, b0=0, b1=0x33):
    """fuzz-capture's framing: link type, limits, then records."""
    out = bytearray([b0, b1])
    last = pkts[0][0]
    for ts, frame, orig, *_ in pkts:
        dt = max(0, ts - last)
        last = ts
        step = dt if dt < 0x8000 else 0x8000 | min(dt // 1000000, 0x3ff)
        out += struct.pack(">HHB", step, len(frame), min(255, max(0, orig - len(frame))))
        out += frame
    return bytes(out)


def plugin_seed(pkts, udp):
    """fuzz-plugin's framing: the bytes each packet delivers, in order."""
    b0 = 0x04 | 0x18 | (0x02 if udp else 0)
    out = bytearray([b0, 0])
    nxt = [None, None]
    ended = [False, False]
    last = pkts[0][0]
    for ts, _frame, _orig, d, fc in pkts:
        dirn = 0 if fc else 1
        step = min(31, max(0, (ts - last) // 250000))
        last = ts
        if udp:
            data = d["payload"]
            out += bytes([dirn | (step << 3)]) + struct.pack(">H", len(data)) + data
            continue
        seq, data, flags = d["seq"], d["payload"], d["flags"]
        if flags & 0x02:
            nxt[dirn] = (seq + 1) & 0xFFFFFFFF
            continue
        if nxt[dirn] is None:
            nxt[dirn] = seq
        if data and not ended[dirn]:
            rel = (seq - nxt[dirn]) & 0xFFFFFFFF
            if rel < 0x80000000 and rel > 0:
                out += bytes([2 | (dirn << 2) | (step << 3)]) + struct.pack(">I", rel)
                nxt[dirn] = seq
                rel = 0
            if rel == 0:
                out += bytes([dirn | (step << 3)]) + struct.pack(">H", len(data)) + data
                nxt[dirn] = (seq + len(data)) & 0xFFFFFFFF
        if flags & 0x01 and not ended[dirn]:
            ended[dirn] = True
            out += bytes([3 | (dirn << 2)])
    return bytes(out)


def http_heads(pkts):
    heads = []
    for *_, d, fc in pkts:
        p = d["payload"]
        if fc and p[:4] in (b"GET ", b"POST", b"HEAD", b"PUT "):
            heads.append(p.split(b"\r\n\r\n")[0][:2048] + b"\r\n\r\n")
    return heads


# ---------------------------------------------------------------- wire

KEY = b"0123456789abcdef0123456789abcdef"
NONCE = b"0123456789abcdef0123456789abcde\0"


def some_batches():
    rows = [dict(protocol="http", signature="GET_/index.html", server_addr="127.0.0.2",
                 server_port=8080, transactions=3, errors=1,
                 ttfb_us_count=3, ttfb_us_sum=900, ttfb_us_min=100, ttfb_us_max=500,
                 ttfb_hist={10: 2, 12: 1}, ttlb_hist={11: 3}),
            dict(protocol="dns", signature="DNS_A", server_addr="::1", server_port=53,
                 transactions=1)]
    health = dict(packets=100, bytes=9000, flows_active=3, transactions=4,
                  conn_per_sec_avg=0.5, clients_distinct=2)
    yield w.batch_payload(b"B" * 16, 1700000100, 300, rows, health,
                          top=[("127.0.0.9", 4, 0), ("::2", 1, 1)])
    yield w.batch_payload(b"L" * 16, 1700000100, 300, rows[:1], late=True)
    yield w.batch_payload(b"E" * 16, 1700000400, 60, [], health)


def frame(session, kind, payload, direction, seq):
    hdr = struct.pack(">IBBH", 8 + len(payload) + 32, kind, 0, 0)
    mac = w._hmac(session, direction + struct.pack(">Q", seq) + hdr + payload)
    return hdr + payload + mac


def wire_collector_seeds():
    """fuzz-wire-collector: flags byte, AUTH, frames (MACs right)."""
    body = w.MAGIC + struct.pack(">HB", 1, 8) + b"sensor-1" + b"C" * 32
    auth = body + w._hmac(KEY, b"artmon auth v1", NONCE, body)
    session = w._hmac(KEY, b"artmon session v1", NONCE, b"C" * 32)
    yield "auth-only", bytes([0]) + auth
    frames = b""
    for i, p in enumerate(some_batches()):
        frames += frame(session, w.BATCH, p, b"S", i)
    yield "batches", bytes([3]) + auth + frames
    n = len(list(some_batches()))
    hb = frame(session, w.HEARTBEAT, b"", b"S", n)
    err = frame(session, w.ERROR, struct.pack(">H", 6) + b"sensor stopping", b"S", n + 1)
    yield "heartbeat-error", bytes([3]) + auth + frames + hb + err


def wire_sensor_seeds():
    """fuzz-wire-sensor: flags byte, HELLO, frames from the collector
    (their MACs are fixed by the target: the session key is random)."""
    hello = w.MAGIC + struct.pack(">H", 1) + NONCE
    z = b"\0" * 32

    def f(kind, payload):
        return struct.pack(">IBBH", 8 + len(payload) + 32, kind, 0, 0) + payload + z
    ok = f(w.AUTH_OK, b"")
    yield "hello", bytes([0]) + hello
    yield "answers", bytes([1]) + hello + ok + f(w.ACK, b"B" * 16) + \
        f(w.RETRY, b"L" * 16) + f(w.HEARTBEAT, b"") + \
        f(w.REJECT, b"E" * 16 + struct.pack(">H", 9) + b"bad batch: row 3") + \
        f(w.ERROR, struct.pack(">H", 6) + b"collector stopping")


def spool_seeds():
    for i, p in enumerate(some_batches()):
        hdr = b"ARTSPOOL" + struct.pack(">III", 1, len(p), zlib.crc32(p) & 0xFFFFFFFF)
        yield "batch-%d" % i, bytes([i & 2]) + hdr + p


# ---------------------------------------------------------------- main

def put(outdir, target, name, data, budget):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    if budget is not None:
        used = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        if used + len(data) > budget:
            return False
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("pcaps", nargs="*")
    ap.add_argument("--max-flows", type=int, default=12,
                    help="conversations per capture and target (12)")
    ap.add_argument("--max-bytes", type=int, default=12000,
                    help="largest seed made from a conversation (12000)")
    ap.add_argument("--budget", type=int, default=160000,
                    help="bytes per target directory, at most (160000); 0: none")
    a = ap.parse_args()
    budget = a.budget or None
    heads = []
    for path in a.pcaps:
        base = os.path.splitext(os.path.basename(path))[0]
        recs = read_pcap(path)
        put(a.outdir, "capture", "%s-head" % base,
            capture_seed([(ts, fr, o) for ts, fr, o in recs[:80]], b1=0x30), budget)
        made = {}
        for key, pkts in flows(recs).items():
            sp = server_port(key, pkts)
            udp = key[0] == 17
            proto = SERVER_PORTS.get(sp, "tcp" if not udp else None)
            if proto is None:
                continue
            heads += http_heads(pkts) if proto == "http" else []
            seed = capture_seed(pkts)
            if len(seed) <= a.max_bytes and made.get("capture", 0) < a.max_flows:
                h = hashlib.sha1(seed).hexdigest()[:12]
                if put(a.outdir, "capture", "%s-%s-%s" % (base, proto, h), seed, budget):
                    made["capture"] = made.get("capture", 0) + 1
            for target in [proto] + (["tcp"] if proto == "http" else []):
                t = "plugin-" + target
                ps = plugin_seed(pkts, udp)
                if len(ps) <= a.max_bytes and made.get(t, 0) < a.max_flows:
                    h = hashlib.sha1(ps).hexdigest()[:12]
                    if put(a.outdir, t, "%s-%s" % (base, h), ps, budget):
                        made[t] = made.get(t, 0) + 1
    texts = {
        "http": heads[:8] or [b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"],
        "dns": [b"A www.example.com", b"AAAA example.org", b"TYPE65535 \\000.x"],
        "imap": [b"a1 LOGIN user pass", b"a2 SELECT INBOX", b"a3 UID FETCH 1:* (FLAGS)"],
        "tcp": [b"\x16\x03\x01\x00\x05hello", b"PING\r\n"],
    }
    etc = os.path.join(SRC, "etc", "artmon")
    for f in sorted(os.listdir(etc)):
        with open(os.path.join(etc, f), "rb") as fh:
            text = fh.read()
        name, ext = os.path.splitext(f)
        if ext == ".sigs":
            put(a.outdir, "rules", name, text + b"\0" + b"\0".join(texts.get(name, [])), None)
        elif ext == ".conf":
            put(a.outdir, "config", name, text, None)
    for name, data in wire_collector_seeds():
        put(a.outdir, "wire-collector", name, data, None)
    for name, data in wire_sensor_seeds():
        put(a.outdir, "wire-sensor", name, data, None)
    for name, data in spool_seeds():
        put(a.outdir, "spool", name, data, None)


if __name__ == "__main__":
    main()
