/*
 * cmd_compare.c: `artmon-report compare`: two periods side by side (say,
 * the day before an upgrade and the day after), per signature and for
 * everything together, with the change of each percentile.
 *
 * The range is the period after; the period before is --vs-from/--vs-to,
 * or the range shifted back by --shift (default: its own length, the
 * period just before).  The two may differ in length: transactions are
 * compared as counts, times as percentiles, which do not depend on it.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "rtime.h"

struct pair {
	const struct agg *a, *b;	/* before, after; either may be NULL */
	const char *protocol, *signature;
};

static gint by_after_then_before(gconstpointer x, gconstpointer y)
{
	const struct pair *p = x, *q = y;
	int64_t pa = p->b ? p->b->transactions : 0;
	int64_t qa = q->b ? q->b->transactions : 0;
	if (pa != qa)
		return pa > qa ? -1 : 1;
	int64_t pb = p->a ? p->a->transactions : 0;
	int64_t qb = q->a ? q->a->transactions : 0;
	if (pb != qb)
		return pb > qb ? -1 : 1;
	int c = strcmp(p->protocol, q->protocol);
	return c ? c : strcmp(p->signature, q->signature);
}

static double change(double before, double after)
{
	if (isnan(before) || isnan(after) || before <= 0)
		return NAN;
	return (after - before) / before * 100.0;
}

static void add_row(struct table *t, const struct pair *p, bool ttlb)
{
	static const double qs[3] = { 0.50, 0.95, 0.99 };

	table_row(t);
	table_text(t, p->protocol);
	table_text(t, p->signature);
	table_int(t, p->a ? p->a->transactions : 0);
	table_int(t, p->b ? p->b->transactions : 0);
	table_num(t, p->a ? agg_err_pct(p->a) : NAN);
	table_num(t, p->b ? agg_err_pct(p->b) : NAN);
	for (int i = 0; i < 3; i++) {
		double x = p->a ? agg_pct_ms(ttlb ? &p->a->ttlb : &p->a->ttfb,
					     qs[i])
				: NAN;
		double y = p->b ? agg_pct_ms(ttlb ? &p->b->ttlb : &p->b->ttfb,
					     qs[i])
				: NAN;
		table_num(t, x);
		table_num(t, y);
		table_num(t, change(x, y));
	}
}

int cmd_compare(struct rq *q, struct cmd_opts *o)
{
	GError *err = NULL;
	bool ttlb;
	int64_t bf = o->vs_from, bt = o->vs_to;
	int res = rq_resolution(q, 86400);

	metric_is_ttlb(o->metric, &ttlb);
	if (!bf && !bt) {
		int64_t shift = o->shift ? o->shift : q->to - q->from;
		bf = q->from - shift;
		bt = q->to - shift;
	}
	GPtrArray *before = rq_aggregate(q, GROUP_SIGNATURE, bf, bt, 0, res,
					 &err);
	GPtrArray *after = before ? rq_aggregate(q, GROUP_SIGNATURE, q->from,
						 q->to, 0, res, &err)
				  : NULL;
	GPtrArray *tb = after ? rq_aggregate(q, GROUP_TOTAL, bf, bt, 0, res,
					     &err)
			      : NULL;
	GPtrArray *ta = tb ? rq_aggregate(q, GROUP_TOTAL, q->from, q->to, 0,
					  res, &err)
			   : NULL;
	struct table *t = NULL;
	GArray *pairs = NULL;
	char *brange = NULL, *bsrc = NULL;
	int rc;

	if (!ta)
		goto fail;
	if (before->len == 0 && after->len == 0 &&
	    rq_check_filters(q, &err) != 0)
		goto fail;
	t = report_table(q, q->from, q->to, res, &err);
	if (!t)
		goto fail;
	brange = rq_range_text(bf, bt);
	bsrc = rq_sources(q, bf, bt, res, &err);
	if (!bsrc)
		goto fail;
	table_meta(t, "before", brange);
	table_meta(t, "before sources", bsrc);

	/* Both lists are ordered by (protocol, signature): merge them. */
	pairs = g_array_new(FALSE, TRUE, sizeof(struct pair));
	unsigned i = 0, j = 0;
	while (i < before->len || j < after->len) {
		const struct agg *a = i < before->len ? before->pdata[i] : NULL;
		const struct agg *b = j < after->len ? after->pdata[j] : NULL;
		int c = !a ? 1 : !b ? -1 : strcmp(a->key1, b->key1);
		if (c == 0)
			c = strcmp(a->key2, b->key2);
		struct pair p = { c <= 0 ? a : NULL, c >= 0 ? b : NULL,
				  c <= 0 ? a->key1 : b->key1,
				  c <= 0 ? a->key2 : b->key2 };
		g_array_append_val(pairs, p);
		i += c <= 0;
		j += c >= 0;
	}
	g_array_sort(pairs, by_after_then_before);

	const char *m = ttlb ? "ttlb" : "ttfb";
	char key[40], title[40];
	table_col(t, "protocol", "protocol", COL_TEXT);
	table_col(t, "signature", "signature", COL_TEXT);
	table_col(t, "transactions_before", "txns before", COL_INT);
	table_col(t, "transactions_after", "after", COL_INT);
	table_col(t, "error_pct_before", "err% before", COL_PCT);
	table_col(t, "error_pct_after", "after", COL_PCT);
	static const char *const ps[3] = { "p50", "p95", "p99" };
	for (int k = 0; k < 3; k++) {
		snprintf(key, sizeof key, "%s_%s_ms_before", m, ps[k]);
		snprintf(title, sizeof title, "%s %s before", m, ps[k]);
		table_col(t, key, title, COL_MS);
		snprintf(key, sizeof key, "%s_%s_ms_after", m, ps[k]);
		table_col(t, key, "after", COL_MS);
		snprintf(key, sizeof key, "%s_%s_change_pct", m, ps[k]);
		table_col(t, key, "change", COL_CHANGE);
	}
	struct pair all = { tb->len ? tb->pdata[0] : NULL,
			    ta->len ? ta->pdata[0] : NULL, "*", "(all)" };
	add_row(t, &all, ttlb);
	for (unsigned k = 0; k < pairs->len; k++) {
		if (o->count > 0 && k >= (unsigned)o->count)
			break;
		add_row(t, &g_array_index(pairs, struct pair, k), ttlb);
	}
	table_note(t, "Times in milliseconds; change is after against before.  "
		   "Percentiles are within 4.8%%, so a change under about "
		   "10%% may be the bucket's width.");
	rc = report_print(q, t);
	goto out;
fail:
	rc = report_fail(err);
out:
	g_free(brange);
	g_free(bsrc);
	if (pairs)
		g_array_free(pairs, TRUE);
	table_free(t);
	if (before)
		g_ptr_array_free(before, TRUE);
	if (after)
		g_ptr_array_free(after, TRUE);
	if (tb)
		g_ptr_array_free(tb, TRUE);
	if (ta)
		g_ptr_array_free(ta, TRUE);
	return rc;
}
