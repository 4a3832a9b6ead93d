/* store_fill: fills an artmon store with synthetic transactions (see
 * store_synth.h), for the `artmon store` tests and for measuring disk use.
 *
 * usage: store_fill DIR KEYS INTERVALS PER [START [INTERVAL_S]]
 *   KEYS keys, INTERVALS intervals of PER transactions each, from START
 *   (epoch seconds, default 1700000000 rounded down to the hour). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "store/agg.h"
#include "tests/store_synth.h"

int
main(int argc, char **argv)
{
	struct am_store_cfg scfg;
	struct am_agg_cfg acfg;
	struct am_store *st;
	struct am_agg *agg;
	struct synth sy;
	struct synth_txn x;
	char err[512];
	am_time_t start = 1700000000 - 1700000000 % 3600;
	unsigned long keys, intervals, per, len = 300;

	log_init("store_fill", 0);
	if (argc < 5 || argc > 7) {
		fprintf(stderr, "usage: store_fill DIR KEYS INTERVALS PER [START [INTERVAL_S]]\n");
		return 2;
	}
	keys = strtoul(argv[2], NULL, 10);
	intervals = strtoul(argv[3], NULL, 10);
	per = strtoul(argv[4], NULL, 10);
	if (argc > 5)
		start = strtoll(argv[5], NULL, 10);
	if (argc > 6)
		len = strtoul(argv[6], NULL, 10);
	if (keys == 0 || per == 0 || per > len * 1000000) {
		fprintf(stderr, "store_fill: bad numbers\n");
		return 2;
	}
	am_store_cfg_default(&scfg);
	scfg.interval_s = (uint32_t)len;
	scfg.rollup_s = 3600 % len == 0 ? 3600 : (uint32_t)len;
	st = am_store_open(argv[1], &scfg, AM_STORE_RDWR, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "store_fill: %s\n", err);
		return 1;
	}
	am_agg_cfg_default(&acfg);
	acfg.max_keys = (uint32_t)keys;
	agg = am_agg_new(&acfg, st);
	synth_init(&sy, 42, (uint32_t)keys, start * AM_USEC, (am_time_t)len * AM_USEC,
	    (uint32_t)intervals, (uint32_t)per);
	while (synth_next(&sy, &x)) {
		am_agg_advance(agg, x.t);
		am_agg_add(agg, &x.key, &x.conn, &x.txn);
	}
	if (am_agg_finish(agg) < 0) {
		fprintf(stderr, "store_fill: the last flush failed\n");
		return 1;
	}
	am_agg_free(agg);
	am_store_close(st);
	return 0;
}
