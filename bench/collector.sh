#!/bin/sh
# bench/collector.sh: collector ingest (summary rows per second into
# PostgreSQL) beside a plain psql COPY of the same rows, in one run.
#
#   bench/collector.sh [BUILDDIR] [ROWS]      (defaults: build, 200000)
#
# Starts a throwaway PostgreSQL (tests/pg.sh: fsync off, same for both),
# applies the schema, then
#   1. COPY: psql \copy of ROWS rows into artmon.summary_l1 (new keys);
#   2. ingest: the same rows (another sensor, so new keys too) sent by a
#      sensor-like client (bench/collector_load.py: 2000-row batches, 8 in
#      flight) to artmon-collector, timed from the first batch to the last
#      ACK, i.e. until committed;
#   3. ingest again of the same rows under a third sensor whose rows are
#      all in the table already (every row merges: ON CONFLICT DO UPDATE).
# Prints the three rates and the ratio; BENCHMARKS.md has the figures.
set -eu
S=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$S/build}" && pwd)
ROWS=${2:-200000}
COLL="$B/collector/artmon-collector"
[ -x "$COLL" ] || { echo "no $COLL: build first" >&2; exit 1; }
. "$S/tests/pg.sh"
pg_start
printf '[collector]\n' >"$PG_TMP/init.conf"
"$COLL" -c "$PG_TMP/init.conf" --init-db >/dev/null
KEY=bench-key-0123456789abcdef
PORT=$(pg_free_port)
cat >"$PG_TMP/c.conf" <<EOF
[collector]
listen = 127.0.0.1
port = $PORT
transaction_rows = ${TXN_ROWS:-8000}
[sensors]
bench = $KEY
bench2 = $KEY
EOF
pg_psql -c "insert into artmon.sensors (name) values ('copy')" >/dev/null
sid=$(pg_psql -At -c "select sensor_id from artmon.sensors where name = 'copy'")
pg_psql -c "select artmon.ensure_partitions('2026-01-01', '2026-01-02')" >/dev/null
python3 "$S/bench/collector_load.py" gen "$ROWS" "$PG_TMP/rows.copy" "$sid"
cols=$(pg_psql -At -c "select string_agg(attname, ', ' order by attnum) from pg_attribute where attrelid = 'artmon.summary_l1'::regclass and attnum > 0")

echo "collector ingest benchmark: $ROWS summary rows, $(nproc) CPUs, $(pg_psql -At -c 'show server_version')"
t0=$(date +%s.%N)
pg_psql -c "\\copy artmon.summary_l1 ($cols) from '$PG_TMP/rows.copy'"
t1=$(date +%s.%N)
copy_rate=$(echo "$ROWS / ($t1 - $t0)" | bc -l)
printf 'psql COPY:                %8.0f rows/s (%.2f s)\n' "$copy_rate" "$(echo "$t1 - $t0" | bc -l)"

"$COLL" -c "$PG_TMP/c.conf" --foreground ${COLL_VERBOSE:-} >"$PG_TMP/coll.log" 2>&1 &
cpid=$!
on_exit "kill $cpid"
sleep 0.5
out=$(python3 "$S/bench/collector_load.py" send "$ROWS" 127.0.0.1 "$PORT" bench "$KEY")
ingest_rate=$(echo "$out" | sed 's/.*: \([0-9]*\) rows\/s.*/\1/')
printf 'collector, new rows:      %8.0f rows/s (%s)\n' "$ingest_rate" "$out"
out2=$(python3 "$S/bench/collector_load.py" send "$ROWS" 127.0.0.1 "$PORT" bench "$KEY")
printf 'collector, re-sent batch ids (deduplicated, nothing stored): %s\n' "$out2"
pg_psql -c "update artmon.batches set batch_id = decode(md5(batch_id::text), 'hex') where sensor_id = (select sensor_id from artmon.sensors where name = 'bench')" >/dev/null
out3=$(python3 "$S/bench/collector_load.py" send "$ROWS" 127.0.0.1 "$PORT" bench "$KEY")
merge_rate=$(echo "$out3" | sed 's/.*: \([0-9]*\) rows\/s.*/\1/')
printf 'collector, merging rows:  %8.0f rows/s (%s)\n' "$merge_rate" "$out3"
printf 'ingest / COPY: %.2f (new rows), %.2f (merges)\n' \
  "$(echo "$ingest_rate / $copy_rate" | bc -l)" "$(echo "$merge_rate / $copy_rate" | bc -l)"
want=$(pg_psql -At -c "select 2 * sum(transactions) from artmon.summary_l1 s join artmon.sensors n using (sensor_id) where n.name = 'copy'")
got=$(pg_psql -At -c "select sum(transactions) from artmon.summary_l1 s join artmon.sensors n using (sensor_id) where n.name = 'bench'")
[ "$want" = "$got" ] && echo "check: the collector's rows sum to exactly twice the COPY's (stored twice, deduplicated once)" ||
  { echo "check FAILED: transactions $got, want $want"; exit 1; }
