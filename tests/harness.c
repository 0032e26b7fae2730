/*
 * harness.c: runs the sensor library on a capture; see harness.h.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "harness.h"
#include "log.h"
#include "pcapgen.h"
#include "plugins.h"
#include "settings.h"

static char *tmpdir;

static void rm_tmpdir(void)
{
	if (!tmpdir)
		return;
	GDir *d = g_dir_open(tmpdir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(tmpdir, n, NULL);
		g_remove(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(tmpdir);
	g_free(tmpdir);
	tmpdir = NULL;
}

void harness_init(void)
{
	log_init("test", 0);
	atexit(rm_tmpdir);
}

const char *test_tmpdir(void)
{
	if (!tmpdir) {
		GError *err = NULL;
		tmpdir = g_dir_make_tmp("artmon-test-XXXXXX", &err);
		g_assert_no_error(err);
	}
	return tmpdir;
}

char *test_path(const char *name)
{
	return g_build_filename(test_tmpdir(), name, NULL);
}

static const char *env_or(const char *var, const char *def)
{
	const char *v = g_getenv(var);
	return v && *v ? v : def;
}

static void collect(void *ctx, const struct txn_record *rec)
{
	GArray *a = ctx;
	struct txn_copy c;

	memset(&c, 0, sizeof c);
	c.r = *rec;
	g_strlcpy(c.protocol, rec->plugin->desc->name, sizeof c.protocol);
	g_strlcpy(c.signature, rec->signature, sizeof c.signature);
	g_strlcpy(c.status, rec->status, sizeof c.status);
	ipaddr_port_str(&rec->client, rec->family, rec->client_port, c.client,
			sizeof c.client);
	ipaddr_port_str(&rec->server, rec->family, rec->server_port, c.server,
			sizeof c.server);
	c.r.signature = NULL;	/* fixed up below: the array may move */
	c.r.status = NULL;
	g_array_append_val(a, c);
}

struct run *run_capture(const char *pcap, const char *const *sets,
			const char *sigs_dir)
{
	struct run *r = g_new0(struct run, 1);
	GKeyFile *kf = g_key_file_new();
	GError *err = NULL;
	struct capture cap = { 0 };
	struct sensor *s = NULL;
	volatile sig_atomic_t stop = 0;
	struct settings full;
	char *filter = NULL;
	char *build = g_build_filename(
		env_or("ARTMON_BUILDDIR", ARTMON_ABS_BUILDDIR), "plugins",
		".libs", NULL);
	char *sigs = g_build_filename(env_or("ARTMON_SRCDIR", ARTMON_ABS_SRCDIR),
				      "etc", "artmon", NULL);

	r->txns = g_array_new(FALSE, TRUE, sizeof(struct txn_copy));
	for (const char *const *p = sets; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		g_assert_nonnull(eq);
		g_autofree char *lhs = g_strndup(*p, (gsize)(eq - *p));
		char *dot = strchr(lhs, '.');
		if (dot) {
			*dot = '\0';
			g_key_file_set_string(kf, lhs, dot + 1, eq + 1);
		} else {
			g_key_file_set_string(kf, "sensor", lhs, eq + 1);
		}
	}
	settings_default(&full);
	if (settings_parse(&full, kf, "test", &err) != 0)
		goto fail;
	struct plugin_load_opts po = {
		.plugin_dir = build,
		.sigs_dir = sigs_dir ? sigs_dir : sigs,
		.only = full.plugins,
		.conf = kf,
		.max_names = full.lim.max_names,
	};
	GPtrArray *plugins = plugins_load(&po, &err);
	if (!plugins)
		goto fail;
	s = sensor_new(&full.lim, plugins, &err);
	if (!s)
		goto fail;
	sensor_add_sink(s, collect, r->txns);
	if (capture_open_file(&cap, pcap, &err) != 0)
		goto fail;
	/* As artmon-sensor does: no filter key means the plugins' ports. */
	filter = full.filter ? g_strdup(full.filter)
			     : capture_default_filter(&cap, s->plugins);
	if (capture_set_filter(&cap, filter, &err) != 0)
		goto fail;
	while (capture_run(&cap, s, &stop, &err) > 0)
		;
	if (err)
		goto fail;
	sensor_flush(s);

	r->ctr = s->ctr;
	r->flows_created = s->flows.created;
	r->flows_evicted = s->flows.evicted;
	r->flows_expired = s->flows.expired;
	r->flows_peak = s->flows.peak;
	r->gaps = s->reasm.gaps;
	r->gap_bytes = s->reasm.gap_bytes;
	r->retrans_segs = s->reasm.retrans_segs;
	r->ooo_segs = s->reasm.ooo_segs;
	r->overflow = s->reasm.overflow;
	for (unsigned i = 0; i < s->plugins->len; i++) {
		struct plugin_rt *pr = g_ptr_array_index(s->plugins, i);
		for (int e = 0; e < ARTMON_EV_COUNT; e++)
			r->plugin_events[e] += pr->events[e];
		r->plugin_dropped += pr->dropped;
	}
	goto done;
fail:
	r->error = g_strdup(err ? err->message : "unknown error");
done:
	for (guint i = 0; i < r->txns->len; i++) {
		struct txn_copy *c = &g_array_index(r->txns, struct txn_copy, i);
		c->r.signature = c->signature;
		c->r.status = c->status;
		c->r.plugin = NULL;	/* freed with the sensor */
	}
	g_clear_error(&err);
	sensor_free(s);
	capture_close(&cap);
	settings_clear(&full);
	g_key_file_free(kf);
	g_free(build);
	g_free(sigs);
	g_free(filter);
	return r;
}

void run_free(struct run *r)
{
	if (!r)
		return;
	g_array_free(r->txns, TRUE);
	g_free(r->error);
	g_free(r);
}

/* ----------------------------------------------------------------------
 * Mutation tests
 */

GString *harness_random_stream(GRand *rng, const char *const *parts,
			       int nparts, int n, int mut,
			       const char *midline)
{
	GString *s = g_string_new(NULL);

	for (int i = 0; i < n; i++) {
		const char *p = parts[g_rand_int_range(rng, 0, nparts)];
		if (g_rand_int_range(rng, 0, 20) == 0)
			p = midline;
		for (; *p; p++) {
			int what = g_rand_int_range(rng, 0, mut);
			if (what == 0)
				g_string_append_c(s, (char)g_rand_int(rng));
			else if (what == 1)
				g_string_append_c(s, '\n');
			else if (what != 2)	/* 2: drop the byte */
				g_string_append_c(s, *p);
		}
	}
	return s;
}

void harness_random_conversation(const char *path, GRand *rng,
				 uint16_t port, GString *const st[2],
				 bool handshake, int64_t t0)
{
	struct pcapgen *pg = pg_open(path, DLT_EN10MB);
	struct pg_conv c;
	size_t at[2] = { 0, 0 };
	int64_t t = t0 + PG_MS(1);

	pg_conv_init(&c, pg, "10.0.0.1", 40000, "10.0.0.2", port, 1, 1);
	if (handshake)
		pg_handshake(&c, t0, PG_US(20), PG_US(30));
	while (at[0] < st[0]->len || at[1] < st[1]->len) {
		int d = g_rand_int_range(rng, 0, 2);
		if (at[d] >= st[d]->len)
			d = !d;
		size_t n = (size_t)g_rand_int_range(rng, 1, 300);
		if (n > st[d]->len - at[d])
			n = st[d]->len - at[d];
		if (g_rand_int_range(rng, 0, 60) == 0)
			pg_skip(&c, d, (uint32_t)n);	/* lost */
		else
			pg_send(&c, d, st[d]->str + at[d], n, t);
		at[d] += n;
		t += PG_US(g_rand_int_range(rng, 1, 500));
	}
	pg_ack(&c, PG_C2S, t);
	pg_ack(&c, PG_S2C, t + PG_US(1));
	if (g_rand_boolean(rng))
		pg_fin(&c, PG_S2C, t + PG_US(2));
	pg_close(pg);
}
