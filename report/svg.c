/*
 * svg.c: inline SVG time charts; see svg.h.
 *
 * Coordinates are printed with one decimal: charts are a few hundred
 * units wide, so that is finer than a pixel and keeps the page small.
 * Bands and lines are paths (one per contiguous run of steps), not a
 * rectangle per step, for the same reason.  Axis ticks are round values
 * (1, 2, 5 times a power of ten) and round local times.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "svg.h"

static int clip_ids;

void html_escape(GString *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			g_string_append(out, "&amp;");
			break;
		case '<':
			g_string_append(out, "&lt;");
			break;
		case '>':
			g_string_append(out, "&gt;");
			break;
		case '"':
			g_string_append(out, "&quot;");
			break;
		case '\'':
			g_string_append(out, "&#39;");
			break;
		default:
			g_string_append_c(out, *s);
		}
	}
}

static double x_of(const struct svg_chart *c, double t)
{
	double pw = c->w - c->left - c->right;
	return c->left + (t - (double)c->t0) / (double)(c->t1 - c->t0) * pw;
}

static double y_of(const struct svg_chart *c, double v)
{
	double ph = c->h - c->top - c->bottom;
	if (v < 0)
		v = 0;
	if (v > c->y1 * 1.02)
		v = c->y1 * 1.02;	/* off the top: a sliver past it */
	return c->top + (1.0 - v / c->y1) * ph;
}

/* The smallest 1, 2 or 5 times 10^k that is >= v. */
static double nice_up(double v)
{
	if (!(v > 0))
		return 1;
	double p = pow(10, floor(log10(v)));
	double m = v / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* An axis value, short: 0.5, 2, 150, 1.5k, 20M. */
static void axis_number(double v, char *buf, size_t len)
{
	static const char *const sfx[] = { "", "k", "M", "G", "T" };
	int i = 0;

	while (fabs(v) >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, "%g%s", v, sfx[i]);
}

/* Local time offset at t, seconds east of UTC. */
static long local_offset(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	localtime_r(&tt, &tm);
	return tm.tm_gmtoff;
}

static void time_axis(struct svg_chart *c)
{
	static const int64_t ticks[] = { 300, 600, 900, 1800, 3600, 7200,
					 10800, 21600, 43200, 86400,
					 2 * 86400, 7 * 86400, 14 * 86400,
					 28 * 86400 };
	int64_t span = c->t1 - c->t0, tick = ticks[G_N_ELEMENTS(ticks) - 1];
	double yb = c->h - c->bottom;

	for (size_t i = 0; i < G_N_ELEMENTS(ticks); i++)
		if (span / ticks[i] <= 7) {
			tick = ticks[i];
			break;
		}
	long off = local_offset(c->t0);
	int64_t first = ((c->t0 + off + tick - 1) / tick) * tick - off;
	for (int64_t t = first; t <= c->t1; t += tick) {
		double x = x_of(c, (double)t);
		struct tm tm;
		time_t tt = (time_t)t;
		char lab[32];
		localtime_r(&tt, &tm);
		if (tick >= 86400 || (tm.tm_hour == 0 && tm.tm_min == 0 &&
				      span > 86400))
			strftime(lab, sizeof lab, "%a %d", &tm);
		else
			strftime(lab, sizeof lab, "%H:%M", &tm);
		/* A label at the right edge is drawn leftwards of it. */
		bool edge = x > c->w - c->right - 14;
		g_string_append_printf(c->out,
			"<line class=\"gl\" x1=\"%.1f\" y1=\"%.1f\" "
			"x2=\"%.1f\" y2=\"%.1f\"/>"
			"<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"%s\">%s</text>\n",
			x, c->top, x, yb, edge ? c->w - 2 : x, yb + 13,
			edge ? "end" : "middle", lab);
	}
}

void svg_begin(struct svg_chart *c, GString *out, double w, double h,
	       int64_t t0, int64_t t1, double ymax, const char *title,
	       const char *unit, void (*fmt)(double, char *, size_t))
{
	memset(c, 0, sizeof *c);
	c->out = out;
	c->w = w;
	c->h = h;
	c->left = 44;
	c->right = 10;
	c->top = 16;
	c->bottom = 20;
	c->t0 = t0;
	c->t1 = t1 > t0 ? t1 : t0 + 1;
	c->clip = ++clip_ids;

	/* About four round ticks up to a round top. */
	double tick = nice_up((ymax > 0 ? ymax : 1) / 4.0);
	c->y1 = ceil((ymax > 0 ? ymax : 1) / tick) * tick;

	g_string_append_printf(out,
		"<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
		"aria-label=\"", w, h);
	html_escape(out, title);
	g_string_append(out, "\">\n<title>");
	html_escape(out, title);
	g_string_append_printf(out, "</title>\n<defs><clipPath id=\"clip%d\">"
			       "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			       "height=\"%.1f\"/></clipPath></defs>\n",
			       c->clip, c->left, c->top - 1,
			       w - c->left - c->right,
			       h - c->top - c->bottom + 1);
	g_string_append_printf(out, "<rect class=\"plot\" x=\"%.1f\" "
			       "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
			       c->left, c->top, w - c->left - c->right,
			       h - c->top - c->bottom);
	for (double v = 0; v <= c->y1 * 1.0001; v += tick) {
		char lab[32];
		double y = y_of(c, v);
		if (fmt)
			fmt(v, lab, sizeof lab);
		else
			axis_number(v, lab, sizeof lab);
		g_string_append_printf(out,
			"<line class=\"gl\" x1=\"%.1f\" y1=\"%.1f\" "
			"x2=\"%.1f\" y2=\"%.1f\"/><text class=\"tick\" "
			"x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			c->left, y, w - c->right, y, c->left - 4, y + 3.5,
			lab);
	}
	g_string_append_printf(out, "<text class=\"unit\" x=\"%.1f\" y=\"10\" "
			       "text-anchor=\"end\">", c->left - 4);
	html_escape(out, unit);
	g_string_append(out, "</text>\n");
	time_axis(c);
	g_string_append_printf(out, "<g clip-path=\"url(#clip%d)\">\n",
			       c->clip);
}

void svg_end(struct svg_chart *c)
{
	g_string_append(c->out, "</g>\n</svg>\n");
}

void svg_band(struct svg_chart *c, const int64_t *t, int64_t step,
	      const double *lo, const double *hi, unsigned n,
	      const char *fill, double opacity)
{
	unsigned i = 0;

	while (i < n) {
		if (isnan(lo[i]) || isnan(hi[i])) {
			i++;
			continue;
		}
		unsigned j = i;
		while (j < n && !isnan(lo[j]) && !isnan(hi[j]))
			j++;
		/* Along the top edge left to right, back along the bottom. */
		g_string_append_printf(c->out, "<path fill=\"%s\" "
				       "fill-opacity=\"%.2f\" d=\"M%.1f %.1f",
				       fill, opacity, x_of(c, (double)t[i]),
				       y_of(c, hi[i]));
		for (unsigned k = i; k < j; k++)
			g_string_append_printf(c->out, "H%.1fV%.1f",
					       x_of(c, (double)t[k]),
					       y_of(c, hi[k]));
		g_string_append_printf(c->out, "H%.1f",
				       x_of(c, (double)(t[j - 1] + step)));
		for (unsigned k = j; k-- > i;)
			g_string_append_printf(c->out, "V%.1fH%.1f",
					       y_of(c, lo[k]),
					       x_of(c, (double)t[k]));
		g_string_append(c->out, "Z\"/>\n");
		i = j;
	}
}

void svg_step_line(struct svg_chart *c, const int64_t *t, int64_t step,
		   const double *v, const int *color, unsigned n,
		   const char *const *palette, double width)
{
	for (unsigned i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		double x0 = x_of(c, (double)t[i]);
		double x1 = x_of(c, (double)(t[i] + step));
		double y = y_of(c, v[i]);
		g_string_append_printf(c->out, "<path fill=\"none\" "
				       "stroke=\"%s\" stroke-width=\"%.1f\" "
				       "d=\"M%.1f %.1fH%.1f",
				       palette[color[i]], width, x0, y, x1);
		/* Join the next step's level in this step's colour. */
		if (i + 1 < n && !isnan(v[i + 1]))
			g_string_append_printf(c->out, "V%.1f",
					       y_of(c, v[i + 1]));
		g_string_append(c->out, "\"/>\n");
	}
}

void svg_line(struct svg_chart *c, const int64_t *t, int64_t step,
	      const double *v, unsigned n, const char *stroke, double width,
	      bool dashed)
{
	bool open = false;

	for (unsigned i = 0; i < n; i++) {
		if (isnan(v[i])) {
			if (open)
				g_string_append(c->out, "\"/>\n");
			open = false;
			continue;
		}
		double x = x_of(c, (double)t[i] + (double)step / 2);
		bool alone = !open && (i + 1 == n || isnan(v[i + 1]));
		if (alone) {
			/* A point with no neighbour would draw nothing (a
			 * path of one point has no length): a dash across
			 * its step instead, so sparse data still shows. */
			g_string_append_printf(c->out, "<path fill=\"none\" "
					       "stroke=\"%s\" stroke-width="
					       "\"%.1f\" d=\"M%.1f %.1fH%.1f\"/>\n",
					       stroke, width + 0.6,
					       x_of(c, (double)t[i]),
					       y_of(c, v[i]),
					       MAX(x_of(c, (double)(t[i] + step)),
						   x_of(c, (double)t[i]) + 2.0));
			continue;
		}
		if (!open)
			g_string_append_printf(c->out, "<path fill=\"none\" "
					       "stroke=\"%s\" stroke-width="
					       "\"%.1f\"%s d=\"M%.1f %.1f",
					       stroke, width,
					       dashed ? " stroke-dasharray=\"4 3\""
						      : "",
					       x, y_of(c, v[i]));
		else
			g_string_append_printf(c->out, "L%.1f %.1f", x,
					       y_of(c, v[i]));
		open = true;
	}
	if (open)
		g_string_append(c->out, "\"/>\n");
}

void svg_bars(struct svg_chart *c, const int64_t *t, int64_t step,
	      const double *v, unsigned n, const char *fill)
{
	for (unsigned i = 0; i < n; i++) {
		if (isnan(v[i]) || v[i] <= 0)
			continue;
		double x0 = x_of(c, (double)t[i]);
		double x1 = x_of(c, (double)(t[i] + step));
		double y = y_of(c, v[i]), yb = y_of(c, 0);
		g_string_append_printf(c->out, "<rect fill=\"%s\" x=\"%.1f\" "
				       "y=\"%.1f\" width=\"%.1f\" "
				       "height=\"%.1f\"/>\n", fill, x0, y,
				       MAX(x1 - x0 - 0.3, 0.6), yb - y);
	}
}

void svg_label(struct svg_chart *c, const char *text)
{
	g_string_append_printf(c->out, "<text class=\"note\" x=\"%.1f\" "
			       "y=\"%.1f\">", c->left + 6, c->top + 14);
	html_escape(c->out, text);
	g_string_append(c->out, "</text>\n");
}
