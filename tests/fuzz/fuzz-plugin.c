/*
 * fuzz-plugin.c: one protocol plugin's parser on both directions of a
 * stream, driven by a fake host that checks the plugin contract.
 *
 * Built once per plugin (fuzz-plugin-http, -dns, -imap, -tcp): the
 * plugin's .c is linked in and its `artmon_plugin` descriptor driven
 * directly, as session.c would: state_new, data() per packet of either
 * direction, gap(), end(), then close() and state_free().  No capture,
 * no reassembly, no rules: every cycle goes to the plugin's parsing.
 *
 * Input:
 *
 *   byte 0   flow: bit 0 midstream, bit 1 UDP (if the plugin takes UDP),
 *            bit 2 handshake time known, bits 3-4 open-transaction cap
 *            (1, 4, 16, 256: past it txn_open returns the core's dummy)
 *   byte 1   server port: 0 the plugin's first default port, else n*257
 *   then records to the end, each starting with an op byte:
 *     bits 0-1  0 data C2S, 1 data S2C, 2 gap, 3 end
 *     bit 2     direction of a gap or end (0 C2S, 1 S2C)
 *     bits 3-7  time step before it, in quarter seconds
 *     data: u16 length (big-endian), then that many bytes (fewer at the
 *           end of the input): one packet's in-order bytes
 *     gap:  u32 bytes lost
 *
 * The contract (plugins/artmon-plugin.h) as checked here, aborting on a
 * breach:
 *   - host calls only from inside a callback, never from state_free();
 *   - a transaction handle is used only between its txn_open() and its
 *     txn_close(), and closed at most once (the dummy handle returned
 *     past the cap takes anything, as the core's does);
 *   - txn_request() only in a client-to-server data() call and
 *     txn_response() only in a server-to-client one (or in end() of that
 *     direction with 0 bytes); over the whole stream no more bytes are
 *     credited to requests (responses) than the client (server) sent;
 *   - txn_name() text readable for its length, txn_close() status a
 *     string, flags within ARTMON_TXN_*; count() events in range;
 *   - after stop(), no more bytes are delivered (as the core does).
 * Handles the plugin leaves open at close() are closed by the host, as
 * the core does.  Memory the plugin forgets is LeakSanitizer's to report.
 */
#include "config.h"

#include <glib.h>
#include <stdarg.h>
#include <string.h>

#include "artmon-plugin.h"
#include "fuzz.h"

extern const struct artmon_plugin artmon_plugin;
#define P (&artmon_plugin)

/* ---------------------------------------------------------------- fake host */

enum cb { CB_NONE, CB_STATE_NEW, CB_DATA, CB_GAP, CB_END, CB_CLOSE, CB_FREE };

static const char *const cb_names[] = {
	"no callback", "state_new", "data", "gap", "end", "close", "state_free"
};

struct artmon_txn {
	uint32_t magic;		/* TXN_MAGIC while open, TXN_CLOSED after */
	uint64_t req, resp;	/* bytes credited */
};

#define TXN_MAGIC 0x7478616eu
#define TXN_CLOSED 0x636c6f73u

/* One flow: the only one there is. */
static struct {
	struct artmon_flow_info info;
	enum cb cb;		/* callback running now */
	int dir;		/* its direction (data, gap, end) */
	bool stopped;
	GPtrArray *txns;	/* every handle given out, open or closed */
	unsigned open, cap;
	uint64_t sent[2];	/* bytes delivered per direction */
	uint64_t credited[2];	/* ... and credited by the plugin */
} fl;

static struct artmon_txn dummy;	/* past the cap: ignores every call */
static artmon_flow *const FLOW = (artmon_flow *)&fl;

static void in_callback(const char *fn)
{
	FUZZ_CHECK(fl.cb != CB_NONE && fl.cb != CB_FREE,
		   "%s called %s", fn, cb_names[fl.cb]);
}

static void check_flow(artmon_flow *f, const char *fn)
{
	FUZZ_CHECK(f == FLOW, "%s: not the plugin's flow", fn);
	in_callback(fn);
}

/* A live handle (or the dummy) for fn. */
static bool live(artmon_txn *t, const char *fn)
{
	in_callback(fn);
	if (t == &dummy)
		return false;
	FUZZ_CHECK(t != NULL, "%s(NULL)", fn);
	FUZZ_CHECK(t->magic != TXN_CLOSED, "%s on a closed transaction", fn);
	FUZZ_CHECK(t->magic == TXN_MAGIC, "%s on no transaction", fn);
	return true;
}

static artmon_txn *h_txn_open(artmon_flow *f, int64_t start_ns)
{
	check_flow(f, "txn_open");
	FUZZ_CHECK(start_ns >= 0, "txn_open start %lld", (long long)start_ns);
	if (fl.open >= fl.cap)
		return &dummy;
	struct artmon_txn *t = g_new0(struct artmon_txn, 1);
	t->magic = TXN_MAGIC;
	g_ptr_array_add(fl.txns, t);
	fl.open++;
	return t;
}

static void credit(artmon_txn *t, size_t n, int dir, const char *fn)
{
	if (!live(t, fn))
		return;
	FUZZ_CHECK(fl.cb == CB_DATA || (fl.cb == CB_END && n == 0),
		   "%s(%zu) in %s", fn, n, cb_names[fl.cb]);
	FUZZ_CHECK(fl.dir == dir, "%s in a data() call of the other "
		   "direction", fn);
	fl.credited[dir] += n;
	FUZZ_CHECK(fl.credited[dir] <= fl.sent[dir],
		   "%s: %llu bytes credited, %llu sent", fn,
		   (unsigned long long)fl.credited[dir],
		   (unsigned long long)fl.sent[dir]);
	if (dir == ARTMON_C2S)
		t->req += n;
	else
		t->resp += n;
}

static void h_txn_request(artmon_txn *t, size_t n)
{
	credit(t, n, ARTMON_C2S, "txn_request");
}

static void h_txn_response(artmon_txn *t, size_t n)
{
	credit(t, n, ARTMON_S2C, "txn_response");
}

static volatile uint8_t sink;	/* keeps the reads below */

static void h_txn_name(artmon_txn *t, const uint8_t *text, size_t len)
{
	if (!live(t, "txn_name"))
		return;
	FUZZ_CHECK(text || !len, "txn_name(NULL, %zu)", len);
	/* Every byte must be readable: ASan checks these reads. */
	uint8_t x = 0;
	for (size_t i = 0; i < len; i++)
		x ^= text[i];
	sink = x;
}

static void h_txn_name_default(artmon_txn *t, const char *name)
{
	if (!live(t, "txn_name_default"))
		return;
	if (name)
		sink = (uint8_t)strlen(name);
}

static void h_txn_retry(artmon_txn *t)
{
	live(t, "txn_retry");
}

static void close_txn(struct artmon_txn *t)
{
	t->magic = TXN_CLOSED;
	fl.open--;
}

static void h_txn_close(artmon_txn *t, const char *status, bool error,
			unsigned flags)
{
	if (!live(t, "txn_close"))
		return;
	FUZZ_CHECK(!(flags & ~(unsigned)(ARTMON_TXN_GAP | ARTMON_TXN_MIDSTREAM |
					 ARTMON_TXN_TIMEOUT)),
		   "txn_close flags 0x%x", flags);
	if (status)
		sink = (uint8_t)strlen(status);
	(void)error;
	close_txn(t);
}

static void h_count(artmon_flow *f, enum artmon_event ev)
{
	check_flow(f, "count");
	FUZZ_CHECK((unsigned)ev < ARTMON_EV_COUNT, "count(%u)", (unsigned)ev);
}

static void h_stop(artmon_flow *f)
{
	check_flow(f, "stop");
	fl.stopped = true;
}

static const struct artmon_flow_info *h_flow_info(artmon_flow *f)
{
	check_flow(f, "flow_info");
	return &fl.info;
}

static void h_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void h_warn(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
}

static const struct artmon_host host = {
	.api_version = ARTMON_PLUGIN_API_VERSION,
	.txn_open = h_txn_open,
	.txn_request = h_txn_request,
	.txn_response = h_txn_response,
	.txn_name = h_txn_name,
	.txn_name_default = h_txn_name_default,
	.txn_retry = h_txn_retry,
	.txn_close = h_txn_close,
	.count = h_count,
	.stop = h_stop,
	.flow_info = h_flow_info,
	.warn = h_warn,
};

/* ---------------------------------------------------------------- driver */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256] = "";

	(void)argc;
	(void)argv;
	if (P->init && P->init(&host, err, sizeof err) != 0) {
		fprintf(stderr, "plugin %s: init: %s\n", P->name, err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned caps[] = { 1, 4, 16, 256 };
	struct fuzz_in in = { data, size, 0 };
	bool ended[2] = { false, false };
	int64_t now = 1700000000 * (int64_t)1000000000;
	uint8_t b0 = fuzz_u8(&in), b1 = fuzz_u8(&in);

	memset(&fl, 0, sizeof fl);
	fl.txns = g_ptr_array_new_with_free_func(g_free);
	fl.cap = caps[(b0 >> 3) & 3];
	bool udp = (b0 & 2) ? (P->transports & ARTMON_UDP)
			    : !(P->transports & ARTMON_TCP);
	fl.info.transport = udp ? ARTMON_UDP : ARTMON_TCP;
	fl.info.client_port = 40000;
	fl.info.server_port = b1 ? (uint16_t)(b1 * 257)
				 : (P->default_ports && P->default_ports[0]
					    ? P->default_ports[0] : 1);
	fl.info.midstream = !udp && (b0 & 1);
	fl.info.handshake_done_ns = (b0 & 4) && !fl.info.midstream ? now : 0;

	fl.cb = CB_STATE_NEW;
	void *st = P->state_new(FLOW);
	fl.cb = CB_NONE;
	if (!st)
		goto done;

	bool probed = false;
	while (fuzz_left(&in) && !fl.stopped) {
		uint8_t op = fuzz_u8(&in);
		int kind = op & 3, dir = (op >> 2) & 1;
		now += (int64_t)(op >> 3) * 250000000;
		if (kind <= 1) {
			size_t want = fuzz_be16(&in), n;
			const uint8_t *p = fuzz_bytes(&in, want, &n);
			dir = kind;
			/* The core never delivers an empty segment, nor
			 * bytes after a direction ended; a UDP datagram
			 * may be empty. */
			if ((!n && !udp) || ended[dir])
				continue;
			/* A private copy of exactly n bytes: ASan sees any
			 * read past the packet. */
			uint8_t *pkt = g_memdup2(p, n);
			if (!probed && dir == ARTMON_C2S && P->probe) {
				probed = true;
				sink = P->probe(pkt, n);
			}
			fl.sent[dir] += n;
			fl.cb = CB_DATA;
			fl.dir = dir;
			P->data(st, (enum artmon_dir)dir, pkt, n, now);
			fl.cb = CB_NONE;
			g_free(pkt);
		} else if (kind == 2) {
			uint32_t lost = fuzz_be32(&in);
			/* Gaps and ends are TCP's, and not of an ended
			 * direction; a gap has at least one byte. */
			if (udp || ended[dir] || !lost)
				continue;
			fl.cb = CB_GAP;
			fl.dir = dir;
			P->gap(st, (enum artmon_dir)dir, lost);
			fl.cb = CB_NONE;
		} else {
			if (udp || ended[dir])
				continue;
			ended[dir] = true;
			fl.cb = CB_END;
			fl.dir = dir;
			P->end(st, (enum artmon_dir)dir);
			fl.cb = CB_NONE;
		}
	}

	fl.cb = CB_CLOSE;
	P->close(st);
	/* What the plugin left open, the core closes as unanswered. */
	for (unsigned i = 0; i < fl.txns->len; i++) {
		struct artmon_txn *t = fl.txns->pdata[i];
		if (t->magic == TXN_MAGIC)
			close_txn(t);
	}
	fl.cb = CB_FREE;
	P->state_free(st);
	fl.cb = CB_NONE;
done:
	if (fuzz_verbose())
		fprintf(stderr, "  %s: %u transactions, %llu/%llu bytes "
			"credited of %llu/%llu\n", P->name, fl.txns->len,
			(unsigned long long)fl.credited[0],
			(unsigned long long)fl.credited[1],
			(unsigned long long)fl.sent[0],
			(unsigned long long)fl.sent[1]);
	FUZZ_CHECK(fl.open == 0, "%u transactions open at the end", fl.open);
	g_ptr_array_free(fl.txns, TRUE);
	fl.txns = NULL;
	return 0;
}
