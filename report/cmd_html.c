/*
 * cmd_html.c: `artmon-report html -o report.html`: one self-contained
 * page (inline CSS and SVG: no script, no font, no image, nothing
 * fetched; it opens offline and can be mailed) with
 *
 *   - the range's totals;
 *   - per busy signature, a latency chart in SmokePing's manner: the
 *     median as a line, coloured by the step's error rate, in shaded
 *     percentile bands (25-75, 10-90, 5-95: the "smoke"), so a widening
 *     tail shows before the median moves;
 *   - per sensor, its health: packets and bits per second, drops,
 *     connections per second, distinct clients, with the warnings of
 *     `artmon-report health`;
 *   - the summary table, and the signatures with the most errors.
 *
 * Every text from the database (signatures, sensor names) is escaped.
 * The file is written beside the target and renamed over it, so a
 * browser or a web server never sees half a page.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "rtime.h"
#include "svg.h"

#define CHART_W 560
#define CHART_H 200
#define TABLE_ROWS 100

/* The median's colour by the step's error rate, as SmokePing colours
 * its median by packet loss. */
static const char *const err_palette[] = {
	"#15803d",	/* no errors */
	"#2563eb",	/* up to 1% */
	"#7c3aed",	/* up to 5% */
	"#ea580c",	/* up to 20% */
	"#dc2626",	/* more */
};
static const char *const err_label[] = { "0", "&le;1%", "&le;5%",
					 "&le;20%", "&gt;20%" };

static int err_bin(double pct)
{
	if (isnan(pct) || pct <= 0)
		return 0;
	return pct <= 1 ? 1 : pct <= 5 ? 2 : pct <= 20 ? 3 : 4;
}

static const char CSS[] =
	":root{--fg:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bg:#f5f7fa;"
	"--card:#fff}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',"
	"Roboto,'Helvetica Neue',Arial,sans-serif;color:var(--fg);"
	"background:var(--bg)}\n"
	"header{background:#102a43;color:#fff;padding:16px 28px}\n"
	"header h1{margin:0;font-size:21px;font-weight:600}\n"
	"header p{margin:4px 0 0;color:#bcccdc;font-size:13px}\n"
	"main{max-width:1320px;margin:0 auto;padding:14px 24px 40px}\n"
	"section{margin-top:22px}\n"
	"h2{font-size:17px;margin:0 0 4px}\n"
	"h3{font-size:15px;margin:14px 0 6px}\n"
	"p.intro{margin:0 0 10px;color:var(--muted);font-size:13px}\n"
	".cards{display:grid;grid-template-columns:repeat(auto-fit,"
	"minmax(150px,1fr));gap:12px}\n"
	".card{background:var(--card);border:1px solid var(--line);"
	"border-radius:8px;padding:10px 14px}\n"
	".card .v{font-size:22px;font-weight:600}\n"
	".card .k{color:var(--muted);font-size:11px;text-transform:uppercase;"
	"letter-spacing:.05em}\n"
	".charts{display:grid;grid-template-columns:repeat(auto-fill,"
	"minmax(520px,1fr));gap:14px}\n"
	".charts.small{grid-template-columns:repeat(auto-fill,"
	"minmax(380px,1fr))}\n"
	"figure{margin:0;background:var(--card);border:1px solid var(--line);"
	"border-radius:8px;padding:10px 12px 6px;min-width:0}\n"
	"figcaption{font-size:13px;margin-bottom:4px;overflow-wrap:anywhere}\n"
	"figcaption .sig,td.sig{font-family:ui-monospace,SFMono-Regular,"
	"Menlo,Consolas,monospace}\n"
	"figcaption .sig{font-weight:600}\n"
	"figcaption .m{color:var(--muted)}\n"
	"svg.chart{width:100%;height:auto;display:block}\n"
	"svg .plot{fill:#fff;stroke:#cbd2d9;stroke-width:.8}\n"
	"svg .gl{stroke:#e4e7eb;stroke-width:.6}\n"
	"svg .tick,svg .unit{font-size:10px;fill:#7b8794}\n"
	"svg .note{font-size:11px;fill:#7b8794}\n"
	".legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:12px;"
	"color:var(--muted);align-items:center;margin:6px 0 10px}\n"
	".sw{display:inline-block;width:18px;height:10px;vertical-align:"
	"middle;margin-right:4px;border-radius:2px}\n"
	".ln{display:inline-block;width:18px;height:0;border-top:3px solid;"
	"vertical-align:middle;margin-right:4px}\n"
	".tw{overflow-x:auto;background:var(--card);border:1px solid "
	"var(--line);border-radius:8px}\n"
	"table{border-collapse:collapse;width:100%;font-size:13px}\n"
	"th,td{padding:4px 9px;border-bottom:1px solid var(--line);"
	"text-align:right;white-space:nowrap}\n"
	"th{background:#eef2f7;font-weight:600}\n"
	"thead tr:first-child th{background:#e4e9f0;text-align:center;"
	"font-size:12px;color:var(--muted);font-weight:500}\n"
	"th.t,td.t{text-align:left}\n"
	"td.sig{white-space:normal;overflow-wrap:anywhere;text-align:left}\n"
	"tbody tr:nth-child(even) td{background:#fafbfc}\n"
	".warn{background:#fff4e5;border-left:4px solid #f59e0b;padding:8px "
	"12px;margin:8px 0;border-radius:4px}\n"
	".ok{color:var(--muted);font-size:13px;margin:4px 0}\n"
	"footer{color:var(--muted);font-size:12px;margin-top:28px}\n"
	"@media (max-width:640px){.charts,.charts.small{grid-template-columns:"
	"1fr}main{padding:10px}header{padding:12px}}\n";

/* ----------------------------------------------------------------------
 * Data
 */

struct page {
	const struct rq *q;
	int64_t step, first;
	unsigned n;			/* steps */
	GString *out;
};

/* A text[] literal of the given strings (a parameter, not SQL). */
static char *text_array(GPtrArray *v)
{
	GString *s = g_string_new("{");

	for (unsigned i = 0; i < v->len; i++) {
		g_string_append(s, i ? ",\"" : "\"");
		for (const char *p = v->pdata[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				g_string_append_c(s, '\\');
			g_string_append_c(s, *p);
		}
		g_string_append_c(s, '"');
	}
	g_string_append_c(s, '}');
	return g_string_free(s, FALSE);
}

/* Per (protocol, signature, step) of the busiest: $9 step, $10 and $11
 * the protocols and signatures. */
static const char SQL_SIG_SERIES[] =
	"SELECT s.protocol, s.signature, NULL::integer, "
	"extract(epoch FROM s.interval_start)::bigint / $9::bigint "
	"* $9::bigint, " AGG_SUMS ", 1::bigint, " AGG_HISTS RQ_ROWS
	"AND (s.protocol, s.signature) IN "
	"(SELECT * FROM unnest($10::text[], $11::text[])) "
	"GROUP BY 1, 2, 4 ORDER BY 1, 2, 4";

static gint by_busiest(gconstpointer x, gconstpointer y)
{
	const struct agg *a = *(struct agg *const *)x;
	const struct agg *b = *(struct agg *const *)y;
	if (a->transactions != b->transactions)
		return a->transactions > b->transactions ? -1 : 1;
	int c = strcmp(a->key1, b->key1);
	return c ? c : strcmp(a->key2, b->key2);
}

static gint by_errors(gconstpointer x, gconstpointer y)
{
	const struct agg *a = *(struct agg *const *)x;
	const struct agg *b = *(struct agg *const *)y;
	if (a->errors != b->errors)
		return a->errors > b->errors ? -1 : 1;
	return by_busiest(x, y);
}

/* ----------------------------------------------------------------------
 * Pieces of the page
 */

static void card(GString *o, const char *k, const char *v)
{
	g_string_append(o, "<div class=\"card\"><div class=\"k\">");
	html_escape(o, k);
	g_string_append(o, "</div><div class=\"v\">");
	html_escape(o, v);
	g_string_append(o, "</div></div>\n");
}

static void overview(struct page *pg, const struct agg *all, unsigned sigs,
		     unsigned sensors)
{
	GString *o = pg->out;
	char b[64];

	g_string_append(o, "<section id=\"overview\"><div class=\"cards\">\n");
	fmt_count(all ? (double)all->transactions : 0, b, sizeof b);
	card(o, "transactions", b);
	if (all && all->transactions)
		snprintf(b, sizeof b, "%.2f%%", agg_err_pct(all));
	else
		snprintf(b, sizeof b, "-");
	card(o, "errors", b);
	snprintf(b, sizeof b, "%u", sigs);
	card(o, "signatures", b);
	snprintf(b, sizeof b, "%u", sensors);
	card(o, "sensors", b);
	for (int i = 0; i < 2; i++) {
		double ms = all ? agg_pct_ms(&all->ttfb, i ? 0.95 : 0.50) : NAN;
		char v[32];
		fmt_ms(ms, v, sizeof v);
		snprintf(b, sizeof b, "%s ms", v);
		card(o, i ? "ttfb p95" : "ttfb median", b);
	}
	double rtt = all ? agg_avg_ms(all->rtt_sum, all->rtt_count) : NAN;
	char v[32];
	fmt_ms(rtt, v, sizeof v);
	snprintf(b, sizeof b, "%s ms", v);
	card(o, "handshake rtt", b);
	g_string_append(o, "</div></section>\n");
}

static void smoke_chart(struct page *pg, const struct agg *total,
			GPtrArray *rows, unsigned from, unsigned to)
{
	GString *o = pg->out;
	unsigned n = pg->n;
	int64_t *ts = g_new(int64_t, n);
	double *p[7];
	static const double qs[7] = { 0.05, 0.10, 0.25, 0.50, 0.75, 0.90,
				      0.95 };
	int *col = g_new0(int, n);
	double ymax = 0, medmax = 0;
	char a[32], b2[32];

	for (int k = 0; k < 7; k++)
		p[k] = g_new(double, n);
	for (unsigned i = 0; i < n; i++) {
		ts[i] = pg->first + (int64_t)i * pg->step;
		for (int k = 0; k < 7; k++)
			p[k][i] = NAN;
	}
	for (unsigned r = from; r < to; r++) {
		const struct agg *x = rows->pdata[r];
		int64_t i = (x->t - pg->first) / pg->step;
		if (i < 0 || i >= (int64_t)n)
			continue;
		for (int k = 0; k < 7; k++)
			p[k][i] = agg_pct_ms(&x->ttfb, qs[k]);
		col[i] = err_bin(agg_err_pct(x));
		if (!isnan(p[6][i]))
			ymax = MAX(ymax, p[6][i]);
		if (!isnan(p[3][i]))
			medmax = MAX(medmax, p[3][i]);
	}
	ymax = MAX(ymax, medmax * 1.2);

	g_string_append(o, "<figure><figcaption><span class=\"m\">");
	html_escape(o, total->key1);
	g_string_append(o, "</span> <span class=\"sig\">");
	html_escape(o, total->key2);
	fmt_ms(agg_pct_ms(&total->ttfb, 0.5), a, sizeof a);
	fmt_ms(agg_pct_ms(&total->ttfb, 0.95), b2, sizeof b2);
	char cnt[32];
	fmt_count((double)total->transactions, cnt, sizeof cnt);
	g_string_append_printf(o, "</span><br><span class=\"m\">%s "
			       "transactions &middot; %.2f%% errors &middot; "
			       "ttfb median %s ms, p95 %s ms</span>"
			       "</figcaption>\n", cnt, agg_err_pct(total), a,
			       b2);
	g_autofree gchar *title = g_strdup_printf(
		"time to first byte of %s %s", total->key1, total->key2);
	struct svg_chart c;
	svg_begin(&c, o, CHART_W, CHART_H, pg->first,
		  pg->first + (int64_t)n * pg->step, ymax * 1.05, title, "ms",
		  NULL);
	svg_band(&c, ts, pg->step, p[0], p[6], n, "#64748b", 0.16);
	svg_band(&c, ts, pg->step, p[1], p[5], n, "#64748b", 0.20);
	svg_band(&c, ts, pg->step, p[2], p[4], n, "#475569", 0.28);
	svg_step_line(&c, ts, pg->step, p[3], col, n, err_palette, 2.0);
	svg_end(&c);
	g_string_append(o, "</figure>\n");
	for (int k = 0; k < 7; k++)
		g_free(p[k]);
	g_free(col);
	g_free(ts);
}

static void legend(GString *o)
{
	g_string_append(o, "<div class=\"legend\"><span><span class=\"sw\" "
			"style=\"background:#475569;opacity:.55\"></span>25th"
			"&ndash;75th percentile</span><span><span class=\"sw\" "
			"style=\"background:#64748b;opacity:.36\"></span>10th"
			"&ndash;90th</span><span><span class=\"sw\" "
			"style=\"background:#64748b;opacity:.16\"></span>5th"
			"&ndash;95th</span><span>median, by errors:</span>");
	for (int i = 0; i < 5; i++)
		g_string_append_printf(o, "<span><span class=\"ln\" "
				       "style=\"border-color:%s\"></span>%s"
				       "</span>", err_palette[i], err_label[i]);
	g_string_append(o, "</div>\n");
}

/* A small line chart of one health series. */
static void health_chart(struct page *pg, const char *title,
			 const char *unit, const double *v, const double *v2,
			 bool bars, const char *color, const char *empty)
{
	GString *o = pg->out;
	unsigned n = pg->n;
	int64_t *ts = g_new(int64_t, n);
	double ymax = 0;
	bool any = false;

	for (unsigned i = 0; i < n; i++) {
		ts[i] = pg->first + (int64_t)i * pg->step;
		if (!isnan(v[i]) && v[i] > ymax)
			ymax = v[i];
		if (v2 && !isnan(v2[i]) && v2[i] > ymax)
			ymax = v2[i];
		any |= !isnan(v[i]) && v[i] > 0;
	}
	g_string_append(o, "<figure><figcaption>");
	html_escape(o, title);
	g_string_append(o, "</figcaption>\n");
	struct svg_chart c;
	svg_begin(&c, o, 420, 170, pg->first,
		  pg->first + (int64_t)n * pg->step, ymax * 1.1, title, unit,
		  NULL);
	if (bars)
		svg_bars(&c, ts, pg->step, v, n, color);
	else
		svg_line(&c, ts, pg->step, v, n, color, 1.6, false);
	if (v2)
		svg_line(&c, ts, pg->step, v2, n, color, 1.0, true);
	if (!any && empty)
		svg_label(&c, empty);
	svg_end(&c);
	g_string_append(o, "</figure>\n");
	g_free(ts);
}

static void health_section(struct page *pg, PGresult *h)
{
	GString *o = pg->out;
	int rows = PQntuples(h);
	unsigned n = pg->n;

	g_string_append(o, "<section id=\"health\"><h2>Sensor health</h2>\n"
			"<p class=\"intro\">What each sensor captured.  Drops "
			"and lost batches mean the response times above miss "
			"transactions; connections per second and distinct "
			"clients show load (a flood stands out).  Dashed: the "
			"busiest second of each step.</p>\n");
	if (rows == 0)
		g_string_append(o, "<p class=\"ok\">No health records in "
				"this range.</p>\n");
	int i = 0;
	while (i < rows) {
		const char *name = db_str(h, i, H_SENSOR);
		double *pk = g_new(double, n), *bits = g_new(double, n);
		double *drops = g_new(double, n), *conn = g_new(double, n);
		double *connmax = g_new(double, n), *cl = g_new(double, n);
		int64_t tdrops = 0, tpk = 0, lost = 0, evicted = 0;
		for (unsigned k = 0; k < n; k++)
			pk[k] = bits[k] = drops[k] = conn[k] = connmax[k] =
				cl[k] = NAN;
		int j = i;
		for (; j < rows && strcmp(db_str(h, j, H_SENSOR), name) == 0;
		     j++) {
			int64_t k = (db_i64(h, j, H_START, 0) - pg->first) /
				    pg->step;
			int64_t cov = db_i64(h, j, H_COVERED, 0);
			double secs = cov > 0 ? (double)cov : (double)pg->step;
			if (k < 0 || k >= (int64_t)n)
				continue;
			pk[k] = (double)db_i64(h, j, H_PACKETS, 0) / secs;
			bits[k] = 8.0 * (double)db_i64(h, j, H_BYTES, 0) / secs;
			drops[k] = (double)db_i64(h, j, H_DROPS, 0);
			conn[k] = db_f64(h, j, H_CONN_AVG);
			connmax[k] = (double)db_i64(h, j, H_CONN_MAX, 0);
			cl[k] = (double)db_i64(h, j, H_CLIENTS, 0);
			tdrops += db_i64(h, j, H_DROPS, 0);
			tpk += db_i64(h, j, H_PACKETS, 0);
			lost += db_i64(h, j, H_LOST, 0);
			evicted += db_i64(h, j, H_EVICTED, 0);
		}
		g_string_append(o, "<h3>sensor ");
		html_escape(o, name);
		g_string_append(o, "</h3>\n");
		double pct = tpk + tdrops > 0 ? 100.0 * (double)tdrops /
							(double)(tpk + tdrops)
					      : 0;
		if (tdrops > 0 && pct > 0.1)
			g_string_append_printf(o, "<div class=\"warn\">Dropped "
					       "%lld packets (%.2f%%): counts "
					       "and times are incomplete where "
					       "the drops are.</div>\n",
					       (long long)tdrops, pct);
		if (lost > 0)
			g_string_append_printf(o, "<div class=\"warn\">Lost "
					       "%lld summary batches (queue or "
					       "spool full): those intervals "
					       "are missing.</div>\n",
					       (long long)lost);
		if (evicted > 0)
			g_string_append_printf(o, "<div class=\"warn\">The "
					       "flow table was full: %lld "
					       "flows evicted, their "
					       "transactions not timed.</div>\n",
					       (long long)evicted);
		g_string_append(o, "<div class=\"charts small\">\n");
		health_chart(pg, "packets per second", "pkt/s", pk, NULL, false,
			     "#2563eb", NULL);
		health_chart(pg, "traffic (bits per second)", "bit/s", bits,
			     NULL, false, "#0891b2", NULL);
		health_chart(pg, "packets dropped per step", "drops", drops,
			     NULL, true, "#dc2626", "no drops");
		health_chart(pg, "new connections per second (mean; dashed: "
			     "busiest second)", "conn/s", conn, connmax, false,
			     "#7c3aed", NULL);
		health_chart(pg, "distinct clients", "clients", cl, NULL,
			     false, "#15803d", NULL);
		g_string_append(o, "</div>\n");
		g_free(pk);
		g_free(bits);
		g_free(drops);
		g_free(conn);
		g_free(connmax);
		g_free(cl);
		i = j;
	}
	g_string_append(o, "</section>\n");
}

static void th(GString *o, const char *cls, const char *s)
{
	g_string_append_printf(o, "<th%s%s%s>", cls ? " class=\"" : "",
			       cls ? cls : "", cls ? "\"" : "");
	html_escape(o, s);
	g_string_append(o, "</th>");
}

static void td_ms(GString *o, double ms)
{
	char b[32];
	fmt_ms(ms, b, sizeof b);
	g_string_append_printf(o, "<td>%s</td>", b);
}

static void summary_table(struct page *pg, GPtrArray *sigs, unsigned max,
			  bool errors_only)
{
	GString *o = pg->out;
	static const char *const heads[] = {
		"txns", "errors", "err%", "rtt ms", "avg", "p50", "p95",
		"p99", "avg", "p50", "p95", "p99",
	};

	g_string_append(o, "<div class=\"tw\"><table><thead><tr>"
			"<th class=\"t\" colspan=\"2\"></th><th colspan=\"4\">"
			"</th><th colspan=\"4\">time to first byte (ms)</th>"
			"<th colspan=\"4\">time to last byte (ms)</th></tr>\n<tr>");
	th(o, "t", "protocol");
	th(o, "t", "signature");
	for (size_t i = 0; i < G_N_ELEMENTS(heads); i++)
		th(o, NULL, heads[i]);
	g_string_append(o, "</tr></thead><tbody>\n");
	unsigned shown = 0;
	for (unsigned i = 0; i < sigs->len && shown < max; i++) {
		const struct agg *a = sigs->pdata[i];
		if (errors_only && a->errors == 0)
			continue;
		shown++;
		g_string_append(o, "<tr><td class=\"t\">");
		html_escape(o, a->key1);
		g_string_append(o, "</td><td class=\"sig\">");
		html_escape(o, a->key2);
		double ep = agg_err_pct(a);
		g_string_append_printf(o, "</td><td>%lld</td><td>%lld</td>"
				       "<td>%.1f</td>",
				       (long long)a->transactions,
				       (long long)a->errors,
				       isnan(ep) ? 0.0 : ep);
		td_ms(o, agg_avg_ms(a->rtt_sum, a->rtt_count));
		td_ms(o, agg_avg_ms(a->ttfb_sum, a->ttfb_count));
		td_ms(o, agg_pct_ms(&a->ttfb, 0.50));
		td_ms(o, agg_pct_ms(&a->ttfb, 0.95));
		td_ms(o, agg_pct_ms(&a->ttfb, 0.99));
		td_ms(o, agg_avg_ms(a->ttlb_sum, a->ttlb_count));
		td_ms(o, agg_pct_ms(&a->ttlb, 0.50));
		td_ms(o, agg_pct_ms(&a->ttlb, 0.95));
		td_ms(o, agg_pct_ms(&a->ttlb, 0.99));
		g_string_append(o, "</tr>\n");
	}
	if (shown == 0)
		g_string_append_printf(o, "<tr><td class=\"t\" colspan=\"%d\">"
				       "none</td></tr>\n",
				       (int)G_N_ELEMENTS(heads) + 2);
	g_string_append(o, "</tbody></table></div>\n");
	if (sigs->len > max && !errors_only)
		g_string_append_printf(o, "<p class=\"ok\">The %u busiest of "
				       "%u signatures; <code>artmon-report "
				       "summary</code> lists them all.</p>\n",
				       max, sigs->len);
}

/* ----------------------------------------------------------------------
 * The page
 */

static int write_file(const char *path, const GString *s, GError **err)
{
	if (strcmp(path, "-") == 0) {
		if (fwrite(s->str, 1, s->len, stdout) != s->len ||
		    fflush(stdout) != 0) {
			g_set_error(err, REPORT_ERROR, REPORT_ERR_FAIL,
				    "writing the page: %s", g_strerror(errno));
			return -1;
		}
		return 0;
	}
	/* g_file_set_contents writes a temporary file and renames it. */
	return g_file_set_contents(path, s->str, (gssize)s->len, err) ? 0 : -1;
}

int cmd_html(struct rq *q, struct cmd_opts *o)
{
	GError *err = NULL;
	GPtrArray *sigs = NULL, *tot = NULL, *series = NULL;
	PGresult *health = NULL;
	GString *out = NULL;
	char *src = NULL, *range = NULL, *filt = NULL;
	int rc;

	if (!o->output) {
		g_set_error(&err, REPORT_ERROR, REPORT_ERR_USAGE,
			    "html: where to? -o FILE (or -o - for stdout)");
		return report_fail(err);
	}
	int64_t step = o->step ? o->step
			       : rtime_auto_step(q->to - q->from, 150);
	struct page pg = { .q = q, .step = step };
	pg.first = rtime_floor(q->from, step);
	int64_t nsteps = (q->to - pg.first + step - 1) / step;
	if (nsteps > 5000) {
		g_set_error(&err, REPORT_ERROR, REPORT_ERR_USAGE,
			    "%lld chart steps: take a larger --step",
			    (long long)nsteps);
		return report_fail(err);
	}
	pg.n = (unsigned)nsteps;
	int res_all = rq_resolution(q, 86400), res_step = rq_resolution(q, step);

	sigs = rq_aggregate(q, GROUP_SIGNATURE, q->from, q->to, 0, res_all,
			    &err);
	if (!sigs)
		goto fail;
	if (sigs->len == 0 && rq_check_filters(q, &err) != 0)
		goto fail;
	tot = rq_aggregate(q, GROUP_TOTAL, q->from, q->to, 0, res_all, &err);
	if (!tot)
		goto fail;
	g_ptr_array_sort(sigs, by_busiest);

	/* The busiest signatures, step by step, in one query. */
	GPtrArray *protos = g_ptr_array_new(), *names = g_ptr_array_new();
	for (unsigned i = 0; i < sigs->len && i < (unsigned)o->count; i++) {
		g_ptr_array_add(protos, ((struct agg *)sigs->pdata[i])->key1);
		g_ptr_array_add(names, ((struct agg *)sigs->pdata[i])->key2);
	}
	struct db_params p;
	db_params_init(&p);
	rq_params(q, &p, q->from, q->to, res_step);
	db_param_i64(&p, step);
	char *pa = text_array(protos), *na = text_array(names);
	db_param(&p, pa);
	db_param(&p, na);
	g_free(pa);
	g_free(na);
	g_ptr_array_free(protos, TRUE);
	g_ptr_array_free(names, TRUE);
	PGresult *r = db_exec(q->db, SQL_SIG_SERIES, &p,
			      "reading the busiest signatures", &err);
	db_params_clear(&p);
	if (!r)
		goto fail;
	series = g_ptr_array_new_with_free_func(agg_free);
	for (int i = 0; i < PQntuples(r); i++)
		g_ptr_array_add(series, agg_read(r, i));
	PQclear(r);

	health = health_query(q, q->from, q->to, step, res_step, &err);
	if (!health)
		goto fail;
	src = rq_sources(q, q->from, q->to, res_step, &err);
	if (!src)
		goto fail;

	/* Sensors: those with health, or in the filter. */
	unsigned nsensors = 0;
	for (int i = 0; i < PQntuples(health); i++)
		if (i == 0 || strcmp(db_str(health, i, H_SENSOR),
				     db_str(health, i - 1, H_SENSOR)) != 0)
			nsensors++;

	out = g_string_sized_new(256 * 1024);
	pg.out = out;
	range = rq_range_text(q->from, q->to);
	filt = rq_filter_text(q);
	const char *title = o->title ? o->title : "artmon report";
	char now[40], span[32];
	rtime_format_time(q->now, now, sizeof now);
	rtime_format_span(step, span, sizeof span);

	g_string_append(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
			"<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
			"content=\"width=device-width, initial-scale=1\">\n"
			"<title>");
	html_escape(out, title);
	g_string_append(out, "</title>\n<style>\n");
	g_string_append(out, CSS);
	g_string_append(out, "</style></head>\n<body>\n<header><h1>");
	html_escape(out, title);
	g_string_append(out, "</h1><p>");
	html_escape(out, range);
	html_escape(out, filt);
	g_string_append(out, " &middot; data from ");
	html_escape(out, src);
	g_string_append(out, "</p></header>\n<main>\n");

	overview(&pg, tot->len ? tot->pdata[0] : NULL, sigs->len, nsensors);

	g_string_append_printf(out, "<section id=\"latency\"><h2>Response "
			       "times of the busiest signatures</h2>\n"
			       "<p class=\"intro\">Time to first byte (the "
			       "server's answer), one column per %s.  The "
			       "line is the median, its colour the share of "
			       "failed transactions; the smoke around it is "
			       "the spread: a widening smoke is a slowing "
			       "tail.  Gaps had no transactions.</p>\n", span);
	legend(out);
	g_string_append(out, "<div class=\"charts\">\n");
	for (unsigned i = 0; i < sigs->len && i < (unsigned)o->count; i++) {
		const struct agg *a = sigs->pdata[i];
		unsigned from = 0, to;
		while (from < series->len &&
		       (strcmp(((struct agg *)series->pdata[from])->key1,
			       a->key1) != 0 ||
			strcmp(((struct agg *)series->pdata[from])->key2,
			       a->key2) != 0))
			from++;
		to = from;
		while (to < series->len &&
		       strcmp(((struct agg *)series->pdata[to])->key1,
			      a->key1) == 0 &&
		       strcmp(((struct agg *)series->pdata[to])->key2,
			      a->key2) == 0)
			to++;
		smoke_chart(&pg, a, series, from, to);
	}
	if (sigs->len == 0)
		g_string_append(out, "<p class=\"ok\">No transactions in this "
				"range.</p>\n");
	g_string_append(out, "</div></section>\n");

	health_section(&pg, health);

	g_string_append(out, "<section id=\"summary\"><h2>Summary</h2>\n"
			"<p class=\"intro\">Per signature over the whole "
			"range, in milliseconds.  rtt: the TCP handshake "
			"(the network); ttfb: to the response's first byte "
			"(the server); ttlb: to its last.  Percentiles are "
			"within 4.8%.</p>\n");
	summary_table(&pg, sigs, TABLE_ROWS, false);
	g_ptr_array_sort(sigs, by_errors);
	g_string_append(out, "<h3>Most errors</h3>\n");
	summary_table(&pg, sigs, 10, true);
	g_string_append(out, "</section>\n");

	g_string_append_printf(out, "<footer>Made by artmon-report %s at %s "
			       "from ", PACKAGE_VERSION, now);
	html_escape(out, PQdb(q->db));
	g_string_append(out, ".</footer>\n</main>\n</body></html>\n");

	if (write_file(o->output, out, &err) != 0)
		goto fail;
	if (strcmp(o->output, "-") != 0 && q->fmt == OUT_TABLE)
		fprintf(stderr, "artmon-report: wrote %s (%zu bytes, %u "
			"charts)\n", o->output, out->len,
			MIN(sigs->len, (unsigned)o->count));
	rc = EXIT_OK;
	goto out;
fail:
	rc = report_fail(err);
out:
	if (out)
		g_string_free(out, TRUE);
	g_free(src);
	g_free(range);
	g_free(filt);
	PQclear(health);
	if (sigs)
		g_ptr_array_free(sigs, TRUE);
	if (tot)
		g_ptr_array_free(tot, TRUE);
	if (series)
		g_ptr_array_free(series, TRUE);
	return rc;
}
