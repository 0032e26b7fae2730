/*
 * db.c: connecting and running parameterised statements; see db.h.
 *
 * The reports are short-lived and synchronous: one connection, one
 * statement at a time, every PGresult cleared by its caller or here on
 * every error path.  Errors keep PostgreSQL's primary message and add
 * its hint, which for the level-2 functions says what to do.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

PGconn *db_connect(const char *conninfo, const char *appname, int min_schema,
		   GError **err)
{
	/* Our defaults first; keywords in the user's conninfo (expanded
	 * from "dbname") override them. */
	const char *const keys[] = { "connect_timeout",
				     "fallback_application_name", "dbname",
				     NULL };
	const char *const vals[] = { "10", appname,
				     conninfo && *conninfo ? conninfo : NULL,
				     NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	PGresult *r = NULL;

	if (!c || PQstatus(c) != CONNECTION_OK) {
		g_autofree gchar *m = g_strstrip(g_strdup(
			c ? PQerrorMessage(c) : "out of memory"));
		/* libpq's message may run over lines ("...failed: No such
		 * file or directory\n\tIs the server running..."): one line,
		 * for cron mail and Nagios. */
		for (char *p = m; *p; p++)
			if (*p == '\n' || *p == '\t')
				*p = ' ';
		g_set_error(err, DB_ERROR, DB_ERR_CONNECT,
			    "cannot connect to PostgreSQL: %s", m);
		goto fail;
	}
	if (PQsetClientEncoding(c, "UTF8") != 0) {
		g_set_error(err, DB_ERROR, DB_ERR_CONNECT,
			    "cannot use UTF8 as the client encoding");
		goto fail;
	}
	/* No JIT for this session: the reports' plans span every day
	 * partition of level 1 (most pruned only when they run), and
	 * compiling them took 8 s of a 0.9 s answer in bench/level2.sh;
	 * the work is in artmon.hist_merge, which JIT does not speed up. */
	r = PQexec(c, "SET jit = off");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		g_set_error(err, DB_ERROR, DB_ERR_CONNECT,
			    "SET jit = off: %s",
			    g_strstrip(PQresultErrorMessage(r)));
		goto fail;
	}
	PQclear(r);
	r = PQexec(c, "SELECT max(version) FROM artmon.schema_version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (st && (strcmp(st, "42P01") == 0 || strcmp(st, "3F000") == 0))
			g_set_error(err, DB_ERROR, DB_ERR_SCHEMA,
				    "the database has no artmon schema "
				    "(artmon-collector --init-db makes it)");
		else
			g_set_error(err, DB_ERROR, DB_ERR_SCHEMA,
				    "reading the artmon schema version: %s",
				    g_strstrip(PQresultErrorMessage(r)));
		goto fail;
	}
	int v = PQgetisnull(r, 0, 0) ? 0 : atoi(PQgetvalue(r, 0, 0));
	if (v < min_schema) {
		g_set_error(err, DB_ERROR, DB_ERR_SCHEMA,
			    "the artmon schema is at version %d, this program "
			    "needs %d: run artmon-collector --init-db", v,
			    min_schema);
		goto fail;
	}
	PQclear(r);
	return c;
fail:
	PQclear(r);
	if (c)
		PQfinish(c);
	return NULL;
}

void db_params_init(struct db_params *p)
{
	memset(p, 0, sizeof *p);
}

void db_params_clear(struct db_params *p)
{
	for (unsigned i = 0; i < p->n; i++)
		g_free(p->owned[i]);
	memset(p, 0, sizeof *p);
}

void db_param(struct db_params *p, const char *s)
{
	g_return_if_fail(p->n < G_N_ELEMENTS(p->v));
	p->owned[p->n] = g_strdup(s);
	p->v[p->n] = p->owned[p->n];
	p->n++;
}

void db_paramf(struct db_params *p, const char *fmt, ...)
{
	va_list ap;

	g_return_if_fail(p->n < G_N_ELEMENTS(p->v));
	va_start(ap, fmt);
	p->owned[p->n] = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	p->v[p->n] = p->owned[p->n];
	p->n++;
}

void db_param_i64(struct db_params *p, int64_t v)
{
	db_paramf(p, "%lld", (long long)v);
}

PGresult *db_exec(PGconn *c, const char *sql, const struct db_params *p,
		  const char *what, GError **err)
{
	PGresult *r = PQexecParams(c, sql, p ? (int)p->n : 0, NULL,
				   p ? p->v : NULL, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
			  : NULL;
	const char *hint = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_HINT)
			     : NULL;
	g_autofree gchar *msg = g_strstrip(g_strdup(
		m ? m : PQerrorMessage(c)));
	g_set_error(err, DB_ERROR, DB_ERR_QUERY, "%s: %s%s%s", what, msg,
		    hint ? " (" : "", hint ? hint : "");
	if (hint) {
		/* Close the parenthesis after the hint. */
		gchar *full = g_strconcat((*err)->message, ")", NULL);
		g_free((*err)->message);
		(*err)->message = full;
	}
	PQclear(r);
	return NULL;
}

int64_t db_i64(const PGresult *r, int row, int col, int64_t def)
{
	if (PQgetisnull(r, row, col))
		return def;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double db_f64(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NAN;
	return strtod(PQgetvalue(r, row, col), NULL);
}

const char *db_str(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return PQgetvalue(r, row, col);
}
