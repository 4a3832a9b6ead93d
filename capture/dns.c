/* DNS query/response pairing over UDP. */
#include "config.h"
#include "capture/dns.h"

#include <stdlib.h>
#include <string.h>

struct q {
	struct q *hnext;
	struct q *prev, *next;      /* in arrival order, for timeouts */
	uint32_t hash;
	uint16_t id;
	uint8_t answered;
	struct am_conn c;
	am_time_t ts;               /* query */
	uint32_t qbytes;
};

struct am_dns {
	struct am_dns_cfg cfg;
	struct am_tracker_cb cb;
	struct q **buckets;
	uint32_t mask;
	struct q *pool, *free_list;
	struct q *head, *tail;
	uint64_t seed, next_id;
	am_time_t now;
	struct am_dns_stats st;
};

void
am_dns_cfg_default(struct am_dns_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_pending = 65536;
	cfg->timeout = 5 * AM_USEC;
	cfg->ports[0] = 53;
	cfg->nports = 1;
}

struct am_dns *
am_dns_new(const struct am_dns_cfg *cfg, const struct am_tracker_cb *cb)
{
	struct am_dns *d = am_xcalloc(1, sizeof(*d));

	if (cfg)
		d->cfg = *cfg;
	else
		am_dns_cfg_default(&d->cfg);
	if (d->cfg.max_pending == 0)
		d->cfg.max_pending = 1;
	if (cb)
		d->cb = *cb;
	uint32_t nb = 64;
	while (nb < d->cfg.max_pending && nb < (1u << 24))
		nb <<= 1;
	d->mask = nb - 1;
	d->buckets = am_xcalloc(nb, sizeof(*d->buckets));
	d->pool = am_xcalloc(d->cfg.max_pending, sizeof(*d->pool));
	for (uint32_t i = 0; i < d->cfg.max_pending; i++) {
		d->pool[i].hnext = d->free_list;
		d->free_list = &d->pool[i];
	}
	d->seed = am_random_seed();
	return d;
}

void
am_dns_free(struct am_dns *d)
{
	if (d == NULL)
		return;
	free(d->buckets);
	free(d->pool);
	free(d);
}

static int
is_port(const struct am_dns *d, uint16_t p)
{
	for (int i = 0; i < d->cfg.nports; i++)
		if (d->cfg.ports[i] == p)
			return 1;
	return 0;
}

static uint32_t
qhash(const struct am_dns *d, const struct am_addr *cli, uint16_t cport,
    const struct am_addr *srv, uint16_t sport, uint16_t id)
{
	uint8_t k[38];

	memcpy(k, cli->a, 16);
	memcpy(k + 16, srv->a, 16);
	k[32] = (uint8_t)(cport >> 8);
	k[33] = (uint8_t)cport;
	k[34] = (uint8_t)(sport >> 8);
	k[35] = (uint8_t)sport;
	k[36] = (uint8_t)(id >> 8);
	k[37] = (uint8_t)id;
	return (uint32_t)am_hash64(k, sizeof(k), d->seed);
}

static struct q *
find(struct am_dns *d, uint32_t h, const struct am_addr *cli, uint16_t cport,
    const struct am_addr *srv, uint16_t sport, uint16_t id)
{
	for (struct q *q = d->buckets[h & d->mask]; q; q = q->hnext)
		if (q->hash == h && q->id == id && q->c.client_port == cport && q->c.server_port == sport &&
		    am_addr_cmp(&q->c.client, cli) == 0 && am_addr_cmp(&q->c.server, srv) == 0)
			return q;
	return NULL;
}

static void
emit(struct am_dns *d, struct q *q, am_time_t resp_ts, uint32_t rbytes, int rcode, enum am_outcome o)
{
	struct am_txn t;

	memset(&t, 0, sizeof(t));
	t.req_first = t.req_last = q->ts;
	t.req_bytes = q->qbytes;
	t.req_pkts = 1;
	t.first = t.last = t.think = t.ack = -1;
	if (resp_ts) {
		t.resp_first = t.resp_last = resp_ts;
		t.first = t.last = t.think = resp_ts >= q->ts ? resp_ts - q->ts : 0;
		t.resp_bytes = rbytes;
		t.resp_pkts = 1;
	}
	t.outcome = o;
	t.signature = q->c.signature;
	t.status = rcode;
	t.seq = 1;
	q->c.transactions = 1;
	if (d->cb.txn)
		d->cb.txn(d->cb.ctx, &q->c, &t);
}

static void
release(struct am_dns *d, struct q *q)
{
	struct q **pp = &d->buckets[q->hash & d->mask];
	while (*pp && *pp != q)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = q->hnext;
	if (q->prev)
		q->prev->next = q->next;
	else
		d->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		d->tail = q->prev;
	q->hnext = d->free_list;
	d->free_list = q;
	d->st.pending--;
}

static void
expire(struct am_dns *d, am_time_t now)
{
	while (d->head && d->head->ts + d->cfg.timeout <= now) {
		struct q *q = d->head;
		if (!q->answered) {
			d->st.unanswered++;
			emit(d, q, 0, 0, -1, AM_OUT_TIMEOUT);
		}
		release(d, q);
	}
}

int
am_dns_packet(struct am_dns *d, const struct am_packet *p)
{
	int to_srv, from_srv;

	if (p->proto != AM_IPPROTO_UDP)
		return 0;
	to_srv = is_port(d, p->dport);
	from_srv = is_port(d, p->sport);
	if (!to_srv && !from_srv)
		return 0;
	if (p->ts > d->now)
		d->now = p->ts;
	expire(d, d->now);
	if (p->payload_len < 12) {
		d->st.malformed++;
		return 1;
	}
	uint16_t id = (uint16_t)(p->payload[0] << 8 | p->payload[1]);
	int qr = p->payload[2] >> 7;
	int rcode = p->payload[3] & 0x0f;

	if (!qr && to_srv) {
		d->st.queries++;
		uint32_t h = qhash(d, &p->src, p->sport, &p->dst, p->dport, id);
		struct q *q = find(d, h, &p->src, p->sport, &p->dst, p->dport, id);
		if (q) {
			if (!q->answered)
				d->st.retransmitted_queries++;
			return 1;
		}
		q = d->free_list;
		if (q == NULL) {
			d->st.pending_cap++;
			return 1;
		}
		d->free_list = q->hnext;
		memset(q, 0, sizeof(*q));
		q->hash = h;
		q->id = id;
		q->ts = d->now;
		q->qbytes = p->seg_len;
		q->c.id = ++d->next_id;
		q->c.client = p->src;
		q->c.server = p->dst;
		q->c.client_port = p->sport;
		q->c.server_port = p->dport;
		q->c.proto = AM_IPPROTO_UDP;
		q->c.src_index = p->source;
		q->c.first_ts = q->c.last_ts = d->now;
		q->c.srv_rtt = q->c.cli_rtt = -1;
		q->c.wscale[0] = q->c.wscale[1] = 0xff;
		q->c.rule = -1;
		q->c.signature = -1;
		q->c.pkts[0] = 1;
		q->c.bytes[0] = p->seg_len;
		if (d->cb.conn_new && d->cb.conn_new(d->cb.ctx, &q->c) != 0) {
			q->hnext = d->free_list;   /* not measured */
			d->free_list = q;
			return 1;
		}
		if (d->cb.classify)
			q->c.signature = d->cb.classify(d->cb.ctx, &q->c, p->payload, p->payload_len);
		q->hnext = d->buckets[h & d->mask];
		d->buckets[h & d->mask] = q;
		q->prev = d->tail;
		q->next = NULL;
		if (d->tail)
			d->tail->next = q;
		else
			d->head = q;
		d->tail = q;
		d->st.pending++;
		return 1;
	}
	if (qr && from_srv) {
		d->st.responses++;
		uint32_t h = qhash(d, &p->dst, p->dport, &p->src, p->sport, id);
		struct q *q = find(d, h, &p->dst, p->dport, &p->src, p->sport, id);
		if (q == NULL) {
			d->st.unsolicited++;
			return 1;
		}
		if (q->answered) {
			d->st.duplicate_responses++;
			return 1;
		}
		q->answered = 1;
		q->c.pkts[1] = 1;
		q->c.bytes[1] = p->seg_len;
		q->c.last_ts = d->now;
		d->st.answered++;
		emit(d, q, d->now, p->seg_len, rcode, AM_OUT_COMPLETE);
		/* The entry stays until its timeout to recognise duplicates. */
		return 1;
	}
	d->st.malformed++;
	return 1;
}

void
am_dns_tick(struct am_dns *d, am_time_t now)
{
	if (now > d->now)
		d->now = now;
	expire(d, d->now);
}

void
am_dns_finish(struct am_dns *d)
{
	while (d->head) {
		struct q *q = d->head;
		if (!q->answered)
			emit(d, q, 0, 0, -1, AM_OUT_OPEN);
		release(d, q);
	}
}

void
am_dns_stats(const struct am_dns *d, struct am_dns_stats *st)
{
	*st = d->st;
}
