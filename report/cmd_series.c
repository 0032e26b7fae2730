/*
 * cmd_series.c: `artmon-report series`: what the filters select (one
 * signature, one server, or whatever matches, merged), step by step:
 * transactions, errors, and the response times, with text sparklines on
 * a terminal, so "when did it get slow" is one look.
 *
 * Every step of the range gets a row, quiet ones too (no transactions:
 * an outage looks like one).  Each step merges the rows that started in
 * it; level-2 rows are used only when they are no longer than the step
 * (rq_resolution), so a 5-minute step reads level 1 and a 1-hour step
 * may read level-2 hours.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "rtime.h"

#define MAX_STEPS 20000

/* U+2581..U+2588, lower one eighth block to full block. */
static const char *const blocks[8] = {
	"\u2581", "\u2582", "\u2583", "\u2584",
	"\u2585", "\u2586", "\u2587", "\u2588",
};

/* One line of blocks scaled from 0 (or the minimum) to the maximum. */
static char *sparkline(const double *v, unsigned n)
{
	double lo = INFINITY, hi = -INFINITY;
	GString *s = g_string_new(NULL);

	for (unsigned i = 0; i < n; i++)
		if (!isnan(v[i])) {
			lo = MIN(lo, v[i]);
			hi = MAX(hi, v[i]);
		}
	for (unsigned i = 0; i < n; i++) {
		if (isnan(v[i])) {
			g_string_append_c(s, ' ');
			continue;
		}
		int b = hi > lo ? (int)((v[i] - lo) / (hi - lo) * 7.0 + 0.5) : 0;
		g_string_append(s, blocks[CLAMP(b, 0, 7)]);
	}
	return g_string_free(s, FALSE);
}

static void spark_note(struct table *t, const char *name, const double *v,
		       unsigned n, const int64_t *times, const char *unit)
{
	unsigned imax = 0;
	bool any = false;

	for (unsigned i = 0; i < n; i++)
		if (!isnan(v[i]) && (!any || v[i] > v[imax])) {
			imax = i;
			any = true;
		}
	if (!any)
		return;
	g_autofree gchar *line = sparkline(v, n);
	char when[40], val[32];
	rtime_format_time_short(times[imax], times[0], when, sizeof when);
	if (strcmp(unit, "ms") == 0)
		fmt_ms(v[imax], val, sizeof val);
	else
		snprintf(val, sizeof val, "%.4g", v[imax]);
	table_note(t, "%-12s %s  max %s %s at %s", name, line, val, unit, when);
}

int cmd_series(struct rq *q, struct cmd_opts *o)
{
	GError *err = NULL;
	bool ttlb;
	int64_t step = o->step ? o->step : rtime_auto_step(q->to - q->from, 100);

	metric_is_ttlb(o->metric, &ttlb);
	int64_t first = rtime_floor(q->from, step);
	int64_t nsteps = (q->to - first + step - 1) / step;
	if (nsteps > MAX_STEPS) {
		g_set_error(&err, REPORT_ERROR, REPORT_ERR_USAGE,
			    "%lld steps: more than %d; take a larger --step",
			    (long long)nsteps, MAX_STEPS);
		return report_fail(err);
	}
	int res = rq_resolution(q, step);
	GPtrArray *g = report_aggregate(q, GROUP_TIME, q->from, q->to, step,
					res, &err);
	if (!g)
		return report_fail(err);
	struct table *t = report_table(q, q->from, q->to, res, &err);
	if (!t) {
		g_ptr_array_free(g, TRUE);
		return report_fail(err);
	}
	char span[32];
	rtime_format_span(step, span, sizeof span);
	table_meta(t, "step", span);

	table_col(t, "start", "start", COL_TIME);
	table_col(t, "transactions", "txns", COL_INT);
	table_col(t, "errors", "errors", COL_INT);
	table_col(t, "error_pct", "err%", COL_PCT);
	table_col(t, "rtt_avg_ms", "rtt", COL_MS);
	table_col(t, "ttfb_avg_ms", "ttfb avg", COL_MS);
	table_col(t, "ttfb_p50_ms", "p50", COL_MS);
	table_col(t, "ttfb_p95_ms", "p95", COL_MS);
	table_col(t, "ttfb_p99_ms", "p99", COL_MS);
	table_col(t, "ttlb_avg_ms", "ttlb avg", COL_MS);
	table_col(t, "ttlb_p95_ms", "p95", COL_MS);

	double *txv = g_new(double, (size_t)nsteps);
	double *erv = g_new(double, (size_t)nsteps);
	double *p50 = g_new(double, (size_t)nsteps);
	double *p95 = g_new(double, (size_t)nsteps);
	int64_t *ts = g_new(int64_t, (size_t)nsteps);
	unsigned gi = 0, n = 0;
	int64_t sigs = 0;
	for (int64_t s = first; s < q->to; s += step, n++) {
		const struct agg *a = NULL;
		while (gi < g->len && ((struct agg *)g->pdata[gi])->t < s)
			gi++;
		if (gi < g->len && ((struct agg *)g->pdata[gi])->t == s)
			a = g->pdata[gi];
		ts[n] = s;
		table_row(t);
		table_int(t, s);
		if (!a) {
			table_int(t, 0);
			table_int(t, 0);
			for (int i = 0; i < 8; i++)
				table_null(t);
			txv[n] = 0;
			erv[n] = p50[n] = p95[n] = NAN;
			continue;
		}
		sigs = MAX(sigs, a->signatures);
		const struct hist *h = ttlb ? &a->ttlb : &a->ttfb;
		table_int(t, a->transactions);
		table_int(t, a->errors);
		table_num(t, agg_err_pct(a));
		table_num(t, agg_avg_ms(a->rtt_sum, a->rtt_count));
		table_num(t, agg_avg_ms(a->ttfb_sum, a->ttfb_count));
		table_num(t, agg_pct_ms(&a->ttfb, 0.50));
		table_num(t, agg_pct_ms(&a->ttfb, 0.95));
		table_num(t, agg_pct_ms(&a->ttfb, 0.99));
		table_num(t, agg_avg_ms(a->ttlb_sum, a->ttlb_count));
		table_num(t, agg_pct_ms(&a->ttlb, 0.95));
		txv[n] = (double)a->transactions;
		erv[n] = agg_err_pct(a);
		p50[n] = agg_pct_ms(h, 0.50);
		p95[n] = agg_pct_ms(h, 0.95);
	}
	bool spark = !o->no_spark && q->fmt == OUT_TABLE &&
		     (o->spark || isatty(STDOUT_FILENO));
	if (spark && n > 0) {
		spark_note(t, "transactions", txv, n, ts, "per step");
		spark_note(t, "errors %", erv, n, ts, "%");
		spark_note(t, ttlb ? "ttlb p50" : "ttfb p50", p50, n, ts, "ms");
		spark_note(t, ttlb ? "ttlb p95" : "ttfb p95", p95, n, ts, "ms");
	}
	if (sigs > 1)
		table_note(t, "Each step merges up to %lld signatures: narrow "
			   "it with --signature or --server.", (long long)sigs);
	g_free(txv);
	g_free(erv);
	g_free(p50);
	g_free(p95);
	g_free(ts);
	g_ptr_array_free(g, TRUE);
	int rc = report_print(q, t);
	table_free(t);
	return rc;
}
