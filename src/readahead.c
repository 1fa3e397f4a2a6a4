/*
 * readahead.c: the read-ahead job. It decodes a track ahead of playback
 * into the track's read-ahead ring, so the audible path never waits on a
 * disk or a player's stream: a slow source makes its own track run dry
 * (TRACK_UNDERRUN) and nothing else.
 *
 * One job per track at a time (ra_busy), run as a frame of one job so a
 * fault is attributed to its track. The job owns the reader and the
 * producing side of the ring. The master asks for a seek by storing the
 * start frame and then a new epoch in ra_want (release); the job that sees
 * a new epoch empties the ring (the master consumes nothing while the
 * epochs differ, so both sides are quiescent), seeks, and publishes the
 * epoch in ra_have (release) before the first frame of it is read. Loops
 * and end points are applied here, at the frames they name; each loop
 * wrap queues a marker so the master can tell the track frame of what it
 * plays.
 *
 * Thread: a pool worker (or the render caller helping); the kick on the
 * master thread.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sluice/error.h>
#include "engine_priv.h"

/* Frames one job decodes at most, so a worker is soon free for a frame's
 * mix jobs again. */
#define JOB_FRAMES 8192

static bool marker_push(sl__track *t, uint64_t at, int64_t frame)
{
    size_t head = atomic_load_explicit(&t->mk_head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&t->mk_tail, memory_order_acquire);

    if (head - tail >= SL__MARKERS)
        return false;
    t->markers[head % SL__MARKERS] = (sl__marker){.at = at, .frame = frame};
    atomic_store_explicit(&t->mk_head, head + 1, memory_order_release);
    return true;
}

static void set_error(sl__track *t, int err, const char *why)
{
    t->ra_error = err;
    snprintf(t->ra_why, sizeof t->ra_why, "%s",
             why != NULL && why[0] != '\0' ? why : sl_strerror(err));
    atomic_store_explicit(&t->ra_status, SL__RA_ERROR, memory_order_release);
}

/* Starts epoch `want`: both sides are quiescent (see the file comment). */
static void new_epoch(sl__track *t, uint32_t want)
{
    int64_t frame = atomic_load_explicit(&t->ra_seek, memory_order_relaxed);
    int err;

    sl_ring_reset(t->ra);
    atomic_store_explicit(&t->mk_head, 0, memory_order_relaxed);
    atomic_store_explicit(&t->mk_tail, 0, memory_order_relaxed);
    t->ra_epoch = want;
    t->ra_produced = 0;
    t->ra_frame = frame;
    atomic_store_explicit(&t->ra_status, SL__RA_READING, memory_order_relaxed);
    err = sl__reader_position(t->reader) == frame
              ? SL_OK
              : sl__reader_seek(t->reader, frame);
    marker_push(t, 0, frame);
    if (err != SL_OK)
        set_error(t, err, sl__reader_why(t->reader));
    atomic_store_explicit(&t->ra_have, want, memory_order_release);
}

/* The frame where the current segment stops (a loop end or the end
 * point), or -1 for the source's own end. */
static int64_t segment_limit(const sl__track *t, bool *looping)
{
    int64_t ls = atomic_load_explicit(&t->loop_start, memory_order_relaxed);
    int64_t le = atomic_load_explicit(&t->loop_end, memory_order_relaxed);
    int64_t end = atomic_load_explicit(&t->end_req, memory_order_relaxed);

    *looping = ls >= 0 && t->can_seek;
    if (*looping)
        return le;
    return end;
}

/* Wraps to the loop start. Returns false when the marker queue is full
 * (playback must catch up first) or the seek failed. */
static bool wrap(sl__track *t)
{
    int64_t ls = atomic_load_explicit(&t->loop_start, memory_order_relaxed);
    int err;

    if (!marker_push(t, t->ra_produced, ls))
        return false;
    err = sl__reader_seek(t->reader, ls);
    if (err != SL_OK) {
        set_error(t, err, sl__reader_why(t->reader));
        return false;
    }
    t->ra_frame = ls;
    return true;
}

/* Reads up to `frames` into the ring's free space. Returns the frames
 * read, 0 at the end, or a negative code. */
static ptrdiff_t fill(sl__track *t, size_t frames)
{
    sl_ring_region rg[2];
    size_t n = sl_ring_write_regions(t->ra, frames, rg), got = 0;

    for (int i = 0; i < 2 && got < n; i++) {
        ptrdiff_t r = sl__reader_read(t->reader, rg[i].data, rg[i].frames);
        if (r < 0) {
            if (got > 0)
                break; /* deliver what came first; the error comes next */
            return r;
        }
        got += (size_t)r;
        if ((size_t)r < rg[i].frames)
            break;
    }
    sl_ring_commit(t->ra, got);
    return (ptrdiff_t)got;
}

static int ra_job(sl_job *job, void *arg)
{
    sl__track *t = arg;
    uint32_t want = atomic_load_explicit(&t->ra_want, memory_order_acquire);
    size_t budget = JOB_FRAMES;

    if (want != t->ra_epoch)
        new_epoch(t, want);
    while (budget > 0 && !sl_job_cancelled(job) &&
           atomic_load_explicit(&t->ra_status, memory_order_relaxed) ==
               SL__RA_READING &&
           atomic_load_explicit(&t->ra_want, memory_order_relaxed) == want) {
        bool looping;
        int64_t limit = segment_limit(t, &looping);
        size_t room = sl_ring_writable(t->ra);
        ptrdiff_t got;

        if (room == 0)
            break;
        if (limit >= 0 && t->ra_frame >= limit) {
            if (looping && wrap(t))
                continue;
            if (!looping)
                atomic_store_explicit(&t->ra_status, SL__RA_EOF,
                                      memory_order_release);
            break;
        }
        if (room > budget)
            room = budget;
        if (limit >= 0 && (int64_t)room > limit - t->ra_frame)
            room = (size_t)(limit - t->ra_frame);
        got = fill(t, room);
        if (got < 0) {
            set_error(t, (int)got, sl__reader_why(t->reader));
            break;
        }
        if (got == 0) {
            if (looping && t->ra_frame > 0 && wrap(t))
                continue;
            if (!looping || t->ra_frame == 0)
                atomic_store_explicit(&t->ra_status, SL__RA_EOF,
                                      memory_order_release);
            break;
        }
        t->ra_produced += (uint64_t)got;
        t->ra_frame += got;
        budget -= (size_t)got;
    }
    return SL_OK;
}

static void ra_done(const sl_frame_stats *st, void *user)
{
    sl__track *t = user;

    if (st->jobs_faulted > 0)
        atomic_store_explicit(&t->ra_fault, st->fault_signal,
                              memory_order_relaxed);
    /* Last: once clear, the master may retire and control free `t`. */
    atomic_store_explicit(&t->ra_busy, false, memory_order_release);
}

int sl__readahead_kick(sl__track *t, sl_service_class cls)
{
    sl_engine *e = t->eng;
    sl_frame_group g;
    sl_frame_handle h;
    int err;

    if (atomic_load_explicit(&t->ra_busy, memory_order_acquire))
        return SL_EBUSY;
    sl__readahead_reap(t);
    err = sl_pool_frame_begin(e->pool, sl__engine_frame_id(e), cls, 0, &g);
    if (err != SL_OK)
        return err;
    atomic_store_explicit(&t->ra_busy, true, memory_order_relaxed);
    err = sl_pool_frame_submit(e->pool, g, ra_job, t, 0);
    /* Finishing an empty frame runs ra_done at once: ra_busy is cleared. */
    if (sl_pool_frame_finish(e->pool, g, ra_done, t, &h) != SL_OK) {
        atomic_store_explicit(&t->ra_busy, false, memory_order_release);
        return err != SL_OK ? err : SL_ESTATE;
    }
    t->ra_handle = h;
    t->ra_handle_held = true;
    return err;
}

void sl__readahead_reap(sl__track *t)
{
    if (t->ra_handle_held &&
        !atomic_load_explicit(&t->ra_busy, memory_order_acquire)) {
        sl_pool_frame_release(t->eng->pool, t->ra_handle);
        t->ra_handle_held = false;
    }
}

void sl__readahead_wait(sl__track *t)
{
    if (t->ra_handle_held) {
        sl_pool_frame_wait(t->eng->pool, t->ra_handle, SL_POOL_FOREVER);
        sl__readahead_reap(t);
    }
}
