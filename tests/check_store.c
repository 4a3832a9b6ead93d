/* Unit tests for store/: key and record encodings, the aggregator, and the
 * LMDB store (ids across reopen, rollups, retention, map full, unclean
 * stops).  The kill -9 loop is in check_store_kill.c. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "store/agg.h"
#include "store/store.h"
#include "tests/store_synth.h"

#define S AM_USEC
#define T0 ((am_time_t)1700000000 * S)

static char tmpdir[256];

static const char *
fresh_dir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	return tmpdir;
}

static void
rm_dir(const char *dir)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct am_store *
open_rw(const char *dir, const struct am_store_cfg *cfg)
{
	char err[256] = "";
	struct am_store *st = am_store_open(dir, cfg, AM_STORE_RDWR, err, sizeof(err));
	ck_assert_msg(st != NULL, "open: %s", err);
	return st;
}

/* --- encodings ----------------------------------------------------------- */

START_TEST(test_key_encoding)
{
	struct am_conn c;
	struct am_agg_key k, d, k2;
	uint8_t b[AM_KEY_ENC_MAX], b2[AM_KEY_ENC_MAX];
	size_t n, n2;

	memset(&c, 0, sizeof(c));
	am_addr_parse("192.168.17.200", &c.server);
	am_addr_parse("10.1.2.3", &c.client);
	c.server_port = 443;
	c.client_port = 50000;
	am_agg_key_make(&k, &c, "web", "GET /index", 24, 64, AM_BY_CLIENT);
	ck_assert_uint_eq(k.server.a[3], 0);            /* masked to /24 */
	ck_assert_uint_eq(k.server.a[2], 17);
	ck_assert_uint_eq(k.client.a[3], 0);
	ck_assert_uint_eq(k.client_port, 0);
	n = am_agg_key_encode(&k, b);
	ck_assert_int_eq(am_agg_key_decode(&d, b, n), 0);
	ck_assert_int_eq(am_addr_cmp(&d.server, &k.server), 0);
	ck_assert_int_eq(am_addr_cmp(&d.client, &k.client), 0);
	ck_assert_uint_eq(d.server_port, 443);
	ck_assert_str_eq(d.signature, "GET /index");
	ck_assert_str_eq(d.rule, "");                    /* not part of the identity */
	/* truncations and trailing bytes fail */
	for (size_t l = 0; l < n; l++)
		ck_assert_int_eq(am_agg_key_decode(&d, b, l), -1);
	b[n] = 'x';
	ck_assert_int_eq(am_agg_key_decode(&d, b, n + 1), -1);
	/* byte order is index order: port 80 sorts before 443 on one address */
	am_agg_key_make(&k2, &c, "web", "GET /index", 24, 64, AM_BY_CLIENT);
	k2.server_port = 80;
	n2 = am_agg_key_encode(&k2, b2);
	ck_assert_int_lt(memcmp(b2, b, n < n2 ? n : n2), 0);
	/* IPv4 sorts before IPv6 */
	am_addr_parse("::1", &c.server);
	am_agg_key_make(&k2, &c, NULL, NULL, 32, 128, AM_BY_SERVER);
	n2 = am_agg_key_encode(&k2, b2);
	am_agg_key_encode(&k, b);
	ck_assert_int_lt(memcmp(b, b2, 1), 0);
	ck_assert_int_eq(am_agg_key_decode(&d, b2, n2), 0);
	ck_assert_uint_eq(d.server.family, AM_AF_INET6);
	/* client port summarising */
	am_agg_key_make(&k2, &c, NULL, "x", 32, 128, AM_BY_CLIENT_PORT);
	ck_assert_uint_eq(k2.client_port, 50000);
	ck_assert_uint_eq(k2.client.family, 0);
	/* overflow keys differ by rule */
	am_agg_key_overflow(&k, "a");
	am_agg_key_overflow(&k2, "b");
	ck_assert_uint_eq(k.overflow, 1);
	n = am_agg_key_encode(&k, b);
	n2 = am_agg_key_encode(&k2, b2);
	ck_assert(n != n2 || memcmp(b, b2, n) != 0);
}
END_TEST

START_TEST(test_rec_encoding)
{
	struct am_rec r, d;
	struct am_totals t, td;
	uint8_t *b;
	size_t n;

	am_rec_init(&r);
	am_rec_init(&d);
	for (int i = 0; i < 1000; i++) {
		for (int j = 0; j < AM_T__COUNT; j++)
			am_hist_add(&r.t[j], (uint64_t)(i * (j + 1) * 37));
	}
	r.count = 1000;
	r.bytes[0] = 12345; r.bytes[1] = 1u << 30;
	r.pkts[0] = 10; r.pkts[1] = 20;
	r.outcome[AM_OUT_RESET] = 3;
	r.retrans = 4; r.gap_bytes = 5;
	n = am_rec_encode(&r, NULL, 0);
	b = malloc(n + 1);
	ck_assert_uint_eq(am_rec_encode(&r, b, n), n);
	ck_assert_int_eq(am_rec_decode(&d, b, n), 0);
	ck_assert_uint_eq(d.count, 1000);
	ck_assert_uint_eq(d.bytes[1], 1u << 30);
	ck_assert_uint_eq(d.outcome[AM_OUT_RESET], 3);
	ck_assert_uint_eq(d.t[AM_T_RTT].max, r.t[AM_T_RTT].max);
	ck_assert_uint_eq(am_hist_quantile(&d.t[AM_T_LAST], 0.9), am_hist_quantile(&r.t[AM_T_LAST], 0.9));
	for (size_t l = 0; l < n; l += 7)
		ck_assert_int_eq(am_rec_decode(&d, b, l), -1);
	b[n] = 0;
	ck_assert_int_eq(am_rec_decode(&d, b, n + 1), -1);
	free(b);

	memset(&t, 0, sizeof(t));
	t.count = 99; t.sum[AM_T_FIRST] = UINT64_MAX; t.le[AM_LE_MAX - 1] = 7;
	t.first_seen = T0; t.last_seen = T0 + 5;
	uint8_t tb[1024];
	n = am_totals_encode(&t, tb, sizeof(tb));
	ck_assert_int_eq(am_totals_decode(&td, tb, n), 0);
	ck_assert_int_eq(memcmp(&t, &td, sizeof(t)), 0);
	ck_assert_int_eq(am_totals_decode(&td, tb, n - 1), -1);
	am_rec_free(&r);
	am_rec_free(&d);
}
END_TEST

/* --- the aggregator without a store ---------------------------------------- */

START_TEST(test_agg_intervals)
{
	struct am_agg_cfg cfg;
	struct am_agg *agg;
	struct synth sy;
	struct am_agg_row row;
	struct am_agg_stats stats;
	am_time_t base = T0 - T0 % (300 * S);
	int closed = 0;

	am_agg_cfg_default(&cfg);
	agg = am_agg_new(&cfg, NULL);
	ck_assert_ptr_nonnull(agg);
	synth_init(&sy, 1, 4, base, 300 * S, 3, 100);
	/* 3 intervals of 100 transactions, 4 keys */
	struct synth_txn x;
	uint64_t firsts[4][400];
	size_t nf[4] = { 0 };
	while (synth_next(&sy, &x)) {
		int r = am_agg_advance(agg, x.t);
		ck_assert_int_ge(r, 0);
		closed += r;
		ck_assert_int_eq(am_agg_add(agg, &x.key, &x.conn, &x.txn), 0);
		if (x.t >= base + 600 * S)
			firsts[x.k][nf[x.k]++] = (uint64_t)x.txn.first;
	}
	ck_assert_int_eq(closed, 2);
	/* the clock passes the third interval's end on an idle link */
	ck_assert_int_eq(am_agg_advance(agg, base + 900 * S + 1), 1);
	am_agg_stats(agg, &stats);
	ck_assert_int_eq(stats.last_closed, base + 600 * S);
	ck_assert_uint_eq(stats.txns, 300);
	ck_assert_uint_eq(stats.keys_total, 4);
	/* the gauges of each key are those of its values in the last interval */
	for (uint32_t id = 0, k = 0; am_agg_row_next(agg, id, &row) == 0; id = row.id, k++) {
		uint64_t mx = 0, mn = UINT64_MAX;
		ck_assert_uint_eq(row.id, k + 1);
		ck_assert_uint_eq(row.last->count, nf[k]);
		for (size_t i = 0; i < nf[k]; i++) {
			if (firsts[k][i] > mx) mx = firsts[k][i];
			if (firsts[k][i] < mn) mn = firsts[k][i];
		}
		ck_assert_uint_eq(row.last->t[AM_T_FIRST].max, mx);
		ck_assert_uint_eq(row.last->t[AM_T_FIRST].min, mn);
		ck_assert_uint_eq(row.totals->count, 75);
		ck_assert_str_eq(am_agg_sig_name(agg, row.sig_id), row.key->signature);
	}
	/* one more empty interval: the gauges drop to 0, totals stay */
	ck_assert_int_eq(am_agg_advance(agg, base + 1200 * S + 1), 1);
	ck_assert_int_eq(am_agg_row_get(agg, 1, &row), 0);
	ck_assert_uint_eq(row.last->count, 0);
	ck_assert_uint_eq(row.totals->count, 75);
	/* time does not go back */
	ck_assert_int_eq(am_agg_advance(agg, base), 0);
	am_agg_free(agg);
}
END_TEST

START_TEST(test_agg_overflow_and_idle)
{
	struct am_agg_cfg cfg;
	struct am_agg *agg;
	struct synth sy;
	struct synth_txn x;
	struct am_agg_stats stats;
	struct am_agg_row row;
	am_time_t base = T0 - T0 % (60 * S);
	int r2 = 0;

	am_agg_cfg_default(&cfg);
	cfg.interval_s = 60;
	cfg.max_keys = 5;
	cfg.idle_s = 120;
	agg = am_agg_new(&cfg, NULL);
	synth_init(&sy, 2, 8, base, 60 * S, 1, 80);
	while (synth_next(&sy, &x)) {
		am_agg_advance(agg, x.t);
		if (am_agg_add(agg, &x.key, &x.conn, &x.txn) == 2)
			r2++;
	}
	am_agg_stats(agg, &stats);
	ck_assert_uint_eq(stats.keys_live, 6);            /* 5 + the overflow key */
	ck_assert_uint_eq(stats.overflow, (uint64_t)r2);
	ck_assert_uint_eq(r2, 30);                        /* keys 6..8: 10 each */
	ck_assert_int_eq(am_agg_row_get(agg, 6, &row), 0);
	ck_assert_uint_eq(row.key->overflow, 1);
	ck_assert_str_eq(row.key->signature, "synth");    /* the rule's name */
	ck_assert_uint_eq(row.totals->count, 30);
	ck_assert_uint_eq(row.sig_id, 0);
	/* a transaction of a new key without a handshake is not counted */
	x.conn.est_ts = 0;
	x.key.server_port = 9;
	ck_assert_int_eq(am_agg_add(agg, &x.key, &x.conn, &x.txn), 1);
	/* idle keys leave the live table but keep id and totals */
	am_agg_advance(agg, base + 60 * S);
	am_agg_advance(agg, base + 240 * S);
	am_agg_stats(agg, &stats);
	ck_assert_uint_eq(stats.keys_live, 0);
	ck_assert_uint_eq(stats.keys_expired, 6);
	ck_assert_uint_eq(stats.unkeyed, 1);
	ck_assert_int_eq(am_agg_row_get(agg, 2, &row), 0);
	ck_assert_int_eq(row.live, 0);
	ck_assert_uint_eq(row.totals->count, 10);
	/* and room is made for new keys */
	synth_init(&sy, 3, 8, base + 300 * S, 60 * S, 1, 8);
	while (synth_next(&sy, &x)) {
		am_agg_advance(agg, x.t);
		am_agg_add(agg, &x.key, &x.conn, &x.txn);
	}
	am_agg_stats(agg, &stats);
	ck_assert_uint_eq(stats.keys_live, 6);
	am_agg_free(agg);
}
END_TEST

/* --- the store ------------------------------------------------------------- */

static void
feed(struct am_agg *agg, struct synth *sy)
{
	struct synth_txn x;
	while (synth_next(sy, &x)) {
		ck_assert_int_ge(am_agg_advance(agg, x.t), 0);
		am_agg_add(agg, &x.key, &x.conn, &x.txn);
	}
}

START_TEST(test_ids_stable)
{
	const char *dir = fresh_dir();
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct am_agg_row row;
	struct am_key_info ki;
	struct am_totals tot;
	struct am_store_info info;
	char name[AM_NAME_MAX], err[200];
	uint32_t sid;
	am_time_t base = T0 - T0 % (300 * S);

	st = open_rw(dir, NULL);
	/* one writer at a time */
	ck_assert_ptr_null(am_store_open(dir, NULL, AM_STORE_RDWR, err, sizeof(err)));
	ck_assert_msg(strstr(err, "another writer") != NULL, "%s", err);
	agg = am_agg_new(NULL, st);
	synth_init(&sy, 4, 6, base, 300 * S, 2, 60);
	feed(agg, &sy);
	ck_assert_int_eq(am_agg_finish(agg), 0);
	am_agg_free(agg);
	am_store_close(st);

	/* reopen read-only: the keys, signatures and totals are there */
	st = am_store_open(dir, NULL, AM_STORE_RDONLY, err, sizeof(err));
	ck_assert_msg(st != NULL, "%s", err);
	am_store_info(st, &info);
	ck_assert_uint_eq(info.keys, 6);
	ck_assert_uint_eq(info.sigs, 3);
	ck_assert_uint_eq(info.unclean_stops, 0);
	ck_assert_int_eq(am_store_key_get(st, 4, &ki), 0);
	ck_assert_uint_eq(ki.key.server_port, synth_port(3));
	ck_assert_str_eq(ki.key.rule, "synth");
	ck_assert_int_eq(am_store_key_next(st, 6, &ki), 1);
	ck_assert_int_eq(am_store_sig_next(st, 0, &sid, name, sizeof(name)), 0);
	ck_assert_uint_eq(sid, 1);
	ck_assert_int_eq(am_store_totals(st, 4, &tot), 0);
	ck_assert_uint_eq(tot.count, 20);
	am_store_close(st);

	/* a new run in another order: old keys keep their ids, new ones follow */
	st = open_rw(dir, NULL);
	agg = am_agg_new(NULL, st);
	synth_init(&sy, 5, 8, base + 3600 * S, 300 * S, 1, 16);
	sy.reverse = 1;
	feed(agg, &sy);
	ck_assert_int_eq(am_agg_row_get(agg, 4, &row), 0);
	ck_assert_uint_eq(row.key->server_port, synth_port(3));
	ck_assert_uint_eq(row.totals->count, 22);         /* totals continue */
	ck_assert_int_eq(am_agg_row_get(agg, 7, &row), 0);
	ck_assert_uint_eq(row.key->server_port, synth_port(7));  /* reversed: key 7 came first */
	ck_assert_int_eq(am_agg_row_get(agg, 8, &row), 0);
	ck_assert_uint_eq(row.key->server_port, synth_port(6));
	ck_assert_int_eq(am_agg_finish(agg), 0);
	am_agg_free(agg);
	am_store_close(st);
	st = am_store_open(dir, NULL, AM_STORE_RDONLY, err, sizeof(err));
	ck_assert_int_eq(am_store_key_get(st, 8, &ki), 0);
	ck_assert_uint_eq(ki.key.server_port, synth_port(6));
	am_store_close(st);
	/* an existing store keeps its interval length */
	struct am_store_cfg cfg;
	am_store_cfg_default(&cfg);
	cfg.interval_s = 60;
	st = am_store_open(dir, &cfg, AM_STORE_RDWR, err, sizeof(err));
	ck_assert_ptr_nonnull(st);
	am_store_info(st, &info);
	ck_assert_uint_eq(info.interval_s, 300);
	ck_assert_uint_eq(info.rollup_s, 3600);
	am_store_close(st);
	/* a new store: the rollup holds whole intervals; bad lengths are refused */
	rm_dir(dir);
	dir = fresh_dir();
	cfg.interval_s = 420;
	st = am_store_open(dir, &cfg, AM_STORE_RDWR, err, sizeof(err));
	ck_assert_ptr_nonnull(st);
	am_store_info(st, &info);
	ck_assert_uint_eq(info.rollup_s, 3780);
	am_store_close(st);
	cfg.interval_s = 5;
	ck_assert_ptr_null(am_store_open(dir, &cfg, AM_STORE_RDWR, err, sizeof(err)));
	cfg.interval_s = 3601;
	ck_assert_ptr_null(am_store_open(dir, &cfg, AM_STORE_RDWR, err, sizeof(err)));
	rm_dir(dir);
}
END_TEST

static void
assert_hist_same(const struct am_hist *a, const struct am_hist *b)
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
	ck_assert(a->sum == b->sum);                       /* integers: exact in doubles */
}

START_TEST(test_rollup_equals_raw)
{
	const char *dir = fresh_dir();
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct synth_txn x;
	/* raw values per key: by interval (24 x 5 min) and by hour (2) */
	enum { K = 3, NI = 24 };
	struct am_rec raw1[K][NI], raw2[K][2], got;
	am_time_t base = T0 - T0 % (3600 * S);

	for (int k = 0; k < K; k++) {
		for (int i = 0; i < NI; i++)
			am_rec_init(&raw1[k][i]);
		am_rec_init(&raw2[k][0]);
		am_rec_init(&raw2[k][1]);
	}
	am_rec_init(&got);
	st = open_rw(dir, NULL);
	agg = am_agg_new(NULL, st);
	synth_init(&sy, 6, K, base, 300 * S, NI, 200);
	while (synth_next(&sy, &x)) {
		int i = (int)((x.t - base) / (300 * S));
		ck_assert_int_ge(am_agg_advance(agg, x.t), 0);
		ck_assert_int_eq(am_agg_add(agg, &x.key, &x.conn, &x.txn), 0);
		for (int j = 0; j < 2; j++) {
			struct am_rec *r = j ? &raw2[x.k][i / 12] : &raw1[x.k][i];
			r->count++;
			am_hist_add(&r->t[AM_T_FIRST], (uint64_t)x.txn.first);
			am_hist_add(&r->t[AM_T_LAST], (uint64_t)x.txn.last);
			r->bytes[1] += x.txn.resp_bytes;
		}
	}
	ck_assert_int_eq(am_agg_finish(agg), 0);
	am_agg_free(agg);
	for (int k = 0; k < K; k++) {
		for (int i = 0; i < NI; i++) {
			ck_assert_int_eq(am_store_rec_get(st, 1, (uint32_t)k + 1, base + i * 300 * S, &got), 0);
			ck_assert_uint_eq(got.count, raw1[k][i].count);
			assert_hist_same(&got.t[AM_T_FIRST], &raw1[k][i].t[AM_T_FIRST]);
			assert_hist_same(&got.t[AM_T_LAST], &raw1[k][i].t[AM_T_LAST]);
		}
		for (int h = 0; h < 2; h++) {
			ck_assert_int_eq(am_store_rec_get(st, 2, (uint32_t)k + 1, base + h * 3600 * S, &got), 0);
			ck_assert_uint_eq(got.count, raw2[k][h].count);
			ck_assert_uint_eq(got.bytes[1], raw2[k][h].bytes[1]);
			assert_hist_same(&got.t[AM_T_FIRST], &raw2[k][h].t[AM_T_FIRST]);
			assert_hist_same(&got.t[AM_T_LAST], &raw2[k][h].t[AM_T_LAST]);
			for (int q = 1; q < 1000; q += 37)
				ck_assert_uint_eq(am_hist_quantile(&got.t[AM_T_FIRST], q / 1000.0),
				    am_hist_quantile(&raw2[k][h].t[AM_T_FIRST], q / 1000.0));
		}
		/* nothing at other starts; prev/next walk the intervals in order */
		ck_assert_int_eq(am_store_rec_get(st, 2, (uint32_t)k + 1, base + 2 * 3600 * S, &got), 1);
		am_time_t t = INT64_MAX, s;
		int n = 0;
		while (am_store_rec_prev(st, 1, (uint32_t)k + 1, t, &s, &got) == 0) {
			ck_assert_int_lt(s, t);
			t = s;
			n++;
		}
		ck_assert_int_eq(n, NI);
		ck_assert_int_eq(t, base);
		ck_assert_int_eq(am_store_rec_next(st, 1, (uint32_t)k + 1, base, &s, &got), 0);
		ck_assert_int_eq(s, base + 300 * S);
	}
	for (int k = 0; k < K; k++) {
		for (int i = 0; i < NI; i++)
			am_rec_free(&raw1[k][i]);
		am_rec_free(&raw2[k][0]);
		am_rec_free(&raw2[k][1]);
	}
	am_rec_free(&got);
	am_store_close(st);
	rm_dir(dir);
}
END_TEST

static int
count_recs(struct am_store *st, int level, uint32_t id, am_time_t *oldest)
{
	struct am_rec r;
	am_time_t t = -1, s;
	int n = 0;

	am_rec_init(&r);
	while (am_store_rec_next(st, level, id, t, &s, &r) == 0) {
		if (n == 0)
			*oldest = s;
		t = s;
		n++;
	}
	am_rec_free(&r);
	return n;
}

START_TEST(test_retention)
{
	const char *dir = fresh_dir();
	struct am_store_cfg cfg;
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct am_store_info info;
	am_time_t base = (am_time_t)1500000000 * S;     /* an old capture */
	am_time_t oldest = 0;

	base -= base % (3600 * S);
	am_store_cfg_default(&cfg);
	cfg.retain1_s = 3600;          /* 12 intervals */
	cfg.retain2_s = 3 * 3600;      /* 3 hours */
	st = open_rw(dir, &cfg);
	agg = am_agg_new(NULL, st);
	/* 6 hours of data: key 2 stops after 2 hours */
	synth_init(&sy, 7, 2, base, 300 * S, 72, 4);
	sy.stop_key2_after = base + 2 * 3600 * S;
	feed(agg, &sy);
	ck_assert_int_eq(am_agg_finish(agg), 0);
	am_agg_free(agg);
	am_store_info(st, &info);
	ck_assert_int_eq(info.newest1, base + 71 * 300 * S);
	/* counted back from the newest interval, not from the wall clock */
	ck_assert_int_eq(count_recs(st, 1, 1, &oldest), 12);
	ck_assert_int_eq(oldest, base + 60 * 300 * S);
	ck_assert_int_eq(count_recs(st, 1, 2, &oldest), 0);  /* idle key: all old */
	ck_assert_int_eq(count_recs(st, 2, 1, &oldest), 3);
	ck_assert_int_eq(oldest, base + 3 * 3600 * S);
	ck_assert_int_eq(count_recs(st, 2, 2, &oldest), 0);
	ck_assert_uint_eq(info.pruned1, 72 - 12 + 24);
	ck_assert_uint_eq(info.pruned2, 3 + 2);
	/* the totals are not pruned */
	struct am_totals tot;
	ck_assert_int_eq(am_store_totals(st, 2, &tot), 0);
	ck_assert_uint_eq(tot.count, 24 * 2);
	am_store_close(st);
	rm_dir(dir);
}
END_TEST

START_TEST(test_map_full)
{
	const char *dir = fresh_dir();
	struct am_store_cfg cfg;
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct am_store_info info;
	am_time_t base = T0 - T0 % (3600 * S), oldest = 0;
	char err[200];

	am_store_cfg_default(&cfg);
	cfg.map_size = 1 << 20;        /* 1 MiB: fills within a few hours */
	st = open_rw(dir, &cfg);
	agg = am_agg_new(NULL, st);
	synth_init(&sy, 8, 40, base, 300 * S, 12 * 24, 120);
	feed(agg, &sy);                /* feed asserts that no flush failed */
	ck_assert_int_eq(am_agg_finish(agg), 0);
	am_agg_free(agg);
	am_store_info(st, &info);
	ck_assert_uint_gt(info.map_full, 0);
	ck_assert_uint_gt(info.pruned_full, 0);
	ck_assert_uint_eq(info.errors, 0);
	ck_assert_uint_eq(info.map_size, 1 << 20);  /* pruning made room: no growth */
	/* the newest data is there, the oldest is gone */
	ck_assert_int_gt(count_recs(st, 1, 1, &oldest), 0);
	ck_assert_int_gt(oldest, base);
	struct am_rec r;
	am_rec_init(&r);
	ck_assert_int_eq(am_store_rec_get(st, 1, 40, base + (12 * 24 - 1) * 300 * S, &r), 0);
	ck_assert_uint_eq(r.count, 3);
	am_rec_free(&r);
	am_store_close(st);
	/* the environment opens afterwards */
	st = am_store_open(dir, &cfg, AM_STORE_RDWR, err, sizeof(err));
	ck_assert_msg(st != NULL, "%s", err);
	am_store_info(st, &info);
	ck_assert_uint_eq(info.unclean_stops, 0);
	am_store_close(st);
	rm_dir(dir);
}
END_TEST

START_TEST(test_unclean_stop)
{
	const char *dir = fresh_dir();
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct am_store_info info;
	am_time_t base = T0 - T0 % (300 * S);

	st = open_rw(dir, NULL);
	agg = am_agg_new(NULL, st);
	synth_init(&sy, 9, 2, base, 300 * S, 3, 10);
	feed(agg, &sy);
	/* no am_agg_finish: the open interval is lost, the stop is unclean */
	am_agg_free(agg);
	am_store_close(st);
	st = open_rw(dir, NULL);
	am_store_info(st, &info);
	ck_assert_uint_eq(info.unclean_stops, 1);
	ck_assert_int_eq(info.discontinuity, info.flushed_clock);
	ck_assert_int_ge(info.flushed_clock, base + 600 * S);
	ck_assert_int_eq(info.newest1, base + 300 * S);
	agg = am_agg_new(NULL, st);
	ck_assert_int_eq(am_agg_finish(agg), 0);
	am_agg_free(agg);
	am_store_close(st);
	st = open_rw(dir, NULL);
	am_store_info(st, &info);
	ck_assert_uint_eq(info.unclean_stops, 1);     /* that stop was clean */
	am_store_close(st);
	/* not a store */
	char err[200] = "";
	ck_assert_ptr_null(am_store_open("/nonexistent/dir", NULL, AM_STORE_RDONLY, err, sizeof(err)));
	ck_assert(err[0] != 0);
	rm_dir(dir);
}
END_TEST

struct drops {
	uint64_t out, back, count_out;
};

static void
count_drop(void *ctx, const struct am_agg_row *row, int back)
{
	struct drops *d = ctx;

	if (back) {
		d->back++;
		d->count_out -= row->totals->count;
	} else {
		d->out++;
		d->count_out += row->totals->count;
	}
}

START_TEST(test_drop_idle)
{
	struct drops drops = { 0, 0, 0 };
	const char *dir = fresh_dir();
	struct am_agg_cfg cfg;
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct synth_txn x;
	struct am_agg_stats stats;
	struct am_agg_row row;
	am_time_t base = T0 - T0 % (60 * S);

	am_agg_cfg_default(&cfg);
	cfg.interval_s = 60;
	cfg.idle_s = 60;
	cfg.max_known = 10;
	struct am_store_cfg scfg;
	am_store_cfg_default(&scfg);
	scfg.interval_s = 60;
	st = open_rw(dir, &scfg);
	agg = am_agg_new(&cfg, st);
	ck_assert_int_eq(am_agg_on_drop(agg, count_drop, &drops), 0);
	/* 30 keys, each seen in one interval only (2 transactions) */
	for (uint32_t k = 0; k < 30; k++) {
		synth_init(&sy, 20, 1, base + k * 60 * S, 60 * S, 1, 2);
		while (synth_next(&sy, &x)) {
			x.conn.server_port = synth_port(k);
			x.key.server_port = synth_port(k);
			ck_assert_int_ge(am_agg_advance(agg, x.t), 0);
			ck_assert_int_eq(am_agg_add(agg, &x.key, &x.conn, &x.txn), 0);
		}
	}
	ck_assert_int_eq(am_agg_advance(agg, base + 31 * 60 * S), 1);
	am_agg_stats(agg, &stats);
	ck_assert_uint_le(stats.keys_known, 10);     /* bounded */
	ck_assert_uint_eq(stats.keys_total, 30);
	ck_assert_uint_gt(stats.keys_dropped, 0);
	ck_assert_int_eq(am_agg_row_get(agg, 1, &row), 1);   /* key 1 was dropped */
	ck_assert_uint_eq(drops.out, stats.keys_dropped);    /* reported, with their totals */
	ck_assert_uint_eq(drops.count_out, 2 * drops.out);
	/* key 1 comes back: same id, totals continue */
	synth_init(&sy, 21, 1, base + 40 * 60 * S, 60 * S, 1, 3);
	while (synth_next(&sy, &x)) {
		x.conn.server_port = synth_port(0);
		x.key.server_port = synth_port(0);
		am_agg_advance(agg, x.t);
		ck_assert_int_eq(am_agg_add(agg, &x.key, &x.conn, &x.txn), 0);
	}
	ck_assert_int_eq(am_agg_row_get(agg, 1, &row), 0);
	ck_assert_uint_eq(row.key->server_port, synth_port(0));
	ck_assert_uint_eq(row.totals->count, 5);
	am_agg_stats(agg, &stats);
	ck_assert_uint_eq(stats.keys_reloaded, 1);
	ck_assert_uint_eq(stats.keys_total, 30);
	ck_assert_uint_eq(drops.back, 1);
	ck_assert_uint_eq(drops.count_out, 2 * (drops.out - 1));
	ck_assert_int_eq(am_agg_finish(agg), 0);
	am_agg_free(agg);
	/* reopening with the same bound loads only the keys seen last */
	agg = am_agg_new(&cfg, st);
	am_agg_stats(agg, &stats);
	ck_assert_uint_le(stats.keys_known, 10);
	ck_assert_uint_eq(stats.keys_total, 30);
	ck_assert_uint_ge(stats.keys_dropped, 20);
	/* registering reports the keys left in the store */
	memset(&drops, 0, sizeof(drops));
	ck_assert_int_eq(am_agg_on_drop(agg, count_drop, &drops), 0);
	ck_assert_uint_eq(drops.out, stats.keys_dropped);
	ck_assert_int_eq(am_agg_row_get(agg, 1, &row), 0);     /* key 1: seen last */
	ck_assert_int_eq(am_agg_row_get(agg, 2, &row), 1);     /* key 2: left stored */
	/* key 2 comes back with its id and totals */
	synth_init(&sy, 22, 1, base + 50 * 60 * S, 60 * S, 1, 1);
	while (synth_next(&sy, &x)) {
		x.conn.server_port = synth_port(1);
		x.key.server_port = synth_port(1);
		am_agg_advance(agg, x.t);
		ck_assert_int_eq(am_agg_add(agg, &x.key, &x.conn, &x.txn), 0);
	}
	ck_assert_int_eq(am_agg_row_get(agg, 2, &row), 0);
	ck_assert_uint_eq(row.totals->count, 3);
	am_agg_stats(agg, &stats);
	ck_assert_uint_eq(stats.keys_total, 30);
	am_agg_free(agg);
	am_store_close(st);
	rm_dir(dir);
}
END_TEST

START_TEST(test_deferred_flush)
{
	const char *dir = fresh_dir();
	struct am_agg_cfg cfg;
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct synth_txn x;
	struct am_rec r;
	struct am_agg_row row;
	am_time_t base = T0 - T0 % (300 * S);
	int steps = 0, closed = 0;

	am_rec_init(&r);
	am_agg_cfg_default(&cfg);
	cfg.deferred_flush = 1;
	st = open_rw(dir, NULL);
	agg = am_agg_new(&cfg, st);
	synth_init(&sy, 12, 50, base, 300 * S, 2, 500);
	while (synth_next(&sy, &x)) {
		int c = am_agg_advance(agg, x.t);
		ck_assert_int_ge(c, 0);
		if (c == 1) {
			closed++;
			/* nothing is written yet; the rows read as usual */
			ck_assert_int_eq(am_agg_flush_pending(agg), 1);
			ck_assert_int_eq(am_store_rec_get(st, 1, 1, base, &r), 1);
			ck_assert_int_eq(am_agg_row_get(agg, 1, &row), 0);
			ck_assert_uint_eq(row.last->count, 10);
		}
		am_agg_add(agg, &x.key, &x.conn, &x.txn);
		if (am_agg_flush_pending(agg)) {
			int s = am_agg_flush_step(agg, 4);
			ck_assert_int_ge(s, 0);
			steps++;
			if (s == 0)
				ck_assert_int_eq(am_agg_flush_pending(agg), 0);
		}
	}
	ck_assert_int_eq(closed, 1);
	ck_assert_int_eq(steps, 50 / 4 + 1);     /* 4 keys a step, then the commit */
	ck_assert_int_eq(am_store_rec_get(st, 1, 1, base, &r), 0);
	ck_assert_uint_eq(r.count, 10);
	ck_assert_int_eq(am_store_rec_get(st, 1, 50, base, &r), 0);
	/* the next close (here: finish) completes a pending flush first */
	ck_assert_int_eq(am_agg_advance(agg, base + 600 * S), 1);
	ck_assert_int_eq(am_agg_flush_pending(agg), 1);
	ck_assert_int_eq(am_agg_finish(agg), 0);
	ck_assert_int_eq(am_agg_flush_pending(agg), 0);
	ck_assert_int_eq(am_store_rec_get(st, 1, 50, base + 300 * S, &r), 0);
	ck_assert_uint_eq(r.count, 10);
	ck_assert_int_eq(am_agg_flush_step(agg, 10), 0);
	am_agg_free(agg);
	am_rec_free(&r);
	am_store_close(st);
	rm_dir(dir);
}
END_TEST

struct close_count {
	uint32_t calls;
	int gauges_ok;
};

static void
count_close(void *ctx, am_time_t start, uint32_t interval_s, const struct am_agg_row *row,
    const struct am_rec *rec)
{
	struct close_count *cc = ctx;

	(void)interval_s;
	cc->calls++;
	/* the gauges given with the call are those of this record */
	if (row->last->start != start || row->last->count != rec->count)
		cc->gauges_ok = 0;
}

/* The stop of artmond (SIGTERM) while a flush is still going in steps,
 * with the last flush left to steps too (am_agg_defer_finish): the
 * interval being written is completed first, then the last one is, each
 * key's close work done once, and the store reads as cleanly stopped. */
START_TEST(test_finish_during_deferred_flush)
{
	const char *dir = fresh_dir();
	struct am_agg_cfg cfg;
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct synth_txn x;
	struct am_rec r;
	struct am_store_info info;
	struct close_count cc = { 0, 1 };
	am_time_t base = T0 - T0 % (300 * S);

	am_rec_init(&r);
	am_agg_cfg_default(&cfg);
	cfg.deferred_flush = 1;
	st = open_rw(dir, NULL);
	agg = am_agg_new(&cfg, st);
	am_agg_defer_finish(agg, 1);
	am_agg_on_close(agg, count_close, &cc);
	synth_init(&sy, 13, 50, base, 300 * S, 2, 500);
	while (synth_next(&sy, &x)) {
		ck_assert_int_ge(am_agg_advance(agg, x.t), 0);
		am_agg_add(agg, &x.key, &x.conn, &x.txn);
	}
	/* the first interval's flush has not started; two steps of it */
	ck_assert_int_eq(am_agg_flush_pending(agg), 1);
	ck_assert_int_eq(am_agg_flush_step(agg, 4), 1);
	ck_assert_int_eq(am_agg_flush_step(agg, 4), 1);
	ck_assert_uint_eq(cc.calls, 8);
	ck_assert_int_eq(am_store_rec_get(st, 1, 50, base, &r), 1);
	/* the stop */
	ck_assert_int_eq(am_agg_finish(agg), 0);
	ck_assert_uint_eq(cc.calls, 50);
	ck_assert_int_eq(am_store_rec_get(st, 1, 50, base, &r), 0);
	ck_assert_uint_eq(r.count, 10);
	ck_assert_int_eq(am_agg_flush_pending(agg), 1);
	ck_assert_int_eq(am_store_rec_get(st, 1, 50, base + 300 * S, &r), 1);
	while (am_agg_flush_step(agg, UINT32_MAX) == 1)
		;
	ck_assert_int_eq(am_agg_flush_pending(agg), 0);
	ck_assert_uint_eq(cc.calls, 100);
	ck_assert_int_eq(cc.gauges_ok, 1);
	ck_assert_int_eq(am_store_rec_get(st, 1, 50, base + 300 * S, &r), 0);
	ck_assert_uint_eq(r.count, 10);
	am_agg_free(agg);
	am_store_close(st);
	st = open_rw(dir, NULL);
	am_store_info(st, &info);
	ck_assert_uint_eq(info.unclean_stops, 0);
	ck_assert_int_eq(info.newest1, base + 300 * S);
	am_store_close(st);
	am_rec_free(&r);
	rm_dir(dir);
}
END_TEST

/* An interval whose keys had all gone idle when it closed (the next
 * packet came hours later): their close work, done in the steps of the
 * deferred flush after the idle keys left the live table, still comes with
 * each key's gauges of that interval. */
START_TEST(test_close_work_of_keys_gone_idle)
{
	struct am_agg_cfg cfg;
	struct am_agg *agg;
	struct synth sy;
	struct am_agg_stats as;
	struct close_count cc = { 0, 1 };
	am_time_t base = T0 - T0 % (300 * S);

	am_agg_cfg_default(&cfg);
	cfg.deferred_flush = 1;
	agg = am_agg_new(&cfg, NULL);
	ck_assert_ptr_nonnull(agg);
	am_agg_on_close(agg, count_close, &cc);
	synth_init(&sy, 14, 5, base, 300 * S, 1, 50);
	feed(agg, &sy);
	ck_assert_int_eq(am_agg_advance(agg, base + 3 * 3600 * S), 1);
	am_agg_stats(agg, &as);
	ck_assert_uint_eq(as.keys_expired, 5);
	while (am_agg_flush_step(agg, 2) == 1)
		;
	ck_assert_uint_eq(cc.calls, 5);
	ck_assert_int_eq(cc.gauges_ok, 1);
	am_agg_free(agg);
}
END_TEST

/* A key's history with gaps, among other keys and empty periods. */
START_TEST(test_history_gaps)
{
	const char *dir = fresh_dir();
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct synth_txn x;
	struct am_rec r;
	am_time_t base = T0 - T0 % (3600 * S), s, t;
	/* key 0 in intervals 0, 5, 9, 30; key 1 in 1..12; nothing in 13..29 */
	static const int k0[] = { 0, 5, 9, 30 };
	int n;

	am_rec_init(&r);
	st = open_rw(dir, NULL);
	agg = am_agg_new(NULL, st);
	synth_init(&sy, 30, 2, base, 300 * S, 31, 2);
	while (synth_next(&sy, &x)) {
		int i = (int)((x.t - base) / (300 * S)), want = 0;
		for (size_t j = 0; j < 4; j++)
			want |= x.k == 0 && i == k0[j];
		want |= x.k == 1 && i >= 1 && i <= 12;
		if (!want)
			continue;
		ck_assert_int_ge(am_agg_advance(agg, x.t), 0);
		am_agg_add(agg, &x.key, &x.conn, &x.txn);
	}
	ck_assert_int_eq(am_agg_finish(agg), 0);
	am_agg_free(agg);
	/* forwards */
	for (n = 0, t = -1; am_store_rec_next(st, 1, 1, t, &s, &r) == 0; t = s, n++) {
		ck_assert_int_lt(n, 4);
		ck_assert_int_eq(s, base + k0[n] * 300 * S);
		ck_assert_uint_eq(r.count, 1);
	}
	ck_assert_int_eq(n, 4);
	/* backwards, from the end and from inside a gap */
	for (n = 3, t = INT64_MAX; am_store_rec_prev(st, 1, 1, t, &s, &r) == 0; t = s, n--)
		ck_assert_int_eq(s, base + k0[n] * 300 * S);
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(am_store_rec_prev(st, 1, 1, base + 20 * 300 * S, &s, &r), 0);
	ck_assert_int_eq(s, base + 9 * 300 * S);
	ck_assert_int_eq(am_store_rec_next(st, 1, 1, base + 9 * 300 * S, &s, &r), 0);
	ck_assert_int_eq(s, base + 30 * 300 * S);
	ck_assert_int_eq(am_store_rec_next(st, 1, 1, base + 9 * 300 * S + 1, &s, &r), 0);
	ck_assert_int_eq(s, base + 30 * 300 * S);
	ck_assert_int_eq(am_store_rec_prev(st, 1, 1, base + 5 * 300 * S + 1, &s, &r), 0);
	ck_assert_int_eq(s, base + 5 * 300 * S);
	ck_assert_int_eq(am_store_rec_prev(st, 1, 1, base, &s, &r), 1);
	/* key 2 (1..12), and level 2: hours 0 and 2 for key 1 */
	for (n = 0, t = -1; am_store_rec_next(st, 1, 2, t, &s, &r) == 0; t = s, n++)
		ck_assert_int_eq(s, base + (n + 1) * 300 * S);
	ck_assert_int_eq(n, 12);
	for (n = 0, t = -1; am_store_rec_next(st, 2, 1, t, &s, &r) == 0; t = s, n++)
		ck_assert_int_eq(s, base + 2 * n * 3600 * S);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_int_eq(am_store_rec_prev(st, 2, 1, INT64_MAX, &s, &r), 0);
	ck_assert_int_eq(s, base + 2 * 3600 * S);
	ck_assert_int_eq(am_store_rec_prev(st, 2, 1, s, &s, &r), 0);
	ck_assert_int_eq(s, base);
	ck_assert_uint_eq(r.count, 3);
	/* an unknown key has no history */
	ck_assert_int_eq(am_store_rec_next(st, 1, 99, -1, &s, &r), 1);
	ck_assert_int_eq(am_store_rec_prev(st, 1, 99, INT64_MAX, &s, &r), 1);
	am_rec_free(&r);
	am_store_close(st);
	rm_dir(dir);
}
END_TEST

static int
flush_baseline(void *ctx, struct am_store_w *w)
{
	int *n = ctx;
	uint8_t key[4] = { 0, 0, 0, 1 };
	char val[32];

	(*n)++;
	snprintf(val, sizeof(val), "flush %d", *n);
	return am_store_aux_put(w, AM_AUX_BASELINE, key, sizeof(key), val, strlen(val) + 1);
}

struct walk {
	int n;
	char keys[8][8];
};

static int
walk_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct walk *wk = ctx;
	ck_assert_uint_lt(klen, 8);
	memcpy(wk->keys[wk->n], key, klen);
	wk->keys[wk->n][klen] = 0;
	wk->n++;
	return 0;
}

START_TEST(test_aux)
{
	const char *dir = fresh_dir();
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct walk wk;
	char buf[64];
	size_t len;
	int flushes = 0;
	uint8_t bkey[4] = { 0, 0, 0, 1 };
	am_time_t base = T0 - T0 % (300 * S);

	st = open_rw(dir, NULL);
	/* rows written on their own (an SNMP SET) */
	ck_assert_int_eq(am_store_aux_write(st, AM_AUX_ALARM, "b", 1, "row b", 6), 0);
	ck_assert_int_eq(am_store_aux_write(st, AM_AUX_ALARM, "a", 1, "row a", 6), 0);
	ck_assert_int_eq(am_store_aux_write(st, AM_AUX_ALARM, "c", 1, "row c", 6), 0);
	ck_assert_int_eq(am_store_aux_write(st, AM_AUX_ALARM, "c", 1, NULL, 0), 0);
	len = sizeof(buf);
	ck_assert_int_eq(am_store_aux_get(st, AM_AUX_ALARM, "a", 1, buf, &len), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(buf, "row a");
	len = 2;
	ck_assert_int_eq(am_store_aux_get(st, AM_AUX_ALARM, "a", 1, buf, &len), -1);
	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(am_store_aux_get(st, AM_AUX_ALARM, "c", 1, buf, &len), 1);
	ck_assert_int_eq(am_store_aux_get(st, AM_AUX_BASELINE, "a", 1, buf, &len), 1);
	/* state written with each flush */
	agg = am_agg_new(NULL, st);
	am_agg_on_flush(agg, flush_baseline, &flushes);
	synth_init(&sy, 10, 2, base, 300 * S, 3, 10);
	feed(agg, &sy);
	ck_assert_int_eq(am_agg_finish(agg), 0);
	am_agg_free(agg);
	ck_assert_int_eq(flushes, 3);
	am_store_close(st);
	/* all of it persists */
	st = am_store_open(dir, NULL, AM_STORE_RDONLY, buf, sizeof(buf));
	ck_assert_ptr_nonnull(st);
	len = sizeof(buf);
	ck_assert_int_eq(am_store_aux_get(st, AM_AUX_BASELINE, bkey, sizeof(bkey), buf, &len), 0);
	ck_assert_str_eq(buf, "flush 3");
	memset(&wk, 0, sizeof(wk));
	ck_assert_int_eq(am_store_aux_walk(st, AM_AUX_ALARM, walk_cb, &wk), 0);
	ck_assert_int_eq(wk.n, 2);
	ck_assert_str_eq(wk.keys[0], "a");
	ck_assert_str_eq(wk.keys[1], "b");
	/* read-only: writes refused */
	ck_assert_int_eq(am_store_aux_write(st, AM_AUX_ALARM, "d", 1, "x", 1), -1);
	am_store_close(st);
	rm_dir(dir);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("encodings");
	tcase_add_test(tc, test_key_encoding);
	tcase_add_test(tc, test_rec_encoding);
	suite_add_tcase(s, tc);
	tc = tcase_create("agg");
	tcase_add_test(tc, test_agg_intervals);
	tcase_add_test(tc, test_agg_overflow_and_idle);
	suite_add_tcase(s, tc);
	tc = tcase_create("lmdb");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ids_stable);
	tcase_add_test(tc, test_rollup_equals_raw);
	tcase_add_test(tc, test_retention);
	tcase_add_test(tc, test_map_full);
	tcase_add_test(tc, test_unclean_stop);
	tcase_add_test(tc, test_aux);
	tcase_add_test(tc, test_drop_idle);
	tcase_add_test(tc, test_deferred_flush);
	tcase_add_test(tc, test_finish_during_deferred_flush);
	tcase_add_test(tc, test_close_work_of_keys_gone_idle);
	tcase_add_test(tc, test_history_gaps);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	log_init("check_store", 0);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
