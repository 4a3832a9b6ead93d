/* Traffic census: filter-set counters, hardwired counters, top-N tables.
 *
 * Each frame is first read by a small bounds-checked header walk of its own
 * (link cast, IP version, source and destination, protocol): the hardwired
 * counters and the talker tables need ICMP, fragments and non-IP frames,
 * which the decoder does not hand on.  Filter expressions then run on the
 * raw frame with pcap_offline_filter, or on the decoded packet (fast path)
 * when the expression is simple and the frame has a layout on which the two
 * are known to agree. */
#include "config.h"
#include "capture/census.h"
#include "capture/tracker.h"
#include "common/addr.h"
#include "common/util.h"

#include <pcap/pcap.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

#define MAX_DLTS 8          /* link types with compiled programs */
#define SNAP_MAX 262144

/* ---- configuration ---- */

void
am_census_cfg_default(struct am_census_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dlt = DLT_EN10MB;
	cfg->fastpath = 1;
	cfg->topn = 1;
	am_topn_cfg_default(&cfg->top);
	cfg->p99_min = 10;
}

static void
seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int
name_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

static char *
strndup_trim(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	char *r = am_xmalloc(n + 1);
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

static void
spec_push(struct am_census_spec *spec, char *set, char *label, char *expr)
{
	if (spec->n == spec->cap) {
		spec->cap = spec->cap ? spec->cap * 2 : 8;
		spec->filters = am_xrealloc(spec->filters, spec->cap * sizeof(*spec->filters));
	}
	spec->filters[spec->n].set = set;
	spec->filters[spec->n].label = label;
	spec->filters[spec->n].expr = expr;
	spec->n++;
}

int
am_census_spec_parse(struct am_census_spec *spec, const char *arg, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':');

	if (colon == NULL) {
		seterr(err, errlen, "filter set '%s': expected SET:LABEL=EXPR[,LABEL=EXPR...]", arg);
		return -1;
	}
	char *set = strndup_trim(arg, (size_t)(colon - arg));
	if (!name_ok(set, strlen(set))) {
		seterr(err, errlen, "filter set '%s': the set name must be letters, digits, '_', '.' or '-'", set);
		free(set);
		return -1;
	}
	if (strncmp(set, "hw.", 3) == 0) {
		seterr(err, errlen, "filter set '%s': names starting with 'hw.' are reserved", set);
		free(set);
		return -1;
	}
	for (size_t i = 0; i < spec->n; i++) {
		if (strcmp(spec->filters[i].set, set) == 0) {
			seterr(err, errlen, "filter set '%s' given twice", set);
			free(set);
			return -1;
		}
	}
	size_t first = spec->n;
	const char *p = colon + 1;
	for (;;) {
		const char *end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL) {
			seterr(err, errlen, "filter set '%s': '%.*s' is not LABEL=EXPR", set, (int)(end - p), p);
			goto fail;
		}
		char *label = strndup_trim(p, (size_t)(eq - p));
		char *expr = strndup_trim(eq + 1, (size_t)(end - eq - 1));
		if (!name_ok(label, strlen(label))) {
			seterr(err, errlen, "filter set '%s': label '%s' must be letters, digits, '_', '.' or '-'", set, label);
			free(label);
			free(expr);
			goto fail;
		}
		if (expr[0] == '\0') {
			seterr(err, errlen, "filter set '%s': label '%s' has an empty expression", set, label);
			free(label);
			free(expr);
			goto fail;
		}
		for (size_t i = first; i < spec->n; i++) {
			if (strcmp(spec->filters[i].label, label) == 0) {
				seterr(err, errlen, "filter set '%s': label '%s' given twice", set, label);
				free(label);
				free(expr);
				goto fail;
			}
		}
		spec_push(spec, spec->n == first ? set : am_xstrdup(set), label, expr);
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return 0;
fail:
	if (spec->n == first)
		free(set);
	while (spec->n > first) {
		spec->n--;
		free((char *)spec->filters[spec->n].set);
		free((char *)spec->filters[spec->n].label);
		free((char *)spec->filters[spec->n].expr);
	}
	return -1;
}

void
am_census_spec_free(struct am_census_spec *spec)
{
	for (size_t i = 0; i < spec->n; i++) {
		free((char *)spec->filters[i].set);
		free((char *)spec->filters[i].label);
		free((char *)spec->filters[i].expr);
	}
	free(spec->filters);
	memset(spec, 0, sizeof(*spec));
}

/* ---- fast path: simple expressions on the decoded packet ---- */

enum fkind { F_NONE, F_PROTO, F_IPVER, F_HOST, F_NET, F_PORT };
enum { DIR_ANY, DIR_SRC, DIR_DST };

struct fast {
	enum fkind kind;
	uint8_t proto;            /* F_PROTO, F_PORT: 0 any */
	uint8_t ipver;            /* F_IPVER */
	int dir;
	struct am_addr addr;      /* F_HOST, F_NET */
	unsigned bits;
	uint16_t port;
};

static int
parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (const char *q = s; *q; q++) {
		if (!isdigit((unsigned char)*q))
			return -1;
		v = v * 10 + (unsigned long)(*q - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Recognises `[tcp|udp] [src|dst] port N`, `[src|dst] host ADDR`,
 * `[src|dst] net ADDR/BITS`, `tcp`, `udp`, `ip`, `ip6`; anything else
 * (names, `and`, `or`, ...) is left to the interpreter. */
static int
fast_parse(const char *expr, struct fast *f)
{
	char buf[256], *tok[5], *save = NULL;
	int n = 0, i = 0;

	memset(f, 0, sizeof(*f));
	if (strlen(expr) >= sizeof(buf))
		return 0;
	strcpy(buf, expr);
	for (char *t = strtok_r(buf, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		if (n == 5)
			return 0;
		tok[n++] = t;
	}
	if (n == 0)
		return 0;
	if (n == 1) {
		if (strcmp(tok[0], "tcp") == 0 || strcmp(tok[0], "udp") == 0) {
			f->kind = F_PROTO;
			f->proto = tok[0][0] == 't' ? AM_IPPROTO_TCP : AM_IPPROTO_UDP;
			return 1;
		}
		if (strcmp(tok[0], "ip") == 0 || strcmp(tok[0], "ip6") == 0) {
			f->kind = F_IPVER;
			f->ipver = tok[0][2] == '6' ? AM_AF_INET6 : AM_AF_INET;
			return 1;
		}
		return 0;
	}
	if (strcmp(tok[i], "tcp") == 0 || strcmp(tok[i], "udp") == 0) {
		f->proto = tok[i][0] == 't' ? AM_IPPROTO_TCP : AM_IPPROTO_UDP;
		i++;
	}
	if (i < n && strcmp(tok[i], "src") == 0) {
		f->dir = DIR_SRC;
		i++;
	} else if (i < n && strcmp(tok[i], "dst") == 0) {
		f->dir = DIR_DST;
		i++;
	}
	if (i + 2 != n)
		return 0;
	const char *kw = tok[i], *val = tok[i + 1];
	if (strcmp(kw, "port") == 0) {
		if (parse_port(val, &f->port) != 0)
			return 0;
		f->kind = F_PORT;
		return 1;
	}
	if (f->proto != 0)
		return 0;                 /* "tcp host" and the like: interpreter */
	if (strcmp(kw, "host") == 0) {
		if (am_addr_parse(val, &f->addr) != 0)
			return 0;
		f->kind = F_HOST;
		return 1;
	}
	if (strcmp(kw, "net") == 0) {
		char a[128];
		const char *slash = strchr(val, '/');
		unsigned long bits;
		char *end;
		if (slash == NULL || (size_t)(slash - val) >= sizeof(a))
			return 0;
		memcpy(a, val, (size_t)(slash - val));
		a[slash - val] = '\0';
		if (am_addr_parse(a, &f->addr) != 0 || !isdigit((unsigned char)slash[1]))
			return 0;
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || bits > (f->addr.family == AM_AF_INET ? 32u : 128u))
			return 0;
		f->bits = (unsigned)bits;
		f->kind = F_NET;
		return 1;
	}
	return 0;
}

static int
addr_match(const struct fast *f, const struct am_addr *a)
{
	if (a->family != f->addr.family)
		return 0;
	if (f->kind == F_HOST)
		return memcmp(a->a, f->addr.a, 16) == 0;
	return am_addr_in_prefix(a, &f->addr, f->bits);
}

static int
fast_eval(const struct fast *f, const struct am_packet *p)
{
	switch (f->kind) {
	case F_PROTO:
		return p->proto == f->proto;
	case F_IPVER:
		return p->src.family == f->ipver;
	case F_HOST:
	case F_NET:
		return (f->dir != DIR_DST && addr_match(f, &p->src)) ||
		    (f->dir != DIR_SRC && addr_match(f, &p->dst));
	case F_PORT:
		if (f->proto != 0 && p->proto != f->proto)
			return 0;
		return (f->dir != DIR_DST && p->sport == f->port) ||
		    (f->dir != DIR_SRC && p->dport == f->port);
	default:
		return 0;
	}
}

/* ---- the census ---- */

struct flt {
	char *label, *expr;
	struct am_census_counter cnt;
	struct fast fast;
	int has_fast;
	struct bpf_program prog[MAX_DLTS];
	uint8_t prog_ok[MAX_DLTS];
};

struct set {
	char *name;
	size_t first, n;         /* range in flts */
};

struct am_census {
	struct am_census_cfg cfg;
	struct flt *flts;
	size_t nflts;
	struct set *sets;
	size_t nsets;
	size_t nfast;            /* filters with a fast form */
	int dlts[MAX_DLTS];
	size_t ndlts;
	int dlt_cache_dlt;       /* last link type looked up */
	int dlt_cache_idx;
	struct am_census_counter hw[AM_HW__COUNT];
	struct am_topn *top[AM_TOP__COUNT];
	struct am_census_stats st;
};

/* Index of dlt's programs, compiling them on first use; -1 when the table of
 * link types is full.  Errors are counted (and returned for the first dlt). */
static int
dlt_index(struct am_census *c, int dlt, char *err, size_t errlen)
{
	if (c->ndlts > 0 && dlt == c->dlt_cache_dlt)
		return c->dlt_cache_idx;
	for (size_t i = 0; i < c->ndlts; i++) {
		if (c->dlts[i] == dlt) {
			c->dlt_cache_dlt = dlt;
			c->dlt_cache_idx = (int)i;
			return (int)i;
		}
	}
	if (c->ndlts == MAX_DLTS)
		return -1;
	size_t di = c->ndlts++;
	c->dlts[di] = dlt;
	int failed = 0;
	pcap_t *pd = pcap_open_dead(dlt, SNAP_MAX);
	for (size_t s = 0; s < c->nsets; s++) {
		for (size_t j = c->sets[s].first; j < c->sets[s].first + c->sets[s].n; j++) {
			struct flt *f = &c->flts[j];
			if (pd != NULL && pcap_compile(pd, &f->prog[di], f->expr, 1, PCAP_NETMASK_UNKNOWN) == 0) {
				f->prog_ok[di] = 1;
				continue;
			}
			c->st.compile_errors++;
			if (!failed)
				seterr(err, errlen, "filter set '%s', label '%s': %s", c->sets[s].name, f->label,
				    pd ? pcap_geterr(pd) : "pcap_open_dead failed");
			failed = 1;
		}
	}
	if (pd != NULL)
		pcap_close(pd);
	c->dlt_cache_dlt = dlt;
	c->dlt_cache_idx = (int)di;
	return failed ? -2 - (int)di : (int)di;
}

struct am_census *
am_census_new(const struct am_census_cfg *cfg, char *err, size_t errlen)
{
	struct am_census *c = am_xcalloc(1, sizeof(*c));

	c->cfg = *cfg;
	c->cfg.filters = NULL;
	if (c->cfg.dlt == 0)
		c->cfg.dlt = DLT_EN10MB;
	/* Group the filters by set, sets in order of first appearance. */
	c->flts = am_xcalloc(cfg->nfilters ? cfg->nfilters : 1, sizeof(*c->flts));
	c->sets = am_xcalloc(cfg->nfilters ? cfg->nfilters : 1, sizeof(*c->sets));
	for (size_t i = 0; i < cfg->nfilters; i++) {
		const struct am_census_filter *in = &cfg->filters[i];
		if (in->set == NULL || in->label == NULL || in->expr == NULL || !in->set[0] || !in->label[0]) {
			seterr(err, errlen, "filter %zu: set, label and expression are required", i + 1);
			goto fail;
		}
		if (strncmp(in->set, "hw.", 3) == 0) {
			seterr(err, errlen, "filter set '%s': names starting with 'hw.' are reserved", in->set);
			goto fail;
		}
		size_t s;
		for (s = 0; s < c->nsets; s++)
			if (strcmp(c->sets[s].name, in->set) == 0)
				break;
		if (s < c->nsets)
			continue;
		c->sets[c->nsets].name = am_xstrdup(in->set);
		c->sets[c->nsets].first = c->nflts;
		for (size_t j = i; j < cfg->nfilters; j++) {
			const struct am_census_filter *g = &cfg->filters[j];
			if (g->set == NULL || strcmp(g->set, in->set) != 0)
				continue;
			for (size_t k = c->sets[c->nsets].first; k < c->nflts; k++) {
				if (g->label && strcmp(c->flts[k].label, g->label) == 0) {
					seterr(err, errlen, "filter set '%s': label '%s' given twice", in->set, g->label);
					c->nsets++;
					goto fail;
				}
			}
			struct flt *f = &c->flts[c->nflts++];
			f->label = am_xstrdup(g->label ? g->label : "");
			f->expr = am_xstrdup(g->expr ? g->expr : "");
			f->has_fast = fast_parse(f->expr, &f->fast);
			c->nfast += f->has_fast != 0;
		}
		c->sets[c->nsets].n = c->nflts - c->sets[c->nsets].first;
		c->nsets++;
	}
	if (c->nflts > 0 && dlt_index(c, c->cfg.dlt, err, errlen) < 0)
		goto fail;
	if (c->cfg.topn) {
		/* The tables keyed by source address share one seed, so that a
		 * packet's key is hashed once for all of them. */
		uint64_t pkt_seed = c->cfg.top.seed != 0 ? c->cfg.top.seed : am_random_seed();
		for (int w = 0; w < AM_TOP__COUNT; w++) {
			struct am_topn_cfg tc = c->cfg.top;
			tc.rank = w == AM_TOP_SRV_P99 ? AM_TOPN_BY_P99 : AM_TOPN_BY_COUNT;
			tc.min_count = c->cfg.p99_min;
			if (w <= AM_TOP_SYN)
				tc.seed = pkt_seed;
			else if (tc.seed != 0)
				tc.seed += (uint64_t)w;
			c->top[w] = am_topn_new(&tc);
			if (c->top[w] == NULL) {
				seterr(err, errlen, "top-N: n must be at least 1 and the capacity between n and %u",
				    1u << 26);
				goto fail;
			}
			c->st.topn_memory += am_topn_memory(c->top[w]);
		}
	}
	return c;
fail:
	am_census_free(c);
	return NULL;
}

void
am_census_free(struct am_census *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nflts; i++) {
		for (size_t d = 0; d < c->ndlts; d++)
			if (c->flts[i].prog_ok[d])
				pcap_freecode(&c->flts[i].prog[d]);
		free(c->flts[i].label);
		free(c->flts[i].expr);
	}
	for (size_t s = 0; s < c->nsets; s++)
		free(c->sets[s].name);
	for (int w = 0; w < AM_TOP__COUNT; w++)
		am_topn_free(c->top[w]);
	free(c->flts);
	free(c->sets);
	free(c);
}

/* ---- the header walk ---- */

enum { CAST_UNKNOWN = -1 };

struct lite {
	int cast;                 /* AM_HW_UNICAST.. or CAST_UNKNOWN */
	int ipver;                /* 0, 4, 6 */
	int tagged;               /* VLAN tag(s) before the network header */
	const uint8_t *src, *dst; /* 4 or 16 bytes */
	uint8_t proto;            /* transport after IPv6 extension headers */
	uint8_t nh0;              /* IPv4 protocol / IPv6 first next header */
	int have_l4;              /* first fragment: l4 points at the transport header */
	const uint8_t *l4;
	uint32_t l4len;
};

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int
cast_of_mac(const uint8_t *m)
{
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (memcmp(m, bc, 6) == 0)
		return AM_HW_BROADCAST;
	return (m[0] & 1) ? AM_HW_MULTICAST : AM_HW_UNICAST;
}

/* want: the version the link layer announced (0: none, as on raw IP).  A
 * header of the other version is not taken as IP: libpcap would read it
 * with the announced version's offsets. */
static void
walk_ip(struct lite *l, const uint8_t *p, uint32_t len, int want)
{
	if (len < 1 || (want != 0 && (p[0] >> 4) != want))
		return;
	if ((p[0] >> 4) == 4) {
		uint32_t hl = (uint32_t)(p[0] & 0x0f) * 4;
		if (len < 20 || hl < 20)
			return;
		l->ipver = 4;
		l->src = p + 12;
		l->dst = p + 16;
		l->proto = l->nh0 = p[9];
		if ((rd16(p + 6) & 0x1fff) == 0 && hl <= len) {
			l->have_l4 = 1;
			l->l4 = p + hl;
			l->l4len = len - hl;
		}
	} else if ((p[0] >> 4) == 6) {
		if (len < 40)
			return;
		l->ipver = 6;
		l->src = p + 8;
		l->dst = p + 24;
		uint8_t nh = l->nh0 = p[6];
		uint32_t off = 40;
		int first = 1;
		for (int n = 0; n < 8; n++) {
			if (nh != 0 && nh != 43 && nh != 60 && nh != 44 && nh != 51)
				break;
			if (off + 8 > len) {
				first = 0;   /* cannot see past it */
				break;
			}
			uint32_t hl;
			if (nh == 44) {
				if ((rd16(p + off + 2) & 0xfff8) != 0)
					first = 0;
				hl = 8;
			} else if (nh == 51) {
				hl = ((uint32_t)p[off + 1] + 2) * 4;
			} else {
				hl = ((uint32_t)p[off + 1] + 1) * 8;
			}
			nh = p[off];
			off += hl;
		}
		l->proto = nh;
		if (first && off <= len) {
			l->have_l4 = 1;
			l->l4 = p + off;
			l->l4len = len - off;
		}
	}
}

static void
walk_ethertype(struct lite *l, const uint8_t *p, uint32_t len, uint16_t type)
{
	for (int depth = 0; type == 0x8100 || type == 0x88a8 || type == 0x9100; depth++) {
		if (depth >= 4 || len < 4)
			return;
		l->tagged = 1;
		type = rd16(p + 2);
		p += 4;
		len -= 4;
	}
	if (type == 0x0800 || type == 0x86dd)
		walk_ip(l, p, len, type == 0x0800 ? 4 : 6);
}

static void
walk(struct lite *l, int dlt, const uint8_t *p, uint32_t len)
{
	memset(l, 0, sizeof(*l));
	l->cast = CAST_UNKNOWN;
	switch (dlt) {
	case DLT_EN10MB:
		if (len < 14)
			return;
		l->cast = cast_of_mac(p);
		walk_ethertype(l, p + 14, len - 14, rd16(p + 12));
		break;
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2: {
		uint32_t hl = dlt == DLT_LINUX_SLL ? 16 : 20;
		if (len < hl)
			return;
		uint16_t pkttype = dlt == DLT_LINUX_SLL ? rd16(p) : p[10];
		if (pkttype == 0 || pkttype == 3)
			l->cast = AM_HW_UNICAST;
		else if (pkttype == 1)
			l->cast = AM_HW_BROADCAST;
		else if (pkttype == 2)
			l->cast = AM_HW_MULTICAST;
		walk_ethertype(l, p + hl, len - hl, dlt == DLT_LINUX_SLL ? rd16(p + 14) : rd16(p));
		break;
	}
	case DLT_NULL:
	case DLT_LOOP:
		if (len < 4)
			return;
		walk_ip(l, p + 4, len - 4, 0);
		break;
	case DLT_RAW:
	case 101:
		walk_ip(l, p, len, 0);
		break;
	case DLT_IPV4:
		walk_ip(l, p, len, 4);
		break;
	case DLT_IPV6:
		walk_ip(l, p, len, 6);
		break;
	default:
		break;
	}
	if (l->cast == CAST_UNKNOWN && l->ipver == 4) {
		static const uint8_t bc[4] = { 255, 255, 255, 255 };
		if (memcmp(l->dst, bc, 4) == 0)
			l->cast = AM_HW_BROADCAST;
		else if ((l->dst[0] & 0xf0) == 0xe0)
			l->cast = AM_HW_MULTICAST;
		else
			l->cast = AM_HW_UNICAST;
	} else if (l->cast == CAST_UNKNOWN && l->ipver == 6) {
		l->cast = l->dst[0] == 0xff ? AM_HW_MULTICAST : AM_HW_UNICAST;
	}
}

/* Link types on which the fast path and libpcap's generated code agree for
 * an untagged IPv4/IPv6 packet (DLT_NULL is excluded: libpcap does not
 * accept Linux's AF_INET6 value there). */
static int
fast_link(int dlt)
{
	return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 ||
	    dlt == DLT_RAW || dlt == 101;
}

static void
count(struct am_census_counter *k, uint32_t bytes)
{
	k->packets++;
	k->bytes += bytes;
}

static size_t
addr_key(uint8_t *key, int ipver, const uint8_t *a)
{
	size_t alen = ipver == 4 ? 4 : 16;

	key[0] = (uint8_t)ipver;
	memcpy(key + 1, a, alen);
	return 1 + alen;
}

void
am_census_frame(struct am_census *c, const struct am_frame *f, const struct am_packet *p)
{
	struct lite l;
	uint32_t wl = f->wirelen;

	c->st.frames++;
	walk(&l, f->dlt, f->data, f->caplen);

	/* hardwired */
	count(&c->hw[l.cast == CAST_UNKNOWN ? AM_HW_CAST_UNKNOWN : l.cast], wl);
	if (l.ipver == 4 || l.ipver == 6) {
		count(&c->hw[l.ipver == 4 ? AM_HW_IPV4 : AM_HW_IPV6], wl);
		if (l.proto == 6)
			count(&c->hw[AM_HW_TCP], wl);
		else if (l.proto == 17)
			count(&c->hw[AM_HW_UDP], wl);
		else if (l.proto == 1 || l.proto == 58)
			count(&c->hw[AM_HW_ICMP], wl);
		else
			count(&c->hw[AM_HW_L4_OTHER], wl);
	} else {
		count(&c->hw[AM_HW_NOT_IP], wl);
	}
	enum am_census_hw sz = wl <= 64 ? AM_HW_SIZE_64 : wl <= 127 ? AM_HW_SIZE_127 :
	    wl <= 255 ? AM_HW_SIZE_255 : wl <= 511 ? AM_HW_SIZE_511 : wl <= 1023 ? AM_HW_SIZE_1023 :
	    wl <= 1518 ? AM_HW_SIZE_1518 : AM_HW_SIZE_JUMBO;
	count(&c->hw[sz], wl);

	/* filter sets */
	if (c->nflts > 0) {
		int di = dlt_index(c, f->dlt, NULL, 0);
		if (di < -1)
			di = -2 - di;         /* compiled with errors: run those that did */
		int fast_ok = c->cfg.fastpath && c->nfast > 0 && fast_link(f->dlt) && !l.tagged && l.ipver != 0;
		struct am_packet own;
		if (fast_ok && p == NULL) {
			/* The caller did not decode (or could not): decode here. */
			if (am_decode(f->dlt, f->data, f->caplen, f->wirelen, &own) == AM_DEC_OK)
				p = &own;
		}
		fast_ok = fast_ok && p != NULL && l.nh0 == p->proto;
		struct pcap_pkthdr h;
		memset(&h, 0, sizeof(h));
		h.caplen = f->caplen;
		h.len = f->wirelen;
		for (size_t i = 0; i < c->nflts; i++) {
			struct flt *ft = &c->flts[i];
			int match;
			if (fast_ok && ft->has_fast) {
				c->st.evals_fast++;
				match = fast_eval(&ft->fast, p);
				if (c->cfg.verify && di >= 0 && ft->prog_ok[di]) {
					int m2 = pcap_offline_filter(&ft->prog[di], &h, f->data) != 0;
					if (m2 != match) {
						c->st.verify_mismatch++;
						match = m2;
					}
				}
			} else if (di >= 0 && ft->prog_ok[di]) {
				c->st.evals_bpf++;
				match = pcap_offline_filter(&ft->prog[di], &h, f->data) != 0;
			} else {
				match = 0;
			}
			if (match)
				count(&ft->cnt, wl);
		}
	}

	/* top-N */
	if (!c->cfg.topn || l.ipver == 0)
		return;
	/* One key, hashed once, for the three tables (they share a seed). */
	struct am_topn_key k;
	uint8_t *kb = (uint8_t *)k.w;
	memset(k.w, 0, sizeof(k.w));
	kb[0] = (uint8_t)l.ipver;
	if (l.ipver == 4) {
		memcpy(kb + 1, l.src, 4);
		k.klen = 5;
	} else {
		memcpy(kb + 1, l.src, 16);
		k.klen = 17;
	}
	am_topn_key_seal(c->top[AM_TOP_TALKER_BYTES], &k);
	am_topn_add_key(c->top[AM_TOP_TALKER_BYTES], &k, wl);
	am_topn_add_key(c->top[AM_TOP_TALKER_PKTS], &k, 1);
	if (l.proto == 6 && l.have_l4 && l.l4len >= 14 && (l.l4[13] & (AM_TH_SYN | AM_TH_ACK)) == AM_TH_SYN)
		am_topn_add_key(c->top[AM_TOP_SYN], &k, 1);
}

static size_t
server_key(uint8_t *key, const struct am_conn *conn)
{
	size_t n = addr_key(key, conn->server.family == AM_AF_INET ? 4 : 6, conn->server.a);

	key[n++] = (uint8_t)(conn->server_port >> 8);
	key[n++] = (uint8_t)conn->server_port;
	key[n++] = conn->proto;
	return n;
}

int
am_census_txn_is_error(const struct am_conn *conn, const struct am_txn *txn)
{
	switch (txn->outcome) {
	case AM_OUT_RESET:
	case AM_OUT_TIMEOUT:
	case AM_OUT_INCOMPLETE:
		return 1;
	default:
		break;
	}
	if (conn->proto == AM_IPPROTO_UDP)
		return txn->status > 0;
	return txn->status >= 500;
}

void
am_census_txn(struct am_census *c, const struct am_conn *conn, const struct am_txn *txn)
{
	uint8_t key[AM_TOPN_KEYMAX];
	size_t klen;

	if (!c->cfg.topn)
		return;
	klen = server_key(key, conn);
	am_topn_add(c->top[AM_TOP_SRV_TXN], key, klen, 1);
	if (txn->first >= 0)
		am_topn_add_value(c->top[AM_TOP_SRV_P99], key, klen, (uint64_t)txn->first);
	if (am_census_txn_is_error(conn, txn))
		am_topn_add(c->top[AM_TOP_SRV_ERR], key, klen, 1);
}

void
am_census_interval(struct am_census *c)
{
	for (int w = 0; w < AM_TOP__COUNT; w++)
		if (c->top[w])
			am_topn_close(c->top[w]);
}

/* ---- accessors ---- */

size_t
am_census_nsets(const struct am_census *c)
{
	return c->nsets;
}

const char *
am_census_set_name(const struct am_census *c, size_t set)
{
	return set < c->nsets ? c->sets[set].name : NULL;
}

size_t
am_census_nlabels(const struct am_census *c, size_t set)
{
	return set < c->nsets ? c->sets[set].n : 0;
}

static const struct flt *
flt_at(const struct am_census *c, size_t set, size_t label)
{
	if (set >= c->nsets || label >= c->sets[set].n)
		return NULL;
	return &c->flts[c->sets[set].first + label];
}

const char *
am_census_label(const struct am_census *c, size_t set, size_t label)
{
	const struct flt *f = flt_at(c, set, label);
	return f ? f->label : NULL;
}

const char *
am_census_expr(const struct am_census *c, size_t set, size_t label)
{
	const struct flt *f = flt_at(c, set, label);
	return f ? f->expr : NULL;
}

const struct am_census_counter *
am_census_count(const struct am_census *c, size_t set, size_t label)
{
	const struct flt *f = flt_at(c, set, label);
	return f ? &f->cnt : NULL;
}

static const char *const hw_group[AM_HW__COUNT] = {
	"cast", "cast", "cast", "cast", "ip", "ip", "ip", "l4", "l4", "l4", "l4",
	"size", "size", "size", "size", "size", "size", "size",
};
static const char *const hw_name[AM_HW__COUNT] = {
	"unicast", "multicast", "broadcast", "unknown", "ipv4", "ipv6", "not_ip",
	"tcp", "udp", "icmp", "other",
	"le64", "65-127", "128-255", "256-511", "512-1023", "1024-1518", "gt1518",
};

const char *
am_census_hw_group(enum am_census_hw h)
{
	return (unsigned)h < AM_HW__COUNT ? hw_group[h] : "?";
}

const char *
am_census_hw_name(enum am_census_hw h)
{
	return (unsigned)h < AM_HW__COUNT ? hw_name[h] : "?";
}

const struct am_census_counter *
am_census_hw_count(const struct am_census *c, enum am_census_hw h)
{
	return (unsigned)h < AM_HW__COUNT ? &c->hw[h] : NULL;
}

static const char *const top_names[AM_TOP__COUNT] = {
	"talkers_bytes", "talkers_packets", "syn_senders", "servers_txns", "servers_p99_first",
	"servers_errors",
};

const char *
am_census_top_name(enum am_census_top which)
{
	return (unsigned)which < AM_TOP__COUNT ? top_names[which] : "?";
}

const struct am_topn *
am_census_topn(const struct am_census *c, enum am_census_top which)
{
	return (unsigned)which < AM_TOP__COUNT ? c->top[which] : NULL;
}

const char *
am_census_key_fmt(enum am_census_top which, const uint8_t *key, size_t klen, char *buf, size_t len)
{
	struct am_addr a;
	char s[AM_ADDRSTRLEN];
	size_t alen;

	memset(&a, 0, sizeof(a));
	if (klen < 1 || (key[0] != 4 && key[0] != 6)) {
		snprintf(buf, len, "?");
		return buf;
	}
	alen = key[0] == 4 ? 4 : 16;
	if (klen < 1 + alen) {
		snprintf(buf, len, "?");
		return buf;
	}
	a.family = key[0] == 4 ? AM_AF_INET : AM_AF_INET6;
	memcpy(a.a, key + 1, alen);
	am_addr_fmt(&a, s, sizeof(s));
	if (which >= AM_TOP_SRV_TXN && klen >= 1 + alen + 3) {
		const uint8_t *q = key + 1 + alen;
		unsigned port = (unsigned)q[0] << 8 | q[1];
		const char *proto = q[2] == AM_IPPROTO_TCP ? "tcp" : q[2] == AM_IPPROTO_UDP ? "udp" : "ip";
		if (a.family == AM_AF_INET6)
			snprintf(buf, len, "[%s]:%u/%s", s, port, proto);
		else
			snprintf(buf, len, "%s:%u/%s", s, port, proto);
	} else {
		snprintf(buf, len, "%s", s);
	}
	return buf;
}

void
am_census_stats(const struct am_census *c, struct am_census_stats *st)
{
	*st = c->st;
}

/* ---- output ---- */

static void
put_str(FILE *fp, int format, const char *s)
{
	if (format == AM_CENSUS_JSON) {
		fputc('"', fp);
		for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
			if (*q == '"' || *q == '\\')
				fprintf(fp, "\\%c", *q);
			else if (*q < 0x20)
				fprintf(fp, "\\u%04x", *q);
			else
				fputc(*q, fp);
		}
		fputc('"', fp);
	} else if (format == AM_CENSUS_CSV && strpbrk(s, ",\"\n") != NULL) {
		fputc('"', fp);
		for (const char *q = s; *q; q++) {
			if (*q == '"')
				fputc('"', fp);
			fputc(*q, fp);
		}
		fputc('"', fp);
	} else {
		fputs(s, fp);
	}
}

static void
print_row(FILE *fp, int format, const char *set, const char *label, const struct am_census_counter *k)
{
	switch (format) {
	case AM_CENSUS_JSON:
		fputs("{\"set\":", fp);
		put_str(fp, format, set);
		fputs(",\"label\":", fp);
		put_str(fp, format, label);
		fprintf(fp, ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}\n", k->packets, k->bytes);
		break;
	case AM_CENSUS_CSV:
		put_str(fp, format, set);
		fputc(',', fp);
		put_str(fp, format, label);
		fprintf(fp, ",%" PRIu64 ",%" PRIu64 "\n", k->packets, k->bytes);
		break;
	default:
		fprintf(fp, "%-16s %-16s %14" PRIu64 " %16" PRIu64 "\n", set, label, k->packets, k->bytes);
		break;
	}
}

void
am_census_print(const struct am_census *c, FILE *fp, int format)
{
	if (format == AM_CENSUS_CSV)
		fputs("set,label,packets,bytes\n", fp);
	else if (format != AM_CENSUS_JSON)
		fprintf(fp, "%-16s %-16s %14s %16s\n", "set", "label", "packets", "bytes");
	for (size_t s = 0; s < c->nsets; s++)
		for (size_t j = 0; j < c->sets[s].n; j++)
			print_row(fp, format, c->sets[s].name, c->flts[c->sets[s].first + j].label,
			    &c->flts[c->sets[s].first + j].cnt);
	for (int h = 0; h < AM_HW__COUNT; h++) {
		char set[16];
		snprintf(set, sizeof(set), "hw.%s", hw_group[h]);
		print_row(fp, format, set, hw_name[h], &c->hw[h]);
	}
}

void
am_census_print_topn(const struct am_census *c, FILE *fp, int format)
{
	if (format == AM_CENSUS_CSV)
		fputs("table,rank,key,count,error,p99_us,guaranteed\n", fp);
	else if (format != AM_CENSUS_JSON)
		fprintf(fp, "%-18s %4s %-40s %14s %12s %10s %s\n", "table", "rank", "key", "count", "error", "p99_us",
		    "sure");
	for (int w = 0; w < AM_TOP__COUNT; w++) {
		if (c->top[w] == NULL)
			continue;
		const struct am_topn_report *r = am_topn_report(c->top[w]);
		for (uint32_t i = 0; i < r->nrows; i++) {
			const struct am_topn_row *row = &r->rows[i];
			char k[80], p99[24];
			am_census_key_fmt((enum am_census_top)w, row->key, row->klen, k, sizeof(k));
			if (row->p99 >= 0)
				snprintf(p99, sizeof(p99), "%" PRId64, row->p99);
			else
				snprintf(p99, sizeof(p99), "%s", format == AM_CENSUS_JSON ? "null" :
				    format == AM_CENSUS_CSV ? "" : "-");
			switch (format) {
			case AM_CENSUS_JSON:
				fprintf(fp, "{\"table\":\"%s\",\"rank\":%u,\"key\":", top_names[w], i + 1);
				put_str(fp, format, k);
				fprintf(fp, ",\"count\":%" PRIu64 ",\"error\":%" PRIu64 ",\"p99_us\":%s,\"guaranteed\":%s}\n",
				    row->count, row->error, p99, row->guaranteed ? "true" : "false");
				break;
			case AM_CENSUS_CSV:
				fprintf(fp, "%s,%u,%s,%" PRIu64 ",%" PRIu64 ",%s,%d\n", top_names[w], i + 1, k,
				    row->count, row->error, p99, row->guaranteed);
				break;
			default:
				fprintf(fp, "%-18s %4u %-40s %14" PRIu64 " %12" PRIu64 " %10s %s\n", top_names[w], i + 1,
				    k, row->count, row->error, p99, row->guaranteed ? "yes" : "no");
				break;
			}
		}
	}
}
