/*
 * cmd_health.c: `artmon-report health`: is the sensor seeing everything?
 * Per sensor and step: packets and bits per second, drops, malformed
 * frames, flows, distinct clients, connections per second, and how
 * much of the step the sensor reported at all; then warnings when drops,
 * lost batches or a full flow table make the numbers doubtful.
 *
 * Rates are over the seconds the sensor's records cover (covered_secs),
 * so a sensor that ran half the hour is not shown at half the rate; the
 * coverage column says how much it ran.  Distinct clients of a step are
 * the largest count of one interval in it (distinct counts do not add).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "rtime.h"

/* Drops above this share of the packets make a step doubtful. */
#define DOUBTFUL_DROP_PCT 0.1

/* $1 from, $2 to, $3 sensor, $4 step, $5 resolution; columns as
 * enum health_col (commands.h). */
static const char SQL_HEALTH[] =
	"SELECT n.name, extract(epoch FROM h.interval_start)::bigint"
	" / $4::bigint * $4::bigint AS b,"
	" sum(h.packets)::bigint, sum(h.bytes)::bigint,"
	" sum(h.kernel_drops + h.iface_drops)::bigint, sum(h.malformed)::bigint,"
	" sum(h.flows_created)::bigint, max(h.flows_active),"
	" sum(h.flows_evicted)::bigint, max(h.clients_distinct),"
	" bool_or(h.clients_estimated),"
	" sum(h.conn_per_sec_avg * h.covered_secs) / nullif(sum(h.covered_secs), 0),"
	" max(h.conn_per_sec_max), sum(h.transactions)::bigint,"
	" sum(h.output_dropped + h.spool_dropped)::bigint,"
	" sum(h.covered_secs)::bigint, sum(h.gaps)::bigint"
	" FROM artmon.health_rows(to_timestamp($1::bigint),"
	" to_timestamp($2::bigint), $5::integer) h"
	" JOIN artmon.sensors n USING (sensor_id)"
	" WHERE ($3::text IS NULL OR n.name = $3)"
	" GROUP BY 1, 2 ORDER BY 1, 2";

PGresult *health_query(const struct rq *q, int64_t from, int64_t to,
		       int64_t step, int res, GError **err)
{
	struct db_params p;

	db_params_init(&p);
	db_param_i64(&p, from);
	db_param_i64(&p, to);
	db_param(&p, q->sensor);
	db_param_i64(&p, step);
	db_paramf(&p, "%d", res);
	PGresult *r = db_exec(q->db, SQL_HEALTH, &p, "reading sensor health",
			      err);
	db_params_clear(&p);
	return r;
}

struct sensor_sum {
	char *name;
	int64_t packets, drops, lost, evicted, covered;
	double worst_pct;
	int64_t worst_at, first, last;
	bool estimated;
};

static void sensor_sum_free(gpointer p)
{
	g_free(((struct sensor_sum *)p)->name);
	g_free(p);
}

int cmd_health(struct rq *q, struct cmd_opts *o)
{
	GError *err = NULL;
	int64_t step = o->step ? o->step : rtime_auto_step(q->to - q->from, 50);
	struct table *t = NULL;
	PGresult *r = NULL;
	GPtrArray *sums = g_ptr_array_new_with_free_func(sensor_sum_free);
	int rc;

	if (q->server_addr || q->protocol || q->signature) {
		g_set_error(&err, REPORT_ERROR, REPORT_ERR_USAGE,
			    "health is per sensor: --server, --protocol and "
			    "--signature do not apply (use --sensor)");
		goto fail;
	}
	if ((q->to - q->from) / step > 20000) {
		g_set_error(&err, REPORT_ERROR, REPORT_ERR_USAGE,
			    "more than 20000 steps: take a larger --step");
		goto fail;
	}
	int res = rq_resolution(q, step);
	r = health_query(q, q->from, q->to, step, res, &err);
	if (!r)
		goto fail;
	if (PQntuples(r) == 0 && rq_check_filters(q, &err) != 0)
		goto fail;
	t = report_table(q, q->from, q->to, res, &err);
	if (!t)
		goto fail;
	char span[32];
	rtime_format_span(step, span, sizeof span);
	table_meta(t, "step", span);

	table_col(t, "start", "start", COL_TIME);
	table_col(t, "sensor", "sensor", COL_TEXT);
	table_col(t, "packets_per_sec", "pkt/s", COL_RATE);
	table_col(t, "bits_per_sec", "traffic", COL_BITS);
	table_col(t, "drops", "drops", COL_INT);
	table_col(t, "drop_pct", "drop%", COL_PCT);
	table_col(t, "malformed", "malformed", COL_INT);
	table_col(t, "flows_per_sec", "flows/s", COL_RATE);
	table_col(t, "flows_active_max", "flows", COL_INT);
	table_col(t, "clients_distinct", "clients", COL_INT);
	table_col(t, "conn_per_sec_avg", "conn/s", COL_RATE);
	table_col(t, "conn_per_sec_max", "max", COL_INT);
	table_col(t, "transactions", "txns", COL_INT);
	table_col(t, "batches_lost", "lost", COL_INT);
	table_col(t, "coverage_pct", "cover%", COL_PCT);

	struct sensor_sum *cur = NULL;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = db_str(r, i, H_SENSOR);
		int64_t b = db_i64(r, i, H_START, 0);
		int64_t pk = db_i64(r, i, H_PACKETS, 0), by = db_i64(r, i, H_BYTES, 0);
		int64_t dr = db_i64(r, i, H_DROPS, 0);
		int64_t cov = db_i64(r, i, H_COVERED, 0);
		double secs = cov > 0 ? (double)cov : (double)step;
		double dpct = pk + dr > 0 ? 100.0 * (double)dr / (double)(pk + dr)
					  : NAN;
		/* The step's share of the range (the first and last steps
		 * may be cut by it). */
		int64_t len = MIN(b + step, q->to) - MAX(b, q->from);

		table_row(t);
		table_int(t, b);
		table_text(t, name);
		table_num(t, (double)pk / secs);
		table_num(t, 8.0 * (double)by / secs);
		table_int(t, dr);
		table_num(t, dpct);
		table_int(t, db_i64(r, i, H_MALFORMED, 0));
		table_num(t, (double)db_i64(r, i, H_FLOWS_CREATED, 0) / secs);
		table_int(t, db_i64(r, i, H_FLOWS_ACTIVE, 0));
		table_int(t, db_i64(r, i, H_CLIENTS, 0));
		table_num(t, db_f64(r, i, H_CONN_AVG));
		table_int(t, db_i64(r, i, H_CONN_MAX, 0));
		table_int(t, db_i64(r, i, H_TRANSACTIONS, 0));
		table_int(t, db_i64(r, i, H_LOST, 0));
		table_num(t, len > 0 ? MIN(100.0, 100.0 * (double)cov /
						      (double)len)
				     : NAN);

		if (!cur || strcmp(cur->name, name) != 0) {
			cur = g_new0(struct sensor_sum, 1);
			cur->name = g_strdup(name);
			cur->first = b;
			g_ptr_array_add(sums, cur);
		}
		cur->packets += pk;
		cur->drops += dr;
		cur->lost += db_i64(r, i, H_LOST, 0);
		cur->evicted += db_i64(r, i, H_EVICTED, 0);
		cur->covered += cov;
		cur->estimated |= strcmp(db_str(r, i, H_ESTIMATED) ? db_str(r, i, H_ESTIMATED)
							 : "f", "t") == 0;
		cur->last = b;
		if (!isnan(dpct) && dpct > cur->worst_pct) {
			cur->worst_pct = dpct;
			cur->worst_at = b;
		}
	}
	for (unsigned i = 0; i < sums->len; i++) {
		const struct sensor_sum *s = sums->pdata[i];
		double pct = s->packets + s->drops > 0
				     ? 100.0 * (double)s->drops /
					       (double)(s->packets + s->drops)
				     : 0;
		char when[40];
		if (s->drops > 0 && (pct > DOUBTFUL_DROP_PCT ||
				     s->worst_pct > 1.0)) {
			rtime_format_time(s->worst_at, when, sizeof when);
			table_warn(t, "sensor %s dropped %lld packets (%.2f%% "
				   "of what it was offered; worst step %s at "
				   "%.1f%%): transactions in those steps are "
				   "missing or timed from incomplete streams, "
				   "so counts and times there are doubtful",
				   s->name, (long long)s->drops, pct, when,
				   s->worst_pct);
		} else if (s->drops > 0) {
			table_note(t, "sensor %s dropped %lld packets "
				   "(%.3f%%): too few to matter", s->name,
				   (long long)s->drops, pct);
		}
		if (s->lost > 0)
			table_warn(t, "sensor %s lost %lld summary batches "
				   "(output queue or spool full): the "
				   "intervals they held are missing",
				   s->name, (long long)s->lost);
		if (s->evicted > 0)
			table_warn(t, "sensor %s evicted %lld flows from a "
				   "full flow table: their transactions were "
				   "not timed (raise max_flows)", s->name,
				   (long long)s->evicted);
		if (s->estimated)
			table_note(t, "sensor %s: distinct clients are "
				   "HyperLogLog estimates in some steps "
				   "(about 1.6%% error)", s->name);
		int64_t range = q->to - q->from;
		if (s->covered < range * 95 / 100)
			table_note(t, "sensor %s reported for %.0f%% of the "
				   "range (a gap means it, or its collector, "
				   "was not running)", s->name,
				   100.0 * (double)s->covered / (double)range);
	}
	rc = report_print(q, t);
	goto out;
fail:
	rc = report_fail(err);
out:
	PQclear(r);
	table_free(t);
	g_ptr_array_free(sums, TRUE);
	return rc;
}
