-- 002_level2.sql: the level-2 roll-up and retention, and one way to read
-- level 1 and level 2 as one.
--
-- Level 2 (artmon.summary_l2, created by 001) holds level-1 rows merged
-- into longer buckets (an hour by default, a day at most), kept for years;
-- level 1 keeps its 5-minute rows for weeks.  artmon-summarise calls the
-- functions below nightly; `SELECT * FROM artmon.summarise_level2();`
-- does the same from psql.  docs/schema.md ("Level 2") explains the
-- design; in short:
--
--   * What is rolled is tracked per batch, not per row: the collector
--     records every batch it stores in artmon.batches, in the same
--     transaction as the batch's rows, and every row of a batch belongs
--     to the batch's interval (docs/wire-protocol.md 7).  A batch with
--     rolled_at NULL is one whose rows level 2 has not seen; its
--     (sensor, bucket) is "dirty".  Marking a batch costs one small row
--     update, where marking level-1 rows would rewrite all of level 1.
--
--   * A dirty (sensor, bucket) is recomputed from scratch out of its
--     level-1 rows: the old level-2 rows go, the GROUP BY of the bucket's
--     level-1 rows comes in.  Recomputing is idempotent (running again
--     changes nothing) and cannot count a late row twice, however the
--     collector merged it into level 1.  The batches are marked before
--     level 1 is read, so a batch marked is always one whose rows the
--     recomputation saw; one that commits meanwhile stays dirty for the
--     next run (and if its rows were seen anyway, recomputing again is
--     harmless).
--
--   * Once retention has dropped a day of level 1, level 2 is all that is
--     left of it: a late batch for such a day (a sensor's spool replayed
--     after weeks) is merged into level 2 by addition instead, and its
--     level-1 rows are deleted as they are merged, so they can never be
--     added twice.
--
--   * Merging is exact, by the collector's rules: counts and sums add,
--     min and max combine, histograms add (artmon.hist_merge).
--
-- Needs PostgreSQL 14 or later (date_bin).

-- ---------------------------------------------------------------- roles
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'artmon_maintainer') THEN
    CREATE ROLE artmon_maintainer NOLOGIN;
  END IF;
END
$$;
COMMENT ON ROLE artmon_maintainer IS
  'artmon: what artmon-summarise needs: run the level-2 roll-up and retention functions (which drop old level-1 partitions)';

-- ---------------------------------------------------------------- bookkeeping
ALTER TABLE artmon.batches ADD COLUMN rolled_at timestamptz;
COMMENT ON COLUMN artmon.batches.rolled_at IS
  'when the level-2 roll-up merged this batch''s rows into level 2 (timestamptz); NULL: not yet, its (sensor, bucket) is recomputed on the next run';
-- Only the batches not yet rolled: a day's worth, however old the table.
CREATE INDEX batches_unrolled ON artmon.batches (interval_start, sensor_id)
  WHERE rolled_at IS NULL;

CREATE TABLE artmon.level2_state (
  one                   boolean PRIMARY KEY DEFAULT true CHECK (one),
  bucket_secs           integer NOT NULL
                        CHECK (bucket_secs BETWEEN 60 AND 86400 AND 86400 % bucket_secs = 0),
  rolled_through        timestamptz,
  level1_retired_before timestamptz,
  last_run              timestamptz,
  last_buckets          integer
);
COMMENT ON TABLE artmon.level2_state IS
  'The level-2 roll-up''s state: one row, made by its first run';
COMMENT ON COLUMN artmon.level2_state.one IS 'always true: the table has one row';
COMMENT ON COLUMN artmon.level2_state.bucket_secs IS
  'length of the level-2 buckets (seconds; divides a day); fixed by the first run';
COMMENT ON COLUMN artmon.level2_state.rolled_through IS
  'every bucket that ends at or before this instant has been rolled (timestamptz); a bucket with batches arrived since (artmon.batches.rolled_at NULL) waits for the next run';
COMMENT ON COLUMN artmon.level2_state.level1_retired_before IS
  'level-1 data before this instant has been dropped by retention at least once (timestamptz); NULL: never';
COMMENT ON COLUMN artmon.level2_state.last_run IS 'when the roll-up last ran (timestamptz)';
COMMENT ON COLUMN artmon.level2_state.last_buckets IS
  '(sensor, bucket) pairs the last call rolled (count)';

-- ---------------------------------------------------------------- level-2 health and clients
CREATE TABLE artmon.health_l2 (
  LIKE artmon.health_l1 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  covered_secs integer NOT NULL,
  PRIMARY KEY (sensor_id, interval_secs, interval_start),
  FOREIGN KEY (sensor_id) REFERENCES artmon.sensors
);
COMMENT ON TABLE artmon.health_l2 IS
  'Sensor health per level-2 bucket: the bucket''s health_l1 records merged (counters add; gauges and distinct counts keep the largest; conn_per_sec_min the smallest, conn_per_sec_avg the mean over covered_secs)';

CREATE TABLE artmon.top_clients_l2 (
  sensor_id       integer NOT NULL REFERENCES artmon.sensors,
  interval_secs   integer NOT NULL,
  interval_start  timestamptz NOT NULL,
  client_addr     inet NOT NULL,
  transactions    bigint NOT NULL,
  error_bound     bigint NOT NULL,
  intervals       integer NOT NULL,
  PRIMARY KEY (sensor_id, interval_secs, interval_start, client_addr)
);
COMMENT ON TABLE artmon.top_clients_l2 IS
  'Busiest clients per sensor and level-2 bucket: the bucket''s top_clients records added by address, the 50 busiest kept';
COMMENT ON COLUMN artmon.top_clients_l2.sensor_id IS 'sensor (artmon.sensors)';
COMMENT ON COLUMN artmon.top_clients_l2.interval_secs IS 'length of the bucket (seconds)';
COMMENT ON COLUMN artmon.top_clients_l2.interval_start IS 'start of the bucket (timestamptz)';
COMMENT ON COLUMN artmon.top_clients_l2.client_addr IS 'client address';
COMMENT ON COLUMN artmon.top_clients_l2.transactions IS
  'transactions of this client in the intervals where it was among the busiest (count; a lower bound for the bucket, each interval''s figure may be over by its error bound)';
COMMENT ON COLUMN artmon.top_clients_l2.error_bound IS 'how much transactions may over-count (count)';
COMMENT ON COLUMN artmon.top_clients_l2.intervals IS 'level-1 intervals in which the client was among the busiest (count)';

-- Column comments of health_l2: health_l1's, then its own.
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT a.attname, col_description('artmon.health_l1'::regclass, a.attnum) AS txt
           FROM pg_attribute a
           WHERE a.attrelid = 'artmon.health_l1'::regclass AND a.attnum > 0
             AND NOT a.attisdropped LOOP
    EXECUTE format('COMMENT ON COLUMN artmon.health_l2.%I IS %L', c.attname,
      CASE c.attname
        WHEN 'interval_start' THEN 'start of the bucket (timestamptz)'
        WHEN 'interval_secs' THEN 'length of the bucket (seconds)'
        WHEN 'conn_per_sec_avg' THEN 'new connections per second, the mean of the intervals weighted by their length (connections per second)'
        WHEN 'flows_active' THEN 'flows in the flow table, the largest at an interval''s end (count)'
        WHEN 'clients_distinct' THEN 'distinct client addresses, the largest of one interval (count; a lower bound of the bucket''s)'
        WHEN 'client_ports_distinct' THEN 'distinct client ports, the largest of one interval (count)'
        WHEN 'merged' THEN 'health records merged into this row (count)'
        ELSE c.txt END);
  END LOOP;
END
$$;
COMMENT ON COLUMN artmon.health_l2.covered_secs IS
  'seconds of the bucket the merged records cover (seconds): less than interval_secs when the sensor was not running all of it';

-- ---------------------------------------------------------------- histograms
-- artmon.hist_merge again, 5 to 8 times faster, same results: the state
-- is a dense array of the 219 bucket counts, each input's pairs are added
-- into it in place (PL/pgSQL keeps the array expanded between rows), and
-- the final step makes the sparse array again.  001's version added
-- sparse arrays with a GROUP BY per input row (about 8 us per pair); the
-- roll-up and the reports merge millions of histograms.

CREATE FUNCTION artmon.hist_dense_add(st bigint[], h bigint[]) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  i integer := 1;
  n integer := coalesce(array_length(h, 1), 0);
  b integer;
BEGIN
  IF st IS NULL THEN
    st := array_fill(0::bigint, ARRAY[219], ARRAY[0]);
  END IF;
  WHILE i < n LOOP
    b := h[i];
    st[b] := st[b] + h[i + 1];
    i := i + 2;
  END LOOP;
  -- A bucket outside 0..218 would have grown the array: refuse it.
  IF array_lower(st, 1) <> 0 OR array_upper(st, 1) <> 218 THEN
    RAISE EXCEPTION 'artmon.hist_merge: a histogram has a bucket outside 0..218: %', h;
  END IF;
  RETURN st;
END
$$;
COMMENT ON FUNCTION artmon.hist_dense_add(bigint[], bigint[]) IS
  'artmon.hist_merge''s step: add a sparse histogram into a dense [0:218] array of counts';

CREATE FUNCTION artmon.hist_dense_combine(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF a IS NULL THEN
    RETURN b;
  ELSIF b IS NULL THEN
    RETURN a;
  END IF;
  FOR i IN 0 .. 218 LOOP
    a[i] := a[i] + b[i];
  END LOOP;
  RETURN a;
END
$$;
COMMENT ON FUNCTION artmon.hist_dense_combine(bigint[], bigint[]) IS
  'artmon.hist_merge''s combine step (parallel aggregation): add two dense arrays of counts';

CREATE FUNCTION artmon.hist_dense_final(st bigint[]) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  r bigint[] := '{}';
BEGIN
  IF st IS NULL THEN
    RETURN r;
  END IF;
  FOR b IN 0 .. 218 LOOP
    IF st[b] <> 0 THEN
      r := r || b::bigint || st[b];
    END IF;
  END LOOP;
  RETURN r;
END
$$;
COMMENT ON FUNCTION artmon.hist_dense_final(bigint[]) IS
  'artmon.hist_merge''s final step: a dense array of counts as a sparse {bucket,count,...} histogram; {} for none';

CREATE OR REPLACE AGGREGATE artmon.hist_merge(bigint[]) (
  SFUNC = artmon.hist_dense_add,
  STYPE = bigint[],
  SSPACE = 1800,
  FINALFUNC = artmon.hist_dense_final,
  COMBINEFUNC = artmon.hist_dense_combine,
  PARALLEL = SAFE
);

-- ---------------------------------------------------------------- buckets
CREATE FUNCTION artmon.bucket_start(t timestamptz, secs integer)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT date_bin(secs * interval '1 second', t, timestamptz '1970-01-01 00:00:00+00')
$$;
COMMENT ON FUNCTION artmon.bucket_start(timestamptz, integer) IS
  'Start of the secs-long bucket holding t, buckets aligned to the epoch (UTC)';

-- ---------------------------------------------------------------- the roll-up
-- Level 2 holds two row lengths when its bucket is shorter than a day:
-- the bucket (an hour by default) and the whole day, merged from the
-- day's buckets.  A report over weeks then reads a row per day and
-- signature, not 24 (the histograms dominate the cost, and an hourly
-- histogram has about half as many buckets as its twelve 5-minute ones
-- together, so hours alone would be only 5 to 6 times cheaper than
-- level 1; days are 50 to 100 times).

-- The aggregate every level-2 summary row is made with: the rows of
-- src merged by key into buckets of secs.  (A view cannot take
-- parameters and a function cannot take rows, so the roll-up builds its
-- statements from this text once per call; see level2_roll.)
CREATE FUNCTION artmon.level2_merge_sql(src text, secs integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format($f$
    INSERT INTO artmon.summary_l2
    SELECT s.sensor_id, artmon.bucket_start(s.interval_start, %2$s), %2$s,
           s.protocol, s.signature, s.server_addr, s.server_port,
           sum(s.transactions), sum(s.errors), sum(s.retransmissions),
           sum(s.timeouts), sum(s.gaps), sum(s.midstream),
           sum(s.orphan_responses), sum(s.retries),
           sum(s.request_us_count), min(s.request_us_min), max(s.request_us_max), sum(s.request_us_sum),
           sum(s.ttfb_us_count), min(s.ttfb_us_min), max(s.ttfb_us_max), sum(s.ttfb_us_sum),
           sum(s.ttlb_us_count), min(s.ttlb_us_min), max(s.ttlb_us_max), sum(s.ttlb_us_sum),
           sum(s.handshake_rtt_us_count), min(s.handshake_rtt_us_min), max(s.handshake_rtt_us_max), sum(s.handshake_rtt_us_sum),
           sum(s.client_ack_us_count), min(s.client_ack_us_min), max(s.client_ack_us_max), sum(s.client_ack_us_sum),
           sum(s.request_bytes_count), min(s.request_bytes_min), max(s.request_bytes_max), sum(s.request_bytes_sum),
           sum(s.response_bytes_count), min(s.response_bytes_min), max(s.response_bytes_max), sum(s.response_bytes_sum),
           sum(s.request_packets_count), min(s.request_packets_min), max(s.request_packets_max), sum(s.request_packets_sum),
           sum(s.server_packets_count), min(s.server_packets_min), max(s.server_packets_max), sum(s.server_packets_sum),
           sum(s.server_pkt_bytes_count), min(s.server_pkt_bytes_min), max(s.server_pkt_bytes_max), sum(s.server_pkt_bytes_sum),
           sum(s.server_mss_count), min(s.server_mss_min), max(s.server_mss_max), sum(s.server_mss_sum),
           sum(s.server_window_count), min(s.server_window_min), max(s.server_window_max), sum(s.server_window_sum),
           artmon.hist_merge(s.ttfb_hist), artmon.hist_merge(s.ttlb_hist),
           sum(s.merged)
    FROM (%1$s) s
    GROUP BY s.sensor_id, artmon.bucket_start(s.interval_start, %2$s),
             s.protocol, s.signature, s.server_addr, s.server_port
  $f$, src, secs)
$$;
COMMENT ON FUNCTION artmon.level2_merge_sql(text, integer) IS
  'The INSERT that merges the summary rows of the query src into level-2 rows of secs seconds: counts and sums add, min and max combine, histograms add (used by artmon.level2_roll)';

CREATE FUNCTION artmon.level2_roll(upto timestamptz, bucket_secs integer DEFAULT 3600,
                                   max_days integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- A day's GROUP BY keeps two 1.7 kB histogram states per output row.
-- No JIT: compiling plans over many day partitions costs seconds and the
-- work is in hist_merge, which it does not speed up.
SET work_mem = '256MB' SET jit = off AS $$
DECLARE
  secs integer := bucket_secs;
  st artmon.level2_state;
  until timestamptz;
  retired timestamptz;
  days timestamptz[];
  lo timestamptz;
  hi timestamptz;
  n integer := 0;
BEGIN
  IF upto IS NULL OR secs IS NULL THEN
    RAISE EXCEPTION 'artmon.level2_roll: upto and bucket_secs must not be NULL';
  END IF;
  IF secs < 60 OR secs > 86400 OR 86400 % secs <> 0 THEN
    RAISE EXCEPTION 'artmon.level2_roll: a bucket of % s does not divide a day into whole minutes', secs
      USING HINT = 'Use 5 minutes to 1 day: 300, 900, 1800, 3600, 7200, 21600, 43200 or 86400 seconds.';
  END IF;
  IF max_days IS NOT NULL AND max_days < 1 THEN
    RAISE EXCEPTION 'artmon.level2_roll: max_days must be at least 1';
  END IF;

  -- One roll-up at a time; the lock goes with the transaction.
  PERFORM pg_advisory_xact_lock(hashtext('artmon.level2_roll'));

  SELECT * INTO st FROM artmon.level2_state FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO artmon.level2_state (bucket_secs) VALUES (secs) RETURNING * INTO st;
  ELSIF st.bucket_secs <> secs THEN
    RAISE EXCEPTION 'artmon.level2_roll: level 2 holds % s buckets, not %', st.bucket_secs, secs
      USING HINT = 'The bucket length is fixed by the first run; keep using ' || st.bucket_secs || ' seconds.';
  END IF;
  retired := coalesce(st.level1_retired_before, '-infinity');
  until := artmon.bucket_start(upto, secs);

  -- The UTC days with dirty buckets that have ended by upto, oldest
  -- first.  A call rolls whole days, every sensor at once, so each
  -- level-1 partition is read once and each day row made once.
  SELECT coalesce(array_agg(x.d ORDER BY x.d), '{}') INTO days
  FROM (SELECT DISTINCT artmon.bucket_start(b.interval_start, 86400) AS d
        FROM artmon.batches b
        WHERE b.rolled_at IS NULL AND b.interval_start < until
        ORDER BY 1
        LIMIT max_days) x;

  IF coalesce(array_length(days, 1), 0) > 0 THEN
    -- The days' span, as plain bounds: PostgreSQL then reads only the
    -- level-1 partitions of those days.
    lo := days[1];
    hi := least(days[array_length(days, 1)] + interval '1 day', until);

    -- The dirty (sensor, bucket) pairs, as a table the planner can
    -- count.  Made afresh: a table of that name that someone else made
    -- is dropped, or the call fails.
    IF to_regclass('pg_temp.level2_pairs') IS NOT NULL THEN
      DROP TABLE pg_temp.level2_pairs;
    END IF;
    CREATE TEMPORARY TABLE level2_pairs
      (sensor_id integer, b0 timestamptz, retired boolean) ON COMMIT DROP;
    INSERT INTO level2_pairs
    SELECT DISTINCT b.sensor_id, artmon.bucket_start(b.interval_start, secs),
           artmon.bucket_start(b.interval_start, secs) < retired
    FROM artmon.batches b
    WHERE b.rolled_at IS NULL AND b.interval_start >= lo AND b.interval_start < hi
      AND artmon.bucket_start(b.interval_start, 86400) = ANY (days);
    GET DIAGNOSTICS n = ROW_COUNT;
    ANALYZE level2_pairs;

    -- Mark first: every batch marked is one the statements below see.
    UPDATE artmon.batches b SET rolled_at = now()
    FROM level2_pairs p
    WHERE b.rolled_at IS NULL AND b.sensor_id = p.sensor_id
      AND b.interval_start >= lo AND b.interval_start < hi
      AND artmon.bucket_start(b.interval_start, secs) = p.b0;

    -- Summaries.  A pair whose day level 1 still has is recomputed: its
    -- level-2 rows go, the merge of its level-1 rows comes in.  For a
    -- pair of a retired day the input is its level-2 rows and its
    -- level-1 rows (late arrivals), both deleted as they are read, so
    -- each is added once.  (The DELETEs in WITH are read in full by the
    -- GROUP BY before the INSERT writes a row, so the new rows never
    -- meet the old ones.)
    DELETE FROM artmon.summary_l2 s USING level2_pairs p
    WHERE NOT p.retired AND s.sensor_id = p.sensor_id
      AND s.interval_secs = secs AND s.interval_start = p.b0;
    EXECUTE 'WITH old2 AS (
      DELETE FROM artmon.summary_l2 s USING level2_pairs p
      WHERE p.retired AND s.sensor_id = p.sensor_id
        AND s.interval_secs = $1 AND s.interval_start = p.b0
      RETURNING s.*
    ), gone1 AS (
      DELETE FROM artmon.summary_l1 s USING level2_pairs p
      WHERE p.retired AND s.sensor_id = p.sensor_id
        AND artmon.bucket_start(s.interval_start, $1) = p.b0
        AND s.interval_start >= $2 AND s.interval_start < $3
      RETURNING s.*
    ) ' || artmon.level2_merge_sql('
      SELECT * FROM old2
      UNION ALL
      SELECT * FROM gone1
      UNION ALL
      SELECT s.* FROM level2_pairs p JOIN artmon.summary_l1 s
        ON s.sensor_id = p.sensor_id
       AND artmon.bucket_start(s.interval_start, $1) = p.b0
      WHERE NOT p.retired AND s.interval_start >= $2 AND s.interval_start < $3', secs)
    USING secs, lo, hi;

    -- The day rows of the days touched, from their buckets.
    IF secs < 86400 THEN
      DELETE FROM artmon.summary_l2 s
      WHERE s.interval_secs = 86400 AND s.interval_start = ANY (days)
        AND s.sensor_id IN (SELECT sensor_id FROM level2_pairs);
      EXECUTE artmon.level2_merge_sql('
        SELECT s.* FROM artmon.summary_l2 s
        WHERE s.interval_secs = $1 AND s.interval_start >= $2
          AND s.interval_start < $3 + interval ''1 day''
          AND artmon.bucket_start(s.interval_start, 86400) = ANY ($4)
          AND s.sensor_id IN (SELECT sensor_id FROM level2_pairs)', 86400)
      USING secs, lo, days[array_length(days, 1)], days;
    END IF;

    -- Health, the same way.
    DELETE FROM artmon.health_l2 h USING level2_pairs p
    WHERE NOT p.retired AND h.sensor_id = p.sensor_id
      AND h.interval_secs = secs AND h.interval_start = p.b0;
    WITH old2 AS (
      DELETE FROM artmon.health_l2 h USING level2_pairs p
      WHERE p.retired AND h.sensor_id = p.sensor_id
        AND h.interval_secs = secs AND h.interval_start = p.b0
      RETURNING h.*
    ), gone1 AS (
      DELETE FROM artmon.health_l1 h USING level2_pairs p
      WHERE p.retired AND h.sensor_id = p.sensor_id
        AND artmon.bucket_start(h.interval_start, secs) = p.b0
        AND h.interval_start >= lo AND h.interval_start < hi
      RETURNING h.*, h.interval_secs AS covered_secs
    ), src AS (
      SELECT * FROM old2
      UNION ALL
      SELECT * FROM gone1
      UNION ALL
      SELECT h.*, h.interval_secs FROM level2_pairs p JOIN artmon.health_l1 h
        ON h.sensor_id = p.sensor_id
       AND artmon.bucket_start(h.interval_start, secs) = p.b0
      WHERE NOT p.retired AND h.interval_start >= lo AND h.interval_start < hi
    )
    INSERT INTO artmon.health_l2
    SELECT h.sensor_id, artmon.bucket_start(h.interval_start, secs), secs,
           sum(h.packets), sum(h.bytes), sum(h.kernel_drops), sum(h.iface_drops),
           sum(h.malformed), max(h.flows_active), sum(h.flows_created),
           sum(h.flows_evicted), sum(h.gaps), sum(h.transactions),
           max(h.clients_distinct), bool_or(h.clients_estimated),
           max(h.client_ports_distinct), min(h.conn_per_sec_min),
           coalesce(sum(h.conn_per_sec_avg * h.covered_secs) / nullif(sum(h.covered_secs), 0), 0),
           max(h.conn_per_sec_max), sum(h.output_dropped), sum(h.spool_dropped),
           sum(h.merged), sum(h.covered_secs)
    FROM src h
    GROUP BY h.sensor_id, artmon.bucket_start(h.interval_start, secs);

    -- Busiest clients: added by address, the 50 busiest of each bucket kept.
    DELETE FROM artmon.top_clients_l2 t USING level2_pairs p
    WHERE NOT p.retired AND t.sensor_id = p.sensor_id
      AND t.interval_secs = secs AND t.interval_start = p.b0;
    WITH old2 AS (
      DELETE FROM artmon.top_clients_l2 t USING level2_pairs p
      WHERE p.retired AND t.sensor_id = p.sensor_id
        AND t.interval_secs = secs AND t.interval_start = p.b0
      RETURNING t.sensor_id, t.interval_start, t.client_addr, t.transactions,
                t.error_bound, t.intervals
    ), gone1 AS (
      DELETE FROM artmon.top_clients t USING level2_pairs p
      WHERE p.retired AND t.sensor_id = p.sensor_id
        AND artmon.bucket_start(t.interval_start, secs) = p.b0
        AND t.interval_start >= lo AND t.interval_start < hi
      RETURNING t.sensor_id, t.interval_start, t.client_addr, t.transactions,
                t.error_bound, 1 AS intervals
    ), src AS (
      SELECT * FROM old2
      UNION ALL
      SELECT * FROM gone1
      UNION ALL
      SELECT t.sensor_id, t.interval_start, t.client_addr, t.transactions,
             t.error_bound, 1
      FROM level2_pairs p JOIN artmon.top_clients t
        ON t.sensor_id = p.sensor_id
       AND artmon.bucket_start(t.interval_start, secs) = p.b0
      WHERE NOT p.retired AND t.interval_start >= lo AND t.interval_start < hi
    ), merged AS (
      SELECT t.sensor_id, artmon.bucket_start(t.interval_start, secs) AS b0,
             t.client_addr, sum(t.transactions) AS transactions,
             sum(t.error_bound) AS error_bound, sum(t.intervals) AS intervals
      FROM src t
      GROUP BY 1, 2, 3
    )
    INSERT INTO artmon.top_clients_l2
    SELECT m.sensor_id, secs, m.b0, m.client_addr, m.transactions,
           m.error_bound, m.intervals
    FROM (SELECT m.*, row_number() OVER (PARTITION BY m.sensor_id, m.b0
                                         ORDER BY m.transactions DESC, m.client_addr) AS r
          FROM merged m) m
    WHERE m.r <= 50;
  END IF;

  -- Every bucket that has ended by upto is rolled once no day is left.
  UPDATE artmon.level2_state
  SET rolled_through = CASE WHEN max_days IS NULL
                              OR coalesce(array_length(days, 1), 0) < max_days
                            THEN greatest(rolled_through, until)
                            ELSE rolled_through END,
      last_run = now(), last_buckets = n;
  RETURN n;
END
$$;
COMMENT ON FUNCTION artmon.level2_roll(timestamptz, integer, integer) IS
  'Roll level 1 into level 2: every (sensor, bucket) with batches not yet rolled whose bucket ends by upto is recomputed from its level-1 rows (or, for days retention has dropped, merged into level 2 by addition), and the day rows of its day from the buckets; at most max_days UTC days per call, oldest first (NULL: all). Returns the (sensor, bucket) pairs rolled; 0 when nothing is left. Idempotent. bucket_secs (default 3600) must divide a day and stay the same across runs';

CREATE FUNCTION artmon.level2_pending(upto timestamptz, bucket_secs integer DEFAULT 3600,
                                      OUT days integer, OUT buckets integer)
LANGUAGE sql STABLE AS $$
  SELECT count(DISTINCT artmon.bucket_start(b.interval_start, 86400))::integer,
         count(DISTINCT (b.sensor_id, artmon.bucket_start(b.interval_start, bucket_secs)))::integer
  FROM artmon.batches b
  WHERE b.rolled_at IS NULL
    AND b.interval_start < artmon.bucket_start(upto, bucket_secs)
$$;
COMMENT ON FUNCTION artmon.level2_pending(timestamptz, integer) IS
  'What artmon.level2_roll(upto, bucket_secs) has to do: UTC days, and (sensor, bucket) pairs';

-- ---------------------------------------------------------------- retention

CREATE FUNCTION artmon.level2_retention(level1_keep interval DEFAULT '35 days',
                                        level2_keep interval DEFAULT '2 years',
                                        now_ts timestamptz DEFAULT now(),
                                        OUT partitions_dropped integer,
                                        OUT level1_rows_deleted bigint,
                                        OUT level2_rows_deleted bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
SET lock_timeout = '60s' AS $$
DECLARE
  cutoff timestamptz;
  cutoff2 timestamptz;
  st artmon.level2_state;
  part record;
  k bigint;
BEGIN
  partitions_dropped := 0;
  level1_rows_deleted := 0;
  level2_rows_deleted := 0;
  IF level1_keep IS NULL OR level2_keep IS NULL OR now_ts IS NULL THEN
    RAISE EXCEPTION 'artmon.level2_retention: arguments must not be NULL';
  END IF;
  IF level1_keep < interval '1 day' OR level2_keep < level1_keep THEN
    RAISE EXCEPTION 'artmon.level2_retention: keep level 1 at least a day, and level 2 at least as long as level 1 (got % and %)',
      level1_keep, level2_keep;
  END IF;
  -- Whole UTC days: retention drops day partitions.
  cutoff := date_trunc('day', now_ts - level1_keep);
  cutoff2 := now_ts - level2_keep;

  SELECT * INTO st FROM artmon.level2_state;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'artmon.level2_retention: level 2 is empty: run artmon.level2_roll first'
      USING HINT = 'Retention drops level 1 only once level 2 holds it.';
  END IF;

  IF cutoff > coalesce(st.level1_retired_before, '-infinity') THEN
    -- Writers wait while the old days are rolled and dropped (a DROP
    -- needs this lock on the parent anyway; taking it first avoids a
    -- deadlock with a collector that holds the parent and wants a
    -- partition).  Readers of health and clients may go on.
    LOCK TABLE artmon.summary_l1 IN ACCESS EXCLUSIVE MODE;
    LOCK TABLE artmon.health_l1, artmon.top_clients IN SHARE ROW EXCLUSIVE MODE;
    -- Whatever arrived for those days since the last roll-up goes to
    -- level 2 before level 1 goes.
    PERFORM artmon.level2_roll(cutoff, st.bucket_secs, NULL);

    FOR part IN
      SELECT c.oid::regclass AS rel,
             substring(pg_get_expr(c.relpartbound, c.oid)
                       FROM 'TO \(''([^'']+)''\)')::timestamptz AS upper_bound
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'artmon.summary_l1'::regclass
    LOOP
      IF part.upper_bound IS NOT NULL AND part.upper_bound <= cutoff THEN
        EXECUTE format('DROP TABLE %s', part.rel);
        partitions_dropped := partitions_dropped + 1;
      END IF;
    END LOOP;
    DELETE FROM artmon.health_l1 WHERE interval_start < cutoff;
    GET DIAGNOSTICS k = ROW_COUNT;
    level1_rows_deleted := level1_rows_deleted + k;
    DELETE FROM artmon.top_clients WHERE interval_start < cutoff;
    GET DIAGNOSTICS k = ROW_COUNT;
    level1_rows_deleted := level1_rows_deleted + k;
    UPDATE artmon.level2_state SET level1_retired_before = cutoff;
  END IF;

  DELETE FROM artmon.summary_l2 WHERE interval_start < cutoff2;
  GET DIAGNOSTICS k = ROW_COUNT;
  level2_rows_deleted := level2_rows_deleted + k;
  DELETE FROM artmon.health_l2 WHERE interval_start < cutoff2;
  GET DIAGNOSTICS k = ROW_COUNT;
  level2_rows_deleted := level2_rows_deleted + k;
  DELETE FROM artmon.top_clients_l2 WHERE interval_start < cutoff2;
  GET DIAGNOSTICS k = ROW_COUNT;
  level2_rows_deleted := level2_rows_deleted + k;
END
$$;
COMMENT ON FUNCTION artmon.level2_retention(interval, interval, timestamptz) IS
  'Retention: level 1 (summary_l1 day partitions, health_l1, top_clients) older than level1_keep (default 35 days, whole UTC days) is dropped, after anything of it not yet in level 2 is rolled; level 2 older than level2_keep (default 2 years) is deleted. Returns what it removed';

CREATE FUNCTION artmon.summarise_level2(horizon interval DEFAULT '1 day',
                                        bucket interval DEFAULT '1 hour',
                                        level1_keep interval DEFAULT '35 days',
                                        level2_keep interval DEFAULT '2 years',
                                        OUT buckets_rolled integer,
                                        OUT partitions_dropped integer,
                                        OUT level1_rows_deleted bigint,
                                        OUT level2_rows_deleted bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  secs numeric;
  n integer;
BEGIN
  IF horizon IS NULL OR horizon < interval '0' THEN
    RAISE EXCEPTION 'artmon.summarise_level2: the horizon must be 0 or more';
  END IF;
  secs := extract(epoch FROM bucket);
  IF secs IS NULL OR secs < 60 OR secs > 86400 OR secs <> trunc(secs) THEN
    RAISE EXCEPTION 'artmon.summarise_level2: a bucket of % does not divide a day into whole minutes', bucket;
  END IF;
  -- A day at a time: each step's GROUP BY then fits in memory, however
  -- much is waiting.
  buckets_rolled := 0;
  LOOP
    n := artmon.level2_roll(now() - horizon, secs::integer, 1);
    buckets_rolled := buckets_rolled + n;
    EXIT WHEN n = 0;
  END LOOP;
  SELECT r.partitions_dropped, r.level1_rows_deleted, r.level2_rows_deleted
    INTO partitions_dropped, level1_rows_deleted, level2_rows_deleted
  FROM artmon.level2_retention(level1_keep, level2_keep, now()) r;
END
$$;
COMMENT ON FUNCTION artmon.summarise_level2(interval, interval, interval, interval) IS
  'The nightly job in one transaction: roll everything older than horizon (default 1 day) into buckets of bucket (default 1 hour), then apply retention (level 1: 35 days, level 2: 2 years). artmon-summarise does the same in steps, showing progress';

-- ---------------------------------------------------------------- reading both levels
-- Reports, and users' own SQL, read a time range through these functions:
-- level 2 for every whole bucket (and whole day) it holds complete, level
-- 1 for the rest (the edges of the range, the recent past, a bucket with
-- batches not yet rolled), level 2 alone where level 1 is gone.  Merging
-- the rows gives the same totals and percentiles as level 1 alone (to
-- the histogram bucket), only cheaper.  `resolution` caps the length of
-- the rows returned where level 1 allows: 86400 (the default) lets day
-- rows in, 3600 hours at most, 300 level 1 only.

CREATE INDEX summary_l2_time ON artmon.summary_l2 (interval_secs, interval_start);

CREATE FUNCTION artmon.level2_region(from_ts timestamptz, to_ts timestamptz,
                                     resolution integer DEFAULT 86400,
                                     OUT bucket_secs integer,
                                     OUT level2_from timestamptz,
                                     OUT level2_to timestamptz,
                                     OUT days_from timestamptz,
                                     OUT days_to timestamptz,
                                     OUT level1_since timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT b.secs, b.a, b.b,
         -- no whole day inside: both at the region's end
         CASE WHEN b.days AND b.da < b.db THEN b.da ELSE b.b END,
         CASE WHEN b.days AND b.da < b.db THEN b.db ELSE b.b END,
         b.retired
  FROM (SELECT a.*,
               a.secs < 86400 AND coalesce(resolution, 86400) >= 86400 AS days,
               -- whole days inside [a, b)
               CASE WHEN artmon.bucket_start(a.a, 86400) = a.a THEN a.a
                    ELSE artmon.bucket_start(a.a, 86400) + interval '1 day' END AS da,
               artmon.bucket_start(a.b, 86400) AS db
        FROM (SELECT s.secs, s.retired, s.a, greatest(s.a, s.b) AS b
              FROM (SELECT coalesce(st.bucket_secs, 3600) AS secs,
                           coalesce(st.level1_retired_before, '-infinity') AS retired,
                           -- the first whole bucket at or after from_ts
                           CASE WHEN st.rolled_through IS NULL THEN from_ts
                                WHEN artmon.bucket_start(from_ts, st.bucket_secs) = from_ts THEN from_ts
                                ELSE artmon.bucket_start(from_ts, st.bucket_secs)
                                     + st.bucket_secs * interval '1 second' END AS a,
                           -- the end of the last whole bucket rolled, by to_ts
                           CASE WHEN st.rolled_through IS NULL THEN from_ts
                                WHEN coalesce(resolution, 86400) >= st.bucket_secs
                                THEN least(artmon.bucket_start(to_ts, st.bucket_secs), st.rolled_through)
                                ELSE least(artmon.bucket_start(to_ts, st.bucket_secs), st.rolled_through,
                                           coalesce(st.level1_retired_before, '-infinity'))
                           END AS b
                    FROM (SELECT NULL) AS one
                    LEFT JOIN artmon.level2_state st ON true) s) a) b
$$;
COMMENT ON FUNCTION artmon.level2_region(timestamptz, timestamptz, integer) IS
  'Where artmon.summary_rows(from_ts, to_ts, resolution) reads level 2: buckets of bucket_secs from level2_from to level2_to, day rows from days_from to days_to within it (empty when equal); level 1 exists from level1_since (-infinity: all of it)';

CREATE FUNCTION artmon.summary_rows(from_ts timestamptz, to_ts timestamptz,
                                    resolution integer DEFAULT 86400)
RETURNS SETOF artmon.summary_l1
LANGUAGE sql STABLE AS $$
  WITH r AS MATERIALIZED (
    SELECT * FROM artmon.level2_region(from_ts, to_ts, resolution)
  ), dirty AS MATERIALIZED (
    -- buckets with batches level 2 has not seen, where level 1 has them
    SELECT DISTINCT b.sensor_id, artmon.bucket_start(b.interval_start, r.bucket_secs) AS b0
    FROM r, artmon.batches b
    WHERE b.rolled_at IS NULL
      AND b.interval_start >= greatest(r.level2_from, r.level1_since)
      AND b.interval_start < r.level2_to
  ), dirty_days AS MATERIALIZED (
    SELECT DISTINCT d.sensor_id, artmon.bucket_start(d.b0, 86400) AS d0 FROM dirty d
  )
  -- level 2, whole days
  SELECT s.* FROM r, artmon.summary_l2 s
  WHERE r.days_from < r.days_to AND s.interval_secs = 86400
    AND s.interval_start >= r.days_from AND s.interval_start < r.days_to
    AND NOT EXISTS (SELECT 1 FROM dirty_days d
                    WHERE d.sensor_id = s.sensor_id AND d.d0 = s.interval_start)
  UNION ALL
  -- level 2, buckets around the days
  SELECT s.* FROM r, artmon.summary_l2 s
  WHERE s.interval_secs = r.bucket_secs
    AND ((s.interval_start >= r.level2_from AND s.interval_start < r.days_from)
         OR (s.interval_start >= r.days_to AND s.interval_start < r.level2_to))
    AND NOT EXISTS (SELECT 1 FROM dirty d
                    WHERE d.sensor_id = s.sensor_id AND d.b0 = s.interval_start)
  UNION ALL
  -- level 2, buckets of the days that have a bucket not rolled
  SELECT s.* FROM r, dirty_days dd, artmon.summary_l2 s
  WHERE r.days_from < r.days_to AND dd.d0 >= r.days_from AND dd.d0 < r.days_to
    AND s.sensor_id = dd.sensor_id AND s.interval_secs = r.bucket_secs
    AND s.interval_start >= dd.d0 AND s.interval_start < dd.d0 + interval '1 day'
    AND NOT EXISTS (SELECT 1 FROM dirty d
                    WHERE d.sensor_id = s.sensor_id AND d.b0 = s.interval_start)
  UNION ALL
  -- level 2 where level 1 is gone, outside the region: by bucket start
  SELECT s.* FROM r, artmon.summary_l2 s
  WHERE s.interval_secs = r.bucket_secs
    AND ((s.interval_start >= from_ts
          AND s.interval_start < least(to_ts, r.level1_since, r.level2_from))
         OR (s.interval_start >= greatest(from_ts, r.level2_to)
             AND s.interval_start < least(to_ts, r.level1_since)))
  UNION ALL
  -- level 1 before the region
  SELECT s.* FROM r, artmon.summary_l1 s
  WHERE s.interval_start >= from_ts AND s.interval_start < least(to_ts, r.level2_from)
  UNION ALL
  -- level 1 after it
  SELECT s.* FROM r, artmon.summary_l1 s
  WHERE s.interval_start >= greatest(from_ts, r.level2_to) AND s.interval_start < to_ts
  UNION ALL
  -- late rows of retired days inside the region, not yet merged
  SELECT s.* FROM r, artmon.summary_l1 s
  WHERE s.interval_start >= r.level2_from
    AND s.interval_start < least(r.level2_to, r.level1_since)
  UNION ALL
  -- level 1 of the region's buckets that level 2 does not hold complete
  SELECT s.* FROM r, dirty d, artmon.summary_l1 s
  WHERE s.sensor_id = d.sensor_id AND s.interval_start >= d.b0
    AND s.interval_start < d.b0 + r.bucket_secs * interval '1 second'
$$;
COMMENT ON FUNCTION artmon.summary_rows(timestamptz, timestamptz, integer) IS
  'Summary rows with interval_start in [from_ts, to_ts): level 2 (rows of a day, or of a bucket) where it holds them complete, level 1 elsewhere; rows no longer than resolution seconds (default 86400) where level 1 allows. Merging them gives the same totals and percentiles as level 1 alone. Example: SELECT signature, sum(transactions), artmon.percentile(artmon.hist_merge(ttfb_hist), 0.95) FROM artmon.summary_rows(now() - interval ''30 days'', now()) GROUP BY 1';

CREATE FUNCTION artmon.health_rows(from_ts timestamptz, to_ts timestamptz,
                                   resolution integer DEFAULT 86400)
RETURNS SETOF artmon.health_l2
LANGUAGE sql STABLE AS $$
  WITH r AS MATERIALIZED (
    SELECT * FROM artmon.level2_region(from_ts, to_ts, resolution)
  ), dirty AS MATERIALIZED (
    SELECT DISTINCT b.sensor_id, artmon.bucket_start(b.interval_start, r.bucket_secs) AS b0
    FROM r, artmon.batches b
    WHERE b.rolled_at IS NULL
      AND b.interval_start >= greatest(r.level2_from, r.level1_since)
      AND b.interval_start < r.level2_to
  )
  SELECT h.* FROM r, artmon.health_l2 h
  WHERE h.interval_secs = r.bucket_secs
    AND ((h.interval_start >= r.level2_from AND h.interval_start < r.level2_to)
         OR (h.interval_start >= from_ts AND h.interval_start < least(to_ts, r.level1_since)))
    AND NOT EXISTS (SELECT 1 FROM dirty d
                    WHERE d.sensor_id = h.sensor_id AND d.b0 = h.interval_start)
  UNION ALL
  SELECT h.*, h.interval_secs FROM r, artmon.health_l1 h
  WHERE (h.interval_start >= from_ts AND h.interval_start < least(to_ts, r.level2_from))
     OR (h.interval_start >= greatest(from_ts, r.level2_to) AND h.interval_start < to_ts)
     OR (h.interval_start >= r.level2_from
         AND h.interval_start < least(r.level2_to, r.level1_since))
     OR EXISTS (SELECT 1 FROM dirty d
                WHERE d.sensor_id = h.sensor_id
                  AND d.b0 = artmon.bucket_start(h.interval_start, r.bucket_secs))
$$;
COMMENT ON FUNCTION artmon.health_rows(timestamptz, timestamptz, integer) IS
  'Sensor health records with interval_start in [from_ts, to_ts), level 2 (buckets, no day rows) and level 1 chosen as by artmon.summary_rows; level-1 records have covered_secs = interval_secs';

CREATE FUNCTION artmon.client_rows(from_ts timestamptz, to_ts timestamptz,
                                   resolution integer DEFAULT 86400)
RETURNS SETOF artmon.top_clients_l2
LANGUAGE sql STABLE AS $$
  WITH r AS MATERIALIZED (
    SELECT * FROM artmon.level2_region(from_ts, to_ts, resolution)
  ), dirty AS MATERIALIZED (
    SELECT DISTINCT b.sensor_id, artmon.bucket_start(b.interval_start, r.bucket_secs) AS b0
    FROM r, artmon.batches b
    WHERE b.rolled_at IS NULL
      AND b.interval_start >= greatest(r.level2_from, r.level1_since)
      AND b.interval_start < r.level2_to
  )
  SELECT t.* FROM r, artmon.top_clients_l2 t
  WHERE t.interval_secs = r.bucket_secs
    AND ((t.interval_start >= r.level2_from AND t.interval_start < r.level2_to)
         OR (t.interval_start >= from_ts AND t.interval_start < least(to_ts, r.level1_since)))
    AND NOT EXISTS (SELECT 1 FROM dirty d
                    WHERE d.sensor_id = t.sensor_id AND d.b0 = t.interval_start)
  UNION ALL
  SELECT t.sensor_id, coalesce(h.interval_secs, 300), t.interval_start, t.client_addr,
         t.transactions, t.error_bound, 1
  FROM r, artmon.top_clients t
  LEFT JOIN artmon.health_l1 h
    ON h.sensor_id = t.sensor_id AND h.interval_start = t.interval_start
  WHERE (t.interval_start >= from_ts AND t.interval_start < least(to_ts, r.level2_from))
     OR (t.interval_start >= greatest(from_ts, r.level2_to) AND t.interval_start < to_ts)
     OR (t.interval_start >= r.level2_from
         AND t.interval_start < least(r.level2_to, r.level1_since))
     OR EXISTS (SELECT 1 FROM dirty d
                WHERE d.sensor_id = t.sensor_id
                  AND d.b0 = artmon.bucket_start(t.interval_start, r.bucket_secs))
$$;
COMMENT ON FUNCTION artmon.client_rows(timestamptz, timestamptz, integer) IS
  'Busiest clients with interval_start in [from_ts, to_ts), level 2 (buckets) and level 1 chosen as by artmon.summary_rows; level-1 records have intervals = 1 and their interval''s length (300 if its health record is missing)';

-- ---------------------------------------------------------------- views
CREATE VIEW artmon.health_level2 AS
SELECT h.interval_start, h.interval_secs, n.name AS sensor, h.packets, h.bytes,
       h.kernel_drops + h.iface_drops AS drops, h.malformed, h.flows_active,
       h.clients_distinct, h.kernel_drops, h.iface_drops, h.flows_created,
       h.flows_evicted, h.gaps, h.transactions, h.clients_estimated,
       h.client_ports_distinct, h.conn_per_sec_min, h.conn_per_sec_avg,
       h.conn_per_sec_max, h.output_dropped, h.spool_dropped, h.merged,
       h.covered_secs
FROM artmon.health_l2 h JOIN artmon.sensors n USING (sensor_id);
COMMENT ON VIEW artmon.health_level2 IS
  'Sensor health per level-2 bucket with the sensor''s name, the same columns as artmon.health, then covered_secs';

CREATE VIEW artmon.clients_level2 AS
SELECT t.interval_start, t.interval_secs, n.name AS sensor, t.client_addr,
       t.transactions, t.error_bound, t.intervals
FROM artmon.top_clients_l2 t JOIN artmon.sensors n USING (sensor_id);
COMMENT ON VIEW artmon.clients_level2 IS
  'Busiest clients per sensor and level-2 bucket, with the sensor''s name';

DO $$
DECLARE
  v record;
  c record;
BEGIN
  FOR v IN SELECT * FROM (VALUES ('health_level2', 'health_l2'),
                                 ('clients_level2', 'top_clients_l2')) AS x(view, tab) LOOP
    FOR c IN SELECT a.attname FROM pg_attribute a
             WHERE a.attrelid = ('artmon.' || v.view)::regclass AND a.attnum > 0 LOOP
      EXECUTE format('COMMENT ON COLUMN artmon.%I.%I IS %L', v.view, c.attname,
        CASE c.attname
          WHEN 'sensor' THEN 'sensor name (artmon.sensors.name)'
          WHEN 'drops' THEN 'packets dropped: kernel_drops + iface_drops (count)'
          ELSE col_description(('artmon.' || v.tab)::regclass,
                               (SELECT attnum FROM pg_attribute
                                WHERE attrelid = ('artmon.' || v.tab)::regclass
                                  AND attname = c.attname)) END);
    END LOOP;
  END LOOP;
END
$$;

-- ---------------------------------------------------------------- privileges
GRANT SELECT ON artmon.level2_state, artmon.health_l2, artmon.top_clients_l2,
  artmon.health_level2, artmon.clients_level2 TO artmon_reader;
GRANT EXECUTE ON FUNCTION artmon.hist_dense_add(bigint[], bigint[]),
  artmon.hist_dense_combine(bigint[], bigint[]), artmon.hist_dense_final(bigint[]),
  artmon.bucket_start(timestamptz, integer),
  artmon.level2_pending(timestamptz, integer),
  artmon.level2_region(timestamptz, timestamptz, integer),
  artmon.summary_rows(timestamptz, timestamptz, integer),
  artmon.health_rows(timestamptz, timestamptz, integer),
  artmon.client_rows(timestamptz, timestamptz, integer)
  TO artmon_reader, artmon_maintainer;
-- The collector merges with hist_add only, but hist_merge is for all.
GRANT EXECUTE ON FUNCTION artmon.hist_dense_add(bigint[], bigint[]),
  artmon.hist_dense_combine(bigint[], bigint[]), artmon.hist_dense_final(bigint[])
  TO artmon_writer;

-- The roll-up runs as the schema's owner (it drops partitions): only
-- artmon_maintainer may call it.
REVOKE ALL ON FUNCTION artmon.level2_roll(timestamptz, integer, integer),
  artmon.level2_retention(interval, interval, timestamptz),
  artmon.summarise_level2(interval, interval, interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION artmon.level2_roll(timestamptz, integer, integer),
  artmon.level2_retention(interval, interval, timestamptz),
  artmon.summarise_level2(interval, interval, interval, interval) TO artmon_maintainer;
GRANT USAGE ON SCHEMA artmon TO artmon_maintainer;
GRANT SELECT ON ALL TABLES IN SCHEMA artmon TO artmon_maintainer;
GRANT EXECUTE ON FUNCTION artmon.percentile(bigint[], double precision),
  artmon.hist_total(bigint[]), artmon.hist_bucket_value_us(integer),
  artmon.hist_add(bigint[], bigint[]) TO artmon_maintainer;
