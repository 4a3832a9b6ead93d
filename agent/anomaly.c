/* Anomalies against each signature row's own history: see anomaly.h and
 * doc/anomaly.md. */
#include "config.h"
#include "agent/anomaly.h"
#include "common/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NB AM_ANOMALY_BINS
#define HOUR_US (3600LL * AM_USEC)
#define DAY_US (86400LL * AM_USEC)

struct baseline {
	int n;                     /* past intervals it is made of */
	double mean[NB];
	double e[2][NB];           /* principal directions (unit) */
	double s[2];               /* spread along them */
	double rs[NB];             /* spread per bin of what remains */
	uint32_t p50, p90;
};

struct row {
	struct am_addr addr;
	uint16_t port;
	uint32_t sig;
	int state;                 /* 1 learning, 2 normal, 3 anomalous */
	uint32_t score, beyond, within;
	am_time_t last_change;
	int64_t hour;              /* hour (start / 1 h) the baseline is for, -1 none */
	struct baseline b;
};

/* A quantile function to store (or, vlen 0, one to delete). */
#define QF_KLEN 31
#define QF_VLEN (1 + 4 + 2 * NB)
#define ST_KLEN 23              /* a row: family, address, port, signature id */
#define ST_VLEN 22
#define AUX_ANOMALY_STATE (AM_AUX_USER + 2)
struct qf_put {
	int table;                 /* AM_AUX_BASELINE or AUX_ANOMALY_STATE */
	size_t klen;
	uint8_t key[QF_KLEN];
	uint8_t val[QF_VLEN];
	size_t vlen;
};

struct am_anomaly {
	struct am_anomaly_cfg cfg;
	struct am_store *st;
	struct row *rows;          /* sorted by signature index */
	size_t n, cap;
	am_anomaly_notify_cb cb;
	void *ctx;
	int64_t budget, spent;     /* baseline building per pass, microseconds */
	uint64_t deferred;
	/* quantile functions for the store: new ones, and those given to a
	 * flush whose commit is not known yet (written again on a retry) */
	struct qf_put *pend, *sent;
	size_t npend, cappend, nsent, capsent;
	uint64_t sent_flushes;     /* the store's flush count when they were given */
};

void
am_anomaly_cfg_default(struct am_anomaly_cfg *c)
{
	c->bound = 4000;
	c->intervals = 2;
	c->min_history = 7;
	c->min_txns = 100;
	c->days = 14;
}

static int state_load_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen);

struct am_anomaly *
am_anomaly_new(const struct am_anomaly_cfg *cfg, struct am_store *st)
{
	struct am_anomaly *an = am_xcalloc(1, sizeof(*an));

	am_anomaly_cfg_default(&an->cfg);
	if (cfg)
		am_anomaly_set_cfg(an, cfg);
	an->st = st;
	an->budget = 50000;
	/* the states of the last run (baselines come back from the store
	 * when each row is next scored) */
	if (st) {
		struct am_store_info si;
		if (am_store_aux_walk(st, AUX_ANOMALY_STATE, state_load_cb, an) < 0)
			log_warnx("alarm", "the anomaly states kept in the store cannot be read");
		if (am_store_info(st, &si) == 0)
			an->sent_flushes = si.flushes;
	}
	return an;
}

void
am_anomaly_set_budget(struct am_anomaly *an, int64_t us)
{
	an->budget = us;
}

void
am_anomaly_pass(struct am_anomaly *an)
{
	an->spent = 0;
}

uint64_t
am_anomaly_deferred(const struct am_anomaly *an)
{
	return an->deferred;
}

void
am_anomaly_free(struct am_anomaly *an)
{
	if (an == NULL)
		return;
	free(an->pend);
	free(an->sent);
	free(an->rows);
	free(an);
}

void
am_anomaly_set_cfg(struct am_anomaly *an, const struct am_anomaly_cfg *cfg)
{
	an->cfg = *cfg;
	if (an->cfg.intervals < 1)
		an->cfg.intervals = 1;
	if (an->cfg.intervals > 1000)
		an->cfg.intervals = 1000;
	if (an->cfg.days < 1)
		an->cfg.days = 1;
	if (an->cfg.days > AM_ANOMALY_KEEP_DAYS - 1)
		an->cfg.days = AM_ANOMALY_KEEP_DAYS - 1;
	if (an->cfg.min_history < 2)
		an->cfg.min_history = 2;
	/* baselines are rebuilt with the new settings */
	for (size_t i = 0; i < an->n; i++)
		an->rows[i].hour = -1;
}

void
am_anomaly_get_cfg(const struct am_anomaly *an, struct am_anomaly_cfg *cfg)
{
	*cfg = an->cfg;
}

void
am_anomaly_on_notify(struct am_anomaly *an, am_anomaly_notify_cb cb, void *ctx)
{
	an->cb = cb;
	an->ctx = ctx;
}

uint32_t
am_anomaly_active(const struct am_anomaly *an)
{
	uint32_t k = 0;

	for (size_t i = 0; i < an->n; i++)
		k += an->rows[i].state == 3;
	return k;
}

/* ------------------------------------------------------------------ method */

int
am_anomaly_qf(const struct am_hist *h, double *q)
{
	double total, w, pos = 0;
	int bin = 0;

	if (h->count == 0)
		return -1;
	total = (double)h->count;
	w = total / NB;
	memset(q, 0, NB * sizeof(*q));
	for (uint32_t k = 0; k < h->n && bin < NB; k++) {
		uint64_t lo = am_hist_bucket_low(h->idx[k]), hi = am_hist_bucket_high(h->idx[k]);
		double v, c = (double)h->cnt[k];
		if (lo < h->min)
			lo = h->min;
		if (hi > h->max)
			hi = h->max;
		v = log2((double)(lo + (hi - lo) / 2) + 1.0);
		/* spread this bucket's count over the bins it overlaps */
		while (c > 1e-12 && bin < NB) {
			double room = (bin + 1) * w - pos, take = c < room ? c : room;
			q[bin] += take * v;
			pos += take;
			c -= take;
			if (take >= room - 1e-12)
				bin++;
		}
	}
	for (int i = 0; i < NB; i++)
		q[i] /= w;
	return 0;
}

static double
dot(const double *a, const double *b)
{
	double s = 0;

	for (int i = 0; i < NB; i++)
		s += a[i] * b[i];
	return s;
}

/* Largest eigenvector of a symmetric NBxNB matrix by power iteration. */
static double
top_eigen(double (*c)[NB], double *e)
{
	double lambda = 0;

	for (int i = 0; i < NB; i++)
		e[i] = 1.0 / sqrt(NB) + 1e-3 * i;
	for (int it = 0; it < 100; it++) {
		double y[NB], norm;
		for (int i = 0; i < NB; i++)
			y[i] = dot(c[i], e);
		norm = sqrt(dot(y, y));
		if (norm < 1e-15)
			return 0;
		for (int i = 0; i < NB; i++)
			e[i] = y[i] / norm;
		lambda = norm;
	}
	return lambda;
}

static void
baseline_build(struct baseline *b, const double (*hist)[NB], int n)
{
	static double c[NB][NB];
	double var[NB];

	memset(b, 0, sizeof(*b));
	b->n = n;
	if (n < 2)
		return;
	for (int j = 0; j < n; j++)
		for (int i = 0; i < NB; i++)
			b->mean[i] += hist[j][i] / n;
	memset(c, 0, sizeof(c));
	for (int j = 0; j < n; j++)
		for (int i = 0; i < NB; i++)
			for (int k = 0; k < NB; k++)
				c[i][k] += (hist[j][i] - b->mean[i]) * (hist[j][k] - b->mean[k]) / (n - 1);
	for (int p = 0; p < 2; p++) {
		double l = top_eigen(c, b->e[p]);
		b->s[p] = sqrt(l > 0 ? l : 0);
		/* deflate */
		for (int i = 0; i < NB; i++)
			for (int k = 0; k < NB; k++)
				c[i][k] -= l * b->e[p][i] * b->e[p][k];
	}
	/* spread per bin of the history's residuals */
	memset(var, 0, sizeof(var));
	for (int j = 0; j < n; j++) {
		double d[NB], a0, a1;
		for (int i = 0; i < NB; i++)
			d[i] = hist[j][i] - b->mean[i];
		a0 = dot(d, b->e[0]);
		a1 = dot(d, b->e[1]);
		for (int i = 0; i < NB; i++) {
			double r = d[i] - a0 * b->e[0][i] - a1 * b->e[1][i];
			var[i] += r * r / (n - 1);
		}
	}
	for (int i = 0; i < NB; i++)
		b->rs[i] = sqrt(var[i]);
	/* the quantile function's values at 50% and 90% */
	b->p50 = (uint32_t)fmin(4e9, exp2((b->mean[NB / 2 - 1] + b->mean[NB / 2]) / 2) - 1);
	b->p90 = (uint32_t)fmin(4e9, exp2((b->mean[NB * 9 / 10 - 1] + b->mean[NB * 9 / 10]) / 2) - 1);
}

static double
fl(double s)
{
	return s > AM_ANOMALY_FLOOR ? s : AM_ANOMALY_FLOOR;
}

static uint32_t
baseline_score(const struct baseline *b, const double *q)
{
	double d[NB], a[2], z = 0;

	for (int i = 0; i < NB; i++)
		d[i] = q[i] - b->mean[i];
	for (int p = 0; p < 2; p++) {
		a[p] = dot(d, b->e[p]);
		z = fmax(z, fabs(a[p]) / fl(b->s[p]));
	}
	for (int i = 0; i < NB; i++) {
		double r = d[i] - a[0] * b->e[0][i] - a[1] * b->e[1][i];
		z = fmax(z, fabs(r) / fl(b->rs[i]));
	}
	z *= 1000;
	return z > 4e9 ? 4000000000u : (uint32_t)z;
}

uint32_t
am_anomaly_score(const double *q, const double (*hist)[NB], int n, uint32_t *p50, uint32_t *p90)
{
	struct baseline b;

	baseline_build(&b, hist, n);
	if (p50)
		*p50 = b.p50;
	if (p90)
		*p90 = b.p90;
	return n < 2 ? 0 : baseline_score(&b, q);
}

/* ------------------------------------------------------------------ rows */

static size_t
row_index(const void *elem, am_subid *buf)
{
	const struct row *r = elem;

	return am_mib_index_sig(&r->addr, r->port, r->sig, buf);
}

static struct row *
row_get(struct am_anomaly *an, const struct am_addr *addr, uint16_t port, uint32_t sig)
{
	am_subid idx[AM_OID_MAX];
	size_t len = am_mib_index_sig(addr, port, sig, idx);
	size_t pos = am_mib_lower_bound(an->rows, an->n, sizeof(*an->rows), row_index, idx, len, 0);
	struct row *r;

	if (pos < an->n) {
		am_subid me[AM_OID_MAX];
		size_t ml = row_index(&an->rows[pos], me);
		if (am_oid_cmp(me, ml, idx, len) == 0)
			return &an->rows[pos];
	}
	if (an->n == an->cap) {
		an->cap = an->cap ? an->cap * 2 : 16;
		an->rows = am_xrealloc(an->rows, an->cap * sizeof(*an->rows));
	}
	memmove(&an->rows[pos + 1], &an->rows[pos], (an->n - pos) * sizeof(*an->rows));
	an->n++;
	r = &an->rows[pos];
	memset(r, 0, sizeof(*r));
	r->addr = *addr;
	r->port = port;
	r->sig = sig;
	r->state = 1;
	r->hour = -1;
	return r;
}

/* The store key of a row's quantile function for an interval. */
static void
qf_key(uint8_t *k, const struct am_addr *addr, uint16_t port, uint32_t sig, am_time_t start)
{
	uint64_t t = (uint64_t)(start / AM_USEC);

	k[0] = addr->family;
	memcpy(k + 1, addr->a, 16);
	k[17] = (uint8_t)(port >> 8);
	k[18] = (uint8_t)port;
	for (int i = 0; i < 4; i++)
		k[19 + i] = (uint8_t)(sig >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		k[23 + i] = (uint8_t)(t >> (56 - 8 * i));
}

static struct qf_put *
qf_add(struct am_anomaly *an)
{
	if (an->npend == an->cappend) {
		an->cappend = an->cappend ? an->cappend * 2 : 64;
		an->pend = am_xrealloc(an->pend, an->cappend * sizeof(*an->pend));
	}
	return &an->pend[an->npend++];
}

/* Keeps q (and drops the one AM_ANOMALY_KEEP_DAYS older) at the next flush. */
static void
qf_keep(struct am_anomaly *an, const struct row *r, am_time_t start, const double *q, uint64_t n)
{
	struct qf_put *p;
	uint8_t *v;

	if (an->st == NULL)
		return;
	p = qf_add(an);
	p->table = AM_AUX_BASELINE;
	p->klen = QF_KLEN;
	qf_key(p->key, &r->addr, r->port, r->sig, start);
	v = p->val;
	*v++ = 1;
	n = n > UINT32_MAX ? UINT32_MAX : n;
	for (int i = 0; i < 4; i++)
		*v++ = (uint8_t)(n >> (24 - 8 * i));
	for (int i = 0; i < NB; i++) {
		double x = q[i] * 1000 + 0.5;
		uint16_t u = (uint16_t)(x < 0 ? 0 : x > 65535 ? 65535 : x);
		*v++ = (uint8_t)(u >> 8);
		*v++ = (uint8_t)u;
	}
	p->vlen = QF_VLEN;
	p = qf_add(an);
	p->table = AM_AUX_BASELINE;
	p->klen = QF_KLEN;
	qf_key(p->key, &r->addr, r->port, r->sig, start - (am_time_t)AM_ANOMALY_KEEP_DAYS * DAY_US);
	p->vlen = 0;
}

/* Keeps a row's state at the next flush. */
static void
state_keep(struct am_anomaly *an, const struct row *r)
{
	struct qf_put *p;
	uint8_t *v;
	uint32_t u[3] = { r->score, r->beyond, r->within };
	uint64_t t = (uint64_t)r->last_change;

	if (an->st == NULL)
		return;
	p = qf_add(an);
	p->table = AUX_ANOMALY_STATE;
	p->klen = ST_KLEN;
	qf_key(p->key, &r->addr, r->port, r->sig, 0);
	v = p->val;
	*v++ = 1;
	*v++ = (uint8_t)r->state;
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 4; i++)
			*v++ = (uint8_t)(u[k] >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		*v++ = (uint8_t)(t >> (56 - 8 * i));
	p->vlen = ST_VLEN;
}

static struct row *row_get(struct am_anomaly *an, const struct am_addr *addr, uint16_t port,
    uint32_t sig);

static int
state_load_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct am_anomaly *an = ctx;
	const uint8_t *k = key, *v = val;
	struct am_addr addr;
	struct row *r;
	uint32_t u[3];
	uint64_t t = 0;

	if (klen != ST_KLEN || vlen != ST_VLEN || v[0] != 1 || v[1] < 1 || v[1] > 3)
		return 0;
	memset(&addr, 0, sizeof(addr));
	addr.family = k[0];
	memcpy(addr.a, k + 1, 16);
	r = row_get(an, &addr, (uint16_t)(k[17] << 8 | k[18]),
	    (uint32_t)k[19] << 24 | (uint32_t)k[20] << 16 | (uint32_t)k[21] << 8 | k[22]);
	for (int i = 0; i < 3; i++)
		u[i] = (uint32_t)v[2 + 4 * i] << 24 | (uint32_t)v[3 + 4 * i] << 16 |
		    (uint32_t)v[4 + 4 * i] << 8 | v[5 + 4 * i];
	for (int i = 0; i < 8; i++)
		t = t << 8 | v[14 + i];
	r->state = v[1];
	r->score = u[0];
	r->beyond = u[1];
	r->within = u[2];
	r->last_change = (am_time_t)t;
	return 0;
}

static int
qf_read(struct am_anomaly *an, const struct row *r, am_time_t start, double *q, uint64_t *n)
{
	uint8_t k[QF_KLEN], v[QF_VLEN];
	size_t len = sizeof(v);

	qf_key(k, &r->addr, r->port, r->sig, start);
	if (am_store_aux_get(an->st, AM_AUX_BASELINE, k, sizeof(k), v, &len) != 0 ||
	    len != QF_VLEN || v[0] != 1)
		return -1;
	*n = (uint64_t)v[1] << 24 | (uint64_t)v[2] << 16 | (uint64_t)v[3] << 8 | v[4];
	for (int i = 0; i < NB; i++)
		q[i] = (double)((uint16_t)(v[5 + 2 * i] << 8 | v[6 + 2 * i])) / 1000;
	return 0;
}

int
am_anomaly_flush(void *ctx, struct am_store_w *w)
{
	struct am_anomaly *an = ctx;
	struct am_store_info si;

	if (an->st == NULL)
		return 0;
	/* A new flush (not a retry of the last): what the last one was given
	 * is committed. */
	if (am_store_info(an->st, &si) == 0 && si.flushes != an->sent_flushes) {
		struct qf_put *t = an->sent;
		size_t c = an->capsent;
		an->sent = an->pend;
		an->capsent = an->cappend;
		an->nsent = an->npend;
		an->pend = t;
		an->cappend = c;
		an->npend = 0;
		an->sent_flushes = si.flushes;
	}
	for (size_t i = 0; i < an->nsent; i++) {
		const struct qf_put *p = &an->sent[i];
		if (am_store_aux_put(w, p->table, p->key, p->klen, p->vlen ? p->val : NULL,
		    p->vlen) < 0)
			return -1;
	}
	return 0;
}

/* The past intervals of the same hour of day over the last days. */
static void
load_baseline(struct am_anomaly *an, struct row *r, am_time_t start, uint32_t interval_s)
{
	am_time_t hour0 = start - start % HOUR_US, step = (am_time_t)interval_s * AM_USEC;
	int cap = (int)an->cfg.days * (int)((HOUR_US + step - 1) / step), n = 0;
	double (*hist)[NB] = am_xcalloc((size_t)(cap > 0 ? cap : 1), sizeof(*hist));

	for (uint32_t d = 1; an->st && d <= an->cfg.days; d++) {
		am_time_t from = hour0 - (am_time_t)d * DAY_US;
		/* interval starts are multiples of the interval length */
		am_time_t s = from - from % step;
		if (s < from)
			s += step;
		for (; s < from + HOUR_US && n < cap; s += step) {
			uint64_t count;
			if (qf_read(an, r, s, hist[n], &count) == 0 && count >= an->cfg.min_txns)
				n++;
		}
	}
	baseline_build(&r->b, (const double (*)[NB])hist, n);
	r->hour = start / HOUR_US;
	free(hist);
}

static void
notify(struct am_anomaly *an, const struct row *r, const char *name, int detected, am_time_t end)
{
	struct am_mib_notification nt;

	if (an->cb == NULL)
		return;
	am_mib_notify_init(&nt, detected ? AM_NT_ANOMALY_DETECTED : AM_NT_ANOMALY_CLEARED);
	am_mib_notify_server(&nt, &r->addr, r->port);
	am_mib_notify_str(&nt, AM_NO_SIGNATURE, name ? name : "");
	am_mib_notify_u32(&nt, AM_NO_VALUE, r->score);
	am_mib_notify_u32(&nt, AM_NO_THRESHOLD, an->cfg.bound);
	am_mib_notify_date(&nt, AM_NO_INTERVAL_END, end);
	an->cb(an->ctx, &nt);
}

void
am_anomaly_eval(struct am_anomaly *an, am_time_t start, uint32_t interval_s,
    const struct am_addr *addr, uint16_t port, uint32_t sig, const char *sig_name,
    const uint32_t *key_ids, int nkeys, const struct am_rec *rec)
{
	struct row *r;
	am_time_t end = start + (am_time_t)interval_s * AM_USEC;
	double q[NB];

	/* the row's quantile functions are kept by row, not by store key */
	(void)key_ids;
	(void)nkeys;
	/* too few transactions: not scored, no baseline read, no row made
	 * (the table shows such rows as learning) */
	if (rec->t[AM_T_FIRST].count < an->cfg.min_txns || am_anomaly_qf(&rec->t[AM_T_FIRST], q) < 0)
		return;
	r = row_get(an, addr, port, sig);
	qf_keep(an, r, start, q, rec->t[AM_T_FIRST].count);
	if (r->hour != start / HOUR_US) {
		am_time_t t0;
		if (an->spent >= an->budget) {
			an->deferred++;
			return;
		}
		t0 = am_now_mono();
		load_baseline(an, r, start, interval_s);
		an->spent += am_now_mono() - t0;
	}
	if (r->b.n < (int)an->cfg.min_history) {
		if (r->state == 3)
			notify(an, r, sig_name, 0, end);
		if (r->state != 1)
			r->last_change = end;
		r->state = 1;
		r->score = 0;
		r->beyond = r->within = 0;
		state_keep(an, r);
		return;
	}
	r->score = baseline_score(&r->b, q);
	log_debug("alarm", "anomaly: signature %u at %lld: score %u (history %d, baseline p50 %u p90 %u)",
	    r->sig, (long long)(start / AM_USEC), r->score, r->b.n, r->b.p50, r->b.p90);
	if (r->score > an->cfg.bound) {
		r->beyond++;
		r->within = 0;
	} else {
		r->within++;
		r->beyond = 0;
	}
	if (r->state == 1) {
		r->state = 2;
		r->last_change = end;
	}
	if (r->state == 2 && r->beyond >= an->cfg.intervals) {
		r->state = 3;
		r->last_change = end;
		log_info("alarm", "anomaly detected: signature %s (%u), score %u", sig_name, r->sig, r->score);
		notify(an, r, sig_name, 1, end);
	} else if (r->state == 3 && r->within >= an->cfg.intervals) {
		r->state = 2;
		r->last_change = end;
		log_info("alarm", "anomaly cleared: signature %s (%u), score %u", sig_name, r->sig, r->score);
		notify(an, r, sig_name, 0, end);
	}
	state_keep(an, r);
}

int
am_anomaly_row(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_anomaly_row *out)
{
	struct am_anomaly *an = ctx;
	size_t pos = am_mib_lower_bound(an->rows, an->n, sizeof(*an->rows), row_index, idx, len, after);
	const struct row *r;

	if (pos >= an->n)
		return 0;
	r = &an->rows[pos];
	memset(out, 0, sizeof(*out));
	out->addr = r->addr;
	out->port = r->port;
	out->id = r->sig;
	out->state = r->state;
	out->score = r->score;
	out->base_p50 = r->b.n >= 2 ? r->b.p50 : 0;
	out->base_p90 = r->b.n >= 2 ? r->b.p90 : 0;
	out->history = (uint32_t)r->b.n;
	out->beyond = r->beyond;
	out->last_change = r->last_change;
	return 1;
}
