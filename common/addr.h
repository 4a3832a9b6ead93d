/* IPv4/IPv6 addresses as plain values. */
#ifndef AM_ADDR_H
#define AM_ADDR_H

#include <stdint.h>
#include <stddef.h>

#define AM_AF_INET  4
#define AM_AF_INET6 6

/* An address: family 4 uses a[0..3], family 6 all 16 bytes; unused bytes are zero,
 * so two addresses compare equal with memcmp. */
struct am_addr {
	uint8_t family;
	uint8_t a[16];
};

#define AM_ADDRSTRLEN 46

/* Writes the textual form (inet_ntop) into buf, returns buf. */
const char *am_addr_fmt(const struct am_addr *addr, char *buf, size_t len);
/* Parses an IPv4 or IPv6 literal; 0 on success, -1 on error. */
int am_addr_parse(const char *s, struct am_addr *out);
int am_addr_cmp(const struct am_addr *x, const struct am_addr *y);
/* Keeps the first `bits` bits (prefix length). */
void am_addr_mask(struct am_addr *addr, unsigned bits);
/* 1 if addr is inside net/bits (same family). */
int am_addr_in_prefix(const struct am_addr *addr, const struct am_addr *net, unsigned bits);

#endif
