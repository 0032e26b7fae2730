/*
 * test-dns.c: the DNS plugin end to end on hand-built captures.
 *
 * Each test builds DNS messages byte by byte, writes them into a capture
 * with pcapgen (exact packets, exact times), runs the real sensor with the
 * real dns plugin in-process and asserts the transactions and counters that
 * come out.  Times are chosen so every expected value is a round number of
 * microseconds.  Most tests use a rules file whose rule names a transaction
 * "<QTYPE>:<qname>" so the text the plugin hands to the rules is checked
 * too; the default etc/artmon/dns.sigs is checked on its own.
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <pcap/pcap.h>
#include <string.h>

#include "harness.h"
#include "pcapgen.h"

#define T0 ((int64_t)1700000000 * 1000000000)	/* 2023-11-14 22:13:20 */
#define PG_S(x) ((int64_t)(x) * 1000000000)

#define CLI "10.0.0.1"
#define SRV "10.0.0.53"

enum { T_A = 1, T_NS = 2, T_MX = 15, T_TXT = 16, T_AAAA = 28 };
enum { R_NOERROR = 0, R_SERVFAIL = 2, R_NXDOMAIN = 3, R_REFUSED = 5 };

/* ---------------------------------------------------------------- messages */

struct msg {
	uint8_t b[700];
	size_t n;
};

static void m_u8(struct msg *m, uint8_t v)
{
	g_assert_cmpuint(m->n, <, sizeof m->b);
	m->b[m->n++] = v;
}

static void m_u16(struct msg *m, uint16_t v)
{
	m_u8(m, (uint8_t)(v >> 8));
	m_u8(m, (uint8_t)v);
}

static void m_bytes(struct msg *m, const void *p, size_t n)
{
	g_assert_cmpuint(m->n + n, <=, sizeof m->b);
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* "www.example.com" as labels and the root; "" or "." is the root. */
static void m_name(struct msg *m, const char *dotted)
{
	const char *p = dotted;

	while (*p && strcmp(p, ".") != 0) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		m_u8(m, (uint8_t)len);
		m_bytes(m, p, len);
		p += len;
		if (*p == '.')
			p++;
	}
	m_u8(m, 0);
}

static void m_header(struct msg *m, uint16_t id, uint16_t flags,
		     uint16_t qd, uint16_t an)
{
	m->n = 0;
	m_u16(m, id);
	m_u16(m, flags);
	m_u16(m, qd);
	m_u16(m, an);
	m_u16(m, 0);
	m_u16(m, 0);
}

/* A recursive query, class IN. */
static struct msg query(uint16_t id, const char *name, uint16_t qtype)
{
	struct msg m;
	m_header(&m, id, 0x0100, 1, 0);
	m_name(&m, name);
	m_u16(&m, qtype);
	m_u16(&m, 1);
	return m;
}

/* Its response, with one A record (name compressed to the question). */
static struct msg response(uint16_t id, const char *name, uint16_t qtype,
			   unsigned rcode)
{
	struct msg m;
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10,
				      0, 4, 192, 0, 2, 1 };
	m_header(&m, id, (uint16_t)(0x8180 | rcode), 1, 1);
	m_name(&m, name);
	m_u16(&m, qtype);
	m_u16(&m, 1);
	m_bytes(&m, rr, sizeof rr);
	return m;
}

/* The message with its TCP length prefix. */
static struct msg framed(const struct msg *in)
{
	struct msg m = { .n = 0 };
	m_u16(&m, (uint16_t)in->n);
	m_bytes(&m, in->b, in->n);
	return m;
}

/* ---------------------------------------------------------------- running */

struct udp {
	struct pcapgen *pg;
	struct pg_endpoint cli, srv;
};

static void udp_open(struct udp *u, const char *path, uint16_t cport)
{
	u->pg = pg_open(path, DLT_EN10MB);
	pg_endpoint(&u->cli, CLI, cport);
	pg_endpoint(&u->srv, SRV, 53);
}

static void udp_q(struct udp *u, const struct msg *m, int64_t t)
{
	pg_udp(u->pg, &u->cli, &u->srv, m->b, m->n, t);
}

static void udp_r(struct udp *u, const struct msg *m, int64_t t)
{
	pg_udp(u->pg, &u->srv, &u->cli, m->b, m->n, t);
}

/* Rules that name a transaction "<QTYPE>:<qname>" from the plugin's text. */
static const char *typed_sigs_dir(void)
{
	static const char rules[] =
		"transaction $1:$2 { Content =~ \"^(\\S+) (\\S+)$\"; }\n";
	g_autofree char *file = test_path("dns.sigs");
	g_assert_true(g_file_set_contents(file, rules, -1, NULL));
	return test_tmpdir();
}

/*
 * The plugin stays loaded between runs of one test process and its options
 * are process-wide (as the plugin contract allows), so every run states
 * them all; a test's own settings come later and win.
 */
#define DNS_DEFAULT_SETS "plugins=dns", "dns.timeout=5s", "dns.max_pending=64"

static struct run *run_sets(const char *pcap, const char *const *sets)
{
	const char *base[8] = { DNS_DEFAULT_SETS };
	size_t n = 3;
	for (; sets && *sets; sets++) {
		g_assert_cmpuint(n, <, G_N_ELEMENTS(base) - 1);
		base[n++] = *sets;
	}
	base[n] = NULL;
	struct run *r = run_capture(pcap, base, typed_sigs_dir());
	g_assert_null(r->error);
	return r;
}

static struct run *run(const char *pcap)
{
	return run_sets(pcap, NULL);
}

static uint64_t ev(const struct run *r, enum artmon_event e)
{
	return r->plugin_events[e];
}

static void assert_no_events(const struct run *r)
{
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 0);
	g_assert_cmpuint(ev(r, ARTMON_EV_QUEUE_FULL), ==, 0);
	g_assert_cmpuint(ev(r, ARTMON_EV_RETRY), ==, 0);
}

static void assert_timeout(const struct txn_copy *t)
{
	g_assert_cmpstr(t->status, ==, "timeout");
	g_assert_true(t->r.error);
	g_assert_true(t->r.flags & ARTMON_TXN_TIMEOUT);
	g_assert_cmpint(t->r.ttfb_ns, ==, -1);
	g_assert_cmpint(t->r.ttlb_ns, ==, -1);
}

/* ---------------------------------------------------------------- UDP */

static void test_udp_query_response_is_timed_exactly(void)
{
	g_autofree char *path = test_path("udp.pcap");
	struct udp u;
	struct msg q = query(0x1234, "www.example.com", T_A);
	struct msg a = response(0x1234, "www.example.com", T_A, R_NOERROR);

	udp_open(&u, path, 40000);
	udp_q(&u, &q, T0 + PG_MS(1));
	udp_r(&u, &a, T0 + PG_MS(1) + PG_US(250));
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->protocol, ==, "dns");
	g_assert_cmpuint(t->r.transport, ==, ARTMON_UDP);
	g_assert_cmpstr(t->signature, ==, "A:www.example.com");
	g_assert_cmpstr(t->status, ==, "NOERROR");
	g_assert_false(t->r.error);
	g_assert_cmpstr(t->client, ==, CLI ":40000");
	g_assert_cmpstr(t->server, ==, SRV ":53");
	g_assert_cmpint(t->r.start_ns, ==, T0 + PG_MS(1));
	g_assert_cmpint(t->r.request_ns, ==, 0);
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_US(250));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_US(250));
	g_assert_cmpint(t->r.handshake_rtt_ns, ==, -1);
	g_assert_cmpint(t->r.client_ack_ns, ==, -1);
	g_assert_cmpuint(t->r.request_bytes, ==, q.n);
	g_assert_cmpuint(t->r.response_bytes, ==, a.n);
	g_assert_cmpuint(t->r.request_packets, ==, 1);
	g_assert_cmpuint(t->r.server_packets, ==, 1);
	g_assert_cmpuint(t->r.retries, ==, 0);
	g_assert_cmpuint(t->r.flags, ==, 0);
	assert_no_events(r);
	run_free(r);
}

static void test_default_rules_name_by_query_type(void)
{
	g_autofree char *path = test_path("default.pcap");
	struct udp u;
	struct msg q;

	udp_open(&u, path, 40000);
	q = query(1, "example.org", T_MX);
	udp_q(&u, &q, T0 + PG_MS(1));
	q = response(1, "example.org", T_MX, R_NOERROR);
	udp_r(&u, &q, T0 + PG_MS(2));
	q = query(2, "example.net", 65280);
	udp_q(&u, &q, T0 + PG_MS(3));
	q = response(2, "example.net", 65280, R_NOERROR);
	udp_r(&u, &q, T0 + PG_MS(4));
	/* No question: no text for the rules, the default name. */
	m_header(&q, 3, 0x0100, 0, 0);
	udp_q(&u, &q, T0 + PG_MS(5));
	m_header(&q, 3, 0x8180, 0, 0);
	udp_r(&u, &q, T0 + PG_MS(6));
	pg_close(u.pg);

	const char *const sets[] = { DNS_DEFAULT_SETS, NULL };
	struct run *r = run_capture(path, sets, NULL);	/* etc/artmon */
	g_assert_null(r->error);
	g_assert_cmpuint(r->txns->len, ==, 3);
	g_assert_cmpstr(run_txn(r, 0)->signature, ==, "DNS_MX");
	g_assert_cmpstr(run_txn(r, 1)->signature, ==, "DNS_TYPE65280");
	g_assert_cmpstr(run_txn(r, 2)->signature, ==, "DNS_other");
	g_assert_cmpstr(run_txn(r, 2)->status, ==, "NOERROR");
	assert_no_events(r);
	run_free(r);
}

/* The text the rules see: "<QTYPE> <qname>", lower case, escaped. */
static void test_rule_text_is_type_and_escaped_name(void)
{
	static const struct {
		uint16_t qtype;
		const char *wire_name;	/* for m_name(); NULL: built below */
		const char *want;
	} cases[] = {
		{ T_AAAA, "Mixed.CASE.Example", "AAAA:mixed.case.example" },
		{ T_NS, ".", "NS:." },
		{ 65, "svc.example", "HTTPS:svc.example" },
		{ 65280, "x.example", "TYPE65280:x.example" },
		{ 255, "any.example", "ANY:any.example" },
		{ T_TXT, NULL, "TXT:a\\032b\\.c\\\\\\255.example" },
	};
	g_autofree char *path = test_path("text.pcap");
	struct udp u;

	udp_open(&u, path, 40000);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct msg q;
		m_header(&q, (uint16_t)(100 + i), 0x0100, 1, 0);
		if (cases[i].wire_name) {
			m_name(&q, cases[i].wire_name);
		} else {
			/* One label holding a space, a dot, a backslash and
			 * byte 255, then "example". */
			static const uint8_t odd[] = { 7, 'a', ' ', 'b', '.',
						       'c', '\\', 0xff, 7, 'e',
						       'x', 'a', 'm', 'p', 'l',
						       'e', 0 };
			m_bytes(&q, odd, sizeof odd);
		}
		m_u16(&q, cases[i].qtype);
		m_u16(&q, 1);
		udp_q(&u, &q, T0 + PG_MS(1 + 2 * (int64_t)i));
		q.b[2] |= 0x80;		/* the same message as the response */
		udp_r(&u, &q, T0 + PG_MS(2 + 2 * (int64_t)i));
	}
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, G_N_ELEMENTS(cases));
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_assert_cmpstr(run_txn(r, i)->signature, ==, cases[i].want);
		g_assert_cmpstr(run_txn(r, i)->status, ==, "NOERROR");
	}
	assert_no_events(r);
	run_free(r);
}

static void test_qname_matches_without_regard_to_case(void)
{
	g_autofree char *path = test_path("case.pcap");
	struct udp u;
	struct msg q = query(7, "WWW.Example.COM", T_A);
	struct msg a = response(7, "www.example.com", T_A, R_NOERROR);
	struct msg other = response(7, "www.example.org", T_A, R_NOERROR);

	udp_open(&u, path, 40000);
	udp_q(&u, &q, T0 + PG_MS(1));
	/* Same ID, another name: not the answer. */
	udp_r(&u, &other, T0 + PG_MS(2));
	udp_r(&u, &a, T0 + PG_MS(3));
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->signature, ==, "A:www.example.com");
	g_assert_cmpstr(t->status, ==, "NOERROR");
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(2));
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 1);
	run_free(r);
}

static void test_rcode_status_and_errors(void)
{
	static const struct {
		unsigned rcode;
		const char *status;
		bool error;
	} cases[] = {
		{ R_NOERROR, "NOERROR", false },
		{ R_NXDOMAIN, "NXDOMAIN", false },
		{ R_SERVFAIL, "SERVFAIL", true },
		{ R_REFUSED, "REFUSED", true },
		{ 1, "FORMERR", true },
		{ 4, "NOTIMP", true },
		{ 8, "NXRRSET", false },
		{ 12, "RCODE12", true },
	};
	g_autofree char *path = test_path("rcode.pcap");
	struct udp u;

	udp_open(&u, path, 40000);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct msg q = query((uint16_t)i, "x.example", T_A);
		struct msg a = response((uint16_t)i, "x.example", T_A,
					cases[i].rcode);
		udp_q(&u, &q, T0 + PG_MS(1 + 2 * (int64_t)i));
		udp_r(&u, &a, T0 + PG_MS(2 + 2 * (int64_t)i));
	}
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, G_N_ELEMENTS(cases));
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const struct txn_copy *t = run_txn(r, i);
		g_assert_cmpstr(t->status, ==, cases[i].status);
		g_assert_cmpint(t->r.error, ==, cases[i].error);
		g_assert_cmpuint(t->r.flags, ==, 0);
		g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(1));
	}
	run_free(r);
}

static void test_truncated_flag_response_is_a_normal_response(void)
{
	g_autofree char *path = test_path("tc.pcap");
	struct udp u;
	struct msg q = query(9, "big.example", T_TXT);
	struct msg a;

	udp_open(&u, path, 40000);
	udp_q(&u, &q, T0 + PG_MS(1));
	m_header(&a, 9, 0x8380, 1, 0);		/* QR RD RA TC, no answers */
	m_name(&a, "big.example");
	m_u16(&a, T_TXT);
	m_u16(&a, 1);
	udp_r(&u, &a, T0 + PG_MS(2));
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	g_assert_cmpstr(run_txn(r, 0)->status, ==, "NOERROR");
	g_assert_false(run_txn(r, 0)->r.error);
	g_assert_cmpint(run_txn(r, 0)->r.ttlb_ns, ==, PG_MS(1));
	run_free(r);
}

static void test_retransmitted_query_times_from_the_first(void)
{
	g_autofree char *path = test_path("retry.pcap");
	struct udp u;
	struct msg q = query(0x4242, "slow.example", T_A);
	struct msg a = response(0x4242, "slow.example", T_A, R_NOERROR);

	udp_open(&u, path, 40000);
	udp_q(&u, &q, T0 + PG_MS(1));
	udp_q(&u, &q, T0 + PG_MS(1) + PG_S(1));
	udp_q(&u, &q, T0 + PG_MS(1) + PG_S(2));
	udp_r(&u, &a, T0 + PG_MS(1) + PG_S(2) + PG_US(300));
	/* The server answered the first copy too, late: nothing to match. */
	udp_r(&u, &a, T0 + PG_MS(1) + PG_S(2) + PG_US(400));
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->status, ==, "NOERROR");
	g_assert_cmpint(t->r.start_ns, ==, T0 + PG_MS(1));
	g_assert_cmpint(t->r.request_ns, ==, 0);
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_S(2) + PG_US(300));
	g_assert_cmpuint(t->r.request_bytes, ==, q.n);
	g_assert_cmpuint(t->r.request_packets, ==, 1);
	g_assert_cmpuint(t->r.retries, ==, 2);
	g_assert_cmpuint(ev(r, ARTMON_EV_RETRY), ==, 2);
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 1);
	run_free(r);
}

/* The timeout runs from the latest retry: the client is still waiting. */
static void test_retry_restarts_the_timeout(void)
{
	g_autofree char *path = test_path("retry-timeout.pcap");
	struct udp u;
	struct msg q = query(5, "slow.example", T_A);
	struct msg a = response(5, "slow.example", T_A, R_NOERROR);

	udp_open(&u, path, 40000);
	udp_q(&u, &q, T0);
	udp_q(&u, &q, T0 + PG_S(4));
	udp_r(&u, &a, T0 + PG_S(8));
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	g_assert_cmpstr(run_txn(r, 0)->status, ==, "NOERROR");
	g_assert_cmpint(run_txn(r, 0)->r.ttlb_ns, ==, PG_S(8));
	g_assert_cmpuint(run_txn(r, 0)->r.retries, ==, 1);
	run_free(r);
}

static void test_lost_response_times_out(void)
{
	g_autofree char *path = test_path("lost.pcap");
	struct udp u;
	struct msg q1 = query(1, "gone.example", T_A);
	struct msg q2 = query(2, "late.example", T_A);
	struct msg a2 = response(2, "late.example", T_A, R_NOERROR);
	struct msg q3 = query(3, "inTime.example", T_A);
	struct msg a3 = response(3, "intime.example", T_A, R_NOERROR);

	udp_open(&u, path, 40000);
	udp_q(&u, &q1, T0);			/* never answered */
	udp_q(&u, &q2, T0 + PG_S(1));
	udp_r(&u, &a2, T0 + PG_S(6) + PG_MS(1));	/* 5.001 s: too late */
	udp_q(&u, &q3, T0 + PG_S(7));
	udp_r(&u, &a3, T0 + PG_S(12));			/* exactly 5 s: in time */
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 3);
	/* q1 and q2 expire when the late answer arrives, in sent order. */
	const struct txn_copy *t = run_txn(r, 0);
	assert_timeout(t);
	g_assert_cmpstr(t->signature, ==, "A:gone.example");
	g_assert_cmpint(t->r.start_ns, ==, T0);
	g_assert_cmpuint(t->r.request_bytes, ==, q1.n);
	t = run_txn(r, 1);
	assert_timeout(t);
	g_assert_cmpint(t->r.start_ns, ==, T0 + PG_S(1));
	t = run_txn(r, 2);
	g_assert_cmpstr(t->status, ==, "NOERROR");
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_S(5));
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 1);
	run_free(r);
}

static void test_unanswered_at_end_of_capture_is_a_timeout(void)
{
	g_autofree char *path = test_path("eof.pcap");
	struct udp u;
	struct msg q = query(1, "gone.example", T_A);

	udp_open(&u, path, 40000);
	udp_q(&u, &q, T0);
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	assert_timeout(run_txn(r, 0));
	g_assert_cmpstr(run_txn(r, 0)->signature, ==, "A:gone.example");
	run_free(r);
}

static void check_timeout_option(const char *value, int64_t answer_after,
				 bool answered)
{
	g_autofree char *path = test_path("opt.pcap");
	g_autofree char *set = g_strconcat("dns.timeout=", value, NULL);
	const char *const sets[] = { set, NULL };
	struct udp u;
	struct msg q = query(1, "x.example", T_A);
	struct msg a = response(1, "x.example", T_A, R_NOERROR);

	udp_open(&u, path, 40000);
	udp_q(&u, &q, T0);
	udp_r(&u, &a, T0 + answer_after);
	pg_close(u.pg);

	struct run *r = run_sets(path, sets);
	g_assert_cmpuint(r->txns->len, ==, 1);
	if (answered) {
		g_assert_cmpstr(run_txn(r, 0)->status, ==, "NOERROR");
		g_assert_cmpint(run_txn(r, 0)->r.ttlb_ns, ==, answer_after);
		g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 0);
	} else {
		assert_timeout(run_txn(r, 0));
		g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 1);
	}
	run_free(r);
}

static void test_timeout_option(void)
{
	check_timeout_option("2s", PG_MS(2001), false);
	check_timeout_option("2s", PG_MS(2000), true);
	check_timeout_option("2", PG_MS(2001), false);
	check_timeout_option("500ms", PG_MS(501), false);
	check_timeout_option("500ms", PG_MS(499), true);
	check_timeout_option("10s", PG_S(8), true);

	/* Refused values stop the start, naming the key. */
	static const char *const bad[] = { "5x", "", "-1", "0", "1.5s",
					   "3601s", "ms" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *path = test_path("opt.pcap");
		g_autofree char *set = g_strconcat("dns.timeout=", bad[i], NULL);
		const char *const sets[] = { "plugins=dns", set, NULL };
		struct run *r = run_capture(path, sets, typed_sigs_dir());
		g_assert_nonnull(r->error);
		g_assert_nonnull(strstr(r->error, "timeout"));
		run_free(r);
	}
}

static void test_response_without_query_is_an_orphan(void)
{
	g_autofree char *path = test_path("orphan.pcap");
	struct udp u;
	struct msg a = response(1, "x.example", T_A, R_NOERROR);

	udp_open(&u, path, 40000);
	udp_r(&u, &a, T0);
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 0);
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 1);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 0);
	run_free(r);
}

/* A response without a question matches by ID only when that is unique. */
static void test_response_without_question_matches_a_unique_id(void)
{
	g_autofree char *path = test_path("noq.pcap");
	struct udp u;
	struct msg q1 = query(1, "a.example", T_A);
	struct msg q2 = query(2, "b.example", T_A);
	struct msg q2b = query(2, "c.example", T_A);
	struct msg formerr;

	udp_open(&u, path, 40000);
	udp_q(&u, &q1, T0 + PG_MS(1));
	udp_q(&u, &q2, T0 + PG_MS(2));
	udp_q(&u, &q2b, T0 + PG_MS(3));
	m_header(&formerr, 1, 0x8001, 0, 0);
	udp_r(&u, &formerr, T0 + PG_MS(4));	/* ID 1: one query */
	m_header(&formerr, 2, 0x8001, 0, 0);
	udp_r(&u, &formerr, T0 + PG_MS(5));	/* ID 2: two, ambiguous */
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 3);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->signature, ==, "A:a.example");
	g_assert_cmpstr(t->status, ==, "FORMERR");
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(3));
	assert_timeout(run_txn(r, 1));
	assert_timeout(run_txn(r, 2));
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 1);
	run_free(r);
}

static void test_pending_queries_are_capped(void)
{
	g_autofree char *path = test_path("cap.pcap");
	const char *const sets[] = { "dns.max_pending=4", NULL };
	struct udp u;

	udp_open(&u, path, 40000);
	for (int i = 0; i < 6; i++) {
		struct msg q = query((uint16_t)i, "x.example", T_A);
		udp_q(&u, &q, T0 + PG_MS(1 + i));
	}
	/* The newest is still there to be answered. */
	struct msg a = response(5, "x.example", T_A, R_NOERROR);
	udp_r(&u, &a, T0 + PG_MS(10));
	pg_close(u.pg);

	struct run *r = run_sets(path, sets);
	g_assert_cmpuint(r->txns->len, ==, 6);
	/* The two oldest went first, when the 5th and 6th came. */
	assert_timeout(run_txn(r, 0));
	g_assert_cmpint(run_txn(r, 0)->r.start_ns, ==, T0 + PG_MS(1));
	assert_timeout(run_txn(r, 1));
	g_assert_cmpint(run_txn(r, 1)->r.start_ns, ==, T0 + PG_MS(2));
	g_assert_cmpstr(run_txn(r, 2)->status, ==, "NOERROR");
	g_assert_cmpint(run_txn(r, 2)->r.start_ns, ==, T0 + PG_MS(6));
	g_assert_cmpint(run_txn(r, 2)->r.ttlb_ns, ==, PG_MS(4));
	for (guint i = 3; i < 6; i++)
		assert_timeout(run_txn(r, i));
	g_assert_cmpuint(ev(r, ARTMON_EV_QUEUE_FULL), ==, 2);
	run_free(r);
}

/* ---------------------------------------------------------------- malformed */

/* Each payload is sent as a query and must be counted, not followed. */
static void check_malformed_queries(const char *file, const struct msg *bad,
				    size_t n)
{
	g_autofree char *path = test_path(file);
	struct udp u;

	udp_open(&u, path, 40000);
	for (size_t i = 0; i < n; i++)
		udp_q(&u, &bad[i], T0 + PG_MS(1 + (int64_t)i));
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 0);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, n);
	run_free(r);
}

static void test_compression_loop_is_malformed(void)
{
	struct msg bad[4];

	/* A pointer to itself. */
	m_header(&bad[0], 1, 0x0100, 1, 0);
	m_u16(&bad[0], 0xc00c);
	m_u16(&bad[0], T_A);
	m_u16(&bad[0], 1);
	/* A label, then a pointer back to the name's own start. */
	m_header(&bad[1], 2, 0x0100, 1, 0);
	m_bytes(&bad[1], "\001a\300\014", 4);
	m_u16(&bad[1], T_A);
	m_u16(&bad[1], 1);
	/* Two pointers into the header pointing at each other: the ID is
	 * 0xc00a (a pointer to offset 10) and ARCOUNT 0xc000 (a pointer to
	 * offset 0). */
	m_header(&bad[2], 0xc00a, 0x0100, 1, 0);
	bad[2].b[10] = 0xc0;
	bad[2].b[11] = 0x00;
	m_u16(&bad[2], 0xc000);
	m_u16(&bad[2], T_A);
	m_u16(&bad[2], 1);
	/* The same loop in a response: the query is left unanswered. */
	bad[3] = bad[1];
	bad[3].b[2] |= 0x80;
	check_malformed_queries("loop.pcap", bad, 3);

	g_autofree char *path = test_path("loop-resp.pcap");
	struct udp u;
	struct msg q = query(2, "a.example", T_A);
	udp_open(&u, path, 40000);
	udp_q(&u, &q, T0);
	udp_r(&u, &bad[3], T0 + PG_MS(1));
	pg_close(u.pg);
	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	assert_timeout(run_txn(r, 0));
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 1);
	g_assert_cmpuint(ev(r, ARTMON_EV_ORPHAN_RESPONSE), ==, 0);
	run_free(r);
}

static void test_pointer_past_the_end_is_malformed(void)
{
	struct msg bad[3];

	m_header(&bad[0], 1, 0x0100, 1, 0);
	m_u16(&bad[0], 0xc0ff);
	m_u16(&bad[0], T_A);
	m_u16(&bad[0], 1);
	/* Forward, inside the message: not a prior occurrence. */
	m_header(&bad[1], 2, 0x0100, 1, 0);
	m_u16(&bad[1], 0xc010);
	m_u16(&bad[1], T_A);
	m_u16(&bad[1], 1);
	m_bytes(&bad[1], "\001a\000", 3);
	/* Extended label type 0x40. */
	m_header(&bad[2], 3, 0x0100, 1, 0);
	m_bytes(&bad[2], "\101a\000", 3);
	m_u16(&bad[2], T_A);
	m_u16(&bad[2], 1);
	check_malformed_queries("pointer.pcap", bad, 3);
}

static void test_truncated_messages_are_malformed(void)
{
	struct msg bad[5];
	struct msg q = query(1, "www.example.com", T_A);

	/* Shorter than the header. */
	bad[0] = q;
	bad[0].n = 7;
	/* Header, name cut in a label. */
	bad[1] = q;
	bad[1].n = 12 + 5;
	/* Name complete, QTYPE/QCLASS missing. */
	bad[2] = q;
	bad[2].n = q.n - 3;
	/* A label running past the end. */
	m_header(&bad[3], 4, 0x0100, 1, 0);
	m_bytes(&bad[3], "\077abc", 4);
	/* A name over 255 bytes: 5 labels of 63. */
	m_header(&bad[4], 5, 0x0100, 1, 0);
	for (int i = 0; i < 5; i++) {
		char label[64];
		memset(label, 'a', sizeof label);
		label[0] = 63;
		m_bytes(&bad[4], label, sizeof label);
	}
	m_u8(&bad[4], 0);
	m_u16(&bad[4], T_A);
	m_u16(&bad[4], 1);
	check_malformed_queries("trunc.pcap", bad, 5);
}

/* The longest legal name (255 bytes in wire form) is fine. */
static void test_longest_name_is_accepted(void)
{
	g_autofree char *path = test_path("long.pcap");
	struct udp u;
	struct msg q;
	GString *want = g_string_new("A:");

	m_header(&q, 1, 0x0100, 1, 0);
	/* 3 labels of 63 + one of 61: 4 + 188 + 61 + 1 root = 255. */
	for (int i = 0; i < 4; i++) {
		int len = i < 3 ? 63 : 61;
		m_u8(&q, (uint8_t)len);
		for (int k = 0; k < len; k++)
			m_u8(&q, 'a');
		if (i)
			g_string_append_c(want, '.');
		for (int k = 0; k < len; k++)
			g_string_append_c(want, 'a');
	}
	m_u8(&q, 0);
	m_u16(&q, T_A);
	m_u16(&q, 1);
	udp_open(&u, path, 40000);
	udp_q(&u, &q, T0);
	q.b[2] |= 0x80;
	udp_r(&u, &q, T0 + PG_MS(1));
	pg_close(u.pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	/* The rules engine cuts names at RULE_NAME_MAX. */
	g_assert_true(g_str_has_prefix(want->str, run_txn(r, 0)->signature));
	g_assert_cmpuint(strlen(run_txn(r, 0)->signature), ==, RULE_NAME_MAX);
	g_assert_cmpstr(run_txn(r, 0)->status, ==, "NOERROR");
	assert_no_events(r);
	g_string_free(want, TRUE);
	run_free(r);
}

/* ---------------------------------------------------------------- TCP */

static void test_tcp_split_and_coalesced_messages(void)
{
	g_autofree char *path = test_path("tcp.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;
	struct msg q1 = query(0x0101, "one.example", T_A);
	struct msg a1 = response(0x0101, "one.example", T_A, R_NOERROR);
	struct msg q2 = query(0x0202, "two.example", T_AAAA);
	struct msg a2 = response(0x0202, "two.example", T_AAAA, R_NXDOMAIN);
	struct msg q3 = query(0x0303, "three.example", T_MX);
	struct msg a3 = response(0x0303, "three.example", T_MX, R_NOERROR);
	struct msg f1 = framed(&q1), g1 = framed(&a1);
	struct msg both = framed(&q2), f3 = framed(&q3);
	struct msg answers = framed(&a3), g2 = framed(&a2);

	m_bytes(&both, f3.b, f3.n);
	/* Answers in the other order: TCP may reorder (RFC 7766 6.2.1.1). */
	m_bytes(&answers, g2.b, g2.n);

	pg_conv_init(&c, pg, CLI, 40000, SRV, 53, 1000, 5000);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	/* Query 1 split inside its header: length prefix and 5 bytes. */
	pg_send(&c, PG_C2S, f1.b, 7, T0 + PG_MS(1));
	pg_send(&c, PG_C2S, f1.b + 7, f1.n - 7, T0 + PG_MS(1) + PG_US(200));
	/* Answer 1 split after its question. */
	size_t cut = 2 + 12 + 13 + 4 + 6;
	pg_send(&c, PG_S2C, g1.b, cut, T0 + PG_MS(2));
	pg_send(&c, PG_S2C, g1.b + cut, g1.n - cut, T0 + PG_MS(2) + PG_US(500));
	pg_ack(&c, PG_C2S, T0 + PG_MS(3));
	/* Queries 2 and 3 in one segment, both answers in one segment. */
	pg_send(&c, PG_C2S, both.b, both.n, T0 + PG_MS(10));
	pg_send(&c, PG_S2C, answers.b, answers.n, T0 + PG_MS(11));
	pg_ack(&c, PG_C2S, T0 + PG_MS(12));
	pg_fin(&c, PG_C2S, T0 + PG_MS(20));
	pg_fin(&c, PG_S2C, T0 + PG_MS(21));
	pg_ack(&c, PG_C2S, T0 + PG_MS(22));
	pg_close(pg);

	struct run *r = run(path);
	assert_no_events(r);
	g_assert_cmpuint(r->txns->len, ==, 3);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpuint(t->r.transport, ==, ARTMON_TCP);
	g_assert_cmpstr(t->signature, ==, "A:one.example");
	g_assert_cmpstr(t->status, ==, "NOERROR");
	g_assert_cmpint(t->r.start_ns, ==, T0 + PG_MS(1));
	g_assert_cmpint(t->r.request_ns, ==, PG_US(200));
	g_assert_cmpint(t->r.ttfb_ns, ==, PG_US(800));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_US(1300));
	g_assert_cmpint(t->r.handshake_rtt_ns, ==, PG_US(50));
	g_assert_cmpint(t->r.client_ack_ns, ==, PG_US(500));
	g_assert_cmpuint(t->r.request_bytes, ==, f1.n);
	g_assert_cmpuint(t->r.response_bytes, ==, g1.n);
	g_assert_cmpuint(t->r.request_packets, ==, 2);
	g_assert_cmpuint(t->r.server_packets, ==, 2);

	/* Emitted in the order the ACK completed them: open order. */
	t = run_txn(r, 1);
	g_assert_cmpstr(t->signature, ==, "AAAA:two.example");
	g_assert_cmpstr(t->status, ==, "NXDOMAIN");
	g_assert_false(t->r.error);
	g_assert_cmpint(t->r.start_ns, ==, T0 + PG_MS(10));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(1));
	g_assert_cmpuint(t->r.request_bytes, ==, 2 + q2.n);
	g_assert_cmpuint(t->r.response_bytes, ==, g2.n);
	t = run_txn(r, 2);
	g_assert_cmpstr(t->signature, ==, "MX:three.example");
	g_assert_cmpstr(t->status, ==, "NOERROR");
	g_assert_cmpint(t->r.start_ns, ==, T0 + PG_MS(10));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(1));
	g_assert_cmpuint(t->r.request_bytes, ==, f3.n);
	g_assert_cmpuint(t->r.response_bytes, ==, 2 + a3.n);
	run_free(r);
}

/* Length prefix alone, then the message, byte by byte at the end. */
static void test_tcp_message_in_many_segments(void)
{
	g_autofree char *path = test_path("tcp-bytes.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;
	struct msg q0 = query(0x0909, "Bytes.Example", T_TXT);
	struct msg a0 = response(0x0909, "bytes.example", T_TXT, R_SERVFAIL);
	struct msg q = framed(&q0), a = framed(&a0);

	pg_conv_init(&c, pg, CLI, 40001, SRV, 53, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, q.b, 2, T0 + PG_MS(1));
	pg_send(&c, PG_C2S, q.b + 2, q.n - 2, T0 + PG_MS(2));
	/* The response's question arrives one byte per segment. */
	int64_t t = T0 + PG_MS(5);
	for (size_t i = 0; i < 20; i++, t += PG_US(10))
		pg_send(&c, PG_S2C, a.b + i, 1, t);
	pg_send(&c, PG_S2C, a.b + 20, a.n - 20, T0 + PG_MS(6));
	pg_ack(&c, PG_C2S, T0 + PG_MS(7));
	pg_close(pg);

	struct run *r = run(path);
	assert_no_events(r);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *tx = run_txn(r, 0);
	g_assert_cmpstr(tx->signature, ==, "TXT:bytes.example");
	g_assert_cmpstr(tx->status, ==, "SERVFAIL");
	g_assert_true(tx->r.error);
	g_assert_cmpint(tx->r.start_ns, ==, T0 + PG_MS(1));
	g_assert_cmpint(tx->r.request_ns, ==, PG_MS(1));
	g_assert_cmpint(tx->r.ttlb_ns, ==, PG_MS(4));
	/* Matched only when its question was complete: the bytes before
	 * count from the packet that completed it (see plugins/dns.c). */
	g_assert_cmpint(tx->r.ttfb_ns, ==, PG_MS(4));
	g_assert_cmpuint(tx->r.request_bytes, ==, q.n);
	g_assert_cmpuint(tx->r.response_bytes, ==, a.n);
	run_free(r);
}

static void test_tcp_malformed_message_keeps_the_framing(void)
{
	g_autofree char *path = test_path("tcp-bad.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;
	struct msg bad;
	struct msg q = query(1, "ok.example", T_A);
	struct msg a = response(1, "ok.example", T_A, R_NOERROR);

	/* A looping name, then a good query, in one segment. */
	m_header(&bad, 7, 0x0100, 1, 0);
	m_u16(&bad, 0xc00c);
	m_u16(&bad, T_A);
	m_u16(&bad, 1);
	struct msg seg = framed(&bad), fq = framed(&q), fa = framed(&a);
	m_bytes(&seg, fq.b, fq.n);

	pg_conv_init(&c, pg, CLI, 40002, SRV, 53, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, seg.b, seg.n, T0 + PG_MS(1));
	/* A split query whose question then proves malformed. */
	struct msg fb = framed(&bad);
	pg_send(&c, PG_C2S, fb.b, 4, T0 + PG_MS(2));
	pg_send(&c, PG_C2S, fb.b + 4, fb.n - 4, T0 + PG_MS(3));
	pg_send(&c, PG_S2C, fa.b, fa.n, T0 + PG_MS(4));
	pg_ack(&c, PG_C2S, T0 + PG_MS(5));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 2);
	g_assert_cmpuint(r->txns->len, ==, 2);
	/* The split one was opened at its first byte; closed as malformed. */
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->status, ==, "malformed");
	g_assert_true(t->r.error);
	g_assert_cmpint(t->r.start_ns, ==, T0 + PG_MS(2));
	g_assert_cmpstr(t->signature, ==, "DNS_other");
	t = run_txn(r, 1);
	g_assert_cmpstr(t->signature, ==, "A:ok.example");
	g_assert_cmpstr(t->status, ==, "NOERROR");
	g_assert_cmpint(t->r.start_ns, ==, T0 + PG_MS(1));
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(3));
	run_free(r);
}

/* A response cut by the server's FIN is no response. */
static void test_tcp_response_cut_short_times_out(void)
{
	g_autofree char *path = test_path("tcp-cut.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;
	struct msg q = query(1, "cut.example", T_A);
	struct msg a = response(1, "cut.example", T_A, R_NOERROR);
	struct msg fq = framed(&q), fa = framed(&a);

	pg_conv_init(&c, pg, CLI, 40003, SRV, 53, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, fq.b, fq.n, T0 + PG_MS(1));
	pg_send(&c, PG_S2C, fa.b, fa.n - 4, T0 + PG_MS(2));
	pg_fin(&c, PG_S2C, T0 + PG_MS(3));
	pg_ack(&c, PG_C2S, T0 + PG_MS(4));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->txns->len, ==, 1);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->status, ==, "timeout");
	g_assert_true(t->r.flags & ARTMON_TXN_TIMEOUT);
	g_assert_cmpuint(t->r.response_bytes, ==, fa.n - 4);
	g_assert_cmpuint(ev(r, ARTMON_EV_MALFORMED), ==, 1);
	run_free(r);
}

/* A loss inside a message keeps the framing; the next message is fine. */
static void test_tcp_gap_inside_a_message_keeps_the_framing(void)
{
	g_autofree char *path = test_path("tcp-gap.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;
	struct msg q1 = query(1, "one.example", T_A);
	struct msg a1 = response(1, "one.example", T_A, R_NOERROR);
	struct msg q2 = query(2, "two.example", T_A);
	struct msg a2 = response(2, "two.example", T_A, R_NOERROR);
	struct msg f1 = framed(&q1), g1 = framed(&a1);
	struct msg f2 = framed(&q2), g2 = framed(&a2);

	pg_conv_init(&c, pg, CLI, 40004, SRV, 53, 1, 1);
	pg_handshake(&c, T0, PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, f1.b, f1.n, T0 + PG_MS(1));
	pg_send(&c, PG_S2C, g1.b, g1.n - 8, T0 + PG_MS(2));
	pg_skip(&c, PG_S2C, 4);			/* never captured */
	pg_send(&c, PG_S2C, g1.b + g1.n - 4, 4, T0 + PG_MS(3));
	pg_ack(&c, PG_C2S, T0 + PG_MS(4));	/* reveals the hole */
	/* The gap is declared at the next packet, this query, but before
	 * its bytes go up: the query must not be flagged. */
	pg_send(&c, PG_C2S, f2.b, f2.n, T0 + PG_MS(10));
	pg_send(&c, PG_S2C, g2.b, g2.n, T0 + PG_MS(11));
	pg_ack(&c, PG_C2S, T0 + PG_MS(12));
	pg_close(pg);

	struct run *r = run(path);
	g_assert_cmpuint(r->gaps, ==, 1);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *t = run_txn(r, 0);
	g_assert_cmpstr(t->status, ==, "NOERROR");
	g_assert_true(t->r.flags & ARTMON_TXN_GAP);
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(2));
	t = run_txn(r, 1);
	g_assert_cmpstr(t->signature, ==, "A:two.example");
	g_assert_cmpstr(t->status, ==, "NOERROR");
	g_assert_cmpuint(t->r.flags, ==, 0);
	g_assert_cmpint(t->r.ttlb_ns, ==, PG_MS(1));
	assert_no_events(r);
	run_free(r);
}

/* The UDP answer has TC=1; the client asks again over TCP: two rows. */
static void test_truncated_udp_then_tcp_retry_are_two_transactions(void)
{
	g_autofree char *path = test_path("tc-tcp.pcap");
	struct udp u;
	struct pg_conv c;
	struct msg q = query(0x7777, "big.example", T_TXT);
	struct msg tc, a = response(0x7777, "big.example", T_TXT, R_NOERROR);
	struct msg fq = framed(&q), fa = framed(&a);

	udp_open(&u, path, 40000);
	udp_q(&u, &q, T0 + PG_MS(1));
	m_header(&tc, 0x7777, 0x8380, 1, 0);
	m_name(&tc, "big.example");
	m_u16(&tc, T_TXT);
	m_u16(&tc, 1);
	udp_r(&u, &tc, T0 + PG_MS(2));
	pg_conv_init(&c, u.pg, CLI, 40005, SRV, 53, 1, 1);
	pg_handshake(&c, T0 + PG_MS(3), PG_US(20), PG_US(30));
	pg_send(&c, PG_C2S, fq.b, fq.n, T0 + PG_MS(4));
	pg_send(&c, PG_S2C, fa.b, fa.n, T0 + PG_MS(5));
	pg_ack(&c, PG_C2S, T0 + PG_MS(6));
	pg_close(u.pg);

	struct run *r = run(path);
	assert_no_events(r);
	g_assert_cmpuint(r->txns->len, ==, 2);
	const struct txn_copy *udp = run_txn(r, 0), *tcp = run_txn(r, 1);
	if (udp->r.transport != ARTMON_UDP) {
		const struct txn_copy *x = udp;
		udp = tcp;
		tcp = x;
	}
	g_assert_cmpuint(udp->r.transport, ==, ARTMON_UDP);
	g_assert_cmpint(udp->r.start_ns, ==, T0 + PG_MS(1));
	g_assert_cmpint(udp->r.ttlb_ns, ==, PG_MS(1));
	g_assert_cmpuint(tcp->r.transport, ==, ARTMON_TCP);
	g_assert_cmpint(tcp->r.start_ns, ==, T0 + PG_MS(4));
	g_assert_cmpint(tcp->r.ttlb_ns, ==, PG_MS(1));
	g_assert_cmpstr(udp->signature, ==, tcp->signature);
	run_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	harness_init();
	g_test_add_func("/dns/udp/query-response-is-timed-exactly",
			test_udp_query_response_is_timed_exactly);
	g_test_add_func("/dns/rules/default-rules-name-by-query-type",
			test_default_rules_name_by_query_type);
	g_test_add_func("/dns/rules/text-is-type-and-escaped-name",
			test_rule_text_is_type_and_escaped_name);
	g_test_add_func("/dns/match/qname-without-regard-to-case",
			test_qname_matches_without_regard_to_case);
	g_test_add_func("/dns/status/rcode-names-and-errors",
			test_rcode_status_and_errors);
	g_test_add_func("/dns/status/tc-response-is-a-normal-response",
			test_truncated_flag_response_is_a_normal_response);
	g_test_add_func("/dns/retry/retransmitted-query-times-from-the-first",
			test_retransmitted_query_times_from_the_first);
	g_test_add_func("/dns/retry/retry-restarts-the-timeout",
			test_retry_restarts_the_timeout);
	g_test_add_func("/dns/timeout/lost-response-times-out",
			test_lost_response_times_out);
	g_test_add_func("/dns/timeout/unanswered-at-end-of-capture",
			test_unanswered_at_end_of_capture_is_a_timeout);
	g_test_add_func("/dns/timeout/option", test_timeout_option);
	g_test_add_func("/dns/match/response-without-query-is-an-orphan",
			test_response_without_query_is_an_orphan);
	g_test_add_func("/dns/match/response-without-question-needs-unique-id",
			test_response_without_question_matches_a_unique_id);
	g_test_add_func("/dns/caps/pending-queries-are-capped",
			test_pending_queries_are_capped);
	g_test_add_func("/dns/malformed/compression-loop",
			test_compression_loop_is_malformed);
	g_test_add_func("/dns/malformed/pointer-past-the-end",
			test_pointer_past_the_end_is_malformed);
	g_test_add_func("/dns/malformed/truncated-messages",
			test_truncated_messages_are_malformed);
	g_test_add_func("/dns/names/longest-name-is-accepted",
			test_longest_name_is_accepted);
	g_test_add_func("/dns/tcp/split-and-coalesced-messages",
			test_tcp_split_and_coalesced_messages);
	g_test_add_func("/dns/tcp/message-in-many-segments",
			test_tcp_message_in_many_segments);
	g_test_add_func("/dns/tcp/malformed-message-keeps-the-framing",
			test_tcp_malformed_message_keeps_the_framing);
	g_test_add_func("/dns/tcp/response-cut-short-times-out",
			test_tcp_response_cut_short_times_out);
	g_test_add_func("/dns/tcp/gap-inside-a-message-keeps-the-framing",
			test_tcp_gap_inside_a_message_keeps_the_framing);
	g_test_add_func("/dns/tcp/tc-udp-then-tcp-retry-are-two-transactions",
			test_truncated_udp_then_tcp_retry_are_two_transactions);
	return g_test_run();
}
