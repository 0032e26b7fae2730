/*
 * capture.c: libpcap, live or from a file, and the default BPF filter.
 *
 * Place in the data flow: [capture] -> decode -> flow -> ...  Files are
 * opened with nanosecond timestamp precision (libpcap scales microsecond
 * files), so one code path serves both and no precision is lost.  Live
 * capture asks for nanoseconds too and falls back to microseconds.
 *
 * The default filter keeps only what some plugin wants: per transport, the
 * plugins' server ports, and the same again behind one or two VLAN tags
 * ("expr or (vlan and (expr or (vlan and expr)))"; on Ethernet only,
 * where the vlan keyword applies), so the kernel drops everything else
 * before it is copied to us.
 */
#include "config.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "log.h"

void capture_opts_default(struct capture_opts *o)
{
	o->snaplen = 65535;
	o->buffer_kib = 32768;
	o->promisc = true;
	o->immediate = true;
}

static int check_dlt(struct capture *c, GError **err)
{
	c->dlt = pcap_datalink(c->pcap);
	if (!decode_supports_dlt(c->dlt)) {
		const char *n = pcap_datalink_val_to_name(c->dlt);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: link type %s (%d) is not supported (Ethernet, "
			    "Linux cooked SLL/SLL2, raw IP and BSD loopback are)",
			    c->source, n ? n : "?", c->dlt);
		return -1;
	}
	return 0;
}

int capture_open_file(struct capture *c, const char *path, GError **err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";

	memset(c, 0, sizeof *c);
	c->source = g_strdup(path);
	c->pcap = pcap_open_offline_with_tstamp_precision(
		path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!c->pcap) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", path,
			    ebuf);
		return -1;
	}
	return check_dlt(c, err);
}

int capture_open_live(struct capture *c, const char *iface,
		      const struct capture_opts *o, GError **err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	int rc;

	memset(c, 0, sizeof *c);
	c->source = g_strdup(iface);
	c->live = true;
	c->pcap = pcap_create(iface, ebuf);
	if (!c->pcap) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", iface,
			    ebuf);
		return -1;
	}
	pcap_set_snaplen(c->pcap, o->snaplen);
	pcap_set_promisc(c->pcap, o->promisc);
	pcap_set_buffer_size(c->pcap, o->buffer_kib * 1024);
	pcap_set_immediate_mode(c->pcap, o->immediate);
	/* The read timeout bounds how long a quiet link keeps us from
	 * periodic work (signals, interval closing). */
	pcap_set_timeout(c->pcap, 1000);
	if (pcap_set_tstamp_precision(c->pcap, PCAP_TSTAMP_PRECISION_NANO) != 0)
		log_debug("%s: nanosecond timestamps not supported", iface);
	rc = pcap_activate(c->pcap);
	if (rc < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s%s", iface,
			    pcap_statustostr(rc),
			    rc == PCAP_ERROR_PERM_DENIED
				    ? " (run as root, or give the binary "
				      "CAP_NET_RAW: see docs/security.md)"
				    : "");
		if (*pcap_geterr(c->pcap))
			g_prefix_error(err, "%s: ", pcap_geterr(c->pcap));
		return -1;
	}
	if (rc > 0)
		log_warnx("%s: %s", iface, pcap_statustostr(rc));
	/* libpcap's read timeout does not wake a reader on an idle link
	 * (TPACKET_V3 retires blocks only when they hold packets), so we
	 * poll the descriptor ourselves with our own timeout. */
	c->fd = pcap_get_selectable_fd(c->pcap);
	if (c->fd < 0 || pcap_setnonblock(c->pcap, 1, ebuf) != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s: cannot poll the capture: %s", iface, ebuf);
		return -1;
	}
	return check_dlt(c, err);
}

void capture_close(struct capture *c)
{
	if (c->pcap)
		pcap_close(c->pcap);
	g_free(c->source);
	memset(c, 0, sizeof *c);
}

static void append_ports(GString *e, const char *proto, GPtrArray *plugins,
			 unsigned transport)
{
	GString *ports = g_string_new(NULL);
	bool seen[65536] = { false };

	for (unsigned i = 0; i < plugins->len; i++) {
		const struct plugin_rt *pr = g_ptr_array_index(plugins, i);
		if (!(pr->transports & transport))
			continue;
		for (const uint16_t *p = pr->ports; p && *p; p++) {
			if (seen[*p])
				continue;
			seen[*p] = true;
			g_string_append_printf(ports, "%sport %u",
					       ports->len ? " or " : "", *p);
		}
	}
	if (ports->len)
		g_string_append_printf(e, "%s(%s and (%s))", e->len ? " or " : "",
				       proto, ports->str);
	g_string_free(ports, TRUE);
}

char *capture_default_filter(const struct capture *c, GPtrArray *plugins)
{
	GString *e = g_string_new(NULL);

	append_ports(e, "tcp", plugins, ARTMON_TCP);
	append_ports(e, "udp", plugins, ARTMON_UDP);
	if (e->len == 0) {
		g_string_free(e, TRUE);
		return g_strdup("");
	}
	if (c->dlt == DLT_EN10MB) {
		/* 802.1ad Q-in-Q has two tags (decode.c reads both).  Each
		 * "vlan" moves libpcap's offsets past one tag for the REST
		 * of the expression, later "or" branches included, so the
		 * second level must nest inside the first: a separate
		 * "or (vlan and vlan and ...)" would look 3 tags deep. */
		char *plain = g_strdup(e->str);
		g_string_printf(e, "%s or (vlan and (%s or (vlan and (%s))))",
				plain, plain, plain);
		g_free(plain);
	}
	return g_string_free(e, FALSE);
}

int capture_set_filter(struct capture *c, const char *expr, GError **err)
{
	struct bpf_program prog;

	if (!expr || !*expr)
		return 0;
	if (pcap_compile(c->pcap, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "filter '%s': %s", expr, pcap_geterr(c->pcap));
		return -1;
	}
	int rc = pcap_setfilter(c->pcap, &prog);
	pcap_freecode(&prog);
	if (rc != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s: cannot set filter: %s", c->source,
			    pcap_geterr(c->pcap));
		return -1;
	}
	return 0;
}

struct run_ctx {
	struct sensor *s;
	int dlt;
	int64_t frac_ns;	/* ns per unit of tv_usec: 1 or 1000 */
	struct capture *c;
	volatile sig_atomic_t *stop;
};

/*
 * --replay-speed: wait until the packet is due, as if the file were a
 * link played at speed times real time.  The first packet sets the
 * origin; a packet earlier than the one before is not held back.  A
 * signal (stop) cuts the sleep short.
 */
static void pace(struct capture *c, int64_t ts,
		 const volatile sig_atomic_t *stop)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t clock = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	if (!c->pace_clock0) {
		c->pace_clock0 = clock;
		c->pace_ts0 = ts;
		return;
	}
	if (ts <= c->pace_ts0)
		return;
	int64_t due = c->pace_clock0 +
		      (int64_t)((double)(ts - c->pace_ts0) / c->replay_speed);
	struct timespec t = { .tv_sec = due / 1000000000,
			      .tv_nsec = due % 1000000000 };
	while (!*stop && due > clock &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h,
		      const u_char *bytes)
{
	const struct run_ctx *rc = (const struct run_ctx *)user;
	/* With nanosecond precision tv_usec holds nanoseconds. */
	int64_t ts = (int64_t)h->ts.tv_sec * 1000000000 +
		     (int64_t)h->ts.tv_usec * rc->frac_ns;

	if (rc->c->replay_speed > 0)
		pace(rc->c, ts, rc->stop);
	sensor_frame(rc->s, rc->dlt, bytes, h->caplen, h->len, ts);
}

int capture_run(struct capture *c, struct sensor *s,
		volatile sig_atomic_t *stop, GError **err)
{
	struct run_ctx rc = {
		s, c->dlt,
		pcap_get_tstamp_precision(c->pcap) == PCAP_TSTAMP_PRECISION_NANO
			? 1 : 1000,
		c, stop
	};

	for (;;) {
		if (*stop)
			return 1;
		/* A batch at a time: between batches we look at *stop.
		 * Live, we wait at most a second for packets, so the caller
		 * gets control back on a quiet link. */
		if (c->live) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
			int pr = poll(&pfd, 1, 1000);
			if (pr < 0 && errno != EINTR) {
				g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
					    "%s: poll: %s", c->source,
					    g_strerror(errno));
				return -1;
			}
			if (pr <= 0)
				return 1;
		}
		int n = pcap_dispatch(c->pcap, c->live ? -1 : 4096, on_packet,
				      (u_char *)&rc);
		if (n == PCAP_ERROR) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s",
				    c->source, pcap_geterr(c->pcap));
			return -1;
		}
		if (n == PCAP_ERROR_BREAK)
			return 1;
		if (!c->live && n == 0)
			return 0;
		if (c->live)
			return 1;
	}
}

void capture_update_stats(struct capture *c, struct sensor *s)
{
	struct pcap_stat st;

	if (!c->live || pcap_stats(c->pcap, &st) != 0)
		return;
	/* The counters are 32-bit and wrap; unsigned differences survive
	 * one wrap between looks. */
	s->ctr.kernel_drops += (unsigned)(st.ps_drop - c->last_drop);
	s->ctr.iface_drops += (unsigned)(st.ps_ifdrop - c->last_ifdrop);
	c->last_drop = st.ps_drop;
	c->last_ifdrop = st.ps_ifdrop;
}
