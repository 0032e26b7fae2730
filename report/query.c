/*
 * query.c: filters, the level-2-aware row source, and merged groups;
 * see query.h.
 *
 * Data flow: ... -> PostgreSQL (summary_l1, summary_l2) ->
 * artmon.summary_rows() -> the GROUP BY here (sums, artmon.hist_merge)
 * -> struct agg -> a subcommand's table.  The SQL is assembled only from
 * constant fragments chosen by the grouping (never from a value); every
 * value travels as a parameter.
 */
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "rtime.h"

void rq_clear(struct rq *q)
{
	g_free(q->sensor);
	g_free(q->server_addr);
	g_free(q->protocol);
	g_free(q->signature);
	g_free(q->sig_like);
	q->sensor = q->server_addr = q->protocol = q->signature = NULL;
	q->sig_like = NULL;
}

/* ----------------------------------------------------------------------
 * Filters
 */

static int usage(GError **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_autofree gchar *m = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(err, REPORT_ERROR, REPORT_ERR_USAGE, m);
	return -1;
}

static char *canonical_addr(const char *s)
{
	GInetAddress *a = g_inet_address_new_from_string(s);
	if (!a)
		return NULL;
	char *t = g_inet_address_to_string(a);
	g_object_unref(a);
	return t;
}

static int parse_server(struct rq *q, const char *s, GError **err)
{
	g_autofree gchar *addr = NULL;
	const char *port = NULL;
	const char *colon = strchr(s, ':');

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end)
			return usage(err, "--server %s: a ']' is missing", s);
		addr = g_strndup(s + 1, (gsize)(end - s - 1));
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return usage(err, "--server %s: expected [ADDRESS]:PORT",
				     s);
	} else if (colon && !strchr(colon + 1, ':')) {
		addr = g_strndup(s, (gsize)(colon - s));	/* v4:port */
		port = colon + 1;
	} else {
		addr = g_strdup(s);				/* v4 or v6 */
	}
	q->server_addr = canonical_addr(addr);
	if (!q->server_addr)
		return usage(err, "--server %s: not an IP address", s);
	q->server_port = -1;
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (!*port || *end || p < 1 || p > 65535)
			return usage(err, "--server %s: the port must be 1 to "
				     "65535", s);
		q->server_port = (int)p;
	}
	return 0;
}

/* A glob (* any, ? one character) as a LIKE pattern, escaping LIKE's own. */
static char *glob_to_like(const char *g)
{
	GString *s = g_string_new(NULL);

	for (const char *p = g; *p; p++) {
		switch (*p) {
		case '*':
			g_string_append_c(s, '%');
			break;
		case '?':
			g_string_append_c(s, '_');
			break;
		case '%':
		case '_':
		case '\\':
			g_string_append_c(s, '\\');
			g_string_append_c(s, *p);
			break;
		default:
			g_string_append_c(s, *p);
		}
	}
	return g_string_free(s, FALSE);
}

int rq_set_filters(struct rq *q, const char *sensor, const char *server,
		   const char *protocol, const char *signature, GError **err)
{
	q->server_port = -1;
	if (sensor && !*sensor)
		return usage(err, "--sensor: empty");
	if (protocol && !*protocol)
		return usage(err, "--protocol: empty");
	if (signature && !*signature)
		return usage(err, "--signature: empty");
	if ((sensor && !g_utf8_validate(sensor, -1, NULL)) ||
	    (protocol && !g_utf8_validate(protocol, -1, NULL)) ||
	    (signature && !g_utf8_validate(signature, -1, NULL)))
		return usage(err, "a filter is not valid UTF-8");
	q->sensor = g_strdup(sensor);
	q->protocol = g_strdup(protocol);
	q->signature = g_strdup(signature);
	q->sig_like = signature ? glob_to_like(signature) : NULL;
	if (server && parse_server(q, server, err) != 0)
		return -1;
	return 0;
}

int rq_resolution(const struct rq *q, int64_t want)
{
	switch (q->level) {
	case LEVEL_1:
		return 1;
	case LEVEL_2:
		return (int)MIN(want, 86399);
	case LEVEL_AUTO:
		break;
	}
	return (int)MIN(want, INT32_MAX);
}

void rq_params(const struct rq *q, struct db_params *p, int64_t from,
	       int64_t to, int resolution)
{
	db_param_i64(p, from);
	db_param_i64(p, to);
	db_param(p, q->sensor);
	db_param(p, q->server_addr);
	if (q->server_port >= 0)
		db_paramf(p, "%d", q->server_port);
	else
		db_param(p, NULL);
	db_param(p, q->protocol);
	db_param(p, q->sig_like);
	db_paramf(p, "%d", resolution);
}

/* ----------------------------------------------------------------------
 * Where the rows come from
 */

static const char SQL_REGION[] =
	"SELECT r.bucket_secs, extract(epoch FROM r.level2_from)::bigint, "
	"extract(epoch FROM r.level2_to)::bigint, "
	"extract(epoch FROM r.days_from)::bigint, "
	"extract(epoch FROM r.days_to)::bigint, "
	"CASE WHEN isfinite(r.level1_since) "
	"THEN extract(epoch FROM r.level1_since)::bigint END, "
	/* Buckets inside the region with batches level 2 has not seen:
	 * artmon.summary_rows() reads them from level 1. */
	"(SELECT count(DISTINCT (b.sensor_id, artmon.bucket_start("
	"b.interval_start, r.bucket_secs))) FROM artmon.batches b "
	"WHERE b.rolled_at IS NULL "
	"AND b.interval_start >= greatest(r.level2_from, r.level1_since) "
	"AND b.interval_start < r.level2_to) "
	"FROM artmon.level2_region(to_timestamp($1::bigint), "
	"to_timestamp($2::bigint), $3::integer) r";

static void add_source(GString *s, const char *what, int64_t a, int64_t b,
		       int64_t ref)
{
	char x[40], y[40];

	if (b <= a)
		return;
	rtime_format_time_short(a, ref, x, sizeof x);
	rtime_format_time_short(b, a, y, sizeof y);
	g_string_append_printf(s, "%s%s %s..%s", s->len ? "; " : "", what, x,
			       y);
}

char *rq_sources(const struct rq *q, int64_t from, int64_t to,
		 int resolution, GError **err)
{
	struct db_params p;
	char l2[64];

	db_params_init(&p);
	db_param_i64(&p, from);
	db_param_i64(&p, to);
	db_paramf(&p, "%d", resolution);
	PGresult *r = db_exec(q->db, SQL_REGION, &p, "level2_region", err);
	db_params_clear(&p);
	if (!r)
		return NULL;
	int64_t secs = db_i64(r, 0, 0, 3600);
	int64_t a = db_i64(r, 0, 1, from), b = db_i64(r, 0, 2, from);
	int64_t da = db_i64(r, 0, 3, b), dbe = db_i64(r, 0, 4, b);
	int64_t since = db_i64(r, 0, 5, INT64_MIN);
	int64_t late = db_i64(r, 0, 6, 0);
	PQclear(r);

	GString *s = g_string_new(NULL);
	char span[32];
	rtime_format_span(secs, span, sizeof span);
	snprintf(l2, sizeof l2, "level 2 (%s rows)", span);
	/* Before the region: level 1, or level 2 where level 1 is gone. */
	int64_t e = MIN(to, a);
	add_source(s, "level 2 (level 1 expired)", from, MIN(e, since), from);
	add_source(s, "level 1", MAX(from, since), e, from);
	add_source(s, l2, a, da, from);
	add_source(s, "level 2 (day rows)", da, dbe, from);
	add_source(s, l2, dbe, b, from);
	int64_t f = MAX(from, b);
	add_source(s, "level 2 (level 1 expired)", f, MIN(to, since), from);
	add_source(s, "level 1", MAX(f, since), to, from);
	if (late > 0)
		g_string_append_printf(s, "; level 1 for %lld (sensor, %s) "
				       "with rows not yet rolled up",
				       (long long)late, span);
	if (!s->len)
		g_string_append(s, "nothing (an empty range)");
	return g_string_free(s, FALSE);
}

/* ----------------------------------------------------------------------
 * Unknown filters
 */

/* $1 sensor, $2 address, $3 port, $4 protocol, $5 LIKE: is there any
 * row in level 2, or in level 1 since a day before the last roll-up? */
static const char SQL_KNOWN[] =
	"SELECT EXISTS (SELECT 1 FROM artmon.summary_l2 s "
	"JOIN artmon.sensors n USING (sensor_id) "
	"WHERE ($1::text IS NULL OR n.name = $1) "
	"AND ($2::inet IS NULL OR s.server_addr = $2::inet) "
	"AND ($3::integer IS NULL OR s.server_port = $3::integer) "
	"AND ($4::text IS NULL OR s.protocol = $4) "
	"AND ($5::text IS NULL OR s.signature LIKE $5)) "
	"OR EXISTS (SELECT 1 FROM artmon.summary_l1 s "
	"JOIN artmon.sensors n USING (sensor_id) "
	"WHERE s.interval_start >= coalesce((SELECT rolled_through - "
	"interval '1 day' FROM artmon.level2_state), '-infinity') "
	"AND ($1::text IS NULL OR n.name = $1) "
	"AND ($2::inet IS NULL OR s.server_addr = $2::inet) "
	"AND ($3::integer IS NULL OR s.server_port = $3::integer) "
	"AND ($4::text IS NULL OR s.protocol = $4) "
	"AND ($5::text IS NULL OR s.signature LIKE $5))";

/* 1 known, 0 unknown, -1 error. */
static int known(const struct rq *q, const char *sensor, const char *addr,
		 int port, const char *protocol, const char *like,
		 GError **err)
{
	struct db_params p;

	db_params_init(&p);
	db_param(&p, sensor);
	db_param(&p, addr);
	if (port >= 0)
		db_paramf(&p, "%d", port);
	else
		db_param(&p, NULL);
	db_param(&p, protocol);
	db_param(&p, like);
	PGresult *r = db_exec(q->db, SQL_KNOWN, &p, "checking the filters",
			      err);
	db_params_clear(&p);
	if (!r)
		return -1;
	int k = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return k;
}

int rq_check_filters(const struct rq *q, GError **err)
{
	int k;

	if (q->sensor) {
		struct db_params p;
		db_params_init(&p);
		db_param(&p, q->sensor);
		PGresult *r = db_exec(q->db, "SELECT 1 FROM artmon.sensors "
				      "WHERE name = $1", &p, "sensors", err);
		db_params_clear(&p);
		if (!r)
			return -1;
		k = PQntuples(r);
		PQclear(r);
		if (!k)
			return usage(err, "unknown sensor '%s'", q->sensor);
	}
	if (q->protocol) {
		if ((k = known(q, NULL, NULL, -1, q->protocol, NULL, err)) < 0)
			return -1;
		if (!k)
			return usage(err, "no data for protocol '%s'",
				     q->protocol);
	}
	if (q->server_addr) {
		if ((k = known(q, NULL, q->server_addr, q->server_port, NULL,
			       NULL, err)) < 0)
			return -1;
		if (!k && q->server_port >= 0)
			return usage(err, "no data for server %s port %d",
				     q->server_addr, q->server_port);
		if (!k)
			return usage(err, "no data for server %s",
				     q->server_addr);
	}
	if (q->signature) {
		if ((k = known(q, NULL, NULL, -1, q->protocol, q->sig_like,
			       err)) < 0)
			return -1;
		if (!k)
			return usage(err, "unknown signature '%s'%s%s",
				     q->signature,
				     q->protocol ? " for protocol " : "",
				     q->protocol ? q->protocol : "");
	}
	return 0;
}

/* ----------------------------------------------------------------------
 * Groups
 */

bool hist_from_text(struct hist *h, const char *s)
{
	hist_clear(h);
	if (!s || *s != '{')
		return false;
	s++;
	while (*s && *s != '}') {
		char *end;
		long long b = strtoll(s, &end, 10);
		if (end == s || *end != ',')
			return false;
		s = end + 1;
		long long c = strtoll(s, &end, 10);
		if (end == s)
			return false;
		s = end;
		if (*s == ',')
			s++;
		if (b >= 0 && b < HIST_BUCKETS && c > 0)
			hist_add_bucket(h, (int)b, (uint64_t)c);
	}
	return true;
}

struct agg *agg_read(const PGresult *r, int i)
{
	struct agg *a = g_new0(struct agg, 1);

	a->key1 = g_strdup(db_str(r, i, 0));
	a->key2 = g_strdup(db_str(r, i, 1));
	a->port = (int)db_i64(r, i, 2, -1);
	a->t = db_i64(r, i, 3, 0);
	a->transactions = db_i64(r, i, 4, 0);
	a->errors = db_i64(r, i, 5, 0);
	a->timeouts = db_i64(r, i, 6, 0);
	a->ttfb_count = db_i64(r, i, 7, 0);
	a->ttfb_sum = db_f64(r, i, 8);
	a->ttlb_count = db_i64(r, i, 9, 0);
	a->ttlb_sum = db_f64(r, i, 10);
	a->rtt_count = db_i64(r, i, 11, 0);
	a->rtt_sum = db_f64(r, i, 12);
	a->ttfb_max = db_f64(r, i, 13);
	a->signatures = db_i64(r, i, 14, 0);
	hist_init(&a->ttfb);
	hist_init(&a->ttlb);
	hist_from_text(&a->ttfb, db_str(r, i, 15));
	hist_from_text(&a->ttlb, db_str(r, i, 16));
	return a;
}

void agg_free(gpointer p)
{
	struct agg *a = p;

	if (!a)
		return;
	g_free(a->key1);
	g_free(a->key2);
	hist_clear(&a->ttfb);
	hist_clear(&a->ttlb);
	g_free(a);
}

GPtrArray *rq_aggregate(const struct rq *q, enum group_by by, int64_t from,
			int64_t to, int64_t step, int resolution,
			GError **err)
{
	static const struct {
		const char *keys;	/* select list head */
		const char *group;	/* GROUP BY ... ORDER BY ... */
		const char *distinct;	/* signatures merged */
	} g[] = {
		[GROUP_SIGNATURE] = {
			"s.protocol, s.signature, NULL::integer, NULL::bigint",
			" GROUP BY 1, 2 ORDER BY 1, 2", "1",
		},
		[GROUP_SERVER] = {
			"host(s.server_addr), NULL::text, s.server_port, "
			"NULL::bigint",
			" GROUP BY s.server_addr, s.server_port "
			"ORDER BY s.server_addr, s.server_port",
			"count(DISTINCT (s.protocol, s.signature))",
		},
		[GROUP_TIME] = {
			"NULL::text, NULL::text, NULL::integer, "
			"extract(epoch FROM s.interval_start)::bigint "
			"/ $9::bigint * $9::bigint",
			" GROUP BY 4 ORDER BY 4",
			"count(DISTINCT (s.protocol, s.signature))",
		},
		[GROUP_TOTAL] = {
			"NULL::text, NULL::text, NULL::integer, NULL::bigint",
			" HAVING count(*) > 0",
			"count(DISTINCT (s.protocol, s.signature))",
		},
	};
	g_autofree gchar *sql = g_strdup_printf(
		"SELECT %s, " AGG_SUMS ", %s, " AGG_HISTS RQ_ROWS "%s",
		g[by].keys, g[by].distinct, g[by].group);
	struct db_params p;

	db_params_init(&p);
	rq_params(q, &p, from, to, resolution);
	if (by == GROUP_TIME)
		db_param_i64(&p, step);
	PGresult *r = db_exec(q->db, sql, &p, "reading the summaries", err);
	db_params_clear(&p);
	if (!r)
		return NULL;

	GPtrArray *out = g_ptr_array_new_with_free_func(agg_free);
	for (int i = 0; i < PQntuples(r); i++)
		g_ptr_array_add(out, agg_read(r, i));
	PQclear(r);
	return out;
}

double agg_pct_ms(const struct hist *h, double q)
{
	double us = hist_percentile_us(h, q);
	return us < 0 ? NAN : us / 1000.0;
}

double agg_avg_ms(double sum_us, int64_t count)
{
	return count > 0 ? sum_us / (double)count / 1000.0 : NAN;
}

double agg_err_pct(const struct agg *a)
{
	return a->transactions > 0
		       ? 100.0 * (double)a->errors / (double)a->transactions
		       : NAN;
}

/* ----------------------------------------------------------------------
 * Titles
 */

char *rq_range_text(int64_t from, int64_t to)
{
	char a[40], b[40], z[16], span[32];

	rtime_format_time(from, a, sizeof a);
	rtime_format_time_short(to, from, b, sizeof b);
	rtime_zone_name(from, z, sizeof z);
	rtime_format_span(to - from, span, sizeof span);
	return g_strdup_printf("%s .. %s %s (%s)", a, b, z, span);
}

char *rq_filter_text(const struct rq *q)
{
	GString *s = g_string_new(NULL);

	if (q->sensor)
		g_string_append_printf(s, " sensor %s", q->sensor);
	if (q->server_addr) {
		bool v6 = strchr(q->server_addr, ':') != NULL;
		if (q->server_port >= 0)
			g_string_append_printf(s, v6 ? " server [%s]:%d"
						     : " server %s:%d",
					       q->server_addr, q->server_port);
		else
			g_string_append_printf(s, " server %s", q->server_addr);
	}
	if (q->protocol)
		g_string_append_printf(s, " protocol %s", q->protocol);
	if (q->signature)
		g_string_append_printf(s, " signature %s", q->signature);
	return g_string_free(s, FALSE);
}
