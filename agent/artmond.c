/* artmond: capture (live or replay) -> session tracker -> aggregates ->
 * ARTMON-MIB through an AgentX subagent. */
#include "config.h"
#include "agent/live.h"
#include "agent/mib.h"
#include "agent/snmp.h"
#include "capture/decode.h"
#include "capture/source.h"
#include "capture/tracker.h"
#include "common/log.h"

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
#include <sys/stat.h>
#include <unistd.h>

#define MAX_INPUTS 64
#define REPLAY_BATCH 2000       /* packets between two looks at SNMP */
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
	struct am_source *src;
	int live;
	int nsrc;
	int eof;
	struct am_tracker *tr;
	struct am_live *agg;
	am_time_t interval_us;
	am_time_t cur_start;          /* start of the open interval, 0 before the first packet */
	am_time_t rt_offset;          /* --realtime: wall - packet time, 0 before the first packet */
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
	    "  -s STORE_DIR     directory of the LMDB store\n"
	    "  -f               stay in the foreground, log to stderr\n"
	    "  -D TOKENS        debug output for subsystems (capture,snmp,main or all)\n"
	    "  -n               check the configuration and the inputs, then exit\n"
	    "  -p PIDFILE       write the process id there\n"
	    "  -u USER          drop to this user after opening the inputs\n"
	    "                   (default when root and capturing live: artmon, else nobody)\n"
	    "      --exit-at-end  with -r: exit after the last packet instead of serving on\n"
	    "      --realtime     with -r: replay at the recorded speed\n"
	    "      --interval S   summary interval in seconds (default 60)\n"
	    "      --history N    completed intervals kept per signature (default 24)\n"
	    "      --name NAME    sensor name (default: the host name)\n"
	    "      --filter EXPR  BPF filter for the inputs\n"
	    "      --max-sessions N  bound on tracked TCP sessions\n"
	    "      --midstream    also measure connections whose handshake was not seen\n"
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
	enum { O_EXIT = 256, O_RT, O_INTERVAL, O_HISTORY, O_NAME, O_FILTER, O_MAXSESS, O_MID };
	static const struct option longopts[] = {
		{ "exit-at-end", no_argument, NULL, O_EXIT },
		{ "realtime", no_argument, NULL, O_RT },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "history", required_argument, NULL, O_HISTORY },
		{ "name", required_argument, NULL, O_NAME },
		{ "filter", required_argument, NULL, O_FILTER },
		{ "max-sessions", required_argument, NULL, O_MAXSESS },
		{ "midstream", no_argument, NULL, O_MID },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->interval_s = 60;
	o->history = 24;
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
			if (parse_u32(optarg, 1, 86400, &o->interval_s) < 0) {
				fprintf(stderr, "artmond: --interval needs seconds between 1 and 86400\n");
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
	if (!o->nifaces && !o->nfiles) {
		fprintf(stderr, "artmond: nothing to capture: give -i IFACE or -r FILE\n");
		return -1;
	}
	if ((o->realtime || o->exit_at_end) && !o->nfiles) {
		fprintf(stderr, "artmond: --realtime and --exit-at-end apply to -r only\n");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ config */

/* The rules language is not wired into artmond yet: the file is only
 * checked for readability, and its outcome published in the MIB. */
static int
config_load(struct daemon *d, int reload)
{
	struct am_mib_state *m = &d->mib;
	FILE *fp;

	m->config_time = am_now_wall();
	if (d->o.config == NULL) {
		m->config_result = 1;
		m->config_message[0] = 0;
		return 0;
	}
	fp = fopen(d->o.config, "r");
	if (fp == NULL) {
		snprintf(m->config_message, sizeof(m->config_message), "%s:0:0: %s", d->o.config,
		    strerror(errno));
		m->config_failures++;
		m->config_result = 2;
		log_warnx("main", "%s configuration failed: %s%s", reload ? "reloading" : "loading",
		    m->config_message, reload ? " (keeping the previous one)" : "");
		return -1;
	}
	fclose(fp);
	m->config_result = 1;
	m->config_message[0] = 0;
	if (reload)
		log_info("main", "configuration %s reloaded", d->o.config);
	return 0;
}

/* ------------------------------------------------------------------ measuring */

static void
cb_txn(void *ctx, const struct am_conn *c, const struct am_txn *t)
{
	struct daemon *d = ctx;

	am_live_txn(d->agg, c, t, NULL, NULL);
}

static void
cb_conn_end(void *ctx, const struct am_conn *c)
{
	struct daemon *d = ctx;

	if (c->src_index < MAX_INPUTS)
		d->gap[c->src_index] += c->gap_bytes[0] + c->gap_bytes[1];
}

static void
close_interval(struct daemon *d)
{
	am_time_t end = d->cur_start + d->interval_us;

	am_live_close_interval(d->agg, d->cur_start, end);
	d->mib.last_interval_end = end;
	d->mib.intervals++;
	log_debug("main", "interval %lld closed", (long long)(d->cur_start / AM_USEC));
	d->cur_start = end;
}

/* Advances the interval clock to `now` (packet time, or wall time live). */
static void
clock_to(struct daemon *d, am_time_t now)
{
	if (d->cur_start == 0) {
		d->cur_start = now - now % d->interval_us;
		return;
	}
	if (now < d->cur_start + d->interval_us)
		return;
	close_interval(d);
	if (now >= d->cur_start + d->interval_us) {
		/* A silent stretch: the last completed interval is an empty one. */
		d->cur_start = now - now % d->interval_us - d->interval_us;
		close_interval(d);
	}
}

static void
handle_frame(struct daemon *d, const struct am_frame *f)
{
	struct am_packet p;
	int i = f->index < MAX_INPUTS ? f->index : MAX_INPUTS - 1;

	if (!d->live) {
		clock_to(d, f->ts);
		for (int k = 0; k < i; k++)
			d->caps[k].state = AM_CAPS_FINISHED;
	}
	if (am_decode_count(&d->ds[i], f->dlt, f->data, f->caplen, f->wirelen, &p) == AM_DEC_OK) {
		p.ts = f->ts;
		p.source = (uint8_t)i;
		am_tracker_packet(d->tr, &p);
	}
}

static void
update_mib(struct daemon *d)
{
	struct am_tracker_stats ts;

	am_tracker_stats(d->tr, &ts);
	for (int i = 0; i < d->nsrc && i < MAX_INPUTS; i++) {
		struct am_mib_capture *c = &d->caps[i];
		struct am_source_stats ss;
		const struct am_decode_stats *ds = &d->ds[i];

		am_source_stats(d->src, i, &ss);
		c->linktype = ss.dlt;
		c->packets = ss.received;
		c->octets = ss.bytes;
		c->kernel_drops = ss.kernel_drops;
		c->if_drops = ss.if_drops;
		for (int r = 0; r < AM_DEC__COUNT; r++) {
			int slot = am_mib_malformed_slot(r);
			if (slot >= 0)
				c->malformed[slot] = ds->reason[r];
		}
		c->fragments = ds->reason[AM_DEC_SKIP_FRAGMENT];
		c->not_ip = ds->reason[AM_DEC_SKIP_NOT_IP] + ds->reason[AM_DEC_SKIP_LINKTYPE];
		c->other_l4 = ds->reason[AM_DEC_SKIP_OTHER_L4];
		c->sess_active = ts.sessions_active;
		c->sess_limit = ts.sessions_limit;
		c->sess_refused = ts.refused;
		c->sess_evicted = ts.evicted;
		c->sess_timedout = ts.timed_out;
		c->sig_overflow = am_live_sig_overflows(d->agg);
		c->key_overflow = am_live_key_overflows(d->agg);
		c->gap_octets = d->gap[i];
	}
}

/* End of the files: report what is open, close the interval in progress. */
static void
replay_end(struct daemon *d)
{
	d->eof = 1;
	am_tracker_finish(d->tr);
	if (d->cur_start != 0)
		close_interval(d);
	for (int i = 0; i < d->nsrc && i < MAX_INPUTS; i++)
		d->caps[i].state = AM_CAPS_FINISHED;
	update_mib(d);
	log_info("main", "end of input: %u intervals", d->mib.intervals);
}

/* Reads up to a batch of frames; returns the poll timeout it wants (ms). */
static int
replay_some(struct daemon *d)
{
	struct am_frame f;

	for (int n = 0; n < REPLAY_BATCH; n++) {
		int rc;
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
		handle_frame(d, &f);
	}
	return 0;
}

static void
live_some(struct daemon *d)
{
	struct am_frame f;

	for (int n = 0; n < LIVE_BATCH; n++) {
		int rc = am_source_next(d->src, &f);
		if (rc != AM_SRC_PACKET) {
			if (rc == AM_SRC_ERROR)
				log_warnx("capture", "%s", am_source_error(d->src));
			break;
		}
		handle_frame(d, &f);
	}
	am_time_t now = am_now_wall();
	am_tracker_tick(d->tr, now);
	clock_to(d, now);
}

/* ------------------------------------------------------------------ process */

static int
write_pidfile(const char *path)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		log_warn("main", "cannot write pidfile %s", path);
		return -1;
	}
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		log_warn("main", "cannot write pidfile %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
drop_privileges(const char *user, int explicit)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL && !explicit)
		pw = getpwnam("nobody");
	if (pw == NULL) {
		log_warnx("main", "user %s does not exist", user);
		return -1;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_warn("main", "cannot drop privileges to %s", pw->pw_name);
		return -1;
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
	if (d->o.nfiles)
		d->src = am_source_open_files(d->o.files, d->o.nfiles, &so, err, sizeof(err));
	else
		d->src = am_source_open_live(d->o.ifaces, d->o.nifaces, &so, err, sizeof(err));
	if (d->src == NULL) {
		log_warnx("capture", "%s", err);
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
	m->interval_s = d->o.interval_s;
	m->history_depth = d->o.history;
	if (d->o.config)
		snprintf(m->config_file, sizeof(m->config_file), "%s", d->o.config);
	if (d->o.store_dir)
		snprintf(m->store_path, sizeof(m->store_path), "%s", d->o.store_dir);
	am_live_tables(d->agg, &m->tables);
}

static void
run(struct daemon *d)
{
	struct pollfd pfd[64];
	int srcfds[MAX_INPUTS];
	am_time_t last_update = 0;

	while (!got_term) {
		int timeout = -1, n = 0, nsrcfd = 0;

		if (got_hup) {
			got_hup = 0;
			config_load(d, 1);
		}
		if (d->live) {
			nsrcfd = am_source_fds(d->src, srcfds, MAX_INPUTS);
			for (int i = 0; i < nsrcfd && n < 32; i++) {
				pfd[n].fd = srcfds[i];
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				n++;
			}
			timeout = 1000;      /* tracker and interval clock tick */
		} else if (!d->eof) {
			/* A savefile is always readable (and stays so at EOF): never
			 * poll it; read a batch per turn instead. */
			timeout = replay_some(d);
			if (d->eof && d->o.exit_at_end)
				break;
			if (d->eof)
				timeout = -1;
		}
		int nsnmp = agent_pollfds(pfd + n, (int)(sizeof(pfd) / sizeof(pfd[0])) - n, &timeout);
		int rc = poll(pfd, (nfds_t)(n + nsnmp), timeout);
		if (rc < 0 && errno != EINTR) {
			log_warn("main", "poll");
			break;
		}
		if (rc < 0)
			continue;
		agent_process(pfd + n, nsnmp);
		if (d->live)
			live_some(d);
		am_time_t now = am_now_mono();
		if (d->eof || now - last_update >= 100000) {
			update_mib(d);
			last_update = now;
		}
	}
}

int
main(int argc, char **argv)
{
	struct daemon *d = am_xcalloc(1, sizeof(*d));
	struct am_tracker_cfg tc;
	struct am_live_cfg lc;
	struct sigaction sa;
	int rc = 0;

	log_init("artmond", 0);
	if (parse_opts(&d->o, argc, argv) < 0)
		return 2;
	d->interval_us = (am_time_t)d->o.interval_s * AM_USEC;

	if (config_load(d, 0) < 0)
		return 1;
	if (open_inputs(d) < 0)
		return 1;
	if (d->o.check_only) {
		printf("artmond: configuration and inputs OK\n");
		am_source_close(d->src);
		return 0;
	}

	if (geteuid() == 0 && (d->o.user || d->live)) {
		if (drop_privileges(d->o.user ? d->o.user : "artmon", d->o.user != NULL) < 0)
			return 1;
	}
	if (!d->o.foreground) {
		if (daemon(0, 0) < 0) {
			log_warn("main", "daemon");
			return 1;
		}
		log_init("artmond", 1);
	}
	if (d->o.pidfile)
		write_pidfile(d->o.pidfile);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	am_tracker_cfg_default(&tc);
	if (d->o.max_sessions)
		tc.max_sessions = d->o.max_sessions;
	if (d->o.midstream)
		tc.wait_for_syn = 0;
	struct am_tracker_cb cb = { .ctx = d, .txn = cb_txn, .conn_end = cb_conn_end };
	d->tr = am_tracker_new(&tc, &cb);
	am_live_cfg_default(&lc);
	lc.history_depth = d->o.history;
	d->agg = am_live_new(&lc);
	mib_init(d);
	if (d->live)
		d->cur_start = 0, clock_to(d, am_now_wall());
	update_mib(d);

	if (agent_init(d->o.agentx, &d->mib) < 0) {
		rc = 1;
		goto out;
	}
	log_info("main", "started: %d %s, interval %us", d->nsrc,
	    d->live ? "interface(s)" : "file(s)", d->o.interval_s);
	run(d);
	log_info("main", "stopping");
	agent_shutdown();
out:
	if (d->o.pidfile)
		unlink(d->o.pidfile);
	am_tracker_free(d->tr);
	am_live_free(d->agg);
	am_source_close(d->src);
	free(d);
	return rc;
}
