/*
 * http.c: the HTTP/1.0 and HTTP/1.1 plugin.
 *
 * Place in the data flow: reassembly -> [http: find requests and responses
 * in the two byte streams, match them] -> txn (timing, rules, output).
 * One transaction is one request and its final response.  The core does
 * all timing; this file only says which bytes of each callback belong to
 * which request or response (see artmon-plugin.h).
 *
 * Messages.  Each direction is a state machine over its byte stream:
 * start line, header lines, then a body framed as RFC 7230 3.3.3 says:
 * Content-Length (counted, never scanned: up to 2^63-1), chunked (chunk-
 * size lines with extensions, counted chunk data, trailers), or, for a
 * response, everything up to the server's FIN.  Responses to HEAD, 1xx,
 * 204 and 304 have no body.  Lines go through the shared tokenizer
 * (linetok.h): at most HTTP_LINE_MAX bytes of a line are ever held.
 *
 * Transactions.  The first byte of a request line opens one (so `start`
 * is the request's first packet); every byte of the request, head and
 * body, is credited with txn_request(); when the head is complete the
 * rules see its raw bytes (txn_name(), at most HTTP_HEAD_MAX of them).
 * Every byte of the final response, status line to the end of the body,
 * is credited with txn_response(), and its last byte closes the
 * transaction with the 3-digit status (error if >= 400).  A final
 * response that starts before its request has ended (413 during an
 * upload) ends the request's timing there: the bytes the client still
 * sends are not credited, so ttfb is never negative.  Interim
 * responses (100 Continue, 103 Early Hints) are skipped, not credited: a
 * POST with Expect: 100-continue gets its 100 before the body is sent,
 * and counting it would make ttfb negative.  tshark times the final
 * response too, so ttfb and ttlb compare with it.
 *
 * A status line cut by a packet boundary: its first bytes are credited in
 * the packet that carried them as soon as they show it is a final
 * response ("HTTP/1.1 2"); if too few bytes came to tell, they are
 * credited with the packet that completes the line.
 *
 * Matching.  Requests wait in a FIFO per flow (HTTP_MAX_PENDING; past it
 * the oldest is closed as unanswered and QUEUE_FULL counted); a final
 * response answers the oldest request.  That is HTTP/1.1's rule for
 * keep-alive and pipelining.  A response with no request waiting is an
 * orphan (counted; its framing is still read, so the next one is found).
 * CONNECT answered 2xx, and 101 Switching Protocols, end the HTTP part of
 * the connection: the transaction closes, OPAQUE is counted and the flow
 * is stopped.
 *
 * The end of a close-delimited body is the server's FIN: end() credits
 * the packet that ended the stream (txn_response(t, 0)), as tshark counts
 * the FIN as the frame that completes such a response.
 *
 * Losing and finding the framing.  A connection picked up mid-stream, a
 * gap the message framing cannot absorb, or malformed input (a bad
 * request or status line, a bad chunk size, a Content-Length that is no
 * number or that conflicts with another, a line over HTTP_LINE_MAX,
 * Transfer-Encoding on a request without chunked last) sends a direction
 * into resync: the client side waits for a line that looks like a
 * request line ("METHOD SP target SP HTTP/1.x"), the server side drops
 * everything while no request is waiting, and then waits for a line that
 * starts "HTTP/1.".  MALFORMED is counted (not for mid-stream pickup or
 * gaps).  A request cut short stays pending: its response still answers
 * it.  A response cut short by malformed framing is closed with its
 * status.
 *
 * Gaps.  The core flags every open transaction.  A gap inside a body of
 * known length (Content-Length, chunk data) or a close-delimited body
 * only shortens what is left to count: the framing holds.  Any other gap
 * loses the framing; what could then be matched wrongly is closed where
 * that is possible and flagged where it is not:
 *   - server side: the response in progress is closed (with its status
 *     if it was read) and every request already fully sent is closed as
 *     unanswered, with GAP: any of them may have been answered in the
 *     lost bytes.  Responses that show up later for them are orphans.
 *   - client side: the lost bytes may have held whole requests, whose
 *     responses would then be matched to the requests after the gap.
 *     Requests pending before the gap keep their place (their responses
 *     come first).  Requests opened after it are flagged GAP until the
 *     server has answered every request we know of; in lock-step use
 *     (no pipelining) the matching is then still right, and the flag
 *     says that it might not be.
 *
 * Ownership: the per-flow state, the requests in the FIFO, their head
 * copies and the tokenizers' buffers are this plugin's, allocated with
 * malloc and freed by it (state_free() frees whatever close() left).
 * Transaction handles are the core's: each is closed exactly once, by
 * close_oldest(), and forgotten there; none is used after close().
 *
 * Memory: 72 bytes per flow on LP64 (an idle keep-alive connection holds
 * nothing else), plus 32 per request in flight; the line buffers live
 * only while a line spans packets, the head copy (HTTP_HEAD_MAX) only
 * while a request head spans packets.
 *
 * Not done: HTTP/2 (h2c upgrade and prior knowledge end as 101 or as
 * malformed), HTTP/0.9 simple requests, obs-fold continuation lines
 * (ignored: no header this file reads is folded in practice), bodies and
 * header values other than the framing ones.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artmon-plugin.h"
#include "cursor.h"
#include "linetok.h"

/* ---------------------------------------------------------------- limits */

/* Longest start, header, chunk-size or trailer line; nginx's default
 * large_client_header_buffers is 8k. */
#define HTTP_LINE_MAX		8192
/* Bytes of a request head the rules see (the default rule needs only the
 * request line). */
#define HTTP_HEAD_MAX		4096
/* Requests waiting for their responses, per flow. */
#define HTTP_MAX_PENDING	64
/* Longest method a resyncing client side takes as a request line. */
#define HTTP_METHOD_MAX		24

#define C2S ARTMON_C2S
#define S2C ARTMON_S2C

/* ---------------------------------------------------------------- types */

/* Where a direction is in its stream.  The modes between M_START and
 * M_CLOSE are inside a message. */
enum mode {
	M_IDLE,		/* between messages: CR LF skipped; a byte starts one */
	M_START,	/* request line / status line */
	M_HEADERS,	/* header lines, until the empty one */
	M_BODY,		/* Content-Length body: left[] bytes to count */
	M_CHUNK_SIZE,	/* chunk-size line */
	M_CHUNK_DATA,	/* chunk data: left[] bytes to count */
	M_CHUNK_END,	/* the CRLF after chunk data */
	M_TRAILER,	/* trailer lines, until the empty one */
	M_CLOSE,	/* response body up to the server's end */
	M_RESYNC,	/* framing lost: looking for a start line */
	M_DEAD		/* nothing more to read (ended, tunnel) */
};

/* http_flow.dflags[dir]: the current message of a direction. */
#define D_CL		0x01	/* Content-Length read (value in left[]) */
#define D_TE		0x02	/* Transfer-Encoding present */
#define D_CHUNKED	0x04	/* ... and its last coding is chunked */
#define D_BADLEN	0x08	/* Content-Length malformed or conflicting */
#define D_OWNED		0x10	/* S2C: the final response of the oldest
				 * request: its bytes are credited */
#define D_EARLY		0x20	/* S2C: status line bytes credited before
				 * the line ended */

/* http_req.flags */
#define R_SENDING	0x01	/* the client is still sending it */
#define R_HEAD		0x02	/* method HEAD: the response has no body */
#define R_CONNECT	0x04	/* method CONNECT: 2xx starts a tunnel */
#define R_NAMED		0x08	/* txn_name() done */
#define R_GAP		0x10	/* opened while the order was uncertain */

/* http_flow.flags */
#define F_UNCERTAIN	0x01	/* a client gap may have eaten requests */

/* A request waiting for its response.  32 bytes on LP64. */
struct http_req {
	struct http_req *next;	/* ring: the next younger; the youngest
				 * points at the oldest */
	artmon_txn *txn;	/* NULL once closed (while still R_SENDING) */
	uint8_t *head;		/* head so far when it spans callbacks */
	uint16_t headlen;
	uint8_t flags;		/* R_* */
};

/*
 * Per flow.  Requests form a ring through their next pointers, reached
 * from the youngest (tail): tail->next is the oldest, the one the next
 * final response answers; the request the client is sending, if any, is
 * the tail.  One pointer gives both ends.
 */
struct http_flow {
	artmon_flow *flow;
	struct http_req *tail;	/* youngest request; NULL: none pending */
	struct linetok lt[2];	/* [C2S], [S2C] */
	uint64_t left[2];	/* body or chunk bytes still to count */
	uint16_t status;	/* S2C: current response's; 0: not read */
	uint8_t mode[2];	/* enum mode */
	uint8_t dflags[2];	/* D_* */
	uint8_t npending;	/* requests in the ring */
	uint8_t flags;		/* F_* */
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct http_flow) <= 72,
	       "struct http_flow grew past 72 bytes");
_Static_assert(HTTP_MAX_PENDING <= UINT8_MAX, "npending is 8 bits");
_Static_assert(HTTP_HEAD_MAX <= UINT16_MAX, "headlen is 16 bits");

/* One data() call: the bytes and how far we are in them. */
struct pass {
	const uint8_t *data;
	size_t len;
	size_t off;		/* next byte to look at */
	size_t mark;		/* first byte of the current message not yet
				 * credited (or dropped) */
	size_t head_from;	/* C2S: first byte of the request head in
				 * this call (0 if it began earlier) */
};

static const struct artmon_host *host;

/* Methods probe() recognises: RFC 9110, RFC 5789 and WebDAV's. */
static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
	"TRACE", "PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",
	"LOCK", "UNLOCK", "REPORT", "SEARCH", "MKCALENDAR", "ACL",
};

/* ---------------------------------------------------------------- lexing */

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* RFC 7230 3.2.6 tchar. */
static bool is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int peek(const struct cursor *c)
{
	return cur_remaining(c) ? *cur_ptr(c) : -1;
}

/* Skip spaces and tabs; how many. */
static size_t skip_ows(struct cursor *c)
{
	size_t n = 0;
	while (cur_remaining(c) && is_ows(*cur_ptr(c))) {
		cur_skip(c, 1);
		n++;
	}
	return n;
}

/* The next bytes are lit, exactly: consume them. */
static bool take_lit(struct cursor *c, const char *lit)
{
	size_t n = strlen(lit);
	if (cur_remaining(c) < n || memcmp(cur_ptr(c), lit, n) != 0)
		return false;
	cur_skip(c, n);
	return true;
}

static bool take_digit(struct cursor *c, unsigned *d)
{
	uint8_t b = 0;
	if (!cur_remaining(c) || !is_digit(*cur_ptr(c)) || !cur_u8(c, &b))
		return false;
	*d = (unsigned)(b - '0');
	return true;
}

static bool eq_nocase(const uint8_t *s, size_t n, const char *lit)
{
	if (strlen(lit) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

/* ---------------------------------------------------------------- parsing */

/*
 * A request line: method SP request-target SP HTTP-version.  strict (a
 * resyncing client side, where any line may come by): an upper-case
 * method of at most HTTP_METHOD_MAX bytes, single spaces, HTTP/1.x.
 * Otherwise any token method and runs of spaces are taken, as servers do.
 * *rflags gets R_HEAD / R_CONNECT.
 */
static bool parse_request_line(const uint8_t *s, size_t n, bool strict,
			       uint8_t *rflags)
{
	struct cursor c;
	size_t mlen = 0, tlen = 0;
	unsigned major, minor;

	cur_init(&c, s, n);
	while (cur_remaining(&c) && is_tchar(*cur_ptr(&c))) {
		uint8_t b = *cur_ptr(&c);
		if (strict && !((b >= 'A' && b <= 'Z') || b == '-' || b == '_'))
			return false;
		cur_skip(&c, 1);
		mlen++;
	}
	if (mlen == 0 || (strict && mlen > HTTP_METHOD_MAX))
		return false;
	size_t sp = skip_ows(&c);
	if (sp == 0 || (strict && sp != 1))
		return false;
	while (cur_remaining(&c) && *cur_ptr(&c) > ' ' && *cur_ptr(&c) != 0x7f) {
		cur_skip(&c, 1);
		tlen++;
	}
	if (tlen == 0)
		return false;
	sp = skip_ows(&c);
	if (sp == 0 || (strict && sp != 1))
		return false;
	if (!take_lit(&c, "HTTP/") || !take_digit(&c, &major) ||
	    !take_lit(&c, ".") || !take_digit(&c, &minor))
		return false;
	if (strict && major != 1)
		return false;
	skip_ows(&c);
	if (cur_remaining(&c))
		return false;
	*rflags = 0;
	if (mlen == 4 && memcmp(s, "HEAD", 4) == 0)
		*rflags = R_HEAD;
	else if (mlen == 7 && memcmp(s, "CONNECT", 7) == 0)
		*rflags = R_CONNECT;
	return true;
}

/* A status line: HTTP/d.d SP 3DIGIT [SP reason].  Runs of spaces taken. */
static bool parse_status_line(const uint8_t *s, size_t n, unsigned *code)
{
	struct cursor c;
	unsigned d[3], major, minor;

	cur_init(&c, s, n);
	if (!take_lit(&c, "HTTP/") || !take_digit(&c, &major) ||
	    !take_lit(&c, ".") || !take_digit(&c, &minor) ||
	    skip_ows(&c) == 0)
		return false;
	for (int i = 0; i < 3; i++)
		if (!take_digit(&c, &d[i]))
			return false;
	if (d[0] == 0 || (cur_remaining(&c) && !is_ows(*cur_ptr(&c))))
		return false;
	*code = d[0] * 100 + d[1] * 10 + d[2];
	(void)major;
	(void)minor;
	return true;
}

/*
 * Do the first bytes of a status line, not yet ended, show a final
 * response?  Only "HTTP/d.d SP" and a first digit 2..9 say so; anything
 * shorter or odder waits for the whole line.
 */
static bool status_prefix_final(const uint8_t *s, size_t n)
{
	return n >= 10 && memcmp(s, "HTTP/", 5) == 0 && is_digit(s[5]) &&
	       s[6] == '.' && is_digit(s[7]) && s[8] == ' ' &&
	       s[9] >= '2' && s[9] <= '9';
}

/*
 * chunk-size [ BWS ; chunk-ext ] (RFC 7230 4.1): hex digits, at most
 * 2^63-1; the extension is not read.
 */
static bool parse_chunk_size(const uint8_t *s, size_t n, uint64_t *size)
{
	struct cursor c;
	uint64_t v = 0;
	size_t digits = 0;

	cur_init(&c, s, n);
	for (;;) {
		int b = peek(&c);
		unsigned d;
		if (b >= '0' && b <= '9')
			d = (unsigned)(b - '0');
		else if (b >= 'a' && b <= 'f')
			d = (unsigned)(b - 'a' + 10);
		else if (b >= 'A' && b <= 'F')
			d = (unsigned)(b - 'A' + 10);
		else
			break;
		if (v > ((uint64_t)INT64_MAX - d) / 16)
			return false;
		v = v * 16 + d;
		digits++;
		cur_skip(&c, 1);
	}
	if (digits == 0)
		return false;
	skip_ows(&c);
	if (cur_remaining(&c) && peek(&c) != ';')
		return false;
	*size = v;
	return true;
}

/*
 * A Content-Length value: a decimal number, or a list of equal ones
 * ("5, 5": RFC 7230 3.3.2), at most 2^63-1.  A second header must agree
 * with the first.
 */
static void read_content_length(struct http_flow *st, enum artmon_dir dir,
				const uint8_t *s, size_t n)
{
	struct cursor c;
	bool any = false;
	uint64_t v = 0;

	cur_init(&c, s, n);
	while (cur_remaining(&c)) {
		uint64_t x = 0;
		unsigned d;
		size_t digits = 0;

		skip_ows(&c);
		while (take_digit(&c, &d)) {
			if (x > ((uint64_t)INT64_MAX - d) / 10)
				goto bad;
			x = x * 10 + d;
			digits++;
		}
		if (digits == 0 || (any && x != v))
			goto bad;
		v = x;
		any = true;
		skip_ows(&c);
		if (cur_remaining(&c) && !take_lit(&c, ","))
			goto bad;
	}
	if (!any)
		goto bad;
	if ((st->dflags[dir] & D_CL) && st->left[dir] != v)
		goto bad;
	st->dflags[dir] |= D_CL;
	st->left[dir] = v;
	return;
bad:
	st->dflags[dir] |= D_BADLEN;
}

/*
 * A Transfer-Encoding value: a list of codings, each maybe with
 * parameters.  What counts is whether the last one is chunked.
 */
static void read_transfer_encoding(struct http_flow *st, enum artmon_dir dir,
				   const uint8_t *s, size_t n)
{
	struct cursor c;

	st->dflags[dir] |= D_TE;
	cur_init(&c, s, n);
	while (cur_remaining(&c)) {
		skip_ows(&c);
		const uint8_t *tok = cur_ptr(&c);
		size_t tlen = 0;
		while (cur_remaining(&c) && is_tchar(*cur_ptr(&c))) {
			cur_skip(&c, 1);
			tlen++;
		}
		/* Parameters and anything else up to the next comma. */
		while (cur_remaining(&c) && *cur_ptr(&c) != ',')
			cur_skip(&c, 1);
		cur_skip(&c, cur_remaining(&c) ? 1 : 0);
		if (tlen == 0)
			continue;	/* empty list element */
		if (eq_nocase(tok, tlen, "chunked"))
			st->dflags[dir] |= D_CHUNKED;
		else
			st->dflags[dir] &= (uint8_t)~D_CHUNKED;
	}
}

/*
 * A header line: only the framing headers are read.  Names compare
 * without case; white space around the value (and, leniently, before
 * the colon) is dropped.  A line without a colon, or a folded one, is
 * passed over.
 */
static void header_line(struct http_flow *st, enum artmon_dir dir,
			const uint8_t *s, size_t n)
{
	if (n == 0 || is_ows(s[0]))
		return;
	const uint8_t *colon = memchr(s, ':', n);
	if (!colon)
		return;
	size_t nlen = (size_t)(colon - s);
	size_t vfrom = nlen + 1;
	while (nlen > 0 && is_ows(s[nlen - 1]))
		nlen--;
	if (nlen == 14 && eq_nocase(s, nlen, "content-length"))
		read_content_length(st, dir, s + vfrom, n - vfrom);
	else if (nlen == 17 && eq_nocase(s, nlen, "transfer-encoding"))
		read_transfer_encoding(st, dir, s + vfrom, n - vfrom);
}

/* ---------------------------------------------------------------- requests */

static struct http_req *oldest(const struct http_flow *st)
{
	return st->tail ? st->tail->next : NULL;
}

/* The request the next final response answers; NULL if none waits.  A
 * request closed while still being sent is the only one in the ring. */
static struct http_req *unanswered(const struct http_flow *st)
{
	struct http_req *r = oldest(st);
	return r && r->txn ? r : NULL;
}

/* The request the client is sending, if any. */
static struct http_req *sending(const struct http_flow *st)
{
	return st->tail && (st->tail->flags & R_SENDING) ? st->tail : NULL;
}

static void push_req(struct http_flow *st, struct http_req *r)
{
	if (st->tail) {
		r->next = st->tail->next;
		st->tail->next = r;
	} else {
		r->next = r;
	}
	st->tail = r;
	st->npending++;
}

static void pop_oldest(struct http_flow *st)
{
	struct http_req *r = oldest(st);

	if (r == st->tail)
		st->tail = NULL;
	else
		st->tail->next = r->next;
	st->npending--;
	free(r->head);
	free(r);
}

static void status_text(unsigned code, char *buf, size_t size)
{
	if (code)
		snprintf(buf, size, "%03u", code);
	else
		buf[0] = '\0';
}

/*
 * Close the oldest request's transaction; free the request unless the
 * client is still sending it (it then stays, closed, until it ends).
 * status NULL: unanswered.
 */
static void close_oldest(struct http_flow *st, const char *status, bool error,
			 unsigned flags)
{
	struct http_req *r = oldest(st);

	if (r->txn) {
		if (r->flags & R_GAP)
			flags |= ARTMON_TXN_GAP;
		if (!status || !*status) {
			status = NULL;
			flags |= ARTMON_TXN_TIMEOUT;
		}
		host->txn_close(r->txn, status, error, flags);
		r->txn = NULL;
	}
	/* Whatever the server is sending no longer answers anything. */
	st->dflags[S2C] &= (uint8_t)~D_OWNED;
	if (!(r->flags & R_SENDING))
		pop_oldest(st);
}

/* Append the request head bytes data[from, to) to r's copy (capped). */
static void save_head(struct http_req *r, const uint8_t *data, size_t from,
		      size_t to)
{
	size_t room = HTTP_HEAD_MAX - r->headlen;
	size_t n = to > from ? to - from : 0;

	if (n > room)
		n = room;
	if (n == 0)
		return;
	uint8_t *nb = realloc(r->head, (size_t)r->headlen + n);
	if (!nb)
		return;		/* the rules will see less */
	memcpy(nb + r->headlen, data + from, n);
	r->head = nb;
	r->headlen = (uint16_t)(r->headlen + n);
}

/*
 * Give r's head to the rules: the copy if the head spanned callbacks
 * (completed with this call's bytes up to end), else the bytes in place.
 * p NULL: no bytes at hand (gap, end), the copy alone.  A head cut short
 * (malformed, gap, end) is named only once its request line was read
 * whole (M_HEADERS): a cut line would give a wrong name.
 */
static void name_request(struct http_req *r, const struct pass *p, size_t end)
{
	if (r->flags & R_NAMED)
		return;
	r->flags |= R_NAMED;
	if (p && !r->head) {
		size_t n = end - p->head_from;
		if (n > HTTP_HEAD_MAX)
			n = HTTP_HEAD_MAX;
		if (r->txn && n)
			host->txn_name(r->txn, p->data + p->head_from, n);
		return;
	}
	if (p)
		save_head(r, p->data, p->head_from, end);
	if (r->txn && r->headlen)
		host->txn_name(r->txn, r->head, r->headlen);
	free(r->head);
	r->head = NULL;
	r->headlen = 0;
}

/* ---------------------------------------------------------------- crediting */

/*
 * Credit data[mark, off) to the request being sent.  Not once its final
 * response has begun (a 413 during an upload): the server is no longer
 * waiting for those bytes, and they would put the request's end after
 * the response's start.
 */
static void credit_request(struct http_flow *st, struct pass *p)
{
	struct http_req *r = sending(st);
	bool answering = (st->dflags[S2C] & D_OWNED) && r == unanswered(st);

	if (p->off > p->mark && r && r->txn && !answering)
		host->txn_request(r->txn, p->off - p->mark);
	p->mark = p->off;
}

/* Credit data[mark, off), plus extra bytes of earlier calls, to the
 * response if it is the final response of the oldest request. */
static void credit_response(struct http_flow *st, struct pass *p,
			    size_t extra)
{
	struct http_req *r = unanswered(st);
	size_t n = p->off - p->mark + extra;

	if (n && (st->dflags[S2C] & D_OWNED) && r)
		host->txn_response(r->txn, n);
	p->mark = p->off;
}

/* ---------------------------------------------------------------- messages */

static void count(struct http_flow *st, enum artmon_event ev)
{
	host->count(st->flow, ev);
}

static bool in_message(uint8_t mode)
{
	return mode >= M_START && mode <= M_CLOSE;
}

static void reset_dir(struct http_flow *st, enum artmon_dir dir,
		      enum mode mode)
{
	st->mode[dir] = (uint8_t)mode;
	st->dflags[dir] = 0;
	st->left[dir] = 0;
	if (dir == S2C)
		st->status = 0;
	lt_reset(&st->lt[dir]);
}

/* The client is done with its request (complete, cut or given up). */
static void request_sent(struct http_flow *st)
{
	struct http_req *r = sending(st);

	if (!r)
		return;
	r->flags &= (uint8_t)~R_SENDING;
	/* Already answered: it was kept only for its remaining bytes. */
	if (!r->txn && r == oldest(st))
		pop_oldest(st);
}

/* The server's current message is over, complete (p: this call's bytes
 * up to p->off belong to it) or not (p NULL). */
static void response_done(struct http_flow *st, struct pass *p,
			  unsigned flags)
{
	unsigned code = st->status;
	bool interim = code >= 100 && code < 200 && code != 101;

	if (st->dflags[S2C] & D_OWNED) {
		char text[8];
		if (p)
			credit_response(st, p, 0);
		status_text(code, text, sizeof text);
		close_oldest(st, text, code >= 400, flags);
	} else if (p) {
		p->mark = p->off;
	}
	if (!interim && !unanswered(st))
		st->flags &= (uint8_t)~F_UNCERTAIN;
	reset_dir(st, S2C, M_IDLE);
}

/* The current message of dir ended at p->off (p NULL: in a gap). */
static void message_done(struct http_flow *st, enum artmon_dir dir,
			 struct pass *p)
{
	if (dir == C2S) {
		if (p)
			credit_request(st, p);
		request_sent(st);
		reset_dir(st, C2S, M_IDLE);
	} else {
		response_done(st, p, 0);
	}
}

/*
 * dir broke the protocol at p->off (p NULL: no bytes at hand).  The
 * message so far is credited, a request keeps waiting for its response,
 * a response is closed with its status, and dir resyncs.  keep_skip:
 * the tokenizer is skipping an overlong line; let it finish.
 */
static void malformed(struct http_flow *st, enum artmon_dir dir,
		      struct pass *p, bool keep_skip)
{
	count(st, ARTMON_EV_MALFORMED);
	if (dir == C2S) {
		struct http_req *r = sending(st);
		if (p)
			credit_request(st, p);
		if (r && st->mode[C2S] == M_HEADERS)
			name_request(r, p, p ? p->off : 0);
		request_sent(st);
	} else if (st->dflags[S2C] & D_OWNED) {
		/* Closed with the status it had; without one (only its
		 * first bytes were read), as "malformed". */
		char text[8];
		if (p)
			credit_response(st, p, 0);
		status_text(st->status, text, sizeof text);
		close_oldest(st, st->status ? text : "malformed",
			     !st->status || st->status >= 400, 0);
	} else if (p) {
		p->mark = p->off;
	}
	/* A tokenizer skipping an overlong line holds no buffer (it
	 * dropped it), so the copy can be put back after the reset. */
	struct linetok keep = st->lt[dir];
	reset_dir(st, dir, M_RESYNC);
	if (keep_skip)
		st->lt[dir] = keep;
}

/* The connection stops being HTTP (CONNECT 2xx, 101). */
static void tunnel(struct http_flow *st, struct pass *p)
{
	response_done(st, p, 0);
	count(st, ARTMON_EV_OPAQUE);
	host->stop(st->flow);
	reset_dir(st, C2S, M_DEAD);
	reset_dir(st, S2C, M_DEAD);
}

/* The first byte of a request: open its transaction. */
static bool begin_request(struct http_flow *st, struct pass *p, size_t from)
{
	if (st->npending >= HTTP_MAX_PENDING) {
		count(st, ARTMON_EV_QUEUE_FULL);
		close_oldest(st, NULL, true, 0);
	}
	struct http_req *r = calloc(1, sizeof *r);
	if (!r) {
		host->warn("http: out of memory for a request; requests "
			   "go unmeasured");
		return false;
	}
	r->txn = host->txn_open(st->flow, 0);
	r->flags = R_SENDING;
	if (st->flags & F_UNCERTAIN)
		r->flags |= R_GAP;
	push_req(st, r);
	/* Not reset_dir(): a resyncing caller's line may be in the
	 * tokenizer's buffer, and at M_IDLE it holds nothing anyway. */
	st->mode[C2S] = M_START;
	st->dflags[C2S] = 0;
	st->left[C2S] = 0;
	p->mark = from;
	p->head_from = from;
	return true;
}

/* The request line is in l: on to the headers, or malformed. */
static void request_line(struct http_flow *st, struct pass *p,
			 const struct lt_line *l, bool strict)
{
	uint8_t rflags;

	if (!parse_request_line(l->ptr, l->len, strict, &rflags)) {
		malformed(st, C2S, p, false);
		return;
	}
	st->tail->flags |= rflags;
	st->mode[C2S] = M_HEADERS;
}

/* The request head ended at p->off. */
static void request_head_done(struct http_flow *st, struct pass *p)
{
	uint8_t f = st->dflags[C2S];

	name_request(st->tail, p, p->off);
	if (f & D_TE) {
		/* A request body is chunked or not framed at all
		 * (RFC 7230 3.3.3 item 3). */
		if (!(f & D_CHUNKED)) {
			malformed(st, C2S, p, false);
			return;
		}
		st->mode[C2S] = M_CHUNK_SIZE;
		st->left[C2S] = 0;
		return;
	}
	if (f & D_BADLEN) {
		malformed(st, C2S, p, false);
		return;
	}
	if ((f & D_CL) && st->left[C2S] > 0) {
		st->mode[C2S] = M_BODY;
		lt_reset(&st->lt[C2S]);
		return;
	}
	message_done(st, C2S, p);
}

/*
 * The status line is in l; p->mark is where its bytes start in this
 * call.  resync: a line merely starting "HTTP/1." in a lost stream, taken
 * only if it parses.
 */
static void status_line(struct http_flow *st, struct pass *p,
			const struct lt_line *l, bool resync)
{
	uint8_t f = st->dflags[S2C];
	unsigned code;

	if (!parse_status_line(l->ptr, l->len, &code)) {
		if (resync)
			return;
		malformed(st, S2C, p, false);
		return;
	}
	st->status = (uint16_t)code;
	bool interim = code < 200 && code != 101;
	bool owned;
	if (f & D_EARLY)
		owned = (f & D_OWNED) != 0;	/* decided on its first bytes */
	else
		owned = !interim && unanswered(st);
	if (!unanswered(st) && !(f & D_EARLY))
		count(st, ARTMON_EV_ORPHAN_RESPONSE);
	if (owned) {
		st->dflags[S2C] |= D_OWNED;
		credit_response(st, p, (f & D_EARLY) ? 0 : l->carried);
	} else {
		p->mark = p->off;
	}
	st->mode[S2C] = M_HEADERS;
}

/* The response head ended at p->off: decide the body. */
static void response_head_done(struct http_flow *st, struct pass *p)
{
	uint8_t f = st->dflags[S2C];
	unsigned code = st->status;
	struct http_req *r = (f & D_OWNED) ? unanswered(st) : NULL;

	if (code < 200 && code != 101) {
		response_done(st, p, 0);	/* interim: no body */
		return;
	}
	if (code == 101 || (r && (r->flags & R_CONNECT) && code / 100 == 2)) {
		tunnel(st, p);
		return;
	}
	if ((r && (r->flags & R_HEAD)) || code == 204 || code == 304) {
		response_done(st, p, 0);
		return;
	}
	if (f & D_TE) {
		st->left[S2C] = 0;
		if (f & D_CHUNKED) {
			st->mode[S2C] = M_CHUNK_SIZE;
		} else {
			st->mode[S2C] = M_CLOSE;
			lt_reset(&st->lt[S2C]);
		}
		return;
	}
	if (f & D_BADLEN) {
		malformed(st, S2C, p, false);
		return;
	}
	if (f & D_CL) {
		if (st->left[S2C] == 0) {
			response_done(st, p, 0);
			return;
		}
		st->mode[S2C] = M_BODY;
		lt_reset(&st->lt[S2C]);
		return;
	}
	st->mode[S2C] = M_CLOSE;
	lt_reset(&st->lt[S2C]);
}

/* ---------------------------------------------------------------- streams */

/* A client line in M_RESYNC that may be a request line. */
static void resync_request(struct http_flow *st, struct pass *p,
			   const struct lt_line *l, size_t from)
{
	uint8_t rflags;

	if (!parse_request_line(l->ptr, l->len, true, &rflags))
		return;
	if (!begin_request(st, p, from))
		return;		/* no memory: stay lost */
	st->tail->flags |= rflags;
	st->mode[C2S] = M_HEADERS;
	if (l->carried) {
		/* Its start came earlier: the head copy starts with the
		 * line as the tokenizer assembled it. */
		struct http_req *r = st->tail;
		save_head(r, l->ptr, 0, l->len);
		save_head(r, (const uint8_t *)"\r\n", 0, 2);
		p->head_from = p->off;
	}
}

/* One complete line l of dir, which started at from in this call. */
static void on_line(struct http_flow *st, enum artmon_dir dir, struct pass *p,
		    const struct lt_line *l, size_t from)
{
	uint64_t size;

	switch (st->mode[dir]) {
	case M_RESYNC:
		if (dir == C2S) {
			resync_request(st, p, l, from);
		} else if (l->len >= 7 && memcmp(l->ptr, "HTTP/1.", 7) == 0) {
			st->dflags[S2C] = 0;
			p->mark = from;
			status_line(st, p, l, true);
		}
		break;
	case M_START:
		if (dir == C2S)
			request_line(st, p, l, false);
		else
			status_line(st, p, l, false);
		break;
	case M_HEADERS:
		if (l->len > 0)
			header_line(st, dir, l->ptr, l->len);
		else if (dir == C2S)
			request_head_done(st, p);
		else
			response_head_done(st, p);
		break;
	case M_CHUNK_SIZE:
		if (!parse_chunk_size(l->ptr, l->len, &size)) {
			malformed(st, dir, p, false);
		} else if (size == 0) {
			st->mode[dir] = M_TRAILER;
		} else {
			st->left[dir] = size;
			st->mode[dir] = M_CHUNK_DATA;
			lt_reset(&st->lt[dir]);
		}
		break;
	case M_CHUNK_END:
		if (l->len != 0)
			malformed(st, dir, p, false);
		else
			st->mode[dir] = M_CHUNK_SIZE;
		break;
	case M_TRAILER:
		if (l->len == 0)
			message_done(st, dir, p);
		break;
	default:
		break;
	}
}

/* Bytes of dir after the loop: credit what belongs to the open message. */
static void end_of_call(struct http_flow *st, enum artmon_dir dir,
			struct pass *p)
{
	uint8_t mode = st->mode[dir];

	p->off = p->len;
	if (dir == C2S) {
		struct http_req *r = sending(st);
		if (!r || !in_message(mode))
			return;
		if (mode <= M_HEADERS)
			save_head(r, p->data, p->head_from, p->len);
		credit_request(st, p);
		return;
	}
	if (!in_message(mode))
		return;
	if (mode == M_START && !(st->dflags[S2C] & (D_OWNED | D_EARLY))) {
		/* A status line cut by the packet boundary: credit its
		 * start now if it shows a final response, so the response
		 * starts at the packet that carried its first byte.  (D_EARLY
		 * without D_OWNED: it was credited to a request closed since;
		 * it answers no other.) */
		const uint8_t *s;
		size_t n = lt_partial(&st->lt[S2C], &s);
		size_t here = p->len - p->mark;
		if (!unanswered(st) || !status_prefix_final(s, n) || n < here)
			return;
		st->dflags[S2C] |= D_OWNED | D_EARLY;
		credit_response(st, p, n - here);
		return;
	}
	credit_response(st, p, 0);
}

static void stream(struct http_flow *st, enum artmon_dir dir, struct pass *p)
{
	struct linetok *lt = &st->lt[dir];

	while (p->off < p->len) {
		uint8_t mode = st->mode[dir];
		size_t rem = p->len - p->off;

		if (mode == M_DEAD || mode == M_CLOSE) {
			p->off = p->len;
			break;
		}
		if (mode == M_IDLE) {
			/* Empty lines between messages are no message
			 * (RFC 7230 3.5). */
			while (p->off < p->len && (p->data[p->off] == '\r' ||
						   p->data[p->off] == '\n'))
				p->off++;
			if (p->off == p->len)
				break;
			if (dir == C2S) {
				if (!begin_request(st, p, p->off))
					reset_dir(st, C2S, M_RESYNC);
			} else {
				reset_dir(st, S2C, M_START);
				p->mark = p->off;
			}
			continue;
		}
		if (mode == M_BODY || mode == M_CHUNK_DATA) {
			uint64_t take = st->left[dir] < rem ? st->left[dir] : rem;
			p->off += (size_t)take;
			st->left[dir] -= take;
			if (st->left[dir] == 0) {
				if (mode == M_BODY)
					message_done(st, dir, p);
				else
					st->mode[dir] = M_CHUNK_END;
			}
			continue;
		}
		if (mode == M_RESYNC && dir == S2C && !unanswered(st)) {
			/* Nothing to answer: drop it unread, and take the
			 * next call to start at a line. */
			p->off = p->len;
			p->mark = p->off;
			lt_reset(lt);
			break;
		}

		struct lt_line line;
		size_t from = p->off;
		switch (lt_next(lt, p->data, p->len, &p->off, &line)) {
		case LT_MORE:
			break;
		case LT_TOO_LONG:
			if (mode != M_RESYNC)
				malformed(st, dir, p, true);
			break;
		case LT_LINE:
			on_line(st, dir, p, &line, from);
			break;
		}
	}
	end_of_call(st, dir, p);
}

/* ---------------------------------------------------------------- callbacks */

static int http_init(const struct artmon_host *h, char *err, size_t errlen)
{
	if (h->api_version != ARTMON_PLUGIN_API_VERSION) {
		snprintf(err, errlen, "host API %u, plugin built for %u",
			 h->api_version, ARTMON_PLUGIN_API_VERSION);
		return -1;
	}
	host = h;
	return 0;
}

/* A known method and a space: the client speaks HTTP. */
static bool http_probe(const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		size_t n = strlen(methods[i]);
		if (len > n && memcmp(data, methods[i], n) == 0 &&
		    data[n] == ' ')
			return true;
	}
	return false;
}

static void *http_state_new(artmon_flow *flow)
{
	struct http_flow *st = calloc(1, sizeof *st);

	if (!st)
		return NULL;
	st->flow = flow;
	lt_init(&st->lt[C2S], HTTP_LINE_MAX);
	lt_init(&st->lt[S2C], HTTP_LINE_MAX);
	if (host->flow_info(flow)->midstream) {
		st->mode[C2S] = M_RESYNC;
		st->mode[S2C] = M_RESYNC;
	}
	return st;
}

static void http_data(void *state, enum artmon_dir dir, const uint8_t *data,
		      size_t len, int64_t ts_ns)
{
	struct http_flow *st = state;
	struct pass p = { .data = data, .len = len };

	(void)ts_ns;
	if (dir != C2S && dir != S2C)
		return;
	stream(st, dir, &p);
}

static void http_gap(void *state, enum artmon_dir dir, uint64_t nbytes)
{
	struct http_flow *st = state;
	uint8_t mode;

	if (dir != C2S && dir != S2C)
		return;
	mode = st->mode[dir];
	if ((mode == M_BODY || mode == M_CHUNK_DATA) &&
	    nbytes <= st->left[dir]) {
		/* Inside counted bytes: the framing holds. */
		st->left[dir] -= nbytes;
		if (st->left[dir] == 0) {
			if (mode == M_BODY)
				message_done(st, dir, NULL);
			else
				st->mode[dir] = M_CHUNK_END;
		}
		return;
	}
	if (mode == M_CLOSE || mode == M_DEAD)
		return;
	if (dir == C2S) {
		struct http_req *r = sending(st);
		if (r && mode == M_HEADERS)
			name_request(r, NULL, 0);
		request_sent(st);
		st->flags |= F_UNCERTAIN;
		reset_dir(st, C2S, M_RESYNC);
		return;
	}
	if (st->dflags[S2C] & D_OWNED)
		response_done(st, NULL, ARTMON_TXN_GAP);
	/* Any request fully sent may have been answered in the gap. */
	struct http_req *r;
	while ((r = unanswered(st)) && !(r->flags & R_SENDING))
		close_oldest(st, NULL, true, ARTMON_TXN_GAP);
	reset_dir(st, S2C, M_RESYNC);
}

static void http_end(void *state, enum artmon_dir dir)
{
	struct http_flow *st = state;

	if (dir == C2S) {
		struct http_req *r = sending(st);
		if (r && st->mode[C2S] == M_HEADERS)
			name_request(r, NULL, 0);
		request_sent(st);
		reset_dir(st, C2S, M_DEAD);
		return;
	}
	if (dir != S2C)
		return;
	if (st->dflags[S2C] & D_OWNED) {
		if (st->mode[S2C] == M_CLOSE) {
			/* The FIN completes a close-delimited body: the
			 * packet that ended the stream is its last. */
			host->txn_response(unanswered(st)->txn, 0);
			response_done(st, NULL, 0);
		} else if (in_message(st->mode[S2C])) {
			response_done(st, NULL, ARTMON_TXN_TIMEOUT);
		}
	}
	reset_dir(st, S2C, M_DEAD);
}

static void http_close(void *state)
{
	struct http_flow *st = state;
	struct http_req *r;

	if ((st->dflags[S2C] & D_OWNED) && in_message(st->mode[S2C]))
		response_done(st, NULL, ARTMON_TXN_TIMEOUT);
	if ((r = sending(st)) && st->mode[C2S] == M_HEADERS)
		name_request(r, NULL, 0);
	while (st->tail) {
		st->tail->flags &= (uint8_t)~R_SENDING;
		close_oldest(st, NULL, true, 0);
	}
	reset_dir(st, C2S, M_DEAD);
	reset_dir(st, S2C, M_DEAD);
}

static void http_state_free(void *state)
{
	struct http_flow *st = state;

	while (st->tail)
		pop_oldest(st);
	lt_reset(&st->lt[C2S]);
	lt_reset(&st->lt[S2C]);
	free(st);
}

static const uint16_t http_ports[] = { 80, 8080, 8000, 8008, 8888, 3128, 0 };

const struct artmon_plugin artmon_plugin = {
	ARTMON_PLUGIN_HEADER,
	.name = "http",
	.default_name = "HTTP_other",
	.transports = ARTMON_TCP,
	.default_ports = http_ports,
	.init = http_init,
	.probe = http_probe,
	.state_new = http_state_new,
	.data = http_data,
	.gap = http_gap,
	.end = http_end,
	.close = http_close,
	.state_free = http_state_free,
};
