/* synflood: writes a pcap (Ethernet) of a random-source SYN flood mixed
 * with a few steady talkers, for the top-N tests and benchmarks.
 *
 *   synflood [-n FLOOD] [-t TALKERS] [-p PERCENT] [-s SEED] [-S] -o FILE
 *
 * FLOOD SYNs (default 1000000) from random IPv4 sources (never in
 * 10.77.0.0/16) to 192.0.2.1:80, 60-byte frames; TALKERS hosts (default 10)
 * 10.77.0.1, 10.77.0.2, ... each sending PERCENT (default 1.5) of all
 * packets as TCP data to 192.0.2.2:443, talker i with 100 * i payload bytes
 * (IPv6 from fd77::i instead with -6).  Packets are interleaved at random,
 * 10 us apart.  -S: the talkers send SYNs too (each its tenth packet).
 * Prints the talkers' packet counts on stdout. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void
put16(uint8_t *p, uint32_t v)
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

static void
putle32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Ethernet + IPv4/IPv6 + TCP (20 bytes, no options) + payload; frames under
 * 60 bytes are padded as on the wire.  Returns the frame length. */
static size_t
frame(uint8_t *b, int v6, const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
    uint8_t flags, uint32_t seq, size_t plen)
{
	size_t o = 14, iphl = v6 ? 40 : 20;

	memset(b, 0, 14 + iphl + 20 + plen + 60);
	b[0] = 0x02; b[5] = 0x01;
	b[6] = 0x02; b[11] = 0x02;
	put16(b + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		b[o] = 0x60;
		put16(b + o + 4, (uint32_t)(20 + plen));
		b[o + 6] = 6;
		b[o + 7] = 64;
		memcpy(b + o + 8, src, 16);
		memcpy(b + o + 24, dst, 16);
	} else {
		b[o] = 0x45;
		put16(b + o + 2, (uint32_t)(20 + 20 + plen));
		b[o + 8] = 64;
		b[o + 9] = 6;
		memcpy(b + o + 12, src, 4);
		memcpy(b + o + 16, dst, 4);
	}
	o += iphl;
	put16(b + o, sport);
	put16(b + o + 2, dport);
	put32(b + o + 4, seq);
	put32(b + o + 8, flags & 0x10 ? 1 : 0);
	b[o + 12] = 5 << 4;
	b[o + 13] = flags;
	put16(b + o + 14, 65535);
	o += 20;
	for (size_t i = 0; i < plen; i++)
		b[o + i] = (uint8_t)('a' + i % 26);
	o += plen;
	return o < 60 ? 60 : o;
}

static void
record(FILE *fp, uint64_t ts_us, const uint8_t *b, size_t len)
{
	uint8_t h[16];

	putle32(h, (uint32_t)(ts_us / 1000000));
	putle32(h + 4, (uint32_t)(ts_us % 1000000));
	putle32(h + 8, (uint32_t)len);
	putle32(h + 12, (uint32_t)len);
	fwrite(h, 1, 16, fp);
	fwrite(b, 1, len, fp);
}

int
main(int argc, char **argv)
{
	uint64_t flood = 1000000;
	int talkers = 10, v6 = 0, talker_syn = 0, ch;
	double percent = 1.5;
	const char *out = NULL;

	while ((ch = getopt(argc, argv, "n:t:p:s:o:6S")) != -1) {
		switch (ch) {
		case 'n': flood = strtoull(optarg, NULL, 10); break;
		case 't': talkers = atoi(optarg); break;
		case 'p': percent = atof(optarg); break;
		case 's': rng_state = strtoull(optarg, NULL, 0) | 1; break;
		case 'o': out = optarg; break;
		case '6': v6 = 1; break;
		case 'S': talker_syn = 1; break;
		default:
			fprintf(stderr, "usage: synflood [-n FLOOD] [-t TALKERS] [-p PERCENT] [-s SEED] [-6] [-S] -o FILE\n");
			return 2;
		}
	}
	if (out == NULL || talkers < 0 || talkers > 200 || percent <= 0 || percent * talkers >= 100) {
		fprintf(stderr, "synflood: -o FILE required; TALKERS 0..200, PERCENT * TALKERS < 100\n");
		return 2;
	}
	/* each talker: m = f * (flood + talkers * m) */
	double f = percent / 100.0;
	uint64_t per = (uint64_t)((double)flood * f / (1.0 - f * talkers) + 0.999);
	uint64_t left[201];
	uint64_t sent[201] = { 0 };
	uint64_t remaining = flood;
	for (int i = 0; i < talkers; i++) {
		left[i] = per;
		remaining += per;
	}
	left[talkers] = flood;

	FILE *fp = fopen(out, "wb");
	if (fp == NULL) {
		perror(out);
		return 2;
	}
	uint8_t gh[24];
	putle32(gh, 0xa1b2c3d4);
	gh[4] = 2; gh[5] = 0; gh[6] = 4; gh[7] = 0;
	memset(gh + 8, 0, 8);
	putle32(gh + 16, 65535);
	putle32(gh + 20, 1);           /* DLT_EN10MB */
	fwrite(gh, 1, 24, fp);

	static uint8_t buf[2048];
	uint8_t dst_flood[16] = { 192, 0, 2, 1 }, dst_talk[16] = { 192, 0, 2, 2 };
	if (v6) {
		memset(dst_talk, 0, 16);
		dst_talk[0] = 0xfd; dst_talk[1] = 0x77; dst_talk[15] = 0xff;
	}
	uint64_t ts = 1700000000ull * 1000000;
	while (remaining > 0) {
		/* pick the next sender in proportion to what each has left */
		uint64_t x = rng() % remaining;
		int who = 0;
		while (x >= left[who]) {
			x -= left[who];
			who++;
		}
		left[who]--;
		remaining--;
		size_t len;
		if (who == talkers) {
			uint8_t src[16];
			uint32_t a;
			do {
				a = (uint32_t)(rng() >> 32);
			} while ((a >> 16) == 0x0a4d || (a >> 24) == 0 || (a >> 28) >= 0xe);
			put32(src, a);
			len = frame(buf, 0, src, dst_flood, (uint16_t)(1024 + rng() % 60000), 80, 0x02,
			    (uint32_t)rng(), 0);
		} else {
			uint8_t src[16] = { 0 };
			if (v6) {
				src[0] = 0xfd; src[1] = 0x77; src[15] = (uint8_t)(who + 1);
			} else {
				src[0] = 10; src[1] = 77; src[3] = (uint8_t)(who + 1);
			}
			int syn = talker_syn && sent[who] % 10 == 0;
			len = frame(buf, v6, src, dst_talk, (uint16_t)(40000 + who), 443, syn ? 0x02 : 0x18,
			    (uint32_t)sent[who] * 1000, syn ? 0 : (size_t)(100 * (who + 1)));
			sent[who]++;
		}
		record(fp, ts, buf, len);
		ts += 10;
	}
	if (fclose(fp) != 0) {
		perror(out);
		return 2;
	}
	for (int i = 0; i < talkers; i++)
		printf("talker %d packets %" PRIu64 " syn %" PRIu64 "\n", i + 1, sent[i],
		    talker_syn ? (sent[i] + 9) / 10 : 0);
	printf("flood %" PRIu64 "\n", flood);
	return 0;
}
