/* In-memory aggregates behind the server, signature, histogram and history
 * tables of ARTMON-MIB.
 *
 * This is the agent's own small aggregation, fed by the tracker's
 * transaction callback, used until artmond is wired to the store's
 * aggregation (store/agg.h): it keeps cumulative totals, the statistics of
 * the last completed interval, "le" counts of `first` and the last N
 * intervals of each signature, all in memory.  It exposes them through the
 * row providers of mib.h, so the MIB code does not change when the store
 * takes over (a store-backed provider replaces am_live_tables).
 *
 * Signature ids are given per server in order of first appearance
 * (1, 2, ...); they are stable only within one run. */
#ifndef AM_LIVE_H
#define AM_LIVE_H

#include <stdint.h>
#include "capture/tracker.h"
#include "agent/mib.h"

#define AM_LIVE_MAX_BOUNDS 32

struct am_live_cfg {
	uint32_t history_depth;        /* intervals kept per signature (default 24) */
	uint32_t max_servers;          /* rows; beyond, transactions are counted as key overflows */
	uint32_t max_sigs_per_server;  /* beyond, they go to the server's "(overflow)" signature */
	uint32_t nbounds;
	uint32_t bounds[AM_LIVE_MAX_BOUNDS];   /* ascending, microseconds */
};

void am_live_cfg_default(struct am_live_cfg *cfg);

struct am_live;

struct am_live *am_live_new(const struct am_live_cfg *cfg);
void am_live_free(struct am_live *l);

/* One transaction; signature and rule names may be NULL or "". */
void am_live_txn(struct am_live *l, const struct am_conn *c, const struct am_txn *t,
    const char *signature, const char *rule);
/* Closes the interval [start, end): the last-interval columns take its
 * statistics, each signature with transactions gets a history entry. */
void am_live_close_interval(struct am_live *l, am_time_t start, am_time_t end);

/* Row providers for mib.h. */
void am_live_tables(struct am_live *l, struct am_mib_tables *out);

uint64_t am_live_key_overflows(const struct am_live *l);
uint64_t am_live_sig_overflows(const struct am_live *l);
uint32_t am_live_servers(const struct am_live *l);

#endif
