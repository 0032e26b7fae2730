/*
 * test-flow.c: sensor/flow.c's table on its own: every flow is found
 * again while the buckets double under it, removals leave the rest
 * findable, the buckets stop at the cap's size, and the cap evicts the
 * least recently active flow.  The corpus tests cover the table through
 * whole captures; these cover the sizes a capture rarely reaches.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "flow.h"

static void key_of(struct flow_key *k, uint32_t n)
{
	memset(k, 0, sizeof *k);
	k->family = 4;
	k->proto = 17;
	k->addr[0].a[0] = 10;
	memcpy(&k->addr[0].a[1], &n, 3);	/* 2^24 distinct clients */
	k->addr[1].a[0] = 192;
	k->port[0] = (uint16_t)(1024 + n % 50000);
	k->port[1] = 53;
}

static struct flow *find(struct flow_table *ft, uint32_t n)
{
	struct flow_key k;
	key_of(&k, n);
	return flow_find(ft, &k, flow_hash(ft, &k));
}

static struct flow *insert(struct flow_table *ft, uint32_t n, int64_t now)
{
	struct flow_key k;
	key_of(&k, n);
	return flow_insert(ft, &k, flow_hash(ft, &k), FLOW_UDP, now);
}

static unsigned released;

static void on_release(void *ctx, struct flow *f, enum flow_end why)
{
	(void)ctx;
	(void)f;
	(void)why;
	released++;
}

static void test_flows_survive_the_buckets_doubling(void)
{
	const int64_t t[FLOW_NCLASS] = { 1, 1, 1, G_GINT64_CONSTANT(30000000000) };
	struct flow_table ft;
	const uint32_t n = 100000;

	flow_table_init(&ft, 1000000, t, on_release, NULL);
	g_assert_cmpuint(ft.mask + 1, <, n);	/* it starts small */
	for (uint32_t i = 0; i < n; i++) {
		struct flow *f = insert(&ft, i, i);
		g_assert_nonnull(f);
		f->ntxns = (uint16_t)i;
	}
	g_assert_cmpuint(ft.count, ==, n);
	g_assert_cmpuint(ft.mask + 1, >=, n);	/* and grew with the flows */
	g_assert_cmpuint(ft.mask + 1, <, 2 * 131072);
	for (uint32_t i = 0; i < n; i++) {
		struct flow *f = find(&ft, i);
		g_assert_nonnull(f);
		g_assert_cmpuint(f->ntxns, ==, (uint16_t)i);
	}
	for (uint32_t i = 0; i < n; i += 2)
		flow_remove(&ft, find(&ft, i), FLOW_END_IDLE);
	g_assert_cmpuint(ft.count, ==, n / 2);
	for (uint32_t i = 0; i < n; i++)
		g_assert_true((find(&ft, i) != NULL) == (i % 2 == 1));
	g_assert_null(find(&ft, n + 1));
	flow_table_destroy(&ft);
}

static void test_the_cap_bounds_buckets_and_evicts_the_oldest(void)
{
	const int64_t t[FLOW_NCLASS] = { 1, 1, 1, G_GINT64_CONSTANT(30000000000) };
	struct flow_table ft;

	released = 0;
	flow_table_init(&ft, 3000, t, on_release, NULL);
	for (uint32_t i = 0; i < 10000; i++)
		g_assert_nonnull(insert(&ft, i, i));
	g_assert_cmpuint(ft.count, ==, 3000);
	g_assert_cmpuint(ft.mask + 1, ==, 4096);	/* pow2 >= cap, no more */
	g_assert_cmpuint(ft.evicted, ==, 7000);
	g_assert_cmpuint(released, ==, 7000);
	for (uint32_t i = 0; i < 10000; i++)
		g_assert_true((find(&ft, i) != NULL) == (i >= 7000));
	flow_table_destroy(&ft);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/flow/flows_survive_the_buckets_doubling",
			test_flows_survive_the_buckets_doubling);
	g_test_add_func("/flow/the_cap_bounds_buckets_and_evicts_the_oldest",
			test_the_cap_bounds_buckets_and_evicts_the_oldest);
	return g_test_run();
}
