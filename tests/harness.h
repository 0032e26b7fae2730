/*
 * harness.h: run the real sensor in-process on a capture, for tests.
 *
 * The same code path as artmon-sensor -r FILE: plugins are loaded from the
 * build tree with dlopen, rules from etc/artmon (or a directory the test
 * chooses), packets read by libpcap.  Finished transactions are copied
 * into an array the test can assert on, with the sensor's counters.
 */
#ifndef ARTMON_HARNESS_H
#define ARTMON_HARNESS_H

#include <glib.h>

#include "sensor.h"

struct txn_copy {
	struct txn_record r;	/* string pointers point into this copy */
	char protocol[16];
	char signature[RULE_NAME_MAX + 32];
	char status[16];
	char client[64], server[64];
};

struct run {
	GArray *txns;			/* struct txn_copy, in emission order */
	struct sensor_counters ctr;
	uint64_t flows_created, flows_evicted, flows_expired, flows_peak;
	uint64_t gaps, gap_bytes, retrans_segs, ooo_segs, overflow;
	uint64_t plugin_events[ARTMON_EV_COUNT];	/* summed over plugins */
	uint64_t plugin_dropped;
	char *error;			/* set if the run could not start */
};

/* A fresh directory for this test's files (removed at exit). */
const char *test_tmpdir(void);
/* test_tmpdir()/name, newly allocated. */
char *test_path(const char *name);

/*
 * Run the sensor on pcap.  sets: NULL-terminated "[group.]key=value"
 * settings as for -o; sigs_dir: NULL for etc/artmon.
 */
struct run *run_capture(const char *pcap, const char *const *sets,
			const char *sigs_dir);
void run_free(struct run *r);

static inline const struct txn_copy *run_txn(const struct run *r, guint i)
{
	g_assert_cmpuint(i, <, r->txns->len);
	return &g_array_index(r->txns, struct txn_copy, i);
}

/*
 * Mutation tests of a text protocol's parser (test-http, test-imap).
 *
 * harness_random_stream: n parts picked at random (1 in 20 times
 * midline instead, so a stream can start mid-line), each byte replaced
 * by a random one, turned into a newline or dropped, with odds 1/mut
 * each.
 *
 * harness_random_conversation: the TCP conversation 10.0.0.1:40000 ->
 * 10.0.0.2:port written to path (Ethernet), carrying st[0] from the
 * client and st[1] from the server in random slices of 1-300 bytes,
 * interleaved at random, 1 slice in 60 lost; with a handshake at t0 when
 * handshake, data from t0 + 1 ms, and half the time the server's FIN.
 */
GString *harness_random_stream(GRand *rng, const char *const *parts,
			       int nparts, int n, int mut,
			       const char *midline);
void harness_random_conversation(const char *path, GRand *rng,
				 uint16_t port, GString *const st[2],
				 bool handshake, int64_t t0);

/* Call once from main() of each test program, after g_test_init(). */
void harness_init(void);

#endif /* ARTMON_HARNESS_H */
