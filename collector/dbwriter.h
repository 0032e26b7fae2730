/*
 * dbwriter.h: the collector's database writer thread and its bounded
 * queue.
 *
 * The main loop (network, authentication, decoding) never waits for
 * PostgreSQL: it hands each decoded batch to dbwriter_submit(), which
 * either queues it or refuses at once (database down, queue full), and
 * the connection answers WIRE_RETRY; the sensor keeps the batch in its
 * spool.  The writer thread owns its own libpq connection, stores queued
 * batches in groups of up to transaction_rows rows per transaction
 * (collector/store.c), and after COMMIT sends each verdict back to the
 * main context, where the ACK goes out.  A lost database is reconnected
 * with exponential back-off (0.5 s doubling to reconnect_max), logged
 * once, then rate-limited, then "restored".
 */
#ifndef ARTMON_DBWRITER_H
#define ARTMON_DBWRITER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "summary_types.h"
#include "wire.h"

struct dbwriter;

enum dbw_verdict {
	DBW_ACK,	/* committed (or stored before): acknowledge */
	DBW_RETRY,	/* not stored: ask the sensor to send it later */
};

/*
 * Called in the main context with each submitted batch's verdict.  owner
 * is what was passed to dbwriter_submit(); the callback owns that
 * reference from then on.
 */
typedef void (*dbw_reply_fn)(void *owner, const uint8_t id[WIRE_BATCH_ID_LEN],
			     enum dbw_verdict v, void *data);

struct dbwriter_limits {
	uint32_t queue_batches;
	uint64_t queue_rows;
	uint32_t transaction_rows;
	int64_t reconnect_max_ns;
};

struct dbwriter_stats {
	uint64_t batches_stored, rows_stored, duplicates;
	uint64_t retries;		/* RETRY verdicts, refusals included */
	uint64_t transactions, failed_transactions, reconnects;
	uint64_t queued_batches, queued_rows;	/* now */
};

/* Start the thread; it connects on its own (conninfo: libpq syntax). */
struct dbwriter *dbwriter_new(const char *conninfo,
			      const struct dbwriter_limits *lim,
			      GMainContext *ctx, dbw_reply_fn reply,
			      void *reply_data);

/*
 * Queue batch b (ownership passes, always) from sensor (name) at peer
 * (address text) for owner.  False when it was refused: the database is
 * down or the queue is full; the caller answers RETRY itself and keeps
 * its owner reference.
 */
bool dbwriter_submit(struct dbwriter *w, void *owner, const char *sensor,
		     const char *peer, const uint8_t id[WIRE_BATCH_ID_LEN],
		     struct summary_batch *b);

/* True while connected to a usable database. */
bool dbwriter_database_up(struct dbwriter *w);

void dbwriter_get_stats(struct dbwriter *w, struct dbwriter_stats *st);

/*
 * Stop: finish the group being stored (bounded by the database), answer
 * every batch still queued with RETRY, join the thread, and deliver all
 * pending verdicts (by iterating ctx).  Idempotent.
 */
void dbwriter_stop(struct dbwriter *w);
/* Stop if needed, then free. */
void dbwriter_free(struct dbwriter *w);

#endif /* ARTMON_DBWRITER_H */
