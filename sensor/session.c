/*
 * session.c: the packet path, from a decoded packet to plugin callbacks.
 *
 * Place in the data flow: capture -> decode -> [flow lookup, TCP state,
 * reassembly, plugin dispatch] -> txn -> sinks.  Per packet:
 *
 *   1. expire idle flows (LRU heads only: O(expired));
 *   2. find or create the flow; decide who is the client;
 *   3. TCP: track the handshake (RTT, MSS, window scale), feed the segment
 *      to the direction's reassembler, note the ACK for the other
 *      direction (gap detection, client-ACK timing), handle FIN/RST;
 *      UDP: hand the datagram over as it is;
 *   4. in-order bytes go to the flow's plugin with the packet's time.
 *
 * Which flows a plugin gets: the server port (a 64 Ki table per transport
 * maps ports to plugins), else, for TCP flows on unclaimed ports, a
 * plugin's probe() on the client's first bytes.  Flows nobody wants stay in
 * the table marked ignored, so their later packets cost one lookup.
 *
 * No flow is created for a lone ACK, FIN or RST of an unknown connection:
 * it carries nothing to measure, and a scan of them must not fill the table.
 */
#include "config.h"

#include <string.h>

#include "log.h"
#include "sensor.h"

#define DIR_C2S ARTMON_C2S
#define DIR_S2C ARTMON_S2C

void sensor_limits_default(struct sensor_limits *l)
{
	l->max_flows = 1000000;
	l->tcp_opening_ns = 30 * G_GINT64_CONSTANT(1000000000);
	l->tcp_idle_ns = 300 * G_GINT64_CONSTANT(1000000000);
	l->tcp_closed_ns = 5 * G_GINT64_CONSTANT(1000000000);
	l->udp_idle_ns = 30 * G_GINT64_CONSTANT(1000000000);
	l->reasm_flow_bytes = 1 << 20;
	l->reasm_total_bytes = (uint64_t)256 << 20;
	l->max_txns_per_flow = 256;
	l->max_names = 10000;
}

static inline struct plugin_rt *flow_plugin(const struct sensor *s,
					    const struct flow *f)
{
	return f->plugin ? g_ptr_array_index(s->plugins, f->plugin - 1) : NULL;
}

/* ----------------------------------------------------------------------
 * Reassembler callbacks: in-order bytes to the plugin
 */

static bool probe_flow(struct sensor *s, struct flow *f, const uint8_t *data,
		       size_t len)
{
	for (unsigned i = 0; i < s->plugins->len; i++) {
		struct plugin_rt *pr = g_ptr_array_index(s->plugins, i);
		if (pr->desc->probe && (pr->transports & ARTMON_TCP) &&
		    pr->desc->probe(data, len)) {
			f->plugin = (uint8_t)(i + 1);
			return true;
		}
	}
	return false;
}

static void on_deliver(void *ctx, void *flow, int dir, const uint8_t *data,
		       size_t len, int64_t ts, uint64_t serial,
		       uint32_t seq_end, uint32_t pkt_len)
{
	struct sensor *s = ctx;
	struct flow *f = flow;

	if (f->flags & (FLOW_STOPPED | FLOW_IGNORED))
		return;
	if (!f->plugin) {
		/* Unclaimed port: the client's first bytes decide. */
		if (dir != DIR_C2S || !probe_flow(s, f, data, len)) {
			f->flags |= FLOW_IGNORED;
			s->ctr.flows_ignored++;
			return;
		}
	}
	struct plugin_rt *pr = flow_plugin(s, f);
	s->cur = (struct delivery){ f, dir, ts, serial, seq_end, pkt_len };
	if (!f->pstate) {
		f->pstate = pr->desc->state_new((artmon_flow *)f);
		if (!f->pstate) {
			f->flags |= FLOW_IGNORED;
			s->cur.flow = NULL;
			return;
		}
	}
	pr->desc->data(f->pstate, (enum artmon_dir)dir, data, len, ts);
	s->cur.flow = NULL;
}

static void on_gap(void *ctx, void *flow, int dir, uint64_t nbytes)
{
	struct sensor *s = ctx;
	struct flow *f = flow;

	txn_flow_gap(f);
	if (!f->pstate || (f->flags & FLOW_STOPPED))
		return;
	struct plugin_rt *pr = flow_plugin(s, f);
	s->cur = (struct delivery){ f, dir, f->last_ts, 0, 0, 0 };
	pr->desc->gap(f->pstate, (enum artmon_dir)dir, nbytes);
	s->cur.flow = NULL;
}

/*
 * ts, serial: the packet that ended dir's stream (0: none did).  That
 * packet is the current one during end(), so a plugin can make it the
 * last packet of a message the end completes (a response delimited by
 * the connection's close); the client's ACK of the FIN covers it.
 */
static void on_end(void *ctx, void *flow, int dir, int64_t ts,
		   uint64_t serial)
{
	struct sensor *s = ctx;
	struct flow *f = flow;

	if (!f->pstate || (f->flags & FLOW_STOPPED))
		return;
	struct plugin_rt *pr = flow_plugin(s, f);
	const struct tcp_half *h = &f->half[dir];
	if (ts && (h->flags & HALF_FIN))
		s->cur = (struct delivery){ f, dir, ts, serial,
					    h->fin_seq + 1, 0 };
	else
		s->cur = (struct delivery){ f, dir, f->last_ts, 0, 0, 0 };
	pr->desc->end(f->pstate, (enum artmon_dir)dir);
	s->cur.flow = NULL;
}

static const struct reasm_sink reasm_to_plugins = {
	.deliver = on_deliver,
	.gap = on_gap,
	.end = on_end,
};

/* ----------------------------------------------------------------------
 * Flow life cycle
 */

static void on_release(void *ctx, struct flow *f, enum flow_end why)
{
	struct sensor *s = ctx;

	if (f->key.proto == 6 && !(f->flags & FLOW_IGNORED)) {
		/* Buffered segments still count: deliver them, gaps and all. */
		reasm_flush(&s->reasm, f, &f->half[DIR_C2S], &f->ooo, DIR_C2S,
			    false);
		reasm_flush(&s->reasm, f, &f->half[DIR_S2C], &f->ooo, DIR_S2C,
			    false);
	}
	struct plugin_rt *pr = flow_plugin(s, f);
	if (f->pstate) {
		s->cur = (struct delivery){ f, DIR_C2S, f->last_ts, 0, 0, 0 };
		pr->desc->close(f->pstate);
		s->cur.flow = NULL;
	}
	txn_flow_end(s, f);
	if (f->pstate)
		pr->desc->state_free(f->pstate);
	f->pstate = NULL;
	reasm_free(&s->reasm, &f->ooo);
	(void)why;
}

/*
 * Which key side is the client, for a flow whose first packet is not a
 * SYN: the side whose peer port a plugin serves; failing that, the sender
 * of the first packet when it goes to the lower port (clients use high
 * ephemeral ports), else the receiver.
 */
static int guess_client(const struct sensor *s, const struct flow_key *k,
			int src_side, int tmap)
{
	bool srv0 = s->port_map[tmap][k->port[0]] != 0;
	bool srv1 = s->port_map[tmap][k->port[1]] != 0;

	if (srv0 != srv1)
		return srv0 ? 1 : 0;
	int dst_side = !src_side;
	if (k->port[dst_side] <= k->port[src_side])
		return src_side;
	return dst_side;
}

static struct flow *new_flow(struct sensor *s, const struct flow_key *k,
			     uint32_t hash, int client_side, int src_side,
			     int tmap, enum flow_class cls)
{
	struct flow *f = flow_insert(&s->flows, k, hash, cls, s->now);
	f->client_side = (uint8_t)client_side;
	f->plugin = s->port_map[tmap][k->port[!client_side]];
	if (!f->plugin && !(tmap == 0 && s->any_probe)) {
		f->flags |= FLOW_IGNORED;
		s->ctr.flows_ignored++;
	}
	if (s->obs.flow_new)
		s->obs.flow_new(s->obs.ctx, f, tmap == 0 && cls == FLOW_TCP_OPENING &&
					       client_side == src_side);
	return f;
}

/* ----------------------------------------------------------------------
 * TCP
 */

static uint32_t scaled_window(const struct tcp_half *h)
{
	return (h->flags & HALF_WSCALE) ? (uint32_t)h->window << h->wscale
					: h->window;
}

static void tcp_packet(struct sensor *s, struct flow *f,
		       const struct flow_key *k, uint32_t hash, int side,
		       const struct pkt *p)
{
	uint8_t fl = p->tcp_flags;
	bool syn = (fl & TH_SYN) != 0, ack = (fl & TH_ACK) != 0;

	if (f && syn && !ack && side == f->client_side) {
		/* A SYN again: a retransmission while opening, or the 5-tuple
		 * reused for a new connection. */
		struct tcp_half *c = &f->half[DIR_C2S];
		if (!((f->flags & FLOW_SYN_SEEN) && f->cls == FLOW_TCP_OPENING &&
		      c->next_seq == p->seq + 1)) {
			flow_remove(&s->flows, f, FLOW_END_REUSED);
			f = NULL;
		} else {
			c->retrans++;
			s->reasm.retrans_segs++;
		}
	}
	if (!f) {
		if (fl & TH_RST) {
			s->ctr.tcp_no_flow++;
			return;
		}
		if (syn && !ack) {
			f = new_flow(s, k, hash, side, side, 0,
				     FLOW_TCP_OPENING);
		} else if (syn) {
			/* SYN/ACK with its SYN unseen: the sender serves. */
			f = new_flow(s, k, hash, !side, side, 0,
				     FLOW_TCP_OPENING);
		} else if (p->payload_len > 0) {
			f = new_flow(s, k, hash, guess_client(s, k, side, 0),
				     side, 0, FLOW_TCP_ACTIVE);
			f->flags |= FLOW_MIDSTREAM;
		} else {
			s->ctr.tcp_no_flow++;
			return;
		}
	}
	if (f->flags & FLOW_IGNORED) {
		flow_touch(&s->flows, f, f->cls, p->ts_ns);
		return;
	}

	int dir = side == f->client_side ? DIR_C2S : DIR_S2C;
	struct tcp_half *h = &f->half[dir], *peer = &f->half[!dir];
	h->window = p->window;
	uint32_t seq = p->seq;

	if (syn) {
		if (dir == DIR_C2S && !ack) {
			if (!(f->flags & FLOW_SYN_SEEN)) {
				f->flags |= FLOW_SYN_SEEN;
				f->syn_ts = p->ts_ns;
			}
		} else if (dir == DIR_S2C && ack) {
			f->flags |= FLOW_SYNACK_SEEN;
		}
		if (!(h->flags & HALF_SEQ_KNOWN))
			reasm_syn(h, seq);
		if (p->has_mss)
			h->mss = p->mss;
		if (p->has_wscale) {
			h->wscale = p->wscale;
			/* Scaling is on only if both SYNs offered it: the
			 * SYN/ACK's offer counts if the SYN made one. */
			if (dir == DIR_C2S ||
			    (f->half[DIR_C2S].flags & HALF_WSCALE))
				h->flags |= HALF_WSCALE;
		} else if (dir == DIR_S2C) {
			f->half[DIR_C2S].flags &= (uint8_t)~HALF_WSCALE;
		}
		seq++;		/* the SYN takes one sequence number */
	}

	/* Handshake done: the client acknowledges the server's SYN. */
	if (dir == DIR_C2S && ack && !syn && (f->flags & FLOW_SYNACK_SEEN) &&
	    !(f->flags & FLOW_ESTABLISHED) && peer->flags & HALF_SEQ_KNOWN &&
	    p->ack == peer->next_seq) {
		f->flags |= FLOW_ESTABLISHED;
		f->hs_done_ts = p->ts_ns;
	}

	/* A hole in the other direction that an earlier ACK revealed (its
	 * one packet of grace is over) is declared before this packet's
	 * bytes go up: the bytes it releases were captured earlier, and a
	 * plugin that sees this packet's first puts an answer after the next
	 * request.  Declaration happens in the same packet as before; only
	 * the order within it changes. */
	reasm_check_gap(&s->reasm, f, peer, &f->ooo, !dir);

	if (p->payload_len > 0 || (fl & TH_FIN))
		reasm_segment(&s->reasm, f, h, &f->ooo, dir, seq, p->payload,
			      p->payload_caplen, p->payload_len,
			      (fl & TH_FIN) != 0, p->ts_ns, s->serial);

	if (ack) {
		if (!(h->flags & HALF_ACK_KNOWN) || SEQ_GT(p->ack, h->max_ack))
			h->max_ack = p->ack;
		h->flags |= HALF_ACK_KNOWN;
		reasm_peer_ack(peer, p->ack);
		if (dir == DIR_C2S && f->ntxns)
			txn_client_ack(s, f, p->ack, p->ts_ns);
	}
	if (fl & TH_RST) {
		reasm_flush(&s->reasm, f, &f->half[0], &f->ooo, 0, true);
		reasm_flush(&s->reasm, f, &f->half[1], &f->ooo, 1, true);
	} else {
		reasm_check_gap(&s->reasm, f, &f->half[0], &f->ooo, 0);
		reasm_check_gap(&s->reasm, f, &f->half[1], &f->ooo, 1);
	}
	if (dir == DIR_S2C && f->ntxns)
		txn_server_window(f, scaled_window(h));

	enum flow_class cls = f->cls;
	if ((f->half[0].flags & f->half[1].flags & HALF_ENDED)) {
		f->flags |= FLOW_CLOSED;
		cls = FLOW_TCP_CLOSED;
	} else if (p->payload_len > 0 || (f->flags & FLOW_ESTABLISHED)) {
		cls = FLOW_TCP_ACTIVE;
	}
	flow_touch(&s->flows, f, cls, p->ts_ns);
}

/* ----------------------------------------------------------------------
 * UDP
 */

static void udp_packet(struct sensor *s, struct flow *f,
		       const struct flow_key *k, uint32_t hash, int side,
		       const struct pkt *p)
{
	if (!f)
		f = new_flow(s, k, hash, guess_client(s, k, side, 1), side,
			     1, FLOW_UDP);
	flow_touch(&s->flows, f, FLOW_UDP, p->ts_ns);
	if (f->flags & FLOW_IGNORED)
		return;
	int dir = side == f->client_side ? DIR_C2S : DIR_S2C;
	if (!f->plugin)
		return;		/* no content detection over UDP */
	on_deliver(s, f, dir, p->payload, p->payload_caplen, p->ts_ns,
		   s->serial, 0, p->payload_len);
}

/* ----------------------------------------------------------------------
 * Entry points
 */

void sensor_packet(struct sensor *s, const struct pkt *p)
{
	struct flow_key k;
	int side;

	s->serial++;
	if (p->ts_ns > s->now)
		s->now = p->ts_ns;
	/* Idle timeouts are seconds long: looking ten times a second of
	 * packet time is exact enough and keeps expiry off the per-packet
	 * path. */
	if (s->now >= s->next_expire) {
		flow_expire(&s->flows, s->now);
		s->next_expire = s->now + 100000000;
	}

	flow_key_make(&k, p, &side);
	uint32_t hash = flow_hash(&s->flows, &k);
	struct flow *f = flow_find(&s->flows, &k, hash);
	if (p->proto == 6)
		tcp_packet(s, f, &k, hash, side, p);
	else
		udp_packet(s, f, &k, hash, side, p);
}

void sensor_frame(struct sensor *s, int dlt, const uint8_t *frame,
		  uint32_t caplen, uint32_t wirelen, int64_t ts_ns)
{
	struct pkt p;

	if (ts_ns >= s->next_tick && s->obs.tick)
		s->obs.tick(s->obs.ctx, ts_ns);
	s->ctr.packets++;
	s->ctr.bytes += wirelen;
	p.ts_ns = ts_ns;
	switch (decode_packet(dlt, frame, caplen, wirelen, &p)) {
	case DECODE_OK:
		sensor_packet(s, &p);
		break;
	case DECODE_OTHER:
		s->ctr.other++;
		break;
	case DECODE_FRAGMENT:
		s->ctr.fragments++;
		break;
	case DECODE_TRUNCATED:
		s->ctr.truncated++;
		s->ctr.malformed++;
		break;
	case DECODE_MALFORMED:
		s->ctr.malformed++;
		break;
	}
}

struct sensor *sensor_new(const struct sensor_limits *lim, GPtrArray *plugins,
			  GError **err)
{
	struct sensor *s = g_new0(struct sensor, 1);

	s->lim = *lim;
	s->plugins = plugins;
	if (plugins->len > 255) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "too many plugins (%u, at most 255)", plugins->len);
		goto fail;
	}
	for (unsigned i = 0; i < plugins->len; i++) {
		struct plugin_rt *pr = g_ptr_array_index(plugins, i);
		pr->index = i;
		if (pr->desc->probe)
			s->any_probe = true;
		for (const uint16_t *port = pr->ports; port && *port; port++) {
			for (int t = 0; t < 2; t++) {
				if (!(pr->transports & (t ? ARTMON_UDP : ARTMON_TCP)))
					continue;
				uint8_t prev = s->port_map[t][*port];
				if (prev && prev != i + 1) {
					struct plugin_rt *o =
						g_ptr_array_index(plugins, prev - 1);
					g_set_error(err, G_IO_ERROR,
						    G_IO_ERROR_FAILED,
						    "%s port %u is claimed by both "
						    "plugin %s and plugin %s",
						    t ? "UDP" : "TCP", *port,
						    o->desc->name, pr->desc->name);
					goto fail;
				}
				s->port_map[t][*port] = (uint8_t)(i + 1);
			}
		}
	}
	int64_t timeouts[FLOW_NCLASS] = {
		[FLOW_TCP_OPENING] = lim->tcp_opening_ns,
		[FLOW_TCP_ACTIVE] = lim->tcp_idle_ns,
		[FLOW_TCP_CLOSED] = lim->tcp_closed_ns,
		[FLOW_UDP] = lim->udp_idle_ns,
	};
	flow_table_init(&s->flows, lim->max_flows, timeouts, on_release, s);
	struct reasm_limits rl = { lim->reasm_flow_bytes, lim->reasm_total_bytes };
	reasm_init(&s->reasm, &reasm_to_plugins, s, &rl);
	txn_bind(s);
	return s;
fail:
	s->plugins = NULL;
	g_free(s);
	return NULL;
}

void sensor_add_sink(struct sensor *s, txn_sink_fn fn, void *ctx)
{
	g_return_if_fail(s->nsinks < G_N_ELEMENTS(s->sinks));
	s->sinks[s->nsinks].fn = fn;
	s->sinks[s->nsinks].ctx = ctx;
	s->nsinks++;
}

void sensor_flush(struct sensor *s)
{
	/* Release in LRU order, oldest first, so output stays roughly in
	 * time order. */
	struct flow *oldest;

	while ((oldest = flow_oldest(&s->flows)))
		flow_remove(&s->flows, oldest, FLOW_END_SHUTDOWN);
}

void sensor_free(struct sensor *s)
{
	if (!s)
		return;
	sensor_flush(s);
	flow_table_destroy(&s->flows);
	txn_bind(NULL);
	if (s->plugins)
		g_ptr_array_free(s->plugins, TRUE);
	g_free(s->dummy_txn);
	g_free(s);
}

void sensor_print_counters(const struct sensor *s, FILE *out)
{
	const struct sensor_counters *c = &s->ctr;
	const struct flow_table *ft = &s->flows;
	const struct reasm *r = &s->reasm;

	fprintf(out, "packets: %" G_GUINT64_FORMAT "\n", c->packets);
	fprintf(out, "bytes: %" G_GUINT64_FORMAT "\n", c->bytes);
	fprintf(out, "kernel drops: %" G_GUINT64_FORMAT "\n", c->kernel_drops);
	fprintf(out, "interface drops: %" G_GUINT64_FORMAT "\n", c->iface_drops);
	fprintf(out, "malformed: %" G_GUINT64_FORMAT " (truncated %"
		G_GUINT64_FORMAT ")\n", c->malformed, c->truncated);
	fprintf(out, "fragments skipped: %" G_GUINT64_FORMAT "\n", c->fragments);
	fprintf(out, "not TCP/UDP over IP: %" G_GUINT64_FORMAT "\n", c->other);
	fprintf(out, "flows created: %" G_GUINT64_FORMAT "\n", ft->created);
	fprintf(out, "flows evicted: %" G_GUINT64_FORMAT "\n", ft->evicted);
	fprintf(out, "flows expired: %" G_GUINT64_FORMAT "\n", ft->expired);
	fprintf(out, "flows active: %u (peak %" G_GUINT64_FORMAT ")\n",
		ft->count, ft->peak);
	fprintf(out, "flows ignored: %" G_GUINT64_FORMAT "\n", c->flows_ignored);
	fprintf(out, "reassembly gaps: %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
		" bytes)\n", r->gaps, r->gap_bytes);
	fprintf(out, "retransmitted segments: %" G_GUINT64_FORMAT "\n",
		r->retrans_segs);
	fprintf(out, "out-of-order segments: %" G_GUINT64_FORMAT
		" (buffer overflows %" G_GUINT64_FORMAT ")\n", r->ooo_segs,
		r->overflow);
	for (unsigned i = 0; s->plugins && i < s->plugins->len; i++) {
		const struct plugin_rt *pr = g_ptr_array_index(s->plugins, i);
		fprintf(out, "transactions %s: %" G_GUINT64_FORMAT
			" (errors %" G_GUINT64_FORMAT ", unanswered %"
			G_GUINT64_FORMAT ", unmeasured %" G_GUINT64_FORMAT
			", responses without request %" G_GUINT64_FORMAT
			", malformed %" G_GUINT64_FORMAT ", names %u, folded %"
			G_GUINT64_FORMAT ")\n",
			pr->desc->name, pr->txns, pr->errors, pr->timeouts,
			pr->dropped, pr->events[ARTMON_EV_ORPHAN_RESPONSE],
			pr->events[ARTMON_EV_MALFORMED],
			pr->names ? name_table_count(pr->names) : 0,
			pr->names ? name_table_folded(pr->names) : 0);
	}
	fflush(out);
}
