/* Test helper: frame builder (checksums are not computed: nothing reads them). */
#include "config.h"
#include "tests/pktbuild.h"

#include <arpa/inet.h>
#include <string.h>

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

static size_t
eth(uint8_t *b, int v6, int vlan)
{
	size_t o = 12;
	memset(b, 0, 12);
	b[0] = 0x02;
	b[6] = 0x02;
	b[11] = 1;
	for (int i = 0; i < vlan; i++) {
		put16(b + o, i == 0 && vlan > 1 ? 0x88a8 : 0x8100);
		put16(b + o + 2, (uint16_t)(100 + i));
		o += 4;
	}
	put16(b + o, v6 ? 0x86dd : 0x0800);
	return o + 2;
}

static size_t
ip(uint8_t *b, int v6, const char *src, const char *dst, uint8_t proto, size_t l4len, int ext, int opts)
{
	if (!v6) {
		size_t hl = 20 + (opts ? 8 : 0);
		memset(b, 0, hl);
		b[0] = (uint8_t)(0x40 | (hl / 4));
		put16(b + 2, (uint16_t)(hl + l4len));
		b[8] = 64;
		b[9] = proto;
		inet_pton(AF_INET, src, b + 12);
		inet_pton(AF_INET, dst, b + 16);
		if (opts) {
			memset(b + 20, 1, 7);   /* NOPs */
			b[27] = 0;              /* EOL */
		}
		return hl;
	}
	size_t extlen = ext ? 16 : 0;
	memset(b, 0, 40 + extlen);
	b[0] = 0x60;
	put16(b + 4, (uint16_t)(l4len + extlen));
	b[6] = ext ? 0 : proto;
	b[7] = 64;
	inet_pton(AF_INET6, src, b + 8);
	inet_pton(AF_INET6, dst, b + 24);
	if (ext) {
		b[40] = 60;          /* hop-by-hop -> destination options */
		b[41] = 0;           /* 8 bytes */
		b[42] = 1;           /* PadN */
		b[43] = 4;
		b[48] = proto;       /* destination options -> L4 */
		b[49] = 0;
		b[50] = 1;
		b[51] = 4;
	}
	return 40 + extlen;
}

size_t
pb_tcp_frame(const struct pb_tcp *t, uint8_t *buf, size_t len)
{
	uint8_t tcp[60 + 1500];
	size_t ol = 0;

	memset(tcp, 0, 60);
	if (t->mss) {
		tcp[20 + ol] = 2;
		tcp[21 + ol] = 4;
		put16(tcp + 22 + ol, t->mss);
		ol += 4;
	}
	if (t->wscale >= 0) {
		tcp[20 + ol] = 1;            /* NOP */
		tcp[21 + ol] = 3;
		tcp[22 + ol] = 3;
		tcp[23 + ol] = (uint8_t)t->wscale;
		ol += 4;
	}
	size_t hl = 20 + ol;
	put16(tcp, t->sport);
	put16(tcp + 2, t->dport);
	put32(tcp + 4, t->seq);
	put32(tcp + 8, t->ack);
	tcp[12] = (uint8_t)((hl / 4) << 4);
	tcp[13] = t->flags;
	put16(tcp + 14, 65535);
	size_t pl = t->plen > 1500 ? 1500 : t->plen;
	if (pl)
		memcpy(tcp + hl, t->payload, pl);
	size_t l4 = hl + pl;
	uint8_t frame[2048];
	size_t o = eth(frame, t->v6, t->vlan);
	o += ip(frame + o, t->v6, t->src, t->dst, 6, l4, t->v6_ext, t->ip_options);
	memcpy(frame + o, tcp, l4);
	o += l4;
	if (o > len)
		return 0;
	memcpy(buf, frame, o);
	return o;
}

size_t
pb_udp_frame(int v6, const char *src, const char *dst, uint16_t sport, uint16_t dport,
    const uint8_t *payload, size_t plen, uint8_t *buf, size_t len)
{
	uint8_t frame[2048];
	size_t o = eth(frame, v6, 0);

	if (plen > 1400)
		plen = 1400;
	o += ip(frame + o, v6, src, dst, 17, 8 + plen, 0, 0);
	put16(frame + o, sport);
	put16(frame + o + 2, dport);
	put16(frame + o + 4, (uint16_t)(8 + plen));
	put16(frame + o + 6, 0);
	memcpy(frame + o + 8, payload, plen);
	o += 8 + plen;
	if (o > len)
		return 0;
	memcpy(buf, frame, o);
	return o;
}
