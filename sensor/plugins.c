/*
 * plugins.c: load protocol plugins with dlopen and check their contract.
 *
 * A plugin is a shared object exporting one symbol, `artmon_plugin`
 * (plugins/artmon-plugin.h).  We refuse it loudly, naming the file, if it
 * cannot be opened (with a hint at ldd(1)), lacks the symbol, was built for
 * another API version or struct layout, or misses a required callback.
 * Then we apply its configuration group ([http] ports = ..., sigs = ...,
 * anything else to its option() callback), call init(), and compile its
 * rules file.  Any failure stops the start: a sensor that silently ran
 * without a protocol would measure nothing and say nothing.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "plugins.h"

static void plugin_rt_free(gpointer data)
{
	struct plugin_rt *pr = data;

	if (!pr)
		return;
	ruleset_free(pr->rules);
	name_table_free(pr->names);
	g_free(pr->ports);
	g_free(pr->sigs_path);
	g_free(pr->path);
	/* The handle stays open: a plugin's code may still be on a stack
	 * frame of an atexit() handler, and the process is ending anyway. */
	g_free(pr);
}

/* "80, 8080;8000" -> 0-terminated array; NULL with err on a bad port. */
static uint16_t *parse_ports(const char *text, const char *where,
			     GError **err)
{
	gchar **parts = g_strsplit_set(text, ",; \t", -1);
	GArray *a = g_array_new(TRUE, TRUE, sizeof(uint16_t));

	for (gchar **p = parts; *p; p++) {
		if (!**p)
			continue;
		guint64 v;
		if (!g_ascii_string_to_unsigned(*p, 10, 1, 65535, &v, NULL)) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s: bad port '%s' (expected 1..65535)",
				    where, *p);
			g_strfreev(parts);
			g_array_free(a, TRUE);
			return NULL;
		}
		uint16_t port = (uint16_t)v;
		g_array_append_val(a, port);
	}
	g_strfreev(parts);
	return (uint16_t *)g_array_free(a, FALSE);
}

static bool check_descriptor(const struct artmon_plugin *d, const char *path,
			     GError **err)
{
	const char *why = NULL;

	if (d->api_version != ARTMON_PLUGIN_API_VERSION)
		why = "API version";
	else if (d->abi_signature != ARTMON_PLUGIN_ABI_SIGNATURE)
		why = "ABI signature (struct layout or pointer size)";
	if (why) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "plugin %s: wrong %s: it has %u/0x%x, this sensor "
			    "needs %u/0x%x; rebuild the plugin against this "
			    "sensor's artmon-plugin.h",
			    path, why, d->api_version, d->abi_signature,
			    ARTMON_PLUGIN_API_VERSION,
			    (unsigned)ARTMON_PLUGIN_ABI_SIGNATURE);
		return false;
	}
	if (!d->name || !*d->name || !d->default_name || !d->state_new ||
	    !d->data || !d->gap || !d->end || !d->close || !d->state_free ||
	    !(d->transports & (ARTMON_TCP | ARTMON_UDP))) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "plugin %s: incomplete descriptor (name, "
			    "default_name, transports and the callbacks "
			    "state_new, data, gap, end, close, state_free are "
			    "required)", path);
		return false;
	}
	for (const char *c = d->name; *c; c++) {
		if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-') {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "plugin %s: name '%s' must be letters, "
				    "digits, '-' or '_'", path, d->name);
			return false;
		}
	}
	return true;
}

/* Apply the plugin's configuration group, then init() and rules. */
static bool configure(struct plugin_rt *pr, const struct plugin_load_opts *o,
		      GError **err)
{
	const struct artmon_plugin *d = pr->desc;
	char msg[256] = "";
	gchar **keys = NULL;
	bool ok = false;

	pr->transports = d->transports;
	if (o->conf && g_key_file_has_group(o->conf, d->name))
		keys = g_key_file_get_keys(o->conf, d->name, NULL, NULL);
	for (gchar **k = keys; k && *k; k++) {
		g_autofree gchar *v =
			g_key_file_get_string(o->conf, d->name, *k, NULL);
		g_autofree gchar *where = g_strdup_printf("[%s] %s", d->name, *k);
		if (!v)
			continue;
		if (strcmp(*k, "ports") == 0) {
			g_free(pr->ports);
			if (!(pr->ports = parse_ports(v, where, err)))
				goto out;
		} else if (strcmp(*k, "sigs") == 0) {
			g_free(pr->sigs_path);
			pr->sigs_path = g_strdup(v);
		} else if (strcmp(*k, "enabled") == 0) {
			continue;	/* handled by the caller */
		} else if (!d->option) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s: unknown key (plugin %s takes ports, "
				    "sigs, enabled)", where, d->name);
			goto out;
		} else if (d->option(*k, v, msg, sizeof msg) != 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s: %s", where, *msg ? msg : "rejected");
			goto out;
		}
	}
	if (!pr->ports) {
		size_t n = 0;
		while (d->default_ports && d->default_ports[n])
			n++;
		pr->ports = g_new0(uint16_t, n + 1);
		if (n)
			memcpy(pr->ports, d->default_ports, n * sizeof(uint16_t));
	}
	if (d->init && d->init(&txn_host, msg, sizeof msg) != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "plugin %s (%s): init failed: %s", d->name,
			    pr->path, *msg ? msg : "no reason given");
		goto out;
	}
	pr->names = name_table_new(d->name, d->default_name, o->max_names);
	if (!pr->sigs_path) {
		g_autofree gchar *file = g_strconcat(d->name, ".sigs", NULL);
		g_autofree gchar *path = g_build_filename(o->sigs_dir, file, NULL);
		if (g_file_test(path, G_FILE_TEST_EXISTS))
			pr->sigs_path = g_steal_pointer(&path);
		else
			log_warnx("plugin %s: no rules file %s: every %s "
				  "transaction is named %s", d->name, path,
				  d->name, d->default_name);
	}
	if (pr->sigs_path && !(pr->rules = ruleset_load(pr->sigs_path, err)))
		goto out;
	ok = true;
out:
	g_strfreev(keys);
	return ok;
}

static struct plugin_rt *load_one(const char *path,
				  const struct plugin_load_opts *o,
				  GError **err)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "plugin %s: cannot load: %s (ldd(1) on the file "
			    "shows missing libraries)", path, dlerror());
		return NULL;
	}
	const struct artmon_plugin *d = dlsym(h, "artmon_plugin");
	if (!d) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "plugin %s: no 'artmon_plugin' symbol: not an "
			    "artmon plugin", path);
		dlclose(h);
		return NULL;
	}
	if (!check_descriptor(d, path, err)) {
		dlclose(h);
		return NULL;
	}
	struct plugin_rt *pr = g_new0(struct plugin_rt, 1);
	pr->desc = d;
	pr->handle = h;
	pr->path = g_strdup(path);
	if (!configure(pr, o, err)) {
		plugin_rt_free(pr);
		return NULL;
	}
	log_debug("plugin %s loaded from %s", d->name, path);
	return pr;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *plugins_load(const struct plugin_load_opts *o, GError **err)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(plugin_rt_free);
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	GDir *dir = g_dir_open(o->plugin_dir, 0, err);

	if (!dir) {
		g_prefix_error(err, "plugin directory: ");
		goto fail;
	}
	const char *name;
	while ((name = g_dir_read_name(dir)))
		if (g_str_has_suffix(name, ".so"))
			g_ptr_array_add(files,
					g_build_filename(o->plugin_dir, name, NULL));
	g_dir_close(dir);
	g_ptr_array_sort(files, cmp_str);

	for (unsigned i = 0; i < files->len; i++) {
		const char *path = g_ptr_array_index(files, i);
		g_autofree gchar *base = g_path_get_basename(path);
		base[strlen(base) - 3] = '\0';
		if (o->only && !g_strv_contains((const gchar *const *)o->only, base))
			continue;
		if (o->conf && g_key_file_has_key(o->conf, base, "enabled", NULL) &&
		    !g_key_file_get_boolean(o->conf, base, "enabled", NULL))
			continue;
		struct plugin_rt *pr = load_one(path, o, err);
		if (!pr)
			goto fail;
		g_ptr_array_add(out, pr);
	}
	for (char **want = o->only; want && *want; want++) {
		bool found = false;
		for (unsigned i = 0; i < out->len; i++) {
			struct plugin_rt *pr = g_ptr_array_index(out, i);
			found |= strcmp(pr->desc->name, *want) == 0;
		}
		if (!found) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "plugin '%s' not found in %s", *want,
				    o->plugin_dir);
			goto fail;
		}
	}
	if (out->len == 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no plugins found in %s", o->plugin_dir);
		goto fail;
	}
	g_ptr_array_free(files, TRUE);
	return out;
fail:
	g_ptr_array_free(files, TRUE);
	g_ptr_array_free(out, TRUE);
	return NULL;
}

int plugins_reload_rules(GPtrArray *plugins, GError **err)
{
	struct ruleset **fresh = g_new0(struct ruleset *, plugins->len + 1);
	int rc = -1;

	for (unsigned i = 0; i < plugins->len; i++) {
		struct plugin_rt *pr = g_ptr_array_index(plugins, i);
		if (pr->sigs_path && !(fresh[i] = ruleset_load(pr->sigs_path, err)))
			goto out;
	}
	/* Every file compiled: swap them all in.  Name ids stay valid, so
	 * open intervals keep counting under the same names. */
	for (unsigned i = 0; i < plugins->len; i++) {
		struct plugin_rt *pr = g_ptr_array_index(plugins, i);
		ruleset_free(pr->rules);
		pr->rules = fresh[i];
		fresh[i] = NULL;
	}
	rc = 0;
out:
	for (unsigned i = 0; i < plugins->len; i++)
		ruleset_free(fresh[i]);
	g_free(fresh);
	return rc;
}
