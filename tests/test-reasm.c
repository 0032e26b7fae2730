/*
 * test-reasm.c: unit tests of one TCP direction's reassembly.
 *
 * The reassembler is driven directly with segments and a recording sink,
 * so each test states exactly which bytes arrive when and asserts the
 * bytes, times and gaps that come out.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "tcp_reasm.h"

struct chunk {
	GString *data;
	int64_t ts;
	uint32_t seq_end;
};

struct rec {
	GArray *chunks;		/* struct chunk */
	GString *stream;	/* all bytes delivered, with '#' per gap byte */
	uint64_t gap_bytes;
	int gaps;
	int ends;
	int64_t end_ts;		/* packet that ended the stream; 0: none */
	uint64_t end_serial;
};

static void r_deliver(void *ctx, void *flow, int dir, const uint8_t *data,
		      size_t len, int64_t ts, uint64_t serial,
		      uint32_t seq_end, uint32_t pkt_len)
{
	struct rec *r = ctx;
	struct chunk c = { g_string_new_len((const char *)data, (gssize)len),
			   ts, seq_end };
	g_array_append_val(r->chunks, c);
	g_string_append_len(r->stream, (const char *)data, (gssize)len);
}

static void r_gap(void *ctx, void *flow, int dir, uint64_t n)
{
	struct rec *r = ctx;
	r->gaps++;
	r->gap_bytes += n;
	for (uint64_t i = 0; i < n && i < 1000; i++)
		g_string_append_c(r->stream, '#');
}

static void r_end(void *ctx, void *flow, int dir, int64_t ts,
		  uint64_t serial)
{
	struct rec *r = ctx;
	r->ends++;
	r->end_ts = ts;
	r->end_serial = serial;
}

static const struct reasm_sink sink = { r_deliver, r_gap, r_end };

struct fixture {
	struct rec rec;
	struct reasm reasm;
	struct tcp_half h;
	struct reasm_ooo *ooo;
};

static void setup(struct fixture *f, gconstpointer data)
{
	struct reasm_limits lim = { 1 << 20, 64 << 20 };
	memset(f, 0, sizeof *f);
	f->rec.chunks = g_array_new(FALSE, FALSE, sizeof(struct chunk));
	f->rec.stream = g_string_new(NULL);
	reasm_init(&f->reasm, &sink, &f->rec, &lim);
}

static void teardown(struct fixture *f, gconstpointer data)
{
	reasm_free(&f->reasm, &f->ooo);
	g_assert_cmpuint(f->reasm.total_bytes, ==, 0);
	for (guint i = 0; i < f->rec.chunks->len; i++)
		g_string_free(g_array_index(f->rec.chunks, struct chunk, i).data,
			      TRUE);
	g_array_free(f->rec.chunks, TRUE);
	g_string_free(f->rec.stream, TRUE);
}

static void seg(struct fixture *f, uint32_t seq, const char *text, int64_t ts)
{
	size_t n = strlen(text);
	reasm_segment(&f->reasm, NULL, &f->h, &f->ooo, 0, seq, (const uint8_t *)text,
		      (uint32_t)n, (uint32_t)n, false, ts, (uint64_t)ts);
}

static const struct chunk *chunk(struct fixture *f, guint i)
{
	g_assert_cmpuint(i, <, f->rec.chunks->len);
	return &g_array_index(f->rec.chunks, struct chunk, i);
}

static void test_in_order_is_delivered_at_once(struct fixture *f,
					       gconstpointer d)
{
	reasm_syn(&f->h, 999);
	seg(f, 1000, "hello ", 1);
	seg(f, 1006, "world", 2);
	g_assert_cmpstr(f->rec.stream->str, ==, "hello world");
	g_assert_cmpuint(f->rec.chunks->len, ==, 2);
	g_assert_cmpint(chunk(f, 1)->ts, ==, 2);
	g_assert_cmpuint(chunk(f, 1)->seq_end, ==, 1011);
	g_assert_cmpuint(f->reasm.ooo_segs, ==, 0);
}

static void test_out_of_order_waits_and_keeps_arrival_time(struct fixture *f,
							   gconstpointer d)
{
	reasm_syn(&f->h, 0);
	seg(f, 6, "world", 10);	/* arrives first */
	g_assert_cmpstr(f->rec.stream->str, ==, "");
	seg(f, 1, "hello", 20);
	g_assert_cmpstr(f->rec.stream->str, ==, "helloworld");
	g_assert_cmpuint(f->rec.chunks->len, ==, 2);
	g_assert_cmpint(chunk(f, 0)->ts, ==, 20);
	/* The buffered segment is timed by its own arrival. */
	g_assert_cmpint(chunk(f, 1)->ts, ==, 10);
	g_assert_cmpuint(f->reasm.ooo_segs, ==, 1);
}

static void test_retransmitted_bytes_are_delivered_once(struct fixture *f,
							 gconstpointer d)
{
	reasm_syn(&f->h, 0);
	seg(f, 1, "abcdef", 1);
	seg(f, 1, "abcdef", 2);		/* full retransmission */
	seg(f, 4, "defghi", 3);		/* overlaps 3 old bytes */
	g_assert_cmpstr(f->rec.stream->str, ==, "abcdefghi");
	g_assert_cmpuint(f->reasm.retrans_segs, ==, 2);
	g_assert_cmpuint(f->h.retrans, ==, 2);
	g_assert_cmpuint(f->reasm.retrans_bytes, ==, 6 + 3);
}

static void test_duplicate_out_of_order_segment_is_kept_once(struct fixture *f,
							      gconstpointer d)
{
	reasm_syn(&f->h, 0);
	seg(f, 4, "def", 1);
	seg(f, 4, "def", 2);
	seg(f, 1, "abc", 3);
	g_assert_cmpstr(f->rec.stream->str, ==, "abcdef");
	g_assert_cmpint(chunk(f, 1)->ts, ==, 1);
	g_assert_cmpuint(f->reasm.retrans_segs, ==, 1);
}

static void test_sequence_numbers_wrap(struct fixture *f, gconstpointer d)
{
	reasm_syn(&f->h, 0xfffffffa);	/* data starts at 0xfffffffb */
	seg(f, 0xfffffffb, "abcde", 1);	/* up to 0xffffffff */
	seg(f, 0x00000003, "ghij", 3);	/* after the wrap, out of order */
	seg(f, 0x00000000, "f", 2);	/* the byte at 0, just after the wrap */
	g_assert_cmpstr(f->rec.stream->str, ==, "abcdef");
	seg(f, 0x00000001, "XY", 4);
	g_assert_cmpstr(f->rec.stream->str, ==, "abcdefXYghij");
	g_assert_cmpuint(f->h.next_seq, ==, 7);
}

static void test_gap_acked_by_peer_is_declared_after_one_packet(
	struct fixture *f, gconstpointer d)
{
	reasm_syn(&f->h, 0);
	seg(f, 1, "aaaa", 1);
	/* bytes 5..8 are never captured */
	seg(f, 9, "cccc", 3);
	reasm_peer_ack(&f->h, 13);
	reasm_check_gap(&f->reasm, NULL, &f->h, &f->ooo, 0);
	g_assert_cmpint(f->rec.gaps, ==, 0);	/* grace for reordering */
	reasm_check_gap(&f->reasm, NULL, &f->h, &f->ooo, 0);
	g_assert_cmpint(f->rec.gaps, ==, 1);
	g_assert_cmpuint(f->rec.gap_bytes, ==, 4);
	g_assert_cmpstr(f->rec.stream->str, ==, "aaaa####cccc");
}

static void test_late_segment_within_grace_fills_the_hole(struct fixture *f,
							   gconstpointer d)
{
	reasm_syn(&f->h, 0);
	seg(f, 5, "bbbb", 2);
	reasm_peer_ack(&f->h, 9);	/* ACK captured before the data */
	reasm_check_gap(&f->reasm, NULL, &f->h, &f->ooo, 0);
	seg(f, 1, "aaaa", 1);
	reasm_check_gap(&f->reasm, NULL, &f->h, &f->ooo, 0);
	g_assert_cmpint(f->rec.gaps, ==, 0);
	g_assert_cmpstr(f->rec.stream->str, ==, "aaaabbbb");
}

static void test_buffer_cap_turns_a_hole_into_a_gap(struct fixture *f,
						     gconstpointer d)
{
	struct reasm_limits lim = { 4096, 1 << 20 };
	char block[1001];

	f->reasm.lim = lim;
	reasm_syn(&f->h, 0);
	memset(block, 'x', 1000);
	block[1000] = '\0';
	/* The segment at 1 never comes; the others pile up. */
	for (uint32_t i = 1; i < 10; i++)
		seg(f, 1 + i * 1000, block, i);
	g_assert_cmpuint(f->reasm.overflow, >, 0);
	g_assert_cmpint(f->rec.gaps, ==, 1);
	g_assert_cmpuint(f->rec.gap_bytes, ==, 1000);
	g_assert_cmpuint(reasm_waiting(f->ooo, 0), <=, 4096);
	g_assert_cmpuint(f->h.next_seq, ==, 1 + 10 * 1000);
}

static void test_fin_after_hole_waits_then_ends(struct fixture *f,
						gconstpointer d)
{
	reasm_syn(&f->h, 0);
	reasm_segment(&f->reasm, NULL, &f->h, &f->ooo, 0, 5, (const uint8_t *)"bbbb",
		      4, 4, true, 2, 2);
	g_assert_cmpint(f->rec.ends, ==, 0);
	seg(f, 1, "aaaa", 3);
	g_assert_cmpint(f->rec.ends, ==, 1);
	g_assert_cmpstr(f->rec.stream->str, ==, "aaaabbbb");
	/* The segment that filled the hole is what ended the stream. */
	g_assert_cmpint(f->rec.end_ts, ==, 3);
	g_assert_cmpuint(f->rec.end_serial, ==, 3);
}

static void test_bare_fin_is_the_packet_that_ends(struct fixture *f,
						  gconstpointer d)
{
	reasm_syn(&f->h, 0);
	seg(f, 1, "abcd", 1);
	reasm_segment(&f->reasm, NULL, &f->h, &f->ooo, 0, 5, NULL, 0, 0, true, 7, 7);
	g_assert_cmpint(f->rec.ends, ==, 1);
	g_assert_cmpint(f->rec.end_ts, ==, 7);
	g_assert_cmpuint(f->rec.end_serial, ==, 7);
}

static void test_flush_declares_missing_bytes_before_fin(struct fixture *f,
							 gconstpointer d)
{
	reasm_syn(&f->h, 0);
	reasm_segment(&f->reasm, NULL, &f->h, &f->ooo, 0, 5, (const uint8_t *)"bbbb",
		      4, 4, true, 2, 2);
	reasm_flush(&f->reasm, NULL, &f->h, &f->ooo, 0, true);
	g_assert_cmpint(f->rec.gaps, ==, 1);
	g_assert_cmpint(f->rec.ends, ==, 1);
	g_assert_cmpstr(f->rec.stream->str, ==, "####bbbb");
	g_assert_cmpint(f->rec.end_ts, ==, 0);	/* no packet ended it */
}

static void test_snaplen_cut_payload_is_a_gap(struct fixture *f,
					      gconstpointer d)
{
	reasm_syn(&f->h, 0);
	/* 10 bytes on the wire, 4 captured */
	reasm_segment(&f->reasm, NULL, &f->h, &f->ooo, 0, 1, (const uint8_t *)"abcd",
		      4, 10, false, 1, 1);
	seg(f, 11, "z", 2);
	g_assert_cmpstr(f->rec.stream->str, ==, "abcd######z");
	g_assert_cmpint(f->rec.gaps, ==, 1);
}

static void test_ack_of_fin_is_not_a_gap(struct fixture *f, gconstpointer d)
{
	reasm_syn(&f->h, 0);
	reasm_segment(&f->reasm, NULL, &f->h, &f->ooo, 0, 1, (const uint8_t *)"abcd",
		      4, 4, true, 1, 1);
	reasm_peer_ack(&f->h, 6);	/* 4 bytes + FIN */
	reasm_check_gap(&f->reasm, NULL, &f->h, &f->ooo, 0);
	reasm_check_gap(&f->reasm, NULL, &f->h, &f->ooo, 0);
	g_assert_cmpint(f->rec.gaps, ==, 0);
	g_assert_cmpint(f->rec.ends, ==, 1);
}

static void test_midstream_starts_at_first_segment(struct fixture *f,
						   gconstpointer d)
{
	seg(f, 123456, "late", 1);
	seg(f, 123460, "r", 2);
	g_assert_cmpstr(f->rec.stream->str, ==, "later");
}

#define T(path, fn) \
	g_test_add("/reasm/" path, struct fixture, NULL, setup, fn, teardown)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	T("in-order-bytes-are-delivered-at-once", test_in_order_is_delivered_at_once);
	T("out-of-order-segment-waits-and-keeps-its-arrival-time",
	  test_out_of_order_waits_and_keeps_arrival_time);
	T("retransmitted-bytes-are-delivered-once",
	  test_retransmitted_bytes_are_delivered_once);
	T("duplicate-out-of-order-segment-is-kept-once",
	  test_duplicate_out_of_order_segment_is_kept_once);
	T("sequence-numbers-wrap", test_sequence_numbers_wrap);
	T("gap-acked-by-peer-is-declared-after-one-packet",
	  test_gap_acked_by_peer_is_declared_after_one_packet);
	T("late-segment-within-grace-fills-the-hole",
	  test_late_segment_within_grace_fills_the_hole);
	T("buffer-cap-turns-a-hole-into-a-gap",
	  test_buffer_cap_turns_a_hole_into_a_gap);
	T("fin-after-hole-waits-then-ends", test_fin_after_hole_waits_then_ends);
	T("bare-fin-is-the-packet-that-ends-the-stream",
	  test_bare_fin_is_the_packet_that_ends);
	T("flush-declares-missing-bytes-before-fin",
	  test_flush_declares_missing_bytes_before_fin);
	T("snaplen-cut-payload-is-a-gap", test_snaplen_cut_payload_is_a_gap);
	T("ack-of-fin-is-not-a-gap", test_ack_of_fin_is_not_a_gap);
	T("midstream-starts-at-first-segment",
	  test_midstream_starts_at_first_segment);
	return g_test_run();
}
