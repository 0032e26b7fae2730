#!/bin/sh
# report_html_pg.sh: runs tests/report_html.py (the corpus through
# the real sensor and collector, rolled up, written as one HTML page and
# rendered by headless Chromium)
# with a throwaway PostgreSQL and the schema applied.
set -u
S=${ARTMON_SRCDIR:-.}
. "$S/tests/pg.sh"
pg_start_schema
python3 "$S/tests/report_html.py"
