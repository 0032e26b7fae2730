-- bench/level2_gen.sql: synthetic level-1 data for bench/level2.sh.
--
--   psql -v days=30 -v sigs=1000 -v servers=10 -f bench/level2_gen.sql
--
-- :sigs signatures spread over :servers servers (port 80), two sensors
-- (the first half of the servers behind bench-a, the rest behind
-- bench-b), one 5-minute row per signature and interval for :days days
-- ending at the last UTC midnight before yesterday (all older than the
-- roll-up's default horizon), and one batch per sensor and interval, as
-- the collector would have recorded them.  Histograms come from a pool
-- of 4096 drawn once (about 12 buckets for ttfb, 14 for ttlb: what 20
-- to 60 transactions of a log-normal response time fill); counts, sums,
-- minima and maxima are consistent with them.
\set ON_ERROR_STOP 1
SET synchronous_commit = off;

INSERT INTO artmon.sensors (name) VALUES ('bench-a'), ('bench-b')
ON CONFLICT (name) DO NOTHING;

CREATE TEMP TABLE pool AS
WITH h AS (
  SELECT p, b, count(*)::bigint AS c
  FROM generate_series(0, 4095) AS p,
       LATERAL (SELECT 1 + floor(ln(greatest(1, exp(8.5 + (p % 7) * 0.2 + 0.45 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())))) / ln(1.1))::int AS b
                FROM generate_series(1, 20 + (p % 41))) v
  GROUP BY p, b
), t AS (
  SELECT p, b + 3 AS b, c FROM h
)
SELECT h.p,
       (SELECT array_agg(v ORDER BY x.b, k) FROM h x, LATERAL (VALUES (1, x.b::bigint), (2, x.c)) AS pr(k, v) WHERE x.p = h.p) AS ttfb_hist,
       (SELECT array_agg(v ORDER BY x.b, k) FROM t x, LATERAL (VALUES (1, x.b::bigint), (2, x.c)) AS pr(k, v) WHERE x.p = h.p) AS ttlb_hist,
       sum(h.c)::bigint AS n,
       min(artmon.hist_bucket_value_us(h.b))::bigint AS mn,
       max(artmon.hist_bucket_value_us(h.b))::bigint AS mx,
       sum(h.c * artmon.hist_bucket_value_us(h.b))::bigint AS sm
FROM h GROUP BY h.p;
CREATE UNIQUE INDEX ON pool (p);
ANALYZE pool;

SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - interval '1 day' AS t_end \gset
SELECT timestamptz :'t_end' - :days * interval '1 day' AS t_start \gset
SELECT artmon.ensure_partitions(:'t_start', :'t_end');

CREATE TEMP TABLE series AS
SELECT g AS sig, (g % :servers) AS srv,
       (SELECT sensor_id FROM artmon.sensors
        WHERE name = CASE WHEN (g % :servers) < :servers / 2 THEN 'bench-a' ELSE 'bench-b' END) AS sensor_id,
       'GET_/api/v1/resource/' || lpad(g::text, 4, '0') AS signature,
       ('10.0.0.' || (1 + g % :servers))::inet AS addr
FROM generate_series(0, :sigs - 1) AS g;

-- One day per statement: each commits on its own, memory stays flat.
SELECT format($q$
INSERT INTO artmon.summary_l1
SELECT s.sensor_id, t, 300, 'http', s.signature, s.addr, 80,
       p.n, p.n / 20, 0, 0, 0, 0, 0, 0,
       p.n, 100, 900, p.n * 400,
       p.n, p.mn, p.mx, p.sm,
       p.n, p.mn * 2, p.mx * 2, p.sm * 2,
       p.n, 150, 450, p.n * 300,
       p.n, 100, 300, p.n * 200,
       p.n, 80, 600, p.n * 300,
       p.n, 200, 90000, p.n * 12000,
       p.n, 1, 2, p.n,
       p.n, 1, 30, p.n * 6,
       p.n * 6, 1, 1448, p.n * 12000,
       p.n, 1460, 1460, p.n * 1460,
       p.n, 65535, 65535, p.n * 65535,
       p.ttfb_hist, p.ttlb_hist, 1
FROM generate_series(%L::timestamptz, %L::timestamptz - interval '5 minutes', interval '5 minutes') AS t,
     series s
JOIN LATERAL (SELECT * FROM pool
              WHERE pool.p = (s.sig * 7919 + extract(epoch FROM t)::bigint / 300) %% 4096) p ON true
$q$, d, d + interval '1 day')
FROM generate_series(:'t_start'::timestamptz, :'t_end'::timestamptz - interval '1 day', interval '1 day') AS d
\gexec

INSERT INTO artmon.batches (sensor_id, batch_id, interval_start, interval_secs, late, rows)
SELECT n.sensor_id, decode(md5(n.sensor_id || '/' || t), 'hex'), t, 300, false,
       (SELECT count(*) FROM series s WHERE s.sensor_id = n.sensor_id)
FROM artmon.sensors n,
     generate_series(:'t_start'::timestamptz, :'t_end'::timestamptz - interval '5 minutes', interval '5 minutes') AS t
WHERE n.name IN ('bench-a', 'bench-b');

INSERT INTO artmon.health_l1 (sensor_id, interval_start, interval_secs, packets, bytes,
  kernel_drops, iface_drops, malformed, flows_active, flows_created, flows_evicted, gaps,
  transactions, clients_distinct, clients_estimated, client_ports_distinct,
  conn_per_sec_min, conn_per_sec_avg, conn_per_sec_max, output_dropped, spool_dropped)
SELECT n.sensor_id, t, 300, 400000, 300000000, 0, 0, 0, 900, 9000, 0, 0, 20000, 1500,
       false, 9000, 10, 30, 80, 0, 0
FROM artmon.sensors n,
     generate_series(:'t_start'::timestamptz, :'t_end'::timestamptz - interval '5 minutes', interval '5 minutes') AS t
WHERE n.name IN ('bench-a', 'bench-b');

INSERT INTO artmon.top_clients
SELECT n.sensor_id, t, ('192.168.' || (c / 250) || '.' || (c % 250 + 1))::inet, 2000 - c * 50, 0
FROM artmon.sensors n,
     generate_series(:'t_start'::timestamptz, :'t_end'::timestamptz - interval '5 minutes', interval '5 minutes') AS t,
     generate_series(0, 19) AS c
WHERE n.name IN ('bench-a', 'bench-b');

ANALYZE artmon.summary_l1;
ANALYZE artmon.batches;
