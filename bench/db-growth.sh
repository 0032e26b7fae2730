#!/bin/sh
# bench/db-growth.sh: how fast does the database grow, per signature and
# per day?  The figures of docs/deployment.md's sizing section.
#
# Usage: bench/db-growth.sh [BUILD_DIR] [HOURS] [PACKETS_PER_HOUR]
#   (defaults: build, 24, 15000)
# Env: BENCH_DIR (/var/tmp/artmon-bench); needs ../shared/corpus.
#
# Makes HOURS of traffic from the corpus's mixed.pcap (HTTP, IMAP, DNS;
# every flow copied under new client addresses with its own timings,
# by default 15,000 packets an hour, the density of
# samples/mixed-hour.pcap.xz; more packets make busier rows),
# replays it through the real sensor into the real collector and a
# throwaway PostgreSQL (tests/pg.sh), then rolls it into level 2 with
# artmon-summarise and reports, from pg_total_relation_size (heap, TOAST
# and indexes): bytes per level-1 row, per signature (one protocol,
# signature, server) per day, per sensor per day for the health, client
# and batch tables, and the same for level 2.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
hours=${2:-24}
pph=${3:-15000}
dir=${BENCH_DIR:-/var/tmp/artmon-bench}
corpus=$top/../shared/corpus
mkdir -p "$dir"
# Whole UTC days in the past, so that all of it is rolled into level 2.
start=$(( $(date +%s) / 86400 * 86400 - ((hours + 23) / 24 + 1) * 86400 ))
pcap=$dir/mixed-${hours}h-$pph-$start.pcap
if [ ! -f "$pcap" ]; then
  echo "making $pcap" >&2
  python3 "$corpus/make-bench-pcap.py" "$corpus/mixed.pcap" "$pcap" \
    --packets $((pph * hours)) --span $((3600 * hours)) \
    --start "$start" --seed 8 --clients 60 >&2
fi

ARTMON_SRCDIR=$top
. "$top/tests/pg.sh"
pg_start || { echo "no PostgreSQL" >&2; exit 1; }
printf '[collector]\n' >"$PG_TMP/init.conf"
"$build/collector/artmon-collector" -c "$PG_TMP/init.conf" --init-db >&2
key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
port=$(pg_free_port)
umask 077
printf '[collector]\nlisten = 127.0.0.1\nport = %s\n[sensors]\nbench = %s\n' \
  "$port" "$key" >"$PG_TMP/collector.conf"
printf '%s\n' "$key" >"$PG_TMP/sensor.key"
printf '[sensor]\nspool_dir = %s/spool\n[collector]\naddress = 127.0.0.1\nport = %s\nname = bench\nkey_file = %s/sensor.key\ndrain_timeout = 300s\n' \
  "$PG_TMP" "$port" "$PG_TMP" >"$PG_TMP/sensor.conf"
umask 022
"$build/collector/artmon-collector" -c "$PG_TMP/collector.conf" --foreground \
  >"$PG_TMP/collector.log" 2>&1 &
cpid=$!
on_exit "kill $cpid"
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { cat "$PG_TMP/collector.log" >&2; exit 1; }; sleep 0.1
done
"$build/sensor/artmon-sensor" -c "$PG_TMP/sensor.conf" -r "$pcap" 2>"$PG_TMP/sensor.log" ||
  { cat "$PG_TMP/sensor.log" >&2; exit 1; }
[ -z "$(find "$PG_TMP/spool" -type f | head -1)" ] ||
  { echo "the spool is not empty" >&2; exit 1; }
"$build/report/artmon-summarise" --horizon 0s --no-retention >&2
pg_psql -c 'VACUUM ANALYZE' >/dev/null

echo "# $hours h of mixed ($pph packets an hour) HTTP/IMAP/DNS from $(basename "$pcap"), one sensor"
pg_psql -P footer=off <<EOF
WITH days AS (SELECT $hours / 24.0 AS d),
l1 AS (
  SELECT count(*) AS rows,
         count(DISTINCT (protocol, signature, server_addr, server_port)) AS sigs,
         sum(transactions) AS txns,
         (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'artmon' AND c.relname LIKE 'summary_l1_%'
             AND c.relkind = 'r') AS bytes
  FROM artmon.summary_l1),
l2 AS (SELECT count(*) AS rows,
         pg_total_relation_size('artmon.summary_l2') AS bytes FROM artmon.summary_l2)
SELECT 'level 1' AS what, l1.rows, l1.sigs AS signatures,
       round(l1.txns::numeric / l1.rows, 1) AS txns_per_row,
       (l1.bytes / l1.rows)::bigint AS bytes_per_row,
       round(l1.rows / l1.sigs / days.d) AS rows_per_sig_day,
       pg_size_pretty((l1.bytes / l1.sigs / days.d)::bigint) AS per_signature_day
FROM l1, days
UNION ALL
SELECT 'level 2', l2.rows, l1.sigs, NULL, (l2.bytes / greatest(l2.rows, 1))::bigint,
       round(l2.rows / l1.sigs / days.d),
       pg_size_pretty((l2.bytes / l1.sigs / days.d)::bigint)
FROM l1, l2, days;

WITH days AS (SELECT $hours / 24.0 AS d)
SELECT t AS per_sensor_table,
       pg_size_pretty((pg_total_relation_size(t) / days.d)::bigint) AS per_day
FROM unnest(ARRAY['artmon.health_l1', 'artmon.top_clients', 'artmon.batches',
                  'artmon.health_l2', 'artmon.top_clients_l2']::regclass[]) AS t, days;
EOF
