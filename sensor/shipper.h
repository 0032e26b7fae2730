/*
 * shipper.h: summary batches from the sensor to the collector.
 *
 * Two halves.  On the output thread, shipper_consume() (an output
 * consumer) splits each summary batch into wire batches of at most
 * SHIP_ROWS_PER_BATCH rows, gives each its id (docs/wire-protocol.md
 * section 8), encodes it and writes it to the spool, fsync'd.  On a
 * thread of its own, the shipper connects to the collector (TLS if
 * configured), authenticates, sends spooled batches oldest first with at
 * most SHIP_WINDOW unacknowledged, deletes each on its ACK, holds back
 * and resends on RETRY, sets aside on REJECT, keeps the connection alive
 * with heartbeats, and reconnects with backoff.  The packet thread never
 * waits for either.
 */
#ifndef ARTMON_SHIPPER_H
#define ARTMON_SHIPPER_H

#include <glib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "spool.h"
#include "summary_types.h"
#include "wire.h"

#define SHIP_ROWS_PER_BATCH 2000	/* rows per wire batch */
#define SHIP_WINDOW 8			/* batches in flight */
#define SHIP_RECV_MAX 65536		/* largest frame accepted */
#define SHIP_BACKOFF_MIN_SECS 1
#define SHIP_BACKOFF_MAX_SECS 60

/* [collector] in sensor.conf. */
struct ship_cfg {
	char *address;		/* host, host:port, [v6]:port; NULL: none */
	uint16_t port;		/* WIRE_PORT unless address has one */
	char *name;		/* this sensor's name (default: host name) */
	uint8_t *key;		/* shared key; wiped when cleared */
	size_t keylen;
	bool tls;
	char *ca_file;		/* CAs for the collector's certificate;
				 * NULL: the system's */
	char *cert_file;	/* client certificate and its key, optional */
	char *cert_key_file;
	char *server_name;	/* in the collector's certificate; NULL:
				 * the address's host */
	int64_t drain_ns;	/* at exit, time to deliver the spool (5 s) */
	int64_t heartbeat_ns;	/* HEARTBEAT after this silence (30 s) */
	int64_t dead_ns;	/* nothing heard this long: dead (120 s) */
};

void ship_cfg_default(struct ship_cfg *c);
void ship_cfg_clear(struct ship_cfg *c);
/* The shared key from its text: the bytes as written, surrounding
 * blanks removed; false if shorter than WIRE_KEY_MIN (or above 1 KiB). */
bool ship_key_from_text(const char *text, uint8_t **key, size_t *keylen);

/*
 * The run identity that goes into every batch id: reading a file, a hash
 * of its canonical path, size and mtime (a sensor restarted on the same
 * file makes the same ids, so the collector drops what it has); live, 16
 * random bytes.
 */
int ship_run_id(const char *read_file, uint8_t run_id[16], GError **err);

/* The batch id of a payload whose first 16 bytes are to hold it. */
void ship_batch_id(const char *name, const uint8_t run_id[16], uint64_t seq,
		   const uint8_t *payload, size_t len,
		   uint8_t id[WIRE_BATCH_ID_LEN]);

struct shipper;

/*
 * A shipper for cfg (copied) over sp (not owned).  Loads the TLS files
 * now, so a bad one stops the sensor at start.
 */
struct shipper *shipper_new(const struct ship_cfg *cfg, struct spool *sp,
			    const uint8_t run_id[16], GError **err);
/* Only check cfg's TLS files (for -n). */
int shipper_check(const struct ship_cfg *cfg, GError **err);

/* Output consumer (output thread): encode, identify, spool. */
void shipper_consume(void *ctx, const struct summary_batch *b);

/* Start the network thread (after detaching: threads do not fork). */
void shipper_start(struct shipper *sh);

/*
 * Deliver what the spool holds for at most drain_ns (returning as soon
 * as it is empty, or when *signals changes: a signal counter), then stop
 * the thread.  What is left stays in the spool for the next run.
 */
void shipper_finish(struct shipper *sh, int64_t drain_ns,
		    volatile sig_atomic_t *signals);
void shipper_free(struct shipper *sh);

/* Counters: batches spooled, sent, acknowledged, retried, ... */
void shipper_print_counters(struct shipper *sh, FILE *out);

#endif /* ARTMON_SHIPPER_H */
