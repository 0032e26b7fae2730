/*
 * imap.c: the IMAP4rev1 / IMAP4rev2 plugin (RFC 3501, RFC 9051), port 143.
 *
 * Place in the data flow: reassembly -> [imap: find commands, their
 * literals and continuations, and the server's untagged, continuation and
 * tagged responses; match completions to commands by tag] -> txn (timing,
 * rules, output).  The core does all timing; this file only says which
 * bytes of each callback belong to which command or response (see
 * artmon-plugin.h).  docs/protocols/imap.md says the same for users.
 *
 * Transactions.  One transaction is one tagged command and its tagged
 * completion ("a1 FETCH ..." ... "a1 OK ...").  The first byte of a
 * command line opens it (so `start` is the command's first packet).  Its
 * request is every byte the client sends for it: the command line, its
 * literals, and the continuation lines the server asks for (SASL data
 * after AUTHENTICATE's "+", the DONE that ends IDLE).  Its response is the
 * untagged data credited to it (below) and its tagged completion, whose
 * OK, NO or BAD is the status (NO and BAD are errors).  The server's
 * greeting is a transaction of its own, IMAP_greeting, from the end of
 * the TCP handshake (the client's ACK) to the greeting line; a connection
 * picked up without its handshake has none.
 *
 * Matching.  Commands in flight wait in a small table per flow
 * (IMAP_MAX_PENDING; past it the oldest is closed as unanswered and
 * QUEUE_FULL counted), and a tagged completion closes the command with
 * its tag, in whatever order the server completes them.  Untagged data
 * ("* ...") carries no tag: it is credited to the oldest command the
 * client has finished sending, which is the one a server working in order
 * is answering.  Data arriving while every pending command is still being
 * sent (the server's "* 3 EXISTS" during IDLE) is credited to none: it
 * answers nothing the client asked, and crediting it would start a
 * response before its request ended.  "* BYE" is the exception: with no
 * such command it goes to the oldest pending one, since it answers every
 * command in flight.  Continuation requests ("+ ...") are never credited:
 * like HTTP's 100 Continue they come before the request has ended.
 *
 * Literals ({n}, {n+}, and literal8 ~{n}, announced at the end of a line,
 * in either direction) are counted, never scanned or copied: a message
 * body holding a line like "a1 OK" is skipped by its count, and a 2^63-1
 * byte literal costs 8 bytes of state.  A client's synchronising literal
 * {n} waits for the server's "+" (or for a tagged NO/BAD, after which the
 * client does not send it); {n+} goes at once.
 *
 * The text the rules see is the command's first line without the tag,
 * with the verb (and the verb after UID) upper-cased, so "a1 uid fetch
 * 1:* (FLAGS)" is "UID FETCH 1:* (FLAGS)": clients differ in case, names
 * should not.  A literal's content is never part of it (only its {n}).
 * Credentials never are: LOGIN's password and AUTHENTICATE's initial
 * response are cut (command_text()), because names end up in a database
 * kept for months and read by many people, and a rule capturing "(.*)"
 * must not be able to put a password there.
 *
 * Lines go through the shared tokenizer (linetok.h), which holds at most
 * IMAP_LINE_MAX bytes of a line.  A longer line is not an error in IMAP
 * (a SEARCH result in a large mailbox, a Kerberos token in a SASL line):
 * its first IMAP_LINE_MAX bytes are read as its head, the rest streams by
 * without being held, and only a literal announced at its very end is
 * noticed, by a small state machine over the last bytes (tail_feed()).
 *
 * STARTTLS and COMPRESS answered OK make the rest of the connection
 * unreadable: OPAQUE is counted and the flow stopped.  A BYE is noted;
 * when the server's side then ends, the commands still pending close
 * with status "BYE" (an error, except for LOGOUT, which asked for it).
 * Without a BYE they close as unanswered.
 *
 * Losing and finding the framing.  A connection picked up mid-stream
 * starts the client side in resync: it waits for a line that looks like
 * "tag SP verb" with a verb from the command table.  The server side
 * takes its next bytes as the start of a line, and is lenient until a
 * tagged completion matches a pending command (no orphan or malformed
 * counts: completions of commands sent before the pickup are expected).
 * A gap inside a literal that does not reach its end only shortens the
 * count; any other gap loses the framing: the client side resyncs (a
 * command whose tag was read stays pending, one cut before its tag is
 * closed as unanswered), the server side goes lenient, and the commands
 * that were waiting may have been answered in the lost bytes: each is
 * closed as unanswered (with GAP) when a younger one completes, else at
 * the end.  Malformed input (a client line without a tag, a server line
 * that is neither untagged, continuation nor a completion) counts
 * MALFORMED and is skipped line by line.
 *
 * Ownership: the per-flow state, its table of pending commands and the
 * tokenizers' buffers are this plugin's (malloc, never aborting; freed in
 * state_free()).  Transaction handles are the core's: each is closed
 * exactly once, in close_cmd(), which forgets it; none is used after
 * close().
 *
 * Memory: 72 bytes per flow on LP64, and no more while it is idle
 * between commands; 24 bytes per command in flight (a table allocated
 * with the first one, doubling up to IMAP_MAX_PENDING, freed when the
 * last completes); the line buffers only while a line spans packets, at
 * most IMAP_LINE_MAX + 1 bytes each.  Measured: a million connections
 * idle after LOGIN peak at the same RSS as a million idle HTTP ones
 * (253 MB); a million in IDLE add the command's 32-byte table chunk and
 * the core's open transaction.
 *
 * Not done: SASL security layers (a mechanism that negotiates integrity
 * or encryption makes the rest unreadable and is not detected), the
 * IMAP4rev2 / LITERAL- limits (a literal is counted whatever it claims),
 * probe() (the server speaks first, so the client's first bytes, which is
 * what the core probes, come after the greeting on an unclaimed port), and
 * anything in responses beyond their first word and their literals.
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

/* Bytes of a line held and read; the rest of a longer line streams by.
 * RFC 7162 3.2.1 asks clients to keep command lines under 8192. */
#define IMAP_LINE_MAX		8192
/* Bytes of a long line's head copied to read it (tag, verb, rule text). */
#define IMAP_HEAD_MAX		2048
/* Bytes of a command line the rules see. */
#define IMAP_TEXT_MAX		1024
/* Commands in flight per flow, the greeting included. */
#define IMAP_MAX_PENDING	32
/* Longest tag a resyncing client side takes as one. */
#define IMAP_RESYNC_TAG_MAX	64
/* Bytes at the end of a line that can hold a literal announcement:
 * "{" 19 digits "+}" CR is 23; one more is harmless. */
#define IMAP_TAIL		24

#define C2S ARTMON_C2S
#define S2C ARTMON_S2C

/* ---------------------------------------------------------------- types */

/* Where a direction is in its stream. */
enum mode {
	M_IDLE,		/* C2S: between commands (CR LF skipped);
			 * S2C: reading response lines */
	M_LINE,		/* C2S: the first line of a command */
	M_MORE,		/* the rest of a line after a literal */
	M_CONT,		/* C2S: a continuation line (SASL data, DONE) */
	M_WAIT,		/* C2S: a {n} literal waits for the server's "+" */
	M_LIT,		/* a literal: left[] bytes to count */
	M_LONG,		/* the rest of a line over IMAP_LINE_MAX: the
			 * server's, or a client command line's */
	M_LONG_CONT,	/* C2S: ... of a continuation line */
	M_LONG_JUNK,	/* C2S: ... of a line that is nothing; then
			 * M_RESYNC */
	M_LONG_BAD,	/* C2S: ... of a first line without a tag; then
			 * M_IDLE */
	M_RESYNC,	/* C2S: framing lost; waiting for a command line */
	M_DEAD		/* nothing more to read */
};

/* What a command is, for the few that need handling of their own. */
enum kind {
	K_OTHER,
	K_GREETING,	/* the server's greeting: no tag */
	K_AUTH,		/* AUTHENTICATE: "+" asks for a SASL line */
	K_LOGIN,	/* LOGIN: the password is cut from the rule text */
	K_IDLE,		/* IDLE: the client owes DONE */
	K_STARTTLS,	/* OK: TLS follows */
	K_COMPRESS,	/* OK: DEFLATE follows (RFC 4978) */
	K_LOGOUT	/* BYE is its expected answer */
};

/* imap_cmd.flags */
#define R_SENT		0x01	/* the client has sent all it owes so far:
				 * untagged data may be credited to it */
#define R_ANSWERED	0x02	/* response bytes credited: later request
				 * bytes are not (ttfb never negative) */
#define R_TAGGED	0x04	/* its tag was read */
#define R_LOST		0x08	/* waiting across a server gap: may have
				 * been answered in the lost bytes */

/* imap_flow.line: what the server's current line is (low bits) ... */
enum line_kind {
	L_NONE,		/* not decided yet (or between lines) */
	L_UNTAGGED,	/* "* ...": data, or the greeting */
	L_PLUS,		/* "+ ...": continuation request */
	L_TAGGED,	/* "tag OK|NO|BAD ...": a completion */
	L_GREETING,	/* the server's first line, whatever it is */
	L_SKIP		/* none of these: malformed */
};
/* ... and its first word (high bits), once read.  WORD_, not W_:
 * <unistd.h> defines W_OK. */
enum word {
	WORD_NONE, WORD_OK, WORD_NO, WORD_BAD, WORD_PREAUTH, WORD_BYE
};
#define LK_KIND(x)	((x) & 0x0f)
#define LK_WORD(x)	((x) >> 4)
#define LK(kind, word)	((uint8_t)((kind) | ((word) << 4)))

/* Tail scanner states (tail_feed()). */
enum tail_state {
	T_NONE,		/* no literal announcement in progress */
	T_OPEN,		/* "{" */
	T_DIGITS,	/* "{" digits: the number in left[] */
	T_PLUS,		/* "{n+" */
	T_SYNC,		/* "{n}" */
	T_NONSYNC,	/* "{n+}" */
	T_SYNC_CR,	/* "{n}" CR */
	T_NONSYNC_CR	/* "{n+}" CR */
};

/* imap_flow.flags */
#define F_BYE		0x01	/* the server said BYE */
#define F_LOST		0x02	/* server side lost (mid-stream pickup or a
				 * gap): lenient until a completion matches */

/* A command in flight.  24 bytes on LP64. */
struct imap_cmd {
	artmon_txn *txn;
	uint64_t tag;		/* the tag's bytes if at most 8, else their
				 * 64-bit FNV-1a hash */
	uint8_t taglen;		/* tag length, capped at 255 */
	uint8_t id;		/* handle within the flow; never 0 */
	uint8_t kind;		/* enum kind */
	uint8_t flags;		/* R_* */
};

/*
 * Per flow.  The pending commands are an array in the order they were
 * opened (oldest first), referred to by id, since closing one moves the
 * others.  cur[C2S] is the command the client is on: the one it is
 * sending, or the last one it sent (a "+" is for it).  cur[S2C] is the
 * command the current response line (and its literals) is credited to;
 * line says what that line is.  72 bytes, as HTTP's: with malloc's
 * 16-byte granularity, one byte more would cost 16 per flow.
 */
struct imap_flow {
	artmon_flow *flow;
	struct imap_cmd *cmds;	/* NULL while none is pending */
	struct linetok lt[2];	/* [C2S], [S2C] */
	uint64_t left[2];	/* M_LIT: bytes still to count; M_WAIT: the
				 * literal's size; M_LONG*: the tail
				 * scanner's number */
	uint8_t mode[2];	/* enum mode */
	uint8_t cur[2];		/* command ids; 0: none */
	uint8_t tail[2];	/* M_LONG*: enum tail_state */
	uint8_t line;		/* LK(line_kind, word) */
	uint8_t ncmds : 6;	/* commands pending */
	uint8_t flags : 2;	/* F_* */
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct imap_flow) <= 72,
	       "struct imap_flow grew past 72 bytes");
_Static_assert(sizeof(void *) != 8 || sizeof(struct imap_cmd) <= 24,
	       "struct imap_cmd grew past 24 bytes");
_Static_assert(IMAP_MAX_PENDING < 64, "ncmds is 6 bits");
_Static_assert(F_BYE < 4 && F_LOST < 4, "flags are 2 bits");
_Static_assert(IMAP_LINE_MAX <= LT_MAX_LIMIT, "linetok's limit");
_Static_assert(IMAP_HEAD_MAX <= IMAP_LINE_MAX, "a head is within a line");

/* One data() call: the bytes and how far we are in them. */
struct pass {
	const uint8_t *data;
	size_t len;
	size_t off;		/* next byte to look at */
	size_t mark;		/* first byte of the current line or item
				 * not yet credited (or dropped) */
};

static const struct artmon_host *host;

/*
 * The command table: RFC 3501 and 9051, and the extensions servers
 * commonly offer.  A resyncing client side takes only these verbs; the
 * default rules name only these (etc/artmon/imap.sigs keeps the two lists
 * alike), so a client sending junk verbs cannot fill the name table.
 */
static const struct verb {
	const char *name;
	uint8_t kind;
} verbs[] = {
	{ "CAPABILITY", K_OTHER }, { "NOOP", K_OTHER },
	{ "LOGOUT", K_LOGOUT }, { "STARTTLS", K_STARTTLS },
	{ "AUTHENTICATE", K_AUTH }, { "LOGIN", K_LOGIN },
	{ "SELECT", K_OTHER }, { "EXAMINE", K_OTHER },
	{ "CREATE", K_OTHER }, { "DELETE", K_OTHER },
	{ "RENAME", K_OTHER }, { "SUBSCRIBE", K_OTHER },
	{ "UNSUBSCRIBE", K_OTHER }, { "LIST", K_OTHER },
	{ "LSUB", K_OTHER }, { "STATUS", K_OTHER },
	{ "APPEND", K_OTHER }, { "CHECK", K_OTHER },
	{ "CLOSE", K_OTHER }, { "EXPUNGE", K_OTHER },
	{ "SEARCH", K_OTHER }, { "FETCH", K_OTHER },
	{ "STORE", K_OTHER }, { "COPY", K_OTHER },
	{ "MOVE", K_OTHER }, { "UID", K_OTHER },
	{ "IDLE", K_IDLE }, { "NAMESPACE", K_OTHER },
	{ "ID", K_OTHER }, { "ENABLE", K_OTHER },
	{ "UNSELECT", K_OTHER }, { "UNAUTHENTICATE", K_OTHER },
	{ "COMPRESS", K_COMPRESS }, { "GETQUOTA", K_OTHER },
	{ "GETQUOTAROOT", K_OTHER }, { "SETQUOTA", K_OTHER },
	{ "GETACL", K_OTHER }, { "SETACL", K_OTHER },
	{ "DELETEACL", K_OTHER }, { "LISTRIGHTS", K_OTHER },
	{ "MYRIGHTS", K_OTHER }, { "GETMETADATA", K_OTHER },
	{ "SETMETADATA", K_OTHER }, { "SORT", K_OTHER },
	{ "THREAD", K_OTHER }, { "NOTIFY", K_OTHER },
	{ "REPLACE", K_OTHER }, { "XLIST", K_OTHER },
};

/* ---------------------------------------------------------------- lexing */

static uint8_t upper(uint8_t c)
{
	return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
}

/* ATOM-CHAR: any CHAR except atom-specials (RFC 3501 9). */
static bool is_atom_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* ASTRING-CHAR: an atom's, and "]". */
static bool is_astring_char(uint8_t c)
{
	return c == ']' || is_atom_char(c);
}

/* A tag's character: ASTRING-CHAR except "+". */
static bool is_tag_char(uint8_t c)
{
	return c != '+' && is_astring_char(c);
}

static bool all_tag_chars(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_tag_char(s[i]))
			return false;
	return true;
}

static bool eq_nocase(const uint8_t *s, size_t n, const char *lit)
{
	if (strlen(lit) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (upper(s[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

/* Take a run of bytes for which ok() holds; how many. */
static size_t take_run(struct cursor *c, bool (*ok)(uint8_t))
{
	size_t n = 0;
	while (cur_remaining(c) && ok(*cur_ptr(c))) {
		cur_skip(c, 1);
		n++;
	}
	return n;
}

static bool take_sp(struct cursor *c)
{
	if (!cur_remaining(c) || *cur_ptr(c) != ' ')
		return false;
	return cur_skip(c, 1);
}

static const struct verb *find_verb(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (eq_nocase(s, n, verbs[i].name))
			return &verbs[i];
	return NULL;
}

/* The key a tag is matched by: its bytes if they fit, else a hash (a
 * longer tag is rare; two pending ones colliding is 2^-64 unlikely). */
static uint64_t tag_key(const uint8_t *s, size_t n)
{
	uint64_t k = 0;

	if (n <= sizeof k) {
		memcpy(&k, s, n);
		return k;
	}
	k = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		k = (k ^ s[i]) * 0x100000001b3ULL;
	return k;
}

/*
 * The tail scanner: a literal announcement "{n}" or "{n+}" (optionally
 * followed by CR) at the end of the bytes fed so far, n at most 2^63-1.
 * The state depends only on the last IMAP_TAIL bytes (an announcement is
 * shorter, and a longer number overflows to T_NONE), so a long run of
 * bytes is fed only its tail.
 */
static void tail_feed(uint8_t *state, uint64_t *num, const uint8_t *s,
		      size_t n)
{
	struct cursor c;
	uint8_t b;

	if (n >= IMAP_TAIL) {
		*state = T_NONE;
		cur_init(&c, s, n);
		cur_skip(&c, n - IMAP_TAIL);
	} else {
		cur_init(&c, s, n);
	}
	while (cur_u8(&c, &b)) {
		uint8_t st = *state;
		if (b == '{') {
			*state = T_OPEN;
			*num = 0;
		} else if (b >= '0' && b <= '9' &&
			   (st == T_OPEN || st == T_DIGITS)) {
			unsigned d = (unsigned)(b - '0');
			if (*num > ((uint64_t)INT64_MAX - d) / 10) {
				*state = T_NONE;
			} else {
				*num = *num * 10 + d;
				*state = T_DIGITS;
			}
		} else if (b == '+' && st == T_DIGITS) {
			*state = T_PLUS;
		} else if (b == '}' && st == T_DIGITS) {
			*state = T_SYNC;
		} else if (b == '}' && st == T_PLUS) {
			*state = T_NONSYNC;
		} else if (b == '\r' && st == T_SYNC) {
			*state = T_SYNC_CR;
		} else if (b == '\r' && st == T_NONSYNC) {
			*state = T_NONSYNC_CR;
		} else {
			*state = T_NONE;
		}
	}
}

/* What a line ending in tail state st announces. */
enum lit { LIT_NONE, LIT_SYNC, LIT_NONSYNC };

static enum lit tail_literal(uint8_t st)
{
	if (st == T_SYNC || st == T_SYNC_CR)
		return LIT_SYNC;
	if (st == T_NONSYNC || st == T_NONSYNC_CR)
		return LIT_NONSYNC;
	return LIT_NONE;
}

/* The literal a whole line (terminator excluded) ends with. */
static enum lit line_literal(const uint8_t *s, size_t n, uint64_t *size)
{
	uint8_t st = T_NONE;
	uint64_t num = 0;

	tail_feed(&st, &num, s, n);
	*size = num;
	return tail_literal(st);
}

/* The first word after "* " or "tag ": OK, NO, BAD, PREAUTH, BYE. */
static enum word response_word(const uint8_t *s, size_t n)
{
	struct cursor c;
	const uint8_t *w;
	size_t wl;

	cur_init(&c, s, n);
	while (cur_remaining(&c) && *cur_ptr(&c) != ' ')
		cur_skip(&c, 1);
	if (!take_sp(&c))
		return WORD_NONE;
	w = cur_ptr(&c);
	wl = take_run(&c, is_atom_char);
	if (cur_remaining(&c) && *cur_ptr(&c) != ' ')
		return WORD_NONE;
	if (eq_nocase(w, wl, "OK"))
		return WORD_OK;
	if (eq_nocase(w, wl, "NO"))
		return WORD_NO;
	if (eq_nocase(w, wl, "BAD"))
		return WORD_BAD;
	if (eq_nocase(w, wl, "PREAUTH"))
		return WORD_PREAUTH;
	if (eq_nocase(w, wl, "BYE"))
		return WORD_BYE;
	return WORD_NONE;
}

/* The word of response line s[0, n) of kind: a greeting must be
 * untagged to have one. */
static enum word line_word(uint8_t kind, const uint8_t *s, size_t n)
{
	if (kind == L_GREETING && (n == 0 || s[0] != '*'))
		return WORD_NONE;
	return response_word(s, n);
}

static const char *word_text(enum word w)
{
	static const char *const text[] = {
		[WORD_NONE] = "malformed", [WORD_OK] = "OK", [WORD_NO] = "NO",
		[WORD_BAD] = "BAD", [WORD_PREAUTH] = "PREAUTH", [WORD_BYE] = "BYE",
	};
	return text[w];
}

/* ---------------------------------------------------------------- commands */

static void count(struct imap_flow *st, enum artmon_event ev)
{
	host->count(st->flow, ev);
}

/* Index of the command with this id; -1 if none. */
static int find_id(const struct imap_flow *st, uint8_t id)
{
	for (int i = 0; id && i < st->ncmds; i++)
		if (st->cmds[i].id == id)
			return i;
	return -1;
}

static struct imap_cmd *cmd_by_id(struct imap_flow *st, uint8_t id)
{
	int i = find_id(st, id);
	return i < 0 ? NULL : &st->cmds[i];
}

/* Index of the oldest command with this tag; -1 if none. */
static int find_tag(const struct imap_flow *st, const uint8_t *s, size_t n)
{
	uint64_t k = tag_key(s, n);
	uint8_t len = n > UINT8_MAX ? UINT8_MAX : (uint8_t)n;

	for (int i = 0; i < st->ncmds; i++) {
		const struct imap_cmd *c = &st->cmds[i];
		if ((c->flags & R_TAGGED) && c->taglen == len && c->tag == k)
			return i;
	}
	return -1;
}

/* The oldest command the client has finished sending: untagged data
 * answers it. */
static struct imap_cmd *oldest_sent(struct imap_flow *st)
{
	for (int i = 0; i < st->ncmds; i++)
		if (st->cmds[i].flags & R_SENT)
			return &st->cmds[i];
	return NULL;
}

/*
 * Close cmds[i] and forget it.  status NULL: unanswered (the core
 * reports "timeout").  Every close goes through here.
 */
static void close_cmd(struct imap_flow *st, int i, const char *status,
		      bool error, unsigned flags)
{
	struct imap_cmd *c = &st->cmds[i];

	if (c->flags & R_LOST)
		flags |= ARTMON_TXN_GAP;
	if (!status)
		flags |= ARTMON_TXN_TIMEOUT;
	host->txn_close(c->txn, status, error, flags);
	for (int d = 0; d < 2; d++)
		if (st->cur[d] == c->id)
			st->cur[d] = 0;
	st->ncmds--;
	memmove(c, c + 1, (size_t)(st->ncmds - i) * sizeof *c);
	if (st->ncmds == 0) {
		free(st->cmds);
		st->cmds = NULL;
	}
}

/* A fresh id: the smallest not in use (at most IMAP_MAX_PENDING are).
 * Reusing one is safe: close_cmd() forgets every reference to it. */
static uint8_t new_id(const struct imap_flow *st)
{
	uint8_t id = 1;

	while (find_id(st, id) >= 0)
		id++;
	return id;
}

/*
 * Open a transaction for a new command (or the greeting, with its start
 * time); NULL if there is no memory for the table.  The table holds one
 * command at first (most connections never have two in flight) and
 * doubles when its size reaches a power of two, so its capacity needs no
 * field.
 */
static struct imap_cmd *open_cmd(struct imap_flow *st, enum kind kind,
				 int64_t start_ns)
{
	unsigned n = st->ncmds;

	if (n >= IMAP_MAX_PENDING) {
		count(st, ARTMON_EV_QUEUE_FULL);
		close_cmd(st, 0, NULL, true, 0);
		n = st->ncmds;
	}
	if ((n & (n - 1)) == 0) {
		size_t cap = n ? 2 * (size_t)n : 1;
		struct imap_cmd *nc = realloc(st->cmds, cap * sizeof *nc);
		if (!nc) {
			host->warn("imap: out of memory for a command; "
				   "commands go unmeasured");
			return NULL;
		}
		st->cmds = nc;
	}
	struct imap_cmd *c = &st->cmds[n];
	memset(c, 0, sizeof *c);
	c->id = new_id(st);
	c->kind = (uint8_t)kind;
	c->txn = host->txn_open(st->flow, start_ns);
	st->ncmds++;
	return c;
}

/* ---------------------------------------------------------------- crediting */

/* Credit data[mark, off) plus extra bytes of earlier calls to the command
 * the client is on, unless its answer has begun. */
static void credit_request(struct imap_flow *st, struct pass *p, size_t extra)
{
	struct imap_cmd *c = cmd_by_id(st, st->cur[C2S]);
	size_t n = p->off - p->mark + extra;

	if (n && c && !(c->flags & R_ANSWERED))
		host->txn_request(c->txn, n);
	p->mark = p->off;
}

/* Credit n bytes of the current call to the response's command. */
static void credit_response_n(struct imap_flow *st, size_t n)
{
	struct imap_cmd *c = cmd_by_id(st, st->cur[S2C]);

	if (n && c) {
		host->txn_response(c->txn, n);
		c->flags |= R_ANSWERED;
	}
}

static void credit_response(struct imap_flow *st, struct pass *p,
			    size_t extra)
{
	credit_response_n(st, p->off - p->mark + extra);
	p->mark = p->off;
}

/* ---------------------------------------------------------------- rule text */

/*
 * The text the rules see for a command line s[0, n) from its verb on:
 * the verb upper-cased, and after UID the next word too; LOGIN keeps its
 * user name and drops the password; AUTHENTICATE keeps its mechanism
 * (upper-cased) and drops the initial response.  Everything else is as
 * sent, up to IMAP_TEXT_MAX bytes.  Returns the length written to out.
 */
static size_t command_text(const uint8_t *s, size_t n, enum kind kind,
			   uint8_t *out)
{
	struct cursor c;
	size_t o = 0, w;
	const uint8_t *p;

	cur_init(&c, s, n);
	p = cur_ptr(&c);
	w = take_run(&c, is_atom_char);
	for (size_t i = 0; i < w && o < IMAP_TEXT_MAX; i++)
		out[o++] = upper(p[i]);
	if (eq_nocase(p, w, "UID") || kind == K_AUTH) {
		/* UID's command, AUTHENTICATE's mechanism. */
		if (take_sp(&c)) {
			p = cur_ptr(&c);
			w = take_run(&c, is_atom_char);
			if (o < IMAP_TEXT_MAX)
				out[o++] = ' ';
			for (size_t i = 0; i < w && o < IMAP_TEXT_MAX; i++)
				out[o++] = upper(p[i]);
		}
		if (kind == K_AUTH)
			return o;
	}
	if (kind == K_LOGIN) {
		/* userid: an atom, a quoted string, or a literal's {n}. */
		if (!take_sp(&c) || !cur_remaining(&c))
			return o;
		p = cur_ptr(&c);
		if (*p == '"') {
			bool esc = false, closed = false;
			cur_skip(&c, 1);
			while (cur_remaining(&c) && !closed) {
				uint8_t b = *cur_ptr(&c);
				cur_skip(&c, 1);
				if (esc)
					esc = false;
				else if (b == '\\')
					esc = true;
				else if (b == '"')
					closed = true;
			}
			if (!closed)
				return o;	/* no user name to show */
		} else if (*p == '{') {
			while (cur_remaining(&c) && *cur_ptr(&c) != '}')
				cur_skip(&c, 1);
			if (!cur_skip(&c, 1))
				return o;
		} else if (take_run(&c, is_astring_char) == 0) {
			return o;
		}
		w = (size_t)(cur_ptr(&c) - p);
		if (o < IMAP_TEXT_MAX)
			out[o++] = ' ';
		for (size_t i = 0; i < w && o < IMAP_TEXT_MAX; i++)
			out[o++] = p[i];
		return o;
	}
	w = cur_remaining(&c);
	p = cur_ptr(&c);
	for (size_t i = 0; i < w && o < IMAP_TEXT_MAX; i++)
		out[o++] = p[i];
	return o;
}

/*
 * The first line of command c, s[0, n) (the whole line, or the head of a
 * long one): read its tag and verb, and name it.  strict (a resyncing
 * client side): only "tag SP verb" with a known verb is a command.
 * Returns false if the line is no command (no tag; or, strict, anything
 * but a known verb); a line with a tag but no verb is still a command,
 * counted malformed: the server's "tag BAD" will answer it.
 */
static bool read_command(struct imap_flow *st, struct imap_cmd *c,
			 const uint8_t *s, size_t n, bool strict)
{
	struct cursor cur;
	const uint8_t *tag, *verb;
	size_t tl, vl;
	uint8_t text[IMAP_TEXT_MAX];

	cur_init(&cur, s, n);
	tag = cur_ptr(&cur);
	tl = take_run(&cur, is_tag_char);
	if (tl == 0 || (strict && tl > IMAP_RESYNC_TAG_MAX))
		return false;
	bool sp = take_sp(&cur);
	verb = cur_ptr(&cur);
	vl = sp ? take_run(&cur, is_atom_char) : 0;
	const struct verb *v = vl ? find_verb(verb, vl) : NULL;
	bool ended = !cur_remaining(&cur) || *cur_ptr(&cur) == ' ';
	if (strict && (!v || !ended))
		return false;
	if (!c)
		return true;
	c->tag = tag_key(tag, tl);
	c->taglen = tl > UINT8_MAX ? UINT8_MAX : (uint8_t)tl;
	c->flags |= R_TAGGED;
	if (vl == 0 || !ended) {
		count(st, ARTMON_EV_MALFORMED);
		return true;
	}
	c->kind = v ? v->kind : K_OTHER;
	size_t tn = command_text(verb, n - (size_t)(verb - s),
				 (enum kind)c->kind, text);
	host->txn_name(c->txn, text, tn);
	return true;
}

/* ---------------------------------------------------------------- client */

static void reset_dir(struct imap_flow *st, enum artmon_dir dir,
		      enum mode mode)
{
	st->mode[dir] = (uint8_t)mode;
	st->left[dir] = 0;
	st->tail[dir] = T_NONE;
	st->cur[dir] = 0;
	if (dir == S2C)
		st->line = L_NONE;
	lt_reset(&st->lt[dir]);
}

/*
 * A line of the client ended at p->off.  from: the mode it began in
 * (M_LINE or M_MORE: a command line; M_CONT: a continuation line;
 * M_RESYNC or M_IDLE: a line that is nothing, and the mode to go back
 * to).  lit: the literal it announces.  extra: bytes of the line from
 * earlier calls not yet credited.  done: a continuation line is "DONE".
 */
static void client_line_end(struct imap_flow *st, struct pass *p,
			    enum mode from, enum lit lit, uint64_t size,
			    size_t extra, bool done)
{
	struct imap_cmd *c;

	if (from == M_RESYNC || from == M_IDLE) {
		/* A line read for nothing (a resyncing side's, or one
		 * without a tag); then on as before. */
		p->mark = p->off;
		st->mode[C2S] = (uint8_t)from;
		return;
	}
	credit_request(st, p, extra);
	c = cmd_by_id(st, st->cur[C2S]);
	if (from == M_CONT) {
		if (c && c->kind == K_IDLE && !done)
			count(st, ARTMON_EV_MALFORMED);
		if (c)
			c->flags |= R_SENT;
		st->mode[C2S] = M_IDLE;
		return;
	}
	if (lit != LIT_NONE) {
		/* Even for a command closed already (a NO during a {n+}
		 * literal): the client still sends the bytes. */
		st->left[C2S] = size;
		st->mode[C2S] = lit == LIT_SYNC ? M_WAIT : M_LIT;
		lt_reset(&st->lt[C2S]);
		return;
	}
	if (c && c->kind == K_IDLE) {
		/* All the client may send now is DONE. */
		st->mode[C2S] = M_CONT;
		return;
	}
	if (c)
		c->flags |= R_SENT;
	st->mode[C2S] = M_IDLE;
}

/* The first line of the command the client is on, whole or its head. */
static bool client_first_line(struct imap_flow *st, const uint8_t *s,
			      size_t n)
{
	struct imap_cmd *c = cmd_by_id(st, st->cur[C2S]);

	if (!c)
		return true;
	if (read_command(st, c, s, n, false))
		return true;
	/* No tag: nothing can ever answer it. */
	count(st, ARTMON_EV_MALFORMED);
	close_cmd(st, find_id(st, c->id), "malformed", true, 0);
	return false;
}

/*
 * A resyncing client side read line s[0, n) that started at from in this
 * call with carried bytes before: a command?  Then it opens its
 * transaction here (its earlier bytes are credited with this packet).
 */
static bool client_resync_line(struct imap_flow *st, struct pass *p,
			       const uint8_t *s, size_t n, size_t from)
{
	if (!read_command(st, NULL, s, n, true))
		return false;
	struct imap_cmd *c = open_cmd(st, K_OTHER, 0);
	if (!c)
		return false;
	st->cur[C2S] = c->id;
	read_command(st, c, s, n, true);
	p->mark = from;
	return true;
}

/* One complete client line l that started at from in this call. */
static void client_line(struct imap_flow *st, struct pass *p,
			const struct lt_line *l, size_t from)
{
	enum mode mode = st->mode[C2S];
	uint64_t size = 0;
	enum lit lit;

	switch (mode) {
	case M_LINE:
		credit_request(st, p, 0);
		if (!client_first_line(st, l->ptr, l->len)) {
			st->mode[C2S] = M_IDLE;
			return;
		}
		break;
	case M_RESYNC:
		if (!client_resync_line(st, p, l->ptr, l->len, from)) {
			p->mark = p->off;
			return;
		}
		lit = line_literal(l->ptr, l->len, &size);
		client_line_end(st, p, M_LINE, lit, size, l->carried, false);
		return;
	case M_CONT:
		client_line_end(st, p, M_CONT, LIT_NONE, 0, 0,
				eq_nocase(l->ptr, l->len, "DONE"));
		return;
	default:
		break;
	}
	lit = line_literal(l->ptr, l->len, &size);
	client_line_end(st, p, mode, lit, size, 0, false);
}

/* ---------------------------------------------------------------- server */

/* Close every pending command older than cmds[i] that may have been
 * answered in lost bytes; returns the new index of cmds[i]. */
static int close_lost_before(struct imap_flow *st, int i)
{
	int j = 0;

	while (j < i) {
		/* j < i < ncmds, so cmds is allocated: close_cmd() frees
		 * it only when ncmds reaches 0, an invariant the analyzer
		 * does not keep.
		 * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
		if (st->cmds[j].flags & R_LOST) {
			close_cmd(st, j, NULL, true, 0);
			i--;
		} else {
			j++;
		}
	}
	return i;
}

/* The rest of the connection is unreadable (STARTTLS, COMPRESS). */
static void go_opaque(struct imap_flow *st)
{
	count(st, ARTMON_EV_OPAQUE);
	host->stop(st->flow);
	while (st->ncmds)
		close_cmd(st, 0, NULL, true, 0);
	reset_dir(st, C2S, M_DEAD);
	reset_dir(st, S2C, M_DEAD);
}

/* A tagged completion for command id (0: none matched) ended. */
static void completion(struct imap_flow *st, uint8_t id, enum word w)
{
	bool lenient = (st->flags & F_LOST) != 0;
	int i = find_id(st, id);

	if (w != WORD_OK && w != WORD_NO && w != WORD_BAD) {
		/* "tag PREAUTH", "tag FOO": the server broke the grammar;
		 * the command waits on. */
		if (!lenient)
			count(st, ARTMON_EV_MALFORMED);
		return;
	}
	if (i < 0) {
		if (!id && !lenient)
			count(st, ARTMON_EV_ORPHAN_RESPONSE);
		return;
	}
	st->flags &= (uint8_t)~F_LOST;
	i = close_lost_before(st, i);
	struct imap_cmd *c = &st->cmds[i];
	bool opaque = w == WORD_OK &&
		      (c->kind == K_STARTTLS || c->kind == K_COMPRESS);
	if (st->cur[C2S] == id && (st->mode[C2S] == M_WAIT ||
				   st->mode[C2S] == M_CONT)) {
		/* A literal refused, or a SASL exchange or IDLE ended by
		 * the server: the client sends nothing more for it. */
		st->mode[C2S] = M_IDLE;
		st->left[C2S] = 0;
	}
	close_cmd(st, i, word_text(w), w != WORD_OK, 0);
	if (opaque)
		go_opaque(st);
}

/* The server asks the client to go on ("+ ..."). */
static void continuation(struct imap_flow *st)
{
	struct imap_cmd *c = cmd_by_id(st, st->cur[C2S]);

	if (!c)
		return;
	if (st->mode[C2S] == M_WAIT) {
		st->mode[C2S] = M_LIT;		/* the literal may come */
	} else if (c->kind == K_AUTH && st->mode[C2S] == M_IDLE) {
		c->flags &= (uint8_t)~R_SENT;	/* a SASL line is owed */
		st->mode[C2S] = M_CONT;
	}
}

/*
 * Decide what the response line starting with s[0, n) is and which
 * command it is credited to (line, cur[S2C]); complete: the line is
 * whole (or a long line's head).  False if n bytes cannot tell yet (a
 * tag without its space).
 */
static bool classify(struct imap_flow *st, const uint8_t *s, size_t n,
		     bool complete)
{
	struct imap_cmd *c;
	uint8_t kind;
	uint8_t id = 0;

	if (st->ncmds && st->cmds[0].kind == K_GREETING &&
	    !(st->flags & F_LOST)) {
		kind = L_GREETING;
		id = st->cmds[0].id;
	} else if (n == 0) {
		if (!complete)
			return false;
		kind = L_SKIP;
	} else if (s[0] == '*') {
		kind = L_UNTAGGED;
		c = oldest_sent(st);
		if (!c && st->ncmds && n >= 5 && response_word(s, n) == WORD_BYE)
			c = &st->cmds[0];	/* BYE answers everything */
		id = c ? c->id : 0;
	} else if (s[0] == '+') {
		kind = L_PLUS;
	} else {
		const uint8_t *sp = memchr(s, ' ', n);
		if (!sp && !complete)
			return false;
		size_t tl = sp ? (size_t)(sp - s) : n;
		kind = L_SKIP;
		if (tl > 0 && all_tag_chars(s, tl)) {
			kind = L_TAGGED;
			int i = find_tag(st, s, tl);
			id = i < 0 ? 0 : st->cmds[i].id;
		}
	}
	st->line = LK(kind, WORD_NONE);
	st->cur[S2C] = id;
	return true;
}

/*
 * The server's current line ended at p->off, its bytes credited.  lit:
 * the literal it announces (only untagged data carries them; the item
 * then goes on after the literal).
 */
static void server_line_end(struct imap_flow *st, enum lit lit, uint64_t size)
{
	uint8_t lk = st->line;
	uint8_t kind = LK_KIND(lk), id = st->cur[S2C];
	enum word w = (enum word)LK_WORD(lk);
	bool lenient = (st->flags & F_LOST) != 0;

	if (lit != LIT_NONE && (kind == L_UNTAGGED || kind == L_GREETING)) {
		st->left[S2C] = size;
		st->mode[S2C] = M_LIT;
		lt_reset(&st->lt[S2C]);
		return;
	}
	st->line = L_NONE;
	st->cur[S2C] = 0;
	st->mode[S2C] = M_IDLE;
	if (kind == L_GREETING) {
		/* The server's first line: "* OK", "* PREAUTH" (logged in
		 * already) or "* BYE" (refused), else not IMAP. */
		bool ok = w == WORD_OK || w == WORD_PREAUTH || w == WORD_BYE;
		int i = find_id(st, id);
		if (!ok)
			count(st, ARTMON_EV_MALFORMED);
		if (i >= 0)
			close_cmd(st, i, word_text(w),
				  w != WORD_OK && w != WORD_PREAUTH, 0);
		if (w == WORD_BYE)
			st->flags |= F_BYE;
		return;
	}
	if (st->ncmds && st->cmds[0].kind == K_GREETING)
		close_cmd(st, 0, NULL, true, 0);	/* lost in a gap */
	switch (kind) {
	case L_UNTAGGED:
		if (w == WORD_BYE)
			st->flags |= F_BYE;
		break;
	case L_PLUS:
		continuation(st);
		break;
	case L_TAGGED:
		completion(st, id, w);
		break;
	default:
		if (!lenient)
			count(st, ARTMON_EV_MALFORMED);
		break;
	}
}

/* One complete server line l. */
static void server_line(struct imap_flow *st, struct pass *p,
			const struct lt_line *l)
{
	size_t extra = 0;
	uint64_t size = 0;
	enum lit lit;

	if (st->mode[S2C] == M_IDLE) {
		if (LK_KIND(st->line) == L_NONE) {
			classify(st, l->ptr, l->len, true);
			extra = l->carried;	/* none of it credited yet */
		}
		uint8_t kind = LK_KIND(st->line);
		st->line = LK(kind, line_word(kind, l->ptr, l->len));
	}
	credit_response(st, p, extra);
	lit = line_literal(l->ptr, l->len, &size);
	server_line_end(st, lit, size);
}

/* ---------------------------------------------------------------- streams */

/*
 * Framing lost in dir (a gap, or no memory for a line).  Client: the
 * command being sent keeps waiting if its tag was read, else it can never
 * be matched and closes; the side resyncs at a command line.  Server: the
 * line in progress is dropped, and every command already sent may have
 * been answered in what was lost (R_LOST).
 */
static void lose(struct imap_flow *st, enum artmon_dir dir)
{
	if (dir == C2S) {
		int i = find_id(st, st->cur[C2S]);
		if (i >= 0 && (st->cmds[i].flags & R_TAGGED))
			st->cmds[i].flags |= R_SENT;
		else if (i >= 0)
			close_cmd(st, i, NULL, true, 0);
		reset_dir(st, C2S, M_RESYNC);
		return;
	}
	for (int i = 0; i < st->ncmds; i++)
		if (st->cmds[i].flags & R_SENT)
			st->cmds[i].flags |= R_LOST;
	reset_dir(st, S2C, M_IDLE);
	st->flags |= F_LOST;
}

/*
 * The line starting at p->off is longer than IMAP_LINE_MAX: held bytes of
 * it from earlier calls at hp (the tokenizer's), then n more in this call
 * before its LF (if any) at s.  Read its head, start the tail scanner on
 * the held bytes, and let an M_LONG mode stream the rest.
 */
static void long_line(struct imap_flow *st, enum artmon_dir dir,
		      struct pass *p, const uint8_t *hp, size_t held,
		      const uint8_t *s, size_t n)
{
	uint8_t head[IMAP_HEAD_MAX];
	size_t hn = held < IMAP_HEAD_MAX ? held : IMAP_HEAD_MAX;

	if (hn)
		memcpy(head, hp, hn);
	size_t more = n < IMAP_HEAD_MAX - hn ? n : IMAP_HEAD_MAX - hn;
	memcpy(head + hn, s, more);
	hn += more;
	st->tail[dir] = T_NONE;
	st->left[dir] = 0;
	tail_feed(&st->tail[dir], &st->left[dir], hp, held);

	lt_reset(&st->lt[dir]);	/* hp is not used after this */
	if (dir == C2S) {
		uint8_t mode = st->mode[C2S], next = M_LONG;
		if (mode == M_CONT) {
			next = M_LONG_CONT;
		} else if (mode == M_LINE) {
			if (!client_first_line(st, head, hn))
				next = M_LONG_BAD;
		} else if (mode == M_RESYNC) {
			next = M_LONG_JUNK;
			if (client_resync_line(st, p, head, hn, p->off)) {
				credit_request(st, p, held);
				next = M_LONG;
			}
		}
		st->mode[C2S] = next;
		return;
	}
	if (st->mode[S2C] == M_IDLE) {
		if (LK_KIND(st->line) == L_NONE) {
			classify(st, head, hn, true);
			credit_response_n(st, held);
		}
		uint8_t kind = LK_KIND(st->line);
		st->line = LK(kind, line_word(kind, head, hn));
	}
	st->mode[S2C] = M_LONG;
}

static bool is_long(uint8_t mode)
{
	return mode >= M_LONG && mode <= M_LONG_BAD;
}

/* The mode a client line streamed in mode began in, for
 * client_line_end(). */
static enum mode long_from(uint8_t mode)
{
	switch (mode) {
	case M_LONG_CONT:
		return M_CONT;
	case M_LONG_JUNK:
		return M_RESYNC;
	case M_LONG_BAD:
		return M_IDLE;
	default:
		return M_LINE;
	}
}

/* M_LONG*: stream the rest of a long line; true if it ended. */
static bool long_rest(struct imap_flow *st, enum artmon_dir dir,
		      struct pass *p)
{
	const uint8_t *s = p->data + p->off;
	size_t rem = p->len - p->off;
	const uint8_t *nl = memchr(s, '\n', rem);
	size_t n = nl ? (size_t)(nl - s) : rem;

	tail_feed(&st->tail[dir], &st->left[dir], s, n);
	if (!nl) {
		p->off = p->len;
		return false;
	}
	p->off += n + 1;
	enum lit lit = tail_literal(st->tail[dir]);
	uint64_t size = st->left[dir];
	st->tail[dir] = T_NONE;
	st->left[dir] = 0;
	if (dir == C2S) {
		client_line_end(st, p, long_from(st->mode[C2S]), lit, size, 0,
				false);
	} else {
		credit_response(st, p, 0);
		server_line_end(st, lit, size);
	}
	return true;
}

/* Bytes of dir after the loop: credit what belongs to a message. */
static void end_of_call(struct imap_flow *st, enum artmon_dir dir,
			struct pass *p)
{
	uint8_t mode = st->mode[dir];

	p->off = p->len;
	if (mode == M_DEAD)
		return;
	if (dir == C2S) {
		if (mode == M_IDLE || mode == M_RESYNC ||
		    mode == M_LONG_JUNK || mode == M_LONG_BAD)
			return;
		credit_request(st, p, 0);
		return;
	}
	if (mode == M_IDLE && LK_KIND(st->line) == L_NONE) {
		/* A line cut by the packet boundary: credit its start now
		 * if it shows whose it is, so the response starts at the
		 * packet that carried its first byte; else the packet that
		 * completes it takes its bytes. */
		const uint8_t *s;
		size_t n = lt_partial(&st->lt[S2C], &s);
		if (n && classify(st, s, n, false))
			credit_response_n(st, n);
		p->mark = p->len;
		return;
	}
	credit_response(st, p, 0);
}

static void stream(struct imap_flow *st, enum artmon_dir dir, struct pass *p)
{
	struct linetok *lt = &st->lt[dir];

	while (p->off < p->len) {
		uint8_t mode = st->mode[dir];
		size_t rem = p->len - p->off;

		if (mode == M_DEAD) {
			p->off = p->mark = p->len;
			break;
		}
		if (mode == M_IDLE && dir == C2S) {
			/* Empty lines between commands are no command. */
			while (p->off < p->len && (p->data[p->off] == '\r' ||
						   p->data[p->off] == '\n'))
				p->off++;
			p->mark = p->off;
			if (p->off == p->len)
				break;
			struct imap_cmd *c = open_cmd(st, K_OTHER, 0);
			if (!c) {
				reset_dir(st, C2S, M_RESYNC);
				continue;
			}
			st->cur[C2S] = c->id;
			st->mode[C2S] = M_LINE;
			continue;
		}
		if (mode == M_WAIT) {
			/* Bytes before the "+": the client did not wait
			 * (or the "+" was lost); they are the literal. */
			st->mode[C2S] = M_LIT;
			continue;
		}
		if (mode == M_LIT) {
			uint64_t left = st->left[dir];
			uint64_t take = left < rem ? left : rem;
			p->off += (size_t)take;
			st->left[dir] -= take;
			if (st->left[dir] == 0)
				st->mode[dir] = M_MORE;
			continue;
		}
		if (is_long(mode)) {
			long_rest(st, dir, p);
			continue;
		}

		/* A line.  One longer than IMAP_LINE_MAX is taken over
		 * before the tokenizer would drop it. */
		const uint8_t *hp;
		size_t held = lt_partial(lt, &hp);
		const uint8_t *s = p->data + p->off;
		const uint8_t *nl = memchr(s, '\n', rem);
		size_t n = nl ? (size_t)(nl - s) : rem;
		if (n > IMAP_LINE_MAX - held) {
			long_line(st, dir, p, hp, held, s, n);
			continue;
		}

		struct lt_line line;
		size_t from = p->off;
		switch (lt_next(lt, p->data, p->len, &p->off, &line)) {
		case LT_MORE:
			break;
		case LT_TOO_LONG:
			/* Only without memory for the line's start. */
			host->warn("imap: out of memory for a line; "
				   "resynchronising");
			lose(st, dir);
			p->mark = p->off;
			break;
		case LT_LINE:
			if (dir == C2S)
				client_line(st, p, &line, from);
			else
				server_line(st, p, &line);
			break;
		}
	}
	end_of_call(st, dir, p);
}

/* ---------------------------------------------------------------- callbacks */

static int imap_init(const struct artmon_host *h, char *err, size_t errlen)
{
	if (h->api_version != ARTMON_PLUGIN_API_VERSION) {
		snprintf(err, errlen, "host API %u, plugin built for %u",
			 h->api_version, ARTMON_PLUGIN_API_VERSION);
		return -1;
	}
	host = h;
	return 0;
}

static void *imap_state_new(artmon_flow *flow)
{
	struct imap_flow *st = calloc(1, sizeof *st);
	const struct artmon_flow_info *fi;

	if (!st)
		return NULL;
	st->flow = flow;
	lt_init(&st->lt[C2S], IMAP_LINE_MAX);
	lt_init(&st->lt[S2C], IMAP_LINE_MAX);
	fi = host->flow_info(flow);
	if (fi->midstream) {
		st->mode[C2S] = M_RESYNC;
		st->flags |= F_LOST;
	} else if (fi->handshake_done_ns) {
		/* The server speaks first: its greeting is timed from the
		 * end of the handshake. */
		struct imap_cmd *c = open_cmd(st, K_GREETING,
					      fi->handshake_done_ns);
		if (c) {
			c->flags |= R_SENT;
			host->txn_name_default(c->txn, "IMAP_greeting");
		}
	}
	return st;
}

static void imap_data(void *state, enum artmon_dir dir, const uint8_t *data,
		      size_t len, int64_t ts_ns)
{
	struct imap_flow *st = state;
	struct pass p = { .data = data, .len = len };

	(void)ts_ns;
	if (dir != C2S && dir != S2C)
		return;
	stream(st, dir, &p);
}

static void imap_gap(void *state, enum artmon_dir dir, uint64_t nbytes)
{
	struct imap_flow *st = state;
	uint8_t mode;

	if (dir != C2S && dir != S2C)
		return;
	mode = st->mode[dir];
	if (mode == M_DEAD)
		return;
	if ((mode == M_LIT || mode == M_WAIT) && nbytes <= st->left[dir]) {
		/* Inside counted bytes: the framing holds.  (M_WAIT: the
		 * client was sending its literal; the "+" is not needed to
		 * know where it ends.) */
		st->left[dir] -= nbytes;
		st->mode[dir] = st->left[dir] ? M_LIT : M_MORE;
		return;
	}
	lose(st, dir);
}

/* Close every pending command: the server can no longer answer. */
static void close_all(struct imap_flow *st)
{
	while (st->ncmds) {
		if (st->flags & F_BYE)
			close_cmd(st, 0, "BYE", st->cmds[0].kind != K_LOGOUT,
				  0);
		else
			close_cmd(st, 0, NULL, true, 0);
	}
}

static void imap_end(void *state, enum artmon_dir dir)
{
	struct imap_flow *st = state;

	if (dir == C2S) {
		/* A command cut before its tag can never be answered. */
		int i = find_id(st, st->cur[C2S]);
		if (i >= 0 && !(st->cmds[i].flags & R_TAGGED))
			close_cmd(st, i, NULL, true, 0);
		reset_dir(st, C2S, M_DEAD);
		return;
	}
	if (dir != S2C)
		return;
	close_all(st);
	reset_dir(st, S2C, M_DEAD);
}

static void imap_close(void *state)
{
	struct imap_flow *st = state;

	close_all(st);
	reset_dir(st, C2S, M_DEAD);
	reset_dir(st, S2C, M_DEAD);
}

static void imap_state_free(void *state)
{
	struct imap_flow *st = state;

	free(st->cmds);
	lt_reset(&st->lt[C2S]);
	lt_reset(&st->lt[S2C]);
	free(st);
}

static const uint16_t imap_ports[] = { 143, 0 };

const struct artmon_plugin artmon_plugin = {
	ARTMON_PLUGIN_HEADER,
	.name = "imap",
	.default_name = "IMAP_other",
	.transports = ARTMON_TCP,
	.default_ports = imap_ports,
	.init = imap_init,
	.state_new = imap_state_new,
	.data = imap_data,
	.gap = imap_gap,
	.end = imap_end,
	.close = imap_close,
	.state_free = imap_state_free,
};
