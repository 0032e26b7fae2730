/*
 * pcapgen.c: writes test captures; see pcapgen.h.
 *
 * Headers are assembled byte by byte in network order with IPv4 header
 * checksums filled in (the sensor ignores them, but other tools reading a
 * failing test's capture should not be confused).  TCP/UDP checksums are
 * left zero, like the offloaded captures the sensor must accept.
 */
#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <pcap/pcap.h>
#include <string.h>

#include "pcapgen.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

struct pcapgen {
	pcap_t *dead;
	pcap_dumper_t *dump;
	int dlt;
	int nvlan;
	uint16_t tpid[2], vid[2];
	uint32_t snaplen;
};

struct pcapgen *pg_open(const char *path, int dlt)
{
	struct pcapgen *pg = g_new0(struct pcapgen, 1);

	pg->dlt = dlt;
	pg->dead = pcap_open_dead_with_tstamp_precision(
		dlt, 262144, PCAP_TSTAMP_PRECISION_NANO);
	pg->dump = pcap_dump_open(pg->dead, path);
	g_assert_nonnull(pg->dump);
	return pg;
}

void pg_close(struct pcapgen *pg)
{
	pcap_dump_close(pg->dump);
	pcap_close(pg->dead);
	g_free(pg);
}

void pg_set_vlans(struct pcapgen *pg, int n, const uint16_t *tpids,
		  const uint16_t *vids)
{
	g_assert_cmpint(n, <=, 2);
	pg->nvlan = n;
	for (int i = 0; i < n; i++) {
		pg->tpid[i] = tpids[i];
		pg->vid[i] = vids[i];
	}
}

void pg_set_snaplen(struct pcapgen *pg, uint32_t snaplen)
{
	pg->snaplen = snaplen;
}

void pg_frame(struct pcapgen *pg, const uint8_t *frame, uint32_t len,
	      int64_t t_ns)
{
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(t_ns / 1000000000);
	h.ts.tv_usec = (suseconds_t)(t_ns % 1000000000);	/* ns file */
	h.len = len;
	h.caplen = pg->snaplen && len > pg->snaplen ? pg->snaplen : len;
	pcap_dump((u_char *)pg->dump, &h, frame);
}

void pg_endpoint(struct pg_endpoint *e, const char *addr, uint16_t port)
{
	memset(e, 0, sizeof *e);
	e->port = port;
	if (inet_pton(AF_INET, addr, e->addr) == 1)
		e->family = 4;
	else if (inet_pton(AF_INET6, addr, e->addr) == 1)
		e->family = 6;
	else
		g_error("pg_endpoint: bad address %s", addr);
}

static void put16(GByteArray *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	g_byte_array_append(b, x, 2);
}

static void put32(GByteArray *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 8), (uint8_t)v };
	g_byte_array_append(b, x, 4);
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Frame an IP packet for the capture's link type and write it. */
static void write_ip(struct pcapgen *pg, int family, const uint8_t *ip,
		     size_t len, int64_t t)
{
	GByteArray *f = g_byte_array_new();
	uint16_t ethertype = family == 6 ? 0x86dd : 0x0800;
	static const uint8_t zero[20];

	switch (pg->dlt) {
	case DLT_EN10MB:
		g_byte_array_append(f, (const uint8_t *)"\x02\0\0\0\0\x02"
				    "\x02\0\0\0\0\x01", 12);
		for (int i = 0; i < pg->nvlan; i++) {
			put16(f, pg->tpid[i]);
			put16(f, pg->vid[i]);
		}
		put16(f, ethertype);
		break;
	case DLT_LINUX_SLL:
		put16(f, 0);	/* packet type: to us */
		put16(f, 1);	/* ARPHRD_ETHER */
		put16(f, 6);
		g_byte_array_append(f, zero, 8);
		put16(f, ethertype);
		break;
	case DLT_LINUX_SLL2:
		put16(f, ethertype);
		put16(f, 0);
		put32(f, 1);	/* ifindex */
		put16(f, 1);
		g_byte_array_append(f, zero, 2);	/* pkttype, halen */
		g_byte_array_append(f, zero, 8);
		break;
	case DLT_NULL: {
		uint32_t af = family == 6 ? 24 : 2;	/* host order */
		g_byte_array_append(f, (const uint8_t *)&af, 4);
		break;
	}
	case DLT_RAW:
		break;
	default:
		g_error("pcapgen: link type %d not supported", pg->dlt);
	}
	g_byte_array_append(f, ip, (guint)len);
	pg_frame(pg, f->data, f->len, t);
	g_byte_array_free(f, TRUE);
}

static void write_l4(struct pcapgen *pg, const struct pg_endpoint *src,
		     const struct pg_endpoint *dst, uint8_t proto,
		     const uint8_t *l4, size_t len, int64_t t)
{
	GByteArray *ip = g_byte_array_new();

	if (src->family == 4) {
		g_byte_array_append(ip, (const uint8_t *)"\x45\x00", 2);
		put16(ip, (uint16_t)(20 + len));
		put16(ip, 0x1234);	/* id */
		put16(ip, 0x4000);	/* DF */
		uint8_t ttl_proto[2] = { 64, proto };
		g_byte_array_append(ip, ttl_proto, 2);
		put16(ip, 0);
		g_byte_array_append(ip, src->addr, 4);
		g_byte_array_append(ip, dst->addr, 4);
		uint16_t ck = ip_checksum(ip->data, 20);
		ip->data[10] = (uint8_t)(ck >> 8);
		ip->data[11] = (uint8_t)ck;
	} else {
		put32(ip, 0x60000000);
		put16(ip, (uint16_t)len);
		uint8_t nh_hops[2] = { proto, 64 };
		g_byte_array_append(ip, nh_hops, 2);
		g_byte_array_append(ip, src->addr, 16);
		g_byte_array_append(ip, dst->addr, 16);
	}
	g_byte_array_append(ip, l4, (guint)len);
	write_ip(pg, src->family, ip->data, ip->len, t);
	g_byte_array_free(ip, TRUE);
}

void pg_tcp(struct pcapgen *pg, const struct pg_endpoint *src,
	    const struct pg_endpoint *dst, uint32_t seq, uint32_t ack,
	    uint8_t flags, uint16_t window, const uint8_t *opts,
	    size_t optlen, const void *payload, size_t len, int64_t t_ns)
{
	GByteArray *b = g_byte_array_new();
	size_t padded = (optlen + 3) & ~(size_t)3;

	put16(b, src->port);
	put16(b, dst->port);
	put32(b, seq);
	put32(b, ack);
	uint8_t off_flags[2] = { (uint8_t)(((20 + padded) / 4) << 4), flags };
	g_byte_array_append(b, off_flags, 2);
	put16(b, window);
	put32(b, 0);		/* checksum, urgent */
	if (optlen)
		g_byte_array_append(b, opts, (guint)optlen);
	for (size_t i = optlen; i < padded; i++)
		g_byte_array_append(b, (const uint8_t *)"\x01", 1);
	if (len)
		g_byte_array_append(b, payload, (guint)len);
	write_l4(pg, src, dst, 6, b->data, b->len, t_ns);
	g_byte_array_free(b, TRUE);
}

void pg_udp(struct pcapgen *pg, const struct pg_endpoint *src,
	    const struct pg_endpoint *dst, const void *payload, size_t len,
	    int64_t t_ns)
{
	GByteArray *b = g_byte_array_new();

	put16(b, src->port);
	put16(b, dst->port);
	put16(b, (uint16_t)(8 + len));
	put16(b, 0);
	if (len)
		g_byte_array_append(b, payload, (guint)len);
	write_l4(pg, src, dst, 17, b->data, b->len, t_ns);
	g_byte_array_free(b, TRUE);
}

/* ----------------------------------------------------------------------
 * Conversations
 */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

void pg_conv_init(struct pg_conv *c, struct pcapgen *pg, const char *cli,
		  uint16_t cport, const char *srv, uint16_t sport,
		  uint32_t cisn, uint32_t sisn)
{
	memset(c, 0, sizeof *c);
	c->pg = pg;
	pg_endpoint(&c->cli, cli, cport);
	pg_endpoint(&c->srv, srv, sport);
	c->seq[0] = cisn;
	c->seq[1] = sisn;
	c->window[0] = c->window[1] = 512;
}

static const struct pg_endpoint *ep(const struct pg_conv *c, int dir)
{
	return dir == PG_C2S ? &c->cli : &c->srv;
}

void pg_handshake(struct pg_conv *c, int64_t t, int64_t d1, int64_t d2)
{
	/* MSS 1460, NOP, window scale 7 */
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };

	pg_tcp(c->pg, &c->cli, &c->srv, c->seq[0], 0, F_SYN, 64240, opts,
	       sizeof opts, NULL, 0, t);
	c->seq[0]++;
	pg_tcp(c->pg, &c->srv, &c->cli, c->seq[1], c->seq[0], F_SYN | F_ACK,
	       65160, opts, sizeof opts, NULL, 0, t + d1);
	c->seq[1]++;
	pg_tcp(c->pg, &c->cli, &c->srv, c->seq[0], c->seq[1], F_ACK, 512,
	       NULL, 0, NULL, 0, t + d1 + d2);
}

void pg_send_at(struct pg_conv *c, int dir, uint32_t seq, const void *data,
		size_t len, int64_t t)
{
	pg_tcp(c->pg, ep(c, dir), ep(c, !dir), seq, c->seq[!dir],
	       F_ACK | F_PSH, c->window[dir], NULL, 0, data, len, t);
}

void pg_send(struct pg_conv *c, int dir, const void *data, size_t len,
	     int64_t t)
{
	pg_send_at(c, dir, c->seq[dir], data, len, t);
	c->seq[dir] += (uint32_t)len;
}

void pg_sends(struct pg_conv *c, int dir, const char *text, int64_t t)
{
	pg_send(c, dir, text, strlen(text), t);
}

void pg_skip(struct pg_conv *c, int dir, uint32_t n)
{
	c->seq[dir] += n;
}

void pg_ack(struct pg_conv *c, int dir, int64_t t)
{
	pg_tcp(c->pg, ep(c, dir), ep(c, !dir), c->seq[dir], c->seq[!dir],
	       F_ACK, c->window[dir], NULL, 0, NULL, 0, t);
}

void pg_fin(struct pg_conv *c, int dir, int64_t t)
{
	pg_tcp(c->pg, ep(c, dir), ep(c, !dir), c->seq[dir], c->seq[!dir],
	       F_ACK | F_FIN, c->window[dir], NULL, 0, NULL, 0, t);
	c->seq[dir]++;
}

void pg_rst(struct pg_conv *c, int dir, int64_t t)
{
	pg_tcp(c->pg, ep(c, dir), ep(c, !dir), c->seq[dir], 0, F_RST,
	       0, NULL, 0, NULL, 0, t);
}
