#!/bin/sh
# report_e2e_pg.sh: runs tests/report_e2e.py (the corpus through the real
# sensor and collector into PostgreSQL; every artmon-report subcommand
# against hand-written SQL; artmon-summarise's level 2 against level 1)
# with a throwaway PostgreSQL and the schema applied.
# (Named apart from report_e2e.py: automake would give both the same
# .log, and its suffix rules pick the .py, run without PostgreSQL.)
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
python3 "$S/tests/report_e2e.py"
