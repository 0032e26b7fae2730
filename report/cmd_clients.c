/*
 * cmd_clients.c: `artmon-report clients`: the busiest clients per
 * sensor and hour (or --step), and with --client ADDR one client step by
 * step, so the client that started flooding at 18:00 stands out.
 *
 * The data are the sensors' heavy-hitter lists (artmon.top_clients: the
 * 20 busiest clients of each interval, per sensor; level 2 keeps the 50
 * busiest per bucket): a client's count for a step adds the intervals in
 * which it was listed, so it is a lower bound, exact for a client busy
 * all along.  The lists are per sensor, not per server, so --server,
 * --protocol and --signature do not apply.  A client's share is its
 * count over all transactions the sensor saw in the step (the health
 * records).
 */
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "rtime.h"

/* $1 from, $2 to, $3 sensor, $4 step, $5 resolution, $6 how many,
 * $7 the client (then every rank is kept). */
static const char SQL_CLIENTS[] =
	"WITH c AS ("
	" SELECT n.name AS sensor,"
	" extract(epoch FROM t.interval_start)::bigint / $4::bigint"
	" * $4::bigint AS b, t.client_addr,"
	" sum(t.transactions)::bigint AS tx, sum(t.error_bound)::bigint AS eb,"
	" sum(t.intervals)::bigint AS iv"
	" FROM artmon.client_rows(to_timestamp($1::bigint),"
	" to_timestamp($2::bigint), $5::integer) t"
	" JOIN artmon.sensors n USING (sensor_id)"
	" WHERE ($3::text IS NULL OR n.name = $3)"
	" GROUP BY 1, 2, 3"
	"), h AS ("
	" SELECT n.name AS sensor,"
	" extract(epoch FROM h.interval_start)::bigint / $4::bigint"
	" * $4::bigint AS b, sum(h.transactions)::bigint AS tx,"
	" sum(h.covered_secs)::bigint AS covered"
	" FROM artmon.health_rows(to_timestamp($1::bigint),"
	" to_timestamp($2::bigint), $5::integer) h"
	" JOIN artmon.sensors n USING (sensor_id)"
	" WHERE ($3::text IS NULL OR n.name = $3)"
	" GROUP BY 1, 2"
	"), r AS ("
	" SELECT c.*, row_number() OVER (PARTITION BY c.sensor, c.b"
	" ORDER BY c.tx DESC, c.client_addr) AS rk FROM c"
	")"
	" SELECT r.b, r.sensor, r.rk, host(r.client_addr), r.tx, r.eb, r.iv,"
	" h.tx, h.covered"
	" FROM r LEFT JOIN h USING (sensor, b)"
	" WHERE CASE WHEN $7::inet IS NULL THEN r.rk <= $6::integer"
	" ELSE r.client_addr = $7::inet END"
	" ORDER BY r.b, r.sensor, r.rk";

static double share(const PGresult *r, int i)
{
	double all = db_f64(r, i, 7);
	return all > 0 ? 100.0 * db_f64(r, i, 4) / all : NAN;
}

int cmd_clients(struct rq *q, struct cmd_opts *o)
{
	GError *err = NULL;
	int64_t step = o->step ? o->step : 3600;
	g_autofree gchar *client = NULL;
	struct table *t = NULL;
	PGresult *r = NULL;
	int rc;

	if (q->server_addr || q->protocol || q->signature) {
		g_set_error(&err, REPORT_ERROR, REPORT_ERR_USAGE,
			    "clients: the busiest clients are kept per "
			    "sensor, not per server, protocol or signature "
			    "(use --sensor)");
		return report_fail(err);
	}
	if (o->client) {
		GInetAddress *a = g_inet_address_new_from_string(o->client);
		if (!a) {
			g_set_error(&err, REPORT_ERROR, REPORT_ERR_USAGE,
				    "--client %s: not an IP address",
				    o->client);
			return report_fail(err);
		}
		client = g_inet_address_to_string(a);
		g_object_unref(a);
	}
	if ((q->to - q->from) / step > 20000) {
		g_set_error(&err, REPORT_ERROR, REPORT_ERR_USAGE,
			    "more than 20000 steps: take a larger --step");
		return report_fail(err);
	}
	int res = rq_resolution(q, step);
	struct db_params p;
	db_params_init(&p);
	db_param_i64(&p, q->from);
	db_param_i64(&p, q->to);
	db_param(&p, q->sensor);
	db_param_i64(&p, step);
	db_paramf(&p, "%d", res);
	db_paramf(&p, "%d", o->count);
	db_param(&p, client);
	r = db_exec(q->db, SQL_CLIENTS, &p, "reading the busiest clients",
		    &err);
	db_params_clear(&p);
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
	if (client)
		table_meta(t, "client", client);

	table_col(t, "start", "start", COL_TIME);
	table_col(t, "sensor", "sensor", COL_TEXT);
	table_col(t, "rank", "#", COL_INT);
	if (!client)
		table_col(t, "client", "client", COL_TEXT);
	table_col(t, "transactions", "txns (at least)", COL_INT);
	table_col(t, "error_bound", "+ up to", COL_INT);
	table_col(t, "share_pct", "share%", COL_PCT);
	table_col(t, "intervals_listed", "listed", COL_INT);
	if (!client) {
		for (int i = 0; i < PQntuples(r); i++) {
			table_row(t);
			table_int(t, db_i64(r, i, 0, 0));
			table_text(t, db_str(r, i, 1));
			table_int(t, db_i64(r, i, 2, 0));
			table_text(t, db_str(r, i, 3));
			table_int(t, db_i64(r, i, 4, 0));
			table_int(t, db_i64(r, i, 5, 0));
			table_num(t, share(r, i));
			table_int(t, db_i64(r, i, 6, 0));
		}
		table_note(t, "The %d busiest clients per sensor and %s.  A "
			   "count adds the intervals in which the client was "
			   "among the sensor's busiest: at least that many, "
			   "at most \"+ up to\" more.", o->count, span);
	} else {
		/* Every step, listed or not, so the change shows. */
		int i = 0, n = PQntuples(r);
		GArray *v = g_array_new(FALSE, FALSE, sizeof(double));
		int64_t t0 = rtime_floor(q->from, step), imax = t0;
		double vmax = -1;
		for (int64_t s = t0; s < q->to; s += step) {
			bool any = false;
			while (i < n && db_i64(r, i, 0, 0) == s) {
				table_row(t);
				table_int(t, s);
				table_text(t, db_str(r, i, 1));
				table_int(t, db_i64(r, i, 2, 0));
				table_int(t, db_i64(r, i, 4, 0));
				table_int(t, db_i64(r, i, 5, 0));
				table_num(t, share(r, i));
				table_int(t, db_i64(r, i, 6, 0));
				double x = (double)db_i64(r, i, 4, 0);
				g_array_append_val(v, x);
				if (x > vmax) {
					vmax = x;
					imax = s;
				}
				any = true;
				i++;
			}
			if (!any) {
				table_row(t);
				table_int(t, s);
				table_text(t, q->sensor);
				table_null(t);
				table_int(t, 0);
				table_int(t, 0);
				table_null(t);
				table_int(t, 0);
				double x = 0;
				g_array_append_val(v, x);
			}
		}
		if (vmax > 0) {
			char when[40];
			rtime_format_time_short(imax, q->from, when, sizeof when);
			table_note(t, "Busiest step: %s with %.0f transactions.  "
				   "A step with 0 means the client was never "
				   "among the busiest (it may still have sent "
				   "a few).", when, vmax);
		}
		g_array_free(v, TRUE);
	}
	rc = report_print(q, t);
	goto out;
fail:
	rc = report_fail(err);
out:
	PQclear(r);
	table_free(t);
	return rc;
}
