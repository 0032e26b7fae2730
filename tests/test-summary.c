/*
 * test-summary.c: histograms, sketches and interval summaries.
 *
 * The summarizer is driven by the real sensor on hand-built captures
 * (pcapgen) whose packet times straddle interval boundaries, so each test
 * states when an interval must close and what must be in it.
 */
#include "config.h"

#include <glib.h>
#include <math.h>
#include <pcap/pcap.h>
#include <string.h>

#include "capture.h"
#include "harness.h"
#include "hist.h"
#include "pcapgen.h"
#include "plugins.h"
#include "settings.h"
#include "sketch.h"
#include "summary.h"

#define NS 1000000000LL
/* 2023-11-14 22:10:00 UTC: a multiple of 300 s. */
#define I0 ((int64_t)1699999800)

/* ----------------------------------------------------------------------
 * Histograms
 */

static void test_hist_bucket_error_is_below_five_percent(void)
{
	/* Every value from 1 us to 959 s is within 4.77% of its bucket's
	 * representative: check a dense log sweep. */
	double worst = 0;
	for (double us = 1.0; us < 959e6; us *= 1.0007) {
		int64_t ns = (int64_t)(us * 1000.0);
		int b = hist_bucket_ns(ns);
		double rep = hist_bucket_value_us(b);
		double err = fabs(rep - (double)ns / 1000.0) / ((double)ns / 1000.0);
		if (err > worst)
			worst = err;
	}
	g_assert_cmpfloat(worst, <=, 0.1 / 2.1 + 1e-9);
	g_assert_cmpint(hist_bucket_ns(999), ==, 0);
	g_assert_cmpint(hist_bucket_ns(1000), ==, 1);
	g_assert_cmpint(hist_bucket_ns(-1), ==, -1);
	g_assert_cmpint(hist_bucket_ns((int64_t)3600 * NS), ==, HIST_BUCKETS - 1);
}

static void test_hist_merge_equals_adding_values(void)
{
	struct hist a, b, all;
	hist_init(&a);
	hist_init(&b);
	hist_init(&all);
	for (int i = 1; i < 5000; i++) {
		int64_t ns = (int64_t)i * i * 37;
		hist_add_ns(i % 3 ? &a : &b, ns);
		hist_add_ns(&all, ns);
	}
	hist_merge(&a, &b);
	g_assert_cmpuint(a.n, ==, all.n);
	for (unsigned i = 0; i < a.n; i++) {
		g_assert_cmpuint(a.bucket[i], ==, all.bucket[i]);
		g_assert_cmpuint(a.count[i], ==, all.count[i]);
	}
	g_assert_cmpuint(hist_total(&a), ==, 4999);
	hist_clear(&a);
	hist_clear(&b);
	hist_clear(&all);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void test_hist_percentile_is_within_the_bucket(void)
{
	struct hist h;
	int64_t v[1001];
	hist_init(&h);
	for (int i = 0; i < 1001; i++) {
		v[i] = 1000 + (int64_t)(g_test_rand_double() * 5e8);
		hist_add_ns(&h, v[i]);
	}
	qsort(v, 1001, sizeof v[0], cmp_i64);
	const double qs[] = { 0.5, 0.95, 0.99, 1.0 };
	for (size_t i = 0; i < G_N_ELEMENTS(qs); i++) {
		double exact = (double)v[(size_t)ceil(qs[i] * 1001) - 1] / 1000.0;
		double est = hist_percentile_us(&h, qs[i]);
		g_assert_cmpfloat(fabs(est - exact) / exact, <=, 0.0477);
	}
	hist_clear(&h);
	hist_init(&h);
	g_assert_cmpfloat(hist_percentile_us(&h, 0.5), ==, -1);
}

/* ----------------------------------------------------------------------
 * Sketches
 */

static void test_distinct_is_exact_then_estimated(void)
{
	struct distinct d;
	bool est;
	uint8_t key[17] = { 4 };

	distinct_init(&d, 1000);
	for (uint32_t i = 0; i < 900; i++) {
		memcpy(key + 1, &i, 4);
		distinct_add(&d, key, sizeof key);
		distinct_add(&d, key, sizeof key);
	}
	g_assert_cmpuint(distinct_count(&d, &est), ==, 900);
	g_assert_false(est);
	for (uint32_t i = 900; i < 50000; i++) {
		memcpy(key + 1, &i, 4);
		distinct_add(&d, key, sizeof key);
	}
	uint64_t n = distinct_count(&d, &est);
	g_assert_true(est);
	g_assert_cmpfloat(fabs((double)n - 50000) / 50000, <, 0.05);
	distinct_clear(&d);
}

static void test_topk_finds_the_flooder(void)
{
	struct topk t;
	struct topk_slot top[TOPK_REPORT];
	uint8_t key[17] = { 4 };

	topk_init(&t);
	/* 5000 clients with a few transactions each, one with 3000. */
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t c = i % 5000 + 10;
		memcpy(key + 1, &c, 4);
		topk_add(&t, key);
		if (i % 7 == 0) {
			uint32_t flood = 1;
			memcpy(key + 1, &flood, 4);
			for (int k = 0; k < 1; k++)
				topk_add(&t, key);
		}
	}
	unsigned n = topk_top(&t, top, TOPK_REPORT);
	g_assert_cmpuint(n, ==, TOPK_REPORT);
	uint32_t first;
	memcpy(&first, top[0].key + 1, 4);
	g_assert_cmpuint(first, ==, 1);
	g_assert_cmpuint(top[0].count - top[0].error, <=, 2858);
	g_assert_cmpuint(top[0].count, >=, 2858);
}

/* ----------------------------------------------------------------------
 * The summarizer on captures
 */

struct collected {
	GPtrArray *batches;
};

static void collect_batch(void *ctx, struct summary_batch *b)
{
	g_ptr_array_add(((struct collected *)ctx)->batches, b);
}

/* Run the sensor with the summarizer on pcap, batches into c. */
static void summarize(const char *pcap, const struct summary_cfg *cfg,
		      struct collected *c, GArray *emitted_at)
{
	struct settings st;
	GError *err = NULL;
	struct capture cap = { 0 };

	settings_default(&st);
	g_autofree char *pdir = g_build_filename(g_getenv("ARTMON_BUILDDIR") ?
		g_getenv("ARTMON_BUILDDIR") : ARTMON_ABS_BUILDDIR, "plugins",
		".libs", NULL);
	g_autofree char *sdir = g_build_filename(g_getenv("ARTMON_SRCDIR") ?
		g_getenv("ARTMON_SRCDIR") : ARTMON_ABS_SRCDIR, "etc", "artmon",
		NULL);
	char *only[] = { "http", NULL };
	struct plugin_load_opts po = { pdir, sdir, only, NULL, 10000 };
	GPtrArray *plugins = plugins_load(&po, &err);
	g_assert_no_error(err);
	struct sensor *s = sensor_new(&st.lim, plugins, &err);
	g_assert_no_error(err);
	c->batches = g_ptr_array_new_with_free_func(
		(GDestroyNotify)summary_batch_free);
	struct summarizer *z = summarizer_new(cfg, s, collect_batch, c);
	g_assert_cmpint(capture_open_file(&cap, pcap, &err), ==, 0);
	/* One packet at a time, so the test sees when batches appear. */
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int r = pcap_next_ex(cap.pcap, &h, &data);
		if (r != 1)
			break;
		guint before = c->batches->len;
		int64_t ts = (int64_t)h->ts.tv_sec * NS + h->ts.tv_usec;
		sensor_frame(s, cap.dlt, data, h->caplen, h->len, ts);
		if (emitted_at)
			for (guint i = before; i < c->batches->len; i++)
				g_array_append_val(emitted_at, ts);
	}
	sensor_flush(s);
	summarizer_flush(z);
	capture_close(&cap);
	sensor_free(s);
	summarizer_free(z);
	settings_clear(&st);
}

static void get(struct pg_conv *c, const char *path, int64_t t, int64_t ttfb,
		int64_t ttlb)
{
	char req[128];
	g_snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	pg_sends(c, PG_C2S, req, t);
	pg_sends(c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
		 t + ttfb);
	pg_sends(c, PG_S2C, "ok", t + ttlb);
	pg_ack(c, PG_C2S, t + ttlb + PG_US(100));
}

static struct summary_row *find_row(struct summary_batch *b, const char *sig)
{
	for (unsigned i = 0; i < b->nrows; i++)
		if (strcmp(b->rows[i]->signature, sig) == 0)
			return b->rows[i];
	return NULL;
}

static void test_rows_aggregate_exactly_and_close_after_grace(void)
{
	g_autofree char *path = test_path("intervals.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;
	int64_t t0 = I0 * NS + 10 * NS;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&c, t0, PG_US(20), PG_US(30));
	get(&c, "/a", t0 + PG_MS(1), PG_MS(2), PG_MS(3));
	get(&c, "/a", t0 + PG_MS(10), PG_MS(4), PG_MS(5));
	get(&c, "/b", t0 + PG_MS(20), PG_MS(1), PG_MS(1));
	/* Starts 1 ms before the boundary, ends after it: interval 0. */
	get(&c, "/a", (I0 + 300) * NS - PG_MS(1), PG_MS(1), PG_MS(6));
	/* In interval 1; then packets until after end + grace. */
	get(&c, "/a", (I0 + 310) * NS, PG_MS(7), PG_MS(7));
	pg_ack(&c, PG_S2C, (I0 + 300 + 59) * NS);
	pg_ack(&c, PG_S2C, (I0 + 300 + 61) * NS);
	pg_close(pg);

	struct summary_cfg cfg;
	struct collected col;
	GArray *at = g_array_new(FALSE, FALSE, sizeof(int64_t));
	summary_cfg_default(&cfg);
	summarize(path, &cfg, &col, at);

	/* Interval 0 went out at the first packet past 300 + 60 s. */
	g_assert_cmpuint(col.batches->len, ==, 2);
	g_assert_cmpint(g_array_index(at, int64_t, 0), ==, (I0 + 361) * NS);
	struct summary_batch *b0 = g_ptr_array_index(col.batches, 0);
	g_assert_cmpint(b0->interval_start, ==, I0);
	g_assert_false(b0->late);
	g_assert_cmpuint(b0->nrows, ==, 2);
	struct summary_row *a = find_row(b0, "GET_/a");
	g_assert_nonnull(a);
	g_assert_cmpuint(a->counts[SC_TRANSACTIONS], ==, 3);
	g_assert_cmpuint(a->m[SM_TTFB_US].count, ==, 3);
	g_assert_cmpuint(a->m[SM_TTFB_US].min, ==, 1000);
	g_assert_cmpuint(a->m[SM_TTFB_US].max, ==, 4000);
	g_assert_cmpuint(a->m[SM_TTFB_US].sum, ==, 2000 + 4000 + 1000);
	g_assert_cmpuint(a->m[SM_TTLB_US].sum, ==, 3000 + 5000 + 6000);
	g_assert_cmpuint(a->m[SM_HANDSHAKE_RTT_US].min, ==, 50);
	g_assert_cmpuint(a->m[SM_CLIENT_ACK_US].sum, ==, 300);
	g_assert_cmpuint(a->m[SM_SERVER_PACKETS].sum, ==, 6);
	g_assert_cmpuint(a->m[SM_SERVER_PKT_BYTES].count, ==, 6);
	g_assert_cmpuint(a->m[SM_SERVER_PKT_BYTES].min, ==, 2);
	g_assert_cmpuint(a->m[SM_SERVER_MSS].max, ==, 1460);
	g_assert_cmpuint(hist_total(&a->ttlb_hist), ==, 3);
	g_assert_cmpuint(a->server_port, ==, 80);
	g_assert_nonnull(b0->health);
	g_assert_cmpuint(b0->health->flows_created, ==, 1);
	g_assert_cmpuint(b0->health->transactions, ==, 4);
	g_assert_cmpuint(b0->health->clients_distinct, ==, 1);
	g_assert_cmpuint(b0->health->conn_per_sec_max, ==, 1);
	g_assert_cmpuint(b0->health->ntop, ==, 1);
	g_assert_cmpuint(b0->health->top[0].transactions, ==, 4);

	struct summary_batch *b1 = g_ptr_array_index(col.batches, 1);
	g_assert_cmpint(b1->interval_start, ==, I0 + 300);
	g_assert_cmpuint(b1->nrows, ==, 1);
	g_assert_cmpuint(b1->rows[0]->m[SM_TTFB_US].sum, ==, 7000);
	/* Health counts packets by arrival: interval 0 has 3 handshake
	 * packets, 4 per GET for 4 GETs but the 4th's last 3 came after
	 * the boundary. */
	g_assert_cmpuint(b0->health->packets + b1->health->packets, ==,
			 3 + 5 * 4 + 2);
	g_ptr_array_free(col.batches, TRUE);
	g_array_free(at, TRUE);
}

static void test_late_transaction_goes_out_in_a_late_batch(void)
{
	g_autofree char *path = test_path("late.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c, d;
	int64_t t0 = I0 * NS + 10 * NS;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&c, t0, PG_US(20), PG_US(30));
	/* A request answered 400 s later: after its interval closed. */
	pg_sends(&c, PG_C2S, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", t0 + PG_MS(1));
	/* Keep-alive ACKs keep the flow from idling out while it waits. */
	for (int k = 1; k <= 3; k++)
		pg_ack(&c, PG_C2S, t0 + k * 100 * NS);
	pg_conv_init(&d, pg, "10.0.0.3", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&d, (I0 + 370) * NS, PG_US(20), PG_US(30));
	pg_sends(&c, PG_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		 t0 + 400 * NS);
	pg_ack(&c, PG_C2S, t0 + 400 * NS + PG_MS(1));
	pg_close(pg);

	struct summary_cfg cfg;
	struct collected col;
	summary_cfg_default(&cfg);
	summarize(path, &cfg, &col, NULL);
	g_assert_cmpuint(col.batches->len, >=, 2);
	struct summary_batch *b0 = g_ptr_array_index(col.batches, 0);
	g_assert_cmpint(b0->interval_start, ==, I0);
	g_assert_false(b0->late);
	g_assert_null(find_row(b0, "GET_/slow"));
	bool found = false;
	for (guint i = 1; i < col.batches->len; i++) {
		struct summary_batch *b = g_ptr_array_index(col.batches, i);
		struct summary_row *r = find_row(b, "GET_/slow");
		if (!r)
			continue;
		g_assert_true(b->late);
		g_assert_null(b->health);
		g_assert_cmpint(b->interval_start, ==, I0);
		g_assert_cmpuint(r->m[SM_TTFB_US].sum, ==, 400 * 1000000 - 1000);
		found = true;
	}
	g_assert_true(found);
	g_ptr_array_free(col.batches, TRUE);
}

static void test_quiet_gap_still_emits_each_interval(void)
{
	g_autofree char *path = test_path("gap.pcap");
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 1);
	pg_handshake(&c, I0 * NS + NS, PG_US(20), PG_US(30));
	/* Nothing for 20 minutes: four empty intervals in between. */
	pg_ack(&c, PG_S2C, (I0 + 1500) * NS + NS);
	pg_close(pg);

	struct summary_cfg cfg;
	struct collected col;
	summary_cfg_default(&cfg);
	summarize(path, &cfg, &col, NULL);
	g_assert_cmpuint(col.batches->len, ==, 6);
	for (guint i = 0; i < 6; i++) {
		struct summary_batch *b = g_ptr_array_index(col.batches, i);
		g_assert_cmpint(b->interval_start, ==, I0 + 300 * (int64_t)i);
		g_assert_nonnull(b->health);
		uint64_t want = i == 0 ? 3 : i == 5 ? 1 : 0;
		g_assert_cmpuint(b->health->packets, ==, want);
	}
	g_ptr_array_free(col.batches, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	harness_init();
	g_test_add_func("/hist/bucket-error-is-below-five-percent",
			test_hist_bucket_error_is_below_five_percent);
	g_test_add_func("/hist/merge-equals-adding-values",
			test_hist_merge_equals_adding_values);
	g_test_add_func("/hist/percentile-is-within-the-bucket",
			test_hist_percentile_is_within_the_bucket);
	g_test_add_func("/sketch/distinct-is-exact-then-estimated",
			test_distinct_is_exact_then_estimated);
	g_test_add_func("/sketch/topk-finds-the-flooder",
			test_topk_finds_the_flooder);
	g_test_add_func("/summary/rows-aggregate-exactly-and-close-after-grace",
			test_rows_aggregate_exactly_and_close_after_grace);
	g_test_add_func("/summary/late-transaction-goes-out-in-a-late-batch",
			test_late_transaction_goes_out_in_a_late_batch);
	g_test_add_func("/summary/quiet-gap-still-emits-each-interval",
			test_quiet_gap_still_emits_each_interval);
	return g_test_run();
}
