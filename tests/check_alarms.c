/* Alarm evaluation (RMON hysteresis, startup alarm, minimum transactions,
 * rate limit, wildcard targets, capture loss), the store encoding of alarm
 * rows, alarm N { } blocks of the configuration, and the anomaly method
 * (quantile function and score), without snmpd. */
#include "config.h"
#include "agent/alarms.h"
#include "agent/anomaly.h"
#include "agent/mib.h"
#include "rules/rules.h"
#include "store/agg.h"
#include "store/store.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IV 10                           /* interval, seconds */
#define T0 (1700000000LL * AM_USEC)

struct sent {
	unsigned type;
	uint32_t alarm, value, threshold;
	uint16_t port;
	char sig[64];
};
static struct sent sent[64];
static int nsent;

static void
on_notify(void *ctx, const struct am_mib_notification *nt)
{
	struct sent *s = &sent[nsent < 63 ? nsent++ : 63];

	(void)ctx;
	memset(s, 0, sizeof(*s));
	s->type = nt->type;
	for (int i = 0; i < nt->n; i++) {
		const struct am_mib_varbind *vb = &nt->vb[i];
		unsigned obj = vb->oid[vb->len - 2];
		switch (obj) {
		case AM_NO_ALARM_INDEX: s->alarm = (uint32_t)vb->v.u; break;
		case AM_NO_VALUE: s->value = (uint32_t)vb->v.u; break;
		case AM_NO_THRESHOLD: s->threshold = (uint32_t)vb->v.u; break;
		case AM_NO_PORT: s->port = (uint16_t)vb->v.u; break;
		case AM_NO_SIGNATURE:
			snprintf(s->sig, sizeof(s->sig), "%.*s", (int)vb->v.len, (const char *)vb->v.s);
			break;
		default: break;
		}
	}
}

/* One key's interval: n transactions with `first` = us each. */
static void
feed(struct am_alarms *a, int interval, const char *server, uint16_t port, uint32_t sig_id,
    const char *sig, int n, uint64_t us)
{
	struct am_agg_key k;
	struct am_agg_row row;
	struct am_rec rec;

	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(am_addr_parse(server, &k.server), 0);
	k.server_port = port;
	snprintf(k.signature, sizeof(k.signature), "%s", sig);
	memset(&row, 0, sizeof(row));
	row.id = sig_id + 100;
	row.sig_id = sig_id;
	row.key = &k;
	am_rec_init(&rec);
	for (int i = 0; i < n; i++) {
		rec.count++;
		rec.outcome[AM_OUT_COMPLETE]++;
		am_hist_add(&rec.t[AM_T_FIRST], us);
	}
	rec.bytes[0] = rec.bytes[1] = 100 * (uint64_t)n;
	am_alarms_close(a, T0 + (int64_t)interval * IV * AM_USEC, IV, &row, &rec);
	am_rec_free(&rec);
}

static struct am_mib_alarm_row
p90_row(uint32_t index, const char *server, uint16_t port, const char *sig)
{
	struct am_mib_alarm_row r;

	am_alarms_row_default(&r, index);
	if (server) {
		ck_assert_int_eq(am_addr_parse(server, &r.target), 0);
		r.target_len = r.target.family == AM_AF_INET ? 4 : 16;
	}
	r.target_port = port;
	snprintf(r.target_sig, sizeof(r.target_sig), "%s", sig);
	r.statistic = 2;
	r.timing = 2;
	r.rising = 200000;
	r.falling = 100000;
	r.missing = 0;
	r.storage = AM_STORAGE_NONVOLATILE;
	r.status = AM_RS_ACTIVE;
	ck_assert(am_alarms_row_complete(&r));
	return r;
}

static struct am_alarms *
fresh(void)
{
	struct am_alarms *a = am_alarms_new();

	nsent = 0;
	am_alarms_on_notify(a, on_notify, NULL);
	return a;
}

static int
count(unsigned type)
{
	int k = 0;

	for (int i = 0; i < nsent; i++)
		k += sent[i].type == type;
	return k;
}

START_TEST(test_hysteresis)
{
	struct am_alarms *a = fresh();
	struct am_mib_alarm_row r = p90_row(1, "192.0.2.10", 80, "");
	/* p90 per interval: crosses, stays, dips between the thresholds,
	 * rises again (no repeat), falls, rises (a second rising) */
	static const uint64_t v[] = { 50000, 300000, 400000, 150000, 300000, 90000, 120000, 250000 };

	am_alarms_put(a, &r);
	for (int i = 0; i < 8; i++) {
		feed(a, i, "192.0.2.10", 80, 1, "GET", 20, v[i]);
		am_alarms_complete(a);
	}
	ck_assert_int_eq(nsent, 3);
	ck_assert_uint_eq(sent[0].type, AM_NT_ALARM_RISING);
	ck_assert_uint_eq(sent[0].alarm, 1);
	ck_assert_uint_eq(sent[0].port, 80);
	ck_assert_str_eq(sent[0].sig, "");
	ck_assert_uint_eq(sent[0].threshold, 200000);
	ck_assert(fabs((double)sent[0].value - 300000) < 300000 * 0.005);
	ck_assert_uint_eq(sent[1].type, AM_NT_ALARM_FALLING);
	ck_assert_uint_eq(sent[1].threshold, 100000);
	ck_assert_uint_eq(sent[2].type, AM_NT_ALARM_RISING);
	am_alarms_free(a);
}
END_TEST

/* A manager creates a row between two slices of a deferred flush, while
 * the closed interval's keys are being fed: the row is judged from the
 * next interval on, not on the keys fed after it only (here: the few slow
 * ones, a false rising alarm). */
START_TEST(test_row_set_while_feeding)
{
	struct am_alarms *a = fresh();
	struct am_mib_alarm_row r = p90_row(1, "192.0.2.10", 80, "");

	am_alarms_set_feeding(a, 1);
	feed(a, 0, "192.0.2.10", 80, 1, "GET", 185, 50000);
	ck_assert_int_eq(am_alarms_put(a, &r), 0);
	feed(a, 0, "192.0.2.10", 80, 2, "POST", 15, 300000);
	am_alarms_set_feeding(a, 0);
	am_alarms_complete(a);
	ck_assert_int_eq(nsent, 0);
	/* the next interval, fed whole after the row was made */
	am_alarms_set_feeding(a, 1);
	feed(a, 1, "192.0.2.10", 80, 1, "GET", 20, 300000);
	am_alarms_set_feeding(a, 0);
	am_alarms_complete(a);
	ck_assert_int_eq(count(AM_NT_ALARM_RISING), 1);
	/* made between two feeds: judged on the next one */
	r = p90_row(2, "192.0.2.10", 80, "");
	ck_assert_int_eq(am_alarms_put(a, &r), 0);
	am_alarms_set_feeding(a, 1);
	feed(a, 2, "192.0.2.10", 80, 1, "GET", 20, 300000);
	am_alarms_set_feeding(a, 0);
	am_alarms_complete(a);
	ck_assert_int_eq(count(AM_NT_ALARM_RISING), 2);
	ck_assert_uint_eq(sent[nsent - 1].alarm, 2);
	am_alarms_free(a);
}
END_TEST

START_TEST(test_min_txns_and_startup)
{
	struct am_alarms *a = fresh();
	struct am_mib_alarm_row r = p90_row(1, NULL, 0, "");
	struct am_mib_alarm_row f = p90_row(2, NULL, 0, "");

	f.startup = 2;              /* fallingAlarm */
	am_alarms_put(a, &r);
	am_alarms_put(a, &f);
	/* too few transactions: nothing judged, not even the first interval */
	feed(a, 0, "192.0.2.10", 80, 1, "GET", 5, 900000);
	am_alarms_complete(a);
	ck_assert_int_eq(nsent, 0);
	/* first judged interval slow: row 1 (risingAlarm) rises, row 2
	 * (fallingAlarm) stays silent */
	feed(a, 1, "192.0.2.10", 80, 1, "GET", 20, 900000);
	am_alarms_complete(a);
	ck_assert_int_eq(nsent, 1);
	ck_assert_uint_eq(sent[0].alarm, 1);
	/* row 2 rises on its second interval */
	feed(a, 2, "192.0.2.10", 80, 1, "GET", 20, 900000);
	am_alarms_complete(a);
	ck_assert_int_eq(nsent, 2);
	ck_assert_uint_eq(sent[1].alarm, 2);
	ck_assert_uint_eq(sent[1].type, AM_NT_ALARM_RISING);
	am_alarms_free(a);

	/* fallingAlarm on a fast first interval: one falling */
	a = fresh();
	am_alarms_put(a, &f);
	feed(a, 0, "192.0.2.10", 80, 1, "GET", 20, 1000);
	am_alarms_complete(a);
	ck_assert_int_eq(nsent, 1);
	ck_assert_uint_eq(sent[0].type, AM_NT_ALARM_FALLING);
	am_alarms_free(a);
}
END_TEST

START_TEST(test_wildcards)
{
	struct am_alarms *a = fresh();
	struct am_mib_alarm_row any = p90_row(1, NULL, 0, "*");      /* every signature */
	struct am_mib_alarm_row one = p90_row(2, NULL, 0, "POST");   /* by name */
	struct am_mib_alarm_row srv = p90_row(3, "192.0.2.11", 0, ""); /* a server, any port */
	struct am_mib_alarm_status_row st;
	int rows = 0;

	am_alarms_put(a, &any);
	am_alarms_put(a, &one);
	am_alarms_put(a, &srv);
	/* two servers, two signatures each, all slow: one interval, the
	 * next interval's first key completes it */
	feed(a, 0, "192.0.2.10", 80, 1, "GET", 20, 500000);
	feed(a, 0, "192.0.2.10", 80, 2, "POST", 20, 500000);
	feed(a, 0, "192.0.2.11", 8080, 3, "GET", 20, 500000);
	feed(a, 0, "192.0.2.11", 8080, 4, "POST", 20, 500000);
	feed(a, 1, "192.0.2.10", 80, 1, "GET", 1, 1);
	ck_assert_int_eq(count(AM_NT_ALARM_RISING), 4 + 2 + 1);
	{
		int posts = 0;
		for (int i = 0; i < nsent; i++)
			if (sent[i].alarm == 2) {
				ck_assert_str_eq(sent[i].sig, "POST");
				posts++;
			}
		ck_assert_int_eq(posts, 2);
	}
	/* the status table lists each alarm on each target once */
	struct am_mib_tables t;
	memset(&t, 0, sizeof(t));
	am_alarms_tables(a, &t);
	am_subid idx[AM_OID_MAX];
	size_t len = 0;
	while (t.alarm_status(t.eval_ctx, idx, len, len > 0, &st)) {
		len = am_mib_index_alarm_status(st.alarm, &st.addr, st.port, st.sig, idx);
		ck_assert_int_eq(st.last_event, 2);
		rows++;
	}
	ck_assert_int_eq(rows, 7);
	am_alarms_free(a);
}
END_TEST

START_TEST(test_due)
{
	struct am_alarms *a = fresh();
	struct am_mib_alarm_row r = p90_row(1, NULL, 0, "");
	int64_t end = T0 + IV * AM_USEC;

	am_alarms_put(a, &r);
	am_alarms_set_grace(a, 5 * AM_USEC);
	feed(a, 0, "192.0.2.10", 80, 1, "GET", 20, 900000);
	am_alarms_due(a, end + 5 * AM_USEC - 1);
	ck_assert_int_eq(nsent, 0);
	/* a connection of the interval ends late: its gap still counts */
	am_alarms_set_loss_bound(a, 10000);
	am_alarms_add_gap(a, end - AM_USEC, 1000);
	am_alarms_due(a, end + 5 * AM_USEC);
	ck_assert_int_eq(count(AM_NT_LOSS_RISING), 1);
	ck_assert_int_eq(count(AM_NT_ALARM_RISING), 0);
	ck_assert_uint_eq(am_alarms_held_back(a), 1);
	am_alarms_free(a);
}
END_TEST

START_TEST(test_rate_limit)
{
	struct am_alarms *a = fresh();
	struct am_mib_alarm_row r = p90_row(1, NULL, 0, "");

	r.rate_limit = 25;          /* seconds: 2.5 intervals */
	am_alarms_put(a, &r);
	/* rise (sent), fall 10 s later (within the limit: not sent), rise
	 * again 10 s later (still within 25 s of the first: not sent), fall
	 * 10 s later (30 s after the last sent: sent) */
	static const uint64_t v[] = { 300000, 50000, 300000, 50000 };
	for (int i = 0; i < 4; i++) {
		feed(a, i, "192.0.2.10", 80, 1, "GET", 20, v[i]);
		am_alarms_complete(a);
	}
	ck_assert_int_eq(nsent, 2);
	ck_assert_uint_eq(sent[0].type, AM_NT_ALARM_RISING);
	ck_assert_uint_eq(sent[1].type, AM_NT_ALARM_FALLING);
	am_alarms_free(a);
}
END_TEST

START_TEST(test_loss_holds_back)
{
	struct am_alarms *a = fresh();
	struct am_mib_alarm_row r = p90_row(1, NULL, 0, "");
	struct am_mib_alarm_row got;

	struct am_mib_alarm_row cl;
	am_alarms_put(a, &r);
	/* a captureLoss alarm: per sensor, not held back */
	am_alarms_row_default(&cl, 2);
	cl.statistic = 8;
	cl.timing = 1;
	cl.rising = 100000;
	cl.falling = 0;
	cl.missing = 0;
	cl.status = AM_RS_ACTIVE;
	ck_assert(am_alarms_row_complete(&cl));
	am_alarms_put(a, &cl);
	am_alarms_set_loss_bound(a, 10000);
	/* 1000 of 4000 bytes missing: 25% loss */
	feed(a, 0, "192.0.2.10", 80, 1, "GET", 20, 900000);
	am_alarms_add_gap(a, T0 + 5 * AM_USEC, 1000);
	am_alarms_complete(a);
	ck_assert_int_eq(count(AM_NT_LOSS_RISING), 1);
	ck_assert_uint_eq(am_alarms_held_back(a), 1);
	ck_assert_int_eq(am_alarms_get(a, 1, &got), 0);
	ck_assert_uint_eq(got.held_back, 1);
	ck_assert_uint_eq(am_alarms_last_loss(a), 200000);
	/* the captureLoss alarm rose (startup rising) with the loss */
	{
		int found = 0;
		for (int i = 0; i < nsent; i++)
			if (sent[i].alarm == 2) {
				ck_assert_uint_eq(sent[i].type, AM_NT_ALARM_RISING);
				ck_assert_uint_eq(sent[i].value, 200000);
				ck_assert_uint_eq(sent[i].port, 0);
				found++;
			}
		ck_assert_int_eq(found, 1);
	}
	ck_assert_int_eq(count(AM_NT_ALARM_RISING), 1);     /* not the held-back p90 */
	/* the next interval is whole: loss falls, the alarm is judged */
	feed(a, 1, "192.0.2.10", 80, 1, "GET", 20, 900000);
	am_alarms_complete(a);
	ck_assert_int_eq(count(AM_NT_LOSS_FALLING), 1);
	/* now the p90 alarm rises; the captureLoss one falls (0 <= 0) */
	ck_assert_int_eq(count(AM_NT_ALARM_RISING), 2);
	ck_assert_int_eq(count(AM_NT_ALARM_FALLING), 1);
	am_alarms_free(a);
}
END_TEST

START_TEST(test_statistics)
{
	struct am_rec rec;

	am_rec_init(&rec);
	ck_assert_int_eq(am_alarms_stat_value(&rec, 2, 2), -1);   /* no timing */
	ck_assert_int_eq(am_alarms_stat_value(&rec, 7, 1), -1);   /* no transaction */
	for (int i = 1; i <= 100; i++)
		am_hist_add(&rec.t[AM_T_FIRST], (uint64_t)i * 100);
	rec.count = 100;
	rec.outcome[AM_OUT_COMPLETE] = 97;
	rec.outcome[AM_OUT_RESET] = 2;
	rec.outcome[AM_OUT_TIMEOUT] = 1;
	/* quantiles within the histogram's 0.4% */
	ck_assert(llabs(am_alarms_stat_value(&rec, 1, 2) - 5000) <= 20);
	ck_assert(llabs(am_alarms_stat_value(&rec, 2, 2) - 9000) <= 36);
	ck_assert(llabs(am_alarms_stat_value(&rec, 3, 2) - 9900) <= 40);
	ck_assert_int_eq(am_alarms_stat_value(&rec, 4, 2), 5050);
	ck_assert_int_eq(am_alarms_stat_value(&rec, 5, 2), 10000);
	ck_assert_int_eq(am_alarms_stat_value(&rec, 6, 1), 100);
	ck_assert_int_eq(am_alarms_stat_value(&rec, 7, 1), 30000);
	ck_assert_int_eq(am_alarms_stat_value(&rec, 2, 3), -1);   /* no `last` */
	am_rec_free(&rec);
}
END_TEST

START_TEST(test_row_encoding)
{
	struct am_mib_alarm_row r = p90_row(4242, "2001:db8::1", 443, "GET /x"), back;
	uint8_t buf[512];
	size_t n;

	snprintf(r.descr, sizeof(r.descr), "a description");
	r.rate_limit = 60;
	r.min_txns = 3;
	r.startup = 3;
	n = am_alarms_row_encode(&r, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(am_alarms_row_decode(&back, buf, n), 0);
	ck_assert_uint_eq(back.index, 4242);
	ck_assert_str_eq(back.descr, "a description");
	ck_assert_str_eq(back.target_sig, "GET /x");
	ck_assert_int_eq(memcmp(&back.target, &r.target, sizeof(r.target)), 0);
	ck_assert_uint_eq(back.target_len, 16);
	ck_assert_uint_eq(back.target_port, 443);
	ck_assert_uint_eq(back.rising, 200000);
	ck_assert_uint_eq(back.falling, 100000);
	ck_assert_uint_eq(back.rate_limit, 60);
	ck_assert_uint_eq(back.min_txns, 3);
	ck_assert_int_eq(back.startup, 3);
	ck_assert_int_eq(back.status, AM_RS_ACTIVE);
	/* truncated or bad version */
	for (size_t k = 0; k < n; k++)
		ck_assert_int_eq(am_alarms_row_decode(&back, buf, k), -1);
	buf[0] = 99;
	ck_assert_int_eq(am_alarms_row_decode(&back, buf, n), -1);
}
END_TEST

static struct am_config *
load(const char *text, struct am_diags *d)
{
	am_diags_init(d);
	return am_config_load_mem("t.conf", text, strlen(text), d);
}

START_TEST(test_config_blocks)
{
	struct am_diags d;
	struct am_config *c = load(
	    "artmon {\n"
	    "  loss_bound = 5000;\n"
	    "  anomaly_bound = 3500; anomaly_intervals = 3; anomaly_days = 21;\n"
	    "  alarm 3 { descr = \"web\"; server = \"192.0.2.10\"; port = 80;\n"
	    "    statistic = p99; timing = last; rising = 1.5s; falling = 500ms;\n"
	    "    startup = both; min_transactions = 50; rate_limit = 5m; }\n"
	    "  alarm 9 { signature = \"*\"; statistic = error_rate; rising = 50000; falling = 10000; }\n"
	    "  alarm 10 { statistic = capture_loss; rising = 1000; falling = 0; }\n"
	    "}\n", &d);
	struct am_alarms *a;
	struct am_mib_alarm_row r;

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->set.nalarms, 3);
	ck_assert_uint_eq(c->set.loss_bound, 5000);
	ck_assert_uint_eq(c->set.anomaly_bound, 3500);
	ck_assert_uint_eq(c->set.anomaly_intervals, 3);
	ck_assert_uint_eq(c->set.anomaly_days, 21);
	ck_assert_uint_eq(c->set.anomaly_min_history, 7);
	ck_assert_uint_eq(c->set.alarms[0].rising, 1500000);
	ck_assert_uint_eq(c->set.alarms[0].falling, 500000);
	ck_assert_int_eq(c->set.alarms[0].statistic, 3);
	ck_assert_int_eq(c->set.alarms[0].timing, 3);
	ck_assert_int_eq(c->set.alarms[0].startup, 3);
	ck_assert_uint_eq(c->set.alarms[0].rate_limit, 300);
	ck_assert_int_eq(c->set.alarms[1].timing, 1);
	ck_assert_str_eq(c->set.alarms[1].signature, "*");

	a = am_alarms_new();
	/* a manager's row at 9 keeps its place; the file's 9 is skipped */
	r = p90_row(9, NULL, 0, "");
	am_alarms_put(a, &r);
	ck_assert_int_eq(am_alarms_load_config(a, &c->set), 1);
	ck_assert_int_eq(am_alarms_count(a), 3);
	ck_assert_int_eq(am_alarms_get(a, 3, &r), 0);
	ck_assert_int_eq(r.storage, AM_STORAGE_READONLY);
	ck_assert_int_eq(r.status, AM_RS_ACTIVE);
	ck_assert_str_eq(r.descr, "web");
	ck_assert_uint_eq(r.target_len, 4);
	ck_assert_int_eq(am_alarms_get(a, 9, &r), 0);
	ck_assert_int_eq(r.storage, AM_STORAGE_NONVOLATILE);
	/* a reload without the blocks drops the file's rows only */
	ck_assert_int_eq(am_alarms_load_config(a, NULL), 0);
	ck_assert_int_eq(am_alarms_count(a), 1);
	ck_assert_int_eq(am_alarms_get(a, 9, &r), 0);
	am_alarms_free(a);
	am_config_free(c);
	am_diags_free(&d);

	static const char *const bad[] = {
		"artmon { alarm 1 { statistic = p90; rising = 1s; } }",                 /* no falling */
		"artmon { alarm 1 { rising = 1s; falling = 1s; } }",                    /* no statistic */
		"artmon { alarm 1 { statistic = p90; rising = 1s; falling = 2s; } }",   /* rising < falling */
		"artmon { alarm 1 { statistic = p90; timing = none; rising = 1; falling = 0; } }",
		"artmon { alarm 1 { statistic = transactions; timing = first; rising = 1; falling = 0; } }",
		"artmon { alarm 0 { statistic = transactions; rising = 1; falling = 0; } }",
		"artmon { alarm 1 { statistic = transactions; rising = 1; falling = 0; }\n"
		"         alarm 1 { statistic = transactions; rising = 1; falling = 0; } }",
		"artmon { alarm 1 { statistic = p90; server = \"not an address\"; rising = 1; falling = 0; } }",
		"artmon { alarm 1 { statistic = error_rate; rising = 2000000; falling = 0; } }",
		"artmon { alarm 1 { statistic = p90; rising = 1s; falling = 0; colour = red; } }",
		"artmon { anomaly_intervals = 0; }",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = load(bad[i], &d);
		ck_assert_msg(c == NULL, "accepted: %s", bad[i]);
		am_diags_free(&d);
	}
}
END_TEST

START_TEST(test_quantile_function)
{
	struct am_hist h;
	double q[AM_ANOMALY_BINS];

	am_hist_init(&h);
	ck_assert_int_eq(am_anomaly_qf(&h, q), -1);
	/* 40 x 1 us ... 40 x 40 us: bin i holds the value i + 1 */
	for (int v = 1; v <= 40; v++)
		am_hist_add_n(&h, (uint64_t)v, 40);
	ck_assert_int_eq(am_anomaly_qf(&h, q), 0);
	for (int i = 0; i < AM_ANOMALY_BINS; i++)
		ck_assert_msg(fabs(q[i] - log2(i + 2.0)) < 1e-9, "bin %d: %f", i, q[i]);
	am_hist_free(&h);
}
END_TEST

/* Quantile functions of lognormal samples (deterministic generator). */
static uint64_t rng = 88172645463325252ULL;
static double
gauss(void)
{
	double u1, u2;

	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	u1 = ((double)(rng >> 11) + 1) / 9007199254740993.0;
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	u2 = (double)(rng >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static void
sample_qf(double *q, double median, double tail_mult)
{
	struct am_hist h;
	double v[300];

	am_hist_init(&h);
	for (int i = 0; i < 300; i++)
		v[i] = median * exp(0.35 * gauss());
	/* the slowest 3% times tail_mult */
	for (int i = 0; i < 300; i++) {
		int above = 0;
		for (int k = 0; k < 300; k++)
			above += v[k] > v[i];
		am_hist_add(&h, (uint64_t)(v[i] * (above < 9 ? tail_mult : 1)));
	}
	ck_assert_int_eq(am_anomaly_qf(&h, q), 0);
	am_hist_free(&h);
}

START_TEST(test_score)
{
	double hist[14][AM_ANOMALY_BINS], q[AM_ANOMALY_BINS];
	uint32_t p50, p90, s;
	int over = 0;

	for (int d = 0; d < 14; d++)
		sample_qf(hist[d], 20000, 1);
	/* like its history: within the default bound, nearly always */
	for (int i = 0; i < 50; i++) {
		sample_qf(q, 20000, 1);
		over += am_anomaly_score(q, (const double (*)[AM_ANOMALY_BINS])hist, 14, &p50, &p90) > 4000;
	}
	ck_assert_int_le(over, 2);
	ck_assert(p50 > 18500 && p50 < 21500);
	ck_assert(p90 > 28000 && p90 < 35000);
	/* the whole distribution x3 */
	sample_qf(q, 60000, 1);
	s = am_anomaly_score(q, (const double (*)[AM_ANOMALY_BINS])hist, 14, NULL, NULL);
	ck_assert_uint_gt(s, 8000);
	/* the tail only x5 */
	sample_qf(q, 20000, 5);
	s = am_anomaly_score(q, (const double (*)[AM_ANOMALY_BINS])hist, 14, NULL, NULL);
	ck_assert_uint_gt(s, 6000);
	/* too little history: no score */
	ck_assert_uint_eq(am_anomaly_score(q, (const double (*)[AM_ANOMALY_BINS])hist, 1, NULL, NULL), 0);
}
END_TEST

START_TEST(test_anomaly_budget)
{
	struct am_anomaly *an = am_anomaly_new(NULL, NULL);
	struct am_rec rec;
	struct am_addr addr;
	uint32_t key = 1;
	struct am_mib_anomaly_row row;
	am_subid idx[1] = { 0 };

	am_rec_init(&rec);
	for (int i = 0; i < 200; i++)
		am_hist_add(&rec.t[AM_T_FIRST], 20000 + (uint64_t)i);
	rec.count = 200;
	am_addr_parse("192.0.2.10", &addr);
	/* no time for baselines: not scored, counted */
	am_anomaly_set_budget(an, 0);
	am_anomaly_pass(an);
	am_anomaly_eval(an, T0, 300, &addr, 80, 1, "GET", &key, 1, &rec);
	ck_assert_uint_eq(am_anomaly_deferred(an), 1);
	/* with time: built (no store, so no history: learning) */
	am_anomaly_set_budget(an, 100000);
	am_anomaly_pass(an);
	am_anomaly_eval(an, T0, 300, &addr, 80, 1, "GET", &key, 1, &rec);
	ck_assert_uint_eq(am_anomaly_deferred(an), 1);
	ck_assert_int_eq(am_anomaly_row(an, idx, 0, 0, &row), 1);
	ck_assert_int_eq(row.state, 1);
	ck_assert_uint_eq(row.history, 0);
	ck_assert_uint_eq(row.port, 80);
	ck_assert_uint_eq(row.id, 1);
	ck_assert_uint_eq(am_anomaly_active(an), 0);
	am_rec_free(&rec);
	am_anomaly_free(an);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("alarms");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_hysteresis);
	tcase_add_test(tc, test_row_set_while_feeding);
	tcase_add_test(tc, test_min_txns_and_startup);
	tcase_add_test(tc, test_wildcards);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_due);
	tcase_add_test(tc, test_loss_holds_back);
	tcase_add_test(tc, test_statistics);
	tcase_add_test(tc, test_row_encoding);
	tcase_add_test(tc, test_config_blocks);
	tcase_add_test(tc, test_quantile_function);
	tcase_add_test(tc, test_score);
	tcase_add_test(tc, test_anomaly_budget);
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
