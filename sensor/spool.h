/*
 * spool.h: the sensor's on-disk queue of batches not yet acknowledged.
 *
 * Every batch bound for the collector is written here, fsync'd, before it
 * is sent, and deleted only when the collector ACKs it (after its database
 * commit), so a batch survives a dead collector, a dead database and a
 * killed sensor.  One file per batch, named by a sequence number so that
 * lexical order is send order; format in docs/wire-protocol.md section 15.
 *
 * Bounded: the files' total size stays under max_bytes by deleting the
 * oldest batches that are not in flight; each one is counted (for the
 * health rows and the counters) and logged, rate-limited.  Loss is never
 * silent.
 *
 * Thread-safe: the output thread adds, the shipper thread takes, reads,
 * removes; the packet thread takes the drop count.  One mutex; file I/O
 * for a new batch happens outside it.
 */
#ifndef ARTMON_SPOOL_H
#define ARTMON_SPOOL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SPOOL_MAGIC "ARTSPOOL"
#define SPOOL_VERSION 1
#define SPOOL_HEADER_LEN 20	/* magic 8, version 4, length 4, CRC 4 */
#define SPOOL_MAX_DEFAULT (1ull << 30)

struct spool;

struct spool_stats {
	uint64_t files, bytes;	/* held now */
	uint64_t spooled;	/* batches written since start */
	uint64_t acked;		/* deleted on ACK */
	uint64_t dropped;	/* deleted to stay under max (or unwritable) */
	uint64_t corrupt;	/* found damaged, moved to corrupt/ */
	uint64_t rejected;	/* refused by the collector, in rejected/ */
	uint64_t loaded;	/* found at start (a previous run's) */
};

/*
 * Open (creating, mode 0700, if missing) the spool directory, delete
 * leftover temporary files, and index the batches already there; new
 * batches are numbered after the highest.  Before dropping privileges.
 */
struct spool *spool_open(const char *dir, uint64_t max_bytes, GError **err);
void spool_close(struct spool *sp);

/* Give the directory, its subdirectories and files to uid:gid (the user
 * the sensor will run as).  As root, after spool_open. */
int spool_chown(struct spool *sp, uid_t uid, gid_t gid, GError **err);

/* Called (from the adding thread) after each spool_add(). */
void spool_set_notify(struct spool *sp, void (*fn)(void *ctx), void *ctx);

/*
 * Write payload as the newest batch: temporary file, fsync, rename,
 * fsync of the directory.  First deletes the oldest batches not in flight
 * until it fits under max_bytes (the newest is always kept).  -1 if it
 * could not be written; that batch is counted as dropped.
 */
int spool_add(struct spool *sp, const void *payload, size_t len,
	      GError **err);

/* The oldest batch not in flight: mark it in flight, *seq; false if none. */
bool spool_take(struct spool *sp, uint64_t *seq);
/* Every batch in flight is not any more (the connection ended). */
void spool_untake_all(struct spool *sp);

/*
 * Read and check batch seq; the payload.  A damaged file is moved to
 * corrupt/, counted, logged and forgotten: NULL.  A file that vanished
 * (dropped meanwhile) is forgotten: NULL.
 */
GBytes *spool_read(struct spool *sp, uint64_t seq, GError **err);

/* The collector has it: delete. */
void spool_remove(struct spool *sp, uint64_t seq);
/* The collector refuses it for good: move to rejected/. */
void spool_set_aside(struct spool *sp, uint64_t seq);

/* Batches held (in flight or not). */
uint64_t spool_count(struct spool *sp);
/* Drops since the last call (for the next health row). */
uint64_t spool_take_dropped(struct spool *sp);
void spool_get_stats(struct spool *sp, struct spool_stats *st);

/* Read and check one spool file by path (for --decode-spool). */
GBytes *spool_file_read(const char *path, GError **err);

/* CRC-32 (IEEE 802.3, as zlib's crc32()). */
uint32_t spool_crc32(const void *buf, size_t len);

#endif /* ARTMON_SPOOL_H */
