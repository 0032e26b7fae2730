/*
 * fuzz-rules.c: the signature-file parser and the classifier it builds.
 *
 * Input: a rules file (sensor/rules.c's PasTmon syntax) up to the first
 * NUL byte; after it, texts to classify, separated by NUL bytes (a
 * plugin's request heads).  A file that parses must classify every text
 * into a name the table can give back, within RULE_NAME_MAX and made of
 * printable ASCII; a file that does not parse must say why, naming a
 * line.  The name table's cap is low (8), so the overflow fold runs too.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "rules.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-rules", 0);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t rlen = nul ? (size_t)(nul - data) : size;
	GError *err = NULL;

	/* The parser gets exactly the file's bytes, unterminated. */
	char *text = g_memdup2(data, rlen);
	struct ruleset *rs = ruleset_parse(text, rlen, "fuzz.sigs", &err);
	g_free(text);
	if (!rs) {
		FUZZ_CHECK(err && g_str_has_prefix(err->message, "fuzz.sigs:"),
			   "a rejected file with no file:line message");
		g_error_free(err);
		return 0;
	}
	FUZZ_CHECK(!err, "a parsed file with an error");
	struct name_table *nt = name_table_new("fuzz", "FUZZ_other", 8);
	size_t off = nul ? rlen + 1 : size;
	while (off < size) {
		const uint8_t *end = memchr(data + off, 0, size - off);
		size_t n = end ? (size_t)(end - (data + off)) : size - off;
		uint8_t *subject = g_memdup2(data + off, n);
		uint32_t id = ruleset_classify(rs, nt, subject, n);
		g_free(subject);
		const char *name = name_table_get(nt, id);
		FUZZ_CHECK(name != NULL, "id %u has no name", id);
		size_t len = strlen(name);
		FUZZ_CHECK(len <= RULE_NAME_MAX, "a name of %zu bytes", len);
		if (id != 0)
			for (size_t i = 0; i < len; i++)
				FUZZ_CHECK(name[i] > 0x20 && name[i] < 0x7f,
					   "byte 0x%02x in a name",
					   (unsigned char)name[i]);
		off += n + 1;
	}
	FUZZ_CHECK(name_table_count(nt) <= 2 + 8 + ruleset_count(rs),
		   "%u names past a cap of 8", name_table_count(nt));
	name_table_free(nt);
	ruleset_free(rs);
	return 0;
}
