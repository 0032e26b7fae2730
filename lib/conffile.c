/*
 * conffile.c: GKeyFile loading with line-numbered errors; see conffile.h.
 *
 * The pre-check is deliberately stricter than GKeyFile (a key before any
 * group, or a line that is neither a comment nor key = value, is an
 * error): configuration mistakes are found at start-up, by line, rather
 * than silently ignored.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "conffile.h"

/* ----------------------------------------------------------------------
 * Value syntax
 */

bool conf_parse_duration_ns(const char *s, int64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = g_ascii_strtod(s, &end);
	if (end == s || errno || !(v >= 0))
		return false;
	double mult;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1e9;
	else if (strcmp(end, "ms") == 0)
		mult = 1e6;
	else if (strcmp(end, "us") == 0)
		mult = 1e3;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60e9;
	else if (strcmp(end, "h") == 0)
		mult = 3600e9;
	else if (strcmp(end, "d") == 0)
		mult = 86400e9;
	else
		return false;
	if (v * mult > 9e18)
		return false;
	*ns = (int64_t)(v * mult + 0.5);
	return true;
}

bool conf_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	guint64 v;

	if (!g_ascii_isdigit(*s))
		return false;	/* strtoull would take "-1" */
	errno = 0;
	v = g_ascii_strtoull(s, &end, 10);
	if (end == s || errno)
		return false;
	uint64_t mult = 1;
	switch (g_ascii_toupper(*end)) {
	case '\0':
		break;
	case 'K':
		mult = 1ull << 10;
		break;
	case 'M':
		mult = 1ull << 20;
		break;
	case 'G':
		mult = 1ull << 30;
		break;
	default:
		return false;
	}
	/* Optional "B" or "iB" after the multiplier, nothing else. */
	if (*end && end[1] && !(g_ascii_toupper(end[1]) == 'B' && !end[2]) &&
	    !(end[1] == 'i' && g_ascii_toupper(end[2]) == 'B' && !end[3]))
		return false;
	if (v > UINT64_MAX / mult)
		return false;
	*bytes = v * mult;
	return true;
}

/* ----------------------------------------------------------------------
 * The file
 */

unsigned conf_locate_key(const char *path, const char *group, const char *key)
{
	g_autofree gchar *text = NULL;
	unsigned line = 0, found = 0;
	bool in_group = false;
	size_t glen = strlen(group), klen = strlen(key);

	if (!path || !g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	gchar **lines = g_strsplit(text, "\n", -1);
	for (gchar **l = lines; *l; l++) {
		line++;
		gchar *t = g_strstrip(*l);
		if (*t == '[') {
			gchar *close = strchr(t, ']');
			in_group = close && (size_t)(close - t - 1) == glen &&
				   strncmp(t + 1, group, glen) == 0;
		} else if (in_group && strncmp(t, key, klen) == 0) {
			const char *r = t + klen;
			while (*r == ' ' || *r == '\t')
				r++;
			if (*r == '=')
				found = line;	/* the last one wins, as in GKeyFile */
		}
	}
	g_strfreev(lines);
	return found;
}

int conf_load_file(GKeyFile *kf, const char *path, const char *first_group,
		   GError **err)
{
	g_autofree gchar *text = NULL;
	gsize len;
	unsigned line = 0;
	bool group_seen = false;
	int rc = 0;

	if (!g_file_get_contents(path, &text, &len, err))
		return -1;
	gchar **lines = g_strsplit(text, "\n", -1);
	for (gchar **l = lines; *l && rc == 0; l++) {
		line++;
		gchar *t = g_strstrip(*l);
		const char *why = NULL;
		if (*t == '\0' || *t == '#' || *t == ';')
			continue;
		if (*t == '[') {
			if (t[strlen(t) - 1] != ']' || strlen(t) < 3)
				why = "a group header must look like [name]";
			group_seen = true;
		} else if (!strchr(t, '=')) {
			why = "expected 'key = value', a [group] or a # comment";
		} else if (!group_seen) {
			why = "a key before any [group]";
		}
		if (why) {
			g_set_error(err, G_KEY_FILE_ERROR,
				    G_KEY_FILE_ERROR_PARSE, "%s:%u: %s%s%s%s",
				    path, line, why,
				    !group_seen && first_group ? " (start with [" : "",
				    !group_seen && first_group ? first_group : "",
				    !group_seen && first_group ? "])" : "");
			rc = -1;
		}
	}
	g_strfreev(lines);
	if (rc == 0 && !g_key_file_load_from_data(kf, text, len,
						  G_KEY_FILE_NONE, err)) {
		g_prefix_error(err, "%s: ", path);
		rc = -1;
	}
	return rc;
}

/* ----------------------------------------------------------------------
 * Typed reading
 */

void conf_reader_init(struct conf_reader *r, GKeyFile *kf, const char *origin,
		      const char *group, GError **err)
{
	r->kf = kf;
	r->origin = origin ? origin : "command line";
	r->path = origin && g_file_test(origin, G_FILE_TEST_IS_REGULAR) ? origin
									 : NULL;
	r->group = group;
	r->err = err;
	r->failed = false;
}

void conf_bad(struct conf_reader *r, const char *key, const char *fmt, ...)
{
	va_list ap;
	g_autofree gchar *msg = NULL;

	if (r->failed)
		return;
	r->failed = true;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	unsigned line = conf_locate_key(r->path, r->group, key);
	if (line)
		g_set_error(r->err, G_KEY_FILE_ERROR,
			    G_KEY_FILE_ERROR_INVALID_VALUE, "%s:%u: [%s] %s: %s",
			    r->path, line, r->group, key, msg);
	else
		g_set_error(r->err, G_KEY_FILE_ERROR,
			    G_KEY_FILE_ERROR_INVALID_VALUE, "%s: [%s] %s: %s",
			    r->origin, r->group, key, msg);
}

char *conf_get(struct conf_reader *r, const char *key)
{
	if (r->failed || !g_key_file_has_key(r->kf, r->group, key, NULL))
		return NULL;
	return g_key_file_get_string(r->kf, r->group, key, NULL);
}

void conf_get_str(struct conf_reader *r, const char *key, char **out)
{
	char *v = conf_get(r, key);
	if (!v)
		return;
	g_free(*out);
	if (*v) {
		*out = v;
	} else {
		*out = NULL;
		g_free(v);
	}
}

void conf_get_bool(struct conf_reader *r, const char *key, bool *out)
{
	g_autofree char *v = conf_get(r, key);
	if (!v)
		return;
	if (!g_ascii_strcasecmp(v, "true") || !g_ascii_strcasecmp(v, "yes") ||
	    !strcmp(v, "1") || !g_ascii_strcasecmp(v, "on"))
		*out = true;
	else if (!g_ascii_strcasecmp(v, "false") ||
		 !g_ascii_strcasecmp(v, "no") || !strcmp(v, "0") ||
		 !g_ascii_strcasecmp(v, "off"))
		*out = false;
	else
		conf_bad(r, key, "expected true or false, got '%s'", v);
}

void conf_get_uint(struct conf_reader *r, const char *key, uint64_t min,
		   uint64_t max, uint64_t *out)
{
	g_autofree char *v = conf_get(r, key);
	uint64_t n;
	if (!v)
		return;
	if (!conf_parse_size(v, &n))
		conf_bad(r, key, "expected a number, got '%s'", v);
	else if (n < min || n > max)
		conf_bad(r, key, "%s is out of range (%" G_GUINT64_FORMAT "..%"
			 G_GUINT64_FORMAT ")", v, min, max);
	else
		*out = n;
}

void conf_get_duration(struct conf_reader *r, const char *key, int64_t *out)
{
	g_autofree char *v = conf_get(r, key);
	int64_t ns;
	if (!v)
		return;
	if (!conf_parse_duration_ns(v, &ns) || ns <= 0)
		conf_bad(r, key, "expected a duration like 30s, 500ms or 5m, "
			 "got '%s'", v);
	else
		*out = ns;
}

void conf_check_known(struct conf_reader *r, const char *const *known)
{
	gchar **keys = g_key_file_get_keys(r->kf, r->group, NULL, NULL);
	/* Keys we do not know are mistakes, not extensions. */
	for (gchar **k = keys; k && *k && !r->failed; k++)
		if (!g_strv_contains(known, *k))
			conf_bad(r, *k, "unknown key");
	g_strfreev(keys);
}

/* ----------------------------------------------------------------------
 * Where files are
 */

bool conf_in_build_tree(void)
{
	static int cached = -1;
	char exe[PATH_MAX];

	if (cached >= 0)
		return cached;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	cached = 0;
	if (n > 0) {
		exe[n] = '\0';
		g_autofree gchar *dir = g_path_get_dirname(exe);
		g_autofree gchar *parent = g_path_get_dirname(dir);
		/* BUILDDIR/x/prog, or libtool's BUILDDIR/x/.libs/prog */
		cached = g_str_has_prefix(dir, ARTMON_ABS_BUILDDIR "/") &&
			 (strcmp(parent, ARTMON_ABS_BUILDDIR) == 0 ||
			  g_str_has_suffix(dir, "/.libs"));
	}
	return cached;
}
