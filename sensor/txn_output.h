/*
 * txn_output.h: per-transaction records as CSV or JSON lines (raw mode).
 */
#ifndef ARTMON_TXN_OUTPUT_H
#define ARTMON_TXN_OUTPUT_H

#include <stdio.h>

#include "txn.h"

enum txn_format { TXN_FORMAT_NONE, TXN_FORMAT_CSV, TXN_FORMAT_JSON };

struct output;

struct txn_output {
	FILE *out;
	enum txn_format format;
	bool header_done;
	struct output *thread;	/* if set, lines go through it */
	GString *pending;	/* lines not yet handed over */
};

/* Parse "csv" / "json"; returns TXN_FORMAT_NONE for anything else. */
enum txn_format txn_format_parse(const char *s);

void txn_output_init(struct txn_output *o, FILE *out, enum txn_format f);

/* A txn_sink_fn: ctx is a struct txn_output. */
void txn_output_write(void *ctx, const struct txn_record *r);

/* Send lines written so far to the output thread (call about once a
 * second and at the end), so they are not held back. */
void txn_output_flush(struct txn_output *o);

/* The CSV header line (without newline). */
extern const char txn_csv_header[];

/* Append "123" or "123.456" (microseconds, exact) to buf; -1 -> "". */
void fmt_us(GString *buf, int64_t ns);
/* Append epoch seconds with 6 (or 9) decimals. */
void fmt_epoch(GString *buf, int64_t ns);
/* Append s as one CSV field, quoted if it needs to be. */
void csv_field(GString *buf, const char *s);
/* Append s as a JSON string literal, escaped. */
void json_string(GString *buf, const char *s);

#endif /* ARTMON_TXN_OUTPUT_H */
