/* The measurement pipeline: frames in, named transactions and interval
 * aggregates out. */
#include "config.h"
#include "engine/engine.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct am_req) <= sizeof(((struct am_conn *)0)->scratch),
    "the request state must fit the connection's scratch space");

struct am_engine {
	struct am_engine_cfg cfg;
	struct am_engine_cb cb;
	const struct am_config *rules, *prev_rules;
	uint32_t gen;
	uint8_t global_wait_for_syn;
	struct am_agg *agg;
	struct am_tracker *tr;
	struct am_dns *dns;
	struct am_decode_stats ds;
	uint64_t ignored, unclaimed;
	struct am_engine_icmp_row *icmp;
	uint32_t nicmp;
	uint64_t icmp_errors, icmp_overflow;
	am_time_t clock;
};

void
am_engine_cfg_default(struct am_engine_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	am_tracker_cfg_default(&cfg->tracker);
	am_dns_cfg_default(&cfg->dns);
	cfg->measure_unclaimed = 1;
	cfg->masklen4 = 32;
	cfg->masklen6 = 128;
}

void
am_engine_cfg_from_rules(struct am_engine_cfg *cfg, const struct am_config *rules)
{
	const struct am_settings *s = &rules->set;

	if (s->max_sessions)
		cfg->tracker.max_sessions = s->max_sessions;
	if (s->max_pending)
		cfg->tracker.max_pending = s->max_pending;
	if (s->max_exchanges)
		cfg->tracker.max_exchanges = s->max_exchanges;
	if (s->memcap)
		cfg->tracker.memcap = s->memcap;
	if (s->adu_quiet > 0)
		cfg->tracker.quiet = s->adu_quiet;
	cfg->masklen4 = s->netmasklen;
	cfg->masklen6 = s->netmasklen6;
}

/* The rules a connection was bound with (NULL when they are gone). */
static const struct am_config *
rules_of(const struct am_engine *e, const struct am_conn *c)
{
	if (c->generation == e->gen)
		return e->rules;
	if (c->generation + 1 == e->gen)
		return e->prev_rules;
	return NULL;
}

static int
cb_conn_new(void *ctx, struct am_conn *c)
{
	struct am_engine *e = ctx;
	const struct am_config *cfg = e->rules;

	c->generation = e->gen;
	c->rule = -1;
	c->signature = -1;
	if (cfg)
		c->rule = am_rules_bind(cfg, &c->client, c->client_port, &c->server, c->server_port);
	if (c->rule >= 0) {
		const struct am_rule *r = &cfg->rules[c->rule];
		/* A rule that says WaitforSYN decides; one that does not
		 * follows the global pick-up (--midstream). */
		if (c->midstream && r->wait_for_syn &&
		    (r->wait_for_syn_given || e->global_wait_for_syn))
			return 1;
		c->client_rst_as_fin = r->client_rst_as_fin;
		c->framing = (uint8_t)r->framing;   /* same numbers as enum am_fr_proto */
		return 0;
	}
	if (!e->cfg.measure_unclaimed)
		return 1;
	/* Unclaimed connections follow the global WaitforSYN. */
	if (c->midstream && e->global_wait_for_syn)
		return 1;
	return 0;
}

static int32_t
cb_classify(void *ctx, struct am_conn *c, const uint8_t *data, uint32_t len)
{
	struct am_engine *e = ctx;
	const struct am_config *cfg = rules_of(e, c);

	if (cfg == NULL || c->rule < 0)
		return -1;
	if (c->proto == AM_IPPROTO_UDP)
		return am_classify(cfg, c->rule, data, len);
	const struct am_rule *r = &cfg->rules[c->rule];
	if (r->timing == AM_TIMING_ADU) {
		/* Payload-free: one name per connection, from the TLS server
		 * name when the rule asks for it and a ClientHello shows one. */
		if (c->signature >= 0)
			return c->signature;
		if (r->name_by == AM_NAME_BY_SNI) {
			char name[256];
			int n = am_tls_sni(data, len, name, sizeof(name));
			if (n > 0) {
				c->signature = am_sig_intern(cfg, c->rule, name, (size_t)n);
				return c->signature;
			}
		}
		c->signature = r->sig_other;
		return c->signature;
	}
	return am_req_begin(cfg, c->rule, (struct am_req *)c->scratch, data, len);
}

static int32_t
cb_classify_more(void *ctx, struct am_conn *c, int32_t sig, const uint8_t *data, uint32_t len)
{
	struct am_engine *e = ctx;
	const struct am_config *cfg = rules_of(e, c);
	struct am_req *req = (struct am_req *)c->scratch;

	if (cfg == NULL || c->rule < 0 || !req->want_more || cfg->rules[c->rule].timing == AM_TIMING_ADU)
		return sig;
	am_req_more(cfg, req, data, len);
	return req->signature;
}

static void
cb_txn(void *ctx, const struct am_conn *c, const struct am_txn *t)
{
	struct am_engine *e = ctx;
	const struct am_config *cfg = rules_of(e, c);
	struct am_engine_txn et;

	if (t->signature == AM_SIG_IGNORE) {
		e->ignored++;
		return;
	}
	et.conn = c;
	et.txn = t;
	et.now = e->clock;
	et.signature = "";
	et.rule = "";
	et.masklen4 = e->cfg.masklen4;
	et.masklen6 = e->cfg.masklen6;
	et.by = AM_BY_SERVER;
	if (cfg && c->rule >= 0) {
		const struct am_rule *r = &cfg->rules[c->rule];
		const char *n = am_sig_name(cfg, t->signature);
		et.signature = n ? n : "";
		et.rule = r->name;
		et.masklen4 = r->netmasklen;
		et.masklen6 = r->netmasklen6;
		et.by = r->summarise == AM_SUMMARISE_PORT ? AM_BY_CLIENT_PORT :
		    r->summarise == AM_SUMMARISE_IP ? AM_BY_CLIENT : AM_BY_SERVER;
	} else {
		e->unclaimed++;
	}
	if (e->cb.txn)
		e->cb.txn(e->cb.ctx, &et);
	if (e->agg) {
		struct am_agg_key k;
		am_agg_key_make(&k, c, et.rule, et.signature, et.masklen4, et.masklen6, (enum am_agg_by)et.by);
		am_agg_add(e->agg, &k, c, t);
	}
}

static void
cb_conn_end(void *ctx, const struct am_conn *c)
{
	struct am_engine *e = ctx;

	if (e->cb.conn_end)
		e->cb.conn_end(e->cb.ctx, c);
}

static void
cb_adu(void *ctx, const struct am_conn *c, const struct am_adu *a)
{
	struct am_engine *e = ctx;

	if (e->cb.adu)
		e->cb.adu(e->cb.ctx, c, a);
}

static void
cb_handshake(void *ctx, const struct am_conn *c)
{
	struct am_engine *e = ctx;
	const struct am_config *cfg = rules_of(e, c);

	if (cfg == NULL || cfg->nsynack == 0 || e->cb.handshake == NULL)
		return;
	int i = am_rules_bind_synack(cfg, &c->client, c->client_port, &c->server, c->server_port);
	if (i >= 0)
		e->cb.handshake(e->cb.ctx, c, cfg->synack[i].name);
}

static uint8_t
effective_wait_for_syn(const struct am_engine *e)
{
	if (!e->global_wait_for_syn)
		return 0;
	if (e->rules)
		for (uint32_t i = 0; i < e->rules->nrules; i++)
			if (!e->rules->rules[i].wait_for_syn)
				return 0;
	return 1;
}

struct am_engine *
am_engine_new(const struct am_engine_cfg *cfg, const struct am_config *rules, struct am_agg *agg,
    const struct am_engine_cb *cb)
{
	struct am_engine *e = am_xcalloc(1, sizeof(*e));

	if (cfg)
		e->cfg = *cfg;
	else
		am_engine_cfg_default(&e->cfg);
	if (cb)
		e->cb = *cb;
	e->rules = rules;
	e->agg = agg;
	e->gen = 1;
	e->global_wait_for_syn = e->cfg.tracker.wait_for_syn;

	struct am_tracker_cfg tc = e->cfg.tracker;
	tc.wait_for_syn = effective_wait_for_syn(e);
	struct am_tracker_cb tcb = {
		.ctx = e, .conn_new = cb_conn_new, .classify = cb_classify,
		.classify_more = cb_classify_more, .txn = cb_txn, .conn_end = cb_conn_end,
		.adu = e->cfg.want_adu ? cb_adu : NULL,
		.handshake = e->cb.handshake ? cb_handshake : NULL,
	};
	e->tr = am_tracker_new(&tc, &tcb);
	e->dns = am_dns_new(&e->cfg.dns, &tcb);
	return e;
}

void
am_engine_free(struct am_engine *e)
{
	if (e == NULL)
		return;
	am_tracker_free(e->tr);
	am_dns_free(e->dns);
	free(e->icmp);
	free(e);
}

const struct am_config *
am_engine_set_rules(struct am_engine *e, const struct am_config *rules)
{
	const struct am_config *gone = e->prev_rules;

	e->prev_rules = e->rules;
	e->rules = rules;
	e->gen++;
	/* Connections bound two generations ago lose their names (they are
	 * measured on, as unclaimed). */
	if (gone == e->prev_rules || gone == rules)
		gone = NULL;
	return gone;
}

static int
icmp_wanted(const struct am_icmp *sw, enum am_icmp_kind k)
{
	switch (k) {
	case AM_ICMP_UNREACHABLE: return sw->destination_unreachable;
	case AM_ICMP_SOURCE_QUENCH: return sw->source_quench;
	case AM_ICMP_REDIRECT: return sw->redirect;
	case AM_ICMP_TIME_EXCEEDED: return sw->time_exceeded;
	case AM_ICMP_PARAMETER: return sw->parameter_problem;
	case AM_ICMP_CONVERSION: return sw->conversion_error;
	default: return sw->the_rest;
	}
}

/* An ICMP error about a packet of a watched service: counted under the
 * server the returned packet went to (or came from). */
static void
icmp_count(struct am_engine *e, const struct am_packet *p)
{
	struct am_icmp_err ie;
	const struct am_config *cfg = e->rules;
	struct am_addr srv;
	uint16_t port;

	if (cfg == NULL || !cfg->icmp.present || !am_icmp_parse(p, &ie) || !icmp_wanted(&cfg->icmp, ie.kind))
		return;
	if (am_rules_bind(cfg, &ie.inner_src, ie.inner_sport, &ie.inner_dst, ie.inner_dport) >= 0) {
		srv = ie.inner_dst;
		port = ie.inner_dport;
	} else if (am_rules_bind(cfg, &ie.inner_dst, ie.inner_dport, &ie.inner_src, ie.inner_sport) >= 0) {
		srv = ie.inner_src;
		port = ie.inner_sport;
	} else {
		return;
	}
	for (uint32_t i = 0; i < e->nicmp; i++) {
		struct am_engine_icmp_row *r = &e->icmp[i];
		if (r->port == port && am_addr_cmp(&r->server, &srv) == 0) {
			r->count[ie.kind]++;
			e->icmp_errors++;
			return;
		}
	}
	if (e->nicmp >= AM_ENGINE_ICMP_ROWS) {
		e->icmp_overflow++;
		return;
	}
	if (e->icmp == NULL)
		e->icmp = am_xcalloc(AM_ENGINE_ICMP_ROWS, sizeof(*e->icmp));
	struct am_engine_icmp_row *r = &e->icmp[e->nicmp++];
	r->server = srv;
	r->port = port;
	r->count[ie.kind] = 1;
	e->icmp_errors++;
}

int
am_engine_icmp_row(const struct am_engine *e, uint32_t i, struct am_engine_icmp_row *row)
{
	if (i >= e->nicmp)
		return -1;
	*row = e->icmp[i];
	return 0;
}

enum am_dec
am_engine_frame(struct am_engine *e, const struct am_frame *f)
{
	struct am_packet p;
	enum am_dec r = am_decode_count(&e->ds, f->dlt, f->data, f->caplen, f->wirelen, &p);

	if (f->ts > e->clock) {
		e->clock = f->ts;
		if (e->agg)
			am_agg_advance(e->agg, e->clock);
	}
	if (r == AM_DEC_SKIP_OTHER_L4 && (p.proto == 1 || p.proto == 58))
		icmp_count(e, &p);
	if (r != AM_DEC_OK)
		return r;
	p.ts = f->ts;
	p.source = (uint8_t)f->index;
	/* One clock for both: each also moves on the other's packets, so a
	 * query times out while only TCP flows, and the reverse. */
	if (p.proto == AM_IPPROTO_TCP) {
		am_dns_tick(e->dns, e->clock);
		am_tracker_packet(e->tr, &p);
	} else {
		am_tracker_tick(e->tr, e->clock);
		am_dns_packet(e->dns, &p);
	}
	return r;
}

void
am_engine_tick(struct am_engine *e, am_time_t now)
{
	if (now > e->clock)
		e->clock = now;
	am_tracker_tick(e->tr, e->clock);
	am_dns_tick(e->dns, e->clock);
	if (e->agg)
		am_agg_advance(e->agg, e->clock);
}

int
am_engine_finish(struct am_engine *e)
{
	am_tracker_finish(e->tr);
	am_dns_finish(e->dns);
	if (e->agg)
		return am_agg_finish(e->agg);
	return 0;
}

void
am_engine_stats(const struct am_engine *e, struct am_engine_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->decode = e->ds;
	am_tracker_stats(e->tr, &st->tracker);
	am_dns_stats(e->dns, &st->dns);
	if (e->rules)
		am_rules_stats(e->rules, &st->rules);
	st->ignored_txn = e->ignored;
	st->unclaimed_txn = e->unclaimed;
	st->icmp_errors = e->icmp_errors;
	st->icmp_overflow = e->icmp_overflow;
	st->clock = e->clock;
}
