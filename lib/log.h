/*
 * log.h: logging shared by every artmon program.
 *
 * In the manner of OpenBSD's log.c: messages go to stderr until the program
 * daemonises, then to syslog.  log_warn() appends strerror(errno);
 * log_warnx() does not.  log_debug() prints only at verbosity >= 1.
 *
 * A failure that repeats (the database is down, the collector refuses) must
 * not flood the log: a struct complaint logs the first occurrence, then at
 * most once per interval with a count, and one "recovered" line when
 * complaint_release() is called (collectd's c_complain / c_release).
 */
#ifndef ARTMON_LOG_H
#define ARTMON_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

void log_init(const char *progname, int verbosity);
/* Switch to syslog (after daemonising).  facility: LOG_DAEMON etc. */
void log_to_syslog(int facility);
int log_verbosity(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1): only for start-up errors and impossible states. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

struct complaint {
	time_t last;		/* wall clock of the last line logged; 0: quiet */
	unsigned interval;	/* seconds between repeats (starts at 10) */
	uint64_t suppressed;	/* occurrences since the last line */
};

#define COMPLAINT_INIT { 0, 0, 0 }

void complain(struct complaint *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void complaint_release(struct complaint *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* ARTMON_LOG_H */
