/*
 * decode.h: from a captured frame to the fields the flow tracker needs.
 *
 * decode_packet() walks the link layer (Ethernet with any number of
 * 802.1Q/802.1ad tags up to a limit, Linux cooked SLL and SLL2, raw IP,
 * BSD NULL/LOOP), IPv4 (with options) or IPv6 (with extension headers),
 * then TCP or UDP, all through a bounds-checked cursor.  It fills a struct
 * pkt whose payload pointer points into the frame (no copy).
 *
 * It does not verify TCP/UDP checksums: captures taken on the sending host
 * carry offloaded, invalid checksums, and those packets are real.
 */
#ifndef ARTMON_DECODE_H
#define ARTMON_DECODE_H

#include <stdbool.h>
#include <stdint.h>

/* An IPv4 address uses a[0..3]; the other bytes are zero. */
struct ipaddr {
	uint8_t a[16];
};

/* TCP flag bits as on the wire. */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PUSH 0x08
#define TH_ACK 0x10

enum decode_result {
	DECODE_OK = 0,
	DECODE_OTHER,		/* not IP, or not TCP/UDP: ignored, counted */
	DECODE_FRAGMENT,	/* an IP fragment: counted and skipped */
	DECODE_TRUNCATED,	/* headers cut short (snaplen or damage) */
	DECODE_MALFORMED	/* a header contradicts itself */
};

struct pkt {
	int64_t ts_ns;		/* capture timestamp, ns since the epoch */
	uint32_t wirelen;	/* frame length on the wire */
	uint8_t family;		/* 4 or 6 */
	uint8_t proto;		/* 6 (TCP) or 17 (UDP) */
	uint8_t tcp_flags;	/* TH_* */
	uint8_t has_mss : 1, has_wscale : 1;
	uint8_t wscale;		/* window scale option (SYN only) */
	uint16_t mss;		/* MSS option (SYN only) */
	uint16_t window;	/* raw window field */
	uint16_t vlan;		/* outermost VLAN id, 0: none */
	uint16_t sport, dport;
	uint32_t seq, ack;	/* TCP only */
	struct ipaddr src, dst;
	const uint8_t *payload;	/* into the frame; payload_caplen bytes */
	uint32_t payload_caplen;	/* payload bytes captured */
	uint32_t payload_len;	/* payload bytes on the wire (>= caplen) */
};

/*
 * Decode one frame of link type dlt (a DLT_* value from pcap_datalink()).
 * Returns DECODE_OK with *p filled, or why it was skipped.
 */
enum decode_result decode_packet(int dlt, const uint8_t *frame,
				 uint32_t caplen, uint32_t wirelen,
				 struct pkt *p);

/* True if decode_packet() understands this link type. */
bool decode_supports_dlt(int dlt);

/* "addr:port" or "[v6addr]:port" into buf (at least 64 bytes). */
const char *ipaddr_port_str(const struct ipaddr *a, int family,
			    uint16_t port, char *buf, unsigned buflen);
/* The address alone. */
const char *ipaddr_str(const struct ipaddr *a, int family, char *buf,
		       unsigned buflen);

#endif /* ARTMON_DECODE_H */
