/*
 * output.c: tables printed aligned, as CSV or as JSON; see output.h.
 *
 * Cells are kept as values (not text) until printing, so each format
 * prints them its own way: human units and alignment for people, full
 * precision for programs.  Widths are measured in characters, not bytes,
 * so UTF-8 signatures line up.
 */
#include "config.h"

#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "output.h"
#include "rtime.h"

struct cell {
	bool null;
	int64_t i;
	double d;
	char *s;
};

struct column {
	char *key, *title;
	enum col_kind kind;
};

struct table {
	char *title;
	GPtrArray *meta_keys, *meta_values;
	GPtrArray *notes, *warnings;
	GArray *cols;		/* struct column */
	GPtrArray *rows;	/* GArray of struct cell */
};

/* ----------------------------------------------------------------------
 * Building
 */

static void cell_clear(gpointer p)
{
	g_free(((struct cell *)p)->s);
}

static void row_free(gpointer p)
{
	g_array_free(p, TRUE);
}

struct table *table_new(void)
{
	struct table *t = g_new0(struct table, 1);

	t->meta_keys = g_ptr_array_new_with_free_func(g_free);
	t->meta_values = g_ptr_array_new_with_free_func(g_free);
	t->notes = g_ptr_array_new_with_free_func(g_free);
	t->warnings = g_ptr_array_new_with_free_func(g_free);
	t->cols = g_array_new(FALSE, TRUE, sizeof(struct column));
	t->rows = g_ptr_array_new_with_free_func(row_free);
	return t;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	g_free(t->title);
	g_ptr_array_free(t->meta_keys, TRUE);
	g_ptr_array_free(t->meta_values, TRUE);
	g_ptr_array_free(t->notes, TRUE);
	g_ptr_array_free(t->warnings, TRUE);
	for (unsigned i = 0; i < t->cols->len; i++) {
		struct column *c = &g_array_index(t->cols, struct column, i);
		g_free(c->key);
		g_free(c->title);
	}
	g_array_free(t->cols, TRUE);
	g_ptr_array_free(t->rows, TRUE);
	g_free(t);
}

void table_title(struct table *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_free(t->title);
	t->title = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}

void table_meta(struct table *t, const char *key, const char *value)
{
	g_ptr_array_add(t->meta_keys, g_strdup(key));
	g_ptr_array_add(t->meta_values, g_strdup(value ? value : ""));
}

void table_note(struct table *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(t->notes, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

void table_warn(struct table *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(t->warnings, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

void table_col(struct table *t, const char *key, const char *title,
	       enum col_kind kind)
{
	struct column c = { g_strdup(key), g_strdup(title), kind };
	g_array_append_val(t->cols, c);
}

void table_row(struct table *t)
{
	GArray *r = g_array_sized_new(FALSE, TRUE, sizeof(struct cell),
				      t->cols->len);
	g_array_set_clear_func(r, cell_clear);
	g_ptr_array_add(t->rows, r);
}

static void add_cell(struct table *t, struct cell c)
{
	g_return_if_fail(t->rows->len > 0);
	GArray *r = t->rows->pdata[t->rows->len - 1];
	g_return_if_fail(r->len < t->cols->len);
	g_array_append_val(r, c);
}

void table_text(struct table *t, const char *s)
{
	struct cell c = { .null = !s, .s = g_strdup(s) };
	add_cell(t, c);
}

void table_int(struct table *t, int64_t v)
{
	struct cell c = { .i = v, .d = (double)v };
	add_cell(t, c);
}

void table_num(struct table *t, double v)
{
	struct cell c = { .null = isnan(v) || isinf(v), .d = v };
	add_cell(t, c);
}

void table_null(struct table *t)
{
	struct cell c = { .null = true };
	add_cell(t, c);
}

unsigned table_rows(const struct table *t)
{
	return t->rows->len;
}

/* ----------------------------------------------------------------------
 * Human forms
 */

void fmt_ms(double ms, char *buf, size_t len)
{
	double a = fabs(ms);

	if (isnan(ms))
		snprintf(buf, len, "-");
	else if (a == 0)
		snprintf(buf, len, "0");
	else if (a < 1)
		snprintf(buf, len, "%.3f", ms);
	else if (a < 10)
		snprintf(buf, len, "%.2f", ms);
	else if (a < 100)
		snprintf(buf, len, "%.1f", ms);
	else
		snprintf(buf, len, "%.0f", ms);
}

void fmt_count(double n, char *buf, size_t len)
{
	double a = fabs(n);

	if (a < 10000)
		snprintf(buf, len, "%.0f", n);
	else if (a < 1e6)
		snprintf(buf, len, "%.1fk", n / 1e3);
	else if (a < 1e9)
		snprintf(buf, len, "%.1fM", n / 1e6);
	else
		snprintf(buf, len, "%.1fG", n / 1e9);
}

void fmt_bits(double bps, char *buf, size_t len)
{
	if (bps < 1e3)
		snprintf(buf, len, "%.0f bit/s", bps);
	else if (bps < 1e6)
		snprintf(buf, len, "%.1f kbit/s", bps / 1e3);
	else if (bps < 1e9)
		snprintf(buf, len, "%.1f Mbit/s", bps / 1e6);
	else
		snprintf(buf, len, "%.2f Gbit/s", bps / 1e9);
}

static void fmt_pct(double p, char *buf, size_t len)
{
	if (p > 0 && p < 0.1)
		snprintf(buf, len, "%.2f", p);
	else
		snprintf(buf, len, "%.1f", p);
}

/* A cell as people read it. */
static char *human(const struct column *c, const struct cell *v)
{
	char b[64];

	if (v->null)
		return g_strdup(c->kind == COL_TEXT ? "" : "-");
	switch (c->kind) {
	case COL_TEXT:
		return g_strdup(v->s);
	case COL_INT:
		return g_strdup_printf("%lld", (long long)v->i);
	case COL_MS:
		fmt_ms(v->d, b, sizeof b);
		return g_strdup(b);
	case COL_PCT:
		fmt_pct(v->d, b, sizeof b);
		return g_strdup(b);
	case COL_RATE:
		return g_strdup_printf(v->d < 10 ? "%.2f" : "%.1f", v->d);
	case COL_BITS:
		fmt_bits(v->d, b, sizeof b);
		return g_strdup(b);
	case COL_TIME:
		rtime_format_time(v->i, b, sizeof b);
		return g_strdup(b);
	case COL_CHANGE:
		return g_strdup_printf("%+.1f%%", v->d);
	}
	return g_strdup("?");
}

/* A cell as programs read it (CSV and JSON; NULL: missing). */
static char *raw(const struct column *c, const struct cell *v)
{
	char b[64];

	if (v->null)
		return NULL;
	switch (c->kind) {
	case COL_TEXT:
		return g_strdup(v->s);
	case COL_INT:
		return g_strdup_printf("%lld", (long long)v->i);
	case COL_TIME:
		rtime_format_iso(v->i, b, sizeof b);
		return g_strdup(b);
	case COL_MS:
	case COL_PCT:
	case COL_RATE:
	case COL_BITS:
	case COL_CHANGE: {
		/* Microsecond precision for ms, and no trailing zeros. */
		char *s = g_strdup_printf("%.6f", v->d);
		char *e = s + strlen(s) - 1;
		while (e > s && *e == '0')
			*e-- = '\0';
		if (*e == '.')
			*e = '\0';
		if (strcmp(s, "-0") == 0)
			strcpy(s, "0");
		return s;
	}
	}
	return NULL;
}

static bool right_aligned(enum col_kind k)
{
	return k != COL_TEXT && k != COL_TIME;
}

/* ----------------------------------------------------------------------
 * The three formats
 */

static void print_padded(FILE *out, const char *s, long width, bool right)
{
	long pad = width - (long)g_utf8_strlen(s, -1);

	if (right)
		for (long i = 0; i < pad; i++)
			fputc(' ', out);
	fputs(s, out);
	if (!right)
		for (long i = 0; i < pad; i++)
			fputc(' ', out);
}

static void print_table(const struct table *t, FILE *out)
{
	unsigned nc = t->cols->len, nr = t->rows->len;
	long *w = g_new0(long, nc);
	char **cells = g_new0(char *, (size_t)nc * nr);

	if (t->title)
		fprintf(out, "%s\n", t->title);
	for (unsigned i = 0; i < t->meta_keys->len; i++)
		if (strcmp(t->meta_keys->pdata[i], "title") != 0)
			fprintf(out, "%s: %s\n", (char *)t->meta_keys->pdata[i],
				(char *)t->meta_values->pdata[i]);
	if (t->title || t->meta_keys->len)
		fputc('\n', out);

	for (unsigned c = 0; c < nc; c++) {
		const struct column *col = &g_array_index(t->cols, struct column, c);
		w[c] = (long)g_utf8_strlen(col->title, -1);
	}
	for (unsigned r = 0; r < nr; r++) {
		GArray *row = t->rows->pdata[r];
		for (unsigned c = 0; c < nc && c < row->len; c++) {
			const struct column *col =
				&g_array_index(t->cols, struct column, c);
			char *s = human(col, &g_array_index(row, struct cell, c));
			cells[(size_t)r * nc + c] = s;
			long l = (long)g_utf8_strlen(s, -1);
			if (l > w[c])
				w[c] = l;
		}
	}
	if (nr == 0) {
		fprintf(out, "(no data)\n");
	} else {
		for (unsigned c = 0; c < nc; c++) {
			const struct column *col =
				&g_array_index(t->cols, struct column, c);
			if (c)
				fputs("  ", out);
			print_padded(out, col->title, c + 1 < nc ||
				     right_aligned(col->kind) ? w[c] : 0,
				     right_aligned(col->kind));
		}
		fputc('\n', out);
		for (unsigned c = 0; c < nc; c++) {
			if (c)
				fputs("  ", out);
			for (long i = 0; i < w[c]; i++)
				fputc('-', out);
		}
		fputc('\n', out);
		for (unsigned r = 0; r < nr; r++) {
			for (unsigned c = 0; c < nc; c++) {
				const struct column *col =
					&g_array_index(t->cols, struct column, c);
				const char *s = cells[(size_t)r * nc + c];
				if (c)
					fputs("  ", out);
				print_padded(out, s ? s : "", c + 1 < nc ||
					     right_aligned(col->kind) ? w[c] : 0,
					     right_aligned(col->kind));
			}
			fputc('\n', out);
		}
	}
	if (t->notes->len || t->warnings->len)
		fputc('\n', out);
	for (unsigned i = 0; i < t->notes->len; i++)
		fprintf(out, "%s\n", (char *)t->notes->pdata[i]);
	for (unsigned i = 0; i < t->warnings->len; i++)
		fprintf(out, "WARNING: %s\n", (char *)t->warnings->pdata[i]);
	for (size_t i = 0; i < (size_t)nc * nr; i++)
		g_free(cells[i]);
	g_free(cells);
	g_free(w);
}

static void csv_field(FILE *out, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void print_csv(const struct table *t, FILE *out)
{
	unsigned nc = t->cols->len;

	for (unsigned c = 0; c < nc; c++) {
		if (c)
			fputc(',', out);
		csv_field(out, g_array_index(t->cols, struct column, c).key);
	}
	fputs("\r\n", out);
	for (unsigned r = 0; r < t->rows->len; r++) {
		GArray *row = t->rows->pdata[r];
		for (unsigned c = 0; c < nc; c++) {
			if (c)
				fputc(',', out);
			if (c >= row->len)
				continue;
			char *s = raw(&g_array_index(t->cols, struct column, c),
				      &g_array_index(row, struct cell, c));
			csv_field(out, s);
			g_free(s);
		}
		fputs("\r\n", out);
	}
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

static void json_strings(FILE *out, const char *name, const GPtrArray *a)
{
	fprintf(out, ",\n  \"%s\": [", name);
	for (unsigned i = 0; i < a->len; i++) {
		if (i)
			fputs(", ", out);
		json_string(out, a->pdata[i]);
	}
	fputc(']', out);
}

static void print_json(const struct table *t, FILE *out)
{
	fputs("{\n  \"meta\": {", out);
	bool first = true;
	if (t->title) {
		fputs("\"title\": ", out);
		json_string(out, t->title);
		first = false;
	}
	for (unsigned i = 0; i < t->meta_keys->len; i++) {
		fputs(first ? "" : ", ", out);
		json_string(out, t->meta_keys->pdata[i]);
		fputs(": ", out);
		json_string(out, t->meta_values->pdata[i]);
		first = false;
	}
	fputs("},\n  \"rows\": [", out);
	for (unsigned r = 0; r < t->rows->len; r++) {
		GArray *row = t->rows->pdata[r];
		fputs(r ? ",\n    {" : "\n    {", out);
		for (unsigned c = 0; c < t->cols->len && c < row->len; c++) {
			const struct column *col =
				&g_array_index(t->cols, struct column, c);
			char *s = raw(col, &g_array_index(row, struct cell, c));
			if (c)
				fputs(", ", out);
			json_string(out, col->key);
			fputs(": ", out);
			if (!s)
				fputs("null", out);
			else if (col->kind == COL_TEXT || col->kind == COL_TIME)
				json_string(out, s);
			else
				fputs(s, out);
			g_free(s);
		}
		fputc('}', out);
	}
	fputs(t->rows->len ? "\n  ]" : "]", out);
	json_strings(out, "notes", t->notes);
	json_strings(out, "warnings", t->warnings);
	fputs("\n}\n", out);
}

int table_print(const struct table *t, enum out_format f, FILE *out)
{
	switch (f) {
	case OUT_TABLE:
		print_table(t, out);
		break;
	case OUT_CSV:
		print_csv(t, out);
		break;
	case OUT_JSON:
		print_json(t, out);
		break;
	}
	if (f != OUT_TABLE)
		for (unsigned i = 0; i < t->warnings->len; i++)
			fprintf(stderr, "artmon-report: warning: %s\n",
				(char *)t->warnings->pdata[i]);
	fflush(out);
	return ferror(out) ? -1 : 0;
}
