/*
 * store.c: summary batches into PostgreSQL, exactly once; see store.h.
 *
 * Data flow: ... -> wire -> collector (server.c decodes, dbwriter.c
 * groups) -> here -> artmon.summary_l1, health_l1, top_clients.
 *
 * One group of batches is one transaction:
 *
 *   ensure_partitions(days)        own autocommit statement, cached
 *   BEGIN
 *   upsert artmon.sensors          once per sensor in the group
 *   INSERT artmon.batches ... ON CONFLICT DO NOTHING
 *                                  one per batch: 0 rows = seen before,
 *                                  its rows are skipped
 *   (the new batches' rows, merged in C by key first, see below)
 *   SELECT which intervals exist   one query, (sensor, interval) pairs
 *                                  this connection has not written whole
 *   SELECT which keys exist        one query, only for the keys of the
 *                                  intervals that have rows already
 *   COPY artmon.summary_l1         rows with new keys, straight in
 *   COPY pg_temp.artmon_staging    rows whose key exists (late batches,
 *   INSERT ... SELECT ... ON        restarted sensors): counts and sums
 *     CONFLICT DO UPDATE           add, LEAST/GREATEST, artmon.hist_add
 *   upsert health_l1, top_clients  one statement each per new batch
 *   COMMIT
 *
 * Why COPY (binary) and not a prepared upsert per row: a round trip per
 * row caps ingest at a few thousand rows per second; COPY is
 * PostgreSQL's fastest input path, and binary spares it parsing numbers,
 * times and arrays.  Why new keys skip the merge: sending every row
 * through a staging table and ON CONFLICT writes it twice; finding the
 * few existing keys first costs one index probe per key, so it is done
 * only where a key can exist (see "Intervals this connection owns"
 * below: usually nowhere).  Why merge in C
 * first: ON CONFLICT DO UPDATE refuses to touch one row twice in a
 * statement, and a group can hold a batch and its late batch (same keys).
 *
 * The batch id row commits with the data or not at all, so a re-delivery
 * (the sensor never saw our ACK: we crashed, the network broke, COMMIT's
 * answer was lost) is recognised and stored nothing twice.
 *
 * All SQL is fixed text with parameters or COPY data; the column lists
 * are generated once from summary_types.c's compile-time names so they
 * cannot drift from the C structs.  No value is ever put into SQL text.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <libpq-fe.h>

#include "log.h"
#include "store.h"

#define STORE_ERROR g_quark_from_static_string("artmon-store")

/* Days are UTC days: partition bounds are UTC midnights. */
#define DAY_SECS 86400

/* Flush COPY data to libpq in pieces of about this size. */
#define COPY_CHUNK (256 * 1024)

struct store {
	PGconn *conn;
	GHashTable *days;	/* day numbers known to have a partition */
	char *copy_sql;		/* COPY staging (cols) FROM STDIN */
	char *copy_direct_sql;	/* COPY artmon.summary_l1 (cols) FROM STDIN */
	char *merge_sql;	/* INSERT ... ON CONFLICT DO UPDATE */
	struct complaint clamp;	/* values past bigint */
	GHashTable *owned;	/* "sid|start" -> struct owned_interval */
	unsigned owned_keys;	/* key hashes held in all of them */
};

/*
 * Intervals this connection owns.  A sensor sends one interval's rows in
 * several batches (2000 rows each), so most keys arrive for an interval
 * that has rows already, yet almost none of them are stored: probing
 * every key (103 ms of a 409 ms transaction of 8000 rows) is wasted.
 * When a (sensor, interval) has no rows at all and we then commit rows
 * for it, the table holds exactly the keys we wrote, and we remember
 * their hashes.  Later rows of that interval whose hash we hold go to
 * the merge (correct whether or not the key is there, so a collision
 * costs only speed); the others are new and go straight in by COPY.
 * The one way to be wrong is another writer (a second collector) adding
 * a key behind us: COPY then fails with a unique violation, the group is
 * retried, and the failure empties this cache, so the retry probes.  Any
 * failed group empties it, and it dies with the connection, so it never
 * outlives a transaction whose outcome we do not know.  Bounded: past
 * OWNED_KEYS_MAX hashes the oldest interval is forgotten (its next rows
 * are probed as before), ~16 bytes per hash.
 */
#define OWNED_KEYS_MAX (1u << 18)

struct owned_interval {
	int64_t start;
	GHashTable *keys;	/* set of key hashes (GUINT_TO_POINTER) */
};

static void owned_interval_free(gpointer p)
{
	struct owned_interval *o = p;
	g_hash_table_destroy(o->keys);
	g_free(o);
}

/* ----------------------------------------------------------------------
 * SQL text
 */

static const char SQL_SENSOR[] =
	"INSERT INTO artmon.sensors AS s (name, last_addr) "
	"VALUES ($1, $2::inet) "
	"ON CONFLICT (name) DO UPDATE SET last_seen = now(), "
	"last_addr = coalesce(EXCLUDED.last_addr, s.last_addr) "
	"RETURNING sensor_id";

static const char SQL_BATCH[] =
	"INSERT INTO artmon.batches (sensor_id, batch_id, interval_start, "
	"interval_secs, late, rows) "
	"VALUES ($1, $2::bytea, to_timestamp($3::bigint), $4, $5, $6) "
	"ON CONFLICT DO NOTHING";

static const char SQL_PARTITIONS[] =
	"SELECT artmon.ensure_partitions(to_timestamp($1::bigint), "
	"to_timestamp($2::bigint))";

static const char SQL_HEALTH[] =
	"INSERT INTO artmon.health_l1 AS h (sensor_id, interval_start, "
	"interval_secs, packets, bytes, kernel_drops, iface_drops, malformed, "
	"flows_active, flows_created, flows_evicted, gaps, transactions, "
	"clients_distinct, clients_estimated, client_ports_distinct, "
	"conn_per_sec_min, conn_per_sec_avg, conn_per_sec_max, "
	"output_dropped, spool_dropped) "
	"VALUES ($1, to_timestamp($2::bigint), $3, $4, $5, $6, $7, $8, $9, "
	"$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) "
	"ON CONFLICT (sensor_id, interval_start) DO UPDATE SET "
	"packets = h.packets + EXCLUDED.packets, "
	"bytes = h.bytes + EXCLUDED.bytes, "
	"kernel_drops = h.kernel_drops + EXCLUDED.kernel_drops, "
	"iface_drops = h.iface_drops + EXCLUDED.iface_drops, "
	"malformed = h.malformed + EXCLUDED.malformed, "
	/* Gauges and distinct counts cannot be added: two runs of one
	 * interval saw overlapping clients.  The larger is a lower bound
	 * of the truth (docs/schema.md). */
	"flows_active = greatest(h.flows_active, EXCLUDED.flows_active), "
	"flows_created = h.flows_created + EXCLUDED.flows_created, "
	"flows_evicted = h.flows_evicted + EXCLUDED.flows_evicted, "
	"gaps = h.gaps + EXCLUDED.gaps, "
	"transactions = h.transactions + EXCLUDED.transactions, "
	"clients_distinct = greatest(h.clients_distinct, EXCLUDED.clients_distinct), "
	"clients_estimated = h.clients_estimated OR EXCLUDED.clients_estimated, "
	"client_ports_distinct = greatest(h.client_ports_distinct, "
	"EXCLUDED.client_ports_distinct), "
	"conn_per_sec_min = least(h.conn_per_sec_min, EXCLUDED.conn_per_sec_min), "
	"conn_per_sec_avg = greatest(h.conn_per_sec_avg, EXCLUDED.conn_per_sec_avg), "
	"conn_per_sec_max = greatest(h.conn_per_sec_max, EXCLUDED.conn_per_sec_max), "
	"output_dropped = h.output_dropped + EXCLUDED.output_dropped, "
	"spool_dropped = h.spool_dropped + EXCLUDED.spool_dropped, "
	"merged = h.merged + 1";

static const char SQL_TOP[] =
	"INSERT INTO artmon.top_clients AS t (sensor_id, interval_start, "
	"client_addr, transactions, error_bound) "
	"SELECT $1, to_timestamp($2::bigint), u.a, u.n, u.e "
	"FROM unnest($3::inet[], $4::bigint[], $5::bigint[]) AS u(a, n, e) "
	"ON CONFLICT (sensor_id, interval_start, client_addr) DO UPDATE SET "
	"transactions = t.transactions + EXCLUDED.transactions, "
	"error_bound = t.error_bound + EXCLUDED.error_bound";

/* Which of the group's row keys are stored already (ordinals, 1-based).
 * The LIMIT keeps the lateral subquery from being flattened into a join:
 * with thousands of keys the planner would otherwise hash them and scan
 * the whole table; this way each key is one index probe. */
static const char SQL_EXISTING[] =
	"SELECT k.i FROM unnest($1::integer[], $2::bigint[], $3::text[], "
	"$4::text[], $5::inet[], $6::integer[]) WITH ORDINALITY "
	"AS k(sid, t, p, sig, a, port, i), "
	"LATERAL (SELECT 1 FROM artmon.summary_l1 x "
	"WHERE x.sensor_id = k.sid AND x.interval_start = to_timestamp(k.t) "
	"AND x.protocol = k.p AND x.signature = k.sig AND x.server_addr = k.a "
	"AND x.server_port = k.port LIMIT 1) e";

/* Which of the group's (sensor, interval) pairs have any row stored
 * (ordinals, 1-based): one probe of the primary key's prefix each. */
static const char SQL_INTERVALS_USED[] =
	"SELECT p.i FROM unnest($1::integer[], $2::bigint[]) WITH ORDINALITY "
	"AS p(sid, t, i) WHERE EXISTS (SELECT 1 FROM artmon.summary_l1 x "
	"WHERE x.sensor_id = p.sid AND x.interval_start = to_timestamp(p.t))";

static const char SQL_STAGING[] =
	"CREATE TEMPORARY TABLE IF NOT EXISTS artmon_staging "
	"(LIKE artmon.summary_l1 INCLUDING DEFAULTS) ON COMMIT DELETE ROWS";

enum { ST_SENSOR, ST_BATCH, ST_PARTITIONS, ST_HEALTH, ST_TOP, ST_MERGE, ST_N };
static const char *const stmt_names[ST_N] = {
	"artmon_sensor", "artmon_batch", "artmon_partitions", "artmon_health",
	"artmon_top", "artmon_merge",
};

/* Key columns, then the 8 counts and 4 columns per metric, then hists. */
static void append_columns(GString *s, const char *prefix)
{
	g_string_append_printf(s, "%ssensor_id, %sinterval_start, "
			       "%sinterval_secs, %sprotocol, %ssignature, "
			       "%sserver_addr, %sserver_port", prefix, prefix,
			       prefix, prefix, prefix, prefix, prefix);
	for (int c = 0; c < SC_NCOUNTS; c++)
		g_string_append_printf(s, ", %s%s", prefix,
				       summary_count_names[c]);
	for (int m = 0; m < SM_NMETRICS; m++) {
		const char *n = summary_metric_names[m];
		g_string_append_printf(s, ", %s%s_count, %s%s_min, %s%s_max, "
				       "%s%s_sum", prefix, n, prefix, n, prefix,
				       n, prefix, n);
	}
	g_string_append_printf(s, ", %sttfb_hist, %sttlb_hist, %smerged",
			       prefix, prefix, prefix);
}

static void build_sql(struct store *s)
{
	GString *c = g_string_new("COPY pg_temp.artmon_staging (");
	append_columns(c, "");
	g_string_append(c, ") FROM STDIN (FORMAT binary)");
	s->copy_sql = g_string_free(c, FALSE);
	c = g_string_new("COPY artmon.summary_l1 (");
	append_columns(c, "");
	g_string_append(c, ") FROM STDIN (FORMAT binary)");
	s->copy_direct_sql = g_string_free(c, FALSE);

	GString *m = g_string_new("INSERT INTO artmon.summary_l1 AS t (");
	append_columns(m, "");
	g_string_append(m, ") SELECT ");
	append_columns(m, "");
	g_string_append(m, " FROM pg_temp.artmon_staging "
			   "ON CONFLICT (sensor_id, interval_start, protocol, "
			   "signature, server_addr, server_port) DO UPDATE SET ");
	for (int i = 0; i < SC_NCOUNTS; i++) {
		const char *n = summary_count_names[i];
		g_string_append_printf(m, "%s = t.%s + EXCLUDED.%s, ", n, n, n);
	}
	for (int i = 0; i < SM_NMETRICS; i++) {
		const char *n = summary_metric_names[i];
		/* least()/greatest() skip NULLs: an empty side leaves the
		 * other's min and max. */
		g_string_append_printf(m,
			"%s_count = t.%s_count + EXCLUDED.%s_count, "
			"%s_min = least(t.%s_min, EXCLUDED.%s_min), "
			"%s_max = greatest(t.%s_max, EXCLUDED.%s_max), "
			"%s_sum = t.%s_sum + EXCLUDED.%s_sum, ",
			n, n, n, n, n, n, n, n, n, n, n, n);
	}
	g_string_append(m, "ttfb_hist = artmon.hist_add(t.ttfb_hist, "
			   "EXCLUDED.ttfb_hist), "
			   "ttlb_hist = artmon.hist_add(t.ttlb_hist, "
			   "EXCLUDED.ttlb_hist), "
			   "merged = t.merged + EXCLUDED.merged");
	s->merge_sql = g_string_free(m, FALSE);
}

/* ----------------------------------------------------------------------
 * libpq helpers: every PGresult is cleared on every path here.
 */

static void set_pg_error(GError **err, PGconn *conn, const PGresult *res,
			 const char *what)
{
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	if (!msg || !*msg)
		msg = PQerrorMessage(conn);
	g_autofree gchar *m = g_strstrip(g_strdup(msg ? msg : "?"));
	g_set_error(err, STORE_ERROR, 1, "%s: %s", what, m);
}

/* Run a command expecting want; 0 or -1 with err and *state (SQLSTATE). */
static int pg_check(PGconn *conn, PGresult *res, ExecStatusType want,
		    const char *what, char state[6], GError **err)
{
	int rc = 0;

	if (PQresultStatus(res) != want) {
		set_pg_error(err, conn, res, what);
		const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
				     : NULL;
		if (state)
			g_strlcpy(state, st ? st : "", 6);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static int pg_exec(PGconn *conn, const char *sql, char state[6], GError **err)
{
	return pg_check(conn, PQexec(conn, sql), PGRES_COMMAND_OK, sql, state,
			err);
}

/* ----------------------------------------------------------------------
 * Connection
 */

struct store *store_connect(const char *conninfo, GError **err)
{
	/* Our defaults first: keywords given later (the user's conninfo,
	 * expanded from "dbname") override them. */
	const char *const keys[] = { "connect_timeout",
				     "fallback_application_name", "dbname",
				     NULL };
	const char *const vals[] = { "10", "artmon-collector",
				     conninfo && *conninfo ? conninfo : NULL,
				     NULL };
	struct store *s = g_new0(struct store, 1);
	PGresult *res;

	s->days = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
					NULL);
	s->owned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 owned_interval_free);
	build_sql(s);
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
		g_autofree gchar *m = g_strstrip(g_strdup(
			s->conn ? PQerrorMessage(s->conn) : "out of memory"));
		g_set_error(err, STORE_ERROR, 1, "cannot connect to "
			    "PostgreSQL: %s", m);
		goto fail;
	}
	/* Times travel as epoch seconds; names and text as UTF-8. */
	if (PQsetClientEncoding(s->conn, "UTF8") != 0) {
		set_pg_error(err, s->conn, NULL, "client encoding UTF8");
		goto fail;
	}

	res = PQexec(s->conn, "SELECT max(version) FROM artmon.schema_version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (st && (strcmp(st, "42P01") == 0 || strcmp(st, "3F000") == 0))
			g_set_error(err, STORE_ERROR, 2, "the database has no "
				    "artmon schema: run artmon-collector "
				    "--init-db");
		else
			set_pg_error(err, s->conn, res, "reading the schema "
				     "version");
		PQclear(res);
		goto fail;
	}
	/* PostgreSQL's text of an integer column of our own schema: digits
	 * that fit, so atoi() has no error to hide.
	 * NOLINTNEXTLINE(cert-err34-c) */
	int version = PQgetisnull(res, 0, 0) ? 0 : atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (version < STORE_SCHEMA_VERSION) {
		g_set_error(err, STORE_ERROR, 2, "the artmon schema is at "
			    "version %d, this collector needs %d: run "
			    "artmon-collector --init-db", version,
			    STORE_SCHEMA_VERSION);
		goto fail;
	}

	if (pg_exec(s->conn, SQL_STAGING, NULL, err) != 0)
		goto fail;
	const char *const sql[ST_N] = {
		SQL_SENSOR, SQL_BATCH, SQL_PARTITIONS, SQL_HEALTH, SQL_TOP,
		s->merge_sql,
	};
	for (int i = 0; i < ST_N; i++) {
		res = PQprepare(s->conn, stmt_names[i], sql[i], 0, NULL);
		if (pg_check(s->conn, res, PGRES_COMMAND_OK, stmt_names[i],
			     NULL, err) != 0)
			goto fail;
	}
	return s;
fail:
	store_free(s);
	return NULL;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	if (s->conn)
		PQfinish(s->conn);
	g_hash_table_destroy(s->days);
	g_hash_table_destroy(s->owned);
	g_free(s->copy_sql);
	g_free(s->copy_direct_sql);
	g_free(s->merge_sql);
	g_free(s);
}

bool store_connection_ok(const struct store *s)
{
	return s && s->conn && PQstatus(s->conn) == CONNECTION_OK;
}

/* ----------------------------------------------------------------------
 * Validation
 */

/* 9999-12-31 23:59:59 UTC: the last second a timestamptz prints as 4 digits. */
#define MAX_EPOCH INT64_C(253402300799)

static bool name_ok(const char *s, bool may_be_empty)
{
	return s && (*s || may_be_empty) && g_utf8_validate(s, -1, NULL) &&
	       strlen(s) < 1024;
}

bool store_batch_valid(const struct summary_batch *b, char *why, size_t wl)
{
	if (b->interval_start < 0 || b->interval_start > MAX_EPOCH ||
	    b->interval_secs < 1 || b->interval_secs > DAY_SECS) {
		snprintf(why, wl, "interval %" PRId64 "+%u out of range",
			 b->interval_start, b->interval_secs);
		return false;
	}
	for (unsigned i = 0; i < b->nrows; i++) {
		const struct summary_row *r = b->rows[i];
		if (r->interval_start < 0 || r->interval_start > MAX_EPOCH ||
		    r->interval_secs < 1 || r->interval_secs > DAY_SECS) {
			snprintf(why, wl, "row %u: interval out of range", i);
			return false;
		}
		if (!name_ok(r->protocol, false) ||
		    !name_ok(r->signature, true)) {
			snprintf(why, wl, "row %u: protocol or signature is "
				 "empty, too long or not UTF-8", i);
			return false;
		}
		if (r->family != 4 && r->family != 6) {
			snprintf(why, wl, "row %u: address family %u", i,
				 r->family);
			return false;
		}
	}
	if (b->health) {
		if (b->health->ntop > TOPK_REPORT) {
			snprintf(why, wl, "%u top clients", b->health->ntop);
			return false;
		}
		for (unsigned i = 0; i < b->health->ntop; i++)
			if (b->health->top[i].family != 4 &&
			    b->health->top[i].family != 6) {
				snprintf(why, wl, "top client %u: family %u", i,
					 b->health->top[i].family);
				return false;
			}
	}
	return true;
}

/* ----------------------------------------------------------------------
 * Text for parameters and COPY
 */

/* uint64 into a bigint column: values past 2^63-1 (never seen in
 * practice) are clamped rather than failing the whole group. */
static int64_t clamp63(struct store *s, uint64_t v)
{
	if (v <= (uint64_t)INT64_MAX)
		return (int64_t)v;
	complain(&s->clamp, "a summary value above 2^63-1 was stored as "
		 "2^63-1");
	return INT64_MAX;
}

static const char *addr_text(uint8_t family, const uint8_t *a, char *buf,
			     size_t len)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf,
		       (socklen_t)len))
		g_strlcpy(buf, family == 6 ? "::" : "0.0.0.0", len);
	return buf;
}

/*
 * Binary COPY.  Why binary: PostgreSQL then parses no numbers, dates or
 * array literals, which is most of the cost of a text COPY of these
 * rows (two histogram arrays and 60 integers each); and nothing needs
 * escaping.  Layout (PostgreSQL's "COPY ... (FORMAT binary)"): a header,
 * then per row a field count and, per field, a length (-1: NULL) and the
 * type's binary send format, big-endian; then -1 as a 16-bit trailer.
 */
static const char COPY_SIGNATURE[11] = "PGCOPY\n\377\r\n";

/* PostgreSQL's epoch for timestamps: 2000-01-01 00:00:00 UTC. */
#define PG_EPOCH_OFFSET INT64_C(946684800)
#define INT8OID 20

static void put_be(GString *b, uint64_t v, int bytes)
{
	char x[8];
	for (int i = 0; i < bytes; i++)
		x[i] = (char)(v >> (8 * (bytes - 1 - i)));
	g_string_append_len(b, x, bytes);
}

static void field_int4(GString *b, uint32_t v)
{
	put_be(b, 4, 4);
	put_be(b, v, 4);
}

static void field_int8(GString *b, int64_t v)
{
	put_be(b, 8, 4);
	put_be(b, (uint64_t)v, 8);
}

static void field_null(GString *b)
{
	put_be(b, UINT32_MAX, 4);	/* -1 */
}

static void field_text(GString *b, const char *t)
{
	size_t n = strlen(t);
	put_be(b, n, 4);
	g_string_append_len(b, t, (gssize)n);
}

static void field_timestamptz(GString *b, int64_t epoch)
{
	field_int8(b, (epoch - PG_EPOCH_OFFSET) * 1000000);
}

/* inet: family (PGSQL_AF_INET 2, PGSQL_AF_INET6 3), bits, is_cidr,
 * address length, address. */
static void field_inet(GString *b, uint8_t family, const uint8_t *a)
{
	uint8_t n = family == 6 ? 16 : 4;
	put_be(b, 4u + n, 4);
	put_be(b, family == 6 ? 3 : 2, 1);
	put_be(b, n * 8u, 1);
	put_be(b, 0, 1);
	put_be(b, n, 1);
	g_string_append_len(b, (const char *)a, n);
}

/* A sparse histogram as bigint[]: {bucket, count, ...}; one dimension
 * (none when empty), element type int8, no NULLs. */
static void field_hist(struct store *s, GString *b, const struct hist *h)
{
	uint32_t n = 2u * h->n;
	put_be(b, n ? 20u + 12u * n : 12u, 4);
	put_be(b, n ? 1 : 0, 4);		/* dimensions */
	put_be(b, 0, 4);			/* has NULLs */
	put_be(b, INT8OID, 4);
	if (!n)
		return;
	put_be(b, n, 4);			/* length */
	put_be(b, 1, 4);			/* lower bound */
	for (unsigned i = 0; i < h->n; i++) {
		field_int8(b, h->bucket[i]);
		field_int8(b, clamp63(s, h->count[i]));
	}
}

#define ROW_FIELDS (7 + SC_NCOUNTS + 4 * SM_NMETRICS + 3)

static void copy_row(struct store *s, GString *b, int sensor_id,
		     const struct summary_row *r, unsigned merged)
{
	put_be(b, ROW_FIELDS, 2);
	field_int4(b, (uint32_t)sensor_id);
	field_timestamptz(b, r->interval_start);
	field_int4(b, r->interval_secs);
	field_text(b, r->protocol);
	field_text(b, r->signature);
	field_inet(b, r->family, r->server_addr);
	field_int4(b, r->server_port);
	for (int c = 0; c < SC_NCOUNTS; c++)
		field_int8(b, clamp63(s, r->counts[c]));
	for (int m = 0; m < SM_NMETRICS; m++) {
		const struct metric_agg *a = &r->m[m];
		field_int8(b, clamp63(s, a->count));
		if (a->count) {
			field_int8(b, clamp63(s, a->min));
			field_int8(b, clamp63(s, a->max));
		} else {
			field_null(b);
			field_null(b);
		}
		field_int8(b, clamp63(s, a->sum));
	}
	field_hist(s, b, &r->ttfb_hist);
	field_hist(s, b, &r->ttlb_hist);
	field_int4(b, merged);
}

/* ----------------------------------------------------------------------
 * Rows of a group, merged by key
 */

struct keyed_row {
	int sensor_id;
	const struct summary_row *first;	/* the only one, or */
	struct summary_row *merged;		/* the sum of several */
	unsigned count;
	const char *key;			/* row_key(), owned by the group */
	unsigned pair;				/* its interval's ordinal in the
						 * probe of unowned intervals */
	bool owned;				/* its interval is all ours */
	bool exists;				/* the key may be stored already */
};

static char *row_key(int sensor_id, const struct summary_row *r)
{
	/* Length-prefixed, so no name can make two keys collide. */
	return g_strdup_printf("%d|%" PRId64 "|%zu:%s|%zu:%s|%u|%02x%02x%02x"
			       "%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x"
			       "%02x%02x|%u", sensor_id, r->interval_start,
			       strlen(r->protocol), r->protocol,
			       strlen(r->signature), r->signature, r->family,
			       r->server_addr[0], r->server_addr[1],
			       r->server_addr[2], r->server_addr[3],
			       r->server_addr[4], r->server_addr[5],
			       r->server_addr[6], r->server_addr[7],
			       r->server_addr[8], r->server_addr[9],
			       r->server_addr[10], r->server_addr[11],
			       r->server_addr[12], r->server_addr[13],
			       r->server_addr[14], r->server_addr[15],
			       r->server_port);
}

static struct summary_row *row_copy(const struct summary_row *src)
{
	struct summary_row *r = g_new0(struct summary_row, 1);

	*r = *src;
	r->protocol = g_strdup(src->protocol);	/* own copies: src stays */
	r->signature = g_strdup(src->signature);
	hist_init(&r->ttfb_hist);
	hist_init(&r->ttlb_hist);
	hist_merge(&r->ttfb_hist, &src->ttfb_hist);
	hist_merge(&r->ttlb_hist, &src->ttlb_hist);
	return r;
}

static void keyed_row_free(gpointer p)
{
	struct keyed_row *k = p;
	summary_row_free(k->merged);
	g_free(k);
}

/* ----------------------------------------------------------------------
 * One group, one transaction
 */

/* SQLSTATEs after which the same group may well succeed: the connection
 * (class 08), serialization failure, deadlock, lock timeout, a cancelled
 * statement, resources, the server shutting down (57P0x), and a missing
 * partition (we forget our cache and create it on the next try), and a
 * unique violation (another collector inserted a key we took for new:
 * the next try finds it and merges). */
static bool retryable_state(const char *st)
{
	return !*st || g_str_has_prefix(st, "08") ||
	       strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
	       strcmp(st, "55P03") == 0 || strcmp(st, "57014") == 0 ||
	       g_str_has_prefix(st, "53") || g_str_has_prefix(st, "57P") ||
	       strcmp(st, "23514") == 0 || strcmp(st, "23505") == 0;
}

static int ensure_days(struct store *s, struct store_item *items, unsigned n,
		       char state[6], GError **err)
{
	for (unsigned i = 0; i < n; i++) {
		const struct summary_batch *b = items[i].b;
		for (unsigned j = 0; j <= b->nrows; j++) {
			int64_t t = j < b->nrows ? b->rows[j]->interval_start
						 : b->interval_start;
			int64_t day = t / DAY_SECS;
			if (g_hash_table_contains(s->days, &day))
				continue;
			char from[24], to[24];
			snprintf(from, sizeof from, "%" PRId64, day * DAY_SECS);
			/* This day and the next: a collector running at
			 * midnight does not stop to make DDL. */
			snprintf(to, sizeof to, "%" PRId64,
				 (day + 1) * DAY_SECS + DAY_SECS - 1);
			const char *p[2] = { from, to };
			PGresult *res = PQexecPrepared(s->conn,
						       "artmon_partitions", 2,
						       p, NULL, NULL, 0);
			if (pg_check(s->conn, res, PGRES_TUPLES_OK,
				     "ensure_partitions", state, err) != 0)
				return -1;
			for (int64_t d = day; d <= day + 1; d++) {
				int64_t *k = g_new(int64_t, 1);
				*k = d;
				g_hash_table_add(s->days, k);	/* owns k */
			}
		}
	}
	return 0;
}

/* sensor_id for name in this transaction (upserting the sensor). */
static int sensor_id(struct store *s, GHashTable *ids, const char *name,
		     const char *peer, char state[6], GError **err)
{
	gpointer v;

	if (g_hash_table_lookup_extended(ids, name, NULL, &v))
		return GPOINTER_TO_INT(v);
	const char *p[2] = { name, peer };
	PGresult *res = PQexecPrepared(s->conn, "artmon_sensor", 2, p, NULL,
				       NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pg_check(s->conn, res, PGRES_TUPLES_OK, "upserting the sensor",
			 state, err);
		return -1;
	}
	/* NOLINTNEXTLINE(cert-err34-c): the text of a serial column */
	int id = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	g_hash_table_insert(ids, (gpointer)name, GINT_TO_POINTER(id));
	return id;
}

/* Record the batch id; 1: new, 0: stored before, -1: error. */
static int record_batch(struct store *s, int sid, const struct store_item *it,
			char state[6], GError **err)
{
	char sid_s[16], id_s[2 + 2 * WIRE_BATCH_ID_LEN + 1], start[24];
	char secs[16], rows[16];

	snprintf(sid_s, sizeof sid_s, "%d", sid);
	strcpy(id_s, "\\x");
	for (int i = 0; i < WIRE_BATCH_ID_LEN; i++)
		snprintf(id_s + 2 + 2 * i, 3, "%02x", it->id[i]);
	snprintf(start, sizeof start, "%" PRId64, it->b->interval_start);
	snprintf(secs, sizeof secs, "%u", it->b->interval_secs);
	snprintf(rows, sizeof rows, "%u", it->b->nrows);
	const char *p[6] = { sid_s, id_s, start, secs,
			     it->b->late ? "true" : "false", rows };
	PGresult *res = PQexecPrepared(s->conn, "artmon_batch", 6, p, NULL,
				       NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_check(s->conn, res, PGRES_COMMAND_OK, "recording the batch",
			 state, err);
		return -1;
	}
	int isnew = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	return isnew;
}

static int copy_rows(struct store *s, const char *sql, GPtrArray *rows,
		     char state[6], GError **err)
{
	PGresult *res = PQexec(s->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		return pg_check(s->conn, res, PGRES_COPY_IN, "COPY", state,
				err);
	PQclear(res);

	GString *buf = g_string_sized_new(COPY_CHUNK + 8192);
	bool ok = true;
	g_string_append_len(buf, COPY_SIGNATURE, sizeof COPY_SIGNATURE);
	put_be(buf, 0, 4);	/* flags */
	put_be(buf, 0, 4);	/* header extension length */
	for (unsigned i = 0; i < rows->len && ok; i++) {
		const struct keyed_row *k = rows->pdata[i];
		copy_row(s, buf, k->sensor_id, k->merged ? k->merged : k->first,
			 k->count);
		if (i + 1 == rows->len)
			put_be(buf, UINT16_MAX, 2);	/* trailer: -1 */
		if (buf->len >= COPY_CHUNK || i + 1 == rows->len) {
			ok = PQputCopyData(s->conn, buf->str, (int)buf->len) == 1;
			g_string_truncate(buf, 0);
		}
	}
	g_string_free(buf, TRUE);
	if (PQputCopyEnd(s->conn, ok ? NULL : "artmon: sending failed") != 1)
		ok = false;
	/* Read every result, so the connection is ready for what follows. */
	int rc = ok ? 0 : -1;
	if (!ok)
		set_pg_error(err, s->conn, NULL, "COPY");
	while ((res = PQgetResult(s->conn)) != NULL) {
		if (rc == 0)
			rc = pg_check(s->conn, res, PGRES_COMMAND_OK, "COPY",
				      state, err);
		else
			PQclear(res);
	}
	return rc;
}

static int upsert_health(struct store *s, int sid, const struct health_row *h,
			 char state[6], GError **err)
{
	char v[21][32];
	const char *p[21];
	unsigned i = 0;

	snprintf(v[i++], 32, "%d", sid);
	snprintf(v[i++], 32, "%" PRId64, h->interval_start);
	snprintf(v[i++], 32, "%u", h->interval_secs);
	const uint64_t u[] = { h->packets, h->bytes, h->kernel_drops,
			       h->iface_drops, h->malformed, h->flows_active,
			       h->flows_created, h->flows_evicted, h->gaps,
			       h->transactions, h->clients_distinct };
	for (size_t j = 0; j < G_N_ELEMENTS(u); j++)
		snprintf(v[i++], 32, "%" PRId64, clamp63(s, u[j]));
	snprintf(v[i++], 32, "%s", h->clients_estimated ? "true" : "false");
	snprintf(v[i++], 32, "%" PRId64, clamp63(s, h->client_ports_distinct));
	snprintf(v[i++], 32, "%u", h->conn_per_sec_min);
	/* %.17g: a double's every bit, and nan/inf are refused below. */
	double avg = h->conn_per_sec_avg;
	snprintf(v[i++], 32, "%.17g", (avg >= 0 && avg < 1e300) ? avg : 0.0);
	snprintf(v[i++], 32, "%u", h->conn_per_sec_max);
	snprintf(v[i++], 32, "%" PRId64, clamp63(s, h->output_dropped));
	snprintf(v[i++], 32, "%" PRId64, clamp63(s, h->spool_dropped));
	for (unsigned j = 0; j < i; j++)
		p[j] = v[j];
	PGresult *res = PQexecPrepared(s->conn, "artmon_health", (int)i, p,
				       NULL, NULL, 0);
	if (pg_check(s->conn, res, PGRES_COMMAND_OK, "storing health", state,
		     err) != 0)
		return -1;
	if (h->ntop == 0)
		return 0;

	/* Top clients as three arrays; one address twice in a list would
	 * make ON CONFLICT touch a row twice, so equal ones merge here. */
	struct top_client top[TOPK_REPORT];
	unsigned n = 0;
	for (unsigned j = 0; j < h->ntop && j < TOPK_REPORT; j++) {
		unsigned k;
		for (k = 0; k < n; k++)
			if (top[k].family == h->top[j].family &&
			    memcmp(top[k].addr, h->top[j].addr, 16) == 0)
				break;
		if (k == n)
			top[n++] = h->top[j];
		else {
			top[k].transactions += h->top[j].transactions;
			top[k].error_bound += h->top[j].error_bound;
		}
	}
	GString *a = g_string_new("{"), *t = g_string_new("{"),
		*e = g_string_new("{");
	for (unsigned j = 0; j < n; j++) {
		char addr[INET6_ADDRSTRLEN];
		g_string_append_printf(a, "%s%s", j ? "," : "",
				       addr_text(top[j].family, top[j].addr,
						 addr, sizeof addr));
		g_string_append_printf(t, "%s%" PRId64, j ? "," : "",
				       clamp63(s, top[j].transactions));
		g_string_append_printf(e, "%s%" PRId64, j ? "," : "",
				       clamp63(s, top[j].error_bound));
	}
	g_string_append_c(a, '}');
	g_string_append_c(t, '}');
	g_string_append_c(e, '}');
	const char *tp[5] = { v[0], v[1], a->str, t->str, e->str };
	res = PQexecPrepared(s->conn, "artmon_top", 5, tp, NULL, NULL, 0);
	int rc = pg_check(s->conn, res, PGRES_COMMAND_OK, "storing top clients",
			  state, err);
	g_string_free(a, TRUE);
	g_string_free(t, TRUE);
	g_string_free(e, TRUE);
	return rc;
}

/* An element of a text[] literal: quoted, with " and \\ escaped. */
static void array_elem(GString *b, const char *v)
{
	g_string_append_c(b, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			g_string_append_c(b, '\\');
		g_string_append_c(b, *v);
	}
	g_string_append_c(b, '"');
}

/*
 * Mark the rows whose key is in summary_l1 already (k->exists).  One
 * query with the keys as six array parameters: a few milliseconds for
 * 2000 keys, against the cost of sending every row through the merge.
 */
static int find_existing(struct store *s, GPtrArray *rows, char state[6],
			 GError **err)
{
	GString *a[6];
	char addr[INET6_ADDRSTRLEN];

	for (int i = 0; i < 6; i++)
		a[i] = g_string_new("{");
	for (unsigned i = 0; i < rows->len; i++) {
		const struct keyed_row *k = rows->pdata[i];
		const struct summary_row *r = k->first;
		const char *sep = i ? "," : "";
		g_string_append_printf(a[0], "%s%d", sep, k->sensor_id);
		g_string_append_printf(a[1], "%s%" PRId64, sep,
				       r->interval_start);
		g_string_append(a[2], sep);
		array_elem(a[2], r->protocol);
		g_string_append(a[3], sep);
		array_elem(a[3], r->signature);
		g_string_append_printf(a[4], "%s%s", sep,
				       addr_text(r->family, r->server_addr,
						 addr, sizeof addr));
		g_string_append_printf(a[5], "%s%u", sep, r->server_port);
	}
	const char *p[6];
	for (int i = 0; i < 6; i++) {
		g_string_append_c(a[i], '}');
		p[i] = a[i]->str;
	}
	PGresult *res = PQexecParams(s->conn, SQL_EXISTING, 6, NULL, p, NULL,
				     NULL, 0);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_check(s->conn, res, PGRES_TUPLES_OK, "finding stored "
			      "rows", state, err);
	} else {
		for (int i = 0; i < PQntuples(res); i++) {
			/* NOLINTNEXTLINE(cert-err34-c): an int column's text */
			long j = atol(PQgetvalue(res, i, 0));
			if (j >= 1 && (unsigned long)j <= rows->len)
				((struct keyed_row *)rows->pdata[j - 1])->exists =
					true;
		}
		PQclear(res);
	}
	for (int i = 0; i < 6; i++)
		g_string_free(a[i], TRUE);
	return rc;
}

static guint key_hash(const char *key)
{
	guint h = g_str_hash(key);
	return h ? h : 1;	/* NULL would be no key in a GHashTable set */
}

static char *interval_name(int sensor_id, int64_t start)
{
	return g_strdup_printf("%d|%" PRId64, sensor_id, start);
}

/*
 * Set k->exists on every row whose key may be stored already, probing
 * the database only where one can be: see "Intervals this connection
 * owns" at the top.  Rows of intervals with no row stored become owned
 * (remembered once the transaction commits).
 */
static int classify_rows(struct store *s, GPtrArray *rows, char state[6],
			 GError **err)
{
	GHashTable *unowned = g_hash_table_new_full(g_str_hash, g_str_equal,
						    g_free, NULL);
	GString *sids = g_string_new("{"), *starts = g_string_new("{");
	GPtrArray *probe = g_ptr_array_new();
	bool *used = NULL;
	unsigned npairs = 0;
	int rc = 0;

	for (unsigned i = 0; i < rows->len; i++) {
		struct keyed_row *k = rows->pdata[i];
		int64_t t = k->first->interval_start;
		char *name = interval_name(k->sensor_id, t);
		struct owned_interval *o = g_hash_table_lookup(s->owned, name);
		if (o) {
			k->owned = true;
			k->exists = g_hash_table_contains(o->keys,
				GUINT_TO_POINTER(key_hash(k->key)));
			g_free(name);
			continue;
		}
		k->pair = GPOINTER_TO_UINT(g_hash_table_lookup(unowned, name));
		if (k->pair) {
			g_free(name);
			continue;
		}
		k->pair = ++npairs;
		g_hash_table_insert(unowned, name, GUINT_TO_POINTER(k->pair));
		g_string_append_printf(sids, "%s%d", npairs > 1 ? "," : "",
				       k->sensor_id);
		g_string_append_printf(starts, "%s%" PRId64,
				       npairs > 1 ? "," : "", t);
	}
	if (npairs == 0)
		goto out;
	g_string_append_c(sids, '}');
	g_string_append_c(starts, '}');
	const char *p[2] = { sids->str, starts->str };
	PGresult *res = PQexecParams(s->conn, SQL_INTERVALS_USED, 2, NULL, p,
				     NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_check(s->conn, res, PGRES_TUPLES_OK, "finding stored "
			      "intervals", state, err);
		goto out;
	}
	used = g_new0(bool, npairs);
	for (int i = 0; i < PQntuples(res); i++) {
		/* NOLINTNEXTLINE(cert-err34-c): an int column's text */
		long j = atol(PQgetvalue(res, i, 0));
		if (j >= 1 && (unsigned long)j <= npairs)
			used[j - 1] = true;
	}
	PQclear(res);
	for (unsigned i = 0; i < rows->len; i++) {
		struct keyed_row *k = rows->pdata[i];
		if (k->owned)
			continue;
		if (used[k->pair - 1])
			g_ptr_array_add(probe, k);
		else
			k->owned = true;	/* new interval: new keys */
	}
	if (probe->len > 0)
		rc = find_existing(s, probe, state, err);
out:
	g_free(used);
	g_ptr_array_free(probe, TRUE);
	g_string_free(sids, TRUE);
	g_string_free(starts, TRUE);
	g_hash_table_destroy(unowned);
	return rc;
}

/* Forget the owned interval that started first (the cap is reached). */
static void forget_oldest_interval(struct store *s)
{
	GHashTableIter it;
	gpointer name, v, oldest = NULL;
	const struct owned_interval *first = NULL;

	g_hash_table_iter_init(&it, s->owned);
	while (g_hash_table_iter_next(&it, &name, &v)) {
		const struct owned_interval *o = v;
		if (!first || o->start < first->start) {
			oldest = name;
			first = o;
		}
	}
	if (!first)
		return;
	s->owned_keys -= g_hash_table_size(first->keys);
	g_hash_table_remove(s->owned, oldest);
}

/* After COMMIT: the owned intervals' keys, so later rows skip probes. */
static void remember_rows(struct store *s, GPtrArray *rows)
{
	for (unsigned i = 0; i < rows->len; i++) {
		const struct keyed_row *k = rows->pdata[i];
		if (!k->owned)
			continue;
		int64_t t = k->first->interval_start;
		char *name = interval_name(k->sensor_id, t);
		struct owned_interval *o = g_hash_table_lookup(s->owned, name);
		if (!o) {
			o = g_new0(struct owned_interval, 1);
			o->start = t;
			o->keys = g_hash_table_new(NULL, NULL);
			g_hash_table_insert(s->owned, name, o);
		} else {
			g_free(name);
		}
		if (g_hash_table_add(o->keys,
				     GUINT_TO_POINTER(key_hash(k->key))))
			s->owned_keys++;
	}
	while (s->owned_keys > OWNED_KEYS_MAX)
		forget_oldest_interval(s);
}

static void forget_intervals(struct store *s)
{
	g_hash_table_remove_all(s->owned);
	s->owned_keys = 0;
}

/*
 * The group's rows into summary_l1: rows with new keys by COPY straight
 * into the table (as fast as PostgreSQL takes rows); rows whose key is
 * there (a late batch, a restarted sensor) through the staging table and
 * the merging INSERT.  A concurrent collector inserting one of the "new"
 * keys meanwhile makes COPY fail with a unique violation: retryable, and
 * the retry finds the key and merges.
 */
static int store_rows(struct store *s, GPtrArray *rows, char state[6],
		      GError **err)
{
	gint64 t0 = g_get_monotonic_time(), t1, t2;

	if (classify_rows(s, rows, state, err) != 0)
		return -1;
	t1 = g_get_monotonic_time();
	GPtrArray *fresh = g_ptr_array_sized_new(rows->len);
	GPtrArray *merge = g_ptr_array_new();
	int rc = 0;
	for (unsigned i = 0; i < rows->len; i++) {
		struct keyed_row *k = rows->pdata[i];
		g_ptr_array_add(k->exists ? merge : fresh, k);
	}
	if (fresh->len > 0)
		rc = copy_rows(s, s->copy_direct_sql, fresh, state, err);
	t2 = g_get_monotonic_time();
	if (rc == 0 && merge->len > 0) {
		rc = copy_rows(s, s->copy_sql, merge, state, err);
		if (rc == 0) {
			PGresult *res = PQexecPrepared(s->conn, "artmon_merge",
						       0, NULL, NULL, NULL, 0);
			rc = pg_check(s->conn, res, PGRES_COMMAND_OK, "merging "
				      "summary rows", state, err);
		}
	}
	/* -v: where a slow database spends its time. */
	log_debug("rows: %u new in %.1f ms, %u merged in %.1f ms (finding "
		  "them: %.1f ms)", fresh->len, (double)(t2 - t1) / 1000.0,
		  merge->len, (double)(g_get_monotonic_time() - t2) / 1000.0,
		  (double)(t1 - t0) / 1000.0);
	g_ptr_array_free(fresh, TRUE);
	g_ptr_array_free(merge, TRUE);
	return rc;
}

int store_batches(struct store *s, struct store_item *items, unsigned n,
		  bool *retryable, GError **err)
{
	char state[6] = "";
	GHashTable *ids = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTable *byk = g_hash_table_new_full(g_str_hash, g_str_equal,
						g_free, NULL);
	GPtrArray *rows = g_ptr_array_new_with_free_func(keyed_row_free);
	int *sids = g_new0(int, n ? n : 1);
	bool in_txn = false;
	int rc = -1;

	gint64 t_start = g_get_monotonic_time();

	*retryable = false;
	for (unsigned i = 0; i < n; i++)
		items[i].duplicate = false;
	if (!store_connection_ok(s)) {
		g_set_error(err, STORE_ERROR, 1, "not connected");
		*retryable = true;
		goto out;
	}
	if (ensure_days(s, items, n, state, err) != 0)
		goto fail;
	if (pg_exec(s->conn, "BEGIN", state, err) != 0)
		goto fail;
	in_txn = true;

	for (unsigned i = 0; i < n; i++) {
		struct store_item *it = &items[i];
		if ((sids[i] = sensor_id(s, ids, it->sensor, it->peer, state,
					 err)) < 0)
			goto fail;
		int isnew = record_batch(s, sids[i], it, state, err);
		if (isnew < 0)
			goto fail;
		it->duplicate = !isnew;
		if (!isnew)
			continue;
		for (unsigned j = 0; j < it->b->nrows; j++) {
			const struct summary_row *r = it->b->rows[j];
			char *key = row_key(sids[i], r);
			struct keyed_row *k = g_hash_table_lookup(byk, key);
			if (!k) {
				k = g_new0(struct keyed_row, 1);
				k->sensor_id = sids[i];
				k->first = r;
				k->count = 1;
				k->key = key;
				g_hash_table_insert(byk, key, k);
				g_ptr_array_add(rows, k);
				continue;
			}
			g_free(key);
			if (!k->merged)
				k->merged = row_copy(k->first);
			summary_row_merge(k->merged, r);
			k->count++;
		}
	}
	if (rows->len > 0 && store_rows(s, rows, state, err) != 0)
		goto fail;
	for (unsigned i = 0; i < n; i++)
		if (!items[i].duplicate && items[i].b->health &&
		    upsert_health(s, sids[i], items[i].b->health, state,
				  err) != 0)
			goto fail;
	if (pg_exec(s->conn, "COMMIT", state, err) != 0) {
		in_txn = false;	/* a failed COMMIT ends the transaction */
		goto fail;
	}
	remember_rows(s, rows);
	log_debug("stored %u batches, %u rows, in %.1f ms", n, rows->len,
		  (double)(g_get_monotonic_time() - t_start) / 1000.0);
	rc = 0;
	goto out;
fail:
	if (in_txn && store_connection_ok(s)) {
		PGresult *res = PQexec(s->conn, "ROLLBACK");
		PQclear(res);
	}
	*retryable = !store_connection_ok(s) || retryable_state(state);
	if (strcmp(state, "23514") == 0)
		g_hash_table_remove_all(s->days);	/* a partition vanished */
	/* Any failure: after a unique violation the cache was wrong. */
	forget_intervals(s);
	for (unsigned i = 0; i < n; i++)
		items[i].duplicate = false;
out:
	g_free(sids);
	g_ptr_array_free(rows, TRUE);
	g_hash_table_destroy(byk);
	g_hash_table_destroy(ids);
	return rc;
}
