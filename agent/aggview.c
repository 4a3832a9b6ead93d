/* ARTMON-MIB rows from the aggregator and the store: see aggview.h. */
#include "config.h"
#include "agent/aggview.h"
#include "common/log.h"

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
	am_time_t at[2];            /* the intervals the [cur] and [last] halves hold */
	uint32_t n[2], err[2];      /* [cur], [last] */
	struct am_hist h[2][3];     /* [cur/last][first, last, rtt] */
	int have;                   /* gauges of [last] computed */
	struct am_mib_stats g;      /* the computed last-interval columns */
};

enum { CUR = 0, LAST = 1 };

/* The keys of one signature row that are out of memory (dropped by the
 * aggregator beyond its max_known, or left in the store at start): their
 * totals, as stored, so that the row's counters still count them.  Keys
 * reloaded since the snapshot was built are listed in extra[] until a
 * snapshot holds them (they are counted from the aggregator meanwhile). */
struct ret {
	struct ret *next;           /* hash chain */
	struct am_addr addr;
	uint16_t port;
	uint32_t sig_id;
	uint32_t key_id;            /* a key of the row (history of a row with none in memory) */
	char rule[AM_NAME_MAX];
	uint32_t nout;              /* keys out of memory */
	struct am_totals tot;       /* their totals */
	uint32_t *extra;
	uint32_t nextra, capextra;
};

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

/* A key being sorted into the next snapshot: its row index, precomputed.
 * id RET_ID: a row with keys out of memory (struct ret), which has a row
 * even when none of its keys is in memory. */
#define SIGIDX_MAX 24
#define RET_ID UINT32_MAX
struct coll {
	uint32_t id, sig;
	uint8_t len;
	am_subid idx[SIGIDX_MAX];
};

/* The next snapshot, built in steps (am_aggview_step) while the current
 * one is served: collect the keys, merge-sort them, assemble the rows. */
enum { B_IDLE, B_COLLECT, B_SORT, B_ASSEMBLE };
struct build {
	int phase;
	uint64_t keys_at, reloaded; /* the aggregator's counts when it started */
	am_time_t started;
	uint32_t after;             /* collect: last row id seen */
	size_t rbucket;             /* collect: next bucket of the retired rows */
	struct coll *c;
	size_t nc, capc;
	uint32_t *ord, *tmp;        /* sort: bottom-up merge of runs of `width` */
	size_t width, pos;
	struct srvent *srv;         /* assemble */
	struct sigent *sig;
	uint32_t *keys;
	size_t nsrv, nsig, nkeys, i;
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
	uint64_t built_keys, built_reloaded;
	int dirty, built;
	int stepped;                /* rebuilt by am_aggview_step only */
	am_time_t built_at, max_age;
	struct build b;
	/* interval accumulators */
	struct acc **hash;
	size_t hmask, nacc;
	uint64_t seed;
	am_time_t open_seen;        /* the aggregator's open interval when last looked at */
	am_time_t cur_start;        /* interval the [cur] halves accumulate, NONE none */
	am_time_t last_start;       /* interval the [last] halves hold, 0 none */
	size_t sweep;               /* next bucket to sweep (going round the table) */
	size_t sweep_left;          /* buckets still to sweep; 0: no sweep due */
	am_agg_close_cb next_cb;
	void *next_ctx;
	/* totals of the keys out of memory, by signature row */
	struct ret **rhash;
	size_t rmask, nret, ret_max;
	uint64_t ret_lost;          /* keys whose totals could not be kept (ret_max) */
	am_time_t ret_lost_at;      /* the aggregator's clock then */
};

#define NONE INT64_MIN

/* ------------------------------------------------------------------ order */

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
	e->at[CUR] = v->cur_start;
	e->at[LAST] = v->last_start;
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
		v->sweep &= v->hmask;
		if (v->sweep_left)
			v->sweep_left = v->hmask + 1;   /* the rows moved: a whole round again */
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

/* Brings a row to the aggregator's intervals: when the interval its [cur]
 * half accumulated has closed, that half becomes [last] (or [last] is
 * empty when the interval that closed last is a later, silent one).  Done
 * lazily, row by row, when a row is used or swept, so an interval close
 * costs O(1) here whatever the number of rows. */
static void
acc_norm(struct am_aggview *v, struct acc *e)
{
	if (e->at[CUR] != v->cur_start) {
		if (e->at[CUR] == v->last_start && e->n[CUR]) {
			for (int k = 0; k < 3; k++) {
				struct am_hist t = e->h[LAST][k];
				e->h[LAST][k] = e->h[CUR][k];
				e->h[CUR][k] = t;
			}
			e->n[LAST] = e->n[CUR];
			e->err[LAST] = e->err[CUR];
			e->at[LAST] = e->at[CUR];
			e->have = 0;
		}
		for (int k = 0; k < 3; k++)
			am_hist_reset(&e->h[CUR][k]);
		e->n[CUR] = e->err[CUR] = 0;
		e->at[CUR] = v->cur_start;
	}
	if (e->at[LAST] != v->last_start) {
		for (int k = 0; k < 3; k++)
			am_hist_reset(&e->h[LAST][k]);
		e->n[LAST] = e->err[LAST] = 0;
		e->at[LAST] = v->last_start;
		e->have = 0;
	}
}

/* Follows the aggregator's intervals: O(1); the rows follow in acc_norm,
 * and a sweep (am_aggview_step) drops the rows silent in both halves. */
static void
acc_sync(struct am_aggview *v)
{
	struct am_agg_stats as;

	am_agg_stats(v->agg, &as);
	if (as.last_closed == v->last_start && as.open_start == v->open_seen)
		return;
	v->last_start = as.last_closed;
	v->open_seen = as.open_start;
	v->cur_start = as.open_start > as.last_closed ? as.open_start : NONE;
	/* A whole round from where the sweep is: an interval that closes
	 * before the last round is over does not start it again from the
	 * first bucket, which would leave the last ones never swept. */
	if (as.last_closed != 0)
		v->sweep_left = v->hmask + 1;
	v->dirty = 1;
}

/* Sweeps up to `budget` rows; 1 while the sweep is not over. */
static int
acc_sweep(struct am_aggview *v, size_t budget)
{
	for (; v->sweep_left > 0 && budget > 0; v->sweep = (v->sweep + 1) & v->hmask, v->sweep_left--) {
		struct acc **pp = &v->hash[v->sweep];
		while (*pp) {
			struct acc *e = *pp;
			budget = budget > 0 ? budget - 1 : 0;
			acc_norm(v, e);
			if (e->n[CUR] == 0 && e->n[LAST] == 0) {
				*pp = e->next;
				acc_free(e);
				v->nacc--;
				continue;
			}
			pp = &e->next;
		}
	}
	return v->sweep_left > 0;
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
	if (v->cur_start == NONE) {
		/* before the aggregator's first interval */
		am_agg_stats(v->agg, &as);
		if (as.open_start > as.last_closed)
			v->cur_start = v->open_seen = as.open_start;
	}
	am_agg_key_make(&k, c, NULL, signature, masklen4, masklen6, AM_BY_SERVER);
	for (int r = 0; r < 2; r++) {
		struct acc *e = acc_find(v, &k.server, k.server_port, r == 0, k.signature, 1);
		acc_norm(v, e);
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
	if (e)
		acc_norm(v, e);
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

/* ------------------------------------------------------------------ retired keys */

static uint64_t
ret_hash(const struct am_aggview *v, const struct am_addr *a, uint16_t port, uint32_t sig_id)
{
	uint8_t key[2 + 1 + 16 + 4];

	key[0] = (uint8_t)(port >> 8);
	key[1] = (uint8_t)port;
	key[2] = a->family;
	memcpy(key + 3, a->a, 16);
	memcpy(key + 19, &sig_id, 4);
	return am_hash64(key, sizeof(key), v->seed);
}

static struct ret **
ret_slot(struct am_aggview *v, const struct am_addr *a, uint16_t port, uint32_t sig_id)
{
	struct ret **pp = &v->rhash[ret_hash(v, a, port, sig_id) & v->rmask];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->port == port && (*pp)->sig_id == sig_id && am_addr_cmp(&(*pp)->addr, a) == 0)
			break;
	return pp;
}

static struct ret *
ret_find(struct am_aggview *v, const struct am_addr *a, uint16_t port, uint32_t sig_id)
{
	return *ret_slot(v, a, port, sig_id);
}

static struct ret *
ret_new(struct am_aggview *v, const struct am_agg_row *row)
{
	const struct am_agg_key *k = row->key;
	struct ret *r = am_xcalloc(1, sizeof(*r)), **pp;

	r->addr = k->server;
	r->port = k->server_port;
	r->sig_id = row->sig_id;
	r->key_id = row->id;
	snprintf(r->rule, sizeof(r->rule), "%s", k->rule);
	pp = &v->rhash[ret_hash(v, &r->addr, r->port, r->sig_id) & v->rmask];
	r->next = *pp;
	*pp = r;
	v->nret++;
	if (v->nret > 2 * (v->rmask + 1)) {
		/* Grow the table. */
		size_t nm = (v->rmask + 1) * 4 - 1;
		struct ret **nh = am_xcalloc(nm + 1, sizeof(*nh));
		for (size_t b = 0; b <= v->rmask; b++)
			for (struct ret *x = v->rhash[b], *nx; x; x = nx) {
				nx = x->next;
				uint64_t h = ret_hash(v, &x->addr, x->port, x->sig_id);
				x->next = nh[h & nm];
				nh[h & nm] = x;
			}
		free(v->rhash);
		v->rhash = nh;
		v->rmask = nm;
		v->b.rbucket = 0;   /* a build collecting them starts over (duplicates are harmless) */
	}
	return r;
}

/* Frees a row's entry once it holds no key. */
static void
ret_gc(struct am_aggview *v, struct ret *r)
{
	struct ret **pp;

	if (r->nout > 0 || r->nextra > 0)
		return;
	pp = ret_slot(v, &r->addr, r->port, r->sig_id);
	*pp = r->next;
	free(r->extra);
	free(r);
	v->nret--;
}

static uint64_t
sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* dst += src (sign > 0) or dst -= src: the columns the tables serve. */
static void
tot_apply(struct am_totals *dst, const struct am_totals *src, int sign)
{
#define AP(f) dst->f = sign > 0 ? dst->f + src->f : sub_sat(dst->f, src->f)
	AP(count);
	for (int i = 0; i < AM_T__COUNT; i++) {
		AP(n[i]);
		AP(sum[i]);
	}
	for (int i = 0; i < 2; i++) {
		AP(bytes[i]);
		AP(pkts[i]);
	}
	for (int i = 0; i < AM_OUT__COUNT; i++)
		AP(outcome[i]);
	AP(retrans);
	AP(gap_bytes);
	for (int i = 0; i < AM_LE_MAX; i++)
		AP(le[i]);
#undef AP
	if (sign > 0 && src->last_seen > dst->last_seen)
		dst->last_seen = src->last_seen;
}

static void
extra_remove(struct ret *r, uint32_t id)
{
	for (uint32_t i = 0; i < r->nextra; i++)
		if (r->extra[i] == id) {
			r->extra[i] = r->extra[--r->nextra];
			return;
		}
}

/* The aggregator dropped a key from memory (back 0) or reloaded it (back 1):
 * its totals move to or from its row's entry, so that the row's counters
 * (keys in memory + keys out of it) never go down. */
static void
on_drop(void *ctx, const struct am_agg_row *row, int back)
{
	struct am_aggview *v = ctx;
	const struct am_agg_key *k = row->key;
	am_subid buf[AM_OID_MAX];
	struct ret *r;

	if (k->overflow || k->server.family == 0 ||
	    am_mib_index_sig(&k->server, k->server_port, row->sig_id, buf) > SIGIDX_MAX)
		return;     /* no row */
	r = ret_find(v, &k->server, k->server_port, row->sig_id);
	if (!back) {
		if (r == NULL) {
			if (v->nret >= v->ret_max) {
				struct am_agg_stats as;
				am_agg_stats(v->agg, &as);
				if (v->ret_lost++ == 0)
					log_warnx("agent", "more than %zu signature rows have keys out of memory: "
					    "the totals of the keys dropped from further rows are not kept "
					    "(a counter discontinuity)", v->ret_max);
				v->ret_lost_at = as.clock;
				return;
			}
			r = ret_new(v, row);
		}
		tot_apply(&r->tot, row->totals, 1);
		r->nout++;
		extra_remove(r, row->id);
		v->dirty = 1;
		return;
	}
	if (r == NULL)
		return;     /* its totals were not kept (ret_max): a later snapshot counts it */
	/* Its totals were kept unless they could not be (ret_max, when the
	 * row had no entry then): those are more than what the entry holds. */
	if (r->nout > 0 && row->totals->count <= r->tot.count) {
		tot_apply(&r->tot, row->totals, -1);
		r->nout--;
	}
	/* counted from the aggregator until a snapshot lists it */
	extra_remove(r, row->id);
	if (r->nextra == r->capextra) {
		r->capextra = r->capextra ? 2 * r->capextra : 4;
		r->extra = am_xrealloc(r->extra, r->capextra * sizeof(*r->extra));
	}
	r->extra[r->nextra++] = row->id;
	v->dirty = 1;
}

/* ------------------------------------------------------------------ snapshot */

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

static int
coll_cmp(const struct coll *a, const struct coll *b)
{
	int c = am_oid_cmp(a->idx, a->len, b->idx, b->len);

	if (c)
		return c;
	return a->id < b->id ? -1 : a->id > b->id;
}

static void
build_free(struct build *b)
{
	free(b->c);
	free(b->ord);
	free(b->tmp);
	free(b->srv);
	free(b->sig);
	free(b->keys);
	memset(b, 0, sizeof(*b));
}

/* Is a new snapshot due (keys were added or came back since the last)? */
static int
build_due(const struct am_aggview *v)
{
	struct am_agg_stats as;

	am_agg_stats(v->agg, &as);
	return !v->built || as.keys_total != v->built_keys || as.keys_reloaded != v->built_reloaded;
}

static void
build_start(struct am_aggview *v)
{
	struct build *b = &v->b;
	struct am_agg_stats as;

	build_free(b);
	am_agg_stats(v->agg, &as);
	b->phase = B_COLLECT;
	b->keys_at = as.keys_total;
	b->reloaded = as.keys_reloaded;
	b->started = am_now_mono();
}

static void
coll_add(struct build *b, uint32_t id, uint32_t sig, const am_subid *idx, size_t len)
{
	if (len > SIGIDX_MAX)
		return;
	if (b->nc == b->capc) {
		b->capc = b->capc ? b->capc * 2 : 256;
		b->c = am_xrealloc(b->c, b->capc * sizeof(*b->c));
	}
	b->c[b->nc].id = id;
	b->c[b->nc].sig = sig;
	b->c[b->nc].len = (uint8_t)len;
	memcpy(b->c[b->nc].idx, idx, len * sizeof(*idx));
	b->nc++;
}

/* Units of work between two looks at the clock. */
#define BUILD_UNIT 256

/* One unit of the build; 1 while it is not over. */
static int
build_unit(struct am_aggview *v)
{
	struct build *b = &v->b;
	struct am_agg_row row;

	switch (b->phase) {
	case B_COLLECT:
		for (int n = 0; n < BUILD_UNIT; n++) {
			am_subid buf[AM_OID_MAX];
			size_t len;
			uint32_t id, sig;
			if (b->after != RET_ID && am_agg_row_next(v->agg, b->after, &row) != 0)
				b->after = RET_ID;      /* then the rows with keys out of memory */
			if (b->after == RET_ID) {
				if (b->rbucket > v->rmask) {
					b->phase = B_SORT;
					b->ord = am_xcalloc(b->nc ? b->nc : 1, sizeof(*b->ord));
					b->tmp = am_xcalloc(b->nc ? b->nc : 1, sizeof(*b->tmp));
					for (size_t i = 0; i < b->nc; i++)
						b->ord[i] = (uint32_t)i;
					b->width = 1;
					b->pos = 0;
					return 1;
				}
				for (const struct ret *r = v->rhash[b->rbucket++]; r; r = r->next) {
					len = am_mib_index_sig(&r->addr, r->port, r->sig_id, buf);
					coll_add(b, RET_ID, r->sig_id, buf, len);
				}
				continue;
			}
			b->after = id = row.id;
			sig = row.sig_id;
			if (row.key->overflow || row.key->server.family == 0)
				continue;
			len = am_mib_index_sig(&row.key->server, row.key->server_port, sig, buf);
			coll_add(b, id, sig, buf, len);
		}
		return 1;
	case B_SORT:
		/* Bottom-up merge sort of ord[]: runs of `width` are merged
		 * pairwise into tmp[], at least BUILD_UNIT elements per unit. */
		for (size_t done = 0; done < BUILD_UNIT && b->width < b->nc;) {
			size_t lo = b->pos, mid = lo + b->width, hi = lo + 2 * b->width;
			size_t i = lo, j = mid, k = lo;
			if (mid > b->nc)
				mid = b->nc;
			if (hi > b->nc)
				hi = b->nc;
			while (i < mid && j < hi)
				b->tmp[k++] = coll_cmp(&b->c[b->ord[j]], &b->c[b->ord[i]]) < 0 ?
				    b->ord[j++] : b->ord[i++];
			while (i < mid)
				b->tmp[k++] = b->ord[i++];
			while (j < hi)
				b->tmp[k++] = b->ord[j++];
			done += hi - lo;
			b->pos = hi;
			if (b->pos >= b->nc) {
				uint32_t *t = b->ord;
				b->ord = b->tmp;
				b->tmp = t;
				b->width *= 2;
				b->pos = 0;
			}
		}
		if (b->width >= b->nc) {
			b->phase = B_ASSEMBLE;
			b->srv = am_xcalloc(b->nc ? b->nc : 1, sizeof(*b->srv));
			b->sig = am_xcalloc(b->nc ? b->nc : 1, sizeof(*b->sig));
			b->keys = am_xcalloc(b->nc ? b->nc : 1, sizeof(*b->keys));
			b->i = 0;
		}
		return 1;
	case B_ASSEMBLE:
		for (int n = 0; n < BUILD_UNIT && b->i < b->nc; n++, b->i++) {
			const struct coll *c = &b->c[b->ord[b->i]];
			struct sigent *s = b->nsig ? &b->sig[b->nsig - 1] : NULL;
			struct srvent *r = b->nsrv ? &b->srv[b->nsrv - 1] : NULL;
			struct am_addr addr;
			uint16_t port;
			const char *name, *rule;
			uint32_t key_id;
			int is_key = c->id != RET_ID && am_agg_row_get(v->agg, c->id, &row) == 0;
			if (is_key) {
				addr = row.key->server;
				port = row.key->server_port;
				name = row.key->signature;
				rule = row.key->rule;
				key_id = c->id;
			} else {
				/* a row with keys out of memory, or a key dropped
				 * from memory meanwhile: its row stays if its
				 * totals are kept */
				const struct ret *rt;
				if (am_mib_index_server_decode(c->idx, c->len, &addr, &port) == 0 ||
				    (rt = ret_find(v, &addr, port, c->sig)) == NULL)
					continue;
				name = am_agg_sig_name(v->agg, c->sig);
				rule = rt->rule;
				key_id = rt->key_id;
			}
			if (r == NULL || r->r.port != port || am_addr_cmp(&r->r.addr, &addr) != 0) {
				r = &b->srv[b->nsrv++];
				r->r.addr = addr;
				r->r.port = port;
				r->sfirst = b->nsig;
				s = NULL;
			}
			add_rule(r->r.rules, sizeof(r->r.rules), rule);
			if (s == NULL || s->r.id != c->sig) {
				s = &b->sig[b->nsig++];
				s->r.addr = addr;
				s->r.port = port;
				s->r.id = c->sig;
				snprintf(s->r.name, sizeof(s->r.name), "%s", name ? name : "");
				snprintf(s->r.rule, sizeof(s->r.rule), "%s", rule);
				s->key_id = key_id;
				s->kfirst = b->nkeys;
				r->scount++;
			}
			if (is_key) {
				b->keys[b->nkeys++] = c->id;
				s->kcount++;
			}
		}
		if (b->i < b->nc)
			return 1;
		/* The new snapshot replaces the served one. */
		free(v->srv);
		free(v->sig);
		free(v->keys);
		v->srv = b->srv;
		v->sig = b->sig;
		v->keys = b->keys;
		v->nsrv = b->nsrv;
		v->nsig = b->nsig;
		b->srv = NULL;
		b->sig = NULL;
		b->keys = NULL;
		v->built_keys = b->keys_at;
		v->built_reloaded = b->reloaded;
		v->built_at = b->started;
		v->built = 1;
		build_free(b);
		return 0;
	default:
		return 0;
	}
}

/* A whole build at once (a view not driven by am_aggview_step). */
static void
rebuild(struct am_aggview *v)
{
	build_start(v);
	while (build_unit(v))
		;
}

static void
fresh(struct am_aggview *v)
{
	acc_sync(v);
	/* Driven by am_aggview_step: serve the last snapshot as it is. */
	if (v->stepped)
		return;
	if (v->built && (!v->dirty || am_now_mono() - v->built_at < v->max_age))
		return;
	if (build_due(v))
		rebuild(v);
	v->dirty = 0;
}

/* Is key id one of the snapshot keys of row s (sorted by id)? */
static int
row_has_key(const struct am_aggview *v, const struct sigent *s, uint32_t id)
{
	size_t lo = s->kfirst, hi = s->kfirst + s->kcount;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->keys[mid] == id)
			return 1;
		if (v->keys[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static void
add_key(const struct am_aggview *v, struct am_mib_stats *st, uint64_t *le, const struct am_totals *t)
{
	add_totals(st, t);
	if (le)
		for (uint32_t b = 0; b < v->n_le; b++)
			le[b] += t->le[b];
}

/* Cumulative columns (and "le" counts) of a signature row: its keys in
 * memory, and the totals of those out of it (struct ret), so that they
 * never go down when the aggregator drops keys. */
static void
sig_totals(struct am_aggview *v, const struct sigent *s, struct am_mib_stats *st, uint64_t *le)
{
	struct am_agg_row row;
	struct ret *r;

	memset(st, 0, sizeof(*st));
	if (le)
		memset(le, 0, v->n_le * sizeof(*le));
	for (size_t k = s->kfirst; k < s->kfirst + s->kcount; k++) {
		if (am_agg_row_get(v->agg, v->keys[k], &row) != 0)
			continue;       /* out of memory: counted in its ret */
		add_key(v, st, le, row.totals);
	}
	r = ret_find(v, &s->r.addr, s->r.port, s->r.id);
	if (r == NULL)
		return;
	add_key(v, st, le, &r->tot);
	/* keys reloaded since the snapshot: until one lists them */
	for (uint32_t i = 0; i < r->nextra;) {
		if (row_has_key(v, s, r->extra[i])) {
			r->extra[i] = r->extra[--r->nextra];
			continue;
		}
		if (am_agg_row_get(v->agg, r->extra[i], &row) == 0)
			add_key(v, st, le, row.totals);
		i++;
	}
	ret_gc(v, r);
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
	v->cur_start = NONE;
	v->hmask = 1023;
	v->hash = am_xcalloc(v->hmask + 1, sizeof(*v->hash));
	v->seed = am_random_seed();
	am_agg_on_close(agg, on_close, v);
	v->rmask = 255;
	v->rhash = am_xcalloc(v->rmask + 1, sizeof(*v->rhash));
	v->ret_max = am_agg_max_known(agg);
	if (am_agg_on_drop(agg, on_drop, v) != 0)
		log_warnx("agent", "could not read the totals of the stored keys not in memory");
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
	for (size_t b = 0; b <= v->rmask; b++)
		for (struct ret *r = v->rhash[b], *n; r; r = n) {
			n = r->next;
			free(r->extra);
			free(r);
		}
	free(v->rhash);
	free(v->srv);
	free(v->sig);
	free(v->keys);
	build_free(&v->b);
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

int
am_aggview_current(const struct am_aggview *v)
{
	return v->b.phase == B_IDLE && !build_due(v);
}

size_t
am_aggview_acc_rows(const struct am_aggview *v)
{
	return v->nacc;
}

void
am_aggview_retired(const struct am_aggview *v, size_t *rows, uint64_t *lost, am_time_t *lost_at)
{
	if (rows)
		*rows = v->nret;
	if (lost)
		*lost = v->ret_lost;
	if (lost_at)
		*lost_at = v->ret_lost_at;
}

void
am_aggview_set_stepped(struct am_aggview *v)
{
	v->stepped = 1;
	if (!v->built)
		rebuild(v);
}

int
am_aggview_step(struct am_aggview *v, am_time_t budget_us)
{
	am_time_t until = am_now_mono() + budget_us;

	acc_sync(v);
	if (v->b.phase == B_IDLE && build_due(v) && (!v->built || am_now_mono() - v->built_at >= v->max_age))
		build_start(v);
	do {
		if (v->b.phase != B_IDLE)
			build_unit(v);
		else if (v->sweep_left)
			acc_sweep(v, BUILD_UNIT);
		else
			break;
	} while (am_now_mono() < until);
	return v->b.phase != B_IDLE || v->sweep_left > 0;
}
