"""hostile_bounds.py: hostile traffic against the sensor's caps, with peak RSS.

Each case writes a crafted capture (tests/pcapcraft.py), runs
artmon-sensor on it with every plugin, per-transaction and summary output
(-t csv -S csv), and checks that it finishes (exit 0, within a time
limit), that the cap in question did its work (the counter that says
so), and that its peak RSS (getrusage's ru_maxrss, i.e. VmHWM) stays within
the bound docs/security.md gives for that cap: the RSS of the same
command on an empty capture plus the case's terms of the formula there,
plus 4 MiB of allocator slack.

  syn-flood         300000 SYNs from random addresses, max_flows 20000:
                    the table holds 20000, evicts the rest, and memory is
                    flat (the same as after 150000 SYNs)
  ooo-never-filled  a response whose first segment never comes, followed
                    by 16 MB: the per-flow out-of-order cap holds
  ooo-many-flows    100 such flows, each past its own 128 KiB cap, under
                    a 4 MiB total: the total cap holds
  http-10mb-line    "GET /" and then 10 MB without a newline
  dns-loops         DNS names whose compression pointers point at
                    themselves, forwards, and at each other, UDP and TCP
  imap-4gb-literal  APPEND with a literal of 4 GiB, and one of 2^64-1
  rule-huge-name    a rule "ALL_$1" whose $1 is the whole request head of
                    3000 distinct 3 KiB heads: names are cut at 200
                    bytes and capped at max_names
  urls-20000        20000 distinct URLs under the default $1_$2 rule:
                    10000 names, the rest folded into its overflow name

Then, live (root only): the sensor on a network namespace's loopback,
hostile frames sent at it through a packet socket, then five real HTTP
requests: it is still running, it summarises those five, its peak RSS
(VmHWM) stayed within the bound, and SIGTERM stops it cleanly.

RSS is measured on a plain build: ARTMON_PLAIN_BUILDDIR names one
(./run-tests passes its build/); otherwise, and always under ASan, whose
shadow memory and quarantine make RSS meaningless, the RSS checks are
skipped and the rest still runs.  Prints TAP.
"""
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapcraft import C2S, S2C, SYN, MSS, Conn, PcapWriter  # noqa: E402

SRC = os.environ.get("ARTMON_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("ARTMON_BUILDDIR", ".")
PLAIN = os.environ.get("ARTMON_PLAIN_BUILDDIR", "")

MiB = 1 << 20
SLACK = 4 * MiB
FLOW_BYTES = 168            # struct flow, on LP64 (sensor/flow.h)
NAME_BYTES = 400            # an interned name: 200 + hash entry + headers
ROW_BYTES = 1536            # a summary row, its strings and histograms
T0 = 1700000000 * 1000000   # capture start, microseconds

n = 0
fails = 0


def ok(cond, what, diag=""):
    global n, fails
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        fails += 1
    if diag and (not cond or os.environ.get("VERBOSE")):
        for line in str(diag).splitlines()[-25:]:
            print("# " + line)
    sys.stdout.flush()


def skip(what, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, what, why))


def sensor_path():
    """(binary, rss_meaningful)."""
    if PLAIN and os.access(os.path.join(PLAIN, "sensor", "artmon-sensor"), os.X_OK):
        return os.path.join(PLAIN, "sensor", "artmon-sensor"), True
    b = os.path.join(BUILD, "sensor", "artmon-sensor")
    with open(b, "rb") as f:
        asan = b"__asan_init" in f.read()
    return b, not asan


SENSOR, RSS_OK = sensor_path()
TIME = shutil.which("time", path="/usr/bin:/bin") if os.path.exists("/usr/bin/time") else None
RSS_OK = RSS_OK and TIME is not None
TMP = tempfile.mkdtemp(prefix="artmon-hostile-")


def run(pcap, *args, timeout=120):
    """Run the sensor on pcap; (rc, stderr, stdout, peak RSS bytes, secs).

    The peak comes from GNU time (%M), not from our own wait4(): a child's
    maxrss starts at its parent's RSS when forked, and this Python
    process, which built the capture, is larger than the sensor."""
    rssfile = os.path.join(TMP, "rss")
    cmd = [SENSOR, "-r", pcap, "-t", "csv", "-S", "csv",
           "-w", os.path.join(TMP, "summaries.csv")] + list(args)
    if TIME:
        cmd = [TIME, "-f", "%M", "-o", rssfile, "--"] + cmd
    out = open(os.path.join(TMP, "txns.csv"), "w+")
    err = open(os.path.join(TMP, "stderr"), "w+")
    t = time.monotonic()
    try:
        rc = subprocess.run(cmd, stdout=out, stderr=err, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        rc = -1
    secs = time.monotonic() - t
    err.seek(0)
    out.seek(0)
    e, o = err.read(), out.read()
    err.close()
    out.close()
    rss = 0
    if TIME and rc != -1:
        with open(rssfile) as f:
            lines = f.read().split()
        rss = int(lines[-1]) * 1024 if lines else 0
    return rc, e, o, rss, secs


def counter(text, pattern):
    m = re.search(pattern, text, re.M)
    return int(m.group(1)) if m else -1


def check_rss(name, rss, base, extra, why):
    bound = base + extra + SLACK
    what = "%s: peak RSS %.1f MiB within the bound %.1f MiB (empty run %.1f + %s + slack 4)" % (
        name, rss / MiB, bound / MiB, base / MiB, why)
    if RSS_OK:
        ok(rss <= bound, what)
    else:
        skip(what, "no plain build (ASan's RSS is not the sensor's) or no GNU time")


BASE = {}


def baseline(*args):
    """Peak RSS of the same options on an empty capture."""
    key = args
    if key not in BASE:
        p = os.path.join(TMP, "empty.pcap")
        PcapWriter(p).close()
        rc, e, _o, rss, _s = run(p, *args)
        if rc != 0:
            raise SystemExit("sensor fails on an empty capture: %s" % e)
        BASE[key] = rss
    return BASE[key]


def finished(name, rc, secs, err, limit):
    ok(rc == 0 and secs < limit,
       "%s: the sensor finishes normally (exit %d in %.1f s)" % (name, rc, secs), err)


# ---------------------------------------------------------------- cases

def syn_flood():
    rng = random.Random(7)
    args = ("-o", "max_flows=20000", "--plugins", "http")
    base = baseline(*args)
    results = {}
    # Both past every cap: 20000 flows, and 100000 distinct clients in the
    # health row's exact set (beyond it a fixed-size HyperLogLog).
    for count in (150000, 300000):
        p = os.path.join(TMP, "syn%d.pcap" % count)
        w = PcapWriter(p)
        for i in range(count):
            src = "10.%d.%d.%d" % (rng.randrange(1, 255), rng.randrange(256), rng.randrange(1, 255))
            w.tcp(T0 + i * 5, src, rng.randrange(1024, 65535), "10.0.0.1", 80,
                  rng.getrandbits(32), 0, SYN)
        w.close()
        results[count] = run(p, *args)
        os.unlink(p)
    rc, e, _o, rss, secs = results[300000]
    finished("syn-flood", rc, secs, e, 60)
    created = counter(e, r"^flows created: (\d+)")
    evicted = counter(e, r"^flows evicted: (\d+)")
    peak = counter(e, r"^flows active: \d+ \(peak (\d+)\)")
    ok(created == 300000 and evicted == 280000 and peak == 20000,
       "syn-flood: the flow cap holds: %d created, %d evicted, peak %d of 20000"
       % (created, evicted, peak), e)
    check_rss("syn-flood", rss, base, 20000 * FLOW_BYTES + 4 * 32768 + 2 * MiB,
              "20000 flows x 168 B + buckets + 2 MiB client set")
    small = results[150000][3]
    if RSS_OK:
        ok(rss - small < 1 * MiB,
           "syn-flood: memory is flat: %.1f MiB after 150000 SYNs, %.1f MiB after 300000"
           % (small / MiB, rss / MiB))
    else:
        skip("syn-flood: memory is flat", "no plain build")


def ooo_never_filled():
    args = ("--plugins", "http")
    base = baseline(*args)
    p = os.path.join(TMP, "ooo.pcap")
    w = PcapWriter(p)
    c = Conn(w, "10.0.0.9", 40000, "10.0.0.1", 80)
    t = c.handshake(T0)
    t = c.send(C2S, b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n", t)
    c.skip(S2C, MSS)                # the first segment of the answer: never seen
    chunk = b"x" * MSS
    for i in range(16 * MiB // MSS):
        c._send(S2C, t, 0x18, chunk)
        c.seq[S2C] += MSS
        t += 5
    w.close()
    rc, e, _o, rss, secs = run(p, *args)
    os.unlink(p)
    finished("ooo-never-filled", rc, secs, e, 60)
    ooo = counter(e, r"^out-of-order segments: (\d+)")
    over = counter(e, r"buffer overflows (\d+)\)")
    ok(over > 0 and ooo > 0,
       "ooo-never-filled: the 1 MiB per-flow buffer overflowed (%d times) and "
       "delivery went on (%d segments waited)" % (over, ooo), e)
    check_rss("ooo-never-filled", rss, base, 1 * MiB, "reassembly_flow_bytes 1 MiB")


def ooo_many_flows():
    args = ("--plugins", "http", "-o", "reassembly_flow_bytes=128k",
            "-o", "reassembly_total_bytes=4M")
    base = baseline(*args)
    p = os.path.join(TMP, "ooo-many.pcap")
    w = PcapWriter(p)
    conns = []
    t = T0
    for i in range(100):
        c = Conn(w, "10.0.1.%d" % (i + 1), 40000 + i, "10.0.0.1", 80)
        t = c.handshake(t)
        t = c.send(C2S, b"GET / HTTP/1.1\r\n\r\n", t)
        c.skip(S2C, MSS)
        conns.append(c)
    chunk = b"y" * MSS
    for k in range(200 * 1024 // MSS):     # 200 KiB each, past the 128 KiB cap
        for c in conns:
            c._send(S2C, t, 0x18, chunk)
            c.seq[S2C] += MSS
            t += 2
    w.close()
    rc, e, _o, rss, secs = run(p, *args)
    os.unlink(p)
    finished("ooo-many-flows", rc, secs, e, 60)
    over = counter(e, r"buffer overflows (\d+)\)")
    ok(over >= 100, "ooo-many-flows: 100 flows x 200 KiB waiting met the caps "
       "(%d overflows)" % over, e)
    check_rss("ooo-many-flows", rss, base, 4 * MiB, "reassembly_total_bytes 4 MiB")


def http_10mb_line():
    args = ("--plugins", "http")
    base = baseline(*args)
    p = os.path.join(TMP, "line.pcap")
    w = PcapWriter(p)
    c = Conn(w, "10.0.0.9", 40001, "10.0.0.1", 80)
    t = c.handshake(T0)
    t = c.send(C2S, b"GET /" + b"A" * (10 * MiB), t, step=2)
    c.fin(C2S, t)
    w.close()
    rc, e, _o, rss, secs = run(p, *args)
    os.unlink(p)
    finished("http-10mb-line", rc, secs, e, 60)
    mal = counter(e, r"^transactions http: .*malformed (\d+)")
    ok(mal >= 1, "http-10mb-line: the line is refused past 8 KiB (malformed %d)" % mal, e)
    check_rss("http-10mb-line", rss, base, 0, "one 8 KiB line buffer")


def dns_name(labels):
    return b"".join(bytes([len(x)]) + x for x in labels)


def dns_loops():
    args = ("--plugins", "dns")
    base = baseline(*args)
    p = os.path.join(TMP, "dns.pcap")
    w = PcapWriter(p)
    hdr_q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    hdr_r = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0)
    bad_names = [
        b"\xc0\x0c",                    # points at itself
        b"\xc0\x0e\xc0\x0c",            # two pointers at each other
        b"\x01a\xc0\x0c",               # a label, then back to its own start
        b"\xc0\xff",                    # forwards, past the end
        b"\x3f" + b"b" * 63 + b"\xc0\x0c",
    ]
    t = T0
    for i, name in enumerate(bad_names):
        for hdr in (hdr_q, hdr_r):
            msg = hdr + name + b"\x00\x01\x00\x01"
            src, dst = ("10.0.0.9", "10.0.0.53") if hdr is hdr_q else ("10.0.0.53", "10.0.0.9")
            sp, dp = (5000 + i, 53) if hdr is hdr_q else (53, 5000 + i)
            w.udp(t, src, sp, dst, dp, msg)
            t += 100
        c = Conn(w, "10.0.0.9", 41000 + i, "10.0.0.53", 53)
        t = c.handshake(t)
        m = hdr_q + name + b"\x00\x01\x00\x01"
        t = c.send(C2S, struct.pack(">H", len(m)) + m, t)
        m = hdr_r + name + b"\x00\x01\x00\x01"
        t = c.send(S2C, struct.pack(">H", len(m)) + m, t)
    w.close()
    rc, e, _o, rss, secs = run(p, *args)
    os.unlink(p)
    finished("dns-loops", rc, secs, e, 10)
    mal = counter(e, r"^transactions dns: .*malformed (\d+)")
    ok(mal >= 10, "dns-loops: every looping name is malformed (%d)" % mal, e)
    check_rss("dns-loops", rss, base, 0, "nothing")


def imap_4gb_literal():
    args = ("--plugins", "imap")
    base = baseline(*args)
    p = os.path.join(TMP, "imap.pcap")
    w = PcapWriter(p)
    t = T0
    for i, size in enumerate((4 * 1024 ** 3, 2 ** 64 - 1, 2 ** 70)):
        c = Conn(w, "10.0.0.9", 42000 + i, "10.0.0.1", 143)
        t = c.handshake(t)
        t = c.send(S2C, b"* OK IMAP4rev1 ready\r\n", t)
        t = c.send(C2S, b"a1 LOGIN user pass\r\n", t)
        t = c.send(S2C, b"a1 OK LOGIN done\r\n", t)
        t = c.send(C2S, b"a2 APPEND INBOX {%d}\r\n" % size, t)
        t = c.send(S2C, b"+ go ahead\r\n", t)
        t = c.send(C2S, b"Z" * (2 * MiB), t, step=2)
        c.fin(C2S, t)
    w.close()
    rc, e, _o, rss, secs = run(p, *args)
    os.unlink(p)
    finished("imap-4gb-literal", rc, secs, e, 60)
    txns = counter(e, r"^transactions imap: (\d+)")
    ok(txns >= 3, "imap-4gb-literal: the logins before the literals are measured "
       "(%d transactions)" % txns, e)
    check_rss("imap-4gb-literal", rss, base, 0, "nothing: literals are counted, not kept")


def http_requests(w, urls, per_conn, t, host_pad=b""):
    """Lock-step keep-alive requests for urls over connections of per_conn."""
    for ci in range(0, len(urls), per_conn):
        c = Conn(w, "10.0.%d.%d" % (ci // 250 % 250, ci % 250 + 1), 40000 + ci % 20000,
                 "10.0.0.1", 80)
        t = c.handshake(t)
        for u in urls[ci:ci + per_conn]:
            t = c.send(C2S, b"GET " + u + b" HTTP/1.1\r\nHost: x\r\n" + host_pad + b"\r\n", t, step=3)
            t = c.send(S2C, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", t, step=3)
        c.fin(C2S, t)
        t += 3
        c.fin(S2C, t)
        t += 3
        c.ack(C2S, t)
        t += 1000
    return t


def rule_huge_name():
    sigs = os.path.join(TMP, "sigs")
    os.makedirs(sigs, exist_ok=True)
    with open(os.path.join(sigs, "http.sigs"), "w") as f:
        f.write('transaction ALL_$1 {\n    Content =~ "([\\s\\S]*)";\n}\n')
    args = ("--plugins", "http", "--sigs-dir", sigs, "-o", "max_names=1000")
    base = baseline(*args)
    p = os.path.join(TMP, "huge.pcap")
    w = PcapWriter(p)
    urls = [b"/%05d/" % i + b"q" * 3000 for i in range(3000)]
    http_requests(w, urls, 100, T0)
    w.close()
    rc, e, o, rss, secs = run(p, *args)
    os.unlink(p)
    finished("rule-huge-name", rc, secs, e, 60)
    sigs_seen = [line.split(",")[2] for line in o.splitlines()[1:] if line.count(",") >= 3]
    longest = max((len(s) for s in sigs_seen), default=0)
    names = counter(e, r"^transactions http: .*names (\d+)")
    ok(len(sigs_seen) == 3000 and 0 < longest <= 200 and 0 < names <= 1000 + 2,
       "rule-huge-name: 3000 transactions, names cut at 200 bytes (longest %d), "
       "%d names for max_names 1000" % (longest, names), e)
    check_rss("rule-huge-name", rss, base, 1002 * (NAME_BYTES + ROW_BYTES),
              "1002 x (name 400 B + summary row 1.5 KiB)")


def urls_20000():
    args = ("--plugins", "http")
    base = baseline(*args)
    p = os.path.join(TMP, "urls.pcap")
    w = PcapWriter(p)
    urls = [b"/page/%06d" % i for i in range(20000)]
    http_requests(w, urls, 500, T0)
    w.close()
    rc, e, o, rss, secs = run(p, *args)
    os.unlink(p)
    finished("urls-20000", rc, secs, e, 60)
    names = counter(e, r"^transactions http: .*names (\d+)")
    folded = counter(e, r"^transactions http: .*folded (\d+)\)")
    overflow = o.count(",$1_$2_overflow,")
    ok(names == 10002 and folded == 10000 and overflow == 10000,
       "urls-20000: 10000 names kept (+ the default and $1_$2_overflow: %d), %d "
       "folded, %d transactions named $1_$2_overflow" % (names, folded, overflow), e)
    check_rss("urls-20000", rss, base, 10002 * (NAME_BYTES + ROW_BYTES),
              "10002 x (name 400 B + summary row 1.5 KiB)")


# ---------------------------------------------------------------- live

def vm(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def live():
    """The sensor live on a namespace's loopback: hostile frames sent at it
    (AF_PACKET), then real HTTP: it is still running, still counting,
    and its peak RSS stayed within the bound."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        skip("live: the sensor survives hostile traffic and still counts", "needs root and iproute2")
        return
    ns = "artmon-hostile-%d" % os.getpid()
    if subprocess.run(["ip", "netns", "add", ns]).returncode != 0:
        skip("live: the sensor survives hostile traffic and still counts", "no network namespace")
        return
    procs = []
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", "127.0.0.2/8", "dev", "lo"])
        rng = random.Random(11)
        caps = []
        p = os.path.join(TMP, "live-syn.pcap")
        w = PcapWriter(p)
        for i in range(60000):
            w.tcp(T0 + i, "10.%d.%d.%d" % (rng.randrange(1, 255), rng.randrange(256),
                                          rng.randrange(1, 255)),
                  rng.randrange(1024, 65535), "10.0.0.1", 80, rng.getrandbits(32), 0, SYN)
        w.close()
        caps.append(p)
        p = os.path.join(TMP, "live-misc.pcap")
        w = PcapWriter(p)
        c = Conn(w, "10.0.0.9", 40001, "10.0.0.1", 80)
        t = c.handshake(T0)
        t = c.send(C2S, b"GET /" + b"A" * (4 * MiB), t, step=2)
        c = Conn(w, "10.0.0.9", 42000, "10.0.0.1", 143)
        t = c.handshake(t)
        t = c.send(S2C, b"* OK ready\r\n", t)
        t = c.send(C2S, b"a1 APPEND INBOX {4294967296}\r\n", t)
        t = c.send(C2S, b"Z" * MiB, t, step=2)
        for name in (b"\xc0\x0c", b"\xc0\x0e\xc0\x0c"):
            m = struct.pack(">HHHHHH", 7, 0x100, 1, 0, 0, 0) + name + b"\0\1\0\1"
            w.udp(t, "10.0.0.9", 5353, "10.0.0.53", 53, m)
        w.close()
        caps.append(p)
        summ = os.path.join(TMP, "live.csv")
        cmd = ["ip", "netns", "exec", ns, SENSOR, "-i", "lo", "--foreground", "-u", "nobody",
               "-B", "4096", "-S", "csv", "-w", summ, "-o", "http.ports=80,8080",
               "-o", "max_flows=5000", "-o", "interval=2s", "-o", "grace=1s"]
        err = open(os.path.join(TMP, "live.err"), "w+")
        sensor = subprocess.Popen(cmd, stderr=err)
        procs.append(sensor)
        www = os.path.join(TMP, "www")
        os.makedirs(www, exist_ok=True)
        os.chmod(TMP, 0o755)
        with open(os.path.join(www, "alive"), "w") as f:
            f.write("yes\n")
        server = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-m", "http.server",
                                   "8080", "--bind", "127.0.0.2", "--directory", www],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(server)
        time.sleep(1.5)
        pid = int(subprocess.run(["pgrep", "-f", "-n", "artmon-sensor -i lo --foreground -u nobody"],
                                 capture_output=True, text=True).stdout.split()[0])
        start = vm(pid, "VmHWM")
        sent = subprocess.run(["ip", "netns", "exec", ns, "python3",
                               os.path.join(os.path.dirname(os.path.abspath(__file__)), "pcapcraft.py"),
                               "replay", "lo"] + caps, capture_output=True, text=True)
        alive = sensor.poll() is None
        get = ("import urllib.request\nfor i in range(5):\n"
               "    urllib.request.urlopen('http://127.0.0.2:8080/alive', timeout=5).read()\n")
        fetched = subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", get]).returncode == 0
        counted = 0
        for _ in range(80):
            time.sleep(0.1)
            try:
                with open(summ) as f:
                    counted = sum(int(r.split(",")[7]) for r in f
                                  if r.startswith("summary,") and ",GET_/alive," in r)
            except (OSError, ValueError, IndexError):
                pass
            if counted >= 5:
                break
        hwm = vm(pid, "VmHWM") if sensor.poll() is None else 0
        ok(alive and sensor.poll() is None,
           "live: the sensor is still running after %s hostile frames (SYN flood, "
           "a 4 MiB line, a 4 GiB literal, DNS loops)" % sent.stdout.strip(), sent.stderr)
        ok(fetched and counted == 5,
           "live: and still counting: 5 requests after the flood, %d summarised" % counted)
        extra = 4 * MiB + 5000 * FLOW_BYTES + 4 * 8192 + 2 * MiB + 1 * MiB
        what = ("live: peak RSS %.1f MiB within %.1f MiB (%.1f at start + 4 MiB capture "
                "buffer + 5000 flows + client set + a reassembly buffer + slack 4)"
                % (hwm / MiB, (start + extra + SLACK) / MiB, start / MiB))
        if RSS_OK:
            ok(0 < hwm <= start + extra + SLACK, what)
        else:
            skip(what, "no plain build")
        sensor.terminate()
        rc = sensor.wait(timeout=20)
        err.seek(0)
        e = err.read()
        created = counter(e, r"^flows created: (\d+)")
        evicted = counter(e, r"^flows evicted: (\d+)")
        drops = counter(e, r"^kernel drops: (\d+)")
        ok(rc == 0 and created > 5000 and evicted > 0,
           "live: SIGTERM: it exits 0 (got %d); it saw the flood: %d flows created, "
           "%d evicted by the cap of 5000 (%d packets the kernel dropped)"
           % (rc, created, evicted, drops), e)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "del", ns])


def main():
    print("# sensor: %s (RSS %s)" % (SENSOR, "checked" if RSS_OK else "not checked"))
    try:
        for case in (syn_flood, ooo_never_filled, ooo_many_flows, http_10mb_line,
                     dns_loops, imap_4gb_literal, rule_huge_name, urls_20000, live):
            case()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    for k, v in BASE.items():
        print("# empty-capture RSS %s: %.1f MiB" % (" ".join(k), v / MiB))
    print("1..%d" % n)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
