/* artmon report: one self-contained HTML file (inline CSS and SVG, no
 * scripts, fonts or external URLs) drawn from an artmon store: the store's
 * settings and health, then per stored row (server, port, signature) the
 * first-byte time percentiles over time, the transaction count and errors
 * per interval and a histogram of the whole period.
 *
 * The store is read in two walks of the records in range: the first counts
 * the records of each key and finds the time span, the second merges them
 * into points (adjacent intervals are merged when there are more than
 * --max-points) and into one histogram per row. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/addr.h"
#include "common/util.h"
#include "store/store.h"

#define RPT_W 900          /* chart size (SVG user units = CSS pixels) */
#define RPT_H 220
#define RPT_ML 72          /* margins: left, right, top, bottom */
#define RPT_MR 40
#define RPT_MT 14
#define RPT_MB 42
#define RPT_HIST_PER_DECADE 5

static void
report_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: artmon report -s DIR [options] -o FILE\n"
	    "Write one self-contained HTML report (inline SVG charts, no scripts or\n"
	    "external URLs) of what an artmon store holds.\n\n"
	    "  -s, --store DIR       the store directory (required)\n"
	    "  -o, --output FILE     the HTML file to write (\"-\": standard output)\n"
	    "      --from T          intervals starting at or after T\n"
	    "      --to T            intervals starting before T\n"
	    "  -l, --level N         1 intervals (default) or 2 rollups\n"
	    "      --max-rows N      at most N rows (server, port, signature), the busiest\n"
	    "                        (default 200)\n"
	    "      --max-points N    at most N points per chart; adjacent intervals are\n"
	    "                        merged beyond that (default 1000)\n"
	    "      --title TEXT      the report's title\n"
	    "  -h, --help            this help\n\n"
	    "T is epoch seconds or a UTC date and time: 2026-11-22, 2026-11-22T15:00:00Z.\n");
}

/* --- time --------------------------------------------------------------- */

static int64_t
civil_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "1700000000", "1700000000.25", "2023-11-14", "2023-11-14T22:13[:20]Z". */
static int
report_time(const char *s, am_time_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	char *end;
	double v;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) {
		const char *p = s + 10;
		if (*p == 'T' || *p == ' ') {
			n = 0;
			if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5)
				return -1;
			p += 6;
			if (*p == ':') {
				n = 0;
				if (sscanf(p + 1, "%2d%n", &sec, &n) != 1 || n != 2)
					return -1;
				p += 3;
			}
		}
		if (*p == 'Z')
			p++;
		if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
		    sec < 0 || sec > 60)
			return -1;
		*out = (civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * AM_USEC;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || v < 0 || v > 1e11)
		return -1;
	*out = (am_time_t)(v * AM_USEC + 0.5);
	return 0;
}

/* "2023-11-14 22:13:20" (UTC); `full` 0 leaves the date out, 2 the
 * seconds, 3 the time of day. */
static const char *
fmt_when(am_time_t t, int full, char *buf, size_t len)
{
	char iso[48];

	am_time_fmt_iso(t, iso, sizeof(iso));
	iso[full == 3 ? 10 : full == 2 ? 16 : 19] = '\0';
	iso[10] = iso[10] ? ' ' : '\0';
	snprintf(buf, len, "%s", full ? iso : iso + 11);
	return buf;
}

/* --- HTML ----------------------------------------------------------------- */

static void
esc(FILE *fp, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", fp); break;
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '"': fputs("&quot;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default:
			/* control characters would make the file invalid */
			if ((unsigned char)*s < 0x20 && *s != '\t')
				fputs("&#65533;", fp);
			else
				fputc(*s, fp);
		}
	}
}

/* A duration in microseconds for a reader: "850 µs", "12.3 ms", "1.25 s". */
static const char *
fmt_us(double us, char *buf, size_t len)
{
	if (us < 1000)
		snprintf(buf, len, "%.0f&#160;&#181;s", us);
	else if (us < 1e6)
		snprintf(buf, len, "%.3g&#160;ms", us / 1e3);
	else
		snprintf(buf, len, "%.3g&#160;s", us / 1e6);
	return buf;
}

/* A step of 1, 2 or 5 times a power of ten, about span/n. */
static double
nice_step(double span, int n)
{
	double raw = span / n, p, f;

	if (!(raw > 0))
		return 1;
	p = pow(10, floor(log10(raw)));
	f = raw / p;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/* --- data ------------------------------------------------------------------ */

struct point {
	uint32_t slot;             /* index on the time grid */
	uint32_t merged;           /* intervals merged into the point */
	uint64_t count, errors;
	uint64_t n_first;          /* transactions with a `first` time */
	uint64_t p50, p90, p99;    /* of `first`, microseconds */
};

struct row {
	struct am_key_info ki;
	uint64_t nrec;             /* records in range */
	uint64_t tx;               /* their transactions */
	int shown;
	struct point *pts;
	uint32_t npts, cap;
	/* the point being merged */
	int64_t cur_slot;          /* -1 none */
	struct point cur;
	struct am_hist cur_h;
	/* the whole period */
	struct am_hist all;
	uint64_t count, errors;
};

struct report {
	int level;
	am_time_t from, to, len;       /* len: of one interval, microseconds */
	am_time_t tmin, tmax;          /* oldest and newest start in range */
	uint32_t factor;               /* intervals per point */
	uint32_t nslots;               /* points on the time grid */
	struct row **rows;             /* by key id; NULL: no such key */
	uint32_t nkeys;
	uint64_t nrec;
};

static uint64_t
rec_errors(const struct am_rec *r)
{
	return r->outcome[AM_OUT_RESET] + r->outcome[AM_OUT_TIMEOUT] + r->outcome[AM_OUT_INCOMPLETE];
}

static int
count_rec(void *ctx, am_time_t start, uint32_t id, const struct am_rec *r)
{
	struct report *rp = ctx;

	if (id >= rp->nkeys || rp->rows[id] == NULL)
		return 0;
	if (rp->nrec == 0 || start < rp->tmin)
		rp->tmin = start;
	if (rp->nrec == 0 || start > rp->tmax)
		rp->tmax = start;
	rp->nrec++;
	rp->rows[id]->nrec++;
	rp->rows[id]->tx += r->count;
	return 0;
}

static void
point_flush(struct row *w)
{
	if (w->cur_slot < 0)
		return;
	if (w->npts == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->pts = am_xrealloc(w->pts, w->cap * sizeof(*w->pts));
	}
	w->cur.n_first = w->cur_h.count;
	if (w->cur_h.count) {
		w->cur.p50 = am_hist_quantile(&w->cur_h, 0.50);
		w->cur.p90 = am_hist_quantile(&w->cur_h, 0.90);
		w->cur.p99 = am_hist_quantile(&w->cur_h, 0.99);
	}
	w->pts[w->npts++] = w->cur;
	am_hist_reset(&w->cur_h);
	w->cur_slot = -1;
}

static int
merge_rec(void *ctx, am_time_t start, uint32_t id, const struct am_rec *r)
{
	struct report *rp = ctx;
	struct row *w;
	uint32_t slot;

	if (id >= rp->nkeys || (w = rp->rows[id]) == NULL || !w->shown)
		return 0;
	slot = (uint32_t)((start - rp->tmin) / (rp->len * (am_time_t)rp->factor));
	if (w->cur_slot != (int64_t)slot) {
		point_flush(w);
		memset(&w->cur, 0, sizeof(w->cur));
		w->cur.slot = slot;
		w->cur_slot = slot;
	}
	w->cur.merged++;
	w->cur.count += r->count;
	w->cur.errors += rec_errors(r);
	am_hist_merge(&w->cur_h, &r->t[AM_T_FIRST]);
	am_hist_merge(&w->all, &r->t[AM_T_FIRST]);
	w->count += r->count;
	w->errors += rec_errors(r);
	return 0;
}

/* --- charts ------------------------------------------------------------------ */

/* x of the middle of a grid slot */
static double
slot_x(const struct report *rp, uint32_t slot)
{
	double pw = RPT_W - RPT_ML - RPT_MR;
	return RPT_ML + pw * (slot + 0.5) / rp->nslots;
}

static void
svg_open(FILE *fp, const char *cls, const char *label)
{
	fprintf(fp, "<svg class=\"chart %s\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", cls, RPT_W, RPT_H, RPT_W, RPT_H);
	esc(fp, label);
	fprintf(fp, "\">\n<rect class=\"plot\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n",
	    RPT_ML, RPT_MT, RPT_W - RPT_ML - RPT_MR, RPT_H - RPT_MT - RPT_MB);
}

/* Horizontal grid lines and labels for 0..top in steps (values already in
 * display units); the y axis title. */
static void
y_axis(FILE *fp, double top, double step, const char *title)
{
	double ph = RPT_H - RPT_MT - RPT_MB;

	for (double v = 0; v <= top * (1 + 1e-9); v += step) {
		double y = RPT_MT + ph - ph * v / top;
		fprintf(fp, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
		    "<text class=\"yl\" x=\"%d\" y=\"%.1f\">%g</text>\n",
		    RPT_ML, RPT_W - RPT_MR, y, y, RPT_ML - 6, y + 4, v);
	}
	fprintf(fp, "<text class=\"yt\" transform=\"translate(14,%.1f) rotate(-90)\">%s</text>\n",
	    RPT_MT + ph / 2, title);
}

/* Time ticks under the plot: the grid spans tmin .. tmin + nslots*step. */
static void
x_time_axis(FILE *fp, const struct report *rp)
{
	double pw = RPT_W - RPT_ML - RPT_MR;
	am_time_t span = rp->len * (am_time_t)rp->factor * rp->nslots;
	am_time_t tstep = 1, t0;
	static const int64_t steps_s[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
		7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600, 2592000, 7776000, 31536000 };
	int full = span > 86400 * AM_USEC || rp->tmin / (86400 * AM_USEC) != (rp->tmin + span) / (86400 * AM_USEC);
	char buf[48];

	for (size_t i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]); i++) {
		tstep = steps_s[i] * AM_USEC;
		if (span / tstep <= (full ? 5 : 7))
			break;
	}
	if (span / tstep > 7)
		tstep = span / 6;
	if (full)   /* a date, and the time of day when it is not midnight */
		full = tstep % (86400 * AM_USEC) == 0 ? 3 : 2;
	t0 = (rp->tmin + tstep - 1) / tstep * tstep;
	for (am_time_t t = t0; t <= rp->tmin + span; t += tstep) {
		double x = RPT_ML + pw * (double)(t - rp->tmin) / (double)span;
		fprintf(fp, "<line class=\"tick\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
		    "<text class=\"xl\" x=\"%.1f\" y=\"%d\">%s</text>\n",
		    x, x, RPT_H - RPT_MB, RPT_H - RPT_MB + 5, x, RPT_H - RPT_MB + 18,
		    fmt_when(t, full, buf, sizeof(buf)));
	}
	fprintf(fp, "<text class=\"xt\" x=\"%.1f\" y=\"%d\">time (UTC), %s per point</text>\n",
	    RPT_ML + pw / 2, RPT_H - 6,
	    rp->factor == 1 ? (rp->level == 2 ? "one rollup" : "one interval") : "merged intervals");
}

static void
chart_latency(FILE *fp, const struct report *rp, const struct row *w)
{
	static const char *cls[3] = { "p50", "p90", "p99" };
	double ph = RPT_H - RPT_MT - RPT_MB, top, step, div;
	uint64_t max = 0;
	const char *unit;

	for (uint32_t i = 0; i < w->npts; i++)
		if (w->pts[i].n_first && w->pts[i].p99 > max)
			max = w->pts[i].p99;
	div = max >= 2000000 ? 1e6 : max >= 2000 ? 1e3 : 1;
	unit = div == 1e6 ? "s" : div == 1e3 ? "ms" : "&#181;s";
	step = nice_step(max / div, 4);
	top = ceil(max / div / step) * step;
	if (top <= 0)
		top = step;
	svg_open(fp, "lat", "first response byte: p50, p90 and p99 over time");
	{
		char t[64];
		snprintf(t, sizeof(t), "first byte (%s)", unit);
		y_axis(fp, top, step, t);
	}
	x_time_axis(fp, rp);
	for (int q = 2; q >= 0; q--) {
		fprintf(fp, "<polyline class=\"%s%s\" points=\"", cls[q], w->npts <= 250 ? " dots" : "");
		for (uint32_t i = 0; i < w->npts; i++) {
			const struct point *p = &w->pts[i];
			uint64_t v = q == 0 ? p->p50 : q == 1 ? p->p90 : p->p99;
			if (p->n_first == 0)
				continue;
			fprintf(fp, "%s%.1f,%.1f", i ? " " : "", slot_x(rp, p->slot),
			    RPT_MT + ph - ph * (v / div) / top);
		}
		fprintf(fp, "\"/>\n");
	}
	fprintf(fp, "<g class=\"legend\"><text class=\"p50\" x=\"%d\" y=\"%d\">p50</text>"
	    "<text class=\"p90\" x=\"%d\" y=\"%d\">p90</text><text class=\"p99\" x=\"%d\" y=\"%d\">p99</text></g>\n",
	    RPT_W - RPT_MR - 110, RPT_MT + 14, RPT_W - RPT_MR - 75, RPT_MT + 14, RPT_W - RPT_MR - 40, RPT_MT + 14);
	fprintf(fp, "</svg>\n");
}

/* Bars of count (what 0) or errors (what 1) per point, in one path. */
static void
chart_bars(FILE *fp, const struct report *rp, const struct row *w, int what)
{
	double ph = RPT_H - RPT_MT - RPT_MB, pw = RPT_W - RPT_ML - RPT_MR, top, step, bw;
	uint64_t max = 0;

	for (uint32_t i = 0; i < w->npts; i++) {
		uint64_t v = what ? w->pts[i].errors : w->pts[i].count;
		if (v > max)
			max = v;
	}
	step = nice_step((double)max, 4);
	if (step < 1)
		step = 1;
	top = ceil(max / step) * step;
	if (top <= 0)
		top = step;
	svg_open(fp, what ? "err" : "cnt", what ? "errors per interval" : "transactions per interval");
	y_axis(fp, top, step, what ? "errors" : "transactions");
	x_time_axis(fp, rp);
	bw = pw / rp->nslots * 0.8;
	if (bw > 40)
		bw = 40;
	if (bw < 0.5)
		bw = 0.5;
	fprintf(fp, "<path class=\"bars %s\" stroke-width=\"%.2f\" d=\"", what ? "errbars" : "cntbars", bw);
	for (uint32_t i = 0; i < w->npts; i++) {
		uint64_t v = what ? w->pts[i].errors : w->pts[i].count;
		fprintf(fp, "%sM%.1f %.1fV%.1f", i ? " " : "", slot_x(rp, w->pts[i].slot), RPT_MT + ph,
		    RPT_MT + ph - ph * v / top);
	}
	fprintf(fp, "\"/>\n</svg>\n");
	if (what && max == 0)
		fprintf(fp, "<p class=\"note\">No resets, timeouts or incomplete exchanges.</p>\n");
}

/* Histogram of `first` over the period, on log-scaled buckets of
 * RPT_HIST_PER_DECADE per power of ten, with the percentiles marked. */
static void
chart_hist(FILE *fp, const struct row *w)
{
	const struct am_hist *h = &w->all;
	double ph = RPT_H - RPT_MT - RPT_MB, pw = RPT_W - RPT_ML - RPT_MR, top, step;
	int lo, hi, nb;
	uint64_t *bins, max = 0;
	static const char *dec[] = { "1 &#181;s", "10 &#181;s", "100 &#181;s", "1 ms", "10 ms", "100 ms",
		"1 s", "10 s", "100 s", "1000 s", "10<tspan dy=\"-5\">4</tspan> s", "10<tspan dy=\"-5\">5</tspan> s" };

	if (h->count == 0) {
		fprintf(fp, "<p class=\"note\">No first-byte times in the period.</p>\n");
		return;
	}
	/* decades [lo, hi): values below 1 us count as 1 us */
	lo = (int)floor(log10(h->min < 1 ? 1.0 : (double)h->min));
	hi = (int)floor(log10(h->max < 1 ? 1.0 : (double)h->max)) + 1;
	if (hi > 11)
		hi = 11;
	if (lo >= hi)
		lo = hi - 1;
	nb = (hi - lo) * RPT_HIST_PER_DECADE;
	bins = am_xcalloc((size_t)nb, sizeof(*bins));
	for (uint32_t i = 0; i < h->n; i++) {
		double mid = ((double)am_hist_bucket_low(h->idx[i]) + (double)am_hist_bucket_high(h->idx[i])) / 2;
		int b = (int)floor((log10(mid < 1 ? 1 : mid) - lo) * RPT_HIST_PER_DECADE);
		if (b < 0)
			b = 0;
		if (b >= nb)
			b = nb - 1;
		bins[b] += h->cnt[i];
	}
	for (int b = 0; b < nb; b++)
		if (bins[b] > max)
			max = bins[b];
	step = nice_step((double)max, 4);
	if (step < 1)
		step = 1;
	top = ceil(max / step) * step;
	svg_open(fp, "hist", "histogram of the first response byte time over the period");
	y_axis(fp, top, step, "transactions");
	for (int d = lo; d <= hi; d++) {
		double x = RPT_ML + pw * (d - lo) / (hi - lo);
		fprintf(fp, "<line class=\"tick\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
		    "<text class=\"xl\" x=\"%.1f\" y=\"%d\">%s</text>\n",
		    x, x, RPT_H - RPT_MB, RPT_H - RPT_MB + 5, x, RPT_H - RPT_MB + 18,
		    d < (int)(sizeof(dec) / sizeof(dec[0])) ? dec[d] : "");
	}
	fprintf(fp, "<text class=\"xt\" x=\"%.1f\" y=\"%d\">first response byte time (log scale, %d buckets per "
	    "power of ten)</text>\n", RPT_ML + pw / 2, RPT_H - 6, RPT_HIST_PER_DECADE);
	for (int b = 0; b < nb; b++) {
		double x = RPT_ML + pw * b / nb, y;
		if (bins[b] == 0)
			continue;
		y = ph * bins[b] / top;
		fprintf(fp, "<rect class=\"hbar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
		    x + 1, RPT_MT + ph - y, pw / nb - 2, y);
	}
	{
		static const double qs[3] = { 0.50, 0.90, 0.99 };
		static const char *qn[3] = { "p50", "p90", "p99" };
		for (int q = 0; q < 3; q++) {
			double v = (double)am_hist_quantile(h, qs[q]);
			double x = RPT_ML + pw * (log10(v < 1 ? 1 : v) - lo) / (hi - lo);
			fprintf(fp, "<line class=\"mark %s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\"/>"
			    "<text class=\"%s\" x=\"%.1f\" y=\"%d\">%s</text>\n",
			    qn[q], x, x, RPT_MT, RPT_MT + ph, qn[q], x + 3, RPT_MT + 12 + 12 * q, qn[q]);
		}
	}
	fprintf(fp, "</svg>\n");
	free(bins);
}

/* --- the page --------------------------------------------------------------- */

static const char report_css[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}\n"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-top:1px solid #ccc;padding-top:.6em}\n"
    "h3{font-size:1em;margin:.8em 0 .2em}\n"
    "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}\n"
    "td.n{text-align:right}.warn{background:#fde2e1}.ok{background:#e6f4e6}\n"
    ".note{color:#555;font-style:italic}\n"
    "svg.chart{display:block;max-width:100%;height:auto;font-size:11px}\n"
    "svg .plot{fill:#fafafa;stroke:#999}svg .grid{stroke:#e4e4e4}svg .tick{stroke:#999}\n"
    "svg .yl{text-anchor:end;fill:#444}svg .xl{text-anchor:middle;fill:#444}\n"
    "svg .xt,svg .yt{text-anchor:middle;fill:#222;font-size:12px}\n"
    "svg polyline{fill:none;stroke-width:1.5;stroke-linejoin:round}\n"
    "svg polyline.p50{stroke:#1f77b4}svg polyline.p90{stroke:#ff7f0e}svg polyline.p99{stroke:#d62728}\n"
    "svg.defs{position:absolute}svg polyline.dots.p50{marker:url(#dotp50)}"
    "svg polyline.dots.p90{marker:url(#dotp90)}svg polyline.dots.p99{marker:url(#dotp99)}\n"
    "svg circle.p50{fill:#1f77b4}svg circle.p90{fill:#ff7f0e}svg circle.p99{fill:#d62728}\n"
    "svg text.p50{fill:#1f77b4}svg text.p90{fill:#ff7f0e}svg text.p99{fill:#d62728}\n"
    "svg .mark{stroke-dasharray:4 3;stroke-width:1.2}svg .mark.p50{stroke:#1f77b4}"
    "svg .mark.p90{stroke:#ff7f0e}svg .mark.p99{stroke:#d62728}\n"
    "svg .bars{fill:none}svg .cntbars{stroke:#4a7fb5}svg .errbars{stroke:#d62728}svg .hbar{fill:#6a9fd0}\n";

static void
kv(FILE *fp, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
kv(FILE *fp, const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(fp, "<tr><th>%s</th><td>", name);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fprintf(fp, "</td></tr>\n");
}

static void
kv_count(FILE *fp, const char *name, uint64_t v, int bad)
{
	fprintf(fp, "<tr%s><th>%s</th><td class=\"n\">%" PRIu64 "</td></tr>\n", bad && v ? " class=\"warn\"" : "",
	    name, v);
}

static void
kv_time(FILE *fp, const char *name, am_time_t t)
{
	char buf[48];

	kv(fp, name, "%s", t ? fmt_when(t, 1, buf, sizeof(buf)) : "&#8212;");
}

static void
row_title(FILE *fp, const struct am_key_info *ki)
{
	char a[AM_ADDRSTRLEN];
	const struct am_agg_key *k = &ki->key;

	if (k->server.family)
		esc(fp, am_addr_fmt(&k->server, a, sizeof(a)));
	else
		fputs(k->overflow ? "(overflow)" : "(any)", fp);
	fprintf(fp, " port %u", k->server_port);
	if (k->client.family) {
		fputs(" client ", fp);
		esc(fp, am_addr_fmt(&k->client, a, sizeof(a)));
		if (k->by == AM_BY_CLIENT_PORT)
			fprintf(fp, " port %u", k->client_port);
	}
	fputs(" &#183; ", fp);
	esc(fp, k->signature[0] ? k->signature : "(no signature)");
}

static void
write_header(FILE *fp, const struct report *rp, const char *dir, const char *title,
    const struct am_store_info *in, uint32_t nrows, uint32_t nshown)
{
	char buf[48], b2[48];
	double use = in->map_size ? 100.0 * (double)in->map_used / (double)in->map_size : 0;

	fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
	esc(fp, title);
	fprintf(fp, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", report_css);
	/* the dots of the percentile lines, referenced from the CSS */
	fprintf(fp, "<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs>\n");
	for (int q = 0; q < 3; q++)
		fprintf(fp, "<marker id=\"dot%s\" markerUnits=\"userSpaceOnUse\" markerWidth=\"6\" markerHeight=\"6\" "
		    "refX=\"3\" refY=\"3\"><circle class=\"%s\" cx=\"3\" cy=\"3\" r=\"2.2\"/></marker>\n",
		    q == 0 ? "p50" : q == 1 ? "p90" : "p99", q == 0 ? "p50" : q == 1 ? "p90" : "p99");
	fprintf(fp, "</defs></svg>\n<h1>");
	esc(fp, title);
	fprintf(fp, "</h1>\n<p>Store <code>");
	esc(fp, dir);
	fprintf(fp, "</code>, level %d (%s of %" PRId64 " s)", rp->level, rp->level == 2 ? "rollups" : "intervals",
	    (int64_t)(rp->len / AM_USEC));
	if (rp->nrec)
		fprintf(fp, ", from %s to %s UTC", fmt_when(rp->tmin, 1, buf, sizeof(buf)),
		    fmt_when(rp->tmax + rp->len, 1, b2, sizeof(b2)));
	fprintf(fp, ": %" PRIu64 " records, %u rows", rp->nrec, nrows);
	if (rp->factor > 1)
		fprintf(fp, "; %u intervals are merged into each point", rp->factor);
	fprintf(fp, ". Times are microseconds (&#181;s) or milliseconds (ms) from the end of a request "
	    "to the first byte of its response.</p>\n");
	if (nshown < nrows)
		fprintf(fp, "<p class=\"warn\">Only the %u busiest of %u rows are shown (--max-rows).</p>\n", nshown, nrows);

	fprintf(fp, "<h2>Store settings and health</h2>\n<table class=\"info\">\n");
	kv(fp, "format", "%" PRIu32, in->format);
	kv(fp, "interval", "%" PRIu32 " s", in->interval_s);
	kv(fp, "rollup", "%" PRIu32 " s", in->rollup_s);
	kv(fp, "retention", "%" PRIu32 " days (intervals), %" PRIu32 " days (rollups)",
	    in->retain1_s / 86400, in->retain2_s / 86400);
	kv(fp, "keys, signatures", "%" PRIu32 ", %" PRIu32, in->keys, in->sigs);
	kv_time(fp, "created", in->created);
	kv_time(fp, "last flush (clock)", in->flushed_clock);
	kv_time(fp, "newest interval", in->newest1);
	kv_time(fp, "newest rollup", in->newest2);
	kv_count(fp, "flushes", in->flushes, 0);
	kv(fp, "last flush took", "%.3f ms", in->last_flush_us / 1e3);
	kv_count(fp, "unclean stops", in->unclean_stops, 1);
	kv_time(fp, "totals resumed after an unclean stop", in->discontinuity);
	kv_count(fp, "intervals pruned by retention", in->pruned1, 0);
	kv_count(fp, "rollups pruned by retention", in->pruned2, 0);
	kv_count(fp, "records pruned because the map was full", in->pruned_full, 1);
	kv_count(fp, "times the map filled", in->map_full, 1);
	kv_count(fp, "store errors", in->errors, 1);
	kv_count(fp, "flushes lost", in->lost, 1);
	fprintf(fp, "<tr%s><th>map use</th><td>%.1f MiB of %.1f MiB (%.2f%%)</td></tr>\n",
	    use >= 80 ? " class=\"warn\"" : "", in->map_used / 1048576.0, in->map_size / 1048576.0, use);
	fprintf(fp, "</table>\n");
}

static void
write_summary(FILE *fp, struct row **order, uint32_t n)
{
	char b[3][64];

	fprintf(fp, "<h2>Rows</h2>\n<table class=\"rows\">\n<tr><th>row</th><th>transactions</th><th>errors</th>"
	    "<th>first p50</th><th>first p90</th><th>first p99</th><th>points</th></tr>\n");
	for (uint32_t i = 0; i < n; i++) {
		const struct row *w = order[i];
		int have = w->all.count > 0;
		fprintf(fp, "<tr><td><a href=\"#k%" PRIu32 "\">", w->ki.id);
		row_title(fp, &w->ki);
		fprintf(fp, "</a></td><td class=\"n\">%" PRIu64 "</td><td class=\"n%s\">%" PRIu64 "</td>"
		    "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%" PRIu32
		    "</td></tr>\n", w->count, w->errors ? " warn" : "", w->errors,
		    have ? fmt_us((double)am_hist_quantile(&w->all, 0.50), b[0], sizeof(b[0])) : "&#8212;",
		    have ? fmt_us((double)am_hist_quantile(&w->all, 0.90), b[1], sizeof(b[1])) : "&#8212;",
		    have ? fmt_us((double)am_hist_quantile(&w->all, 0.99), b[2], sizeof(b[2])) : "&#8212;",
		    w->npts);
	}
	fprintf(fp, "</table>\n");
}

static void
write_row(FILE *fp, const struct report *rp, const struct row *w)
{
	char b[4][64];
	int have = w->all.count > 0;

	fprintf(fp, "<section class=\"row\" id=\"k%" PRIu32 "\">\n<h2>", w->ki.id);
	row_title(fp, &w->ki);
	fprintf(fp, "</h2>\n<p>Key %" PRIu32 " (%s", w->ki.id, w->ki.key.rule[0] ? "rule " : "no rule");
	esc(fp, w->ki.key.rule);
	fprintf(fp, "): %" PRIu64 " transactions, %" PRIu64 " errors (resets, timeouts, incomplete) in %" PRIu32
	    " points", w->count, w->errors, w->npts);
	if (have)
		fprintf(fp, "; first byte mean %s, p50 %s, p90 %s, p99 %s",
		    fmt_us(am_hist_mean(&w->all), b[0], sizeof(b[0])),
		    fmt_us((double)am_hist_quantile(&w->all, 0.50), b[1], sizeof(b[1])),
		    fmt_us((double)am_hist_quantile(&w->all, 0.90), b[2], sizeof(b[2])),
		    fmt_us((double)am_hist_quantile(&w->all, 0.99), b[3], sizeof(b[3])));
	fprintf(fp, ".</p>\n<h3>First response byte, percentiles per %s</h3>\n",
	    rp->factor > 1 ? "point" : rp->level == 2 ? "rollup" : "interval");
	chart_latency(fp, rp, w);
	fprintf(fp, "<h3>Transactions per %s</h3>\n", rp->factor > 1 ? "point" : rp->level == 2 ? "rollup" : "interval");
	chart_bars(fp, rp, w, 0);
	fprintf(fp, "<h3>Errors per %s (resets, timeouts, incomplete)</h3>\n",
	    rp->factor > 1 ? "point" : rp->level == 2 ? "rollup" : "interval");
	chart_bars(fp, rp, w, 1);
	fprintf(fp, "<h3>First response byte over the period</h3>\n");
	chart_hist(fp, w);
	fprintf(fp, "</section>\n");
}

/* busiest first, then by key id */
static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = *(const struct row *const *)a, *y = *(const struct row *const *)b;

	if (x->tx != y->tx)
		return x->tx > y->tx ? -1 : 1;
	return x->ki.id < y->ki.id ? -1 : x->ki.id > y->ki.id;
}

static int
make_report(struct am_store *st, FILE *fp, const char *dir, const char *title, int level, am_time_t from,
    am_time_t to, uint32_t max_rows, uint32_t max_points)
{
	struct am_store_info info;
	struct report rp;
	struct am_key_info ki;
	struct row **order = NULL;
	uint32_t id = 0, nrows = 0, nshown = 0;
	uint64_t nslots;
	int kr, r = 0;

	if (am_store_info(st, &info) < 0)
		return -1;
	memset(&rp, 0, sizeof(rp));
	rp.level = level;
	rp.from = from;
	rp.to = to;
	rp.len = (am_time_t)(level == 2 ? info.rollup_s : info.interval_s) * AM_USEC;
	if (rp.len <= 0)
		rp.len = AM_USEC;
	rp.nkeys = info.keys + 1;
	rp.rows = am_xcalloc(rp.nkeys, sizeof(*rp.rows));
	while ((kr = am_store_key_next(st, id, &ki)) == 0) {
		id = ki.id;
		if (id >= rp.nkeys)
			continue;
		rp.rows[id] = am_xcalloc(1, sizeof(struct row));
		rp.rows[id]->ki = ki;
		rp.rows[id]->cur_slot = -1;
		am_hist_init(&rp.rows[id]->cur_h);
		am_hist_init(&rp.rows[id]->all);
	}
	if (kr < 0 || am_store_rec_walk(st, level, from, to, count_rec, &rp) < 0)
		r = -1;

	if (r == 0) {
		/* rows with records in range, the busiest first, at most max_rows */
		order = am_xcalloc(rp.nkeys, sizeof(*order));
		for (id = 1; id < rp.nkeys; id++)
			if (rp.rows[id] != NULL && rp.rows[id]->nrec > 0)
				order[nrows++] = rp.rows[id];
		qsort(order, nrows, sizeof(*order), row_cmp);
		nshown = nrows < max_rows ? nrows : max_rows;
		for (uint32_t i = 0; i < nshown; i++)
			order[i]->shown = 1;
		nslots = rp.nrec ? (uint64_t)((rp.tmax - rp.tmin) / rp.len) + 1 : 1;
		rp.factor = (uint32_t)((nslots + max_points - 1) / max_points);
		if (rp.factor < 1)
			rp.factor = 1;
		rp.nslots = (uint32_t)((nslots + rp.factor - 1) / rp.factor);
		if (rp.nrec && am_store_rec_walk(st, level, from, to, merge_rec, &rp) < 0)
			r = -1;
	}
	if (r == 0) {
		for (uint32_t i = 0; i < nshown; i++)
			point_flush(order[i]);
		write_header(fp, &rp, dir, title, &info, nrows, nshown);
		if (nshown == 0)
			fprintf(fp, "<p class=\"note\">The store has no %s in this range.</p>\n",
			    level == 2 ? "rollups" : "intervals");
		else
			write_summary(fp, order, nshown);
		for (uint32_t i = 0; i < nshown; i++)
			write_row(fp, &rp, order[i]);
		fprintf(fp, "<p class=\"note\">Written by artmon %s report.</p>\n</body>\n</html>\n", PACKAGE_VERSION);
	}
	for (id = 0; id < rp.nkeys; id++) {
		if (rp.rows[id] == NULL)
			continue;
		am_hist_free(&rp.rows[id]->cur_h);
		am_hist_free(&rp.rows[id]->all);
		free(rp.rows[id]->pts);
		free(rp.rows[id]);
	}
	free(rp.rows);
	free(order);
	return r;
}

static int
parse_count(const char *s, unsigned long lo, unsigned long hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi || s[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int
cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "level", required_argument, NULL, 'l' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "max-rows", required_argument, NULL, 1 },
		{ "max-points", required_argument, NULL, 2 },
		{ "title", required_argument, NULL, 3 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *out = NULL, *title = "artmon report";
	int level = 1, ch, r;
	uint32_t max_rows = 200, max_points = 1000;
	am_time_t from = 0, to = INT64_MAX;
	struct am_store *st;
	char err[512];
	FILE *fp;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:o:l:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			dir = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'l':
			if (strcmp(optarg, "1") && strcmp(optarg, "2")) {
				fprintf(stderr, "artmon report: --level is 1 or 2\n");
				return 2;
			}
			level = optarg[0] - '0';
			break;
		case 'f':
		case 't':
			if (report_time(optarg, ch == 'f' ? &from : &to) < 0) {
				fprintf(stderr, "artmon report: bad time \"%s\" (epoch seconds or 2026-11-22T15:00:00Z)\n",
				    optarg);
				return 2;
			}
			break;
		case 1:
			if (parse_count(optarg, 1, 100000, &max_rows) < 0) {
				fprintf(stderr, "artmon report: bad --max-rows \"%s\" (1 to 100000)\n", optarg);
				return 2;
			}
			break;
		case 2:
			if (parse_count(optarg, 2, 100000, &max_points) < 0) {
				fprintf(stderr, "artmon report: bad --max-points \"%s\" (2 to 100000)\n", optarg);
				return 2;
			}
			break;
		case 3:
			title = optarg;
			break;
		case 'h':
			report_usage(stdout);
			return 0;
		default:
			report_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "artmon report: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (dir == NULL || out == NULL) {
		fprintf(stderr, "artmon report: %s is required\n", dir == NULL ? "-s DIR" : "-o FILE");
		report_usage(stderr);
		return 2;
	}
	if (from >= to) {
		fprintf(stderr, "artmon report: --from must be before --to\n");
		return 2;
	}
	st = am_store_open(dir, NULL, AM_STORE_RDONLY, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "artmon report: %s\n", err);
		return 1;
	}
	if (strcmp(out, "-") == 0)
		fp = stdout;
	else if ((fp = fopen(out, "w")) == NULL) {
		fprintf(stderr, "artmon report: %s: %s\n", out, strerror(errno));
		am_store_close(st);
		return 1;
	}
	r = make_report(st, fp, dir, title, level, from, to, max_rows, max_points);
	am_store_close(st);
	if (r < 0)
		fprintf(stderr, "artmon report: failed reading %s\n", dir);
	if (fp == stdout) {
		if (fflush(fp) != 0 && r == 0) {
			fprintf(stderr, "artmon report: writing standard output: %s\n", strerror(errno));
			r = -1;
		}
	} else if ((ferror(fp) | fclose(fp)) != 0 && r == 0) {
		fprintf(stderr, "artmon report: writing %s: %s\n", out, strerror(errno));
		r = -1;
	}
	if (r < 0 && fp != stdout)
		unlink(out);
	return r < 0 ? 1 : 0;
}
