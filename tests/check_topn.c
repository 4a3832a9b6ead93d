/* Unit tests for capture/topn.c: exact below capacity, the Space-Saving
 * bounds under a flood checked against exact counts, p99 ranking,
 * intervals, limits. */
#include "config.h"
#include "capture/topn.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct am_topn *
mk(uint32_t capacity, uint32_t n, enum am_topn_rank rank)
{
	struct am_topn_cfg cfg;

	am_topn_cfg_default(&cfg);
	cfg.capacity = capacity;
	cfg.n = n;
	cfg.rank = rank;
	cfg.seed = 12345;
	struct am_topn *t = am_topn_new(&cfg);
	ck_assert_ptr_nonnull(t);
	return t;
}

static void
key32(uint8_t *k, uint32_t v)
{
	k[0] = (uint8_t)(v >> 24);
	k[1] = (uint8_t)(v >> 16);
	k[2] = (uint8_t)(v >> 8);
	k[3] = (uint8_t)v;
}

static uint32_t
unkey32(const uint8_t *k)
{
	return (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
}

/* Deterministic generator (xorshift64*). */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

START_TEST(test_exact_below_capacity)
{
	struct am_topn *t = mk(64, 5, AM_TOPN_BY_COUNT);
	uint8_t k[4];

	/* key i gets weight i*10, added in small steps interleaved */
	for (int round = 0; round < 10; round++)
		for (uint32_t i = 1; i <= 20; i++) {
			key32(k, i);
			am_topn_add(t, k, 4, i);
		}
	ck_assert_uint_eq(am_topn_total(t), 10 * 210);
	ck_assert_uint_eq(am_topn_bound(t), 0);
	am_topn_close(t);
	const struct am_topn_report *r = am_topn_report(t);
	ck_assert_uint_eq(r->intervals, 1);
	ck_assert_uint_eq(r->nrows, 5);
	ck_assert_uint_eq(r->total, 2100);
	ck_assert_uint_eq(r->bound, 0);
	ck_assert_uint_eq(r->keys_seen, 20);
	ck_assert_uint_eq(r->replaced, 0);
	for (uint32_t i = 0; i < 5; i++) {
		ck_assert_uint_eq(r->rows[i].klen, 4);
		ck_assert_uint_eq(unkey32(r->rows[i].key), 20 - i);
		ck_assert_uint_eq(r->rows[i].count, (20 - i) * 10);
		ck_assert_uint_eq(r->rows[i].error, 0);
		ck_assert_int_eq(r->rows[i].p99, -1);
		ck_assert_uint_eq(r->rows[i].guaranteed, 1);
	}
	/* the interval restarted empty */
	ck_assert_uint_eq(am_topn_total(t), 0);
	am_topn_close(t);
	ck_assert_uint_eq(am_topn_report(t)->nrows, 0);
	ck_assert_uint_eq(am_topn_report(t)->intervals, 2);
	am_topn_free(t);
}
END_TEST

START_TEST(test_ties_by_key)
{
	struct am_topn *t = mk(16, 3, AM_TOPN_BY_COUNT);
	const char *keys[] = { "zz", "aa", "mm", "a" };

	for (int i = 0; i < 4; i++)
		am_topn_add(t, keys[i], strlen(keys[i]), 7);
	am_topn_add(t, "zz", 2, 0);      /* zero weight: nothing */
	am_topn_close(t);
	const struct am_topn_report *r = am_topn_report(t);
	ck_assert_uint_eq(r->total, 28);
	ck_assert_uint_eq(r->nrows, 3);
	ck_assert_mem_eq(r->rows[0].key, "a", 1);
	ck_assert_uint_eq(r->rows[0].klen, 1);
	ck_assert_mem_eq(r->rows[1].key, "aa", 2);
	ck_assert_mem_eq(r->rows[2].key, "mm", 2);
	am_topn_free(t);
}
END_TEST

/* A flood of distinct keys plus a few heavy ones, against exact counts. */
START_TEST(test_flood_bounds)
{
	enum { K = 200, HEAVY = 8, FLOOD = 300000 };
	struct am_topn *t = mk(K, K, AM_TOPN_BY_COUNT);
	size_t mem = am_topn_memory(t);
	uint64_t heavy_true[HEAVY] = { 0 };
	uint64_t total = 0;
	uint8_t k[4];

	for (uint32_t i = 0; i < FLOOD; i++) {
		uint64_t x = rng();
		/* one packet in 40 goes to a heavy key, with weight 1..1500 */
		if (x % 40 == 0) {
			uint32_t h = (uint32_t)((x >> 8) % HEAVY);
			uint64_t w = 1 + (x >> 20) % 1500;
			key32(k, h);
			am_topn_add(t, k, 4, w);
			heavy_true[h] += w;
			total += w;
		} else {
			/* random keys well away from the heavy ones, each small */
			key32(k, 0x80000000u | (uint32_t)(x >> 33));
			am_topn_add(t, k, 4, 1 + (x >> 12) % 60);
			total += 1 + (x >> 12) % 60;
		}
	}
	ck_assert_uint_eq(am_topn_total(t), total);
	uint64_t bound = am_topn_bound(t);
	ck_assert_uint_gt(bound, 0);
	ck_assert_uint_le(bound, total / K);
	am_topn_close(t);
	const struct am_topn_report *r = am_topn_report(t);
	ck_assert_uint_eq(r->nrows, K);
	ck_assert_uint_gt(r->replaced, 0);
	/* Space-Saving: the counters sum to the total weight. */
	uint64_t sum = 0;
	for (uint32_t i = 0; i < r->nrows; i++) {
		sum += r->rows[i].count;
		ck_assert_uint_le(r->rows[i].error, r->bound);
		if (i > 0)
			ck_assert_uint_le(r->rows[i].count, r->rows[i - 1].count);
	}
	ck_assert_uint_eq(sum, total);
	/* Every heavy key is present, ranked first, with true in [count - error, count]. */
	for (uint32_t i = 0; i < HEAVY; i++) {
		uint32_t h = unkey32(r->rows[i].key);
		ck_assert_uint_lt(h, HEAVY);
		ck_assert_uint_gt(heavy_true[h], total / K);
		ck_assert_uint_le(heavy_true[h], r->rows[i].count);
		ck_assert_uint_ge(heavy_true[h], r->rows[i].count - r->rows[i].error);
		ck_assert_uint_eq(r->rows[i].guaranteed, 1);
	}
	/* flood keys: none can be told apart from what was not reported */
	for (uint32_t i = HEAVY; i < r->nrows; i++)
		ck_assert_uint_eq(r->rows[i].guaranteed, 0);
	ck_assert_uint_eq(am_topn_memory(t), mem);
	ck_assert_uint_eq(mem, am_topn_memory_for(&(struct am_topn_cfg){ .capacity = K, .n = K }));
	am_topn_free(t);
}
END_TEST

/* Random keys from a small space, against an exact table: the bound holds
 * for every key, including those that lost their counter. */
START_TEST(test_against_exact)
{
	enum { K = 50, SPACE = 400, N = 100000 };
	static uint64_t exact[SPACE];
	struct am_topn *t = mk(K, K, AM_TOPN_BY_COUNT);
	uint8_t k[4];
	uint64_t total = 0;

	memset(exact, 0, sizeof(exact));
	for (int i = 0; i < N; i++) {
		/* skewed: low keys far more likely */
		uint64_t x = rng();
		uint32_t v = (uint32_t)((x % SPACE) * ((x >> 32) % SPACE) / SPACE);
		uint64_t w = 1 + (x >> 50) % 4;
		key32(k, v);
		am_topn_add(t, k, 4, w);
		exact[v] += w;
		total += w;
	}
	am_topn_close(t);
	const struct am_topn_report *r = am_topn_report(t);
	ck_assert_uint_le(r->bound, total / K);
	int present[SPACE] = { 0 };
	for (uint32_t i = 0; i < r->nrows; i++) {
		uint32_t v = unkey32(r->rows[i].key);
		ck_assert_uint_lt(v, SPACE);
		present[v] = 1;
		ck_assert_uint_le(exact[v], r->rows[i].count);
		ck_assert_uint_ge(exact[v] + r->rows[i].error, r->rows[i].count);
	}
	for (uint32_t v = 0; v < SPACE; v++)
		if (exact[v] > total / K)
			ck_assert_msg(present[v], "key %u with %llu > W/k missing", v, (unsigned long long)exact[v]);
	am_topn_free(t);
}
END_TEST

/* One key hashed once and offered to several tables (the census's talker
 * tables): the same reports as am_topn_add, also on a table with another
 * seed (which hashes again), under replacement, for 5- and 17-byte keys. */
START_TEST(test_shared_key)
{
	enum { K = 64, N = 20000 };
	struct am_topn_cfg cfg;
	struct am_topn *t[4];

	am_topn_cfg_default(&cfg);
	cfg.capacity = K;
	cfg.n = K;
	for (int i = 0; i < 4; i++) {
		cfg.seed = i == 3 ? 999 : 4242;
		t[i] = am_topn_new(&cfg);
		ck_assert_ptr_nonnull(t[i]);
	}
	ck_assert_uint_eq(am_topn_seed(t[0]), 4242);
	for (uint32_t i = 0; i < N; i++) {
		uint64_t x = rng();
		uint8_t key[17] = { 0 };
		size_t klen = (x & 1) ? 5 : 17;
		uint32_t v = (x % 5 == 0) ? (uint32_t)(x >> 40) % 6 : (uint32_t)(x >> 20) % 3000;
		key[0] = klen == 5 ? 4 : 6;
		/* long keys differ only past their first word */
		key32(key + (klen == 5 ? 1 : 13), v);
		uint64_t w = 1 + (x >> 50) % 1500;
		struct am_topn_key k, k2;
		ck_assert_int_eq(am_topn_key_set(t[1], &k, key, klen), 0);
		/* the same key written by hand and sealed */
		memset(k2.w, 0, sizeof(k2.w));
		memcpy(k2.w, key, klen);
		k2.klen = (uint8_t)klen;
		am_topn_key_seal(t[1], &k2);
		ck_assert_uint_eq(k2.hash, k.hash);
		am_topn_add(t[0], key, klen, w);
		am_topn_add_key(t[1], &k, w);
		am_topn_add_key(t[2], &k2, w);
		am_topn_add_key(t[3], &k, w);     /* other seed */
	}
	for (int i = 0; i < 4; i++)
		am_topn_close(t[i]);
	const struct am_topn_report *r0 = am_topn_report(t[0]);
	ck_assert_uint_gt(r0->replaced, 0);
	for (int i = 1; i < 4; i++) {
		const struct am_topn_report *r = am_topn_report(t[i]);
		ck_assert_uint_eq(r->nrows, r0->nrows);
		ck_assert_uint_eq(r->total, r0->total);
		ck_assert_uint_eq(r->bound, r0->bound);
		ck_assert_uint_eq(r->replaced, r0->replaced);
		for (uint32_t j = 0; j < r->nrows; j++) {
			ck_assert_uint_eq(r->rows[j].klen, r0->rows[j].klen);
			ck_assert_int_eq(memcmp(r->rows[j].key, r0->rows[j].key, r0->rows[j].klen), 0);
			ck_assert_uint_eq(r->rows[j].count, r0->rows[j].count);
			ck_assert_uint_eq(r->rows[j].error, r0->rows[j].error);
			ck_assert_uint_eq(r->rows[j].guaranteed, r0->rows[j].guaranteed);
		}
	}
	for (int i = 0; i < 4; i++)
		am_topn_free(t[i]);
}
END_TEST

START_TEST(test_p99)
{
	struct am_topn_cfg cfg;
	am_topn_cfg_default(&cfg);
	cfg.capacity = 32;
	cfg.n = 3;
	cfg.rank = AM_TOPN_BY_P99;
	cfg.min_count = 50;
	cfg.seed = 7;
	struct am_topn *t = am_topn_new(&cfg);
	ck_assert_ptr_nonnull(t);

	/* "slow": 100 values, 1..100 ms -> p99 is 99 ms
	 * "fast": 1000 values of 1 ms and 20 of 50 ms -> p99 is 50 ms
	 * "rare": 10 values of 10 s, below min_count
	 * "flat": 200 values of 2 us */
	for (int i = 1; i <= 100; i++)
		am_topn_add_value(t, "slow", 4, (uint64_t)i * 1000);
	for (int i = 0; i < 1000; i++)
		am_topn_add_value(t, "fast", 4, 1000);
	for (int i = 0; i < 20; i++)
		am_topn_add_value(t, "fast", 4, 50000);
	for (int i = 0; i < 10; i++)
		am_topn_add_value(t, "rare", 4, 10000000);
	for (int i = 0; i < 200; i++)
		am_topn_add_value(t, "flat", 4, 2);
	am_topn_close(t);
	const struct am_topn_report *r = am_topn_report(t);
	ck_assert_uint_eq(r->nrows, 3);
	ck_assert_mem_eq(r->rows[0].key, "slow", 4);
	ck_assert_uint_eq(r->rows[0].count, 100);
	ck_assert_uint_eq(r->rows[0].nvalues, 100);
	ck_assert_int_ge(r->rows[0].p99, 99000 * 7 / 8);
	ck_assert_int_le(r->rows[0].p99, 99000 * 9 / 8);
	ck_assert_mem_eq(r->rows[1].key, "fast", 4);
	ck_assert_int_ge(r->rows[1].p99, 50000 * 7 / 8);
	ck_assert_int_le(r->rows[1].p99, 50000 * 9 / 8);
	ck_assert_mem_eq(r->rows[2].key, "flat", 4);
	ck_assert_int_eq(r->rows[2].p99, 2);      /* exact below 4 */
	ck_assert_uint_eq(r->total, 1330);
	am_topn_free(t);
}
END_TEST

/* A key that takes over a counter starts a fresh histogram. */
START_TEST(test_p99_replacement_resets)
{
	struct am_topn_cfg cfg;
	am_topn_cfg_default(&cfg);
	cfg.capacity = 2;
	cfg.n = 2;
	cfg.rank = AM_TOPN_BY_P99;
	cfg.min_count = 1;
	cfg.seed = 9;
	struct am_topn *t = am_topn_new(&cfg);
	for (int i = 0; i < 5; i++)
		am_topn_add_value(t, "a", 1, 1000000);
	am_topn_add_value(t, "b", 1, 1000000);
	am_topn_add_value(t, "c", 1, 3);          /* replaces b (count 1) */
	am_topn_close(t);
	const struct am_topn_report *r = am_topn_report(t);
	ck_assert_uint_eq(r->nrows, 2);
	ck_assert_mem_eq(r->rows[1].key, "c", 1);
	ck_assert_uint_eq(r->rows[1].count, 2);
	ck_assert_uint_eq(r->rows[1].error, 1);
	ck_assert_uint_eq(r->rows[1].nvalues, 1);
	ck_assert_int_eq(r->rows[1].p99, 3);
	ck_assert_uint_eq(r->rows[1].guaranteed, 0);   /* values of b are lost */
	ck_assert_uint_eq(r->rows[0].guaranteed, 1);
	ck_assert_uint_eq(r->replaced, 1);
	am_topn_free(t);
}
END_TEST

START_TEST(test_limits)
{
	struct am_topn_cfg cfg;
	uint8_t big[AM_TOPN_KEYMAX + 1];

	am_topn_cfg_default(&cfg);
	cfg.n = 0;
	ck_assert_ptr_null(am_topn_new(&cfg));
	cfg.n = 10;
	cfg.capacity = 9;
	ck_assert_ptr_null(am_topn_new(&cfg));
	cfg.capacity = 10;
	struct am_topn *t = am_topn_new(&cfg);
	ck_assert_ptr_nonnull(t);
	memset(big, 1, sizeof(big));
	am_topn_add(t, big, sizeof(big), 5);
	ck_assert_uint_eq(am_topn_rejected(t), 1);
	ck_assert_uint_eq(am_topn_total(t), 0);
	am_topn_add(t, big, AM_TOPN_KEYMAX, 5);
	ck_assert_uint_eq(am_topn_total(t), 5);
	ck_assert_uint_eq(am_topn_capacity(t), 10);
	ck_assert_uint_eq(am_topn_n(t), 10);
	am_topn_free(t);
}
END_TEST

/* Many replacements must keep the index consistent: every key added last
 * with a large weight is found again and counted once. */
START_TEST(test_index_churn)
{
	enum { K = 64 };
	struct am_topn *t = mk(K, K, AM_TOPN_BY_COUNT);
	uint8_t k[4];

	for (uint32_t i = 0; i < 200000; i++) {
		key32(k, (uint32_t)rng());
		am_topn_add(t, k, 4, 1);
	}
	/* now K distinct fresh keys, each added twice with a weight that makes
	 * it the largest: both adds must land on the same counter */
	for (uint32_t i = 0; i < K; i++) {
		key32(k, 0xfff00000u + i);
		am_topn_add(t, k, 4, 1000000);
		am_topn_add(t, k, 4, 1000000);
	}
	am_topn_close(t);
	const struct am_topn_report *r = am_topn_report(t);
	ck_assert_uint_eq(r->nrows, K);
	for (uint32_t i = 0; i < K; i++) {
		ck_assert_uint_ge(unkey32(r->rows[i].key), 0xfff00000u);
		ck_assert_uint_ge(r->rows[i].count, 2000000);
		ck_assert_uint_le(r->rows[i].count - r->rows[i].error, 2000000);
	}
	am_topn_free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("topn");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exact_below_capacity);
	tcase_add_test(tc, test_ties_by_key);
	tcase_add_test(tc, test_flood_bounds);
	tcase_add_test(tc, test_against_exact);
	tcase_add_test(tc, test_shared_key);
	tcase_add_test(tc, test_p99);
	tcase_add_test(tc, test_p99_replacement_resets);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_index_churn);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
