/*
 * main.c: artmon-sensor's command line and main loop.
 *
 * Order of start-up: read the configuration (file, then command line on
 * top), load and check the plugins and their rules (any error stops us
 * here, before we touch the network), open the capture, set the filter,
 * open output files; then (live) detach, write the pidfile, and drop to
 * the unprivileged user before the first packet is parsed: no packet is
 * ever read as root.  At the end of the input, or on SIGINT/SIGTERM, every
 * flow and interval is flushed so that nothing measured is lost, and the
 * counters go to stderr (or syslog).  SIGUSR1 prints the counters without
 * stopping; SIGHUP re-reads the signature files (all or nothing: a file
 * with an error keeps the old rules, and says why).
 *
 * With a [collector], summaries also go to the spool (on the output
 * thread) and from it to the collector (on the shipper's thread); at the
 * end the spool gets [collector] drain_timeout to empty before we exit,
 * and whatever is left goes next time.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "capture.h"
#include "daemon.h"
#include "log.h"
#include "output.h"
#include "plugins.h"
#include "sensor.h"
#include "settings.h"
#include "shipper.h"
#include "spool.h"
#include "summary.h"
#include "summary_output.h"
#include "txn_output.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stop_signals;	/* SIGINT/SIGTERM received */
static volatile sig_atomic_t counters_requested;
static volatile sig_atomic_t reload_requested;
static pcap_t *running_pcap;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	stop_signals++;
	if (running_pcap)
		pcap_breakloop(running_pcap);
}

static void on_usr1(int sig)
{
	(void)sig;
	counters_requested = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
	if (running_pcap)
		pcap_breakloop(running_pcap);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Command-line values, copied into the key file's [sensor] group. */
struct cli {
	char *config;
	char *iface, *file, *filter, *plugin_dir, *sigs_dir, *plugins;
	char *transactions, *summaries, *summary_file;
	char *replay_speed, *decode_spool;
	int snaplen, buffer_kib;
	gboolean no_promisc, version, foreground, keep_root, check;
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

static void put(GKeyFile *kf, const char *key, const char *value)
{
	if (value)
		g_key_file_set_string(kf, "sensor", key, value);
}

/* --set GROUP.KEY=VALUE (GROUP defaults to sensor). */
static int apply_set(GKeyFile *kf, const char *spec, GError **err)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--set %s: expected [GROUP.]KEY=VALUE", spec);
		return -1;
	}
	g_autofree gchar *lhs = g_strndup(spec, (gsize)(eq - spec));
	char *dot = strchr(lhs, '.');
	if (dot) {
		*dot = '\0';
		if (strcmp(lhs, "collector") == 0 && strcmp(dot + 1, "key") == 0) {
			/* The shared key is a secret; an argument is not. */
			g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--set collector.key: a key on the command "
				    "line is visible to every user in ps(1); put "
				    "it in a key_file of mode 600");
			return -1;
		}
		g_key_file_set_string(kf, lhs, dot + 1, eq + 1);
	} else {
		g_key_file_set_string(kf, "sensor", lhs, eq + 1);
	}
	return 0;
}

static int parse_cli(int argc, char **argv, struct cli *c, GError **err)
{
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &c->config,
		  "Read settings from FILE (GKeyFile; see sensor.conf(5))", "FILE" },
		{ "interface", 'i', 0, G_OPTION_ARG_STRING, &c->iface,
		  "Capture live on IFACE", "IFACE" },
		{ "read", 'r', 0, G_OPTION_ARG_FILENAME, &c->file,
		  "Read packets from FILE (pcap or pcapng)", "FILE" },
		{ "filter", 'f', 0, G_OPTION_ARG_STRING, &c->filter,
		  "BPF filter (default: the plugins' ports)", "EXPR" },
		{ "snaplen", 's', 0, G_OPTION_ARG_INT, &c->snaplen,
		  "Bytes kept per packet, live (default 65535)", "N" },
		{ "buffer-size", 'B', 0, G_OPTION_ARG_INT, &c->buffer_kib,
		  "Kernel capture buffer in KiB (default 32768)", "KIB" },
		{ "no-promiscuous-mode", 'p', 0, G_OPTION_ARG_NONE,
		  &c->no_promisc, "Do not put the interface in promiscuous mode",
		  NULL },
		{ "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &c->plugin_dir,
		  "Load plugins from DIR", "DIR" },
		{ "sigs-dir", 0, 0, G_OPTION_ARG_FILENAME, &c->sigs_dir,
		  "Read <plugin>.sigs rules from DIR", "DIR" },
		{ "plugins", 0, 0, G_OPTION_ARG_STRING, &c->plugins,
		  "Only these plugins (comma-separated)", "LIST" },
		{ "transactions", 't', 0, G_OPTION_ARG_STRING, &c->transactions,
		  "Print each transaction on stdout: csv or json", "FORMAT" },
		{ "summaries", 'S', 0, G_OPTION_ARG_STRING, &c->summaries,
		  "Print interval summaries and health: csv or json", "FORMAT" },
		{ "summary-file", 'w', 0, G_OPTION_ARG_FILENAME, &c->summary_file,
		  "Write summaries to FILE instead of stdout", "FILE" },
		{ "replay-speed", 0, 0, G_OPTION_ARG_STRING, &c->replay_speed,
		  "Reading a file: play it at X times real time (0: at once)",
		  "X" },
		{ "decode-spool", 0, 0, G_OPTION_ARG_FILENAME, &c->decode_spool,
		  "Print the batch in a spool file (as -S, default csv), exit",
		  "FILE" },
		{ "foreground", 'F', 0, G_OPTION_ARG_NONE, &c->foreground,
		  "Live capture: stay in the foreground, log to stderr (systemd)",
		  NULL },
		{ "pidfile", 'P', 0, G_OPTION_ARG_FILENAME, &c->pidfile,
		  "Write the process id to FILE", "FILE" },
		{ "user", 'u', 0, G_OPTION_ARG_STRING, &c->user,
		  "Drop to USER after opening the capture (default artmon)",
		  "USER" },
		{ "group", 'g', 0, G_OPTION_ARG_STRING, &c->group,
		  "Drop to GROUP (default: the user's)", "GROUP" },
		{ "keep-root", 0, 0, G_OPTION_ARG_NONE, &c->keep_root,
		  "Keep running as root (not recommended)", NULL },
		{ "set", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &c->sets,
		  "Set a config key, e.g. -o max_flows=500000 -o http.ports=80,8080",
		  "[GROUP.]KEY=VALUE" },
		{ "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
		  (gpointer)on_verbose, "More messages (repeat for more)", NULL },
		{ "check", 'n', 0, G_OPTION_ARG_NONE, &c->check,
		  "Check the configuration and rules, print 'configuration OK', exit",
		  NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &c->version,
		  "Print the version and exit", NULL },
		{ NULL }
	};
	GOptionContext *ctx = g_option_context_new("- passive application response-time sensor");
	GOptionGroup *grp = g_option_group_new("main", "", "", c, NULL);
	g_option_group_add_entries(grp, entries);
	g_option_context_set_main_group(ctx, grp);
	g_option_context_set_description(ctx,
		"Examples:\n"
		"  artmon-sensor -r capture.pcap -t csv\n"
		"  artmon-sensor -i eth0 -c /etc/artmon/sensor.conf\n"
		"\nCounters go to stderr at exit and on SIGUSR1.\n");
	gboolean ok = g_option_context_parse(ctx, &argc, &argv, err);
	g_option_context_free(ctx);
	if (ok && argc > 1) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    "unexpected argument '%s' (a capture file goes "
			    "after -r)", argv[1]);
		ok = FALSE;
	}
	return ok ? 0 : -1;
}

static void cli_to_keyfile(const struct cli *c, GKeyFile *kf)
{
	char num[32];

	put(kf, "interface", c->iface);
	put(kf, "read_file", c->file);
	put(kf, "filter", c->filter);
	put(kf, "plugin_dir", c->plugin_dir);
	put(kf, "sigs_dir", c->sigs_dir);
	put(kf, "plugins", c->plugins);
	put(kf, "transactions", c->transactions);
	put(kf, "summaries", c->summaries);
	put(kf, "summary_file", c->summary_file);
	put(kf, "replay_speed", c->replay_speed);
	if (c->snaplen) {
		snprintf(num, sizeof num, "%d", c->snaplen);
		put(kf, "snaplen", num);
	}
	if (c->buffer_kib) {
		snprintf(num, sizeof num, "%d", c->buffer_kib);
		put(kf, "buffer_kib", num);
	}
	if (c->no_promisc)
		put(kf, "promisc", "false");
	if (c->foreground)
		put(kf, "foreground", "true");
	if (c->keep_root)
		put(kf, "keep_root", "true");
	put(kf, "pidfile", c->pidfile);
	put(kf, "user", c->user);
	put(kf, "group", c->group);
	if (c->verbose) {
		snprintf(num, sizeof num, "%d", c->verbose);
		put(kf, "verbose", num);
	}
}

static void cli_clear(struct cli *c)
{
	g_free(c->config);
	g_free(c->iface);
	g_free(c->file);
	g_free(c->filter);
	g_free(c->plugin_dir);
	g_free(c->sigs_dir);
	g_free(c->plugins);
	g_free(c->transactions);
	g_free(c->summaries);
	g_free(c->summary_file);
	g_free(c->replay_speed);
	g_free(c->decode_spool);
	g_free(c->pidfile);
	g_free(c->user);
	g_free(c->group);
	g_strfreev(c->sets);
}

static bool pidfile_written;

/* The user we will drop to: the default user may not have been created
 * (a build tree, a quick test); nobody is unprivileged everywhere. */
static void choose_user(struct settings *st, bool live)
{
	GError *lookup = NULL;
	uid_t uid;
	gid_t gid;

	if (strcmp(st->user, "artmon") == 0 &&
	    !lookup_user("artmon", NULL, &uid, &gid, &lookup)) {
		if (live)
			log_info("user 'artmon' does not exist; running as "
				 "'nobody' (create the user, or set user= / "
				 "--user)");
		g_free(st->user);
		st->user = g_strdup("nobody");
		g_free(st->group);
		st->group = NULL;
	}
	g_clear_error(&lookup);
}

/*
 * The spool and the shipper, before privileges go: the spool directory
 * may need creating, and is given to the user we will run as.
 */
static int open_shipping(struct settings *st, bool live, struct spool **sp,
			 struct shipper **sh, GError **err)
{
	uint8_t run_id[16];

	if (ship_run_id(st->read_file, run_id, err) != 0)
		return -1;
	if (!(*sp = spool_open(st->spool_dir, st->spool_max, err)))
		return -1;
	if (geteuid() == 0 && !st->keep_root) {
		uid_t uid;
		gid_t gid;
		choose_user(st, live);
		if (!lookup_user(st->user, st->group, &uid, &gid, err) ||
		    spool_chown(*sp, uid, gid, err) != 0)
			return -1;
	}
	if (!(*sh = shipper_new(&st->ship, *sp, run_id, err)))
		return -1;
	log_debug("shipping to %s as sensor '%s', spool %s", st->ship.address,
		  st->ship.name, st->spool_dir);
	return 0;
}

/* --decode-spool FILE: check a spool file and print its batch. */
static int decode_spool(const char *path, enum txn_format fmt)
{
	struct summary_printer p;
	uint8_t id[WIRE_BATCH_ID_LEN];
	GError *err = NULL;
	gsize len;

	GBytes *payload = spool_file_read(path, &err);
	if (!payload) {
		fprintf(stderr, "artmon-sensor: %s\n", err->message);
		g_error_free(err);
		return 1;
	}
	const uint8_t *d = g_bytes_get_data(payload, &len);
	struct summary_batch *b = wire_batch_decode(d, len, id, &err);
	g_bytes_unref(payload);
	if (!b) {
		fprintf(stderr, "artmon-sensor: %s: %s\n", path, err->message);
		g_error_free(err);
		return 1;
	}
	printf("# batch ");
	for (int i = 0; i < WIRE_BATCH_ID_LEN; i++)
		printf("%02x", id[i]);
	printf(" interval %" G_GINT64_FORMAT " +%u%s, %u rows%s\n",
	       b->interval_start, b->interval_secs, b->late ? " late" : "",
	       b->nrows, b->health ? ", health" : "");
	summary_printer_init(&p, stdout, fmt == TXN_FORMAT_NONE ? TXN_FORMAT_CSV
								 : fmt);
	summary_printer_consume(&p, b);
	summary_batch_free(b);
	return 0;
}

/*
 * Live: detach unless told to stay in the foreground, write the pidfile,
 * then give up root.  The capture is open already; nothing that parses a
 * packet has run yet.
 */
static int become_daemon(struct settings *st, bool live, GError **err)
{
	if (live && !st->foreground) {
		if (!st->pidfile)
			st->pidfile = g_strdup(LOCALSTATEDIR "/run/artmon-sensor.pid");
		if (daemon_detach(err) != 0)
			return -1;
		log_to_syslog(LOG_DAEMON);
	}
	if (st->pidfile) {
		if (pidfile_write(st->pidfile, err) != 0)
			return -1;
		pidfile_written = true;
	}
	if (geteuid() != 0)
		return drop_capabilities(err);	/* setcap or systemd's */
	if (st->keep_root) {
		log_warnx("running as root (--keep-root): every packet is "
			  "parsed with full privileges");
		return 0;
	}
	choose_user(st, live);
	if (drop_privileges(st->user, st->group, err) != 0) {
		g_prefix_error(err, "refusing to run as root: ");
		return -1;
	}
	log_debug("now running as user %s", st->user);
	return 0;
}

static void reload_rules(struct sensor *s)
{
	GError *err = NULL;

	if (plugins_reload_rules(s->plugins, &err) != 0) {
		log_warnx("SIGHUP: keeping the old rules: %s", err->message);
		g_error_free(err);
		return;
	}
	log_info("SIGHUP: signature rules reloaded");
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct settings st;
	struct capture cap = { 0 };
	struct sensor *s = NULL;
	struct txn_output out = { 0 };
	struct summary_printer printer;
	struct summarizer *sum = NULL;
	struct output *output = NULL;
	struct spool *spool = NULL;
	struct shipper *shipper = NULL;
	FILE *sumfile = NULL;
	GKeyFile *kf = g_key_file_new();
	GError *err = NULL;
	char *filter = NULL;
	int rc = 1;

	setlocale(LC_ALL, "C");
	process_harden();	/* umask >= 022, no_new_privs */
	log_init("artmon-sensor", 0);
	settings_default(&st);

	if (parse_cli(argc, argv, &cli, &err) != 0) {
		fprintf(stderr, "artmon-sensor: %s\n(try --help)\n", err->message);
		rc = 2;
		goto out;
	}
	if (cli.version) {
		printf("artmon-sensor %s (plugin API %u)\n", PACKAGE_VERSION,
		       ARTMON_PLUGIN_API_VERSION);
		rc = 0;
		goto out;
	}
	if (cli.config && settings_load_file(kf, cli.config, &err) != 0)
		goto usage_error;
	cli_to_keyfile(&cli, kf);
	for (char **set = cli.sets; set && *set; set++)
		if (apply_set(kf, *set, &err) != 0)
			goto usage_error;
	if (settings_parse(&st, kf, cli.config ? cli.config : "command line",
			   &err) != 0)
		goto usage_error;
	log_init("artmon-sensor", st.verbose);
	if (cli.decode_spool) {
		rc = decode_spool(cli.decode_spool, st.summaries);
		goto out;
	}
	if (!st.interface == !st.read_file && !cli.check) {
		g_set_error(&err, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    "give exactly one of -i IFACE or -r FILE");
		goto usage_error;
	}

	struct plugin_load_opts po = {
		.plugin_dir = st.plugin_dir,
		.sigs_dir = st.sigs_dir,
		.only = st.plugins,
		.conf = kf,
		.max_names = st.lim.max_names,
	};
	GPtrArray *plugins = plugins_load(&po, &err);
	if (!plugins)
		goto runtime_error;
	s = sensor_new(&st.lim, plugins, &err);
	if (!s) {
		g_ptr_array_free(plugins, TRUE);
		goto runtime_error;
	}
	if (st.ship.address && shipper_check(&st.ship, &err) != 0)
		goto runtime_error;
	if (cli.check) {
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}
	if (st.read_file ? capture_open_file(&cap, st.read_file, &err)
			 : capture_open_live(&cap, st.interface, &st.cap, &err))
		goto runtime_error;
	cap.replay_speed = st.replay_speed;
	if (st.ship.address &&
	    open_shipping(&st, cap.live, &spool, &shipper, &err) != 0)
		goto runtime_error;

	/* Reading a file, the output thread may make us wait: nothing is
	 * lost by waiting.  Live, it must never: it drops and counts. */
	output = output_new(64, !cap.live);
	if (st.transactions != TXN_FORMAT_NONE) {
		txn_output_init(&out, stdout, st.transactions);
		out.thread = output;
		sensor_add_sink(s, txn_output_write, &out);
	}
	if (st.summaries != TXN_FORMAT_NONE) {
		sumfile = st.summary_file ? fopen(st.summary_file, "w") : stdout;
		if (!sumfile) {
			g_set_error(&err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "%s: %s", st.summary_file, g_strerror(errno));
			goto runtime_error;
		}
		summary_printer_init(&printer, sumfile, st.summaries);
		output_add_consumer(output, summary_printer_consume, &printer);
	}
	if (shipper)
		output_add_consumer(output, shipper_consume, shipper);
	if (st.summaries != TXN_FORMAT_NONE || shipper)
		sum = summarizer_new(&st.sum, s, output_push_batch, output);
	if (become_daemon(&st, cap.live, &err) != 0)
		goto runtime_error;
	output_start(output);
	if (shipper)
		shipper_start(shipper);
	filter = st.filter ? g_strdup(st.filter)
			   : capture_default_filter(&cap, s->plugins);
	if (capture_set_filter(&cap, filter, &err) != 0)
		goto runtime_error;
	log_debug("capturing from %s with filter '%s'", cap.source, filter);

	install_signals();
	running_pcap = cap.pcap;
	for (;;) {
		int r = capture_run(&cap, s, &stop_requested, &err);
		if (r < 0)
			goto runtime_error;
		if (counters_requested) {
			counters_requested = 0;
			capture_update_stats(&cap, s);
			sensor_print_counters(s, stderr);
			if (shipper)
				shipper_print_counters(shipper, stderr);
		}
		if (r == 0 || stop_requested)
			break;
		if (reload_requested) {
			reload_requested = 0;
			reload_rules(s);
		}
		capture_update_stats(&cap, s);
		txn_output_flush(&out);
		if (sum) {
			summarizer_note_dropped(sum, output_take_dropped(output), 0);
			if (cap.live) {
				/* A quiet link must not hold intervals back:
				 * live, packet time and the clock agree. */
				int64_t wall = g_get_real_time() * 1000;
				summarizer_advance(sum, wall > s->now ? wall : s->now);
			}
		}
	}
	running_pcap = NULL;
	/* Signals from here on (a second one, if one stopped the capture)
	 * cut the delivery of the spool short. */
	sig_atomic_t signals_at_end = stop_signals;
	capture_update_stats(&cap, s);
	/* Nothing measured is dropped: every open flow and interval goes
	 * out before we exit. */
	sensor_flush(s);
	if (sum)
		summarizer_flush(sum);
	txn_output_flush(&out);
	output_finish(output);	/* every batch is in the spool, fsync'd */
	output = NULL;
	/* A write that failed (a full disk, -w on a file system that
	 * filled) must not pass for a complete run: stdio only says so
	 * through ferror() and the flush. */
	bool stdout_failed = fflush(stdout) != 0 || ferror(stdout);
	bool sumfile_failed = sumfile && sumfile != stdout &&
		(fflush(sumfile) != 0 || ferror(sumfile));
	bool output_failed = stdout_failed || sumfile_failed;
	if (output_failed)
		fprintf(stderr, "artmon-sensor: writing to %s failed: what "
			"was written is incomplete\n", sumfile_failed ?
			st.summary_file : "the standard output");
	if (shipper) {
		shipper_finish(shipper, stop_signals != signals_at_end ? 0
				       : st.ship.drain_ns, &stop_signals);
	}
	sensor_print_counters(s, stderr);
	if (shipper)
		shipper_print_counters(shipper, stderr);
	rc = output_failed ? 1 : 0;
	goto out;

usage_error:
	fprintf(stderr, "artmon-sensor: %s\n", err->message);
	rc = 2;
	goto out;
runtime_error:
	fprintf(stderr, "artmon-sensor: %s\n", err->message);
	rc = 1;
out:
	running_pcap = NULL;
	g_free(filter);
	if (err)
		g_error_free(err);
	if (pidfile_written)
		pidfile_remove(st.pidfile);
	output_finish(output);
	txn_output_flush(&out);
	shipper_free(shipper);
	spool_close(spool);
	sensor_free(s);
	summarizer_free(sum);
	if (sumfile && sumfile != stdout)
		fclose(sumfile);
	capture_close(&cap);
	settings_clear(&st);
	cli_clear(&cli);
	g_key_file_free(kf);
	return rc;
}
