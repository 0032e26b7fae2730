/*
 * hist.h: mergeable log-bucket histograms of durations.
 *
 * Every histogram in artmon (sensor summaries, the wire, PostgreSQL,
 * reports) uses the same buckets, so two histograms merge by adding counts
 * and a percentile of any merge (an hour, a day, several servers) is as
 * exact as one of a single interval: within the bucket.
 *
 * Buckets, for a duration v in microseconds:
 *   bucket 0                      v < 1 us
 *   bucket b = 1 + floor(ln(v) / ln(1.1)), capped at HIST_BUCKETS - 1
 * so bucket b >= 1 holds [1.1^(b-1), 1.1^b) us.  Its representative value
 * is 1.1^(b-1) * 2.2 / 2.1 (the point whose relative distance to both
 * edges is equal), which is within (1.1 - 1) / (1.1 + 1) = 4.77% of every
 * value in the bucket.  The last bucket (218) starts at 1.1^217 us
 * (about 959 s): from 1 us to 959 s the error bound holds; beyond, values
 * are clamped into the last bucket.  docs/metrics.md repeats this for SQL.
 *
 * In memory and on the wire a histogram is sparse: only non-empty buckets,
 * as (bucket, count) pairs in increasing bucket order.
 */
#ifndef ARTMON_HIST_H
#define ARTMON_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_BUCKETS 219
#define HIST_GROWTH 1.1

struct hist {
	uint16_t n;		/* non-empty buckets */
	uint16_t cap;		/* allocated pairs */
	uint8_t *bucket;	/* [n], increasing */
	uint64_t *count;	/* [n] */
};

/* Bucket of a duration in nanoseconds (negative: not a value, -1). */
int hist_bucket_ns(int64_t ns);
/* Representative value of bucket b, in microseconds. */
double hist_bucket_value_us(int b);

void hist_init(struct hist *h);
void hist_clear(struct hist *h);	/* frees */
void hist_add_bucket(struct hist *h, int b, uint64_t count);
void hist_add_ns(struct hist *h, int64_t ns);
void hist_merge(struct hist *dst, const struct hist *src);
uint64_t hist_total(const struct hist *h);

/*
 * The value (us) at fraction q (0..1) of the distribution: the
 * representative of the bucket holding the ceil(q * total)-th value
 * (the nearest-rank method).  -1 if the histogram is empty.
 */
double hist_percentile_us(const struct hist *h, double q);

#endif /* ARTMON_HIST_H */
