/*
 * test-linetok.c: unit tests of the text protocols' line tokenizer.
 *
 * The tokenizer is fed exactly the pieces a packet boundary could make of
 * a stream, and each test asserts the lines, where they point (the
 * caller's buffer or the tokenizer's), how many of their bytes were
 * carried over from earlier calls, and that an overlong line never holds
 * more than max+1 bytes.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "linetok.h"

/* Feed text as one call; collect the lines as "a|b|" and statuses. */
static GString *feed(struct linetok *lt, const char *text, size_t *too_long)
{
	const uint8_t *d = (const uint8_t *)text;
	size_t len = strlen(text), off = 0;
	GString *out = g_string_new(NULL);
	struct lt_line l;
	enum lt_status s;

	while ((s = lt_next(lt, d, len, &off, &l)) != LT_MORE) {
		if (s == LT_TOO_LONG) {
			if (too_long)
				(*too_long)++;
			g_string_append(out, "<long>|");
			continue;
		}
		g_string_append_len(out, (const char *)l.ptr, (gssize)l.len);
		g_string_append_c(out, '|');
	}
	g_assert_cmpuint(off, ==, len);
	return out;
}

static void test_lines_in_the_buffer_are_returned_in_place(void)
{
	static const uint8_t d[] = "GET / HTTP/1.1\r\nHost: x\n\r\n";
	size_t len = sizeof d - 1, off = 0;
	struct linetok lt;
	struct lt_line l;

	lt_init(&lt, 100);
	g_assert_cmpint(lt_next(&lt, d, len, &off, &l), ==, LT_LINE);
	g_assert_true(l.ptr == d);
	g_assert_cmpuint(l.len, ==, 14);
	g_assert_cmpuint(l.carried, ==, 0);
	g_assert_cmpuint(off, ==, 16);
	g_assert_cmpint(lt_next(&lt, d, len, &off, &l), ==, LT_LINE);
	g_assert_true(l.ptr == d + 16);
	g_assert_cmpuint(l.len, ==, 7);	/* bare LF ends a line too */
	g_assert_cmpint(lt_next(&lt, d, len, &off, &l), ==, LT_LINE);
	g_assert_cmpuint(l.len, ==, 0);	/* the empty line */
	g_assert_cmpuint(off, ==, len);
	g_assert_cmpint(lt_next(&lt, d, len, &off, &l), ==, LT_MORE);
	g_assert_null(lt.buf);		/* nothing was ever allocated */
}

static void test_line_spanning_calls_is_assembled(void)
{
	struct linetok lt;
	struct lt_line l;
	size_t off = 0;

	lt_init(&lt, 100);
	g_assert_cmpint(lt_next(&lt, (const uint8_t *)"Content-Le", 10, &off,
				&l), ==, LT_MORE);
	g_assert_cmpuint(off, ==, 10);
	const uint8_t *p;
	g_assert_cmpuint(lt_partial(&lt, &p), ==, 10);
	g_assert_cmpmem(p, 10, "Content-Le", 10);

	off = 0;
	g_assert_cmpint(lt_next(&lt, (const uint8_t *)"ngth: 5\r\nrest", 13,
				&off, &l), ==, LT_LINE);
	g_assert_cmpmem(l.ptr, l.len, "Content-Length: 5", 17);
	g_assert_cmpuint(l.carried, ==, 10);
	g_assert_cmpuint(off, ==, 9);
	g_assert_cmpuint(lt_partial(&lt, &p), ==, 0);	/* returned, not partial */
	/* Raw bytes after it are the caller's: it looked no further. */
	lt_reset(&lt);
	g_assert_null(lt.buf);
}

static void test_cr_and_lf_in_different_calls(void)
{
	struct linetok lt;
	struct lt_line l;
	size_t off = 0;

	lt_init(&lt, 100);
	g_assert_cmpint(lt_next(&lt, (const uint8_t *)"abc\r", 4, &off, &l),
			==, LT_MORE);
	off = 0;
	g_assert_cmpint(lt_next(&lt, (const uint8_t *)"\nx", 2, &off, &l),
			==, LT_LINE);
	g_assert_cmpmem(l.ptr, l.len, "abc", 3);
	g_assert_cmpuint(l.carried, ==, 4);	/* the CR came earlier */
	g_assert_cmpuint(off, ==, 1);
	lt_reset(&lt);
}

static void test_byte_by_byte_gives_the_same_lines(void)
{
	const char *text = "HTTP/1.1 200 OK\r\nA: b\r\n\r\n0123";
	struct linetok lt;
	GString *got = g_string_new(NULL);

	lt_init(&lt, 64);
	for (size_t i = 0; i < strlen(text); i++) {
		struct lt_line l;
		size_t off = 0;
		enum lt_status s = lt_next(&lt, (const uint8_t *)text + i, 1,
					   &off, &l);
		g_assert_cmpuint(off, ==, 1);
		if (s == LT_LINE) {
			g_string_append_len(got, (const char *)l.ptr,
					    (gssize)l.len);
			g_string_append_c(got, '|');
		}
	}
	g_assert_cmpstr(got->str, ==, "HTTP/1.1 200 OK|A: b||");
	const uint8_t *p;
	g_assert_cmpuint(lt_partial(&lt, &p), ==, 4);	/* "0123" */
	lt_reset(&lt);
	g_string_free(got, TRUE);
}

static void test_line_of_exactly_max_is_taken(void)
{
	struct linetok lt;
	size_t n = 0;

	lt_init(&lt, 8);
	g_autoptr(GString) a = feed(&lt, "12345678\r\n123456789\r\nok\n", &n);
	g_assert_cmpstr(a->str, ==, "12345678|<long>|ok|");
	g_assert_cmpuint(n, ==, 1);
	/* The same split after the CR: the held CR is not counted. */
	g_autoptr(GString) b = feed(&lt, "12345678\r", NULL);
	g_autoptr(GString) c = feed(&lt, "\n", NULL);
	g_assert_cmpstr(b->str, ==, "");
	g_assert_cmpstr(c->str, ==, "12345678|");
	lt_reset(&lt);
}

static void test_overlong_line_is_reported_once_and_skipped(void)
{
	struct linetok lt;
	size_t n = 0;

	lt_init(&lt, 16);
	g_autoptr(GString) a = feed(&lt, "short\nthis line is too long", &n);
	g_assert_cmpstr(a->str, ==, "short|<long>|");
	g_assert_null(lt.buf);
	g_autoptr(GString) b = feed(&lt, " and goes on", &n);
	g_autoptr(GString) c = feed(&lt, " and on\r\nnext\r\n", &n);
	g_assert_cmpstr(b->str, ==, "");
	g_assert_cmpstr(c->str, ==, "next|");
	g_assert_cmpuint(n, ==, 1);
}

static void test_overlong_line_found_after_holding_its_start(void)
{
	struct linetok lt;
	size_t n = 0;

	lt_init(&lt, 16);
	g_autoptr(GString) a = feed(&lt, "0123456789", &n);
	g_assert_cmpstr(a->str, ==, "");
	g_assert_nonnull(lt.buf);
	g_autoptr(GString) b = feed(&lt, "0123456789\nafter\n", &n);
	g_assert_cmpstr(b->str, ==, "<long>|after|");
	g_assert_cmpuint(n, ==, 1);
	g_autoptr(GString) c = feed(&lt, "0123456789", &n);
	g_assert_cmpstr(c->str, ==, "");
	g_autoptr(GString) d = feed(&lt, "0123456789", &n);	/* no LF yet */
	g_assert_cmpstr(d->str, ==, "<long>|");
	g_assert_null(lt.buf);
	g_autoptr(GString) e = feed(&lt, "zz\nlast\n", &n);
	g_assert_cmpstr(e->str, ==, "last|");
	g_assert_cmpuint(n, ==, 2);
}

static void test_ten_megabytes_without_newline_hold_nothing(void)
{
	struct linetok lt;
	size_t n = 0, chunk = 1448;
	uint8_t *junk = g_malloc(chunk);

	memset(junk, 'x', chunk);
	lt_init(&lt, 8192);
	for (size_t sent = 0; sent < 10 * 1024 * 1024; sent += chunk) {
		struct lt_line l;
		size_t off = 0;
		enum lt_status s = lt_next(&lt, junk, chunk, &off, &l);
		g_assert_cmpuint(off, ==, chunk);
		g_assert_cmpint(s, !=, LT_LINE);
		if (s == LT_TOO_LONG)
			n++;
		g_assert_cmpuint(lt.len, <=, 8193);
	}
	g_assert_cmpuint(n, ==, 1);
	g_assert_null(lt.buf);
	g_autoptr(GString) a = feed(&lt, "end\r\nGET / HTTP/1.1\r\n", NULL);
	g_assert_cmpstr(a->str, ==, "GET / HTTP/1.1|");
	g_free(junk);
}

static void test_buffer_is_freed_on_the_next_call(void)
{
	struct linetok lt;

	lt_init(&lt, 100);
	g_autoptr(GString) a = feed(&lt, "ab", NULL);
	g_assert_cmpstr(a->str, ==, "");
	g_assert_nonnull(lt.buf);
	struct lt_line l;
	size_t off = 0;
	g_assert_cmpint(lt_next(&lt, (const uint8_t *)"c\n", 2, &off, &l), ==,
			LT_LINE);
	g_assert_true(l.ptr == lt.buf);	/* returned from its buffer */
	g_assert_cmpmem(l.ptr, l.len, "abc", 3);
	/* Any next call, even one with nothing to read, frees it. */
	g_assert_cmpint(lt_next(&lt, (const uint8_t *)"c\n", 2, &off, &l), ==,
			LT_MORE);
	g_assert_null(lt.buf);
}

static void test_caller_counts_raw_bytes_between_lines(void)
{
	/* Header line, a 5-byte body the caller skips by count, a line. */
	static const uint8_t d[] = "Len: 5\r\nab\ncdNext\r\n";
	size_t len = sizeof d - 1, off = 0;
	struct linetok lt;
	struct lt_line l;

	lt_init(&lt, 100);
	g_assert_cmpint(lt_next(&lt, d, len, &off, &l), ==, LT_LINE);
	lt_reset(&lt);
	off += 5;			/* "ab\ncd" is not scanned */
	g_assert_cmpint(lt_next(&lt, d, len, &off, &l), ==, LT_LINE);
	g_assert_cmpmem(l.ptr, l.len, "Next", 4);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/linetok/lines-in-the-buffer-are-returned-in-place",
			test_lines_in_the_buffer_are_returned_in_place);
	g_test_add_func("/linetok/line-spanning-calls-is-assembled",
			test_line_spanning_calls_is_assembled);
	g_test_add_func("/linetok/cr-and-lf-in-different-calls",
			test_cr_and_lf_in_different_calls);
	g_test_add_func("/linetok/byte-by-byte-gives-the-same-lines",
			test_byte_by_byte_gives_the_same_lines);
	g_test_add_func("/linetok/line-of-exactly-max-is-taken",
			test_line_of_exactly_max_is_taken);
	g_test_add_func("/linetok/overlong-line-is-reported-once-and-skipped",
			test_overlong_line_is_reported_once_and_skipped);
	g_test_add_func("/linetok/overlong-line-found-after-holding-its-start",
			test_overlong_line_found_after_holding_its_start);
	g_test_add_func("/linetok/ten-megabytes-without-newline-hold-nothing",
			test_ten_megabytes_without_newline_hold_nothing);
	g_test_add_func("/linetok/buffer-is-freed-on-the-next-call",
			test_buffer_is_freed_on_the_next_call);
	g_test_add_func("/linetok/caller-counts-raw-bytes-between-lines",
			test_caller_counts_raw_bytes_between_lines);
	return g_test_run();
}
