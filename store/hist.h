/* A mergeable, sparse log-linear histogram of non-negative integer values
 * (microseconds).  Values below 2^(AM_HIST_SUBBITS+1) are kept exactly; above,
 * each power of two is split into 2^AM_HIST_SUBBITS buckets, so a quantile is
 * reported with a relative error of at most 2^-(AM_HIST_SUBBITS+1) (0.39% with 7
 * sub-bits), well inside the 1% the project promises.  Only non-empty buckets
 * take memory.  Merging two histograms gives exactly the histogram of the union
 * of their values, so rollups and summaries agree by construction. */
#ifndef AM_HIST_H
#define AM_HIST_H

#include <stdint.h>
#include <stddef.h>

#define AM_HIST_SUBBITS 7
#define AM_HIST_MAX_ERROR 0.00390625 /* 2^-8 */

struct am_hist {
	uint64_t count;
	uint64_t min, max;     /* exact; valid when count > 0 */
	double sum, sumsq;     /* exact enough for means and deviations */
	uint32_t n, cap;       /* used / allocated entries */
	uint32_t *idx;         /* sorted bucket indexes */
	uint64_t *cnt;         /* counts, parallel to idx */
};

void am_hist_init(struct am_hist *h);
void am_hist_free(struct am_hist *h);
void am_hist_reset(struct am_hist *h);          /* empties, keeps memory */
void am_hist_add(struct am_hist *h, uint64_t v);
void am_hist_add_n(struct am_hist *h, uint64_t v, uint64_t n);
void am_hist_merge(struct am_hist *dst, const struct am_hist *src);
int  am_hist_copy(struct am_hist *dst, const struct am_hist *src);
/* q in [0,1]; nearest-rank quantile, clamped to [min,max]; 0 when empty. */
uint64_t am_hist_quantile(const struct am_hist *h, double q);
double am_hist_mean(const struct am_hist *h);

uint32_t am_hist_bucket(uint64_t v);            /* value -> bucket index */
uint64_t am_hist_bucket_low(uint32_t idx);      /* smallest value in bucket */
uint64_t am_hist_bucket_high(uint32_t idx);     /* largest value in bucket */

/* Compact serialisation (varints) for LMDB; returns bytes written or needed
 * (call with buf NULL to size), am_hist_decode returns 0 or -1 on bad input. */
size_t am_hist_encode(const struct am_hist *h, uint8_t *buf, size_t len);
int am_hist_decode(struct am_hist *h, const uint8_t *buf, size_t len);

#endif
