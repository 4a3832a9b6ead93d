/* Test helper: builds frames (Ethernet, IPv4/IPv6, TCP/UDP) in memory. */
#ifndef AM_PKTBUILD_H
#define AM_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>

struct pb_tcp {
	int v6;
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t mss;              /* 0: no option */
	int wscale;                /* -1: no option */
	const uint8_t *payload;
	size_t plen;
	int vlan;                  /* number of 802.1Q tags (0-2) */
	int v6_ext;                /* IPv6: add hop-by-hop + destination options */
	int ip_options;            /* IPv4: add 8 bytes of options (NOPs + EOL) */
};

/* Writes an Ethernet frame into buf; returns its length. */
size_t pb_tcp_frame(const struct pb_tcp *t, uint8_t *buf, size_t len);
/* Same, UDP. */
size_t pb_udp_frame(int v6, const char *src, const char *dst, uint16_t sport, uint16_t dport,
    const uint8_t *payload, size_t plen, uint8_t *buf, size_t len);

#endif
