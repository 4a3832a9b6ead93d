/* ARTMON-MIB handlers without snmpd: OID order, GET/GETNEXT across tables
 * and across empty tables, index encoding and decoding, the in-memory
 * aggregates behind the server, signature, histogram and history tables. */
#include "config.h"
#include "agent/aggview.h"
#include "agent/alarms.h"
#include "agent/mib.h"
#include "agent/censusd.h"
#include "engine/census_conf.h"
#include "pktbuild.h"
#include "capture/decode.h"
#include "store/agg.h"
#include "store/store.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define R ARTMON_MIB_OID   /* the module's root, as a list of numbers */

#define T0 1700000040LL       /* a multiple of the 60 s interval */

static struct am_mib_capture caps[2];
static struct am_mib_state st;
static struct am_store *store;
static struct am_agg *agg;
static struct am_aggview *view;
static char storedir[64];

/* An OID from a list of numbers. */
#define OID(...) ((const am_subid[]){ __VA_ARGS__ }), (sizeof((const am_subid[]){ __VA_ARGS__ }) / sizeof(am_subid))

static void
fmt_oid(const am_subid *o, size_t n, char *buf, size_t len)
{
	size_t p = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && p < len; i++)
		p += (size_t)snprintf(buf + p, len - p, ".%u", o[i]);
}

static void
set_addr(struct am_addr *a, const char *s)
{
	ck_assert_int_eq(am_addr_parse(s, a), 0);
}

static void
feed(const char *server, uint16_t port, int64_t first, int64_t rtt, enum am_outcome out,
    const char *sig)
{
	struct am_conn c;
	struct am_txn t;

	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	set_addr(&c.server, server);
	set_addr(&c.client, strchr(server, ':') ? "2001:db8::99" : "192.0.2.99");
	c.server_port = port;
	c.client_port = 40000;
	c.srv_rtt = rtt >= 0 ? rtt / 2 : -1;
	c.cli_rtt = rtt >= 0 ? rtt - rtt / 2 : -1;
	t.req_first = T0 * AM_USEC;
	t.first = first;
	t.last = first >= 0 ? first + 10 : -1;
	t.ack = -1;
	t.think = -1;
	t.req_bytes = 100;
	t.resp_bytes = 1000;
	t.outcome = out;
	struct am_agg_key k;
	am_agg_key_make(&k, &c, "web", sig, 32, 128, AM_BY_SERVER);
	ck_assert_int_eq(am_agg_add(agg, &k, &c, &t), 0);
	am_aggview_txn(view, &c, &t, sig, 32, 128);
	am_aggview_touch(view);
}

/* Closes the open interval (it starts at `start` seconds). */
static void
close_interval(long long start)
{
	ck_assert_int_eq(am_agg_advance(agg, (start + 60) * AM_USEC), 1);
	am_aggview_touch(view);
}

static void
setup_empty(void)
{
	memset(&st, 0, sizeof(st));
	memset(caps, 0, sizeof(caps));
	snprintf(st.sensor_name, sizeof(st.sensor_name), "sensor-1");
	snprintf(st.version, sizeof(st.version), "0.1.0");
	st.start_time = 1700000000 * AM_USEC + 100000;
	st.interval_s = 60;
	st.history_depth = 24;
	store = NULL;
	agg = NULL;
	view = NULL;
}

/* An aggregator (interval 60 s; max_known: idle keys leave memory beyond
 * it, 0 for the default) and its view, on a new store or the one open. */
static void
open_aggview(uint32_t max_known)
{
	struct am_store_info si;
	struct am_agg_cfg ac;

	if (store == NULL) {
		struct am_store_cfg sc;
		char err[256];
		snprintf(storedir, sizeof(storedir), "/tmp/check_agent_mib.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(storedir));
		am_store_cfg_default(&sc);
		sc.map_size = 64 << 20;
		sc.interval_s = 60;
		store = am_store_open(storedir, &sc, AM_STORE_RDWR, err, sizeof(err));
		ck_assert_msg(store != NULL, "store: %s", err);
	}
	am_store_info(store, &si);
	am_agg_cfg_default(&ac);
	ac.interval_s = 60;
	ac.need_handshake = 0;
	if (max_known) {
		ac.idle_s = 60;
		ac.max_known = max_known;
	}
	agg = am_agg_new(&ac, store);
	ck_assert_ptr_nonnull(agg);
	view = am_aggview_new(agg, store, si.le, si.n_le, 3);
	am_aggview_set_max_age(view, 0);
	am_aggview_tables(view, &st.tables);
}

static void
setup_full(void)
{
	setup_empty();
	snprintf(caps[0].name, sizeof(caps[0].name), "eth0");
	caps[0].kind = AM_CAPK_INTERFACE;
	caps[0].linktype = 1;
	caps[0].state = AM_CAPS_UP;
	caps[0].packets = 5000000000ULL;
	caps[0].malformed[0] = 3;    /* truncatedLink */
	caps[0].malformed[6] = 4;    /* badIpHeaderLength */
	snprintf(caps[1].name, sizeof(caps[1].name), "eth1");
	caps[1].kind = AM_CAPK_INTERFACE;
	caps[1].state = AM_CAPS_REOPENING;
	caps[1].linktype = -1;
	st.captures = caps;
	st.ncaptures = 2;

	open_aggview(0);
	ck_assert_int_eq(am_agg_advance(agg, T0 * AM_USEC), 0);
	/* Fed out of order on purpose: the tables must come out sorted.
	 * Signature ids are the store's, in order of first appearance:
	 * GET / 1, GET /a 2, GET /b 3, POST /x 4. */
	feed("2001:db8::1", 443, 150, 40, AM_OUT_COMPLETE, "GET /");
	feed("192.0.2.10", 8080, 90, 20, AM_OUT_COMPLETE, "GET /a");
	feed("192.0.2.10", 80, 200, 20, AM_OUT_COMPLETE, "GET /b");
	feed("192.0.2.10", 80, 1200, 20, AM_OUT_COMPLETE, "GET /a");
	feed("192.0.2.10", 80, -1, -1, AM_OUT_RESET, "GET /a");
	feed("192.0.2.9", 80, 70000, 20, AM_OUT_COMPLETE, "POST /x");
}

static void
teardown(void)
{
	char cmd[128];

	am_aggview_free(view);
	am_agg_free(agg);
	if (store) {
		am_store_close(store);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", storedir);
		ck_assert_int_eq(system(cmd), 0);
	}
	view = NULL;
	agg = NULL;
	store = NULL;
}

/* ------------------------------------------------------------------ index */

START_TEST(test_index_server_roundtrip)
{
	struct am_addr a, b;
	uint16_t port;
	am_subid buf[AM_OID_MAX];
	size_t n;

	set_addr(&a, "192.0.2.10");
	n = am_mib_index_server(&a, 80, buf);
	ck_assert_uint_eq(n, 7);
	ck_assert_uint_eq(buf[0], 1);
	ck_assert_uint_eq(buf[1], 4);
	ck_assert_uint_eq(buf[2], 192);
	ck_assert_uint_eq(buf[5], 10);
	ck_assert_uint_eq(buf[6], 80);
	ck_assert_uint_eq(am_mib_index_server_decode(buf, n, &b, &port), 7);
	ck_assert_int_eq(am_addr_cmp(&a, &b), 0);
	ck_assert_uint_eq(port, 80);

	set_addr(&a, "2001:db8::1");
	n = am_mib_index_server(&a, 443, buf);
	ck_assert_uint_eq(n, 19);
	ck_assert_uint_eq(buf[0], 2);
	ck_assert_uint_eq(buf[1], 16);
	ck_assert_uint_eq(buf[2], 0x20);
	ck_assert_uint_eq(buf[17], 1);
	ck_assert_uint_eq(buf[18], 443);
	ck_assert_uint_eq(am_mib_index_server_decode(buf, n, &b, &port), 19);
	ck_assert_int_eq(am_addr_cmp(&a, &b), 0);
	ck_assert_uint_eq(port, 443);
}
END_TEST

START_TEST(test_index_server_invalid)
{
	struct am_addr a;
	uint16_t port;

	ck_assert_uint_eq(am_mib_index_server_decode(OID(1, 4, 10, 0, 0), &a, &port), 0);        /* short */
	ck_assert_uint_eq(am_mib_index_server_decode(OID(1, 16, 10, 0, 0, 1, 80), &a, &port), 0); /* length */
	ck_assert_uint_eq(am_mib_index_server_decode(OID(3, 4, 10, 0, 0, 1, 80), &a, &port), 0);  /* type */
	ck_assert_uint_eq(am_mib_index_server_decode(OID(1, 4, 256, 0, 0, 1, 80), &a, &port), 0); /* octet */
	ck_assert_uint_eq(am_mib_index_server_decode(OID(1, 4, 10, 0, 0, 1, 65536), &a, &port), 0); /* port */
	ck_assert_uint_eq(am_mib_index_server_decode(OID(1), &a, &port), 0);
	/* Longer than needed: decodes the server part, leaves the rest. */
	ck_assert_uint_eq(am_mib_index_server_decode(OID(1, 4, 10, 0, 0, 1, 80, 7), &a, &port), 7);
}
END_TEST

START_TEST(test_oid_cmp)
{
	ck_assert_int_lt(am_oid_cmp(OID(1, 2), OID(1, 2, 0)), 0);
	ck_assert_int_gt(am_oid_cmp(OID(1, 3), OID(1, 2, 9)), 0);
	ck_assert_int_eq(am_oid_cmp(OID(1, 2, 3), OID(1, 2, 3)), 0);
	ck_assert_int_gt(am_oid_cmp(OID(4294967295u), OID(4294967294u, 1)), 0);
}
END_TEST

START_TEST(test_date_and_time)
{
	uint8_t b[11];
	/* 2023-11-14 22:13:20.3 UTC */
	size_t n = am_mib_date_and_time(1700000000 * AM_USEC + 345678, b);
	const uint8_t want[11] = { 0x07, 0xe7, 11, 14, 22, 13, 20, 3, '+', 0, 0 };

	ck_assert_uint_eq(n, 11);
	ck_assert_mem_eq(b, want, 11);
	/* The epoch, used before the first interval ends. */
	const uint8_t epoch[11] = { 0x07, 0xb2, 1, 1, 0, 0, 0, 0, '+', 0, 0 };
	am_mib_date_and_time(0, b);
	ck_assert_mem_eq(b, epoch, 11);
	/* 29 February of a leap year. */
	am_mib_date_and_time(951782400LL * AM_USEC, b);   /* 2000-02-29 00:00:00 */
	ck_assert_uint_eq(b[2], 2);
	ck_assert_uint_eq(b[3], 29);
}
END_TEST

START_TEST(test_malformed_slots)
{
	int seen[AM_MAL_REASONS] = { 0 };
	int n = 0;

	for (int r = 0; r < AM_DEC__COUNT; r++) {
		int s = am_mib_malformed_slot(r);
		if (r < AM_DEC_FIRST_MALFORMED) {
			ck_assert_int_eq(s, -1);
			continue;
		}
		ck_assert_int_ge(s, 0);
		ck_assert_int_lt(s, AM_MAL_REASONS);
		ck_assert_int_eq(seen[s], 0);
		seen[s] = 1;
		n++;
	}
	/* Every malformed reason of the decoder has its own MIB value. */
	ck_assert_int_eq(n, AM_MAL_REASONS);
}
END_TEST

/* ------------------------------------------------------------------ GET */

START_TEST(test_get_scalars)
{
	struct am_mib_value v;

	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 1, 1, 0), &v), AM_MIB_OK);
	ck_assert_int_eq(v.type, AM_V_OCTETS);
	ck_assert_uint_eq(v.len, 8);
	ck_assert_mem_eq(v.s, "sensor-1", 8);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 1, AM_SENSOR_INTERVAL, 0), &v), AM_MIB_OK);
	ck_assert_int_eq(v.type, AM_V_UNSIGNED);
	ck_assert_uint_eq(v.u, 60);
	/* Before the first interval: the epoch and 0. */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 1, AM_SENSOR_LAST_END_SECONDS, 0), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 0);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 1, AM_SENSOR_CONFIG_RESULT, 0), &v), AM_MIB_OK);
	ck_assert_int_eq(v.type, AM_V_INTEGER);
	ck_assert_int_eq(v.i, 1);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 2, AM_STORE_PRUNED, 0), &v), AM_MIB_OK);
	ck_assert_int_eq(v.type, AM_V_COUNTER64);
	/* Wrong instance, unknown object, outside the module. */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 1, 1), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 1, 1, 1), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 1, 1, 0, 0), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 1, AM_SENSOR__MAX + 1, 0), &v), AM_MIB_NOSUCHOBJECT);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 99, 1, 0), &v), AM_MIB_NOSUCHOBJECT);
	ck_assert_int_eq(am_mib_get(&st, OID(1, 3, 6, 1, 2, 1, 1, 1, 0), &v), AM_MIB_NOSUCHOBJECT);
	/* Objects that travel only in notifications are not readable. */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_NOTIFY, AM_NO_VALUE, 0), &v), AM_MIB_NOSUCHOBJECT);
}
END_TEST

START_TEST(test_get_capture)
{
	struct am_mib_value v;

	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 3, 1, AM_CAP_NAME, 2), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.len, 4);
	ck_assert_mem_eq(v.s, "eth1", 4);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 3, 1, AM_CAP_STATE, 2), &v), AM_MIB_OK);
	ck_assert_int_eq(v.i, AM_CAPS_REOPENING);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 3, 1, AM_CAP_PACKETS, 1), &v), AM_MIB_OK);
	ck_assert_int_eq(v.type, AM_V_COUNTER64);
	ck_assert_uint_eq(v.u, 5000000000ULL);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 3, 1, AM_CAP_TRUNCATED, 1), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 3);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 3, 1, AM_CAP_MALFORMED, 1), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 4);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 4, 1, AM_MAL_PACKETS, 1, 7), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 4);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 3, 1, AM_CAP_NAME, 3), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 3, 1, AM_CAP_NAME, 0), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 3, 1, AM_CAP_NAME, 1, 1), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 3, 1, AM_CAP_NAME), &v), AM_MIB_NOSUCHINSTANCE);
	/* The index column is not-accessible. */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 3, 1, AM_CAP_INDEX, 1), &v), AM_MIB_NOSUCHOBJECT);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 4, 1, AM_MAL_PACKETS, 1, 13), &v), AM_MIB_NOSUCHINSTANCE);
}
END_TEST

START_TEST(test_get_server_and_signature)
{
	struct am_mib_value v;

	/* 192.0.2.10:80 had three transactions (one reset, no timing). */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_TXNS, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_int_eq(v.type, AM_V_COUNTER64);
	ck_assert_uint_eq(v.u, 3);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_RESETS, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 1);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_FIRST_SUM, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 1400);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_FIRST_N, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 2);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_RULES, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.len, 3);
	/* IPv6 */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_RTT_SUM, 2, 16, 0x20, 1, 0x0d, 0xb8,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 443), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 40);
	/* Signature ids are the store's: GET /a is 2, GET /b is 3. */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 6, 1, AM_SIG_NAME, 1, 4, 192, 0, 2, 10, 80, 3), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.len, 6);
	ck_assert_mem_eq(v.s, "GET /b", 6);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 6, 1, AM_SIG_NAME, 1, 4, 192, 0, 2, 10, 80, 2), &v), AM_MIB_OK);
	ck_assert_mem_eq(v.s, "GET /a", 6);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 6, 1, AM_SIG_STATS + AM_ST_TXNS, 1, 4, 192, 0, 2, 10, 80, 2), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 2);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 6, 1, AM_SIG_RULE, 1, 4, 192, 0, 2, 10, 80, 2), &v), AM_MIB_OK);
	ck_assert_mem_eq(v.s, "web", 3);
	/* Rows that do not exist. */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_RULES, 1, 4, 192, 0, 2, 10, 81), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_RULES, 1, 4, 192, 0, 2, 10), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 6, 1, AM_SIG_NAME, 1, 4, 192, 0, 2, 10, 80, 1), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 6, 1, AM_SIG_NAME, 1, 4, 192, 0, 2, 10, 80, 4), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST__COUNT, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_NOSUCHOBJECT);
}
END_TEST

START_TEST(test_histogram_and_history)
{
	struct am_mib_value v;

	/* GET /a (2) of 192.0.2.10:80: first = 1200 (and one reset without). */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 2, 1000), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 0);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 2, 2500), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 1);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 2, 60000000), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 1);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 2, AM_HIST_BOUND_INF), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 1);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 2, 2000), &v), AM_MIB_NOSUCHINSTANCE);

	/* No history before an interval closes; then one row per signature. */
	struct am_mib_value w;
	am_subid next[AM_OID_MAX];
	size_t n = am_mib_getnext(&st, OID(R, 1, 8), next, &w);
	ck_assert(n == 0 || next[ARTMON_MIB_OID_LEN + 1] != 8);
	close_interval(T0);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 8, 1, AM_HY_TXNS, 1, 4, 192, 0, 2, 10, 80, 2, T0), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 2);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 8, 1, AM_HY_P50, 1, 4, 192, 0, 2, 10, 80, 2, T0), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 1200);
	/* The signature row's own last-interval statistics. */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 6, 1, AM_SIG_STATS + AM_ST_INT_TXNS, 1, 4, 192, 0, 2, 10, 80, 2), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 2);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 6, 1, AM_SIG_STATS + AM_ST_INT_FIRST_P50, 1, 4, 192, 0, 2, 10, 80, 3), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 200);
	/* And the last-interval gauges of the server row. */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_INT_TXNS, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_int_eq(v.type, AM_V_GAUGE);
	ck_assert_uint_eq(v.u, 3);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_INT_ERRORS, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 1);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_INT_FIRST_MAX, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 1200);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_INT_FIRST_MIN, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 200);

	/* The table shows the last history_depth (3) intervals, oldest first. */
	for (int k = 1; k <= 4; k++) {
		feed("192.0.2.10", 80, 100 * k, 20, AM_OUT_COMPLETE, "GET /a");
		close_interval(T0 + 60 * k);
	}
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 8, 1, AM_HY_TXNS, 1, 4, 192, 0, 2, 10, 80, 2, T0 + 60), &v), AM_MIB_NOSUCHINSTANCE);
	n = am_mib_getnext(&st, OID(R, 1, 8, 1, AM_HY_P50, 1, 4, 192, 0, 2, 10, 80, 2), next, &w);
	ck_assert_uint_eq(n, ARTMON_MIB_OID_LEN + 13);
	ck_assert_uint_eq(next[n - 1], T0 + 120);
	ck_assert_uint_eq(w.u, 200);
	/* An interval without transactions: the gauges go back to zero. */
	ck_assert_int_eq(am_agg_advance(agg, (T0 + 360) * AM_USEC), 1);
	am_aggview_touch(view);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_INT_TXNS, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 0);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_TXNS, 1, 4, 192, 0, 2, 10, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 7);
}
END_TEST

/* ------------------------------------------------------------------ GETNEXT */

/* Walks the whole module; checks strict order and that each instance
 * answers GET with the same value.  Returns the number of instances. */
static size_t
walk_all(FILE *log)
{
	am_subid cur[AM_OID_MAX], next[AM_OID_MAX];
	size_t len = 0, n, count = 0;
	struct am_mib_value v, g;
	char a[1024], b[1024];

	memcpy(cur, am_mib_root_oid, am_mib_root_oid_len * sizeof(am_subid));
	len = am_mib_root_oid_len;
	while ((n = am_mib_getnext(&st, cur, len, next, &v)) > 0) {
		if (am_oid_cmp(next, n, cur, len) <= 0) {
			fmt_oid(cur, len, a, sizeof(a));
			fmt_oid(next, n, b, sizeof(b));
			ck_abort_msg("GETNEXT went backwards: %s -> %s", a, b);
		}
		ck_assert_int_eq(am_mib_get(&st, next, n, &g), AM_MIB_OK);
		ck_assert_int_eq(g.type, v.type);
		ck_assert_uint_eq(g.u, v.u);
		ck_assert_int_eq(g.i, v.i);
		ck_assert_uint_eq(g.len, v.len);
		if (log) {
			fmt_oid(next, n, b, sizeof(b));
			fprintf(log, "%s\n", b);
		}
		memcpy(cur, next, n * sizeof(am_subid));
		len = n;
		count++;
		ck_assert_uint_lt(count, 100000);
	}
	return count;
}

START_TEST(test_walk_full)
{
	size_t n = walk_all(NULL);
	size_t scalars = AM_SENSOR__MAX + AM_STORE__MAX + 2 + 4;
	size_t capture = 2 * (AM_CAP__MAX - 1) + 2 * AM_MAL_REASONS;
	/* 4 servers, 5 signatures, 19 histogram rows each, no history yet */
	size_t servers = 4 * (1 + AM_ST__COUNT);
	size_t sigs = 5 * (2 + AM_ST__COUNT);
	size_t hist = 5 * 19;     /* the default ladder: 18 bounds and +inf */

	ck_assert_uint_eq(n, scalars + capture + servers + sigs + hist);
}
END_TEST

/* artmonCensus: a census built from a configuration and fed frames;
 * the filter, hardwired and top-N rows in index order, their values, and
 * a walk that passes through them in order. */
START_TEST(test_census_tables)
{
	static const char text[] =
		"artmon { top_n = 3; top_capacity = 16;\n"
		"  filter_set web { http = \"tcp port 80\"; dns = \"udp port 53\"; }\n"
		"  filter_set all { ip = \"ip\"; } }\n";
	struct am_diags d;
	struct am_config *cfg;
	struct am_censusd cd;
	char err[256];
	uint8_t buf[256];
	struct am_frame f;
	struct am_mib_value v;
	am_subid next[AM_OID_MAX];
	size_t n;

	am_diags_init(&d);
	cfg = am_config_load_mem("c.conf", text, sizeof(text) - 1, &d);
	ck_assert_ptr_nonnull(cfg);
	am_censusd_init(&cd, 60);
	ck_assert_int_eq(am_censusd_configure(&cd, cfg, 0, err, sizeof(err)), 0);
	st.census = &cd;
	/* before any interval: scalars, no top rows */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_TOP_N, 0), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 3);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_TOP_TABLE, 1, AM_TC_COUNT, 2, 1), &v),
	    AM_MIB_NOSUCHINSTANCE);
	/* 192.0.2.1 sends 3 HTTP frames, 192.0.2.2 one, 2001:db8::1 a DNS query */
	memset(&f, 0, sizeof(f));
	f.data = buf;
	for (int i = 0; i < 5; i++) {
		struct pb_tcp t = { 0, i < 3 ? "192.0.2.1" : "192.0.2.2", "198.51.100.1", 40000, 80, 1, 0,
			0x10, 0, -1, NULL, 0, 0, 0, 0 };
		if (i == 4)
			f.caplen = f.wirelen = (uint32_t)pb_udp_frame(1, "2001:db8::1", "2001:db8::53", 5353, 53,
			    (const uint8_t *)"q", 1, buf, sizeof(buf));
		else
			f.caplen = f.wirelen = (uint32_t)pb_tcp_frame(&t, buf, sizeof(buf));
		f.ts = T0 * AM_USEC + i;
		f.dlt = 1;
		am_censusd_frame(&cd, &f);
	}
	/* the next interval's first frame completes this one */
	f.ts = (T0 + 60) * AM_USEC;
	am_censusd_frame(&cd, &f);
	ck_assert_int_eq(cd.last_start, T0 * AM_USEC);

	/* filter rows (cumulative): set 1 label 1 is web/http (4 frames), 1.2
	 * web/dns (2: the sixth frame is the DNS frame again), 2.1 all/ip (4) */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_FILTER_TABLE, 1, AM_FC_PACKETS, 1, 1), &v),
	    AM_MIB_OK);
	ck_assert_int_eq(v.type, AM_V_COUNTER64);
	ck_assert_uint_eq(v.u, 4);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_FILTER_TABLE, 1, AM_FC_PACKETS, 1, 2), &v),
	    AM_MIB_OK);
	ck_assert_uint_eq(v.u, 2);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_FILTER_TABLE, 1, AM_FC_LABEL, 2, 1), &v),
	    AM_MIB_OK);
	ck_assert_uint_eq(v.len, 2);
	ck_assert_int_eq(memcmp(v.s, "ip", 2), 0);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_FILTER_TABLE, 1, AM_FC_PACKETS, 2, 1), &v),
	    AM_MIB_OK);
	ck_assert_uint_eq(v.u, 4);    /* the IPv6 frames are not 'ip' */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_FILTER_TABLE, 1, AM_FC_PACKETS, 2, 2), &v),
	    AM_MIB_NOSUCHINSTANCE);
	/* after web/dns comes all/ip */
	n = am_mib_getnext(&st, OID(R, 1, AM_O_CENSUS, AM_CE_FILTER_TABLE, 1, AM_FC_SET_NAME, 1, 2), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, AM_O_CENSUS, AM_CE_FILTER_TABLE, 1, AM_FC_SET_NAME, 2, 1)), 0);
	/* hardwired: 18 rows; ipv6 (row 6) saw two frames */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_HW_TABLE, 1, AM_HC_PACKETS, AM_HW_IPV6 + 1), &v),
	    AM_MIB_OK);
	ck_assert_uint_eq(v.u, 2);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_HW_TABLE, 1, AM_HC_PACKETS, AM_HW__COUNT + 1), &v),
	    AM_MIB_NOSUCHINSTANCE);
	/* talkers by packets (list 2): 192.0.2.1 with 3, then 192.0.2.2 and 2001:db8::1 with 1 */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_TOP_TABLE, 1, AM_TC_ADDR, 2, 1), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.len, 4);
	ck_assert_int_eq(memcmp(v.s, "\xc0\x00\x02\x01", 4), 0);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_TOP_TABLE, 1, AM_TC_COUNT, 2, 1), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 3);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_TOP_TABLE, 1, AM_TC_ADDR_TYPE, 2, 1), &v), AM_MIB_OK);
	ck_assert_int_eq(v.i, 1);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_TOP_TABLE, 1, AM_TC_GUARANTEED, 2, 1), &v), AM_MIB_OK);
	ck_assert_int_eq(v.i, 1);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_TOP_TABLE, 1, AM_TC_COUNT, 2, 4), &v),
	    AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_TOPINFO_TABLE, 1, AM_TI_TOTAL, 2), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 5);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, AM_O_CENSUS, AM_CE_TOPINFO_TABLE, 1, AM_TI_ROWS, 2), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 3);
	/* list 2 has 3 rows, so its next row is list 3 (SYN senders: none), then list 1 of the next column */
	n = am_mib_getnext(&st, OID(R, 1, AM_O_CENSUS, AM_CE_TOP_TABLE, 1, AM_TC_COUNT, 2, 3), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, AM_O_CENSUS, AM_CE_TOP_TABLE, 1, AM_TC_ERROR, 1, 1)), 0);
	/* the whole walk stays ordered and every GETNEXT answer GETs the same */
	size_t total = walk_all(NULL);
	st.census = NULL;
	size_t without = walk_all(NULL);
	ck_assert_uint_eq(total - without,
	    AM_CE__MAX + 3 * (AM_FC__MAX - 2) + AM_HW__COUNT * (AM_HC__MAX - 1) +
	    AM_TOP__COUNT * (AM_TI__MAX - 1) + 2 * 3 * (AM_TC__MAX - 2));
	am_censusd_free(&cd);
	am_config_free(cfg);
	am_diags_free(&d);
}
END_TEST

START_TEST(test_walk_empty)
{
	/* No capture rows, no providers: the walk crosses every empty table. */
	size_t n = walk_all(NULL);
	ck_assert_uint_eq(n, AM_SENSOR__MAX + AM_STORE__MAX + 2 + 4);
}
END_TEST

START_TEST(test_getnext_across_empty_tables)
{
	am_subid next[AM_OID_MAX];
	struct am_mib_value v;
	size_t n;

	/* From the last store scalar, past the empty tables, to the alarm scalars. */
	n = am_mib_getnext(&st, OID(R, 1, 2, AM_STORE__MAX, 0), next, &v);
	ck_assert_uint_eq(n, ARTMON_MIB_OID_LEN + 4);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, AM_O_ALARM, AM_AL_LOSS_BOUND, 0)), 0);
	/* From inside an empty table. */
	n = am_mib_getnext(&st, OID(R, 1, 5, 1, 20, 1, 4, 10, 0, 0, 1, 80), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, AM_O_ALARM, AM_AL_LOSS_BOUND, 0)), 0);
	/* After the last readable object: nothing. */
	n = am_mib_getnext(&st, OID(R, 1, AM_O_ANOMALY, AM_AN_ACTIVE, 0), next, &v);
	ck_assert_uint_eq(n, 0);
	n = am_mib_getnext(&st, OID(R, 2), next, &v);
	ck_assert_uint_eq(n, 0);
	n = am_mib_getnext(&st, OID(1, 3, 6, 1, 4, 1, 32474), next, &v);
	ck_assert_uint_eq(n, 0);
	/* Before the module: its first object. */
	n = am_mib_getnext(&st, OID(1, 3, 6, 1, 2, 1), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 1, 1, 0)), 0);
	n = am_mib_getnext(&st, OID(R, 0), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 1, 1, 0)), 0);
}
END_TEST

START_TEST(test_getnext_odd_indexes)
{
	am_subid next[AM_OID_MAX];
	struct am_mib_value v;
	size_t n;
	unsigned col = AM_SRV_STATS + AM_ST_TXNS;

	/* Partial index: the first row at or after it. */
	n = am_mib_getnext(&st, OID(R, 1, 5, 1, col, 1, 4, 192, 0, 2, 10), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 5, 1, col, 1, 4, 192, 0, 2, 10, 80)), 0);
	ck_assert_uint_eq(v.u, 3);
	/* Exact row: the next one. */
	n = am_mib_getnext(&st, OID(R, 1, 5, 1, col, 1, 4, 192, 0, 2, 10, 80), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 5, 1, col, 1, 4, 192, 0, 2, 10, 8080)), 0);
	/* Longer than an index. */
	n = am_mib_getnext(&st, OID(R, 1, 5, 1, col, 1, 4, 192, 0, 2, 9, 80, 0, 0), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 5, 1, col, 1, 4, 192, 0, 2, 10, 80)), 0);
	/* Out-of-range sub-identifiers (an octet above 255). */
	n = am_mib_getnext(&st, OID(R, 1, 5, 1, col, 1, 4, 192, 0, 2, 4000), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 5, 1, col, 2, 16, 0x20, 1, 0x0d, 0xb8,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 443)), 0);
	/* Past the last row of a column: the first row of the next column. */
	n = am_mib_getnext(&st, OID(R, 1, 5, 1, col, 4294967295u), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 5, 1, col + 1, 1, 4, 192, 0, 2, 9, 80)), 0);
	/* IPv4 rows sort before IPv6 rows (type 1 < 2). */
	n = am_mib_getnext(&st, OID(R, 1, 5, 1, col, 1, 5), next, &v);
	ck_assert_uint_eq(next[ARTMON_MIB_OID_LEN + 4], 2);
	/* Column 0 and the index columns lead to the first readable column. */
	n = am_mib_getnext(&st, OID(R, 1, 5, 1, 0), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 5, 1, AM_SRV_RULES, 1, 4, 192, 0, 2, 9, 80)), 0);
	/* Capture table: index 0 and beyond the rows. */
	n = am_mib_getnext(&st, OID(R, 1, 3, 1, AM_CAP_NAME, 0), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 3, 1, AM_CAP_NAME, 1)), 0);
	n = am_mib_getnext(&st, OID(R, 1, 3, 1, AM_CAP_NAME, 1, 5), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 3, 1, AM_CAP_NAME, 2)), 0);
	n = am_mib_getnext(&st, OID(R, 1, 3, 1, AM_CAP__MAX, 2), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 4, 1, AM_MAL_PACKETS, 1, 1)), 0);
	/* Histogram: from inside a signature's bounds to the next bound. */
	n = am_mib_getnext(&st, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 2, 2000), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 2, 2500)), 0);
	n = am_mib_getnext(&st, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 2, AM_HIST_BOUND_INF), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 3, 100)), 0);
	/* From a signature id that does not exist to the next one. */
	n = am_mib_getnext(&st, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 1, 99999), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 10, 80, 2, 100)), 0);
}
END_TEST

START_TEST(test_getnext_32bit_clamp)
{
	struct am_mib_value v;

	/* A timing above 2^32-1 microseconds is reported as 2^32-1. */
	feed("192.0.2.50", 80, 5000000000LL, 20, AM_OUT_COMPLETE, "slow");
	close_interval(T0);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_INT_FIRST_MAX, 1, 4, 192, 0, 2, 50, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 4294967295u);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_FIRST_SUM, 1, 4, 192, 0, 2, 50, 80), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 5000000000ULL);
}
END_TEST

START_TEST(test_key_overflow)
{
	struct am_agg_cfg ac;
	struct am_agg *a;
	struct am_aggview *w;
	struct am_mib_tables tb;
	struct am_mib_server_row row;
	struct am_agg_stats as;
	struct am_agg_key k;
	struct am_conn c;
	struct am_txn t;

	am_agg_cfg_default(&ac);
	ac.interval_s = 60;
	ac.need_handshake = 0;
	ac.max_keys = 1;
	a = am_agg_new(&ac, NULL);
	ck_assert_ptr_nonnull(a);
	w = am_aggview_new(a, NULL, ac.le, ac.n_le, 3);
	am_aggview_set_max_age(w, 0);
	am_aggview_tables(w, &tb);
	am_agg_advance(a, T0 * AM_USEC);
	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	set_addr(&c.server, "192.0.2.1");
	set_addr(&c.client, "192.0.2.2");
	c.srv_rtt = c.cli_rtt = -1;
	t.first = t.last = t.ack = t.think = -1;
	c.server_port = 80;
	am_agg_key_make(&k, &c, "r", "x", 32, 128, AM_BY_SERVER);
	ck_assert_int_eq(am_agg_add(a, &k, &c, &t), 0);
	c.server_port = 81;
	am_agg_key_make(&k, &c, "r", "x", 32, 128, AM_BY_SERVER);
	ck_assert_int_eq(am_agg_add(a, &k, &c, &t), 2);
	am_aggview_touch(w);
	am_agg_stats(a, &as);
	ck_assert_uint_eq(as.overflow, 1);
	/* The overflow key has no server row. */
	ck_assert_int_eq(tb.server(tb.ctx, NULL, 0, 0, &row), 1);
	ck_assert_uint_eq(row.port, 80);
	ck_assert_int_eq(tb.server(tb.ctx, OID(1, 4, 192, 0, 2, 1, 80), 1, &row), 0);
	/* Without a store there is no history. */
	struct am_mib_history_row h;
	ck_assert_int_eq(tb.history(tb.ctx, NULL, 0, 0, &h), 0);
	am_aggview_free(w);
	am_agg_free(a);
}
END_TEST

/* A view driven by am_aggview_step (as artmond drives it): requests serve
 * the last snapshot while the next is built in steps, and the rows come
 * out in the same order as a view rebuilt at once; the interval close of
 * a deferred flush leaves the last-interval columns right before and
 * after its steps. */
START_TEST(test_stepped_view)
{
	enum { NK = 3000 };
	struct am_agg_cfg ac;
	struct am_agg *a;
	struct am_aggview *w, *ref;
	struct am_mib_tables tb, tr;
	struct am_mib_sig_row x, y;
	struct am_agg_key k;
	struct am_agg_row arow;
	struct am_conn c;
	struct am_txn t;
	am_subid idx[AM_OID_MAX], prev[AM_OID_MAX];
	size_t len = 0, plen = 0;
	int steps = 0, rows = 0;
	char buf[64];

	am_agg_cfg_default(&ac);
	ac.interval_s = 60;
	ac.need_handshake = 0;
	ac.deferred_flush = 1;
	a = am_agg_new(&ac, NULL);
	ck_assert_ptr_nonnull(a);
	ref = am_aggview_new(a, NULL, ac.le, ac.n_le, 3);
	am_aggview_set_max_age(ref, 0);
	am_aggview_tables(ref, &tr);
	w = am_aggview_new(a, NULL, ac.le, ac.n_le, 3);
	am_aggview_set_max_age(w, 0);
	am_aggview_set_stepped(w);
	am_aggview_tables(w, &tb);
	am_agg_advance(a, T0 * AM_USEC);
	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	set_addr(&c.client, "192.0.2.2");
	c.srv_rtt = c.cli_rtt = -1;
	t.last = t.ack = t.think = -1;
	for (unsigned i = 0; i < NK; i++) {
		/* scattered over both families, ports and two signatures */
		unsigned h = (i * 2654435761u) >> 8;
		if (i % 3 == 0)
			snprintf(buf, sizeof(buf), "2001:db8::%x:%x", h >> 16, h & 0xffff);
		else
			snprintf(buf, sizeof(buf), "10.%u.%u.%u", (h >> 16) & 255, (h >> 8) & 255, h & 255);
		set_addr(&c.server, buf);
		c.server_port = (uint16_t)(80 + i % 4);
		t.first = 100 + i;
		am_agg_key_make(&k, &c, "r", i % 5 ? "GET /" : "POST /", 32, 128, AM_BY_SERVER);
		ck_assert_int_ne(am_agg_add(a, &k, &c, &t), 1);
		am_aggview_txn(w, &c, &t, i % 5 ? "GET /" : "POST /", 32, 128);
		am_aggview_txn(ref, &c, &t, i % 5 ? "GET /" : "POST /", 32, 128);
	}
	/* Nothing was built since: the (empty) snapshot is served. */
	ck_assert_int_eq(tb.signature(tb.ctx, NULL, 0, 0, &x), 0);
	ck_assert_int_eq(am_aggview_current(w), 0);
	/* One unit of work per step with a zero budget. */
	while (am_aggview_step(w, 0)) {
		steps++;
		/* not current until the new snapshot is served */
		if (tb.signature(tb.ctx, NULL, 0, 0, &x) == 0)
			ck_assert_int_eq(am_aggview_current(w), 0);
	}
	ck_assert_int_eq(am_aggview_current(w), 1);
	ck_assert_int_gt(steps, 10);
	/* The same rows in the same (strictly increasing) order. */
	for (;;) {
		int hx = tb.signature(tb.ctx, idx, len, len > 0, &x);
		int hy = tr.signature(tr.ctx, idx, len, len > 0, &y);
		ck_assert_int_eq(hx, hy);
		if (!hx)
			break;
		ck_assert_int_eq(am_addr_cmp(&x.addr, &y.addr), 0);
		ck_assert_uint_eq(x.port, y.port);
		ck_assert_uint_eq(x.id, y.id);
		ck_assert_str_eq(x.name, y.name);
		ck_assert_uint_eq(x.st.txns, 1);
		len = am_mib_index_sig(&x.addr, x.port, x.id, idx);
		if (plen)
			ck_assert_int_lt(am_oid_cmp(prev, plen, idx, len), 0);
		memcpy(prev, idx, len * sizeof(*idx));
		plen = len;
		rows++;
	}
	ck_assert_int_eq(rows, NK);
	/* The interval closes; its flush (here: the close work) is pending. */
	ck_assert_int_eq(am_agg_advance(a, (T0 + 60) * AM_USEC), 1);
	ck_assert_int_eq(am_agg_flush_pending(a), 1);
	ck_assert_int_eq(tb.signature(tb.ctx, NULL, 0, 0, &x), 1);
	ck_assert_uint_eq(x.st.int_txns, 1);
	ck_assert_uint_eq(x.st.int_first[AM_Q_MAX], x.st.sum[AM_MT_FIRST]);
	/* a key read before the flush reached it has its gauges */
	ck_assert_int_eq(am_agg_row_get(a, NK, &arow), 0);
	ck_assert_uint_eq(arow.last->count, 1);
	ck_assert_uint_eq(arow.last->t[AM_T_FIRST].max, 100 + NK - 1);
	steps = 0;
	while (am_agg_flush_step(a, 100) == 1)
		steps++;
	ck_assert_int_eq(steps, NK / 100 - 1);
	ck_assert_int_eq(am_agg_row_get(a, 1, &arow), 0);
	ck_assert_uint_eq(arow.last->count, 1);
	ck_assert_uint_eq(arow.last->t[AM_T_FIRST].min, 100);
	/* The next interval is silent: the sweep drops every row's
	 * accumulators, and the rows (cumulative) stay. */
	ck_assert_int_eq(am_agg_advance(a, (T0 + 120) * AM_USEC), 1);
	while (am_agg_flush_step(a, 1000) == 1)
		;
	while (am_aggview_step(w, 1000000))
		;
	ck_assert_int_eq(tb.signature(tb.ctx, NULL, 0, 0, &x), 1);
	ck_assert_uint_eq(x.st.int_txns, 0);
	ck_assert_uint_eq(x.st.txns, 1);
	am_aggview_free(w);
	am_aggview_free(ref);
	am_agg_free(a);
}
END_TEST

/* Intervals that close more often than the sweep of silent rows can go
 * round the table (a fast replay, 10 s intervals, more rows in use than
 * one step sweeps): the sweep must still reach every row, so that the
 * accumulators stay those of the rows seen in the last two intervals, not
 * of every row ever seen. */
START_TEST(test_sweep_keeps_up_with_closes)
{
	enum { NT = 2000, BUSY = 300 };
	struct am_agg_cfg ac;
	struct am_agg *a;
	struct am_aggview *w;
	struct am_agg_key k;
	struct am_conn c;
	struct am_txn t;
	char buf[64];

	am_agg_cfg_default(&ac);
	ac.interval_s = 10;
	ac.need_handshake = 0;
	ac.deferred_flush = 1;
	a = am_agg_new(&ac, NULL);
	ck_assert_ptr_nonnull(a);
	w = am_aggview_new(a, NULL, ac.le, ac.n_le, 3);
	am_aggview_set_stepped(w);
	am_aggview_set_max_age(w, 3600 * AM_USEC);  /* the steps go to the sweep */
	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	set_addr(&c.client, "192.0.2.2");
	c.srv_rtt = c.cli_rtt = -1;
	t.first = 100;
	t.last = t.ack = t.think = -1;
	c.server_port = 80;
	for (unsigned i = 0; i < NT; i++) {
		am_agg_advance(a, (T0 + 10 * (int64_t)i) * AM_USEC);
		while (am_agg_flush_step(a, 1000) == 1)
			;
		/* BUSY servers seen in every interval, and a new one each time */
		for (unsigned j = 0; j <= BUSY; j++) {
			unsigned n = j < BUSY ? j : BUSY + i;
			snprintf(buf, sizeof(buf), "10.%u.%u.%u", (n >> 16) & 255, (n >> 8) & 255, n & 255);
			set_addr(&c.server, buf);
			am_agg_key_make(&k, &c, "r", "GET /", 32, 128, AM_BY_SERVER);
			ck_assert_int_ne(am_agg_add(a, &k, &c, &t), 1);
			am_aggview_txn(w, &c, &t, "GET /", 32, 128);
		}
		/* one unit of background work (256 rows) per interval */
		am_aggview_step(w, 0);
	}
	/* the rows in use, and the new ones of the few intervals one round
	 * of the sweep takes: not the NT servers seen once */
	ck_assert_uint_lt(am_aggview_acc_rows(w), 2 * BUSY + 200);
	while (am_aggview_step(w, 1000000))
		;
	/* the server and signature rows of the last two intervals */
	ck_assert_uint_eq(am_aggview_acc_rows(w), 2 * BUSY + 4);
	am_aggview_free(w);
	am_agg_free(a);
}
END_TEST

struct seen_row {
	am_subid idx[AM_OID_MAX];
	size_t len;
	uint64_t txns;
};

static int
seen_cmp(const void *key, const void *elem)
{
	const struct seen_row *k = key, *e = elem;

	return am_oid_cmp(k->idx, k->len, e->idx, e->len);
}

/* Walks (GETNEXT after GETNEXT) while the next snapshot is built between
 * two requests, keys are added before and after the walk's position,
 * counted keys go on counting and intervals close with their flush in
 * steps: every walk comes out in strictly increasing order, and no row's
 * Counter64 ever reads less than it did in an earlier walk. */
START_TEST(test_walk_during_rebuild)
{
	enum { NK = 600, WALKS = 4 };
	struct am_agg_cfg ac;
	struct am_agg *a;
	struct am_aggview *w;
	struct am_mib_tables tb;
	struct am_mib_sig_row x;
	struct am_mib_server_row sv;
	struct am_agg_key k;
	struct am_conn c;
	struct am_txn t;
	struct seen_row *prev = NULL, *cur;
	size_t nprev = 0, ncur, cap;
	unsigned added = 0, reqs = 0;
	int64_t now = T0;
	char buf[64];

	am_agg_cfg_default(&ac);
	ac.interval_s = 60;
	ac.need_handshake = 0;
	ac.deferred_flush = 1;
	a = am_agg_new(&ac, NULL);
	ck_assert_ptr_nonnull(a);
	w = am_aggview_new(a, NULL, ac.le, ac.n_le, 3);
	am_aggview_set_max_age(w, 0);
	am_aggview_set_stepped(w);
	am_aggview_tables(w, &tb);
	am_agg_advance(a, now * AM_USEC);
	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	set_addr(&c.client, "192.0.2.2");
	c.srv_rtt = c.cli_rtt = -1;
	t.first = 100;
	t.last = t.ack = t.think = -1;
#define ADD_KEY(n) do {                                                                  \
		unsigned h_ = ((n) * 2654435761u) >> 8;                                  \
		snprintf(buf, sizeof(buf), "10.%u.%u.%u", (h_ >> 16) & 255, (h_ >> 8) & 255, \
		    h_ & 255);                                                           \
		set_addr(&c.server, buf);                                                \
		c.server_port = (uint16_t)(80 + (n) % 3);                                \
		am_agg_key_make(&k, &c, "r", (n) % 4 ? "GET /" : "POST /", 32, 128,      \
		    AM_BY_SERVER);                                                       \
		ck_assert_int_ne(am_agg_add(a, &k, &c, &t), 1);                          \
		am_aggview_txn(w, &c, &t, (n) % 4 ? "GET /" : "POST /", 32, 128);        \
	} while (0)
	for (; added < NK; added++)
		ADD_KEY(added);
	while (am_aggview_step(w, 1000000))
		;
	for (int walk = 0; walk < WALKS; walk++) {
		am_subid idx[AM_OID_MAX];
		size_t len = 0;
		cap = 2 * NK;
		cur = am_xcalloc(cap, sizeof(*cur));
		ncur = 0;
		while (tb.signature(tb.ctx, idx, len, len > 0, &x)) {
			struct seen_row *r, *p;
			if (ncur == cap) {
				cap *= 2;
				cur = am_xrealloc(cur, cap * sizeof(*cur));
			}
			r = &cur[ncur];
			r->len = am_mib_index_sig(&x.addr, x.port, x.id, r->idx);
			if (ncur)
				ck_assert_int_lt(am_oid_cmp(cur[ncur - 1].idx, cur[ncur - 1].len, r->idx,
				    r->len), 0);
			r->txns = x.st.txns;
			p = prev ? bsearch(r, prev, nprev, sizeof(*prev), seen_cmp) : NULL;
			if (p)
				ck_assert_uint_ge(r->txns, p->txns);
			/* the server row's counters hold its signature rows' */
			ck_assert_int_eq(tb.server(tb.ctx, r->idx, r->len - 1, 0, &sv), 1);
			ck_assert_uint_ge(sv.st.txns, x.st.txns);
			memcpy(idx, r->idx, r->len * sizeof(*idx));
			len = r->len;
			ncur++;
			/* Between two requests: a new key (anywhere in the order),
			 * one more transaction to a counted one, a unit of the
			 * view's work, and now and then an interval close whose
			 * flush goes in steps. */
			if (reqs % 3 == 0) {
				ADD_KEY(added);
				added++;
			}
			ADD_KEY(reqs % NK);
			if (++reqs % 97 == 0) {
				now += 60;
				ck_assert_int_eq(am_agg_advance(a, now * AM_USEC), 1);
			}
			am_agg_flush_step(a, 7);
			am_aggview_step(w, 0);
		}
		ck_assert_uint_ge(ncur, NK);
		free(prev);
		prev = cur;
		nprev = ncur;
	}
#undef ADD_KEY
	free(prev);
	am_aggview_free(w);
	am_agg_free(a);
}
END_TEST

START_TEST(test_by_client_rows_merge)
{
	struct am_mib_value v;
	struct am_agg_key k;
	struct am_conn c;
	struct am_txn t;

	/* Two keys for one server and signature (different clients) make one
	 * signature row with their sum. */
	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	set_addr(&c.server, "192.0.2.77");
	c.server_port = 25;
	c.srv_rtt = c.cli_rtt = -1;
	t.first = 500;
	t.last = t.ack = t.think = -1;
	t.req_bytes = 7;
	for (int i = 0; i < 2; i++) {
		set_addr(&c.client, i ? "198.51.100.1" : "198.51.100.2");
		am_agg_key_make(&k, &c, "mail", "HELO", 32, 128, AM_BY_CLIENT);
		ck_assert_int_eq(am_agg_add(agg, &k, &c, &t), 0);
		am_aggview_txn(view, &c, &t, "HELO", 32, 128);
	}
	am_aggview_touch(view);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 6, 1, AM_SIG_STATS + AM_ST_TXNS, 1, 4, 192, 0, 2, 77, 25, 5), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 2);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_REQ_OCTETS, 1, 4, 192, 0, 2, 77, 25), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 14);
	close_interval(T0);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 6, 1, AM_SIG_STATS + AM_ST_INT_TXNS, 1, 4, 192, 0, 2, 77, 25, 5), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 2);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 77, 25, 5, 500), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 2);
}
END_TEST

/* ------------------------------------------------------------------ dropped keys */

/* Keys of the test below: by client, at packet time `when` (seconds). */
static void
feed_client(const char *server, const char *client, const char *sig, long long when)
{
	struct am_conn c;
	struct am_txn t;
	struct am_agg_key k;

	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	set_addr(&c.server, server);
	set_addr(&c.client, client);
	c.server_port = 80;
	c.client_port = 40000;
	c.srv_rtt = c.cli_rtt = -1;
	t.req_first = when * AM_USEC;
	t.first = 400;
	t.last = t.ack = t.think = -1;
	t.req_bytes = 100;
	t.resp_bytes = 1000;
	t.outcome = AM_OUT_COMPLETE;
	am_agg_key_make(&k, &c, "web", sig, 32, 128, AM_BY_CLIENT);
	ck_assert_int_eq(am_agg_add(agg, &k, &c, &t), 0);
	am_aggview_txn(view, &c, &t, sig, 32, 128);
	am_aggview_touch(view);
}

/* What the rows must read: the true totals, and never less than before. */
struct truth {
	uint64_t srv, sig[4];
	uint64_t seen_srv, seen_sig[4], seen_le, seen_octets;
};

static uint64_t
get_u(const am_subid *oid, size_t len)
{
	struct am_mib_value v;
	char buf[256];

	fmt_oid(oid, len, buf, sizeof(buf));
	ck_assert_msg(am_mib_get(&st, oid, len, &v) == AM_MIB_OK, "no row at %s", buf);
	return v.u;
}

static void
check_truth(struct truth *tr, const char *when)
{
	uint64_t srv = get_u(OID(R, 1, 5, 1, AM_SRV_STATS + AM_ST_TXNS, 1, 4, 192, 0, 2, 50, 80));
	uint64_t p = get_u(OID(R, 1, 6, 1, AM_SIG_STATS + AM_ST_TXNS, 1, 4, 192, 0, 2, 50, 80, 1));
	uint64_t q = get_u(OID(R, 1, 6, 1, AM_SIG_STATS + AM_ST_TXNS, 1, 4, 192, 0, 2, 60, 80, 2));
	uint64_t octets = get_u(OID(R, 1, 6, 1, AM_SIG_STATS + AM_ST_REQ_OCTETS, 1, 4, 192, 0, 2, 50, 80, 1));
	uint64_t le = get_u(OID(R, 1, 7, 1, AM_HIST_COUNT, 1, 4, 192, 0, 2, 50, 80, 1, 500));

	ck_assert_msg(srv >= tr->seen_srv && p >= tr->seen_sig[1] && q >= tr->seen_sig[2] &&
	    le >= tr->seen_le && octets >= tr->seen_octets,
	    "%s: a counter went down: server %llu (was %llu), GET /p %llu (was %llu), "
	    "GET /q %llu (was %llu), le %llu (was %llu)", when,
	    (unsigned long long)srv, (unsigned long long)tr->seen_srv, (unsigned long long)p,
	    (unsigned long long)tr->seen_sig[1], (unsigned long long)q,
	    (unsigned long long)tr->seen_sig[2], (unsigned long long)le,
	    (unsigned long long)tr->seen_le);
	ck_assert_msg(srv == tr->srv && p == tr->sig[1] && q == tr->sig[2],
	    "%s: server %llu, GET /p %llu, GET /q %llu; %llu, %llu, %llu happened", when,
	    (unsigned long long)srv, (unsigned long long)p, (unsigned long long)q,
	    (unsigned long long)tr->srv, (unsigned long long)tr->sig[1], (unsigned long long)tr->sig[2]);
	ck_assert_uint_eq(le, tr->sig[1]);               /* every `first` is 400 */
	ck_assert_uint_eq(octets, 100 * tr->sig[1]);
	ck_assert_uint_eq(get_u(OID(R, 1, 6, 1, AM_SIG_STATS + AM_ST_TXNS, 1, 4, 192, 0, 2, 50, 80, 3)),
	    tr->sig[3]);
	tr->seen_srv = srv;
	tr->seen_sig[1] = p;
	tr->seen_sig[2] = q;
	tr->seen_le = le;
	tr->seen_octets = octets;
}

START_TEST(test_dropped_keys_keep_row_totals)
{
	struct am_agg_stats as;
	struct truth tr;
	char what[64], client[32];
	long long t = T0;

	/* A server whose signature rows sum many client keys, with room in
	 * memory for 10 keys: the idle ones are dropped (and reloaded when
	 * they come back), and the rows must still count them. */
	memset(&tr, 0, sizeof(tr));
	open_aggview(10);
	ck_assert_int_eq(am_agg_advance(agg, t * AM_USEC), 0);
	/* GET /p is signature 1, GET /q (another server, one key) 2, GET /r 3 */
	feed_client("192.0.2.50", "198.51.100.1", "GET /p", t);
	feed_client("192.0.2.60", "198.51.100.1", "GET /q", t);
	feed_client("192.0.2.50", "198.51.100.1", "GET /r", t);
	tr.sig[1] = tr.sig[2] = tr.sig[3] = 1;
	tr.srv = 2;
	check_truth(&tr, "start");
	for (int k = 1; k < 30; k++) {
		t += 60;
		ck_assert_int_ge(am_agg_advance(agg, t * AM_USEC), 0);
		snprintf(what, sizeof(what), "after the close before key %d", k);
		check_truth(&tr, what);
		snprintf(client, sizeof(client), "198.51.100.%d", k + 1);
		feed_client("192.0.2.50", client, "GET /p", t);
		tr.sig[1]++;
		tr.srv++;
		if (k % 5 == 0) {
			feed_client("192.0.2.50", client, "GET /r", t);
			tr.sig[3]++;
			tr.srv++;
		}
		snprintf(what, sizeof(what), "after key %d", k);
		check_truth(&tr, what);
	}
	am_agg_stats(agg, &as);
	ck_assert_uint_lt(as.keys_known, 15);        /* 10, and the keys seen since the close */
	ck_assert_uint_gt(as.keys_dropped, 20);

	/* Dropped keys come back while the snapshot is not rebuilt: they are
	 * counted at once, with their stored totals. */
	am_aggview_set_max_age(view, 3600 * AM_USEC);
	for (int k = 0; k < 5; k++) {
		snprintf(client, sizeof(client), "198.51.100.%d", k + 1);
		feed_client("192.0.2.50", client, "GET /p", t);
		tr.sig[1]++;
		tr.srv++;
		snprintf(what, sizeof(what), "after key %d came back", k);
		check_truth(&tr, what);
	}
	am_agg_stats(agg, &as);
	ck_assert_uint_ge(as.keys_reloaded, 5);
	am_aggview_set_max_age(view, 0);
	check_truth(&tr, "after a rebuild");
	/* and leave again */
	for (int k = 0; k < 4; k++) {
		t += 60;
		ck_assert_int_ge(am_agg_advance(agg, t * AM_USEC), 0);
		feed_client("192.0.2.50", "198.51.100.200", "GET /p", t);
		tr.sig[1]++;
		tr.srv++;
		check_truth(&tr, "after more closes");
	}

	/* A clean restart: the keys left in the store are counted too. */
	ck_assert_int_eq(am_agg_finish(agg), 0);
	am_aggview_free(view);
	am_agg_free(agg);
	open_aggview(10);
	am_agg_stats(agg, &as);
	ck_assert_uint_gt(as.keys_dropped, 0);
	check_truth(&tr, "after a restart");
	t += 60;
	ck_assert_int_ge(am_agg_advance(agg, t * AM_USEC), 0);
	feed_client("192.0.2.60", "198.51.100.1", "GET /q", t);
	tr.sig[2]++;
	check_truth(&tr, "after GET /q came back");
}
END_TEST

START_TEST(test_retired_rows_bounded)
{
	struct am_agg_stats as;
	char server[32];
	long long t = T0;
	size_t rows;
	uint64_t lost;
	am_time_t lost_at;

	/* 40 servers of one key each, room for 10 keys: at most 10 rows keep
	 * the totals of their dropped keys; the others are counted as lost
	 * (artmond moves artmonCounterDiscontinuityTime then). */
	open_aggview(10);
	ck_assert_int_eq(am_agg_advance(agg, t * AM_USEC), 0);
	for (int k = 0; k < 40; k++, t += 60) {
		ck_assert_int_ge(am_agg_advance(agg, t * AM_USEC), 0);
		snprintf(server, sizeof(server), "192.0.2.%d", 100 + k);
		feed_client(server, "198.51.100.1", "GET /p", t);
	}
	ck_assert_int_ge(am_agg_advance(agg, t * AM_USEC), 0);
	am_agg_stats(agg, &as);
	ck_assert_uint_gt(as.keys_dropped, 20);
	am_aggview_retired(view, &rows, &lost, &lost_at);
	ck_assert_uint_le(rows, 10);
	ck_assert_uint_gt(rows, 0);
	ck_assert_uint_gt(lost, 0);
	ck_assert_int_gt(lost_at, T0 * AM_USEC);
	/* the first rows kept theirs */
	ck_assert_uint_eq(get_u(OID(R, 1, 6, 1, AM_SIG_STATS + AM_ST_TXNS, 1, 4, 192, 0, 2, 100, 80, 1)), 1);
}
END_TEST

START_TEST(test_notification_varbinds)
{
	struct am_mib_notification nt;
	struct am_addr a;

	am_mib_notify_init(&nt, AM_NT_ALARM_RISING);
	ck_assert_int_eq(am_oid_cmp(nt.trap_oid, nt.trap_oid_len, OID(R, 0, 1)), 0);
	set_addr(&a, "2001:db8::1");
	am_mib_notify_u32(&nt, AM_NO_ALARM_INDEX, 7);
	am_mib_notify_server(&nt, &a, 443);
	am_mib_notify_str(&nt, AM_NO_SIGNATURE, "GET");
	am_mib_notify_int(&nt, AM_NO_STATISTIC, 2);
	am_mib_notify_date(&nt, AM_NO_INTERVAL_END, T0 * AM_USEC);
	ck_assert_int_eq(nt.n, 7);
	ck_assert_int_eq(am_oid_cmp(nt.vb[0].oid, nt.vb[0].len, OID(R, 1, 11, AM_NO_ALARM_INDEX, 0)), 0);
	ck_assert_int_eq(am_oid_cmp(nt.vb[1].oid, nt.vb[1].len, OID(R, 1, 11, AM_NO_ADDRESS_TYPE, 0)), 0);
	ck_assert_int_eq(nt.vb[1].v.i, 2);
	ck_assert_uint_eq(nt.vb[2].v.len, 16);
	ck_assert_uint_eq(nt.vb[3].v.u, 443);
	ck_assert_int_eq(nt.vb[6].v.type, AM_V_OCTETS);
	ck_assert_uint_eq(nt.vb[6].v.len, 11);
	/* An object instance with its current value. */
	ck_assert_int_eq(am_mib_notify_object(&nt, &st, OID(R, 1, 1, AM_SENSOR_INTERVAL, 0)), 0);
	ck_assert_uint_eq(nt.vb[7].v.u, 60);
	ck_assert_int_eq(am_mib_notify_object(&nt, &st, OID(R, 1, 1, AM_SENSOR_INTERVAL)), -1);
	/* Bounded. */
	for (int i = 0; i < 20; i++)
		am_mib_notify_u32(&nt, AM_NO_VALUE, 1);
	ck_assert_int_eq(nt.n, AM_MIB_NOTIFY_MAX);
}
END_TEST

/* Fake issue-7 providers over small sorted arrays. */
static struct am_mib_alarm_row alarms[2];
static struct am_mib_alarm_status_row statuses[3];
static struct am_mib_anomaly_row anomalies[1];

static size_t
alarm_index_of(const void *e, am_subid *buf)
{
	buf[0] = ((const struct am_mib_alarm_row *)e)->index;
	return 1;
}

static size_t
status_index_of(const void *e, am_subid *buf)
{
	const struct am_mib_alarm_status_row *r = e;
	return am_mib_index_alarm_status(r->alarm, &r->addr, r->port, r->sig, buf);
}

static size_t
anomaly_index_of(const void *e, am_subid *buf)
{
	const struct am_mib_anomaly_row *r = e;
	return am_mib_index_sig(&r->addr, r->port, r->id, buf);
}

static int
fake_alarm(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_alarm_row *out)
{
	size_t p = am_mib_lower_bound(alarms, 2, sizeof(alarms[0]), alarm_index_of, idx, len, after);
	(void)ctx;
	if (p >= 2)
		return 0;
	*out = alarms[p];
	return 1;
}

static int
fake_status(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_alarm_status_row *out)
{
	size_t p = am_mib_lower_bound(statuses, 3, sizeof(statuses[0]), status_index_of, idx, len, after);
	(void)ctx;
	if (p >= 3)
		return 0;
	*out = statuses[p];
	return 1;
}

static int
fake_anomaly(void *ctx, const am_subid *idx, size_t len, int after, struct am_mib_anomaly_row *out)
{
	size_t p = am_mib_lower_bound(anomalies, 1, sizeof(anomalies[0]), anomaly_index_of, idx, len, after);
	(void)ctx;
	if (p >= 1)
		return 0;
	*out = anomalies[p];
	return 1;
}

START_TEST(test_alarm_tables)
{
	struct am_mib_value v;
	am_subid next[AM_OID_MAX];
	size_t n;

	memset(alarms, 0, sizeof(alarms));
	memset(statuses, 0, sizeof(statuses));
	memset(anomalies, 0, sizeof(anomalies));
	alarms[0].index = 3;
	snprintf(alarms[0].descr, sizeof(alarms[0].descr), "web p90");
	set_addr(&alarms[0].target, "192.0.2.10");
	alarms[0].target_len = 4;
	alarms[0].target_port = 80;
	alarms[0].statistic = 2;
	alarms[0].timing = 2;
	alarms[0].rising = 200000;
	alarms[0].falling = 100000;
	alarms[0].startup = 1;
	alarms[0].storage = 5;
	alarms[0].status = 1;
	alarms[1].index = 7;       /* any server, capture loss */
	alarms[1].statistic = 8;
	alarms[1].timing = 1;
	alarms[1].storage = 3;
	alarms[1].status = 2;
	statuses[0].alarm = 3;     /* per-sensor row: type 0, empty address */
	statuses[0].value = 5;
	statuses[0].last_event = 1;
	statuses[1].alarm = 3;
	set_addr(&statuses[1].addr, "192.0.2.10");
	statuses[1].port = 80;
	statuses[1].value = 250000;
	statuses[1].last_event = 2;
	statuses[2].alarm = 7;
	set_addr(&statuses[2].addr, "2001:db8::1");
	statuses[2].port = 443;
	statuses[2].sig = 2;
	set_addr(&anomalies[0].addr, "192.0.2.10");
	anomalies[0].port = 80;
	anomalies[0].id = 2;
	anomalies[0].state = 3;
	anomalies[0].score = 4200;
	st.tables.alarm = fake_alarm;
	st.tables.alarm_status = fake_status;
	st.tables.anomaly = fake_anomaly;

	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 3, 1, AM_ALC_DESCR, 3), &v), AM_MIB_OK);
	ck_assert_mem_eq(v.s, "web p90", 7);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 3, 1, AM_ALC_ADDR_TYPE, 3), &v), AM_MIB_OK);
	ck_assert_int_eq(v.i, 1);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 3, 1, AM_ALC_ADDR, 3), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.len, 4);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 3, 1, AM_ALC_ADDR_TYPE, 7), &v), AM_MIB_OK);
	ck_assert_int_eq(v.i, 0);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 3, 1, AM_ALC_ADDR, 7), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.len, 0);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 3, 1, AM_ALC_HELD_BACK, 3), &v), AM_MIB_OK);
	ck_assert_int_eq(v.type, AM_V_COUNTER32);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 3, 1, AM_ALC_STATUS, 7), &v), AM_MIB_OK);
	ck_assert_int_eq(v.i, 2);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 3, 1, AM_ALC_STATUS, 4), &v), AM_MIB_NOSUCHINSTANCE);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 3, 1, AM_ALC_INDEX, 3), &v), AM_MIB_NOSUCHOBJECT);
	/* The scalars of the same group are still there. */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, AM_AL_HELD_BACK, 0), &v), AM_MIB_OK);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 5, 0), &v), AM_MIB_NOSUCHOBJECT);
	/* After the alarm scalars: the first alarm row. */
	n = am_mib_getnext(&st, OID(R, 1, 9, AM_AL_HELD_BACK, 0), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 9, 3, 1, AM_ALC_DESCR, 3)), 0);
	/* Status rows: the per-sensor one (type 0, no address) first. */
	n = am_mib_getnext(&st, OID(R, 1, 9, 4), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 9, 4, 1, AM_ASC_VALUE, 3, 0, 0, 0, 0)), 0);
	ck_assert_uint_eq(v.u, 5);
	n = am_mib_getnext(&st, next, n, next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 9, 4, 1, AM_ASC_VALUE, 3, 1, 4, 192, 0, 2, 10, 80, 0)), 0);
	ck_assert_uint_eq(v.u, 250000);
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 9, 4, 1, AM_ASC_LAST_EVENT, 7, 2, 16, 0x20, 1, 0x0d, 0xb8,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 443, 2), &v), AM_MIB_OK);
	ck_assert_int_eq(v.i, 1);     /* none */
	/* Anomaly rows share the signature index. */
	ck_assert_int_eq(am_mib_get(&st, OID(R, 1, 10, 5, 1, AM_ANC_SCORE, 1, 4, 192, 0, 2, 10, 80, 2), &v), AM_MIB_OK);
	ck_assert_uint_eq(v.u, 4200);
	n = am_mib_getnext(&st, OID(R, 1, 10, AM_AN_ACTIVE, 0), next, &v);
	ck_assert_int_eq(am_oid_cmp(next, n, OID(R, 1, 10, 5, 1, AM_ANC_STATE, 1, 4, 192, 0, 2, 10, 80, 2)), 0);
	ck_assert_int_eq(v.i, 3);
	/* The whole module still walks in order. */
	size_t total = walk_all(NULL);
	size_t base = AM_SENSOR__MAX + AM_STORE__MAX + 2 + 4;
	ck_assert_uint_eq(total, base + 2 * (AM_ALC__MAX - 1) + 3 * (AM_ASC__MAX - 4) + AM_ANC__MAX);
	memset(&st.tables, 0, sizeof(st.tables));
}
END_TEST

/* SET through the MIB layer, as snmp.c drives it: decode each varbind,
 * check the request, apply it. */
static int
do_set(struct am_mib_state *s, int n, const am_subid *const *oids, const size_t *lens,
    const struct am_mib_value *vals, int *bad)
{
	struct am_mib_set_vb vbs[16];
	int err;

	*bad = -1;
	for (int i = 0; i < n; i++)
		if ((err = am_mib_set_decode(oids[i], lens[i], &vals[i], &vbs[i])) != AM_ERR_NONE) {
			*bad = i;
			return err;
		}
	if ((err = s->tables.alarm_set(s->tables.alarm_ctx, vbs, n, 0, bad)) != AM_ERR_NONE)
		return err;
	return s->tables.alarm_set(s->tables.alarm_ctx, vbs, n, 1, bad);
}

static struct am_mib_value
vi(int64_t i)
{
	struct am_mib_value v;
	memset(&v, 0, sizeof(v));
	v.type = AM_V_INTEGER;
	v.i = i;
	return v;
}

static struct am_mib_value
vu(uint64_t u)
{
	struct am_mib_value v;
	memset(&v, 0, sizeof(v));
	v.type = AM_V_UNSIGNED;
	v.u = u;
	return v;
}

static struct am_mib_value
vs(const void *p, size_t n)
{
	struct am_mib_value v;
	memset(&v, 0, sizeof(v));
	v.type = AM_V_OCTETS;
	memcpy(v.s, p, n);
	v.len = n;
	return v;
}

#define COL(c, i) ((const am_subid[]){ R, 1, 9, 3, 1, (c), (i) })
#define COLLEN (ARTMON_MIB_OID_LEN + 6)

START_TEST(test_alarm_rowstatus)
{
	struct am_alarms *al = am_alarms_new();
	struct am_mib_alarm_row row;
	struct am_mib_value v;
	int bad;
	size_t lens[8] = { COLLEN, COLLEN, COLLEN, COLLEN, COLLEN, COLLEN, COLLEN, COLLEN };

	am_alarms_tables(al, &st.tables);
	/* A column of a row that does not exist: noCreation. */
	{
		const am_subid *o[] = { COL(AM_ALC_RISING, 5) };
		struct am_mib_value x[] = { vu(10) };
		ck_assert_int_eq(do_set(&st, 1, o, lens, x, &bad), AM_ERR_NO_CREATION);
	}
	/* createAndGo without thresholds: inconsistentValue, nothing created. */
	{
		const am_subid *o[] = { COL(AM_ALC_STATUS, 5), COL(AM_ALC_STATISTIC, 5) };
		struct am_mib_value x[] = { vi(AM_RS_CREATE_AND_GO), vi(2) };
		ck_assert_int_eq(do_set(&st, 2, o, lens, x, &bad), AM_ERR_INCONSISTENT_VALUE);
		ck_assert_int_eq(am_alarms_count(al), 0);
	}
	/* createAndGo with what it needs: active. */
	{
		const am_subid *o[] = { COL(AM_ALC_STATUS, 5), COL(AM_ALC_STATISTIC, 5),
			COL(AM_ALC_RISING, 5), COL(AM_ALC_FALLING, 5), COL(AM_ALC_ADDR_TYPE, 5),
			COL(AM_ALC_ADDR, 5), COL(AM_ALC_PORT, 5) };
		struct am_mib_value x[] = { vi(AM_RS_CREATE_AND_GO), vi(2), vu(200000), vu(100000), vi(1),
			vs("\xc0\x00\x02\x0a", 4), vu(80) };
		ck_assert_int_eq(do_set(&st, 7, o, lens, x, &bad), AM_ERR_NONE);
		ck_assert_int_eq(am_alarms_get(al, 5, &row), 0);
		ck_assert_int_eq(row.status, AM_RS_ACTIVE);
		ck_assert_int_eq(row.timing, 2);          /* DEFVAL first */
		ck_assert_uint_eq(row.min_txns, 10);      /* DEFVAL 10 */
		ck_assert_int_eq(am_mib_get(&st, COL(AM_ALC_ADDR, 5), COLLEN, &v), AM_MIB_OK);
		ck_assert_uint_eq(v.len, 4);
		ck_assert_int_eq(am_mib_get(&st, COL(AM_ALC_STATUS, 5), COLLEN, &v), AM_MIB_OK);
		ck_assert_int_eq(v.i, AM_RS_ACTIVE);
	}
	/* An active row cannot change, unless taken out of service at once. */
	{
		const am_subid *o[] = { COL(AM_ALC_RISING, 5) };
		struct am_mib_value x[] = { vu(1) };
		ck_assert_int_eq(do_set(&st, 1, o, lens, x, &bad), AM_ERR_INCONSISTENT_VALUE);
		const am_subid *o2[] = { COL(AM_ALC_RISING, 5), COL(AM_ALC_STATUS, 5) };
		struct am_mib_value x2[] = { vu(300000), vi(AM_RS_NOT_IN_SERVICE) };
		ck_assert_int_eq(do_set(&st, 2, o2, lens, x2, &bad), AM_ERR_NONE);
		am_alarms_get(al, 5, &row);
		ck_assert_int_eq(row.status, AM_RS_NOT_IN_SERVICE);
		ck_assert_uint_eq(row.rising, 300000);
	}
	/* Rising below falling cannot be activated. */
	{
		const am_subid *o[] = { COL(AM_ALC_RISING, 5) };
		struct am_mib_value x[] = { vu(5) };
		ck_assert_int_eq(do_set(&st, 1, o, lens, x, &bad), AM_ERR_NONE);
		const am_subid *o2[] = { COL(AM_ALC_STATUS, 5) };
		struct am_mib_value x2[] = { vi(AM_RS_ACTIVE) };
		ck_assert_int_eq(do_set(&st, 1, o2, lens, x2, &bad), AM_ERR_INCONSISTENT_VALUE);
		am_alarms_get(al, 5, &row);
		ck_assert_int_eq(row.status, AM_RS_NOT_READY);
	}
	/* An address that does not fit its type keeps the row not ready. */
	{
		const am_subid *o[] = { COL(AM_ALC_RISING, 5), COL(AM_ALC_ADDR_TYPE, 5) };
		struct am_mib_value x[] = { vu(400000), vi(2) };
		ck_assert_int_eq(do_set(&st, 2, o, lens, x, &bad), AM_ERR_NONE);
		am_alarms_get(al, 5, &row);
		ck_assert_int_eq(row.status, AM_RS_NOT_READY);
	}
	/* createAndWait: not ready, its statistic reads as noSuchInstance. */
	{
		const am_subid *o[] = { COL(AM_ALC_STATUS, 6) };
		struct am_mib_value x[] = { vi(AM_RS_CREATE_AND_WAIT) };
		ck_assert_int_eq(do_set(&st, 1, o, lens, x, &bad), AM_ERR_NONE);
		ck_assert_int_eq(am_mib_get(&st, COL(AM_ALC_STATISTIC, 6), COLLEN, &v), AM_MIB_NOSUCHINSTANCE);
		ck_assert_int_eq(am_mib_get(&st, COL(AM_ALC_STATUS, 6), COLLEN, &v), AM_MIB_OK);
		ck_assert_int_eq(v.i, AM_RS_NOT_READY);
		/* createAndWait again on an existing row */
		ck_assert_int_eq(do_set(&st, 1, o, lens, x, &bad), AM_ERR_INCONSISTENT_VALUE);
	}
	/* Wrong types, sizes and values. */
	{
		const am_subid *o[] = { COL(AM_ALC_STATISTIC, 6) };
		struct am_mib_value x[] = { vu(2) };
		ck_assert_int_eq(do_set(&st, 1, o, lens, x, &bad), AM_ERR_WRONG_TYPE);
		struct am_mib_value y[] = { vi(9) };
		ck_assert_int_eq(do_set(&st, 1, o, lens, y, &bad), AM_ERR_WRONG_VALUE);
		const am_subid *o2[] = { COL(AM_ALC_ADDR, 6) };
		struct am_mib_value z[] = { vs("abc", 3) };
		ck_assert_int_eq(do_set(&st, 1, o2, lens, z, &bad), AM_ERR_WRONG_LENGTH);
		const am_subid *o3[] = { COL(AM_ALC_HELD_BACK, 6) };
		struct am_mib_value h[] = { vu(1) };
		ck_assert_int_eq(do_set(&st, 1, o3, lens, h, &bad), AM_ERR_NOT_WRITABLE);
		const am_subid *o4[] = { COL(AM_ALC_STORAGE, 6) };
		struct am_mib_value ro[] = { vi(AM_STORAGE_READONLY) };
		ck_assert_int_eq(do_set(&st, 1, o4, lens, ro, &bad), AM_ERR_WRONG_VALUE);
		const am_subid *o5[] = { COL(AM_ALC_STATUS, 6) };
		struct am_mib_value nr[] = { vi(AM_RS_NOT_READY) };
		ck_assert_int_eq(do_set(&st, 1, o5, lens, nr, &bad), AM_ERR_WRONG_VALUE);
		/* outside the alarm table */
		struct am_mib_set_vb d;
		ck_assert_int_eq(am_mib_set_decode(OID(R, 1, 1, 1, 0), &v, &d), AM_ERR_NOT_WRITABLE);
		ck_assert_int_eq(am_mib_set_decode(OID(R, 1, 9, 3, 1, AM_ALC_RISING, 0), &v, &d), AM_ERR_NO_CREATION);
	}
	/* Rows of the configuration are read-only. */
	{
		struct am_mib_alarm_row cfgrow;
		am_alarms_row_default(&cfgrow, 1);
		cfgrow.statistic = 1;
		cfgrow.rising = 10;
		cfgrow.missing = 0;
		cfgrow.storage = AM_STORAGE_READONLY;
		cfgrow.status = AM_RS_ACTIVE;
		ck_assert_int_eq(am_alarms_put(al, &cfgrow), 0);
		const am_subid *o[] = { COL(AM_ALC_STATUS, 1) };
		struct am_mib_value x[] = { vi(AM_RS_DESTROY) };
		ck_assert_int_eq(do_set(&st, 1, o, lens, x, &bad), AM_ERR_NOT_WRITABLE);
		am_alarms_remove_storage(al, AM_STORAGE_READONLY);
		ck_assert_int_eq(am_alarms_get(al, 1, &row), -1);
	}
	/* destroy */
	{
		const am_subid *o[] = { COL(AM_ALC_STATUS, 5) };
		struct am_mib_value x[] = { vi(AM_RS_DESTROY) };
		ck_assert_int_eq(do_set(&st, 1, o, lens, x, &bad), AM_ERR_NONE);
		ck_assert_int_eq(am_alarms_get(al, 5, &row), -1);
		ck_assert_int_eq(am_alarms_count(al), 1);
	}
	am_alarms_free(al);
	memset(&st.tables, 0, sizeof(st.tables));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_mib");
	TCase *tc;

	tc = tcase_create("index");
	tcase_add_test(tc, test_index_server_roundtrip);
	tcase_add_test(tc, test_index_server_invalid);
	tcase_add_test(tc, test_oid_cmp);
	tcase_add_test(tc, test_date_and_time);
	tcase_add_test(tc, test_malformed_slots);
	tcase_add_test(tc, test_key_overflow);
	tcase_add_test(tc, test_stepped_view);
	tcase_add_test(tc, test_sweep_keeps_up_with_closes);
	tcase_add_test(tc, test_walk_during_rebuild);
	suite_add_tcase(s, tc);

	tc = tcase_create("full");
	tcase_add_checked_fixture(tc, setup_full, teardown);
	tcase_add_test(tc, test_get_scalars);
	tcase_add_test(tc, test_get_capture);
	tcase_add_test(tc, test_get_server_and_signature);
	tcase_add_test(tc, test_histogram_and_history);
	tcase_add_test(tc, test_walk_full);
	tcase_add_test(tc, test_getnext_odd_indexes);
	tcase_add_test(tc, test_getnext_32bit_clamp);
	tcase_add_test(tc, test_by_client_rows_merge);
	tcase_add_test(tc, test_census_tables);
	suite_add_tcase(s, tc);

	tc = tcase_create("empty");
	tcase_add_checked_fixture(tc, setup_empty, teardown);
	tcase_add_test(tc, test_walk_empty);
	tcase_add_test(tc, test_getnext_across_empty_tables);
	tcase_add_test(tc, test_notification_varbinds);
	tcase_add_test(tc, test_alarm_tables);
	tcase_add_test(tc, test_alarm_rowstatus);
	tcase_add_test(tc, test_dropped_keys_keep_row_totals);
	tcase_add_test(tc, test_retired_rows_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
