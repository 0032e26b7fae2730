/*
 * test-imap.c: the IMAP plugin (plugins/imap.c) end to end, on the edges
 * the dovecot corpus (tests/imap_corpus.py) does not reach.
 *
 * Each test writes a capture with pcapgen (exact packets, exact times),
 * runs the real sensor with only the imap plugin and the default rules
 * (etc/artmon/imap.sigs), and asserts transactions, timings and counters.
 * Times are round numbers from T0; "at N ms" in a comment is T0 + N ms.
 * The handshake of conv() ends at T0 + 50 us (the client's ACK).
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
#define HS_DONE US(50)

#define GREETING "* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n"

/* ---------------------------------------------------------------- helpers */

static struct run *run_in(const char *pcap, const char *sigs_dir)
{
	const char *sets[] = { "plugins=imap", NULL };
	struct run *r = run_capture(pcap, sets, sigs_dir);
	if (r->error)
		g_error("sensor did not run: %s", r->error);
	return r;
}

static struct run *run(const char *pcap)
{
	return run_in(pcap, NULL);
}

/* A conversation on port 143, handshake done at T0 + 50 us, and (if
 * greet) the greeting at 1 ms. */
static struct pcapgen *conv(const char *name, char **path, struct pg_conv *c,
			    bool greet)
{
	*path = test_path(name);
	struct pcapgen *pg = pg_open(*path, DLT_EN10MB);
	pg_conv_init(c, pg, "10.0.0.1", 40000, "10.0.0.2", 143, 1000, 5000);
	pg_handshake(c, T0, PG_US(20), PG_US(30));
	if (greet)
		pg_sends(c, PG_S2C, GREETING, MS(1));
	return pg;
}

/* The n-th transaction named sig (0: the first), which must exist. */
static const struct txn_copy *nth(const struct run *r, const char *sig,
				  guint n)
{
	for (guint i = 0; i < r->txns->len; i++) {
		if (strcmp(run_txn(r, i)->signature, sig) != 0)
			continue;
		if (n-- == 0)
			return run_txn(r, i);
	}
	g_error("no transaction named %s (#%u)", sig, n);
	return NULL;
}

static guint named(const struct run *r, const char *sig)
{
	guint k = 0;
	for (guint i = 0; i < r->txns->len; i++)
		k += strcmp(run_txn(r, i)->signature, sig) == 0;
	return k;
}

/* The one transaction named sig. */
static const struct txn_copy *find(const struct run *r, const char *sig)
{
	if (named(r, sig) != 1)
		g_error("%u transactions named %s, want 1", named(r, sig), sig);
	return nth(r, sig, 0);
}

static void assert_answer(const struct txn_copy *t, const char *status,
			  int64_t ttfb, int64_t ttlb)
{
	g_assert_cmpstr(t->protocol, ==, "imap");
	g_assert_cmpstr(t->status, ==, status);
	g_assert_cmpint(t->r.ttfb_ns, ==, ttfb);
	g_assert_cmpint(t->r.ttlb_ns, ==, ttlb);
	g_assert_true(t->r.error == (strcmp(status, "OK") != 0));
}

static uint64_t ev(const struct run *r, enum artmon_event e)
{
	return r->plugin_events[e];
}

static void assert_clean(const struct run *r)
{
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 0);
	g_assert_cmpuint(ev(r, ARTMON_EV_QUEUE_FULL), ==, 0);
}

/* ---------------------------------------------------------------- greeting */

static void test_greeting_is_timed_from_the_handshake(void)
{
	static const struct {
		const char *line, *status;
	} cases[] = {
		{ "* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n", "OK" },
		{ "* PREAUTH [CAPABILITY IMAP4rev1] Logged in as x\r\n",
		  "PREAUTH" },
		{ "* BYE Too many connections\r\n", "BYE" },
		{ "hello, this is no IMAP\r\n", "malformed" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = NULL;
		struct pg_conv c;
		struct pcapgen *pg = conv("greet.pcap", &path, &c, false);
		const char *line = cases[i].line;
		size_t cut = 10;

		/* The greeting cut in two: it starts with its first packet. */
		pg_send(&c, PG_S2C, line, cut, MS(1));
		pg_send(&c, PG_S2C, line + cut, strlen(line) - cut, MS(2));
		pg_sends(&c, PG_C2S, "a1 NOOP\r\n", MS(3));
		pg_sends(&c, PG_S2C, "a1 OK NOOP completed.\r\n", MS(4));
		pg_ack(&c, PG_C2S, MS(5));
		pg_close(pg);

		struct run *r = run(path);
		g_assert_cmpuint(r->txns->len, ==, 2);
		const struct txn_copy *g = find(r, "IMAP_greeting");
		g_assert_cmpstr(g->status, ==, cases[i].status);
		g_assert_true(g->r.error == (i >= 2));
		g_assert_cmpint(g->r.start_ns, ==, HS_DONE);
		g_assert_cmpint(g->r.request_ns, ==, 0);
		g_assert_cmpint(g->r.ttfb_ns, ==, MS(1) - HS_DONE);
		g_assert_cmpint(g->r.ttlb_ns, ==, MS(2) - HS_DONE);
		g_assert_cmpuint(g->r.request_bytes, ==, 0);
		g_assert_cmpuint(g->r.response_bytes, ==, strlen(line));
		g_assert_cmpuint(g->r.server_packets, ==, 2);
		assert_answer(find(r, "IMAP_NOOP"), "OK", PG_MS(1), PG_MS(1));
		g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, i == 3);
		run_free(r);
	}
}

static void test_midstream_has_no_greeting_and_resyncs_at_a_command(void)
{
	g_autofree char *path = test_path("mid.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;
	const char *sel = "a7 SELECT INBOX\r\n";

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 143, 1, 1);
	/* The tail of a line, SASL-ish junk, a line of a message: none of
	 * them is "tag SP verb". */
	pg_sends(&c, PG_C2S, "X (FLAGS)\r\nZnpGU1Z0UXZmOWt4\r\n"
			     "Subject: hello there\r\n", MS(1));
	/* The completion of a command sent before the pickup. */
	pg_sends(&c, PG_S2C, "rt of a line\r\n* 3 EXISTS\r\na6 OK done\r\n",
		 MS(2));
	pg_sends(&c, PG_C2S, sel, MS(3));
	pg_sends(&c, PG_S2C, "* 2 EXISTS\r\na7 OK [READ-WRITE] Select done\r\n",
		 MS(4));
	pg_ack(&c, PG_C2S, MS(5));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = find(r, "IMAP_SELECT");
	assert_answer(t, "OK", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_MIDSTREAM);
	g_assert_cmpuint(t->r.request_bytes, ==, strlen(sel));
	assert_clean(r);
	run_free(r);
}

/* ---------------------------------------------------------------- literals */

#define BODY1 "From: a@example.org\r\nSubject: tricky\r\n\r\n" \
	      "a1 OK this line is in the body\r\n"
#define BODY2 "* BYE not really\r\n+ not a continuation\r\n" \
	      "a2 NO neither\r\n"

static void test_literal_hides_a_fake_completion(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("lit.pcap", &path, &c, true);
	g_autofree char *head = g_strdup_printf(
		"* 1 FETCH (UID 1 BODY[] {%zu}\r\n", strlen(BODY1 BODY2));
	const char *tail = ")\r\na1 OK Fetch completed.\r\n";

	pg_sends(&c, PG_C2S, "a1 UID FETCH 1 BODY[]\r\na2 NOOP\r\n", MS(2));
	/* The literal is cut by packets, and its fake lines sit at the
	 * start of one. */
	g_autofree char *p1 = g_strconcat(head, "From: a@ex", NULL);
	pg_sends(&c, PG_S2C, p1, MS(3));
	pg_sends(&c, PG_S2C, BODY1 + 10, MS(4));
	pg_sends(&c, PG_S2C, BODY2, MS(5));
	pg_sends(&c, PG_S2C, tail, MS(6));
	pg_ack(&c, PG_C2S, MS(7));
	pg_fin(&c, PG_S2C, MS(8));	/* a2 never answered */
	pg_fin(&c, PG_C2S, MS(9));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 3);
	const struct txn_copy *t = find(r, "IMAP_UID_FETCH");
	assert_answer(t, "OK", PG_MS(1), PG_MS(4));
	g_assert_cmpuint(t->r.response_bytes, ==,
			 strlen(head) + strlen(BODY1 BODY2) + strlen(tail));
	g_assert_cmpuint(t->r.server_packets, ==, 4);
	/* The "* BYE" was in the body: a2 is unanswered, not "BYE". */
	const struct txn_copy *n = find(r, "IMAP_NOOP");
	g_assert_cmpstr(n->status, ==, "timeout");
	g_assert_cmpuint(n->r.flags, ==, ARTMON_TXN_TIMEOUT);
	assert_clean(r);
	run_free(r);
}

static void test_client_literals_sync_and_nonsync(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("clit.pcap", &path, &c, true);
	/* A password that looks like a command must stay a password. */
	const char *l1 = "a1 LOGIN {5}\r\n", *l2 = "alice {11}\r\n",
		   *l3 = "\r\nz9 NOOP\r\n\r\n";

	pg_sends(&c, PG_C2S, l1, MS(2));
	pg_sends(&c, PG_S2C, "+ Ready for literal data\r\n", MS(3));
	pg_sends(&c, PG_C2S, l2, MS(4));
	pg_sends(&c, PG_S2C, "+ Ready for literal data\r\n", MS(5));
	pg_sends(&c, PG_C2S, l3, MS(6));
	pg_sends(&c, PG_S2C, "a1 OK Logged in\r\n", MS(8));
	/* A synchronising literal refused: the client does not send it,
	 * and its next line is a command. */
	pg_sends(&c, PG_C2S, "a2 APPEND INBOX {99999}\r\n", MS(10));
	pg_sends(&c, PG_S2C, "a2 NO [LIMIT] Too big\r\n", MS(11));
	pg_sends(&c, PG_C2S, "a3 NOOP\r\n", MS(12));
	pg_sends(&c, PG_S2C, "a3 OK done\r\n", MS(13));
	/* Non-synchronising: the literal follows at once, and its
	 * "a4 OK" is content. */
	pg_sends(&c, PG_C2S, "a4 APPEND INBOX (\\Seen) {7+}\r\na4 OK\r\n"
			     " {3+}\r\nxyz\r\n", MS(14));
	pg_sends(&c, PG_S2C, "a4 OK [APPENDUID 1 2] Append done\r\n", MS(15));
	pg_ack(&c, PG_C2S, MS(16));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 5);
	const struct txn_copy *t = find(r, "IMAP_LOGIN");
	assert_answer(t, "OK", PG_MS(2), PG_MS(2));
	g_assert_cmpint(t->r.start_ns, ==, MS(2));
	g_assert_cmpint(t->r.request_ns, ==, PG_MS(4));
	g_assert_cmpuint(t->r.request_bytes, ==,
			 strlen(l1) + strlen(l2) + strlen(l3));
	g_assert_cmpuint(t->r.response_bytes, ==, strlen("a1 OK Logged in\r\n"));
	assert_answer(nth(r, "IMAP_APPEND", 0), "NO", PG_MS(1), PG_MS(1));
	assert_answer(find(r, "IMAP_NOOP"), "OK", PG_MS(1), PG_MS(1));
	const struct txn_copy *a = nth(r, "IMAP_APPEND", 1);
	assert_answer(a, "OK", PG_MS(1), PG_MS(1));
	assert_clean(r);
	run_free(r);
}

/* A literal size past anything real is counted, never allocated. */
static void test_four_gigabyte_literals_are_counted(void)
{
	char junk[1400];
	memset(junk, 'm', sizeof junk);

	/* The client's APPEND, and the server's FETCH, each announce
	 * 4 GiB; a few kB come, then the connection ends. */
	for (int dir = 0; dir < 2; dir++) {
		g_autofree char *path = NULL;
		struct pg_conv c;
		struct pcapgen *pg = conv("huge.pcap", &path, &c, true);
		const char *cmd = dir == 0
			? "a1 APPEND INBOX {4294967296+}\r\n"
			: "a1 FETCH 1 BODY[]\r\n";
		const char *resp = "* 1 FETCH (BODY[] {4294967296}\r\n";

		pg_sends(&c, PG_C2S, cmd, MS(2));
		if (dir == 1)
			pg_sends(&c, PG_S2C, resp, MS(3));
		for (int i = 0; i < 5; i++)
			pg_send(&c, dir, junk, sizeof junk, MS(4 + i));
		/* Looks like a completion; it is literal content. */
		pg_sends(&c, dir, "\r\na1 OK done\r\n", MS(10));
		pg_ack(&c, !dir, MS(11));
		pg_fin(&c, PG_S2C, MS(12));
		pg_fin(&c, PG_C2S, MS(13));
		pg_close(pg);

		struct run *r = run(path);
		g_assert_cmpuint(r->txns->len, ==, 2);
		const struct txn_copy *t =
			find(r, dir == 0 ? "IMAP_APPEND" : "IMAP_FETCH");
		g_assert_cmpstr(t->status, ==, "timeout");
		g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_TIMEOUT);
		size_t more = 5 * sizeof junk + strlen("\r\na1 OK done\r\n");
		if (dir == 0) {
			g_assert_cmpuint(t->r.request_bytes, ==,
					 strlen(cmd) + more);
			g_assert_cmpuint(t->r.response_bytes, ==, 0);
		} else {
			g_assert_cmpuint(t->r.response_bytes, ==,
					 strlen(resp) + more);
		}
		assert_clean(r);
		run_free(r);
	}
}

static void test_largest_literal_and_one_past_it(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("maxlit.pcap", &path, &c, true);

	/* 2^63: no literal; the line is a command line like any other. */
	pg_sends(&c, PG_C2S, "a1 APPEND INBOX {9223372036854775808}\r\n",
		 MS(2));
	pg_sends(&c, PG_S2C, "a1 BAD Literal too large\r\n", MS(3));
	/* 2^63 - 1: a literal, counted. */
	pg_sends(&c, PG_C2S, "a2 APPEND INBOX {9223372036854775807+}\r\n"
			     "a3 NOOP\r\n", MS(4));
	pg_sends(&c, PG_S2C, "a2 NO Too large\r\n", MS(5));
	pg_ack(&c, PG_C2S, MS(6));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 3);
	assert_answer(nth(r, "IMAP_APPEND", 0), "BAD", PG_MS(1), PG_MS(1));
	assert_answer(nth(r, "IMAP_APPEND", 1), "NO", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(named(r, "IMAP_NOOP"), ==, 0);	/* literal content */
	assert_clean(r);
	run_free(r);
}

/* ---------------------------------------------------------------- matching */

static void test_two_commands_answered_out_of_order(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("order.pcap", &path, &c, true);
	const char *s1 = "* 4 EXISTS\r\na2 OK NOOP completed.\r\n",
		   *s2 = "* SEARCH 2 3\r\na1 OK Search completed.\r\n";

	pg_sends(&c, PG_C2S, "a1 SEARCH ALL\r\na2 NOOP\r\n", MS(2));
	pg_sends(&c, PG_S2C, s1, MS(3));
	pg_sends(&c, PG_S2C, s2, MS(5));
	pg_ack(&c, PG_C2S, MS(6));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 3);
	/* Untagged data goes to the oldest command sent: "* 4 EXISTS" is
	 * a1's first byte. */
	const struct txn_copy *a1 = find(r, "IMAP_SEARCH");
	assert_answer(a1, "OK", PG_MS(1), PG_MS(3));
	g_assert_cmpuint(a1->r.response_bytes, ==,
			 strlen("* 4 EXISTS\r\n") + strlen(s2));
	const struct txn_copy *a2 = find(r, "IMAP_NOOP");
	assert_answer(a2, "OK", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(a2->r.response_bytes, ==,
			 strlen("a2 OK NOOP completed.\r\n"));
	assert_clean(r);
	run_free(r);
}

static void test_no_and_bad_are_errors_and_verbs_are_upper_cased(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("status.pcap", &path, &c, true);

	pg_sends(&c, PG_C2S, "a1 login bob wrong\r\n", MS(2));
	pg_sends(&c, PG_S2C, "a1 NO [AUTHENTICATIONFAILED] failed.\r\n",
		 MS(2000));
	pg_sends(&c, PG_C2S, "a2 XYZZY foo\r\n", MS(2001));
	pg_sends(&c, PG_S2C, "a2 BAD Error in IMAP command XYZZY\r\n", MS(2002));
	pg_sends(&c, PG_C2S, "a3 uid fetch 1:* (FLAGS)\r\n", MS(2003));
	pg_sends(&c, PG_S2C, "a3 ok Fetch completed.\r\n", MS(2004));
	pg_sends(&c, PG_C2S, "a4\r\n", MS(2005));	/* a tag, no verb */
	pg_sends(&c, PG_S2C, "a4 BAD Missing command\r\n", MS(2006));
	pg_ack(&c, PG_C2S, MS(2007));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 5);
	assert_answer(find(r, "IMAP_LOGIN"), "NO", PG_MS(1998), PG_MS(1998));
	assert_answer(nth(r, "IMAP_other", 0), "BAD", PG_MS(1), PG_MS(1));
	assert_answer(find(r, "IMAP_UID_FETCH"), "OK", PG_MS(1), PG_MS(1));
	assert_answer(nth(r, "IMAP_other", 1), "BAD", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 1);	/* "a4" */
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 0);
	run_free(r);
}

static void test_completion_without_command_is_an_orphan(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("orphan.pcap", &path, &c, true);

	pg_sends(&c, PG_C2S, "a1 NOOP\r\n", MS(2));
	pg_sends(&c, PG_S2C, "zz OK what\r\nnot a response at all\r\n"
			     "a1 OK done\r\n", MS(3));
	pg_ack(&c, PG_C2S, MS(4));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 2);
	assert_answer(find(r, "IMAP_NOOP"), "OK", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 1);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 1);
	run_free(r);
}

static void test_pending_table_is_capped(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("queue.pcap", &path, &c, true);
	GString *q = g_string_new(NULL), *a = g_string_new(NULL);

	for (int i = 0; i < 33; i++)
		g_string_append_printf(q, "t%d NOOP\r\n", i);
	for (int i = 32; i >= 1; i--)	/* and answered backwards */
		g_string_append_printf(a, "t%d OK done\r\n", i);
	pg_send(&c, PG_C2S, q->str, q->len, MS(2));
	pg_send(&c, PG_S2C, a->str, a->len, MS(3));
	pg_ack(&c, PG_C2S, MS(4));
	pg_close(pg);
	g_string_free(q, TRUE);
	g_string_free(a, TRUE);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 34);
	g_assert_cmpuint(ev(r, ARTMON_EV_QUEUE_FULL), ==, 1);
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 0);
	guint timeouts = 0;
	for (guint i = 0; i < r->txns->len; i++) {
		const struct txn_copy *t = run_txn(r, i);
		if (strcmp(t->status, "timeout") == 0) {
			timeouts++;
			g_assert_cmpint(t->r.start_ns, ==, MS(2));
		} else {
			g_assert_cmpstr(t->status, ==, "OK");
		}
	}
	g_assert_cmpuint(timeouts, ==, 1);	/* t0, the oldest */
	run_free(r);
}

/* ------------------------------------------------------------ continuations */

static void test_authenticate_continuation_lines_are_the_request(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("auth.pcap", &path, &c, true);
	const char *cmd = "a1 AUTHENTICATE PLAIN\r\n",
		   *sasl = "AGFsaWNlAHNlY3JldA==\r\n",
		   *ok = "a1 OK [CAPABILITY IMAP4rev1] Logged in\r\n";

	pg_sends(&c, PG_C2S, cmd, MS(2));
	pg_sends(&c, PG_S2C, "+ \r\n", MS(3));
	pg_sends(&c, PG_C2S, sasl, MS(4));
	pg_sends(&c, PG_S2C, ok, MS(6));
	/* Two rounds (LOGIN mechanism), refused. */
	pg_sends(&c, PG_C2S, "a2 authenticate login\r\n", MS(10));
	pg_sends(&c, PG_S2C, "+ VXNlcm5hbWU6\r\n", MS(11));
	pg_sends(&c, PG_C2S, "YWxpY2U=\r\n", MS(12));
	pg_sends(&c, PG_S2C, "+ UGFzc3dvcmQ6\r\n", MS(13));
	pg_sends(&c, PG_C2S, "d3Jvbmc=\r\n", MS(14));
	pg_sends(&c, PG_S2C, "a2 NO [AUTHENTICATIONFAILED] failed\r\n",
		 MS(1500));
	/* Cancelled by the client with "*". */
	pg_sends(&c, PG_C2S, "a3 AUTHENTICATE PLAIN\r\n", MS(1501));
	pg_sends(&c, PG_S2C, "+ \r\n", MS(1502));
	pg_sends(&c, PG_C2S, "*\r\n", MS(1503));
	pg_sends(&c, PG_S2C, "a3 BAD Authentication aborted\r\n", MS(1504));
	pg_ack(&c, PG_C2S, MS(1505));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 4);
	const struct txn_copy *t = nth(r, "IMAP_AUTHENTICATE", 0);
	/* From the SASL line: the "+" is no part of the answer. */
	assert_answer(t, "OK", PG_MS(2), PG_MS(2));
	g_assert_cmpint(t->r.request_ns, ==, PG_MS(2));
	g_assert_cmpuint(t->r.request_bytes, ==, strlen(cmd) + strlen(sasl));
	g_assert_cmpuint(t->r.request_packets, ==, 2);
	g_assert_cmpuint(t->r.response_bytes, ==, strlen(ok));
	t = nth(r, "IMAP_AUTHENTICATE", 1);
	assert_answer(t, "NO", PG_MS(1486), PG_MS(1486));
	g_assert_cmpint(t->r.request_ns, ==, PG_MS(4));
	assert_answer(nth(r, "IMAP_AUTHENTICATE", 2), "BAD", PG_MS(1),
		      PG_MS(1));
	assert_clean(r);
	run_free(r);
}

static void test_idle_runs_from_idle_to_its_completion(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("idle.pcap", &path, &c, true);
	const char *ok = "a1 OK Idle completed (0.001 secs).\r\n";

	pg_sends(&c, PG_C2S, "a1 IDLE\r\n", MS(2));
	pg_sends(&c, PG_S2C, "+ idling\r\n", MS(3));
	pg_sends(&c, PG_S2C, "* 4 EXISTS\r\n", MS(1000));
	pg_ack(&c, PG_C2S, MS(1001));
	pg_sends(&c, PG_S2C, "* OK Still here\r\n", MS(60000));
	pg_ack(&c, PG_C2S, MS(60001));
	pg_sends(&c, PG_C2S, "DONE\r\n", MS(90000));
	pg_sends(&c, PG_S2C, ok, MS(90001));
	/* Refused IDLE: no DONE is owed. */
	pg_sends(&c, PG_C2S, "a2 IDLE\r\n", MS(90002));
	pg_sends(&c, PG_S2C, "a2 NO not now\r\n", MS(90003));
	pg_sends(&c, PG_C2S, "a3 NOOP\r\n", MS(90004));
	pg_sends(&c, PG_S2C, "a3 OK done\r\n", MS(90005));
	pg_ack(&c, PG_C2S, MS(90006));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 4);
	const struct txn_copy *t = nth(r, "IMAP_IDLE", 0);
	/* The request runs to DONE; what came while idling is no part of
	 * the answer, which is the server's reaction to DONE. */
	assert_answer(t, "OK", PG_MS(1), PG_MS(1));
	g_assert_cmpint(t->r.start_ns, ==, MS(2));
	g_assert_cmpint(t->r.request_ns, ==, PG_MS(89998));
	g_assert_cmpuint(t->r.response_bytes, ==, strlen(ok));
	assert_answer(nth(r, "IMAP_IDLE", 1), "NO", PG_MS(1), PG_MS(1));
	assert_answer(find(r, "IMAP_NOOP"), "OK", PG_MS(1), PG_MS(1));
	assert_clean(r);
	run_free(r);
}

/* ---------------------------------------------------------------- endings */

static void test_starttls_and_compress_stop_parsing(void)
{
	static const char *const cmds[] = { "STARTTLS", "COMPRESS DEFLATE" };
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05,
					 'h', 'e', 'l', 'l', 'o' };

	for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
		g_autofree char *path = NULL;
		struct pg_conv c;
		struct pcapgen *pg = conv("tls.pcap", &path, &c, true);
		g_autofree char *cmd = g_strdup_printf("a1 %s\r\n", cmds[i]);

		/* Refused first: still plain text. */
		pg_sends(&c, PG_C2S, cmd, MS(2));
		pg_sends(&c, PG_S2C, "a1 NO not now\r\n", MS(3));
		g_autofree char *cmd2 = g_strdup_printf("a2 %s\r\n", cmds[i]);
		pg_sends(&c, PG_C2S, cmd2, MS(4));
		pg_sends(&c, PG_S2C, "a2 OK Begin\r\n", MS(5));
		/* Whatever comes now is not read: not even plain text. */
		pg_send(&c, PG_C2S, hello, sizeof hello, MS(6));
		pg_sends(&c, PG_C2S, "a3 NOOP\r\n", MS(7));
		pg_send(&c, PG_S2C, hello, sizeof hello, MS(8));
		pg_sends(&c, PG_S2C, "a3 OK done\r\n", MS(9));
		pg_ack(&c, PG_C2S, MS(10));
		pg_close(pg);

		struct run *r = run(path);
		g_assert_cmpuint(r->txns->len, ==, 3);
		const char *sig = i == 0 ? "IMAP_STARTTLS" : "IMAP_COMPRESS";
		assert_answer(nth(r, sig, 0), "NO", PG_MS(1), PG_MS(1));
		assert_answer(nth(r, sig, 1), "OK", PG_MS(1), PG_MS(1));
		g_assert_cmpuint(ev(r, ARTMON_EV_OPAQUE), ==, 1);
		assert_clean(r);
		run_free(r);
	}
}

static void test_bye_ends_what_is_pending(void)
{
	/* LOGOUT: BYE then the completion, as every server does. */
	{
		g_autofree char *path = NULL;
		struct pg_conv c;
		struct pcapgen *pg = conv("logout.pcap", &path, &c, true);
		pg_sends(&c, PG_C2S, "a1 LOGOUT\r\n", MS(2));
		pg_sends(&c, PG_S2C, "* BYE Logging out\r\n", MS(3));
		pg_sends(&c, PG_S2C, "a1 OK Logout completed.\r\n", MS(4));
		pg_fin(&c, PG_S2C, MS(5));
		pg_fin(&c, PG_C2S, MS(6));
		pg_close(pg);

		struct run *r = run(path);
		g_assert_cmpuint(r->txns->len, ==, 2);
		assert_answer(find(r, "IMAP_LOGOUT"), "OK", PG_MS(1), PG_MS(2));
		assert_clean(r);
		run_free(r);
	}
	/* A server going away: the commands in flight end with its BYE;
	 * a LOGOUT among them is no error. */
	{
		g_autofree char *path = NULL;
		struct pg_conv c;
		struct pcapgen *pg = conv("bye.pcap", &path, &c, true);
		pg_sends(&c, PG_C2S, "a1 FETCH 1:* (FLAGS)\r\na2 LOGOUT\r\n",
			 MS(2));
		pg_sends(&c, PG_S2C, "* BYE Server shutting down.\r\n", MS(3));
		pg_fin(&c, PG_S2C, MS(4));
		pg_fin(&c, PG_C2S, MS(5));
		pg_close(pg);

		struct run *r = run(path);
		g_assert_cmpuint(r->txns->len, ==, 3);
		const struct txn_copy *t = find(r, "IMAP_FETCH");
		assert_answer(t, "BYE", PG_MS(1), PG_MS(1));
		g_assert_cmpuint(t->r.flags, ==, 0);
		t = find(r, "IMAP_LOGOUT");
		g_assert_cmpstr(t->status, ==, "BYE");
		g_assert_false(t->r.error);
		assert_clean(r);
		run_free(r);
	}
	/* BYE during IDLE: no command was sent in full, and the BYE still
	 * answers the IDLE. */
	{
		g_autofree char *path = NULL;
		struct pg_conv c;
		struct pcapgen *pg = conv("idlebye.pcap", &path, &c, true);
		pg_sends(&c, PG_C2S, "a1 IDLE\r\n", MS(2));
		pg_sends(&c, PG_S2C, "+ idling\r\n", MS(3));
		/* (Within the sensor's 300 s idle timeout: dovecot's
		 * "* OK Still here" keeps a real IDLE from expiring.) */
		pg_sends(&c, PG_S2C, "* BYE Disconnected for inactivity.\r\n",
			 MS(200000));
		pg_fin(&c, PG_S2C, MS(200001));
		pg_close(pg);

		struct run *r = run(path);
		g_assert_cmpuint(r->txns->len, ==, 2);
		assert_answer(find(r, "IMAP_IDLE"), "BYE", PG_MS(199998),
			      PG_MS(199998));
		assert_clean(r);
		run_free(r);
	}
}

/* --------------------------------------------------------------- long lines */

static void test_long_lines_stream_by_without_being_held(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("long.pcap", &path, &c, true);
	GString *search = g_string_new("* SEARCH");
	GString *set = g_string_new("a2 uid fetch ");

	for (int i = 1; search->len < 100000; i++)
		g_string_append_printf(search, " %d", i);
	g_string_append(search, "\r\n");
	for (int i = 1; set->len < 20000; i += 2)
		g_string_append_printf(set, "%d,", i);
	g_string_append(set, "1 (FLAGS)\r\n");

	/* A 100 kB SEARCH result, in segments of 1448. */
	pg_sends(&c, PG_C2S, "a1 SEARCH ALL\r\n", MS(2));
	int64_t t = MS(3);
	for (size_t at = 0; at < search->len; at += 1448) {
		size_t n = MIN(1448, search->len - at);
		pg_send(&c, PG_S2C, search->str + at, n, t);
		t += PG_US(10);
	}
	pg_sends(&c, PG_S2C, "a1 OK Search completed.\r\n", t);
	int64_t t_done = t;
	pg_ack(&c, PG_C2S, t + PG_US(1));
	/* A 20 kB command line. */
	pg_send(&c, PG_C2S, set->str, 10000, MS(100));
	pg_send(&c, PG_C2S, set->str + 10000, set->len - 10000, MS(101));
	pg_sends(&c, PG_S2C, "a2 OK Fetch completed.\r\n", MS(102));
	/* A long untagged line announcing a literal at its very end, cut
	 * inside the announcement; the literal holds a fake completion. */
	pg_sends(&c, PG_C2S, "a3 FETCH 1 (X BODY[])\r\n", MS(103));
	GString *x = g_string_new("* 1 FETCH (X \"");
	while (x->len < 12000)
		g_string_append(x, "padding ");
	g_string_append(x, "\" BODY[] {12}\r\na3 OK fake\r\n)\r\n"
			   "a3 OK Fetch completed.\r\n");
	size_t cut = (size_t)(strstr(x->str, "{12}") - x->str) + 2;
	pg_send(&c, PG_S2C, x->str, cut, MS(104));
	pg_send(&c, PG_S2C, x->str + cut, 10, MS(105));
	pg_send(&c, PG_S2C, x->str + cut + 10, x->len - cut - 10, MS(106));
	pg_ack(&c, PG_C2S, MS(107));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 4);
	const struct txn_copy *s = find(r, "IMAP_SEARCH");
	assert_answer(s, "OK", PG_MS(1), t_done - MS(2));
	g_assert_cmpuint(s->r.response_bytes, ==,
			 search->len + strlen("a1 OK Search completed.\r\n"));
	const struct txn_copy *f = find(r, "IMAP_UID_FETCH");
	assert_answer(f, "OK", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(f->r.request_bytes, ==, set->len);
	g_assert_cmpint(f->r.request_ns, ==, PG_MS(1));
	f = find(r, "IMAP_FETCH");
	assert_answer(f, "OK", PG_MS(1), PG_MS(3));
	g_assert_cmpuint(f->r.response_bytes, ==, x->len);
	assert_clean(r);
	run_free(r);
	g_string_free(search, TRUE);
	g_string_free(set, TRUE);
	g_string_free(x, TRUE);
}

static void test_megabyte_line_without_tag_is_one_malformed_line(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("junk.pcap", &path, &c, true);
	char junk[1448];

	memset(junk, '(', sizeof junk);
	int64_t t = MS(2);
	for (size_t sent = 0; sent < 1024 * 1024; sent += sizeof junk) {
		pg_send(&c, PG_C2S, junk, sizeof junk, t);
		t += PG_US(1);
	}
	pg_sends(&c, PG_C2S, "\r\n", t);
	pg_sends(&c, PG_S2C, "* BAD Error in IMAP command received.\r\n",
		 t + PG_US(1));
	pg_sends(&c, PG_C2S, "a1 NOOP\r\n", MS(5000));
	pg_sends(&c, PG_S2C, "a1 OK done\r\n", MS(5001));
	pg_ack(&c, PG_C2S, MS(5002));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 3);
	const struct txn_copy *m = find(r, "IMAP_other");
	g_assert_cmpstr(m->status, ==, "malformed");
	g_assert_true(m->r.error);
	assert_answer(find(r, "IMAP_NOOP"), "OK", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 1);
	run_free(r);
	g_remove(path);
}

/* ---------------------------------------------------------------- names */

/* A rule that would capture everything: the plugin still cuts secrets. */
static const char *greedy_sigs_dir(void)
{
	static char *dir;
	if (!dir) {
		dir = g_build_filename(test_tmpdir(), "greedy", NULL);
		g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
		g_autofree char *file = g_build_filename(dir, "imap.sigs",
							 NULL);
		g_assert_true(g_file_set_contents(
			file, "transaction X_$1 { Content =~ \"^(.*)$\"; }\n",
			-1, NULL));
	}
	return dir;
}

static void test_login_arguments_never_become_names(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("login.pcap", &path, &c, true);
	/* AGJvYgBzM2NyM3Q= is "\0bob\0s3cr3t". */
	static const char *const cmds[] = {
		"a1 LOGIN bob s3cr3t\r\n",
		"a2 login \"bob\" \"s3cr3t\"\r\n",
		"a3 LOGIN \"b\\\"ob\" {6+}\r\ns3cr3t\r\n",
		"a4 AUTHENTICATE PLAIN AGJvYgBzM2NyM3Q=\r\n",
		"a5 LOGIN bob\r\n",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
		pg_sends(&c, PG_C2S, cmds[i], MS(2 + 2 * (int)i));
		g_autofree char *ok = g_strdup_printf("a%zu NO failed\r\n",
						      i + 1);
		pg_sends(&c, PG_S2C, ok, MS(3 + 2 * (int)i));
	}
	pg_ack(&c, PG_C2S, MS(20));
	pg_close(pg);

	static const char *const want_default[] = {
		"IMAP_LOGIN", "IMAP_LOGIN", "IMAP_LOGIN", "IMAP_AUTHENTICATE",
		"IMAP_LOGIN",
	};
	static const char *const want_greedy[] = {
		"X_LOGIN%20bob", "X_LOGIN%20\"bob\"",
		"X_LOGIN%20\"b\\\"ob\"", "X_AUTHENTICATE%20PLAIN",
		"X_LOGIN%20bob",
	};
	for (int greedy = 0; greedy < 2; greedy++) {
		struct run *r = run_in(path, greedy ? greedy_sigs_dir() : NULL);
		g_assert_cmpuint(r->txns->len, ==, 1 + G_N_ELEMENTS(cmds));
		for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
			const struct txn_copy *t = run_txn(r, (guint)i + 1);
			const char *want = greedy ? want_greedy[i]
						  : want_default[i];
			g_assert_cmpstr(t->signature, ==, want);
			g_assert_null(strstr(t->signature, "s3cr3t"));
			g_assert_null(strstr(t->signature, "AGJvYg"));
			g_assert_cmpstr(t->status, ==, "NO");
		}
		assert_clean(r);
		run_free(r);
	}
}

/* ---------------------------------------------------------------- loss */

static void test_gap_inside_a_literal_keeps_the_framing(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("litgap.pcap", &path, &c, true);
	char body[1000];

	memset(body, 'b', sizeof body);
	body[500] = '\n';	/* lines in the body, for good measure */
	pg_sends(&c, PG_C2S, "a1 FETCH 1 BODY[]\r\n", MS(2));
	pg_sends(&c, PG_S2C, "* 1 FETCH (BODY[] {3000}\r\n", MS(3));
	pg_send(&c, PG_S2C, body, sizeof body, MS(4));
	pg_skip(&c, PG_S2C, sizeof body);		/* lost */
	pg_send(&c, PG_S2C, body, sizeof body, MS(5));
	pg_sends(&c, PG_S2C, ")\r\na1 OK Fetch completed.\r\n", MS(6));
	pg_ack(&c, PG_C2S, MS(7));
	pg_sends(&c, PG_C2S, "a2 NOOP\r\n", MS(8));
	pg_sends(&c, PG_S2C, "a2 OK done\r\n", MS(9));
	pg_ack(&c, PG_C2S, MS(10));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->gaps, ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 3);
	const struct txn_copy *t = find(r, "IMAP_FETCH");
	assert_answer(t, "OK", PG_MS(1), PG_MS(4));
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_GAP);
	t = find(r, "IMAP_NOOP");
	assert_answer(t, "OK", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(t->r.flags, ==, 0);
	assert_clean(r);
	run_free(r);
}

static void test_server_gap_closes_what_it_may_have_answered(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("sgap.pcap", &path, &c, true);
	const char *lost = "* 1 FETCH (FLAGS ())\r\na1 OK done\r\n";

	pg_sends(&c, PG_C2S, "a1 FETCH 1 (FLAGS)\r\na2 NOOP\r\n", MS(2));
	pg_skip(&c, PG_S2C, (uint32_t)strlen(lost));
	pg_sends(&c, PG_S2C, "a2 OK done\r\n", MS(3));
	pg_ack(&c, PG_C2S, MS(4));
	pg_sends(&c, PG_C2S, "a3 NOOP\r\n", MS(5));
	pg_sends(&c, PG_S2C, "a3 OK done\r\n", MS(6));
	pg_ack(&c, PG_C2S, MS(7));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->gaps, ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 4);
	const struct txn_copy *t = find(r, "IMAP_FETCH");
	g_assert_cmpstr(t->status, ==, "timeout");
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_GAP | ARTMON_TXN_TIMEOUT);
	t = nth(r, "IMAP_NOOP", 0);
	assert_answer(t, "OK", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(t->r.flags, ==, ARTMON_TXN_GAP);
	t = nth(r, "IMAP_NOOP", 1);
	assert_answer(t, "OK", PG_MS(1), PG_MS(1));
	g_assert_cmpuint(t->r.flags, ==, 0);
	assert_clean(r);
	run_free(r);
}

static void test_client_gap_resyncs_at_the_next_command(void)
{
	g_autofree char *path = NULL;
	struct pg_conv c;
	struct pcapgen *pg = conv("cgap.pcap", &path, &c, true);

	/* Lost: the end of a1's literal, and all of a2. */
	pg_sends(&c, PG_C2S, "a1 APPEND INBOX {20+}\r\n0123456789", MS(2));
	pg_skip(&c, PG_C2S, 30);
	pg_sends(&c, PG_C2S, "ine of a message\r\n", MS(3));
	pg_sends(&c, PG_S2C, "a1 OK appended\r\na2 OK lost\r\n", MS(4));
	/* The gap is declared here; the client side resyncs at a3. */
	pg_sends(&c, PG_C2S, "a3 NOOP\r\n", MS(6));
	pg_sends(&c, PG_S2C, "a3 OK done\r\n", MS(7));
	pg_ack(&c, PG_C2S, MS(8));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->gaps, ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 3);
	assert_answer(find(r, "IMAP_APPEND"), "OK", PG_MS(2), PG_MS(2));
	assert_answer(find(r, "IMAP_NOOP"), "OK", PG_MS(1), PG_MS(1));
	/* a2's command was in the lost bytes. */
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 1);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

/* --------------------------------------------------------------- robustness */

static const char *const client_parts[] = {
	"a1 NOOP\r\n",
	"a2 UID FETCH 1:* (FLAGS)\r\n",
	"a3 LOGIN {5}\r\nalice {3}\r\npwd\r\n",
	"a4 APPEND INBOX {10+}\r\n0123456789\r\n",
	"a5 AUTHENTICATE PLAIN\r\n",
	"AGFsaWNlAHB3ZA==\r\n",
	"a6 IDLE\r\n",
	"DONE\r\n",
	"a7 STARTTLS\r\n",
	"a8 APPEND INBOX {99999999999+}\r\n",
	"\r\n",
};

static const char *const server_parts[] = {
	"* OK ready\r\n",
	"a1 OK done\r\n",
	"a2 NO nope\r\n",
	"a3 BAD what\r\n",
	"* 1 FETCH (BODY[] {12}\r\na1 OK inside)\r\n",
	"+ Ready\r\n",
	"+ \r\n",
	"* BYE bye\r\n",
	"a7 OK Begin TLS\r\n",
	"* 3 FETCH (BODY[] {18446744073709551615}\r\n",
	"a6 OK Idle completed\r\n",
};

static void test_mutated_streams_never_break_the_rules(void)
{
	int rounds = g_test_slow() ? 3000 : 200;
	static const char *const statuses[] = {
		"OK", "NO", "BAD", "BYE", "PREAUTH", "timeout", "malformed",
	};

	for (int round = 0; round < rounds; round++) {
		GRand *rng = g_rand_new_with_seed((guint32)round);
		g_autofree char *path = test_path("fuzz.pcap");
		int mut = round % 3 == 0 ? 1000000 : g_rand_int_range(rng, 8, 400);
		GString *st[2] = {
			harness_random_stream(rng, client_parts,
					      G_N_ELEMENTS(client_parts), 14,
					      mut, client_parts[1] + 3),
			harness_random_stream(rng, server_parts,
					      G_N_ELEMENTS(server_parts), 14,
					      mut, server_parts[1] + 3),
		};
		harness_random_conversation(path, rng, 143, st, round % 2, T0);

		struct run *r = run(path);
		for (guint i = 0; i < r->txns->len; i++) {
			const struct txn_copy *x = run_txn(r, i);
			bool known = false;
			for (size_t k = 0; k < G_N_ELEMENTS(statuses); k++)
				known |= strcmp(x->status, statuses[k]) == 0;
			if (!known)
				g_error("round %d: status '%s'", round,
					x->status);
			/* A response never starts before its request. */
			if (x->r.ttfb_ns != -1 && x->r.ttfb_ns < 0 &&
			    !(x->r.flags & ARTMON_TXN_GAP))
				g_error("round %d: %s ttfb %" G_GINT64_FORMAT,
					round, x->signature, x->r.ttfb_ns);
			if (strstr(x->signature, "alice") ||
			    strstr(x->signature, "pwd"))
				g_error("round %d: name %s", round,
					x->signature);
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
	g_test_add_func("/imap/greeting/is-timed-from-the-handshake",
			test_greeting_is_timed_from_the_handshake);
	g_test_add_func("/imap/greeting/midstream-has-none-and-resyncs-at-a-command",
			test_midstream_has_no_greeting_and_resyncs_at_a_command);
	g_test_add_func("/imap/literals/literal-hides-a-fake-completion",
			test_literal_hides_a_fake_completion);
	g_test_add_func("/imap/literals/client-literals-sync-and-nonsync",
			test_client_literals_sync_and_nonsync);
	g_test_add_func("/imap/literals/four-gigabyte-literals-are-counted",
			test_four_gigabyte_literals_are_counted);
	g_test_add_func("/imap/literals/largest-literal-and-one-past-it",
			test_largest_literal_and_one_past_it);
	g_test_add_func("/imap/matching/two-commands-answered-out-of-order",
			test_two_commands_answered_out_of_order);
	g_test_add_func("/imap/matching/no-and-bad-are-errors-and-verbs-are-upper-cased",
			test_no_and_bad_are_errors_and_verbs_are_upper_cased);
	g_test_add_func("/imap/matching/completion-without-command-is-an-orphan",
			test_completion_without_command_is_an_orphan);
	g_test_add_func("/imap/matching/pending-table-is-capped",
			test_pending_table_is_capped);
	g_test_add_func("/imap/continuation/authenticate-lines-are-the-request",
			test_authenticate_continuation_lines_are_the_request);
	g_test_add_func("/imap/continuation/idle-runs-from-idle-to-its-completion",
			test_idle_runs_from_idle_to_its_completion);
	g_test_add_func("/imap/endings/starttls-and-compress-stop-parsing",
			test_starttls_and_compress_stop_parsing);
	g_test_add_func("/imap/endings/bye-ends-what-is-pending",
			test_bye_ends_what_is_pending);
	g_test_add_func("/imap/long/lines-stream-by-without-being-held",
			test_long_lines_stream_by_without_being_held);
	g_test_add_func("/imap/long/megabyte-line-without-tag-is-one-malformed-line",
			test_megabyte_line_without_tag_is_one_malformed_line);
	g_test_add_func("/imap/names/login-arguments-never-become-names",
			test_login_arguments_never_become_names);
	g_test_add_func("/imap/loss/gap-inside-a-literal-keeps-the-framing",
			test_gap_inside_a_literal_keeps_the_framing);
	g_test_add_func("/imap/loss/server-gap-closes-what-it-may-have-answered",
			test_server_gap_closes_what_it_may_have_answered);
	g_test_add_func("/imap/loss/client-gap-resyncs-at-the-next-command",
			test_client_gap_resyncs_at_the_next_command);
	g_test_add_func("/imap/robustness/mutated-streams-never-break-the-rules",
			test_mutated_streams_never_break_the_rules);
	return g_test_run();
}
