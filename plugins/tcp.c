/*
 * tcp.c: the generic TCP plugin: response times for TCP services no other
 * plugin understands (a custom application, PostgreSQL, Redis), and for
 * TLS, whose payload nobody can read.
 *
 * Place in the data flow: reassembly -> [this plugin] -> txn.  The core
 * hands us the in-order bytes of each direction of flows on the ports the
 * user lists (`tcp.ports`; 443 by default); we only say where transactions
 * begin and end.  Nothing here looks inside the application protocol.
 *
 * Turns.  A transaction is one client turn and the server turn that
 * answers it: the client's bytes until the server starts sending, then the
 * server's bytes until the client sends again or the connection ends.
 * Two requests the client sends back to back are one turn; a server that
 * speaks first (SMTP, FTP, MySQL) gives a "greeting" transaction that
 * starts when the TCP handshake ends.  Turns are exact for lock-step
 * request/response protocols and a guess for everything else (pipelining,
 * server push, full-duplex streams): docs/protocols/tcp-and-tls.md says
 * what the numbers mean then.
 *
 * Names.  The rules (tcp.sigs) see the first HEAD_MAX bytes of each client
 * turn; with no match the name is TCP_<server port> (TCP_<port>_greeting
 * for a greeting), set through txn_name_default().
 *
 * TLS.  A client turn that starts with a ClientHello record switches the
 * flow to TLS, on any port.  We walk the record layer (5-byte headers; a
 * record's body is skipped, never buffered) and, in the server's plaintext
 * handshake records, the handshake message headers and the one message we
 * read, ServerHello, with a streaming parser: nothing is buffered.  That
 * gives:
 *   TLS_handshake   ClientHello -> the server's first flight (to its last
 *                   record before the client speaks again): ServerHelloDone
 *                   in TLS 1.2, the encrypted Finished in TLS 1.3.  Status
 *                   "TLS1.2"/"TLS1.3" (ServerHello's supported_versions,
 *                   else its legacy version), "alert" (an error) if the
 *                   server sent an alert record.
 *   TLS_finished    TLS 1.2 full handshakes only: the client's
 *                   ClientKeyExchange..Finished flight -> the server's
 *                   ChangeCipherSpec and Finished.  TLS 1.3 and resumed
 *                   1.2 handshakes have no such round trip: the client's
 *                   Finished needs no answer and is left untimed.
 *   TLS_hello_retry a HelloRetryRequest round trip (the handshake proper
 *                   follows as TLS_handshake).
 *   TLS_turn        every later turn, opaque.
 * After the handshake nothing is parsed: turns need no record boundaries,
 * except that a packet holding exactly one alert record (the close_notify
 * of either side) is left out of every turn.
 *
 * Memory: the per-flow state is a few pointers and counters (48 bytes on
 * LP64); the rule text buffer (HEAD_MAX) lives only while a short client
 * turn is being collected, the TLS parser only during the handshake.
 *
 * Not done: no decryption, no SNI or certificate parsing, no attempt to
 * find message boundaries inside an opaque stream.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artmon-plugin.h"
#include "cursor.h"

/* ---------------------------------------------------------------- limits */

/* Bytes of a client turn the rules see.  Enough for a SQL statement's
 * start or a RESP command name; a longer window would cost a buffer per
 * turn for no naming anyone needs. */
#define HEAD_MAX 256

/* Largest TLSCiphertext.length (RFC 5246 6.2.3: 2^14 + 2048); anything
 * larger is not a TLS record, and the flow falls back to opaque turns. */
#define TLS_RECORD_MAX (16384 + 2048)

/* Longest name we build: "TCP_65535_greeting". */
#define NAME_BUF 32

/* ---------------------------------------------------------------- types */

enum mode {
	MODE_OPAQUE,	/* turns, named by rules */
	MODE_TLS_HS,	/* TLS handshake: records parsed (st->tls) */
	MODE_TLS_APP	/* TLS after the handshake: opaque TLS_turn */
};

enum turn {
	TURN_NONE,	/* nothing seen yet: server bytes are a greeting */
	TURN_CLIENT,	/* the client is sending */
	TURN_SERVER	/* the server is sending, or between turns: the
			 * client's next bytes start a turn */
};

/* What the open transaction is: decides its status at close. */
enum kind {
	KIND_TURN,
	KIND_GREETING,
	KIND_TLS_HANDSHAKE,
	KIND_TLS_FINISHED,
	KIND_TLS_TURN
};

/* TLS handshake phases (MODE_TLS_HS). */
enum phase {
	PH_HELLO,	/* client's ClientHello turn (handshake txn open) */
	PH_FLIGHT,	/* server's first flight (handshake txn open) */
	PH_FIN_TIMED,	/* 1.2 full: client's finishing flight (TLS_finished) */
	PH_FIN_ANSWER,	/* 1.2 full: server's CCS + Finished */
	PH_FIN_UNTIMED	/* 1.3 / resumed: client's Finished, not timed */
};

/* struct tcp_flow.flags */
#define F_NAME_PENDING	0x0001	/* open turn still to be named by rules */
#define F_TLS_CHECK	0x0002	/* turn's first bytes not yet checked for TLS */
#define F_HEAD_CUT	0x0004	/* a gap cut the turn's text: no more of it */
#define F_TURN_GAP	0x0008	/* the turn's start was lost: flag GAP */
#define F_ANSWERED	0x0010	/* the open txn has response bytes */
#define F_UNSYNCED	0x0020	/* mid-stream: wait for the server to speak */
#define F_MIDSTREAM	0x0040	/* picked up without the handshake */
#define F_CLIENT_ENDED	0x0080	/* the client closed its side */
#define F_ALERT		0x0100	/* server alert during the handshake */
#define F_MALFORMED	0x0200	/* MALFORMED counted for this flow */

/* Record layer of one direction. */
struct tls_rec {
	uint16_t left;		/* body bytes left in the current record */
	uint8_t have;		/* header bytes collected (0..4) */
	uint8_t type;		/* content type of the current record */
	bool in_body;
	uint8_t hdr[5];
};

/* ServerHello fields, in wire order (RFC 8446 4.1.3). */
enum sh_field {
	SH_VERSION,	/* legacy_version (2) */
	SH_RANDOM,	/* random (32): compared with the HRR value */
	SH_SIDLEN,	/* legacy_session_id length (1), then the id */
	SH_CIPHER,	/* cipher_suite (2) */
	SH_COMP,	/* legacy_compression_method (1) */
	SH_EXTLEN,	/* extensions length (2) */
	SH_EXTHDR,	/* extension type (2), length (2) */
	SH_SV,		/* supported_versions: selected_version (2) */
	SH_DONE
};

/* Handshake parser: allocated at the ClientHello, freed after the
 * handshake, so an established connection carries none of it. */
struct tls_hs {
	struct tls_rec rec[2];	/* [ARTMON_C2S], [ARTMON_S2C] */
	uint32_t msg_left;	/* server: body bytes left in the message */
	uint8_t msg_have;	/* message header bytes collected (0..3) */
	uint8_t msg_type;
	bool in_msg;
	uint8_t msg_hdr[4];
	/* ServerHello parser */
	uint8_t sh_field;	/* enum sh_field: the next to read */
	uint8_t sh_have;	/* bytes of it collected */
	uint8_t sh_buf[4];
	uint16_t sh_skip;	/* bytes to pass before sh_field */
	uint16_t sh_ext_left;	/* extension bytes not yet reached */
	uint16_t sh_legacy;	/* legacy_version */
	uint16_t sh_selected;	/* supported_versions; 0: absent */
	bool sh_hrr;		/* random so far equals the HRR value */
	/* what the server's flight showed */
	bool hrr;		/* it was a HelloRetryRequest */
	bool hello_done;	/* ServerHelloDone: a 1.2 full handshake */
	bool server_ccs;	/* ChangeCipherSpec: the rest is encrypted */
	uint8_t phase;		/* enum phase */
};

struct tcp_flow {
	artmon_flow *flow;
	artmon_txn *txn;	/* the open transaction, or NULL */
	uint8_t *head;		/* first bytes of the client turn; lazily */
	struct tls_hs *tls;	/* MODE_TLS_HS only */
	uint16_t port;		/* server port, for the default names */
	uint16_t head_len;
	uint16_t flags;		/* F_* */
	uint16_t tls_version;	/* negotiated; 0: not seen */
	uint8_t mode;		/* enum mode */
	uint8_t turn;		/* enum turn */
	uint8_t kind;		/* enum kind of txn */
};

/* A million idle connections must fit in the sensor's memory budget:
 * keep this at six pointers' worth on LP64 (malloc rounds it to 64). */
_Static_assert(sizeof(void *) != 8 || sizeof(struct tcp_flow) <= 48,
	       "struct tcp_flow grew past 48 bytes");

static const struct artmon_host *host;

/* SHA-256("HelloRetryRequest"): a ServerHello with this random is an HRR
 * (RFC 8446 4.1.3). */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
	0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
	0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* ---------------------------------------------------------------- helpers */

static void count_malformed(struct tcp_flow *st)
{
	/* Once per flow: a flow that lost sync would otherwise count every
	 * packet after it. */
	if (st->flags & F_MALFORMED)
		return;
	st->flags |= F_MALFORMED;
	host->count(st->flow, ARTMON_EV_MALFORMED);
}

static const char *version_name(uint16_t v)
{
	switch (v) {
	case 0:
		return NULL;
	case 0x0300:
		return "SSL3.0";
	case 0x0301:
		return "TLS1.0";
	case 0x0302:
		return "TLS1.1";
	case 0x0303:
		return "TLS1.2";
	case 0x0304:
		return "TLS1.3";
	default:
		return "TLS?";
	}
}

static void drop_head(struct tcp_flow *st)
{
	free(st->head);
	st->head = NULL;
	st->head_len = 0;
}

/* The handshake is over (or can no longer be followed): opaque turns. */
static void tls_leave(struct tcp_flow *st)
{
	free(st->tls);
	st->tls = NULL;
	st->mode = MODE_TLS_APP;
}

static void name_default(struct tcp_flow *st, const char *suffix)
{
	char name[NAME_BUF];

	snprintf(name, sizeof name, "TCP_%u%s", st->port, suffix);
	host->txn_name_default(st->txn, name);
}

static artmon_txn *open_txn(struct tcp_flow *st, int64_t start_ns,
			    enum kind kind)
{
	st->txn = host->txn_open(st->flow, start_ns);
	st->kind = (uint8_t)kind;
	st->flags &= (uint16_t)~(F_ANSWERED | F_NAME_PENDING | F_TLS_CHECK |
				 F_HEAD_CUT);
	switch (kind) {
	case KIND_TURN:
		name_default(st, "");
		break;
	case KIND_GREETING:
		name_default(st, "_greeting");
		break;
	case KIND_TLS_HANDSHAKE:
		host->txn_name_default(st->txn, "TLS_handshake");
		break;
	case KIND_TLS_FINISHED:
		host->txn_name_default(st->txn, "TLS_finished");
		break;
	case KIND_TLS_TURN:
		host->txn_name_default(st->txn, "TLS_turn");
		break;
	}
	return st->txn;
}

/* Run the rules over the turn's first bytes (text may be NULL: the turn's
 * start was lost or not kept, and the default name stays). */
static void name_turn(struct tcp_flow *st, const uint8_t *text, size_t len)
{
	if (text && len)
		host->txn_name(st->txn, text, len);
	st->flags &= (uint16_t)~F_NAME_PENDING;
}

enum close_why {
	CLOSE_TURN,	/* the client spoke again: the answer is complete */
	CLOSE_SERVER_END,	/* the server closed its side */
	CLOSE_FLOW	/* the flow is going away (idle, evicted, end) */
};

/*
 * Close the open transaction with the status its kind and the way it
 * ended call for.  A turn nobody answered: if the client had closed its
 * side it was a goodbye (PostgreSQL's Terminate, MySQL's COM_QUIT):
 * "client_closed", not an error; if the server closed on
 * it, "server_closed", an error; otherwise (idle expiry, end of capture)
 * the core's "timeout".  The core flags all three ARTMON_TXN_TIMEOUT: no
 * response came.
 */
static void close_txn(struct tcp_flow *st, enum close_why why)
{
	const char *status = NULL;
	bool error = false;
	unsigned flags = 0;

	if (!st->txn)
		return;
	if (st->flags & F_NAME_PENDING)
		name_turn(st, st->head, st->head_len);
	if (st->flags & F_TURN_GAP)
		flags |= ARTMON_TXN_GAP;
	if (!(st->flags & F_ANSWERED)) {
		if (why != CLOSE_TURN && (st->flags & F_CLIENT_ENDED)) {
			status = "client_closed";
		} else if (why == CLOSE_SERVER_END) {
			status = "server_closed";
			error = true;
		} else {
			error = true;
			flags |= ARTMON_TXN_TIMEOUT;
		}
	} else if (st->kind == KIND_TLS_HANDSHAKE ||
		   st->kind == KIND_TLS_FINISHED) {
		if (st->flags & F_ALERT) {
			status = "alert";
			error = true;
		} else {
			status = version_name(st->tls_version);
		}
	}
	host->txn_close(st->txn, status, error, flags);
	st->txn = NULL;
	st->flags &= (uint16_t)~(F_NAME_PENDING | F_TLS_CHECK | F_TURN_GAP |
				 F_ANSWERED | F_ALERT | F_HEAD_CUT);
	drop_head(st);
}

/* ---------------------------------------------------------------- TLS: detection */

/* A handshake record that starts a ClientHello: 16 03 0x LL LL 01. */
static bool is_client_hello(const uint8_t *t, size_t n)
{
	struct cursor c;
	uint8_t type = 0, major = 0, minor = 0, hs = 0;
	uint16_t len = 0;

	cur_init(&c, t, n);
	cur_u8(&c, &type);
	cur_u8(&c, &major);
	cur_u8(&c, &minor);
	cur_be16(&c, &len);
	cur_u8(&c, &hs);
	return !c.bad && type == 22 && major == 3 && minor <= 4 && len >= 4 &&
	       len <= TLS_RECORD_MAX && hs == 1;
}

/* An application-data record header (mid-stream pickup): 17 03 0x LL LL. */
static bool is_app_record(const uint8_t *t, size_t n)
{
	struct cursor c;
	uint8_t type = 0, major = 0, minor = 0;
	uint16_t len = 0;

	cur_init(&c, t, n);
	cur_u8(&c, &type);
	cur_u8(&c, &major);
	cur_u8(&c, &minor);
	cur_be16(&c, &len);
	return !c.bad && type == 23 && major == 3 && minor >= 1 &&
	       minor <= 4 && len > 0 && len <= TLS_RECORD_MAX;
}

/*
 * Bytes (one packet's) that are exactly one alert record: the
 * close_notify each side sends when it closes.  TLS 1.2 shows an alert's
 * record type (21).  TLS 1.3 encrypts it like data, but an alert is then
 * one record of 19 bytes (2 of alert, 1 of inner content type, 16 of AEAD
 * tag), shorter than any real message, so a packet of exactly that is
 * taken for one.  Timed, a client's would be a request nobody made
 * (answered by the server's close, or by nothing: an error), and a
 * server's would stretch the last answer to whenever the server closed
 * the idle connection.
 */
static bool is_closing_alert(const struct tcp_flow *st, const uint8_t *t,
			     size_t n)
{
	struct cursor c;
	uint8_t type = 0, major = 0, minor = 0;
	uint16_t len = 0;

	cur_init(&c, t, n);
	cur_u8(&c, &type);
	cur_u8(&c, &major);
	cur_u8(&c, &minor);
	cur_be16(&c, &len);
	if (c.bad || major != 3 || cur_remaining(&c) != len)
		return false;
	return type == 21 ||
	       (type == 23 && len == 19 && st->tls_version != 0x0303);
}

/* ---------------------------------------------------------------- TLS: ServerHello */

static void sh_start(struct tls_hs *h)
{
	h->sh_field = SH_VERSION;
	h->sh_have = 0;
	h->sh_skip = 0;
	h->sh_ext_left = 0;
	h->sh_legacy = 0;
	h->sh_selected = 0;
	h->sh_hrr = true;
}

static const uint8_t sh_size[] = {
	[SH_VERSION] = 2, [SH_SIDLEN] = 1, [SH_CIPHER] = 2, [SH_COMP] = 1,
	[SH_EXTLEN] = 2, [SH_EXTHDR] = 4, [SH_SV] = 2,
};

/* Act on the field just collected in sh_buf. */
static void sh_field_done(struct tls_hs *h)
{
	struct cursor c;
	uint8_t u8 = 0;
	uint16_t a = 0, b = 0;

	cur_init(&c, h->sh_buf, sh_size[h->sh_field]);
	switch (h->sh_field) {
	case SH_VERSION:
		cur_be16(&c, &h->sh_legacy);
		h->sh_field = SH_RANDOM;
		h->sh_skip = sizeof hrr_random;
		break;
	case SH_SIDLEN:
		cur_u8(&c, &u8);
		/* At most 32 bytes (RFC 8446 4.1.3); longer is not a
		 * ServerHello we can read further. */
		h->sh_field = u8 <= 32 ? SH_CIPHER : SH_DONE;
		h->sh_skip = u8;
		break;
	case SH_CIPHER:
		h->sh_field = SH_COMP;
		break;
	case SH_COMP:
		h->sh_field = SH_EXTLEN;
		break;
	case SH_EXTLEN:
		cur_be16(&c, &h->sh_ext_left);
		h->sh_field = h->sh_ext_left >= 4 ? SH_EXTHDR : SH_DONE;
		break;
	case SH_EXTHDR:
		cur_be16(&c, &a);	/* type */
		cur_be16(&c, &b);	/* length */
		h->sh_ext_left -= 4;	/* >= 4: checked before SH_EXTHDR */
		if (b > h->sh_ext_left) {
			h->sh_field = SH_DONE;	/* overruns its list */
			break;
		}
		h->sh_ext_left -= b;
		if (a == 43 && b == 2) {	/* supported_versions */
			h->sh_field = SH_SV;
			break;
		}
		h->sh_skip = b;
		h->sh_field = h->sh_ext_left >= 4 ? SH_EXTHDR : SH_DONE;
		break;
	case SH_SV:
		cur_be16(&c, &h->sh_selected);
		h->sh_field = SH_DONE;	/* all we wanted */
		break;
	default:
		h->sh_field = SH_DONE;
		break;
	}
}

/* Feed bytes of the ServerHello's body (never past its end: the caller
 * gives a sub-cursor bounded by the message length). */
static void sh_feed(struct tls_hs *h, struct cursor *c)
{
	while (h->sh_field != SH_DONE && cur_remaining(c) > 0) {
		if (h->sh_skip) {
			size_t k = MIN((size_t)h->sh_skip, cur_remaining(c));
			const uint8_t *p = NULL;
			if (!cur_bytes(c, k, &p))
				return;
			if (h->sh_field == SH_RANDOM) {
				size_t pos = sizeof hrr_random - h->sh_skip;
				if (memcmp(p, hrr_random + pos, k) != 0)
					h->sh_hrr = false;
			}
			h->sh_skip = (uint16_t)(h->sh_skip - k);
			if (!h->sh_skip && h->sh_field == SH_RANDOM)
				h->sh_field = SH_SIDLEN;
			continue;
		}
		size_t want = sh_size[h->sh_field] - h->sh_have;
		size_t k = MIN(want, cur_remaining(c));
		if (!cur_copy(c, h->sh_buf + h->sh_have, k))
			return;
		h->sh_have = (uint8_t)(h->sh_have + k);
		if (h->sh_have < sh_size[h->sh_field])
			return;
		h->sh_have = 0;
		sh_field_done(h);
	}
}

/* ---------------------------------------------------------------- TLS: messages and records */

static void msg_done(struct tcp_flow *st, struct tls_hs *h)
{
	h->in_msg = false;
	switch (h->msg_type) {
	case 2:		/* ServerHello */
		if (h->sh_field == SH_VERSION)
			break;	/* empty: nothing learnt */
		st->tls_version = h->sh_selected ? h->sh_selected
						 : h->sh_legacy;
		/* A complete random equal to the HRR value. */
		h->hrr = h->sh_hrr && h->sh_field > SH_RANDOM;
		break;
	case 14:	/* ServerHelloDone */
		h->hello_done = true;
		break;
	default:
		break;
	}
}

/*
 *   Handshake message (RFC 8446 4):
 *   +------+----------------+------------------
 *   | type | length (24 bit)| body ...
 *   +------+----------------+------------------
 * Messages may span records and records may hold several; we keep only
 * the header being read and the count of body bytes left.
 */
static void server_msgs(struct tcp_flow *st, struct tls_hs *h,
			struct cursor *c)
{
	while (cur_remaining(c) > 0) {
		if (!h->in_msg) {
			size_t k = MIN((size_t)(4 - h->msg_have),
				       cur_remaining(c));
			if (!cur_copy(c, h->msg_hdr + h->msg_have, k))
				return;
			h->msg_have = (uint8_t)(h->msg_have + k);
			if (h->msg_have < 4)
				return;
			h->msg_have = 0;
			h->in_msg = true;
			h->msg_type = h->msg_hdr[0];
			h->msg_left = (uint32_t)h->msg_hdr[1] << 16 |
				      (uint32_t)h->msg_hdr[2] << 8 |
				      h->msg_hdr[3];
			if (h->msg_type == 2)
				sh_start(h);
			if (h->msg_left == 0)
				msg_done(st, h);
			continue;
		}
		size_t k = MIN((size_t)h->msg_left, cur_remaining(c));
		struct cursor body;
		if (!cur_sub(c, k, &body))
			return;
		if (h->msg_type == 2)
			sh_feed(h, &body);
		h->msg_left -= (uint32_t)k;
		if (h->msg_left == 0)
			msg_done(st, h);
	}
}

enum rec_result {
	REC_MORE,	/* all bytes consumed */
	REC_STOP,	/* stopped at a record boundary the caller wanted */
	REC_BAD		/* not TLS records */
};

/* A record of dir starts: its header is known.  true: stop here. */
static bool record_start(struct tcp_flow *st, int dir, uint8_t type)
{
	struct tls_hs *h = st->tls;

	if (dir == ARTMON_S2C) {
		if (type == 21 && (h->phase == PH_FLIGHT ||
				   h->phase == PH_FIN_ANSWER))
			st->flags |= F_ALERT;
		if (type == 20)
			h->server_ccs = true;
		return false;
	}
	/* Client, 1.2 full handshake: application data in the finishing
	 * flight (False Start) makes it an application turn. */
	return h->phase == PH_FIN_TIMED && type == 23;
}

/* A record of dir is complete.  true: stop here. */
static bool record_end(struct tcp_flow *st, int dir, uint8_t type)
{
	/* The client's untimed finishing flight ends with its first record
	 * that is not a ChangeCipherSpec: Finished (TLS 1.3: the first
	 * encrypted record; resumed 1.2: the handshake record after CCS). */
	return dir == ARTMON_C2S && st->tls->phase == PH_FIN_UNTIMED &&
	       type != 20;
}

/*
 *   TLS record (RFC 8446 5.1):
 *   +------+---------+---------+---------------
 *   | type | version | length  | body (length bytes)
 *   |  1   |    2    |    2    |
 *   +------+---------+---------+---------------
 * Walk the records in c for dir.  Headers may be split across callbacks
 * (kept in rec->hdr); bodies are skipped except the server's plaintext
 * handshake records, whose message headers server_msgs() reads.
 */
static enum rec_result walk_records(struct tcp_flow *st, int dir,
				    struct cursor *c)
{
	struct tls_hs *h = st->tls;
	struct tls_rec *r = &h->rec[dir];

	while (cur_remaining(c) > 0) {
		if (!r->in_body) {
			size_t k = MIN((size_t)(5 - r->have), cur_remaining(c));
			if (!cur_copy(c, r->hdr + r->have, k))
				return REC_BAD;
			r->have = (uint8_t)(r->have + k);
			if (r->have < 5)
				return REC_MORE;
			r->have = 0;

			struct cursor hc;
			uint8_t type = 0, major = 0, minor = 0;
			uint16_t len = 0;
			cur_init(&hc, r->hdr, sizeof r->hdr);
			cur_u8(&hc, &type);
			cur_u8(&hc, &major);
			cur_u8(&hc, &minor);
			cur_be16(&hc, &len);
			if (hc.bad || type < 20 || type > 24 || major != 3 ||
			    minor > 4 || len > TLS_RECORD_MAX)
				return REC_BAD;
			r->type = type;
			r->left = len;
			r->in_body = true;
			if (record_start(st, dir, type))
				return REC_STOP;
			if (len > 0)
				continue;
			/* An empty record (allowed for application data)
			 * ends at once: the 5 header bytes were progress. */
			r->in_body = false;
			if (record_end(st, dir, type))
				return REC_STOP;
			continue;
		}
		size_t k = MIN((size_t)r->left, cur_remaining(c));
		struct cursor body;
		if (!cur_sub(c, k, &body))
			return REC_BAD;
		if (dir == ARTMON_S2C && r->type == 22 && !h->server_ccs)
			server_msgs(st, h, &body);
		r->left = (uint16_t)(r->left - k);
		if (r->left == 0) {
			r->in_body = false;
			if (record_end(st, dir, r->type))
				return REC_STOP;
		}
	}
	return REC_MORE;
}

/* ---------------------------------------------------------------- turns */

static void opaque_client(struct tcp_flow *st, const uint8_t *p, size_t n,
			  bool new_turn);

/* The client's turn is over: the server starts answering. */
static void client_turn_over(struct tcp_flow *st)
{
	if (st->flags & F_NAME_PENDING)
		name_turn(st, st->head, st->head_len);
	st->flags &= (uint16_t)~(F_TLS_CHECK | F_HEAD_CUT);
	drop_head(st);
	if (st->mode == MODE_TLS_HS) {
		if (st->tls->phase == PH_HELLO)
			st->tls->phase = PH_FLIGHT;
		else if (st->tls->phase == PH_FIN_TIMED)
			st->tls->phase = PH_FIN_ANSWER;
	}
}

/*
 * Keep the turn's first bytes for the rules and the TLS check; act on them
 * as soon as there are enough.  The first packet of a turn usually holds
 * HEAD_MAX bytes or the whole turn; a buffer is taken only otherwise.
 */
static void client_head(struct tcp_flow *st, const uint8_t *p, size_t n)
{
	const uint8_t *text = NULL;
	size_t tlen = 0;

	if (st->flags & F_HEAD_CUT)
		return;
	if (!st->head && st->head_len == 0 && n >= HEAD_MAX) {
		text = p;
		tlen = HEAD_MAX;
	} else {
		if (!st->head && !(st->head = malloc(HEAD_MAX))) {
			/* No text: the default name, no TLS check. */
			st->flags &= (uint16_t)~(F_NAME_PENDING | F_TLS_CHECK);
			return;
		}
		struct cursor c;
		size_t k = MIN(n, (size_t)(HEAD_MAX - st->head_len));
		cur_init(&c, p, n);
		if (!cur_copy(&c, st->head + st->head_len, k))
			return;
		st->head_len = (uint16_t)(st->head_len + k);
		text = st->head;
		tlen = st->head_len;
	}

	if ((st->flags & F_TLS_CHECK) && tlen >= 6) {
		st->flags &= (uint16_t)~F_TLS_CHECK;
		if (is_client_hello(text, tlen)) {
			struct tls_hs *h = calloc(1, sizeof *h);
			if (h) {
				st->tls = h;
				st->mode = MODE_TLS_HS;
				h->phase = PH_HELLO;
				st->kind = KIND_TLS_HANDSHAKE;
				host->txn_name_default(st->txn,
						       "TLS_handshake");
			} else {
				st->mode = MODE_TLS_APP;
				st->kind = KIND_TLS_TURN;
				host->txn_name_default(st->txn, "TLS_turn");
			}
			st->tls_version = 0;
			st->flags &= (uint16_t)~F_NAME_PENDING;
			drop_head(st);
			return;
		}
		if ((st->flags & F_MIDSTREAM) && is_app_record(text, tlen)) {
			/* Picked up inside a TLS session: records cannot
			 * be resynchronised reliably, so opaque turns. */
			st->mode = MODE_TLS_APP;
			st->kind = KIND_TLS_TURN;
			host->txn_name_default(st->txn, "TLS_turn");
			st->flags &= (uint16_t)~F_NAME_PENDING;
			drop_head(st);
			return;
		}
	}
	if ((st->flags & F_NAME_PENDING) && tlen >= HEAD_MAX) {
		name_turn(st, text, tlen);
		drop_head(st);
		/* Nothing more to collect for this turn. */
		st->flags |= F_HEAD_CUT;
	}
}

/* Client bytes outside the TLS handshake: one transaction per turn. */
static void opaque_client(struct tcp_flow *st, const uint8_t *p, size_t n,
			  bool new_turn)
{
	if (new_turn) {
		bool lost_start = (st->flags & F_TURN_GAP) != 0;
		close_txn(st, CLOSE_TURN);
		if (st->mode == MODE_TLS_APP && !lost_start &&
		    is_closing_alert(st, p, n)) {
			return;		/* an untimed turn */
		} else if (st->mode == MODE_TLS_APP) {
			open_txn(st, 0, KIND_TLS_TURN);
		} else {
			open_txn(st, 0, KIND_TURN);
			/* A turn whose start was lost has no text to name
			 * it by, and is no ClientHello we could follow. */
			if (!lost_start)
				st->flags |= F_NAME_PENDING | F_TLS_CHECK;
		}
		if (lost_start)
			st->flags |= F_TURN_GAP;
	}
	if (!st->txn)
		return;		/* an untimed turn */
	host->txn_request(st->txn, n);
	if (st->flags & (F_NAME_PENDING | F_TLS_CHECK))
		client_head(st, p, n);
}

/* Client bytes during the TLS handshake. */
static void tls_client(struct tcp_flow *st, const uint8_t *p, size_t n,
		       bool new_turn)
{
	struct tls_hs *h = st->tls;
	struct cursor c;

	if (new_turn && h->phase == PH_FLIGHT) {
		/* The server's first flight is over. */
		if (h->hrr) {
			if (st->txn)
				host->txn_name_default(st->txn,
						       "TLS_hello_retry");
			close_txn(st, CLOSE_TURN);
			h->hrr = false;
			h->hello_done = false;
			h->server_ccs = false;	/* 1.3's was a dummy */
			h->phase = PH_HELLO;
			open_txn(st, 0, KIND_TLS_HANDSHAKE);
			host->txn_request(st->txn, n);
			return;
		}
		uint8_t first = 0;
		cur_init(&c, p, n);
		if (cur_u8(&c, &first) && first == 21) {
			/* The client answers with an alert (TLS 1.2: it
			 * rejected the certificate): the handshake failed
			 * on the client's side.  This turn is not timed. */
			if (st->txn) {
				host->txn_close(st->txn, "client_alert", true,
						0);
				st->txn = NULL;
				st->flags &= (uint16_t)~(F_ANSWERED | F_ALERT);
			}
			tls_leave(st);
			return;
		}
		bool full = h->hello_done && !h->server_ccs &&
			    !(st->flags & F_ALERT) &&
			    st->tls_version <= 0x0303;
		close_txn(st, CLOSE_TURN);
		memset(&h->rec[ARTMON_C2S], 0, sizeof h->rec[ARTMON_C2S]);
		if (full) {
			h->phase = PH_FIN_TIMED;
			open_txn(st, 0, KIND_TLS_FINISHED);
		} else {
			h->phase = PH_FIN_UNTIMED;
		}
	} else if (new_turn && h->phase == PH_FIN_ANSWER) {
		/* The server's Finished came: the handshake is complete,
		 * and this is the first application turn. */
		tls_leave(st);
		opaque_client(st, p, n, true);
		return;
	}

	switch (h->phase) {
	case PH_HELLO:
		if (st->txn)
			host->txn_request(st->txn, n);
		return;
	case PH_FIN_TIMED:
		if (st->txn)
			host->txn_request(st->txn, n);
		cur_init(&c, p, n);
		switch (walk_records(st, ARTMON_C2S, &c)) {
		case REC_STOP:
			/* Application data with the Finished (False
			 * Start): an application turn. */
			if (st->txn)
				host->txn_name_default(st->txn, "TLS_turn");
			st->kind = KIND_TLS_TURN;
			tls_leave(st);
			break;
		case REC_BAD:
			count_malformed(st);
			tls_leave(st);
			break;
		case REC_MORE:
			break;
		}
		return;
	case PH_FIN_UNTIMED:
		cur_init(&c, p, n);
		switch (walk_records(st, ARTMON_C2S, &c)) {
		case REC_STOP:
			/* The client's Finished is complete; what follows
			 * in this packet is its first request. */
			tls_leave(st);
			st->turn = TURN_SERVER;	/* next bytes: a new turn */
			if (cur_remaining(&c) > 0) {
				st->turn = TURN_CLIENT;
				opaque_client(st, cur_ptr(&c),
					      cur_remaining(&c), true);
			}
			break;
		case REC_BAD:
			count_malformed(st);
			tls_leave(st);
			opaque_client(st, p, n, true);
			break;
		case REC_MORE:
			break;
		}
		return;
	default:
		return;
	}
}

static void client_bytes(struct tcp_flow *st, const uint8_t *p, size_t n)
{
	bool new_turn = st->turn != TURN_CLIENT;

	st->turn = TURN_CLIENT;
	if (st->flags & F_UNSYNCED)
		return;		/* mid-stream: maybe inside a turn */
	if (st->mode == MODE_TLS_HS)
		tls_client(st, p, n, new_turn);
	else
		opaque_client(st, p, n, new_turn);
}

static void server_bytes(struct tcp_flow *st, const uint8_t *p, size_t n)
{
	if (st->flags & F_UNSYNCED) {
		/* Picked up mid-stream: the client's next bytes start a
		 * turn.  Server bytes before any client bytes answer a
		 * request we never saw. */
		st->flags &= (uint16_t)~F_UNSYNCED;
		if (st->turn == TURN_NONE)
			host->count(st->flow, ARTMON_EV_ORPHAN_RESPONSE);
		st->turn = TURN_SERVER;
		return;
	}
	if (st->turn == TURN_NONE) {
		/* The server speaks first: a greeting, timed from the end
		 * of the TCP handshake, if we saw it. */
		const struct artmon_flow_info *fi = host->flow_info(st->flow);
		if (fi && fi->handshake_done_ns && !fi->midstream)
			open_txn(st, fi->handshake_done_ns, KIND_GREETING);
		else
			host->count(st->flow, ARTMON_EV_ORPHAN_RESPONSE);
	} else if (st->turn == TURN_CLIENT) {
		client_turn_over(st);
	}
	st->turn = TURN_SERVER;

	if (st->mode == MODE_TLS_HS) {
		struct cursor c;
		cur_init(&c, p, n);
		if (walk_records(st, ARTMON_S2C, &c) == REC_BAD) {
			count_malformed(st);
			tls_leave(st);
		}
	}
	if (st->mode == MODE_TLS_APP && is_closing_alert(st, p, n))
		return;		/* not part of any answer */
	if (st->txn) {
		host->txn_response(st->txn, n);
		st->flags |= F_ANSWERED;
	}
}

/* ---------------------------------------------------------------- callbacks */

static int tcp_init(const struct artmon_host *h, char *err, size_t errlen)
{
	host = h;
	(void)err;
	(void)errlen;
	return 0;
}

static void *tcp_state_new(artmon_flow *flow)
{
	struct tcp_flow *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->flow = flow;
	const struct artmon_flow_info *fi = host->flow_info(flow);
	if (fi) {
		st->port = fi->server_port;
		if (fi->midstream)
			st->flags |= F_UNSYNCED | F_MIDSTREAM;
	}
	return st;
}

static void tcp_data(void *state, enum artmon_dir dir, const uint8_t *data,
		     size_t len, int64_t ts_ns)
{
	struct tcp_flow *st = state;

	(void)ts_ns;	/* the core times; we only attribute bytes */
	if (len == 0 || !data)
		return;
	if (dir == ARTMON_C2S)
		client_bytes(st, data, len);
	else
		server_bytes(st, data, len);
}

/*
 * Bytes were lost.  The core has flagged the open transaction; we keep
 * the turn structure right where it is knowable: lost client bytes while
 * the server had the floor started a new client turn (timed from the bytes
 * after the gap, flagged, unnamed); lost server bytes while the client had
 * it started the answer.  A TLS handshake cannot be followed across a
 * hole (record boundaries are lost), so the flow goes on as opaque
 * TLS_turns; that is capture loss, not a protocol violation, and is not
 * counted as malformed.
 */
static void tcp_gap(void *state, enum artmon_dir dir, uint64_t nbytes)
{
	struct tcp_flow *st = state;

	(void)nbytes;
	if (st->mode == MODE_TLS_HS)
		tls_leave(st);
	if (st->flags & F_UNSYNCED)
		return;
	if (dir == ARTMON_C2S) {
		if (st->turn == TURN_CLIENT) {
			st->flags |= F_HEAD_CUT;
			st->flags &= (uint16_t)~F_TLS_CHECK;
		} else {
			close_txn(st, CLOSE_TURN);
			st->flags |= F_TURN_GAP;
			st->turn = TURN_SERVER;	/* next bytes open a turn */
		}
	} else if (st->turn == TURN_CLIENT) {
		client_turn_over(st);
		st->turn = TURN_SERVER;
	} else if (st->turn == TURN_NONE) {
		st->turn = TURN_SERVER;	/* a greeting we cannot time */
	}
}

static void tcp_end(void *state, enum artmon_dir dir)
{
	struct tcp_flow *st = state;

	if (dir == ARTMON_C2S) {
		/* The server may still answer (a half-close); the turn's
		 * text is complete, though. */
		st->flags |= F_CLIENT_ENDED;
		if (st->txn && st->turn == TURN_CLIENT &&
		    (st->flags & F_NAME_PENDING)) {
			name_turn(st, st->head, st->head_len);
			drop_head(st);
		}
		return;
	}
	close_txn(st, CLOSE_SERVER_END);
}

static void tcp_close(void *state)
{
	struct tcp_flow *st = state;

	close_txn(st, CLOSE_FLOW);
}

static void tcp_state_free(void *state)
{
	struct tcp_flow *st = state;

	if (!st)
		return;
	free(st->head);
	free(st->tls);
	free(st);
}

static const uint16_t tcp_ports[] = { 443, 0 };

const struct artmon_plugin artmon_plugin = {
	ARTMON_PLUGIN_HEADER,
	.name = "tcp",
	.default_name = "TCP_other",
	.transports = ARTMON_TCP,
	.default_ports = tcp_ports,
	.init = tcp_init,
	.state_new = tcp_state_new,
	.data = tcp_data,
	.gap = tcp_gap,
	.end = tcp_end,
	.close = tcp_close,
	.state_free = tcp_state_free,
};
