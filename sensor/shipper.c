/*
 * shipper.c: summary batches to the collector, through the spool.
 *
 * Place in the data flow: summary -> output thread -> [shipper_consume ->
 * spool] -> [shipper thread] -> TCP/TLS -> collector.  The protocol is
 * docs/wire-protocol.md; lib/wire.c does every byte of it, this file does
 * the sockets, the timers and the bookkeeping.
 *
 * Output thread.  shipper_consume() cuts a summary batch into wire batches
 * of at most 2000 rows (health with the first), encodes each, computes its
 * id, and writes it to the spool (fsync'd) before anything is sent.
 *
 * Shipper thread.  One connection at a time, blocking GIO calls bounded by
 * socket timeouts and a GCancellable, and one poll() over the socket, an
 * eventfd the spool pokes when a batch is added, and the cancellable's fd.
 * Reads are non-blocking and drain the stream every time, so bytes TLS
 * has already decrypted are never left waiting for the socket to become
 * readable again.  Writes block (at most dead_timeout, or until
 * cancelled): ACKs are small, so the collector can always make progress
 * while we write.
 *
 * What this file does not do: decide what a batch contains (summary.c),
 * store it (spool.c), or encode it (wire.c).  It never deletes a batch
 * except on its ACK (and REJECT moves it aside).
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "shipper.h"

#define SEC G_USEC_PER_SEC

struct inflight {
	uint64_t seq;			/* in the spool */
	uint8_t id[WIRE_BATCH_ID_LEN];
	bool retry;			/* RETRY received: resend after hold */
};

struct conn {
	struct shipper *sh;
	GSocketConnectable *identity;	/* TLS: the name to check */
	GSocketConnection *sc;
	GIOStream *io;			/* sc, or the TLS connection over it */
	GSocket *sock;
	GInputStream *in;
	GOutputStream *out;
	struct wire_session ws;
	GByteArray *rx;
	int64_t last_rx, last_tx;	/* monotonic us */
};

struct counters {
	atomic_uint_fast64_t sent, resent, acked, retried, rejected;
	atomic_uint_fast64_t connects, connect_failures, unencodable;
};

struct shipper {
	struct ship_cfg cfg;
	struct spool *sp;
	uint8_t run_id[16];
	uint64_t run_seq;		/* output thread only */
	GList *cas;			/* ca_file's certificates, or NULL */
	GTlsDatabase *system_ca;	/* without ca_file: the system's */
	GTlsCertificate *cert;
	GThread *thread;
	GCancellable *cancel;
	int wakefd;
	GMutex lock;
	GCond cond;
	bool draining, exited;		/* under lock */
	struct counters n;
	struct complaint outage, retrying, spool_err;	/* own threads */
	char *where;			/* "address:port", for messages */
};

/* ----------------------------------------------------------------------
 * Configuration
 */

void ship_cfg_default(struct ship_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->port = WIRE_PORT;
	c->drain_ns = 5 * (int64_t)1000000000;
	c->heartbeat_ns = WIRE_HEARTBEAT_SECS * (int64_t)1000000000;
	c->dead_ns = WIRE_DEAD_SECS * (int64_t)1000000000;
}

void ship_cfg_clear(struct ship_cfg *c)
{
	g_free(c->address);
	g_free(c->name);
	if (c->key)
		explicit_bzero(c->key, c->keylen);
	g_free(c->key);
	g_free(c->ca_file);
	g_free(c->cert_file);
	g_free(c->cert_key_file);
	g_free(c->server_name);
	memset(c, 0, sizeof *c);
}

static void cfg_copy(struct ship_cfg *dst, const struct ship_cfg *src)
{
	*dst = *src;
	dst->address = g_strdup(src->address);
	dst->name = g_strdup(src->name);
	dst->key = g_memdup2(src->key, src->keylen);
	dst->ca_file = g_strdup(src->ca_file);
	dst->cert_file = g_strdup(src->cert_file);
	dst->cert_key_file = g_strdup(src->cert_key_file);
	dst->server_name = g_strdup(src->server_name);
}

/* The key is the text's bytes as written (surrounding blanks removed),
 * as the collector reads its [sensors] entries and key files: the same
 * string on both ends is the same key. */
bool ship_key_from_text(const char *text, uint8_t **key, size_t *keylen)
{
	const char *b = text, *e = text + strlen(text);

	while (b < e && g_ascii_isspace(*b))
		b++;
	while (e > b && g_ascii_isspace(e[-1]))
		e--;
	size_t n = (size_t)(e - b);
	if (n < WIRE_KEY_MIN || n > 1024)
		return false;
	*key = g_memdup2(b, n);
	*keylen = n;
	return true;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

int ship_run_id(const char *read_file, uint8_t run_id[16], GError **err)
{
	if (!read_file) {
		wire_random(run_id, 16);
		return 0;
	}
	struct stat sb;
	char *real = realpath(read_file, NULL);
	if (!real || stat(real, &sb) != 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    "%s: %s", read_file, g_strerror(errno));
		free(real);
		return -1;
	}
	static const char label[] = "artmon run v1 file";
	uint8_t num[8 + 8 + 4], digest[32];
	gsize dlen = sizeof digest;
	put_be64(num, (uint64_t)sb.st_size);
	put_be64(num + 8, (uint64_t)(int64_t)sb.st_mtim.tv_sec);
	num[16] = (uint8_t)(sb.st_mtim.tv_nsec >> 24);
	num[17] = (uint8_t)(sb.st_mtim.tv_nsec >> 16);
	num[18] = (uint8_t)(sb.st_mtim.tv_nsec >> 8);
	num[19] = (uint8_t)sb.st_mtim.tv_nsec;
	GChecksum *h = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(h, (const guchar *)label, sizeof label - 1);
	g_checksum_update(h, (const guchar *)real, (gssize)strlen(real) + 1);
	g_checksum_update(h, num, sizeof num);
	g_checksum_get_digest(h, digest, &dlen);
	g_checksum_free(h);
	memcpy(run_id, digest, 16);
	free(real);
	return 0;
}

void ship_batch_id(const char *name, const uint8_t run_id[16], uint64_t seq,
		   const uint8_t *payload, size_t len,
		   uint8_t id[WIRE_BATCH_ID_LEN])
{
	static const char label[] = "artmon batch id v1";
	uint8_t nl = (uint8_t)strlen(name), sq[8], digest[32];
	gsize dlen = sizeof digest;

	put_be64(sq, seq);
	GChecksum *h = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(h, (const guchar *)label, sizeof label - 1);
	g_checksum_update(h, &nl, 1);
	g_checksum_update(h, (const guchar *)name, nl);
	g_checksum_update(h, run_id, 16);
	g_checksum_update(h, sq, 8);
	if (len > WIRE_BATCH_ID_LEN)
		g_checksum_update(h, payload + WIRE_BATCH_ID_LEN,
				  (gssize)(len - WIRE_BATCH_ID_LEN));
	g_checksum_get_digest(h, digest, &dlen);
	g_checksum_free(h);
	memcpy(id, digest, WIRE_BATCH_ID_LEN);
}

/*
 * The CA file is read now, as root, into memory, and the collector's
 * certificate is checked against it in accept-certificate: a
 * GTlsFileDatabase would re-read the file at each handshake, as the
 * unprivileged user, who may not be able to.
 */
static int load_tls(const struct ship_cfg *cfg, GList **cas,
		    GTlsDatabase **system_ca, GTlsCertificate **cert,
		    GError **err)
{
	*cas = NULL;
	*system_ca = NULL;
	*cert = NULL;
	if (!cfg->tls)
		return 0;
	GTlsBackend *be = g_tls_backend_get_default();
	if (!g_tls_backend_supports_tls(be)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "[collector] tls: GIO has no TLS backend (install "
			    "glib-networking)");
		return -1;
	}
	if (cfg->ca_file) {
		*cas = g_tls_certificate_list_new_from_file(cfg->ca_file, err);
		if (!*cas) {
			if (err && !*err)
				g_set_error(err, G_IO_ERROR,
					    G_IO_ERROR_INVALID_DATA,
					    "no certificate in it");
			g_prefix_error(err, "[collector] ca_file %s: ",
				       cfg->ca_file);
			return -1;
		}
	} else {
		*system_ca = g_tls_backend_get_default_database(be);
	}
	if (cfg->cert_file) {
		*cert = g_tls_certificate_new_from_files(
			cfg->cert_file,
			cfg->cert_key_file ? cfg->cert_key_file : cfg->cert_file,
			err);
		if (!*cert) {
			g_prefix_error(err, "[collector] tls_cert_file %s: ",
				       cfg->cert_file);
			g_list_free_full(*cas, g_object_unref);
			*cas = NULL;
			g_clear_object(system_ca);
			return -1;
		}
	}
	return 0;
}

int shipper_check(const struct ship_cfg *cfg, GError **err)
{
	GList *cas;
	GTlsDatabase *system_ca;
	GTlsCertificate *cert;

	if (load_tls(cfg, &cas, &system_ca, &cert, err) != 0)
		return -1;
	g_list_free_full(cas, g_object_unref);
	g_clear_object(&system_ca);
	g_clear_object(&cert);
	return 0;
}

/* ----------------------------------------------------------------------
 * The output thread's half
 */

static void spool_one(struct shipper *sh, const struct summary_batch *part)
{
	static const uint8_t zero[WIRE_BATCH_ID_LEN];
	GError *err = NULL;
	gsize len;

	GBytes *enc = wire_batch_encode(part, zero);
	if (!enc) {
		/* A bug upstream (a name out of the protocol's limits):
		 * counted and logged; wire_batch_encode said what. */
		atomic_fetch_add(&sh->n.unencodable, 1);
		return;
	}
	uint8_t *p = g_bytes_unref_to_data(enc, &len);
	ship_batch_id(sh->cfg.name, sh->run_id, sh->run_seq++, p, len, p);
	if (spool_add(sh->sp, p, len, &err) != 0) {
		complain(&sh->spool_err, "cannot spool a batch (it is lost, "
			 "and counted as dropped): %s", err->message);
		g_error_free(err);
	} else {
		complaint_release(&sh->spool_err, "spooling batches again");
	}
	g_free(p);
}

void shipper_consume(void *ctx, const struct summary_batch *b)
{
	struct shipper *sh = ctx;
	struct health_row h;
	unsigned off = 0;

	/* At least one part, so an interval without rows still carries
	 * its health. */
	do {
		struct summary_batch part = *b;
		part.nrows = MIN(b->nrows - off, SHIP_ROWS_PER_BATCH);
		part.rows = off ? b->rows + off : b->rows;
		part.health = NULL;
		if (off == 0 && b->health) {
			/* Batches the spool dropped since the last health
			 * row went into it.  Counted here, as the batch is
			 * spooled, rather than when the summarizer sealed
			 * the row: reading a file, every row is sealed
			 * before the first drop, and the count would reach
			 * no row at all.  (-S prints the row as sealed.) */
			h = *b->health;
			h.spool_dropped += spool_take_dropped(sh->sp);
			part.health = &h;
		}
		spool_one(sh, &part);
		off += part.nrows;
	} while (off < b->nrows);
}

/* ----------------------------------------------------------------------
 * The connection
 */

static double jitter(double secs)
{
	return secs * g_random_double_range(0.75, 1.25);
}

static bool draining(struct shipper *sh)
{
	g_mutex_lock(&sh->lock);
	bool d = sh->draining;
	g_mutex_unlock(&sh->lock);
	return d;
}

static void conn_free(struct conn *c, bool graceful)
{
	if (!c)
		return;
	if (graceful && c->io) {
		/* TLS: close_notify, so the collector sees a clean end. */
		g_socket_set_timeout(c->sock, 2);
		g_io_stream_close(c->io, NULL, NULL);
	}
	if (c->sock)
		g_socket_close(c->sock, NULL);	/* no lingering on a dead peer */
	if (c->io && c->io != G_IO_STREAM(c->sc))
		g_object_unref(c->io);
	g_clear_object(&c->sc);
	if (c->rx)
		g_byte_array_free(c->rx, TRUE);
	g_clear_object(&c->identity);
	wire_session_clear(&c->ws);
	g_free(c);
}

static int write_all(struct shipper *sh, struct conn *c, const void *buf,
		     size_t len, GError **err)
{
	gsize done = 0;
	if (!g_output_stream_write_all(c->out, buf, len, &done, sh->cancel, err))
		return -1;
	c->last_tx = g_get_monotonic_time();
	return 0;
}

static int send_frame(struct shipper *sh, struct conn *c, enum wire_type t,
		      const void *payload, size_t len, GError **err)
{
	GBytes *f = wire_frame_build(&c->ws, t, payload, len);
	gsize n;
	const void *p = g_bytes_get_data(f, &n);
	int rc = write_all(sh, c, p, n, err);
	g_bytes_unref(f);
	return rc;
}

/* Best effort, then the caller closes: not cancellable (we may be
 * stopping), but bounded by a short socket timeout. */
static void send_error(struct shipper *sh, struct conn *c, enum wire_code code,
		       const char *text)
{
	GBytes *pl = wire_error_payload((uint16_t)code, text);
	gsize n, done;
	const void *p = g_bytes_get_data(pl, &n);
	GBytes *f = wire_frame_build(&c->ws, WIRE_ERROR, p, n);
	const void *fp = g_bytes_get_data(f, &n);

	g_socket_set_timeout(c->sock, 2);
	g_output_stream_write_all(c->out, fp, n, &done, NULL, NULL);
	g_bytes_unref(f);
	g_bytes_unref(pl);
}

static int read_exact(struct shipper *sh, struct conn *c, void *buf,
		      size_t len, const char *what, GError **err)
{
	gsize got = 0;

	if (!g_input_stream_read_all(c->in, buf, len, &got, sh->cancel, err))
		return -1;
	if (got < len) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
			    "the collector closed the connection %s", what);
		return -1;
	}
	return 0;
}

/*
 * The collector's certificate against ca_file: the chain up to one of its
 * certificates, the dates, and the name.  Whatever GIO found wrong
 * without a database (an unknown CA, at least) is replaced by this.
 */
static gboolean on_accept_certificate(GTlsConnection *tls,
				      GTlsCertificate *peer,
				      GTlsCertificateFlags errors,
				      gpointer data)
{
	struct conn *c = data;

	for (GList *l = c->sh->cas; l; l = l->next)
		if (g_tls_certificate_verify(peer, c->identity, l->data) == 0)
			return TRUE;
	return FALSE;
}

static struct conn *connect_tcp(struct shipper *sh, GError **err)
{
	struct conn *c = g_new0(struct conn, 1);
	GSocketClient *cl = g_socket_client_new();

	/* Resolved on every attempt: the collector may have moved.  No
	 * proxies: a sensor talks to its collector directly, and the proxy
	 * resolver would load desktop settings modules as the run user. */
	g_socket_client_set_timeout(cl, WIRE_HANDSHAKE_SECS);
	g_socket_client_set_enable_proxy(cl, FALSE);
	c->sh = sh;
	c->sc = g_socket_client_connect_to_host(cl, sh->cfg.address,
						sh->cfg.port, sh->cancel, err);
	g_object_unref(cl);
	if (!c->sc) {
		g_free(c);
		return NULL;
	}
	c->sock = g_socket_connection_get_socket(c->sc);
	c->io = G_IO_STREAM(c->sc);
	g_socket_set_timeout(c->sock, WIRE_HANDSHAKE_SECS);
	if (sh->cfg.tls) {
		if (sh->cfg.server_name) {
			c->identity = g_network_address_new(sh->cfg.server_name,
							    sh->cfg.port);
		} else {
			c->identity = g_network_address_parse(
				sh->cfg.address, sh->cfg.port, err);
			if (!c->identity)
				goto fail;
		}
		GIOStream *tls = g_tls_client_connection_new(c->io, c->identity,
							     err);
		if (!tls)
			goto fail;
		c->io = tls;
		/* With ca_file: no database, so GIO asks accept-certificate,
		 * which checks against ca_file's certificates.  Without: the
		 * system's CAs, checked by GIO.  Either way a certificate
		 * that fails makes the handshake fail. */
		g_tls_connection_set_database(G_TLS_CONNECTION(tls),
					      sh->system_ca);
		if (sh->cas)
			g_signal_connect(tls, "accept-certificate",
					 G_CALLBACK(on_accept_certificate), c);
		if (sh->cert)
			g_tls_connection_set_certificate(G_TLS_CONNECTION(tls),
							 sh->cert);
		if (!g_tls_connection_handshake(G_TLS_CONNECTION(tls),
						sh->cancel, err)) {
			g_prefix_error(err, "TLS: ");
			goto fail;
		}
	}
	c->in = g_io_stream_get_input_stream(c->io);
	c->out = g_io_stream_get_output_stream(c->io);
	return c;
fail:
	conn_free(c, false);
	return NULL;
}

/* TCP (and TLS), HELLO, AUTH, AUTH_OK: an authenticated connection. */
static struct conn *ship_connect(struct shipper *sh, GError **err)
{
	uint8_t hello[WIRE_HELLO_LEN], sn[WIRE_NONCE_LEN], cn[WIRE_NONCE_LEN];
	uint8_t auth[WIRE_AUTH_MAX], hdr[WIRE_HEADER_LEN];
	struct conn *c = connect_tcp(sh, err);

	if (!c)
		return NULL;
	if (read_exact(sh, c, hello, sizeof hello, "before its HELLO", err) ||
	    wire_hello_parse(hello, sizeof hello, sn, err))
		goto fail;
	size_t alen = wire_auth_build(auth, sh->cfg.name, sh->cfg.key,
				      sh->cfg.keylen, sn, cn);
	g_assert(alen > 0);	/* settings checked the name and key */
	if (write_all(sh, c, auth, alen, err))
		goto fail;
	wire_session_sensor(&c->ws, sh->cfg.key, sh->cfg.keylen, sn, cn);
	explicit_bzero(auth, sizeof auth);

	if (read_exact(sh, c, hdr, sizeof hdr,
		       "after our AUTH (unknown sensor name, wrong key, or a "
		       "protocol version it does not speak?)", err))
		goto fail;
	uint32_t flen = wire_frame_length(hdr, SHIP_RECV_MAX, err);
	if (!flen)
		goto fail;
	uint8_t *frame = g_malloc(flen);
	memcpy(frame, hdr, sizeof hdr);
	enum wire_type t;
	const uint8_t *pl;
	size_t plen;
	int rc = read_exact(sh, c, frame + sizeof hdr, flen - sizeof hdr,
			    "during AUTH_OK", err);
	if (rc == 0 && wire_frame_open(&c->ws, frame, flen, &t, &pl, &plen,
				       err) != 0) {
		g_clear_error(err);
		g_set_error(err, WIRE_ERROR_DOMAIN, WIRE_E_MAC,
			    "the collector failed to prove it knows our key "
			    "(a different key there, or not our collector): "
			    "not sending to it");
		rc = -1;
	}
	if (rc == 0 && (t != WIRE_AUTH_OK || plen != 0)) {
		g_set_error(err, WIRE_ERROR_DOMAIN, WIRE_E_PROTOCOL,
			    "expected AUTH_OK, got %s", wire_type_name(t));
		rc = -1;
	}
	g_free(frame);
	if (rc)
		goto fail;
	c->rx = g_byte_array_new();
	c->last_rx = c->last_tx = g_get_monotonic_time();
	/* From now on only writes block, for at most this long. */
	g_socket_set_timeout(c->sock,
			     (guint)MAX(1, sh->cfg.dead_ns / 1000000000));
	return c;
fail:
	conn_free(c, false);
	return NULL;
}

/* ----------------------------------------------------------------------
 * The session: batches out, answers in
 */

struct session {
	struct shipper *sh;
	struct conn *c;
	struct inflight fl[SHIP_WINDOW];
	unsigned nfl;
	int64_t hold_until;		/* after a RETRY: send nothing before */
	double retry_backoff;		/* seconds */
	char *why;			/* why it ended */
	bool stopping;			/* it ended because we stop */
};

static struct inflight *find(struct session *s, const uint8_t *id)
{
	for (unsigned i = 0; i < s->nfl; i++)
		if (memcmp(s->fl[i].id, id, WIRE_BATCH_ID_LEN) == 0)
			return &s->fl[i];
	return NULL;
}

static void forget_inflight(struct session *s, struct inflight *f)
{
	/* Keep the array in send order (oldest first) for resends. */
	unsigned i = (unsigned)(f - s->fl);
	memmove(&s->fl[i], &s->fl[i + 1], (s->nfl - i - 1) * sizeof *f);
	s->nfl--;
}

static char *id_hex(const uint8_t *id)
{
	return g_strdup_printf("%02x%02x%02x%02x%02x%02x%02x%02x", id[0], id[1],
			       id[2], id[3], id[4], id[5], id[6], id[7]);
}

static int end(struct session *s, enum wire_code code, char *why)
{
	if (code)
		send_error(s->sh, s->c, code, why);
	if (!s->why)
		s->why = why;
	else
		g_free(why);
	return -1;
}

/* One frame from the collector. */
static int dispatch(struct session *s, enum wire_type t, const uint8_t *p,
		    size_t n)
{
	struct shipper *sh = s->sh;
	uint8_t id[WIRE_BATCH_ID_LEN];
	uint16_t code;
	char *text = NULL;
	GError *err = NULL;
	struct inflight *f;

	switch (t) {
	case WIRE_HEARTBEAT:
		if (n)
			break;
		return 0;
	case WIRE_ACK:
		if (wire_id_parse(p, n, id, &err))
			break;
		if (!(f = find(s, id))) {
			g_autofree char *h = id_hex(id);
			log_debug("collector %s: ACK for %s, not in flight",
				  sh->where, h);
			return 0;
		}
		spool_remove(sh->sp, f->seq);
		forget_inflight(s, f);
		atomic_fetch_add(&sh->n.acked, 1);
		s->retry_backoff = SHIP_BACKOFF_MIN_SECS;
		complaint_release(&sh->retrying, "collector %s: storing "
				  "batches again", sh->where);
		return 0;
	case WIRE_RETRY:
		if (wire_id_parse(p, n, id, &err))
			break;
		if (!(f = find(s, id)))
			return 0;
		f->retry = true;
		atomic_fetch_add(&sh->n.retried, 1);
		complain(&sh->retrying, "collector %s cannot store batches "
			 "now (RETRY): they wait in the spool", sh->where);
		/* One hold per episode: the window's other RETRYs, which
		 * arrive together, join it instead of doubling it again. */
		int64_t now = g_get_monotonic_time();
		if (s->hold_until <= now) {
			s->hold_until = now + (int64_t)(jitter(s->retry_backoff) *
							SEC);
			s->retry_backoff = MIN(s->retry_backoff * 2,
					       SHIP_BACKOFF_MAX_SECS);
		}
		return 0;
	case WIRE_REJECT:
		if (wire_reject_parse(p, n, id, &code, &text, &err))
			break;
		if ((f = find(s, id))) {
			g_autofree char *h = id_hex(id);
			log_warnx("collector %s rejected batch %s for good "
				  "(%s: %s): moved to the spool's rejected/",
				  sh->where, h, wire_code_name(code), text);
			spool_set_aside(sh->sp, f->seq);
			forget_inflight(s, f);
			atomic_fetch_add(&sh->n.rejected, 1);
		}
		g_free(text);
		return 0;
	case WIRE_ERROR:
		if (wire_error_parse(p, n, &code, &text, &err))
			break;
		end(s, 0, g_strdup_printf("the collector closed the session: "
					  "%s: %s", wire_code_name(code), text));
		g_free(text);
		return -1;
	default:
		return end(s, WIRE_E_PROTOCOL,
			   g_strdup_printf("unexpected %s (type %u) from the "
					   "collector", wire_type_name(t), (unsigned)t));
	}
	char *why = g_strdup_printf("bad %s from the collector: %s",
				    wire_type_name(t),
				    err ? err->message : "payload not empty");
	g_clear_error(&err);
	return end(s, WIRE_E_PROTOCOL, why);
}

/* Read what is there (never waiting) and act on each whole frame. */
static int receive(struct session *s)
{
	struct conn *c = s->c;
	GPollableInputStream *pin = G_POLLABLE_INPUT_STREAM(c->in);
	uint8_t buf[16384];
	GError *err = NULL;

	for (;;) {
		gssize r = g_pollable_input_stream_read_nonblocking(
			pin, buf, sizeof buf, s->sh->cancel, &err);
		if (r < 0) {
			if (g_error_matches(err, G_IO_ERROR,
					    G_IO_ERROR_WOULD_BLOCK)) {
				g_clear_error(&err);
				break;
			}
			char *why = g_strdup_printf("read: %s", err->message);
			g_error_free(err);
			return end(s, 0, why);
		}
		if (r == 0)
			return end(s, 0, g_strdup("the collector closed the "
						  "connection"));
		g_byte_array_append(c->rx, buf, (guint)r);
		/* Whole frames out of rx.  It holds less than one frame
		 * plus one read: SHIP_RECV_MAX bounds a frame. */
		while (c->rx->len >= WIRE_HEADER_LEN) {
			uint32_t flen = wire_frame_length(c->rx->data,
							  SHIP_RECV_MAX, &err);
			if (!flen) {
				enum wire_code code = (enum wire_code)err->code;
				char *why = g_strdup_printf(
					"from the collector: %s", err->message);
				g_error_free(err);
				return end(s, code, why);
			}
			if (c->rx->len < flen)
				break;
			enum wire_type t;
			const uint8_t *pl;
			size_t plen;
			if (wire_frame_open(&c->ws, c->rx->data, flen, &t, &pl,
					    &plen, &err) != 0) {
				char *why = g_strdup_printf(
					"from the collector: %s", err->message);
				g_error_free(err);
				return end(s, WIRE_E_MAC, why);
			}
			/* Alive means whole, authentic frames: bytes that
			 * trickle in without ever making one do not count. */
			c->last_rx = g_get_monotonic_time();
			if (dispatch(s, t, pl, plen) != 0)
				return -1;
			g_byte_array_remove_range(c->rx, 0, flen);
		}
	}
	return 0;
}

static int send_batch(struct session *s, uint64_t seq, bool again)
{
	struct shipper *sh = s->sh;
	GError *err = NULL;
	gsize n;

	GBytes *pl = spool_read(sh->sp, seq, &err);
	if (!pl) {
		/* Damaged (the spool moved it aside and said so) or gone. */
		log_debug("spool: %s", err->message);
		g_error_free(err);
		return 1;
	}
	const uint8_t *p = g_bytes_get_data(pl, &n);
	if (!again) {
		struct inflight *f = &s->fl[s->nfl++];
		f->seq = seq;
		memcpy(f->id, p, WIRE_BATCH_ID_LEN);
		f->retry = false;
	}
	int rc = send_frame(sh, s->c, WIRE_BATCH, p, n, &err);
	g_bytes_unref(pl);
	if (rc) {
		char *why = g_strdup_printf("write: %s", err->message);
		g_error_free(err);
		return end(s, 0, why);
	}
	atomic_fetch_add(again ? &sh->n.resent : &sh->n.sent, 1);
	return 0;
}

static int send_what_we_can(struct session *s)
{
	uint64_t seq;

	if (g_get_monotonic_time() < s->hold_until)
		return 0;
	/* First what the collector asked for again, oldest first. */
	for (unsigned i = 0; i < s->nfl; i++) {
		if (!s->fl[i].retry)
			continue;
		s->fl[i].retry = false;
		int rc = send_batch(s, s->fl[i].seq, true);
		if (rc < 0)
			return -1;
		if (rc > 0)
			forget_inflight(s, &s->fl[i--]);
	}
	while (s->nfl < SHIP_WINDOW && spool_take(s->sh->sp, &seq))
		if (send_batch(s, seq, false) < 0)
			return -1;
	return 0;
}

static void drain_wakefd(struct shipper *sh)
{
	uint64_t v;
	while (read(sh->wakefd, &v, sizeof v) > 0)
		;
}

static void run_session(struct shipper *sh, struct conn *c)
{
	struct session s = { .sh = sh, .c = c,
			     .retry_backoff = SHIP_BACKOFF_MIN_SECS };
	int sfd = g_socket_get_fd(c->sock);
	int cfd = g_cancellable_get_fd(sh->cancel);

	for (;;) {
		if (g_cancellable_is_cancelled(sh->cancel)) {
			s.stopping = true;
			end(&s, WIRE_E_SHUTDOWN, g_strdup("the sensor is "
							  "stopping"));
			break;
		}
		if (receive(&s) || send_what_we_can(&s))
			break;
		/* Stopping, and the spool is delivered: done. */
		if (draining(sh) && s.nfl == 0 && spool_count(sh->sp) == 0) {
			s.stopping = true;
			end(&s, WIRE_E_SHUTDOWN, g_strdup("the sensor is "
							  "stopping"));
			break;
		}
		int64_t now = g_get_monotonic_time();
		int64_t hb = sh->cfg.heartbeat_ns / 1000, dead = sh->cfg.dead_ns / 1000;
		if (now - c->last_tx >= hb &&
		    send_frame(sh, c, WIRE_HEARTBEAT, NULL, 0, NULL) != 0) {
			end(&s, 0, g_strdup("write failed"));
			break;
		}
		if (now - c->last_rx >= dead) {
			end(&s, WIRE_E_TIMEOUT, g_strdup_printf(
				    "nothing from the collector for %.0f s",
				    (double)dead / SEC));
			break;
		}
		/* Sleep until a frame, a new batch, a timer, or stop. */
		int64_t wake = MIN(c->last_tx + hb, c->last_rx + dead);
		if (s.hold_until > now)
			wake = MIN(wake, s.hold_until);
		int timeout = wake > now ? (int)((wake - now + 999) / 1000) : 0;
		struct pollfd pfd[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = sh->wakefd, .events = POLLIN },
			{ .fd = cfd, .events = POLLIN },
		};
		if (poll(pfd, cfd >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR) {
			end(&s, 0, g_strdup_printf("poll: %s",
						   g_strerror(errno)));
			break;
		}
		if (pfd[1].revents)
			drain_wakefd(sh);
	}
	g_cancellable_release_fd(sh->cancel);
	if (s.why && !s.stopping && !g_cancellable_is_cancelled(sh->cancel))
		complain(&sh->outage, "collector %s: %s; reconnecting (batches "
			 "wait in the spool)", sh->where, s.why);
	else if (s.why)
		log_debug("collector %s: %s", sh->where, s.why);
	g_free(s.why);
}

/* Sleep secs, or until cancelled. */
static void backoff_sleep(struct shipper *sh, double secs)
{
	int cfd = g_cancellable_get_fd(sh->cancel);
	int64_t until = g_get_monotonic_time() + (int64_t)(secs * SEC);

	for (;;) {
		int64_t now = g_get_monotonic_time();
		if (now >= until || g_cancellable_is_cancelled(sh->cancel))
			break;
		struct pollfd p = { .fd = cfd, .events = POLLIN };
		poll(&p, cfd >= 0 ? 1 : 0, (int)((until - now + 999) / 1000));
	}
	g_cancellable_release_fd(sh->cancel);
}

static gpointer ship_thread(gpointer data)
{
	struct shipper *sh = data;
	double backoff = SHIP_BACKOFF_MIN_SECS;

	while (!g_cancellable_is_cancelled(sh->cancel)) {
		GError *err = NULL;

		if (draining(sh) && spool_count(sh->sp) == 0)
			break;
		struct conn *c = ship_connect(sh, &err);
		if (!c) {
			atomic_fetch_add(&sh->n.connect_failures, 1);
			if (!g_cancellable_is_cancelled(sh->cancel))
				complain(&sh->outage, "collector %s: %s "
					 "(retrying; batches wait in the "
					 "spool)", sh->where, err->message);
			g_error_free(err);
			backoff_sleep(sh, jitter(backoff));
			backoff = MIN(backoff * 2, SHIP_BACKOFF_MAX_SECS);
			continue;
		}
		atomic_fetch_add(&sh->n.connects, 1);
		complaint_release(&sh->outage, "collector %s: connected again",
				  sh->where);
		log_debug("collector %s: authenticated as %s", sh->where,
			  sh->cfg.name);
		backoff = SHIP_BACKOFF_MIN_SECS;
		run_session(sh, c);
		conn_free(c, !g_cancellable_is_cancelled(sh->cancel));
		/* Unacknowledged batches go again, oldest first. */
		spool_untake_all(sh->sp);
	}
	g_mutex_lock(&sh->lock);
	sh->exited = true;
	g_cond_broadcast(&sh->cond);
	g_mutex_unlock(&sh->lock);
	return NULL;
}

/* ----------------------------------------------------------------------
 * API
 */

static void on_spooled(void *ctx)
{
	struct shipper *sh = ctx;
	uint64_t one = 1;
	ssize_t r = write(sh->wakefd, &one, sizeof one);
	(void)r;	/* EAGAIN: it is awake already */
}

struct shipper *shipper_new(const struct ship_cfg *cfg, struct spool *sp,
			    const uint8_t run_id[16], GError **err)
{
	struct shipper *sh = g_new0(struct shipper, 1);

	cfg_copy(&sh->cfg, cfg);
	sh->sp = sp;
	memcpy(sh->run_id, run_id, 16);
	sh->wakefd = -1;
	g_mutex_init(&sh->lock);
	g_cond_init(&sh->cond);
	sh->cancel = g_cancellable_new();
	sh->where = strchr(cfg->address, ':') ? g_strdup(cfg->address)
		    : g_strdup_printf("%s:%u", cfg->address, cfg->port);
	if (load_tls(cfg, &sh->cas, &sh->system_ca, &sh->cert, err) != 0)
		goto fail;
	sh->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sh->wakefd < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    "eventfd: %s", g_strerror(errno));
		goto fail;
	}
	spool_set_notify(sp, on_spooled, sh);
	return sh;
fail:
	shipper_free(sh);
	return NULL;
}

void shipper_start(struct shipper *sh)
{
	sh->thread = g_thread_new("artmon-shipper", ship_thread, sh);
}

void shipper_finish(struct shipper *sh, int64_t drain_ns,
		    volatile sig_atomic_t *signals)
{
	if (!sh || !sh->thread)
		return;
	sig_atomic_t seen = signals ? *signals : 0;
	int64_t deadline = g_get_monotonic_time() + drain_ns / 1000;
	uint64_t held = spool_count(sh->sp);
	if (held && drain_ns > 0)
		log_info("delivering %" G_GUINT64_FORMAT " batches to the "
			 "collector (for at most %.1f s; a signal stops it)",
			 held, (double)drain_ns / 1e9);
	g_mutex_lock(&sh->lock);
	sh->draining = true;
	g_mutex_unlock(&sh->lock);
	on_spooled(sh);		/* wake it to notice */
	g_mutex_lock(&sh->lock);
	while (!sh->exited && g_get_monotonic_time() < deadline &&
	       !(signals && *signals != seen)) {
		/* Short waits: a signal changes *signals, no broadcast. */
		int64_t until = MIN(deadline, g_get_monotonic_time() +
					      SEC / 5);
		g_cond_wait_until(&sh->cond, &sh->lock, until);
	}
	g_mutex_unlock(&sh->lock);
	g_cancellable_cancel(sh->cancel);
	g_thread_join(sh->thread);
	sh->thread = NULL;
	uint64_t left = spool_count(sh->sp);
	if (left)
		log_info("%" G_GUINT64_FORMAT " batches stay in the spool for "
			 "the next run", left);
}

void shipper_free(struct shipper *sh)
{
	if (!sh)
		return;
	shipper_finish(sh, 0, NULL);
	if (sh->sp)
		spool_set_notify(sh->sp, NULL, NULL);
	if (sh->wakefd >= 0)
		close(sh->wakefd);
	g_list_free_full(sh->cas, g_object_unref);
	g_clear_object(&sh->system_ca);
	g_clear_object(&sh->cert);
	g_clear_object(&sh->cancel);
	g_mutex_clear(&sh->lock);
	g_cond_clear(&sh->cond);
	ship_cfg_clear(&sh->cfg);
	g_free(sh->where);
	g_free(sh);
}

void shipper_print_counters(struct shipper *sh, FILE *out)
{
	struct spool_stats st;

	spool_get_stats(sh->sp, &st);
	fprintf(out, "batches spooled: %" G_GUINT64_FORMAT " (%"
		G_GUINT64_FORMAT " found from an earlier run)\n", st.spooled,
		st.loaded);
	fprintf(out, "batches sent: %" PRIuFAST64 " (resent %" PRIuFAST64
		")\n", atomic_load(&sh->n.sent), atomic_load(&sh->n.resent));
	fprintf(out, "batches acknowledged: %" PRIuFAST64 "\n",
		atomic_load(&sh->n.acked));
	fprintf(out, "batches retried: %" PRIuFAST64 "\n",
		atomic_load(&sh->n.retried));
	fprintf(out, "batches rejected: %" PRIuFAST64 "\n",
		atomic_load(&sh->n.rejected));
	fprintf(out, "batches dropped: %" G_GUINT64_FORMAT " (spool full or "
		"unwritable; %" PRIuFAST64 " unencodable)\n", st.dropped,
		atomic_load(&sh->n.unencodable));
	fprintf(out, "spool files damaged: %" G_GUINT64_FORMAT "\n",
		st.corrupt);
	fprintf(out, "spool: %" G_GUINT64_FORMAT " batches, %" G_GUINT64_FORMAT
		" bytes\n", st.files, st.bytes);
	fprintf(out, "collector connections: %" PRIuFAST64 " (%" PRIuFAST64
		" failed attempts)\n", atomic_load(&sh->n.connects),
		atomic_load(&sh->n.connect_failures));
}
