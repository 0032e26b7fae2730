/*
 * settings.c: defaults, config-file syntax check, and typed reading of
 * [sensor].  See settings.h.
 *
 * GKeyFile does the parsing but reports neither line numbers nor which
 * value was wrong, so we pre-check the syntax line by line and, for a bad
 * value, find the line of its key again: every error names file:line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "log.h"
#include "settings.h"

#ifndef PKGLIBDIR
#define PKGLIBDIR "/usr/local/lib/artmon"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/usr/local/var"
#endif

/* ----------------------------------------------------------------------
 * Where plugins and rules are
 */

/* True when the running binary is the one in this build tree. */
static bool in_build_tree(void)
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
		cached = g_str_has_prefix(dir, ARTMON_ABS_BUILDDIR "/") &&
			 (strcmp(parent, ARTMON_ABS_BUILDDIR) == 0 ||
			  g_str_has_suffix(dir, "/.libs"));
	}
	return cached;
}

const char *settings_default_plugin_dir(void)
{
	return in_build_tree() ? ARTMON_ABS_BUILDDIR "/plugins/.libs"
			       : PKGLIBDIR;
}

const char *settings_default_sigs_dir(void)
{
	return in_build_tree() ? ARTMON_ABS_SRCDIR "/etc/artmon"
			       : SYSCONFDIR "/artmon";
}

void settings_default(struct settings *st)
{
	memset(st, 0, sizeof *st);
	capture_opts_default(&st->cap);
	sensor_limits_default(&st->lim);
	summary_cfg_default(&st->sum);
	st->user = g_strdup("artmon");
	st->plugin_dir = g_strdup(settings_default_plugin_dir());
	st->sigs_dir = g_strdup(settings_default_sigs_dir());
	ship_cfg_default(&st->ship);
	st->spool_dir = g_strdup(LOCALSTATEDIR "/lib/artmon/spool");
	st->spool_max = SPOOL_MAX_DEFAULT;
}

void settings_clear(struct settings *st)
{
	g_free(st->interface);
	g_free(st->read_file);
	g_free(st->filter);
	g_free(st->summary_file);
	g_free(st->pidfile);
	g_free(st->user);
	g_free(st->group);
	g_free(st->plugin_dir);
	g_free(st->sigs_dir);
	g_strfreev(st->plugins);
	ship_cfg_clear(&st->ship);
	g_free(st->spool_dir);
	memset(st, 0, sizeof *st);
}

/* ----------------------------------------------------------------------
 * Value syntax
 */

/*
 * One syntax for both programs: lib/conffile.c's.  (This file had its own
 * copies, and the duration one let "nan" through to a float-to-integer
 * conversion of NaN, which C leaves undefined.)
 */
bool parse_duration_ns(const char *s, int64_t *ns)
{
	return conf_parse_duration_ns(s, ns);
}

bool parse_size(const char *s, uint64_t *bytes)
{
	return conf_parse_size(s, bytes);
}

/* ----------------------------------------------------------------------
 * The file
 */

/* Line number of "key =" in [group] of path, or 0. */
static unsigned locate_key(const char *path, const char *group,
			   const char *key)
{
	g_autofree gchar *text = NULL;
	unsigned line = 0, found = 0;
	bool in_group = false;

	if (!path || !g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	gchar **lines = g_strsplit(text, "\n", -1);
	for (gchar **l = lines; *l; l++) {
		line++;
		gchar *t = g_strstrip(*l);
		if (*t == '[') {
			gchar *close = strchr(t, ']');
			in_group = close && (size_t)(close - t - 1) == strlen(group) &&
				   strncmp(t + 1, group, strlen(group)) == 0;
		} else if (in_group && g_str_has_prefix(t, key)) {
			const char *r = t + strlen(key);
			while (*r == ' ' || *r == '\t')
				r++;
			if (*r == '=')
				found = line;	/* the last one wins, as in GKeyFile */
		}
	}
	g_strfreev(lines);
	return found;
}

int settings_load_file(GKeyFile *kf, const char *path, GError **err)
{
	g_autofree gchar *text = NULL;
	gsize len;
	unsigned line = 0;
	bool group_seen = false;

	if (!g_file_get_contents(path, &text, &len, err))
		return -1;
	gchar **lines = g_strsplit(text, "\n", -1);
	for (gchar **l = lines; *l; l++) {
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
			why = "a key before any [group] (start with [sensor])";
		}
		if (why) {
			g_set_error(err, G_KEY_FILE_ERROR,
				    G_KEY_FILE_ERROR_PARSE, "%s:%u: %s", path,
				    line, why);
			g_strfreev(lines);
			return -1;
		}
	}
	g_strfreev(lines);
	if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, err)) {
		g_prefix_error(err, "%s: ", path);
		return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------------
 * Typed reading
 */

struct reader {
	GKeyFile *kf;
	const char *origin;
	const char *path;	/* the file, to find lines; NULL otherwise */
	GError **err;
	bool failed;
	const char *group;	/* being read: "sensor", "collector" */
};

static void bad(struct reader *r, const char *key, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static void bad(struct reader *r, const char *key, const char *fmt, ...)
{
	va_list ap;
	g_autofree gchar *msg = NULL;

	if (r->failed)
		return;
	r->failed = true;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	unsigned line = locate_key(r->path, r->group, key);
	if (line)
		g_set_error(r->err, G_KEY_FILE_ERROR,
			    G_KEY_FILE_ERROR_INVALID_VALUE,
			    "%s:%u: [%s] %s: %s", r->path, line, r->group, key,
			    msg);
	else if (strcmp(r->group, "sensor") != 0)
		g_set_error(r->err, G_KEY_FILE_ERROR,
			    G_KEY_FILE_ERROR_INVALID_VALUE, "%s: [%s] %s: %s",
			    r->origin, r->group, key, msg);
	else
		g_set_error(r->err, G_KEY_FILE_ERROR,
			    G_KEY_FILE_ERROR_INVALID_VALUE, "%s: %s: %s",
			    r->origin, key, msg);
}

static char *get(struct reader *r, const char *key)
{
	if (r->failed || !g_key_file_has_key(r->kf, r->group, key, NULL))
		return NULL;
	return g_key_file_get_string(r->kf, r->group, key, NULL);
}

static void get_str(struct reader *r, const char *key, char **out)
{
	char *v = get(r, key);
	if (!v)
		return;
	g_free(*out);
	*out = *v ? v : NULL;
	if (!*v)
		g_free(v);
}

static void get_bool(struct reader *r, const char *key, bool *out)
{
	g_autofree char *v = get(r, key);
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
		bad(r, key, "expected true or false, got '%s'", v);
}

static void get_uint(struct reader *r, const char *key, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	g_autofree char *v = get(r, key);
	uint64_t n;
	if (!v)
		return;
	if (!parse_size(v, &n))
		bad(r, key, "expected a number, got '%s'", v);
	else if (n < min || n > max)
		bad(r, key, "%s is out of range (%" G_GUINT64_FORMAT "..%"
		    G_GUINT64_FORMAT ")", v, min, max);
	else
		*out = n;
}

static void get_format(struct reader *r, const char *key,
		       enum txn_format *out)
{
	g_autofree char *v = get(r, key);
	if (!v)
		return;
	*out = txn_format_parse(v);
	if (*out == TXN_FORMAT_NONE && strcmp(v, "none"))
		bad(r, key, "expected csv, json or none, got '%s'", v);
}

static void get_duration(struct reader *r, const char *key, int64_t *out)
{
	g_autofree char *v = get(r, key);
	int64_t ns;
	if (!v)
		return;
	if (!parse_duration_ns(v, &ns) || ns <= 0)
		bad(r, key, "expected a duration like 30s, 500ms or 5m, got '%s'",
		    v);
	else
		*out = ns;
}

/* A multiple of real time: 0 (as fast as possible) or 0.001..1e6. */
static void get_speed(struct reader *r, const char *key, double *out)
{
	g_autofree char *v = get(r, key);
	char *end;
	if (!v)
		return;
	errno = 0;
	double d = g_ascii_strtod(v, &end);
	if (end == v || *end || errno || !(d == 0 || (d >= 0.001 && d <= 1e6)))
		bad(r, key, "expected 0 (as fast as possible) or a multiple of "
		    "real time from 0.001 to 1000000, got '%s'", v);
	else
		*out = d;
}

/* Keys of r->group that are not in known are mistakes. */
static void unknown_keys(struct reader *r, const char *const *known)
{
	gchar **keys = g_key_file_get_keys(r->kf, r->group, NULL, NULL);
	for (gchar **k = keys; k && *k && !r->failed; k++)
		if (!g_strv_contains(known, *k))
			bad(r, *k, "unknown key");
	g_strfreev(keys);
}

/* Read the shared key from a private file: its first line. */
static void read_key_file(struct reader *r, const char *path,
			  struct ship_cfg *c)
{
	struct stat sb;
	char buf[1100];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) != 0) {
		bad(r, "key_file", "%s: %s", path, g_strerror(errno));
	} else if (!S_ISREG(sb.st_mode) || sb.st_size > 1024 + 2) {
		bad(r, "key_file", "%s: not a key file (a regular file of at "
		    "most 1 KiB)", path);
	} else if (sb.st_mode & 077) {
		/* Fail closed: a key others can read is no secret. */
		bad(r, "key_file", "%s: group or others can access it (mode "
		    "%04o): chmod 600 it", path,
		    (unsigned)(sb.st_mode & 07777));
	} else {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		if (n < 0) {
			bad(r, "key_file", "%s: %s", path, g_strerror(errno));
		} else {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			if (!ship_key_from_text(buf, &c->key, &c->keylen))
				bad(r, "key_file", "%s: the key must be %d to "
				    "1024 bytes (make one with 'openssl rand "
				    "-hex 32')", path, WIRE_KEY_MIN);
		}
		explicit_bzero(buf, sizeof buf);
	}
	if (fd >= 0)
		close(fd);
}

/*
 * [collector]: where to send summaries.  Without an address the sensor
 * ships nothing (an empty group, as in the sample file, is fine).
 */
static void parse_collector(struct settings *st, struct reader *sr)
{
	struct reader r = *sr;
	struct ship_cfg *c = &st->ship;
	g_autofree char *key = NULL, *key_file = NULL;
	uint64_t u;

	r.group = "collector";
	if (!g_key_file_has_group(r.kf, "collector"))
		return;
	static const char *const known[] = {
		"address", "port", "name", "key", "key_file", "tls", "ca_file",
		"tls_cert_file", "tls_key_file", "tls_server_name",
		"drain_timeout", "heartbeat", "dead_timeout", NULL
	};
	unknown_keys(&r, known);
	get_str(&r, "address", &c->address);
	u = c->port;
	get_uint(&r, "port", 1, 65535, &u);
	c->port = (uint16_t)u;
	get_str(&r, "name", &c->name);
	get_bool(&r, "tls", &c->tls);
	get_str(&r, "ca_file", &c->ca_file);
	get_str(&r, "tls_cert_file", &c->cert_file);
	get_str(&r, "tls_key_file", &c->cert_key_file);
	get_str(&r, "tls_server_name", &c->server_name);
	g_autofree char *drain = get(&r, "drain_timeout");
	if (drain && !parse_duration_ns(drain, &c->drain_ns))
		bad(&r, "drain_timeout", "expected a duration like 5s or 0, "
		    "got '%s'", drain);
	get_duration(&r, "heartbeat", &c->heartbeat_ns);
	get_duration(&r, "dead_timeout", &c->dead_ns);
	if (!r.failed && c->heartbeat_ns >= c->dead_ns)
		bad(&r, "heartbeat", "must be shorter than dead_timeout");
	key = get(&r, "key");
	key_file = get(&r, "key_file");
	if (r.failed)
		goto out;
	if (!c->address) {
		gsize n = 0;
		g_strfreev(g_key_file_get_keys(r.kf, "collector", &n, NULL));
		if (n)
			bad(&r, "address", "[collector] has settings but no "
			    "address: set one, or comment them out");
		goto out;
	}
	if (!c->name) {
		/* The host name, when it is a valid sensor name. */
		c->name = g_strdup(g_get_host_name());
		if (!wire_name_valid(c->name)) {
			bad(&r, "name", "not set, and the host name '%s' is not "
			    "a sensor name (1-64 of A-Z a-z 0-9 . _ -)",
			    c->name);
			goto out;
		}
	} else if (!wire_name_valid(c->name)) {
		bad(&r, "name", "'%s' is not a sensor name (1-64 of A-Z a-z "
		    "0-9 . _ -)", c->name);
		goto out;
	}
	if (key && key_file) {
		bad(&r, "key", "give key or key_file, not both");
	} else if (key_file) {
		read_key_file(&r, key_file, c);
	} else if (key) {
		struct stat sb;
		if (r.path && stat(r.path, &sb) == 0 && (sb.st_mode & 077))
			bad(&r, "key", "%s can be read by group or others: "
			    "move the key to a key_file of mode 600, or chmod "
			    "600 the configuration", r.path);
		else if (!ship_key_from_text(key, &c->key, &c->keylen))
			bad(&r, "key", "must be %d to 1024 bytes (make one with "
			    "'openssl rand -hex 32')", WIRE_KEY_MIN);
		explicit_bzero(key, strlen(key));
	} else {
		bad(&r, "key_file", "needed (or key): the shared key the "
		    "collector holds for sensor '%s'", c->name);
	}
	if (!r.failed && !c->tls) {
		const char *tls_only = c->ca_file ? "ca_file"
				       : c->cert_file ? "tls_cert_file"
				       : c->cert_key_file ? "tls_key_file"
				       : c->server_name ? "tls_server_name"
				       : NULL;
		if (tls_only)
			bad(&r, tls_only, "only with tls = true (set it, or "
			    "remove this)");
	}
	if (!r.failed && c->cert_key_file && !c->cert_file)
		bad(&r, "tls_key_file", "needs tls_cert_file");
out:
	sr->failed = r.failed;
}

int settings_parse(struct settings *st, GKeyFile *kf, const char *origin,
		   GError **err)
{
	struct reader r = { kf, origin, NULL, err, false, "sensor" };
	uint64_t u;

	if (origin && g_file_test(origin, G_FILE_TEST_IS_REGULAR))
		r.path = origin;
	get_str(&r, "interface", &st->interface);
	get_str(&r, "read_file", &st->read_file);
	/* An empty filter is meaningful: capture everything. */
	char *flt = get(&r, "filter");
	if (flt) {
		g_free(st->filter);
		st->filter = flt;
	}
	get_str(&r, "plugin_dir", &st->plugin_dir);
	get_str(&r, "sigs_dir", &st->sigs_dir);

	g_autofree char *plugins = get(&r, "plugins");
	if (plugins && *plugins) {
		g_strfreev(st->plugins);
		st->plugins = g_strsplit_set(plugins, ",; ", -1);
		/* Drop empty items from "http, dns". */
		unsigned j = 0;
		for (unsigned i = 0; st->plugins[i]; i++) {
			if (*st->plugins[i])
				st->plugins[j++] = st->plugins[i];
			else
				g_free(st->plugins[i]);
		}
		st->plugins[j] = NULL;
	}
	get_bool(&r, "foreground", &st->foreground);
	get_str(&r, "pidfile", &st->pidfile);
	get_str(&r, "user", &st->user);
	get_str(&r, "group", &st->group);
	get_bool(&r, "keep_root", &st->keep_root);
	get_format(&r, "transactions", &st->transactions);
	get_format(&r, "summaries", &st->summaries);
	get_str(&r, "summary_file", &st->summary_file);
	int64_t iv_ns = (int64_t)st->sum.interval_secs * 1000000000;
	get_duration(&r, "interval", &iv_ns);
	if (!r.failed && (iv_ns % 1000000000 || iv_ns < 1000000000 ||
			  iv_ns > (int64_t)86400 * 1000000000))
		bad(&r, "interval", "must be whole seconds, 1s to 1d");
	st->sum.interval_secs = (uint32_t)(iv_ns / 1000000000);
	int64_t grace = st->sum.grace_ns;
	get_duration(&r, "grace", &grace);
	st->sum.grace_ns = grace;
	u = st->sum.max_rows;
	get_uint(&r, "max_summary_rows", 1, 100000000, &u);
	st->sum.max_rows = (uint32_t)u;
	u = st->sum.max_exact_clients;
	get_uint(&r, "max_exact_clients", 1, 100000000, &u);
	st->sum.max_exact_clients = (uint32_t)u;

	u = (uint64_t)st->cap.snaplen;
	get_uint(&r, "snaplen", 64, 262144, &u);
	st->cap.snaplen = (int)u;
	u = (uint64_t)st->cap.buffer_kib;
	get_uint(&r, "buffer_kib", 64, 4u << 20, &u);
	st->cap.buffer_kib = (int)u;
	get_bool(&r, "promisc", &st->cap.promisc);
	get_bool(&r, "immediate", &st->cap.immediate);

	u = st->lim.max_flows;
	get_uint(&r, "max_flows", 16, 1u << 30, &u);
	st->lim.max_flows = (uint32_t)u;
	get_duration(&r, "tcp_opening_timeout", &st->lim.tcp_opening_ns);
	get_duration(&r, "tcp_idle_timeout", &st->lim.tcp_idle_ns);
	get_duration(&r, "tcp_closed_timeout", &st->lim.tcp_closed_ns);
	get_duration(&r, "udp_idle_timeout", &st->lim.udp_idle_ns);
	u = st->lim.reasm_flow_bytes;
	get_uint(&r, "reassembly_flow_bytes", 65536 + 4096, 1u << 30, &u);
	st->lim.reasm_flow_bytes = (uint32_t)u;
	get_uint(&r, "reassembly_total_bytes", 1u << 20, UINT64_MAX >> 1,
		 &st->lim.reasm_total_bytes);
	u = st->lim.max_txns_per_flow;
	get_uint(&r, "max_transactions_per_flow", 1, 65535, &u);
	st->lim.max_txns_per_flow = (uint16_t)u;
	u = st->lim.max_names;
	get_uint(&r, "max_names", 1, 10000000, &u);
	st->lim.max_names = (uint32_t)u;
	u = (uint64_t)st->verbose;
	get_uint(&r, "verbose", 0, 9, &u);
	st->verbose = (int)u;
	get_str(&r, "spool_dir", &st->spool_dir);
	get_uint(&r, "spool_max", 1024, UINT64_MAX >> 1, &st->spool_max);
	get_speed(&r, "replay_speed", &st->replay_speed);
	if (!r.failed && st->replay_speed > 0 && st->interface)
		bad(&r, "replay_speed", "only for a capture file (-r), not "
		    "live capture");

	if (!r.failed) {
		/* Keys we do not know are mistakes, not extensions. */
		static const char *const known[] = {
			"interface", "read_file", "filter", "plugin_dir",
			"sigs_dir", "plugins", "transactions", "snaplen",
			"buffer_kib", "promisc", "immediate", "max_flows",
			"tcp_opening_timeout", "tcp_idle_timeout",
			"tcp_closed_timeout", "udp_idle_timeout",
			"reassembly_flow_bytes", "reassembly_total_bytes",
			"max_transactions_per_flow", "max_names", "verbose",
			"summaries", "summary_file", "interval", "grace",
			"max_summary_rows", "max_exact_clients",
			"foreground", "pidfile", "user", "group", "keep_root",
			"spool_dir", "spool_max", "replay_speed",
			NULL
		};
		unknown_keys(&r, known);
	}
	if (!r.failed)
		parse_collector(st, &r);
	return r.failed ? -1 : 0;
}
