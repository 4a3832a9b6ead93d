/* ARTMON-MIB rows from the aggregator and the store: see aggview.h. */
#include "config.h"
#include "agent/aggview.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statistics of one server (sig 0) or signature row over the last closed
 * interval, or a record being merged for it. */
struct gent {
	struct am_addr addr;
	uint16_t port;
	uint32_t sig;
	struct am_agg_gauges g;
	struct am_rec rec;          /* while merging only */
};

struct sigent {
	struct am_mib_sig_row r;
	uint32_t key_id;
	uint64_t *le;               /* n_le cumulative counts */
};

struct am_aggview {
	struct am_agg *agg;
	struct am_store *store;
	uint64_t le[AM_LE_MAX];
	uint32_t n_le;
	uint32_t depth;
	/* snapshot */
	struct am_mib_server_row *srv;
	size_t nsrv;
	struct sigent *sig;
	size_t nsig;
	uint64_t *lebuf;
	int dirty, built;
	am_time_t built_at, max_age;
	/* last closed interval */
	struct gent *gauges;
	size_t ngauges;
	am_time_t gauge_start;
	/* records of the interval being closed */
	struct gent *acc;
	size_t nacc, capacc;
	am_time_t acc_start;
	am_agg_close_cb next_cb;
	void *next_ctx;
};

/* ------------------------------------------------------------------ order */

static int
row_cmp(const struct am_addr *a, uint16_t ap, uint32_t as, const struct am_addr *b,
    uint16_t bp, uint32_t bs)
{
	am_subid x[AM_OID_MAX], y[AM_OID_MAX];
	size_t xl = am_mib_index_sig(a, ap, as, x), yl = am_mib_index_sig(b, bp, bs, y);

	return am_oid_cmp(x, xl, y, yl);
}

static int
gent_cmp(const void *pa, const void *pb)
{
	const struct gent *a = pa, *b = pb;

	return row_cmp(&a->addr, a->port, a->sig, &b->addr, b->port, b->sig);
}

static size_t
srv_index_of(const void *elem, am_subid *buf)
{
	const struct am_mib_server_row *r = elem;

	return am_mib_index_server(&r->addr, r->port, buf);
}

static size_t
sig_index_of(const void *elem, am_subid *buf)
{
	const struct sigent *s = elem;

	return am_mib_index_sig(&s->r.addr, s->r.port, s->r.id, buf);
}

static const struct am_agg_gauges *
gauges_of(const struct am_aggview *v, const struct am_addr *a, uint16_t port, uint32_t sig)
{
	size_t lo = 0, hi = v->ngauges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct gent *g = &v->gauges[mid];
		int c = row_cmp(&g->addr, g->port, g->sig, a, port, sig);
		if (c == 0)
			return &g->g;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ------------------------------------------------------------------ closing */

static void
acc_push(struct am_aggview *v, const struct am_agg_key *k, uint32_t sig, const struct am_rec *rec)
{
	struct gent *e;

	if (v->nacc == v->capacc) {
		v->capacc = v->capacc ? v->capacc * 2 : 256;
		v->acc = am_xrealloc(v->acc, v->capacc * sizeof(*v->acc));
	}
	e = &v->acc[v->nacc++];
	memset(e, 0, sizeof(*e));
	e->addr = k->server;
	e->port = k->server_port;
	e->sig = sig;
	am_rec_init(&e->rec);
	am_rec_merge(&e->rec, rec);
}

/* Turns the merged records of the interval that closed into gauges. */
static void
acc_finish(struct am_aggview *v)
{
	size_t n = 0;

	if (v->nacc == 0)
		return;
	qsort(v->acc, v->nacc, sizeof(*v->acc), gent_cmp);
	for (size_t i = 0; i < v->nacc; i++) {
		if (n > 0 && gent_cmp(&v->acc[n - 1], &v->acc[i]) == 0) {
			am_rec_merge(&v->acc[n - 1].rec, &v->acc[i].rec);
			am_rec_free(&v->acc[i].rec);
			continue;
		}
		if (n != i)
			v->acc[n] = v->acc[i];
		n++;
	}
	free(v->gauges);
	v->gauges = am_xcalloc(n ? n : 1, sizeof(*v->gauges));
	for (size_t i = 0; i < n; i++) {
		v->gauges[i].addr = v->acc[i].addr;
		v->gauges[i].port = v->acc[i].port;
		v->gauges[i].sig = v->acc[i].sig;
		am_agg_gauges_from(&v->gauges[i].g, v->acc_start, &v->acc[i].rec);
		am_rec_free(&v->acc[i].rec);
	}
	v->ngauges = n;
	v->gauge_start = v->acc_start;
	v->nacc = 0;
	v->dirty = 1;
}

static void
on_close(void *ctx, am_time_t start, uint32_t interval_s, const struct am_agg_row *row,
    const struct am_rec *rec)
{
	struct am_aggview *v = ctx;

	if (v->nacc > 0 && start != v->acc_start)
		acc_finish(v);
	v->acc_start = start;
	if (!row->key->overflow && row->key->server.family != 0 && rec->count > 0) {
		acc_push(v, row->key, 0, rec);
		acc_push(v, row->key, row->sig_id, rec);
	}
	v->dirty = 1;
	if (v->next_cb)
		v->next_cb(v->next_ctx, start, interval_s, row, rec);
}

/* ------------------------------------------------------------------ snapshot */

struct coll {
	const struct am_agg_key *key;
	const struct am_totals *tot;
	uint32_t id, sig;
};

static int
coll_cmp(const void *pa, const void *pb)
{
	const struct coll *a = pa, *b = pb;
	int c = row_cmp(&a->key->server, a->key->server_port, a->sig, &b->key->server,
	    b->key->server_port, b->sig);

	if (c)
		return c;
	return a->id < b->id ? -1 : a->id > b->id;
}

static uint64_t
clamp_u(double d)
{
	return d <= 0 ? 0 : (uint64_t)(d + 0.5);
}

static void
add_totals(struct am_mib_stats *s, const struct am_totals *t)
{
	static const int map[AM_MT__COUNT] = { AM_T_FIRST, AM_T_LAST, AM_T_ACK, AM_T_THINK, AM_T_RTT };

	s->txns += t->count;
	s->resets += t->outcome[AM_OUT_RESET];
	s->timeouts += t->outcome[AM_OUT_TIMEOUT];
	s->incomplete += t->outcome[AM_OUT_INCOMPLETE];
	s->req_octets += t->bytes[0];
	s->resp_octets += t->bytes[1];
	for (int i = 0; i < AM_MT__COUNT; i++) {
		s->sum[i] += t->sum[map[i]];
		s->n[i] += t->n[map[i]];
	}
	if (t->last_seen > s->last_seen)
		s->last_seen = t->last_seen;
}

static void
set_gauges(struct am_mib_stats *s, const struct am_agg_gauges *g)
{
	if (g == NULL)
		return;
	s->int_txns = g->count > UINT32_MAX ? UINT32_MAX : (uint32_t)g->count;
	s->int_errors = g->errors > UINT32_MAX ? UINT32_MAX : (uint32_t)g->errors;
	for (int k = 0; k < 2; k++) {
		int t = k == 0 ? AM_T_FIRST : AM_T_LAST;
		uint64_t *out = k == 0 ? s->int_first : s->int_last;
		if (g->t[t].n == 0)
			continue;
		out[AM_Q_MIN] = g->t[t].min;
		out[AM_Q_MEAN] = clamp_u(g->t[t].mean);
		out[AM_Q_P50] = g->t[t].p50;
		out[AM_Q_P90] = g->t[t].p90;
		out[AM_Q_P99] = g->t[t].p99;
		out[AM_Q_MAX] = g->t[t].max;
	}
	if (g->t[AM_T_RTT].n) {
		s->int_rtt_mean = clamp_u(g->t[AM_T_RTT].mean);
		s->int_rtt_p90 = g->t[AM_T_RTT].p90;
	}
}

static void
add_rule(char *list, size_t size, const char *rule)
{
	size_t rl = strlen(rule), have = strlen(list);
	const char *p = list;

	if (rl == 0)
		return;
	while ((p = strstr(p, rule)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[rl] == 0 || p[rl] == ','))
			return;
		p += rl;
	}
	if (have + rl + 2 > size)
		return;
	if (have)
		list[have++] = ',';
	memcpy(list + have, rule, rl + 1);
}

static void
rebuild(struct am_aggview *v)
{
	struct am_agg_row row;
	struct am_agg_stats as;
	struct coll *c = NULL;
	size_t nc = 0, capc = 0;
	uint32_t after = 0;

	acc_finish(v);
	am_agg_stats(v->agg, &as);
	if (as.last_closed != v->gauge_start) {
		/* The last interval closed without any transaction. */
		v->ngauges = 0;
		v->gauge_start = as.last_closed;
	}
	while (am_agg_row_next(v->agg, after, &row) == 0) {
		after = row.id;
		if (row.key->overflow || row.key->server.family == 0)
			continue;
		if (nc == capc) {
			capc = capc ? capc * 2 : 256;
			c = am_xrealloc(c, capc * sizeof(*c));
		}
		c[nc].key = row.key;
		c[nc].tot = row.totals;
		c[nc].id = row.id;
		c[nc].sig = row.sig_id;
		nc++;
	}
	qsort(c, nc, sizeof(*c), coll_cmp);

	free(v->srv);
	free(v->sig);
	free(v->lebuf);
	v->srv = am_xcalloc(nc ? nc : 1, sizeof(*v->srv));
	v->sig = am_xcalloc(nc ? nc : 1, sizeof(*v->sig));
	v->lebuf = am_xcalloc((nc ? nc : 1) * (v->n_le ? v->n_le : 1), sizeof(*v->lebuf));
	v->nsrv = v->nsig = 0;
	for (size_t i = 0; i < nc; i++) {
		const struct am_agg_key *k = c[i].key;
		struct sigent *s = v->nsig ? &v->sig[v->nsig - 1] : NULL;
		struct am_mib_server_row *r = v->nsrv ? &v->srv[v->nsrv - 1] : NULL;

		if (s == NULL || s->r.id != c[i].sig || s->r.port != k->server_port ||
		    am_addr_cmp(&s->r.addr, &k->server) != 0) {
			s = &v->sig[v->nsig];
			s->r.addr = k->server;
			s->r.port = k->server_port;
			s->r.id = c[i].sig;
			snprintf(s->r.name, sizeof(s->r.name), "%s", k->signature);
			snprintf(s->r.rule, sizeof(s->r.rule), "%s", k->rule);
			s->key_id = c[i].id;
			s->le = v->lebuf + v->nsig * (v->n_le ? v->n_le : 1);
			set_gauges(&s->r.st, gauges_of(v, &k->server, k->server_port, c[i].sig));
			v->nsig++;
		}
		add_totals(&s->r.st, c[i].tot);
		for (uint32_t b = 0; b < v->n_le; b++)
			s->le[b] += c[i].tot->le[b];
		if (r == NULL || r->port != k->server_port || am_addr_cmp(&r->addr, &k->server) != 0) {
			r = &v->srv[v->nsrv++];
			r->addr = k->server;
			r->port = k->server_port;
			set_gauges(&r->st, gauges_of(v, &k->server, k->server_port, 0));
		}
		add_totals(&r->st, c[i].tot);
		add_rule(r->rules, sizeof(r->rules), k->rule);
	}
	free(c);
	v->dirty = 0;
	v->built = 1;
	v->built_at = am_now_mono();
}

static void
fresh(struct am_aggview *v)
{
	if (!v->built || (v->dirty && am_now_mono() - v->built_at >= v->max_age))
		rebuild(v);
}

/* ------------------------------------------------------------------ providers */

static int
prov_server(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_server_row *out)
{
	struct am_aggview *v = ctx;
	size_t pos;

	fresh(v);
	pos = am_mib_lower_bound(v->srv, v->nsrv, sizeof(*v->srv), srv_index_of, idx, len, after);
	if (pos >= v->nsrv)
		return 0;
	*out = v->srv[pos];
	return 1;
}

static int
prov_signature(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_sig_row *out)
{
	struct am_aggview *v = ctx;
	size_t pos;

	fresh(v);
	pos = am_mib_lower_bound(v->sig, v->nsig, sizeof(*v->sig), sig_index_of, idx, len, after);
	if (pos >= v->nsig)
		return 0;
	*out = v->sig[pos].r;
	return 1;
}

/* The first signature row that may own a sub-row at or after idx. */
static size_t
sig_start(const struct am_aggview *v, const am_subid *idx, size_t len)
{
	size_t pos = am_mib_lower_bound(v->sig, v->nsig, sizeof(*v->sig), sig_index_of, idx, len, 0);

	return pos > 0 ? pos - 1 : 0;
}

static int
sub_ok(const am_subid *rowidx, size_t rowlen, const am_subid *idx, size_t len, int after)
{
	int c = am_oid_cmp(rowidx, rowlen, idx, len);

	return after ? c > 0 : c >= 0;
}

static int
prov_histogram(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_hist_row *out)
{
	struct am_aggview *v = ctx;
	am_subid buf[AM_OID_MAX];

	fresh(v);
	for (size_t p = sig_start(v, idx, len); p < v->nsig; p++) {
		const struct sigent *s = &v->sig[p];
		size_t n = am_mib_index_sig(&s->r.addr, s->r.port, s->r.id, buf);
		for (uint32_t b = 0; b <= v->n_le; b++) {
			uint32_t bound;
			if (b < v->n_le) {
				if (v->le[b] >= AM_HIST_BOUND_INF)
					continue;
				bound = (uint32_t)v->le[b];
			} else
				bound = AM_HIST_BOUND_INF;
			buf[n] = bound;
			if (!sub_ok(buf, n + 1, idx, len, after))
				continue;
			out->addr = s->r.addr;
			out->port = s->r.port;
			out->id = s->r.id;
			out->bound = bound;
			out->count = b < v->n_le ? s->le[b] : s->r.st.n[AM_MT_FIRST];
			return 1;
		}
	}
	return 0;
}

static int
prov_history(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_history_row *out)
{
	struct am_aggview *v = ctx;
	am_subid buf[AM_OID_MAX];
	struct am_rec rec;
	am_time_t *starts;
	struct am_agg_gauges g;
	int found = 0;

	if (v->store == NULL)
		return 0;
	fresh(v);
	starts = am_xcalloc(v->depth, sizeof(*starts));
	am_rec_init(&rec);
	for (size_t p = sig_start(v, idx, len); p < v->nsig && !found; p++) {
		const struct sigent *s = &v->sig[p];
		size_t n = am_mib_index_sig(&s->r.addr, s->r.port, s->r.id, buf);
		am_time_t before = INT64_MAX, st;
		uint32_t k = 0;

		/* The newest `depth` intervals, newest first. */
		while (k < v->depth && am_store_rec_prev(v->store, 1, s->key_id, before, &st, &rec) == 0) {
			starts[k++] = st;
			before = st;
		}
		while (k-- > 0) {
			uint64_t secs = (uint64_t)(starts[k] / AM_USEC);
			buf[n] = secs > UINT32_MAX ? UINT32_MAX : (am_subid)secs;
			if (!sub_ok(buf, n + 1, idx, len, after))
				continue;
			if (am_store_rec_get(v->store, 1, s->key_id, starts[k], &rec) != 0)
				continue;
			am_agg_gauges_from(&g, starts[k], &rec);
			out->addr = s->r.addr;
			out->port = s->r.port;
			out->id = s->r.id;
			out->start = buf[n];
			out->txns = g.count > UINT32_MAX ? UINT32_MAX : (uint32_t)g.count;
			out->mean = clamp_u(g.t[AM_T_FIRST].mean);
			out->p50 = g.t[AM_T_FIRST].p50;
			out->p90 = g.t[AM_T_FIRST].p90;
			out->p99 = g.t[AM_T_FIRST].p99;
			out->max = g.t[AM_T_FIRST].max;
			found = 1;
			break;
		}
	}
	am_rec_free(&rec);
	free(starts);
	return found;
}

/* ------------------------------------------------------------------ life */

struct am_aggview *
am_aggview_new(struct am_agg *agg, struct am_store *store, const uint64_t *le, uint32_t n_le,
    uint32_t history_depth)
{
	struct am_aggview *v = am_xcalloc(1, sizeof(*v));

	v->agg = agg;
	v->store = store;
	v->n_le = n_le > AM_LE_MAX ? AM_LE_MAX : n_le;
	if (le)
		memcpy(v->le, le, v->n_le * sizeof(*le));
	v->depth = history_depth ? history_depth : 1;
	v->max_age = AM_USEC;
	v->dirty = 1;
	am_agg_on_close(agg, on_close, v);
	return v;
}

void
am_aggview_free(struct am_aggview *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nacc; i++)
		am_rec_free(&v->acc[i].rec);
	free(v->acc);
	free(v->gauges);
	free(v->srv);
	free(v->sig);
	free(v->lebuf);
	free(v);
}

void
am_aggview_tables(struct am_aggview *v, struct am_mib_tables *out)
{
	out->ctx = v;
	out->server = prov_server;
	out->signature = prov_signature;
	out->histogram = prov_histogram;
	out->history = prov_history;
}

void
am_aggview_touch(struct am_aggview *v)
{
	v->dirty = 1;
}

void
am_aggview_set_max_age(struct am_aggview *v, am_time_t us)
{
	v->max_age = us;
}

void
am_aggview_chain_close(struct am_aggview *v, am_agg_close_cb cb, void *ctx)
{
	v->next_cb = cb;
	v->next_ctx = ctx;
}
