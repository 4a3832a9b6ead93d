/* Framer tests.  Each scenario is a conversation (segments per direction,
 * FINs, gaps) with the events it must produce, written down while the
 * conversation is built from the byte positions of its messages.  Every
 * scenario is run whole, with each segment split in two at every position,
 * and byte by byte: the events must be the same each time, and each event's
 * time and offset must agree with the chunk that carried its boundary.
 * Chunks are handed over in buffers of exactly their captured size, so a
 * read past caplen is caught by the sanitizer build. */
#include "config.h"
#include "capture/decode.h"
#include "capture/framing.h"

#include <check.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXSEG 1024
#define MAXCH 100000
#define STORE (1 << 20)
#define OUT (1 << 17)

enum { K_DATA, K_FIN, K_GAP };

struct seg {
	int kind, dir;
	size_t off;          /* into store */
	uint32_t len, cap;
	unsigned long long spos;   /* stream offset of its first byte in dir */
};

/* The conversation being built, and the events expected from it. */
static struct {
	enum am_fr_proto proto;
	int n;
	struct seg s[MAXSEG];
	uint8_t store[STORE];
	size_t used;
	unsigned long long pos[2];
	char exp[OUT];
	size_t elen;
} S;

/* One run. */
static struct {
	char out[OUT];
	size_t olen;
	int nch[2];
	unsigned long long cstart[2][MAXCH];
	uint32_t clen[2][MAXCH];
	am_time_t cts[2][MAXCH];
	unsigned long long pos[2];
	am_time_t clock;
	int fdir;            /* direction being fed */
	int bad;
	char badmsg[256];
	int nev[AM_FR__TYPES];
	int heads;           /* request starts that came with their first bytes */
} R;

static void
sc_init(enum am_fr_proto p)
{
	memset(&S, 0, sizeof(S));
	S.proto = p;
}

static void
sc_seg(int dir)
{
	ck_assert_int_lt(S.n, MAXSEG);
	S.s[S.n].kind = K_DATA;
	S.s[S.n].dir = dir;
	S.s[S.n].off = S.used;
	S.s[S.n].len = S.s[S.n].cap = 0;
	S.s[S.n].spos = S.pos[dir];
	S.n++;
}

static void
sc_put(const void *p, size_t n)
{
	struct seg *g = &S.s[S.n - 1];

	ck_assert(S.used + n <= STORE);
	memcpy(S.store + S.used, p, n);
	S.used += n;
	g->len += (uint32_t)n;
	g->cap = g->len;
	S.pos[g->dir] += n;
}

static void
sc_puts(const char *s)
{
	sc_put(s, strlen(s));
}

static void
sc_putn(int ch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)ch;
		sc_put(&b, 1);
	}
}

/* Only the first cap bytes of the current segment are captured. */
static void
sc_cap(uint32_t cap)
{
	S.s[S.n - 1].cap = cap;
}

static void
sc_fin(int dir)
{
	S.s[S.n].kind = K_FIN;
	S.s[S.n].dir = dir;
	S.n++;
}

static void
sc_gap(int dir, uint32_t len)
{
	S.s[S.n].kind = K_GAP;
	S.s[S.n].dir = dir;
	S.s[S.n].len = len;
	S.n++;
	S.pos[dir] += len;
}

static unsigned long long
at(int dir)
{
	return S.pos[dir];
}

static void
ex(const char *fmt, ...)
{
	va_list ap;

	if (S.elen)
		S.exp[S.elen++] = ' ';
	va_start(ap, fmt);
	S.elen += (size_t)vsnprintf(S.exp + S.elen, OUT - S.elen, fmt, ap);
	va_end(ap);
}

static void
bad(const char *fmt, ...)
{
	va_list ap;

	if (R.bad++)
		return;
	va_start(ap, fmt);
	vsnprintf(R.badmsg, sizeof(R.badmsg), fmt, ap);
	va_end(ap);
}

/* Byte pos of direction dir in the conversation, -1 when not captured. */
static int
stream_byte(int dir, unsigned long long pos)
{
	for (int i = 0; i < S.n; i++) {
		const struct seg *g = &S.s[i];
		if (g->kind == K_DATA && g->dir == dir && pos >= g->spos && pos < g->spos + g->len)
			return pos - g->spos < g->cap ? S.store[g->off + (pos - g->spos)] : -1;
	}
	return -1;
}

/* Time of the chunk of dir holding byte b, -1 if none. */
static am_time_t
chunk_ts(int dir, unsigned long long b)
{
	for (int i = R.nch[dir] - 1; i >= 0; i--)
		if (b >= R.cstart[dir][i] && b < R.cstart[dir][i] + R.clen[dir][i])
			return R.cts[dir][i];
	return -1;
}

static void
on_ev(void *ctx, const struct am_fr_event *ev)
{
	static const char letter[] = "QqRrIiL";
	char tmp[96];
	int n;
	int d = ev->dir;
	int endtype = ev->type == AM_FR_REQ_END || ev->type == AM_FR_RESP_END ||
	    ev->type == AM_FR_INTERIM_END;

	(void)ctx;
	R.nev[ev->type]++;
	if (ev->type != AM_FR_LOST) {
		/* the time is that of the chunk carrying the boundary byte */
		if (endtype && ev->pos == 0)
			bad("end event at 0");
		unsigned long long b = endtype ? ev->pos - 1 : ev->pos;
		if (chunk_ts(d, b) != ev->ts)
			bad("%s req %u pos %llu: ts %lld, chunk ts %lld", am_fr_type_name(ev->type),
			    ev->req, (unsigned long long)ev->pos, (long long)ev->ts,
			    (long long)chunk_ts(d, b));
		/* the offset is relative to the chunk being fed; an end inferred
		 * from the other side's turn lies before it */
		if ((ev->flags & AM_FR_F_TURN) && !(ev->flags & AM_FR_F_CLOSE) &&
		    (d == R.fdir || !(ev->flags & AM_FR_F_EARLIER)))
			bad("turn event in the direction fed, or not EARLIER");
		if (!(ev->flags & AM_FR_F_CLOSE) && d == R.fdir && R.nch[d] > 0) {
			unsigned long long cs = R.cstart[d][R.nch[d] - 1];
			uint32_t cl = R.clen[d][R.nch[d] - 1];
			if (ev->flags & AM_FR_F_EARLIER) {
				if (ev->pos >= cs || ev->off != 0)
					bad("EARLIER at %llu, chunk at %llu", (unsigned long long)ev->pos, cs);
			} else if (ev->pos < cs || ev->pos > cs + cl || ev->off != ev->pos - cs) {
				bad("off %u pos %llu chunk %llu+%u", ev->off, (unsigned long long)ev->pos,
				    cs, cl);
			}
		}
	}
	/* the head given with a start is the message's first bytes */
	for (uint32_t i = 0; i < ev->headlen && i < 64; i++) {
		int b = stream_byte(d, ev->pos + i);
		if (b >= 0 && b != ev->head[i]) {
			bad("%s req %u: head byte %u is %02x, stream %02x", am_fr_type_name(ev->type),
			    ev->req, i, ev->head[i], b);
			break;
		}
	}
	if (ev->type == AM_FR_REQ_START)
		R.heads += ev->headlen > 0;
	if (ev->type == AM_FR_LOST) {
		n = snprintf(tmp, sizeof(tmp), "L%d:%s@%llu", d, am_fr_lost_name(ev->reason),
		    (unsigned long long)ev->pos);
	} else {
		n = snprintf(tmp, sizeof(tmp), "%c%u@%llu", letter[ev->type], ev->req,
		    (unsigned long long)ev->pos);
		if (ev->status != -1)
			n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "=%d", ev->status);
		if (ev->flags & AM_FR_F_NOREPLY)
			tmp[n++] = 'n';
		if (ev->flags & AM_FR_F_CLOSE)
			tmp[n++] = 'c';
		if (ev->flags & AM_FR_F_ERROR)
			tmp[n++] = 'e';
		if (ev->flags & AM_FR_F_TURN)
			tmp[n++] = 't';
		tmp[n] = 0;
	}
	if (R.olen + (size_t)n + 2 >= OUT)
		return;
	if (R.olen)
		R.out[R.olen++] = ' ';
	memcpy(R.out + R.olen, tmp, (size_t)n + 1);
	R.olen += (size_t)n;
}

/* Feeds bytes [from, to) of segment g as one chunk. */
static void
feed(struct am_framer *f, const struct seg *g, uint32_t from, uint32_t to)
{
	int d = g->dir;
	uint32_t cap = g->cap > from ? (g->cap < to ? g->cap : to) - from : 0;
	uint8_t *copy = cap ? malloc(cap) : NULL;

	if (cap)
		memcpy(copy, S.store + g->off + from, cap);
	ck_assert_int_lt(R.nch[d], MAXCH);
	R.cstart[d][R.nch[d]] = R.pos[d];
	R.clen[d][R.nch[d]] = to - from;
	R.cts[d][R.nch[d]] = ++R.clock;
	R.nch[d]++;
	R.fdir = d;
	am_framer_feed(f, d, R.clock, copy, cap, to - from, on_ev, NULL);
	R.pos[d] += to - from;
	free(copy);
}

enum { RUN_WHOLE, RUN_SPLIT, RUN_BYTES };

/* Runs the conversation; with RUN_SPLIT, segment `sg` is cut at `at_`. */
static const char *
run(int mode, int sg, uint32_t cut)
{
	struct am_framer f;

	R.olen = 0;
	R.out[0] = 0;
	R.nch[0] = R.nch[1] = 0;
	R.pos[0] = R.pos[1] = 0;
	R.clock = 0;
	R.bad = 0;
	R.heads = 0;
	memset(R.nev, 0, sizeof(R.nev));
	am_framer_init(&f, S.proto);
	for (int i = 0; i < S.n; i++) {
		const struct seg *g = &S.s[i];
		if (g->kind == K_FIN) {
			R.fdir = g->dir;
			am_framer_fin(&f, g->dir, on_ev, NULL);
			continue;
		}
		if (g->kind == K_GAP) {
			int d = g->dir;
			R.cstart[d][R.nch[d]] = R.pos[d];
			R.clen[d][R.nch[d]] = g->len;
			R.cts[d][R.nch[d]] = ++R.clock;
			R.nch[d]++;
			R.fdir = d;
			am_framer_gap(&f, d, R.clock, g->len, on_ev, NULL);
			R.pos[d] += g->len;
			continue;
		}
		if (mode == RUN_BYTES) {
			for (uint32_t k = 0; k < g->len; k++)
				feed(&f, g, k, k + 1);
		} else if (mode == RUN_SPLIT && i == sg) {
			feed(&f, g, 0, cut);
			feed(&f, g, cut, g->len);
		} else {
			feed(&f, g, 0, g->len);
		}
	}
	return R.out;
}

/* Fails with the first difference between the events and the expected. */
static void
compare(const char *how, int sg, uint32_t cut)
{
	size_t i = 0;

	ck_assert_msg(R.bad == 0, "%s (segment %d, cut %u): %s", how, sg, cut, R.badmsg);
	while (R.out[i] && R.out[i] == S.exp[i])
		i++;
	if (R.out[i] == 0 && S.exp[i] == 0)
		return;
	size_t from = i > 60 ? i - 60 : 0;
	ck_abort_msg("%s (segment %d, cut %u), at %zu:\n got ...%.120s\nwant ...%.120s", how, sg,
	    cut, i, R.out + from, S.exp + from);
}

/* The expected events, however the segments are cut. */
static void
check_script(void)
{
	run(RUN_WHOLE, -1, 0);
	compare("whole", -1, 0);
	int heads = R.heads;
	run(RUN_BYTES, -1, 0);
	compare("byte by byte", -1, 0);
	if (S.proto == AM_FR_HTTP || S.proto == AM_FR_MEMCACHE)
		ck_assert_int_eq(R.heads, heads);   /* line starts are kept across chunks */
	for (int i = 0; i < S.n; i++) {
		if (S.s[i].kind != K_DATA)
			continue;
		for (uint32_t k = 1; k < S.s[i].len; k++) {
			run(RUN_SPLIT, i, k);
			compare("split", i, k);
		}
	}
}

/* ------------------------------------------------------------------ */
/* HTTP */

START_TEST(test_http_pipeline)
{
	sc_init(AM_FR_HTTP);
	/* three requests in one write, before any response */
	sc_seg(0);
	ex("Q1@%llu", at(0));
	sc_puts("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
	ex("q1@%llu", at(0));
	ex("Q2@%llu", at(0));
	sc_puts("POST /b HTTP/1.1\r\nHost: x\r\ncontent-length:  5 \r\n\r\nhello");
	ex("q2@%llu", at(0));
	ex("Q3@%llu", at(0));
	sc_puts("HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n");
	ex("q3@%llu", at(0));
	sc_seg(1);
	ex("R1@%llu=200", at(1));
	sc_puts("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
	ex("r1@%llu=200", at(1));
	ex("R2@%llu=404", at(1));
	sc_puts("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
	    "4;ext=1\r\nwxyz\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n");
	ex("r2@%llu=404e", at(1));
	sc_seg(1);
	/* HEAD: Content-Length but no body */
	ex("R3@%llu=200", at(1));
	sc_puts("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
	ex("r3@%llu=200", at(1));
	check_script();
}
END_TEST

START_TEST(test_http_continue)
{
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	ex("Q1@%llu", at(0));
	sc_puts("POST /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
	sc_seg(1);
	ex("I1@%llu=100", at(1));
	sc_puts("HTTP/1.1 100 Continue\r\n\r\n");
	ex("i1@%llu=100", at(1));
	sc_seg(0);
	sc_puts("data");
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("I1@%llu=103", at(1));
	sc_puts("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n");
	ex("i1@%llu=103", at(1));
	ex("R1@%llu=201", at(1));
	sc_puts("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	ex("r1@%llu=201", at(1));
	/* the next request with a chunked body and a trailer */
	sc_seg(0);
	ex("Q2@%llu", at(0));
	sc_puts("PUT /v HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n");
	ex("q2@%llu", at(0));
	sc_seg(1);
	ex("R2@%llu=500", at(1));
	sc_puts("HTTP/1.1 500 Oops\r\ncontent-length: 2\r\n\r\nno");
	ex("r2@%llu=500e", at(1));
	check_script();
}
END_TEST

START_TEST(test_http_close_and_nobody)
{
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	ex("Q1@%llu", at(0));
	sc_puts("GET /x HTTP/1.1\r\n\r\n");
	ex("q1@%llu", at(0));
	ex("Q2@%llu", at(0));
	sc_puts("GET /y HTTP/1.1\r\n\r\n");
	ex("q2@%llu", at(0));
	ex("Q3@%llu", at(0));
	sc_puts("GET /z HTTP/1.0\r\n\r\n");
	ex("q3@%llu", at(0));
	sc_seg(1);
	ex("R1@%llu=204", at(1));
	sc_puts("HTTP/1.1 204 No Content\r\n\r\n");
	ex("r1@%llu=204", at(1));
	ex("R2@%llu=304", at(1));
	sc_puts("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n");
	ex("r2@%llu=304", at(1));
	ex("R3@%llu=200", at(1));
	sc_puts("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome");
	sc_seg(1);
	sc_puts(" more body, delimited by the close");
	ex("r3@%llu=200c", at(1));
	sc_fin(1);
	check_script();
}
END_TEST

START_TEST(test_http_upgrade_and_garbage)
{
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	ex("Q1@%llu", at(0));
	sc_puts("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("R1@%llu=101", at(1));
	sc_puts("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
	ex("r1@%llu=101", at(1));
	ex("L1:tunnel@%llu", at(1));
	sc_puts("\x81\x05hello");
	sc_seg(0);
	sc_puts("\x81\x85mask!");
	check_script();

	/* TLS on the HTTP port */
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	ex("L0:garbage@0");
	sc_puts("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
	check_script();

	/* a server answering something else */
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("GET / HTTP/1.1\r\n\r\n");
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("L1:garbage@0");
	sc_puts("SSH-2.0-OpenSSH_9.2\r\n");
	check_script();

	/* a response with no request */
	sc_init(AM_FR_HTTP);
	sc_seg(1);
	sc_puts("HTTP/1.1 408 Request Timeout\r\n");
	ex("L1:unexpected@%llu", at(1));
	sc_puts("\r\n");
	check_script();

	/* a header line without a colon; HTTP/2 prior knowledge */
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("GET / HTTP/1.1\r\nbroken header\r\n");
	ex("L0:garbage@%llu", at(0));
	sc_puts("\r\n");
	check_script();
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	sc_puts("PRI * HTTP/2.0\r\n");
	ex("L0:unsupported@%llu", at(0));
	sc_puts("\r\nSM\r\n\r\n");
	check_script();
}
END_TEST

START_TEST(test_http_truncated)
{
	const char *hdr = "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n";
	uint32_t hl = (uint32_t)strlen(hdr);

	sc_init(AM_FR_HTTP);
	sc_seg(0);
	for (int i = 1; i <= 4; i++) {
		ex("Q%d@%llu", i, at(0));
		sc_puts("GET /big HTTP/1.1\r\n\r\n");
		ex("q%d@%llu", i, at(0));
	}
	/* snaplen cuts every segment: the body is skipped by count */
	sc_seg(1);
	ex("R1@%llu=200", at(1));
	sc_puts(hdr);
	sc_putn('a', 1400);
	sc_cap(hl + 10);
	sc_seg(1);
	sc_putn('b', 1448);
	sc_cap(100);
	/* a hole in the sequence space inside the body is harmless */
	sc_gap(1, 100);
	sc_seg(1);
	sc_putn('c', 3000 - 1400 - 1448 - 100);
	ex("r1@%llu=200", at(1));
	ex("R2@%llu=200", at(1));
	sc_puts("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	ex("r2@%llu=200", at(1));
	ex("R3@%llu=200", at(1));
	sc_puts("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
	sc_putn('d', 500);
	sc_seg(1);
	sc_putn('d', 4500);
	ex("r3@%llu=200", at(1));
	/* the last response's header is cut: it starts, and goes blind */
	ex("R4@%llu", at(1));
	sc_puts("HTTP/1.1 200 OK\r\nX-Long: ...\r\n\r\n");
	sc_cap(4500 + 8);
	sc_seg(1);
	sc_puts("more of it");
	/* the next request ends it where the server stopped */
	sc_seg(0);
	ex("r4@%llu=0t", at(1));
	ex("Q5@%llu", at(0));
	sc_puts("GET /next HTTP/1.1\r\n\r\n");
	ex("q5@%llu", at(0));
	sc_seg(1);
	ex("R5@%llu=204", at(1));
	sc_puts("HTTP/1.1 204 No Content\r\n\r\n");
	ex("r5@%llu=204", at(1));
	check_script();

	/* with requests pipelined behind, a cut header loses sync */
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("GET /a HTTP/1.1\r\n\r\n");
	ex("q1@%llu Q2@%llu", at(0), at(0));
	sc_puts("GET /b HTTP/1.1\r\n\r\n");
	ex("q2@%llu", at(0));
	sc_seg(1);
	ex("R1@0=200 L1:gap@20");
	sc_puts("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	sc_cap(20);
	check_script();

	/* a request body beyond the snaplen: the response ends the request */
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n");
	sc_putn('u', 900);
	sc_cap((uint32_t)at(0) - 890);
	sc_seg(0);
	sc_putn('u', 4096 - 900);
	sc_puts("\r\n0\r\n\r\n");
	sc_cap(0);
	sc_seg(1);
	ex("q1@%llut", at(0));
	ex("R1@0=201");
	sc_puts("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	ex("r1@%llu=201", at(1));
	sc_seg(0);
	ex("Q2@%llu", at(0));
	sc_puts("GET / HTTP/1.1\r\n\r\n");
	ex("q2@%llu", at(0));
	check_script();

	/* a wrong guess: the client pipelines while the blind response goes on;
	 * the bytes read afresh are not a response, and sync is lost */
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("GET /a HTTP/1.1\r\n\r\n");
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("R1@0=200");
	sc_puts("HTTP/1.1 200 OK\r\nSet-Cookie: a-long-header\r\n");
	sc_cap(20);
	sc_seg(0);
	ex("r1@%llu=200t", at(1));
	ex("Q2@%llu", at(0));
	sc_puts("GET /b HTTP/1.1\r\n\r\n");
	ex("q2@%llu", at(0));
	sc_seg(1);
	ex("L1:garbage@%llu", at(1));
	sc_puts("Content-Length: 5\r\n\r\nhello");
	check_script();

	/* a gap where a header should be, with a request behind it */
	sc_init(AM_FR_HTTP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("GET / HTTP/1.1\r\n");
	sc_gap(0, 40);
	sc_seg(0);
	sc_puts("\r\nGET /2 HTTP/1.1\r\n\r\n");
	sc_seg(1);
	ex("q1@%llut", at(0));
	ex("R1@0=200");
	sc_puts("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	ex("r1@%llu=200", at(1));
	ex("L1:unexpected@%llu", at(1) + 17);
	sc_puts("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	check_script();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Redis */

START_TEST(test_resp_pipeline)
{
	char b[128];
	const char *replies[] = { "+OK\r\n", ":42\r\n", "$5\r\nhello\r\n", "-ERR no such key\r\n",
		"*2\r\n$1\r\na\r\n*1\r\n:5\r\n", "$-1\r\n", "*0\r\n", "*-1\r\n", "$0\r\n\r\n" };
	int nr = (int)(sizeof(replies) / sizeof(replies[0]));

	sc_init(AM_FR_RESP);
	sc_seg(0);
	for (int i = 1; i <= 200; i++) {
		snprintf(b, sizeof(b), "*3\r\n$3\r\nSET\r\n$%d\r\nkey%d\r\n$3\r\nval\r\n",
		    i < 10 ? 4 : i < 100 ? 5 : 6, i);
		ex("Q%d@%llu", i, at(0));
		sc_puts(b);
		ex("q%d@%llu", i, at(0));
	}
	sc_seg(1);
	for (int i = 1; i <= 200; i++) {
		if (i == 120)
			sc_seg(1);
		const char *r = replies[i % nr];
		ex("R%d@%llu", i, at(1));
		sc_puts(r);
		ex(r[0] == '-' ? "r%d@%llu=1e" : "r%d@%llu=0", i, at(1));
	}
	/* inline commands */
	sc_seg(0);
	ex("Q201@%llu", at(0));
	sc_puts("PING\r\n");
	ex("q201@%llu", at(0));
	sc_puts("\r\n");
	ex("Q202@%llu", at(0));
	sc_puts("GET k\r\n");
	ex("q202@%llu", at(0));
	sc_seg(1);
	ex("R201@%llu", at(1));
	sc_puts("+PONG\r\n");
	ex("r201@%llu=0", at(1));
	ex("R202@%llu", at(1));
	sc_puts("$3\r\nabc\r\n");
	ex("r202@%llu=0", at(1));
	check_script();
}
END_TEST

START_TEST(test_resp3)
{
	sc_init(AM_FR_RESP);
	sc_seg(0);
	for (int i = 1; i <= 4; i++) {
		ex("Q%d@%llu", i, at(0));
		sc_puts(i == 1 ? "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n" : "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
		ex("q%d@%llu", i, at(0));
	}
	sc_seg(1);
	ex("R1@%llu", at(1));
	sc_puts("%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n");
	ex("r1@%llu=0", at(1));
	/* an out-of-band push answers nothing */
	sc_puts(">2\r\n+invalidate\r\n*1\r\n+k\r\n");
	/* an attribute before the reply is part of it */
	ex("R2@%llu", at(1));
	sc_puts("|1\r\n+ttl\r\n:3\r\n$3\r\nabc\r\n");
	ex("r2@%llu=0", at(1));
	ex("R3@%llu", at(1));
	sc_puts("=8\r\ntxt:abcd\r\n");
	ex("r3@%llu=0", at(1));
	ex("R4@%llu", at(1));
	sc_puts("~3\r\n#t\r\n,1.5\r\n*2\r\n(12345678901234567890\r\n_\r\n");
	ex("r4@%llu=0", at(1));
	check_script();

	/* blob error */
	sc_init(AM_FR_RESP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("*1\r\n$4\r\nPING\r\n");
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("R1@0");
	sc_puts("!21\r\nSYNTAX invalid syntax\r\n");
	ex("r1@%llu=1e", at(1));
	check_script();
}
END_TEST

START_TEST(test_resp_unsupported_and_garbage)
{
	sc_init(AM_FR_RESP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("*2\r\n$9\r\nSUBSCRIBE\r\n");
	ex("L0:unsupported@%llu", at(0));
	sc_puts("$2\r\nch\r\n");
	check_script();

	sc_init(AM_FR_RESP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("*3\r\n$6\r\nclient\r\n$5\r\nreply\r\n$3\r\nOFF\r\n");
	ex("L0:unsupported@%llu", at(0));
	check_script();

	sc_init(AM_FR_RESP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("*1\r\n$4\r\nPING\r\n");
	ex("q1@%llu", at(0));
	sc_seg(1);
	sc_puts("HTTP/1.1 400 Bad Request\r\n");
	ex("L1:garbage@%llu", at(1));
	check_script();

	/* a bulk header where an argument should be */
	sc_init(AM_FR_RESP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("*2\r\n$4\r\nPING\r\n");
	ex("L0:garbage@%llu", at(0));
	sc_puts("hello\r\n");
	check_script();

	/* a reply with nothing asked */
	sc_init(AM_FR_RESP);
	sc_seg(1);
	sc_puts("+OK\r\n");
	ex("L1:unexpected@%llu", at(1));
	check_script();
}
END_TEST

START_TEST(test_resp_truncated)
{
	/* a 100-element reply beyond the snaplen, then the next command */
	sc_init(AM_FR_RESP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n99\r\n");
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("R1@0");
	sc_puts("*100\r\n");
	for (int i = 0; i < 100; i++)
		sc_puts("$3\r\nxxx\r\n");
	sc_cap(300);
	sc_seg(0);
	ex("r1@%llu=0t", at(1));
	ex("Q2@%llu", at(0));
	sc_puts("*1\r\n$4\r\nPING\r\n");
	ex("q2@%llu", at(0));
	sc_seg(1);
	ex("R2@%llu", at(1));
	sc_puts("+PONG\r\n");
	ex("r2@%llu=0", at(1));
	check_script();

	sc_init(AM_FR_RESP);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
	ex("q1@%llu", at(0));
	ex("Q2@%llu", at(0));
	sc_puts("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000\r\n");
	sc_putn('v', 1000);
	sc_cap((uint32_t)(at(0) - 1000 + 10));
	sc_seg(0);
	sc_putn('v', 1000);
	sc_puts("\r\n");
	sc_cap(0);
	ex("q2@%llu", at(0));
	sc_seg(1);
	ex("R1@0");
	sc_puts("$3000\r\n");
	sc_putn('x', 1400);
	sc_cap(20);
	sc_seg(1);
	sc_putn('x', 1600);
	sc_puts("\r\n");
	sc_cap(0);
	ex("r1@%llu=0", at(1));
	sc_seg(1);
	ex("R2@%llu", at(1));
	sc_puts("+OK\r\n");
	ex("r2@%llu=0", at(1));
	check_script();
}
END_TEST

/* ------------------------------------------------------------------ */
/* PostgreSQL */

static void
pg_msg(int type, const void *body, size_t n)
{
	uint8_t h[5];
	uint32_t len = (uint32_t)n + 4;

	h[0] = (uint8_t)type;
	h[1] = (uint8_t)(len >> 24);
	h[2] = (uint8_t)(len >> 16);
	h[3] = (uint8_t)(len >> 8);
	h[4] = (uint8_t)len;
	sc_put(h, 5);
	sc_put(body, n);
}

static void
pg_startup(uint32_t code, const void *body, size_t n)
{
	uint8_t h[8];
	uint32_t len = (uint32_t)n + 8;

	h[0] = (uint8_t)(len >> 24);
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
	h[4] = (uint8_t)(code >> 24);
	h[5] = (uint8_t)(code >> 16);
	h[6] = (uint8_t)(code >> 8);
	h[7] = (uint8_t)code;
	sc_put(h, 8);
	sc_put(body, n);
}

static void
pg_batch(const char *sql)
{
	pg_msg('P', sql, strlen(sql) + 1);
	pg_msg('B', "\0\0\0\0\0\0\0\0", 8);
	pg_msg('D', "P\0", 2);
	pg_msg('E', "\0\0\0\0\0", 5);
	pg_msg('S', "", 0);
}

static void
pg_result(int rows)
{
	pg_msg('1', "", 0);
	pg_msg('2', "", 0);
	pg_msg('T', "\0\1a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	for (int i = 0; i < rows; i++)
		pg_msg('D', "\0\1\0\0\0\1x", 7);
	pg_msg('C', "SELECT 1", 9);
	pg_msg('Z', "I", 1);
}

START_TEST(test_pgsql)
{
	sc_init(AM_FR_PGSQL);
	/* SSL refused, then the startup and authentication */
	sc_seg(0);
	ex("Q1@0");
	pg_startup(80877103, "", 0);
	ex("q1@8");
	sc_seg(1);
	ex("R1@0");
	sc_puts("N");
	ex("r1@1=0");
	sc_seg(0);
	ex("Q2@%llu", at(0));
	pg_startup(196608, "user\0alice\0database\0db\0\0", 24);
	ex("q2@%llu", at(0));
	sc_seg(1);
	ex("R2@%llu", at(1));
	pg_msg('R', "\0\0\0\5salt", 8);         /* MD5 password request */
	sc_seg(0);
	pg_msg('p', "md5abc\0", 7);
	sc_seg(1);
	pg_msg('R', "\0\0\0\0", 4);
	pg_msg('S', "server_version\0" "16\0", 18);
	pg_msg('K', "\0\0\0\1\0\0\0\2", 8);
	pg_msg('Z', "I", 1);
	ex("r2@%llu=0", at(1));
	/* a notification while idle answers nothing */
	pg_msg('A', "\0\0\0\1ch\0\0", 8);
	/* two extended-protocol batches in one write */
	sc_seg(0);
	ex("Q3@%llu", at(0));
	pg_batch("select 1");
	ex("q3@%llu", at(0));
	ex("Q4@%llu", at(0));
	pg_batch("select 2");
	ex("q4@%llu", at(0));
	sc_seg(1);
	ex("R3@%llu", at(1));
	pg_result(3);
	ex("r3@%llu=0", at(1));
	ex("R4@%llu", at(1));
	pg_result(1);
	ex("r4@%llu=0", at(1));
	/* a simple query that fails */
	sc_seg(0);
	ex("Q5@%llu", at(0));
	pg_msg('Q', "selec 1\0", 8);
	ex("q5@%llu", at(0));
	sc_seg(1);
	ex("R5@%llu", at(1));
	pg_msg('E', "SERROR\0C42601\0\0", 15);
	pg_msg('Z', "I", 1);
	ex("r5@%llu=1e", at(1));
	/* COPY FROM STDIN: the data belongs to the request */
	sc_seg(0);
	ex("Q6@%llu", at(0));
	pg_msg('Q', "copy t from stdin\0", 18);
	ex("q6@%llu", at(0));
	sc_seg(1);
	ex("R6@%llu", at(1));
	pg_msg('G', "\0\0\1\0\0", 5);
	sc_seg(0);
	pg_msg('d', "1\n2\n", 4);
	pg_msg('c', "", 0);
	sc_seg(1);
	pg_msg('C', "COPY 2\0", 7);
	pg_msg('Z', "I", 1);
	ex("r6@%llu=0", at(1));
	/* Terminate gets no reply */
	sc_seg(0);
	ex("Q0@%llun", at(0));
	pg_msg('X', "", 0);
	ex("q0@%llun", at(0));
	check_script();
}
END_TEST

START_TEST(test_pgsql_tls_and_garbage)
{
	sc_init(AM_FR_PGSQL);
	sc_seg(0);
	ex("Q1@0 q1@8");
	pg_startup(80877103, "", 0);
	sc_seg(1);
	ex("R1@0 r1@1=0 L1:tunnel@1");
	sc_puts("S\x16\x03\x03");
	check_script();

	sc_init(AM_FR_PGSQL);
	sc_seg(0);
	sc_puts("GET / HTTP/1.1\r\n\r\n");
	ex("L0:garbage@5");
	check_script();

	/* a NUL type byte once started */
	sc_init(AM_FR_PGSQL);
	sc_seg(0);
	ex("Q1@0");
	pg_msg('Q', "select 1\0", 9);
	ex("q1@%llu", at(0));
	sc_put("\0\0\0\0\4", 5);
	ex("L0:garbage@%llu", at(0));
	check_script();

	/* a length that cannot be */
	sc_init(AM_FR_PGSQL);
	sc_seg(0);
	sc_put("Q\0\0\0\2", 5);
	ex("L0:garbage@5");
	check_script();
}
END_TEST

START_TEST(test_pgsql_truncated)
{
	/* the startup's answer longer than the snaplen (ParameterStatus
	 * messages): blind until the first query ends it */
	sc_init(AM_FR_PGSQL);
	sc_seg(0);
	ex("Q1@0");
	pg_startup(196608, "user\0alice\0database\0db\0\0", 24);
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("R1@0");
	pg_msg('R', "\0\0\0\0", 4);
	for (int i = 0; i < 20; i++)
		pg_msg('S', "server_version\0" "16\0", 18);
	pg_msg('K', "\0\0\0\1\0\0\0\2", 8);
	pg_msg('Z', "I", 1);
	sc_cap(400);
	sc_seg(0);
	ex("r1@%llu=0t", at(1));
	ex("Q2@%llu", at(0));
	pg_msg('Q', "select 1\0", 9);
	ex("q2@%llu", at(0));
	sc_seg(1);
	ex("R2@%llu", at(1));
	pg_result(1);
	ex("r2@%llu=0", at(1));
	check_script();

	/* picked up after the startup; large DataRows skipped by length */
	sc_init(AM_FR_PGSQL);
	sc_seg(0);
	ex("Q1@0");
	pg_msg('Q', "select big\0", 11);
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("R1@0");
	pg_msg('T', "\0\1a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	uint8_t row[1] = { 0 };
	uint32_t len = 4 + 3000;
	uint8_t h[5] = { 'D', (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
		(uint8_t)len };
	sc_put(h, 5);
	sc_putn(row[0], 1000);
	sc_cap(40);
	sc_seg(1);
	sc_putn(0, 2000);
	sc_cap(0);
	sc_seg(1);
	pg_msg('C', "SELECT 1", 9);
	pg_msg('Z', "I", 1);
	ex("r1@%llu=0", at(1));
	check_script();
}
END_TEST

/* ------------------------------------------------------------------ */
/* MySQL */

static void
my_pkt(int seq, const void *p, size_t n)
{
	uint8_t h[4] = { (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)seq };

	sc_put(h, 4);
	sc_put(p, n);
}

#define COLDEF "\3def\2db\1t\1t\1a\1a\x0c\x3f\0\x0b\0\0\0\3\0\0\0\0\0"
#define COLDEF_LEN 28

static void
my_login(int deprecate)
{
	uint8_t resp[64];

	sc_seg(1);
	my_pkt(0, "\x0a" "8.0.35\0\1\0\0\0abcdefgh\0\xff\xff\x21\2\0\xff\xdf", 28);
	memset(resp, 0, sizeof(resp));
	resp[0] = 0x00;
	resp[1] = 0xa2;                 /* PROTOCOL_41 | TRANSACTIONS | SECURE_CONNECTION */
	resp[2] = 0x0a;
	resp[3] = deprecate ? 0x01 : 0x00;
	memcpy(resp + 32, "root\0", 5);
	sc_seg(0);
	ex("Q1@%llu", at(0));
	my_pkt(1, resp, 40);
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("R1@%llu", at(1));
	my_pkt(2, "\xfe" "caching_sha2_password\0", 23);     /* auth switch */
	sc_seg(0);
	my_pkt(3, "scrambled-password!!", 20);
	sc_seg(1);
	my_pkt(4, "\x01\x03", 2);                            /* fast auth ok */
	my_pkt(5, "\0\0\0\2\0\0\0", 7);
	ex("r1@%llu=0", at(1));
}

START_TEST(test_mysql_deprecate_eof)
{
	sc_init(AM_FR_MYSQL);
	my_login(1);
	/* a query and a ping in one write */
	sc_seg(0);
	ex("Q2@%llu", at(0));
	my_pkt(0, "\3select a from t", 16);
	ex("q2@%llu", at(0));
	ex("Q3@%llu", at(0));
	my_pkt(0, "\x0e", 1);
	ex("q3@%llu", at(0));
	sc_seg(1);
	ex("R2@%llu", at(1));
	my_pkt(1, "\1", 1);
	my_pkt(2, COLDEF, COLDEF_LEN);
	my_pkt(3, "\1" "1", 2);
	my_pkt(4, "\1" "2", 2);
	my_pkt(5, "\xfe\0\0\2\0\0\0", 7);
	ex("r2@%llu=0", at(1));
	ex("R3@%llu", at(1));
	my_pkt(1, "\0\0\0\2\0\0\0", 7);
	ex("r3@%llu=0", at(1));
	/* an error */
	sc_seg(0);
	ex("Q4@%llu", at(0));
	my_pkt(0, "\3select * from nope", 19);
	ex("q4@%llu", at(0));
	sc_seg(1);
	ex("R4@%llu", at(1));
	my_pkt(1, "\xff\x7a\x04#42S02Table 'nope' doesn't exist", 35);
	ex("r4@%llu=1146e", at(1));
	/* two results (a CALL): OK with SERVER_MORE_RESULTS_EXISTS, then rows */
	sc_seg(0);
	ex("Q5@%llu", at(0));
	my_pkt(0, "\3call p()", 9);
	ex("q5@%llu", at(0));
	sc_seg(1);
	ex("R5@%llu", at(1));
	my_pkt(1, "\1", 1);
	my_pkt(2, COLDEF, COLDEF_LEN);
	my_pkt(3, "\1" "1", 2);
	my_pkt(4, "\xfe\0\0\x0a\0\0\0", 7);
	my_pkt(5, "\0\0\0\2\0\0\0", 7);
	ex("r5@%llu=0", at(1));
	/* a prepared statement with one parameter and one column */
	sc_seg(0);
	ex("Q6@%llu", at(0));
	my_pkt(0, "\x16select a from t where a=?", 26);
	ex("q6@%llu", at(0));
	sc_seg(1);
	ex("R6@%llu", at(1));
	my_pkt(1, "\0\1\0\0\0\1\0\1\0\0\0\0", 12);
	my_pkt(2, COLDEF, COLDEF_LEN);
	my_pkt(3, COLDEF, COLDEF_LEN);
	ex("r6@%llu=0", at(1));
	/* closing a statement and quitting get no reply */
	sc_seg(0);
	ex("Q0@%llun", at(0));
	my_pkt(0, "\x19\1\0\0\0", 5);
	ex("q0@%llun", at(0));
	ex("Q0@%llun", at(0));
	my_pkt(0, "\1", 1);
	ex("q0@%llun", at(0));
	check_script();
}
END_TEST

START_TEST(test_mysql_classic_eof)
{
	sc_init(AM_FR_MYSQL);
	my_login(0);
	sc_seg(0);
	ex("Q2@%llu", at(0));
	my_pkt(0, "\3select a from t", 16);
	ex("q2@%llu", at(0));
	sc_seg(1);
	ex("R2@%llu", at(1));
	my_pkt(1, "\1", 1);
	my_pkt(2, COLDEF, COLDEF_LEN);
	my_pkt(3, "\xfe\0\0\2\0", 5);
	my_pkt(4, "\1" "1", 2);
	my_pkt(5, "\xfe\0\0\2\0", 5);
	ex("r2@%llu=0", at(1));
	sc_seg(0);
	ex("Q3@%llu", at(0));
	my_pkt(0, "\x16select a from t where a=?", 26);
	ex("q3@%llu", at(0));
	sc_seg(1);
	ex("R3@%llu", at(1));
	my_pkt(1, "\0\1\0\0\0\1\0\1\0\0\0\0", 12);
	my_pkt(2, COLDEF, COLDEF_LEN);
	my_pkt(3, "\xfe\0\0\2\0", 5);
	my_pkt(4, COLDEF, COLDEF_LEN);
	my_pkt(5, "\xfe\0\0\2\0", 5);
	ex("r3@%llu=0", at(1));
	/* a cursor: the execute answers definitions only, the fetch the rows */
	sc_seg(0);
	ex("Q4@%llu", at(0));
	my_pkt(0, "\x17\1\0\0\0\1\1\0\0\0", 10);
	ex("q4@%llu", at(0));
	sc_seg(1);
	ex("R4@%llu", at(1));
	my_pkt(1, "\1", 1);
	my_pkt(2, COLDEF, COLDEF_LEN);
	my_pkt(3, "\xfe\0\0\x42\0", 5);
	ex("r4@%llu=0", at(1));
	sc_seg(0);
	ex("Q5@%llu", at(0));
	my_pkt(0, "\x1c\1\0\0\0\x0a\0\0\0", 9);
	ex("q5@%llu", at(0));
	sc_seg(1);
	ex("R5@%llu", at(1));
	my_pkt(1, "\0\0\1", 3);
	my_pkt(2, "\0\0\2", 3);
	my_pkt(3, "\xfe\0\0\xc2\0", 5);
	ex("r5@%llu=0", at(1));
	/* LOCAL INFILE: the file travels inside the request's exchange */
	sc_seg(0);
	ex("Q6@%llu", at(0));
	my_pkt(0, "\3load data local infile 'f' into table t", 40);
	ex("q6@%llu", at(0));
	sc_seg(1);
	ex("R6@%llu", at(1));
	my_pkt(1, "\xfb" "f", 2);
	sc_seg(0);
	my_pkt(2, "1\n2\n", 4);
	my_pkt(3, "", 0);
	sc_seg(1);
	my_pkt(4, "\0\2\0\2\0\0\0", 7);
	ex("r6@%llu=0", at(1));
	check_script();

	/* picked up mid-stream: the mode is learnt from the first result */
	sc_init(AM_FR_MYSQL);
	sc_seg(0);
	ex("Q1@0");
	my_pkt(0, "\3select a from t", 16);
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("R1@0");
	my_pkt(1, "\1", 1);
	my_pkt(2, COLDEF, COLDEF_LEN);
	my_pkt(3, "\xfe\0\0\2\0", 5);
	my_pkt(4, "\xfe\0\0\2\0", 5);
	ex("r1@%llu=0", at(1));
	check_script();
}
END_TEST

START_TEST(test_mysql_tls_and_garbage)
{
	uint8_t resp[32];

	sc_init(AM_FR_MYSQL);
	sc_seg(1);
	my_pkt(0, "\x0a" "8.0.35\0\1\0\0\0abcdefgh\0\xff\xff\x21\2\0\xff\xdf", 28);
	memset(resp, 0, sizeof(resp));
	resp[1] = 0xaa;                 /* ... | CLIENT_SSL */
	sc_seg(0);
	my_pkt(1, resp, 32);
	ex("L0:tunnel@8");
	check_script();

	/* a server packet out of sequence */
	sc_init(AM_FR_MYSQL);
	sc_seg(0);
	ex("Q1@0");
	my_pkt(0, "\3select 1", 9);
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("R1@0");
	my_pkt(1, "\1", 1);
	my_pkt(7, COLDEF, COLDEF_LEN);
	ex("L1:garbage@%llu", at(1) - COLDEF_LEN + 1);
	check_script();

	/* a 3000-byte row cut by the snaplen is skipped by its length */
	sc_init(AM_FR_MYSQL);
	sc_seg(0);
	ex("Q1@0");
	my_pkt(0, "\3select blob from t", 19);
	ex("q1@%llu", at(0));
	sc_seg(1);
	ex("R1@0");
	my_pkt(1, "\1", 1);
	my_pkt(2, COLDEF, COLDEF_LEN);
	uint8_t h[5] = { 0xb8, 0x0b, 0, 3, 0xfc };       /* 3000 bytes, seq 3 */
	sc_put(h, 5);
	sc_putn(0xb5, 1000);
	sc_cap((uint32_t)(at(1) - 1000 + 3));
	sc_seg(1);
	sc_putn('z', 1999);
	sc_cap(0);
	sc_seg(1);
	my_pkt(4, "\xfe\0\0\2\0\0\0", 7);
	ex("r1@%llu=0", at(1));
	check_script();
}
END_TEST

/* ------------------------------------------------------------------ */
/* memcached */

START_TEST(test_memcache)
{
	char line[400];

	sc_init(AM_FR_MEMCACHE);
	sc_seg(0);
	ex("Q1@%llu", at(0));
	sc_puts("get a b\r\n");
	ex("q1@%llu", at(0));
	ex("Q2@%llu", at(0));
	sc_puts("set k 0 0 5\r\nhello\r\n");
	ex("q2@%llu", at(0));
	ex("Q0@%llun", at(0));
	sc_puts("set k 0 0 2 noreply\r\nhi\r\n");
	ex("q0@%llun", at(0));
	ex("Q3@%llu", at(0));
	sc_puts("gets x\r\n");
	ex("q3@%llu", at(0));
	ex("Q4@%llu", at(0));
	sc_puts("mg k v t\r\n");
	ex("q4@%llu", at(0));
	ex("Q5@%llu", at(0));
	sc_puts("incr n 1\r\n");
	ex("q5@%llu", at(0));
	sc_seg(1);
	ex("R1@%llu", at(1));
	sc_puts("VALUE a 0 3\r\nabc\r\nVALUE b 0 1\r\nx\r\nEND\r\n");
	ex("r1@%llu=0", at(1));
	ex("R2@%llu", at(1));
	sc_puts("STORED\r\n");
	ex("r2@%llu=0", at(1));
	ex("R3@%llu", at(1));
	sc_puts("END\r\n");
	ex("r3@%llu=0", at(1));
	ex("R4@%llu", at(1));
	sc_puts("VA 2 t-1\r\nhi\r\n");
	ex("r4@%llu=0", at(1));
	ex("R5@%llu", at(1));
	sc_puts("6\r\n");
	ex("r5@%llu=0", at(1));
	/* stats until END, an unknown command, cas with a long key */
	sc_seg(0);
	ex("Q6@%llu", at(0));
	sc_puts("stats\r\n");
	ex("q6@%llu", at(0));
	ex("Q7@%llu", at(0));
	sc_puts("bogus\r\n");
	ex("q7@%llu", at(0));
	memset(line, 'k', sizeof(line));
	memcpy(line, "cas ", 4);
	snprintf(line + 4 + 250, sizeof(line) - 254, " 1 0 3 12345678901234\r\n");
	ex("Q8@%llu", at(0));
	sc_puts(line);
	sc_puts("abc\r\n");
	ex("q8@%llu", at(0));
	memcpy(line, "gets ", 5);
	snprintf(line + 5 + 250, sizeof(line) - 255, "\r\n");
	ex("Q9@%llu", at(0));
	sc_puts(line);
	ex("q9@%llu", at(0));
	sc_seg(1);
	ex("R6@%llu", at(1));
	sc_puts("STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n");
	ex("r6@%llu=0", at(1));
	ex("R7@%llu", at(1));
	sc_puts("ERROR\r\n");
	ex("r7@%llu=1e", at(1));
	ex("R8@%llu", at(1));
	sc_puts("EXISTS\r\n");
	ex("r8@%llu=0", at(1));
	ex("R9@%llu", at(1));
	memcpy(line, "VALUE ", 6);
	snprintf(line + 5 + 250, sizeof(line) - 255, " 1 4 99\r\n");
	sc_puts(line);
	sc_puts("wxyz\r\nEND\r\n");
	ex("r9@%llu=0", at(1));
	check_script();

	/* quiet meta commands and the binary protocol are not followed */
	sc_init(AM_FR_MEMCACHE);
	sc_seg(0);
	sc_puts("mg k v q\r\n");
	ex("L0:unsupported@%llu", at(0));
	check_script();
	sc_init(AM_FR_MEMCACHE);
	sc_seg(0);
	ex("L0:unsupported@0");
	sc_put("\x80\x00\x00\x01", 4);
	check_script();
	sc_init(AM_FR_MEMCACHE);
	sc_seg(0);
	sc_puts("get k");
	ex("L0:garbage@%llu", at(0));
	sc_put("\x01\x02\r\n", 4);
	check_script();

	/* a 5000-byte value cut by the snaplen */
	sc_init(AM_FR_MEMCACHE);
	sc_seg(0);
	ex("Q1@0");
	sc_puts("get big\r\n");
	ex("q1@%llu", at(0));
	ex("Q2@%llu", at(0));
	sc_puts("set big 0 0 5000\r\n");
	sc_putn('v', 1000);
	sc_cap((uint32_t)(at(0) - 1000));
	sc_seg(0);
	sc_putn('v', 4000);
	sc_puts("\r\n");
	sc_cap(10);
	ex("q2@%llu", at(0));
	sc_seg(1);
	ex("R1@0");
	sc_puts("VALUE big 7 5000\r\n");
	sc_putn('v', 1400);
	sc_cap(30);
	sc_seg(1);
	sc_putn('v', 3600);
	sc_cap(0);
	sc_seg(1);
	sc_puts("\r\nEND\r\n");
	ex("r1@%llu=0", at(1));
	ex("R2@%llu", at(1));
	sc_puts("STORED\r\n");
	ex("r2@%llu=0", at(1));
	check_script();
}
END_TEST

/* ------------------------------------------------------------------ */
/* DNS over TCP */

static void
dns_msg(uint16_t id, int response, int rcode, size_t len)
{
	uint8_t m[600];

	memset(m, 0, sizeof(m));
	m[0] = (uint8_t)(len >> 8);
	m[1] = (uint8_t)len;
	m[2] = (uint8_t)(id >> 8);
	m[3] = (uint8_t)id;
	m[4] = response ? 0x81 : 0x01;
	m[5] = (uint8_t)(response ? 0x80 | rcode : 0);
	sc_put(m, len + 2);
}

START_TEST(test_dns_tcp)
{
	sc_init(AM_FR_DNS_TCP);
	sc_seg(0);
	ex("Q1@0");
	dns_msg(0x1111, 0, 0, 29);
	ex("q1@31 Q2@31");
	dns_msg(0x2222, 0, 0, 40);
	ex("q2@73");
	ex("Q3@73");
	dns_msg(0x1111, 0, 0, 29);
	ex("q3@104");
	sc_seg(1);
	/* out of order, an unsolicited one, then the rest */
	ex("R2@0=3");
	dns_msg(0x2222, 1, 3, 100);
	ex("r2@102=3e");
	dns_msg(0x9999, 1, 0, 50);
	ex("R1@154=0");
	dns_msg(0x1111, 1, 0, 500);
	ex("r1@656=0 R3@656=0");
	dns_msg(0x1111, 1, 0, 20);
	ex("r3@678=0");
	check_script();

	/* a 1000-byte answer cut by the snaplen; then a query whose header is not captured */
	sc_init(AM_FR_DNS_TCP);
	sc_seg(0);
	ex("Q1@0");
	dns_msg(0x4242, 0, 0, 40);
	ex("q1@42");
	sc_seg(1);
	ex("R1@0=0");
	dns_msg(0x4242, 1, 0, 1000);
	sc_cap(100);
	ex("r1@1002=0");
	sc_seg(0);
	ex("L0:gap@42");
	dns_msg(0x4343, 0, 0, 40);
	sc_cap(0);
	check_script();

	/* a length shorter than a header */
	sc_init(AM_FR_DNS_TCP);
	sc_seg(0);
	sc_put("\0\5\1\2\3\4\5", 7);
	ex("L0:garbage@4");
	check_script();
}
END_TEST

/* ------------------------------------------------------------------ */
/* API */

static int nlost;

static void
count_lost(void *ctx, const struct am_fr_event *ev)
{
	(void)ctx;
	if (ev->type == AM_FR_LOST)
		nlost++;
}

START_TEST(test_api)
{
	struct am_framer f;

	for (int p = 0; p < AM_FR__COUNT; p++)
		ck_assert_int_eq(am_fr_proto_parse(am_fr_proto_name((enum am_fr_proto)p)), p);
	ck_assert_int_eq(am_fr_proto_parse("gopher"), -1);
	ck_assert_int_eq(am_fr_proto_parse("dns-tcp"), AM_FR_DNS_TCP);
	ck_assert_str_eq(am_fr_lost_name(AM_FR_LOST_GAP), "gap");
	ck_assert_str_eq(am_fr_type_name(AM_FR_RESP_END), "resp_end");

	ck_assert_int_eq(am_framer_init(&f, AM_FR_TLS), -1);
	ck_assert_int_eq(am_framer_lost(&f), AM_FR_LOST_UNSUPPORTED);
	nlost = 0;
	ck_assert_int_eq(am_framer_feed(&f, 0, 1, (const uint8_t *)"x", 1, 1, count_lost, NULL), -1);
	ck_assert_int_eq(nlost, 0);

	ck_assert_int_eq(am_framer_init(&f, AM_FR_RESP), 0);
	const char *cmds = "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$4";
	ck_assert_int_eq(am_framer_feed(&f, 0, 1, (const uint8_t *)cmds, (uint32_t)strlen(cmds),
	    (uint32_t)strlen(cmds), count_lost, NULL), 0);
	ck_assert_uint_eq(am_framer_pending(&f), 3);
	ck_assert_int_eq(am_framer_feed(&f, 1, 2, (const uint8_t *)"+PONG\r\n", 7, 7, count_lost,
	    NULL), 0);
	ck_assert_uint_eq(am_framer_pending(&f), 2);
	am_framer_stop(&f, AM_FR_LOST_PENDING, count_lost, NULL);
	am_framer_stop(&f, AM_FR_LOST_STOPPED, count_lost, NULL);
	ck_assert_int_eq(nlost, 1);
	ck_assert_int_eq(am_framer_lost(&f), AM_FR_LOST_PENDING);
	ck_assert_int_eq(am_framer_feed(&f, 1, 3, (const uint8_t *)"+PONG\r\n", 7, 7, count_lost,
	    NULL), -1);

	/* HTTP: more unanswered requests than remembered */
	am_framer_init(&f, AM_FR_HTTP);
	nlost = 0;
	for (int i = 0; i <= AM_FR_MAXQ; i++)
		am_framer_feed(&f, 0, 1, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 18, count_lost,
		    NULL);
	ck_assert_int_eq(nlost, 1);
	ck_assert_int_eq(am_framer_lost(&f), AM_FR_LOST_PENDING);

	/* DNS: 64, answered in any order */
	uint8_t q[14] = { 0, 12, 0, 0, 1, 0, 0, 1 };
	am_framer_init(&f, AM_FR_DNS_TCP);
	nlost = 0;
	for (int i = 0; i < AM_FR_MAXQ_DNS; i++) {
		q[3] = (uint8_t)i;
		am_framer_feed(&f, 0, 1, q, 14, 14, count_lost, NULL);
	}
	ck_assert_uint_eq(am_framer_pending(&f), AM_FR_MAXQ_DNS);
	q[3] = 5;
	q[4] = 0x81;
	am_framer_feed(&f, 1, 2, q, 14, 14, count_lost, NULL);   /* answers query 6 */
	ck_assert_uint_eq(am_framer_pending(&f), AM_FR_MAXQ_DNS - 1);
	q[4] = 1;
	am_framer_feed(&f, 0, 3, q, 14, 14, count_lost, NULL);   /* the window still starts at query 1 */
	ck_assert_int_eq(nlost, 1);
}
END_TEST

/* Hostile bytes end in lost sync or are followed, never in a crash or a
 * loop; whatever the bytes, response numbers never run ahead of requests. */
static uint32_t maxreq, bad_order;

static void
check_order(void *ctx, const struct am_fr_event *ev)
{
	(void)ctx;
	if (ev->type == AM_FR_REQ_START && ev->req > maxreq)
		maxreq = ev->req;
	if ((ev->type == AM_FR_RESP_START || ev->type == AM_FR_RESP_END) && ev->req > maxreq)
		bad_order++;
}

START_TEST(test_random_bytes)
{
	uint8_t buf[512];
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (int p = AM_FR_HTTP; p <= AM_FR_DNS_TCP; p++) {
		for (int round = 0; round < 300; round++) {
			struct am_framer f;
			am_framer_init(&f, (enum am_fr_proto)p);
			maxreq = 0;
			for (int k = 0; k < 8; k++) {
				uint32_t n = 0;
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				n = (uint32_t)(x % sizeof(buf));
				for (uint32_t i = 0; i < n; i++) {
					x ^= x << 13;
					x ^= x >> 7;
					x ^= x << 17;
					/* mostly printable, with line ends and digits */
					buf[i] = (x & 3) ? (uint8_t)(" \r\n0123456789*$+-:GETHTP/1.VALU"[x % 31])
					    : (uint8_t)(x >> 8);
				}
				am_framer_feed(&f, (int)(x >> 20) & 1, k, buf, n - (uint32_t)(x >> 30) % (n + 1),
				    n, check_order, NULL);
			}
			am_framer_fin(&f, 1, check_order, NULL);
		}
	}
	ck_assert_uint_eq(bad_order, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Real traffic: the project's captures (scripts/mkcaptures), each
 * connection's in-order bytes fed as the tracker would. */

#define MAXFLOW 256
#define MAXTIMED 4096

struct flow {
	struct am_addr c, s;
	uint16_t cp, sp;
	uint32_t nxt[2];
	int init[2];
	struct am_framer f;
};

static struct {
	struct flow fl[MAXFLOW];
	int n;
	long req, resp, interim, noreply, turn, lost[AM_FR_LOST__COUNT];
	struct { uint16_t port; uint32_t req; am_time_t ts; } t[MAXTIMED];
	int nt;
	struct flow *cur;
} C;

static void
cap_ev(void *ctx, const struct am_fr_event *e)
{
	(void)ctx;
	if (e->type == AM_FR_REQ_START)
		(e->flags & AM_FR_F_NOREPLY) ? C.noreply++ : C.req++;
	if (e->type == AM_FR_RESP_END)
		C.resp++;
	if (e->flags & AM_FR_F_TURN)
		C.turn++;
	if (e->type == AM_FR_INTERIM_END)
		C.interim++;
	if (e->type == AM_FR_LOST)
		C.lost[e->reason]++;
	if (e->type == AM_FR_RESP_START && C.nt < MAXTIMED) {
		C.t[C.nt].port = C.cur->cp;
		C.t[C.nt].req = e->req;
		C.t[C.nt++].ts = e->ts;
	}
}

static int
addr_eq(const struct am_addr *a, const struct am_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

static void
play_capture(const char *name, enum am_fr_proto proto, uint16_t port)
{
	char path[1024], err[PCAP_ERRBUF_SIZE];
	const char *top = getenv("top_srcdir");
	struct pcap_pkthdr *h;
	const u_char *data;

	memset(&C, 0, sizeof(C));
	snprintf(path, sizeof(path), "%s/tests/captures/%s", top ? top : "..", name);
	pcap_t *p = pcap_open_offline(path, err);
	ck_assert_msg(p != NULL, "%s", err);
	int dlt = pcap_datalink(p);
	while (pcap_next_ex(p, &h, &data) == 1) {
		struct am_packet k;
		if (am_decode(dlt, data, h->caplen, h->len, &k) != AM_DEC_OK ||
		    k.proto != AM_IPPROTO_TCP || (k.sport != port && k.dport != port))
			continue;
		int dir = k.sport == port;
		struct flow *x = NULL;
		for (int i = C.n - 1; i >= 0 && !x; i--) {
			struct flow *y = &C.fl[i];
			if (dir == 0 && y->cp == k.sport && addr_eq(&y->c, &k.src) && addr_eq(&y->s, &k.dst))
				x = y;
			if (dir == 1 && y->cp == k.dport && addr_eq(&y->c, &k.dst) && addr_eq(&y->s, &k.src))
				x = y;
		}
		if ((k.tcp_flags & (AM_TH_SYN | AM_TH_ACK)) == AM_TH_SYN && dir == 0) {
			if (x == NULL || x->init[1]) {
				ck_assert_int_lt(C.n, MAXFLOW);
				x = &C.fl[C.n++];
				memset(x, 0, sizeof(*x));
				x->c = k.src;
				x->s = k.dst;
				x->cp = k.sport;
				x->sp = k.dport;
				am_framer_init(&x->f, proto);
			}
			x->nxt[0] = k.seq + 1;
			x->init[0] = 1;
			continue;
		}
		if (x == NULL || !x->init[0])
			continue;
		am_time_t ts = (am_time_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
		C.cur = x;
		if (k.tcp_flags & AM_TH_SYN) {
			x->nxt[1] = k.seq + 1;
			x->init[1] = 1;
			continue;
		}
		if (!x->init[dir])
			continue;
		uint32_t end = k.seq + k.seg_len;
		if (k.seg_len && (int32_t)(end - x->nxt[dir]) > 0) {
			int32_t rel = (int32_t)(k.seq - x->nxt[dir]);
			uint32_t skip = rel < 0 ? (uint32_t)-rel : 0;
			if (rel > 0)
				am_framer_gap(&x->f, dir, ts, (uint32_t)rel, cap_ev, NULL);
			uint32_t cap = k.payload_len > skip ? k.payload_len - skip : 0;
			am_framer_feed(&x->f, dir, ts, cap ? k.payload + skip : NULL, cap,
			    k.seg_len - skip, cap_ev, NULL);
			x->nxt[dir] = end;
		}
		if (k.tcp_flags & AM_TH_FIN)
			am_framer_fin(&x->f, dir, cap_ev, NULL);
	}
	pcap_close(p);
}

static long
lost_total(void)
{
	long n = 0;

	for (int r = 1; r < AM_FR_LOST__COUNT; r++)
		n += C.lost[r];
	return n;
}

/* sleepd's own record of every request: each one framed, answered once,
 * and its response starting when sleepd wrote it (pairing by order would
 * be off by the sleeps, 0 to 250 ms, if a pipelined request took another's
 * response). */
START_TEST(test_capture_sleepd_truth)
{
	char path[1024], line[512];
	const char *top = getenv("top_srcdir");
	int n = 0;

	play_capture("http-sleep.pcap", AM_FR_HTTP, 8080);
	ck_assert_int_eq(lost_total(), 0);
	ck_assert_int_eq(C.req, C.resp);
	ck_assert_int_ge(C.interim, 1);          /* the POST answered 100 Continue */
	snprintf(path, sizeof(path), "%s/tests/captures/http-sleep.truth", top ? top : "..");
	FILE *fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s", path);
	while (fgets(line, sizeof(line), fp)) {
		unsigned port, seq;
		long long hdr;
		const char *a = strstr(line, "client_port="), *b = strstr(line, " seq="),
		    *c = strstr(line, "hdr_us=");
		ck_assert(a && b && c);
		ck_assert(sscanf(a, "client_port=%u", &port) == 1 && sscanf(b, " seq=%u", &seq) == 1 &&
		    sscanf(c, "hdr_us=%lld", &hdr) == 1);
		int found = 0;
		for (int i = 0; i < C.nt; i++)
			if (C.t[i].port == port && C.t[i].req == seq) {
				found = 1;
				long long dt = (long long)C.t[i].ts - hdr;
				ck_assert_msg(dt > -2000 && dt < 2000,
				    "port %u request %u: response at %lld us from sleepd's write", port, seq, dt);
			}
		ck_assert_msg(found, "port %u request %u not framed", port, seq);
		n++;
	}
	fclose(fp);
	ck_assert_int_eq(n, C.req);
}
END_TEST

/* nginx: keep-alive, HEAD, 404, up to 1 MB bodies with a 400-byte snaplen,
 * and a lossy run with retransmissions: every request answered. */
START_TEST(test_capture_nginx)
{
	play_capture("http-nginx.pcap", AM_FR_HTTP, 80);
	ck_assert_int_gt(C.req, 10);
	ck_assert_int_eq(C.resp, C.req);
	ck_assert_int_eq(lost_total(), 0);
	play_capture("http-lossy.pcap", AM_FR_HTTP, 80);
	ck_assert_int_gt(C.req, 0);
	ck_assert_int_eq(C.resp, C.req);
	ck_assert_int_eq(lost_total(), 0);
}
END_TEST

/* psql and redis-cli at a 400-byte snaplen: PostgreSQL's startup answer
 * (about 414 bytes) and long results are not captured to their end; they
 * end at the client's next request, and the rest stays framed. */
START_TEST(test_capture_pg_redis_snaplen)
{
	play_capture("pg.pcap", AM_FR_PGSQL, 5432);
	ck_assert_int_gt(C.req, 3);
	ck_assert_int_eq(C.resp, C.req);
	ck_assert_int_ge(C.turn, 1);
	ck_assert_int_ge(C.noreply, 1);              /* Terminate */
	ck_assert_int_eq(lost_total(), 0);
	play_capture("redis.pcap", AM_FR_RESP, 6379);
	ck_assert_int_gt(C.req, 3);
	ck_assert_int_eq(C.resp, C.req);
	ck_assert_int_eq(lost_total(), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("framing");
	TCase *tc = tcase_create("framing");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_http_pipeline);
	tcase_add_test(tc, test_http_continue);
	tcase_add_test(tc, test_http_close_and_nobody);
	tcase_add_test(tc, test_http_upgrade_and_garbage);
	tcase_add_test(tc, test_http_truncated);
	tcase_add_test(tc, test_resp_pipeline);
	tcase_add_test(tc, test_resp3);
	tcase_add_test(tc, test_resp_unsupported_and_garbage);
	tcase_add_test(tc, test_resp_truncated);
	tcase_add_test(tc, test_pgsql);
	tcase_add_test(tc, test_pgsql_tls_and_garbage);
	tcase_add_test(tc, test_pgsql_truncated);
	tcase_add_test(tc, test_mysql_deprecate_eof);
	tcase_add_test(tc, test_mysql_classic_eof);
	tcase_add_test(tc, test_mysql_tls_and_garbage);
	tcase_add_test(tc, test_memcache);
	tcase_add_test(tc, test_dns_tcp);
	tcase_add_test(tc, test_api);
	tcase_add_test(tc, test_random_bytes);
	tcase_add_test(tc, test_capture_sleepd_truth);
	tcase_add_test(tc, test_capture_nginx);
	tcase_add_test(tc, test_capture_pg_redis_snaplen);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
