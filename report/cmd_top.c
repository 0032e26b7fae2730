/*
 * cmd_top.c: `artmon-report top`: the N slowest, busiest or most
 * failing signatures (or servers, --servers) of the range.
 *
 * Slowest ranks by a percentile of ttfb or ttlb (--percentile, default
 * the 95th: a mean hides the slow tail users complain about); ties
 * break by transactions.  Busiest ranks by transactions, failing by
 * errors (then by error rate).  Every group of the range is merged
 * first, then ranked here: ranking needs each group's percentile.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

enum rank { RANK_SLOWEST, RANK_BUSIEST, RANK_FAILING };

struct ranked {
	const struct agg *a;
	double key;		/* higher ranks first */
};

static gint by_key(gconstpointer x, gconstpointer y)
{
	const struct ranked *a = x, *b = y;
	if (a->key != b->key)
		return a->key > b->key ? -1 : 1;
	if (a->a->transactions != b->a->transactions)
		return a->a->transactions > b->a->transactions ? -1 : 1;
	return 0;
}

int cmd_top(struct rq *q, struct cmd_opts *o)
{
	GError *err = NULL;
	enum rank how = RANK_SLOWEST;
	bool ttlb;
	int res = rq_resolution(q, 86400);
	double pq = o->percentile / 100.0;

	if (o->by && strcmp(o->by, "busiest") == 0)
		how = RANK_BUSIEST;
	else if (o->by && strcmp(o->by, "failing") == 0)
		how = RANK_FAILING;
	else if (o->by && strcmp(o->by, "slowest") != 0) {
		g_set_error(&err, REPORT_ERROR, REPORT_ERR_USAGE,
			    "--by %s: slowest, busiest or failing", o->by);
		return report_fail(err);
	}
	metric_is_ttlb(o->metric, &ttlb);

	GPtrArray *g = report_aggregate(q, o->servers ? GROUP_SERVER
						      : GROUP_SIGNATURE,
					q->from, q->to, 0, res, &err);
	if (!g)
		return report_fail(err);
	GArray *rk = g_array_new(FALSE, TRUE, sizeof(struct ranked));
	for (unsigned i = 0; i < g->len; i++) {
		struct ranked r = { g->pdata[i], 0 };
		if (how == RANK_BUSIEST)
			r.key = (double)r.a->transactions;
		else if (how == RANK_FAILING)
			r.key = (double)r.a->errors +
				(isnan(agg_err_pct(r.a)) ? 0
							 : agg_err_pct(r.a) / 1000);
		else
			r.key = agg_pct_ms(ttlb ? &r.a->ttlb : &r.a->ttfb, pq);
		if (isnan(r.key))
			r.key = -1;
		if (how == RANK_FAILING && r.a->errors == 0)
			continue;
		g_array_append_val(rk, r);
	}
	g_array_sort(rk, by_key);

	struct table *t = report_table(q, q->from, q->to, res, &err);
	if (!t) {
		g_array_free(rk, TRUE);
		g_ptr_array_free(g, TRUE);
		return report_fail(err);
	}
	char pcol[32], pkey[32];
	snprintf(pcol, sizeof pcol, "%s p%g", ttlb ? "ttlb" : "ttfb",
		 o->percentile);
	snprintf(pkey, sizeof pkey, "%s_p%g_ms", ttlb ? "ttlb" : "ttfb",
		 o->percentile);
	for (char *p = pkey; *p; p++)
		if (*p == '.')
			*p = '_';
	table_col(t, "rank", "#", COL_INT);
	if (o->servers) {
		table_col(t, "server", "server", COL_TEXT);
		table_col(t, "port", "port", COL_INT);
		table_col(t, "signatures", "sigs", COL_INT);
	} else {
		table_col(t, "protocol", "protocol", COL_TEXT);
		table_col(t, "signature", "signature", COL_TEXT);
	}
	table_col(t, "transactions", "txns", COL_INT);
	table_col(t, "errors", "errors", COL_INT);
	table_col(t, "error_pct", "err%", COL_PCT);
	table_col(t, ttlb ? "ttlb_avg_ms" : "ttfb_avg_ms",
		  ttlb ? "ttlb avg" : "ttfb avg", COL_MS);
	table_col(t, pkey, pcol, COL_MS);
	table_col(t, ttlb ? "ttlb_p99_ms" : "ttfb_p99_ms", "p99", COL_MS);
	for (unsigned i = 0; i < rk->len && i < (unsigned)o->count; i++) {
		const struct agg *a = g_array_index(rk, struct ranked, i).a;
		const struct hist *h = ttlb ? &a->ttlb : &a->ttfb;
		table_row(t);
		table_int(t, i + 1);
		table_text(t, a->key1);
		if (o->servers) {
			table_int(t, a->port);
			table_int(t, a->signatures);
		} else {
			table_text(t, a->key2);
		}
		table_int(t, a->transactions);
		table_int(t, a->errors);
		table_num(t, agg_err_pct(a));
		table_num(t, ttlb ? agg_avg_ms(a->ttlb_sum, a->ttlb_count)
				  : agg_avg_ms(a->ttfb_sum, a->ttfb_count));
		table_num(t, agg_pct_ms(h, pq));
		table_num(t, agg_pct_ms(h, 0.99));
	}
	table_note(t, "Ranked by %s; %u %s in the range.",
		   how == RANK_BUSIEST ? "transactions"
		   : how == RANK_FAILING ? "errors, then error rate"
					 : pcol,
		   g->len, o->servers ? "servers" : "signatures");
	g_array_free(rk, TRUE);
	g_ptr_array_free(g, TRUE);
	int rc = report_print(q, t);
	table_free(t);
	return rc;
}
