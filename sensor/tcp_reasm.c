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

/* ts, serial: the packet being processed, if it is one of dir's (it
 * then is what ended the stream); 0 otherwise. */
static void maybe_end(struct reasm *r, void *flow, struct tcp_half *h,
		      int dir, int64_t ts, uint64_t serial)
{
	if ((h->flags & (HALF_FIN | HALF_ENDED)) == HALF_FIN &&
	    SEQ_GEQ(h->next_seq, h->fin_seq)) {
		h->flags |= HALF_ENDED;
		r->sink->end(r->ctx, flow, dir, ts, serial);
	}
}

static void declare_gap(struct reasm *r, void *flow, struct tcp_half *h,
			int dir, uint32_t upto)
{
	uint32_t n = upto - h->next_seq;

	r->gaps++;
	r->gap_bytes += n;
	h->next_seq = upto;
	r->sink->gap(r->ctx, flow, dir, n);
}

/*
 * Deliver the part of [seq, seq+len) beyond next_seq; the caller made sure
 * seq <= next_seq < seq+len.  A snaplen-cut tail becomes a gap.
 */
static void deliver_range(struct reasm *r, void *flow, struct tcp_half *h,
			  int dir, uint32_t seq, const uint8_t *data,
			  uint32_t caplen, uint32_t len, int64_t ts,
			  uint64_t serial)
{
	uint32_t cap_end = seq + caplen;
	uint32_t end = seq + len;

	if (h->next_seq != seq) {
		r->retrans_segs++;
		r->retrans_bytes += h->next_seq - seq;
		h->retrans++;
	}
	if (SEQ_LT(h->next_seq, cap_end)) {
		uint32_t off = h->next_seq - seq;
		h->next_seq = cap_end;
		r->sink->deliver(r->ctx, flow, dir, data + off, caplen - off,
				 ts, serial, end, len);
	}
	if (SEQ_LT(h->next_seq, end))
		declare_gap(r, flow, h, dir, end);
}

/* Deliver waiting segments that are now in order. */
static void drain(struct reasm *r, void *flow, struct tcp_half *h, int dir)
{
	struct ooo_seg *s;

	while ((s = h->ooo) && SEQ_LEQ(s->seq, h->next_seq)) {
		h->ooo = s->next;
		h->ooo_bytes -= SEG_COST(s->caplen);
		r->total_bytes -= SEG_COST(s->caplen);
		if (SEQ_GT(s->seq + s->len, h->next_seq)) {
			deliver_range(r, flow, h, dir, s->seq, s->data,
				      s->caplen, s->len, s->ts, s->serial);
		} else {
			r->retrans_segs++;
			r->retrans_bytes += s->len;
			h->retrans++;
		}
		g_free(s);
	}
}

/* Give up on the hole before the first waiting segment. */
static void skip_hole(struct reasm *r, void *flow, struct tcp_half *h,
		      int dir)
{
	if (h->ooo && SEQ_GT(h->ooo->seq, h->next_seq))
		declare_gap(r, flow, h, dir, h->ooo->seq);
	drain(r, flow, h, dir);
}

static void ooo_insert(struct reasm *r, void *flow, struct tcp_half *h,
		       int dir, uint32_t seq, const uint8_t *data,
		       uint32_t caplen, uint32_t len, int64_t ts,
		       uint64_t serial)
{
	uint32_t cost = SEG_COST(caplen);

	/* Over a cap: the hole in front is not going to be filled in time.
	 * Declare it lost until this segment fits, or is in order. */
	while (h->ooo_bytes + (uint64_t)cost > r->lim.flow_bytes ||
	       r->total_bytes + cost > r->lim.total_bytes) {
		r->overflow++;
		if (!h->ooo) {
			declare_gap(r, flow, h, dir, seq);
			deliver_range(r, flow, h, dir, seq, data, caplen, len,
				      ts, serial);
			drain(r, flow, h, dir);
			return;
		}
		skip_hole(r, flow, h, dir);
		if (SEQ_LEQ(seq + len, h->next_seq)) {
			r->retrans_segs++;
			r->retrans_bytes += len;
			h->retrans++;
			return;
		}
		if (SEQ_LEQ(seq, h->next_seq)) {
			deliver_range(r, flow, h, dir, seq, data, caplen, len,
				      ts, serial);
			drain(r, flow, h, dir);
			return;
		}
	}

	struct ooo_seg **pp = &h->ooo;
	while (*pp && SEQ_LT((*pp)->seq, seq))
		pp = &(*pp)->next;
	if (*pp && (*pp)->seq == seq && (*pp)->len >= len) {
		/* The same bytes again: keep the first copy's time. */
		r->retrans_segs++;
		r->retrans_bytes += len;
		h->retrans++;
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
	h->ooo_bytes += cost;
	r->total_bytes += cost;
	r->ooo_segs++;
}

void reasm_segment(struct reasm *r, void *flow, struct tcp_half *h, int dir,
		   uint32_t seq, const uint8_t *payload, uint32_t caplen,
		   uint32_t len, bool fin, int64_t ts, uint64_t serial)
{
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
			r->retrans_segs++;
			r->retrans_bytes += len;
			h->retrans++;
		} else if (SEQ_LEQ(seq, h->next_seq)) {
			deliver_range(r, flow, h, dir, seq, payload, caplen,
				      len, ts, serial);
			if (h->ooo)
				drain(r, flow, h, dir);
		} else {
			ooo_insert(r, flow, h, dir, seq, payload, caplen, len,
				   ts, serial);
		}
	}
	maybe_end(r, flow, h, dir, ts, serial);
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
		     int dir)
{
	if (!(h->flags & HALF_GAP_SUSPECT))
		return;
	if (h->gap_suspect_age++ == 0)
		return;		/* one packet of grace for capture reordering */
	h->flags &= ~HALF_GAP_SUSPECT;
	while (!(h->flags & HALF_ENDED) && SEQ_GT(h->gap_ack, h->next_seq)) {
		uint32_t upto = h->gap_ack;
		if (h->ooo && SEQ_LT(h->ooo->seq, upto))
			upto = h->ooo->seq;
		if (upto != h->next_seq)
			declare_gap(r, flow, h, dir, upto);
		drain(r, flow, h, dir);
		maybe_end(r, flow, h, dir, 0, 0);
	}
}

void reasm_flush(struct reasm *r, void *flow, struct tcp_half *h, int dir,
		 bool end_stream)
{
	while (h->ooo)
		skip_hole(r, flow, h, dir);
	if ((h->flags & (HALF_FIN | HALF_ENDED)) == HALF_FIN &&
	    SEQ_LT(h->next_seq, h->fin_seq))
		declare_gap(r, flow, h, dir, h->fin_seq);
	maybe_end(r, flow, h, dir, 0, 0);
	if (end_stream && !(h->flags & HALF_ENDED)) {
		h->flags |= HALF_ENDED;
		r->sink->end(r->ctx, flow, dir, 0, 0);
	}
}

void reasm_free(struct reasm *r, struct tcp_half *h)
{
	struct ooo_seg *s;

	while ((s = h->ooo)) {
		h->ooo = s->next;
		r->total_bytes -= SEG_COST(s->caplen);
		g_free(s);
	}
	h->ooo_bytes = 0;
}
