/* The LMDB store: stable ids for keys and signatures, level-1 interval
 * records, level-2 rollups, cumulative totals, retention.
 *
 * One environment (a directory) holds named databases; every database key is
 * big-endian so that byte order is index order (a GETNEXT is a cursor seek):
 *
 *   meta     name                      -> value (format version, interval
 *                                         lengths, clock of the last flush, ...)
 *   signame  signature name            -> sig id (u32 BE)
 *   sigid    sig id (u32 BE)           -> signature name
 *   keyname  canonical key bytes       -> key id (u32 BE)
 *   keyid    key id (u32 BE)           -> canonical key bytes, rule name
 *   l1, l2   start s (u64 BE), key id (u32 BE) -> struct am_rec (encoded)
 *   totals   key id (u32 BE)           -> struct am_totals (encoded)
 *
 * Ids start at 1 and are never reused, so they serve as SNMP row indexes.
 * The store is written only through am_agg (agg.h): one write transaction per
 * flush.  Readers use short read transactions; the read functions below each
 * open and close their own. */
#ifndef AM_STORE_H
#define AM_STORE_H

#include <stdint.h>
#include <stddef.h>
#include "common/addr.h"
#include "common/util.h"
#include "capture/tracker.h"
#include "store/hist.h"

#define AM_STORE_FORMAT 1

/* Timings measured per transaction (microseconds). */
enum am_timing_id {
	AM_T_FIRST = 0,   /* request end -> first response byte */
	AM_T_LAST,        /* request end -> last response byte */
	AM_T_ACK,         /* last response byte -> client ACK of it */
	AM_T_THINK,       /* previous response -> this request (client think time) */
	AM_T_RTT,         /* network round trip of the connection (srv_rtt + cli_rtt) */
	AM_T__COUNT
};
const char *am_timing_name(enum am_timing_id t);   /* "first", "last", ... */

/* --- aggregation keys ----------------------------------------------------- */

enum am_agg_by {                /* a rule's Summarise_by */
	AM_BY_SERVER = 0,           /* server address and port only */
	AM_BY_CLIENT,               /* plus the (masked) client address */
	AM_BY_CLIENT_PORT           /* plus the client port */
};

#define AM_NAME_MAX 64          /* signature and rule names, with the NUL */

/* What a row of statistics is about.  Fill it with am_agg_key_make. */
struct am_agg_key {
	struct am_addr server;      /* masked; family 0 for an overflow key */
	uint16_t server_port;
	uint8_t by;                 /* enum am_agg_by */
	uint8_t overflow;           /* 1: the overflow key of rule `rule` */
	struct am_addr client;      /* AM_BY_CLIENT: masked client; else zero */
	uint16_t client_port;       /* AM_BY_CLIENT_PORT; else 0 */
	char signature[AM_NAME_MAX];
	/* Not part of the identity: the rule that made the key (kept with the
	 * key for display) and the name of its overflow key. */
	char rule[AM_NAME_MAX];
};

/* Fills *k from a connection: the server address masked to masklen4 (IPv4)
 * or masklen6 (IPv6) bits (values above the address size mean no mask), the
 * server port, the client address (masked the same way) or client port per
 * `by`, and the names (NULL or "" is allowed; longer names are cut). */
void am_agg_key_make(struct am_agg_key *k, const struct am_conn *conn, const char *rule,
    const char *signature, unsigned masklen4, unsigned masklen6, enum am_agg_by by);
/* The overflow key of a rule. */
void am_agg_key_overflow(struct am_agg_key *k, const char *rule);

/* Canonical byte form of the identity (big-endian, length-prefixed, so that
 * byte order sorts by server address type, address, port, ...): at most
 * AM_KEY_ENC_MAX bytes.  Decoding fills identity fields only. */
#define AM_KEY_ENC_MAX 128
size_t am_agg_key_encode(const struct am_agg_key *k, uint8_t *buf);
int am_agg_key_decode(struct am_agg_key *k, const uint8_t *buf, size_t len);

/* --- records ------------------------------------------------------------- */

/* One key over one interval (level 1) or one rollup period (level 2). */
struct am_rec {
	uint64_t count;                      /* transactions */
	struct am_hist t[AM_T__COUNT];       /* min, max, sum, sumsq, histogram */
	uint64_t bytes[2], pkts[2];          /* [0] request (client to server), [1] response */
	uint64_t outcome[AM_OUT__COUNT];     /* transactions by outcome */
	uint64_t retrans;
	uint64_t gap_bytes;
};
void am_rec_init(struct am_rec *r);
void am_rec_free(struct am_rec *r);
void am_rec_reset(struct am_rec *r);
void am_rec_merge(struct am_rec *dst, const struct am_rec *src);
size_t am_rec_encode(const struct am_rec *r, uint8_t *buf, size_t len);
size_t am_rec_encode_bound(const struct am_rec *r);   /* >= am_rec_encode's size */
int am_rec_decode(struct am_rec *r, const uint8_t *buf, size_t len);

#define AM_LE_MAX 32   /* "le" bounds for the cumulative histogram of `first` */

/* Cumulative totals of a key since the store was first started.  They
 * include the open interval in memory; they are persisted at every flush. */
struct am_totals {
	uint64_t count;
	uint64_t n[AM_T__COUNT];             /* transactions that had the timing */
	uint64_t sum[AM_T__COUNT];           /* microseconds */
	uint64_t bytes[2], pkts[2];
	uint64_t outcome[AM_OUT__COUNT];
	uint64_t retrans, gap_bytes;
	uint64_t le[AM_LE_MAX];              /* count of `first` <= le_bound[i] */
	am_time_t first_seen, last_seen;     /* clock of the first / last transaction */
};
size_t am_totals_encode(const struct am_totals *t, uint8_t *buf, size_t len);
int am_totals_decode(struct am_totals *t, const uint8_t *buf, size_t len);

/* --- the store ------------------------------------------------------------- */

struct am_store_cfg {
	uint64_t map_size;        /* bytes (default AM_STORE_MAP_DEFAULT) */
	uint32_t interval_s;      /* level-1 length for a new store (300, 10..3600); an
	                           * existing store keeps its own (a warning if different) */
	uint32_t rollup_s;        /* level-2 length for a new store (3600, at most a day;
	                           * rounded up to a multiple of interval_s) */
	uint32_t retain1_s;       /* level-1 retention (32 days) */
	uint32_t retain2_s;       /* level-2 retention (400 days) */
	uint32_t prune_budget;    /* records examined per flush by retention (20000) */
	uint32_t n_le;            /* "le" bounds of `first` for a new store (default ladder) */
	uint64_t le[AM_LE_MAX];   /* ascending, microseconds */
};
#define AM_STORE_MAP_DEFAULT (UINT64_C(128) << 30)   /* virtual; the file grows as used */

void am_store_cfg_default(struct am_store_cfg *cfg);

#define AM_STORE_RDONLY 0
#define AM_STORE_RDWR   1

struct am_store;

/* Opens (and with AM_STORE_RDWR creates) the store in directory `dir`.
 * NULL on failure with a message in err. */
struct am_store *am_store_open(const char *dir, const struct am_store_cfg *cfg, int mode,
    char *err, size_t errlen);
/* Marks the stop clean when the last flush was final (am_agg_finish). */
void am_store_close(struct am_store *st);

struct am_store_info {
	uint32_t format;
	uint32_t interval_s, rollup_s;
	uint32_t retain1_s, retain2_s;
	uint32_t n_le;
	uint64_t le[AM_LE_MAX];
	uint32_t keys, sigs;            /* ids handed out */
	am_time_t created;              /* clock of the first flush */
	am_time_t flushed_clock;        /* clock when the last flush was made: everything
	                                 * added before that is stored */
	am_time_t newest1, newest2;     /* start of the newest level-1 / level-2 record, 0 none */
	am_time_t discontinuity;        /* totals resumed from a flush after an unclean stop
	                                 * (clock of that flush), 0 never */
	uint64_t unclean_stops;
	uint64_t flushes;
	uint64_t pruned1, pruned2;      /* records removed by retention */
	uint64_t pruned_full;           /* records removed because the map was full */
	uint64_t map_full;              /* times the map filled */
	uint64_t errors;                /* failed flushes and other LMDB errors */
	uint64_t lost;                  /* records dropped because a flush failed */
	int64_t last_flush_us;          /* duration of the last flush (wall) */
	uint64_t map_size, map_used;    /* bytes */
};
int am_store_info(struct am_store *st, struct am_store_info *info);

/* Key and signature dictionaries.  *_next returns the entry with the
 * smallest id > after (0 to start): 0 found, 1 none, -1 error. */
struct am_key_info {
	uint32_t id;
	uint32_t sig_id;
	struct am_agg_key key;           /* identity and rule name */
};
int am_store_key_get(struct am_store *st, uint32_t id, struct am_key_info *out);
/* By identity: the key's id, signature id and rule, and its totals (zero
 * when none are stored).  0 found, 1 none, -1 error. */
int am_store_key_find(struct am_store *st, const struct am_agg_key *key, struct am_key_info *out,
    struct am_totals *tot);
int am_store_key_next(struct am_store *st, uint32_t after, struct am_key_info *out);
int am_store_sig_next(struct am_store *st, uint32_t after, uint32_t *id, char *name, size_t len);
int am_store_totals(struct am_store *st, uint32_t key_id, struct am_totals *out);

/* Interval records of a level (1 or 2).  The record must be initialised
 * (am_rec_init) and is overwritten.  get: 0 found, 1 none, -1 error.
 * next: smallest start > after; prev: largest start < before (INT64_MAX for
 * the newest).  Starts are in microseconds (multiples of the level length). */
int am_store_rec_get(struct am_store *st, int level, uint32_t key_id, am_time_t start,
    struct am_rec *out);
int am_store_rec_next(struct am_store *st, int level, uint32_t key_id, am_time_t after,
    am_time_t *start, struct am_rec *out);
int am_store_rec_prev(struct am_store *st, int level, uint32_t key_id, am_time_t before,
    am_time_t *start, struct am_rec *out);
/* Every record of a level with from <= start < to, in (start, key id)
 * order, in one read transaction; a callback returning nonzero stops the
 * walk (returns 1).  0 or -1. */
int am_store_rec_walk(struct am_store *st, int level, am_time_t from, am_time_t to,
    int (*cb)(void *ctx, am_time_t start, uint32_t key_id, const struct am_rec *rec), void *ctx);

/* Visits every key (with its totals, zero when none are stored) and then
 * every signature, in id order, within one read transaction (used by am_agg
 * at start).  A callback returning nonzero stops the walk.  0 or -1. */
int am_store_load(struct am_store *st,
    int (*key_cb)(void *ctx, const struct am_key_info *ki, const struct am_totals *tot),
    int (*sig_cb)(void *ctx, uint32_t id, const char *name), void *ctx);

/* --- writing (used by am_agg) --------------------------------------------
 * am_store_flush opens one write transaction and calls write(ctx, w), which
 * issues the am_store_put_* calls; then it records `clock`, runs a step of
 * retention and commits.  When the map is full it aborts, prunes the oldest
 * records, and calls write again (so write must be repeatable).  final: this
 * is the last flush before a clean stop.  Returns 0, or -1 when the flush
 * could not be stored (counted in errors/lost; the store stays usable). */
struct am_store_w;
int am_store_flush(struct am_store *st, am_time_t clock, int final,
    int (*write)(void *ctx, struct am_store_w *w), void *ctx);
/* The same in steps, for a writer that spreads a flush over several turns
 * of its event loop (am_agg_flush_step): begin (NULL if a flush is open or
 * LMDB fails), puts, then commit (0 done; 1 the map is full: call
 * am_store_make_room and start over; -1 failed) or abort.  While a flush is
 * open, reads from the same thread are fine. */
struct am_store_w *am_store_begin(struct am_store *st);
int am_store_w_status(const struct am_store_w *w);   /* 0 ok, 1 map full, -1 error */
int am_store_commit(struct am_store_w *w, am_time_t clock, int final);
void am_store_abort(struct am_store_w *w);
int am_store_make_room(struct am_store *st);          /* 0, or -1: give up */
/* Counts and logs a flush given up (errors, lost). */
void am_store_flush_failed(struct am_store *st, am_time_t clock, const struct am_store_w *w);
int am_store_put_sig(struct am_store_w *w, uint32_t id, const char *name);
int am_store_put_key(struct am_store_w *w, const struct am_key_info *ki);
/* Adds a level-1 record (merged into one already stored for the same key and
 * start) and merges it into the level-2 rollup that contains it. */
int am_store_put_rec(struct am_store_w *w, uint32_t key_id, am_time_t start,
    const struct am_rec *rec);
int am_store_put_totals(struct am_store_w *w, uint32_t key_id, const struct am_totals *t);

/* --- auxiliary tables ---------------------------------------------------------
 * Small keyed tables for what later features persist (alarm rows created by
 * SNMP SET, baselines): opaque values under a table number and a key of at
 * most 480 bytes (big-endian keys sort in index order).  Values are the
 * caller's encoding; put a version byte first. */
enum am_aux_table {
	AM_AUX_ALARM = 1,
	AM_AUX_BASELINE = 2,
	AM_AUX_USER = 16          /* first number free for other uses */
};
/* get: 0 found (*len set; copied when buf has room, -1 when not), 1 none. */
int am_store_aux_get(struct am_store *st, int table, const void *key, size_t klen,
    void *buf, size_t *len);
/* Every entry of a table in key order, in one read transaction; a callback
 * returning nonzero stops the walk (returns 1). */
int am_store_aux_walk(struct am_store *st, int table,
    int (*cb)(void *ctx, const void *key, size_t klen, const void *val, size_t vlen), void *ctx);
/* Within a flush (see am_agg_on_flush); val NULL deletes. */
int am_store_aux_put(struct am_store_w *w, int table, const void *key, size_t klen,
    const void *val, size_t vlen);
/* In a write transaction of its own (an SNMP SET, say); val NULL deletes.
 * Not during a flush.  0 or -1. */
int am_store_aux_write(struct am_store *st, int table, const void *key, size_t klen,
    const void *val, size_t vlen);

#endif
