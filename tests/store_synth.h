/* A deterministic generator of synthetic transactions for the store tests:
 * n_intervals intervals of `per` transactions each, evenly spaced in time,
 * spread round-robin over nkeys keys (server 10.1.x.y, port synth_port(k),
 * signature "sig<k % 3>", rule "synth"), with heavy-tailed timings. */
#ifndef AM_TESTS_STORE_SYNTH_H
#define AM_TESTS_STORE_SYNTH_H

#include <math.h>
#include <string.h>
#include <stdio.h>
#include "store/agg.h"

struct synth {
	uint64_t seed;
	uint32_t nkeys;
	am_time_t start, step;
	uint64_t j, n;
	int reverse;                  /* keys in reverse order */
	am_time_t stop_key2_after;    /* key index 1 sends nothing from then on (0: never) */
};

struct synth_txn {
	am_time_t t;
	uint32_t k;
	struct am_agg_key key;
	struct am_conn conn;
	struct am_txn txn;
};

static inline uint16_t
synth_port(uint32_t k)
{
	return (uint16_t)(8000 + k);
}

static inline uint64_t
synth_mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static inline void
synth_init(struct synth *sy, uint64_t seed, uint32_t nkeys, am_time_t start,
    am_time_t interval, uint32_t n_intervals, uint32_t per)
{
	memset(sy, 0, sizeof(*sy));
	sy->seed = seed;
	sy->nkeys = nkeys;
	sy->start = start;
	sy->step = interval / per;
	sy->n = (uint64_t)n_intervals * per;
}

static inline int
synth_next(struct synth *sy, struct synth_txn *x)
{
	uint64_t r, j;
	double u;

	for (;;) {
		if (sy->j >= sy->n)
			return 0;
		j = sy->j++;
		x->t = sy->start + (am_time_t)j * sy->step;
		x->k = (uint32_t)(j % sy->nkeys);
		if (sy->reverse)
			x->k = sy->nkeys - 1 - x->k;
		if (!(sy->stop_key2_after && x->k == 1 && x->t >= sy->stop_key2_after))
			break;
	}
	r = synth_mix(sy->seed * 1000003 + j);
	u = ((double)(r >> 11) + 1.0) / 9007199254740992.0;
	memset(&x->conn, 0, sizeof(x->conn));
	memset(&x->txn, 0, sizeof(x->txn));
	x->conn.id = j;
	x->conn.server.family = AM_AF_INET;
	x->conn.server.a[0] = 10;
	x->conn.server.a[1] = 1;
	x->conn.server.a[2] = (uint8_t)(x->k >> 8);
	x->conn.server.a[3] = (uint8_t)x->k;
	x->conn.client.family = AM_AF_INET;
	x->conn.client.a[0] = 192;
	x->conn.client.a[1] = 168;
	x->conn.client.a[3] = (uint8_t)(r >> 3);
	x->conn.server_port = synth_port(x->k);
	x->conn.client_port = (uint16_t)(1024 + (r >> 20) % 60000);
	x->conn.syn_ts = x->t - 3000;
	x->conn.est_ts = x->t - 1000;
	x->conn.first_ts = x->conn.syn_ts;
	x->conn.last_ts = x->t;
	x->conn.srv_rtt = 200 + (int64_t)(r % 300);
	x->conn.cli_rtt = 1000 + (int64_t)((r >> 9) % 3000);
	x->conn.bytes[0] = 300;
	x->conn.bytes[1] = 5000;
	x->conn.rule = 0;
	x->txn.seq = (uint32_t)(r >> 40) % 3 + 1;
	/* Pareto-like: 2 ms scale, occasional seconds */
	x->txn.first = (int64_t)(2000.0 * (1 + x->k % 4) / pow(u, 1.0 / 1.3));
	if (x->txn.first > 60000000)
		x->txn.first = 60000000;
	x->txn.last = x->txn.first + (int64_t)((r >> 17) % 50000);
	x->txn.ack = (r >> 33) % 5 ? (int64_t)((r >> 25) % 900 + 50) : -1;
	x->txn.think = x->txn.seq > 1 ? (int64_t)((r >> 13) % 2000000) : -1;
	x->txn.req_first = x->t - x->txn.last - 100;
	x->txn.req_last = x->txn.req_first + 100;
	x->txn.req_bytes = 200 + (r >> 50) % 800;
	x->txn.resp_bytes = 1000 + (r >> 44) % 100000;
	x->txn.req_pkts = 1;
	x->txn.resp_pkts = (uint32_t)(x->txn.resp_bytes / 1448 + 1);
	x->txn.retrans = (r >> 7) % 50 == 0;
	x->txn.gap_bytes = (r >> 8) % 97 == 0 ? 1448 : 0;
	x->txn.outcome = (r >> 5) % 40 == 0 ? AM_OUT_RESET :
	    (r >> 5) % 40 == 1 ? AM_OUT_TIMEOUT : AM_OUT_COMPLETE;
	x->txn.signature = (int32_t)(x->k % 3);
	{
		char sig[16];
		snprintf(sig, sizeof(sig), "sig%u", x->k % 3);
		am_agg_key_make(&x->key, &x->conn, "synth", sig, 32, 128, AM_BY_SERVER);
	}
	return 1;
}

#endif
