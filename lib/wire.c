/*
 * wire.c: the sensor-to-collector protocol, version 1: the handshake, the
 * authenticated frames and the batch codec.
 *
 * Place in the data flow: summary -> [wire] -> TCP -> collector.  The
 * sensor's spool stores batches in this encoding too, so what is on disk
 * is byte for byte what goes on the wire.  docs/wire-protocol.md is the
 * normative description, with a diagram of every structure; the comments
 * here say how the code keeps to it.
 *
 * Pure computation on buffers: no sockets, no threads, no clocks.  Every
 * read of received bytes goes through a cursor (lib/cursor.h).  A decoder
 * checks each declared length against what remains before reading or
 * allocating, bounds every count by the bytes that would have to follow
 * it, and insists that the input ends exactly where the structure does:
 * trailing bytes are as wrong as missing ones.
 *
 * HMAC-SHA256 comes from GLib (GHmac); MACs are compared in constant time.
 * Nonces come from getrandom(2).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cursor.h"
#include "log.h"
#include "wire.h"

G_DEFINE_QUARK(artmon-wire-error-quark, wire_error)

/* Labels of the two keyed derivations (docs/wire-protocol.md, "Keys"). */
#define AUTH_LABEL "artmon auth v1"
#define SESSION_LABEL "artmon session v1"

/* Offsets in AUTH. */
#define AUTH_FIXED 9		/* magic, version, name length */

/* Every u64 value on the wire fits PostgreSQL's bigint. */
#define VALUE_MAX ((uint64_t)INT64_MAX)
/* 9999-12-31T23:59:59Z: PostgreSQL's timestamps go further, people don't. */
#define INTERVAL_START_MAX INT64_C(253402300799)
#define INTERVAL_SECS_MAX 86400

/* ----------------------------------------------------------------------
 * Internal helpers
 */

static int fail(GError **err, enum wire_code code, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static int fail(GError **err, enum wire_code code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		gchar *msg = g_strdup_vprintf(fmt, ap);
		va_end(ap);
		g_set_error_literal(err, WIRE_ERROR_DOMAIN, (gint)code, msg);
		g_free(msg);
	}
	return -1;
}

void wire_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(p + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	if (got == len)
		return;
	/* ENOSYS: a kernel before 3.17.  /dev/urandom is as good there. */
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (got < len)
		fatal("no random bytes from getrandom(2) or /dev/urandom");
}

/* HMAC-SHA256 of the concatenation of n (pointer, length) parts. */
struct part {
	const void *p;
	size_t len;
};

static void hmac_parts(const uint8_t *key, size_t keylen,
		       const struct part *parts, size_t n,
		       uint8_t out[WIRE_MAC_LEN])
{
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, key, keylen);
	gsize outlen = WIRE_MAC_LEN;

	for (size_t i = 0; i < n; i++)
		if (parts[i].len)
			g_hmac_update(h, parts[i].p, (gssize)parts[i].len);
	g_hmac_get_digest(h, out, &outlen);
	g_hmac_unref(h);
	g_assert(outlen == WIRE_MAC_LEN);
}

/* Constant time: the time taken does not depend on where a and b differ. */
static bool mac_equal(const uint8_t *a, const uint8_t *b)
{
	volatile uint8_t d = 0;

	for (size_t i = 0; i < WIRE_MAC_LEN; i++)
		d = (uint8_t)(d | (a[i] ^ b[i]));
	return d == 0;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static void ba_u8(GByteArray *a, uint8_t v)
{
	g_byte_array_append(a, &v, 1);
}

static void ba_be16(GByteArray *a, uint16_t v)
{
	uint8_t b[2];
	put_be16(b, v);
	g_byte_array_append(a, b, 2);
}

static void ba_be32(GByteArray *a, uint32_t v)
{
	uint8_t b[4];
	put_be32(b, v);
	g_byte_array_append(a, b, 4);
}

static void ba_be64(GByteArray *a, uint64_t v)
{
	uint8_t b[8];
	put_be64(b, v);
	g_byte_array_append(a, b, 8);
}

static void ba_bytes(GByteArray *a, const void *p, size_t n)
{
	if (n)
		g_byte_array_append(a, p, (guint)n);
}

bool wire_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n < 1 || n > WIRE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(name[i]) && name[i] != '.' &&
		    name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

static bool name_bytes_valid(const uint8_t *p, size_t n)
{
	char buf[WIRE_NAME_MAX + 1];

	if (n < 1 || n > WIRE_NAME_MAX || memchr(p, '\0', n))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return wire_name_valid(buf);
}

void wire_session_clear(struct wire_session *s)
{
	explicit_bzero(s, sizeof *s);
}

/* ----------------------------------------------------------------------
 * Handshake
 *
 *   HELLO  "ARTMON" | version u16 | server nonce[32]                (40)
 *   AUTH   "ARTMON" | version u16 | n u8 | name[n] | client nonce[32]
 *          | HMAC-SHA256(K, "artmon auth v1" | server nonce
 *                           | AUTH up to the MAC)              (73 + n)
 *   session key = HMAC-SHA256(K, "artmon session v1" | server nonce
 *                                | client nonce)
 */

void wire_hello_build(uint8_t out[WIRE_HELLO_LEN],
		      uint8_t nonce[WIRE_NONCE_LEN])
{
	wire_random(nonce, WIRE_NONCE_LEN);
	memcpy(out, WIRE_MAGIC, 6);
	put_be16(out + 6, WIRE_VERSION);
	memcpy(out + 8, nonce, WIRE_NONCE_LEN);
}

int wire_hello_parse(const uint8_t *buf, size_t len,
		     uint8_t nonce[WIRE_NONCE_LEN], GError **err)
{
	struct cursor c;
	const uint8_t *magic;
	uint16_t version;

	cur_init(&c, buf, len);
	if (len != WIRE_HELLO_LEN)
		return fail(err, WIRE_E_PROTOCOL, "HELLO is %zu bytes, not %d",
			    len, WIRE_HELLO_LEN);
	cur_bytes(&c, 6, &magic);
	cur_be16(&c, &version);
	cur_copy(&c, nonce, WIRE_NONCE_LEN);
	if (c.bad || memcmp(magic, WIRE_MAGIC, 6) != 0)
		return fail(err, WIRE_E_PROTOCOL,
			    "not an artmon collector (no ARTMON in its greeting)");
	/* The collector's version is the highest it speaks; we answer with
	 * ours and let it decide.  0 is no version at all. */
	if (version < 1)
		return fail(err, WIRE_E_VERSION,
			    "collector speaks protocol version %u", version);
	return 0;
}

static void auth_mac(const uint8_t *key, size_t keylen,
		     const uint8_t server_nonce[WIRE_NONCE_LEN],
		     const uint8_t *auth, size_t auth_len_before_mac,
		     uint8_t mac[WIRE_MAC_LEN])
{
	struct part parts[] = {
		{ AUTH_LABEL, sizeof AUTH_LABEL - 1 },
		{ server_nonce, WIRE_NONCE_LEN },
		{ auth, auth_len_before_mac },
	};
	hmac_parts(key, keylen, parts, G_N_ELEMENTS(parts), mac);
}

static void session_init(struct wire_session *s, const uint8_t *key,
			 size_t keylen,
			 const uint8_t server_nonce[WIRE_NONCE_LEN],
			 const uint8_t client_nonce[WIRE_NONCE_LEN],
			 char me, char peer)
{
	struct part parts[] = {
		{ SESSION_LABEL, sizeof SESSION_LABEL - 1 },
		{ server_nonce, WIRE_NONCE_LEN },
		{ client_nonce, WIRE_NONCE_LEN },
	};
	memset(s, 0, sizeof *s);
	hmac_parts(key, keylen, parts, G_N_ELEMENTS(parts), s->key);
	s->send_seq = 0;
	s->recv_seq = 0;
	s->send_dir = me;
	s->recv_dir = peer;
}

size_t wire_auth_build(uint8_t out[WIRE_AUTH_MAX], const char *name,
		       const uint8_t *key, size_t keylen,
		       const uint8_t server_nonce[WIRE_NONCE_LEN],
		       uint8_t client_nonce[WIRE_NONCE_LEN])
{
	if (!wire_name_valid(name) || keylen < WIRE_KEY_MIN)
		return 0;
	size_t n = strlen(name);
	size_t off = 0;

	wire_random(client_nonce, WIRE_NONCE_LEN);
	memcpy(out, WIRE_MAGIC, 6);
	put_be16(out + 6, WIRE_VERSION);
	out[8] = (uint8_t)n;
	off = AUTH_FIXED;
	memcpy(out + off, name, n);
	off += n;
	memcpy(out + off, client_nonce, WIRE_NONCE_LEN);
	off += WIRE_NONCE_LEN;
	auth_mac(key, keylen, server_nonce, out, off, out + off);
	return off + WIRE_MAC_LEN;
}

size_t wire_auth_expected_len(const uint8_t *buf, size_t len)
{
	if (len < AUTH_FIXED || memcmp(buf, WIRE_MAGIC, 6) != 0)
		return 0;
	uint16_t version = (uint16_t)((buf[6] << 8) | buf[7]);
	uint8_t n = buf[8];
	if (version != WIRE_VERSION || n < 1 || n > WIRE_NAME_MAX)
		return 0;
	return AUTH_FIXED + n + WIRE_NONCE_LEN + WIRE_MAC_LEN;
}

/* Check AUTH's structure; point at its parts. */
static int auth_split(const uint8_t *buf, size_t len, const uint8_t **name,
		      size_t *name_len, const uint8_t **client_nonce,
		      const uint8_t **mac, GError **err)
{
	struct cursor c;
	const uint8_t *magic;
	uint16_t version;
	uint8_t n;

	cur_init(&c, buf, len);
	cur_bytes(&c, 6, &magic);
	cur_be16(&c, &version);
	cur_u8(&c, &n);
	if (c.bad || memcmp(magic, WIRE_MAGIC, 6) != 0)
		return fail(err, WIRE_E_PROTOCOL, "AUTH: no ARTMON magic");
	if (version != WIRE_VERSION)
		return fail(err, WIRE_E_VERSION,
			    "AUTH: protocol version %u (this end speaks %d)",
			    version, WIRE_VERSION);
	if (!cur_bytes(&c, n, name) || !cur_bytes(&c, WIRE_NONCE_LEN,
						  client_nonce) ||
	    !cur_bytes(&c, WIRE_MAC_LEN, mac))
		return fail(err, WIRE_E_PROTOCOL, "AUTH: truncated (%zu bytes)",
			    len);
	if (cur_remaining(&c))
		return fail(err, WIRE_E_PROTOCOL,
			    "AUTH: %zu bytes after the MAC", cur_remaining(&c));
	if (!name_bytes_valid(*name, n))
		return fail(err, WIRE_E_PROTOCOL,
			    "AUTH: the sensor name is not 1..%d of "
			    "[A-Za-z0-9._-]", WIRE_NAME_MAX);
	*name_len = n;
	return 0;
}

int wire_auth_name(const uint8_t *buf, size_t len,
		   char name[WIRE_NAME_MAX + 1], GError **err)
{
	const uint8_t *np, *cn, *mac;
	size_t n;

	if (auth_split(buf, len, &np, &n, &cn, &mac, err) != 0)
		return -1;
	/* auth_split() set np and n when it returned 0; the analyzer does
	 * not see it, as it does not inline variadic fail().
	 * NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
	memcpy(name, np, n);
	name[n] = '\0';
	return 0;
}

int wire_auth_verify(const uint8_t *buf, size_t len, const uint8_t *key,
		     size_t keylen, const uint8_t server_nonce[WIRE_NONCE_LEN],
		     struct wire_session *s, GError **err)
{
	const uint8_t *np, *cn, *mac;
	uint8_t want[WIRE_MAC_LEN];
	size_t n;

	if (auth_split(buf, len, &np, &n, &cn, &mac, err) != 0)
		return -1;
	if (keylen < WIRE_KEY_MIN)
		return fail(err, WIRE_E_INTERNAL, "key shorter than %d bytes",
			    WIRE_KEY_MIN);
	auth_mac(key, keylen, server_nonce, buf, len - WIRE_MAC_LEN, want);
	/* Set by auth_split() (see wire_auth_name()).
	 * NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
	bool ok = mac_equal(want, mac);
	explicit_bzero(want, sizeof want);
	if (!ok)
		return fail(err, WIRE_E_MAC,
			    "AUTH: the MAC does not verify (wrong key?)");
	session_init(s, key, keylen, server_nonce, cn, WIRE_DIR_COLLECTOR,
		     WIRE_DIR_SENSOR);
	return 0;
}

void wire_session_sensor(struct wire_session *s, const uint8_t *key,
			 size_t keylen,
			 const uint8_t server_nonce[WIRE_NONCE_LEN],
			 const uint8_t client_nonce[WIRE_NONCE_LEN])
{
	session_init(s, key, keylen, server_nonce, client_nonce,
		     WIRE_DIR_SENSOR, WIRE_DIR_COLLECTOR);
}

/* ----------------------------------------------------------------------
 * Frames
 *
 *   length u32 | type u8 | flags u8 (0) | reserved u16 (0) | payload
 *   | HMAC-SHA256(session key, dir u8 | seq u64 | header | payload)
 */

static void frame_mac(const struct wire_session *s, char dir, uint64_t seq,
		      const uint8_t *hdr, const uint8_t *payload, size_t plen,
		      uint8_t mac[WIRE_MAC_LEN])
{
	uint8_t d = (uint8_t)dir, sq[8];

	put_be64(sq, seq);
	struct part parts[] = {
		{ &d, 1 },
		{ sq, 8 },
		{ hdr, WIRE_HEADER_LEN },
		{ payload, plen },
	};
	hmac_parts(s->key, sizeof s->key, parts, G_N_ELEMENTS(parts), mac);
}

GBytes *wire_frame_build(struct wire_session *s, enum wire_type type,
			 const void *payload, size_t len)
{
	if (len > WIRE_FRAME_MAX - WIRE_FRAME_MIN)
		return NULL;
	size_t total = WIRE_FRAME_MIN + len;
	uint8_t *f = g_malloc(total);

	put_be32(f, (uint32_t)total);
	f[4] = (uint8_t)type;
	f[5] = 0;
	put_be16(f + 6, 0);
	if (len)
		memcpy(f + WIRE_HEADER_LEN, payload, len);
	frame_mac(s, s->send_dir, s->send_seq, f, f + WIRE_HEADER_LEN, len,
		  f + WIRE_HEADER_LEN + len);
	s->send_seq++;
	return g_bytes_new_take(f, total);
}

uint32_t wire_frame_length(const uint8_t hdr[WIRE_HEADER_LEN],
			   uint32_t max_frame, GError **err)
{
	uint32_t len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
		       ((uint32_t)hdr[2] << 8) | hdr[3];

	if (len < WIRE_FRAME_MIN) {
		fail(err, WIRE_E_PROTOCOL, "frame length %" G_GUINT32_FORMAT
		     " is below the minimum %d", len, WIRE_FRAME_MIN);
		return 0;
	}
	if (len > max_frame) {
		fail(err, WIRE_E_TOO_LARGE, "frame length %" G_GUINT32_FORMAT
		     " is above the maximum %" G_GUINT32_FORMAT, len,
		     max_frame);
		return 0;
	}
	if (hdr[5] != 0 || hdr[6] != 0 || hdr[7] != 0) {
		fail(err, WIRE_E_PROTOCOL,
		     "frame flags/reserved bytes are not zero");
		return 0;
	}
	return len;
}

int wire_frame_open(struct wire_session *s, const uint8_t *frame, size_t len,
		    enum wire_type *type, const uint8_t **payload,
		    size_t *plen, GError **err)
{
	uint8_t want[WIRE_MAC_LEN];

	if (len < WIRE_FRAME_MIN || len > UINT32_MAX)
		return fail(err, WIRE_E_PROTOCOL, "frame of %zu bytes", len);
	if (wire_frame_length(frame, (uint32_t)len, err) != len) {
		if (err && !*err)
			fail(err, WIRE_E_PROTOCOL,
			     "frame length field differs from its size %zu",
			     len);
		return -1;
	}
	size_t pl = len - WIRE_FRAME_MIN;
	frame_mac(s, s->recv_dir, s->recv_seq, frame, frame + WIRE_HEADER_LEN,
		  pl, want);
	bool ok = mac_equal(want, frame + WIRE_HEADER_LEN + pl);
	explicit_bzero(want, sizeof want);
	if (!ok)
		return fail(err, WIRE_E_MAC, "frame %" G_GUINT64_FORMAT
			    " (%s): the MAC does not verify", s->recv_seq,
			    wire_type_name(frame[4]));
	s->recv_seq++;
	*type = (enum wire_type)frame[4];
	*payload = frame + WIRE_HEADER_LEN;
	*plen = pl;
	return 0;
}

/* ----------------------------------------------------------------------
 * Batch payloads
 *
 *   id[16] | interval_start i64 | interval_secs u32 | flags u8
 *   | n_counts u8 | n_metrics u8 | n_health u8 | n_rows u32
 *   | row[n_rows] | health (if flags & HEALTH)
 *
 *   row:    plen u8 | protocol | slen u8 | signature | family u8
 *           | addr[4 or 16] | port u16 | count u64[n_counts]
 *           | (count, sum, min, max) u64[n_metrics][4]
 *           | ttfb hist | ttlb hist
 *   hist:   n u16 | (bucket u8, count u64)[n], buckets increasing
 *   health: value u64[n_health] | n_top u8
 *           | (family u8, addr[4 or 16], transactions u64,
 *              error_bound u64)[n_top]
 */

#define BATCH_HEADER_LEN (16 + 8 + 4 + 1 + 1 + 1 + 1 + 4)
/* The smallest row: 1-byte protocol, empty signature, IPv4, empty
 * histograms; plus 8 per count and 32 per metric. */
#define ROW_MIN_FIXED (1 + 1 + 1 + 1 + 4 + 2 + 2 + 2)

/* Health values in wire order; conn_per_sec_avg as IEEE 754 bits. */
enum health_field {
	HF_PACKETS, HF_BYTES, HF_KERNEL_DROPS, HF_IFACE_DROPS, HF_MALFORMED,
	HF_FLOWS_ACTIVE, HF_FLOWS_CREATED, HF_FLOWS_EVICTED, HF_GAPS,
	HF_TRANSACTIONS, HF_CLIENTS_DISTINCT, HF_CLIENTS_ESTIMATED,
	HF_CLIENT_PORTS_DISTINCT, HF_CONN_MIN, HF_CONN_MAX, HF_CONN_AVG,
	HF_OUTPUT_DROPPED, HF_SPOOL_DROPPED, HF_N
};
G_STATIC_ASSERT(HF_N == WIRE_HEALTH_FIELDS);

static uint64_t double_bits(double d)
{
	uint64_t u;
	G_STATIC_ASSERT(sizeof u == sizeof d);
	memcpy(&u, &d, sizeof u);
	return u;
}

static double bits_double(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

static void health_values(const struct health_row *h, uint64_t v[HF_N])
{
	v[HF_PACKETS] = h->packets;
	v[HF_BYTES] = h->bytes;
	v[HF_KERNEL_DROPS] = h->kernel_drops;
	v[HF_IFACE_DROPS] = h->iface_drops;
	v[HF_MALFORMED] = h->malformed;
	v[HF_FLOWS_ACTIVE] = h->flows_active;
	v[HF_FLOWS_CREATED] = h->flows_created;
	v[HF_FLOWS_EVICTED] = h->flows_evicted;
	v[HF_GAPS] = h->gaps;
	v[HF_TRANSACTIONS] = h->transactions;
	v[HF_CLIENTS_DISTINCT] = h->clients_distinct;
	v[HF_CLIENTS_ESTIMATED] = h->clients_estimated;
	v[HF_CLIENT_PORTS_DISTINCT] = h->client_ports_distinct;
	v[HF_CONN_MIN] = h->conn_per_sec_min;
	v[HF_CONN_MAX] = h->conn_per_sec_max;
	v[HF_CONN_AVG] = double_bits(h->conn_per_sec_avg);
	v[HF_OUTPUT_DROPPED] = h->output_dropped;
	v[HF_SPOOL_DROPPED] = h->spool_dropped;
}

static bool proto_valid(const char *p, size_t n)
{
	if (n < 1 || n > WIRE_PROTO_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(p[i]) && p[i] != '_' && p[i] != '-')
			return false;
	return true;
}

static bool text_valid(const char *p, size_t n)
{
	return !memchr(p, '\0', n) && g_utf8_validate_len(p, n, NULL);
}

static void put_addr(GByteArray *a, uint8_t family, const uint8_t addr[16])
{
	ba_u8(a, family);
	ba_bytes(a, addr, family == 6 ? 16 : 4);
}

static void put_hist(GByteArray *a, const struct hist *h)
{
	ba_be16(a, h->n);
	for (unsigned i = 0; i < h->n; i++) {
		ba_u8(a, h->bucket[i]);
		ba_be64(a, h->count[i]);
	}
}

GBytes *wire_batch_encode(const struct summary_batch *b,
			  const uint8_t id[WIRE_BATCH_ID_LEN])
{
	g_return_val_if_fail(b->nrows <= WIRE_BATCH_ROWS_MAX, NULL);
	for (unsigned i = 0; i < b->nrows; i++) {
		const struct summary_row *r = b->rows[i];
		size_t pl = strlen(r->protocol), sl = strlen(r->signature);
		g_return_val_if_fail(proto_valid(r->protocol, pl), NULL);
		g_return_val_if_fail(sl <= WIRE_SIG_MAX, NULL);
	}

	/* Most rows are a few hundred bytes; start there, grow as needed. */
	GByteArray *a = g_byte_array_sized_new(BATCH_HEADER_LEN +
					       (guint)b->nrows * 1024 + 1024);
	ba_bytes(a, id, WIRE_BATCH_ID_LEN);
	ba_be64(a, (uint64_t)b->interval_start);
	ba_be32(a, b->interval_secs);
	ba_u8(a, (uint8_t)((b->late ? WIRE_BATCH_LATE : 0) |
			   (b->health ? WIRE_BATCH_HEALTH : 0)));
	ba_u8(a, SC_NCOUNTS);
	ba_u8(a, SM_NMETRICS);
	ba_u8(a, b->health ? HF_N : 0);
	ba_be32(a, b->nrows);

	for (unsigned i = 0; i < b->nrows; i++) {
		const struct summary_row *r = b->rows[i];
		size_t pl = strlen(r->protocol), sl = strlen(r->signature);
		ba_u8(a, (uint8_t)pl);
		ba_bytes(a, r->protocol, pl);
		ba_u8(a, (uint8_t)sl);
		ba_bytes(a, r->signature, sl);
		put_addr(a, r->family, r->server_addr);
		ba_be16(a, r->server_port);
		for (int c = 0; c < SC_NCOUNTS; c++)
			ba_be64(a, r->counts[c]);
		for (int m = 0; m < SM_NMETRICS; m++) {
			ba_be64(a, r->m[m].count);
			ba_be64(a, r->m[m].sum);
			ba_be64(a, r->m[m].min);
			ba_be64(a, r->m[m].max);
		}
		put_hist(a, &r->ttfb_hist);
		put_hist(a, &r->ttlb_hist);
	}

	if (b->health) {
		const struct health_row *h = b->health;
		uint64_t v[HF_N];
		health_values(h, v);
		for (int i = 0; i < HF_N; i++)
			ba_be64(a, v[i]);
		unsigned ntop = MIN(h->ntop, TOPK_REPORT);
		ba_u8(a, (uint8_t)ntop);
		for (unsigned i = 0; i < ntop; i++) {
			put_addr(a, h->top[i].family, h->top[i].addr);
			ba_be64(a, h->top[i].transactions);
			ba_be64(a, h->top[i].error_bound);
		}
	}
	return g_byte_array_free_to_bytes(a);
}

/* Decoding state: the cursor and where we are, for messages. */
struct dec {
	struct cursor c;
	GError **err;
	const char *what;	/* "row 3", "health" */
	unsigned row;
};

static int dec_fail(struct dec *d, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int dec_fail(struct dec *d, const char *fmt, ...)
{
	va_list ap;
	gchar *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (d->what && !strcmp(d->what, "row"))
		fail(d->err, WIRE_E_BAD_BATCH, "batch: row %u: %s (offset %zu)",
		     d->row, msg, d->c.off);
	else
		fail(d->err, WIRE_E_BAD_BATCH, "batch: %s%s%s (offset %zu)",
		     d->what ? d->what : "", d->what ? ": " : "", msg,
		     d->c.off);
	g_free(msg);
	return -1;
}

#define TRUNC(d) dec_fail((d), "truncated")

static int get_value(struct dec *d, const char *name, uint64_t *v)
{
	if (!cur_be64(&d->c, v))
		return TRUNC(d);
	if (*v > VALUE_MAX)
		return dec_fail(d, "%s %" G_GUINT64_FORMAT " is above 2^63-1",
				name, *v);
	return 0;
}

static int get_addr(struct dec *d, uint8_t *family, uint8_t addr[16])
{
	if (!cur_u8(&d->c, family))
		return TRUNC(d);
	if (*family != 4 && *family != 6)
		return dec_fail(d, "address family %u is neither 4 nor 6",
				*family);
	memset(addr, 0, 16);
	if (!cur_copy(&d->c, addr, *family == 6 ? 16 : 4))
		return TRUNC(d);
	return 0;
}

/* A string of 1-byte length into a new NUL-terminated copy. */
static int get_str(struct dec *d, const char *name, size_t min, size_t max,
		   bool proto, char **out)
{
	uint8_t n;
	const uint8_t *p;

	if (!cur_u8(&d->c, &n) || !cur_bytes(&d->c, n, &p))
		return TRUNC(d);
	if (n < min || n > max)
		return dec_fail(d, "%s of %u bytes (allowed %zu..%zu)", name, n,
				min, max);
	if (proto ? !proto_valid((const char *)p, n)
		  : !text_valid((const char *)p, n))
		return dec_fail(d, "%s is not %s", name,
				proto ? "made of [A-Za-z0-9_-]"
				      : "UTF-8 without NUL");
	*out = g_strndup((const char *)p, n);
	return 0;
}

static int get_hist(struct dec *d, const char *name, struct hist *h)
{
	uint16_t n;

	if (!cur_be16(&d->c, &n))
		return TRUNC(d);
	if (n > HIST_BUCKETS)
		return dec_fail(d, "%s has %u buckets (at most %d)", name, n,
				HIST_BUCKETS);
	/* Each pair is 9 bytes: check before allocating. */
	if ((size_t)n * 9 > cur_remaining(&d->c))
		return TRUNC(d);
	if (n == 0)
		return 0;
	h->bucket = g_new(uint8_t, n);
	h->count = g_new(uint64_t, n);
	h->cap = n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t bk = 0;
		uint64_t cnt = 0;
		cur_u8(&d->c, &bk);
		cur_be64(&d->c, &cnt);
		if (bk >= HIST_BUCKETS)
			return dec_fail(d, "%s bucket %u >= %d", name, bk,
					HIST_BUCKETS);
		if (i > 0 && bk <= h->bucket[i - 1])
			return dec_fail(d, "%s buckets not strictly increasing "
					"(%u after %u)", name, bk,
					h->bucket[i - 1]);
		if (cnt == 0 || cnt > VALUE_MAX)
			return dec_fail(d, "%s bucket %u count %" G_GUINT64_FORMAT
					" is not 1..2^63-1", name, bk, cnt);
		h->bucket[i] = bk;
		h->count[i] = cnt;
		h->n = (uint16_t)(i + 1);
	}
	return 0;
}

static int get_row(struct dec *d, unsigned n_counts, unsigned n_metrics,
		   struct summary_row *r)
{
	if (get_str(d, "protocol", 1, WIRE_PROTO_MAX, true, &r->protocol) ||
	    get_str(d, "signature", 0, WIRE_SIG_MAX, false, &r->signature) ||
	    get_addr(d, &r->family, r->server_addr))
		return -1;
	if (!cur_be16(&d->c, &r->server_port))
		return TRUNC(d);
	for (unsigned i = 0; i < n_counts; i++) {
		uint64_t v;
		if (i >= SC_NCOUNTS) {
			/* A newer sensor's count: not ours to judge. */
			if (!cur_skip(&d->c, 8))
				return TRUNC(d);
			continue;
		}
		if (get_value(d, summary_count_names[i], &v))
			return -1;
		/* get_value() set v when it returned 0 (its failure is
		 * the variadic dec_fail(), which the analyzer does not
		 * inline).
		 * NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
		r->counts[i] = v;
	}
	for (unsigned i = 0; i < n_metrics; i++) {
		if (i >= SM_NMETRICS) {
			if (!cur_skip(&d->c, 32))
				return TRUNC(d);
			continue;
		}
		struct metric_agg *m = &r->m[i];
		const char *mn = summary_metric_names[i];
		if (get_value(d, mn, &m->count) || get_value(d, mn, &m->sum) ||
		    get_value(d, mn, &m->min) || get_value(d, mn, &m->max))
			return -1;
		if (m->count == 0 && (m->sum || m->min || m->max))
			return dec_fail(d, "%s: count 0 with a sum, min or max",
					mn);
		if (m->count > 0 && m->min > m->max)
			return dec_fail(d, "%s: min %" G_GUINT64_FORMAT " > max %"
					G_GUINT64_FORMAT, mn, m->min, m->max);
	}
	if (get_hist(d, "ttfb histogram", &r->ttfb_hist) ||
	    get_hist(d, "ttlb histogram", &r->ttlb_hist))
		return -1;
	return 0;
}

static int get_health(struct dec *d, unsigned n_health, struct health_row *h)
{
	uint64_t v[HF_N] = { 0 };
	uint8_t ntop;

	for (unsigned i = 0; i < n_health; i++) {
		if (i >= HF_N) {
			if (!cur_skip(&d->c, 8))
				return TRUNC(d);
		} else if (i == HF_CONN_AVG) {
			if (!cur_be64(&d->c, &v[i]))
				return TRUNC(d);
		} else if (get_value(d, "value", &v[i])) {
			return -1;
		}
	}
	double avg = bits_double(v[HF_CONN_AVG]);
	if (v[HF_CLIENTS_ESTIMATED] > 1)
		return dec_fail(d, "clients_estimated is neither 0 nor 1");
	if (v[HF_CONN_MIN] > UINT32_MAX || v[HF_CONN_MAX] > UINT32_MAX)
		return dec_fail(d, "connections per second above 2^32-1");
	if (!isfinite(avg) || avg < 0)
		return dec_fail(d, "conn_per_sec_avg is not a finite number "
				">= 0");
	h->packets = v[HF_PACKETS];
	h->bytes = v[HF_BYTES];
	h->kernel_drops = v[HF_KERNEL_DROPS];
	h->iface_drops = v[HF_IFACE_DROPS];
	h->malformed = v[HF_MALFORMED];
	h->flows_active = v[HF_FLOWS_ACTIVE];
	h->flows_created = v[HF_FLOWS_CREATED];
	h->flows_evicted = v[HF_FLOWS_EVICTED];
	h->gaps = v[HF_GAPS];
	h->transactions = v[HF_TRANSACTIONS];
	h->clients_distinct = v[HF_CLIENTS_DISTINCT];
	h->clients_estimated = v[HF_CLIENTS_ESTIMATED] != 0;
	h->client_ports_distinct = v[HF_CLIENT_PORTS_DISTINCT];
	h->conn_per_sec_min = (uint32_t)v[HF_CONN_MIN];
	h->conn_per_sec_max = (uint32_t)v[HF_CONN_MAX];
	h->conn_per_sec_avg = avg;
	h->output_dropped = v[HF_OUTPUT_DROPPED];
	h->spool_dropped = v[HF_SPOOL_DROPPED];

	if (!cur_u8(&d->c, &ntop))
		return TRUNC(d);
	if (ntop > TOPK_REPORT)
		return dec_fail(d, "%u top clients (at most %d)", ntop,
				TOPK_REPORT);
	for (unsigned i = 0; i < ntop; i++) {
		struct top_client *t = &h->top[i];
		if (get_addr(d, &t->family, t->addr) ||
		    get_value(d, "top transactions", &t->transactions) ||
		    get_value(d, "top error_bound", &t->error_bound))
			return -1;
		h->ntop = i + 1;
	}
	return 0;
}

struct summary_batch *wire_batch_decode(const uint8_t *buf, size_t len,
					uint8_t id[WIRE_BATCH_ID_LEN],
					GError **err)
{
	struct dec d = { .err = err, .what = "header" };
	struct summary_batch *b = NULL;
	const uint8_t *idp;
	uint64_t start;
	uint32_t secs, nrows;
	uint8_t flags, nc, nm, nh;

	cur_init(&d.c, buf, len);
	cur_bytes(&d.c, WIRE_BATCH_ID_LEN, &idp);
	cur_be64(&d.c, &start);
	cur_be32(&d.c, &secs);
	cur_u8(&d.c, &flags);
	cur_u8(&d.c, &nc);
	cur_u8(&d.c, &nm);
	cur_u8(&d.c, &nh);
	cur_be32(&d.c, &nrows);
	if (d.c.bad) {
		TRUNC(&d);
		return NULL;
	}
	if ((int64_t)start < 0 || (int64_t)start > INTERVAL_START_MAX) {
		dec_fail(&d, "interval_start %" G_GINT64_FORMAT
			 " is outside 0..%" G_GINT64_FORMAT, (int64_t)start,
			 INTERVAL_START_MAX);
		return NULL;
	}
	if (secs < 1 || secs > INTERVAL_SECS_MAX) {
		dec_fail(&d, "interval_secs %" G_GUINT32_FORMAT
			 " is outside 1..%d", secs, INTERVAL_SECS_MAX);
		return NULL;
	}
	if (flags & ~(WIRE_BATCH_LATE | WIRE_BATCH_HEALTH)) {
		dec_fail(&d, "unknown flags 0x%02x", flags);
		return NULL;
	}
	if (!(flags & WIRE_BATCH_HEALTH) && nh) {
		dec_fail(&d, "%u health values in a batch without health", nh);
		return NULL;
	}
	/* The rows must fit in what remains: a hostile count cannot make us
	 * allocate more than the payload could describe. */
	size_t row_min = ROW_MIN_FIXED + (size_t)nc * 8 + (size_t)nm * 32;
	if (nrows > WIRE_BATCH_ROWS_MAX ||
	    nrows > cur_remaining(&d.c) / row_min) {
		dec_fail(&d, "%" G_GUINT32_FORMAT " rows cannot be in %zu "
			 "bytes (or above the limit %d)", nrows,
			 cur_remaining(&d.c), WIRE_BATCH_ROWS_MAX);
		return NULL;
	}

	b = g_new0(struct summary_batch, 1);
	b->interval_start = (int64_t)start;
	b->interval_secs = secs;
	b->late = flags & WIRE_BATCH_LATE;
	b->rows = g_new0(struct summary_row *, nrows ? nrows : 1);
	d.what = "row";
	for (uint32_t i = 0; i < nrows; i++) {
		struct summary_row *r = g_new0(struct summary_row, 1);
		b->rows[i] = r;
		b->nrows = i + 1;
		d.row = i;
		r->interval_start = b->interval_start;
		r->interval_secs = secs;
		if (get_row(&d, nc, nm, r))
			goto bad;
	}
	if (flags & WIRE_BATCH_HEALTH) {
		d.what = "health";
		b->health = g_new0(struct health_row, 1);
		b->health->interval_start = b->interval_start;
		b->health->interval_secs = secs;
		if (get_health(&d, nh, b->health))
			goto bad;
	}
	d.what = NULL;
	if (cur_remaining(&d.c)) {
		dec_fail(&d, "%zu bytes after the end", cur_remaining(&d.c));
		goto bad;
	}
	memcpy(id, idp, WIRE_BATCH_ID_LEN);
	return b;
bad:
	summary_batch_free(b);
	return NULL;
}

/* ----------------------------------------------------------------------
 * Small payloads
 */

int wire_id_parse(const uint8_t *buf, size_t len,
		  uint8_t id[WIRE_BATCH_ID_LEN], GError **err)
{
	if (len != WIRE_BATCH_ID_LEN)
		return fail(err, WIRE_E_PROTOCOL,
			    "a batch id payload of %zu bytes, not %d", len,
			    WIRE_BATCH_ID_LEN);
	memcpy(id, buf, WIRE_BATCH_ID_LEN);
	return 0;
}

/* Text cut to WIRE_TEXT_MAX bytes at a character boundary. */
static size_t text_cut(const char *text)
{
	size_t n = text ? strlen(text) : 0;

	if (n <= WIRE_TEXT_MAX)
		return n;
	const char *end = g_utf8_find_prev_char(text, text + WIRE_TEXT_MAX + 1);
	return end ? (size_t)(end - text) : WIRE_TEXT_MAX;
}

GBytes *wire_error_payload(uint16_t code, const char *text)
{
	size_t n = text_cut(text);
	uint8_t *p = g_malloc(2 + n + 1);

	put_be16(p, code);
	if (n)
		memcpy(p + 2, text, n);
	return g_bytes_new_take(p, 2 + n);
}

static char *text_copy(const uint8_t *p, size_t n)
{
	return g_utf8_make_valid((const char *)p, (gssize)n);
}

int wire_error_parse(const uint8_t *buf, size_t len, uint16_t *code,
		     char **text, GError **err)
{
	struct cursor c;

	cur_init(&c, buf, len);
	if (!cur_be16(&c, code))
		return fail(err, WIRE_E_PROTOCOL, "ERROR payload of %zu bytes",
			    len);
	if (cur_remaining(&c) > WIRE_TEXT_MAX)
		return fail(err, WIRE_E_PROTOCOL,
			    "ERROR text of %zu bytes (at most %d)",
			    cur_remaining(&c), WIRE_TEXT_MAX);
	*text = text_copy(cur_ptr(&c), cur_remaining(&c));
	return 0;
}

GBytes *wire_reject_payload(const uint8_t id[WIRE_BATCH_ID_LEN],
			    uint16_t code, const char *text)
{
	size_t n = text_cut(text);
	uint8_t *p = g_malloc(WIRE_BATCH_ID_LEN + 2 + n + 1);

	memcpy(p, id, WIRE_BATCH_ID_LEN);
	put_be16(p + WIRE_BATCH_ID_LEN, code);
	if (n)
		memcpy(p + WIRE_BATCH_ID_LEN + 2, text, n);
	return g_bytes_new_take(p, WIRE_BATCH_ID_LEN + 2 + n);
}

int wire_reject_parse(const uint8_t *buf, size_t len,
		      uint8_t id[WIRE_BATCH_ID_LEN], uint16_t *code,
		      char **text, GError **err)
{
	struct cursor c;

	cur_init(&c, buf, len);
	if (!cur_copy(&c, id, WIRE_BATCH_ID_LEN) || !cur_be16(&c, code))
		return fail(err, WIRE_E_PROTOCOL, "REJECT payload of %zu bytes",
			    len);
	if (cur_remaining(&c) > WIRE_TEXT_MAX)
		return fail(err, WIRE_E_PROTOCOL,
			    "REJECT text of %zu bytes (at most %d)",
			    cur_remaining(&c), WIRE_TEXT_MAX);
	*text = text_copy(cur_ptr(&c), cur_remaining(&c));
	return 0;
}

const char *wire_type_name(unsigned type)
{
	switch (type) {
	case WIRE_AUTH_OK: return "AUTH_OK";
	case WIRE_HEARTBEAT: return "HEARTBEAT";
	case WIRE_ERROR: return "ERROR";
	case WIRE_BATCH: return "BATCH";
	case WIRE_ACK: return "ACK";
	case WIRE_RETRY: return "RETRY";
	case WIRE_REJECT: return "REJECT";
	default: return "unknown";
	}
}

const char *wire_code_name(unsigned code)
{
	switch (code) {
	case WIRE_E_PROTOCOL: return "PROTOCOL";
	case WIRE_E_TOO_LARGE: return "TOO_LARGE";
	case WIRE_E_MAC: return "MAC";
	case WIRE_E_VERSION: return "VERSION";
	case WIRE_E_TIMEOUT: return "TIMEOUT";
	case WIRE_E_SHUTDOWN: return "SHUTDOWN";
	case WIRE_E_INTERNAL: return "INTERNAL";
	case WIRE_E_REPLACED: return "REPLACED";
	case WIRE_E_BAD_BATCH: return "BAD_BATCH";
	default: return "unknown";
	}
}
