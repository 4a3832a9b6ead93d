/* artmond: capture (live or replay) -> session tracker -> aggregates ->
 * ARTMON-MIB through an AgentX subagent. */
#include "config.h"
#include "agent/aggview.h"
#include "agent/censusd.h"
#include "agent/alarms.h"
#include "agent/anomaly.h"
#include "agent/mib.h"
#include "agent/snmp.h"
#include "agent/startup.h"
#include "capture/decode.h"
#include "capture/source.h"
#include "common/log.h"
#include "engine/census_conf.h"
#include "engine/engine.h"
#include "rules/rules.h"
#include "store/agg.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_INPUTS 64
#define REPLAY_BATCH 2000       /* packets between two looks at SNMP */
#define REPLAY_SLICE_US 5000    /* ... or this much time, whichever ends first */
#define LIVE_BATCH 10000

struct opts {
	const char *config;
	char *ifaces[MAX_INPUTS];
	int nifaces;
	char *files[MAX_INPUTS];
	int nfiles;
	const char *agentx;
	const char *store_dir;
	const char *pidfile;
	const char *user;
	const char *name;
	const char *filter;
	int snaplen, buffer_mb;     /* from the configuration; 0: defaults */
	am_time_t merge_window;     /* from the configuration; -1: default */
	int foreground;
	int check_only;
	int exit_at_end;
	int realtime;
	uint32_t interval_s;
	uint32_t history;
	uint32_t max_sessions;
	int midstream;
};

struct daemon {
	struct opts o;
	struct am_mib_state mib;
	struct am_mib_capture caps[MAX_INPUTS];
	struct am_decode_stats ds[MAX_INPUTS];
	uint64_t gap[MAX_INPUTS];
	struct am_source_stats base[MAX_INPUTS];   /* counts of handles closed by a reopen */
	struct am_source *src;      /* NULL while live interfaces are being reopened */
	am_time_t reopen_at;        /* next attempt (monotonic) */
	am_time_t backoff;
	int live;
	int nsrc;
	int eof;
	int finished;                 /* am_engine_finish done */
	int end_pending;              /* end of the replay, its last flush not written yet */
	struct am_config *rules;      /* current rules, NULL: none */
	const struct am_config *old_rules;   /* replaced, still used by open connections */
	struct am_store *store;
	struct am_agg *agg;
	struct am_engine *eng;
	struct am_aggview *view;
	struct am_alarms *alarms;   /* artmonAlarmTable and its evaluation */
	struct am_anomaly *anomaly; /* artmonAnomalyTable */
	struct am_censusd census;   /* artmonCensus: filter sets, top-N */
	unsigned masklen4, masklen6;
	/* notifications: what was seen at the last check */
	uint32_t nt_intervals;
	uint64_t nt_full;
	uint32_t nt_store_errors;
	int resumed_unclean;        /* this start found the store not closed cleanly */
	char *owned[MAX_INPUTS + 8];   /* strings copied from the configuration */
	int nowned;
	am_time_t rt_offset;          /* --realtime: wall - packet time, 0 before the first packet */
	int pidfd;                    /* the pid file, open from before the privilege drop; -1: none */
	int have_pending;             /* --realtime: a frame read but not yet due */
	struct am_frame pending;
};

static volatile sig_atomic_t got_term, got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: artmond [-c CONFIG] [-i IFACE[,IFACE]] [-r FILE] [-x AGENTX_SOCKET]\n"
	    "               [-s STORE_DIR] [-f] [-D TOKENS] [-n] [-p PIDFILE] [options]\n"
	    "Passive application response time monitor: measures TCP request/response\n"
	    "times and serves them as ARTMON-MIB through the system's snmpd (AgentX).\n\n"
	    "  -c CONFIG        rules and settings (default: built-in rules)\n"
	    "  -i IFACE,...     capture live on these interfaces\n"
	    "  -r FILE          replay a pcap/pcapng file (repeatable, read in order)\n"
	    "  -x SOCKET        AgentX socket of the master (default: Net-SNMP's)\n"
	    "  -s STORE_DIR     directory of the LMDB store (default: the configuration's,\n"
	    "                   /var/lib/artmon; \"none\": keep the aggregates in memory)\n"
	    "  -f               stay in the foreground, log to stderr\n"
	    "  -D TOKENS        debug output for subsystems (capture,snmp,main,alarm,stall or all)\n"
	    "  -n               check the configuration, inputs, store, pid file and\n"
	    "                   AgentX socket as a start would, then exit\n"
	    "  -p PIDFILE       write the process id there (created before dropping\n"
	    "                   privileges, removed or emptied at exit)\n"
	    "  -u USER          drop to this user after opening the inputs\n"
	    "                   (default when root and capturing live: artmon, else nobody)\n"
	    "      --exit-at-end  with -r: exit after the last packet instead of serving on\n"
	    "      --realtime     with -r: replay at the recorded speed\n"
	    "      --interval S   summary interval in seconds, 10-3600 (default: the\n"
	    "                     configuration's, else 300; an existing store keeps its own)\n"
	    "      --history N    completed intervals kept per signature (default 24)\n"
	    "      --name NAME    sensor name (default: the host name)\n"
	    "      --filter EXPR  BPF filter for the inputs\n"
	    "      --max-sessions N  bound on tracked TCP sessions\n"
	    "      --midstream    also measure connections whose handshake was not seen\n"
	    "      --merge-window MS  several interfaces: hold frames this long to merge\n"
	    "                     them in time order, 0-1000 (default: the configuration's,\n"
	    "                     else 20; 0: no window)\n"
	    "  -h, --help       this help\n\n"
	    "See artmond(8).\n");
}

static int
parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == 0 || *end || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_opts(struct opts *o, int argc, char **argv)
{
	enum { O_EXIT = 256, O_RT, O_INTERVAL, O_HISTORY, O_NAME, O_FILTER, O_MAXSESS, O_MID, O_MERGE };
	static const struct option longopts[] = {
		{ "exit-at-end", no_argument, NULL, O_EXIT },
		{ "realtime", no_argument, NULL, O_RT },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "history", required_argument, NULL, O_HISTORY },
		{ "name", required_argument, NULL, O_NAME },
		{ "filter", required_argument, NULL, O_FILTER },
		{ "max-sessions", required_argument, NULL, O_MAXSESS },
		{ "midstream", no_argument, NULL, O_MID },
		{ "merge-window", required_argument, NULL, O_MERGE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->history = 24;
	o->merge_window = -1;
	while ((ch = getopt_long(argc, argv, "c:i:r:x:s:fD:np:u:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'i':
			for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				if (o->nifaces >= MAX_INPUTS) {
					fprintf(stderr, "artmond: too many interfaces\n");
					return -1;
				}
				o->ifaces[o->nifaces++] = tok;
			}
			break;
		case 'r':
			if (o->nfiles >= MAX_INPUTS) {
				fprintf(stderr, "artmond: too many files\n");
				return -1;
			}
			o->files[o->nfiles++] = optarg;
			break;
		case 'x': o->agentx = optarg; break;
		case 's': o->store_dir = optarg; break;
		case 'f': o->foreground = 1; break;
		case 'D': log_set_debug_tokens(optarg); break;
		case 'n': o->check_only = 1; break;
		case 'p': o->pidfile = optarg; break;
		case 'u': o->user = optarg; break;
		case O_EXIT: o->exit_at_end = 1; break;
		case O_RT: o->realtime = 1; break;
		case O_INTERVAL:
			if (parse_u32(optarg, 10, 3600, &o->interval_s) < 0) {
				fprintf(stderr, "artmond: --interval needs seconds between 10 and 3600\n");
				return -1;
			}
			break;
		case O_HISTORY:
			if (parse_u32(optarg, 1, 100000, &o->history) < 0) {
				fprintf(stderr, "artmond: --history needs a number between 1 and 100000\n");
				return -1;
			}
			break;
		case O_NAME: o->name = optarg; break;
		case O_FILTER: o->filter = optarg; break;
		case O_MAXSESS:
			if (parse_u32(optarg, 1, UINT32_MAX, &o->max_sessions) < 0) {
				fprintf(stderr, "artmond: --max-sessions needs a positive number\n");
				return -1;
			}
			break;
		case O_MID: o->midstream = 1; break;
		case O_MERGE: {
			uint32_t ms;
			if (parse_u32(optarg, 0, 1000, &ms) < 0) {
				fprintf(stderr, "artmond: --merge-window needs milliseconds between 0 and 1000\n");
				return -1;
			}
			o->merge_window = (am_time_t)ms * 1000;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "artmond: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (o->nifaces && o->nfiles) {
		fprintf(stderr, "artmond: -i and -r cannot be combined\n");
		return -1;
	}
	if ((o->realtime || o->exit_at_end) && !o->nfiles) {
		fprintf(stderr, "artmond: --realtime and --exit-at-end apply to -r only\n");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ config */

static void apply_alarm_settings(struct daemon *d);

/* Loads -c CONFIG, or the shipped default when it exists.  At start an
 * error is fatal; on reload the previous rules stay.  The outcome is
 * published in the MIB.  Returns 0 or -1. */
static int
config_load(struct daemon *d, int reload)
{
	struct am_mib_state *m = &d->mib;
	const char *path = d->o.config;
	struct am_diags diags;
	struct am_config *cfg;
	struct stat sb;

	m->config_time = am_now_wall();
	if (path == NULL) {
		path = am_config_default_path();
		if (stat(path, &sb) < 0) {
			if (!reload)
				log_warnx("main", "no default configuration at %s: measuring without rules", path);
			m->config_result = 1;
			m->config_message[0] = 0;
			return 0;
		}
	}
	snprintf(m->config_file, sizeof(m->config_file), "%s", path);
	am_diags_init(&diags);
	int dlt = 0;          /* filter sets are checked against the open capture's link type */
	if (d->src) {
		struct am_source_stats ss;
		am_source_stats(d->src, 0, &ss);
		dlt = ss.dlt > 0 ? ss.dlt : 0;
	}
	cfg = am_config_load_checked(path, dlt, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		const struct am_diag *g = &diags.v[i];
		(g->error ? log_warnx : log_info)("config", "%s:%u:%u: %s: %s", g->file, g->line, g->col,
		    g->error ? "error" : "warning", g->msg);
	}
	if (cfg == NULL) {
		const struct am_diag *g = NULL;
		for (size_t i = 0; i < diags.n && g == NULL; i++)
			if (diags.v[i].error)
				g = &diags.v[i];
		if (g)
			snprintf(m->config_message, sizeof(m->config_message), "%s:%u:%u: %s", g->file,
			    g->line, g->col, g->msg);
		else
			snprintf(m->config_message, sizeof(m->config_message), "%s: cannot be loaded", path);
		am_diags_free(&diags);
		m->config_failures++;
		m->config_result = 2;
		log_warnx("main", "%s %s failed%s", reload ? "reloading" : "loading", path,
		    reload ? ": keeping the previous rules" : "");
		return -1;
	}
	am_diags_free(&diags);
	m->config_result = 1;
	m->config_message[0] = 0;
	if (reload && d->census.census && !am_census_config_same(d->rules, cfg)) {
		char err[256];
		if (am_censusd_configure(&d->census, cfg, dlt, err, sizeof(err)) < 0)
			log_warnx("census", "keeping the previous filter sets: %s", err);
		else
			log_info("census", "filter sets and top-N tables replaced: counters start again");
	}
	if (reload && d->eng) {
		const struct am_config *unused = am_engine_set_rules(d->eng, cfg);
		/* The engine hands back rules nothing uses any more. */
		if (unused == d->old_rules)
			d->old_rules = NULL;
		if (unused == d->rules)
			d->rules = NULL;
		am_config_free((struct am_config *)unused);
		if (d->rules)
			d->old_rules = d->rules;
		log_info("main", "configuration %s reloaded", path);
	}
	d->rules = cfg;
	if (d->alarms)
		apply_alarm_settings(d);
	return 0;
}

/* ------------------------------------------------------------------ measuring */

static void
cb_txn(void *ctx, const struct am_engine_txn *t)
{
	struct daemon *d = ctx;

	am_aggview_txn(d->view, t->conn, t->txn, t->signature, t->masklen4, t->masklen6);
	am_censusd_txn(&d->census, t->conn, t->txn);
}

static void
cb_conn_end(void *ctx, const struct am_conn *c)
{
	struct daemon *d = ctx;

	if (c->src_index < MAX_INPUTS)
		d->gap[c->src_index] += c->gap_bytes[0] + c->gap_bytes[1];
	am_alarms_add_gap(d->alarms, c->last_ts, c->gap_bytes[0] + c->gap_bytes[1]);
}

static void
handle_frame(struct daemon *d, const struct am_frame *f)
{
	int i = f->index < MAX_INPUTS ? f->index : MAX_INPUTS - 1;
	enum am_dec r;

	if (!d->live)
		for (int k = 0; k < i; k++)
			d->caps[k].state = AM_CAPS_FINISHED;
	r = am_engine_frame(d->eng, f);
	am_censusd_frame(&d->census, f);
	d->ds[i].packets++;
	d->ds[i].bytes += f->wirelen;
	if ((unsigned)r < AM_DEC__COUNT)
		d->ds[i].reason[r]++;
}

/* The counters are continuous since the store's first flush, or since the
 * flush they resumed from after the last unclean stop (both on the store's
 * clock).  When this very start resumed after an unclean stop, since this
 * start (the flush's clock may equal the earlier value, and a manager must
 * see a change).  A new store has no flush yet: until its first one, the
 * start of this process (so the value changes once, at that first flush). */
static void
set_discontinuity(struct am_mib_state *m, const struct am_store_info *si, int resumed)
{
	if (resumed)
		m->discontinuity = m->start_time;
	else if (si->flushes > 0 && si->discontinuity > 0)
		m->discontinuity = si->discontinuity;
	else if (si->flushes > 0 && si->created > 0)
		m->discontinuity = si->created;
	else
		m->discontinuity = m->start_time;
}

static void
update_mib(struct daemon *d)
{
	struct am_engine_stats es;
	struct am_agg_stats as;
	struct am_mib_state *m = &d->mib;

	am_engine_stats(d->eng, &es);
	am_agg_stats(d->agg, &as);
	m->interval_s = am_agg_interval_s(d->agg);
	m->intervals = (uint32_t)as.intervals;
	m->last_interval_end = as.last_closed ? as.last_closed + (am_time_t)m->interval_s * AM_USEC : 0;
	if (d->store) {
		struct am_store_info si;
		if (am_store_info(d->store, &si) == 0) {
			m->map_size = si.map_size;
			m->map_used = si.map_used;
			m->flush_us = si.last_flush_us > 0 ? (uint64_t)si.last_flush_us : 0;
			m->flushes = (uint32_t)si.flushes;
			m->store_errors = (uint32_t)si.errors;
			m->pruned = si.pruned1 + si.pruned2 + si.pruned_full;
			set_discontinuity(m, &si, d->resumed_unclean);
		}
	} else {
		m->flush_us = as.last_flush_us > 0 ? (uint64_t)as.last_flush_us : 0;
		m->store_errors = (uint32_t)as.flush_errors;
	}
	if (d->view) {
		/* Totals of dropped keys the view could not keep: the rows they
		 * left counted less since (see agent/aggview.h). */
		uint64_t lost;
		am_time_t lost_at;
		am_aggview_retired(d->view, NULL, &lost, &lost_at);
		if (lost > 0 && lost_at == 0)
			lost_at = m->start_time;        /* at start: not counted before */
		if (lost > 0 && lost_at > m->discontinuity)
			m->discontinuity = lost_at;
	}
	for (int i = 0; i < d->nsrc && i < MAX_INPUTS; i++) {
		struct am_mib_capture *c = &d->caps[i];
		struct am_source_stats ss;
		const struct am_decode_stats *ds = &d->ds[i];

		memset(&ss, 0, sizeof(ss));
		if (d->src)
			am_source_stats(d->src, i, &ss);
		c->linktype = d->src ? ss.dlt : -1;
		c->packets = d->base[i].received + ss.received;
		c->octets = d->base[i].bytes + ss.bytes;
		c->kernel_drops = d->base[i].kernel_drops + ss.kernel_drops;
		c->if_drops = d->base[i].if_drops + ss.if_drops;
		c->merge_early = d->base[i].merge_early + ss.merge_early;
		c->merge_late = d->base[i].merge_late + ss.merge_late;
		for (int r = 0; r < AM_DEC__COUNT; r++) {
			int slot = am_mib_malformed_slot(r);
			if (slot >= 0)
				c->malformed[slot] = ds->reason[r];
		}
		c->fragments = ds->reason[AM_DEC_SKIP_FRAGMENT];
		c->not_ip = ds->reason[AM_DEC_SKIP_NOT_IP] + ds->reason[AM_DEC_SKIP_LINKTYPE];
		c->other_l4 = ds->reason[AM_DEC_SKIP_OTHER_L4];
		c->sess_active = es.tracker.sessions_active;
		c->sess_limit = es.tracker.sessions_limit;
		c->sess_refused = es.tracker.refused;
		c->sess_evicted = es.tracker.evicted;
		c->sess_timedout = es.tracker.timed_out;
		c->exchange_cap = es.tracker.exchange_cap;
		c->pending_cap = es.dns.pending_cap;
		c->regex_limit = es.rules.regex_limit;
		c->sig_overflow = es.rules.name_overflow;
		c->key_overflow = as.overflow;
		c->gap_octets = d->gap[i];
	}
}

/* Alarms and anomalies (agent/alarms.c, agent/anomaly.c): the interval
 * summed by the close callback is evaluated once it is complete. */
static void
alarm_notify(void *ctx, const struct am_mib_notification *nt)
{
	(void)ctx;
	agent_notify(nt);
}

/* Within every flush's write transaction: the anomaly detector's quantile
 * functions and the alarms' hysteresis states. */
static int
alarm_flush(void *ctx, struct am_store_w *w)
{
	struct daemon *d = ctx;

	if (am_anomaly_flush(d->anomaly, w) < 0)
		return -1;
	return am_alarms_flush(d->alarms, w);
}

static void
apply_alarm_settings(struct daemon *d)
{
	struct am_anomaly_cfg ac;
	const struct am_settings *set = d->rules ? &d->rules->set : NULL;
	struct am_settings def;

	if (set == NULL) {
		am_settings_default(&def);
		set = &def;
	}
	am_alarms_load_config(d->alarms, set);
	am_alarms_set_loss_bound(d->alarms, set->loss_bound);
	ac.bound = set->anomaly_bound;
	ac.intervals = set->anomaly_intervals;
	ac.min_history = set->anomaly_min_history;
	ac.min_txns = set->anomaly_min_txns;
	ac.days = set->anomaly_days;
	am_anomaly_set_cfg(d->anomaly, &ac);
	am_anomaly_get_cfg(d->anomaly, &ac);
	d->mib.loss_bound_ppm = set->loss_bound;
	d->mib.anomaly_bound = ac.bound;
	d->mib.anomaly_intervals = ac.intervals;
	d->mib.anomaly_min_history = ac.min_history;
}

static void
alarms_check(struct daemon *d)
{
	uint64_t packets = 0, drops = 0;

	for (int i = 0; i < d->mib.ncaptures; i++) {
		packets += d->caps[i].packets;
		drops += d->caps[i].kernel_drops + d->caps[i].if_drops;
	}
	am_alarms_set_capture(d->alarms, packets, drops);
	if (d->eof) {
		/* once the last interval's keys were all fed (its flush done) */
		if (!am_agg_flush_pending(d->agg))
			am_alarms_complete(d->alarms);
	} else if (d->live) {
		/* Live: judge an interval once its connections had time to end.
		 * A replay judges at the next interval close or at the end of
		 * the input only, so that its result does not depend on how
		 * fast this loop samples the packet clock. */
		struct am_agg_stats as;
		am_agg_stats(d->agg, &as);
		/* a deferred flush still feeds the closed interval's keys */
		if (!am_agg_flush_pending(d->agg))
			am_alarms_due(d->alarms, as.clock);
	}
	am_alarms_tick(d->alarms);
	d->mib.alarms_held_back = am_alarms_held_back(d->alarms);
	d->mib.anomalies_active = am_anomaly_active(d->anomaly);
}

/* Notifications that do not need the alarm table: session table full (at
 * most once per interval, when sessions were refused or evicted in the
 * interval that closed) and store errors. */
static void
check_notifications(struct daemon *d)
{
	struct am_engine_stats es;
	struct am_mib_notification nt;
	uint64_t full;

	alarms_check(d);
	am_engine_stats(d->eng, &es);
	full = es.tracker.refused + es.tracker.evicted;
	if (d->mib.intervals != d->nt_intervals) {
		if (full > d->nt_full) {
			am_mib_notify_init(&nt, AM_NT_SESSION_TABLE_FULL);
			am_mib_notify_str(&nt, AM_NO_CAPTURE_NAME, "");
			am_mib_notify_u32(&nt, AM_NO_VALUE, (uint32_t)(es.tracker.sessions_active > UINT32_MAX ?
			    UINT32_MAX : es.tracker.sessions_active));
			am_mib_notify_u32(&nt, AM_NO_THRESHOLD, (uint32_t)(es.tracker.sessions_limit > UINT32_MAX ?
			    UINT32_MAX : es.tracker.sessions_limit));
			am_mib_notify_date(&nt, AM_NO_INTERVAL_END, d->mib.last_interval_end);
			agent_notify(&nt);
			log_warnx("capture", "session table full: %" PRIu64 " sessions refused or evicted",
			    full - d->nt_full);
		}
		d->nt_full = full;
		d->nt_intervals = d->mib.intervals;
	}
	if (d->mib.store_errors > d->nt_store_errors) {
		static const am_subid errors_oid[] = { ARTMON_MIB_OID, AM_O_OBJECTS, AM_O_STORE, AM_STORE_ERRORS, 0 };
		am_mib_notify_init(&nt, AM_NT_STORE_ERROR);
		am_mib_notify_object(&nt, &d->mib, errors_oid, sizeof(errors_oid) / sizeof(errors_oid[0]));
		am_mib_notify_str(&nt, AM_NO_MESSAGE, "writing to the store failed");
		agent_notify(&nt);
		d->nt_store_errors = d->mib.store_errors;
	}
}

static void
finish(struct daemon *d)
{
	if (d->finished)
		return;
	d->finished = 1;
	if (am_engine_finish(d->eng) < 0)
		log_warnx("store", "the last flush failed");
	am_aggview_touch(d->view);
}

/* -D stall: every stretch of work between two looks at SNMP (the poll of
 * the main loop, snmp_between) that kept SNMP waiting more than STALL_US
 * is logged with where the time went, wall clock and CPU.  Costs two clock
 * reads per phase and per replayed frame, and only then. */
#define STALL_US 10000
enum { PH_REPLAY, PH_SNMP, PH_FLUSH, PH_VIEW, PH_LIVE, PH_MIB, PH__COUNT };
static const char *const ph_name[PH__COUNT] = { "replay", "snmp", "flush", "view", "live", "mib" };

struct stall {
	int on;
	am_time_t t, ph[PH__COUNT];
	am_time_t cpu0;             /* thread CPU time at the start of the turn */
	am_time_t frame_max;        /* longest single frame of the replay phase */
	uint64_t intervals;
};

static void
stall_mark(struct stall *s, int ph)
{
	am_time_t now;

	if (!s->on)
		return;
	now = am_now_mono();
	s->ph[ph] += now - s->t;
	s->t = now;
}

static am_time_t
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (am_time_t)ts.tv_sec * AM_USEC + ts.tv_nsec / 1000;
}

static void
stall_start(struct stall *s)
{
	if (!s->on)
		return;
	s->t = am_now_mono();
	s->cpu0 = cpu_now();
}

static void
stall_report(struct stall *s, struct daemon *d)
{
	am_time_t sum = 0;
	char buf[256];
	size_t n = 0;

	if (!s->on)
		return;
	for (int i = 0; i < PH__COUNT; i++)
		sum += s->ph[i];
	if (sum > STALL_US) {
		struct am_agg_stats as;
		am_agg_stats(d->agg, &as);
		for (int i = 0; i < PH__COUNT && n < sizeof(buf); i++)
			if (s->ph[i] >= 1000)
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s %.1f", ph_name[i],
				    (double)s->ph[i] / 1000);
		log_debug("stall", "%.1f ms without SNMP (%.1f ms CPU):%s (longest frame %.1f ms%s)",
		    (double)sum / 1000, (double)(cpu_now() - s->cpu0) / 1000, buf,
		    (double)s->frame_max / 1000,
		    as.intervals != s->intervals ? ", an interval closed" : "");
		s->intervals = as.intervals;
	}
	memset(s->ph, 0, sizeof(s->ph));
	s->frame_max = 0;
}

static struct stall stall;

/* The replay is over, its last flush written and every key in the MIB
 * view: the inputs read as finished (a manager may then rely on
 * everything being stored and on a walk showing every row). */
static int
replay_complete(const struct daemon *d)
{
	return !am_agg_flush_pending(d->agg) && am_aggview_current(d->view);
}

/* See replay_complete. */
static void
replay_done(struct daemon *d)
{
	d->end_pending = 0;
	for (int i = 0; i < d->nsrc && i < MAX_INPUTS; i++)
		d->caps[i].state = AM_CAPS_FINISHED;
	update_mib(d);
	check_notifications(d);
	log_info("main", "end of input: %u intervals", d->mib.intervals);
}

/* End of the files: close the interval in progress.  Its flush is written
 * in slices by the main loop like any other; replay_done follows. */
static void
replay_end(struct daemon *d)
{
	d->eof = 1;
	finish(d);
	am_censusd_finish(&d->census);
	/* nothing changes any more: the last keys need not wait */
	am_aggview_set_max_age(d->view, 0);
	d->end_pending = 1;
	if (replay_complete(d))
		replay_done(d);
}

/* Reads up to a batch of frames; returns the poll timeout it wants (ms). */
static int
replay_some(struct daemon *d)
{
	struct am_frame f;
	am_time_t until = am_now_mono() + REPLAY_SLICE_US;

	for (int n = 0; n < REPLAY_BATCH; n++) {
		int rc;
		/* Look at SNMP again after a slice of work, even mid-batch. */
		if ((n & 63) == 63 && am_now_mono() >= until)
			break;
		if (d->have_pending) {
			f = d->pending;
			rc = AM_SRC_PACKET;
		} else
			rc = am_source_next(d->src, &f);
		if (rc == AM_SRC_EOF || rc == AM_SRC_ERROR) {
			if (rc == AM_SRC_ERROR)
				log_warnx("capture", "%s", am_source_error(d->src));
			replay_end(d);
			return -1;
		}
		if (rc != AM_SRC_PACKET)
			return 0;
		if (d->o.realtime) {
			am_time_t now = am_now_wall();
			if (d->rt_offset == 0)
				d->rt_offset = now - f.ts;
			am_time_t due = f.ts + d->rt_offset;
			if (due > now) {
				/* The frame's data stays valid until the next read. */
				d->pending = f;
				d->have_pending = 1;
				am_time_t ms = (due - now + 999) / 1000;
				return ms > 1000 ? 1000 : (int)ms;
			}
			d->have_pending = 0;
		}
		if (stall.on) {
			am_time_t t0 = am_now_mono();
			handle_frame(d, &f);
			if (am_now_mono() - t0 > stall.frame_max)
				stall.frame_max = am_now_mono() - t0;
		} else
			handle_frame(d, &f);
	}
	am_aggview_touch(d->view);
	return 0;
}

/* A deferred flush (the close work of each key, then its records) is done
 * in slices of about FLUSH_SLICE_US between two looks at SNMP, in steps of
 * FLUSH_STEP_KEYS keys.  The last step also commits (one fdatasync). */
#define FLUSH_SLICE_US 2000
#define FLUSH_STEP_KEYS 32

/* The MIB view's background work (agent/aggview.h) per turn of the loop. */
#define VIEW_SLICE_US 1000

static void
flush_slice(struct daemon *d)
{
	am_time_t until = am_now_mono() + FLUSH_SLICE_US;
	int r;

	do
		r = am_agg_flush_step(d->agg, FLUSH_STEP_KEYS);
	while (r == 1 && am_now_mono() < until);
	if (r < 0)
		log_warnx("store", "writing an interval failed (counted in artmonStoreErrors)");
}

#define REOPEN_MIN_US AM_USEC
#define REOPEN_MAX_US (30 * AM_USEC)

/* A live interface failed (it vanished, went down...): keep its counts,
 * close the handles and retry with backoff. */
static void
live_lost(struct daemon *d)
{
	log_warnx("capture", "%s: reopening in %lld s", am_source_error(d->src),
	    (long long)(d->backoff ? d->backoff : REOPEN_MIN_US) / AM_USEC);
	for (int i = 0; i < d->nsrc && i < MAX_INPUTS; i++) {
		struct am_source_stats ss;
		am_source_stats(d->src, i, &ss);
		d->base[i].received += ss.received;
		d->base[i].bytes += ss.bytes;
		d->base[i].kernel_drops += ss.kernel_drops;
		d->base[i].if_drops += ss.if_drops;
		d->base[i].merge_early += ss.merge_early;
		d->base[i].merge_late += ss.merge_late;
		d->caps[i].state = AM_CAPS_REOPENING;
	}
	am_source_close(d->src);
	d->src = NULL;
	if (d->backoff == 0)
		d->backoff = REOPEN_MIN_US;
	d->reopen_at = am_now_mono() + d->backoff;
}

static void
live_reopen(struct daemon *d)
{
	struct am_source_opts so;
	char err[512];

	if (am_now_mono() < d->reopen_at)
		return;
	am_source_opts_default(&so);
	so.filter = d->o.filter;
	if (d->o.snaplen > 0)
		so.snaplen = d->o.snaplen;
	if (d->o.buffer_mb > 0)
		so.buffer_mb = d->o.buffer_mb;
	if (d->o.merge_window >= 0)
		so.merge_window = d->o.merge_window;
	d->src = am_source_open_live(d->o.ifaces, d->o.nifaces, &so, err, sizeof(err));
	if (d->src == NULL) {
		d->backoff = d->backoff * 2 > REOPEN_MAX_US ? REOPEN_MAX_US : d->backoff * 2;
		d->reopen_at = am_now_mono() + d->backoff;
		log_debug("capture", "reopen failed (%s): next try in %lld s", err,
		    (long long)d->backoff / AM_USEC);
		return;
	}
	log_info("capture", "interfaces reopened");
	d->backoff = 0;
	for (int i = 0; i < d->nsrc && i < MAX_INPUTS; i++) {
		d->caps[i].state = AM_CAPS_UP;
		d->caps[i].reopens++;
	}
}

static void
live_some(struct daemon *d)
{
	struct am_frame f;

	if (d->src == NULL)
		live_reopen(d);
	for (int n = 0; d->src && n < LIVE_BATCH; n++) {
		int rc = am_source_next(d->src, &f);
		if (rc == AM_SRC_ERROR) {
			live_lost(d);
			break;
		}
		if (rc != AM_SRC_PACKET)
			break;
		handle_frame(d, &f);
	}
	/* Not past the frames the merge of several interfaces still holds. */
	am_time_t now = am_source_clock(d->src, am_now_wall());
	am_engine_tick(d->eng, now);
	am_censusd_tick(&d->census, now);
	am_aggview_touch(d->view);
}

/* ------------------------------------------------------------------ process */

/* Gives the store directory and its files to the user artmond will run as. */
static int
prepare_store_dir(const char *dir, uid_t uid, gid_t gid)
{
	DIR *dp;
	struct dirent *de;
	char path[4096];

	if (chown(dir, uid, gid) < 0) {
		log_warn("store", "cannot give %s to uid %ld", dir, (long)uid);
		return -1;
	}
	if ((dp = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (chown(path, uid, gid) < 0)
			log_warn("store", "cannot give %s to uid %ld", path, (long)uid);
	}
	closedir(dp);
	return 0;
}

/* The account artmond changes to once its inputs, store and pid file are
 * open: when started as root to capture live (or with -u), -u USER, else
 * artmon, else nobody.  NULL and *name NULL: no change of user; NULL and
 * *name set: that user does not exist. */
static struct passwd *
run_user(const struct daemon *d, int live, const char **name)
{
	struct passwd *pw;

	*name = NULL;
	if (geteuid() != 0 || (!d->o.user && !live))
		return NULL;
	*name = d->o.user ? d->o.user : "artmon";
	pw = getpwnam(*name);
	if (pw == NULL && !d->o.user)
		pw = getpwnam("nobody");
	if (pw == NULL)
		log_errx("main", "user %s does not exist", *name);
	return pw;
}

static int
drop_privileges(struct passwd *pw, const char *store_dir, int keep_net_caps)
{
	if (store_dir && prepare_store_dir(store_dir, pw->pw_uid, pw->pw_gid) < 0)
		return -1;
	/* Keep what reopening a capture handle needs (CAP_NET_RAW, and
	 * CAP_NET_ADMIN for promiscuous mode), nothing else. */
	if (keep_net_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		log_warn("main", "PR_SET_KEEPCAPS");
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_warn("main", "cannot drop privileges to %s", pw->pw_name);
		return -1;
	}
	if (keep_net_caps) {
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct data[2];
		uint32_t keep = (1u << CAP_NET_RAW) | (1u << CAP_NET_ADMIN);
		memset(data, 0, sizeof(data));
		data[0].permitted = data[0].effective = keep;
		if (syscall(SYS_capset, &hdr, data) < 0)
			log_warn("main", "cannot keep CAP_NET_RAW: a vanished interface cannot be reopened");
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	log_info("main", "running as %s", pw->pw_name);
	return 0;
}

static int
open_inputs(struct daemon *d)
{
	struct am_source_opts so;
	char err[512];

	am_source_opts_default(&so);
	so.filter = d->o.filter;
	if (d->o.snaplen > 0)
		so.snaplen = d->o.snaplen;
	if (d->o.buffer_mb > 0)
		so.buffer_mb = d->o.buffer_mb;
	if (d->o.merge_window >= 0)
		so.merge_window = d->o.merge_window;
	if (d->o.nfiles)
		d->src = am_source_open_files(d->o.files, d->o.nfiles, &so, err, sizeof(err));
	else
		d->src = am_source_open_live(d->o.ifaces, d->o.nifaces, &so, err, sizeof(err));
	if (d->src == NULL) {
		char who[160] = "";
		/* libpcap's permission errors name the capability: name the user too. */
		if (strstr(err, "CAP_NET_"))
			startup_identity(who, sizeof(who));
		log_errx("capture", "%s%s%s%s", err, who[0] ? " (" : "", who, who[0] ? ")" : "");
		return -1;
	}
	d->live = am_source_is_live(d->src);
	d->nsrc = am_source_count(d->src);
	for (int i = 0; i < d->nsrc && i < MAX_INPUTS; i++) {
		struct am_mib_capture *c = &d->caps[i];
		snprintf(c->name, sizeof(c->name), "%s", d->live ? d->o.ifaces[i] : d->o.files[i]);
		c->kind = d->live ? AM_CAPK_INTERFACE : AM_CAPK_FILE;
		c->state = AM_CAPS_UP;
		c->linktype = -1;
	}
	d->mib.captures = d->caps;
	d->mib.ncaptures = d->nsrc < MAX_INPUTS ? d->nsrc : MAX_INPUTS;
	return 0;
}

static void
mib_init(struct daemon *d)
{
	struct am_mib_state *m = &d->mib;

	if (d->o.name)
		snprintf(m->sensor_name, sizeof(m->sensor_name), "%s", d->o.name);
	else if (gethostname(m->sensor_name, sizeof(m->sensor_name) - 1) < 0)
		snprintf(m->sensor_name, sizeof(m->sensor_name), "artmond");
	snprintf(m->version, sizeof(m->version), "%s", PACKAGE_VERSION);
	m->start_time = am_now_wall();
	m->discontinuity = m->start_time;
	m->loss_bound_ppm = 0;
	m->anomaly_intervals = 1;
	m->history_depth = d->o.history;
	if (d->o.store_dir)
		snprintf(m->store_path, sizeof(m->store_path), "%s", d->o.store_dir);
	if (d->store) {
		struct am_store_info si;
		if (am_store_info(d->store, &si) == 0)
			set_discontinuity(m, &si, d->resumed_unclean);
	}
	am_aggview_tables(d->view, &m->tables);
	am_alarms_tables(d->alarms, &m->tables);
}

/* Between two slices of work in one turn of the loop: answers what SNMP
 * has waiting, without waiting for more. */
static void
snmp_between(struct daemon *d)
{
	struct pollfd p[32];
	int timeout = 0;
	int n = agent_pollfds(p, (int)(sizeof(p) / sizeof(p[0])), &timeout);

	stall_report(&stall, d);
	stall_start(&stall);
	if (n > 0 && poll(p, (nfds_t)n, 0) > 0)
		agent_process(p, n);
	stall_mark(&stall, PH_SNMP);
}

static void
run(struct daemon *d)
{
	struct pollfd pfd[MAX_INPUTS + 64];   /* every input, then SNMP's */
	int srcfds[MAX_INPUTS];
	am_time_t last_update = 0;
	int view_busy = 1;

	stall.on = log_debug_enabled("stall");
	stall_start(&stall);
	while (!got_term) {
		int timeout = -1, n = 0, nsrcfd = 0;

		/* Not while a deferred flush still feeds the closed interval's
		 * keys to the alarms: the new alarm rows would judge it on the
		 * keys fed after the reload only (the loop comes back at once
		 * while a flush is pending). */
		if (got_hup && !(d->agg && am_agg_flush_pending(d->agg))) {
			got_hup = 0;
			if (config_load(d, 1) < 0 && d->o.config == NULL)
				log_warnx("main", "the default configuration has errors");
		}
		if (d->live) {
			nsrcfd = d->src ? am_source_fds(d->src, srcfds, MAX_INPUTS) : 0;
			for (int i = 0; i < nsrcfd && n < MAX_INPUTS; i++) {
				pfd[n].fd = srcfds[i];
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				n++;
			}
			timeout = 1000;      /* tracker and interval clock tick */
			/* ... or when the merge releases a frame it holds */
			int due = d->src ? am_source_timeout_ms(d->src) : -1;
			if (due >= 0 && due < timeout)
				timeout = due;
		} else if (!d->eof) {
			/* A savefile is always readable (and stays so at EOF): never
			 * poll it; read a batch per turn instead. */
			timeout = replay_some(d);
			stall_mark(&stall, PH_REPLAY);
			if (d->eof && d->o.exit_at_end)
				break;
			if (d->eof)
				timeout = -1;
		}
		int flushing = d->agg && am_agg_flush_pending(d->agg);
		/* alarm rows SET between two slices of the flush wait for the
		 * next interval (they would judge the keys fed after them only) */
		am_alarms_set_feeding(d->alarms, flushing);
		/* a flush in slices, or the MIB view's work: come back at once */
		int busy = flushing || view_busy;
		if (busy)
			timeout = 0;
		int nsnmp = agent_pollfds(pfd + n, (int)(sizeof(pfd) / sizeof(pfd[0])) - n, &timeout);
		if (busy)
			timeout = 0;
		stall_report(&stall, d);
		int rc = poll(pfd, (nfds_t)(n + nsnmp), timeout);
		if (rc < 0 && errno != EINTR) {
			log_warn("main", "poll");
			break;
		}
		if (rc < 0)
			continue;
		stall_start(&stall);
		agent_process(pfd + n, nsnmp);
		stall_mark(&stall, PH_SNMP);
		if (flushing) {
			flush_slice(d);
			am_alarms_set_feeding(d->alarms, am_agg_flush_pending(d->agg));
			stall_mark(&stall, PH_FLUSH);
			snmp_between(d);
		}
		stall_mark(&stall, PH_FLUSH);
		view_busy = am_aggview_step(d->view, VIEW_SLICE_US);
		if (d->end_pending && replay_complete(d))
			replay_done(d);
		stall_mark(&stall, PH_VIEW);
		snmp_between(d);
		if (d->live)
			live_some(d);
		stall_mark(&stall, PH_LIVE);
		am_time_t now = am_now_mono();
		if (d->eof || now - last_update >= 100000) {
			update_mib(d);
			check_notifications(d);
			last_update = now;
		}
		stall_mark(&stall, PH_MIB);
	}
}

/* The census of the configuration, on the link type of the first input,
 * its top-N intervals those of the aggregates. */
static int
census_start(struct daemon *d)
{
	struct am_source_stats ss;
	char err[256];

	memset(&ss, 0, sizeof(ss));
	if (d->src)
		am_source_stats(d->src, 0, &ss);
	am_censusd_init(&d->census, am_agg_interval_s(d->agg));
	if (am_censusd_configure(&d->census, d->rules, ss.dlt > 0 ? ss.dlt : 0, err, sizeof(err)) < 0) {
		log_warnx("census", "%s", err);
		return -1;
	}
	d->mib.census = &d->census;
	return 0;
}

static char *
own(struct daemon *d, const char *str)
{
	char *c = am_xstrdup(str);

	if (d->nowned < (int)(sizeof(d->owned) / sizeof(d->owned[0])))
		d->owned[d->nowned++] = c;
	return c;
}

/* Settings of the configuration's artmon section fill what the command line
 * left open (the command line wins). */
static void
apply_settings(struct daemon *d)
{
	const struct am_settings *set;
	struct opts *o = &d->o;

	if (d->rules == NULL)
		return;
	set = &d->rules->set;
	if (!o->nifaces && !o->nfiles)
		for (uint32_t i = 0; i < set->ninterfaces && o->nifaces < MAX_INPUTS; i++)
			o->ifaces[o->nifaces++] = own(d, set->interfaces[i]);
	if (!o->filter && set->filter)
		o->filter = own(d, set->filter);
	if (!o->store_dir && set->store)
		o->store_dir = own(d, set->store);
	if (!o->agentx && set->agentx)
		o->agentx = own(d, set->agentx);
	if (!o->user && set->user)
		o->user = own(d, set->user);
	if (!o->name && set->sensor)
		o->name = own(d, set->sensor);
	if (!o->max_sessions && set->max_sessions)
		o->max_sessions = set->max_sessions;
	o->snaplen = (int)set->snaplen;
	o->buffer_mb = (int)(set->buffer >> 20);
	if (o->merge_window < 0)
		o->merge_window = set->merge_window;
}

static int
open_store(struct daemon *d, struct am_agg_cfg *ac, uint64_t *le, uint32_t *n_le)
{
	char err[512];

	if (d->o.store_dir) {
		struct am_store_cfg stc;
		struct am_store_info si;
		char probe[4096];
		struct stat sb;
		uint64_t unclean_before = UINT64_MAX;
		am_store_cfg_default(&stc);
		/* An existing store keeps its own interval. */
		snprintf(probe, sizeof(probe), "%s/data.mdb", d->o.store_dir);
		stc.interval_s = stat(probe, &sb) == 0 ? 0 : ac->interval_s;
		if (stc.interval_s == 0) {
			/* Opening it read-write counts an unclean stop: look before. */
			struct am_store *ro = am_store_open(d->o.store_dir, &stc, AM_STORE_RDONLY, err, sizeof(err));
			if (ro && am_store_info(ro, &si) == 0)
				unclean_before = si.unclean_stops;
			if (ro)
				am_store_close(ro);
		}
		/* The checks of artmond -n, then the store's own errors. */
		if (startup_check_store(d->o.store_dir, 0, err, sizeof(err)) == STARTUP_ERROR) {
			log_errx("store", "%s", err);
			return -1;
		}
		d->store = am_store_open(d->o.store_dir, &stc, AM_STORE_RDWR, err, sizeof(err));
		if (d->store == NULL) {
			char who[160];
			startup_identity(who, sizeof(who));
			log_errx("store", "store %s (%s)", err, who);
			return -1;
		}
		am_store_info(d->store, &si);
		d->resumed_unclean = unclean_before != UINT64_MAX && si.unclean_stops > unclean_before;
		*n_le = si.n_le;
		memcpy(le, si.le, sizeof(si.le));
		if (d->o.interval_s && si.interval_s != d->o.interval_s)
			log_warnx("store", "%s keeps its interval of %us (--interval %u ignored)",
			    d->o.store_dir, si.interval_s, d->o.interval_s);
	} else {
		*n_le = ac->n_le;
		memcpy(le, ac->le, sizeof(ac->le));
	}
	/* Write a closed interval in slices between SNMP requests, so that a
	 * flush of many keys does not hold the agent up (see the main loop);
	 * the last one, at the end of a replay, too. */
	ac->deferred_flush = 1;
	d->agg = am_agg_new(ac, d->store);
	if (d->agg == NULL) {
		log_warnx("store", "cannot aggregate%s%s", d->store ? " into " : "",
		    d->store ? d->o.store_dir : "");
		return -1;
	}
	am_agg_defer_finish(d->agg, 1);
	return 0;
}

static void
check_report(enum startup_level lv, const char *token, const char *msg, int *errors, int *warnings)
{
	if (lv == STARTUP_ERROR) {
		log_errx(token, "%s", msg);
		(*errors)++;
	} else if (lv == STARTUP_WARNING) {
		log_warnx(token, "%s", msg);
		(*warnings)++;
	} else {
		log_info(token, "%s", msg);
	}
}

/* artmond -n: what a start would check, without starting: the inputs, the
 * user to change to, the store directory and the pid file (as the calling
 * user, who opens them at a start), the AgentX socket (as the user artmond
 * will run as).  Each problem on stderr; 0 when there is no error (a
 * warning names something artmond copes with, such as no master agent
 * yet), else 1. */
static int
check_startup(struct daemon *d)
{
	int errors = 0, warnings = 0, inputs = d->o.nifaces || d->o.nfiles;
	const char *uname;
	struct passwd *pw;
	char msg[1024];

	if (inputs && open_inputs(d) < 0)
		errors++;
	else if (inputs && am_censusd_check_sources(d->rules, d->src, d->nsrc) < 0)
		errors++;           /* a filter_set expression for the inputs' link type */
	pw = run_user(d, d->o.nifaces > 0, &uname);
	if (uname && pw == NULL)
		errors++;
	if (d->o.store_dir)
		check_report(startup_check_store(d->o.store_dir, 1, msg, sizeof(msg)), "store", msg,
		    &errors, &warnings);
	if (d->o.pidfile)
		check_report(startup_check_pidfile(d->o.pidfile, msg, sizeof(msg)), "main", msg,
		    &errors, &warnings);
	check_report(startup_probe_agentx_as(d->o.agentx ? d->o.agentx : agent_default_socket(), pw,
	    msg, sizeof(msg)), "snmp", msg, &errors, &warnings);
	if (errors) {
		fprintf(stderr, "artmond: %d error(s), %d warning(s): artmond would not start\n", errors,
		    warnings);
		return 1;
	}
	printf("artmond: %s OK%s%s\n", inputs ? "configuration and inputs" : "configuration",
	    inputs ? "" : " (no input given: capture not checked)", warnings ? " (see the warnings)" : "");
	return 0;
}

int
main(int argc, char **argv)
{
	struct daemon *d = am_xcalloc(1, sizeof(*d));
	struct am_engine_cfg ec;
	struct am_agg_cfg ac;
	struct sigaction sa;
	uint64_t le[AM_LE_MAX];
	uint32_t n_le = 0;
	int rc = 0;

	log_init("artmond", 0);
	d->pidfd = -1;
	if (parse_opts(&d->o, argc, argv) < 0) {
		rc = 2;
		goto out;
	}
	if (config_load(d, 0) < 0) {
		rc = 1;
		goto out;
	}
	apply_settings(d);
	if (d->o.store_dir && strcmp(d->o.store_dir, "none") == 0)
		d->o.store_dir = NULL;
	if (d->o.check_only) {
		rc = check_startup(d);
		goto out;
	}
	if (!d->o.nifaces && !d->o.nfiles) {
		fprintf(stderr, "artmond: nothing to capture: give -i IFACE or -r FILE (or interface = in the configuration)\n");
		rc = 2;
		goto out;
	}
	if (open_inputs(d) < 0) {
		rc = 1;
		goto out;
	}

	am_agg_cfg_default(&ac);
	if (d->rules && d->rules->set.interval > 0)
		ac.interval_s = (uint32_t)(d->rules->set.interval / AM_USEC);
	if (d->rules && d->rules->set.max_keys)
		ac.max_keys = d->rules->set.max_keys;
	if (d->o.interval_s)
		ac.interval_s = d->o.interval_s;
	if (open_store(d, &ac, le, &n_le) < 0) {
		rc = 1;
		goto out;
	}

	/* The pid file is created while still root, so that it may live in
	 * /run; its process id is written once detached. */
	if (d->o.pidfile) {
		char msg[1024];
		if ((d->pidfd = startup_pidfile_open(d->o.pidfile, msg, sizeof(msg))) < 0) {
			log_errx("main", "%s", msg);
			rc = 1;
			goto out;
		}
	}
	const char *uname;
	struct passwd *pw = run_user(d, d->live, &uname);
	if (uname && pw == NULL) {
		rc = 1;
		goto out;
	}
	/* The file is the user's (it may remove it from a sticky directory
	 * such as /tmp); removing it from a directory only root writes fails
	 * at exit, then the file is emptied. */
	if (pw && d->pidfd >= 0 && fchown(d->pidfd, pw->pw_uid, pw->pw_gid) < 0)
		log_warn("main", "pid file %s: cannot give it to user %s", d->o.pidfile, pw->pw_name);
	if (pw && drop_privileges(pw, d->o.store_dir, d->live) < 0) {
		rc = 1;
		goto out;
	}
	if (!d->o.foreground) {
		if (daemon(0, 0) < 0) {
			log_warn("main", "daemon");
			rc = 1;
			goto out;
		}
		log_init("artmond", 1);
	}
	if (d->pidfd >= 0) {
		char msg[1024];
		if (startup_pidfile_write(d->pidfd, msg, sizeof(msg)) < 0)
			log_warnx("main", "pid file %s: %s", d->o.pidfile, msg);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	am_engine_cfg_default(&ec);
	if (d->rules)
		am_engine_cfg_from_rules(&ec, d->rules);
	if (d->o.max_sessions)
		ec.tracker.max_sessions = d->o.max_sessions;
	if (d->o.midstream)
		ec.tracker.wait_for_syn = 0;
	struct am_engine_cb cb = { .ctx = d, .txn = cb_txn, .conn_end = cb_conn_end };
	d->masklen4 = ec.masklen4;
	d->masklen6 = ec.masklen6;
	d->eng = am_engine_new(&ec, d->rules, d->agg, &cb);
	if (census_start(d) < 0) {
		rc = 1;
		goto out;
	}
	d->view = am_aggview_new(d->agg, d->store, le, n_le, d->o.history);
	/* requests never wait for a rebuild: the main loop does it in steps */
	am_aggview_set_stepped(d->view);
	d->alarms = am_alarms_new();
	am_alarms_set_grace(d->alarms, ec.tracker.timeout_closed + AM_USEC);
	d->anomaly = am_anomaly_new(NULL, d->store);
	am_alarms_set_anomaly(d->alarms, d->anomaly);
	am_alarms_on_notify(d->alarms, alarm_notify, d);
	am_anomaly_on_notify(d->anomaly, alarm_notify, d);
	if (d->store)
		am_agg_on_flush(d->agg, alarm_flush, d);
	if (d->store && am_alarms_attach_store(d->alarms, d->store) < 0)
		log_warnx("alarm", "the alarm rows kept in the store cannot be read");
	am_aggview_chain_close(d->view, am_alarms_close, d->alarms);
	mib_init(d);
	apply_alarm_settings(d);
	if (d->live)
		am_engine_tick(d->eng, am_source_clock(d->src, am_now_wall()));
	update_mib(d);
	d->nt_store_errors = d->mib.store_errors;   /* only new errors are notified */

	if (agent_init(d->o.agentx, &d->mib) < 0) {
		rc = 1;
		goto out;
	}
	log_info("main", "started: %d %s, interval %us%s%s", d->nsrc,
	    d->live ? "interface(s)" : "file(s)", am_agg_interval_s(d->agg),
	    d->store ? ", store " : "", d->store ? d->o.store_dir : "");
	run(d);
	log_info("main", "stopping");
	if (d->live && d->src) {
		/* What the merge of several interfaces still holds. */
		struct am_frame f;
		while (am_source_drain(d->src, &f) == AM_SRC_PACKET)
			handle_frame(d, &f);
	}
	finish(d);
	/* a flush still in slices is written to its end */
	while (am_agg_flush_step(d->agg, UINT32_MAX) == 1)
		;
	agent_shutdown();
out:
	if (d->pidfd >= 0 && startup_pidfile_remove(d->pidfd, d->o.pidfile) == 0)
		log_info("main", "pid file %s emptied: this user may not remove it from its directory "
		    "(the service manager or the init script does)", d->o.pidfile);
	am_engine_free(d->eng);
	am_aggview_free(d->view);
	am_alarms_free(d->alarms);
	am_anomaly_free(d->anomaly);
	am_censusd_free(&d->census);
	am_agg_free(d->agg);
	if (d->store)
		am_store_close(d->store);
	if (d->src)
		am_source_close(d->src);
	am_config_free((struct am_config *)d->old_rules);
	am_config_free(d->rules);
	for (int i = 0; i < d->nowned; i++)
		free(d->owned[i]);
	free(d);
	return rc;
}
