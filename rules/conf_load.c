/* The semantic pass: turns the statement tree into a struct am_config,
 * reporting every error with its file:line:column and what was expected.
 *
 * Adding a setting: add the field to struct am_settings (rules.h), its
 * default to am_settings_default(), a line to artmon_setting() below, a line
 * to am_config_print() (conf_print.c), and a paragraph to doc/artmond.conf.5. */
#include "config.h"
#include "rules/conf_int.h"
#include "common/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef AM_SYSCONFDIR
#define AM_SYSCONFDIR "/etc"
#endif

struct ld {
	struct am_config *cfg;
	struct arena *a;
	struct am_diags *d;
	/* settings given in artmon { } win over pastmon { } */
	uint8_t art_user, art_group, art_mask4, art_mask6;
	/* top_n and top_capacity as written, checked together at the end */
	const struct tok *top_n_tok, *top_cap_tok;
	uint32_t capfilters;
	/* growing arrays */
	uint32_t caprules, capsynack;
};

/* One `key = item, item, ...;` statement. */
struct item {
	const struct tok *t;
	uint32_t n;
};

struct kv {
	const struct node *node;
	const struct tok *key;
	const struct tok *op;       /* '=' or '=~' */
	struct item items[16];
	uint32_t nitems;
};

/* Rule settings that a plugin section gives as defaults. */
struct rule_defaults {
	int summarise, wait_for_syn, del_session, rst_as_fin;   /* wait_for_syn -1: not given */
	int64_t cutoff;
	int64_t hash;
	int mask4, mask6;
};

static void
err(struct ld *l, const struct tok *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
warn(struct ld *l, const struct tok *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
vdiag(struct ld *l, int error, const struct tok *t, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void
vdiag(struct ld *l, int error, const struct tok *t, const char *fmt, va_list ap)
{
	char buf[400];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	diag_add(l->d, error, t->file, t->line, t->col, "%s", buf);
}

static void
err(struct ld *l, const struct tok *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(l, 1, t, fmt, ap);
	va_end(ap);
}

static void
warn(struct ld *l, const struct tok *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(l, 0, t, fmt, ap);
	va_end(ap);
}

static int
is_word(const struct tok *t, const char *w)
{
	return t->type == TK_WORD && strcasecmp(t->text, w) == 0;
}

static const char *
desc(const struct tok *t, char *buf, size_t len)
{
	return tok_describe(t, buf, len);
}

/* ------------------------------------------------------------------ */
/* statements and values */

/* Splits `key = a, b, c;`.  0 on success. */
static int
get_assign(struct ld *l, const struct node *n, struct kv *kv)
{
	char b[96];
	uint32_t i;

	memset(kv, 0, sizeof(*kv));
	kv->node = n;
	kv->key = &n->toks[0];
	if (n->toks[0].type != TK_WORD) {
		err(l, &n->toks[0], "expected a setting name, got %s", desc(&n->toks[0], b, sizeof(b)));
		return -1;
	}
	if (n->ntoks < 2 || (n->toks[1].type != TK_EQ && n->toks[1].type != TK_MATCH)) {
		const struct tok *t = n->ntoks < 2 ? &n->end : &n->toks[1];
		err(l, t, "expected '=' after '%s', got %s", kv->key->text, desc(t, b, sizeof(b)));
		return -1;
	}
	kv->op = &n->toks[1];
	i = 2;
	for (;;) {
		struct item *it;
		if (i >= n->ntoks || n->toks[i].type == TK_COMMA) {
			const struct tok *t = i >= n->ntoks ? &n->end : &n->toks[i];
			err(l, t, "expected a value after %s, got %s",
			    desc(&n->toks[i - 1], b, sizeof(b)),
			    i >= n->ntoks ? "';'" : "','");
			return -1;
		}
		if (kv->nitems == sizeof(kv->items) / sizeof(kv->items[0])) {
			err(l, &n->toks[i], "too many values for '%s' (at most %zu)", kv->key->text,
			    sizeof(kv->items) / sizeof(kv->items[0]));
			return -1;
		}
		it = &kv->items[kv->nitems++];
		it->t = &n->toks[i];
		while (i < n->ntoks && n->toks[i].type != TK_COMMA) {
			if (n->toks[i].type == TK_EQ || n->toks[i].type == TK_MATCH) {
				err(l, &n->toks[i], "expected ';' or ',' after %s, got %s",
				    desc(&n->toks[i - 1], b, sizeof(b)), desc(&n->toks[i], b, sizeof(b)));
				return -1;
			}
			it->n++;
			i++;
		}
		if (i >= n->ntoks)
			break;
		i++;    /* the comma */
	}
	return 0;
}

static int
want_eq(struct ld *l, const struct kv *kv)
{
	if (kv->op->type != TK_EQ) {
		err(l, kv->op, "expected '=' after '%s' ('=~' is only for Content)", kv->key->text);
		return -1;
	}
	return 0;
}

/* Exactly one value of one token. */
static const struct tok *
one_value(struct ld *l, const struct kv *kv)
{
	char b[96];

	if (want_eq(l, kv) < 0)
		return NULL;
	if (kv->nitems != 1) {
		err(l, kv->items[1].t, "expected a single value for '%s', got a list", kv->key->text);
		return NULL;
	}
	if (kv->items[0].n != 1) {
		const struct tok *t = &kv->items[0].t[1];
		err(l, t, "expected ';' after the value of '%s', got %s", kv->key->text,
		    desc(t, b, sizeof(b)));
		return NULL;
	}
	return kv->items[0].t;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		int dgt;
		if (*s >= '0' && *s <= '9')
			dgt = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			dgt = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			dgt = *s - 'A' + 10;
		else
			return -1;
		if (v > (UINT64_MAX - (uint64_t)dgt) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)dgt;
	}
	*out = v;
	return 0;
}

/* A token's text as a value: words as written, strings with \\ and \" undone. */
static char *
tok_value(struct ld *l, const struct tok *t)
{
	char *out, *o;

	if (t->type != TK_STRING)
		return arena_strndup(l->a, t->text, t->len);
	o = out = arena_alloc(l->a, t->len + 1);
	for (uint32_t i = 0; i < t->len; i++) {
		if (t->text[i] == '\\' && i + 1 < t->len &&
		    (t->text[i + 1] == '\\' || t->text[i + 1] == '"'))
			i++;
		*o++ = t->text[i];
	}
	*o = '\0';
	return out;
}

static int
val_uint(struct ld *l, const struct kv *kv, uint64_t min, uint64_t max, uint64_t *out)
{
	const struct tok *t = one_value(l, kv);
	uint64_t v;
	char b[96];

	if (t == NULL)
		return -1;
	if ((t->type != TK_WORD && t->type != TK_STRING) || parse_u64(tok_value(l, t), &v) < 0) {
		err(l, t, "expected a number for '%s', got %s", kv->key->text, desc(t, b, sizeof(b)));
		return -1;
	}
	if (v < min || v > max) {
		err(l, t, "expected a number from %" PRIu64 " to %" PRIu64 " for '%s', got %" PRIu64,
		    min, max, kv->key->text, v);
		return -1;
	}
	*out = v;
	return 0;
}

static int
val_bool(struct ld *l, const struct kv *kv, int *out)
{
	const struct tok *t = one_value(l, kv);
	char b[96];
	const char *s;

	if (t == NULL)
		return -1;
	s = tok_value(l, t);
	if (strcmp(s, "1") == 0 || strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "on") == 0) {
		*out = 1;
		return 0;
	}
	if (strcmp(s, "0") == 0 || strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "off") == 0) {
		*out = 0;
		return 0;
	}
	err(l, t, "expected 0 or 1 for '%s', got %s", kv->key->text, desc(t, b, sizeof(b)));
	return -1;
}

static char *
val_string(struct ld *l, const struct kv *kv)
{
	const struct tok *t = one_value(l, kv);
	char b[96];
	char *s;

	if (t == NULL)
		return NULL;
	if (t->type != TK_STRING && t->type != TK_WORD) {
		err(l, t, "expected a string for '%s', got %s", kv->key->text, desc(t, b, sizeof(b)));
		return NULL;
	}
	s = tok_value(l, t);
	if (memchr(t->text, '\0', t->len) != NULL) {
		err(l, t, "a NUL byte in the value of '%s'", kv->key->text);
		return NULL;
	}
	return s;
}

/* One of `names` (NULL-terminated), case-insensitive; returns the index or -1. */
static int
val_choice(struct ld *l, const struct kv *kv, const char *const *names)
{
	char *s = val_string(l, kv);
	char list[256];
	size_t used = 0;

	if (s == NULL)
		return -1;
	for (int i = 0; names[i] != NULL; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	list[0] = '\0';
	for (int i = 0; names[i] != NULL; i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s\"%s\"",
				 i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ", names[i]);
		if (w < 0 || (size_t)w >= sizeof(list) - used)
			break;
		used += (size_t)w;
	}
	err(l, kv->items[0].t, "expected %s for '%s', got \"%.40s\"", list, kv->key->text, s);
	return -1;
}

/* number with an optional unit: us, ms, s, m, h, d (bare: seconds) */
static int
val_duration(struct ld *l, const struct kv *kv, int64_t min, int64_t *out)
{
	const struct tok *t = one_value(l, kv);
	char *s, *end;
	double v, mult = 1e6;

	if (t == NULL)
		return -1;
	s = tok_value(l, t);
	v = strtod(s, &end);
	if (end == s || !(v >= 0)) {
		err(l, t, "expected a duration for '%s' (e.g. 300, 5m, 500ms), got \"%.40s\"",
		    kv->key->text, s);
		return -1;
	}
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1e6;
	else if (strcmp(end, "ms") == 0)
		mult = 1e3;
	else if (strcmp(end, "us") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60e6;
	else if (strcmp(end, "h") == 0)
		mult = 3600e6;
	else if (strcmp(end, "d") == 0)
		mult = 86400e6;
	else {
		err(l, t, "expected a duration unit (us, ms, s, m, h, d) for '%s', got \"%.20s\"",
		    kv->key->text, end);
		return -1;
	}
	v *= mult;
	if (v > 1e15 || v < (double)min) {
		err(l, t, "duration out of range for '%s' (at least %" PRId64 " us)", kv->key->text, min);
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

/* number with an optional K, M, G suffix (powers of 1024) */
static int
val_size(struct ld *l, const struct kv *kv, uint64_t min, uint64_t max, uint64_t *out)
{
	const struct tok *t = one_value(l, kv);
	char *s, *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (t == NULL)
		return -1;
	s = tok_value(l, t);
	if (!isdigit((unsigned char)s[0]))
		goto bad;
	v = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		mult = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mult = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mult = 1024ull * 1024 * 1024, end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0')
		goto bad;
	if (v > max / mult || v * mult < min) {
		err(l, t, "expected a size from %" PRIu64 " to %" PRIu64 " bytes for '%s'",
		    min, max, kv->key->text);
		return -1;
	}
	*out = v * mult;
	return 0;
bad:
	err(l, t, "expected a size for '%s' (e.g. 65536, 64K, 32M), got \"%.40s\"",
	    kv->key->text, s);
	return -1;
}

/* ------------------------------------------------------------------ */
/* settings */

void
am_settings_default(struct am_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->snaplen = 262144;
	s->buffer = 32u << 20;
	s->merge_window = 20000;
	s->interval = 300 * AM_USEC;
	s->store = (char *)"/var/lib/artmon";
	s->netmasklen = 32;
	s->netmasklen6 = 128;
	s->anomaly_bound = 4000;
	s->anomaly_intervals = 2;
	s->anomaly_min_history = 7;
	s->anomaly_min_txns = 100;
	s->anomaly_days = 14;
	s->max_sessions = 262144;
	s->max_pending = 256;
	s->memcap = 256ull << 20;
	s->max_keys = 100000;
	s->max_signatures = 256;
	s->max_signature_name = 64;
	s->regex_match_limit = 100000;
	s->regex_depth_limit = 1000;
	s->adu_quiet = 500000;
	s->top_n = 10;
	s->top_capacity = 4096;
}

const char *
am_config_default_path(void)
{
	const char *e = getenv("ARTMON_CONF");

	if (e != NULL && e[0] != '\0')
		return e;
	return AM_SYSCONFDIR "/artmon/artmon.conf";
}

static void
set_interfaces(struct ld *l, const struct kv *kv)
{
	struct am_settings *s = &l->cfg->set;
	char **v;
	char b[96];

	if (want_eq(l, kv) < 0)
		return;
	v = arena_alloc(l->a, (kv->nitems + 1) * sizeof(char *));
	for (uint32_t i = 0; i < kv->nitems; i++) {
		const struct tok *t = kv->items[i].t;
		if (kv->items[i].n != 1 || (t->type != TK_WORD && t->type != TK_STRING) || t->len == 0) {
			err(l, t, "expected an interface name, got %s", desc(t, b, sizeof(b)));
			return;
		}
		v[i] = tok_value(l, t);
	}
	s->interfaces = v;
	s->ninterfaces = kv->nitems;
}

static void
artmon_setting(struct ld *l, const struct kv *kv)
{
	struct am_settings *s = &l->cfg->set;
	const char *k = kv->key->text;
	uint64_t u;
	int64_t d;
	char *str;

#define KEY(name) (strcasecmp(k, name) == 0)
	if (KEY("interface") || KEY("interfaces")) {
		set_interfaces(l, kv);
	} else if (KEY("filter")) {
		if ((str = val_string(l, kv)) != NULL)
			s->filter = str;
	} else if (KEY("snaplen")) {
		if (val_uint(l, kv, 64, 262144, &u) == 0)
			s->snaplen = (uint32_t)u;
	} else if (KEY("buffer")) {
		if (val_size(l, kv, 65536, 1ull << 34, &u) == 0)
			s->buffer = u;
	} else if (KEY("merge_window")) {
		if (val_duration(l, kv, 0, &d) == 0) {
			if (d > AM_USEC)
				err(l, kv->key, "merge_window is at most 1s, got %" PRId64 "ms", d / 1000);
			else
				s->merge_window = d;
		}
	} else if (KEY("interval")) {
		if (val_duration(l, kv, AM_USEC, &d) == 0)
			s->interval = d;
	} else if (KEY("store")) {
		if ((str = val_string(l, kv)) != NULL)
			s->store = str;
	} else if (KEY("agentx") || KEY("agentx_socket")) {
		if ((str = val_string(l, kv)) != NULL)
			s->agentx = str;
	} else if (KEY("user")) {
		if ((str = val_string(l, kv)) != NULL)
			s->user = str, l->art_user = 1;
	} else if (KEY("group")) {
		if ((str = val_string(l, kv)) != NULL)
			s->group = str, l->art_group = 1;
	} else if (KEY("sensor")) {
		if ((str = val_string(l, kv)) != NULL)
			s->sensor = str;
	} else if (KEY("netmasklen")) {
		if (val_uint(l, kv, 0, 32, &u) == 0)
			s->netmasklen = (uint8_t)u, l->art_mask4 = 1;
	} else if (KEY("netmasklen6")) {
		if (val_uint(l, kv, 0, 128, &u) == 0)
			s->netmasklen6 = (uint8_t)u, l->art_mask6 = 1;
	} else if (KEY("max_sessions")) {
		if (val_uint(l, kv, 16, 1u << 30, &u) == 0)
			s->max_sessions = (uint32_t)u;
	} else if (KEY("max_pending")) {
		if (val_uint(l, kv, 1, 1024, &u) == 0)
			s->max_pending = (uint32_t)u;
	} else if (KEY("max_exchanges")) {
		if (val_uint(l, kv, 0, 1u << 30, &u) == 0)
			s->max_exchanges = (uint32_t)u;
	} else if (KEY("memcap")) {
		if (val_size(l, kv, 1u << 20, 1ull << 40, &u) == 0)
			s->memcap = u;
	} else if (KEY("max_keys")) {
		if (val_uint(l, kv, 16, 1u << 30, &u) == 0)
			s->max_keys = (uint32_t)u;
	} else if (KEY("max_signatures")) {
		if (val_uint(l, kv, 1, 1u << 20, &u) == 0)
			s->max_signatures = (uint32_t)u;
	} else if (KEY("max_signature_name")) {
		if (val_uint(l, kv, 8, 1024, &u) == 0)
			s->max_signature_name = (uint32_t)u;
	} else if (KEY("regex_match_limit")) {
		if (val_uint(l, kv, 1, UINT32_MAX, &u) == 0)
			s->regex_match_limit = (uint32_t)u;
	} else if (KEY("regex_depth_limit")) {
		if (val_uint(l, kv, 1, UINT32_MAX, &u) == 0)
			s->regex_depth_limit = (uint32_t)u;
	} else if (KEY("adu_quiet")) {
		if (val_duration(l, kv, 1000, &d) == 0)
			s->adu_quiet = d;
	} else if (KEY("loss_bound")) {
		if (val_uint(l, kv, 0, 1000000, &u) == 0)
			s->loss_bound = (uint32_t)u;
	} else if (KEY("anomaly_bound")) {
		if (val_uint(l, kv, 1, UINT32_MAX, &u) == 0)
			s->anomaly_bound = (uint32_t)u;
	} else if (KEY("anomaly_intervals")) {
		if (val_uint(l, kv, 1, 1000, &u) == 0)
			s->anomaly_intervals = (uint32_t)u;
	} else if (KEY("anomaly_min_history")) {
		if (val_uint(l, kv, 2, 100000, &u) == 0)
			s->anomaly_min_history = (uint32_t)u;
	} else if (KEY("anomaly_min_transactions")) {
		if (val_uint(l, kv, 1, UINT32_MAX, &u) == 0)
			s->anomaly_min_txns = (uint32_t)u;
	} else if (KEY("anomaly_days")) {
		if (val_uint(l, kv, 1, 31, &u) == 0)
			s->anomaly_days = (uint32_t)u;
	} else if (KEY("top_n")) {
		if (val_uint(l, kv, 0, AM_TOP_N_MAX, &u) == 0)
			s->top_n = (uint32_t)u, l->top_n_tok = kv->items[0].t;
	} else if (KEY("top_capacity")) {
		if (val_uint(l, kv, 16, AM_TOP_CAPACITY_MAX, &u) == 0)
			s->top_capacity = (uint32_t)u, l->top_cap_tok = kv->items[0].t;
	} else {
		err(l, kv->key, "unknown setting '%s' in the artmon section (expected interface, "
		    "filter, snaplen, buffer, merge_window, interval, store, agentx, user, group, sensor, "
		    "netmasklen, netmasklen6, max_sessions, max_pending, max_exchanges, memcap, max_keys, max_signatures, "
		    "max_signature_name, regex_match_limit, regex_depth_limit, adu_quiet, loss_bound, "
		    "anomaly_bound, anomaly_intervals, anomaly_min_history, anomaly_min_transactions, "
		    "anomaly_days, top_n, top_capacity, an alarm N { } or a filter_set NAME { } block)", k);
	}
#undef KEY
}

/* Room for one more alarm (arena memory is never freed on its own). */
static struct am_alarm_conf *
arena_realloc_alarms(struct ld *l, struct am_alarm_conf *old, uint32_t n)
{
	struct am_alarm_conf *v;

	if (n & (n - 1) && n != 0)
		return old;             /* room left: n is not a power of two */
	v = arena_alloc(l->a, (n ? n * 2 : 1) * sizeof(*v));
	if (n)
		memcpy(v, old, n * sizeof(*v));
	return v;
}

/* alarm N { descr, server, port, signature, statistic, timing, rising,
 * falling, startup, min_transactions, rate_limit } */
static void
alarm_block(struct ld *l, const struct node *blk)
{
	static const char *const stats[] = { "p50", "p90", "p99", "mean", "max", "transactions",
		"error_rate", "capture_loss", NULL };
	static const char *const timings[] = { "none", "first", "last", "ack", "think", "rtt", NULL };
	static const char *const startups[] = { "rising", "falling", "both", NULL };
	struct am_settings *s = &l->cfg->set;
	struct am_alarm_conf c;
	struct kv kv, thr[2];
	int have_thr[2] = { 0, 0 }, have_timing = 0, i;
	uint64_t u;
	char *str, b[96];

	memset(&c, 0, sizeof(c));
	c.descr = (char *)"";
	c.signature = (char *)"";
	c.startup = 1;
	c.min_txns = 10;
	if (blk->ntoks != 2 || parse_u64(tok_value(l, &blk->toks[1]), &u) < 0 || u < 1 || u > 65535) {
		err(l, &blk->toks[0], "expected 'alarm N { ... }' with N from 1 to 65535");
		return;
	}
	c.index = (uint32_t)u;
	for (uint32_t k = 0; k < s->nalarms; k++)
		if (s->alarms[k].index == c.index) {
			err(l, &blk->toks[1], "alarm %u is defined twice", c.index);
			return;
		}
	for (const struct node *n = blk->child; n != NULL; n = n->next) {
		if (n->block) {
			err(l, &n->toks[0], "unexpected block '%s' in alarm %u", n->toks[0].text, c.index);
			continue;
		}
		if (get_assign(l, n, &kv) < 0)
			continue;
		const char *k = kv.key->text;
		if (strcasecmp(k, "descr") == 0 || strcasecmp(k, "description") == 0) {
			if ((str = val_string(l, &kv)) != NULL) {
				if (strlen(str) > 64)
					err(l, kv.items[0].t, "the description of alarm %u is longer than 64 bytes",
					    c.index);
				else
					c.descr = str;
			}
		} else if (strcasecmp(k, "server") == 0) {
			if ((str = val_string(l, &kv)) != NULL && strcmp(str, "*") != 0 &&
			    am_addr_parse(str, &c.server) < 0)
				err(l, kv.items[0].t, "expected an IPv4 or IPv6 address or \"*\" for 'server', "
				    "got %s", desc(kv.items[0].t, b, sizeof(b)));
		} else if (strcasecmp(k, "port") == 0) {
			if (val_uint(l, &kv, 0, 65535, &u) == 0)
				c.port = (uint16_t)u;
		} else if (strcasecmp(k, "signature") == 0) {
			if ((str = val_string(l, &kv)) != NULL) {
				if (strlen(str) > 255)
					err(l, kv.items[0].t, "signature name longer than 255 bytes");
				else
					c.signature = str;
			}
		} else if (strcasecmp(k, "statistic") == 0) {
			if ((i = val_choice(l, &kv, stats)) >= 0)
				c.statistic = i + 1;
		} else if (strcasecmp(k, "timing") == 0) {
			if ((i = val_choice(l, &kv, timings)) >= 0)
				c.timing = i + 1, have_timing = 1;
		} else if (strcasecmp(k, "rising") == 0) {
			thr[0] = kv, have_thr[0] = 1;
		} else if (strcasecmp(k, "falling") == 0) {
			thr[1] = kv, have_thr[1] = 1;
		} else if (strcasecmp(k, "startup") == 0) {
			if ((i = val_choice(l, &kv, startups)) >= 0)
				c.startup = i + 1;
		} else if (strcasecmp(k, "min_transactions") == 0) {
			if (val_uint(l, &kv, 0, UINT32_MAX, &u) == 0)
				c.min_txns = (uint32_t)u;
		} else if (strcasecmp(k, "rate_limit") == 0) {
			int64_t d;
			if (val_duration(l, &kv, 0, &d) == 0)
				c.rate_limit = (uint32_t)(d / AM_USEC > UINT32_MAX ? UINT32_MAX : d / AM_USEC);
		} else {
			err(l, kv.key, "unknown setting '%s' in alarm %u (expected descr, server, port, "
			    "signature, statistic, timing, rising, falling, startup, min_transactions "
			    "or rate_limit)", k, c.index);
		}
	}
	if (c.statistic == 0) {
		err(l, &blk->toks[0], "alarm %u needs a statistic", c.index);
		return;
	}
	if (!have_timing)
		c.timing = c.statistic <= 5 ? 2 : 1;
	if (c.statistic <= 5 ? c.timing == 1 : c.timing != 1) {
		err(l, &blk->toks[0], "alarm %u: %s", c.index, c.statistic <= 5 ?
		    "a timing statistic needs a timing other than none" :
		    "transactions, error_rate and capture_loss take no timing");
		return;
	}
	for (int t = 0; t < 2; t++) {
		int64_t d;
		uint32_t *dst = t == 0 ? &c.rising : &c.falling;
		if (!have_thr[t]) {
			err(l, &blk->toks[0], "alarm %u needs a %s threshold", c.index, t ? "falling" : "rising");
			return;
		}
		if (c.statistic <= 5) {
			/* a duration; bare numbers are seconds as everywhere */
			if (val_duration(l, &thr[t], 0, &d) < 0)
				return;
			*dst = (uint32_t)(d > UINT32_MAX ? UINT32_MAX : d);
		} else {
			if (val_uint(l, &thr[t], 0, c.statistic == 6 ? UINT32_MAX : 1000000, &u) < 0)
				return;
			*dst = (uint32_t)u;
		}
	}
	if (c.rising < c.falling) {
		err(l, &blk->toks[0], "alarm %u: the rising threshold is below the falling one", c.index);
		return;
	}
	s->alarms = arena_realloc_alarms(l, s->alarms, s->nalarms);
	s->alarms[s->nalarms++] = c;
}

/* A census name (set or label): [A-Za-z0-9_.-]+, at most 64 bytes. */
static int
census_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

/* filter_set NAME { LABEL = "BPF expression"; ... } */
static void
filter_set_block(struct ld *l, const struct node *blk)
{
	struct am_settings *s = &l->cfg->set;
	const struct tok *nt;
	char *name, b[96];
	struct kv kv;
	uint32_t first = s->nfilters;

	if (blk->ntoks != 2 || (blk->toks[1].type != TK_WORD && blk->toks[1].type != TK_STRING)) {
		err(l, &blk->toks[0], "expected 'filter_set NAME { LABEL = \"EXPRESSION\"; ... }'");
		return;
	}
	nt = &blk->toks[1];
	name = tok_value(l, nt);
	if (!census_name_ok(name) || strncasecmp(name, "hw.", 3) == 0) {
		err(l, nt, "a filter set name must be 1 to 64 letters, digits, '_', '.' or '-' "
		    "and not begin with 'hw.', got %s", desc(nt, b, sizeof(b)));
		return;
	}
	for (uint32_t k = 0; k < s->nfilters; k++)
		if (strcmp(s->filters[k].set, name) == 0) {
			err(l, nt, "filter set '%s' is defined twice (first at %s:%u)", name,
			    s->filters[k].loc.file, s->filters[k].loc.line);
			return;
		}
	if (blk->child == NULL)
		warn(l, nt, "filter set '%s' has no labels", name);
	for (const struct node *n = blk->child; n != NULL; n = n->next) {
		const struct tok *t;
		char *label, *expr;
		if (n->block) {
			err(l, &n->toks[0], "unexpected block '%s' in filter set '%s' "
			    "(expected LABEL = \"EXPRESSION\";)", n->toks[0].text, name);
			continue;
		}
		if (get_assign(l, n, &kv) < 0)
			continue;
		label = tok_value(l, kv.key);
		if (!census_name_ok(label)) {
			err(l, kv.key, "a filter label must be 1 to 64 letters, digits, '_', '.' or '-', "
			    "got %s", desc(kv.key, b, sizeof(b)));
			continue;
		}
		if ((t = one_value(l, &kv)) == NULL)
			continue;
		if (t->type != TK_STRING) {
			err(l, t, "expected a BPF expression in double quotes for label '%s', got %s",
			    label, desc(t, b, sizeof(b)));
			continue;
		}
		expr = tok_value(l, t);
		if (memchr(t->text, '\0', t->len) != NULL || expr[0] == '\0' || strlen(expr) > 255) {
			/* 255: what artmonFilterExpression (a DisplayString) can show */
			err(l, t, "the expression of label '%s' is empty, longer than 255 bytes "
			    "or holds a NUL byte", label);
			continue;
		}
		int dup = 0;
		for (uint32_t k = first; k < s->nfilters && !dup; k++)
			if (strcmp(s->filters[k].label, label) == 0) {
				err(l, kv.key, "label '%s' is given twice in filter set '%s' (first at line %u)",
				    label, name, s->filters[k].loc.line);
				dup = 1;
			}
		if (dup)
			continue;
		if (s->nfilters >= AM_FILTERS_MAX) {
			err(l, kv.key, "too many filter labels (at most %u in all sets)", AM_FILTERS_MAX);
			return;
		}
		if (s->nfilters == l->capfilters) {
			uint32_t ncap = l->capfilters ? l->capfilters * 2 : 8;
			s->filters = arena_grow(l->a, s->filters, s->nfilters, ncap, sizeof(*s->filters));
			l->capfilters = ncap;
		}
		struct am_filter_conf *f = &s->filters[s->nfilters++];
		f->set = name;
		f->label = label;
		f->expr = expr;
		f->loc.file = t->file;
		f->loc.line = t->line;
		f->loc.col = t->col;
	}
}

static void
artmon_section(struct ld *l, const struct node *blk)
{
	struct kv kv;

	for (const struct node *n = blk->child; n != NULL; n = n->next) {
		if (n->block && is_word(&n->toks[0], "alarm")) {
			alarm_block(l, n);
			continue;
		}
		if (n->block && is_word(&n->toks[0], "filter_set")) {
			filter_set_block(l, n);
			continue;
		}
		if (n->block) {
			err(l, &n->toks[0], "unexpected block '%s' in the artmon section "
			    "(expected settings such as 'interface = \"eth0\";', 'alarm N { ... }' "
			    "or 'filter_set NAME { ... }')",
			    n->toks[0].text);
			continue;
		}
		if (get_assign(l, n, &kv) == 0)
			artmon_setting(l, &kv);
	}
}

static void
pastmon_section(struct ld *l, const struct node *blk)
{
	struct am_settings *s = &l->cfg->set;
	struct kv kv;
	uint64_t u;
	int64_t d;
	char *str;

	for (const struct node *n = blk->child; n != NULL; n = n->next) {
		const struct tok *k = &n->toks[0];
		if (n->block) {
			warn(l, k, "block '%s' in the pastmon section is not used by artmon; ignored",
			     k->text);
			continue;
		}
		if (is_word(k, "load") || is_word(k, "output")) {
			warn(l, k, "'%s' names a PasTmon plugin library; artmon has its parts "
			     "built in (ignored)", k->text);
			continue;
		}
		if (get_assign(l, n, &kv) < 0)
			continue;
		if (is_word(k, "user")) {
			if ((str = val_string(l, &kv)) != NULL && !l->art_user)
				s->user = str;
		} else if (is_word(k, "group")) {
			if ((str = val_string(l, &kv)) != NULL && !l->art_group)
				s->group = str;
		} else if (is_word(k, "netmasklen")) {
			if (val_uint(l, &kv, 0, 32, &u) == 0 && !l->art_mask4)
				s->netmasklen = (uint8_t)u;
		} else if (is_word(k, "netmasklen6")) {
			if (val_uint(l, &kv, 0, 128, &u) == 0 && !l->art_mask6)
				s->netmasklen6 = (uint8_t)u;
		} else if (is_word(k, "summary_interval")) {
			if (val_duration(l, &kv, AM_USEC, &d) == 0)
				s->interval = d;
		} else if (is_word(k, "enable_p0f")) {
			warn(l, k, "p0f fingerprinting is not part of artmon; 'enable_p0f' ignored");
		} else if (is_word(k, "collect_internal")) {
			warn(l, k, "'collect_internal' ignored: artmon always counts its own "
			     "statistics");
		} else {
			warn(l, k, "setting '%s' of the pastmon section is not used by artmon; ignored",
			     k->text);
		}
	}
}

/* ------------------------------------------------------------------ */
/* addresses and ports */

struct hostspec {
	uint8_t given4, given6, any4, any6;
	uint32_t n, cap;
	struct am_prefix *v;
};

/* Joins the words of an item ("8000 - 8010" and "8000-8010" alike). */
static char *
item_text(struct ld *l, const struct item *it)
{
	size_t len = 0;
	char *out;

	for (uint32_t i = 0; i < it->n; i++)
		len += it->t[i].len;
	out = arena_alloc(l->a, len + 1);
	len = 0;
	for (uint32_t i = 0; i < it->n; i++) {
		const char *v = tok_value(l, &it->t[i]);
		size_t vl = strlen(v);
		memcpy(out + len, v, vl);
		len += vl;
	}
	out[len] = '\0';
	return out;
}

static void
host_setting(struct ld *l, const struct kv *kv, struct hostspec *h, int fam)
{
	const char *k = kv->key->text;
	char b[96];

	if (want_eq(l, kv) < 0)
		return;
	/* the last statement for a family wins */
	if (fam == AM_AF_INET) {
		h->given4 = 1;
		h->any4 = 0;
	} else {
		h->given6 = 1;
		h->any6 = 0;
	}
	for (uint32_t i = 0; i < h->n;) {
		if (h->v[i].net.family == fam)
			h->v[i] = h->v[--h->n];
		else
			i++;
	}
	for (uint32_t i = 0; i < kv->nitems; i++) {
		const struct item *it = &kv->items[i];
		char *s = item_text(l, it), *slash;
		struct am_prefix p;
		unsigned maxbits = fam == AM_AF_INET ? 32 : 128;
		uint64_t bits = maxbits;

		if (strcasecmp(s, "any") == 0) {
			if (fam == AM_AF_INET)
				h->any4 = 1;
			else
				h->any6 = 1;
			continue;
		}
		slash = strchr(s, '/');
		if (slash != NULL) {
			*slash = '\0';
			if (parse_u64(slash + 1, &bits) < 0 || bits > maxbits) {
				err(l, it->t, "expected a prefix length from 0 to %u after '/' in '%s', "
				    "got '%.20s'", maxbits, k, slash + 1);
				continue;
			}
		}
		memset(&p, 0, sizeof(p));
		if (am_addr_parse(s, &p.net) < 0) {
			err(l, it->t, "expected any, an address or an address/prefix for '%s', got %s",
			    k, desc(it->t, b, sizeof(b)));
			continue;
		}
		if (p.net.family != fam) {
			err(l, it->t, "expected an %s address for '%s' (use %s for %s addresses)",
			    fam == AM_AF_INET ? "IPv4" : "IPv6", k,
			    fam == AM_AF_INET ? "Server_ip6/Client_ip6" : "Server_ip/Client_ip",
			    fam == AM_AF_INET ? "IPv6" : "IPv4");
			continue;
		}
		p.bits = (uint8_t)bits;
		am_addr_mask(&p.net, p.bits);
		if (h->n == h->cap) {
			uint32_t nc = h->cap ? h->cap * 2 : 4;
			h->v = arena_grow(l->a, h->v, h->n, nc, sizeof(*h->v));
			h->cap = nc;
		}
		h->v[h->n++] = p;
	}
}

/* A family not mentioned matches every address, unless the other family is
 * restricted to given addresses: then it matches none. */
static void
host_finish(const struct hostspec *h, struct am_hostmatch *m)
{
	uint32_t n4 = 0, n6 = 0;

	for (uint32_t i = 0; i < h->n; i++) {
		if (h->v[i].net.family == AM_AF_INET)
			n4++;
		else
			n6++;
	}
	m->any4 = h->given4 ? h->any4 : !(h->given6 && !h->any6 && n6 > 0);
	m->any6 = h->given6 ? h->any6 : !(h->given4 && !h->any4 && n4 > 0);
	m->n = h->n;
	m->v = h->v;
}

static void
port_setting(struct ld *l, const struct kv *kv, struct am_portmatch *pm)
{
	const char *k = kv->key->text;
	struct am_portrange *v;
	uint32_t n = 0, cap = 0;

	if (want_eq(l, kv) < 0)
		return;
	pm->any = 0;
	pm->n = 0;
	v = NULL;
	for (uint32_t i = 0; i < kv->nitems; i++) {
		const struct item *it = &kv->items[i];
		char *s = item_text(l, it);
		char *save = NULL, *part;

		if (strcasecmp(s, "any") == 0) {
			pm->any = 1;
			continue;
		}
		/* a string may hold a list: "80,8080 8000-8010" */
		for (part = strtok_r(s, ", \t", &save); part != NULL;
		     part = strtok_r(NULL, ", \t", &save)) {
			char *dash = strchr(part + (part[0] == '-'), '-');
			uint64_t lo, hi;
			if (dash != NULL)
				*dash = '\0';
			if (parse_u64(part, &lo) < 0 || (dash != NULL && parse_u64(dash + 1, &hi) < 0)) {
				err(l, it->t, "expected any, a port, a list of ports or a range "
				    "such as 8000-8010 for '%s'", k);
				break;
			}
			if (dash == NULL)
				hi = lo;
			if (lo > 65535 || hi > 65535 || lo > hi) {
				err(l, it->t, "expected ports from 0 to 65535 (low-high) for '%s'", k);
				break;
			}
			if (n == cap) {
				uint32_t nc = cap ? cap * 2 : 4;
				v = arena_grow(l->a, v, n, nc, sizeof(*v));
				cap = nc;
			}
			v[n].lo = (uint16_t)lo;
			v[n].hi = (uint16_t)hi;
			n++;
		}
	}
	pm->n = n;
	pm->v = v;
}

/* ------------------------------------------------------------------ */
/* content */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Literal content: text with |hex bytes| and \" \\ \| escapes. */
static int
decode_literal(struct ld *l, const struct tok *t, struct am_content *c)
{
	uint8_t *out = arena_alloc(l->a, t->len + 1);
	uint32_t n = 0, i = 0;
	const char *s = t->text;

	while (i < t->len) {
		if (s[i] == '\\' && i + 1 < t->len &&
		    (s[i + 1] == '\\' || s[i + 1] == '"' || s[i + 1] == '|')) {
			out[n++] = (uint8_t)s[i + 1];
			i += 2;
		} else if (s[i] == '|') {
			uint32_t open = i;
			int hi = -1;
			i++;
			for (;;) {
				int v;
				if (i >= t->len) {
					diag_add(l->d, 1, t->file, t->line, t->col + 1 + open,
						 "expected '|' to end the hex bytes started here");
					return -1;
				}
				if (s[i] == '|') {
					i++;
					break;
				}
				if (s[i] == ' ' || s[i] == '\t') {
					if (hi >= 0) {
						diag_add(l->d, 1, t->file, t->line, t->col + 1 + i,
							 "expected a second hex digit, got a blank");
						return -1;
					}
					i++;
					continue;
				}
				v = hexval((unsigned char)s[i]);
				if (v < 0) {
					diag_add(l->d, 1, t->file, t->line, t->col + 1 + i,
						 "expected a hex digit or '|' in hex bytes, got '%c'",
						 isprint((unsigned char)s[i]) ? s[i] : '?');
					return -1;
				}
				if (hi < 0) {
					hi = v;
				} else {
					out[n++] = (uint8_t)(hi << 4 | v);
					hi = -1;
				}
				i++;
			}
			if (hi >= 0) {
				diag_add(l->d, 1, t->file, t->line, t->col + i,
					 "expected an even number of hex digits before '|'");
				return -1;
			}
			if (i == open + 2) {
				diag_add(l->d, 1, t->file, t->line, t->col + 1 + open,
					 "expected hex bytes between '|' and '|'");
				return -1;
			}
		} else {
			out[n++] = (uint8_t)s[i++];
		}
	}
	if (n == 0) {
		err(l, t, "expected some bytes to look for: Content is empty");
		return -1;
	}
	c->kind = AM_CONTENT_LITERAL;
	c->lit = out;
	c->litlen = n;
	return 0;
}

/* Regex source: the string as written, with \" meaning ". */
static char *
regex_source(struct ld *l, const struct tok *t)
{
	char *out = arena_alloc(l->a, t->len + 1), *o = out;

	for (uint32_t i = 0; i < t->len; i++) {
		if (t->text[i] == '\\' && i + 1 < t->len && t->text[i + 1] == '"')
			i++;
		*o++ = t->text[i];
	}
	*o = '\0';
	return out;
}

static void
content_setting(struct ld *l, const struct kv *kv, struct am_content *c)
{
	const struct item *it = &kv->items[0];
	const struct tok *str = NULL;
	int is_re = kv->op->type == TK_MATCH;
	char b[96];

	if (c->kind != AM_CONTENT_NONE)
		warn(l, kv->key, "Content given again; the last one is used");
	if (c->re != NULL) {
		re_free(c->re);
		c->re = NULL;
	}
	c->kind = AM_CONTENT_NONE;
	c->loc.file = kv->key->file;
	c->loc.line = kv->key->line;
	c->loc.col = kv->key->col;
	if (!is_re && it->n >= 2 && it->t[0].type == TK_WORD &&
	    (strcasecmp(it->t[0].text, "regex:") == 0 ||
	     (strcasecmp(it->t[0].text, "regex") == 0 && strcmp(it->t[1].text, ":") == 0))) {
		uint32_t want = it->t[0].text[5] == ':' ? 2 : 3;
		is_re = 1;
		str = &it->t[want - 1];
		if (it->n < want || str->type != TK_STRING) {
			str = &it->t[it->n < want ? it->n - 1 : want - 1];
			err(l, str, "expected a regex in double quotes after 'regex:', got %s",
			    desc(str, b, sizeof(b)));
			return;
		}
		if (it->n > want) {
			err(l, &it->t[want], "expected ',' or ';' after the regex, got %s",
			    desc(&it->t[want], b, sizeof(b)));
			return;
		}
	} else {
		str = &it->t[0];
		if (str->type != TK_STRING) {
			err(l, str, "expected a string, =~ \"regex\" or regex:\"regex\" for Content, "
			    "got %s", desc(str, b, sizeof(b)));
			return;
		}
		if (it->n > 1) {
			err(l, &it->t[1], "expected ',' or ';' after the Content string, got %s",
			    desc(&it->t[1], b, sizeof(b)));
			return;
		}
	}
	if (!is_re) {
		if (kv->nitems > 1) {
			err(l, kv->items[1].t, "regex flags given for a literal Content "
			    "(write Content =~ \"...\", flags for a regex)");
			return;
		}
		decode_literal(l, str, c);
		return;
	}
	uint32_t flags = 0;
	for (uint32_t i = 1; i < kv->nitems; i++) {
		const struct tok *f = kv->items[i].t;
		const char *fs = f->text;
		if (kv->items[i].n != 1 || (f->type != TK_WORD && f->type != TK_STRING)) {
			err(l, f, "expected regex flags (i, m, s, e), got %s", desc(f, b, sizeof(b)));
			return;
		}
		for (uint32_t j = 0; j < f->len; j++) {
			switch (fs[j]) {
			case 'i': flags |= AM_RE_CASELESS; break;
			case 'm': flags |= AM_RE_MULTILINE; break;
			case 's': flags |= AM_RE_DOTALL; break;
			case 'e': flags |= AM_RE_DOLLAR_ENDONLY; break;
			default:
				diag_add(l->d, 1, f->file, f->line,
					 f->col + j + (f->type == TK_STRING),
					 "expected a regex flag (i, m, s or e), got '%c'",
					 isprint((unsigned char)fs[j]) ? fs[j] : '?');
				return;
			}
		}
	}
	char *pat = regex_source(l, str);
	char ebuf[160];
	size_t eofs = 0;
	uint32_t ncap = 0;
	if (memchr(str->text, '\0', str->len) != NULL) {
		err(l, str, "a regex may not hold a NUL byte (write \\x00)");
		return;
	}
	if (pat[0] == '\0') {
		err(l, str, "expected a regex, got an empty string");
		return;
	}
	if (strstr(pat, "\xcb\x86") != NULL || strstr(pat, "\xcb\x9c") != NULL)
		warn(l, str, "the regex holds '\xcb\x86' or '\xcb\x9c' (U+02C6/U+02DC, from a PDF?): "
		     "'^' or '~' was probably meant");
	void *re = re_compile(pat, flags, ebuf, sizeof(ebuf), &eofs, &ncap);
	if (re == NULL) {
		diag_add(l->d, 1, str->file, str->line, str->col + 1 + (uint32_t)eofs,
			 "invalid regex: %s", ebuf);
		return;
	}
	c->kind = AM_CONTENT_REGEX;
	c->pattern = pat;
	c->re_flags = flags;
	c->re = re;
	c->captures = ncap;
}

/* Offset, Depth, Length, Content, Expect_data_bytes; 1 if the key was one of them. */
static int
content_key(struct ld *l, const struct kv *kv, struct am_content *c, const struct tok **expect_tok)
{
	const char *k = kv->key->text;
	uint64_t u;

	if (strcasecmp(k, "Offset") == 0) {
		if (val_uint(l, kv, 0, 65535, &u) == 0)
			c->offset = (uint32_t)u;
	} else if (strcasecmp(k, "Depth") == 0) {
		if (val_uint(l, kv, 0, 65535, &u) == 0)
			c->depth = (uint32_t)u;
	} else if (strcasecmp(k, "Length") == 0) {
		if (val_uint(l, kv, 0, 65535, &u) == 0) {
			c->length = (uint32_t)u;
			c->has_length = 1;
		}
	} else if (strcasecmp(k, "Content") == 0) {
		content_setting(l, kv, c);
	} else if (strcasecmp(k, "Expect_data_bytes") == 0) {
		const struct tok *t = one_value(l, kv);
		if (t == NULL)
			return 1;
		if (t->type == TK_WORD && t->text[0] == '$' && t->len == 2 &&
		    t->text[1] >= '1' && t->text[1] <= '9') {
			c->expect_var = (int8_t)(t->text[1] - '0');
			*expect_tok = t;
		} else if (t->type == TK_WORD && parse_u64(t->text, &u) == 0) {
			c->expect_var = -1;
			c->expect_const = u;
		} else {
			char b[96];
			err(l, t, "expected $1..$9 or a number for 'Expect_data_bytes', got %s",
			    desc(t, b, sizeof(b)));
		}
	} else {
		return 0;
	}
	return 1;
}

static void
content_check_expect(struct ld *l, const struct am_content *c, const struct tok *et)
{
	if (c->expect_var <= 0 || et == NULL)
		return;
	if (c->kind != AM_CONTENT_REGEX)
		err(l, et, "Expect_data_bytes = $%d needs a regex Content in the same block",
		    c->expect_var);
	else if ((uint32_t)c->expect_var > c->captures)
		err(l, et, "Expect_data_bytes = $%d but the regex has %u capturing group%s",
		    c->expect_var, c->captures, c->captures == 1 ? "" : "s");
}

/* ------------------------------------------------------------------ */
/* transactions and rules */

static const char *
block_name(struct ld *l, const struct node *blk, const char *what)
{
	char b[96];

	if (blk->ntoks < 2) {
		err(l, &blk->end, "expected a name for the %s before '{'", what);
		return NULL;
	}
	if (blk->ntoks > 2) {
		err(l, &blk->toks[2], "expected '{' after the %s name, got %s", what,
		    desc(&blk->toks[2], b, sizeof(b)));
		return NULL;
	}
	const struct tok *t = &blk->toks[1];
	if ((t->type != TK_WORD && t->type != TK_STRING) || t->len == 0) {
		err(l, t, "expected a %s name, got %s", what, desc(t, b, sizeof(b)));
		return NULL;
	}
	const char *name = tok_value(l, t);
	for (const char *p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '(' || *p == ')') {
			err(l, t, "a %s name may not hold control characters or parentheses", what);
			return NULL;
		}
	}
	if (memchr(t->text, '\0', t->len) != NULL || strlen(name) > 255) {
		err(l, t, "%s name too long (at most 255 bytes)", what);
		return NULL;
	}
	return name;
}

static void
merge_block(struct ld *l, const struct node *blk, struct am_merge *m)
{
	struct kv kv;
	const struct tok *et = NULL;

	m->loc.file = blk->toks[0].file;
	m->loc.line = blk->toks[0].line;
	m->loc.col = blk->toks[0].col;
	m->c.loc = m->loc;
	for (const struct node *n = blk->child; n != NULL; n = n->next) {
		if (n->block) {
			err(l, &n->toks[0], "unexpected block '%s' inside merge (expected Offset, "
			    "Depth, Length, Content or Expect_data_bytes)", n->toks[0].text);
			continue;
		}
		if (get_assign(l, n, &kv) < 0)
			continue;
		if (!content_key(l, &kv, &m->c, &et))
			err(l, kv.key, "unknown setting '%s' in merge (expected Offset, Depth, "
			    "Length, Content or Expect_data_bytes)", kv.key->text);
	}
	content_check_expect(l, &m->c, et);
}

static void
transaction_block(struct ld *l, const struct node *blk, struct am_txdef *tx)
{
	struct kv kv;
	const struct tok *et = NULL;
	uint32_t cap = 0;
	int v;
	static const char *const conv[] = { "none", "UpperCase", "LowerCase", NULL };

	tx->loc.file = blk->toks[0].file;
	tx->loc.line = blk->toks[0].line;
	tx->loc.col = blk->toks[0].col;
	tx->c.loc = tx->loc;
	tx->sig = -1;
	for (const struct node *n = blk->child; n != NULL; n = n->next) {
		if (n->block) {
			if (!is_word(&n->toks[0], "merge")) {
				err(l, &n->toks[0], "unexpected block '%s' inside transaction "
				    "(expected 'merge NAME { ... }')", n->toks[0].text);
				continue;
			}
			const char *name = block_name(l, n, "merge");
			if (name == NULL)
				continue;
			if (tx->nmerge >= 32) {
				err(l, &n->toks[0], "too many merge blocks (at most 32 per transaction)");
				continue;
			}
			if (tx->nmerge == cap) {
				uint32_t nc = cap ? cap * 2 : 2;
				tx->merge = arena_grow(l->a, tx->merge, tx->nmerge, nc, sizeof(*tx->merge));
				cap = nc;
			}
			struct am_merge *m = &tx->merge[tx->nmerge++];
			m->name = (char *)name;
			merge_block(l, n, m);
			continue;
		}
		if (get_assign(l, n, &kv) < 0)
			continue;
		if (content_key(l, &kv, &tx->c, &et))
			continue;
		if (strcasecmp(kv.key->text, "ConvMatchVars") == 0) {
			if ((v = val_choice(l, &kv, conv)) >= 0)
				tx->conv = (enum am_conv)v;
		} else if (strcasecmp(kv.key->text, "Ignore") == 0) {
			if (val_bool(l, &kv, &v) == 0)
				tx->ignore = (uint8_t)v;
		} else {
			err(l, kv.key, "unknown setting '%s' in transaction (expected Offset, Depth, "
			    "Length, Content, ConvMatchVars, Ignore, Expect_data_bytes or merge)",
			    kv.key->text);
		}
	}
	content_check_expect(l, &tx->c, et);
	/* $n in the name */
	for (const char *p = tx->name; *p; p++) {
		if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
			unsigned nvar = (unsigned)(p[1] - '0');
			tx->has_vars = 1;
			if (tx->c.kind != AM_CONTENT_REGEX) {
				err(l, &blk->toks[1], "the name '%s' uses $%u but the transaction has no "
				    "regex Content to fill it", tx->name, nvar);
				break;
			}
			if (nvar > tx->c.captures) {
				err(l, &blk->toks[1], "the name '%s' uses $%u but the regex has %u "
				    "capturing group%s", tx->name, nvar, tx->c.captures,
				    tx->c.captures == 1 ? "" : "s");
				break;
			}
		}
	}
	if (tx->conv != AM_CONV_NONE && !tx->has_vars)
		warn(l, &blk->toks[0], "ConvMatchVars has no effect: the name '%s' uses no $n",
		     tx->name);
}

static void
rule_defaults_init(struct rule_defaults *d)
{
	d->summarise = AM_SUMMARISE_IP;
	d->wait_for_syn = -1;
	d->del_session = 1;
	d->rst_as_fin = 0;
	d->cutoff = 0;
	d->hash = 0;
	d->mask4 = -1;
	d->mask6 = -1;
}

/* Settings valid both in a plugin section and in a rule; 1 if handled. */
static int
common_rule_key(struct ld *l, const struct kv *kv, struct rule_defaults *d)
{
	static const char *const summ[] = { "ip", "port", NULL };
	const char *k = kv->key->text;
	uint64_t u;
	int v;

#define KEY(name) (strcasecmp(k, name) == 0)
	if (KEY("Summarise_by") || KEY("Summarize_by")) {
		if ((v = val_choice(l, kv, summ)) >= 0)
			d->summarise = v;
	} else if (KEY("WaitforSYN")) {
		if (val_bool(l, kv, &v) == 0)
			d->wait_for_syn = v;
	} else if (KEY("DelSessionOnCutoff")) {
		if (val_bool(l, kv, &v) == 0)
			d->del_session = v;
		warn(l, kv->key, "'DelSessionOnCutoff' is not applied: a connection stays "
		    "tracked until it closes or idles out");
	} else if (KEY("ClientRSTasFIN")) {
		if (val_bool(l, kv, &v) == 0)
			d->rst_as_fin = v;
	} else if (KEY("Cutoff")) {
		if (val_uint(l, kv, 1, 86400 * 365, &u) == 0)
			d->cutoff = (int64_t)u * AM_USEC;
		warn(l, kv->key, "'Cutoff' is not applied: an unanswered request is reported "
		    "as a timeout when its connection has been idle for 600 s");
	} else if (KEY("SessionHashSize")) {
		if (val_uint(l, kv, 1, 1u << 28, &u) == 0)
			d->hash = (int64_t)u;
	} else if (KEY("netmasklen")) {
		if (val_uint(l, kv, 0, 32, &u) == 0)
			d->mask4 = (int)u;
	} else if (KEY("netmasklen6")) {
		if (val_uint(l, kv, 0, 128, &u) == 0)
			d->mask6 = (int)u;
	} else {
		return 0;
	}
#undef KEY
	return 1;
}

static void
rule_block(struct ld *l, const struct node *blk, enum am_plugin plugin,
	   const struct rule_defaults *pd, struct am_rule *r)
{
	static const char *const timing[] = { "signature", "adu", NULL };
	static const char *const nameby[] = { "signature", "sni", NULL };
	static const char *const framing[] = { "none", "http", "resp", "pgsql", "mysql",
		"memcache", "dns-tcp", "tls", NULL };
	struct rule_defaults d = *pd;
	struct hostspec server, client;
	struct kv kv;
	uint32_t cap = 0;
	int v;

	memset(&server, 0, sizeof(server));
	memset(&client, 0, sizeof(client));
	r->loc.file = blk->toks[0].file;
	r->loc.line = blk->toks[0].line;
	r->loc.col = blk->toks[0].col;
	r->plugin = plugin;
	r->server_port.any = 1;
	r->client_port.any = 1;
	for (const struct node *n = blk->child; n != NULL; n = n->next) {
		const struct tok *k = &n->toks[0];
		if (n->block) {
			if (!is_word(k, "transaction")) {
				err(l, k, "unexpected block '%s' inside rule (expected "
				    "'transaction NAME { ... }')", k->text);
				continue;
			}
			const char *name = block_name(l, n, "transaction");
			if (name == NULL)
				continue;
			if (plugin == AM_PLUGIN_TCPSYNACK) {
				warn(l, k, "transaction '%s' in a tcpsynack rule: handshake rules "
				     "time the handshake only; ignored", name);
				continue;
			}
			if (r->ntx >= 4096) {
				err(l, k, "too many transactions in rule '%s' (at most 4096)", r->name);
				continue;
			}
			if (r->ntx == cap) {
				uint32_t nc = cap ? cap * 2 : 8;
				r->tx = arena_grow(l->a, r->tx, r->ntx, nc, sizeof(*r->tx));
				cap = nc;
			}
			struct am_txdef *tx = &r->tx[r->ntx++];
			tx->name = (char *)name;
			transaction_block(l, n, tx);
			continue;
		}
		if (get_assign(l, n, &kv) < 0)
			continue;
		if (common_rule_key(l, &kv, &d))
			continue;
		if (is_word(k, "Server_ip"))
			host_setting(l, &kv, &server, AM_AF_INET);
		else if (is_word(k, "Server_ip6"))
			host_setting(l, &kv, &server, AM_AF_INET6);
		else if (is_word(k, "Client_ip"))
			host_setting(l, &kv, &client, AM_AF_INET);
		else if (is_word(k, "Client_ip6"))
			host_setting(l, &kv, &client, AM_AF_INET6);
		else if (is_word(k, "Server_port"))
			port_setting(l, &kv, &r->server_port);
		else if (is_word(k, "Client_port"))
			port_setting(l, &kv, &r->client_port);
		else if (is_word(k, "Timing")) {
			if ((v = val_choice(l, &kv, timing)) >= 0)
				r->timing = (enum am_timing)v;
		} else if (is_word(k, "Name_by")) {
			if ((v = val_choice(l, &kv, nameby)) >= 0)
				r->name_by = (enum am_name_by)v;
		} else if (is_word(k, "Framing")) {
			if ((v = val_choice(l, &kv, framing)) >= 0)
				r->framing = (enum am_framing)v;
		} else {
			err(l, k, "unknown setting '%s' in rule (expected Summarise_by, Server_ip, "
			    "Server_ip6, Server_port, Client_ip, Client_ip6, Client_port, WaitforSYN, "
			    "DelSessionOnCutoff, Cutoff, ClientRSTasFIN, SessionHashSize, netmasklen, "
			    "netmasklen6, Timing, Name_by, Framing or a transaction)", k->text);
		}
	}
	host_finish(&server, &r->server);
	host_finish(&client, &r->client);
	r->summarise = (enum am_summarise)d.summarise;
	r->wait_for_syn = d.wait_for_syn != 0;
	r->wait_for_syn_given = d.wait_for_syn >= 0;
	r->del_session_on_cutoff = (uint8_t)d.del_session;
	r->client_rst_as_fin = (uint8_t)d.rst_as_fin;
	r->cutoff = d.cutoff;
	r->session_hash_size = (uint32_t)d.hash;
	/* 0xff: take the global value once every section is read */
	r->netmasklen = d.mask4 < 0 ? 0xff : (uint8_t)d.mask4;
	r->netmasklen6 = d.mask6 < 0 ? 0xff : (uint8_t)d.mask6;
	if (r->name_by == AM_NAME_BY_SNI && r->timing != AM_TIMING_ADU)
		warn(l, &blk->toks[0], "rule '%s': Name_by = \"sni\" is meant for payload-free "
		     "rules (Timing = \"adu\")", r->name);
	if (r->timing == AM_TIMING_ADU && r->ntx > 0)
		warn(l, &blk->toks[0], "rule '%s' is payload-free (Timing = \"adu\"): its "
		     "transactions are not used", r->name);
}

static void
add_rule(struct ld *l, const struct node *blk, enum am_plugin plugin,
	 const struct rule_defaults *pd)
{
	struct am_config *cfg = l->cfg;
	const char *name = block_name(l, blk, "rule");
	struct am_rule **arr = plugin == AM_PLUGIN_GENERIC ? &cfg->rules : &cfg->synack;
	uint32_t *n = plugin == AM_PLUGIN_GENERIC ? &cfg->nrules : &cfg->nsynack;
	uint32_t *cap = plugin == AM_PLUGIN_GENERIC ? &l->caprules : &l->capsynack;

	if (name == NULL)
		return;
	for (uint32_t i = 0; i < *n; i++) {
		if (strcmp((*arr)[i].name, name) == 0) {
			err(l, &blk->toks[1], "rule '%s' is already defined at %s:%u", name,
			    (*arr)[i].loc.file, (*arr)[i].loc.line);
			return;
		}
	}
	if (*n >= 65536) {
		err(l, &blk->toks[0], "too many rules (at most 65536)");
		return;
	}
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 16;
		*arr = arena_grow(l->a, *arr, *n, nc, sizeof(**arr));
		*cap = nc;
	}
	struct am_rule *r = &(*arr)[(*n)++];
	memset(r, 0, sizeof(*r));
	r->name = (char *)name;
	rule_block(l, blk, plugin, pd, r);
}

static void
plugin_section(struct ld *l, const struct node *blk, enum am_plugin plugin)
{
	struct rule_defaults d;
	struct kv kv;

	rule_defaults_init(&d);
	/* the section's own settings apply to all its rules, wherever they stand */
	for (const struct node *n = blk->child; n != NULL; n = n->next) {
		if (n->block)
			continue;
		if (get_assign(l, n, &kv) < 0)
			continue;
		if (!common_rule_key(l, &kv, &d))
			err(l, kv.key, "unknown setting '%s' in the %s section (expected "
			    "SessionHashSize, Cutoff, netmasklen, netmasklen6, Summarise_by, "
			    "WaitforSYN, DelSessionOnCutoff, ClientRSTasFIN or 'rule NAME { ... }')",
			    kv.key->text, blk->toks[0].text);
	}
	for (const struct node *n = blk->child; n != NULL; n = n->next) {
		if (!n->block)
			continue;
		if (is_word(&n->toks[0], "rule"))
			add_rule(l, n, plugin, &d);
		else if (is_word(&n->toks[0], "transaction"))
			err(l, &n->toks[0], "transaction outside a rule: expected "
			    "'rule NAME { ... }' around it");
		else
			err(l, &n->toks[0], "unexpected block '%s' in the %s section (expected "
			    "'rule NAME { ... }')", n->toks[0].text, blk->toks[0].text);
	}
}

static void
icmp_section(struct ld *l, const struct node *blk)
{
	struct am_icmp *ic = &l->cfg->icmp;
	struct kv kv;
	int v;
	static const struct { const char *name; size_t off; } sw[] = {
		{ "destination_unreachable", offsetof(struct am_icmp, destination_unreachable) },
		{ "source_quench", offsetof(struct am_icmp, source_quench) },
		{ "redirect", offsetof(struct am_icmp, redirect) },
		{ "time_exceeded", offsetof(struct am_icmp, time_exceeded) },
		{ "parameter_problem", offsetof(struct am_icmp, parameter_problem) },
		{ "conversion_error", offsetof(struct am_icmp, conversion_error) },
		{ "the_rest", offsetof(struct am_icmp, the_rest) },
	};

	/* a switch not given counts its errors */
	ic->present = 1;
	for (size_t i = 0; i < sizeof(sw) / sizeof(sw[0]); i++)
		*((uint8_t *)ic + sw[i].off) = 1;
	for (const struct node *n = blk->child; n != NULL; n = n->next) {
		size_t i;
		if (n->block) {
			err(l, &n->toks[0], "unexpected block '%s' in the ICMP section",
			    n->toks[0].text);
			continue;
		}
		if (get_assign(l, n, &kv) < 0)
			continue;
		for (i = 0; i < sizeof(sw) / sizeof(sw[0]); i++)
			if (is_word(kv.key, sw[i].name))
				break;
		if (i == sizeof(sw) / sizeof(sw[0])) {
			err(l, kv.key, "unknown setting '%s' in the ICMP section (expected "
			    "destination_unreachable, source_quench, redirect, time_exceeded, "
			    "parameter_problem, conversion_error or the_rest)", kv.key->text);
			continue;
		}
		if (val_bool(l, &kv, &v) == 0)
			*((uint8_t *)ic + sw[i].off) = (uint8_t)v;
	}
}

static void
top_level(struct ld *l, const struct node *top)
{
	struct rule_defaults d;
	char b[96];

	rule_defaults_init(&d);
	/* artmon { } first so that its user/group/netmasklen win wherever it stands */
	for (const struct node *n = top; n != NULL; n = n->next)
		if (n->block && n->ntoks == 1 && is_word(&n->toks[0], "artmon"))
			artmon_section(l, n);
	if (l->cfg->set.top_n > 0 && l->cfg->set.top_capacity < l->cfg->set.top_n)
		err(l, l->top_cap_tok ? l->top_cap_tok : l->top_n_tok,
		    "top_capacity (%u) must be at least top_n (%u)", l->cfg->set.top_capacity,
		    l->cfg->set.top_n);
	for (const struct node *n = top; n != NULL; n = n->next) {
		const struct tok *k = &n->toks[0];
		if (!n->block) {
			err(l, k, "expected a section such as 'artmon { ... }', 'generic { ... }' "
			    "or 'rule NAME { ... }' at the top level, got %s", desc(k, b, sizeof(b)));
			continue;
		}
		if (is_word(k, "rule")) {
			add_rule(l, n, AM_PLUGIN_GENERIC, &d);
			continue;
		}
		if (is_word(k, "transaction")) {
			err(l, k, "transaction outside a rule: expected 'rule NAME { ... }' around it");
			continue;
		}
		if (n->ntoks != 1 || k->type != TK_WORD) {
			const struct tok *t = n->ntoks > 1 ? &n->toks[1] : k;
			err(l, t, "expected '{' after the section name %s, got %s",
			    desc(k, b, sizeof(b)), desc(t, b + 48, sizeof(b) - 48));
			continue;
		}
		if (is_word(k, "artmon"))
			continue;
		else if (is_word(k, "pastmon"))
			pastmon_section(l, n);
		else if (is_word(k, "generic"))
			plugin_section(l, n, AM_PLUGIN_GENERIC);
		else if (is_word(k, "tcpsynack"))
			plugin_section(l, n, AM_PLUGIN_TCPSYNACK);
		else if (is_word(k, "ICMP"))
			icmp_section(l, n);
		else if (strncasecmp(k->text, "output", 6) == 0)
			warn(l, k, "section '%s' configures a PasTmon database output; artmon keeps "
			     "its own store (ignored)", k->text);
		else if (is_word(k, "active_agents"))
			warn(l, k, "section 'active_agents' (PasTmon active agents) is not part of "
			     "artmon; ignored");
		else if (is_word(k, "transaction"))
			err(l, k, "transaction outside a rule: expected 'rule NAME { ... }' around it");
		else
			warn(l, k, "unknown section '%s' ignored (artmon reads artmon, pastmon, "
			     "generic, tcpsynack, ICMP and rule)", k->text);
	}
}

/* ------------------------------------------------------------------ */

static void
finish_rules(struct ld *l, struct am_rule *v, uint32_t n)
{
	const struct am_settings *s = &l->cfg->set;

	for (uint32_t i = 0; i < n; i++) {
		if (v[i].netmasklen == 0xff)
			v[i].netmasklen = s->netmasklen;
		if (v[i].netmasklen6 == 0xff)
			v[i].netmasklen6 = s->netmasklen6;
	}
}

static void
assign_signatures(struct am_config *cfg)
{
	for (uint32_t i = 0; i < cfg->nrules; i++) {
		struct am_rule *r = &cfg->rules[i];
		r->sig_other = rt_sig_add(cfg->rt, (int)i, AM_SIG_OTHER_NAME,
					  strlen(AM_SIG_OTHER_NAME));
		for (uint32_t j = 0; j < r->ntx; j++) {
			struct am_txdef *tx = &r->tx[j];
			if (tx->ignore)
				tx->sig = AM_SIG_IGNORE;
			else if (!tx->has_vars)
				tx->sig = rt_sig_add(cfg->rt, (int)i, tx->name, strlen(tx->name));
		}
		r->sig_overflow = rt_sig_add(cfg->rt, (int)i, AM_SIG_OVERFLOW_NAME,
					     strlen(AM_SIG_OVERFLOW_NAME));
	}
	for (uint32_t i = 0; i < cfg->nsynack; i++)
		cfg->synack[i].sig_other = cfg->synack[i].sig_overflow = AM_SIG_NONE;
}

static void
free_regexes(struct am_rule *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t j = 0; j < v[i].ntx; j++) {
			struct am_txdef *tx = &v[i].tx[j];
			re_free(tx->c.re);
			tx->c.re = NULL;
			for (uint32_t k = 0; k < tx->nmerge; k++) {
				re_free(tx->merge[k].c.re);
				tx->merge[k].c.re = NULL;
			}
		}
	}
}

void
am_config_free(struct am_config *cfg)
{
	if (cfg == NULL)
		return;
	free_regexes(cfg->rules, cfg->nrules);
	free_regexes(cfg->synack, cfg->nsynack);
	rt_free(cfg->rt);
	arena_free(cfg->arena);
}

struct am_config *
conf_build(struct node *top, struct parser *p, const char *path, uint32_t errors_before)
{
	struct ld l;
	struct am_config *cfg;

	cfg = arena_alloc(p->keep, sizeof(*cfg));
	cfg->arena = p->keep;
	cfg->path = arena_strdup(p->keep, path);
	am_settings_default(&cfg->set);
	memset(&l, 0, sizeof(l));
	l.cfg = cfg;
	l.a = p->keep;
	l.d = p->diags;
	top_level(&l, top);
	finish_rules(&l, cfg->rules, cfg->nrules);
	finish_rules(&l, cfg->synack, cfg->nsynack);
	cfg->files = p->files;
	cfg->nfiles = p->nfiles;
	if (cfg->nrules == 0 && cfg->nsynack == 0 && !cfg->icmp.present && p->diags->errors == 0)
		diag_add(p->diags, 0, path, 0, 0, "no rules: nothing will be measured "
			 "by signature (every connection falls to payload-free timing)");
	if (p->diags->errors > errors_before) {
		am_config_free(cfg);
		return NULL;
	}
	cfg->rt = rt_new(cfg);
	assign_signatures(cfg);
	return cfg;
}

/* Messages in the order of the text: by file (first mentioned first), line, column. */
static void
sort_diags(struct am_diags *d, size_t first)
{
	size_t n = d->n - first;
	uint32_t *fidx;
	struct am_diag *v, tmp;

	if (n < 2)
		return;
	v = d->v + first;
	fidx = am_xcalloc(n, sizeof(*fidx));
	for (size_t i = 0; i < n; i++) {
		fidx[i] = (uint32_t)i;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(v[j].file, v[i].file) == 0) {
				fidx[i] = fidx[j];
				break;
			}
		}
	}
	/* insertion sort: stable, and the lists are short */
	for (size_t i = 1; i < n; i++) {
		uint32_t fi = fidx[i];
		size_t j = i;
		tmp = v[i];
		while (j > 0 && (fidx[j - 1] > fi ||
				 (fidx[j - 1] == fi && (v[j - 1].line > tmp.line ||
				  (v[j - 1].line == tmp.line && v[j - 1].col > tmp.col))))) {
			v[j] = v[j - 1];
			fidx[j] = fidx[j - 1];
			j--;
		}
		v[j] = tmp;
		fidx[j] = fi;
	}
	free(fidx);
}

static struct am_config *
load(const char *name, const char *text, size_t len, struct am_diags *diags)
{
	struct parser p;
	struct node *top;
	struct am_config *cfg;
	uint32_t errors_before = diags->errors;
	size_t first = diags->n;

	memset(&p, 0, sizeof(p));
	p.arena = arena_new();
	p.keep = arena_new();
	p.diags = diags;
	if (text != NULL)
		top = parse_mem(&p, name, text, len);
	else
		top = parse_file(&p, name, NULL);
	if (text == NULL && p.nfiles == 0) {
		/* the top file could not be read */
		arena_free(p.arena);
		arena_free(p.keep);
		return NULL;
	}
	cfg = conf_build(top, &p, name, errors_before);    /* frees p.keep on failure */
	arena_free(p.arena);
	sort_diags(diags, first);
	return cfg;
}

struct am_config *
am_config_load(const char *path, struct am_diags *diags)
{
	return load(path, NULL, 0, diags);
}

struct am_config *
am_config_load_mem(const char *name, const char *text, size_t len, struct am_diags *diags)
{
	return load(name, text, len, diags);
}
