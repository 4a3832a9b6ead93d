/* Record output: text, CSV, JSON Lines. */
#include "config.h"
#include "cli/out.h"

#include <inttypes.h>
#include <string.h>

int
am_fmt_parse(const char *s, enum am_fmt *fmt)
{
	if (strcmp(s, "text") == 0)
		*fmt = FMT_TEXT;
	else if (strcmp(s, "csv") == 0)
		*fmt = FMT_CSV;
	else if (strcmp(s, "json") == 0 || strcmp(s, "jsonl") == 0)
		*fmt = FMT_JSON;
	else
		return -1;
	return 0;
}

void
out_init(struct am_out *o, FILE *fp, enum am_fmt fmt)
{
	memset(o, 0, sizeof(*o));
	o->fp = fp;
	o->fmt = fmt;
}

void
out_begin(struct am_out *o)
{
	o->nfield = 0;
	o->llen = 0;
	o->hlen = 0;
	if (o->fmt == FMT_JSON)
		o->line[o->llen++] = '{';
}

static void
app(struct am_out *o, const char *s, size_t n)
{
	if (o->llen + n >= sizeof(o->line) - 4)
		n = sizeof(o->line) - 4 - o->llen;
	memcpy(o->line + o->llen, s, n);
	o->llen += n;
}

static void
happ(struct am_out *o, const char *s, size_t n)
{
	if (o->hlen + n >= sizeof(o->header) - 2)
		n = sizeof(o->header) - 2 - o->hlen;
	memcpy(o->header + o->hlen, s, n);
	o->hlen += n;
}

static void
pad(struct am_out *o, size_t n)
{
	if (o->llen + n >= sizeof(o->line) - 4)
		n = sizeof(o->line) - 4 - o->llen;
	memset(o->line + o->llen, ' ', n);
	o->llen += n;
}

static void
hpad(struct am_out *o, size_t n)
{
	if (o->hlen + n >= sizeof(o->header) - 2)
		n = sizeof(o->header) - 2 - o->hlen;
	memset(o->header + o->hlen, ' ', n);
	o->hlen += n;
}

/* Adds one field whose value is already formatted (vlen bytes); quote: a
 * string (JSON quoted and escaped, CSV quoted when needed, text
 * left-aligned).  The header is only built for the first record. */
static void
field_n(struct am_out *o, const char *name, const char *val, size_t vlen, int quote, int width)
{
	char buf[64];
	size_t nlen = strlen(name);
	int hdr = !o->header_done;

	switch (o->fmt) {
	case FMT_JSON:
		if (o->nfield)
			app(o, ",", 1);
		app(o, "\"", 1);
		app(o, name, nlen);
		app(o, "\":", 2);
		if (quote) {
			const unsigned char *p = (const unsigned char *)val, *run = p;
			app(o, "\"", 1);
			for (; *p; p++) {
				if (*p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7f)
					continue;
				app(o, (const char *)run, (size_t)(p - run));
				run = p + 1;
				if (*p == '"' || *p == '\\') {
					char e[2] = { '\\', (char)*p };
					app(o, e, 2);
				} else {
					int n = snprintf(buf, sizeof(buf), "\\u%04x", *p);
					app(o, buf, (size_t)n);
				}
			}
			app(o, (const char *)run, (size_t)(p - run));
			app(o, "\"", 1);
		} else {
			app(o, val, vlen);
		}
		break;
	case FMT_CSV:
		if (o->nfield) {
			app(o, ",", 1);
			if (hdr)
				happ(o, ",", 1);
		}
		if (hdr)
			happ(o, name, nlen);
		if (quote && strpbrk(val, ",\"\n\r")) {
			app(o, "\"", 1);
			for (const char *p = val; *p; p++) {
				if (*p == '"')
					app(o, "\"", 1);
				app(o, p, 1);
			}
			app(o, "\"", 1);
		} else {
			app(o, val, vlen);
		}
		break;
	case FMT_TEXT: {
		size_t w = (size_t)(width > 0 ? width : 0);
		size_t shown = vlen ? vlen : 1;
		if (w < nlen)
			w = nlen;
		if (o->nfield) {
			app(o, " ", 1);
			if (hdr)
				happ(o, " ", 1);
		}
		/* numbers right-aligned, strings left-aligned */
		if (!quote && vlen < w)
			pad(o, w - vlen);
		app(o, vlen ? val : "-", shown);
		if (quote && shown < w)
			pad(o, w - shown);
		if (hdr) {
			if (!quote && nlen < w)
				hpad(o, w - nlen);
			happ(o, name, nlen);
			if (quote && nlen < w)
				hpad(o, w - nlen);
		}
		break;
	}
	}
	o->nfield++;
}

static void
field(struct am_out *o, const char *name, const char *val, int quote, int width)
{
	field_n(o, name, val, strlen(val), quote, width);
}

/* Decimal digits of v at the end of buf (size 21 at least); returns the first. */
static char *
u64_dec(char *end, uint64_t v)
{
	char *p = end;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

void
out_end(struct am_out *o)
{
	if (o->fmt == FMT_JSON)
		o->line[o->llen++] = '}';
	o->line[o->llen++] = '\n';
	if (!o->header_done && o->fmt != FMT_JSON) {
		/* trim trailing blanks of the text header */
		while (o->hlen && o->header[o->hlen - 1] == ' ')
			o->hlen--;
		o->header[o->hlen++] = '\n';
		fwrite(o->header, 1, o->hlen, o->fp);
	}
	o->header_done = 1;
	if (o->fmt == FMT_TEXT) {
		while (o->llen > 1 && o->line[o->llen - 2] == ' ') {
			o->line[o->llen - 2] = '\n';
			o->llen--;
		}
	}
	fwrite(o->line, 1, o->llen, o->fp);
}

void
out_str(struct am_out *o, const char *name, const char *v, int width)
{
	field(o, name, v ? v : "", 1, width);
}

void
out_u64(struct am_out *o, const char *name, uint64_t v, int width)
{
	char b[24], *p = u64_dec(b + sizeof(b), v);

	field_n(o, name, p, (size_t)(b + sizeof(b) - p), 0, width);
}

void
out_i64(struct am_out *o, const char *name, int64_t v, int width)
{
	char b[24], *p = u64_dec(b + sizeof(b), v < 0 ? 0 - (uint64_t)v : (uint64_t)v);

	if (v < 0)
		*--p = '-';
	field_n(o, name, p, (size_t)(b + sizeof(b) - p), 0, width);
}

void
out_opt(struct am_out *o, const char *name, int64_t v, int width)
{
	if (v >= 0) {
		out_i64(o, name, v, width);
		return;
	}
	field(o, name, o->fmt == FMT_JSON ? "null" : o->fmt == FMT_TEXT ? "-" : "", 0, width);
}

void
out_time(struct am_out *o, const char *name, am_time_t t, int width)
{
	/* as am_time_fmt: seconds, a dot, six digits of microseconds */
	char b[40], *p = b + sizeof(b);
	int64_t s = t / AM_USEC, us = t % AM_USEC;

	if (us < 0) {
		us += AM_USEC;
		s -= 1;
	}
	for (int i = 0; i < 6; i++) {
		*--p = (char)('0' + us % 10);
		us /= 10;
	}
	*--p = '.';
	p = u64_dec(p, s < 0 ? 0 - (uint64_t)s : (uint64_t)s);
	if (s < 0)
		*--p = '-';
	field_n(o, name, p, (size_t)(b + sizeof(b) - p), 0, width);
}

void
out_double(struct am_out *o, const char *name, double v, int width)
{
	char b[40];
	snprintf(b, sizeof(b), "%.1f", v);
	field(o, name, b, 0, width);
}
