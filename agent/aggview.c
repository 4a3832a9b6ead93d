/* ARTMON-MIB rows from the aggregator and the store: see aggview.h. */
#include "config.h"
#include "agent/aggview.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Interval accumulators of one server row (sig "" and is_server) or one
 * signature row (server and signature name), fed per transaction. */
struct acc {
	struct acc *next;           /* hash chain */
	struct am_addr addr;
	uint16_t port;
	uint8_t is_server;
	char sig[AM_NAME_MAX];
	uint32_t n[2], err[2];      /* [cur], [last] */
	struct am_hist h[2][3];     /* [cur/last][first, last, rtt] */
	int have;                   /* gauges of [last] computed */
	struct am_mib_stats g;      /* the computed last-interval columns */
};

enum { CUR = 0, LAST = 1 };

/* Snapshot rows hold the order and the names; the counters are read from
 * the aggregator when a row is asked for. */
struct sigent {
	struct am_mib_sig_row r;    /* addr, port, id, name, rule (st unused) */
	uint32_t key_id;            /* the first key (history) */
	size_t kfirst, kcount;      /* its keys in keys[] */
};

struct srvent {
	struct am_mib_server_row r; /* addr, port, rules (st unused) */
	size_t sfirst, scount;      /* its signature rows in sig[] */
};

struct am_aggview {
	struct am_agg *agg;
	struct am_store *store;
	uint64_t le[AM_LE_MAX];
	uint32_t n_le;
	uint32_t depth;
	/* snapshot: the rows in index order, rebuilt when keys were added */
	struct srvent *srv;
	size_t nsrv;
	struct sigent *sig;
	size_t nsig;
	uint32_t *keys;
	uint64_t built_keys;
	int dirty, built;
	am_time_t built_at, max_age;
	/* interval accumulators */
	struct acc **hash;
	size_t hmask, nacc;
	uint64_t seed;
	am_time_t cur_start;        /* interval the [cur] halves accumulate, 0 none */
	am_time_t last_start;       /* interval the [last] halves hold, 0 none */
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

static size_t
srv_index_of(const void *elem, am_subid *buf)
{
	const struct srvent *e = elem;

	return am_mib_index_server(&e->r.addr, e->r.port, buf);
}

static size_t
sig_index_of(const void *elem, am_subid *buf)
{
	const struct sigent *s = elem;

	return am_mib_index_sig(&s->r.addr, s->r.port, s->r.id, buf);
}

/* ------------------------------------------------------------------ intervals */

static uint64_t
acc_hash(const struct am_aggview *v, const struct am_addr *a, uint16_t port, int is_server,
    const char *sig)
{
	uint8_t key[2 + 17 + 1 + AM_NAME_MAX];
	size_t n = 0, sl = is_server ? 0 : strnlen(sig, AM_NAME_MAX - 1);

	key[n++] = (uint8_t)(port >> 8);
	key[n++] = (uint8_t)port;
	key[n++] = a->family;
	memcpy(key + n, a->a, 16);
	n += 16;
	key[n++] = (uint8_t)is_server;
	memcpy(key + n, sig, sl);
	n += sl;
	return am_hash64(key, n, v->seed);
}

static struct acc *
acc_find(struct am_aggview *v, const struct am_addr *a, uint16_t port, int is_server,
    const char *sig, int create)
{
	uint64_t h = acc_hash(v, a, port, is_server, sig);
	struct acc **pp = &v->hash[h & v->hmask], *e;

	for (e = *pp; e; e = e->next)
		if (e->port == port && e->is_server == is_server && am_addr_cmp(&e->addr, a) == 0 &&
		    (is_server || strncmp(e->sig, sig, AM_NAME_MAX - 1) == 0))
			return e;
	if (!create)
		return NULL;
	e = am_xcalloc(1, sizeof(*e));
	e->addr = *a;
	e->port = port;
	e->is_server = (uint8_t)is_server;
	if (!is_server)
		snprintf(e->sig, sizeof(e->sig), "%s", sig);
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 3; k++)
			am_hist_init(&e->h[i][k]);
	e->next = *pp;
	*pp = e;
	v->nacc++;
	if (v->nacc > 2 * (v->hmask + 1)) {
		/* Grow the table. */
		size_t nm = (v->hmask + 1) * 4 - 1;
		struct acc **nh = am_xcalloc(nm + 1, sizeof(*nh));
		for (size_t b = 0; b <= v->hmask; b++)
			for (struct acc *x = v->hash[b], *nx; x; x = nx) {
				nx = x->next;
				uint64_t hh = acc_hash(v, &x->addr, x->port, x->is_server, x->sig);
				x->next = nh[hh & nm];
				nh[hh & nm] = x;
			}
		free(v->hash);
		v->hash = nh;
		v->hmask = nm;
	}
	return e;
}

static void
acc_free(struct acc *e)
{
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 3; k++)
			am_hist_free(&e->h[i][k]);
	free(e);
}

/* The [cur] interval closed: it becomes [last] (or [last] is empty when
 * the interval that closed last is a later, silent one).  Rows silent in
 * both are dropped.  O(rows), no statistics computed here. */
static void
acc_rotate(struct am_aggview *v, int keep_cur)
{
	for (size_t b = 0; b <= v->hmask; b++) {
		struct acc **pp = &v->hash[b];
		while (*pp) {
			struct acc *e = *pp;
			for (int k = 0; k < 3; k++) {
				struct am_hist t = e->h[LAST][k];
				e->h[LAST][k] = e->h[CUR][k];
				e->h[CUR][k] = t;
				am_hist_reset(&e->h[CUR][k]);
				if (!keep_cur)
					am_hist_reset(&e->h[LAST][k]);
			}
			e->n[LAST] = keep_cur ? e->n[CUR] : 0;
			e->err[LAST] = keep_cur ? e->err[CUR] : 0;
			e->n[CUR] = e->err[CUR] = 0;
			e->have = 0;
			if (e->n[LAST] == 0) {
				*pp = e->next;
				acc_free(e);
				v->nacc--;
				continue;
			}
			pp = &e->next;
		}
	}
}

/* Follows the aggregator's intervals. */
static void
acc_sync(struct am_aggview *v)
{
	struct am_agg_stats as;

	am_agg_stats(v->agg, &as);
	if (as.last_closed == v->last_start)
		return;
	if (v->cur_start != 0 && as.last_closed == v->cur_start)
		acc_rotate(v, 1);
	else
		acc_rotate(v, 0);
	v->last_start = as.last_closed;
	v->cur_start = as.open_start > as.last_closed ? as.open_start : 0;
	v->dirty = 1;
}

void
am_aggview_txn(struct am_aggview *v, const struct am_conn *c, const struct am_txn *t,
    const char *signature, unsigned masklen4, unsigned masklen6)
{
	struct am_agg_key k;
	struct am_agg_stats as;
	int64_t rtt = (c->srv_rtt >= 0 && c->cli_rtt >= 0) ? c->srv_rtt + c->cli_rtt : -1;
	int64_t val[3] = { t->first, t->last, rtt };
	int err = t->outcome == AM_OUT_RESET || t->outcome == AM_OUT_TIMEOUT ||
	    t->outcome == AM_OUT_INCOMPLETE;

	acc_sync(v);
	if (v->cur_start == 0) {
		am_agg_stats(v->agg, &as);
		v->cur_start = as.open_start;
	}
	am_agg_key_make(&k, c, NULL, signature, masklen4, masklen6, AM_BY_SERVER);
	for (int r = 0; r < 2; r++) {
		struct acc *e = acc_find(v, &k.server, k.server_port, r == 0, k.signature, 1);
		e->n[CUR]++;
		if (err)
			e->err[CUR]++;
		for (int i = 0; i < 3; i++)
			if (val[i] >= 0)
				am_hist_add(&e->h[CUR][i], (uint64_t)val[i]);
	}
	v->dirty = 1;
}

static uint64_t
clamp_u(double d)
{
	return d <= 0 ? 0 : (uint64_t)(d + 0.5);
}

/* Fills the last-interval columns of a row (computed once per interval). */
static void
fill_gauges(struct am_aggview *v, struct am_mib_stats *s, const struct am_addr *a, uint16_t port,
    int is_server, const char *sig)
{
	struct acc *e;

	acc_sync(v);
	e = acc_find(v, a, port, is_server, sig, 0);
	if (e == NULL || e->n[LAST] == 0) {
		s->int_txns = s->int_errors = 0;
		memset(s->int_first, 0, sizeof(s->int_first));
		memset(s->int_last, 0, sizeof(s->int_last));
		s->int_rtt_mean = s->int_rtt_p90 = 0;
		return;
	}
	if (!e->have) {
		for (int k = 0; k < 2; k++) {
			const struct am_hist *h = &e->h[LAST][k];
			uint64_t *out = k == 0 ? e->g.int_first : e->g.int_last;
			if (h->count == 0) {
				memset(out, 0, AM_Q__COUNT * sizeof(*out));
				continue;
			}
			out[AM_Q_MIN] = h->min;
			out[AM_Q_MEAN] = clamp_u(am_hist_mean(h));
			out[AM_Q_P50] = am_hist_quantile(h, 0.50);
			out[AM_Q_P90] = am_hist_quantile(h, 0.90);
			out[AM_Q_P99] = am_hist_quantile(h, 0.99);
			out[AM_Q_MAX] = h->max;
		}
		e->g.int_rtt_mean = e->h[LAST][2].count ? clamp_u(am_hist_mean(&e->h[LAST][2])) : 0;
		e->g.int_rtt_p90 = am_hist_quantile(&e->h[LAST][2], 0.90);
		e->have = 1;
	}
	s->int_txns = e->n[LAST];
	s->int_errors = e->err[LAST];
	memcpy(s->int_first, e->g.int_first, sizeof(s->int_first));
	memcpy(s->int_last, e->g.int_last, sizeof(s->int_last));
	s->int_rtt_mean = e->g.int_rtt_mean;
	s->int_rtt_p90 = e->g.int_rtt_p90;
}

static void
on_close(void *ctx, am_time_t start, uint32_t interval_s, const struct am_agg_row *row,
    const struct am_rec *rec)
{
	struct am_aggview *v = ctx;

	v->dirty = 1;
	if (v->next_cb)
		v->next_cb(v->next_ctx, start, interval_s, row, rec);
}

/* ------------------------------------------------------------------ snapshot */

struct coll {
	const struct am_agg_key *key;
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

	am_agg_stats(v->agg, &as);
	while (am_agg_row_next(v->agg, after, &row) == 0) {
		after = row.id;
		if (row.key->overflow || row.key->server.family == 0)
			continue;
		if (nc == capc) {
			capc = capc ? capc * 2 : 256;
			c = am_xrealloc(c, capc * sizeof(*c));
		}
		c[nc].key = row.key;
		c[nc].id = row.id;
		c[nc].sig = row.sig_id;
		nc++;
	}
	qsort(c, nc, sizeof(*c), coll_cmp);

	free(v->srv);
	free(v->sig);
	free(v->keys);
	v->srv = am_xcalloc(nc ? nc : 1, sizeof(*v->srv));
	v->sig = am_xcalloc(nc ? nc : 1, sizeof(*v->sig));
	v->keys = am_xcalloc(nc ? nc : 1, sizeof(*v->keys));
	v->nsrv = v->nsig = 0;
	for (size_t i = 0; i < nc; i++) {
		const struct am_agg_key *k = c[i].key;
		struct sigent *s = v->nsig ? &v->sig[v->nsig - 1] : NULL;
		struct srvent *r = v->nsrv ? &v->srv[v->nsrv - 1] : NULL;

		v->keys[i] = c[i].id;
		if (r == NULL || r->r.port != k->server_port || am_addr_cmp(&r->r.addr, &k->server) != 0) {
			r = &v->srv[v->nsrv++];
			r->r.addr = k->server;
			r->r.port = k->server_port;
			r->sfirst = v->nsig;
			s = NULL;
		}
		add_rule(r->r.rules, sizeof(r->r.rules), k->rule);
		if (s == NULL || s->r.id != c[i].sig) {
			s = &v->sig[v->nsig++];
			s->r.addr = k->server;
			s->r.port = k->server_port;
			s->r.id = c[i].sig;
			snprintf(s->r.name, sizeof(s->r.name), "%s", k->signature);
			snprintf(s->r.rule, sizeof(s->r.rule), "%s", k->rule);
			s->key_id = c[i].id;
			s->kfirst = i;
			r->scount++;
		}
		s->kcount++;
	}
	free(c);
	v->built_keys = as.keys_total;
	v->dirty = 0;
	v->built = 1;
	v->built_at = am_now_mono();
}

static void
fresh(struct am_aggview *v)
{
	struct am_agg_stats as;

	acc_sync(v);
	if (v->built && (!v->dirty || am_now_mono() - v->built_at < v->max_age))
		return;
	am_agg_stats(v->agg, &as);
	if (!v->built || as.keys_total != v->built_keys)
		rebuild(v);
	else
		v->dirty = 0;
}

/* Cumulative columns (and "le" counts) of a signature row, from its keys. */
static void
sig_totals(const struct am_aggview *v, const struct sigent *s, struct am_mib_stats *st, uint64_t *le)
{
	struct am_agg_row row;

	memset(st, 0, sizeof(*st));
	if (le)
		memset(le, 0, v->n_le * sizeof(*le));
	for (size_t k = s->kfirst; k < s->kfirst + s->kcount; k++) {
		if (am_agg_row_get(v->agg, v->keys[k], &row) != 0)
			continue;
		add_totals(st, row.totals);
		if (le)
			for (uint32_t b = 0; b < v->n_le; b++)
				le[b] += row.totals->le[b];
	}
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
	*out = v->srv[pos].r;
	memset(&out->st, 0, sizeof(out->st));
	for (size_t i = v->srv[pos].sfirst; i < v->srv[pos].sfirst + v->srv[pos].scount; i++) {
		struct am_mib_stats st;
		sig_totals(v, &v->sig[i], &st, NULL);
		out->st.txns += st.txns;
		out->st.resets += st.resets;
		out->st.timeouts += st.timeouts;
		out->st.incomplete += st.incomplete;
		out->st.req_octets += st.req_octets;
		out->st.resp_octets += st.resp_octets;
		for (int t = 0; t < AM_MT__COUNT; t++) {
			out->st.sum[t] += st.sum[t];
			out->st.n[t] += st.n[t];
		}
		if (st.last_seen > out->st.last_seen)
			out->st.last_seen = st.last_seen;
	}
	fill_gauges(v, &out->st, &out->addr, out->port, 1, "");
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
	sig_totals(v, &v->sig[pos], &out->st, NULL);
	fill_gauges(v, &out->st, &out->addr, out->port, 0, out->name);
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
		struct am_mib_stats st;
		uint64_t le[AM_LE_MAX];
		int have = 0;
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
			if (!have) {
				sig_totals(v, s, &st, le);
				have = 1;
			}
			out->addr = s->r.addr;
			out->port = s->r.port;
			out->id = s->r.id;
			out->bound = bound;
			out->count = b < v->n_le ? le[b] : st.n[AM_MT_FIRST];
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
	v->hmask = 1023;
	v->hash = am_xcalloc(v->hmask + 1, sizeof(*v->hash));
	v->seed = am_random_seed();
	am_agg_on_close(agg, on_close, v);
	return v;
}

void
am_aggview_free(struct am_aggview *v)
{
	if (v == NULL)
		return;
	for (size_t b = 0; b <= v->hmask; b++)
		for (struct acc *e = v->hash[b], *n; e; e = n) {
			n = e->next;
			acc_free(e);
		}
	free(v->hash);
	free(v->srv);
	free(v->sig);
	free(v->keys);
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
