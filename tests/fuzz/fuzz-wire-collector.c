/*
 * fuzz-wire-collector.c: what a collector reads from a sensor, before and
 * after authentication: AUTH, then frames, then batch payloads.
 *
 * collector/server.c drives lib/wire.c from GIO callbacks; this target
 * makes the same calls in the same order on the fuzzer's bytes, with no
 * sockets: the input is the byte stream a peer sends after our HELLO.
 *
 *   byte 0   bit 0: fix the AUTH's MAC; bit 1: fix each frame's MAC
 *            (wirefix.h); without them the pre-authentication checks
 *            are what runs
 *   then     AUTH: 9 bytes, the rest wire_auth_expected_len() asks for
 *            (into a fixed WIRE_AUTH_MAX buffer, as the collector does);
 *            the name is looked up among two known sensors
 *   then     frames: 8-byte header, wire_frame_length() against the
 *            largest frame, the frame, wire_frame_open(), and the
 *            payload by type: BATCH decoded (wire_batch_decode) and
 *            checked as the store would (store_batch_valid), answered
 *            ACK or REJECT; ERROR parsed; anything else closes
 *
 * Checked: a batch that decodes, and uses this version's counts, encodes
 * back to exactly the bytes it came from (the codec has one encoding).
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "store.h"
#include "summary_types.h"
#include "wire.h"
#include "wirefix.h"

static GHashTable *keys;	/* name -> GBytes */
static const uint8_t nonce[WIRE_NONCE_LEN] = "0123456789abcdef0123456789abcde";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-wire-collector", 0);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
				     (GDestroyNotify)g_bytes_unref);
	g_hash_table_insert(keys, g_strdup("sensor-1"),
			    g_bytes_new_static("0123456789abcdef0123456789abcdef", 32));
	g_hash_table_insert(keys, g_strdup("s"),
			    g_bytes_new_static("a-sixteen-b-key!", 16));
	return 0;
}

/* A decoded batch re-encodes to its payload when it carries exactly this
 * version's counts (a newer sensor's extra values are skipped). */
static void check_canonical(const struct summary_batch *b, const uint8_t *p,
			    size_t len, const uint8_t id[WIRE_BATCH_ID_LEN])
{
	/* id 16, start 8, secs 4, flags 1: then the three counts. */
	if (len < 32 || p[29] != SC_NCOUNTS || p[30] != SM_NMETRICS ||
	    (p[31] != 0 && p[31] != WIRE_HEALTH_FIELDS))
		return;
	GBytes *again = wire_batch_encode(b, id);
	FUZZ_CHECK(again != NULL, "a decoded batch does not encode");
	gsize n;
	const uint8_t *q = g_bytes_get_data(again, &n);
	FUZZ_CHECK(n == len && memcmp(p, q, n) == 0,
		   "decode then encode changed the batch (%zu -> %zu bytes)",
		   len, (size_t)n);
	g_bytes_unref(again);
}

static void on_batch(struct wire_session *s, const uint8_t *p, size_t len)
{
	uint8_t id[WIRE_BATCH_ID_LEN];
	GError *err = NULL;
	char why[160];

	struct summary_batch *b = wire_batch_decode(p, len, id, &err);
	if (b) {
		FUZZ_CHECK(!err, "a decoded batch with an error");
		check_canonical(b, p, len, id);
		if (!store_batch_valid(b, why, sizeof why)) {
			summary_batch_free(b);
			b = NULL;
			g_set_error(&err, WIRE_ERROR_DOMAIN, WIRE_E_BAD_BATCH,
				    "%s", why);
		}
	}
	if (fuzz_verbose())
		fprintf(stderr, "  batch: %s\n", b ? "stored" : err->message);
	GBytes *reply;
	if (b) {
		reply = wire_frame_build(s, WIRE_ACK, id, sizeof id);
		summary_batch_free(b);
	} else {
		FUZZ_CHECK(err && err->message, "a refused batch, no reason");
		GBytes *r = wire_reject_payload(p, WIRE_E_BAD_BATCH,
						err->message);
		gsize n;
		const void *d = g_bytes_get_data(r, &n);
		reply = wire_frame_build(s, WIRE_REJECT, d, n);
		g_bytes_unref(r);
		g_error_free(err);
	}
	FUZZ_CHECK(reply != NULL, "no reply frame");
	g_bytes_unref(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	uint8_t flags = fuzz_u8(&in);
	uint8_t auth[WIRE_AUTH_MAX];
	char name[WIRE_NAME_MAX + 1];
	struct wire_session sess;
	GError *err = NULL;
	size_t n;

	/* AUTH: its head says how long it is. */
	const uint8_t *p = fuzz_bytes(&in, 9, &n);
	if (n < 9)
		return 0;
	memcpy(auth, p, 9);
	size_t alen = wire_auth_expected_len(auth, 9);
	if (alen <= 9 || alen > sizeof auth)
		return 0;
	p = fuzz_bytes(&in, alen - 9, &n);
	if (n < alen - 9)
		return 0;
	memcpy(auth + 9, p, n);
	if (wire_auth_name(auth, alen, name, &err) != 0) {
		g_error_free(err);
		return 0;
	}
	GBytes *key = g_hash_table_lookup(keys, name);
	if (!key)
		return 0;
	gsize kl;
	const uint8_t *k = g_bytes_get_data(key, &kl);
	if (flags & 1)
		fix_auth(auth, alen, k, kl, nonce);
	if (wire_auth_verify(auth, alen, k, kl, nonce, &sess, &err) != 0) {
		FUZZ_CHECK(!(flags & 1) || err->code != WIRE_E_MAC,
			   "a fixed AUTH does not verify: %s", err->message);
		g_error_free(err);
		return 0;
	}
	GBytes *ok = wire_frame_build(&sess, WIRE_AUTH_OK, NULL, 0);
	g_bytes_unref(ok);

	/* Frames until the input ends or the collector would close. */
	while (fuzz_left(&in) >= WIRE_HEADER_LEN) {
		uint32_t flen = wire_frame_length(in.p + in.off, WIRE_FRAME_MAX,
						  &err);
		if (!flen) {
			g_error_free(err);
			break;
		}
		if (fuzz_left(&in) < flen)
			break;		/* the connection ends inside it */
		uint8_t *frame = g_memdup2(fuzz_bytes(&in, flen, &n), flen);
		if (flags & 2)
			fix_frame(frame, flen, sess.key, WIRE_DIR_SENSOR,
				  sess.recv_seq);
		enum wire_type type;
		const uint8_t *pl;
		size_t plen;
		if (wire_frame_open(&sess, frame, flen, &type, &pl, &plen,
				    &err) != 0) {
			FUZZ_CHECK(!(flags & 2), "a fixed frame does not open: "
				   "%s", err->message);
			g_error_free(err);
			g_free(frame);
			break;
		}
		bool go_on = true;
		if (type == WIRE_BATCH && plen >= WIRE_BATCH_ID_LEN) {
			on_batch(&sess, pl, plen);
		} else if (type == WIRE_ERROR) {
			uint16_t code;
			char *text = NULL;
			if (wire_error_parse(pl, plen, &code, &text, NULL) == 0) {
				FUZZ_CHECK(g_utf8_validate(text, -1, NULL),
					   "ERROR text is not UTF-8");
				g_free(text);
			}
			go_on = false;
		} else if (type != WIRE_HEARTBEAT) {
			go_on = false;
		}
		g_free(frame);
		if (!go_on)
			break;
	}
	wire_session_clear(&sess);
	return 0;
}
