/*
 * hist.c: sparse log-bucket histograms; see hist.h for the bucket rule.
 *
 * Sparse sorted pairs rather than a dense 219-slot array: a signature's
 * latencies usually fall into a few dozen buckets, a summary row carries
 * two histograms, and an interval can hold thousands of rows, so dense
 * arrays would cost ~1.7 KiB per row for mostly zeros.  Insertion is a
 * short scan plus a memmove over at most 219 pairs.
 */
#include "config.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#include "hist.h"

int hist_bucket_ns(int64_t ns)
{
	if (ns < 0)
		return -1;
	double us = (double)ns / 1000.0;
	if (us < 1.0)
		return 0;
	double b = 1.0 + floor(log(us) / log(HIST_GROWTH));
	return b >= HIST_BUCKETS - 1 ? HIST_BUCKETS - 1 : (int)b;
}

double hist_bucket_value_us(int b)
{
	if (b <= 0)
		return 0.0;
	return pow(HIST_GROWTH, b - 1) * 2.2 / 2.1;
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof *h);
}

void hist_clear(struct hist *h)
{
	g_free(h->bucket);
	g_free(h->count);
	hist_init(h);
}

void hist_add_bucket(struct hist *h, int b, uint64_t count)
{
	unsigned i;

	if (b < 0 || b >= HIST_BUCKETS || count == 0)
		return;
	for (i = 0; i < h->n && h->bucket[i] < b; i++)
		;
	if (i < h->n && h->bucket[i] == b) {
		h->count[i] += count;
		return;
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? (uint16_t)(h->cap * 2) : 8;
		if (h->cap > HIST_BUCKETS)
			h->cap = HIST_BUCKETS;
		h->bucket = g_renew(uint8_t, h->bucket, h->cap);
		h->count = g_renew(uint64_t, h->count, h->cap);
	}
	memmove(h->bucket + i + 1, h->bucket + i, h->n - i);
	memmove(h->count + i + 1, h->count + i, (h->n - i) * sizeof *h->count);
	h->bucket[i] = (uint8_t)b;
	h->count[i] = count;
	h->n++;
}

void hist_add_ns(struct hist *h, int64_t ns)
{
	hist_add_bucket(h, hist_bucket_ns(ns), 1);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	for (unsigned i = 0; i < src->n; i++)
		hist_add_bucket(dst, src->bucket[i], src->count[i]);
}

uint64_t hist_total(const struct hist *h)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < h->n; i++)
		t += h->count[i];
	return t;
}

double hist_percentile_us(const struct hist *h, double q)
{
	uint64_t total = hist_total(h);

	if (total == 0)
		return -1.0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	uint64_t rank = (uint64_t)ceil(q * (double)total);
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < h->n; i++) {
		seen += h->count[i];
		if (seen >= rank)
			return hist_bucket_value_us(h->bucket[i]);
	}
	return hist_bucket_value_us(h->bucket[h->n - 1]);
}
