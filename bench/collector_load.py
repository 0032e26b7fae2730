#!/usr/bin/env python3
"""collector_load.py: make summary rows, feed them to artmon-collector as a
sensor would, and write the same rows as COPY text for the baseline.

  collector_load.py gen ROWS COPYFILE SENSOR_ID     (prints nothing)
  collector_load.py send ROWS HOST PORT NAME KEY    (prints rows/s)

Both modes build the same rows from the same seed: ROWS rows over
intervals of 300 s, 2000 rows per batch (the sensor's batch size), with
realistic histograms (20-40 non-empty buckets each).  `send` encodes
every batch first, then times only the delivery: from the first byte
sent to the last ACK, with at most 8 batches in flight (as a sensor).
"""
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests"))
import artmon_wire as w  # noqa: E402

BATCH_ROWS = 2000
T0 = 1767225600          # 2026-01-01 00:00 UTC


def rows(n):
    rng = random.Random(42)
    out = []
    for i in range(n):
        iv = T0 + 300 * (i // 20000)
        h1 = {}
        h2 = {}
        for _ in range(rng.randint(20, 40)):
            h1[rng.randint(40, 140)] = rng.randint(1, 500)
            h2[rng.randint(50, 160)] = rng.randint(1, 500)
        t = sum(h1.values())
        r = dict(interval_start=iv, protocol=rng.choice(["http", "dns", "imap", "tcp"]),
                 signature="GET_/bench/%d" % (i % 20000),
                 server_addr="10.%d.%d.%d" % (i % 7, (i // 7) % 250, 1 + i % 200),
                 server_port=rng.choice([80, 443, 8080, 53]),
                 transactions=t, errors=rng.randint(0, 10), retransmissions=rng.randint(0, 50))
        for m in w.METRICS:
            c = t if m != "client_ack_us" else t // 2
            lo = rng.randint(1, 1000)
            hi = lo + rng.randint(0, 100000)
            r[m + "_count"] = c
            r[m + "_sum"] = c * (lo + hi) // 2
            r[m + "_min"] = lo
            r[m + "_max"] = hi
        r["ttfb_hist"] = h1
        r["ttlb_hist"] = h2
        out.append(r)
    return out


def copy_line(sensor_id, r):
    ts = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(r["interval_start"]))
    f = [str(sensor_id), ts, "300", r["protocol"], r["signature"],
         r["server_addr"], str(r["server_port"])]
    f += [str(r.get(c, 0)) for c in w.COUNTS]
    for m in w.METRICS:
        f += [str(r[m + "_count"]), str(r[m + "_min"]), str(r[m + "_max"]),
              str(r[m + "_sum"])]
    for h in ("ttfb_hist", "ttlb_hist"):
        f.append("{" + ",".join("%d,%d" % (b, c) for b, c in sorted(r[h].items())) + "}")
    f.append("1")
    return "\t".join(f) + "\n"


def gen(n, path, sensor_id):
    with open(path, "w") as f:
        for r in rows(n):
            f.write(copy_line(sensor_id, r))


def send(n, host, port, name, key):
    rs = rows(n)
    payloads = []
    for i in range(0, n, BATCH_ROWS):
        chunk = rs[i:i + BATCH_ROWS]
        iv = chunk[0]["interval_start"]
        assert all(r["interval_start"] == iv for r in chunk)
        bid = struct.pack(">QQ", 0xbe7c4, i)
        payloads.append((bid, w.batch_payload(bid, iv, 300, chunk)))
    s = w.Sensor.connect((host, port), name, key.encode(), timeout=120)
    # Wait until the writer is connected: a first empty batch, ACKed.
    while True:
        s.send_batch(w.batch_payload(b"\xff" * 16, T0, 300, []))
        kind, _ = s.recv_verdict()
        if kind == w.ACK:
            break
        time.sleep(0.2)
    pending = {}
    todo = list(payloads)
    t0 = time.time()
    retries = 0
    while todo or pending:
        while todo and len(pending) < 8:
            bid, p = todo.pop(0)
            s.send_batch(p)
            pending[bid] = p
        kind, body = s.recv_verdict()
        bid = body[:16]
        if kind == w.ACK:
            pending.pop(bid, None)
        elif kind == w.RETRY:
            retries += 1
            todo.insert(0, (bid, pending.pop(bid)))
            time.sleep(0.05)
        else:
            raise SystemExit("unexpected answer %s" % kind)
    dt = time.time() - t0
    s.close()
    print("%d rows in %.3f s: %.0f rows/s (%d retries)" % (n, dt, n / dt, retries))


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        send(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
