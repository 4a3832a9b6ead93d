/* artmon read: measure the transactions in capture files. */
#include "config.h"
#include "cli/cli.h"
#include "cli/out.h"
#include "capture/census.h"
#include "capture/source.h"
#include "common/log.h"
#include "engine/census_conf.h"
#include "engine/engine.h"
#include "rules/rules.h"
#include "store/agg.h"
#include "store/hist.h"

#include <errno.h>
#include <sys/stat.h>

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum records { REC_TXN, REC_CONN, REC_SUMMARY, REC_ADU, REC_HANDSHAKE, REC_FILTERS, REC_TOPN, REC_ICMP };

enum { T_FIRST, T_LAST, T_ACK, T_THINK, T_RTT, T__COUNT };
static const char *const timing_names[T__COUNT] = { "first", "last", "ack", "think", "rtt" };

/* One summary row: server, port, signature. */
struct sumrow {
	struct sumrow *next;
	am_time_t istart;        /* interval start (--interval), 0 for the whole input */
	struct am_addr server;
	uint16_t port;
	char *signature;
	uint64_t count;
	uint64_t outcome[AM_OUT__COUNT];
	uint64_t req_bytes, resp_bytes;
	struct am_hist h[T__COUNT];
};

#define SUM_BUCKETS 4096
#define SUM_MAX_ROWS 100000

struct readctx {
	enum records rec;
	struct am_census *census;    /* --records filters/topn or --filter-set */
	int64_t sum_interval;    /* summary per interval of this length (us), 0: whole input */
	struct am_out out;
	struct sumrow *rows[SUM_BUCKETS];
	uint64_t nrows;
	uint64_t row_overflow;
	struct sumrow *overflow;
	uint64_t seed;
};

static void
read_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: artmon read [options] FILE...\n"
	    "Measure every TCP transaction in pcap/pcapng files (read in order).\n\n"
	    "  -R, --records KIND   transactions (default), connections, summary, adu or\n"
	    "                       handshakes (connections watched by tcpsynack rules),\n"
	    "                       filters (filter-set and hardwired counters), topn, or\n"
	    "                       icmp (ICMP errors per server, per the rules' ICMP section)\n"
	    "      --filter-set SPEC  SET:LABEL=BPF,LABEL=BPF... counted per label (repeatable)\n"
	    "      --top N          rows per top-N table (10)\n"
	    "  -F, --format FMT     text (default), csv or json (JSON Lines)\n"
	    "  -r FILE              a capture file (same as a FILE argument)\n"
	    "  -b, --filter EXPR    BPF filter applied to the files\n"
	    "  -c, --config FILE    rules and settings (default: the shipped configuration,\n"
	    "                       $ARTMON_CONF or SYSCONFDIR/artmon/artmon.conf)\n"
	    "      --no-rules       measure without rules (no signatures)\n"
	    "      --no-unclaimed   do not measure connections no rule claims\n"
	    "  -s, --store DIR      also write interval aggregates into the store in DIR\n"
	    "      --interval S     interval length (10-3600 s): of a new store, and of the\n"
	    "                       summary, which then has one record per interval\n"
	    "      --midstream      also measure connections whose handshake was not seen\n"
	    "      --max-sessions N bound on tracked connections (default 262144)\n"
	    "      --quiet-ms N     response complete after N ms without data once ACKed (500)\n"
	    "      --max-pending N  unanswered pipelined requests kept per connection (1-1024, 256)\n"
	    "  -D, --debug TOKENS   debug output for subsystems (tracker, capture, all)\n"
	    "  -q, --quiet          no progress and no counters on stderr\n"
	    "  -h, --help           this help\n\n"
	    "Timings are microseconds; a timing that does not exist is null. See artmon(1).\n");
}

static void
write_txn(struct readctx *r, const struct am_conn *c, const struct am_txn *t, const char *sig)
{
	struct am_out *o = &r->out;
	char a[AM_ADDRSTRLEN];
	int64_t rtt = (c->srv_rtt >= 0 && c->cli_rtt >= 0) ? c->srv_rtt + c->cli_rtt : -1;

	out_begin(o);
	out_time(o, "ts", t->req_first, 17);
	out_str(o, "client", am_addr_fmt(&c->client, a, sizeof(a)), 15);
	out_u64(o, "client_port", c->client_port, 5);
	out_str(o, "server", am_addr_fmt(&c->server, a, sizeof(a)), 15);
	out_u64(o, "server_port", c->server_port, 5);
	out_str(o, "proto", c->proto == AM_IPPROTO_UDP ? "udp" : "tcp", 3);
	out_str(o, "signature", sig, 12);
	out_opt(o, "first_us", t->first, 9);
	out_opt(o, "last_us", t->last, 9);
	out_opt(o, "ack_us", t->ack, 9);
	out_opt(o, "think_us", t->think, 9);
	out_opt(o, "rtt_us", rtt, 7);
	out_opt(o, "srv_rtt_us", c->srv_rtt, 7);
	out_opt(o, "cli_rtt_us", c->cli_rtt, 7);
	out_u64(o, "req_bytes", t->req_bytes, 8);
	out_u64(o, "resp_bytes", t->resp_bytes, 8);
	out_u64(o, "req_pkts", t->req_pkts, 5);
	out_u64(o, "resp_pkts", t->resp_pkts, 5);
	out_u64(o, "retrans", t->retrans, 4);
	out_u64(o, "gap_bytes", t->gap_bytes, 4);
	out_opt(o, "status", t->status, 3);
	out_str(o, "outcome", am_outcome_name(t->outcome), 8);
	out_end(o);
}

static void
write_conn(struct readctx *r, const struct am_conn *c)
{
	struct am_out *o = &r->out;
	char a[AM_ADDRSTRLEN];
	int64_t rtt = (c->srv_rtt >= 0 && c->cli_rtt >= 0) ? c->srv_rtt + c->cli_rtt : -1;

	out_begin(o);
	out_time(o, "ts", c->first_ts, 17);
	out_str(o, "client", am_addr_fmt(&c->client, a, sizeof(a)), 15);
	out_u64(o, "client_port", c->client_port, 5);
	out_str(o, "server", am_addr_fmt(&c->server, a, sizeof(a)), 15);
	out_u64(o, "server_port", c->server_port, 5);
	out_str(o, "proto", "tcp", 3);
	out_opt(o, "rtt_us", rtt, 7);
	out_opt(o, "srv_rtt_us", c->srv_rtt, 7);
	out_opt(o, "cli_rtt_us", c->cli_rtt, 7);
	out_opt(o, "duration_us", c->last_ts - c->first_ts, 9);
	out_opt(o, "client_mss", c->mss[0] ? c->mss[0] : -1, 4);
	out_opt(o, "server_mss", c->mss[1] ? c->mss[1] : -1, 4);
	out_opt(o, "client_wscale", c->wscale[0] != 0xff ? c->wscale[0] : -1, 2);
	out_opt(o, "server_wscale", c->wscale[1] != 0xff ? c->wscale[1] : -1, 2);
	out_u64(o, "c2s_bytes", c->bytes[0], 8);
	out_u64(o, "s2c_bytes", c->bytes[1], 8);
	out_u64(o, "c2s_pkts", c->pkts[0], 5);
	out_u64(o, "s2c_pkts", c->pkts[1], 5);
	out_u64(o, "c2s_retrans", c->retrans[0], 4);
	out_u64(o, "s2c_retrans", c->retrans[1], 4);
	out_u64(o, "c2s_ooo", c->ooo[0], 4);
	out_u64(o, "s2c_ooo", c->ooo[1], 4);
	out_u64(o, "gap_bytes", c->gap_bytes[0] + c->gap_bytes[1], 4);
	out_u64(o, "transactions", c->transactions, 4);
	out_u64(o, "midstream", c->midstream, 1);
	out_str(o, "outcome", am_outcome_name(c->outcome), 8);
	out_end(o);
}

static struct sumrow *
sum_row(struct readctx *r, const struct am_conn *c, const char *sig, am_time_t istart)
{
	struct am_addr k = c->server;
	uint8_t key[28];
	size_t alen = k.family == AM_AF_INET ? 4 : 16;

	memcpy(key, k.a, alen);
	key[alen] = (uint8_t)(c->server_port >> 8);
	key[alen + 1] = (uint8_t)c->server_port;
	memcpy(key + alen + 2, &istart, sizeof(istart));
	uint64_t h = am_hash64(key, alen + 2 + sizeof(istart), r->seed) ^ am_hash64(sig, strlen(sig), r->seed);
	struct sumrow **pp = &r->rows[h % SUM_BUCKETS];
	for (struct sumrow *s = *pp; s; s = s->next)
		if (s->port == c->server_port && s->istart == istart && am_addr_cmp(&s->server, &k) == 0 &&
		    strcmp(s->signature, sig) == 0)
			return s;
	if (r->nrows >= SUM_MAX_ROWS) {
		r->row_overflow++;
		if (r->overflow == NULL) {
			r->overflow = am_xcalloc(1, sizeof(*r->overflow));
			r->overflow->signature = am_xstrdup("(overflow)");
			for (int i = 0; i < T__COUNT; i++)
				am_hist_init(&r->overflow->h[i]);
		}
		return r->overflow;
	}
	struct sumrow *s = am_xcalloc(1, sizeof(*s));
	s->istart = istart;
	s->server = k;
	s->port = c->server_port;
	s->signature = am_xstrdup(sig);
	for (int i = 0; i < T__COUNT; i++)
		am_hist_init(&s->h[i]);
	s->next = *pp;
	*pp = s;
	r->nrows++;
	return s;
}

static void
sum_txn(struct readctx *r, const struct am_conn *c, const struct am_txn *t, const char *sig, am_time_t now)
{
	am_time_t istart = 0;

	if (r->sum_interval > 0)
		istart = now - now % r->sum_interval;
	struct sumrow *s = sum_row(r, c, sig, istart);
	int64_t v[T__COUNT] = { t->first, t->last, t->ack, t->think,
		(c->srv_rtt >= 0 && c->cli_rtt >= 0) ? c->srv_rtt + c->cli_rtt : -1 };

	s->count++;
	s->outcome[t->outcome]++;
	s->req_bytes += t->req_bytes;
	s->resp_bytes += t->resp_bytes;
	for (int i = 0; i < T__COUNT; i++)
		if (v[i] >= 0)
			am_hist_add(&s->h[i], (uint64_t)v[i]);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct sumrow *x = *(const struct sumrow *const *)a, *y = *(const struct sumrow *const *)b;
	if (x->istart != y->istart)
		return x->istart < y->istart ? -1 : 1;
	int c = am_addr_cmp(&x->server, &y->server);
	if (c)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return strcmp(x->signature, y->signature);
}

static void
write_summary(struct readctx *r)
{
	struct sumrow **all = am_xcalloc(r->nrows + 1, sizeof(*all));
	size_t n = 0;
	char a[AM_ADDRSTRLEN], name[32];

	for (int b = 0; b < SUM_BUCKETS; b++)
		for (struct sumrow *s = r->rows[b]; s; s = s->next)
			all[n++] = s;
	qsort(all, n, sizeof(*all), row_cmp);
	if (r->overflow)
		all[n++] = r->overflow;
	for (size_t i = 0; i < n; i++) {
		struct sumrow *s = all[i];
		struct am_out *o = &r->out;
		out_begin(o);
		if (r->sum_interval > 0) {
			out_time(o, "interval_start", s->istart, 17);
			out_u64(o, "interval_s", (uint64_t)(r->sum_interval / AM_USEC), 4);
		}
		out_str(o, "server", s->server.family ? am_addr_fmt(&s->server, a, sizeof(a)) : "", 15);
		out_u64(o, "server_port", s->port, 5);
		out_str(o, "signature", s->signature, 12);
		out_u64(o, "count", s->count, 6);
		out_u64(o, "resets", s->outcome[AM_OUT_RESET], 3);
		out_u64(o, "timeouts", s->outcome[AM_OUT_TIMEOUT], 3);
		out_u64(o, "incomplete", s->outcome[AM_OUT_INCOMPLETE], 3);
		out_u64(o, "open", s->outcome[AM_OUT_OPEN] + s->outcome[AM_OUT_EVICTED], 3);
		out_u64(o, "req_bytes", s->req_bytes, 8);
		out_u64(o, "resp_bytes", s->resp_bytes, 8);
		for (int t = 0; t < T__COUNT; t++) {
			const struct am_hist *h = &s->h[t];
			int have = h->count > 0;
			snprintf(name, sizeof(name), "%s_n", timing_names[t]);
			out_u64(o, name, h->count, 4);
			snprintf(name, sizeof(name), "%s_min_us", timing_names[t]);
			out_opt(o, name, have ? (int64_t)h->min : -1, 7);
			snprintf(name, sizeof(name), "%s_mean_us", timing_names[t]);
			out_opt(o, name, have ? (int64_t)(am_hist_mean(h) + 0.5) : -1, 7);
			snprintf(name, sizeof(name), "%s_max_us", timing_names[t]);
			out_opt(o, name, have ? (int64_t)h->max : -1, 7);
			snprintf(name, sizeof(name), "%s_p50_us", timing_names[t]);
			out_opt(o, name, have ? (int64_t)am_hist_quantile(h, 0.50) : -1, 7);
			snprintf(name, sizeof(name), "%s_p90_us", timing_names[t]);
			out_opt(o, name, have ? (int64_t)am_hist_quantile(h, 0.90) : -1, 7);
			snprintf(name, sizeof(name), "%s_p99_us", timing_names[t]);
			out_opt(o, name, have ? (int64_t)am_hist_quantile(h, 0.99) : -1, 7);
		}
		out_end(o);
	}
	free(all);
}

static void
write_icmp(struct readctx *r, const struct am_engine *e)
{
	struct am_engine_icmp_row row;
	char a[AM_ADDRSTRLEN];

	for (uint32_t i = 0; am_engine_icmp_row(e, i, &row) == 0; i++) {
		struct am_out *o = &r->out;
		out_begin(o);
		out_str(o, "server", am_addr_fmt(&row.server, a, sizeof(a)), 15);
		out_u64(o, "server_port", row.port, 5);
		for (int k = 0; k < AM_ICMP__KINDS; k++)
			out_u64(o, am_icmp_kind_name((enum am_icmp_kind)k), row.count[k], 4);
		out_end(o);
	}
}

static void
sum_free(struct readctx *r)
{
	for (int b = 0; b < SUM_BUCKETS; b++) {
		struct sumrow *s = r->rows[b];
		while (s) {
			struct sumrow *n = s->next;
			for (int i = 0; i < T__COUNT; i++)
				am_hist_free(&s->h[i]);
			free(s->signature);
			free(s);
			s = n;
		}
	}
	if (r->overflow) {
		for (int i = 0; i < T__COUNT; i++)
			am_hist_free(&r->overflow->h[i]);
		free(r->overflow->signature);
		free(r->overflow);
	}
}

static void
cb_adu(void *ctx, const struct am_conn *c, const struct am_adu *a)
{
	struct readctx *r = ctx;
	struct am_out *o = &r->out;
	char b[AM_ADDRSTRLEN];
	int json = o->fmt == FMT_JSON;
	int data = a->type == AM_ADU_ADU || a->type == AM_ADU_INC;

	out_begin(o);
	out_str(o, "type", am_adu_name(a->type), 4);
	out_time(o, "ts", a->ts, 17);
	out_str(o, "client", am_addr_fmt(&c->client, b, sizeof(b)), 15);
	out_u64(o, "client_port", c->client_port, 5);
	out_str(o, "server", am_addr_fmt(&c->server, b, sizeof(b)), 15);
	out_u64(o, "server_port", c->server_port, 5);
	if (data || !json) {
		out_str(o, "dir", data ? (a->dir ? "s2c" : "c2s") : "", 3);
		out_opt(o, "bytes", data ? (int64_t)a->bytes : -1, 8);
		out_opt(o, "think_us", data ? a->think : -1, 9);
		out_str(o, "mode", data ? (a->concurrent ? "conc" : "seq") : "", 4);
	}
	if (a->type == AM_ADU_RTT || !json)
		out_opt(o, "rtt_us", a->type == AM_ADU_RTT ? a->rtt : -1, 7);
	out_end(o);
}

static void
cb_handshake(void *ctx, const struct am_conn *c, const char *rule)
{
	struct readctx *r = ctx;
	struct am_out *o = &r->out;
	char b[AM_ADDRSTRLEN];

	if (r->rec != REC_HANDSHAKE)
		return;
	out_begin(o);
	out_time(o, "ts", c->syn_ts, 17);
	out_str(o, "client", am_addr_fmt(&c->client, b, sizeof(b)), 15);
	out_u64(o, "client_port", c->client_port, 5);
	out_str(o, "server", am_addr_fmt(&c->server, b, sizeof(b)), 15);
	out_u64(o, "server_port", c->server_port, 5);
	out_str(o, "rule", rule, 10);
	out_opt(o, "rtt_us", c->srv_rtt + c->cli_rtt, 7);
	out_opt(o, "srv_rtt_us", c->srv_rtt, 7);
	out_opt(o, "cli_rtt_us", c->cli_rtt, 7);
	out_opt(o, "setup_us", c->est_ts - c->syn_ts, 7);
	out_u64(o, "syn_retrans", c->retrans[0], 2);
	out_end(o);
}

static void
cb_txn(void *ctx, const struct am_engine_txn *et)
{
	struct readctx *r = ctx;

	if (r->census)
		am_census_txn(r->census, et->conn, et->txn);
	if (r->rec == REC_TXN)
		write_txn(r, et->conn, et->txn, et->signature);
	else if (r->rec == REC_SUMMARY)
		sum_txn(r, et->conn, et->txn, et->signature, et->now);
}

static void
cb_conn_end(void *ctx, const struct am_conn *c)
{
	struct readctx *r = ctx;

	if (r->rec == REC_CONN)
		write_conn(r, c);
}

static void
progress(struct am_source *src, uint64_t pkts, am_time_t start, int final)
{
	uint64_t done, total;
	double el = (double)(am_now_mono() - start) / 1e6;

	if (final) {
		fprintf(stderr, "\r%60s\r", "");
		return;
	}
	am_source_progress(src, &done, &total);
	if (total)
		fprintf(stderr, "\rartmon read: %5.1f%%  %" PRIu64 " packets  %.2f Mpkt/s ",
		    100.0 * (double)done / (double)total, pkts, el > 0 ? (double)pkts / el / 1e6 : 0.0);
	else
		fprintf(stderr, "\rartmon read: %" PRIu64 " packets ", pkts);
	fflush(stderr);
}

static void
print_counters(struct am_source *src, struct am_engine *e, struct am_agg *agg)
{
	struct am_engine_stats es;
	const struct am_decode_stats *ds = &es.decode;
	const struct am_tracker_stats *ts = &es.tracker;
	const struct am_dns_stats *dst = &es.dns;

	am_engine_stats(e, &es);
	uint64_t mal = am_decode_malformed(ds);
	fprintf(stderr, "artmon read: %" PRIu64 " packets, %" PRIu64 " bytes from %d file%s\n",
	    ds->packets, ds->bytes, am_source_count(src), am_source_count(src) == 1 ? "" : "s");
	fprintf(stderr, "  skipped: not IP %" PRIu64 ", fragments %" PRIu64 ", other protocols %" PRIu64
	    ", unsupported link %" PRIu64 "\n",
	    ds->reason[AM_DEC_SKIP_NOT_IP], ds->reason[AM_DEC_SKIP_FRAGMENT],
	    ds->reason[AM_DEC_SKIP_OTHER_L4], ds->reason[AM_DEC_SKIP_LINKTYPE]);
	fprintf(stderr, "  malformed: %" PRIu64, mal);
	for (int i = AM_DEC_FIRST_MALFORMED; i < AM_DEC__COUNT; i++)
		if (ds->reason[i])
			fprintf(stderr, " %s=%" PRIu64, am_dec_name((enum am_dec)i), ds->reason[i]);
	fprintf(stderr, "\n  sessions: %" PRIu64 " created, %" PRIu64 " peak (limit %" PRIu64 "), %"
	    PRIu64 " refused, %" PRIu64 " evicted, %" PRIu64 " timed out, %" PRIu64 " mid-stream, %"
	    PRIu64 " packets without handshake\n",
	    ts->sessions_created, ts->sessions_peak, ts->sessions_limit, ts->refused, ts->evicted,
	    ts->timed_out, ts->midstream, ts->no_syn);
	fprintf(stderr, "  transactions: %" PRIu64 " (%" PRIu64 " on connections no rule claims, %" PRIu64
	    " ignored by rules), retransmitted segments: %" PRIu64 "\n",
	    ts->transactions + dst->answered + dst->unanswered, es.unclaimed_txn, es.ignored_txn, ts->retrans);
	fprintf(stderr, "  ADUs: %" PRIu64 " (%" PRIu64 " on concurrent connections), concurrent connections: %"
	    PRIu64 ", exchanges not timed because concurrent: %" PRIu64 "\n",
	    ts->adus, ts->conc_adus, ts->conc_connections, ts->conc_dropped);
	if (ts->framed || ts->framed_cap)
		fprintf(stderr, "  paired from the payload: %" PRIu64 " connections, %" PRIu64
		    " lost sync (header-only from then on), %" PRIu64 " requests dropped with it, %" PRIu64
		    " over the pending bound, %" PRIu64 " not framed (bound reached), %" PRIu64 " interim responses\n",
		    ts->framed, ts->framed_lost, ts->framed_dropped, ts->pending_cap, ts->framed_cap, ts->interim);
	if (ts->exchange_cap)
		fprintf(stderr, "  connections with data not timed (exchange states exhausted): %" PRIu64 "\n",
		    ts->exchange_cap);
	if (dst->queries || dst->responses)
		fprintf(stderr, "  DNS: %" PRIu64 " queries, %" PRIu64 " answered, %" PRIu64 " unanswered, %"
		    PRIu64 " duplicate responses, %" PRIu64 " unsolicited, %" PRIu64 " retransmitted queries, %"
		    PRIu64 " not tracked (table full), %" PRIu64 " malformed\n",
		    dst->queries, dst->answered, dst->unanswered, dst->duplicate_responses, dst->unsolicited,
		    dst->retransmitted_queries, dst->pending_cap, dst->malformed);
	if (es.icmp_errors || es.icmp_overflow)
		fprintf(stderr, "  ICMP errors about watched services: %" PRIu64 " (%" PRIu64 " not counted: table full)\n",
		    es.icmp_errors, es.icmp_overflow);
	if (es.rules.requests)
		fprintf(stderr, "  rules: %" PRIu64 " requests, %" PRIu64 " named, %" PRIu64 " catch-all, %"
		    PRIu64 " regex limit hits, %" PRIu64 " names over the cap\n",
		    es.rules.requests, es.rules.matched, es.rules.other, es.rules.regex_limit,
		    es.rules.name_overflow);
	if (agg) {
		struct am_agg_stats as;
		am_agg_stats(agg, &as);
		fprintf(stderr, "  store: %" PRIu64 " intervals written, %" PRIu64 " keys (%" PRIu64
		    " transactions in overflow keys), %" PRIu64 " flush errors\n",
		    as.intervals, as.keys_total, as.overflow, as.flush_errors);
	}
}

/* Loads the configuration named by -c, or the shipped default when there is
 * one.  Returns 0 (rules may stay NULL when there is no default) or -1. */
static int
load_rules(const char *path, int quiet, struct am_config **out)
{
	struct am_diags diags;
	struct stat sb;
	int explicit_path = path != NULL;

	*out = NULL;
	if (path == NULL) {
		path = am_config_default_path();
		if (stat(path, &sb) < 0) {
			if (!quiet)
				fprintf(stderr, "artmon read: no default configuration at %s (set ARTMON_CONF or use -c); "
				    "measuring without rules\n", path);
			return 0;
		}
	}
	am_diags_init(&diags);
	*out = am_config_load_checked(path, 0, &diags);
	if (*out == NULL || (diags.warnings && !quiet) || diags.errors)
		am_diags_print(&diags, stderr);
	am_diags_free(&diags);
	if (*out == NULL) {
		fprintf(stderr, "artmon read: %s: configuration has errors%s\n", path,
		    explicit_path ? "" : " (the default configuration)");
		return -1;
	}
	return 0;
}

int
cmd_read(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "records", required_argument, NULL, 'R' },
		{ "format", required_argument, NULL, 'F' },
		{ "filter", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 4 },
		{ "no-rules", no_argument, NULL, 5 },
		{ "no-unclaimed", no_argument, NULL, 6 },
		{ "filter-set", required_argument, NULL, 7 },
		{ "top", required_argument, NULL, 8 },
		{ "midstream", no_argument, NULL, 1 },
		{ "max-sessions", required_argument, NULL, 2 },
		{ "max-pending", required_argument, NULL, 9 },
		{ "quiet-ms", required_argument, NULL, 3 },
		{ "debug", required_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct readctx *r = am_xcalloc(1, sizeof(*r));
	struct am_source_opts so;
	struct am_engine_cfg ec;
	enum am_fmt fmt = FMT_TEXT;
	char **files = am_xcalloc((size_t)argc + 1, sizeof(char *));
	const char *config = NULL, *store_dir = NULL;
	int nfiles = 0, quiet = 0, ch, rc = 0, no_rules = 0, top_given = 0, no_unclaimed = 0, midstream = 0;
	uint32_t max_sessions = 0, interval_s = 0, max_pending = 0;
	int64_t quiet_us = -1;
	char *end;
	struct am_config *rules = NULL;
	struct am_store *store = NULL;
	struct am_agg *agg = NULL;
	struct am_source *src = NULL;
	struct am_engine *eng = NULL;
	struct am_census_spec spec = { 0 };
	struct am_census_filter *conf_filters = NULL;   /* the configuration's, when no --filter-set */
	struct am_census_cfg cc;

	am_source_opts_default(&so);
	am_census_cfg_default(&cc);
	r->rec = REC_TXN;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "R:F:r:b:c:s:D:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'R':
			if (strcmp(optarg, "transactions") == 0)
				r->rec = REC_TXN;
			else if (strcmp(optarg, "connections") == 0)
				r->rec = REC_CONN;
			else if (strcmp(optarg, "summary") == 0)
				r->rec = REC_SUMMARY;
			else if (strcmp(optarg, "adu") == 0)
				r->rec = REC_ADU;
			else if (strcmp(optarg, "handshakes") == 0)
				r->rec = REC_HANDSHAKE;
			else if (strcmp(optarg, "icmp") == 0)
				r->rec = REC_ICMP;
			else if (strcmp(optarg, "filters") == 0)
				r->rec = REC_FILTERS;
			else if (strcmp(optarg, "topn") == 0)
				r->rec = REC_TOPN;
			else {
				fprintf(stderr, "artmon read: unknown record kind \"%s\" (transactions, connections, summary, adu, handshakes, filters, topn, icmp)\n", optarg);
				rc = 2;
				goto out;
			}
			break;
		case 'F':
			if (am_fmt_parse(optarg, &fmt) < 0) {
				fprintf(stderr, "artmon read: unknown format \"%s\" (text, csv, json)\n", optarg);
				rc = 2;
				goto out;
			}
			break;
		case 'r':
			files[nfiles++] = optarg;
			break;
		case 'b':
			so.filter = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 's':
			store_dir = optarg;
			break;
		case 1:
			midstream = 1;
			break;
		case 2:
			max_sessions = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || max_sessions == 0) {
				fprintf(stderr, "artmon read: --max-sessions needs a positive number\n");
				rc = 2;
				goto out;
			}
			break;
		case 9:
			max_pending = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || max_pending == 0 || max_pending > AM_TRACKER_MAX_PENDING) {
				fprintf(stderr, "artmon read: --max-pending needs a number from 1 to %d\n",
				    AM_TRACKER_MAX_PENDING);
				rc = 2;
				goto out;
			}
			break;
		case 3:
			quiet_us = (int64_t)strtoul(optarg, &end, 10) * 1000;
			if (*end) {
				fprintf(stderr, "artmon read: --quiet-ms needs a number\n");
				rc = 2;
				goto out;
			}
			break;
		case 4:
			interval_s = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || interval_s < 10 || interval_s > 3600) {
				fprintf(stderr, "artmon read: --interval needs seconds from 10 to 3600\n");
				rc = 2;
				goto out;
			}
			break;
		case 5:
			no_rules = 1;
			break;
		case 6:
			no_unclaimed = 1;
			break;
		case 7: {
			char serr[256];
			if (am_census_spec_parse(&spec, optarg, serr, sizeof(serr)) < 0) {
				fprintf(stderr, "artmon read: %s\n", serr);
				rc = 2;
				goto out;
			}
			break;
		}
		case 8:
			top_given = 1;
			cc.top.n = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || cc.top.n == 0 || cc.top.n > 1000) {
				fprintf(stderr, "artmon read: --top needs a number from 1 to 1000\n");
				rc = 2;
				goto out;
			}
			break;
		case 'D':
			log_set_debug_tokens(optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			read_usage(stdout);
			goto out;
		default:
			read_usage(stderr);
			rc = 2;
			goto out;
		}
	}
	for (int i = optind; i < argc; i++)
		files[nfiles++] = argv[i];
	if (nfiles == 0) {
		fprintf(stderr, "artmon read: no capture file given\n");
		read_usage(stderr);
		rc = 2;
		goto out;
	}
	r->sum_interval = (int64_t)interval_s * AM_USEC;
	if (!no_rules && load_rules(config, quiet, &rules) < 0) {
		rc = 1;
		goto out;
	}

	am_engine_cfg_default(&ec);
	if (rules)
		am_engine_cfg_from_rules(&ec, rules);
	if (midstream)
		ec.tracker.wait_for_syn = 0;
	if (max_sessions)
		ec.tracker.max_sessions = max_sessions;
	if (max_pending)
		ec.tracker.max_pending = max_pending;
	if (quiet_us >= 0)
		ec.tracker.quiet = quiet_us;
	if (no_unclaimed)
		ec.measure_unclaimed = 0;
	ec.want_adu = r->rec == REC_ADU;

	char err[512];
	src = am_source_open_files(files, nfiles, &so, err, sizeof(err));
	if (src == NULL) {
		fprintf(stderr, "artmon read: %s\n", err);
		rc = 1;
		goto out;
	}
	if (store_dir) {
		struct am_store_cfg stc;
		am_store_cfg_default(&stc);
		if (interval_s)
			stc.interval_s = interval_s;
		else if (rules && rules->set.interval > 0)
			stc.interval_s = (uint32_t)(rules->set.interval / AM_USEC);
		if (mkdir(store_dir, 0750) < 0 && errno != EEXIST) {
			fprintf(stderr, "artmon read: %s: %s\n", store_dir, strerror(errno));
			rc = 1;
			goto out;
		}
		store = am_store_open(store_dir, &stc, AM_STORE_RDWR, err, sizeof(err));
		if (store == NULL) {
			fprintf(stderr, "artmon read: %s: %s\n", store_dir, err);
			rc = 1;
			goto out;
		}
		struct am_agg_cfg ac;
		am_agg_cfg_default(&ac);
		if (rules && rules->set.max_keys)
			ac.max_keys = rules->set.max_keys;
		agg = am_agg_new(&ac, store);
		if (agg == NULL) {
			fprintf(stderr, "artmon read: %s: cannot aggregate into this store\n", store_dir);
			rc = 1;
			goto out;
		}
	}

	if (r->rec == REC_FILTERS || r->rec == REC_TOPN || spec.n > 0) {
		struct am_source_stats ss;
		am_source_stats(src, 0, &ss);
		cc.filters = spec.filters;
		cc.nfilters = spec.n;
		cc.dlt = ss.dlt;
		/* Without --filter-set, the configuration's filter sets; its
		 * top_n and top_capacity unless --top was given. */
		if (rules != NULL) {
			const struct am_settings *set = &rules->set;
			if (spec.n == 0 && set->nfilters > 0) {
				conf_filters = am_census_filters_from_config(rules);
				cc.filters = conf_filters;
				cc.nfilters = set->nfilters;
			}
			if (!top_given && set->top_n > 0) {
				cc.top.n = set->top_n;
				cc.top.capacity = set->top_capacity;
			}
		}
		r->census = am_census_new(&cc, err, sizeof(err));
		if (r->census == NULL) {
			fprintf(stderr, "artmon read: %s\n", err);
			rc = 2;
			goto out;
		}
	}

	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	out_init(&r->out, stdout, fmt);
	r->seed = am_random_seed();

	struct am_engine_cb cb = { .ctx = r, .txn = cb_txn, .conn_end = cb_conn_end, .adu = cb_adu,
		.handshake = cb_handshake };
	eng = am_engine_new(&ec, rules, agg, &cb);
	int show = !quiet && isatty(2);
	am_time_t start = am_now_mono(), last_prog = start;
	struct am_frame f;
	int got;
	uint64_t n = 0;

	while ((got = am_source_next(src, &f)) == AM_SRC_PACKET) {
		am_engine_frame(eng, &f);
		if (r->census)
			am_census_frame(r->census, &f, NULL);
		if (show && (++n & 0xffff) == 0) {
			am_time_t now = am_now_mono();
			if (now - last_prog > 500000) {
				progress(src, n, start, 0);
				last_prog = now;
			}
		}
	}
	if (show)
		progress(src, n, start, 1);
	if (got == AM_SRC_ERROR) {
		fprintf(stderr, "artmon read: %s\n", am_source_error(src));
		rc = 1;
	}
	if (am_engine_finish(eng) < 0) {
		fprintf(stderr, "artmon read: %s: writing the store failed\n", store_dir);
		rc = 1;
	}
	if (r->rec == REC_SUMMARY)
		write_summary(r);
	if (r->rec == REC_ICMP)
		write_icmp(r, eng);
	if (r->census) {
		am_census_interval(r->census);
		if (r->rec == REC_FILTERS)
			am_census_print(r->census, stdout, (int)fmt);
		else if (r->rec == REC_TOPN)
			am_census_print_topn(r->census, stdout, (int)fmt);
	}
	fflush(stdout);
	if (!quiet)
		print_counters(src, eng, agg);
	if (ferror(stdout)) {
		fprintf(stderr, "artmon read: error writing output\n");
		rc = 1;
	}
out:
	am_engine_free(eng);
	am_census_free(r->census);
	am_census_spec_free(&spec);
	free(conf_filters);
	am_agg_free(agg);
	if (store)
		am_store_close(store);
	am_source_close(src);
	am_config_free(rules);
	sum_free(r);
	free(files);
	free(r);
	return rc;
}
