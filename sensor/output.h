/*
 * output.h: the sensor's output thread.
 *
 * The packet thread must never wait for a disk, a pipe or the network:
 * a live capture that stalls loses packets in the kernel.  So finished
 * summary batches and chunks of per-transaction text go through a bounded
 * queue to one output thread, which runs the consumers (printer, spool).
 * When the queue is full, live capture drops the item and counts it (the
 * count goes into the next health row); reading a file, there is nothing
 * to lose by waiting, so the packet thread blocks instead.
 */
#ifndef ARTMON_OUTPUT_H
#define ARTMON_OUTPUT_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "summary_types.h"

typedef void (*batch_consumer_fn)(void *ctx, const struct summary_batch *b);

struct output;

/* block: wait when the queue is full (file input) instead of dropping. */
struct output *output_new(unsigned max_items, bool block);

/* Consumers run on the output thread, in the order added; add them
 * before output_start(). */
void output_add_consumer(struct output *o, batch_consumer_fn fn, void *ctx);
void output_start(struct output *o);

/* From the packet thread; takes ownership.  (A batch_sink_fn.) */
void output_push_batch(void *o, struct summary_batch *b);
/* Write text to f on the output thread; takes ownership of text. */
void output_push_text(struct output *o, FILE *f, GString *text);

/* Items dropped because the queue was full, since the last call. */
uint64_t output_take_dropped(struct output *o);

/* Drain the queue, stop the thread, free. */
void output_finish(struct output *o);

#endif /* ARTMON_OUTPUT_H */
