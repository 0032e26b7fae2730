-- 003_batches_retention.sql: artmon.batches gets a retention too.
--
-- The collector records every batch it stores (sensor, batch id,
-- interval) so that a re-delivery stores nothing twice, and the level-2
-- roll-up reads the same records to find what is new.  Nothing ever
-- deleted them: about 150 kB a day per sensor, for ever.  A record is
-- needed only while something of its batch is kept, i.e. as long as level
-- 2 keeps its interval: past that, a re-delivered batch (a sensor's spool
-- replayed after years) lands in level 1, is rolled into level 2 by the
-- next run, and is deleted there as too old, so it is stored nowhere and
-- cannot be counted twice.  So level2_retention now also deletes the
-- records older than level2_keep.  It is 002's function with one step
-- added; 002 keeps its own text (a shipped migration is never edited), so
-- the old function stays under a new name and this one calls it.

ALTER FUNCTION artmon.level2_retention(interval, interval, timestamptz)
  RENAME TO level2_retention_data;
COMMENT ON FUNCTION artmon.level2_retention_data(interval, interval, timestamptz) IS
  'artmon.level2_retention without its last step (the batch records): called by it';

-- The deletion below, and whoever asks which batches an interval had.
CREATE INDEX batches_interval ON artmon.batches (interval_start);

CREATE FUNCTION artmon.level2_retention(level1_keep interval DEFAULT '35 days',
                                        level2_keep interval DEFAULT '2 years',
                                        now_ts timestamptz DEFAULT now(),
                                        OUT partitions_dropped integer,
                                        OUT level1_rows_deleted bigint,
                                        OUT level2_rows_deleted bigint,
                                        OUT batches_deleted bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  SELECT r.partitions_dropped, r.level1_rows_deleted, r.level2_rows_deleted
    INTO partitions_dropped, level1_rows_deleted, level2_rows_deleted
  FROM artmon.level2_retention_data(level1_keep, level2_keep, now_ts) r;
  -- After the data: a record outlives nothing it vouches for.
  DELETE FROM artmon.batches WHERE interval_start < now_ts - level2_keep;
  GET DIAGNOSTICS batches_deleted = ROW_COUNT;
END
$$;
COMMENT ON FUNCTION artmon.level2_retention(interval, interval, timestamptz) IS
  'Retention: level 1 (summary_l1 day partitions, health_l1, top_clients) older than level1_keep (default 35 days, whole UTC days) is dropped, after anything of it not yet in level 2 is rolled; level 2, and the records of delivered batches (artmon.batches), older than level2_keep (default 2 years) are deleted. Returns what it removed';

REVOKE ALL ON FUNCTION artmon.level2_retention(interval, interval, timestamptz),
  artmon.level2_retention_data(interval, interval, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION artmon.level2_retention(interval, interval, timestamptz)
  TO artmon_maintainer;
