/*
 * svg.h: small inline SVG time charts for the HTML report: SmokePing's
 * "smoke" (shaded percentile bands around a median line coloured by the
 * error rate), lines, and bars, over a time axis.
 *
 * A chart is written into a GString as one <svg> element with a viewBox,
 * so the page scales it to its column; nothing refers to anything
 * outside the element (no fonts, no images, no scripts).  Values are
 * given per step: t[i] is the step's start, and a NAN value leaves the
 * step empty (a gap shows as a gap).
 */
#ifndef ARTMON_SVG_H
#define ARTMON_SVG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct svg_chart {
	GString *out;
	double w, h;			/* the viewBox */
	double left, right, top, bottom;	/* margins of the plot */
	int64_t t0, t1;			/* time range on x */
	double y1;			/* top of the y axis (bottom is 0) */
	int clip;			/* this chart's clip-path id */
};

/*
 * Start a chart of w x h units showing [t0, t1) and 0..ymax (rounded up
 * to a round number), with a title for screen readers.  fmt prints a
 * y-axis value (NULL: short round numbers, 1.5k, 20M); unit is written
 * above the axis.
 */
void svg_begin(struct svg_chart *c, GString *out, double w, double h,
	       int64_t t0, int64_t t1, double ymax, const char *title,
	       const char *unit, void (*fmt)(double, char *, size_t));
void svg_end(struct svg_chart *c);

/* A band from lo[i] to hi[i] over each step, filled with fill. */
void svg_band(struct svg_chart *c, const int64_t *t, int64_t step,
	      const double *lo, const double *hi, unsigned n,
	      const char *fill, double opacity);

/* A step line of v whose colour is palette[color[i]] in each step. */
void svg_step_line(struct svg_chart *c, const int64_t *t, int64_t step,
		   const double *v, const int *color, unsigned n,
		   const char *const *palette, double width);

/* A line through the middle of each step, broken at gaps. */
void svg_line(struct svg_chart *c, const int64_t *t, int64_t step,
	      const double *v, unsigned n, const char *stroke, double width,
	      bool dashed);

/* A bar per step. */
void svg_bars(struct svg_chart *c, const int64_t *t, int64_t step,
	      const double *v, unsigned n, const char *fill);

/* A short text in the plot's top-left corner ("no drops"). */
void svg_label(struct svg_chart *c, const char *text);

/* Text for HTML and SVG: & < > " ' escaped. */
void html_escape(GString *out, const char *s);

#endif /* ARTMON_SVG_H */
