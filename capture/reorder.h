/* Reorder window for merging several live sources in timestamp order.
 *
 * Each source (a pcap handle) delivers its own frames in order, but one
 * handle may hand a frame over later than another handle hands over newer
 * ones (NIC interrupt moderation, softirq backlogs on other CPUs, a reader
 * busy elsewhere).  Taking the oldest of the frames ready *now* then feeds
 * the late handle's frames behind the merged clock, and the tracker takes
 * an older timestamp as "now".  The window copies every frame it is given
 * into a per-source ring and hands them back in timestamp order, releasing
 * the oldest queued frame only when
 *   - every source that has not ended has a frame queued (nothing older can
 *     come from any of them), or
 *   - it is not newer than the last frame released (waiting cannot help), or
 *   - the frame that has waited longest was queued at least `window` ago.
 * Holding by time since queued (not by packet time against the wall clock)
 * keeps the delay bounded whatever the capture clock says, and a reader
 * that was busy for a while still sees every handle's backlog before it
 * releases.
 *
 * Memory is bounded: every source has a ring of `bytes` allocated at
 * creation; nothing is allocated per frame.  When a ring is full the
 * caller releases the oldest frame early (am_reorder_pop_forced), counted
 * as `early` when it was not due.  A frame queued behind the last frame
 * released is counted as `late`.
 *
 * Pure: no pcap, no clock reads (the caller passes `now`, any monotonic
 * microsecond clock). */
#ifndef AM_REORDER_H
#define AM_REORDER_H

#include <stddef.h>
#include <stdint.h>
#include "common/util.h"
#include "capture/source.h"

struct am_reorder;

struct am_reorder_stats {
	uint64_t queued;        /* frames queued */
	uint64_t early;         /* released before they were due: the ring was full */
	uint64_t late;          /* queued behind a frame already released */
	uint32_t held;          /* frames queued now */
	uint64_t held_bytes;    /* ring bytes in use now */
};

/* nsrc sources, each with a ring of `bytes` (at least
 * am_reorder_min_bytes(maxcap)); window in the unit of `now`. */
struct am_reorder *am_reorder_new(int nsrc, size_t bytes, am_time_t window);
void am_reorder_free(struct am_reorder *r);
/* The smallest ring that holds a few frames of maxcap bytes. */
size_t am_reorder_min_bytes(uint32_t maxcap);

/* Queues a copy of f (f->index is the source) received at `now`.
 * Returns 0, or -1 when that source's ring has no room: release a frame
 * (am_reorder_pop_forced) and try again. */
int am_reorder_push(struct am_reorder *r, const struct am_frame *f, am_time_t now);
/* The oldest queued frame if it is due at `now`: 1 and *f (data valid
 * until the next push), or 0. */
int am_reorder_pop(struct am_reorder *r, am_time_t now, struct am_frame *f);
/* The oldest queued frame, due or not (a ring is full): counted early when
 * it was not due.  0 when nothing is queued. */
int am_reorder_pop_forced(struct am_reorder *r, am_time_t now, struct am_frame *f);
/* End of input or close: the oldest queued frame, due or not, not
 * counted.  0 when nothing is queued. */
int am_reorder_flush(struct am_reorder *r, struct am_frame *f);
/* Source src has ended (end of file, error): no longer waited for. */
void am_reorder_source_done(struct am_reorder *r, int src);

/* When (on the clock of `now`) the next frame falls due; -1 when nothing
 * is queued. */
am_time_t am_reorder_next_due(const struct am_reorder *r);
/* The oldest packet time queued (INT64_MAX when empty): the merged clock
 * must not move past it. */
am_time_t am_reorder_oldest(const struct am_reorder *r);
/* Frames queued: of source src, or of all when src < 0. */
uint32_t am_reorder_queued(const struct am_reorder *r, int src);
/* Counters of source src (frames queued from it, released early, late). */
void am_reorder_stats(const struct am_reorder *r, int src, struct am_reorder_stats *st);

#endif
