/*
 * test-store.c: collector/store.c against a real PostgreSQL.
 *
 * Run by tests/collector_store.sh, which starts a throwaway server
 * (tests/pg.sh), applies the migrations and exports PG*; without PGHOST
 * every case skips.  Each case uses its own sensor name, so cases do not
 * see each other's rows.  What is checked is the contract users and the
 * fault tests rely on: exactly-once batch ids, merges that equal the C
 * merge (summary_row_merge, hist_merge), the SQL percentile equal to the
 * C one, and partitions made on demand.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "hist.h"
#include "store.h"
#include "summary_types.h"

static PGconn *db;		/* the test's own connection, for checks */

/* ----------------------------------------------------------------------
 * Building batches
 */

static struct summary_row *row_new(int64_t start, const char *proto,
				   const char *sig, const char *addr4,
				   uint16_t port)
{
	struct summary_row *r = g_new0(struct summary_row, 1);
	unsigned a, b, c, d;

	r->interval_start = start;
	r->interval_secs = 300;
	r->protocol = g_strdup(proto);
	r->signature = g_strdup(sig);
	r->family = 4;
	g_assert_cmpint(sscanf(addr4, "%u.%u.%u.%u", &a, &b, &c, &d), ==, 4);
	r->server_addr[0] = (uint8_t)a;
	r->server_addr[1] = (uint8_t)b;
	r->server_addr[2] = (uint8_t)c;
	r->server_addr[3] = (uint8_t)d;
	r->server_port = port;
	return r;
}

/* A transaction with ttfb/ttlb in us (negative: not measured). */
static void row_add_txn(struct summary_row *r, int64_t ttfb, int64_t ttlb,
			bool error)
{
	r->counts[SC_TRANSACTIONS]++;
	r->counts[SC_ERRORS] += error;
	const int64_t v[2] = { ttfb, ttlb };
	const int m[2] = { SM_TTFB_US, SM_TTLB_US };
	struct hist *h[2] = { &r->ttfb_hist, &r->ttlb_hist };
	for (int i = 0; i < 2; i++) {
		if (v[i] < 0)
			continue;
		struct metric_agg *a = &r->m[m[i]];
		if (!a->count || (uint64_t)v[i] < a->min)
			a->min = (uint64_t)v[i];
		if (!a->count || (uint64_t)v[i] > a->max)
			a->max = (uint64_t)v[i];
		a->count++;
		a->sum += (uint64_t)v[i];
		hist_add_ns(h[i], v[i] * 1000);
	}
}

static struct summary_batch *batch_new(int64_t start, bool late)
{
	struct summary_batch *b = g_new0(struct summary_batch, 1);
	b->interval_start = start;
	b->interval_secs = 300;
	b->late = late;
	return b;
}

static void batch_add(struct summary_batch *b, struct summary_row *r)
{
	b->rows = g_renew(struct summary_row *, b->rows, b->nrows + 1);
	b->rows[b->nrows++] = r;
}

static void id_of(uint8_t id[WIRE_BATCH_ID_LEN], unsigned n)
{
	memset(id, 0, WIRE_BATCH_ID_LEN);
	memcpy(id, &n, sizeof n);
	id[15] = 0xa5;
}

/* Store batches in one call; returns how many were duplicates. */
static unsigned store_all(struct store *s, const char *sensor,
			  struct summary_batch **b, uint8_t (*ids)[16],
			  unsigned n)
{
	struct store_item *it = g_new0(struct store_item, n);
	GError *err = NULL;
	bool retryable;
	unsigned dups = 0;

	for (unsigned i = 0; i < n; i++) {
		it[i].sensor = sensor;
		it[i].peer = "192.0.2.7";
		it[i].id = ids[i];
		it[i].b = b[i];
	}
	int rc = store_batches(s, it, n, &retryable, &err);
	g_assert_no_error(err);
	g_assert_cmpint(rc, ==, 0);
	for (unsigned i = 0; i < n; i++)
		dups += it[i].duplicate;
	g_free(it);
	return dups;
}

static struct store *connect_or_skip(void)
{
	GError *err = NULL;

	if (!db) {
		g_test_skip("no PostgreSQL (run through collector_store.sh)");
		return NULL;
	}
	struct store *s = store_connect("", &err);
	g_assert_no_error(err);
	g_assert_nonnull(s);
	return s;
}

/* One value of a query with one text parameter (the sensor name). */
static char *query1(const char *sql, const char *sensor)
{
	const char *p[1] = { sensor };
	PGresult *res = PQexecParams(db, sql, 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		g_error("%s: %s", sql, PQresultErrorMessage(res));
	char *v = PQntuples(res) == 0 ? g_strdup("(none)")
		  : PQgetisnull(res, 0, 0) ? g_strdup("(null)")
		  : g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

#define ASSERT_Q(sql, sensor, want) do { \
	char *got_ = query1(sql, sensor); \
	g_assert_cmpstr(got_, ==, want); \
	g_free(got_); \
} while (0)

static char *hist_literal(const struct hist *h)
{
	GString *s = g_string_new("{");
	for (unsigned i = 0; i < h->n; i++)
		g_string_append_printf(s, "%s%u,%" PRIu64, i ? "," : "",
				       h->bucket[i], h->count[i]);
	g_string_append_c(s, '}');
	return g_string_free(s, FALSE);
}

/* ----------------------------------------------------------------------
 * Cases
 */

static const char ROW_Q[] =
	"SELECT concat_ws(' ', transactions, errors, ttfb_us_count, "
	"ttfb_us_min, ttfb_us_max, ttfb_us_sum, ttlb_us_count, ttlb_us_min, "
	"ttlb_us_max, ttlb_us_sum, ttfb_hist::text, ttlb_hist::text, merged) "
	"FROM artmon.summary_l1 JOIN artmon.sensors USING (sensor_id) "
	"WHERE name = $1";

static char *expected_text(const struct summary_row *r, unsigned merged)
{
	g_autofree char *f = hist_literal(&r->ttfb_hist);
	g_autofree char *l = hist_literal(&r->ttlb_hist);
	const struct metric_agg *a = &r->m[SM_TTFB_US], *b = &r->m[SM_TTLB_US];
	return g_strdup_printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
			       " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
			       " %" PRIu64 " %" PRIu64 " %s %s %u",
			       r->counts[SC_TRANSACTIONS], r->counts[SC_ERRORS],
			       a->count, a->min, a->max, a->sum, b->count,
			       b->min, b->max, b->sum, f, l, merged);
}

static void test_rows_with_one_key_merge_across_transactions(void)
{
	struct store *s = connect_or_skip();
	if (!s)
		return;
	const int64_t t = 1700000100;
	struct summary_batch *b[2] = { batch_new(t, false), batch_new(t, true) };
	struct summary_row *r0 = row_new(t, "http", "GET_/a", "10.0.0.1", 80);
	struct summary_row *r1 = row_new(t, "http", "GET_/a", "10.0.0.1", 80);
	row_add_txn(r0, 120, 900, false);
	row_add_txn(r0, 80, 700, true);
	row_add_txn(r1, 5000, 9000, false);
	row_add_txn(r1, -1, -1, true);		/* a timeout */
	batch_add(b[0], r0);
	batch_add(b[1], r1);
	uint8_t ids[2][16];
	id_of(ids[0], 1);
	id_of(ids[1], 2);

	g_assert_cmpuint(store_all(s, "merge-tx", &b[0], &ids[0], 1), ==, 0);
	g_assert_cmpuint(store_all(s, "merge-tx", &b[1], &ids[1], 1), ==, 0);

	struct summary_row *want = row_new(t, "http", "GET_/a", "10.0.0.1", 80);
	summary_row_merge(want, r0);
	summary_row_merge(want, r1);
	g_autofree char *exp = expected_text(want, 2);
	ASSERT_Q(ROW_Q, "merge-tx", exp);
	summary_row_free(want);
	summary_batch_free(b[0]);
	summary_batch_free(b[1]);
	store_free(s);
}

static void test_rows_with_one_key_merge_within_a_transaction(void)
{
	struct store *s = connect_or_skip();
	if (!s)
		return;
	const int64_t t = 1700000400;
	struct summary_batch *b[3] = { batch_new(t, false), batch_new(t, true),
				       batch_new(t, true) };
	struct summary_row *r[3];
	for (int i = 0; i < 3; i++) {
		r[i] = row_new(t, "dns", "A", "10.0.0.53", 53);
		row_add_txn(r[i], 10 * (i + 1), 20 * (i + 1), i == 2);
		batch_add(b[i], r[i]);
	}
	uint8_t ids[3][16];
	for (int i = 0; i < 3; i++)
		id_of(ids[i], 10 + (unsigned)i);
	g_assert_cmpuint(store_all(s, "merge-one-tx", b, ids, 3), ==, 0);

	struct summary_row *want = row_new(t, "dns", "A", "10.0.0.53", 53);
	for (int i = 0; i < 3; i++)
		summary_row_merge(want, r[i]);
	g_autofree char *exp = expected_text(want, 3);
	ASSERT_Q(ROW_Q, "merge-one-tx", exp);
	summary_row_free(want);
	for (int i = 0; i < 3; i++)
		summary_batch_free(b[i]);
	store_free(s);
}

static void test_a_batch_id_seen_before_stores_nothing(void)
{
	struct store *s = connect_or_skip();
	if (!s)
		return;
	const int64_t t = 1700000700;
	struct summary_batch *b = batch_new(t, false);
	struct summary_row *r = row_new(t, "http", "POST_/x", "10.0.0.2", 8080);
	row_add_txn(r, 300, 400, false);
	batch_add(b, r);
	uint8_t ids[3][16];
	id_of(ids[0], 77);
	id_of(ids[1], 77);
	id_of(ids[2], 77);
	struct summary_batch *three[3] = { b, b, b };

	/* Twice in one transaction, then again later: stored once. */
	g_assert_cmpuint(store_all(s, "dedupe", three, ids, 2), ==, 1);
	g_assert_cmpuint(store_all(s, "dedupe", three, ids, 3), ==, 3);
	g_autofree char *exp = expected_text(r, 1);
	ASSERT_Q(ROW_Q, "dedupe", exp);
	ASSERT_Q("SELECT count(*) FROM artmon.batches JOIN artmon.sensors "
		 "USING (sensor_id) WHERE name = $1", "dedupe", "1");

	/* The same id from another sensor is another batch. */
	g_assert_cmpuint(store_all(s, "dedupe-2", three, ids, 1), ==, 0);
	summary_batch_free(b);
	store_free(s);
}

static void test_min_and_max_of_an_empty_side_stay_null(void)
{
	struct store *s = connect_or_skip();
	if (!s)
		return;
	const int64_t t = 1700001000;
	struct summary_batch *b[2] = { batch_new(t, false), batch_new(t, true) };
	struct summary_row *r0 = row_new(t, "tcp", "TLS", "10.0.0.3", 443);
	struct summary_row *r1 = row_new(t, "tcp", "TLS", "10.0.0.3", 443);
	row_add_txn(r0, -1, -1, true);		/* only a timeout */
	batch_add(b[0], r0);
	uint8_t ids[2][16];
	id_of(ids[0], 100);
	id_of(ids[1], 101);
	g_assert_cmpuint(store_all(s, "nulls", &b[0], &ids[0], 1), ==, 0);
	ASSERT_Q("SELECT coalesce(ttfb_us_min::text, 'null') || ' ' || "
		 "ttfb_us_count FROM artmon.summary_l1 JOIN artmon.sensors "
		 "USING (sensor_id) WHERE name = $1", "nulls", "null 0");
	row_add_txn(r1, 250, 260, false);
	batch_add(b[1], r1);
	g_assert_cmpuint(store_all(s, "nulls", &b[1], &ids[1], 1), ==, 0);
	ASSERT_Q("SELECT concat_ws(' ', ttfb_us_min, ttfb_us_max, "
		 "ttfb_us_count, transactions, errors) FROM artmon.summary_l1 "
		 "JOIN artmon.sensors USING (sensor_id) WHERE name = $1",
		 "nulls", "250 250 1 2 1");
	summary_batch_free(b[0]);
	summary_batch_free(b[1]);
	store_free(s);
}

static void test_health_and_top_clients_merge_by_interval(void)
{
	struct store *s = connect_or_skip();
	if (!s)
		return;
	const int64_t t = 1700001300;
	struct summary_batch *b[2] = { batch_new(t, false), batch_new(t, false) };
	for (int i = 0; i < 2; i++) {
		struct health_row *h = g_new0(struct health_row, 1);
		h->interval_start = t;
		h->interval_secs = 300;
		h->packets = 1000 + (uint64_t)i;
		h->bytes = 50000;
		h->kernel_drops = 3;
		h->iface_drops = 1;
		h->malformed = 2;
		h->flows_active = i ? 10 : 40;
		h->clients_distinct = i ? 25 : 7;
		h->conn_per_sec_min = i ? 1 : 4;
		h->conn_per_sec_max = i ? 9 : 5;
		h->conn_per_sec_avg = i ? 2.5 : 4.25;
		h->ntop = 2;
		h->top[0].family = 4;
		h->top[0].addr[0] = 10;
		h->top[0].addr[3] = (uint8_t)(1 + i);	/* .1, then .2 */
		h->top[0].transactions = 100;
		h->top[1].family = 6;
		h->top[1].addr[0] = 0x20;
		h->top[1].addr[1] = 0x01;
		h->top[1].addr[15] = 1;			/* 2001::1 both */
		h->top[1].transactions = 7;
		h->top[1].error_bound = 2;
		b[i]->health = h;
	}
	uint8_t ids[2][16];
	id_of(ids[0], 200);
	id_of(ids[1], 201);
	g_assert_cmpuint(store_all(s, "health", b, ids, 2), ==, 0);
	ASSERT_Q("SELECT concat_ws(' ', packets, bytes, drops, malformed, "
		 "flows_active, clients_distinct, conn_per_sec_min, "
		 "conn_per_sec_max, conn_per_sec_avg, merged) "
		 "FROM artmon.health WHERE sensor = $1", "health",
		 "2001 100000 8 4 40 25 1 9 4.25 2");
	ASSERT_Q("SELECT string_agg(concat_ws('/', client_addr, transactions, "
		 "error_bound), ' ' ORDER BY client_addr) FROM artmon.clients "
		 "WHERE sensor = $1", "health",
		 "10.0.0.1/100/0 10.0.0.2/100/0 2001::1/14/4");
	summary_batch_free(b[0]);
	summary_batch_free(b[1]);
	store_free(s);
}

static void test_partitions_are_made_for_any_day(void)
{
	struct store *s = connect_or_skip();
	if (!s)
		return;
	const int64_t t = 1000000200;	/* 2001-09-09 */
	struct summary_batch *b = batch_new(t, false);
	struct summary_row *r = row_new(t, "http", "GET_/old", "10.0.0.4", 80);
	row_add_txn(r, 1, 2, false);
	batch_add(b, r);
	uint8_t id[1][16];
	id_of(id[0], 300);
	g_assert_cmpuint(store_all(s, "old-day", &b, id, 1), ==, 0);
	ASSERT_Q("SELECT s.tableoid::regclass::text FROM artmon.summary_l1 s "
		 "JOIN artmon.sensors n USING (sensor_id) WHERE n.name = $1",
		 "old-day", "artmon.summary_l1_20010909");
	summary_batch_free(b);
	store_free(s);
}

static void test_names_and_large_values_survive_copy(void)
{
	struct store *s = connect_or_skip();
	if (!s)
		return;
	const int64_t t = 1700001600;
	struct summary_batch *b = batch_new(t, false);
	static const char sig[] = "GET_/a\tb\\c\nd\re \xc3\xa9\xe2\x82\xac";
	struct summary_row *r = row_new(t, "http", sig, "10.0.0.5", 65535);
	r->family = 6;
	memset(r->server_addr, 0, 16);
	r->server_addr[0] = 0xfe;
	r->server_addr[1] = 0x80;
	r->server_addr[15] = 0x42;
	row_add_txn(r, 1, 2, false);
	r->m[SM_RESPONSE_BYTES].count = 1;
	r->m[SM_RESPONSE_BYTES].sum = (uint64_t)INT64_MAX;
	r->m[SM_RESPONSE_BYTES].min = (uint64_t)INT64_MAX;
	r->m[SM_RESPONSE_BYTES].max = (uint64_t)INT64_MAX;
	batch_add(b, r);
	uint8_t id[1][16];
	id_of(id[0], 400);
	g_assert_cmpuint(store_all(s, "names", &b, id, 1), ==, 0);
	char *got = query1("SELECT signature FROM artmon.level1 WHERE "
			   "sensor = $1", "names");
	g_assert_cmpstr(got, ==, sig);
	g_free(got);
	ASSERT_Q("SELECT concat_ws(' ', server_addr, server_port, "
		 "response_bytes_max) FROM artmon.level1 WHERE sensor = $1",
		 "names", "fe80::42 65535 9223372036854775807");
	summary_batch_free(b);
	store_free(s);
}

static void test_sql_percentiles_equal_the_c_ones(void)
{
	if (!db) {
		g_test_skip("no PostgreSQL");
		return;
	}
	GRand *rng = g_rand_new_with_seed(7);
	for (int round = 0; round < 40; round++) {
		struct hist a, b, m;
		hist_init(&a);
		hist_init(&b);
		hist_init(&m);
		int n = g_rand_int_range(rng, 1, 60);
		for (int i = 0; i < n; i++) {
			hist_add_bucket(&a, g_rand_int_range(rng, 0, HIST_BUCKETS),
					(uint64_t)g_rand_int_range(rng, 1, 1000));
			hist_add_bucket(&b, g_rand_int_range(rng, 0, HIST_BUCKETS),
					(uint64_t)g_rand_int_range(rng, 1, 1000));
		}
		hist_merge(&m, &a);
		hist_merge(&m, &b);
		g_autofree char *la = hist_literal(&a);
		g_autofree char *lb = hist_literal(&b);
		g_autofree char *lm = hist_literal(&m);
		const double qs[] = { 0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1 };
		for (size_t i = 0; i < G_N_ELEMENTS(qs); i++) {
			char q[32];
			snprintf(q, sizeof q, "%.17g", qs[i]);
			const char *p[3] = { la, lb, q };
			PGresult *res = PQexecParams(db,
				"SELECT artmon.percentile(h, $3::float8), h::text "
				"FROM (SELECT artmon.hist_merge(x) AS h FROM "
				"(VALUES ($1::bigint[]), ($2::bigint[])) v(x)) m",
				3, NULL, p, NULL, NULL, 0);
			g_assert_cmpint(PQresultStatus(res), ==, PGRES_TUPLES_OK);
			double got = g_ascii_strtod(PQgetvalue(res, 0, 0), NULL);
			double want = hist_percentile_us(&m, qs[i]);
			g_assert_cmpfloat_with_epsilon(got, want,
						      want * 1e-12 + 1e-12);
			g_assert_cmpstr(PQgetvalue(res, 0, 1), ==, lm);
			PQclear(res);
		}
		hist_clear(&a);
		hist_clear(&b);
		hist_clear(&m);
	}
	g_rand_free(rng);
}

/*
 * One store writes an interval's only row, so it takes the interval for
 * its own; another collector then adds a key to that interval behind
 * its back.  The first store's next row with that key must still merge
 * (its COPY fails on the key, retryably, and the retry probes), and a
 * new key beside it must be stored once.  Two tries, not one: the
 * first store really did skip the probe.
 */
static void test_a_key_another_collector_wrote_merges_on_retry(void)
{
	struct store *s = connect_or_skip();
	if (!s)
		return;
	struct store *other = connect_or_skip();
	const int64_t t = 1700002200;
	struct summary_batch *b[3] = { batch_new(t, false), batch_new(t, false),
				       batch_new(t, false) };
	struct summary_row *own = row_new(t, "http", "GET_/own", "10.0.0.7", 80);
	struct summary_row *x1 = row_new(t, "http", "GET_/x", "10.0.0.7", 80);
	struct summary_row *x2 = row_new(t, "http", "GET_/x", "10.0.0.7", 80);
	struct summary_row *fresh = row_new(t, "http", "GET_/new", "10.0.0.7",
					    80);
	row_add_txn(own, 100, 200, false);
	row_add_txn(x1, 300, 400, false);
	row_add_txn(x2, 500, 600, true);
	row_add_txn(fresh, 700, 800, false);
	batch_add(b[0], own);
	batch_add(b[1], x1);
	batch_add(b[2], x2);
	batch_add(b[2], fresh);
	uint8_t ids[3][16];
	for (unsigned i = 0; i < 3; i++)
		id_of(ids[i], 600 + i);

	g_assert_cmpuint(store_all(s, "behind", &b[0], &ids[0], 1), ==, 0);
	g_assert_cmpuint(store_all(other, "behind", &b[1], &ids[1], 1), ==, 0);
	struct store_item it = { "behind", "192.0.2.7", ids[2], b[2], false };
	GError *err = NULL;
	bool retryable = false;
	int rc, tries = 0;
	do {
		g_clear_error(&err);
		rc = store_batches(s, &it, 1, &retryable, &err);
		tries++;
	} while (rc != 0 && retryable && tries < 3);
	g_assert_no_error(err);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpint(tries, ==, 2);
	g_assert_false(it.duplicate);

	struct summary_row *want = row_new(t, "http", "GET_/x", "10.0.0.7", 80);
	summary_row_merge(want, x1);
	summary_row_merge(want, x2);
	g_autofree char *exp = expected_text(want, 2);
	ASSERT_Q("SELECT concat_ws(' ', transactions, errors, ttfb_us_count, "
		 "ttfb_us_min, ttfb_us_max, ttfb_us_sum, ttlb_us_count, "
		 "ttlb_us_min, ttlb_us_max, ttlb_us_sum, ttfb_hist::text, "
		 "ttlb_hist::text, merged) FROM artmon.summary_l1 JOIN "
		 "artmon.sensors USING (sensor_id) WHERE name = $1 AND "
		 "signature = 'GET_/x'", "behind", exp);
	ASSERT_Q("SELECT string_agg(signature || '=' || transactions, ' ' "
		 "ORDER BY signature) FROM artmon.summary_l1 JOIN "
		 "artmon.sensors USING (sensor_id) WHERE name = $1", "behind",
		 "GET_/new=1 GET_/own=1 GET_/x=2");
	summary_row_free(want);
	for (int i = 0; i < 3; i++)
		summary_batch_free(b[i]);
	store_free(other);
	store_free(s);
}

static void test_a_lost_connection_is_retryable(void)
{
	struct store *s = connect_or_skip();
	if (!s)
		return;
	PGresult *res = PQexec(db, "SELECT pg_terminate_backend(pid) FROM "
			       "pg_stat_activity WHERE application_name = "
			       "'artmon-collector'");
	g_assert_cmpint(PQresultStatus(res), ==, PGRES_TUPLES_OK);
	PQclear(res);
	const int64_t t = 1700001900;
	struct summary_batch *b = batch_new(t, false);
	batch_add(b, row_new(t, "http", "GET_/", "10.0.0.6", 80));
	uint8_t id[16];
	id_of(id, 500);
	struct store_item it = { "lost", NULL, id, b, false };
	GError *err = NULL;
	bool retryable = false;
	g_assert_cmpint(store_batches(s, &it, 1, &retryable, &err), ==, -1);
	g_assert_nonnull(err);
	g_assert_true(retryable);
	g_assert_false(store_connection_ok(s));
	g_clear_error(&err);
	ASSERT_Q("SELECT count(*) FROM artmon.sensors WHERE name = $1", "lost",
		 "0");
	store_free(s);
	summary_batch_free(b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (g_getenv("PGHOST")) {
		db = PQconnectdb("");
		if (PQstatus(db) != CONNECTION_OK)
			g_error("test connection: %s", PQerrorMessage(db));
	}
	g_test_add_func("/store/rows_with_one_key_merge_across_transactions",
			test_rows_with_one_key_merge_across_transactions);
	g_test_add_func("/store/rows_with_one_key_merge_within_a_transaction",
			test_rows_with_one_key_merge_within_a_transaction);
	g_test_add_func("/store/a_batch_id_seen_before_stores_nothing",
			test_a_batch_id_seen_before_stores_nothing);
	g_test_add_func("/store/min_and_max_of_an_empty_side_stay_null",
			test_min_and_max_of_an_empty_side_stay_null);
	g_test_add_func("/store/health_and_top_clients_merge_by_interval",
			test_health_and_top_clients_merge_by_interval);
	g_test_add_func("/store/partitions_are_made_for_any_day",
			test_partitions_are_made_for_any_day);
	g_test_add_func("/store/names_and_large_values_survive_copy",
			test_names_and_large_values_survive_copy);
	g_test_add_func("/store/sql_percentiles_equal_the_c_ones",
			test_sql_percentiles_equal_the_c_ones);
	g_test_add_func("/store/a_key_another_collector_wrote_merges_on_retry",
			test_a_key_another_collector_wrote_merges_on_retry);
	g_test_add_func("/store/a_lost_connection_is_retryable",
			test_a_lost_connection_is_retryable);
	int rc = g_test_run();
	if (db)
		PQfinish(db);
	return rc;
}
