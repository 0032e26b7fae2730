/*
 * fuzz.h: what every artmon fuzz target shares.
 *
 * A target is one C file defining LLVMFuzzerTestOneInput() (and, if it
 * needs set-up, LLVMFuzzerInitialize()).  Built with --enable-fuzzing it
 * links libFuzzer (tests/fuzz/fuzz-T); built normally it links
 * standalone.c's main() instead (tests/fuzz/replay-T), which feeds it
 * every file it is given, so `make check` replays the seeds and every
 * input that ever crashed under ASan and UBSan with any compiler.
 *
 * A target must be deterministic and must not leak: the same input does
 * the same thing however many inputs ran before it, and everything it
 * allocates is freed before it returns (LeakSanitizer checks).  A broken
 * invariant is reported with FUZZ_CHECK(), which aborts: to libFuzzer a
 * crash like any other.
 */
#ifndef ARTMON_FUZZ_H
#define ARTMON_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort with a message when cond is false: an invariant the code under
 * test promises (the plugin contract, a codec round trip). */
#define FUZZ_CHECK(cond, ...)                                               \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: invariant broken: %s: ",   \
				__FILE__, __LINE__, #cond);                \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			abort();                                           \
		}                                                          \
	} while (0)

/* A reader over the fuzzer's bytes that never fails: past the end it
 * returns zeros, so a target can take what it needs without checks. */
struct fuzz_in {
	const uint8_t *p;
	size_t len, off;
};

static inline size_t fuzz_left(const struct fuzz_in *in)
{
	return in->len - in->off;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	return in->off < in->len ? in->p[in->off++] : 0;
}

static inline uint16_t fuzz_be16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_u8(in);
	return (uint16_t)((hi << 8) | fuzz_u8(in));
}

static inline uint32_t fuzz_be32(struct fuzz_in *in)
{
	uint32_t hi = fuzz_be16(in);
	return (hi << 16) | fuzz_be16(in);
}

/* Up to n bytes (fewer at the end); *got says how many. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t n,
					size_t *got)
{
	const uint8_t *p = in->p + in->off;
	if (n > fuzz_left(in))
		n = fuzz_left(in);
	in->off += n;
	*got = n;
	return p;
}

/* ARTMON_FUZZ_VERBOSE=1 in the environment: a target says, per input,
 * how far it got (to check that seeds reach what they are meant to). */
static inline bool fuzz_verbose(void)
{
	static int v = -1;
	if (v < 0)
		v = getenv("ARTMON_FUZZ_VERBOSE") != NULL;
	return v;
}

/*
 * A path naming a file that holds data[0..len): an anonymous memory file
 * (memfd), for code under test that reads files by name.  Returns the
 * descriptor (close it when done) and fills path.
 */
int fuzz_memfile(const uint8_t *data, size_t len, char *path,
		 size_t pathlen);

#endif /* ARTMON_FUZZ_H */
