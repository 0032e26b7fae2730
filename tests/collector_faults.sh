#!/bin/sh
# collector_faults.sh: runs tests/collector_fault_replay.py (collector, sensor
# and PostgreSQL killed and restarted during a replay) with a
# throwaway PostgreSQL and the schema applied.
set -u
S=${ARTMON_SRCDIR:-.}
. "$S/tests/pg.sh"
pg_start_schema
python3 "$S/tests/collector_fault_replay.py"
