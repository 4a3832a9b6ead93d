/* artmonCensus rows and scalars; see census_mib.h. */
#include "config.h"
#include "agent/census_mib.h"
#include "agent/censusd.h"
#include "capture/census.h"

#include <string.h>

static int
set_u(struct am_mib_value *v, enum am_mib_type type, uint64_t u)
{
	if (type != AM_V_COUNTER64 && u > 0xffffffffu)
		u = type == AM_V_COUNTER32 ? u & 0xffffffffu : 0xffffffffu;
	v->type = type;
	v->u = u;
	return 1;
}

static int
set_str(struct am_mib_value *v, const char *s)
{
	am_mib_value_str(v, s);
	return 1;
}

static int
set_date(struct am_mib_value *v, am_time_t t)
{
	am_mib_value_date(v, t);
	return 1;
}

/* Rows are tried in index order: 1 when `me` is the row asked for (the
 * first >= idx, or > idx when after), with its index in rowidx. */
static int
take(const am_subid *me, size_t mlen, const am_subid *idx, size_t len, int after,
    am_subid *rowidx, size_t *rowlen)
{
	int c = am_oid_cmp(me, mlen, idx, len);

	if (c < 0 || (after && c == 0))
		return 0;
	memcpy(rowidx, me, mlen * sizeof(*me));
	*rowlen = mlen;
	return 1;
}

/* Packets and octets columns (packets at col_packets, octets next). */
static int
counter_value(const struct am_census_counter *k, unsigned col, unsigned col_packets,
    struct am_mib_value *v)
{
	if (col == col_packets)
		return set_u(v, AM_V_COUNTER64, k->packets);
	if (col == col_packets + 1)
		return set_u(v, AM_V_COUNTER64, k->bytes);
	return 0;
}

static const struct am_census *
census_of(const struct am_mib_state *st)
{
	return st->census ? st->census->census : NULL;
}

int
am_census_mib_scalar(const struct am_mib_state *st, unsigned n, struct am_mib_value *v)
{
	const struct am_censusd *cd = st->census;
	const struct am_census *c = census_of(st);
	struct am_census_stats cs;
	const struct am_topn *t;

	if (c == NULL)
		return 0;
	switch (n) {
	case AM_CE_SINCE: return set_date(v, cd->since);
	case AM_CE_TOP_N: return set_u(v, AM_V_UNSIGNED, cd->top_n);
	case AM_CE_TOP_CAPACITY: return set_u(v, AM_V_UNSIGNED, cd->top_capacity);
	case AM_CE_TOP_INTERVAL_START: return set_date(v, cd->last_start);
	case AM_CE_TOP_INTERVALS:
		t = am_census_topn(c, AM_TOP_TALKER_PKTS);
		return set_u(v, AM_V_COUNTER32, t ? am_topn_report(t)->intervals : 0);
	case AM_CE_COMPILE_ERRORS:
		am_census_stats(c, &cs);
		return set_u(v, AM_V_COUNTER32, cs.compile_errors);
	case AM_CE_TOP_MEMORY:
		am_census_stats(c, &cs);
		return set_u(v, AM_V_GAUGE, cs.topn_memory);
	default: return 0;
	}
}

int
am_census_mib_filter(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	const struct am_census *c = census_of(st);

	if (c == NULL)
		return 0;
	for (size_t s = 0; s < am_census_nsets(c); s++)
		for (size_t l = 0; l < am_census_nlabels(c, s); l++) {
			am_subid me[2] = { (am_subid)s + 1, (am_subid)l + 1 };
			if (!take(me, 2, idx, len, after, rowidx, rowlen))
				continue;
			switch (col) {
			case AM_FC_SET_NAME: return set_str(v, am_census_set_name(c, s));
			case AM_FC_LABEL: return set_str(v, am_census_label(c, s, l));
			case AM_FC_EXPRESSION: return set_str(v, am_census_expr(c, s, l));
			default: return counter_value(am_census_count(c, s, l), col, AM_FC_PACKETS, v);
			}
		}
	return 0;
}

int
am_census_mib_hw(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	const struct am_census *c = census_of(st);

	if (c == NULL)
		return 0;
	for (int h = 0; h < AM_HW__COUNT; h++) {
		am_subid me = (am_subid)h + 1;
		if (!take(&me, 1, idx, len, after, rowidx, rowlen))
			continue;
		switch (col) {
		case AM_HC_GROUP: return set_str(v, am_census_hw_group((enum am_census_hw)h));
		case AM_HC_NAME: return set_str(v, am_census_hw_name((enum am_census_hw)h));
		default:
			return counter_value(am_census_hw_count(c, (enum am_census_hw)h), col, AM_HC_PACKETS, v);
		}
	}
	return 0;
}

int
am_census_mib_topinfo(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	const struct am_census *c = census_of(st);

	if (c == NULL)
		return 0;
	for (int w = 0; w < AM_TOP__COUNT; w++) {
		const struct am_topn *t = am_census_topn(c, (enum am_census_top)w);
		am_subid me = (am_subid)w + 1;
		if (t == NULL || !take(&me, 1, idx, len, after, rowidx, rowlen))
			continue;
		const struct am_topn_report *r = am_topn_report(t);
		switch (col) {
		case AM_TI_NAME: return set_str(v, am_census_top_name((enum am_census_top)w));
		case AM_TI_ROWS: return set_u(v, AM_V_GAUGE, r->nrows);
		case AM_TI_TOTAL: return set_u(v, AM_V_COUNTER64, r->total);
		case AM_TI_BOUND: return set_u(v, AM_V_COUNTER64, r->bound);
		case AM_TI_KEYS: return set_u(v, AM_V_GAUGE, r->keys_seen);
		case AM_TI_REPLACED: return set_u(v, AM_V_GAUGE, r->replaced);
		default: return 0;
		}
	}
	return 0;
}

/* A key of the top-N tables: byte 0 is 4 or 6, the address, and for the
 * server tables the port (big-endian) and the IP protocol. */
static int
top_value(enum am_census_top w, const struct am_topn_row *row, unsigned col, struct am_mib_value *v)
{
	size_t alen = row->klen >= 1 && row->key[0] == 6 ? 16 : 4;
	int ok = row->klen >= 1 + alen && (row->key[0] == 4 || row->key[0] == 6);
	int srv = w >= AM_TOP_SRV_TXN && ok && row->klen >= 1 + alen + 3;
	const uint8_t *q = row->key + 1 + alen;

	switch (col) {
	case AM_TC_ADDR_TYPE:
		v->type = AM_V_INTEGER;
		v->i = !ok ? 0 : row->key[0] == 4 ? 1 : 2;
		return 1;
	case AM_TC_ADDR:
		v->type = AM_V_OCTETS;
		v->len = ok ? alen : 0;
		if (ok)
			memcpy(v->s, row->key + 1, alen);
		return 1;
	case AM_TC_PORT: return set_u(v, AM_V_UNSIGNED, srv ? (unsigned)q[0] << 8 | q[1] : 0);
	case AM_TC_PROTOCOL: return set_u(v, AM_V_UNSIGNED, srv ? q[2] : 0);
	case AM_TC_COUNT: return set_u(v, AM_V_COUNTER64, row->count);
	case AM_TC_ERROR: return set_u(v, AM_V_COUNTER64, row->error);
	case AM_TC_P99: return set_u(v, AM_V_UNSIGNED, row->p99 > 0 ? (uint64_t)row->p99 : 0);
	case AM_TC_GUARANTEED:
		v->type = AM_V_INTEGER;
		v->i = row->guaranteed ? 1 : 2;
		return 1;
	default: return 0;
	}
}

int
am_census_mib_top(const struct am_mib_state *st, const am_subid *idx, size_t len, int after,
    unsigned col, am_subid *rowidx, size_t *rowlen, struct am_mib_value *v)
{
	const struct am_census *c = census_of(st);

	if (c == NULL)
		return 0;
	for (int w = 0; w < AM_TOP__COUNT; w++) {
		const struct am_topn *t = am_census_topn(c, (enum am_census_top)w);
		if (t == NULL)
			continue;
		const struct am_topn_report *r = am_topn_report(t);
		for (uint32_t i = 0; i < r->nrows; i++) {
			am_subid me[2] = { (am_subid)w + 1, i + 1 };
			if (!take(me, 2, idx, len, after, rowidx, rowlen))
				continue;
			return top_value((enum am_census_top)w, &r->rows[i], col, v);
		}
	}
	return 0;
}
