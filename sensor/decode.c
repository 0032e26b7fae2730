/*
 * decode.c: link, network and transport headers, bounds-checked.
 *
 * Place in the data flow: capture -> [decode] -> flow -> reassembly ->
 * plugin.  Each layer reads through a struct cursor (lib/cursor.h); a read
 * that would pass the end of what was captured fails, and the frame is
 * reported as truncated rather than read beyond its end.
 *
 * Lengths: IP's own length field bounds the packet (Ethernet pads short
 * frames, so the capture may hold more than the IP packet), and the
 * captured length bounds what we may read.  When the snaplen cut the
 * payload, payload_len (from the headers) is larger than payload_caplen,
 * and the reassembler treats the missing tail as a gap.
 */
#include "config.h"

#include <arpa/inet.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "decode.h"

/* Beyond this many VLAN tags or IPv6 extension headers a frame is
 * hostile, not real: stop instead of looping. */
#define MAX_VLAN_TAGS 4
#define MAX_IPV6_EXT 8

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

bool decode_supports_dlt(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return true;
	default:
		return false;
	}
}

/* ----------------------------------------------------------------------
 * Transport
 */

/*
 * TCP header:
 *   0      2      4          8          12      13     14     16
 *   | sport | dport | seq      | ack      |off|rsv|flags| window |
 *   | cksum | urg   | options ... (off*4 - 20 bytes) | payload
 */
static enum decode_result decode_tcp(struct cursor *c, uint32_t wire_avail,
				     struct pkt *p)
{
	uint8_t offx2, flags;
	uint16_t window;
	struct cursor opts;

	if (!cur_be16(c, &p->sport) || !cur_be16(c, &p->dport) ||
	    !cur_be32(c, &p->seq) || !cur_be32(c, &p->ack) ||
	    !cur_u8(c, &offx2) || !cur_u8(c, &flags) ||
	    !cur_be16(c, &window) || !cur_skip(c, 4))
		return wire_avail < 20 ? DECODE_MALFORMED : DECODE_TRUNCATED;
	unsigned hlen = (unsigned)(offx2 >> 4) * 4;
	if (hlen < 20 || hlen > wire_avail)
		return DECODE_MALFORMED;
	p->tcp_flags = flags;
	p->window = window;
	if (!cur_sub(c, hlen - 20, &opts))
		return DECODE_TRUNCATED;
	if (flags & TH_SYN) {
		/* MSS and window scale are only meaningful on SYNs. */
		uint8_t kind, olen;
		while (cur_u8(&opts, &kind)) {
			if (kind == 0)
				break;
			if (kind == 1)
				continue;
			if (!cur_u8(&opts, &olen) || olen < 2)
				break;
			if (kind == 2 && olen == 4) {
				if (cur_be16(&opts, &p->mss))
					p->has_mss = 1;
			} else if (kind == 3 && olen == 3) {
				if (cur_u8(&opts, &p->wscale)) {
					if (p->wscale > 14)
						p->wscale = 14;
					p->has_wscale = 1;
				}
			} else if (!cur_skip(&opts, olen - 2u)) {
				break;
			}
		}
	}
	p->payload_len = wire_avail - hlen;
	p->payload = cur_ptr(c);
	size_t have = cur_remaining(c);
	p->payload_caplen = have < p->payload_len ? (uint32_t)have
						  : p->payload_len;
	return DECODE_OK;
}

/* UDP header: sport(2) dport(2) length(2) checksum(2). */
static enum decode_result decode_udp(struct cursor *c, uint32_t wire_avail,
				     struct pkt *p)
{
	uint16_t ulen;

	if (!cur_be16(c, &p->sport) || !cur_be16(c, &p->dport) ||
	    !cur_be16(c, &ulen) || !cur_skip(c, 2))
		return wire_avail < 8 ? DECODE_MALFORMED : DECODE_TRUNCATED;
	/* Length 0 is an IPv6 jumbogram's: the IP length rules. */
	if (ulen == 0)
		ulen = wire_avail > 0xffff ? 0xffff : (uint16_t)wire_avail;
	if (ulen < 8 || ulen > wire_avail)
		return DECODE_MALFORMED;
	p->payload_len = ulen - 8u;
	p->payload = cur_ptr(c);
	size_t have = cur_remaining(c);
	p->payload_caplen = have < p->payload_len ? (uint32_t)have
						  : p->payload_len;
	return DECODE_OK;
}

static enum decode_result decode_l4(struct cursor *c, uint8_t proto,
				    uint32_t wire_avail, struct pkt *p)
{
	p->proto = proto;
	if (proto == 6)
		return decode_tcp(c, wire_avail, p);
	if (proto == 17)
		return decode_udp(c, wire_avail, p);
	return DECODE_OTHER;
}

/* ----------------------------------------------------------------------
 * Network
 */

/*
 * IPv4: ver/ihl(1) tos(1) total_len(2) id(2) flags/frag(2) ttl(1)
 * proto(1) cksum(2) src(4) dst(4) options(ihl*4-20)
 */
static enum decode_result decode_ipv4(struct cursor *c, uint32_t wire_left,
				      struct pkt *p)
{
	uint8_t vihl, proto;
	uint16_t total, frag;

	if (!cur_u8(c, &vihl) || !cur_skip(c, 1) || !cur_be16(c, &total) ||
	    !cur_skip(c, 2) || !cur_be16(c, &frag) || !cur_skip(c, 1) ||
	    !cur_u8(c, &proto) || !cur_skip(c, 2) ||
	    !cur_copy(c, p->src.a, 4) || !cur_copy(c, p->dst.a, 4))
		return wire_left < 20 ? DECODE_MALFORMED : DECODE_TRUNCATED;
	unsigned ihl = (vihl & 0x0f) * 4u;
	if ((vihl >> 4) != 4 || ihl < 20 || total < ihl || total > wire_left)
		return DECODE_MALFORMED;
	p->family = 4;
	if (!cur_skip(c, ihl - 20))
		return DECODE_TRUNCATED;
	/* More-fragments set, or a non-zero offset: a fragment. */
	if (frag & 0x3fff)
		return DECODE_FRAGMENT;
	/* Trim Ethernet padding: the IP length says where the packet ends. */
	size_t l4_cap = cur_remaining(c);
	size_t l4_wire = (size_t)total - ihl;
	struct cursor l4;
	cur_init(&l4, cur_ptr(c), l4_cap < l4_wire ? l4_cap : l4_wire);
	return decode_l4(&l4, proto, (uint32_t)l4_wire, p);
}

/*
 * IPv6: ver/tc/flow(4) payload_len(2) next(1) hops(1) src(16) dst(16),
 * then extension headers, each next(1) len(1) ... in 8-byte units,
 * except the fragment header (fixed 8) and AH (len in 4-byte units + 2).
 */
static enum decode_result decode_ipv6(struct cursor *c, uint32_t wire_left,
				      struct pkt *p)
{
	uint8_t v, next;
	uint16_t plen;

	if (!cur_u8(c, &v) || !cur_skip(c, 3) || !cur_be16(c, &plen) ||
	    !cur_u8(c, &next) || !cur_skip(c, 1) ||
	    !cur_copy(c, p->src.a, 16) || !cur_copy(c, p->dst.a, 16))
		return wire_left < 40 ? DECODE_MALFORMED : DECODE_TRUNCATED;
	if ((v >> 4) != 6 || (uint32_t)plen + 40 > wire_left)
		return DECODE_MALFORMED;
	p->family = 6;
	size_t l3_cap = cur_remaining(c);
	struct cursor l3;
	cur_init(&l3, cur_ptr(c), l3_cap < plen ? l3_cap : plen);
	uint32_t wire_rest = plen;

	for (int i = 0; i < MAX_IPV6_EXT; i++) {
		uint8_t nh, len8;
		uint16_t fragoff;
		size_t before = l3.off;

		switch (next) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
		case 135:	/* mobility */
		case 139:	/* HIP */
		case 140:	/* shim6 */
			if (!cur_u8(&l3, &nh) || !cur_u8(&l3, &len8))
				goto trunc;
			if (!cur_skip(&l3, (size_t)len8 * 8 + 6))
				goto trunc;
			break;
		case 51:	/* AH: length in 4-byte units, minus 2 */
			if (!cur_u8(&l3, &nh) || !cur_u8(&l3, &len8))
				goto trunc;
			if (!cur_skip(&l3, ((size_t)len8 + 2) * 4 - 2))
				goto trunc;
			break;
		case 44:	/* fragment */
			if (!cur_u8(&l3, &nh) || !cur_skip(&l3, 1) ||
			    !cur_be16(&l3, &fragoff) || !cur_skip(&l3, 4))
				goto trunc;
			/* An atomic fragment (offset 0, M clear) is whole. */
			if (fragoff & 0xfff9)
				return DECODE_FRAGMENT;
			break;
		default:
			return decode_l4(&l3, next, wire_rest, p);
		}
		size_t used = l3.off - before;
		if (used > wire_rest)
			return DECODE_MALFORMED;
		wire_rest -= (uint32_t)used;
		next = nh;
		/* Re-base so decode_l4 sees only the transport bytes. */
		cur_init(&l3, cur_ptr(&l3), cur_remaining(&l3));
	}
	return DECODE_MALFORMED;
trunc:
	return l3.len < wire_rest ? DECODE_TRUNCATED : DECODE_MALFORMED;
}

static enum decode_result decode_ip_by_version(struct cursor *c,
					       uint32_t wire_left,
					       struct pkt *p)
{
	if (cur_remaining(c) < 1)
		return DECODE_TRUNCATED;
	uint8_t v = cur_ptr(c)[0] >> 4;
	if (v == 4)
		return decode_ipv4(c, wire_left, p);
	if (v == 6)
		return decode_ipv6(c, wire_left, p);
	return DECODE_OTHER;
}

static enum decode_result decode_ethertype(struct cursor *c, uint16_t type,
					   uint32_t wirelen, struct pkt *p)
{
	uint16_t tci;

	for (int tags = 0; type == ETH_VLAN || type == ETH_QINQ ||
			   type == ETH_QINQ_OLD; tags++) {
		if (tags == MAX_VLAN_TAGS)
			return DECODE_MALFORMED;
		if (!cur_be16(c, &tci) || !cur_be16(c, &type))
			return DECODE_TRUNCATED;
		if (p->vlan == 0)
			p->vlan = tci & 0x0fff;
	}
	if (c->off > wirelen)
		return DECODE_MALFORMED;
	uint32_t wire_left = wirelen - (uint32_t)c->off;
	if (type == ETH_IPV4)
		return decode_ipv4(c, wire_left, p);
	if (type == ETH_IPV6)
		return decode_ipv6(c, wire_left, p);
	return DECODE_OTHER;
}

/* ----------------------------------------------------------------------
 * Link
 */

enum decode_result decode_packet(int dlt, const uint8_t *frame,
				 uint32_t caplen, uint32_t wirelen,
				 struct pkt *p)
{
	struct cursor c;
	uint16_t type;
	uint32_t af;

	int64_t ts = p->ts_ns;
	memset(p, 0, sizeof *p);
	p->ts_ns = ts;
	p->wirelen = wirelen;
	if (wirelen < caplen)
		wirelen = caplen;
	cur_init(&c, frame, caplen);

	switch (dlt) {
	case DLT_EN10MB:
		/* dst(6) src(6) type(2) */
		if (!cur_skip(&c, 12) || !cur_be16(&c, &type))
			return DECODE_TRUNCATED;
		return decode_ethertype(&c, type, wirelen, p);
	case DLT_LINUX_SLL:
		/* pkttype(2) hatype(2) halen(2) addr(8) protocol(2) */
		if (!cur_skip(&c, 14) || !cur_be16(&c, &type))
			return DECODE_TRUNCATED;
		return decode_ethertype(&c, type, wirelen, p);
	case DLT_LINUX_SLL2:
		/* protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1)
		 * halen(1) addr(8) */
		if (!cur_be16(&c, &type) || !cur_skip(&c, 18))
			return DECODE_TRUNCATED;
		return decode_ethertype(&c, type, wirelen, p);
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return decode_ip_by_version(&c, wirelen, p);
	case DLT_NULL:
		/* The address family in the capturing host's byte order. */
		if (!cur_le32(&c, &af))
			return DECODE_TRUNCATED;
		if (af > 0xffff)	/* written by a big-endian host */
			af = __builtin_bswap32(af);
		goto loop_af;
	case DLT_LOOP:
		if (!cur_be32(&c, &af))
			return DECODE_TRUNCATED;
	loop_af:
		/* AF_INET is 2 everywhere; AF_INET6 is 10, 24, 28 or 30. */
		if (af == 2)
			return decode_ipv4(&c, wirelen - 4, p);
		if (af == 10 || af == 24 || af == 28 || af == 30)
			return decode_ipv6(&c, wirelen - 4, p);
		return DECODE_OTHER;
	default:
		return DECODE_OTHER;
	}
}

/* ----------------------------------------------------------------------
 * Formatting
 */

const char *ipaddr_str(const struct ipaddr *a, int family, char *buf,
		       unsigned buflen)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a->a, buf, buflen))
		snprintf(buf, buflen, "?");
	return buf;
}

const char *ipaddr_port_str(const struct ipaddr *a, int family,
			    uint16_t port, char *buf, unsigned buflen)
{
	char addr[INET6_ADDRSTRLEN];

	ipaddr_str(a, family, addr, sizeof addr);
	if (family == 6)
		snprintf(buf, buflen, "[%s]:%u", addr, port);
	else
		snprintf(buf, buflen, "%s:%u", addr, port);
	return buf;
}
