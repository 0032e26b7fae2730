/*
 * cmd_summary.c: `artmon-report summary`: per protocol and signature,
 * transactions, errors, and the times that tell the network from the
 * server: the handshake round trip (the network), time to first byte
 * (the server's think time plus a round trip) and to last byte, each
 * as a mean and the 50th, 95th and 99th percentiles.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

static gint by_protocol_then_busiest(gconstpointer x, gconstpointer y)
{
	const struct agg *a = *(struct agg *const *)x;
	const struct agg *b = *(struct agg *const *)y;
	int c = strcmp(a->key1, b->key1);
	if (c)
		return c;
	if (a->transactions != b->transactions)
		return a->transactions > b->transactions ? -1 : 1;
	return strcmp(a->key2, b->key2);
}

int cmd_summary(struct rq *q, struct cmd_opts *o)
{
	GError *err = NULL;
	int res = rq_resolution(q, 86400);
	(void)o;

	GPtrArray *g = report_aggregate(q, GROUP_SIGNATURE, q->from, q->to, 0,
					res, &err);
	if (!g)
		return report_fail(err);
	struct table *t = report_table(q, q->from, q->to, res, &err);
	if (!t) {
		g_ptr_array_free(g, TRUE);
		return report_fail(err);
	}
	g_ptr_array_sort(g, by_protocol_then_busiest);

	table_col(t, "protocol", "protocol", COL_TEXT);
	table_col(t, "signature", "signature", COL_TEXT);
	table_col(t, "transactions", "txns", COL_INT);
	table_col(t, "errors", "errors", COL_INT);
	table_col(t, "error_pct", "err%", COL_PCT);
	table_col(t, "rtt_avg_ms", "rtt", COL_MS);
	table_col(t, "ttfb_avg_ms", "ttfb avg", COL_MS);
	table_col(t, "ttfb_p50_ms", "p50", COL_MS);
	table_col(t, "ttfb_p95_ms", "p95", COL_MS);
	table_col(t, "ttfb_p99_ms", "p99", COL_MS);
	table_col(t, "ttlb_avg_ms", "ttlb avg", COL_MS);
	table_col(t, "ttlb_p50_ms", "p50", COL_MS);
	table_col(t, "ttlb_p95_ms", "p95", COL_MS);
	table_col(t, "ttlb_p99_ms", "p99", COL_MS);
	int64_t txns = 0, errs = 0;
	for (unsigned i = 0; i < g->len; i++) {
		const struct agg *a = g->pdata[i];
		table_row(t);
		table_text(t, a->key1);
		table_text(t, a->key2);
		table_int(t, a->transactions);
		table_int(t, a->errors);
		table_num(t, agg_err_pct(a));
		table_num(t, agg_avg_ms(a->rtt_sum, a->rtt_count));
		table_num(t, agg_avg_ms(a->ttfb_sum, a->ttfb_count));
		table_num(t, agg_pct_ms(&a->ttfb, 0.50));
		table_num(t, agg_pct_ms(&a->ttfb, 0.95));
		table_num(t, agg_pct_ms(&a->ttfb, 0.99));
		table_num(t, agg_avg_ms(a->ttlb_sum, a->ttlb_count));
		table_num(t, agg_pct_ms(&a->ttlb, 0.50));
		table_num(t, agg_pct_ms(&a->ttlb, 0.95));
		table_num(t, agg_pct_ms(&a->ttlb, 0.99));
		txns += a->transactions;
		errs += a->errors;
	}
	table_note(t, "Times in milliseconds.  rtt: TCP handshake round trip "
		   "(the network); ttfb: request's end to the response's "
		   "first byte (the server); ttlb: to its last byte.  "
		   "Percentiles are within 4.8%%.");
	table_note(t, "%u signatures, %lld transactions, %lld errors.", g->len,
		   (long long)txns, (long long)errs);
	g_ptr_array_free(g, TRUE);
	int rc = report_print(q, t);
	table_free(t);
	return rc;
}
