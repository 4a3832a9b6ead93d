/* Anomalies: each signature row's `first` distribution of a completed
 * interval against the same row's own history (issue 7; doc/anomaly.md).
 *
 * An interval is summarised as a quantile function: 40 bins of 2.5% of
 * the transactions each, every bin the mean of log2(microseconds) of the
 * transactions in it.  Every scored interval's quantile function is kept
 * in the store (aux table AM_AUX_BASELINE, written within the flush's
 * transaction by am_anomaly_flush, for AM_ANOMALY_KEEP_DAYS days).  The
 * baseline of an interval is made of the quantile functions of the same
 * row in the same hour of day (UTC) over the previous `days` days:
 * their mean, their two principal directions with the spread along each,
 * and the spread of what remains per bin.  The score of an interval is
 * the largest of the deviations from the mean along the two principal
 * directions and in any one bin after them, each divided by its spread
 * (never less than AM_ANOMALY_FLOOR), in thousandths.  A row turns
 * anomalous when `intervals` evaluated intervals in a row score above
 * `bound`, and normal again after `intervals` in a row at or below it.
 * Rows with fewer than `min_history` past intervals in their baseline
 * stay learning; intervals with fewer than `min_txns` transactions are
 * not scored and leave the state as it was. */
#ifndef AM_ANOMALY_H
#define AM_ANOMALY_H

#include "agent/mib.h"
#include "store/store.h"

#define AM_ANOMALY_BINS 40
#define AM_ANOMALY_FLOOR 0.2      /* least spread, log2 units (x1.15) */
#define AM_ANOMALY_MAX_KEYS 8     /* store keys summed into one signature row */
#define AM_ANOMALY_KEEP_DAYS 32   /* quantile functions kept in the store */

struct am_anomaly_cfg {
	uint32_t bound;            /* thousandths (default 4000) */
	uint32_t intervals;        /* 1..1000 (default 2) */
	uint32_t min_history;      /* past intervals in the baseline (default 7) */
	uint32_t min_txns;         /* transactions in an interval (default 100) */
	uint32_t days;             /* days of history (default 14, at most 31) */
};
void am_anomaly_cfg_default(struct am_anomaly_cfg *c);

struct am_anomaly;

/* st: where the history is read (NULL: every row stays learning). */
struct am_anomaly *am_anomaly_new(const struct am_anomaly_cfg *cfg, struct am_store *st);
void am_anomaly_free(struct am_anomaly *an);
void am_anomaly_set_cfg(struct am_anomaly *an, const struct am_anomaly_cfg *cfg);
void am_anomaly_get_cfg(const struct am_anomaly *an, struct am_anomaly_cfg *cfg);

typedef void (*am_anomaly_notify_cb)(void *ctx, const struct am_mib_notification *nt);
void am_anomaly_on_notify(struct am_anomaly *an, am_anomaly_notify_cb cb, void *ctx);

/* Reading baselines from the store costs about a millisecond per row and
 * hour: one evaluation pass (the rows of one interval) builds baselines for
 * at most this long (microseconds; default 50 ms), so that SNMP stays
 * responsive; rows left over are not scored in that interval and are
 * built in the next ones.  Call am_anomaly_pass before each pass. */
void am_anomaly_set_budget(struct am_anomaly *an, int64_t us);
void am_anomaly_pass(struct am_anomaly *an);
/* Rows not scored because the pass ran out of time for baselines. */
uint64_t am_anomaly_deferred(const struct am_anomaly *an);

/* One signature row's completed interval [start, start + interval_s)
 * (microseconds); key_ids: the store keys whose records make the row. */
void am_anomaly_eval(struct am_anomaly *an, am_time_t start, uint32_t interval_s,
    const struct am_addr *addr, uint16_t port, uint32_t sig, const char *sig_name,
    const uint32_t *key_ids, int nkeys, const struct am_rec *rec);

/* The aggregator's flush callback (am_agg_flush_cb): writes the quantile
 * functions of the intervals scored since the last flush, and deletes
 * those AM_ANOMALY_KEEP_DAYS days older. */
int am_anomaly_flush(void *ctx, struct am_store_w *w);

/* Rows in the anomalous state. */
uint32_t am_anomaly_active(const struct am_anomaly *an);
/* artmonAnomalyTable provider (mib.h). */
int am_anomaly_row(void *ctx, const am_subid *idx, size_t len, int after,
    struct am_mib_anomaly_row *out);

/* The quantile function of a histogram (log2 microseconds); 0, or -1 when
 * it is empty.  Exposed for the unit tests. */
int am_anomaly_qf(const struct am_hist *h, double *q);
/* Score (thousandths) of q against the baseline made of n quantile
 * functions hist[0..n); base_p50/base_p90 (may be NULL) get the
 * baseline's median and 90th percentile in microseconds. */
uint32_t am_anomaly_score(const double *q, const double (*hist)[AM_ANOMALY_BINS], int n,
    uint32_t *base_p50, uint32_t *base_p90);

#endif
