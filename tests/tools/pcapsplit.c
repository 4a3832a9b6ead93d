/* pcapsplit: cuts classic pcap files into one file per packet, for fuzzer
 * corpora.  Each output file is one selector byte (the link type, see
 * below) followed by the frame as captured.
 *
 *   pcapsplit [-n MAX] [-e EVERY] [-x] OUTDIR FILE.pcap...
 *
 * -n: at most MAX packets per input file (default 100); -e: take every
 * EVERY-th packet (default 1); -x: also write each Ethernet/IPv4/IPv6 frame
 * re-wrapped in the other link types artmon decodes (802.1Q, QinQ, Linux
 * SLL and SLL2, BSD NULL and LOOP, raw IP), so every decoder path has seeds.
 *
 * Selector byte (low 4 bits, modulo 10), shared with tests/fuzz/fuzz_decode.c:
 *   0 EN10MB(1)  1 LINUX_SLL(113)  2 LINUX_SLL2(276)  3 NULL(0)  4 LOOP(108)
 *   5 RAW(12)    6 LINKTYPE_RAW(101)  7 IPV4(228)  8 IPV6(229)  9 PPP(9, unsupported) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int dlts[10] = { 1, 113, 276, 0, 108, 12, 101, 228, 229, 9 };

static unsigned long nout;

static uint32_t rd32(const uint8_t *p, int swap)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

	if (swap)
		v = (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
	return v;
}

static void write_seed(const char *dir, const char *base, unsigned long idx, const char *tag,
    uint8_t sel, const uint8_t *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%05lu%s", dir, base, idx, tag);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "pcapsplit: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (fwrite(&sel, 1, 1, f) != 1 || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		fprintf(stderr, "pcapsplit: %s: write failed\n", path);
		exit(1);
	}
	nout++;
}

/* Writes the re-wrapped variants of one Ethernet frame. */
static void variants(const char *dir, const char *base, unsigned long idx, const uint8_t *fr, size_t len)
{
	static uint8_t b[70000];
	const uint8_t *ip;
	size_t iplen;
	uint16_t et;
	int v6;

	if (len < 14 + 20 || len > 65535)
		return;
	et = (uint16_t)(fr[12] << 8 | fr[13]);
	if (et != 0x0800 && et != 0x86dd)
		return;
	v6 = et == 0x86dd;
	ip = fr + 14;
	iplen = len - 14;

	/* 802.1Q and QinQ */
	memcpy(b, fr, 12);
	b[12] = 0x81; b[13] = 0x00; b[14] = 0x00; b[15] = 0x2a;
	memcpy(b + 16, fr + 12, len - 12);
	write_seed(dir, base, idx, "-vlan", 0, b, len + 4);
	memcpy(b, fr, 12);
	b[12] = 0x88; b[13] = 0xa8; b[14] = 0x00; b[15] = 0x07;
	b[16] = 0x81; b[17] = 0x00; b[18] = 0x00; b[19] = 0x2a;
	memcpy(b + 20, fr + 12, len - 12);
	write_seed(dir, base, idx, "-qinq", 0, b, len + 8);
	/* Linux SLL: packet type, ARPHRD_ETHER, address length, address, protocol */
	memset(b, 0, 16);
	b[1] = 0; b[3] = 1; b[5] = 6;
	memcpy(b + 6, fr + 6, 6);
	b[14] = fr[12]; b[15] = fr[13];
	memcpy(b + 16, ip, iplen);
	write_seed(dir, base, idx, "-sll", 1, b, iplen + 16);
	/* SLL2: protocol, reserved, ifindex, hatype, packet type, address length, address */
	memset(b, 0, 20);
	b[0] = fr[12]; b[1] = fr[13];
	b[7] = 2; b[9] = 1; b[10] = 4; b[11] = 6;
	memcpy(b + 12, fr + 6, 6);
	memcpy(b + 20, ip, iplen);
	write_seed(dir, base, idx, "-sll2", 2, b, iplen + 20);
	/* NULL: address family in host (here little-endian) order; LOOP: network order */
	memset(b, 0, 4);
	b[0] = v6 ? 24 : 2;
	memcpy(b + 4, ip, iplen);
	write_seed(dir, base, idx, "-null", 3, b, iplen + 4);
	memset(b, 0, 4);
	b[3] = v6 ? 24 : 2;
	write_seed(dir, base, idx, "-loop", 4, b, iplen + 4);
	/* raw IP */
	write_seed(dir, base, idx, "-raw", 5, ip, iplen);
	write_seed(dir, base, idx, "-raw101", 6, ip, iplen);
	write_seed(dir, base, idx, v6 ? "-ipv6" : "-ipv4", v6 ? 8 : 7, ip, iplen);
}

static int split(const char *dir, const char *file, unsigned long max, unsigned long every, int extra)
{
	FILE *f = fopen(file, "rb");
	uint8_t gh[24], rh[16];
	static uint8_t pkt[262144];
	int swap, sel = -1, i;
	uint32_t magic, dlt;
	unsigned long n = 0, taken = 0;
	const char *base = strrchr(file, '/');

	base = base ? base + 1 : file;
	if (!f) {
		fprintf(stderr, "pcapsplit: %s: %s\n", file, strerror(errno));
		return -1;
	}
	if (fread(gh, 1, 24, f) != 24) {
		fprintf(stderr, "pcapsplit: %s: too short\n", file);
		fclose(f);
		return -1;
	}
	magic = rd32(gh, 0);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		swap = 0;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		swap = 1;
	else {
		fprintf(stderr, "pcapsplit: %s: not a classic pcap file\n", file);
		fclose(f);
		return -1;
	}
	dlt = rd32(gh + 20, swap) & 0x0fffffff;
	for (i = 0; i < 10; i++)
		if ((uint32_t)dlts[i] == dlt)
			sel = i;
	if (sel < 0) {
		fprintf(stderr, "pcapsplit: %s: link type %u has no selector, skipped\n", file, dlt);
		fclose(f);
		return 0;
	}
	while (taken < max && fread(rh, 1, 16, f) == 16) {
		uint32_t cap = rd32(rh + 8, swap);

		if (cap > sizeof(pkt) || fread(pkt, 1, cap, f) != cap) {
			fprintf(stderr, "pcapsplit: %s: truncated record\n", file);
			break;
		}
		if (n++ % every)
			continue;
		write_seed(dir, base, n, "", (uint8_t)sel, pkt, cap);
		if (extra && sel == 0)
			variants(dir, base, n, pkt, cap);
		taken++;
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long max = 100, every = 1;
	int opt, extra = 0, i, rc = 0;

	while ((opt = getopt(argc, argv, "n:e:x")) != -1) {
		switch (opt) {
		case 'n': max = strtoul(optarg, NULL, 0); break;
		case 'e': every = strtoul(optarg, NULL, 0); break;
		case 'x': extra = 1; break;
		default: goto usage;
		}
	}
	if (argc - optind < 2 || every == 0)
		goto usage;
	for (i = optind + 1; i < argc; i++)
		if (split(argv[optind], argv[i], max, every, extra) < 0)
			rc = 1;
	fprintf(stderr, "pcapsplit: %lu seeds written to %s\n", nout, argv[optind]);
	return rc;
usage:
	fprintf(stderr, "usage: pcapsplit [-n MAX] [-e EVERY] [-x] OUTDIR FILE.pcap...\n");
	return 2;
}
