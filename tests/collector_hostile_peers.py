#!/usr/bin/env python3
"""collector_hostile_peers.py: hostile and broken peers against artmon-collector.

Run by collector_security.sh (a throwaway PostgreSQL with the schema,
PG* exported, PG_TMP for files).  Starts the real collector (short
timeouts so the test is quick; caps at their defaults except where
said), then: a wrong key, an unknown name, a replayed frame (same
session and across sessions), a frame over the size limit, slow drips
during the handshake and inside a frame, an authenticated peer that goes
silent, a wrong-direction frame, a batch that does not decode, a second
connection of one sensor, and several hundred idle connections -- while
a well-behaved sensor on its own connection keeps delivering, and the
collector's memory (VmRSS) stays bounded.  Prints TAP.
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import artmon_wire as w  # noqa: E402

BUILD = os.environ.get("ARTMON_BUILDDIR", ".")
COLL = os.path.join(BUILD, "collector", "artmon-collector")
TMP = os.environ["PG_TMP"]
KEY = b"s3cret-key-for-tests-0123456789"
OTHER_KEY = b"s3cret-key-of-another-sensor-01"
AUTH_TIMEOUT, FRAME_TIMEOUT, IDLE_TIMEOUT = 3, 4, 6

n = 0
failed = 0


def ok(cond, what, diag=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what))
    if not cond:
        failed += 1
        for line in str(diag).splitlines()[:30]:
            print("#   " + line)
    sys.stdout.flush()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def psql(sql):
    return subprocess.run(["psql", "-X", "-At", "-c", sql], capture_output=True,
                          text=True, timeout=60).stdout.strip()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


PORT = free_port()
ADDR = ("127.0.0.1", PORT)
conf = os.path.join(TMP, "security.conf")
with open(conf, "w") as f:
    f.write("""[collector]
listen = 127.0.0.1
port = %d
auth_timeout = %ds
frame_timeout = %ds
idle_timeout = %ds
heartbeat = 2s
max_unauthenticated = 64
max_connections = 512
[sensors]
good = %s
other = %s
""" % (PORT, AUTH_TIMEOUT, FRAME_TIMEOUT, IDLE_TIMEOUT, KEY.decode(),
       OTHER_KEY.decode()))
os.chmod(conf, 0o600)  # it holds keys: the collector refuses it otherwise
log = open(os.path.join(TMP, "security-collector.log"), "w")
proc = subprocess.Popen([COLL, "-c", conf, "--foreground", "-v"], stdout=log,
                        stderr=subprocess.STDOUT)


def collector_log():
    with open(os.path.join(TMP, "security-collector.log")) as f:
        return f.read()


def connect_good(name="good", key=KEY):
    for _ in range(200):
        try:
            return w.Sensor.connect(ADDR, name, key, timeout=10)
        except (ConnectionRefusedError, EOFError, ConnectionResetError):
            time.sleep(0.05)
    raise RuntimeError("cannot connect")


ROW = dict(protocol="http", signature="GET_/sec", server_addr="10.0.0.1",
           server_port=80, transactions=1, ttfb_us_count=1, ttfb_us_sum=50,
           ttfb_us_min=50, ttfb_us_max=50, ttfb_hist={42: 1})
seq = [0]


def next_batch(start=1700000100):
    seq[0] += 1
    bid = struct.pack(">QQ", 0xabcdef, seq[0])
    return bid, w.batch_payload(bid, start - start % 300, 300, [ROW])


def deliver(s, payload, deadline=30):
    """Send until ACKed (RETRY while the writer connects)."""
    end = time.time() + deadline
    while time.time() < end:
        s.send_batch(payload)
        kind, body = s.recv_verdict()
        if kind == w.ACK:
            return True
        if kind != w.RETRY:
            return False
        time.sleep(0.2)
    return False


def closed_within(sock, secs):
    """Seconds until the peer closed (reading and discarding), or None."""
    sock.settimeout(0.2)
    t0 = time.time()
    while time.time() - t0 < secs:
        try:
            if not sock.recv(65536):
                return time.time() - t0
        except socket.timeout:
            continue
        except (ConnectionResetError, OSError):
            return time.time() - t0
    return None


def stored_batches():
    return int(psql("select count(*) from artmon.batches") or -1)


try:
    # ---- a well-behaved sensor first
    good = connect_good()
    bid, p = next_batch()
    ok(deliver(good, p), "a sensor with the right key delivers a batch (ACK)")
    base_batches = stored_batches()
    rss0 = rss_kib(proc.pid)

    # ---- wrong key, unknown name: closed before AUTH_OK
    for name, key, what in (("good", b"this-is-not-the-right-key!!", "a wrong key"),
                            ("nobody-knows", KEY, "an unknown sensor name")):
        try:
            w.Sensor.connect(ADDR, name, key, timeout=5)
            ok(False, "%s is refused" % what, "got AUTH_OK")
        except (EOFError, ConnectionResetError) as e:
            ok(True, "%s is refused: the connection closes before AUTH_OK" % what)

    # ---- replay: the same frame again in the same session, and in another
    s = connect_good("other", OTHER_KEY)
    bid, p = next_batch()
    frame = s.frame(w.BATCH, p)
    s.send_seq += 1
    s.sock.sendall(frame)
    kind, _ = s.recv_verdict()
    while kind == w.RETRY:
        time.sleep(0.2)
        s.send_batch(p)
        frame = None
        kind, _ = s.recv_verdict()
    before = stored_batches()
    replay = s.frame(w.BATCH, p, seq=s.send_seq - 1)   # counter reused
    s.sock.sendall(replay)
    try:
        kind, body = s.recv_frame()
        code = struct.unpack(">H", body[:2])[0] if kind == w.ERROR else None
    except (EOFError, ConnectionResetError):
        kind, code = None, None
    gone = closed_within(s.sock, 5) is not None
    ok(kind == w.ERROR and code == 3 and gone and stored_batches() == before,
       "a replayed frame in its session gets ERROR MAC and a close; nothing stored",
       "kind %s code %s closed %s" % (kind, code, gone))
    s2 = connect_good("other", OTHER_KEY)
    s2.sock.sendall(s2.frame(w.BATCH, p, seq=0, key=s.session))  # old session's frame
    try:
        kind, body = s2.recv_frame()
        code = struct.unpack(">H", body[:2])[0] if kind == w.ERROR else None
    except (EOFError, ConnectionResetError):
        kind, code = None, None
    ok(kind == w.ERROR and code == 3 and stored_batches() == before,
       "a frame replayed into another session gets ERROR MAC; nothing stored",
       "kind %s code %s" % (kind, code))
    s.close()
    s2.close()

    # ---- a frame over the size limit: refused from its header, no allocation
    s = connect_good("other", OTHER_KEY)
    rss_a = rss_kib(proc.pid)
    s.sock.sendall(struct.pack(">IBBH", (16 << 20) + 1, w.BATCH, 0, 0))
    try:
        kind, body = s.recv_frame()
        code = struct.unpack(">H", body[:2])[0] if kind == w.ERROR else None
    except (EOFError, ConnectionResetError):
        kind, code = None, None
    gone = closed_within(s.sock, 5) is not None
    ok(kind == w.ERROR and code == 2 and gone,
       "a frame header over 16 MiB gets ERROR TOO_LARGE and a close",
       "kind %s code %s closed %s" % (kind, code, gone))
    s.close()
    # A frame at the limit, announced but never sent, allocates its 16 MiB
    # only once the header is accepted: and is dropped at frame_timeout.
    s = connect_good("other", OTHER_KEY)
    s.sock.sendall(struct.pack(">IBBH", 16 << 20, w.BATCH, 0, 0) + b"x" * 100)
    took = closed_within(s.sock, FRAME_TIMEOUT + 5)
    ok(took is not None and took <= FRAME_TIMEOUT + 2.5,
       "a started frame that stops is closed at frame_timeout (%ss): %.1fs"
       % (FRAME_TIMEOUT, took or -1))
    s.close()

    # ---- slow drips
    t = socket.create_connection(ADDR)
    w.recv_exact(t, w.HELLO_LEN)
    auth, _ = w.build_auth("good", KEY, b"\0" * 32)
    dripper_stop = threading.Event()

    def drip(sock, data, every):
        for b in data:
            if dripper_stop.is_set():
                return
            try:
                sock.sendall(bytes([b]))
            except OSError:
                return
            time.sleep(every)
    th = threading.Thread(target=drip, args=(t, auth, 0.5), daemon=True)
    th.start()
    took = closed_within(t, AUTH_TIMEOUT + 5)
    ok(took is not None and took <= AUTH_TIMEOUT + 2.5,
       "AUTH dripped a byte every 0.5 s is cut at auth_timeout (%ss): %.1fs"
       % (AUTH_TIMEOUT, took or -1))
    t.close()
    s = connect_good("other", OTHER_KEY)
    f = s.frame(w.BATCH, next_batch()[1])
    th = threading.Thread(target=drip, args=(s.sock, f, 0.3), daemon=True)
    th.start()
    took = closed_within(s.sock, FRAME_TIMEOUT + 5)
    ok(took is not None and took <= FRAME_TIMEOUT + 2.5,
       "a frame dripped a byte every 0.3 s is cut at frame_timeout (%ss): %.1fs"
       % (FRAME_TIMEOUT, took or -1))
    dripper_stop.set()
    s.close()

    # ---- an authenticated peer that goes silent (no heartbeats)
    s = connect_good("other", OTHER_KEY)
    t0 = time.time()
    kinds = []
    s.sock.settimeout(IDLE_TIMEOUT + 5)
    try:
        while True:
            kind, body = s.recv_frame()
            kinds.append(kind)
            if kind == w.ERROR:
                code = struct.unpack(">H", body[:2])[0]
                break
    except (EOFError, OSError):
        code = None
    took = time.time() - t0
    ok(w.HEARTBEAT in kinds and code == 5 and IDLE_TIMEOUT - 1 <= took <= IDLE_TIMEOUT + 2.5,
       "a silent sensor gets HEARTBEATs, then ERROR TIMEOUT at idle_timeout "
       "(%ss): %.1fs" % (IDLE_TIMEOUT, took), "kinds %s code %s" % (kinds, code))
    s.close()

    # ---- protocol errors that keep or end the connection
    s = connect_good("other", OTHER_KEY)
    bad = bytes(16) + b"\xff" * 40
    s.send_batch(bad)
    kind, body = s.recv_verdict()
    rejected = kind == w.REJECT and body[:16] == bytes(16)
    bid, p = next_batch()
    ok(rejected and deliver(s, p),
       "a batch that does not decode gets REJECT with its id; the connection "
       "goes on", "kind %s" % kind)
    s.send(w.ACK, bytes(16))
    try:
        kind, body = s.recv_verdict()
        code = struct.unpack(">H", body[:2])[0] if kind == w.ERROR else None
    except (EOFError, ConnectionResetError):
        kind, code = None, None
    ok(kind == w.ERROR and code == 1 and closed_within(s.sock, 5) is not None,
       "a frame in the wrong direction (ACK from a sensor) gets ERROR PROTOCOL "
       "and a close", "kind %s code %s" % (kind, code))
    s.close()
    a = connect_good("other", OTHER_KEY)
    b = connect_good("other", OTHER_KEY)
    try:
        kind, body = a.recv_verdict()
        code = struct.unpack(">H", body[:2])[0] if kind == w.ERROR else None
    except (EOFError, ConnectionResetError):
        kind, code = None, None
    bid, p = next_batch()
    ok(kind == w.ERROR and code == 8 and deliver(b, p),
       "a second connection of one sensor replaces the first (ERROR REPLACED); "
       "the new one delivers", "kind %s code %s" % (kind, code))
    a.close()
    b.close()

    # ---- hundreds of idle connections, while the good sensor delivers
    # (on a fresh connection: ours sends no heartbeats, and the first one
    # has been quiet longer than idle_timeout by now)
    good.close()
    good = connect_good()
    rss_before_flood = rss_kib(proc.pid)
    idle = []
    refused_at_once = 0
    for i in range(400):
        try:
            c = socket.create_connection(ADDR, timeout=5)
            idle.append(c)
        except OSError:
            refused_at_once += 1
    time.sleep(1.0)
    closed_now = 0
    for c in idle:
        c.settimeout(0.01)
        try:
            if c.recv(4096 * 4) == b"":
                closed_now += 1
        except socket.timeout:
            pass
        except OSError:
            closed_now += 1
    delivered = 0
    for i in range(5):
        bid, p = next_batch()
        delivered += deliver(good, p)
    rss_flood = rss_kib(proc.pid)
    ok(closed_now >= 400 - 64 - 1 and delivered == 5,
       "400 idle connections: all but max_unauthenticated (64) are closed at "
       "once (%d); the authenticated sensor delivers meanwhile (%d/5)"
       % (closed_now, delivered))
    time.sleep(AUTH_TIMEOUT + 2)
    still_open = 0
    for c in idle:
        c.settimeout(0.05)
        try:
            data = c.recv(65536)
            while data:
                data = c.recv(65536)
        except socket.timeout:
            still_open += 1
        except OSError:
            pass
        c.close()
    ok(still_open == 0, "the idle connections left are closed at auth_timeout "
       "(%d still open)" % still_open)
    late = connect_good()
    bid, p = next_batch()
    ok(deliver(late, p), "after the flood a sensor connects and delivers")
    late.close()

    rss1 = rss_kib(proc.pid)
    ok(rss1 - rss0 < 64 * 1024 and rss_flood - rss_before_flood < 32 * 1024,
       "collector memory stays bounded: VmRSS %d KiB at start, %d KiB in the "
       "flood (+%d), %d KiB at the end" % (rss0, rss_flood,
                                           rss_flood - rss_before_flood, rss1))
    ok(proc.poll() is None, "the collector is still running")
    # Stored exactly what was ACKed: the first batch, plus the others'.
    ok(int(psql("select sum(transactions) from artmon.level1")) == stored_batches(),
       "every stored batch's row is in artmon.level1 once (%d)" % stored_batches())
    good.close()
finally:
    proc.terminate()
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    log.close()
    ok(rc == 0, "the collector exits cleanly on SIGTERM (sanitizers quiet): %s" % rc,
       collector_log()[-3000:])
print("1..%d" % n)
sys.exit(1 if failed else 0)
