/* The bounded TCP session tracker and transaction timing.
 *
 * Packets go in (already decoded), in time order.  Events come out through
 * callbacks: a transaction when its request/response exchange is complete,
 * a connection when its state is released.  The tracker runs on packet time:
 * the caller feeds the clock with every packet (and, live, with a wall-clock
 * tick), so a capture file always gives the same result.
 *
 * Memory is bounded: sessions, and the larger state a connection needs
 * only while it carries data, come from regions reserved at start (up to
 * max_sessions and max_exchanges) and are reused; nothing is allocated
 * per packet. */
#ifndef AM_TRACKER_H
#define AM_TRACKER_H

#include <stdint.h>
#include "common/addr.h"
#include "common/util.h"
#include "capture/decode.h"

enum am_outcome {
	AM_OUT_COMPLETE = 0,  /* the response was seen and the exchange ended */
	AM_OUT_RESET,         /* a RST cut the exchange before it completed */
	AM_OUT_TIMEOUT,       /* the connection went idle waiting for a response */
	AM_OUT_INCOMPLETE,    /* the connection closed (FIN) with no response */
	AM_OUT_OPEN,          /* still in progress at the end of the input */
	AM_OUT_EVICTED,       /* the tracker dropped the connection to make room */
	AM_OUT__COUNT
};
const char *am_outcome_name(enum am_outcome o);

/* What is known about a connection; passed with every event.  The tracker
 * keeps a compact form of it and builds this view for each callback: the
 * pointer is valid during the callback only, and only rule, signature,
 * generation, client_rst_as_fin, framing and scratch set by a callback are
 * kept. */
struct am_conn {
	uint64_t id;                 /* sequence number of the connection */
	struct am_addr client, server;
	uint16_t client_port, server_port;
	uint8_t midstream;           /* picked up without its handshake */
	uint8_t closed_by;           /* 0 none, 1 FIN, 2 RST */
	uint8_t src_index;           /* capture source of the first packet */
	uint8_t proto;               /* AM_IPPROTO_TCP or AM_IPPROTO_UDP */
	uint8_t concurrent;          /* both sides had unacknowledged data at once */
	am_time_t syn_ts;            /* first SYN, 0 if not seen */
	am_time_t synack_ts;         /* SYN-ACK answering the last SYN, 0 if not seen */
	am_time_t est_ts;            /* client ACK completing the handshake, 0 if not seen */
	am_time_t first_ts, last_ts; /* first and last packet */
	int64_t srv_rtt, cli_rtt;    /* microseconds, -1 when unknown */
	uint16_t mss[2];             /* [0] client, [1] server; 0 unknown */
	uint8_t wscale[2];           /* 0xff unknown */
	uint64_t bytes[2];           /* payload bytes (new data only), [0] c2s, [1] s2c */
	uint64_t pkts[2];            /* all packets */
	uint64_t retrans[2];         /* retransmitted segments */
	uint64_t ooo[2];             /* out-of-order segments (filled a hole) */
	uint64_t gap_bytes[2];       /* bytes never seen */
	uint32_t transactions;       /* exchanges reported so far */
	enum am_outcome outcome;     /* for the connection record */
	uint8_t client_rst_as_fin;   /* set by conn_new: a client RST after the response ends it normally */
	uint8_t framing;             /* set by conn_new: enum am_fr_proto (capture/framing.h) to pair
	                              * requests and responses from the payload; 0 none */
	uint8_t framed;              /* the framer is in sync (requests paired from the payload) */
	/* set by the classifier: rule and signature of the current exchange */
	int32_t rule;                /* -1 none */
	int32_t signature;           /* -1 none */
	uint32_t generation;         /* free for the owner (e.g. configuration generation) */
	/* Space for the owner of the callbacks while the connection carries an
	 * exchange (the rule matcher keeps its request state here between
	 * classify and classify_more): no allocation per connection.  It is
	 * not kept while the connection is idle. */
	uint64_t scratch[8];
};

/* One request/response exchange.  Instants are 0 when they did not happen;
 * the derived timings are -1 when they do not exist. */
struct am_txn {
	am_time_t req_first, req_last;     /* request first and last new byte */
	am_time_t resp_first, resp_last;   /* response first and last new byte */
	am_time_t resp_ack;                /* client ACK covering the last response byte */
	int64_t first, last, ack, think;   /* microseconds, -1 when unknown */
	uint64_t req_bytes, resp_bytes;
	uint32_t req_pkts, resp_pkts;
	uint32_t retrans;                  /* both directions, during the exchange */
	uint32_t ooo;
	uint64_t gap_bytes;
	enum am_outcome outcome;
	int32_t signature;                 /* from the classifier, -1 none */
	uint32_t seq;                      /* 1 for the first exchange of the connection */
	int32_t status;                    /* protocol status (DNS rcode), -1 none */
};

/* adudump-style records: the connection's structure from TCP headers alone. */
enum am_adu_type {
	AM_ADU_SYN,    /* the first SYN */
	AM_ADU_RTT,    /* the SYN-ACK: rtt holds SYN to SYN-ACK */
	AM_ADU_SEQ,    /* the handshake completed */
	AM_ADU_CONC,   /* the connection turned out to be concurrent */
	AM_ADU_ADU,    /* an application data unit ended */
	AM_ADU_INC,    /* an ADU in progress when the input ended */
	AM_ADU_END,    /* the connection's state was released */
	AM_ADU__COUNT
};
const char *am_adu_name(enum am_adu_type t);

struct am_adu {
	enum am_adu_type type;
	am_time_t ts;                /* event time; for ADU/INC the ADU's first byte */
	int dir;                     /* 0 c2s, 1 s2c (ADU, INC) */
	uint64_t bytes;              /* application bytes (ADU, INC) */
	int64_t think;               /* quiet time after the ADU, -1 unknown */
	int64_t rtt;                 /* RTT record */
	uint8_t concurrent;          /* mode of the ADU: 0 seq, 1 conc */
};

struct am_tracker_cb {
	void *ctx;
	/* A new connection (handshake seen or picked up mid-stream).  Return
	 * nonzero to ignore the connection (it is still tracked but produces no
	 * events).  May set conn->rule, signature, generation, framing and
	 * client_rst_as_fin. */
	int (*conn_new)(void *ctx, struct am_conn *conn);
	/* First captured bytes of each request: set the exchange's signature
	 * (return it, or -1).  Called once per request with what the first
	 * data segment carried (may be empty when not captured). */
	int32_t (*classify)(void *ctx, struct am_conn *conn, const uint8_t *data, uint32_t len);
	/* Optional: each later client segment of the same request (new data,
	 * before the response starts); returns the exchange's signature, which
	 * may change (merge blocks). */
	int32_t (*classify_more)(void *ctx, struct am_conn *conn, int32_t sig, const uint8_t *data,
	    uint32_t len);
	void (*txn)(void *ctx, const struct am_conn *conn, const struct am_txn *txn);
	void (*conn_end)(void *ctx, const struct am_conn *conn);
	/* Optional: the handshake completed (srv_rtt and cli_rtt are known). */
	void (*handshake)(void *ctx, const struct am_conn *conn);
	/* Optional: the adudump-style record stream. */
	void (*adu)(void *ctx, const struct am_conn *conn, const struct am_adu *rec);
};

struct am_tracker_cfg {
	uint32_t max_sessions;        /* hard cap (default 262144) */
	uint64_t memcap;              /* bytes for session state (default 256 MiB) */
	uint32_t hash_buckets;        /* 0: derived from max_sessions */
	int64_t timeout_syn;          /* half-open, microseconds (30 s) */
	int64_t timeout_est;          /* established idle (600 s) */
	int64_t timeout_closed;       /* after FIN/RST (10 s) */
	int64_t emerg_syn, emerg_est, emerg_closed; /* when nearly full (5 s, 60 s, 1 s) */
	uint32_t emerg_percent;       /* "nearly full" (90) */
	int64_t quiet;                /* response complete after this quiet time once ACKed, and
	                               * an ADU ends after this long without new data (500 ms) */
	uint8_t wait_for_syn;         /* 1: ignore connections without a handshake (default) */
	uint8_t client_rst_as_fin;    /* 1: a client RST after a response ends it normally */
	uint32_t max_framed;          /* connections paired from the payload at once (4096) */
	uint32_t max_pending;         /* unanswered requests kept per framed connection (256, at
	                               * most AM_TRACKER_MAX_PENDING, about 100 bytes each);
	                               * beyond: header-only, counted */
	uint64_t seed;                /* hash seed, 0: random */
	uint32_t max_exchanges;       /* connections carrying data at once (exchange, ADU,
	                               * framing state); 0: as many as sessions */
};

#define AM_TRACKER_MAX_PENDING 1024

void am_tracker_cfg_default(struct am_tracker_cfg *cfg);

struct am_tracker_stats {
	uint64_t packets;             /* TCP packets offered */
	uint64_t sessions_created;
	uint64_t sessions_active;
	uint64_t sessions_peak;
	uint64_t sessions_limit;      /* effective cap */
	uint64_t refused;             /* new connection refused: table full */
	uint64_t evicted;             /* dropped to make room */
	uint64_t timed_out;           /* released by a timeout */
	uint64_t no_syn;              /* packets of unknown connections ignored (wait for SYN) */
	uint64_t midstream;           /* connections picked up without a handshake */
	uint64_t transactions;
	uint64_t retrans;
	uint64_t adus;                /* application data units */
	uint64_t conc_adus;           /* ... of them on concurrent connections */
	uint64_t conc_connections;    /* connections found concurrent */
	uint64_t conc_dropped;        /* exchanges not reported: the connection turned concurrent */
	uint64_t framed;              /* connections paired from the payload */
	uint64_t framed_lost;         /* ... that lost sync and fell back to header-only timing */
	uint64_t framed_lost_reason[12]; /* by enum am_fr_lost */
	uint64_t framed_cap;          /* connections not framed: max_framed reached */
	uint64_t pending_cap;         /* framed connections with more pending requests than kept */
	uint64_t framed_dropped;      /* pending requests not reported when sync was lost */
	uint64_t interim;             /* interim (1xx) responses seen */
	uint64_t memory;              /* bytes held for sessions */
	uint64_t exchanges_active;    /* connections holding an exchange state (carrying data) */
	uint64_t exchanges_peak;
	uint64_t exchange_cap;        /* connections whose data went untimed: max_exchanges reached */
};

struct am_tracker;

struct am_tracker *am_tracker_new(const struct am_tracker_cfg *cfg, const struct am_tracker_cb *cb);
void am_tracker_free(struct am_tracker *t);

/* Feeds one decoded TCP packet (others are ignored).  Packets must come in
 * non-decreasing time order; an older timestamp is treated as "now". */
void am_tracker_packet(struct am_tracker *t, const struct am_packet *p);
/* Advances the clock without a packet (live idle links). */
void am_tracker_tick(struct am_tracker *t, am_time_t now);
/* End of input: reports every open exchange (AM_OUT_OPEN) and connection. */
void am_tracker_finish(struct am_tracker *t);
void am_tracker_stats(const struct am_tracker *t, struct am_tracker_stats *st);

#endif
