/*
 * test-http.c: the HTTP plugin (plugins/http.c) end to end, on the edges
 * the corpus does not reach.
 *
 * Each test writes a capture with pcapgen (exact packets, exact times),
 * runs the real sensor with only the http plugin and the default rules
 * (METHOD_path), and asserts transactions, timings and counters.  Times
 * are round numbers of microseconds from T0; "at N ms" in a comment is
 * T0 + N ms.  test-sensor-http.c has the basic cases (simple GET,
 * pipelining, chunked, 100-continue, midstream, unanswered).
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "pcapgen.h"

#define T0 ((int64_t)1700000000 * 1000000000)	/* 2023-11-14 22:13:20 */
#define MS(x) (T0 + PG_MS(x))
#define US(x) (T0 + PG_US(x))

/* ---------------------------------------------------------------- helpers */

static struct run *run_sets(const char *pcap, const char *extra)
{
	const char *sets[] = { "plugins=http", extra, NULL };
	struct run *r = run_capture(pcap, sets, NULL);
	if (r->error)
		g_error("sensor did not run: %s", r->error);
	return r;
}

static struct run *run(const char *pcap)
{
	return run_sets(pcap, NULL);
}

/* A conversation on port 80 with its handshake done by 1 ms. */
static struct pcapgen *conv(const char *name, char **path, struct pg_conv *c)
{
	*path = test_path(name);
	struct pcapgen *pg = pg_open(*path, DLT_EN10MB);
	pg_conv_init(c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1000, 5000);
	pg_handshake(c, T0, PG_US(20), PG_US(30));
	return pg;
}

/* The one transaction named sig. */
static const struct txn_copy *find(const struct run *r, const char *sig)
{
	const struct txn_copy *found = NULL;
	for (guint i = 0; i < r->txns->len; i++) {
		if (strcmp(run_txn(r, i)->signature, sig) != 0)
			continue;
		if (found)
			g_error("two transactions named %s", sig);
		found = run_txn(r, i);
	}
	if (!found)
		g_error("no transaction named %s", sig);
	return found;
}

static void assert_answer(const struct txn_copy *t, const char *status,
			  int64_t ttfb, int64_t ttlb)
{
	g_assert_cmpstr(t->protocol, ==, "http");
	g_assert_cmpstr(t->status, ==, status);
	g_assert_cmpint(t->r.ttfb_ns, ==, ttfb);
	g_assert_cmpint(t->r.ttlb_ns, ==, ttlb);
}

static uint64_t ev(const struct run *r, enum artmon_event e)
{
	return r->plugin_events[e];
}

/* ---------------------------------------------------------------- framing */

#define REQ_B "GET /b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"

static void test_keep_alive_requests_are_timed_one_by_one(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("keepalive.pcap", &path, &c);

	pg_sends(&c, PG_C2S, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		 MS(2));
	/* A stray CRLF before the next request is no request. */
	pg_sends(&c, PG_C2S, "\r\n" REQ_B, MS(3));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
		 MS(4));
	pg_sends(&c, PG_S2C, "xyz", MS(5));
	pg_ack(&c, PG_C2S, MS(6));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *a = find(r, "GET_/a"), *b = find(r, "GET_/b");
	assert_answer(a, "200", PG_MS(1), PG_MS(1));
	assert_answer(b, "200", PG_MS(1), PG_MS(2));
	g_assert_cmpint(b->r.start_ns, ==, MS(3));
	g_assert_cmpuint(b->r.request_bytes, ==, strlen(REQ_B)); /* no CRLF */
	g_assert_cmpuint(b->r.server_packets, ==, 2);
	g_assert_cmpuint(a->r.flags | b->r.flags, ==, 0);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

static void test_head_304_and_204_responses_have_no_body(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("nobody.pcap", &path, &c);

	pg_sends(&c, PG_C2S, "HEAD /h HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
		 MS(2));
	pg_sends(&c, PG_C2S, "GET /n HTTP/1.1\r\n\r\n", MS(3));
	pg_sends(&c, PG_S2C,
		 "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
		 MS(4));
	pg_sends(&c, PG_C2S, "DELETE /d HTTP/1.1\r\n\r\n", MS(5));
	pg_sends(&c, PG_S2C, "HTTP/1.1 204 No Content\r\n\r\n", MS(6));
	pg_sends(&c, PG_C2S, "GET /last HTTP/1.1\r\n\r\n", MS(7));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		 MS(8));
	pg_ack(&c, PG_C2S, MS(9));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 4);
	assert_answer(find(r, "HEAD_/h"), "200", PG_MS(1), PG_MS(1));
	assert_answer(find(r, "GET_/n"), "304", PG_MS(1), PG_MS(1));
	assert_answer(find(r, "DELETE_/d"), "204", PG_MS(1), PG_MS(1));
	assert_answer(find(r, "GET_/last"), "200", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

static void test_chunked_request_and_response_with_trailers(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("chunks.pcap", &path, &c);
	const char *q1 = "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		   *q2 = "4\r\nwiki\r\n", *q3 = "0\r\nX-Sum: 1\r\n\r\n",
		   *s1 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n"
			 "\r\nA;name=\"v\"\r\n0123456789\r\n",
		   *s2 = "0\r\nX-T: y\r\n\r\n";

	pg_sends(&c, PG_C2S, q1, MS(1));
	pg_sends(&c, PG_C2S, q2, US(1100));
	pg_sends(&c, PG_C2S, q3, US(1200));
	pg_sends(&c, PG_S2C, s1, MS(2));
	pg_sends(&c, PG_S2C, s2, MS(3));
	pg_sends(&c, PG_C2S, "GET /next HTTP/1.1\r\n\r\n", MS(4));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(5));
	pg_ack(&c, PG_C2S, MS(6));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *t = find(r, "POST_/up");
	assert_answer(t, "200", PG_US(800), PG_US(1800));
	g_assert_cmpint(t->r.request_ns, ==, PG_US(200));
	g_assert_cmpuint(t->r.request_bytes, ==,
			 strlen(q1) + strlen(q2) + strlen(q3));
	g_assert_cmpuint(t->r.response_bytes, ==, strlen(s1) + strlen(s2));
	assert_answer(find(r, "GET_/next"), "200", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

#define BODY "body without a length"

static void test_close_delimited_response_ends_at_the_fin(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("close.pcap", &path, &c);

	pg_sends(&c, PG_C2S, "GET /old HTTP/1.0\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n", MS(2));
	pg_sends(&c, PG_S2C, BODY, MS(3));
	pg_ack(&c, PG_C2S, US(3100));
	pg_fin(&c, PG_S2C, MS(5));	/* a bare FIN completes it */
	pg_fin(&c, PG_C2S, MS(6));	/* and its ACK is the client's */
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = find(r, "GET_/old");
	assert_answer(t, "200", PG_MS(1), PG_MS(4));
	g_assert_cmpuint(t->r.server_packets, ==, 3);
	/* The FIN's 0 bytes are no packet size. */
	g_assert_cmpuint(t->r.server_pkt_min, ==, strlen(BODY));
	g_assert_cmpint(t->r.client_ack_ns, ==, PG_MS(1));
	g_assert_cmpuint(t->r.flags, ==, 0);
	run_free(r);
}

static void test_server_closing_mid_body_is_a_timeout_with_status(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("cut.pcap", &path, &c);

	pg_sends(&c, PG_C2S, "GET /cut HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C,
		 "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
		 MS(2));
	pg_fin(&c, PG_S2C, MS(3));
	pg_fin(&c, PG_C2S, MS(4));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = find(r, "GET_/cut");
	g_assert_cmpstr(t->status, ==, "200");
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_TIMEOUT);
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_MS(1));
	run_free(r);
}

static void test_largest_content_length_is_counted_not_read(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("huge.pcap", &path, &c);
	const char *head = "HTTP/1.1 200 OK\r\n"
			   "Content-Length: 9223372036854775807\r\n\r\n";
	char body[1400];

	memset(body, 'b', sizeof body);
	pg_sends(&c, PG_C2S, "GET /huge HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, head, MS(2));
	for (int i = 0; i < 5; i++)
		pg_send(&c, PG_S2C, body, sizeof body, MS(3 + i));
	pg_ack(&c, PG_C2S, MS(9));
	pg_close(pg);		/* the capture ends mid-body */

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = find(r, "GET_/huge");
	g_assert_cmpstr(t->status, ==, "200");
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_TIMEOUT);
	g_assert_cmpuint(t->r.response_bytes, ==, strlen(head) + 5 * 1400);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

static void test_header_names_ignore_case_and_white_space(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("case.pcap", &path, &c);

	pg_sends(&c, PG_C2S,
		 "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C,
		 "HTTP/1.1 200 OK\r\ncontent-LENGTH :\t 3 \r\n\r\nabc"
		 "HTTP/1.1 201 Created\r\nContent-Length: 2, 2\r\n\r\nok",
		 MS(2));
	pg_ack(&c, PG_C2S, MS(3));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 2);
	assert_answer(find(r, "GET_/a"), "200", PG_MS(1), PG_MS(1));
	assert_answer(find(r, "GET_/b"), "201", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

/* ---------------------------------------------------------------- timing */

static void test_interim_103_is_not_the_response(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("hints.pcap", &path, &c);
	const char *fin = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	pg_sends(&c, PG_C2S, "GET /page HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C,
		 "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", MS(2));
	pg_sends(&c, PG_S2C, fin, MS(4));
	pg_ack(&c, PG_C2S, MS(5));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = find(r, "GET_/page");
	assert_answer(t, "200", PG_MS(3), PG_MS(3));
	g_assert_cmpuint(t->r.response_bytes, ==, strlen(fin));
	g_assert_cmpuint(t->r.server_packets, ==, 1);
	run_free(r);
}

static void test_status_line_cut_after_its_first_digit_starts_early(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("splitstatus.pcap", &path, &c);

	/* "HTTP/1.1 2" shows a final response: timed from its packet. */
	pg_sends(&c, PG_C2S, "GET /a HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 2", MS(2));
	pg_sends(&c, PG_S2C, "00 OK\r\nContent-Length: 0\r\n\r\n", MS(3));
	/* "HTTP/1.1 1" could be a 100: the 1xx is skipped whole. */
	pg_sends(&c, PG_C2S, "GET /b HTTP/1.1\r\n\r\n", MS(10));
	pg_sends(&c, PG_S2C, "HTTP/1.1 1", MS(11));
	pg_sends(&c, PG_S2C, "00 Continue\r\n\r\n", MS(12));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(14));
	/* Too short to tell: credited with the packet completing it. */
	pg_sends(&c, PG_C2S, "GET /c HTTP/1.1\r\n\r\n", MS(20));
	pg_sends(&c, PG_S2C, "HTT", MS(21));
	pg_sends(&c, PG_S2C, "P/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n",
		 MS(22));
	pg_ack(&c, PG_C2S, MS(23));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 3);
	assert_answer(find(r, "GET_/a"), "200", PG_MS(1), PG_MS(2));
	assert_answer(find(r, "GET_/b"), "200", PG_MS(4), PG_MS(4));
	const struct txn_copy *t = find(r, "GET_/c");
	assert_answer(t, "404", PG_MS(2), PG_MS(2));
	g_assert_cmpuint(t->r.response_bytes, ==, 40);	/* all of it */
	run_free(r);
}

static void test_request_head_across_packets_is_named_whole(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("splithead.pcap", &path, &c);

	const char *p1 = "GET /long/pa", *p2 = "th/more?q=1 HTTP/1.1\r\nHost: x\r",
		   *p3 = "\n\r\n";

	pg_sends(&c, PG_C2S, p1, MS(1));
	pg_sends(&c, PG_C2S, p2, US(1100));
	pg_sends(&c, PG_C2S, p3, US(1200));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(2));
	pg_ack(&c, PG_C2S, MS(3));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = find(r, "GET_/long/path/more");
	g_assert_cmpint(t->r.start_ns, ==, MS(1));
	g_assert_cmpint(t->r.request_ns, ==, PG_US(200));
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_US(800));
	g_assert_cmpuint(t->r.request_bytes, ==,
			 strlen(p1) + strlen(p2) + strlen(p3));
	run_free(r);
}

static void test_final_answer_before_the_body_ends(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("early.pcap", &path, &c);
	const char *head = "POST /big HTTP/1.1\r\nContent-Length: 10\r\n"
			   "Expect: 100-continue\r\n\r\n";

	/* The answer starts, the client sends its body anyway, then the
	 * answer ends: the body is not what the answer waited for, so it
	 * does not move the request's last packet (ttfb stays >= 0). */
	pg_sends(&c, PG_C2S, head, MS(1));
	pg_sends(&c, PG_S2C,
		 "HTTP/1.1 413 Too Large\r\nContent-Length: 4\r\n\r\n", MS(2));
	pg_sends(&c, PG_C2S, "0123456789", MS(3));
	pg_sends(&c, PG_S2C, "nope", MS(4));
	pg_sends(&c, PG_C2S, "GET /after HTTP/1.1\r\n\r\n", MS(5));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(6));
	pg_ack(&c, PG_C2S, MS(7));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *t = find(r, "POST_/big");
	assert_answer(t, "413", PG_MS(1), PG_MS(3));
	g_assert_cmpint(t->r.request_ns, ==, 0);
	g_assert_true(t->r.error);
	g_assert_cmpuint(t->r.request_bytes, ==, strlen(head));
	assert_answer(find(r, "GET_/after"), "200", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

/* ---------------------------------------------------------------- matching */

static void test_response_without_request_is_an_orphan_skipped_whole(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("orphan.pcap", &path, &c);

	/* Its body looks like a status line: it must be skipped by count. */
	pg_sends(&c, PG_S2C,
		 "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n"
		 "HTTP/1.1 500 Oops\r\n", MS(1));
	pg_sends(&c, PG_C2S, "GET /x HTTP/1.1\r\n\r\n", MS(2));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(3));
	pg_ack(&c, PG_C2S, MS(4));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	assert_answer(find(r, "GET_/x"), "200", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 1);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

static void test_pipeline_queue_is_capped(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("queue.pcap", &path, &c);
	GString *reqs = g_string_new(NULL), *resps = g_string_new(NULL);

	for (int i = 0; i < 65; i++)
		g_string_append_printf(reqs, "GET /%d HTTP/1.1\r\n\r\n", i);
	for (int i = 1; i < 65; i++)
		g_string_append(resps, "HTTP/1.1 200 OK\r\n"
				       "Content-Length: 0\r\n\r\n");
	pg_send(&c, PG_C2S, reqs->str, reqs->len, MS(1));
	pg_send(&c, PG_S2C, resps->str, resps->len, MS(2));
	pg_ack(&c, PG_C2S, MS(3));
	pg_close(pg);
	g_string_free(reqs, TRUE);
	g_string_free(resps, TRUE);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 65);
	g_assert_cmpuint(ev(r, ARTMON_EV_QUEUE_FULL), ==, 1);
	/* The oldest went unanswered; the rest got the responses. */
	g_assert_cmpstr(find(r, "GET_/0")->status, ==, "timeout");
	g_assert_cmpstr(find(r, "GET_/1")->status, ==, "200");
	g_assert_cmpstr(find(r, "GET_/64")->status, ==, "200");
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 0);
	run_free(r);
}

static void test_connect_tunnel_stops_parsing(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("connect.pcap", &path, &c);
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05,
					 'h', 'e', 'l', 'l', 'o' };

	pg_sends(&c, PG_C2S, "CONNECT db.example:443 HTTP/1.1\r\n"
			     "Host: db.example:443\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 Connection established\r\n\r\n",
		 MS(2));
	pg_send(&c, PG_C2S, hello, sizeof hello, MS(3));
	pg_send(&c, PG_S2C, hello, sizeof hello, MS(4));
	pg_ack(&c, PG_C2S, MS(5));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	assert_answer(find(r, "CONNECT_db.example:443"), "200", PG_MS(1),
		      PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_OPAQUE), ==, 1);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

static void test_switching_protocols_stops_parsing(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("upgrade.pcap", &path, &c);

	pg_sends(&c, PG_C2S, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
			     "Connection: Upgrade\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 101 Switching Protocols\r\n"
			     "Upgrade: websocket\r\n\r\n\x81\x02hi", MS(2));
	pg_sends(&c, PG_C2S, "\x81\x82xxxxhi", MS(3));
	pg_ack(&c, PG_S2C, MS(4));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	assert_answer(find(r, "GET_/ws"), "101", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_OPAQUE), ==, 1);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

/* ---------------------------------------------------------------- malformed */

static void test_bad_status_line_resyncs_at_the_next_one(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("badstatus.pcap", &path, &c);

	pg_sends(&c, PG_C2S, "GET /a HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTX/1.1 200 OK\r\nnoise\r\n", MS(2));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(3));
	pg_ack(&c, PG_C2S, MS(4));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	assert_answer(find(r, "GET_/a"), "200", PG_MS(2), PG_MS(2));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 1);
	run_free(r);
}

/* Each of these heads is malformed framing; the next response is read. */
static void test_bad_lengths_are_malformed_and_resync(void)
{
	static const char *const heads[] = {
		"Content-Length: 12x\r\n",
		"Content-Length: -1\r\n",
		"Content-Length:\r\n",
		"Content-Length: 5, 6\r\n",
		"Content-Length: 5\r\nContent-Length: 6\r\n",
		"Content-Length: 9223372036854775808\r\n",
		"Transfer-Encoding: chunked\r\n\r\nzz\r\n",	/* chunk size */
		"Transfer-Encoding: chunked\r\n\r\n2\r\nabXY\r\n", /* no CRLF */
	};

	for (size_t i = 0; i < G_N_ELEMENTS(heads); i++) {
		g_autofree char *path = NULL;
		struct pg_conv c;
		struct pcapgen *pg = conv("badlen.pcap", &path, &c);
		g_autofree char *resp = g_strdup_printf(
			"HTTP/1.1 200 OK\r\n%s%s", heads[i],
			strstr(heads[i], "\r\n\r\n") ? "" : "\r\nbody\r\n");

		pg_sends(&c, PG_C2S, "GET /a HTTP/1.1\r\n\r\n"
				     "GET /b HTTP/1.1\r\n\r\n", MS(1));
		pg_sends(&c, PG_S2C, resp, MS(2));
		pg_sends(&c, PG_S2C, "HTTP/1.1 404 Not Found\r\n"
				     "Content-Length: 0\r\n\r\n", MS(3));
		pg_ack(&c, PG_C2S, MS(4));
		pg_close(pg);

		struct run *r = run(path);
		if (g_test_verbose())
			printf("# case %zu: %s\n", i, heads[i]);
		g_assert_cmpuint(r->txns->len, ==, 2);
		assert_answer(find(r, "GET_/a"), "200", PG_MS(1), PG_MS(1));
		assert_answer(find(r, "GET_/b"), "404", PG_MS(2), PG_MS(2));
		g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 1);
		run_free(r);
	}
}

static void test_bad_request_line_waits_for_its_answer(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("badreq.pcap", &path, &c);

	pg_sends(&c, PG_C2S, "hello there\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 400 Bad Request\r\n"
			     "Content-Length: 0\r\n\r\n", MS(2));
	pg_sends(&c, PG_C2S, "GET /ok HTTP/1.1\r\n\r\n", MS(3));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(4));
	pg_ack(&c, PG_C2S, MS(5));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 2);
	assert_answer(find(r, "HTTP_other"), "400", PG_MS(1), PG_MS(1));
	assert_answer(find(r, "GET_/ok"), "200", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 1);
	run_free(r);
}

static void test_ten_megabyte_header_is_one_malformed_line(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("bighdr.pcap", &path, &c);
	char junk[1448];

	memset(junk, 'a', sizeof junk);
	pg_sends(&c, PG_C2S, "GET /a HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nX-Big: ", MS(2));
	int64_t t = MS(3);
	for (size_t sent = 0; sent < 10 * 1024 * 1024; sent += sizeof junk) {
		pg_send(&c, PG_S2C, junk, sizeof junk, t);
		t += PG_US(1);
	}
	pg_sends(&c, PG_S2C, "\r\n\r\n", t);
	pg_ack(&c, PG_C2S, t + PG_US(1));
	pg_sends(&c, PG_C2S, "GET /b HTTP/1.1\r\n\r\n", MS(20000));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(20001));
	pg_ack(&c, PG_C2S, MS(20002));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *a = find(r, "GET_/a");
	g_assert_cmpstr(a->status, ==, "200");
	g_assert_cmpint(a->r.ttfb_ns, ==, PG_MS(1));
	assert_answer(find(r, "GET_/b"), "200", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 1);
	run_free(r);
	g_remove(path);
}

/* ---------------------------------------------------------------- loss */

static void test_client_gap_flags_requests_until_all_are_answered(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("cgap.pcap", &path, &c);

	pg_sends(&c, PG_C2S, "GET /a HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(2));
	pg_skip(&c, PG_C2S, 24);	/* a request the capture lost */
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(4));
	pg_sends(&c, PG_C2S, "GET /b HTTP/1.1\r\n\r\n", MS(6));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(7));
	pg_sends(&c, PG_C2S, "GET /c HTTP/1.1\r\n\r\n", MS(8));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(9));
	pg_ack(&c, PG_C2S, MS(10));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->gaps, ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 3);
	g_assert_cmpuint(find(r, "GET_/a")->r.flags, ==, 0);
	const struct txn_copy *b = find(r, "GET_/b");
	assert_answer(b, "200", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(b->r.flags, ==, ARTMON_TXN_GAP);
	g_assert_cmpuint(find(r, "GET_/c")->r.flags, ==, 0);
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 1);
	run_free(r);
}

static void test_server_gap_closes_what_it_may_have_answered(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("sgap.pcap", &path, &c);
	const char *rb = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n";

	pg_sends(&c, PG_C2S, "GET /a HTTP/1.1\r\n\r\n"
			     "GET /b HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		 MS(2));
	/* Lost: the body of /a and the head of /b's answer. */
	pg_skip(&c, PG_S2C, (uint32_t)(5 + strlen(rb)));
	pg_sends(&c, PG_S2C, "xyz", MS(3));
	pg_ack(&c, PG_C2S, MS(4));
	pg_sends(&c, PG_C2S, "GET /c HTTP/1.1\r\n\r\n", MS(5));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(6));
	pg_ack(&c, PG_C2S, MS(7));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->gaps, ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 3);
	const struct txn_copy *a = find(r, "GET_/a"), *b = find(r, "GET_/b");
	g_assert_cmpstr(a->status, ==, "200");
	g_assert_cmpuint(a->r.flags & ARTMON_TXN_GAP, !=, 0);
	g_assert_cmpstr(b->status, ==, "timeout");
	g_assert_cmpuint(b->r.flags, ==, ARTMON_TXN_GAP | ARTMON_TXN_TIMEOUT);
	const struct txn_copy *t = find(r, "GET_/c");
	assert_answer(t, "200", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(t->r.flags, ==, 0);
	run_free(r);
}

static void test_midstream_client_resyncs_at_a_request_line(void)
{
	g_autofree char *path = test_path("midc.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;
	const char *req = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	g_autofree char *first = g_strconcat(
		"X-Tail: of a head\r\n\r\nfield=1\r\n", req, NULL);
	pg_sends(&c, PG_C2S, first, MS(1));
	pg_sends(&c, PG_S2C, "some earlier body\r\n"
			     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(2));
	pg_ack(&c, PG_C2S, MS(3));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = find(r, "GET_/b");
	assert_answer(t, "200", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_MIDSTREAM);
	g_assert_cmpuint(t->r.request_bytes, ==, strlen(req));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 0);
	run_free(r);
}

/* ---------------------------------------------------------------- detection */

static void test_probe_finds_http_on_an_unclaimed_port(void)
{
	g_autofree char *path = test_path("probe.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 5555, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S, "OPTIONS * HTTP/1.1\r\n\r\n", MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 MS(2));
	pg_ack(&c, PG_C2S, MS(3));
	pg_close(pg);

	struct run *r = run_sets(path, "filter=");
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = find(r, "OPTIONS_*");
	assert_answer(t, "200", PG_MS(1), PG_MS(1));
	g_assert_cmpstr(t->server, ==, "10.0.0.2:5555");
	run_free(r);
}

/* ---------------------------------------------------------------- robustness */

static const char *const client_parts[] = {
	"GET /x HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
	("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n"),
	"HEAD /h HTTP/1.0\r\n\r\n",
	"PUT /big HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
	"CONNECT a:1 HTTP/1.1\r\n\r\n",
};

static const char *const server_parts[] = {
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.1 100 Continue\r\n\r\n",
	("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "5\r\nhello\r\n0\r\n\r\n"),
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.0 404 Not Found\r\n\r\nbody until the end",
	"HTTP/1.1 101 Switching\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n",
};

static void test_mutated_streams_never_break_the_rules(void)
{
	int rounds = g_test_slow() ? 2000 : 150;

	for (int round = 0; round < rounds; round++) {
		GRand *rng = g_rand_new_with_seed((guint32)round);
		g_autofree char *path = test_path("fuzz.pcap");
		int mut = round % 3 == 0 ? 1000000 : g_rand_int_range(rng, 8, 400);
		GString *st[2] = {
			harness_random_stream(rng, client_parts,
					      G_N_ELEMENTS(client_parts), 12,
					      mut, client_parts[0] + 4),
			harness_random_stream(rng, server_parts,
					      G_N_ELEMENTS(server_parts), 12,
					      mut, server_parts[0] + 4),
		};
		harness_random_conversation(path, rng, 80, st, round % 2, T0);

		struct run *r = run(path);
		for (guint i = 0; i < r->txns->len; i++) {
			const struct txn_copy *x = run_txn(r, i);
			const char *s = x->status;
			bool code = strlen(s) == 3 && g_ascii_isdigit(s[0]) &&
				    g_ascii_isdigit(s[1]) &&
				    g_ascii_isdigit(s[2]);
			if (!code && strcmp(s, "timeout") != 0 &&
			    strcmp(s, "malformed") != 0)
				g_error("round %d: status '%s'", round, s);
			/* A response never starts before its request. */
			if (x->r.ttfb_ns != -1 && x->r.ttfb_ns < 0 &&
			    x->r.request_bytes && !(x->r.flags & ARTMON_TXN_GAP))
				g_error("round %d: %s ttfb %" G_GINT64_FORMAT,
					round, x->signature, x->r.ttfb_ns);
		}
		run_free(r);
		g_string_free(st[0], TRUE);
		g_string_free(st[1], TRUE);
		g_rand_free(rng);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	harness_init();
	g_test_add_func("/http/framing/keep-alive-requests-are-timed-one-by-one",
			test_keep_alive_requests_are_timed_one_by_one);
	g_test_add_func("/http/framing/head-304-and-204-responses-have-no-body",
			test_head_304_and_204_responses_have_no_body);
	g_test_add_func("/http/framing/chunked-request-and-response-with-trailers",
			test_chunked_request_and_response_with_trailers);
	g_test_add_func("/http/framing/close-delimited-response-ends-at-the-fin",
			test_close_delimited_response_ends_at_the_fin);
	g_test_add_func("/http/framing/server-closing-mid-body-is-a-timeout-with-status",
			test_server_closing_mid_body_is_a_timeout_with_status);
	g_test_add_func("/http/framing/largest-content-length-is-counted-not-read",
			test_largest_content_length_is_counted_not_read);
	g_test_add_func("/http/framing/header-names-ignore-case-and-white-space",
			test_header_names_ignore_case_and_white_space);
	g_test_add_func("/http/timing/interim-103-is-not-the-response",
			test_interim_103_is_not_the_response);
	g_test_add_func("/http/timing/status-line-cut-after-its-first-digit-starts-early",
			test_status_line_cut_after_its_first_digit_starts_early);
	g_test_add_func("/http/timing/request-head-across-packets-is-named-whole",
			test_request_head_across_packets_is_named_whole);
	g_test_add_func("/http/timing/final-answer-before-the-body-ends",
			test_final_answer_before_the_body_ends);
	g_test_add_func("/http/matching/response-without-request-is-an-orphan-skipped-whole",
			test_response_without_request_is_an_orphan_skipped_whole);
	g_test_add_func("/http/matching/pipeline-queue-is-capped",
			test_pipeline_queue_is_capped);
	g_test_add_func("/http/matching/connect-tunnel-stops-parsing",
			test_connect_tunnel_stops_parsing);
	g_test_add_func("/http/matching/switching-protocols-stops-parsing",
			test_switching_protocols_stops_parsing);
	g_test_add_func("/http/malformed/bad-status-line-resyncs-at-the-next-one",
			test_bad_status_line_resyncs_at_the_next_one);
	g_test_add_func("/http/malformed/bad-lengths-are-malformed-and-resync",
			test_bad_lengths_are_malformed_and_resync);
	g_test_add_func("/http/malformed/bad-request-line-waits-for-its-answer",
			test_bad_request_line_waits_for_its_answer);
	g_test_add_func("/http/malformed/ten-megabyte-header-is-one-malformed-line",
			test_ten_megabyte_header_is_one_malformed_line);
	g_test_add_func("/http/loss/client-gap-flags-requests-until-all-are-answered",
			test_client_gap_flags_requests_until_all_are_answered);
	g_test_add_func("/http/loss/server-gap-closes-what-it-may-have-answered",
			test_server_gap_closes_what_it_may_have_answered);
	g_test_add_func("/http/midstream/client-resyncs-at-a-request-line",
			test_midstream_client_resyncs_at_a_request_line);
	g_test_add_func("/http/detect/probe-finds-http-on-an-unclaimed-port",
			test_probe_finds_http_on_an_unclaimed_port);
	g_test_add_func("/http/robustness/mutated-streams-never-break-the-rules",
			test_mutated_streams_never_break_the_rules);
	return g_test_run();
}
