/* Interval aggregates: transactions in, per-key interval records out.
 *
 * The aggregator runs on a clock the caller advances (packet time offline,
 * wall time live).  Intervals are aligned to multiples of their length.  A
 * transaction counts in the interval open when it is added, so call
 * am_agg_advance(agg, t) before feeding the tracker a packet of time t.
 * am_agg_add is O(1) and does no I/O (but to bring back a key dropped from
 * memory, see max_known); closing an interval writes every key that saw
 * transactions, and the totals that changed, in one write transaction: at
 * once, or in steps (deferred_flush).
 *
 * Every key keeps its id (from the store, so ids survive restarts) and its
 * cumulative totals; only "live" keys, those with recent transactions, hold
 * interval accumulators.  The number of live keys is bounded: beyond it, a
 * transaction for a new key counts in its rule's overflow key (counted in
 * stats.overflow). */
#ifndef AM_AGG_H
#define AM_AGG_H

#include "store/store.h"

struct am_agg_cfg {
	uint32_t interval_s;       /* 300 (10..3600); with a store, the store's length wins */
	uint32_t max_keys;         /* live keys (10000), overflow keys not included */
	uint32_t idle_s;           /* a live key idle this long leaves the live table (3600) */
	uint32_t max_known;        /* keys kept in memory, live or idle (100000); with a
	                            * store, the idle keys seen longest ago beyond this
	                            * are dropped from memory and reloaded (id, totals)
	                            * from the store when they come back */
	uint8_t deferred_flush;    /* 0: a closed interval is written within am_agg_advance;
	                            * 1: am_agg_advance only takes a snapshot, and the caller
	                            * writes it with am_agg_flush_step between other work */
	uint8_t need_handshake;    /* 1: new keys only from TCP connections with a completed
	                            * handshake and server data (the default) */
	uint32_t n_le;             /* without a store: "le" bounds of `first` (default ladder) */
	uint64_t le[AM_LE_MAX];
};
void am_agg_cfg_default(struct am_agg_cfg *cfg);

/* The gauges of one key over its last completed interval. */
struct am_agg_gauges {
	am_time_t start;           /* start of that interval; 0 if none yet */
	uint64_t count;
	uint64_t errors;           /* resets + timeouts + incomplete */
	struct {
		uint64_t n, min, max, p50, p90, p95, p99, p999;
		double mean;
	} t[AM_T__COUNT];
};
/* Fills gauges from a record (count, and per timing n/min/mean/quantiles). */
void am_agg_gauges_from(struct am_agg_gauges *g, am_time_t start, const struct am_rec *r);

/* A row: one key, as the agent sees it. */
struct am_agg_row {
	uint32_t id;               /* stable: the store's key id */
	uint32_t sig_id;           /* stable: the store's signature id, 0 for overflow keys */
	const struct am_agg_key *key;
	const struct am_totals *totals;    /* cumulative, including the open interval */
	const struct am_agg_gauges *last;  /* last completed interval (count 0 if the key
	                                    * saw nothing in it) */
	int live;                  /* has interval accumulators */
};

struct am_agg_stats {
	uint64_t txns;             /* transactions counted */
	uint64_t unkeyed;          /* ignored: new key without handshake or server data */
	uint64_t overflow;         /* counted in an overflow key */
	uint64_t keys_live, keys_peak;
	uint64_t keys_total;       /* ids handed out */
	uint64_t keys_known;       /* keys in memory */
	uint64_t keys_expired;     /* left the live table after idling */
	uint64_t keys_dropped;     /* idle keys dropped from memory (they stay stored) */
	uint64_t keys_reloaded;    /* ... and reloaded from the store */
	uint64_t intervals;        /* intervals closed */
	uint64_t flush_errors;
	am_time_t clock;           /* the caller's clock */
	am_time_t open_start;      /* start of the open interval, 0 before the first advance */
	am_time_t last_closed;     /* start of the last completed interval, 0 none */
	int64_t last_flush_us;
};

struct am_agg;

/* st may be NULL (nothing is stored; ids count from 1).  With a store, the
 * keys, signatures and totals already stored are loaded.  NULL on bad cfg. */
struct am_agg *am_agg_new(const struct am_agg_cfg *cfg, struct am_store *st);
/* Frees without flushing: what is not flushed is lost (see am_agg_finish). */
void am_agg_free(struct am_agg *agg);

/* Counts one transaction in the open interval under key k (made with
 * am_agg_key_make).  The timings come from the transaction; rtt is the
 * connection's srv_rtt + cli_rtt when both are known (counted with every
 * transaction, as `artmon read` does).  need_handshake applies to TCP only.
 * Returns 0 counted, 1 ignored (new key refused by need_handshake),
 * 2 counted in the overflow key. */
int am_agg_add(struct am_agg *agg, const struct am_agg_key *k, const struct am_conn *conn,
    const struct am_txn *txn);

/* Advances the clock; closes the open interval when now reaches its end and
 * flushes it.  Time never goes back (an older now is ignored).  Returns the
 * number of intervals closed (0 or 1), -1 if the flush failed (the data is
 * dropped, counted; the aggregator stays usable). */
int am_agg_advance(struct am_agg *agg, am_time_t now);
/* End of input or clean stop: completes a pending flush, closes the open
 * interval as it is (partial), flushes it and marks the store clean.  0 or -1. */
int am_agg_finish(struct am_agg *agg);

/* With deferred_flush: writes up to `keys` keys of the pending flush (in the
 * one write transaction of that flush) and commits after the last.  Returns
 * 1 while there is more to do, 0 when done or nothing is pending, -1 when
 * the flush failed (dropped and counted).  A pending flush is also completed
 * at once by the next interval close and by am_agg_finish.  Transactions
 * added meanwhile belong to the next interval; everything reads as usual.
 * The close work of each key (its last-interval gauges and the close
 * callback) is done by the step that writes it, so closing an interval
 * itself is O(keys) pointer swaps. */
int am_agg_flush_step(struct am_agg *agg, uint32_t keys);
int am_agg_flush_pending(const struct am_agg *agg);
/* With deferred_flush and on: am_agg_finish leaves its flush pending like
 * any other (written by am_agg_flush_step, which marks the store clean at
 * its commit); the caller completes it before it stops. */
void am_agg_defer_finish(struct am_agg *agg, int on);

void am_agg_stats(const struct am_agg *agg, struct am_agg_stats *st);
uint32_t am_agg_interval_s(const struct am_agg *agg);

/* Rows in id order: the row with the smallest id > after (0 to start);
 * 0 found, 1 none.  Also by id.  The pointers stay valid until the next
 * am_agg_add / am_agg_advance. */
int am_agg_row_next(const struct am_agg *agg, uint32_t after, struct am_agg_row *row);
int am_agg_row_get(const struct am_agg *agg, uint32_t id, struct am_agg_row *row);
/* Signature name of an id, NULL if unknown. */
const char *am_agg_sig_name(const struct am_agg *agg, uint32_t sig_id);
/* The open interval's record of a live row (NULL if not live). */
const struct am_rec *am_agg_row_open(const struct am_agg *agg, uint32_t id);

/* Called when an interval closes, before it is flushed, for every key that
 * saw transactions in it (rec: its record for the interval; row->last holds
 * the gauges just computed from it): for alarms, baselines and per-interval
 * output.  The record must not be kept.  The calls come key by key as the
 * flush is written (with deferred_flush, in its steps, after the interval
 * closed), all of them before the flush callback and before any call for
 * the next interval. */
typedef void (*am_agg_close_cb)(void *ctx, am_time_t start, uint32_t interval_s,
    const struct am_agg_row *row, const struct am_rec *rec);
void am_agg_on_close(struct am_agg *agg, am_agg_close_cb cb, void *ctx);

/* Called within every flush's write transaction, after the aggregator's own
 * writes, so that other state (baselines, alarm state) is stored atomically
 * with the interval: use am_store_aux_put.  May be called more than once
 * for one flush (when the map was full and the flush is retried): it must
 * write the same thing each time.  Return -1 to fail the flush. */
typedef int (*am_agg_flush_cb)(void *ctx, struct am_store_w *w);
void am_agg_on_flush(struct am_agg *agg, am_agg_flush_cb cb, void *ctx);

/* Called when a key leaves memory (back 0: dropped, see max_known; row
 * holds its id, key and totals, as stored) and when it comes back (back 1:
 * reloaded from the store with its id and stored totals), before the
 * transaction that brought it back is counted.  Registering calls cb at once
 * (back 0) for every stored key that is not in memory (left in the store at
 * start), so that the caller knows the totals of every key.  Overflow keys
 * are reported too.  Returns 0, -1 if the store could not be read. */
typedef void (*am_agg_drop_cb)(void *ctx, const struct am_agg_row *row, int back);
int am_agg_on_drop(struct am_agg *agg, am_agg_drop_cb cb, void *ctx);
/* The configured max_known. */
uint32_t am_agg_max_known(const struct am_agg *agg);

#endif
