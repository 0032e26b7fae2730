/*
 * collector_conf.c: defaults, parsing and checks of collector.conf; see
 * collector_conf.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector_conf.h"
#include "conffile.h"
#include "wire.h"

#define CONF_ERROR g_quark_from_static_string("artmon-collector-conf")

/* A key file larger than this is not a key file. */
#define KEY_FILE_MAX 4096

void collector_config_default(struct collector_config *c)
{
	memset(c, 0, sizeof *c);
	c->port = COLLECTOR_DEFAULT_PORT;
	c->keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					(GDestroyNotify)g_bytes_unref);
	c->max_frame = 16u << 20;
	c->auth_timeout_ns = INT64_C(10000000000);
	c->frame_timeout_ns = INT64_C(30000000000);
	c->idle_timeout_ns = INT64_C(120000000000);
	c->heartbeat_ns = INT64_C(30000000000);
	c->max_connections = 512;
	c->max_unauthenticated = 64;
	c->queue_batches = 4096;
	c->queue_rows = 500000;
	c->transaction_rows = 8000;
	c->reconnect_max_ns = INT64_C(30000000000);
	c->user = g_strdup("artmon");
}

void collector_config_clear(struct collector_config *c)
{
	g_free(c->listen);
	g_free(c->cert_file);
	g_free(c->key_file);
	if (c->database) {
		/* A conninfo may hold a password. */
		memset(c->database, 0, strlen(c->database));
		g_free(c->database);
	}
	g_free(c->sql_dir);
	g_free(c->key_dir);
	if (c->keys)
		g_hash_table_destroy(c->keys);
	g_free(c->pidfile);
	g_free(c->user);
	g_free(c->group);
	memset(c, 0, sizeof *c);
}

/* A key from text: the bytes as written, surrounding blanks removed.
 * Keys are shared secrets, not passwords: at least WIRE_KEY_MIN bytes
 * (`openssl rand -hex 32` makes a good one). */
static GBytes *key_from_text(const char *text, const char **why)
{
	g_autofree gchar *k = g_strstrip(g_strdup(text));
	size_t n = strlen(k);
	GBytes *b = NULL;

	if (n < WIRE_KEY_MIN)
		*why = "too short (at least 16 bytes; try `openssl rand -hex 32`)";
	else
		b = g_bytes_new(k, n);
	memset(k, 0, n);
	return b;
}

/* Read DIR/NAME.key files into keys; the files must be private. */
static int read_key_dir(struct collector_config *c, GError **err)
{
	GDir *d = g_dir_open(c->key_dir, 0, err);
	const char *name;
	int rc = 0;

	if (!d) {
		g_prefix_error(err, "key_dir: ");
		return -1;
	}
	while (rc == 0 && (name = g_dir_read_name(d)) != NULL) {
		if (!g_str_has_suffix(name, ".key"))
			continue;
		g_autofree gchar *sensor = g_strndup(name, strlen(name) - 4);
		g_autofree gchar *path = g_build_filename(c->key_dir, name,
							  NULL);
		struct stat st;
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0) {
			g_set_error(err, CONF_ERROR, 1, "%s: %s", path,
				    g_strerror(errno));
			rc = -1;
		} else if (!S_ISREG(st.st_mode) || st.st_size > KEY_FILE_MAX) {
			g_set_error(err, CONF_ERROR, 1, "%s: not a key file "
				    "(a regular file of at most %d bytes)",
				    path, KEY_FILE_MAX);
			rc = -1;
		} else if (st.st_mode & 077) {
			g_set_error(err, CONF_ERROR, 1, "%s: readable by "
				    "others (mode %04o): chmod 600 it",
				    path, (unsigned)(st.st_mode & 07777));
			rc = -1;
		} else if (!wire_name_valid(sensor)) {
			g_set_error(err, CONF_ERROR, 1, "%s: '%s' is not a "
				    "sensor name (1-64 of A-Z a-z 0-9 . _ -)",
				    path, sensor);
			rc = -1;
		} else if (g_hash_table_contains(c->keys, sensor)) {
			g_set_error(err, CONF_ERROR, 1, "%s: sensor '%s' has a "
				    "key in [sensors] too", path, sensor);
			rc = -1;
		} else {
			char buf[KEY_FILE_MAX + 1];
			ssize_t n = read(fd, buf, KEY_FILE_MAX);
			const char *why = NULL;
			if (n < 0) {
				g_set_error(err, CONF_ERROR, 1, "%s: %s", path,
					    g_strerror(errno));
				rc = -1;
			} else {
				buf[n] = '\0';
				/* The first line is the key. */
				buf[strcspn(buf, "\n")] = '\0';
				GBytes *k = key_from_text(buf, &why);
				if (k)
					g_hash_table_insert(c->keys,
							    g_strdup(sensor), k);
				else {
					g_set_error(err, CONF_ERROR, 1,
						    "%s: the key is %s", path,
						    why);
					rc = -1;
				}
			}
			memset(buf, 0, sizeof buf);
		}
		if (fd >= 0)
			close(fd);
	}
	g_dir_close(d);
	return rc;
}

static void read_sensors(struct collector_config *c, GKeyFile *kf,
			 const char *origin, GError **err, bool *failed)
{
	struct conf_reader r;
	gchar **names;

	conf_reader_init(&r, kf, origin, "sensors", err);
	names = g_key_file_get_keys(kf, "sensors", NULL, NULL);
	for (gchar **n = names; n && *n && !r.failed; n++) {
		if (!wire_name_valid(*n)) {
			conf_bad(&r, *n, "not a sensor name (1-64 of "
				 "A-Z a-z 0-9 . _ -)");
			break;
		}
		char *v = conf_get(&r, *n);
		const char *why = NULL;
		GBytes *k = v ? key_from_text(v, &why) : NULL;
		if (v) {
			memset(v, 0, strlen(v));
			g_free(v);
		}
		if (!k)
			conf_bad(&r, *n, "the key is %s", why ? why : "missing");
		else
			g_hash_table_insert(c->keys, g_strdup(*n), k);
	}
	g_strfreev(names);
	*failed = r.failed;
}

int collector_config_parse(struct collector_config *c, GKeyFile *kf,
			   const char *origin, bool need_keys, GError **err)
{
	struct conf_reader r;
	uint64_t u;

	conf_reader_init(&r, kf, origin, "collector", err);
	conf_get_str(&r, "listen", &c->listen);
	u = c->port;
	conf_get_uint(&r, "port", 0, 65535, &u);	/* 0: any free port */
	c->port = (uint16_t)u;
	conf_get_str(&r, "cert_file", &c->cert_file);
	conf_get_str(&r, "key_file", &c->key_file);
	conf_get_str(&r, "database", &c->database);
	conf_get_str(&r, "sql_dir", &c->sql_dir);
	conf_get_str(&r, "key_dir", &c->key_dir);
	u = c->max_frame;
	conf_get_uint(&r, "max_frame", 4096, 1u << 30, &u);
	c->max_frame = (uint32_t)u;
	conf_get_duration(&r, "auth_timeout", &c->auth_timeout_ns);
	conf_get_duration(&r, "frame_timeout", &c->frame_timeout_ns);
	conf_get_duration(&r, "idle_timeout", &c->idle_timeout_ns);
	conf_get_duration(&r, "heartbeat", &c->heartbeat_ns);
	u = c->max_connections;
	conf_get_uint(&r, "max_connections", 1, 65536, &u);
	c->max_connections = (uint32_t)u;
	u = c->max_unauthenticated;
	conf_get_uint(&r, "max_unauthenticated", 1, 65536, &u);
	c->max_unauthenticated = (uint32_t)u;
	u = c->queue_batches;
	conf_get_uint(&r, "queue_batches", 1, 1u << 24, &u);
	c->queue_batches = (uint32_t)u;
	conf_get_uint(&r, "queue_rows", 1, UINT64_C(1) << 32, &c->queue_rows);
	u = c->transaction_rows;
	conf_get_uint(&r, "transaction_rows", 1, 10000000, &u);
	c->transaction_rows = (uint32_t)u;
	conf_get_duration(&r, "reconnect_max", &c->reconnect_max_ns);
	conf_get_bool(&r, "foreground", &c->foreground);
	conf_get_str(&r, "pidfile", &c->pidfile);
	conf_get_str(&r, "user", &c->user);
	conf_get_str(&r, "group", &c->group);
	u = (uint64_t)c->verbose;
	conf_get_uint(&r, "verbose", 0, 9, &u);
	c->verbose = (int)u;

	if (!r.failed) {
		static const char *const known[] = {
			"listen", "port", "cert_file", "key_file", "database",
			"sql_dir", "key_dir", "max_frame", "auth_timeout",
			"frame_timeout", "idle_timeout", "heartbeat",
			"max_connections", "max_unauthenticated",
			"queue_batches", "queue_rows", "transaction_rows",
			"reconnect_max", "foreground", "pidfile", "user",
			"group", "verbose", NULL
		};
		conf_check_known(&r, known);
	}
	if (!r.failed && !c->user)
		conf_bad(&r, "user", "the collector never runs as root: name "
			 "the user to run as");
	if (!r.failed && !c->cert_file != !c->key_file)
		conf_bad(&r, c->cert_file ? "cert_file" : "key_file",
			 "TLS needs both cert_file and key_file");
	if (!r.failed && c->idle_timeout_ns <= c->heartbeat_ns)
		conf_bad(&r, "idle_timeout", "must be longer than heartbeat "
			 "(a quiet sensor sends one every 30 s)");
	if (r.failed)
		return -1;

	/* Any group we do not know is a mistake too. */
	gchar **groups = g_key_file_get_groups(kf, NULL);
	for (gchar **g = groups; g && *g; g++) {
		if (strcmp(*g, "collector") && strcmp(*g, "sensors")) {
			g_set_error(err, CONF_ERROR, 1, "%s: unknown group "
				    "[%s] (expected [collector] and [sensors])",
				    origin ? origin : "command line", *g);
			g_strfreev(groups);
			return -1;
		}
	}
	g_strfreev(groups);

	bool failed = false;
	read_sensors(c, kf, origin, err, &failed);
	if (failed)
		return -1;
	if (c->key_dir && read_key_dir(c, err) != 0)
		return -1;
	if (need_keys && g_hash_table_size(c->keys) == 0) {
		g_set_error(err, CONF_ERROR, 1, "%s: no sensor keys: add "
			    "'NAME = KEY' lines to [sensors] or NAME.key files "
			    "to key_dir; the collector accepts no sensor "
			    "without a key", origin ? origin : "command line");
		return -1;
	}
	return 0;
}
