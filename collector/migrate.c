/*
 * migrate.c: numbered SQL migrations; see migrate.h.
 *
 * The files are trusted SQL installed with the program (they create
 * functions and DO blocks, so they cannot be split into parameterised
 * statements); they are sent as they are with PQexec, inside a
 * transaction this code opens, and must not contain BEGIN or COMMIT.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "conffile.h"
#include "log.h"
#include "migrate.h"

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/local/share/artmon"
#endif

#define MIGRATE_ERROR g_quark_from_static_string("artmon-migrate")

/* pg_advisory_xact_lock key: "artmon" in ASCII, shared by every
 * collector version. */
#define MIGRATE_LOCK "107144207495022"

const char *migrate_default_dir(void)
{
	return conf_in_build_tree() ? ARTMON_ABS_SRCDIR "/sql"
				    : PKGDATADIR "/sql";
}

struct migration {
	int version;
	char *name;
};

static gint by_version(gconstpointer a, gconstpointer b)
{
	const struct migration *x = *(struct migration *const *)a;
	const struct migration *y = *(struct migration *const *)b;
	return (x->version > y->version) - (x->version < y->version);
}

static void migration_free(gpointer p)
{
	struct migration *m = p;
	g_free(m->name);
	g_free(m);
}

/* NNN_[A-Za-z0-9_-]+.sql -> NNN, else -1. */
static int file_version(const char *name)
{
	size_t len = strlen(name);
	if (len < 9 || !g_ascii_isdigit(name[0]) || !g_ascii_isdigit(name[1]) ||
	    !g_ascii_isdigit(name[2]) || name[3] != '_' ||
	    !g_str_has_suffix(name, ".sql"))
		return -1;
	for (size_t i = 4; i < len - 4; i++)
		if (!g_ascii_isalnum(name[i]) && name[i] != '_' &&
		    name[i] != '-')
			return -1;
	return (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
}

static GPtrArray *list_migrations(const char *dir, GError **err)
{
	GDir *d = g_dir_open(dir, 0, err);
	if (!d) {
		g_prefix_error(err, "migrations: ");
		return NULL;
	}
	GPtrArray *list = g_ptr_array_new_with_free_func(migration_free);
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		int v = file_version(name);
		if (v < 1)
			continue;
		struct migration *m = g_new0(struct migration, 1);
		m->version = v;
		m->name = g_strdup(name);
		g_ptr_array_add(list, m);
	}
	g_dir_close(d);
	g_ptr_array_sort(list, by_version);
	for (unsigned i = 0; i < list->len; i++) {
		const struct migration *m = list->pdata[i];
		const struct migration *prev = i ? list->pdata[i - 1] : NULL;
		if (prev && prev->version == m->version) {
			g_set_error(err, MIGRATE_ERROR, 1, "%s: %s and %s have "
				    "the same number", dir, prev->name, m->name);
			goto fail;
		}
		if (m->version != (int)i + 1) {
			g_set_error(err, MIGRATE_ERROR, 1, "%s: migration %03d "
				    "is missing before %s", dir, (int)i + 1,
				    m->name);
			goto fail;
		}
	}
	if (list->len == 0) {
		g_set_error(err, MIGRATE_ERROR, 1, "%s: no NNN_name.sql "
			    "migrations there", dir);
		goto fail;
	}
	return list;
fail:
	g_ptr_array_free(list, TRUE);
	return NULL;
}

static void notice_to_debug(void *arg, const char *message)
{
	(void)arg;
	g_autofree gchar *m = g_strstrip(g_strdup(message));
	log_debug("postgresql: %s", m);
}

/* Status in ok1 or ok2, else err; clears res either way. */
static int check(PGconn *c, PGresult *res, ExecStatusType ok1,
		 ExecStatusType ok2, const char *what, GError **err)
{
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;
	if (st != ok1 && st != ok2) {
		const char *m = PQresultErrorMessage(res);
		g_autofree gchar *msg = g_strstrip(g_strdup(
			m && *m ? m : PQerrorMessage(c)));
		g_set_error(err, MIGRATE_ERROR, 1, "%s: %s", what, msg);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Apply one migration unless it is there; 1 applied, 0 skipped, -1. */
static int apply(PGconn *c, const char *dir, const struct migration *m,
		 GError **err)
{
	g_autofree gchar *path = g_build_filename(dir, m->name, NULL);
	g_autofree gchar *sql = NULL;
	char ver[16];
	PGresult *res;
	int rc = -1;

	if (!g_file_get_contents(path, &sql, NULL, err))
		return -1;
	snprintf(ver, sizeof ver, "%d", m->version);
	if (check(c, PQexec(c, "BEGIN"), PGRES_COMMAND_OK, PGRES_COMMAND_OK,
		  "BEGIN", err) != 0)
		return -1;
	if (check(c, PQexec(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")"),
		  PGRES_TUPLES_OK, PGRES_TUPLES_OK, "advisory lock", err) != 0)
		goto rollback;
	/* Under the lock: has another collector applied it meanwhile? */
	res = PQexec(c, "SELECT to_regclass('artmon.schema_version') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		check(c, res, PGRES_TUPLES_OK, PGRES_TUPLES_OK,
		      "schema_version", err);
		goto rollback;
	}
	bool have_table = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (have_table) {
		const char *p[1] = { ver };
		res = PQexecParams(c, "SELECT 1 FROM artmon.schema_version "
				   "WHERE version = $1", 1, NULL, p, NULL, NULL,
				   0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			check(c, res, PGRES_TUPLES_OK, PGRES_TUPLES_OK,
			      "schema_version", err);
			goto rollback;
		}
		bool done = PQntuples(res) > 0;
		PQclear(res);
		if (done) {
			rc = 0;
			goto rollback;
		}
	} else if (m->version != 1) {
		g_set_error(err, MIGRATE_ERROR, 1, "%s: the database has no "
			    "artmon.schema_version (migration 001 first)",
			    m->name);
		goto rollback;
	}
	if (check(c, PQexec(c, sql), PGRES_COMMAND_OK, PGRES_TUPLES_OK, path,
		  err) != 0)
		goto rollback;
	const char *p[2] = { ver, m->name };
	if (check(c, PQexecParams(c, "INSERT INTO artmon.schema_version "
				  "(version, name) VALUES ($1, $2)", 2, NULL,
				  p, NULL, NULL, 0),
		  PGRES_COMMAND_OK, PGRES_COMMAND_OK, "schema_version", err) != 0)
		goto rollback;
	if (check(c, PQexec(c, "COMMIT"), PGRES_COMMAND_OK, PGRES_COMMAND_OK,
		  "COMMIT", err) != 0)
		return -1;
	return 1;
rollback:
	PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

int migrate_run(const char *conninfo, const char *sql_dir, GError **err)
{
	const char *const keys[] = { "connect_timeout",
				     "fallback_application_name", "dbname",
				     NULL };
	const char *const vals[] = { "10", "artmon-collector --init-db",
				     conninfo && *conninfo ? conninfo : NULL,
				     NULL };
	GPtrArray *list = list_migrations(sql_dir, err);
	PGconn *c = NULL;
	int version = -1;

	if (!list)
		return -1;
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		g_autofree gchar *m = g_strstrip(g_strdup(
			c ? PQerrorMessage(c) : "out of memory"));
		g_set_error(err, MIGRATE_ERROR, 1, "cannot connect to "
			    "PostgreSQL: %s", m);
		goto out;
	}
	PQsetNoticeProcessor(c, notice_to_debug, NULL);
	for (unsigned i = 0; i < list->len; i++) {
		const struct migration *m = list->pdata[i];
		int r = apply(c, sql_dir, m, err);
		if (r < 0)
			goto out;
		if (r > 0)
			log_info("applied migration %s", m->name);
		else
			log_debug("migration %s was applied before", m->name);
		version = m->version;
	}
out:
	if (c)
		PQfinish(c);
	g_ptr_array_free(list, TRUE);
	return version;
}
