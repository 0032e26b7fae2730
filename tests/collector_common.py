"""collector_common.py: what the collector's end-to-end tests share.

TAP output, the real collector and sensor as subprocesses, the sensor's
`-S csv` summaries merged by key (late batches and restarts), and the
same rows read back from PostgreSQL (artmon.level1 / artmon.health).
Used by collector_corpus_e2e.py and collector_fault_replay.py, run by
collector_*.sh wrappers that start a throwaway PostgreSQL (tests/pg.sh)
and export PG* and PG_TMP.
"""
import csv
import io
import math
import os
import socket
import subprocess
import sys
import time

BUILD = os.environ.get("ARTMON_BUILDDIR", ".")
SRC = os.environ.get("ARTMON_SRCDIR", ".")
SHARED = os.environ.get("ARTMON_SHARED", os.path.join(SRC, "..", "shared"))
COLLECTOR = os.path.join(BUILD, "collector", "artmon-collector")
SENSOR = os.path.join(BUILD, "sensor", "artmon-sensor")
CORPUS = os.path.join(SHARED, "corpus")
TMP = os.environ.get("PG_TMP", "/tmp")
PORTS = ["-o", "http.ports=8080,9000"]

COUNTS = ["transactions", "errors", "retransmissions", "timeouts", "gaps",
          "midstream", "orphan_responses", "retries"]
METRICS = ["request_us", "ttfb_us", "ttlb_us", "handshake_rtt_us",
           "client_ack_us", "request_bytes", "response_bytes",
           "request_packets", "server_packets", "server_pkt_bytes",
           "server_mss", "server_window"]
HEALTH_SUMS = ["packets", "bytes", "kernel_drops", "iface_drops", "malformed",
               "flows_created", "flows_evicted", "gaps", "transactions",
               "output_dropped", "spool_dropped"]
HEALTH_MAX = ["flows_active", "clients_distinct", "client_ports_distinct"]

_n = 0
_failed = 0


def ok(cond, what, diag=""):
    global _n, _failed
    _n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (_n, what))
    if not cond:
        _failed += 1
        for line in str(diag).splitlines()[:40]:
            print("#   " + line)
    sys.stdout.flush()
    return cond


def done():
    print("1..%d" % _n)
    return 1 if _failed else 0


def tls_env():
    """The environment for a process that loads GIO's TLS module.

    GnuTLS comes in by dlopen, so its thread-locals are dynamic TLS, which
    the LeakSanitizer of GCC < 14 misreads and crashes on at exit
    (google/sanitizers#1322); its documented workaround keeps leak
    checking on.  (tests/sensor_shipping.py does the same.)"""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                           ":intercept_tls_get_addr=0").lstrip(":")
    return env


def sensor_ships():
    """The sensor has the [collector] shipper and --replay-speed."""
    if not os.path.exists(SENSOR):
        return False
    out = subprocess.run([SENSOR, "--help"], capture_output=True, text=True)
    return "--replay-speed" in out.stdout


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def psql_csv(sql):
    out = subprocess.run(["psql", "-X", "--csv", "-c", sql], capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("psql: %s" % out.stderr)
    return list(csv.DictReader(io.StringIO(out.stdout)))


def write_key(path, key):
    with open(path, "w") as f:
        f.write(key + "\n")
    os.chmod(path, 0o600)


class Collector:
    """The real collector in the foreground, restartable."""

    def __init__(self, name, sensors, port=None, extra_conf="", env=None):
        self.port = port or free_port()
        self.env = env
        self.conf = os.path.join(TMP, name + ".conf")
        self.logpath = os.path.join(TMP, name + ".log")
        with open(self.conf, "w") as f:
            f.write("[collector]\nlisten = 127.0.0.1\nport = %d\n%s\n[sensors]\n"
                    % (self.port, extra_conf))
            for s, k in sensors.items():
                f.write("%s = %s\n" % (s, k))
        os.chmod(self.conf, 0o600)
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        log = open(self.logpath, "a")
        log.write("---- start %d at %.1f\n" % (self.starts, time.time()))
        log.flush()
        self.proc = subprocess.Popen([COLLECTOR, "-c", self.conf, "--foreground"],
                                     stdout=log, stderr=subprocess.STDOUT,
                                     env=self.env)
        log.close()
        # Listening once the port accepts.
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("collector exited: %s" % self.log()[-2000:])
                time.sleep(0.05)
        raise RuntimeError("collector does not listen")

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self):
        """SIGTERM; the exit status (0 and sanitizers quiet)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9

    def log(self):
        with open(self.logpath) as f:
            return f.read()


def sensor_args(pcap, port, name, keyfile, spool, extra=()):
    return [SENSOR, "-r", pcap] + PORTS + [
        "-o", "spool_dir=" + spool,
        "-o", "collector.address=127.0.0.1",
        "-o", "collector.port=%d" % port,
        "-o", "collector.name=" + name,
        "-o", "collector.key_file=" + keyfile] + list(extra)


def sensor_csv(pcap, path, extra=()):
    """The sensor's own summaries of pcap (no collector)."""
    out = subprocess.run([SENSOR, "-r", pcap, "-S", "csv", "-w", path] + PORTS
                         + list(extra), capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError("sensor: %s" % out.stderr)
    return read_summary_csv(path)


def read_summary_csv(path):
    rows, health = [], []
    heads = {}
    with open(path) as f:
        for rec in csv.reader(f):
            if not rec:
                continue
            if rec[0].startswith("#"):
                heads[rec[0][1:]] = rec[1:]
                continue
            d = dict(zip(heads[rec[0]], rec[1:]))
            (rows if rec[0] == "summary" else health).append(d)
    return rows, health


def _int(v):
    return None if v in ("", None) else int(v)


def _hist_csv(s):
    h = {}
    for pair in filter(None, s.split(";")):
        b, c = pair.split(":")
        h[int(b)] = h.get(int(b), 0) + int(c)
    return h


def _hist_db(s):
    v = [int(x) for x in s.strip("{}").split(",") if x]
    return {v[i]: v[i + 1] for i in range(0, len(v), 2)}


def _key(r):
    return (int(r["interval_start"]), r["protocol"], r["signature"],
            r["server_addr"], int(r["server_port"]))


def merge_csv_rows(rows):
    """Rows with one key merged, as the collector must: exact values."""
    out = {}
    for r in rows:
        k = _key(r)
        d = out.setdefault(k, {"counts": {c: 0 for c in COUNTS},
                               "m": {m: [0, None, None, 0] for m in METRICS},
                               "ttfb": {}, "ttlb": {}, "n": 0})
        d["n"] += 1
        for c in COUNTS:
            d["counts"][c] += int(r[c])
        for m in METRICS:
            cnt = int(r[m + "_count"])
            if cnt == 0:
                continue
            a = d["m"][m]
            mn, mx = int(r[m + "_min"]), int(r[m + "_max"])
            a[1] = mn if a[1] is None else min(a[1], mn)
            a[2] = mx if a[2] is None else max(a[2], mx)
            a[0] += cnt
            a[3] += int(r[m + "_sum"])
        for h, col in (("ttfb", "ttfb_hist"), ("ttlb", "ttlb_hist")):
            for b, c in _hist_csv(r[col]).items():
                d[h][b] = d[h].get(b, 0) + c
    return out


def db_rows(sensor):
    rows = psql_csv("select extract(epoch from interval_start)::bigint as "
                    "t_epoch, * from artmon.level1 where sensor = '%s'"
                    % sensor.replace("'", "''"))
    out = {}
    for r in rows:
        k = (int(r["t_epoch"]), r["protocol"], r["signature"],
             r["server_addr"], int(r["server_port"]))
        if k in out:
            raise RuntimeError("two rows for one key %s" % (k,))
        out[k] = r
    return out


def bucket_value(b):
    return 0.0 if b == 0 else 1.1 ** (b - 1) * 2.2 / 2.1


def percentile(h, q):
    total = sum(h.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for b in sorted(h):
        seen += h[b]
        if seen >= rank:
            return bucket_value(b)
    return None


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def compare_rows(want, got):
    """want: merge_csv_rows(); got: db_rows().  A list of differences."""
    bad = []
    for k in sorted(set(want) - set(got)):
        bad.append("missing in the database: %s" % (k,))
    for k in sorted(set(got) - set(want)):
        bad.append("only in the database: %s" % (k,))
    for k in sorted(set(want) & set(got)):
        w, g = want[k], got[k]
        for c in COUNTS:
            if int(g[c]) != w["counts"][c]:
                bad.append("%s %s: db %s, sensor %s" % (k, c, g[c], w["counts"][c]))
        for m in METRICS:
            cnt, mn, mx, sm = w["m"][m]
            have = (int(g[m + "_count"]), _int(g[m + "_min"]), _int(g[m + "_max"]),
                    int(g[m + "_sum"]))
            if have != (cnt, mn, mx, sm):
                bad.append("%s %s: db %s, sensor %s" % (k, m, have, (cnt, mn, mx, sm)))
        for h in ("ttfb", "ttlb"):
            if _hist_db(g[h + "_hist"]) != w[h]:
                bad.append("%s %s_hist: db %s, sensor %s" % (k, h, g[h + "_hist"], w[h]))
            cnt, mn, mx, sm = w["m"][h + "_us"]
            derived = {
                "min": None if cnt == 0 else mn / 1000.0,
                "max": None if cnt == 0 else mx / 1000.0,
                "avg": None if cnt == 0 else sm / cnt / 1000.0,
                "p50": None if not w[h] else percentile(w[h], 0.50) / 1000.0,
                "p95": None if not w[h] else percentile(w[h], 0.95) / 1000.0,
                "p99": None if not w[h] else percentile(w[h], 0.99) / 1000.0,
            }
            for name, v in derived.items():
                col = "%s_%s_ms" % (h, name)
                gv = None if g[col] == "" else float(g[col])
                if not close(gv, v):
                    bad.append("%s %s: db %s, from the sensor %s" % (k, col, gv, v))
    return bad


def merge_csv_health(health):
    out = {}
    for h in health:
        k = int(h["interval_start"])
        d = out.setdefault(k, {f: 0 for f in HEALTH_SUMS + HEALTH_MAX})
        for f in HEALTH_SUMS:
            d[f] += int(h[f])
        for f in HEALTH_MAX:
            d[f] = max(d[f], int(h[f]))
    return out


def db_health(sensor):
    rows = psql_csv("select extract(epoch from interval_start)::bigint as "
                    "t_epoch, * from artmon.health where sensor = '%s'"
                    % sensor.replace("'", "''"))
    return {int(r["t_epoch"]): {f: int(r[f]) for f in HEALTH_SUMS + HEALTH_MAX}
            for r in rows}


def spool_files(spool):
    n = 0
    for root, dirs, files in os.walk(spool):
        if os.path.basename(root) in ("rejected", "corrupt"):
            continue
        n += sum(1 for f in files if not f.startswith("."))
    return n
