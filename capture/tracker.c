/* The bounded TCP session tracker and transaction timing.
 *
 * Sessions live in a seeded, symmetric hash table (both directions of a
 * connection land in the same bucket).  Every session is also on exactly one
 * timeout list (half-open, established, closed), kept in last-activity order
 * by moving a session to the tail on each packet, so expiry only ever looks
 * at list heads.  A session whose response has been acknowledged is also on
 * a "quiet" list: when nothing more happens for `quiet`, the exchange is
 * complete.  Session memory comes from slabs and is recycled; the packet path
 * never allocates once the table has grown to its working size.
 *
 * Sequence numbers are compared in 32-bit serial arithmetic.  Each direction
 * remembers the next new byte (`nxt`) and a few holes (data skipped over):
 * a segment below `nxt` either fills a hole (out of order) or is a
 * retransmission, and neither moves a timing. */
#include "config.h"
#include "capture/tracker.h"
#include "capture/framing.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HOLES 4
#define SLAB_SESSIONS 1024

#define SEQ_LT(a, b)  ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

enum { ST_SYN, ST_SYNACK, ST_EST, ST_CLOSED };
enum { L_SYN, L_EST, L_CLOSED, L__COUNT };
enum { PH_IDLE, PH_REQ, PH_RESP };

struct hole {
	uint32_t lo, hi;
};

struct dir {
	uint32_t isn;
	uint32_t nxt;             /* next new sequence number */
	uint8_t init;             /* nxt is valid */
	uint8_t fin;
	uint8_t nholes;
	uint8_t adu_on;           /* an ADU is in progress in this direction */
	uint32_t acked;           /* highest ACK the other side sent for this direction */
	struct hole holes[MAX_HOLES];
	am_time_t adu_first, adu_last;
	uint64_t adu_bytes;
};

struct txst {
	uint8_t phase;
	am_time_t req_first, req_last, resp_first, resp_last, resp_ack;
	uint32_t resp_end;        /* sequence number after the last response byte */
	uint64_t req_bytes, resp_bytes, gap;
	uint32_t req_pkts, resp_pkts, retrans, ooo;
	int32_t sig;
};

/* Payload-aware pairing: requests waiting for (or holding) their response,
 * in request order.  One slot per framed connection, from a bounded pool. */
enum { FE_REQ_END = 1, FE_RESP = 2, FE_DONE = 4 };

struct fent {
	uint32_t req;
	uint8_t state;
	int32_t sig, status;
	am_time_t req_first, req_last, resp_first, resp_last, ack;
	uint64_t req_pos, resp_pos;
	uint64_t req_bytes, resp_bytes;
	uint32_t req_pkts, resp_pkts;
	uint32_t end_seq;         /* sequence number after the response's last byte */
};

struct fslot {
	struct fslot *next_free;
	struct am_framer fr;
	uint32_t base[2];         /* sequence number of stream offset 0, per direction */
	uint8_t base_ok[2];
	uint16_t head, n, cap;    /* ring of pending requests (cap = max_pending) */
	uint8_t overflow;         /* more requests than the ring holds: stop framing */
	uint8_t ackpos;           /* next slot of acks[] */
	am_time_t last_fed[2];    /* time of the last bytes fed, per direction */
	struct { uint32_t ack; am_time_t ts; } acks[8];  /* the client's last ACK advances */
	struct fent e[];          /* cap entries */
};

struct sess {
	struct sess *hnext;
	struct sess *prev, *next;        /* timeout list */
	struct sess *qprev, *qnext;      /* quiet list */
	uint8_t state;
	uint8_t list;
	uint8_t ignored;
	uint8_t live;
	uint8_t quiet;                   /* on the quiet list (since quiet_since) */
	uint8_t fr_tried;                /* a framer was asked for (at the first data) */
	am_time_t quiet_since;
	am_time_t last_syn_ts;
	struct am_conn c;
	struct dir d[2];
	struct txst t;
	struct fslot *fs;                /* payload-aware pairing, NULL: header-only */
};

struct list {
	struct sess *head, *tail;
	uint64_t n;
};

struct slab {
	struct slab *next;
	struct sess s[SLAB_SESSIONS];
};

struct am_tracker {
	struct am_tracker_cfg cfg;
	struct am_tracker_cb cb;
	struct sess **buckets;
	uint32_t mask;
	struct list lists[L__COUNT];
	struct sess *qhead, *qtail;      /* quiet list */
	struct sess *free_list;
	struct slab *slabs;
	struct fslot *fs_free;
	uint64_t fs_count;               /* framing slots allocated */
	uint64_t allocated;              /* sessions in slabs */
	uint64_t limit;
	uint64_t next_id;
	am_time_t now;
	struct am_tracker_stats st;
};

static const char *const outcome_names[AM_OUT__COUNT] = {
	[AM_OUT_COMPLETE] = "complete",
	[AM_OUT_RESET] = "reset",
	[AM_OUT_TIMEOUT] = "timeout",
	[AM_OUT_INCOMPLETE] = "incomplete",
	[AM_OUT_OPEN] = "open",
	[AM_OUT_EVICTED] = "evicted",
};

static const char *const adu_names[AM_ADU__COUNT] = {
	[AM_ADU_SYN] = "SYN", [AM_ADU_RTT] = "RTT", [AM_ADU_SEQ] = "SEQ", [AM_ADU_CONC] = "CONC",
	[AM_ADU_ADU] = "ADU", [AM_ADU_INC] = "INC", [AM_ADU_END] = "END",
};

const char *
am_adu_name(enum am_adu_type t)
{
	return (unsigned)t < AM_ADU__COUNT ? adu_names[t] : "unknown";
}

const char *
am_outcome_name(enum am_outcome o)
{
	return (unsigned)o < AM_OUT__COUNT ? outcome_names[o] : "unknown";
}

void
am_tracker_cfg_default(struct am_tracker_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_sessions = 262144;
	cfg->memcap = 256ULL << 20;
	cfg->timeout_syn = 30 * AM_USEC;
	cfg->timeout_est = 600 * AM_USEC;
	cfg->timeout_closed = 10 * AM_USEC;
	cfg->emerg_syn = 5 * AM_USEC;
	cfg->emerg_est = 60 * AM_USEC;
	cfg->emerg_closed = 1 * AM_USEC;
	cfg->emerg_percent = 90;
	cfg->quiet = 500000;
	cfg->wait_for_syn = 1;
	cfg->max_framed = 4096;
	cfg->max_pending = 256;
}

struct am_tracker *
am_tracker_new(const struct am_tracker_cfg *cfg, const struct am_tracker_cb *cb)
{
	struct am_tracker *t = am_xcalloc(1, sizeof(*t));
	uint32_t nb;

	if (cfg)
		t->cfg = *cfg;
	else
		am_tracker_cfg_default(&t->cfg);
	if (cb)
		t->cb = *cb;
	if (t->cfg.seed == 0)
		t->cfg.seed = am_random_seed();
	if (t->cfg.max_sessions == 0)
		t->cfg.max_sessions = 1;
	if (t->cfg.max_pending == 0 || t->cfg.max_pending > AM_TRACKER_MAX_PENDING)
		t->cfg.max_pending = AM_TRACKER_MAX_PENDING;
	t->limit = t->cfg.max_sessions;
	if (t->cfg.memcap) {
		uint64_t bymem = t->cfg.memcap / sizeof(struct sess);
		if (bymem < t->limit)
			t->limit = bymem ? bymem : 1;
	}
	nb = t->cfg.hash_buckets;
	if (nb == 0)
		nb = (uint32_t)(t->limit < (1u << 30) ? t->limit : (1u << 30));
	uint32_t p = 64;
	while (p < nb && p < (1u << 30))
		p <<= 1;
	t->mask = p - 1;
	t->buckets = am_xcalloc(p, sizeof(*t->buckets));
	t->st.sessions_limit = t->limit;
	t->st.memory = (uint64_t)p * sizeof(*t->buckets);
	return t;
}

void
am_tracker_free(struct am_tracker *t)
{
	if (t == NULL)
		return;
	while (t->slabs) {
		struct slab *n = t->slabs->next;
		for (int i = 0; i < SLAB_SESSIONS; i++)
			if (t->slabs->s[i].live && t->slabs->s[i].fs)
				free(t->slabs->s[i].fs);
		free(t->slabs);
		t->slabs = n;
	}
	while (t->fs_free) {
		struct fslot *n = t->fs_free->next_free;
		free(t->fs_free);
		t->fs_free = n;
	}
	free(t->buckets);
	free(t);
}

/* --- hashing -------------------------------------------------------- */

static uint32_t
flow_hash(const struct am_tracker *t, const struct am_addr *a, uint16_t ap,
    const struct am_addr *b, uint16_t bp)
{
	uint8_t key[40];
	size_t alen = a->family == AM_AF_INET ? 4 : 16;
	int c = memcmp(a->a, b->a, alen);

	/* Order the two endpoints so both directions hash alike. */
	if (c > 0 || (c == 0 && ap > bp)) {
		const struct am_addr *ta = a;
		uint16_t tp = ap;
		a = b;
		ap = bp;
		b = ta;
		bp = tp;
	}
	memcpy(key, a->a, alen);
	memcpy(key + alen, b->a, alen);
	key[2 * alen] = (uint8_t)(ap >> 8);
	key[2 * alen + 1] = (uint8_t)ap;
	key[2 * alen + 2] = (uint8_t)(bp >> 8);
	key[2 * alen + 3] = (uint8_t)bp;
	return (uint32_t)am_hash64(key, 2 * alen + 4, t->cfg.seed);
}

static inline int
addr_eq(const struct am_addr *x, const struct am_addr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, 16) == 0;
}

/* Finds the session of packet p; *dir is 0 client->server, 1 server->client. */
static struct sess *
lookup(struct am_tracker *t, const struct am_packet *p, uint32_t h, int *dir)
{
	for (struct sess *s = t->buckets[h & t->mask]; s; s = s->hnext) {
		if (s->c.client_port == p->sport && s->c.server_port == p->dport &&
		    addr_eq(&s->c.client, &p->src) && addr_eq(&s->c.server, &p->dst)) {
			*dir = 0;
			return s;
		}
		if (s->c.client_port == p->dport && s->c.server_port == p->sport &&
		    addr_eq(&s->c.client, &p->dst) && addr_eq(&s->c.server, &p->src)) {
			*dir = 1;
			return s;
		}
	}
	return NULL;
}

/* --- lists ---------------------------------------------------------- */

static void
list_unlink(struct list *l, struct sess *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->tail = s->prev;
	s->prev = s->next = NULL;
	l->n--;
}

static void
list_append(struct list *l, struct sess *s)
{
	s->next = NULL;
	s->prev = l->tail;
	if (l->tail)
		l->tail->next = s;
	else
		l->head = s;
	l->tail = s;
	l->n++;
}

/* Moves s to the tail of list `which` (its most recently active end). */
static void
touch(struct am_tracker *t, struct sess *s, int which)
{
	list_unlink(&t->lists[s->list], s);
	s->list = (uint8_t)which;
	list_append(&t->lists[which], s);
}

static void
quiet_remove(struct am_tracker *t, struct sess *s)
{
	if (!s->quiet)
		return;
	if (s->qprev)
		s->qprev->qnext = s->qnext;
	else
		t->qhead = s->qnext;
	if (s->qnext)
		s->qnext->qprev = s->qprev;
	else
		t->qtail = s->qprev;
	s->qprev = s->qnext = NULL;
	s->quiet = 0;
}

static void
quiet_append(struct am_tracker *t, struct sess *s)
{
	quiet_remove(t, s);
	s->quiet = 1;
	s->quiet_since = t->now;
	s->qnext = NULL;
	s->qprev = t->qtail;
	if (t->qtail)
		t->qtail->qnext = s;
	else
		t->qhead = s;
	t->qtail = s;
}

/* --- transactions --------------------------------------------------- */

static inline int64_t
span(am_time_t from, am_time_t to)
{
	if (from == 0 || to == 0)
		return -1;
	return to >= from ? to - from : 0;
}

static inline int
framed(const struct sess *s)
{
	return s->fs != NULL && s->c.framed;
}

/* Reports the exchange in progress (if any) and resets the slot.  While
 * the framer pairs requests, the header-only exchange only keeps its
 * state (for a fall back) and reports nothing. */
static void
txn_finish(struct am_tracker *t, struct sess *s, enum am_outcome outcome)
{
	struct txst *x = &s->t;
	struct am_txn r;

	if (framed(s)) {
		memset(x, 0, sizeof(*x));
		x->sig = -1;
		return;
	}
	quiet_remove(t, s);
	if (x->phase == PH_IDLE)
		return;
	if (x->phase == PH_REQ && outcome == AM_OUT_COMPLETE)
		outcome = AM_OUT_INCOMPLETE;
	memset(&r, 0, sizeof(r));
	r.req_first = x->req_first;
	r.req_last = x->req_last;
	r.resp_first = x->resp_first;
	r.resp_last = x->resp_last;
	r.resp_ack = x->resp_ack;
	r.first = span(x->req_first, x->resp_first);
	r.last = span(x->req_first, x->resp_last);
	r.ack = span(x->req_first, x->resp_ack);
	r.think = span(x->req_last, x->resp_first);
	r.req_bytes = x->req_bytes;
	r.resp_bytes = x->resp_bytes;
	r.req_pkts = x->req_pkts;
	r.resp_pkts = x->resp_pkts;
	r.retrans = x->retrans;
	r.ooo = x->ooo;
	r.gap_bytes = x->gap;
	r.outcome = outcome;
	r.signature = x->sig;
	r.seq = ++s->c.transactions;
	r.status = -1;
	t->st.transactions++;
	memset(x, 0, sizeof(*x));
	x->sig = -1;
	if (!s->ignored && t->cb.txn)
		t->cb.txn(t->cb.ctx, &s->c, &r);
}

/* --- payload-aware pairing ------------------------------------------ */

/* A response that started but whose end the framer never saw: it ends,
 * as far as anyone knows, with the last server bytes fed. */
static void
fent_close_resp(struct fslot *f, struct fent *e)
{
	if (!(e->state & FE_RESP) || (e->state & FE_DONE))
		return;
	if (f->last_fed[1] > e->resp_last)
		e->resp_last = f->last_fed[1];
	if (e->resp_last < e->resp_first)
		e->resp_last = e->resp_first;
	if (f->fr.d[1].pos > e->resp_pos)
		e->resp_bytes = f->fr.d[1].pos - e->resp_pos;
}

static void
fent_emit(struct am_tracker *t, struct sess *s, struct fent *e, enum am_outcome outcome)
{
	struct am_txn r;

	fent_close_resp(s->fs, e);
	/* A request still arriving (the server answered before its end): its
	 * bytes so far. */
	if (!(e->state & FE_REQ_END) && s->fs->fr.d[0].pos > e->req_pos)
		e->req_bytes = s->fs->fr.d[0].pos - e->req_pos;
	/* An ACK can only follow the bytes it acknowledges. */
	if (e->ack && e->ack < e->resp_last)
		e->ack = 0;

	if (!(e->state & FE_RESP) && outcome == AM_OUT_COMPLETE)
		outcome = AM_OUT_INCOMPLETE;
	memset(&r, 0, sizeof(r));
	r.req_first = e->req_first;
	r.req_last = e->req_last;
	r.resp_first = e->resp_first;
	r.resp_last = e->resp_last;
	r.resp_ack = e->ack;
	r.first = span(e->req_first, e->resp_first);
	r.last = span(e->req_first, e->resp_last);
	r.ack = span(e->req_first, e->ack);
	/* think is only defined when the request ended before the answer began */
	r.think = e->req_last <= e->resp_first ? span(e->req_last, e->resp_first) : -1;
	r.req_bytes = e->req_bytes;
	r.resp_bytes = e->resp_bytes;
	r.req_pkts = e->req_pkts;
	r.resp_pkts = e->resp_pkts;
	r.outcome = outcome;
	r.signature = e->sig;
	r.status = e->status;
	r.seq = ++s->c.transactions;
	t->st.transactions++;
	if (!s->ignored && t->cb.txn)
		t->cb.txn(t->cb.ctx, &s->c, &r);
}

static struct fent *
fent_find(struct fslot *f, uint32_t req)
{
	for (int i = f->n - 1; i >= 0; i--) {
		struct fent *e = &f->e[(f->head + i) % f->cap];
		if (e->req == req)
			return e;
	}
	return NULL;
}

/* Reports answered requests at the head of the queue: those whose
 * response the client acknowledged, or all answered ones when `force`. */
static void
fent_drain(struct am_tracker *t, struct sess *s, int force)
{
	struct fslot *f = s->fs;

	while (f->n > 0) {
		struct fent *e = &f->e[f->head];
		/* Wait for the request's own end too (a server may answer
		 * before the body is in), unless forced. */
		if (!(e->state & FE_DONE) || (!force && (e->ack == 0 || !(e->state & FE_REQ_END))))
			break;
		fent_emit(t, s, e, AM_OUT_COMPLETE);
		f->head = (uint16_t)((f->head + 1) % f->cap);
		f->n--;
	}
	if (f->n == 0 || !(f->e[f->head].state & FE_DONE))
		quiet_remove(t, s);
}

/* Ends pairing: every request still queued is reported (answered ones
 * as complete, the others with `why`), or dropped when `drop`. */
static void
fent_flush(struct am_tracker *t, struct sess *s, enum am_outcome why, int drop)
{
	struct fslot *f = s->fs;

	quiet_remove(t, s);
	while (f->n > 0) {
		struct fent *e = &f->e[f->head];
		if (e->state & FE_DONE)
			fent_emit(t, s, e, AM_OUT_COMPLETE);
		else if (drop)
			t->st.framed_dropped++;
		else
			fent_emit(t, s, e, (e->state & FE_RESP) && why == AM_OUT_COMPLETE ? AM_OUT_COMPLETE : why);
		f->head = (uint16_t)((f->head + 1) % f->cap);
		f->n--;
	}
}

/* Sync is lost: answered requests are reported, the oldest open one
 * becomes the header-only exchange in progress (so it is still timed,
 * from its TCP headers), any others are dropped and counted. */
static void
fr_handover(struct am_tracker *t, struct sess *s)
{
	struct fslot *f = s->fs;
	struct txst *x = &s->t;

	quiet_remove(t, s);
	memset(x, 0, sizeof(*x));
	x->sig = -1;
	while (f->n > 0 && (f->e[f->head].state & FE_DONE)) {
		fent_emit(t, s, &f->e[f->head], AM_OUT_COMPLETE);
		f->head = (uint16_t)((f->head + 1) % f->cap);
		f->n--;
	}
	if (f->n > 0) {
		struct fent *e = &f->e[f->head];
		x->phase = (e->state & FE_RESP) ? PH_RESP : PH_REQ;
		x->req_first = e->req_first;
		x->req_last = e->req_last ? e->req_last : t->now;
		fent_close_resp(f, e);
		x->resp_first = e->resp_first;
		x->resp_last = e->resp_last;
		x->req_bytes = e->req_bytes;
		x->resp_bytes = e->resp_bytes;
		x->req_pkts = e->req_pkts;
		x->resp_pkts = e->resp_pkts;
		x->resp_end = s->d[1].nxt;
		x->sig = e->sig;
		f->head = (uint16_t)((f->head + 1) % f->cap);
		f->n--;
	}
	t->st.framed_dropped += f->n;
	f->n = 0;
}

struct fr_ctx {
	struct am_tracker *t;
	struct sess *s;
};

static void
fr_event(void *ctx, const struct am_fr_event *ev)
{
	struct fr_ctx *fc = ctx;
	struct am_tracker *t = fc->t;
	struct sess *s = fc->s;
	struct fslot *f = s->fs;
	struct fent *e;

	switch (ev->type) {
	case AM_FR_REQ_START:
		if (ev->flags & AM_FR_F_NOREPLY)
			return;          /* no response will come: not an exchange */
		if (f->n >= t->cfg.max_pending) {
			f->overflow = 1;
			return;
		}
		e = &f->e[(f->head + f->n) % f->cap];
		f->n++;
		memset(e, 0, sizeof(*e));
		e->req = ev->req;
		e->req_first = ev->ts;
		e->req_pos = ev->pos;
		e->status = -1;
		e->sig = -1;
		e->req_pkts = (ev->flags & AM_FR_F_EARLIER) ? 0 : 1;
		if (t->cb.classify && !s->ignored)
			e->sig = t->cb.classify(t->cb.ctx, &s->c, ev->head, ev->headlen);
		return;
	case AM_FR_REQ_END:
		if ((e = fent_find(f, ev->req)) != NULL) {
			e->req_last = ev->ts;
			e->req_bytes = ev->pos - e->req_pos;
			e->state |= FE_REQ_END;
		}
		return;
	case AM_FR_RESP_START:
		if ((e = fent_find(f, ev->req)) != NULL) {
			e->resp_first = ev->ts;
			e->resp_pos = ev->pos;
			e->resp_pkts = (ev->flags & AM_FR_F_EARLIER) ? 0 : 1;
			e->state |= FE_RESP;
		}
		return;
	case AM_FR_RESP_END:
		if ((e = fent_find(f, ev->req)) != NULL) {
			if (!(e->state & FE_RESP)) {
				e->resp_first = ev->ts;
				e->resp_pos = ev->pos;
				e->state |= FE_RESP;
			}
			e->resp_last = ev->ts;
			e->resp_bytes = ev->pos - e->resp_pos;
			e->status = ev->status;
			e->end_seq = f->base[1] + (uint32_t)ev->pos;
			e->state |= FE_DONE;
			/* The end may be known only after the client acknowledged it
			 * (the framer needed a later byte): take the first ACK that
			 * covered it from the recent ones. */
			for (int i = 0; i < 8 && e->ack == 0; i++) {
				int k = (f->ackpos + i) % 8;
				if (f->acks[k].ts >= e->resp_last && SEQ_GEQ(f->acks[k].ack, e->end_seq))
					e->ack = f->acks[k].ts;
			}
			if (f->head == (uint16_t)(e - f->e))
				quiet_append(t, s);
		}
		return;
	case AM_FR_INTERIM_START:
		t->st.interim++;
		return;
	case AM_FR_INTERIM_END:
		return;
	case AM_FR_LOST:
		s->c.framed = 0;
		t->st.framed_lost++;
		if (ev->reason < sizeof(t->st.framed_lost_reason) / sizeof(t->st.framed_lost_reason[0]))
			t->st.framed_lost_reason[ev->reason]++;
		fr_handover(t, s);
		return;
	default:
		return;
	}
}

/* A data segment of direction d continues the message in progress there
 * (if any): count it for that message.  Messages that start in the
 * segment count it at their START event. */
static void
fent_count_pkt(struct fslot *f, int d)
{
	for (int i = 0; i < f->n; i++) {
		struct fent *e = &f->e[(f->head + i) % f->cap];
		if (d == 0 && !(e->state & FE_REQ_END)) {
			e->req_pkts++;
			return;
		}
		if (d == 1 && (e->state & FE_RESP) && !(e->state & FE_DONE)) {
			e->resp_pkts++;
			return;
		}
	}
}

/* New in-order bytes (and any hole before them) for the framer. */
static void
fr_feed(struct am_tracker *t, struct sess *s, int d, const struct am_packet *p, uint32_t gap,
    uint32_t fresh)
{
	struct fslot *f = s->fs;
	struct fr_ctx fc = { t, s };

	if (!f->base_ok[d]) {
		f->base[d] = p->seq + p->seg_len - fresh - gap;
		f->base_ok[d] = 1;
	}
	if (fresh)
		f->last_fed[d] = t->now;
	if (gap)
		am_framer_gap(&f->fr, d, t->now, gap, fr_event, &fc);
	if (fresh && framed(s)) {
		uint32_t off = p->seg_len - fresh;
		uint32_t cap = p->payload_len > off ? p->payload_len - off : 0;
		fent_count_pkt(f, d);
		am_framer_feed(&f->fr, d, t->now, cap ? p->payload + off : NULL, cap, fresh, fr_event, &fc);
	}
	if (framed(s) && f->overflow) {
		t->st.pending_cap++;
		am_framer_stop(&f->fr, AM_FR_LOST_PENDING, fr_event, &fc);
	}
}

static void
fr_fin(struct am_tracker *t, struct sess *s, int d)
{
	struct fr_ctx fc = { t, s };

	am_framer_fin(&s->fs->fr, d, fr_event, &fc);
}

static size_t
fslot_size(const struct am_tracker *t)
{
	return sizeof(struct fslot) + (size_t)t->cfg.max_pending * sizeof(struct fent);
}

static void
fr_attach(struct am_tracker *t, struct sess *s)
{
	struct fslot *f = t->fs_free;

	if (f) {
		t->fs_free = f->next_free;
	} else if (t->fs_count < t->cfg.max_framed) {
		f = malloc(fslot_size(t));
		if (f == NULL) {
			t->st.framed_cap++;
			return;
		}
		t->fs_count++;
		t->st.memory += fslot_size(t);
	} else {
		t->st.framed_cap++;
		return;
	}
	memset(f, 0, fslot_size(t));
	f->cap = (uint16_t)t->cfg.max_pending;
	if (am_framer_init(&f->fr, (enum am_fr_proto)s->c.framing) < 0) {
		f->next_free = t->fs_free;
		t->fs_free = f;
		return;
	}
	s->fs = f;
	s->c.framed = 1;
	t->st.framed++;
}

static void
fr_detach(struct am_tracker *t, struct sess *s)
{
	if (s->fs == NULL)
		return;
	s->fs->next_free = t->fs_free;
	t->fs_free = s->fs;
	s->fs = NULL;
	s->c.framed = 0;
}

/* --- ADUs ----------------------------------------------------------- */

static void
adu_emit(struct am_tracker *t, struct sess *s, enum am_adu_type type, am_time_t ts, int dir,
    uint64_t bytes, int64_t think, int64_t rtt)
{
	struct am_adu a;

	if (type == AM_ADU_ADU || type == AM_ADU_INC) {
		t->st.adus++;
		if (s->c.concurrent)
			t->st.conc_adus++;
	}
	if (s->ignored || t->cb.adu == NULL)
		return;
	a.type = type;
	a.ts = ts;
	a.dir = dir;
	a.bytes = bytes;
	a.think = think;
	a.rtt = rtt;
	a.concurrent = s->c.concurrent;
	t->cb.adu(t->cb.ctx, &s->c, &a);
}

/* Ends the ADU in progress in direction d; think is the quiet time after it. */
static void
adu_close(struct am_tracker *t, struct sess *s, int d, enum am_adu_type type, int64_t think)
{
	struct dir *dr = &s->d[d];

	if (!dr->adu_on)
		return;
	adu_emit(t, s, type, dr->adu_first, d, dr->adu_bytes, s->c.concurrent ? -1 : think, -1);
	dr->adu_on = 0;
	dr->adu_bytes = 0;
}

/* New application bytes in direction d at the tracker's clock. */
static void
adu_data(struct am_tracker *t, struct sess *s, int d, uint32_t fresh)
{
	struct dir *dr = &s->d[d], *od = &s->d[1 - d];

	if (!s->c.concurrent && od->adu_on)
		adu_close(t, s, 1 - d, AM_ADU_ADU, t->now - od->adu_last);
	if (dr->adu_on && t->now - dr->adu_last >= t->cfg.quiet)
		adu_close(t, s, d, AM_ADU_ADU, t->now - dr->adu_last);
	if (!dr->adu_on) {
		dr->adu_on = 1;
		dr->adu_first = t->now;
		dr->adu_bytes = 0;
	}
	dr->adu_last = t->now;
	dr->adu_bytes += fresh;
}

/* Data from d while the other side still has unacknowledged data: both
 * sides are sending at once, so turns cannot be inferred any more. */
static int
check_concurrent(struct am_tracker *t, struct sess *s, int d)
{
	struct dir *od = &s->d[1 - d];

	if (s->c.concurrent)
		return 1;
	if (!od->init || !SEQ_GT(od->nxt, od->acked))
		return 0;
	/* A FIN alone outstanding is no data. */
	if (od->fin && od->nxt - od->acked == 1)
		return 0;
	s->c.concurrent = 1;
	t->st.conc_connections++;
	adu_emit(t, s, AM_ADU_CONC, t->now, d, 0, -1, -1);
	if (s->t.phase != PH_IDLE && !framed(s)) {
		t->st.conc_dropped++;
		quiet_remove(t, s);
		memset(&s->t, 0, sizeof(s->t));
		s->t.sig = -1;
	}
	return 1;
}

/* --- session life --------------------------------------------------- */

static struct sess *
sess_alloc(struct am_tracker *t)
{
	struct sess *s = t->free_list;

	if (s) {
		t->free_list = s->hnext;
		return s;
	}
	if (t->allocated >= t->limit)
		return NULL;
	struct slab *sl = calloc(1, sizeof(*sl));
	if (sl == NULL)
		return NULL;
	sl->next = t->slabs;
	t->slabs = sl;
	uint64_t take = t->limit - t->allocated;
	if (take > SLAB_SESSIONS)
		take = SLAB_SESSIONS;
	/* Sessions beyond `take` in the last slab stay unused: the cap holds. */
	for (uint64_t i = 1; i < take; i++) {
		sl->s[i].hnext = t->free_list;
		t->free_list = &sl->s[i];
	}
	t->allocated += take;
	t->st.memory += sizeof(*sl);
	return &sl->s[0];
}

/* Releases a session: reports what is pending, unlinks, recycles. */
static void
sess_release(struct am_tracker *t, struct sess *s, enum am_outcome why)
{
	enum am_outcome txo = why;

	/* Answered, then idle (or answered and acknowledged when the input
	 * ended): the exchange was over. */
	if (s->t.phase == PH_RESP && (why == AM_OUT_TIMEOUT || (why == AM_OUT_OPEN && s->t.resp_ack)))
		txo = AM_OUT_COMPLETE;
	if (framed(s)) {
		fent_flush(t, s, s->c.closed_by == 1 ? AM_OUT_COMPLETE : s->c.closed_by == 2 ?
		    AM_OUT_RESET : why, 0);
		memset(&s->t, 0, sizeof(s->t));   /* the header-only shadow reports nothing */
	}
	fr_detach(t, s);
	txn_finish(t, s, txo);
	/* In progress only if the connection was still open when the input ended. */
	for (int d = 0; d < 2; d++)
		adu_close(t, s, d, why == AM_OUT_OPEN && s->c.closed_by == 0 ? AM_ADU_INC : AM_ADU_ADU, -1);
	adu_emit(t, s, AM_ADU_END, s->c.last_ts, 0, 0, -1, -1);
	if (s->c.closed_by == 1)
		s->c.outcome = AM_OUT_COMPLETE;
	else if (s->c.closed_by == 2)
		s->c.outcome = AM_OUT_RESET;
	else
		s->c.outcome = why;
	if (!s->ignored && t->cb.conn_end)
		t->cb.conn_end(t->cb.ctx, &s->c);

	uint32_t h = flow_hash(t, &s->c.client, s->c.client_port, &s->c.server, s->c.server_port);
	struct sess **pp = &t->buckets[h & t->mask];
	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	list_unlink(&t->lists[s->list], s);
	s->live = 0;
	s->hnext = t->free_list;
	t->free_list = s;
	t->st.sessions_active--;
}

static int
nearly_full(const struct am_tracker *t)
{
	return t->st.sessions_active * 100 >= t->limit * t->cfg.emerg_percent;
}

static void
expire(struct am_tracker *t, am_time_t now)
{
	int emerg = nearly_full(t);
	const int64_t to[L__COUNT] = {
		emerg ? t->cfg.emerg_syn : t->cfg.timeout_syn,
		emerg ? t->cfg.emerg_est : t->cfg.timeout_est,
		emerg ? t->cfg.emerg_closed : t->cfg.timeout_closed,
	};

	while (t->qhead && t->qhead->quiet_since + t->cfg.quiet <= now) {
		struct sess *q = t->qhead;
		if (framed(q))
			fent_drain(t, q, 1);
		else
			txn_finish(t, q, AM_OUT_COMPLETE);
	}
	for (int l = 0; l < L__COUNT; l++) {
		struct sess *s;
		while ((s = t->lists[l].head) != NULL && s->c.last_ts + to[l] <= now) {
			if (l != L_CLOSED)
				t->st.timed_out++;
			sess_release(t, s, AM_OUT_TIMEOUT);
		}
	}
}

static struct sess *
sess_new(struct am_tracker *t, const struct am_packet *p, uint32_t h, int client_is_src)
{
	struct sess *s;

	if (t->st.sessions_active >= t->limit) {
		/* Make room from the oldest half-open connection; never from an
		 * established one (a SYN flood must not push out real work). */
		struct sess *victim = t->lists[L_SYN].head;
		if (victim == NULL) {
			t->st.refused++;
			return NULL;
		}
		t->st.evicted++;
		sess_release(t, victim, AM_OUT_EVICTED);
	}
	s = sess_alloc(t);
	if (s == NULL) {
		t->st.refused++;
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->live = 1;
	s->c.id = ++t->next_id;
	if (client_is_src) {
		s->c.client = p->src;
		s->c.server = p->dst;
		s->c.client_port = p->sport;
		s->c.server_port = p->dport;
	} else {
		s->c.client = p->dst;
		s->c.server = p->src;
		s->c.client_port = p->dport;
		s->c.server_port = p->sport;
	}
	s->c.src_index = p->source;
	s->c.proto = AM_IPPROTO_TCP;
	s->c.first_ts = s->c.last_ts = t->now;
	s->c.srv_rtt = s->c.cli_rtt = -1;
	s->c.wscale[0] = s->c.wscale[1] = 0xff;
	s->c.rule = -1;
	s->c.signature = -1;
	s->t.sig = -1;
	s->hnext = t->buckets[h & t->mask];
	t->buckets[h & t->mask] = s;
	s->list = L_SYN;
	list_append(&t->lists[L_SYN], s);
	t->st.sessions_created++;
	t->st.sessions_active++;
	if (t->st.sessions_active > t->st.sessions_peak)
		t->st.sessions_peak = t->st.sessions_active;
	if (t->cb.conn_new && t->cb.conn_new(t->cb.ctx, &s->c) != 0)
		s->ignored = 1;
	s->c.framed = 0;
	return s;
}

/* --- per-packet ----------------------------------------------------- */

/* Accounts a data segment in direction d; returns the number of new bytes
 * (beyond anything seen before).  *advanced is set when nxt moved. */
static uint32_t
seg_data(struct am_tracker *t, struct sess *s, int d, const struct am_packet *p, int *advanced)
{
	struct dir *dr = &s->d[d];
	uint32_t seq = p->seq, end = p->seq + p->seg_len;
	uint32_t fresh = 0;

	*advanced = 0;
	if (!dr->init) {
		dr->nxt = seq;
		dr->init = 1;
	}
	if (SEQ_GEQ(seq, dr->nxt)) {
		if (SEQ_GT(seq, dr->nxt)) {
			uint32_t gap = seq - dr->nxt;
			s->c.gap_bytes[d] += gap;
			if (s->t.phase != PH_IDLE)
				s->t.gap += gap;
			if (dr->nholes < MAX_HOLES) {
				dr->holes[dr->nholes].lo = dr->nxt;
				dr->holes[dr->nholes].hi = seq;
				dr->nholes++;
			}
		}
		fresh = p->seg_len;
		dr->nxt = end;
		*advanced = 1;
		return fresh;
	}
	if (SEQ_GT(end, dr->nxt)) {
		/* Overlaps old data and brings new bytes. */
		fresh = end - dr->nxt;
		dr->nxt = end;
		*advanced = 1;
		s->c.retrans[d]++;
		t->st.retrans++;
		if (s->t.phase != PH_IDLE)
			s->t.retrans++;
		return fresh;
	}
	/* Entirely below nxt: a hole being filled, or a retransmission. */
	for (int i = 0; i < dr->nholes; i++) {
		struct hole *hl = &dr->holes[i];
		if (SEQ_LT(seq, hl->hi) && SEQ_GT(end, hl->lo)) {
			uint32_t lo = SEQ_GT(seq, hl->lo) ? seq : hl->lo;
			uint32_t hi = SEQ_LT(end, hl->hi) ? end : hl->hi;
			fresh = hi - lo;
			s->c.gap_bytes[d] -= s->c.gap_bytes[d] >= fresh ? fresh : s->c.gap_bytes[d];
			if (s->t.phase != PH_IDLE)
				s->t.gap -= s->t.gap >= fresh ? fresh : s->t.gap;
			/* Shrink the hole from the side that was filled. */
			if (lo == hl->lo && hi == hl->hi) {
				dr->holes[i] = dr->holes[--dr->nholes];
			} else if (lo == hl->lo) {
				hl->lo = hi;
			} else if (hi == hl->hi) {
				hl->hi = lo;
			} else {
				hl->hi = lo;   /* the upper part is forgotten: bounded state */
			}
			s->c.ooo[d]++;
			if (s->t.phase != PH_IDLE)
				s->t.ooo++;
			return fresh;
		}
	}
	s->c.retrans[d]++;
	t->st.retrans++;
	if (s->t.phase != PH_IDLE)
		s->t.retrans++;
	return 0;
}

/* New data in direction d moves the exchange along: client data starts or
 * extends a request (ending an answered exchange first), server data
 * starts or extends the response. */
static void
txn_data(struct am_tracker *t, struct sess *s, int d, const struct am_packet *p, uint32_t fresh)
{
	struct txst *x = &s->t;

	if (d == 0) {
		if (x->phase == PH_RESP)
			txn_finish(t, s, AM_OUT_COMPLETE);
		if (x->phase == PH_IDLE) {
			x->phase = PH_REQ;
			x->req_first = t->now;
			x->sig = -1;
			if (t->cb.classify && !s->ignored && !framed(s))
				x->sig = t->cb.classify(t->cb.ctx, &s->c, p->payload, p->payload_len);
		} else if (t->cb.classify_more && !s->ignored && !framed(s)) {
			x->sig = t->cb.classify_more(t->cb.ctx, &s->c, x->sig, p->payload, p->payload_len);
		}
		x->req_last = t->now;
		x->req_bytes += fresh;
		x->req_pkts++;
		return;
	}
	if (x->phase == PH_IDLE)
		return;      /* server speaks first (a banner): not an exchange */
	if (x->phase == PH_REQ) {
		x->phase = PH_RESP;
		x->resp_first = t->now;
	}
	x->resp_last = t->now;
	x->resp_bytes += fresh;
	x->resp_pkts++;
	x->resp_end = s->d[1].nxt;
	x->resp_ack = 0;
	if (!framed(s))
		quiet_remove(t, s);
}

static void
on_client_ack(struct am_tracker *t, struct sess *s, uint32_t ack)
{
	if (framed(s)) {
		struct fslot *f = s->fs;
		int last = (f->ackpos + 7) % 8;
		if (f->acks[last].ts == 0 || SEQ_GT(ack, f->acks[last].ack)) {
			f->acks[f->ackpos].ack = ack;
			f->acks[f->ackpos].ts = t->now;
			f->ackpos = (uint8_t)((f->ackpos + 1) % 8);
		}
		for (int i = 0; i < f->n; i++) {
			struct fent *e = &f->e[(f->head + i) % f->cap];
			if (!(e->state & FE_DONE))
				break;
			if (e->ack == 0 && SEQ_GEQ(ack, e->end_seq))
				e->ack = t->now;
		}
		fent_drain(t, s, 0);
		return;
	}
	if (s->t.phase == PH_RESP && s->t.resp_ack == 0 && SEQ_GEQ(ack, s->t.resp_end)) {
		s->t.resp_ack = t->now;
		quiet_append(t, s);
	}
}

static void
on_rst(struct am_tracker *t, struct sess *s, int d)
{
	enum am_outcome o = AM_OUT_RESET;

	int rst_as_fin = d == 0 && (t->cfg.client_rst_as_fin || s->c.client_rst_as_fin);

	if (framed(s))
		fent_flush(t, s, rst_as_fin ? AM_OUT_COMPLETE : AM_OUT_RESET, 0);

	if (s->t.phase == PH_RESP && (s->t.resp_ack != 0 || rst_as_fin))
		o = AM_OUT_COMPLETE;
	txn_finish(t, s, o);
	s->c.closed_by = rst_as_fin ? 1 : 2;
	s->state = ST_CLOSED;
	touch(t, s, L_CLOSED);
}

static void
on_syn(struct am_tracker *t, struct sess *s, int d, const struct am_packet *p)
{
	if (!(p->tcp_flags & AM_TH_ACK)) {
		if (d != 0)
			return;  /* simultaneous open: rare, ignored */
		if (s->state == ST_SYN || s->state == ST_SYNACK) {
			if (p->seq == s->d[0].isn) {
				s->c.retrans[0]++;
				t->st.retrans++;
			}
			s->d[0].isn = p->seq;
			s->d[0].nxt = p->seq + 1;
			s->d[0].init = 1;
			s->last_syn_ts = t->now;
		}
		return;
	}
	/* SYN-ACK */
	if (d != 1)
		return;
	if (s->state == ST_SYNACK && p->seq == s->d[1].isn) {
		s->c.retrans[1]++;
		t->st.retrans++;
		return;
	}
	if (s->state != ST_SYN && s->state != ST_SYNACK)
		return;
	s->d[1].isn = p->seq;
	s->d[1].nxt = p->seq + 1;
	s->d[1].init = 1;
	s->d[1].acked = p->seq + 1;
	s->d[0].acked = p->ack;
	s->c.synack_ts = t->now;
	if (s->last_syn_ts)
		s->c.srv_rtt = t->now - s->last_syn_ts;
	s->c.mss[1] = p->mss;
	s->c.wscale[1] = p->wscale;
	s->state = ST_SYNACK;
	adu_emit(t, s, AM_ADU_RTT, t->now, 1, 0, -1, s->c.srv_rtt);
}

void
am_tracker_packet(struct am_tracker *t, const struct am_packet *p)
{
	struct sess *s;
	int d = 0;

	if (p->proto != AM_IPPROTO_TCP)
		return;
	t->st.packets++;
	if (p->ts > t->now)
		t->now = p->ts;
	expire(t, t->now);

	uint32_t h = flow_hash(t, &p->src, p->sport, &p->dst, p->dport);
	s = lookup(t, p, h, &d);
	uint8_t fl = p->tcp_flags;

	/* A new SYN on a closed connection (or with a new ISN): port reuse. */
	if (s && (fl & (AM_TH_SYN | AM_TH_ACK)) == AM_TH_SYN && d == 0 &&
	    (s->state == ST_CLOSED || (s->state == ST_EST && p->seq != s->d[0].isn))) {
		sess_release(t, s, s->c.closed_by ? AM_OUT_COMPLETE : AM_OUT_TIMEOUT);
		s = NULL;
	}
	if (s == NULL) {
		if (fl & AM_TH_RST)
			return;
		if ((fl & (AM_TH_SYN | AM_TH_ACK)) == AM_TH_SYN) {
			s = sess_new(t, p, h, 1);
			if (s == NULL)
				return;
			s->c.syn_ts = t->now;
			s->last_syn_ts = t->now;
			s->d[0].isn = p->seq;
			s->d[0].nxt = p->seq + 1;
			s->d[0].init = 1;
			s->d[0].acked = p->seq + 1;
			s->c.mss[0] = p->mss;
			s->c.wscale[0] = p->wscale;
			s->c.pkts[0]++;
			s->c.proto = AM_IPPROTO_TCP;
			adu_emit(t, s, AM_ADU_SYN, t->now, 0, 0, -1, -1);
			return;
		}
		if (t->cfg.wait_for_syn || (p->seg_len == 0 && !(fl & AM_TH_SYN))) {
			t->st.no_syn++;
			return;
		}
		/* Mid-stream: the side with the lower port is taken as the server. */
		int client_is_src = (fl & AM_TH_SYN) ? 0 : p->sport > p->dport ||
		    (p->sport == p->dport && am_addr_cmp(&p->src, &p->dst) > 0);
		s = sess_new(t, p, h, client_is_src);
		if (s == NULL)
			return;
		s->c.midstream = 1;
		s->state = ST_EST;
		touch(t, s, L_EST);
		t->st.midstream++;
		d = client_is_src ? 0 : 1;
		if (fl & AM_TH_SYN) {   /* a SYN-ACK without its SYN */
			s->d[1].isn = p->seq;
			s->d[1].nxt = p->seq + 1;
			s->d[1].init = 1;
			s->c.pkts[1]++;
			return;
		}
	}

	s->c.pkts[d]++;
	s->c.last_ts = t->now;

	if (fl & AM_TH_RST) {
		on_rst(t, s, d);
		return;
	}
	if (fl & AM_TH_SYN) {
		on_syn(t, s, d, p);
		touch(t, s, s->list);
		return;
	}

	/* Handshake completion, or a handshake the monitor only saw in part. */
	if (s->state == ST_SYNACK && d == 0 && (fl & AM_TH_ACK) && p->ack == s->d[1].isn + 1) {
		s->c.est_ts = t->now;
		s->c.cli_rtt = t->now - s->c.synack_ts;
		s->state = ST_EST;
		adu_emit(t, s, AM_ADU_SEQ, t->now, 0, 0, -1, -1);
		if (t->cb.handshake && !s->ignored)
			t->cb.handshake(t->cb.ctx, &s->c);
	} else if (s->state == ST_SYN || s->state == ST_SYNACK) {
		s->state = ST_EST;
	}
	touch(t, s, s->state == ST_CLOSED ? L_CLOSED : L_EST);

	if (fl & AM_TH_ACK) {
		struct dir *od = &s->d[1 - d];
		if (!od->init)
			od->acked = p->ack;
		else if (SEQ_GT(p->ack, od->acked) && SEQ_LEQ(p->ack, od->nxt))
			od->acked = p->ack;
		if (d == 0)
			on_client_ack(t, s, p->ack);
	}

	if (p->seg_len > 0) {
		int adv;
		uint32_t old_nxt = s->d[d].nxt;
		uint8_t had_init = s->d[d].init;
		uint32_t fresh = seg_data(t, s, d, p, &adv);
		s->c.bytes[d] += fresh;
		if (adv && s->state != ST_CLOSED) {
			/* A framer only for connections that carry data: half-open
			 * floods never take the bounded slots. */
			if (s->c.framing && !s->fr_tried && !s->ignored) {
				s->fr_tried = 1;
				if (s->c.bytes[0] + s->c.bytes[1] == fresh)   /* the very first bytes */
					fr_attach(t, s);
			}
			if (framed(s))
				fr_feed(t, s, d, p, had_init && SEQ_GT(p->seq, old_nxt) ? p->seq - old_nxt : 0, fresh);
			int conc = check_concurrent(t, s, d);
			adu_data(t, s, d, fresh);
			if (!conc)
				txn_data(t, s, d, p, fresh);
		} else if (fresh) {
			/* A hole filled late: bytes count, timings do not move. */
			if (s->d[d].adu_on)
				s->d[d].adu_bytes += fresh;
			if (s->t.phase != PH_IDLE) {
				if (d == 0)
					s->t.req_bytes += fresh;
				else
					s->t.resp_bytes += fresh;
			}
		}
	}

	if (fl & AM_TH_FIN) {
		struct dir *dr = &s->d[d];
		if (!dr->fin) {
			if (framed(s))
				fr_fin(t, s, d);
			dr->fin = 1;
			if (dr->init && SEQ_GEQ(p->seq + p->seg_len, dr->nxt))
				dr->nxt = p->seq + p->seg_len + 1;
		}
		if (s->d[0].fin && s->d[1].fin && s->state != ST_CLOSED) {
			txn_finish(t, s, AM_OUT_COMPLETE);
			s->c.closed_by = 1;
			s->state = ST_CLOSED;
			touch(t, s, L_CLOSED);
		}
	}
}

void
am_tracker_tick(struct am_tracker *t, am_time_t now)
{
	if (now > t->now)
		t->now = now;
	expire(t, t->now);
}

void
am_tracker_finish(struct am_tracker *t)
{
	for (int l = 0; l < L__COUNT; l++) {
		struct sess *s;
		while ((s = t->lists[l].head) != NULL)
			sess_release(t, s, AM_OUT_OPEN);
	}
}

void
am_tracker_stats(const struct am_tracker *t, struct am_tracker_stats *st)
{
	*st = t->st;
}
