/*
 * conffile.h: reading artmon's GKeyFile configuration files so that every
 * error names file:line, for any program and any [group].
 *
 * GKeyFile parses but reports neither line numbers nor which value was
 * wrong, so conf_load_file() pre-checks the syntax line by line, and a
 * struct conf_reader finds the line of a bad key again.  The typed getters
 * leave the output untouched when the key is absent (so defaults set
 * beforehand stay), and record only the first error: a caller reads every
 * key, then tests r.failed once.
 */
#ifndef ARTMON_CONFFILE_H
#define ARTMON_CONFFILE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Load path into kf, first checking that every line is blank, a comment,
 * a [group] or key = value.  first_group names the group to suggest when
 * a key comes before any group.  Errors: "FILE:LINE: why".
 */
int conf_load_file(GKeyFile *kf, const char *path, const char *first_group,
		   GError **err);

/* Line number of "key =" in [group] of path (the last one), or 0. */
unsigned conf_locate_key(const char *path, const char *group,
			 const char *key);

/* "1.5s", "300", "250ms", "5m", "1h", "2d" -> ns; false if not one. */
bool conf_parse_duration_ns(const char *s, int64_t *ns);
/* "1024", "64k", "256M", "16MiB", "1G" -> bytes; false if not a size. */
bool conf_parse_size(const char *s, uint64_t *bytes);

struct conf_reader {
	GKeyFile *kf;
	const char *origin;	/* "FILE" or "command line", for messages */
	const char *path;	/* the file, to find lines; NULL: none */
	const char *group;	/* the group being read */
	GError **err;
	bool failed;		/* an error was recorded: stop reading */
};

/* Start reading [group]; path is origin when origin is a regular file. */
void conf_reader_init(struct conf_reader *r, GKeyFile *kf, const char *origin,
		      const char *group, GError **err);

/* Record an error for key: "FILE:LINE: [group] key: message". */
void conf_bad(struct conf_reader *r, const char *key, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* The raw string value (newly allocated), or NULL if absent or failed. */
char *conf_get(struct conf_reader *r, const char *key);
/* Replace *out (g_free'd) with the value; an empty value sets NULL. */
void conf_get_str(struct conf_reader *r, const char *key, char **out);
void conf_get_bool(struct conf_reader *r, const char *key, bool *out);
/* A number or size ("16M"), min..max inclusive. */
void conf_get_uint(struct conf_reader *r, const char *key, uint64_t min,
		   uint64_t max, uint64_t *out);
/* A duration > 0, in ns. */
void conf_get_duration(struct conf_reader *r, const char *key, int64_t *out);

/* Every key of the group must be in known (NULL-terminated). */
void conf_check_known(struct conf_reader *r, const char *const *known);

/*
 * True when the running binary is the one in this build tree (then it
 * finds its plugins, rules and SQL in the build and source trees rather
 * than the installed directories).
 */
bool conf_in_build_tree(void);

#endif /* ARTMON_CONFFILE_H */
