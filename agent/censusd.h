/* The daemon's traffic census (capture/census.h): built from the
 * configuration (engine/census_conf.h), fed every frame and every
 * transaction, its top-N tables closed on packet time at the same
 * boundaries as the aggregates' summary intervals (multiples of the
 * interval since the epoch), read by the MIB (agent/census_mib.c).
 *
 * A reload that changes the filter sets or the top-N settings replaces the
 * census (its counters start again: artmonCensusSince says when); a
 * reload that changes neither keeps it.  No Net-SNMP here. */
#ifndef AM_CENSUSD_H
#define AM_CENSUSD_H

#include <stddef.h>
#include <stdint.h>
#include "capture/census.h"
#include "common/util.h"

struct am_config;
struct am_conn;
struct am_txn;

struct am_censusd {
	struct am_census *census;    /* NULL until configured */
	am_time_t since;             /* wall clock: counters start */
	int64_t interval;            /* microseconds */
	am_time_t open_start;        /* packet time: start of the open top-N interval, 0 none */
	am_time_t last_start;        /* start of the interval the top-N reports describe, 0 none */
	uint32_t top_n, top_capacity;/* 0, 0 when the top-N tables are off */
	uint64_t replaced;           /* censuses replaced by reloads */
};

void am_censusd_init(struct am_censusd *cd, uint32_t interval_s);
void am_censusd_free(struct am_censusd *cd);
/* (Re)builds the census from cfg (NULL: defaults, no filter sets) for link
 * type dlt.  On failure the previous census stays and err says why; -1. */
int am_censusd_configure(struct am_censusd *cd, const struct am_config *cfg, int dlt,
    char *err, size_t errlen);
void am_censusd_frame(struct am_censusd *cd, const struct am_frame *f);
void am_censusd_txn(struct am_censusd *cd, const struct am_conn *conn, const struct am_txn *txn);
/* The clock without frames (live: wall time); closes the open interval once
 * now is past its end. */
void am_censusd_tick(struct am_censusd *cd, am_time_t now);
/* Compiles cfg's filter expressions for the link type of every open
 * source (artmond -n with inputs): each failure is logged at its
 * file:line:column.  0, or -1 if any failed. */
struct am_source;
int am_censusd_check_sources(const struct am_config *cfg, struct am_source *src, int nsrc);

/* End of input: closes the interval in progress (partial). */
void am_censusd_finish(struct am_censusd *cd);

#endif
