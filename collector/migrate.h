/*
 * migrate.h: `artmon-collector --init-db`: create or upgrade the schema.
 *
 * Migrations are the files sql/NNN_name.sql (NNN: three digits), applied
 * in number order, each in its own transaction together with its row in
 * artmon.schema_version, under a transaction-scoped advisory lock so that
 * two collectors started at once apply each migration exactly once.
 * Re-running is safe: applied migrations are skipped.
 */
#ifndef ARTMON_MIGRATE_H
#define ARTMON_MIGRATE_H

#include <glib.h>

/* The directory the migrations are in: the source tree's sql/ when the
 * binary runs from the build tree, else $(pkgdatadir)/sql. */
const char *migrate_default_dir(void);

/*
 * Apply what is missing from sql_dir to the database of conninfo (libpq
 * syntax; "" uses PG* variables).  Logs each migration applied.  Returns
 * the schema version reached, or -1 with err.
 */
int migrate_run(const char *conninfo, const char *sql_dir, GError **err);

#endif /* ARTMON_MIGRATE_H */
