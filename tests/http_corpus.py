#!/usr/bin/env python3
"""http_corpus.py: the HTTP plugin against tshark on real nginx captures.

For each corpus capture (http.pcap, mixed.pcap under $ARTMON_SHARED/corpus)
this runs the real artmon-sensor of the build tree with the default rules
(etc/artmon/http.sigs) and the HTTP plugin on ports 8080 (nginx) and 9000
(the python backend behind it), and checks every row of the capture's
tshark truth (X.http.csv: one row per HTTP response; rows with a note,
the interim 100 Continue, are dropped) against artmon's transactions:

  - each connection (client, server) has as many transactions as tshark
    has responses, and the n-th transaction is the n-th response;
  - start is the request's first segment (req_first_time), to the us;
  - status is tshark's http.response.code;
  - the signature is METHOD_path, the path without query or fragment
    (what the default rule $1_$2 on "^([A-Z][A-Z-]*) ([^\\s?#]*)" gives);
  - ttlb_us == round(http_time * 1e6): tshark's http.time runs from the
    frame completing the request to the frame completing the response;
  - ttfb_us == round(ttfb * 1e6): to the response's first segment;

and that artmon reports no HTTP transaction on those servers that tshark
does not have, and counts no malformed message, orphan response or
unanswered request (the corpus has none).

Output is TAP; every mismatch is listed with its row.  python3 standard
library only.
"""
import csv
import decimal
import io
import os
import subprocess
import sys
from urllib.parse import urlsplit

D = decimal.Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_common import Tap, us, sensor_counters  # noqa: E402
PCAPS = ("http", "mixed")
SERVERS = ("127.0.0.2:8080", "127.0.0.2:9000")
CHECKS_PER_PCAP = 8
MAX_DIAG = 20


def signature(row):
    path = urlsplit(row["uri"]).path if "://" not in row["uri"] \
        else row["uri"].split("?")[0].split("#")[0]
    return "%s_%s" % (row["method"], path)


def describe(row):
    return ("stream %s %s -> %s %s %s status %s (frames %s..%s, resp %s..%s)"
            % (row["tcp_stream"], row["client"], row["server"], row["method"],
               row["uri"], row["status"], row["req_first_frame"],
               row["req_frame"], row["resp_first_frame"], row["resp_frame"]))


def run_sensor(build, src, pcap):
    cmd = [os.path.join(build, "sensor", "artmon-sensor"), "-r", pcap,
           "-t", "csv", "-o", "http.ports=8080,9000",
           "--plugin-dir", os.path.join(build, "plugins", ".libs"),
           "--sigs-dir", os.path.join(src, "etc", "artmon")]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=300)
    return cmd, p


def check_pcap(tap, name, build, src, corpus):
    pcap = os.path.join(corpus, name + ".pcap")
    with open(os.path.join(corpus, name + ".http.csv"), newline="") as f:
        rows = [r for r in csv.DictReader(f)
                if not r["note"] and r["server"] in SERVERS]

    cmd, p = run_sensor(build, src, pcap)
    txns = []
    try:
        txns = list(csv.DictReader(io.StringIO(p.stdout)))
    except csv.Error as e:
        p.stderr += "\nCSV: %s" % e
    http = [t for t in txns if t.get("protocol") == "http"]
    ok = p.returncode == 0 and bool(txns) and "ttlb_us" in txns[0]
    tap.result(ok, "%s: sensor ran and printed %d CSV transactions"
               % (name, len(txns)),
               [] if ok else ["command: " + " ".join(cmd),
                              "exit: %d" % p.returncode]
               + ["stderr: " + l for l in p.stderr.splitlines()])

    # Pair the n-th response of a connection with its n-th transaction.
    want, got = {}, {}
    for r in rows:
        want.setdefault((r["client"], r["server"]), []).append(r)
    for t in http:
        if t["server"] in SERVERS:
            got.setdefault((t["client"], t["server"]), []).append(t)
    for lst in want.values():
        lst.sort(key=lambda r: (us(r["req_first_time"]), int(r["resp_frame"])))
    for lst in got.values():
        lst.sort(key=lambda t: us(t["start"]))

    pairs, count_bad, extra = [], [], []
    per_server = {s: 0 for s in SERVERS}
    for key, wl in sorted(want.items()):
        gl = got.get(key, [])
        if len(gl) != len(wl):
            count_bad.append("%s -> %s: %d transactions, tshark has %d "
                             "responses; first: %s"
                             % (key[0], key[1], len(gl), len(wl),
                                describe(wl[0])))
        for r, t in zip(wl, gl):
            pairs.append((r, t))
            per_server[key[1]] += 1
        for t in gl[len(wl):]:
            extra.append("extra: " + ",".join(t.values()))
    for key, gl in sorted(got.items()):
        if key not in want:
            extra += ["extra (no tshark response on this connection): "
                      + ",".join(t.values()) for t in gl]

    per = ", ".join("%s %d" % kv for kv in sorted(per_server.items()))
    tap.result(not count_bad and len(pairs) == len(rows) and rows,
               "%s: each of the %d tshark responses is one transaction (%s)"
               % (name, len(rows), per), count_bad)

    def field_check(desc, fn):
        bad = []
        for r, t in pairs:
            msg = fn(r, t)
            if msg:
                bad.append("%s: %s" % (describe(r), msg))
        tap.result(not bad and pairs, "%s: %s" % (name, desc), bad)

    field_check("start is the request's first segment",
                lambda r, t: None if us(t["start"]) == us(r["req_first_time"])
                else "start %s, tshark req_first_time %s"
                % (t["start"], r["req_first_time"]))
    field_check("status is tshark's response code",
                lambda r, t: None if t["status"] == r["status"]
                else "status %r" % t["status"])
    field_check("signature is METHOD_path",
                lambda r, t: None if t["signature"] == signature(r)
                else "signature %r, want %r" % (t["signature"], signature(r)))
    field_check("ttlb_us equals tshark's http.time",
                lambda r, t: None if t["ttlb_us"] and
                D(t["ttlb_us"]) == us(r["http_time"])
                else "ttlb_us %r, tshark http_time %s (%d us)"
                % (t["ttlb_us"], r["http_time"], us(r["http_time"])))
    field_check("ttfb_us equals tshark's ttfb",
                lambda r, t: None if t["ttfb_us"] and
                D(t["ttfb_us"]) == us(r["ttfb"])
                else "ttfb_us %r, tshark ttfb %s (%d us)"
                % (t["ttfb_us"], r["ttfb"], us(r["ttfb"])))

    c = sensor_counters(p.stderr, "http")
    diag = list(extra)
    if c is None:
        diag.append("no 'transactions http:' line in stderr")
    else:
        for key in ("malformed", "responses without request", "unanswered",
                    "unmeasured"):
            if c.get(key) != 0:
                diag.append("%s: %s (want 0)" % (key, c.get(key)))
    tap.result(not diag,
               "%s: no transaction tshark does not have; no malformed, "
               "orphan or unanswered" % name, diag)


def main():
    build = os.environ.get("ARTMON_BUILDDIR", ".")
    src = os.environ.get("ARTMON_SRCDIR",
                         os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__))))
    shared = os.environ.get("ARTMON_SHARED") or \
        os.path.join(src, "..", "shared")
    corpus = os.path.join(shared, "corpus")
    sensor = os.path.join(build, "sensor", "artmon-sensor")

    if not all(os.path.exists(os.path.join(corpus, n + ext))
               for n in PCAPS for ext in (".pcap", ".http.csv")):
        print("1..0 # SKIP no HTTP corpus in %s" % corpus)
        return 0
    if not os.access(sensor, os.X_OK):
        print("1..0 # SKIP no sensor at %s" % sensor)
        return 0

    tap = Tap(CHECKS_PER_PCAP * len(PCAPS), MAX_DIAG)
    for name in PCAPS:
        check_pcap(tap, name, build, src, corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
