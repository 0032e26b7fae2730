#!/bin/sh
# collector_store.sh: runs tests/test-store (collector/store.c against a
# real PostgreSQL) with a throwaway server and the schema applied.
# TAP comes from the GTest program.
set -u
B=${ARTMON_BUILDDIR:-.}
S=${ARTMON_SRCDIR:-.}
. "$S/tests/pg.sh"
pg_start_schema
"$B/tests/test-store"
