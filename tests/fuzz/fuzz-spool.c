/*
 * fuzz-spool.c: the sensor's spool file loader and what reads its batch.
 *
 * A spool file is written by the sensor itself, but it lives on disk
 * across restarts and crashes: a torn write, a full disk, a damaged file
 * system or a careless operator can leave anything there, and the sensor
 * reads it back (spool_read, and artmon-sensor --decode-spool FILE).
 *
 *   byte 0   bit 0: fix the header (magic, version, length, CRC-32) so
 *            the batch decoder behind it is reached; bit 1: JSON
 *   then     the file
 *
 * The file goes through spool_file_read() (the header and CRC checks),
 * then wire_batch_decode(), then the summary printer, as --decode-spool
 * does.
 */
#include "config.h"

#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "log.h"
#include "spool.h"
#include "summary_output.h"
#include "wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-spool", 0);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	return 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	uint8_t flags = fuzz_u8(&in);
	size_t n;
	const uint8_t *p = fuzz_bytes(&in, fuzz_left(&in), &n);
	uint8_t *file = g_malloc(n + 1);
	memcpy(file, p, n);
	GError *err = NULL;
	char path[64];

	if ((flags & 1) && n >= SPOOL_HEADER_LEN) {
		size_t len = n - SPOOL_HEADER_LEN;
		memcpy(file, SPOOL_MAGIC, 8);
		put_be32(file + 8, SPOOL_VERSION);
		put_be32(file + 12, (uint32_t)len);
		put_be32(file + 16, spool_crc32(file + SPOOL_HEADER_LEN, len));
	}
	int fd = fuzz_memfile(file, n, path, sizeof path);
	g_free(file);
	GBytes *payload = spool_file_read(path, &err);
	close(fd);
	if (!payload) {
		FUZZ_CHECK(err != NULL, "a refused file without a reason");
		g_error_free(err);
		return 0;
	}
	gsize plen;
	const uint8_t *pl = g_bytes_get_data(payload, &plen);
	uint8_t id[WIRE_BATCH_ID_LEN];
	struct summary_batch *b = wire_batch_decode(pl, plen, id, &err);
	g_bytes_unref(payload);
	if (!b) {
		g_error_free(err);
		return 0;
	}
	if (fuzz_verbose())
		fprintf(stderr, "  a batch of %u rows\n", b->nrows);
	struct summary_printer pr;
	GString *text = g_string_new(NULL);
	summary_printer_init(&pr, NULL, (flags & 2) ? TXN_FORMAT_JSON
						    : TXN_FORMAT_CSV);
	summary_format(&pr, b, text);
	g_string_free(text, TRUE);
	summary_batch_free(b);
	return 0;
}
