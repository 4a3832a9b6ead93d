/* Decoder tests: every field, every link type, every malformation, and
 * every fixture truncated at every length. */
#include "config.h"
#include "capture/decode.h"
#include "capture/icmp.h"
#include "tests/pktbuild.h"

#include <check.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

static size_t
basic(uint8_t *buf, size_t len, int v6, int vlan, int ext, int opts)
{
	struct pb_tcp t = {
		.v6 = v6, .src = v6 ? "2001:db8::1" : "10.0.0.1", .dst = v6 ? "2001:db8::2" : "10.0.0.2",
		.sport = 40000, .dport = 80, .seq = 1000, .ack = 2000, .flags = 0x18,
		.mss = 1460, .wscale = 7, .payload = req, .plen = sizeof(req) - 1,
		.vlan = vlan, .v6_ext = ext, .ip_options = opts,
	};
	return pb_tcp_frame(&t, buf, len);
}

START_TEST(test_ipv4_tcp)
{
	uint8_t f[2048];
	struct am_packet p;
	size_t n = basic(f, sizeof(f), 0, 0, 0, 0);

	ck_assert_int_eq(am_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), AM_DEC_OK);
	ck_assert_int_eq(p.proto, AM_IPPROTO_TCP);
	ck_assert_int_eq(p.src.family, AM_AF_INET);
	ck_assert_int_eq(p.src.a[0], 10);
	ck_assert_int_eq(p.src.a[3], 1);
	ck_assert_int_eq(p.dst.a[3], 2);
	ck_assert_int_eq(p.sport, 40000);
	ck_assert_int_eq(p.dport, 80);
	ck_assert_uint_eq(p.seq, 1000);
	ck_assert_uint_eq(p.ack, 2000);
	ck_assert_int_eq(p.tcp_flags, 0x18);
	ck_assert_int_eq(p.mss, 1460);
	ck_assert_int_eq(p.wscale, 7);
	ck_assert_uint_eq(p.seg_len, sizeof(req) - 1);
	ck_assert_uint_eq(p.payload_len, sizeof(req) - 1);
	ck_assert(memcmp(p.payload, req, sizeof(req) - 1) == 0);
}
END_TEST

START_TEST(test_ipv4_options_and_vlans)
{
	uint8_t f[2048];
	struct am_packet p;

	for (int vlan = 0; vlan <= 2; vlan++) {
		size_t n = basic(f, sizeof(f), 0, vlan, 0, 1);
		ck_assert_int_eq(am_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), AM_DEC_OK);
		ck_assert_int_eq(p.dport, 80);
		ck_assert_uint_eq(p.payload_len, sizeof(req) - 1);
	}
}
END_TEST

START_TEST(test_ipv6_ext)
{
	uint8_t f[2048];
	struct am_packet p;

	for (int ext = 0; ext <= 1; ext++) {
		size_t n = basic(f, sizeof(f), 1, 0, ext, 0);
		ck_assert_int_eq(am_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), AM_DEC_OK);
		ck_assert_int_eq(p.src.family, AM_AF_INET6);
		ck_assert_int_eq(p.src.a[0], 0x20);
		ck_assert_int_eq(p.src.a[15], 1);
		ck_assert_int_eq(p.sport, 40000);
		ck_assert_uint_eq(p.payload_len, sizeof(req) - 1);
	}
}
END_TEST

/* Rewrites an Ethernet frame into another link type. */
static size_t
relink(const uint8_t *eth, size_t n, int dlt, uint8_t *out)
{
	uint16_t type = (uint16_t)(eth[12] << 8 | eth[13]);
	const uint8_t *ipb = eth + 14;
	size_t iplen = n - 14;

	switch (dlt) {
	case DLT_LINUX_SLL:
		memset(out, 0, 16);
		out[14] = (uint8_t)(type >> 8);
		out[15] = (uint8_t)type;
		memcpy(out + 16, ipb, iplen);
		return 16 + iplen;
	case 276: /* SLL2 */
		memset(out, 0, 20);
		out[0] = (uint8_t)(type >> 8);
		out[1] = (uint8_t)type;
		memcpy(out + 20, ipb, iplen);
		return 20 + iplen;
	case DLT_NULL:
		out[0] = type == 0x0800 ? 2 : 30;   /* little-endian writer */
		out[1] = out[2] = out[3] = 0;
		memcpy(out + 4, ipb, iplen);
		return 4 + iplen;
	case DLT_LOOP:
		out[0] = out[1] = out[2] = 0;
		out[3] = type == 0x0800 ? 2 : 24;
		memcpy(out + 4, ipb, iplen);
		return 4 + iplen;
	case DLT_RAW:
		memcpy(out, ipb, iplen);
		return iplen;
	}
	return 0;
}

START_TEST(test_linktypes)
{
	static const int dlts[] = { DLT_LINUX_SLL, 276, DLT_NULL, DLT_LOOP, DLT_RAW };
	uint8_t f[2048], g[2048];
	struct am_packet p;

	for (int v6 = 0; v6 <= 1; v6++) {
		size_t n = basic(f, sizeof(f), v6, 0, 0, 0);
		for (size_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++) {
			size_t m = relink(f, n, dlts[i], g);
			ck_assert_msg(am_decode(dlts[i], g, (uint32_t)m, (uint32_t)m, &p) == AM_DEC_OK,
			    "dlt %d v6 %d", dlts[i], v6);
			ck_assert_int_eq(p.dport, 80);
			ck_assert_int_eq(p.src.family, v6 ? AM_AF_INET6 : AM_AF_INET);
			ck_assert_uint_eq(p.payload_len, sizeof(req) - 1);
		}
	}
	ck_assert_int_eq(am_decode(147, f, 60, 60, &p), AM_DEC_SKIP_LINKTYPE);
}
END_TEST

/* Every prefix of every fixture: the decoder never reads past it (ASan
 * checks that: each prefix is its own allocation), and the outcome is
 * "truncated" until the headers are complete, then OK with a shorter
 * captured payload. */
START_TEST(test_truncation_every_length)
{
	uint8_t f[2048];
	struct am_packet p;

	for (int variant = 0; variant < 6; variant++) {
		size_t n = basic(f, sizeof(f), variant & 1, variant == 2 ? 2 : 0, variant == 3, variant == 4);
		size_t hdr = n - (sizeof(req) - 1);
		for (size_t len = 0; len <= n; len++) {
			uint8_t *cut = malloc(len ? len : 1);
			memcpy(cut, f, len);
			enum am_dec r = am_decode(DLT_EN10MB, cut, (uint32_t)len, (uint32_t)n, &p);
			if (len < hdr) {
				ck_assert_msg(r >= AM_DEC_TRUNC_LINK && r <= AM_DEC_TRUNC_UDP,
				    "variant %d len %zu: %s", variant, len, am_dec_name(r));
			} else {
				ck_assert_msg(r == AM_DEC_OK, "variant %d len %zu: %s", variant, len, am_dec_name(r));
				ck_assert_uint_eq(p.payload_len, len - hdr);
				ck_assert_uint_eq(p.seg_len, sizeof(req) - 1);
			}
			free(cut);
		}
	}
}
END_TEST

START_TEST(test_malformed)
{
	uint8_t f[2048], g[2048];
	struct am_packet p;
	size_t n = basic(f, sizeof(f), 0, 0, 0, 0);

	memcpy(g, f, n);
	g[14] = 0x44;                        /* IHL 4 */
	ck_assert_int_eq(am_decode(DLT_EN10MB, g, (uint32_t)n, (uint32_t)n, &p), AM_DEC_BAD_IPHDRLEN);
	memcpy(g, f, n);
	g[14] = 0x55;                        /* version 5 */
	ck_assert_int_eq(am_decode(DLT_EN10MB, g, (uint32_t)n, (uint32_t)n, &p), AM_DEC_BAD_IPVERSION);
	memcpy(g, f, n);
	g[16] = 0x10;                        /* total length 4096 > frame */
	ck_assert_int_eq(am_decode(DLT_EN10MB, g, (uint32_t)n, (uint32_t)n, &p), AM_DEC_BAD_IPLEN);
	memcpy(g, f, n);
	g[14 + 20 + 12] = 0x40;              /* TCP data offset 4 words */
	ck_assert_int_eq(am_decode(DLT_EN10MB, g, (uint32_t)n, (uint32_t)n, &p), AM_DEC_BAD_TCPHDRLEN);
	memcpy(g, f, n);
	g[14 + 20 + 12] = 0xf0;              /* TCP header 60 bytes > segment */
	ck_assert_int_eq(am_decode(DLT_EN10MB, g, (uint32_t)n, (uint32_t)n, &p), AM_DEC_BAD_TCPHDRLEN);
	memcpy(g, f, n);
	g[14 + 20 + 21] = 40;                /* MSS option claims 40 bytes */
	ck_assert_int_eq(am_decode(DLT_EN10MB, g, (uint32_t)n, (uint32_t)n, &p), AM_DEC_BAD_TCPOPT);
	memcpy(g, f, n);
	g[14 + 6] = 0x20;                    /* more fragments */
	ck_assert_int_eq(am_decode(DLT_EN10MB, g, (uint32_t)n, (uint32_t)n, &p), AM_DEC_SKIP_FRAGMENT);
	memcpy(g, f, n);
	g[14 + 9] = 1;                       /* ICMP */
	ck_assert_int_eq(am_decode(DLT_EN10MB, g, (uint32_t)n, (uint32_t)n, &p), AM_DEC_SKIP_OTHER_L4);
	memcpy(g, f, n);
	g[12] = 0x08;
	g[13] = 0x06;                        /* ARP */
	ck_assert_int_eq(am_decode(DLT_EN10MB, g, (uint32_t)n, (uint32_t)n, &p), AM_DEC_SKIP_NOT_IP);
}
END_TEST

START_TEST(test_padding_and_udp)
{
	uint8_t f[2048];
	struct am_packet p;
	struct pb_tcp t = { .src = "10.0.0.1", .dst = "10.0.0.2", .sport = 1, .dport = 2,
		.flags = 0x10, .wscale = -1 };
	size_t n = pb_tcp_frame(&t, f, sizeof(f));

	/* A bare ACK padded to the Ethernet minimum: the padding is no payload. */
	ck_assert_uint_eq(n, 54);
	memset(f + n, 0xee, 6);
	ck_assert_int_eq(am_decode(DLT_EN10MB, f, 60, 60, &p), AM_DEC_OK);
	ck_assert_uint_eq(p.seg_len, 0);
	ck_assert_uint_eq(p.payload_len, 0);

	static const uint8_t q[12] = { 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	n = pb_udp_frame(0, "10.0.0.1", "10.0.0.53", 5353, 53, q, sizeof(q), f, sizeof(f));
	ck_assert_int_eq(am_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), AM_DEC_OK);
	ck_assert_int_eq(p.proto, AM_IPPROTO_UDP);
	ck_assert_int_eq(p.dport, 53);
	ck_assert_uint_eq(p.payload_len, sizeof(q));
	f[14 + 20 + 5] = 200;                /* UDP length beyond IP */
	ck_assert_int_eq(am_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), AM_DEC_BAD_UDPLEN);
	for (size_t len = 0; len < n; len++) {
		uint8_t *cut = malloc(len ? len : 1);
		memcpy(cut, f, len);
		(void)am_decode(DLT_EN10MB, cut, (uint32_t)len, (uint32_t)n, &p);
		free(cut);
	}
}
END_TEST

START_TEST(test_counting)
{
	uint8_t f[2048];
	struct am_packet p;
	struct am_decode_stats st;
	size_t n = basic(f, sizeof(f), 0, 0, 0, 0);

	memset(&st, 0, sizeof(st));
	am_decode_count(&st, DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p);
	am_decode_count(&st, DLT_EN10MB, f, 20, (uint32_t)n, &p);
	am_decode_count(&st, DLT_EN10MB, f, 40, (uint32_t)n, &p);
	ck_assert_uint_eq(st.packets, 3);
	ck_assert_uint_eq(st.reason[AM_DEC_OK], 1);
	ck_assert_uint_eq(st.reason[AM_DEC_TRUNC_IP], 1);
	ck_assert_uint_eq(st.reason[AM_DEC_TRUNC_TCP], 1);
	ck_assert_uint_eq(am_decode_malformed(&st), 2);
	ck_assert_str_eq(am_dec_name(AM_DEC_TRUNC_TCP), "trunc_tcp");
}
END_TEST

/* An ICMP port unreachable returning a UDP datagram sent to 10.0.0.53:53. */
START_TEST(test_icmp_error)
{
	uint8_t f[128];
	struct am_packet p;
	struct am_icmp_err ie;
	static const uint8_t frame[] = {
		0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00,
		0x45, 0, 0, 56, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 53, 10, 0, 0, 1,       /* IP, ICMP */
		3, 3, 0, 0, 0, 0, 0, 0,                                                /* unreachable/port */
		0x45, 0, 0, 40, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 53,      /* returned IP */
		0xc3, 0x50, 0, 53, 0, 20, 0, 0,                                         /* returned UDP */
	};
	size_t n = sizeof(frame);

	memcpy(f, frame, n);
	ck_assert_int_eq(am_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), AM_DEC_SKIP_OTHER_L4);
	ck_assert_int_eq(p.proto, 1);
	ck_assert_int_eq(am_icmp_parse(&p, &ie), 1);
	ck_assert_int_eq(ie.kind, AM_ICMP_UNREACHABLE);
	ck_assert_int_eq(ie.code, 3);
	ck_assert_int_eq(ie.inner_proto, 17);
	ck_assert_int_eq(ie.inner_dst.a[3], 53);
	ck_assert_int_eq(ie.inner_dport, 53);
	ck_assert_int_eq(ie.inner_sport, 50000);
	/* every truncation: never read past the capture, never a wrong answer */
	for (size_t len = 0; len < n; len++) {
		uint8_t *cut = malloc(len ? len : 1);
		memcpy(cut, frame, len);
		if (am_decode(DLT_EN10MB, cut, (uint32_t)len, (uint32_t)n, &p) == AM_DEC_SKIP_OTHER_L4 &&
		    am_icmp_parse(&p, &ie) == 1 && ie.inner_dport != 0)
			ck_assert_int_eq(ie.inner_dport, 53);
		free(cut);
	}
	/* an echo request is no error */
	f[14 + 20] = 8;
	ck_assert_int_eq(am_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, &p), AM_DEC_SKIP_OTHER_L4);
	ck_assert_int_eq(am_icmp_parse(&p, &ie), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, test_ipv4_tcp);
	tcase_add_test(tc, test_ipv4_options_and_vlans);
	tcase_add_test(tc, test_ipv6_ext);
	tcase_add_test(tc, test_linktypes);
	tcase_add_test(tc, test_truncation_every_length);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_padding_and_udp);
	tcase_add_test(tc, test_counting);
	tcase_add_test(tc, test_icmp_error);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
