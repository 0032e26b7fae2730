#!/usr/bin/env python3
"""summaries_corpus.py: interval summaries against the transactions they summarise.

Replays real corpus captures through artmon-sensor with both outputs on
(-t json for every transaction, -S json for the summaries) and checks:

1. every summary row equals what the per-transaction output gives for the
   same (interval, protocol, signature, server): counts, min, max and sum
   exactly, for every metric; histogram totals equal the counts; p50, p95
   and p99 from the histogram are within the bucket error (4.77%) of the
   exact percentiles of the transactions;
2. a capture fed as two runs (two files, one after the other in time, as a
   sensor restarted between them would see) gives, once rows with the same
   key are merged, exactly what one run over both gives: what the
   collector must rely on.

Prints TAP.  Needs ARTMON_BUILDDIR and ARTMON_SHARED (set by make check).
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

BUILD = os.environ.get("ARTMON_BUILDDIR", ".")
SHARED = os.environ.get("ARTMON_SHARED", "../shared")
SENSOR = os.path.join(BUILD, "sensor", "artmon-sensor")
CORPUS = os.path.join(SHARED, "corpus")
PORTS = ["-o", "http.ports=8080,9000"]

METRICS = ["request_us", "ttfb_us", "ttlb_us", "handshake_rtt_us",
           "client_ack_us", "request_bytes", "response_bytes",
           "request_packets", "server_packets", "server_pkt_bytes",
           "server_mss", "server_window"]
COUNTS = ["transactions", "errors", "retransmissions", "timeouts", "gaps",
          "midstream", "orphan_responses", "retries"]

n = 0
failed = 0


def ok(cond, what, diag=None):
    global n, failed
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what))
    if not cond:
        failed += 1
        for line in (diag or "").splitlines()[:40]:
            print("#   " + line)


def run_sensor(pcap, tmp, tag):
    sumfile = os.path.join(tmp, tag + ".summaries.json")
    out = subprocess.run([SENSOR, "-r", pcap, "-t", "json", "-S", "json",
                          "-w", sumfile] + PORTS,
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError("sensor failed on %s: %s" % (pcap, out.stderr))
    txns = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    rows, health = [], []
    with open(sumfile) as f:
        for l in f:
            rec = json.loads(l)
            (rows if rec["type"] == "summary" else health).append(rec)
    return txns, rows, health


def server_key(addr_port):
    addr, port = addr_port.rsplit(":", 1)
    return addr.strip("[]"), int(port)


def us(v):
    """Summaries keep whole microseconds (floor of the exact value)."""
    return None if v is None else int(math.floor(v))


def expected_rows(txns, interval=300):
    rows = {}
    for t in txns:
        start = int(math.floor(t["start"]))
        iv = start - start % interval
        addr, port = server_key(t["server"])
        k = (iv, t["protocol"], t["signature"], addr, port)
        r = rows.setdefault(k, {"counts": {c: 0 for c in COUNTS},
                                "m": {m: [] for m in METRICS},
                                "pkt": [0, 0, None, None],
                                "ttfb": [], "ttlb": []})
        flags = t["flags"].split("+") if t["flags"] else []
        c = r["counts"]
        c["transactions"] += 1
        c["errors"] += 1 if t["error"] else 0
        c["retransmissions"] += t["retransmissions"]
        c["timeouts"] += "timeout" in flags
        c["gaps"] += "gap" in flags
        c["midstream"] += "midstream" in flags
        c["retries"] += t["retries"]
        for m in ["request_us", "ttfb_us", "ttlb_us", "handshake_rtt_us",
                  "client_ack_us"]:
            if t[m] is not None:
                r["m"][m].append(us(t[m]))
        for m in ["request_bytes", "response_bytes", "request_packets",
                  "server_packets"]:
            r["m"][m].append(t[m])
        if t["server_mss"]:
            r["m"]["server_mss"].append(t["server_mss"])
        if t["server_window_min"] is not None:
            r["m"]["server_window"].append(t["server_window_min"])
        if t["server_packets"]:
            p = r["pkt"]
            p[0] += t["server_packets"]
            p[1] += t["response_bytes"]
            p[2] = t["server_pkt_min"] if p[2] is None else min(p[2], t["server_pkt_min"])
            p[3] = t["server_pkt_max"] if p[3] is None else max(p[3], t["server_pkt_max"])
        if t["ttfb_us"] is not None:
            r["ttfb"].append(t["ttfb_us"])
        if t["ttlb_us"] is not None:
            r["ttlb"].append(t["ttlb_us"])
    return rows


def merge_rows(rows):
    """Merge summary rows with the same key (late batches, two runs)."""
    out = {}
    for r in rows:
        k = (r["interval_start"], r["protocol"], r["signature"],
             r["server_addr"], r["server_port"])
        if k not in out:
            out[k] = json.loads(json.dumps(r))
            continue
        d = out[k]
        for c in COUNTS:
            d[c] += r[c]
        for m in METRICS:
            if r[m + "_count"] == 0:
                continue
            if d[m + "_count"] == 0:
                d[m + "_min"], d[m + "_max"] = r[m + "_min"], r[m + "_max"]
            else:
                d[m + "_min"] = min(d[m + "_min"], r[m + "_min"])
                d[m + "_max"] = max(d[m + "_max"], r[m + "_max"])
            d[m + "_count"] += r[m + "_count"]
            d[m + "_sum"] += r[m + "_sum"]
        for h in ("ttfb_hist", "ttlb_hist"):
            for b, c in r[h].items():
                d[h][b] = d[h].get(b, 0) + c
    for d in out.values():
        d.pop("late", None)
    return out


def hist_percentile(hist, q):
    total = sum(hist.values())
    rank = max(1, math.ceil(q * total))
    seen = 0
    for b in sorted(hist, key=int):
        seen += hist[b]
        if seen >= rank:
            b = int(b)
            return 0.0 if b == 0 else 1.1 ** (b - 1) * 2.2 / 2.1
    return None


def exact_percentile(values, q):
    v = sorted(values)
    return v[max(1, math.ceil(q * len(v))) - 1]


def compare(pcap_name, txns, rows):
    got = merge_rows(rows)
    want = expected_rows(txns)
    missing = set(want) - set(got)
    # Rows that only count orphan responses come from events, not
    # transactions.
    extra = {k for k in set(got) - set(want)
             if got[k]["transactions"] != 0}
    ok(not missing and not extra,
       "%s: one summary row per (interval, protocol, signature, server) "
       "of the transactions (%d rows)" % (pcap_name, len(want)),
       "missing: %s\nextra: %s" % (sorted(missing)[:10], sorted(extra)[:10]))
    bad = []
    pct_bad = []
    for k, w in want.items():
        g = got.get(k)
        if not g:
            continue
        for c in COUNTS:
            if c != "orphan_responses" and g[c] != w["counts"][c]:
                bad.append("%s %s: %s vs %s" % (k, c, g[c], w["counts"][c]))
        for m in METRICS:
            if m == "server_pkt_bytes":
                cnt, sm, mn, mx = w["pkt"]
            else:
                vals = w["m"][m]
                cnt, sm = len(vals), sum(vals)
                mn = min(vals) if vals else None
                mx = max(vals) if vals else None
            exp = (cnt, sm, mn, mx)
            have = (g[m + "_count"], g[m + "_sum"], g[m + "_min"], g[m + "_max"])
            if exp != have:
                bad.append("%s %s: got %s want %s" % (k, m, have, exp))
        for h, vals in (("ttfb_hist", w["ttfb"]), ("ttlb_hist", w["ttlb"])):
            if sum(g[h].values()) != len(vals):
                bad.append("%s %s total %d vs %d" % (k, h, sum(g[h].values()), len(vals)))
                continue
            for q in (0.5, 0.95, 0.99):
                if not vals:
                    continue
                exact = exact_percentile(vals, q)
                est = hist_percentile(g[h], q)
                if exact < 1.0:
                    ok_p = est == 0.0
                else:
                    ok_p = abs(est - exact) / exact <= 0.0477 + 1e-9
                if not ok_p:
                    pct_bad.append("%s %s p%g: hist %.3f exact %.3f" % (k, h, q * 100, est, exact))
    ok(not bad, "%s: counts, min, max and sum of every metric equal the "
       "transactions' (%d transactions)" % (pcap_name, len(txns)), "\n".join(bad))
    ok(not pct_bad, "%s: p50/p95/p99 from the histograms are within the bucket "
       "error of the exact percentiles" % pcap_name, "\n".join(pct_bad))


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    return data[:24], data[24:]


def concat_pcaps(out, paths):
    """Classic pcap files with one link type, in time order."""
    head = None
    with open(out, "wb") as f:
        for p in paths:
            h, body = read_pcap(p)
            if head is None:
                head = h
                f.write(h)
            elif h[20:24] != head[20:24] or h[:4] != head[:4]:
                raise RuntimeError("%s: different link type or format" % p)
            f.write(body)


def main():
    if not os.path.exists(SENSOR) or not os.path.isdir(CORPUS):
        print("1..0 # SKIP sensor or corpus missing")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        names = ["http.pcap", "mixed.pcap", "dns.pcap"]
        if os.path.exists(os.path.join(BUILD, "plugins", ".libs", "imap.so")):
            names.append("imap.pcap")
        for name in names:
            txns, rows, health = run_sensor(os.path.join(CORPUS, name), tmp, name)
            compare(name, txns, rows)
            pk = sum(h["packets"] for h in health)
            ok(pk > 0 and all(h["interval_secs"] == 300 for h in health),
               "%s: health rows count the capture's packets (%d)" % (name, pk))

        # Two runs versus one: http.pcap then dns.pcap (later in time,
        # in the same 5-minute interval: a sensor restarted mid-interval).
        parts = [os.path.join(CORPUS, p) for p in ("http.pcap", "dns.pcap")]
        both = os.path.join(tmp, "both.pcap")
        concat_pcaps(both, parts)
        _, one, h_one = run_sensor(both, tmp, "one")
        two, h_two = [], []
        for i, p in enumerate(parts):
            _, rows, health = run_sensor(p, tmp, "part%d" % i)
            two += rows
            h_two += health
        a, b = merge_rows(one), merge_rows(two)
        diffs = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
        ok(not diffs and len(a) > 0,
           "a capture fed as two runs merges to exactly one run's summaries "
           "(%d rows)" % len(a),
           "\n".join("%s:\n one %s\n two %s" % (k, a.get(k), b.get(k))
                     for k in diffs[:3]))
        ok(sum(h["packets"] for h in h_one) == sum(h["packets"] for h in h_two),
           "health packet counts of the two runs add up to the one run's")
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
