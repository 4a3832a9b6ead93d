/* Small helpers: time, allocation, hashing. */
#include "config.h"
#include "common/util.h"
#include "common/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

am_time_t
am_now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (am_time_t)ts.tv_sec * AM_USEC + ts.tv_nsec / 1000;
}

am_time_t
am_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (am_time_t)ts.tv_sec * AM_USEC + ts.tv_nsec / 1000;
}

const char *
am_time_fmt(am_time_t t, char *buf, size_t len)
{
	int64_t s = t / AM_USEC, us = t % AM_USEC;

	if (us < 0) {
		us += AM_USEC;
		s -= 1;
	}
	snprintf(buf, len, "%" PRId64 ".%06" PRId64, s, us);
	return buf;
}

/* Days since 1970-01-01 to civil date (proleptic Gregorian). */
static void
civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

const char *
am_time_fmt_iso(am_time_t t, char *buf, size_t len)
{
	int64_t s = t / AM_USEC, us = t % AM_USEC;
	if (us < 0) {
		us += AM_USEC;
		s -= 1;
	}
	int64_t days = s / 86400, rem = s % 86400;
	if (rem < 0) {
		rem += 86400;
		days -= 1;
	}
	int y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04d-%02u-%02uT%02u:%02u:%02u.%06uZ", y, m, d,
	    (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60), (unsigned)us);
	return buf;
}

void *
am_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return p;
}

void *
am_xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (p == NULL)
		fatalx("out of memory (%zu x %zu bytes)", n, sz);
	return p;
}

void *
am_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return q;
}

char *
am_xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		fatalx("out of memory");
	return p;
}

uint64_t
am_hash64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);

	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h ^= am_mix64(w + seed);
		h = am_rotl64(h, 27) * 0x9e3779b97f4a7c15ULL + 0x52dce729;
		p += 8;
		len -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, len);
	h ^= am_mix64(w ^ am_rotl64(seed, 17));
	return am_mix64(h);
}

uint64_t
am_random_seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
		s = (uint64_t)am_now_mono() ^ ((uint64_t)am_now_wall() << 20);
	return s | 1;
}
