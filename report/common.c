/*
 * common.c: what the subcommands of artmon-report share (commands.h):
 * the table's title and sources line, printing it, and turning an error
 * into a one-line message and an exit code.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "rtime.h"

int report_fail(GError *err)
{
	int rc = err && err->domain == REPORT_ERROR &&
			 err->code == REPORT_ERR_USAGE
		 ? EXIT_USAGE : EXIT_FAIL;
	fprintf(stderr, "artmon-report: %s\n", err ? err->message : "failed");
	g_clear_error(&err);
	return rc;
}

GPtrArray *report_aggregate(const struct rq *q, enum group_by by,
			    int64_t from, int64_t to, int64_t step, int res,
			    GError **err)
{
	GPtrArray *g = rq_aggregate(q, by, from, to, step, res, err);

	if (g && g->len == 0 && rq_check_filters(q, err) != 0) {
		g_ptr_array_free(g, TRUE);
		return NULL;
	}
	return g;
}

struct table *report_table(const struct rq *q, int64_t from, int64_t to,
			   int resolution, GError **err)
{
	g_autofree gchar *range = rq_range_text(from, to);
	g_autofree gchar *filt = rq_filter_text(q);
	g_autofree gchar *src = rq_sources(q, from, to, resolution, err);
	char a[40], b[40];

	if (!src)
		return NULL;
	struct table *t = table_new();
	table_title(t, "artmon %s: %s%s", q->cmd, range, filt);
	rtime_format_iso(from, a, sizeof a);
	rtime_format_iso(to, b, sizeof b);
	table_meta(t, "from", a);
	table_meta(t, "to", b);
	table_meta(t, "sources", src);
	return t;
}

int report_print(const struct rq *q, struct table *t)
{
	int rc = table_print(t, q->fmt, stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	if (rc != EXIT_OK)
		fprintf(stderr, "artmon-report: writing the output failed\n");
	return rc;
}

bool metric_is_ttlb(const char *metric, bool *ttlb)
{
	*ttlb = false;
	if (!metric || strcmp(metric, "ttfb") == 0)
		return true;
	if (strcmp(metric, "ttlb") == 0) {
		*ttlb = true;
		return true;
	}
	return false;
}
