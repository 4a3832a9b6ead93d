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

/* The providers of mib.h: alarm (read) and alarm_set (SET). */
void am_alarms_tables(struct am_alarms *a, struct am_mib_tables *out);

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
