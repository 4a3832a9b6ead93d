/* censusrun: runs the traffic census over capture files, for the census
 * tests and benchmarks (the same calls `artmon read --records filters`
 * makes).
 *
 *   censusrun [options] FILE...
 *   -f, --filter-set SPEC   SET:LABEL=EXPR,... (repeatable)
 *   -F, --format FMT        text, csv or json (default csv)
 *   -t, --topn              also print the top-N tables
 *   -n N / -k K             rows per table / counters per table
 *   -i, --interval SEC      close top-N intervals every SEC of packet time
 *                           (default: one interval, closed at the end)
 *       --no-fast           interpreter only
 *       --verify            fast path checked against the interpreter
 *       --no-census         decode (and track) only: the baseline
 *       --no-topn           no top-N tables
 *       --no-packet         do not hand the decoded packet over (as from
 *                           an engine that decodes internally)
 *       --tracker           feed the TCP tracker and DNS pairing, and the
 *                           servers tables from their transactions
 *   -b, --bench             packets per CPU second and memory on stderr
 * Exit: 0, 1 on a verify mismatch, 2 on usage or input errors. */
#include "config.h"
#include "capture/census.h"
#include "capture/decode.h"
#include "capture/dns.h"
#include "capture/source.h"
#include "capture/tracker.h"
#include "common/util.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void
on_txn(void *ctx, const struct am_conn *conn, const struct am_txn *txn)
{
	am_census_txn(ctx, conn, txn);
}

static void
usage(void)
{
	fprintf(stderr, "usage: censusrun [-f SET:LABEL=EXPR,...]... [-F text|csv|json] [-t] [-n N] [-k K]\n"
	    "                 [-i SEC] [--no-fast] [--verify] [--no-census] [--no-topn] [--no-packet] [--tracker] [-b] FILE...\n");
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "filter-set", required_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "topn", no_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "no-fast", no_argument, NULL, 1 },
		{ "verify", no_argument, NULL, 2 },
		{ "no-census", no_argument, NULL, 3 },
		{ "tracker", no_argument, NULL, 4 },
		{ "no-topn", no_argument, NULL, 5 },
		{ "no-packet", no_argument, NULL, 6 },
		{ "bench", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct am_census_spec spec = { 0 };
	struct am_census_cfg cfg;
	char err[512];
	int fmt = AM_CENSUS_CSV, topn = 0, census = 1, tracker = 0, bench = 0, pass_packet = 1, ch;
	double interval = 0;

	am_census_cfg_default(&cfg);
	while ((ch = getopt_long(argc, argv, "f:F:tn:k:i:b", lo, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (am_census_spec_parse(&spec, optarg, err, sizeof(err)) != 0) {
				fprintf(stderr, "censusrun: %s\n", err);
				return 2;
			}
			break;
		case 'F':
			fmt = strcmp(optarg, "text") == 0 ? AM_CENSUS_TEXT : strcmp(optarg, "json") == 0 ?
			    AM_CENSUS_JSON : AM_CENSUS_CSV;
			break;
		case 't':
			topn = 1;
			break;
		case 'n':
			cfg.top.n = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			cfg.top.capacity = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			interval = strtod(optarg, NULL);
			break;
		case 1:
			cfg.fastpath = 0;
			break;
		case 2:
			cfg.verify = 1;
			break;
		case 3:
			census = 0;
			break;
		case 4:
			tracker = 1;
			break;
		case 5:
			cfg.topn = 0;
			break;
		case 6:
			pass_packet = 0;
			break;
		case 'b':
			bench = 1;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	cfg.filters = spec.filters;
	cfg.nfilters = spec.n;

	struct am_source_opts so;
	am_source_opts_default(&so);
	so.snaplen = 65535;
	struct am_source *src = am_source_open_files(argv + optind, argc - optind, &so, err, sizeof(err));
	if (src == NULL) {
		fprintf(stderr, "censusrun: %s\n", err);
		return 2;
	}
	struct am_census *c = NULL;
	if (census) {
		/* Check the expressions against the first file's link type. */
		struct am_source_stats ss;
		am_source_stats(src, 0, &ss);
		cfg.dlt = ss.dlt;
		c = am_census_new(&cfg, err, sizeof(err));
		if (c == NULL) {
			fprintf(stderr, "censusrun: %s\n", err);
			return 2;
		}
	}
	struct am_tracker *tr = NULL;
	struct am_dns *dns = NULL;
	if (tracker) {
		struct am_tracker_cfg tc;
		struct am_dns_cfg dc;
		struct am_tracker_cb cb = { .ctx = c, .txn = c ? on_txn : NULL };
		am_tracker_cfg_default(&tc);
		am_dns_cfg_default(&dc);
		tr = am_tracker_new(&tc, &cb);
		dns = am_dns_new(&dc, &cb);
	}

	struct am_frame f;
	struct am_packet p;
	struct am_decode_stats ds;
	uint64_t frames = 0;
	am_time_t t0 = am_now_mono(), next_close = 0;
	int r;
	struct rusage ru0;
	getrusage(RUSAGE_SELF, &ru0);
	double cpu0 = (double)(ru0.ru_utime.tv_sec + ru0.ru_stime.tv_sec) +
	    (double)(ru0.ru_utime.tv_usec + ru0.ru_stime.tv_usec) / 1e6;
	memset(&ds, 0, sizeof(ds));
	while ((r = am_source_next(src, &f)) == AM_SRC_PACKET) {
		enum am_dec d = am_decode_count(&ds, f.dlt, f.data, f.caplen, f.wirelen, &p);
		frames++;
		p.ts = f.ts;
		p.source = (uint8_t)f.index;
		if (c && interval > 0) {
			if (next_close == 0)
				next_close = f.ts + (am_time_t)(interval * AM_USEC);
			while (f.ts >= next_close) {
				am_census_interval(c);
				next_close += (am_time_t)(interval * AM_USEC);
			}
		}
		if (c)
			am_census_frame(c, &f, pass_packet && d == AM_DEC_OK ? &p : NULL);
		if (tr && d == AM_DEC_OK) {
			if (p.proto == AM_IPPROTO_UDP)
				(void)am_dns_packet(dns, &p);
			else
				am_tracker_packet(tr, &p);
		}
	}
	if (r == AM_SRC_ERROR) {
		fprintf(stderr, "censusrun: %s\n", am_source_error(src));
		return 2;
	}
	if (tr) {
		am_tracker_finish(tr);
		am_dns_finish(dns);
	}
	double secs = (double)(am_now_mono() - t0) / AM_USEC;
	int rc = 0;
	if (c) {
		am_census_interval(c);
		am_census_print(c, stdout, fmt);
		if (topn)
			am_census_print_topn(c, stdout, fmt);
		struct am_census_stats st;
		am_census_stats(c, &st);
		if (cfg.verify && st.verify_mismatch > 0) {
			fprintf(stderr, "censusrun: fast path and interpreter disagreed %" PRIu64 " times\n",
			    st.verify_mismatch);
			rc = 1;
		}
		if (bench)
			fprintf(stderr, "census: frames %" PRIu64 " bpf_evals %" PRIu64 " fast_evals %" PRIu64
			    " compile_errors %" PRIu64 " topn_memory %zu\n", st.frames, st.evals_bpf,
			    st.evals_fast, st.compile_errors, st.topn_memory);
	}
	if (bench) {
		/* CPU time, not wall time: the figure should not depend on what
		 * else the machine runs. */
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) - cpu0 +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
		fprintf(stderr, "bench: frames %" PRIu64 " seconds %.3f cpu %.3f pps %.0f maxrss_kb %ld\n", frames,
		    secs, cpu, cpu > 0 ? (double)frames / cpu : 0.0, ru.ru_maxrss);
	}
	am_census_free(c);
	am_tracker_free(tr);
	am_dns_free(dns);
	am_source_close(src);
	am_census_spec_free(&spec);
	return rc;
}
