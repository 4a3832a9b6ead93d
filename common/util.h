/* Small helpers shared by every part. */
#ifndef AM_UTIL_H
#define AM_UTIL_H

#include <stdint.h>
#include <stddef.h>

/* Time in microseconds since the epoch (packet time or wall time). */
typedef int64_t am_time_t;
#define AM_USEC 1000000LL

am_time_t am_now_wall(void);
am_time_t am_now_mono(void);
/* "1700000000.123456": epoch seconds with microseconds, no time zone lookup. */
const char *am_time_fmt(am_time_t t, char *buf, size_t len);
/* "2023-11-14T22:13:20.123456Z" in UTC, computed arithmetically (no tz lookup). */
const char *am_time_fmt_iso(am_time_t t, char *buf, size_t len);

/* Growable byte buffer for output. */
void *am_xmalloc(size_t n);
void *am_xcalloc(size_t n, size_t sz);
void *am_xrealloc(void *p, size_t n);
char *am_xstrdup(const char *s);

/* Seeded 64-bit hash of a byte string (not cryptographic, but keyed). */
/* The mixing steps of am_hash64, for callers that hash fixed-size keys
 * from registers (the tracker's IPv4 flows) and must agree with it. */
static inline uint64_t
am_rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t
am_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t am_hash64(const void *data, size_t len, uint64_t seed);
uint64_t am_random_seed(void);

#endif
