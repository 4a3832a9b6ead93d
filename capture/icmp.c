/* ICMP and ICMPv6 error messages. */
#include "config.h"
#include "capture/icmp.h"

#include <string.h>

static const char *const kind_names[AM_ICMP__KINDS] = {
	[AM_ICMP_UNREACHABLE] = "unreachable",
	[AM_ICMP_SOURCE_QUENCH] = "source_quench",
	[AM_ICMP_REDIRECT] = "redirect",
	[AM_ICMP_TIME_EXCEEDED] = "time_exceeded",
	[AM_ICMP_PARAMETER] = "parameter_problem",
	[AM_ICMP_CONVERSION] = "conversion_error",
	[AM_ICMP_OTHER] = "other",
};

const char *
am_icmp_kind_name(enum am_icmp_kind k)
{
	return (unsigned)k < AM_ICMP__KINDS ? kind_names[k] : "unknown";
}

static int
kind_of(int v6, uint8_t type, enum am_icmp_kind *k)
{
	if (!v6) {
		switch (type) {
		case 3: *k = AM_ICMP_UNREACHABLE; return 1;
		case 4: *k = AM_ICMP_SOURCE_QUENCH; return 1;
		case 5: *k = AM_ICMP_REDIRECT; return 1;
		case 11: *k = AM_ICMP_TIME_EXCEEDED; return 1;
		case 12: *k = AM_ICMP_PARAMETER; return 1;
		case 31: *k = AM_ICMP_CONVERSION; return 1;
		default: return 0;
		}
	}
	switch (type) {
	case 1: *k = AM_ICMP_UNREACHABLE; return 1;
	case 2: *k = AM_ICMP_OTHER; return 1;          /* packet too big */
	case 3: *k = AM_ICMP_TIME_EXCEEDED; return 1;
	case 4: *k = AM_ICMP_PARAMETER; return 1;
	default: return 0;
	}
}

int
am_icmp_parse(const struct am_packet *p, struct am_icmp_err *e)
{
	const uint8_t *b = p->payload;
	uint32_t n = p->payload_len;
	int v6 = p->proto == 58;

	if ((p->proto != 1 && p->proto != 58) || b == NULL || n < 8)
		return 0;
	memset(e, 0, sizeof(*e));
	e->type = b[0];
	e->code = b[1];
	if (!kind_of(v6, e->type, &e->kind))
		return 0;
	/* The returned packet starts after the 8-byte ICMP header. */
	b += 8;
	n -= 8;
	uint32_t l4;
	if (!v6) {
		if (n < 20 || (b[0] >> 4) != 4)
			return 0;
		uint32_t hl = (uint32_t)(b[0] & 0x0f) * 4;
		if (hl < 20 || hl > n)
			return 0;
		e->inner_proto = b[9];
		e->inner_src.family = e->inner_dst.family = AM_AF_INET;
		memcpy(e->inner_src.a, b + 12, 4);
		memcpy(e->inner_dst.a, b + 16, 4);
		l4 = hl;
		if ((b[6] & 0x1f) != 0 || b[7] != 0)
			return 1;            /* a non-first fragment: no ports */
	} else {
		if (n < 40 || (b[0] >> 4) != 6)
			return 0;
		e->inner_proto = b[6];
		e->inner_src.family = e->inner_dst.family = AM_AF_INET6;
		memcpy(e->inner_src.a, b + 8, 16);
		memcpy(e->inner_dst.a, b + 24, 16);
		l4 = 40;
	}
	if ((e->inner_proto == 6 || e->inner_proto == 17) && n >= l4 + 4) {
		e->inner_sport = (uint16_t)(b[l4] << 8 | b[l4 + 1]);
		e->inner_dport = (uint16_t)(b[l4 + 2] << 8 | b[l4 + 3]);
	}
	return 1;
}
