/*
 * sketch.c: distinct counting and heavy hitters; see sketch.h.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "sketch.h"

/* 64-bit hash of a short key: FNV-1a then a finaliser, so that the HLL
 * sees well-mixed high bits even for addresses differing in one byte. */
static uint64_t hash_key(const uint8_t *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static guint key_hash(gconstpointer k)
{
	const GBytes *b = k;
	gsize len;
	const uint8_t *p = g_bytes_get_data((GBytes *)b, &len);
	return (guint)hash_key(p, len);
}

void distinct_init(struct distinct *d, unsigned cap)
{
	memset(d, 0, sizeof *d);
	d->cap = cap;
	d->exact = g_hash_table_new_full(key_hash, g_bytes_equal,
					 (GDestroyNotify)g_bytes_unref, NULL);
}

void distinct_clear(struct distinct *d)
{
	if (d->exact)
		g_hash_table_destroy(d->exact);
	memset(d, 0, sizeof *d);
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

	if (!d->exact)
		return;
	GBytes *b = g_bytes_new(key, len);
	if (!g_hash_table_add(d->exact, b))
		return;		/* already there (the table freed one copy) */
	if (g_hash_table_size(d->exact) > d->cap) {
		g_hash_table_destroy(d->exact);
		d->exact = NULL;
	}
}

uint64_t distinct_count(const struct distinct *d, bool *estimated)
{
	if (d->exact) {
		*estimated = false;
		return g_hash_table_size(d->exact);
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
	unsigned min = 0;

	for (unsigned i = 0; i < t->n; i++) {
		if (memcmp(t->slot[i].key, key, 17) == 0) {
			t->slot[i].count++;
			return;
		}
		if (t->slot[i].count < t->slot[min].count)
			min = i;
	}
	if (t->n < TOPK_SLOTS) {
		struct topk_slot *s = &t->slot[t->n++];
		memcpy(s->key, key, 17);
		s->count = 1;
		s->error = 0;
		return;
	}
	struct topk_slot *s = &t->slot[min];
	memcpy(s->key, key, 17);
	s->error = s->count;
	s->count++;
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

	memcpy(all, t->slot, t->n * sizeof all[0]);
	qsort(all, t->n, sizeof all[0], by_count_desc);
	unsigned n = t->n < want ? t->n : want;
	memcpy(out, all, n * sizeof all[0]);
	return n;
}
