/*
 * frame.c: frame groups on the worker pool: begin, submit, finish, then
 * poll, wait (helping), cancel, supersede and release.
 *
 * Runs on the caller's thread (the scheduler, usually), except the
 * completion bookkeeping, which runs on whichever thread finishes a frame's
 * last job. State is guarded by pool->lock, like pool.c.
 *
 * A frame completes in two steps so that its callback runs without the
 * lock: the last job moves it to COMPLETING and copies its stats; the same
 * thread drops the lock, calls the callback, retakes the lock and moves it
 * to COMPLETE, waking the waiters. Waiters and is_complete look only for
 * COMPLETE, so when they report completion the callback has returned.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <sluice/error.h>
#include "clock.h"
#include "pool_priv.h"

void sl__frame_free(sl_pool *pool, sl__frame *f)
{
    f->gen = f->gen + 1 == 0 ? 1 : f->gen + 1;
    f->state = FRAME_FREE;
    f->done = NULL;
    f->user = NULL;
    f->next_free = pool->free_frames;
    pool->free_frames = f;
}

void sl__frame_complete(sl__frame *f, sl__pending *pending)
{
    f->state = FRAME_COMPLETING;
    f->st.latency_ns = sl__now_ns() - f->begin_ns;
    pending->frame = f;
    pending->done = f->done;
    pending->user = f->user;
    pending->st = f->st;
}

void sl__frame_job_done(sl__frame *f, sl__pending *pending)
{
    f->st.jobs_done++;
    if (f->state == FRAME_SEALED && f->st.jobs_done == f->st.jobs_total)
        sl__frame_complete(f, pending);
}

void sl__frame_announce(sl_pool *pool, sl__pending *pending)
{
    sl__frame *f = pending->frame;

    if (f == NULL)
        return;
    pending->frame = NULL;
    if (pending->done != NULL) {
        pthread_mutex_unlock(&pool->lock);
        pending->done(&pending->st, pending->user);
        pthread_mutex_lock(&pool->lock);
    }
    f->state = FRAME_COMPLETE;
    if (f->released)
        sl__frame_free(pool, f);
    if (pool->frame_waiters > 0)
        pthread_cond_broadcast(&pool->done_cv);
}

void sl__frame_cancel_locked(sl_pool *pool, sl__frame *f,
                             sl__pending *pending)
{
    /* relaxed: a hint to the frame's running jobs (see pool_priv.h). */
    atomic_store_explicit(&f->cancelled, true, memory_order_relaxed);
    f->st.cancelled = true;
    while (f->qhead != NULL)
        sl__pool_drop(pool, f->qhead, pending);
}

/* The frame a handle names, or NULL when it is stale or released. Lock
 * held. */
static sl__frame *lookup(sl_pool *pool, uint32_t slot, uint32_t gen)
{
    sl__frame *f;

    if (slot >= pool->n_frames)
        return NULL;
    f = &pool->frames[slot];
    if (f->gen != gen || f->state == FRAME_FREE || f->released)
        return NULL;
    return f;
}

/* Cancels every live frame older than `id` (SL_FRAME_CANCEL_OLDER). */
static void cancel_older(sl_pool *pool, uint64_t id)
{
    for (unsigned i = 0; i < pool->n_frames; i++) {
        sl__frame *f = &pool->frames[i];
        sl__pending pending = {0};

        if ((f->state != FRAME_BUILDING && f->state != FRAME_SEALED) ||
            f->id >= id || f->st.cancelled)
            continue;
        sl__frame_cancel_locked(pool, f, &pending);
        sl__frame_announce(pool, &pending); /* may drop the lock */
    }
}

int sl_pool_frame_begin(sl_pool *pool, uint64_t frame_id,
                        sl_service_class cls, unsigned flags,
                        sl_frame_group *out)
{
    sl__frame *f;

    if (pool == NULL || out == NULL || (unsigned)cls >= SL_CLASS_COUNT)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    if (pool->closing) {
        pthread_mutex_unlock(&pool->lock);
        return SL_ECLOSED;
    }
    if (flags & SL_FRAME_CANCEL_OLDER)
        cancel_older(pool, frame_id); /* may drop the lock */
    f = pool->free_frames;
    if (f == NULL || pool->closing) {
        pthread_mutex_unlock(&pool->lock);
        return f == NULL ? SL_EFULL : SL_ECLOSED;
    }
    pool->free_frames = f->next_free;
    f->next_free = NULL;
    f->id = frame_id;
    f->cls = (uint8_t)cls;
    f->state = FRAME_BUILDING;
    f->released = false;
    atomic_store_explicit(&f->cancelled, false, memory_order_relaxed);
    f->qhead = f->qtail = NULL;
    memset(&f->st, 0, sizeof f->st);
    f->st.frame_id = frame_id;
    f->st.cls = cls;
    f->begin_ns = sl__now_ns();
    out->slot = f->index;
    out->gen = f->gen;
    pthread_mutex_unlock(&pool->lock);
    return SL_OK;
}

/* Takes the frame's oldest queued job and runs it on this thread. Lock
 * held; dropped while the job runs. */
static void help_one(sl_pool *pool, sl__frame *f)
{
    struct sl_job *job = f->qhead;

    sl__pool_take(pool, job);
    pool->helped++;
    (void)sl__pool_run(pool, job);
}

int sl_pool_frame_submit(sl_pool *pool, sl_frame_group group, sl_job_fn fn,
                         void *arg, uint64_t timeout_ns)
{
    struct sl_job *job;
    sl__frame *f;
    int rc;

    if (pool == NULL || fn == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    f = lookup(pool, group.slot, group.gen);
    if (f == NULL) {
        rc = SL_ENOTFOUND;
    } else if (f->state != FRAME_BUILDING) {
        rc = SL_ESTATE;
    } else {
        /* A submitter allowed to wait for room makes room itself from its
         * own frame's queued jobs first, so filling a queue with one frame
         * cannot deadlock even with no worker. Only this thread can
         * release the group, so f stays valid across help_one(). */
        while (timeout_ns != 0 && !pool->closing && f->qhead != NULL &&
               !sl__pool_has_room(pool, f->cls))
            help_one(pool, f);
        rc = sl__pool_enqueue(pool, f->cls, fn, arg, f, timeout_ns, &job);
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

int sl_pool_frame_finish(sl_pool *pool, sl_frame_group group,
                         sl_frame_done_fn done, void *user,
                         sl_frame_handle *out)
{
    sl__pending pending = {0};
    sl__frame *f;
    int rc = SL_OK;

    if (pool == NULL || out == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    f = lookup(pool, group.slot, group.gen);
    if (f == NULL) {
        rc = SL_ENOTFOUND;
    } else if (f->state != FRAME_BUILDING) {
        rc = SL_ESTATE;
    } else {
        f->done = done;
        f->user = user;
        f->state = FRAME_SEALED;
        out->slot = group.slot;
        out->gen = group.gen;
        if (f->st.jobs_done == f->st.jobs_total)
            sl__frame_complete(f, &pending);
        sl__frame_announce(pool, &pending);
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

int sl_pool_frame_is_complete(sl_pool *pool, sl_frame_handle h)
{
    sl__frame *f;
    int rc;

    if (pool == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    f = lookup(pool, h.slot, h.gen);
    rc = f == NULL ? SL_ENOTFOUND : f->state == FRAME_COMPLETE;
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

int sl_pool_frame_progress(sl_pool *pool, sl_frame_handle h, unsigned *done,
                           unsigned *total)
{
    sl__frame *f;

    if (pool == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    f = lookup(pool, h.slot, h.gen);
    if (f != NULL) {
        if (done != NULL)
            *done = f->st.jobs_done;
        if (total != NULL)
            *total = f->st.jobs_total;
    }
    pthread_mutex_unlock(&pool->lock);
    return f == NULL ? SL_ENOTFOUND : SL_OK;
}

/* Sleeps on done_cv until woken or the deadline; false when timed out. */
static bool wait_done(sl_pool *pool, uint64_t timeout_ns,
                      const struct timespec *deadline)
{
    int rc = 0;

    pool->frame_waiters++;
    if (timeout_ns == SL_POOL_FOREVER)
        pthread_cond_wait(&pool->done_cv, &pool->lock);
    else
        rc = pthread_cond_timedwait(&pool->done_cv, &pool->lock, deadline);
    pool->frame_waiters--;
    return rc != ETIMEDOUT;
}

int sl_pool_frame_wait(sl_pool *pool, sl_frame_handle h, uint64_t timeout_ns)
{
    struct timespec deadline = sl__deadline_in(
        timeout_ns == SL_POOL_FOREVER ? 0 : timeout_ns);
    bool timed_out = false;
    sl__frame *f;
    int rc = SL_OK;

    if (pool == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    /* Looked up again after every step: running a job drops the lock. */
    while ((f = lookup(pool, h.slot, h.gen)) != NULL &&
           f->state != FRAME_COMPLETE) {
        if (f->qhead != NULL) {
            help_one(pool, f); /* run our own frame's next job here */
            continue;
        }
        if (timeout_ns == 0 || timed_out) {
            rc = SL_ETIMEDOUT;
            break;
        }
        timed_out = !wait_done(pool, timeout_ns, &deadline);
    }
    if (f == NULL)
        rc = SL_ENOTFOUND;
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

int sl_pool_frame_cancel(sl_pool *pool, sl_frame_handle h)
{
    sl__pending pending = {0};
    sl__frame *f;

    if (pool == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    f = lookup(pool, h.slot, h.gen);
    if (f != NULL) {
        sl__frame_cancel_locked(pool, f, &pending);
        sl__frame_announce(pool, &pending);
    }
    pthread_mutex_unlock(&pool->lock);
    return f == NULL ? SL_ENOTFOUND : SL_OK;
}

int sl_pool_frame_stats(sl_pool *pool, sl_frame_handle h, sl_frame_stats *out)
{
    sl__frame *f;

    if (pool == NULL || out == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    f = lookup(pool, h.slot, h.gen);
    if (f != NULL)
        *out = f->st;
    pthread_mutex_unlock(&pool->lock);
    return f == NULL ? SL_ENOTFOUND : SL_OK;
}

int sl_pool_frame_release(sl_pool *pool, sl_frame_handle h)
{
    sl__pending pending = {0};
    sl__frame *f;

    if (pool == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    f = lookup(pool, h.slot, h.gen);
    if (f != NULL) {
        f->released = true;
        if (f->state == FRAME_COMPLETE) {
            sl__frame_free(pool, f);
        } else if (f->state != FRAME_COMPLETING) {
            /* Abandoned before completion: stop its work; the slot is
             * freed by sl__frame_announce() when the last job is done. */
            if (f->state == FRAME_BUILDING) {
                f->state = FRAME_SEALED;
                f->done = NULL;
            }
            sl__frame_cancel_locked(pool, f, &pending);
            if (f->st.jobs_done == f->st.jobs_total &&
                f->state == FRAME_SEALED)
                sl__frame_complete(f, &pending);
            sl__frame_announce(pool, &pending);
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return f == NULL ? SL_ENOTFOUND : SL_OK;
}
