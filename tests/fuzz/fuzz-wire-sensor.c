/*
 * fuzz-wire-sensor.c: what a sensor reads from a collector (or from
 * whoever answers at the collector's address): HELLO, AUTH_OK, then
 * ACK, RETRY, REJECT, ERROR and HEARTBEAT frames.
 *
 * sensor/shipper.c's ship_connect() and receive()/dispatch() make these
 * calls on bytes from a socket; this target makes them on the fuzzer's.
 *
 *   byte 0   bit 0: fix each frame's MAC (wirefix.h) under the session
 *            our AUTH set up, so the payload parsers are reached
 *   then     HELLO (40 bytes), wire_hello_parse(); we answer with AUTH
 *            (wire_auth_build; its nonce is random, which changes only
 *            MACs, and those are either fixed or wrong anyway)
 *   then     frames as the shipper takes them out of its receive buffer:
 *            wire_frame_length() against SHIP_RECV_MAX, wire_frame_open();
 *            the first must be an empty AUTH_OK
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "shipper.h"
#include "wire.h"
#include "wirefix.h"

static const uint8_t key[] = "0123456789abcdef0123456789abcdef";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-wire-sensor", 0);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	return 0;
}

/* shipper.c's dispatch(): 0 to go on, -1 when the session ends. */
static int dispatch(enum wire_type t, const uint8_t *p, size_t n)
{
	uint8_t id[WIRE_BATCH_ID_LEN];
	uint16_t code;
	char *text = NULL;
	GError *err = NULL;

	switch (t) {
	case WIRE_HEARTBEAT:
		return n ? -1 : 0;
	case WIRE_ACK:
	case WIRE_RETRY:
		if (wire_id_parse(p, n, id, &err) == 0)
			return 0;
		break;
	case WIRE_REJECT:
		if (wire_reject_parse(p, n, id, &code, &text, &err) == 0) {
			FUZZ_CHECK(g_utf8_validate(text, -1, NULL),
				   "REJECT text is not UTF-8");
			g_free(text);
			return 0;
		}
		break;
	case WIRE_ERROR:
		if (wire_error_parse(p, n, &code, &text, &err) == 0) {
			FUZZ_CHECK(g_utf8_validate(text, -1, NULL),
				   "ERROR text is not UTF-8");
			g_free(text);
			return -1;
		}
		break;
	default:
		return -1;
	}
	FUZZ_CHECK(err != NULL, "a refused payload without a reason");
	g_error_free(err);
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	uint8_t flags = fuzz_u8(&in);
	uint8_t sn[WIRE_NONCE_LEN], cn[WIRE_NONCE_LEN], auth[WIRE_AUTH_MAX];
	struct wire_session ws;
	GError *err = NULL;
	size_t n;

	const uint8_t *hello = fuzz_bytes(&in, WIRE_HELLO_LEN, &n);
	uint8_t *h = g_memdup2(hello, n);
	int rc = wire_hello_parse(h, n, sn, &err);
	g_free(h);
	if (rc != 0) {
		g_error_free(err);
		return 0;
	}
	size_t alen = wire_auth_build(auth, "sensor-1", key, sizeof key - 1, sn,
				      cn);
	FUZZ_CHECK(alen > 0, "AUTH does not build");
	wire_session_sensor(&ws, key, sizeof key - 1, sn, cn);

	for (bool first = true; fuzz_left(&in) >= WIRE_HEADER_LEN; first = false) {
		uint32_t flen = wire_frame_length(in.p + in.off, SHIP_RECV_MAX,
						  &err);
		if (!flen) {
			g_error_free(err);
			break;
		}
		if (fuzz_left(&in) < flen)
			break;
		uint8_t *frame = g_memdup2(fuzz_bytes(&in, flen, &n), flen);
		if (flags & 1)
			fix_frame(frame, flen, ws.key, WIRE_DIR_COLLECTOR,
				  ws.recv_seq);
		enum wire_type t;
		const uint8_t *pl;
		size_t plen;
		rc = wire_frame_open(&ws, frame, flen, &t, &pl, &plen, &err);
		if (rc != 0) {
			FUZZ_CHECK(!(flags & 1), "a fixed frame does not open: "
				   "%s", err->message);
			g_error_free(err);
		} else if (first) {
			rc = t == WIRE_AUTH_OK && plen == 0 ? 0 : -1;
		} else {
			rc = dispatch(t, pl, plen);
		}
		g_free(frame);
		if (fuzz_verbose())
			fprintf(stderr, "  frame: %s\n", rc ? "end" : "taken");
		if (rc != 0)
			break;
	}
	wire_session_clear(&ws);
	return 0;
}
