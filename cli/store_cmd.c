/* artmon store: what an artmon store holds (keys, signatures, intervals). */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/out.h"
#include "common/addr.h"
#include "common/util.h"
#include "store/store.h"

static void
store_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: artmon store -s DIR [list|show|info] [options]\n"
	    "Show what an artmon store holds.\n\n"
	    "  list                 keys (with their ids and totals) and signatures (default)\n"
	    "  show                 one record per key and interval\n"
	    "  info                 the store's settings and health counters\n\n"
	    "  -s, --store DIR      the store directory (required)\n"
	    "  -F, --format FMT     text (default), csv or json (JSON Lines)\n"
	    "  -l, --level N        show: 1 intervals (default) or 2 rollups\n"
	    "      --from T         show: intervals starting at or after T\n"
	    "      --to T           show: intervals starting before T\n"
	    "  -k, --key ID         show: only this key id\n"
	    "      --server ADDR    show: only keys of this server address\n"
	    "      --port N         show: only keys of this server port\n"
	    "      --signature NAME show: only keys of this signature\n"
	    "  -h, --help           this help\n\n"
	    "T is epoch seconds or a UTC date and time: 2026-11-22, 2026-11-22T15:00:00Z.\n"
	    "Timings are microseconds; a timing with no values is null.\n");
}

/* Days since 1970-01-01 of a proleptic Gregorian date (no time zone). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Epoch seconds ("1700000000", "1700000000.5") or an ISO 8601 UTC date and
 * time ("2023-11-14", "2023-11-14T22:13:20Z", "2023-11-14 22:13"). */
static int
parse_time(const char *s, am_time_t *out)
{
	int y, mo, d, h = 0, mi = 0, n = 0;
	double sec = 0;
	char *end;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) {
		const char *p = s + 10;
		if (*p == 'T' || *p == ' ') {
			int m = 0;
			if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5)
				return -1;
			p += 1 + m;
			if (*p == ':') {
				sec = strtod(p + 1, &end);
				if (end == p + 1)
					return -1;
				p = end;
			}
		}
		if (*p == 'Z')
			p++;
		if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61)
			return -1;
		*out = (days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60) * AM_USEC +
		    (am_time_t)(sec * AM_USEC + 0.5);
		return 0;
	}
	sec = strtod(s, &end);
	if (end == s || *end || sec < 0 || sec > 1e11)
		return -1;
	*out = (am_time_t)(sec * AM_USEC + 0.5);
	return 0;
}

static const char *
by_name(uint8_t by)
{
	return by == AM_BY_CLIENT ? "client" : by == AM_BY_CLIENT_PORT ? "client_port" : "server";
}

static void
out_key(struct am_out *o, const struct am_key_info *ki)
{
	char a[AM_ADDRSTRLEN];
	const struct am_agg_key *k = &ki->key;

	out_u64(o, "key_id", ki->id, 4);
	out_str(o, "server", k->server.family ? am_addr_fmt(&k->server, a, sizeof(a)) :
	    k->overflow ? "(overflow)" : "", 15);
	out_u64(o, "server_port", k->server_port, 5);
	out_str(o, "client", k->client.family ? am_addr_fmt(&k->client, a, sizeof(a)) : "", 6);
	out_opt(o, "client_port", k->by == AM_BY_CLIENT_PORT ? k->client_port : -1, 5);
	out_str(o, "signature", k->signature, 12);
}

static int
do_list(struct am_store *st, enum am_fmt fmt)
{
	struct am_out o;
	struct am_key_info ki;
	struct am_totals t;
	uint32_t id = 0;
	char name[AM_NAME_MAX];
	int r;

	out_init(&o, stdout, fmt);
	while ((r = am_store_key_next(st, id, &ki)) == 0) {
		id = ki.id;
		if (am_store_totals(st, id, &t) < 0)
			memset(&t, 0, sizeof(t));
		out_begin(&o);
		if (fmt == FMT_JSON)
			out_str(&o, "type", "key", 0);
		out_key(&o, &ki);
		out_u64(&o, "sig_id", ki.sig_id, 3);
		out_str(&o, "summarise_by", by_name(ki.key.by), 6);
		out_str(&o, "rule", ki.key.rule, 8);
		out_u64(&o, "count", t.count, 8);
		out_time(&o, "first_seen", t.first_seen, 17);
		out_time(&o, "last_seen", t.last_seen, 17);
		out_end(&o);
	}
	if (r < 0)
		return -1;
	if (fmt != FMT_JSON && id)
		fputc('\n', stdout);
	out_init(&o, stdout, fmt);
	id = 0;
	while ((r = am_store_sig_next(st, id, &id, name, sizeof(name))) == 0) {
		out_begin(&o);
		if (fmt == FMT_JSON)
			out_str(&o, "type", "signature", 0);
		out_u64(&o, "sig_id", id, 6);
		out_str(&o, "signature", name, 0);
		out_end(&o);
	}
	return r < 0 ? -1 : 0;
}

static void
out_rec(struct am_out *o, int level, am_time_t start, uint32_t len, const struct am_key_info *ki,
    const struct am_rec *r)
{
	char name[32];

	out_begin(o);
	out_time(o, "interval_start", start, 17);
	out_u64(o, "interval_s", len, 4);
	out_u64(o, "level", (uint64_t)level, 1);
	out_key(o, ki);
	out_u64(o, "count", r->count, 6);
	out_u64(o, "resets", r->outcome[AM_OUT_RESET], 3);
	out_u64(o, "timeouts", r->outcome[AM_OUT_TIMEOUT], 3);
	out_u64(o, "incomplete", r->outcome[AM_OUT_INCOMPLETE], 3);
	out_u64(o, "open", r->outcome[AM_OUT_OPEN] + r->outcome[AM_OUT_EVICTED], 3);
	out_u64(o, "req_bytes", r->bytes[0], 8);
	out_u64(o, "resp_bytes", r->bytes[1], 8);
	out_u64(o, "req_pkts", r->pkts[0], 5);
	out_u64(o, "resp_pkts", r->pkts[1], 5);
	out_u64(o, "retrans", r->retrans, 3);
	out_u64(o, "gap_bytes", r->gap_bytes, 5);
	for (int t = 0; t < AM_T__COUNT; t++) {
		const struct am_hist *h = &r->t[t];
		const char *tn = am_timing_name((enum am_timing_id)t);
		int have = h->count > 0;
		snprintf(name, sizeof(name), "%s_n", tn);
		out_u64(o, name, h->count, 4);
		snprintf(name, sizeof(name), "%s_min_us", tn);
		out_opt(o, name, have ? (int64_t)h->min : -1, 7);
		snprintf(name, sizeof(name), "%s_mean_us", tn);
		out_opt(o, name, have ? (int64_t)(am_hist_mean(h) + 0.5) : -1, 7);
		snprintf(name, sizeof(name), "%s_p50_us", tn);
		out_opt(o, name, have ? (int64_t)am_hist_quantile(h, 0.50) : -1, 7);
		snprintf(name, sizeof(name), "%s_p90_us", tn);
		out_opt(o, name, have ? (int64_t)am_hist_quantile(h, 0.90) : -1, 7);
		snprintf(name, sizeof(name), "%s_p99_us", tn);
		out_opt(o, name, have ? (int64_t)am_hist_quantile(h, 0.99) : -1, 7);
		snprintf(name, sizeof(name), "%s_max_us", tn);
		out_opt(o, name, have ? (int64_t)h->max : -1, 7);
	}
	out_end(o);
}

struct filter {
	int have_server;
	struct am_addr server;
	int port;                 /* -1 any */
	const char *signature;    /* NULL any */
};

static int
wanted(const struct filter *f, const struct am_agg_key *k)
{
	if (f->have_server && am_addr_cmp(&f->server, &k->server) != 0)
		return 0;
	if (f->port >= 0 && k->server_port != f->port)
		return 0;
	if (f->signature && strcmp(f->signature, k->signature) != 0)
		return 0;
	return 1;
}

struct show {
	struct am_out o;
	int level;
	uint32_t len;
	struct am_key_info **keys;   /* index: key id; NULL when filtered out */
	uint32_t nkeys;
};

static int
show_rec(void *ctx, am_time_t start, uint32_t id, const struct am_rec *r)
{
	struct show *sh = ctx;

	if (id < sh->nkeys && sh->keys[id])
		out_rec(&sh->o, sh->level, start, sh->len, sh->keys[id], r);
	return 0;
}

/* Records come in (interval, key id) order, as the store keeps them. */
static int
do_show(struct am_store *st, enum am_fmt fmt, int level, am_time_t from, am_time_t to, uint32_t only,
    const struct filter *f)
{
	struct am_store_info info;
	struct show sh;
	struct am_key_info ki;
	uint32_t id = 0;
	int kr, r;

	am_store_info(st, &info);
	memset(&sh, 0, sizeof(sh));
	sh.level = level;
	sh.len = level == 2 ? info.rollup_s : info.interval_s;
	sh.nkeys = info.keys + 1;
	sh.keys = am_xcalloc(sh.nkeys, sizeof(*sh.keys));
	while ((kr = am_store_key_next(st, id, &ki)) == 0) {
		id = ki.id;
		if (id >= sh.nkeys || (only && id != only) || !wanted(f, &ki.key))
			continue;
		sh.keys[id] = am_xmalloc(sizeof(ki));
		*sh.keys[id] = ki;
	}
	r = kr < 0 ? -1 : 0;
	if (r == 0 && only && (only >= sh.nkeys || sh.keys[only] == NULL) &&
	    am_store_key_get(st, only, &ki) != 0) {
		fprintf(stderr, "artmon store: no key %u\n", only);
		r = -1;
	}
	if (r == 0) {
		out_init(&sh.o, stdout, fmt);
		r = am_store_rec_walk(st, level, from, to, show_rec, &sh) < 0 ? -1 : 0;
	}
	for (id = 0; id < sh.nkeys; id++)
		free(sh.keys[id]);
	free(sh.keys);
	return r;
}

static int
do_info(struct am_store *st, enum am_fmt fmt)
{
	struct am_store_info i;
	struct am_out o;

	am_store_info(st, &i);
	out_init(&o, stdout, fmt);
	out_begin(&o);
	out_u64(&o, "format", i.format, 0);
	out_u64(&o, "interval_s", i.interval_s, 0);
	out_u64(&o, "rollup_s", i.rollup_s, 0);
	out_u64(&o, "keys", i.keys, 0);
	out_u64(&o, "signatures", i.sigs, 0);
	out_time(&o, "created", i.created, 0);
	out_time(&o, "flushed", i.flushed_clock, 0);
	out_time(&o, "newest_interval", i.newest1, 0);
	out_time(&o, "newest_rollup", i.newest2, 0);
	out_time(&o, "discontinuity", i.discontinuity, 0);
	out_u64(&o, "unclean_stops", i.unclean_stops, 0);
	out_u64(&o, "flushes", i.flushes, 0);
	out_u64(&o, "pruned_intervals", i.pruned1, 0);
	out_u64(&o, "pruned_rollups", i.pruned2, 0);
	out_u64(&o, "pruned_map_full", i.pruned_full, 0);
	out_u64(&o, "map_full", i.map_full, 0);
	out_u64(&o, "errors", i.errors, 0);
	out_u64(&o, "lost_flushes", i.lost, 0);
	out_u64(&o, "map_size", i.map_size, 0);
	out_u64(&o, "map_used", i.map_used, 0);
	out_end(&o);
	return 0;
}

int
cmd_store(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'F' },
		{ "level", required_argument, NULL, 'l' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ "server", required_argument, NULL, 1 },
		{ "port", required_argument, NULL, 2 },
		{ "signature", required_argument, NULL, 3 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *what = "list";
	enum am_fmt fmt = FMT_TEXT;
	int level = 1, ch, r;
	am_time_t from = 0, to = INT64_MAX;
	unsigned long key = 0, port;
	struct filter filt = { 0, { 0, { 0 } }, -1, NULL };
	struct am_store *st;
	char err[512], *end;

	/* GNU getopt permutes: options may come before or after the action */
	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:F:l:k:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			dir = optarg;
			break;
		case 'F':
			if (am_fmt_parse(optarg, &fmt) < 0) {
				fprintf(stderr, "artmon store: unknown format \"%s\" (text, csv, json)\n", optarg);
				return 2;
			}
			break;
		case 'l':
			if (strcmp(optarg, "1") && strcmp(optarg, "2")) {
				fprintf(stderr, "artmon store: --level is 1 or 2\n");
				return 2;
			}
			level = optarg[0] - '0';
			break;
		case 'f':
		case 't':
			if (parse_time(optarg, ch == 'f' ? &from : &to) < 0) {
				fprintf(stderr, "artmon store: bad time \"%s\" (epoch seconds or 2026-11-22T15:00:00Z)\n",
				    optarg);
				return 2;
			}
			break;
		case 'k':
			key = strtoul(optarg, &end, 10);
			if (*end || key == 0 || key > UINT32_MAX) {
				fprintf(stderr, "artmon store: bad key id \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 1:
			if (am_addr_parse(optarg, &filt.server) < 0) {
				fprintf(stderr, "artmon store: bad address \"%s\"\n", optarg);
				return 2;
			}
			filt.have_server = 1;
			break;
		case 2:
			port = strtoul(optarg, &end, 10);
			if (*end || end == optarg || port > 65535) {
				fprintf(stderr, "artmon store: bad port \"%s\"\n", optarg);
				return 2;
			}
			filt.port = (int)port;
			break;
		case 3:
			filt.signature = optarg;
			break;
		case 'h':
			store_usage(stdout);
			return 0;
		default:
			store_usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		what = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "artmon store: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (strcmp(what, "list") && strcmp(what, "show") && strcmp(what, "info")) {
		fprintf(stderr, "artmon store: unknown action \"%s\" (list, show, info)\n", what);
		store_usage(stderr);
		return 2;
	}
	if (dir == NULL) {
		fprintf(stderr, "artmon store: -s DIR is required\n");
		store_usage(stderr);
		return 2;
	}
	st = am_store_open(dir, NULL, AM_STORE_RDONLY, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "artmon store: %s\n", err);
		return 1;
	}
	if (strcmp(what, "show") == 0)
		r = do_show(st, fmt, level, from, to, (uint32_t)key, &filt);
	else if (strcmp(what, "info") == 0)
		r = do_info(st, fmt);
	else
		r = do_list(st, fmt);
	am_store_close(st);
	if (r < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "artmon store: failed reading %s\n", dir);
		return 1;
	}
	return 0;
}
