#!/bin/sh
# report_html_pg.sh: runs tests/report_html.py (the corpus through
# the real sensor and collector, rolled up, written as one HTML page and
# rendered by headless Chromium)
# with a throwaway PostgreSQL and the schema applied.
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
python3 "$S/tests/report_html.py"
