/* Records, totals and keys: merging and their byte forms in LMDB. */
#include "config.h"

#include <string.h>

#include "store/store.h"
#include "store/codec.h"

static const char *const timing_names[AM_T__COUNT] = {
	"first", "last", "ack", "think", "rtt"
};

const char *
am_timing_name(enum am_timing_id t)
{
	return (unsigned)t < AM_T__COUNT ? timing_names[t] : "?";
}

/* --- keys ------------------------------------------------------------------ */

static void
copy_name(char *dst, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	memset(dst, 0, AM_NAME_MAX);
	if (n > AM_NAME_MAX - 1)
		n = AM_NAME_MAX - 1;
	if (n)
		memcpy(dst, src, n);
}

static void
mask(struct am_addr *a, unsigned len4, unsigned len6)
{
	if (a->family == AM_AF_INET && len4 < 32)
		am_addr_mask(a, len4);
	else if (a->family == AM_AF_INET6 && len6 < 128)
		am_addr_mask(a, len6);
}

void
am_agg_key_make(struct am_agg_key *k, const struct am_conn *conn, const char *rule,
    const char *signature, unsigned masklen4, unsigned masklen6, enum am_agg_by by)
{
	memset(k, 0, sizeof(*k));
	k->server = conn->server;
	mask(&k->server, masklen4, masklen6);
	k->server_port = conn->server_port;
	k->by = (uint8_t)by;
	if (by == AM_BY_CLIENT) {
		k->client = conn->client;
		mask(&k->client, masklen4, masklen6);
	} else if (by == AM_BY_CLIENT_PORT) {
		k->client_port = conn->client_port;
	} else {
		k->by = AM_BY_SERVER;
	}
	copy_name(k->signature, signature);
	copy_name(k->rule, rule);
}

void
am_agg_key_overflow(struct am_agg_key *k, const char *rule)
{
	memset(k, 0, sizeof(*k));
	k->overflow = 1;
	copy_name(k->signature, rule);
	copy_name(k->rule, rule);
}

static size_t
addr_len(uint8_t family)
{
	return family == AM_AF_INET ? 4 : family == AM_AF_INET6 ? 16 : 0;
}

/* Layout: server type (1 ipv4, 2 ipv6, 0 none: the InetAddressType
 * values), address length, address, port (BE16), overflow, by, client type,
 * client address length, client address, client port (BE16), signature
 * length, signature. */
static uint8_t
inet_type(uint8_t family)
{
	return family == AM_AF_INET ? 1 : family == AM_AF_INET6 ? 2 : 0;
}

size_t
am_agg_key_encode(const struct am_agg_key *k, uint8_t *buf)
{
	size_t p = 0, l, sl;

	buf[p++] = inet_type(k->server.family);
	l = addr_len(k->server.family);
	buf[p++] = (uint8_t)l;
	memcpy(buf + p, k->server.a, l);
	p += l;
	buf[p++] = (uint8_t)(k->server_port >> 8);
	buf[p++] = (uint8_t)k->server_port;
	buf[p++] = k->overflow;
	buf[p++] = k->by;
	buf[p++] = inet_type(k->client.family);
	l = addr_len(k->client.family);
	buf[p++] = (uint8_t)l;
	memcpy(buf + p, k->client.a, l);
	p += l;
	buf[p++] = (uint8_t)(k->client_port >> 8);
	buf[p++] = (uint8_t)k->client_port;
	sl = strnlen(k->signature, AM_NAME_MAX - 1);
	buf[p++] = (uint8_t)sl;
	memcpy(buf + p, k->signature, sl);
	p += sl;
	return p;
}

static int
get_addr(struct am_addr *a, const uint8_t *buf, size_t len, size_t *p)
{
	uint8_t type, l;

	if (len - *p < 2)
		return -1;
	type = buf[(*p)++];
	l = buf[(*p)++];
	memset(a, 0, sizeof(*a));
	if (type > 2 || l != (type == 1 ? 4 : type == 2 ? 16 : 0) || len - *p < l)
		return -1;
	a->family = type == 1 ? AM_AF_INET : type == 2 ? AM_AF_INET6 : 0;
	memcpy(a->a, buf + *p, l);
	*p += l;
	return 0;
}

int
am_agg_key_decode(struct am_agg_key *k, const uint8_t *buf, size_t len)
{
	size_t p = 0;
	uint8_t sl;

	memset(k, 0, sizeof(*k));
	if (get_addr(&k->server, buf, len, &p) < 0 || len - p < 4)
		goto malformed;
	k->server_port = (uint16_t)(buf[p] << 8 | buf[p + 1]);
	k->overflow = buf[p + 2];
	k->by = buf[p + 3];
	p += 4;
	if (k->overflow > 1 || k->by > AM_BY_CLIENT_PORT)
		goto malformed;
	if (get_addr(&k->client, buf, len, &p) < 0 || len - p < 3)
		goto malformed;
	k->client_port = (uint16_t)(buf[p] << 8 | buf[p + 1]);
	sl = buf[p + 2];
	p += 3;
	if (sl > AM_NAME_MAX - 1 || len - p != sl || memchr(buf + p, 0, sl))
		goto malformed;
	memcpy(k->signature, buf + p, sl);
	return 0;
malformed:
	memset(k, 0, sizeof(*k));
	return -1;
}

/* --- records --------------------------------------------------------------- */

void
am_rec_init(struct am_rec *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < AM_T__COUNT; i++)
		am_hist_init(&r->t[i]);
}

void
am_rec_free(struct am_rec *r)
{
	for (int i = 0; i < AM_T__COUNT; i++)
		am_hist_free(&r->t[i]);
	am_rec_init(r);
}

void
am_rec_reset(struct am_rec *r)
{
	for (int i = 0; i < AM_T__COUNT; i++)
		am_hist_reset(&r->t[i]);
	r->count = 0;
	memset(r->bytes, 0, sizeof(r->bytes));
	memset(r->pkts, 0, sizeof(r->pkts));
	memset(r->outcome, 0, sizeof(r->outcome));
	r->retrans = r->gap_bytes = 0;
}

void
am_rec_merge(struct am_rec *dst, const struct am_rec *src)
{
	int i;

	dst->count += src->count;
	for (i = 0; i < AM_T__COUNT; i++)
		am_hist_merge(&dst->t[i], &src->t[i]);
	for (i = 0; i < 2; i++) {
		dst->bytes[i] += src->bytes[i];
		dst->pkts[i] += src->pkts[i];
	}
	for (i = 0; i < AM_OUT__COUNT; i++)
		dst->outcome[i] += src->outcome[i];
	dst->retrans += src->retrans;
	dst->gap_bytes += src->gap_bytes;
}

#define REC_VERSION 2

/* version, count, AM_T__COUNT, each timing's hist encoding (self-delimiting),
 * bytes[2], pkts[2], AM_OUT__COUNT, outcomes, retrans, gap_bytes. */
size_t
am_rec_encode_bound(const struct am_rec *r)
{
	size_t n = 1 + 10 + 1 + 4 * 10 + 1 + AM_OUT__COUNT * 10 + 2 * 10;

	for (int i = 0; i < AM_T__COUNT; i++)
		n += am_hist_encode_bound(&r->t[i]);
	return n;
}

size_t
am_rec_encode(const struct am_rec *r, uint8_t *buf, size_t len)
{
	struct am_wbuf w = { buf, len, 0 };
	int i;

	am_put_byte(&w, REC_VERSION);
	am_put_varint(&w, r->count);
	am_put_varint(&w, AM_T__COUNT);
	for (i = 0; i < AM_T__COUNT; i++) {
		size_t room = w.p && w.pos < w.len ? w.len - w.pos : 0;
		w.pos += am_hist_encode(&r->t[i], room ? w.p + w.pos : NULL, room);
	}
	for (i = 0; i < 2; i++)
		am_put_varint(&w, r->bytes[i]);
	for (i = 0; i < 2; i++)
		am_put_varint(&w, r->pkts[i]);
	am_put_varint(&w, AM_OUT__COUNT);
	for (i = 0; i < AM_OUT__COUNT; i++)
		am_put_varint(&w, r->outcome[i]);
	am_put_varint(&w, r->retrans);
	am_put_varint(&w, r->gap_bytes);
	return w.pos;
}

int
am_rec_decode(struct am_rec *r, const uint8_t *buf, size_t len)
{
	struct am_rbuf rd = { buf, len, 0 };
	uint64_t nt, no;
	int i;

	am_rec_reset(r);
	if (len < 1 || buf[0] != REC_VERSION)
		return -1;
	rd.pos = 1;
	if (am_get_varint(&rd, &r->count) < 0 || am_get_varint(&rd, &nt) < 0 || nt != AM_T__COUNT)
		goto malformed;
	for (i = 0; i < AM_T__COUNT; i++) {
		size_t used;
		if (am_hist_decode_part(&r->t[i], rd.p + rd.pos, rd.len - rd.pos, &used) < 0)
			goto malformed;
		rd.pos += used;
	}
	for (i = 0; i < 2; i++)
		if (am_get_varint(&rd, &r->bytes[i]) < 0)
			goto malformed;
	for (i = 0; i < 2; i++)
		if (am_get_varint(&rd, &r->pkts[i]) < 0)
			goto malformed;
	if (am_get_varint(&rd, &no) < 0 || no != AM_OUT__COUNT)
		goto malformed;
	for (i = 0; i < AM_OUT__COUNT; i++)
		if (am_get_varint(&rd, &r->outcome[i]) < 0)
			goto malformed;
	if (am_get_varint(&rd, &r->retrans) < 0 || am_get_varint(&rd, &r->gap_bytes) < 0)
		goto malformed;
	if (rd.pos != rd.len)
		goto malformed;
	return 0;
malformed:
	am_rec_reset(r);
	return -1;
}

/* --- totals ---------------------------------------------------------------- */

#define TOT_VERSION 1

size_t
am_totals_encode(const struct am_totals *t, uint8_t *buf, size_t len)
{
	struct am_wbuf w = { buf, len, 0 };
	int i;

	am_put_byte(&w, TOT_VERSION);
	am_put_varint(&w, t->count);
	am_put_varint(&w, AM_T__COUNT);
	for (i = 0; i < AM_T__COUNT; i++) {
		am_put_varint(&w, t->n[i]);
		am_put_varint(&w, t->sum[i]);
	}
	for (i = 0; i < 2; i++) {
		am_put_varint(&w, t->bytes[i]);
		am_put_varint(&w, t->pkts[i]);
	}
	am_put_varint(&w, AM_OUT__COUNT);
	for (i = 0; i < AM_OUT__COUNT; i++)
		am_put_varint(&w, t->outcome[i]);
	am_put_varint(&w, t->retrans);
	am_put_varint(&w, t->gap_bytes);
	am_put_varint(&w, AM_LE_MAX);
	for (i = 0; i < AM_LE_MAX; i++)
		am_put_varint(&w, t->le[i]);
	am_put_varint(&w, (uint64_t)t->first_seen);
	am_put_varint(&w, (uint64_t)t->last_seen);
	return w.pos;
}

int
am_totals_decode(struct am_totals *t, const uint8_t *buf, size_t len)
{
	struct am_rbuf rd = { buf, len, 0 };
	uint64_t n, a, b;
	int i;

	memset(t, 0, sizeof(*t));
	if (len < 1 || buf[0] != TOT_VERSION)
		return -1;
	rd.pos = 1;
	if (am_get_varint(&rd, &t->count) < 0 || am_get_varint(&rd, &n) < 0 || n != AM_T__COUNT)
		goto malformed;
	for (i = 0; i < AM_T__COUNT; i++)
		if (am_get_varint(&rd, &t->n[i]) < 0 || am_get_varint(&rd, &t->sum[i]) < 0)
			goto malformed;
	for (i = 0; i < 2; i++)
		if (am_get_varint(&rd, &t->bytes[i]) < 0 || am_get_varint(&rd, &t->pkts[i]) < 0)
			goto malformed;
	if (am_get_varint(&rd, &n) < 0 || n != AM_OUT__COUNT)
		goto malformed;
	for (i = 0; i < AM_OUT__COUNT; i++)
		if (am_get_varint(&rd, &t->outcome[i]) < 0)
			goto malformed;
	if (am_get_varint(&rd, &t->retrans) < 0 || am_get_varint(&rd, &t->gap_bytes) < 0)
		goto malformed;
	if (am_get_varint(&rd, &n) < 0 || n != AM_LE_MAX)
		goto malformed;
	for (i = 0; i < AM_LE_MAX; i++)
		if (am_get_varint(&rd, &t->le[i]) < 0)
			goto malformed;
	if (am_get_varint(&rd, &a) < 0 || am_get_varint(&rd, &b) < 0 || rd.pos != rd.len)
		goto malformed;
	t->first_seen = (am_time_t)a;
	t->last_seen = (am_time_t)b;
	return 0;
malformed:
	memset(t, 0, sizeof(*t));
	return -1;
}
