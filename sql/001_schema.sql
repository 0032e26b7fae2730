-- 001_schema.sql: artmon's first schema: sensors, delivered batches,
-- level-1 summaries (partitioned by day), level-2 summaries, sensor
-- health, top clients, histogram functions, the public views, and roles.
--
-- Applied by `artmon-collector --init-db` inside one transaction, under an
-- advisory lock, and recorded in artmon.schema_version; never edit a
-- migration that has shipped: add 002_*.sql.  docs/schema.md describes
-- every object with example queries.
--
-- Units: times are timestamptz; durations are integer microseconds
-- (columns ending in _us) in tables and milliseconds (double precision,
-- columns ending in _ms) in views; sizes are bytes.  Histograms are sparse
-- bigint[] arrays of flattened (bucket, count) pairs in increasing bucket
-- order, e.g. '{12,3,15,1}' = 3 values in bucket 12, 1 in bucket 15; the
-- buckets are lib/hist.h's: bucket 0 holds v < 1 us, bucket b >= 1 holds
-- [1.1^(b-1), 1.1^b) us.  Sparse because a row's values usually fall into
-- a few dozen of the 219 buckets.

CREATE SCHEMA IF NOT EXISTS artmon;
COMMENT ON SCHEMA artmon IS
  'artmon: application response times measured by passive sensors (see docs/schema.md)';

-- ---------------------------------------------------------------- roles
-- Cluster-wide, so created only if absent.  NOLOGIN: grant them to the
-- login roles that the collector and the reports use.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'artmon_writer') THEN
    CREATE ROLE artmon_writer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'artmon_reader') THEN
    CREATE ROLE artmon_reader NOLOGIN;
  END IF;
END
$$;
COMMENT ON ROLE artmon_writer IS
  'artmon: what artmon-collector needs: insert and merge summaries, create day partitions through artmon.ensure_partitions()';
COMMENT ON ROLE artmon_reader IS
  'artmon: read-only access to every artmon table and view, for reports';

-- ---------------------------------------------------------------- bookkeeping
CREATE TABLE artmon.schema_version (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE artmon.schema_version IS
  'Migrations applied to this database, one row per sql/NNN_*.sql file';
COMMENT ON COLUMN artmon.schema_version.version IS 'migration number (NNN of the file name)';
COMMENT ON COLUMN artmon.schema_version.name IS 'migration file name';
COMMENT ON COLUMN artmon.schema_version.applied_at IS 'when it was applied (timestamptz)';

CREATE TABLE artmon.sensors (
  sensor_id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL UNIQUE
              CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
  first_seen  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now(),
  last_addr   inet
);
COMMENT ON TABLE artmon.sensors IS
  'Sensors that have delivered data; created on first delivery';
COMMENT ON COLUMN artmon.sensors.sensor_id IS 'surrogate key used by the other tables';
COMMENT ON COLUMN artmon.sensors.name IS 'the name the sensor authenticates with (collector.conf [sensors])';
COMMENT ON COLUMN artmon.sensors.first_seen IS 'first batch stored (timestamptz)';
COMMENT ON COLUMN artmon.sensors.last_seen IS 'latest batch stored (timestamptz)';
COMMENT ON COLUMN artmon.sensors.last_addr IS 'network address the latest batch came from';

CREATE TABLE artmon.batches (
  sensor_id       integer NOT NULL REFERENCES artmon.sensors,
  batch_id        bytea NOT NULL CHECK (length(batch_id) = 16),
  interval_start  timestamptz NOT NULL,
  interval_secs   integer NOT NULL,
  late            boolean NOT NULL,
  rows            integer NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sensor_id, batch_id)
);
COMMENT ON TABLE artmon.batches IS
  'Every batch stored, by its id: written in the same transaction as its rows, so a batch delivered again (the sensor did not see the ACK) is recognised and not counted twice';
COMMENT ON COLUMN artmon.batches.sensor_id IS 'sensor that sent it (artmon.sensors)';
COMMENT ON COLUMN artmon.batches.batch_id IS 'the sensor''s 16-byte batch id, deterministic per run and content';
COMMENT ON COLUMN artmon.batches.interval_start IS 'start of the interval the batch summarises (timestamptz)';
COMMENT ON COLUMN artmon.batches.interval_secs IS 'length of that interval (seconds)';
COMMENT ON COLUMN artmon.batches.late IS 'a late batch: transactions that ended after the interval had been sent';
COMMENT ON COLUMN artmon.batches.rows IS 'summary rows the batch carried (count)';
COMMENT ON COLUMN artmon.batches.received_at IS 'when it was committed (timestamptz)';

-- ---------------------------------------------------------------- histograms
-- Pure SQL, so the schema needs no extension and no C module.

CREATE FUNCTION artmon.hist_add(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(v ORDER BY bucket, k), '{}'::bigint[])
  FROM (SELECT p.bucket, sum(p.cnt)::bigint AS cnt
        FROM (SELECT x[i] AS bucket, x[i + 1] AS cnt
              FROM (VALUES (coalesce(a, '{}')), (coalesce(b, '{}'))) AS h(x),
                   generate_series(1, coalesce(array_length(x, 1), 0) - 1, 2) AS i) p
        GROUP BY p.bucket) s,
       LATERAL (VALUES (1, s.bucket), (2, s.cnt)) AS pair(k, v)
$$;
COMMENT ON FUNCTION artmon.hist_add(bigint[], bigint[]) IS
  'Sum of two sparse histograms ({bucket,count,...} arrays): counts of equal buckets add; NULL counts as empty';

CREATE AGGREGATE artmon.hist_merge(bigint[]) (
  SFUNC = artmon.hist_add,
  STYPE = bigint[],
  COMBINEFUNC = artmon.hist_add,
  INITCOND = '{}',
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE artmon.hist_merge(bigint[]) IS
  'Merge of sparse histograms over rows (an hour, a day, several servers): exact, because every histogram has the same buckets';

CREATE FUNCTION artmon.hist_total(h bigint[]) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(sum(h[i]), 0)::bigint
  FROM generate_series(2, coalesce(array_length(h, 1), 0), 2) AS i
$$;
COMMENT ON FUNCTION artmon.hist_total(bigint[]) IS
  'Number of values in a sparse histogram (sum of its counts)';

CREATE FUNCTION artmon.hist_bucket_value_us(bucket integer)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN bucket <= 0 THEN 0.0
              ELSE power(1.1::double precision, bucket - 1) * 2.2 / 2.1 END
$$;
COMMENT ON FUNCTION artmon.hist_bucket_value_us(integer) IS
  'Representative value of a histogram bucket, in microseconds: 1.1^(b-1) * 2.2/2.1 (within 4.77% of every value in the bucket); 0 for bucket 0 (< 1 us)';

CREATE FUNCTION artmon.percentile(h bigint[], fraction double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  -- Nearest rank, as lib/hist.c: the bucket holding the
  -- ceil(fraction * total)-th value (at least the first).
  WITH pairs AS (
    SELECT h[i] AS bucket, h[i + 1] AS cnt
    FROM generate_series(1, coalesce(array_length(h, 1), 0) - 1, 2) AS i
  ), running AS (
    SELECT bucket, sum(cnt) OVER (ORDER BY bucket) AS seen,
           sum(cnt) OVER () AS total
    FROM pairs
  )
  SELECT artmon.hist_bucket_value_us(bucket::integer)
  FROM running
  WHERE total > 0
    AND seen >= greatest(1, ceil(least(greatest(fraction, 0), 1) * total))
  ORDER BY bucket
  LIMIT 1
$$;
COMMENT ON FUNCTION artmon.percentile(bigint[], double precision) IS
  'Value at fraction (0..1) of a sparse histogram, in MICROSECONDS (nearest rank; within 4.77% of the exact value); NULL if empty. Example: artmon.percentile(artmon.hist_merge(ttfb_hist), 0.95) / 1000 is a p95 in ms';

-- ---------------------------------------------------------------- summaries
-- One row per (sensor, interval, protocol, signature, server address,
-- server port): exactly the sensor's `--summaries csv` row.  For each
-- per-transaction metric four columns: _count (transactions with a
-- value), _min and _max (NULL when _count is 0), _sum.

CREATE TABLE artmon.summary_l1 (
  sensor_id       integer NOT NULL,
  interval_start  timestamptz NOT NULL,
  interval_secs   integer NOT NULL,
  protocol        text NOT NULL,
  signature       text NOT NULL,
  server_addr     inet NOT NULL,
  server_port     integer NOT NULL,
  transactions    bigint NOT NULL,
  errors          bigint NOT NULL,
  retransmissions bigint NOT NULL,
  timeouts        bigint NOT NULL,
  gaps            bigint NOT NULL,
  midstream       bigint NOT NULL,
  orphan_responses bigint NOT NULL,
  retries         bigint NOT NULL,
  request_us_count bigint NOT NULL, request_us_min bigint, request_us_max bigint, request_us_sum bigint NOT NULL,
  ttfb_us_count bigint NOT NULL, ttfb_us_min bigint, ttfb_us_max bigint, ttfb_us_sum bigint NOT NULL,
  ttlb_us_count bigint NOT NULL, ttlb_us_min bigint, ttlb_us_max bigint, ttlb_us_sum bigint NOT NULL,
  handshake_rtt_us_count bigint NOT NULL, handshake_rtt_us_min bigint, handshake_rtt_us_max bigint, handshake_rtt_us_sum bigint NOT NULL,
  client_ack_us_count bigint NOT NULL, client_ack_us_min bigint, client_ack_us_max bigint, client_ack_us_sum bigint NOT NULL,
  request_bytes_count bigint NOT NULL, request_bytes_min bigint, request_bytes_max bigint, request_bytes_sum bigint NOT NULL,
  response_bytes_count bigint NOT NULL, response_bytes_min bigint, response_bytes_max bigint, response_bytes_sum bigint NOT NULL,
  request_packets_count bigint NOT NULL, request_packets_min bigint, request_packets_max bigint, request_packets_sum bigint NOT NULL,
  server_packets_count bigint NOT NULL, server_packets_min bigint, server_packets_max bigint, server_packets_sum bigint NOT NULL,
  server_pkt_bytes_count bigint NOT NULL, server_pkt_bytes_min bigint, server_pkt_bytes_max bigint, server_pkt_bytes_sum bigint NOT NULL,
  server_mss_count bigint NOT NULL, server_mss_min bigint, server_mss_max bigint, server_mss_sum bigint NOT NULL,
  server_window_count bigint NOT NULL, server_window_min bigint, server_window_max bigint, server_window_sum bigint NOT NULL,
  ttfb_hist       bigint[] NOT NULL,
  ttlb_hist       bigint[] NOT NULL,
  merged          integer NOT NULL DEFAULT 1,
  PRIMARY KEY (sensor_id, interval_start, protocol, signature, server_addr, server_port)
) PARTITION BY RANGE (interval_start);

-- The level-2 table: the same row for a longer bucket (interval_secs,
-- e.g. 3600 or 86400), written by the level-2 summariser from level 1.
-- Not partitioned: it is 12 to 288 times smaller than level 1.
CREATE TABLE artmon.summary_l2 (LIKE artmon.summary_l1 INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE artmon.summary_l2
  ADD PRIMARY KEY (sensor_id, interval_secs, interval_start, protocol, signature, server_addr, server_port);

COMMENT ON TABLE artmon.summary_l1 IS
  'Level-1 summaries: one row per sensor, interval (5 minutes by default), protocol, signature and server; partitioned by day of interval_start (artmon.ensure_partitions)';
COMMENT ON TABLE artmon.summary_l2 IS
  'Level-2 summaries: level-1 rows merged into longer buckets (interval_secs) by the level-2 summariser; same columns';

-- Column comments for both levels, from one list so they cannot differ.
DO $$
DECLARE
  t text;
  c record;
  m record;
BEGIN
  FOREACH t IN ARRAY ARRAY['summary_l1', 'summary_l2'] LOOP
    FOR c IN SELECT * FROM (VALUES
      ('sensor_id', 'sensor (artmon.sensors)'),
      ('interval_start', 'start of the interval, aligned to the epoch (timestamptz); a transaction belongs to the interval its request started in'),
      ('interval_secs', 'length of the interval (seconds): 300 by default at level 1; the bucket length at level 2'),
      ('protocol', 'plugin that measured the transactions: http, dns, imap, tcp'),
      ('signature', 'transaction name from the signature rules, or the plugin''s default'),
      ('server_addr', 'server address (IPv4 or IPv6)'),
      ('server_port', 'server port (TCP or UDP)'),
      ('transactions', 'transactions (count)'),
      ('errors', 'transactions in error by the plugin''s rule, timeouts included (count)'),
      ('retransmissions', 'TCP segments carrying only already-delivered bytes, summed over the transactions (count)'),
      ('timeouts', 'requests that got no complete response (count)'),
      ('gaps', 'transactions with missing bytes (count)'),
      ('midstream', 'transactions on connections picked up after they started (count)'),
      ('orphan_responses', 'responses with no request (count)'),
      ('retries', 'requests sent again, DNS (count)'),
      ('ttfb_hist', 'histogram of ttfb (sparse {bucket,count,...}; buckets in docs/schema.md; values in microseconds)'),
      ('ttlb_hist', 'histogram of ttlb (sparse {bucket,count,...}; buckets in docs/schema.md; values in microseconds)'),
      ('merged', 'rows merged into this one (count): 1, more when late batches, sensor restarts or a roll-up added to it')
    ) AS v(col, txt) LOOP
      EXECUTE format('COMMENT ON COLUMN artmon.%I.%I IS %L', t, c.col, c.txt);
    END LOOP;
    FOR m IN SELECT * FROM (VALUES
      ('request_us', 'request duration, its first to its last packet', 'microseconds'),
      ('ttfb_us', 'time to first byte: request''s last packet to response''s first', 'microseconds'),
      ('ttlb_us', 'time to last byte: request''s last packet to response''s last', 'microseconds'),
      ('handshake_rtt_us', 'TCP handshake round trip: SYN to the ACK of the SYN/ACK', 'microseconds'),
      ('client_ack_us', 'response''s last packet to the client''s ACK of it', 'microseconds'),
      ('request_bytes', 'request payload', 'bytes'),
      ('response_bytes', 'response payload', 'bytes'),
      ('request_packets', 'packets of the request', 'packets'),
      ('server_packets', 'server packets of the response', 'packets'),
      ('server_pkt_bytes', 'server packet payload size (count: server packets; sum: their bytes)', 'bytes'),
      ('server_mss', 'MSS option of the server''s SYN/ACK', 'bytes'),
      ('server_window', 'smallest receive window the server advertised per transaction', 'bytes')
    ) AS v(stem, what, unit) LOOP
      EXECUTE format('COMMENT ON COLUMN artmon.%I.%I IS %L', t, m.stem || '_count',
                     m.what || ': transactions with a value (count)');
      EXECUTE format('COMMENT ON COLUMN artmon.%I.%I IS %L', t, m.stem || '_min',
                     m.what || ': smallest (' || m.unit || '); NULL when _count is 0');
      EXECUTE format('COMMENT ON COLUMN artmon.%I.%I IS %L', t, m.stem || '_max',
                     m.what || ': largest (' || m.unit || '); NULL when _count is 0');
      EXECUTE format('COMMENT ON COLUMN artmon.%I.%I IS %L', t, m.stem || '_sum',
                     m.what || ': sum (' || m.unit || ')');
    END LOOP;
  END LOOP;
END
$$;

-- ---------------------------------------------------------------- partitions
-- Day partitions of summary_l1, named summary_l1_YYYYMMDD (UTC days).
-- SECURITY DEFINER: the collector's role may create partitions through
-- this function and nothing else; the lock makes two collectors creating
-- the same day wait for each other instead of failing.
CREATE FUNCTION artmon.ensure_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  d date;
  last date;
  made integer := 0;
  part text;
BEGIN
  IF from_ts IS NULL OR to_ts IS NULL OR to_ts < from_ts THEN
    RETURN 0;
  END IF;
  IF to_ts - from_ts > interval '400 days' THEN
    RAISE EXCEPTION 'artmon.ensure_partitions: % to % is more than 400 days', from_ts, to_ts;
  END IF;
  d := (from_ts AT TIME ZONE 'UTC')::date;
  last := (to_ts AT TIME ZONE 'UTC')::date;
  WHILE d <= last LOOP
    part := 'summary_l1_' || to_char(d, 'YYYYMMDD');
    IF to_regclass('artmon.' || part) IS NULL THEN
      PERFORM pg_advisory_xact_lock(hashtext('artmon.ensure_partitions'));
      IF to_regclass('artmon.' || part) IS NULL THEN
        EXECUTE format('CREATE TABLE artmon.%I PARTITION OF artmon.summary_l1 '
                       'FOR VALUES FROM (%L) TO (%L)', part,
                       (d::timestamp AT TIME ZONE 'UTC'),
                       ((d + 1)::timestamp AT TIME ZONE 'UTC'));
        EXECUTE format('COMMENT ON TABLE artmon.%I IS %L', part,
                       'artmon.summary_l1 rows of ' || d || ' (UTC)');
        made := made + 1;
      END IF;
    END IF;
    d := d + 1;
  END LOOP;
  RETURN made;
END
$$;
COMMENT ON FUNCTION artmon.ensure_partitions(timestamptz, timestamptz) IS
  'Create the missing day partitions of artmon.summary_l1 (UTC days) covering from_ts..to_ts (at most 400 days); returns how many it made. The collector calls it before storing an interval of a new day';
REVOKE ALL ON FUNCTION artmon.ensure_partitions(timestamptz, timestamptz) FROM PUBLIC;

-- Today and the next two days exist from the start.
SELECT artmon.ensure_partitions(now() - interval '1 day', now() + interval '2 days');

-- ---------------------------------------------------------------- health
CREATE TABLE artmon.health_l1 (
  sensor_id        integer NOT NULL REFERENCES artmon.sensors,
  interval_start   timestamptz NOT NULL,
  interval_secs    integer NOT NULL,
  packets          bigint NOT NULL,
  bytes            bigint NOT NULL,
  kernel_drops     bigint NOT NULL,
  iface_drops      bigint NOT NULL,
  malformed        bigint NOT NULL,
  flows_active     bigint NOT NULL,
  flows_created    bigint NOT NULL,
  flows_evicted    bigint NOT NULL,
  gaps             bigint NOT NULL,
  transactions     bigint NOT NULL,
  clients_distinct bigint NOT NULL,
  clients_estimated boolean NOT NULL,
  client_ports_distinct bigint NOT NULL,
  conn_per_sec_min bigint NOT NULL,
  conn_per_sec_avg double precision NOT NULL,
  conn_per_sec_max bigint NOT NULL,
  output_dropped   bigint NOT NULL,
  spool_dropped    bigint NOT NULL,
  merged           integer NOT NULL DEFAULT 1,
  PRIMARY KEY (sensor_id, interval_start)
);
COMMENT ON TABLE artmon.health_l1 IS
  'Sensor health per interval: what it captured, dropped and could not parse. Two records for one interval (a sensor restarted within it) merge: counters add; gauges and distinct counts take the larger (see merged)';
COMMENT ON COLUMN artmon.health_l1.sensor_id IS 'sensor (artmon.sensors)';
COMMENT ON COLUMN artmon.health_l1.interval_start IS 'start of the interval (timestamptz)';
COMMENT ON COLUMN artmon.health_l1.interval_secs IS 'length of the interval (seconds)';
COMMENT ON COLUMN artmon.health_l1.packets IS 'frames read from the capture (count)';
COMMENT ON COLUMN artmon.health_l1.bytes IS 'their length on the wire (bytes)';
COMMENT ON COLUMN artmon.health_l1.kernel_drops IS 'packets the kernel dropped because the sensor did not read fast enough (count)';
COMMENT ON COLUMN artmon.health_l1.iface_drops IS 'packets the interface or driver dropped (count)';
COMMENT ON COLUMN artmon.health_l1.malformed IS 'frames with cut-short or contradictory headers, skipped (count)';
COMMENT ON COLUMN artmon.health_l1.flows_active IS 'flows in the flow table at the interval''s end (count; a merge keeps the larger)';
COMMENT ON COLUMN artmon.health_l1.flows_created IS 'flows created (count)';
COMMENT ON COLUMN artmon.health_l1.flows_evicted IS 'flows dropped because the table was full (count)';
COMMENT ON COLUMN artmon.health_l1.gaps IS 'TCP reassembly gaps (count)';
COMMENT ON COLUMN artmon.health_l1.transactions IS 'transactions finished (count)';
COMMENT ON COLUMN artmon.health_l1.clients_distinct IS 'distinct client addresses (count; a merge keeps the larger, a lower bound of the true union)';
COMMENT ON COLUMN artmon.health_l1.clients_estimated IS 'clients_distinct is a HyperLogLog estimate (past the exact cap)';
COMMENT ON COLUMN artmon.health_l1.client_ports_distinct IS 'distinct client ports (count; a merge keeps the larger)';
COMMENT ON COLUMN artmon.health_l1.conn_per_sec_min IS 'fewest new connections in one second of the interval (connections per second; a merge keeps the smaller)';
COMMENT ON COLUMN artmon.health_l1.conn_per_sec_avg IS 'new connections per second over the seconds observed (connections per second; a merge keeps the larger: the observed seconds are not shipped)';
COMMENT ON COLUMN artmon.health_l1.conn_per_sec_max IS 'most new connections in one second (connections per second; a merge keeps the larger)';
COMMENT ON COLUMN artmon.health_l1.output_dropped IS 'summary batches the sensor lost to a full output queue (count)';
COMMENT ON COLUMN artmon.health_l1.spool_dropped IS 'summary batches dropped from a full spool (count)';
COMMENT ON COLUMN artmon.health_l1.merged IS 'health records merged into this row (count): 1 unless the sensor restarted within the interval';

CREATE TABLE artmon.top_clients (
  sensor_id       integer NOT NULL REFERENCES artmon.sensors,
  interval_start  timestamptz NOT NULL,
  client_addr     inet NOT NULL,
  transactions    bigint NOT NULL,
  error_bound     bigint NOT NULL,
  PRIMARY KEY (sensor_id, interval_start, client_addr)
);
COMMENT ON TABLE artmon.top_clients IS
  'Busiest clients per sensor and interval (the sensor''s top-k, up to 20 per record); records of one interval merge by address';
COMMENT ON COLUMN artmon.top_clients.sensor_id IS 'sensor (artmon.sensors)';
COMMENT ON COLUMN artmon.top_clients.interval_start IS 'start of the interval (timestamptz)';
COMMENT ON COLUMN artmon.top_clients.client_addr IS 'client address';
COMMENT ON COLUMN artmon.top_clients.transactions IS 'transactions of this client (count; an estimate that may be over by up to error_bound)';
COMMENT ON COLUMN artmon.top_clients.error_bound IS 'how much transactions may over-count (count)';

-- ---------------------------------------------------------------- views
-- The public interface: reports and users' SQL use these names and
-- columns; new columns may be added at the end, none renamed or removed.

CREATE VIEW artmon.level1 AS
SELECT s.interval_start, s.interval_secs, n.name AS sensor, s.protocol,
       s.signature, s.server_addr, s.server_port, s.transactions, s.errors,
       s.ttfb_us_min / 1000.0::double precision AS ttfb_min_ms,
       s.ttfb_us_sum::double precision / nullif(s.ttfb_us_count, 0) / 1000.0 AS ttfb_avg_ms,
       s.ttfb_us_max / 1000.0::double precision AS ttfb_max_ms,
       artmon.percentile(s.ttfb_hist, 0.50) / 1000.0 AS ttfb_p50_ms,
       artmon.percentile(s.ttfb_hist, 0.95) / 1000.0 AS ttfb_p95_ms,
       artmon.percentile(s.ttfb_hist, 0.99) / 1000.0 AS ttfb_p99_ms,
       s.ttlb_us_min / 1000.0::double precision AS ttlb_min_ms,
       s.ttlb_us_sum::double precision / nullif(s.ttlb_us_count, 0) / 1000.0 AS ttlb_avg_ms,
       s.ttlb_us_max / 1000.0::double precision AS ttlb_max_ms,
       artmon.percentile(s.ttlb_hist, 0.50) / 1000.0 AS ttlb_p50_ms,
       artmon.percentile(s.ttlb_hist, 0.95) / 1000.0 AS ttlb_p95_ms,
       artmon.percentile(s.ttlb_hist, 0.99) / 1000.0 AS ttlb_p99_ms,
       s.retransmissions, s.timeouts, s.gaps, s.midstream, s.orphan_responses, s.retries,
       s.request_us_count, s.request_us_min, s.request_us_max, s.request_us_sum,
       s.ttfb_us_count, s.ttfb_us_min, s.ttfb_us_max, s.ttfb_us_sum,
       s.ttlb_us_count, s.ttlb_us_min, s.ttlb_us_max, s.ttlb_us_sum,
       s.handshake_rtt_us_count, s.handshake_rtt_us_min, s.handshake_rtt_us_max, s.handshake_rtt_us_sum,
       s.client_ack_us_count, s.client_ack_us_min, s.client_ack_us_max, s.client_ack_us_sum,
       s.request_bytes_count, s.request_bytes_min, s.request_bytes_max, s.request_bytes_sum,
       s.response_bytes_count, s.response_bytes_min, s.response_bytes_max, s.response_bytes_sum,
       s.request_packets_count, s.request_packets_min, s.request_packets_max, s.request_packets_sum,
       s.server_packets_count, s.server_packets_min, s.server_packets_max, s.server_packets_sum,
       s.server_pkt_bytes_count, s.server_pkt_bytes_min, s.server_pkt_bytes_max, s.server_pkt_bytes_sum,
       s.server_mss_count, s.server_mss_min, s.server_mss_max, s.server_mss_sum,
       s.server_window_count, s.server_window_min, s.server_window_max, s.server_window_sum,
       s.ttfb_hist, s.ttlb_hist, s.merged
FROM artmon.summary_l1 s JOIN artmon.sensors n USING (sensor_id);
COMMENT ON VIEW artmon.level1 IS
  'Level-1 summaries with the sensor''s name and times in milliseconds: min, avg, max and p50/p95/p99 (from the histograms, within 4.77%) of ttfb and ttlb; then every raw column of artmon.summary_l1';

CREATE VIEW artmon.level2 AS
SELECT s.interval_start, s.interval_secs, n.name AS sensor, s.protocol,
       s.signature, s.server_addr, s.server_port, s.transactions, s.errors,
       s.ttfb_us_min / 1000.0::double precision AS ttfb_min_ms,
       s.ttfb_us_sum::double precision / nullif(s.ttfb_us_count, 0) / 1000.0 AS ttfb_avg_ms,
       s.ttfb_us_max / 1000.0::double precision AS ttfb_max_ms,
       artmon.percentile(s.ttfb_hist, 0.50) / 1000.0 AS ttfb_p50_ms,
       artmon.percentile(s.ttfb_hist, 0.95) / 1000.0 AS ttfb_p95_ms,
       artmon.percentile(s.ttfb_hist, 0.99) / 1000.0 AS ttfb_p99_ms,
       s.ttlb_us_min / 1000.0::double precision AS ttlb_min_ms,
       s.ttlb_us_sum::double precision / nullif(s.ttlb_us_count, 0) / 1000.0 AS ttlb_avg_ms,
       s.ttlb_us_max / 1000.0::double precision AS ttlb_max_ms,
       artmon.percentile(s.ttlb_hist, 0.50) / 1000.0 AS ttlb_p50_ms,
       artmon.percentile(s.ttlb_hist, 0.95) / 1000.0 AS ttlb_p95_ms,
       artmon.percentile(s.ttlb_hist, 0.99) / 1000.0 AS ttlb_p99_ms,
       s.retransmissions, s.timeouts, s.gaps, s.midstream, s.orphan_responses, s.retries,
       s.request_us_count, s.request_us_min, s.request_us_max, s.request_us_sum,
       s.ttfb_us_count, s.ttfb_us_min, s.ttfb_us_max, s.ttfb_us_sum,
       s.ttlb_us_count, s.ttlb_us_min, s.ttlb_us_max, s.ttlb_us_sum,
       s.handshake_rtt_us_count, s.handshake_rtt_us_min, s.handshake_rtt_us_max, s.handshake_rtt_us_sum,
       s.client_ack_us_count, s.client_ack_us_min, s.client_ack_us_max, s.client_ack_us_sum,
       s.request_bytes_count, s.request_bytes_min, s.request_bytes_max, s.request_bytes_sum,
       s.response_bytes_count, s.response_bytes_min, s.response_bytes_max, s.response_bytes_sum,
       s.request_packets_count, s.request_packets_min, s.request_packets_max, s.request_packets_sum,
       s.server_packets_count, s.server_packets_min, s.server_packets_max, s.server_packets_sum,
       s.server_pkt_bytes_count, s.server_pkt_bytes_min, s.server_pkt_bytes_max, s.server_pkt_bytes_sum,
       s.server_mss_count, s.server_mss_min, s.server_mss_max, s.server_mss_sum,
       s.server_window_count, s.server_window_min, s.server_window_max, s.server_window_sum,
       s.ttfb_hist, s.ttlb_hist, s.merged
FROM artmon.summary_l2 s JOIN artmon.sensors n USING (sensor_id);
COMMENT ON VIEW artmon.level2 IS
  'Level-2 summaries (interval_secs is the bucket length), the same columns as artmon.level1';

CREATE VIEW artmon.health AS
SELECT h.interval_start, h.interval_secs, n.name AS sensor, h.packets, h.bytes,
       h.kernel_drops + h.iface_drops AS drops, h.malformed, h.flows_active,
       h.clients_distinct, h.kernel_drops, h.iface_drops, h.flows_created,
       h.flows_evicted, h.gaps, h.transactions, h.clients_estimated,
       h.client_ports_distinct, h.conn_per_sec_min, h.conn_per_sec_avg,
       h.conn_per_sec_max, h.output_dropped, h.spool_dropped, h.merged
FROM artmon.health_l1 h JOIN artmon.sensors n USING (sensor_id);
COMMENT ON VIEW artmon.health IS
  'Sensor health per interval with the sensor''s name; drops = kernel_drops + iface_drops (packets)';

CREATE VIEW artmon.clients AS
SELECT t.interval_start, n.name AS sensor, t.client_addr, t.transactions,
       t.error_bound
FROM artmon.top_clients t JOIN artmon.sensors n USING (sensor_id);
COMMENT ON VIEW artmon.clients IS
  'Busiest clients per sensor and interval (estimates: transactions may be over by up to error_bound)';

-- View columns: the derived ones explained here, the others carry the
-- comment of the table column they show.
DO $$
DECLARE
  v record;
  c record;
  txt text;
BEGIN
  FOR v IN SELECT * FROM (VALUES ('level1', 'summary_l1'), ('level2', 'summary_l2'),
                                 ('health', 'health_l1'), ('clients', 'top_clients')) AS x(view, tab) LOOP
    FOR c IN SELECT a.attname FROM pg_attribute a
             WHERE a.attrelid = ('artmon.' || v.view)::regclass AND a.attnum > 0 LOOP
      txt := CASE c.attname
        WHEN 'sensor' THEN 'sensor name (artmon.sensors.name)'
        WHEN 'drops' THEN 'packets dropped: kernel_drops + iface_drops (count)'
        WHEN 'ttfb_min_ms' THEN 'smallest time to first byte (milliseconds)'
        WHEN 'ttfb_avg_ms' THEN 'mean time to first byte: ttfb_us_sum / ttfb_us_count (milliseconds); NULL when none was measured'
        WHEN 'ttfb_max_ms' THEN 'largest time to first byte (milliseconds)'
        WHEN 'ttfb_p50_ms' THEN 'median time to first byte, from ttfb_hist (milliseconds, within 4.77%)'
        WHEN 'ttfb_p95_ms' THEN '95th percentile of time to first byte, from ttfb_hist (milliseconds, within 4.77%)'
        WHEN 'ttfb_p99_ms' THEN '99th percentile of time to first byte, from ttfb_hist (milliseconds, within 4.77%)'
        WHEN 'ttlb_min_ms' THEN 'smallest time to last byte (milliseconds)'
        WHEN 'ttlb_avg_ms' THEN 'mean time to last byte: ttlb_us_sum / ttlb_us_count (milliseconds); NULL when none was measured'
        WHEN 'ttlb_max_ms' THEN 'largest time to last byte (milliseconds)'
        WHEN 'ttlb_p50_ms' THEN 'median time to last byte, from ttlb_hist (milliseconds, within 4.77%)'
        WHEN 'ttlb_p95_ms' THEN '95th percentile of time to last byte, from ttlb_hist (milliseconds, within 4.77%)'
        WHEN 'ttlb_p99_ms' THEN '99th percentile of time to last byte, from ttlb_hist (milliseconds, within 4.77%)'
        ELSE col_description(('artmon.' || v.tab)::regclass,
                             (SELECT attnum FROM pg_attribute
                              WHERE attrelid = ('artmon.' || v.tab)::regclass
                                AND attname = c.attname))
      END;
      IF txt IS NULL THEN
        RAISE EXCEPTION 'artmon.%.% has no comment to give', v.view, c.attname;
      END IF;
      EXECUTE format('COMMENT ON COLUMN artmon.%I.%I IS %L', v.view, c.attname, txt);
    END LOOP;
  END LOOP;
END
$$;

-- ---------------------------------------------------------------- privileges
GRANT USAGE ON SCHEMA artmon TO artmon_writer, artmon_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA artmon TO artmon_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA artmon TO artmon_reader;
REVOKE EXECUTE ON FUNCTION artmon.ensure_partitions(timestamptz, timestamptz) FROM artmon_reader;

-- The writer inserts and merges (ON CONFLICT DO UPDATE needs SELECT and
-- UPDATE); it never deletes and never changes the schema.
GRANT SELECT, INSERT, UPDATE ON artmon.sensors, artmon.batches,
  artmon.summary_l1, artmon.health_l1, artmon.top_clients TO artmon_writer;
GRANT SELECT ON artmon.schema_version TO artmon_writer;
GRANT EXECUTE ON FUNCTION artmon.ensure_partitions(timestamptz, timestamptz),
  artmon.hist_add(bigint[], bigint[]) TO artmon_writer;
