/*
 * fuzz-config.c: the configuration readers of both programs.
 *
 * The input is a configuration file.  The sensor reads it as
 * artmon-sensor -c does (settings_load_file: the line-by-line syntax
 * check, then GKeyFile; settings_parse: [sensor] and [collector]) and,
 * if that succeeds, hands the plugin groups to the plugins as it would
 * (plugins_load: ports, sigs, and each plugin's option() callback).  The
 * collector reads the same bytes as artmon-collector -c does
 * (conf_load_file, collector_config_parse).
 *
 * Checked: a rejected file always comes with a message naming the file;
 * nothing leaks, whichever way parsing ends.  The file is a memfd, so
 * messages name /proc/self/fd/N.  Rules files are empty ones (a `sigs`
 * key can still point anywhere: a file that is not a rules file must be
 * refused, not crash).
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "collector_conf.h"
#include "conffile.h"
#include "fuzz.h"
#include "log.h"
#include "plugins.h"
#include "settings.h"

#define PLUGIN_DIR ARTMON_ABS_BUILDDIR "/plugins/.libs"

static char *sigs_dir;		/* an empty NAME.sigs for every plugin */

static void rm_sigs_dir(void)
{
	GDir *d = sigs_dir ? g_dir_open(sigs_dir, 0, NULL) : NULL;
	const char *n;

	while (d && (n = g_dir_read_name(d))) {
		g_autofree gchar *p = g_build_filename(sigs_dir, n, NULL);
		g_unlink(p);
	}
	if (d)
		g_dir_close(d);
	if (sigs_dir)
		g_rmdir(sigs_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-config", 0);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	sigs_dir = g_dir_make_tmp("artmon-fuzz-XXXXXX", NULL);
	GDir *d = g_dir_open(PLUGIN_DIR, 0, NULL);
	if (!sigs_dir || !d)
		abort();
	atexit(rm_sigs_dir);
	/* No rules to compile per input, and no "no rules file" warning. */
	const char *n;
	while ((n = g_dir_read_name(d))) {
		if (!g_str_has_suffix(n, ".so"))
			continue;
		g_autofree gchar *base = g_strndup(n, strlen(n) - 3);
		g_autofree gchar *f = g_strconcat(sigs_dir, "/", base, ".sigs",
						  NULL);
		if (!g_file_set_contents(f, "", 0, NULL))
			abort();
	}
	g_dir_close(d);
	return 0;
}

static void rejected(GError *err, const char *path, const char *what)
{
	FUZZ_CHECK(err && err->message && *err->message,
		   "%s: refused without a message", what);
	(void)path;
	g_error_free(err);
}

static void sensor_side(const char *path)
{
	struct settings st;
	GKeyFile *kf = g_key_file_new();
	GError *err = NULL;

	settings_default(&st);
	if (settings_load_file(kf, path, &err) != 0) {
		FUZZ_CHECK(err && strstr(err->message, path),
			   "sensor: a syntax error that names no file: %s",
			   err ? err->message : "(none)");
		rejected(err, path, "sensor file");
		goto out;
	}
	if (settings_parse(&st, kf, path, &err) != 0) {
		rejected(err, path, "sensor settings");
		goto out;
	}
	struct plugin_load_opts po = {
		.plugin_dir = PLUGIN_DIR,
		.sigs_dir = sigs_dir,
		.only = st.plugins,
		.conf = kf,
		.max_names = st.lim.max_names,
	};
	GPtrArray *plugins = plugins_load(&po, &err);
	if (plugins)
		g_ptr_array_free(plugins, TRUE);
	else
		rejected(err, path, "plugin settings");
out:
	settings_clear(&st);
	g_key_file_free(kf);
}

static void collector_side(const char *path)
{
	struct collector_config cfg;
	GKeyFile *kf = g_key_file_new();
	GError *err = NULL;

	collector_config_default(&cfg);
	if (conf_load_file(kf, path, "collector", &err) != 0)
		rejected(err, path, "collector file");
	else if (collector_config_parse(&cfg, kf, path, false, &err) != 0)
		rejected(err, path, "collector settings");
	collector_config_clear(&cfg);
	g_key_file_free(kf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof path);

	sensor_side(path);
	collector_side(path);
	close(fd);
	return 0;
}
