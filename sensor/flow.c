/*
 * flow.c: hash table, LRU lists and allocation of flows.
 *
 * Why not GHashTable: the table is hit once per packet and must keep its
 * memory bounded and predictable.  An intrusive chained table (the chain
 * link lives in the flow) costs four bytes per bucket and never more
 * buckets than the cap's power of two, and keeps the key inline, so a
 * lookup is a hash,
 * one bucket load and a 40-byte compare per chained flow (chains average
 * under one).  The hash is keyed with a random seed so that an attacker
 * cannot aim many flows at one chain.
 *
 * Flows are carved from blocks of FLOW_SLAB flows and recycled through a
 * free list: no malloc per flow, no malloc header per flow.  Links are
 * 32-bit ids (index + 1, so 0 means none) rather than pointers, which
 * saves 12 bytes per flow, a few percent of a million flows' memory.
 * Blocks are kept until the table is destroyed, so memory grows to the
 * peak number of flows (at most the cap) and stays there; that is the
 * bound we document.
 *
 * The buckets start at FLOW_BUCKETS_MIN and double whenever the flows
 * outnumber them, up to the cap's size.  Sized for the cap from the
 * start (4 MB for a million flows), a table holding the fifteen thousand
 * flows of a busy DNS server missed the cache on nearly every lookup:
 * that cost 9% of the sensor's CPU on bench/'s DNS capture.  A doubling
 * rehashes every flow once (a few ms at a million), at most log2 of the
 * cap times in a process's life, since buckets are never given back.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "flow.h"

#define FLOW_SLAB_SHIFT 10
#define FLOW_SLAB (1u << FLOW_SLAB_SHIFT)
#define FLOW_BUCKETS_MIN 1024u

static inline struct flow *at(const struct flow_table *ft, uint32_t id)
{
	if (!id)
		return NULL;
	uint32_t i = id - 1;
	return &ft->slabs[i >> FLOW_SLAB_SHIFT][i & (FLOW_SLAB - 1)];
}

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

void flow_table_init(struct flow_table *ft, uint32_t cap,
		     const int64_t timeouts_ns[FLOW_NCLASS],
		     flow_release_fn release, void *ctx)
{
	memset(ft, 0, sizeof *ft);
	if (cap < 16)
		cap = 16;
	ft->cap = cap;
	/* At most the next power of two >= cap, so chains average <= 1. */
	uint32_t n = 16;
	while (n < cap && n < (1u << 30))
		n <<= 1;
	ft->buckets_max = n;
	if (n > FLOW_BUCKETS_MIN)
		n = FLOW_BUCKETS_MIN;
	ft->buckets = g_new0(uint32_t, n);
	ft->mask = n - 1;
	for (int c = 0; c < FLOW_NCLASS; c++)
		ft->lru[c].timeout_ns = timeouts_ns[c];
	ft->seed[0] = ((uint64_t)g_random_int() << 32) | g_random_int();
	ft->seed[1] = ((uint64_t)g_random_int() << 32) | g_random_int();
	ft->release = release;
	ft->release_ctx = ctx;
}

void flow_key_make(struct flow_key *key, const struct pkt *p, int *side)
{
	size_t alen = p->family == 6 ? 16 : 4;
	int cmp = memcmp(p->src.a, p->dst.a, alen);

	if (cmp == 0)
		cmp = (p->sport > p->dport) - (p->sport < p->dport);
	memset(key, 0, sizeof *key);
	key->proto = p->proto;
	key->family = p->family;
	if (cmp <= 0) {
		memcpy(key->addr[0].a, p->src.a, alen);
		memcpy(key->addr[1].a, p->dst.a, alen);
		key->port[0] = p->sport;
		key->port[1] = p->dport;
		*side = 0;
	} else {
		memcpy(key->addr[0].a, p->dst.a, alen);
		memcpy(key->addr[1].a, p->src.a, alen);
		key->port[0] = p->dport;
		key->port[1] = p->sport;
		*side = 1;
	}
}

uint32_t flow_hash(const struct flow_table *ft, const struct flow_key *key)
{
	uint64_t w[5];
	_Static_assert(sizeof(struct flow_key) == sizeof w, "flow_key size");

	memcpy(w, key, sizeof w);
	uint64_t h = ft->seed[0];
	for (int i = 0; i < 5; i++)
		h = mix64(h ^ w[i]) + ft->seed[1];
	return (uint32_t)(h ^ (h >> 32));
}

struct flow *flow_find(struct flow_table *ft, const struct flow_key *key,
		       uint32_t hash)
{
	for (struct flow *f = at(ft, ft->buckets[hash & ft->mask]); f;
	     f = at(ft, f->hnext))
		if (memcmp(&f->key, key, sizeof *key) == 0)
			return f;
	return NULL;
}

/* ----------------------------------------------------------------------
 * LRU lists
 */

static void lru_unlink(struct flow_table *ft, struct flow *f)
{
	struct flow *prev = at(ft, f->lru_prev), *next = at(ft, f->lru_next);

	if (prev)
		prev->lru_next = f->lru_next;
	else
		ft->lru[f->cls].head = f->lru_next;
	if (next)
		next->lru_prev = f->lru_prev;
	else
		ft->lru[f->cls].tail = f->lru_prev;
	f->lru_prev = f->lru_next = 0;
}

static void lru_append(struct flow_table *ft, struct flow *f)
{
	struct flow *tail = at(ft, ft->lru[f->cls].tail);

	f->lru_prev = ft->lru[f->cls].tail;
	f->lru_next = 0;
	if (tail)
		tail->lru_next = f->id;
	else
		ft->lru[f->cls].head = f->id;
	ft->lru[f->cls].tail = f->id;
}

void flow_touch(struct flow_table *ft, struct flow *f, enum flow_class cls,
		int64_t now)
{
	/* Packet times can step back a little (per-CPU capture); a flow's
	 * clock never does, which keeps each list ordered. */
	if (now > f->last_ts)
		f->last_ts = now;
	if (f->cls == cls && ft->lru[cls].tail == f->id)
		return;
	lru_unlink(ft, f);
	f->cls = (uint8_t)cls;
	lru_append(ft, f);
}

/* ----------------------------------------------------------------------
 * Allocation
 */

static struct flow *flow_alloc(struct flow_table *ft)
{
	if (!ft->free_list) {
		if (ft->nslabs == ft->slab_alloc) {
			ft->slab_alloc = ft->slab_alloc ? ft->slab_alloc * 2 : 16;
			ft->slabs = g_renew(struct flow *, ft->slabs,
					    ft->slab_alloc);
		}
		struct flow *block = g_new(struct flow, FLOW_SLAB);
		uint32_t base = ft->nslabs << FLOW_SLAB_SHIFT;
		ft->slabs[ft->nslabs++] = block;
		for (uint32_t i = FLOW_SLAB; i-- > 0;) {
			block[i].id = base + i + 1;
			block[i].hnext = ft->free_list;
			ft->free_list = block[i].id;
		}
	}
	struct flow *f = at(ft, ft->free_list);
	uint32_t id = f->id;
	ft->free_list = f->hnext;
	memset(f, 0, sizeof *f);
	f->id = id;
	return f;
}

static void unlink_hash(struct flow_table *ft, struct flow *f)
{
	uint32_t *pp = &ft->buckets[flow_hash(ft, &f->key) & ft->mask];
	while (*pp != f->id)
		pp = &at(ft, *pp)->hnext;
	*pp = f->hnext;
}

void flow_remove(struct flow_table *ft, struct flow *f, enum flow_end why)
{
	/* Unlink first: release() may look flows up but must not find this
	 * one half torn down. */
	unlink_hash(ft, f);
	lru_unlink(ft, f);
	ft->count--;
	if (ft->release)
		ft->release(ft->release_ctx, f, why);
	f->hnext = ft->free_list;
	ft->free_list = f->id;
}

struct flow *flow_oldest(struct flow_table *ft)
{
	struct flow *oldest = NULL;
	for (int c = 0; c < FLOW_NCLASS; c++) {
		struct flow *h = at(ft, ft->lru[c].head);
		if (h && (!oldest || h->last_ts < oldest->last_ts))
			oldest = h;
	}
	return oldest;
}

/* Twice the buckets, every flow rehashed into them (see the top). */
static void grow_buckets(struct flow_table *ft)
{
	uint32_t n = (ft->mask + 1) * 2;
	uint32_t *nb = g_new0(uint32_t, n);

	for (uint32_t b = 0; b <= ft->mask; b++) {
		uint32_t id = ft->buckets[b];
		while (id) {
			struct flow *f = at(ft, id);
			uint32_t next = f->hnext;
			uint32_t i = flow_hash(ft, &f->key) & (n - 1);
			f->hnext = nb[i];
			nb[i] = id;
			id = next;
		}
	}
	g_free(ft->buckets);
	ft->buckets = nb;
	ft->mask = n - 1;
}

struct flow *flow_insert(struct flow_table *ft, const struct flow_key *key,
			 uint32_t hash, enum flow_class cls, int64_t now)
{
	if (ft->count >= ft->cap) {
		struct flow *victim = flow_oldest(ft);
		if (victim) {
			ft->evicted++;
			flow_remove(ft, victim, FLOW_END_EVICTED);
		}
	}
	if (ft->count >= ft->mask + 1 && ft->mask + 1 < ft->buckets_max)
		grow_buckets(ft);
	struct flow *f = flow_alloc(ft);
	f->key = *key;
	f->cls = (uint8_t)cls;
	f->last_ts = now;
	uint32_t b = hash & ft->mask;
	f->hnext = ft->buckets[b];
	ft->buckets[b] = f->id;
	lru_append(ft, f);
	ft->count++;
	ft->created++;
	if (ft->count > ft->peak)
		ft->peak = ft->count;
	return f;
}

void flow_expire(struct flow_table *ft, int64_t now)
{
	for (int c = 0; c < FLOW_NCLASS; c++) {
		struct flow *f;
		while ((f = at(ft, ft->lru[c].head)) &&
		       f->last_ts + ft->lru[c].timeout_ns < now) {
			ft->expired++;
			flow_remove(ft, f, FLOW_END_IDLE);
		}
	}
}

void flow_table_destroy(struct flow_table *ft)
{
	struct flow *f;

	while ((f = flow_oldest(ft)))
		flow_remove(ft, f, FLOW_END_SHUTDOWN);
	for (unsigned i = 0; i < ft->nslabs; i++)
		g_free(ft->slabs[i]);
	g_free(ft->slabs);
	g_free(ft->buckets);
	memset(ft, 0, sizeof *ft);
}
