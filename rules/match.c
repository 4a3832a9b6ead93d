/* Matching: connections to rules, request bytes to signatures, and the
 * signature table (id -> rule, name). */
#include "config.h"
#include "rules/conf_int.h"
#include "common/util.h"
#include "common/log.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct sig {
	char *name;
	uint32_t len;
	int32_t rule;
};

struct am_rules_rt {
	struct sig *v;
	uint32_t n, cap;
	int32_t *hash;           /* open addressing, -1 empty */
	uint32_t hmask;
	uint64_t seed;
	uint32_t nrules;
	uint32_t *dyn;           /* generated names per rule */
	uint64_t *overflow;      /* folded into (overflow), per rule */
	uint32_t max_sigs, max_name;
	struct am_rules_stats st;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
};

/* ------------------------------------------------------------------ */
/* regex */

void *
re_compile(const char *pattern, uint32_t flags, char *err, size_t errlen, size_t *errofs,
	   uint32_t *captures)
{
	uint32_t opt = 0;
	int ec = 0;
	PCRE2_SIZE eo = 0;
	pcre2_code *re;

	if (flags & AM_RE_CASELESS)
		opt |= PCRE2_CASELESS;
	if (flags & AM_RE_MULTILINE)
		opt |= PCRE2_MULTILINE;
	if (flags & AM_RE_DOTALL)
		opt |= PCRE2_DOTALL;
	if (flags & AM_RE_DOLLAR_ENDONLY)
		opt |= PCRE2_DOLLAR_ENDONLY;
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opt, &ec, &eo, NULL);
	if (re == NULL) {
		pcre2_get_error_message(ec, (PCRE2_UCHAR *)err, errlen);
		*errofs = eo;
		return NULL;
	}
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* the interpreter if JIT is absent */
	*captures = 0;
	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, captures);
	return re;
}

void
re_free(void *re)
{
	if (re != NULL)
		pcre2_code_free(re);
}

/* ------------------------------------------------------------------ */
/* the signature table */

struct am_rules_rt *
rt_new(const struct am_config *cfg)
{
	struct am_rules_rt *rt = am_xcalloc(1, sizeof(*rt));

	rt->nrules = cfg->nrules;
	rt->dyn = am_xcalloc(cfg->nrules + 1, sizeof(*rt->dyn));
	rt->overflow = am_xcalloc(cfg->nrules + 1, sizeof(*rt->overflow));
	rt->max_sigs = cfg->set.max_signatures;
	rt->max_name = cfg->set.max_signature_name;
	rt->hmask = 63;
	rt->hash = am_xmalloc((rt->hmask + 1) * sizeof(*rt->hash));
	memset(rt->hash, 0xff, (rt->hmask + 1) * sizeof(*rt->hash));
	rt->seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)rt;
	rt->md = pcre2_match_data_create(10, NULL);
	rt->mctx = pcre2_match_context_create(NULL);
	if (rt->md == NULL || rt->mctx == NULL)
		fatalx("rules: out of memory");
	pcre2_set_match_limit(rt->mctx, cfg->set.regex_match_limit);
	pcre2_set_depth_limit(rt->mctx, cfg->set.regex_depth_limit);
	rt->jstack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	if (rt->jstack != NULL)
		pcre2_jit_stack_assign(rt->mctx, NULL, rt->jstack);
	return rt;
}

void
rt_free(struct am_rules_rt *rt)
{
	if (rt == NULL)
		return;
	for (uint32_t i = 0; i < rt->n; i++)
		free(rt->v[i].name);
	free(rt->v);
	free(rt->hash);
	free(rt->dyn);
	free(rt->overflow);
	pcre2_match_data_free(rt->md);
	pcre2_match_context_free(rt->mctx);
	if (rt->jstack != NULL)
		pcre2_jit_stack_free(rt->jstack);
	free(rt);
}

static uint64_t
sig_hash(const struct am_rules_rt *rt, int rule, const char *name, size_t len)
{
	return am_hash64(name, len, rt->seed ^ ((uint64_t)(uint32_t)rule * 0x100000001b3ull));
}

static int32_t
sig_find(const struct am_rules_rt *rt, int rule, const char *name, size_t len)
{
	uint32_t h = (uint32_t)sig_hash(rt, rule, name, len) & rt->hmask;

	for (;;) {
		int32_t id = rt->hash[h];
		if (id < 0)
			return -1;
		const struct sig *s = &rt->v[id];
		if (s->rule == rule && s->len == len && memcmp(s->name, name, len) == 0)
			return id;
		h = (h + 1) & rt->hmask;
	}
}

static void
hash_put(struct am_rules_rt *rt, int32_t id)
{
	const struct sig *s = &rt->v[id];
	uint32_t h = (uint32_t)sig_hash(rt, s->rule, s->name, s->len) & rt->hmask;

	while (rt->hash[h] >= 0)
		h = (h + 1) & rt->hmask;
	rt->hash[h] = id;
}

static int32_t
sig_insert(struct am_rules_rt *rt, int rule, const char *name, size_t len)
{
	struct sig *s;

	if (rt->n == rt->cap) {
		rt->cap = rt->cap ? rt->cap * 2 : 64;
		rt->v = am_xrealloc(rt->v, rt->cap * sizeof(*rt->v));
	}
	if ((rt->n + 1) * 2 > rt->hmask + 1) {
		uint32_t nsize = (rt->hmask + 1) * 2;
		free(rt->hash);
		rt->hash = am_xmalloc(nsize * sizeof(*rt->hash));
		memset(rt->hash, 0xff, nsize * sizeof(*rt->hash));
		rt->hmask = nsize - 1;
		for (uint32_t i = 0; i < rt->n; i++)
			hash_put(rt, (int32_t)i);
	}
	s = &rt->v[rt->n];
	s->name = am_xmalloc(len + 1);
	memcpy(s->name, name, len);
	s->name[len] = '\0';
	s->len = (uint32_t)len;
	s->rule = rule;
	rt->n++;
	hash_put(rt, (int32_t)(rt->n - 1));
	return (int32_t)(rt->n - 1);
}

int32_t
rt_sig_add(struct am_rules_rt *rt, int rule, const char *name, size_t len)
{
	int32_t id = sig_find(rt, rule, name, len);

	return id >= 0 ? id : sig_insert(rt, rule, name, len);
}

/* A generated name: known, new under the cap, or the overflow signature. */
static int32_t
sig_dynamic(const struct am_config *cfg, int rule, const char *name, size_t len)
{
	struct am_rules_rt *rt = cfg->rt;
	int32_t id = sig_find(rt, rule, name, len);

	if (id >= 0)
		return id;
	if (rt->dyn[rule] >= rt->max_sigs) {
		rt->overflow[rule]++;
		rt->st.name_overflow++;
		return cfg->rules[rule].sig_overflow;
	}
	rt->dyn[rule]++;
	return sig_insert(rt, rule, name, len);
}

static char
name_byte(uint8_t c, enum am_conv conv)
{
	if (c < 0x21 || c > 0x7e || c == '(' || c == ')')
		return '_';
	if (conv == AM_CONV_UPPER)
		return (char)toupper(c);
	if (conv == AM_CONV_LOWER)
		return (char)tolower(c);
	return (char)c;
}

int32_t
am_sig_intern(const struct am_config *cfg, int rule, const char *name, size_t len)
{
	char buf[1100];
	size_t n = 0;

	if (cfg == NULL || rule < 0 || (uint32_t)rule >= cfg->nrules)
		return AM_SIG_NONE;
	if (len > cfg->rt->max_name) {
		len = cfg->rt->max_name;
		cfg->rt->st.name_truncated++;
	}
	for (size_t i = 0; i < len && n < sizeof(buf); i++)
		buf[n++] = name_byte((uint8_t)name[i], AM_CONV_NONE);
	if (n == 0)
		return cfg->rules[rule].sig_other;
	return sig_dynamic(cfg, rule, buf, n);
}

uint32_t
am_sig_count(const struct am_config *cfg)
{
	return cfg->rt->n;
}

const char *
am_sig_name(const struct am_config *cfg, int32_t sig)
{
	if (sig < 0 || (uint32_t)sig >= cfg->rt->n)
		return NULL;
	return cfg->rt->v[sig].name;
}

int32_t
am_sig_rule(const struct am_config *cfg, int32_t sig)
{
	if (sig < 0 || (uint32_t)sig >= cfg->rt->n)
		return -1;
	return cfg->rt->v[sig].rule;
}

void
am_rules_stats(const struct am_config *cfg, struct am_rules_stats *st)
{
	*st = cfg->rt->st;
	st->signatures = cfg->rt->n;
}

uint64_t
am_rule_overflow(const struct am_config *cfg, int rule)
{
	if (rule < 0 || (uint32_t)rule >= cfg->nrules)
		return 0;
	return cfg->rt->overflow[rule];
}

/* ------------------------------------------------------------------ */
/* connections to rules */

static int
host_matches(const struct am_hostmatch *m, const struct am_addr *a)
{
	if (a->family == AM_AF_INET && m->any4)
		return 1;
	if (a->family == AM_AF_INET6 && m->any6)
		return 1;
	for (uint32_t i = 0; i < m->n; i++)
		if (am_addr_in_prefix(a, &m->v[i].net, m->v[i].bits))
			return 1;
	return 0;
}

static int
port_matches(const struct am_portmatch *m, uint16_t port)
{
	if (m->any)
		return 1;
	for (uint32_t i = 0; i < m->n; i++)
		if (port >= m->v[i].lo && port <= m->v[i].hi)
			return 1;
	return 0;
}

int
am_rule_matches(const struct am_rule *r, const struct am_addr *client, uint16_t client_port,
		const struct am_addr *server, uint16_t server_port)
{
	return port_matches(&r->server_port, server_port) &&
		port_matches(&r->client_port, client_port) &&
		host_matches(&r->server, server) && host_matches(&r->client, client);
}

int
am_rules_bind(const struct am_config *cfg, const struct am_addr *client, uint16_t client_port,
	      const struct am_addr *server, uint16_t server_port)
{
	for (uint32_t i = 0; i < cfg->nrules; i++)
		if (am_rule_matches(&cfg->rules[i], client, client_port, server, server_port))
			return (int)i;
	return -1;
}

int
am_rules_bind_synack(const struct am_config *cfg, const struct am_addr *client,
		     uint16_t client_port, const struct am_addr *server, uint16_t server_port)
{
	for (uint32_t i = 0; i < cfg->nsynack; i++)
		if (am_rule_matches(&cfg->synack[i], client, client_port, server, server_port))
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* requests to signatures */

/* 1 on a match; the regex captures are then in rt->md for `subj`. */
static int
content_match(struct am_rules_rt *rt, const struct am_content *c, const uint8_t *data,
	      uint32_t len, const uint8_t **subj)
{
	uint32_t win;
	int rc;

	if (c->has_length && len != c->length)
		return 0;
	if (c->kind == AM_CONTENT_NONE)
		return 1;
	if (c->offset >= len)
		return 0;
	win = len - c->offset;
	if (c->depth != 0 && c->depth < win)
		win = c->depth;
	*subj = data + c->offset;
	if (c->kind == AM_CONTENT_LITERAL)
		return c->litlen <= win && memmem(*subj, win, c->lit, c->litlen) != NULL;
	rc = pcre2_match(c->re, *subj, win, 0, 0, rt->md, rt->mctx);
	if (rc >= 0)
		return 1;       /* 0: more groups than we keep; $1..$9 still set */
	switch (rc) {
	case PCRE2_ERROR_NOMATCH:
		break;
	case PCRE2_ERROR_MATCHLIMIT:
	case PCRE2_ERROR_DEPTHLIMIT:
	case PCRE2_ERROR_HEAPLIMIT:
	case PCRE2_ERROR_JIT_STACKLIMIT:
		rt->st.regex_limit++;
		break;
	default:
		rt->st.regex_error++;
		break;
	}
	return 0;
}

/* The value of capture n as a decimal number; -1 if it is not one. */
static int
capture_number(struct am_rules_rt *rt, const uint8_t *subj, int n, uint64_t *out)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rt->md);
	uint64_t v = 0;

	if (n < 1 || (uint32_t)n >= pcre2_get_ovector_count(rt->md))
		return -1;
	if (ov[2 * n] == PCRE2_UNSET || ov[2 * n + 1] <= ov[2 * n])
		return -1;
	for (PCRE2_SIZE i = ov[2 * n]; i < ov[2 * n + 1]; i++) {
		if (subj[i] < '0' || subj[i] > '9')
			return -1;
		if (v > (UINT64_MAX / 4) / 10)
			return -1;
		v = v * 10 + (uint64_t)(subj[i] - '0');
	}
	*out = v;
	return 0;
}

static void
take_expect(struct am_rules_rt *rt, struct am_req *req, const struct am_content *c,
	    const uint8_t *subj)
{
	uint64_t v;

	if (c->expect_var == -1) {
		req->expect_body = c->expect_const;
		req->has_expect = 1;
	} else if (c->expect_var > 0 && c->kind == AM_CONTENT_REGEX &&
		   capture_number(rt, subj, c->expect_var, &v) == 0) {
		req->expect_body = v;
		req->has_expect = 1;
	}
}

/* Fills the $n of a transaction name from the last regex match. */
static int32_t
expand_name(const struct am_config *cfg, int rule, const struct am_txdef *tx, const uint8_t *subj)
{
	struct am_rules_rt *rt = cfg->rt;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rt->md);
	uint32_t ovn = pcre2_get_ovector_count(rt->md);
	char buf[1100];
	size_t n = 0, max = rt->max_name < sizeof(buf) ? rt->max_name : sizeof(buf);
	int cut = 0;

	for (const char *p = tx->name; *p && !cut; p++) {
		if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
			uint32_t k = (uint32_t)(p[1] - '0');
			p++;
			if (k >= ovn || ov[2 * k] == PCRE2_UNSET || ov[2 * k + 1] < ov[2 * k])
				continue;
			for (PCRE2_SIZE i = ov[2 * k]; i < ov[2 * k + 1]; i++) {
				if (n >= max) {
					cut = 1;
					break;
				}
				buf[n++] = name_byte(subj[i], tx->conv);
			}
			continue;
		}
		if (n >= max) {
			cut = 1;
			break;
		}
		buf[n++] = *p;
	}
	if (cut)
		rt->st.name_truncated++;
	if (n == 0)
		return cfg->rules[rule].sig_other;
	return sig_dynamic(cfg, rule, buf, n);
}

/* Looks for the empty line ending a header block; sets body_start. */
static void
scan_headers(struct am_req *req, const uint8_t *data, uint32_t len)
{
	uint8_t s = req->hdr_state;

	if (req->body_start != 0)
		return;
	for (uint32_t i = 0; i < len; i++) {
		uint8_t c = data[i];
		if (c == '\n') {
			if (s == 1 || s == 2) {
				req->body_start = req->seen + i + 1;
				break;
			}
			s = 1;
		} else if (c == '\r' && s == 1) {
			s = 2;
		} else {
			s = 0;
		}
	}
	req->hdr_state = s;
}

static void
match_merges(const struct am_config *cfg, const struct am_txdef *tx, struct am_req *req,
	     const uint8_t *data, uint32_t len)
{
	struct am_rules_rt *rt = cfg->rt;

	for (uint32_t i = 0; i < tx->nmerge; i++) {
		const struct am_merge *m = &tx->merge[i];
		const uint8_t *subj = data;
		if (req->merged & (1u << i))
			continue;
		if (!content_match(rt, &m->c, data, len, &subj))
			continue;
		req->merged |= 1u << i;
		rt->st.merges++;
		take_expect(rt, req, &m->c, subj);
	}
}

static int
tx_wants_more(const struct am_txdef *tx)
{
	if (tx->nmerge > 0 || tx->c.expect_var != 0)
		return 1;
	return 0;
}

int32_t
am_req_begin(const struct am_config *cfg, int rule, struct am_req *req,
	     const uint8_t *data, uint32_t len)
{
	struct am_rules_rt *rt;
	const struct am_rule *r;
	char sni[256];

	memset(req, 0, sizeof(*req));
	req->rule = rule;
	req->tx = -1;
	req->signature = AM_SIG_NONE;
	if (cfg == NULL || rule < 0 || (uint32_t)rule >= cfg->nrules)
		return AM_SIG_NONE;
	rt = cfg->rt;
	r = &cfg->rules[rule];
	rt->st.requests++;
	if (data == NULL)
		len = 0;
	if (r->timing == AM_TIMING_ADU || r->ntx == 0 || len == 0) {
		int n;
		if (r->name_by == AM_NAME_BY_SNI && len > 0 &&
		    (n = am_tls_sni(data, len, sni, sizeof(sni))) > 0)
			req->signature = am_sig_intern(cfg, rule, sni, (size_t)n);
		else
			req->signature = r->sig_other;
		if (req->signature == r->sig_other)
			rt->st.other++;
		else
			rt->st.matched++;
		req->seen = len;
		return req->signature;
	}
	for (uint32_t j = 0; j < r->ntx; j++) {
		const struct am_txdef *tx = &r->tx[j];
		const uint8_t *subj = data;
		if (!content_match(rt, &tx->c, data, len, &subj))
			continue;
		req->tx = (int32_t)j;
		if (tx->ignore) {
			req->signature = AM_SIG_IGNORE;
			rt->st.ignored++;
		} else {
			req->signature = tx->has_vars ? expand_name(cfg, rule, tx, subj) : tx->sig;
			rt->st.matched++;
		}
		take_expect(rt, req, &tx->c, subj);
		match_merges(cfg, tx, req, data, len);
		req->want_more = (uint8_t)tx_wants_more(tx);
		if (req->want_more)
			scan_headers(req, data, len);
		req->seen = len;
		return req->signature;
	}
	rt->st.other++;
	req->signature = r->sig_other;
	req->seen = len;
	return req->signature;
}

void
am_req_more(const struct am_config *cfg, struct am_req *req, const uint8_t *data, uint32_t len)
{
	if (cfg == NULL || data == NULL || len == 0)
		return;
	if (req->want_more && req->rule >= 0 && (uint32_t)req->rule < cfg->nrules &&
	    req->tx >= 0 && (uint32_t)req->tx < cfg->rules[req->rule].ntx) {
		const struct am_txdef *tx = &cfg->rules[req->rule].tx[req->tx];
		match_merges(cfg, tx, req, data, len);
		scan_headers(req, data, len);
	}
	req->seen += len;
}

uint64_t
am_req_expected(const struct am_req *req)
{
	if (!req->has_expect || req->body_start == 0)
		return 0;
	return req->body_start + req->expect_body;
}

int32_t
am_classify(const struct am_config *cfg, int rule, const uint8_t *data, uint32_t len)
{
	struct am_req req;

	return am_req_begin(cfg, rule, &req, data, len);
}

const char *
am_framing_name(enum am_framing f)
{
	static const char *const names[] = { "none", "http", "resp", "pgsql", "mysql",
		"memcache", "dns-tcp", "tls" };

	if ((unsigned)f >= AM_FRAMING__COUNT)
		return "?";
	return names[f];
}

/* ------------------------------------------------------------------ */
/* TLS ClientHello server name */

static int
get16(const uint8_t *p, uint32_t len, uint32_t at, uint32_t *out)
{
	if (at > len || len - at < 2)
		return -1;
	*out = (uint32_t)p[at] << 8 | p[at + 1];
	return 0;
}

int
am_tls_sni(const uint8_t *data, uint32_t len, char *buf, size_t bufsz)
{
	uint32_t reclen, hslen, at, v, end, extend;

	if (bufsz == 0)
		return -1;
	buf[0] = '\0';
	/* record: handshake(22), version, length */
	if (len < 5 || data[0] != 22 || data[1] != 3 || get16(data, len, 3, &reclen) < 0)
		return -1;
	end = len < 5 + reclen ? len : 5 + reclen;
	/* handshake: client_hello(1), 24-bit length */
	if (end < 9 || data[5] != 1)
		return -1;
	hslen = (uint32_t)data[6] << 16 | (uint32_t)data[7] << 8 | data[8];
	if (9 + hslen < end)
		end = 9 + hslen;
	at = 9 + 2 + 32;                                 /* version, random */
	if (at >= end)
		return -1;
	at += 1 + data[at];                              /* session id */
	if (get16(data, end, at, &v) < 0)                /* cipher suites */
		return -1;
	at += 2 + v;
	if (at >= end)
		return -1;
	at += 1 + data[at];                              /* compression methods */
	if (get16(data, end, at, &v) < 0)                /* extensions */
		return -1;
	at += 2;
	extend = at + v < end ? at + v : end;
	while (at + 4 <= extend) {
		uint32_t type = 0, elen = 0;
		get16(data, extend, at, &type);
		get16(data, extend, at + 2, &elen);
		at += 4;
		if (elen > extend - at)
			return -1;
		if (type == 0) {                         /* server_name */
			uint32_t p = at, lend = at + elen, listlen;
			if (get16(data, lend, p, &listlen) < 0)
				return -1;
			p += 2;
			if (listlen < lend - p)
				lend = p + listlen;
			while (p + 3 <= lend) {
				uint32_t nlen = 0, ntype = data[p];
				get16(data, lend, p + 1, &nlen);
				p += 3;
				if (nlen > lend - p)
					return -1;
				if (ntype == 0 && nlen > 0) {
					size_t n = nlen < bufsz - 1 ? nlen : bufsz - 1;
					for (size_t i = 0; i < n; i++)
						buf[i] = (char)tolower(data[p + i]);
					buf[n] = '\0';
					return (int)n;
				}
				p += nlen;
			}
			return -1;
		}
		at += elen;
	}
	return -1;
}
