/* artmonAlarmTable rows and their RowStatus life cycle: see alarms.h. */
#include "config.h"
#include "agent/alarms.h"
#include "agent/anomaly.h"
#include "store/agg.h"
#include "common/log.h"
#include "rules/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a hash entry is about: an alarm (0 for the interval's sums), a
 * server and port, a signature id (0: the server row). */
struct hkey {
	uint32_t alarm, sig;
	uint16_t port;
	uint8_t family, pad;
	uint8_t a[16];
};

/* One server or signature row's sums over the interval being summed. */
struct acc {
	struct hkey k;
	char name[AM_NAME_MAX];
	uint32_t keys[AM_ANOMALY_MAX_KEYS];
	int nkeys;
	struct am_rec rec;
};

/* One alarm on one targeted row (artmonAlarmStatusEntry). */
struct status {
	struct hkey k;
	uint32_t value;
	int last_event;            /* 1 none, 2 rising, 3 falling */
	am_time_t last_change, last_sent;
	int evaluated;
	uint32_t fp;               /* fingerprint of the alarm row it was judged for */
	uint8_t dirty, inflight;   /* to store; given to a flush not known committed */
};

/* Open addressing over positions in an array (+1; 0: empty). */
struct hindex {
	uint32_t *slot;
	size_t cap;                /* power of two */
};

struct am_alarms {
	struct am_mib_alarm_row *rows;    /* sorted by index */
	int n;
	uint64_t *armed;           /* per row: the first feed it is judged on */
	uint64_t feed_seq;         /* intervals whose feed started */
	int feeding;               /* am_alarms_set_feeding */
	am_alarms_change_cb cb;
	void *ctx;
	/* evaluation */
	am_alarms_notify_cb ncb;
	void *nctx;
	struct am_anomaly *anomaly;
	uint32_t loss_bound, held_back, last_loss;
	int loss_high;
	uint64_t packets, drops, packets_seen, drops_seen;
	am_time_t acc_start;       /* interval being summed, -1 none */
	uint32_t acc_len;
	uint64_t acc_bytes, acc_gap;
	uint64_t conn_gap;         /* gaps of ended connections, not yet in an interval */
	size_t anomaly_turn;       /* first row of the next anomaly pass */
	int64_t grace;             /* see am_alarms_due */
	struct acc *acc;
	size_t nacc, capacc;       /* capacc entries have an initialised record */
	struct hindex acc_ix;
	struct status *st;
	size_t nst, capst;
	struct hindex st_ix;
	/* the signature table that artmonAnomalyTable AUGMENTS */
	int (*sigprov)(void *ctx, const am_subid *idx, size_t len, int after,
	    struct am_mib_sig_row *out);
	void *sigctx;
	/* persistence */
	struct am_store *store;
	uint32_t *dirty;           /* indexes whose stored copy is out of date */
	size_t ndirty;
	/* hysteresis states in the store: keys to delete (new, and given to a
	 * flush), and the store's flush count at the last flush callback */
	struct hkey *gone, *gone_sent;
	size_t ngone, ngone_sent;
	uint64_t flushes_seen;
};

struct am_alarms *
am_alarms_new(void)
{
	struct am_alarms *a = am_xcalloc(1, sizeof(*a));

	a->rows = am_xcalloc(AM_ALARMS_MAX, sizeof(*a->rows));
	a->armed = am_xcalloc(AM_ALARMS_MAX, sizeof(*a->armed));
	a->acc_start = -1;
	a->grace = 11 * AM_USEC;
	return a;
}

void
am_alarms_free(struct am_alarms *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->capacc; i++)
		am_rec_free(&a->acc[i].rec);
	free(a->acc);
	free(a->acc_ix.slot);
	free(a->st);
	free(a->st_ix.slot);
	free(a->dirty);
	free(a->gone);
	free(a->gone_sent);
	free(a->rows);
	free(a->armed);
	free(a);
}

void
am_alarms_set_feeding(struct am_alarms *a, int on)
{
	a->feeding = on;
}

void
am_alarms_on_change(struct am_alarms *a, am_alarms_change_cb cb, void *ctx)
{
	a->cb = cb;
	a->ctx = ctx;
}

static int
find(const struct am_alarms *a, uint32_t index, int *pos)
{
	int lo = 0, hi = a->n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (a->rows[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return lo < a->n && a->rows[lo].index == index;
}

static void drop_status(struct am_alarms *a, uint32_t alarm);

int
am_alarms_put(struct am_alarms *a, const struct am_mib_alarm_row *row)
{
	int pos;

	if (row->index == 0 || row->index > 65535)
		return -1;
	/* A row created or changed while an interval's keys are being fed
	 * would see only the keys fed after it: judged from the next feed. */
	uint64_t armed = a->feed_seq + (a->feeding ? 1 : 0);

	if (find(a, row->index, &pos)) {
		/* a changed row starts over on every target */
		if (memcmp(&a->rows[pos], row, sizeof(*row)) != 0) {
			drop_status(a, row->index);
			a->armed[pos] = armed;
		}
		a->rows[pos] = *row;
		return 0;
	}
	if (a->n >= AM_ALARMS_MAX)
		return -1;
	memmove(&a->rows[pos + 1], &a->rows[pos], (size_t)(a->n - pos) * sizeof(*a->rows));
	memmove(&a->armed[pos + 1], &a->armed[pos], (size_t)(a->n - pos) * sizeof(*a->armed));
	a->rows[pos] = *row;
	a->armed[pos] = armed;
	a->n++;
	return 0;
}

static void
remove_at(struct am_alarms *a, int pos)
{
	drop_status(a, a->rows[pos].index);
	memmove(&a->rows[pos], &a->rows[pos + 1], (size_t)(a->n - pos - 1) * sizeof(*a->rows));
	memmove(&a->armed[pos], &a->armed[pos + 1], (size_t)(a->n - pos - 1) * sizeof(*a->armed));
	a->n--;
}

void
am_alarms_remove_storage(struct am_alarms *a, int storage)
{
	for (int i = a->n - 1; i >= 0; i--)
		if (a->rows[i].storage == storage)
			remove_at(a, i);
}

int
am_alarms_get(const struct am_alarms *a, uint32_t index, struct am_mib_alarm_row *out)
{
	int pos;

	if (!find(a, index, &pos))
		return -1;
	*out = a->rows[pos];
	return 0;
}

int
am_alarms_count(const struct am_alarms *a)
{
	return a->n;
}

void
am_alarms_row_default(struct am_mib_alarm_row *row, uint32_t index)
{
	memset(row, 0, sizeof(*row));
	row->index = index;
	row->timing = 2;            /* first */
	row->startup = 1;           /* risingAlarm */
	row->min_txns = 10;
	row->storage = AM_STORAGE_NONVOLATILE;
	row->status = AM_RS_NOT_READY;
	row->missing = AM_ALARM_MISSING_STATISTIC | AM_ALARM_MISSING_RISING | AM_ALARM_MISSING_FALLING;
}

int
am_alarms_row_complete(const struct am_mib_alarm_row *r)
{
	size_t want;

	if (r->missing || r->statistic < 1 || r->statistic > 8)
		return 0;
	if (r->rising < r->falling)
		return 0;
	/* transactions, errorRate and captureLoss take no timing; the others one */
	if (r->statistic >= 6 ? r->timing != 1 : (r->timing < 2 || r->timing > 6))
		return 0;
	want = r->target.family == AM_AF_INET ? 4 : r->target.family == AM_AF_INET6 ? 16 : 0;
	return r->target_len == want;
}

/* ------------------------------------------------------------------ SET */

/* One row touched by a request, worked on as a copy. */
struct work {
	uint32_t index;
	int existed, destroy;
	int rs;                     /* RowStatus written, 0 none */
	struct am_mib_alarm_row row;
};

static int
apply_column(struct am_mib_alarm_row *r, const struct am_mib_set_vb *vb)
{
	const struct am_mib_value *v = &vb->v;

	switch (vb->col) {
	case AM_ALC_DESCR:
		memcpy(r->descr, v->s, v->len);
		r->descr[v->len] = 0;
		break;
	case AM_ALC_ADDR_TYPE:
		if (v->i != 0 && v->i != 1 && v->i != 2)
			return AM_ERR_WRONG_VALUE;
		r->target.family = v->i == 1 ? AM_AF_INET : v->i == 2 ? AM_AF_INET6 : 0;
		break;
	case AM_ALC_ADDR:
		memset(r->target.a, 0, sizeof(r->target.a));
		memcpy(r->target.a, v->s, v->len);
		r->target_len = (uint8_t)v->len;
		break;
	case AM_ALC_PORT:
		r->target_port = (uint16_t)v->u;
		break;
	case AM_ALC_SIGNATURE:
		memcpy(r->target_sig, v->s, v->len);
		r->target_sig[v->len] = 0;
		break;
	case AM_ALC_STATISTIC:
		if (v->i < 1 || v->i > 8)
			return AM_ERR_WRONG_VALUE;
		r->statistic = (int)v->i;
		r->missing &= (uint8_t)~AM_ALARM_MISSING_STATISTIC;
		break;
	case AM_ALC_TIMING:
		if (v->i < 1 || v->i > 6)
			return AM_ERR_WRONG_VALUE;
		r->timing = (int)v->i;
		break;
	case AM_ALC_RISING:
		r->rising = (uint32_t)v->u;
		r->missing &= (uint8_t)~AM_ALARM_MISSING_RISING;
		break;
	case AM_ALC_FALLING:
		r->falling = (uint32_t)v->u;
		r->missing &= (uint8_t)~AM_ALARM_MISSING_FALLING;
		break;
	case AM_ALC_STARTUP:
		if (v->i < 1 || v->i > 3)
			return AM_ERR_WRONG_VALUE;
		r->startup = (int)v->i;
		break;
	case AM_ALC_MIN_TXNS:
		r->min_txns = (uint32_t)v->u;
		break;
	case AM_ALC_RATE_LIMIT:
		r->rate_limit = (uint32_t)v->u;
		break;
	case AM_ALC_STORAGE:
		/* readOnly belongs to the configuration file */
		if (v->i != AM_STORAGE_VOLATILE && v->i != AM_STORAGE_NONVOLATILE)
			return AM_ERR_WRONG_VALUE;
		r->storage = (int)v->i;
		break;
	default:
		return AM_ERR_NOT_WRITABLE;
	}
	return AM_ERR_NONE;
}

static int
alarm_set(void *ctx, const struct am_mib_set_vb *vbs, int n, int commit, int *bad)
{
	struct am_alarms *a = ctx;
	struct work *w = am_xcalloc((size_t)(n > 0 ? n : 1), sizeof(*w));
	int nw = 0, err = AM_ERR_NONE, pos, created = 0;

	*bad = 0;
	/* Gather the rows and the RowStatus written to each. */
	for (int i = 0; i < n && !err; i++) {
		struct work *x = NULL;
		for (int k = 0; k < nw; k++)
			if (w[k].index == vbs[i].index)
				x = &w[k];
		if (x == NULL) {
			x = &w[nw++];
			x->index = vbs[i].index;
			x->existed = find(a, x->index, &pos);
			if (x->existed)
				x->row = a->rows[pos];
			else
				am_alarms_row_default(&x->row, x->index);
		}
		if (x->existed && x->row.storage == AM_STORAGE_READONLY)
			err = AM_ERR_NOT_WRITABLE;
		else if (vbs[i].col == AM_ALC_STATUS) {
			int64_t rs = vbs[i].v.i;
			if (x->rs)
				err = AM_ERR_INCONSISTENT_VALUE;      /* twice in one request */
			else if (rs < AM_RS_ACTIVE || rs > AM_RS_DESTROY || rs == AM_RS_NOT_READY)
				err = AM_ERR_WRONG_VALUE;
			else if (x->existed && (rs == AM_RS_CREATE_AND_GO || rs == AM_RS_CREATE_AND_WAIT))
				err = AM_ERR_INCONSISTENT_VALUE;
			else if (!x->existed && (rs == AM_RS_ACTIVE || rs == AM_RS_NOT_IN_SERVICE))
				err = AM_ERR_INCONSISTENT_VALUE;
			else
				x->rs = (int)rs;
		}
		if (err)
			*bad = i;
	}
	/* Columns of rows that do not exist need a creating RowStatus. */
	for (int i = 0; i < n && !err; i++) {
		struct work *x = NULL;
		for (int k = 0; k < nw; k++)
			if (w[k].index == vbs[i].index)
				x = &w[k];
		if (!x->existed && x->rs != AM_RS_CREATE_AND_GO && x->rs != AM_RS_CREATE_AND_WAIT &&
		    x->rs != AM_RS_DESTROY)
			err = AM_ERR_NO_CREATION;
		else if (vbs[i].col != AM_ALC_STATUS) {
			/* An active row changes only when the same request takes it
			 * out of service or destroys it. */
			if (x->existed && x->row.status == AM_RS_ACTIVE && x->rs != AM_RS_NOT_IN_SERVICE &&
			    x->rs != AM_RS_DESTROY)
				err = AM_ERR_INCONSISTENT_VALUE;
			else
				err = apply_column(&x->row, &vbs[i]);
		}
		if (err)
			*bad = i;
	}
	/* The status each row ends with. */
	for (int k = 0; k < nw && !err; k++) {
		struct work *x = &w[k];
		int complete = am_alarms_row_complete(&x->row);
		switch (x->rs) {
		case AM_RS_DESTROY:
			x->destroy = 1;
			break;
		case AM_RS_CREATE_AND_GO:
		case AM_RS_ACTIVE:
			if (!complete)
				err = AM_ERR_INCONSISTENT_VALUE;
			x->row.status = AM_RS_ACTIVE;
			break;
		case AM_RS_CREATE_AND_WAIT:
			x->row.status = complete ? AM_RS_NOT_IN_SERVICE : AM_RS_NOT_READY;
			break;
		case AM_RS_NOT_IN_SERVICE:
			if (!complete)
				err = AM_ERR_INCONSISTENT_VALUE;
			x->row.status = AM_RS_NOT_IN_SERVICE;
			break;
		default:
			if (x->row.status != AM_RS_ACTIVE)
				x->row.status = complete ? AM_RS_NOT_IN_SERVICE : AM_RS_NOT_READY;
			break;
		}
		if (!x->existed && !x->destroy)
			created++;
		if (err)
			for (int i = 0; i < n; i++)
				if (vbs[i].index == x->index) {
					*bad = i;
					break;
				}
	}
	if (!err && a->n + created > AM_ALARMS_MAX)
		err = AM_ERR_RESOURCE_UNAVAILABLE;
	if (!err && commit) {
		for (int k = 0; k < nw; k++) {
			struct work *x = &w[k];
			if (x->destroy) {
				if (find(a, x->index, &pos)) {
					remove_at(a, pos);
					if (a->cb)
						a->cb(a->ctx, &x->row, 1);
				}
				continue;
			}
			am_alarms_put(a, &x->row);
			if (a->cb)
				a->cb(a->ctx, &x->row, 0);
		}
	}
	free(w);
	return err;
}

static int
prov_alarm(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_alarm_row *out)
{
	struct am_alarms *a = ctx;

	for (int i = 0; i < a->n; i++) {
		am_subid me = a->rows[i].index;
		int c = am_oid_cmp(&me, 1, idx, len);
		if (c < 0 || (after && c == 0))
			continue;
		*out = a->rows[i];
		return 1;
	}
	return 0;
}

static int prov_status(void *ctx, const am_subid *idx, size_t len, int after,
    struct am_mib_alarm_status_row *out);
static int prov_anomaly(void *ctx, const am_subid *idx, size_t len, int after,
    struct am_mib_anomaly_row *out);

void
am_alarms_tables(struct am_alarms *a, struct am_mib_tables *out)
{
	out->alarm_ctx = a;
	out->alarm = prov_alarm;
	out->alarm_set = alarm_set;
	out->eval_ctx = a;
	out->alarm_status = prov_status;
	out->anomaly = prov_anomaly;
	/* set by the aggregates' view before (am_aggview_tables) */
	a->sigprov = out->signature;
	a->sigctx = out->ctx;
}

/* ------------------------------------------------------------ evaluation */

static uint32_t
hk_hash(const struct hkey *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void
hk_make(struct hkey *k, uint32_t alarm, const struct am_addr *addr, uint16_t port, uint32_t sig)
{
	memset(k, 0, sizeof(*k));
	k->alarm = alarm;
	k->sig = sig;
	k->port = port;
	if (addr) {
		k->family = addr->family;
		memcpy(k->a, addr->a, sizeof(k->a));
	}
}

static void
hk_addr(const struct hkey *k, struct am_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = k->family;
	memcpy(out->a, k->a, sizeof(out->a));
}

/* Position of key in base (elements of `size` bytes starting with a struct
 * hkey), or -1; with add, the slot where to put it (*slotp). */
static long
hx_find(const struct hindex *ix, const void *base, size_t size, const struct hkey *k, uint32_t **slotp)
{
	if (ix->cap == 0)
		return -1;
	for (size_t i = hk_hash(k) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
		uint32_t v = ix->slot[i];
		if (v == 0) {
			if (slotp)
				*slotp = &ix->slot[i];
			return -1;
		}
		if (memcmp((const char *)base + (v - 1) * size, k, sizeof(*k)) == 0)
			return (long)v - 1;
	}
}

static void
hx_rebuild(struct hindex *ix, const void *base, size_t size, size_t n)
{
	size_t want = 16;

	while (want < n * 2 + 2)
		want *= 2;
	if (want != ix->cap) {
		free(ix->slot);
		ix->slot = am_xcalloc(want, sizeof(*ix->slot));
		ix->cap = want;
	} else
		memset(ix->slot, 0, want * sizeof(*ix->slot));
	for (size_t j = 0; j < n; j++) {
		uint32_t *slot = NULL;
		hx_find(ix, base, size, (const struct hkey *)((const char *)base + j * size), &slot);
		*slot = (uint32_t)j + 1;
	}
}

static void
drop_status(struct am_alarms *a, uint32_t alarm)
{
	size_t w = 0;

	for (size_t i = 0; i < a->nst; i++) {
		if (a->st[i].k.alarm != alarm) {
			a->st[w++] = a->st[i];
			continue;
		}
		if (a->store) {
			a->gone = am_xrealloc(a->gone, (a->ngone + 1) * sizeof(*a->gone));
			a->gone[a->ngone++] = a->st[i].k;
		}
	}
	if (w != a->nst) {
		a->nst = w;
		hx_rebuild(&a->st_ix, a->st, sizeof(*a->st), a->nst);
	}
}

void
am_alarms_on_notify(struct am_alarms *a, am_alarms_notify_cb cb, void *ctx)
{
	a->ncb = cb;
	a->nctx = ctx;
}

void
am_alarms_set_anomaly(struct am_alarms *a, struct am_anomaly *an)
{
	a->anomaly = an;
}

void
am_alarms_set_loss_bound(struct am_alarms *a, uint32_t ppm)
{
	a->loss_bound = ppm;
}

void
am_alarms_set_grace(struct am_alarms *a, int64_t us)
{
	a->grace = us;
}

void
am_alarms_due(struct am_alarms *a, int64_t clock)
{
	if (a->acc_start >= 0 && clock >= a->acc_start + (am_time_t)a->acc_len * AM_USEC + a->grace)
		am_alarms_complete(a);
}

void
am_alarms_add_gap(struct am_alarms *a, int64_t last_ts, uint64_t bytes)
{
	if (a->acc_start >= 0 && last_ts < a->acc_start + (am_time_t)a->acc_len * AM_USEC)
		a->acc_gap += bytes;
	else
		a->conn_gap += bytes;
}

void
am_alarms_set_capture(struct am_alarms *a, uint64_t packets, uint64_t drops)
{
	a->packets = packets;
	a->drops = drops;
}

uint32_t
am_alarms_held_back(const struct am_alarms *a)
{
	return a->held_back;
}

uint32_t
am_alarms_last_loss(const struct am_alarms *a)
{
	return a->last_loss;
}

static int
is_timing_stat(int statistic)
{
	return statistic >= 1 && statistic <= 5;
}

int64_t
am_alarms_stat_value(const struct am_rec *rec, int statistic, int timing)
{
	const struct am_hist *h;
	uint64_t errors;
	double v;

	if (statistic == 6)
		return (int64_t)(rec->count > UINT32_MAX ? UINT32_MAX : rec->count);
	if (statistic == 7) {
		if (rec->count == 0)
			return -1;
		errors = rec->outcome[AM_OUT_RESET] + rec->outcome[AM_OUT_TIMEOUT] +
		    rec->outcome[AM_OUT_INCOMPLETE];
		return (int64_t)((double)errors * 1e6 / (double)rec->count + 0.5);
	}
	if (!is_timing_stat(statistic) || timing < 2 || timing > 6)
		return -1;
	h = &rec->t[timing - 2];
	if (h->count == 0)
		return -1;
	switch (statistic) {
	case 1: v = (double)am_hist_quantile(h, 0.50); break;
	case 2: v = (double)am_hist_quantile(h, 0.90); break;
	case 3: v = (double)am_hist_quantile(h, 0.99); break;
	case 4: v = am_hist_mean(h) + 0.5; break;
	default: v = (double)h->max; break;
	}
	return v > UINT32_MAX ? UINT32_MAX : (int64_t)v;
}

/* 1 when an active alarm may target this server row (sig 0) or signature. */
static int
row_targeted(const struct am_mib_alarm_row *r, const struct hkey *k, const char *name)
{
	if (r->status != AM_RS_ACTIVE || r->statistic == 8)
		return 0;
	if (r->target.family && (r->target.family != k->family ||
	    memcmp(r->target.a, k->a, sizeof(k->a)) != 0))
		return 0;
	if (r->target_port && r->target_port != k->port)
		return 0;
	if (k->sig == 0)
		return r->target_sig[0] == 0;
	if (r->target_sig[0] == 0)
		return 0;
	return strcmp(r->target_sig, "*") == 0 || strcmp(r->target_sig, name) == 0;
}

static struct acc *
acc_get(struct am_alarms *a, const struct hkey *k, const char *name)
{
	uint32_t *slot = NULL;
	long pos = hx_find(&a->acc_ix, a->acc, sizeof(*a->acc), k, &slot);
	struct acc *x;

	if (pos >= 0)
		return &a->acc[pos];
	if (a->nacc == a->capacc) {
		size_t nc = a->capacc ? a->capacc * 2 : 64;
		a->acc = am_xrealloc(a->acc, nc * sizeof(*a->acc));
		for (size_t i = a->capacc; i < nc; i++)
			am_rec_init(&a->acc[i].rec);
		a->capacc = nc;
	}
	x = &a->acc[a->nacc++];
	x->k = *k;
	snprintf(x->name, sizeof(x->name), "%s", name ? name : "");
	x->nkeys = 0;
	am_rec_reset(&x->rec);
	if (slot == NULL || a->nacc * 2 + 2 > a->acc_ix.cap)
		hx_rebuild(&a->acc_ix, a->acc, sizeof(*a->acc), a->nacc);
	else
		*slot = (uint32_t)a->nacc;
	return x;
}

void
am_alarms_close(void *ctx, int64_t start, uint32_t interval_s, const struct am_agg_row *row,
    const struct am_rec *rec)
{
	struct am_alarms *a = ctx;
	const struct am_agg_key *key = row->key;
	struct hkey k;
	int want_srv = 0, want_sig = 0;

	if (a->acc_start >= 0 && start != a->acc_start)
		am_alarms_complete(a);
	if (a->acc_start < 0) {
		a->acc_gap += a->conn_gap;
		a->conn_gap = 0;
		a->feed_seq++;
	}
	a->acc_start = start;
	a->acc_len = interval_s;
	a->acc_bytes += rec->bytes[0] + rec->bytes[1];
	if (key->overflow || key->server.family == 0)
		return;
	hk_make(&k, 0, &key->server, key->server_port, 0);
	for (int i = 0; i < a->n && !want_srv; i++)
		want_srv = row_targeted(&a->rows[i], &k, "");
	if (want_srv)
		am_rec_merge(&acc_get(a, &k, "")->rec, rec);
	if (row->sig_id == 0)
		return;
	k.sig = row->sig_id;
	want_sig = a->anomaly != NULL;
	for (int i = 0; i < a->n && !want_sig; i++)
		want_sig = row_targeted(&a->rows[i], &k, key->signature);
	if (want_sig) {
		struct acc *x = acc_get(a, &k, key->signature);
		am_rec_merge(&x->rec, rec);
		if (x->nkeys < AM_ANOMALY_MAX_KEYS)
			x->keys[x->nkeys++] = row->id;
	}
}

static struct status *
status_get(struct am_alarms *a, uint32_t alarm, const struct hkey *target)
{
	struct hkey k = *target;
	uint32_t *slot = NULL;
	long pos;

	k.alarm = alarm;
	pos = hx_find(&a->st_ix, a->st, sizeof(*a->st), &k, &slot);
	if (pos >= 0)
		return &a->st[pos];
	if (a->nst == a->capst) {
		a->capst = a->capst ? a->capst * 2 : 64;
		a->st = am_xrealloc(a->st, a->capst * sizeof(*a->st));
	}
	memset(&a->st[a->nst], 0, sizeof(*a->st));
	a->st[a->nst].k = k;
	a->st[a->nst].last_event = 1;
	a->nst++;
	if (slot == NULL || a->nst * 2 + 2 > a->st_ix.cap)
		hx_rebuild(&a->st_ix, a->st, sizeof(*a->st), a->nst);
	else
		*slot = (uint32_t)a->nst;
	return &a->st[a->nst - 1];
}

static void
send_alarm(struct am_alarms *a, const struct am_mib_alarm_row *r, const struct hkey *k,
    const char *name, int rising, uint32_t value, am_time_t end)
{
	struct am_mib_notification nt;
	struct am_addr addr;

	if (a->ncb == NULL)
		return;
	hk_addr(k, &addr);
	am_mib_notify_init(&nt, rising ? AM_NT_ALARM_RISING : AM_NT_ALARM_FALLING);
	am_mib_notify_u32(&nt, AM_NO_ALARM_INDEX, r->index);
	am_mib_notify_server(&nt, &addr, k->port);
	am_mib_notify_str(&nt, AM_NO_SIGNATURE, name);
	am_mib_notify_int(&nt, AM_NO_STATISTIC, r->statistic);
	am_mib_notify_int(&nt, AM_NO_TIMING, r->timing);
	am_mib_notify_u32(&nt, AM_NO_VALUE, value);
	am_mib_notify_u32(&nt, AM_NO_THRESHOLD, rising ? r->rising : r->falling);
	am_mib_notify_date(&nt, AM_NO_INTERVAL_END, end);
	a->ncb(a->nctx, &nt);
}

/* Identifies a row's definition (a changed row starts over). */
static uint32_t
row_fp(const struct am_mib_alarm_row *r)
{
	uint8_t buf[512];
	size_t n = am_alarms_row_encode(r, buf, sizeof(buf));
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ buf[i]) * 16777619u;
	return h;
}

/* RMON hysteresis for one alarm on one row with this interval's value. */
static void
judge(struct am_alarms *a, const struct am_mib_alarm_row *r, const struct hkey *k,
    const char *name, uint32_t value, am_time_t end)
{
	struct status *s = status_get(a, r->index, k);
	int ev = 0;

	s->value = value;
	if (!s->evaluated) {
		s->evaluated = 1;
		s->dirty = 1;
		s->fp = row_fp(r);
		if (value >= r->rising && (r->startup & 1))
			ev = 2;
		else if (value <= r->falling && (r->startup & 2))
			ev = 3;
	} else if (value >= r->rising && s->last_event != 2)
		ev = 2;
	else if (value <= r->falling && s->last_event == 2)
		ev = 3;
	if (ev == 0)
		return;
	s->last_event = ev;
	s->last_change = end;
	s->dirty = 1;
	log_info("alarm", "alarm %u %s: %s%svalue %u, threshold %u", r->index,
	    ev == 2 ? "rising" : "falling", name, name[0] ? ", " : "", value,
	    ev == 2 ? r->rising : r->falling);
	if (r->rate_limit && s->last_sent && end - s->last_sent < (am_time_t)r->rate_limit * AM_USEC)
		return;
	s->last_sent = end;
	send_alarm(a, r, k, name, ev == 2, value, end);
}

static void
loss_event(struct am_alarms *a, int rising, uint32_t loss, am_time_t end)
{
	struct am_mib_notification nt;

	if (a->ncb == NULL)
		return;
	am_mib_notify_init(&nt, rising ? AM_NT_LOSS_RISING : AM_NT_LOSS_FALLING);
	am_mib_notify_str(&nt, AM_NO_CAPTURE_NAME, "");
	am_mib_notify_u32(&nt, AM_NO_VALUE, loss);
	am_mib_notify_u32(&nt, AM_NO_THRESHOLD, a->loss_bound);
	am_mib_notify_date(&nt, AM_NO_INTERVAL_END, end);
	a->ncb(a->nctx, &nt);
}

void
am_alarms_complete(struct am_alarms *a)
{
	am_time_t end;
	double loss = 0;
	uint64_t dp, dd;
	int held;
	struct hkey sensor;

	if (a->acc_start < 0)
		return;
	end = a->acc_start + (am_time_t)a->acc_len * AM_USEC;
	/* capture loss: gap bytes of the interval's traffic plus kernel drops
	 * since the last evaluation, each as a share */
	if (a->acc_bytes + a->acc_gap > 0)
		loss += (double)a->acc_gap / (double)(a->acc_bytes + a->acc_gap);
	dp = a->packets - a->packets_seen;
	dd = a->drops - a->drops_seen;
	if (dp + dd > 0)
		loss += (double)dd / (double)(dp + dd);
	a->packets_seen = a->packets;
	a->drops_seen = a->drops;
	a->last_loss = loss >= 1 ? 1000000 : (uint32_t)(loss * 1e6 + 0.5);
	held = a->loss_bound > 0 && a->last_loss > a->loss_bound;
	log_debug("alarm", "interval %lld: capture loss %u ppm (gap %llu of %llu bytes, %llu of %llu "
	    "packets dropped)", (long long)(a->acc_start / AM_USEC), a->last_loss,
	    (unsigned long long)a->acc_gap, (unsigned long long)(a->acc_bytes + a->acc_gap),
	    (unsigned long long)dd, (unsigned long long)(dp + dd));
	if (a->loss_bound > 0 && held != a->loss_high) {
		a->loss_high = held;
		log_info("alarm", "capture loss %u ppm %s the bound of %u ppm%s", a->last_loss,
		    held ? "above" : "back within", a->loss_bound,
		    held ? ": response-time alarms held back" : "");
		loss_event(a, held, a->last_loss, end);
	}
	hk_make(&sensor, 0, NULL, 0, 0);
	for (int i = 0; i < a->n; i++) {
		struct am_mib_alarm_row *r = &a->rows[i];
		if (r->status != AM_RS_ACTIVE)
			continue;
		if (r->statistic == 8) {
			judge(a, r, &sensor, "", a->last_loss, end);
			continue;
		}
		if (a->armed[i] > a->feed_seq)
			continue;               /* created or changed while it was fed */
		for (size_t j = 0; j < a->nacc; j++) {
			struct acc *x = &a->acc[j];
			int64_t v;
			if (!row_targeted(r, &x->k, x->name))
				continue;
			if (x->rec.count < r->min_txns)
				continue;
			if (held && is_timing_stat(r->statistic)) {
				r->held_back++;
				a->held_back++;
				continue;
			}
			if ((v = am_alarms_stat_value(&x->rec, r->statistic, r->timing)) < 0)
				continue;
			judge(a, r, &x->k, x->name, (uint32_t)v, end);
		}
	}
	if (a->anomaly && !held && a->nacc > 0) {
		/* start where the last pass stopped, so that rows whose
		 * baseline waits for time are served in turn */
		size_t first = a->anomaly_turn % a->nacc;
		int seen_deferred = 0;
		am_anomaly_pass(a->anomaly);
		for (size_t i = 0; i < a->nacc; i++) {
			struct acc *x = &a->acc[(first + i) % a->nacc];
			struct am_addr addr;
			if (x->k.sig == 0)
				continue;
			hk_addr(&x->k, &addr);
			uint64_t before = am_anomaly_deferred(a->anomaly);
			am_anomaly_eval(a->anomaly, a->acc_start, a->acc_len, &addr, x->k.port, x->k.sig,
			    x->name, x->keys, x->nkeys, &x->rec);
			if (am_anomaly_deferred(a->anomaly) != before && !seen_deferred) {
				a->anomaly_turn = first + i;
				seen_deferred = 1;
			}
		}
	}
	a->nacc = 0;
	if (a->acc_ix.cap)
		memset(a->acc_ix.slot, 0, a->acc_ix.cap * sizeof(*a->acc_ix.slot));
	a->acc_start = -1;
	a->acc_bytes = a->acc_gap = 0;
}

static size_t
status_index(const void *elem, am_subid *buf)
{
	const struct status *s = elem;
	struct am_addr addr;

	hk_addr(&s->k, &addr);
	return am_mib_index_alarm_status(s->k.alarm, &addr, s->k.port, s->k.sig, buf);
}

static int
prov_status(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_alarm_status_row *out)
{
	struct am_alarms *a = ctx;
	const struct status *best = NULL;
	am_subid bi[AM_OID_MAX], me[AM_OID_MAX];
	size_t bl = 0;

	/* unsorted: the least index at or after idx */
	for (size_t i = 0; i < a->nst; i++) {
		size_t ml = status_index(&a->st[i], me);
		int c = am_oid_cmp(me, ml, idx, len);
		if (!a->st[i].evaluated || c < 0 || (after && c == 0))
			continue;
		if (best == NULL || am_oid_cmp(me, ml, bi, bl) < 0) {
			best = &a->st[i];
			memcpy(bi, me, ml * sizeof(*me));
			bl = ml;
		}
	}
	if (best == NULL)
		return 0;
	memset(out, 0, sizeof(*out));
	out->alarm = best->k.alarm;
	hk_addr(&best->k, &out->addr);
	out->port = best->k.port;
	out->sig = best->k.sig;
	out->value = best->value;
	out->last_event = best->last_event;
	out->last_change = best->last_change;
	return 1;
}

/* A row for every signature row (AUGMENTS): the detector's, or learning
 * with nothing scored yet. */
static int
prov_anomaly(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_anomaly_row *out)
{
	struct am_alarms *a = ctx;
	struct am_mib_sig_row *sr;
	am_subid me[AM_OID_MAX];
	size_t ml;
	int found;

	if (a->anomaly == NULL)
		return 0;
	if (a->sigprov == NULL)
		return am_anomaly_row(a->anomaly, idx, len, after, out);
	sr = am_xmalloc(sizeof(*sr));
	found = a->sigprov(a->sigctx, idx, len, after, sr);
	if (found) {
		ml = am_mib_index_sig(&sr->addr, sr->port, sr->id, me);
		if (!am_anomaly_row(a->anomaly, me, ml, 0, out) || out->id != sr->id ||
		    out->port != sr->port || memcmp(&out->addr, &sr->addr, sizeof(sr->addr)) != 0) {
			memset(out, 0, sizeof(*out));
			out->addr = sr->addr;
			out->port = sr->port;
			out->id = sr->id;
			out->state = 1;
		}
	}
	free(sr);
	return found;
}

/* ------------------------------------------------------------ encoding */

#define ROW_VERSION 1

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *
putstr(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	*p++ = (uint8_t)n;
	memcpy(p, s, n);
	return p + n;
}

size_t
am_alarms_row_encode(const struct am_mib_alarm_row *r, uint8_t *buf, size_t len)
{
	uint8_t tmp[512], *p = tmp;

	*p++ = ROW_VERSION;
	p = put32(p, r->index);
	p = putstr(p, r->descr);
	*p++ = r->target.family;
	*p++ = r->target_len;
	memcpy(p, r->target.a, 16);
	p += 16;
	p = put32(p, r->target_port);
	p = putstr(p, r->target_sig);
	*p++ = (uint8_t)r->statistic;
	*p++ = (uint8_t)r->timing;
	p = put32(p, r->rising);
	p = put32(p, r->falling);
	*p++ = (uint8_t)r->startup;
	p = put32(p, r->min_txns);
	p = put32(p, r->rate_limit);
	*p++ = (uint8_t)r->storage;
	*p++ = (uint8_t)r->status;
	*p++ = r->missing;
	if ((size_t)(p - tmp) > len)
		return 0;
	memcpy(buf, tmp, (size_t)(p - tmp));
	return (size_t)(p - tmp);
}

int
am_alarms_row_decode(struct am_mib_alarm_row *r, const uint8_t *b, size_t len)
{
	const uint8_t *p = b, *end = b + len;
	size_t n;

#define NEED(k) do { if ((size_t)(end - p) < (size_t)(k)) return -1; } while (0)
	memset(r, 0, sizeof(*r));
	NEED(5);
	if (*p++ != ROW_VERSION)
		return -1;
	r->index = get32(p);
	p += 4;
	NEED(1);
	n = *p++;
	NEED(n);
	if (n >= sizeof(r->descr))
		return -1;
	memcpy(r->descr, p, n);
	p += n;
	NEED(2 + 16 + 4 + 1);
	r->target.family = *p++;
	r->target_len = *p++;
	memcpy(r->target.a, p, 16);
	p += 16;
	r->target_port = (uint16_t)get32(p);
	p += 4;
	n = *p++;
	NEED(n);
	memcpy(r->target_sig, p, n);
	p += n;
	NEED(2 + 8 + 1 + 8 + 3);
	r->statistic = *p++;
	r->timing = *p++;
	r->rising = get32(p);
	r->falling = get32(p + 4);
	p += 8;
	r->startup = *p++;
	r->min_txns = get32(p);
	r->rate_limit = get32(p + 4);
	p += 8;
	r->storage = *p++;
	r->status = *p++;
	r->missing = *p++;
#undef NEED
	if (r->index == 0 || r->index > 65535 || r->storage != AM_STORAGE_NONVOLATILE ||
	    r->status < AM_RS_ACTIVE || r->status > AM_RS_NOT_READY)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ persistence */

static int
persist_one(struct am_alarms *a, uint32_t index)
{
	uint8_t key[4], buf[512];
	struct am_mib_alarm_row r;
	size_t n;

	put32(key, index);
	if (am_alarms_get(a, index, &r) == 0 && r.storage == AM_STORAGE_NONVOLATILE) {
		n = am_alarms_row_encode(&r, buf, sizeof(buf));
		return am_store_aux_write(a->store, AM_AUX_ALARM, key, sizeof(key), buf, n);
	}
	if (am_alarms_get(a, index, &r) == 0 && r.storage == AM_STORAGE_READONLY)
		return 0;
	return am_store_aux_write(a->store, AM_AUX_ALARM, key, sizeof(key), NULL, 0);
}

void
am_alarms_tick(struct am_alarms *a)
{
	size_t w = 0;

	for (size_t i = 0; i < a->ndirty; i++)
		if (persist_one(a, a->dirty[i]) < 0)
			a->dirty[w++] = a->dirty[i];
	a->ndirty = w;
}

static void
on_change_persist(void *ctx, const struct am_mib_alarm_row *row, int gone)
{
	struct am_alarms *a = ctx;

	(void)gone;
	if (a->store == NULL || row->storage == AM_STORAGE_READONLY)
		return;
	for (size_t i = 0; i < a->ndirty; i++)
		if (a->dirty[i] == row->index)
			return;
	if (persist_one(a, row->index) == 0)
		return;
	a->dirty = am_xrealloc(a->dirty, (a->ndirty + 1) * sizeof(*a->dirty));
	a->dirty[a->ndirty++] = row->index;
}

/* Hysteresis states (artmonAlarmStatusTable) in the store, so that a
 * restart does not send a rising notification again for a row that
 * already had one: aux table AUX_ALARM_STATE, written within flushes. */
#define AUX_ALARM_STATE (AM_AUX_USER + 1)
#define STATE_KLEN 27
#define STATE_VLEN 26

static void
state_key(uint8_t *k, const struct hkey *h)
{
	put32(k, h->alarm);
	k[4] = h->family;
	memcpy(k + 5, h->a, 16);
	k[21] = (uint8_t)(h->port >> 8);
	k[22] = (uint8_t)h->port;
	put32(k + 23, h->sig);
}

static uint8_t *
put64(uint8_t *p, uint64_t v)
{
	p = put32(p, (uint32_t)(v >> 32));
	return put32(p, (uint32_t)v);
}

static int
state_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct am_alarms *a = ctx;
	const uint8_t *k = key, *v = val;
	struct hkey h;
	struct status *s;

	if (klen != STATE_KLEN || vlen != STATE_VLEN || v[0] != 1)
		return 0;
	memset(&h, 0, sizeof(h));
	h.family = k[4];
	memcpy(h.a, k + 5, 16);
	h.port = (uint16_t)(k[21] << 8 | k[22]);
	h.sig = get32(k + 23);
	s = status_get(a, get32(k), &h);
	s->evaluated = 1;
	s->fp = get32(v + 1);
	s->last_event = v[5] >= 1 && v[5] <= 3 ? v[5] : 1;
	s->last_change = (am_time_t)((uint64_t)get32(v + 6) << 32 | get32(v + 10));
	s->last_sent = (am_time_t)((uint64_t)get32(v + 14) << 32 | get32(v + 18));
	s->value = get32(v + 22);
	return 0;
}

/* States of rows that are gone or changed since they were stored. */
static void
prune_states(struct am_alarms *a)
{
	for (size_t i = 0; i < a->nst; i++) {
		struct am_mib_alarm_row r;
		if (am_alarms_get(a, a->st[i].k.alarm, &r) < 0 || r.status != AM_RS_ACTIVE ||
		    row_fp(&r) != a->st[i].fp) {
			drop_status(a, a->st[i].k.alarm);
			i = (size_t)-1;     /* the array changed: start over */
		}
	}
}

int
am_alarms_flush(void *ctx, struct am_store_w *w)
{
	struct am_alarms *a = ctx;
	struct am_store_info si;
	uint8_t k[STATE_KLEN], v[STATE_VLEN], *p;

	if (a->store == NULL)
		return 0;
	/* A new flush (not a retry of the last one): what the last one was
	 * given is stored. */
	if (am_store_info(a->store, &si) == 0 && si.flushes != a->flushes_seen) {
		a->flushes_seen = si.flushes;
		for (size_t i = 0; i < a->nst; i++) {
			a->st[i].inflight = a->st[i].dirty;
			a->st[i].dirty = 0;
		}
		free(a->gone_sent);
		a->gone_sent = a->gone;
		a->ngone_sent = a->ngone;
		a->gone = NULL;
		a->ngone = 0;
	}
	for (size_t i = 0; i < a->ngone_sent; i++) {
		state_key(k, &a->gone_sent[i]);
		if (am_store_aux_put(w, AUX_ALARM_STATE, k, sizeof(k), NULL, 0) < 0)
			return -1;
	}
	for (size_t i = 0; i < a->nst; i++) {
		const struct status *s = &a->st[i];
		if (!s->inflight)
			continue;
		state_key(k, &s->k);
		p = v;
		*p++ = 1;
		p = put32(p, s->fp);
		*p++ = (uint8_t)s->last_event;
		p = put64(p, (uint64_t)s->last_change);
		p = put64(p, (uint64_t)s->last_sent);
		put32(p, s->value);
		if (am_store_aux_put(w, AUX_ALARM_STATE, k, sizeof(k), v, sizeof(v)) < 0)
			return -1;
	}
	return 0;
}

static int
load_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct am_alarms *a = ctx;
	struct am_mib_alarm_row r;

	if (klen != 4 || am_alarms_row_decode(&r, val, vlen) < 0) {
		log_warnx("alarm", "a stored alarm row cannot be read: skipped");
		return 0;
	}
	if (am_alarms_put(a, &r) < 0)
		log_warnx("alarm", "stored alarm %u: the table is full", r.index);
	return 0;
}

int
am_alarms_attach_store(struct am_alarms *a, struct am_store *st)
{
	int before = a->n;

	a->store = st;
	if (a->cb == NULL)
		am_alarms_on_change(a, on_change_persist, a);
	if (am_store_aux_walk(st, AM_AUX_ALARM, load_cb, a) < 0)
		return -1;
	if (am_store_aux_walk(st, AUX_ALARM_STATE, state_cb, a) < 0)
		return -1;
	{
		struct am_store_info si;
		if (am_store_info(st, &si) == 0)
			a->flushes_seen = si.flushes;
	}
	return a->n - before;
}

int
am_alarms_load_config(struct am_alarms *a, const struct am_settings *set)
{
	int skipped = 0;

	/* rows no longer in the file go; unchanged rows keep their state */
	for (int i = a->n - 1; i >= 0; i--) {
		int keep = 0;
		if (a->rows[i].storage != AM_STORAGE_READONLY)
			continue;
		for (uint32_t k = 0; set && k < set->nalarms && !keep; k++)
			keep = set->alarms[k].index == a->rows[i].index;
		if (!keep)
			remove_at(a, i);
	}
	for (uint32_t i = 0; set && i < set->nalarms; i++) {
		const struct am_alarm_conf *c = &set->alarms[i];
		struct am_mib_alarm_row r;
		if (am_alarms_get(a, c->index, &r) == 0 && r.storage != AM_STORAGE_READONLY) {
			log_warnx("alarm", "alarm %u of the configuration: a manager's row holds that "
			    "index; skipped", c->index);
			skipped++;
			continue;
		}
		am_alarms_row_default(&r, c->index);
		snprintf(r.descr, sizeof(r.descr), "%s", c->descr ? c->descr : "");
		r.target = c->server;
		r.target_len = c->server.family == AM_AF_INET ? 4 : c->server.family == AM_AF_INET6 ? 16 : 0;
		r.target_port = c->port;
		snprintf(r.target_sig, sizeof(r.target_sig), "%s", c->signature ? c->signature : "");
		r.statistic = c->statistic;
		r.timing = c->timing;
		r.rising = c->rising;
		r.falling = c->falling;
		r.startup = c->startup;
		r.min_txns = c->min_txns;
		r.rate_limit = c->rate_limit;
		r.storage = AM_STORAGE_READONLY;
		r.missing = 0;
		r.status = am_alarms_row_complete(&r) ? AM_RS_ACTIVE : AM_RS_NOT_READY;
		{
			struct am_mib_alarm_row old;
			if (am_alarms_get(a, c->index, &old) == 0)
				r.held_back = old.held_back;
		}
		if (am_alarms_put(a, &r) < 0)
			log_warnx("alarm", "alarm %u: the table is full", c->index);
	}
	prune_states(a);
	return skipped;
}
