"""report_common.py: what the report tests share: a database loaded from
the corpus through the real sensor and collector, and artmon-report /
artmon-summarise as subprocesses.

The corpus captures last a few seconds each, all inside one 5-minute
interval of the night they were made.  To give the reports hours and days
to work on, each capture is replayed several times with its timestamps
shifted (a copy of the pcap with every record header moved by a whole
number of seconds; nothing else changes), placed relative to the current
hour so the data are always recent: retention never touches them and
`artmon-summarise --horizon 0` rolls all of them.  The sensor and the
collector are the real ones (collector_common.py), so level 1 holds what
a live deployment would have stored.

Used by report_e2e.py and report_html.py, run by .sh wrappers that start
a throwaway PostgreSQL (tests/pg.sh) with the schema applied.
"""
import json
import os
import struct
import subprocess
import time

from collector_common import (CORPUS, TMP, BUILD, Collector, ok, psql_csv,  # noqa: F401
                              sensor_args, spool_files, write_key)

REPORT = os.path.join(BUILD, "report", "artmon-report")
SUMMARISE = os.path.join(BUILD, "report", "artmon-summarise")
KEY = "report-shared-key-0123456789abcdef"

# The hour all placements count back from: the start of the current hour,
# read once, so one test run sees one layout.
HOUR = int(time.time()) // 3600 * 3600


def shift_pcap(src, dst, target):
    """Copy the classic pcap src to dst with its first packet at target
    (epoch seconds; the sub-second part and the gaps are kept).  Returns
    the shift in seconds."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("%s: not a classic pcap file" % src)
    first = struct.unpack_from(end + "I", data, 24)[0]
    shift = target - first
    off = 24
    while off + 16 <= len(data):
        ts, _sub, incl = struct.unpack_from(end + "III", data, off)
        struct.pack_into(end + "I", data, off, ts + shift)
        off += 16 + incl
    if off != len(data):
        raise ValueError("%s: truncated record at %d" % (src, off))
    with open(dst, "wb") as f:
        f.write(data)
    return shift


def have_imap():
    return os.path.exists(os.path.join(BUILD, "plugins", ".libs", "imap.so"))


# (sensor, capture, seconds after HOUR): the base layout.  Three recent
# hours and one placement more than a day back (another UTC day for the
# day rows of level 2), several sensors, every protocol.
def base_plan():
    plan = [
        ("r-web", "http.pcap", -5 * 3600 + 10 * 60),
        ("r-web", "http.pcap", -4 * 3600 + 40 * 60),
        ("r-web", "http.pcap", -3 * 3600 + 10 * 60),
        ("r-web", "http.pcap", -27 * 3600 + 20 * 60),
        ("r-mix", "mixed.pcap", -5 * 3600 + 10 * 60),
        ("r-mix", "mixed.pcap", -4 * 3600 + 10 * 60),
        ("r-mix", "mixed.pcap", -27 * 3600 + 20 * 60),
        ("r-dns", "dns.pcap", -5 * 3600 + 20 * 60),
        ("r-dns", "dns.pcap", -3 * 3600 + 5 * 60),
    ]
    if have_imap():
        plan.append(("r-mix", "imap.pcap", -4 * 3600 + 30 * 60))
    return plan


SENSORS = ("r-web", "r-mix", "r-dns")


class Loader:
    """A collector for the report sensors, and shipping shifted captures
    to it."""

    def __init__(self):
        self.keyfile = os.path.join(TMP, "report.key")
        write_key(self.keyfile, KEY)
        self.coll = Collector("report-collector", {s: KEY for s in SENSORS})
        self.n = 0

    def start(self):
        self.coll.start()

    def stop(self):
        return self.coll.stop()

    def ship_args(self, sensor, capture, offset, extra=()):
        """The sensor's command line shipping capture at HOUR + offset."""
        self.n += 1
        pcap = os.path.join(TMP, "r%d-%s" % (self.n, capture))
        shift_pcap(os.path.join(CORPUS, capture), pcap, HOUR + offset)
        spool = os.path.join(TMP, "r%d.spool" % self.n)
        return sensor_args(pcap, self.coll.port, sensor, self.keyfile, spool,
                           ["-o", "collector.drain_timeout=60s"] + list(extra)), spool

    def ship(self, sensor, capture, offset):
        args, spool = self.ship_args(sensor, capture, offset)
        out = subprocess.run(args, capture_output=True, text=True, timeout=600)
        return out.returncode == 0 and spool_files(spool) == 0, out.stderr[-2000:]


def run(prog, args, timeout=300, env=None):
    """(exit code, stdout, stderr) of a report program."""
    e = dict(os.environ)
    e["TZ"] = "UTC"
    if env:
        e.update(env)
    out = subprocess.run([prog] + list(args), capture_output=True, text=True,
                         timeout=timeout, env=e)
    return out.returncode, out.stdout, out.stderr


def report_json(args):
    """artmon-report ... --json: (exit code, parsed JSON or None, stderr)."""
    rc, out, err = run(REPORT, list(args) + ["--json"])
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err + "\nstdout: " + out[:2000]


def hist(s):
    """A {b,c,...} array (text) as a dict."""
    v = [int(x) for x in s.strip("{}").split(",") if x]
    return {v[i]: v[i + 1] for i in range(0, len(v), 2)}
