/*
 * rtime.c: parsing and printing times and durations; see rtime.h.
 *
 * Used by artmon-report and artmon-summarise, which take durations with
 * weeks and years ("--keep-level2 2y"), unlike lib/conffile.c's
 * configuration durations (seconds to days).  Parsing is strict: a
 * trailing character, an empty number or a value past int64 is an
 * error, so "6hh" or "1e99d" never slip through as something else.
 * Local time is the C library's (TZ); nothing here knows about DST
 * beyond what mktime and localtime_r do.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtime.h"

/* ----------------------------------------------------------------------
 * Durations
 */

static const struct {
	const char *name;
	int64_t us;
} units[] = {
	{ "us", 1 },
	{ "ms", 1000 },
	{ "s", US_PER_SEC },
	{ "sec", US_PER_SEC },
	{ "m", 60 * US_PER_SEC },
	{ "min", 60 * US_PER_SEC },
	{ "h", 3600 * US_PER_SEC },
	{ "d", 86400 * US_PER_SEC },
	{ "w", 7 * 86400 * US_PER_SEC },
	{ "y", 365 * 86400 * US_PER_SEC },
};

bool rtime_parse_duration(const char *s, int64_t bare_unit_us, int64_t *us)
{
	const char *p = s;
	double whole = 0, frac = 0, scale = 1;
	bool digits = false;

	if (!s)
		return false;
	while (isdigit((unsigned char)*p)) {
		whole = whole * 10 + (*p++ - '0');
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			scale /= 10;
			frac += (*p++ - '0') * scale;
			digits = true;
		}
	}
	if (!digits)
		return false;
	int64_t unit = bare_unit_us;
	if (*p) {
		unit = 0;
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strcmp(p, units[i].name) == 0)
				unit = units[i].us;
		if (!unit)
			return false;
	}
	double v = (whole + frac) * (double)unit;
	if (v >= 9.2e18)
		return false;
	*us = (int64_t)(v + 0.5);
	return true;
}

/* ----------------------------------------------------------------------
 * Times
 */

/* n digits exactly, as a number; -1 if not. */
static int take_digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

/* Days since the epoch of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool rtime_parse_time(const char *s, int64_t now, int64_t *epoch)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, se = 0;

	if (!s || !*s)
		return false;
	if (strcmp(s, "now") == 0) {
		*epoch = now;
		return true;
	}
	if (*s == '@') {
		char *end;
		long long v = strtoll(s + 1, &end, 10);
		if (end == s + 1 || *end)
			return false;
		*epoch = v;
		return true;
	}
	if ((y = take_digits(&p, 4)) < 0 || *p++ != '-' ||
	    (mo = take_digits(&p, 2)) < 1 || mo > 12 || *p++ != '-' ||
	    (d = take_digits(&p, 2)) < 1 || d > 31)
		return false;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if ((h = take_digits(&p, 2)) < 0 || h > 23 || *p++ != ':' ||
		    (mi = take_digits(&p, 2)) < 0 || mi > 59)
			return false;
		if (*p == ':') {
			p++;
			if ((se = take_digits(&p, 2)) < 0 || se > 60)
				return false;
			if (*p == '.') {	/* fractions: dropped */
				p++;
				if (!isdigit((unsigned char)*p))
					return false;
				while (isdigit((unsigned char)*p))
					p++;
			}
		}
	}
	/* A date that does not exist (2026-02-30) is an error. */
	int64_t days = days_from_civil(y, mo, d);
	int64_t ny = y, nmo = mo;
	if (mo == 12) {
		ny++;
		nmo = 1;
	} else {
		nmo++;
	}
	if (days >= days_from_civil(ny, (int)nmo, 1))
		return false;
	int64_t secs = days * 86400 + h * 3600 + mi * 60 + se;

	if (*p == 'Z' || *p == 'z') {
		if (p[1])
			return false;
		*epoch = secs;
		return true;
	}
	if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		int oh = take_digits(&p, 2), om = 0;
		if (oh < 0 || oh > 14)
			return false;
		if (*p == ':')
			p++;
		if (*p && (om = take_digits(&p, 2)) < 0)
			return false;
		if (*p || om > 59)
			return false;
		*epoch = secs - sign * (oh * 3600 + om * 60);
		return true;
	}
	if (*p)
		return false;
	/* Local time. */
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
		return false;
	*epoch = (int64_t)t;
	return true;
}

void rtime_format_span(int64_t secs, char *buf, size_t len)
{
	static const struct {
		int64_t secs;
		const char *unit;
	} u[] = { { 86400, "d" }, { 3600, "h" }, { 60, "m" }, { 1, "s" } };
	size_t used = 0;

	buf[0] = '\0';
	if (secs <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < 4 && secs > 0; i++) {
		if (secs < u[i].secs)
			continue;
		int n = snprintf(buf + used, len - used, "%s%lld%s",
				 used ? " " : "",
				 (long long)(secs / u[i].secs), u[i].unit);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
		secs %= u[i].secs;
	}
}

void rtime_format_time(int64_t epoch, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)epoch;

	localtime_r(&t, &tm);
	if (tm.tm_sec)
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

void rtime_format_time_short(int64_t epoch, int64_t ref, char *buf,
			     size_t len)
{
	struct tm tm, rt;
	time_t t = (time_t)epoch, r = (time_t)ref;

	localtime_r(&t, &tm);
	localtime_r(&r, &rt);
	if (tm.tm_year == rt.tm_year && tm.tm_yday == rt.tm_yday)
		strftime(buf, len, tm.tm_sec ? "%H:%M:%S" : "%H:%M", &tm);
	else
		rtime_format_time(epoch, buf, len);
}

void rtime_format_iso(int64_t epoch, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)epoch;
	char off[8];

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	/* %z is +hhmm; ISO 8601's extended form wants +hh:mm. */
	strftime(off, sizeof off, "%z", &tm);
	size_t n = strlen(buf);
	if (strlen(off) == 5 && n + 7 < len)
		snprintf(buf + n, len - n, "%.3s:%.2s", off, off + 3);
}

void rtime_zone_name(int64_t epoch, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)epoch;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Z", &tm);
}

int64_t rtime_auto_step(int64_t span, int points)
{
	static const int64_t steps[] = { 300, 600, 900, 1800, 3600, 7200,
					  10800, 21600, 43200, 86400,
					  2 * 86400, 7 * 86400 };
	size_t n = sizeof steps / sizeof steps[0];

	for (size_t i = 0; i < n; i++)
		if (span / steps[i] <= points)
			return steps[i];
	return steps[n - 1];
}

int64_t rtime_floor(int64_t t, int64_t step)
{
	int64_t q = t / step;
	if (t % step != 0 && t < 0)
		q--;
	return q * step;
}
