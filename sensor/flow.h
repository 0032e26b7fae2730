/*
 * flow.h: the flow table: one entry per TCP or UDP conversation.
 *
 * Both directions of a 5-tuple map to one struct flow (the key is stored in
 * canonical order, smaller endpoint first).  The table has a hard cap on
 * entries; every entry sits on one of a few LRU lists, one per idle-timeout
 * class, so expiry is "pop the head while it is too old" and eviction when
 * full is "drop the oldest head".  Memory is bounded by the cap whatever
 * arrives.
 *
 * The struct flow also carries the per-connection state of the modules
 * above (TCP halves, plugin state, open transactions); flow.c manages only
 * the hash chains, the LRU lists and the allocation.
 */
#ifndef ARTMON_FLOW_H
#define ARTMON_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "tcp_reasm.h"

struct artmon_txn;

struct flow_key {
	struct ipaddr addr[2];	/* canonical order: side 0 <= side 1 */
	uint16_t port[2];
	uint8_t proto;		/* 6 or 17 */
	uint8_t family;		/* 4 or 6 */
	uint8_t pad[2];		/* zero: the key is hashed and compared whole */
};

/* Idle-timeout classes: each has its own LRU list and timeout. */
enum flow_class {
	FLOW_TCP_OPENING,	/* SYN seen, no data yet */
	FLOW_TCP_ACTIVE,	/* established or picked up mid-stream */
	FLOW_TCP_CLOSED,	/* FIN both ways or RST: linger for last ACKs */
	FLOW_UDP,
	FLOW_NCLASS
};

/* Why a flow leaves the table. */
enum flow_end {
	FLOW_END_IDLE,		/* idle timeout (or linger after close) */
	FLOW_END_EVICTED,	/* table full: least recently active */
	FLOW_END_REUSED,	/* a new SYN on the same 5-tuple */
	FLOW_END_SHUTDOWN	/* end of capture or exit */
};

/* struct flow.flags */
#define FLOW_SYN_SEEN    0x01	/* client's SYN */
#define FLOW_SYNACK_SEEN 0x02	/* server's SYN/ACK */
#define FLOW_ESTABLISHED 0x04	/* client's ACK of the SYN/ACK */
#define FLOW_MIDSTREAM   0x08	/* no SYN seen: picked up mid-stream */
#define FLOW_STOPPED     0x10	/* plugin asked for no more bytes */
#define FLOW_IGNORED     0x20	/* no plugin wants it */
#define FLOW_CLOSED      0x40	/* FIN both ways or RST */

/*
 * A million of these must fit in well under 256 MiB with their plugin
 * state, so every byte counts: links are 32-bit flow ids (0: none), the
 * hash is recomputed rather than stored, and out-of-order buffers live in
 * a block allocated only while segments wait.  168 bytes on LP64.
 */
struct flow {
	uint32_t hnext;		/* hash chain: next flow's id */
	uint32_t lru_prev, lru_next;
	uint32_t id;		/* this flow's id (index + 1) */
	uint8_t cls;		/* enum flow_class */
	uint8_t client_side;	/* key side (0/1) that is the client */
	uint8_t flags;		/* FLOW_* */
	uint8_t plugin;		/* index + 1 into the sensor's plugins; 0 none */
	struct flow_key key;
	uint16_t ntxns;
	int64_t last_ts;	/* packet time of the last packet */
	int64_t syn_ts;		/* client's first SYN */
	int64_t hs_done_ts;	/* client's ACK of SYN/ACK; 0: not seen */
	struct tcp_half half[2];	/* [ARTMON_C2S], [ARTMON_S2C] */
	struct reasm_ooo *ooo;	/* segments waiting for a hole; NULL: none */
	void *pstate;		/* plugin's per-flow state */
	struct artmon_txn *txns;	/* open and ACK-awaiting transactions */
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct flow) <= 168,
	       "struct flow grew past 168 bytes: see the comment above it");

typedef void (*flow_release_fn)(void *ctx, struct flow *f, enum flow_end why);

struct flow_table {
	uint32_t *buckets;	/* flow ids */
	uint32_t mask;		/* buckets - 1 (a power of two) */
	uint32_t buckets_max;	/* what they may grow to: pow2 >= cap */
	uint32_t count;		/* flows in the table */
	uint32_t cap;		/* hard limit */
	struct {
		uint32_t head, tail;	/* head: least recently active */
		int64_t timeout_ns;
	} lru[FLOW_NCLASS];
	uint64_t seed[2];	/* random hash key against collision floods */
	uint32_t free_list;	/* id of the first free flow */
	struct flow **slabs;	/* blocks of FLOW_SLAB flows, by id */
	unsigned nslabs, slab_alloc;
	flow_release_fn release;
	void *release_ctx;
	/* counters */
	uint64_t created, evicted, expired, peak;
};

/*
 * Set up a table for at most cap flows.  timeouts_ns[c] is the idle timeout
 * of class c.  release is called for each flow leaving the table, before
 * it is freed (the owner closes plugins and emits transactions there).
 */
void flow_table_init(struct flow_table *ft, uint32_t cap,
		     const int64_t timeouts_ns[FLOW_NCLASS],
		     flow_release_fn release, void *ctx);
/* Release every flow (FLOW_END_SHUTDOWN) and free all memory. */
void flow_table_destroy(struct flow_table *ft);

/* Canonicalise: fills key from a packet; *side is the key side of src. */
void flow_key_make(struct flow_key *key, const struct pkt *p, int *side);
uint32_t flow_hash(const struct flow_table *ft, const struct flow_key *key);

struct flow *flow_find(struct flow_table *ft, const struct flow_key *key,
		       uint32_t hash);
/*
 * Insert a new, zeroed flow for key (which must not be present).  If the
 * table is full, the least recently active flow is evicted first.
 */
struct flow *flow_insert(struct flow_table *ft, const struct flow_key *key,
			 uint32_t hash, enum flow_class cls, int64_t now);

/* Mark activity: f moves to the tail of its class (optionally a new one). */
void flow_touch(struct flow_table *ft, struct flow *f, enum flow_class cls,
		int64_t now);

/* Release and free every flow idle for longer than its class timeout. */
void flow_expire(struct flow_table *ft, int64_t now);

/* Release (with why) and free one flow. */
void flow_remove(struct flow_table *ft, struct flow *f, enum flow_end why);

/* The least recently active flow of all classes, or NULL if empty. */
struct flow *flow_oldest(struct flow_table *ft);

#endif /* ARTMON_FLOW_H */
