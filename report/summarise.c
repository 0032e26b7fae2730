/*
 * summarise.c: artmon-summarise: the nightly level-2 roll-up and
 * retention (etc/cron.d/artmon runs it).
 *
 * Data flow: artmon.summary_l1 (5-minute rows from the collector) ->
 * artmon.level2_roll() -> artmon.summary_l2 (hours and days), then
 * artmon.level2_retention() drops old level-1 days, old level 2 and the
 * records of batches that old (sql/003_batches_retention.sql).  The
 * work is in SQL (sql/002_level2.sql), so `SELECT * FROM
 * artmon.summarise_level2()` in psql does the same; this program calls
 * the same functions a UTC day at a time, each day its own transaction
 * (an interrupted run leaves whole days rolled and the rest for the next
 * run), and shows progress on a terminal.
 *
 * Quiet when all is well and stderr is not a terminal (cron mails what
 * a job prints); -v says what it did anyway.  Failures: one line and
 * exit 1; bad arguments: exit 2.
 */
#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "rtime.h"

#define SUMMARISE_SCHEMA_VERSION 3

struct opts {
	char *db, *horizon, *bucket, *keep1, *keep2;
	gboolean no_retention, dry_run, quiet, version;
	int verbose;
};

static gboolean count_verbose(const gchar *name, const gchar *value,
			      gpointer data, GError **err)
{
	(void)name;
	(void)value;
	(void)err;
	((struct opts *)data)->verbose++;
	return TRUE;
}

static int fail(GError *err)
{
	fprintf(stderr, "artmon-summarise: %s\n", err->message);
	g_clear_error(&err);
	return 1;
}

static bool duration(const char *opt, const char *v, const char *def,
		     int64_t *secs)
{
	int64_t us;
	const char *s = v ? v : def;

	if (!rtime_parse_duration(s, US_PER_SEC, &us) || us % US_PER_SEC) {
		fprintf(stderr, "artmon-summarise: %s %s: not a duration in "
			"whole seconds (like 1h, 1d, 35d, 2y)\n", opt, s);
		return false;
	}
	*secs = us / US_PER_SEC;
	return true;
}

/* Run a one-row query; its first column as text (g_free), or NULL. */
static char *scalar(PGconn *c, const char *sql, struct db_params *p,
		    const char *what, GError **err)
{
	PGresult *r = db_exec(c, sql, p, what, err);
	char *v = NULL;

	if (r && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = g_strdup(PQgetvalue(r, 0, 0));
	else if (r)
		v = g_strdup("");
	PQclear(r);
	return v;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	GError *err = NULL;
	int rc = 2;
	PGconn *c = NULL;
	GOptionEntry entries[] = {
		{ "dbname", 'd', 0, G_OPTION_ARG_STRING, &o.db,
		  "The database: a libpq conninfo, URI or name (default: PG* "
		  "variables)", "CONNINFO" },
		{ "horizon", 0, 0, G_OPTION_ARG_STRING, &o.horizon,
		  "Roll up what is older than this (default 1d)", "DURATION" },
		{ "bucket", 0, 0, G_OPTION_ARG_STRING, &o.bucket,
		  "Level-2 bucket: divides a day, fixed by the first run "
		  "(default 1h)", "DURATION" },
		{ "keep-level1", 0, 0, G_OPTION_ARG_STRING, &o.keep1,
		  "Keep level 1 this long, whole days (default 35d)",
		  "DURATION" },
		{ "keep-level2", 0, 0, G_OPTION_ARG_STRING, &o.keep2,
		  "Keep level 2, and the records of delivered batches, this long (default 2y)", "DURATION" },
		{ "no-retention", 0, 0, G_OPTION_ARG_NONE, &o.no_retention,
		  "Roll up only; delete nothing", NULL },
		{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &o.dry_run,
		  "Say what there is to do, change nothing", NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet,
		  "No progress on a terminal", NULL },
		{ "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
		  (gpointer)count_verbose, "Say what was done, even when not "
		  "on a terminal", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &o.version,
		  "Print the version and exit", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GOptionContext *ctx = g_option_context_new(
		"- roll artmon's level-1 summaries into level 2, apply "
		"retention");
	GOptionGroup *main_group = g_option_group_new(NULL, NULL, NULL, &o,
						      NULL);
	g_option_group_add_entries(main_group, entries);
	g_option_context_set_main_group(ctx, main_group);
	g_option_context_set_description(ctx,
		"Every level-1 row older than the horizon goes into level 2 "
		"(a row per bucket\nand per day); rows that arrive late for a "
		"bucket already rolled are merged\nin on the next run.  Then "
		"level 1 older than --keep-level1 is dropped (whole\nday "
		"partitions) and level 2 older than --keep-level2 deleted.  "
		"Safe to re-run\nand to run while the collector writes.  The "
		"same in psql:\n  SELECT * FROM artmon.summarise_level2('1 "
		"day', '1 hour', '35 days', '2 years');\n\nExit: 0 done, 1 "
		"failed (the message says why), 2 bad arguments.");

	log_init("artmon-summarise", 0);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "artmon-summarise: %s (try --help)\n",
			err->message);
		g_clear_error(&err);
		goto out;
	}
	if (o.version) {
		printf("artmon-summarise %s\n", PACKAGE_VERSION);
		rc = 0;
		goto out;
	}
	if (argc > 1) {
		fprintf(stderr, "artmon-summarise: unexpected argument '%s' "
			"(try --help)\n", argv[1]);
		goto out;
	}
	int64_t horizon, bucket, keep1, keep2;
	if (!duration("--horizon", o.horizon, "1d", &horizon) ||
	    !duration("--bucket", o.bucket, "1h", &bucket) ||
	    !duration("--keep-level1", o.keep1, "35d", &keep1) ||
	    !duration("--keep-level2", o.keep2, "2y", &keep2))
		goto out;
	if (bucket < 60 || bucket > 86400 || 86400 % bucket != 0 ||
	    bucket % 60 != 0) {
		fprintf(stderr, "artmon-summarise: --bucket %s: use whole "
			"minutes that divide a day (15m, 30m, 1h, 6h, 1d)\n",
			o.bucket);
		goto out;
	}
	if (keep1 < 86400 || keep2 < keep1) {
		fprintf(stderr, "artmon-summarise: keep level 1 at least a "
			"day, and level 2 at least as long as level 1\n");
		goto out;
	}

	bool tty = !o.quiet && isatty(STDERR_FILENO);
	bool say = o.verbose > 0 || tty;
	c = db_connect(o.db, "artmon-summarise", SUMMARISE_SCHEMA_VERSION,
		       &err);
	if (!c) {
		rc = fail(err);
		goto out;
	}
	rc = 1;
	/* One run at a time per database, for the whole run (the SQL
	 * also serialises each step). */
	char *locked = scalar(c, "SELECT pg_try_advisory_lock("
			      "hashtext('artmon-summarise'))", NULL,
			      "taking the lock", &err);
	if (!locked) {
		rc = fail(err);
		goto out;
	}
	bool got = strcmp(locked, "t") == 0;
	g_free(locked);
	if (!got) {
		fprintf(stderr, "artmon-summarise: another artmon-summarise is "
			"running on this database; try later\n");
		goto out;
	}

	/* One "now" for the whole run. */
	char *now_s = scalar(c, "SELECT extract(epoch FROM now())::bigint",
			     NULL, "reading the time", &err);
	if (!now_s) {
		rc = fail(err);
		goto out;
	}
	int64_t now = strtoll(now_s, NULL, 10), upto = now - horizon;
	g_free(now_s);

	struct db_params p;
	db_params_init(&p);
	db_param_i64(&p, upto);
	db_param_i64(&p, bucket);
	PGresult *r = db_exec(c, "SELECT days, buckets FROM "
			      "artmon.level2_pending(to_timestamp($1::bigint), "
			      "$2::integer)", &p, "level2_pending", &err);
	if (!r) {
		db_params_clear(&p);
		rc = fail(err);
		goto out;
	}
	int64_t days = db_i64(r, 0, 0, 0), buckets = db_i64(r, 0, 1, 0);
	PQclear(r);
	char upto_s[40];
	rtime_format_time(rtime_floor(upto, bucket), upto_s, sizeof upto_s);
	if (o.dry_run) {
		printf("level 1 to roll up (before %s): %lld (sensor, bucket) "
		       "pairs over %lld days\n", upto_s, (long long)buckets,
		       (long long)days);
		if (!o.no_retention) {
			char a[40];
			rtime_format_time(rtime_floor(now - keep1, 86400), a,
					  sizeof a);
			printf("retention: level 1 before %s, ", a);
			rtime_format_time(now - keep2, a, sizeof a);
			printf("level 2 and batch records before %s\n", a);
		}
		db_params_clear(&p);
		rc = 0;
		goto out;
	}

	GTimer *timer = g_timer_new();
	int64_t rolled = 0, done = 0;
	for (;;) {
		if (tty) {
			fprintf(stderr, "\rartmon-summarise: rolling up day "
				"%lld of %lld (%lld of %lld buckets) ",
				(long long)MIN(done + 1, MAX(days, 1)),
				(long long)days, (long long)rolled,
				(long long)buckets);
			fflush(stderr);
		}
		char *n_s = scalar(c, "SELECT artmon.level2_roll("
				   "to_timestamp($1::bigint), $2::integer, 1)",
				   &p, "level2_roll", &err);
		if (!n_s)
			break;
		int64_t n = strtoll(n_s, NULL, 10);
		g_free(n_s);
		if (n == 0)
			break;
		rolled += n;
		done++;
		if (o.verbose > 1)
			fprintf(stderr, "%sartmon-summarise: day %lld: %lld "
				"buckets, %.1f s so far\n", tty ? "\n" : "",
				(long long)done, (long long)n,
				g_timer_elapsed(timer, NULL));
	}
	db_params_clear(&p);
	if (tty)
		fputc('\n', stderr);
	if (err) {
		g_timer_destroy(timer);
		rc = fail(err);
		goto out;
	}
	double roll_secs = g_timer_elapsed(timer, NULL);
	if (say)
		fprintf(stderr, "artmon-summarise: rolled %lld (sensor, "
			"bucket) pairs over %lld days before %s in %.1f s\n",
			(long long)rolled, (long long)done, upto_s, roll_secs);

	if (!o.no_retention) {
		db_params_init(&p);
		db_paramf(&p, "%lld seconds", (long long)keep1);
		db_paramf(&p, "%lld seconds", (long long)keep2);
		db_param_i64(&p, now);
		r = db_exec(c, "SELECT partitions_dropped, level1_rows_deleted, "
			    "level2_rows_deleted, batches_deleted FROM "
			    "artmon.level2_retention("
			    "$1::interval, $2::interval, to_timestamp($3::bigint))",
			    &p, "level2_retention", &err);
		db_params_clear(&p);
		if (!r) {
			g_timer_destroy(timer);
			rc = fail(err);
			goto out;
		}
		if (say)
			fprintf(stderr, "artmon-summarise: retention: dropped "
				"%s level-1 day partitions, deleted %s level-1 "
				"health and client rows, %s level-2 rows and %s "
				"batch records\n",
				PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
				PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
		PQclear(r);
	}
	g_timer_destroy(timer);
	rc = 0;
out:
	if (c)
		PQfinish(c);
	g_option_context_free(ctx);
	g_free(o.db);
	g_free(o.horizon);
	g_free(o.bucket);
	g_free(o.keep1);
	g_free(o.keep2);
	return rc;
}
