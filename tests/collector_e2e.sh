#!/bin/sh
# collector_e2e.sh: runs tests/collector_corpus_e2e.py (real sensor -> real
# collector -> PostgreSQL, compared with the sensor's own CSV) with a
# throwaway PostgreSQL and the schema applied.
set -u
S=${ARTMON_SRCDIR:-.}
. "$S/tests/pg.sh"
pg_start_schema
python3 "$S/tests/collector_corpus_e2e.py"
