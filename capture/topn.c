/* Weighted Space-Saving: k counters in a min-heap, found by an
 * open-addressing index (linear probing, backward-shift deletion, keyed
 * hash).  A new key takes a free counter, or replaces the smallest one and
 * inherits its count as error.  Every update is O(log k), with no
 * allocation. */
#include "config.h"
#include "capture/topn.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

/* Value histogram: exact below 4, then 4 sub-buckets per power of two up
 * to 2^40; larger values share the last bucket. */
#define HB_SUB 4
#define HB_MAXMSB 39
#define HB_N (HB_SUB + (HB_MAXMSB - 1) * HB_SUB)

struct slot {
	uint64_t count;
	uint64_t error;
	uint64_t nvalues;
	uint32_t hash;
	uint32_t heap;          /* position in the heap */
	uint8_t klen;
	union {
		uint64_t w[AM_TOPN_KEYMAX / 8];   /* zero-padded */
		uint8_t key[AM_TOPN_KEYMAX];
	};
};

struct hent {
	uint64_t count;         /* = slots[si].count */
	uint32_t si;
};

struct rank {
	int64_t p99;
	const struct slot *s;
};

struct am_topn {
	struct am_topn_cfg cfg;
	struct slot *slots;
	struct hent *heap;      /* min-heap on count */
	uint32_t *index;        /* slot index + 1, 0 empty */
	uint32_t mask;
	uint32_t used;
	uint32_t *hist;         /* capacity * HB_N, BY_P99 only */
	uint64_t total;
	uint64_t keys_seen, replaced, rejected;
	struct am_topn_row *rows;
	struct rank *order;     /* scratch for ranking */
	struct am_topn_report report;
	size_t memory;
};

void
am_topn_cfg_default(struct am_topn_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = 4096;
	cfg->n = 10;
	cfg->rank = AM_TOPN_BY_COUNT;
	cfg->min_count = 10;
}

static uint32_t
index_size(uint32_t capacity)
{
	uint32_t s = 16;

	while (s < capacity * 2)
		s <<= 1;
	return s;
}

#define MAX_CAPACITY (1u << 26)

size_t
am_topn_memory_for(const struct am_topn_cfg *cfg)
{
	size_t k = cfg->capacity;
	size_t m = sizeof(struct am_topn);

	m += k * (sizeof(struct slot) + sizeof(struct hent) + sizeof(struct rank));
	m += (size_t)index_size(cfg->capacity) * sizeof(uint32_t);
	m += (size_t)cfg->n * sizeof(struct am_topn_row);
	if (cfg->rank == AM_TOPN_BY_P99)
		m += k * HB_N * sizeof(uint32_t);
	return m;
}

struct am_topn *
am_topn_new(const struct am_topn_cfg *cfg)
{
	if (cfg->n == 0 || cfg->capacity < cfg->n || cfg->capacity > MAX_CAPACITY)
		return NULL;
	if (cfg->rank != AM_TOPN_BY_COUNT && cfg->rank != AM_TOPN_BY_P99)
		return NULL;
	struct am_topn *t = am_xcalloc(1, sizeof(*t));
	t->cfg = *cfg;
	if (t->cfg.seed == 0)
		t->cfg.seed = am_random_seed();
	uint32_t k = cfg->capacity;
	uint32_t isz = index_size(k);
	t->slots = am_xcalloc(k, sizeof(*t->slots));
	t->heap = am_xcalloc(k, sizeof(*t->heap));
	t->order = am_xcalloc(k, sizeof(*t->order));
	t->index = am_xcalloc(isz, sizeof(*t->index));
	t->mask = isz - 1;
	t->rows = am_xcalloc(cfg->n, sizeof(*t->rows));
	if (cfg->rank == AM_TOPN_BY_P99)
		t->hist = am_xcalloc((size_t)k * HB_N, sizeof(*t->hist));
	t->report.rows = t->rows;
	t->memory = am_topn_memory_for(cfg);
	return t;
}

void
am_topn_free(struct am_topn *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t->heap);
	free(t->order);
	free(t->index);
	free(t->rows);
	free(t->hist);
	free(t);
}

/* ---- heap ---- */

/* The heap holds each counter's value next to its slot index, so that
 * sifting reads one array (the flood case sifts on every packet). */
static void
heap_set(struct am_topn *t, uint32_t pos, struct hent e)
{
	t->heap[pos] = e;
	t->slots[e.si].heap = pos;
}

static void
sift_up(struct am_topn *t, uint32_t pos)
{
	struct hent e = t->heap[pos];

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (t->heap[parent].count <= e.count)
			break;
		heap_set(t, pos, t->heap[parent]);
		pos = parent;
	}
	heap_set(t, pos, e);
}

static void
sift_down(struct am_topn *t, uint32_t pos)
{
	struct hent e = t->heap[pos];
	uint32_t n = t->used;

	for (;;) {
		uint32_t l = 2 * pos + 1, m;
		if (l >= n)
			break;
		m = l;
		if (l + 1 < n && t->heap[l + 1].count < t->heap[l].count)
			m = l + 1;
		if (t->heap[m].count >= e.count)
			break;
		heap_set(t, pos, t->heap[m]);
		pos = m;
	}
	heap_set(t, pos, e);
}

/* ---- index ---- */

/* Keys are compared as whole zero-padded words: no call per probe. */
static int
key_eq(const uint64_t *a, const uint64_t *b, unsigned klen)
{
	for (unsigned i = 0; i < (klen + 7) / 8; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static int
slot_is(const struct slot *s, uint32_t h, const uint64_t *w, unsigned klen)
{
	return s->hash == h && s->klen == klen && key_eq(s->w, w, klen);
}

/* Position of key in the index, or of the empty cell where it would go. */
static uint32_t
index_find(const struct am_topn *t, uint32_t h, const uint64_t *w, unsigned klen)
{
	uint32_t pos = h & t->mask;

	while (t->index[pos] != 0 && !slot_is(&t->slots[t->index[pos] - 1], h, w, klen))
		pos = (pos + 1) & t->mask;
	return pos;
}

/* Keyed hash of the padded words (placement in the index only: counts and
 * reports do not depend on it). */
static uint32_t
key_hash(const uint64_t *w, unsigned klen, uint64_t seed)
{
	uint64_t h = seed ^ ((uint64_t)klen * 0x9e3779b97f4a7c15ULL);

	for (unsigned i = 0; i < (klen + 7) / 8; i++) {
		h ^= w[i] + seed;
		h *= 0xff51afd7ed558ccdULL;
		h = (h << 29) | (h >> 35);
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

void
am_topn_key_seal(const struct am_topn *t, struct am_topn_key *k)
{
	k->seed = t->cfg.seed;
	k->hash = key_hash(k->w, k->klen, k->seed);
}

int
am_topn_key_set(const struct am_topn *t, struct am_topn_key *k, const void *key, size_t klen)
{
	if (klen > AM_TOPN_KEYMAX)
		return -1;
	memset(k->w, 0, sizeof(k->w));
	memcpy(k->w, key, klen);
	k->klen = (uint8_t)klen;
	am_topn_key_seal(t, k);
	return 0;
}

static void
index_delete(struct am_topn *t, uint32_t pos)
{
	uint32_t i = pos, j = pos;

	for (;;) {
		j = (j + 1) & t->mask;
		if (t->index[j] == 0)
			break;
		uint32_t home = t->slots[t->index[j] - 1].hash & t->mask;
		/* The entry at j may fill the hole at i unless its home lies
		 * cyclically in (i, j]. */
		int in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
		if (!in_range) {
			t->index[i] = t->index[j];
			i = j;
		}
	}
	t->index[i] = 0;
}

/* ---- histogram ---- */

static unsigned
hb_index(uint64_t v)
{
	if (v < HB_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	if (msb > HB_MAXMSB)
		return HB_N - 1;
	return HB_SUB + (msb - 2) * HB_SUB + (unsigned)((v >> (msb - 2)) & (HB_SUB - 1));
}

/* Middle of the bucket. */
static int64_t
hb_value(unsigned idx)
{
	if (idx < HB_SUB)
		return idx;
	unsigned m = (idx - HB_SUB) / HB_SUB + 2;
	unsigned s = (idx - HB_SUB) % HB_SUB;
	uint64_t width = 1ull << (m - 2);
	uint64_t lo = (uint64_t)(HB_SUB + s) << (m - 2);
	return (int64_t)(lo + width / 2);
}

static int64_t
hb_p99(const uint32_t *h, uint64_t n)
{
	if (n == 0)
		return -1;
	uint64_t rank = (n * 99 + 99) / 100;   /* ceil(0.99 n) */
	uint64_t acc = 0;

	for (unsigned i = 0; i < HB_N; i++) {
		acc += h[i];
		if (acc >= rank)
			return hb_value(i);
	}
	return hb_value(HB_N - 1);
}

/* ---- updates ---- */

static struct slot *
update(struct am_topn *t, const struct am_topn_key *k, uint64_t w, uint32_t *si_out)
{
	unsigned klen = k->klen;
	uint32_t h = k->seed == t->cfg.seed ? k->hash : key_hash(k->w, klen, t->cfg.seed);
	uint32_t pos = index_find(t, h, k->w, klen);
	uint32_t si;
	struct slot *s;
	int fresh = 0;

	t->total += w;
	if (t->index[pos] != 0) {
		si = t->index[pos] - 1;
		s = &t->slots[si];
		s->count += w;
		t->heap[s->heap].count = s->count;
		sift_down(t, s->heap);
		*si_out = si;
		return s;
	}
	t->keys_seen++;
	if (t->used < t->cfg.capacity) {
		si = t->used++;
		fresh = 1;
		s = &t->slots[si];
		s->count = w;
		s->error = 0;
		s->heap = t->used - 1;
		t->heap[s->heap].si = si;
	} else {
		/* Replace the smallest counter: its count becomes the new key's error. */
		t->replaced++;
		si = t->heap[0].si;
		s = &t->slots[si];
		index_delete(t, index_find(t, s->hash, s->w, s->klen));
		pos = index_find(t, h, k->w, klen);
		s->error = s->count;
		s->count += w;
	}
	s->hash = h;
	s->klen = (uint8_t)klen;
	memcpy(s->w, k->w, sizeof(s->w));
	s->nvalues = 0;
	if (t->hist)
		memset(t->hist + (size_t)si * HB_N, 0, HB_N * sizeof(*t->hist));
	t->index[pos] = si + 1;
	t->heap[s->heap].count = s->count;
	if (fresh)
		sift_up(t, s->heap);     /* appended at the bottom */
	else
		sift_down(t, s->heap);   /* the root grew */
	*si_out = si;
	return s;
}

/* The common case inline: the key holds a counter and stays at or above
 * its children in the heap (one probe, no call). */
void
am_topn_add_key(struct am_topn *t, const struct am_topn_key *k, uint64_t weight)
{
	uint32_t si;

	if (weight == 0)
		return;
	if (k->seed == t->cfg.seed) {
		uint32_t cell = t->index[k->hash & t->mask];
		if (cell != 0) {
			struct slot *s = &t->slots[cell - 1];
			if (slot_is(s, k->hash, k->w, k->klen)) {
				uint64_t c = s->count + weight;
				uint32_t hp = s->heap, l = 2 * hp + 1;
				t->total += weight;
				s->count = c;
				t->heap[hp].count = c;
				if (l < t->used && (t->heap[l].count < c ||
				    (l + 1 < t->used && t->heap[l + 1].count < c)))
					sift_down(t, hp);
				return;
			}
		}
	}
	(void)update(t, k, weight, &si);
}

void
am_topn_add(struct am_topn *t, const void *key, size_t klen, uint64_t weight)
{
	struct am_topn_key k;

	if (weight == 0)
		return;
	if (am_topn_key_set(t, &k, key, klen) != 0) {
		t->rejected++;
		return;
	}
	am_topn_add_key(t, &k, weight);
}

void
am_topn_add_value(struct am_topn *t, const void *key, size_t klen, uint64_t value)
{
	struct am_topn_key k;
	uint32_t si;

	if (am_topn_key_set(t, &k, key, klen) != 0) {
		t->rejected++;
		return;
	}
	struct slot *s = update(t, &k, 1, &si);
	s->nvalues++;
	if (t->hist)
		t->hist[(size_t)si * HB_N + hb_index(value)]++;
}

/* ---- intervals ---- */

static int
key_cmp(const struct slot *a, const struct slot *b)
{
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->key, b->key, n);

	if (c != 0)
		return c;
	return (int)a->klen - (int)b->klen;
}

static int
by_count(const void *x, const void *y)
{
	const struct slot *a = ((const struct rank *)x)->s;
	const struct slot *b = ((const struct rank *)y)->s;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return key_cmp(a, b);
}

static int
by_p99(const void *x, const void *y)
{
	const struct rank *a = x, *b = y;

	if (a->p99 != b->p99)
		return a->p99 > b->p99 ? -1 : 1;
	return by_count(x, y);
}

void
am_topn_close(struct am_topn *t)
{
	uint32_t n = 0;
	int by_value = t->cfg.rank == AM_TOPN_BY_P99;

	for (uint32_t i = 0; i < t->used; i++) {
		const struct slot *s = &t->slots[i];
		int64_t p = -1;
		if (by_value) {
			if (s->nvalues == 0 || s->nvalues < t->cfg.min_count)
				continue;
			p = hb_p99(t->hist + (size_t)i * HB_N, s->nvalues);
		}
		t->order[n].s = s;
		t->order[n].p99 = p;
		n++;
	}
	qsort(t->order, n, sizeof(*t->order), by_value ? by_p99 : by_count);
	/* Whatever is not reported (the next counter, or a key that lost its
	 * counter) weighs at most this much. */
	uint64_t beyond = am_topn_bound(t);
	if (!by_value && n > t->cfg.n && t->order[t->cfg.n].s->count > beyond)
		beyond = t->order[t->cfg.n].s->count;
	if (n > t->cfg.n)
		n = t->cfg.n;
	for (uint32_t r = 0; r < n; r++) {
		const struct slot *s = t->order[r].s;
		struct am_topn_row *row = &t->rows[r];
		memset(row, 0, sizeof(*row));
		memcpy(row->key, s->key, s->klen);
		row->klen = s->klen;
		row->count = s->count;
		row->error = s->error;
		row->nvalues = s->nvalues;
		row->p99 = t->order[r].p99;
		if (by_value)
			row->guaranteed = s->error == 0;
		else
			row->guaranteed = beyond == 0 || s->count - s->error > beyond;
	}
	t->report.intervals++;
	t->report.total = t->total;
	t->report.keys_seen = t->keys_seen;
	t->report.replaced = t->replaced;
	t->report.bound = am_topn_bound(t);
	t->report.nrows = n;

	t->used = 0;
	t->total = 0;
	t->keys_seen = 0;
	t->replaced = 0;
	memset(t->index, 0, ((size_t)t->mask + 1) * sizeof(*t->index));
}

const struct am_topn_report *
am_topn_report(const struct am_topn *t)
{
	return &t->report;
}

uint64_t
am_topn_total(const struct am_topn *t)
{
	return t->total;
}

uint64_t
am_topn_bound(const struct am_topn *t)
{
	if (t->used < t->cfg.capacity)
		return 0;
	return t->heap[0].count;
}

uint64_t
am_topn_seed(const struct am_topn *t)
{
	return t->cfg.seed;
}

uint64_t
am_topn_rejected(const struct am_topn *t)
{
	return t->rejected;
}

uint32_t
am_topn_capacity(const struct am_topn *t)
{
	return t->cfg.capacity;
}

uint32_t
am_topn_n(const struct am_topn *t)
{
	return t->cfg.n;
}

enum am_topn_rank
am_topn_rank_by(const struct am_topn *t)
{
	return t->cfg.rank;
}

size_t
am_topn_memory(const struct am_topn *t)
{
	return t->memory;
}
