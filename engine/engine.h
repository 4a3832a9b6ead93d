/* The measurement pipeline shared by artmon and artmond:
 *
 *   frame -> decode -> TCP tracker / DNS pairing -> rule binding and
 *   signature naming -> transaction sink and interval aggregates
 *
 * The engine owns no I/O: the caller reads frames from a source and hands
 * them over; the aggregates flush to the store the caller opened.  Packet
 * time is the clock; live callers also tick it with wall time so that
 * intervals close on an idle link.  Rules can be replaced at run time
 * (am_engine_set_rules): connections already open keep the names of the
 * rules that bound them. */
#ifndef AM_ENGINE_H
#define AM_ENGINE_H

#include "capture/decode.h"
#include "capture/dns.h"
#include "capture/icmp.h"
#include "capture/source.h"
#include "capture/tracker.h"
#include "rules/rules.h"
#include "store/agg.h"

/* A transaction as consumers see it: with its names resolved. */
struct am_engine_txn {
	const struct am_conn *conn;
	const struct am_txn *txn;
	const char *signature;       /* "" when no rule names it */
	const char *rule;            /* "" for connections no rule claims */
	am_time_t now;               /* the engine's clock when the exchange completed
	                              * (the aggregates count it in the interval open then) */
	unsigned masklen4, masklen6; /* summarisation prefixes of the rule (or the defaults) */
	int by;                      /* enum am_agg_by: the rule's Summarise_by */
};

struct am_engine_cb {
	void *ctx;
	void (*txn)(void *ctx, const struct am_engine_txn *t);
	void (*conn_end)(void *ctx, const struct am_conn *conn);
	void (*adu)(void *ctx, const struct am_conn *conn, const struct am_adu *rec);
	/* A completed handshake of a connection a `tcpsynack` rule watches. */
	void (*handshake)(void *ctx, const struct am_conn *conn, const char *rule);
};

struct am_engine_cfg {
	struct am_tracker_cfg tracker;
	struct am_dns_cfg dns;
	uint8_t measure_unclaimed;   /* connections no rule claims: header-only timing (1) */
	uint8_t want_adu;            /* produce ADU records (costs a callback per event) */
	unsigned masklen4, masklen6; /* default summarisation prefixes (32, 128) */
};

void am_engine_cfg_default(struct am_engine_cfg *cfg);
/* Takes settings from a loaded configuration (limits, quiet time, masks). */
void am_engine_cfg_from_rules(struct am_engine_cfg *cfg, const struct am_config *rules);

struct am_engine;

/* rules and agg may be NULL.  The engine does not own rules or agg. */
struct am_engine *am_engine_new(const struct am_engine_cfg *cfg, const struct am_config *rules,
    struct am_agg *agg, const struct am_engine_cb *cb);
void am_engine_free(struct am_engine *e);

/* New rules for new connections; the previous ones stay in use for the
 * connections they bound, until the next replacement.  Returns the rules
 * that are no longer used by anything (the caller frees them), or NULL. */
const struct am_config *am_engine_set_rules(struct am_engine *e, const struct am_config *rules);

/* One captured frame.  Returns the decode outcome. */
enum am_dec am_engine_frame(struct am_engine *e, const struct am_frame *f);
/* Advances the clock without a packet (live). */
void am_engine_tick(struct am_engine *e, am_time_t now);
/* End of input: open exchanges and connections are reported, the open
 * interval is closed and flushed. */
int am_engine_finish(struct am_engine *e);

/* ICMP errors counted per server and port (the rules' ICMP section says
 * which kinds), in a bounded table. */
#define AM_ENGINE_ICMP_ROWS 4096
struct am_engine_icmp_row {
	struct am_addr server;
	uint16_t port;
	uint64_t count[AM_ICMP__KINDS];
};
/* Row i (0..), 0 found, -1 past the end. */
int am_engine_icmp_row(const struct am_engine *e, uint32_t i, struct am_engine_icmp_row *row);

struct am_engine_stats {
	struct am_decode_stats decode;
	struct am_tracker_stats tracker;
	struct am_dns_stats dns;
	struct am_rules_stats rules;
	uint64_t ignored_txn;        /* exchanges matching `Ignore = 1` */
	uint64_t unclaimed_txn;      /* exchanges on connections no rule claims */
	uint64_t icmp_errors;        /* ICMP errors counted per server */
	uint64_t icmp_overflow;      /* ... not counted: the table was full */
	am_time_t clock;
};
void am_engine_stats(const struct am_engine *e, struct am_engine_stats *st);

#endif
