/* In-memory aggregates for the MIB tables: see live.h. */
#include "config.h"
#include "agent/live.h"
#include "store/hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Interval accumulators of a row. */
struct interval {
	uint32_t txns, errors;
	struct am_hist first, last, rtt;
};

struct hentry {
	uint32_t start;
	uint32_t txns;
	uint64_t mean, p50, p90, p99, max;
};

struct row {
	struct am_addr addr;
	uint16_t port;
	uint32_t id;                  /* signatures only */
	char name[128];               /* signature name, or rule list of a server */
	char rule[64];
	struct am_mib_stats st;       /* totals and last-interval columns */
	struct interval cur;
	uint64_t *le;                 /* signatures: per-bound counts (not cumulative) */
	struct hentry *hist;          /* signatures: ring of history_depth */
	uint32_t hfirst, hcount;
	uint32_t nsigs;               /* servers: signatures handed out */
};

struct am_live {
	struct am_live_cfg cfg;
	struct row **srv;             /* sorted by server index */
	size_t nsrv, capsrv;
	struct row **sig;             /* sorted by signature index */
	size_t nsig, capsig;
	uint64_t key_overflows, sig_overflows;
};

static const uint32_t default_bounds[] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000
};

void
am_live_cfg_default(struct am_live_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->history_depth = 24;
	cfg->max_servers = 100000;
	cfg->max_sigs_per_server = 1000;
	cfg->nbounds = sizeof(default_bounds) / sizeof(default_bounds[0]);
	memcpy(cfg->bounds, default_bounds, sizeof(default_bounds));
}

struct am_live *
am_live_new(const struct am_live_cfg *cfg)
{
	struct am_live *l = am_xcalloc(1, sizeof(*l));

	l->cfg = *cfg;
	if (l->cfg.nbounds > AM_LIVE_MAX_BOUNDS)
		l->cfg.nbounds = AM_LIVE_MAX_BOUNDS;
	if (l->cfg.history_depth == 0)
		l->cfg.history_depth = 1;
	return l;
}

static void
row_free(struct row *r)
{
	am_hist_free(&r->cur.first);
	am_hist_free(&r->cur.last);
	am_hist_free(&r->cur.rtt);
	free(r->le);
	free(r->hist);
	free(r);
}

void
am_live_free(struct am_live *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nsrv; i++)
		row_free(l->srv[i]);
	for (size_t i = 0; i < l->nsig; i++)
		row_free(l->sig[i]);
	free(l->srv);
	free(l->sig);
	free(l);
}

static size_t
srv_index_of(const void *elem, am_subid *buf)
{
	const struct row *r = *(const struct row *const *)elem;
	return am_mib_index_server(&r->addr, r->port, buf);
}

static size_t
sig_index_of(const void *elem, am_subid *buf)
{
	const struct row *r = *(const struct row *const *)elem;
	return am_mib_index_sig(&r->addr, r->port, r->id, buf);
}

static struct row *
row_new(const struct am_addr *a, uint16_t port)
{
	struct row *r = am_xcalloc(1, sizeof(*r));

	r->addr = *a;
	r->port = port;
	am_hist_init(&r->cur.first);
	am_hist_init(&r->cur.last);
	am_hist_init(&r->cur.rtt);
	return r;
}

static void
insert_at(struct row ***arr, size_t *n, size_t *cap, size_t pos, struct row *r)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*arr = am_xrealloc(*arr, *cap * sizeof(**arr));
	}
	memmove(*arr + pos + 1, *arr + pos, (*n - pos) * sizeof(**arr));
	(*arr)[pos] = r;
	(*n)++;
}

static struct row *
server_row(struct am_live *l, const struct am_addr *a, uint16_t port)
{
	am_subid idx[AM_OID_MAX];
	size_t len = am_mib_index_server(a, port, idx);
	size_t pos = am_mib_lower_bound(l->srv, l->nsrv, sizeof(*l->srv), srv_index_of, idx, len, 0);

	if (pos < l->nsrv && l->srv[pos]->port == port && am_addr_cmp(&l->srv[pos]->addr, a) == 0)
		return l->srv[pos];
	if (l->nsrv >= l->cfg.max_servers)
		return NULL;
	struct row *r = row_new(a, port);
	insert_at(&l->srv, &l->nsrv, &l->capsrv, pos, r);
	return r;
}

static struct row *
sig_row(struct am_live *l, struct row *srv, const char *name, const char *rule)
{
	am_subid idx[AM_OID_MAX];
	size_t len = am_mib_index_sig(&srv->addr, srv->port, 1, idx) - 1;
	size_t pos = am_mib_lower_bound(l->sig, l->nsig, sizeof(*l->sig), sig_index_of, idx, len, 0);
	size_t end = pos;

	/* The server's signatures are contiguous from pos, in id order. */
	while (end < l->nsig && l->sig[end]->port == srv->port &&
	    am_addr_cmp(&l->sig[end]->addr, &srv->addr) == 0) {
		if (strcmp(l->sig[end]->name, name) == 0)
			return l->sig[end];
		end++;
	}
	if (srv->nsigs >= l->cfg.max_sigs_per_server) {
		l->sig_overflows++;
		name = "(overflow)";
		for (size_t i = pos; i < end; i++)
			if (strcmp(l->sig[i]->name, name) == 0)
				return l->sig[i];
	}
	struct row *r = row_new(&srv->addr, srv->port);
	r->id = ++srv->nsigs;
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->rule, sizeof(r->rule), "%s", rule);
	r->le = am_xcalloc(l->cfg.nbounds, sizeof(*r->le));
	r->hist = am_xcalloc(l->cfg.history_depth, sizeof(*r->hist));
	insert_at(&l->sig, &l->nsig, &l->capsig, end, r);
	return r;
}

static void
add_rule(struct row *srv, const char *rule)
{
	size_t rl = strlen(rule), have = strlen(srv->name);
	const char *p = srv->name;

	if (rl == 0)
		return;
	while ((p = strstr(p, rule)) != NULL) {
		if ((p == srv->name || p[-1] == ',') && (p[rl] == 0 || p[rl] == ','))
			return;
		p += rl;
	}
	if (have + rl + 2 > sizeof(srv->name))
		return;
	if (have)
		srv->name[have++] = ',';
	memcpy(srv->name + have, rule, rl + 1);
}

static void
account(struct row *r, const struct am_txn *t, const int64_t v[AM_MT__COUNT], am_time_t when)
{
	struct am_mib_stats *s = &r->st;
	int err = t->outcome == AM_OUT_RESET || t->outcome == AM_OUT_TIMEOUT ||
	    t->outcome == AM_OUT_INCOMPLETE;

	s->txns++;
	if (t->outcome == AM_OUT_RESET)
		s->resets++;
	else if (t->outcome == AM_OUT_TIMEOUT)
		s->timeouts++;
	else if (t->outcome == AM_OUT_INCOMPLETE)
		s->incomplete++;
	s->req_octets += t->req_bytes;
	s->resp_octets += t->resp_bytes;
	for (int i = 0; i < AM_MT__COUNT; i++)
		if (v[i] >= 0) {
			s->sum[i] += (uint64_t)v[i];
			s->n[i]++;
		}
	if (when > s->last_seen)
		s->last_seen = when;
	r->cur.txns++;
	if (err)
		r->cur.errors++;
	if (v[AM_MT_FIRST] >= 0)
		am_hist_add(&r->cur.first, (uint64_t)v[AM_MT_FIRST]);
	if (v[AM_MT_LAST] >= 0)
		am_hist_add(&r->cur.last, (uint64_t)v[AM_MT_LAST]);
	if (v[AM_MT_RTT] >= 0)
		am_hist_add(&r->cur.rtt, (uint64_t)v[AM_MT_RTT]);
}

void
am_live_txn(struct am_live *l, const struct am_conn *c, const struct am_txn *t,
    const char *signature, const char *rule)
{
	int64_t v[AM_MT__COUNT] = { t->first, t->last, t->ack, t->think,
		(c->srv_rtt >= 0 && c->cli_rtt >= 0) ? c->srv_rtt + c->cli_rtt : -1 };
	am_time_t when = t->req_first ? t->req_first : c->last_ts;
	struct row *srv = server_row(l, &c->server, c->server_port);

	if (srv == NULL) {
		l->key_overflows++;
		return;
	}
	add_rule(srv, rule ? rule : "");
	account(srv, t, v, when);
	struct row *sig = sig_row(l, srv, signature ? signature : "", rule ? rule : "");
	account(sig, t, v, when);
	if (v[AM_MT_FIRST] >= 0)
		for (uint32_t b = 0; b < l->cfg.nbounds; b++)
			if ((uint64_t)v[AM_MT_FIRST] <= l->cfg.bounds[b]) {
				sig->le[b]++;
				break;
			}
}

static void
close_row(struct am_live *l, struct row *r, am_time_t start)
{
	struct am_mib_stats *s = &r->st;
	const struct am_hist *h[2] = { &r->cur.first, &r->cur.last };
	uint64_t *out[2] = { s->int_first, s->int_last };

	s->int_txns = r->cur.txns;
	s->int_errors = r->cur.errors;
	for (int k = 0; k < 2; k++) {
		int have = h[k]->count > 0;
		out[k][AM_Q_MIN] = have ? h[k]->min : 0;
		out[k][AM_Q_MEAN] = have ? (uint64_t)(am_hist_mean(h[k]) + 0.5) : 0;
		out[k][AM_Q_P50] = am_hist_quantile(h[k], 0.50);
		out[k][AM_Q_P90] = am_hist_quantile(h[k], 0.90);
		out[k][AM_Q_P99] = am_hist_quantile(h[k], 0.99);
		out[k][AM_Q_MAX] = have ? h[k]->max : 0;
	}
	s->int_rtt_mean = r->cur.rtt.count ? (uint64_t)(am_hist_mean(&r->cur.rtt) + 0.5) : 0;
	s->int_rtt_p90 = am_hist_quantile(&r->cur.rtt, 0.90);
	if (r->hist && r->cur.txns > 0) {
		uint32_t depth = l->cfg.history_depth;
		struct hentry *e;
		if (r->hcount < depth)
			e = &r->hist[(r->hfirst + r->hcount++) % depth];
		else {
			e = &r->hist[r->hfirst];
			r->hfirst = (r->hfirst + 1) % depth;
		}
		e->start = (uint32_t)(start / AM_USEC);
		e->txns = r->cur.txns;
		e->mean = out[0][AM_Q_MEAN];
		e->p50 = out[0][AM_Q_P50];
		e->p90 = out[0][AM_Q_P90];
		e->p99 = out[0][AM_Q_P99];
		e->max = out[0][AM_Q_MAX];
	}
	r->cur.txns = r->cur.errors = 0;
	am_hist_reset(&r->cur.first);
	am_hist_reset(&r->cur.last);
	am_hist_reset(&r->cur.rtt);
}

void
am_live_close_interval(struct am_live *l, am_time_t start, am_time_t end)
{
	(void)end;
	for (size_t i = 0; i < l->nsrv; i++)
		close_row(l, l->srv[i], start);
	for (size_t i = 0; i < l->nsig; i++)
		close_row(l, l->sig[i], start);
}

/* ------------------------------------------------------------------ providers */

static int
prov_server(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_server_row *out)
{
	struct am_live *l = ctx;
	size_t pos = am_mib_lower_bound(l->srv, l->nsrv, sizeof(*l->srv), srv_index_of, idx, len, after);

	if (pos >= l->nsrv)
		return 0;
	const struct row *r = l->srv[pos];
	out->addr = r->addr;
	out->port = r->port;
	snprintf(out->rules, sizeof(out->rules), "%s", r->name);
	out->st = r->st;
	return 1;
}

static void
fill_sig(const struct row *r, struct am_mib_sig_row *out)
{
	out->addr = r->addr;
	out->port = r->port;
	out->id = r->id;
	snprintf(out->name, sizeof(out->name), "%s", r->name);
	snprintf(out->rule, sizeof(out->rule), "%s", r->rule);
	out->st = r->st;
}

static int
prov_signature(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_sig_row *out)
{
	struct am_live *l = ctx;
	size_t pos = am_mib_lower_bound(l->sig, l->nsig, sizeof(*l->sig), sig_index_of, idx, len, after);

	if (pos >= l->nsig)
		return 0;
	fill_sig(l->sig[pos], out);
	return 1;
}

/* First signature row that may own a sub-row at or after idx: the one
 * whose index is a prefix of idx, or the first one after idx. */
static size_t
sig_start(const struct am_live *l, const am_subid *idx, size_t len)
{
	size_t pos = am_mib_lower_bound(l->sig, l->nsig, sizeof(*l->sig), sig_index_of, idx, len, 0);

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
	struct am_live *l = ctx;
	am_subid buf[AM_OID_MAX];

	for (size_t p = sig_start(l, idx, len); p < l->nsig; p++) {
		const struct row *r = l->sig[p];
		size_t n = am_mib_index_sig(&r->addr, r->port, r->id, buf);
		uint64_t cum = 0;
		for (uint32_t b = 0; b <= l->cfg.nbounds; b++) {
			uint32_t bound = b < l->cfg.nbounds ? l->cfg.bounds[b] : AM_HIST_BOUND_INF;
			cum = b < l->cfg.nbounds ? cum + r->le[b] : r->st.n[AM_MT_FIRST];
			buf[n] = bound;
			if (!sub_ok(buf, n + 1, idx, len, after))
				continue;
			out->addr = r->addr;
			out->port = r->port;
			out->id = r->id;
			out->bound = bound;
			out->count = cum;
			return 1;
		}
	}
	return 0;
}

static int
prov_history(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_history_row *out)
{
	struct am_live *l = ctx;
	am_subid buf[AM_OID_MAX];

	for (size_t p = sig_start(l, idx, len); p < l->nsig; p++) {
		const struct row *r = l->sig[p];
		size_t n = am_mib_index_sig(&r->addr, r->port, r->id, buf);
		for (uint32_t k = 0; k < r->hcount; k++) {
			const struct hentry *e = &r->hist[(r->hfirst + k) % l->cfg.history_depth];
			buf[n] = e->start;
			if (!sub_ok(buf, n + 1, idx, len, after))
				continue;
			out->addr = r->addr;
			out->port = r->port;
			out->id = r->id;
			out->start = e->start;
			out->txns = e->txns;
			out->mean = e->mean;
			out->p50 = e->p50;
			out->p90 = e->p90;
			out->p99 = e->p99;
			out->max = e->max;
			return 1;
		}
	}
	return 0;
}

void
am_live_tables(struct am_live *l, struct am_mib_tables *out)
{
	out->ctx = l;
	out->server = prov_server;
	out->signature = prov_signature;
	out->histogram = prov_histogram;
	out->history = prov_history;
}

uint64_t
am_live_key_overflows(const struct am_live *l)
{
	return l->key_overflows;
}

uint64_t
am_live_sig_overflows(const struct am_live *l)
{
	return l->sig_overflows;
}

uint32_t
am_live_servers(const struct am_live *l)
{
	return (uint32_t)l->nsrv;
}
