/* Sparse log-linear histogram: see hist.h.
 *
 * Bucket layout.  With S = AM_HIST_SUBBITS, values v < 2^(S+1) have a bucket
 * each (index v).  A value with highest set bit e > S lies in
 * [2^e, 2^(e+1)), which is cut into 2^S buckets of width 2^(e-S); its index
 * is (e - S) * 2^S + (v >> (e - S)).  The indexes run on without a hole from
 * the exact range, and the largest (e = 63) is 56 * 128 + 255 = 7423. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "common/util.h"
#include "store/hist.h"
#include "store/codec.h"

#define SUB (1u << AM_HIST_SUBBITS)
#define EXACT_LIMIT (2u << AM_HIST_SUBBITS)           /* 256 */
#define NBUCKETS ((65u - AM_HIST_SUBBITS) * SUB)      /* 7424: last index 7423 */
#define ENCODE_VERSION 2

void
am_hist_init(struct am_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void
am_hist_free(struct am_hist *h)
{
	free(h->idx);
	free(h->cnt);
	am_hist_init(h);
}

void
am_hist_reset(struct am_hist *h)
{
	h->count = 0;
	h->min = h->max = 0;
	h->sum = h->sumsq = 0;
	h->n = 0;
}

static unsigned
top_bit(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

uint32_t
am_hist_bucket(uint64_t v)
{
	unsigned e, shift;

	if (v < EXACT_LIMIT)
		return (uint32_t)v;
	e = top_bit(v);
	shift = e - AM_HIST_SUBBITS;
	return (uint32_t)(shift * SUB + (v >> shift));
}

uint64_t
am_hist_bucket_low(uint32_t idx)
{
	unsigned shift;

	if (idx < EXACT_LIMIT)
		return idx;
	if (idx >= NBUCKETS)
		return UINT64_MAX;
	shift = idx / SUB - 1;
	return (uint64_t)(idx - shift * SUB) << shift;
}

uint64_t
am_hist_bucket_high(uint32_t idx)
{
	unsigned shift;

	if (idx < EXACT_LIMIT)
		return idx;
	if (idx >= NBUCKETS)
		return UINT64_MAX;
	shift = idx / SUB - 1;
	return am_hist_bucket_low(idx) + ((UINT64_C(1) << shift) - 1);
}

/* The value reported for a bucket: its middle, so that any value in the
 * bucket is within half a bucket width (relative 2^-(S+1)) of it. */
static uint64_t
bucket_repr(uint32_t idx)
{
	uint64_t lo = am_hist_bucket_low(idx), hi = am_hist_bucket_high(idx);

	return lo + (hi - lo + 1) / 2;
}

static void
reserve(struct am_hist *h, uint32_t need)
{
	uint32_t cap;

	if (need <= h->cap)
		return;
	cap = h->cap ? h->cap : 8;
	while (cap < need)
		cap *= 2;
	h->idx = am_xrealloc(h->idx, (size_t)cap * sizeof(*h->idx));
	h->cnt = am_xrealloc(h->cnt, (size_t)cap * sizeof(*h->cnt));
	h->cap = cap;
}

/* First position whose index is >= b. */
static uint32_t
lower_bound(const struct am_hist *h, uint32_t b)
{
	uint32_t lo = 0, hi = h->n;

	/* Values tend to repeat the largest bucket seen: test the end first. */
	if (h->n > 0 && h->idx[h->n - 1] < b)
		return h->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (h->idx[mid] < b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
am_hist_add_n(struct am_hist *h, uint64_t v, uint64_t n)
{
	uint32_t b, pos;
	double dv = (double)v;

	if (n == 0)
		return;
	b = am_hist_bucket(v);
	pos = lower_bound(h, b);
	if (pos == h->n || h->idx[pos] != b) {
		reserve(h, h->n + 1);
		memmove(h->idx + pos + 1, h->idx + pos, (size_t)(h->n - pos) * sizeof(*h->idx));
		memmove(h->cnt + pos + 1, h->cnt + pos, (size_t)(h->n - pos) * sizeof(*h->cnt));
		h->idx[pos] = b;
		h->cnt[pos] = 0;
		h->n++;
	}
	h->cnt[pos] += n;
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (h->count == 0 || v > h->max)
		h->max = v;
	h->count += n;
	h->sum += dv * (double)n;
	h->sumsq += dv * dv * (double)n;
}

void
am_hist_add(struct am_hist *h, uint64_t v)
{
	am_hist_add_n(h, v, 1);
}

void
am_hist_merge(struct am_hist *dst, const struct am_hist *src)
{
	uint32_t i, j, k, total;

	if (src->count == 0)
		return;
	/* Count the union first, then merge backwards in place. */
	total = dst->n;
	for (i = 0, j = 0; j < src->n; j++) {
		while (i < dst->n && dst->idx[i] < src->idx[j])
			i++;
		if (i == dst->n || dst->idx[i] != src->idx[j])
			total++;
	}
	reserve(dst, total);
	i = dst->n;
	j = src->n;
	k = total;
	while (j > 0) {
		if (i > 0 && dst->idx[i - 1] > src->idx[j - 1]) {
			k--; i--;
			dst->idx[k] = dst->idx[i];
			dst->cnt[k] = dst->cnt[i];
		} else if (i > 0 && dst->idx[i - 1] == src->idx[j - 1]) {
			k--; i--; j--;
			dst->idx[k] = dst->idx[i];
			dst->cnt[k] = dst->cnt[i] + src->cnt[j];
		} else {
			k--; j--;
			dst->idx[k] = src->idx[j];
			dst->cnt[k] = src->cnt[j];
		}
	}
	/* what remains of dst (i entries) is already in place: k == i */
	dst->n = total;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (dst->count == 0 || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	dst->sumsq += src->sumsq;
}

int
am_hist_copy(struct am_hist *dst, const struct am_hist *src)
{
	if (dst == src)
		return 0;
	am_hist_reset(dst);
	reserve(dst, src->n);
	if (src->n) {
		memcpy(dst->idx, src->idx, (size_t)src->n * sizeof(*src->idx));
		memcpy(dst->cnt, src->cnt, (size_t)src->n * sizeof(*src->cnt));
	}
	dst->n = src->n;
	dst->count = src->count;
	dst->min = src->min;
	dst->max = src->max;
	dst->sum = src->sum;
	dst->sumsq = src->sumsq;
	return 0;
}

uint64_t
am_hist_quantile(const struct am_hist *h, double q)
{
	uint64_t rank, seen = 0, v;
	uint32_t i;

	if (h->count == 0)
		return 0;
	if (!(q > 0))               /* also NaN */
		return h->min;
	if (q >= 1)
		return h->max;
	/* nearest rank: the smallest value with at least ceil(q * count) at or below */
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (i = 0; i < h->n; i++) {
		seen += h->cnt[i];
		if (seen >= rank)
			break;
	}
	if (i == h->n)
		return h->max;
	v = bucket_repr(h->idx[i]);
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

double
am_hist_mean(const struct am_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}

/* --- serialisation ------------------------------------------------------
 * byte     version (1)
 * varint   count, min, max
 * 8 bytes  sum, sumsq (IEEE 754 binary64, little-endian)
 * varint   n, then n entries: varint (delta << 1 | single), where delta is the
 *          bucket index (first entry) or its distance from the previous one
 *          (> 0), and single says the count is 1; otherwise varint count (> 1)
 *          follows.  Most buckets of a sparse histogram thus take one byte.
 */

static void
put_double(struct am_wbuf *w, double d)
{
	uint64_t u;
	int i;

	memcpy(&u, &d, sizeof(u));
	for (i = 0; i < 8; i++)
		am_put_byte(w, (uint8_t)(u >> (8 * i)));
}

size_t
am_hist_encode(const struct am_hist *h, uint8_t *buf, size_t len)
{
	struct am_wbuf w = { buf, len, 0 };
	uint32_t i, prev = 0;

	am_put_byte(&w, ENCODE_VERSION);
	am_put_varint(&w, h->count);
	am_put_varint(&w, h->count ? h->min : 0);
	am_put_varint(&w, h->count ? h->max : 0);
	put_double(&w, h->count ? h->sum : 0);
	put_double(&w, h->count ? h->sumsq : 0);
	am_put_varint(&w, h->count ? h->n : 0);
	for (i = 0; h->count && i < h->n; i++) {
		uint64_t d = h->idx[i] - prev;
		am_put_varint(&w, d << 1 | (h->cnt[i] == 1));
		if (h->cnt[i] != 1)
			am_put_varint(&w, h->cnt[i]);
		prev = h->idx[i];
	}
	return w.pos;
}

static int
get_double(struct am_rbuf *r, double *out)
{
	uint64_t u = 0;
	int i;

	if (r->len - r->pos < 8)
		return -1;
	for (i = 0; i < 8; i++)
		u |= (uint64_t)r->p[r->pos++] << (8 * i);
	memcpy(out, &u, sizeof(*out));
	return 0;
}

size_t
am_hist_encode_bound(const struct am_hist *h)
{
	/* version, 3 varints, 2 doubles, n, then at most 2 + 10 bytes an entry */
	return 1 + 3 * 10 + 16 + 5 + (size_t)h->n * 12;
}

int
am_hist_decode(struct am_hist *h, const uint8_t *buf, size_t len)
{
	return am_hist_decode_part(h, buf, len, NULL);
}

int
am_hist_decode_part(struct am_hist *h, const uint8_t *buf, size_t len, size_t *used)
{
	struct am_rbuf r = { buf, len, 0 };
	uint64_t count, min, max, n, d, c, total = 0, idx = 0;
	double sum, sumsq;
	uint32_t i;

	am_hist_reset(h);
	if (buf == NULL || len < 1 || buf[0] != ENCODE_VERSION)
		return -1;
	r.pos = 1;
	if (am_get_varint(&r, &count) < 0 || am_get_varint(&r, &min) < 0 ||
	    am_get_varint(&r, &max) < 0 || get_double(&r, &sum) < 0 ||
	    get_double(&r, &sumsq) < 0 || am_get_varint(&r, &n) < 0)
		goto malformed;
	if (n > NBUCKETS || (count == 0) != (n == 0) || min > max)
		goto malformed;
	if (count == 0 && (min || max || sum != 0 || sumsq != 0))
		goto malformed;
	if (!isfinite(sum) || !isfinite(sumsq) || signbit(sum) || signbit(sumsq))
		goto malformed;
	/* each entry takes at least one byte: refuse before allocating */
	if (n > len - r.pos)
		goto malformed;
	reserve(h, (uint32_t)n);
	for (i = 0; i < n; i++) {
		if (am_get_varint(&r, &d) < 0)
			goto malformed;
		c = 1;
		if (!(d & 1) && (am_get_varint(&r, &c) < 0 || c < 2))
			goto malformed;
		d >>= 1;
		if ((i > 0 && d == 0) || d >= NBUCKETS)
			goto malformed;
		idx += d;
		if (idx >= NBUCKETS || c > UINT64_MAX - total)
			goto malformed;
		total += c;
		h->idx[i] = (uint32_t)idx;
		h->cnt[i] = c;
	}
	if ((used == NULL && r.pos != r.len) || total != count)
		goto malformed;
	if (n > 0 && (am_hist_bucket(min) != h->idx[0] || am_hist_bucket(max) != h->idx[n - 1]))
		goto malformed;
	h->n = (uint32_t)n;
	h->count = count;
	h->min = min;
	h->max = max;
	h->sum = sum;
	h->sumsq = sumsq;
	if (used)
		*used = r.pos;
	return 0;

malformed:
	am_hist_reset(h);
	return -1;
}
