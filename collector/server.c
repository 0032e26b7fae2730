/*
 * server.c: sensor connections on one GLib main loop; see server.h.
 *
 * Data flow: sensor -> TCP (-> TLS) -> [here: handshake, frames, batch
 * decoding] -> dbwriter -> PostgreSQL; verdicts come back here as
 * ACK/RETRY frames.
 *
 * One connection goes through:
 *
 *   accepted --TLS handshake--> HELLO sent --AUTH read, verified-->
 *   AUTH_OK sent --> frames: header (8 bytes) -> body -> header ...
 *
 * What a hostile or broken peer can make us spend, and the bound:
 *  - before authentication nothing is allocated but the struct conn,
 *    whose AUTH buffer is a fixed WIRE_AUTH_MAX bytes: the AUTH length
 *    is known from its first 9 bytes (wire_auth_expected_len);
 *  - a frame's size is checked from its 8 header bytes against
 *    max_frame before its buffer is allocated;
 *  - time: the handshake must finish within auth_timeout of the accept,
 *    a started frame within frame_timeout, and some frame must come
 *    within idle_timeout (sensors send a HEARTBEAT after 30 s of
 *    silence), so slow-drip and idle peers are closed;
 *  - connections: max_connections in all, max_unauthenticated of them
 *    not yet authenticated; beyond that an accept is closed at once;
 *  - output: a peer that sends but does not read our ACKs is closed
 *    when more than OUTQ_MAX bytes wait for it.
 * A malformed frame closes that connection only, with a reason logged at
 * most once per 10 s (backing off) per peer address.
 *
 * Timeouts are checked by one 1-second tick over all connections rather
 * than a timer per connection: re-arming a GSource per frame costs more
 * than scanning a few hundred deadlines once a second, and a second is
 * fine resolution for limits of 10 s and more.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <gio/gio.h>

#include "log.h"
#include "server.h"
#include "store.h"
#include "wire.h"

#define SERVER_ERROR g_quark_from_static_string("artmon-server")

/* A peer with this much output waiting is not reading: close it. */
#define OUTQ_MAX (1u << 20)
/* An ERROR frame gets this long to leave before the close. */
#define CLOSING_US (2 * G_USEC_PER_SEC)
/* Per-address complaint records kept at most (then forgotten). */
#define PEER_COMPLAINTS_MAX 4096

enum cstate {
	CS_TLS,		/* TLS handshake */
	CS_AUTH,	/* HELLO sent, reading AUTH */
	CS_READY,	/* authenticated: frames */
	CS_CLOSING,	/* an ERROR is on its way out; reading stopped */
	CS_CLOSED,
};

struct server;

struct conn {
	int ref;			/* main thread only */
	struct server *srv;
	GSocketConnection *sock;
	GIOStream *io;			/* sock, or the TLS connection on it */
	GCancellable *cancel;
	enum cstate state;
	bool counted_unauth;
	char peer[INET6_ADDRSTRLEN + 8];	/* addr:port, for messages */
	char addr[INET6_ADDRSTRLEN];		/* for artmon.sensors */
	char name[WIRE_NAME_MAX + 1];		/* once authenticated */

	uint8_t nonce[WIRE_NONCE_LEN];
	uint8_t auth[WIRE_AUTH_MAX];		/* the only pre-auth buffer */
	size_t auth_len;
	struct wire_session sess;
	uint8_t hdr[WIRE_HEADER_LEN];
	size_t hdr_len;				/* header bytes read so far */
	uint8_t *frame;				/* the frame being read */
	size_t frame_len;

	gint64 deadline;			/* monotonic us; 0: none */
	const char *deadline_what;
	gint64 last_send;
	GQueue outq;				/* GBytes, FIFO */
	size_t outq_bytes;
	bool writing;
	unsigned in_flight;			/* batches at the writer */
	GList *link;				/* in srv->conns */
};

struct server {
	const struct collector_config *cfg;
	GSocketService *service;
	GTlsCertificate *cert;
	GHashTable *keys;		/* name -> GBytes */
	struct dbwriter *w;
	GList *conns;			/* struct conn *, each holds a ref */
	GHashTable *by_name;		/* name -> conn (authenticated) */
	GHashTable *complaints;		/* peer address -> struct complaint */
	guint tick;
	uint16_t port;
	struct server_stats st;
	struct complaint refused;
};

static void read_auth_head(struct conn *c);
static void read_header(struct conn *c);

/* ----------------------------------------------------------------------
 * Connections: references, logging, closing
 */

static struct conn *conn_ref(struct conn *c)
{
	c->ref++;
	return c;
}

static void conn_unref(struct conn *c)
{
	if (--c->ref > 0)
		return;
	g_clear_object(&c->io);
	g_clear_object(&c->sock);
	g_clear_object(&c->cancel);
	g_queue_clear_full(&c->outq, (GDestroyNotify)g_bytes_unref);
	g_free(c->frame);
	wire_session_clear(&c->sess);
	explicit_bzero(c->auth, sizeof c->auth);
	g_free(c);
}

/* Rate-limited, per peer address: a flood from one address logs a few
 * lines, and other peers still get theirs. */
static void peer_complain(struct conn *c, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);

static void peer_complain(struct conn *c, const char *fmt, ...)
{
	struct server *s = c->srv;
	va_list ap;

	struct complaint *k = g_hash_table_lookup(s->complaints, c->addr);
	if (!k) {
		if (g_hash_table_size(s->complaints) >= PEER_COMPLAINTS_MAX)
			g_hash_table_remove_all(s->complaints);
		k = g_new0(struct complaint, 1);
		g_hash_table_insert(s->complaints, g_strdup(c->addr), k);
	}
	va_start(ap, fmt);
	g_autofree gchar *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	complain(k, "%s%s%s: %s", c->peer, *c->name ? " sensor " : "",
		 c->name, msg);
}

static void conn_close(struct conn *c)
{
	struct server *s = c->srv;

	if (c->state == CS_CLOSED)
		return;
	c->state = CS_CLOSED;
	g_cancellable_cancel(c->cancel);
	if (c->counted_unauth) {
		c->counted_unauth = false;
		s->st.unauthenticated--;
	}
	if (*c->name && g_hash_table_lookup(s->by_name, c->name) == c)
		g_hash_table_remove(s->by_name, c->name);
	/* The socket itself, at once: a TLS close_notify could wait for
	 * ever on a peer that does not read. */
	GSocket *sk = g_socket_connection_get_socket(c->sock);
	g_socket_close(sk, NULL);
	g_clear_pointer(&c->frame, g_free);
	s->conns = g_list_delete_link(s->conns, c->link);
	c->link = NULL;
	s->st.connections--;
	log_debug("%s: closed", c->peer);
	conn_unref(c);		/* the list's reference */
}

/* ----------------------------------------------------------------------
 * Output
 */

static void start_write(struct conn *c);

static void on_written(GObject *src, GAsyncResult *res, gpointer data)
{
	struct conn *c = data;
	GError *err = NULL;
	gsize n;

	c->writing = false;
	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, &n,
					      &err)) {
		if (c->state != CS_CLOSED)
			log_debug("%s: write: %s", c->peer, err->message);
		g_error_free(err);
		conn_close(c);
		conn_unref(c);
		return;
	}
	GBytes *b = g_queue_pop_head(&c->outq);
	c->outq_bytes -= g_bytes_get_size(b);
	g_bytes_unref(b);
	c->last_send = g_get_monotonic_time();
	if (c->state != CS_CLOSED) {
		if (!g_queue_is_empty(&c->outq))
			start_write(c);
		else if (c->state == CS_CLOSING)
			conn_close(c);
	}
	conn_unref(c);
}

static void start_write(struct conn *c)
{
	GBytes *b = g_queue_peek_head(&c->outq);
	gsize n;
	const void *p = g_bytes_get_data(b, &n);

	c->writing = true;
	g_output_stream_write_all_async(g_io_stream_get_output_stream(c->io),
					p, n, G_PRIORITY_DEFAULT, c->cancel,
					on_written, conn_ref(c));
}

/* Queue bytes (taking b); false if the connection was closed instead. */
static bool send_bytes(struct conn *c, GBytes *b)
{
	if (c->state == CS_CLOSED) {
		g_bytes_unref(b);
		return false;
	}
	c->outq_bytes += g_bytes_get_size(b);
	g_queue_push_tail(&c->outq, b);
	if (c->outq_bytes > OUTQ_MAX) {
		c->srv->st.not_reading++;
		peer_complain(c, "does not read what we send (%zu bytes "
			      "waiting): closing", c->outq_bytes);
		conn_close(c);
		return false;
	}
	if (!c->writing)
		start_write(c);
	return true;
}

static bool send_frame(struct conn *c, enum wire_type type,
		       const void *payload, size_t len)
{
	if (c->state != CS_READY && !(c->state == CS_CLOSING &&
				      type == WIRE_ERROR))
		return false;
	GBytes *f = wire_frame_build(&c->sess, type, payload, len);
	return f && send_bytes(c, f);
}

/* Send ERROR (if authenticated) and close once it has left, or after
 * CLOSING_US; before authentication there is no key to sign it with. */
static void close_with_error(struct conn *c, uint16_t code, const char *text)
{
	if (c->state != CS_READY) {
		conn_close(c);
		return;
	}
	GBytes *p = wire_error_payload(code, text);
	gsize n;
	const void *d = g_bytes_get_data(p, &n);
	c->state = CS_CLOSING;
	c->deadline = g_get_monotonic_time() + CLOSING_US;
	c->deadline_what = "closing";
	send_frame(c, WIRE_ERROR, d, n);
	g_bytes_unref(p);
	if (c->state == CS_CLOSING && !c->writing)
		conn_close(c);
}

/* ----------------------------------------------------------------------
 * Input
 */

/* Start reading n bytes into buf; cb gets a reference. */
static void read_into(struct conn *c, void *buf, size_t n,
		      GAsyncReadyCallback cb)
{
	g_input_stream_read_all_async(g_io_stream_get_input_stream(c->io), buf,
				      n, G_PRIORITY_DEFAULT, c->cancel, cb,
				      conn_ref(c));
}

/* Finish a read: true if all n bytes came; else closes (EOF, error). */
static bool read_done(struct conn *c, GObject *src, GAsyncResult *res,
		      size_t want, const char *what)
{
	GError *err = NULL;
	gsize got = 0;

	bool ok = g_input_stream_read_all_finish(G_INPUT_STREAM(src), res,
						 &got, &err);
	if (c->state == CS_CLOSED || c->state == CS_CLOSING) {
		g_clear_error(&err);
		return false;
	}
	if (!ok || got != want) {
		if (err)
			log_debug("%s: reading %s: %s", c->peer, what,
				  err->message);
		else if (got == 0 && c->state == CS_READY &&
			 strcmp(what, "a frame header") == 0)
			log_debug("%s: the sensor closed the connection",
				  c->peer);
		else
			peer_complain(c, "connection ended inside %s (%zu of "
				      "%zu bytes)", what, (size_t)got, want);
		g_clear_error(&err);
		conn_close(c);
		return false;
	}
	return true;
}

static void set_deadline(struct conn *c, int64_t ns, const char *what)
{
	c->deadline = g_get_monotonic_time() + ns / 1000;
	c->deadline_what = what;
}

/* ----------------------------------------------------------------------
 * Frames
 */

static void reply_id(struct conn *c, enum wire_type t,
		     const uint8_t id[WIRE_BATCH_ID_LEN])
{
	send_frame(c, t, id, WIRE_BATCH_ID_LEN);
}

static void on_batch(struct conn *c, const uint8_t *p, size_t len)
{
	struct server *s = c->srv;
	GError *err = NULL;
	uint8_t id[WIRE_BATCH_ID_LEN];
	char why[160];

	if (len < WIRE_BATCH_ID_LEN) {
		s->st.malformed++;
		peer_complain(c, "a BATCH of %zu bytes has no batch id", len);
		close_with_error(c, WIRE_E_PROTOCOL, "BATCH without a batch id");
		return;
	}
	struct summary_batch *b = wire_batch_decode(p, len, id, &err);
	if (b && !store_batch_valid(b, why, sizeof why)) {
		summary_batch_free(b);
		b = NULL;
		g_set_error(&err, SERVER_ERROR, WIRE_E_BAD_BATCH, "%s", why);
	}
	if (!b) {
		/* It will never decode: REJECT, so the sensor sets it aside
		 * rather than resending it for ever. */
		s->st.rejected++;
		memcpy(id, p, WIRE_BATCH_ID_LEN);
		peer_complain(c, "batch rejected: %s", err->message);
		GBytes *r = wire_reject_payload(id, WIRE_E_BAD_BATCH,
						err->message);
		gsize n;
		const void *d = g_bytes_get_data(r, &n);
		send_frame(c, WIRE_REJECT, d, n);
		g_bytes_unref(r);
		g_error_free(err);
		return;
	}
	s->st.batches++;
	log_debug("%s: batch of %u rows for %" G_GINT64_FORMAT "%s", c->peer,
		  b->nrows, b->interval_start, b->late ? " (late)" : "");
	if (dbwriter_submit(s->w, conn_ref(c), c->name, c->addr, id, b)) {
		c->in_flight++;
		return;
	}
	/* Database down or queue full: the sensor keeps it for later. */
	conn_unref(c);
	s->st.retries++;
	reply_id(c, WIRE_RETRY, id);
}

static void on_frame(struct conn *c, enum wire_type type, const uint8_t *p,
		     size_t len)
{
	struct server *s = c->srv;

	switch (type) {
	case WIRE_BATCH:
		on_batch(c, p, len);
		break;
	case WIRE_HEARTBEAT:
		break;
	case WIRE_ERROR: {
		uint16_t code = 0;
		char *text = NULL;
		if (wire_error_parse(p, len, &code, &text, NULL) == 0)
			log_info("%s sensor %s: closes with %s: %s", c->peer,
				 c->name, wire_code_name(code), text);
		g_free(text);
		conn_close(c);
		break;
	}
	default:
		s->st.malformed++;
		peer_complain(c, "unexpected %s frame: closing",
			      wire_type_name(type));
		close_with_error(c, WIRE_E_PROTOCOL, "unexpected frame type");
		break;
	}
}

static void on_body(GObject *src, GAsyncResult *res, gpointer data)
{
	struct conn *c = data;
	struct server *s = c->srv;
	GError *err = NULL;
	enum wire_type type;
	const uint8_t *p;
	size_t plen;

	if (!read_done(c, src, res, c->frame_len - WIRE_HEADER_LEN, "a frame"))
		goto out;
	if (wire_frame_open(&c->sess, c->frame, c->frame_len, &type, &p, &plen,
			    &err) != 0) {
		/* Forged, replayed, reordered or corrupted: the session is
		 * no longer trustworthy. */
		s->st.malformed++;
		peer_complain(c, "%s: closing", err->message);
		close_with_error(c, (uint16_t)err->code, err->message);
		g_error_free(err);
		goto out;
	}
	set_deadline(c, s->cfg->idle_timeout_ns, "idle");
	c->hdr_len = 0;
	on_frame(c, type, p, plen);
	g_clear_pointer(&c->frame, g_free);
	if (c->state == CS_READY)
		read_header(c);
out:
	conn_unref(c);
}

static void on_header(GObject *src, GAsyncResult *res, gpointer data)
{
	struct conn *c = data;
	struct server *s = c->srv;
	GError *err = NULL;

	gssize got = g_input_stream_read_finish(G_INPUT_STREAM(src), res, &err);
	if (c->state != CS_READY) {
		g_clear_error(&err);
		goto out;
	}
	if (got <= 0) {
		if (err)
			log_debug("%s: reading a frame header: %s", c->peer,
				  err->message);
		else if (c->hdr_len == 0)
			log_debug("%s: the sensor closed the connection",
				  c->peer);
		else
			peer_complain(c, "connection ended inside a frame "
				      "header (%zu of %d bytes)", c->hdr_len,
				      WIRE_HEADER_LEN);
		g_clear_error(&err);
		conn_close(c);
		goto out;
	}
	/* The first byte starts the frame: from now on it must be complete
	 * within frame_timeout, however slowly the rest trickles in. */
	if (c->hdr_len == 0)
		set_deadline(c, s->cfg->frame_timeout_ns, "a frame");
	c->hdr_len += (size_t)got;
	if (c->hdr_len < WIRE_HEADER_LEN) {
		read_header(c);
		goto out;
	}
	uint32_t len = wire_frame_length(c->hdr, s->cfg->max_frame, &err);
	if (len == 0) {
		if (err->code == WIRE_E_TOO_LARGE)
			s->st.too_large++;
		else
			s->st.malformed++;
		peer_complain(c, "%s: closing", err->message);
		close_with_error(c, (uint16_t)err->code, err->message);
		g_error_free(err);
		goto out;
	}
	/* The size is known to be acceptable: only now allocate. */
	c->frame_len = len;
	c->frame = g_malloc(len);
	memcpy(c->frame, c->hdr, WIRE_HEADER_LEN);
	read_into(c, c->frame + WIRE_HEADER_LEN, len - WIRE_HEADER_LEN,
		  on_body);
out:
	conn_unref(c);
}

/* Read what there is of the 8 header bytes (on_header loops): a partial
 * read, so the frame's deadline starts at its first byte. */
static void read_header(struct conn *c)
{
	g_input_stream_read_async(g_io_stream_get_input_stream(c->io),
				  c->hdr + c->hdr_len,
				  WIRE_HEADER_LEN - c->hdr_len,
				  G_PRIORITY_DEFAULT, c->cancel, on_header,
				  conn_ref(c));
}

/* ----------------------------------------------------------------------
 * Handshake
 */

static void authenticated(struct conn *c)
{
	struct server *s = c->srv;

	c->state = CS_READY;
	c->counted_unauth = false;
	s->st.unauthenticated--;
	s->st.authenticated++;
	struct conn *old = g_hash_table_lookup(s->by_name, c->name);
	if (old) {
		/* One connection per sensor: the newer one is the sensor
		 * that reconnected; the old one is dead or a leftover. */
		s->st.replaced++;
		log_info("%s sensor %s: replaces its connection from %s",
			 c->peer, c->name, old->peer);
		g_hash_table_remove(s->by_name, c->name);
		close_with_error(old, WIRE_E_REPLACED,
				 "a newer connection of this sensor");
	}
	g_hash_table_insert(s->by_name, c->name, c);
	log_info("%s: sensor %s authenticated%s", c->peer, c->name,
		 s->cert ? " (TLS)" : "");
	set_deadline(c, s->cfg->idle_timeout_ns, "idle");
	send_frame(c, WIRE_AUTH_OK, NULL, 0);
	if (c->state == CS_READY)
		read_header(c);
}

static void on_auth_rest(GObject *src, GAsyncResult *res, gpointer data)
{
	struct conn *c = data;
	struct server *s = c->srv;
	GError *err = NULL;
	char name[WIRE_NAME_MAX + 1];

	if (!read_done(c, src, res, c->auth_len - 9, "AUTH"))
		goto out;
	if (wire_auth_name(c->auth, c->auth_len, name, &err) != 0) {
		s->st.malformed++;
		peer_complain(c, "%s", err->message);
		conn_close(c);
		goto out;
	}
	GBytes *key = g_hash_table_lookup(s->keys, name);
	if (!key) {
		s->st.auth_failed++;
		peer_complain(c, "authentication failed: no key for sensor "
			      "'%s'", name);
		conn_close(c);
		goto out;
	}
	gsize kl;
	const uint8_t *k = g_bytes_get_data(key, &kl);
	if (wire_auth_verify(c->auth, c->auth_len, k, kl, c->nonce, &c->sess,
			     &err) != 0) {
		s->st.auth_failed++;
		peer_complain(c, "authentication failed for sensor '%s': %s",
			      name, err->message);
		conn_close(c);
		goto out;
	}
	g_strlcpy(c->name, name, sizeof c->name);
	authenticated(c);
out:
	g_clear_error(&err);
	conn_unref(c);
}

static void on_auth_head(GObject *src, GAsyncResult *res, gpointer data)
{
	struct conn *c = data;

	if (!read_done(c, src, res, 9, "AUTH"))
		goto out;
	c->auth_len = wire_auth_expected_len(c->auth, 9);
	if (c->auth_len <= 9 || c->auth_len > sizeof c->auth) {
		c->srv->st.malformed++;
		peer_complain(c, "not an artmon v%d AUTH (magic, version or "
			      "name length): closing", WIRE_VERSION);
		conn_close(c);
		goto out;
	}
	read_into(c, c->auth + 9, c->auth_len - 9, on_auth_rest);
out:
	conn_unref(c);
}

static void read_auth_head(struct conn *c)
{
	read_into(c, c->auth, 9, on_auth_head);
}

static void send_hello(struct conn *c)
{
	uint8_t hello[WIRE_HELLO_LEN];

	c->state = CS_AUTH;
	wire_hello_build(hello, c->nonce);
	if (send_bytes(c, g_bytes_new(hello, sizeof hello)))
		read_auth_head(c);
}

static void on_tls(GObject *src, GAsyncResult *res, gpointer data)
{
	struct conn *c = data;
	GError *err = NULL;

	if (!g_tls_connection_handshake_finish(G_TLS_CONNECTION(src), res,
					       &err)) {
		if (c->state != CS_CLOSED) {
			peer_complain(c, "TLS handshake: %s", err->message);
			conn_close(c);
		}
		g_error_free(err);
	} else if (c->state == CS_TLS) {
		send_hello(c);
	}
	conn_unref(c);
}

/* ----------------------------------------------------------------------
 * Accepting
 */

static void peer_names(struct conn *c)
{
	GSocketAddress *sa = g_socket_connection_get_remote_address(c->sock,
								     NULL);
	g_strlcpy(c->peer, "?", sizeof c->peer);
	g_strlcpy(c->addr, "", sizeof c->addr);
	if (sa && G_IS_INET_SOCKET_ADDRESS(sa)) {
		GInetSocketAddress *isa = G_INET_SOCKET_ADDRESS(sa);
		g_autofree gchar *a = g_inet_address_to_string(
			g_inet_socket_address_get_address(isa));
		guint16 port = g_inet_socket_address_get_port(isa);
		g_strlcpy(c->addr, a, sizeof c->addr);
		snprintf(c->peer, sizeof c->peer,
			 strchr(a, ':') ? "[%s]:%u" : "%s:%u", a, port);
	}
	g_clear_object(&sa);
}

static gboolean on_incoming(GSocketService *svc, GSocketConnection *sock,
			    GObject *source, gpointer data)
{
	struct server *s = data;
	const struct collector_config *cfg = s->cfg;

	s->st.accepted++;
	if (s->st.connections >= cfg->max_connections ||
	    s->st.unauthenticated >= cfg->max_unauthenticated) {
		if (s->st.connections >= cfg->max_connections)
			s->st.refused_full++;
		else
			s->st.refused_unauth++;
		complain(&s->refused, "refusing connections: %u open, %u of "
			 "them not authenticated (max_connections %u, "
			 "max_unauthenticated %u)", s->st.connections,
			 s->st.unauthenticated, cfg->max_connections,
			 cfg->max_unauthenticated);
		g_socket_close(g_socket_connection_get_socket(sock), NULL);
		return TRUE;
	}
	if (s->st.connections < cfg->max_connections / 2 &&
	    s->st.unauthenticated < cfg->max_unauthenticated / 2)
		complaint_release(&s->refused, "accepting connections again");

	struct conn *c = g_new0(struct conn, 1);
	c->ref = 1;			/* the list's */
	c->srv = s;
	c->sock = g_object_ref(sock);
	c->cancel = g_cancellable_new();
	g_queue_init(&c->outq);
	peer_names(c);
	c->link = s->conns = g_list_prepend(s->conns, c);
	s->st.connections++;
	s->st.unauthenticated++;
	c->counted_unauth = true;
	c->last_send = g_get_monotonic_time();
	set_deadline(c, cfg->auth_timeout_ns, "authentication");
	log_debug("%s: connected", c->peer);

	GSocket *sk = g_socket_connection_get_socket(sock);
	g_socket_set_option(sk, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
	g_socket_set_keepalive(sk, TRUE);

	if (s->cert) {
		GError *err = NULL;
		GIOStream *tls = g_tls_server_connection_new(G_IO_STREAM(sock),
							     s->cert, &err);
		if (!tls) {
			peer_complain(c, "TLS: %s", err->message);
			g_error_free(err);
			conn_close(c);
			return TRUE;
		}
		c->io = tls;
		c->state = CS_TLS;
		g_tls_connection_set_require_close_notify(G_TLS_CONNECTION(tls),
							  FALSE);
		g_tls_connection_handshake_async(G_TLS_CONNECTION(tls),
						 G_PRIORITY_DEFAULT, c->cancel,
						 on_tls, conn_ref(c));
	} else {
		c->io = G_IO_STREAM(g_object_ref(sock));
		send_hello(c);
	}
	return TRUE;
}

/* Deadlines and heartbeats, once a second. */
static gboolean on_tick(gpointer data)
{
	struct server *s = data;
	gint64 now = g_get_monotonic_time();
	int64_t hb = s->cfg->heartbeat_ns / 1000;

	for (GList *l = s->conns; l;) {
		struct conn *c = l->data;
		l = l->next;	/* c may leave the list */
		if (c->deadline && now >= c->deadline) {
			if (c->state == CS_TLS || c->state == CS_AUTH)
				s->st.timeouts_auth++;
			else if (c->frame || c->hdr_len)
				s->st.timeouts_frame++;
			else if (c->state == CS_READY)
				s->st.timeouts_idle++;
			if (c->state != CS_CLOSING)
				peer_complain(c, "timed out waiting for %s: "
					      "closing", c->deadline_what);
			c->deadline = 0;
			if (c->state == CS_READY)
				close_with_error(c, WIRE_E_TIMEOUT,
						 c->frame || c->hdr_len
						 ? "frame too slow"
						 : "nothing received");
			else
				conn_close(c);
			continue;
		}
		if (c->state == CS_READY && now - c->last_send >= hb &&
		    g_queue_is_empty(&c->outq)) {
			c->last_send = now;
			send_frame(c, WIRE_HEARTBEAT, NULL, 0);
		}
	}
	return G_SOURCE_CONTINUE;
}

/* ----------------------------------------------------------------------
 * API
 */

void server_on_verdict(void *owner, const uint8_t id[WIRE_BATCH_ID_LEN],
		       enum dbw_verdict v, void *data)
{
	struct conn *c = owner;
	struct server *s = data;

	c->in_flight--;
	if (c->state == CS_READY) {
		if (v == DBW_ACK)
			s->st.acks++;
		else
			s->st.retries++;
		reply_id(c, v == DBW_ACK ? WIRE_ACK : WIRE_RETRY, id);
	}
	/* The reference dbwriter_submit() was given: a conn_close() in
	 * reply_id() drops only the list's, so c lives until here.  The
	 * analyzer cannot count references.
	 * NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	conn_unref(c);
}

static void complaint_free(gpointer p)
{
	g_free(p);
}

struct server *server_new(const struct collector_config *cfg, GError **err)
{
	struct server *s = g_new0(struct server, 1);
	GSocketListener *l;

	s->cfg = cfg;
	s->keys = g_hash_table_ref(cfg->keys);
	s->by_name = g_hash_table_new(g_str_hash, g_str_equal);
	s->complaints = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      complaint_free);
	if (cfg->cert_file) {
		GTlsBackend *be = g_tls_backend_get_default();
		if (!be || !g_tls_backend_supports_tls(be)) {
			g_set_error(err, SERVER_ERROR, 1, "TLS is configured "
				    "but GIO has no TLS backend (Debian: "
				    "apt-get install glib-networking)");
			goto fail;
		}
		s->cert = g_tls_certificate_new_from_files(cfg->cert_file,
							   cfg->key_file, err);
		if (!s->cert) {
			g_prefix_error(err, "TLS certificate %s / key %s: ",
				       cfg->cert_file, cfg->key_file);
			goto fail;
		}
	}

	s->service = g_socket_service_new();
	l = G_SOCKET_LISTENER(s->service);
	g_socket_listener_set_backlog(l, 512);
	if (cfg->listen) {
		GInetAddress *a = g_inet_address_new_from_string(cfg->listen);
		if (!a) {
			g_set_error(err, SERVER_ERROR, 1, "listen: '%s' is not "
				    "an IPv4 or IPv6 address", cfg->listen);
			goto fail;
		}
		GSocketAddress *sa = g_inet_socket_address_new(a, cfg->port);
		GSocketAddress *eff = NULL;
		gboolean ok = g_socket_listener_add_address(
			l, sa, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
			NULL, &eff, err);
		g_object_unref(sa);
		g_object_unref(a);
		if (!ok) {
			g_prefix_error(err, "listen on %s port %u: ",
				       cfg->listen, cfg->port);
			goto fail;
		}
		s->port = g_inet_socket_address_get_port(
			G_INET_SOCKET_ADDRESS(eff));
		g_object_unref(eff);
	} else if (cfg->port == 0) {
		s->port = g_socket_listener_add_any_inet_port(l, NULL, err);
		if (!s->port)
			goto fail;
	} else {
		if (!g_socket_listener_add_inet_port(l, cfg->port, NULL, err)) {
			g_prefix_error(err, "listen on port %u: ", cfg->port);
			goto fail;
		}
		s->port = cfg->port;
	}
	/* Accepting starts with the main loop (server_start), after the
	 * privilege drop; meanwhile the kernel's backlog holds arrivals. */
	g_socket_service_stop(s->service);
	g_signal_connect(s->service, "incoming", G_CALLBACK(on_incoming), s);
	return s;
fail:
	server_free(s);
	return NULL;
}

void server_start(struct server *s, struct dbwriter *w)
{
	s->w = w;
	s->tick = g_timeout_add_seconds(1, on_tick, s);
	g_socket_service_start(s->service);
	log_info("listening on %s port %u%s", s->cfg->listen ? s->cfg->listen
							     : "every address",
		 s->port, s->cert ? " (TLS)" : "");
}

void server_set_keys(struct server *s, GHashTable *keys)
{
	GHashTable *old = s->keys;
	s->keys = g_hash_table_ref(keys);
	g_hash_table_unref(old);
}

uint16_t server_port(const struct server *s)
{
	return s->port;
}

void server_get_stats(const struct server *s, struct server_stats *st)
{
	*st = s->st;
}

void server_stop(struct server *s)
{
	if (s->service) {
		g_socket_service_stop(s->service);
		g_socket_listener_close(G_SOCKET_LISTENER(s->service));
	}
	if (s->tick) {
		g_source_remove(s->tick);
		s->tick = 0;
	}
	while (s->conns) {
		struct conn *c = s->conns->data;
		if (c->state == CS_READY) {
			GBytes *p = wire_error_payload(WIRE_E_SHUTDOWN,
						       "collector stopping");
			gsize n;
			const void *d = g_bytes_get_data(p, &n);
			/* Best effort, without waiting: we are going. */
			GBytes *f = wire_frame_build(&c->sess, WIRE_ERROR, d, n);
			if (f && !c->writing) {
				gsize fl;
				const void *fd = g_bytes_get_data(f, &fl);
				GSocket *sk = g_socket_connection_get_socket(c->sock);
				if (!s->cert)
					g_socket_send(sk, fd, fl, NULL, NULL);
			}
			if (f)
				g_bytes_unref(f);
			g_bytes_unref(p);
		}
		conn_close(c);
	}
}

void server_free(struct server *s)
{
	if (!s)
		return;
	server_stop(s);
	/* Let cancelled operations finish, so their references return. */
	while (g_main_context_pending(NULL))
		g_main_context_iteration(NULL, FALSE);
	g_clear_object(&s->service);
	g_clear_object(&s->cert);
	if (s->keys)
		g_hash_table_unref(s->keys);
	g_hash_table_destroy(s->by_name);
	g_hash_table_destroy(s->complaints);
	g_free(s);
}
