/* ICMP and ICMPv6 error messages: which server and port they are about. */
#ifndef AM_ICMP_H
#define AM_ICMP_H

#include <stdint.h>
#include "capture/decode.h"

enum am_icmp_kind {
	AM_ICMP_UNREACHABLE = 0,   /* destination unreachable (v4 type 3, v6 type 1) */
	AM_ICMP_SOURCE_QUENCH,     /* v4 type 4 */
	AM_ICMP_REDIRECT,          /* v4 type 5 */
	AM_ICMP_TIME_EXCEEDED,     /* v4 type 11, v6 type 3 */
	AM_ICMP_PARAMETER,         /* parameter problem: v4 type 12, v6 type 4 */
	AM_ICMP_CONVERSION,        /* v4 type 31 (conversion error) */
	AM_ICMP_OTHER,             /* other errors (v6 packet too big, ...) */
	AM_ICMP__KINDS
};
const char *am_icmp_kind_name(enum am_icmp_kind k);

/* An error message and the packet it returns. */
struct am_icmp_err {
	enum am_icmp_kind kind;
	uint8_t type, code;
	uint8_t inner_proto;       /* protocol of the returned packet */
	struct am_addr inner_src, inner_dst;
	uint16_t inner_sport, inner_dport;   /* 0 when not TCP/UDP or not captured */
};

/* p: a packet the decoder skipped as AM_DEC_SKIP_OTHER_L4 with proto 1 or
 * 58.  Returns 1 and fills e for an error message whose returned IP header
 * was captured, 0 otherwise (echo, neighbour discovery, truncated...).
 * Bounds-checked like the decoder. */
int am_icmp_parse(const struct am_packet *p, struct am_icmp_err *e);

#endif
