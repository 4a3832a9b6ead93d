/* The configuration language (PasTmon-compatible) and signature matching.
 *
 * Loading: am_config_load() reads a file (with its includes) into an
 * immutable struct am_config, or returns NULL when the file has errors.
 * Every error and warning found is collected in a struct am_diags with
 * file:line:column, so a failed reload can be reported in full while the
 * daemon keeps running with the old configuration.
 *
 * Matching: am_rules_bind() gives a new connection its rule (the first rule,
 * in file order, whose addresses and ports match); am_req_begin() names a
 * request from its first captured bytes (the first transaction of the rule
 * whose Offset/Depth/Length/Content match), am_req_more() looks at later
 * segments of the same request (merge blocks, Expect_data_bytes).
 *
 * Signatures are small integers (>= 0) that fit the tracker's
 * `int32_t signature` field; am_sig_name() turns one back into its name.
 * Every rule has a catch-all signature "(other)" for requests that match
 * none of its transactions and an overflow signature "(overflow)" for
 * generated ($n) names beyond the rule's cap; parentheses cannot appear in
 * names written in a configuration, so these never collide.
 *
 * Threads: the settings and rules are read-only once loaded.  The signature
 * table (names generated from $n grow it) and the counters are the only
 * mutable part: call the matching functions of one configuration from one
 * thread only (the tracker thread).
 *
 * Glue for the tracker callbacks (see capture/tracker.h):
 *   conn_new:  conn->rule = am_rules_bind(cfg, &conn->client, conn->client_port,
 *                                         &conn->server, conn->server_port);
 *              return conn->rule < 0;   (no rule: not measured)
 *   classify:  return am_req_begin(cfg, conn->rule, &req, data, len);
 *              where req is a struct am_req kept with the session;
 *              later client segments of the same request, before the
 *              response starts: am_req_more(cfg, &req, data, len);
 *              am_req_expected(&req) then tells how long the request is.
 *   txn:       skip txn->signature == AM_SIG_IGNORE (Ignore = 1);
 *              the aggregate key is am_sig_rule(cfg, sig) and am_sig_name(cfg, sig). */
#ifndef AM_RULES_H
#define AM_RULES_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include "common/addr.h"

#define AM_SIG_NONE   (-1)   /* no rule, nothing classified */
#define AM_SIG_IGNORE (-2)   /* the request matched an `Ignore = 1` transaction */

#define AM_SIG_OTHER_NAME    "(other)"
#define AM_SIG_OVERFLOW_NAME "(overflow)"

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */

struct am_diag {
	char *file;            /* as named by the user or the include */
	uint32_t line, col;    /* 1-based; col counts bytes; 0 when not about a place */
	uint8_t error;         /* 1 error, 0 warning */
	char *msg;
};

struct am_diags {
	struct am_diag *v;
	size_t n, cap;
	uint32_t errors, warnings;
	uint32_t dropped;      /* beyond AM_DIAGS_MAX, counted only */
};
#define AM_DIAGS_MAX 500

void am_diags_init(struct am_diags *d);
void am_diags_free(struct am_diags *d);
/* "file:line:col: error: msg" (or "warning:"), one a line, in order found. */
void am_diags_print(const struct am_diags *d, FILE *out);
struct am_loc;
/* Adds an error (error = 1) or a warning found after loading, e.g. by a
 * check rules/ cannot make itself (a BPF expression compiled with pcap). */
void am_diags_add(struct am_diags *d, int error, const struct am_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------ */
/* The loaded configuration                                           */

struct am_loc {
	const char *file;      /* owned by the configuration */
	uint32_t line, col;
};

struct am_prefix {
	struct am_addr net;    /* masked to bits */
	uint8_t bits;
};

/* An address side of a rule.  An IPv4 address matches when any4 is set or
 * it is inside one of the IPv4 prefixes; the same for IPv6. */
struct am_hostmatch {
	uint8_t any4, any6;
	uint32_t n;
	struct am_prefix *v;
};

struct am_portrange {
	uint16_t lo, hi;       /* inclusive */
};

struct am_portmatch {
	uint8_t any;
	uint32_t n;
	struct am_portrange *v;
};

enum am_content_kind {
	AM_CONTENT_NONE = 0,   /* no Content: matches every request (within Length) */
	AM_CONTENT_LITERAL,
	AM_CONTENT_REGEX
};

#define AM_RE_CASELESS  0x01   /* i */
#define AM_RE_MULTILINE 0x02   /* m */
#define AM_RE_DOTALL    0x04   /* s */
#define AM_RE_DOLLAR_ENDONLY 0x08 /* e */

/* Where and what to look for in a request segment. */
struct am_content {
	uint32_t offset;       /* Offset: start of the window */
	uint32_t depth;        /* Depth: window length, 0 = to the end of the data */
	uint32_t length;       /* Length: the segment must carry exactly this many bytes */
	uint8_t has_length;
	enum am_content_kind kind;
	uint8_t *lit;          /* literal bytes (hex decoded) */
	uint32_t litlen;
	char *pattern;         /* regex source, as written */
	uint32_t re_flags;     /* AM_RE_* */
	uint32_t captures;     /* capturing groups in the regex */
	void *re;              /* pcre2_code *, compiled once at load */
	/* Expect_data_bytes: 0 none, 1..9 = capture $n, -1 = the constant below */
	int8_t expect_var;
	uint64_t expect_const;
	struct am_loc loc;     /* of the Content statement, or of the block */
};

struct am_merge {
	char *name;
	struct am_loc loc;
	struct am_content c;
};

enum am_conv { AM_CONV_NONE = 0, AM_CONV_UPPER, AM_CONV_LOWER };

struct am_txdef {
	char *name;            /* as written, may hold $1..$9 */
	struct am_loc loc;
	struct am_content c;
	uint8_t ignore;        /* Ignore = 1 */
	uint8_t has_vars;      /* the name uses $n */
	enum am_conv conv;     /* ConvMatchVars */
	int32_t sig;           /* signature id when the name is fixed, else -1 */
	uint32_t nmerge;
	struct am_merge *merge;
};

enum am_plugin { AM_PLUGIN_GENERIC = 0, AM_PLUGIN_TCPSYNACK };
enum am_summarise { AM_SUMMARISE_IP = 0, AM_SUMMARISE_PORT };
/* How a rule's exchanges are found: from signatures on the payload, or
 * payload-free from sequence numbers alone (ADU timing: TLS, SSH). */
enum am_timing { AM_TIMING_SIGNATURE = 0, AM_TIMING_ADU };
/* What names a payload-free rule's exchanges: the rule's catch-all
 * signature, or the server name of a visible TLS ClientHello. */
enum am_name_by { AM_NAME_BY_SIGNATURE = 0, AM_NAME_BY_SNI };
/* Protocol framing for request/response pairing (issue 12). */
enum am_framing {
	AM_FRAMING_NONE = 0, AM_FRAMING_HTTP, AM_FRAMING_RESP, AM_FRAMING_PGSQL,
	AM_FRAMING_MYSQL, AM_FRAMING_MEMCACHE, AM_FRAMING_DNS_TCP, AM_FRAMING_TLS,
	AM_FRAMING__COUNT
};
const char *am_framing_name(enum am_framing f);

struct am_rule {
	char *name;
	struct am_loc loc;
	enum am_plugin plugin;
	enum am_summarise summarise;
	struct am_hostmatch server, client;
	struct am_portmatch server_port, client_port;
	uint8_t wait_for_syn;        /* WaitforSYN (default 1) */
	uint8_t wait_for_syn_given;  /* WaitforSYN said in the rule or its section (else
	                              * --midstream makes it 0 for the rule) */
	uint8_t del_session_on_cutoff; /* DelSessionOnCutoff (default 1) */
	uint8_t client_rst_as_fin;   /* ClientRSTasFIN (default 0) */
	int64_t cutoff;              /* Cutoff in microseconds; 0 = four summary intervals */
	uint32_t session_hash_size;  /* SessionHashSize, 0 = tracker default */
	uint8_t netmasklen, netmasklen6;
	enum am_timing timing;
	enum am_name_by name_by;
	enum am_framing framing;
	uint32_t ntx;
	struct am_txdef *tx;
	int32_t sig_other;           /* catch-all signature */
	int32_t sig_overflow;        /* generated names beyond the cap */
};

/* ICMP { ... } switches: which ICMP errors are counted per server. */
struct am_icmp {
	uint8_t present;             /* the section was given */
	uint8_t destination_unreachable, source_quench, redirect, time_exceeded,
		parameter_problem, conversion_error, the_rest;
};

/* artmon's own settings: the `artmon { }` section, with `user`, `group`,
 * `netmasklen`, `netmasklen6` also read from `pastmon { }` (artmon wins). */
struct am_settings {
	char **interfaces;           /* NULL-terminated; ninterfaces entries */
	uint32_t ninterfaces;
	char *filter;                /* BPF expression, NULL none */
	uint32_t snaplen;            /* bytes (default 262144) */
	uint64_t buffer;             /* capture buffer, bytes (default 32 MiB) */
	int64_t merge_window;        /* several interfaces: reorder window, microseconds
	                              * (20 ms; 0 none) */
	int64_t interval;            /* summary interval, microseconds (default 300 s) */
	char *store;                 /* store directory (default /var/lib/artmon) */
	char *agentx;                /* AgentX socket, NULL = Net-SNMP default */
	char *user, *group;          /* NULL: do not change */
	char *sensor;                /* NULL: the host name */
	uint8_t netmasklen, netmasklen6; /* summarisation prefix (32, 128) */
	uint32_t max_sessions;       /* tracker cap (262144) */
	uint32_t max_pending;        /* unanswered pipelined requests per framed connection (32) */
	uint32_t max_exchanges;      /* connections carrying data at once (0: as many as sessions) */
	uint64_t memcap;             /* tracker memory, bytes (256 MiB) */
	uint32_t max_keys;           /* aggregation keys per interval (100000) */
	uint32_t max_signatures;     /* generated ($n) names per rule (256) */
	uint32_t max_signature_name; /* bytes of a generated name (64) */
	uint32_t regex_match_limit;  /* PCRE2 match limit (100000) */
	uint32_t regex_depth_limit;  /* PCRE2 depth limit (1000) */
	int64_t adu_quiet;           /* ADU quiet time, microseconds (500 ms) */
	/* alarms and anomalies (artmond, issue 7) */
	struct am_alarm_conf *alarms; /* `alarm N { }` blocks, in file order */
	uint32_t nalarms;
	uint32_t loss_bound;         /* ppm; 0: alarms are never held back */
	uint32_t anomaly_bound;      /* thousandths (4000) */
	uint32_t anomaly_intervals;  /* (2) */
	uint32_t anomaly_min_history; /* past intervals (7) */
	uint32_t anomaly_min_txns;   /* (100) */
	uint32_t anomaly_days;       /* (14) */
	/* traffic census (issue 11, doc/census.md) */
	struct am_filter_conf *filters; /* `filter_set NAME { LABEL = "EXPR"; }`, in order */
	uint32_t nfilters;
	uint32_t top_n;              /* rows per top-N table; 0: no top-N tables (10) */
	uint32_t top_capacity;       /* counters per top-N table (4096) */
};

#define AM_TOP_N_MAX 1000
#define AM_TOP_CAPACITY_MAX 65536
#define AM_FILTERS_MAX 1024          /* labels in all filter sets */

/* One label of a `filter_set NAME { ... }` block of the artmon section.  The
 * expression is BPF text, not compiled here (rules/ knows nothing of pcap):
 * the programs that use it compile it and report errors at `loc`
 * (engine/conf.h: am_config_load_checked). */
struct am_filter_conf {
	char *set;                   /* [A-Za-z0-9_.-]+, not beginning with "hw." */
	char *label;                 /* [A-Za-z0-9_.-]+, unique within the set */
	char *expr;                  /* BPF expression as written */
	struct am_loc loc;           /* of the expression */
};

/* An `alarm N { ... }` block of the artmon section: a readOnly row of
 * artmonAlarmTable (values as ARTMON-MIB defines them). */
struct am_alarm_conf {
	uint32_t index;              /* 1..65535 */
	char *descr;                 /* "" when not given */
	struct am_addr server;       /* family 0: any server */
	uint16_t port;               /* 0: any */
	char *signature;             /* "": server rows, "*": every signature */
	int statistic;               /* ArtmonStatistic: 1 p50 .. 5 max, 6 transactions,
	                              * 7 errorRate, 8 captureLoss */
	int timing;                  /* ArtmonTiming: 1 none, 2 first .. 6 rtt */
	uint32_t rising, falling;    /* microseconds, transactions or ppm */
	int startup;                 /* 1 rising, 2 falling, 3 both */
	uint32_t min_txns;           /* (10) */
	uint32_t rate_limit;         /* seconds (0) */
};

struct am_rules_rt;            /* signature table and counters (mutable) */

struct am_config {
	char *path;                  /* the top file */
	struct am_settings set;
	uint32_t nrules;             /* generic rules, in file order */
	struct am_rule *rules;
	uint32_t nsynack;            /* tcpsynack rules, in file order */
	struct am_rule *synack;
	struct am_icmp icmp;
	uint32_t nfiles;             /* every file read, top first */
	char **files;
	struct am_rules_rt *rt;
	void *arena;
};

/* Reads path (and what it includes).  Returns NULL if any error was found;
 * diags (initialised by the caller) receives every error and warning. */
struct am_config *am_config_load(const char *path, struct am_diags *diags);
/* The same from memory; `name` is used in messages and relative includes
 * resolve against its directory. */
struct am_config *am_config_load_mem(const char *name, const char *text, size_t len,
				     struct am_diags *diags);
void am_config_free(struct am_config *cfg);
void am_settings_default(struct am_settings *set);

/* The shipped default configuration: $ARTMON_CONF if set, else the
 * installed SYSCONFDIR/artmon/artmon.conf. */
const char *am_config_default_path(void);

/* What `artmon check` prints: settings, rules with their matches, transactions. */
void am_config_print(const struct am_config *cfg, FILE *out);

/* ------------------------------------------------------------------ */
/* Matching                                                            */

/* The generic rule for a connection: index into cfg->rules, or -1. */
int am_rules_bind(const struct am_config *cfg,
		  const struct am_addr *client, uint16_t client_port,
		  const struct am_addr *server, uint16_t server_port);
/* The same over the tcpsynack rules (handshake times): index into cfg->synack, or -1. */
int am_rules_bind_synack(const struct am_config *cfg,
			 const struct am_addr *client, uint16_t client_port,
			 const struct am_addr *server, uint16_t server_port);
/* 1 if the rule's addresses and ports match the connection. */
int am_rule_matches(const struct am_rule *r,
		    const struct am_addr *client, uint16_t client_port,
		    const struct am_addr *server, uint16_t server_port);

/* What is known of one request while it arrives; kept with the session
 * (fixed size, no allocation).  Zeroed by am_req_begin(). */
struct am_req {
	int32_t signature;     /* >= 0, AM_SIG_IGNORE, or AM_SIG_NONE */
	int32_t rule;
	int32_t tx;            /* transaction index in the rule, -1 = catch-all */
	uint32_t merged;       /* bit i: merge block i matched */
	uint64_t seen;         /* request bytes given so far */
	uint64_t body_start;   /* offset after the empty line ending the headers, 0 unknown */
	uint64_t expect_body;  /* Expect_data_bytes value */
	uint8_t has_expect;
	uint8_t want_more;     /* 1: give later segments of this request to am_req_more() */
	uint8_t hdr_state;     /* empty-line search across segments */
};

/* Names a request from its first captured segment.  rule < 0 gives
 * AM_SIG_NONE.  Returns the signature (also stored in req->signature). */
int32_t am_req_begin(const struct am_config *cfg, int rule, struct am_req *req,
		     const uint8_t *data, uint32_t len);
/* A later client segment of the same request (before its response): matches
 * the transaction's merge blocks, finds the end of the headers. */
void am_req_more(const struct am_config *cfg, struct am_req *req,
		 const uint8_t *data, uint32_t len);
/* Total request bytes expected (headers + Expect_data_bytes), 0 = unknown.
 * The request is complete when req->seen >= this value. */
uint64_t am_req_expected(const struct am_req *req);

/* Shorthand: am_req_begin() with a throw-away request state. */
int32_t am_classify(const struct am_config *cfg, int rule, const uint8_t *data, uint32_t len);

/* ------------------------------------------------------------------ */
/* Signatures                                                          */

uint32_t am_sig_count(const struct am_config *cfg);
const char *am_sig_name(const struct am_config *cfg, int32_t sig);   /* NULL if unknown */
int32_t am_sig_rule(const struct am_config *cfg, int32_t sig);       /* -1 if unknown */
/* The id of `name` (len bytes, need not be NUL-terminated) under a rule:
 * for names found at run time (e.g. a TLS server name).  Applies the
 * rule's caps: long names are cut, names beyond the cap give the rule's
 * overflow signature.  Bytes outside printable ASCII become '_'. */
int32_t am_sig_intern(const struct am_config *cfg, int rule, const char *name, size_t len);

/* The server name of a TLS ClientHello at the start of data, copied into
 * buf (NUL-terminated); returns its length, or -1 if there is none. */
int am_tls_sni(const uint8_t *data, uint32_t len, char *buf, size_t bufsz);

struct am_rules_stats {
	uint64_t requests;       /* am_req_begin calls with a rule */
	uint64_t matched;        /* named by a transaction */
	uint64_t other;          /* fell to the catch-all */
	uint64_t ignored;        /* Ignore = 1 */
	uint64_t regex_limit;    /* a regex hit its match/depth limit (fell through) */
	uint64_t regex_error;    /* other PCRE2 match errors */
	uint64_t name_overflow;  /* generated names folded into (overflow) */
	uint64_t name_truncated; /* generated names cut to max_signature_name */
	uint64_t merges;         /* merge blocks matched */
	uint32_t signatures;     /* entries in the signature table */
};
void am_rules_stats(const struct am_config *cfg, struct am_rules_stats *st);
/* Generated names folded into the rule's overflow signature. */
uint64_t am_rule_overflow(const struct am_config *cfg, int rule);

#endif
