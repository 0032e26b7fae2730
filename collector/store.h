/*
 * store.h: one PostgreSQL connection that stores summary batches, exactly
 * once, in one transaction per group of batches.
 *
 * Synchronous and single-threaded: the collector's DB writer thread owns
 * one struct store (collector/dbwriter.c); the tests drive it directly.
 * The SQL it relies on (tables, ensure_partitions, hist_add) is
 * sql/001_schema.sql.
 */
#ifndef ARTMON_STORE_H
#define ARTMON_STORE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "summary_types.h"
#include "wire.h"

/* The newest migration this collector knows how to write to. */
#define STORE_SCHEMA_VERSION 1

struct store;

/* One batch to store, and what became of it. */
struct store_item {
	const char *sensor;		/* authenticated sensor name */
	const char *peer;		/* its address (inet text), or NULL */
	const uint8_t *id;		/* WIRE_BATCH_ID_LEN bytes */
	const struct summary_batch *b;	/* not modified */
	bool duplicate;			/* out: already stored before */
};

/*
 * Connect (conninfo in libpq syntax; "" uses the PG* environment), check
 * that the schema is initialised (artmon.schema_version) and prepare the
 * statements and the staging table.  NULL with err on any failure.
 */
struct store *store_connect(const char *conninfo, GError **err);
void store_free(struct store *s);

/* False once the server connection is gone: free and connect again. */
bool store_connection_ok(const struct store *s);

/*
 * Store items[0..n) in one transaction: each batch id is recorded in
 * artmon.batches together with the batch's rows; an id already there
 * makes that item a no-op (duplicate = true).  Rows with the same key
 * (across items, and against rows already stored) merge: counts and sums
 * add, min/max combine, histograms add; health records and top clients
 * of one (sensor, interval) merge likewise.
 *
 * 0: committed.  -1 with err: rolled back, nothing stored; then
 * store_connection_ok() tells whether the connection survived, and
 * *retryable whether the same group may succeed later as it is (a lost
 * connection, a deadlock, a serialization failure) rather than failing
 * on its content.
 */
int store_batches(struct store *s, struct store_item *items, unsigned n,
		  bool *retryable, GError **err);

/*
 * Checks a decoded batch against what the schema can hold (a time in
 * 1970..9999, an interval of 1 s to 1 day, UTF-8 names (a protocol not
 * empty), families 4 or 6; lib/wire.c checks as much when decoding: this
 * is the store's own guard).  Returns false with a reason in why: such a batch
 * could never be stored and must not be queued.
 */
bool store_batch_valid(const struct summary_batch *b, char *why,
		       size_t whylen);

#endif /* ARTMON_STORE_H */
