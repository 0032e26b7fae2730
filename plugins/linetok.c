/*
 * linetok.c: the line tokenizer of the text protocol plugins.  See
 * linetok.h for what it does and why.
 *
 * One memchr() per line finds its LF; a line inside the caller's buffer is
 * then returned in place.  Only the tail of a buffer that ends mid-line is
 * copied, into a buffer that grows by doubling from 64 bytes up to max+1
 * (the +1 holds a CR whose LF has not come yet), so a line dribbled one
 * byte per packet costs O(length) copying, not O(length^2).  The capacity
 * is a function of the length held (cap_for()), so it needs no field.
 *
 * Offsets are compared with what remains (len - *off), and the only
 * pointer differences taken are between memchr()'s result and the start of
 * the range it searched, so no length from the stream can make us read
 * outside the buffer.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "linetok.h"

/* linetok.state */
enum {
	LT_S_COLLECT,	/* buf holds the start of a line (or nothing) */
	LT_S_SKIP,	/* a line was too long: drop bytes up to its LF */
	LT_S_RETURNED	/* buf holds the line returned last: free it */
};

#define LT_MIN_CAP 64

/* ---------------------------------------------------------------- helpers */

/* Capacity of the buffer that holds n bytes (n <= max + 1). */
static size_t cap_for(const struct linetok *lt, size_t n)
{
	size_t lim = (size_t)lt->max + 1;
	size_t c = LT_MIN_CAP;

	while (c < n)
		c <<= 1;
	return c < lim ? c : lim;
}

static void drop(struct linetok *lt)
{
	free(lt->buf);
	lt->buf = NULL;
	lt->len = 0;
}

/*
 * Append n bytes to the line held; the caller checked that the result is
 * at most max + 1 bytes.  False if there is no memory (the line is then
 * dropped).
 */
static bool hold(struct linetok *lt, const uint8_t *p, size_t n)
{
	size_t have = lt->buf ? cap_for(lt, lt->len) : 0;
	size_t need = (size_t)lt->len + n;

	if (n == 0)
		return true;
	if (need > have) {
		uint8_t *nb = realloc(lt->buf, cap_for(lt, need));
		if (!nb) {
			drop(lt);
			return false;
		}
		lt->buf = nb;
	}
	/* buf is allocated here: without one, have is 0 < need.
	 * NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
	memcpy(lt->buf + lt->len, p, n);
	lt->len = (uint16_t)need;
	return true;
}

/* The line is too long: drop what is held; skip to its LF if not seen. */
static enum lt_status too_long(struct linetok *lt, bool lf_seen)
{
	drop(lt);
	lt->state = lf_seen ? LT_S_COLLECT : LT_S_SKIP;
	return LT_TOO_LONG;
}

/* ---------------------------------------------------------------- API */

void lt_init(struct linetok *lt, size_t max)
{
	if (max < 1)
		max = 1;
	if (max > LT_MAX_LIMIT)
		max = LT_MAX_LIMIT;
	lt->buf = NULL;
	lt->len = 0;
	lt->max = (uint16_t)max;
	lt->state = LT_S_COLLECT;
}

enum lt_status lt_next(struct linetok *lt, const uint8_t *data, size_t len,
		       size_t *off, struct lt_line *line)
{
	if (lt->state == LT_S_RETURNED) {
		drop(lt);
		lt->state = LT_S_COLLECT;
	}
	if (*off >= len)
		return LT_MORE;

	const uint8_t *p = data + *off;
	size_t avail = len - *off;
	const uint8_t *nl = memchr(p, '\n', avail);

	if (lt->state == LT_S_SKIP) {
		if (!nl) {
			*off = len;
			return LT_MORE;
		}
		size_t skip = (size_t)(nl - p) + 1;
		*off += skip;
		lt->state = LT_S_COLLECT;
		if (skip == avail)
			return LT_MORE;
		p = nl + 1;
		avail -= skip;
		nl = memchr(p, '\n', avail);
	}

	/* n: bytes of the line in this buffer before its LF (or all). */
	size_t n = nl ? (size_t)(nl - p) : avail;
	size_t max = lt->max;

	if (lt->len == 0) {
		if (nl) {
			size_t l = (n > 0 && p[n - 1] == '\r') ? n - 1 : n;
			*off += n + 1;
			if (l > max)
				return too_long(lt, true);
			line->ptr = p;
			line->len = l;
			line->carried = 0;
			return LT_LINE;
		}
		*off = len;
		if (n > max + 1 || !hold(lt, p, n))
			return too_long(lt, false);
		return LT_MORE;
	}

	/* The line started in an earlier call. */
	size_t carried = lt->len;
	if (n > max + 1 - carried) {
		/* Even without a CR at its end it is over max. */
		*off = nl ? *off + n + 1 : len;
		return too_long(lt, nl != NULL);
	}
	if (!hold(lt, p, n)) {
		*off = nl ? *off + n + 1 : len;
		return too_long(lt, nl != NULL);
	}
	if (!nl) {
		*off = len;
		return LT_MORE;
	}
	*off += n + 1;
	size_t l = lt->len;
	if (lt->buf[l - 1] == '\r')
		l--;
	if (l > max)
		return too_long(lt, true);
	lt->state = LT_S_RETURNED;
	line->ptr = lt->buf;
	line->len = l;
	line->carried = carried;
	return LT_LINE;
}

size_t lt_partial(const struct linetok *lt, const uint8_t **p)
{
	if (lt->state != LT_S_COLLECT || lt->len == 0) {
		*p = NULL;
		return 0;
	}
	*p = lt->buf;
	return lt->len;
}

void lt_reset(struct linetok *lt)
{
	drop(lt);
	lt->state = LT_S_COLLECT;
}
