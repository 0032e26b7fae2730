#!/usr/bin/env python3
"""report_e2e.py: artmon-report and artmon-summarise against a real
PostgreSQL loaded from the corpus through the real sensor and collector.

What must hold (issue 6):

  * each report's numbers equal those of hand-written SQL over the
    level-1 rows (sums in SQL; percentiles from the level-1 histograms
    merged here, by the rule of docs/schema.md, independently of the
    schema's own hist_merge): summary, top, series, compare, clients,
    health, and sla with its Nagios output and exit codes 0/1/2/3;
  * after `artmon-summarise`, level 2 holds exactly the level-1 rows
    merged (counts, sums, min/max, histograms to the bucket; day rows the
    sum of their hours), and every report answers the same from level 2;
  * running it again changes nothing, from the CLI or from psql;
  * rows arriving while it runs are not lost: a late batch for a bucket
    already rolled is seen by the reports at once and merged next run;
  * retention drops old level-1 days and the reports still answer the
    same from level 2; a late batch for a retired day is merged in;
  * bad arguments give one line on stderr and exit 2; a filter value with
    quotes and SQL in it is only a value;
  * --csv and --json parse, and say the same.

Run by report_e2e_pg.sh (PostgreSQL, schema, PG* and PG_TMP).  TAP.
"""
import csv
import io
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_common import (ok, done, psql_csv, percentile, sensor_ships,  # noqa: E402
                              CORPUS, TMP)
from report_common import (REPORT, SUMMARISE, HOUR, Loader, base_plan, run,  # noqa: E402
                           report_json, hist)

R_FROM, R_TO = HOUR - 60 * 3600, HOUR
RANGE = ["--from", "@%d" % R_FROM, "--to", "@%d" % R_TO]


def near(a, b, tol=2e-6):
    """Report values are printed to 1e-6 ms."""
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol + 1e-9 * max(abs(a), abs(b))


def merge_hists(texts):
    h = {}
    for t in texts.split(";") if texts else []:
        for b, c in hist(t).items():
            h[b] = h.get(b, 0) + c
    return h


def pct_ms(h, q):
    v = percentile(h, q)
    return None if v is None else v / 1000.0


def avg_ms(s, n):
    return None if n == 0 else s / n / 1000.0


# ---------------------------------------------------------------- expected values

def level1_groups(key_sql, a, b, where="true"):
    """Hand-written SQL over artmon.level1: the rows of [a, b) grouped by
    key_sql; sums in SQL, histograms concatenated for merging here."""
    rows = psql_csv(
        "SELECT %s AS k, sum(transactions) AS tx, sum(errors) AS er, "
        "sum(ttfb_us_count) AS fc, sum(ttfb_us_sum) AS fs, "
        "sum(ttlb_us_count) AS lc, sum(ttlb_us_sum) AS ls, "
        "sum(handshake_rtt_us_count) AS rc, sum(handshake_rtt_us_sum) AS rs, "
        "string_agg(ttfb_hist::text, ';') AS fh, string_agg(ttlb_hist::text, ';') AS lh "
        "FROM artmon.level1 WHERE interval_start >= to_timestamp(%d) "
        "AND interval_start < to_timestamp(%d) AND %s GROUP BY 1"
        % (key_sql, a, b, where))
    out = {}
    for r in rows:
        f, lh = merge_hists(r["fh"]), merge_hists(r["lh"])
        tx = int(r["tx"])
        out[r["k"]] = {
            "transactions": tx, "errors": int(r["er"]),
            "error_pct": None if tx == 0 else 100.0 * int(r["er"]) / tx,
            "rtt_avg_ms": avg_ms(int(r["rs"]), int(r["rc"])),
            "ttfb_avg_ms": avg_ms(int(r["fs"]), int(r["fc"])),
            "ttlb_avg_ms": avg_ms(int(r["ls"]), int(r["lc"])),
            "ttfb": f, "ttlb": lh,
        }
        for m, h in (("ttfb", f), ("ttlb", lh)):
            for q in (50, 95, 99):
                out[r["k"]]["%s_p%d_ms" % (m, q)] = pct_ms(h, q / 100.0)
    return out


def diff(want, got, keys, label):
    bad = []
    for k in keys:
        w, g = want.get(k), got.get(k)
        if isinstance(w, int) and not isinstance(w, bool):
            if g != w:
                bad.append("%s %s: report %r, SQL %r" % (label, k, g, w))
        elif not near(w, g):
            bad.append("%s %s: report %r, SQL %r" % (label, k, g, w))
    return bad


SUMMARY_KEYS = ["transactions", "errors", "error_pct", "rtt_avg_ms",
                "ttfb_avg_ms", "ttfb_p50_ms", "ttfb_p95_ms", "ttfb_p99_ms",
                "ttlb_avg_ms", "ttlb_p50_ms", "ttlb_p95_ms", "ttlb_p99_ms"]


# ---------------------------------------------------------------- the reports

def check_summary(tag):
    rc, j, err = report_json(["summary"] + RANGE)
    want = level1_groups("protocol || ' ' || signature", R_FROM, R_TO)
    if not ok(rc == 0 and j is not None, "%s: summary answers (exit 0, JSON)" % tag, err):
        return None
    got = {r["protocol"] + " " + r["signature"]: r for r in j["rows"]}
    bad = [] if set(got) == set(want) else ["signatures: report %s, SQL %s"
                                            % (sorted(got), sorted(want))]
    for k in want:
        if k in got:
            bad += diff(want[k], got[k], SUMMARY_KEYS, k)
    ok(not bad and len(got) > 20,
       "%s: summary equals SQL over level 1 for each of %d signatures "
       "(transactions, errors, averages, p50/p95/p99)" % (tag, len(want)), "\n".join(bad))
    return j


def check_top(tag):
    want = level1_groups("protocol || ' ' || signature", R_FROM, R_TO)
    rc, j, err = report_json(["top", "-n", "5"] + RANGE)
    order = sorted(want.items(), key=lambda kv: (-(kv[1]["ttfb_p95_ms"] or -1),
                                                  -kv[1]["transactions"]))
    bad = []
    if rc != 0 or j is None:
        bad.append("exit %d: %s" % (rc, err))
    else:
        rows = j["rows"]
        if len(rows) != 5:
            bad.append("%d rows" % len(rows))
        for i, r in enumerate(rows):
            k = r["protocol"] + " " + r["signature"]
            bad += diff(want[k], r, ["transactions", "errors", "ttfb_avg_ms",
                                     "ttfb_p95_ms", "ttfb_p99_ms"], k)
            # Ties on (p95, transactions) may come in either order.
            if not near(r["ttfb_p95_ms"], order[i][1]["ttfb_p95_ms"]) or \
               r["transactions"] != order[i][1]["transactions"]:
                bad.append("rank %d: %s, SQL ranks %s there" % (i + 1, k, order[i][0]))
    ok(not bad, "%s: top -n 5 (slowest by ttfb p95) ranks as SQL does" % tag, "\n".join(bad))

    want = level1_groups("host(server_addr) || ':' || server_port", R_FROM, R_TO)
    rc, j, err = report_json(["top", "--by", "busiest", "--servers", "-n", "50",
                              "--metric", "ttlb", "--percentile", "99.9"] + RANGE)
    bad = []
    if rc != 0 or j is None:
        bad.append("exit %d: %s" % (rc, err))
    else:
        got = {"%s:%d" % (r["server"], r["port"]): r for r in j["rows"]}
        if set(got) != set(want):
            bad.append("servers: %s vs %s" % (sorted(got), sorted(want)))
        tx = [r["transactions"] for r in j["rows"]]
        if tx != sorted(tx, reverse=True):
            bad.append("not ordered by transactions: %s" % tx)
        for k in want:
            if k in got:
                w = dict(want[k])
                w["ttlb_p99_9_ms"] = pct_ms(w["ttlb"], 0.999)
                bad += diff(w, got[k], ["transactions", "errors", "ttlb_avg_ms",
                                        "ttlb_p99_9_ms", "ttlb_p99_ms"], k)
    ok(not bad, "%s: top --by busiest --servers (ttlb p99.9) equals SQL per server"
       % tag, "\n".join(bad))

    rc, j, err = report_json(["top", "--by", "failing", "-n", "100"] + RANGE)
    want = level1_groups("protocol || ' ' || signature", R_FROM, R_TO)
    failing = {k for k, v in want.items() if v["errors"] > 0}
    got = [r["protocol"] + " " + r["signature"] for r in (j or {}).get("rows", [])]
    errs = [r["errors"] for r in (j or {}).get("rows", [])]
    ok(rc == 0 and set(got) == failing and errs == sorted(errs, reverse=True),
       "%s: top --by failing lists exactly the %d signatures with errors, most first"
       % (tag, len(failing)), "got %s\nwant %s" % (got, sorted(failing)))


SERIES_SIG = "GET_/pesinu/deriri"


def check_series(tag):
    rc, j, err = report_json(["series", "--signature", SERIES_SIG, "--step", "1h"] + RANGE)
    want = level1_groups("extract(epoch FROM date_bin('1 hour', interval_start, "
                         "timestamptz '1970-01-01 00:00+00'))::bigint", R_FROM, R_TO,
                         "signature = '%s'" % SERIES_SIG)
    bad = []
    if rc != 0 or j is None:
        bad.append("exit %d: %s" % (rc, err))
    else:
        rows = j["rows"]
        starts = [r["start"] for r in rows]
        if len(rows) != (R_TO - R_FROM) // 3600:
            bad.append("%d steps for %d hours" % (len(rows), (R_TO - R_FROM) // 3600))
        import datetime
        for i, r in enumerate(rows):
            t = R_FROM + 3600 * i
            iso = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S+00:00")
            if r["start"] != iso:
                bad.append("step %d starts %s, not %s" % (i, r["start"], iso))
            w = want.get(str(t))
            if w is None:
                if r["transactions"] != 0 or r["ttfb_p95_ms"] is not None:
                    bad.append("%s: a quiet hour shows %r" % (iso, r))
                continue
            bad += diff(w, r, ["transactions", "errors", "rtt_avg_ms", "ttfb_avg_ms",
                               "ttfb_p50_ms", "ttfb_p95_ms", "ttfb_p99_ms",
                               "ttlb_avg_ms", "ttlb_p95_ms"], iso)
        if sum(1 for r in rows if r["transactions"]) != len(want):
            bad.append("busy steps: %s" % starts)
    ok(not bad and len(want) >= 3,
       "%s: series --step 1h of %s: every hour of the range, each equal to SQL "
       "(%d busy hours)" % (tag, SERIES_SIG, len(want)), "\n".join(bad))


def check_compare(tag):
    a0, a1 = HOUR - 4 * 3600, HOUR         # after
    b0, b1 = HOUR - 8 * 3600, HOUR - 4 * 3600  # before: the default shift
    rc, j, err = report_json(["compare", "--from", "@%d" % a0, "--to", "@%d" % a1])
    after = level1_groups("protocol || ' ' || signature", a0, a1)
    before = level1_groups("protocol || ' ' || signature", b0, b1)
    tot_a = level1_groups("'all'", a0, a1)["all"]
    tot_b = level1_groups("'all'", b0, b1)["all"]
    bad = []
    if rc != 0 or j is None:
        bad.append("exit %d: %s" % (rc, err))
    else:
        rows = {r["protocol"] + " " + r["signature"]: r for r in j["rows"]}
        if set(rows) != set(after) | set(before) | {"* (all)"}:
            bad.append("rows: %s" % sorted(rows))
        for k, r in rows.items():
            wa = tot_a if k == "* (all)" else after.get(k)
            wb = tot_b if k == "* (all)" else before.get(k)
            if r["transactions_after"] != (wa["transactions"] if wa else 0) or \
               r["transactions_before"] != (wb["transactions"] if wb else 0):
                bad.append("%s transactions %s/%s" % (k, r["transactions_before"],
                                                     r["transactions_after"]))
            for q in (50, 95, 99):
                x = wb and wb["ttfb_p%d_ms" % q]
                y = wa and wa["ttfb_p%d_ms" % q]
                if not near(r["ttfb_p%d_ms_before" % q], x or None) or \
                   not near(r["ttfb_p%d_ms_after" % q], y or None):
                    bad.append("%s p%d %s/%s, SQL %s/%s" % (
                        k, q, r["ttfb_p%d_ms_before" % q], r["ttfb_p%d_ms_after" % q], x, y))
                ch = (y - x) / x * 100.0 if x and y else None
                if not near(r["ttfb_p%d_change_pct" % q], ch, 1e-5):
                    bad.append("%s p%d change %s, SQL %s" % (k, q, r["ttfb_p%d_change_pct" % q], ch))
    ok(not bad and len(after) > 0 and len(before) > 0,
       "%s: compare (the 4 hours before vs the 4 before those) equals SQL per signature "
       "and in all, with each percentile's change" % tag, "\n".join(bad))


def check_clients(tag):
    a0 = HOUR - 6 * 3600
    rc, j, err = report_json(["clients", "-n", "3", "--from", "@%d" % a0, "--to", "@%d" % HOUR])
    rows = psql_csv(
        "WITH c AS (SELECT sensor, extract(epoch FROM date_bin('1 hour', interval_start, "
        "timestamptz '1970-01-01 00:00+00'))::bigint AS b, host(client_addr) AS client, "
        "sum(transactions) AS tx, sum(error_bound) AS eb, count(*) AS iv "
        "FROM artmon.clients WHERE interval_start >= to_timestamp(%d) "
        "AND interval_start < to_timestamp(%d) GROUP BY 1, 2, 3), "
        "h AS (SELECT sensor, extract(epoch FROM date_bin('1 hour', interval_start, "
        "timestamptz '1970-01-01 00:00+00'))::bigint AS b, sum(transactions) AS all_tx "
        "FROM artmon.health WHERE interval_start >= to_timestamp(%d) "
        "AND interval_start < to_timestamp(%d) GROUP BY 1, 2) "
        "SELECT c.*, h.all_tx, row_number() OVER (PARTITION BY c.sensor, c.b "
        "ORDER BY c.tx DESC, c.client::inet) AS rk FROM c JOIN h USING (sensor, b) "
        "ORDER BY b, sensor, rk" % (a0, HOUR, a0, HOUR))
    want = [r for r in rows if int(r["rk"]) <= 3]
    bad = []
    if rc != 0 or j is None:
        bad.append("exit %d: %s" % (rc, err))
    else:
        got = j["rows"]
        if len(got) != len(want):
            bad.append("%d rows, SQL %d" % (len(got), len(want)))
        for g, w in zip(got, want):
            share = 100.0 * int(w["tx"]) / int(w["all_tx"])
            if (g["sensor"], g["rank"], g["client"], g["transactions"], g["error_bound"],
                    g["intervals_listed"]) != (w["sensor"], int(w["rk"]), w["client"],
                                               int(w["tx"]), int(w["eb"]), int(w["iv"])) \
                    or not near(g["share_pct"], share):
                bad.append("report %s\nSQL    %s" % (g, w))
    ok(not bad and len(want) > 6, "%s: clients -n 3: the busiest clients per sensor and hour "
       "equal SQL over artmon.clients (%d rows)" % (tag, len(want)), "\n".join(bad))

    # One client hour by hour: every step, 0 where it was not listed.
    rc, j, err = report_json(["clients", "--client", "127.0.0.1", "--sensor", "r-web",
                              "--from", "@%d" % a0, "--to", "@%d" % HOUR])
    w = {int(r["b"]): int(r["tx"]) for r in rows
         if r["client"] == "127.0.0.1" and r["sensor"] == "r-web"}
    got = [(r["start"], r["transactions"]) for r in (j or {}).get("rows", [])]
    ok(rc == 0 and len(got) == 6 and [t for _, t in got] ==
       [w.get(a0 + 3600 * i, 0) for i in range(6)] and sum(w.values()) > 0,
       "%s: clients --client 127.0.0.1: six hours, each as SQL, 0 when not listed" % tag,
       "got %s\nwant %s" % (got, w))


def check_health(tag):
    a0 = HOUR - 6 * 3600
    rc, j, err = report_json(["health", "--step", "1h", "--from", "@%d" % a0,
                              "--to", "@%d" % HOUR])
    rows = psql_csv(
        "SELECT sensor, extract(epoch FROM date_bin('1 hour', interval_start, "
        "timestamptz '1970-01-01 00:00+00'))::bigint AS b, sum(packets) AS p, "
        "sum(bytes) AS by, sum(drops) AS d, sum(malformed) AS m, "
        "sum(flows_created) AS fc, max(clients_distinct) AS cl, "
        "sum(transactions) AS tx, sum(interval_secs) AS secs, "
        "sum(output_dropped + spool_dropped) AS lost "
        "FROM artmon.health WHERE interval_start >= to_timestamp(%d) "
        "AND interval_start < to_timestamp(%d) GROUP BY 1, 2 ORDER BY 1, 2" % (a0, HOUR))
    bad = []
    if rc != 0 or j is None:
        bad.append("exit %d: %s" % (rc, err))
    else:
        got = j["rows"]
        if len(got) != len(rows):
            bad.append("%d rows, SQL %d" % (len(got), len(rows)))
        for g, w in zip(got, rows):
            secs = int(w["secs"])
            want = {"packets_per_sec": int(w["p"]) / secs,
                    "bits_per_sec": 8.0 * int(w["by"]) / secs,
                    "drops": int(w["d"]), "malformed": int(w["m"]),
                    "flows_per_sec": int(w["fc"]) / secs,
                    "clients_distinct": int(w["cl"]), "transactions": int(w["tx"]),
                    "batches_lost": int(w["lost"]),
                    "coverage_pct": 100.0 * secs / 3600}
            bad += diff(want, g, list(want), "%s %s" % (w["sensor"], w["b"]))
            if g["sensor"] != w["sensor"]:
                bad.append("sensor %s vs %s" % (g["sensor"], w["sensor"]))
    ok(not bad and len(rows) >= 5, "%s: health --step 1h equals SQL over artmon.health "
       "per sensor and hour (%d rows)" % (tag, len(rows)), "\n".join(bad))


def check_sla(tag):
    """Nagios: the status line's form and the exit codes 0/1/2/3."""
    import re
    want = level1_groups("'all'", HOUR - 6 * 3600, HOUR, "signature = '%s'" % SERIES_SIG)["all"]
    p80 = pct_ms(want["ttfb"], 0.80)
    base = ["sla", "--signature", SERIES_SIG, "--to", "@%d" % HOUR, "--window", "6h",
            "--metric", "ttfb", "--percentile", "80"]
    line = re.compile(r"^ARTMON SLA (OK|WARNING|CRITICAL|UNKNOWN) - [^\n|]+"
                      r" \| 'ttfb_p80'=([0-9.]+)ms;([^;]*);([^;]*);0; transactions=(\d+);;;0;\n$")
    cases = [  # (thresholds, expected status)
        (["--threshold", "%.3fms" % (p80 * 2)], 0),
        (["-w", "%.3fms" % (p80 / 2), "-c", "%.3fms" % (p80 * 2)], 1),
        (["-w", "%.3fms" % (p80 / 4), "--threshold", "%.3fms" % (p80 / 2)], 2),
    ]
    bad = []
    for extra, st in cases:
        rc, out, err = run(REPORT, base + extra)
        m = line.match(out)
        if rc != st or not m or m.group(1) != ["OK", "WARNING", "CRITICAL"][st] or \
           not near(float(m.group(2)), p80, 1e-3) or int(m.group(5)) != want["transactions"]:
            bad.append("%s: exit %d, %r (want %d, p80 %.3f, %d transactions)"
                       % (extra, rc, out, st, p80, want["transactions"]))
    # Fraction mode: the share of transactions whose bucket is at most the limit.
    lim_us = 100000
    h = want["ttfb"]
    from collector_common import bucket_value
    frac = 100.0 * sum(c for b, c in h.items() if bucket_value(b) <= lim_us) / sum(h.values())
    rc, out, err = run(REPORT, base[:-2] + ["--under", "100ms", "-w", "%.2f" % (frac + 1)])
    m = re.match(r"^ARTMON SLA WARNING - ([0-9.]+)% of ttfb under 100 ms .*\| "
                 r"'ttfb_under_100ms'=([0-9.]+)%;", out)
    if rc != 1 or not m or not near(float(m.group(2)), frac, 1e-3):
        bad.append("fraction: exit %d, %r (want 1, %.3f%%)" % (rc, out, frac))
    # UNKNOWN: no transactions in the window; an unknown signature; bad arguments.
    common = ["sla", "--window", "6h", "--percentile", "80"]
    for args, why in (
            (common + ["--to", "@%d" % (HOUR - 40 * 86400), "--threshold", "1s"], "empty window"),
            (common + ["--to", "@%d" % HOUR, "--signature", "NO_SUCH_SIG", "--threshold", "1s"],
             "unknown signature"),
            (base + ["--threshold", "fast"], "a bad threshold"),
            (base, "no threshold")):
        rc, out, err = run(REPORT, args)
        if rc != 3 or not out.startswith("ARTMON SLA UNKNOWN - ") or out.count("\n") != 1:
            bad.append("%s: exit %d, %r" % (why, rc, out))
    rc, out, err = run(REPORT, base + ["--window", "20x", "--threshold", "1s"])
    if rc != 3 or not out.startswith("ARTMON SLA UNKNOWN - "):
        bad.append("bad --window: exit %d, %r" % (rc, out))
    ok(not bad, "%s: sla: Nagios status line and performance data; OK 0, WARNING 1, "
       "CRITICAL 2, UNKNOWN 3 (empty window, unknown signature, bad arguments); "
       "fraction mode" % tag, "\n".join(bad))


def all_reports(tag):
    check_summary(tag)
    check_top(tag)
    check_series(tag)
    check_compare(tag)
    check_clients(tag)
    check_health(tag)
    check_sla(tag)


# ---------------------------------------------------------------- level 2

REPORT_CMDS = [
    ["summary"] + RANGE,
    ["top", "-n", "20"] + RANGE,
    ["series", "--step", "1h"] + RANGE,
    ["series", "--step", "1d", "--signature", "DNS_*"] + RANGE,
    ["compare", "--from", "@%d" % (HOUR - 24 * 3600), "--to", "@%d" % HOUR],
    ["clients", "--step", "1h"] + RANGE,
    ["health", "--step", "1h"] + RANGE,
]


def answers():
    """The rows and notes of every report (not its sources line)."""
    out = {}
    for args in REPORT_CMDS:
        rc, j, err = report_json(args)
        out[" ".join(args)] = (rc, j and j["rows"], j and j["notes"])
    return out


def sources(args):
    rc, j, err = report_json(args)
    return j["meta"]["sources"] if j else err


def level2_matches_level1(tag):
    """Level 2 is level 1 merged: exact, histograms to the bucket."""
    l1 = psql_csv(
        "SELECT sensor, date_bin('1 hour', interval_start, timestamptz '1970-01-01 00:00+00') "
        "AS b, protocol, signature, server_addr, server_port, sum(transactions) AS tx, "
        "sum(errors) AS er, sum(timeouts) AS tmo, sum(retransmissions) AS rx, "
        "sum(ttfb_us_count) AS fc, sum(ttfb_us_sum) AS fs, min(ttfb_us_min) AS fmin, "
        "max(ttfb_us_max) AS fmax, sum(ttlb_us_count) AS lc, sum(ttlb_us_sum) AS ls, "
        "min(ttlb_us_min) AS lmin, max(ttlb_us_max) AS lmax, "
        "sum(response_bytes_sum) AS rb, max(server_window_max) AS wmax, sum(merged) AS mg, "
        "string_agg(ttfb_hist::text, ';') AS fh, string_agg(ttlb_hist::text, ';') AS lh "
        "FROM artmon.level1 GROUP BY 1, 2, 3, 4, 5, 6")
    l2 = psql_csv(
        "SELECT sensor, interval_start AS b, protocol, signature, server_addr, server_port, "
        "transactions AS tx, errors AS er, timeouts AS tmo, retransmissions AS rx, "
        "ttfb_us_count AS fc, ttfb_us_sum AS fs, ttfb_us_min AS fmin, ttfb_us_max AS fmax, "
        "ttlb_us_count AS lc, ttlb_us_sum AS ls, ttlb_us_min AS lmin, ttlb_us_max AS lmax, "
        "response_bytes_sum AS rb, server_window_max AS wmax, merged AS mg, "
        "ttfb_hist::text AS fh, ttlb_hist::text AS lh "
        "FROM artmon.level2 WHERE interval_secs = 3600")

    def keyed(rows):
        out = {}
        for r in rows:
            k = (r["sensor"], r["b"], r["protocol"], r["signature"], r["server_addr"],
                 r["server_port"])
            v = {c: r[c] for c in r if c not in ("sensor", "b", "protocol", "signature",
                                                  "server_addr", "server_port", "fh", "lh")}
            v["fh"], v["lh"] = merge_hists(r["fh"]), merge_hists(r["lh"])
            out[k] = v
        return out
    a, b = keyed(l1), keyed(l2)
    bad = ["%s: level 1 %s\n   level 2 %s" % (k, a.get(k), b.get(k))
           for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    ok(not bad and len(a) > 100, "%s: level 2 (hours) is level 1 merged, row for row: counts, "
       "sums, min/max, histograms to the bucket (%d rows)" % (tag, len(a)), "\n".join(bad[:20]))

    # Day rows: the sum of their hours, per sensor.
    d = psql_csv(
        "SELECT d.sensor, d.interval_start, d.tx, d.fh, h.tx AS htx, h.fh AS hfh "
        "FROM (SELECT sensor, interval_start, sum(transactions) AS tx, "
        "artmon.hist_merge(ttfb_hist)::text AS fh FROM artmon.level2 "
        "WHERE interval_secs = 86400 GROUP BY 1, 2) d FULL JOIN "
        "(SELECT sensor, date_bin('1 day', interval_start, timestamptz '1970-01-01 00:00+00') "
        "AS interval_start, sum(transactions) AS tx, string_agg(ttfb_hist::text, ';') AS fh "
        "FROM artmon.level1 GROUP BY 1, 2) h USING (sensor, interval_start)")
    bad = ["%s" % r for r in d if r["tx"] != r["htx"] or hist(r["fh"] or "{}") !=
           merge_hists(r["hfh"])]
    ok(not bad and len(d) >= 4, "%s: level-2 day rows are the sum of the day's level-1 rows "
       "(%d sensor-days)" % (tag, len(d)), "\n".join(bad))


def level2_dump():
    return psql_csv(
        "SELECT 'summary' AS t, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h, count(*) "
        "FROM artmon.summary_l2 x UNION ALL "
        "SELECT 'health', md5(string_agg(x::text, '|' ORDER BY x::text)), count(*) "
        "FROM artmon.health_l2 x UNION ALL "
        "SELECT 'clients', md5(string_agg(x::text, '|' ORDER BY x::text)), count(*) "
        "FROM artmon.top_clients_l2 x")


def summarise(*args):
    return run(SUMMARISE, ["--horizon", "0"] + list(args))


# ---------------------------------------------------------------- arguments

def check_bad_arguments():
    cases = [
        (["summary", "--signature", "NO_SUCH_SIGNATURE"] + RANGE, "unknown signature"),
        (["summary", "--from", "@%d" % R_TO, "--to", "@%d" % R_FROM], "inverted"),
        (["summary", "--last", "6x"], "not a duration"),
        (["summary", "--last", "-5m"], "not a duration"),
        (["series", "--step", "7m"] + RANGE, "--step"),
        (["summary", "--from", "2026-02-30"], "not a time"),
        (["summary", "--server", "300.1.2.3"], "not an IP address"),
        (["summary", "--sensor", "no-such-sensor"] + RANGE, "unknown sensor"),
        (["summary", "--protocol", "gopher"] + RANGE, "no data for protocol"),
        (["top", "--by", "loudest"] + RANGE, "--by"),
        (["frobnicate"], "unknown command"),
        (["summary", "--csv", "--json"], "choose one"),
    ]
    bad = []
    for args, what in cases:
        rc, out, err = run(REPORT, args)
        if rc != 2 or err.count("\n") != 1 or not err.startswith("artmon-report: ") or \
           what not in err or out:
            bad.append("%s: exit %d, stderr %r, stdout %r" % (args, rc, err, out[:200]))
    for args, what in ((["--horizon", "1x"], "--horizon"), (["--bucket", "7m"], "--bucket"),
                       (["--keep-level1", "2d", "--keep-level2", "1d"], "at least"),
                       (["extra"], "unexpected")):
        rc, out, err = run(SUMMARISE, args)
        if rc != 2 or err.count("\n") != 1 or what not in err:
            bad.append("summarise %s: exit %d, stderr %r" % (args, rc, err))
    ok(not bad, "bad arguments (unknown signature, sensor or protocol; inverted dates; "
       "bad durations, times, steps, addresses): one line on stderr and exit 2",
       "\n".join(bad))


def check_injection():
    evil = "x'); DROP TABLE artmon.sensors; --"
    rc, out, err = run(REPORT, ["summary", "--signature", evil, "--sensor", "r-web"] + RANGE)
    rc2, out2, err2 = run(REPORT, ["summary", "--sensor", "r-web' OR '1'='1"] + RANGE)
    n = psql_csv("SELECT count(*) AS n FROM artmon.sensors")[0]["n"]
    ok(rc == 2 and "unknown signature" in err and rc2 == 2 and "unknown sensor" in err2
       and int(n) == 3, "a filter value with quotes and SQL is a value: unknown, "
       "and the tables are intact", err + err2)

    # A signature that is all SQL and LIKE metacharacters, stored as a
    # level-1 row (psql's :'var' quotes it), is found by its exact value
    # and by a glob, and % and _ in it match only themselves.
    sig = "it's \"q\"; DROP TABLE x; --%_\\"
    t = HOUR - 2 * 3600
    sql = ("INSERT INTO artmon.summary_l1 SELECT sensor_id, to_timestamp(%d), interval_secs, "
           "protocol, :'sig', server_addr, server_port, 7, 1, retransmissions, timeouts, gaps, "
           "midstream, orphan_responses, retries, request_us_count, request_us_min, "
           "request_us_max, request_us_sum, 7, 1000, 3000, 14000, 7, 1000, 3000, 14000, "
           "handshake_rtt_us_count, handshake_rtt_us_min, handshake_rtt_us_max, "
           "handshake_rtt_us_sum, client_ack_us_count, client_ack_us_min, client_ack_us_max, "
           "client_ack_us_sum, request_bytes_count, request_bytes_min, request_bytes_max, "
           "request_bytes_sum, response_bytes_count, response_bytes_min, response_bytes_max, "
           "response_bytes_sum, request_packets_count, request_packets_min, "
           "request_packets_max, request_packets_sum, server_packets_count, "
           "server_packets_min, server_packets_max, server_packets_sum, "
           "server_pkt_bytes_count, server_pkt_bytes_min, server_pkt_bytes_max, "
           "server_pkt_bytes_sum, server_mss_count, server_mss_min, server_mss_max, "
           "server_mss_sum, server_window_count, server_window_min, server_window_max, "
           "server_window_sum, '{73,7}', '{73,7}', 1 FROM artmon.summary_l1 "
           "WHERE protocol = 'http' LIMIT 1;"
           "INSERT INTO artmon.batches (sensor_id, batch_id, interval_start, interval_secs, "
           "late, rows) SELECT sensor_id, decode(md5('injection'), 'hex'), to_timestamp(%d), "
           "300, false, 1 FROM artmon.summary_l1 WHERE signature = :'sig'" % (t, t))
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "sig=" + sig],
                       input=sql, capture_output=True, text=True, timeout=60)
    got = []
    for pattern in (sig, "it's*--%_\\", "it?s \"q\"*"):
        rc, j, err = report_json(["summary", "--signature", pattern] + RANGE)
        got.append((rc, [(r["signature"], r["transactions"]) for r in (j or {}).get("rows", [])]))
    rc, j, err = report_json(["summary", "--signature", "it's \"q\"; DROP TABLE x; --__\\"] + RANGE)
    ok(p.returncode == 0 and all(g == (0, [(sig, 7)]) for g in got) and rc == 2,
       "a stored signature full of quotes, SQL and LIKE characters is found by its value "
       "and by globs, and LIKE's _ in a pattern is a literal", "%s %s %s %s" % (p.stderr, got, rc, err))


def check_formats():
    bad = []
    for args in (["summary"] + RANGE, ["health", "--step", "1h"] + RANGE,
                 ["series", "--step", "6h"] + RANGE, ["clients"] + RANGE):
        rc, j, err = report_json(args)
        rc2, out, err2 = run(REPORT, args + ["--csv"])
        rows = list(csv.DictReader(io.StringIO(out, newline="")))
        if rc != 0 or rc2 != 0 or j is None or not rows:
            bad.append("%s: exit %d/%d %s" % (args, rc, rc2, err + err2))
            continue
        if list(rows[0].keys()) != list(j["rows"][0].keys()):
            bad.append("%s: CSV header %s, JSON keys %s" % (args[0], list(rows[0]),
                                                           list(j["rows"][0])))
        for c, r in zip(rows, j["rows"]):
            for k, v in r.items():
                if (v is None and c[k] != "") or (v is not None and str(v) != c[k] and
                                                  not near(float(c[k]), v, 1e-9)):
                    bad.append("%s %s: CSV %r, JSON %r" % (args[0], k, c[k], v))
        raw = subprocess.run([REPORT] + args + ["--csv"], capture_output=True,
                             env=dict(os.environ, TZ="UTC"), timeout=120).stdout
        if len(rows) != len(j["rows"]) or raw.count(b"\r\n") != len(rows) + 1:
            bad.append("%s: %d CSV rows, %d JSON rows" % (args[0], len(rows), len(j["rows"])))
        rc3, text, err3 = run(REPORT, args)
        if rc3 != 0 or "sources: " not in text:
            bad.append("%s: table exit %d" % (args[0], rc3))
    ok(not bad, "--csv and --json parse (python's csv and json) and hold the same values; "
       "the table names its sources", "\n".join(bad[:20]))


# ---------------------------------------------------------------- main

def main():
    if not sensor_ships() or not os.path.isdir(CORPUS) or not os.path.exists(REPORT):
        print("1..0 # SKIP a sensor that ships, the corpus, or artmon-report is missing")
        return 0
    load = Loader()
    load.start()
    try:
        for sensor, capture, off in base_plan():
            good, err = load.ship(sensor, capture, off)
            if not good:
                ok(False, "%s shipped at %+d s" % (capture, off), err)
                return done()
        ok(True, "%d corpus captures shipped by the real sensor to the real collector"
           % len(base_plan()))

        # Level 1 only (nothing rolled yet).
        ok("level 1" in sources(["summary"] + RANGE) and "level 2" not in
           sources(["summary"] + RANGE), "before any roll-up the reports read level 1")
        all_reports("level 1")
        check_formats()
        check_bad_arguments()
        before = answers()

        # Roll up.
        rc, out, err = summarise("-v")
        ok(rc == 0 and "rolled" in err and out == "",
           "artmon-summarise --horizon 0 rolls everything (exit 0)", out + err)
        level2_matches_level1("after the roll-up")
        src = sources(["summary"] + RANGE)
        # (Hours, or day rows first when the range starts at midnight.)
        ok(src.startswith("level 2 (") and "level 1" not in src and
           "day rows" in sources(["summary", "--from", "@%d" % (HOUR - 72 * 3600), "--to",
                                  "@%d" % HOUR]),
           "after it the reports read level 2, hours and whole days", src)
        after = answers()
        bad = [k for k in before if before[k] != after[k]]
        ok(not bad and all(v[0] == 0 for v in after.values()),
           "every report answers the same from level 2 as from level 1 "
           "(summary, top, series by hour and day, compare, clients, health)",
           "\n".join("%s:\n level 1 %s\n level 2 %s" % (k, before[k], after[k]) for k in bad)[:4000])
        all_reports("level 2")
        lv1 = {k: v for k, v in answers().items()}
        ok(all(report_json(a + ["--level", "1"])[1]["rows"] == lv1[" ".join(a)][1]
               for a in REPORT_CMDS), "--level 1 answers the same as well")

        # Re-running changes nothing.
        d0 = level2_dump()
        rc, out, err = summarise("-v")
        d1 = level2_dump()
        p = psql_csv("SELECT * FROM artmon.summarise_level2('0', '1 hour')")
        d2 = level2_dump()
        ok(rc == 0 and "rolled 0 " in err and d0 == d1 == d2 and p[0]["buckets_rolled"] == "0",
           "running the roll-up again (CLI, then psql) changes nothing in level 2",
           "%s\n%s\n%s\n%s" % (err, d0, d1, p))

        # A late batch for a bucket already rolled (same sensor, same
        # 5-minute interval: the collector merges it into the level-1 row).
        l1_before = int(psql_csv("SELECT sum(transactions) AS n FROM artmon.level1")[0]["n"])
        good, err = load.ship("r-web", "http.pcap", -5 * 3600 + 11 * 60)
        l1_after = int(psql_csv("SELECT sum(transactions) AS n FROM artmon.level1")[0]["n"])
        rc, j, err2 = report_json(["summary", "--signature", "*"] + RANGE)
        tx = sum(r["transactions"] for r in (j or {}).get("rows", []))
        src = j["meta"]["sources"] if j else ""
        ok(good and l1_after > l1_before and tx == l1_after and
           "level 1 for 1 (sensor, 1h)" in src,
           "a late batch for a rolled hour: the reports count it at once, from level 1 for "
           "that hour, and say so (%d -> %d transactions)" % (l1_before, l1_after),
           "report: %d transactions; sources: %s\n%s%s" % (tx, src, err2, err))
        rc, out, err = summarise()
        level2_matches_level1("the late batch merged by the next run")
        check_summary("after the late batch")

        # The roll-up while rows arrive: a paced sensor ships into hours
        # already rolled while artmon-summarise runs again and again.
        shipped = []

        def ship_paced():
            for off in (-4 * 3600 + 41 * 60, -3 * 3600 + 11 * 60, -5 * 3600 + 12 * 60):
                args, spool = load.ship_args("r-web", "http.pcap", off,
                                             ["--replay-speed", "2"])
                shipped.append(subprocess.run(args, capture_output=True, text=True,
                                              timeout=300).returncode)
        th = threading.Thread(target=ship_paced)
        th.start()
        runs, fails, t0 = 0, [], time.time()
        while th.is_alive() and runs < 200 and time.time() - t0 < 240:
            rc, out, err = summarise("--no-retention")
            runs += 1
            if rc != 0:
                fails.append(err)
            time.sleep(0.05)
        th.join(300)
        rc, out, err = summarise()
        l1_final = int(psql_csv("SELECT sum(transactions) AS n FROM artmon.level1")[0]["n"])
        ok(shipped == [0, 0, 0] and not fails and runs >= 1 and l1_final == l1_after + 3 * 259,
           "%d roll-ups while a sensor shipped 3 captures into rolled hours: all succeed, "
           "every transaction reaches level 1 (%d)" % (runs, l1_final),
           "%s %s %d" % (shipped, fails[:3], l1_final))
        level2_matches_level1("after rolling up while rows arrived")
        all_reports("after concurrent roll-ups")
        check_injection()

        # Retention: level 1 kept 1 day; the 2-days-old placement goes.
        good, err = load.ship("r-web", "http.pcap", -50 * 3600 + 20 * 60)
        rc, out, err = summarise()
        before = answers()
        l1_tx = int(psql_csv("SELECT sum(transactions) AS n FROM artmon.level1")[0]["n"])
        rc, out, err = summarise("-v", "--keep-level1", "1d")
        old = psql_csv("SELECT count(*) AS n FROM artmon.level1 WHERE interval_start < "
                       "date_trunc('day', now() - interval '1 day')")[0]["n"]
        m = [w for w in err.split() if w.isdigit()]
        after = answers()
        bad = [k for k in before if before[k] != after[k]]
        # From mid-hour: the half hour before the first whole bucket is
        # read by bucket start where level 1 is gone.
        big = report_json(["summary", "--from", "@%d" % (R_FROM - 1800), "--to",
                           "@%d" % HOUR])[1]
        ok(rc == 0 and "dropped" in err and old == "0" and not bad and
           "level 1 expired" in big["meta"]["sources"] and
           sum(r["transactions"] for r in big["rows"]) == l1_tx,
           "retention drops old level-1 days and the reports answer the same from level 2",
           err + "\n" + "\n".join(bad)[:3000] + str(m))
        good, err = load.ship("r-web", "http.pcap", -50 * 3600 + 21 * 60)
        tx1 = sum(r["transactions"] for r in report_json(["summary"] + RANGE)[1]["rows"])
        rc, out, err2 = summarise()
        tx2 = sum(r["transactions"] for r in report_json(["summary"] + RANGE)[1]["rows"])
        left = psql_csv("SELECT count(*) AS n FROM artmon.summary_l1 WHERE interval_start < "
                        "date_trunc('day', now() - interval '1 day')")[0]["n"]
        ok(good and tx1 == l1_tx + 259 and tx2 == tx1 and left == "0" and rc == 0,
           "a late batch for a retired day is counted at once and then merged into level 2 "
           "(and its level-1 rows go)", "%s %s %d %d %d %s" % (err, err2, l1_tx, tx1, tx2, left))

        # The records of delivered batches go with level 2 (003): the
        # captures placed 50 hours ago are past a 2-day level 2, the rest
        # is not, and is untouched.
        cut = "now() - interval '2 days'"
        old_b, new_b = (int(psql_csv("SELECT count(*) AS n FROM artmon.batches WHERE "
                                     "interval_start %s %s" % (op, cut))[0]["n"])
                        for op in ("<", ">="))
        rc, out, err = summarise("-v", "--keep-level1", "1d", "--keep-level2", "2d")
        old_a, new_a = (int(psql_csv("SELECT count(*) AS n FROM artmon.batches WHERE "
                                     "interval_start %s %s" % (op, cut))[0]["n"])
                        for op in ("<", ">="))
        ok(rc == 0 and old_b > 0 and old_a == 0 and new_a == new_b and
           ("%d batch records" % old_b) in err,
           "retention deletes the batch records as old as level 2's cut-off (%d), keeps "
           "the %d newer" % (old_b, new_b), "%d %d %d %d %s" % (old_b, new_b, old_a, new_a, err))
    finally:
        rc = load.stop()
    ok(rc == 0, "the collector exits cleanly")
    return done()


if __name__ == "__main__":
    sys.exit(main())
