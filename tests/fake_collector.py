"""fake_collector.py: the collector's half of the wire protocol v1, in stdlib
Python, for the sensor's tests.

An independent implementation of docs/wire-protocol.md written from the
document, not from lib/wire.c: the handshake (HELLO, AUTH check, AUTH_OK),
authenticated frames both ways, and a full decoder of batch payloads that
checks every rule of section 7; plus a reader of the sensor's spool files
(section 15, CRC from zlib).  What it answers is scripted per test:

    fc = FakeCollector("s1", KEY, mode="ack").start()
    ... run artmon-sensor against fc.port ...
    fc.wait(lambda: len(fc.acked) >= 3, timeout=30)
    fc.stop()

Modes: "ack" (ACK every batch), "silent" (answer no batch, but send
heartbeats), "mute" (after AUTH_OK send nothing at all), "retry_once"
(RETRY the first delivery of each batch, ACK the next), "reject_first"
(REJECT the first batch, ACK the rest), "impostor" (skip the AUTH check
and answer with a session key made from impostor_key: a collector that
does not know the sensor's key).  Every MAC from the sensor is checked;
any failure is recorded in .errors, which a test asserts is empty.
"""
import hashlib
import hmac
import math
import os
import socket
import ssl
import struct
import threading
import time
import zlib

MAGIC = b"ARTMON"
VERSION = 1
NONCE_LEN = 32
MAC_LEN = 32
HEADER_LEN = 8
FRAME_MIN = HEADER_LEN + MAC_LEN
FRAME_MAX = 16 << 20

AUTH_OK, HEARTBEAT, ERROR, BATCH, ACK, RETRY, REJECT = 2, 3, 4, 16, 17, 18, 19

COUNTS = ["transactions", "errors", "retransmissions", "timeouts", "gaps",
          "midstream", "orphan_responses", "retries"]
METRICS = ["request_us", "ttfb_us", "ttlb_us", "handshake_rtt_us",
           "client_ack_us", "request_bytes", "response_bytes",
           "request_packets", "server_packets", "server_pkt_bytes",
           "server_mss", "server_window"]
HEALTH = ["packets", "bytes", "kernel_drops", "iface_drops", "malformed",
          "flows_active", "flows_created", "flows_evicted", "gaps",
          "transactions", "clients_distinct", "clients_estimated",
          "client_ports_distinct", "conn_per_sec_min", "conn_per_sec_max",
          "conn_per_sec_avg", "output_dropped", "spool_dropped"]
VALUE_MAX = (1 << 63) - 1
HIST_BUCKETS = 219


class BadBatch(Exception):
    pass


def hmac256(key, *parts):
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


# ---------------------------------------------------------------- batches

class Reader:
    def __init__(self, data):
        self.d = data
        self.off = 0

    def take(self, n):
        if n > len(self.d) - self.off:
            raise BadBatch("truncated at offset %d" % self.off)
        b = self.d[self.off:self.off + n]
        self.off += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def value(self, what):
        v = self.u64()
        if v > VALUE_MAX:
            raise BadBatch("%s above 2^63-1" % what)
        return v

    def addr(self):
        fam = self.u8()
        if fam not in (4, 6):
            raise BadBatch("family %d" % fam)
        a = self.take(16 if fam == 6 else 4)
        return fam, socket.inet_ntop(socket.AF_INET6 if fam == 6 else
                                     socket.AF_INET, a)

    def hist(self):
        n = self.u16()
        if n > HIST_BUCKETS:
            raise BadBatch("%d buckets" % n)
        out, prev = [], -1
        for _ in range(n):
            b, c = self.u8(), self.u64()
            if b >= HIST_BUCKETS or b <= prev or c == 0 or c > VALUE_MAX:
                raise BadBatch("bad bucket %d count %d" % (b, c))
            out.append((b, c))
            prev = b
        return out


def decode_batch(payload):
    """A batch payload as a dict; raises BadBatch on any rule broken."""
    r = Reader(payload)
    bid = r.take(16)
    start = struct.unpack(">q", r.take(8))[0]
    secs = r.u32()
    flags, nc, nm, nh = r.u8(), r.u8(), r.u8(), r.u8()
    nrows = r.u32()
    if not 0 <= start <= 253402300799 or not 1 <= secs <= 86400:
        raise BadBatch("interval %d +%d" % (start, secs))
    if flags & ~3 or (not flags & 2 and nh):
        raise BadBatch("flags %#x with %d health values" % (flags, nh))
    if nrows > 10000:
        raise BadBatch("%d rows" % nrows)
    rows = []
    for _ in range(nrows):
        pl = r.u8()
        proto = r.take(pl).decode("ascii")
        if not 1 <= pl <= 32 or not all(c.isalnum() or c in "_-"
                                        for c in proto):
            raise BadBatch("protocol %r" % proto)
        sig = r.take(r.u8())
        if b"\0" in sig:
            raise BadBatch("NUL in signature")
        row = {"protocol": proto, "signature": sig.decode("utf-8")}
        row["family"], row["server_addr"] = r.addr()
        row["server_port"] = r.u16()
        vals = [r.value("count") for _ in range(nc)]
        for i, name in enumerate(COUNTS):
            row[name] = vals[i] if i < nc else 0
        for i in range(nm):
            c, s, lo, hi = (r.value("metric") for _ in range(4))
            if c == 0 and (s or lo or hi) or c and lo > hi:
                raise BadBatch("metric %d: %d %d %d %d" % (i, c, s, lo, hi))
            if i < len(METRICS):
                row[METRICS[i]] = (c, s, lo, hi)
        row["ttfb_hist"] = r.hist()
        row["ttlb_hist"] = r.hist()
        rows.append(row)
    health = None
    if flags & 2:
        raw = [r.u64() for _ in range(nh)]
        health = {}
        for i, name in enumerate(HEALTH):
            v = raw[i] if i < nh else 0
            if name == "conn_per_sec_avg":
                v = struct.unpack(">d", struct.pack(">Q", v))[0]
                if not math.isfinite(v) or v < 0:
                    raise BadBatch("avg %r" % v)
            elif v > VALUE_MAX:
                raise BadBatch("%s above 2^63-1" % name)
            health[name] = v
        if health["clients_estimated"] > 1:
            raise BadBatch("clients_estimated")
        ntop = r.u8()
        if ntop > 20:
            raise BadBatch("%d top clients" % ntop)
        health["top"] = [(r.addr(), r.value("tx"), r.value("err"))
                         for _ in range(ntop)]
    if r.off != len(payload):
        raise BadBatch("%d trailing bytes" % (len(payload) - r.off))
    return {"id": bid, "interval_start": start, "interval_secs": secs,
            "late": bool(flags & 1), "rows": rows, "health": health}


def read_spool_file(path):
    """The payload of a spool file; raises BadBatch if damaged."""
    with open(path, "rb") as f:
        d = f.read()
    if len(d) < 20 or d[:8] != b"ARTSPOOL":
        raise BadBatch("no spool header")
    version, length, crc = struct.unpack(">III", d[8:20])
    if version != 1 or length != len(d) - 20:
        raise BadBatch("version %d length %d" % (version, length))
    if zlib.crc32(d[20:]) != crc:
        raise BadBatch("CRC")
    return d[20:]


# ---------------------------------------------------------------- server

def recv_exact(sock, n, stop):
    buf = b""
    while len(buf) < n:
        if stop.is_set():
            raise EOFError("stopping")
        try:
            chunk = sock.recv(n - len(buf))
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        if not chunk:
            raise EOFError("closed")
        buf += chunk
    return buf


class Session:
    def __init__(self, key):
        self.key = key
        self.send_seq = 0
        self.recv_seq = 0

    def frame(self, ftype, payload=b""):
        hdr = struct.pack(">IBBH", FRAME_MIN + len(payload), ftype, 0, 0)
        m = hmac256(self.key, b"C", struct.pack(">Q", self.send_seq), hdr,
                    payload)
        self.send_seq += 1
        return hdr + payload + m

    def open(self, data):
        hdr, payload, m = data[:8], data[8:-32], data[-32:]
        want = hmac256(self.key, b"S", struct.pack(">Q", self.recv_seq),
                       hdr, payload)
        if not hmac.compare_digest(m, want):
            raise ValueError("MAC of sensor frame %d" % self.recv_seq)
        self.recv_seq += 1
        return hdr[4], payload


class FakeCollector:
    def __init__(self, name, key, port=0, mode="ack", impostor_key=None,
                 tls=None):
        self.name = name
        self.tls = None
        if tls:		# (certificate file, key file)
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
        self.key = key
        self.port = port
        self.mode = mode
        self.impostor_key = impostor_key
        self.lock = threading.Condition()
        self.batches = []	# (id, payload) in arrival order, all deliveries
        self.decoded = {}	# id -> decoded batch
        self.acked = set()
        self.retried = set()
        self.rejected = set()
        self.errors = []	# protocol violations seen from the sensor
        self.sensor_errors = []	# ERROR frames the sensor sent
        self.auths = 0		# handshakes completed
        self.frames = 0
        self.heartbeats = 0	# HEARTBEATs from the sensor
        self._stop = threading.Event()
        self._threads = []
        self._conns = []
        self._listener = None

    # -- lifecycle

    def start(self):
        self._stop.clear()
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(16)
        ls.settimeout(0.2)
        self.port = ls.getsockname()[1]
        self._listener = ls
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads = [t]
        return self

    def stop(self):
        """Like a SIGKILLed collector: listener and connections closed."""
        self._stop.set()
        for t in self._threads:
            t.join(10)
        if self._listener:
            self._listener.close()
            self._listener = None
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        self._conns = []

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
        return True

    # -- internals

    def _accept(self):
        while not self._stop.is_set():
            try:
                c, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if self.tls:
                try:
                    c.settimeout(10)
                    c = self.tls.wrap_socket(c, server_side=True)
                except (ssl.SSLError, OSError):
                    c.close()	# e.g. the sensor refused our certificate
                    continue
            c.settimeout(0.2)
            self._conns.append(c)
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self._threads.append(t)

    def _error(self, what):
        with self.lock:
            self.errors.append(what)
            self.lock.notify_all()

    def _serve(self, c):
        try:
            self._session(c)
        except (EOFError, OSError):
            pass
        except Exception as e:	# a test must see it
            self._error("%s: %s" % (type(e).__name__, e))
        finally:
            try:
                c.close()
            except OSError:
                pass

    def _session(self, c):
        sn = os.urandom(NONCE_LEN)
        c.sendall(MAGIC + struct.pack(">H", VERSION) + sn)
        head = recv_exact(c, 9, self._stop)
        if head[:6] != MAGIC or struct.unpack(">H", head[6:8])[0] != 1:
            return self._error("AUTH magic/version %r" % head)
        n = head[8]
        if not 1 <= n <= 64:
            return self._error("AUTH name length %d" % n)
        rest = recv_exact(c, n + 64, self._stop)
        auth = head + rest
        name = auth[9:9 + n].decode("ascii")
        cn = auth[9 + n:41 + n]
        if self.mode == "impostor":
            k = self.impostor_key
        else:
            if name != self.name:
                return	# unknown name: close, as a collector does
            want = hmac256(self.key, b"artmon auth v1", sn, auth[:41 + n])
            if not hmac.compare_digest(want, auth[41 + n:]):
                return	# wrong key: close
            k = self.key
        sess = Session(hmac256(k, b"artmon session v1", sn, cn))
        c.sendall(sess.frame(AUTH_OK))
        with self.lock:
            self.auths += 1
            self.lock.notify_all()
        self._hb_sess = sess
        while True:
            hdr = self._recv_or_heartbeat(c, sess)
            length, ftype, flags, res = struct.unpack(">IBBH", hdr)
            if length < FRAME_MIN or length > FRAME_MAX or flags or res:
                return self._error("frame header %r" % hdr)
            data = hdr + recv_exact(c, length - HEADER_LEN, self._stop)
            try:
                ftype, payload = sess.open(data)
            except ValueError as e:
                if self.mode == "impostor":
                    return	# expected: the sensor refuses us
                return self._error(str(e))
            with self.lock:
                self.frames += 1
            if ftype == HEARTBEAT:
                with self.lock:
                    self.heartbeats += 1
                    self.lock.notify_all()
                continue
            if ftype == ERROR:
                code = struct.unpack(">H", payload[:2])[0]
                with self.lock:
                    self.sensor_errors.append((code, payload[2:]))
                    self.lock.notify_all()
                return
            if ftype != BATCH:
                return self._error("frame type %d from the sensor" % ftype)
            self._batch(c, sess, payload)

    def _recv_or_heartbeat(self, c, sess):
        """A frame header; meanwhile a HEARTBEAT each idle second, as a
        collector sends (except in mute mode)."""
        idle = time.monotonic()
        buf = b""
        while len(buf) < HEADER_LEN:
            if self._stop.is_set():
                raise EOFError("stopping")
            try:
                chunk = c.recv(HEADER_LEN - len(buf))
            except (socket.timeout, ssl.SSLWantReadError):
                if self.mode != "mute" and time.monotonic() - idle >= 1:
                    c.sendall(sess.frame(HEARTBEAT))
                    idle = time.monotonic()
                continue
            if not chunk:
                raise EOFError("closed")
            buf += chunk
        return buf

    def _batch(self, c, sess, payload):
        bid = payload[:16]
        try:
            dec = decode_batch(payload)
        except (BadBatch, UnicodeDecodeError) as e:
            self._error("batch does not decode: %s" % e)
            c.sendall(sess.frame(REJECT, bid + struct.pack(">H", 9) +
                                 str(e).encode()))
            return
        with self.lock:
            self.batches.append((bid, payload))
            if bid in self.decoded and self.decoded[bid] != dec:
                self.errors.append("id %s with two contents" % bid.hex())
            self.decoded[bid] = dec
            if self.mode in ("silent", "mute"):
                answer = None
            elif self.mode == "retry_once" and bid not in self.retried:
                self.retried.add(bid)
                answer = RETRY
            elif self.mode == "reject_first" and not self.rejected:
                self.rejected.add(bid)
                answer = REJECT
            else:
                answer = ACK
            if answer == ACK:
                self.acked.add(bid)
            self.lock.notify_all()
        if answer == REJECT:
            c.sendall(sess.frame(REJECT, bid + struct.pack(">H", 9) +
                                 b"test says no"))
        elif answer is not None:
            c.sendall(sess.frame(answer, bid))
