/*
 * summary_types.h: what a sensor ships: interval summary rows and health.
 *
 * Shared by the sensor (which builds them), the wire codec (which carries
 * them), the collector (which stores them) and the tests.  The names of the
 * metrics here are the names of the columns in PostgreSQL and in
 * `artmon-sensor --summaries csv`; docs/metrics.md defines each.
 */
#ifndef ARTMON_SUMMARY_TYPES_H
#define ARTMON_SUMMARY_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "hist.h"

/* Per-transaction values aggregated as count/min/max/sum. */
enum summary_metric {
	SM_REQUEST_US,		/* request's first -> last packet */
	SM_TTFB_US,
	SM_TTLB_US,
	SM_HANDSHAKE_RTT_US,
	SM_CLIENT_ACK_US,
	SM_REQUEST_BYTES,
	SM_RESPONSE_BYTES,
	SM_REQUEST_PACKETS,
	SM_SERVER_PACKETS,
	SM_SERVER_PKT_BYTES,	/* count: server packets; min/max: sizes */
	SM_SERVER_MSS,
	SM_SERVER_WINDOW,	/* smallest window per transaction */
	SM_NMETRICS
};

/* Column-name stems, in enum order ("ttfb_us" -> ttfb_us_count, ...). */
extern const char *const summary_metric_names[SM_NMETRICS];

struct metric_agg {
	uint64_t count;
	uint64_t sum;
	uint64_t min;		/* valid when count > 0 */
	uint64_t max;
};

/* Counts that are not metrics. */
enum summary_count {
	SC_TRANSACTIONS,
	SC_ERRORS,		/* by the plugin's rule, timeouts included */
	SC_RETRANSMISSIONS,	/* TCP segments, summed over transactions */
	SC_TIMEOUTS,		/* unanswered requests */
	SC_GAPS,		/* transactions with missing bytes */
	SC_MIDSTREAM,		/* transactions on connections picked up late */
	SC_ORPHANS,		/* responses with no request */
	SC_RETRIES,		/* requests sent again (DNS) */
	SC_NCOUNTS
};

extern const char *const summary_count_names[SC_NCOUNTS];

struct summary_row {
	int64_t interval_start;	/* epoch seconds */
	uint32_t interval_secs;
	char *protocol;		/* plugin name */
	char *signature;
	uint8_t family;		/* 4 or 6 */
	uint8_t server_addr[16];
	uint16_t server_port;
	uint64_t counts[SC_NCOUNTS];
	struct metric_agg m[SM_NMETRICS];
	struct hist ttfb_hist, ttlb_hist;
};

#define TOPK_REPORT 20

struct top_client {
	uint8_t family;
	uint8_t addr[16];
	uint64_t transactions;	/* estimate (an upper bound) */
	uint64_t error_bound;	/* it may be over by at most this much */
};

struct health_row {
	int64_t interval_start;
	uint32_t interval_secs;
	uint64_t packets, bytes;
	uint64_t kernel_drops, iface_drops;
	uint64_t malformed;
	uint64_t flows_active;	/* at the interval's end */
	uint64_t flows_created, flows_evicted;
	uint64_t gaps;		/* reassembly gaps */
	uint64_t transactions;
	uint64_t clients_distinct;
	bool clients_estimated;	/* past the exact cap: HyperLogLog estimate */
	uint64_t client_ports_distinct;
	uint32_t conn_per_sec_min, conn_per_sec_max;
	double conn_per_sec_avg;
	uint64_t output_dropped;	/* summary batches lost to a full queue */
	uint64_t spool_dropped;		/* batches dropped from a full spool */
	unsigned ntop;
	struct top_client top[TOPK_REPORT];
};

/*
 * Everything a sensor emits for one interval.  A late batch carries rows
 * for an interval already emitted (a transaction that ended after the
 * interval closed): the collector merges it; it has no health.
 */
struct summary_batch {
	int64_t interval_start;
	uint32_t interval_secs;
	bool late;
	unsigned nrows;
	struct summary_row **rows;
	struct health_row *health;	/* NULL in a late batch */
};

void summary_row_free(struct summary_row *r);
void summary_batch_free(struct summary_batch *b);

/* Merge src into dst (same key): counts and sums add, min/max combine,
 * histograms add.  Exact, associative, commutative. */
void summary_row_merge(struct summary_row *dst, const struct summary_row *src);

#endif /* ARTMON_SUMMARY_TYPES_H */
