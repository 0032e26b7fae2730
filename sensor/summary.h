/*
 * summary.h: per-interval summaries and sensor health.
 *
 * The summarizer is a transaction sink and a sensor observer.  It keeps one
 * row per (interval, protocol, signature, server address, server port) and
 * one health record per interval, and hands each interval to a batch sink
 * when packet time has passed the interval's end plus a grace period (so
 * transactions still in flight at the boundary land in the right one).
 * Intervals are aligned to the epoch (12:00:00, 12:05:00, ...) and
 * transactions belong to the interval in which their request started.
 *
 * A transaction that finishes after its interval was emitted goes out in a
 * "late" batch for that interval; rows merge exactly downstream.
 */
#ifndef ARTMON_SUMMARY_H
#define ARTMON_SUMMARY_H

#include "sensor.h"
#include "summary_types.h"

struct summary_cfg {
	uint32_t interval_secs;		/* 300 */
	int64_t grace_ns;		/* 60 s */
	uint32_t max_rows;		/* per interval, 100000 */
	uint32_t max_exact_clients;	/* distinct-client exact cap, 100000 */
};

void summary_cfg_default(struct summary_cfg *c);

/* Receives each finished interval; takes ownership of b. */
typedef void (*batch_sink_fn)(void *ctx, struct summary_batch *b);

struct summarizer;

/* Attach to s (as a txn sink and its observer). */
struct summarizer *summarizer_new(const struct summary_cfg *cfg,
				  struct sensor *s, batch_sink_fn sink,
				  void *ctx);
void summarizer_free(struct summarizer *z);

/*
 * Close what is due at time now (packet time; live capture passes the
 * wall clock when the link is quiet, so idle intervals still close).
 */
void summarizer_advance(struct summarizer *z, int64_t now);

/* End of input: emit every open interval, health included. */
void summarizer_flush(struct summarizer *z);

/* Batches dropped downstream (a full output queue), for health rows. */
void summarizer_note_dropped(struct summarizer *z, uint64_t output,
			     uint64_t spool);

#endif /* ARTMON_SUMMARY_H */
