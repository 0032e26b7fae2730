/*
 * sketch.h: bounded-memory counting for the sensor's health rows.
 *
 * distinct: how many distinct client addresses an interval saw; exact up
 * to a cap, then a HyperLogLog estimate (2^12 registers, about 1.6%
 * standard error), marked as estimated.  The HLL is fed from the start, so
 * switching loses nothing.  "Exact" is a set of 64-bit hashes of the
 * addresses, open-addressed: no allocation per address, and two addresses
 * share a hash with probability ~1e-10 at the default cap of 100000.
 *
 * topk: the heaviest clients by transactions, with the Space-Saving
 * algorithm (Metwally et al.): k counters; a new key replaces the smallest
 * and inherits its count as its error bound.  Any key whose true count is
 * above total/k is guaranteed to be present, so a client that floods a
 * server cannot hide, and memory is k entries whatever arrives.
 */
#ifndef ARTMON_SKETCH_H
#define ARTMON_SKETCH_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define HLL_BITS 12
#define HLL_REGS (1u << HLL_BITS)

struct distinct {
	uint64_t *set;		/* open addressing, 0 = empty; NULL past cap */
	uint32_t mask;		/* slots - 1 */
	uint32_t n;		/* distinct hashes in set */
	uint32_t cap;
	bool estimated;		/* went past the cap */
	uint8_t regs[HLL_REGS];
};

void distinct_init(struct distinct *d, unsigned cap);
void distinct_clear(struct distinct *d);
/* key: up to 17 bytes (family + address). */
void distinct_add(struct distinct *d, const uint8_t *key, size_t len);
uint64_t distinct_count(const struct distinct *d, bool *estimated);

#define TOPK_SLOTS 64

struct topk_slot {
	uint32_t hash;		/* of key (filled in by topk_top) */
	uint8_t key[17];	/* family, address */
	uint64_t count;
	uint64_t error;
};

/*
 * Hashes and counts are kept apart from the keys: every transaction scans
 * the hashes (a hit) or, when a new client arrives to a full table, the
 * counts (the smallest), and each of those is a few cache lines this way
 * rather than 40 bytes a slot.  A client-heavy capture (DNS: a
 * transaction every four packets) spent 6% of the sensor's time here.
 */
struct topk {
	unsigned n;
	uint32_t hash[TOPK_SLOTS];
	uint64_t count[TOPK_SLOTS];
	struct topk_slot slot[TOPK_SLOTS];	/* key and error; see above */
};

void topk_init(struct topk *t);
void topk_add(struct topk *t, const uint8_t key[17]);
/* The top `want` slots by count, into out; returns how many. */
unsigned topk_top(const struct topk *t, struct topk_slot *out,
		  unsigned want);

#endif /* ARTMON_SKETCH_H */
