/* artmon mrtg-cfg: ask a running agent which server and signature rows of
 * ARTMON-MIB it exposes and write an MRTG configuration graphing the p50
 * and p90 gauges of the first-byte time of each (like MRTG's cfgmaker).
 *
 * The CLI does not link Net-SNMP: this file holds a small SNMPv2c client
 * (GET and GETBULK over UDP, BER encoding of the few types involved). */
#include "config.h"
#include "cli/cli.h"
#include "agent/mib_oids.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OID_MAX 128
#define STR_MAX 256
#define PKT_MAX 65535

struct oid {
	uint32_t v[OID_MAX];
	size_t n;
};

/* Value types of SNMPv2 (RFC 3416) that matter here. */
enum {
	T_INTEGER = 0x02, T_OCTETS = 0x04, T_NULL = 0x05, T_OID = 0x06,
	T_SEQ = 0x30, T_IPADDR = 0x40, T_COUNTER32 = 0x41, T_GAUGE32 = 0x42,
	T_TICKS = 0x43, T_OPAQUE = 0x44, T_COUNTER64 = 0x46,
	T_NOSUCHOBJECT = 0x80, T_NOSUCHINSTANCE = 0x81, T_ENDOFMIBVIEW = 0x82,
	PDU_GET = 0xa0, PDU_RESPONSE = 0xa2, PDU_GETBULK = 0xa5,
};

struct varbind {
	struct oid oid;
	int type;
	uint64_t num;                 /* integers, counters, gauges */
	char str[STR_MAX];            /* octet strings, NUL-terminated, cut */
	size_t len;
};

struct snmp {
	int fd;
	const char *community;
	int timeout_ms;
	int retries;
	uint32_t reqid;
	const char *target;           /* for messages */
};

/* ------------------------------------------------------------ BER encoding */

struct buf {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

static void
put(struct buf *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void
put_len(struct buf *b, size_t n)
{
	uint8_t l[5];

	if (n < 0x80) {
		l[0] = (uint8_t)n;
		put(b, l, 1);
	} else if (n < 0x100) {
		l[0] = 0x81;
		l[1] = (uint8_t)n;
		put(b, l, 2);
	} else {
		l[0] = 0x82;
		l[1] = (uint8_t)(n >> 8);
		l[2] = (uint8_t)n;
		put(b, l, 3);
	}
}

static void
put_tlv(struct buf *b, uint8_t tag, const uint8_t *content, size_t n)
{
	put(b, &tag, 1);
	put_len(b, n);
	put(b, content, n);
}

static void
put_int(struct buf *b, int64_t v)
{
	uint8_t c[9];
	size_t n = 0;
	int shift = 56;

	/* Skip leading bytes that only repeat the sign. */
	while (shift > 0) {
		int64_t top = v >> shift;
		int nextbit = (int)((v >> (shift - 1)) & 1);
		if ((top == 0 && nextbit == 0) || (top == -1 && nextbit == 1))
			shift -= 8;
		else
			break;
	}
	for (; shift >= 0; shift -= 8)
		c[n++] = (uint8_t)(v >> shift);
	put_tlv(b, T_INTEGER, c, n);
}

static void
put_oid(struct buf *b, const struct oid *o)
{
	uint8_t c[OID_MAX * 5 + 1];
	size_t n = 0;

	if (o->n < 2) {
		b->overflow = 1;
		return;
	}
	c[n++] = (uint8_t)(o->v[0] * 40 + o->v[1]);
	for (size_t i = 2; i < o->n; i++) {
		uint32_t x = o->v[i];
		uint8_t tmp[5];
		int k = 0;
		do {
			tmp[k++] = (uint8_t)(x & 0x7f);
			x >>= 7;
		} while (x);
		while (k > 0) {
			k--;
			c[n++] = (uint8_t)(tmp[k] | (k ? 0x80 : 0));
		}
	}
	put_tlv(b, T_OID, c, n);
}

/* Builds a GET (PDU_GET, one varbind per oid) or a GETBULK (one oid,
 * max-repetitions reps) message in out; returns its length, 0 if it does
 * not fit. */
static size_t
build_request(uint8_t *out, size_t cap, const char *community, uint32_t reqid, int pdu_type,
	      const struct oid *oids, size_t noids, int reps)
{
	uint8_t vb[PKT_MAX / 4], vbl[PKT_MAX / 4], pdu[PKT_MAX / 4], msg[PKT_MAX / 4];
	struct buf bvbl = { vbl, 0, sizeof(vbl), 0 };
	struct buf bpdu = { pdu, 0, sizeof(pdu), 0 };
	struct buf bmsg = { msg, 0, sizeof(msg), 0 };
	struct buf bout = { out, 0, cap, 0 };

	for (size_t i = 0; i < noids; i++) {
		struct buf bvb = { vb, 0, sizeof(vb), 0 };
		static const uint8_t null_val[2] = { T_NULL, 0 };
		put_oid(&bvb, &oids[i]);
		put(&bvb, null_val, 2);
		if (bvb.overflow)
			return 0;
		put_tlv(&bvbl, T_SEQ, vb, bvb.len);
	}
	put_int(&bpdu, reqid);
	put_int(&bpdu, 0);                              /* error-status / non-repeaters */
	put_int(&bpdu, pdu_type == PDU_GETBULK ? reps : 0); /* error-index / max-repetitions */
	put_tlv(&bpdu, T_SEQ, vbl, bvbl.len);
	put_int(&bmsg, 1);                              /* version: SNMPv2c */
	put_tlv(&bmsg, T_OCTETS, (const uint8_t *)community, strlen(community));
	put_tlv(&bmsg, (uint8_t)pdu_type, pdu, bpdu.len);
	put_tlv(&bout, T_SEQ, msg, bmsg.len);
	if (bvbl.overflow || bpdu.overflow || bmsg.overflow || bout.overflow)
		return 0;
	return bout.len;
}

/* ------------------------------------------------------------ BER decoding */

struct cur {
	const uint8_t *p, *end;
};

/* Reads one TLV; its content becomes *in.  -1 on malformed input. */
static int
get_tlv(struct cur *c, int *tag, struct cur *in)
{
	size_t len;

	if (c->end - c->p < 2)
		return -1;
	*tag = *c->p++;
	len = *c->p++;
	if (len & 0x80) {
		size_t nb = len & 0x7f;
		if (nb == 0 || nb > 4 || (size_t)(c->end - c->p) < nb)
			return -1;
		len = 0;
		while (nb--)
			len = (len << 8) | *c->p++;
	}
	if ((size_t)(c->end - c->p) < len)
		return -1;
	in->p = c->p;
	in->end = c->p + len;
	c->p += len;
	return 0;
}

static int
get_uint(const struct cur *in, uint64_t *v, int is_signed)
{
	size_t n = (size_t)(in->end - in->p);

	if (n == 0 || n > 9)
		return -1;
	uint64_t x = (is_signed && (in->p[0] & 0x80)) ? UINT64_MAX : 0;
	for (size_t i = 0; i < n; i++)
		x = (x << 8) | in->p[i];
	*v = x;
	return 0;
}

static int
get_oid(const struct cur *in, struct oid *o)
{
	const uint8_t *p = in->p;

	if (p >= in->end)
		return -1;
	o->v[0] = *p < 80 ? *p / 40 : 2;
	o->v[1] = *p - o->v[0] * 40;
	o->n = 2;
	p++;
	while (p < in->end) {
		uint32_t x = 0;
		int k = 0;
		do {
			if (p >= in->end || ++k > 5)
				return -1;
			x = (x << 7) | (*p & 0x7f);
		} while (*p++ & 0x80);
		if (o->n >= OID_MAX)
			return -1;
		o->v[o->n++] = x;
	}
	return 0;
}

/* Decodes a response message: its request id, error status and up to max
 * varbinds.  Returns the number of varbinds, -1 if malformed. */
static int
parse_response(const uint8_t *pkt, size_t len, uint32_t *reqid, int *errstat,
	       struct varbind *vbs, int max)
{
	struct cur c = { pkt, pkt + len }, msg, f, pdu, vbl;
	int tag, n = 0;
	uint64_t v;

	if (get_tlv(&c, &tag, &msg) < 0 || tag != T_SEQ)
		return -1;
	if (get_tlv(&msg, &tag, &f) < 0 || tag != T_INTEGER)      /* version */
		return -1;
	if (get_tlv(&msg, &tag, &f) < 0 || tag != T_OCTETS)       /* community */
		return -1;
	if (get_tlv(&msg, &tag, &pdu) < 0 || tag != PDU_RESPONSE)
		return -1;
	if (get_tlv(&pdu, &tag, &f) < 0 || tag != T_INTEGER || get_uint(&f, &v, 1) < 0)
		return -1;
	*reqid = (uint32_t)v;
	if (get_tlv(&pdu, &tag, &f) < 0 || tag != T_INTEGER || get_uint(&f, &v, 1) < 0)
		return -1;
	*errstat = (int)v;
	if (get_tlv(&pdu, &tag, &f) < 0 || tag != T_INTEGER)      /* error index */
		return -1;
	if (get_tlv(&pdu, &tag, &vbl) < 0 || tag != T_SEQ)
		return -1;
	while (vbl.p < vbl.end && n < max) {
		struct cur vb, o, val;
		struct varbind *b = &vbs[n];
		if (get_tlv(&vbl, &tag, &vb) < 0 || tag != T_SEQ)
			return -1;
		if (get_tlv(&vb, &tag, &o) < 0 || tag != T_OID || get_oid(&o, &b->oid) < 0)
			return -1;
		if (get_tlv(&vb, &b->type, &val) < 0)
			return -1;
		b->num = 0;
		b->str[0] = '\0';
		b->len = 0;
		switch (b->type) {
		case T_INTEGER:
			if (get_uint(&val, &b->num, 1) < 0)
				return -1;
			break;
		case T_COUNTER32: case T_GAUGE32: case T_TICKS: case T_COUNTER64:
			if (get_uint(&val, &b->num, 0) < 0)
				return -1;
			break;
		case T_OCTETS:
			b->len = (size_t)(val.end - val.p);
			if (b->len >= STR_MAX)
				b->len = STR_MAX - 1;
			memcpy(b->str, val.p, b->len);
			b->str[b->len] = '\0';
			break;
		default:
			break;
		}
		n++;
	}
	return n;
}

/* ------------------------------------------------------------ transport */

static int
snmp_open(struct snmp *s, const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "artmon mrtg-cfg: %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	s->fd = -1;
	for (ai = res; ai; ai = ai->ai_next) {
		s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (s->fd < 0)
			continue;
		if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(s->fd);
		s->fd = -1;
	}
	freeaddrinfo(res);
	if (s->fd < 0) {
		fprintf(stderr, "artmon mrtg-cfg: %s port %s: %s\n", host, port, strerror(errno));
		return -1;
	}
	s->reqid = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	s->reqid &= 0x7fffffff;
	return 0;
}

/* Sends one request and waits for its response; returns the number of
 * varbinds, -1 after the retries (message printed). */
static int
snmp_request(struct snmp *s, int pdu_type, const struct oid *oids, size_t noids, int reps,
	     struct varbind *vbs, int max)
{
	uint8_t req[PKT_MAX / 4], *resp;
	size_t rlen;
	uint32_t id = ++s->reqid & 0x7fffffff;
	int n = -1;

	rlen = build_request(req, sizeof(req), s->community, id, pdu_type, oids, noids, reps);
	if (rlen == 0) {
		fprintf(stderr, "artmon mrtg-cfg: request too large\n");
		return -1;
	}
	if ((resp = malloc(PKT_MAX)) == NULL)
		return -1;
	for (int attempt = 0; attempt <= s->retries && n < 0; attempt++) {
		if (send(s->fd, req, rlen, 0) < 0) {
			fprintf(stderr, "artmon mrtg-cfg: %s: %s\n", s->target, strerror(errno));
			break;
		}
		struct pollfd pfd = { s->fd, POLLIN, 0 };
		while (poll(&pfd, 1, s->timeout_ms) > 0) {
			ssize_t got = recv(s->fd, resp, PKT_MAX, 0);
			uint32_t rid;
			int err;
			if (got < 0) {
				if (errno == ECONNREFUSED) /* ICMP port unreachable: try again */
					break;
				continue;
			}
			int k = parse_response(resp, (size_t)got, &rid, &err, vbs, max);
			if (k < 0 || rid != id)
				continue;           /* late answer to an earlier try, or junk */
			if (err != 0) {
				fprintf(stderr, "artmon mrtg-cfg: %s answered with error-status %d\n",
					s->target, err);
				free(resp);
				return -1;
			}
			n = k;
			break;
		}
	}
	free(resp);
	if (n < 0)
		fprintf(stderr, "artmon mrtg-cfg: no answer from %s (community, port, snmpd running?)\n",
			s->target);
	return n;
}

/* ------------------------------------------------------------ ARTMON-MIB */

static const uint32_t mib_root[] = { ARTMON_MIB_OID };

static void
mib_oid(struct oid *o, const uint32_t *tail, size_t ntail)
{
	memcpy(o->v, mib_root, sizeof(mib_root));
	o->n = ARTMON_MIB_OID_LEN;
	for (size_t i = 0; i < ntail && o->n < OID_MAX; i++)
		o->v[o->n++] = tail[i];
}

static int
oid_has_prefix(const struct oid *o, const struct oid *prefix)
{
	return o->n > prefix->n && memcmp(o->v, prefix->v, prefix->n * sizeof(o->v[0])) == 0;
}

static int
oid_cmp(const struct oid *a, const struct oid *b)
{
	for (size_t i = 0; i < a->n && i < b->n; i++)
		if (a->v[i] != b->v[i])
			return a->v[i] < b->v[i] ? -1 : 1;
	return a->n < b->n ? -1 : a->n > b->n;
}

struct row {
	struct oid idx;               /* the row index (OID suffix) */
	char label[STR_MAX];          /* rules of a server, name of a signature */
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* Walks one column with GETBULK; every instance becomes a row. */
static int
walk_column(struct snmp *s, const struct oid *col, struct rows *out)
{
	struct oid cur = *col;
	struct varbind *vbs = malloc(sizeof(*vbs) * 32);

	if (vbs == NULL)
		return -1;
	for (;;) {
		int n = snmp_request(s, PDU_GETBULK, &cur, 1, 32, vbs, 32);
		if (n < 0) {
			free(vbs);
			return -1;
		}
		if (n == 0)
			break;
		for (int i = 0; i < n; i++) {
			struct varbind *b = &vbs[i];
			if (b->type == T_ENDOFMIBVIEW || !oid_has_prefix(&b->oid, col))
				goto done;
			if (oid_cmp(&b->oid, &cur) <= 0) {
				fprintf(stderr, "artmon mrtg-cfg: %s returned OIDs out of order\n", s->target);
				free(vbs);
				return -1;
			}
			if (out->n == out->cap) {
				size_t nc = out->cap ? out->cap * 2 : 64;
				struct row *nv = realloc(out->v, nc * sizeof(*nv));
				if (nv == NULL) {
					free(vbs);
					return -1;
				}
				out->v = nv;
				out->cap = nc;
			}
			struct row *r = &out->v[out->n++];
			r->idx.n = b->oid.n - col->n;
			memcpy(r->idx.v, b->oid.v + col->n, r->idx.n * sizeof(r->idx.v[0]));
			snprintf(r->label, sizeof(r->label), "%s", b->type == T_OCTETS ? b->str : "");
			cur = b->oid;
		}
	}
done:
	free(vbs);
	return 0;
}

/* Decodes InetAddressType.InetAddress.port at idx->v[*pos]; text address
 * and port; advances *pos.  -1 if the index is not one of ours. */
static int
decode_server(const struct oid *idx, size_t *pos, char *addr, size_t addrlen, uint32_t *port)
{
	size_t p = *pos;
	uint8_t bytes[16];

	if (idx->n < p + 2)
		return -1;
	uint32_t type = idx->v[p], len = idx->v[p + 1];
	if (!((type == 1 && len == 4) || (type == 2 && len == 16)) || idx->n < p + 2 + len + 1)
		return -1;
	for (uint32_t i = 0; i < len; i++) {
		if (idx->v[p + 2 + i] > 255)
			return -1;
		bytes[i] = (uint8_t)idx->v[p + 2 + i];
	}
	if (inet_ntop(type == 1 ? AF_INET : AF_INET6, bytes, addr, (socklen_t)addrlen) == NULL)
		return -1;
	*port = idx->v[p + 2 + len];
	*pos = p + 3 + len;
	return 0;
}

static void
print_oid(FILE *out, const struct oid *o)
{
	for (size_t i = 0; i < o->n; i++)
		fprintf(out, "%s%u", i ? "." : "", o->v[i]);
}

/* Text for an HTML page: no markup, no line breaks. */
static void
print_html(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\n': case '\r': case '\t': fputc(' ', out); break;
		default:
			if ((unsigned char)*s >= 0x20)
				fputc(*s, out);
		}
	}
}

/* Text for a comment line: control characters become spaces, so that a
 * name never ends the comment. */
static void
print_plain(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, out);
}

/* An MRTG target name: the sensor's name (so that the configurations of
 * several sensors can be joined), the address and port, the signature id;
 * lower case letters, digits, '.', '_' and '-' only. */
static void
target_name(char *out, size_t cap, const char *sensor, const char *addr, uint32_t port, int has_sig,
	    uint32_t sig)
{
	char a[64], sn[48];
	size_t i, k = 0;

	for (i = 0; addr[i] && i < sizeof(a) - 1; i++)
		a[i] = addr[i] == ':' ? '-' : addr[i];
	a[i] = '\0';
	for (i = 0; sensor[i] && k < sizeof(sn) - 1; i++) {
		char c = sensor[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			c = '_';
		sn[k++] = c;
	}
	sn[k] = '\0';
	if (k == 0)
		snprintf(sn, sizeof(sn), "artmon");
	if (has_sig)
		snprintf(out, cap, "%s_%s_%u_sig%u", sn, a, port, sig);
	else
		snprintf(out, cap, "%s_%s_%u", sn, a, port);
}

struct mrtg_opts {
	const char *host;
	const char *port;
	const char *community;
	const char *workdir;
	int signatures;
	int rrd;
};

static void
print_target(FILE *out, const char *snmp_target, const char *name,
	     const struct oid *p50, const struct oid *p90, const char *sensor,
	     const char *what, const char *label)
{
	fputs("\n# ", out);
	print_plain(out, what);
	if (label[0]) {
		fputs(": ", out);
		print_plain(out, label);
	}
	fputc('\n', out);
	fprintf(out, "Target[%s]: ", name);
	print_oid(out, p50);
	fputc('&', out);
	print_oid(out, p90);
	fprintf(out, ":%s\n", snmp_target);
	fprintf(out, "MaxBytes[%s]: 4294967295\n", name);
	fprintf(out, "Options[%s]: gauge, nopercent, growright, integer\n", name);
	fprintf(out, "Title[%s]: ", name);
	print_html(out, sensor);
	fprintf(out, ": ");
	print_html(out, what);
	fprintf(out, " first-byte time\n");
	fprintf(out, "PageTop[%s]: <h1>", name);
	print_html(out, sensor);
	fprintf(out, ": ");
	print_html(out, what);
	fprintf(out, "</h1>\n <p>p50 and p90 of the first-byte time (microseconds) over the last completed interval");
	if (label[0]) {
		fprintf(out, "; ");
		print_html(out, label);
	}
	fprintf(out, ".</p>\n");
	fprintf(out, "YLegend[%s]: microseconds\n", name);
	fprintf(out, "ShortLegend[%s]: us\n", name);
	fprintf(out, "Legend1[%s]: median first-byte time\n", name);
	fprintf(out, "Legend2[%s]: 90th percentile first-byte time\n", name);
	fprintf(out, "LegendI[%s]: p50\n", name);
	fprintf(out, "LegendO[%s]: p90\n", name);
}

static void
mrtg_usage(FILE *out)
{
	fputs("usage: artmon mrtg-cfg [options] [COMMUNITY@]HOST[:PORT]\n"
	      "Asks the snmpd that artmond joined for the server and signature rows of\n"
	      "ARTMON-MIB and writes an MRTG configuration graphing the p50 and p90\n"
	      "gauges of the first-byte time of each row (SNMPv2c).  Run it again when\n"
	      "new servers appear.  Run MRTG as `env LANG=C mrtg FILE`.\n"
	      "  -c, --community STR   community (default public)\n"
	      "  -p, --port N          UDP port of the agent (default 161)\n"
	      "  -t, --timeout S       seconds to wait for each answer (default 2)\n"
	      "  -r, --retries N       retries after a timeout (default 2)\n"
	      "  -w, --workdir DIR     MRTG WorkDir (default /var/www/mrtg)\n"
	      "  -o, --output FILE     write there instead of standard output\n"
	      "      --no-signatures   only the server rows\n"
	      "      --rrd             LogFormat: rrdtool (needs librrds-perl)\n"
	      "  -h, --help            this text\n"
	      "HOST may be an IPv6 address, in brackets when a port follows:\n"
	      "[2001:db8::1]:1161.\n"
	      "Exit status: 0 written, 1 the agent did not answer or has no ARTMON-MIB,\n"
	      "2 usage.\n", out);
}

/* Splits [COMMUNITY@]HOST[:PORT]; the parts point into buf. */
static int
parse_agent(char *buf, struct mrtg_opts *o)
{
	char *at = strrchr(buf, '@'), *h = buf;

	if (at) {
		*at = '\0';
		o->community = buf;
		h = at + 1;
	}
	if (h[0] == '[') {
		char *end = strchr(h, ']');
		if (end == NULL)
			return -1;
		*end = '\0';
		o->host = h + 1;
		if (end[1] == ':')
			o->port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else {
		char *colon = strchr(h, ':');
		if (colon && strchr(colon + 1, ':') == NULL) {
			*colon = '\0';
			o->port = colon + 1;
		}
		o->host = h;
	}
	return o->host[0] ? 0 : -1;
}

static int
to_int(const char *s, int lo, int hi, int *v)
{
	char *end;
	long x = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || x < lo || x > hi)
		return -1;
	*v = (int)x;
	return 0;
}

int
cmd_mrtg_cfg(int argc, char **argv)
{
	struct mrtg_opts o = { "127.0.0.1", "161", "public", "/var/www/mrtg", 1, 0 };
	struct snmp s;
	const char *outpath = NULL;
	char agentbuf[512], target[1100], sensor[STR_MAX];
	int timeout_s = 2, retries = 2, have_agent = 0, pn;
	struct rows servers = { 0 }, sigs = { 0 };
	struct varbind vb[2];
	FILE *out = stdout;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			mrtg_usage(stdout);
			return 0;
		} else if (strcmp(a, "--no-signatures") == 0) {
			o.signatures = 0;
		} else if (strcmp(a, "--rrd") == 0) {
			o.rrd = 1;
		} else if (a[0] == '-' && a[1] != '\0') {
			if (v == NULL) {
				fprintf(stderr, "artmon mrtg-cfg: %s needs a value\n", a);
				return 2;
			}
			if (strcmp(a, "-c") == 0 || strcmp(a, "--community") == 0)
				o.community = v;
			else if (strcmp(a, "-p") == 0 || strcmp(a, "--port") == 0) {
				if (to_int(v, 1, 65535, &pn) < 0) {
					fprintf(stderr, "artmon mrtg-cfg: bad port '%s'\n", v);
					return 2;
				}
				o.port = v;
			} else if (strcmp(a, "-t") == 0 || strcmp(a, "--timeout") == 0) {
				if (to_int(v, 1, 60, &timeout_s) < 0) {
					fprintf(stderr, "artmon mrtg-cfg: bad timeout '%s' (1-60 s)\n", v);
					return 2;
				}
			} else if (strcmp(a, "-r") == 0 || strcmp(a, "--retries") == 0) {
				if (to_int(v, 0, 10, &retries) < 0) {
					fprintf(stderr, "artmon mrtg-cfg: bad retries '%s' (0-10)\n", v);
					return 2;
				}
			} else if (strcmp(a, "-w") == 0 || strcmp(a, "--workdir") == 0)
				o.workdir = v;
			else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
				outpath = v;
			else {
				fprintf(stderr, "artmon mrtg-cfg: unknown option '%s'\n", a);
				mrtg_usage(stderr);
				return 2;
			}
			i++;
		} else if (!have_agent) {
			snprintf(agentbuf, sizeof(agentbuf), "%s", a);
			if (parse_agent(agentbuf, &o) < 0) {
				fprintf(stderr, "artmon mrtg-cfg: bad agent '%s' ([COMMUNITY@]HOST[:PORT])\n", a);
				return 2;
			}
			have_agent = 1;
		} else {
			fprintf(stderr, "artmon mrtg-cfg: one agent at a time\n");
			return 2;
		}
	}
	if (to_int(o.port, 1, 65535, &pn) < 0) {
		fprintf(stderr, "artmon mrtg-cfg: bad port '%s'\n", o.port);
		return 2;
	}
	if (strlen(o.host) > 255 || strlen(o.community) > 255) {
		fprintf(stderr, "artmon mrtg-cfg: host or community too long\n");
		return 2;
	}
	if (strpbrk(o.community, "@:") != NULL) {
		/* MRTG's target syntax cannot carry them. */
		fprintf(stderr, "artmon mrtg-cfg: MRTG cannot use a community containing '@' or ':'\n");
		return 2;
	}

	int v6 = strchr(o.host, ':') != NULL;
	snprintf(target, sizeof(target), "%s@%s%s%s:%s::::2", o.community, v6 ? "[" : "", o.host,
		 v6 ? "]" : "", o.port);
	char where[560];
	snprintf(where, sizeof(where), "%s%s%s:%s", v6 ? "[" : "", o.host, v6 ? "]" : "", o.port);
	s.community = o.community;
	s.timeout_ms = timeout_s * 1000;
	s.retries = retries;
	s.target = where;
	if (snmp_open(&s, o.host, o.port) < 0)
		return 1;

	/* The sensor: its name (titles) and the summary interval (polling). */
	struct oid q[2];
	const uint32_t name_tail[] = { AM_O_OBJECTS, AM_O_SENSOR, AM_SENSOR_NAME, 0 };
	const uint32_t ival_tail[] = { AM_O_OBJECTS, AM_O_SENSOR, AM_SENSOR_INTERVAL, 0 };
	mib_oid(&q[0], name_tail, 4);
	mib_oid(&q[1], ival_tail, 4);
	if (snmp_request(&s, PDU_GET, q, 2, 0, vb, 2) != 2)
		goto out;
	if (vb[0].type != T_OCTETS || vb[1].type != T_GAUGE32) {
		fprintf(stderr, "artmon mrtg-cfg: %s has no ARTMON-MIB (is artmond running and "
			"registered with this snmpd?)\n", where);
		goto out;
	}
	snprintf(sensor, sizeof(sensor), "%s", vb[0].str);
	unsigned interval_s = (unsigned)vb[1].num;

	struct oid col;
	const uint32_t srv_tail[] = { AM_O_OBJECTS, AM_O_SERVER_TABLE, 1, AM_SRV_RULES };
	const uint32_t sig_tail[] = { AM_O_OBJECTS, AM_O_SIGNATURE_TABLE, 1, AM_SIG_NAME };
	mib_oid(&col, srv_tail, 4);
	if (walk_column(&s, &col, &servers) < 0)
		goto out;
	if (o.signatures) {
		mib_oid(&col, sig_tail, 4);
		if (walk_column(&s, &col, &sigs) < 0)
			goto out;
	}

	if (outpath && (out = fopen(outpath, "w")) == NULL) {
		fprintf(stderr, "artmon mrtg-cfg: %s: %s\n", outpath, strerror(errno));
		out = stdout;
		goto out;
	}

	/* MRTG's shortest interval is 5 minutes; the gauges change once per
	 * summary interval, so polling faster than that only repeats them. */
	unsigned minutes = (interval_s + 59) / 60;
	if (minutes < 5)
		minutes = 5;
	time_t now = time(NULL);
	char when[64];
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	fputs("# MRTG configuration for the artmon sensor \"", out);
	print_plain(out, sensor);
	fprintf(out, "\" at %s,\n", where);
	fprintf(out, "# written by artmon mrtg-cfg %s on %s:\n", PACKAGE_VERSION, when);
	fprintf(out, "# %zu server row(s), %zu signature row(s) of ARTMON-MIB.\n", servers.n, sigs.n);
	fprintf(out, "# Each target graphs artmonServerIntFirstP50/P90 (servers) or\n"
		     "# artmonSignatureIntFirstP50/P90 (signatures): gauges of the last\n"
		     "# completed interval (%u s), in microseconds.\n", interval_s);
	fprintf(out, "# Run MRTG as: env LANG=C mrtg THIS-FILE\n\n");
	fprintf(out, "WorkDir: %s\n", o.workdir);
	fprintf(out, "Interval: %u\n", minutes);
	if (o.rrd)
		fprintf(out, "LogFormat: rrdtool\n");
	if (v6)
		fprintf(out, "EnableIPv6: yes\n");
	if (servers.n == 0)
		fprintf(out, "\n# The agent has no server rows yet: run artmon mrtg-cfg again once it has seen traffic.\n");

	for (size_t i = 0; i < servers.n; i++) {
		char addr[INET6_ADDRSTRLEN], name[160], what[200];
		uint32_t port;
		size_t pos = 0;
		struct oid p50, p90;
		const struct row *r = &servers.v[i];
		if (decode_server(&r->idx, &pos, addr, sizeof(addr), &port) < 0 || pos != r->idx.n) {
			fprintf(stderr, "artmon mrtg-cfg: skipping a server row with an unexpected index\n");
			continue;
		}
		const uint32_t t50[] = { AM_O_OBJECTS, AM_O_SERVER_TABLE, 1, AM_SRV_STATS + AM_ST_INT_FIRST_P50 };
		const uint32_t t90[] = { AM_O_OBJECTS, AM_O_SERVER_TABLE, 1, AM_SRV_STATS + AM_ST_INT_FIRST_P90 };
		mib_oid(&p50, t50, 4);
		mib_oid(&p90, t90, 4);
		for (size_t k = 0; k < r->idx.n; k++) {
			p50.v[p50.n++] = r->idx.v[k];
			p90.v[p90.n++] = r->idx.v[k];
		}
		target_name(name, sizeof(name), sensor, addr, port, 0, 0);
		snprintf(what, sizeof(what), strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port);
		print_target(out, target, name, &p50, &p90, sensor, what, r->label);
	}
	for (size_t i = 0; i < sigs.n; i++) {
		char addr[INET6_ADDRSTRLEN], name[160], what[STR_MAX + 100];
		uint32_t port;
		size_t pos = 0;
		struct oid p50, p90;
		const struct row *r = &sigs.v[i];
		if (decode_server(&r->idx, &pos, addr, sizeof(addr), &port) < 0 || pos + 1 != r->idx.n) {
			fprintf(stderr, "artmon mrtg-cfg: skipping a signature row with an unexpected index\n");
			continue;
		}
		uint32_t sig = r->idx.v[pos];
		const uint32_t t50[] = { AM_O_OBJECTS, AM_O_SIGNATURE_TABLE, 1, AM_SIG_STATS + AM_ST_INT_FIRST_P50 };
		const uint32_t t90[] = { AM_O_OBJECTS, AM_O_SIGNATURE_TABLE, 1, AM_SIG_STATS + AM_ST_INT_FIRST_P90 };
		mib_oid(&p50, t50, 4);
		mib_oid(&p90, t90, 4);
		for (size_t k = 0; k < r->idx.n; k++) {
			p50.v[p50.n++] = r->idx.v[k];
			p90.v[p90.n++] = r->idx.v[k];
		}
		target_name(name, sizeof(name), sensor, addr, port, 1, sig);
		snprintf(what, sizeof(what), strchr(addr, ':') ? "[%s]:%u %s" : "%s:%u %s", addr, port,
			 r->label[0] ? r->label : "(no signature)");
		print_target(out, target, name, &p50, &p90, sensor, what, "");
	}
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "artmon mrtg-cfg: write error\n");
		goto out;
	}
	if (outpath)
		fprintf(stderr, "artmon mrtg-cfg: %zu server and %zu signature target(s) in %s\n",
			servers.n, sigs.n, outpath);
	rc = 0;
out:
	if (out != stdout && fclose(out) != 0 && rc == 0) {
		fprintf(stderr, "artmon mrtg-cfg: %s: %s\n", outpath, strerror(errno));
		rc = 1;
	}
	free(servers.v);
	free(sigs.v);
	close(s.fd);
	return rc;
}
