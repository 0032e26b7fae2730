/*
 * server.h: the collector's network side: listening, TLS, the wire
 * protocol's handshake and frames, timeouts and caps, one GLib main loop
 * for every sensor connection.
 *
 * Decoded batches go to the DB writer (dbwriter.h); its verdicts come
 * back to server_on_verdict() on the main loop, which sends the ACK or
 * RETRY.  Nothing here waits for the database.
 */
#ifndef ARTMON_SERVER_H
#define ARTMON_SERVER_H

#include <glib.h>
#include <stdint.h>

#include "collector_conf.h"
#include "dbwriter.h"

struct server;

struct server_stats {
	uint64_t accepted, refused_full, refused_unauth;
	uint64_t authenticated, auth_failed, replaced;
	uint64_t timeouts_auth, timeouts_frame, timeouts_idle;
	uint64_t malformed, too_large, not_reading;
	uint64_t batches, rejected, acks, retries;
	uint32_t connections, unauthenticated;	/* now */
};

/*
 * Bind the listening socket(s) and load the TLS certificate: the steps
 * that may need root, done before dropping privileges.  cfg must outlive
 * the server; its keys may be replaced with server_set_keys().
 */
struct server *server_new(const struct collector_config *cfg, GError **err);

/* Start accepting on the thread-default main context; batches go to w. */
void server_start(struct server *s, struct dbwriter *w);

/* The dbw_reply_fn to give dbwriter_new(), with s as its data. */
void server_on_verdict(void *owner, const uint8_t id[WIRE_BATCH_ID_LEN],
		       enum dbw_verdict v, void *data);

/* Sensor keys (name -> GBytes), e.g. re-read on SIGHUP.  Takes a
 * reference; connections already authenticated are not affected. */
void server_set_keys(struct server *s, GHashTable *keys);

/* The port actually bound (useful with port 0 in tests). */
uint16_t server_port(const struct server *s);

void server_get_stats(const struct server *s, struct server_stats *st);

/* Stop accepting and close every connection (authenticated ones get an
 * ERROR "shutdown" frame first). */
void server_stop(struct server *s);
void server_free(struct server *s);

#endif /* ARTMON_SERVER_H */
