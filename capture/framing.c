/* Payload-aware message framing (see framing.h and doc/framing.md).
 *
 * Each direction is a small state machine over its byte stream.  The
 * driver (am_framer_feed) hands it the visible bytes of a chunk; the
 * machine consumes some of them (advancing d->pos), reads lines or
 * fixed-size headers into d->line, and sets d->skip for bytes it does not
 * need to see.  When a skip runs out, the action in d->after runs.  Bytes
 * beyond the captured part can only be skipped: if the machine needs to
 * look at one, sync is lost.  Every pass of the driver either consumes a
 * byte or changes state; a stall guard turns a bug into "lost" rather than
 * a loop. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "capture/framing.h"

#include <string.h>

#define MAXLINE (1u << 20)       /* longest line followed (its two ends are kept) */
#define MAXBODY (1ULL << 40)     /* larger lengths are taken for garbage */

/* Actions when a skip ends. */
enum {
	A_NONE, A_REQ_END, A_HTTP_END, A_HTTP_CHUNK, A_RESP_ARG, A_RESP_VALUE,
	A_PG_END, A_MY_END, A_MC_END, A_DNS_END
};

/* The chunk being fed. */
struct fc {
	struct am_framer *f;
	struct am_fr_dir *d;
	int dir;
	am_time_t ts;
	uint64_t start;          /* stream offset of the chunk's first byte */
	am_fr_cb cb;
	void *ctx;
	const uint8_t *data;     /* the chunk's captured bytes (NULL for fin/stop) */
	uint64_t vis;            /* stream offset after the last captured byte */
};

/* A complete line, without its CR LF. */
struct line {
	const uint8_t *h;        /* first bytes (all of it unless trunc) */
	size_t hl;
	const uint8_t *t;        /* last bytes, when trunc */
	size_t tl;
	int trunc;
	size_t len;              /* content length */
};

static const char *const proto_names[AM_FR__COUNT] = {
	"none", "http", "resp", "pgsql", "mysql", "memcache", "dns-tcp", "tls",
};

static const char *const type_names[AM_FR__TYPES] = {
	"req_start", "req_end", "resp_start", "resp_end", "interim_start", "interim_end", "lost",
};

static const char *const lost_names[AM_FR_LOST__COUNT] = {
	"ok", "gap", "garbage", "long", "tunnel", "unsupported", "pending", "unexpected", "stopped",
};

const char *
am_fr_proto_name(enum am_fr_proto p)
{
	return (unsigned)p < AM_FR__COUNT ? proto_names[p] : "?";
}

int
am_fr_proto_parse(const char *name)
{
	for (int i = 0; i < AM_FR__COUNT; i++)
		if (strcmp(name, proto_names[i]) == 0)
			return i;
	return -1;
}

const char *
am_fr_type_name(enum am_fr_type t)
{
	return (unsigned)t < AM_FR__TYPES ? type_names[t] : "?";
}

const char *
am_fr_lost_name(enum am_fr_lost r)
{
	return (unsigned)r < AM_FR_LOST__COUNT ? lost_names[r] : "?";
}

/* --- events --------------------------------------------------------- */

static void
emit(struct fc *c, enum am_fr_type type, uint32_t req, uint64_t pos, am_time_t ts,
    int32_t status, uint8_t flags)
{
	struct am_fr_event ev;

	if (c->f->lost && type != AM_FR_LOST)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.dir = (uint8_t)c->dir;
	ev.flags = flags;
	ev.req = req;
	ev.pos = pos;
	ev.ts = ts;
	ev.status = status;
	if (pos >= c->start) {
		ev.off = (uint32_t)(pos - c->start);
	} else {
		ev.off = 0;
		ev.flags |= AM_FR_F_EARLIER;
	}
	if (type == AM_FR_LOST)
		ev.reason = c->f->lost;
	if (type == AM_FR_REQ_START || type == AM_FR_RESP_START || type == AM_FR_INTERIM_START) {
		if (!(ev.flags & AM_FR_F_EARLIER)) {
			if (c->data && pos < c->vis) {
				ev.head = c->data + (pos - c->start);
				ev.headlen = (uint32_t)(c->vis - pos);
			}
		} else if (c->d->llen > 0 && c->d->mpos == pos) {
			ev.head = c->d->line;     /* the start, kept by the framer */
			ev.headlen = c->d->llen;
		}
	}
	if (c->cb)
		c->cb(c->ctx, &ev);
}

/* An event at the start of the line or header being read. */
static void
emit_start(struct fc *c, enum am_fr_type type, uint32_t req, int32_t status, uint8_t flags)
{
	emit(c, type, req, c->d->mpos, c->d->mts, status, flags);
}

/* An event at the current position (the end of what was just read). */
static void
emit_end(struct fc *c, enum am_fr_type type, uint32_t req, int32_t status, uint8_t flags)
{
	emit(c, type, req, c->d->pos, c->ts, status, flags);
}

static void
lose(struct fc *c, enum am_fr_lost why)
{
	if (c->f->lost)
		return;
	c->f->lost = (uint8_t)why;
	emit(c, AM_FR_LOST, 0, c->d->pos, c->ts, -1, 0);
}

/* --- reading -------------------------------------------------------- */

static void
mark(struct fc *c)
{
	c->d->mpos = c->d->pos;
	c->d->mts = c->ts;
}

static void
line_reset(struct am_fr_dir *d)
{
	d->llen = 0;
	d->tlen = 0;
	d->ltotal = 0;
}

static void
tail_put(struct am_fr_dir *d, const uint8_t *p, size_t n)
{
	if (n >= AM_FR_TAIL) {
		memcpy(d->tail, p + n - AM_FR_TAIL, AM_FR_TAIL);
		d->tlen = AM_FR_TAIL;
		return;
	}
	size_t keep = d->tlen;
	if (keep > AM_FR_TAIL - n)
		keep = AM_FR_TAIL - n;
	memmove(d->tail, d->tail + d->tlen - keep, keep);
	memcpy(d->tail + keep, p, n);
	d->tlen = (uint16_t)(keep + n);
}

/* Reads line bytes from p[0..n) up to and including LF.  Returns 1 when the
 * line is complete, 0 when more is needed, -1 when sync is lost (a control
 * byte, or a line longer than MAXLINE). */
static int
line_take(struct fc *c, const uint8_t *p, size_t n)
{
	struct am_fr_dir *d = c->d;
	const uint8_t *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) + 1 : n;
	size_t body = lf ? take - 1 : take;

	if (d->ltotal == 0)
		mark(c);
	/* Eight bytes at a time while none is a control character (below
	 * 0x20, or 0x7f); byte by byte from the first word that has one (the
	 * CR ending the line, a tab, or garbage). */
	size_t i = 0;
	for (; i + 8 <= body; i += 8) {
		uint64_t w, del;
		memcpy(&w, p + i, 8);
		del = w ^ 0x7f7f7f7f7f7f7f7fULL;
		if ((((w - 0x2020202020202020ULL) & ~w) | ((del - 0x0101010101010101ULL) & ~del)) &
		    0x8080808080808080ULL)
			break;
	}
	for (; i < body; i++) {
		uint8_t b = p[i];
		if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7f) {
			d->pos += i;
			lose(c, AM_FR_LOST_GARBAGE);
			return -1;
		}
	}
	if ((uint64_t)d->ltotal + take > MAXLINE) {
		d->pos += MAXLINE - d->ltotal;   /* where it became too long, however cut */
		lose(c, AM_FR_LOST_LONG);
		return -1;
	}
	size_t room = AM_FR_LINE - d->llen;
	size_t h = body < room ? body : room;
	memcpy(d->line + d->llen, p, h);
	d->llen = (uint16_t)(d->llen + h);
	if (body > h)
		tail_put(d, p + h, body - h);
	d->ltotal += (uint32_t)take;
	d->pos += take;
	return lf != NULL;
}

/* The line just completed by line_take. */
static void
line_get(struct am_fr_dir *d, struct line *ln)
{
	size_t stored = d->ltotal - 1;     /* without the LF */

	if (stored > 0) {
		if (stored <= AM_FR_LINE) {
			if (d->line[d->llen - 1] == '\r') {
				d->llen--;
				stored--;
			}
		} else if (d->tlen > 0 && d->tail[d->tlen - 1] == '\r') {
			d->tlen--;
			stored--;
		}
	}
	ln->h = d->line;
	ln->hl = d->llen;
	ln->trunc = stored > AM_FR_LINE;
	ln->t = d->tail;
	ln->tl = ln->trunc ? d->tlen : 0;
	ln->len = stored;
}

/* Accumulates up to `want` bytes of a binary header into d->line.  Returns
 * 1 when d->line holds want bytes. */
static int
hdr_take(struct fc *c, const uint8_t *p, size_t n, size_t want)
{
	struct am_fr_dir *d = c->d;

	if (d->llen >= want)
		return 1;
	if (d->ltotal == 0)
		mark(c);
	size_t k = want - d->llen;
	if (k > n)
		k = n;
	memcpy(d->line + d->llen, p, k);
	d->llen = (uint16_t)(d->llen + k);
	d->ltotal += (uint32_t)k;
	d->pos += k;
	return d->llen >= want;
}

static uint32_t
be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
le16(const uint8_t *p)
{
	return (uint32_t)p[1] << 8 | p[0];
}

static uint32_t
le24(const uint8_t *p)
{
	return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t
le32(const uint8_t *p)
{
	return le24(p) | (uint32_t)p[3] << 24;
}

/* Decimal digits only; 0 on success. */
static int
parse_u64(const uint8_t *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

/* Optional '-', then digits; 0 on success. */
static int
parse_i64(const uint8_t *s, size_t n, int64_t *v)
{
	uint64_t x;
	int neg = n > 0 && s[0] == '-';

	if (parse_u64(s + neg, n - (size_t)neg, &x) != 0)
		return -1;
	*v = neg ? -(int64_t)x : (int64_t)x;
	return 0;
}

static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* Case-insensitive comparison with a literal. */
static int
ieq(const uint8_t *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	if (n != l)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != lower((unsigned char)lit[i]))
			return 0;
	return 1;
}

/* ch is one of the characters of set (never the terminating NUL). */
static int
in_set(const char *set, int ch)
{
	return ch != 0 && strchr(set, ch) != NULL;
}

/* Equality with a string literal. */
#define EQ(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp((s), (lit), sizeof(lit) - 1) == 0)

/* Space-separated tokens of s[0..n): up to max, returns how many. */
#define MAXTOK 24
struct toks {
	const uint8_t *s[MAXTOK];
	size_t l[MAXTOK];
	int n;
};

static void
tokenize(const uint8_t *s, size_t n, struct toks *t)
{
	size_t i = 0;

	t->n = 0;
	while (i < n && t->n < MAXTOK) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n)
			break;
		size_t b = i;
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
		t->s[t->n] = s + b;
		t->l[t->n++] = i - b;
	}
}

/* Tokens at the end of a line: from its tail when truncated (without the
 * first, partial token), else from its last AM_FR_TAIL bytes. */
static void
tokenize_last(const struct line *ln, struct toks *t)
{
	const uint8_t *s = ln->trunc ? ln->t : ln->h;
	size_t n = ln->trunc ? ln->tl : ln->hl, i = 0;
	int partial = ln->trunc;

	if (!ln->trunc && n > AM_FR_TAIL) {
		i = n - AM_FR_TAIL;
		partial = s[i - 1] != ' ' && s[i - 1] != '\t';
	}
	if (partial)
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
	tokenize(s + i, n - i, t);
}

static void
skip_then(struct fc *c, uint64_t len, uint8_t action);

/* --- blind directions ------------------------------------------------
 *
 * When a direction needs bytes that were not captured, but the exchange is
 * a plain turn (one request outstanding, the other side quiet), the
 * direction goes blind instead of losing sync: its bytes are passed over
 * until the other side takes its turn.  A client request that starts
 * ends a blind response (at the last server byte); a response that
 * starts ends a blind request.  The blind side then reads afresh from its
 * next byte, which starts a message in a request/response exchange.  These
 * ends carry AM_FR_F_TURN. */

static void
resync(struct am_framer *f, int dir)
{
	struct am_fr_dir *d = &f->d[dir];

	d->blind = 0;
	d->st = 0;
	d->fl = 0;
	d->skip = 0;
	d->after = 0;
	d->llen = d->tlen = 0;
	d->ltotal = 0;
	if (dir == 1) {
		f->depth = 0;
		f->attr = 0;
	}
	if (f->proto == AM_FR_MYSQL)
		f->cfl &= (uint8_t)~(dir ? 0x08 : 0x04);      /* MYF_SCONT, MYF_CCONT */
	if (f->proto == AM_FR_PGSQL && dir == 1)
		f->cfl &= (uint8_t)~0x01;                     /* PGF_COPYIN */
}

/* The event of a direction other than the one being fed, at its end. */
static void
emit_other(struct fc *c, int dir, enum am_fr_type type, uint32_t req, int32_t status,
    uint8_t flags)
{
	struct am_fr_dir *d = &c->f->d[dir];
	struct fc o = { c->f, d, dir, d->lts, d->pos + 1, c->cb, c->ctx, NULL, 0 };

	emit(&o, type, req, d->pos, d->lts, status, flags);
}

/* The error flag for a response's status. */
static uint8_t
err_flag(const struct am_framer *f, int32_t status)
{
	if (f->proto == AM_FR_HTTP)
		return status >= 400 ? AM_FR_F_ERROR : 0;
	return status > 0 ? AM_FR_F_ERROR : 0;
}

/* A request starts: a blind response is over. */
static void
turn_server(struct fc *c)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *sd = &f->d[1];

	if (f->resp_on) {
		emit_other(c, 1, AM_FR_RESP_END, sd->rq, sd->status,
		    AM_FR_F_TURN | err_flag(f, sd->status));
		f->nans = sd->rq;
		f->resp_on = 0;
	}
	resync(f, 1);
}

/* A response starts: a blind request is over. */
static void
turn_client(struct fc *c)
{
	struct am_framer *f = c->f;

	emit_other(c, 0, AM_FR_REQ_END, f->d[0].rq, -1, AM_FR_F_TURN | f->d[0].rqfl);
	f->req_on = 0;
	resync(f, 0);
}

/* Bytes this direction needs were not captured: blind, or lost. */
static void
go_blind(struct fc *c)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;
	uint32_t pend = f->nreq - f->nans;

	if (f->proto == AM_FR_DNS_TCP || f->d[1 - c->dir].blind)
		goto lost;
	if (c->dir == 1) {
		if (pend > 1 || f->req_on)
			goto lost;
		if (pend == 1 && !f->resp_on) {
			/* the response starts where the unread message began */
			d->rq = f->nans + 1;
			d->status = 0;
			f->resp_on = 1;
			emit(c, AM_FR_RESP_START, d->rq, d->ltotal ? d->mpos : d->pos,
			    d->ltotal ? d->mts : c->ts, -1, 0);
		}
	} else if (!f->req_on || pend != 1 || d->rqfl || f->resp_on) {
		goto lost;
	}
	d->blind = 1;
	return;
lost:
	lose(c, AM_FR_LOST_GAP);
}

/* A request without a reply, or the request being read, ends here. */
static void
req_end(struct fc *c)
{
	struct am_fr_dir *d = c->d;

	emit_end(c, AM_FR_REQ_END, d->rq, -1, d->rqfl);
	c->f->req_on = 0;
	d->st = 0;
	d->fl = 0;
}

/* Starts request number ++nreq (or a no-reply request) at the mark. */
static int
req_start(struct fc *c, int noreply, uint16_t kind, int bounded)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	if (f->d[1].blind)
		turn_server(c);
	if (noreply) {
		d->rq = 0;
		d->rqfl = AM_FR_F_NOREPLY;
	} else {
		uint32_t cap = f->proto == AM_FR_DNS_TCP ? AM_FR_MAXQ_DNS : AM_FR_MAXQ;
		if (bounded && f->nreq - f->nans >= cap) {
			lose(c, AM_FR_LOST_PENDING);
			return -1;
		}
		d->rq = ++f->nreq;
		d->rqfl = 0;
		if (f->proto == AM_FR_DNS_TCP)
			f->q.id[d->rq % AM_FR_MAXQ_DNS] = kind;
		else
			f->q.kind[d->rq % AM_FR_MAXQ] = (uint8_t)kind;
	}
	f->req_on = 1;
	emit_start(c, AM_FR_REQ_START, d->rq, -1, d->rqfl);
	return 0;
}

/* Starts the response to the oldest unanswered request at the mark. */
static int
resp_start(struct fc *c, int32_t status)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	if (f->nans == f->nreq) {
		lose(c, AM_FR_LOST_UNEXPECTED);
		return -1;
	}
	if (f->d[0].blind)
		turn_client(c);
	d->rq = f->nans + 1;
	d->status = status < 0 ? 0 : status;
	f->resp_on = 1;
	emit_start(c, AM_FR_RESP_START, d->rq, status, 0);
	return 0;
}

/* The response being read ends here. */
static void
resp_end(struct fc *c, uint8_t flags)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	emit_end(c, AM_FR_RESP_END, d->rq, d->status, flags);
	f->nans = d->rq;
	f->resp_on = 0;
	d->st = 0;
}

/* --- HTTP/1.x ------------------------------------------------------- */

enum { H_IDLE, H_START, H_HDR, H_CSIZE, H_CEND, H_TRAILER };
#define HF_CL 0x01
#define HF_CHUNKED 0x02
#define HF_TE 0x04
#define HF_INTERIM 0x08
#define HF_CLOSE 0x10
#define HK_HEAD 0x01
#define HK_CONNECT 0x02

static int
is_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    in_set("!#$%&'*+-.^_`|~", ch);
}

static void
http_msg_end(struct fc *c)
{
	struct am_fr_dir *d = c->d;

	d->st = H_IDLE;
	d->fl = 0;
	if (c->dir == 0) {
		emit_end(c, AM_FR_REQ_END, d->rq, -1, 0);
		c->f->req_on = 0;
	} else {
		resp_end(c, d->status >= 400 ? AM_FR_F_ERROR : 0);
	}
}

static void
http_reqline(struct fc *c, const struct line *ln)
{
	const uint8_t *sp = memchr(ln->h, ' ', ln->hl);
	const uint8_t *v;
	size_t ml, vl;

	if (sp == NULL) {
		lose(c, ln->trunc ? AM_FR_LOST_LONG : AM_FR_LOST_GARBAGE);
		return;
	}
	ml = (size_t)(sp - ln->h);
	if (ml == 0 || ml > 32) {
		lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	for (size_t i = 0; i < ml; i++)
		if (!is_tchar(ln->h[i])) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
	/* the version is the last token */
	const uint8_t *s = ln->trunc ? ln->t : sp + 1;
	size_t sl = ln->trunc ? ln->tl : ln->hl - ml - 1;
	size_t i = sl;
	while (i > 0 && s[i - 1] != ' ')
		i--;
	if (i == 0 && !ln->trunc) {
		lose(c, AM_FR_LOST_GARBAGE);  /* HTTP/0.9 or garbage */
		return;
	}
	v = s + i;
	vl = sl - i;
	if (!(vl == 8 && memcmp(v, "HTTP/1.", 7) == 0 && v[7] >= '0' && v[7] <= '9')) {
		lose(c, vl >= 6 && memcmp(v, "HTTP/", 5) == 0 ? AM_FR_LOST_UNSUPPORTED :
		    AM_FR_LOST_GARBAGE);
		return;
	}
	uint16_t kind = 0;
	if (EQ(ln->h, ml, "HEAD"))
		kind = HK_HEAD;
	else if (EQ(ln->h, ml, "CONNECT"))
		kind = HK_CONNECT;
	if (req_start(c, 0, kind, 1) != 0)
		return;
	c->d->fl = 0;
	c->d->num = 0;
	c->d->st = H_HDR;
}

static void
http_statline(struct fc *c, const struct line *ln)
{
	struct am_fr_dir *d = c->d;
	const uint8_t *h = ln->h;
	int32_t s;

	if (ln->hl < 12 || memcmp(h, "HTTP/1.", 7) != 0 || h[7] < '0' || h[7] > '9' ||
	    h[8] != ' ' || h[9] < '1' || h[9] > '9' || h[10] < '0' || h[10] > '9' ||
	    h[11] < '0' || h[11] > '9' || (ln->hl > 12 && h[12] != ' ')) {
		lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	s = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
	d->fl = 0;
	d->num = 0;
	d->st = H_HDR;
	if (s < 200 && s != 101) {
		if (c->f->nans == c->f->nreq) {
			lose(c, AM_FR_LOST_UNEXPECTED);
			return;
		}
		d->fl = HF_INTERIM;
		d->rq = c->f->nans + 1;
		d->status = s;
		emit_start(c, AM_FR_INTERIM_START, d->rq, s, 0);
		return;
	}
	resp_start(c, s);
}

/* Trims optional whitespace. */
static void
trim(const uint8_t **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static void http_hdrs_done(struct fc *c);

static void
http_header(struct fc *c, const struct line *ln)
{
	struct am_fr_dir *d = c->d;

	if (ln->len == 0) {
		if (d->st == H_TRAILER)
			http_msg_end(c);
		else
			http_hdrs_done(c);
		return;
	}
	if (d->st == H_TRAILER)
		return;               /* trailer fields are not interpreted */
	if (ln->h[0] == ' ' || ln->h[0] == '\t')
		return;               /* obs-fold: a continuation line */
	const uint8_t *colon = memchr(ln->h, ':', ln->hl);
	if (colon == NULL) {
		lose(c, ln->trunc ? AM_FR_LOST_LONG : AM_FR_LOST_GARBAGE);
		return;
	}
	size_t nl = (size_t)(colon - ln->h);
	if (nl == 0) {
		lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	for (size_t i = 0; i < nl; i++)
		if (!is_tchar(ln->h[i])) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
	const uint8_t *v = colon + 1;
	size_t vl = ln->hl - nl - 1;
	trim(&v, &vl);
	if (ieq(ln->h, nl, "content-length")) {
		uint64_t x;
		if (ln->trunc) {
			lose(c, AM_FR_LOST_LONG);
			return;
		}
		if (parse_u64(v, vl, &x) != 0 || x > MAXBODY || ((d->fl & HF_CL) && x != d->num)) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		d->num = x;
		d->fl |= HF_CL;
	} else if (ieq(ln->h, nl, "transfer-encoding")) {
		/* what counts is the last coding */
		const uint8_t *s = ln->trunc ? ln->t : v;
		size_t sl = ln->trunc ? ln->tl : vl;
		size_t i = sl;
		while (i > 0 && s[i - 1] != ',')
			i--;
		s += i;
		sl -= i;
		trim(&s, &sl);
		if (ieq(s, sl, "chunked")) {
			d->fl |= HF_CHUNKED;
			d->fl &= (uint8_t)~HF_TE;
		} else {
			d->fl |= HF_TE;
			d->fl &= (uint8_t)~HF_CHUNKED;
		}
	}
}

static void
http_hdrs_done(struct fc *c)
{
	struct am_fr_dir *d = c->d;

	if (c->dir == 0) {
		if (d->fl & HF_TE)
			lose(c, AM_FR_LOST_GARBAGE);   /* a request body without a length */
		else if (d->fl & HF_CHUNKED)
			d->st = H_CSIZE;
		else if ((d->fl & HF_CL) && d->num > 0) {
			d->st = H_IDLE;
			skip_then(c, d->num, A_HTTP_END);
		} else
			http_msg_end(c);
		return;
	}
	int32_t s = d->status;
	if (d->fl & HF_INTERIM) {
		emit_end(c, AM_FR_INTERIM_END, d->rq, s, 0);
		d->st = H_IDLE;
		d->fl = 0;
		return;
	}
	uint16_t kind = c->f->q.kind[d->rq % AM_FR_MAXQ];
	if (s == 101 || ((kind & HK_CONNECT) && s / 100 == 2)) {
		http_msg_end(c);
		lose(c, AM_FR_LOST_TUNNEL);
	} else if ((kind & HK_HEAD) || s == 204 || s == 304) {
		http_msg_end(c);
	} else if (d->fl & HF_CHUNKED) {
		d->st = H_CSIZE;
	} else if (!(d->fl & HF_TE) && (d->fl & HF_CL)) {
		d->st = H_IDLE;
		skip_then(c, d->num, A_HTTP_END);
	} else {
		/* delimited by the close: am_framer_fin() ends it */
		d->st = H_IDLE;
		d->fl = HF_CLOSE;
		d->skip = UINT64_MAX;
		d->after = A_HTTP_END;
	}
}

static void
http_csize(struct fc *c, const struct line *ln)
{
	uint64_t x = 0;
	size_t i = 0;

	while (i < ln->hl) {
		int ch = lower(ln->h[i]), v;
		if (ch >= '0' && ch <= '9')
			v = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v = ch - 'a' + 10;
		else
			break;
		if (x > MAXBODY) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		x = x * 16 + (uint64_t)v;
		i++;
	}
	if (i == 0 || (i < ln->hl && ln->h[i] != ';' && ln->h[i] != ' ' && ln->h[i] != '\t')) {
		lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	if (x == 0) {
		c->d->st = H_TRAILER;
		return;
	}
	skip_then(c, x, A_HTTP_CHUNK);
}

static void
http_step(struct fc *c, const uint8_t *p, size_t n)
{
	struct am_fr_dir *d = c->d;
	struct line ln;

	if (d->st == H_IDLE) {
		size_t k = 0;
		while (k < n && (p[k] == '\r' || p[k] == '\n'))
			k++;
		d->pos += k;
		if (k == n)
			return;
		if (c->dir == 0 ? !is_tchar(p[k]) : p[k] != 'H') {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		d->st = H_START;
		return;
	}
	if (line_take(c, p, n) <= 0)
		return;
	line_get(d, &ln);
	switch (d->st) {
	case H_START:
		if (c->dir == 0)
			http_reqline(c, &ln);
		else
			http_statline(c, &ln);
		break;
	case H_HDR:
	case H_TRAILER:
		http_header(c, &ln);
		break;
	case H_CSIZE:
		http_csize(c, &ln);
		break;
	case H_CEND:
		if (ln.len != 0)
			lose(c, AM_FR_LOST_GARBAGE);
		else
			d->st = H_CSIZE;
		break;
	}
	line_reset(d);
}

/* --- Redis RESP ----------------------------------------------------- */

enum { R_IDLE, R_LINE, R_ARG };
enum { RL_ARRAY = 1, RL_BULK, RL_INLINE };
#define RF_PUSH 0x01
#define RC_CLIENT 1
#define RC_CLIENT_REPLY 2

/* Commands after which replies are not one per command. */
static void
resp_check_arg(struct fc *c, const uint8_t *s, size_t n)
{
	struct am_fr_dir *d = c->d;
	static const char *const bad[] = { "subscribe", "psubscribe", "ssubscribe", "monitor",
		"sync", "psync", NULL };

	if (d->seq == 1) {
		for (int i = 0; bad[i]; i++)
			if (ieq(s, n, bad[i])) {
				lose(c, AM_FR_LOST_UNSUPPORTED);
				return;
			}
		d->status = ieq(s, n, "client") ? RC_CLIENT : 0;
	} else if (d->seq == 2 && d->status == RC_CLIENT) {
		d->status = ieq(s, n, "reply") ? RC_CLIENT_REPLY : 0;
	} else if (d->seq == 3 && d->status == RC_CLIENT_REPLY && !ieq(s, n, "on")) {
		lose(c, AM_FR_LOST_UNSUPPORTED);  /* CLIENT REPLY OFF|SKIP */
	}
}

static void
resp_bulk_done(struct fc *c)
{
	struct am_fr_dir *d = c->d;

	d->st = R_IDLE;
	if (d->num > 0)
		d->num--;
	if (d->num == 0)
		req_end(c);
}

static void
resp_c_line(struct fc *c, const struct line *ln)
{
	struct am_fr_dir *d = c->d;
	int64_t x;

	d->st = R_IDLE;
	switch (d->fl) {
	case RL_ARRAY:
		if (ln->trunc || parse_i64(ln->h + 1, ln->hl - 1, &x) != 0 || x <= 0 ||
		    x > (1LL << 31)) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		if (req_start(c, 0, 0, 0) != 0)
			return;
		d->num = (uint64_t)x;
		d->seq = 0;
		d->status = 0;
		break;
	case RL_BULK:
		if (ln->trunc || parse_i64(ln->h + 1, ln->hl - 1, &x) != 0 || x < 0 ||
		    (uint64_t)x > MAXBODY) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		if (d->seq < 255)
			d->seq++;
		if (x <= 16 && (d->seq == 1 || (d->status != 0 && d->seq <= 3))) {
			d->mlen = (uint64_t)x + 2;
			d->st = R_ARG;
		} else {
			skip_then(c, (uint64_t)x + 2, A_RESP_ARG);
		}
		break;
	case RL_INLINE: {
		struct toks t;
		tokenize(ln->h, ln->hl, &t);
		if (t.n == 0)
			return;          /* an empty line is no command */
		if (req_start(c, 0, 0, 0) != 0)
			return;
		d->status = 0;
		for (int i = 0; i < t.n && i < 3 && !c->f->lost; i++) {
			d->seq = (uint8_t)(i + 1);
			resp_check_arg(c, t.s[i], t.l[i]);
		}
		req_end(c);
		break;
	}
	}
}

static void
resp_c_step(struct fc *c, const uint8_t *p, size_t n)
{
	struct am_fr_dir *d = c->d;
	struct line ln;

	if (d->st == R_IDLE) {
		if (d->num == 0) {
			if (p[0] == '\r' || p[0] == '\n') {
				d->pos++;
				return;
			}
			d->fl = p[0] == '*' ? RL_ARRAY : RL_INLINE;
		} else {
			if (p[0] != '$') {
				lose(c, AM_FR_LOST_GARBAGE);
				return;
			}
			d->fl = RL_BULK;
		}
		d->st = R_LINE;
		return;
	}
	if (d->st == R_ARG) {
		if (!hdr_take(c, p, n, d->mlen))
			return;
		if (d->line[d->mlen - 2] != '\r' || d->line[d->mlen - 1] != '\n') {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		resp_check_arg(c, d->line, d->mlen - 2);
		line_reset(d);
		if (!c->f->lost)
			resp_bulk_done(c);
		return;
	}
	if (line_take(c, p, n) <= 0)
		return;
	line_get(d, &ln);
	resp_c_line(c, &ln);
	line_reset(d);
}

/* A value of the reply being read is complete: climb the aggregates. */
static void
resp_value_done(struct fc *c)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	d->st = R_IDLE;
	for (;;) {
		if (f->depth == 0) {
			if (d->fl & RF_PUSH) {
				d->fl &= (uint8_t)~RF_PUSH;   /* out of band: answers nothing */
				return;
			}
			resp_end(c, d->status ? AM_FR_F_ERROR : 0);
			return;
		}
		if (--f->stack[f->depth - 1] > 0)
			return;
		f->depth--;
		if (f->attr & (1u << f->depth)) {
			/* an attribute describes the value after it: not a value itself */
			f->attr &= ~(1u << f->depth);
			return;
		}
	}
}

static void
resp_s_line(struct fc *c, const struct line *ln)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;
	int64_t x;

	if (ln->hl == 0) {
		lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	int type = ln->h[0];
	if (!in_set("+-:_,#($!=*~>%|", type)) {
		lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	if (f->depth == 0 && !f->resp_on && !(d->fl & RF_PUSH)) {
		if (type == '>')
			d->fl |= RF_PUSH;
		else if (resp_start(c, -1) != 0)
			return;
	}
	int top = f->depth == 0 && !(d->fl & RF_PUSH);
	switch (type) {
	case '-':
		if (top)
			d->status = 1;
		/* fall through */
	case '+': case ':': case '_': case ',': case '#': case '(':
		resp_value_done(c);
		return;
	case '$': case '!': case '=':
		if (ln->trunc || parse_i64(ln->h + 1, ln->hl - 1, &x) != 0 || x < -1 ||
		    x > (int64_t)MAXBODY) {
			lose(c, ln->hl == 2 && ln->h[1] == '?' ? AM_FR_LOST_UNSUPPORTED :
			    AM_FR_LOST_GARBAGE);
			return;
		}
		if (type == '!' && top)
			d->status = 1;
		if (x < 0)
			resp_value_done(c);
		else
			skip_then(c, (uint64_t)x + 2, A_RESP_VALUE);
		return;
	default:   /* aggregates */
		if (ln->trunc || parse_i64(ln->h + 1, ln->hl - 1, &x) != 0 || x < -1 ||
		    x > (1LL << 30)) {
			lose(c, ln->hl == 2 && ln->h[1] == '?' ? AM_FR_LOST_UNSUPPORTED :
			    AM_FR_LOST_GARBAGE);
			return;
		}
		if (type == '%' || type == '|')
			x *= 2;
		if (x <= 0) {
			if (type != '|')
				resp_value_done(c);
			return;
		}
		if (f->depth >= AM_FR_DEPTH) {
			lose(c, AM_FR_LOST_UNSUPPORTED);
			return;
		}
		f->stack[f->depth] = (uint32_t)x;
		if (type == '|')
			f->attr |= 1u << f->depth;
		else
			f->attr &= ~(1u << f->depth);
		f->depth++;
		return;
	}
}

static void
resp_s_step(struct fc *c, const uint8_t *p, size_t n)
{
	struct line ln;

	if (line_take(c, p, n) <= 0)
		return;
	line_get(c->d, &ln);
	resp_s_line(c, &ln);
	line_reset(c->d);
}

/* --- PostgreSQL ----------------------------------------------------- */

enum { PG_INIT, PG_SSLWAIT, PG_STARTUP, PG_READY };
#define PGF_COPYIN 0x01
#define PG_SSL_CODE 80877103u
#define PG_GSS_CODE 80877104u
#define PG_CANCEL_CODE 80877102u

static void
pg_resp_end(struct fc *c)
{
	struct am_framer *f = c->f;

	resp_end(c, c->d->status ? AM_FR_F_ERROR : 0);
	f->cfl &= (uint8_t)~PGF_COPYIN;
	if (f->phase == PG_STARTUP)
		f->phase = PG_READY;
}

static void
pg_c_step(struct fc *c, const uint8_t *p, size_t n)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	if (d->ltotal == 0)
		d->fl = f->phase == PG_INIT && p[0] == 0;    /* startup-style, no type byte */
	if (!hdr_take(c, p, n, d->fl ? 8 : 5))
		return;
	if (d->fl) {
		uint32_t len = be32(d->line), code = be32(d->line + 4);
		line_reset(d);
		if (len < 8 || len > 10000) {
			lose(c, AM_FR_LOST_GARBAGE);
		} else if (code == PG_SSL_CODE || code == PG_GSS_CODE) {
			if (len != 8) {
				lose(c, AM_FR_LOST_GARBAGE);
				return;
			}
			if (req_start(c, 0, 0, 0) != 0)
				return;
			req_end(c);
			f->phase = PG_SSLWAIT;
		} else if (code == PG_CANCEL_CODE) {
			req_start(c, 1, 0, 0);
			skip_then(c, len - 8, A_REQ_END);
		} else if ((code >> 16) == 3) {
			if (req_start(c, 0, 0, 0) != 0)
				return;
			f->phase = PG_STARTUP;
			skip_then(c, len - 8, A_REQ_END);
		} else {
			lose(c, (code >> 16) == 2 || (code >> 16) == 1 ? AM_FR_LOST_UNSUPPORTED :
			    AM_FR_LOST_GARBAGE);
		}
		return;
	}
	int type = d->line[0];
	uint32_t len = be32(d->line + 1);
	line_reset(d);
	if (!in_set("BCcdDEfFHpPQSX", type) || len < 4 || len > (1u << 30)) {
		lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	uint64_t body = len - 4;
	if (f->phase == PG_INIT)
		f->phase = PG_READY;          /* picked up after the startup */
	/* Only password/SASL/GSS messages ('p') belong to the startup; any other
	 * message means the client has moved on (with trust authentication it
	 * may send its first requests together with the startup). */
	if (f->phase == PG_STARTUP && type != 'p')
		f->phase = PG_READY;
	if (f->phase != PG_READY) {
		skip_then(c, body, A_NONE);   /* password/SASL messages of the startup */
		return;
	}
	if ((f->cfl & PGF_COPYIN) && (type == 'd' || type == 'c' || type == 'f')) {
		if (type != 'd')
			f->cfl &= (uint8_t)~PGF_COPYIN;
		skip_then(c, body, A_NONE);   /* COPY FROM STDIN data of the request */
		return;
	}
	if (!f->req_on && req_start(c, type == 'X', 0, 0) != 0)
		return;
	/* a batch ends at Sync, a simple Query, a FunctionCall or Terminate */
	skip_then(c, body, in_set("SQFX", type) ? A_REQ_END : A_NONE);
}

static void
pg_s_step(struct fc *c, const uint8_t *p, size_t n)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	if (f->phase == PG_SSLWAIT) {
		int b = p[0];
		mark(c);
		if (resp_start(c, -1) != 0)
			return;
		d->pos++;
		resp_end(c, 0);
		if (b == 'S' || b == 'G')
			lose(c, AM_FR_LOST_TUNNEL);
		else if (b == 'N')
			f->phase = PG_INIT;
		else
			lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	if (!hdr_take(c, p, n, 5))
		return;
	int type = d->line[0];
	uint32_t len = be32(d->line + 1);
	line_reset(d);
	if (!in_set("RKZCTDEINAS123nstGHWdcVv", type) || len < 4 || len > (1u << 30)) {
		lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	uint64_t body = len - 4;
	if (f->nans == f->nreq || (!f->resp_on && type == 'A')) {
		skip_then(c, body, A_NONE);   /* asynchronous: answers nothing */
		return;
	}
	if (!f->resp_on && resp_start(c, -1) != 0)
		return;
	switch (type) {
	case 'E':
		d->status = 1;
		break;
	case 'G':
		f->cfl |= PGF_COPYIN;
		break;
	case 'W':
		lose(c, AM_FR_LOST_TUNNEL);   /* COPY BOTH: replication */
		return;
	case 'Z':
		skip_then(c, body, A_PG_END);
		return;
	}
	skip_then(c, body, A_NONE);
}

/* --- MySQL ---------------------------------------------------------- */

enum { MY_INIT, MY_AUTHWAIT, MY_AUTH, MY_CMD };
enum { MK_SIMPLE, MK_RESULT, MK_PREPARE, MK_ROWS, MK_AUTH };
enum { MS_SIMPLE, MS_FIRST, MS_COLS, MS_COLEOF, MS_ROWS, MS_INFILE, MS_PREP, MS_PPARAM,
	MS_PEOF1, MS_PCOL, MS_PEOF2, MS_AUTH };
#define MYF_CLASSIC 0x01     /* EOF packets after definitions (no CLIENT_DEPRECATE_EOF) */
#define MYF_DEPRECATE 0x02   /* CLIENT_DEPRECATE_EOF */
#define MYF_CCONT 0x04       /* the next client packet continues a 16 MiB one */
#define MYF_SCONT 0x08       /* the next server packet continues a 16 MiB one */
#define MY_ENDPKT 0x01       /* d->fl: the message ends with its last continuation */
#define MY_MAXPKT 0xffffffu
#define MY_MORE_RESULTS 0x0008
#define MY_CURSOR_EXISTS 0x0040

static size_t
my_c_want(struct fc *c)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	if (d->llen < 4)
		return 4;
	uint32_t len = le24(d->line), seq = d->line[3];
	size_t more = 0;
	if (f->cfl & MYF_CCONT)
		more = 0;
	else if (f->phase == MY_CMD || (f->phase == MY_INIT && seq == 0))
		more = seq == 0 ? 1 : 0;
	else if (!f->req_on && f->nreq == f->nans && f->phase != MY_AUTH)
		more = 4;             /* the handshake response: capabilities */
	return 4 + (more < len ? more : len);
}

static void
my_c_step(struct fc *c, const uint8_t *p, size_t n)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	if (!hdr_take(c, p, n, my_c_want(c)))
		return;
	if (d->llen < my_c_want(c))
		return;
	uint8_t b[8];
	size_t got = d->llen;
	memcpy(b, d->line, got);
	line_reset(d);
	uint32_t len = le24(b), seq = b[3];
	int cont = len == MY_MAXPKT;
	uint64_t rest = len - (got - 4);

	if (f->cfl & MYF_CCONT) {
		if (!cont)
			f->cfl &= (uint8_t)~MYF_CCONT;
		skip_then(c, rest, !cont && (d->fl & MY_ENDPKT) ? A_REQ_END : A_NONE);
		return;
	}
	if (cont)
		f->cfl |= MYF_CCONT;
	if (f->phase == MY_CMD || (f->phase == MY_INIT && seq == 0)) {
		f->phase = MY_CMD;
		if (seq != 0) {       /* LOCAL INFILE data, COM_CHANGE_USER auth */
			d->fl = 0;
			skip_then(c, rest, A_NONE);
			return;
		}
		if (len == 0) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		int kind, noreply = 0;
		switch (b[4]) {
		case 0x01: case 0x18: case 0x19:   /* QUIT, STMT_SEND_LONG_DATA, STMT_CLOSE */
			noreply = 1;
			kind = MK_SIMPLE;
			break;
		case 0x03: case 0x17: case 0x0a:   /* QUERY, STMT_EXECUTE, PROCESS_INFO */
			kind = MK_RESULT;
			break;
		case 0x16:                         /* STMT_PREPARE */
			kind = MK_PREPARE;
			break;
		case 0x04: case 0x1c:              /* FIELD_LIST, STMT_FETCH */
			kind = MK_ROWS;
			break;
		case 0x11:                         /* CHANGE_USER */
			kind = MK_AUTH;
			break;
		case 0x12: case 0x13: case 0x1e:   /* BINLOG_DUMP, TABLE_DUMP, BINLOG_DUMP_GTID */
			lose(c, AM_FR_LOST_UNSUPPORTED);
			return;
		default:
			if (b[4] > 0x1f) {
				lose(c, AM_FR_LOST_GARBAGE);
				return;
			}
			kind = MK_SIMPLE;
		}
		if (req_start(c, noreply, (uint16_t)kind, 1) != 0)
			return;
		d->fl = cont ? MY_ENDPKT : 0;
		skip_then(c, rest, cont ? A_NONE : A_REQ_END);
		return;
	}
	/* connection phase */
	if (!f->req_on && f->nreq == f->nans && f->phase != MY_AUTH) {
		if (got < 8) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		uint32_t caps = le32(b + 4);
		if (caps & 0x800) {               /* CLIENT_SSL */
			lose(c, AM_FR_LOST_TUNNEL);
			return;
		}
		if (caps & (0x20 | (1u << 26))) { /* CLIENT_COMPRESS, zstd */
			lose(c, AM_FR_LOST_UNSUPPORTED);
			return;
		}
		f->cfl |= (caps & (1u << 24)) ? MYF_DEPRECATE : MYF_CLASSIC;
		if (req_start(c, 0, MK_AUTH, 1) != 0)
			return;
		f->phase = MY_AUTH;
		d->fl = cont ? MY_ENDPKT : 0;
		skip_then(c, rest, cont ? A_NONE : A_REQ_END);
		return;
	}
	skip_then(c, rest, A_NONE);          /* more authentication data */
}

static void
my_resp_end(struct fc *c)
{
	struct am_framer *f = c->f;

	if (f->q.kind[c->d->rq % AM_FR_MAXQ] == MK_AUTH)
		f->phase = MY_CMD;
	c->d->fl = 0;
	resp_end(c, c->d->status ? AM_FR_F_ERROR : 0);
}

static size_t
my_s_want(struct fc *c)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	if (d->llen < 4)
		return 4;
	uint32_t len = le24(d->line);
	if ((f->cfl & MYF_SCONT) || len == 0)
		return 4;
	if (d->llen < 5)
		return 5;
	uint8_t b = d->line[4];
	size_t more = 1;
	/* rows and definitions need their first byte only (0xfe, 0xff: more) */
	if (!f->resp_on || f->phase != MY_CMD || b == 0xfe || b == 0xff ||
	    d->st == MS_FIRST || d->st == MS_INFILE || d->st == MS_PREP)
		more = 24;
	return 4 + (more < len ? more : len);
}

/* Length-encoded integer; returns bytes used, 0 if invalid or cut. */
static size_t
lenenc(const uint8_t *p, size_t n, uint64_t *v)
{
	if (n < 1)
		return 0;
	if (p[0] < 0xfb) {
		*v = p[0];
		return 1;
	}
	size_t k = p[0] == 0xfc ? 2 : p[0] == 0xfd ? 3 : p[0] == 0xfe ? 8 : 0;
	if (k == 0 || n < 1 + k)
		return 0;
	uint64_t x = 0;
	for (size_t i = 0; i < k; i++)
		x |= (uint64_t)p[1 + i] << (8 * i);
	*v = x;
	return 1 + k;
}

/* Status flags of an OK or EOF packet: 1 more results follow, 0 no, -1 bad. */
static int
my_more(const uint8_t *pl, size_t n, uint32_t len)
{
	uint64_t x;
	size_t i = 1, k;

	if (pl[0] == 0xfe && len < 7)
		return n >= 5 ? (le16(pl + 3) & MY_MORE_RESULTS) != 0 : -1;
	for (int f = 0; f < 2; f++) {
		if ((k = lenenc(pl + i, n - i, &x)) == 0)
			return -1;
		i += k;
	}
	if (n < i + 2)
		return len < i + 2 ? 0 : -1;    /* pre-4.1 OK without status */
	return (le16(pl + i) & MY_MORE_RESULTS) != 0;
}

/* One packet of a response; returns 1 when it ends the response, 0 when
 * more follow, -1 when sync is lost. */
static int
my_packet(struct fc *c, const uint8_t *pl, size_t n, uint32_t len)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;
	int b = n ? pl[0] : -1;
	int m;
	uint64_t x;

	if (b == 0xff && d->st != MS_SIMPLE) {
		d->status = n >= 3 ? (int32_t)le16(pl + 1) : 1;
		return 1;
	}
	int is_eof = b == 0xfe && len < 7;
	switch (d->st) {
	case MS_SIMPLE:
		if (b == 0xff)
			d->status = n >= 3 ? (int32_t)le16(pl + 1) : 1;
		return 1;
	case MS_AUTH:
		return b == 0x00;
	case MS_INFILE:
	case MS_FIRST:
		if (b == 0x00) {
			if ((m = my_more(pl, n, len)) < 0)
				goto bad;
			d->st = MS_FIRST;
			return !m;
		}
		if (d->st == MS_INFILE)
			goto bad;
		if (b == 0xfb) {
			d->st = MS_INFILE;
			return 0;
		}
		if (b == 0xfe)
			return 1;
		if (lenenc(pl, n, &x) == 0 || x == 0)
			goto bad;
		d->num = x;
		d->st = MS_COLS;
		return 0;
	case MS_COLS:
		if (--d->num == 0)
			d->st = MS_COLEOF;
		return 0;
	case MS_COLEOF:
		d->st = MS_ROWS;
		if (is_eof) {
			f->cfl |= MYF_CLASSIC;
			/* COM_STMT_EXECUTE opening a cursor: no rows until COM_STMT_FETCH */
			return n >= 5 && (le16(pl + 3) & MY_CURSOR_EXISTS) != 0;
		}
		/* no EOF after the definitions: a row or the end */
		/* fall through */
	case MS_ROWS:
		if (b == 0xfe && len < MY_MAXPKT) {
			if ((m = my_more(pl, n, len)) < 0)
				goto bad;
			d->st = MS_FIRST;
			return !m;
		}
		return 0;
	case MS_PREP:
		if (b != 0x00 || n < 9)
			goto bad;
		d->num = le16(pl + 7) | (uint64_t)le16(pl + 5) << 32;  /* params, columns */
		if ((d->num & 0xffffffff) != 0) {
			d->st = MS_PPARAM;
			return 0;
		}
		d->num >>= 32;
		d->st = MS_PCOL;
		return d->num == 0;
	case MS_PPARAM:
		if (is_eof) {
			f->cfl |= MYF_CLASSIC;
			return 0;
		}
		if ((--d->num & 0xffffffff) != 0)
			return 0;
		d->num >>= 32;
		d->st = (f->cfl & MYF_CLASSIC) ? MS_PEOF1 : MS_PCOL;
		return d->st == MS_PCOL && d->num == 0;
	case MS_PEOF1:
		if (!is_eof)
			goto bad;
		d->st = MS_PCOL;
		return d->num == 0;
	case MS_PCOL:
		if (is_eof) {
			f->cfl |= MYF_CLASSIC;
			return 0;
		}
		if (--d->num != 0)
			return 0;
		if (f->cfl & MYF_CLASSIC) {
			d->st = MS_PEOF2;
			return 0;
		}
		return 1;
	case MS_PEOF2:
		if (!is_eof)
			goto bad;
		return 1;
	}
bad:
	lose(c, n < 24 && n < len ? AM_FR_LOST_GAP : AM_FR_LOST_GARBAGE);
	return -1;
}

static void
my_s_step(struct fc *c, const uint8_t *p, size_t n)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	if (!hdr_take(c, p, n, my_s_want(c)))
		return;
	if (d->llen < my_s_want(c))
		return;
	uint8_t b[4 + 24];
	size_t got = d->llen;
	memcpy(b, d->line, got);
	line_reset(d);
	uint32_t len = le24(b);
	uint8_t seq = b[3];
	int cont = len == MY_MAXPKT;
	uint64_t rest = len - (got - 4);
	const uint8_t *pl = b + 4;
	size_t pll = got - 4;

	if (f->cfl & MYF_SCONT) {
		d->seq = seq;
		if (!cont)
			f->cfl &= (uint8_t)~MYF_SCONT;
		skip_then(c, rest, !cont && (d->fl & MY_ENDPKT) ? A_MY_END : A_NONE);
		return;
	}
	if (cont)
		f->cfl |= MYF_SCONT;
	if (!f->resp_on) {
		int stray_eof = pll > 0 && pl[0] == 0xfe && len < 7 && !(f->cfl & MYF_DEPRECATE);
		if (f->nans == f->nreq) {
			/* the greeting, a leftover EOF, or an unsolicited error */
			if (f->phase == MY_INIT && seq == 0 && pll > 0 && pl[0] == 0x0a)
				f->phase = MY_AUTHWAIT;
			if (stray_eof)
				f->cfl |= MYF_CLASSIC;
			skip_then(c, rest, A_NONE);
			return;
		}
		uint16_t kind = f->q.kind[(f->nans + 1) % AM_FR_MAXQ];
		if (f->phase == MY_CMD && kind != MK_AUTH && seq != 1) {
			if (!stray_eof) {
				lose(c, AM_FR_LOST_GARBAGE);
				return;
			}
			f->cfl |= MYF_CLASSIC;        /* the EOF after a prepare's definitions */
			skip_then(c, rest, A_NONE);
			return;
		}
		if (resp_start(c, -1) != 0)
			return;
		static const uint8_t first[] = { [MK_SIMPLE] = MS_SIMPLE, [MK_RESULT] = MS_FIRST,
			[MK_PREPARE] = MS_PREP, [MK_ROWS] = MS_ROWS, [MK_AUTH] = MS_AUTH };
		d->st = kind < sizeof(first) ? first[kind] : MS_SIMPLE;
	} else if (seq != (uint8_t)(d->seq + 1) && d->st != MS_AUTH && d->st != MS_INFILE) {
		/* (the client's packets take sequence ids in between in those two) */
		lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	d->seq = seq;
	int end = my_packet(c, pl, pll, len);
	if (end < 0)
		return;
	d->fl = cont && end ? MY_ENDPKT : 0;
	skip_then(c, rest, end && !cont ? A_MY_END : A_NONE);
}

/* --- memcached ------------------------------------------------------ */

#define MK_MULTI 0x01        /* values until END */
#define MK_CAS 0x02          /* VALUE lines carry a cas unique */

static int
mc_quiet(struct fc *c, const struct toks *t, int from)
{
	for (int i = from; i < t->n; i++)
		if (t->l[i] > 0 && t->s[i][0] == 'q') {
			lose(c, AM_FR_LOST_UNSUPPORTED);   /* quiet mode: replies may not come */
			return 1;
		}
	return 0;
}

static void
mc_cmd(struct fc *c, const struct line *ln)
{
	struct toks t, tt;
	int64_t data = -1;
	uint16_t kind = 0;
	int noreply = 0;
	uint64_t x;

	tokenize(ln->h, ln->hl, &t);
	tokenize_last(ln, &tt);
	const uint8_t *cmd = t.n ? t.s[0] : ln->h;
	size_t cl = t.n ? t.l[0] : 0;
	int whole = !ln->trunc && ln->hl <= AM_FR_TAIL;  /* tt holds every token */
	const struct toks *last = &tt;
	int tn = last->n;
	if (tn > 0 && EQ(last->s[tn - 1], last->l[tn - 1], "noreply")) {
		noreply = 1;
		tn--;
	}
	if (EQ(cmd, cl, "set") || EQ(cmd, cl, "add") || EQ(cmd, cl, "replace") ||
	    EQ(cmd, cl, "append") || EQ(cmd, cl, "prepend") || EQ(cmd, cl, "cas")) {
		/* <cmd> <key> <flags> <exptime> <bytes> [<cas>] [noreply] */
		int cas = EQ(cmd, cl, "cas"), k = tn - 1 - cas;
		int minimum = whole ? 5 + cas : 1 + cas;
		if (tn < minimum || k < 0 || parse_u64(last->s[k], last->l[k], &x) != 0 ||
		    x > MAXBODY) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		data = (int64_t)x;
	} else if (EQ(cmd, cl, "ms")) {
		if (ln->trunc) {
			lose(c, AM_FR_LOST_LONG);
			return;
		}
		if (t.n < 3 || parse_u64(t.s[2], t.l[2], &x) != 0 || x > MAXBODY) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		if (mc_quiet(c, &t, 3))
			return;
		data = (int64_t)x;
		noreply = 0;
	} else if (EQ(cmd, cl, "mg") || EQ(cmd, cl, "md") || EQ(cmd, cl, "ma") ||
	    EQ(cmd, cl, "me") || EQ(cmd, cl, "mn")) {
		if (mc_quiet(c, &t, 2))
			return;
		noreply = 0;
	} else if (EQ(cmd, cl, "get") || EQ(cmd, cl, "gets") || EQ(cmd, cl, "gat") ||
	    EQ(cmd, cl, "gats")) {
		kind = MK_MULTI | (cmd[cl - 1] == 's' ? MK_CAS : 0);
		noreply = 0;
	} else if (EQ(cmd, cl, "stats")) {
		int single = t.n >= 2 && (EQ(t.s[1], t.l[1], "reset") ||
		    (EQ(t.s[1], t.l[1], "detail") && t.n >= 3 && !EQ(t.s[2], t.l[2], "dump")));
		kind = single ? 0 : MK_MULTI;
		noreply = 0;
	} else if (EQ(cmd, cl, "lru_crawler")) {
		if (t.n >= 2 && (EQ(t.s[1], t.l[1], "metadump") || EQ(t.s[1], t.l[1], "mgdump")))
			kind = MK_MULTI;
	} else if (EQ(cmd, cl, "watch")) {
		lose(c, AM_FR_LOST_UNSUPPORTED);
		return;
	} else if (EQ(cmd, cl, "quit")) {
		noreply = 1;
	}
	if (req_start(c, noreply, kind, 1) != 0)
		return;
	if (data >= 0)
		skip_then(c, (uint64_t)data + 2, A_REQ_END);
	else
		req_end(c);
}

static void
mc_resp_end(struct fc *c)
{
	resp_end(c, c->d->status ? AM_FR_F_ERROR : 0);
}

static void
mc_reply(struct fc *c, const struct line *ln)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;
	struct toks t, tt;
	uint64_t x;

	if (!f->resp_on && resp_start(c, -1) != 0)
		return;
	uint16_t kind = f->q.kind[d->rq % AM_FR_MAXQ];
	const uint8_t *sp = memchr(ln->h, ' ', ln->hl);
	const uint8_t *w = ln->h;
	size_t wl = sp ? (size_t)(sp - ln->h) : ln->hl;
	t.n = 0;
	if (wl > 0 && w[0] == 'V')
		tokenize(ln->h, ln->hl, &t);      /* VALUE and VA carry lengths */
	if (EQ(w, wl, "VALUE")) {
		/* VALUE <key> <flags> <bytes> [<cas>] */
		int ok;
		if (ln->trunc) {
			tokenize_last(ln, &tt);
			int k = tt.n - 1 - ((kind & MK_CAS) ? 1 : 0);
			ok = k >= 0 && parse_u64(tt.s[k], tt.l[k], &x) == 0;
		} else {
			ok = t.n >= 4 && parse_u64(t.s[3], t.l[3], &x) == 0;
		}
		if (!ok || x > MAXBODY) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		skip_then(c, x + 2, (kind & MK_MULTI) ? A_NONE : A_MC_END);
	} else if (EQ(w, wl, "VA")) {
		if (t.n < 2 || parse_u64(t.s[1], t.l[1], &x) != 0 || x > MAXBODY) {
			lose(c, AM_FR_LOST_GARBAGE);
			return;
		}
		skip_then(c, x + 2, (kind & MK_MULTI) ? A_NONE : A_MC_END);
	} else if (EQ(w, wl, "ERROR") || EQ(w, wl, "CLIENT_ERROR") || EQ(w, wl, "SERVER_ERROR")) {
		d->status = 1;
		mc_resp_end(c);
	} else if (EQ(w, wl, "END") || EQ(w, wl, "EN") || !(kind & MK_MULTI)) {
		/* (lru_crawler mgdump ends with EN) */
		mc_resp_end(c);
	}
}

static void
mc_step(struct fc *c, const uint8_t *p, size_t n)
{
	struct am_fr_dir *d = c->d;
	struct line ln;

	if (d->ltotal == 0 && p[0] == 0x80 && c->dir == 0) {
		lose(c, AM_FR_LOST_UNSUPPORTED);    /* the binary protocol */
		return;
	}
	if (line_take(c, p, n) <= 0)
		return;
	line_get(d, &ln);
	if (c->dir == 0)
		mc_cmd(c, &ln);
	else
		mc_reply(c, &ln);
	line_reset(d);
}

/* --- DNS over TCP --------------------------------------------------- */

static void
dns_resp_end(struct fc *c)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	emit_end(c, AM_FR_RESP_END, d->rq, d->status, d->status ? AM_FR_F_ERROR : 0);
	f->answered |= 1ULL << (d->rq - f->nans - 1);
	while (f->answered & 1) {
		f->answered >>= 1;
		f->nans++;
	}
	f->resp_on = 0;
}

static void
dns_step(struct fc *c, const uint8_t *p, size_t n)
{
	struct am_framer *f = c->f;
	struct am_fr_dir *d = c->d;

	if (!hdr_take(c, p, n, c->dir == 0 ? 4 : 6))
		return;
	uint32_t len = be16(d->line), id = be16(d->line + 2);
	int qr = c->dir ? d->line[4] & 0x80 : 0, rcode = c->dir ? d->line[5] & 0x0f : 0;
	line_reset(d);
	if (len < 12 || (c->dir == 1 && !qr)) {
		lose(c, AM_FR_LOST_GARBAGE);
		return;
	}
	if (c->dir == 0) {
		if (req_start(c, 0, (uint16_t)id, 1) != 0)
			return;
		skip_then(c, len - 2, A_REQ_END);
		return;
	}
	/* responses may come in any order: the oldest pending query with this id */
	uint32_t k;
	for (k = f->nans + 1; k <= f->nreq && k > f->nans; k++)
		if (!((f->answered >> (k - f->nans - 1)) & 1) && f->q.id[k % AM_FR_MAXQ_DNS] == id)
			break;
	if (k > f->nreq || k <= f->nans) {
		skip_then(c, len - 4, A_NONE);   /* unsolicited, or more of a zone transfer */
		return;
	}
	d->rq = k;
	d->status = rcode;
	f->resp_on = 1;
	emit_start(c, AM_FR_RESP_START, k, rcode, 0);
	skip_then(c, len - 4, A_DNS_END);
}

/* --- driver --------------------------------------------------------- */

static void
after(struct fc *c, uint8_t a)
{
	switch (a) {
	case A_NONE:
		break;
	case A_REQ_END:
		req_end(c);
		break;
	case A_HTTP_END:
		http_msg_end(c);
		break;
	case A_HTTP_CHUNK:
		c->d->st = H_CEND;
		break;
	case A_RESP_ARG:
		resp_bulk_done(c);
		break;
	case A_RESP_VALUE:
		resp_value_done(c);
		break;
	case A_PG_END:
		pg_resp_end(c);
		break;
	case A_MY_END:
		my_resp_end(c);
		break;
	case A_MC_END:
		mc_resp_end(c);
		break;
	case A_DNS_END:
		dns_resp_end(c);
		break;
	}
}

static void
skip_then(struct fc *c, uint64_t len, uint8_t action)
{
	if (len == 0) {
		after(c, action);
		return;
	}
	c->d->skip = len;
	c->d->after = action;
}

static void
step(struct fc *c, const uint8_t *p, size_t n)
{
	switch (c->f->proto) {
	case AM_FR_HTTP:
		http_step(c, p, n);
		break;
	case AM_FR_RESP:
		if (c->dir == 0)
			resp_c_step(c, p, n);
		else
			resp_s_step(c, p, n);
		break;
	case AM_FR_PGSQL:
		if (c->dir == 0)
			pg_c_step(c, p, n);
		else
			pg_s_step(c, p, n);
		break;
	case AM_FR_MYSQL:
		if (c->dir == 0)
			my_c_step(c, p, n);
		else
			my_s_step(c, p, n);
		break;
	case AM_FR_MEMCACHE:
		mc_step(c, p, n);
		break;
	case AM_FR_DNS_TCP:
		dns_step(c, p, n);
		break;
	default:
		lose(c, AM_FR_LOST_UNSUPPORTED);
	}
}

int
am_framer_init(struct am_framer *f, enum am_fr_proto proto)
{
	memset(f, 0, sizeof(*f));
	f->proto = (uint8_t)proto;
	switch (proto) {
	case AM_FR_HTTP: case AM_FR_RESP: case AM_FR_PGSQL: case AM_FR_MYSQL:
	case AM_FR_MEMCACHE: case AM_FR_DNS_TCP:
		return 0;
	default:
		f->lost = AM_FR_LOST_UNSUPPORTED;
		return -1;
	}
}

int
am_framer_feed(struct am_framer *f, int dir, am_time_t ts, const uint8_t *data,
    uint32_t caplen, uint32_t seglen, am_fr_cb cb, void *ctx)
{
	if (f->lost)
		return -1;
	if (dir != 0 && dir != 1)
		return f->lost ? -1 : 0;
	if (data == NULL || caplen > seglen)
		caplen = data == NULL ? 0 : seglen;
	struct am_fr_dir *d = &f->d[dir];
	struct fc c = { f, d, dir, ts, d->pos, cb, ctx, data, d->pos + caplen };
	uint64_t end = d->pos + seglen, vis = c.vis;
	int stall = 0;

	if (seglen > 0)
		d->lts = ts;
	while (d->pos < end && !f->lost) {
		if (d->blind) {
			d->pos = end;          /* passed over until the other side's turn */
			break;
		}
		if (d->skip) {
			uint64_t k = end - d->pos;
			if (k > d->skip)
				k = d->skip;
			d->skip -= k;
			d->pos += k;
			if (d->skip == 0) {
				uint8_t a = d->after;
				d->after = A_NONE;
				after(&c, a);
			}
			stall = 0;
			continue;
		}
		if (d->pos >= vis) {
			go_blind(&c);
			continue;
		}
		uint64_t before = d->pos;
		step(&c, data + (d->pos - c.start), (size_t)(vis - d->pos));
		if (d->pos != before)
			stall = 0;
		else if (++stall > 8)
			lose(&c, AM_FR_LOST_GARBAGE);   /* no progress: never loop */
	}
	return f->lost ? -1 : 0;
}

int
am_framer_gap(struct am_framer *f, int dir, am_time_t ts, uint32_t len, am_fr_cb cb, void *ctx)
{
	return am_framer_feed(f, dir, ts, NULL, 0, len, cb, ctx);
}

void
am_framer_fin(struct am_framer *f, int dir, am_fr_cb cb, void *ctx)
{
	if (f->lost || dir != 1)
		return;
	struct am_fr_dir *d = &f->d[1];
	struct fc c = { f, d, 1, d->lts, d->pos, cb, ctx, NULL, 0 };
	if (d->blind && f->resp_on) {
		emit(&c, AM_FR_RESP_END, d->rq, d->pos, d->lts, d->status,
		    AM_FR_F_CLOSE | AM_FR_F_TURN | err_flag(f, d->status));
		f->nans = d->rq;
		f->resp_on = 0;
		return;
	}
	if (f->proto == AM_FR_HTTP && (d->fl & HF_CLOSE) && f->resp_on) {
		d->skip = 0;
		d->after = A_NONE;
		d->fl = 0;
		d->st = H_IDLE;
		emit(&c, AM_FR_RESP_END, d->rq, d->pos, d->lts, d->status,
		    AM_FR_F_CLOSE | (d->status >= 400 ? AM_FR_F_ERROR : 0));
		f->nans = d->rq;
		f->resp_on = 0;
	}
}

void
am_framer_stop(struct am_framer *f, enum am_fr_lost why, am_fr_cb cb, void *ctx)
{
	struct fc c = { f, &f->d[0], 0, f->d[0].lts, f->d[0].pos, cb, ctx, NULL, 0 };

	lose(&c, why);
}

uint32_t
am_framer_pending(const struct am_framer *f)
{
	uint32_t n = f->nreq - f->nans;

	if (f->proto == AM_FR_DNS_TCP)
		n -= (uint32_t)__builtin_popcountll(f->answered);
	return n;
}
