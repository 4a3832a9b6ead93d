/* libFuzzer target for the message framers (capture/framing.c).
 *
 * Input: a protocol byte (modulo 6: http, resp, pgsql, mysql, memcache,
 * dns-tcp), then records [ctl][len][len bytes]: ctl bit 0 is
 * the direction; bit 1 makes the record a FIN of that direction, bit 2 a
 * gap of len*8 bytes; ctl >> 3 adds that many times 7 unseen bytes after
 * the captured ones (snaplen truncation).  Each chunk is copied into a
 * buffer of exactly its captured length, so AddressSanitizer sees any read
 * past caplen.
 *
 * Beyond "no crash, no loop, no undefined behaviour", the target checks
 * what the framer promises: events per direction in stream order and never
 * beyond the bytes fed; requests numbered 1, 2, ... as they start; no
 * response to a request not started; nothing after AM_FR_LOST; and the
 * same events (times and chunk offsets aside) when every chunk is cut into
 * single bytes. */
#include "config.h"
#include "capture/framing.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define MAXEV 4096

struct evrec {
	uint8_t type, dir, flags, reason;
	uint32_t req;
	uint64_t pos;
	int32_t status;
};

struct run {
	struct evrec ev[MAXEV];
	int n;
	uint64_t fed[2];
	uint64_t last[2];
	uint32_t maxreq;
	int lost;
};

static struct run A, B;

static void
on_ev(void *ctx, const struct am_fr_event *e)
{
	struct run *r = ctx;

	CHECK(!r->lost);
	CHECK(e->dir <= 1 && e->type < AM_FR__TYPES);
	CHECK(e->pos <= r->fed[e->dir]);
	if (e->type == AM_FR_LOST) {
		r->lost = 1;
		CHECK(e->reason > AM_FR_OK && e->reason < AM_FR_LOST__COUNT);
	} else {
		CHECK(e->pos >= r->last[e->dir]);
		r->last[e->dir] = e->pos;
	}
	if (e->type == AM_FR_REQ_START) {
		if (e->flags & AM_FR_F_NOREPLY) {
			CHECK(e->req == 0);
		} else {
			CHECK(e->req == r->maxreq + 1);
			r->maxreq = e->req;
		}
	}
	if (e->type == AM_FR_RESP_START || e->type == AM_FR_RESP_END ||
	    e->type == AM_FR_INTERIM_START || e->type == AM_FR_INTERIM_END)
		CHECK(e->req >= 1 && e->req <= r->maxreq);
	if (r->n < MAXEV) {
		struct evrec *x = &r->ev[r->n++];
		x->type = (uint8_t)e->type;
		x->dir = e->dir;
		x->flags = e->flags & (uint8_t)~AM_FR_F_EARLIER;
		x->reason = e->reason;
		x->req = e->req;
		x->pos = e->pos;
		x->status = e->status;
	}
}

static void
chunk(struct am_framer *f, struct run *r, int dir, am_time_t ts, const uint8_t *p,
    uint32_t cap, uint32_t len)
{
	uint8_t *copy = cap ? malloc(cap) : NULL;

	if (cap && copy == NULL)
		return;
	if (cap)
		memcpy(copy, p, cap);
	r->fed[dir] += len;
	am_framer_feed(f, dir, ts, copy, cap, len, on_ev, r);
	free(copy);
}

/* Plays the records; bytewise cuts every chunk into single bytes. */
static void
play(struct run *r, const uint8_t *data, size_t size, int bytewise)
{
	struct am_framer f;
	size_t i = 1;
	am_time_t ts = 0;

	memset(r, 0, sizeof(*r));
	am_framer_init(&f, (enum am_fr_proto)(1 + data[0] % 6));
	while (i + 2 <= size) {
		uint8_t ctl = data[i], len = data[i + 1];
		int dir = ctl & 1;
		i += 2;
		ts++;
		if (ctl & 2) {
			am_framer_fin(&f, dir, on_ev, r);
			continue;
		}
		if (ctl & 4) {
			uint32_t g = (uint32_t)len * 8;
			if (bytewise) {
				for (uint32_t k = 0; k < g; k++) {
					r->fed[dir]++;
					am_framer_gap(&f, dir, ts, 1, on_ev, r);
				}
			} else {
				r->fed[dir] += g;
				am_framer_gap(&f, dir, ts, g, on_ev, r);
			}
			continue;
		}
		uint32_t cap = len;
		if (i + cap > size)
			cap = (uint32_t)(size - i);
		uint32_t seg = cap + (uint32_t)(ctl >> 3) * 7;
		if (bytewise) {
			for (uint32_t k = 0; k < seg; k++)
				chunk(&f, r, dir, ts, data + i + k, k < cap ? 1 : 0, 1);
		} else {
			chunk(&f, r, dir, ts, data + i, cap, seg);
		}
		i += cap;
	}
	am_framer_fin(&f, 1, on_ev, r);
	CHECK(am_framer_pending(&f) <= f.nreq);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	play(&A, data, size, 0);
	play(&B, data, size, 1);
	CHECK(A.n == B.n);
	CHECK(memcmp(A.ev, B.ev, sizeof(A.ev[0]) * (size_t)A.n) == 0);
	return 0;
}
