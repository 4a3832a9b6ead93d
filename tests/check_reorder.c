/* Unit tests for capture/reorder.c, the reorder window of the live merge:
 * two sources with skew come out in time order, a frame behind the
 * released clock is counted late, a full ring forces an early release
 * (counted), what is held comes out at the end, and a random mix of frame
 * sizes across ring wrap-arounds keeps order and bytes. */
#include "config.h"
#include "capture/reorder.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define W 10000   /* window: 10 ms of the caller's clock */

static uint8_t payload[2048];

static void
push(struct am_reorder *r, int src, am_time_t ts, uint32_t len, am_time_t now)
{
	struct am_frame f;

	memset(&f, 0, sizeof(f));
	f.ts = ts;
	f.caplen = len;
	f.wirelen = len + 100;
	f.data = payload + (ts % 251);
	f.dlt = 1;
	f.index = src;
	ck_assert_int_eq(am_reorder_push(r, &f, now), 0);
}

/* Pops what is due at `now` into ts[]; returns how many. */
static int
pop_all(struct am_reorder *r, am_time_t now, am_time_t *ts, int *src, int max)
{
	struct am_frame f;
	int n = 0;

	while (n < max && am_reorder_pop(r, now, &f)) {
		ck_assert_int_eq(f.wirelen, f.caplen + 100);
		ck_assert_int_eq(memcmp(f.data, payload + (f.ts % 251), f.caplen), 0);
		ts[n] = f.ts;
		if (src)
			src[n] = f.index;
		n++;
	}
	return n;
}

static void
counters(struct am_reorder *r, int src, uint64_t early, uint64_t late)
{
	struct am_reorder_stats st;

	am_reorder_stats(r, src, &st);
	ck_assert_uint_eq(st.early, early);
	ck_assert_uint_eq(st.late, late);
}

/* Source 1 hands its frames over 5 ms after source 0 hands over newer
 * ones: they still come out in time order. */
START_TEST(test_interleave_skew)
{
	struct am_reorder *r = am_reorder_new(2, 1 << 16, W);
	am_time_t ts[16];
	int src[16];

	push(r, 0, 100, 60, 0);
	push(r, 0, 200, 60, 0);
	push(r, 0, 300, 60, 0);
	push(r, 0, 400, 60, 0);
	/* Source 1 has nothing yet and the window is not over. */
	ck_assert_int_eq(pop_all(r, 1000, ts, src, 16), 0);
	ck_assert_int_eq(am_reorder_next_due(r), W);
	ck_assert_int_eq(am_reorder_oldest(r), 100);
	push(r, 1, 150, 70, 5000);
	push(r, 1, 250, 70, 5000);
	push(r, 1, 350, 70, 5000);
	/* Both have frames: the merge runs until source 1 is empty again. */
	int n = pop_all(r, 5000, ts, src, 16);
	ck_assert_int_eq(n, 6);
	static const am_time_t want[] = { 100, 150, 200, 250, 300, 350 };
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(ts[i], want[i]);
	ck_assert_int_eq(src[1], 1);
	/* 400 waits for its window (queued at 0). */
	ck_assert_int_eq(pop_all(r, W - 1, ts, src, 16), 0);
	ck_assert_int_eq(pop_all(r, W, ts, src, 16), 1);
	ck_assert_int_eq(ts[0], 400);
	ck_assert_int_eq(am_reorder_queued(r, -1), 0);
	ck_assert_int_eq(am_reorder_next_due(r), -1);
	counters(r, 0, 0, 0);
	counters(r, 1, 0, 0);
	am_reorder_free(r);
}
END_TEST

/* A frame that arrives later than the window behind a released one is
 * counted and released at once (waiting cannot help). */
START_TEST(test_late_beyond_window)
{
	struct am_reorder *r = am_reorder_new(2, 1 << 16, W);
	am_time_t ts[4];

	push(r, 0, 1000, 60, 0);
	ck_assert_int_eq(pop_all(r, W, ts, NULL, 4), 1);
	ck_assert_int_eq(ts[0], 1000);
	/* Source 1's frame of 900 shows up 25 ms later. */
	push(r, 1, 900, 60, 25000);
	counters(r, 1, 0, 1);
	counters(r, 0, 0, 0);
	ck_assert_int_eq(pop_all(r, 25000, ts, NULL, 4), 1);
	ck_assert_int_eq(ts[0], 900);
	/* An equal time is not late. */
	push(r, 1, 1000, 60, 26000);
	counters(r, 1, 0, 1);
	am_reorder_free(r);
}
END_TEST

/* A full ring: push refuses, the oldest frame goes early and is counted;
 * a forced release of a frame that was due anyway is not. */
START_TEST(test_buffer_full)
{
	size_t bytes = am_reorder_min_bytes(64);
	struct am_reorder *r = am_reorder_new(2, bytes, W);
	struct am_frame f;
	int n = 0;

	for (;;) {
		memset(&f, 0, sizeof(f));
		f.ts = 100 + n;
		f.caplen = 64;
		f.wirelen = 164;
		f.data = payload;
		f.index = 0;
		if (am_reorder_push(r, &f, 0) < 0)
			break;
		n++;
		ck_assert_int_lt(n, 100);
	}
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(am_reorder_pop(r, 1, &f), 0);
	ck_assert_int_eq(am_reorder_pop_forced(r, 1, &f), 1);
	ck_assert_int_eq(f.ts, 100);
	counters(r, 0, 1, 0);
	push(r, 0, 100 + n, 64, 1);
	/* Past the window: due, so a forced release counts nothing. */
	ck_assert_int_eq(am_reorder_pop_forced(r, W, &f), 1);
	ck_assert_int_eq(f.ts, 101);
	counters(r, 0, 1, 0);
	/* The other source's ring is its own. */
	push(r, 1, 500, 64, 1);
	counters(r, 1, 0, 0);
	am_reorder_free(r);
}
END_TEST

/* End of input or close: everything held comes out in time order, due or
 * not, without counting early releases. */
START_TEST(test_flush)
{
	struct am_reorder *r = am_reorder_new(3, 1 << 16, W);
	struct am_frame f;
	am_time_t prev = 0;
	int n = 0;

	push(r, 0, 30, 10, 0);
	push(r, 0, 60, 10, 0);
	push(r, 2, 10, 10, 0);
	push(r, 2, 50, 10, 0);
	push(r, 1, 20, 10, 0);
	ck_assert_int_eq(am_reorder_pop(r, 0, &f), 1);   /* all three have frames */
	ck_assert_int_eq(f.ts, 10);
	ck_assert_int_eq(am_reorder_pop(r, 0, &f), 1);
	ck_assert_int_eq(f.ts, 20);
	ck_assert_int_eq(am_reorder_pop(r, 0, &f), 0);   /* source 1 is empty now */
	while (am_reorder_flush(r, &f)) {
		ck_assert_int_ge(f.ts, prev);
		prev = f.ts;
		n++;
	}
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(prev, 60);
	for (int i = 0; i < 3; i++)
		counters(r, i, 0, 0);
	am_reorder_free(r);
}
END_TEST

/* A source that ended is not waited for. */
START_TEST(test_source_done)
{
	struct am_reorder *r = am_reorder_new(2, 1 << 16, W);
	struct am_frame f;

	push(r, 0, 100, 10, 0);
	ck_assert_int_eq(am_reorder_pop(r, 0, &f), 0);
	am_reorder_source_done(r, 1);
	ck_assert_int_eq(am_reorder_pop(r, 0, &f), 1);
	ck_assert_int_eq(f.ts, 100);
	am_reorder_free(r);
}
END_TEST

/* Window 0: whatever is queued is due (the merge without a window). */
START_TEST(test_window_zero)
{
	struct am_reorder *r = am_reorder_new(2, 1 << 16, 0);
	struct am_frame f;

	push(r, 0, 100, 10, 0);
	ck_assert_int_eq(am_reorder_pop(r, 0, &f), 1);
	am_reorder_free(r);
}
END_TEST

/* Random sizes through the rings (many wrap-arounds), three sources with
 * random skew up to 5 ms: every frame comes out once with its bytes.  With
 * rings large enough for the window, in time order and nothing counted;
 * with small rings, early releases are counted instead. */
static void
run_random(size_t bytes, int roomy)
{
	struct am_reorder *r = am_reorder_new(3, bytes, W);
	am_time_t next_ts[3] = { 0, 0, 0 };
	am_time_t now = 0, last = -1;
	uint64_t in = 0, out = 0, forced = 0;
	struct am_frame f;
	unsigned seed = 7;

	for (int step = 0; step < 200000; step++) {
		now += rand_r(&seed) % 50;
		int s = rand_r(&seed) % 3;
		am_time_t ts = now - (rand_r(&seed) % 5000);
		if (ts < next_ts[s])
			ts = next_ts[s];
		uint32_t len = (uint32_t)(rand_r(&seed) % 1500);
		memset(&f, 0, sizeof(f));
		f.ts = ts;
		f.caplen = len;
		f.wirelen = len + 100;
		f.data = payload + (ts % 251);
		f.index = s;
		while (am_reorder_push(r, &f, now) < 0) {
			struct am_frame g;
			ck_assert_int_eq(am_reorder_pop_forced(r, now, &g), 1);
			ck_assert_int_eq(memcmp(g.data, payload + (g.ts % 251), g.caplen), 0);
			out++;
			forced++;
		}
		next_ts[s] = ts;
		in++;
		am_time_t got[64];
		int n = pop_all(r, now, got, NULL, 64);
		for (int i = 0; i < n && roomy; i++) {
			ck_assert_int_ge(got[i], last);
			last = got[i];
		}
		out += (uint64_t)n;
	}
	while (am_reorder_flush(r, &f))
		out++;
	ck_assert_uint_eq(in, out);
	uint64_t late = 0, early = 0;
	for (int i = 0; i < 3; i++) {
		struct am_reorder_stats st;
		am_reorder_stats(r, i, &st);
		late += st.late;
		early += st.early;
		ck_assert_uint_eq(st.held, 0);
		ck_assert_uint_eq(st.held_bytes, 0);
	}
	if (roomy) {
		ck_assert_uint_eq(forced, 0);
		ck_assert_uint_eq(late, 0);
	} else {
		ck_assert_uint_gt(early, 0);
		ck_assert_uint_le(early, forced);
	}
	am_reorder_free(r);
}

START_TEST(test_random_wrap)
{
	run_random(256 << 10, 1);
}
END_TEST

START_TEST(test_random_small)
{
	run_random(am_reorder_min_bytes(1500), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("reorder");
	TCase *tc = tcase_create("core");

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_interleave_skew);
	tcase_add_test(tc, test_late_beyond_window);
	tcase_add_test(tc, test_buffer_full);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_source_done);
	tcase_add_test(tc, test_window_zero);
	tcase_add_test(tc, test_random_wrap);
	tcase_add_test(tc, test_random_small);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
