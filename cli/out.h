/* Record output in three formats: text (aligned columns), CSV, JSON Lines.
 * A record is written field by field; names and order must be the same for
 * every record of one stream (the first record prints the header). */
#ifndef AM_OUT_H
#define AM_OUT_H

#include <stdint.h>
#include <stdio.h>
#include "common/util.h"

enum am_fmt { FMT_TEXT, FMT_CSV, FMT_JSON };

struct am_out {
	FILE *fp;
	enum am_fmt fmt;
	int nfield;          /* field index within the current record */
	int header_done;
	int in_header_pass;
	char header[4096];   /* text/CSV header collected during the first record */
	size_t hlen;
	char line[8192];     /* the record being built */
	size_t llen;
};

int am_fmt_parse(const char *s, enum am_fmt *fmt);
void out_init(struct am_out *o, FILE *fp, enum am_fmt fmt);
void out_begin(struct am_out *o);
void out_end(struct am_out *o);
void out_str(struct am_out *o, const char *name, const char *v, int width);
void out_u64(struct am_out *o, const char *name, uint64_t v, int width);
void out_i64(struct am_out *o, const char *name, int64_t v, int width);
/* v < 0 prints null (JSON), empty (CSV) or "-" (text) */
void out_opt(struct am_out *o, const char *name, int64_t v, int width);
void out_time(struct am_out *o, const char *name, am_time_t t, int width);
void out_double(struct am_out *o, const char *name, double v, int width);

#endif
