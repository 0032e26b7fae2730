/*
 * pcapgen.h: build small, exact captures for tests.
 *
 * Tests describe a conversation (handshake, segments with chosen sequence
 * numbers and times, FIN, RST) and pcapgen writes it as a real capture file
 * through libpcap, framed as any link type the sensor reads (Ethernet with
 * VLAN tags, SLL, SLL2, raw IP, BSD NULL), over IPv4 or IPv6.  Times are
 * in nanoseconds; files are written with nanosecond precision so tests can
 * check sub-microsecond arithmetic too.
 */
#ifndef ARTMON_PCAPGEN_H
#define ARTMON_PCAPGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pcapgen;

/* Open path for writing frames of link type dlt (DLT_EN10MB, ...). */
struct pcapgen *pg_open(const char *path, int dlt);
void pg_close(struct pcapgen *pg);

/* Ethernet only: wrap following frames in these VLAN tags (0-2 tags;
 * tpid 0x8100 or 0x88a8 for the outer one). */
void pg_set_vlans(struct pcapgen *pg, int n, const uint16_t *tpids,
		  const uint16_t *vids);
/* Cut every following frame to snaplen bytes (0: no cut). */
void pg_set_snaplen(struct pcapgen *pg, uint32_t snaplen);

/* Write one raw link-layer frame as is. */
void pg_frame(struct pcapgen *pg, const uint8_t *frame, uint32_t len,
	      int64_t t_ns);

/*
 * Write an IP packet (v4 or v6 by the address family) carrying a
 * transport header and payload, framed for the capture's link type.
 */
struct pg_endpoint {
	int family;		/* 4 or 6 */
	uint8_t addr[16];
	uint16_t port;
};

void pg_endpoint(struct pg_endpoint *e, const char *addr, uint16_t port);

void pg_tcp(struct pcapgen *pg, const struct pg_endpoint *src,
	    const struct pg_endpoint *dst, uint32_t seq, uint32_t ack,
	    uint8_t flags, uint16_t window, const uint8_t *opts,
	    size_t optlen, const void *payload, size_t len, int64_t t_ns);

void pg_udp(struct pcapgen *pg, const struct pg_endpoint *src,
	    const struct pg_endpoint *dst, const void *payload, size_t len,
	    int64_t t_ns);

/* A TCP conversation with sequence numbers kept for you. */
struct pg_conv {
	struct pcapgen *pg;
	struct pg_endpoint cli, srv;
	uint32_t seq[2];	/* next seq: [0] client, [1] server */
	uint16_t window[2];
};

enum { PG_C2S = 0, PG_S2C = 1 };

void pg_conv_init(struct pg_conv *c, struct pcapgen *pg, const char *cli,
		  uint16_t cport, const char *srv, uint16_t sport,
		  uint32_t cisn, uint32_t sisn);
/* SYN at t, SYN/ACK at t+d1, ACK at t+d1+d2 (MSS 1460, wscale 7). */
void pg_handshake(struct pg_conv *c, int64_t t, int64_t d1, int64_t d2);
/* Data in order from dir at t (ACK flag set, ack = peer's next seq). */
void pg_send(struct pg_conv *c, int dir, const void *data, size_t len,
	     int64_t t);
void pg_sends(struct pg_conv *c, int dir, const char *text, int64_t t);
/* Data at an explicit sequence number; does not move c->seq[dir]. */
void pg_send_at(struct pg_conv *c, int dir, uint32_t seq, const void *data,
		size_t len, int64_t t);
/* Skip n bytes of dir's sequence space (a segment the capture missed). */
void pg_skip(struct pg_conv *c, int dir, uint32_t n);
/* A pure ACK from dir at t. */
void pg_ack(struct pg_conv *c, int dir, int64_t t);
void pg_fin(struct pg_conv *c, int dir, int64_t t);
void pg_rst(struct pg_conv *c, int dir, int64_t t);

#define PG_MS(x) ((int64_t)(x) * 1000000)
#define PG_US(x) ((int64_t)(x) * 1000)

#endif /* ARTMON_PCAPGEN_H */
