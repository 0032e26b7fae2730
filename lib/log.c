/*
 * log.c: stderr-then-syslog logging with rate-limited complaints.
 *
 * See log.h.  Logging is never on the packet path: per-packet problems are
 * counted, and counters are printed; a log line is for something an operator
 * must act on, or a state change.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *log_progname = "artmon";
static int log_verbose;
static bool log_syslog;

void log_init(const char *progname, int verbosity)
{
	log_progname = progname;
	log_verbose = verbosity;
	log_syslog = false;
}

void log_to_syslog(int facility)
{
	openlog(log_progname, LOG_PID | LOG_NDELAY, facility);
	log_syslog = true;
}

int log_verbosity(void)
{
	return log_verbose;
}

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char msg[1024];

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_syslog) {
		if (suffix)
			syslog(pri, "%s: %s", msg, suffix);
		else
			syslog(pri, "%s", msg);
		return;
	}
	if (suffix)
		fprintf(stderr, "%s: %s: %s\n", log_progname, msg, suffix);
	else
		fprintf(stderr, "%s: %s\n", log_progname, msg);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

void complain(struct complaint *c, const char *fmt, ...)
{
	va_list ap;
	time_t now = time(NULL);
	char msg[768];

	if (c->last != 0 && now < c->last + (time_t)c->interval) {
		c->suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->suppressed > 0)
		log_warnx("%s (%llu more since last report)", msg,
			  (unsigned long long)c->suppressed);
	else
		log_warnx("%s", msg);
	/* Back off 10 s, 20 s, ... up to a day, so a week-long outage logs
	 * a few dozen lines, not a million. */
	c->interval = c->interval == 0 ? 10 : c->interval * 2;
	if (c->interval > 86400)
		c->interval = 86400;
	c->last = now;
	c->suppressed = 0;
}

void complaint_release(struct complaint *c, const char *fmt, ...)
{
	va_list ap;
	char msg[768];

	if (c->last == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_info("%s", msg);
	c->last = 0;
	c->interval = 0;
	c->suppressed = 0;
}
