/* ARTMON-MIB object handling without Net-SNMP.
 *
 * The daemon keeps a plain C struct (struct am_mib_state) up to date; the
 * functions here answer GET and GETNEXT on OIDs below artmonObjects from
 * it.  agent/snmp.c only converts between Net-SNMP's types and these, so
 * the OID order, the walk across tables (empty ones too) and the index
 * decoding are unit-tested directly (tests/check_agent_mib.c).
 *
 * Tables whose rows live elsewhere (servers, signatures, histograms,
 * history: the aggregates and the store) are read through providers: a
 * provider returns the first row whose index, as OID sub-identifiers, is at
 * or after a given one.  The index may be any sequence of sub-identifiers a
 * manager sent (too short, too long, out of range); providers compare
 * encoded indexes, so they need not decode it. */
#ifndef AM_MIB_H
#define AM_MIB_H

#include <stddef.h>
#include <stdint.h>
#include "common/addr.h"
#include "common/util.h"
#include "agent/mib_oids.h"

typedef uint32_t am_subid;
#define AM_OID_MAX 128

/* Value types, as SMI knows them. */
enum am_mib_type {
	AM_V_INTEGER = 1,     /* Integer32 and enumerations */
	AM_V_UNSIGNED,        /* Unsigned32 */
	AM_V_GAUGE,           /* Gauge32 */
	AM_V_COUNTER32,
	AM_V_COUNTER64,
	AM_V_OCTETS           /* OCTET STRING, DisplayString, DateAndTime, InetAddress */
};

struct am_mib_value {
	enum am_mib_type type;
	int64_t i;                 /* INTEGER */
	uint64_t u;                /* Unsigned32, Gauge32, Counter32, Counter64 */
	size_t len;                /* OCTETS */
	uint8_t s[256];
};

/* --- rows ----------------------------------------------------------------- */

/* Statistics of a server or signature row (ARTMON-MIB columns in the order
 * of the AM_ST_* numbers). */
enum { AM_MT_FIRST, AM_MT_LAST, AM_MT_ACK, AM_MT_THINK, AM_MT_RTT, AM_MT__COUNT };
enum { AM_Q_MIN, AM_Q_MEAN, AM_Q_P50, AM_Q_P90, AM_Q_P99, AM_Q_MAX, AM_Q__COUNT };

struct am_mib_stats {
	uint64_t txns, resets, timeouts, incomplete;
	uint64_t req_octets, resp_octets;
	uint64_t sum[AM_MT__COUNT], n[AM_MT__COUNT];
	uint32_t int_txns, int_errors;
	uint64_t int_first[AM_Q__COUNT];   /* reported clamped to 32 bits */
	uint64_t int_last[AM_Q__COUNT];
	uint64_t int_rtt_mean, int_rtt_p90;
	am_time_t last_seen;               /* 0: never */
};

struct am_mib_server_row {
	struct am_addr addr;
	uint16_t port;
	char rules[128];
	struct am_mib_stats st;
};

struct am_mib_sig_row {
	struct am_addr addr;
	uint16_t port;
	uint32_t id;
	char name[128];
	char rule[64];
	struct am_mib_stats st;
};

struct am_mib_hist_row {
	struct am_addr addr;
	uint16_t port;
	uint32_t id;
	uint32_t bound;            /* microseconds; AM_HIST_BOUND_INF for +inf */
	uint64_t count;            /* cumulative ("le") */
};

struct am_mib_history_row {
	struct am_addr addr;
	uint16_t port;
	uint32_t id;
	uint32_t start;            /* seconds since the epoch */
	uint32_t txns;
	uint64_t mean, p50, p90, p99, max;
};

/* artmonAlarmEntry (issue 7): the values as the MIB defines them. */
struct am_mib_alarm_row {
	uint32_t index;            /* 1..65535 */
	char descr[65];
	struct am_addr target;     /* family 0: any address (type unknown(0), empty) */
	uint16_t target_port;      /* 0: any */
	char target_sig[256];      /* "": server rows, "*": every signature */
	int statistic;             /* ArtmonStatistic, 1..8 */
	int timing;                /* ArtmonTiming, 1..6 */
	uint32_t rising, falling;
	int startup;               /* 1 rising, 2 falling, 3 both */
	uint32_t min_txns, rate_limit;
	uint32_t held_back;
	int storage;               /* StorageType: 2 volatile, 3 nonVolatile, 5 readOnly */
	int status;                /* RowStatus: 1 active, 2 notInService, 3 notReady */
	/* as a manager wrote them (a row is complete only when they fit) */
	uint8_t target_len;        /* octets of artmonAlarmTargetAddress: 0, 4 or 16, as
	                            * target.family says for a complete row */
	uint8_t missing;           /* AM_ALARM_MISSING_*: columns without a value yet */
};
#define AM_ALARM_MISSING_STATISTIC 0x01
#define AM_ALARM_MISSING_RISING 0x02
#define AM_ALARM_MISSING_FALLING 0x04

/* artmonAlarmStatusEntry: one alarm on one targeted row. */
struct am_mib_alarm_status_row {
	uint32_t alarm;
	struct am_addr addr;       /* family 0 for the per-sensor captureLoss */
	uint16_t port;
	uint32_t sig;              /* 0: the server row */
	uint32_t value;
	int last_event;            /* 1 none, 2 rising, 3 falling */
	am_time_t last_change;
};

/* artmonAnomalyEntry (AUGMENTS artmonSignatureEntry). */
struct am_mib_anomaly_row {
	struct am_addr addr;
	uint16_t port;
	uint32_t id;
	int state;                 /* 1 learning, 2 normal, 3 anomalous */
	uint32_t score;            /* thousandths */
	uint32_t base_p50, base_p90;
	uint32_t history, beyond;
	am_time_t last_change;
};

/* SNMP error status values (RFC 3416), for SET. */
enum {
	AM_ERR_NONE = 0,
	AM_ERR_GEN = 5,
	AM_ERR_WRONG_TYPE = 7,
	AM_ERR_WRONG_LENGTH = 8,
	AM_ERR_WRONG_VALUE = 10,
	AM_ERR_NO_CREATION = 11,
	AM_ERR_INCONSISTENT_VALUE = 12,
	AM_ERR_RESOURCE_UNAVAILABLE = 13,
	AM_ERR_NOT_WRITABLE = 17,
	AM_ERR_INCONSISTENT_NAME = 18
};

/* One varbind of a SET on artmonAlarmTable, decoded. */
struct am_mib_set_vb {
	uint32_t index;            /* artmonAlarmIndex */
	unsigned col;              /* AM_ALC_* */
	struct am_mib_value v;
};

/* Row providers.  Each returns 1 and fills *out with the first row whose
 * index OID compares >= idx[0..len) (after == 0) or > it (after != 0),
 * and 0 when there is none.  NULL providers are empty tables. */
struct am_mib_tables {
	void *ctx;
	int (*server)(void *ctx, const am_subid *idx, size_t len, int after,
	    struct am_mib_server_row *out);
	int (*signature)(void *ctx, const am_subid *idx, size_t len, int after,
	    struct am_mib_sig_row *out);
	int (*histogram)(void *ctx, const am_subid *idx, size_t len, int after,
	    struct am_mib_hist_row *out);
	int (*history)(void *ctx, const am_subid *idx, size_t len, int after,
	    struct am_mib_history_row *out);
	/* issue 7: the alarm table (alarm_ctx: alarm, alarm_set) and the
	 * evaluation state (eval_ctx: alarm_status, anomaly) */
	void *alarm_ctx, *eval_ctx;
	int (*alarm)(void *ctx, const am_subid *idx, size_t len, int after,
	    struct am_mib_alarm_row *out);
	int (*alarm_status)(void *ctx, const am_subid *idx, size_t len, int after,
	    struct am_mib_alarm_status_row *out);
	int (*anomaly)(void *ctx, const am_subid *idx, size_t len, int after,
	    struct am_mib_anomaly_row *out);
	/* SET on artmonAlarmTable: all the request's alarm varbinds at once;
	 * commit 0 checks them, commit 1 applies them (after a successful
	 * check).  Returns AM_ERR_NONE or an AM_ERR_* code; *bad is the
	 * varbind at fault.  NULL: the table is not writable. */
	int (*alarm_set)(void *ctx, const struct am_mib_set_vb *vbs, int n, int commit, int *bad);
};

/* --- the state ------------------------------------------------------------- */

struct am_censusd;            /* agent/censusd.h */

enum am_cap_kind { AM_CAPK_INTERFACE = 1, AM_CAPK_FILE = 2 };
enum am_cap_state { AM_CAPS_UP = 1, AM_CAPS_DOWN, AM_CAPS_REOPENING, AM_CAPS_FINISHED };

struct am_mib_capture {
	char name[256];
	int kind;                  /* enum am_cap_kind */
	int linktype;              /* DLT_ value, -1 when not open */
	int state;                 /* enum am_cap_state */
	uint64_t packets, octets, kernel_drops, if_drops;
	uint64_t merge_early, merge_late;     /* live merge of several interfaces */
	uint64_t malformed[AM_MAL_REASONS];   /* by artmonMalformedReason - 1 */
	uint64_t fragments, not_ip, other_l4;
	/* session tracker and classifier (shared by all sources) */
	uint64_t sess_active, sess_limit, sess_refused, sess_evicted, sess_timedout;
	uint64_t pending_cap, regex_limit, sig_overflow, key_overflow;
	uint64_t gap_octets;
	uint32_t reopens;
	uint64_t exchange_cap;     /* connections whose data went untimed: max_exchanges */
};

#define AM_MIB_MAX_CAPTURES 255

struct am_mib_state {
	/* artmonSensor */
	char sensor_name[256];
	char version[64];
	am_time_t start_time;          /* wall clock */
	uint32_t interval_s;
	am_time_t last_interval_end;   /* packet time, 0 none */
	uint32_t intervals;
	char config_file[256];
	am_time_t config_time;
	int config_result;             /* 1 ok, 2 failedKeptPrevious */
	char config_message[256];
	uint32_t config_failures;
	am_time_t discontinuity;
	uint32_t history_depth;
	/* artmonStore */
	char store_path[256];
	uint64_t map_size, map_used;   /* bytes */
	uint64_t flush_us;
	uint32_t flush_keys;
	uint32_t flushes;
	uint32_t store_errors;
	uint64_t pruned;
	/* capture sources */
	int ncaptures;
	struct am_mib_capture *captures;
	/* alarms and anomalies (issue 7): scalars only so far */
	uint32_t loss_bound_ppm;
	uint32_t alarms_held_back;
	uint32_t anomaly_bound, anomaly_intervals, anomaly_min_history;
	uint32_t anomalies_active;
	/* tables read through providers */
	struct am_mib_tables tables;
	/* artmonCensus (agent/census_mib.c); NULL: no census */
	const struct am_censusd *census;
};

/* --- requests ------------------------------------------------------------- */

/* Results of am_mib_get. */
#define AM_MIB_OK 0
#define AM_MIB_NOSUCHOBJECT 1
#define AM_MIB_NOSUCHINSTANCE 2

/* GET of a full OID (starting with the enterprise arc). */
int am_mib_get(const struct am_mib_state *st, const am_subid *oid, size_t len,
    struct am_mib_value *v);
/* Decodes one SET varbind: a writable column of artmonAlarmTable with a
 * value of its type and size.  AM_ERR_NONE, or NOT_WRITABLE / NO_CREATION
 * (not an alarm column instance), WRONG_TYPE, WRONG_LENGTH. */
int am_mib_set_decode(const am_subid *oid, size_t len, const struct am_mib_value *v,
    struct am_mib_set_vb *out);

/* GETNEXT: the first instance after oid inside artmonMIB; writes its OID to
 * next (AM_OID_MAX sub-identifiers) and returns its length, or 0 when there
 * is none (end of the module's view). */
size_t am_mib_getnext(const struct am_mib_state *st, const am_subid *oid, size_t len,
    am_subid *next, struct am_mib_value *v);

/* The registered subtree (artmonObjects) and the module's root. */
extern const am_subid am_mib_objects_oid[];
extern const size_t am_mib_objects_oid_len;
extern const am_subid am_mib_root_oid[];
extern const size_t am_mib_root_oid_len;

/* --- helpers for providers and tests --------------------------------------- */

int am_oid_cmp(const am_subid *a, size_t alen, const am_subid *b, size_t blen);
/* Index encodings (INET-ADDRESS-MIB style: type, length, bytes, port).
 * Return the number of sub-identifiers written (buf: AM_OID_MAX). */
size_t am_mib_index_server(const struct am_addr *a, uint16_t port, am_subid *buf);
size_t am_mib_index_sig(const struct am_addr *a, uint16_t port, uint32_t id, am_subid *buf);
/* artmonAlarmStatusEntry's index: alarm, address type, address, port,
 * signature id (type 0 and an empty address for family 0). */
size_t am_mib_index_alarm_status(uint32_t alarm, const struct am_addr *a, uint16_t port,
    uint32_t sig, am_subid *buf);
/* Decodes a server index; returns the sub-identifiers used, 0 if invalid. */
size_t am_mib_index_server_decode(const am_subid *idx, size_t len, struct am_addr *a,
    uint16_t *port);

/* Binary search over an array sorted by index: index_of(elem, buf) encodes
 * an element's index.  Returns the position of the first element at or
 * after idx (after == 0) or after it (after != 0); n when none. */
size_t am_mib_lower_bound(const void *base, size_t n, size_t size,
    size_t (*index_of)(const void *elem, am_subid *buf),
    const am_subid *idx, size_t len, int after);

/* A DisplayString (cut to 256 octets) and a DateAndTime value. */
void am_mib_value_str(struct am_mib_value *v, const char *s);
void am_mib_value_date(struct am_mib_value *v, am_time_t t);

/* DateAndTime in UTC (11 octets) from microseconds since the epoch. */
size_t am_mib_date_and_time(am_time_t t, uint8_t *buf);

/* Maps a decoder outcome (enum am_dec) to artmonMalformedReason - 1, or -1
 * when the outcome is not a malformed reason. */
int am_mib_malformed_slot(int dec);

/* --- notifications --------------------------------------------------------- */

/* A notification as the agent sends it: snmpTrapOID.0 is
 * artmonNotifications.type; the varbinds follow in order. */
#define AM_MIB_NOTIFY_MAX 16
struct am_mib_varbind {
	am_subid oid[AM_OID_MAX];
	size_t len;
	struct am_mib_value v;
};
struct am_mib_notification {
	unsigned type;                     /* AM_NT_* */
	am_subid trap_oid[AM_OID_MAX];     /* artmonNotifications.type */
	size_t trap_oid_len;
	int n;
	struct am_mib_varbind vb[AM_MIB_NOTIFY_MAX];
};

void am_mib_notify_init(struct am_mib_notification *nt, unsigned type);
/* artmonNotify<obj>.0 (obj: AM_NO_*) with a value of the object's type. */
void am_mib_notify_u32(struct am_mib_notification *nt, unsigned obj, uint32_t u);
void am_mib_notify_int(struct am_mib_notification *nt, unsigned obj, int64_t i);
void am_mib_notify_str(struct am_mib_notification *nt, unsigned obj, const char *s);
void am_mib_notify_date(struct am_mib_notification *nt, unsigned obj, am_time_t t);
/* artmonNotifyAddressType, artmonNotifyAddress and artmonNotifyPort. */
void am_mib_notify_server(struct am_mib_notification *nt, const struct am_addr *a, uint16_t port);
/* Any readable object instance with its current value from st (for
 * example artmonStoreErrors.0); 0, or -1 if it cannot be read. */
int am_mib_notify_object(struct am_mib_notification *nt, const struct am_mib_state *st,
    const am_subid *oid, size_t len);

#endif
