/* A SYN flood written straight to a pcap file (Ethernet, microseconds).
 *
 * Every SYN comes from a random source address and port and goes to the next
 * of a rolling set of destinations (Slammer-style), so every packet opens a
 * new flow.  The timestamps are spread evenly over a window, so the flood can
 * be merged (mergecap) into a real capture covering the same window.
 *
 *   synflood -o FILE [-n COUNT] [-s START_SEC] [-d DURATION_SEC]
 *            [-D DST_BASE] [-m NDST] [-p DPORT] [-S SEED] [-e]
 *
 * With -e every flow completes its handshake (SYN, SYN-ACK, ACK 10 us
 * apart) and then stays idle: COUNT established idle connections, to
 * measure the memory each tracked connection costs.
 *
 * Defaults: 1,200,000 SYNs over 10 s from time 1e9, to 65536 destinations
 * rolling from 10.99.0.0, port 80, seed 1.  Same arguments, same bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng;

static uint64_t
next(void)
{
	/* splitmix64 */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

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

static uint32_t
csum_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t
csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* One 60-byte Ethernet/IPv4/TCP frame with an MSS option on SYNs. */
static void
put_pkt(FILE *fp, uint64_t ts, uint16_t ipid, uint32_t src, uint32_t dst, uint16_t sport,
    uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	uint8_t f[16 + 60];
	uint8_t *ph = f, *eth = f + 16, *iph = eth + 14, *tcp = iph + 20;
	int syn = flags & 0x02;
	uint16_t tcplen = syn ? 24 : 20;

	memset(f, 0, sizeof(f));
	/* record header (little-endian) */
	uint32_t sec = (uint32_t)(ts / 1000000), usec = (uint32_t)(ts % 1000000);
	memcpy(ph, &sec, 4);
	memcpy(ph + 4, &usec, 4);
	uint32_t len = 60;
	memcpy(ph + 8, &len, 4);
	memcpy(ph + 12, &len, 4);
	/* Ethernet */
	eth[0] = 0x02; eth[5] = 0x01;
	eth[6] = 0x02; eth[7] = 0x66; eth[11] = 0x02;
	put16(eth + 12, 0x0800);
	/* IPv4 */
	iph[0] = 0x45;
	put16(iph + 2, (uint16_t)(20 + tcplen));
	put16(iph + 4, ipid);
	put16(iph + 6, 0x4000);
	iph[8] = 64;
	iph[9] = 6;
	put32(iph + 12, src);
	put32(iph + 16, dst);
	put16(iph + 10, csum_fold(csum_add(0, iph, 20)));
	/* TCP */
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (uint8_t)((tcplen / 4) << 4);
	tcp[13] = flags;
	put16(tcp + 14, 64240);
	if (syn) {
		tcp[20] = 2; tcp[21] = 4;
		put16(tcp + 22, 1460);
	}
	uint8_t pseudo[12];
	memcpy(pseudo, iph + 12, 8);
	pseudo[8] = 0; pseudo[9] = 6;
	put16(pseudo + 10, tcplen);
	put16(tcp + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), tcp, tcplen)));
	fwrite(f, 1, sizeof(f), fp);
}

static void
usage(void)
{
	fprintf(stderr, "usage: synflood -o FILE [-n COUNT] [-s START_SEC] [-d DURATION_SEC] "
	    "[-D DST_BASE] [-m NDST] [-p DPORT] [-S SEED] [-e]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *out = NULL;
	unsigned long long count = 1200000, seed = 1;
	double start = 1e9, dur = 10.0;
	uint32_t dst_base = 0x0a630000, ndst = 65536;
	uint16_t dport = 80;
	struct in_addr ia;
	int ch, established = 0;

	while ((ch = getopt(argc, argv, "o:n:s:d:D:m:p:S:e")) != -1) {
		switch (ch) {
		case 'e': established = 1; break;
		case 'o': out = optarg; break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 's': start = strtod(optarg, NULL); break;
		case 'd': dur = strtod(optarg, NULL); break;
		case 'D':
			if (inet_pton(AF_INET, optarg, &ia) != 1)
				usage();
			dst_base = ntohl(ia.s_addr);
			break;
		case 'm': ndst = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': dport = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (out == NULL || count == 0 || ndst == 0 || dur <= 0)
		usage();
	rng = seed;

	FILE *fp = fopen(out, "wb");
	if (fp == NULL) {
		fprintf(stderr, "synflood: %s: %s\n", out, strerror(errno));
		return 1;
	}
	static char buf[1 << 20];
	setvbuf(fp, buf, _IOFBF, sizeof(buf));

	/* pcap global header: little-endian magic, v2.4, snaplen 1024, Ethernet. */
	uint8_t gh[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x00, 0x04, 0, 0, 1, 0, 0, 0 };
	fwrite(gh, 1, sizeof(gh), fp);

	uint64_t t0 = (uint64_t)(start * 1e6);
	uint64_t span = (uint64_t)(dur * 1e6);
	for (unsigned long long i = 0; i < count; i++) {
		uint64_t ts = t0 + span * i / count;
		uint64_t r = next();
		uint32_t src;
		do {
			src = (uint32_t)r;
			/* unicast, not 0/8, 10/8, 127/8, multicast or reserved */
			if ((src >> 24) != 0 && (src >> 24) != 10 && (src >> 24) != 127 && (src >> 24) < 224)
				break;
			r = next();
		} while (1);
		uint16_t sport = (uint16_t)(1024 + (r >> 32) % 64512);
		uint32_t dst = dst_base + (uint32_t)(i % ndst);
		uint32_t isn = (uint32_t)next();

		put_pkt(fp, ts, (uint16_t)i, src, dst, sport, dport, isn, 0, 0x02);
		if (established) {
			uint32_t sisn = (uint32_t)next();
			put_pkt(fp, ts + 10, (uint16_t)i, dst, src, dport, sport, sisn, isn + 1, 0x12);
			put_pkt(fp, ts + 20, (uint16_t)(i + 1), src, dst, sport, dport, isn + 1, sisn + 1, 0x10);
		}
	}
	if (fclose(fp) != 0) {
		fprintf(stderr, "synflood: %s: %s\n", out, strerror(errno));
		return 1;
	}
	return 0;
}
