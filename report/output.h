/*
 * output.h: a report's answer as a table, printed aligned for people, or
 * as CSV or JSON for programs.
 *
 * A command declares its columns (a key for CSV and JSON, a title for
 * people, and a kind that says how to print the value), then fills rows
 * cell by cell.  The same table prints three ways:
 *
 *   table  a title, the aligned columns with numbers right-aligned in
 *          human units (milliseconds with three significant digits,
 *          percentages, rates, bit rates), then notes and warnings
 *   csv    RFC 4180: a header of keys, raw values (milliseconds with
 *          microsecond precision, times ISO 8601), nothing else
 *   json   {"meta": {...}, "rows": [{key: value, ...}], "notes": [...]}
 *          with numbers as numbers and a missing value as null
 *
 * Warnings go to stderr as well in CSV and JSON, so a script's output
 * stays data while a person still sees them.
 */
#ifndef ARTMON_OUTPUT_H
#define ARTMON_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum out_format { OUT_TABLE, OUT_CSV, OUT_JSON };

enum col_kind {
	COL_TEXT,	/* a string */
	COL_INT,	/* an integer count */
	COL_MS,		/* a duration in milliseconds (double) */
	COL_PCT,	/* a percentage (double, 0..100) */
	COL_RATE,	/* a rate per second (double) */
	COL_BITS,	/* bits per second (double), printed as kbit/s, Mbit/s */
	COL_TIME,	/* epoch seconds (int), printed in local time */
	COL_CHANGE,	/* a relative change in percent, printed signed */
};

struct table;

struct table *table_new(void);
void table_free(struct table *t);

/* The first line of the table format (and "title" in JSON meta). */
void table_title(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A key/value for JSON's "meta" (and a line under the title). */
void table_meta(struct table *t, const char *key, const char *value);
/* A line after the table (and in JSON "notes"). */
void table_note(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A warning: after the table, in JSON "warnings", and on stderr. */
void table_warn(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void table_col(struct table *t, const char *key, const char *title,
	       enum col_kind kind);

/* Start a row, then add its cells in column order. */
void table_row(struct table *t);
void table_text(struct table *t, const char *s);	/* NULL: missing */
void table_int(struct table *t, int64_t v);
void table_num(struct table *t, double v);		/* NaN: missing */
void table_null(struct table *t);

unsigned table_rows(const struct table *t);

/* Print in format f.  Returns 0, or -1 if writing failed. */
int table_print(const struct table *t, enum out_format f, FILE *out);

/* Human forms, also used by the HTML page. */
void fmt_ms(double ms, char *buf, size_t len);
void fmt_count(double n, char *buf, size_t len);	/* 1234, 12.3k, 4.5M */
void fmt_bits(double bps, char *buf, size_t len);	/* 12.3 Mbit/s */

#endif /* ARTMON_OUTPUT_H */
