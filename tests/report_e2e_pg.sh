#!/bin/sh
# report_e2e_pg.sh: runs tests/report_e2e.py (the corpus through the real
# sensor and collector into PostgreSQL; every artmon-report subcommand
# against hand-written SQL; artmon-summarise's level 2 against level 1)
# with a throwaway PostgreSQL and the schema applied.
# (Named apart from report_e2e.py: automake would give both the same
# .log, and its suffix rules pick the .py, run without PostgreSQL.)
set -u
S=${ARTMON_SRCDIR:-.}
. "$S/tests/pg.sh"
pg_start_schema
python3 "$S/tests/report_e2e.py"
