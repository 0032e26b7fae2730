#!/usr/bin/env python3
"""dns_corpus.py: the DNS plugin against tshark on real unbound captures.

For each corpus capture (dns.pcap, mixed.pcap under $ARTMON_SHARED/corpus)
this runs artmon-sensor with only the dns plugin and a rules file that
names every transaction "<QTYPE>:<qname>", then checks that every row of
the capture's tshark truth (X.dns.csv, one row per DNS response) is exactly
one artmon transaction:

  - same transport, client and server, start == req_time to the
    microsecond (the query frame), same qtype and qname;
  - status == the rcode name, error for SERVFAIL/REFUSED and not for
    NOERROR/NXDOMAIN;
  - ttlb_us == round(dns_time * 1e6) exactly: tshark's dns.time runs from
    the query frame to the response frame, as ttlb does;

and that artmon reports no DNS transaction tshark does not have, and counts
no malformed message, orphan response or unanswered query (the corpus has
none).  The DNS ID is not in the output; matching on client, server and
start time and then checking the timing proves the ID matching.

Output is TAP.  python3 standard library only.
"""
import csv
import decimal
import json
import os
import subprocess
import sys
import tempfile

D = decimal.Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_common import Tap, us, sensor_counters, parse_txns  # noqa: E402
PCAPS = ("dns", "mixed")
CHECKS_PER_PCAP = 6
RULES = 'transaction $1:$2 { Content =~ "^(\\S+) (\\S+)$"; }\n'
MAX_DIAG = 15


def run_sensor(sensor, plugin_dir, pcap, sigs_dir):
    cmd = [sensor, "-r", pcap, "-t", "json", "--plugins", "dns",
           "--plugin-dir", plugin_dir, "--sigs-dir", sigs_dir]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=300)
    return cmd, p


def row_key(row):
    qname = row["qname"]
    if qname == "<Root>":
        qname = "."
    return (row["transport"], row["client"], row["server"],
            us(row["req_time"]), row["qtype"], qname.lower())


def txn_key(t):
    qtype, _, qname = t["signature"].partition(":")
    return (t["transport"], t["client"], t["server"], us(str(t["start"])),
            qtype, qname)


def check_pcap(tap, name, sensor, plugin_dir, corpus, sigs_dir):
    pcap = os.path.join(corpus, name + ".pcap")
    truth = os.path.join(corpus, name + ".dns.csv")
    with open(truth, newline="") as f:
        rows = list(csv.DictReader(f))

    cmd, p = run_sensor(sensor, plugin_dir, pcap, sigs_dir)
    txns, bad_lines = parse_txns(p.stdout)
    dns = [t for t in txns if t.get("protocol") == "dns"]
    tap.result(p.returncode == 0 and not bad_lines and len(dns) == len(txns),
               "%s: sensor ran and printed %d JSON transactions"
               % (name, len(txns)),
               ["command: " + " ".join(cmd), "exit: %d" % p.returncode]
               + bad_lines
               + ["stderr: " + l for l in p.stderr.splitlines()]
               if p.returncode != 0 or bad_lines else [])

    # Index artmon's transactions; a key may in principle repeat (two
    # identical queries in one TCP segment), so keep lists.
    by_key = {}
    for t in dns:
        by_key.setdefault(txn_key(t), []).append(t)
    used = set()
    missing, dup, status_bad, time_bad = [], [], [], []
    matched = {"udp": 0, "tcp": 0}
    for row in rows:
        k = row_key(row)
        cands = [t for t in by_key.get(k, []) if id(t) not in used]
        if not cands:
            missing.append("no transaction for %s %s -> %s id %s %s %s at %s "
                           "(frames %s/%s)" % (row["transport"], row["client"],
                                               row["server"], row["dns_id"],
                                               row["qtype"], row["qname"],
                                               row["req_time"],
                                               row["req_frame"],
                                               row["resp_frame"]))
            continue
        if len(by_key[k]) > 1:
            dup.append("%d transactions share %s" % (len(by_key[k]), k))
        t = cands[0]
        used.add(id(t))
        matched[row["transport"]] = matched.get(row["transport"], 0) + 1
        want_err = {"SERVFAIL": True, "REFUSED": True, "NOERROR": False,
                    "NXDOMAIN": False}.get(row["rcode"])
        if t["status"] != row["rcode"] or \
                (want_err is not None and t["error"] != want_err):
            status_bad.append("%s %s id %s: status %s error %s, tshark rcode "
                              "%s" % (row["client"], row["qname"],
                                      row["dns_id"], t["status"], t["error"],
                                      row["rcode"]))
        want = us(row["dns_time"])
        got = t["ttlb_us"]
        if got is None or D(got) != want:
            time_bad.append("%s %s id %s: ttlb_us %s, tshark dns.time %s "
                            "(%d us)" % (row["client"], row["qname"],
                                         row["dns_id"], got, row["dns_time"],
                                         want))

    per = ", ".join("%s %d" % kv for kv in sorted(matched.items()))
    tap.result(not missing and not dup and rows,
               "%s: each of the %d tshark rows is one transaction (%s)"
               % (name, len(rows), per), missing + dup)
    tap.result(not status_bad and rows,
               "%s: status is the rcode name for every row" % name,
               status_bad)
    tap.result(not time_bad and rows,
               "%s: ttlb_us equals tshark's dns.time for every row" % name,
               time_bad)
    extra = [t for t in dns if id(t) not in used]
    tap.result(not extra,
               "%s: no transaction tshark does not have (%d extra)"
               % (name, len(extra)),
               [json.dumps(t, default=str) for t in extra])

    c = sensor_counters(p.stderr, "dns")
    diag = []
    if c is None:
        diag.append("no 'transactions dns:' line in stderr")
    else:
        for key in ("malformed", "responses without request", "unanswered",
                    "unmeasured"):
            if c.get(key) != 0:
                diag.append("%s: %s (want 0)" % (key, c.get(key)))
        if c["transactions"] != len(rows):
            diag.append("transactions: %d (want %d)"
                        % (c["transactions"], len(rows)))
    tap.result(not diag,
               "%s: counters: %d transactions, no malformed, orphan or "
               "unanswered" % (name, len(rows)), diag)


def main():
    build = os.environ.get("ARTMON_BUILDDIR", ".")
    shared = os.environ.get("ARTMON_SHARED")
    if not shared:
        src = os.environ.get("ARTMON_SRCDIR", ".")
        shared = os.path.join(src, "..", "shared")
    corpus = os.path.join(shared, "corpus")
    sensor = os.path.join(build, "sensor", "artmon-sensor")
    plugin_dir = os.path.join(build, "plugins", ".libs")

    if not all(os.path.exists(os.path.join(corpus, n + ext))
               for n in PCAPS for ext in (".pcap", ".dns.csv")):
        print("1..0 # SKIP no DNS corpus in %s" % corpus)
        return 0
    if not os.access(sensor, os.X_OK):
        print("1..0 # SKIP no sensor at %s" % sensor)
        return 0

    tap = Tap(CHECKS_PER_PCAP * len(PCAPS), MAX_DIAG)
    with tempfile.TemporaryDirectory(prefix="artmon-dns-") as sigs_dir:
        # The sensor may drop privileges after start; keep the rules
        # readable for whoever it becomes.
        os.chmod(sigs_dir, 0o755)
        with open(os.path.join(sigs_dir, "dns.sigs"), "w") as f:
            f.write(RULES)
        for name in PCAPS:
            check_pcap(tap, name, sensor, plugin_dir, corpus, sigs_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
