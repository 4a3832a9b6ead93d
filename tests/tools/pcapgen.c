/* pcapgen: writes a synthetic but valid pcap (Ethernet, IPv4, TCP with
 * correct checksums) of about SIZE MiB, for memory and speed tests.
 *
 *   pcapgen [-s SEED] [-c CONCURRENT] [-n SERVERS] [-g USEC] SIZE_MB OUT.pcap
 *
 * CONCURRENT connections (default 500) are open at any time; each packet
 * advances one of them, picked at random.  A connection does a handshake,
 * 1 to 4 HTTP/1.1 keep-alive exchanges (request in one segment, response of
 * 0 to 30000 body bytes in MSS-sized segments, client ACK every second
 * segment), then closes with FIN/FIN/ACK (one in 16 ends with a client RST
 * instead).  A finished connection is replaced by a new one from the next
 * client address (10.0.0.0/8, rolling) and port (rolling 1024..65535), to
 * one of SERVERS servers (default 16, 192.168.0.x port 80 or 8080).
 * Packet time starts at 2023-11-14 22:13:20 UTC and advances by 0 to 2*USEC
 * microseconds (default USEC 1000) per packet, so closed connections age
 * out of a tracker as the file goes on and its steady state is reached
 * after a few MiB.
 *
 * The output is a function of the seed and options only: a smaller SIZE
 * with the same seed gives a prefix of a larger one (packet for packet).
 * OUT may be "-" for stdout. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MSS 1448
#define START_SEC 1700000000u

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

enum phase {
	P_SYN, P_SYNACK, P_ACK, P_REQ, P_RESP, P_RESP_ACK, P_FIN1, P_FIN2, P_LASTACK, P_RST
};

struct conn {
	uint32_t cip, sip;
	uint16_t cport, sport;
	uint32_t cseq, sseq;       /* next sequence number to send */
	enum phase phase;
	int requests_left;
	int rst_end;
	uint32_t resp_left;        /* response bytes still to send */
	uint32_t resp_hdr_left;    /* of which header bytes */
	uint32_t body_len;
	uint32_t unacked_segs;
	uint32_t item;
	uint16_t ipid_c, ipid_s;
};

static FILE *out;
static uint64_t written;
static uint64_t now_us;
static uint32_t next_client = 0x0a000001;  /* 10.0.0.1 */
static uint32_t next_port = 1024;
static uint32_t nservers = 16;
static uint32_t item_counter;

static void put(const void *p, size_t n)
{
	if (fwrite(p, 1, n, out) != n) {
		fprintf(stderr, "pcapgen: write: %s\n", strerror(errno));
		exit(1);
	}
	written += n;
}

static void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void put16be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void mac_of(uint8_t *m, uint32_t ip)
{
	m[0] = 0x02; m[1] = 0x00;
	put32be(m + 2, ip);
}

/* One frame: c2s selects the direction; payload may be NULL (len 0). */
static void emit(struct conn *c, int c2s, uint8_t flags, const uint8_t *payload, uint32_t len)
{
	static uint8_t frame[14 + 20 + 40 + MSS];
	uint8_t rec[16];
	uint8_t *ip = frame + 14, *tcp = ip + 20;
	uint32_t optlen = (flags & 0x02) ? 8 : 0;   /* SYN: MSS + NOP NOP WS? keep 8: MSS, NOP, WS */
	uint32_t tcplen = 20 + optlen, iplen = 20 + tcplen + len, flen = 14 + iplen;
	uint32_t src = c2s ? c->cip : c->sip, dst = c2s ? c->sip : c->cip;
	uint16_t sp = c2s ? c->cport : c->sport, dp = c2s ? c->sport : c->cport;
	uint32_t seq = c2s ? c->cseq : c->sseq, ack = c2s ? c->sseq : c->cseq;
	uint8_t ph[12];
	uint32_t s;

	mac_of(frame, dst);
	mac_of(frame + 6, src);
	frame[12] = 0x08; frame[13] = 0x00;
	ip[0] = 0x45; ip[1] = 0;
	put16be(ip + 2, iplen);
	put16be(ip + 4, c2s ? c->ipid_c++ : c->ipid_s++);
	put16be(ip + 6, 0x4000);  /* DF */
	ip[8] = 64; ip[9] = 6;
	ip[10] = ip[11] = 0;
	put32be(ip + 12, src);
	put32be(ip + 16, dst);
	put16be(ip + 10, fold(sum16(ip, 20, 0)));

	put16be(tcp, sp);
	put16be(tcp + 2, dp);
	put32be(tcp + 4, seq);
	put32be(tcp + 8, (flags & 0x10) ? ack : 0);
	tcp[12] = (uint8_t)((tcplen / 4) << 4);
	tcp[13] = flags;
	put16be(tcp + 14, 502);
	tcp[16] = tcp[17] = 0;
	tcp[18] = tcp[19] = 0;
	if (optlen) {
		tcp[20] = 2; tcp[21] = 4; put16be(tcp + 22, 1460);   /* MSS */
		tcp[24] = 1; tcp[25] = 3; tcp[26] = 3; tcp[27] = 7;  /* NOP, WS 7 */
	}
	if (len)
		memcpy(tcp + tcplen, payload, len);
	memcpy(ph, ip + 12, 8);
	ph[8] = 0; ph[9] = 6;
	put16be(ph + 10, tcplen + len);
	s = sum16(ph, 12, 0);
	s = sum16(tcp, tcplen + len, s);
	put16be(tcp + 16, fold(s));

	put32le(rec, (uint32_t)(now_us / 1000000 + START_SEC));
	put32le(rec + 4, (uint32_t)(now_us % 1000000));
	put32le(rec + 8, flen);
	put32le(rec + 12, flen);
	put(rec, 16);
	put(frame, flen);

	if (c2s)
		c->cseq += len + ((flags & 0x03) ? 1 : 0);
	else
		c->sseq += len + ((flags & 0x03) ? 1 : 0);
}

static void conn_new(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->cip = next_client++;
	if ((next_client & 0xff) == 0 || (next_client & 0xff) == 0xff)
		next_client += 2;
	if (next_client >= 0x0b000000)
		next_client = 0x0a000001;
	c->cport = (uint16_t)next_port;
	if (++next_port > 65535)
		next_port = 1024;
	c->sip = 0xc0a80001 + rnd_below(nservers);
	c->sport = rnd_below(2) ? 80 : 8080;
	c->cseq = (uint32_t)rnd();
	c->sseq = (uint32_t)rnd();
	c->requests_left = 1 + (int)rnd_below(4);
	c->rst_end = rnd_below(16) == 0;
	c->ipid_c = (uint16_t)rnd();
	c->ipid_s = (uint16_t)rnd();
	c->phase = P_SYN;
}

static uint8_t body_fill[MSS];

/* Sends the next packet of c; returns 1 when the connection is over. */
static int step(struct conn *c)
{
	char buf[512];
	int n;

	switch (c->phase) {
	case P_SYN:
		emit(c, 1, 0x02, NULL, 0);
		c->phase = P_SYNACK;
		return 0;
	case P_SYNACK:
		emit(c, 0, 0x12, NULL, 0);
		c->phase = P_ACK;
		return 0;
	case P_ACK:
		emit(c, 1, 0x10, NULL, 0);
		c->phase = P_REQ;
		return 0;
	case P_REQ: {
		uint32_t r = rnd_below(100);

		c->item = ++item_counter;
		n = snprintf(buf, sizeof(buf),
		    "GET /item/%u?q=%u HTTP/1.1\r\nHost: s%u.example\r\nUser-Agent: pcapgen/1\r\nAccept: */*\r\n\r\n",
		    c->item, r, (unsigned)(c->sip & 0xff));
		emit(c, 1, 0x18, (const uint8_t *)buf, (uint32_t)n);
		/* mostly small bodies, some large */
		c->body_len = r < 60 ? rnd_below(2000) : r < 95 ? rnd_below(12000) : rnd_below(30000);
		n = snprintf(buf, sizeof(buf),
		    "HTTP/1.1 200 OK\r\nServer: pcapgen\r\nContent-Type: application/octet-stream\r\nContent-Length: %u\r\n\r\n",
		    c->body_len);
		c->resp_hdr_left = (uint32_t)n;
		c->resp_left = (uint32_t)n + c->body_len;
		c->unacked_segs = 0;
		c->phase = P_RESP;
		return 0;
	}
	case P_RESP: {
		static uint8_t seg[MSS];
		uint32_t len = c->resp_left < MSS ? c->resp_left : MSS;
		uint32_t h = c->resp_hdr_left < len ? c->resp_hdr_left : len;

		if (h) {
			n = snprintf(buf, sizeof(buf),
			    "HTTP/1.1 200 OK\r\nServer: pcapgen\r\nContent-Type: application/octet-stream\r\nContent-Length: %u\r\n\r\n",
			    c->body_len);
			memcpy(seg, buf + ((uint32_t)n - c->resp_hdr_left), h);
		}
		memcpy(seg + h, body_fill, len - h);
		c->resp_hdr_left -= h;
		c->resp_left -= len;
		emit(c, 0, c->resp_left ? 0x10 : 0x18, seg, len);
		c->unacked_segs++;
		if (c->resp_left == 0 || c->unacked_segs == 2)
			c->phase = P_RESP_ACK;
		return 0;
	}
	case P_RESP_ACK:
		emit(c, 1, 0x10, NULL, 0);
		c->unacked_segs = 0;
		if (c->resp_left)
			c->phase = P_RESP;
		else if (--c->requests_left > 0)
			c->phase = P_REQ;
		else
			c->phase = c->rst_end ? P_RST : P_FIN1;
		return 0;
	case P_RST:
		emit(c, 1, 0x14, NULL, 0);
		return 1;
	case P_FIN1:
		emit(c, 1, 0x11, NULL, 0);
		c->phase = P_FIN2;
		return 0;
	case P_FIN2:
		emit(c, 0, 0x11, NULL, 0);
		c->phase = P_LASTACK;
		return 0;
	case P_LASTACK:
		emit(c, 1, 0x10, NULL, 0);
		return 1;
	}
	return 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: pcapgen [-s SEED] [-c CONCURRENT] [-n SERVERS] [-g USEC] SIZE_MB OUT.pcap\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t seed = 1, limit;
	uint32_t concurrent = 500, gap = 1000, i;
	struct conn *conns;
	uint8_t hdr[24];
	int opt;
	char *end;
	static char obuf[1 << 20];

	while ((opt = getopt(argc, argv, "s:c:n:g:")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'c': concurrent = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'n': nservers = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'g': gap = (uint32_t)strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || concurrent == 0 || nservers == 0 || nservers > 250)
		usage();
	limit = strtoull(argv[optind], &end, 10);
	if (*end || limit == 0)
		usage();
	limit *= 1024 * 1024;
	if (strcmp(argv[optind + 1], "-") == 0) {
		out = stdout;
	} else if (!(out = fopen(argv[optind + 1], "wb"))) {
		fprintf(stderr, "pcapgen: %s: %s\n", argv[optind + 1], strerror(errno));
		return 1;
	}
	setvbuf(out, obuf, _IOFBF, sizeof(obuf));
	rng_state = seed;
	memset(body_fill, 'b', sizeof(body_fill));

	put32le(hdr, 0xa1b2c3d4);
	hdr[4] = 2; hdr[5] = 0; hdr[6] = 4; hdr[7] = 0;   /* version 2.4 */
	put32le(hdr + 8, 0);
	put32le(hdr + 12, 0);
	put32le(hdr + 16, 65535);                        /* snaplen */
	put32le(hdr + 20, 1);                            /* LINKTYPE_ETHERNET */
	put(hdr, 24);

	conns = calloc(concurrent, sizeof(*conns));
	if (!conns) {
		fprintf(stderr, "pcapgen: out of memory\n");
		return 1;
	}
	for (i = 0; i < concurrent; i++)
		conn_new(&conns[i]);
	while (written < limit) {
		struct conn *c = &conns[rnd_below(concurrent)];

		now_us += rnd_below(2 * gap + 1);
		if (step(c))
			conn_new(c);
	}
	if (fflush(out) != 0 || (out != stdout && fclose(out) != 0)) {
		fprintf(stderr, "pcapgen: write: %s\n", strerror(errno));
		return 1;
	}
	free(conns);
	return 0;
}
