/*
 * wirefix.h: MACs computed from docs/wire-protocol.md, for the wire fuzz
 * targets.
 *
 * Random bytes never carry a valid HMAC, so a fuzzer left alone would
 * test nothing behind the MAC checks.  A target may therefore "fix" an
 * input: overwrite the MAC of an AUTH or a frame with the right one,
 * computed here straight from the spec (an implementation independent of
 * lib/wire.c's, so the two also check each other), and let the decoder
 * behind the check see the fuzzer's bytes.  Whether to fix is a bit of
 * the input, so the unauthenticated paths stay explored too.
 */
#ifndef ARTMON_WIREFIX_H
#define ARTMON_WIREFIX_H

#include <glib.h>
#include <string.h>

#include "wire.h"

/* HMAC-SHA256(key, a || b || c || d) into out[32]. */
static inline void fix_hmac(const uint8_t *key, size_t keylen, const void *a,
			    size_t an, const void *b, size_t bn,
			    const void *c, size_t cn, const void *d,
			    size_t dn, uint8_t out[WIRE_MAC_LEN])
{
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, key, keylen);
	gsize len = WIRE_MAC_LEN;
	const void *parts[] = { a, b, c, d };
	size_t lens[] = { an, bn, cn, dn };

	for (int i = 0; i < 4; i++)
		if (lens[i])
			g_hmac_update(h, parts[i], (gssize)lens[i]);
	g_hmac_get_digest(h, out, &len);
	g_hmac_unref(h);
}

/* AUTH of len bytes answering server_nonce under key: its last 32 bytes
 * become HMAC(K, "artmon auth v1" || server nonce || AUTH[0..len-32)). */
static inline void fix_auth(uint8_t *auth, size_t len, const uint8_t *key,
			    size_t keylen, const uint8_t *server_nonce)
{
	if (len < WIRE_MAC_LEN)
		return;
	fix_hmac(key, keylen, "artmon auth v1", 14, server_nonce,
		 WIRE_NONCE_LEN, auth, len - WIRE_MAC_LEN, NULL, 0,
		 auth + len - WIRE_MAC_LEN);
}

/* A frame of len bytes (header included) sent in direction dir as frame
 * number seq of the session with key skey: its last 32 bytes become
 * HMAC(session key, dir || seq || header || payload). */
static inline void fix_frame(uint8_t *frame, size_t len, const uint8_t *skey,
			     char dir, uint64_t seq)
{
	uint8_t d = (uint8_t)dir, sq[8];

	if (len < WIRE_FRAME_MIN)
		return;
	for (int i = 0; i < 8; i++)
		sq[i] = (uint8_t)(seq >> (56 - 8 * i));
	fix_hmac(skey, 32, &d, 1, sq, 8, frame, WIRE_HEADER_LEN,
		 frame + WIRE_HEADER_LEN, len - WIRE_FRAME_MIN,
		 frame + len - WIRE_MAC_LEN);
}

#endif /* ARTMON_WIREFIX_H */
