/*
 * txn_output.c: the raw mode, one line per finished transaction.
 *
 * Columns (CSV, in this order; docs/metrics.md defines each):
 *   start,protocol,signature,client,server,status,request_bytes,
 *   response_bytes,request_us,ttfb_us,ttlb_us,handshake_rtt_us,
 *   client_ack_us,server_packets,retransmissions,flags
 * JSON lines carry the same keys plus a few extra measurements.
 *
 * Numbers are exact: durations are integer microseconds unless the capture
 * has nanosecond timestamps and the value has a sub-microsecond part, which
 * is then printed (123.456).  An empty field means "not measured".
 * Names come from packets (URIs), so CSV fields are quoted when they need
 * it and JSON strings escaped; a name never breaks a line.
 */
#include "config.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#include "output.h"
#include "sensor.h"
#include "txn_output.h"

const char txn_csv_header[] =
	"start,protocol,signature,client,server,status,request_bytes,"
	"response_bytes,request_us,ttfb_us,ttlb_us,handshake_rtt_us,"
	"client_ack_us,server_packets,retransmissions,flags";

enum txn_format txn_format_parse(const char *s)
{
	if (s && strcmp(s, "csv") == 0)
		return TXN_FORMAT_CSV;
	if (s && strcmp(s, "json") == 0)
		return TXN_FORMAT_JSON;
	return TXN_FORMAT_NONE;
}

void txn_output_init(struct txn_output *o, FILE *out, enum txn_format f)
{
	memset(o, 0, sizeof *o);
	o->out = out;
	o->format = f;
}

void txn_output_flush(struct txn_output *o)
{
	if (!o->pending)
		return;
	if (o->thread && o->pending->len)
		output_push_text(o->thread, o->out, o->pending);
	else
		g_string_free(o->pending, TRUE);
	o->pending = NULL;
}

void fmt_us(GString *buf, int64_t ns)
{
	if (ns < 0)
		return;
	if (ns % 1000 == 0)
		g_string_append_printf(buf, "%" PRId64, ns / 1000);
	else
		g_string_append_printf(buf, "%" PRId64 ".%03" PRId64,
				       ns / 1000, ns % 1000);
}

void fmt_epoch(GString *buf, int64_t ns)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	if (frac % 1000 == 0)
		g_string_append_printf(buf, "%" PRId64 ".%06" PRId64, sec,
				       frac / 1000);
	else
		g_string_append_printf(buf, "%" PRId64 ".%09" PRId64, sec, frac);
}

void csv_field(GString *buf, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		g_string_append(buf, s);
		return;
	}
	g_string_append_c(buf, '"');
	for (; *s; s++) {
		if (*s == '"')
			g_string_append_c(buf, '"');
		g_string_append_c(buf, *s);
	}
	g_string_append_c(buf, '"');
}

void json_string(GString *buf, const char *s)
{
	g_string_append_c(buf, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_printf(buf, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			g_string_append_printf(buf, "\\u%04x", *p);
		else
			g_string_append_c(buf, (char)*p);
	}
	g_string_append_c(buf, '"');
}

static void flags_str(GString *buf, unsigned flags)
{
	static const struct {
		unsigned bit;
		const char *word;
	} words[] = {
		{ ARTMON_TXN_GAP, "gap" },
		{ ARTMON_TXN_MIDSTREAM, "midstream" },
		{ ARTMON_TXN_TIMEOUT, "timeout" },
	};
	bool first = true;

	for (size_t i = 0; i < G_N_ELEMENTS(words); i++) {
		if (!(flags & words[i].bit))
			continue;
		if (!first)
			g_string_append_c(buf, '+');
		g_string_append(buf, words[i].word);
		first = false;
	}
}

static void write_csv(struct txn_output *o, const struct txn_record *r,
		      GString *b)
{
	char cli[64], srv[64];

	if (!o->header_done) {
		g_string_append_printf(b, "%s\n", txn_csv_header);
		o->header_done = true;
	}
	fmt_epoch(b, r->start_ns);
	g_string_append_c(b, ',');
	g_string_append(b, r->plugin->desc->name);
	g_string_append_c(b, ',');
	csv_field(b, r->signature);
	g_string_append_printf(b, ",%s,%s,",
			       ipaddr_port_str(&r->client, r->family,
					       r->client_port, cli, sizeof cli),
			       ipaddr_port_str(&r->server, r->family,
					       r->server_port, srv, sizeof srv));
	csv_field(b, r->status);
	g_string_append_printf(b, ",%" PRIu64 ",%" PRIu64 ",", r->request_bytes,
			       r->response_bytes);
	fmt_us(b, r->request_ns);
	g_string_append_c(b, ',');
	fmt_us(b, r->ttfb_ns);
	g_string_append_c(b, ',');
	fmt_us(b, r->ttlb_ns);
	g_string_append_c(b, ',');
	fmt_us(b, r->handshake_rtt_ns);
	g_string_append_c(b, ',');
	fmt_us(b, r->client_ack_ns);
	g_string_append_printf(b, ",%" PRIu32 ",%" PRIu32 ",", r->server_packets,
			       r->retransmissions);
	flags_str(b, r->flags);
}

static void json_us(GString *b, const char *key, int64_t ns)
{
	g_string_append_printf(b, ",\"%s\":", key);
	if (ns < 0)
		g_string_append(b, "null");
	else
		fmt_us(b, ns);
}

static void write_json(const struct txn_record *r, GString *b)
{
	char cli[64], srv[64];

	g_string_append(b, "{\"start\":");
	fmt_epoch(b, r->start_ns);
	g_string_append(b, ",\"protocol\":");
	json_string(b, r->plugin->desc->name);
	g_string_append_printf(b, ",\"transport\":\"%s\"",
			       r->transport == ARTMON_UDP ? "udp" : "tcp");
	g_string_append(b, ",\"signature\":");
	json_string(b, r->signature);
	g_string_append(b, ",\"client\":");
	json_string(b, ipaddr_port_str(&r->client, r->family, r->client_port,
				       cli, sizeof cli));
	g_string_append(b, ",\"server\":");
	json_string(b, ipaddr_port_str(&r->server, r->family, r->server_port,
				       srv, sizeof srv));
	g_string_append(b, ",\"status\":");
	json_string(b, r->status);
	g_string_append_printf(b, ",\"error\":%s", r->error ? "true" : "false");
	g_string_append_printf(b, ",\"request_bytes\":%" PRIu64
			       ",\"response_bytes\":%" PRIu64,
			       r->request_bytes, r->response_bytes);
	json_us(b, "request_us", r->request_ns);
	json_us(b, "ttfb_us", r->ttfb_ns);
	json_us(b, "ttlb_us", r->ttlb_ns);
	json_us(b, "handshake_rtt_us", r->handshake_rtt_ns);
	json_us(b, "client_ack_us", r->client_ack_ns);
	g_string_append_printf(b,
			       ",\"request_packets\":%" PRIu32
			       ",\"server_packets\":%" PRIu32
			       ",\"retransmissions\":%" PRIu32
			       ",\"server_pkt_min\":%" PRIu32
			       ",\"server_pkt_max\":%" PRIu32
			       ",\"server_mss\":%" PRIu32,
			       r->request_packets, r->server_packets,
			       r->retransmissions, r->server_pkt_min,
			       r->server_pkt_max, r->server_mss);
	if (r->server_window_min < 0)
		g_string_append(b, ",\"server_window_min\":null");
	else
		g_string_append_printf(b, ",\"server_window_min\":%" PRId64,
				       r->server_window_min);
	g_string_append_printf(b, ",\"retries\":%" PRIu32 ",\"flags\":\"",
			       r->retries);
	flags_str(b, r->flags);
	g_string_append(b, "\"}");
}

void txn_output_write(void *ctx, const struct txn_record *r)
{
	struct txn_output *o = ctx;

	/* Lines collect in a buffer handed to the output thread in 64 KiB
	 * pieces: the packet thread never writes to a pipe itself. */
	if (!o->pending)
		o->pending = g_string_sized_new(1 << 16);
	GString *b = o->pending;
	if (o->format == TXN_FORMAT_CSV)
		write_csv(o, r, b);
	else if (o->format == TXN_FORMAT_JSON)
		write_json(r, b);
	g_string_append_c(b, '\n');
	if (!o->thread) {
		fwrite(b->str, 1, b->len, o->out);
		g_string_truncate(b, 0);
	} else if (b->len >= (1 << 16) - 512) {
		txn_output_flush(o);
	}
}
