/*
 * tcp_reasm.c: in-order delivery of one TCP direction.  See tcp_reasm.h.
 *
 * The fast path, a segment that starts exactly at next_seq with nothing
 * waiting, costs two comparisons and a callback on the packet's own bytes.
 * Only out-of-order segments are copied.  The out-of-order list is a plain
 * sorted singly-linked list: on real traffic it holds a handful of segments
 * (a reordered pair on loopback, a burst behind one lost packet), and its
 * length is bounded by the per-flow byte cap, so a tree would buy nothing.
 *
 * Lost bytes: the capture can miss a packet the receiver got.  We learn it
 * when the receiver acknowledges beyond our next_seq (it has bytes we do
 * not), or when the buffer fills behind the hole, or at the end of the
 * flow.  Then the plugin hears of a gap of n bytes and delivery resumes.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "tcp_reasm.h"

struct ooo_seg {
	struct ooo_seg *next;
	uint32_t seq;
	uint32_t caplen;	/* bytes held in data[] */
	uint32_t len;		/* bytes on the wire (> caplen if cut) */
	int64_t ts;
	uint64_t serial;
	uint8_t data[];
};

#define SEG_COST(caplen) ((uint32_t)(sizeof(struct ooo_seg) + (caplen)))

/* One direction of one flow, as the functions below work on it. */
struct rdir {
	struct reasm *r;
	void *flow;
	struct tcp_half *h;
	struct reasm_ooo **ooo;
	int dir;
};

static inline struct ooo_seg *first(const struct rdir *d)
{
	return *d->ooo ? (*d->ooo)->seg[d->dir] : NULL;
}

/* Release the waiting-segment block once neither direction uses it. */
static void maybe_release(const struct rdir *d)
{
	struct reasm_ooo *o = *d->ooo;
	if (o && !o->seg[0] && !o->seg[1]) {
		g_free(o);
		*d->ooo = NULL;
	}
}

void reasm_init(struct reasm *r, const struct reasm_sink *sink, void *ctx,
		const struct reasm_limits *lim)
{
	memset(r, 0, sizeof *r);
	r->sink = sink;
	r->ctx = ctx;
	r->lim = *lim;
}

void reasm_syn(struct tcp_half *h, uint32_t isn)
{
	h->next_seq = isn + 1;
	h->flags |= HALF_SEQ_KNOWN;
}

uint32_t reasm_waiting(const struct reasm_ooo *ooo, int dir)
{
	return ooo ? ooo->bytes[dir] : 0;
}

static void count_retrans(const struct rdir *d, uint32_t bytes)
{
	d->r->retrans_segs++;
	d->r->retrans_bytes += bytes;
	d->h->retrans++;
}

/* ts, serial: the packet being processed, if it is one of dir's (it
 * then is what ended the stream); 0 otherwise. */
static void maybe_end(const struct rdir *d, int64_t ts, uint64_t serial)
{
	struct tcp_half *h = d->h;

	if ((h->flags & (HALF_FIN | HALF_ENDED)) == HALF_FIN &&
	    SEQ_GEQ(h->next_seq, h->fin_seq)) {
		h->flags |= HALF_ENDED;
		d->r->sink->end(d->r->ctx, d->flow, d->dir, ts, serial);
	}
}

static void declare_gap(const struct rdir *d, uint32_t upto)
{
	uint32_t n = upto - d->h->next_seq;

	d->r->gaps++;
	d->r->gap_bytes += n;
	d->h->next_seq = upto;
	d->r->sink->gap(d->r->ctx, d->flow, d->dir, n);
}

/*
 * Deliver the part of [seq, seq+len) beyond next_seq; the caller made sure
 * seq <= next_seq < seq+len.  A snaplen-cut tail becomes a gap.
 */
static void deliver_range(const struct rdir *d, uint32_t seq,
			  const uint8_t *data, uint32_t caplen, uint32_t len,
			  int64_t ts, uint64_t serial)
{
	struct tcp_half *h = d->h;
	uint32_t cap_end = seq + caplen;
	uint32_t end = seq + len;

	if (h->next_seq != seq)
		count_retrans(d, h->next_seq - seq);
	if (SEQ_LT(h->next_seq, cap_end)) {
		uint32_t off = h->next_seq - seq;
		h->next_seq = cap_end;
		d->r->sink->deliver(d->r->ctx, d->flow, d->dir, data + off,
				    caplen - off, ts, serial, end, len);
	}
	if (SEQ_LT(h->next_seq, end))
		declare_gap(d, end);
}

/* Deliver waiting segments that are now in order. */
static void drain(const struct rdir *d)
{
	struct ooo_seg *s;

	while ((s = first(d)) && SEQ_LEQ(s->seq, d->h->next_seq)) {
		struct reasm_ooo *o = *d->ooo;
		o->seg[d->dir] = s->next;
		o->bytes[d->dir] -= SEG_COST(s->caplen);
		d->r->total_bytes -= SEG_COST(s->caplen);
		if (SEQ_GT(s->seq + s->len, d->h->next_seq))
			deliver_range(d, s->seq, s->data, s->caplen, s->len,
				      s->ts, s->serial);
		else
			count_retrans(d, s->len);
		g_free(s);
	}
	maybe_release(d);
}

/* Give up on the hole before the first waiting segment. */
static void skip_hole(const struct rdir *d)
{
	struct ooo_seg *s = first(d);

	if (s && SEQ_GT(s->seq, d->h->next_seq))
		declare_gap(d, s->seq);
	drain(d);
}

static void ooo_insert(const struct rdir *d, uint32_t seq,
		       const uint8_t *data, uint32_t caplen, uint32_t len,
		       int64_t ts, uint64_t serial)
{
	struct reasm *r = d->r;
	uint32_t cost = SEG_COST(caplen);

	/* Over a cap: the hole in front is not going to be filled in time.
	 * Declare it lost until this segment fits, or is in order. */
	while (reasm_waiting(*d->ooo, d->dir) + (uint64_t)cost > r->lim.flow_bytes ||
	       r->total_bytes + cost > r->lim.total_bytes) {
		r->overflow++;
		if (!first(d)) {
			declare_gap(d, seq);
			deliver_range(d, seq, data, caplen, len, ts, serial);
			drain(d);
			return;
		}
		skip_hole(d);
		if (SEQ_LEQ(seq + len, d->h->next_seq)) {
			count_retrans(d, len);
			return;
		}
		if (SEQ_LEQ(seq, d->h->next_seq)) {
			deliver_range(d, seq, data, caplen, len, ts, serial);
			drain(d);
			return;
		}
	}

	if (!*d->ooo)
		*d->ooo = g_new0(struct reasm_ooo, 1);
	struct reasm_ooo *o = *d->ooo;
	struct ooo_seg **pp = &o->seg[d->dir];
	while (*pp && SEQ_LT((*pp)->seq, seq))
		pp = &(*pp)->next;
	if (*pp && (*pp)->seq == seq && (*pp)->len >= len) {
		/* The same bytes again: keep the first copy's time. */
		count_retrans(d, len);
		maybe_release(d);
		return;
	}
	struct ooo_seg *s = g_malloc(sizeof *s + caplen);
	s->seq = seq;
	s->caplen = caplen;
	s->len = len;
	s->ts = ts;
	s->serial = serial;
	memcpy(s->data, data, caplen);
	s->next = *pp;
	*pp = s;
	o->bytes[d->dir] += cost;
	r->total_bytes += cost;
	r->ooo_segs++;
}

void reasm_segment(struct reasm *r, void *flow, struct tcp_half *h,
		   struct reasm_ooo **ooo, int dir, uint32_t seq,
		   const uint8_t *payload, uint32_t caplen, uint32_t len,
		   bool fin, int64_t ts, uint64_t serial)
{
	const struct rdir d = { r, flow, h, ooo, dir };

	if (!(h->flags & HALF_SEQ_KNOWN)) {
		/* Picked up mid-stream: this segment defines the start. */
		h->next_seq = seq;
		h->flags |= HALF_SEQ_KNOWN;
	}
	if (fin && !(h->flags & HALF_FIN)) {
		h->flags |= HALF_FIN;
		h->fin_seq = seq + len;
	}
	if (len > 0) {
		if (h->flags & HALF_ENDED || SEQ_LEQ(seq + len, h->next_seq)) {
			count_retrans(&d, len);
		} else if (SEQ_LEQ(seq, h->next_seq)) {
			deliver_range(&d, seq, payload, caplen, len, ts, serial);
			if (first(&d))
				drain(&d);
		} else {
			ooo_insert(&d, seq, payload, caplen, len, ts, serial);
		}
	}
	maybe_end(&d, ts, serial);
}

void reasm_peer_ack(struct tcp_half *h, uint32_t ack)
{
	if (!(h->flags & HALF_SEQ_KNOWN) || (h->flags & HALF_ENDED))
		return;
	/* The ACK of a FIN counts the FIN as one sequence number. */
	if ((h->flags & HALF_FIN) && ack == h->fin_seq + 1)
		ack = h->fin_seq;
	if (SEQ_GT(ack, h->next_seq)) {
		if (!(h->flags & HALF_GAP_SUSPECT) || SEQ_GT(ack, h->gap_ack))
			h->gap_ack = ack;
		if (!(h->flags & HALF_GAP_SUSPECT))
			h->gap_suspect_age = 0;
		h->flags |= HALF_GAP_SUSPECT;
	}
}

void reasm_check_gap(struct reasm *r, void *flow, struct tcp_half *h,
		     struct reasm_ooo **ooo, int dir)
{
	const struct rdir d = { r, flow, h, ooo, dir };

	if (!(h->flags & HALF_GAP_SUSPECT))
		return;
	if (h->gap_suspect_age++ == 0)
		return;		/* one packet of grace for capture reordering */
	h->flags &= ~HALF_GAP_SUSPECT;
	while (!(h->flags & HALF_ENDED) && SEQ_GT(h->gap_ack, h->next_seq)) {
		uint32_t upto = h->gap_ack;
		struct ooo_seg *s = first(&d);
		if (s && SEQ_LT(s->seq, upto))
			upto = s->seq;
		if (upto != h->next_seq)
			declare_gap(&d, upto);
		drain(&d);
		maybe_end(&d, 0, 0);
	}
}

void reasm_flush(struct reasm *r, void *flow, struct tcp_half *h,
		 struct reasm_ooo **ooo, int dir, bool end_stream)
{
	const struct rdir d = { r, flow, h, ooo, dir };

	while (first(&d))
		skip_hole(&d);
	if ((h->flags & (HALF_FIN | HALF_ENDED)) == HALF_FIN &&
	    SEQ_LT(h->next_seq, h->fin_seq))
		declare_gap(&d, h->fin_seq);
	maybe_end(&d, 0, 0);
	if (end_stream && !(h->flags & HALF_ENDED)) {
		h->flags |= HALF_ENDED;
		r->sink->end(r->ctx, flow, dir, 0, 0);
	}
}

void reasm_free(struct reasm *r, struct reasm_ooo **ooo)
{
	struct reasm_ooo *o = *ooo;

	if (!o)
		return;
	for (int dir = 0; dir < 2; dir++) {
		struct ooo_seg *s;
		while ((s = o->seg[dir])) {
			o->seg[dir] = s->next;
			r->total_bytes -= SEG_COST(s->caplen);
			g_free(s);
		}
	}
	g_free(o);
	*ooo = NULL;
}
