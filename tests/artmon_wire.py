"""artmon_wire.py: a sensor's side of the wire protocol v1, in stdlib Python.

For the collector's tests and benchmark: an independent implementation of
lib/wire.h (docs/wire-protocol.md), so a test can also misbehave on
purpose: wrong keys, replayed or oversized frames, slow drips.

    s = Sensor.connect(("127.0.0.1", port), "web1", b"k" * 32)
    s.send_batch(batch_payload(batch_id, start, 300, rows, health))
    kind, body = s.recv_frame()          # (ACK, id) / (RETRY, id) / ...
"""
import hashlib
import hmac
import os
import socket
import ssl
import struct

MAGIC = b"ARTMON"
VERSION = 1
NONCE_LEN = 32
MAC_LEN = 32
HEADER_LEN = 8
HELLO_LEN = 6 + 2 + NONCE_LEN

AUTH_OK, HEARTBEAT, ERROR, BATCH, ACK, RETRY, REJECT = 2, 3, 4, 16, 17, 18, 19
TYPE_NAMES = {AUTH_OK: "AUTH_OK", HEARTBEAT: "HEARTBEAT", ERROR: "ERROR",
              BATCH: "BATCH", ACK: "ACK", RETRY: "RETRY", REJECT: "REJECT"}

N_COUNTS = 8
N_METRICS = 12
HEALTH_FIELDS = ["packets", "bytes", "kernel_drops", "iface_drops",
                 "malformed", "flows_active", "flows_created",
                 "flows_evicted", "gaps", "transactions", "clients_distinct",
                 "clients_estimated", "client_ports_distinct",
                 "conn_per_sec_min", "conn_per_sec_max", "conn_per_sec_avg",
                 "output_dropped", "spool_dropped"]
COUNTS = ["transactions", "errors", "retransmissions", "timeouts", "gaps",
          "midstream", "orphan_responses", "retries"]
METRICS = ["request_us", "ttfb_us", "ttlb_us", "handshake_rtt_us",
           "client_ack_us", "request_bytes", "response_bytes",
           "request_packets", "server_packets", "server_pkt_bytes",
           "server_mss", "server_window"]


def _hmac(key, *parts):
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


class WireError(Exception):
    pass


class Sensor:
    """One authenticated connection, as a sensor."""

    def __init__(self, sock, key, server_nonce, client_nonce):
        self.sock = sock
        self.session = _hmac(key, b"artmon session v1", server_nonce,
                             client_nonce)
        self.send_seq = 0
        self.recv_seq = 0

    @classmethod
    def connect(cls, addr, name, key, timeout=10.0, tls=False):
        sock = socket.create_connection(addr, timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock)
        hello = recv_exact(sock, HELLO_LEN)
        if hello[:6] != MAGIC:
            raise WireError("no ARTMON greeting")
        server_nonce = hello[8:]
        auth, client_nonce = build_auth(name, key, server_nonce)
        sock.sendall(auth)
        s = cls(sock, key, server_nonce, client_nonce)
        kind, _ = s.recv_frame()
        if kind != AUTH_OK:
            raise WireError("expected AUTH_OK, got %s" % TYPE_NAMES.get(kind, kind))
        return s

    def frame(self, kind, payload=b"", seq=None, key=None):
        """A frame with the next counter (or seq), not sent."""
        seq = self.send_seq if seq is None else seq
        hdr = struct.pack(">IBBH", HEADER_LEN + len(payload) + MAC_LEN, kind, 0, 0)
        mac = _hmac(key or self.session, b"S", struct.pack(">Q", seq), hdr, payload)
        return hdr + payload + mac

    def send(self, kind, payload=b""):
        f = self.frame(kind, payload)
        self.send_seq += 1
        self.sock.sendall(f)
        return f

    def send_batch(self, payload):
        return self.send(BATCH, payload)

    def recv_frame(self):
        hdr = recv_exact(self.sock, HEADER_LEN)
        length, kind, flags, res = struct.unpack(">IBBH", hdr)
        if length < HEADER_LEN + MAC_LEN or length > (16 << 20):
            raise WireError("bad frame length %d" % length)
        rest = recv_exact(self.sock, length - HEADER_LEN)
        payload, mac = rest[:-MAC_LEN], rest[-MAC_LEN:]
        want = _hmac(self.session, b"C", struct.pack(">Q", self.recv_seq), hdr, payload)
        if not hmac.compare_digest(mac, want):
            raise WireError("collector frame MAC does not verify")
        self.recv_seq += 1
        return kind, payload

    def recv_verdict(self):
        """The next ACK / RETRY / REJECT (heartbeats skipped)."""
        while True:
            kind, payload = self.recv_frame()
            if kind == HEARTBEAT:
                continue
            return kind, payload

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def build_auth(name, key, server_nonce):
    name = name.encode()
    client_nonce = os.urandom(NONCE_LEN)
    body = MAGIC + struct.pack(">HB", VERSION, len(name)) + name + client_nonce
    mac = _hmac(key, b"artmon auth v1", server_nonce, body)
    return body + mac, client_nonce


# ---------------------------------------------------------------- batches

def _addr(addr):
    if ":" in addr:
        return bytes([6]) + socket.inet_pton(socket.AF_INET6, addr)
    return bytes([4]) + socket.inet_pton(socket.AF_INET, addr)


def _hist(h):
    """h: {bucket: count}."""
    out = struct.pack(">H", len(h))
    for b in sorted(h):
        out += struct.pack(">BQ", b, h[b])
    return out


def row_payload(r):
    """r: dict with protocol, signature, server_addr, server_port, the
    COUNTS, METRICS as NAME_count/_sum/_min/_max (missing: 0), ttfb_hist
    and ttlb_hist as {bucket: count}."""
    p = r["protocol"].encode()
    s = r["signature"].encode()
    out = bytes([len(p)]) + p + bytes([len(s)]) + s + _addr(r["server_addr"])
    out += struct.pack(">H", r["server_port"])
    out += struct.pack(">8Q", *[r.get(c, 0) for c in COUNTS])
    vals = []
    for m in METRICS:
        vals += [r.get(m + "_count", 0), r.get(m + "_sum", 0),
                 r.get(m + "_min") or 0, r.get(m + "_max") or 0]
    out += struct.pack(">48Q", *vals)
    return out + _hist(r.get("ttfb_hist", {})) + _hist(r.get("ttlb_hist", {}))


def health_payload(h, top=()):
    vals = []
    for f in HEALTH_FIELDS:
        v = h.get(f, 0)
        if f == "conn_per_sec_avg":
            v = struct.unpack(">Q", struct.pack(">d", float(v)))[0]
        vals.append(int(v))
    out = struct.pack(">18Q", *vals) + bytes([len(top)])
    for addr, n, e in top:
        out += _addr(addr) + struct.pack(">QQ", n, e)
    return out


def batch_payload(batch_id, start, secs, rows, health=None, top=(), late=False,
                  encoded_rows=None):
    """A WIRE_BATCH payload; encoded_rows: row payloads already built."""
    flags = (1 if late else 0) | (2 if health is not None else 0)
    body = encoded_rows if encoded_rows is not None else [row_payload(r) for r in rows]
    out = batch_id + struct.pack(">qIBBBBI", start, secs, flags, N_COUNTS,
                                 N_METRICS, len(HEALTH_FIELDS) if health is not None else 0,
                                 len(body))
    out += b"".join(body)
    if health is not None:
        out += health_payload(health, top)
    return out
