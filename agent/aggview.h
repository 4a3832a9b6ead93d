/* The server, signature, histogram and history tables of ARTMON-MIB, read
 * from the aggregator (store/agg.h) and the store (store/store.h).
 *
 * The aggregator lists its keys by id; SNMP wants them in index order
 * (server address type, address, port, signature id).  The view keeps a
 * sorted snapshot of the rows (order and names; the counters are read live),
 * rebuilt when keys were added and the snapshot is older than a set age
 * (max_age).  By default a request that finds it due rebuilds it at once;
 * a stepped view (am_aggview_set_stepped, as artmond runs it) is rebuilt
 * only by am_aggview_step, in slices between requests, while requests are
 * served from the previous snapshot: a new key appears at most max_age plus
 * the duration of one build after it was added.  Keys that differ only by
 * client (Summarise_by client) are summed into one signature row.  Overflow
 * keys have no row (their transactions are counted in
 * artmonCaptureKeyOverflows).
 *
 * The last-interval columns come from the view's own per-row interval
 * histograms, fed with every transaction (am_aggview_txn).  When the
 * aggregator closes an interval each row rotates on its own the next time
 * it is used (O(1) at the close whatever the number of rows), and a row's
 * statistics are computed the first time a manager asks for them, so no
 * interval close stalls the SNMP loop.  Rows silent in both intervals are
 * dropped by a sweep in am_aggview_step (or kept, harmlessly, without it).
 * The view also registers itself as the aggregator's close callback and
 * passes every call on to a chained one.
 *
 * The cumulative columns (Counter64) of a row are the sum of its keys'
 * totals.  The aggregator keeps at most max_known keys in memory and drops
 * idle ones (store/agg.h): the view keeps, per signature row, the summed
 * totals of its keys out of memory ("retired"; reported by the aggregator's
 * drop callback, and at start for the stored keys not loaded), adds them to
 * the row, and takes a key's totals back out when it is reloaded, so a
 * row's counters never go down.  A row whose keys are all out of memory
 * stays, with its retired totals.  At most max_known rows hold retired
 * totals: beyond, the totals of a key dropped from a row without any are
 * not kept (counted, am_aggview_retired; artmond then moves
 * artmonCounterDiscontinuityTime).
 *
 * The history table reads level-1 records from the store (none without a
 * store); for a signature row made of several keys, the first key's. */
#ifndef AM_AGGVIEW_H
#define AM_AGGVIEW_H

#include "agent/mib.h"
#include "store/agg.h"
#include "store/store.h"

struct am_aggview;

/* store may be NULL.  le/n_le: the "le" bounds of the totals (from the
 * store's info, or the aggregator's configuration without a store). */
struct am_aggview *am_aggview_new(struct am_agg *agg, struct am_store *store,
    const uint64_t *le, uint32_t n_le, uint32_t history_depth);
void am_aggview_free(struct am_aggview *v);

/* Row providers for mib.h. */
void am_aggview_tables(struct am_aggview *v, struct am_mib_tables *out);

/* One transaction, as the engine reports it (call it for every transaction
 * the aggregator counts; masks as in the engine's configuration). */
void am_aggview_txn(struct am_aggview *v, const struct am_conn *c, const struct am_txn *t,
    const char *signature, unsigned masklen4, unsigned masklen6);

/* Background work between requests, for about budget_us: the next
 * snapshot when keys were added (at most one build started per max_age),
 * built in steps while the last one is served, and the sweep of rows that
 * went silent.  Returns 1 while there is more to do (call again soon),
 * 0 when idle. */
int am_aggview_step(struct am_aggview *v, am_time_t budget_us);
/* 1 when the served snapshot holds every key the aggregator has (no build
 * due nor under way), 0 while a step still has to build it. */
int am_aggview_current(const struct am_aggview *v);
/* From now on requests never build: only am_aggview_step does (builds the
 * first snapshot now if there is none). */
void am_aggview_set_stepped(struct am_aggview *v);

/* The aggregates changed (call after feeding packets). */
void am_aggview_touch(struct am_aggview *v);
/* Least age of a snapshot before a rebuild, microseconds (default 1 s;
 * 0 rebuilds at every request, or step, after keys were added). */
void am_aggview_set_max_age(struct am_aggview *v, am_time_t us);

/* A callback called after the view's own for every closed key (alarms,
 * baselines). */
void am_aggview_chain_close(struct am_aggview *v, am_agg_close_cb cb, void *ctx);

/* Interval accumulators held (server and signature rows seen in the open
 * or the last interval, plus silent ones the sweep has not reached yet). */
size_t am_aggview_acc_rows(const struct am_aggview *v);

/* Signature rows holding retired totals (keys out of memory), keys whose
 * totals could not be kept (beyond max_known such rows) and the
 * aggregator's clock at the last of those (0 none, or at start, before
 * the first advance). */
void am_aggview_retired(const struct am_aggview *v, size_t *rows, uint64_t *lost, am_time_t *lost_at);

#endif
