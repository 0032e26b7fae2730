/*
 * rtime.h: the times and durations of artmon's command-line tools.
 *
 * Durations are a number and a unit: "200ms", "90s", "20m", "6h", "2d",
 * "1w", "2y" (a year is 365 days, a month is not offered: its length
 * varies); a bare number is seconds unless the caller says otherwise.
 * Times are ISO 8601 ("2026-11-20", "2026-11-20 13:00",
 * "2026-11-20T13:00:05+01:00", "...Z"), "now", or "@EPOCH"; without an
 * offset they are local time (TZ).  Everything is kept as microseconds
 * (durations) or epoch seconds (times) in int64_t.
 */
#ifndef ARTMON_RTIME_H
#define ARTMON_RTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define US_PER_SEC INT64_C(1000000)

/*
 * Parse a duration into microseconds.  bare_unit_us is what a number
 * without a unit counts (US_PER_SEC for seconds, 60 * US_PER_SEC for
 * minutes).  False if s is not a duration, is negative or overflows.
 */
bool rtime_parse_duration(const char *s, int64_t bare_unit_us, int64_t *us);

/* Parse a time into epoch seconds (fractions dropped); now is "now". */
bool rtime_parse_time(const char *s, int64_t now, int64_t *epoch);

/* "6h", "30m", "1d 2h", "90s": a duration in seconds, for people. */
void rtime_format_span(int64_t secs, char *buf, size_t len);

/* "2026-11-20 13:05" in local time (seconds shown when not zero). */
void rtime_format_time(int64_t epoch, char *buf, size_t len);
/* Only what differs from ref's day: "13:05" on the same day. */
void rtime_format_time_short(int64_t epoch, int64_t ref, char *buf,
			     size_t len);
/* ISO 8601 with offset, for CSV and JSON: "2026-11-20T13:05:00+00:00". */
void rtime_format_iso(int64_t epoch, char *buf, size_t len);
/* The local zone's abbreviation at epoch ("UTC", "CET"). */
void rtime_zone_name(int64_t epoch, char *buf, size_t len);

/*
 * A step for about `points` points over span seconds: the smallest of
 * 5m, 10m, 15m, 30m, 1h, 2h, 3h, 6h, 12h, 1d, 2d, 7d that gives no more.
 */
int64_t rtime_auto_step(int64_t span, int points);

/* floor(t / step) * step, for negative t too. */
int64_t rtime_floor(int64_t t, int64_t step);

#endif /* ARTMON_RTIME_H */
