#!/bin/sh
# collector_security.sh: tests/collector_hostile_peers.py (hostile peers against
# the real collector) with a throwaway PostgreSQL and the schema applied.
set -u
B=${ARTMON_BUILDDIR:-.}
S=${ARTMON_SRCDIR:-.}
. "$S/tests/pg.sh"
pg_start; rc=$?
if [ $rc -eq 77 ]; then echo "1..0 # SKIP no PostgreSQL server"; exit 0; fi
[ $rc -eq 0 ] || { echo "1..1"; echo "not ok 1 - PostgreSQL starts"; exit 1; }
printf '[collector]\n' >"$PG_TMP/init.conf"
"$B/collector/artmon-collector" -c "$PG_TMP/init.conf" --init-db >"$PG_TMP/init.log" 2>&1 ||
  { echo "1..1"; echo "not ok 1 - --init-db"; sed 's/^/# /' "$PG_TMP/init.log"; exit 1; }
export PG_TMP
python3 "$S/tests/collector_hostile_peers.py"
