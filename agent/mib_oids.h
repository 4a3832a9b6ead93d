/* Object identifiers of ARTMON-MIB (mibs/ARTMON-MIB.txt), as numbers.
 *
 * ARTMON_MIB_OID is the enterprise arc: the one place in C that names it.
 * It must match the MODULE-IDENTITY of the MIB file; tests/agent/oids.sh
 * compares every object below with snmptranslate's view of the MIB. */
#ifndef AM_MIB_OIDS_H
#define AM_MIB_OIDS_H

/* enterprises.32473: IANA's documentation number, a placeholder (doc/mib.md). */
#define ARTMON_MIB_OID 1, 3, 6, 1, 4, 1, 32473
#define ARTMON_MIB_OID_LEN 7

/* Under artmonMIB */
#define AM_O_NOTIFICATIONS 0
#define AM_O_OBJECTS 1
#define AM_O_CONFORMANCE 2

/* Under artmonObjects */
#define AM_O_SENSOR 1
#define AM_O_STORE 2
#define AM_O_CAPTURE_TABLE 3
#define AM_O_MALFORMED_TABLE 4
#define AM_O_SERVER_TABLE 5
#define AM_O_SIGNATURE_TABLE 6
#define AM_O_HISTOGRAM_TABLE 7
#define AM_O_HISTORY_TABLE 8
#define AM_O_ALARM 9
#define AM_O_ANOMALY 10
#define AM_O_NOTIFY 11
#define AM_O_CENSUS 12

/* artmonSensor scalars */
enum {
	AM_SENSOR_NAME = 1,
	AM_SENSOR_VERSION,
	AM_SENSOR_START_TIME,
	AM_SENSOR_INTERVAL,
	AM_SENSOR_LAST_END,
	AM_SENSOR_LAST_END_SECONDS,
	AM_SENSOR_INTERVALS,
	AM_SENSOR_CONFIG_FILE,
	AM_SENSOR_CONFIG_TIME,
	AM_SENSOR_CONFIG_RESULT,
	AM_SENSOR_CONFIG_MESSAGE,
	AM_SENSOR_CONFIG_FAILURES,
	AM_SENSOR_DISCONTINUITY,
	AM_SENSOR_HISTORY_DEPTH,
	AM_SENSOR__MAX = AM_SENSOR_HISTORY_DEPTH
};

/* artmonStore scalars */
enum {
	AM_STORE_PATH = 1,
	AM_STORE_MAP_SIZE,
	AM_STORE_MAP_USED,
	AM_STORE_FLUSH_DURATION,
	AM_STORE_FLUSH_KEYS,
	AM_STORE_FLUSHES,
	AM_STORE_ERRORS,
	AM_STORE_PRUNED,
	AM_STORE__MAX = AM_STORE_PRUNED
};

/* artmonCaptureEntry columns (1 is the index) */
enum {
	AM_CAP_INDEX = 1,
	AM_CAP_NAME,
	AM_CAP_KIND,
	AM_CAP_LINKTYPE,
	AM_CAP_STATE,
	AM_CAP_PACKETS,
	AM_CAP_OCTETS,
	AM_CAP_KERNEL_DROPS,
	AM_CAP_IF_DROPS,
	AM_CAP_MALFORMED,
	AM_CAP_TRUNCATED,
	AM_CAP_FRAGMENTS,
	AM_CAP_NOT_IP,
	AM_CAP_OTHER_L4,
	AM_CAP_SESS_ACTIVE,
	AM_CAP_SESS_LIMIT,
	AM_CAP_SESS_REFUSED,
	AM_CAP_SESS_EVICTED,
	AM_CAP_SESS_TIMEDOUT,
	AM_CAP_PENDING_CAP,
	AM_CAP_REGEX_LIMIT,
	AM_CAP_SIG_OVERFLOW,
	AM_CAP_KEY_OVERFLOW,
	AM_CAP_GAP_OCTETS,
	AM_CAP_REOPENS,
	AM_CAP_MERGE_EARLY,
	AM_CAP_MERGE_LATE,
	AM_CAP_EXCHANGE_CAP,
	AM_CAP__MAX = AM_CAP_EXCHANGE_CAP
};

/* artmonMalformedEntry */
#define AM_MAL_REASON 1
#define AM_MAL_PACKETS 2
#define AM_MAL_REASONS 12     /* truncatedLink(1) .. badUdpLength(12) */

/* Statistics columns shared by artmonServerEntry (first at column
 * AM_SRV_STATS) and artmonSignatureEntry (first at AM_SIG_STATS), in
 * this order. */
enum {
	AM_ST_TXNS = 0,
	AM_ST_RESETS,
	AM_ST_TIMEOUTS,
	AM_ST_INCOMPLETE,
	AM_ST_REQ_OCTETS,
	AM_ST_RESP_OCTETS,
	AM_ST_FIRST_SUM, AM_ST_FIRST_N,
	AM_ST_LAST_SUM, AM_ST_LAST_N,
	AM_ST_ACK_SUM, AM_ST_ACK_N,
	AM_ST_THINK_SUM, AM_ST_THINK_N,
	AM_ST_RTT_SUM, AM_ST_RTT_N,
	AM_ST_INT_TXNS,
	AM_ST_INT_ERRORS,
	AM_ST_INT_FIRST_MIN, AM_ST_INT_FIRST_MEAN, AM_ST_INT_FIRST_P50,
	AM_ST_INT_FIRST_P90, AM_ST_INT_FIRST_P99, AM_ST_INT_FIRST_MAX,
	AM_ST_INT_LAST_MIN, AM_ST_INT_LAST_MEAN, AM_ST_INT_LAST_P50,
	AM_ST_INT_LAST_P90, AM_ST_INT_LAST_P99, AM_ST_INT_LAST_MAX,
	AM_ST_INT_RTT_MEAN, AM_ST_INT_RTT_P90,
	AM_ST_LAST_SEEN,
	AM_ST__COUNT
};

/* artmonServerEntry: 1-3 index, 4 rules, then the statistics */
#define AM_SRV_RULES 4
#define AM_SRV_STATS 5
/* artmonSignatureEntry: 1 id (index), 2 name, 3 rule, then the statistics */
#define AM_SIG_NAME 2
#define AM_SIG_RULE 3
#define AM_SIG_STATS 4

/* artmonHistogramEntry: 1 bound (index), 2 count */
#define AM_HIST_COUNT 2
#define AM_HIST_BOUND_INF 4294967295u

/* artmonHistoryEntry: 1 interval start (index), then these */
enum {
	AM_HY_START_TIME = 2,
	AM_HY_TXNS,
	AM_HY_MEAN,
	AM_HY_P50,
	AM_HY_P90,
	AM_HY_P99,
	AM_HY_MAX,
	AM_HY__MAX = AM_HY_MAX
};

/* artmonAlarmObjects */
#define AM_AL_LOSS_BOUND 1
#define AM_AL_HELD_BACK 2
#define AM_AL_TABLE 3
#define AM_AL_STATUS_TABLE 4

/* artmonAlarmEntry columns (1 is the index) */
enum {
	AM_ALC_INDEX = 1,
	AM_ALC_DESCR,
	AM_ALC_ADDR_TYPE,
	AM_ALC_ADDR,
	AM_ALC_PORT,
	AM_ALC_SIGNATURE,
	AM_ALC_STATISTIC,
	AM_ALC_TIMING,
	AM_ALC_RISING,
	AM_ALC_FALLING,
	AM_ALC_STARTUP,
	AM_ALC_MIN_TXNS,
	AM_ALC_RATE_LIMIT,
	AM_ALC_HELD_BACK,
	AM_ALC_STORAGE,
	AM_ALC_STATUS,
	AM_ALC__MAX = AM_ALC_STATUS
};

/* artmonAlarmStatusEntry columns (1-4 are the index) */
enum {
	AM_ASC_VALUE = 5,
	AM_ASC_LAST_EVENT,
	AM_ASC_LAST_CHANGE,
	AM_ASC__MAX = AM_ASC_LAST_CHANGE
};

/* artmonAnomalyEntry columns (AUGMENTS artmonSignatureEntry) */
enum {
	AM_ANC_STATE = 1,
	AM_ANC_SCORE,
	AM_ANC_BASE_P50,
	AM_ANC_BASE_P90,
	AM_ANC_HISTORY,
	AM_ANC_BEYOND,
	AM_ANC_LAST_CHANGE,
	AM_ANC__MAX = AM_ANC_LAST_CHANGE
};

/* artmonAnomalyObjects */
#define AM_AN_BOUND 1
#define AM_AN_INTERVALS 2
#define AM_AN_MIN_HISTORY 3
#define AM_AN_ACTIVE 4
#define AM_AN_TABLE 5

/* artmonCensus (issue 11): scalars, then the tables */
enum {
	AM_CE_SINCE = 1,
	AM_CE_TOP_N,
	AM_CE_TOP_CAPACITY,
	AM_CE_TOP_INTERVAL_START,
	AM_CE_TOP_INTERVALS,
	AM_CE_COMPILE_ERRORS,
	AM_CE_TOP_MEMORY,
	AM_CE__MAX = AM_CE_TOP_MEMORY
};
#define AM_CE_FILTER_TABLE 8
#define AM_CE_HW_TABLE 9
#define AM_CE_TOPINFO_TABLE 10
#define AM_CE_TOP_TABLE 11

/* artmonFilterEntry columns (1-2 are the index) */
enum {
	AM_FC_SET_NAME = 3,
	AM_FC_LABEL,
	AM_FC_EXPRESSION,
	AM_FC_PACKETS,
	AM_FC_OCTETS,
	AM_FC__MAX = AM_FC_OCTETS
};

/* artmonHwCounterEntry columns (1 is the index) */
enum {
	AM_HC_GROUP = 2,
	AM_HC_NAME,
	AM_HC_PACKETS,
	AM_HC_OCTETS,
	AM_HC__MAX = AM_HC_OCTETS
};

/* artmonTopInfoEntry columns (1 is the index: ArtmonTopTable) */
enum {
	AM_TI_NAME = 2,
	AM_TI_ROWS,
	AM_TI_TOTAL,
	AM_TI_BOUND,
	AM_TI_KEYS,
	AM_TI_REPLACED,
	AM_TI__MAX = AM_TI_REPLACED
};

/* artmonTopEntry columns (1-2 are the index: table, rank) */
enum {
	AM_TC_ADDR_TYPE = 3,
	AM_TC_ADDR,
	AM_TC_PORT,
	AM_TC_PROTOCOL,
	AM_TC_COUNT,
	AM_TC_ERROR,
	AM_TC_P99,
	AM_TC_GUARANTEED,
	AM_TC__MAX = AM_TC_GUARANTEED
};

/* artmonNotifyObjects */
enum {
	AM_NO_ADDRESS_TYPE = 1,
	AM_NO_ADDRESS,
	AM_NO_PORT,
	AM_NO_SIGNATURE,
	AM_NO_ALARM_INDEX,
	AM_NO_STATISTIC,
	AM_NO_TIMING,
	AM_NO_VALUE,
	AM_NO_THRESHOLD,
	AM_NO_INTERVAL_END,
	AM_NO_CAPTURE_NAME,
	AM_NO_MESSAGE
};

/* artmonNotifications */
enum {
	AM_NT_ALARM_RISING = 1,
	AM_NT_ALARM_FALLING,
	AM_NT_ANOMALY_DETECTED,
	AM_NT_ANOMALY_CLEARED,
	AM_NT_LOSS_RISING,
	AM_NT_LOSS_FALLING,
	AM_NT_SESSION_TABLE_FULL,
	AM_NT_STORE_ERROR
};

/* artmonConformance */
#define AM_CONF_COMPLIANCES 1
#define AM_CONF_GROUPS 2

#endif
