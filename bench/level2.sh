#!/bin/sh
# bench/level2.sh: the level-2 roll-up beside a hand-written GROUP BY of
# the same rows, and `artmon-report summary` over the whole range from
# level 2 beside the same question over level 1, in one run.
#
#   bench/level2.sh [BUILDDIR] [DAYS] [SIGS] [SERVERS]
#                   (defaults: build, 30, 1000, 10)
#
# Starts a throwaway PostgreSQL (tests/pg.sh: fsync off, the same for
# every step), applies the schema (artmon-collector --init-db), then
#   1. generates DAYS days of 5-minute level-1 rows for SIGS signatures
#      on SERVERS servers (bench/level2_gen.sql; batches, health and busy
#      clients too, as the collector would have stored them);
#   2. baseline: one hand-written INSERT ... SELECT ... GROUP BY of all
#      the level-1 rows into hourly rows (same aggregates: sums, min, max,
#      artmon.hist_merge; work_mem and jit as the roll-up sets them) into
#      a scratch table, timed twice (before and after the roll-up, so
#      neither has the colder cache alone); the faster one counts;
#   3. artmon-summarise (hours, the day rows, health, busy clients, the
#      batches marked; a transaction per day), timed;
#   4. checks that level 2 and the baseline hold level 1's totals;
#   5. `artmon-report summary` over the DAYS days, auto (level-2 day
#      rows) and --level 1, best of two each, and checks that the two
#      answers are the same.
# Prints the times and the two ratios; BENCHMARKS.md has the figures.
set -eu
S=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$S/build}" && pwd)
DAYS=${2:-30}
SIGS=${3:-1000}
SERVERS=${4:-10}
COLL="$B/collector/artmon-collector"
REPORT="$B/report/artmon-report"
SUMMARISE="$B/report/artmon-summarise"
for p in "$COLL" "$REPORT" "$SUMMARISE"; do
  [ -x "$p" ] || { echo "no $p: build first" >&2; exit 1; }
done
export TZ=UTC
. "$S/tests/pg.sh"
pg_start
printf '[collector]\n' >"$PG_TMP/init.conf"
"$COLL" -c "$PG_TMP/init.conf" --init-db >/dev/null

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }

echo "level-2 benchmark: $DAYS days x $SIGS signatures x $SERVERS servers," \
  "$(nproc) CPUs, PostgreSQL $(pg_psql -At -c 'show server_version')"
t0=$(now)
pg_psql -v days="$DAYS" -v sigs="$SIGS" -v servers="$SERVERS" \
  -f "$S/bench/level2_gen.sql" >/dev/null
t1=$(now)
rows=$(pg_psql -At -c "select count(*) from artmon.summary_l1")
size=$(pg_psql -At -c "select pg_size_pretty(sum(pg_total_relation_size(c.oid))) from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'artmon.summary_l1'::regclass")
printf 'generated:   %d level-1 rows (%s) in %.0f s\n' "$rows" "$size" "$(secs "$t0" "$t1")"
range=$(pg_psql -At -c "select extract(epoch from min(interval_start))::bigint || ' ' || extract(epoch from max(interval_start) + interval '5 minutes')::bigint from artmon.summary_l1")
from=${range% *}
to=${range#* }

# The baseline: what anyone would write by hand for hourly rows.
pg_psql -c "create table bench_l2 (like artmon.summary_l2)" >/dev/null
baseline() {
  pg_psql -c "truncate bench_l2" >/dev/null
  local a b
  a=$(now)
  pg_psql >/dev/null <<'EOF'
SET work_mem = '256MB';
SET jit = off;
INSERT INTO bench_l2
SELECT sensor_id, date_bin('1 hour', interval_start, timestamptz '1970-01-01'), 3600,
       protocol, signature, server_addr, server_port,
       sum(transactions), sum(errors), sum(retransmissions), sum(timeouts), sum(gaps),
       sum(midstream), sum(orphan_responses), sum(retries),
       sum(request_us_count), min(request_us_min), max(request_us_max), sum(request_us_sum),
       sum(ttfb_us_count), min(ttfb_us_min), max(ttfb_us_max), sum(ttfb_us_sum),
       sum(ttlb_us_count), min(ttlb_us_min), max(ttlb_us_max), sum(ttlb_us_sum),
       sum(handshake_rtt_us_count), min(handshake_rtt_us_min), max(handshake_rtt_us_max), sum(handshake_rtt_us_sum),
       sum(client_ack_us_count), min(client_ack_us_min), max(client_ack_us_max), sum(client_ack_us_sum),
       sum(request_bytes_count), min(request_bytes_min), max(request_bytes_max), sum(request_bytes_sum),
       sum(response_bytes_count), min(response_bytes_min), max(response_bytes_max), sum(response_bytes_sum),
       sum(request_packets_count), min(request_packets_min), max(request_packets_max), sum(request_packets_sum),
       sum(server_packets_count), min(server_packets_min), max(server_packets_max), sum(server_packets_sum),
       sum(server_pkt_bytes_count), min(server_pkt_bytes_min), max(server_pkt_bytes_max), sum(server_pkt_bytes_sum),
       sum(server_mss_count), min(server_mss_min), max(server_mss_max), sum(server_mss_sum),
       sum(server_window_count), min(server_window_min), max(server_window_max), sum(server_window_sum),
       artmon.hist_merge(ttfb_hist), artmon.hist_merge(ttlb_hist), sum(merged)
FROM artmon.summary_l1
GROUP BY 1, 2, 4, 5, 6, 7;
EOF
  b=$(now)
  secs "$a" "$b"
}
base1=$(baseline)
printf 'baseline:    INSERT ... SELECT ... GROUP BY into hours: %.1f s\n' "$base1"

a=$(now)
"$SUMMARISE" --horizon 1d --no-retention -v 2>"$PG_TMP/summarise.log"
b=$(now)
roll=$(secs "$a" "$b")
printf 'summariser:  artmon-summarise --horizon 1d: %.1f s (%s)\n' "$roll" \
  "$(grep rolled "$PG_TMP/summarise.log" | sed 's/^artmon-summarise: //')"
base2=$(baseline)
printf 'baseline:    again, after: %.1f s\n' "$base2"
base=$(echo "if ($base1 < $base2) $base1 else $base2" | bc -l)
printf 'summariser / baseline: %.2f (target: at most 2)\n' "$(echo "$roll / $base" | bc -l)"

check=$(pg_psql -At -c "select (select sum(transactions) from artmon.summary_l1) = (select sum(transactions) from artmon.summary_l2 where interval_secs = 3600) and (select sum(transactions) from artmon.summary_l1) = (select sum(transactions) from artmon.summary_l2 where interval_secs = 86400) and (select sum(transactions) from artmon.summary_l1) = (select sum(transactions) from bench_l2) and (select count(*) from bench_l2) = (select count(*) from artmon.summary_l2 where interval_secs = 3600)")
[ "$check" = t ] && echo "check: level 2 (hours and days) and the baseline hold level 1's transactions, hours row for row" ||
  { echo "check FAILED: level 2 and level 1 differ"; exit 1; }
l2rows=$(pg_psql -At -c "select string_agg(interval_secs || ' s: ' || n, ', ') from (select interval_secs, count(*) as n from artmon.summary_l2 group by 1 order by 1) x")
echo "level 2:     $l2rows rows"

# Best of two: the first run of either may pay for a cold cache.
best() {
  local m=999999 i a b t
  for i in 1 2; do
    a=$(now)
    "$REPORT" summary --from "@$from" --to "@$to" "$@" --csv >/dev/null
    b=$(now)
    t=$(secs "$a" "$b")
    m=$(echo "if ($t < $m) $t else $m" | bc -l)
  done
  echo "$m"
}
r1=$(best --level 1)
r2=$(best --level auto)
printf 'report summary over %d days, level 1:  %.3f s (best of 2)\n' "$DAYS" "$r1"
printf 'report summary over %d days, level 2:  %.3f s (best of 2; %s)\n' "$DAYS" "$r2" \
  "$("$REPORT" summary --from "@$from" --to "@$to" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["meta"]["sources"])')"
printf 'level 1 / level 2: %.1fx faster (target: at least 10x)\n' "$(echo "$r1 / $r2" | bc -l)"
"$REPORT" summary --from "@$from" --to "@$to" --level 1 --csv >"$PG_TMP/a.csv" &&
  "$REPORT" summary --from "@$from" --to "@$to" --csv >"$PG_TMP/b.csv" &&
  cmp -s "$PG_TMP/a.csv" "$PG_TMP/b.csv" &&
  echo "check: both answers are the same, value for value" ||
  { echo "check FAILED: level 1 and level 2 answers differ"; exit 1; }
