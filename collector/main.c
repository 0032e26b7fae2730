/*
 * main.c: artmon-collector's command line, start-up and main loop.
 *
 * The collector receives summary batches from sensors (collector/server.c)
 * and stores them in PostgreSQL (collector/dbwriter.c, store.c); with
 * --init-db it creates or upgrades the schema instead (migrate.c).
 *
 * Start-up order: read and check the whole configuration (an error stops
 * us before anything is opened), bind the listening socket and load the
 * TLS certificate (the steps that may need root), detach unless
 * --foreground, write the pidfile, drop to the unprivileged user for good,
 * then start the database writer and accept connections.  The collector
 * never runs as root: started as root it must drop to a user (default
 * "artmon", else "nobody"); it has no --keep-root.
 *
 * Signals: SIGTERM/SIGINT stop (the group being stored is finished, queued
 * batches are answered RETRY); SIGUSR1 logs counters; SIGHUP re-reads the
 * sensor keys (all or nothing: a file with an error keeps the old keys).
 */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib-unix.h>
#include <libpq-fe.h>

#include "collector_conf.h"
#include "conffile.h"
#include "daemon.h"
#include "dbwriter.h"
#include "log.h"
#include "migrate.h"
#include "server.h"
#include "store.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/usr/local/var"
#endif

#define DEFAULT_CONFIG SYSCONFDIR "/artmon/collector.conf"

struct cli {
	char *config;
	gboolean foreground, check, init_db, version;
	char *pidfile, *user, *group;
	char **sets;
	int verbose;
};

static gboolean on_verbose(const gchar *name, const gchar *value,
			   gpointer data, GError **err)
{
	((struct cli *)data)->verbose++;
	return TRUE;
}

static int parse_cli(int argc, char **argv, struct cli *c, GError **err)
{
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &c->config,
		  "Read settings from FILE (default " DEFAULT_CONFIG ")",
		  "FILE" },
		{ "foreground", 'F', 0, G_OPTION_ARG_NONE, &c->foreground,
		  "Stay in the foreground, log to stderr (systemd)", NULL },
		{ "pidfile", 'P', 0, G_OPTION_ARG_FILENAME, &c->pidfile,
		  "Write the process id to FILE", "FILE" },
		{ "user", 'u', 0, G_OPTION_ARG_STRING, &c->user,
		  "Run as USER (default artmon; started as root, the "
		  "collector drops to it after binding)", "USER" },
		{ "group", 'g', 0, G_OPTION_ARG_STRING, &c->group,
		  "Run as GROUP (default: the user's)", "GROUP" },
		{ "set", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &c->sets,
		  "Set a [collector] key, e.g. -o port=7811 (sensor keys "
		  "only in files)", "KEY=VALUE" },
		{ "init-db", 0, 0, G_OPTION_ARG_NONE, &c->init_db,
		  "Create or upgrade the database schema, then exit", NULL },
		{ "check", 'n', 0, G_OPTION_ARG_NONE, &c->check,
		  "Check the configuration, print 'configuration OK', exit",
		  NULL },
		{ "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
		  (gpointer)on_verbose, "More messages (repeat for more)", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &c->version,
		  "Print the version and exit", NULL },
		{ NULL }
	};
	GOptionContext *ctx = g_option_context_new("- receive artmon "
						   "summaries into PostgreSQL");
	GOptionGroup *grp = g_option_group_new("main", "", "", c, NULL);
	g_option_group_add_entries(grp, entries);
	g_option_context_set_main_group(ctx, grp);
	g_option_context_set_description(ctx,
		"Examples:\n"
		"  artmon-collector -c /etc/artmon/collector.conf --init-db\n"
		"  artmon-collector -c /etc/artmon/collector.conf --foreground\n"
		"\nThe database is given by 'database' (a libpq conninfo) in "
		"[collector], or the PG* environment variables.\n");
	gboolean ok = g_option_context_parse(ctx, &argc, &argv, err);
	g_option_context_free(ctx);
	if (ok && argc > 1) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    "unexpected argument '%s'", argv[1]);
		ok = FALSE;
	}
	return ok ? 0 : -1;
}

static void cli_clear(struct cli *c)
{
	g_free(c->config);
	g_free(c->pidfile);
	g_free(c->user);
	g_free(c->group);
	g_strfreev(c->sets);
}

/* True if the conninfo (key=value or URI) gives a password. */
static bool conninfo_has_password(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	bool found = false;

	/* Unparseable: the connection will say why; no password found. */
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			found = true;
	PQconninfoFree(opts);
	return found;
}

/* -o KEY=VALUE into [collector].  Not [sensors], and no database
 * password: the command line is visible to every user in ps(1). */
static int apply_sets(GKeyFile *kf, char **sets, GError **err)
{
	for (char **set = sets; set && *set; set++) {
		const char *eq = strchr(*set, '=');
		if (!eq || eq == *set) {
			g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "-o %s: expected KEY=VALUE", *set);
			return -1;
		}
		g_autofree gchar *key = g_strndup(*set, (gsize)(eq - *set));
		const char *k = key;
		if (g_str_has_prefix(k, "collector."))
			k += strlen("collector.");
		if (strchr(k, '.')) {
			g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "-o %s: only [collector] keys can be set "
				    "here (sensor keys belong in a file)", key);
			return -1;
		}
		if (strcmp(k, "database") == 0 &&
		    conninfo_has_password(eq + 1)) {
			g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "-o database: a password on the command line "
				    "is visible to every user in ps(1); put it "
				    "in ~/.pgpass, PGPASSFILE or the config file "
				    "(mode 600)");
			return -1;
		}
		g_key_file_set_string(kf, "collector", k, eq + 1);
	}
	return 0;
}

/*
 * Fail closed, as the sensor does: sensor keys or a database password in
 * a file that group or others can read are no secret (and the next
 * backup or config-management run copies them further).  key_dir's
 * files are checked one by one in collector_conf.c.
 */
static int check_secrets_private(const char *path, GKeyFile *kf,
				 const struct collector_config *cfg,
				 GError **err)
{
	struct stat sb;
	gsize nkeys = 0;

	if (stat(path, &sb) != 0 || !(sb.st_mode & 077))
		return 0;
	g_auto(GStrv) keys = g_key_file_get_keys(kf, "sensors", &nkeys, NULL);
	const char *what = nkeys > 0 ? "sensor keys ([sensors])"
			   : cfg->database && conninfo_has_password(cfg->database)
			   ? "a database password" : NULL;
	if (!what)
		return 0;
	g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_PERM, "%s holds %s but "
		    "group or others can read it (mode %04o): chmod 600 it "
		    "(owned by the collector's user), or move the keys to "
		    "key_dir and the password to ~/.pgpass", path, what,
		    (unsigned)(sb.st_mode & 07777));
	return -1;
}

/* Read the configuration into a fresh struct (defaults first). */
static int load_config(const struct cli *cli, struct collector_config *cfg,
		       bool need_keys, GError **err)
{
	GKeyFile *kf = g_key_file_new();
	const char *path = cli->config;
	int rc = -1;

	collector_config_default(cfg);
	if (!path && g_file_test(DEFAULT_CONFIG, G_FILE_TEST_EXISTS))
		path = DEFAULT_CONFIG;
	if (path && conf_load_file(kf, path, "collector", err) != 0)
		goto out;
	if (cli->foreground)
		g_key_file_set_string(kf, "collector", "foreground", "true");
	if (cli->pidfile)
		g_key_file_set_string(kf, "collector", "pidfile", cli->pidfile);
	if (cli->user)
		g_key_file_set_string(kf, "collector", "user", cli->user);
	if (cli->group)
		g_key_file_set_string(kf, "collector", "group", cli->group);
	if (cli->verbose) {
		char num[16];
		snprintf(num, sizeof num, "%d", cli->verbose);
		g_key_file_set_string(kf, "collector", "verbose", num);
	}
	if (apply_sets(kf, cli->sets, err) != 0)
		goto out;
	rc = collector_config_parse(cfg, kf, path ? path : "command line",
				    need_keys, err);
	if (rc == 0 && path && check_secrets_private(path, kf, cfg, err) != 0)
		rc = -1;
out:
	g_key_file_free(kf);
	return rc;
}

/* As root: drop to cfg->user (or nobody, when the default user "artmon"
 * does not exist: a build tree, a test); never stay root. */
static int drop_root(struct collector_config *cfg, GError **err)
{
	uid_t uid;
	gid_t gid;
	GError *lookup = NULL;

	if (geteuid() != 0)
		return drop_capabilities(err);	/* e.g. net_bind_service */
	if (strcmp(cfg->user, "artmon") == 0 &&
	    !lookup_user("artmon", NULL, &uid, &gid, &lookup)) {
		log_info("user 'artmon' does not exist; running as 'nobody' "
			 "(create the user, or set user= / --user)");
		g_free(cfg->user);
		cfg->user = g_strdup("nobody");
		g_clear_pointer(&cfg->group, g_free);
	}
	g_clear_error(&lookup);
	if (drop_privileges(cfg->user, cfg->group, err) != 0) {
		g_prefix_error(err, "refusing to run as root: ");
		return -1;
	}
	log_debug("now running as user %s", cfg->user);
	return 0;
}

/* ----------------------------------------------------------------------
 * Running
 */

struct run {
	GMainLoop *loop;
	struct cli *cli;
	struct server *srv;
	struct dbwriter *w;
};

static void log_counters(struct run *r)
{
	struct server_stats s;
	struct dbwriter_stats d;

	server_get_stats(r->srv, &s);
	dbwriter_get_stats(r->w, &d);
	log_info("connections: %" G_GUINT64_FORMAT " accepted, %u open "
		 "(%u not authenticated), %" G_GUINT64_FORMAT " refused at "
		 "the caps, %" G_GUINT64_FORMAT " authenticated, %"
		 G_GUINT64_FORMAT " failed authentication, %" G_GUINT64_FORMAT
		 " replaced", s.accepted, s.connections, s.unauthenticated,
		 s.refused_full + s.refused_unauth, s.authenticated,
		 s.auth_failed, s.replaced);
	log_info("closed: %" G_GUINT64_FORMAT " auth timeouts, %"
		 G_GUINT64_FORMAT " frame timeouts, %" G_GUINT64_FORMAT
		 " idle, %" G_GUINT64_FORMAT " malformed, %" G_GUINT64_FORMAT
		 " too large, %" G_GUINT64_FORMAT " not reading",
		 s.timeouts_auth, s.timeouts_frame, s.timeouts_idle,
		 s.malformed, s.too_large, s.not_reading);
	log_info("batches: %" G_GUINT64_FORMAT " received, %" G_GUINT64_FORMAT
		 " stored (%" G_GUINT64_FORMAT " rows), %" G_GUINT64_FORMAT
		 " duplicates, %" G_GUINT64_FORMAT " rejected, %"
		 G_GUINT64_FORMAT " retry answers; %" G_GUINT64_FORMAT
		 " transactions (%" G_GUINT64_FORMAT " failed), %"
		 G_GUINT64_FORMAT " database reconnects; queued now: %"
		 G_GUINT64_FORMAT " batches, %" G_GUINT64_FORMAT " rows",
		 s.batches, d.batches_stored, d.rows_stored, d.duplicates,
		 s.rejected, d.retries, d.transactions, d.failed_transactions,
		 d.reconnects, d.queued_batches, d.queued_rows);
}

static gboolean on_stop(gpointer data)
{
	struct run *r = data;
	log_info("stopping");
	g_main_loop_quit(r->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_usr1(gpointer data)
{
	log_counters(data);
	return G_SOURCE_CONTINUE;
}

static gboolean on_hup(gpointer data)
{
	struct run *r = data;
	struct collector_config fresh;
	GError *err = NULL;

	if (load_config(r->cli, &fresh, true, &err) != 0) {
		log_warnx("SIGHUP: keeping the old sensor keys: %s",
			  err->message);
		g_error_free(err);
	} else {
		server_set_keys(r->srv, fresh.keys);
		log_info("SIGHUP: %u sensor keys loaded (other settings "
			 "take effect at restart)",
			 g_hash_table_size(fresh.keys));
	}
	collector_config_clear(&fresh);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct collector_config cfg = { 0 };
	struct server *srv = NULL;
	GError *err = NULL;
	bool pidfile_written = false;
	int rc = 1;

	setlocale(LC_ALL, "C");
	process_harden();	/* umask >= 022, no_new_privs */
	log_init("artmon-collector", 0);
	signal(SIGPIPE, SIG_IGN);

	if (parse_cli(argc, argv, &cli, &err) != 0) {
		fprintf(stderr, "artmon-collector: %s\n(try --help)\n",
			err->message);
		rc = 2;
		goto out;
	}
	if (cli.version) {
		printf("artmon-collector %s (wire protocol %d, schema %d)\n",
		       PACKAGE_VERSION, WIRE_VERSION, STORE_SCHEMA_VERSION);
		rc = 0;
		goto out;
	}
	if (load_config(&cli, &cfg, !cli.init_db, &err) != 0)
		goto usage_error;
	log_init("artmon-collector", cfg.verbose);

	if (cli.init_db) {
		if (drop_root(&cfg, &err) != 0)
			goto runtime_error;
		int v = migrate_run(cfg.database, cfg.sql_dir ? cfg.sql_dir
						      : migrate_default_dir(),
				    &err);
		if (v < 0)
			goto runtime_error;
		printf("artmon schema at version %d\n", v);
		rc = 0;
		goto out;
	}

	/* Privileged: the port, the certificate's private key. */
	srv = server_new(&cfg, &err);
	if (!srv)
		goto runtime_error;
	if (cli.check) {
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}
	if (!cfg.foreground) {
		if (!cfg.pidfile)
			cfg.pidfile = g_strdup(LOCALSTATEDIR
					       "/run/artmon-collector.pid");
		if (daemon_detach(&err) != 0)
			goto runtime_error;
		log_to_syslog(LOG_DAEMON);
	}
	if (cfg.pidfile) {
		if (pidfile_write(cfg.pidfile, &err) != 0)
			goto runtime_error;
		pidfile_written = true;
	}
	if (drop_root(&cfg, &err) != 0)
		goto runtime_error;

	struct run r = { g_main_loop_new(NULL, FALSE), &cli, srv, NULL };
	struct dbwriter_limits lim = {
		.queue_batches = cfg.queue_batches,
		.queue_rows = cfg.queue_rows,
		.transaction_rows = cfg.transaction_rows,
		.reconnect_max_ns = cfg.reconnect_max_ns,
	};
	r.w = dbwriter_new(cfg.database, &lim, NULL, server_on_verdict, srv);
	server_start(srv, r.w);
	guint sig[4] = {
		g_unix_signal_add(SIGTERM, on_stop, &r),
		g_unix_signal_add(SIGINT, on_stop, &r),
		g_unix_signal_add(SIGUSR1, on_usr1, &r),
		g_unix_signal_add(SIGHUP, on_hup, &r),
	};
	log_info("artmon-collector %s started: %u sensor keys", PACKAGE_VERSION,
		 g_hash_table_size(cfg.keys));
	g_main_loop_run(r.loop);

	/* Stop accepting and close connections first: verdicts still due
	 * then find their connection closed, and the sensors resend. */
	server_stop(srv);
	dbwriter_stop(r.w);
	log_counters(&r);
	dbwriter_free(r.w);
	for (unsigned i = 0; i < G_N_ELEMENTS(sig); i++)
		g_source_remove(sig[i]);
	g_main_loop_unref(r.loop);
	rc = 0;
	goto out;

usage_error:
	fprintf(stderr, "artmon-collector: %s\n", err->message);
	rc = 2;
	goto out;
runtime_error:
	log_warnx("%s", err->message);	/* stderr, or syslog once detached */
	rc = 1;
out:
	server_free(srv);
	if (pidfile_written)
		pidfile_remove(cfg.pidfile);
	g_clear_error(&err);
	collector_config_clear(&cfg);
	cli_clear(&cli);
	return rc;
}
