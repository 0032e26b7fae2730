/*
 * db.h: the PostgreSQL side of artmon-report and artmon-summarise.
 *
 * Connecting follows libpq's conventions: the -d value is a conninfo
 * string, a URI or just a database name (expanded as libpq's dbname),
 * and whatever it leaves out comes from the PG* environment variables,
 * a service file (PGSERVICE, service=...) and ~/.pgpass.  Every query is
 * fixed SQL text with parameters ($1, $2, ...) sent apart from it
 * (PQexecParams): a value from the command line is never part of SQL.
 */
#ifndef ARTMON_REPORT_DB_H
#define ARTMON_REPORT_DB_H

#include <glib.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define DB_ERROR g_quark_from_static_string("artmon-db")

/* Error codes of DB_ERROR. */
enum {
	DB_ERR_CONNECT = 1,	/* could not connect */
	DB_ERR_SCHEMA,		/* no artmon schema, or too old */
	DB_ERR_QUERY,		/* a statement failed */
};

/*
 * Connect (conninfo may be NULL or "": the environment's defaults) as
 * application appname; check that the artmon schema is at least at
 * min_schema.  NULL with err on failure; PQfinish() the result.
 */
PGconn *db_connect(const char *conninfo, const char *appname, int min_schema,
		   GError **err);

/* Parameters of one statement: text values or NULL (SQL NULL). */
struct db_params {
	unsigned n;
	const char *v[32];
	char *owned[32];
};

void db_params_init(struct db_params *p);
void db_params_clear(struct db_params *p);	/* frees the copies */
void db_param(struct db_params *p, const char *s);	/* copied; NULL ok */
void db_paramf(struct db_params *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void db_param_i64(struct db_params *p, int64_t v);

/*
 * Run sql with p's parameters (p may be NULL).  The result (tuples or
 * command ok) for the caller to PQclear(), or NULL with err, whose
 * message is PostgreSQL's, prefixed by what.
 */
PGresult *db_exec(PGconn *c, const char *sql, const struct db_params *p,
		  const char *what, GError **err);

/* Typed reads of a result cell; NULL reads as def / NAN / NULL. */
int64_t db_i64(const PGresult *r, int row, int col, int64_t def);
double db_f64(const PGresult *r, int row, int col);
const char *db_str(const PGresult *r, int row, int col);

#endif /* ARTMON_REPORT_DB_H */
