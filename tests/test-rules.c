/*
 * test-rules.c: unit tests of the signature rules and the name table.
 *
 * Rules are parsed from strings (origin "t.sigs") so each test shows the
 * exact file it feeds, and every error test asserts the line number the
 * message names.  Classification is checked by the names it produces, not
 * by ids alone.  The last tests load the shipped etc/artmon/http.sigs,
 * found through $ARTMON_SRCDIR (set by `make check`) or, when the binary
 * is run by hand, the source directory configure recorded.
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "log.h"
#include "rules.h"

/* ---------------------------------------------------------------- helpers */

static struct ruleset *parse_ok(const char *text)
{
	GError *err = NULL;
	struct ruleset *rs = ruleset_parse(text, strlen(text), "t.sigs", &err);

	g_assert_no_error(err);
	g_assert_nonnull(rs);
	return rs;
}

static const char *name_len(struct ruleset *rs, struct name_table *nt,
			    const void *text, size_t len)
{
	return name_table_get(nt, ruleset_classify(rs, nt, text, len));
}

static const char *name_of(struct ruleset *rs, struct name_table *nt,
			   const char *text)
{
	return name_len(rs, nt, text, strlen(text));
}

static char *srcdir_file(const char *rel)
{
	const char *dir = g_getenv("ARTMON_SRCDIR");

	return g_build_filename(dir && *dir ? dir : ARTMON_ABS_SRCDIR, rel,
				NULL);
}

/* ---------------------------------------------------------------- parsing */

static void test_empty_file_has_no_rules(void)
{
	static const char *const texts[] = {
		"",
		"\n\n   \t\r\n",
		"# only\n// comments\n/* here\n */\n",
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(texts); i++) {
		struct ruleset *rs = parse_ok(texts[i]);
		g_assert_cmpuint(ruleset_count(rs), ==, 0);
		struct name_table *nt = name_table_new("t", "T_other", 10);
		g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"x",
						  1), ==, 0);
		name_table_free(nt);
		ruleset_free(rs);
	}
}

static void test_comments_and_whitespace_anywhere(void)
{
	struct ruleset *rs = parse_ok(
		"# hash comment\n"
		"// slash comment\n"
		"/* block\n"
		"   comment */ transaction A/*inline*/{ Content=~\"^a\";}// end\n"
		"transaction\tB\t{\r\n"
		"\tOFFSET = 1 ; depth=3;# after a statement\r\n"
		"\tcontent =~ \"^b\" ; // keys are case-insensitive\r\n"
		"}\r\n"
		"TRANSACTION C{Content=~\"c\";Content!~\"d\";}");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	g_assert_cmpuint(ruleset_count(rs), ==, 3);
	g_assert_cmpstr(name_of(rs, nt, "abc"), ==, "A");
	g_assert_cmpstr(name_of(rs, nt, "xbc"), ==, "B");	/* Offset 1 */
	g_assert_cmpstr(name_of(rs, nt, "xxxxbc"), ==, "C");	/* b past Depth */
	g_assert_cmpstr(name_of(rs, nt, "xxxxbcd"), ==, "T_other");
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_regex_backslashes_reach_pcre2_unchanged(void)
{
	/* As a C string: "GET (\S*)", "\d\.\d", "\bword\b", "\\\\" (one
	 * literal backslash), and \" as a literal quote. */
	struct ruleset *rs = parse_ok(
		"transaction get_$1 { Content =~ \"^GET (\\S*)\"; }\n"
		"transaction version { Content =~ \"^v\\d\\.\\d$\"; }\n"
		"transaction word { Content =~ \"\\bword\\b\"; }\n"
		"transaction backslash { Content =~ \"^a\\\\b\"; }\n"
		"transaction quoted_$1 { Content =~ \"say \\\"(\\w+)\\\"\"; }\n"
		"transaction backref { Content =~ \"^(x)\\1$\"; }\n");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	g_assert_cmpstr(name_of(rs, nt, "GET /x y"), ==, "get_/x");
	g_assert_cmpstr(name_of(rs, nt, "v1.2"), ==, "version");
	g_assert_cmpstr(name_of(rs, nt, "v1x2"), ==, "T_other");
	g_assert_cmpstr(name_of(rs, nt, "a word."), ==, "word");
	g_assert_cmpstr(name_of(rs, nt, "swordfish"), ==, "T_other");
	g_assert_cmpstr(name_of(rs, nt, "a\\b"), ==, "backslash");
	g_assert_cmpstr(name_of(rs, nt, "they say \"hi\""), ==, "quoted_hi");
	g_assert_cmpstr(name_of(rs, nt, "xx"), ==, "backref");
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_load_reads_a_file_and_names_it_in_errors(void)
{
	GError *err = NULL;
	g_autofree char *dir = g_dir_make_tmp("test-rules-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *good = g_build_filename(dir, "good.sigs", NULL);
	g_autofree char *bad = g_build_filename(dir, "bad.sigs", NULL);

	g_assert_true(g_file_set_contents(good,
		"transaction A_$1 {\n  Content =~ \"^(\\w+)\";\n}\n", -1, NULL));
	g_assert_true(g_file_set_contents(bad,
		"transaction A {\n  Content =~ \"x\";\n  Colour = 3;\n}\n", -1,
		NULL));

	struct ruleset *rs = ruleset_load(good, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(ruleset_count(rs), ==, 1);
	struct name_table *nt = name_table_new("t", "T_other", 10);
	g_assert_cmpstr(name_of(rs, nt, "hello world"), ==, "A_hello");
	name_table_free(nt);
	ruleset_free(rs);

	g_assert_null(ruleset_load(bad, &err));
	g_assert_nonnull(err);
	g_autofree char *want = g_strdup_printf("%s:3: unknown key 'Colour'",
						bad);
	g_assert_true(g_str_has_prefix(err->message, want));
	g_clear_error(&err);

	g_assert_cmpint(g_unlink(good), ==, 0);
	g_assert_cmpint(g_unlink(bad), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_load_of_a_missing_file_is_an_error(void)
{
	GError *err = NULL;

	g_assert_null(ruleset_load("/nonexistent/artmon/x.sigs", &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
	g_assert_true(g_str_has_prefix(err->message,
				       "/nonexistent/artmon/x.sigs: "));
	g_clear_error(&err);
}

/* ---------------------------------------------------------------- errors */

struct err_case {
	const char *text;
	unsigned line;		/* the line the message must name */
	const char *want;	/* text the message must contain */
};

static void test_error(gconstpointer data)
{
	const struct err_case *c = data;
	GError *err = NULL;
	struct ruleset *rs = ruleset_parse(c->text, strlen(c->text), "t.sigs",
					   &err);
	g_autofree char *prefix = g_strdup_printf("t.sigs:%u: ", c->line);

	g_assert_null(rs);
	g_assert_error(err, RULES_ERROR, 0);
	if (!g_str_has_prefix(err->message, prefix) ||
	    !strstr(err->message, c->want))
		g_error("message \"%s\": want prefix \"%s\" and \"%s\"",
			err->message, prefix, c->want);
	g_assert_null(strchr(err->message, '\n'));	/* one line */
	g_clear_error(&err);
	/* Without a GError the parse must still fail, and not leak. */
	g_assert_null(ruleset_parse(c->text, strlen(c->text), "t.sigs", NULL));
}

static const struct {
	const char *path;
	struct err_case c;
} err_cases[] = {
	{ "/rules/errors/unknown-key-is-refused",
	  { "transaction A {\n  Content =~ \"x\";\n  Length = 5;\n}\n", 3,
	    "unknown key 'Length' in rule A" } },
	{ "/rules/errors/missing-semicolon-after-a-number-names-its-line",
	  { "transaction A {\n  Offset = 4\n  Depth = 8;\n"
	    "  Content =~ \"x\";\n}\n", 2,
	    "missing ';' after 'Offset = 4' (found 'Depth')" } },
	{ "/rules/errors/missing-semicolon-after-a-regex-names-its-line",
	  { "// c\ntransaction A {\n  Content =~ \"x\"\n}\n", 3,
	    "missing ';' after Content regex (found '}')" } },
	{ "/rules/errors/unterminated-string-names-its-opening-line",
	  { "transaction A {\n  Content =~ \"abc;\n}\n", 2,
	    "unterminated string" } },
	{ "/rules/errors/string-ending-in-escaped-quote-is-unterminated",
	  { "transaction A {\n\n  Content =~ \"abc\\\";\n}\n", 3,
	    "unterminated string" } },
	{ "/rules/errors/unterminated-rule-names-the-line-of-its-brace",
	  { "\n\ntransaction A\n{\n  Content =~ \"x\";\n\n", 4,
	    "rule A is not closed (missing '}')" } },
	{ "/rules/errors/unterminated-block-comment-names-its-opening-line",
	  { "transaction A { Content =~ \"x\"; }\n/* never\nclosed\n", 2,
	    "unterminated comment" } },
	{ "/rules/errors/number-with-letters-is-refused",
	  { "transaction A {\n Content =~ \"x\";\n Depth = 12k;\n}\n", 3,
	    "bad number '12k' for Depth" } },
	{ "/rules/errors/negative-number-is-refused",
	  { "transaction A {\n Offset = -1;\n Content =~ \"x\";\n}\n", 2,
	    "bad number '-1' for Offset" } },
	{ "/rules/errors/huge-number-is-refused-without-overflow",
	  { "transaction A {\n Offset = 99999999999999999999999999;\n"
	    " Content =~ \"x\";\n}\n", 2, "is too large" } },
	{ "/rules/errors/number-in-quotes-is-refused",
	  { "transaction A {\n Offset = \"4\";\n Content =~ \"x\";\n}\n", 2,
	    "expected a number after 'Offset =', found a string" } },
	{ "/rules/errors/depth-zero-is-refused",
	  { "transaction A {\n Content =~ \"x\";\n Depth = 0;\n}\n", 3,
	    "Depth 0 leaves nothing to match" } },
	{ "/rules/errors/regex-that-does-not-compile-gives-pcre2-message-and-offset",
	  { "\n\ntransaction A {\n  Content =~ \"GET (\";\n}\n", 4,
	    "regex \"GET (\" does not compile: missing closing parenthesis "
	    "at offset 5" } },
	{ "/rules/errors/utf-mode-in-a-regex-is-refused",
	  { "transaction A {\n  Content =~ \"(*UTF)x\";\n}\n", 2,
	    "does not compile" } },
	{ "/rules/errors/name-group-missing-from-the-regex-is-refused",
	  { "transaction GET_$2 {\n  Content =~ \"GET (\\S*)\";\n}\n", 1,
	    "rule name GET_$2 uses $2 but its first 'Content =~' regex has "
	    "1 capture group" } },
	{ "/rules/errors/name-groups-come-from-the-first-positive-regex-only",
	  { "transaction X_$1 {\n  Content !~ \"(a)\";\n  Content =~ \"b\";\n"
	    "  Content =~ \"(c)\";\n}\n", 1, "has 0 capture groups" } },
	{ "/rules/errors/duplicate-offset-is-refused",
	  { "transaction A {\n Offset = 1;\n Content =~ \"x\";\n"
	    " offset = 2;\n}\n", 4,
	    "duplicate Offset in rule A (first set on line 2)" } },
	{ "/rules/errors/duplicate-depth-is-refused",
	  { "transaction A {\n Depth = 1;\n Depth = 1;\n Content =~ \"x\";\n}\n",
	    3, "duplicate Depth in rule A (first set on line 2)" } },
	{ "/rules/errors/rule-with-only-negative-content-is-refused",
	  { "\ntransaction A {\n Content !~ \"x\";\n}\n", 2,
	    "rule A has no 'Content =~' test" } },
	{ "/rules/errors/rule-without-content-is-refused",
	  { "transaction A { Content =~ \"x\"; }\ntransaction B { Offset = 1; }\n",
	    2, "rule B has no 'Content =~' test" } },
	{ "/rules/errors/content-with-plain-equals-is-refused",
	  { "transaction A {\n Content = \"x\";\n}\n", 2,
	    "expected '=~' or '!~' after Content, found '='" } },
	{ "/rules/errors/unquoted-regex-is-refused",
	  { "transaction A {\n Content =~ x;\n}\n", 2,
	    "expected a quoted regex after 'Content =~', found 'x'" } },
	{ "/rules/errors/bang-without-tilde-is-refused",
	  { "transaction A {\n Content ! \"x\";\n}\n", 2,
	    "'!' must be followed by '~'" } },
	{ "/rules/errors/missing-rule-name-is-refused",
	  { "transaction {\n Content =~ \"x\";\n}\n", 1,
	    "expected a rule name after 'transaction', found '{'" } },
	{ "/rules/errors/missing-brace-after-the-name-is-refused",
	  { "transaction A\n Content =~ \"x\";\n}\n", 2,
	    "expected '{' after 'transaction A', found 'Content'" } },
	{ "/rules/errors/statement-outside-a-rule-is-refused",
	  { "transaction A { Content =~ \"x\"; }\nOffset = 3;\n", 2,
	    "expected 'transaction', found 'Offset'" } },
	{ "/rules/errors/dollar-without-a-group-number-is-refused",
	  { "\ntransaction GET_$x {\n Content =~ \"(x)\";\n}\n", 2,
	    "'$' must be followed by a group number 1-9" } },
	{ "/rules/errors/dollar-zero-is-refused",
	  { "transaction GET_$0 {\n Content =~ \"(x)\";\n}\n", 1,
	    "'$' must be followed by a group number 1-9" } },
	{ "/rules/errors/unexpected-character-is-refused",
	  { "transaction A {\n Content =~ \"x\";\n @\n}\n", 3,
	    "unexpected character '@'" } },
	{ "/rules/errors/control-byte-is-refused",
	  { "transaction A {\n Content =~ \"x\";\n \x01\n}\n", 3,
	    "unexpected byte 0x01" } },
};

static void test_error_name_too_long(void)
{
	GString *s = g_string_new("\ntransaction ");
	for (int i = 0; i < 250; i++)
		g_string_append_c(s, 'n');
	g_string_append(s, " { Content =~ \"x\"; }\n");
	struct err_case c = { s->str, 2, "rule name is 250 bytes long; the "
			      "limit is 191" };
	test_error(&c);
	g_string_free(s, TRUE);
}

static void test_error_too_many_rules(void)
{
	GString *s = g_string_new(NULL);
	for (int i = 0; i < 10001; i++)
		g_string_append(s, "transaction A { Content =~ \"x\"; }\n");
	struct err_case c = { s->str, 10001, "more than 10000 rules" };
	test_error(&c);
	g_string_free(s, TRUE);
}

static void test_error_too_many_content_tests(void)
{
	GString *s = g_string_new("transaction A {\n");
	for (int i = 0; i < 65; i++)
		g_string_append(s, " Content =~ \"x\";\n");
	g_string_append(s, "}\n");
	struct err_case c = { s->str, 66, "rule A has more than 64 Content" };
	test_error(&c);
	g_string_free(s, TRUE);
}

/* ---------------------------------------------------------------- matching */

static void test_first_matching_rule_names_the_transaction(void)
{
	struct ruleset *rs = parse_ok(
		"transaction specific { Content =~ \"^GET /login\"; }\n"
		"transaction get { Content =~ \"^GET \"; }\n"
		"transaction any { Content =~ \".\"; }\n");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	g_assert_cmpstr(name_of(rs, nt, "GET /login"), ==, "specific");
	g_assert_cmpstr(name_of(rs, nt, "GET /other"), ==, "get");
	g_assert_cmpstr(name_of(rs, nt, "PUT /login"), ==, "any");
	g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"", 0), ==,
			 0);
	g_assert_cmpstr(name_table_get(nt, 0), ==, "T_other");
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_no_ruleset_names_nothing(void)
{
	struct name_table *nt = name_table_new("t", "T_other", 10);

	g_assert_cmpuint(ruleset_classify(NULL, nt, (const uint8_t *)"x", 1),
			 ==, 0);
	g_assert_cmpuint(name_table_count(nt), ==, 1);
	ruleset_free(NULL);
	name_table_free(nt);
}

static void test_depth_limits_the_window(void)
{
	struct ruleset *rs = parse_ok(
		"transaction A { Offset = 0; Depth = 10; Content =~ \"XYZ\"; }");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	/* XYZ in bytes 7..9: the last byte inside the window. */
	g_assert_cmpstr(name_of(rs, nt, "0123456XYZ"), ==, "A");
	/* One byte later, Z is byte 10, just outside. */
	g_assert_cmpstr(name_of(rs, nt, "01234567XYZ"), ==, "T_other");
	/* A window longer than the text is cut at the text's end. */
	g_assert_cmpstr(name_of(rs, nt, "XYZ"), ==, "A");
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_offset_starts_the_window_and_anchors_caret(void)
{
	struct ruleset *rs = parse_ok(
		"transaction A { Offset = 4; Depth = 3; Content =~ \"^abc$\"; }");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	g_assert_cmpstr(name_of(rs, nt, "0123abcdef"), ==, "A");
	g_assert_cmpstr(name_of(rs, nt, "012abcdef"), ==, "T_other");
	g_assert_cmpstr(name_of(rs, nt, "01234abcdef"), ==, "T_other");
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_offset_past_the_end_does_not_match(void)
{
	struct ruleset *rs = parse_ok(
		"transaction empty { Offset = 10; Content =~ \"^$\"; }");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	/* Offset == length: an empty window, which "^$" matches. */
	g_assert_cmpstr(name_of(rs, nt, "0123456789"), ==, "empty");
	g_assert_cmpstr(name_of(rs, nt, "012345678"), ==, "T_other");
	g_assert_cmpuint(ruleset_classify(rs, nt, NULL, 0), ==, 0);
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_every_content_test_must_hold(void)
{
	struct ruleset *rs = parse_ok(
		"transaction api_json {\n"
		"  Content =~ \"^GET /api/\";\n"
		"  Content =~ \"(?m)^Accept: application/json\\r$\";\n"
		"  Content !~ \"(?m)^X-Debug:\";\n"
		"}\n");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	g_assert_cmpstr(name_of(rs, nt, "GET /api/x HTTP/1.1\r\n"
				"Accept: application/json\r\n\r\n"), ==,
			"api_json");
	g_assert_cmpstr(name_of(rs, nt, "GET /api/x HTTP/1.1\r\n"
				"Accept: text/html\r\n\r\n"), ==, "T_other");
	g_assert_cmpstr(name_of(rs, nt, "GET /api/x HTTP/1.1\r\n"
				"Accept: application/json\r\n"
				"X-Debug: 1\r\n\r\n"), ==, "T_other");
	g_assert_cmpstr(name_of(rs, nt, "GET /web HTTP/1.1\r\n"
				"Accept: application/json\r\n\r\n"), ==,
			"T_other");
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_names_use_groups_of_the_first_positive_test(void)
{
	struct ruleset *rs = parse_ok(
		"transaction $1_$2 {\n"
		"  Content !~ \"^(x)(y)\";\n"
		"  Content =~ \"^(\\w+) (\\w+)\";\n"
		"  Content =~ \"(\\d)(\\d)\";\n"
		"}\n");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	g_assert_cmpstr(name_of(rs, nt, "foo bar 42"), ==, "foo_bar");
	g_assert_cmpstr(name_of(rs, nt, "xy bar 42"), ==, "T_other");
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_names_work_with_more_than_nine_groups(void)
{
	/* More groups than the ovector keeps: PCRE2 then returns 0, and the
	 * pairs it has must still be used. */
	struct ruleset *rs = parse_ok(
		"transaction $1$9 { Content =~ "
		"\"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)\"; }");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	g_assert_cmpstr(name_of(rs, nt, "abcdefghijkl"), ==, "ai");
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_pathological_regex_gives_up_promptly(void)
{
	struct ruleset *rs = parse_ok(
		"transaction slow { Content =~ \"(a+)+$\"; }\n"
		"transaction slow_not { Content =~ \"^a\"; "
		"Content !~ \"(a+)+$\"; }\n"
		"transaction fallback { Content =~ \"^a\"; }\n");
	struct name_table *nt = name_table_new("t", "T_other", 10);
	size_t n = 30000;
	char *s = g_malloc(n);

	memset(s, 'a', n - 1);
	s[n - 1] = 'b';
	gint64 t0 = g_get_monotonic_time();
	const char *name = name_len(rs, nt, s, n);
	gint64 us = g_get_monotonic_time() - t0;
	/* Neither "slow" (no match: limit hit) nor "slow_not" (a test that
	 * gave up does not count as holding, either way round). */
	g_assert_cmpstr(name, ==, "fallback");
	if (us > 2 * G_USEC_PER_SEC)
		g_error("classification took %" G_GINT64_FORMAT " us", us);
	g_free(s);
	name_table_free(nt);
	ruleset_free(rs);
}

/* ---------------------------------------------------------------- names */

static void test_unset_group_expands_to_nothing(void)
{
	struct ruleset *rs = parse_ok(
		"transaction m_$1_$2 { Content =~ \"^(a)?(b)\"; }");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	g_assert_cmpstr(name_of(rs, nt, "ab"), ==, "m_a_b");
	g_assert_cmpstr(name_of(rs, nt, "b"), ==, "m__b");
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_unprintable_bytes_are_percent_encoded(void)
{
	struct ruleset *rs = parse_ok(
		"transaction n_$1 { Content =~ \"^<(.*)>\"; }");
	struct name_table *nt = name_table_new("t", "T_other", 10);
	static const uint8_t in[] = "<a b\x01\t\r\x7f\xc3\xa9%,\">";

	g_assert_cmpstr(name_len(rs, nt, in, sizeof in - 1), ==,
			"n_a%20b%01%09%0D%7F%C3%A9%,\"");
	/* A NUL byte inside the text is encoded too, not a terminator. */
	g_assert_cmpstr(name_len(rs, nt, "<x\0y>", 5), ==, "n_x%00y");
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_empty_name_gives_the_default(void)
{
	struct ruleset *rs = parse_ok(
		"transaction $1 { Content =~ \"^(\\w*)\"; }");
	struct name_table *nt = name_table_new("t", "T_other", 10);

	g_assert_cmpstr(name_of(rs, nt, "abc"), ==, "abc");
	g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"-", 1), ==,
			 0);
	g_assert_cmpuint(name_table_count(nt), ==, 2);
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_long_names_are_cut_never_inside_an_escape(void)
{
	struct ruleset *rs = parse_ok(
		"transaction $1 { Content =~ \"^(.*)$\"; }");
	struct name_table *nt = name_table_new("t", "T_other", 10);
	char in[400];

	memset(in, 'a', sizeof in);
	const char *name = name_len(rs, nt, in, sizeof in);
	g_assert_cmpuint(strlen(name), ==, RULE_NAME_MAX);
	g_assert_true(strspn(name, "a") == RULE_NAME_MAX);

	/* 198 bytes, then a space: "%20" would need 201, so it is left out
	 * whole and the name stops at 198. */
	in[RULE_NAME_MAX - 2] = ' ';
	name = name_len(rs, nt, in, sizeof in);
	g_assert_cmpuint(strlen(name), ==, RULE_NAME_MAX - 2);
	g_assert_true(strspn(name, "a") == RULE_NAME_MAX - 2);

	/* 197 bytes then a space: the escape fits exactly. */
	in[RULE_NAME_MAX - 2] = 'a';
	in[RULE_NAME_MAX - 3] = ' ';
	name = name_len(rs, nt, in, sizeof in);
	g_assert_cmpuint(strlen(name), ==, RULE_NAME_MAX);
	g_assert_true(g_str_has_suffix(name, "a%20"));
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_same_name_gets_the_same_id(void)
{
	struct ruleset *rs = parse_ok(
		"transaction GET_$1 { Content =~ \"^GET (\\S+)\"; }");
	struct name_table *nt = name_table_new("t", "T_other", 10);
	const uint8_t *a = (const uint8_t *)"GET /a HTTP/1.1";
	const uint8_t *b = (const uint8_t *)"GET /b HTTP/1.0";
	const uint8_t *a2 = (const uint8_t *)"GET /a HTTP/1.0";

	uint32_t ia = ruleset_classify(rs, nt, a, strlen((const char *)a));
	uint32_t ib = ruleset_classify(rs, nt, b, strlen((const char *)b));
	g_assert_cmpuint(ia, ==, 1);
	g_assert_cmpuint(ib, ==, 2);
	g_assert_cmpuint(ruleset_classify(rs, nt, a2,
					  strlen((const char *)a2)), ==, ia);
	g_assert_cmpuint(name_table_count(nt), ==, 3);
	g_assert_null(name_table_get(nt, 3));
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_cap_folds_new_names_into_the_rule_overflow_name(void)
{
	struct ruleset *rs = parse_ok(
		"transaction GET_$1 { Content =~ \"^GET (\\S+)\"; }");
	struct name_table *nt = name_table_new("http", "HTTP_other", 3);
	char req[64];

	for (int i = 0; i < 10; i++) {
		g_snprintf(req, sizeof req, "GET /u%d HTTP/1.1", i);
		const char *name = name_of(rs, nt, req);
		if (i < 3) {
			g_autofree char *want = g_strdup_printf("GET_/u%d", i);
			g_assert_cmpstr(name, ==, want);
		} else {
			g_assert_cmpstr(name, ==, "GET_$1_overflow");
		}
	}
	/* default + 3 names + one overflow name */
	g_assert_cmpuint(name_table_count(nt), ==, 5);
	g_assert_cmpuint(name_table_folded(nt), ==, 7);
	/* Names that made it keep their ids; folding counts every time. */
	g_assert_cmpstr(name_of(rs, nt, "GET /u1 HTTP/1.1"), ==, "GET_/u1");
	g_assert_cmpstr(name_of(rs, nt, "GET /u9 HTTP/1.1"), ==,
			"GET_$1_overflow");
	g_assert_cmpuint(name_table_count(nt), ==, 5);
	g_assert_cmpuint(name_table_folded(nt), ==, 8);
	name_table_free(nt);
	ruleset_free(rs);
}

/* One line per table, however many names fold, so a flood of new URLs
 * cannot flood the log; a second plugin's table warns for itself. */
static void test_cap_warning_is_logged_once_per_table(void)
{
	if (g_test_subprocess()) {
		struct ruleset *rs = parse_ok(
			"transaction A_$1 { Content =~ \"^A(\\d)\"; }\n"
			"transaction B_$1 { Content =~ \"^B(\\d)\"; }\n");
		struct name_table *one = name_table_new("one", "one_other", 1);
		struct name_table *two = name_table_new("two", "two_other", 1);
		static const char *const in[] = { "A1", "A2", "A3", "B1", "B2" };
		for (unsigned i = 0; i < G_N_ELEMENTS(in); i++) {
			name_of(rs, one, in[i]);
			name_of(rs, two, in[i]);
		}
		g_assert_cmpuint(name_table_folded(one), ==, 4);
		name_table_free(one);
		name_table_free(two);
		ruleset_free(rs);
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_test_trap_assert_stderr("*plugin one: more than 1 distinct transaction "
				  "names; new names fold into A_$1_overflow "
				  "(raise max_names or make the rule less "
				  "specific)\n*");
	g_test_trap_assert_stderr("*plugin two: more than 1 distinct*");
	g_test_trap_assert_stderr_unmatched("*plugin one:*plugin one:*");
	g_test_trap_assert_stderr_unmatched("*plugin two:*plugin two:*");
}

static void test_each_rule_folds_into_its_own_overflow_name(void)
{
	struct ruleset *rs = parse_ok(
		"transaction A_$1 { Content =~ \"^A(\\d)\"; }\n"
		"transaction B_$1 { Content =~ \"^B(\\d)\"; }\n");
	struct name_table *nt = name_table_new("t", "T_other", 1);

	g_assert_cmpstr(name_of(rs, nt, "A1"), ==, "A_1");
	g_assert_cmpstr(name_of(rs, nt, "A2"), ==, "A_$1_overflow");
	g_assert_cmpstr(name_of(rs, nt, "B1"), ==, "B_$1_overflow");
	g_assert_cmpstr(name_of(rs, nt, "B2"), ==, "B_$1_overflow");
	g_assert_cmpuint(name_table_count(nt), ==, 4);
	g_assert_cmpuint(name_table_folded(nt), ==, 3);
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_constant_name_rule_makes_one_name(void)
{
	struct ruleset *rs = parse_ok(
		"transaction login { Content =~ \"^POST /login\"; }\n"
		"transaction $1 { Content =~ \"^(\\w+)\"; }\n");
	struct name_table *nt = name_table_new("t", "T_other", 10);
	char req[64];

	for (int i = 0; i < 1000; i++) {
		g_snprintf(req, sizeof req, "POST /login?u=%d", i);
		g_assert_cmpstr(name_of(rs, nt, req), ==, "login");
	}
	g_assert_cmpuint(name_table_count(nt), ==, 2);

	/* The same ruleset used with a second table, where "login" has a
	 * different id, must give that table's id, not a remembered one. */
	struct name_table *nt2 = name_table_new("t2", "T2_other", 10);
	g_assert_cmpstr(name_of(rs, nt2, "first"), ==, "first");
	for (int i = 0; i < 3; i++) {
		g_assert_cmpuint(ruleset_classify(rs, nt2,
			(const uint8_t *)"POST /login", 11), ==, 2);
		g_assert_cmpuint(ruleset_classify(rs, nt,
			(const uint8_t *)"POST /login", 11), ==, 1);
	}
	name_table_free(nt2);
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_constant_name_past_the_cap_folds(void)
{
	struct ruleset *rs = parse_ok(
		"transaction login { Content =~ \"^POST /login\"; }\n"
		"transaction $1 { Content =~ \"^(\\w+)\"; }\n");
	struct name_table *nt = name_table_new("t", "T_other", 1);

	g_assert_cmpstr(name_of(rs, nt, "hello"), ==, "hello");
	g_assert_cmpstr(name_of(rs, nt, "POST /login"), ==, "login_overflow");
	g_assert_cmpstr(name_of(rs, nt, "POST /login"), ==, "login_overflow");
	g_assert_cmpuint(name_table_folded(nt), ==, 2);
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_ids_are_stable_across_ruleset_reload(void)
{
	struct name_table *nt = name_table_new("t", "T_other", 2);
	struct ruleset *rs = parse_ok(
		"transaction w_$1 { Content =~ \"^(\\w+)\"; }");

	g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"alpha", 5),
			 ==, 1);
	g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"beta", 4),
			 ==, 2);
	g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"gamma", 5),
			 ==, 3);	/* w_$1_overflow */
	ruleset_free(rs);	/* SIGHUP: the old rules go */

	rs = parse_ok("transaction zeta { Content =~ \"^zeta\"; }\n"
		      "transaction w_$1 { Content =~ \"^(\\w+)\"; }\n");
	g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"beta", 4),
			 ==, 2);
	g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"alpha", 5),
			 ==, 1);
	g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"delta", 5),
			 ==, 3);
	g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"zeta", 4),
			 ==, 4);	/* zeta_overflow: cap reached */
	ruleset_free(rs);

	/* The table's strings are its own copies (ASan checks the reads). */
	g_assert_cmpstr(name_table_get(nt, 0), ==, "T_other");
	g_assert_cmpstr(name_table_get(nt, 1), ==, "w_alpha");
	g_assert_cmpstr(name_table_get(nt, 2), ==, "w_beta");
	g_assert_cmpstr(name_table_get(nt, 3), ==, "w_$1_overflow");
	g_assert_cmpstr(name_table_get(nt, 4), ==, "zeta_overflow");
	g_assert_cmpuint(name_table_count(nt), ==, 5);
	name_table_free(nt);
}

static void test_plugin_chosen_name_is_interned_like_a_rule_name(void)
{
	struct ruleset *rs = parse_ok(
		"transaction TCP_$1 { Content =~ \"^port (\\d+)\"; }");
	struct name_table *nt = name_table_new("tcp", "TCP_other", 10);
	char longname[300];

	g_assert_cmpuint(name_table_intern(nt, "TCP_5432"), ==, 1);
	g_assert_cmpuint(name_table_intern(nt, "TCP_5432"), ==, 1);
	/* One namespace: a rule that makes the same name gets the same id. */
	g_assert_cmpuint(ruleset_classify(rs, nt, (const uint8_t *)"port 5432",
					  9), ==, 1);
	g_assert_cmpuint(name_table_intern(nt, "TLS handshake\x01\xff"), ==, 2);
	g_assert_cmpstr(name_table_get(nt, 2), ==, "TLS%20handshake%01%FF");
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	uint32_t id = name_table_intern(nt, longname);
	g_assert_cmpuint(strlen(name_table_get(nt, id)), ==, RULE_NAME_MAX);
	/* NULL and "" mean the default name, and are no refusal. */
	g_assert_cmpuint(name_table_intern(nt, NULL), ==, 0);
	g_assert_cmpuint(name_table_intern(nt, ""), ==, 0);
	g_assert_cmpuint(name_table_folded(nt), ==, 0);
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_plugin_chosen_name_past_the_cap_is_the_default(void)
{
	struct name_table *nt = name_table_new("tcp", "TCP_other", 1);

	g_assert_cmpuint(name_table_intern(nt, "TCP_22"), ==, 1);
	g_assert_cmpuint(name_table_intern(nt, "TCP_80"), ==, 0);
	g_assert_cmpuint(name_table_intern(nt, "TCP_443"), ==, 0);
	g_assert_cmpuint(name_table_intern(nt, "TCP_22"), ==, 1);
	g_assert_cmpuint(name_table_folded(nt), ==, 2);
	g_assert_cmpuint(name_table_count(nt), ==, 2);
	name_table_free(nt);
}

/* ---------------------------------------------------------------- shipped */

static struct ruleset *load_shipped(char **text_out)
{
	g_autofree char *path = srcdir_file("etc/artmon/http.sigs");
	GError *err = NULL;
	struct ruleset *rs = ruleset_load(path, &err);

	g_assert_no_error(err);
	if (text_out) {
		g_assert_true(g_file_get_contents(path, text_out, NULL, &err));
		g_assert_no_error(err);
	}
	return rs;
}

static void test_shipped_http_sigs_name_method_and_path(void)
{
	struct ruleset *rs = load_shipped(NULL);
	struct name_table *nt = name_table_new("http", "HTTP_other", 10000);
	static const struct { const char *head, *name; } cases[] = {
		{ "GET /a/b.html?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
		  "GET_/a/b.html" },
		{ "POST /api/items HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
		  "POST_/api/items" },
		{ "GET /page#top HTTP/1.1\r\n\r\n", "GET_/page" },
		{ "HEAD / HTTP/1.0\r\n\r\n", "HEAD_/" },
		{ "OPTIONS * HTTP/1.1\r\n\r\n", "OPTIONS_*" },
		{ "VERSION-CONTROL /doc HTTP/1.1\r\n\r\n",
		  "VERSION-CONTROL_/doc" },
		{ "GET http://h.example/x?y HTTP/1.1\r\n\r\n",
		  "GET_http://h.example/x" },
		/* HTTP/0.9: no version, the path stops at the line end. */
		{ "GET /old\r\nHost: x\r\n\r\n", "GET_/old" },
		{ "SSH-2.0-OpenSSH_9.2\r\n", "HTTP_other" },
		{ "get /lower HTTP/1.1\r\n\r\n", "HTTP_other" },
	};

	g_assert_cmpuint(ruleset_count(rs), ==, 1);
	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpstr(name_of(rs, nt, cases[i].head), ==,
				cases[i].name);
	name_table_free(nt);
	ruleset_free(rs);
}

static void test_shipped_http_sigs_examples_work_when_uncommented(void)
{
	char *text;
	struct ruleset *rs = load_shipped(&text);
	ruleset_free(rs);

	/* Uncomment the examples the way a user would: drop the "//". */
	GString *s = g_string_new(NULL);
	char **lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_string_append(s, g_str_has_prefix(*l, "//") ? *l + 2 : *l);
		g_string_append_c(s, '\n');
	}
	g_strfreev(lines);
	g_free(text);

	rs = parse_ok(s->str);
	g_string_free(s, TRUE);
	struct name_table *nt = name_table_new("http", "HTTP_other", 10000);
	g_assert_cmpuint(ruleset_count(rs), ==, 4);
	g_assert_cmpstr(name_of(rs, nt, "GET /healthz?probe=1 HTTP/1.1\r\n"),
			==, "health_check");
	g_assert_cmpstr(name_of(rs, nt, "GET /static/a.css HTTP/1.1\r\n"),
			==, "static");
	g_assert_cmpstr(name_of(rs, nt, "GET /static/x.php?a HTTP/1.1\r\n"),
			==, "GET_/static");
	g_assert_cmpstr(name_of(rs, nt, "GET /api/items/17 HTTP/1.1\r\n"),
			==, "GET_/api");
	g_assert_cmpstr(name_of(rs, nt, "POST /api/items/17 HTTP/1.1\r\n"),
			==, "POST_/api/items/17");
	name_table_free(nt);
	ruleset_free(rs);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	log_init("test-rules", 0);

	g_test_add_func("/rules/parse/empty-file-has-no-rules",
			test_empty_file_has_no_rules);
	g_test_add_func("/rules/parse/comments-and-whitespace-anywhere",
			test_comments_and_whitespace_anywhere);
	g_test_add_func("/rules/parse/regex-backslashes-reach-pcre2-unchanged",
			test_regex_backslashes_reach_pcre2_unchanged);
	g_test_add_func("/rules/load/reads-a-file-and-names-it-in-errors",
			test_load_reads_a_file_and_names_it_in_errors);
	g_test_add_func("/rules/load/missing-file-is-an-error",
			test_load_of_a_missing_file_is_an_error);

	for (unsigned i = 0; i < G_N_ELEMENTS(err_cases); i++)
		g_test_add_data_func(err_cases[i].path, &err_cases[i].c,
				     test_error);
	g_test_add_func("/rules/errors/name-longer-than-the-limit-is-refused",
			test_error_name_too_long);
	g_test_add_func("/rules/errors/more-rules-than-the-cap-is-refused",
			test_error_too_many_rules);
	g_test_add_func("/rules/errors/more-content-tests-than-the-cap-is-refused",
			test_error_too_many_content_tests);

	g_test_add_func("/rules/match/first-matching-rule-names-the-transaction",
			test_first_matching_rule_names_the_transaction);
	g_test_add_func("/rules/match/no-ruleset-names-nothing",
			test_no_ruleset_names_nothing);
	g_test_add_func("/rules/match/depth-limits-the-window",
			test_depth_limits_the_window);
	g_test_add_func("/rules/match/offset-starts-the-window-and-anchors-caret",
			test_offset_starts_the_window_and_anchors_caret);
	g_test_add_func("/rules/match/offset-past-the-end-does-not-match",
			test_offset_past_the_end_does_not_match);
	g_test_add_func("/rules/match/every-content-test-must-hold",
			test_every_content_test_must_hold);
	g_test_add_func("/rules/match/names-use-groups-of-the-first-positive-test",
			test_names_use_groups_of_the_first_positive_test);
	g_test_add_func("/rules/match/names-work-with-more-than-nine-groups",
			test_names_work_with_more_than_nine_groups);
	g_test_add_func("/rules/match/pathological-regex-gives-up-promptly-without-matching",
			test_pathological_regex_gives_up_promptly);

	g_test_add_func("/rules/names/unset-group-expands-to-nothing",
			test_unset_group_expands_to_nothing);
	g_test_add_func("/rules/names/unprintable-bytes-are-percent-encoded",
			test_unprintable_bytes_are_percent_encoded);
	g_test_add_func("/rules/names/empty-name-gives-the-default",
			test_empty_name_gives_the_default);
	g_test_add_func("/rules/names/long-names-are-cut-never-inside-an-escape",
			test_long_names_are_cut_never_inside_an_escape);
	g_test_add_func("/rules/names/same-name-gets-the-same-id",
			test_same_name_gets_the_same_id);
	g_test_add_func("/rules/names/cap-folds-new-names-into-the-rule-overflow-name",
			test_cap_folds_new_names_into_the_rule_overflow_name);
	g_test_add_func("/rules/names/cap-warning-is-logged-once-per-table",
			test_cap_warning_is_logged_once_per_table);
	g_test_add_func("/rules/names/each-rule-folds-into-its-own-overflow-name",
			test_each_rule_folds_into_its_own_overflow_name);
	g_test_add_func("/rules/names/constant-name-rule-makes-one-name",
			test_constant_name_rule_makes_one_name);
	g_test_add_func("/rules/names/constant-name-past-the-cap-folds",
			test_constant_name_past_the_cap_folds);
	g_test_add_func("/rules/names/ids-are-stable-across-ruleset-reload",
			test_ids_are_stable_across_ruleset_reload);

	g_test_add_func("/rules/names/plugin-chosen-name-is-interned-like-a-rule-name",
			test_plugin_chosen_name_is_interned_like_a_rule_name);
	g_test_add_func("/rules/names/plugin-chosen-name-past-the-cap-is-the-default",
			test_plugin_chosen_name_past_the_cap_is_the_default);

	g_test_add_func("/rules/shipped/http-sigs-name-method-and-path",
			test_shipped_http_sigs_name_method_and_path);
	g_test_add_func("/rules/shipped/http-sigs-examples-work-when-uncommented",
			test_shipped_http_sigs_examples_work_when_uncommented);
	return g_test_run();
}
