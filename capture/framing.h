/* Payload-aware message framing: finds where requests and responses begin
 * and end in the byte streams of a TCP connection, so that pipelined
 * requests can be paired with their own responses.
 *
 * One framer per connection, fed incrementally per direction with each
 * in-order chunk of new application bytes (dir 0 client->server, 1
 * server->client).  A chunk may be captured in part only (caplen <
 * seglen, snaplen truncation): the framer skips counted bodies without
 * seeing them.  When it needs bytes it cannot see during a plain turn (one
 * request outstanding), that direction goes blind until the other side's
 * turn, whose start ends the blind message (AM_FR_F_TURN).  It gives up
 * ("lost sync") when it needs bytes it cannot see otherwise, when the
 * bytes do not parse as the protocol, or when the protocol turns into
 * something it does not follow (TLS, Upgrade, pub/sub...).
 * From then on it ignores the connection; the caller falls back to
 * header-only timing.
 *
 * Boundaries come out as events through a callback, in stream order per
 * direction, carrying the request number they belong to.  Requests are
 * numbered 1, 2, ... in the order they start; responses name the request
 * they answer.  Requests that get no response at all (memcached noreply,
 * MySQL COM_QUIT/COM_STMT_CLOSE, PostgreSQL Terminate) carry number 0 and
 * the flag AM_FR_F_NOREPLY, and take no number.  Responses come in request
 * order for every protocol but DNS over TCP, whose responses are matched
 * by message id and may answer any pending request.
 *
 * State is one fixed-size struct (no allocation); the framer never reads
 * beyond caplen and always makes progress.  See doc/framing.md. */
#ifndef AM_FRAMING_H
#define AM_FRAMING_H

#include <stdint.h>
#include "common/util.h"

/* Same numbers as enum am_framing in rules/rules.h, so a rule's choice can
 * be passed through with a cast. */
enum am_fr_proto {
	AM_FR_NONE = 0,
	AM_FR_HTTP,        /* HTTP/1.0 and 1.1 */
	AM_FR_RESP,        /* Redis RESP2/RESP3 */
	AM_FR_PGSQL,       /* PostgreSQL frontend/backend protocol 3 */
	AM_FR_MYSQL,       /* MySQL/MariaDB client/server protocol */
	AM_FR_MEMCACHE,    /* memcached text and meta protocol */
	AM_FR_DNS_TCP,     /* DNS over TCP (RFC 1035 4.2.2, RFC 7766) */
	AM_FR_TLS,         /* not framed: always lost (header-only timing) */
	AM_FR__COUNT
};
const char *am_fr_proto_name(enum am_fr_proto p);       /* "http", "dns-tcp", ... */
int am_fr_proto_parse(const char *name);                /* enum value, -1 unknown */

enum am_fr_type {
	AM_FR_REQ_START,       /* request `req` starts at pos (client direction) */
	AM_FR_REQ_END,         /* request `req` ends: pos is the byte after it */
	AM_FR_RESP_START,      /* the response to request `req` starts */
	AM_FR_RESP_END,        /* the response to request `req` ends: it is complete */
	AM_FR_INTERIM_START,   /* an interim response (HTTP 1xx) to `req` starts */
	AM_FR_INTERIM_END,     /* ... ends; it neither ends the request nor answers it */
	AM_FR_LOST,            /* sync lost at pos (reason); no more events */
	AM_FR__TYPES
};
const char *am_fr_type_name(enum am_fr_type t);

/* Why the framer gave up. */
enum am_fr_lost {
	AM_FR_OK = 0,
	AM_FR_LOST_GAP,          /* needed bytes not captured (snaplen, sequence gap), no turn */
	AM_FR_LOST_GARBAGE,      /* bytes that are not the protocol */
	AM_FR_LOST_LONG,         /* a line or field needed is longer than the framer keeps */
	AM_FR_LOST_TUNNEL,       /* TLS, HTTP Upgrade/CONNECT, PostgreSQL COPY BOTH */
	AM_FR_LOST_UNSUPPORTED,  /* pub/sub, replication, compression, quiet mode, ... */
	AM_FR_LOST_PENDING,      /* more unanswered requests than the framer remembers */
	AM_FR_LOST_UNEXPECTED,   /* a response with no request pending */
	AM_FR_LOST_STOPPED,      /* am_framer_stop() */
	AM_FR_LOST__COUNT
};
const char *am_fr_lost_name(enum am_fr_lost r);   /* "gap", "garbage", ... */

#define AM_FR_F_NOREPLY 0x01   /* REQ_START/REQ_END of a request that gets no response (req 0) */
#define AM_FR_F_EARLIER 0x02   /* the boundary lies in an earlier chunk: off is 0, see pos, ts */
#define AM_FR_F_CLOSE   0x04   /* RESP_END: the response was delimited by the connection close */
#define AM_FR_F_ERROR   0x08   /* RESP_END: the response is an error (status says more) */
#define AM_FR_F_TURN    0x10   /* END inferred from the other side's turn: the message's
                                * end was not captured (see "blind" in doc/framing.md) */

struct am_fr_event {
	enum am_fr_type type;
	uint8_t dir;               /* 0 client->server, 1 server->client */
	uint8_t flags;             /* AM_FR_F_* */
	uint8_t reason;            /* AM_FR_LOST: enum am_fr_lost */
	uint32_t req;              /* request number; 0 for AM_FR_F_NOREPLY and AM_FR_LOST */
	uint64_t pos;              /* stream offset in dir: first byte (START), byte after (END) */
	uint32_t off;              /* pos relative to the chunk being fed (0 with F_EARLIER) */
	am_time_t ts;              /* time of the chunk that carried the boundary byte */
	int32_t status;            /* HTTP status, DNS rcode, MySQL error code; 1 for an
	                            * error reply of RESP/pgsql/memcached; 0 ok; -1 unknown */
	/* START events: captured bytes from the message's first byte on, for
	 * classification: the rest of the chunk (which may run past the
	 * message), or what the framer kept of it when it began in an earlier
	 * chunk (a line's first AM_FR_LINE bytes); NULL/0 when none.  Valid
	 * during the callback only. */
	const uint8_t *head;
	uint32_t headlen;
};

typedef void (*am_fr_cb)(void *ctx, const struct am_fr_event *ev);

/* Sizes of the fixed state.  Lines longer than AM_FR_LINE keep their first
 * AM_FR_LINE and last AM_FR_TAIL bytes. */
#define AM_FR_LINE 256
#define AM_FR_TAIL 64
#define AM_FR_MAXQ 256         /* unanswered requests remembered (HTTP, MySQL, memcached) */
#define AM_FR_MAXQ_DNS 64      /* ... for DNS over TCP (answered out of order) */
#define AM_FR_DEPTH 16         /* RESP aggregate nesting */

/* Per direction; private. */
struct am_fr_dir {
	uint64_t pos;              /* bytes of this direction fed so far */
	uint64_t skip;             /* bytes to pass over unseen */
	uint64_t mpos;             /* start of the line/message being read */
	am_time_t mts;             /* time of the chunk holding mpos */
	am_time_t lts;             /* time of the last chunk that carried bytes */
	uint64_t mlen;             /* length of the message being read */
	uint64_t num;              /* protocol-specific number (counts, lengths) */
	uint32_t ltotal;           /* length of the line so far (saturates) */
	uint16_t llen;             /* bytes in line[] */
	uint16_t tlen;             /* bytes written to tail[] (ring) */
	uint8_t st;                /* parser state */
	uint8_t after;             /* action when skip reaches 0 */
	uint8_t fl;                /* protocol flags */
	uint8_t seq;               /* MySQL: last sequence id; RESP: argument index */
	uint8_t rqfl;              /* flags of the request being read (AM_FR_F_NOREPLY) */
	uint8_t blind;             /* lost in this direction until the next turn */
	uint32_t rq;               /* request being read (client) or answered (server) */
	int32_t status;
	uint8_t line[AM_FR_LINE];
	uint8_t tail[AM_FR_TAIL];
};

struct am_framer {
	uint8_t proto;
	uint8_t lost;              /* enum am_fr_lost */
	uint8_t phase;             /* protocol phase (startup, auth, command) */
	uint8_t cfl;               /* connection flags */
	uint8_t req_on;            /* a request is being read */
	uint8_t resp_on;           /* a response is being read */
	uint8_t depth;             /* RESP nesting */
	uint8_t pad;
	uint32_t nreq;             /* last request number given */
	uint32_t nans;             /* every request up to this one is answered */
	uint32_t attr;             /* RESP: bit i: level i is an attribute */
	uint64_t answered;         /* DNS: bit i: request nans+1+i answered */
	uint32_t stack[AM_FR_DEPTH];  /* RESP: elements left per level */
	union {                    /* per pending request, by number modulo the size: */
		uint8_t kind[AM_FR_MAXQ];     /* its kind (HTTP method, MySQL command, ...) */
		uint16_t id[AM_FR_MAXQ_DNS];  /* DNS: its message id */
	} q;
	struct am_fr_dir d[2];
};

/* Prepares a framer.  Returns 0, or -1 when the protocol is not framed
 * (NONE, TLS, unknown): the framer is then lost (AM_FR_LOST_UNSUPPORTED)
 * and every call is a no-op. */
int am_framer_init(struct am_framer *f, enum am_fr_proto proto);

/* New in-order bytes of direction dir at time ts: data holds the first
 * caplen of seglen bytes (data may be NULL when caplen is 0).  Events for
 * boundaries found are passed to cb, in order.  Returns 0, or -1 when sync
 * is lost (now or before; a lost framer reports AM_FR_LOST once). */
int am_framer_feed(struct am_framer *f, int dir, am_time_t ts, const uint8_t *data,
    uint32_t caplen, uint32_t seglen, am_fr_cb cb, void *ctx);

/* len bytes of direction dir will never be seen (a hole in the sequence
 * space).  Same as feeding them with caplen 0: harmless inside a counted
 * body, lost sync otherwise. */
int am_framer_gap(struct am_framer *f, int dir, am_time_t ts, uint32_t len, am_fr_cb cb,
    void *ctx);

/* Direction dir ended (FIN).  Ends an HTTP response delimited by the close
 * (RESP_END with AM_FR_F_CLOSE, at the time of the last byte fed). */
void am_framer_fin(struct am_framer *f, int dir, am_fr_cb cb, void *ctx);

/* The caller gives up on framing (e.g. its own pending bound).  Reports
 * AM_FR_LOST with `why` if not already lost. */
void am_framer_stop(struct am_framer *f, enum am_fr_lost why, am_fr_cb cb, void *ctx);

/* AM_FR_OK while in sync, else the reason. */
static inline enum am_fr_lost
am_framer_lost(const struct am_framer *f)
{
	return (enum am_fr_lost)f->lost;
}

/* Requests started and not answered yet (numbered ones only). */
uint32_t am_framer_pending(const struct am_framer *f);

#endif
