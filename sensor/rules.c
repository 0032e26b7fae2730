/*
 * rules.c: parse PasTmon-style signature files and name transactions.
 *
 * Where it fits: a plugin hands the core one text per transaction (HTTP:
 * the raw request head); ruleset_classify() runs the rules over it and
 * returns a name id from the plugin's name_table; the transaction and, later,
 * the summary carry the id, and name_table_get() turns it back into text for
 * output.  Rulesets are replaced wholesale on SIGHUP (plugins.c); the name
 * table lives as long as the plugin, so ids stay valid across reloads.
 *
 * Parsing.  The file is tokenised by hand rather than with GLib's GScanner,
 * which the project would otherwise prefer: GScanner's double-quoted strings
 * interpret C escapes, so the regex "GET (\S*)" would reach PCRE2 as
 * "GET (S*)", "\b" as a backspace, "\1" as byte 0x01 and "\\" as a lone
 * backslash (checked against GLib 2.74).  Rules are regexes, so every
 * backslash must reach PCRE2 unchanged; the only escape here is \" for a
 * literal quote.  The tokeniser is about a hundred lines and reports the
 * line of every token, which error messages need anyway.
 *
 * Matching.  Each regex is compiled once (8-bit, never UTF: the subject is
 * raw packet bytes) and JIT-compiled when the platform allows; otherwise
 * PCRE2's interpreter is used silently.  The match context, JIT stack and
 * match data belong to the ruleset and are reused, so classification does
 * not allocate (except when a new name is interned, and except PCRE2's
 * interpreter growing its frame vector the first time it needs to).  A
 * match limit bounds the work one regex may do per transaction: a
 * catastrophic pattern costs at most about a millisecond and counts as no
 * match, instead of stalling the packet thread.
 *
 * Names.  A matching rule's name template is expanded with the capture
 * groups of its first `=~` test; bytes outside printable ASCII are
 * percent-encoded and the result is cut at RULE_NAME_MAX, so a name is one
 * printable token.  Names are interned in the plugin's name_table up to a
 * cap; past it, new names fold into "<template>_overflow" (one per rule),
 * so a `$1` rule over unbounded URLs cannot grow memory without end.  A
 * plugin may also name a transaction itself (name_table_intern, behind
 * txn_name_default): same encoding, same cap, and past the cap the default
 * name, since no rule owns an overflow name for it.
 *
 * Not thread-safe: a ruleset and a name table are used by one thread (the
 * packet thread); reloads build a new ruleset and swap it in between
 * packets.  This file does not read configuration or decide which file a
 * plugin uses; plugins.c does.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <limits.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "rules.h"

/* ---------------------------------------------------------------- limits */

/* A rules file is hand-written; anything larger is a mistake (a capture
 * or a binary passed by accident), not a rules file. */
#define RULES_FILE_MAX		(4u << 20)
/* Caps on what a file can make us allocate.  Each rule may add one
 * overflow name to every reload, so the rule count also bounds those. */
#define RULES_MAX		10000u
#define RULE_TESTS_MAX		64u
/* Offset and Depth: texts from plugins are request heads, far smaller. */
#define RULE_NUM_MAX		(16u << 20)

/*
 * Per-regex work limits.  match_limit counts backtracking steps for one
 * pcre2_match() call; 100000 is about 0.2 ms with JIT and 1 ms in the
 * interpreter for the worst patterns measured, and far above what a
 * sensible rule needs on a 2 KiB request head (under a hundred).  The
 * depth and heap limits only apply to the interpreter and bound the
 * memory its backtracking frames may take.
 */
#define MATCH_LIMIT		100000u
#define DEPTH_LIMIT		5000u
#define HEAP_LIMIT_KIB		2048u
/* PCRE2's default JIT stack is 32 KiB of machine stack; repeated groups
 * over a long header need more.  Allocated once per ruleset. */
#define JIT_STACK_START		(32u << 10)
#define JIT_STACK_MAX		(512u << 10)

/* Ovector pairs kept for naming: group 0 plus $1..$9. */
#define NAME_GROUPS		10u

#define OVERFLOW_SUFFIX		"_overflow"
/* A template must leave room for its overflow name within RULE_NAME_MAX,
 * so neither a constant name nor an overflow name is ever cut. */
#define TEMPLATE_MAX		(RULE_NAME_MAX - (sizeof OVERFLOW_SUFFIX - 1))

/* ---------------------------------------------------------------- types */

struct test {
	pcre2_code *re;
	bool negate;		/* !~ : holds when the regex does not match */
	bool jit;		/* JIT-compiled: use pcre2_jit_match() */
};

struct rule {
	char *name;		/* template as written, e.g. "GET_$1" */
	char *overflow;		/* name + "_overflow" */
	bool constant;		/* template has no $n: it is the name */
	size_t offset;		/* start of the window in the text */
	size_t depth;		/* window length; SIZE_MAX: to the end */
	struct test *tests;	/* tests[0] is the first =~ (the naming one) */
	unsigned n_tests;
	/* A constant name's id, valid for the name table whose serial this
	 * is (tables are never shrunk, so an id once given stays right). */
	uint64_t cache_serial;
	uint32_t cache_id;
};

struct ruleset {
	struct rule *rules;
	unsigned n;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;
	pcre2_match_data *md_name;	/* captures of the naming test */
	pcre2_match_data *md_test;	/* other tests: only yes/no needed */
};

struct name_table {
	char *plugin;
	GHashTable *ids;	/* name -> id; keys are owned by names */
	GPtrArray *names;	/* id -> name (owned); [0] is the default */
	unsigned cap;		/* regular names allowed */
	unsigned regular;	/* regular names interned so far */
	uint64_t folded;	/* classifications folded into an overflow */
	uint64_t serial;	/* unique per table, for rule id caches */
	bool warned;		/* the cap warning has been logged */
};

/* Serial 0 means "no cache", so tables start at 1.  Atomic because tables
 * may one day be created off the main thread; it costs nothing here. */
static _Atomic uint64_t table_serial = 1;

G_DEFINE_QUARK(artmon-rules-error-quark, rules_error)

/* ---------------------------------------------------------------- tokeniser */

enum tok_kind {
	T_EOF,
	T_WORD,		/* run of name characters: keyword, name, number */
	T_STRING,	/* "..." ; value in lexer->str */
	T_LBRACE,
	T_RBRACE,
	T_EQ,		/* = */
	T_MATCH,	/* =~ */
	T_NOMATCH,	/* !~ */
	T_SEMI,
};

struct tok {
	enum tok_kind kind;
	const char *p;		/* T_WORD: the text (not terminated) */
	size_t len;
	unsigned line;
};

struct lexer {
	const char *p, *end;
	unsigned line;
	const char *origin;
	GError **err;
	GString *str;		/* value of the last T_STRING */
};

static void fail(struct lexer *lx, unsigned line, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* Set the one error of this parse: "ORIGIN:LINE: message". */
static void fail(struct lexer *lx, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (lx->err && *lx->err)
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(lx->err, RULES_ERROR, 0, "%s:%u: %s", lx->origin, line,
		    msg);
	g_free(msg);
}

static bool is_name_char(char c)
{
	return g_ascii_isalnum(c) || c == '_' || c == '-' || c == '.' ||
	       c == '/' || c == ':' || c == '$';
}

/* Skip whitespace and the three comment forms.  -1 on an unterminated
 * block comment (reported at the line where it opened). */
static int skip_blank(struct lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;
		size_t left = (size_t)(lx->end - lx->p);

		if (c == '\n') {
			lx->line++;
			lx->p++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
			   c == '\v') {
			lx->p++;
		} else if (c == '#' || (c == '/' && left >= 2 && lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && left >= 2 && lx->p[1] == '*') {
			unsigned open = lx->line;
			lx->p += 2;
			for (;;) {
				if (lx->end - lx->p < 2) {
					fail(lx, open, "unterminated comment "
					     "(missing '*/')");
					return -1;
				}
				if (lx->p[0] == '*' && lx->p[1] == '/')
					break;
				if (*lx->p == '\n')
					lx->line++;
				lx->p++;
			}
			lx->p += 2;
		} else {
			break;
		}
	}
	return 0;
}

/* A quoted regex.  Backslashes pass through untouched (they belong to the
 * regex), except that \" is a literal quote.  A string may not span lines:
 * a missing quote would otherwise swallow the rest of the file. */
static int lex_string(struct lexer *lx, struct tok *t)
{
	g_string_truncate(lx->str, 0);
	lx->p++;		/* opening quote */
	for (;;) {
		if (lx->p >= lx->end || *lx->p == '\n') {
			fail(lx, t->line, "unterminated string (missing '\"')");
			return -1;
		}
		char c = *lx->p;
		if (c == '"') {
			lx->p++;
			return 0;
		}
		if (c == '\\' && lx->end - lx->p >= 2 && lx->p[1] != '\n') {
			if (lx->p[1] != '"')
				g_string_append_c(lx->str, '\\');
			g_string_append_c(lx->str, lx->p[1]);
			lx->p += 2;
			continue;
		}
		g_string_append_c(lx->str, c);
		lx->p++;
	}
}

static int lex_next(struct lexer *lx, struct tok *t)
{
	if (skip_blank(lx) < 0)
		return -1;
	memset(t, 0, sizeof *t);
	t->line = lx->line;
	t->p = lx->p;
	if (lx->p >= lx->end) {
		t->kind = T_EOF;
		return 0;
	}
	char c = *lx->p;
	size_t left = (size_t)(lx->end - lx->p);
	switch (c) {
	case '{': t->kind = T_LBRACE; lx->p++; return 0;
	case '}': t->kind = T_RBRACE; lx->p++; return 0;
	case ';': t->kind = T_SEMI; lx->p++; return 0;
	case '"': t->kind = T_STRING; return lex_string(lx, t);
	case '=':
		if (left >= 2 && lx->p[1] == '~') {
			t->kind = T_MATCH;
			lx->p += 2;
		} else {
			t->kind = T_EQ;
			lx->p++;
		}
		return 0;
	case '!':
		if (left >= 2 && lx->p[1] == '~') {
			t->kind = T_NOMATCH;
			lx->p += 2;
			return 0;
		}
		fail(lx, t->line, "'!' must be followed by '~' (Content !~ "
		     "\"regex\";)");
		return -1;
	}
	if (is_name_char(c)) {
		/* A comment may follow a word without a space: stop at // and
		 * slash-star, so names cannot contain them. */
		while (lx->p < lx->end && is_name_char(*lx->p) &&
		       !(*lx->p == '/' && lx->end - lx->p >= 2 &&
			 (lx->p[1] == '/' || lx->p[1] == '*')))
			lx->p++;
		t->kind = T_WORD;
		t->len = (size_t)(lx->p - t->p);
		return 0;
	}
	if (g_ascii_isprint(c))
		fail(lx, t->line, "unexpected character '%c'", c);
	else
		fail(lx, t->line, "unexpected byte 0x%02x", (unsigned char)c);
	return -1;
}

/* How a token reads in an error message ("found ..."). */
static const char *describe(const struct tok *t, char *buf, size_t size)
{
	switch (t->kind) {
	case T_EOF: return "end of file";
	case T_STRING: return "a string";
	case T_LBRACE: return "'{'";
	case T_RBRACE: return "'}'";
	case T_EQ: return "'='";
	case T_MATCH: return "'=~'";
	case T_NOMATCH: return "'!~'";
	case T_SEMI: return "';'";
	case T_WORD:
		if (t->len > 40)
			snprintf(buf, size, "'%.40s...'", t->p);
		else
			snprintf(buf, size, "'%.*s'", (int)t->len, t->p);
		return buf;
	}
	return "?";
}

static bool word_is(const struct tok *t, const char *kw)
{
	return t->kind == T_WORD && strlen(kw) == t->len &&
	       g_ascii_strncasecmp(t->p, kw, t->len) == 0;
}

/* ---------------------------------------------------------------- parser */

static void rule_clear(struct rule *r)
{
	for (unsigned i = 0; i < r->n_tests; i++)
		pcre2_code_free(r->tests[i].re);
	g_free(r->tests);
	g_free(r->name);
	g_free(r->overflow);
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (unsigned i = 0; i < rs->n; i++)
		rule_clear(&rs->rules[i]);
	g_free(rs->rules);
	pcre2_match_data_free(rs->md_name);
	pcre2_match_data_free(rs->md_test);
	pcre2_jit_stack_free(rs->jit_stack);
	pcre2_match_context_free(rs->mctx);
	g_free(rs);
}

unsigned ruleset_count(const struct ruleset *rs)
{
	return rs ? rs->n : 0;
}

/* Check a name template: length, and every '$' followed by 1..9.  Returns
 * the highest group referenced (0: none), or -1 after reporting. */
static int check_template(struct lexer *lx, const struct tok *t)
{
	int max_ref = 0;

	if (t->len > TEMPLATE_MAX) {
		fail(lx, t->line, "rule name is %zu bytes long; the limit is "
		     "%zu", t->len, (size_t)TEMPLATE_MAX);
		return -1;
	}
	for (size_t i = 0; i < t->len; i++) {
		if (t->p[i] != '$')
			continue;
		if (i + 1 >= t->len || t->p[i + 1] < '1' || t->p[i + 1] > '9') {
			fail(lx, t->line, "rule name '%.*s': '$' must be "
			     "followed by a group number 1-9", (int)t->len,
			     t->p);
			return -1;
		}
		max_ref = MAX(max_ref, t->p[i + 1] - '0');
		i++;
	}
	return max_ref;
}

/* Parse "= NUMBER ;" after Offset or Depth. */
static int parse_number(struct lexer *lx, const struct tok *key,
			size_t *out)
{
	struct tok t;
	char buf[64];
	uint64_t v = 0;

	if (lex_next(lx, &t) < 0)
		return -1;
	if (t.kind != T_EQ) {
		fail(lx, t.line, "expected '=' after %.*s, found %s",
		     (int)key->len, key->p, describe(&t, buf, sizeof buf));
		return -1;
	}
	if (lex_next(lx, &t) < 0)
		return -1;
	if (t.kind != T_WORD) {
		fail(lx, t.line, "expected a number after '%.*s =', found %s",
		     (int)key->len, key->p, describe(&t, buf, sizeof buf));
		return -1;
	}
	/* Digits only, checked before each multiply so it cannot overflow. */
	for (size_t i = 0; i < t.len; i++) {
		if (!g_ascii_isdigit(t.p[i])) {
			fail(lx, t.line, "bad number %s for %.*s (decimal "
			     "digits only)", describe(&t, buf, sizeof buf),
			     (int)key->len, key->p);
			return -1;
		}
		v = v * 10 + (uint64_t)(t.p[i] - '0');
		if (v > RULE_NUM_MAX) {
			fail(lx, t.line, "%.*s %s is too large (limit %u)",
			     (int)key->len, key->p,
			     describe(&t, buf, sizeof buf), RULE_NUM_MAX);
			return -1;
		}
	}
	unsigned value_line = t.line;
	if (lex_next(lx, &t) < 0)
		return -1;
	if (t.kind != T_SEMI) {
		/* Reported where the ';' belongs, not where the next token
		 * happens to be (usually the following line). */
		fail(lx, value_line, "missing ';' after '%.*s = %" G_GUINT64_FORMAT
		     "' (found %s)", (int)key->len, key->p, v,
		     describe(&t, buf, sizeof buf));
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

/* Parse `=~ "regex" ;` or `!~ "regex" ;` after Content and compile it. */
static int parse_content(struct lexer *lx, struct test *out)
{
	struct tok t;
	char buf[64];
	int ec;
	PCRE2_SIZE eoff;

	if (lex_next(lx, &t) < 0)
		return -1;
	if (t.kind != T_MATCH && t.kind != T_NOMATCH) {
		fail(lx, t.line, "expected '=~' or '!~' after Content, found %s",
		     describe(&t, buf, sizeof buf));
		return -1;
	}
	out->negate = t.kind == T_NOMATCH;
	if (lex_next(lx, &t) < 0)
		return -1;
	if (t.kind != T_STRING) {
		fail(lx, t.line, "expected a quoted regex after 'Content %s', "
		     "found %s", out->negate ? "!~" : "=~",
		     describe(&t, buf, sizeof buf));
		return -1;
	}
	/* NEVER_UTF: a (*UTF) in the pattern would make every non-UTF-8
	 * subject an error, i.e. silently no match on real traffic. */
	out->re = pcre2_compile((PCRE2_SPTR)lx->str->str, lx->str->len,
				PCRE2_NEVER_UTF | PCRE2_NEVER_UCP, &ec, &eoff,
				NULL);
	if (!out->re) {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(ec, msg, sizeof msg) < 0)
			g_strlcpy((char *)msg, "unknown error", sizeof msg);
		fail(lx, t.line, "regex \"%s\" does not compile: %s at offset %zu",
		     lx->str->str, (const char *)msg, (size_t)eoff);
		return -1;
	}
	out->jit = pcre2_jit_compile(out->re, PCRE2_JIT_COMPLETE) == 0;
	unsigned string_line = t.line;
	if (lex_next(lx, &t) < 0)
		return -1;
	if (t.kind != T_SEMI) {
		fail(lx, string_line, "missing ';' after Content regex (found %s)",
		     describe(&t, buf, sizeof buf));
		return -1;
	}
	return 0;
}

/*
 * One rule, from after the `transaction` keyword to its '}'.  r is zeroed
 * by the caller and owns what is put into it, also on failure.
 */
static int parse_rule(struct lexer *lx, const struct tok *kw, struct rule *r)
{
	struct tok name, t;
	char buf[64];
	unsigned offset_line = 0, depth_line = 0, naming = UINT_MAX;
	int max_ref;

	if (lex_next(lx, &name) < 0)
		return -1;
	if (name.kind != T_WORD) {
		fail(lx, name.line, "expected a rule name after 'transaction', "
		     "found %s", describe(&name, buf, sizeof buf));
		return -1;
	}
	if ((max_ref = check_template(lx, &name)) < 0)
		return -1;
	r->name = g_strndup(name.p, name.len);
	r->overflow = g_strconcat(r->name, OVERFLOW_SUFFIX, NULL);
	r->constant = max_ref == 0;
	r->depth = SIZE_MAX;

	if (lex_next(lx, &t) < 0)
		return -1;
	if (t.kind != T_LBRACE) {
		fail(lx, t.line, "expected '{' after 'transaction %s', found %s",
		     r->name, describe(&t, buf, sizeof buf));
		return -1;
	}
	unsigned open = t.line;
	r->tests = g_new0(struct test, RULE_TESTS_MAX);

	for (;;) {
		if (lex_next(lx, &t) < 0)
			return -1;
		if (t.kind == T_RBRACE)
			break;
		if (t.kind == T_EOF) {
			fail(lx, open, "rule %s is not closed (missing '}')",
			     r->name);
			return -1;
		}
		if (word_is(&t, "Offset") || word_is(&t, "Depth")) {
			bool is_off = word_is(&t, "Offset");
			unsigned *seen = is_off ? &offset_line : &depth_line;
			if (*seen) {
				fail(lx, t.line, "duplicate %s in rule %s "
				     "(first set on line %u)",
				     is_off ? "Offset" : "Depth", r->name,
				     *seen);
				return -1;
			}
			*seen = t.line;
			size_t v;
			if (parse_number(lx, &t, &v) < 0)
				return -1;
			if (is_off) {
				r->offset = v;
			} else if (v == 0) {
				fail(lx, t.line, "Depth 0 leaves nothing to "
				     "match (omit Depth to search to the end)");
				return -1;
			} else {
				r->depth = v;
			}
		} else if (word_is(&t, "Content")) {
			if (r->n_tests == RULE_TESTS_MAX) {
				fail(lx, t.line, "rule %s has more than %u "
				     "Content tests", r->name, RULE_TESTS_MAX);
				return -1;
			}
			struct test *te = &r->tests[r->n_tests];
			int rc = parse_content(lx, te);
			if (te->re)
				r->n_tests++;	/* owned by r from here */
			if (rc < 0)
				return -1;
			if (!te->negate && naming == UINT_MAX)
				naming = r->n_tests - 1;
		} else {
			fail(lx, t.line, "unknown key %s in rule %s (expected "
			     "Offset, Depth or Content)",
			     describe(&t, buf, sizeof buf), r->name);
			return -1;
		}
	}

	if (naming == UINT_MAX) {
		fail(lx, kw->line, "rule %s has no 'Content =~' test", r->name);
		return -1;
	}
	/* The naming test goes first: its captures must survive the others
	 * (which use separate match data anyway), and ALL must hold, so the
	 * order of evaluation does not change the result. */
	if (naming != 0) {
		struct test tmp = r->tests[naming];
		memmove(&r->tests[1], &r->tests[0], naming * sizeof tmp);
		r->tests[0] = tmp;
	}
	uint32_t groups = 0;
	pcre2_pattern_info(r->tests[0].re, PCRE2_INFO_CAPTURECOUNT, &groups);
	if ((uint32_t)max_ref > groups) {
		fail(lx, name.line, "rule name %s uses $%d but its first "
		     "'Content =~' regex has %u capture group%s", r->name,
		     max_ref, groups, groups == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

struct ruleset *ruleset_parse(const char *text, size_t len,
			      const char *origin, GError **err)
{
	/* NULL text is an empty file (and NULL + 0 would be undefined). */
	if (!text) {
		text = "";
		len = 0;
	}
	struct lexer lx = { text, text + len, 1, origin, err, g_string_new(NULL) };
	GArray *rules = g_array_new(FALSE, TRUE, sizeof(struct rule));
	struct ruleset *rs = NULL;
	GError *local = NULL;
	char buf[64];
	struct tok t;

	if (!err)
		lx.err = &local;	/* parse still needs to know it failed */
	for (;;) {
		if (lex_next(&lx, &t) < 0)
			goto out;
		if (t.kind == T_EOF)
			break;
		if (!word_is(&t, "transaction")) {
			fail(&lx, t.line, "expected 'transaction', found %s",
			     describe(&t, buf, sizeof buf));
			goto out;
		}
		if (rules->len == RULES_MAX) {
			fail(&lx, t.line, "more than %u rules", RULES_MAX);
			goto out;
		}
		struct rule r = { 0 };
		int rc = parse_rule(&lx, &t, &r);
		g_array_append_val(rules, r);	/* freed with the rest */
		if (rc < 0)
			goto out;
	}

	rs = g_new0(struct ruleset, 1);
	rs->n = rules->len;
	rs->rules = (struct rule *)(void *)g_array_free(rules, FALSE);
	rules = NULL;
	for (unsigned i = 0; i < rs->n; i++)	/* give back unused slots */
		rs->rules[i].tests = g_renew(struct test, rs->rules[i].tests,
					     MAX(rs->rules[i].n_tests, 1u));
	rs->mctx = pcre2_match_context_create(NULL);
	rs->md_name = pcre2_match_data_create(NAME_GROUPS, NULL);
	rs->md_test = pcre2_match_data_create(1, NULL);
	rs->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX,
					       NULL);
	if (!rs->mctx || !rs->md_name || !rs->md_test)
		g_error("rules: out of memory for PCRE2 match data");
	pcre2_set_match_limit(rs->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(rs->mctx, DEPTH_LIMIT);
	pcre2_set_heap_limit(rs->mctx, HEAP_LIMIT_KIB);
	if (rs->jit_stack)	/* else PCRE2's 32 KiB default */
		pcre2_jit_stack_assign(rs->mctx, NULL, rs->jit_stack);
out:
	if (rules) {
		for (unsigned i = 0; i < rules->len; i++)
			rule_clear(&g_array_index(rules, struct rule, i));
		g_array_free(rules, TRUE);
	}
	g_string_free(lx.str, TRUE);
	g_clear_error(&local);
	return rs;
}

struct ruleset *ruleset_load(const char *path, GError **err)
{
	struct ruleset *rs = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "rb");

	if (!f) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "%s: cannot open rules file: %s", path,
			    g_strerror(errno));
		return NULL;
	}
	/* Read at most one byte past the cap, to tell "too large" apart. */
	buf = g_malloc(RULES_FILE_MAX + 1);
	len = fread(buf, 1, RULES_FILE_MAX + 1, f);
	if (ferror(f)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_IO,
			    "%s: cannot read rules file: %s", path,
			    g_strerror(errno));
		goto out;
	}
	if (len > RULES_FILE_MAX) {
		g_set_error(err, RULES_ERROR, 0, "%s: larger than %u bytes: "
			    "not a rules file?", path, RULES_FILE_MAX);
		goto out;
	}
	rs = ruleset_parse(buf, len, path, err);
out:
	fclose(f);
	g_free(buf);
	return rs;
}

/* ---------------------------------------------------------------- name table */

/*
 * Append s[0..len) to out[*n..] (capacity RULE_NAME_MAX), percent-encoding
 * bytes outside 0x21..0x7e.  False when it does not all fit: the name is
 * cut there, never inside a %XX.  Written as one tight loop because it is
 * a fifth of the cost of a classification otherwise.
 */
static inline bool put_bytes(char *out, size_t *n, const uint8_t *s,
			     size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = *n;
	bool fits = true;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		if (c >= 0x21 && c <= 0x7e) {
			if (k >= RULE_NAME_MAX) {
				fits = false;
				break;
			}
			out[k++] = (char)c;
		} else {
			if (RULE_NAME_MAX - k < 3) {
				fits = false;
				break;
			}
			out[k] = '%';
			out[k + 1] = hex[c >> 4];
			out[k + 2] = hex[c & 15];
			k += 3;
		}
	}
	*n = k;
	return fits;
}

struct name_table *name_table_new(const char *plugin, const char *default_name,
				  unsigned cap)
{
	struct name_table *nt = g_new0(struct name_table, 1);

	nt->plugin = g_strdup(plugin ? plugin : "?");
	nt->ids = g_hash_table_new(g_str_hash, g_str_equal);
	nt->names = g_ptr_array_new_with_free_func(g_free);
	nt->cap = cap;
	nt->serial = atomic_fetch_add(&table_serial, 1);
	char *d = g_strdup(default_name ? default_name : "unnamed");
	g_ptr_array_add(nt->names, d);
	g_hash_table_insert(nt->ids, d, GUINT_TO_POINTER(0));
	return nt;
}

void name_table_free(struct name_table *nt)
{
	if (!nt)
		return;
	g_hash_table_destroy(nt->ids);
	g_ptr_array_free(nt->names, TRUE);
	g_free(nt->plugin);
	g_free(nt);
}

/* NULL for an id the table never gave out. */
const char *name_table_get(const struct name_table *nt, uint32_t id)
{
	if (!nt || id >= nt->names->len)
		return NULL;
	return g_ptr_array_index(nt->names, id);
}

/* Every name in the table, default and overflow names included: the valid
 * ids are 0 .. count-1. */
unsigned name_table_count(const struct name_table *nt)
{
	return nt ? nt->names->len : 0;
}

/* Counts classifications folded, not distinct names folded: telling those
 * apart would mean remembering the names the cap is there to forget. */
uint64_t name_table_folded(const struct name_table *nt)
{
	return nt ? nt->folded : 0;
}

static uint32_t nt_add(struct name_table *nt, const char *name)
{
	uint32_t id = nt->names->len;
	char *copy = g_strdup(name);

	g_ptr_array_add(nt->names, copy);
	g_hash_table_insert(nt->ids, copy, GUINT_TO_POINTER(id));
	return id;
}

static bool nt_lookup(const struct name_table *nt, const char *name,
		      uint32_t *id)
{
	gpointer v;

	if (!g_hash_table_lookup_extended(nt->ids, name, NULL, &v))
		return false;
	*id = GPOINTER_TO_UINT(v);
	return true;
}

/* Count a name refused by the cap; the first time, say so (once per table:
 * a flood of new URLs must not become a flood of log lines). */
static void nt_fold(struct name_table *nt, const char *into, const char *hint)
{
	nt->folded++;
	if (nt->warned)
		return;
	nt->warned = true;
	log_warnx("plugin %s: more than %u distinct transaction names; new "
		  "names fold into %s (%s)", nt->plugin, nt->cap, into, hint);
}

/* The id of name, interning it if the cap allows, else folding it into
 * the overflow name of rule r (interned past the cap: one per rule). */
static uint32_t nt_intern(struct name_table *nt, const char *name,
			  const struct rule *r, bool *folded)
{
	uint32_t id;

	*folded = false;
	if (nt_lookup(nt, name, &id))
		return id;
	if (nt->regular < nt->cap) {
		nt->regular++;
		return nt_add(nt, name);
	}
	*folded = true;
	nt_fold(nt, r->overflow, "raise max_names or make the rule less "
		"specific");
	if (nt_lookup(nt, r->overflow, &id))
		return id;
	return nt_add(nt, r->overflow);
}

/* Names a plugin picks itself (txn_name_default: "TCP_5432").  They share
 * the table, the encoding and the cap with rule names; past the cap there
 * is no rule to own an overflow name, so they fold into the default. */
uint32_t name_table_intern(struct name_table *nt, const char *name)
{
	char buf[RULE_NAME_MAX + 1];
	size_t n = 0;
	uint32_t id;

	if (!nt || !name || !*name)
		return 0;
	put_bytes(buf, &n, (const uint8_t *)name, strlen(name));
	buf[n] = '\0';
	if (nt_lookup(nt, buf, &id))
		return id;
	if (nt->regular < nt->cap) {
		nt->regular++;
		return nt_add(nt, buf);
	}
	nt_fold(nt, name_table_get(nt, 0), "raise max_names");
	return 0;
}

/* ---------------------------------------------------------------- classify */

/*
 * Expand r's template into out (RULE_NAME_MAX + 1 bytes) with the captures
 * in ov (valid pairs: ngroups) over subject s of length slen.  An unset
 * group expands to nothing.  The ovector is checked against the subject
 * before use, although PCRE2 only reports offsets within it.  Template
 * text needs no encoding (the parser allows only printable characters).
 */
static size_t expand(const struct rule *r, const uint8_t *s, size_t slen,
		     const PCRE2_SIZE *ov, uint32_t ngroups, char *out)
{
	size_t n = 0;
	const char *p = r->name;

	for (;;) {
		const char *d = strchr(p, '$');
		size_t lit = d ? (size_t)(d - p) : strlen(p);
		if (!put_bytes(out, &n, (const uint8_t *)p, lit) || !d)
			break;
		unsigned g = (unsigned)(d[1] - '0');	/* 1..9: checked at parse */
		p = d + 2;
		if (g >= ngroups)
			continue;
		PCRE2_SIZE a = ov[2 * g], b = ov[2 * g + 1];
		if (a == PCRE2_UNSET || b == PCRE2_UNSET || a > b || b > slen)
			continue;
		if (!put_bytes(out, &n, s + a, b - a))
			break;
	}
	out[n] = '\0';
	return n;
}

/*
 * 1: matched, 0: did not, -1: error (match limit, JIT stack, ...).
 * *groups: how many ovector pairs hold this match's groups.  PCRE2 returns
 * 1 + the highest group set, or 0 when the ovector was too small (then
 * every pair it has is this match's); pairs past that may be stale.
 */
static int run(const struct ruleset *rs, const struct test *te,
	       pcre2_match_data *md, const uint8_t *s, size_t len,
	       uint32_t *groups)
{
	int rc = te->jit
		? pcre2_jit_match(te->re, s, len, 0, 0, md, rs->mctx)
		: pcre2_match(te->re, s, len, 0, 0, md, rs->mctx);
	if (rc >= 0) {
		*groups = rc ? (uint32_t)rc : pcre2_get_ovector_count(md);
		return 1;
	}
	return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

uint32_t ruleset_classify(struct ruleset *rs, struct name_table *nt,
			  const uint8_t *text, size_t len)
{
	char name[RULE_NAME_MAX + 1];

	if (!rs || !nt)
		return 0;
	if (!text) {
		text = (const uint8_t *)"";
		len = 0;
	}
	for (unsigned i = 0; i < rs->n; i++) {
		struct rule *r = &rs->rules[i];
		if (r->offset > len)
			continue;
		const uint8_t *w = text + r->offset;
		size_t wlen = MIN(len - r->offset, r->depth);

		/* A regex that errs (hit the match limit) makes the rule not
		 * match, whichever its polarity: the rule was not shown to
		 * hold. */
		uint32_t ngroups, unused;
		if (run(rs, &r->tests[0], rs->md_name, w, wlen, &ngroups) != 1)
			continue;
		bool ok = true;
		for (unsigned k = 1; k < r->n_tests && ok; k++) {
			int m = run(rs, &r->tests[k], rs->md_test, w, wlen,
				    &unused);
			ok = m >= 0 && (m == 1) != r->tests[k].negate;
		}
		if (!ok)
			continue;

		if (r->constant && r->cache_serial == nt->serial)
			return r->cache_id;
		if (expand(r, w, wlen, pcre2_get_ovector_pointer(rs->md_name),
			   ngroups, name) == 0)
			return 0;	/* $1 alone, empty: nothing to name */
		bool folded;
		uint32_t id = nt_intern(nt, name, r, &folded);
		if (r->constant && !folded) {
			r->cache_serial = nt->serial;
			r->cache_id = id;
		}
		return id;
	}
	return 0;
}
