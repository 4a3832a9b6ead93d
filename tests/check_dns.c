/* DNS pairing tests: answered, unanswered, duplicates, unsolicited, caps. */
#include "config.h"
#include "capture/dns.h"

#include <check.h>
#include <string.h>

#define T0 1700000000000000LL

static int ntxn;
static struct am_txn txn[32];
static struct am_conn conn[32];

static void
on_txn(void *ctx, const struct am_conn *c, const struct am_txn *t)
{
	(void)ctx;
	if (ntxn < 32) {
		conn[ntxn] = *c;
		txn[ntxn++] = *t;
	}
}

static void
dnspkt(struct am_dns *d, int64_t us, int response, uint16_t id, uint16_t cport, int rcode)
{
	struct am_packet p;
	uint8_t msg[40];

	memset(&p, 0, sizeof(p));
	memset(msg, 0, sizeof(msg));
	msg[0] = (uint8_t)(id >> 8);
	msg[1] = (uint8_t)id;
	msg[2] = response ? 0x81 : 0x01;
	msg[3] = (uint8_t)(response ? 0x80 | rcode : 0);
	p.ts = T0 + us;
	p.proto = AM_IPPROTO_UDP;
	p.src.family = p.dst.family = AM_AF_INET;
	uint8_t c[4] = { 10, 0, 0, 1 }, s[4] = { 10, 0, 0, 53 };
	memcpy(p.src.a, response ? s : c, 4);
	memcpy(p.dst.a, response ? c : s, 4);
	p.sport = response ? 53 : cport;
	p.dport = response ? cport : 53;
	p.payload = msg;
	p.payload_len = p.seg_len = response ? 40 : 30;
	ck_assert_int_eq(am_dns_packet(d, &p), 1);
}

START_TEST(test_pairing)
{
	struct am_dns_cfg cfg;
	struct am_tracker_cb cb = { .txn = on_txn };
	struct am_dns_stats st;

	ntxn = 0;
	am_dns_cfg_default(&cfg);
	cfg.max_pending = 3;
	struct am_dns *d = am_dns_new(&cfg, &cb);
	dnspkt(d, 0, 0, 0x1111, 5000, 0);
	dnspkt(d, 100, 0, 0x2222, 5000, 0);
	dnspkt(d, 200, 0, 0x1111, 5001, 0);      /* same id, other port: a different query */
	dnspkt(d, 300, 0, 0x3333, 5000, 0);      /* table full: not tracked */
	dnspkt(d, 1500, 1, 0x2222, 5000, 3);     /* NXDOMAIN, answered out of order */
	dnspkt(d, 1600, 1, 0x2222, 5000, 3);     /* duplicate */
	dnspkt(d, 1700, 1, 0x4444, 5000, 0);     /* unsolicited */
	dnspkt(d, 2000, 1, 0x1111, 5000, 0);
	ck_assert_int_eq(ntxn, 2);
	ck_assert_int_eq(txn[0].first, 1400);
	ck_assert_int_eq(txn[0].status, 3);
	ck_assert_int_eq(txn[0].outcome, AM_OUT_COMPLETE);
	ck_assert_int_eq(conn[0].proto, AM_IPPROTO_UDP);
	ck_assert_int_eq(conn[0].client_port, 5000);
	ck_assert_int_eq(txn[1].first, 2000);
	ck_assert_uint_eq(txn[1].req_bytes, 30);
	ck_assert_uint_eq(txn[1].resp_bytes, 40);
	am_dns_tick(d, T0 + 5 * 1000000LL + 200);  /* the query on port 5001 times out */
	ck_assert_int_eq(ntxn, 3);
	ck_assert_int_eq(txn[2].outcome, AM_OUT_TIMEOUT);
	ck_assert_int_eq(txn[2].first, -1);
	ck_assert_int_eq(conn[2].client_port, 5001);
	am_dns_stats(d, &st);
	ck_assert_uint_eq(st.queries, 4);
	ck_assert_uint_eq(st.answered, 2);
	ck_assert_uint_eq(st.unanswered, 1);
	ck_assert_uint_eq(st.duplicate_responses, 1);
	ck_assert_uint_eq(st.unsolicited, 1);
	ck_assert_uint_eq(st.pending_cap, 1);
	dnspkt(d, 6000000, 0, 0x5555, 5000, 0);
	am_dns_finish(d);
	ck_assert_int_eq(ntxn, 4);
	ck_assert_int_eq(txn[3].outcome, AM_OUT_OPEN);
	am_dns_free(d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("dns");

	tcase_add_test(tc, test_pairing);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
