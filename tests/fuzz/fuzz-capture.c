/*
 * fuzz-capture.c: whole captures through the sensor: decoding, flow
 * tracking, TCP reassembly, every plugin, transactions and summaries.
 *
 * The input is a capture in a framing of our own rather than pcap, so the
 * fuzzer spends its effort on packets rather than on libpcap's file
 * header checks (libpcap's own testprogs/fuzz covers those), and so that
 * sequences of packets, not single packets, are what it explores: a
 * handshake, segments out of order, a gap, a FIN, an idle timeout.
 *
 *   byte 0   link type: index into dlts[] (Ethernet, SLL, SLL2, raw IP,
 *            IPv4, IPv6, BSD NULL, BSD LOOP)
 *   byte 1   limits: bits 0-1 flow cap (16, 64, 256, 4096), bit 2 a small
 *            reassembly budget, bit 3 JSON rather than CSV transactions,
 *            bits 4-5 open transactions per flow (2, 8, 64, 256)
 *   then records to the end:
 *     u16  time step: below 0x8000 microseconds, else (n & 0x3ff) s
 *          (up to 17 minutes: past every idle timeout, and a few
 *          intervals, which are 60 s here; a longer jump would only
 *          emit more empty intervals, each costing a round trip)
 *     u16  captured length
 *     u8   bytes the capture cut off (wire length = captured + this)
 *     the frame (fewer bytes at the end of the input)
 *
 * Every plugin the build tree has is loaded once (dlopen, as the sensor
 * does) with the rules of etc/artmon; each input gets a fresh sensor with
 * fresh name tables (capped low, so the fold is reached), a transaction
 * sink that formats every record, and a summarizer whose batches are
 * formatted and sent through the wire codec in shipper-sized parts: each
 * must encode and decode back to the same rows.  GLib criticals are fatal
 * here: an unencodable batch, for one, is a bug.
 */
#include "config.h"

#include <glib.h>
#include <pcap/dlt.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "plugins.h"
#include "sensor.h"
#include "summary.h"
#include "summary_output.h"
#include "txn_output.h"
#include "wire.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

static const int dlts[] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
	DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP,
};

#define MAX_NAMES 64		/* per plugin: low, so the cap is reached */
#define PART_ROWS 2000		/* the shipper's batch size */

static GPtrArray *loaded;	/* struct plugin_rt *, as loaded */
static FILE *devnull;
static unsigned n_txns, n_batches, n_rows;	/* this input's */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	GError *err = NULL;

	(void)argc;
	(void)argv;
	log_init("fuzz-capture", 0);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	struct plugin_load_opts o = {
		.plugin_dir = ARTMON_ABS_BUILDDIR "/plugins/.libs",
		.sigs_dir = ARTMON_ABS_SRCDIR "/etc/artmon",
		.max_names = MAX_NAMES,
	};
	loaded = plugins_load(&o, &err);
	if (!loaded) {
		fprintf(stderr, "fuzz-capture: %s\n", err->message);
		abort();
	}
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	return 0;
}

/* ---------------------------------------------------------------- sinks */

static void round_trip(const struct summary_batch *part)
{
	static const uint8_t id[WIRE_BATCH_ID_LEN] = { 1, 2, 3 };
	uint8_t back_id[WIRE_BATCH_ID_LEN];
	GError *err = NULL;
	gsize n;

	GBytes *enc = wire_batch_encode(part, id);
	FUZZ_CHECK(enc != NULL, "a batch of %u rows does not encode",
		   part->nrows);
	const uint8_t *p = g_bytes_get_data(enc, &n);
	struct summary_batch *b = wire_batch_decode(p, n, back_id, &err);
	FUZZ_CHECK(b != NULL, "an encoded batch does not decode: %s",
		   err ? err->message : "?");
	FUZZ_CHECK(b->nrows == part->nrows && !b->health == !part->health &&
		   memcmp(id, back_id, sizeof id) == 0,
		   "decoded %u rows of %u", b->nrows, part->nrows);
	for (unsigned i = 0; i < b->nrows; i++)
		FUZZ_CHECK(strcmp(b->rows[i]->signature,
				  part->rows[i]->signature) == 0 &&
			   b->rows[i]->counts[0] == part->rows[i]->counts[0],
			   "row %u changed on the wire", i);
	summary_batch_free(b);
	g_bytes_unref(enc);
}

static void on_batch(void *ctx, struct summary_batch *b)
{
	struct summary_printer *pr = ctx;
	GString *text = g_string_new(NULL);
	unsigned off = 0;

	summary_format(pr, b, text);
	g_string_free(text, TRUE);
	do {
		struct summary_batch part = *b;
		part.nrows = MIN(b->nrows - off, PART_ROWS);
		part.rows = b->rows + off;
		part.health = off ? NULL : b->health;
		round_trip(&part);
		off += part.nrows;
		n_rows += part.nrows;
	} while (off < b->nrows);
	n_batches++;
	summary_batch_free(b);
}

static void on_txn(void *ctx, const struct txn_record *r)
{
	FUZZ_CHECK(r->signature && r->status && r->plugin,
		   "a transaction without a name or status");
	FUZZ_CHECK(strlen(r->signature) <= RULE_NAME_MAX + 16,
		   "a name of %zu bytes", strlen(r->signature));
	n_txns++;
	txn_output_write(ctx, r);
}

/* ---------------------------------------------------------------- input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t flow_caps[] = { 16, 64, 256, 4096 };
	static const uint16_t txn_caps[] = { 2, 8, 64, 256 };
	struct fuzz_in in = { data, size, 0 };
	GError *err = NULL;

	n_txns = n_batches = n_rows = 0;
	uint8_t b0 = fuzz_u8(&in), b1 = fuzz_u8(&in);
	int dlt = dlts[b0 % G_N_ELEMENTS(dlts)];

	struct sensor_limits lim;
	sensor_limits_default(&lim);
	lim.max_flows = flow_caps[b1 & 3];
	if (b1 & 4) {
		lim.reasm_flow_bytes = 4096;
		lim.reasm_total_bytes = 16384;
	}
	lim.max_txns_per_flow = txn_caps[(b1 >> 4) & 3];
	lim.max_names = MAX_NAMES;

	/* Fresh run-time records over the loaded plugins: new name tables
	 * and counters, the same code, ports and rules. */
	GPtrArray *plugins = g_ptr_array_new();
	for (unsigned i = 0; i < loaded->len; i++) {
		const struct plugin_rt *t = loaded->pdata[i];
		struct plugin_rt *pr = g_memdup2(t, sizeof *t);
		pr->names = name_table_new(t->desc->name, t->desc->default_name,
					   MAX_NAMES);
		g_ptr_array_add(plugins, pr);
	}
	GPtrArray *mine = g_ptr_array_copy(plugins, NULL, NULL);
	struct sensor *s = sensor_new(&lim, plugins, &err);
	FUZZ_CHECK(s != NULL, "sensor_new: %s", err ? err->message : "?");

	struct txn_output out;
	txn_output_init(&out, devnull, (b1 & 8) ? TXN_FORMAT_JSON
						: TXN_FORMAT_CSV);
	sensor_add_sink(s, on_txn, &out);
	struct summary_printer printer;
	summary_printer_init(&printer, devnull, (b1 & 8) ? TXN_FORMAT_CSV
							 : TXN_FORMAT_JSON);
	struct summary_cfg cfg;
	summary_cfg_default(&cfg);
	cfg.interval_secs = 60;
	cfg.grace_ns = 1000000000;
	cfg.max_rows = 40;
	cfg.max_exact_clients = 8;
	struct summarizer *z = summarizer_new(&cfg, s, on_batch, &printer);

	int64_t ts = 1700000000 * (int64_t)1000000000;
	while (fuzz_left(&in)) {
		uint16_t step = fuzz_be16(&in);
		ts += step < 0x8000 ? (int64_t)step * 1000
				    : (int64_t)(step & 0x3ff) * 1000000000;
		size_t want = fuzz_be16(&in), n;
		uint8_t cut = fuzz_u8(&in);
		const uint8_t *p = fuzz_bytes(&in, want, &n);
		/* Exactly n bytes, so ASan sees a read past the frame. */
		uint8_t *frame = g_memdup2(p, n);
		sensor_frame(s, dlt, frame, (uint32_t)n, (uint32_t)n + cut, ts);
		g_free(frame);
	}

	sensor_flush(s);
	summarizer_flush(z);
	txn_output_flush(&out);
	if (fuzz_verbose())
		fprintf(stderr, "  %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT
			" flows, %u transactions, %u batches, %u rows\n",
			s->ctr.packets, s->flows.created, n_txns, n_batches,
			n_rows);
	sensor_free(s);
	summarizer_free(z);
	for (unsigned i = 0; i < mine->len; i++) {
		struct plugin_rt *pr = mine->pdata[i];
		name_table_free(pr->names);
		g_free(pr);
	}
	g_ptr_array_free(mine, TRUE);
	return 0;
}
