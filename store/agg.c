/* Interval aggregates: see agg.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "store/agg.h"
#include "capture/decode.h"

struct entry {
	uint32_t id, sig_id;
	uint8_t enclen;
	uint8_t dirty;              /* totals changed since the last good flush */
	uint8_t enc[AM_KEY_ENC_MAX];
	uint64_t hash;
	struct entry *hnext;
	struct am_agg_key key;
	struct am_totals tot;
	struct am_rec *cur;         /* open interval; NULL when not live */
	struct am_agg_gauges *last; /* last completed interval; NULL when not live */
	uint32_t live_pos;          /* index in agg->live */
	uint32_t pend_pos;          /* index in agg->pend while a flush is pending */
	am_time_t last_seen;
};

struct am_agg {
	struct am_agg_cfg cfg;
	struct am_store *st;
	am_time_t len;              /* interval length, microseconds */
	am_time_t clock, open_start;
	int started;
	uint32_t n_le;
	uint64_t le[AM_LE_MAX];

	struct entry **hash;        /* chained, power-of-two buckets */
	uint64_t hmask, hcount, seed;
	struct entry **by_id;       /* index: id */
	uint32_t by_id_cap, next_id;
	uint32_t key_flushed;       /* ids below are in the store */
	struct entry **live;
	uint32_t n_live, live_cap, n_live_normal;

	char **sigs;                /* index: sig id */
	uint32_t sig_cap, next_sig, sig_flushed;

	uint64_t *dropped;          /* bit filter over the hashes of keys dropped from
	                             * memory: only those are looked up in the store */
	am_time_t load_from;        /* at start: keys last seen before stay in the store */
	struct am_agg_stats stats;
	am_agg_close_cb close_cb;
	void *close_ctx;
	am_agg_flush_cb flush_cb;
	void *flush_ctx;
	am_agg_drop_cb drop_cb;
	void *drop_ctx;

	/* The flush of a closed interval: a snapshot of what to write, written
	 * in one write transaction, at once or in steps (deferred_flush). */
	struct pend {
		uint32_t id;
		struct am_rec *rec;         /* NULL: totals only */
		struct am_totals tot;
	} *pend;
	uint32_t npend, pend_cap, pend_pos;
	uint32_t pend_closed;           /* items whose close work (gauges, callback) is done */
	int pending, pend_final, pend_attempts, pend_head;
	am_time_t pend_start, pend_clock;
	uint32_t pend_key_hi, pend_sig_hi;
	struct am_store_w *pend_w;
	int defer_finish;               /* am_agg_finish leaves its flush pending too */
	struct am_rec **pool;           /* empty records for reuse */
	uint32_t npool, pool_cap;
	struct am_agg_gauges gone_last; /* close work of a key that left the live table */
};

static const uint64_t default_le[] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000
};

void
am_agg_cfg_default(struct am_agg_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->interval_s = 300;
	cfg->max_keys = 10000;
	cfg->idle_s = 3600;
	cfg->max_known = 100000;
	cfg->need_handshake = 1;
	cfg->n_le = sizeof(default_le) / sizeof(default_le[0]);
	memcpy(cfg->le, default_le, sizeof(default_le));
}

/* --- dictionaries ------------------------------------------------------------ */

static void
by_id_set(struct am_agg *agg, uint32_t id, struct entry *e)
{
	if (id >= agg->by_id_cap) {
		uint32_t cap = agg->by_id_cap ? agg->by_id_cap : 256;
		while (cap <= id)
			cap *= 2;
		agg->by_id = am_xrealloc(agg->by_id, cap * sizeof(*agg->by_id));
		memset(agg->by_id + agg->by_id_cap, 0, (cap - agg->by_id_cap) * sizeof(*agg->by_id));
		agg->by_id_cap = cap;
	}
	agg->by_id[id] = e;
	if (id >= agg->next_id)
		agg->next_id = id + 1;
}

static void
hash_insert(struct am_agg *agg, struct entry *e)
{
	uint64_t b;

	if (agg->hcount >= 2 * (agg->hmask + 1)) {
		uint64_t nb = 2 * (agg->hmask + 1), i;
		struct entry **nh = am_xcalloc(nb, sizeof(*nh));
		for (i = 0; i <= agg->hmask; i++) {
			struct entry *x = agg->hash[i], *next;
			for (; x; x = next) {
				next = x->hnext;
				x->hnext = nh[x->hash & (nb - 1)];
				nh[x->hash & (nb - 1)] = x;
			}
		}
		free(agg->hash);
		agg->hash = nh;
		agg->hmask = nb - 1;
	}
	b = e->hash & agg->hmask;
	e->hnext = agg->hash[b];
	agg->hash[b] = e;
	agg->hcount++;
}

static struct entry *
hash_find(const struct am_agg *agg, const uint8_t *enc, size_t len, uint64_t h)
{
	struct entry *e;

	for (e = agg->hash[h & agg->hmask]; e; e = e->hnext)
		if (e->hash == h && e->enclen == len && memcmp(e->enc, enc, len) == 0)
			return e;
	return NULL;
}

static void
hash_remove(struct am_agg *agg, struct entry *e)
{
	struct entry **pp = &agg->hash[e->hash & agg->hmask];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = e->hnext;
		agg->hcount--;
	}
}

#define DROPPED_BITS (UINT64_C(1) << 20)   /* 128 KiB */

static const struct am_agg_gauges no_gauges;
static void fill_row(const struct am_agg *agg, const struct entry *e, struct am_agg_row *row);

static int
cmp_last_seen(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;

	if (x->last_seen != y->last_seen)
		return x->last_seen < y->last_seen ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Above max_known keys in memory, drops the idle keys seen longest ago, down
 * to 90% of the bound; only keys whose id and totals are stored qualify. */
static void
drop_idle(struct am_agg *agg)
{
	struct entry **c;
	uint64_t n = 0, i, target = (uint64_t)agg->cfg.max_known / 10 * 9;

	if (agg->st == NULL || agg->pending || agg->hcount <= agg->cfg.max_known)
		return;
	c = am_xcalloc(agg->hcount, sizeof(*c));
	for (i = 1; i < agg->next_id && i < agg->by_id_cap; i++) {
		struct entry *e = agg->by_id[i];
		if (e && e->cur == NULL && !e->dirty && e->id < agg->key_flushed)
			c[n++] = e;
	}
	qsort(c, n, sizeof(*c), cmp_last_seen);
	if (agg->dropped == NULL)
		agg->dropped = am_xcalloc(DROPPED_BITS / 64, sizeof(uint64_t));
	for (i = 0; i < n && agg->hcount > target; i++) {
		uint64_t b = c[i]->hash % DROPPED_BITS;
		agg->dropped[b / 64] |= UINT64_C(1) << (b % 64);
		if (agg->drop_cb) {
			struct am_agg_row row;
			fill_row(agg, c[i], &row);
			agg->drop_cb(agg->drop_ctx, &row, 0);
		}
		hash_remove(agg, c[i]);
		agg->by_id[c[i]->id] = NULL;
		free(c[i]);
		agg->stats.keys_dropped++;
	}
	free(c);
}

static void
sig_set(struct am_agg *agg, uint32_t id, const char *name)
{
	if (id >= agg->sig_cap) {
		uint32_t cap = agg->sig_cap ? agg->sig_cap : 64;
		while (cap <= id)
			cap *= 2;
		agg->sigs = am_xrealloc(agg->sigs, cap * sizeof(*agg->sigs));
		memset(agg->sigs + agg->sig_cap, 0, (cap - agg->sig_cap) * sizeof(*agg->sigs));
		agg->sig_cap = cap;
	}
	free(agg->sigs[id]);
	agg->sigs[id] = am_xstrdup(name);
	if (id >= agg->next_sig)
		agg->next_sig = id + 1;
}

/* Signature ids are few and looked up only when a key is made. */
static uint32_t
sig_id(struct am_agg *agg, const char *name)
{
	uint32_t i;

	if (name[0] == 0)
		return 0;
	for (i = 1; i < agg->next_sig; i++)
		if (agg->sigs[i] && strcmp(agg->sigs[i], name) == 0)
			return i;
	i = agg->next_sig;
	sig_set(agg, i, name);
	return i;
}

static struct entry *
entry_new(struct am_agg *agg, const struct am_agg_key *k, const uint8_t *enc, size_t len,
    uint64_t h, uint32_t id)
{
	struct entry *e = am_xcalloc(1, sizeof(*e));

	e->key = *k;
	memcpy(e->enc, enc, len);
	e->enclen = (uint8_t)len;
	e->hash = h;
	e->id = id;
	by_id_set(agg, id, e);
	hash_insert(agg, e);
	return e;
}

static void rec_put(struct am_agg *agg, struct am_rec *r);

static void
live_add(struct am_agg *agg, struct entry *e)
{
	if (agg->n_live == agg->live_cap) {
		agg->live_cap = agg->live_cap ? 2 * agg->live_cap : 256;
		agg->live = am_xrealloc(agg->live, agg->live_cap * sizeof(*agg->live));
	}
	e->cur = am_xmalloc(sizeof(*e->cur));
	am_rec_init(e->cur);
	e->last = am_xcalloc(1, sizeof(*e->last));
	/* and the record that replaces cur when the interval closes, so that
	 * the close takes them from the pool instead of allocating them all */
	if (agg->npool < agg->n_live + 1) {
		struct am_rec *r = am_xmalloc(sizeof(*r));
		am_rec_init(r);
		rec_put(agg, r);
	}
	e->live_pos = agg->n_live;
	agg->live[agg->n_live++] = e;
	if (!e->key.overflow)
		agg->n_live_normal++;
	agg->stats.keys_live = agg->n_live;
	if (agg->n_live > agg->stats.keys_peak)
		agg->stats.keys_peak = agg->n_live;
}

static void
live_remove(struct am_agg *agg, struct entry *e)
{
	uint32_t pos = e->live_pos;

	am_rec_free(e->cur);
	free(e->cur);
	free(e->last);
	e->cur = NULL;
	e->last = NULL;
	agg->live[pos] = agg->live[--agg->n_live];
	agg->live[pos]->live_pos = pos;
	if (!e->key.overflow)
		agg->n_live_normal--;
	agg->stats.keys_live = agg->n_live;
}

/* --- setup ------------------------------------------------------------------- */

static int
load_key(void *ctx, const struct am_key_info *ki, const struct am_totals *tot)
{
	struct am_agg *agg = ctx;
	uint8_t enc[AM_KEY_ENC_MAX];
	size_t len = am_agg_key_encode(&ki->key, enc);
	uint64_t h = am_hash64(enc, len, agg->seed);
	struct entry *e;

	if (tot->last_seen < agg->load_from) {
		/* left in the store: looked up when it comes back */
		uint64_t b = h % DROPPED_BITS;
		if (agg->dropped == NULL)
			agg->dropped = am_xcalloc(DROPPED_BITS / 64, sizeof(uint64_t));
		agg->dropped[b / 64] |= UINT64_C(1) << (b % 64);
		agg->stats.keys_dropped++;
		return 0;
	}
	if (hash_find(agg, enc, len, h)) {
		log_warnx("store", "key %u duplicates another key: ignored", ki->id);
		return 0;
	}
	e = entry_new(agg, &ki->key, enc, len, h, ki->id);
	e->sig_id = ki->sig_id;
	e->tot = *tot;
	e->last_seen = tot->last_seen;
	return 0;
}

struct seen {
	am_time_t *t;
	uint32_t n, cap;
};

static int
collect_seen(void *ctx, const struct am_key_info *ki, const struct am_totals *tot)
{
	struct seen *sn = ctx;

	if (sn->n == sn->cap) {
		sn->cap = sn->cap ? 2 * sn->cap : 4096;
		sn->t = am_xrealloc(sn->t, sn->cap * sizeof(*sn->t));
	}
	sn->t[sn->n++] = tot->last_seen;
	return 0;
}

static int
cmp_time_desc(const void *a, const void *b)
{
	am_time_t x = *(const am_time_t *)a, y = *(const am_time_t *)b;

	return x > y ? -1 : x < y;
}

/* With more stored keys than max_known, only the most recently seen 90% of
 * max_known are loaded: returns the last_seen from which keys load. */
static am_time_t
load_threshold(struct am_agg *agg, struct am_store *st, uint32_t stored)
{
	struct seen sn = { NULL, 0, 0 };
	uint32_t keep = agg->cfg.max_known / 10 * 9;
	am_time_t from = INT64_MIN;

	if (stored <= agg->cfg.max_known)
		return INT64_MIN;
	if (am_store_load(st, collect_seen, NULL, &sn) == 0 && sn.n > keep && keep > 0) {
		qsort(sn.t, sn.n, sizeof(*sn.t), cmp_time_desc);
		from = sn.t[keep - 1];
	} else if (keep == 0) {
		from = INT64_MAX;
	}
	free(sn.t);
	return from;
}

static int
load_sig(void *ctx, uint32_t id, const char *name)
{
	sig_set(ctx, id, name);
	return 0;
}

struct am_agg *
am_agg_new(const struct am_agg_cfg *cfg, struct am_store *st)
{
	struct am_agg *agg;
	struct am_agg_cfg def;

	if (cfg == NULL) {
		am_agg_cfg_default(&def);
		cfg = &def;
	}
	if (!st && (cfg->interval_s < 10 || cfg->interval_s > 3600))
		return NULL;
	if (cfg->n_le > AM_LE_MAX)
		return NULL;
	agg = am_xcalloc(1, sizeof(*agg));
	agg->cfg = *cfg;
	if (agg->cfg.max_known == 0)
		agg->cfg.max_known = 100000;
	agg->st = st;
	agg->seed = am_random_seed();
	agg->hmask = 1023;
	agg->hash = am_xcalloc(agg->hmask + 1, sizeof(*agg->hash));
	agg->next_id = agg->next_sig = 1;
	agg->n_le = cfg->n_le;
	memcpy(agg->le, cfg->le, sizeof(agg->le));
	agg->len = (am_time_t)cfg->interval_s * AM_USEC;
	if (st) {
		struct am_store_info info;
		am_store_info(st, &info);
		agg->len = (am_time_t)info.interval_s * AM_USEC;
		agg->n_le = info.n_le;
		memcpy(agg->le, info.le, sizeof(agg->le));
		agg->load_from = load_threshold(agg, st, info.keys);
		if (am_store_load(st, load_key, load_sig, agg) < 0) {
			am_agg_free(agg);
			return NULL;
		}
		if (info.keys + 1 > agg->next_id)
			agg->next_id = info.keys + 1;
		if (info.sigs + 1 > agg->next_sig)
			agg->next_sig = info.sigs + 1;
	}
	agg->key_flushed = agg->next_id;
	agg->sig_flushed = agg->next_sig;
	agg->cfg.interval_s = (uint32_t)(agg->len / AM_USEC);
	drop_idle(agg);
	return agg;
}

void
am_agg_free(struct am_agg *agg)
{
	uint32_t i;

	if (agg == NULL)
		return;
	for (i = 0; i < agg->next_id && i < agg->by_id_cap; i++) {
		struct entry *e = agg->by_id[i];
		if (e == NULL)
			continue;
		if (e->cur) {
			am_rec_free(e->cur);
			free(e->cur);
			free(e->last);
		}
		free(e);
	}
	for (i = 0; i < agg->sig_cap; i++)
		free(agg->sigs[i]);
	if (agg->pend_w)
		am_store_abort(agg->pend_w);
	for (i = 0; i < agg->npend; i++)
		if (agg->pend[i].rec) {
			am_rec_free(agg->pend[i].rec);
			free(agg->pend[i].rec);
		}
	free(agg->pend);
	for (i = 0; i < agg->npool; i++) {
		am_rec_free(agg->pool[i]);
		free(agg->pool[i]);
	}
	free(agg->pool);
	free(agg->sigs);
	free(agg->dropped);
	free(agg->by_id);
	free(agg->hash);
	free(agg->live);
	free(agg);
}

void
am_agg_on_close(struct am_agg *agg, am_agg_close_cb cb, void *ctx)
{
	agg->close_cb = cb;
	agg->close_ctx = ctx;
}

struct out_walk {
	struct am_agg *agg;
	am_agg_drop_cb cb;
	void *ctx;
};

static int
report_out(void *ctx, const struct am_key_info *ki, const struct am_totals *tot)
{
	struct out_walk *w = ctx;
	struct am_agg_row row;

	if (ki->id == 0 || ki->id >= w->agg->key_flushed ||
	    (ki->id < w->agg->by_id_cap && w->agg->by_id[ki->id] != NULL))
		return 0;
	memset(&row, 0, sizeof(row));
	row.id = ki->id;
	row.sig_id = ki->sig_id;
	row.key = &ki->key;
	row.totals = tot;
	row.last = &no_gauges;
	w->cb(w->ctx, &row, 0);
	return 0;
}

int
am_agg_on_drop(struct am_agg *agg, am_agg_drop_cb cb, void *ctx)
{
	struct out_walk w = { agg, cb, ctx };

	agg->drop_cb = cb;
	agg->drop_ctx = ctx;
	if (cb == NULL || agg->st == NULL || agg->stats.keys_dropped == 0)
		return 0;
	return am_store_load(agg->st, report_out, NULL, &w) < 0 ? -1 : 0;
}

uint32_t
am_agg_max_known(const struct am_agg *agg)
{
	return agg->cfg.max_known;
}

void
am_agg_on_flush(struct am_agg *agg, am_agg_flush_cb cb, void *ctx)
{
	agg->flush_cb = cb;
	agg->flush_ctx = ctx;
}

uint32_t
am_agg_interval_s(const struct am_agg *agg)
{
	return (uint32_t)(agg->len / AM_USEC);
}

/* --- the per-transaction path ------------------------------------------------ */

static am_time_t
align(const struct am_agg *agg, am_time_t t)
{
	am_time_t r = t % agg->len;

	return r < 0 ? t - r - agg->len : t - r;
}

static void
add_timing(struct am_agg *agg, struct entry *e, int i, int64_t v)
{
	if (v < 0)
		return;
	am_hist_add(&e->cur->t[i], (uint64_t)v);
	e->tot.n[i]++;
	e->tot.sum[i] += (uint64_t)v;
	if (i == AM_T_FIRST)
		for (uint32_t j = 0; j < agg->n_le; j++)
			if ((uint64_t)v <= agg->le[j])
				e->tot.le[j]++;
}

static void
count(struct am_agg *agg, struct entry *e, const struct am_conn *conn, const struct am_txn *txn)
{
	struct am_rec *r = e->cur;
	struct am_totals *t = &e->tot;

	r->count++;
	t->count++;
	add_timing(agg, e, AM_T_FIRST, txn->first);
	add_timing(agg, e, AM_T_LAST, txn->last);
	add_timing(agg, e, AM_T_ACK, txn->ack);
	add_timing(agg, e, AM_T_THINK, txn->think);
	if (conn->srv_rtt >= 0 && conn->cli_rtt >= 0)
		add_timing(agg, e, AM_T_RTT, conn->srv_rtt + conn->cli_rtt);
	r->bytes[0] += txn->req_bytes;
	r->bytes[1] += txn->resp_bytes;
	r->pkts[0] += txn->req_pkts;
	r->pkts[1] += txn->resp_pkts;
	t->bytes[0] += txn->req_bytes;
	t->bytes[1] += txn->resp_bytes;
	t->pkts[0] += txn->req_pkts;
	t->pkts[1] += txn->resp_pkts;
	if ((unsigned)txn->outcome < AM_OUT__COUNT) {
		r->outcome[txn->outcome]++;
		t->outcome[txn->outcome]++;
	}
	r->retrans += txn->retrans;
	t->retrans += txn->retrans;
	r->gap_bytes += txn->gap_bytes;
	t->gap_bytes += txn->gap_bytes;
	if (t->first_seen == 0)
		t->first_seen = agg->clock;
	t->last_seen = agg->clock;
	e->last_seen = agg->clock;
	e->dirty = 1;
	agg->stats.txns++;
}

/* The key's entry: in memory, or, if it may be one of the keys dropped from
 * memory, from the store (a read, only then). */
static struct entry *
lookup(struct am_agg *agg, const struct am_agg_key *k, const uint8_t *enc, size_t len, uint64_t h)
{
	struct entry *e = hash_find(agg, enc, len, h);
	struct am_key_info ki;
	struct am_totals tot;
	uint64_t b = h % DROPPED_BITS;

	if (e || agg->dropped == NULL || !(agg->dropped[b / 64] & (UINT64_C(1) << (b % 64))))
		return e;
	if (am_store_key_find(agg->st, k, &ki, &tot) != 0 || ki.id >= agg->key_flushed)
		return NULL;
	e = entry_new(agg, &ki.key, enc, len, h, ki.id);
	e->sig_id = ki.sig_id;
	e->tot = tot;
	e->last_seen = tot.last_seen;
	agg->stats.keys_reloaded++;
	if (agg->drop_cb) {
		struct am_agg_row row;
		fill_row(agg, e, &row);
		agg->drop_cb(agg->drop_ctx, &row, 1);
	}
	return e;
}

static struct entry *
find_or_make(struct am_agg *agg, const struct am_agg_key *k)
{
	uint8_t enc[AM_KEY_ENC_MAX];
	size_t len = am_agg_key_encode(k, enc);
	uint64_t h = am_hash64(enc, len, agg->seed);
	struct entry *e = lookup(agg, k, enc, len, h);

	if (e == NULL) {
		e = entry_new(agg, k, enc, len, h, agg->next_id);
		e->sig_id = k->overflow ? 0 : sig_id(agg, k->signature);
	}
	return e;
}

int
am_agg_add(struct am_agg *agg, const struct am_agg_key *k, const struct am_conn *conn,
    const struct am_txn *txn)
{
	uint8_t enc[AM_KEY_ENC_MAX];
	size_t len;
	uint64_t h;
	struct entry *e;
	struct am_agg_key ok;

	if (!agg->started)
		am_agg_advance(agg, conn->last_ts > 0 ? conn->last_ts : txn->req_first);
	len = am_agg_key_encode(k, enc);
	h = am_hash64(enc, len, agg->seed);
	e = lookup(agg, k, enc, len, h);
	if (e && e->cur) {
		count(agg, e, conn, txn);
		return 0;
	}
	if (e == NULL && !k->overflow && agg->cfg.need_handshake && conn->proto != AM_IPPROTO_UDP &&
	    (conn->est_ts == 0 || (conn->bytes[1] == 0 && txn->resp_bytes == 0))) {
		agg->stats.unkeyed++;
		return 1;
	}
	if (k->overflow || agg->n_live_normal < agg->cfg.max_keys) {
		if (e == NULL) {
			e = entry_new(agg, k, enc, len, h, agg->next_id);
			e->sig_id = k->overflow ? 0 : sig_id(agg, k->signature);
		}
		live_add(agg, e);
		count(agg, e, conn, txn);
		return 0;
	}
	am_agg_key_overflow(&ok, k->rule);
	e = find_or_make(agg, &ok);
	if (e->cur == NULL)
		live_add(agg, e);
	count(agg, e, conn, txn);
	agg->stats.overflow++;
	return 2;
}

/* --- closing intervals --------------------------------------------------------- */

void
am_agg_gauges_from(struct am_agg_gauges *g, am_time_t start, const struct am_rec *r)
{
	memset(g, 0, sizeof(*g));
	g->start = start;
	g->count = r->count;
	g->errors = r->outcome[AM_OUT_RESET] + r->outcome[AM_OUT_TIMEOUT] +
	    r->outcome[AM_OUT_INCOMPLETE];
	for (int i = 0; i < AM_T__COUNT; i++) {
		const struct am_hist *h = &r->t[i];
		g->t[i].n = h->count;
		if (h->count == 0)
			continue;
		g->t[i].min = h->min;
		g->t[i].max = h->max;
		g->t[i].mean = am_hist_mean(h);
		g->t[i].p50 = am_hist_quantile(h, 0.50);
		g->t[i].p90 = am_hist_quantile(h, 0.90);
		g->t[i].p95 = am_hist_quantile(h, 0.95);
		g->t[i].p99 = am_hist_quantile(h, 0.99);
		g->t[i].p999 = am_hist_quantile(h, 0.999);
	}
}

static struct am_rec *
rec_get(struct am_agg *agg)
{
	struct am_rec *r;

	if (agg->npool)
		return agg->pool[--agg->npool];
	r = am_xmalloc(sizeof(*r));
	am_rec_init(r);
	return r;
}

static void
rec_put(struct am_agg *agg, struct am_rec *r)
{
	if (agg->npool == agg->pool_cap) {
		agg->pool_cap = agg->pool_cap ? 2 * agg->pool_cap : 256;
		agg->pool = am_xrealloc(agg->pool, agg->pool_cap * sizeof(*agg->pool));
	}
	am_rec_reset(r);
	agg->pool[agg->npool++] = r;
}

/* The close work of one key of the closed interval: its last-interval
 * gauges and the close callback, once per flush whatever the retries. */
static void
pend_close_one(struct am_agg *agg, uint32_t i)
{
	struct pend *p = &agg->pend[i];
	struct entry *e = p->id < agg->by_id_cap ? agg->by_id[p->id] : NULL;
	struct am_agg_row row;

	if (i < agg->pend_closed)
		return;
	agg->pend_closed = i + 1;
	if (p->rec == NULL || e == NULL)
		return;
	fill_row(agg, e, &row);             /* computes the gauges */
	if (e->last == NULL) {
		/* idle when the interval closed: it left the live table (and
		 * its gauges) before this step */
		am_agg_gauges_from(&agg->gone_last, agg->pend_start, p->rec);
		row.last = &agg->gone_last;
	}
	if (agg->close_cb)
		agg->close_cb(agg->close_ctx, agg->pend_start, am_agg_interval_s(agg), &row, p->rec);
}

static void
pend_close_all(struct am_agg *agg)
{
	for (uint32_t i = agg->pend_closed; i < agg->npend; i++)
		pend_close_one(agg, i);
}

static void
pend_release(struct am_agg *agg, int failed)
{
	for (uint32_t i = 0; i < agg->npend; i++) {
		struct pend *p = &agg->pend[i];
		if (p->rec)
			rec_put(agg, p->rec);
		/* the totals are written again by the next flush */
		if (failed && p->id < agg->by_id_cap && agg->by_id[p->id])
			agg->by_id[p->id]->dirty = 1;
	}
	agg->npend = 0;
	agg->pending = 0;
	agg->pend_w = NULL;
	/* keep the pool about as large as one flush needs */
	while (agg->npool > agg->n_live + 64) {
		struct am_rec *r = agg->pool[--agg->npool];
		am_rec_free(r);
		free(r);
	}
}

/* Takes what the closed interval leaves to store: the records of the keys
 * that saw transactions (swapped for empty ones) and the totals that
 * changed. */
static void
pend_snapshot(struct am_agg *agg, am_time_t start, int final)
{
	uint32_t i;

	if (agg->n_live > agg->pend_cap) {
		agg->pend_cap = agg->n_live + agg->n_live / 4 + 16;
		agg->pend = am_xrealloc(agg->pend, agg->pend_cap * sizeof(*agg->pend));
	}
	agg->npend = 0;
	agg->pend_closed = 0;
	for (i = 0; i < agg->n_live; i++) {
		struct entry *e = agg->live[i];
		struct pend *p;
		if (e->cur->count == 0 && !e->dirty)
			continue;
		e->pend_pos = agg->npend;
		p = &agg->pend[agg->npend++];
		p->id = e->id;
		p->rec = NULL;
		if (e->cur->count) {
			p->rec = e->cur;
			e->cur = rec_get(agg);
		}
		p->tot = e->tot;
		e->dirty = 0;
	}
	agg->pending = 1;
	agg->pend_start = start;
	agg->pend_clock = agg->clock;
	agg->pend_final = final;
	agg->pend_key_hi = agg->next_id;
	agg->pend_sig_hi = agg->next_sig;
	agg->pend_attempts = 0;
	agg->pend_pos = 0;
	agg->pend_head = 0;
	agg->pend_w = NULL;
}

/* New signatures and keys, then the first records. */
static void
pend_head(struct am_agg *agg, struct am_store_w *w)
{
	uint32_t i;

	for (i = agg->sig_flushed; i < agg->pend_sig_hi; i++)
		if (i < agg->sig_cap && agg->sigs[i] && am_store_put_sig(w, i, agg->sigs[i]) < 0)
			return;
	for (i = agg->key_flushed; i < agg->pend_key_hi; i++) {
		struct entry *e = i < agg->by_id_cap ? agg->by_id[i] : NULL;
		struct am_key_info ki;
		if (e == NULL)
			continue;
		ki.id = e->id;
		ki.sig_id = e->sig_id;
		ki.key = e->key;
		if (am_store_put_key(w, &ki) < 0)
			return;
	}
}

/* Writes up to budget keys of the pending flush; commits after the last.
 * 1: more to do, 0: done (or nothing pending), -1: the flush failed. */
static int
pend_run(struct am_agg *agg, uint32_t budget)
{
	struct am_store_w *w = NULL;
	int r;

	if (!agg->pending)
		return 0;
	if (agg->st == NULL) {
		for (; agg->pend_closed < agg->npend && budget > 0; budget--)
			pend_close_one(agg, agg->pend_closed);
		if (agg->pend_closed < agg->npend)
			return 1;
		pend_release(agg, 0);
		return 0;
	}
	if (agg->pend_w == NULL) {
		if ((agg->pend_w = am_store_begin(agg->st)) == NULL)
			goto failed;
		agg->pend_pos = 0;
		pend_head(agg, agg->pend_w);
	}
	w = agg->pend_w;
	for (; agg->pend_pos < agg->npend && budget > 0 && am_store_w_status(w) == 0; budget--) {
		struct pend *p = &agg->pend[agg->pend_pos];
		pend_close_one(agg, agg->pend_pos++);
		if (p->rec)
			am_store_put_rec(w, p->id, agg->pend_start, p->rec);
		am_store_put_totals(w, p->id, &p->tot);
	}
	r = am_store_w_status(w);
	if (r == 0 && agg->pend_pos < agg->npend)
		return 1;
	if (r == 0 && agg->flush_cb && agg->flush_cb(agg->flush_ctx, w) < 0)
		r = am_store_w_status(w) ? am_store_w_status(w) : -1;
	if (r == 0)
		r = am_store_commit(w, agg->pend_clock, agg->pend_final);
	else
		am_store_abort(w);
	agg->pend_w = NULL;
	if (r == 0) {
		struct am_store_info info;
		agg->key_flushed = agg->pend_key_hi;
		agg->sig_flushed = agg->pend_sig_hi;
		am_store_info(agg->st, &info);
		agg->stats.last_flush_us = info.last_flush_us;
		pend_release(agg, 0);
		return 0;
	}
	/* the map is full: make room and write it all again */
	if (r == 1 && ++agg->pend_attempts < 12 && am_store_make_room(agg->st) == 0)
		return 1;
failed:
	pend_close_all(agg);
	am_store_flush_failed(agg->st, agg->pend_clock, w);
	agg->stats.flush_errors++;
	pend_release(agg, 1);
	return -1;
}

int
am_agg_flush_step(struct am_agg *agg, uint32_t budget)
{
	return pend_run(agg, budget ? budget : 1);
}

void
am_agg_defer_finish(struct am_agg *agg, int on)
{
	agg->defer_finish = on;
}

int
am_agg_flush_pending(const struct am_agg *agg)
{
	return agg->pending;
}

/* Runs the pending flush to its end. */
static int
pend_complete(struct am_agg *agg)
{
	int r;

	while ((r = pend_run(agg, UINT32_MAX)) == 1)
		;
	return r;
}

static int
close_interval(struct am_agg *agg, int final)
{
	am_time_t start = agg->open_start;
	uint32_t i;
	/* The previous flush is not over: it is completed at once (a stall). */
	if (agg->pending)
		log_debug("stall", "interval close: completing the previous flush at once (%u of %u keys)",
		    agg->npend - agg->pend_pos, agg->npend);
	int r = pend_complete(agg);

	drop_idle(agg);
	agg->stats.intervals++;
	agg->stats.last_closed = start;
	/* The records are taken as they are; their gauges and the close
	 * callbacks follow key by key as the flush is written (at once, or in
	 * the steps of a deferred flush). */
	pend_snapshot(agg, start, final);
	if (!agg->cfg.deferred_flush || (final && !agg->defer_finish))
		r |= pend_complete(agg);
	/* idle keys leave the live table (every live key's record is empty
	 * now: taken by the snapshot and replaced from the pool, or unused) */
	for (i = 0; i < agg->n_live;) {
		struct entry *e = agg->live[i];
		if (agg->clock - e->last_seen >= (am_time_t)agg->cfg.idle_s * AM_USEC) {
			live_remove(agg, e);
			agg->stats.keys_expired++;
			continue;          /* another entry moved into slot i */
		}
		i++;
	}
	return r < 0 ? -1 : 0;
}

int
am_agg_advance(struct am_agg *agg, am_time_t now)
{
	int r;

	if (!agg->started) {
		agg->started = 1;
		agg->clock = now;
		agg->open_start = align(agg, now);
		return 0;
	}
	if (now <= agg->clock)
		return 0;
	agg->clock = now;
	if (now < agg->open_start + agg->len)
		return 0;
	r = close_interval(agg, 0);
	agg->open_start = align(agg, now);
	return r < 0 ? -1 : 1;
}

int
am_agg_finish(struct am_agg *agg)
{
	int r;

	if (agg->started)
		return close_interval(agg, 1);
	/* nothing was counted: still record a clean stop */
	r = pend_complete(agg);
	pend_snapshot(agg, 0, 1);
	return (pend_complete(agg) | r) < 0 ? -1 : 0;
}

/* --- reading --------------------------------------------------------------------- */

void
am_agg_stats(const struct am_agg *agg, struct am_agg_stats *st)
{
	*st = agg->stats;
	st->keys_total = agg->next_id - 1;
	st->keys_known = agg->hcount;
	st->clock = agg->clock;
	st->open_start = agg->started ? agg->open_start : 0;
}

/* The gauges of a key's last interval are computed when the flush of that
 * interval reaches the key, or when the key is read before. */
static void
fill_row(const struct am_agg *agg, const struct entry *e, struct am_agg_row *row)
{
	if (agg->pending && e->last && e->last->start != agg->pend_start &&
	    e->pend_pos < agg->npend && agg->pend[e->pend_pos].id == e->id &&
	    agg->pend[e->pend_pos].rec)
		am_agg_gauges_from(e->last, agg->pend_start, agg->pend[e->pend_pos].rec);
	row->id = e->id;
	row->sig_id = e->sig_id;
	row->key = &e->key;
	row->totals = &e->tot;
	row->live = e->cur != NULL;
	if (e->last && agg->stats.intervals && e->last->start == agg->stats.last_closed)
		row->last = e->last;
	else
		row->last = &no_gauges;
}

int
am_agg_row_get(const struct am_agg *agg, uint32_t id, struct am_agg_row *row)
{
	if (id == 0 || id >= agg->by_id_cap || agg->by_id[id] == NULL)
		return 1;
	fill_row(agg, agg->by_id[id], row);
	return 0;
}

int
am_agg_row_next(const struct am_agg *agg, uint32_t after, struct am_agg_row *row)
{
	uint32_t i;

	for (i = after + 1; i < agg->next_id && i < agg->by_id_cap; i++)
		if (agg->by_id[i]) {
			fill_row(agg, agg->by_id[i], row);
			return 0;
		}
	return 1;
}

const char *
am_agg_sig_name(const struct am_agg *agg, uint32_t id)
{
	return id < agg->sig_cap ? agg->sigs[id] : NULL;
}

const struct am_rec *
am_agg_row_open(const struct am_agg *agg, uint32_t id)
{
	if (id == 0 || id >= agg->by_id_cap || agg->by_id[id] == NULL)
		return NULL;
	return agg->by_id[id]->cur;
}
