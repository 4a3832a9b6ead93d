/* Tracker tests on a fake clock: handshakes, exchanges, retransmissions,
 * reordering, resets, timeouts, caps, port reuse. */
#include "config.h"
#include "capture/tracker.h"
#include "capture/framing.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define MAXEV 64

struct ev {
	int ntxn, nconn, nadu;
	struct am_adu adu[MAXEV];
	struct am_txn txn[MAXEV];
	struct am_conn txn_conn[MAXEV];
	struct am_conn conn[MAXEV];
};

static struct ev E;

static void
on_txn(void *ctx, const struct am_conn *c, const struct am_txn *t)
{
	(void)ctx;
	if (E.ntxn < MAXEV) {
		E.txn_conn[E.ntxn] = *c;
		E.txn[E.ntxn++] = *t;
	}
}

static void
on_conn(void *ctx, const struct am_conn *c)
{
	(void)ctx;
	if (E.nconn < MAXEV)
		E.conn[E.nconn++] = *c;
}

static void
on_adu(void *ctx, const struct am_conn *c, const struct am_adu *a)
{
	(void)ctx;
	(void)c;
	if (E.nadu < MAXEV)
		E.adu[E.nadu++] = *a;
}

static struct am_tracker *
mk(struct am_tracker_cfg *cfg)
{
	struct am_tracker_cfg d;
	struct am_tracker_cb cb = { .txn = on_txn, .conn_end = on_conn, .adu = on_adu };

	memset(&E, 0, sizeof(E));
	if (cfg == NULL) {
		am_tracker_cfg_default(&d);
		cfg = &d;
	}
	cfg->seed = 42;
	return am_tracker_new(cfg, &cb);
}

#define T0 1700000000000000LL
#define C2S 0
#define S2C 1
#define SYN 0x02
#define ACK 0x10
#define FIN 0x01
#define RST 0x04
#define PSH 0x08

static uint16_t cport = 40000;

/* One packet of the connection 10.0.0.1:cport <-> 10.0.0.2:80 at T0 + us,
 * carrying len bytes (data: their captured content, or NULL). */
static void
pkt(struct am_tracker *t, int dir, int64_t us, uint8_t flags, uint32_t seq, uint32_t ack,
    const uint8_t *data, uint32_t len)
{
	struct am_packet p;

	memset(&p, 0, sizeof(p));
	p.ts = T0 + us;
	p.proto = AM_IPPROTO_TCP;
	p.src.family = p.dst.family = AM_AF_INET;
	uint8_t c[4] = { 10, 0, 0, 1 }, s[4] = { 10, 0, 0, 2 };
	memcpy(p.src.a, dir == C2S ? c : s, 4);
	memcpy(p.dst.a, dir == C2S ? s : c, 4);
	p.sport = dir == C2S ? cport : 80;
	p.dport = dir == C2S ? 80 : cport;
	p.tcp_flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.seg_len = len;
	p.payload = data;
	p.payload_len = data ? len : 0;
	p.wscale = 0xff;
	p.mss = (flags & SYN) ? 1460 : 0;
	am_tracker_packet(t, &p);
}

static void
pk(struct am_tracker *t, int dir, int64_t us, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len)
{
	pkt(t, dir, us, flags, seq, ack, NULL, len);
}

static void
pkd(struct am_tracker *t, int dir, int64_t us, uint8_t flags, uint32_t seq, uint32_t ack,
    const char *data)
{
	pkt(t, dir, us, flags, seq, ack, (const uint8_t *)data, (uint32_t)strlen(data));
}

/* Handshake at 0 / 100 / 300 us: client ISN 1000, server ISN 5000. */
static void
handshake(struct am_tracker *t)
{
	pk(t, C2S, 0, SYN, 1000, 0, 0);
	pk(t, S2C, 100, SYN | ACK, 5000, 1001, 0);
	pk(t, C2S, 300, ACK, 1001, 5001, 0);
}

START_TEST(test_one_exchange)
{
	struct am_tracker *t = mk(NULL);

	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);      /* request 100 B */
	pk(t, C2S, 1200, ACK | PSH, 1101, 5001, 50);       /* ...and 50 more */
	pk(t, S2C, 5000, ACK, 5001, 1151, 1000);           /* response */
	pk(t, S2C, 5300, ACK | PSH, 6001, 1151, 500);
	pk(t, C2S, 5400, ACK, 1151, 6501, 0);              /* client ACKs it all */
	pk(t, C2S, 9000, ACK | FIN, 1151, 6501, 0);
	pk(t, S2C, 9100, ACK | FIN, 6501, 1152, 0);
	pk(t, C2S, 9200, ACK, 1152, 6502, 0);
	ck_assert_int_eq(E.ntxn, 1);
	struct am_txn *x = &E.txn[0];
	ck_assert_int_eq(x->outcome, AM_OUT_COMPLETE);
	ck_assert_int_eq(x->first, 4000);
	ck_assert_int_eq(x->last, 4300);
	ck_assert_int_eq(x->ack, 4400);
	ck_assert_int_eq(x->think, 3800);
	ck_assert_uint_eq(x->req_bytes, 150);
	ck_assert_uint_eq(x->resp_bytes, 1500);
	ck_assert_uint_eq(x->req_pkts, 2);
	ck_assert_uint_eq(x->resp_pkts, 2);
	ck_assert_int_eq(E.txn_conn[0].srv_rtt, 100);
	ck_assert_int_eq(E.txn_conn[0].cli_rtt, 200);
	ck_assert_int_eq(E.txn_conn[0].mss[0], 1460);
	am_tracker_tick(t, T0 + 60 * 1000000LL);
	ck_assert_int_eq(E.nconn, 1);
	ck_assert_int_eq(E.conn[0].outcome, AM_OUT_COMPLETE);
	ck_assert_uint_eq(E.conn[0].bytes[0], 150);
	ck_assert_uint_eq(E.conn[0].bytes[1], 1500);
	ck_assert_int_eq(E.conn[0].closed_by, 1);
	am_tracker_free(t);
}
END_TEST

START_TEST(test_keepalive_and_quiet)
{
	struct am_tracker *t = mk(NULL);

	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	pk(t, S2C, 2000, ACK | PSH, 5001, 1101, 200);
	pk(t, C2S, 2100, ACK, 1101, 5201, 0);
	ck_assert_int_eq(E.ntxn, 0);                       /* not yet quiet */
	pk(t, C2S, 3000, ACK | PSH, 1101, 5201, 80);       /* next request ends the first */
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn[0].first, 1000);
	ck_assert_uint_eq(E.txn[0].seq, 1);
	pk(t, S2C, 3500, ACK | PSH, 5201, 1181, 300);
	pk(t, C2S, 3600, ACK, 1181, 5501, 0);
	am_tracker_tick(t, T0 + 3600 + 400000);             /* 400 ms: not yet */
	ck_assert_int_eq(E.ntxn, 1);
	am_tracker_tick(t, T0 + 3600 + 500000);             /* 500 ms quiet: done */
	ck_assert_int_eq(E.ntxn, 2);
	ck_assert_int_eq(E.txn[1].first, 500);
	ck_assert_int_eq(E.txn[1].ack, 600);
	ck_assert_uint_eq(E.txn[1].seq, 2);
	ck_assert_int_eq(E.txn[1].outcome, AM_OUT_COMPLETE);
	am_tracker_finish(t);
	ck_assert_int_eq(E.ntxn, 2);
	ck_assert_int_eq(E.nconn, 1);
	ck_assert_int_eq(E.conn[0].outcome, AM_OUT_OPEN);
	ck_assert_uint_eq(E.conn[0].transactions, 2);
	am_tracker_free(t);
}
END_TEST

START_TEST(test_retransmission_does_not_move_timings)
{
	struct am_tracker *t = mk(NULL);

	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	pk(t, C2S, 1500, ACK | PSH, 1001, 5001, 100);      /* request retransmitted */
	pk(t, S2C, 2000, ACK, 5001, 1101, 1000);
	pk(t, S2C, 2100, ACK | PSH, 6001, 1101, 1000);
	pk(t, S2C, 9000, ACK, 5001, 1101, 1000);           /* response retransmitted late */
	pk(t, C2S, 9100, ACK, 1101, 7001, 0);
	am_tracker_finish(t);
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn[0].think, 1000);            /* from the first copy */
	ck_assert_int_eq(E.txn[0].last, 1100);             /* the late copy did not move it */
	ck_assert_uint_eq(E.txn[0].retrans, 2);
	ck_assert_uint_eq(E.txn[0].req_bytes, 100);
	ck_assert_uint_eq(E.txn[0].resp_bytes, 2000);
	ck_assert_uint_eq(E.conn[0].retrans[0], 1);
	ck_assert_uint_eq(E.conn[0].retrans[1], 1);
	am_tracker_free(t);
}
END_TEST

START_TEST(test_reordering_and_gap)
{
	struct am_tracker *t = mk(NULL);

	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	pk(t, S2C, 2000, ACK, 6001, 1101, 1000);           /* second segment first */
	pk(t, S2C, 2100, ACK, 5001, 1101, 1000);           /* first fills the hole */
	pk(t, S2C, 2200, ACK, 8001, 1101, 1000);           /* a hole never filled */
	pk(t, C2S, 2300, ACK, 1101, 9001, 0);
	am_tracker_finish(t);
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn[0].first, 1000);
	ck_assert_int_eq(E.txn[0].last, 1200);
	ck_assert_uint_eq(E.txn[0].ooo, 1);
	ck_assert_uint_eq(E.txn[0].retrans, 0);
	ck_assert_uint_eq(E.txn[0].gap_bytes, 1000);
	ck_assert_uint_eq(E.txn[0].resp_bytes, 3000);
	ck_assert_uint_eq(E.conn[0].gap_bytes[1], 1000);
	am_tracker_free(t);
}
END_TEST

START_TEST(test_reset_and_incomplete)
{
	struct am_tracker *t = mk(NULL);

	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	pk(t, S2C, 2000, RST | ACK, 5001, 1101, 0);
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn[0].outcome, AM_OUT_RESET);
	ck_assert_int_eq(E.txn[0].first, -1);
	ck_assert_int_eq(E.txn[0].last, -1);
	ck_assert_int_eq(E.txn[0].think, -1);
	am_tracker_finish(t);
	ck_assert_int_eq(E.conn[0].outcome, AM_OUT_RESET);
	am_tracker_free(t);

	t = mk(NULL);
	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	pk(t, C2S, 1100, ACK | FIN, 1101, 5001, 0);
	pk(t, S2C, 1200, ACK | FIN, 5001, 1102, 0);
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn[0].outcome, AM_OUT_INCOMPLETE);
	am_tracker_free(t);
}
END_TEST

START_TEST(test_timeouts)
{
	struct am_tracker_cfg cfg;

	am_tracker_cfg_default(&cfg);
	struct am_tracker *t = mk(&cfg);
	pk(t, C2S, 0, SYN, 1000, 0, 0);                    /* half-open */
	am_tracker_tick(t, T0 + 29 * 1000000LL);
	ck_assert_int_eq(E.nconn, 0);
	am_tracker_tick(t, T0 + 30 * 1000000LL);
	ck_assert_int_eq(E.nconn, 1);
	ck_assert_int_eq(E.conn[0].outcome, AM_OUT_TIMEOUT);
	struct am_tracker_stats st;
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.timed_out, 1);
	ck_assert_uint_eq(st.sessions_active, 0);

	/* A request never answered: timeout after the established idle time.
	 * (The clock is at 30 s now; older timestamps count as "now".) */
	cport++;
	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	am_tracker_tick(t, T0 + 630 * 1000000LL - 1);
	ck_assert_int_eq(E.ntxn, 0);
	am_tracker_tick(t, T0 + 630 * 1000000LL);
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn[0].outcome, AM_OUT_TIMEOUT);
	ck_assert_int_eq(E.txn[0].first, -1);
	am_tracker_free(t);
	cport = 40000;
}
END_TEST

/* An idle connection holds no exchange state; a bounded pool of them is
 * shared by the connections carrying data, and running out is counted. */
START_TEST(test_exchange_state_pool)
{
	struct am_tracker_cfg cfg;
	struct am_tracker_stats st, st0;

	am_tracker_cfg_default(&cfg);
	cfg.max_exchanges = 1;
	struct am_tracker *t = mk(&cfg);
	am_tracker_stats(t, &st0);
	/* 1000 idle connections: handshake, then nothing */
	for (int i = 0; i < 1000; i++) {
		cport = (uint16_t)(20000 + i);
		handshake(t);
	}
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.sessions_active, 1000);
	ck_assert_uint_eq(st.exchanges_active, 0);
	ck_assert_uint_le((st.memory - st0.memory) / 1000, 256);

	/* A carries a request: it takes the only exchange state */
	cport = 40000;
	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.exchanges_active, 1);
	/* B's exchange cannot be timed: counted once for the connection */
	cport = 40001;
	handshake(t);
	pk(t, C2S, 1100, ACK | PSH, 1001, 5001, 100);
	pk(t, S2C, 1200, ACK | PSH, 5001, 1101, 200);
	pk(t, C2S, 1300, ACK | PSH, 1101, 5201, 100);
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.exchange_cap, 1);
	/* A's exchange completes and is reported; A closes */
	cport = 40000;
	pk(t, S2C, 2000, ACK | PSH, 5001, 1101, 300);
	pk(t, C2S, 2100, ACK, 1101, 5301, 0);
	pk(t, C2S, 3000, ACK | FIN, 1101, 5301, 0);
	pk(t, S2C, 3100, ACK | FIN, 5301, 1102, 0);
	pk(t, C2S, 3200, ACK, 1102, 5302, 0);
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn[0].outcome, AM_OUT_COMPLETE);
	ck_assert_int_eq(E.txn[0].first, 1000);
	ck_assert_uint_eq(E.txn_conn[0].client_port, 40000);
	/* once A is released, C gets the exchange state and is timed */
	am_tracker_tick(t, T0 + 20 * 1000000LL);
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.exchanges_active, 0);
	cport = 40002;
	pk(t, C2S, 20000000, SYN, 1000, 0, 0);
	pk(t, S2C, 20000100, SYN | ACK, 5000, 1001, 0);
	pk(t, C2S, 20000300, ACK, 1001, 5001, 0);
	pk(t, C2S, 20001000, ACK | PSH, 1001, 5001, 100);
	pk(t, S2C, 20003000, ACK | PSH, 5001, 1101, 300);
	pk(t, C2S, 20003100, ACK, 1101, 5301, 0);
	am_tracker_tick(t, T0 + 21 * 1000000LL);
	ck_assert_int_eq(E.ntxn, 2);
	ck_assert_int_eq(E.txn[1].first, 2000);
	ck_assert_uint_eq(E.txn_conn[1].client_port, 40002);
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.exchange_cap, 1);
	am_tracker_free(t);
	cport = 40000;
}
END_TEST

START_TEST(test_caps_evict_and_refuse)
{
	struct am_tracker_cfg cfg;
	struct am_tracker_stats st;

	am_tracker_cfg_default(&cfg);
	cfg.max_sessions = 4;
	struct am_tracker *t = mk(&cfg);
	/* two established connections */
	for (int i = 0; i < 2; i++) {
		cport = (uint16_t)(41000 + i);
		handshake(t);
	}
	/* a flood of SYNs: each new one pushes out the oldest half-open */
	for (int i = 0; i < 10; i++) {
		cport = (uint16_t)(42000 + i);
		pk(t, C2S, 400 + i, SYN, 1000, 0, 0);
	}
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.sessions_limit, 4);
	ck_assert_uint_eq(st.sessions_active, 4);
	ck_assert_uint_eq(st.evicted, 8);
	ck_assert_uint_eq(st.refused, 0);
	/* fill with established ones: then a new SYN is refused */
	for (int i = 0; i < 2; i++) {
		cport = (uint16_t)(42008 + i);
		pk(t, S2C, 500, SYN | ACK, 5000, 1001, 0);
		pk(t, C2S, 600, ACK, 1001, 5001, 0);
	}
	cport = 43000;
	pk(t, C2S, 700, SYN, 1000, 0, 0);
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.refused, 1);
	ck_assert_uint_eq(st.sessions_active, 4);
	/* evicted connections were reported as such */
	int evicted = 0;
	for (int i = 0; i < E.nconn; i++)
		evicted += E.conn[i].outcome == AM_OUT_EVICTED;
	ck_assert_int_eq(evicted, 8);
	am_tracker_free(t);
	cport = 40000;
}
END_TEST

START_TEST(test_emergency_timeouts)
{
	struct am_tracker_cfg cfg;

	am_tracker_cfg_default(&cfg);
	cfg.max_sessions = 10;
	struct am_tracker *t = mk(&cfg);
	for (int i = 0; i < 9; i++) {      /* 90%: nearly full */
		cport = (uint16_t)(44000 + i);
		pk(t, C2S, i, SYN, 1000, 0, 0);
	}
	am_tracker_tick(t, T0 + 5 * 1000000LL + 8);
	struct am_tracker_stats st;
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.timed_out, 9);    /* 5 s emergency, not 30 s */
	am_tracker_free(t);
	cport = 40000;
}
END_TEST

START_TEST(test_port_reuse)
{
	struct am_tracker *t = mk(NULL);

	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 10);
	pk(t, S2C, 2000, ACK | PSH, 5001, 1011, 10);
	pk(t, C2S, 3000, ACK | FIN, 1011, 5011, 0);
	pk(t, S2C, 3100, ACK | FIN, 5011, 1012, 0);
	pk(t, C2S, 3200, ACK, 1012, 5012, 0);
	/* same ports, new connection (TIME_WAIT reuse) */
	pk(t, C2S, 4000, SYN, 90000, 0, 0);
	ck_assert_int_eq(E.nconn, 1);
	pk(t, S2C, 4100, SYN | ACK, 70000, 90001, 0);
	pk(t, C2S, 4200, ACK, 90001, 70001, 0);
	pk(t, C2S, 5000, ACK | PSH, 90001, 70001, 10);
	pk(t, S2C, 5700, ACK | PSH, 70001, 90011, 10);
	am_tracker_finish(t);
	ck_assert_int_eq(E.ntxn, 2);
	ck_assert_int_eq(E.txn[1].first, 700);
	ck_assert_int_eq(E.nconn, 2);
	ck_assert(E.conn[0].id != E.conn[1].id);
	ck_assert_int_eq(E.conn[1].srv_rtt, 100);
	am_tracker_free(t);
}
END_TEST

START_TEST(test_wait_for_syn_and_midstream)
{
	struct am_tracker_cfg cfg;
	struct am_tracker_stats st;

	struct am_tracker *t = mk(NULL);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	pk(t, S2C, 2000, ACK | PSH, 5001, 1101, 100);
	am_tracker_finish(t);
	ck_assert_int_eq(E.ntxn, 0);
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.no_syn, 2);
	am_tracker_free(t);

	am_tracker_cfg_default(&cfg);
	cfg.wait_for_syn = 0;
	t = mk(&cfg);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	pk(t, S2C, 2000, ACK | PSH, 5001, 1101, 100);
	am_tracker_finish(t);
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn[0].first, 1000);
	ck_assert_int_eq(E.txn_conn[0].midstream, 1);
	ck_assert_int_eq(E.txn_conn[0].server_port, 80);
	ck_assert_int_eq(E.txn_conn[0].srv_rtt, -1);
	am_tracker_free(t);
}
END_TEST

/* conn_new already sees that a connection was picked up mid-stream, so a
 * rule that waits for the SYN can ignore it (engine/engine.c). */
static int seen_mid = -1;

static int
ignore_midstream(void *ctx, struct am_conn *c)
{
	(void)ctx;
	seen_mid = c->midstream;
	return c->midstream ? 1 : 0;
}

START_TEST(test_conn_new_sees_midstream)
{
	struct am_tracker_cfg cfg;
	struct am_tracker_cb cb = { .conn_new = ignore_midstream, .txn = on_txn, .conn_end = on_conn };
	struct am_tracker *t;

	memset(&E, 0, sizeof(E));
	am_tracker_cfg_default(&cfg);
	cfg.wait_for_syn = 0;
	cfg.seed = 42;
	t = am_tracker_new(&cfg, &cb);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	pk(t, S2C, 2000, ACK | PSH, 5001, 1101, 100);
	am_tracker_finish(t);
	ck_assert_int_eq(seen_mid, 1);
	ck_assert_int_eq(E.ntxn, 0);
	am_tracker_free(t);

	/* with its handshake: not mid-stream, measured */
	memset(&E, 0, sizeof(E));
	t = am_tracker_new(&cfg, &cb);
	pk(t, C2S, 0, SYN, 1000, 0, 0);
	pk(t, S2C, 100, SYN | ACK, 5000, 1001, 0);
	pk(t, C2S, 200, ACK, 1001, 5001, 0);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	pk(t, S2C, 2000, ACK | PSH, 5001, 1101, 100);
	am_tracker_finish(t);
	ck_assert_int_eq(seen_mid, 0);
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn_conn[0].midstream, 0);
	am_tracker_free(t);
}
END_TEST

START_TEST(test_sequence_wrap)
{
	struct am_tracker *t = mk(NULL);
	uint32_t c = 0xffffff00u, s = 0xfffffff0u;

	pk(t, C2S, 0, SYN, c, 0, 0);
	pk(t, S2C, 100, SYN | ACK, s, c + 1, 0);
	pk(t, C2S, 300, ACK, c + 1, s + 1, 0);
	pk(t, C2S, 1000, ACK | PSH, c + 1, s + 1, 1000);   /* wraps */
	pk(t, S2C, 2000, ACK, s + 1, c + 1001, 1000);      /* wraps */
	pk(t, S2C, 2100, ACK, s + 1001, c + 1001, 1000);
	pk(t, S2C, 2200, ACK, s + 1, c + 1001, 1000);      /* retransmission across the wrap */
	pk(t, C2S, 2300, ACK, c + 1001, s + 2001, 0);
	am_tracker_finish(t);
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_uint_eq(E.txn[0].req_bytes, 1000);
	ck_assert_uint_eq(E.txn[0].resp_bytes, 2000);
	ck_assert_uint_eq(E.txn[0].retrans, 1);
	ck_assert_int_eq(E.txn[0].ack, 1300);
	am_tracker_free(t);
}
END_TEST

START_TEST(test_syn_retransmit_and_server_first)
{
	struct am_tracker *t = mk(NULL);

	pk(t, C2S, 0, SYN, 1000, 0, 0);
	pk(t, C2S, 1000000, SYN, 1000, 0, 0);              /* SYN retransmitted after 1 s */
	pk(t, S2C, 1000100, SYN | ACK, 5000, 1001, 0);
	pk(t, C2S, 1000300, ACK, 1001, 5001, 0);
	pk(t, S2C, 1001000, ACK | PSH, 5001, 1001, 50);    /* banner: not an exchange */
	pk(t, C2S, 1002000, ACK | PSH, 1001, 5051, 10);
	pk(t, S2C, 1003000, ACK | PSH, 5051, 1011, 20);
	am_tracker_finish(t);
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn[0].first, 1000);
	ck_assert_uint_eq(E.txn[0].resp_bytes, 20);
	ck_assert_int_eq(E.txn_conn[0].srv_rtt, 100);      /* from the SYN that was answered */
	ck_assert_int_eq(E.txn_conn[0].syn_ts, T0);
	ck_assert_uint_eq(E.conn[0].retrans[0], 1);
	am_tracker_free(t);
}
END_TEST

/* Finds the n-th record of a type. */
static const struct am_adu *
adu_nth(enum am_adu_type type, int n)
{
	for (int i = 0; i < E.nadu; i++)
		if (E.adu[i].type == type && n-- == 0)
			return &E.adu[i];
	return NULL;
}

START_TEST(test_adu_sequential)
{
	struct am_tracker *t = mk(NULL);

	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 300);
	pk(t, C2S, 1100, ACK | PSH, 1301, 5001, 72);       /* request: 372 B in two segments */
	pk(t, S2C, 1100, ACK, 5001, 1301, 0);
	pk(t, S2C, 51100, ACK, 5001, 1373, 1460);          /* 50 ms server think */
	pk(t, S2C, 51200, ACK, 5001, 1373, 1460);          /* retransmission: counts once */
	pk(t, S2C, 51300, ACK | PSH, 6461, 1373, 540);
	pk(t, C2S, 51400, ACK, 1373, 7001, 0);
	pk(t, C2S, 251300, ACK | PSH, 1373, 7001, 10);     /* 200 ms client think */
	pk(t, S2C, 252300, ACK | PSH, 7001, 1383, 20);
	pk(t, C2S, 900000, ACK | PSH, 1383, 7021, 5);      /* after > 500 ms: quiet split */
	am_tracker_finish(t);
	ck_assert_ptr_nonnull(adu_nth(AM_ADU_SYN, 0));
	ck_assert_int_eq(adu_nth(AM_ADU_RTT, 0)->rtt, 100);
	ck_assert_ptr_nonnull(adu_nth(AM_ADU_SEQ, 0));
	const struct am_adu *a0 = adu_nth(AM_ADU_ADU, 0), *a1 = adu_nth(AM_ADU_ADU, 1),
	    *a2 = adu_nth(AM_ADU_ADU, 2), *a3 = adu_nth(AM_ADU_ADU, 3);
	ck_assert_ptr_nonnull(a3);
	ck_assert_int_eq(a0->dir, 0);
	ck_assert_uint_eq(a0->bytes, 372);
	ck_assert_int_eq(a0->think, 50000);
	ck_assert_int_eq(a0->concurrent, 0);
	ck_assert_int_eq(a1->dir, 1);
	ck_assert_uint_eq(a1->bytes, 2000);
	ck_assert_int_eq(a1->think, 200000);
	ck_assert_uint_eq(a2->bytes, 10);
	ck_assert_int_eq(a2->think, 1000);
	ck_assert_int_eq(a3->dir, 1);
	ck_assert_uint_eq(a3->bytes, 20);
	const struct am_adu *inc = adu_nth(AM_ADU_INC, 0);
	ck_assert_ptr_nonnull(inc);
	ck_assert_int_eq(inc->dir, 0);
	ck_assert_uint_eq(inc->bytes, 5);
	ck_assert_ptr_nonnull(adu_nth(AM_ADU_END, 0));
	ck_assert_ptr_null(adu_nth(AM_ADU_CONC, 0));
	/* the exchanges agree with the ADUs */
	ck_assert_int_eq(E.txn[0].think, 50000);
	ck_assert_uint_eq(E.txn[0].req_bytes, 372);
	ck_assert_uint_eq(E.txn[0].resp_bytes, 2000);
	am_tracker_free(t);
}
END_TEST

START_TEST(test_adu_concurrent)
{
	struct am_tracker *t = mk(NULL);
	struct am_tracker_stats st;

	handshake(t);
	pk(t, C2S, 1000, ACK | PSH, 1001, 5001, 100);
	pk(t, S2C, 2000, ACK | PSH, 5001, 1101, 1000);
	/* the client sends again before it has acknowledged the response */
	pk(t, C2S, 2100, ACK | PSH, 1101, 5001, 100);
	pk(t, S2C, 2200, ACK | PSH, 6001, 1201, 1000);
	pk(t, C2S, 2300, ACK, 1201, 7001, 0);
	am_tracker_finish(t);
	am_tracker_stats(t, &st);
	ck_assert_ptr_nonnull(adu_nth(AM_ADU_CONC, 0));
	ck_assert_uint_eq(st.conc_connections, 1);
	ck_assert_uint_eq(st.conc_dropped, 1);
	ck_assert_int_eq(E.ntxn, 0);                       /* no sequential response time */
	ck_assert_int_eq(E.conn[0].concurrent, 1);
	int conc = 0;
	for (int i = 0; i < E.nadu; i++)
		if (E.adu[i].type == AM_ADU_ADU || E.adu[i].type == AM_ADU_INC) {
			if (E.adu[i].concurrent) {
				conc++;
				ck_assert_int_eq(E.adu[i].think, -1);
			}
		}
	ck_assert_int_ge(conc, 2);
	am_tracker_free(t);
}
END_TEST

static int
framed_http(void *ctx, struct am_conn *c)
{
	(void)ctx;
	c->framing = 1;   /* AM_FR_HTTP */
	return 0;
}

static int32_t
classify_len(void *ctx, struct am_conn *c, const uint8_t *data, uint32_t len)
{
	(void)ctx;
	(void)c;
	return data && len >= 4 && memcmp(data, "HEAD", 4) == 0 ? 7 : 3;
}

static struct am_tracker *
mk_framed(void)
{
	struct am_tracker_cfg cfg;
	struct am_tracker_cb cb = { .conn_new = framed_http, .classify = classify_len, .txn = on_txn,
		.conn_end = on_conn };

	memset(&E, 0, sizeof(E));
	am_tracker_cfg_default(&cfg);
	cfg.seed = 42;
	return am_tracker_new(&cfg, &cb);
}

START_TEST(test_framed_pipelining)
{
	struct am_tracker *t = mk_framed();
	struct am_tracker_stats st;
	static const char reqs[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char r1[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	static const char r2[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n";
	uint32_t l1 = sizeof(reqs) - 1, a1 = sizeof(r1) - 1, a2 = sizeof(r2) - 1;

	handshake(t);
	pkd(t, C2S, 1000, ACK | PSH, 1001, 5001, reqs);            /* two requests at once */
	pkd(t, S2C, 3000, ACK | PSH, 5001, 1001 + l1, r1);         /* answer to the first */
	pkd(t, S2C, 7000, ACK | PSH, 5001 + a1, 1001 + l1, r2);    /* answer to the second (HEAD: no body) */
	pk(t, C2S, 7100, ACK, 1001 + l1, 5001 + a1 + a2, 0);
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.framed, 1);
	ck_assert_int_eq(E.ntxn, 2);
	ck_assert_int_eq(E.txn[0].first, 2000);
	ck_assert_int_eq(E.txn[0].signature, 3);
	ck_assert_int_eq(E.txn[0].status, 200);
	ck_assert_uint_eq(E.txn[0].resp_bytes, a1);
	ck_assert_int_eq(E.txn[1].first, 6000);                    /* its own response, not the batch's */
	ck_assert_int_eq(E.txn[1].signature, 7);
	ck_assert_int_eq(E.txn[1].status, 404);
	ck_assert_int_eq(E.txn[1].ack, 6100);
	ck_assert_uint_eq(E.txn[1].resp_bytes, a2);
	am_tracker_finish(t);
	ck_assert_int_eq(E.ntxn, 2);
	am_tracker_free(t);
}
END_TEST

/* A pipeline deeper than the framing slot's own ring (8 requests) moves to
 * the slot's big ring (its entries copied in order, also when the small ring
 * had wrapped) and back: every request gets its own response, in order. */
static void
deep_reqs(struct am_tracker *t, int64_t at, uint32_t *cseq, uint32_t sseq, int from, int n)
{
	char reqs[1024];
	size_t len = 0;

	for (int i = from; i < from + n; i++)
		len += (size_t)snprintf(reqs + len, sizeof(reqs) - len, "GET /%d HTTP/1.1\r\n\r\n", i);
	pkd(t, C2S, at, ACK | PSH, *cseq, sseq, reqs);
	*cseq += (uint32_t)len;
}

static void
deep_resps(struct am_tracker *t, int64_t *now, uint32_t cseq, uint32_t *sseq, int from, int n)
{
	char resp[128];

	for (int i = from; i < from + n; i++) {
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d OK\r\nContent-Length: 0\r\n\r\n", 200 + i);
		*now += 100;
		pkd(t, S2C, *now, ACK | PSH, *sseq, cseq, resp);
		*sseq += (uint32_t)strlen(resp);
	}
	*now += 10;
	pk(t, C2S, *now, ACK, cseq, *sseq, 0);
}

START_TEST(test_framed_deep_pipeline)
{
	struct am_tracker *t = mk_framed();
	struct am_tracker_stats st;
	uint32_t cseq = 1001, sseq = 5001;
	int64_t now = 1000;

	handshake(t);
	/* 20 at once: the small ring overflows at once */
	deep_reqs(t, now, &cseq, sseq, 0, 20);
	deep_resps(t, &now, cseq, &sseq, 0, 20);
	now += 1000000;
	am_tracker_tick(t, T0 + now);
	ck_assert_int_eq(E.ntxn, 20);
	/* 6, of which 4 answered (the small ring's head moves on), then 10
	 * more: the ring grows while wrapped */
	deep_reqs(t, now, &cseq, sseq, 20, 6);
	deep_resps(t, &now, cseq, &sseq, 20, 4);
	now += 1000000;
	am_tracker_tick(t, T0 + now);
	ck_assert_int_eq(E.ntxn, 24);
	deep_reqs(t, now, &cseq, sseq, 26, 10);
	deep_resps(t, &now, cseq, &sseq, 24, 12);
	now += 1000000;
	am_tracker_tick(t, T0 + now);
	ck_assert_int_eq(E.ntxn, 36);
	for (int i = 0; i < 36; i++) {
		ck_assert_int_eq(E.txn[i].status, 200 + i);
		ck_assert_int_eq(E.txn[i].outcome, AM_OUT_COMPLETE);
		ck_assert_int_ge(E.txn[i].first, 0);
		if (i > 0)
			ck_assert_int_ge(E.txn[i].resp_first, E.txn[i - 1].resp_first);
	}
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.framed, 1);
	ck_assert_uint_eq(st.framed_lost, 0);
	ck_assert_uint_eq(st.pending_cap, 0);
	am_tracker_free(t);
}
END_TEST

START_TEST(test_framed_lost_sync_falls_back)
{
	struct am_tracker *t = mk_framed();
	struct am_tracker_stats st;

	handshake(t);
	static const char junk[] = "\x16\x03\x01 not http at all\r\n\r\n";
	static const char back[] = "whatever comes back";
	uint32_t lj = sizeof(junk) - 1, lb = sizeof(back) - 1;
	pkd(t, C2S, 1000, ACK | PSH, 1001, 5001, junk);
	pkd(t, S2C, 3000, ACK | PSH, 5001, 1001 + lj, back);
	pk(t, C2S, 3100, ACK, 1001 + lj, 5001 + lb, 0);
	am_tracker_finish(t);
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.framed, 1);
	ck_assert_uint_eq(st.framed_lost, 1);
	/* header-only from the point of loss: the response still gets timed */
	ck_assert_int_eq(E.ntxn, 1);
	ck_assert_int_eq(E.txn[0].first, 2000);
	am_tracker_free(t);
}
END_TEST

/* The ways a short memcached connection can end right after its reply
 * (tests/rules/shipped-real.sh): the answered request is always reported,
 * once, with the reply's timing. */
static int
framed_memcache(void *ctx, struct am_conn *c)
{
	(void)ctx;
	c->framing = AM_FR_MEMCACHE;
	return 0;
}

START_TEST(test_framed_reply_then_close)
{
	static const char req[] = "delete k\r\n", rep[] = "DELETED\r\n";
	const uint32_t lq = sizeof(req) - 1, lr = sizeof(rep) - 1;
	const uint32_t cend = 1001 + lq, send = 5001 + lr;

	for (int shape = 0; shape < 6; shape++) {
		struct am_tracker_cfg cfg;
		struct am_tracker_cb cb = { .conn_new = framed_memcache, .classify = classify_len,
			.txn = on_txn, .conn_end = on_conn };
		memset(&E, 0, sizeof(E));
		am_tracker_cfg_default(&cfg);
		cfg.seed = 42;
		struct am_tracker *t = am_tracker_new(&cfg, &cb);

		handshake(t);
		pkd(t, C2S, 1000, ACK | PSH, 1001, 5001, req);
		pk(t, S2C, 1050, ACK, 5001, cend, 0);
		switch (shape) {
		case 0:   /* reply, the client's FIN acknowledges it */
			pkd(t, S2C, 1500, ACK | PSH, 5001, cend, rep);
			pk(t, C2S, 1600, ACK | FIN, cend, send, 0);
			pk(t, S2C, 1700, ACK | FIN, send, cend + 1, 0);
			pk(t, C2S, 1800, ACK, cend + 1, send + 1, 0);
			break;
		case 1:   /* reply, ACK, FIN, and the capture stops there */
			pkd(t, S2C, 1500, ACK | PSH, 5001, cend, rep);
			pk(t, C2S, 1550, ACK, cend, send, 0);
			pk(t, C2S, 1600, ACK | FIN, cend, send, 0);
			break;
		case 2:   /* the server's FIN rides on its reply */
			pkd(t, S2C, 1500, ACK | PSH | FIN, 5001, cend, rep);
			pk(t, C2S, 1600, ACK | FIN, cend, send + 1, 0);
			pk(t, S2C, 1700, ACK, send + 1, cend + 1, 0);
			break;
		case 3:   /* the client resets right after the reply */
			pkd(t, S2C, 1500, ACK | PSH, 5001, cend, rep);
			pk(t, C2S, 1600, RST | ACK, cend, send, 0);
			break;
		case 4:   /* the client's FIN before its ACK of the reply was seen */
			pkd(t, S2C, 1500, ACK | PSH, 5001, cend, rep);
			pk(t, C2S, 1600, ACK | FIN, cend, 5001, 0);
			pk(t, C2S, 1650, ACK, cend + 1, send, 0);
			pk(t, S2C, 1700, ACK | FIN, send, cend + 1, 0);
			break;
		default:  /* reply, and nothing more in the capture */
			pkd(t, S2C, 1500, ACK | PSH, 5001, cend, rep);
			break;
		}
		am_tracker_finish(t);
		ck_assert_msg(E.ntxn == 1, "shape %d: %d exchanges", shape, E.ntxn);
		ck_assert_int_eq(E.txn[0].outcome, AM_OUT_COMPLETE);
		ck_assert_int_eq(E.txn[0].first, 500);
		ck_assert_int_eq(E.txn[0].last, 500);
		ck_assert_uint_eq(E.txn[0].resp_bytes, lr);
		am_tracker_free(t);
	}
}
END_TEST

/* An FTP command answered by a preliminary reply (150) and, after the data
 * connection, the final one (226), then the next command once the client
 * has both: header-only timing reports each exchange, none concurrent. */
START_TEST(test_preliminary_and_final_reply)
{
	struct am_tracker *t = mk(NULL);
	struct am_tracker_stats st;
	static const char retr[] = "RETR f.txt\r\n", quit[] = "QUIT\r\n";
	static const char r150[] = "150 Opening BINARY mode data connection for f.txt (5 bytes).\r\n";
	static const char r226[] = "226 Transfer complete.\r\n", r221[] = "221 Goodbye.\r\n";
	const uint32_t l1 = sizeof(retr) - 1, l2 = sizeof(quit) - 1;
	const uint32_t a1 = sizeof(r150) - 1, a2 = sizeof(r226) - 1, a3 = sizeof(r221) - 1;

	handshake(t);
	pkd(t, C2S, 1000, ACK | PSH, 1001, 5001, retr);
	pkd(t, S2C, 1200, ACK | PSH, 5001, 1001 + l1, r150);
	pk(t, C2S, 1250, ACK, 1001 + l1, 5001 + a1, 0);
	pkd(t, S2C, 3000, ACK | PSH, 5001 + a1, 1001 + l1, r226);
	pkd(t, C2S, 3100, ACK | PSH, 1001 + l1, 5001 + a1 + a2, quit);
	pkd(t, S2C, 3150, ACK | PSH, 5001 + a1 + a2, 1001 + l1 + l2, r221);
	pk(t, S2C, 3160, ACK | FIN, 5001 + a1 + a2 + a3, 1001 + l1 + l2, 0);
	pk(t, C2S, 3200, ACK | FIN, 1001 + l1 + l2, 5002 + a1 + a2 + a3, 0);
	pk(t, S2C, 3300, ACK, 5002 + a1 + a2 + a3, 1002 + l1 + l2, 0);
	am_tracker_finish(t);
	am_tracker_stats(t, &st);
	ck_assert_uint_eq(st.conc_connections, 0);
	ck_assert_int_eq(E.ntxn, 2);
	ck_assert_int_eq(E.txn[0].first, 200);
	ck_assert_int_eq(E.txn[0].last, 2000);             /* through the final reply */
	ck_assert_uint_eq(E.txn[0].resp_bytes, a1 + a2);
	ck_assert_int_eq(E.txn[1].first, 50);
	ck_assert_int_eq(E.txn[1].outcome, AM_OUT_COMPLETE);
	am_tracker_free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tracker");
	TCase *tc = tcase_create("tracker");

	tcase_add_test(tc, test_one_exchange);
	tcase_add_test(tc, test_keepalive_and_quiet);
	tcase_add_test(tc, test_retransmission_does_not_move_timings);
	tcase_add_test(tc, test_reordering_and_gap);
	tcase_add_test(tc, test_reset_and_incomplete);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_caps_evict_and_refuse);
	tcase_add_test(tc, test_exchange_state_pool);
	tcase_add_test(tc, test_emergency_timeouts);
	tcase_add_test(tc, test_port_reuse);
	tcase_add_test(tc, test_wait_for_syn_and_midstream);
	tcase_add_test(tc, test_conn_new_sees_midstream);
	tcase_add_test(tc, test_sequence_wrap);
	tcase_add_test(tc, test_syn_retransmit_and_server_first);
	tcase_add_test(tc, test_adu_sequential);
	tcase_add_test(tc, test_adu_concurrent);
	tcase_add_test(tc, test_framed_pipelining);
	tcase_add_test(tc, test_framed_deep_pipeline);
	tcase_add_test(tc, test_framed_lost_sync_falls_back);
	tcase_add_test(tc, test_framed_reply_then_close);
	tcase_add_test(tc, test_preliminary_and_final_reply);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
