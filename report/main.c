/*
 * main.c: artmon-report: answers from the artmon database on the command
 * line, and one HTML page.
 *
 * Data flow: PostgreSQL (level-1 and level-2 summaries, health, busiest
 * clients) -> query.c -> a subcommand (cmd_*.c) -> output.c (a table,
 * CSV or JSON) or html.  This file parses the command line into the
 * question every subcommand shares (struct rq: the range, the filters,
 * the format, the level) and the options only some take (struct
 * cmd_opts), connects, and runs the subcommand.
 *
 * Exit codes: 0 answered; 1 the database or the output failed; 2 bad
 * arguments (an unknown signature, inverted dates, a bad duration), with
 * a one-line message.  `sla` follows the Nagios plugin API instead
 * (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, bad arguments included).
 */
#include "config.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "log.h"
#include "rtime.h"

/* The schema these queries need: 002 (level 2, summary_rows). */
#define REPORT_SCHEMA_VERSION 2

#define DEFAULT_LAST (6 * 3600)

struct command {
	const char *name;
	const char *summary;
	const char *help;
	int (*run)(struct rq *q, struct cmd_opts *o);
	bool sla;
};

static const struct command commands[] = {
	{ "summary", "per protocol and signature: transactions, errors %, "
	  "ttfb and ttlb avg/p50/p95/p99",
	  "Example: artmon-report summary --last 1d --protocol http",
	  cmd_summary, false },
	{ "top", "the N slowest, busiest or most failing signatures or "
	  "servers",
	  "Slowest ranks by --percentile (95) of --metric (ttfb); busiest by\n"
	  "transactions; failing by errors.\n"
	  "Example: artmon-report top --by failing --servers -n 5",
	  cmd_top, false },
	{ "series", "a signature or server interval by interval, with a "
	  "sparkline",
	  "The filters choose what is followed (everything that matches is "
	  "merged).\n"
	  "Example: artmon-report series --signature 'GET_/api*' --last 1d "
	  "--step 1h",
	  cmd_series, false },
	{ "compare", "two periods side by side, with the change of each "
	  "percentile",
	  "The range (--from/--to/--last) is the period after; the period "
	  "before is\n"
	  "--vs-from/--vs-to, or the range --shift earlier (default: the "
	  "range's own\n"
	  "length, i.e. the period just before).\n"
	  "Example: artmon-report compare --from '2026-11-20 18:00' --last "
	  "1d --shift 7d",
	  cmd_compare, false },
	{ "clients", "the busiest clients per sensor and hour; --client ADDR "
	  "hour by hour",
	  "From the sensors' heavy-hitter lists (the 20 busiest clients of "
	  "each\n"
	  "5-minute interval).  A client's count is a lower bound: it is "
	  "counted only\n"
	  "in the intervals where it was among the busiest.\n"
	  "Example: artmon-report clients --client 192.0.2.7 --last 1d",
	  cmd_clients, false },
	{ "health", "sensor health: packets, drops, malformed, flows, "
	  "clients, connections/s",
	  "Warns when drops or lost batches make the numbers doubtful.\n"
	  "Example: artmon-report health --last 1d --step 1h",
	  cmd_health, false },
	{ "sla", "an SLO check with Nagios/Icinga plugin output and exit "
	  "codes",
	  "Percentile mode: --percentile P of --metric over the last "
	  "--window; -w/-c\n"
	  "are Nagios thresholds on it (a bare 200ms alerts above 200 ms; "
	  "--threshold\n"
	  "is -c).  Fraction mode (--under DUR): the percentage of "
	  "transactions\n"
	  "faster than DUR; a bare -w 99 alerts below 99.  Ranges as in "
	  "the Nagios\n"
	  "guidelines (10:20, @10:20, ~:10) are taken as they are.  "
	  "--window counts\n"
	  "back from --to (default now) over the intervals that started in "
	  "it; a bare\n"
	  "number is minutes.  Exit: 0 OK, 1 WARNING, 2 CRITICAL, 3 "
	  "UNKNOWN.\n"
	  "Example: artmon-report sla --signature 'GET_/api*' --metric ttfb "
	  "--percentile 80\n"
	  "         --threshold 200ms --window 20",
	  cmd_sla, true },
	{ "html", "one self-contained HTML page: smoke charts, health, "
	  "tables",
	  "Example: artmon-report html --last 1d -o report.html",
	  cmd_html, false },
};

static void print_commands(FILE *f)
{
	fprintf(f, "Usage: artmon-report COMMAND [OPTION...]\n\n"
		"Answers from the artmon database.  Commands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(f, "\nartmon-report COMMAND --help shows a command's "
		"options.  Every command takes\n--from/--to or --last "
		"(default: the last 6 hours), the filters --sensor,\n"
		"--server ADDR[:PORT], --protocol, --signature PATTERN "
		"(* and ?), and --csv or\n--json.  -d CONNINFO (or the PG* "
		"variables, or a service file) names the\ndatabase.\n");
}

/* ----------------------------------------------------------------------
 * Option values
 */

struct cli {
	char *db, *from, *to, *last;
	char *sensor, *server, *protocol, *signature;
	gboolean csv, json;
	char *level;
	gboolean version;
	/* per command, as text until checked */
	char *step, *vs_from, *vs_to, *shift, *under, *window, *threshold;
	double percentile;
	gint64 min_txns;
	struct cmd_opts o;
};

static int usage_error(bool sla, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(bool sla, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree gchar *m = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (sla) {
		printf("ARTMON SLA UNKNOWN - %s\n", m);
		return 3;
	}
	fprintf(stderr, "artmon-report: %s\n", m);
	return EXIT_USAGE;
}

static bool duration_arg(const char *opt, const char *v, int64_t bare_us,
			 int64_t *us, bool sla, int *rc)
{
	if (!v)
		return true;
	if (!rtime_parse_duration(v, bare_us, us) || *us <= 0) {
		*rc = usage_error(sla, "%s %s: not a duration (like 90s, 20m, "
				  "6h, 2d, 1w)", opt, v);
		return false;
	}
	return true;
}

static bool time_arg(const char *opt, const char *v, int64_t now,
		     int64_t *t, bool sla, int *rc)
{
	if (!rtime_parse_time(v, now, t)) {
		*rc = usage_error(sla, "%s %s: not a time (like 2026-11-20, "
				  "'2026-11-20 13:00', 2026-11-20T13:00:00Z, "
				  "now)", opt, v);
		return false;
	}
	return true;
}

/* The range, the filters and the per-command values; 0 or an exit code. */
static int resolve(const struct command *cmd, struct cli *c, struct rq *q)
{
	bool sla = cmd->sla;
	int rc = 0;
	int64_t last_us = 0;
	GError *err = NULL;

	q->now = (int64_t)time(NULL);
	if (c->csv && c->json)
		return usage_error(sla, "--csv and --json: choose one");
	q->fmt = c->csv ? OUT_CSV : c->json ? OUT_JSON : OUT_TABLE;
	if (!c->level || strcmp(c->level, "auto") == 0)
		q->level = LEVEL_AUTO;
	else if (strcmp(c->level, "1") == 0)
		q->level = LEVEL_1;
	else if (strcmp(c->level, "2") == 0)
		q->level = LEVEL_2;
	else
		return usage_error(sla, "--level %s: auto, 1 or 2", c->level);

	if (c->last && c->from && c->to)
		return usage_error(sla, "--last with both --from and --to: "
				   "give two of the three");
	if (!duration_arg("--last", c->last, US_PER_SEC, &last_us, sla, &rc))
		return rc;
	int64_t last = c->last ? last_us / US_PER_SEC
			       : (sla ? 0 : DEFAULT_LAST);
	if (c->last && last < 1)
		return usage_error(sla, "--last %s: less than a second",
				   c->last);
	q->to = q->now;
	if (c->to && !time_arg("--to", c->to, q->now, &q->to, sla, &rc))
		return rc;
	if (c->from) {
		if (!time_arg("--from", c->from, q->now, &q->from, sla, &rc))
			return rc;
		if (!c->to && c->last)
			q->to = q->from + last;
	} else {
		q->from = q->to - last;
	}
	if (!sla && q->from >= q->to) {
		char a[40], b[40];
		rtime_format_time(q->from, a, sizeof a);
		rtime_format_time(q->to, b, sizeof b);
		return usage_error(sla, "the range is inverted or empty: from "
				   "%s to %s", a, b);
	}
	if (rq_set_filters(q, c->sensor, c->server, c->protocol, c->signature,
			   &err) != 0) {
		rc = usage_error(sla, "%s", err->message);
		g_clear_error(&err);
		return rc;
	}

	struct cmd_opts *o = &c->o;
	int64_t us = 0;
	if (c->step) {
		if (!duration_arg("--step", c->step, US_PER_SEC, &us, sla, &rc))
			return rc;
		o->step = us / US_PER_SEC;
		if (o->step < 60 || us % (60 * US_PER_SEC) != 0 ||
		    (o->step < 86400 && 86400 % o->step != 0) ||
		    (o->step > 86400 && o->step % 86400 != 0))
			return usage_error(sla, "--step %s: use whole minutes "
					   "that divide a day (5m, 15m, 1h, "
					   "6h), or whole days", c->step);
	}
	if (c->vs_from && !time_arg("--vs-from", c->vs_from, q->now,
				    &o->vs_from, sla, &rc))
		return rc;
	if (c->vs_to && !time_arg("--vs-to", c->vs_to, q->now, &o->vs_to,
				  sla, &rc))
		return rc;
	if (!!c->vs_from != !!c->vs_to)
		return usage_error(sla, "--vs-from and --vs-to go together");
	if (c->vs_from && o->vs_from >= o->vs_to)
		return usage_error(sla, "--vs-from is not before --vs-to");
	if (c->shift) {
		if (c->vs_from)
			return usage_error(sla, "--shift or --vs-from/--vs-to: "
					   "choose one");
		if (!duration_arg("--shift", c->shift, US_PER_SEC, &us, sla,
				  &rc))
			return rc;
		o->shift = us / US_PER_SEC;
	}
	if (!duration_arg("--under", c->under, 1000, &o->under_us, sla, &rc))
		return rc;
	o->window = 20 * 60;
	if (c->window) {
		if (!duration_arg("--window", c->window, 60 * US_PER_SEC, &us,
				  sla, &rc))
			return rc;
		o->window = us / US_PER_SEC;
		if (o->window < 1)
			return usage_error(sla, "--window %s: under a second",
					   c->window);
	}
	if (c->threshold) {
		if (o->crit)
			return usage_error(sla, "--threshold is -c: give one");
		o->crit = g_strdup(c->threshold);
	}
	if (c->percentile <= 0 || c->percentile > 100)
		return usage_error(sla, "--percentile %g: more than 0, at most "
				   "100", c->percentile);
	o->percentile = c->percentile;
	o->min_txns = c->min_txns;
	/* compare's default 0 means every signature; the others need one. */
	if (o->count < (cmd->run == cmd_compare ? 0 : 1))
		return usage_error(sla, "-n %d: at least %d", o->count,
				   cmd->run == cmd_compare ? 0 : 1);
	bool ttlb;
	if (!metric_is_ttlb(o->metric, &ttlb))
		return usage_error(sla, "--metric %s: ttfb or ttlb", o->metric);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c = { .percentile = 95, .min_txns = 1 };
	struct rq q = { .server_port = -1 };
	const struct command *cmd = NULL;
	GError *err = NULL;
	int rc = EXIT_USAGE;

	log_init("artmon-report", 0);
	c.o.count = 10;
	if (argc < 2) {
		print_commands(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		print_commands(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("artmon-report %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "artmon-report: unknown command '%s' (try "
			"artmon-report --help)\n", argv[1]);
		return EXIT_USAGE;
	}
	q.cmd = cmd->name;

	GOptionEntry common[] = {
		{ "dbname", 'd', 0, G_OPTION_ARG_STRING, &c.db,
		  "The database: a libpq conninfo, URI or name (default: PG* "
		  "variables)", "CONNINFO" },
		{ "from", 0, 0, G_OPTION_ARG_STRING, &c.from,
		  "Start of the range (ISO 8601, local time unless an offset "
		  "is given)", "TIME" },
		{ "to", 0, 0, G_OPTION_ARG_STRING, &c.to,
		  "End of the range (default: now)", "TIME" },
		{ "last", 0, 0, G_OPTION_ARG_STRING, &c.last,
		  "The range is the last DURATION before --to (default 6h)",
		  "DURATION" },
		{ "sensor", 0, 0, G_OPTION_ARG_STRING, &c.sensor,
		  "Only this sensor", "NAME" },
		{ "server", 0, 0, G_OPTION_ARG_STRING, &c.server,
		  "Only this server", "ADDR[:PORT]" },
		{ "protocol", 0, 0, G_OPTION_ARG_STRING, &c.protocol,
		  "Only this protocol (http, dns, imap, tcp)", "NAME" },
		{ "signature", 0, 0, G_OPTION_ARG_STRING, &c.signature,
		  "Only signatures matching PATTERN (* any, ? one character)",
		  "PATTERN" },
		{ "csv", 0, 0, G_OPTION_ARG_NONE, &c.csv,
		  "Print CSV (raw values: milliseconds, ISO 8601 times)", NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &c.json, "Print JSON", NULL },
		{ "level", 0, 0, G_OPTION_ARG_STRING, &c.level,
		  "Read auto (default), 1 (level 1 where it exists) or 2 "
		  "(level-2 buckets, no day rows)", "auto|1|2" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionEntry top[] = {
		{ "count", 'n', 0, G_OPTION_ARG_INT, &c.o.count,
		  "How many (default 10)", "N" },
		{ "by", 0, 0, G_OPTION_ARG_STRING, &c.o.by,
		  "slowest (default), busiest or failing", "HOW" },
		{ "servers", 0, 0, G_OPTION_ARG_NONE, &c.o.servers,
		  "Rank servers instead of signatures", NULL },
		{ "metric", 0, 0, G_OPTION_ARG_STRING, &c.o.metric,
		  "ttfb (default) or ttlb", "METRIC" },
		{ "percentile", 0, 0, G_OPTION_ARG_DOUBLE, &c.percentile,
		  "The percentile slowest ranks by (default 95)", "P" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionEntry series[] = {
		{ "step", 0, 0, G_OPTION_ARG_STRING, &c.step,
		  "One row per STEP (default: about 100 rows)", "DURATION" },
		{ "metric", 0, 0, G_OPTION_ARG_STRING, &c.o.metric,
		  "The sparkline's metric: ttfb (default) or ttlb", "METRIC" },
		{ "spark", 0, 0, G_OPTION_ARG_NONE, &c.o.spark,
		  "Print the sparklines even when not on a terminal", NULL },
		{ "no-spark", 0, 0, G_OPTION_ARG_NONE, &c.o.no_spark,
		  "No sparklines", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionEntry compare[] = {
		{ "vs-from", 0, 0, G_OPTION_ARG_STRING, &c.vs_from,
		  "Start of the period before", "TIME" },
		{ "vs-to", 0, 0, G_OPTION_ARG_STRING, &c.vs_to,
		  "End of the period before", "TIME" },
		{ "shift", 0, 0, G_OPTION_ARG_STRING, &c.shift,
		  "The period before is the range this much earlier",
		  "DURATION" },
		{ "metric", 0, 0, G_OPTION_ARG_STRING, &c.o.metric,
		  "ttfb (default) or ttlb", "METRIC" },
		{ "count", 'n', 0, G_OPTION_ARG_INT, &c.o.count,
		  "At most N signatures, the busiest (default all)", "N" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionEntry clients[] = {
		{ "client", 0, 0, G_OPTION_ARG_STRING, &c.o.client,
		  "This client, step by step", "ADDR" },
		{ "count", 'n', 0, G_OPTION_ARG_INT, &c.o.count,
		  "Clients per sensor and step (default 5)", "N" },
		{ "step", 0, 0, G_OPTION_ARG_STRING, &c.step,
		  "Step (default 1h)", "DURATION" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionEntry health[] = {
		{ "step", 0, 0, G_OPTION_ARG_STRING, &c.step,
		  "One row per sensor and STEP (default: about 50 rows)",
		  "DURATION" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionEntry sla[] = {
		{ "metric", 0, 0, G_OPTION_ARG_STRING, &c.o.metric,
		  "ttfb (default) or ttlb", "METRIC" },
		{ "percentile", 0, 0, G_OPTION_ARG_DOUBLE, &c.percentile,
		  "Percentile mode: this percentile (default 95)", "P" },
		{ "threshold", 0, 0, G_OPTION_ARG_STRING, &c.threshold,
		  "Same as -c", "DURATION" },
		{ "warning", 'w', 0, G_OPTION_ARG_STRING, &c.o.warn,
		  "WARNING threshold (Nagios range)", "RANGE" },
		{ "critical", 'c', 0, G_OPTION_ARG_STRING, &c.o.crit,
		  "CRITICAL threshold (Nagios range)", "RANGE" },
		{ "under", 0, 0, G_OPTION_ARG_STRING, &c.under,
		  "Fraction mode: % of transactions faster than DURATION",
		  "DURATION" },
		{ "window", 0, 0, G_OPTION_ARG_STRING, &c.window,
		  "The last DURATION before --to (default 20; bare: minutes)",
		  "DURATION" },
		{ "min-transactions", 0, 0, G_OPTION_ARG_INT64, &c.min_txns,
		  "Fewer in the window is UNKNOWN (default 1)", "N" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionEntry html[] = {
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &c.o.output,
		  "Write the page to FILE (- for stdout)", "FILE" },
		{ "title", 0, 0, G_OPTION_ARG_STRING, &c.o.title,
		  "The page's title", "TEXT" },
		{ "count", 'n', 0, G_OPTION_ARG_INT, &c.o.count,
		  "Charts for the N busiest signatures (default 12)", "N" },
		{ "step", 0, 0, G_OPTION_ARG_STRING, &c.step,
		  "Chart step (default: about 150 points)", "DURATION" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionEntry *own = NULL;
	if (cmd->run == cmd_top)
		own = top;
	else if (cmd->run == cmd_series)
		own = series;
	else if (cmd->run == cmd_compare) {
		own = compare;
		c.o.count = 0;
	} else if (cmd->run == cmd_clients) {
		own = clients;
		c.o.count = 5;
	} else if (cmd->run == cmd_health)
		own = health;
	else if (cmd->run == cmd_sla)
		own = sla;
	else if (cmd->run == cmd_html) {
		own = html;
		c.o.count = 12;
	}

	g_autofree gchar *param = g_strdup_printf("%s - %s", cmd->name,
						  cmd->summary);
	GOptionContext *ctx = g_option_context_new(param);
	g_option_context_set_description(ctx, cmd->help);
	g_option_context_add_main_entries(ctx, common, NULL);
	if (own) {
		GOptionGroup *grp = g_option_group_new(
			cmd->name, "Options of this command:",
			"Show this command's own options", NULL, NULL);
		g_option_group_add_entries(grp, own);
		g_option_context_add_group(ctx, grp);
	}
	GOptionEntry ver[] = {
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &c.version,
		  "Print the version and exit", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_option_context_add_main_entries(ctx, ver, NULL);
	/* argv[1] is the command: GOption sees "artmon-report" then the
	 * options. */
	int ac = argc - 1;
	char **av = g_new0(char *, (size_t)argc + 1);
	av[0] = argv[0];
	for (int i = 2; i < argc; i++)
		av[i - 1] = argv[i];
	char **avp = av;
	if (!g_option_context_parse(ctx, &ac, &avp, &err)) {
		rc = usage_error(cmd->sla, "%s %s: %s", cmd->name,
				 err->message, "(try --help)");
		g_clear_error(&err);
		goto out;
	}
	if (c.version) {
		printf("artmon-report %s\n", PACKAGE_VERSION);
		rc = EXIT_OK;
		goto out;
	}
	if (ac > 1) {
		rc = usage_error(cmd->sla, "%s: unexpected argument '%s' (try "
				 "--help)", cmd->name, avp[1]);
		goto out;
	}
	if ((rc = resolve(cmd, &c, &q)) != 0)
		goto out;

	q.db = db_connect(c.db, "artmon-report", REPORT_SCHEMA_VERSION, &err);
	if (!q.db) {
		if (cmd->sla) {
			printf("ARTMON SLA UNKNOWN - %s\n", err->message);
			g_clear_error(&err);
			rc = 3;
		} else {
			report_fail(err);
			rc = EXIT_FAIL;
		}
		goto out;
	}
	rc = cmd->run(&q, &c.o);
	PQfinish(q.db);
out:
	g_free(av);
	g_option_context_free(ctx);
	rq_clear(&q);
	g_free(c.db);
	g_free(c.from);
	g_free(c.to);
	g_free(c.last);
	g_free(c.sensor);
	g_free(c.server);
	g_free(c.protocol);
	g_free(c.signature);
	g_free(c.level);
	g_free(c.step);
	g_free(c.vs_from);
	g_free(c.vs_to);
	g_free(c.shift);
	g_free(c.under);
	g_free(c.window);
	g_free(c.threshold);
	g_free(c.o.by);
	g_free(c.o.metric);
	g_free(c.o.client);
	g_free(c.o.output);
	g_free(c.o.title);
	g_free(c.o.warn);
	g_free(c.o.crit);
	return rc;
}
