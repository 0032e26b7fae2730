/*
 * commands.h: the subcommands of artmon-report, one file each
 * (report/cmd_*.c), and the options only some of them take.
 *
 * main.c parses the command line into a struct rq (the question every
 * subcommand shares: range, filters, format, level; query.h) and a
 * struct cmd_opts, connects, and calls the subcommand, whose return
 * value is the exit code.
 */
#ifndef ARTMON_REPORT_COMMANDS_H
#define ARTMON_REPORT_COMMANDS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "query.h"

struct cmd_opts {
	int count;		/* -n: rows (top, clients, html) */
	char *by;		/* top: slowest, busiest, failing */
	bool servers;		/* top: servers instead of signatures */
	char *metric;		/* ttfb or ttlb */
	double percentile;	/* 0..100 */
	int64_t step;		/* seconds; 0: automatic */
	bool spark, no_spark;	/* series: force the sparkline on/off */
	int64_t vs_from, vs_to;	/* compare: the other period */
	int64_t shift;		/* compare: it is the range this much earlier */
	char *client;		/* clients: one client hour by hour */
	char *output;		/* html: the file */
	char *title;		/* html: the page's title */
	/* sla */
	char *warn, *crit;	/* -w/-c: Nagios thresholds, as given */
	int64_t under_us;	/* fraction mode: the latency threshold */
	int64_t window;		/* seconds */
	int64_t min_txns;
};

int cmd_summary(struct rq *q, struct cmd_opts *o);
int cmd_top(struct rq *q, struct cmd_opts *o);
int cmd_series(struct rq *q, struct cmd_opts *o);
int cmd_compare(struct rq *q, struct cmd_opts *o);
int cmd_clients(struct rq *q, struct cmd_opts *o);
int cmd_health(struct rq *q, struct cmd_opts *o);
int cmd_sla(struct rq *q, struct cmd_opts *o);
int cmd_html(struct rq *q, struct cmd_opts *o);

/* Sensor health per sensor and step (cmd_health.c), ordered by sensor
 * and step; the columns: */
enum health_col {
	H_SENSOR, H_START, H_PACKETS, H_BYTES, H_DROPS, H_MALFORMED,
	H_FLOWS_CREATED, H_FLOWS_ACTIVE, H_EVICTED, H_CLIENTS, H_ESTIMATED,
	H_CONN_AVG, H_CONN_MAX, H_TRANSACTIONS, H_LOST, H_COVERED, H_GAPS,
};
PGresult *health_query(const struct rq *q, int64_t from, int64_t to,
		       int64_t step, int res, GError **err);

/* Print "artmon-report: MESSAGE" and return the exit code err means
 * (2 for a usage error, else 1); frees err. */
int report_fail(GError *err);

/*
 * rq_aggregate, and when it finds nothing, rq_check_filters: a filter
 * that names nothing in the database (a typo) is an error, not an empty
 * answer.  NULL with err either way.
 */
GPtrArray *report_aggregate(const struct rq *q, enum group_by by,
			    int64_t from, int64_t to, int64_t step, int res,
			    GError **err);

/* A new table titled "artmon-report CMD: RANGE FILTERS" with the
 * sources line; NULL with err if the sources cannot be read. */
struct table *report_table(const struct rq *q, int64_t from, int64_t to,
			   int resolution, GError **err);

/* Print t in q's format; the exit code. */
int report_print(const struct rq *q, struct table *t);

/* Is metric "ttfb" or "ttlb" (NULL: ttfb)?  Sets *ttlb. */
bool metric_is_ttlb(const char *metric, bool *ttlb);

#endif /* ARTMON_REPORT_COMMANDS_H */
