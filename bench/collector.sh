#!/bin/sh
# bench/collector.sh: collector ingest (summary rows per second into
# PostgreSQL) beside a plain psql COPY of the same rows, in one run.
#
#   bench/collector.sh [BUILDDIR] [ROWS]      (defaults: build, 200000)
#   Env: REPEAT (default 3), COLL_VERBOSE=-v (the collector's timings)
#
# Starts a throwaway PostgreSQL (tests/pg.sh: fsync off, same for both),
# applies the schema, then REPEAT times, taking turns:
#   1. COPY: psql \copy of ROWS rows into artmon.summary_l1 (new keys:
#      a sensor of its own each time);
#   2. ingest: the same rows (another sensor, so new keys too) sent by a
#      sensor-like client (bench/collector_load.py: 2000-row batches, 8 in
#      flight) to artmon-collector, timed from the first batch to the last
#      ACK, i.e. until committed;
# and the best run of each is compared (a shared VM's speed wanders by
# half from one minute to the next).  Then, once:
#   3. the first ingest's batch ids again: all deduplicated;
#   4. its rows again under new batch ids: every row merges into an
#      existing key (ON CONFLICT DO UPDATE).
# Prints the rates and the ratios; BENCHMARKS.md has the figures.
set -eu
S=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$S/build}" && pwd)
ROWS=${2:-200000}
REPEAT=${REPEAT:-3}
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
EOF
i=1
while [ "$i" -le "$REPEAT" ]; do echo "bench$i = $KEY" >>"$PG_TMP/c.conf"; i=$((i + 1)); done
chmod 600 "$PG_TMP/c.conf"
pg_psql -c "insert into artmon.sensors (name) values ('copy')" >/dev/null
sid=$(pg_psql -At -c "select sensor_id from artmon.sensors where name = 'copy'")
pg_psql -c "select artmon.ensure_partitions('2026-01-01', '2026-01-02')" >/dev/null
python3 "$S/bench/collector_load.py" gen "$ROWS" "$PG_TMP/rows.copy" "$sid"
cols=$(pg_psql -At -c "select string_agg(attname, ', ' order by attnum) from pg_attribute where attrelid = 'artmon.summary_l1'::regclass and attnum > 0")

echo "collector ingest benchmark: $ROWS summary rows, best of $REPEAT, $(nproc) CPUs, $(pg_psql -At -c 'show server_version')"
"$COLL" -c "$PG_TMP/c.conf" --foreground ${COLL_VERBOSE:-} >"$PG_TMP/coll.log" 2>&1 &
cpid=$!
on_exit "kill $cpid"
sleep 0.5
# COPY and the collector take turns, each into keys of its own (a sensor
# per run), so that both see the same growing table and the machine's
# moods fall on both alike; the best run of each is compared.
copy_best=0
ingest_best=0
i=1
while [ "$i" -le "$REPEAT" ]; do
  pg_psql -c "insert into artmon.sensors (name) values ('copy$i')" >/dev/null
  sidi=$(pg_psql -At -c "select sensor_id from artmon.sensors where name = 'copy$i'")
  sed "s/^$sid	/$sidi	/" "$PG_TMP/rows.copy" >"$PG_TMP/rows$i.copy"
  t0=$(date +%s.%N)
  pg_psql -c "\\copy artmon.summary_l1 ($cols) from '$PG_TMP/rows$i.copy'" >/dev/null
  t1=$(date +%s.%N)
  rate=$(echo "$ROWS / ($t1 - $t0)" | bc -l)
  printf 'psql COPY, run %d:         %8.0f rows/s\n' "$i" "$rate"
  copy_best=$(echo "if ($rate > $copy_best) $rate else $copy_best" | bc -l)
  out=$(python3 "$S/bench/collector_load.py" send "$ROWS" 127.0.0.1 "$PORT" "bench$i" "$KEY")
  rate=$(echo "$out" | sed 's/.*: \([0-9]*\) rows\/s.*/\1/')
  printf 'collector, new rows, run %d: %7.0f rows/s (%s)\n' "$i" "$rate" "$out"
  ingest_best=$(echo "if ($rate > $ingest_best) $rate else $ingest_best" | bc -l)
  i=$((i + 1))
done
copy_rate=$copy_best
ingest_rate=$ingest_best
printf 'best: psql COPY %.0f rows/s, collector %.0f rows/s\n' "$copy_rate" "$ingest_rate"
out2=$(python3 "$S/bench/collector_load.py" send "$ROWS" 127.0.0.1 "$PORT" bench1 "$KEY")
printf 'collector, re-sent batch ids (deduplicated, nothing stored): %s\n' "$out2"
pg_psql -c "update artmon.batches set batch_id = decode(md5(batch_id::text), 'hex') where sensor_id = (select sensor_id from artmon.sensors where name = 'bench1')" >/dev/null
out3=$(python3 "$S/bench/collector_load.py" send "$ROWS" 127.0.0.1 "$PORT" bench1 "$KEY")
merge_rate=$(echo "$out3" | sed 's/.*: \([0-9]*\) rows\/s.*/\1/')
printf 'collector, merging rows:  %8.0f rows/s (%s)\n' "$merge_rate" "$out3"
printf 'ingest / COPY: %.2f (new rows), %.2f (merges)\n' \
  "$(echo "$ingest_rate / $copy_rate" | bc -l)" "$(echo "$merge_rate / $copy_rate" | bc -l)"
want=$(pg_psql -At -c "select 2 * sum(transactions) from artmon.summary_l1 s join artmon.sensors n using (sensor_id) where n.name = 'copy1'")
got=$(pg_psql -At -c "select sum(transactions) from artmon.summary_l1 s join artmon.sensors n using (sensor_id) where n.name = 'bench1'")
[ "$want" = "$got" ] && echo "check: the collector's rows sum to exactly twice the COPY's (stored twice, deduplicated once)" ||
  { echo "check FAILED: transactions $got, want $want"; exit 1; }
