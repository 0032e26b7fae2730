/*
 * test-tcp.c: the generic TCP plugin (plugins/tcp.c) end to end.
 *
 * Each test writes a capture with pcapgen (exact packets, exact times),
 * runs the real sensor with only the tcp plugin loaded, and asserts the
 * transactions and counters.  Opaque protocols are timed by turns; TLS
 * conversations are built record by record (real record and handshake
 * headers, random bytes where the real thing is encrypted), split across
 * segments where the parser must carry state.
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <pcap/pcap.h>
#include <string.h>

#include "harness.h"
#include "pcapgen.h"

#define T0 ((int64_t)1700000000 * 1000000000)	/* 2023-11-14 22:13:20 */
#define MS(x) (T0 + PG_MS(x))

/* ---------------------------------------------------------------- running */

static struct run *run_ports(const char *pcap, const char *ports,
			     const char *sigs_dir)
{
	g_autofree char *p = ports ? g_strdup_printf("tcp.ports=%s", ports)
				   : NULL;
	const char *sets[] = { "plugins=tcp", p, NULL };
	struct run *r = run_capture(pcap, sets, sigs_dir);
	if (r->error)
		g_error("sensor did not run: %s", r->error);
	return r;
}

/* A fresh capture: pg_open on test_path(name). */
static struct pcapgen *capture(const char *name, char **path)
{
	*path = test_path(name);
	return pg_open(*path, DLT_EN10MB);
}

/* The first transaction named sig (asserts there is one). */
static const struct txn_copy *find_txn(const struct run *r, const char *sig)
{
	for (guint i = 0; i < r->txns->len; i++)
		if (strcmp(run_txn(r, i)->signature, sig) == 0)
			return run_txn(r, i);
	g_error("no transaction named %s", sig);
	return NULL;
}

static void assert_timing(const struct txn_copy *t, int64_t start,
			  int64_t request, int64_t ttfb, int64_t ttlb)
{
	g_assert_cmpint(t->r.start_ns, ==, start);
	g_assert_cmpint(t->r.request_ns, ==, request);
	g_assert_cmpint(t->r.ttfb_ns, ==, ttfb);
	g_assert_cmpint(t->r.ttlb_ns, ==, ttlb);
}

/* ---------------------------------------------------------------- opaque turns */

static const char PG_QUERY[] = "Q\0\0\0\x0dselect 1\0";	/* 14 bytes */
#define PG_QUERY_LEN (sizeof PG_QUERY - 1)

static void test_turn_is_timed_exactly(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("turn.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1000, 5000);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(1));
	pg_ack(&c, PG_S2C, MS(1) + PG_US(10));
	pg_sends(&c, PG_S2C, "T-row-description", MS(3));
	pg_sends(&c, PG_S2C, "D-data-C-complete-Z", MS(4));
	pg_ack(&c, PG_C2S, MS(4) + PG_US(500));
	/* A second turn on the same connection. */
	pg_send(&c, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(10));
	pg_sends(&c, PG_S2C, "C-Z", MS(12));
	pg_ack(&c, PG_C2S, MS(13));
	pg_close(pg);

	struct run *r = run_ports(path, "5432", NULL);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->protocol, ==, "tcp");
	g_assert_cmpstr(t->signature, ==, "TCP_5432");
	g_assert_cmpstr(t->status, ==, "");
	g_assert_false(t->r.error);
	assert_timing(t, MS(1), 0, PG_MS(2), PG_MS(3));
	g_assert_cmpint(t->r.handshake_rtt_ns, ==, PG_US(50));
	g_assert_cmpint(t->r.client_ack_ns, ==, PG_US(500));
	g_assert_cmpuint(t->r.request_bytes, ==, PG_QUERY_LEN);
	g_assert_cmpuint(t->r.response_bytes, ==, 17 + 19);
	g_assert_cmpuint(t->r.server_packets, ==, 2);
	g_assert_cmpuint(t->r.flags, ==, 0);
	g_assert_cmpstr(t->server, ==, "10.0.0.2:5432");

	t = run_txn(r, 1);
	g_assert_cmpstr(t->signature, ==, "TCP_5432");
	assert_timing(t, MS(10), 0, PG_MS(2), PG_MS(2));
	g_assert_cmpint(t->r.client_ack_ns, ==, PG_MS(1));
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_ORPHAN_RESPONSE], ==, 0);
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_MALFORMED], ==, 0);
	run_free(r);
}

static void test_pipelined_messages_are_one_turn(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("pipe.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 6379, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	/* Two commands back to back, in two packets, before any answer. */
	pg_sends(&c, PG_C2S, "*2\r\n$3\r\nGET\r\n$1\r\na\r\n", MS(1));
	pg_sends(&c, PG_C2S, "*2\r\n$3\r\nGET\r\n$1\r\nb\r\n", MS(1) + PG_US(200));
	pg_sends(&c, PG_S2C, "$1\r\nx\r\n", MS(3));
	pg_sends(&c, PG_S2C, "$1\r\ny\r\n", MS(3) + PG_US(500));
	pg_sends(&c, PG_C2S, "*1\r\n$4\r\nPING\r\n", MS(5));
	pg_sends(&c, PG_S2C, "+PONG\r\n", MS(6));
	pg_ack(&c, PG_C2S, MS(7));
	pg_close(pg);

	struct run *r = run_ports(path, "6379", NULL);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *t = run_txn(r, 0);
	assert_timing(t, MS(1), PG_US(200), PG_US(1800), PG_US(2300));
	g_assert_cmpuint(t->r.request_bytes, ==, 2 * 20);
	g_assert_cmpuint(t->r.request_packets, ==, 2);
	g_assert_cmpuint(t->r.response_bytes, ==, 14);
	g_assert_cmpstr(t->signature, ==, "TCP_6379");
	assert_timing(run_txn(r, 1), MS(5), 0, PG_MS(1), PG_MS(1));
	run_free(r);
}

static void test_server_first_banner_is_a_greeting(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("banner.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 2525, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));	/* done at +50 us */
	pg_sends(&c, PG_S2C, "220 mail.example ESMTP\r\n", MS(2));
	pg_sends(&c, PG_C2S, "EHLO client\r\n", MS(3));
	pg_sends(&c, PG_S2C, "250-mail.example\r\n", MS(4));
	pg_sends(&c, PG_S2C, "250 SIZE 1000\r\n", MS(4) + PG_US(100));
	pg_ack(&c, PG_C2S, MS(5));
	pg_close(pg);

	struct run *r = run_ports(path, "2525", NULL);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *g = run_txn(r, 0);
	g_assert_cmpstr(g->signature, ==, "TCP_2525_greeting");
	g_assert_cmpstr(g->status, ==, "");
	g_assert_false(g->r.error);
	/* From the end of the TCP handshake to the banner. */
	assert_timing(g, T0 + PG_US(50), 0, PG_MS(2) - PG_US(50),
		      PG_MS(2) - PG_US(50));
	g_assert_cmpuint(g->r.request_bytes, ==, 0);
	g_assert_cmpuint(g->r.response_bytes, ==, 24);
	const struct txn_copy *t = run_txn(r, 1);
	g_assert_cmpstr(t->signature, ==, "TCP_2525");
	assert_timing(t, MS(3), 0, PG_MS(1), PG_US(1100));
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_ORPHAN_RESPONSE], ==, 0);
	run_free(r);
}

static void test_midstream_server_first_is_an_orphan(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("mid.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1, 1);
	/* No handshake: the capture starts in the server's answer. */
	pg_sends(&c, PG_S2C, "D-tail-of-rows", T0);
	pg_ack(&c, PG_C2S, T0 + PG_US(100));
	pg_send(&c, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(1));
	pg_sends(&c, PG_S2C, "C-Z", MS(2));
	pg_ack(&c, PG_C2S, MS(3));
	pg_close(pg);

	struct run *r = run_ports(path, "5432", NULL);
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_ORPHAN_RESPONSE], ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_MIDSTREAM);
	g_assert_cmpint(t->r.handshake_rtt_ns, ==, -1);
	assert_timing(t, MS(1), 0, PG_MS(1), PG_MS(1));
	run_free(r);
}

static void test_midstream_client_bytes_wait_for_next_turn(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("mid2.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1, 1);
	/* The capture starts inside a client turn: maybe its tail. */
	pg_sends(&c, PG_C2S, "tail of a query\0", T0);
	pg_sends(&c, PG_S2C, "C-Z", MS(1));
	pg_send(&c, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(2));
	pg_sends(&c, PG_S2C, "C-Z", MS(4));
	pg_ack(&c, PG_C2S, MS(5));
	pg_close(pg);

	struct run *r = run_ports(path, "5432", NULL);
	g_assert_cmpuint(r->txns->len, ==, 1);
	assert_timing(run_txn(r, 0), MS(2), 0, PG_MS(2), PG_MS(2));
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_ORPHAN_RESPONSE], ==, 0);
	run_free(r);
}

static void test_goodbye_without_answer_is_client_closed(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("bye.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(1));
	pg_sends(&c, PG_S2C, "C-Z", MS(2));
	/* PostgreSQL's Terminate: no answer, the client closes. */
	pg_send(&c, PG_C2S, "X\0\0\0\x04", 5, MS(3));
	pg_fin(&c, PG_C2S, MS(3) + PG_US(10));
	pg_fin(&c, PG_S2C, MS(4));
	pg_ack(&c, PG_C2S, MS(5));
	pg_close(pg);

	struct run *r = run_ports(path, "5432", NULL);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *t = run_txn(r, 1);
	g_assert_cmpstr(t->status, ==, "client_closed");
	g_assert_false(t->r.error);
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_TIMEOUT);
	g_assert_cmpint(t->r.ttfb_ns, ==, -1);
	g_assert_cmpuint(t->r.request_bytes, ==, 5);
	run_free(r);
}

static void test_server_closing_on_a_request_is_an_error(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("srvclose.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(1));
	pg_fin(&c, PG_S2C, MS(2));
	pg_close(pg);

	struct run *r = run_ports(path, "5432", NULL);
	g_assert_cmpuint(r->txns->len, ==, 1);
	g_assert_cmpstr(run_txn(r, 0)->status, ==, "server_closed");
	g_assert_true(run_txn(r, 0)->r.error);
	run_free(r);
}

static void test_half_close_is_still_answered(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("halfclose.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 4343, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_sends(&c, PG_C2S, "example.com\r\n", MS(1));
	pg_fin(&c, PG_C2S, MS(1) + PG_US(5));
	pg_sends(&c, PG_S2C, "Domain: example.com\r\n", MS(3));
	pg_fin(&c, PG_S2C, MS(4));
	pg_ack(&c, PG_C2S, MS(5));
	pg_close(pg);

	struct run *r = run_ports(path, "4343", NULL);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->status, ==, "");
	g_assert_false(t->r.error);
	assert_timing(t, MS(1), 0, PG_MS(2), PG_MS(2));
	run_free(r);
}

static void test_unanswered_at_end_of_capture_is_a_timeout(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("hang.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(1));
	pg_ack(&c, PG_S2C, MS(2));
	pg_close(pg);

	struct run *r = run_ports(path, "5432", NULL);
	g_assert_cmpuint(r->txns->len, ==, 1);
	g_assert_cmpstr(run_txn(r, 0)->status, ==, "timeout");
	g_assert_true(run_txn(r, 0)->r.error);
	g_assert_cmpuint(run_txn(r, 0)->r.flags, ==, ARTMON_TXN_TIMEOUT);
	run_free(r);
}

static void test_default_ports_are_443_only(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("ports.pcap", &path);
	struct pg_conv a, b;

	pg_conv_init(&a, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1, 1);
	pg_handshake(&a, T0, PG_US(20), PG_US(30));
	pg_send(&a, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(1));
	pg_sends(&a, PG_S2C, "C-Z", MS(2));
	/* Not TLS on 443: opaque turns, named by the port. */
	pg_conv_init(&b, pg, "10.0.0.1", 40001, "10.0.0.2", 443, 1, 1);
	pg_handshake(&b, T0, PG_US(20), PG_US(30));
	pg_sends(&b, PG_C2S, "GET / HTTP/1.0\r\n\r\n", MS(1));
	pg_sends(&b, PG_S2C, "HTTP/1.0 400 Bad Request\r\n\r\n", MS(2));
	pg_close(pg);

	struct run *r = run_ports(path, NULL, NULL);
	g_assert_cmpuint(r->txns->len, ==, 1);
	g_assert_cmpstr(run_txn(r, 0)->signature, ==, "TCP_443");
	g_assert_cmpstr(run_txn(r, 0)->server, ==, "10.0.0.2:443");
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_MALFORMED], ==, 0);
	run_free(r);
}

/* ---------------------------------------------------------------- rules */

/* The shipped tcp.sigs with every example rule uncommented, in dir. */
static void write_example_rules(const char *dir)
{
	g_autofree char *src = g_build_filename(
		g_getenv("ARTMON_SRCDIR") ? g_getenv("ARTMON_SRCDIR")
					  : ARTMON_ABS_SRCDIR,
		"etc", "artmon", "tcp.sigs", NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) err = NULL;
	g_assert_true(g_file_get_contents(src, &text, NULL, &err));
	g_autoptr(GRegex) re = g_regex_new("^# ((transaction |    |\\}).*)$",
					   G_REGEX_MULTILINE, 0, &err);
	g_assert_no_error(err);
	g_autofree char *rules = g_regex_replace(re, text, -1, 0, "\\1", 0,
						 &err);
	g_assert_no_error(err);
	g_assert_nonnull(strstr(rules, "\ntransaction PG_$1 {"));
	g_assert_nonnull(strstr(rules, "\ntransaction REDIS_$1 {"));
	g_mkdir_with_parents(dir, 0700);
	g_autofree char *dst = g_build_filename(dir, "tcp.sigs", NULL);
	g_assert_true(g_file_set_contents(dst, rules, -1, &err));
}

static void remove_rules(const char *dir)
{
	g_autofree char *f = g_build_filename(dir, "tcp.sigs", NULL);
	g_remove(f);
	g_rmdir(dir);
}

static void test_rules_name_turns_by_first_bytes(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("rules.pcap", &path);
	struct pg_conv a, b, d;

	pg_conv_init(&a, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1, 1);
	pg_handshake(&a, T0, PG_US(20), PG_US(30));
	static const char startup[] = "\0\0\0\x10\0\x03\0\0user\0pg\0\0";
	pg_send(&a, PG_C2S, startup, sizeof startup - 1, MS(1));
	pg_sends(&a, PG_S2C, "R-auth-ok-Z", MS(2));
	/* The type letter alone in the first packet: the rule needs three
	 * bytes, so naming waits for the rest of the turn. */
	pg_send(&a, PG_C2S, PG_QUERY, 1, MS(3));
	pg_send(&a, PG_C2S, PG_QUERY + 1, PG_QUERY_LEN - 1, MS(3) + PG_US(40));
	pg_sends(&a, PG_S2C, "C-Z", MS(4));
	pg_send(&a, PG_C2S, "X\0\0\0\x04", 5, MS(5));
	pg_fin(&a, PG_C2S, MS(5) + PG_US(10));
	pg_fin(&a, PG_S2C, MS(6));

	pg_conv_init(&b, pg, "10.0.0.1", 40001, "10.0.0.2", 6379, 1, 1);
	pg_handshake(&b, MS(10), PG_US(20), PG_US(30));
	pg_sends(&b, PG_C2S, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n",
		 MS(11));
	pg_sends(&b, PG_S2C, "$-1\r\n+PONG\r\n", MS(12));
	pg_sends(&b, PG_C2S, "*1\r\n$4\r\nPING\r\n", MS(13));
	pg_sends(&b, PG_S2C, "+PONG\r\n", MS(14));

	/* A first packet longer than the rules' window names at once. */
	pg_conv_init(&d, pg, "10.0.0.1", 40002, "10.0.0.2", 7000, 1, 1);
	pg_handshake(&d, MS(20), PG_US(20), PG_US(30));
	char big[600];
	memset(big, 'z', sizeof big);
	memcpy(big, "STORE ", 6);
	pg_send(&d, PG_C2S, big, sizeof big, MS(21));
	pg_sends(&d, PG_S2C, "OK\n", MS(22));
	pg_send(&d, PG_C2S, "\x01\x02\x03", 3, MS(23));
	pg_sends(&d, PG_S2C, "OK\n", MS(24));
	pg_close(pg);

	g_autofree char *dir = test_path("sigs-rules");
	write_example_rules(dir);
	struct run *r = run_ports(path, "5432,6379,7000", dir);
	remove_rules(dir);

	g_assert_cmpuint(r->txns->len, ==, 7);
	g_assert_cmpint(find_txn(r, "PG_startup")->r.start_ns, ==, MS(1));
	const struct txn_copy *q = find_txn(r, "PG_Q");
	assert_timing(q, MS(3), PG_US(40), PG_US(960), PG_US(960));
	g_assert_cmpstr(find_txn(r, "PG_X")->status, ==, "client_closed");
	const struct txn_copy *get = find_txn(r, "REDIS_GET");
	g_assert_cmpint(get->r.start_ns, ==, MS(11));
	g_assert_cmpuint(get->r.response_bytes, ==, 12);
	g_assert_cmpint(find_txn(r, "REDIS_PING")->r.start_ns, ==, MS(13));
	const struct txn_copy *st = find_txn(r, "MYAPP_STORE");
	g_assert_cmpuint(st->r.request_bytes, ==, sizeof big);
	g_assert_cmpint(find_txn(r, "TCP_7000")->r.start_ns, ==, MS(23));
	run_free(r);
}

/* ---------------------------------------------------------------- gaps */

static void test_gap_in_answer_is_flagged_then_clean(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("gap.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(1));
	pg_sends(&c, PG_S2C, "T-rows", MS(2));
	pg_skip(&c, PG_S2C, 100);	/* never captured */
	pg_sends(&c, PG_S2C, "C-Z", MS(3));
	pg_ack(&c, PG_C2S, MS(4));	/* reveals the hole */
	/* The gap is declared at the next packet, the next request: the
	 * answer's tail it releases (captured at 3 ms) must still reach
	 * the plugin before the request. */
	pg_send(&c, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(10));
	pg_sends(&c, PG_S2C, "C-Z", MS(11));
	pg_ack(&c, PG_C2S, MS(12));
	pg_close(pg);

	struct run *r = run_ports(path, "5432", NULL);
	g_assert_cmpuint(r->gaps, ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_GAP);
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_MS(1));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(2));
	g_assert_cmpuint(t->r.response_bytes, ==, 6 + 3);
	g_assert_cmpuint(run_txn(r, 1)->r.flags, ==, 0);
	assert_timing(run_txn(r, 1), MS(10), 0, PG_MS(1), PG_MS(1));
	g_assert_cmpuint(run_txn(r, 1)->r.response_bytes, ==, 3);
	run_free(r);
}

static void test_lost_start_of_turn_is_timed_unnamed(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("gap2.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, PG_QUERY, PG_QUERY_LEN, MS(1));
	pg_sends(&c, PG_S2C, "C-Z", MS(2));
	/* The first packet of the next turn was not captured. */
	pg_skip(&c, PG_C2S, 1);
	pg_send(&c, PG_C2S, PG_QUERY + 1, PG_QUERY_LEN - 1, MS(3));
	pg_ack(&c, PG_S2C, MS(3) + PG_US(10));	/* reveals the hole */
	pg_ack(&c, PG_C2S, MS(3) + PG_US(20));
	pg_sends(&c, PG_S2C, "C-Z", MS(5));
	pg_ack(&c, PG_C2S, MS(6));
	pg_close(pg);

	g_autofree char *dir = test_path("sigs-gap");
	write_example_rules(dir);
	struct run *r = run_ports(path, "5432", dir);
	remove_rules(dir);

	g_assert_cmpuint(r->gaps, ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 2);
	g_assert_cmpstr(run_txn(r, 0)->signature, ==, "PG_Q");
	/* The core flags whatever was open when bytes went missing: the
	 * answered turn before, too. */
	g_assert_cmpuint(run_txn(r, 0)->r.flags, ==, ARTMON_TXN_GAP);
	const struct txn_copy *t = run_txn(r, 1);
	/* No text to name it by: the rules would see "\0\0\0\x0d...". */
	g_assert_cmpstr(t->signature, ==, "TCP_5432");
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_GAP);
	assert_timing(t, MS(3), 0, PG_MS(2), PG_MS(2));
	run_free(r);
}

/* ---------------------------------------------------------------- TLS builders */

/* 5-byte record header + body. */
static void rec(GByteArray *out, uint8_t type, uint16_t version,
		const uint8_t *body, size_t len)
{
	uint8_t h[5] = { type, (uint8_t)(version >> 8), (uint8_t)version,
			 (uint8_t)(len >> 8), (uint8_t)len };
	g_byte_array_append(out, h, 5);
	if (len)
		g_byte_array_append(out, body, (guint)len);
}

/* A record of len pseudo-random ("encrypted") bytes. */
static void rec_opaque(GByteArray *out, uint8_t type, size_t len)
{
	g_autofree uint8_t *b = g_malloc(len ? len : 1);
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 131 + 7);
	rec(out, type, 0x0303, b, len);
}

/* 4-byte handshake message header + body. */
static void hs_msg(GByteArray *out, uint8_t type, const uint8_t *body,
		   size_t len)
{
	uint8_t h[4] = { type, (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			 (uint8_t)len };
	g_byte_array_append(out, h, 4);
	if (len)
		g_byte_array_append(out, body, (guint)len);
}

static void hs_opaque(GByteArray *out, uint8_t type, size_t len)
{
	g_autofree uint8_t *b = g_malloc0(len ? len : 1);
	hs_msg(out, type, b, len);
}

static const uint8_t HRR_RANDOM[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
	0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
	0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* ServerHello body: tls13 adds key_share and supported_versions (after
 * key_share, so the parser must skip one extension to find it). */
static void server_hello(GByteArray *msg, bool tls13, bool hrr)
{
	GByteArray *b = g_byte_array_new();
	static const uint8_t v12[] = { 3, 3 };
	g_byte_array_append(b, v12, 2);
	uint8_t random[32];
	for (int i = 0; i < 32; i++)
		random[i] = (uint8_t)(0x40 + i);
	g_byte_array_append(b, hrr ? HRR_RANDOM : random, 32);
	uint8_t sid[33] = { 32 };
	g_byte_array_append(b, sid, 33);
	static const uint8_t cs12[] = { 0xc0, 0x2f, 0 }, cs13[] = { 0x13, 1, 0 };
	g_byte_array_append(b, tls13 ? cs13 : cs12, 3);
	if (tls13) {
		uint8_t ext[2 + 4 + 36 + 4 + 2] = {
			0, 46,			/* extensions length */
			0, 0x33, 0, 36, 0, 0x1d, 0, 32,	/* key_share */
		};
		uint8_t *sv = ext + 2 + 4 + 36;
		sv[0] = 0; sv[1] = 43; sv[2] = 0; sv[3] = 2;	/* supported_versions */
		sv[4] = 3; sv[5] = 4;
		g_byte_array_append(b, ext, sizeof ext);
	} else {
		static const uint8_t ext[] = { 0, 5, 0xff, 1, 0, 1, 0 };
		g_byte_array_append(b, ext, sizeof ext);
	}
	hs_msg(msg, 2, b->data, b->len);
	g_byte_array_free(b, TRUE);
}

static GByteArray *client_hello(void)
{
	GByteArray *msg = g_byte_array_new(), *r = g_byte_array_new();
	hs_opaque(msg, 1, 200);
	rec(r, 22, 0x0301, msg->data, msg->len);
	g_byte_array_free(msg, TRUE);
	return r;
}

/* Send buf from dir in pieces of the given sizes (0-terminated; the rest
 * goes in the last piece), one packet every step_us from t. */
static void send_split(struct pg_conv *c, int dir, const GByteArray *buf,
		       const size_t *sizes, int64_t t, int64_t step)
{
	size_t off = 0;
	for (int i = 0; off < buf->len; i++) {
		size_t n = sizes && sizes[i] ? sizes[i] : buf->len - off;
		if (n > buf->len - off)
			n = buf->len - off;
		pg_send(c, dir, buf->data + off, n, t + i * step);
		off += n;
	}
}

static void send_buf(struct pg_conv *c, int dir, GByteArray *buf, int64_t t)
{
	pg_send(c, dir, buf->data, buf->len, t);
	g_byte_array_free(buf, TRUE);
}

/* ---------------------------------------------------------------- TLS tests */

static void test_tls12_full_handshake(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("tls12.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 443, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	GByteArray *ch = client_hello();
	size_t ch_len = ch->len;
	send_buf(&c, PG_C2S, ch, MS(1));

	/* ServerHello alone, then Certificate + ServerKeyExchange +
	 * ServerHelloDone in one record; cut inside the first header,
	 * inside the ServerHello's random and inside the second header. */
	GByteArray *msgs = g_byte_array_new(), *flight = g_byte_array_new();
	server_hello(msgs, false, false);
	rec(flight, 22, 0x0303, msgs->data, msgs->len);
	g_byte_array_set_size(msgs, 0);
	hs_opaque(msgs, 11, 1500);
	hs_opaque(msgs, 12, 300);
	hs_opaque(msgs, 14, 0);
	rec(flight, 22, 0x0303, msgs->data, msgs->len);
	size_t sh_rec = 5 + 4 + 2 + 32 + 33 + 3 + 7;
	const size_t cuts[] = { 3, 20, sh_rec - 23 + 2, 1000, 0 };
	send_split(&c, PG_S2C, flight, cuts, MS(3), PG_US(100));
	size_t flight_len = flight->len;
	g_byte_array_free(flight, TRUE);

	/* ClientKeyExchange, ChangeCipherSpec, Finished (encrypted). */
	GByteArray *cf = g_byte_array_new();
	g_byte_array_set_size(msgs, 0);
	hs_opaque(msgs, 16, 33);
	rec(cf, 22, 0x0303, msgs->data, msgs->len);
	rec_opaque(cf, 20, 1);
	rec_opaque(cf, 22, 40);
	size_t cf_len = cf->len;
	send_buf(&c, PG_C2S, cf, MS(6));

	/* NewSessionTicket, ChangeCipherSpec, Finished. */
	GByteArray *sf = g_byte_array_new();
	g_byte_array_set_size(msgs, 0);
	hs_opaque(msgs, 4, 150);
	rec(sf, 22, 0x0303, msgs->data, msgs->len);
	rec_opaque(sf, 20, 1);
	rec_opaque(sf, 22, 40);
	send_buf(&c, PG_S2C, sf, MS(7));
	g_byte_array_free(msgs, TRUE);

	/* The first request and its answer. */
	GByteArray *req = g_byte_array_new();
	rec_opaque(req, 23, 120);
	send_buf(&c, PG_C2S, req, MS(9));
	GByteArray *resp = g_byte_array_new();
	rec_opaque(resp, 23, 1000);
	send_buf(&c, PG_S2C, resp, MS(10));
	resp = g_byte_array_new();
	rec_opaque(resp, 23, 500);
	send_buf(&c, PG_S2C, resp, MS(11));
	pg_ack(&c, PG_C2S, MS(12));
	/* The server closes: close_notify both ways (an alert record is
	 * visible in TLS 1.2), then FINs.  No transaction comes of it. */
	GByteArray *bye = g_byte_array_new();
	rec_opaque(bye, 21, 26);
	send_buf(&c, PG_S2C, bye, MS(20));
	bye = g_byte_array_new();
	rec_opaque(bye, 21, 26);
	send_buf(&c, PG_C2S, bye, MS(21));
	pg_fin(&c, PG_S2C, MS(22));
	pg_fin(&c, PG_C2S, MS(23));
	pg_close(pg);

	struct run *r = run_ports(path, NULL, NULL);
	g_assert_cmpuint(r->txns->len, ==, 3);
	const struct txn_copy *h = run_txn(r, 0);
	g_assert_cmpstr(h->signature, ==, "TLS_handshake");
	g_assert_cmpstr(h->status, ==, "TLS1.2");
	g_assert_false(h->r.error);
	/* ClientHello -> ServerHelloDone, in the fifth server packet. */
	assert_timing(h, MS(1), 0, PG_MS(2), PG_MS(2) + PG_US(400));
	g_assert_cmpint(h->r.handshake_rtt_ns, ==, PG_US(50));
	g_assert_cmpuint(h->r.request_bytes, ==, ch_len);
	g_assert_cmpuint(h->r.response_bytes, ==, flight_len);
	g_assert_cmpuint(h->r.server_packets, ==, 5);

	const struct txn_copy *f = run_txn(r, 1);
	g_assert_cmpstr(f->signature, ==, "TLS_finished");
	g_assert_cmpstr(f->status, ==, "TLS1.2");
	assert_timing(f, MS(6), 0, PG_MS(1), PG_MS(1));
	g_assert_cmpuint(f->r.request_bytes, ==, cf_len);

	const struct txn_copy *t = run_txn(r, 2);
	g_assert_cmpstr(t->signature, ==, "TLS_turn");
	g_assert_cmpstr(t->status, ==, "");
	/* The server's close_notify, 9 ms later, is not in the answer. */
	assert_timing(t, MS(9), 0, PG_MS(1), PG_MS(2));
	g_assert_cmpuint(t->r.request_bytes, ==, 125);
	g_assert_cmpuint(t->r.response_bytes, ==, 1510);
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_MALFORMED], ==, 0);
	run_free(r);
}

/* TLS 1.3: the server's flight is ServerHello, CCS and encrypted records;
 * the client's Finished is not timed, its first request is. */
static void tls13_conversation(struct pg_conv *c, bool fin_with_request,
			       bool ticket_first)
{
	pg_handshake(c, T0, PG_US(20), PG_US(30));
	send_buf(c, PG_C2S, client_hello(), MS(1));

	GByteArray *msgs = g_byte_array_new(), *flight = g_byte_array_new();
	server_hello(msgs, true, false);
	rec(flight, 22, 0x0303, msgs->data, msgs->len);
	g_byte_array_free(msgs, TRUE);
	rec_opaque(flight, 20, 1);
	rec_opaque(flight, 23, 2500);	/* EE, Certificate, CV, Finished */
	/* Cut inside supported_versions. */
	const size_t cuts[] = { 5 + 4 + 2 + 32 + 33 + 3 + 2 + 4 + 36 + 5, 0 };
	send_split(c, PG_S2C, flight, cuts, MS(3), PG_US(400));
	g_byte_array_free(flight, TRUE);

	GByteArray *cf = g_byte_array_new();
	rec_opaque(cf, 20, 1);
	rec_opaque(cf, 23, 53);		/* Finished */
	if (fin_with_request) {
		rec_opaque(cf, 23, 90);	/* the request, same packet */
		send_buf(c, PG_C2S, cf, MS(5));
	} else {
		send_buf(c, PG_C2S, cf, MS(5));
		if (ticket_first) {
			GByteArray *nst = g_byte_array_new();
			rec_opaque(nst, 23, 200);
			send_buf(c, PG_S2C, nst, MS(5) + PG_US(500));
		}
		GByteArray *req = g_byte_array_new();
		rec_opaque(req, 23, 90);
		send_buf(c, PG_C2S, req, MS(6));
	}
	GByteArray *resp = g_byte_array_new();
	rec_opaque(resp, 23, 700);
	send_buf(c, PG_S2C, resp, MS(8));
	pg_ack(c, PG_C2S, MS(9));
	/* close_notify both ways, each one 19-byte encrypted record, the
	 * server's long after its answer: no request, no longer answer. */
	GByteArray *bye = g_byte_array_new();
	rec_opaque(bye, 23, 19);
	send_buf(c, PG_S2C, bye, MS(20));
	bye = g_byte_array_new();
	rec_opaque(bye, 23, 19);
	send_buf(c, PG_C2S, bye, MS(21));
	pg_fin(c, PG_S2C, MS(22));
	pg_fin(c, PG_C2S, MS(23));
}

static void check_tls13(bool fin_with_request, bool ticket_first,
			int64_t turn_start)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("tls13.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 8443, 1, 1);
	tls13_conversation(&c, fin_with_request, ticket_first);
	pg_close(pg);

	struct run *r = run_ports(path, "8443", NULL);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *h = run_txn(r, 0);
	g_assert_cmpstr(h->signature, ==, "TLS_handshake");
	g_assert_cmpstr(h->status, ==, "TLS1.3");
	assert_timing(h, MS(1), 0, PG_MS(2), PG_MS(2) + PG_US(400));
	const struct txn_copy *t = run_txn(r, 1);
	g_assert_cmpstr(t->signature, ==, "TLS_turn");
	g_assert_cmpint(t->r.start_ns, ==, turn_start);
	g_assert_cmpint(t->r.ttlb_ns, ==, MS(8) - turn_start);
	g_assert_cmpuint(t->r.request_bytes, ==, 95);
	g_assert_cmpuint(t->r.response_bytes, ==, 705);
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_MALFORMED], ==, 0);
	run_free(r);
}

static void test_tls13_handshake_then_turn(void)
{
	check_tls13(false, false, MS(6));
}

static void test_tls13_finished_and_request_in_one_packet(void)
{
	check_tls13(true, false, MS(5));
}

static void test_tls13_ticket_before_request_is_untimed(void)
{
	check_tls13(false, true, MS(6));
}

/* A resumed TLS 1.2 session: the server's flight ends with its Finished,
 * the client's Finished needs no answer, and no TLS_finished comes. */
static void test_tls12_resumption_has_no_second_round_trip(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("resume.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 443, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	send_buf(&c, PG_C2S, client_hello(), MS(1));
	GByteArray *msgs = g_byte_array_new(), *f = g_byte_array_new();
	server_hello(msgs, false, false);
	rec(f, 22, 0x0303, msgs->data, msgs->len);
	g_byte_array_free(msgs, TRUE);
	rec_opaque(f, 20, 1);
	rec_opaque(f, 22, 40);		/* Finished, encrypted */
	send_buf(&c, PG_S2C, f, MS(2));
	/* CCS, Finished and the first request in one packet. */
	GByteArray *cf = g_byte_array_new();
	rec_opaque(cf, 20, 1);
	rec_opaque(cf, 22, 40);
	rec_opaque(cf, 23, 200);
	send_buf(&c, PG_C2S, cf, MS(4));
	GByteArray *resp = g_byte_array_new();
	rec_opaque(resp, 23, 900);
	send_buf(&c, PG_S2C, resp, MS(7));
	pg_ack(&c, PG_C2S, MS(8));
	pg_close(pg);

	struct run *r = run_ports(path, NULL, NULL);
	g_assert_cmpuint(r->txns->len, ==, 2);
	g_assert_cmpstr(run_txn(r, 0)->signature, ==, "TLS_handshake");
	g_assert_cmpstr(run_txn(r, 0)->status, ==, "TLS1.2");
	assert_timing(run_txn(r, 0), MS(1), 0, PG_MS(1), PG_MS(1));
	const struct txn_copy *t = run_txn(r, 1);
	g_assert_cmpstr(t->signature, ==, "TLS_turn");
	assert_timing(t, MS(4), 0, PG_MS(3), PG_MS(3));
	g_assert_cmpuint(t->r.request_bytes, ==, 205);
	run_free(r);
}

/* PostgreSQL's SSLRequest, the server's 'S', then a TLS handshake on the
 * same connection: TLS is found by content, not by port. */
static void test_tls_after_starttls_style_upgrade(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("pgssl.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 5432, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, "\0\0\0\x08\x04\xd2\x16\x2f", 8, MS(1));
	pg_sends(&c, PG_S2C, "S", MS(2));
	send_buf(&c, PG_C2S, client_hello(), MS(3));
	GByteArray *msgs = g_byte_array_new(), *f = g_byte_array_new();
	server_hello(msgs, true, false);
	rec(f, 22, 0x0303, msgs->data, msgs->len);
	g_byte_array_free(msgs, TRUE);
	rec_opaque(f, 20, 1);
	rec_opaque(f, 23, 1500);
	send_buf(&c, PG_S2C, f, MS(5));
	GByteArray *cf = g_byte_array_new();
	rec_opaque(cf, 20, 1);
	rec_opaque(cf, 23, 53);
	rec_opaque(cf, 23, 60);
	send_buf(&c, PG_C2S, cf, MS(6));
	GByteArray *resp = g_byte_array_new();
	rec_opaque(resp, 23, 300);
	send_buf(&c, PG_S2C, resp, MS(7));
	pg_ack(&c, PG_C2S, MS(8));
	pg_close(pg);

	g_autofree char *dir = test_path("sigs-ssl");
	write_example_rules(dir);
	struct run *r = run_ports(path, "5432", dir);
	remove_rules(dir);
	g_assert_cmpuint(r->txns->len, ==, 3);
	g_assert_cmpstr(run_txn(r, 0)->signature, ==, "PG_SSLRequest");
	g_assert_cmpstr(run_txn(r, 1)->signature, ==, "TLS_handshake");
	g_assert_cmpstr(run_txn(r, 1)->status, ==, "TLS1.3");
	assert_timing(run_txn(r, 1), MS(3), 0, PG_MS(2), PG_MS(2));
	g_assert_cmpstr(run_txn(r, 2)->signature, ==, "TLS_turn");
	g_assert_cmpuint(run_txn(r, 2)->r.request_bytes, ==, 65);
	run_free(r);
}

static void test_tls_server_alert_fails_the_handshake(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("alert.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 443, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	send_buf(&c, PG_C2S, client_hello(), MS(1));
	GByteArray *a = g_byte_array_new();
	static const uint8_t fatal_handshake_failure[] = { 2, 40 };
	rec(a, 21, 0x0303, fatal_handshake_failure, 2);
	send_buf(&c, PG_S2C, a, MS(2));
	pg_fin(&c, PG_S2C, MS(2) + PG_US(10));
	pg_fin(&c, PG_C2S, MS(3));
	pg_ack(&c, PG_S2C, MS(4));
	pg_close(pg);

	struct run *r = run_ports(path, NULL, NULL);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *h = run_txn(r, 0);
	g_assert_cmpstr(h->signature, ==, "TLS_handshake");
	g_assert_cmpstr(h->status, ==, "alert");
	g_assert_true(h->r.error);
	assert_timing(h, MS(1), 0, PG_MS(1), PG_MS(1));
	run_free(r);
}

static void test_tls12_client_alert_fails_the_handshake(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("calert.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 443, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	send_buf(&c, PG_C2S, client_hello(), MS(1));
	GByteArray *msgs = g_byte_array_new(), *flight = g_byte_array_new();
	server_hello(msgs, false, false);
	hs_opaque(msgs, 11, 900);
	hs_opaque(msgs, 14, 0);
	rec(flight, 22, 0x0303, msgs->data, msgs->len);
	g_byte_array_free(msgs, TRUE);
	send_buf(&c, PG_S2C, flight, MS(2));
	GByteArray *a = g_byte_array_new();
	static const uint8_t bad_certificate[] = { 2, 42 };
	rec(a, 21, 0x0303, bad_certificate, 2);
	send_buf(&c, PG_C2S, a, MS(3));
	pg_fin(&c, PG_C2S, MS(3) + PG_US(10));
	pg_fin(&c, PG_S2C, MS(4));
	pg_close(pg);

	struct run *r = run_ports(path, NULL, NULL);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *h = run_txn(r, 0);
	g_assert_cmpstr(h->status, ==, "client_alert");
	g_assert_true(h->r.error);
	assert_timing(h, MS(1), 0, PG_MS(1), PG_MS(1));
	run_free(r);
}

static void test_tls13_hello_retry_is_its_own_round_trip(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("hrr.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 443, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	send_buf(&c, PG_C2S, client_hello(), MS(1));
	GByteArray *msgs = g_byte_array_new(), *f = g_byte_array_new();
	server_hello(msgs, true, true);
	rec(f, 22, 0x0303, msgs->data, msgs->len);
	rec_opaque(f, 20, 1);
	send_buf(&c, PG_S2C, f, MS(2));
	GByteArray *ch2 = g_byte_array_new();
	rec_opaque(ch2, 20, 1);
	GByteArray *ch = client_hello();
	g_byte_array_append(ch2, ch->data, ch->len);
	g_byte_array_free(ch, TRUE);
	send_buf(&c, PG_C2S, ch2, MS(3));
	f = g_byte_array_new();
	g_byte_array_set_size(msgs, 0);
	server_hello(msgs, true, false);
	rec(f, 22, 0x0303, msgs->data, msgs->len);
	g_byte_array_free(msgs, TRUE);
	rec_opaque(f, 23, 2000);
	send_buf(&c, PG_S2C, f, MS(5));
	GByteArray *cf = g_byte_array_new();
	rec_opaque(cf, 23, 53);
	send_buf(&c, PG_C2S, cf, MS(6));
	pg_ack(&c, PG_S2C, MS(7));
	pg_close(pg);

	struct run *r = run_ports(path, NULL, NULL);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *a = run_txn(r, 0), *b = run_txn(r, 1);
	g_assert_cmpstr(a->signature, ==, "TLS_hello_retry");
	g_assert_cmpstr(a->status, ==, "TLS1.3");
	assert_timing(a, MS(1), 0, PG_MS(1), PG_MS(1));
	g_assert_cmpstr(b->signature, ==, "TLS_handshake");
	g_assert_cmpstr(b->status, ==, "TLS1.3");
	assert_timing(b, MS(3), 0, PG_MS(2), PG_MS(2));
	run_free(r);
}

static void test_tls_gap_in_handshake_falls_back_to_turns(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("tlsgap.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 443, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	send_buf(&c, PG_C2S, client_hello(), MS(1));
	GByteArray *msgs = g_byte_array_new(), *flight = g_byte_array_new();
	server_hello(msgs, false, false);
	rec(flight, 22, 0x0303, msgs->data, msgs->len);
	g_byte_array_set_size(msgs, 0);
	hs_opaque(msgs, 11, 3000);
	hs_opaque(msgs, 14, 0);
	rec(flight, 22, 0x0303, msgs->data, msgs->len);
	g_byte_array_free(msgs, TRUE);
	/* The middle 1000 bytes of the flight were not captured. */
	pg_send(&c, PG_S2C, flight->data, 1000, MS(3));
	pg_skip(&c, PG_S2C, 1000);
	pg_send(&c, PG_S2C, flight->data + 2000, flight->len - 2000,
		MS(3) + PG_US(200));
	g_byte_array_free(flight, TRUE);
	pg_ack(&c, PG_C2S, MS(4));	/* reveals the hole */
	GByteArray *cf = g_byte_array_new();
	rec_opaque(cf, 22, 70);
	rec_opaque(cf, 20, 1);
	rec_opaque(cf, 22, 40);
	send_buf(&c, PG_C2S, cf, MS(5));
	GByteArray *sf = g_byte_array_new();
	rec_opaque(sf, 20, 1);
	rec_opaque(sf, 22, 40);
	send_buf(&c, PG_S2C, sf, MS(6));
	GByteArray *req = g_byte_array_new();
	rec_opaque(req, 23, 100);
	send_buf(&c, PG_C2S, req, MS(8));
	GByteArray *resp = g_byte_array_new();
	rec_opaque(resp, 23, 100);
	send_buf(&c, PG_S2C, resp, MS(9));
	pg_ack(&c, PG_C2S, MS(10));
	pg_close(pg);

	struct run *r = run_ports(path, NULL, NULL);
	g_assert_cmpuint(r->gaps, ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 3);
	const struct txn_copy *h = run_txn(r, 0);
	g_assert_cmpstr(h->signature, ==, "TLS_handshake");
	g_assert_cmpstr(h->status, ==, "TLS1.2");	/* seen before the gap */
	g_assert_cmpuint(h->r.flags, ==, ARTMON_TXN_GAP);
	g_assert_cmpint(h->r.ttlb_ns, ==, PG_MS(2) + PG_US(200));
	/* Without records, the finishing flight is just a turn. */
	g_assert_cmpstr(run_txn(r, 1)->signature, ==, "TLS_turn");
	g_assert_cmpstr(run_txn(r, 2)->signature, ==, "TLS_turn");
	assert_timing(run_txn(r, 2), MS(8), 0, PG_MS(1), PG_MS(1));
	/* Capture loss, not a protocol violation. */
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_MALFORMED], ==, 0);
	run_free(r);
}

static void test_non_tls_answer_counts_malformed_once(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("garbage.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 443, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	send_buf(&c, PG_C2S, client_hello(), MS(1));
	pg_sends(&c, PG_S2C, "HTTP/1.1 400 Bad Request\r\n", MS(2));
	pg_sends(&c, PG_S2C, "\r\n", MS(2) + PG_US(100));
	pg_sends(&c, PG_C2S, "more", MS(3));
	pg_sends(&c, PG_S2C, "HTTP/1.1 400 Bad Request\r\n\r\n", MS(4));
	pg_ack(&c, PG_C2S, MS(5));
	pg_close(pg);

	struct run *r = run_ports(path, NULL, NULL);
	g_assert_cmpuint(r->plugin_events[ARTMON_EV_MALFORMED], ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 2);
	g_assert_cmpstr(run_txn(r, 0)->signature, ==, "TLS_handshake");
	g_assert_cmpstr(run_txn(r, 0)->status, ==, "");
	g_assert_cmpint(run_txn(r, 0)->r.ttlb_ns, ==, PG_US(1100));
	g_assert_cmpstr(run_txn(r, 1)->signature, ==, "TLS_turn");
	run_free(r);
}

static void test_tls_midstream_is_opaque_turns(void)
{
	g_autofree char *path = NULL;
	struct pcapgen *pg = capture("tlsmid.pcap", &path);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 443, 1, 1);
	GByteArray *b = g_byte_array_new();
	rec_opaque(b, 23, 300);
	send_buf(&c, PG_C2S, b, T0);	/* maybe the tail of a turn */
	b = g_byte_array_new();
	rec_opaque(b, 23, 400);
	send_buf(&c, PG_S2C, b, MS(1));
	b = g_byte_array_new();
	rec_opaque(b, 23, 100);
	send_buf(&c, PG_C2S, b, MS(2));
	b = g_byte_array_new();
	rec_opaque(b, 23, 400);
	send_buf(&c, PG_S2C, b, MS(3));
	pg_ack(&c, PG_C2S, MS(4));
	pg_close(pg);

	struct run *r = run_ports(path, NULL, NULL);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->signature, ==, "TLS_turn");
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_MIDSTREAM);
	assert_timing(t, MS(2), 0, PG_MS(1), PG_MS(1));
	run_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	harness_init();
	g_test_add_func("/tcp/turn/request-and-answer-are-timed-exactly",
			test_turn_is_timed_exactly);
	g_test_add_func("/tcp/turn/pipelined-messages-are-one-turn",
			test_pipelined_messages_are_one_turn);
	g_test_add_func("/tcp/greeting/server-first-banner-is-a-greeting",
			test_server_first_banner_is_a_greeting);
	g_test_add_func("/tcp/midstream/server-first-is-an-orphan",
			test_midstream_server_first_is_an_orphan);
	g_test_add_func("/tcp/midstream/client-bytes-wait-for-next-turn",
			test_midstream_client_bytes_wait_for_next_turn);
	g_test_add_func("/tcp/end/goodbye-without-answer-is-client-closed",
			test_goodbye_without_answer_is_client_closed);
	g_test_add_func("/tcp/end/server-closing-on-a-request-is-an-error",
			test_server_closing_on_a_request_is_an_error);
	g_test_add_func("/tcp/end/half-close-is-still-answered",
			test_half_close_is_still_answered);
	g_test_add_func("/tcp/end/unanswered-at-end-of-capture-is-a-timeout",
			test_unanswered_at_end_of_capture_is_a_timeout);
	g_test_add_func("/tcp/ports/default-is-443-only",
			test_default_ports_are_443_only);
	g_test_add_func("/tcp/rules/name-turns-by-first-bytes",
			test_rules_name_turns_by_first_bytes);
	g_test_add_func("/tcp/gap/answer-released-by-gap-precedes-next-request",
			test_gap_in_answer_is_flagged_then_clean);
	g_test_add_func("/tcp/gap/lost-start-of-turn-is-timed-unnamed",
			test_lost_start_of_turn_is_timed_unnamed);
	g_test_add_func("/tls/1.2/full-handshake-finished-and-turn",
			test_tls12_full_handshake);
	g_test_add_func("/tls/1.3/handshake-then-turn",
			test_tls13_handshake_then_turn);
	g_test_add_func("/tls/1.3/finished-and-request-in-one-packet",
			test_tls13_finished_and_request_in_one_packet);
	g_test_add_func("/tls/1.3/ticket-before-request-is-untimed",
			test_tls13_ticket_before_request_is_untimed);
	g_test_add_func("/tls/1.2/resumption-has-no-second-round-trip",
			test_tls12_resumption_has_no_second_round_trip);
	g_test_add_func("/tls/detect/after-starttls-style-upgrade",
			test_tls_after_starttls_style_upgrade);
	g_test_add_func("/tls/alert/server-alert-fails-the-handshake",
			test_tls_server_alert_fails_the_handshake);
	g_test_add_func("/tls/alert/client-alert-fails-the-handshake",
			test_tls12_client_alert_fails_the_handshake);
	g_test_add_func("/tls/1.3/hello-retry-is-its-own-round-trip",
			test_tls13_hello_retry_is_its_own_round_trip);
	g_test_add_func("/tls/gap/in-handshake-falls-back-to-turns",
			test_tls_gap_in_handshake_falls_back_to_turns);
	g_test_add_func("/tls/malformed/non-tls-answer-counts-once",
			test_non_tls_answer_counts_malformed_once);
	g_test_add_func("/tls/midstream/is-opaque-turns",
			test_tls_midstream_is_opaque_turns);
	return g_test_run();
}
