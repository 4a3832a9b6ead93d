/* Packet sources: files read one after the other, or live interfaces
 * merged in timestamp order.  Files are streamed by libpcap, never loaded. */
#include "config.h"
#include "capture/source.h"
#include "capture/reorder.h"
#include "common/log.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct input {
	char *name;
	pcap_t *p;
	int dlt;
	int eof;
	uint64_t received, bytes;
	uint64_t size;            /* file size, 0 live */
	uint64_t done_before;     /* bytes of earlier files (progress) */
	/* live merge without a window: one frame held while the other handles
	 * are polled */
	int held;
	struct am_frame frame;
	uint8_t *buf;
	uint32_t bufsize;         /* bytes kept of a frame when several are merged */
	/* live merge with a window: a frame read but not yet queued (no room) */
	int pending;
	struct pcap_pkthdr *ph;
	const u_char *pdata;
	struct pcap_stat last_stat;
};

struct am_source {
	int live;
	int n;
	int cur;                  /* files: the one being read */
	int last;                 /* live: the handle whose frame was returned last */
	int failed;               /* live: a handle failed (message in err) */
	struct am_reorder *ro;    /* live, several handles, a window: the merge */
	struct input *in;
	struct am_source_opts o;
	uint64_t total_size;
	char err[PCAP_ERRBUF_SIZE + 256];
};

void
am_source_opts_default(struct am_source_opts *o)
{
	o->snaplen = 1024;
	o->buffer_mb = 64;
	o->promisc = 1;
	o->immediate = 1;
	o->filter = NULL;
	o->merge_window = AM_SOURCE_MERGE_WINDOW;
	o->merge_buffer = AM_SOURCE_MERGE_BUFFER;
}

static int
set_filter(pcap_t *p, const char *filter, const char *name, char *err, size_t errlen)
{
	struct bpf_program prog;

	if (filter == NULL || *filter == '\0')
		return 0;
	if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "%s: bad filter \"%s\": %s", name, filter, pcap_geterr(p));
		return -1;
	}
	if (pcap_setfilter(p, &prog) < 0) {
		snprintf(err, errlen, "%s: cannot set filter: %s", name, pcap_geterr(p));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

static struct am_source *
source_alloc(int n, const struct am_source_opts *o, int live)
{
	struct am_source *s = am_xcalloc(1, sizeof(*s));

	s->live = live;
	s->n = n;
	s->in = am_xcalloc((size_t)n, sizeof(*s->in));
	if (o)
		s->o = *o;
	else
		am_source_opts_default(&s->o);
	s->last = -1;
	return s;
}

static int
open_file(struct am_source *s, int i, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct input *in = &s->in[i];

	ebuf[0] = '\0';
	in->p = pcap_open_offline_with_tstamp_precision(in->name, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (in->p == NULL) {
		snprintf(err, errlen, "%s: %s", in->name, ebuf);
		return -1;
	}
	in->dlt = pcap_datalink(in->p);
	if (set_filter(in->p, s->o.filter, in->name, err, errlen) < 0)
		return -1;
	return 0;
}

struct am_source *
am_source_open_files(char *const *files, int n, const struct am_source_opts *o, char *err, size_t errlen)
{
	struct am_source *s;
	struct stat sb;

	if (n <= 0) {
		snprintf(err, errlen, "no capture file given");
		return NULL;
	}
	s = source_alloc(n, o, 0);
	for (int i = 0; i < n; i++) {
		s->in[i].name = am_xstrdup(files[i]);
		if (stat(files[i], &sb) < 0) {
			snprintf(err, errlen, "%s: %s", files[i], strerror(errno));
			am_source_close(s);
			return NULL;
		}
		s->in[i].size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
		s->in[i].done_before = s->total_size;
		s->total_size += s->in[i].size;
	}
	/* Open the first now so that errors show at once; the others are
	 * checked now too, then reopened in turn (one descriptor at a time). */
	for (int i = 0; i < n; i++) {
		if (open_file(s, i, err, errlen) < 0) {
			am_source_close(s);
			return NULL;
		}
		if (i > 0) {
			pcap_close(s->in[i].p);
			s->in[i].p = NULL;
		}
	}
	return s;
}

struct am_source *
am_source_open_live(char *const *ifaces, int n, const struct am_source_opts *o, char *err, size_t errlen)
{
	struct am_source *s;
	char ebuf[PCAP_ERRBUF_SIZE];

	if (n <= 0) {
		snprintf(err, errlen, "no interface given");
		return NULL;
	}
	s = source_alloc(n, o, 1);
	for (int i = 0; i < n; i++) {
		struct input *in = &s->in[i];
		in->name = am_xstrdup(ifaces[i]);
		ebuf[0] = '\0';
		in->p = pcap_create(in->name, ebuf);
		if (in->p == NULL) {
			snprintf(err, errlen, "%s: %s", in->name, ebuf);
			goto fail;
		}
		pcap_set_snaplen(in->p, s->o.snaplen);
		pcap_set_promisc(in->p, s->o.promisc);
		pcap_set_timeout(in->p, 100);
		pcap_set_buffer_size(in->p, s->o.buffer_mb * 1024 * 1024);
#ifdef HAVE_PCAP_SET_IMMEDIATE_MODE
		pcap_set_immediate_mode(in->p, s->o.immediate);
#endif
#ifdef HAVE_PCAP_SET_TSTAMP_PRECISION
		pcap_set_tstamp_precision(in->p, PCAP_TSTAMP_PRECISION_MICRO);
#endif
		int rc = pcap_activate(in->p);
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s%s", in->name, pcap_statustostr(rc),
			    rc == PCAP_ERROR_PERM_DENIED ? " (needs CAP_NET_RAW: run as root or grant the capability)" :
			    rc == PCAP_ERROR ? "" : "");
			if (rc == PCAP_ERROR)
				snprintf(err, errlen, "%s: %s", in->name, pcap_geterr(in->p));
			goto fail;
		} else if (rc > 0) {
			log_warnx("capture", "%s: %s", in->name, pcap_statustostr(rc));
		}
		in->dlt = pcap_datalink(in->p);
		if (set_filter(in->p, s->o.filter, in->name, err, errlen) < 0)
			goto fail;
		if (pcap_setnonblock(in->p, 1, ebuf) < 0) {
			snprintf(err, errlen, "%s: %s", in->name, ebuf);
			goto fail;
		}
		in->bufsize = (uint32_t)(s->o.snaplen > 0 ? s->o.snaplen : 262144);
		if (in->bufsize < 65536 && s->n > 1)
			in->bufsize = 65536;
		in->buf = s->n > 1 && s->o.merge_window <= 0 ? am_xmalloc(in->bufsize) : NULL;
	}
	if (s->n > 1 && s->o.merge_window > 0) {
		size_t bytes = s->o.merge_buffer;
		if (bytes < am_reorder_min_bytes(s->in[0].bufsize))
			bytes = am_reorder_min_bytes(s->in[0].bufsize);
		s->ro = am_reorder_new(s->n, bytes, s->o.merge_window);
	}
	return s;
fail:
	am_source_close(s);
	return NULL;
}

void
am_source_close(struct am_source *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->n; i++) {
		if (s->in[i].p)
			pcap_close(s->in[i].p);
		free(s->in[i].name);
		free(s->in[i].buf);
	}
	am_reorder_free(s->ro);
	free(s->in);
	free(s);
}

const char *
am_source_error(const struct am_source *s)
{
	return s->err;
}

int
am_source_is_live(const struct am_source *s)
{
	return s->live;
}

static inline am_time_t
hdr_time(const struct pcap_pkthdr *h)
{
	return (am_time_t)h->ts.tv_sec * AM_USEC + h->ts.tv_usec;
}

static int
next_file(struct am_source *s, struct am_frame *f)
{
	struct pcap_pkthdr *h;
	const u_char *data;

	while (s->cur < s->n) {
		struct input *in = &s->in[s->cur];
		if (in->p == NULL && !in->eof) {
			if (open_file(s, s->cur, s->err, sizeof(s->err)) < 0)
				return AM_SRC_ERROR;
		}
		int rc = in->eof ? PCAP_ERROR_BREAK : pcap_next_ex(in->p, &h, &data);
		if (rc == 1) {
			in->received++;
			in->bytes += h->len;
			f->ts = hdr_time(h);
			f->caplen = h->caplen;
			f->wirelen = h->len;
			f->data = data;
			f->dlt = in->dlt;
			f->index = s->cur;
			return AM_SRC_PACKET;
		}
		if (rc == PCAP_ERROR) {
			snprintf(s->err, sizeof(s->err), "%s: %s", in->name, pcap_geterr(in->p));
			/* A damaged tail: report it and go on with the next file. */
			log_warnx("capture", "%s", s->err);
		}
		in->eof = 1;
		if (in->p) {
			pcap_close(in->p);
			in->p = NULL;
		}
		s->cur++;
	}
	return AM_SRC_EOF;
}

static int
fill_live(struct am_source *s, int i)
{
	struct input *in = &s->in[i];
	struct pcap_pkthdr *h;
	const u_char *data;

	if (in->held || in->eof)
		return 0;
	int rc = pcap_next_ex(in->p, &h, &data);
	if (rc == 1) {
		in->received++;
		in->bytes += h->len;
		in->frame.ts = hdr_time(h);
		in->frame.caplen = h->caplen;
		in->frame.wirelen = h->len;
		in->frame.dlt = in->dlt;
		in->frame.index = i;
		if (in->buf) {
			uint32_t n = h->caplen < in->bufsize ? h->caplen : in->bufsize;
			memcpy(in->buf, data, n);
			in->frame.caplen = n;
			in->frame.data = in->buf;
		} else {
			in->frame.data = data;
		}
		in->held = 1;
		return 1;
	}
	if (rc == PCAP_ERROR) {
		snprintf(s->err, sizeof(s->err), "%s: %s", in->name, pcap_geterr(in->p));
		in->eof = 1;
		s->failed = 1;
		return -1;
	}
	return 0;
}

/* The oldest frame held without a window (stop, failure): 0 when none. */
static int
take_held(struct am_source *s, struct am_frame *f)
{
	int best = -1;

	for (int i = 0; i < s->n; i++)
		if (s->in[i].held && (best < 0 || s->in[i].frame.ts < s->in[best].frame.ts))
			best = i;
	if (best < 0)
		return 0;
	*f = s->in[best].frame;
	s->in[best].held = 0;
	s->last = best;
	return 1;
}

/* One interface, or several without a window: the oldest of the frames the
 * handles have ready now. */
static int
next_live(struct am_source *s, struct am_frame *f)
{
	for (int i = 0; i < s->n && !s->failed; i++)
		fill_live(s, i);
	if (take_held(s, f))
		return AM_SRC_PACKET;
	/* A failed handle: the others' frames went first; then the caller
	 * closes and reopens. */
	return s->failed ? AM_SRC_ERROR : AM_SRC_AGAIN;
}

/* Reads a frame of handle i into in->pending unless one is there already.
 * Returns whether one is pending. */
static int
read_pending(struct am_source *s, int i)
{
	struct input *in = &s->in[i];

	if (in->pending)
		return 1;
	if (in->eof)
		return 0;
	int rc = pcap_next_ex(in->p, &in->ph, &in->pdata);
	if (rc == 1) {
		in->received++;
		in->bytes += in->ph->len;
		in->pending = 1;
		return 1;
	}
	if (rc == PCAP_ERROR) {
		snprintf(s->err, sizeof(s->err), "%s: %s", in->name, pcap_geterr(in->p));
		in->eof = 1;
		s->failed = 1;
		am_reorder_source_done(s->ro, i);
	}
	return 0;
}

/* Queues handle i's pending frame: 0, or -1 when its ring is full. */
static int
queue_pending(struct am_source *s, int i, am_time_t now)
{
	struct input *in = &s->in[i];
	struct am_frame fr;

	fr.ts = hdr_time(in->ph);
	fr.caplen = in->ph->caplen < in->bufsize ? in->ph->caplen : in->bufsize;
	fr.wirelen = in->ph->len;
	fr.data = in->pdata;
	fr.dlt = in->dlt;
	fr.index = i;
	if (am_reorder_push(s->ro, &fr, now) < 0)
		return -1;
	in->pending = 0;
	return 0;
}

/* Frames read from a handle in one go while nothing is due. */
#define MERGE_BURST 256

/* Several interfaces with a window (capture/reorder.h). */
static int
next_merged(struct am_source *s, struct am_frame *f)
{
	am_time_t now = am_now_mono();
	int blocked = 0;

	/* A handle with nothing queued may hold the oldest frame: look first.
	 * The others' unread frames are newer than what they have queued. */
	for (int i = 0; i < s->n && !s->failed; i++)
		if (am_reorder_queued(s->ro, i) == 0 && read_pending(s, i) &&
		    queue_pending(s, i, now) < 0)
			blocked = 1;
	if (!s->failed && am_reorder_pop(s->ro, now, f))
		goto out;
	/* Nothing due: take in what the handles have ready. */
	for (int i = 0; i < s->n && !s->failed; i++) {
		for (int k = 0; k < MERGE_BURST && read_pending(s, i); k++) {
			if (queue_pending(s, i, now) < 0) {
				blocked = 1;
				break;
			}
		}
	}
	if (s->failed) {
		/* The caller closes every handle: what is queued goes first. */
		if (am_reorder_flush(s->ro, f))
			goto out;
		return AM_SRC_ERROR;
	}
	if (am_reorder_pop(s->ro, now, f))
		goto out;
	/* A ring is full and its handle has more: release early (counted). */
	if (blocked && am_reorder_pop_forced(s->ro, now, f))
		goto out;
	return AM_SRC_AGAIN;
out:
	s->last = f->index;
	return AM_SRC_PACKET;
}

int
am_source_next(struct am_source *s, struct am_frame *f)
{
	if (!s->live)
		return next_file(s, f);
	return s->ro ? next_merged(s, f) : next_live(s, f);
}

int
am_source_drain(struct am_source *s, struct am_frame *f)
{
	if (!s->live)
		return AM_SRC_EOF;
	if (s->ro)
		return am_reorder_flush(s->ro, f) ? AM_SRC_PACKET : AM_SRC_EOF;
	return take_held(s, f) ? AM_SRC_PACKET : AM_SRC_EOF;
}

am_time_t
am_source_clock(const struct am_source *s, am_time_t wall)
{
	if (s == NULL || s->ro == NULL)
		return wall;
	am_time_t t = wall - s->o.merge_window;
	am_time_t held = am_reorder_oldest(s->ro);
	return held < t ? held : t;
}

int
am_source_timeout_ms(const struct am_source *s)
{
	if (s == NULL || s->ro == NULL)
		return -1;
	am_time_t due = am_reorder_next_due(s->ro);
	if (due < 0)
		return -1;
	am_time_t wait = due - am_now_mono();
	if (wait <= 0)
		return 0;
	return (int)((wait + 999) / 1000);
}

int
am_source_fds(const struct am_source *s, int *fds, int max)
{
	int n = 0;

	if (!s->live)
		return 0;
	for (int i = 0; i < s->n && n < max; i++) {
		if (s->in[i].p && !s->in[i].eof) {
			int fd = pcap_get_selectable_fd(s->in[i].p);
			if (fd >= 0)
				fds[n++] = fd;
		}
	}
	return n;
}

int
am_source_count(const struct am_source *s)
{
	return s->n;
}

void
am_source_stats(struct am_source *s, int i, struct am_source_stats *st)
{
	struct input *in = &s->in[i];

	memset(st, 0, sizeof(*st));
	st->name = in->name;
	st->dlt = in->dlt;
	st->received = in->received;
	st->bytes = in->bytes;
	if (s->live && in->p) {
		struct pcap_stat ps;
		if (pcap_stats(in->p, &ps) == 0)
			in->last_stat = ps;
	}
	st->kernel_drops = in->last_stat.ps_drop;
	st->if_drops = in->last_stat.ps_ifdrop;
	if (s->ro) {
		struct am_reorder_stats rs;
		am_reorder_stats(s->ro, i, &rs);
		st->merge_early = rs.early;
		st->merge_late = rs.late;
	}
}

void
am_source_progress(const struct am_source *s, uint64_t *done, uint64_t *total)
{
	*done = 0;
	*total = s->total_size;
	if (s->live)
		return;
	if (s->cur >= s->n) {
		*done = s->total_size;
		return;
	}
	const struct input *in = &s->in[s->cur];
	*done = in->done_before;
	if (in->p) {
		FILE *fp = pcap_file(in->p);
		if (fp) {
			long off = ftell(fp);
			if (off > 0)
				*done += (uint64_t)off;
		}
	}
}
