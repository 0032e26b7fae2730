/*
 * collector_conf.h: every setting of artmon-collector, from collector.conf and the
 * command line alike (etc/artmon/collector.conf documents each key).
 *
 * Groups: [collector] for the daemon, [sensors] for sensor keys
 * (name = key).  Keys may also come from key_dir: one file NAME.key per
 * sensor, readable by its owner only.  Keys are never logged and never
 * taken from the command line (where ps would show them).
 *
 * The file is parsed into a fresh struct, checked completely, and only
 * then used, so an error leaves nothing half-applied.  Security options
 * fail closed: no sensor key at all, a short key, a TLS certificate
 * without its key, a key file others can read: each is an error.
 */
#ifndef ARTMON_COLLECTOR_CONFIG_H
#define ARTMON_COLLECTOR_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define COLLECTOR_DEFAULT_PORT 7810

struct collector_config {
	char *listen;		/* address; NULL: every address */
	uint16_t port;
	char *cert_file, *key_file;	/* TLS when both are set */
	char *database;		/* libpq conninfo; "" or NULL: PG* env */
	char *sql_dir;		/* migrations, for --init-db */
	char *key_dir;		/* NAME.key files; NULL: none */
	GHashTable *keys;	/* sensor name -> GBytes key */

	uint32_t max_frame;		/* bytes, 16 MiB */
	int64_t auth_timeout_ns;	/* accept to AUTH verified, 10 s */
	int64_t frame_timeout_ns;	/* a started frame completes, 30 s */
	int64_t idle_timeout_ns;	/* no frame at all, 120 s */
	int64_t heartbeat_ns;		/* we send one after this silence, 30 s */
	uint32_t max_connections;	/* 512 */
	uint32_t max_unauthenticated;	/* 64 */

	uint32_t queue_batches;		/* waiting for the DB writer, 4096 */
	uint64_t queue_rows;		/* their summary rows, 500000 */
	uint32_t transaction_rows;	/* rows per DB transaction, 8000 */
	int64_t reconnect_max_ns;	/* DB reconnect back-off cap, 30 s */

	bool foreground;
	char *pidfile;
	char *user, *group;
	int verbose;
};

void collector_config_default(struct collector_config *c);
void collector_config_clear(struct collector_config *c);

/*
 * Read [collector] and [sensors] from kf (and key_dir) into c, which holds
 * the defaults.  origin names the file in messages.  need_keys: fail when
 * no sensor key is configured (the daemon; not --init-db).
 */
int collector_config_parse(struct collector_config *c, GKeyFile *kf,
			   const char *origin, bool need_keys, GError **err);

#endif /* ARTMON_COLLECTOR_CONFIG_H */
