#!/usr/bin/env python3
"""collector_corpus_e2e.py: the real sensor -> the real collector -> PostgreSQL.

For each corpus capture the sensor replays it once with its own
`--summaries csv` output and once shipping to the collector (its own
sensor name per capture, so nothing mixes); the rows in artmon.level1
must equal the CSV's, value for value, once rows with one key are merged
(late batches): every count, every metric's count/min/max/sum, both
histograms, and the view's milliseconds (min, avg, max, p50/p95/p99
computed from the CSV's histograms).  Health rows likewise.  The spool
must be empty at the end (everything ACKed).  One capture goes over TLS
(a self-signed certificate the sensor is given as its CA).

Run by collector_e2e.sh (PostgreSQL, schema, PG* and PG_TMP).  TAP.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_common import (CORPUS, SENSOR, TMP, BUILD, Collector, ok, done,  # noqa: E402
                              sensor_args, sensor_csv, merge_csv_rows, db_rows,
                              compare_rows, merge_csv_health, db_health,
                              spool_files, write_key, psql_csv, sensor_ships, tls_env)

KEY = "e2e-shared-key-0123456789abcdef"


def main():
    if not sensor_ships() or not os.path.isdir(CORPUS):
        print("1..0 # SKIP a sensor that ships, or the corpus, is missing")
        return 0
    names = ["http.pcap", "mixed.pcap", "dns.pcap"]
    if os.path.exists(os.path.join(BUILD, "plugins", ".libs", "imap.so")):
        names.append("imap.pcap")
    sensors = {"e2e-" + n.split(".")[0]: KEY for n in names}
    sensors["e2e-tls"] = KEY
    keyfile = os.path.join(TMP, "e2e.key")
    write_key(keyfile, KEY)

    coll = Collector("e2e-collector", sensors)
    coll.start()
    try:
        for n in names:
            pcap = os.path.join(CORPUS, n)
            name = "e2e-" + n.split(".")[0]
            rows, health = sensor_csv(pcap, os.path.join(TMP, name + ".csv"))
            spool = os.path.join(TMP, name + ".spool")
            out = subprocess.run(sensor_args(pcap, coll.port, name, keyfile, spool,
                                             ["-o", "collector.drain_timeout=60s"]),
                                 capture_output=True, text=True, timeout=600)
            ok(out.returncode == 0 and spool_files(spool) == 0,
               "%s: the sensor ships everything and exits (spool empty)" % n,
               out.stderr[-3000:])
            want, got = merge_csv_rows(rows), db_rows(name)
            bad = compare_rows(want, got)
            ok(not bad and len(got) > 0,
               "%s: artmon.level1 equals the sensor's CSV value for value "
               "(%d rows from %d CSV rows, %d transactions)"
               % (n, len(got), len(rows), sum(w["counts"]["transactions"] for w in want.values())),
               "\n".join(bad))
            wh, gh = merge_csv_health(health), db_health(name)
            ok(wh == gh and len(gh) > 0,
               "%s: artmon.health equals the sensor's health rows (%d intervals)"
               % (n, len(gh)), "want %s\ngot  %s" % (wh, gh))

        # TLS: a self-signed certificate, the sensor trusting exactly it.
        crt, key = os.path.join(TMP, "coll.crt"), os.path.join(TMP, "coll.key")
        gen = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                              "-nodes", "-days", "2", "-subj", "/CN=localhost",
                              "-addext", "subjectAltName=DNS:localhost",
                              "-keyout", key, "-out", crt],
                             capture_output=True, text=True, timeout=120)
        if gen.returncode != 0 or not shutil.which("openssl"):
            ok(True, "# SKIP TLS: no openssl")
        else:
            tls = Collector("e2e-collector-tls", {"e2e-tls": KEY},
                            extra_conf="cert_file = %s\nkey_file = %s\n" % (crt, key),
                            env=tls_env())
            tls.start()
            try:
                pcap = os.path.join(CORPUS, "dns.pcap")
                rows, _ = sensor_csv(pcap, os.path.join(TMP, "tls.csv"))
                spool = os.path.join(TMP, "tls.spool")
                out = subprocess.run(
                    sensor_args(pcap, tls.port, "e2e-tls", keyfile, spool,
                                ["-o", "collector.drain_timeout=60s",
                                 "-o", "collector.tls=true",
                                 "-o", "collector.ca_file=" + crt,
                                 "-o", "collector.tls_server_name=localhost"]),
                    capture_output=True, text=True, timeout=600, env=tls_env())
                bad = compare_rows(merge_csv_rows(rows), db_rows("e2e-tls"))
                ok(out.returncode == 0 and spool_files(spool) == 0 and not bad,
                   "dns.pcap over TLS: delivered and equal to the CSV",
                   out.stderr[-2000:] + "\n".join(bad) + tls.log()[-2000:])
            finally:
                ok(tls.stop() == 0, "the TLS collector exits cleanly", tls.log()[-3000:])

        # Nothing stored twice: one batch row per batch id.
        dup = psql_csv("select count(*) - count(distinct (sensor_id, batch_id)) as d "
                       "from artmon.batches")
        ok(dup[0]["d"] == "0", "artmon.batches holds each batch id once")
    finally:
        rc = coll.stop()
    ok(rc == 0, "the collector exits cleanly on SIGTERM (sanitizers quiet)", coll.log()[-3000:])
    return done()


if __name__ == "__main__":
    sys.exit(main())
