/* Packet sources: pcap/pcapng files (several, read in order, streamed) or
 * live interfaces (several, merged in timestamp order). */
#ifndef AM_SOURCE_H
#define AM_SOURCE_H

#include <stdint.h>
#include "common/util.h"
#include "capture/decode.h"

struct am_source_opts {
	int snaplen;            /* default 1024 */
	int buffer_mb;          /* kernel buffer, default 64 */
	int promisc;            /* default 1 */
	int immediate;          /* default 1 */
	const char *filter;     /* BPF expression or NULL */
	/* Several live interfaces: each frame is held up to this long after
	 * it was read so that a handle that hands its frames over late still
	 * merges in timestamp order (capture/reorder.h).  0: no window (the
	 * oldest of the frames ready now goes first).  One interface: never. */
	am_time_t merge_window; /* microseconds, default AM_SOURCE_MERGE_WINDOW */
	size_t merge_buffer;    /* bytes held per interface, default AM_SOURCE_MERGE_BUFFER */
};

#define AM_SOURCE_MERGE_WINDOW (20 * 1000)
#define AM_SOURCE_MERGE_WINDOW_MAX AM_USEC
#define AM_SOURCE_MERGE_BUFFER ((size_t)8 << 20)

void am_source_opts_default(struct am_source_opts *o);

/* One raw frame; data valid until the next am_source_next() call. */
struct am_frame {
	am_time_t ts;
	uint32_t caplen, wirelen;
	const uint8_t *data;
	int dlt;
	int index;              /* which file or interface */
};

struct am_source;

enum { AM_SRC_PACKET = 1, AM_SRC_EOF = 0, AM_SRC_AGAIN = -1, AM_SRC_ERROR = -2 };

/* Returns NULL and writes a message to err on failure. */
struct am_source *am_source_open_files(char *const *files, int n,
    const struct am_source_opts *o, char *err, size_t errlen);
struct am_source *am_source_open_live(char *const *ifaces, int n,
    const struct am_source_opts *o, char *err, size_t errlen);
void am_source_close(struct am_source *s);

/* Next frame: AM_SRC_PACKET, AM_SRC_EOF (files done), AM_SRC_AGAIN (live:
 * nothing ready now) or AM_SRC_ERROR (message in am_source_error). */
int am_source_next(struct am_source *s, struct am_frame *f);
/* Before closing (stop, end of input): the frames the merge still holds,
 * oldest first, due or not: AM_SRC_PACKET, then AM_SRC_EOF. */
int am_source_drain(struct am_source *s, struct am_frame *f);
/* Live: how far a wall-clock tick may move the tracker's clock at wall
 * time `wall` without passing a frame the merge holds or may still get
 * within its window (`wall` itself without a window; files: `wall`). */
am_time_t am_source_clock(const struct am_source *s, am_time_t wall);
/* Live: milliseconds until the merge releases a held frame (poll
 * timeout); -1 when it holds none. */
int am_source_timeout_ms(const struct am_source *s);
const char *am_source_error(const struct am_source *s);
int am_source_is_live(const struct am_source *s);

/* Pollable descriptors of live handles (files: none).  Returns count. */
int am_source_fds(const struct am_source *s, int *fds, int max);

/* Per-input statistics. */
struct am_source_stats {
	const char *name;
	int dlt;
	uint64_t received;      /* frames read */
	uint64_t bytes;         /* wire bytes */
	uint64_t kernel_drops;  /* pcap ps_drop (live) */
	uint64_t if_drops;      /* pcap ps_ifdrop (live) */
	/* the merge of several live interfaces (frames of this input) */
	uint64_t merge_early;   /* released before their window ended: merge buffer full */
	uint64_t merge_late;    /* read behind a frame of another input already released */
};
int am_source_count(const struct am_source *s);
void am_source_stats(struct am_source *s, int i, struct am_source_stats *st);
/* Progress through files: bytes read so far and total (0 when unknown). */
void am_source_progress(const struct am_source *s, uint64_t *done, uint64_t *total);

#endif
