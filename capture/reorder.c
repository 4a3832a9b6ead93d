/* Reorder window of the live merge (see reorder.h): one ring of records per
 * source, each record a header and the frame's bytes, contiguous. */
#include "config.h"
#include "capture/reorder.h"

#include <stdlib.h>
#include <string.h>

struct rec {
	am_time_t ts;           /* packet time */
	am_time_t queued;       /* `now` when it was queued */
	uint32_t caplen, wirelen;
	int32_t dlt;
	uint32_t size;          /* header and data, rounded up to 8 */
};

#define REC_ALIGN 8
#define REC_HDR ((sizeof(struct rec) + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1))

/* Records are read in the order written.  Not wrapped: data in
 * [head, tail).  Wrapped: data in [head, end) then [0, tail). */
struct ring {
	uint8_t *buf;
	size_t cap;
	size_t head, tail, end;
	int wrapped;
	uint32_t n;
	int done;
	uint64_t queued, early, late;
};

struct am_reorder {
	int nsrc;
	am_time_t window;
	am_time_t clock;        /* packet time of the last frame released */
	int released;           /* clock is set */
	struct ring *rg;
};

size_t
am_reorder_min_bytes(uint32_t maxcap)
{
	return 4 * (REC_HDR + (((size_t)maxcap + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1)));
}

struct am_reorder *
am_reorder_new(int nsrc, size_t bytes, am_time_t window)
{
	struct am_reorder *r = am_xcalloc(1, sizeof(*r));

	if (nsrc < 1)
		nsrc = 1;
	bytes &= ~(size_t)(REC_ALIGN - 1);
	if (bytes < am_reorder_min_bytes(64))
		bytes = am_reorder_min_bytes(64);
	r->nsrc = nsrc;
	r->window = window > 0 ? window : 0;
	r->rg = am_xcalloc((size_t)nsrc, sizeof(*r->rg));
	for (int i = 0; i < nsrc; i++) {
		r->rg[i].buf = am_xmalloc(bytes);
		r->rg[i].cap = bytes;
	}
	return r;
}

void
am_reorder_free(struct am_reorder *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->nsrc; i++)
		free(r->rg[i].buf);
	free(r->rg);
	free(r);
}

static inline struct rec *
ring_head(const struct ring *g)
{
	return (struct rec *)(void *)(g->buf + g->head);
}

/* Room for `size` bytes at the tail: the offset, or (size_t)-1. */
static size_t
ring_reserve(struct ring *g, size_t size)
{
	if (g->n == 0) {
		g->head = g->tail = 0;
		g->wrapped = 0;
	}
	if (!g->wrapped) {
		if (g->cap - g->tail >= size)
			return g->tail;
		if (g->head >= size) {
			g->end = g->tail;
			g->wrapped = 1;
			g->tail = 0;
			return 0;
		}
		return (size_t)-1;
	}
	if (g->head - g->tail >= size)
		return g->tail;
	return (size_t)-1;
}

static void
ring_drop_head(struct ring *g)
{
	g->head += ring_head(g)->size;
	g->n--;
	if (g->wrapped && g->head == g->end) {
		g->head = 0;
		g->wrapped = 0;
	}
}

int
am_reorder_push(struct am_reorder *r, const struct am_frame *f, am_time_t now)
{
	int src = f->index;

	if (src < 0 || src >= r->nsrc)
		return -1;
	struct ring *g = &r->rg[src];
	size_t size = (REC_HDR + f->caplen + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1);
	size_t off = ring_reserve(g, size);
	if (off == (size_t)-1)
		return -1;
	struct rec *h = (struct rec *)(void *)(g->buf + off);
	h->ts = f->ts;
	h->queued = now;
	h->caplen = f->caplen;
	h->wirelen = f->wirelen;
	h->dlt = f->dlt;
	h->size = (uint32_t)size;
	if (f->caplen)
		memcpy(g->buf + off + REC_HDR, f->data, f->caplen);
	g->tail = off + size;
	g->n++;
	g->queued++;
	if (r->released && f->ts < r->clock)
		g->late++;
	return 0;
}

/* The source holding the oldest frame (-1 when empty) and whether it is
 * due at `now`. */
static int
oldest(const struct am_reorder *r, am_time_t now, int *due)
{
	int best = -1, all = 1;
	am_time_t waited = INT64_MAX;

	for (int i = 0; i < r->nsrc; i++) {
		const struct ring *g = &r->rg[i];
		if (g->n == 0) {
			if (!g->done)
				all = 0;
			continue;
		}
		const struct rec *h = ring_head(g);
		if (best < 0 || h->ts < ring_head(&r->rg[best])->ts)
			best = i;
		if (h->queued < waited)
			waited = h->queued;
	}
	if (best >= 0)
		*due = all || (r->released && ring_head(&r->rg[best])->ts <= r->clock) ||
		    now - waited >= r->window;
	return best;
}

static void
release(struct am_reorder *r, int src, struct am_frame *f)
{
	struct ring *g = &r->rg[src];
	const struct rec *h = ring_head(g);

	f->ts = h->ts;
	f->caplen = h->caplen;
	f->wirelen = h->wirelen;
	f->dlt = h->dlt;
	f->index = src;
	/* The bytes stay in place until a later push reuses them. */
	f->data = (const uint8_t *)h + REC_HDR;
	if (!r->released || h->ts > r->clock)
		r->clock = h->ts;
	r->released = 1;
	ring_drop_head(g);
}

int
am_reorder_pop(struct am_reorder *r, am_time_t now, struct am_frame *f)
{
	int due = 0, src = oldest(r, now, &due);

	if (src < 0 || !due)
		return 0;
	release(r, src, f);
	return 1;
}

int
am_reorder_pop_forced(struct am_reorder *r, am_time_t now, struct am_frame *f)
{
	int due = 0, src = oldest(r, now, &due);

	if (src < 0)
		return 0;
	if (!due)
		r->rg[src].early++;
	release(r, src, f);
	return 1;
}

int
am_reorder_flush(struct am_reorder *r, struct am_frame *f)
{
	int due = 0, src = oldest(r, 0, &due);

	if (src < 0)
		return 0;
	release(r, src, f);
	return 1;
}

void
am_reorder_source_done(struct am_reorder *r, int src)
{
	if (src >= 0 && src < r->nsrc)
		r->rg[src].done = 1;
}

am_time_t
am_reorder_next_due(const struct am_reorder *r)
{
	am_time_t waited = INT64_MAX;

	for (int i = 0; i < r->nsrc; i++)
		if (r->rg[i].n && ring_head(&r->rg[i])->queued < waited)
			waited = ring_head(&r->rg[i])->queued;
	return waited == INT64_MAX ? -1 : waited + r->window;
}

am_time_t
am_reorder_oldest(const struct am_reorder *r)
{
	am_time_t ts = INT64_MAX;

	for (int i = 0; i < r->nsrc; i++)
		if (r->rg[i].n && ring_head(&r->rg[i])->ts < ts)
			ts = ring_head(&r->rg[i])->ts;
	return ts;
}

uint32_t
am_reorder_queued(const struct am_reorder *r, int src)
{
	uint32_t n = 0;

	if (src >= 0)
		return src < r->nsrc ? r->rg[src].n : 0;
	for (int i = 0; i < r->nsrc; i++)
		n += r->rg[i].n;
	return n;
}

void
am_reorder_stats(const struct am_reorder *r, int src, struct am_reorder_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (src < 0 || src >= r->nsrc)
		return;
	const struct ring *g = &r->rg[src];
	st->queued = g->queued;
	st->early = g->early;
	st->late = g->late;
	st->held = g->n;
	if (g->n)
		st->held_bytes = g->wrapped ? (g->end - g->head) + g->tail : g->tail - g->head;
}
