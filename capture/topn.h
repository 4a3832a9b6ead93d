/* Heavy-hitter top-N tables with bounded memory (weighted Space-Saving).
 *
 * A table holds `capacity` counters, allocated once at creation; nothing is
 * allocated per update.  Keys are opaque byte strings of at most
 * AM_TOPN_KEYMAX bytes (an address, an address and a port, ...).
 *
 * Guarantee (Metwally, Agrawal, El Abbadi 2005, weighted form): with k
 * counters and a total weight W added in the interval,
 *   - a reported count never under-estimates: true <= count;
 *   - each count over-estimates by at most its `error`, and every error is
 *     at most the smallest counter, itself at most W / k;
 *   - every key whose true weight exceeds W / k holds a counter.
 * So a random-address flood costs at most k counters, never more, and a key
 * carrying more than 1/k of the weight cannot be pushed out by it.
 *
 * The caller closes an interval (am_topn_close); the table then ranks its
 * counters, keeps the first N rows as the interval's report and starts
 * again from empty. */
#ifndef AM_TOPN_H
#define AM_TOPN_H

#include <stddef.h>
#include <stdint.h>

#define AM_TOPN_KEYMAX 32

enum am_topn_rank {
	AM_TOPN_BY_COUNT = 0,   /* rows by count (weight), largest first */
	AM_TOPN_BY_P99           /* rows by the 99th percentile of the values added
	                          * with am_topn_add_value, among keys with at least
	                          * min_count values */
};

struct am_topn_cfg {
	uint32_t capacity;      /* counters k (default 4096, at least n) */
	uint32_t n;             /* rows in a report (default 10) */
	enum am_topn_rank rank;
	uint32_t min_count;     /* AM_TOPN_BY_P99: values a key needs to be ranked (default 10) */
	uint64_t seed;          /* hash seed, 0: random */
};

void am_topn_cfg_default(struct am_topn_cfg *cfg);

struct am_topn_row {
	uint8_t key[AM_TOPN_KEYMAX];
	uint8_t klen;
	uint64_t count;         /* estimate, never below the true weight */
	uint64_t error;         /* count - error <= true weight <= count */
	uint64_t nvalues;       /* values since the key took its counter (BY_P99) */
	int64_t p99;            /* 99th percentile of those values, -1 none (BY_P99) */
	uint8_t guaranteed;     /* BY_COUNT: count - error exceeds anything not
	                         * reported, so the key is certainly in the true
	                         * top N; BY_P99: the values cover the whole
	                         * interval (the key never lost its counter) */
};

/* The rows of one closed interval. */
struct am_topn_report {
	uint64_t intervals;     /* intervals closed so far (0: no report yet) */
	uint64_t total;         /* weight added in the interval */
	uint64_t keys_seen;     /* counters taken (new key or replacement) */
	uint64_t replaced;      /* ... of them by replacing the smallest counter */
	uint64_t bound;         /* largest possible error of any count (the smallest
	                         * counter when all were in use, else 0); <= total / k */
	uint32_t nrows;
	const struct am_topn_row *rows;
};

struct am_topn;

/* NULL when cfg is invalid (capacity or n out of range). */
struct am_topn *am_topn_new(const struct am_topn_cfg *cfg);
void am_topn_free(struct am_topn *t);

/* Adds weight to key.  A key longer than AM_TOPN_KEYMAX is not counted
 * (am_topn_rejected); a zero weight does nothing. */
void am_topn_add(struct am_topn *t, const void *key, size_t klen, uint64_t weight);
/* A key hashed once and offered to several tables (the census feeds one
 * source address to the talker and SYN tables).  The hash depends on the
 * seed of the table it was made for; a table with another seed hashes it
 * again, so the result never depends on which tables share a seed. */
struct am_topn_key {
	uint64_t w[AM_TOPN_KEYMAX / 8];  /* the key, zero-padded */
	uint64_t seed;
	uint32_t hash;
	uint8_t klen;
};

/* Fills k from key for tables seeded like t; -1 (k unusable) when key is
 * longer than AM_TOPN_KEYMAX. */
int am_topn_key_set(const struct am_topn *t, struct am_topn_key *k, const void *key, size_t klen);
/* Hashes a key the caller wrote into k->w (zero-padded) and k->klen
 * (at most AM_TOPN_KEYMAX), for tables seeded like t. */
void am_topn_key_seal(const struct am_topn *t, struct am_topn_key *k);
/* As am_topn_add, with a key from am_topn_key_set or am_topn_key_seal. */
void am_topn_add_key(struct am_topn *t, const struct am_topn_key *k, uint64_t weight);
/* The hash seed in use (the configured one, or the random one drawn). */
uint64_t am_topn_seed(const struct am_topn *t);

/* Adds 1 to key and records value (e.g. microseconds) in the key's small
 * histogram, for AM_TOPN_BY_P99 tables.  The histogram restarts when the key
 * takes over a counter. Percentiles are within 12.5% (4 sub-buckets per
 * power of two). */
void am_topn_add_value(struct am_topn *t, const void *key, size_t klen, uint64_t value);

/* Ends the interval: ranks, keeps the report, clears the counters. */
void am_topn_close(struct am_topn *t);
/* Report of the last closed interval (nrows 0 before the first close). */
const struct am_topn_report *am_topn_report(const struct am_topn *t);

/* The open interval: weight so far and the current bound. */
uint64_t am_topn_total(const struct am_topn *t);
uint64_t am_topn_bound(const struct am_topn *t);
uint64_t am_topn_rejected(const struct am_topn *t);
uint32_t am_topn_capacity(const struct am_topn *t);
uint32_t am_topn_n(const struct am_topn *t);
enum am_topn_rank am_topn_rank_by(const struct am_topn *t);
/* Bytes held by the table: fixed at creation. */
size_t am_topn_memory(const struct am_topn *t);
/* What a table of this configuration would hold, without creating it. */
size_t am_topn_memory_for(const struct am_topn_cfg *cfg);

#endif
