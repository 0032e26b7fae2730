/*
 * txn.c: transaction bookkeeping behind the plugin API's txn_* functions.
 *
 * Place in the data flow: plugin -> [txn] -> sinks (output, summaries).
 * A plugin only says "these n bytes of the current callback are request
 * (or response) of t"; the time, packet serial and sequence number of the
 * current callback come from sensor.cur, which session.c sets around every
 * plugin call.  From those this file derives every timing of docs/metrics.md
 * without the plugin ever seeing a clock.
 *
 * After txn_close() a TCP transaction waits (state WAIT_ACK) for the
 * client's ACK of the response's last packet, which gives client_ack; it
 * is emitted when that ACK arrives or when the flow ends, whichever comes
 * first.  Transactions live on a per-flow singly-linked list in open order;
 * it is short (one per request in flight), and capped.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "log.h"
#include "sensor.h"

enum txn_state { TXN_OPEN, TXN_WAIT_ACK };

struct artmon_txn {
	struct artmon_txn *next;
	struct flow *flow;
	int64_t req_first, req_last;	/* 0: none */
	int64_t resp_first, resp_last;	/* 0: none */
	uint64_t req_bytes, resp_bytes;
	uint64_t req_serial, resp_serial;	/* last packet counted */
	uint32_t req_pkts, resp_pkts;
	uint32_t resp_pkt_min, resp_pkt_max;
	uint32_t win_min;		/* server's window while open */
	uint32_t retrans0;		/* flow's retransmissions at open */
	uint32_t ack_target;		/* seq after the response's last packet */
	int64_t acked_ts;		/* first client ACK covering ack_target
					 * while still open; 0: none yet */
	uint32_t name_id;		/* from a rule; 0: none matched */
	uint32_t default_id;		/* txn_name_default(); 0: default_name */
	uint16_t flags;
	uint8_t state;
	bool error;
	bool has_window;
	uint16_t retries;
	char status[16];
};

/* The sensor whose plugins are running: plugin callbacks carry no
 * context pointer, and there is one packet thread per process. */
static struct sensor *bound;

void txn_bind(struct sensor *s)
{
	bound = s;
	if (s && !s->dummy_txn)
		s->dummy_txn = g_new0(struct artmon_txn, 1);
}

static inline bool is_dummy(const artmon_txn *t)
{
	return t == bound->dummy_txn;
}

static inline const struct delivery *cur_for(const struct flow *f)
{
	return bound->cur.flow == f ? &bound->cur : NULL;
}

static uint32_t flow_retrans(const struct flow *f)
{
	return f->half[0].retrans + f->half[1].retrans;
}

/* ----------------------------------------------------------------------
 * Emission
 */

static void emit(struct sensor *s, struct artmon_txn *t, int64_t ack_ts)
{
	struct flow *f = t->flow;
	struct plugin_rt *pr = g_ptr_array_index(s->plugins, f->plugin - 1);
	struct txn_record r;
	int cs = f->client_side;

	memset(&r, 0, sizeof r);
	r.plugin = pr;
	r.signature_id = t->name_id ? t->name_id : t->default_id;
	r.signature = pr->names ? name_table_get(pr->names, r.signature_id)
				: pr->desc->default_name;
	r.family = f->key.family;
	r.transport = f->key.proto == 6 ? ARTMON_TCP : ARTMON_UDP;
	r.client = f->key.addr[cs];
	r.server = f->key.addr[!cs];
	r.client_port = f->key.port[cs];
	r.server_port = f->key.port[!cs];
	r.start_ns = t->req_first;
	r.request_ns = t->req_last - t->req_first;
	if (t->resp_first) {
		r.ttfb_ns = t->resp_first - t->req_last;
		r.ttlb_ns = t->resp_last - t->req_last;
	} else {
		r.ttfb_ns = r.ttlb_ns = -1;
	}
	r.handshake_rtt_ns = (f->flags & FLOW_SYN_SEEN) && f->hs_done_ts
				     ? f->hs_done_ts - f->syn_ts
				     : -1;
	r.client_ack_ns = ack_ts && t->resp_last ? ack_ts - t->resp_last : -1;
	r.request_bytes = t->req_bytes;
	r.response_bytes = t->resp_bytes;
	r.request_packets = t->req_pkts;
	r.server_packets = t->resp_pkts;
	r.retransmissions = flow_retrans(f) - t->retrans0;
	r.server_pkt_min = t->resp_pkt_min;
	r.server_pkt_max = t->resp_pkt_max;
	r.server_mss = f->half[ARTMON_S2C].mss;
	r.server_window_min = t->has_window ? (int64_t)t->win_min : -1;
	r.retries = t->retries;
	r.status = t->status;
	r.error = t->error;
	r.flags = t->flags;
	if (f->flags & FLOW_MIDSTREAM)
		r.flags |= ARTMON_TXN_MIDSTREAM;

	pr->txns++;
	if (r.error)
		pr->errors++;
	if (r.flags & ARTMON_TXN_TIMEOUT)
		pr->timeouts++;
	for (unsigned i = 0; i < s->nsinks; i++)
		s->sinks[i].fn(s->sinks[i].ctx, &r);
}

static void unlink_txn(struct flow *f, struct artmon_txn *t)
{
	struct artmon_txn **pp = &f->txns;
	while (*pp != t)
		pp = &(*pp)->next;
	*pp = t->next;
	f->ntxns--;
}

/* ----------------------------------------------------------------------
 * Host functions
 */

static artmon_txn *h_txn_open(artmon_flow *flow, int64_t start_ns)
{
	struct flow *f = (struct flow *)flow;
	const struct delivery *d = cur_for(f);

	if (f->ntxns >= bound->lim.max_txns_per_flow) {
		struct plugin_rt *pr =
			g_ptr_array_index(bound->plugins, f->plugin - 1);
		pr->dropped++;
		return bound->dummy_txn;
	}
	struct artmon_txn *t = g_new0(struct artmon_txn, 1);
	t->flow = f;
	t->req_first = t->req_last =
		start_ns ? start_ns : (d ? d->ts : f->last_ts);
	t->retrans0 = flow_retrans(f);
	/* Append: the list stays in open order, which is the order ACKs
	 * complete them in. */
	struct artmon_txn **pp = &f->txns;
	while (*pp)
		pp = &(*pp)->next;
	*pp = t;
	f->ntxns++;
	return t;
}

static void h_txn_request(artmon_txn *t, size_t n)
{
	if (is_dummy(t) || t->state != TXN_OPEN)
		return;
	const struct delivery *d = cur_for(t->flow);
	t->req_bytes += n;
	if (!d)
		return;
	if (t->req_bytes == n) {
		/* First bytes: the request starts at the earliest packet
		 * carrying it (txn_open may have been called at an
		 * earlier callback of the same packet, or estimated). */
		t->req_first = d->ts;
		t->req_last = d->ts;
	}
	if (d->ts < t->req_first)
		t->req_first = d->ts;
	if (d->ts > t->req_last)
		t->req_last = d->ts;
	if (d->serial != t->req_serial) {
		t->req_serial = d->serial;
		t->req_pkts++;
	}
}

static void h_txn_response(artmon_txn *t, size_t n)
{
	if (is_dummy(t) || t->state != TXN_OPEN)
		return;
	const struct delivery *d = cur_for(t->flow);
	t->resp_bytes += n;
	/* n == 0 names the current packet as one of the response's without
	 * bytes of it (the FIN that ends a close-delimited response); that
	 * needs a packet. */
	if (!d || (n == 0 && !d->serial))
		return;
	if (!t->resp_first || d->ts < t->resp_first)
		t->resp_first = d->ts;
	if (d->ts > t->resp_last)
		t->resp_last = d->ts;
	if (t->ack_target != d->seq_end) {
		/* More response: an earlier ACK no longer covers it all. */
		t->ack_target = d->seq_end;
		t->acked_ts = 0;
	}
	if (d->serial != t->resp_serial) {
		t->resp_serial = d->serial;
		t->resp_pkts++;
		/* Sizes of packets with payload: 0 means "none". */
		if (d->pkt_len &&
		    (!t->resp_pkt_min || d->pkt_len < t->resp_pkt_min))
			t->resp_pkt_min = d->pkt_len;
		if (d->pkt_len > t->resp_pkt_max)
			t->resp_pkt_max = d->pkt_len;
	}
}

static void h_txn_name(artmon_txn *t, const uint8_t *text, size_t len)
{
	if (is_dummy(t))
		return;
	struct plugin_rt *pr =
		g_ptr_array_index(bound->plugins, t->flow->plugin - 1);
	if (pr->names)
		t->name_id = ruleset_classify(pr->rules, pr->names, text, len);
}

static void h_txn_name_default(artmon_txn *t, const char *name)
{
	if (is_dummy(t))
		return;
	struct plugin_rt *pr =
		g_ptr_array_index(bound->plugins, t->flow->plugin - 1);
	/* Interned now, not at emit: the table's cap decides once, and the
	 * plugin's string need not outlive the call. */
	t->default_id = pr->names ? name_table_intern(pr->names, name) : 0;
}

static void h_txn_retry(artmon_txn *t)
{
	if (is_dummy(t))
		return;
	t->retries++;
	struct plugin_rt *pr =
		g_ptr_array_index(bound->plugins, t->flow->plugin - 1);
	pr->events[ARTMON_EV_RETRY]++;
}

/* Record the outcome of t (status, error, flags). */
static void finish(struct artmon_txn *t, const char *status, bool error,
		   unsigned flags)
{
	t->flags |= (uint16_t)flags;
	if (!t->resp_first)
		t->flags |= ARTMON_TXN_TIMEOUT;
	if (!status || !*status) {
		status = (t->flags & ARTMON_TXN_TIMEOUT) ? "timeout" : "";
		if (t->flags & ARTMON_TXN_TIMEOUT)
			error = true;
	}
	g_strlcpy(t->status, status, sizeof t->status);
	t->error = error;
}

static void h_txn_close(artmon_txn *t, const char *status, bool error,
			unsigned flags)
{
	if (is_dummy(t) || t->state != TXN_OPEN)
		return;
	struct flow *f = t->flow;

	finish(t, status, error, flags);
	/* Wait for the client's ACK of the response's last packet, unless
	 * there is nothing to acknowledge or the ACK went by already. */
	const struct tcp_half *c = &f->half[ARTMON_C2S];
	if (f->key.proto == 6 && t->resp_first && !t->acked_ts) {
		if (!((c->flags & HALF_ACK_KNOWN) &&
		      SEQ_GEQ(c->max_ack, t->ack_target))) {
			t->state = TXN_WAIT_ACK;
			return;
		}
		bound->ctr.txns_late_ack++;
	}
	unlink_txn(f, t);
	emit(bound, t, t->acked_ts);
	g_free(t);
}

static void h_count(artmon_flow *flow, enum artmon_event ev)
{
	struct flow *f = (struct flow *)flow;
	if ((unsigned)ev >= ARTMON_EV_COUNT)
		return;
	struct plugin_rt *pr = g_ptr_array_index(bound->plugins, f->plugin - 1);
	pr->events[ev]++;
	if (bound->obs.event)
		bound->obs.event(bound->obs.ctx, f, pr, ev);
}

static void h_stop(artmon_flow *flow)
{
	((struct flow *)flow)->flags |= FLOW_STOPPED;
}

static const struct artmon_flow_info *h_flow_info(artmon_flow *flow)
{
	static struct artmon_flow_info info;
	struct flow *f = (struct flow *)flow;
	int cs = f->client_side;

	info.transport = f->key.proto == 6 ? ARTMON_TCP : ARTMON_UDP;
	info.client_port = f->key.port[cs];
	info.server_port = f->key.port[!cs];
	info.midstream = (f->flags & FLOW_MIDSTREAM) != 0;
	info.handshake_done_ns = f->hs_done_ts;
	return &info;
}

static void h_warn(const char *fmt, ...)
{
	static GHashTable *seen;
	va_list ap;
	char msg[512];

	/* Once per format string: plugins warn about conditions, and a
	 * condition that repeats per packet must not flood the log. */
	if (!seen)
		seen = g_hash_table_new(g_direct_hash, g_direct_equal);
	if (g_hash_table_contains(seen, fmt))
		return;
	g_hash_table_add(seen, (gpointer)fmt);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
}

const struct artmon_host txn_host = {
	.api_version = ARTMON_PLUGIN_API_VERSION,
	.txn_open = h_txn_open,
	.txn_request = h_txn_request,
	.txn_response = h_txn_response,
	.txn_name = h_txn_name,
	.txn_name_default = h_txn_name_default,
	.txn_retry = h_txn_retry,
	.txn_close = h_txn_close,
	.count = h_count,
	.stop = h_stop,
	.flow_info = h_flow_info,
	.warn = h_warn,
};

/* ----------------------------------------------------------------------
 * Called by session.c
 */

void txn_client_ack(struct sensor *s, struct flow *f, uint32_t ack,
		    int64_t ts)
{
	struct artmon_txn **pp = &f->txns;

	while (*pp) {
		struct artmon_txn *t = *pp;
		if (t->state == TXN_WAIT_ACK && SEQ_GEQ(ack, t->ack_target)) {
			*pp = t->next;
			f->ntxns--;
			emit(s, t, ts);
			g_free(t);
			continue;
		}
		/* A plugin that learns late that a response is over (the
		 * generic TCP plugin: when the client speaks again) closes
		 * it after this ACK went by: keep its time for then. */
		if (t->state == TXN_OPEN && t->resp_first && !t->acked_ts &&
		    SEQ_GEQ(ack, t->ack_target))
			t->acked_ts = ts;
		pp = &t->next;
	}
}

void txn_server_window(struct flow *f, uint32_t window)
{
	for (struct artmon_txn *t = f->txns; t; t = t->next) {
		if (t->state != TXN_OPEN)
			continue;
		if (!t->has_window || window < t->win_min)
			t->win_min = window;
		t->has_window = true;
	}
}

void txn_flow_gap(struct flow *f)
{
	for (struct artmon_txn *t = f->txns; t; t = t->next)
		if (t->state == TXN_OPEN)
			t->flags |= ARTMON_TXN_GAP;
}

void txn_flow_end(struct sensor *s, struct flow *f)
{
	struct artmon_txn *t;

	/* The plugin's close() had its chance: what is still open had no
	 * complete response. */
	while ((t = f->txns)) {
		f->txns = t->next;
		f->ntxns--;
		if (t->state == TXN_OPEN)
			finish(t, NULL, true, ARTMON_TXN_TIMEOUT);
		emit(s, t, 0);
		g_free(t);
	}
}
