/*
 * sketch.c: distinct counting and heavy hitters; see sketch.h.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "sketch.h"

/*
 * 64-bit hash of a short key (a client: family and 16 address bytes),
 * eight bytes at a time with a multiply-xorshift mix, then a finaliser so
 * that the HLL sees well-mixed high bits even for addresses differing in
 * one byte.  It runs twice per transaction (heavy hitters, distinct
 * clients), so not byte by byte: FNV-1a over 17 bytes is 17 dependent
 * multiplies.
 */
static uint64_t hash_key(const uint8_t *key, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, key, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		key += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;
		memcpy(&w, key, len);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

void distinct_init(struct distinct *d, unsigned cap)
{
	memset(d, 0, sizeof *d);
	d->cap = cap;
	d->mask = 1023;
	d->set = g_new0(uint64_t, d->mask + 1);
}

void distinct_clear(struct distinct *d)
{
	g_free(d->set);
	memset(d, 0, sizeof *d);
}

static void set_insert(uint64_t *set, uint32_t mask, uint64_t h)
{
	uint32_t i = (uint32_t)h & mask;
	while (set[i] && set[i] != h)
		i = (i + 1) & mask;
	set[i] = h;
}

void distinct_add(struct distinct *d, const uint8_t *key, size_t len)
{
	uint64_t h = hash_key(key, len);
	unsigned idx = (unsigned)(h >> (64 - HLL_BITS));
	uint64_t rest = h << HLL_BITS;
	uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1)
			    : (uint8_t)(64 - HLL_BITS + 1);
	if (rank > d->regs[idx])
		d->regs[idx] = rank;

	if (!d->set)
		return;
	if (!h)
		h = 1;		/* 0 marks an empty slot */
	uint32_t i = (uint32_t)h & d->mask;
	while (d->set[i]) {
		if (d->set[i] == h)
			return;
		i = (i + 1) & d->mask;
	}
	if (d->n >= d->cap) {
		g_free(d->set);
		d->set = NULL;
		d->estimated = true;
		return;
	}
	d->set[i] = h;
	d->n++;
	if (d->n * 2 > d->mask) {
		/* Keep the load under one half: probes stay short. */
		uint32_t nmask = d->mask * 2 + 1;
		uint64_t *ns = g_new0(uint64_t, nmask + 1);
		for (uint32_t j = 0; j <= d->mask; j++)
			if (d->set[j])
				set_insert(ns, nmask, d->set[j]);
		g_free(d->set);
		d->set = ns;
		d->mask = nmask;
	}
}

uint64_t distinct_count(const struct distinct *d, bool *estimated)
{
	if (!d->estimated) {
		*estimated = false;
		return d->n;
	}
	*estimated = true;
	/* HyperLogLog with the small-range (linear counting) correction. */
	double m = HLL_REGS, sum = 0;
	unsigned zeros = 0;
	for (unsigned i = 0; i < HLL_REGS; i++) {
		sum += ldexp(1.0, -d->regs[i]);
		zeros += d->regs[i] == 0;
	}
	double alpha = 0.7213 / (1.0 + 1.079 / m);
	double e = alpha * m * m / sum;
	if (e <= 2.5 * m && zeros)
		e = m * log(m / zeros);
	return (uint64_t)(e + 0.5);
}

void topk_init(struct topk *t)
{
	memset(t, 0, sizeof *t);
}

void topk_add(struct topk *t, const uint8_t key[17])
{
	uint32_t h = (uint32_t)hash_key(key, 17);
	unsigned min = 0;

	/* Hashes first: the common case (a known client) costs one pass over
	 * an array of integers. */
	for (unsigned i = 0; i < t->n; i++)
		if (t->hash[i] == h && memcmp(t->slot[i].key, key, 17) == 0) {
			t->count[i]++;
			return;
		}
	if (t->n < TOPK_SLOTS) {
		unsigned i = t->n++;
		t->hash[i] = h;
		t->count[i] = 1;
		memcpy(t->slot[i].key, key, 17);
		t->slot[i].error = 0;
		return;
	}
	for (unsigned i = 1; i < t->n; i++)
		if (t->count[i] < t->count[min])
			min = i;
	t->hash[min] = h;
	memcpy(t->slot[min].key, key, 17);
	t->slot[min].error = t->count[min];
	t->count[min]++;
}

static int by_count_desc(const void *a, const void *b)
{
	const struct topk_slot *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return memcmp(x->key, y->key, 17);
}

unsigned topk_top(const struct topk *t, struct topk_slot *out, unsigned want)
{
	struct topk_slot all[TOPK_SLOTS];

	for (unsigned i = 0; i < t->n; i++) {
		all[i] = t->slot[i];
		all[i].hash = t->hash[i];
		all[i].count = t->count[i];
	}
	qsort(all, t->n, sizeof all[0], by_count_desc);
	unsigned n = t->n < want ? t->n : want;
	memcpy(out, all, n * sizeof all[0]);
	return n;
}
