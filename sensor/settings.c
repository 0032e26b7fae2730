/*
 * settings.c: the sensor's defaults, and its [sensor] and [collector]
 * groups read into a struct settings.  See settings.h.
 *
 * The file syntax, the typed getters and file:line errors are
 * lib/conffile.c's, which the collector shares; this file holds only the
 * sensor's keys, their ranges and the checks between them.
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

const char *settings_default_plugin_dir(void)
{
	return conf_in_build_tree() ? ARTMON_ABS_BUILDDIR "/plugins/.libs"
			       : PKGLIBDIR;
}

const char *settings_default_sigs_dir(void)
{
	return conf_in_build_tree() ? ARTMON_ABS_SRCDIR "/etc/artmon"
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
 * The file, and typed reading: lib/conffile.c's, shared with the
 * collector.  What follows is only what [sensor] adds.
 */

int settings_load_file(GKeyFile *kf, const char *path, GError **err)
{
	return conf_load_file(kf, path, "sensor", err);
}

static void get_format(struct conf_reader *r, const char *key,
		       enum txn_format *out)
{
	g_autofree char *v = conf_get(r, key);
	if (!v)
		return;
	*out = txn_format_parse(v);
	if (*out == TXN_FORMAT_NONE && strcmp(v, "none"))
		conf_bad(r, key, "expected csv, json or none, got '%s'", v);
}

/* A multiple of real time: 0 (as fast as possible) or 0.001..1e6. */
static void get_speed(struct conf_reader *r, const char *key, double *out)
{
	g_autofree char *v = conf_get(r, key);
	char *end;
	if (!v)
		return;
	errno = 0;
	double d = g_ascii_strtod(v, &end);
	if (end == v || *end || errno || !(d == 0 || (d >= 0.001 && d <= 1e6)))
		conf_bad(r, key, "expected 0 (as fast as possible) or a multiple of "
		         "real time from 0.001 to 1000000, got '%s'", v);
	else
		*out = d;
}

/* Read the shared key from a private file: its first line. */
static void read_key_file(struct conf_reader *r, const char *path,
			  struct ship_cfg *c)
{
	struct stat sb;
	char buf[1100];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) != 0) {
		conf_bad(r, "key_file", "%s: %s", path, g_strerror(errno));
	} else if (!S_ISREG(sb.st_mode) || sb.st_size > 1024 + 2) {
		conf_bad(r, "key_file", "%s: not a key file (a regular file of at "
		         "most 1 KiB)", path);
	} else if (sb.st_mode & 077) {
		/* Fail closed: a key others can read is no secret. */
		conf_bad(r, "key_file", "%s: group or others can access it (mode "
		         "%04o): chmod 600 it", path,
		         (unsigned)(sb.st_mode & 07777));
	} else {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		if (n < 0) {
			conf_bad(r, "key_file", "%s: %s", path, g_strerror(errno));
		} else {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			if (!ship_key_from_text(buf, &c->key, &c->keylen))
				conf_bad(r, "key_file", "%s: the key must be %d to "
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
static void parse_collector(struct settings *st, struct conf_reader *sr)
{
	struct conf_reader r = *sr;
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
	conf_check_known(&r, known);
	conf_get_str(&r, "address", &c->address);
	u = c->port;
	conf_get_uint(&r, "port", 1, 65535, &u);
	c->port = (uint16_t)u;
	conf_get_str(&r, "name", &c->name);
	conf_get_bool(&r, "tls", &c->tls);
	conf_get_str(&r, "ca_file", &c->ca_file);
	conf_get_str(&r, "tls_cert_file", &c->cert_file);
	conf_get_str(&r, "tls_key_file", &c->cert_key_file);
	conf_get_str(&r, "tls_server_name", &c->server_name);
	g_autofree char *drain = conf_get(&r, "drain_timeout");
	if (drain && !conf_parse_duration_ns(drain, &c->drain_ns))
		conf_bad(&r, "drain_timeout", "expected a duration like 5s or 0, "
		         "got '%s'", drain);
	conf_get_duration(&r, "heartbeat", &c->heartbeat_ns);
	conf_get_duration(&r, "dead_timeout", &c->dead_ns);
	if (!r.failed && c->heartbeat_ns >= c->dead_ns)
		conf_bad(&r, "heartbeat", "must be shorter than dead_timeout");
	key = conf_get(&r, "key");
	key_file = conf_get(&r, "key_file");
	if (r.failed)
		goto out;
	if (!c->address) {
		gsize n = 0;
		g_strfreev(g_key_file_get_keys(r.kf, "collector", &n, NULL));
		if (n)
			conf_bad(&r, "address", "[collector] has settings but no "
			         "address: set one, or comment them out");
		goto out;
	}
	if (!c->name) {
		/* The host name, when it is a valid sensor name. */
		c->name = g_strdup(g_get_host_name());
		if (!wire_name_valid(c->name)) {
			conf_bad(&r, "name", "not set, and the host name '%s' is not "
			         "a sensor name (1-64 of A-Z a-z 0-9 . _ -)",
			         c->name);
			goto out;
		}
	} else if (!wire_name_valid(c->name)) {
		conf_bad(&r, "name", "'%s' is not a sensor name (1-64 of A-Z a-z "
		         "0-9 . _ -)", c->name);
		goto out;
	}
	if (key && key_file) {
		conf_bad(&r, "key", "give key or key_file, not both");
	} else if (key_file) {
		read_key_file(&r, key_file, c);
	} else if (key) {
		struct stat sb;
		if (r.path && stat(r.path, &sb) == 0 && (sb.st_mode & 077))
			conf_bad(&r, "key", "%s can be read by group or others: "
			         "move the key to a key_file of mode 600, or chmod "
			         "600 the configuration", r.path);
		else if (!ship_key_from_text(key, &c->key, &c->keylen))
			conf_bad(&r, "key", "must be %d to 1024 bytes (make one with "
			         "'openssl rand -hex 32')", WIRE_KEY_MIN);
		explicit_bzero(key, strlen(key));
	} else {
		conf_bad(&r, "key_file", "needed (or key): the shared key the "
		         "collector holds for sensor '%s'", c->name);
	}
	if (!r.failed && !c->tls) {
		const char *tls_only = c->ca_file ? "ca_file"
				       : c->cert_file ? "tls_cert_file"
				       : c->cert_key_file ? "tls_key_file"
				       : c->server_name ? "tls_server_name"
				       : NULL;
		if (tls_only)
			conf_bad(&r, tls_only, "only with tls = true (set it, or "
			         "remove this)");
	}
	if (!r.failed && c->cert_key_file && !c->cert_file)
		conf_bad(&r, "tls_key_file", "needs tls_cert_file");
out:
	sr->failed = r.failed;
}

int settings_parse(struct settings *st, GKeyFile *kf, const char *origin,
		   GError **err)
{
	struct conf_reader r;
	uint64_t u;

	conf_reader_init(&r, kf, origin, "sensor", err);
	conf_get_str(&r, "interface", &st->interface);
	conf_get_str(&r, "read_file", &st->read_file);
	/* An empty filter is meaningful: capture everything. */
	char *flt = conf_get(&r, "filter");
	if (flt) {
		g_free(st->filter);
		st->filter = flt;
	}
	conf_get_str(&r, "plugin_dir", &st->plugin_dir);
	conf_get_str(&r, "sigs_dir", &st->sigs_dir);

	g_autofree char *plugins = conf_get(&r, "plugins");
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
	conf_get_bool(&r, "foreground", &st->foreground);
	conf_get_str(&r, "pidfile", &st->pidfile);
	conf_get_str(&r, "user", &st->user);
	conf_get_str(&r, "group", &st->group);
	conf_get_bool(&r, "keep_root", &st->keep_root);
	get_format(&r, "transactions", &st->transactions);
	get_format(&r, "summaries", &st->summaries);
	conf_get_str(&r, "summary_file", &st->summary_file);
	int64_t iv_ns = (int64_t)st->sum.interval_secs * 1000000000;
	conf_get_duration(&r, "interval", &iv_ns);
	if (!r.failed && (iv_ns % 1000000000 || iv_ns < 1000000000 ||
			  iv_ns > (int64_t)86400 * 1000000000))
		conf_bad(&r, "interval", "must be whole seconds, 1s to 1d");
	st->sum.interval_secs = (uint32_t)(iv_ns / 1000000000);
	int64_t grace = st->sum.grace_ns;
	conf_get_duration(&r, "grace", &grace);
	st->sum.grace_ns = grace;
	u = st->sum.max_rows;
	conf_get_uint(&r, "max_summary_rows", 1, 100000000, &u);
	st->sum.max_rows = (uint32_t)u;
	u = st->sum.max_exact_clients;
	conf_get_uint(&r, "max_exact_clients", 1, 100000000, &u);
	st->sum.max_exact_clients = (uint32_t)u;

	u = (uint64_t)st->cap.snaplen;
	conf_get_uint(&r, "snaplen", 64, 262144, &u);
	st->cap.snaplen = (int)u;
	u = (uint64_t)st->cap.buffer_kib;
	conf_get_uint(&r, "buffer_kib", 64, 4u << 20, &u);
	st->cap.buffer_kib = (int)u;
	conf_get_bool(&r, "promisc", &st->cap.promisc);
	conf_get_bool(&r, "immediate", &st->cap.immediate);

	u = st->lim.max_flows;
	conf_get_uint(&r, "max_flows", 16, 1u << 30, &u);
	st->lim.max_flows = (uint32_t)u;
	conf_get_duration(&r, "tcp_opening_timeout", &st->lim.tcp_opening_ns);
	conf_get_duration(&r, "tcp_idle_timeout", &st->lim.tcp_idle_ns);
	conf_get_duration(&r, "tcp_closed_timeout", &st->lim.tcp_closed_ns);
	conf_get_duration(&r, "udp_idle_timeout", &st->lim.udp_idle_ns);
	u = st->lim.reasm_flow_bytes;
	conf_get_uint(&r, "reassembly_flow_bytes", 65536 + 4096, 1u << 30, &u);
	st->lim.reasm_flow_bytes = (uint32_t)u;
	conf_get_uint(&r, "reassembly_total_bytes", 1u << 20, UINT64_MAX >> 1,
		 &st->lim.reasm_total_bytes);
	u = st->lim.max_txns_per_flow;
	conf_get_uint(&r, "max_transactions_per_flow", 1, 65535, &u);
	st->lim.max_txns_per_flow = (uint16_t)u;
	u = st->lim.max_names;
	conf_get_uint(&r, "max_names", 1, 10000000, &u);
	st->lim.max_names = (uint32_t)u;
	u = (uint64_t)st->verbose;
	conf_get_uint(&r, "verbose", 0, 9, &u);
	st->verbose = (int)u;
	conf_get_str(&r, "spool_dir", &st->spool_dir);
	conf_get_uint(&r, "spool_max", 1024, UINT64_MAX >> 1, &st->spool_max);
	get_speed(&r, "replay_speed", &st->replay_speed);
	if (!r.failed && st->replay_speed > 0 && st->interface)
		conf_bad(&r, "replay_speed", "only for a capture file (-r), not "
		         "live capture");

	if (!r.failed) {
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
		conf_check_known(&r, known);
	}
	if (!r.failed)
		parse_collector(st, &r);
	return r.failed ? -1 : 0;
}
