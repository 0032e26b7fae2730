/*
 * summary.c: aggregates transactions into interval rows, keeps the
 * sensor's health per interval, and emits both when an interval closes.
 *
 * Place in the data flow: txn -> [summary] -> output thread -> printer /
 * spool -> collector.  Everything here runs on the packet thread, per
 * transaction (not per packet), except one comparison per packet in
 * session.c that calls the tick once per second of packet time.
 *
 * Two clocks of intervals.  Rows belong to the interval in which their
 * transaction's request started; health belongs to the interval of packet
 * time (packets are counted when they arrive).  Health is sealed when packet
 * time crosses the interval's end; the interval is emitted, rows and health
 * together, once packet time passes end + grace.  Late rows (a transaction
 * that ends after its interval went out) go out as a late batch, which the
 * collector merges: nothing measured is dropped, nothing is counted twice.
 *
 * Every value is kept as count/min/max/sum in whole microseconds (times)
 * or units, so rows merge exactly; ttfb and ttlb also get log-bucket
 * histograms (lib/hist.h) for percentiles.  Bounded: rows per interval are
 * capped (extra rows fold into one row per protocol with server 0.0.0.0:0),
 * the client-address set switches to HyperLogLog past its cap, the
 * heavy-hitter table has fixed size, and at most a week of empty intervals
 * is emitted across a gap in packet time.
 */
#include "config.h"

#include <string.h>

#include "log.h"
#include "sketch.h"
#include "summary.h"

#define NS 1000000000LL
#define MAX_EMPTY_INTERVALS 2016	/* a week of 5-minute intervals */

struct row_key {
	uint32_t plugin;
	uint32_t name_id;
	uint16_t port;
	uint8_t family;
	uint8_t addr[16];
	uint8_t pad;
};

struct interval {
	int64_t start;			/* epoch seconds */
	bool late;
	GHashTable *rows;		/* struct row_key* -> summary_row* */
	struct health_row *health;	/* sealed health, or NULL */
	struct topk *top;		/* clients by transactions started here */
};

/* Health being accumulated for the current packet-time interval. */
struct health_cur {
	int64_t start;			/* epoch seconds; 0: not started */
	struct sensor_counters snap;
	uint64_t flows_created, flows_evicted, gaps;
	int64_t first_sec;		/* first second seen, from start */
	int64_t last_sec;		/* last second seen, from start */
	uint32_t *conns;		/* per second of the interval */
	struct distinct clients;
	uint8_t ports[65536 / 8];
	uint64_t output_dropped, spool_dropped;
};

struct summarizer {
	struct summary_cfg cfg;
	struct sensor *s;
	batch_sink_fn sink;
	void *sink_ctx;
	GPtrArray *intervals;		/* struct interval*, any order */
	int64_t emitted_upto;		/* end (s) of the latest emitted */
	struct health_cur cur;
	bool warned_rows;
};

void summary_cfg_default(struct summary_cfg *c)
{
	c->interval_secs = 300;
	c->grace_ns = 60 * NS;
	c->max_rows = 100000;
	c->max_exact_clients = 100000;
}

static guint row_key_hash(gconstpointer p)
{
	const uint8_t *b = p;
	guint h = 2166136261u;
	for (size_t i = 0; i < sizeof(struct row_key); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static gboolean row_key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(struct row_key)) == 0;
}

static int64_t interval_of(const struct summarizer *z, int64_t ns)
{
	int64_t sec = ns >= 0 ? ns / NS : (ns - NS + 1) / NS;
	int64_t L = z->cfg.interval_secs;
	return sec - ((sec % L) + L) % L;
}

/* ----------------------------------------------------------------------
 * Intervals and rows
 */

static struct interval *find_interval(struct summarizer *z, int64_t start,
				      bool create)
{
	bool late = start < z->emitted_upto;

	for (unsigned i = 0; i < z->intervals->len; i++) {
		struct interval *iv = g_ptr_array_index(z->intervals, i);
		if (iv->start == start && iv->late == late)
			return iv;
	}
	if (!create)
		return NULL;
	struct interval *iv = g_new0(struct interval, 1);
	iv->start = start;
	iv->late = late;
	iv->rows = g_hash_table_new_full(row_key_hash, row_key_equal, g_free,
					 (GDestroyNotify)summary_row_free);
	g_ptr_array_add(z->intervals, iv);
	return iv;
}

static void interval_free(struct interval *iv)
{
	g_hash_table_destroy(iv->rows);
	g_free(iv->health);
	g_free(iv->top);
	g_free(iv);
}

static struct summary_row *get_row(struct summarizer *z, struct interval *iv,
				   const struct plugin_rt *pr, uint32_t name_id,
				   int family, const uint8_t *addr,
				   uint16_t port)
{
	struct row_key k;

	memset(&k, 0, sizeof k);
	k.plugin = pr->index;
	k.name_id = name_id;
	k.family = (uint8_t)family;
	memcpy(k.addr, addr, 16);
	k.port = port;
	struct summary_row *r = g_hash_table_lookup(iv->rows, &k);
	if (r)
		return r;
	if (g_hash_table_size(iv->rows) >= z->cfg.max_rows) {
		/* Fold: one row per protocol holds what did not fit. */
		if (!z->warned_rows) {
			log_warnx("more than %u summary rows in one interval; "
				  "the rest are folded into server 0.0.0.0:0 "
				  "(raise max_summary_rows)", z->cfg.max_rows);
			z->warned_rows = true;
		}
		k.name_id = 0;
		k.family = 4;
		memset(k.addr, 0, 16);
		k.port = 0;
		if ((r = g_hash_table_lookup(iv->rows, &k)))
			return r;
	}
	r = g_new0(struct summary_row, 1);
	r->interval_start = iv->start;
	r->interval_secs = z->cfg.interval_secs;
	r->protocol = g_strdup(pr->desc->name);
	r->signature = g_strdup(pr->names ? name_table_get(pr->names, k.name_id)
					  : pr->desc->default_name);
	r->family = k.family;
	memcpy(r->server_addr, k.addr, 16);
	r->server_port = k.port;
	hist_init(&r->ttfb_hist);
	hist_init(&r->ttlb_hist);
	g_hash_table_insert(iv->rows, g_memdup2(&k, sizeof k), r);
	return r;
}

static inline void agg(struct metric_agg *m, uint64_t v)
{
	if (m->count == 0 || v < m->min)
		m->min = v;
	if (m->count == 0 || v > m->max)
		m->max = v;
	m->count++;
	m->sum += v;
}

static inline void agg_us(struct metric_agg *m, int64_t ns)
{
	if (ns >= 0)
		agg(m, (uint64_t)ns / 1000);
}

static void client_key(uint8_t key[17], int family, const struct ipaddr *a)
{
	key[0] = (uint8_t)family;
	memcpy(key + 1, a->a, 16);
}

static void on_txn(void *ctx, const struct txn_record *t)
{
	struct summarizer *z = ctx;
	struct interval *iv = find_interval(z, interval_of(z, t->start_ns), true);
	struct summary_row *r = get_row(z, iv, t->plugin, t->signature_id,
					t->family, t->server.a, t->server_port);

	r->counts[SC_TRANSACTIONS]++;
	r->counts[SC_ERRORS] += t->error;
	r->counts[SC_RETRANSMISSIONS] += t->retransmissions;
	r->counts[SC_TIMEOUTS] += (t->flags & ARTMON_TXN_TIMEOUT) != 0;
	r->counts[SC_GAPS] += (t->flags & ARTMON_TXN_GAP) != 0;
	r->counts[SC_MIDSTREAM] += (t->flags & ARTMON_TXN_MIDSTREAM) != 0;
	r->counts[SC_RETRIES] += t->retries;

	agg_us(&r->m[SM_REQUEST_US], t->request_ns);
	agg_us(&r->m[SM_TTFB_US], t->ttfb_ns);
	agg_us(&r->m[SM_TTLB_US], t->ttlb_ns);
	agg_us(&r->m[SM_HANDSHAKE_RTT_US], t->handshake_rtt_ns);
	agg_us(&r->m[SM_CLIENT_ACK_US], t->client_ack_ns);
	agg(&r->m[SM_REQUEST_BYTES], t->request_bytes);
	agg(&r->m[SM_RESPONSE_BYTES], t->response_bytes);
	agg(&r->m[SM_REQUEST_PACKETS], t->request_packets);
	agg(&r->m[SM_SERVER_PACKETS], t->server_packets);
	if (t->server_packets) {
		/* Per packet: the count is packets, the sum payload bytes,
		 * so avg = bytes per server packet. */
		struct metric_agg *m = &r->m[SM_SERVER_PKT_BYTES];
		if (m->count == 0 || t->server_pkt_min < m->min)
			m->min = t->server_pkt_min;
		if (m->count == 0 || t->server_pkt_max > m->max)
			m->max = t->server_pkt_max;
		m->count += t->server_packets;
		m->sum += t->response_bytes;
	}
	if (t->server_mss)
		agg(&r->m[SM_SERVER_MSS], t->server_mss);
	if (t->server_window_min >= 0)
		agg(&r->m[SM_SERVER_WINDOW], (uint64_t)t->server_window_min);
	if (t->ttfb_ns >= 0)
		hist_add_ns(&r->ttfb_hist, t->ttfb_ns);
	if (t->ttlb_ns >= 0)
		hist_add_ns(&r->ttlb_hist, t->ttlb_ns);

	/* Heavy hitters count by the transaction's interval, like the rows;
	 * distinct clients and ports by packet time, like the rest of the
	 * health. */
	uint8_t key[17];
	client_key(key, t->family, &t->client);
	if (!iv->top) {
		iv->top = g_new(struct topk, 1);
		topk_init(iv->top);
	}
	topk_add(iv->top, key);
	if (z->cur.start) {
		distinct_add(&z->cur.clients, key, sizeof key);
		z->cur.ports[t->client_port >> 3] |=
			(uint8_t)(1u << (t->client_port & 7));
	}
}

/* ----------------------------------------------------------------------
 * Health
 */

static void health_start(struct summarizer *z, int64_t start)
{
	struct health_cur *h = &z->cur;
	const struct sensor *s = z->s;

	distinct_clear(&h->clients);
	g_free(h->conns);
	memset(h, 0, sizeof *h);
	h->start = start;
	h->snap = s->ctr;
	h->flows_created = s->flows.created;
	h->flows_evicted = s->flows.evicted;
	h->gaps = s->reasm.gaps;
	h->first_sec = -1;
	h->last_sec = -1;
	h->conns = g_new0(uint32_t, z->cfg.interval_secs);
	distinct_init(&h->clients, z->cfg.max_exact_clients);
}

/* Note packet time: which seconds of the interval were observed. */
static void health_time(struct summarizer *z, int64_t now)
{
	struct health_cur *h = &z->cur;
	int64_t sec = now / NS - h->start;

	if (sec < 0 || sec >= z->cfg.interval_secs)
		return;
	if (h->first_sec < 0)
		h->first_sec = sec;
	if (sec > h->last_sec)
		h->last_sec = sec;
}

/* Seal the current health into its interval; sealed_to: the last second
 * covered (the interval's end, or the present at a flush). */
static void health_seal(struct summarizer *z, bool complete)
{
	struct health_cur *h = &z->cur;
	const struct sensor *s = z->s;
	struct health_row *hr = g_new0(struct health_row, 1);

	hr->interval_start = h->start;
	hr->interval_secs = z->cfg.interval_secs;
	hr->packets = s->ctr.packets - h->snap.packets;
	hr->bytes = s->ctr.bytes - h->snap.bytes;
	hr->kernel_drops = s->ctr.kernel_drops - h->snap.kernel_drops;
	hr->iface_drops = s->ctr.iface_drops - h->snap.iface_drops;
	hr->malformed = s->ctr.malformed - h->snap.malformed;
	hr->flows_active = s->flows.count;
	hr->flows_created = s->flows.created - h->flows_created;
	hr->flows_evicted = s->flows.evicted - h->flows_evicted;
	hr->gaps = s->reasm.gaps - h->gaps;
	hr->clients_distinct = distinct_count(&h->clients, &hr->clients_estimated);
	for (size_t i = 0; i < sizeof h->ports; i++)
		hr->client_ports_distinct += (uint64_t)__builtin_popcount(h->ports[i]);

	/* Connections per second over the seconds this interval covered:
	 * all of them if it ran to its end, else those observed. */
	int64_t from = h->first_sec < 0 ? 0 : h->first_sec;
	int64_t to = complete ? (int64_t)z->cfg.interval_secs - 1 : h->last_sec;
	uint64_t total = 0;
	if (to >= from) {
		hr->conn_per_sec_min = UINT32_MAX;
		for (int64_t i = from; i <= to; i++) {
			uint32_t c = h->conns[i];
			total += c;
			if (c < hr->conn_per_sec_min)
				hr->conn_per_sec_min = c;
			if (c > hr->conn_per_sec_max)
				hr->conn_per_sec_max = c;
		}
		hr->conn_per_sec_avg = (double)total / (double)(to - from + 1);
	}
	hr->output_dropped = h->output_dropped;
	hr->spool_dropped = h->spool_dropped;

	struct interval *iv = find_interval(z, h->start, true);
	g_free(iv->health);
	iv->health = hr;
	h->start = 0;
}

/* Move the health clock to now, sealing every interval it passes. */
static void health_roll(struct summarizer *z, int64_t now)
{
	int64_t target = interval_of(z, now);
	unsigned empties = 0;

	if (!z->cur.start) {
		health_start(z, target);
	} else {
		while (z->cur.start < target) {
			int64_t next = z->cur.start + z->cfg.interval_secs;
			health_seal(z, true);
			if (next < target && ++empties > MAX_EMPTY_INTERVALS) {
				log_warnx("packet time jumped by %" G_GINT64_FORMAT
					  " s; not emitting the empty intervals "
					  "in between", target - next);
				next = target;
			}
			health_start(z, next);
		}
	}
	health_time(z, now);
}

static void on_flow_new(void *ctx, const struct flow *f, bool syn)
{
	struct summarizer *z = ctx;
	struct health_cur *h = &z->cur;
	uint8_t key[17];
	int cs = f->client_side;

	if (!h->start)
		return;
	client_key(key, f->key.family, &f->key.addr[cs]);
	distinct_add(&h->clients, key, sizeof key);
	uint16_t port = f->key.port[cs];
	h->ports[port >> 3] |= (uint8_t)(1u << (port & 7));
	if (syn) {
		int64_t sec = z->s->now / NS - h->start;
		if (sec >= 0 && sec < z->cfg.interval_secs)
			h->conns[sec]++;
	}
}

static void on_event(void *ctx, const struct flow *f,
		     const struct plugin_rt *pr, enum artmon_event ev)
{
	struct summarizer *z = ctx;
	int cs = f->client_side;

	if (ev != ARTMON_EV_ORPHAN_RESPONSE)
		return;
	struct interval *iv = find_interval(z, interval_of(z, z->s->now), true);
	struct summary_row *r = get_row(z, iv, pr, 0, f->key.family,
					f->key.addr[!cs].a, f->key.port[!cs]);
	r->counts[SC_ORPHANS]++;
}

/* ----------------------------------------------------------------------
 * Emission
 */

static int cmp_rows(const void *a, const void *b)
{
	const struct summary_row *x = *(struct summary_row *const *)a;
	const struct summary_row *y = *(struct summary_row *const *)b;
	int c = strcmp(x->protocol, y->protocol);
	if (!c)
		c = strcmp(x->signature, y->signature);
	if (!c)
		c = memcmp(x->server_addr, y->server_addr, 16);
	if (!c)
		c = (int)x->server_port - (int)y->server_port;
	return c;
}

static void emit(struct summarizer *z, struct interval *iv)
{
	struct summary_batch *b = g_new0(struct summary_batch, 1);
	GHashTableIter it;
	gpointer key, val;
	unsigned i = 0;

	b->interval_start = iv->start;
	b->interval_secs = z->cfg.interval_secs;
	b->late = iv->late;
	b->nrows = g_hash_table_size(iv->rows);
	b->rows = g_new(struct summary_row *, b->nrows + 1);
	g_hash_table_iter_init(&it, iv->rows);
	while (g_hash_table_iter_next(&it, &key, &val)) {
		b->rows[i++] = val;
		g_hash_table_iter_steal(&it);
		g_free(key);
	}
	qsort(b->rows, b->nrows, sizeof b->rows[0], cmp_rows);
	b->health = iv->health;
	iv->health = NULL;
	if (b->health) {
		struct health_row *hr = b->health;
		for (i = 0; i < b->nrows; i++)
			hr->transactions += b->rows[i]->counts[SC_TRANSACTIONS];
		struct topk_slot top[TOPK_REPORT];
		hr->ntop = iv->top ? topk_top(iv->top, top, TOPK_REPORT) : 0;
		for (i = 0; i < hr->ntop; i++) {
			hr->top[i].family = top[i].key[0];
			memcpy(hr->top[i].addr, top[i].key + 1, 16);
			hr->top[i].transactions = top[i].count;
			hr->top[i].error_bound = top[i].error;
		}
	}
	int64_t end = iv->start + z->cfg.interval_secs;
	if (end > z->emitted_upto)
		z->emitted_upto = end;
	g_ptr_array_remove_fast(z->intervals, iv);
	interval_free(iv);
	z->sink(z->sink_ctx, b);
}

static gint cmp_interval(gconstpointer a, gconstpointer b)
{
	const struct interval *x = *(struct interval *const *)a;
	const struct interval *y = *(struct interval *const *)b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)x->late - (int)y->late;
}

/* Emit intervals whose end + grace is at or before now, oldest first. */
static void close_due(struct summarizer *z, int64_t now)
{
	g_ptr_array_sort(z->intervals, cmp_interval);
	for (unsigned i = 0; i < z->intervals->len;) {
		struct interval *iv = g_ptr_array_index(z->intervals, i);
		int64_t end_ns = (iv->start + z->cfg.interval_secs) * NS;
		/* A live interval also waits for its health to be sealed. */
		if (end_ns + z->cfg.grace_ns <= now &&
		    (iv->late || iv->health)) {
			emit(z, iv);
			g_ptr_array_sort(z->intervals, cmp_interval);
			i = 0;
		} else {
			i++;
		}
	}
}

void summarizer_advance(struct summarizer *z, int64_t now)
{
	if (now <= 0)
		return;
	health_roll(z, now);
	close_due(z, now);
}

static void on_tick(void *ctx, int64_t now)
{
	struct summarizer *z = ctx;

	summarizer_advance(z, now);
	z->s->next_tick = (now / NS + 1) * NS;
}

void summarizer_flush(struct summarizer *z)
{
	if (z->cur.start) {
		health_seal(z, false);
	}
	g_ptr_array_sort(z->intervals, cmp_interval);
	while (z->intervals->len)
		emit(z, g_ptr_array_index(z->intervals, 0));
}

void summarizer_note_dropped(struct summarizer *z, uint64_t output,
			     uint64_t spool)
{
	z->cur.output_dropped += output;
	z->cur.spool_dropped += spool;
}

struct summarizer *summarizer_new(const struct summary_cfg *cfg,
				  struct sensor *s, batch_sink_fn sink,
				  void *ctx)
{
	struct summarizer *z = g_new0(struct summarizer, 1);

	z->cfg = *cfg;
	if (z->cfg.interval_secs < 1)
		z->cfg.interval_secs = 1;
	z->s = s;
	z->sink = sink;
	z->sink_ctx = ctx;
	z->intervals = g_ptr_array_new();
	sensor_add_sink(s, on_txn, z);
	s->obs.ctx = z;
	s->obs.tick = on_tick;
	s->obs.flow_new = on_flow_new;
	s->obs.event = on_event;
	s->next_tick = 0;
	return z;
}

void summarizer_free(struct summarizer *z)
{
	if (!z)
		return;
	for (unsigned i = 0; i < z->intervals->len; i++)
		interval_free(g_ptr_array_index(z->intervals, i));
	g_ptr_array_free(z->intervals, TRUE);
	distinct_clear(&z->cur.clients);
	g_free(z->cur.conns);
	g_free(z);
}
