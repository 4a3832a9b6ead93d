/* The daemon's census; see censusd.h. */
#include "config.h"
#include "agent/censusd.h"
#include "engine/census_conf.h"
#include "capture/source.h"
#include "common/log.h"
#include "rules/rules.h"

#include <stdio.h>
#include <string.h>

void
am_censusd_init(struct am_censusd *cd, uint32_t interval_s)
{
	memset(cd, 0, sizeof(*cd));
	cd->interval = (int64_t)(interval_s ? interval_s : 300) * AM_USEC;
}

void
am_censusd_free(struct am_censusd *cd)
{
	am_census_free(cd->census);
	cd->census = NULL;
}

int
am_censusd_configure(struct am_censusd *cd, const struct am_config *cfg, int dlt,
    char *err, size_t errlen)
{
	struct am_census *c = am_census_from_config(cfg, dlt, err, errlen);

	if (c == NULL) {
		/* An expression for another link type than the one checked at
		 * load: name its place in the configuration. */
		struct am_diags d;
		am_diags_init(&d);
		if (cfg != NULL && am_config_check_filters(cfg, dlt, &d) > 0 && d.n > 0)
			snprintf(err, errlen, "%s:%u:%u: %s", d.v[0].file, d.v[0].line, d.v[0].col, d.v[0].msg);
		am_diags_free(&d);
		return -1;
	}
	if (cd->census != NULL)
		cd->replaced++;
	am_census_free(cd->census);
	cd->census = c;
	cd->since = am_now_wall();
	cd->last_start = 0;
	const struct am_topn *t = am_census_topn(c, AM_TOP_TALKER_PKTS);
	cd->top_n = t ? am_topn_n(t) : 0;
	cd->top_capacity = t ? am_topn_capacity(t) : 0;
	return 0;
}

static am_time_t
align(const struct am_censusd *cd, am_time_t t)
{
	am_time_t r = t % cd->interval;

	return r < 0 ? t - r - cd->interval : t - r;
}

/* Closes the open interval when t is at or past its end; an interval with
 * no traffic at all in between gives an empty report. */
static void
advance(struct am_censusd *cd, am_time_t t)
{
	if (cd->open_start == 0) {
		cd->open_start = align(cd, t);
		return;
	}
	if (t < cd->open_start + cd->interval)
		return;
	am_census_interval(cd->census);
	cd->last_start = cd->open_start;
	cd->open_start = align(cd, t);
	if (cd->open_start > cd->last_start + cd->interval) {
		/* the interval before this one saw nothing */
		am_census_interval(cd->census);
		cd->last_start = cd->open_start - cd->interval;
	}
}

void
am_censusd_frame(struct am_censusd *cd, const struct am_frame *f)
{
	if (cd->census == NULL)
		return;
	advance(cd, f->ts);
	am_census_frame(cd->census, f, NULL);
}

void
am_censusd_txn(struct am_censusd *cd, const struct am_conn *conn, const struct am_txn *txn)
{
	if (cd->census != NULL)
		am_census_txn(cd->census, conn, txn);
}

void
am_censusd_tick(struct am_censusd *cd, am_time_t now)
{
	if (cd->census != NULL && cd->open_start != 0)
		advance(cd, now);
}

void
am_censusd_finish(struct am_censusd *cd)
{
	if (cd->census == NULL || cd->open_start == 0)
		return;
	am_census_interval(cd->census);
	cd->last_start = cd->open_start;
	cd->open_start = 0;
}

int
am_censusd_check_sources(const struct am_config *cfg, struct am_source *src, int nsrc)
{
	struct am_diags d;
	int seen[8], nseen = 0;
	unsigned bad = 0;

	if (cfg == NULL || src == NULL)
		return 0;
	am_diags_init(&d);
	for (int i = 0; i < nsrc; i++) {
		struct am_source_stats ss;
		int dup = 0;
		memset(&ss, 0, sizeof(ss));
		am_source_stats(src, i, &ss);
		for (int k = 0; k < nseen; k++)
			dup |= seen[k] == ss.dlt;
		if (dup || ss.dlt <= 0 || nseen == (int)(sizeof(seen) / sizeof(seen[0])))
			continue;
		seen[nseen++] = ss.dlt;
		bad += am_config_check_filters(cfg, ss.dlt, &d);
	}
	for (size_t i = 0; i < d.n; i++)
		log_warnx("config", "%s:%u:%u: error: %s", d.v[i].file, d.v[i].line, d.v[i].col, d.v[i].msg);
	am_diags_free(&d);
	return bad > 0 ? -1 : 0;
}
