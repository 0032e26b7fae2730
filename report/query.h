/*
 * query.h: what every artmon-report subcommand asks, and how it asks it.
 *
 * A struct rq is the question common to all subcommands: a time range
 * [from, to), filters (sensor, server address and port, protocol,
 * signature pattern), the output format, and which level to read.  This
 * module turns it into the parameters of fixed SQL text, reads summary
 * rows through artmon.summary_rows() (level 1 where it exists, level 2
 * beyond and where it holds whole buckets complete: sql/002_level2.sql),
 * and merges them into groups (by signature, by server, by time step),
 * each with its counts, sums and merged histograms.
 *
 * Percentiles are computed here from the merged histograms with
 * lib/hist.c, which uses the rule of SQL's artmon.percentile() (nearest
 * rank, the bucket's representative value), so a report's p95 equals
 * artmon.percentile(artmon.hist_merge(ttfb_hist), 0.95) exactly.
 */
#ifndef ARTMON_REPORT_QUERY_H
#define ARTMON_REPORT_QUERY_H

#include <glib.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "hist.h"
#include "output.h"

/* Exit codes of artmon-report (sla has Nagios's own). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* the database, a query, writing */
	EXIT_USAGE = 2,		/* bad arguments */
};

#define REPORT_ERROR g_quark_from_static_string("artmon-report")
/* REPORT_ERROR codes: which exit code the error means. */
enum { REPORT_ERR_USAGE = 2, REPORT_ERR_FAIL = 1 };

enum rq_level { LEVEL_AUTO, LEVEL_1, LEVEL_2 };

struct rq {
	PGconn *db;
	const char *cmd;		/* subcommand name */
	enum out_format fmt;
	int64_t now;			/* epoch seconds */
	int64_t from, to;		/* [from, to), epoch seconds */
	char *sensor;			/* exact name, or NULL */
	char *server_addr;		/* canonical address text, or NULL */
	int server_port;		/* -1: any */
	char *protocol;			/* exact, or NULL */
	char *signature;		/* the pattern as given, or NULL */
	char *sig_like;			/* it as a LIKE pattern */
	enum rq_level level;
};

void rq_clear(struct rq *q);

/*
 * Check and store the filters from the command line (server "ADDR",
 * "ADDR:PORT", "[V6]:PORT"; signature a glob with * and ?).  -1 with a
 * REPORT_ERR_USAGE err for a malformed value.
 */
int rq_set_filters(struct rq *q, const char *sensor, const char *server,
		   const char *protocol, const char *signature, GError **err);

/*
 * The length of the longest rows a question may merge: want (the step
 * of a series, or 86400 for a whole range) unless --level says 1 (level
 * 1 where it exists) or 2 (level-2 buckets, no day rows).
 */
int rq_resolution(const struct rq *q, int64_t want);

/*
 * $1..$8 for RQ_ROWS: from, to (epoch), sensor, server address, server
 * port, protocol, signature LIKE pattern, resolution.
 */
void rq_params(const struct rq *q, struct db_params *p, int64_t from,
	       int64_t to, int resolution);

/* Summary rows of the question, filtered: "FROM ... WHERE ..." (alias s;
 * the sensor's name is n.name).  Commands add GROUP BY and use $9 on. */
#define RQ_ROWS \
	" FROM artmon.summary_rows(to_timestamp($1::bigint), " \
	"to_timestamp($2::bigint), $8::integer) s " \
	"JOIN artmon.sensors n USING (sensor_id) " \
	"WHERE ($3::text IS NULL OR n.name = $3) " \
	"AND ($4::inet IS NULL OR s.server_addr = $4::inet) " \
	"AND ($5::integer IS NULL OR s.server_port = $5::integer) " \
	"AND ($6::text IS NULL OR s.protocol = $6) " \
	"AND ($7::text IS NULL OR s.signature LIKE $7) "

/*
 * Which level the rows of [from, to) at resolution come from, for
 * people: "level 1 (as sent) 09:17-10:00, level 2 hours 10:00-13:00,
 * ...".  NULL with err if the query fails.
 */
char *rq_sources(const struct rq *q, int64_t from, int64_t to,
		 int resolution, GError **err);

/*
 * Called when a question found nothing: if a filter matches nothing in
 * the whole database (a typo, not a quiet period), -1 with a
 * REPORT_ERR_USAGE err naming it; 0 if the filters are known.
 */
int rq_check_filters(const struct rq *q, GError **err);

/* How groups are keyed. */
enum group_by {
	GROUP_SIGNATURE,	/* key1 protocol, key2 signature */
	GROUP_SERVER,		/* key1 address, port */
	GROUP_TIME,		/* t: the step's start */
	GROUP_TOTAL,		/* one group */
};

/* One group's merged rows. */
struct agg {
	char *key1, *key2;
	int port;
	int64_t t;
	int64_t transactions, errors, timeouts;
	int64_t ttfb_count, ttlb_count, rtt_count;
	double ttfb_sum, ttlb_sum, rtt_sum;	/* us */
	double ttfb_max;			/* us; NAN if none */
	int64_t signatures;			/* distinct in the group */
	struct hist ttfb, ttlb;
};

/*
 * The merged values of a group, for "SELECT key1, key2, port, t, "
 * AGG_SUMS ", signatures, " AGG_HISTS RQ_ROWS "GROUP BY ...": columns 4
 * to 13, then the count of signatures (14), then the histograms (15, 16).
 */
#define AGG_SUMS \
	"sum(s.transactions)::bigint, sum(s.errors)::bigint, " \
	"sum(s.timeouts)::bigint, sum(s.ttfb_us_count)::bigint, " \
	"sum(s.ttfb_us_sum)::float8, sum(s.ttlb_us_count)::bigint, " \
	"sum(s.ttlb_us_sum)::float8, sum(s.handshake_rtt_us_count)::bigint, " \
	"sum(s.handshake_rtt_us_sum)::float8, max(s.ttfb_us_max)"
#define AGG_HISTS \
	"artmon.hist_merge(s.ttfb_hist)::text, " \
	"artmon.hist_merge(s.ttlb_hist)::text"

/* Row i of such a result as a new struct agg (free with agg_free). */
struct agg *agg_read(const PGresult *r, int i);
void agg_free(gpointer p);

/*
 * Merge the question's rows of [from, to) into groups (GROUP_TIME: of
 * step seconds).  A GPtrArray of struct agg (free with the array), or
 * NULL with err.
 */
GPtrArray *rq_aggregate(const struct rq *q, enum group_by by, int64_t from,
			int64_t to, int64_t step, int resolution,
			GError **err);

/* Percentile q (0..1) of a histogram in milliseconds; NAN if empty. */
double agg_pct_ms(const struct hist *h, double q);
/* sum / count in milliseconds; NAN if count is 0. */
double agg_avg_ms(double sum_us, int64_t count);
/* errors / transactions in percent; NAN if none. */
double agg_err_pct(const struct agg *a);

/* A "{b,c,b,c}" text array into h (which is cleared first). */
bool hist_from_text(struct hist *h, const char *s);

/* "2026-11-20 09:00 .. 15:00 UTC (6h)" for titles. */
char *rq_range_text(int64_t from, int64_t to);

/* The filters as given, for titles ("" when none). */
char *rq_filter_text(const struct rq *q);

#endif /* ARTMON_REPORT_QUERY_H */
