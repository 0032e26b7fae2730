/*
 * spool.c: batches on disk until the collector has them (see spool.h).
 *
 * Place in the data flow: summary -> output thread -> [spool] -> shipper
 * -> collector.  The output thread writes each encoded batch here before
 * anything is sent; the shipper reads them back oldest first and deletes
 * each when its ACK arrives.  The spool knows nothing of the network or
 * of what a batch contains: it stores payloads and checks their CRC.
 *
 * Crash safety.  A batch is written to ".NNN.tmp", fsync'd, renamed to
 * "NNN.batch", and the directory fsync'd, so a name ending in .batch
 * always holds a complete file (unless the disk damaged it later: the
 * magic, length and CRC catch that, and the file is moved to corrupt/).
 * Deletion after an ACK is not fsync'd: if a crash forgets it, the batch
 * is sent again and the collector answers "already have it".
 *
 * The index (sequence number, size, in flight or not) lives in memory, in
 * send order: a GQueue, plus a hash from sequence number to queue link so
 * that an ACK deletes in O(1).  A million files cost ~60 MB of index; at
 * the default 1 GiB limit and typical batches of tens of kB there are
 * tens of thousands.
 *
 * One sensor per spool: the directory is flock()ed, so a second sensor
 * pointed at it refuses to start instead of sending the same files.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "wire.h"

/* 20 digits hold every uint64_t, so lexical order is numeric order. */
#define NAME_FMT "%020" PRIu64 ".batch"
#define TMP_FMT ".%020" PRIu64 ".tmp"
#define NAME_LEN 26

struct entry {
	uint64_t seq;
	uint64_t size;		/* of the file, header included */
	bool inflight;
};

struct spool {
	char *dir;
	int dirfd;
	uint64_t max;
	GMutex lock;
	GQueue order;		/* struct entry *, oldest first */
	GHashTable *by_seq;	/* &entry->seq -> GList link in order */
	uint64_t next_seq;
	uint64_t bytes;
	uint64_t dropped_unreported;	/* for the next health row */
	struct spool_stats st;
	struct complaint full, damaged, io;
	void (*notify)(void *);
	void *notify_ctx;
};

/* ----------------------------------------------------------------------
 * CRC-32
 */

static uint32_t crc_table[256];

static gpointer crc_init(gpointer unused)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	return NULL;
}

uint32_t spool_crc32(const void *buf, size_t len)
{
	static GOnce once = G_ONCE_INIT;
	const uint8_t *p = buf;
	uint32_t c = 0xffffffffu;

	g_once(&once, crc_init, NULL);
	for (size_t i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* ----------------------------------------------------------------------
 * Internal helpers
 */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

/* Check a whole file's bytes; the payload, or NULL with why. */
static GBytes *check_file(GBytes *file, const char **why)
{
	gsize n;
	const uint8_t *p = g_bytes_get_data(file, &n);

	if (n < SPOOL_HEADER_LEN || memcmp(p, SPOOL_MAGIC, 8) != 0) {
		*why = "no spool header";
		return NULL;
	}
	if (get_be32(p + 8) != SPOOL_VERSION) {
		*why = "unknown spool version";
		return NULL;
	}
	uint32_t len = get_be32(p + 12);
	if (len != n - SPOOL_HEADER_LEN) {
		*why = "length does not match the file's size (torn write?)";
		return NULL;
	}
	if (len < WIRE_BATCH_ID_LEN) {
		*why = "too short for a batch";
		return NULL;
	}
	if (spool_crc32(p + SPOOL_HEADER_LEN, len) != get_be32(p + 16)) {
		*why = "CRC mismatch";
		return NULL;
	}
	return g_bytes_new_from_bytes(file, SPOOL_HEADER_LEN, len);
}

/* Read a whole file (at most the largest frame plus header). */
static GBytes *read_fd(int fd, GError **err, const char *name)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    "%s: %s", name, g_strerror(errno));
		return NULL;
	}
	if (sb.st_size > (off_t)(WIRE_FRAME_MAX + SPOOL_HEADER_LEN)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: %lld bytes: too large for a batch", name,
			    (long long)sb.st_size);
		return NULL;
	}
	size_t want = (size_t)sb.st_size, got = 0;
	uint8_t *buf = g_malloc(want ? want : 1);
	while (got < want) {
		ssize_t r = read(fd, buf + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				break;	/* shrank: the check will say so */
			g_set_error(err, G_IO_ERROR,
				    g_io_error_from_errno(errno), "%s: %s",
				    name, g_strerror(errno));
			g_free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	return g_bytes_new_take(buf, got);
}

GBytes *spool_file_read(const char *path, GError **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const char *why = NULL;

	if (fd < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    "%s: %s", path, g_strerror(errno));
		return NULL;
	}
	GBytes *file = read_fd(fd, err, path);
	close(fd);
	if (!file)
		return NULL;
	GBytes *payload = check_file(file, &why);
	g_bytes_unref(file);
	if (!payload)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: damaged spool file: %s", path, why);
	return payload;
}

static bool parse_name(const char *name, uint64_t *seq)
{
	if (strlen(name) != NAME_LEN || strcmp(name + 20, ".batch") != 0)
		return false;
	uint64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (!g_ascii_isdigit(name[i]))
			return false;
		uint64_t d = (uint64_t)(name[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v == UINT64_MAX)
		return false;	/* the next would wrap to 0 */
	*seq = v;
	return true;
}

static gint cmp_found(gconstpointer a, gconstpointer b)
{
	const struct entry *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Under the lock. */
static void forget(struct spool *sp, GList *link)
{
	struct entry *e = link->data;
	g_hash_table_remove(sp->by_seq, &e->seq);
	g_queue_delete_link(&sp->order, link);
	sp->bytes -= e->size;
	g_free(e);
}

/* Append: sequence numbers only grow (one writer; the scan sorts). */
static void index_add(struct spool *sp, uint64_t seq, uint64_t size)
{
	struct entry *e = g_new0(struct entry, 1);
	e->seq = seq;
	e->size = size;
	g_assert(!sp->order.tail ||
		 ((struct entry *)sp->order.tail->data)->seq < seq);
	g_queue_push_tail(&sp->order, e);
	g_hash_table_insert(sp->by_seq, &e->seq, sp->order.tail);
	sp->bytes += size;
}

/* Move a file into sub/ (created on demand), under the lock. */
static int move_aside(struct spool *sp, const char *name, const char *sub)
{
	char dst[64];

	if (mkdirat(sp->dirfd, sub, 0700) != 0 && errno != EEXIST)
		return -1;
	snprintf(dst, sizeof dst, "%s/%s", sub, name);
	return renameat(sp->dirfd, name, sp->dirfd, dst);
}

/* ----------------------------------------------------------------------
 * API
 */

static int fail_errno(GError **err, const char *what, const char *path)
{
	int e = errno;
	g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e), "%s %s: %s",
		    what, path, g_strerror(e));
	return -1;
}

static int scan(struct spool *sp, GError **err)
{
	int fd = dup(sp->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return fail_errno(err, "cannot read spool directory", sp->dir);
	}
	GArray *found = g_array_new(FALSE, FALSE, sizeof(struct entry));
	while ((de = readdir(d))) {
		struct entry e = { 0 };
		struct stat sb;
		if (g_str_has_suffix(de->d_name, ".tmp")) {
			/* A write the last run did not finish: it was never
			 * renamed, so never counted as spooled. */
			unlinkat(sp->dirfd, de->d_name, 0);
			continue;
		}
		if (!parse_name(de->d_name, &e.seq))
			continue;
		if (fstatat(sp->dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		e.size = (uint64_t)sb.st_size;
		g_array_append_val(found, e);
	}
	closedir(d);
	/* readdir's order is the file system's: sort once, then append. */
	g_array_sort(found, cmp_found);
	for (guint i = 0; i < found->len; i++) {
		const struct entry *e = &g_array_index(found, struct entry, i);
		index_add(sp, e->seq, e->size);
		sp->st.loaded++;
		sp->next_seq = e->seq + 1;
	}
	g_array_free(found, TRUE);
	return 0;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, GError **err)
{
	struct spool *sp = g_new0(struct spool, 1);
	struct stat sb;

	sp->dir = g_strdup(dir);
	sp->dirfd = -1;
	sp->max = max_bytes;
	g_mutex_init(&sp->lock);
	g_queue_init(&sp->order);
	sp->by_seq = g_hash_table_new(g_int64_hash, g_int64_equal);

	/* Parents as a package would make them; the spool itself private. */
	g_autofree gchar *parent = g_path_get_dirname(dir);
	if (g_mkdir_with_parents(parent, 0755) != 0 ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
		fail_errno(err, "cannot create spool directory", dir);
		goto fail;
	}
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0 || fstat(sp->dirfd, &sb) != 0) {
		fail_errno(err, "cannot open spool directory", dir);
		goto fail;
	}
	if (flock(sp->dirfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_BUSY,
				    "spool directory %s is in use by another "
				    "sensor (give each its own spool_dir)", dir);
		else
			fail_errno(err, "cannot lock spool directory", dir);
		goto fail;
	}
	if (scan(sp, err) != 0)
		goto fail;
	if (sp->st.loaded)
		log_info("spool %s: %" G_GUINT64_FORMAT " batches (%"
			 G_GUINT64_FORMAT " bytes) from an earlier run will be "
			 "sent first", dir, sp->st.loaded, sp->bytes);
	return sp;
fail:
	spool_close(sp);
	return NULL;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	if (sp->dirfd >= 0)
		close(sp->dirfd);	/* releases the flock */
	g_queue_clear_full(&sp->order, g_free);
	g_hash_table_destroy(sp->by_seq);
	g_mutex_clear(&sp->lock);
	g_free(sp->dir);
	g_free(sp);
}

int spool_chown(struct spool *sp, uid_t uid, gid_t gid, GError **err)
{
	static const char *const subs[] = { "corrupt", "rejected" };

	if (fchown(sp->dirfd, uid, gid) != 0)
		return fail_errno(err, "cannot chown spool directory", sp->dir);
	for (GList *l = sp->order.head; l; l = l->next) {
		char name[NAME_LEN + 1];
		snprintf(name, sizeof name, NAME_FMT,
			 ((struct entry *)l->data)->seq);
		if (fchownat(sp->dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 &&
		    errno != ENOENT)
			return fail_errno(err, "cannot chown spool file", name);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(subs); i++)
		if (fchownat(sp->dirfd, subs[i], uid, gid, AT_SYMLINK_NOFOLLOW) != 0 &&
		    errno != ENOENT)
			return fail_errno(err, "cannot chown", subs[i]);
	return 0;
}

void spool_set_notify(struct spool *sp, void (*fn)(void *ctx), void *ctx)
{
	sp->notify = fn;
	sp->notify_ctx = ctx;
}

/* Under the lock: delete the oldest batch not in flight; false if none. */
static bool drop_oldest(struct spool *sp)
{
	for (GList *l = sp->order.head; l; l = l->next) {
		struct entry *e = l->data;
		char name[NAME_LEN + 1];
		if (e->inflight)
			continue;
		snprintf(name, sizeof name, NAME_FMT, e->seq);
		if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)
			complain(&sp->io, "spool %s: cannot delete %s: %s",
				 sp->dir, name, g_strerror(errno));
		forget(sp, l);
		sp->st.dropped++;
		sp->dropped_unreported++;
		return true;
	}
	return false;
}

static int write_file(struct spool *sp, uint64_t seq, const void *payload,
		      size_t len, GError **err)
{
	char tmp[NAME_LEN + 8], name[NAME_LEN + 1];
	uint8_t hdr[SPOOL_HEADER_LEN];
	struct iovec iov[2];
	size_t total = SPOOL_HEADER_LEN + len, done = 0;

	memcpy(hdr, SPOOL_MAGIC, 8);
	put_be32(hdr + 8, SPOOL_VERSION);
	put_be32(hdr + 12, (uint32_t)len);
	put_be32(hdr + 16, spool_crc32(payload, len));
	snprintf(tmp, sizeof tmp, TMP_FMT, seq);
	snprintf(name, sizeof name, NAME_FMT, seq);

	int fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0600);
	if (fd < 0)
		return fail_errno(err, "cannot create", tmp);
	while (done < total) {
		int n = 0;
		if (done < SPOOL_HEADER_LEN) {
			iov[n].iov_base = hdr + done;
			iov[n++].iov_len = SPOOL_HEADER_LEN - done;
			iov[n].iov_base = (void *)payload;
			iov[n++].iov_len = len;
		} else {
			iov[n].iov_base = (uint8_t *)payload + (done - SPOOL_HEADER_LEN);
			iov[n++].iov_len = total - done;
		}
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			goto fail;
		}
		done += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(sp->dirfd, tmp, sp->dirfd, name) != 0)
		goto fail;
	/* The rename is durable only once the directory is. */
	if (fsync(sp->dirfd) != 0)
		goto fail;
	return 0;
fail:
	fail_errno(err, "cannot write spool file", name);
	if (fd >= 0)
		close(fd);
	unlinkat(sp->dirfd, tmp, 0);
	return -1;
}

int spool_add(struct spool *sp, const void *payload, size_t len,
	      GError **err)
{
	uint64_t size = SPOOL_HEADER_LEN + len, seq, before;

	g_return_val_if_fail(len <= WIRE_FRAME_MAX, -1);
	g_mutex_lock(&sp->lock);
	before = sp->st.dropped;
	while (sp->bytes + size > sp->max && drop_oldest(sp))
		;
	if (sp->st.dropped > before)
		complain(&sp->full, "spool %s is full (%" G_GUINT64_FORMAT
			 " bytes max): dropped the %" G_GUINT64_FORMAT
			 " oldest batches; %" G_GUINT64_FORMAT " dropped since "
			 "start (raise spool_max, or is the collector down?)",
			 sp->dir, sp->max, sp->st.dropped - before,
			 sp->st.dropped);
	seq = sp->next_seq++;
	g_mutex_unlock(&sp->lock);

	/* One writer (the output thread): the file I/O needs no lock, and
	 * the shipper keeps reading and deleting meanwhile. */
	int rc = write_file(sp, seq, payload, len, err);

	g_mutex_lock(&sp->lock);
	if (rc == 0) {
		index_add(sp, seq, size);
		sp->st.spooled++;
		complaint_release(&sp->io, "spool %s: writing again", sp->dir);
	} else {
		/* Not stored anywhere: a lost batch, counted as one. */
		sp->st.dropped++;
		sp->dropped_unreported++;
	}
	g_mutex_unlock(&sp->lock);
	if (rc == 0 && sp->notify)
		sp->notify(sp->notify_ctx);
	return rc;
}

bool spool_take(struct spool *sp, uint64_t *seq)
{
	bool found = false;

	g_mutex_lock(&sp->lock);
	for (GList *l = sp->order.head; l; l = l->next) {
		struct entry *e = l->data;
		if (!e->inflight) {
			e->inflight = true;
			*seq = e->seq;
			found = true;
			break;
		}
	}
	g_mutex_unlock(&sp->lock);
	return found;
}

void spool_untake_all(struct spool *sp)
{
	g_mutex_lock(&sp->lock);
	for (GList *l = sp->order.head; l; l = l->next)
		((struct entry *)l->data)->inflight = false;
	g_mutex_unlock(&sp->lock);
}

GBytes *spool_read(struct spool *sp, uint64_t seq, GError **err)
{
	char name[NAME_LEN + 1];
	const char *why = NULL;
	GBytes *payload = NULL;

	snprintf(name, sizeof name, NAME_FMT, seq);
	int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		g_mutex_lock(&sp->lock);
		GList *l = g_hash_table_lookup(sp->by_seq, &seq);
		if (l && e == ENOENT)
			forget(sp, l);	/* deleted behind our back */
		g_mutex_unlock(&sp->lock);
		errno = e;
		fail_errno(err, "cannot open spool file", name);
		return NULL;
	}
	GBytes *file = read_fd(fd, err, name);
	close(fd);
	if (!file)
		return NULL;
	payload = check_file(file, &why);
	g_bytes_unref(file);
	if (payload)
		return payload;

	g_mutex_lock(&sp->lock);
	GList *l = g_hash_table_lookup(sp->by_seq, &seq);
	if (l)
		forget(sp, l);
	sp->st.corrupt++;
	if (move_aside(sp, name, "corrupt") != 0)
		unlinkat(sp->dirfd, name, 0);
	complain(&sp->damaged, "spool %s: %s is damaged (%s): moved to "
		 "corrupt/, not sent; %" G_GUINT64_FORMAT " so far", sp->dir,
		 name, why, sp->st.corrupt);
	g_mutex_unlock(&sp->lock);
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		    "spool file %s is damaged: %s", name, why);
	return NULL;
}

void spool_remove(struct spool *sp, uint64_t seq)
{
	char name[NAME_LEN + 1];

	snprintf(name, sizeof name, NAME_FMT, seq);
	g_mutex_lock(&sp->lock);
	GList *l = g_hash_table_lookup(sp->by_seq, &seq);
	if (l) {
		if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)
			complain(&sp->io, "spool %s: cannot delete %s: %s",
				 sp->dir, name, g_strerror(errno));
		forget(sp, l);
		sp->st.acked++;
	}
	g_mutex_unlock(&sp->lock);
}

void spool_set_aside(struct spool *sp, uint64_t seq)
{
	char name[NAME_LEN + 1];

	snprintf(name, sizeof name, NAME_FMT, seq);
	g_mutex_lock(&sp->lock);
	GList *l = g_hash_table_lookup(sp->by_seq, &seq);
	if (l) {
		if (move_aside(sp, name, "rejected") != 0)
			log_warn("spool %s: cannot move %s to rejected/",
				 sp->dir, name);
		forget(sp, l);
		sp->st.rejected++;
	}
	g_mutex_unlock(&sp->lock);
}

uint64_t spool_count(struct spool *sp)
{
	g_mutex_lock(&sp->lock);
	uint64_t n = sp->order.length;
	g_mutex_unlock(&sp->lock);
	return n;
}

uint64_t spool_take_dropped(struct spool *sp)
{
	g_mutex_lock(&sp->lock);
	uint64_t n = sp->dropped_unreported;
	sp->dropped_unreported = 0;
	g_mutex_unlock(&sp->lock);
	return n;
}

void spool_get_stats(struct spool *sp, struct spool_stats *st)
{
	g_mutex_lock(&sp->lock);
	*st = sp->st;
	st->files = sp->order.length;
	st->bytes = sp->bytes;
	g_mutex_unlock(&sp->lock);
}
