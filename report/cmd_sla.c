/*
 * cmd_sla.c: `artmon-report sla`: a service-level check that can page
 * someone, as a Nagios/Icinga plugin: one status line with performance
 * data, and the exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 *
 * What is measured: the transactions selected by the filters whose
 * interval started in the window [to - window, to) (--window, default 20
 * minutes; --to, default now).  Intervals are 5 minutes long and reach
 * the database about a minute after they end, so the newest interval is
 * usually missing: a window of 20 minutes judges the three or four
 * intervals before it.  Two modes:
 *
 *   percentile  the P-th percentile (--percentile, default 95) of ttfb
 *               or ttlb, in milliseconds; bigger is worse
 *   fraction    --under DUR: the percentage of transactions faster than
 *               DUR; smaller is worse.  A transaction counts as faster
 *               when its histogram bucket's value is at most DUR, the
 *               same rule that makes the percentiles (within 4.8%).
 *
 * Thresholds (-w, -c; --threshold is -c) follow the Nagios plugin
 * guidelines: a range [@][START:][END], ~ for minus infinity, alerting
 * when the value is outside it (inside with @).  A bare value means the
 * natural bound of the mode: "200ms" alerts above 200 ms in percentile
 * mode, "99" alerts below 99% in fraction mode.  Durations take a unit
 * (a bare number is milliseconds).
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "rtime.h"

enum { NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN };
static const char *const status_name[] = { "OK", "WARNING", "CRITICAL",
					    "UNKNOWN" };

struct range {
	bool set, inside;	/* inside: alert when inside (@) */
	double lo, hi;		/* -INFINITY / INFINITY when open */
	char *perf;		/* for the performance data */
};

/* One end: a duration (bare: ms) in ms, or a percentage. */
static bool parse_end(const char *s, bool duration, double *v)
{
	if (duration) {
		int64_t us;
		if (!rtime_parse_duration(s, 1000, &us))
			return false;
		*v = (double)us / 1000.0;
		return true;
	}
	char *end;
	*v = strtod(s, &end);
	return end != s && *end == '\0' && !isnan(*v);
}

static bool parse_range(const char *text, bool duration, struct range *r)
{
	g_autofree gchar *s = g_strdup(text);
	char *p = s;

	memset(r, 0, sizeof *r);
	r->set = true;
	if (*p == '@') {
		r->inside = true;
		p++;
	}
	char *colon = strchr(p, ':');
	if (!colon && !r->inside) {
		/* A bare bound: the mode's natural direction. */
		double v;
		if (!parse_end(p, duration, &v))
			return false;
		if (duration) {
			r->lo = 0;
			r->hi = v;
		} else {
			r->lo = v;
			r->hi = INFINITY;
		}
	} else {
		char *a = colon ? p : NULL, *b = colon ? colon + 1 : p;
		if (colon)
			*colon = '\0';
		r->lo = 0;
		if (a && strcmp(a, "~") == 0)
			r->lo = -INFINITY;
		else if (a && *a && !parse_end(a, duration, &r->lo))
			return false;
		r->hi = INFINITY;
		if (*b && !parse_end(b, duration, &r->hi))
			return false;
		if (r->lo > r->hi)
			return false;
	}
	/* Perfdata wants the range in the value's unit (ms or %). */
	GString *pf = g_string_new(r->inside ? "@" : "");
	if (isinf(r->lo) && r->lo < 0)
		g_string_append(pf, "~:");
	else if (r->lo != 0 || isinf(r->hi))
		g_string_append_printf(pf, "%g:", r->lo);
	if (!isinf(r->hi))
		g_string_append_printf(pf, "%g", r->hi);
	r->perf = g_string_free(pf, FALSE);
	return true;
}

static bool alerts(const struct range *r, double v)
{
	if (!r->set)
		return false;
	bool in = v >= r->lo && v <= r->hi;
	return r->inside ? in : !in;
}

static int finish(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int finish(int status, const char *fmt, ...)
{
	va_list ap;

	printf("ARTMON SLA %s - ", status_name[status]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return status;
}

int cmd_sla(struct rq *q, struct cmd_opts *o)
{
	GError *err = NULL;
	bool ttlb, fraction = o->under_us > 0;
	struct range w = { 0 }, c = { 0 };
	GPtrArray *g = NULL;
	char *filt = NULL;
	int rc;

	metric_is_ttlb(o->metric, &ttlb);
	const char *m = ttlb ? "ttlb" : "ttfb";
	if (o->warn && !parse_range(o->warn, !fraction, &w)) {
		rc = finish(NAGIOS_UNKNOWN, "-w %s: not a threshold (%s)",
			    o->warn, fraction ? "a percentage or a range"
					      : "a duration or a range");
		goto out;
	}
	if (o->crit && !parse_range(o->crit, !fraction, &c)) {
		rc = finish(NAGIOS_UNKNOWN, "-c %s: not a threshold (%s)",
			    o->crit, fraction ? "a percentage or a range"
					      : "a duration or a range");
		goto out;
	}
	if (!w.set && !c.set) {
		rc = finish(NAGIOS_UNKNOWN, "no threshold: give -w and/or -c "
			    "(or --threshold)");
		goto out;
	}
	int64_t to = q->to, from = q->to - o->window;
	g = rq_aggregate(q, GROUP_TOTAL, from, to, 0, 1, &err);
	if (!g) {
		rc = finish(NAGIOS_UNKNOWN, "%s", err->message);
		goto out;
	}
	char win[32];
	rtime_format_span(o->window, win, sizeof win);
	filt = rq_filter_text(q);
	const struct agg *a = g->len ? g->pdata[0] : NULL;
	int64_t n = a ? a->transactions : 0;
	if (n == 0 && (q->sensor || q->server_addr || q->protocol ||
		       q->signature) && rq_check_filters(q, &err) != 0) {
		rc = finish(NAGIOS_UNKNOWN, "%s", err->message);
		goto out;
	}
	if (n < MAX(o->min_txns, 1)) {
		rc = finish(NAGIOS_UNKNOWN, "%lld transactions in the last %s "
			    "(at least %lld needed to judge)%s | "
			    "transactions=%lld;;;0;", (long long)n, win,
			    (long long)MAX(o->min_txns, 1), filt,
			    (long long)n);
		goto out;
	}
	const struct hist *h = ttlb ? &a->ttlb : &a->ttfb;
	double v;
	char label[48], shown[64];
	if (fraction) {
		uint64_t total = hist_total(h), under = 0;
		for (unsigned i = 0; i < h->n; i++)
			if (hist_bucket_value_us(h->bucket[i]) <=
			    (double)o->under_us)
				under += h->count[i];
		if (total == 0) {
			rc = finish(NAGIOS_UNKNOWN, "no %s measured in the last "
				    "%s%s", m, win, filt);
			goto out;
		}
		v = 100.0 * (double)under / (double)total;
		char lim[32];
		fmt_ms((double)o->under_us / 1000.0, lim, sizeof lim);
		snprintf(label, sizeof label, "%s_under_%sms", m, lim);
		snprintf(shown, sizeof shown, "%.2f%% of %s under %s ms", v, m,
			 lim);
	} else {
		v = agg_pct_ms(h, o->percentile / 100.0);
		if (isnan(v)) {
			rc = finish(NAGIOS_UNKNOWN, "no %s measured in the last "
				    "%s%s", m, win, filt);
			goto out;
		}
		char val[32];
		fmt_ms(v, val, sizeof val);
		snprintf(label, sizeof label, "%s_p%g", m, o->percentile);
		snprintf(shown, sizeof shown, "%s p%g %s ms", m, o->percentile,
			 val);
	}
	int st = alerts(&c, v) ? NAGIOS_CRITICAL
		 : alerts(&w, v) ? NAGIOS_WARNING : NAGIOS_OK;
	rc = finish(st, "%s over the last %s (%lld transactions, %.1f%% "
		    "errors)%s | '%s'=%.3f%s;%s;%s;0;%s transactions=%lld;;;0;",
		    shown, win, (long long)n, agg_err_pct(a), filt, label, v,
		    fraction ? "%" : "ms", w.perf ? w.perf : "",
		    c.perf ? c.perf : "", fraction ? "100" : "",
		    (long long)n);
out:
	if (err)
		g_clear_error(&err);
	if (g)
		g_ptr_array_free(g, TRUE);
	g_free(w.perf);
	g_free(c.perf);
	g_free(filt);
	return rc;
}
