/* artmonAlarmTable rows and their RowStatus life cycle: see alarms.h. */
#include "config.h"
#include "agent/alarms.h"

#include <stdlib.h>
#include <string.h>

struct am_alarms {
	struct am_mib_alarm_row *rows;    /* sorted by index */
	int n;
	am_alarms_change_cb cb;
	void *ctx;
};

struct am_alarms *
am_alarms_new(void)
{
	struct am_alarms *a = am_xcalloc(1, sizeof(*a));

	a->rows = am_xcalloc(AM_ALARMS_MAX, sizeof(*a->rows));
	return a;
}

void
am_alarms_free(struct am_alarms *a)
{
	if (a == NULL)
		return;
	free(a->rows);
	free(a);
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

int
am_alarms_put(struct am_alarms *a, const struct am_mib_alarm_row *row)
{
	int pos;

	if (row->index == 0 || row->index > 65535)
		return -1;
	if (find(a, row->index, &pos)) {
		a->rows[pos] = *row;
		return 0;
	}
	if (a->n >= AM_ALARMS_MAX)
		return -1;
	memmove(&a->rows[pos + 1], &a->rows[pos], (size_t)(a->n - pos) * sizeof(*a->rows));
	a->rows[pos] = *row;
	a->n++;
	return 0;
}

static void
remove_at(struct am_alarms *a, int pos)
{
	memmove(&a->rows[pos], &a->rows[pos + 1], (size_t)(a->n - pos - 1) * sizeof(*a->rows));
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

void
am_alarms_tables(struct am_alarms *a, struct am_mib_tables *out)
{
	out->alarm_ctx = a;
	out->alarm = prov_alarm;
	out->alarm_set = alarm_set;
}
