/*
 * settings.h: every setting of artmon-sensor, from the config file and the
 * command line alike.
 *
 * The configuration is a GKeyFile: group [sensor] for the core, one group
 * per plugin ([http], [dns], ...).  Command-line options are written into
 * the same key file after it is loaded, so every option has a config key
 * and the command line wins.  settings_parse() then reads and checks every
 * value into a fresh struct, which is swapped in only if all of it is good.
 */
#ifndef ARTMON_SETTINGS_H
#define ARTMON_SETTINGS_H

#include <glib.h>
#include <stdbool.h>

#include "capture.h"
#include "sensor.h"
#include "shipper.h"
#include "summary.h"
#include "txn_output.h"

struct settings {
	char *interface;	/* live capture, or */
	char *read_file;	/* capture file */
	char *filter;		/* BPF; NULL: built from plugin ports;
				 * "": no filter at all */
	struct capture_opts cap;
	char *plugin_dir;
	char *sigs_dir;
	char **plugins;		/* NULL: all */
	enum txn_format transactions;
	enum txn_format summaries;	/* print summaries: csv, json */
	char *summary_file;	/* where; NULL: stdout */
	struct summary_cfg sum;
	struct sensor_limits lim;
	int verbose;
	/* running as a daemon */
	bool foreground;	/* live capture daemonises unless set */
	char *pidfile;		/* NULL: none in the foreground */
	char *user, *group;	/* drop to these after opening the capture */
	bool keep_root;
	/* reading a file: packets paced at this multiple of real time;
	 * 0: as fast as possible */
	double replay_speed;
	/* shipping to the collector ([collector]; address NULL: none) */
	struct ship_cfg ship;
	char *spool_dir;	/* batches not yet acknowledged */
	uint64_t spool_max;	/* bytes (1 GiB) */
};

/* Fill the defaults (paths depend on running from the build tree). */
void settings_default(struct settings *st);
void settings_clear(struct settings *st);

/*
 * Read [sensor] and [collector] and check every value.  origin names the
 * source in messages ("FILE" or "command line"); errors look like
 * "FILE:LINE: [sensor] max_flows: expected a number, got 'x'".  A
 * [collector] key_file is read here (before privileges are dropped).
 */
int settings_parse(struct settings *st, GKeyFile *kf, const char *origin,
		   GError **err);

/*
 * Load a config file into kf, first checking that every line is a
 * comment, a [group] or key = value, so a syntax error names its line.
 */
int settings_load_file(GKeyFile *kf, const char *path, GError **err);

/* The directory the running binary would find its plugins in. */
const char *settings_default_plugin_dir(void);
const char *settings_default_sigs_dir(void);

#endif /* ARTMON_SETTINGS_H */
