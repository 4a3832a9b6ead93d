/* ARTMON-MIB object handling without Net-SNMP: see mib.h. */
#include "config.h"
#include "agent/mib.h"
#include "agent/census_mib.h"
#include "capture/decode.h"

#include <string.h>

const am_subid am_mib_root_oid[] = { ARTMON_MIB_OID };
const size_t am_mib_root_oid_len = ARTMON_MIB_OID_LEN;
const am_subid am_mib_objects_oid[] = { ARTMON_MIB_OID, AM_O_OBJECTS };
const size_t am_mib_objects_oid_len = ARTMON_MIB_OID_LEN + 1;

/* ------------------------------------------------------------------ helpers */

int
am_oid_cmp(const am_subid *a, size_t alen, const am_subid *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	if (alen == blen)
		return 0;
	return alen < blen ? -1 : 1;
}

static size_t
addr_len(const struct am_addr *a)
{
	return a->family == AM_AF_INET ? 4 : a->family == AM_AF_INET6 ? 16 : 0;
}

size_t
am_mib_index_server(const struct am_addr *a, uint16_t port, am_subid *buf)
{
	size_t n = 0, alen = addr_len(a);

	buf[n++] = a->family == AM_AF_INET ? 1 : a->family == AM_AF_INET6 ? 2 : 0;
	buf[n++] = (am_subid)alen;
	for (size_t i = 0; i < alen; i++)
		buf[n++] = a->a[i];
	buf[n++] = port;
	return n;
}

size_t
am_mib_index_sig(const struct am_addr *a, uint16_t port, uint32_t id, am_subid *buf)
{
	size_t n = am_mib_index_server(a, port, buf);

	buf[n++] = id;
	return n;
}

size_t
am_mib_index_alarm_status(uint32_t alarm, const struct am_addr *a, uint16_t port, uint32_t sig,
    am_subid *buf)
{
	size_t n = 0;

	buf[n++] = alarm;
	n += am_mib_index_server(a, port, buf + n);
	buf[n++] = sig;
	return n;
}

size_t
am_mib_index_server_decode(const am_subid *idx, size_t len, struct am_addr *a, uint16_t *port)
{
	size_t alen;

	if (len < 2)
		return 0;
	memset(a, 0, sizeof(*a));
	if (idx[0] == 1 && idx[1] == 4) {
		a->family = AM_AF_INET;
		alen = 4;
	} else if (idx[0] == 2 && idx[1] == 16) {
		a->family = AM_AF_INET6;
		alen = 16;
	} else
		return 0;
	if (len < 2 + alen + 1)
		return 0;
	for (size_t i = 0; i < alen; i++) {
		if (idx[2 + i] > 255)
			return 0;
		a->a[i] = (uint8_t)idx[2 + i];
	}
	if (idx[2 + alen] > 65535)
		return 0;
	*port = (uint16_t)idx[2 + alen];
	return 2 + alen + 1;
}

size_t
am_mib_lower_bound(const void *base, size_t n, size_t size,
    size_t (*index_of)(const void *elem, am_subid *buf),
    const am_subid *idx, size_t len, int after)
{
	size_t lo = 0, hi = n;
	am_subid buf[AM_OID_MAX];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		size_t l = index_of((const uint8_t *)base + mid * size, buf);
		int c = am_oid_cmp(buf, l, idx, len);
		if (c < 0 || (after && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), inverse below. */
static void
civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

size_t
am_mib_date_and_time(am_time_t t, uint8_t *buf)
{
	int64_t secs, days, rem;
	int y;
	unsigned mo, d;

	if (t < 0)
		t = 0;
	secs = t / AM_USEC;
	days = secs / 86400;
	rem = secs % 86400;
	civil_from_days(days, &y, &mo, &d);
	buf[0] = (uint8_t)(y >> 8);
	buf[1] = (uint8_t)y;
	buf[2] = (uint8_t)mo;
	buf[3] = (uint8_t)d;
	buf[4] = (uint8_t)(rem / 3600);
	buf[5] = (uint8_t)(rem / 60 % 60);
	buf[6] = (uint8_t)(rem % 60);
	buf[7] = (uint8_t)(t % AM_USEC / 100000);   /* deci-seconds */
	buf[8] = '+';
	buf[9] = 0;
	buf[10] = 0;
	return 11;
}

int
am_mib_malformed_slot(int dec)
{
	switch (dec) {
	case AM_DEC_TRUNC_LINK: return 0;
	case AM_DEC_TRUNC_IP: return 1;
	case AM_DEC_TRUNC_IPEXT: return 2;
	case AM_DEC_TRUNC_TCP: return 3;
	case AM_DEC_TRUNC_UDP: return 4;
	case AM_DEC_BAD_IPVERSION: return 5;
	case AM_DEC_BAD_IPHDRLEN: return 6;
	case AM_DEC_BAD_IPLEN: return 7;
	case AM_DEC_BAD_IPEXT: return 8;
	case AM_DEC_BAD_TCPHDRLEN: return 9;
	case AM_DEC_BAD_TCPOPT: return 10;
	case AM_DEC_BAD_UDPLEN: return 11;
	default: return -1;
	}
}

/* ------------------------------------------------------------------ values */

static void
v_int(struct am_mib_value *v, int64_t i)
{
	v->type = AM_V_INTEGER;
	v->i = i;
}

static void
v_u(struct am_mib_value *v, enum am_mib_type type, uint64_t u)
{
	v->type = type;
	v->u = u;
}

/* Unsigned32 gauges of microseconds are clamped to 32 bits. */
static void
v_u32c(struct am_mib_value *v, uint64_t u)
{
	v_u(v, AM_V_UNSIGNED, u > 0xffffffffu ? 0xffffffffu : u);
}

static void
v_gauge(struct am_mib_value *v, uint64_t u)
{
	v_u(v, AM_V_GAUGE, u > 0xffffffffu ? 0xffffffffu : u);
}

static void
v_str(struct am_mib_value *v, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(v->s))
		n = sizeof(v->s);
	v->type = AM_V_OCTETS;
	memcpy(v->s, s, n);
	v->len = n;
}

static void
v_date(struct am_mib_value *v, am_time_t t)
{
	v->type = AM_V_OCTETS;
	v->len = am_mib_date_and_time(t, v->s);
}

void
am_mib_value_str(struct am_mib_value *v, const char *s)
{
	v_str(v, s);
}

void
am_mib_value_date(struct am_mib_value *v, am_time_t t)
{
	v_date(v, t);
}

/* ------------------------------------------------------------------ scalars */

static int
sensor_value(const struct am_mib_state *st, unsigned n, struct am_mib_value *v)
{
	switch (n) {
	case AM_SENSOR_NAME: v_str(v, st->sensor_name); break;
	case AM_SENSOR_VERSION: v_str(v, st->version); break;
	case AM_SENSOR_START_TIME: v_date(v, st->start_time); break;
	case AM_SENSOR_INTERVAL: v_u(v, AM_V_UNSIGNED, st->interval_s); break;
	case AM_SENSOR_LAST_END: v_date(v, st->last_interval_end); break;
	case AM_SENSOR_LAST_END_SECONDS:
		v_u32c(v, st->last_interval_end > 0 ? (uint64_t)(st->last_interval_end / AM_USEC) : 0);
		break;
	case AM_SENSOR_INTERVALS: v_u(v, AM_V_COUNTER32, st->intervals); break;
	case AM_SENSOR_CONFIG_FILE: v_str(v, st->config_file); break;
	case AM_SENSOR_CONFIG_TIME: v_date(v, st->config_time); break;
	case AM_SENSOR_CONFIG_RESULT: v_int(v, st->config_result ? st->config_result : 1); break;
	case AM_SENSOR_CONFIG_MESSAGE: v_str(v, st->config_message); break;
	case AM_SENSOR_CONFIG_FAILURES: v_u(v, AM_V_COUNTER32, st->config_failures); break;
	case AM_SENSOR_DISCONTINUITY: v_date(v, st->discontinuity); break;
	case AM_SENSOR_HISTORY_DEPTH: v_u(v, AM_V_UNSIGNED, st->history_depth); break;
	default: return 0;
	}
	return 1;
}

static int
store_value(const struct am_mib_state *st, unsigned n, struct am_mib_value *v)
{
	switch (n) {
	case AM_STORE_PATH: v_str(v, st->store_path); break;
	case AM_STORE_MAP_SIZE: v_u32c(v, st->map_size / 1024); break;
	case AM_STORE_MAP_USED: v_u32c(v, st->map_used / 1024); break;
	case AM_STORE_FLUSH_DURATION: v_u32c(v, st->flush_us); break;
	case AM_STORE_FLUSH_KEYS: v_gauge(v, st->flush_keys); break;
	case AM_STORE_FLUSHES: v_u(v, AM_V_COUNTER32, st->flushes); break;
	case AM_STORE_ERRORS: v_u(v, AM_V_COUNTER32, st->store_errors); break;
	case AM_STORE_PRUNED: v_u(v, AM_V_COUNTER64, st->pruned); break;
	default: return 0;
	}
	return 1;
}

static int
alarm_scalar_value(const struct am_mib_state *st, unsigned n, struct am_mib_value *v)
{
	switch (n) {
	case AM_AL_LOSS_BOUND: v_u(v, AM_V_UNSIGNED, st->loss_bound_ppm); break;
	case AM_AL_HELD_BACK: v_u(v, AM_V_COUNTER32, st->alarms_held_back); break;
	default: return 0;
	}
	return 1;
}

static int
anomaly_scalar_value(const struct am_mib_state *st, unsigned n, struct am_mib_value *v)
{
	switch (n) {
	case AM_AN_BOUND: v_u(v, AM_V_UNSIGNED, st->anomaly_bound); break;
	case AM_AN_INTERVALS: v_u(v, AM_V_UNSIGNED, st->anomaly_intervals ? st->anomaly_intervals : 1); break;
	case AM_AN_MIN_HISTORY: v_u(v, AM_V_UNSIGNED, st->anomaly_min_history); break;
	case AM_AN_ACTIVE: v_gauge(v, st->anomalies_active); break;
	default: return 0;
	}
	return 1;
}

/* ------------------------------------------------------------------ tables */

static int
capture_value(const struct am_mib_capture *c, unsigned col, struct am_mib_value *v)
{
	uint64_t trunc = 0, bad = 0;

	for (int i = 0; i < AM_MAL_REASONS; i++) {
		if (i < 5)
			trunc += c->malformed[i];
		else
			bad += c->malformed[i];
	}
	switch (col) {
	case AM_CAP_NAME: v_str(v, c->name); break;
	case AM_CAP_KIND: v_int(v, c->kind); break;
	case AM_CAP_LINKTYPE: v_int(v, c->linktype); break;
	case AM_CAP_STATE: v_int(v, c->state); break;
	case AM_CAP_PACKETS: v_u(v, AM_V_COUNTER64, c->packets); break;
	case AM_CAP_OCTETS: v_u(v, AM_V_COUNTER64, c->octets); break;
	case AM_CAP_KERNEL_DROPS: v_u(v, AM_V_COUNTER64, c->kernel_drops); break;
	case AM_CAP_IF_DROPS: v_u(v, AM_V_COUNTER64, c->if_drops); break;
	case AM_CAP_MALFORMED: v_u(v, AM_V_COUNTER64, bad); break;
	case AM_CAP_TRUNCATED: v_u(v, AM_V_COUNTER64, trunc); break;
	case AM_CAP_FRAGMENTS: v_u(v, AM_V_COUNTER64, c->fragments); break;
	case AM_CAP_NOT_IP: v_u(v, AM_V_COUNTER64, c->not_ip); break;
	case AM_CAP_OTHER_L4: v_u(v, AM_V_COUNTER64, c->other_l4); break;
	case AM_CAP_SESS_ACTIVE: v_gauge(v, c->sess_active); break;
	case AM_CAP_SESS_LIMIT: v_u32c(v, c->sess_limit); break;
	case AM_CAP_SESS_REFUSED: v_u(v, AM_V_COUNTER64, c->sess_refused); break;
	case AM_CAP_SESS_EVICTED: v_u(v, AM_V_COUNTER64, c->sess_evicted); break;
	case AM_CAP_SESS_TIMEDOUT: v_u(v, AM_V_COUNTER64, c->sess_timedout); break;
	case AM_CAP_PENDING_CAP: v_u(v, AM_V_COUNTER64, c->pending_cap); break;
	case AM_CAP_REGEX_LIMIT: v_u(v, AM_V_COUNTER64, c->regex_limit); break;
	case AM_CAP_SIG_OVERFLOW: v_u(v, AM_V_COUNTER64, c->sig_overflow); break;
	case AM_CAP_KEY_OVERFLOW: v_u(v, AM_V_COUNTER64, c->key_overflow); break;
	case AM_CAP_GAP_OCTETS: v_u(v, AM_V_COUNTER64, c->gap_octets); break;
	case AM_CAP_REOPENS: v_u(v, AM_V_COUNTER32, c->reopens); break;
	case AM_CAP_MERGE_EARLY: v_u(v, AM_V_COUNTER64, c->merge_early); break;
	case AM_CAP_MERGE_LATE: v_u(v, AM_V_COUNTER64, c->merge_late); break;
	case AM_CAP_EXCHANGE_CAP: v_u(v, AM_V_COUNTER64, c->exchange_cap); break;
	default: return 0;
	}
	return 1;
}

static int
stats_value(const struct am_mib_stats *s, unsigned k, struct am_mib_value *v)
{
	if (k >= AM_ST_FIRST_SUM && k <= AM_ST_RTT_N) {
		unsigned t = (k - AM_ST_FIRST_SUM) / 2;
		v_u(v, AM_V_COUNTER64, (k - AM_ST_FIRST_SUM) % 2 ? s->n[t] : s->sum[t]);
		return 1;
	}
	if (k >= AM_ST_INT_FIRST_MIN && k <= AM_ST_INT_FIRST_MAX) {
		v_u32c(v, s->int_first[k - AM_ST_INT_FIRST_MIN]);
		return 1;
	}
	if (k >= AM_ST_INT_LAST_MIN && k <= AM_ST_INT_LAST_MAX) {
		v_u32c(v, s->int_last[k - AM_ST_INT_LAST_MIN]);
		return 1;
	}
	switch (k) {
	case AM_ST_TXNS: v_u(v, AM_V_COUNTER64, s->txns); break;
	case AM_ST_RESETS: v_u(v, AM_V_COUNTER64, s->resets); break;
	case AM_ST_TIMEOUTS: v_u(v, AM_V_COUNTER64, s->timeouts); break;
	case AM_ST_INCOMPLETE: v_u(v, AM_V_COUNTER64, s->incomplete); break;
	case AM_ST_REQ_OCTETS: v_u(v, AM_V_COUNTER64, s->req_octets); break;
	case AM_ST_RESP_OCTETS: v_u(v, AM_V_COUNTER64, s->resp_octets); break;
	case AM_ST_INT_TXNS: v_gauge(v, s->int_txns); break;
	case AM_ST_INT_ERRORS: v_gauge(v, s->int_errors); break;
	case AM_ST_INT_RTT_MEAN: v_u32c(v, s->int_rtt_mean); break;
	case AM_ST_INT_RTT_P90: v_u32c(v, s->int_rtt_p90); break;
	case AM_ST_LAST_SEEN: v_date(v, s->last_seen); break;
	default: return 0;
	}
	return 1;
}

/* A table: rows found by `row`, which returns 1 with the row's index in
 * rowidx/rowlen and the value of column col in v, for the first row whose
 * index is >= idx (after == 0) or > idx (after != 0); 0 when none. */
struct table {
	am_subid entry[4];            /* below artmonMIB */
	size_t entry_len;
	unsigned first_col, last_col;
	int (*row)(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
	    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v);
};

static int
row_capture(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	for (int i = 0; i < st->ncaptures; i++) {
		am_subid me = (am_subid)i + 1;
		int c = am_oid_cmp(&me, 1, idx, len);
		if (c < 0 || (after && c == 0))
			continue;
		rowidx[0] = me;
		*rowlen = 1;
		return capture_value(&st->captures[i], col, v);
	}
	return 0;
}

static int
row_malformed(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	for (int i = 0; i < st->ncaptures; i++)
		for (int r = 0; r < AM_MAL_REASONS; r++) {
			am_subid me[2] = { (am_subid)i + 1, (am_subid)r + 1 };
			int c = am_oid_cmp(me, 2, idx, len);
			if (c < 0 || (after && c == 0))
				continue;
			memcpy(rowidx, me, sizeof(me));
			*rowlen = 2;
			if (col != AM_MAL_PACKETS)
				return 0;
			v_u(v, AM_V_COUNTER64, st->captures[i].malformed[r]);
			return 1;
		}
	return 0;
}

static int
row_server(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	struct am_mib_server_row r;

	if (st->tables.server == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	if (!st->tables.server(st->tables.ctx, idx, len, after, &r))
		return 0;
	*rowlen = am_mib_index_server(&r.addr, r.port, rowidx);
	if (col == AM_SRV_RULES) {
		v_str(v, r.rules);
		return 1;
	}
	return col >= AM_SRV_STATS && stats_value(&r.st, col - AM_SRV_STATS, v);
}

static int
row_signature(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	struct am_mib_sig_row r;

	if (st->tables.signature == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	if (!st->tables.signature(st->tables.ctx, idx, len, after, &r))
		return 0;
	*rowlen = am_mib_index_sig(&r.addr, r.port, r.id, rowidx);
	if (col == AM_SIG_NAME) {
		v_str(v, r.name);
		return 1;
	}
	if (col == AM_SIG_RULE) {
		v_str(v, r.rule);
		return 1;
	}
	return col >= AM_SIG_STATS && stats_value(&r.st, col - AM_SIG_STATS, v);
}

static int
row_histogram(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	struct am_mib_hist_row r;

	if (st->tables.histogram == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	if (!st->tables.histogram(st->tables.ctx, idx, len, after, &r))
		return 0;
	*rowlen = am_mib_index_sig(&r.addr, r.port, r.id, rowidx);
	rowidx[(*rowlen)++] = r.bound;
	if (col != AM_HIST_COUNT)
		return 0;
	v_u(v, AM_V_COUNTER64, r.count);
	return 1;
}

static int
row_history(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	struct am_mib_history_row r;

	if (st->tables.history == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	if (!st->tables.history(st->tables.ctx, idx, len, after, &r))
		return 0;
	*rowlen = am_mib_index_sig(&r.addr, r.port, r.id, rowidx);
	rowidx[(*rowlen)++] = r.start;
	switch (col) {
	case AM_HY_START_TIME: v_date(v, (am_time_t)r.start * AM_USEC); break;
	case AM_HY_TXNS: v_gauge(v, r.txns); break;
	case AM_HY_MEAN: v_u32c(v, r.mean); break;
	case AM_HY_P50: v_u32c(v, r.p50); break;
	case AM_HY_P90: v_u32c(v, r.p90); break;
	case AM_HY_P99: v_u32c(v, r.p99); break;
	case AM_HY_MAX: v_u32c(v, r.max); break;
	default: return 0;
	}
	return 1;
}

static int
row_alarm(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	struct am_mib_alarm_row r;
	size_t alen;

	if (st->tables.alarm == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	if (!st->tables.alarm(st->tables.alarm_ctx, idx, len, after, &r))
		return 0;
	rowidx[0] = r.index;
	*rowlen = 1;
	alen = addr_len(&r.target);
	switch (col) {
	case AM_ALC_DESCR: v_str(v, r.descr); break;
	case AM_ALC_ADDR_TYPE:
		v_int(v, r.target.family == AM_AF_INET ? 1 : r.target.family == AM_AF_INET6 ? 2 : 0);
		break;
	case AM_ALC_ADDR:
		if (r.target_len <= 16)
			alen = r.target_len;
		v->type = AM_V_OCTETS;
		memcpy(v->s, r.target.a, alen);
		v->len = alen;
		break;
	case AM_ALC_PORT: v_u(v, AM_V_UNSIGNED, r.target_port); break;
	case AM_ALC_SIGNATURE: v_str(v, r.target_sig); break;
	/* Columns without a default and not written yet have no value. */
	case AM_ALC_STATISTIC:
		if (r.missing & AM_ALARM_MISSING_STATISTIC)
			return 0;
		v_int(v, r.statistic);
		break;
	case AM_ALC_TIMING: v_int(v, r.timing); break;
	case AM_ALC_RISING:
		if (r.missing & AM_ALARM_MISSING_RISING)
			return 0;
		v_u(v, AM_V_UNSIGNED, r.rising);
		break;
	case AM_ALC_FALLING:
		if (r.missing & AM_ALARM_MISSING_FALLING)
			return 0;
		v_u(v, AM_V_UNSIGNED, r.falling);
		break;
	case AM_ALC_STARTUP: v_int(v, r.startup); break;
	case AM_ALC_MIN_TXNS: v_u(v, AM_V_UNSIGNED, r.min_txns); break;
	case AM_ALC_RATE_LIMIT: v_u(v, AM_V_UNSIGNED, r.rate_limit); break;
	case AM_ALC_HELD_BACK: v_u(v, AM_V_COUNTER32, r.held_back); break;
	case AM_ALC_STORAGE: v_int(v, r.storage); break;
	case AM_ALC_STATUS: v_int(v, r.status); break;
	default: return 0;
	}
	return 1;
}

static int
row_alarm_status(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	struct am_mib_alarm_status_row r;

	if (st->tables.alarm_status == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	if (!st->tables.alarm_status(st->tables.eval_ctx, idx, len, after, &r))
		return 0;
	*rowlen = am_mib_index_alarm_status(r.alarm, &r.addr, r.port, r.sig, rowidx);
	switch (col) {
	case AM_ASC_VALUE: v_u(v, AM_V_UNSIGNED, r.value); break;
	case AM_ASC_LAST_EVENT: v_int(v, r.last_event ? r.last_event : 1); break;
	case AM_ASC_LAST_CHANGE: v_date(v, r.last_change); break;
	default: return 0;
	}
	return 1;
}

static int
row_anomaly(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	struct am_mib_anomaly_row r;

	if (st->tables.anomaly == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	if (!st->tables.anomaly(st->tables.eval_ctx, idx, len, after, &r))
		return 0;
	*rowlen = am_mib_index_sig(&r.addr, r.port, r.id, rowidx);
	switch (col) {
	case AM_ANC_STATE: v_int(v, r.state ? r.state : 1); break;
	case AM_ANC_SCORE: v_u(v, AM_V_UNSIGNED, r.score); break;
	case AM_ANC_BASE_P50: v_u(v, AM_V_UNSIGNED, r.base_p50); break;
	case AM_ANC_BASE_P90: v_u(v, AM_V_UNSIGNED, r.base_p90); break;
	case AM_ANC_HISTORY: v_u(v, AM_V_UNSIGNED, r.history); break;
	case AM_ANC_BEYOND: v_u(v, AM_V_UNSIGNED, r.beyond); break;
	case AM_ANC_LAST_CHANGE: v_date(v, r.last_change); break;
	default: return 0;
	}
	return 1;
}

/* ------------------------------------------------------------------ the tree */

enum node_kind { N_SCALARS, N_TABLE };

struct node {
	enum node_kind kind;
	/* N_SCALARS: group OID below artmonMIB and the scalars 1..max */
	am_subid group[2];
	unsigned max;
	int (*scalar)(const struct am_mib_state *st, unsigned n, struct am_mib_value *v);
	/* N_TABLE */
	struct table t;
};

/* In OID order. */
static const struct node nodes[] = {
	{ N_SCALARS, { AM_O_OBJECTS, AM_O_SENSOR }, AM_SENSOR__MAX, sensor_value, { { 0 }, 0, 0, 0, NULL } },
	{ N_SCALARS, { AM_O_OBJECTS, AM_O_STORE }, AM_STORE__MAX, store_value, { { 0 }, 0, 0, 0, NULL } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_CAPTURE_TABLE, 1 }, 3, AM_CAP_NAME, AM_CAP__MAX, row_capture } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_MALFORMED_TABLE, 1 }, 3, AM_MAL_PACKETS, AM_MAL_PACKETS, row_malformed } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_SERVER_TABLE, 1 }, 3, AM_SRV_RULES, AM_SRV_STATS + AM_ST__COUNT - 1, row_server } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_SIGNATURE_TABLE, 1 }, 3, AM_SIG_NAME, AM_SIG_STATS + AM_ST__COUNT - 1, row_signature } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_HISTOGRAM_TABLE, 1 }, 3, AM_HIST_COUNT, AM_HIST_COUNT, row_histogram } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_HISTORY_TABLE, 1 }, 3, AM_HY_START_TIME, AM_HY__MAX, row_history } },
	{ N_SCALARS, { AM_O_OBJECTS, AM_O_ALARM }, AM_AL_HELD_BACK, alarm_scalar_value, { { 0 }, 0, 0, 0, NULL } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_ALARM, AM_AL_TABLE, 1 }, 4, AM_ALC_DESCR, AM_ALC__MAX, row_alarm } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_ALARM, AM_AL_STATUS_TABLE, 1 }, 4, AM_ASC_VALUE, AM_ASC__MAX, row_alarm_status } },
	{ N_SCALARS, { AM_O_OBJECTS, AM_O_ANOMALY }, AM_AN_ACTIVE, anomaly_scalar_value, { { 0 }, 0, 0, 0, NULL } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_ANOMALY, AM_AN_TABLE, 1 }, 4, AM_ANC_STATE, AM_ANC__MAX, row_anomaly } },
	/* artmonCensus: agent/census_mib.c */
	{ N_SCALARS, { AM_O_OBJECTS, AM_O_CENSUS }, AM_CE__MAX, am_census_mib_scalar, { { 0 }, 0, 0, 0, NULL } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_CENSUS, AM_CE_FILTER_TABLE, 1 }, 4, AM_FC_SET_NAME, AM_FC__MAX,
	    am_census_mib_filter } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_CENSUS, AM_CE_HW_TABLE, 1 }, 4, AM_HC_GROUP, AM_HC__MAX, am_census_mib_hw } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_CENSUS, AM_CE_TOPINFO_TABLE, 1 }, 4, AM_TI_NAME, AM_TI__MAX,
	    am_census_mib_topinfo } },
	{ N_TABLE, { 0 }, 0, NULL,
	  { { AM_O_OBJECTS, AM_O_CENSUS, AM_CE_TOP_TABLE, 1 }, 4, AM_TC_ADDR_TYPE, AM_TC__MAX,
	    am_census_mib_top } },
};
#define NNODES (sizeof(nodes) / sizeof(nodes[0]))

/* Strips the enterprise arc; returns 0 when oid is not below it. */
static int
relative(const am_subid *oid, size_t len, const am_subid **rel, size_t *rlen)
{
	if (len < am_mib_root_oid_len || memcmp(oid, am_mib_root_oid, am_mib_root_oid_len * sizeof(am_subid)) != 0)
		return 0;
	*rel = oid + am_mib_root_oid_len;
	*rlen = len - am_mib_root_oid_len;
	return 1;
}

static int
has_prefix(const am_subid *oid, size_t len, const am_subid *p, size_t plen)
{
	return len >= plen && memcmp(oid, p, plen * sizeof(am_subid)) == 0;
}

int
am_mib_get(const struct am_mib_state *st, const am_subid *oid, size_t len, struct am_mib_value *v)
{
	const am_subid *q;
	size_t qlen;

	memset(v, 0, sizeof(*v));
	if (!relative(oid, len, &q, &qlen))
		return AM_MIB_NOSUCHOBJECT;
	for (size_t i = 0; i < NNODES; i++) {
		const struct node *n = &nodes[i];
		if (n->kind == N_SCALARS) {
			/* Scalars share their group with tables (alarms, anomalies). */
			if (!has_prefix(q, qlen, n->group, 2) || qlen < 3 || q[2] < 1 || q[2] > n->max)
				continue;
			if (qlen != 4 || q[3] != 0)
				return AM_MIB_NOSUCHINSTANCE;
			return n->scalar(st, q[2], v) ? AM_MIB_OK : AM_MIB_NOSUCHINSTANCE;
		}
		const struct table *t = &n->t;
		if (!has_prefix(q, qlen, t->entry, t->entry_len) || qlen <= t->entry_len)
			continue;
		unsigned col = q[t->entry_len];
		if (col < t->first_col || col > t->last_col)
			return AM_MIB_NOSUCHOBJECT;
		const am_subid *idx = q + t->entry_len + 1;
		size_t ilen = qlen - t->entry_len - 1;
		am_subid rowidx[AM_OID_MAX];
		size_t rowlen = 0;
		if (ilen == 0 || !t->row(st, idx, ilen, 0, col, rowidx, &rowlen, v))
			return AM_MIB_NOSUCHINSTANCE;
		if (am_oid_cmp(rowidx, rowlen, idx, ilen) != 0)
			return AM_MIB_NOSUCHINSTANCE;
		return AM_MIB_OK;
	}
	return AM_MIB_NOSUCHOBJECT;
}

static size_t
put_oid(am_subid *out, const am_subid *rel, size_t rlen, const am_subid *idx, size_t ilen)
{
	size_t n = 0;

	if (am_mib_root_oid_len + rlen + ilen > AM_OID_MAX)
		return 0;
	memcpy(out, am_mib_root_oid, am_mib_root_oid_len * sizeof(am_subid));
	n = am_mib_root_oid_len;
	memcpy(out + n, rel, rlen * sizeof(am_subid));
	n += rlen;
	if (ilen)
		memcpy(out + n, idx, ilen * sizeof(am_subid));
	return n + ilen;
}

size_t
am_mib_getnext(const struct am_mib_state *st, const am_subid *oid, size_t len,
    am_subid *next, struct am_mib_value *v)
{
	const am_subid *q;
	size_t qlen;
	am_subid empty[1] = { 0 };

	memset(v, 0, sizeof(*v));
	if (am_oid_cmp(oid, len, am_mib_root_oid, am_mib_root_oid_len) < 0) {
		q = empty;
		qlen = 0;
	} else if (!relative(oid, len, &q, &qlen))
		return 0;   /* after the whole module */

	for (size_t i = 0; i < NNODES; i++) {
		const struct node *n = &nodes[i];
		if (n->kind == N_SCALARS) {
			for (unsigned s = 1; s <= n->max; s++) {
				am_subid inst[4] = { n->group[0], n->group[1], s, 0 };
				if (am_oid_cmp(inst, 4, q, qlen) <= 0)
					continue;
				if (n->scalar(st, s, v))
					return put_oid(next, inst, 4, NULL, 0);
			}
			continue;
		}
		const struct table *t = &n->t;
		for (unsigned col = t->first_col; col <= t->last_col; col++) {
			am_subid pfx[5];
			size_t plen = t->entry_len + 1;
			const am_subid *idx;
			size_t ilen;
			int after;
			memcpy(pfx, t->entry, t->entry_len * sizeof(am_subid));
			pfx[t->entry_len] = col;
			if (has_prefix(q, qlen, pfx, plen)) {
				idx = q + plen;
				ilen = qlen - plen;
				after = 1;
			} else if (am_oid_cmp(q, qlen, pfx, plen) < 0) {
				idx = empty;
				ilen = 0;
				after = 0;
			} else
				continue;
			/* Rows may lack a value in this column: skip to the next row. */
			am_subid rowidx[AM_OID_MAX], cur[AM_OID_MAX];
			size_t rowlen = 0;
			for (;;) {
				memset(v, 0, sizeof(*v));
				if (!t->row(st, idx, ilen, after, col, rowidx, &rowlen, v)) {
					if (rowlen == 0)
						break;
					/* no value in this row: continue after it */
					int c = am_oid_cmp(rowidx, rowlen, idx, ilen);
					if (c < 0 || (after && c == 0))
						break;
					memcpy(cur, rowidx, rowlen * sizeof(am_subid));
					idx = cur;
					ilen = rowlen;
					after = 1;
					rowlen = 0;
					continue;
				}
				/* A provider must move forward; stop a loop if not. */
				int c = am_oid_cmp(rowidx, rowlen, idx, ilen);
				if (c < 0 || (after && c == 0))
					break;
				return put_oid(next, pfx, plen, rowidx, rowlen);
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ notifications */

void
am_mib_notify_init(struct am_mib_notification *nt, unsigned type)
{
	memset(nt, 0, sizeof(*nt));
	nt->type = type;
	memcpy(nt->trap_oid, am_mib_root_oid, am_mib_root_oid_len * sizeof(am_subid));
	nt->trap_oid[am_mib_root_oid_len] = AM_O_NOTIFICATIONS;
	nt->trap_oid[am_mib_root_oid_len + 1] = type;
	nt->trap_oid_len = am_mib_root_oid_len + 2;
}

static struct am_mib_varbind *
notify_slot(struct am_mib_notification *nt, unsigned obj)
{
	struct am_mib_varbind *vb;

	if (nt->n >= AM_MIB_NOTIFY_MAX)
		return NULL;
	vb = &nt->vb[nt->n++];
	memset(vb, 0, sizeof(*vb));
	memcpy(vb->oid, am_mib_root_oid, am_mib_root_oid_len * sizeof(am_subid));
	vb->len = am_mib_root_oid_len;
	vb->oid[vb->len++] = AM_O_OBJECTS;
	vb->oid[vb->len++] = AM_O_NOTIFY;
	vb->oid[vb->len++] = obj;
	vb->oid[vb->len++] = 0;
	return vb;
}

void
am_mib_notify_u32(struct am_mib_notification *nt, unsigned obj, uint32_t u)
{
	struct am_mib_varbind *vb = notify_slot(nt, obj);

	if (vb)
		v_u(&vb->v, AM_V_UNSIGNED, u);
}

void
am_mib_notify_int(struct am_mib_notification *nt, unsigned obj, int64_t i)
{
	struct am_mib_varbind *vb = notify_slot(nt, obj);

	if (vb)
		v_int(&vb->v, i);
}

void
am_mib_notify_str(struct am_mib_notification *nt, unsigned obj, const char *str)
{
	struct am_mib_varbind *vb = notify_slot(nt, obj);

	if (vb)
		v_str(&vb->v, str);
}

void
am_mib_notify_date(struct am_mib_notification *nt, unsigned obj, am_time_t t)
{
	struct am_mib_varbind *vb = notify_slot(nt, obj);

	if (vb)
		v_date(&vb->v, t);
}

void
am_mib_notify_server(struct am_mib_notification *nt, const struct am_addr *a, uint16_t port)
{
	struct am_mib_varbind *vb;
	size_t alen = addr_len(a);

	am_mib_notify_int(nt, AM_NO_ADDRESS_TYPE, a->family == AM_AF_INET ? 1 : a->family == AM_AF_INET6 ? 2 : 0);
	if ((vb = notify_slot(nt, AM_NO_ADDRESS)) != NULL) {
		vb->v.type = AM_V_OCTETS;
		memcpy(vb->v.s, a->a, alen);
		vb->v.len = alen;
	}
	am_mib_notify_u32(nt, AM_NO_PORT, port);
}

int
am_mib_notify_object(struct am_mib_notification *nt, const struct am_mib_state *st,
    const am_subid *oid, size_t len)
{
	struct am_mib_varbind *vb;

	if (nt->n >= AM_MIB_NOTIFY_MAX || len > AM_OID_MAX)
		return -1;
	vb = &nt->vb[nt->n];
	if (am_mib_get(st, oid, len, &vb->v) != AM_MIB_OK)
		return -1;
	memcpy(vb->oid, oid, len * sizeof(am_subid));
	vb->len = len;
	nt->n++;
	return 0;
}

/* ------------------------------------------------------------------ SET */

int
am_mib_set_decode(const am_subid *oid, size_t len, const struct am_mib_value *v,
    struct am_mib_set_vb *out)
{
	static const am_subid entry[] = { AM_O_OBJECTS, AM_O_ALARM, AM_AL_TABLE, 1 };
	const am_subid *q;
	size_t qlen;
	unsigned col;

	memset(out, 0, sizeof(*out));
	if (!relative(oid, len, &q, &qlen) || !has_prefix(q, qlen, entry, 4) || qlen < 5)
		return AM_ERR_NOT_WRITABLE;
	col = q[4];
	if (col < AM_ALC_DESCR || col > AM_ALC__MAX || col == AM_ALC_HELD_BACK)
		return AM_ERR_NOT_WRITABLE;
	if (qlen != 6 || q[5] < 1 || q[5] > 65535)
		return AM_ERR_NO_CREATION;
	out->index = q[5];
	out->col = col;
	out->v = *v;
	switch (col) {
	case AM_ALC_DESCR:
	case AM_ALC_ADDR:
	case AM_ALC_SIGNATURE:
		if (v->type != AM_V_OCTETS)
			return AM_ERR_WRONG_TYPE;
		if ((col == AM_ALC_DESCR && v->len > 64) || (col == AM_ALC_SIGNATURE && v->len > 255) ||
		    (col == AM_ALC_ADDR && v->len != 0 && v->len != 4 && v->len != 16))
			return AM_ERR_WRONG_LENGTH;
		break;
	case AM_ALC_ADDR_TYPE:
	case AM_ALC_STATISTIC:
	case AM_ALC_TIMING:
	case AM_ALC_STARTUP:
	case AM_ALC_STORAGE:
	case AM_ALC_STATUS:
		if (v->type != AM_V_INTEGER)
			return AM_ERR_WRONG_TYPE;
		break;
	default:   /* Unsigned32 columns (and InetPortNumber) */
		if (v->type != AM_V_UNSIGNED && v->type != AM_V_GAUGE)
			return AM_ERR_WRONG_TYPE;
		if (col == AM_ALC_PORT && v->u > 65535)
			return AM_ERR_WRONG_VALUE;
		break;
	}
	return AM_ERR_NONE;
}
