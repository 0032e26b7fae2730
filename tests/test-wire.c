/*
 * test-wire.c: the wire protocol codec (lib/wire.c) against its spec,
 * docs/wire-protocol.md.
 *
 * Batches round-trip with every field set; the handshake runs between two
 * simulated ends; every way a frame can be forged, altered, replayed,
 * reflected or reordered fails; and hostile payloads (every truncation,
 * lying counts, bad strings, bad histograms) are refused without a crash
 * and without allocating what they claim.  Batches from a "newer" and an
 * "older" sensor are built byte by byte here, independently of the
 * encoder, so the layout is checked against the spec and not only against
 * itself.
 */
#include "config.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#include "wire.h"

static const uint8_t KEY[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t KEY2[32] = "0123456789abcdef0123456789abcdeX";
static const uint8_t ID[WIRE_BATCH_ID_LEN] = {
	0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
};

/* ----------------------------------------------------------------------
 * Batches to encode
 */

static struct summary_row *make_row(int k, int family, bool hists)
{
	struct summary_row *r = g_new0(struct summary_row, 1);

	r->interval_start = 1700000100;
	r->interval_secs = 300;
	r->protocol = g_strdup(k % 2 ? "http" : "dns");
	r->signature = g_strdup_printf("GET_/path/%d/\xc3\xa9t\xc3\xa9", k);
	r->family = (uint8_t)family;
	for (int i = 0; i < (family == 6 ? 16 : 4); i++)
		r->server_addr[i] = (uint8_t)(0x10 * k + i + 1);
	r->server_port = (uint16_t)(65535 - k);
	for (int c = 0; c < SC_NCOUNTS; c++)
		r->counts[c] = (uint64_t)(1000 * k + c + 1);
	r->counts[SC_RETRIES] = (uint64_t)INT64_MAX;	/* the largest value */
	for (int m = 0; m < SM_NMETRICS; m++) {
		r->m[m].count = (uint64_t)(m + 1 + k);
		r->m[m].min = (uint64_t)(m + 3);
		r->m[m].max = (uint64_t)(m + 3) << 33;
		r->m[m].sum = r->m[m].max * 3 + (uint64_t)k;
	}
	hist_init(&r->ttfb_hist);
	hist_init(&r->ttlb_hist);
	if (hists) {
		hist_add_bucket(&r->ttfb_hist, 0, 5);
		hist_add_bucket(&r->ttfb_hist, 77, 1);
		hist_add_bucket(&r->ttfb_hist, HIST_BUCKETS - 1, (uint64_t)INT64_MAX);
		for (int b = 1; b < HIST_BUCKETS; b += 3)
			hist_add_bucket(&r->ttlb_hist, b, (uint64_t)b * 7);
	}
	return r;
}

static struct health_row *make_health(void)
{
	struct health_row *h = g_new0(struct health_row, 1);

	h->interval_start = 1700000100;
	h->interval_secs = 300;
	h->packets = 1;
	h->bytes = 2;
	h->kernel_drops = 3;
	h->iface_drops = 4;
	h->malformed = 5;
	h->flows_active = 6;
	h->flows_created = 7;
	h->flows_evicted = 8;
	h->gaps = 9;
	h->transactions = 10;
	h->clients_distinct = 11;
	h->clients_estimated = true;
	h->client_ports_distinct = 12;
	h->conn_per_sec_min = 13;
	h->conn_per_sec_max = UINT32_MAX;
	h->conn_per_sec_avg = 14.0 / 3.0;
	h->output_dropped = 15;
	h->spool_dropped = 16;
	h->ntop = TOPK_REPORT;
	for (unsigned i = 0; i < TOPK_REPORT; i++) {
		struct top_client *t = &h->top[i];
		t->family = i % 3 ? 4 : 6;
		for (int j = 0; j < (t->family == 6 ? 16 : 4); j++)
			t->addr[j] = (uint8_t)(i * 16 + j + 1);
		t->transactions = 1000000 - i;
		t->error_bound = i;
	}
	return h;
}

static struct summary_batch *make_batch(unsigned nrows, bool late,
					bool health, bool hists)
{
	struct summary_batch *b = g_new0(struct summary_batch, 1);

	b->interval_start = 1700000100;
	b->interval_secs = 300;
	b->late = late;
	b->nrows = nrows;
	b->rows = g_new0(struct summary_row *, nrows + 1);
	for (unsigned i = 0; i < nrows; i++)
		b->rows[i] = make_row((int)i, i % 2 ? 6 : 4, hists);
	b->health = health ? make_health() : NULL;
	return b;
}

static void assert_hist_equal(const struct hist *a, const struct hist *b)
{
	g_assert_cmpuint(a->n, ==, b->n);
	for (unsigned i = 0; i < a->n; i++) {
		g_assert_cmpuint(a->bucket[i], ==, b->bucket[i]);
		g_assert_cmpuint(a->count[i], ==, b->count[i]);
	}
}

static void assert_batch_equal(const struct summary_batch *a,
			       const struct summary_batch *b)
{
	g_assert_cmpint(a->interval_start, ==, b->interval_start);
	g_assert_cmpuint(a->interval_secs, ==, b->interval_secs);
	g_assert_cmpint(a->late, ==, b->late);
	g_assert_cmpuint(a->nrows, ==, b->nrows);
	for (unsigned i = 0; i < a->nrows; i++) {
		const struct summary_row *x = a->rows[i], *y = b->rows[i];
		g_assert_cmpint(x->interval_start, ==, y->interval_start);
		g_assert_cmpuint(x->interval_secs, ==, y->interval_secs);
		g_assert_cmpstr(x->protocol, ==, y->protocol);
		g_assert_cmpstr(x->signature, ==, y->signature);
		g_assert_cmpuint(x->family, ==, y->family);
		g_assert_cmpmem(x->server_addr, 16, y->server_addr, 16);
		g_assert_cmpuint(x->server_port, ==, y->server_port);
		g_assert_cmpmem(x->counts, sizeof x->counts, y->counts,
				sizeof y->counts);
		g_assert_cmpmem(x->m, sizeof x->m, y->m, sizeof y->m);
		assert_hist_equal(&x->ttfb_hist, &y->ttfb_hist);
		assert_hist_equal(&x->ttlb_hist, &y->ttlb_hist);
	}
	g_assert_cmpint(!a->health, ==, !b->health);
	if (a->health) {
		const struct health_row *x = a->health, *y = b->health;
		g_assert_cmpint(x->interval_start, ==, y->interval_start);
		g_assert_cmpuint(x->interval_secs, ==, y->interval_secs);
		g_assert_cmpuint(x->packets, ==, y->packets);
		g_assert_cmpuint(x->bytes, ==, y->bytes);
		g_assert_cmpuint(x->kernel_drops, ==, y->kernel_drops);
		g_assert_cmpuint(x->iface_drops, ==, y->iface_drops);
		g_assert_cmpuint(x->malformed, ==, y->malformed);
		g_assert_cmpuint(x->flows_active, ==, y->flows_active);
		g_assert_cmpuint(x->flows_created, ==, y->flows_created);
		g_assert_cmpuint(x->flows_evicted, ==, y->flows_evicted);
		g_assert_cmpuint(x->gaps, ==, y->gaps);
		g_assert_cmpuint(x->transactions, ==, y->transactions);
		g_assert_cmpuint(x->clients_distinct, ==, y->clients_distinct);
		g_assert_cmpint(x->clients_estimated, ==, y->clients_estimated);
		g_assert_cmpuint(x->client_ports_distinct, ==,
				 y->client_ports_distinct);
		g_assert_cmpuint(x->conn_per_sec_min, ==, y->conn_per_sec_min);
		g_assert_cmpuint(x->conn_per_sec_max, ==, y->conn_per_sec_max);
		/* Bit for bit: the double travels as its IEEE 754 bits. */
		g_assert_cmpmem(&x->conn_per_sec_avg, sizeof(double),
				&y->conn_per_sec_avg, sizeof(double));
		g_assert_cmpuint(x->output_dropped, ==, y->output_dropped);
		g_assert_cmpuint(x->spool_dropped, ==, y->spool_dropped);
		g_assert_cmpuint(x->ntop, ==, y->ntop);
		for (unsigned i = 0; i < x->ntop; i++) {
			g_assert_cmpuint(x->top[i].family, ==, y->top[i].family);
			g_assert_cmpmem(x->top[i].addr, 16, y->top[i].addr, 16);
			g_assert_cmpuint(x->top[i].transactions, ==,
					 y->top[i].transactions);
			g_assert_cmpuint(x->top[i].error_bound, ==,
					 y->top[i].error_bound);
		}
	}
}

/* Encode, decode, compare; and re-encoding gives the same bytes. */
static void round_trip(const struct summary_batch *b)
{
	GBytes *enc = wire_batch_encode(b, ID);
	gsize len;
	const uint8_t *p = g_bytes_get_data(enc, &len);
	uint8_t id[WIRE_BATCH_ID_LEN];
	GError *err = NULL;

	struct summary_batch *d = wire_batch_decode(p, len, id, &err);
	g_assert_no_error(err);
	g_assert_nonnull(d);
	g_assert_cmpmem(id, sizeof id, ID, sizeof ID);
	assert_batch_equal(b, d);
	GBytes *again = wire_batch_encode(d, id);
	g_assert_true(g_bytes_equal(enc, again));
	g_bytes_unref(again);
	summary_batch_free(d);
	g_bytes_unref(enc);
}

static void test_batch_round_trip_keeps_every_field(void)
{
	struct summary_batch *b = make_batch(5, false, true, true);
	round_trip(b);
	summary_batch_free(b);
}

static void test_late_batch_without_health_and_empty_histograms(void)
{
	struct summary_batch *b = make_batch(3, true, false, false);
	round_trip(b);
	summary_batch_free(b);
}

static void test_batch_with_no_rows_carries_health(void)
{
	struct summary_batch *b = make_batch(0, false, true, true);
	b->health->ntop = 0;
	round_trip(b);
	b->health->conn_per_sec_avg = 0;
	b->health->clients_estimated = false;
	round_trip(b);
	summary_batch_free(b);
}

static void test_encoder_refuses_what_cannot_be_encoded(void)
{
	if (g_test_subprocess()) {
		struct summary_batch *b = make_batch(1, false, false, false);
		g_free(b->rows[0]->protocol);
		b->rows[0]->protocol = g_strdup("has space");
		g_assert_null(wire_batch_encode(b, ID));
		summary_batch_free(b);
		return;
	}
	/* g_return_val_if_fail logs a critical: run it in a child. */
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_stderr("*CRITICAL*proto_valid*");
}

/* ----------------------------------------------------------------------
 * A byte-by-byte batch builder, independent of the encoder
 */

struct tb {
	GByteArray *a;
};

static void tb_u8(struct tb *t, unsigned v)
{
	uint8_t b = (uint8_t)v;
	g_byte_array_append(t->a, &b, 1);
}

static void tb_be16(struct tb *t, unsigned v)
{
	tb_u8(t, v >> 8);
	tb_u8(t, v);
}

static void tb_be32(struct tb *t, uint32_t v)
{
	tb_be16(t, v >> 16);
	tb_be16(t, v & 0xffff);
}

static void tb_be64(struct tb *t, uint64_t v)
{
	tb_be32(t, (uint32_t)(v >> 32));
	tb_be32(t, (uint32_t)v);
}

static void tb_str(struct tb *t, const char *s)
{
	tb_u8(t, (unsigned)strlen(s));
	g_byte_array_append(t->a, (const uint8_t *)s, (guint)strlen(s));
}

/* Options of a hand-built batch. */
struct shape {
	unsigned n_counts, n_metrics, n_health, n_rows;
	bool late, health;
};

/* Header as the spec draws it. */
static void tb_header(struct tb *t, const struct shape *s, uint32_t nrows)
{
	g_byte_array_append(t->a, ID, sizeof ID);
	tb_be64(t, 1700000100);
	tb_be32(t, 300);
	tb_u8(t, (s->late ? 1 : 0) | (s->health ? 2 : 0));
	tb_u8(t, s->n_counts);
	tb_u8(t, s->n_metrics);
	tb_u8(t, s->n_health);
	tb_be32(t, nrows);
}

/* Row j: count i = 100 j + i, metric i = (i+1, 10 (i+1), i+1, i+1). */
static void tb_row(struct tb *t, const struct shape *s, unsigned j)
{
	tb_str(t, "http");
	tb_str(t, "GET_/");
	tb_u8(t, 4);
	tb_be32(t, 0x0a000001 + j);
	tb_be16(t, 80);
	for (unsigned i = 0; i < s->n_counts; i++)
		tb_be64(t, 100 * j + i);
	for (unsigned i = 0; i < s->n_metrics; i++) {
		tb_be64(t, i + 1);
		tb_be64(t, 10 * (i + 1));
		tb_be64(t, i + 1);
		tb_be64(t, i + 1);
	}
	tb_be16(t, 1);		/* ttfb: bucket 5 x 2 */
	tb_u8(t, 5);
	tb_be64(t, 2);
	tb_be16(t, 0);		/* ttlb: empty */
}

static void tb_health(struct tb *t, const struct shape *s)
{
	for (unsigned i = 0; i < s->n_health; i++) {
		if (i == 11)		/* clients_estimated */
			tb_be64(t, 1);
		else if (i == 15) {	/* conn_per_sec_avg: 2.5 */
			double d = 2.5;
			uint64_t u;
			memcpy(&u, &d, sizeof u);
			tb_be64(t, u);
		} else
			tb_be64(t, 1000 + i);
	}
	tb_u8(t, 1);
	tb_u8(t, 6);
	for (int i = 0; i < 16; i++)
		tb_u8(t, 0x20 + i);
	tb_be64(t, 77);
	tb_be64(t, 3);
}

static GBytes *tb_batch(const struct shape *s)
{
	struct tb t = { g_byte_array_new() };

	tb_header(&t, s, s->n_rows);
	for (unsigned j = 0; j < s->n_rows; j++)
		tb_row(&t, s, j);
	if (s->health)
		tb_health(&t, s);
	return g_byte_array_free_to_bytes(t.a);
}

static struct summary_batch *decode_bytes(GBytes *bytes, GError **err)
{
	gsize len;
	const uint8_t *p = g_bytes_get_data(bytes, &len);
	uint8_t id[WIRE_BATCH_ID_LEN];
	return wire_batch_decode(p, len, id, err);
}

static void test_hand_built_batch_matches_the_spec(void)
{
	struct shape s = { SC_NCOUNTS, SM_NMETRICS, WIRE_HEALTH_FIELDS, 2,
			   false, true };
	GBytes *bytes = tb_batch(&s);
	GError *err = NULL;
	struct summary_batch *b = decode_bytes(bytes, &err);

	g_assert_no_error(err);
	g_assert_cmpuint(b->nrows, ==, 2);
	g_assert_cmpstr(b->rows[1]->protocol, ==, "http");
	g_assert_cmpuint(b->rows[1]->server_addr[3], ==, 2);
	g_assert_cmpuint(b->rows[1]->counts[SC_ERRORS], ==, 101);
	g_assert_cmpuint(b->rows[1]->m[SM_TTLB_US].sum, ==, 30);
	g_assert_cmpuint(b->rows[0]->ttfb_hist.n, ==, 1);
	g_assert_cmpuint(b->rows[0]->ttfb_hist.bucket[0], ==, 5);
	g_assert_cmpuint(b->health->packets, ==, 1000);
	g_assert_cmpuint(b->health->spool_dropped, ==, 1017);
	g_assert_true(b->health->clients_estimated);
	g_assert_cmpfloat(b->health->conn_per_sec_avg, ==, 2.5);
	g_assert_cmpuint(b->health->ntop, ==, 1);
	g_assert_cmpuint(b->health->top[0].addr[15], ==, 0x2f);
	g_assert_cmpint(b->health->interval_start, ==, 1700000100);

	/* And our encoder produces exactly these bytes. */
	GBytes *enc = wire_batch_encode(b, ID);
	g_assert_true(g_bytes_equal(enc, bytes));
	g_bytes_unref(enc);
	summary_batch_free(b);
	g_bytes_unref(bytes);
}

static void test_newer_sensors_extra_values_are_skipped(void)
{
	struct shape s = { SC_NCOUNTS + 3, SM_NMETRICS + 2,
			   WIRE_HEALTH_FIELDS + 4, 3, true, true };
	GBytes *bytes = tb_batch(&s);
	GError *err = NULL;
	struct summary_batch *b = decode_bytes(bytes, &err);

	g_assert_no_error(err);
	g_assert_cmpuint(b->nrows, ==, 3);
	g_assert_true(b->late);
	g_assert_cmpuint(b->rows[2]->counts[SC_NCOUNTS - 1], ==,
			 200 + SC_NCOUNTS - 1);
	g_assert_cmpuint(b->rows[2]->m[SM_NMETRICS - 1].count, ==, SM_NMETRICS);
	g_assert_cmpuint(b->rows[2]->ttfb_hist.n, ==, 1);
	g_assert_cmpuint(b->health->spool_dropped, ==, 1017);
	g_assert_cmpuint(b->health->ntop, ==, 1);
	summary_batch_free(b);
	g_bytes_unref(bytes);
}

static void test_older_sensors_missing_values_read_as_zero(void)
{
	struct shape s = { 2, 3, 5, 1, false, true };
	GBytes *bytes = tb_batch(&s);
	GError *err = NULL;
	struct summary_batch *b = decode_bytes(bytes, &err);

	g_assert_no_error(err);
	g_assert_cmpuint(b->rows[0]->counts[1], ==, 1);
	g_assert_cmpuint(b->rows[0]->counts[2], ==, 0);
	g_assert_cmpuint(b->rows[0]->m[2].count, ==, 3);
	g_assert_cmpuint(b->rows[0]->m[3].count, ==, 0);
	g_assert_cmpuint(b->health->malformed, ==, 1004);
	g_assert_cmpuint(b->health->flows_active, ==, 0);
	g_assert_false(b->health->clients_estimated);
	summary_batch_free(b);
	g_bytes_unref(bytes);
}

/* ----------------------------------------------------------------------
 * Hostile batches
 */

static void assert_rejected(GBytes *bytes, const char *why)
{
	GError *err = NULL;
	struct summary_batch *b = decode_bytes(bytes, &err);

	if (b)
		g_error("accepted a batch with %s", why);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_BAD_BATCH);
	g_error_free(err);
}

static void test_every_truncation_is_rejected(void)
{
	struct summary_batch *b = make_batch(4, false, true, true);
	GBytes *enc = wire_batch_encode(b, ID);
	gsize len;
	const uint8_t *p = g_bytes_get_data(enc, &len);

	for (gsize n = 0; n < len; n++) {
		/* A copy of exactly n bytes, so ASan sees any overread. */
		uint8_t *cut = g_memdup2(p, n ? n : 1);
		GError *err = NULL;
		uint8_t id[WIRE_BATCH_ID_LEN];
		struct summary_batch *d = wire_batch_decode(cut, n, id, &err);
		g_assert_null(d);
		g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_BAD_BATCH);
		g_error_free(err);
		g_free(cut);
	}
	/* One byte more is as wrong as one byte less. */
	uint8_t *longer = g_malloc(len + 1);
	memcpy(longer, p, len);
	longer[len] = 0;
	GBytes *lb = g_bytes_new_take(longer, len + 1);
	assert_rejected(lb, "a trailing byte");
	g_bytes_unref(lb);
	g_bytes_unref(enc);
	summary_batch_free(b);
}

/* Offsets in a tb_batch() of the default shape with one row. */
#define OFF_FLAGS 28
#define OFF_NROWS 32
#define OFF_ROW 36

static GBytes *patched(const struct shape *s, size_t off, const void *bytes,
		       size_t n)
{
	GBytes *b = tb_batch(s);
	gsize len;
	uint8_t *p = g_bytes_unref_to_data(b, &len);
	g_assert_cmpuint(off + n, <=, len);
	memcpy(p + off, bytes, n);
	return g_bytes_new_take(p, len);
}

static void test_hostile_counts_are_rejected_before_allocating(void)
{
	struct shape s = { SC_NCOUNTS, SM_NMETRICS, WIRE_HEALTH_FIELDS, 1,
			   false, true };
	GBytes *b;

	/* n_rows of 4 billion: checked against the bytes left, not
	 * allocated (ASan's allocator would abort on a 32 GiB calloc). */
	b = patched(&s, OFF_NROWS, "\xff\xff\xff\xff", 4);
	assert_rejected(b, "n_rows 2^32-1");
	g_bytes_unref(b);
	b = patched(&s, OFF_NROWS, "\x00\x00\x00\x02", 4);
	assert_rejected(b, "n_rows one more than present");
	g_bytes_unref(b);

	/* Rows that would fit if counts were tiny: 20000 rows of nothing. */
	struct shape tiny = { 0, 0, 0, 0, false, false };
	struct tb t = { g_byte_array_new() };
	tb_header(&t, &tiny, 20000);
	for (int i = 0; i < 20000; i++) {
		tb_str(&t, "x");
		tb_str(&t, "");
		tb_u8(&t, 4);
		tb_be32(&t, 0);
		tb_be16(&t, 0);
		tb_be16(&t, 0);
		tb_be16(&t, 0);
	}
	b = g_byte_array_free_to_bytes(t.a);
	assert_rejected(b, "more than WIRE_BATCH_ROWS_MAX rows");
	g_bytes_unref(b);

	/* A histogram claiming 65535 buckets. */
	size_t hist_off = OFF_ROW + 1 + 4 + 1 + 5 + 1 + 4 + 2 +
			  8 * SC_NCOUNTS + 32 * SM_NMETRICS;
	b = patched(&s, hist_off, "\xff\xff", 2);
	assert_rejected(b, "65535 histogram buckets");
	g_bytes_unref(b);
	b = patched(&s, hist_off, "\x00\xdc", 2);	/* 220 */
	assert_rejected(b, "220 histogram buckets");
	g_bytes_unref(b);
	b = patched(&s, hist_off, "\x00\x02", 2);
	assert_rejected(b, "2 buckets where 1 is");
	g_bytes_unref(b);
	/* A string longer than what follows. */
	b = patched(&s, OFF_ROW, "\xff", 1);
	assert_rejected(b, "a protocol of 255 bytes");
	g_bytes_unref(b);
}

static void test_bad_values_are_rejected(void)
{
	struct shape s = { SC_NCOUNTS, SM_NMETRICS, WIRE_HEALTH_FIELDS, 1,
			   false, true };
	const size_t proto = OFF_ROW + 1, sig = OFF_ROW + 6;
	const size_t fam = OFF_ROW + 1 + 4 + 1 + 5;
	const size_t counts = fam + 1 + 4 + 2;
	const size_t metrics = counts + 8 * SC_NCOUNTS;
	const size_t hist = metrics + 32 * SM_NMETRICS;
	const size_t health = hist + 2 + 9 + 2;
	struct {
		size_t off;
		const char *bytes;
		size_t n;
		const char *why;
	} cases[] = {
		{ 16, "\xff\xff\xff\xff\xff\xff\xff\xff", 8, "negative start" },
		{ 16, "\x00\x00\x00\x3b\x00\x00\x00\x00", 8, "start past 9999" },
		{ 24, "\x00\x00\x00\x00", 4, "interval_secs 0" },
		{ 24, "\x00\x01\x51\x81", 4, "interval_secs 86401" },
		{ OFF_FLAGS, "\x06", 1, "unknown flag" },
		{ OFF_FLAGS, "\x00", 1, "health values without health" },
		{ OFF_ROW, "\x00", 1, "an empty protocol" },
		{ proto, "h p", 3, "a space in the protocol" },
		{ sig, "GE\0", 3, "a NUL in the signature" },
		{ sig, "GE\xff", 3, "invalid UTF-8 in the signature" },
		{ fam, "\x05", 1, "family 5" },
		{ counts, "\x80", 1, "a count above 2^63-1" },
		{ metrics, "\x00\x00\x00\x00\x00\x00\x00\x00", 8,
		  "count 0 with a sum" },
		{ metrics + 16, "\x00\x00\x00\x00\x00\x00\x00\x09", 8,
		  "min > max" },
		{ hist + 2, "\xdb", 1, "bucket 219" },
		{ hist + 3, "\x00\x00\x00\x00\x00\x00\x00\x00", 8,
		  "a bucket count of 0" },
		{ health + 8 * 11, "\x00\x00\x00\x00\x00\x00\x00\x02", 8,
		  "clients_estimated 2" },
		{ health + 8 * 13, "\x00\x00\x00\x01\x00\x00\x00\x00", 8,
		  "conn_per_sec_min 2^32" },
		{ health + 8 * 15, "\x7f\xf8\x00\x00\x00\x00\x00\x00", 8,
		  "conn_per_sec_avg NaN" },
		{ health + 8 * 15, "\xbf\xf0\x00\x00\x00\x00\x00\x00", 8,
		  "conn_per_sec_avg -1" },
		{ health + 8 * WIRE_HEALTH_FIELDS, "\x15", 1, "21 top clients" },
		{ health + 8 * WIRE_HEALTH_FIELDS + 1, "\x04", 1,
		  "a top client's family changed to 4 (length then wrong)" },
		{ health + 8 * WIRE_HEALTH_FIELDS + 1, "\x00", 1,
		  "a top client of family 0" },
	};

	/* The unpatched batch is good. */
	GBytes *good = tb_batch(&s);
	GError *err = NULL;
	struct summary_batch *ok = decode_bytes(good, &err);
	g_assert_no_error(err);
	summary_batch_free(ok);
	g_bytes_unref(good);

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		GBytes *b = patched(&s, cases[i].off, cases[i].bytes,
				    cases[i].n);
		assert_rejected(b, cases[i].why);
		g_bytes_unref(b);
	}

	/* Decreasing and repeated buckets. */
	struct tb t = { g_byte_array_new() };
	struct shape one = { 0, 0, 0, 1, false, false };
	tb_header(&t, &one, 1);
	tb_str(&t, "http");
	tb_str(&t, "x");
	tb_u8(&t, 4);
	tb_be32(&t, 1);
	tb_be16(&t, 80);
	tb_be16(&t, 2);
	tb_u8(&t, 9);
	tb_be64(&t, 1);
	tb_u8(&t, 9);
	tb_be64(&t, 1);
	tb_be16(&t, 0);
	GBytes *b = g_byte_array_free_to_bytes(t.a);
	assert_rejected(b, "a repeated bucket");
	g_bytes_unref(b);
}

/* Random damage: never a crash, and what decodes re-encodes. */
static void test_mutated_batches_never_crash(void)
{
	struct summary_batch *src = make_batch(3, false, true, true);
	GBytes *enc = wire_batch_encode(src, ID);
	gsize len;
	const uint8_t *p = g_bytes_get_data(enc, &len);
	unsigned accepted = 0;

	for (int iter = 0; iter < 20000; iter++) {
		uint8_t *m = g_memdup2(p, len);
		int edits = g_test_rand_int_range(1, 4);
		for (int e = 0; e < edits; e++)
			m[g_test_rand_int_range(0, (gint32)len)] =
				(uint8_t)g_test_rand_int_range(0, 256);
		gsize n = g_test_rand_bit() ? len
			  : (gsize)g_test_rand_int_range(0, (gint32)len + 1);
		uint8_t id[WIRE_BATCH_ID_LEN];
		GError *err = NULL;
		struct summary_batch *d = wire_batch_decode(m, n, id, &err);
		if (d) {
			accepted++;
			GBytes *re = wire_batch_encode(d, id);
			g_assert_nonnull(re);
			g_assert_cmpuint(g_bytes_get_size(re), ==, n);
			g_bytes_unref(re);
			summary_batch_free(d);
		} else {
			g_assert_nonnull(err);
			g_error_free(err);
		}
		g_free(m);
	}
	/* Damage to values (not structure) decodes: the test saw both. */
	g_assert_cmpuint(accepted, >, 0);
	g_bytes_unref(enc);
	summary_batch_free(src);
}

/* ----------------------------------------------------------------------
 * Handshake and frames
 */

struct pair {
	struct wire_session sensor, collector;
};

/* Run the handshake between the two ends with the keys each holds. */
static int handshake(struct pair *p, const uint8_t *sensor_key,
		     const uint8_t *collector_key, GError **err)
{
	uint8_t hello[WIRE_HELLO_LEN], auth[WIRE_AUTH_MAX];
	uint8_t sn[WIRE_NONCE_LEN], sn_seen[WIRE_NONCE_LEN], cn[WIRE_NONCE_LEN];
	char name[WIRE_NAME_MAX + 1];

	/* Collector speaks first. */
	wire_hello_build(hello, sn);
	g_assert_cmpmem(hello, 6, "ARTMON", 6);
	g_assert_cmpuint(hello[6] << 8 | hello[7], ==, WIRE_VERSION);
	if (wire_hello_parse(hello, sizeof hello, sn_seen, err))
		return -1;
	g_assert_cmpmem(sn, sizeof sn, sn_seen, sizeof sn_seen);
	size_t alen = wire_auth_build(auth, "sensor-01.lab", sensor_key, 32,
				      sn_seen, cn);
	g_assert_cmpuint(alen, ==, 9 + 13 + 32 + 32);
	wire_session_sensor(&p->sensor, sensor_key, 32, sn_seen, cn);

	/* The collector knows the total from 9 bytes. */
	g_assert_cmpuint(wire_auth_expected_len(auth, 9), ==, alen);
	g_assert_cmpuint(wire_auth_expected_len(auth, 8), ==, 0);
	if (wire_auth_name(auth, alen, name, err))
		return -1;
	g_assert_cmpstr(name, ==, "sensor-01.lab");
	if (wire_auth_verify(auth, alen, collector_key, 32, sn, &p->collector,
			     err))
		return -1;
	return 0;
}

/* Send a frame from one session and open it in another. */
static int carry(struct wire_session *from, struct wire_session *to,
		 enum wire_type type, const char *payload, GBytes **keep,
		 GError **err)
{
	GBytes *f = wire_frame_build(from, type, payload,
				     payload ? strlen(payload) : 0);
	gsize len;
	const uint8_t *p = g_bytes_get_data(f, &len);
	enum wire_type t;
	const uint8_t *pl;
	size_t plen;
	int rc;

	g_assert_cmpuint(wire_frame_length(p, WIRE_FRAME_MAX, NULL), ==, len);
	rc = wire_frame_open(to, p, len, &t, &pl, &plen, err);
	if (rc == 0) {
		g_assert_cmpint(t, ==, type);
		g_assert_cmpuint(plen, ==, payload ? strlen(payload) : 0);
		if (plen)
			g_assert_cmpmem(pl, plen, payload, plen);
	}
	if (keep)
		*keep = f;
	else
		g_bytes_unref(f);
	return rc;
}

static void test_handshake_between_two_ends(void)
{
	struct pair p;
	GError *err = NULL;

	g_assert_cmpint(handshake(&p, KEY, KEY, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpmem(p.sensor.key, 32, p.collector.key, 32);
	g_assert_cmpint(p.sensor.send_dir, ==, 'S');
	g_assert_cmpint(p.collector.send_dir, ==, 'C');
	/* AUTH_OK is the collector's frame 0. */
	g_assert_cmpint(carry(&p.collector, &p.sensor, WIRE_AUTH_OK, NULL,
			      NULL, &err), ==, 0);
	g_assert_no_error(err);
	for (int i = 0; i < 5; i++) {
		g_assert_cmpint(carry(&p.sensor, &p.collector, WIRE_BATCH,
				      "batch bytes", NULL, &err), ==, 0);
		g_assert_cmpint(carry(&p.collector, &p.sensor, WIRE_ACK,
				      "0123456789abcdef", NULL, &err), ==, 0);
		g_assert_no_error(err);
	}
	g_assert_cmpuint(p.sensor.send_seq, ==, 5);
	g_assert_cmpuint(p.sensor.recv_seq, ==, 6);
	g_assert_cmpuint(p.collector.send_seq, ==, 6);
	g_assert_cmpuint(p.collector.recv_seq, ==, 5);
	wire_session_clear(&p.sensor);
	g_assert_cmpuint(p.sensor.key[0] | p.sensor.key[31], ==, 0);
}

static void test_wrong_key_fails_both_ways(void)
{
	struct pair p;
	GError *err = NULL;

	/* The collector has another key for this name: AUTH fails. */
	g_assert_cmpint(handshake(&p, KEY, KEY2, &err), ==, -1);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_MAC);
	g_clear_error(&err);

	/* A collector that skips the check (an impostor) cannot make an
	 * AUTH_OK the sensor accepts. */
	uint8_t sn[WIRE_NONCE_LEN] = { 1 }, cn[WIRE_NONCE_LEN] = { 2 };
	struct wire_session s, impostor;
	wire_session_sensor(&s, KEY, 32, sn, cn);
	wire_session_sensor(&impostor, KEY2, 32, sn, cn);
	impostor.send_dir = 'C';
	impostor.recv_dir = 'S';
	g_assert_cmpint(carry(&impostor, &s, WIRE_AUTH_OK, NULL, NULL, &err),
			==, -1);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_MAC);
	g_clear_error(&err);

	/* A short key is refused by both ends. */
	uint8_t auth[WIRE_AUTH_MAX];
	g_assert_cmpuint(wire_auth_build(auth, "s", KEY, WIRE_KEY_MIN - 1, sn,
					 cn), ==, 0);
	g_assert_cmpuint(wire_auth_build(auth, "bad name", KEY, 32, sn, cn),
			 ==, 0);
	size_t n = wire_auth_build(auth, "s", KEY, 32, sn, cn);
	g_assert_cmpint(wire_auth_verify(auth, n, KEY, WIRE_KEY_MIN - 1, sn,
					 &s, &err), ==, -1);
	g_clear_error(&err);
	/* AUTH answering another HELLO's nonce fails. */
	uint8_t other[WIRE_NONCE_LEN] = { 9 };
	g_assert_cmpint(wire_auth_verify(auth, n, KEY, 32, other, &s, &err),
			==, -1);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_MAC);
	g_clear_error(&err);
}

static void test_every_flipped_bit_in_auth_fails(void)
{
	uint8_t sn[WIRE_NONCE_LEN] = { 7 }, cn[WIRE_NONCE_LEN];
	uint8_t auth[WIRE_AUTH_MAX];
	size_t n = wire_auth_build(auth, "sensor", KEY, 32, sn, cn);
	struct wire_session s;

	for (size_t bit = 0; bit < n * 8; bit++) {
		GError *err = NULL;
		auth[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		size_t want = wire_auth_expected_len(auth, n);
		g_assert_cmpint(want == n && wire_auth_verify(auth, n, KEY, 32,
							      sn, &s, &err) == 0,
				==, 0);
		g_clear_error(&err);
		auth[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	GError *err = NULL;
	g_assert_cmpint(wire_auth_verify(auth, n, KEY, 32, sn, &s, &err), ==, 0);
	g_assert_cmpint(wire_auth_verify(auth, n - 1, KEY, 32, sn, &s, &err),
			==, -1);
	g_clear_error(&err);
}

static void test_every_flipped_bit_in_a_frame_fails(void)
{
	struct pair p;
	GBytes *f;
	GError *err = NULL;

	g_assert_cmpint(handshake(&p, KEY, KEY, &err), ==, 0);
	struct wire_session rx = p.collector;
	g_assert_cmpint(carry(&p.sensor, &p.collector, WIRE_BATCH, "payload!",
			      &f, NULL), ==, 0);
	gsize len;
	const uint8_t *orig = g_bytes_get_data(f, &len);
	uint8_t *fr = g_memdup2(orig, len);
	for (size_t bit = 0; bit < len * 8; bit++) {
		struct wire_session s = rx;
		enum wire_type t;
		const uint8_t *pl;
		size_t plen;
		fr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		bool header_ok = wire_frame_length(fr, WIRE_FRAME_MAX, NULL) ==
				 len;
		g_assert_false(header_ok &&
			       wire_frame_open(&s, fr, len, &t, &pl, &plen,
					       NULL) == 0);
		g_assert_cmpuint(s.recv_seq, ==, rx.recv_seq);
		fr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	g_free(fr);
	g_bytes_unref(f);
}

static void test_replayed_reordered_or_reflected_frames_fail(void)
{
	struct pair p, q;
	GBytes *f0, *f1;
	GError *err = NULL;
	enum wire_type t;
	const uint8_t *pl;
	size_t plen;
	gsize len;
	const uint8_t *fp;

	g_assert_cmpint(handshake(&p, KEY, KEY, &err), ==, 0);
	struct wire_session rx = p.collector;
	f0 = wire_frame_build(&p.sensor, WIRE_BATCH, "zero", 4);
	f1 = wire_frame_build(&p.sensor, WIRE_BATCH, "one!", 4);

	/* Reordered: frame 1 where 0 is expected. */
	fp = g_bytes_get_data(f1, &len);
	g_assert_cmpint(wire_frame_open(&rx, fp, len, &t, &pl, &plen, &err),
			==, -1);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_MAC);
	g_clear_error(&err);
	/* In order it opens; then the same frame again does not. */
	fp = g_bytes_get_data(f0, &len);
	g_assert_cmpint(wire_frame_open(&rx, fp, len, &t, &pl, &plen, NULL),
			==, 0);
	g_assert_cmpint(wire_frame_open(&rx, fp, len, &t, &pl, &plen, &err),
			==, -1);
	g_clear_error(&err);
	/* A dropped frame shows: frame 2 where 1 is expected. */
	GBytes *f2 = wire_frame_build(&p.sensor, WIRE_BATCH, "two!", 4);
	fp = g_bytes_get_data(f2, &len);
	g_assert_cmpint(wire_frame_open(&rx, fp, len, &t, &pl, &plen, NULL),
			==, -1);

	/* Reflected: the sensor's frame 0 sent back to it as the
	 * collector's frame 0. */
	struct wire_session srx = p.sensor;
	srx.recv_seq = 0;
	fp = g_bytes_get_data(f0, &len);
	g_assert_cmpint(wire_frame_open(&srx, fp, len, &t, &pl, &plen, NULL),
			==, -1);

	/* Across sessions: same key, same name, new nonces. */
	g_assert_cmpint(handshake(&q, KEY, KEY, &err), ==, 0);
	g_assert_cmpint(wire_frame_open(&q.collector, fp, len, &t, &pl, &plen,
					&err), ==, -1);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_MAC);
	g_clear_error(&err);
	g_bytes_unref(f0);
	g_bytes_unref(f1);
	g_bytes_unref(f2);
}

static void test_frame_length_is_checked_from_the_header_alone(void)
{
	GError *err = NULL;
	uint8_t h[WIRE_HEADER_LEN] = { 0, 0, 0, WIRE_FRAME_MIN, WIRE_BATCH };

	g_assert_cmpuint(wire_frame_length(h, WIRE_FRAME_MAX, &err), ==,
			 WIRE_FRAME_MIN);
	g_assert_no_error(err);
	h[3] = WIRE_FRAME_MIN - 1;
	g_assert_cmpuint(wire_frame_length(h, WIRE_FRAME_MAX, &err), ==, 0);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_PROTOCOL);
	g_clear_error(&err);
	h[0] = 0x01;		/* 16 MiB + 40 - 1 */
	h[3] = WIRE_FRAME_MIN - 1;
	g_assert_cmpuint(wire_frame_length(h, WIRE_FRAME_MAX, &err), ==, 0);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_TOO_LARGE);
	g_clear_error(&err);
	memcpy(h, "\xff\xff\xff\xff", 4);
	g_assert_cmpuint(wire_frame_length(h, UINT32_MAX - 1, &err), ==, 0);
	g_clear_error(&err);
	/* Exactly the max passes; a receiver may set a smaller one. */
	memcpy(h, "\x01\x00\x00\x00", 4);
	g_assert_cmpuint(wire_frame_length(h, WIRE_FRAME_MAX, NULL), ==,
			 WIRE_FRAME_MAX);
	g_assert_cmpuint(wire_frame_length(h, 65536, NULL), ==, 0);
	/* Flags and reserved must be zero. */
	memcpy(h, "\x00\x00\x00\x40\x10\x01\x00\x00", 8);
	g_assert_cmpuint(wire_frame_length(h, WIRE_FRAME_MAX, NULL), ==, 0);
	memcpy(h, "\x00\x00\x00\x40\x10\x00\x00\x01", 8);
	g_assert_cmpuint(wire_frame_length(h, WIRE_FRAME_MAX, NULL), ==, 0);

	/* A builder will not make a frame above the max. */
	struct wire_session s = { .send_dir = 'S' };
	g_assert_null(wire_frame_build(&s, WIRE_BATCH, "", WIRE_FRAME_MAX));
	/* A frame whose length field disagrees with its size is refused. */
	GBytes *f = wire_frame_build(&s, WIRE_HEARTBEAT, NULL, 0);
	gsize len;
	const uint8_t *fp = g_bytes_get_data(f, &len);
	uint8_t big[WIRE_FRAME_MIN + 1];
	memcpy(big, fp, len);
	big[len] = 0;
	enum wire_type t;
	const uint8_t *pl;
	size_t plen;
	s.recv_dir = 'S';
	g_assert_cmpint(wire_frame_open(&s, big, len + 1, &t, &pl, &plen,
					&err), ==, -1);
	g_assert_nonnull(err);
	g_clear_error(&err);
	g_bytes_unref(f);
}

static void test_hello_and_auth_reject_strangers(void)
{
	uint8_t hello[WIRE_HELLO_LEN], n[WIRE_NONCE_LEN], n2[WIRE_NONCE_LEN];
	GError *err = NULL;

	wire_hello_build(hello, n);
	wire_hello_build(hello, n2);
	g_assert_false(memcmp(n, n2, sizeof n) == 0);	/* fresh nonces */
	g_assert_cmpint(wire_hello_parse(hello, sizeof hello - 1, n, &err), ==,
			-1);
	g_clear_error(&err);
	hello[0] = 'H';		/* an HTTP server, say */
	g_assert_cmpint(wire_hello_parse(hello, sizeof hello, n, &err), ==, -1);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_PROTOCOL);
	g_clear_error(&err);
	hello[0] = 'A';
	hello[6] = hello[7] = 0;
	g_assert_cmpint(wire_hello_parse(hello, sizeof hello, n, &err), ==, -1);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_VERSION);
	g_clear_error(&err);
	hello[7] = 2;		/* a newer collector: we answer with v1 */
	g_assert_cmpint(wire_hello_parse(hello, sizeof hello, n, &err), ==, 0);

	uint8_t auth[WIRE_AUTH_MAX];
	size_t len = wire_auth_build(auth, "s1", KEY, 32, n, n2);
	char name[WIRE_NAME_MAX + 1];
	auth[8] = 0;
	g_assert_cmpuint(wire_auth_expected_len(auth, len), ==, 0);
	auth[8] = WIRE_NAME_MAX + 1;
	g_assert_cmpuint(wire_auth_expected_len(auth, len), ==, 0);
	auth[8] = 2;
	auth[7] = 2;
	g_assert_cmpuint(wire_auth_expected_len(auth, len), ==, 0);
	g_assert_cmpint(wire_auth_name(auth, len, name, &err), ==, -1);
	g_assert_error(err, WIRE_ERROR_DOMAIN, WIRE_E_VERSION);
	g_clear_error(&err);
	auth[7] = 1;
	auth[9] = '/';
	g_assert_cmpint(wire_auth_name(auth, len, name, &err), ==, -1);
	g_clear_error(&err);
	auth[9] = 's';
	g_assert_cmpint(wire_auth_name(auth, len, name, &err), ==, 0);
	g_assert_cmpstr(name, ==, "s1");

	g_assert_true(wire_name_valid("a"));
	g_assert_true(wire_name_valid("Sensor_1.dc-2"));
	g_assert_false(wire_name_valid(""));
	g_assert_false(wire_name_valid("a b"));
	g_assert_false(wire_name_valid("caf\xc3\xa9"));
	char longname[WIRE_NAME_MAX + 2];
	memset(longname, 'x', sizeof longname - 1);
	longname[WIRE_NAME_MAX + 1] = '\0';
	g_assert_false(wire_name_valid(longname));
	longname[WIRE_NAME_MAX] = '\0';
	g_assert_true(wire_name_valid(longname));
}

static void test_small_payloads_round_trip(void)
{
	uint8_t id[WIRE_BATCH_ID_LEN];
	uint16_t code;
	char *text = NULL;
	GError *err = NULL;

	g_assert_cmpint(wire_id_parse(ID, sizeof ID, id, &err), ==, 0);
	g_assert_cmpmem(id, sizeof id, ID, sizeof ID);
	g_assert_cmpint(wire_id_parse(ID, sizeof ID - 1, id, &err), ==, -1);
	g_clear_error(&err);

	GBytes *e = wire_error_payload(WIRE_E_SHUTDOWN, "going down");
	gsize n;
	const uint8_t *p = g_bytes_get_data(e, &n);
	g_assert_cmpmem(p, n, "\x00\x06going down", 12);
	g_assert_cmpint(wire_error_parse(p, n, &code, &text, &err), ==, 0);
	g_assert_cmpuint(code, ==, WIRE_E_SHUTDOWN);
	g_assert_cmpstr(text, ==, "going down");
	g_free(text);
	g_bytes_unref(e);
	g_assert_cmpint(wire_error_parse(p, 1, &code, &text, &err), ==, -1);
	g_clear_error(&err);

	/* Long text is cut at a character boundary. */
	GString *lng = g_string_new(NULL);
	while (lng->len < 2 * WIRE_TEXT_MAX)
		g_string_append(lng, "\xc3\xa9");
	g_string_prepend_c(lng, 'x');
	e = wire_error_payload(1, lng->str);
	p = g_bytes_get_data(e, &n);
	g_assert_cmpuint(n, ==, 2 + WIRE_TEXT_MAX - 1);
	g_assert_true(g_utf8_validate_len((const char *)p + 2, n - 2, NULL));
	g_bytes_unref(e);
	g_string_free(lng, TRUE);

	GBytes *r = wire_reject_payload(ID, WIRE_E_BAD_BATCH, "bad row");
	p = g_bytes_get_data(r, &n);
	g_assert_cmpint(wire_reject_parse(p, n, id, &code, &text, &err), ==, 0);
	g_assert_cmpmem(id, sizeof id, ID, sizeof ID);
	g_assert_cmpuint(code, ==, WIRE_E_BAD_BATCH);
	g_assert_cmpstr(text, ==, "bad row");
	g_free(text);
	g_assert_cmpint(wire_reject_parse(p, 17, id, &code, &text, &err), ==,
			-1);
	g_clear_error(&err);
	g_bytes_unref(r);
	g_assert_cmpstr(wire_type_name(WIRE_REJECT), ==, "REJECT");
	g_assert_cmpstr(wire_code_name(WIRE_E_MAC), ==, "MAC");
}

/* Key derivation exactly as docs/wire-protocol.md states it, recomputed
 * here with GHmac directly: the spec and the code agree. */
static void test_key_derivation_matches_the_spec(void)
{
	uint8_t sn[WIRE_NONCE_LEN], cn[WIRE_NONCE_LEN], auth[WIRE_AUTH_MAX];
	struct wire_session s;
	uint8_t want[32];
	gsize wl = 32;

	memset(sn, 0xa5, sizeof sn);
	size_t n = wire_auth_build(auth, "s", KEY, 32, sn, cn);
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, KEY, 32);
	g_hmac_update(h, (const guchar *)"artmon auth v1", 14);
	g_hmac_update(h, sn, sizeof sn);
	g_hmac_update(h, auth, (gssize)(n - 32));
	g_hmac_get_digest(h, want, &wl);
	g_hmac_unref(h);
	g_assert_cmpmem(auth + n - 32, 32, want, 32);

	wire_session_sensor(&s, KEY, 32, sn, cn);
	h = g_hmac_new(G_CHECKSUM_SHA256, KEY, 32);
	g_hmac_update(h, (const guchar *)"artmon session v1", 17);
	g_hmac_update(h, sn, sizeof sn);
	g_hmac_update(h, cn, sizeof cn);
	wl = 32;
	g_hmac_get_digest(h, want, &wl);
	g_hmac_unref(h);
	g_assert_cmpmem(s.key, 32, want, 32);

	/* Frame MAC: dir, seq (8 bytes BE), header, payload. */
	s.send_seq = 0x0102030405060708ull;
	GBytes *f = wire_frame_build(&s, WIRE_HEARTBEAT, "hb", 2);
	gsize len;
	const uint8_t *fp = g_bytes_get_data(f, &len);
	g_assert_cmpmem(fp, 10, "\x00\x00\x00\x2a\x03\x00\x00\x00hb", 10);
	h = g_hmac_new(G_CHECKSUM_SHA256, s.key, 32);
	g_hmac_update(h, (const guchar *)"S\x01\x02\x03\x04\x05\x06\x07\x08", 9);
	g_hmac_update(h, fp, 10);
	wl = 32;
	g_hmac_get_digest(h, want, &wl);
	g_hmac_unref(h);
	g_assert_cmpmem(fp + 10, 32, want, 32);
	g_bytes_unref(f);
}

static uint8_t *unhex(const char *hex, size_t *len)
{
	GByteArray *a = g_byte_array_new();
	for (const char *p = hex; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		uint8_t b = (uint8_t)(g_ascii_xdigit_value(p[0]) << 4 |
				      g_ascii_xdigit_value(p[1]));
		g_byte_array_append(a, &b, 1);
		p += 2;
	}
	*len = a->len;
	return g_byte_array_free(a, FALSE);
}

/* docs/wire-protocol.md section 16, computed there with Python. */
static void test_vectors_of_the_spec(void)
{
	const uint8_t *key = (const uint8_t *)"0123456789abcdef0123456789abcdef";
	uint8_t sn[WIRE_NONCE_LEN], cn[WIRE_NONCE_LEN], id[16];
	size_t len;
	struct wire_session c, s;
	GError *err = NULL;

	memset(sn, 0xa5, sizeof sn);
	memset(cn, 0x5a, sizeof cn);
	for (int i = 0; i < 16; i++)
		id[i] = (uint8_t)i;
	uint8_t *auth = unhex(
		"4152544d4f4e0001 02 7331 "
		"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a "
		"493751797f2b6512194d3275987671a71834b10b7e2d0e8095b3b4cb3d7bc31c",
		&len);
	g_assert_cmpint(wire_auth_verify(auth, len, key, 32, sn, &c, &err), ==,
			0);
	g_assert_no_error(err);
	size_t sl;
	uint8_t *session = unhex("a3a5cc5482cb632ed677d26203f7a7a0"
				 "4212f658edabac4195fea6eb377b922e", &sl);
	g_assert_cmpmem(c.key, 32, session, sl);
	wire_session_sensor(&s, key, 32, sn, cn);
	g_assert_cmpmem(s.key, 32, session, sl);

	struct {
		struct wire_session *from;
		enum wire_type type;
		const void *payload;
		size_t plen;
		const char *hex;
	} frames[] = {
		{ &c, WIRE_AUTH_OK, NULL, 0,
		  "00000028 02 00 0000 e3c5595f6ed39922d875bcb57a8451a3"
		  "2ba7f9d2c36fcf292c65f98248c5a6e1" },
		{ &s, WIRE_HEARTBEAT, NULL, 0,
		  "00000028 03 00 0000 264c12718ab1000f052997744af1995a"
		  "ed4c4747c79d3395ed92ffdab4931403" },
		{ &c, WIRE_ACK, id, 16,
		  "00000038 11 00 0000 000102030405060708090a0b0c0d0e0f "
		  "11accb86a466bd723370cf2690b5f723834e550b60cb7562ecb80c36ca01c4f5" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(frames); i++) {
		size_t fl;
		uint8_t *want = unhex(frames[i].hex, &fl);
		GBytes *f = wire_frame_build(frames[i].from, frames[i].type,
					     frames[i].payload, frames[i].plen);
		gsize n;
		const uint8_t *p = g_bytes_get_data(f, &n);
		g_assert_cmpmem(p, n, want, fl);
		g_bytes_unref(f);
		g_free(want);
	}
	g_free(auth);
	g_free(session);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/wire/batch/round-trip-keeps-every-field",
			test_batch_round_trip_keeps_every_field);
	g_test_add_func("/wire/batch/late-without-health-empty-histograms",
			test_late_batch_without_health_and_empty_histograms);
	g_test_add_func("/wire/batch/no-rows-carries-health",
			test_batch_with_no_rows_carries_health);
	g_test_add_func("/wire/batch/encoder-refuses-what-cannot-be-encoded",
			test_encoder_refuses_what_cannot_be_encoded);
	g_test_add_func("/wire/batch/hand-built-matches-the-spec",
			test_hand_built_batch_matches_the_spec);
	g_test_add_func("/wire/batch/newer-sensors-extra-values-are-skipped",
			test_newer_sensors_extra_values_are_skipped);
	g_test_add_func("/wire/batch/older-sensors-missing-values-read-as-zero",
			test_older_sensors_missing_values_read_as_zero);
	g_test_add_func("/wire/batch/every-truncation-is-rejected",
			test_every_truncation_is_rejected);
	g_test_add_func("/wire/batch/hostile-counts-rejected-before-allocating",
			test_hostile_counts_are_rejected_before_allocating);
	g_test_add_func("/wire/batch/bad-values-are-rejected",
			test_bad_values_are_rejected);
	g_test_add_func("/wire/batch/mutated-batches-never-crash",
			test_mutated_batches_never_crash);
	g_test_add_func("/wire/handshake/between-two-ends",
			test_handshake_between_two_ends);
	g_test_add_func("/wire/handshake/wrong-key-fails-both-ways",
			test_wrong_key_fails_both_ways);
	g_test_add_func("/wire/handshake/every-flipped-bit-in-auth-fails",
			test_every_flipped_bit_in_auth_fails);
	g_test_add_func("/wire/handshake/hello-and-auth-reject-strangers",
			test_hello_and_auth_reject_strangers);
	g_test_add_func("/wire/handshake/key-derivation-matches-the-spec",
			test_key_derivation_matches_the_spec);
	g_test_add_func("/wire/handshake/test-vectors",
			test_vectors_of_the_spec);
	g_test_add_func("/wire/frame/every-flipped-bit-fails",
			test_every_flipped_bit_in_a_frame_fails);
	g_test_add_func("/wire/frame/replayed-reordered-reflected-fail",
			test_replayed_reordered_or_reflected_frames_fail);
	g_test_add_func("/wire/frame/length-checked-from-the-header-alone",
			test_frame_length_is_checked_from_the_header_alone);
	g_test_add_func("/wire/small-payloads-round-trip",
			test_small_payloads_round_trip);
	return g_test_run();
}
