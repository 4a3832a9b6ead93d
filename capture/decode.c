/* Bounds-checked decoding of captured frames.
 *
 * Every read goes through the cursor getters below, which fail rather than
 * read past the captured bytes.  Each layer narrows the cursor to its own
 * length before handing on.  Truncated (the capture stopped early) and
 * invalid (the header contradicts itself) are different outcomes. */
#include "config.h"
#include "capture/decode.h"

#include <pcap/pcap.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

static const char *const dec_names[AM_DEC__COUNT] = {
	[AM_DEC_OK] = "ok",
	[AM_DEC_SKIP_NOT_IP] = "not_ip",
	[AM_DEC_SKIP_FRAGMENT] = "fragment",
	[AM_DEC_SKIP_OTHER_L4] = "other_l4",
	[AM_DEC_SKIP_LINKTYPE] = "linktype",
	[AM_DEC_TRUNC_LINK] = "trunc_link",
	[AM_DEC_TRUNC_IP] = "trunc_ip",
	[AM_DEC_TRUNC_IPEXT] = "trunc_ipext",
	[AM_DEC_TRUNC_TCP] = "trunc_tcp",
	[AM_DEC_TRUNC_UDP] = "trunc_udp",
	[AM_DEC_BAD_IPVERSION] = "bad_ipversion",
	[AM_DEC_BAD_IPHDRLEN] = "bad_iphdrlen",
	[AM_DEC_BAD_IPLEN] = "bad_iplen",
	[AM_DEC_BAD_IPEXT] = "bad_ipext",
	[AM_DEC_BAD_TCPHDRLEN] = "bad_tcphdrlen",
	[AM_DEC_BAD_TCPOPT] = "bad_tcpopt",
	[AM_DEC_BAD_UDPLEN] = "bad_udplen",
};

const char *
am_dec_name(enum am_dec r)
{
	if ((unsigned)r >= AM_DEC__COUNT)
		return "unknown";
	return dec_names[r];
}

/* A window on captured bytes: [p, p + len).  `wire` is how many bytes the
 * layer really had on the wire (>= len), to tell truncation from damage. */
struct cur {
	const uint8_t *p;
	uint32_t len;
	uint32_t wire;
};

static inline int
get8(const struct cur *c, uint32_t off, uint8_t *v)
{
	if (off >= c->len)
		return 0;
	*v = c->p[off];
	return 1;
}

static inline int
get16(const struct cur *c, uint32_t off, uint16_t *v)
{
	if (c->len < 2 || off > c->len - 2)
		return 0;
	*v = (uint16_t)(c->p[off] << 8 | c->p[off + 1]);
	return 1;
}

static inline int
get16le(const struct cur *c, uint32_t off, uint16_t *v)
{
	if (c->len < 2 || off > c->len - 2)
		return 0;
	*v = (uint16_t)(c->p[off + 1] << 8 | c->p[off]);
	return 1;
}

static inline int
get32(const struct cur *c, uint32_t off, uint32_t *v)
{
	if (c->len < 4 || off > c->len - 4)
		return 0;
	*v = (uint32_t)c->p[off] << 24 | (uint32_t)c->p[off + 1] << 16 |
	    (uint32_t)c->p[off + 2] << 8 | c->p[off + 3];
	return 1;
}

static inline int
getbytes(const struct cur *c, uint32_t off, uint32_t n, uint8_t *dst)
{
	if (n > c->len || off > c->len - n)
		return 0;
	memcpy(dst, c->p + off, n);
	return 1;
}

/* Moves the window forward by n bytes (n <= len checked by the caller's get). */
static inline int
skip(struct cur *c, uint32_t n)
{
	if (n > c->len)
		return 0;
	c->p += n;
	c->len -= n;
	c->wire = c->wire >= n ? c->wire - n : 0;
	return 1;
}

/* Limits the window to n bytes (the layer's own length). */
static inline void
narrow(struct cur *c, uint32_t n)
{
	if (c->len > n)
		c->len = n;
	c->wire = n;
}

#define ETHERTYPE_IP     0x0800
#define ETHERTYPE_IPV6   0x86dd
#define ETHERTYPE_VLAN   0x8100
#define ETHERTYPE_QINQ   0x88a8
#define ETHERTYPE_QINQ9  0x9100

static enum am_dec decode_ip(struct cur *c, struct am_packet *pkt);

static enum am_dec
decode_ethertype(struct cur *c, uint16_t type, struct am_packet *pkt)
{
	switch (type) {
	case ETHERTYPE_IP:
	case ETHERTYPE_IPV6:
		return decode_ip(c, pkt);
	default:
		return AM_DEC_SKIP_NOT_IP;
	}
}

static enum am_dec
decode_ether(struct cur *c, struct am_packet *pkt)
{
	uint16_t type;

	if (!get16(c, 12, &type))
		return AM_DEC_TRUNC_LINK;
	if (!skip(c, 14))
		return AM_DEC_TRUNC_LINK;
	/* 802.1Q, 802.1ad and stacked tags; a bound keeps hostile stacks short. */
	for (int depth = 0; type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ9; depth++) {
		if (depth >= 4)
			return AM_DEC_SKIP_NOT_IP;
		if (!get16(c, 2, &type) || !skip(c, 4))
			return AM_DEC_TRUNC_LINK;
	}
	return decode_ethertype(c, type, pkt);
}

static enum am_dec
decode_sll(struct cur *c, struct am_packet *pkt)
{
	uint16_t type;

	/* Linux cooked v1: 16 bytes, protocol at 14. */
	if (!get16(c, 14, &type) || !skip(c, 16))
		return AM_DEC_TRUNC_LINK;
	return decode_ethertype(c, type, pkt);
}

static enum am_dec
decode_sll2(struct cur *c, struct am_packet *pkt)
{
	uint16_t type;

	/* Linux cooked v2: 20 bytes, protocol first. */
	if (!get16(c, 0, &type) || !skip(c, 20))
		return AM_DEC_TRUNC_LINK;
	return decode_ethertype(c, type, pkt);
}

static enum am_dec
decode_null(struct cur *c, struct am_packet *pkt, int loop)
{
	uint32_t fam;
	uint16_t lo;

	/* DLT_LOOP: network byte order.  DLT_NULL: the writer's byte order, so
	 * a value whose low half is zero when read big-endian was little-endian.
	 * AF_INET is 2 everywhere; AF_INET6 is 10, 24, 28 or 30 depending on OS. */
	if (!get32(c, 0, &fam) || !get16le(c, 0, &lo))
		return AM_DEC_TRUNC_LINK;
	if (!loop && (fam & 0xffff) == 0)
		fam = lo;
	if (!skip(c, 4))
		return AM_DEC_TRUNC_LINK;
	switch (fam) {
	case 2:
	case 10: case 24: case 28: case 30:
		return decode_ip(c, pkt);
	default:
		return AM_DEC_SKIP_NOT_IP;
	}
}

static enum am_dec
decode_tcp(struct cur *c, struct am_packet *pkt)
{
	uint8_t off_byte, flags;
	uint16_t win;

	if (!get16(c, 0, &pkt->sport) || !get16(c, 2, &pkt->dport) ||
	    !get32(c, 4, &pkt->seq) || !get32(c, 8, &pkt->ack) ||
	    !get8(c, 12, &off_byte) || !get8(c, 13, &flags) || !get16(c, 14, &win)) {
		return c->wire < 20 ? AM_DEC_BAD_TCPHDRLEN : AM_DEC_TRUNC_TCP;
	}
	uint32_t hlen = (uint32_t)(off_byte >> 4) * 4;
	if (hlen < 20 || hlen > c->wire)
		return AM_DEC_BAD_TCPHDRLEN;
	if (hlen > c->len)
		return AM_DEC_TRUNC_TCP;
	pkt->proto = AM_IPPROTO_TCP;
	pkt->tcp_flags = flags & 0x3f;
	pkt->win = win;
	pkt->mss = 0;
	pkt->wscale = 0xff;

	/* Options: only MSS and window scale matter here. */
	struct cur o = { c->p + 20, hlen - 20, hlen - 20 };
	uint32_t i = 0;
	while (i < o.len) {
		uint8_t kind, olen;
		if (!get8(&o, i, &kind))
			break;
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (!get8(&o, i + 1, &olen) || olen < 2 || olen > o.len - i)
			return AM_DEC_BAD_TCPOPT;
		if (kind == 2 && olen == 4) {
			uint16_t mss;
			if (get16(&o, i + 2, &mss))
				pkt->mss = mss;
		} else if (kind == 3 && olen == 3) {
			uint8_t ws;
			if (get8(&o, i + 2, &ws))
				pkt->wscale = ws > 14 ? 14 : ws;
		}
		i += olen;
	}
	pkt->seg_len = c->wire - hlen;
	skip(c, hlen);
	pkt->payload = c->p;
	pkt->payload_len = c->len < pkt->seg_len ? c->len : pkt->seg_len;
	return AM_DEC_OK;
}

static enum am_dec
decode_udp(struct cur *c, struct am_packet *pkt)
{
	uint16_t ulen;

	if (!get16(c, 0, &pkt->sport) || !get16(c, 2, &pkt->dport) || !get16(c, 4, &ulen))
		return c->wire < 8 ? AM_DEC_BAD_UDPLEN : AM_DEC_TRUNC_UDP;
	if (c->len < 8)
		return AM_DEC_TRUNC_UDP;
	/* A zero length is legal only for IPv6 jumbograms; accept the IP length. */
	if (ulen != 0 && (ulen < 8 || ulen > c->wire))
		return AM_DEC_BAD_UDPLEN;
	if (ulen != 0)
		narrow(c, ulen);
	pkt->proto = AM_IPPROTO_UDP;
	pkt->tcp_flags = 0;
	pkt->seq = pkt->ack = 0;
	pkt->win = 0;
	pkt->mss = 0;
	pkt->wscale = 0xff;
	pkt->seg_len = c->wire - 8;
	skip(c, 8);
	pkt->payload = c->p;
	pkt->payload_len = c->len < pkt->seg_len ? c->len : pkt->seg_len;
	return AM_DEC_OK;
}

static enum am_dec
decode_l4(struct cur *c, uint8_t proto, struct am_packet *pkt)
{
	switch (proto) {
	case AM_IPPROTO_TCP:
		return decode_tcp(c, pkt);
	case AM_IPPROTO_UDP:
		return decode_udp(c, pkt);
	default:
		/* Not measured, but the payload is at hand for whoever wants it
		 * (ICMP errors are counted per server). */
		pkt->proto = proto;
		pkt->seg_len = c->wire;
		pkt->payload = c->p;
		pkt->payload_len = c->len;
		return AM_DEC_SKIP_OTHER_L4;
	}
}

static enum am_dec
decode_ipv4(struct cur *c, struct am_packet *pkt)
{
	uint8_t vhl, proto;
	uint16_t tot, frag;

	if (!get8(c, 0, &vhl))
		return AM_DEC_TRUNC_IP;
	uint32_t hlen = (uint32_t)(vhl & 0x0f) * 4;
	if (hlen < 20)
		return AM_DEC_BAD_IPHDRLEN;
	if (!get16(c, 2, &tot) || !get16(c, 6, &frag) || !get8(c, 9, &proto))
		return c->wire < 20 ? AM_DEC_BAD_IPLEN : AM_DEC_TRUNC_IP;
	if (tot < hlen)
		return AM_DEC_BAD_IPHDRLEN;
	if (tot > c->wire)
		return AM_DEC_BAD_IPLEN;
	if (hlen > c->len)
		return AM_DEC_TRUNC_IP;
	memset(&pkt->src, 0, sizeof(pkt->src));
	memset(&pkt->dst, 0, sizeof(pkt->dst));
	pkt->src.family = pkt->dst.family = AM_AF_INET;
	if (!getbytes(c, 12, 4, pkt->src.a) || !getbytes(c, 16, 4, pkt->dst.a))
		return AM_DEC_TRUNC_IP;
	/* More fragments, or a non-zero offset: not reassembled, skipped. */
	if ((frag & 0x3fff) != 0) {
		pkt->proto = proto;
		return AM_DEC_SKIP_FRAGMENT;
	}
	narrow(c, tot);        /* drops Ethernet padding */
	skip(c, hlen);
	return decode_l4(c, proto, pkt);
}

static enum am_dec
decode_ipv6(struct cur *c, struct am_packet *pkt)
{
	uint16_t plen;
	uint8_t next;

	if (!get16(c, 4, &plen) || !get8(c, 6, &next))
		return c->wire < 40 ? AM_DEC_BAD_IPLEN : AM_DEC_TRUNC_IP;
	if (c->wire < 40 || (uint32_t)plen > c->wire - 40)
		return AM_DEC_BAD_IPLEN;
	if (c->len < 40)
		return AM_DEC_TRUNC_IP;
	memset(&pkt->src, 0, sizeof(pkt->src));
	memset(&pkt->dst, 0, sizeof(pkt->dst));
	pkt->src.family = pkt->dst.family = AM_AF_INET6;
	if (!getbytes(c, 8, 16, pkt->src.a) || !getbytes(c, 24, 16, pkt->dst.a))
		return AM_DEC_TRUNC_IP;
	narrow(c, 40 + (uint32_t)plen);
	skip(c, 40);

	/* Extension headers, a bounded number of them. */
	for (int n = 0; n < 8; n++) {
		uint8_t nh, hl;
		uint16_t fragoff;
		switch (next) {
		case 0:    /* hop-by-hop */
		case 43:   /* routing */
		case 60:   /* destination options */
			if (!get8(c, 0, &nh) || !get8(c, 1, &hl))
				return c->wire < 2 ? AM_DEC_BAD_IPEXT : AM_DEC_TRUNC_IPEXT;
			if (((uint32_t)hl + 1) * 8 > c->wire)
				return AM_DEC_BAD_IPEXT;
			if (!skip(c, ((uint32_t)hl + 1) * 8))
				return AM_DEC_TRUNC_IPEXT;
			next = nh;
			continue;
		case 44:   /* fragment */
			if (!get8(c, 0, &nh) || !get16(c, 2, &fragoff))
				return c->wire < 8 ? AM_DEC_BAD_IPEXT : AM_DEC_TRUNC_IPEXT;
			if (c->wire < 8)
				return AM_DEC_BAD_IPEXT;
			/* An atomic fragment (offset 0, no more) is a whole packet. */
			if ((fragoff & 0xfff9) != 0) {
				pkt->proto = nh;
				return AM_DEC_SKIP_FRAGMENT;
			}
			if (!skip(c, 8))
				return AM_DEC_TRUNC_IPEXT;
			next = nh;
			continue;
		case 51:   /* authentication header: length in 4-byte units */
			if (!get8(c, 0, &nh) || !get8(c, 1, &hl))
				return c->wire < 2 ? AM_DEC_BAD_IPEXT : AM_DEC_TRUNC_IPEXT;
			if (((uint32_t)hl + 2) * 4 > c->wire)
				return AM_DEC_BAD_IPEXT;
			if (!skip(c, ((uint32_t)hl + 2) * 4))
				return AM_DEC_TRUNC_IPEXT;
			next = nh;
			continue;
		default:
			return decode_l4(c, next, pkt);
		}
	}
	return AM_DEC_BAD_IPEXT;
}

static enum am_dec
decode_ip(struct cur *c, struct am_packet *pkt)
{
	uint8_t v;

	if (!get8(c, 0, &v))
		return AM_DEC_TRUNC_IP;
	switch (v >> 4) {
	case 4:
		return decode_ipv4(c, pkt);
	case 6:
		return decode_ipv6(c, pkt);
	default:
		return AM_DEC_BAD_IPVERSION;
	}
}

enum am_dec
am_decode(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen, struct am_packet *pkt)
{
	struct cur c = { data, caplen, wirelen < caplen ? caplen : wirelen };

	pkt->cap_len = caplen;
	pkt->wire_len = wirelen;
	pkt->payload = NULL;
	pkt->payload_len = 0;
	pkt->seg_len = 0;
	pkt->proto = 0;
	switch (dlt) {
	case DLT_EN10MB:
		return decode_ether(&c, pkt);
	case DLT_LINUX_SLL:
		return decode_sll(&c, pkt);
	case DLT_LINUX_SLL2:
		return decode_sll2(&c, pkt);
	case DLT_NULL:
		return decode_null(&c, pkt, 0);
	case DLT_LOOP:
		return decode_null(&c, pkt, 1);
	case DLT_RAW:
	case 101: /* LINKTYPE_RAW, should libpcap not map it */
		return decode_ip(&c, pkt);
	case DLT_IPV4:
		return decode_ipv4(&c, pkt);
	case DLT_IPV6:
		return decode_ipv6(&c, pkt);
	default:
		return AM_DEC_SKIP_LINKTYPE;
	}
}

enum am_dec
am_decode_count(struct am_decode_stats *st, int dlt, const uint8_t *data, uint32_t caplen,
    uint32_t wirelen, struct am_packet *pkt)
{
	enum am_dec r = am_decode(dlt, data, caplen, wirelen, pkt);

	st->packets++;
	st->bytes += wirelen;
	st->reason[r]++;
	return r;
}

uint64_t
am_decode_malformed(const struct am_decode_stats *st)
{
	uint64_t n = 0;

	for (int i = AM_DEC_FIRST_MALFORMED; i < AM_DEC__COUNT; i++)
		n += st->reason[i];
	return n;
}
