/* libFuzzer target for the session tracker (capture/tracker.c, with the
 * payload framers of capture/framing.c).
 *
 * The input is a script of TCP packets between a few fixed endpoints:
 *   byte 0: settings: bits 0-2 the framing of every connection (0 none, then
 *           enum am_fr_proto), bit 3 wait for SYN, bit 4 client RST as FIN,
 *           bit 5 tiny table (2 sessions: eviction and refusal), bit 6 one
 *           exchange state only (the others' data goes untimed, counted)
 *   then records of 7 bytes followed by a payload:
 *     [0] bits 0-1 connection (client port), bit 2 direction (1: server to
 *         client), bit 3 IPv6, bits 4-7 unused
 *     [1] TCP flags (FIN SYN RST PSH ACK URG)
 *     [2] time step: 0-199 microseconds x 37, 200-254 milliseconds x 21,
 *         255 a step back in time (the tracker must treat it as "now")
 *     [3] sequence offset from the sender's next byte (signed: overlaps,
 *         retransmissions, holes)
 *     [4] acknowledgment offset from the peer's next byte (signed)
 *     [5] payload length (0-255); [6] captured part of it: 255 all, else
 *         that many bytes (snaplen truncation)
 *   the payload bytes follow (as many as the input still has).
 * A zero time step with flags 0xff calls am_tracker_tick instead.
 *
 * Every event is checked against what the tracker promises: timings -1 or
 * >= 0 and ordered (think <= first <= last <= ack; a complete exchange with
 * a response has its last byte; no response, no timings), instants inside the
 * connection's life, known outcomes, bounds kept. */
#include "config.h"
#include "capture/tracker.h"
#include "capture/framing.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

struct ctx {
	int framing;
	int rst_as_fin;
};

static int on_new(void *vctx, struct am_conn *conn)
{
	struct ctx *c = vctx;

	conn->framing = (uint8_t)c->framing;
	conn->client_rst_as_fin = (uint8_t)c->rst_as_fin;
	return 0;
}

static int32_t on_classify(void *vctx, struct am_conn *conn, const uint8_t *d, uint32_t len)
{
	volatile uint8_t x = 0;
	uint32_t i;

	(void)vctx;
	(void)conn;
	for (i = 0; i < len; i++)
		x ^= d[i];
	return len > 0 ? d[0] % 7 : -1;
}

static int valid_timing(int64_t v)
{
	return v == -1 || v >= 0;
}

static void on_txn(void *vctx, const struct am_conn *conn, const struct am_txn *t)
{
	(void)vctx;
	CHECK((int)t->outcome >= 0 && t->outcome < AM_OUT__COUNT);
	CHECK(am_outcome_name(t->outcome) != NULL);
	CHECK(valid_timing(t->first) && valid_timing(t->last) && valid_timing(t->ack) && valid_timing(t->think));
	if (t->first >= 0) {
		/* a complete exchange has its response's last byte; one cut short
		 * (reset, timeout, open at the end, evicted) may not */
		if (t->outcome == AM_OUT_COMPLETE)
			CHECK(t->last >= 0);
		if (t->last >= 0)
			CHECK(t->last >= t->first);
		if (t->think >= 0)
			CHECK(t->think <= t->first);
		if (t->ack >= 0)
			CHECK(t->ack >= t->last && t->last >= 0);
	} else {
		CHECK(t->last == -1 && t->think == -1 && t->ack == -1);
	}
	if (t->req_first && t->resp_first)
		CHECK(t->resp_first >= t->req_first);
	if (t->req_first && t->req_last)
		CHECK(t->req_last >= t->req_first);
	if (t->resp_first && t->resp_last)
		CHECK(t->resp_last >= t->resp_first);
	/* never outside the connection's life */
	if (t->req_first)
		CHECK(t->req_first >= conn->first_ts && t->req_first <= conn->last_ts);
	if (t->resp_last)
		CHECK(t->resp_last <= conn->last_ts);
	if (t->resp_ack)
		CHECK(t->resp_ack <= conn->last_ts);
	if (t->first >= 0)
		CHECK(t->first <= conn->last_ts - conn->first_ts);
	if (t->ack >= 0)
		CHECK(t->ack <= conn->last_ts - conn->first_ts);
	CHECK(t->seq >= 1);
}

static void on_end(void *vctx, const struct am_conn *conn)
{
	(void)vctx;
	CHECK((int)conn->outcome >= 0 && conn->outcome < AM_OUT__COUNT);
	CHECK(conn->srv_rtt == -1 || conn->srv_rtt >= 0);
	CHECK(conn->cli_rtt == -1 || conn->cli_rtt >= 0);
	CHECK(conn->last_ts >= conn->first_ts);
}

static void on_adu(void *vctx, const struct am_conn *conn, const struct am_adu *a)
{
	(void)vctx;
	(void)conn;
	CHECK((int)a->type >= 0 && a->type < AM_ADU__COUNT);
	CHECK(a->think == -1 || a->think >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_tracker_cfg cfg;
	struct am_tracker_cb cb;
	struct am_tracker *t;
	struct ctx c;
	uint32_t next[4][2][2];   /* [conn][v6][dir] next sequence number */
	am_time_t now = 1700000000LL * AM_USEC;
	size_t off = 1;

	if (size < 1 || size > 65536)
		return 0;
	memset(&c, 0, sizeof(c));
	c.framing = data[0] & 7;
	if (c.framing >= AM_FR__COUNT)
		c.framing = 0;
	c.rst_as_fin = (data[0] >> 4) & 1;

	am_tracker_cfg_default(&cfg);
	cfg.wait_for_syn = (data[0] >> 3) & 1;
	cfg.seed = 1;
	cfg.max_sessions = (data[0] & 0x20) ? 2 : 64;
	cfg.memcap = 8 << 20;
	cfg.hash_buckets = 16;
	cfg.max_framed = 8;
	cfg.max_exchanges = (data[0] & 0x40) ? 1 : 0;   /* exchange states run out */
	memset(&cb, 0, sizeof(cb));
	cb.ctx = &c;
	cb.conn_new = on_new;
	cb.classify = on_classify;
	cb.txn = on_txn;
	cb.conn_end = on_end;
	cb.adu = on_adu;
	t = am_tracker_new(&cfg, &cb);
	if (!t)
		return 0;
	for (int i = 0; i < 4; i++)
		for (int v = 0; v < 2; v++) {
			next[i][v][0] = 1000u * (uint32_t)(i + 1);
			next[i][v][1] = 5000000u * (uint32_t)(i + 1);
		}

	while (off + 7 <= size) {
		const uint8_t *r = data + off;
		struct am_packet p;
		int ci = r[0] & 3, dir = (r[0] >> 2) & 1, v6 = (r[0] >> 3) & 1;
		uint32_t len = r[5], cap;

		off += 7;
		if (r[2] == 0 && r[1] == 0xff) {
			now += 1000000;
			am_tracker_tick(t, now);
			continue;
		}
		if (r[2] < 200)
			now += (am_time_t)r[2] * 37;
		else if (r[2] < 255)
			now += (am_time_t)(r[2] - 199) * 21000;
		cap = r[6] == 255 ? len : (r[6] < len ? r[6] : len);
		if (cap > size - off)
			cap = (uint32_t)(size - off);

		memset(&p, 0, sizeof(p));
		p.ts = r[2] == 255 ? now - 5000 : now;
		p.proto = AM_IPPROTO_TCP;
		p.tcp_flags = r[1] & 0x3f;
		p.wscale = 0xff;
		p.src.family = p.dst.family = v6 ? AM_AF_INET6 : AM_AF_INET;
		{
			struct am_addr cli, srv;

			memset(&cli, 0, sizeof(cli));
			memset(&srv, 0, sizeof(srv));
			cli.family = srv.family = p.src.family;
			if (v6) {
				cli.a[0] = srv.a[0] = 0xfd;
				cli.a[15] = 1;
				srv.a[15] = 2;
			} else {
				cli.a[0] = srv.a[0] = 10;
				cli.a[3] = 1;
				srv.a[3] = 2;
			}
			p.src = dir ? srv : cli;
			p.dst = dir ? cli : srv;
		}
		p.sport = dir ? 80 : (uint16_t)(40000 + ci);
		p.dport = dir ? (uint16_t)(40000 + ci) : 80;
		p.seq = next[ci][v6][dir] + (uint32_t)(int32_t)(int8_t)r[3] * 97u;
		p.ack = next[ci][v6][!dir] + (uint32_t)(int32_t)(int8_t)r[4] * 53u;
		p.win = 65535;
		p.mss = (p.tcp_flags & AM_TH_SYN) ? 1460 : 0;
		p.seg_len = len;
		p.payload_len = cap;
		p.payload = data + off;
		p.wire_len = 54 + len;
		p.cap_len = 54 + cap;
		off += cap;
		/* the sender's next byte moves with what it sent */
		if ((int8_t)r[3] >= 0) {
			uint32_t end = p.seq + len + ((p.tcp_flags & (AM_TH_SYN | AM_TH_FIN)) ? 1 : 0);

			if ((int32_t)(end - next[ci][v6][dir]) > 0)
				next[ci][v6][dir] = end;
		}
		am_tracker_packet(t, &p);
	}
	am_tracker_finish(t);
	{
		struct am_tracker_stats st;

		am_tracker_stats(t, &st);
		CHECK(st.sessions_active <= st.sessions_limit || st.sessions_limit == 0);
		CHECK(st.sessions_peak <= cfg.max_sessions);
	}
	am_tracker_free(t);
	return 0;
}
