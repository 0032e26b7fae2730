/*
 * memfile.c: fuzz_memfile(), a named file for a fuzz input (fuzz.h).
 *
 * The configuration and spool readers take a path.  A memfd costs no
 * disk and disappears with its descriptor; /proc/self/fd/N names it.
 */
#include "config.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

int fuzz_memfile(const uint8_t *data, size_t len, char *path, size_t pathlen)
{
	int fd = memfd_create("artmon-fuzz", MFD_CLOEXEC);

	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n <= 0) {
			perror("write memfd");
			abort();
		}
		done += (size_t)n;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}
