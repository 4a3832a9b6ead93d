/* IPv4/IPv6 address values. */
#include "config.h"
#include "common/addr.h"

#include <arpa/inet.h>
#include <string.h>

const char *
am_addr_fmt(const struct am_addr *addr, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	if (addr->family == AM_AF_INET) {
		/* what inet_ntop writes, without its sprintf */
		char tmp[16], *p = tmp;
		for (int i = 0; i < 4; i++) {
			unsigned v = addr->a[i];
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = i < 3 ? '.' : '\0';
		}
		if ((size_t)(p - tmp) > len)
			buf[0] = '\0';
		else
			memcpy(buf, tmp, (size_t)(p - tmp));
	} else if (addr->family == AM_AF_INET6) {
		if (inet_ntop(AF_INET6, addr->a, buf, len) == NULL)
			buf[0] = '\0';
	} else {
		buf[0] = '\0';
	}
	return buf;
}

int
am_addr_parse(const char *s, struct am_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AM_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AM_AF_INET6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -1;
}

int
am_addr_cmp(const struct am_addr *x, const struct am_addr *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->a, y->a, 16);
}

void
am_addr_mask(struct am_addr *addr, unsigned bits)
{
	unsigned total = addr->family == AM_AF_INET ? 32 : 128;

	if (bits >= total)
		return;
	for (unsigned i = 0; i < total / 8; i++) {
		unsigned lo = i * 8;
		if (lo >= bits)
			addr->a[i] = 0;
		else if (lo + 8 > bits)
			addr->a[i] &= (uint8_t)(0xff << (8 - (bits - lo)));
	}
}

int
am_addr_in_prefix(const struct am_addr *addr, const struct am_addr *net, unsigned bits)
{
	struct am_addr m;

	if (addr->family != net->family)
		return 0;
	m = *addr;
	am_addr_mask(&m, bits);
	struct am_addr n = *net;
	am_addr_mask(&n, bits);
	return memcmp(m.a, n.a, 16) == 0;
}
