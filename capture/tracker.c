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
#include <sys/mman.h>

#define MAX_HOLES 4

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

struct txst {
	uint8_t phase;
	am_time_t req_first, req_last, resp_first, resp_last, resp_ack;
	uint32_t resp_end;        /* sequence number after the last response byte */
	uint64_t req_bytes, resp_bytes, gap;
	uint32_t req_pkts, resp_pkts, retrans, ooo;
	int32_t sig;
};

/* Payload-aware pairing: requests waiting for (or holding) their response,
 * in request order.  One slot per framed connection, from a bounded pool.
 * The ring of pending requests starts with FR_SMALL entries in the slot;
 * a deeper pipeline moves it to the slot's own big ring (max_pending
 * entries, in a region touched only by the slots that ever needed it). */
#define FR_SMALL 8
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
	struct fent *e;           /* the ring: small[], or this slot's big ring (max_pending
	                           * entries) once more requests wait than small[] holds */
	struct fent small[FR_SMALL];
};

/* An application data unit in progress in one direction. */
struct adust {
	am_time_t first, last;
	uint64_t bytes;
};

/* What a connection needs only while it carries data: the exchange in
 * progress, the ADUs, the holes in the sequence space, the quiet list, the
 * rule matcher's request state and the framer.  Taken from a bounded pool
 * at the first payload byte, given back once the connection is idle again
 * (no exchange, no ADU, no hole, no framer), so an idle connection costs
 * only its struct sess. */
struct xst {
	uint32_t owner;           /* session index; next free one while free */
	uint32_t qprev, qnext;    /* quiet list (exchange indices, 0 none) */
	uint8_t quiet;            /* on the quiet list (since quiet_since) */
	uint8_t adu_on[2];        /* an ADU is in progress in this direction */
	uint8_t nholes[2];
	am_time_t quiet_since;
	struct hole holes[2][MAX_HOLES];
	struct adust adu[2];
	struct txst t;
	struct fslot *fs;         /* payload-aware pairing, NULL: header-only */
	uint64_t scratch[8];      /* am_conn.scratch of the callbacks */
};

/* Per direction, for the connection's life: sequence tracking. */
struct dseq {
	uint32_t isn;
	uint32_t nxt;             /* next new sequence number */
	uint32_t acked;           /* highest ACK the other side sent for this direction */
};

/* Session flags (sess.fl; F_XCAP: data went untimed for want of an exchange state) and per-direction flags (sess.dfl, shifted by 2 * dir). */
enum {
	F_IGNORED = 1, F_XCAP = 2, F_MID = 4, F_CONC = 8, F_RSTFIN = 16, F_FRAMED = 32,
	F_FRTRIED = 64, F_EST = 128
};
enum { D_INIT = 1, D_FIN = 2 };

/* A tracked connection: what it costs while idle.  The view callbacks see
 * (struct am_conn) is built from it on demand (conn_view). */
struct sess {
	uint32_t hnext;           /* hash chain (session index, 0 none) */
	uint32_t prev, next;      /* timeout list */
	uint32_t x;               /* exchange state (struct xst index), 0 none */
	uint32_t hash;            /* flow_hash of the 4-tuple */
	uint16_t cport, sport;    /* client and server port */
	uint64_t id;
	uint8_t ca[16], sa[16];   /* client and server address */
	uint16_t mss[2];
	uint8_t wscale[2];
	uint8_t family;
	uint8_t state;
	uint8_t list;
	uint8_t src_index;
	uint8_t closed_by;
	uint8_t framing;
	uint8_t fl;               /* F_* */
	uint8_t dfl;              /* D_* << (2 * dir) */
	am_time_t first_ts, last_ts, synack_ts;
	am_time_t hs_ts;          /* SYN or SYN-ACK state: the last SYN; then (F_EST) the
	                           * client ACK completing the handshake */
	int64_t srv_rtt;
	struct dseq d[2];
	uint64_t bytes[2], pkts[2];
	uint32_t retrans[2], ooo[2];   /* saturate */
	uint64_t gap[2];
	uint32_t transactions;
	int32_t rule, signature;
	uint32_t generation;
};

struct list {
	uint32_t head, tail;
	uint64_t n;
};

struct am_tracker {
	struct am_tracker_cfg cfg;
	struct am_tracker_cb cb;
	uint32_t *buckets;
	uint32_t mask;
	struct list lists[L__COUNT];
	uint32_t qhead, qtail;           /* quiet list (exchange indices) */
	/* Sessions, exchange states and framing slots each live in one
	 * region reserved at start (index 0 unused) and touched only as far
	 * as they are used: nothing is allocated on the packet path. */
	struct sess *sess;
	uint32_t sess_top, sess_free;    /* next never used index; free list */
	struct xst *xs;
	uint32_t x_top, x_free, x_limit;
	uint8_t *fs_region;
	struct fent *big_region;         /* max_framed rings of max_pending entries */
	uint8_t *big_used;               /* per slot: its big ring was touched (memory) */
	struct fslot *fs_free;
	uint64_t fs_count;               /* framing slots taken from the region */
	size_t sess_bytes, xs_bytes, fs_bytes, big_bytes, bucket_bytes;
	uint64_t limit;
	int64_t min_to[L__COUNT];        /* the shorter of each list's two timeouts */
	uint64_t next_id;
	am_time_t now;
	struct am_conn view;             /* what callbacks see (conn_view) */
	struct am_tracker_stats st;
};

#define S(t, i) (&(t)->sess[i])
#define SIDX(t, s) ((uint32_t)((s) - (t)->sess))
#define XS(t, s) ((s)->x ? &(t)->xs[(s)->x] : NULL)

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

/* Address space for n objects of sz bytes, zero-filled and backed by
 * memory only where touched. */
static void *
region_new(size_t n, size_t sz, size_t *bytes)
{
	void *p;

	*bytes = n * sz;
	p = mmap(NULL, *bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		fatalx("tracker: cannot reserve %zu bytes of address space", *bytes);
	return p;
}

static void
region_free(void *p, size_t bytes)
{
	if (p && bytes)
		munmap(p, bytes);
}

static size_t
fslot_size(const struct am_tracker *t)
{
	(void)t;
	return sizeof(struct fslot);
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
	if (t->cfg.max_sessions > (1u << 30))
		t->cfg.max_sessions = 1u << 30;
	if (t->cfg.max_pending == 0 || t->cfg.max_pending > AM_TRACKER_MAX_PENDING)
		t->cfg.max_pending = AM_TRACKER_MAX_PENDING;
	t->limit = t->cfg.max_sessions;
	if (t->cfg.memcap) {
		/* Every session may hold an exchange state at once. */
		uint64_t bymem = t->cfg.memcap / (sizeof(struct sess) + sizeof(struct xst));
		if (bymem < t->limit)
			t->limit = bymem ? bymem : 1;
	}
	t->x_limit = (uint32_t)t->limit;
	if (t->cfg.max_exchanges && t->cfg.max_exchanges < t->x_limit)
		t->x_limit = t->cfg.max_exchanges;
	nb = t->cfg.hash_buckets;
	if (nb == 0)
		nb = (uint32_t)(t->limit < (1u << 30) ? t->limit : (1u << 30));
	uint32_t p = 64;
	while (p < nb && p < (1u << 30))
		p <<= 1;
	t->mask = p - 1;
	t->buckets = region_new(p, sizeof(*t->buckets), &t->bucket_bytes);
	t->sess = region_new(t->limit + 1, sizeof(struct sess), &t->sess_bytes);
	t->sess_top = 1;
	t->xs = region_new((size_t)t->x_limit + 1, sizeof(struct xst), &t->xs_bytes);
	t->x_top = 1;
	if (t->cfg.max_framed) {
		t->fs_region = region_new(t->cfg.max_framed, fslot_size(t), &t->fs_bytes);
		t->big_region = region_new((size_t)t->cfg.max_framed * t->cfg.max_pending, sizeof(struct fent),
		    &t->big_bytes);
		t->big_used = am_xcalloc(t->cfg.max_framed, 1);
	}
	t->min_to[L_SYN] = t->cfg.timeout_syn < t->cfg.emerg_syn ? t->cfg.timeout_syn : t->cfg.emerg_syn;
	t->min_to[L_EST] = t->cfg.timeout_est < t->cfg.emerg_est ? t->cfg.timeout_est : t->cfg.emerg_est;
	t->min_to[L_CLOSED] = t->cfg.timeout_closed < t->cfg.emerg_closed ? t->cfg.timeout_closed :
	    t->cfg.emerg_closed;
	t->st.sessions_limit = t->limit;
	t->st.memory = t->bucket_bytes;
	return t;
}

void
am_tracker_free(struct am_tracker *t)
{
	if (t == NULL)
		return;
	region_free(t->fs_region, t->fs_bytes);
	region_free(t->big_region, t->big_bytes);
	free(t->big_used);
	region_free(t->xs, t->xs_bytes);
	region_free(t->sess, t->sess_bytes);
	region_free(t->buckets, t->bucket_bytes);
	free(t);
}

/* --- hashing -------------------------------------------------------- */

/* The seeded hash of a connection's 4-tuple, alike for both directions.
 * IPv4 (nearly all traffic) is hashed from registers: the same seeded
 * mixing as am_hash64 over (address, address, port, port), without
 * building a byte key. */
static uint32_t
flow_hash(const struct am_tracker *t, const struct am_addr *a, uint16_t ap,
    const struct am_addr *b, uint16_t bp)
{
	if (a->family == AM_AF_INET && b->family == AM_AF_INET) {
		uint32_t x, y;
		uint64_t seed = t->cfg.seed, h, w1, w2;

		memcpy(&x, a->a, 4);
		memcpy(&y, b->a, 4);
		/* Order the two endpoints so both directions hash alike. */
		if (x > y || (x == y && ap > bp)) {
			w1 = (uint64_t)y << 32 | x;
			w2 = (uint64_t)bp << 16 | ap;
		} else {
			w1 = (uint64_t)x << 32 | y;
			w2 = (uint64_t)ap << 16 | bp;
		}
		h = seed ^ (12 * 0x9e3779b97f4a7c15ULL);
		h ^= am_mix64(w1 + seed);
		h = am_rotl64(h, 27) * 0x9e3779b97f4a7c15ULL + 0x52dce729;
		h ^= am_mix64(w2 ^ am_rotl64(seed, 17));
		return (uint32_t)am_mix64(h);
	}
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
end_eq(const struct sess *s, const uint8_t *sa, const struct am_addr *a)
{
	return s->family == a->family && memcmp(sa, a->a, 16) == 0;
}

/* Finds the session of packet p; *dir is 0 client->server, 1 server->client. */
static struct sess *
lookup(struct am_tracker *t, const struct am_packet *p, uint32_t h, int *dir)
{
	for (uint32_t i = t->buckets[h & t->mask]; i; i = t->sess[i].hnext) {
		struct sess *s = &t->sess[i];
		if (s->hash != h)
			continue;
		if (s->cport == p->sport && s->sport == p->dport &&
		    end_eq(s, s->ca, &p->src) && end_eq(s, s->sa, &p->dst)) {
			*dir = 0;
			return s;
		}
		if (s->cport == p->dport && s->sport == p->sport &&
		    end_eq(s, s->ca, &p->dst) && end_eq(s, s->sa, &p->src)) {
			*dir = 1;
			return s;
		}
	}
	return NULL;
}

/* --- lists ---------------------------------------------------------- */

static void
list_unlink(struct am_tracker *t, struct list *l, struct sess *s)
{
	if (s->prev)
		t->sess[s->prev].next = s->next;
	else
		l->head = s->next;
	if (s->next)
		t->sess[s->next].prev = s->prev;
	else
		l->tail = s->prev;
	s->prev = s->next = 0;
	l->n--;
}

static void
list_append(struct am_tracker *t, struct list *l, struct sess *s)
{
	uint32_t i = SIDX(t, s);

	s->next = 0;
	s->prev = l->tail;
	if (l->tail)
		t->sess[l->tail].next = i;
	else
		l->head = i;
	l->tail = i;
	l->n++;
}

/* Moves s to the tail of list `which` (its most recently active end). */
static void
touch(struct am_tracker *t, struct sess *s, int which)
{
	if (s->list == which && t->lists[which].tail == SIDX(t, s))
		return;      /* already the most recent: a burst of one flow */
	list_unlink(t, &t->lists[s->list], s);
	s->list = (uint8_t)which;
	list_append(t, &t->lists[which], s);
}

static void
quiet_remove(struct am_tracker *t, struct sess *s)
{
	struct xst *x = XS(t, s);

	if (x == NULL || !x->quiet)
		return;
	if (x->qprev)
		t->xs[x->qprev].qnext = x->qnext;
	else
		t->qhead = x->qnext;
	if (x->qnext)
		t->xs[x->qnext].qprev = x->qprev;
	else
		t->qtail = x->qprev;
	x->qprev = x->qnext = 0;
	x->quiet = 0;
}

static void
quiet_append(struct am_tracker *t, struct sess *s)
{
	struct xst *x = XS(t, s);

	if (x == NULL)
		return;
	quiet_remove(t, s);
	x->quiet = 1;
	x->quiet_since = t->now;
	x->qnext = 0;
	x->qprev = t->qtail;
	if (t->qtail)
		t->xs[t->qtail].qnext = s->x;
	else
		t->qhead = s->x;
	t->qtail = s->x;
}

/* --- the callbacks' view of a connection ----------------------------- */

static inline void
sat_inc(uint32_t *v)
{
	if (*v != UINT32_MAX)
		(*v)++;
}

static inline int
framed(const struct am_tracker *t, const struct sess *s)
{
	return (s->fl & F_FRAMED) && s->x && t->xs[s->x].fs != NULL;
}

/* The struct am_conn of s, for a callback.  scratch is the exchange
 * state's (when there is one); outcome is set by the caller at the end. */
static struct am_conn *
conn_view(struct am_tracker *t, const struct sess *s)
{
	struct am_conn *c = &t->view;
	const struct xst *x = XS(t, s);

	c->id = s->id;
	c->client.family = c->server.family = s->family;
	memcpy(c->client.a, s->ca, 16);
	memcpy(c->server.a, s->sa, 16);
	c->client_port = s->cport;
	c->server_port = s->sport;
	c->midstream = (s->fl & F_MID) != 0;
	c->closed_by = s->closed_by;
	c->src_index = s->src_index;
	c->proto = AM_IPPROTO_TCP;
	c->concurrent = (s->fl & F_CONC) != 0;
	c->syn_ts = (s->fl & F_MID) ? 0 : s->first_ts;
	c->synack_ts = s->synack_ts;
	c->est_ts = (s->fl & F_EST) ? s->hs_ts : 0;
	c->first_ts = s->first_ts;
	c->last_ts = s->last_ts;
	c->srv_rtt = s->srv_rtt;
	c->cli_rtt = (s->fl & F_EST) ? s->hs_ts - s->synack_ts : -1;
	for (int d = 0; d < 2; d++) {
		c->mss[d] = s->mss[d];
		c->wscale[d] = s->wscale[d];
		c->bytes[d] = s->bytes[d];
		c->pkts[d] = s->pkts[d];
		c->retrans[d] = s->retrans[d];
		c->ooo[d] = s->ooo[d];
		c->gap_bytes[d] = s->gap[d];
	}
	c->transactions = s->transactions;
	c->outcome = AM_OUT_COMPLETE;
	c->client_rst_as_fin = (s->fl & F_RSTFIN) != 0;
	c->framing = s->framing;
	c->framed = framed(t, s);
	c->rule = s->rule;
	c->signature = s->signature;
	c->generation = s->generation;
	if (x)
		memcpy(c->scratch, x->scratch, sizeof(c->scratch));
	else
		memset(c->scratch, 0, sizeof(c->scratch));
	return c;
}

/* Takes back what a callback may have set in the view. */
static void
conn_absorb(struct am_tracker *t, struct sess *s)
{
	const struct am_conn *c = &t->view;
	struct xst *x = XS(t, s);

	s->rule = c->rule;
	s->signature = c->signature;
	s->generation = c->generation;
	s->fl = (uint8_t)((s->fl & ~F_RSTFIN) | (c->client_rst_as_fin ? F_RSTFIN : 0));
	s->framing = c->framing;
	if (x)
		memcpy(x->scratch, c->scratch, sizeof(x->scratch));
}

static int32_t
do_classify(struct am_tracker *t, struct sess *s, const uint8_t *data, uint32_t len)
{
	int32_t sig = t->cb.classify(t->cb.ctx, conn_view(t, s), data, len);
	conn_absorb(t, s);
	return sig;
}

static int32_t
do_classify_more(struct am_tracker *t, struct sess *s, int32_t sig, const uint8_t *data, uint32_t len)
{
	sig = t->cb.classify_more(t->cb.ctx, conn_view(t, s), sig, data, len);
	conn_absorb(t, s);
	return sig;
}

/* --- exchange states ------------------------------------------------ */

static void
txst_reset(struct txst *x)
{
	memset(x, 0, sizeof(*x));
	x->sig = -1;
}

/* Gives s an exchange state if it has none; NULL when the pool is spent
 * (counted: the connection's data is then not timed). */
static struct xst *
x_attach(struct am_tracker *t, struct sess *s)
{
	struct xst *x;
	uint32_t i;

	if (s->x)
		return &t->xs[s->x];
	if (t->x_free) {
		i = t->x_free;
		t->x_free = t->xs[i].owner;
	} else if (t->x_top <= t->x_limit) {
		i = t->x_top++;
		t->st.memory += sizeof(struct xst);
	} else {
		if (!(s->fl & F_XCAP))
			t->st.exchange_cap++;
		s->fl |= F_XCAP;
		return NULL;
	}
	x = &t->xs[i];
	memset(x, 0, sizeof(*x));
	x->owner = SIDX(t, s);
	txst_reset(&x->t);
	s->x = i;
	t->st.exchanges_active++;
	if (t->st.exchanges_active > t->st.exchanges_peak)
		t->st.exchanges_peak = t->st.exchanges_active;
	return x;
}

static void
fr_detach(struct am_tracker *t, struct sess *s);

/* Gives the exchange state back (unconditionally). */
static void
x_detach(struct am_tracker *t, struct sess *s)
{
	if (s->x == 0)
		return;
	quiet_remove(t, s);
	fr_detach(t, s);
	t->xs[s->x].owner = t->x_free;
	t->x_free = s->x;
	s->x = 0;
	t->st.exchanges_active--;
}

/* Gives the exchange state back once nothing in it is in progress. */
static void
x_settle(struct am_tracker *t, struct sess *s)
{
	const struct xst *x = XS(t, s);

	if (x && x->t.phase == PH_IDLE && !x->quiet && !x->adu_on[0] && !x->adu_on[1] &&
	    x->nholes[0] == 0 && x->nholes[1] == 0 && x->fs == NULL)
		x_detach(t, s);
}

/* --- transactions --------------------------------------------------- */

static inline int64_t
span(am_time_t from, am_time_t to)
{
	if (from == 0 || to == 0)
		return -1;
	return to >= from ? to - from : 0;
}

static void
emit_txn(struct am_tracker *t, struct sess *s, struct am_txn *r)
{
	r->seq = ++s->transactions;
	t->st.transactions++;
	if (!(s->fl & F_IGNORED) && t->cb.txn)
		t->cb.txn(t->cb.ctx, conn_view(t, s), r);
}

/* Reports the exchange in progress (if any) and resets the slot.  While
 * the framer pairs requests, the header-only exchange only keeps its
 * state (for a fall back) and reports nothing. */
static void
txn_finish(struct am_tracker *t, struct sess *s, enum am_outcome outcome)
{
	struct xst *xs = XS(t, s);
	struct txst *x;
	struct am_txn r;

	if (xs == NULL)
		return;
	x = &xs->t;
	if (framed(t, s)) {
		txst_reset(x);
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
	r.status = -1;
	txst_reset(x);
	emit_txn(t, s, &r);
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
	struct fslot *f = XS(t, s)->fs;
	struct am_txn r;

	fent_close_resp(f, e);
	/* A request still arriving (the server answered before its end): its
	 * bytes so far. */
	if (!(e->state & FE_REQ_END) && f->fr.d[0].pos > e->req_pos)
		e->req_bytes = f->fr.d[0].pos - e->req_pos;
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
	emit_txn(t, s, &r);
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
	struct fslot *f = XS(t, s)->fs;

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
	struct fslot *f = XS(t, s)->fs;

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
	struct xst *xs = XS(t, s);
	struct fslot *f = xs->fs;
	struct txst *x = &xs->t;

	quiet_remove(t, s);
	txst_reset(x);
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

/* A response boundary's time: never before its request began.  (The
 * framer may take server bytes sent before the request, e.g. after the
 * server's FIN, as the start of its answer.) */
static inline am_time_t
resp_time(const struct fent *e, am_time_t ts)
{
	return ts < e->req_first ? e->req_first : ts;
}

/* More requests wait than the slot's small ring holds: they move, in
 * order, to the slot's big ring. */
static void
fr_ring_grow(struct am_tracker *t, struct fslot *f)
{
	size_t i = (size_t)((uint8_t *)f - t->fs_region) / fslot_size(t);
	struct fent *big = t->big_region + i * t->cfg.max_pending;

	if (!t->big_used[i]) {
		t->big_used[i] = 1;
		t->st.memory += (uint64_t)t->cfg.max_pending * sizeof(struct fent);
	}
	for (uint16_t k = 0; k < f->n; k++)
		big[k] = f->e[(f->head + k) % f->cap];
	f->e = big;
	f->head = 0;
	f->cap = (uint16_t)t->cfg.max_pending;
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
	struct fslot *f = XS(t, s)->fs;
	struct fent *e;

	switch (ev->type) {
	case AM_FR_REQ_START:
		if (ev->flags & AM_FR_F_NOREPLY)
			return;          /* no response will come: not an exchange */
		if (f->n == 0 && f->e != f->small) {
			f->e = f->small;   /* nothing waits: back to the slot's own ring */
			f->head = 0;
			f->cap = (uint16_t)(t->cfg.max_pending < FR_SMALL ? t->cfg.max_pending : FR_SMALL);
		}
		if (f->n >= f->cap && f->cap < t->cfg.max_pending)
			fr_ring_grow(t, f);
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
		if (t->cb.classify && !(s->fl & F_IGNORED))
			e->sig = do_classify(t, s, ev->head, ev->headlen);
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
			e->resp_first = resp_time(e, ev->ts);
			e->resp_pos = ev->pos;
			e->resp_pkts = (ev->flags & AM_FR_F_EARLIER) ? 0 : 1;
			e->state |= FE_RESP;
		}
		return;
	case AM_FR_RESP_END:
		if ((e = fent_find(f, ev->req)) != NULL) {
			if (!(e->state & FE_RESP)) {
				e->resp_first = resp_time(e, ev->ts);
				e->resp_pos = ev->pos;
				e->state |= FE_RESP;
			}
			e->resp_last = ev->ts < e->resp_first ? e->resp_first : ev->ts;
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
		s->fl &= (uint8_t)~F_FRAMED;
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
	struct fslot *f = XS(t, s)->fs;
	struct fr_ctx fc = { t, s };

	if (!f->base_ok[d]) {
		f->base[d] = p->seq + p->seg_len - fresh - gap;
		f->base_ok[d] = 1;
	}
	if (fresh)
		f->last_fed[d] = t->now;
	if (gap)
		am_framer_gap(&f->fr, d, t->now, gap, fr_event, &fc);
	if (fresh && framed(t, s)) {
		uint32_t off = p->seg_len - fresh;
		uint32_t cap = p->payload_len > off ? p->payload_len - off : 0;
		fent_count_pkt(f, d);
		am_framer_feed(&f->fr, d, t->now, cap ? p->payload + off : NULL, cap, fresh, fr_event, &fc);
	}
	if (framed(t, s) && f->overflow) {
		t->st.pending_cap++;
		am_framer_stop(&f->fr, AM_FR_LOST_PENDING, fr_event, &fc);
	}
}

static void
fr_fin(struct am_tracker *t, struct sess *s, int d)
{
	struct fr_ctx fc = { t, s };

	am_framer_fin(&XS(t, s)->fs->fr, d, fr_event, &fc);
}

/* A framing slot for s (which has its exchange state): from the free
 * list, else the next one of the region, up to max_framed. */
static void
fr_attach(struct am_tracker *t, struct sess *s)
{
	struct xst *x = XS(t, s);
	struct fslot *f = t->fs_free;

	if (f) {
		t->fs_free = f->next_free;
	} else if (t->fs_count < t->cfg.max_framed) {
		f = (struct fslot *)(t->fs_region + t->fs_count * fslot_size(t));
		t->fs_count++;
		t->st.memory += fslot_size(t);
	} else {
		t->st.framed_cap++;
		return;
	}
	memset(f, 0, fslot_size(t));
	f->e = f->small;
	f->cap = (uint16_t)(t->cfg.max_pending < FR_SMALL ? t->cfg.max_pending : FR_SMALL);
	if (am_framer_init(&f->fr, (enum am_fr_proto)s->framing) < 0) {
		f->next_free = t->fs_free;
		t->fs_free = f;
		return;
	}
	x->fs = f;
	s->fl |= F_FRAMED;
	t->st.framed++;
}

static void
fr_detach(struct am_tracker *t, struct sess *s)
{
	struct xst *x = XS(t, s);

	if (x == NULL || x->fs == NULL)
		return;
	x->fs->next_free = t->fs_free;
	t->fs_free = x->fs;
	x->fs = NULL;
	s->fl &= (uint8_t)~F_FRAMED;
}

/* --- ADUs ----------------------------------------------------------- */

#define DINIT(s, d) ((s)->dfl & (D_INIT << (2 * (d))))
#define DFIN(s, d) ((s)->dfl & (D_FIN << (2 * (d))))
#define DSET(s, d, f) ((s)->dfl |= (uint8_t)((f) << (2 * (d))))

static void
adu_emit(struct am_tracker *t, struct sess *s, enum am_adu_type type, am_time_t ts, int dir,
    uint64_t bytes, int64_t think, int64_t rtt)
{
	struct am_adu a;

	if (type == AM_ADU_ADU || type == AM_ADU_INC) {
		t->st.adus++;
		if (s->fl & F_CONC)
			t->st.conc_adus++;
	}
	if ((s->fl & F_IGNORED) || t->cb.adu == NULL)
		return;
	a.type = type;
	a.ts = ts;
	a.dir = dir;
	a.bytes = bytes;
	a.think = think;
	a.rtt = rtt;
	a.concurrent = (s->fl & F_CONC) != 0;
	t->cb.adu(t->cb.ctx, conn_view(t, s), &a);
}

/* Ends the ADU in progress in direction d; think is the quiet time after it. */
static void
adu_close(struct am_tracker *t, struct sess *s, int d, enum am_adu_type type, int64_t think)
{
	struct xst *x = XS(t, s);

	if (x == NULL || !x->adu_on[d])
		return;
	adu_emit(t, s, type, x->adu[d].first, d, x->adu[d].bytes, (s->fl & F_CONC) ? -1 : think, -1);
	x->adu_on[d] = 0;
	x->adu[d].bytes = 0;
}

/* New application bytes in direction d at the tracker's clock. */
static void
adu_data(struct am_tracker *t, struct sess *s, struct xst *x, int d, uint32_t fresh)
{
	struct adust *dr = &x->adu[d], *od = &x->adu[1 - d];

	if (!(s->fl & F_CONC) && x->adu_on[1 - d])
		adu_close(t, s, 1 - d, AM_ADU_ADU, t->now - od->last);
	if (x->adu_on[d] && t->now - dr->last >= t->cfg.quiet)
		adu_close(t, s, d, AM_ADU_ADU, t->now - dr->last);
	if (!x->adu_on[d]) {
		x->adu_on[d] = 1;
		dr->first = t->now;
		dr->bytes = 0;
	}
	dr->last = t->now;
	dr->bytes += fresh;
}

/* Data from d while the other side still has unacknowledged data: both
 * sides are sending at once, so turns cannot be inferred any more. */
static int
check_concurrent(struct am_tracker *t, struct sess *s, int d)
{
	const struct dseq *od = &s->d[1 - d];
	struct xst *x;

	if (s->fl & F_CONC)
		return 1;
	if (!DINIT(s, 1 - d) || !SEQ_GT(od->nxt, od->acked))
		return 0;
	/* A FIN alone outstanding is no data. */
	if (DFIN(s, 1 - d) && od->nxt - od->acked == 1)
		return 0;
	s->fl |= F_CONC;
	t->st.conc_connections++;
	adu_emit(t, s, AM_ADU_CONC, t->now, d, 0, -1, -1);
	x = XS(t, s);
	if (x && x->t.phase != PH_IDLE && !framed(t, s)) {
		t->st.conc_dropped++;
		quiet_remove(t, s);
		txst_reset(&x->t);
	}
	return 1;
}

/* --- session life --------------------------------------------------- */

static struct sess *
sess_alloc(struct am_tracker *t)
{
	uint32_t i = t->sess_free;

	if (i) {
		t->sess_free = t->sess[i].hnext;
		return &t->sess[i];
	}
	if (t->sess_top > t->limit)
		return NULL;
	t->st.memory += sizeof(struct sess);
	return &t->sess[t->sess_top++];
}

/* Releases a session: reports what is pending, unlinks, recycles. */
static void
sess_release(struct am_tracker *t, struct sess *s, enum am_outcome why)
{
	enum am_outcome txo = why;
	struct xst *x = XS(t, s);
	enum am_outcome out;

	/* Answered, then idle (or answered and acknowledged when the input
	 * ended): the exchange was over. */
	if (x && x->t.phase == PH_RESP && (why == AM_OUT_TIMEOUT || (why == AM_OUT_OPEN && x->t.resp_ack)))
		txo = AM_OUT_COMPLETE;
	if (framed(t, s)) {
		fent_flush(t, s, s->closed_by == 1 ? AM_OUT_COMPLETE : s->closed_by == 2 ?
		    AM_OUT_RESET : why, 0);
		memset(&x->t, 0, sizeof(x->t));   /* the header-only shadow reports nothing */
	}
	fr_detach(t, s);
	txn_finish(t, s, txo);
	/* In progress only if the connection was still open when the input ended. */
	for (int d = 0; d < 2; d++)
		adu_close(t, s, d, why == AM_OUT_OPEN && s->closed_by == 0 ? AM_ADU_INC : AM_ADU_ADU, -1);
	adu_emit(t, s, AM_ADU_END, s->last_ts, 0, 0, -1, -1);
	if (s->closed_by == 1)
		out = AM_OUT_COMPLETE;
	else if (s->closed_by == 2)
		out = AM_OUT_RESET;
	else
		out = why;
	if (!(s->fl & F_IGNORED) && t->cb.conn_end) {
		struct am_conn *c = conn_view(t, s);
		c->outcome = out;
		t->cb.conn_end(t->cb.ctx, c);
	}
	x_detach(t, s);

	uint32_t i = SIDX(t, s);
	uint32_t *pp = &t->buckets[s->hash & t->mask];
	while (*pp && *pp != i)
		pp = &t->sess[*pp].hnext;
	if (*pp)
		*pp = s->hnext;
	list_unlink(t, &t->lists[s->list], s);
	s->fl = 0;
	s->hnext = t->sess_free;
	t->sess_free = i;
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

	while (t->qhead && t->xs[t->qhead].quiet_since + t->cfg.quiet <= now) {
		struct sess *q = &t->sess[t->xs[t->qhead].owner];
		if (framed(t, q))
			fent_drain(t, q, 1);
		else
			txn_finish(t, q, AM_OUT_COMPLETE);
		x_settle(t, q);
	}
	for (int l = 0; l < L__COUNT; l++) {
		uint32_t i;
		while ((i = t->lists[l].head) != 0 && t->sess[i].last_ts + to[l] <= now) {
			if (l != L_CLOSED)
				t->st.timed_out++;
			sess_release(t, &t->sess[i], AM_OUT_TIMEOUT);
		}
	}
}

/* Whether expire() may have anything to do: a list head past the shorter
 * of its two timeouts, or a quiet exchange due.  Cheap, for every packet. */
static inline int
expire_due(const struct am_tracker *t, am_time_t now)
{
	if (t->qhead && t->xs[t->qhead].quiet_since + t->cfg.quiet <= now)
		return 1;
	for (int l = 0; l < L__COUNT; l++) {
		uint32_t i = t->lists[l].head;
		if (i && t->sess[i].last_ts + t->min_to[l] <= now)
			return 1;
	}
	return 0;
}

static struct sess *
sess_new(struct am_tracker *t, const struct am_packet *p, uint32_t h, int client_is_src, int mid)
{
	struct sess *s;

	if (t->st.sessions_active >= t->limit) {
		/* Make room from the oldest half-open connection; never from an
		 * established one (a SYN flood must not push out real work). */
		uint32_t victim = t->lists[L_SYN].head;
		if (victim == 0) {
			t->st.refused++;
			return NULL;
		}
		t->st.evicted++;
		sess_release(t, &t->sess[victim], AM_OUT_EVICTED);
	}
	s = sess_alloc(t);
	if (s == NULL) {
		t->st.refused++;
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->id = ++t->next_id;
	s->hash = h;
	s->family = p->src.family;
	if (client_is_src) {
		memcpy(s->ca, p->src.a, 16);
		memcpy(s->sa, p->dst.a, 16);
		s->cport = p->sport;
		s->sport = p->dport;
	} else {
		memcpy(s->ca, p->dst.a, 16);
		memcpy(s->sa, p->src.a, 16);
		s->cport = p->dport;
		s->sport = p->sport;
	}
	s->src_index = p->source;
	s->first_ts = s->last_ts = t->now;
	s->srv_rtt = -1;
	s->wscale[0] = s->wscale[1] = 0xff;
	s->rule = -1;
	s->signature = -1;
	if (mid)
		s->fl |= F_MID;         /* before conn_new: rules decide on it */
	s->hnext = t->buckets[h & t->mask];
	t->buckets[h & t->mask] = SIDX(t, s);
	s->list = L_SYN;
	list_append(t, &t->lists[L_SYN], s);
	t->st.sessions_created++;
	t->st.sessions_active++;
	if (t->st.sessions_active > t->st.sessions_peak)
		t->st.sessions_peak = t->st.sessions_active;
	if (t->cb.conn_new) {
		int ign = t->cb.conn_new(t->cb.ctx, conn_view(t, s));
		conn_absorb(t, s);
		if (ign != 0)
			s->fl |= F_IGNORED;
	}
	return s;
}

/* --- per-packet ----------------------------------------------------- */

/* Accounts a data segment in direction d; returns the number of new bytes
 * (beyond anything seen before).  *advanced is set when nxt moved.  x (the
 * exchange state, holes included) may be NULL when the pool is spent. */
static uint32_t
seg_data(struct am_tracker *t, struct sess *s, struct xst *x, int d, const struct am_packet *p,
    int *advanced)
{
	struct dseq *dr = &s->d[d];
	struct txst *tx = x && x->t.phase != PH_IDLE ? &x->t : NULL;
	uint32_t seq = p->seq, end = p->seq + p->seg_len;
	uint32_t fresh = 0;

	*advanced = 0;
	if (!DINIT(s, d)) {
		dr->nxt = seq;
		DSET(s, d, D_INIT);
	}
	if (SEQ_GEQ(seq, dr->nxt)) {
		if (SEQ_GT(seq, dr->nxt)) {
			uint32_t gap = seq - dr->nxt;
			s->gap[d] += gap;
			if (tx)
				tx->gap += gap;
			if (x && x->nholes[d] < MAX_HOLES) {
				x->holes[d][x->nholes[d]].lo = dr->nxt;
				x->holes[d][x->nholes[d]].hi = seq;
				x->nholes[d]++;
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
		sat_inc(&s->retrans[d]);
		t->st.retrans++;
		if (tx)
			tx->retrans++;
		return fresh;
	}
	/* Entirely below nxt: a hole being filled, or a retransmission. */
	for (int i = 0; x && i < x->nholes[d]; i++) {
		struct hole *hl = &x->holes[d][i];
		if (SEQ_LT(seq, hl->hi) && SEQ_GT(end, hl->lo)) {
			uint32_t lo = SEQ_GT(seq, hl->lo) ? seq : hl->lo;
			uint32_t hi = SEQ_LT(end, hl->hi) ? end : hl->hi;
			fresh = hi - lo;
			s->gap[d] -= s->gap[d] >= fresh ? fresh : s->gap[d];
			if (tx)
				tx->gap -= tx->gap >= fresh ? fresh : tx->gap;
			/* Shrink the hole from the side that was filled. */
			if (lo == hl->lo && hi == hl->hi) {
				*hl = x->holes[d][--x->nholes[d]];
			} else if (lo == hl->lo) {
				hl->lo = hi;
			} else if (hi == hl->hi) {
				hl->hi = lo;
			} else {
				hl->hi = lo;   /* the upper part is forgotten: bounded state */
			}
			sat_inc(&s->ooo[d]);
			if (tx)
				tx->ooo++;
			return fresh;
		}
	}
	sat_inc(&s->retrans[d]);
	t->st.retrans++;
	if (tx)
		tx->retrans++;
	return 0;
}

/* New data in direction d moves the exchange along: client data starts or
 * extends a request (ending an answered exchange first), server data
 * starts or extends the response. */
static void
txn_data(struct am_tracker *t, struct sess *s, struct xst *xs, int d, const struct am_packet *p,
    uint32_t fresh)
{
	struct txst *x = &xs->t;

	if (d == 0) {
		if (x->phase == PH_RESP)
			txn_finish(t, s, AM_OUT_COMPLETE);
		if (x->phase == PH_IDLE) {
			x->phase = PH_REQ;
			x->req_first = t->now;
			x->sig = -1;
			if (t->cb.classify && !(s->fl & F_IGNORED) && !framed(t, s))
				x->sig = do_classify(t, s, p->payload, p->payload_len);
		} else if (t->cb.classify_more && !(s->fl & F_IGNORED) && !framed(t, s)) {
			x->sig = do_classify_more(t, s, x->sig, p->payload, p->payload_len);
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
	if (!framed(t, s))
		quiet_remove(t, s);
}

static void
on_client_ack(struct am_tracker *t, struct sess *s, uint32_t ack)
{
	struct xst *x = XS(t, s);

	if (x == NULL)
		return;
	if (framed(t, s)) {
		struct fslot *f = x->fs;
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
	if (x->t.phase == PH_RESP && x->t.resp_ack == 0 && SEQ_GEQ(ack, x->t.resp_end)) {
		x->t.resp_ack = t->now;
		quiet_append(t, s);
	}
}

static void
set_state(struct sess *s, uint8_t st)
{
	/* hs_ts holds the last SYN's time until the handshake ends. */
	if ((s->state == ST_SYN || s->state == ST_SYNACK) && st != ST_SYN && st != ST_SYNACK &&
	    !(s->fl & F_EST))
		s->hs_ts = 0;
	s->state = st;
}

static void
on_rst(struct am_tracker *t, struct sess *s, int d)
{
	enum am_outcome o = AM_OUT_RESET;
	struct xst *x = XS(t, s);

	int rst_as_fin = d == 0 && (t->cfg.client_rst_as_fin || (s->fl & F_RSTFIN));

	if (framed(t, s))
		fent_flush(t, s, rst_as_fin ? AM_OUT_COMPLETE : AM_OUT_RESET, 0);

	if (x && x->t.phase == PH_RESP && (x->t.resp_ack != 0 || rst_as_fin))
		o = AM_OUT_COMPLETE;
	txn_finish(t, s, o);
	s->closed_by = rst_as_fin ? 1 : 2;
	set_state(s, ST_CLOSED);
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
				sat_inc(&s->retrans[0]);
				t->st.retrans++;
			}
			s->d[0].isn = p->seq;
			s->d[0].nxt = p->seq + 1;
			DSET(s, 0, D_INIT);
			s->hs_ts = t->now;
		}
		return;
	}
	/* SYN-ACK */
	if (d != 1)
		return;
	if (s->state == ST_SYNACK && p->seq == s->d[1].isn) {
		sat_inc(&s->retrans[1]);
		t->st.retrans++;
		return;
	}
	if (s->state != ST_SYN && s->state != ST_SYNACK)
		return;
	s->d[1].isn = p->seq;
	s->d[1].nxt = p->seq + 1;
	DSET(s, 1, D_INIT);
	s->d[1].acked = p->seq + 1;
	s->d[0].acked = p->ack;
	s->synack_ts = t->now;
	if (s->hs_ts)
		s->srv_rtt = t->now - s->hs_ts;
	s->mss[1] = p->mss;
	s->wscale[1] = p->wscale;
	set_state(s, ST_SYNACK);
	adu_emit(t, s, AM_ADU_RTT, t->now, 1, 0, -1, s->srv_rtt);
}

void
am_tracker_packet(struct am_tracker *t, const struct am_packet *p)
{
	struct sess *s;
	struct xst *x;
	int d = 0;

	if (p->proto != AM_IPPROTO_TCP)
		return;
	t->st.packets++;
	if (p->ts > t->now)
		t->now = p->ts;
	if (expire_due(t, t->now))
		expire(t, t->now);

	uint32_t h = flow_hash(t, &p->src, p->sport, &p->dst, p->dport);
	s = lookup(t, p, h, &d);
	uint8_t fl = p->tcp_flags;

	/* A new SYN on a closed connection (or with a new ISN): port reuse. */
	if (s && (fl & (AM_TH_SYN | AM_TH_ACK)) == AM_TH_SYN && d == 0 &&
	    (s->state == ST_CLOSED || (s->state == ST_EST && p->seq != s->d[0].isn))) {
		sess_release(t, s, s->closed_by ? AM_OUT_COMPLETE : AM_OUT_TIMEOUT);
		s = NULL;
	}
	if (s == NULL) {
		if (fl & AM_TH_RST)
			return;
		if ((fl & (AM_TH_SYN | AM_TH_ACK)) == AM_TH_SYN) {
			s = sess_new(t, p, h, 1, 0);
			if (s == NULL)
				return;
			s->hs_ts = t->now;
			s->d[0].isn = p->seq;
			s->d[0].nxt = p->seq + 1;
			DSET(s, 0, D_INIT);
			s->d[0].acked = p->seq + 1;
			s->mss[0] = p->mss;
			s->wscale[0] = p->wscale;
			s->pkts[0]++;
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
		s = sess_new(t, p, h, client_is_src, 1);
		if (s == NULL)
			return;
		set_state(s, ST_EST);
		touch(t, s, L_EST);
		t->st.midstream++;
		d = client_is_src ? 0 : 1;
		if (fl & AM_TH_SYN) {   /* a SYN-ACK without its SYN */
			s->d[1].isn = p->seq;
			s->d[1].nxt = p->seq + 1;
			DSET(s, 1, D_INIT);
			s->pkts[1]++;
			return;
		}
	}

	s->pkts[d]++;
	s->last_ts = t->now;

	if (fl & AM_TH_RST) {
		on_rst(t, s, d);
		x_settle(t, s);
		return;
	}
	if (fl & AM_TH_SYN) {
		on_syn(t, s, d, p);
		touch(t, s, s->list);
		return;
	}

	/* Handshake completion, or a handshake the monitor only saw in part. */
	if (s->state == ST_SYNACK && d == 0 && (fl & AM_TH_ACK) && p->ack == s->d[1].isn + 1) {
		s->hs_ts = t->now;
		s->fl |= F_EST;
		set_state(s, ST_EST);
		adu_emit(t, s, AM_ADU_SEQ, t->now, 0, 0, -1, -1);
		if (t->cb.handshake && !(s->fl & F_IGNORED))
			t->cb.handshake(t->cb.ctx, conn_view(t, s));
	} else if (s->state == ST_SYN || s->state == ST_SYNACK) {
		set_state(s, ST_EST);
	}
	touch(t, s, s->state == ST_CLOSED ? L_CLOSED : L_EST);

	if (fl & AM_TH_ACK) {
		struct dseq *od = &s->d[1 - d];
		if (!DINIT(s, 1 - d))
			od->acked = p->ack;
		else if (SEQ_GT(p->ack, od->acked) && SEQ_LEQ(p->ack, od->nxt))
			od->acked = p->ack;
		if (d == 0)
			on_client_ack(t, s, p->ack);
	}

	if (p->seg_len > 0) {
		int adv;
		uint32_t old_nxt = s->d[d].nxt;
		int had_init = DINIT(s, d) != 0;
		x = x_attach(t, s);
		uint32_t fresh = seg_data(t, s, x, d, p, &adv);
		s->bytes[d] += fresh;
		if (x == NULL) {
			/* No exchange state to be had: bytes count, nothing is timed. */
		} else if (adv && s->state != ST_CLOSED) {
			/* A framer only for connections that carry data: half-open
			 * floods never take the bounded slots. */
			if (s->framing && !(s->fl & F_FRTRIED) && !(s->fl & F_IGNORED)) {
				s->fl |= F_FRTRIED;
				if (s->bytes[0] + s->bytes[1] == fresh)   /* the very first bytes */
					fr_attach(t, s);
			}
			if (framed(t, s))
				fr_feed(t, s, d, p, had_init && SEQ_GT(p->seq, old_nxt) ? p->seq - old_nxt : 0, fresh);
			int conc = check_concurrent(t, s, d);
			adu_data(t, s, x, d, fresh);
			if (!conc)
				txn_data(t, s, x, d, p, fresh);
		} else if (fresh) {
			/* A hole filled late: bytes count, timings do not move. */
			if (x->adu_on[d])
				x->adu[d].bytes += fresh;
			if (x->t.phase != PH_IDLE) {
				if (d == 0)
					x->t.req_bytes += fresh;
				else
					x->t.resp_bytes += fresh;
			}
		}
	}

	if (fl & AM_TH_FIN) {
		struct dseq *dr = &s->d[d];
		if (!DFIN(s, d)) {
			if (framed(t, s))
				fr_fin(t, s, d);
			DSET(s, d, D_FIN);
			if (DINIT(s, d) && SEQ_GEQ(p->seq + p->seg_len, dr->nxt))
				dr->nxt = p->seq + p->seg_len + 1;
		}
		if (DFIN(s, 0) && DFIN(s, 1) && s->state != ST_CLOSED) {
			txn_finish(t, s, AM_OUT_COMPLETE);
			s->closed_by = 1;
			set_state(s, ST_CLOSED);
			touch(t, s, L_CLOSED);
		}
	}
	x_settle(t, s);
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
		uint32_t i;
		while ((i = t->lists[l].head) != 0)
			sess_release(t, &t->sess[i], AM_OUT_OPEN);
	}
}

void
am_tracker_stats(const struct am_tracker *t, struct am_tracker_stats *st)
{
	*st = t->st;
}
