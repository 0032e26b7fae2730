/*
 * dns.c: the DNS plugin: queries and responses over UDP and TCP, port 53.
 *
 * Place in the data flow: reassembly (TCP) or the datagram (UDP) -> [dns:
 * find messages, read the header and the question, match responses to
 * queries] -> txn (timing, rules, output).  One transaction is one query and
 * the response that answers it, matched within the flow (client addr/port +
 * server addr/port) by the transaction ID and the question: QTYPE, QCLASS
 * and QNAME compared without regard to ASCII case (RFC 4343).  The text the
 * rules see is "<QTYPE> <qname>", e.g. "A www.example.com" (see render()).
 *
 * Framing.  Over UDP a datagram is a message.  Over TCP each message has a
 * two-byte length prefix (RFC 1035 4.2.2); several messages may share a
 * segment and one may span many.  The prefix is part of the message's bytes
 * (request_bytes and response_bytes are what went over the wire), and
 * since tshark's dns.time runs from the frame that completed the query to
 * the frame that completed the response, ttlb is comparable with it.
 *
 * Only the 12-byte header and the first question are ever decoded: the
 * rcode is in the header, and matching needs nothing else.  So a partial TCP
 * message is buffered only until its question is complete (at most
 * DNS_HEAD_MAX bytes, allocated when a question is split across segments,
 * freed as soon as it is read); the rest of the message is counted as it
 * streams by and never copied.  That bound holds because compression
 * pointers must point strictly backwards (as BIND's dns_name_fromwire()
 * requires, and RFC 1035 4.1.4's "prior occurrence" means), so a question
 * never refers to bytes after itself.
 *
 * Timing.  A query opens its transaction in the callback carrying its
 * first bytes.  Over UDP the whole query is in hand, so it is decoded first
 * and only a well-formed query opens anything.  Over TCP, when a query's
 * question is cut by a segment boundary, the transaction is opened
 * provisionally at its first byte (so `start` is the first packet, as
 * docs/metrics.md defines it), and if the question then proves malformed
 * it is closed at once with status "malformed".  A response can be matched
 * only once its question is read; if that needed a later segment, its
 * earlier bytes are credited to the packet that completed the question, so
 * ttfb is then measured to that packet (ttlb is exact either way).
 *
 * Retries.  A UDP query with the ID and question of a pending one is the
 * client sending again: counted with txn_retry(), and the transaction keeps
 * the first query's time (its bytes are not passed to txn_request(), which
 * would move the request's last packet).  Over TCP there is no such thing
 * (TCP retransmits by itself; a client that gives up opens a new
 * connection, which is a new flow), so a repeated ID and question there is
 * one more query, answered in order.
 *
 * Timeouts.  The plugin has no timer.  Whenever the flow delivers data, a
 * pending query whose last (re)transmission is older than the timeout
 * (default 5 s, option `timeout`) is closed as unanswered; a response
 * arriving later is then an orphan.  close() closes whatever is still
 * pending the same way.  The timeout runs from the latest retry, because
 * the client is still waiting; the response time still runs from the first
 * query.
 *
 * Ownership.  The plugin allocates (with malloc, never aborting on failure)
 * its per-flow state, one struct dns_query per pending query and, for a
 * TCP question split across segments, a DNS_HEAD_MAX buffer; all of it is
 * freed when answered, closed, or at state_free().  Transaction handles are
 * the core's: each is closed exactly once (answered, expired, pushed out by
 * the cap, or in close()) and forgotten by every reference at that moment
 * (forget_txn()); state_free() touches none.
 *
 * What this file does not do: decode answers, authority or additional
 * records (no EDNS extended rcode: the status is the header's 4-bit
 * RCODE), follow zone transfers past their first message (later messages
 * of an AXFR/IXFR answer are skipped without being counted), or resync a
 * TCP stream after a gap that crosses a message boundary (that direction is
 * ignored for the rest of the connection).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artmon-plugin.h"
#include "cursor.h"

/* ---------------------------------------------------------------- limits */

#define DNS_PORT		53
#define DNS_HDR_LEN		12
/* Longest name in wire form, root label included (RFC 1035 2.3.4). */
#define DNS_NAME_MAX		255
/*
 * The most of a message that can hold its header and first question:
 * header, a name whose in-place part is at most 254 bytes of labels plus
 * a 2-byte pointer (or 255 bytes ending in the root label), QTYPE, QCLASS.
 */
#define DNS_HEAD_MAX		(DNS_HDR_LEN + 256 + 4)
/*
 * Compression pointers followed in one name.  Strictly backward pointers
 * already bound this (a question can only point into the 12-byte header),
 * the cap keeps the loop finite should that rule ever be relaxed.
 */
#define DNS_MAX_JUMPS		16
/* Pending queries per flow; past it the oldest is closed (QUEUE_FULL). */
#define DNS_MAX_PENDING_DEFAULT	64
#define DNS_MAX_PENDING_LIMIT	4096
#define DNS_TIMEOUT_DEFAULT_NS	(5 * (int64_t)1000000000)
#define DNS_TIMEOUT_MAX_NS	(3600 * (int64_t)1000000000)
/* "<QTYPE> <qname>": TYPE65535, a space, 254 name bytes as \DDD each. */
#define DNS_TEXT_MAX		(9 + 1 + 254 * 4 + 1)

#define QTYPE_IXFR		251
#define QTYPE_AXFR		252

/* Header flag bits (second 16-bit word). */
#define DNS_FLAG_QR		0x8000

/* Options: process-wide, set before init(). */
static int64_t opt_timeout_ns = DNS_TIMEOUT_DEFAULT_NS;
static unsigned opt_max_pending = DNS_MAX_PENDING_DEFAULT;

static const struct artmon_host *host;

/* ---------------------------------------------------------------- types */

/* A query waiting for its response.  32 bytes plus the name. */
struct dns_query {
	struct dns_query *next;		/* younger query of the flow */
	artmon_txn *txn;
	int64_t sent_ns;		/* last (re)transmission: timeout base */
	uint16_t id, qtype, qclass;
	uint8_t has_q;			/* 0: the query had no question */
	uint8_t namelen;		/* bytes in name[]; 0 is the root */
	uint8_t name[];			/* lower-cased labels, no root label */
};

/* What a message's header and first question say. */
struct dns_msg {
	uint16_t id, flags, qdcount;
	uint16_t qtype, qclass;
	bool has_q;
	uint8_t namelen;
	uint8_t name[DNS_NAME_MAX];
};

enum dns_parse {
	DNS_OK,
	DNS_SHORT,	/* need more bytes: the message is not all here yet */
	DNS_BAD		/* malformed: more bytes would not help */
};

/* Where a TCP direction is in its stream of length-prefixed messages. */
enum half_mode {
	H_LEN,		/* reading the 2-byte length (nlen bytes so far) */
	H_HEAD,		/* reading the header and question */
	H_BODY,		/* decided: the rest of the message goes to txn */
	H_SKIP,		/* decided: the rest of the message is dropped */
	H_LOST		/* framing lost (gap, end): ignore this direction */
};

struct dns_half {
	uint8_t *head;		/* H_HEAD across segments; NULL otherwise */
	artmon_txn *txn;	/* H_BODY, and a provisional query in H_HEAD */
	uint32_t left;		/* bytes of the message still to come */
	uint32_t unattributed;	/* response bytes seen before it matched */
	uint16_t msglen;	/* length from the prefix */
	uint16_t headlen;	/* bytes in head */
	uint8_t nlen;		/* prefix bytes seen (H_LEN) */
	uint8_t mode;		/* enum half_mode */
	uint8_t rcode;		/* H_BODY of a response: its status */
	bool provisional;	/* txn opened before the question was read */
};

struct dns_tcp {
	struct dns_half half[2];	/* [ARTMON_C2S], [ARTMON_S2C] */
	uint16_t xfr_id;		/* ID of the last answered AXFR/IXFR */
	bool xfr;
};

/*
 * Per flow.  A UDP flow with one query in flight costs this (32 bytes)
 * plus one struct dns_query (32 bytes and its name).
 */
struct dns_flow {
	artmon_flow *flow;
	struct dns_query *pending;	/* oldest first */
	struct dns_tcp *tcp;		/* NULL over UDP */
	uint16_t npending;
};

/* ---------------------------------------------------------------- names */

/* QTYPE mnemonics, IANA "Resource Record (RR) TYPEs", as tshark prints them. */
static const struct {
	uint16_t code;
	const char *name;
} qtypes[] = {
	{ 1, "A" }, { 2, "NS" }, { 3, "MD" }, { 4, "MF" }, { 5, "CNAME" },
	{ 6, "SOA" }, { 7, "MB" }, { 8, "MG" }, { 9, "MR" }, { 10, "NULL" },
	{ 11, "WKS" }, { 12, "PTR" }, { 13, "HINFO" }, { 14, "MINFO" },
	{ 15, "MX" }, { 16, "TXT" }, { 17, "RP" }, { 18, "AFSDB" },
	{ 19, "X25" }, { 20, "ISDN" }, { 21, "RT" }, { 22, "NSAP" },
	{ 23, "NSAP-PTR" }, { 24, "SIG" }, { 25, "KEY" }, { 26, "PX" },
	{ 27, "GPOS" }, { 28, "AAAA" }, { 29, "LOC" }, { 30, "NXT" },
	{ 31, "EID" }, { 32, "NIMLOC" }, { 33, "SRV" }, { 34, "ATMA" },
	{ 35, "NAPTR" }, { 36, "KX" }, { 37, "CERT" }, { 38, "A6" },
	{ 39, "DNAME" }, { 40, "SINK" }, { 41, "OPT" }, { 42, "APL" },
	{ 43, "DS" }, { 44, "SSHFP" }, { 45, "IPSECKEY" }, { 46, "RRSIG" },
	{ 47, "NSEC" }, { 48, "DNSKEY" }, { 49, "DHCID" }, { 50, "NSEC3" },
	{ 51, "NSEC3PARAM" }, { 52, "TLSA" }, { 53, "SMIMEA" }, { 55, "HIP" },
	{ 56, "NINFO" }, { 57, "RKEY" }, { 58, "TALINK" }, { 59, "CDS" },
	{ 60, "CDNSKEY" }, { 61, "OPENPGPKEY" }, { 62, "CSYNC" },
	{ 63, "ZONEMD" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" },
	{ 104, "NID" }, { 105, "L32" }, { 106, "L64" }, { 107, "LP" },
	{ 108, "EUI48" }, { 109, "EUI64" }, { 249, "TKEY" }, { 250, "TSIG" },
	{ 251, "IXFR" }, { 252, "AXFR" }, { 253, "MAILB" }, { 254, "MAILA" },
	{ 255, "ANY" }, { 256, "URI" }, { 257, "CAA" }, { 32768, "TA" },
	{ 32769, "DLV" },
};

static const char *const rcodes[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
	"RCODE11", "RCODE12", "RCODE13", "RCODE14", "RCODE15",
};

/*
 * A response is a success when it is an answer, positive or negative
 * (NOERROR, NXDOMAIN, and the UPDATE prerequisite results YXDOMAIN,
 * YXRRSET, NXRRSET); every other rcode means the server could not or would
 * not answer (SERVFAIL, REFUSED, FORMERR, NOTIMP, NOTAUTH, NOTZONE,
 * unassigned codes) and counts as an error.
 */
static bool rcode_is_error(unsigned rcode)
{
	switch (rcode) {
	case 0: case 3: case 6: case 7: case 8:
		return false;
	default:
		return true;
	}
}

/*
 * The rules' text: "<QTYPE> <qname>".  Unknown types are TYPEnnn (RFC 3597
 * 5).  The name has no trailing dot ("." alone is the root), is already
 * lower-cased (so 0x20-randomised queries name one transaction, not
 * thousands), and is escaped as in master files (RFC 1035 5.1): a dot or
 * backslash inside a label as \. and \\, bytes outside 0x21..0x7e as \DDD,
 * so the text never holds a space but the one after the type.
 */
static size_t render(uint16_t qtype, const uint8_t *name, size_t namelen,
		     char *out)
{
	const char *mn = NULL;
	size_t n;

	for (size_t i = 0; i < sizeof qtypes / sizeof qtypes[0]; i++) {
		if (qtypes[i].code == qtype) {
			mn = qtypes[i].name;
			break;
		}
	}
	if (mn)
		n = (size_t)snprintf(out, DNS_TEXT_MAX, "%s ", mn);
	else
		n = (size_t)snprintf(out, DNS_TEXT_MAX, "TYPE%u ", qtype);
	if (namelen == 0) {
		out[n++] = '.';
		return n;
	}
	/* namelen <= 254 and each byte takes at most 4: fits DNS_TEXT_MAX.
	 * The name was built by read_name(), so its label lengths are
	 * consistent with namelen. */
	for (size_t i = 0; i < namelen;) {
		size_t len = name[i++];
		if (i > 1)
			out[n++] = '.';
		for (size_t k = 0; k < len && i < namelen; k++, i++) {
			uint8_t c = name[i];
			if (c == '.' || c == '\\') {
				out[n++] = '\\';
				out[n++] = (char)c;
			} else if (c < 0x21 || c > 0x7e) {
				out[n++] = '\\';
				out[n++] = (char)('0' + c / 100);
				out[n++] = (char)('0' + c / 10 % 10);
				out[n++] = (char)('0' + c % 10);
			} else {
				out[n++] = (char)c;
			}
		}
	}
	return n;
}

/* ---------------------------------------------------------------- parsing */

/*
 * Read the name at c's position into out (lower-cased labels, each with
 * its length byte, no root label) and leave c after it.  Compression
 * pointers (RFC 1035 4.1.4) must point strictly before the previous
 * position jumped from (the name's start at first), so they cannot loop
 * and a name only ever refers to bytes before it; a pointer forward, to
 * itself or past the end, an extended label type (0x40, 0x80), or a name
 * longer than 255 bytes is malformed.  DNS_SHORT: the bytes ran out.
 */
static enum dns_parse read_name(struct cursor *c, uint8_t *out,
				uint8_t *outlen)
{
	size_t limit = c->off;	/* pointers must land before this */
	size_t resume = 0;
	unsigned jumps = 0;
	size_t n = 0;

	for (;;) {
		uint8_t len;
		if (!cur_u8(c, &len))
			return DNS_SHORT;
		if ((len & 0xc0) == 0xc0) {
			uint8_t lo;
			if (!cur_u8(c, &lo))
				return DNS_SHORT;
			size_t target = ((size_t)(len & 0x3f) << 8) | lo;
			if (target >= limit || ++jumps > DNS_MAX_JUMPS)
				return DNS_BAD;
			if (jumps == 1)
				resume = c->off;
			limit = target;
			cur_seek(c, target);	/* target < limit <= c->len */
			continue;
		}
		if (len & 0xc0)
			return DNS_BAD;		/* 0x40/0x80: no such labels */
		if (len == 0)
			break;
		/* Wire length so far + this label + the root label. */
		if (n + 1 + len + 1 > DNS_NAME_MAX)
			return DNS_BAD;
		const uint8_t *label;
		if (!cur_bytes(c, len, &label))
			return DNS_SHORT;
		out[n++] = len;
		for (size_t i = 0; i < len; i++) {
			uint8_t ch = label[i];
			out[n++] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32)
							    : ch;
		}
	}
	if (jumps)
		cur_seek(c, resume);
	*outlen = (uint8_t)n;
	return DNS_OK;
}

/*
 * Decode the header and first question of a message of msglen bytes, of
 * which the first have are in p.  Running out of bytes is DNS_SHORT while
 * the message has more to come, DNS_BAD when it does not: a message too
 * short for its own header and question is malformed.
 *
 *    0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
 *  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *  |                      ID                       |
 *  |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
 *  |                    QDCOUNT                    |
 *  |          ANCOUNT, NSCOUNT, ARCOUNT            |   (3 x 16 bits)
 *  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *  /                     QNAME                     /   labels, pointer
 *  |                     QTYPE                     |
 *  |                     QCLASS                    |
 *  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * QDCOUNT is trusted only as zero or not: the first question is read,
 * any others are not looked at.
 */
static enum dns_parse parse_msg(const uint8_t *p, size_t have, size_t msglen,
				struct dns_msg *m)
{
	struct cursor c;
	enum dns_parse r = DNS_OK;

	if (have > msglen)
		have = msglen;
	cur_init(&c, p, have);
	if (!cur_be16(&c, &m->id) || !cur_be16(&c, &m->flags) ||
	    !cur_be16(&c, &m->qdcount) || !cur_skip(&c, 6)) {
		r = DNS_SHORT;
		goto out;
	}
	m->has_q = m->qdcount != 0;
	m->namelen = 0;
	m->qtype = m->qclass = 0;
	if (!m->has_q)
		goto out;
	r = read_name(&c, m->name, &m->namelen);
	if (r != DNS_OK)
		goto out;
	if (!cur_be16(&c, &m->qtype) || !cur_be16(&c, &m->qclass))
		r = DNS_SHORT;
out:
	if (r == DNS_SHORT && (have >= msglen || have >= DNS_HEAD_MAX))
		r = DNS_BAD;
	return r;
}

/* ---------------------------------------------------------------- queries */

static void count(struct dns_flow *st, enum artmon_event ev)
{
	host->count(st->flow, ev);
}

static bool same_question(const struct dns_query *q, const struct dns_msg *m)
{
	return q->has_q == m->has_q && q->qtype == m->qtype &&
	       q->qclass == m->qclass && q->namelen == m->namelen &&
	       memcmp(q->name, m->name, m->namelen) == 0;
}

/* Every reference the TCP state holds to t, now closed, goes. */
static void forget_txn(struct dns_flow *st, const artmon_txn *t)
{
	if (!st->tcp)
		return;
	for (int d = 0; d < 2; d++) {
		struct dns_half *h = &st->tcp->half[d];
		if (h->txn == t) {
			h->txn = NULL;
			h->provisional = false;
		}
	}
}

/* Take q off the pending list (pp points at the link to it). */
static void unlink_query(struct dns_flow *st, struct dns_query **pp)
{
	struct dns_query *q = *pp;
	*pp = q->next;
	st->npending--;
}

/* Close q as unanswered and free it. */
static void drop_unanswered(struct dns_flow *st, struct dns_query **pp)
{
	struct dns_query *q = *pp;

	unlink_query(st, pp);
	forget_txn(st, q->txn);
	host->txn_close(q->txn, NULL, true, ARTMON_TXN_TIMEOUT);
	free(q);
}

/* Close every pending query last sent more than the timeout before now. */
static void expire(struct dns_flow *st, int64_t now)
{
	struct dns_query **pp = &st->pending;

	/* A retry moves sent_ns, so the list is not sorted by it: walk it
	 * all (at most max_pending, almost always one). */
	while (*pp) {
		if (now - (*pp)->sent_ns > opt_timeout_ns)
			drop_unanswered(st, pp);
		else
			pp = &(*pp)->next;
	}
}

/*
 * The response m's query: the oldest pending one with its ID and question;
 * for a response without a question, the only pending query with its ID
 * (more than one would be a guess).  Returns the link to it, or NULL.
 */
static struct dns_query **find_query(struct dns_flow *st,
				     const struct dns_msg *m)
{
	struct dns_query **found = NULL;
	unsigned with_id = 0;

	for (struct dns_query **pp = &st->pending; *pp; pp = &(*pp)->next) {
		const struct dns_query *q = *pp;
		if (q->id != m->id)
			continue;
		if (m->has_q) {
			if (same_question(q, m))
				return pp;
		} else if (with_id++ == 0) {
			found = pp;
		}
	}
	return with_id == 1 ? found : NULL;
}

/* Name t after m's question (a query without one keeps the default). */
static void name_txn(artmon_txn *t, const struct dns_msg *m)
{
	char text[DNS_TEXT_MAX];

	if (!m->has_q)
		return;
	size_t n = render(m->qtype, m->name, m->namelen, text);
	host->txn_name(t, (const uint8_t *)text, n);
}

/*
 * Remember query m, whose transaction t is open, at time now.  A full
 * list first loses its oldest query, closed as unanswered.  Returns false
 * if there is no memory for it (t is then closed as unanswered too).
 */
static bool add_query(struct dns_flow *st, artmon_txn *t,
		      const struct dns_msg *m, int64_t now)
{
	while (st->npending >= opt_max_pending && st->pending) {
		drop_unanswered(st, &st->pending);
		count(st, ARTMON_EV_QUEUE_FULL);
	}
	struct dns_query *q = malloc(sizeof *q + m->namelen);
	if (!q) {
		host->warn("dns: out of memory for a pending query; "
			   "queries are closed unanswered");
		forget_txn(st, t);
		host->txn_close(t, NULL, true, ARTMON_TXN_TIMEOUT);
		return false;
	}
	q->next = NULL;
	q->txn = t;
	q->sent_ns = now;
	q->id = m->id;
	q->qtype = m->qtype;
	q->qclass = m->qclass;
	q->has_q = m->has_q;
	q->namelen = m->namelen;
	memcpy(q->name, m->name, m->namelen);
	struct dns_query **pp = &st->pending;
	while (*pp)
		pp = &(*pp)->next;
	*pp = q;
	st->npending++;
	return true;
}

/*
 * Is m the message its direction should carry (a query from the client,
 * a response from the server)?  A mismatch is a protocol violation here
 * (or two servers both on port 53, which this plugin does not follow).
 */
static bool right_direction(enum artmon_dir dir, const struct dns_msg *m)
{
	bool is_response = (m->flags & DNS_FLAG_QR) != 0;
	return is_response == (dir == ARTMON_S2C);
}

static void close_answered(artmon_txn *t, unsigned rcode)
{
	host->txn_close(t, rcodes[rcode & 15], rcode_is_error(rcode & 15), 0);
}

/* ---------------------------------------------------------------- UDP */

/* One datagram: one whole message. */
static void udp_message(struct dns_flow *st, enum artmon_dir dir,
			const uint8_t *data, size_t len, int64_t now)
{
	struct dns_msg m;

	if (parse_msg(data, len, len, &m) != DNS_OK ||
	    !right_direction(dir, &m)) {
		count(st, ARTMON_EV_MALFORMED);
		return;
	}
	if (dir == ARTMON_S2C) {
		struct dns_query **pp = find_query(st, &m);
		if (!pp) {
			count(st, ARTMON_EV_ORPHAN_RESPONSE);
			return;
		}
		struct dns_query *q = *pp;
		unlink_query(st, pp);
		host->txn_response(q->txn, len);
		close_answered(q->txn, m.flags & 15);
		free(q);
		return;
	}
	/* A query.  Sent again while pending: a retry of the same one. */
	for (struct dns_query *q = st->pending; q; q = q->next) {
		if (q->id == m.id && same_question(q, &m)) {
			host->txn_retry(q->txn);
			q->sent_ns = now;
			return;
		}
	}
	artmon_txn *t = host->txn_open(st->flow, 0);
	host->txn_request(t, len);
	name_txn(t, &m);
	add_query(st, t, &m, now);
}

/* ---------------------------------------------------------------- TCP */

static void half_reset(struct dns_half *h, enum half_mode mode)
{
	free(h->head);
	h->head = NULL;
	h->headlen = 0;
	h->txn = NULL;
	h->provisional = false;
	h->unattributed = 0;
	h->nlen = 0;
	h->msglen = 0;
	h->left = 0;
	h->mode = (uint8_t)mode;
}

/* The current message is over (or given up): on to the next prefix. */
static void half_next(struct dns_half *h)
{
	half_reset(h, H_LEN);
}

/*
 * A provisional query transaction whose question never came (malformed,
 * or the stream ended or lost bytes first).
 */
static void drop_provisional(struct dns_flow *st, struct dns_half *h,
			     const char *status)
{
	artmon_txn *t = h->txn;

	if (!t || !h->provisional)
		return;
	h->txn = NULL;
	h->provisional = false;
	if (status)
		host->txn_close(t, status, true, 0);
	else
		host->txn_close(t, NULL, true, ARTMON_TXN_TIMEOUT);
}

/*
 * The header and question of the current message of direction dir are
 * read (r is OK or BAD): decide what its remaining bytes are.  cb is how
 * many of its bytes this callback carried so far, not yet credited.
 */
static void tcp_decide(struct dns_flow *st, enum artmon_dir dir,
		       struct dns_half *h, enum dns_parse r,
		       const struct dns_msg *m, size_t cb, int64_t now)
{
	struct dns_tcp *tcp = st->tcp;

	free(h->head);
	h->head = NULL;
	h->headlen = 0;
	if (r != DNS_OK || !right_direction(dir, m)) {
		count(st, ARTMON_EV_MALFORMED);
		drop_provisional(st, h, "malformed");
		h->mode = H_SKIP;
		return;
	}
	if (dir == ARTMON_C2S) {
		artmon_txn *t = h->txn;
		if (!t) {
			t = host->txn_open(st->flow, 0);
			if (cb)
				host->txn_request(t, cb);
		} else if (cb) {
			host->txn_request(t, cb);
		}
		h->provisional = false;
		h->txn = t;
		h->mode = H_BODY;
		name_txn(t, m);
		if (!add_query(st, t, m, now))
			h->txn = NULL;	/* closed: count the rest nowhere */
		return;
	}
	struct dns_query **pp = find_query(st, m);
	if (!pp) {
		/* The later messages of a zone transfer repeat its ID. */
		if (!(tcp->xfr && tcp->xfr_id == m->id))
			count(st, ARTMON_EV_ORPHAN_RESPONSE);
		h->mode = H_SKIP;
		return;
	}
	struct dns_query *q = *pp;
	unlink_query(st, pp);
	forget_txn(st, q->txn);
	tcp->xfr = q->qtype == QTYPE_AXFR || q->qtype == QTYPE_IXFR;
	tcp->xfr_id = q->id;
	h->txn = q->txn;
	h->rcode = (uint8_t)(m->flags & 15);
	h->mode = H_BODY;
	free(q);
	size_t n = h->unattributed + cb;
	h->unattributed = 0;
	if (n)
		host->txn_response(h->txn, n);
}

/* Credit n bytes of the current callback to h's transaction. */
static void credit(enum artmon_dir dir, struct dns_half *h, size_t n)
{
	if (!h->txn || !n)
		return;
	if (dir == ARTMON_C2S)
		host->txn_request(h->txn, n);
	else
		host->txn_response(h->txn, n);
}

/* The last byte of the current message went by. */
static void tcp_message_done(struct dns_flow *st, enum artmon_dir dir,
			     struct dns_half *h)
{
	if (dir == ARTMON_S2C && h->txn && h->mode == H_BODY) {
		artmon_txn *t = h->txn;
		h->txn = NULL;
		close_answered(t, h->rcode);
	}
	/* A query stays pending for its response; only the link goes. */
	half_next(h);
}

static void tcp_data(struct dns_flow *st, enum artmon_dir dir,
		     const uint8_t *data, size_t len, int64_t now)
{
	struct dns_half *h = &st->tcp->half[dir];
	struct cursor c;
	/* Bytes of the current message in this callback not yet credited
	 * to a transaction (prefix and header before a decision). */
	size_t cb = 0;

	cur_init(&c, data, len);
	while (cur_remaining(&c) > 0 && h->mode != H_LOST) {
		switch (h->mode) {
		case H_LEN: {
			uint8_t b = 0;
			cur_u8(&c, &b);	/* cannot fail: remaining > 0 */
			cb++;
			h->msglen = (uint16_t)((h->msglen << 8) | b);
			if (++h->nlen < 2)
				break;
			h->left = h->msglen;
			h->mode = H_HEAD;
			if (h->msglen < DNS_HDR_LEN) {
				/* Not even a header: malformed, but the
				 * framing still holds. */
				count(st, ARTMON_EV_MALFORMED);
				drop_provisional(st, h, "malformed");
				cb = 0;
				h->mode = H_SKIP;
				if (h->left == 0)
					half_next(h);
			}
			break;
		}
		case H_HEAD: {
			size_t take = cur_remaining(&c);
			if (take > h->left)
				take = h->left;
			const uint8_t *p = cur_ptr(&c);
			struct dns_msg m;
			enum dns_parse r;
			if (!h->head) {
				/* Usually the whole question is in this
				 * segment: read it in place. */
				r = parse_msg(p, take, h->msglen, &m);
				if (r == DNS_SHORT) {
					h->head = malloc(DNS_HEAD_MAX);
					if (!h->head) {
						host->warn("dns: out of memory "
							   "for a split "
							   "message; skipped");
						r = DNS_BAD;
					} else {
						memcpy(h->head, p, take);
						h->headlen = (uint16_t)take;
					}
				}
			} else {
				size_t room = DNS_HEAD_MAX - h->headlen;
				size_t k = take < room ? take : room;
				memcpy(h->head + h->headlen, p, k);
				h->headlen = (uint16_t)(h->headlen + k);
				r = parse_msg(h->head, h->headlen, h->msglen,
					      &m);
			}
			cur_skip(&c, take);
			h->left -= (uint32_t)take;
			cb += take;
			if (r != DNS_SHORT) {
				tcp_decide(st, dir, h, r, &m, cb, now);
				cb = 0;
				if (h->left == 0)
					tcp_message_done(st, dir, h);
			}
			break;
		}
		case H_BODY:
		case H_SKIP: {
			size_t take = cur_remaining(&c);
			if (take > h->left)
				take = h->left;
			cur_skip(&c, take);
			h->left -= (uint32_t)take;
			if (h->mode == H_BODY)
				credit(dir, h, take);
			if (h->left == 0)
				tcp_message_done(st, dir, h);
			break;
		}
		}
	}
	/* A message still undecided at the end of the callback. */
	if (cb && (h->mode == H_LEN || h->mode == H_HEAD)) {
		if (dir == ARTMON_S2C) {
			h->unattributed += (uint32_t)cb;
		} else if (!h->txn) {
			/* Open at the query's first byte: that packet is
			 * the request's first packet. */
			h->txn = host->txn_open(st->flow, 0);
			h->provisional = true;
			host->txn_request(h->txn, cb);
		} else {
			host->txn_request(h->txn, cb);
		}
	}
}

/* ---------------------------------------------------------------- callbacks */

static int dns_option(const char *key, const char *value, char *err,
		      size_t errlen)
{
	if (strcmp(key, "timeout") == 0) {
		/* "5", "5s", "500ms": seconds unless it says ms. */
		char *end;
		unsigned long long v;
		if (value[0] < '0' || value[0] > '9')
			goto bad_timeout;
		errno = 0;
		v = strtoull(value, &end, 10);
		if (errno || v > (unsigned long long)(DNS_TIMEOUT_MAX_NS / 1000000))
			goto bad_timeout;
		int64_t ns;
		if (strcmp(end, "ms") == 0)
			ns = (int64_t)v * 1000000;
		else if (*end == '\0' || strcmp(end, "s") == 0)
			ns = (int64_t)v * 1000000000;
		else
			goto bad_timeout;
		if (ns <= 0 || ns > DNS_TIMEOUT_MAX_NS)
			goto bad_timeout;
		opt_timeout_ns = ns;
		return 0;
bad_timeout:
		snprintf(err, errlen,
			 "bad timeout '%s' (expected e.g. 5, 5s or 500ms; "
			 "1ms to 3600s)", value);
		return -1;
	}
	if (strcmp(key, "max_pending") == 0) {
		char *end;
		unsigned long v;
		if (value[0] < '0' || value[0] > '9')
			goto bad_pending;
		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || *end || v < 1 || v > DNS_MAX_PENDING_LIMIT)
			goto bad_pending;
		opt_max_pending = (unsigned)v;
		return 0;
bad_pending:
		snprintf(err, errlen, "bad max_pending '%s' (expected 1..%d)",
			 value, DNS_MAX_PENDING_LIMIT);
		return -1;
	}
	snprintf(err, errlen,
		 "unknown key '%s' (dns takes timeout, max_pending)", key);
	return -1;
}

static int dns_init(const struct artmon_host *h, char *err, size_t errlen)
{
	if (h->api_version != ARTMON_PLUGIN_API_VERSION) {
		snprintf(err, errlen, "host API %u, plugin built for %u",
			 h->api_version, ARTMON_PLUGIN_API_VERSION);
		return -1;
	}
	host = h;
	return 0;
}

static void *dns_state_new(artmon_flow *flow)
{
	struct dns_flow *st = calloc(1, sizeof *st);

	if (!st)
		return NULL;
	st->flow = flow;
	if (host->flow_info(flow)->transport == ARTMON_TCP) {
		st->tcp = calloc(1, sizeof *st->tcp);
		if (!st->tcp) {
			free(st);
			return NULL;
		}
	}
	return st;
}

static void dns_data(void *state, enum artmon_dir dir, const uint8_t *data,
		     size_t len, int64_t ts_ns)
{
	struct dns_flow *st = state;

	expire(st, ts_ns);
	if (st->tcp)
		tcp_data(st, dir, data, len, ts_ns);
	else
		udp_message(st, dir, data, len, ts_ns);
}

/*
 * nbytes of dir were never captured.  Inside a message whose length is
 * known, the loss is skipped and the framing kept (the core has flagged
 * the open transactions); a loss reaching past the message's end leaves
 * no way to find the next prefix, and the direction is given up.
 */
static void dns_gap(void *state, enum artmon_dir dir, uint64_t nbytes)
{
	struct dns_flow *st = state;
	struct dns_half *h;

	if (!st->tcp || nbytes == 0)
		return;
	h = &st->tcp->half[dir];
	switch (h->mode) {
	case H_LOST:
		return;
	case H_LEN:
		if (h->nlen == 0 && !h->txn) {
			/* Between messages: nothing to keep. */
			half_reset(h, H_LOST);
			return;
		}
		break;
	case H_HEAD:
		/* The header or question is gone: the message cannot be
		 * read, but its length is known. */
		drop_provisional(st, h, NULL);
		free(h->head);
		h->head = NULL;
		h->headlen = 0;
		h->unattributed = 0;
		h->mode = H_SKIP;
		break;
	default:
		break;
	}
	if (h->mode == H_LEN || nbytes > h->left) {
		if (h->mode == H_BODY)
			tcp_message_done(st, dir, h);
		drop_provisional(st, h, NULL);
		half_reset(h, H_LOST);
		return;
	}
	h->left -= (uint32_t)nbytes;
	if (h->left == 0)
		tcp_message_done(st, dir, h);
}

/* No more bytes in dir: a message cut short is malformed. */
static void dns_end(void *state, enum artmon_dir dir)
{
	struct dns_flow *st = state;
	struct dns_half *h;

	if (!st->tcp)
		return;
	h = &st->tcp->half[dir];
	bool midway = h->mode != H_LOST && !(h->mode == H_LEN && h->nlen == 0);
	if (midway) {
		count(st, ARTMON_EV_MALFORMED);
		if (dir == ARTMON_S2C && h->mode == H_BODY && h->txn) {
			/* The response never completed. */
			artmon_txn *t = h->txn;
			h->txn = NULL;
			host->txn_close(t, NULL, true, ARTMON_TXN_TIMEOUT);
		}
		drop_provisional(st, h, NULL);
	}
	half_reset(h, H_LOST);
}

static void dns_close(void *state)
{
	struct dns_flow *st = state;

	if (st->tcp) {
		for (int d = 0; d < 2; d++) {
			struct dns_half *h = &st->tcp->half[d];
			if (d == ARTMON_S2C && h->mode == H_BODY && h->txn) {
				artmon_txn *t = h->txn;
				h->txn = NULL;
				host->txn_close(t, NULL, true,
						ARTMON_TXN_TIMEOUT);
			}
			drop_provisional(st, h, NULL);
			half_reset(h, H_LOST);
		}
	}
	/* Flow over: nothing pending can be answered any more. */
	while (st->pending)
		drop_unanswered(st, &st->pending);
}

static void dns_state_free(void *state)
{
	struct dns_flow *st = state;

	while (st->pending) {
		struct dns_query *q = st->pending;
		st->pending = q->next;
		free(q);
	}
	if (st->tcp) {
		free(st->tcp->half[0].head);
		free(st->tcp->half[1].head);
		free(st->tcp);
	}
	free(st);
}

static const uint16_t dns_ports[] = { DNS_PORT, 0 };

const struct artmon_plugin artmon_plugin = {
	ARTMON_PLUGIN_HEADER,
	.name = "dns",
	.default_name = "DNS_other",
	.transports = ARTMON_TCP | ARTMON_UDP,
	.default_ports = dns_ports,
	.init = dns_init,
	.option = dns_option,
	.state_new = dns_state_new,
	.data = dns_data,
	.gap = dns_gap,
	.end = dns_end,
	.close = dns_close,
	.state_free = dns_state_free,
};
