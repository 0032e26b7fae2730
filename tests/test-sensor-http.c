/*
 * test-sensor-http.c: the packet path end to end on hand-built captures.
 *
 * Each test writes a small capture with pcapgen (exact packets, exact
 * times), runs the real sensor with the real HTTP plugin in-process, and
 * asserts the transactions and counters that come out.  Times are chosen
 * so every expected value is a round number of microseconds.
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <pcap/pcap.h>
#include <string.h>

#include "harness.h"
#include "pcapgen.h"

#define T0 ((int64_t)1700000000 * 1000000000)	/* 2023-11-14 22:13:20 */

static const char REQ[] = "GET /a.html?q=1 HTTP/1.1\r\nHost: x\r\n\r\n";
static const char RESP_HEAD[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";

static struct run *run(const char *pcap)
{
	struct run *r = run_capture(pcap, NULL, NULL);
	g_assert_null(r->error);
	return r;
}

static struct run *run_with(const char *pcap, const char *const *sets)
{
	struct run *r = run_capture(pcap, sets, NULL);
	g_assert_null(r->error);
	return r;
}

/* One GET with a 10-byte body in two server packets; see the times. */
static void write_simple(struct pcapgen *pg, const char *cli, const char *srv,
			 uint32_t cisn, uint32_t sisn)
{
	struct pg_conv c;

	pg_conv_init(&c, pg, cli, 40000, srv, 80, cisn, sisn);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S, REQ, T0 + PG_MS(1));
	pg_ack(&c, PG_S2C, T0 + PG_MS(1) + PG_US(10));
	pg_sends(&c, PG_S2C, RESP_HEAD, T0 + PG_MS(3));
	pg_sends(&c, PG_S2C, "0123456789", T0 + PG_MS(4));
	pg_ack(&c, PG_C2S, T0 + PG_MS(4) + PG_US(500));
	pg_fin(&c, PG_C2S, T0 + PG_MS(10));
	pg_fin(&c, PG_S2C, T0 + PG_MS(11));
	pg_ack(&c, PG_C2S, T0 + PG_MS(12));
}

static void assert_simple(const struct txn_copy *t)
{
	g_assert_cmpstr(t->protocol, ==, "http");
	g_assert_cmpstr(t->signature, ==, "GET_/a.html");
	g_assert_cmpstr(t->status, ==, "200");
	g_assert_false(t->r.error);
	g_assert_cmpint(t->r.start_ns, ==, T0 + PG_MS(1));
	g_assert_cmpint(t->r.request_ns, ==, 0);
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_MS(2));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(3));
	g_assert_cmpint(t->r.handshake_rtt_ns, ==, PG_US(50));
	g_assert_cmpint(t->r.client_ack_ns, ==, PG_US(500));
	g_assert_cmpuint(t->r.request_bytes, ==, strlen(REQ));
	g_assert_cmpuint(t->r.response_bytes, ==, strlen(RESP_HEAD) + 10);
	g_assert_cmpuint(t->r.server_packets, ==, 2);
	g_assert_cmpuint(t->r.retransmissions, ==, 0);
	g_assert_cmpuint(t->r.server_mss, ==, 1460);
	g_assert_cmpuint(t->r.flags, ==, 0);
}

static void test_simple_get_is_timed_exactly(void)
{
	g_autofree char *path = test_path("simple.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	write_simple(pg, "10.0.0.1", "10.0.0.2", 1000, 5000);
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	assert_simple(t);
	g_assert_cmpstr(t->client, ==, "10.0.0.1:40000");
	g_assert_cmpstr(t->server, ==, "10.0.0.2:80");
	g_assert_cmpuint(r->ctr.packets, ==, 11);
	g_assert_cmpuint(r->ctr.malformed, ==, 0);
	g_assert_cmpuint(r->flows_created, ==, 1);
	run_free(r);
}

/* The same conversation under every framing the sensor reads. */
static void check_framing(int dlt, int nvlan, const uint16_t *tpids,
			  const uint16_t *vids, const char *cli,
			  const char *srv, const char *want_client)
{
	g_autofree char *path = test_path("framing.pcap");
	struct pcapgen *pg = pg_open(path, dlt);
	if (nvlan)
		pg_set_vlans(pg, nvlan, tpids, vids);
	write_simple(pg, cli, srv, 77, 99);
	pg_close(pg);

	/* The default filter (ports, also behind VLAN tags) must let it in. */
	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	assert_simple(run_txn(r, 0));
	g_assert_cmpstr(run_txn(r, 0)->client, ==, want_client);
	g_assert_cmpuint(r->ctr.malformed, ==, 0);
	run_free(r);
}

static void test_vlan_8021q(void)
{
	const uint16_t tp[] = { 0x8100 }, vid[] = { 42 };
	check_framing(DLT_EN10MB, 1, tp, vid, "10.0.0.1", "10.0.0.2",
		      "10.0.0.1:40000");
}

static void test_vlan_qinq(void)
{
	const uint16_t tp[] = { 0x88a8, 0x8100 }, vid[] = { 7, 42 };
	check_framing(DLT_EN10MB, 2, tp, vid, "10.0.0.1", "10.0.0.2",
		      "10.0.0.1:40000");
}

static void test_linux_sll(void)
{
	check_framing(DLT_LINUX_SLL, 0, NULL, NULL, "10.0.0.1", "10.0.0.2",
		      "10.0.0.1:40000");
}

static void test_linux_sll2(void)
{
	check_framing(276, 0, NULL, NULL, "10.0.0.1", "10.0.0.2",
		      "10.0.0.1:40000");
}

static void test_raw_ip(void)
{
	check_framing(DLT_RAW, 0, NULL, NULL, "10.0.0.1", "10.0.0.2",
		      "10.0.0.1:40000");
}

static void test_bsd_null(void)
{
	check_framing(DLT_NULL, 0, NULL, NULL, "10.0.0.1", "10.0.0.2",
		      "10.0.0.1:40000");
}

static void test_ipv6(void)
{
	check_framing(DLT_EN10MB, 0, NULL, NULL, "2001:db8::1", "2001:db8::2",
		      "[2001:db8::1]:40000");
}

static void test_sequence_wraparound(void)
{
	g_autofree char *path = test_path("wrap.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	/* Both directions wrap inside the request and the response. */
	write_simple(pg, "10.0.0.1", "10.0.0.2", 0xffffffff - 10,
		     0xffffffff - 20);
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	assert_simple(run_txn(r, 0));
	g_assert_cmpuint(r->gaps, ==, 0);
	run_free(r);
}

static void test_request_in_two_packets_times_request(void)
{
	g_autofree char *path = test_path("split.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 8080, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S, "POST /up HTTP/1.1\r\nContent-Length: 6\r\n\r\n",
		 T0 + PG_MS(1));
	pg_sends(&c, PG_C2S, "abcdef", T0 + PG_MS(1) + PG_US(250));
	pg_sends(&c, PG_S2C, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
		 T0 + PG_MS(2));
	pg_ack(&c, PG_C2S, T0 + PG_MS(3));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->signature, ==, "POST_/up");
	g_assert_cmpstr(t->status, ==, "201");
	g_assert_cmpint(t->r.start_ns, ==, T0 + PG_MS(1));
	g_assert_cmpint(t->r.request_ns, ==, PG_US(250));
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_US(750));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_US(750));
	g_assert_cmpint(t->r.client_ack_ns, ==, PG_MS(1));
	run_free(r);
}

static void test_pipelined_requests_match_in_order(void)
{
	g_autofree char *path = test_path("pipe.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S,
		 "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
		 "GET /two HTTP/1.1\r\nHost: x\r\n\r\n", T0 + PG_MS(1));
	/* First response and the start of the second in one packet. */
	pg_sends(&c, PG_S2C,
		 "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
		 "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nxy",
		 T0 + PG_MS(2));
	pg_sends(&c, PG_S2C, "zzz", T0 + PG_MS(5));
	pg_ack(&c, PG_C2S, T0 + PG_MS(6));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *a = run_txn(r, 0), *b = run_txn(r, 1);
	g_assert_cmpstr(a->signature, ==, "GET_/one");
	g_assert_cmpstr(a->status, ==, "200");
	g_assert_false(a->r.error);
	g_assert_cmpint(a->r.ttlb_ns, ==, PG_MS(1));
	g_assert_cmpstr(b->signature, ==, "GET_/two");
	g_assert_cmpstr(b->status, ==, "404");
	g_assert_true(b->r.error);
	g_assert_cmpint(b->r.ttfb_ns, ==, PG_MS(1));
	g_assert_cmpint(b->r.ttlb_ns, ==, PG_MS(4));
	g_assert_cmpuint(b->r.server_packets, ==, 2);
	/* One ACK covers both: each waits for the ACK of its last packet. */
	g_assert_cmpint(a->r.client_ack_ns, ==, PG_MS(4));
	g_assert_cmpint(b->r.client_ack_ns, ==, PG_MS(1));
	run_free(r);
}

static void test_chunked_body_spanning_packets(void)
{
	g_autofree char *path = test_path("chunked.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S, REQ, T0 + PG_MS(1));
	pg_sends(&c, PG_S2C,
		 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
		 T0 + PG_MS(2));
	pg_sends(&c, PG_S2C, "lo\r\n1", T0 + PG_MS(3));
	pg_sends(&c, PG_S2C, "0;ext=1\r\n0123456789ABCDEF\r\n0\r\n", T0 + PG_MS(4));
	/* The terminating CRLF after the last chunk completes it. */
	pg_sends(&c, PG_S2C, "\r\n", T0 + PG_MS(7));
	pg_sends(&c, PG_C2S, REQ, T0 + PG_MS(8));
	pg_sends(&c, PG_S2C, RESP_HEAD, T0 + PG_MS(9));
	pg_sends(&c, PG_S2C, "0123456789", T0 + PG_MS(9));
	pg_ack(&c, PG_C2S, T0 + PG_MS(10));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->status, ==, "200");
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_MS(1));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(6));
	g_assert_cmpuint(t->r.server_packets, ==, 4);
	g_assert_cmpuint(run_txn(r, 1)->r.ttlb_ns, ==, PG_MS(1));
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_MALFORMED], ==, 0);
	run_free(r);
}

static void test_out_of_order_response_completes_on_last_arrival(void)
{
	g_autofree char *path = test_path("ooo.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S, REQ, T0 + PG_MS(1));
	uint32_t s0 = c.seq[PG_S2C];
	uint32_t hl = (uint32_t)strlen(RESP_HEAD);
	/* The body's two halves arrive before the head. */
	pg_send_at(&c, PG_S2C, s0 + hl + 5, "56789", 5, T0 + PG_MS(2));
	pg_send_at(&c, PG_S2C, s0 + hl, "01234", 5, T0 + PG_MS(3));
	pg_send_at(&c, PG_S2C, s0, RESP_HEAD, hl, T0 + PG_MS(5));
	c.seq[PG_S2C] = s0 + hl + 10;
	pg_ack(&c, PG_C2S, T0 + PG_MS(6));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	/* First packet: the earliest arrival; last: the one completing. */
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_MS(1));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(4));
	g_assert_cmpuint(t->r.response_bytes, ==, hl + 10);
	g_assert_cmpuint(t->r.flags, ==, 0);
	g_assert_cmpuint(r->ooo_segs, ==, 2);
	run_free(r);
}

static void test_retransmitted_segment_counts_once(void)
{
	g_autofree char *path = test_path("retrans.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S, REQ, T0 + PG_MS(1));
	uint32_t s0 = c.seq[PG_S2C];
	pg_sends(&c, PG_S2C, RESP_HEAD, T0 + PG_MS(2));
	pg_send_at(&c, PG_S2C, s0, RESP_HEAD, strlen(RESP_HEAD),
		   T0 + PG_MS(3));
	pg_sends(&c, PG_S2C, "0123456789", T0 + PG_MS(4));
	pg_ack(&c, PG_C2S, T0 + PG_MS(5));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpuint(t->r.response_bytes, ==, strlen(RESP_HEAD) + 10);
	g_assert_cmpuint(t->r.retransmissions, ==, 1);
	g_assert_cmpuint(t->r.server_packets, ==, 2);
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(3));
	run_free(r);
}

static void test_unfillable_gap_is_flagged_and_still_timed(void)
{
	g_autofree char *path = test_path("gap.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S, REQ, T0 + PG_MS(1));
	pg_sends(&c, PG_S2C, RESP_HEAD, T0 + PG_MS(2));
	pg_skip(&c, PG_S2C, 4);		/* "0123" never captured */
	pg_sends(&c, PG_S2C, "456789", T0 + PG_MS(3));
	pg_ack(&c, PG_C2S, T0 + PG_MS(4));	/* the client had it all */
	/* A later request on the same connection is clean again. */
	pg_sends(&c, PG_C2S, REQ, T0 + PG_MS(10));
	pg_sends(&c, PG_S2C, RESP_HEAD, T0 + PG_MS(11));
	pg_sends(&c, PG_S2C, "0123456789", T0 + PG_MS(12));
	pg_ack(&c, PG_C2S, T0 + PG_MS(13));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->gaps, ==, 1);
	g_assert_cmpuint(r->gap_bytes, ==, 4);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpuint(t->r.flags & ARTMON_TXN_GAP, !=, 0);
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_MS(1));
	g_assert_cmpint(t->r.ttlb_ns, >=, PG_MS(2));
	g_assert_cmpuint(run_txn(r, 1)->r.flags, ==, 0);
	g_assert_cmpint(run_txn(r, 1)->r.ttlb_ns, ==, PG_MS(2));
	run_free(r);
}

static void test_midstream_pickup_at_next_request(void)
{
	g_autofree char *path = test_path("mid.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	/* No handshake: the capture starts in a response body. */
	pg_sends(&c, PG_S2C, "tail of some body\r\n", T0);
	pg_ack(&c, PG_C2S, T0 + PG_US(100));
	pg_sends(&c, PG_C2S, REQ, T0 + PG_MS(1));
	pg_sends(&c, PG_S2C, RESP_HEAD, T0 + PG_MS(2));
	pg_sends(&c, PG_S2C, "0123456789", T0 + PG_MS(2));
	pg_ack(&c, PG_C2S, T0 + PG_MS(3));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->signature, ==, "GET_/a.html");
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_MIDSTREAM);
	g_assert_cmpint(t->r.handshake_rtt_ns, ==, -1);
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(1));
	g_assert_cmpstr(t->client, ==, "10.0.0.1:40000");
	run_free(r);
}

static void test_unanswered_request_is_a_timeout(void)
{
	g_autofree char *path = test_path("unanswered.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S, REQ, T0 + PG_MS(1));
	pg_ack(&c, PG_S2C, T0 + PG_MS(2));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->status, ==, "timeout");
	g_assert_true(t->r.error);
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_TIMEOUT);
	g_assert_cmpint(t->r.ttfb_ns, ==, -1);
	g_assert_cmpint(t->r.ttlb_ns, ==, -1);
	run_free(r);
}

static void test_expect_100_continue_times_the_final_response(void)
{
	g_autofree char *path = test_path("continue.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S,
		 "POST /f HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
		 T0 + PG_MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 100 Continue\r\n\r\n", T0 + PG_MS(2));
	pg_sends(&c, PG_C2S, "data", T0 + PG_MS(3));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		 T0 + PG_MS(5));
	pg_ack(&c, PG_C2S, T0 + PG_MS(6));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->status, ==, "200");
	g_assert_cmpint(t->r.request_ns, ==, PG_MS(2));
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_MS(2));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(2));
	run_free(r);
}

static void test_truncated_frames_are_counted_not_read(void)
{
	g_autofree char *path = test_path("trunc.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	/* Every cut from 1 to 60 bytes of a full TCP packet. */
	for (uint32_t cut = 1; cut <= 60; cut++) {
		struct pg_conv c;
		pg_set_snaplen(pg, cut);
		pg_conv_init(&c, pg, "10.0.0.1", (uint16_t)(40000 + cut),
			     "10.0.0.2", 80, 1, 1);
		pg_sends(&c, PG_C2S, REQ, T0 + PG_MS(cut));
	}
	pg_set_snaplen(pg, 0);
	write_simple(pg, "10.0.0.3", "10.0.0.2", 1, 1);
	pg_close(pg);

	struct run *r = run_with(path, (const char *const[]){ "filter=", NULL });
	/* Cuts inside Ethernet+IP+TCP (54 bytes) are malformed; the rest
	 * are cut payloads, which the flow sees as gaps. */
	g_assert_cmpuint(r->ctr.malformed, ==, 53);
	g_assert_cmpuint(r->ctr.truncated, ==, 53);
	g_assert_cmpuint(r->txns->len, >=, 1);
	bool found = false;
	for (guint i = 0; i < r->txns->len; i++)
		if (strcmp(run_txn(r, i)->client, "10.0.0.3:40000") == 0) {
			assert_simple(run_txn(r, i));
			found = true;
		}
	g_assert_true(found);
	run_free(r);
}

static void test_ip_fragments_are_counted_and_skipped(void)
{
	g_autofree char *path = test_path("frag.pcap");
	struct pcapgen *pg = pg_open(path, DLT_RAW);
	/* IPv4, MF set, offset 0, UDP inside */
	static const uint8_t frag[] = {
		0x45, 0, 0, 28, 0, 1, 0x20, 0, 64, 17, 0, 0,
		10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0, 53, 0, 8, 0, 0
	};
	pg_frame(pg, frag, sizeof frag, T0);
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->ctr.fragments, ==, 1);
	g_assert_cmpuint(r->ctr.malformed, ==, 0);
	run_free(r);
}

static void test_full_flow_table_evicts_least_recent(void)
{
	g_autofree char *path = test_path("evict.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c[40];

	for (int i = 0; i < 40; i++) {
		pg_conv_init(&c[i], pg, "10.0.0.1", (uint16_t)(30000 + i),
			     "10.0.0.2", 80, 1, 1);
		pg_handshake(&c[i], T0 + PG_MS(i), PG_US(10), PG_US(10));
		pg_sends(&c[i], PG_C2S, REQ, T0 + PG_MS(i) + PG_US(100));
	}
	pg_close(pg);

	struct run *r = run_with(path, (const char *const[]){ "max_flows=16", NULL });
	g_assert_cmpuint(r->flows_created, ==, 40);
	g_assert_cmpuint(r->flows_evicted, ==, 24);
	g_assert_cmpuint(r->flows_peak, ==, 16);
	/* Evicted or not, every request is reported (unanswered). */
	g_assert_cmpuint(r->txns->len, ==, 40);
	g_assert_cmpstr(run_txn(r, 0)->client, ==, "10.0.0.1:30000");
	run_free(r);
}

static void test_idle_flow_expires_by_packet_time(void)
{
	g_autofree char *path = test_path("idle.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv a, b;

	pg_conv_init(&a, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&a, T0, PG_US(20), PG_US(30));
	pg_sends(&a, PG_C2S, REQ, T0 + PG_MS(1));
	/* Ten minutes later another connection: the first has expired. */
	pg_conv_init(&b, pg, "10.0.0.3", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&b, T0 + (int64_t)600 * 1000000000, PG_US(20), PG_US(30));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->flows_expired, ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 1);
	g_assert_cmpstr(run_txn(r, 0)->status, ==, "timeout");
	run_free(r);
}

static void test_rules_file_with_error_is_refused(void)
{
	g_autofree char *dir = test_path("badsigs");
	g_autofree char *file = g_build_filename(dir, "http.sigs", NULL);
	g_mkdir_with_parents(dir, 0700);
	g_assert_true(g_file_set_contents(file,
		"// broken on line 3\n"
		"transaction GET_$1 {\n"
		"    Offset = zero;\n"
		"    Content =~ \"GET (\\S*)\";\n"
		"}\n", -1, NULL));
	g_autofree char *pcap = test_path("any.pcap");
	struct pcapgen *pg = pg_open(pcap, DLT_EN10MB);
	pg_close(pg);

	struct run *r = run_capture(pcap, NULL, dir);
	g_assert_nonnull(r->error);
	g_assert_nonnull(strstr(r->error, "http.sigs:3:"));
	run_free(r);
	g_remove(file);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	harness_init();
	g_test_add_func("/sensor/http/simple-get-is-timed-exactly",
			test_simple_get_is_timed_exactly);
	g_test_add_func("/sensor/framing/vlan-8021q", test_vlan_8021q);
	g_test_add_func("/sensor/framing/vlan-qinq", test_vlan_qinq);
	g_test_add_func("/sensor/framing/linux-sll", test_linux_sll);
	g_test_add_func("/sensor/framing/linux-sll2", test_linux_sll2);
	g_test_add_func("/sensor/framing/raw-ip", test_raw_ip);
	g_test_add_func("/sensor/framing/bsd-null", test_bsd_null);
	g_test_add_func("/sensor/framing/ipv6", test_ipv6);
	g_test_add_func("/sensor/tcp/sequence-wraparound",
			test_sequence_wraparound);
	g_test_add_func("/sensor/http/request-in-two-packets-times-the-request",
			test_request_in_two_packets_times_request);
	g_test_add_func("/sensor/http/pipelined-requests-match-in-order",
			test_pipelined_requests_match_in_order);
	g_test_add_func("/sensor/http/chunked-body-spanning-packets",
			test_chunked_body_spanning_packets);
	g_test_add_func("/sensor/tcp/out-of-order-response-completes-on-last-arrival",
			test_out_of_order_response_completes_on_last_arrival);
	g_test_add_func("/sensor/tcp/retransmitted-segment-counts-once",
			test_retransmitted_segment_counts_once);
	g_test_add_func("/sensor/tcp/unfillable-gap-is-flagged-and-still-timed",
			test_unfillable_gap_is_flagged_and_still_timed);
	g_test_add_func("/sensor/http/midstream-pickup-at-next-request",
			test_midstream_pickup_at_next_request);
	g_test_add_func("/sensor/http/unanswered-request-is-a-timeout",
			test_unanswered_request_is_a_timeout);
	g_test_add_func("/sensor/http/expect-100-continue-times-the-final-response",
			test_expect_100_continue_times_the_final_response);
	g_test_add_func("/sensor/decode/truncated-frames-are-counted-not-read",
			test_truncated_frames_are_counted_not_read);
	g_test_add_func("/sensor/decode/ip-fragments-are-counted-and-skipped",
			test_ip_fragments_are_counted_and_skipped);
	g_test_add_func("/sensor/flow/full-table-evicts-least-recent",
			test_full_flow_table_evicts_least_recent);
	g_test_add_func("/sensor/flow/idle-flow-expires-by-packet-time",
			test_idle_flow_expires_by_packet_time);
	g_test_add_func("/sensor/rules/file-with-error-is-refused",
			test_rules_file_with_error_is_refused);
	return g_test_run();
}
