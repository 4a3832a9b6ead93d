/* Bounds-checked packet decoding: link layer -> IPv4/IPv6 -> TCP/UDP.
 * Nothing here reads past the captured bytes. */
#ifndef AM_DECODE_H
#define AM_DECODE_H

#include <stdint.h>
#include "common/addr.h"
#include "common/util.h"

/* Outcome of decoding one packet.  AM_DEC_OK packets are handed on; the
 * "skip" reasons are normal traffic we do not measure; the others are
 * malformed (truncated or invalid) and counted as such. */
enum am_dec {
	AM_DEC_OK = 0,
	/* skipped, not malformed */
	AM_DEC_SKIP_NOT_IP,      /* ARP, LLDP, ... */
	AM_DEC_SKIP_FRAGMENT,    /* IPv4 or IPv6 fragment */
	AM_DEC_SKIP_OTHER_L4,    /* ICMP, SCTP, ESP, ... */
	AM_DEC_SKIP_LINKTYPE,    /* unsupported link type */
	/* truncated: the capture stopped before a header ended */
	AM_DEC_TRUNC_LINK,
	AM_DEC_TRUNC_IP,
	AM_DEC_TRUNC_IPEXT,
	AM_DEC_TRUNC_TCP,
	AM_DEC_TRUNC_UDP,
	/* invalid: the header contradicts itself or the frame */
	AM_DEC_BAD_IPVERSION,
	AM_DEC_BAD_IPHDRLEN,
	AM_DEC_BAD_IPLEN,
	AM_DEC_BAD_IPEXT,
	AM_DEC_BAD_TCPHDRLEN,
	AM_DEC_BAD_TCPOPT,
	AM_DEC_BAD_UDPLEN,
	AM_DEC__COUNT
};

#define AM_DEC_FIRST_MALFORMED AM_DEC_TRUNC_LINK

const char *am_dec_name(enum am_dec r);   /* "trunc_tcp", "bad_iplen", ... */

#define AM_TH_FIN 0x01
#define AM_TH_SYN 0x02
#define AM_TH_RST 0x04
#define AM_TH_PSH 0x08
#define AM_TH_ACK 0x10
#define AM_TH_URG 0x20

#define AM_IPPROTO_TCP 6
#define AM_IPPROTO_UDP 17

struct am_packet {
	am_time_t ts;            /* microseconds since the epoch */
	uint32_t wire_len;       /* frame length on the wire */
	uint32_t cap_len;        /* bytes captured */
	uint8_t proto;           /* AM_IPPROTO_TCP or AM_IPPROTO_UDP */
	uint8_t tcp_flags;
	uint8_t wscale;          /* TCP window scale option, 0xff when absent */
	uint8_t source;          /* index of the capture source */
	struct am_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t win;
	uint16_t mss;            /* TCP MSS option, 0 when absent */
	uint32_t seg_len;        /* L4 payload length according to the IP header */
	uint32_t payload_len;    /* payload bytes actually captured (<= seg_len) */
	const uint8_t *payload;
};

struct am_decode_stats {
	uint64_t packets;
	uint64_t bytes;          /* wire bytes */
	uint64_t reason[AM_DEC__COUNT];
};

/* Decodes one frame of link type `dlt` (a pcap DLT_ value).  Fills *pkt (its
 * payload points into data) and returns AM_DEC_OK, or the reason it skipped. */
enum am_dec am_decode(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
    struct am_packet *pkt);

/* Decodes and counts into stats. */
enum am_dec am_decode_count(struct am_decode_stats *st, int dlt, const uint8_t *data,
    uint32_t caplen, uint32_t wirelen, struct am_packet *pkt);

uint64_t am_decode_malformed(const struct am_decode_stats *st);

#endif
