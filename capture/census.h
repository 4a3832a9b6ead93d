/* Traffic census: cheap always-on counters in the manner of Ourmon and RMON.
 *
 *  - Filter sets: named groups of (label, BPF expression); every frame is
 *    offered to every expression, and packets and bytes are counted per
 *    label.  Expressions are compiled with libpcap per link type and run with
 *    pcap_offline_filter on the raw frame; simple forms (`host A`, `net A/N`,
 *    `port N`, `tcp`, `udp`, with `src`/`dst` and a tcp/udp qualifier) are
 *    answered from the decoded packet instead when it is an untagged IPv4 or
 *    IPv6 TCP/UDP packet, with the same result (see doc/census.md).
 *  - Hardwired counters: link cast, IP version, transport, frame size class.
 *  - Top-N tables (capture/topn.h): talkers by bytes and by packets, TCP SYN
 *    senders, and from transaction records servers by transactions, by p99
 *    of `first` and by errors.  They rank per interval; the caller closes
 *    intervals with am_census_interval.
 *
 * Counters are cumulative uint64 (Counter64 in the MIB); the caller owns the
 * clock.  Nothing is allocated per packet. */
#ifndef AM_CENSUS_H
#define AM_CENSUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "capture/decode.h"
#include "capture/source.h"
#include "capture/topn.h"

struct am_conn;
struct am_txn;

/* One (set, label, expression).  Entries with the same set name form one
 * set, in order of first appearance; labels are unique within a set. */
struct am_census_filter {
	const char *set;
	const char *label;
	const char *expr;
};

struct am_census_cfg {
	const struct am_census_filter *filters;
	size_t nfilters;
	int dlt;                /* link type the expressions are checked against at
	                         * creation (0: DLT_EN10MB); other link types are
	                         * compiled when their first frame comes */
	int fastpath;           /* 1 (default): simple expressions on the decoded packet */
	int verify;             /* 1: run the interpreter as well and count disagreements */
	int topn;               /* 1 (default): keep the top-N tables */
	struct am_topn_cfg top; /* n and capacity for every table; rank is set per table */
	uint32_t p99_min;       /* transactions a server needs for the p99 table (10) */
};

void am_census_cfg_default(struct am_census_cfg *cfg);

/* A set of filters built from command-line options (owns its strings). */
struct am_census_spec {
	struct am_census_filter *filters;
	size_t n, cap;
};

/* Parses `SET:LABEL=EXPR,LABEL=EXPR...` (e.g. `web:http=tcp port 80,dns=udp
 * port 53`) and appends to spec.  Names are [A-Za-z0-9_.-]+; the expression
 * runs to the next comma (BPF has none) and is not compiled here.  Returns 0,
 * or -1 with a message in err. */
int am_census_spec_parse(struct am_census_spec *spec, const char *arg, char *err, size_t errlen);
void am_census_spec_free(struct am_census_spec *spec);

struct am_census;

/* Compiles every expression; NULL with "set/label: libpcap message" (or a
 * configuration error) in err. */
struct am_census *am_census_new(const struct am_census_cfg *cfg, char *err, size_t errlen);
void am_census_free(struct am_census *c);

/* Counts one frame.  p is the decoded packet when the caller has it
 * (am_decode returned AM_DEC_OK for this frame), else NULL: the census then
 * decodes the frame itself if a fast-path expression can use it. */
void am_census_frame(struct am_census *c, const struct am_frame *f, const struct am_packet *p);
/* Feeds a completed transaction to the server tables. */
void am_census_txn(struct am_census *c, const struct am_conn *conn, const struct am_txn *txn);
/* Whether a transaction counts as an error for the servers-by-errors table:
 * reset, timeout or incomplete (closed with no response), a DNS rcode other
 * than 0, or a TCP protocol status >= 500. */
int am_census_txn_is_error(const struct am_conn *conn, const struct am_txn *txn);
/* Closes the interval of every top-N table. */
void am_census_interval(struct am_census *c);

/* ---- filter-set counters ---- */
struct am_census_counter {
	uint64_t packets;
	uint64_t bytes;          /* frame length on the wire (pcap len) */
};

size_t am_census_nsets(const struct am_census *c);
const char *am_census_set_name(const struct am_census *c, size_t set);
size_t am_census_nlabels(const struct am_census *c, size_t set);
const char *am_census_label(const struct am_census *c, size_t set, size_t label);
const char *am_census_expr(const struct am_census *c, size_t set, size_t label);
const struct am_census_counter *am_census_count(const struct am_census *c, size_t set, size_t label);

/* ---- hardwired counters ---- */
enum am_census_hw {
	AM_HW_UNICAST, AM_HW_MULTICAST, AM_HW_BROADCAST, AM_HW_CAST_UNKNOWN,
	AM_HW_IPV4, AM_HW_IPV6, AM_HW_NOT_IP,
	AM_HW_TCP, AM_HW_UDP, AM_HW_ICMP, AM_HW_L4_OTHER,
	AM_HW_SIZE_64, AM_HW_SIZE_127, AM_HW_SIZE_255, AM_HW_SIZE_511,
	AM_HW_SIZE_1023, AM_HW_SIZE_1518, AM_HW_SIZE_JUMBO,
	AM_HW__COUNT
};
/* Group ("cast", "ip", "l4", "size") and label ("unicast", "le64", ...). */
const char *am_census_hw_group(enum am_census_hw h);
const char *am_census_hw_name(enum am_census_hw h);
const struct am_census_counter *am_census_hw_count(const struct am_census *c, enum am_census_hw h);

/* ---- top-N ---- */
enum am_census_top {
	AM_TOP_TALKER_BYTES,     /* key: source address */
	AM_TOP_TALKER_PKTS,      /* key: source address */
	AM_TOP_SYN,              /* key: source address of SYN without ACK */
	AM_TOP_SRV_TXN,          /* key: server address, port, protocol */
	AM_TOP_SRV_P99,          /* same key; rank by p99 of `first` */
	AM_TOP_SRV_ERR,          /* same key; weight: error transactions */
	AM_TOP__COUNT
};
const char *am_census_top_name(enum am_census_top which);  /* "talkers_bytes", ... */
/* NULL when the top-N tables are off. */
const struct am_topn *am_census_topn(const struct am_census *c, enum am_census_top which);
/* Writes the text form of a key of `which` ("192.0.2.1", "192.0.2.1:80/tcp"). */
const char *am_census_key_fmt(enum am_census_top which, const uint8_t *key, size_t klen,
    char *buf, size_t len);

/* ---- statistics ---- */
struct am_census_stats {
	uint64_t frames;
	uint64_t evals_bpf;      /* expressions run by the interpreter */
	uint64_t evals_fast;     /* ... answered by the fast path */
	uint64_t verify_mismatch;/* fast path and interpreter disagreed (verify) */
	uint64_t compile_errors; /* expressions that did not compile for a link type */
	size_t topn_memory;      /* bytes held by the top-N tables */
};
void am_census_stats(const struct am_census *c, struct am_census_stats *st);

/* ---- output ---- */
enum { AM_CENSUS_TEXT = 0, AM_CENSUS_CSV = 1, AM_CENSUS_JSON = 2 };  /* = cli FMT_* */
/* One record per filter label and per hardwired counter: set, label,
 * packets, bytes (hardwired groups appear as sets named "hw.cast",
 * "hw.ip", "hw.l4", "hw.size"). */
void am_census_print(const struct am_census *c, FILE *fp, int format);
/* One record per row of every top-N report: table, rank, key, count, error,
 * p99_us (text: "-" when not a p99 table), guaranteed (am_topn_row). */
void am_census_print_topn(const struct am_census *c, FILE *fp, int format);

#endif
