/*
 * cursor.h: bounds-checked reads from untrusted bytes.
 *
 * Every byte artmon reads from a packet, a reassembled stream, a wire frame
 * or a capture file goes through a cursor.  Each getter checks that the bytes
 * it wants are there before touching them and returns false if they are not;
 * the failure is sticky (cur->bad), so a parser can do a run of reads and test
 * once at the end, as tcpdump's GET_ macros and OpenBSD's ibuf_get_* allow.
 *
 * Length checks compare against what remains (len - off), never compute
 * off + n, so a hostile length cannot overflow the test.
 *
 * Everything is static inline: these run several times per packet and must
 * cost no more than the comparison they add.
 */
#ifndef ARTMON_CURSOR_H
#define ARTMON_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t *base;	/* first byte of the buffer (not owned) */
	size_t len;		/* bytes in the buffer */
	size_t off;		/* next byte to read */
	bool bad;		/* a read ran past the end: sticky */
};

static inline void cur_init(struct cursor *c, const void *base, size_t len)
{
	c->base = base;
	c->len = len;
	c->off = 0;
	c->bad = false;
}

static inline size_t cur_remaining(const struct cursor *c)
{
	return c->len - c->off;
}

/* Pointer to the next unread byte (valid for cur_remaining() bytes). */
static inline const uint8_t *cur_ptr(const struct cursor *c)
{
	return c->base + c->off;
}

/* Reserve n bytes: true and advance if they are there, else mark bad. */
static inline bool cur_need(struct cursor *c, size_t n)
{
	if (c->bad || n > c->len - c->off) {
		c->bad = true;
		return false;
	}
	return true;
}

static inline bool cur_skip(struct cursor *c, size_t n)
{
	if (!cur_need(c, n))
		return false;
	c->off += n;
	return true;
}

static inline bool cur_u8(struct cursor *c, uint8_t *v)
{
	if (!cur_need(c, 1))
		return false;
	*v = c->base[c->off++];
	return true;
}

static inline bool cur_be16(struct cursor *c, uint16_t *v)
{
	if (!cur_need(c, 2))
		return false;
	const uint8_t *p = c->base + c->off;
	*v = (uint16_t)((p[0] << 8) | p[1]);
	c->off += 2;
	return true;
}

static inline bool cur_be32(struct cursor *c, uint32_t *v)
{
	if (!cur_need(c, 4))
		return false;
	const uint8_t *p = c->base + c->off;
	*v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	     ((uint32_t)p[2] << 8) | p[3];
	c->off += 4;
	return true;
}

static inline bool cur_le16(struct cursor *c, uint16_t *v)
{
	if (!cur_need(c, 2))
		return false;
	const uint8_t *p = c->base + c->off;
	*v = (uint16_t)(p[0] | (p[1] << 8));
	c->off += 2;
	return true;
}

static inline bool cur_le32(struct cursor *c, uint32_t *v)
{
	if (!cur_need(c, 4))
		return false;
	const uint8_t *p = c->base + c->off;
	*v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	     ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
	c->off += 4;
	return true;
}

static inline bool cur_be64(struct cursor *c, uint64_t *v)
{
	uint32_t hi, lo;
	if (!cur_be32(c, &hi) || !cur_be32(c, &lo))
		return false;
	*v = ((uint64_t)hi << 32) | lo;
	return true;
}

/* Point *out at the next n bytes (no copy) and advance. */
static inline bool cur_bytes(struct cursor *c, size_t n, const uint8_t **out)
{
	if (!cur_need(c, n))
		return false;
	*out = c->base + c->off;
	c->off += n;
	return true;
}

/* Copy the next n bytes into dst and advance. */
static inline bool cur_copy(struct cursor *c, void *dst, size_t n)
{
	if (!cur_need(c, n))
		return false;
	memcpy(dst, c->base + c->off, n);
	c->off += n;
	return true;
}

/*
 * A sub-cursor over the next n bytes, advancing the parent past them: the
 * way to parse a length-prefixed structure without letting it read beyond
 * its declared end.
 */
static inline bool cur_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	const uint8_t *p;
	if (!cur_bytes(c, n, &p)) {
		cur_init(sub, NULL, 0);
		sub->bad = true;
		return false;
	}
	cur_init(sub, p, n);
	return true;
}

/* Read at an absolute offset without moving (for compression pointers). */
static inline bool cur_seek(struct cursor *c, size_t off)
{
	if (c->bad || off > c->len) {
		c->bad = true;
		return false;
	}
	c->off = off;
	return true;
}

#endif /* ARTMON_CURSOR_H */
