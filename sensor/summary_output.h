/*
 * summary_output.h: interval summaries and health as CSV or JSON lines.
 *
 * This is the human- and script-readable form of exactly what the sensor
 * ships to the collector; docs/summaries.md lists the columns.
 */
#ifndef ARTMON_SUMMARY_OUTPUT_H
#define ARTMON_SUMMARY_OUTPUT_H

#include <glib.h>
#include <stdio.h>

#include "summary_types.h"
#include "txn_output.h"

struct summary_printer {
	FILE *out;
	enum txn_format format;
	bool header_done;
};

void summary_printer_init(struct summary_printer *p, FILE *out,
			  enum txn_format f);
/* Append the batch's lines to buf (and the CSV headers the first time). */
void summary_format(struct summary_printer *p, const struct summary_batch *b,
		    GString *buf);
/* An output consumer: formats and writes to p->out, then flushes. */
void summary_printer_consume(void *ctx, const struct summary_batch *b);

#endif /* ARTMON_SUMMARY_OUTPUT_H */
