/* artmonAlarmTable rows with their RowStatus life cycle (RFC 2579), as the
 * MIB describes it: rows from the configuration (StorageType readOnly) and
 * rows a manager creates, changes and destroys with SET.
 *
 * This module holds the rows and answers the MIB (read and SET); it does
 * not evaluate them (issue 7: thresholds against each completed interval)
 * and does not persist them: the owner is told of every change through the
 * change callback and stores nonVolatile rows where it wants (LMDB), then
 * gives them back with am_alarms_put at start. */
#ifndef AM_ALARMS_H
#define AM_ALARMS_H

#include "agent/mib.h"

#define AM_ALARMS_MAX 1024

struct am_alarms;

/* A row changed (created, modified, activated...) or, with gone set, was
 * destroyed.  Called after a SET is applied, once per row touched. */
typedef void (*am_alarms_change_cb)(void *ctx, const struct am_mib_alarm_row *row, int gone);

struct am_alarms *am_alarms_new(void);
void am_alarms_free(struct am_alarms *a);
void am_alarms_on_change(struct am_alarms *a, am_alarms_change_cb cb, void *ctx);

/* Adds or replaces a row as it is (configuration or stored rows).  0, or -1
 * when the table is full or the index is 0. */
int am_alarms_put(struct am_alarms *a, const struct am_mib_alarm_row *row);
/* Removes every row of this storage type (a reload replaces the rows of
 * the configuration file: AM_STORAGE_READONLY). */
void am_alarms_remove_storage(struct am_alarms *a, int storage);
int am_alarms_get(const struct am_alarms *a, uint32_t index, struct am_mib_alarm_row *out);
int am_alarms_count(const struct am_alarms *a);

/* Default values of a new row (the MIB's DEFVALs). */
void am_alarms_row_default(struct am_mib_alarm_row *row, uint32_t index);
/* 1 when the row has what it needs to be active (statistic, thresholds
 * with rising >= falling, a timing that fits the statistic, an address
 * that fits its type). */
int am_alarms_row_complete(const struct am_mib_alarm_row *row);

/* The providers of mib.h: alarm (read) and alarm_set (SET), and with
 * eval_ctx = a: alarm_status, and anomaly when an anomaly detector is set. */
void am_alarms_tables(struct am_alarms *a, struct am_mib_tables *out);

/* ------------------------------------------------------------ evaluation
 * Every completed interval: the aggregator's close callback gives each key
 * that saw transactions (am_alarms_close); the records are summed per
 * server row and per signature row; when the next interval's first key
 * arrives, or am_alarms_complete is called (from the main loop, after an
 * interval closed), the summed interval is evaluated against every active
 * row: RMON hysteresis per targeted row (artmonAlarmStatusTable), capture
 * loss against the loss bound, and the anomaly detector (anomaly.h) on
 * every signature row. */
struct am_anomaly;
struct am_agg_row;
struct am_rec;
typedef void (*am_alarms_notify_cb)(void *ctx, const struct am_mib_notification *nt);
void am_alarms_on_notify(struct am_alarms *a, am_alarms_notify_cb cb, void *ctx);
void am_alarms_set_anomaly(struct am_alarms *a, struct am_anomaly *an);
/* Capture loss above which response-time alarms are held back (ppm; 0: never). */
void am_alarms_set_loss_bound(struct am_alarms *a, uint32_t ppm);
/* Cumulative packets and kernel drops of all capture sources, as last read. */
void am_alarms_set_capture(struct am_alarms *a, uint64_t packets, uint64_t drops);
/* Bytes a connection that ended never showed (sequence gaps), with the
 * time of its last packet: counted in the capture loss of the interval
 * that holds that time (or of the next one to be evaluated, when that one
 * was evaluated already). */
void am_alarms_add_gap(struct am_alarms *a, int64_t last_ts, uint64_t bytes);
/* The aggregator's close callback (am_agg_close_cb). */
void am_alarms_close(void *ctx, int64_t start, uint32_t interval_s, const struct am_agg_row *row,
    const struct am_rec *rec);
/* Evaluates the interval summed so far, if any. */
void am_alarms_complete(struct am_alarms *a);
/* On while a closed interval's keys are being fed in steps (a deferred
 * flush: am_alarms_close calls spread over several turns of the loop,
 * requests served between them): a row created or changed meanwhile is
 * judged from the next interval on, not on the keys fed after it only. */
void am_alarms_set_feeding(struct am_alarms *a, int on);
/* The same once `clock` (the aggregator's) has passed the interval's end
 * by the grace: the sequence gaps of a connection are known when it ends,
 * which the tracker reports after its closed-state timeout, so the
 * capture loss of an interval is complete that long after its end (or
 * when the next interval closes).  Grace in microseconds (default 11 s). */
void am_alarms_set_grace(struct am_alarms *a, int64_t us);
void am_alarms_due(struct am_alarms *a, int64_t clock);
uint32_t am_alarms_held_back(const struct am_alarms *a);
/* Loss (ppm) of the last evaluated interval. */
uint32_t am_alarms_last_loss(const struct am_alarms *a);

/* The value of a statistic (ArtmonStatistic, ArtmonTiming) in a record:
 * microseconds, transactions or parts per million.  -1 when the record
 * has no value for it (no transaction with that timing). */
int64_t am_alarms_stat_value(const struct am_rec *rec, int statistic, int timing);

/* Persistence: loads the nonVolatile rows kept in the store (aux table
 * AM_AUX_ALARM) and from then on writes every change of a nonVolatile row
 * there (and deletes rows destroyed or made volatile).  A write that cannot
 * be made at once (a flush is open) is retried by am_alarms_tick.  Returns
 * the rows loaded, or -1. */
struct am_store;
struct am_store_w;
int am_alarms_attach_store(struct am_alarms *a, struct am_store *st);
void am_alarms_tick(struct am_alarms *a);
/* The hysteresis state of every alarm on every target is kept in the store
 * too (written within flushes: call from the aggregator's flush callback)
 * and loaded by am_alarms_attach_store; am_alarms_load_config then drops
 * the states of rows that are gone or changed meanwhile. */
int am_alarms_flush(void *ctx, struct am_store_w *w);
/* The rows of the configuration file (struct am_settings of rules.h)
 * replace the readOnly rows; a file row whose index a manager's row holds
 * is skipped (returned count).  NULL: no rows from the file. */
struct am_settings;
int am_alarms_load_config(struct am_alarms *a, const struct am_settings *set);

/* Encoding of a row for the store (nonVolatile rows); decode: 0 or -1. */
size_t am_alarms_row_encode(const struct am_mib_alarm_row *row, uint8_t *buf, size_t len);
int am_alarms_row_decode(struct am_mib_alarm_row *row, const uint8_t *buf, size_t len);

#define AM_STORAGE_VOLATILE 2
#define AM_STORAGE_NONVOLATILE 3
#define AM_STORAGE_READONLY 5

#define AM_RS_ACTIVE 1
#define AM_RS_NOT_IN_SERVICE 2
#define AM_RS_NOT_READY 3
#define AM_RS_CREATE_AND_GO 4
#define AM_RS_CREATE_AND_WAIT 5
#define AM_RS_DESTROY 6

#endif
