/*
 * linetok.h: lines out of a byte stream that arrives in pieces, for the
 * text protocols (HTTP, IMAP).
 *
 * A protocol plugin gets the reassembled bytes of a direction one packet
 * at a time, and a line (an HTTP header, an IMAP command) may be cut
 * anywhere by a packet boundary.  The tokenizer returns complete lines,
 * ended by LF or CR LF, without the terminator:
 *
 *   - a line wholly inside the caller's buffer is returned in place: a
 *     pointer into that buffer, nothing copied, nothing allocated (the
 *     common case);
 *   - the start of a line that the buffer ends in is kept in the
 *     tokenizer's own buffer, allocated then and grown geometrically; when
 *     a later call brings the end of the line, the whole line is returned
 *     from there;
 *   - a line longer than the tokenizer's max is reported once as
 *     LT_TOO_LONG, and the tokenizer then discards bytes up to and
 *     including the next LF without keeping them: a 10 MB "line" costs
 *     max+1 bytes of memory at most, never more.
 *
 * The caller reads with an offset into its buffer and may stop between
 * lines to consume raw bytes itself (an HTTP body, an IMAP literal): the
 * tokenizer never looks past the line it returns.  It must not hold a
 * partial line then; lt_reset() before counting raw bytes makes sure, and
 * frees the buffer.
 *
 * Memory: the struct is 16 bytes on LP64; the buffer exists only while a
 * line spans calls (and until the next call after such a line was
 * returned), at most max+1 bytes rounded up to a power of two.
 *
 * Not done: no header parsing, no folding, no character set: bytes in,
 * byte ranges out.  Bare CR is not a terminator (RFC 7230 3.5 allows a
 * recipient to treat it as one; nobody sends it).
 */
#ifndef ARTMON_LINETOK_H
#define ARTMON_LINETOK_H

#include <stddef.h>
#include <stdint.h>

/* Largest max a tokenizer takes (its lengths are 16-bit). */
#define LT_MAX_LIMIT 65534

struct linetok {
	uint8_t *buf;		/* start of a line spanning calls; or NULL */
	uint16_t len;		/* bytes in buf */
	uint16_t max;		/* longest line accepted, terminator excluded */
	uint8_t state;		/* internal: LT_S_* in linetok.c */
};

/* A line found by lt_next(). */
struct lt_line {
	const uint8_t *ptr;	/* first byte; valid until the next lt_* call
				 * on this tokenizer (or as long as the
				 * caller's buffer, when the line is in it) */
	size_t len;		/* bytes, terminator excluded */
	size_t carried;		/* bytes of the line, terminator included,
				 * that came in earlier calls (0: all of it
				 * is in this call's buffer) */
};

enum lt_status {
	LT_MORE,	/* every byte from *off on was taken; no line ends
			 * in them (*off == len) */
	LT_LINE,	/* *line is the next line; *off is past its LF */
	LT_TOO_LONG	/* the next line is longer than max (or there was
			 * no memory to hold its start): it is dropped, and
			 * the rest of it up to its LF will be skipped by
			 * later calls; *off is past what was taken */
};

/* Set up a tokenizer that holds no buffer (new, or after lt_reset()) for
 * lines of at most max bytes (1..LT_MAX_LIMIT; clamped). */
void lt_init(struct linetok *lt, size_t max);

/*
 * The next line from data[*off .. len).  Advances *off past what it took.
 * Call again with the same buffer and the new *off for more lines; a call
 * with *off == len returns LT_MORE and changes nothing.  Never reads
 * outside data[0 .. len).
 */
enum lt_status lt_next(struct linetok *lt, const uint8_t *data, size_t len,
		       size_t *off, struct lt_line *line);

/*
 * The start of the line being collected across calls: its bytes so far
 * (terminator not yet seen) in *p; 0 if there is none (nothing held, or a
 * line too long being skipped).  For a caller that must decide before the
 * line ends (HTTP: is this status line an interim 1xx?).
 */
size_t lt_partial(const struct linetok *lt, const uint8_t **p);

/* Forget any partial line or skipping, and free the buffer.  Call before
 * counting raw bytes, after a gap, and when the stream is done. */
void lt_reset(struct linetok *lt);

#endif /* ARTMON_LINETOK_H */
