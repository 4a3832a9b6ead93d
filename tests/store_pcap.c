/* store_pcap: writes a deterministic capture of HTTP-like TCP exchanges for
 * the store's end-to-end test: SECONDS seconds from START (default 45 s from
 * 1700000000), a new connection every 250 ms, alternately to 10.9.0.1:80 and
 * [fd00::1]:8080, each with two request/response exchanges (known server
 * delays and client think time), closed with FIN.  Ethernet, IPv4/IPv6, TCP;
 * checksums are left 0.
 *
 * usage: store_pcap FILE [SECONDS [START]] */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

struct conn {
	int v6;
	uint8_t cli[16], srv[16];
	uint16_t cport, sport;
	uint32_t cseq, sseq;     /* next sequence number of each side */
};

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10

/* One frame from the client (dir 0) or the server (dir 1) at time t (us). */
static void
frame(struct conn *c, int dir, uint64_t t, uint8_t flags, const char *data, uint32_t len)
{
	uint8_t f[2048], rec[16];
	size_t p = 0, ip, tcp;
	const uint8_t *src = dir ? c->srv : c->cli, *dst = dir ? c->cli : c->srv;
	uint32_t seq = dir ? c->sseq : c->cseq, ack = dir ? c->cseq : c->sseq;

	memset(f, 0, sizeof(f));
	memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01", 12);
	put16(f + 12, c->v6 ? 0x86dd : 0x0800);
	p = ip = 14;
	if (c->v6) {
		f[ip] = 0x60;
		put16(f + ip + 4, (uint16_t)(20 + len));
		f[ip + 6] = 6;
		f[ip + 7] = 64;
		memcpy(f + ip + 8, src, 16);
		memcpy(f + ip + 24, dst, 16);
		p += 40;
	} else {
		f[ip] = 0x45;
		put16(f + ip + 2, (uint16_t)(40 + len));
		f[ip + 8] = 64;
		f[ip + 9] = 6;
		memcpy(f + ip + 12, src, 4);
		memcpy(f + ip + 16, dst, 4);
		p += 20;
	}
	tcp = p;
	put16(f + tcp, dir ? c->sport : c->cport);
	put16(f + tcp + 2, dir ? c->cport : c->sport);
	put32(f + tcp + 4, seq);
	put32(f + tcp + 8, (flags & F_ACK) ? ack : 0);
	f[tcp + 12] = 5 << 4;
	f[tcp + 13] = flags;
	put16(f + tcp + 14, 65535);
	p += 20;
	memcpy(f + p, data, len);
	p += len;
	/* pcap record header (little-endian, microseconds) */
	uint32_t sec = (uint32_t)(t / 1000000), usec = (uint32_t)(t % 1000000);
	uint32_t l = (uint32_t)p;
	memcpy(rec, &sec, 4);
	memcpy(rec + 4, &usec, 4);
	memcpy(rec + 8, &l, 4);
	memcpy(rec + 12, &l, 4);
	fwrite(rec, 1, 16, out);
	fwrite(f, 1, p, out);
	if (dir)
		c->sseq += len + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
	else
		c->cseq += len + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
}

/* Packets of all connections must come out in time order: each connection
 * is written whole, and connections are 250 ms apart while each lasts less
 * than 200 ms. */
static void
connection(unsigned i, uint64_t t)
{
	struct conn c;
	static char body[1400];
	char req[128];
	uint64_t rtt = 300 + (i % 5) * 100;              /* server side: SYN-ACK to ACK */
	uint64_t delay[2] = { 1000 + (i * 7919) % 60000, 500 + (i * 104729) % 20000 };
	uint64_t think = 2000 + (i * 31) % 30000;

	memset(&c, 0, sizeof(c));
	memset(body, 'x', sizeof(body));
	c.v6 = i % 2;
	if (c.v6) {
		c.srv[0] = 0xfd; c.srv[15] = 1;
		c.cli[0] = 0xfd; c.cli[15] = (uint8_t)(2 + i % 3);
		c.sport = 8080;
	} else {
		c.srv[0] = 10; c.srv[1] = 9; c.srv[3] = 1;
		c.cli[0] = 10; c.cli[1] = 9; c.cli[3] = (uint8_t)(2 + i % 3);
		c.sport = 80;
	}
	c.cport = (uint16_t)(20000 + i);
	c.cseq = 1000 * i + 1;
	c.sseq = 5000 * i + 7;
	frame(&c, 0, t, F_SYN, "", 0);
	frame(&c, 1, t += 50, F_SYN | F_ACK, "", 0);
	frame(&c, 0, t += rtt, F_ACK, "", 0);
	for (int k = 0; k < 2; k++) {
		int n = snprintf(req, sizeof(req), "GET /item/%u/%d HTTP/1.1\r\nHost: test\r\n\r\n", i, k);
		uint32_t parts = 1 + (i + (unsigned)k) % 3;
		frame(&c, 0, t += (k ? think : 100), F_PSH | F_ACK, req, (uint32_t)n);
		frame(&c, 1, t += delay[k], F_ACK, body, 1400);
		for (uint32_t j = 1; j < parts; j++)
			frame(&c, 1, t += 200, F_ACK, body, 1400);
		frame(&c, 1, t += 200, F_PSH | F_ACK, body, 100);
		frame(&c, 0, t += 150, F_ACK, "", 0);
	}
	frame(&c, 0, t += 1000, F_FIN | F_ACK, "", 0);
	frame(&c, 1, t += 100, F_FIN | F_ACK, "", 0);
	frame(&c, 0, t += 100, F_ACK, "", 0);
}

int
main(int argc, char **argv)
{
	uint8_t gh[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 0, 0, 1, 0, 0, 0 };
	unsigned seconds = 45;
	uint64_t start = 1700000000;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: store_pcap FILE [SECONDS [START]]\n");
		return 2;
	}
	if (argc > 2)
		seconds = (unsigned)strtoul(argv[2], NULL, 10);
	if (argc > 3)
		start = strtoull(argv[3], NULL, 10);
	out = fopen(argv[1], "wb");
	if (out == NULL) {
		perror(argv[1]);
		return 1;
	}
	fwrite(gh, 1, sizeof(gh), out);
	for (unsigned i = 0; i < seconds * 4; i++)
		connection(i, start * 1000000 + (uint64_t)i * 250000 + 3);
	if (fclose(out) != 0) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
