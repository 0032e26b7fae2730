/*
 * summary_types.c: names, freeing and merging of summary rows.
 */
#include "config.h"

#include <glib.h>

#include "summary_types.h"

const char *const summary_metric_names[SM_NMETRICS] = {
	[SM_REQUEST_US] = "request_us",
	[SM_TTFB_US] = "ttfb_us",
	[SM_TTLB_US] = "ttlb_us",
	[SM_HANDSHAKE_RTT_US] = "handshake_rtt_us",
	[SM_CLIENT_ACK_US] = "client_ack_us",
	[SM_REQUEST_BYTES] = "request_bytes",
	[SM_RESPONSE_BYTES] = "response_bytes",
	[SM_REQUEST_PACKETS] = "request_packets",
	[SM_SERVER_PACKETS] = "server_packets",
	[SM_SERVER_PKT_BYTES] = "server_pkt_bytes",
	[SM_SERVER_MSS] = "server_mss",
	[SM_SERVER_WINDOW] = "server_window",
};

const char *const summary_count_names[SC_NCOUNTS] = {
	[SC_TRANSACTIONS] = "transactions",
	[SC_ERRORS] = "errors",
	[SC_RETRANSMISSIONS] = "retransmissions",
	[SC_TIMEOUTS] = "timeouts",
	[SC_GAPS] = "gaps",
	[SC_MIDSTREAM] = "midstream",
	[SC_ORPHANS] = "orphan_responses",
	[SC_RETRIES] = "retries",
};

void summary_row_free(struct summary_row *r)
{
	if (!r)
		return;
	g_free(r->protocol);
	g_free(r->signature);
	hist_clear(&r->ttfb_hist);
	hist_clear(&r->ttlb_hist);
	g_free(r);
}

void summary_batch_free(struct summary_batch *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < b->nrows; i++)
		summary_row_free(b->rows[i]);
	g_free(b->rows);
	g_free(b->health);
	g_free(b);
}

void summary_row_merge(struct summary_row *dst, const struct summary_row *src)
{
	for (int c = 0; c < SC_NCOUNTS; c++)
		dst->counts[c] += src->counts[c];
	for (int i = 0; i < SM_NMETRICS; i++) {
		const struct metric_agg *s = &src->m[i];
		struct metric_agg *d = &dst->m[i];
		if (s->count == 0)
			continue;
		if (d->count == 0 || s->min < d->min)
			d->min = s->min;
		if (d->count == 0 || s->max > d->max)
			d->max = s->max;
		d->count += s->count;
		d->sum += s->sum;
	}
	hist_merge(&dst->ttfb_hist, &src->ttfb_hist);
	hist_merge(&dst->ttlb_hist, &src->ttlb_hist);
}
