/*
 * wire.h: the sensor-to-collector protocol (version 1), both ends.
 *
 * docs/wire-protocol.md is the normative description, with diagrams; this
 * header is its C face.  Summary: one TCP connection per sensor (optionally
 * TLS).  The collector speaks first with a HELLO carrying a random nonce;
 * the sensor answers AUTH: its name, its own nonce and an HMAC-SHA256 of
 * both under the sensor's shared key.  Both derive a session key from the
 * key and the two nonces; the collector proves it has the key too with
 * AUTH_OK.  From then on every frame in either direction carries an
 * HMAC-SHA256 under the session key over (direction, frame counter,
 * header, payload): the counter is implicit, so a frame can be neither
 * forged, replayed (in this session or another), reordered nor dropped
 * without detection.
 *
 * Frames after the handshake:
 *
 *    0                   4       5       6               8
 *   +-------------------+-------+-------+---------------+
 *   | length (u32 BE)   | type  | flags | reserved (0)  |
 *   +-------------------+-------+-------+---------------+
 *   | payload: length - 8 - 32 bytes                    |
 *   +---------------------------------------------------+
 *   | HMAC-SHA256(session key, dir, seq, header, payload) 32 bytes
 *   +---------------------------------------------------+
 *
 * length counts the whole frame; WIRE_FRAME_MIN <= length <= the
 * receiver's maximum (at most WIRE_FRAME_MAX, 16 MiB), checked before any
 * allocation.  dir is 'S' (sensor to collector) or 'C'; seq counts frames
 * per direction from 0 after AUTH_OK (AUTH_OK itself is C's frame 0).
 *
 * Everything here is pure computation on buffers: no sockets, no threads.
 * Decoders read through lib/cursor.h and reject anything that does not fit.
 *
 * Errors set a GError in WIRE_ERROR_DOMAIN whose code is an enum wire_code:
 * the code a receiver puts in the ERROR (or REJECT) frame it answers with.
 */
#ifndef ARTMON_WIRE_H
#define ARTMON_WIRE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "summary_types.h"

#define WIRE_VERSION 1
#define WIRE_MAGIC "ARTMON"		/* 6 bytes, no NUL on the wire */
#define WIRE_NONCE_LEN 32
#define WIRE_MAC_LEN 32
#define WIRE_KEY_MIN 16			/* shared keys: at least 16 bytes */
#define WIRE_NAME_MAX 64		/* sensor names: 1..64 of [A-Za-z0-9._-] */
#define WIRE_HEADER_LEN 8
#define WIRE_FRAME_MIN (WIRE_HEADER_LEN + WIRE_MAC_LEN)
#define WIRE_BATCH_ID_LEN 16
/* The largest frame anyone may send; every receiver accepts this much. */
#define WIRE_FRAME_MAX (16u << 20)
#define WIRE_PORT 7810			/* the collector's default TCP port */

/* Limits of the batch encoding (docs/wire-protocol.md, "Limits"). */
#define WIRE_BATCH_ROWS_MAX 10000	/* rows per WIRE_BATCH (sensors: 2000) */
#define WIRE_PROTO_MAX 32		/* protocol names: 1..32 [A-Za-z0-9_-] */
#define WIRE_SIG_MAX 255		/* signatures: 0..255 bytes UTF-8, no NUL */
#define WIRE_TEXT_MAX 1024		/* ERROR / REJECT text */
#define WIRE_HEALTH_FIELDS 18		/* health values a v1 sensor sends */

/* Timers, in seconds, both ends. */
#define WIRE_HANDSHAKE_SECS 15		/* for each handshake step */
#define WIRE_HEARTBEAT_SECS 30		/* send a HEARTBEAT after this silence */
#define WIRE_DEAD_SECS 120		/* nothing received this long: dead */

/* HELLO (collector -> sensor, before auth, no MAC): magic, version u16,
 * server nonce.  Fixed size. */
#define WIRE_HELLO_LEN (6 + 2 + WIRE_NONCE_LEN)
/* AUTH (sensor -> collector, no frame header): magic, version u16,
 * name length u8, name, client nonce, MAC.  At most this long: a
 * collector reads it into a fixed buffer, allocating nothing. */
#define WIRE_AUTH_MAX (6 + 2 + 1 + WIRE_NAME_MAX + WIRE_NONCE_LEN + WIRE_MAC_LEN)

enum wire_type {
	WIRE_AUTH_OK = 2,	/* C->S: collector knows the key; payload empty */
	WIRE_HEARTBEAT = 3,	/* both: keep-alive after 30 s of silence */
	WIRE_ERROR = 4,		/* both: u16 code, UTF-8 text; then close */
	WIRE_BATCH = 16,	/* S->C: one encoded summary batch */
	WIRE_ACK = 17,		/* C->S: batch id: committed in the database */
	WIRE_RETRY = 18,	/* C->S: batch id: not stored now, send later */
	/* C->S: batch id, u16 code, UTF-8 text: this batch can never be
	 * stored (it does not decode); the sensor sets it aside, counts
	 * and logs it, and goes on with the next.  Without it one bad
	 * batch would block a sensor's queue for ever. */
	WIRE_REJECT = 19,
};

/* Codes of ERROR and REJECT frames, and of GErrors in WIRE_ERROR_DOMAIN. */
enum wire_code {
	WIRE_E_PROTOCOL = 1,	/* malformed or unexpected frame */
	WIRE_E_TOO_LARGE = 2,	/* frame length above the receiver's max */
	WIRE_E_MAC = 3,		/* a MAC did not verify */
	WIRE_E_VERSION = 4,	/* no protocol version in common */
	WIRE_E_TIMEOUT = 5,	/* nothing received for WIRE_DEAD_SECS */
	WIRE_E_SHUTDOWN = 6,	/* the sender is stopping */
	WIRE_E_INTERNAL = 7,	/* the sender's own fault */
	WIRE_E_REPLACED = 8,	/* a newer connection of this sensor won */
	WIRE_E_BAD_BATCH = 9,	/* a batch payload does not decode */
};

/* Flags byte of a batch payload. */
#define WIRE_BATCH_LATE 0x01
#define WIRE_BATCH_HEALTH 0x02

enum wire_dir { WIRE_DIR_SENSOR = 'S', WIRE_DIR_COLLECTOR = 'C' };

/* One side's view of an authenticated session. */
struct wire_session {
	uint8_t key[32];	/* session key */
	uint64_t send_seq;	/* next frame counter we send */
	uint64_t recv_seq;	/* next frame counter we expect */
	char send_dir, recv_dir;
};

GQuark wire_error_quark(void);
#define WIRE_ERROR_DOMAIN wire_error_quark()

/* len bytes from the kernel's CSPRNG (getrandom(2)); cannot fail. */
void wire_random(void *buf, size_t len);

/* Wipe the session key. */
void wire_session_clear(struct wire_session *s);

/* True if name is a valid sensor name (1..WIRE_NAME_MAX of [A-Za-z0-9._-]). */
bool wire_name_valid(const char *name);

/* ---- handshake ---- */

/* Fill out[WIRE_HELLO_LEN] with a fresh random nonce (kept in nonce). */
void wire_hello_build(uint8_t out[WIRE_HELLO_LEN],
		      uint8_t nonce[WIRE_NONCE_LEN]);
int wire_hello_parse(const uint8_t *buf, size_t len,
		     uint8_t nonce[WIRE_NONCE_LEN], GError **err);

/* Sensor: AUTH for name/key answering server_nonce; returns its length,
 * 0 if name is not valid or keylen < WIRE_KEY_MIN. */
size_t wire_auth_build(uint8_t out[WIRE_AUTH_MAX], const char *name,
		       const uint8_t *key, size_t keylen,
		       const uint8_t server_nonce[WIRE_NONCE_LEN],
		       uint8_t client_nonce[WIRE_NONCE_LEN]);

/*
 * Collector, first step: how many bytes of AUTH are needed in total, from
 * the first 9 bytes received (magic, version, name length); 0 if those
 * are invalid.
 */
size_t wire_auth_expected_len(const uint8_t *buf, size_t len);

/* Collector: the name the AUTH claims (NUL-terminated into name). */
int wire_auth_name(const uint8_t *buf, size_t len,
		   char name[WIRE_NAME_MAX + 1], GError **err);

/* Collector: check AUTH's MAC with the key found for its name, in
 * constant time; on success fill the session (as the collector). */
int wire_auth_verify(const uint8_t *buf, size_t len, const uint8_t *key,
		     size_t keylen, const uint8_t server_nonce[WIRE_NONCE_LEN],
		     struct wire_session *s, GError **err);

/* Sensor: the session after sending AUTH (as the sensor). */
void wire_session_sensor(struct wire_session *s, const uint8_t *key,
			 size_t keylen,
			 const uint8_t server_nonce[WIRE_NONCE_LEN],
			 const uint8_t client_nonce[WIRE_NONCE_LEN]);

/* ---- frames ---- */

/* A whole frame (header, payload, MAC) for s; advances send_seq.  NULL
 * only if len does not fit in WIRE_FRAME_MAX. */
GBytes *wire_frame_build(struct wire_session *s, enum wire_type type,
			 const void *payload, size_t len);

/*
 * From the 8 header bytes: the frame's total length, or 0 (with err) if it
 * is below WIRE_FRAME_MIN, above max_frame, or the reserved bits are set.
 */
uint32_t wire_frame_length(const uint8_t hdr[WIRE_HEADER_LEN],
			   uint32_t max_frame, GError **err);

/*
 * Check a whole frame's MAC (constant time) against recv_seq, then
 * advance it.  On success *type, *payload (into frame) and *plen are set.
 */
int wire_frame_open(struct wire_session *s, const uint8_t *frame, size_t len,
		    enum wire_type *type, const uint8_t **payload,
		    size_t *plen, GError **err);

/* ---- batch payloads ---- */

/*
 * Encode b (with its 16-byte batch id) as a WIRE_BATCH payload.  Layout in
 * docs/wire-protocol.md; integers big-endian; counts of counters and
 * metrics are sent, so a newer sensor's extra values are skipped by an
 * older collector and a missing one reads as zero.  Rows and health are
 * sent without their own interval: they are the batch's.  NULL (and a
 * g_critical) only if b cannot be encoded: more than WIRE_BATCH_ROWS_MAX
 * rows, a protocol or signature name out of the limits below.
 */
GBytes *wire_batch_encode(const struct summary_batch *b,
			  const uint8_t id[WIRE_BATCH_ID_LEN]);

/*
 * Decode and check a WIRE_BATCH payload into a new batch (free with
 * summary_batch_free).  Every row and the health take the batch's
 * interval.  Memory is bounded by the payload: at most
 * WIRE_BATCH_ROWS_MAX rows, and no more than the bytes can hold.
 */
struct summary_batch *wire_batch_decode(const uint8_t *buf, size_t len,
					uint8_t id[WIRE_BATCH_ID_LEN],
					GError **err);

/* ---- small payloads ---- */

/* ACK and RETRY: exactly the batch id. */
int wire_id_parse(const uint8_t *buf, size_t len,
		  uint8_t id[WIRE_BATCH_ID_LEN], GError **err);

/* ERROR: u16 code, text (at most WIRE_TEXT_MAX bytes, cut if longer). */
GBytes *wire_error_payload(uint16_t code, const char *text);
/* *text: a new string, non-UTF-8 bytes replaced; free it. */
int wire_error_parse(const uint8_t *buf, size_t len, uint16_t *code,
		     char **text, GError **err);

/* REJECT: batch id, u16 code, text. */
GBytes *wire_reject_payload(const uint8_t id[WIRE_BATCH_ID_LEN],
			    uint16_t code, const char *text);
int wire_reject_parse(const uint8_t *buf, size_t len,
		      uint8_t id[WIRE_BATCH_ID_LEN], uint16_t *code,
		      char **text, GError **err);

/* Name of a frame type or code, for messages ("BATCH", "MAC"). */
const char *wire_type_name(unsigned type);
const char *wire_code_name(unsigned code);

#endif /* ARTMON_WIRE_H */
