#!/bin/sh
# collector_schema.sh: --init-db and the schema as a public interface.
#
# Against a throwaway PostgreSQL (tests/pg.sh): migrations apply once,
# re-running and racing are safe; every table, view and column carries a
# comment; the views have the columns users rely on; the writer role can
# do exactly what the collector needs (a collector logged in with only
# artmon_writer stores a batch) and no more; the reader role only reads.
# Prints TAP.
set -u
B=${ARTMON_BUILDDIR:-.}
S=${ARTMON_SRCDIR:-.}
COLL="$B/collector/artmon-collector"
. "$S/tests/pg.sh"
pg_start; rc=$?
if [ $rc -eq 77 ]; then echo "1..0 # SKIP no PostgreSQL server"; exit 0; fi
[ $rc -eq 0 ] || { echo "1..1"; echo "not ok 1 - PostgreSQL starts"; exit 1; }

n=0
failed=0
ok() {  # ok COND-EXIT-STATUS DESCRIPTION [DIAG-FILE]
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $n - $2"
  else
    echo "not ok $n - $2"
    failed=$((failed + 1))
    [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/#   /' "$3" | head -30
  fi
}
q() { pg_psql -At "$@"; }

printf '[collector]\n' >"$PG_TMP/init.conf"

# The migrations in the tree: 001 .. NNN (later issues add theirs).
N=$(ls "$S"/sql/[0-9][0-9][0-9]_*.sql | wc -l)

# 1-2: first run applies them all; a second run changes nothing.
"$COLL" -c "$PG_TMP/init.conf" --init-db >"$PG_TMP/out1" 2>&1
r=$?
grep -q "artmon schema at version $N\$" "$PG_TMP/out1" &&
  grep -q "applied migration 001_schema.sql" "$PG_TMP/out1" &&
  [ "$(grep -c "applied migration" "$PG_TMP/out1")" = "$N" ]
ok $((r + $?)) "--init-db applies the $N migrations in order and reports version $N" "$PG_TMP/out1"
"$COLL" -c "$PG_TMP/init.conf" --init-db >"$PG_TMP/out2" 2>&1
r=$?
[ "$(q -c 'select count(*) from artmon.schema_version')" = "$N" ] && ! grep -q applied "$PG_TMP/out2"
ok $((r + $?)) "re-running --init-db applies nothing and succeeds" "$PG_TMP/out2"

# 3: four collectors racing on a fresh database: each migration once.
"$PG_BIN/createdb" race
pids=
for i in 1 2 3 4; do
  PGDATABASE=race "$COLL" -c "$PG_TMP/init.conf" --init-db >"$PG_TMP/race$i" 2>&1 &
  pids="$pids $!"
done
r=0
for p in $pids; do wait "$p" || r=1; done
applied=$(cat "$PG_TMP"/race? | grep -c "applied migration")
[ "$(PGDATABASE=race q -c 'select count(*) from artmon.schema_version')" = "$N" ] && [ "$applied" = "$N" ]
ok $((r + $?)) "four --init-db at once: all succeed, each migration applied exactly once" "$PG_TMP/race1"

# 4: comments on every table, view and column (partitions: the table).
q >"$PG_TMP/nocomment" <<'SQL'
select c.relname || coalesce('.' || a.attname, '')
from pg_class c join pg_namespace s on s.oid = c.relnamespace
left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where s.nspname = 'artmon' and c.relkind in ('r', 'p', 'v')
  and ((a.attname is null and obj_description(c.oid, 'pg_class') is null)
    or (a.attname is not null and not c.relispartition
        and col_description(c.oid, a.attnum) is null))
union all
select c.relname from pg_class c join pg_namespace s on s.oid = c.relnamespace
where s.nspname = 'artmon' and c.relkind in ('r', 'p', 'v')
  and obj_description(c.oid, 'pg_class') is null
union all
select p.proname from pg_proc p join pg_namespace s on s.oid = p.pronamespace
where s.nspname = 'artmon' and obj_description(p.oid, 'pg_proc') is null
SQL
[ ! -s "$PG_TMP/nocomment" ]
ok $? "every artmon table, view, column and function has a comment" "$PG_TMP/nocomment"

# 5: the views have the columns the issue promises, in that order.
want_l="interval_start,interval_secs,sensor,protocol,signature,server_addr,server_port,transactions,errors,ttfb_min_ms,ttfb_avg_ms,ttfb_max_ms,ttfb_p50_ms,ttfb_p95_ms,ttfb_p99_ms,ttlb_min_ms,ttlb_avg_ms,ttlb_max_ms,ttlb_p50_ms,ttlb_p95_ms,ttlb_p99_ms"
want_h="interval_start,interval_secs,sensor,packets,bytes,drops,malformed,flows_active,clients_distinct"
cols() {
  q -c "select string_agg(attname, ',' order by attnum) from (select attname, attnum from pg_attribute where attrelid = 'artmon.$1'::regclass and attnum > 0 order by attnum limit $2) x"
}
r=0
for v in level1 level2; do
  [ "$(cols $v 21)" = "$want_l" ] || { r=1; echo "$v: $(cols $v 21)" >>"$PG_TMP/cols"; }
done
[ "$(cols health 9)" = "$want_h" ] || { r=1; echo "health: $(cols health 9)" >>"$PG_TMP/cols"; }
[ "$(q -c "select atttypid::regtype from pg_attribute where attrelid = 'artmon.level1'::regclass and attname = 'server_addr'")" = inet ] || r=1
ok $r "level1, level2 and health start with the promised columns; server_addr is inet" "$PG_TMP/cols"

# 6: ensure_partitions makes day partitions, once.
r=0
[ "$(q -c "select artmon.ensure_partitions('2030-01-01 00:00+00', '2030-01-03 12:00+00')")" = 3 ] || r=1
[ "$(q -c "select artmon.ensure_partitions('2030-01-02 00:00+00', '2030-01-02 01:00+00')")" = 0 ] || r=1
[ "$(q -c "select count(*) from pg_inherits where inhparent = 'artmon.summary_l1'::regclass and inhrelid::regclass::text like 'artmon.summary_l1_203001%'")" = 3 ] || r=1
ok $r "ensure_partitions creates the missing UTC days and nothing twice"

# 7: the writer role stores through a collector and can do nothing else.
q -c "create role artmon_collector_t login in role artmon_writer" >/dev/null
q -c "create role artmon_report_t login in role artmon_reader" >/dev/null
KEY=0123456789abcdef0123456789abcdef
PORT=$(pg_free_port)
cat >"$PG_TMP/c.conf" <<EOF
[collector]
listen = 127.0.0.1
port = $PORT
database = user=artmon_collector_t
[sensors]
s1 = $KEY
EOF
chmod 600 "$PG_TMP/c.conf"
"$COLL" -c "$PG_TMP/c.conf" --foreground >"$PG_TMP/coll.log" 2>&1 &
cpid=$!
on_exit "kill $cpid"
PYTHONPATH="$S/tests" python3 - "$PORT" "$KEY" >"$PG_TMP/py.log" 2>&1 <<'EOF'
import os, sys, time
import artmon_wire as w
port, key = int(sys.argv[1]), sys.argv[2].encode()
for attempt in range(100):
    try:
        s = w.Sensor.connect(("127.0.0.1", port), "s1", key)
        break
    except (ConnectionRefusedError, EOFError):
        time.sleep(0.1)
row = dict(protocol="http", signature="GET_/", server_addr="10.9.9.9",
           server_port=80, transactions=1, ttfb_us_count=1, ttfb_us_sum=5,
           ttfb_us_min=5, ttfb_us_max=5, ttfb_hist={17: 1})
# A day far from today: the collector must create its partition.
for attempt in range(50):
    s.send_batch(w.batch_payload(b"\x01" * 16, 946684800, 300, [row],
                                 health={"packets": 1}))
    kind, body = s.recv_verdict()
    if kind == w.ACK:
        sys.exit(0)
    time.sleep(0.2)   # RETRY while the writer connects
print("no ACK, last", kind)
sys.exit(1)
EOF
r=$?
[ "$(q -c "select transactions from artmon.level1 where sensor = 's1'")" = 1 ] || r=1
cat "$PG_TMP/py.log" "$PG_TMP/coll.log" >"$PG_TMP/diag7"
ok $r "a collector whose role has only artmon_writer stores a batch (new partition included)" "$PG_TMP/diag7"
kill $cpid 2>/dev/null; wait $cpid 2>/dev/null

denied() {  # denied ROLE SQL: the statement fails with a permission error
  pg_psql -U "$1" -c "$2" >"$PG_TMP/denied" 2>&1
  [ $? -ne 0 ] && grep -Eq "permission denied|must be owner" "$PG_TMP/denied"
}
r=0
denied artmon_collector_t "delete from artmon.summary_l1" || r=1
denied artmon_collector_t "create table artmon.x (a int)" || r=1
denied artmon_collector_t "drop table artmon.batches" || r=1
ok $r "the writer role cannot delete, create or drop" "$PG_TMP/denied"
r=0
[ "$(pg_psql -U artmon_report_t -At -c "select count(*) from artmon.level1")" = 1 ] || r=1
[ "$(pg_psql -U artmon_report_t -At -c "select count(*) from artmon.health")" = 1 ] || r=1
denied artmon_report_t "insert into artmon.sensors (name) values ('x')" || r=1
denied artmon_report_t "select artmon.ensure_partitions(now(), now())" || r=1
ok $r "the reader role reads the views and can change nothing" "$PG_TMP/denied"

echo "1..$n"
[ $failed -eq 0 ]
