#!/bin/sh
# collector_security.sh: tests/collector_hostile_peers.py (hostile peers against
# the real collector) with a throwaway PostgreSQL and the schema applied.
set -u
S=${ARTMON_SRCDIR:-.}
. "$S/tests/pg.sh"
pg_start_schema
python3 "$S/tests/collector_hostile_peers.py"
