/*
 * summary_output.c: prints summary batches (see summary_output.h).
 *
 * CSV carries two kinds of record in one stream, so every line starts with
 * its kind: "summary" or "health".  The two header lines come first and
 * start with "#summary" and "#health".  A count-0 metric has empty
 * min/max.  Histograms are "bucket:count" pairs joined by ';' (bucket rule
 * in lib/hist.h); top clients are "address/transactions/error" joined by
 * ';'.  JSON lines carry the same fields with "type" for the kind.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "decode.h"
#include "summary_output.h"

void summary_printer_init(struct summary_printer *p, FILE *out,
			  enum txn_format f)
{
	p->out = out;
	p->format = f;
	p->header_done = false;
}

static void csv_headers(GString *b)
{
	g_string_append(b, "#summary,interval_start,interval_secs,protocol,"
			   "signature,server_addr,server_port");
	for (int c = 0; c < SC_NCOUNTS; c++)
		g_string_append_printf(b, ",%s", summary_count_names[c]);
	for (int m = 0; m < SM_NMETRICS; m++) {
		const char *n = summary_metric_names[m];
		g_string_append_printf(b, ",%s_count,%s_min,%s_max,%s_sum", n, n,
				       n, n);
	}
	g_string_append(b, ",ttfb_hist,ttlb_hist,late\n");
	g_string_append(b, "#health,interval_start,interval_secs,packets,bytes,"
			   "kernel_drops,iface_drops,malformed,flows_active,"
			   "flows_created,flows_evicted,gaps,transactions,"
			   "clients_distinct,clients_estimated,"
			   "client_ports_distinct,conn_per_sec_min,"
			   "conn_per_sec_avg,conn_per_sec_max,output_dropped,"
			   "spool_dropped,top_clients\n");
}

static void hist_csv(GString *b, const struct hist *h)
{
	for (unsigned i = 0; i < h->n; i++)
		g_string_append_printf(b, "%s%u:%" PRIu64, i ? ";" : "",
				       h->bucket[i], h->count[i]);
}

static void hist_json(GString *b, const struct hist *h)
{
	g_string_append_c(b, '{');
	for (unsigned i = 0; i < h->n; i++)
		g_string_append_printf(b, "%s\"%u\":%" PRIu64, i ? "," : "",
				       h->bucket[i], h->count[i]);
	g_string_append_c(b, '}');
}

static void row_csv(GString *b, const struct summary_row *r, bool late)
{
	char addr[64];

	g_string_append_printf(b, "summary,%" PRId64 ",%u,", r->interval_start,
			       r->interval_secs);
	csv_field(b, r->protocol);
	g_string_append_c(b, ',');
	csv_field(b, r->signature);
	g_string_append_printf(b, ",%s,%u",
			       ipaddr_str((const struct ipaddr *)r->server_addr,
					  r->family, addr, sizeof addr),
			       r->server_port);
	for (int c = 0; c < SC_NCOUNTS; c++)
		g_string_append_printf(b, ",%" PRIu64, r->counts[c]);
	for (int m = 0; m < SM_NMETRICS; m++) {
		const struct metric_agg *a = &r->m[m];
		if (a->count)
			g_string_append_printf(b, ",%" PRIu64 ",%" PRIu64
					       ",%" PRIu64 ",%" PRIu64, a->count,
					       a->min, a->max, a->sum);
		else
			g_string_append(b, ",0,,,0");
	}
	g_string_append_c(b, ',');
	hist_csv(b, &r->ttfb_hist);
	g_string_append_c(b, ',');
	hist_csv(b, &r->ttlb_hist);
	g_string_append_printf(b, ",%d\n", late);
}

static void row_json(GString *b, const struct summary_row *r, bool late)
{
	char addr[64];

	g_string_append_printf(b, "{\"type\":\"summary\",\"interval_start\":%"
			       PRId64 ",\"interval_secs\":%u,\"protocol\":",
			       r->interval_start, r->interval_secs);
	json_string(b, r->protocol);
	g_string_append(b, ",\"signature\":");
	json_string(b, r->signature);
	g_string_append_printf(b, ",\"server_addr\":\"%s\",\"server_port\":%u",
			       ipaddr_str((const struct ipaddr *)r->server_addr,
					  r->family, addr, sizeof addr),
			       r->server_port);
	for (int c = 0; c < SC_NCOUNTS; c++)
		g_string_append_printf(b, ",\"%s\":%" PRIu64,
				       summary_count_names[c], r->counts[c]);
	for (int m = 0; m < SM_NMETRICS; m++) {
		const struct metric_agg *a = &r->m[m];
		const char *n = summary_metric_names[m];
		g_string_append_printf(b, ",\"%s_count\":%" PRIu64
				       ",\"%s_sum\":%" PRIu64, n, a->count, n,
				       a->sum);
		if (a->count)
			g_string_append_printf(b, ",\"%s_min\":%" PRIu64
					       ",\"%s_max\":%" PRIu64, n, a->min,
					       n, a->max);
		else
			g_string_append_printf(b, ",\"%s_min\":null,\"%s_max\":null",
					       n, n);
	}
	g_string_append(b, ",\"ttfb_hist\":");
	hist_json(b, &r->ttfb_hist);
	g_string_append(b, ",\"ttlb_hist\":");
	hist_json(b, &r->ttlb_hist);
	g_string_append_printf(b, ",\"late\":%s}\n", late ? "true" : "false");
}

static void health_fields(GString *b, const struct health_row *h,
			  const char *sep, bool json)
{
	const struct {
		const char *name;
		uint64_t v;
	} f[] = {
		{ "packets", h->packets },
		{ "bytes", h->bytes },
		{ "kernel_drops", h->kernel_drops },
		{ "iface_drops", h->iface_drops },
		{ "malformed", h->malformed },
		{ "flows_active", h->flows_active },
		{ "flows_created", h->flows_created },
		{ "flows_evicted", h->flows_evicted },
		{ "gaps", h->gaps },
		{ "transactions", h->transactions },
		{ "clients_distinct", h->clients_distinct },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
		if (json)
			g_string_append_printf(b, ",\"%s\":", f[i].name);
		else
			g_string_append(b, sep);
		g_string_append_printf(b, "%" PRIu64, f[i].v);
	}
}

static void top_clients(GString *b, const struct health_row *h, bool json)
{
	char addr[64];

	for (unsigned i = 0; i < h->ntop; i++) {
		const struct top_client *t = &h->top[i];
		ipaddr_str((const struct ipaddr *)t->addr, t->family, addr,
			   sizeof addr);
		if (json)
			g_string_append_printf(b, "%s{\"addr\":\"%s\",\"transactions\":%"
					       PRIu64 ",\"error_bound\":%" PRIu64 "}",
					       i ? "," : "", addr, t->transactions,
					       t->error_bound);
		else
			g_string_append_printf(b, "%s%s/%" PRIu64 "/%" PRIu64,
					       i ? ";" : "", addr, t->transactions,
					       t->error_bound);
	}
}

static void health_csv(GString *b, const struct health_row *h)
{
	g_string_append_printf(b, "health,%" PRId64 ",%u", h->interval_start,
			       h->interval_secs);
	health_fields(b, h, ",", false);
	g_string_append_printf(b, ",%d,%" PRIu64 ",%u,%.3f,%u,%" PRIu64 ",%"
			       PRIu64 ",", h->clients_estimated,
			       h->client_ports_distinct, h->conn_per_sec_min,
			       h->conn_per_sec_avg, h->conn_per_sec_max,
			       h->output_dropped, h->spool_dropped);
	top_clients(b, h, false);
	g_string_append_c(b, '\n');
}

static void health_json(GString *b, const struct health_row *h)
{
	g_string_append_printf(b, "{\"type\":\"health\",\"interval_start\":%"
			       PRId64 ",\"interval_secs\":%u", h->interval_start,
			       h->interval_secs);
	health_fields(b, h, NULL, true);
	g_string_append_printf(b, ",\"clients_estimated\":%s,"
			       "\"client_ports_distinct\":%" PRIu64
			       ",\"conn_per_sec_min\":%u,\"conn_per_sec_avg\":%.3f,"
			       "\"conn_per_sec_max\":%u,\"output_dropped\":%" PRIu64
			       ",\"spool_dropped\":%" PRIu64 ",\"top_clients\":[",
			       h->clients_estimated ? "true" : "false",
			       h->client_ports_distinct, h->conn_per_sec_min,
			       h->conn_per_sec_avg, h->conn_per_sec_max,
			       h->output_dropped, h->spool_dropped);
	top_clients(b, h, true);
	g_string_append(b, "]}\n");
}

void summary_format(struct summary_printer *p, const struct summary_batch *b,
		    GString *buf)
{
	bool json = p->format == TXN_FORMAT_JSON;

	if (!json && !p->header_done) {
		csv_headers(buf);
		p->header_done = true;
	}
	for (unsigned i = 0; i < b->nrows; i++) {
		if (json)
			row_json(buf, b->rows[i], b->late);
		else
			row_csv(buf, b->rows[i], b->late);
	}
	if (b->health) {
		if (json)
			health_json(buf, b->health);
		else
			health_csv(buf, b->health);
	}
}

void summary_printer_consume(void *ctx, const struct summary_batch *b)
{
	struct summary_printer *p = ctx;
	GString *buf = g_string_sized_new(4096);

	summary_format(p, b, buf);
	fwrite(buf->str, 1, buf->len, p->out);
	fflush(p->out);
	g_string_free(buf, TRUE);
}
