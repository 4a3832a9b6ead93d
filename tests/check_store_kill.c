/* Crash safety of the store: a writer is killed with SIGKILL during its
 * flushes, before they commit, at least 50 times, and restarted; it resumes
 * from the clock of the last flush.  Afterwards every stored interval,
 * rollup and total is identical to a run without kills, and no persisted
 * total ever decreased.  The killed writer flushes in steps, the reference
 * at once, so this also shows that both ways store the same. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "store/agg.h"
#include "store/store.h"
#include "tests/store_synth.h"

#define S AM_USEC
#define NKEYS 150
#define NINTERVALS 200
#define PER 1500
#define MIN_KILLS 50

static am_time_t base;

static void
store_cfg(struct am_store_cfg *cfg)
{
	am_store_cfg_default(cfg);
	cfg->retain1_s = 6 * 3600;      /* retention runs during the test too */
	cfg->retain2_s = 8 * 3600;
}

/* The pipes to the parent: notes out, acknowledgements in. */
struct chan {
	int out, in;
};

/* Tells the parent that an interval closed (its flush starts now). */
static void
on_close(void *ctx, am_time_t start, uint32_t interval_s, const struct am_agg_row *row,
    const struct am_rec *rec)
{
	static am_time_t told = -1;
	struct chan *ch = ctx;

	if (start != told) {
		told = start;
		/* the parent stops listening once it has decided */
		if (ch->out >= 0 && write(ch->out, &start, sizeof(start)) != sizeof(start))
			ch->out = -1;
	}
}

/* Inside the flush's write transaction, before the commit: tells the parent
 * and waits for its word, so that a kill now is certainly in mid-flush. */
static int
on_flush(void *ctx, struct am_store_w *w)
{
	struct chan *ch = ctx;
	am_time_t mark = -1;
	char c;

	if (ch->out >= 0 && write(ch->out, &mark, sizeof(mark)) == sizeof(mark) && ch->in >= 0 &&
	    read(ch->in, &c, 1) != 1)
		ch->in = -1;
	return 0;
}

/* The writer: resumes the synthetic workload from the last flush.  The
 * killed writer spreads each flush over the following transactions
 * (deferred_flush, 7 keys a step); the reference writes at once. */
static void
writer(const char *dir, struct chan *ch, int deferred)
{
	struct am_agg_cfg acfg;
	struct am_store_cfg cfg;
	struct am_store_info info;
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct synth_txn x;
	char err[256];

	store_cfg(&cfg);
	st = am_store_open(dir, &cfg, AM_STORE_RDWR, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "writer: %s\n", err);
		_exit(3);
	}
	am_store_info(st, &info);
	am_agg_cfg_default(&acfg);
	acfg.deferred_flush = (uint8_t)deferred;
	agg = am_agg_new(&acfg, st);
	if (agg == NULL)
		_exit(3);
	am_agg_on_close(agg, on_close, ch);
	am_agg_on_flush(agg, on_flush, ch);
	synth_init(&sy, 11, NKEYS, base, 300 * S, NINTERVALS, PER);
	while (synth_next(&sy, &x)) {
		if (x.t < info.flushed_clock)
			continue;
		if (am_agg_advance(agg, x.t) < 0)
			_exit(5);
		am_agg_add(agg, &x.key, &x.conn, &x.txn);
		if (deferred && am_agg_flush_step(agg, 7) < 0)
			_exit(5);
	}
	if (am_agg_finish(agg) < 0)
		_exit(5);
	am_agg_free(agg);
	am_store_close(st);
	_exit(0);
}

/* Everything stored, in a canonical byte form. */
static int
dump_rec(void *ctx, am_time_t start, uint32_t id, const struct am_rec *r)
{
	FILE *f = ctx;
	static uint8_t b[1 << 16];
	size_t n = am_rec_encode(r, b, sizeof(b));

	ck_assert_uint_le(n, sizeof(b));
	fprintf(f, "%lld %u ", (long long)start, id);
	fwrite(b, 1, n, f);
	fputc('\n', f);
	return 0;
}

static char *
dump(const char *dir, size_t *len)
{
	char *buf = NULL, err[256];
	FILE *f = open_memstream(&buf, len);
	struct am_store *st = am_store_open(dir, NULL, AM_STORE_RDONLY, err, sizeof(err));
	struct am_key_info ki;
	struct am_totals tot;
	uint32_t id = 0;
	uint8_t b[1024];

	ck_assert_msg(st != NULL, "%s", err);
	while (am_store_key_next(st, id, &ki) == 0) {
		id = ki.id;
		fprintf(f, "key %u sig %u ", ki.id, ki.sig_id);
		fwrite(b, 1, am_agg_key_encode(&ki.key, b), f);
		ck_assert_int_eq(am_store_totals(st, id, &tot), 0);
		fwrite(b, 1, am_totals_encode(&tot, b, sizeof(b)), f);
		fputc('\n', f);
	}
	for (int level = 1; level <= 2; level++) {
		fprintf(f, "level %d\n", level);
		ck_assert_int_eq(am_store_rec_walk(st, level, 0, INT64_MAX, dump_rec, f), 0);
	}
	am_store_close(st);
	fclose(f);
	return buf;
}

/* Persisted totals of every key; checks none went down since *prev. */
static void
check_totals(const char *dir, struct am_totals *prev, am_time_t *flushed, am_time_t *newest)
{
	char err[256];
	struct am_store *st = am_store_open(dir, NULL, AM_STORE_RDONLY, err, sizeof(err));
	struct am_store_info info;
	struct am_totals t;

	if (st == NULL) {
		/* killed before the store was first created */
		ck_assert_msg(prev[1].count == 0, "store vanished: %s", err);
		return;
	}
	am_store_info(st, &info);
	*newest = info.newest1;
	ck_assert_int_ge(info.flushed_clock, *flushed);
	*flushed = info.flushed_clock;
	for (uint32_t id = 1; id <= NKEYS; id++) {
		if (am_store_totals(st, id, &t) != 0)
			memset(&t, 0, sizeof(t));
		ck_assert_uint_ge(t.count, prev[id].count);
		for (int i = 0; i < AM_T__COUNT; i++) {
			ck_assert_uint_ge(t.n[i], prev[id].n[i]);
			ck_assert_uint_ge(t.sum[i], prev[id].sum[i]);
		}
		for (int i = 0; i < 2; i++) {
			ck_assert_uint_ge(t.bytes[i], prev[id].bytes[i]);
			ck_assert_uint_ge(t.pkts[i], prev[id].pkts[i]);
		}
		for (int i = 0; i < AM_OUT__COUNT; i++)
			ck_assert_uint_ge(t.outcome[i], prev[id].outcome[i]);
		for (int i = 0; i < AM_LE_MAX; i++)
			ck_assert_uint_ge(t.le[i], prev[id].le[i]);
		prev[id] = t;
	}
	am_store_close(st);
}

/* Runs the writer; with kill_after > 0 kills it: in_txn, when its
 * kill_after-th flush is about to commit; otherwise delay_us after the
 * kill_after-th interval closed.  1 killed, 0 ran to the end. */
static int
run_writer(const char *dir, int kill_after, int in_txn, unsigned delay_us, int *killed,
    am_time_t *announced)
{
	int up[2], down[2], status;
	pid_t pid;
	am_time_t c;
	int closes = 0, flushes = 0;

	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct chan ch = { kill_after > 0 ? up[1] : -1, kill_after > 0 ? down[0] : -1 };
		close(up[0]);
		close(down[1]);
		writer(dir, &ch, kill_after > 0);
	}
	close(up[1]);
	close(down[0]);
	*killed = 0;
	while (kill_after > 0 && read(up[0], &c, sizeof(c)) == sizeof(c)) {
		if (c >= 0) {
			*announced = c;
			if (!in_txn && ++closes == kill_after) {
				if (delay_us)
					usleep(delay_us);
				*killed = kill(pid, SIGKILL) == 0;
				break;
			}
			continue;
		}
		if (in_txn && ++flushes == kill_after) {
			*killed = kill(pid, SIGKILL) == 0;
			break;
		}
		if (write(down[1], "", 1) != 1)
			break;
	}
	close(up[0]);
	close(down[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status)) {
		ck_assert_int_eq(WTERMSIG(status), SIGKILL);
		return 1;
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "writer failed with status %d", status);
	*killed = 0;
	return 0;
}

START_TEST(test_kill_loop)
{
	char dir_k[] = "/tmp/check_store_kill.XXXXXX", dir_r[] = "/tmp/check_store_ref.XXXXXX";
	static struct am_totals prev[NKEYS + 1];
	am_time_t flushed = 0, newest = 0, announced = 0;
	int kills = 0, mid = 0, killed, cycles = 0;
	uint64_t rnd = 12345;
	char *a, *b, cmd[128];
	size_t la, lb;

	base = (am_time_t)1700000000 * S;
	base -= base % (3600 * S);
	ck_assert_ptr_nonnull(mkdtemp(dir_k));
	ck_assert_ptr_nonnull(mkdtemp(dir_r));
	signal(SIGPIPE, SIG_IGN);

	for (;;) {
		rnd = synth_mix(rnd);
		/* kill during the 1st..3rd flush of this run: every other time
		 * right before its commit, else up to 3 ms after its interval
		 * closed (while the flush proceeds in steps, or after it) */
		if (run_writer(dir_k, 1 + (int)(rnd % 3), (int)((rnd >> 4) & 1),
		    (unsigned)((rnd >> 8) % 3000), &killed, &announced) == 0)
			break;
		cycles++;
		kills += killed;
		check_totals(dir_k, prev, &flushed, &newest);
		ck_assert_int_lt(cycles, 1000);
		/* the flush announced last did not make it */
		if (killed && newest < announced)
			mid++;
	}
	fprintf(stderr, "check_store_kill: %d kills (%d before the announced flush committed), %d cycles\n",
	    kills, mid, cycles);
	ck_assert_int_ge(mid, MIN_KILLS);
	check_totals(dir_k, prev, &flushed, &newest);

	ck_assert_int_eq(run_writer(dir_r, 0, 0, 0, &killed, &announced), 0);
	a = dump(dir_k, &la);
	b = dump(dir_r, &lb);
	ck_assert_uint_gt(lb, 1000);
	ck_assert_uint_eq(la, lb);
	ck_assert_int_eq(memcmp(a, b, la), 0);
	free(a);
	free(b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir_k, dir_r);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_kill");
	TCase *tc = tcase_create("kill");
	SRunner *sr;
	int failed;

	log_init("check_store_kill", 0);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_kill_loop);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
