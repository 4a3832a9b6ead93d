/* Unit tests for store/hist.c: bucket layout, quantile error bound against
 * exact order statistics, exact merge, serialisation. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "store/hist.h"

/* A small deterministic generator (xorshift64*) so that failures repeat. */
static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static double
rng_unit(void) /* (0,1] */
{
	return ((double)(rng_next() >> 11) + 1.0) / 9007199254740992.0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static const double qs[] = { 0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95,
	0.99, 0.995, 0.999, 0.9999, 1.0 };

/* Nearest-rank quantile of sorted values. */
static uint64_t
exact_quantile(const uint64_t *sorted, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static void
check_quantiles(uint64_t *v, size_t n)
{
	struct am_hist h;
	size_t i, k;

	am_hist_init(&h);
	for (i = 0; i < n; i++)
		am_hist_add(&h, v[i]);
	qsort(v, n, sizeof(*v), cmp_u64);
	ck_assert_uint_eq(h.count, n);
	ck_assert_uint_eq(h.min, v[0]);
	ck_assert_uint_eq(h.max, v[n - 1]);
	for (k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		uint64_t exact = exact_quantile(v, n, qs[k]);
		uint64_t est = am_hist_quantile(&h, qs[k]);
		double err = fabs((double)est - (double)exact);
		ck_assert_msg(err <= (double)exact * AM_HIST_MAX_ERROR,
		    "q=%g exact=%llu est=%llu", qs[k], (unsigned long long)exact,
		    (unsigned long long)est);
		ck_assert_uint_ge(est, h.min);
		ck_assert_uint_le(est, h.max);
	}
	am_hist_free(&h);
}

START_TEST(test_buckets)
{
	uint64_t v;
	uint32_t b;

	for (v = 0; v < 256; v++) {
		ck_assert_uint_eq(am_hist_bucket(v), v);
		ck_assert_uint_eq(am_hist_bucket_low((uint32_t)v), v);
		ck_assert_uint_eq(am_hist_bucket_high((uint32_t)v), v);
	}
	/* buckets tile the value range without holes or overlaps */
	for (b = 0; b < am_hist_bucket(UINT64_MAX); b++) {
		uint64_t lo = am_hist_bucket_low(b), hi = am_hist_bucket_high(b);
		ck_assert_uint_le(lo, hi);
		ck_assert_uint_eq(am_hist_bucket(lo), b);
		ck_assert_uint_eq(am_hist_bucket(hi), b);
		ck_assert_uint_eq(am_hist_bucket_low(b + 1), hi + 1);
		/* width relative to the low end: at most 2^-SUBBITS */
		if (lo >= 256)
			ck_assert((double)(hi - lo + 1) / (double)lo <= 1.0 / (1 << AM_HIST_SUBBITS));
	}
	ck_assert_uint_eq(am_hist_bucket_high(am_hist_bucket(UINT64_MAX)), UINT64_MAX);
	rng_state = 42;
	for (int i = 0; i < 100000; i++) {
		v = rng_next() >> (rng_next() % 64);
		b = am_hist_bucket(v);
		ck_assert_uint_le(am_hist_bucket_low(b), v);
		ck_assert_uint_ge(am_hist_bucket_high(b), v);
	}
}
END_TEST

START_TEST(test_empty_and_single)
{
	struct am_hist h;

	am_hist_init(&h);
	ck_assert_uint_eq(am_hist_quantile(&h, 0.5), 0);
	ck_assert(am_hist_mean(&h) == 0.0);
	am_hist_add(&h, 123457);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
		ck_assert_uint_eq(am_hist_quantile(&h, qs[k]), 123457);
	ck_assert(am_hist_mean(&h) == 123457.0);
	am_hist_reset(&h);
	ck_assert_uint_eq(h.count, 0);
	ck_assert_uint_eq(h.n, 0);
	ck_assert_uint_eq(am_hist_quantile(&h, 0.9), 0);
	am_hist_add_n(&h, 5, 3);
	am_hist_add_n(&h, 1000, 0);
	ck_assert_uint_eq(h.count, 3);
	ck_assert_uint_eq(h.max, 5);
	ck_assert(h.sum == 15.0);
	ck_assert(h.sumsq == 75.0);
	am_hist_free(&h);
}
END_TEST

START_TEST(test_exact_small)
{
	uint64_t v[1000];
	rng_state = 7;
	for (size_t i = 0; i < 1000; i++)
		v[i] = rng_next() % 256;
	/* below 256 every value has its own bucket: quantiles are exact */
	struct am_hist h;
	am_hist_init(&h);
	for (size_t i = 0; i < 1000; i++)
		am_hist_add(&h, v[i]);
	qsort(v, 1000, sizeof(*v), cmp_u64);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
		ck_assert_uint_eq(am_hist_quantile(&h, qs[k]), exact_quantile(v, 1000, qs[k]));
	am_hist_free(&h);
}
END_TEST

START_TEST(test_uniform)
{
	size_t n = 200000;
	uint64_t *v = malloc(n * sizeof(*v));
	rng_state = 12345;
	for (size_t i = 0; i < n; i++)
		v[i] = rng_next() % 10000000;   /* up to 10 s */
	check_quantiles(v, n);
	/* narrow range well above the exact region */
	for (size_t i = 0; i < n; i++)
		v[i] = 1000000 + rng_next() % 5000;
	check_quantiles(v, n);
	free(v);
}
END_TEST

START_TEST(test_pareto)
{
	size_t n = 200000;
	uint64_t *v = malloc(n * sizeof(*v));
	rng_state = 99;
	/* Pareto with x_m = 500 us and alpha = 1.1: a very heavy tail */
	for (size_t i = 0; i < n; i++)
		v[i] = (uint64_t)(500.0 / pow(rng_unit(), 1.0 / 1.1));
	check_quantiles(v, n);
	/* log-normal-ish spread over 12 orders of magnitude */
	for (size_t i = 0; i < n; i++)
		v[i] = (uint64_t)exp(rng_unit() * 40.0);
	check_quantiles(v, n);
	free(v);
}
END_TEST

static void
assert_hist_equal(const struct am_hist *a, const struct am_hist *b)
{
	ck_assert_uint_eq(a->count, b->count);
	ck_assert_uint_eq(a->n, b->n);
	if (a->count) {
		ck_assert_uint_eq(a->min, b->min);
		ck_assert_uint_eq(a->max, b->max);
	}
	for (uint32_t i = 0; i < a->n; i++) {
		ck_assert_uint_eq(a->idx[i], b->idx[i]);
		ck_assert_uint_eq(a->cnt[i], b->cnt[i]);
	}
	ck_assert(fabs(a->sum - b->sum) <= 1e-9 * fabs(b->sum));
	ck_assert(fabs(a->sumsq - b->sumsq) <= 1e-9 * fabs(b->sumsq));
}

START_TEST(test_merge)
{
	struct am_hist parts[5], all, m, empty;
	rng_state = 2024;
	am_hist_init(&all);
	am_hist_init(&m);
	am_hist_init(&empty);
	for (int p = 0; p < 5; p++) {
		am_hist_init(&parts[p]);
		/* different ranges so that the bucket sets interleave and differ */
		for (int i = 0; i < 5000 * (p + 1); i++) {
			uint64_t v = (rng_next() % (1000u << (3 * p))) + (uint64_t)p * 37;
			am_hist_add(&parts[p], v);
			am_hist_add(&all, v);
		}
	}
	am_hist_merge(&m, &empty);
	ck_assert_uint_eq(m.count, 0);
	for (int p = 4; p >= 0; p--)
		am_hist_merge(&m, &parts[p]);
	am_hist_merge(&m, &empty);
	assert_hist_equal(&m, &all);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
		ck_assert_uint_eq(am_hist_quantile(&m, qs[k]), am_hist_quantile(&all, qs[k]));
	/* merge into empty == copy */
	am_hist_merge(&empty, &parts[2]);
	assert_hist_equal(&empty, &parts[2]);
	/* copy */
	ck_assert_int_eq(am_hist_copy(&m, &parts[1]), 0);
	assert_hist_equal(&m, &parts[1]);
	for (int p = 0; p < 5; p++)
		am_hist_free(&parts[p]);
	am_hist_free(&all);
	am_hist_free(&m);
	am_hist_free(&empty);
}
END_TEST

START_TEST(test_encode_roundtrip)
{
	struct am_hist h, d;
	uint8_t *buf;
	size_t need, got;

	am_hist_init(&h);
	am_hist_init(&d);
	/* empty */
	need = am_hist_encode(&h, NULL, 0);
	buf = malloc(need);
	ck_assert_uint_eq(am_hist_encode(&h, buf, need), need);
	ck_assert_int_eq(am_hist_decode(&d, buf, need), 0);
	ck_assert_uint_eq(d.count, 0);
	free(buf);

	rng_state = 5;
	for (int i = 0; i < 50000; i++)
		am_hist_add(&h, rng_next() >> (rng_next() % 64));
	am_hist_add(&h, 0);
	am_hist_add(&h, UINT64_MAX);
	need = am_hist_encode(&h, NULL, 0);
	buf = malloc(need);
	/* a short buffer is not overrun and still reports the size needed */
	buf[need - 1] = 0xa5;
	ck_assert_uint_eq(am_hist_encode(&h, buf, need - 1), need);
	ck_assert_uint_eq(buf[need - 1], 0xa5);
	got = am_hist_encode(&h, buf, need);
	ck_assert_uint_eq(got, need);
	ck_assert_int_eq(am_hist_decode(&d, buf, got), 0);
	assert_hist_equal(&d, &h);
	ck_assert(d.sum == h.sum && d.sumsq == h.sumsq);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
		ck_assert_uint_eq(am_hist_quantile(&d, qs[k]), am_hist_quantile(&h, qs[k]));
	/* every truncation fails and leaves an empty histogram */
	for (size_t l = 0; l < got; l++) {
		ck_assert_int_eq(am_hist_decode(&d, buf, l), -1);
		ck_assert_uint_eq(d.count, 0);
		ck_assert_uint_eq(d.n, 0);
	}
	free(buf);
	am_hist_free(&h);
	am_hist_free(&d);
}
END_TEST

/* Builds an encoding by hand to aim at each validity rule: version 2,
 * count, min, max, sum and sumsq (+0.0), n, then per (delta, count) pair
 * varint(delta << 1 | count == 1) and, unless the count is 1, varint(count). */
#define HIST_VERSION 2

static size_t
put_v(uint8_t *b, size_t p, uint64_t v)
{
	while (v >= 0x80) {
		b[p++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[p++] = (uint8_t)v;
	return p;
}

static size_t
mk(uint8_t *b, uint64_t count, uint64_t min, uint64_t max, uint64_t n,
    const uint64_t *pairs)
{
	size_t p = 0;
	b[p++] = HIST_VERSION;
	p = put_v(b, p, count);
	p = put_v(b, p, min);
	p = put_v(b, p, max);
	memset(b + p, 0, 16);  /* sum, sumsq = +0.0 */
	p += 16;
	p = put_v(b, p, n);
	for (uint64_t i = 0; i < n; i++) {
		p = put_v(b, p, pairs[2 * i] << 1 | (pairs[2 * i + 1] == 1));
		if (pairs[2 * i + 1] != 1)
			p = put_v(b, p, pairs[2 * i + 1]);
	}
	return p;
}

START_TEST(test_decode_garbage)
{
	struct am_hist d;
	uint8_t b[256];
	size_t len;
	uint64_t ok[] = { 5, 2, 3, 1 };       /* idx 5 x2, idx 8 x1 */
	uint64_t zero_delta[] = { 5, 2, 0, 1 };
	uint64_t zero_cnt[] = { 5, 3, 3, 0 };
	uint64_t far[] = { 127, 1 };

	am_hist_init(&d);
	len = mk(b, 3, 5, 8, 2, ok);
	ck_assert_int_eq(am_hist_decode(&d, b, len), 0);
	ck_assert_uint_eq(d.count, 3);
	ck_assert_uint_eq(am_hist_quantile(&d, 1.0), 8);
	/* trailing byte */
	b[len] = 0;
	ck_assert_int_eq(am_hist_decode(&d, b, len + 1), -1);
	/* bad version */
	b[0] = HIST_VERSION + 1;
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	/* count disagrees with the buckets */
	len = mk(b, 4, 5, 8, 2, ok);
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	/* indexes not strictly increasing */
	len = mk(b, 3, 5, 5, 2, zero_delta);
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	/* an empty bucket stored */
	len = mk(b, 3, 5, 8, 2, zero_cnt);
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	/* min / max outside the stored buckets */
	len = mk(b, 3, 4, 8, 2, ok);
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	len = mk(b, 3, 5, 9, 2, ok);
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	/* min > max */
	len = mk(b, 1, 127, 5, 1, far);
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	/* count without buckets, buckets without count */
	len = mk(b, 3, 5, 8, 0, ok);
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	len = mk(b, 0, 0, 0, 1, far);
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	/* a count of 1 in the long form is not the one encoding */
	len = mk(b, 3, 5, 8, 2, ok);
	ck_assert_uint_eq(b[len - 1], 3 << 1 | 1); /* idx 8: delta 3, count 1 */
	b[len - 1] = 3 << 1;                       /* the same with the count spelt out */
	b[len++] = 1;
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	/* a varint longer than 64 bits */
	b[0] = HIST_VERSION;
	memset(b + 1, 0xff, 11);
	b[12] = 0x01;
	ck_assert_int_eq(am_hist_decode(&d, b, 13), -1);
	/* a huge bucket count must not allocate */
	len = mk(b, 1, 5, 5, 0, ok);
	b[len - 1] = 0xff; b[len++] = 0xff; b[len++] = 0x03;
	ck_assert_int_eq(am_hist_decode(&d, b, len), -1);
	ck_assert_int_eq(am_hist_decode(&d, NULL, 0), -1);
	ck_assert_int_eq(am_hist_decode(&d, b, 0), -1);

	/* random bytes: never a crash; whatever decodes must re-encode identically */
	rng_state = 77;
	for (int t = 0; t < 200000; t++) {
		size_t l = rng_next() % 64;
		for (size_t i = 0; i < l; i++)
			b[i] = (uint8_t)rng_next();
		if (l > 0 && (t & 1))
			b[0] = HIST_VERSION;
		if (am_hist_decode(&d, b, l) == 0) {
			uint8_t re[256];
			ck_assert_uint_eq(am_hist_encode(&d, re, sizeof(re)), l);
			ck_assert_int_eq(memcmp(re, b, l), 0);
		} else {
			ck_assert_uint_eq(d.count, 0);
		}
	}
	am_hist_free(&d);
}
END_TEST

static Suite *
hist_suite(void)
{
	Suite *s = suite_create("hist");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_empty_and_single);
	tcase_add_test(tc, test_exact_small);
	tcase_add_test(tc, test_uniform);
	tcase_add_test(tc, test_pareto);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_encode_roundtrip);
	tcase_add_test(tc, test_decode_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hist_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
