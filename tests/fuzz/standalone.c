/*
 * standalone.c: main() for a fuzz target built without libFuzzer.
 *
 * `replay-T FILE|DIR...` runs the target once on each file (a directory:
 * each regular file in it, in name order), the way libFuzzer replays a
 * crash input.  With sanitizers this is how `make check` keeps every
 * crash input ever found from coming back: tests/fuzz_replay.sh runs each
 * target over tests/fuzz/seeds/T and tests/fuzz/regressions/T.
 *
 * Prints "T: N inputs" on success; a broken input crashes, as it would
 * under libFuzzer, and the sanitizer's report names it.
 */
#include "config.h"

#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

/* Optional in a target: a weak reference is NULL when it is absent. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned run_file(const char *path)
{
	gchar *buf = NULL;
	gsize len = 0;
	GError *err = NULL;

	if (!g_file_get_contents(path, &buf, &len, &err)) {
		fprintf(stderr, "%s\n", err->message);
		exit(2);
	}
	/* A copy of exactly len bytes, so ASan sees a read past the end
	 * (g_file_get_contents adds a NUL that would hide it). */
	uint8_t *copy = g_malloc(len ? len : 1);
	memcpy(copy, buf, len);
	g_free(buf);
	fprintf(stderr, "running %s (%zu bytes)\n", path, (size_t)len);
	LLVMFuzzerTestOneInput(copy, len);
	g_free(copy);
	return 1;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static unsigned run_dir(const char *dir)
{
	GError *err = NULL;
	GDir *d = g_dir_open(dir, 0, &err);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *n;
	unsigned count = 0;

	if (!d) {
		fprintf(stderr, "%s\n", err->message);
		exit(2);
	}
	while ((n = g_dir_read_name(d)))
		if (n[0] != '.')
			g_ptr_array_add(names, g_build_filename(dir, n, NULL));
	g_dir_close(d);
	g_ptr_array_sort(names, cmp_str);
	for (unsigned i = 0; i < names->len; i++)
		if (g_file_test(names->pdata[i], G_FILE_TEST_IS_REGULAR))
			count += run_file(names->pdata[i]);
	g_ptr_array_free(names, TRUE);
	return count;
}

int main(int argc, char **argv)
{
	unsigned count = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		count += g_file_test(argv[i], G_FILE_TEST_IS_DIR)
				 ? run_dir(argv[i])
				 : run_file(argv[i]);
	g_autofree gchar *base = g_path_get_basename(argv[0]);
	printf("%s: %u inputs\n", base, count);
	return 0;
}
