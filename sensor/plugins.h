/*
 * plugins.h: finding, loading and configuring protocol plugins.
 */
#ifndef ARTMON_PLUGINS_H
#define ARTMON_PLUGINS_H

#include <glib.h>

#include "sensor.h"

struct plugin_load_opts {
	const char *plugin_dir;	/* where the *.so live */
	const char *sigs_dir;	/* where <name>.sigs live */
	char **only;		/* NULL: every plugin in plugin_dir */
	GKeyFile *conf;		/* groups named after plugins; may be NULL */
	uint32_t max_names;
};

/*
 * Load, check, configure and initialise plugins; read their rules files.
 * Returns an array of struct plugin_rt * (freed with the array), or NULL
 * with err naming the file and the problem.
 */
GPtrArray *plugins_load(const struct plugin_load_opts *o, GError **err);

/*
 * Re-read every plugin's rules file.  All or nothing: if any file has an
 * error, nothing changes and err says which and why.
 */
int plugins_reload_rules(GPtrArray *plugins, GError **err);

#endif /* ARTMON_PLUGINS_H */
