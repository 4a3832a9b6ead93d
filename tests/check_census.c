/* Unit tests for capture/census.c: option parsing, compile errors, filter
 * counts with and without the fast path (and the two checked against each
 * other on awkward layouts), hardwired counters, top-N feeds, output. */
#include "config.h"
#include "capture/census.h"
#include "capture/decode.h"
#include "capture/tracker.h"
#include "tests/pktbuild.h"

#include <check.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

/* ---- option parsing ---- */

START_TEST(test_spec_parse)
{
	struct am_census_spec sp = { 0 };
	char err[256];

	ck_assert_int_eq(am_census_spec_parse(&sp, "web:http=tcp port 80,dns = udp port 53 ", err, sizeof(err)), 0);
	ck_assert_int_eq(am_census_spec_parse(&sp, "cast:b=ether broadcast,v=ip[0]=0x45", err, sizeof(err)), 0);
	ck_assert_uint_eq(sp.n, 4);
	ck_assert_str_eq(sp.filters[0].set, "web");
	ck_assert_str_eq(sp.filters[0].label, "http");
	ck_assert_str_eq(sp.filters[0].expr, "tcp port 80");
	ck_assert_str_eq(sp.filters[1].set, "web");
	ck_assert_str_eq(sp.filters[1].label, "dns");
	ck_assert_str_eq(sp.filters[1].expr, "udp port 53");
	ck_assert_str_eq(sp.filters[3].label, "v");
	ck_assert_str_eq(sp.filters[3].expr, "ip[0]=0x45");   /* '=' inside the expression */

	static const struct { const char *arg, *msg; } bad[] = {
		{ "nocolon", "expected SET:LABEL=EXPR" },
		{ ":a=tcp", "set name" },
		{ "s t:a=tcp", "set name" },
		{ "x:a", "not LABEL=EXPR" },
		{ "x:a=tcp,", "not LABEL=EXPR" },
		{ "x:=tcp", "label ''" },
		{ "x:a b=tcp", "label 'a b'" },
		{ "x:a=  ", "empty expression" },
		{ "x:a=tcp,a=udp", "label 'a' given twice" },
		{ "web:z=tcp", "'web' given twice" },
		{ "hw.cast:a=tcp", "reserved" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(am_census_spec_parse(&sp, bad[i].arg, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, bad[i].msg) != NULL, "%s: got '%s'", bad[i].arg, err);
		ck_assert_uint_eq(sp.n, 4);   /* nothing half-added */
	}
	am_census_spec_free(&sp);
	ck_assert_uint_eq(sp.n, 0);
}
END_TEST

START_TEST(test_compile_error)
{
	struct am_census_filter f[] = {
		{ "web", "http", "tcp port 80" },
		{ "web", "broken", "tcp port 80 and and" },
	};
	struct am_census_cfg cfg;
	char err[512] = "";

	am_census_cfg_default(&cfg);
	cfg.filters = f;
	cfg.nfilters = 2;
	ck_assert_ptr_null(am_census_new(&cfg, err, sizeof(err)));
	ck_assert_msg(strstr(err, "'web'") && strstr(err, "'broken'") && strstr(err, "syntax error"), "%s", err);

	struct am_census_filter dup[] = {
		{ "a", "x", "tcp" }, { "b", "y", "udp" }, { "a", "x", "udp" },
	};
	cfg.filters = dup;
	cfg.nfilters = 3;
	ck_assert_ptr_null(am_census_new(&cfg, err, sizeof(err)));
	ck_assert_msg(strstr(err, "label 'x' given twice"), "%s", err);

	cfg.filters = NULL;
	cfg.nfilters = 0;
	cfg.top.n = 20;
	cfg.top.capacity = 10;
	ck_assert_ptr_null(am_census_new(&cfg, err, sizeof(err)));
	ck_assert_msg(strstr(err, "top-N"), "%s", err);
	am_census_cfg_default(&cfg);

	struct am_census_filter hw[] = { { "hw.l4", "x", "tcp" } };
	cfg.filters = hw;
	cfg.nfilters = 1;
	ck_assert_ptr_null(am_census_new(&cfg, err, sizeof(err)));
	ck_assert_msg(strstr(err, "reserved"), "%s", err);

	/* An expression valid on Ethernet but not on raw IP: fine at creation,
	 * counted as a compile error when a raw-IP frame comes, never matches. */
	struct am_census_filter eth[] = { { "l2", "bc", "ether broadcast" }, { "l2", "t", "tcp" } };
	cfg.filters = eth;
	cfg.nfilters = 2;
	cfg.fastpath = 0;
	struct am_census *c = am_census_new(&cfg, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	uint8_t buf[256];
	struct pb_tcp t = { .src = "10.0.0.1", .dst = "10.0.0.2", .sport = 1000, .dport = 80, .flags = AM_TH_SYN, .wscale = -1 };
	size_t n = pb_tcp_frame(&t, buf, sizeof(buf));
	struct am_frame fr = { .data = buf + 14, .caplen = (uint32_t)n - 14, .wirelen = (uint32_t)n - 14, .dlt = DLT_RAW };
	am_census_frame(c, &fr, NULL);
	struct am_census_stats st;
	am_census_stats(c, &st);
	ck_assert_uint_eq(st.compile_errors, 1);
	ck_assert_uint_eq(am_census_count(c, 0, 0)->packets, 0);
	ck_assert_uint_eq(am_census_count(c, 0, 1)->packets, 1);
	am_census_free(c);
}
END_TEST

/* ---- frames ---- */

struct frame {
	uint8_t b[1600];
	size_t len;
	int dlt;
};

static void
tcp_frame(struct frame *f, int v6, const char *s, const char *d, uint16_t sp, uint16_t dp, uint8_t flags,
    size_t plen, int vlan, int ext)
{
	static uint8_t payload[1500];
	struct pb_tcp t = { .v6 = v6, .src = s, .dst = d, .sport = sp, .dport = dp, .flags = flags,
		.wscale = -1, .payload = payload, .plen = plen, .vlan = vlan, .v6_ext = ext };
	f->len = pb_tcp_frame(&t, f->b, sizeof(f->b));
	f->dlt = DLT_EN10MB;
	ck_assert_uint_gt(f->len, 0);
}

static void
udp_frame(struct frame *f, int v6, const char *s, const char *d, uint16_t sp, uint16_t dp, size_t plen)
{
	static uint8_t payload[1500];
	f->len = pb_udp_frame(v6, s, d, sp, dp, payload, plen, f->b, sizeof(f->b));
	f->dlt = DLT_EN10MB;
	ck_assert_uint_gt(f->len, 0);
}

/* IPv4 ICMP echo, by hand: Ethernet + 20 + 8. */
static void
icmp_frame(struct frame *f, const uint8_t dmac[6], const uint8_t dst[4])
{
	uint8_t *b = f->b;
	memset(b, 0, 14 + 28);
	memcpy(b, dmac, 6);
	b[6] = 2;
	b[12] = 0x08;
	b[14] = 0x45;
	b[17] = 28;
	b[22] = 64;
	b[23] = 1;
	b[26] = 10; b[27] = 0; b[28] = 0; b[29] = 9;
	memcpy(b + 30, dst, 4);
	b[34] = 8;
	f->len = 42;
	f->dlt = DLT_EN10MB;
}

static void
arp_frame(struct frame *f)
{
	memset(f->b, 0, 60);
	memset(f->b, 0xff, 6);
	f->b[6] = 2;
	f->b[12] = 0x08;
	f->b[13] = 0x06;
	f->len = 60;
	f->dlt = DLT_EN10MB;
}

static void
feed_opt(struct am_census *c, const struct frame *f, int decode)
{
	struct am_packet p;
	struct am_frame fr = { .data = f->b, .caplen = (uint32_t)f->len, .wirelen = (uint32_t)f->len, .dlt = f->dlt };
	enum am_dec r = am_decode(f->dlt, f->b, (uint32_t)f->len, (uint32_t)f->len, &p);

	am_census_frame(c, &fr, decode && r == AM_DEC_OK ? &p : NULL);
}

static void
feed(struct am_census *c, const struct frame *f)
{
	feed_opt(c, f, 1);
}

static const struct am_census_filter sample_filters[] = {
	{ "svc", "http", "tcp port 80" },
	{ "svc", "dns", "udp port 53" },
	{ "svc", "dst80", "dst port 80" },
	{ "svc", "srcport", "tcp src port 1234" },
	{ "hosts", "h1", "host 10.0.0.1" },
	{ "hosts", "h1src", "src host 10.0.0.1" },
	{ "hosts", "h1dst", "dst host 10.0.0.1" },
	{ "hosts", "v6", "host 2001:db8::1" },
	{ "hosts", "net10", "net 10.0.0.0/8" },
	{ "hosts", "net6", "net 2001:db8::/32" },
	{ "proto", "tcp", "tcp" },
	{ "proto", "udp", "udp" },
	{ "proto", "ip", "ip" },
	{ "proto", "ip6", "ip6" },
	{ "proto", "syn", "tcp[tcpflags] & tcp-syn != 0" },
	{ "proto", "icmp", "icmp" },
	{ "proto", "icmparp", "icmp or arp" },
};
#define NSAMPLE (sizeof(sample_filters) / sizeof(sample_filters[0]))

static struct am_census *
mk(int fastpath, int verify)
{
	struct am_census_cfg cfg;
	char err[256];

	am_census_cfg_default(&cfg);
	cfg.filters = sample_filters;
	cfg.nfilters = NSAMPLE;
	cfg.fastpath = fastpath;
	cfg.verify = verify;
	cfg.top.capacity = 64;
	cfg.top.n = 5;
	cfg.top.seed = 99;
	cfg.p99_min = 1;
	struct am_census *c = am_census_new(&cfg, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

/* A mix covering the fast path's edges: VLAN tags, IPv4 options, IPv6
 * extension headers, raw IP and cooked links, truncated frames, ICMP, ARP. */
static size_t
sample_frames(struct frame *fr, size_t max)
{
	size_t n = 0;
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
	static const uint8_t ucast[6] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t d_bc[4] = { 255, 255, 255, 255 }, d_mc[4] = { 224, 0, 0, 1 }, d_uc[4] = { 10, 0, 0, 1 };

	ck_assert_uint_ge(max, 40);
	tcp_frame(&fr[n++], 0, "10.0.0.1", "192.0.2.7", 1234, 80, AM_TH_SYN, 0, 0, 0);
	tcp_frame(&fr[n++], 0, "192.0.2.7", "10.0.0.1", 80, 1234, AM_TH_SYN | AM_TH_ACK, 0, 0, 0);
	tcp_frame(&fr[n++], 0, "10.0.0.1", "192.0.2.7", 1234, 80, AM_TH_ACK, 500, 0, 0);
	tcp_frame(&fr[n++], 0, "192.0.2.7", "10.0.0.1", 80, 1234, AM_TH_ACK, 1400, 0, 0);
	tcp_frame(&fr[n++], 0, "10.0.0.1", "192.0.2.7", 1234, 80, AM_TH_ACK, 100, 1, 0);   /* VLAN */
	tcp_frame(&fr[n++], 0, "10.0.0.1", "192.0.2.7", 1234, 80, AM_TH_ACK, 100, 2, 0);   /* QinQ */
	{
		static uint8_t pl[10];
		struct pb_tcp t = { .src = "10.0.0.1", .dst = "192.0.2.7", .sport = 1234, .dport = 80,
			.flags = AM_TH_ACK, .wscale = -1, .payload = pl, .plen = 10, .ip_options = 1 };
		fr[n].len = pb_tcp_frame(&t, fr[n].b, sizeof(fr[n].b));
		fr[n++].dlt = DLT_EN10MB;
	}
	tcp_frame(&fr[n++], 1, "2001:db8::1", "2001:db8:1::2", 5555, 80, AM_TH_SYN, 0, 0, 0);
	tcp_frame(&fr[n++], 1, "2001:db8:1::2", "2001:db8::1", 80, 5555, AM_TH_ACK, 300, 0, 1); /* ext hdrs */
	tcp_frame(&fr[n++], 1, "fe80::1", "2001:db8::1", 7, 8, AM_TH_ACK, 0, 1, 0);
	udp_frame(&fr[n++], 0, "10.0.0.1", "10.0.0.53", 40000, 53, 40);
	udp_frame(&fr[n++], 0, "10.0.0.53", "10.0.0.1", 53, 40000, 120);
	udp_frame(&fr[n++], 1, "2001:db8::1", "2001:db8::53", 40001, 53, 30);
	udp_frame(&fr[n++], 0, "172.16.0.1", "172.16.0.2", 80, 1234, 1000);   /* udp port 80 */
	/* link type and IP version disagree: IPv6 under 0x0800, IPv4 under 0x86dd */
	tcp_frame(&fr[n], 1, "2001:db8::1", "2001:db8::2", 1234, 80, AM_TH_ACK, 0, 0, 0);
	fr[n].b[12] = 0x08;
	fr[n++].b[13] = 0x00;
	tcp_frame(&fr[n], 0, "10.0.0.1", "10.0.0.2", 1234, 80, AM_TH_ACK, 0, 0, 0);
	fr[n].b[12] = 0x86;
	fr[n++].b[13] = 0xdd;
	icmp_frame(&fr[n++], bcast, d_bc);
	icmp_frame(&fr[n++], mcast, d_mc);
	icmp_frame(&fr[n++], ucast, d_uc);
	arp_frame(&fr[n++]);
	/* the same packets on other link types */
	size_t base = n;
	for (size_t i = 0; i < 14; i++) {
		struct frame *src = &fr[i];
		size_t l2 = 14;
		if (src->b[12] == 0x81 || src->b[12] == 0x88)
			continue;                         /* tagged: not on these links */
		/* raw IP */
		fr[n].len = src->len - l2;
		memcpy(fr[n].b, src->b + l2, fr[n].len);
		fr[n++].dlt = DLT_RAW;
		/* Linux cooked v1, outgoing */
		memset(fr[n].b, 0, 16);
		fr[n].b[1] = 4;
		memcpy(fr[n].b + 14, src->b + 12, 2);
		memcpy(fr[n].b + 16, src->b + l2, src->len - l2);
		fr[n].len = src->len - l2 + 16;
		fr[n++].dlt = DLT_LINUX_SLL;
		if (n + 2 > max)
			break;
	}
	ck_assert_uint_gt(n, base);
	/* truncated copies: the decoder gives up, the interpreter decides */
	for (size_t i = 0; i < 4 && n < max; i++) {
		fr[n] = fr[i];
		fr[n].len = 14 + 20 + 10;
		n++;
	}
	return n;
}

/* What libpcap says, frame by frame, for one expression. */
static uint64_t
bpf_count(const char *expr, const struct frame *fr, size_t n)
{
	uint64_t k = 0;
	int dlts[] = { DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL };

	for (size_t d = 0; d < 3; d++) {
		pcap_t *pd = pcap_open_dead(dlts[d], 262144);
		struct bpf_program prog;
		ck_assert_int_eq(pcap_compile(pd, &prog, expr, 1, PCAP_NETMASK_UNKNOWN), 0);
		for (size_t i = 0; i < n; i++) {
			if (fr[i].dlt != dlts[d])
				continue;
			struct pcap_pkthdr h = { .caplen = (uint32_t)fr[i].len, .len = (uint32_t)fr[i].len };
			if (pcap_offline_filter(&prog, &h, fr[i].b))
				k++;
		}
		pcap_freecode(&prog);
		pcap_close(pd);
	}
	return k;
}

START_TEST(test_filters_match_libpcap)
{
	static struct frame fr[64];
	size_t n = sample_frames(fr, 64);
	/* fast path, interpreter only, verified, fast path without the caller's decode */
	struct am_census *c[4] = { mk(1, 0), mk(0, 0), mk(1, 1), mk(1, 0) };

	for (int k = 0; k < 4; k++)
		for (size_t i = 0; i < n; i++)
			feed_opt(c[k], &fr[i], k != 3);
	struct am_census_stats st[4];
	for (int k = 0; k < 4; k++)
		am_census_stats(c[k], &st[k]);
	ck_assert_uint_gt(st[0].evals_fast, 0);
	ck_assert_uint_eq(st[1].evals_fast, 0);
	ck_assert_uint_eq(st[2].verify_mismatch, 0);
	ck_assert_uint_eq(st[3].evals_fast, st[0].evals_fast);
	ck_assert_uint_eq(st[0].compile_errors, 0);
	ck_assert_uint_eq(am_census_nsets(c[0]), 3);
	size_t seen = 0;
	for (size_t s = 0; s < am_census_nsets(c[0]); s++) {
		for (size_t j = 0; j < am_census_nlabels(c[0], s); j++) {
			const char *expr = am_census_expr(c[0], s, j);
			uint64_t want = bpf_count(expr, fr, n);
			for (int k = 0; k < 4; k++)
				ck_assert_msg(am_census_count(c[k], s, j)->packets == want,
				    "census %d, '%s': %llu, libpcap %llu", k, expr,
				    (unsigned long long)am_census_count(c[k], s, j)->packets, (unsigned long long)want);
			ck_assert_uint_eq(am_census_count(c[0], s, j)->bytes, am_census_count(c[1], s, j)->bytes);
			seen++;
		}
	}
	ck_assert_uint_eq(seen, NSAMPLE);
	/* a few absolute values, so that an agreement on zero cannot pass */
	ck_assert_str_eq(am_census_set_name(c[0], 0), "svc");
	ck_assert_str_eq(am_census_label(c[0], 0, 0), "http");
	ck_assert_uint_ge(am_census_count(c[0], 0, 0)->packets, 8);
	ck_assert_str_eq(am_census_label(c[0], 2, 6), "icmparp");
	/* 3 ICMP, 1 ARP, and the IPv6 packet under 0x0800, whose byte 9 (in the
	 * source address) libpcap reads as IPv4 protocol 1 */
	ck_assert_uint_eq(am_census_count(c[0], 2, 6)->packets, 5);
	ck_assert_ptr_null(am_census_count(c[0], 2, 7));
	ck_assert_ptr_null(am_census_label(c[0], 3, 0));
	for (int k = 0; k < 4; k++)
		am_census_free(c[k]);
}
END_TEST

/* Damaged copies of the sample frames: the fast path must still agree with
 * libpcap on every one, and nothing may read outside the frame (run under
 * valgrind or ASan to check the latter). */
START_TEST(test_mutations_verify)
{
	static struct frame fr[64];
	size_t n = sample_frames(fr, 64);
	struct am_census *c = mk(1, 1);
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (int it = 0; it < 30000; it++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t r = x * 2685821657736338717ull;
		struct frame f = fr[r % n];
		int flips = 1 + (int)((r >> 8) % 3);
		for (int k = 0; k < flips; k++) {
			size_t lim = f.len < 80 ? f.len : 80;
			size_t off = (size_t)((r >> (16 + 8 * k)) % lim);
			f.b[off] ^= (uint8_t)(1u << ((r >> (40 + k)) % 8));
		}
		if ((r >> 60) == 0)
			f.len = (size_t)((r >> 20) % (f.len + 1));
		/* a heap copy of exactly len bytes, so that an over-read shows */
		uint8_t *exact = malloc(f.len ? f.len : 1);
		memcpy(exact, f.b, f.len);
		struct am_packet p;
		struct am_frame af = { .data = exact, .caplen = (uint32_t)f.len, .wirelen = (uint32_t)f.len, .dlt = f.dlt };
		enum am_dec d = am_decode(f.dlt, exact, (uint32_t)f.len, (uint32_t)f.len, &p);
		am_census_frame(c, &af, d == AM_DEC_OK ? &p : NULL);
		free(exact);
	}
	struct am_census_stats st;
	am_census_stats(c, &st);
	ck_assert_uint_eq(st.frames, 30000);
	ck_assert_uint_gt(st.evals_fast, 30000);
	ck_assert_uint_eq(st.verify_mismatch, 0);
	am_census_free(c);
}
END_TEST

START_TEST(test_hardwired)
{
	static struct frame fr[64];
	size_t n = sample_frames(fr, 64);
	struct am_census *c = mk(1, 0);
	uint64_t bytes = 0;

	for (size_t i = 0; i < n; i++) {
		feed(c, &fr[i]);
		bytes += fr[i].len;
	}
	/* Each group partitions the frames (l4 partitions the IP ones). */
	uint64_t gp[4] = { 0 }, gb[4] = { 0 };
	for (int h = 0; h < AM_HW__COUNT; h++) {
		const char *g = am_census_hw_group((enum am_census_hw)h);
		int gi = strcmp(g, "cast") == 0 ? 0 : strcmp(g, "ip") == 0 ? 1 : strcmp(g, "l4") == 0 ? 2 : 3;
		gp[gi] += am_census_hw_count(c, (enum am_census_hw)h)->packets;
		gb[gi] += am_census_hw_count(c, (enum am_census_hw)h)->bytes;
	}
	ck_assert_uint_eq(gp[0], n);
	ck_assert_uint_eq(gp[1], n);
	ck_assert_uint_eq(gp[3], n);
	ck_assert_uint_eq(gb[0], bytes);
	ck_assert_uint_eq(gb[3], bytes);
	ck_assert_uint_eq(gp[2], n - am_census_hw_count(c, AM_HW_NOT_IP)->packets);

	/* Exact values: 18 Ethernet frames + raw/cooked copies + 4 truncated. */
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_BROADCAST)->packets, 2);   /* ICMP bcast + ARP */
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_MULTICAST)->packets, 1);
	/* ARP, and the two frames whose IP version contradicts the link's type */
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_NOT_IP)->packets, 3);
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_ICMP)->packets, 3);
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_CAST_UNKNOWN)->packets, 0);
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_IPV6)->packets, 4 + 2 * 3);
	ck_assert_str_eq(am_census_hw_name(AM_HW_SIZE_1518), "1024-1518");
	ck_assert_str_eq(am_census_hw_group(AM_HW_SIZE_1518), "size");
	am_census_free(c);

	/* cast from the IP destination when the link has no address; size edges */
	c = mk(1, 0);
	struct frame f;
	static const uint8_t any[6] = { 2, 0, 0, 0, 0, 1 };
	static const uint8_t d_bc[4] = { 255, 255, 255, 255 }, d_mc[4] = { 239, 1, 2, 3 };
	icmp_frame(&f, any, d_bc);
	f.len -= 14;
	memmove(f.b, f.b + 14, f.len);
	f.dlt = DLT_RAW;
	feed(c, &f);
	icmp_frame(&f, any, d_mc);
	f.len -= 14;
	memmove(f.b, f.b + 14, f.len);
	f.dlt = DLT_RAW;
	feed(c, &f);
	tcp_frame(&f, 1, "2001:db8::1", "ff02::1", 1, 2, AM_TH_ACK, 0, 0, 0);
	f.len -= 14;
	memmove(f.b, f.b + 14, f.len);
	f.dlt = DLT_RAW;
	feed(c, &f);
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_BROADCAST)->packets, 1);
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_MULTICAST)->packets, 2);
	f.dlt = 147;    /* DLT_USER0: nothing known */
	feed(c, &f);
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_CAST_UNKNOWN)->packets, 1);
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_NOT_IP)->packets, 1);
	/* sizes: 64 | 65 | 1518 | 1519 */
	size_t sizes[] = { 64, 65, 127, 128, 1518, 1519 };
	enum am_census_hw cls[] = { AM_HW_SIZE_64, AM_HW_SIZE_127, AM_HW_SIZE_127, AM_HW_SIZE_255,
		AM_HW_SIZE_1518, AM_HW_SIZE_JUMBO };
	for (size_t i = 0; i < 6; i++) {
		uint64_t before = am_census_hw_count(c, cls[i])->packets;
		struct am_frame fr1 = { .data = f.b, .caplen = 40, .wirelen = (uint32_t)sizes[i], .dlt = DLT_RAW };
		am_census_frame(c, &fr1, NULL);
		ck_assert_uint_eq(am_census_hw_count(c, cls[i])->packets, before + 1);
	}
	am_census_free(c);
}
END_TEST

START_TEST(test_talkers_and_syn)
{
	struct am_census *c = mk(1, 0);
	struct frame f;
	char k[80];

	/* 10.0.0.1: 30 SYNs; 10.0.0.2: 5 large packets; 10.0.0.3: 10 SYN-ACKs */
	for (int i = 0; i < 30; i++) {
		tcp_frame(&f, 0, "10.0.0.1", "10.9.9.9", (uint16_t)(2000 + i), 80, AM_TH_SYN, 0, 0, 0);
		feed(c, &f);
	}
	for (int i = 0; i < 5; i++) {
		tcp_frame(&f, 0, "10.0.0.2", "10.9.9.9", 3000, 80, AM_TH_ACK, 1400, 0, 0);
		feed(c, &f);
	}
	for (int i = 0; i < 10; i++) {
		tcp_frame(&f, 1, "2001:db8::3", "10.9.9.9", 80, 3000, AM_TH_SYN | AM_TH_ACK, 0, 0, 0);
		feed(c, &f);
	}
	am_census_interval(c);
	const struct am_topn_report *r = am_topn_report(am_census_topn(c, AM_TOP_TALKER_PKTS));
	ck_assert_uint_eq(r->nrows, 3);
	ck_assert_str_eq(am_census_key_fmt(AM_TOP_TALKER_PKTS, r->rows[0].key, r->rows[0].klen, k, sizeof(k)), "10.0.0.1");
	ck_assert_uint_eq(r->rows[0].count, 30);
	ck_assert_str_eq(am_census_key_fmt(AM_TOP_TALKER_PKTS, r->rows[1].key, r->rows[1].klen, k, sizeof(k)), "2001:db8::3");
	r = am_topn_report(am_census_topn(c, AM_TOP_TALKER_BYTES));
	ck_assert_str_eq(am_census_key_fmt(AM_TOP_TALKER_BYTES, r->rows[0].key, r->rows[0].klen, k, sizeof(k)), "10.0.0.2");
	ck_assert_uint_eq(r->rows[0].count, 5 * (14 + 20 + 20 + 1400));
	r = am_topn_report(am_census_topn(c, AM_TOP_SYN));
	ck_assert_uint_eq(r->nrows, 1);        /* SYN-ACKs are not SYN senders */
	ck_assert_uint_eq(r->rows[0].count, 30);
	ck_assert_str_eq(am_census_top_name(AM_TOP_SYN), "syn_senders");
	am_census_free(c);

	/* top-N off: no tables, counting still works */
	struct am_census_cfg cfg;
	am_census_cfg_default(&cfg);
	cfg.topn = 0;
	c = am_census_new(&cfg, NULL, 0);
	ck_assert_ptr_nonnull(c);
	feed(c, &f);
	ck_assert_ptr_null(am_census_topn(c, AM_TOP_SYN));
	ck_assert_uint_eq(am_census_hw_count(c, AM_HW_TCP)->packets, 1);
	am_census_free(c);
}
END_TEST

START_TEST(test_servers)
{
	struct am_census *c = mk(1, 0);
	struct am_conn conn;
	struct am_txn txn;
	char k[80];

	memset(&conn, 0, sizeof(conn));
	memset(&txn, 0, sizeof(txn));
	conn.proto = AM_IPPROTO_TCP;
	am_addr_parse("192.0.2.80", &conn.server);
	conn.server_port = 80;
	txn.status = -1;
	/* server A: 20 fast transactions, 2 of them reset */
	for (int i = 0; i < 20; i++) {
		txn.first = 1000;
		txn.outcome = i < 2 ? AM_OUT_RESET : AM_OUT_COMPLETE;
		am_census_txn(c, &conn, &txn);
	}
	/* server B (v6, port 443): 5 slow ones, one with status 503 */
	am_addr_parse("2001:db8::443", &conn.server);
	conn.server_port = 443;
	for (int i = 0; i < 5; i++) {
		txn.first = 800000;
		txn.outcome = AM_OUT_COMPLETE;
		txn.status = i == 0 ? 503 : 200;
		am_census_txn(c, &conn, &txn);
	}
	/* DNS: rcode 3 is an error, 0 is not; no `first` -> not in the p99 table */
	am_addr_parse("192.0.2.53", &conn.server);
	conn.server_port = 53;
	conn.proto = AM_IPPROTO_UDP;
	for (int i = 0; i < 3; i++) {
		txn.first = -1;
		txn.status = i == 0 ? 3 : 0;
		am_census_txn(c, &conn, &txn);
	}
	am_census_interval(c);
	const struct am_topn_report *r = am_topn_report(am_census_topn(c, AM_TOP_SRV_TXN));
	ck_assert_uint_eq(r->nrows, 3);
	ck_assert_str_eq(am_census_key_fmt(AM_TOP_SRV_TXN, r->rows[0].key, r->rows[0].klen, k, sizeof(k)), "192.0.2.80:80/tcp");
	ck_assert_uint_eq(r->rows[0].count, 20);
	r = am_topn_report(am_census_topn(c, AM_TOP_SRV_P99));
	ck_assert_uint_eq(r->nrows, 2);
	ck_assert_str_eq(am_census_key_fmt(AM_TOP_SRV_P99, r->rows[0].key, r->rows[0].klen, k, sizeof(k)), "[2001:db8::443]:443/tcp");
	ck_assert_int_ge(r->rows[0].p99, 700000);
	ck_assert_int_le(r->rows[0].p99, 900000);
	r = am_topn_report(am_census_topn(c, AM_TOP_SRV_ERR));
	ck_assert_uint_eq(r->nrows, 3);
	ck_assert_uint_eq(r->rows[0].count, 2);
	ck_assert_str_eq(am_census_key_fmt(AM_TOP_SRV_ERR, r->rows[0].key, r->rows[0].klen, k, sizeof(k)), "192.0.2.80:80/tcp");
	ck_assert_uint_eq(r->rows[1].count, 1);
	ck_assert_uint_eq(r->rows[2].count, 1);
	am_census_free(c);
}
END_TEST

START_TEST(test_print)
{
	struct am_census *c = mk(1, 0);
	struct frame f;
	char *buf = NULL;
	size_t len = 0;

	tcp_frame(&f, 0, "10.0.0.1", "192.0.2.7", 1234, 80, AM_TH_SYN, 0, 0, 0);
	feed(c, &f);
	am_census_interval(c);
	for (int fmt = 0; fmt < 3; fmt++) {
		FILE *fp = open_memstream(&buf, &len);
		am_census_print(c, fp, fmt);
		am_census_print_topn(c, fp, fmt);
		fclose(fp);
		switch (fmt) {
		case AM_CENSUS_CSV:
			ck_assert_msg(strncmp(buf, "set,label,packets,bytes\nsvc,http,1,54\n", 38) == 0, "%s", buf);
			ck_assert_ptr_nonnull(strstr(buf, "\nhw.cast,unicast,1,54\n"));
			ck_assert_ptr_nonnull(strstr(buf, "\nhw.size,le64,1,54\n"));
			ck_assert_ptr_nonnull(strstr(buf, "\ntable,rank,key,count,error,p99_us,guaranteed\n"));
			ck_assert_ptr_nonnull(strstr(buf, "\nsyn_senders,1,10.0.0.1,1,0,,1\n"));
			break;
		case AM_CENSUS_JSON:
			ck_assert_msg(strncmp(buf, "{\"set\":\"svc\",\"label\":\"http\",\"packets\":1,\"bytes\":54}\n", 52) == 0, "%s", buf);
			ck_assert_ptr_nonnull(strstr(buf, "{\"table\":\"talkers_bytes\",\"rank\":1,\"key\":\"10.0.0.1\",\"count\":54,\"error\":0,\"p99_us\":null,\"guaranteed\":true}\n"));
			break;
		default:
			ck_assert_ptr_nonnull(strstr(buf, "hw.l4"));
			ck_assert_ptr_nonnull(strstr(buf, "talkers_packets"));
			break;
		}
		free(buf);
		buf = NULL;
	}
	am_census_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("census");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_spec_parse);
	tcase_add_test(tc, test_compile_error);
	tcase_add_test(tc, test_filters_match_libpcap);
	tcase_add_test(tc, test_mutations_verify);
	tcase_add_test(tc, test_hardwired);
	tcase_add_test(tc, test_talkers_and_syn);
	tcase_add_test(tc, test_servers);
	tcase_add_test(tc, test_print);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
