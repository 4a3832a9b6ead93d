/* DNS over UDP: pairs each query with its response by addresses, ports and
 * query id.  Exchanges are reported through the tracker's callback type
 * (struct am_txn with the rcode in `status`), so every consumer handles TCP
 * and DNS alike.  Bounded: at most max_pending queries wait for an answer. */
#ifndef AM_DNS_H
#define AM_DNS_H

#include <stdint.h>
#include "capture/decode.h"
#include "capture/tracker.h"

struct am_dns_cfg {
	uint32_t max_pending;       /* default 65536 */
	int64_t timeout;            /* unanswered after this long (5 s) */
	uint16_t ports[8];          /* server ports (default 53) */
	int nports;
};

struct am_dns_stats {
	uint64_t queries;
	uint64_t responses;
	uint64_t answered;          /* responses paired with their query */
	uint64_t unanswered;        /* queries that timed out */
	uint64_t duplicate_responses;
	uint64_t unsolicited;       /* responses to no query we saw */
	uint64_t retransmitted_queries;
	uint64_t pending_cap;       /* queries not tracked: the table was full */
	uint64_t malformed;         /* shorter than a DNS header */
	uint64_t pending;
};

struct am_dns;

void am_dns_cfg_default(struct am_dns_cfg *cfg);
struct am_dns *am_dns_new(const struct am_dns_cfg *cfg, const struct am_tracker_cb *cb);
void am_dns_free(struct am_dns *d);
/* Returns 1 when the packet was DNS (consumed), 0 otherwise. */
int am_dns_packet(struct am_dns *d, const struct am_packet *p);
void am_dns_tick(struct am_dns *d, am_time_t now);
/* End of input: waiting queries are reported with outcome "open". */
void am_dns_finish(struct am_dns *d);
void am_dns_stats(const struct am_dns *d, struct am_dns_stats *st);

#endif
