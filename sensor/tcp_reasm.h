/*
 * tcp_reasm.h: one direction of a TCP connection, as in-order bytes.
 *
 * For each direction the reassembler keeps the next sequence number it
 * expects.  A segment that starts there is delivered at once, straight from
 * the packet (no copy).  Bytes already delivered (retransmissions, overlaps)
 * are trimmed and counted.  A segment from the future waits, copied, in a
 * small sorted list whose size is capped per flow and in total; when it
 * overflows, or when the peer acknowledges bytes we never saw, the missing
 * range is declared a gap and delivery resumes after it.  Sequence numbers
 * are compared modulo 2^32 (RFC 1982 style), so wraparound is invisible.
 *
 * Each delivered chunk keeps the timestamp and serial number of the packet
 * that carried it, even when it waited in the buffer: timing downstream is
 * by arrival, not by delivery.
 */
#ifndef ARTMON_TCP_REASM_H
#define ARTMON_TCP_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)

struct ooo_seg;

/*
 * Segments waiting for a hole to fill, for both directions of a flow.
 * Allocated when the first one must wait, freed when none does: an idle
 * flow pays one pointer, not two lists and two counters per direction.
 */
struct reasm_ooo {
	struct ooo_seg *seg[2];	/* per direction, sorted by seq */
	uint32_t bytes[2];	/* held, with overhead */
};

/* struct tcp_half.flags */
#define HALF_SEQ_KNOWN  0x01	/* next_seq is valid */
#define HALF_FIN        0x02	/* FIN seen at fin_seq */
#define HALF_ENDED      0x04	/* end delivered: no more bytes */
#define HALF_ACK_KNOWN  0x08	/* max_ack is valid */
#define HALF_GAP_SUSPECT 0x10	/* peer acked beyond next_seq */
#define HALF_WSCALE     0x20	/* window scaling negotiated */

struct tcp_half {
	uint32_t next_seq;	/* next byte to deliver */
	uint32_t fin_seq;	/* sequence number of the FIN */
	uint32_t max_ack;	/* highest ACK this side sent (for the peer) */
	uint32_t gap_ack;	/* peer's ACK that revealed a hole */
	uint32_t retrans;	/* segments that carried old bytes */
	uint16_t mss;		/* from the SYN (0: not seen) */
	uint16_t window;	/* last raw window field */
	uint8_t wscale;		/* shift, valid with HALF_WSCALE */
	uint8_t flags;		/* HALF_* */
	uint8_t gap_suspect_age;	/* packets since HALF_GAP_SUSPECT */
};

/* Where the reassembler sends its output; ctx and flow are opaque to it. */
struct reasm_sink {
	/* len bytes in order, from the packet at ts with serial;
	 * seq_end is the sequence number after that packet's payload,
	 * pkt_len its payload length on the wire. */
	void (*deliver)(void *ctx, void *flow, int dir, const uint8_t *data,
			size_t len, int64_t ts, uint64_t serial,
			uint32_t seq_end, uint32_t pkt_len);
	void (*gap)(void *ctx, void *flow, int dir, uint64_t nbytes);
	/* No more bytes in dir.  ts and serial are the packet that ended
	 * the stream (its FIN, or the segment that filled the last hole
	 * before a FIN seen earlier); ts 0 when no packet of dir did (a
	 * gap declared up to the FIN, a flush at RST or at the flow's
	 * end). */
	void (*end)(void *ctx, void *flow, int dir, int64_t ts,
		    uint64_t serial);
};

struct reasm_limits {
	uint32_t flow_bytes;	/* per direction */
	uint64_t total_bytes;	/* all flows */
};

struct reasm {
	const struct reasm_sink *sink;
	void *ctx;
	struct reasm_limits lim;
	uint64_t total_bytes;	/* now held in all flows */
	/* counters */
	uint64_t retrans_segs, retrans_bytes, ooo_segs, gaps, gap_bytes,
		 overflow;
};

void reasm_init(struct reasm *r, const struct reasm_sink *sink, void *ctx,
		const struct reasm_limits *lim);

/* Start a direction at isn+1 (its SYN carried isn). */
void reasm_syn(struct tcp_half *h, uint32_t isn);

/*
 * One segment of direction dir: seq, payload (caplen bytes captured of
 * len on the wire), FIN flag.  Delivers what became in order.  ooo is the
 * flow's waiting-segment block (may be NULL; allocated when needed).
 */
void reasm_segment(struct reasm *r, void *flow, struct tcp_half *h,
		   struct reasm_ooo **ooo, int dir, uint32_t seq,
		   const uint8_t *payload, uint32_t caplen, uint32_t len,
		   bool fin, int64_t ts, uint64_t serial);

/*
 * The peer acknowledged ack: if that is beyond what we delivered, bytes
 * were lost in capture.  Call after each packet of the flow; a hole is
 * declared one packet later, to allow for capture reordering.
 */
void reasm_peer_ack(struct tcp_half *h, uint32_t ack);
void reasm_check_gap(struct reasm *r, void *flow, struct tcp_half *h,
		     struct reasm_ooo **ooo, int dir);

/* No more segments will come (RST, flow end): deliver what is buffered,
 * with gaps for holes, and free it.  end_stream: also deliver end. */
void reasm_flush(struct reasm *r, void *flow, struct tcp_half *h,
		 struct reasm_ooo **ooo, int dir, bool end_stream);

/* Free both directions' waiting segments without delivering them. */
void reasm_free(struct reasm *r, struct reasm_ooo **ooo);

/* Bytes (with overhead) waiting in direction dir. */
uint32_t reasm_waiting(const struct reasm_ooo *ooo, int dir);

#endif /* ARTMON_TCP_REASM_H */
