/*
 * rules.h: signature rules that name transactions, in PasTmon's syntax.
 *
 *   // http "GET " request for all URLs
 *   transaction GET_$1 {
 *       Offset = 0;
 *       Depth = 50;
 *       Content =~ "GET (\S*)";
 *   }
 *
 * A rules file holds any number of rules; they are tried in file order and
 * the first whose every Content test holds names the transaction.  The text
 * a rule sees is chosen by the plugin (HTTP: the raw request head; DNS:
 * "<QTYPE> <qname>"); Offset and Depth cut the window of it that the
 * regular expressions see.  $1..$9 in the name take the capture groups of
 * the rule's first `=~` test.  The rule engine is shared by every plugin.
 *
 * Names are interned per plugin in a name_table with a cap: past the cap a
 * new name folds into "<rule prefix>_overflow" and the sensor warns once, so
 * a `$1` rule over an unbounded set of URLs cannot grow memory without end.
 */
#ifndef ARTMON_RULES_H
#define ARTMON_RULES_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* Longest transaction name kept; longer expansions are cut. */
#define RULE_NAME_MAX 200

struct ruleset;
struct name_table;

GQuark rules_error_quark(void);
#define RULES_ERROR rules_error_quark()

/*
 * Parse and compile a rules file.  On error returns NULL and sets err to a
 * one-line message starting "PATH:LINE: ".  A missing file is an error.
 */
struct ruleset *ruleset_load(const char *path, GError **err);

/* Same, from memory; origin names the text in messages. */
struct ruleset *ruleset_parse(const char *text, size_t len,
			      const char *origin, GError **err);

void ruleset_free(struct ruleset *rs);
unsigned ruleset_count(const struct ruleset *rs);

/*
 * A name table for one plugin.  Id 0 is always default_name (the name of
 * transactions no rule matches).  cap: distinct names allowed (default
 * 10000), not counting the default and the overflow names.
 */
struct name_table *name_table_new(const char *plugin, const char *default_name,
				  unsigned cap);
void name_table_free(struct name_table *nt);
const char *name_table_get(const struct name_table *nt, uint32_t id);
unsigned name_table_count(const struct name_table *nt);
/* Names that were folded into an overflow name since start. */
uint64_t name_table_folded(const struct name_table *nt);

/*
 * The id of a name a plugin chose itself (txn_name_default), interned as a
 * rule's name is: bytes outside printable ASCII %XX-encoded, cut at
 * RULE_NAME_MAX, counted against the cap.  Past the cap, or for NULL or
 * "", it is 0 (default_name); a refusal counts as folded.
 */
uint32_t name_table_intern(struct name_table *nt, const char *name);

/*
 * Name a transaction: run rs (may be NULL: no rules) over text and return
 * the id of the resulting name in nt (0 if no rule matched).
 */
uint32_t ruleset_classify(struct ruleset *rs, struct name_table *nt,
			  const uint8_t *text, size_t len);

#endif /* ARTMON_RULES_H */
