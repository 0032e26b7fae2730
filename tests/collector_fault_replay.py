#!/usr/bin/env python3
"""collector_fault_replay.py: nothing lost, nothing doubled, whatever breaks.

A benchmark capture (make-bench-pcap.py from the corpus' mixed.pcap:
300000 packets over 25 minutes) is replayed by the real sensor at 25x
real time (about a minute) and shipped to the real collector, in
30-second intervals so that a batch leaves every 1.2 s and every fault
lands among deliveries.  Meanwhile: the collector is
SIGKILLed and restarted three times, PostgreSQL is restarted once, and
the sensor is SIGKILLed once and restarted on the same file from the
beginning (its batch ids are deterministic per run and content, so what
was stored already is deduplicated, and its spool still holds what was
not acknowledged).  Afterwards every row of artmon.level1 must equal the
sensor's own CSV of an undisturbed run (merged by key), and the health
rows too.  Prints the totals.  Run by collector_faults.sh.  TAP.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_common import (SHARED, TMP, Collector, ok, done, sensor_args,  # noqa: E402
                              sensor_csv, merge_csv_rows, db_rows, compare_rows,
                              merge_csv_health, db_health, spool_files, write_key,
                              psql_csv, sensor_ships)

KEY = "faults-shared-key-0123456789abcdef"
NAME = "faults"
PACKETS = int(os.environ.get("ARTMON_FAULT_PACKETS", "300000"))
SPAN = 1500
SPEED = 25
INTERVAL = ["-o", "interval=30s"]
START = 1767225600        # 2026-01-01 00:00:00 UTC, a multiple of 300


def pg_restart():
    """Restart the test's server (tests/pg.sh exported how)."""
    pg_bin, data = os.environ["PG_BIN"], os.path.join(TMP, "data")
    cmd = [os.path.join(pg_bin, "pg_ctl"), "-D", data, "-l",
           os.path.join(TMP, "log", "server.log"), "-o", "-p %s" % os.environ["PGPORT"],
           "-m", "fast", "-w", "-t", "60", "restart"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", os.environ.get("PG_RUN_USER", "nobody"), "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).returncode


def main():
    maker = os.path.join(SHARED, "corpus", "make-bench-pcap.py")
    src = os.path.join(SHARED, "corpus", "mixed.pcap")
    if not sensor_ships() or not os.path.exists(maker) or not os.path.exists(src):
        print("1..0 # SKIP a sensor that ships, or the corpus, is missing")
        return 0
    pcap = os.path.join(TMP, "bench.pcap")
    subprocess.run([sys.executable, maker, src, pcap, "--packets", str(PACKETS),
                    "--span", str(SPAN), "--start", str(START)], check=True,
                   capture_output=True, timeout=600)
    rows, health = sensor_csv(pcap, os.path.join(TMP, "faults.csv"), INTERVAL)
    want = merge_csv_rows(rows)
    late = sum(1 for r in rows if r.get("late") == "1")
    ok(len(want) > 0, "reference: the sensor's own CSV of the capture: %d rows "
       "(%d in late batches), %d intervals" % (len(rows), late, len(health)))

    keyfile = os.path.join(TMP, "faults.key")
    write_key(keyfile, KEY)
    coll = Collector("faults-collector", {NAME: KEY})
    coll.start()
    spool = os.path.join(TMP, "faults.spool")
    args = sensor_args(pcap, coll.port, NAME, keyfile, spool,
                       ["--replay-speed", str(SPEED),
                        "-o", "collector.drain_timeout=180s"] + INTERVAL)
    slog = open(os.path.join(TMP, "faults-sensor.log"), "w")
    events = []
    t0 = time.time()

    def at(t):
        while time.time() - t0 < t:
            time.sleep(0.1)
        return "%5.1fs" % (time.time() - t0)

    sensor = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=slog)
    try:
        events.append(at(6) + " collector SIGKILL")
        coll.kill()
        time.sleep(1)
        coll.start()
        events.append(at(14) + " PostgreSQL restart: rc %d" % pg_restart())
        events.append(at(22) + " collector SIGKILL")
        coll.kill()
        time.sleep(2)
        coll.start()
        events.append(at(30) + " sensor SIGKILL, restarted from the beginning")
        sensor.kill()
        sensor.wait()
        slog.write("---- restarted\n")
        slog.flush()
        sensor = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=slog)
        events.append(at(42) + " collector SIGKILL")
        coll.kill()
        time.sleep(1)
        coll.start()
        try:
            rc = sensor.wait(timeout=400)
        except subprocess.TimeoutExpired:
            sensor.kill()
            rc = "timeout"
        events.append(at(0) + " sensor exited: %s" % rc)
    finally:
        if sensor.poll() is None:
            sensor.kill()
        slog.close()
    with open(os.path.join(TMP, "faults-sensor.log")) as f:
        slog_text = f.read()
    ok(rc == 0 and spool_files(spool) == 0,
       "the restarted sensor delivers everything and exits (spool empty)",
       "\n".join(events) + "\n" + slog_text[-3000:])

    got = db_rows(NAME)
    bad = compare_rows(want, got)
    tw = sum(w["counts"]["transactions"] for w in want.values())
    tg = sum(int(g["transactions"]) for g in got.values())
    sw = sum(w["m"]["ttlb_us"][3] for w in want.values())
    sg = sum(int(g["ttlb_us_sum"]) for g in got.values())
    hw = sum(sum(w["ttfb"].values()) for w in want.values())
    hg = sum(sum(int(x) for x in g["ttfb_hist"].strip("{}").split(",")[1::2])
             for g in got.values() if g["ttfb_hist"] != "{}")
    print("# events: " + "; ".join(events))
    print("# totals, database vs undisturbed: transactions %d / %d, ttlb_us sum "
          "%d / %d, ttfb histogram values %d / %d, rows %d / %d"
          % (tg, tw, sg, sw, hg, hw, len(got), len(want)))
    ok(not bad, "after 3 collector kills, a PostgreSQL restart and a sensor "
       "kill, artmon.level1 equals the undisturbed run row for row, value for "
       "value (%d rows, %d transactions)" % (len(got), tg), "\n".join(bad[:30]))
    wh, gh = merge_csv_health(health), db_health(NAME)
    ok(wh == gh, "health rows equal the undisturbed run's (%d intervals)" % len(gh),
       "want %s\ngot  %s" % (wh, gh))
    stored = psql_csv("select count(*) as n, count(distinct batch_id) as d "
                      "from artmon.batches b join artmon.sensors s using (sensor_id) "
                      "where s.name = '%s'" % NAME)[0]
    ok(stored["n"] == stored["d"], "each batch id stored once (%s batches)" % stored["n"])
    ok(coll.starts == 4, "the collector was started 4 times (3 kills)")
    rc = coll.stop()
    log = coll.log()
    ok(rc == 0, "the last collector exits cleanly (sanitizers quiet)", log[-3000:])
    for line in log.splitlines():
        if "batches:" in line or "database" in line:
            print("# collector: " + line.split(": ", 1)[-1][:300])
    return done()


if __name__ == "__main__":
    sys.exit(main())
