/*
 * pool.c: the worker pool: creation, the class queues with aging, the
 * worker threads, resizing, shutdown, plain jobs and metrics. Frame groups
 * are in frame.c.
 *
 * Workers run worker_main(); everything else runs on the caller's thread.
 * All shared state is guarded by pool->lock (see pool_priv.h); a job runs
 * with the lock dropped and its synchronous faults trapped by fault.c.
 *
 * Why one lock and not a lock-free queue: a job here is a block of DSP or a
 * decode step, tens of microseconds at least, and the queue operations the
 * pool needs (three classes, aging on the oldest entry, dropping an
 * arbitrary queued job on cancel, taking one frame's jobs for a helping
 * waiter) are each O(1) on intrusive lists under a lock; the critical
 * sections are a few dozen instructions and never wait. The benchmark in
 * bench/ measures what that costs per job.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sluice/error.h>
#include "clock.h"
#include "fault.h"
#include "pool_priv.h"

/* ------------------------------------------------------------ slots */

static uint32_t next_gen(uint32_t gen)
{
    return gen + 1 == 0 ? 1 : gen + 1; /* 0 marks a never-valid handle */
}

/* Returns a finished job's slot to the free list; its handles go stale. */
static void job_free(sl_pool *pool, struct sl_job *job)
{
    job->gen = next_gen(job->gen);
    job->state = JOB_FREE;
    job->frame = NULL;
    job->fn = NULL;
    job->arg = NULL;
    atomic_store_explicit(&job->cancel, false, memory_order_relaxed);
    job->qnext = pool->free_jobs;
    pool->free_jobs = job;
    if (pool->room_waiters > 0)
        pthread_cond_broadcast(&pool->room_cv);
    if (pool->job_waiters > 0)
        pthread_cond_broadcast(&pool->done_cv);
}

static void queue_push(queue *q, struct sl_job *job)
{
    job->qnext = NULL;
    job->qprev = q->tail;
    if (q->tail != NULL)
        q->tail->qnext = job;
    else
        q->head = job;
    q->tail = job;
    q->depth++;
}

static void queue_unlink(queue *q, struct sl_job *job)
{
    if (job->qprev != NULL)
        job->qprev->qnext = job->qnext;
    else
        q->head = job->qnext;
    if (job->qnext != NULL)
        job->qnext->qprev = job->qprev;
    else
        q->tail = job->qprev;
    job->qprev = job->qnext = NULL;
    q->depth--;
}

static void frame_push(sl__frame *f, struct sl_job *job)
{
    job->fnext = NULL;
    job->fprev = f->qtail;
    if (f->qtail != NULL)
        f->qtail->fnext = job;
    else
        f->qhead = job;
    f->qtail = job;
}

static void frame_unlink(sl__frame *f, struct sl_job *job)
{
    if (job->fprev != NULL)
        job->fprev->fnext = job->fnext;
    else
        f->qhead = job->fnext;
    if (job->fnext != NULL)
        job->fnext->fprev = job->fprev;
    else
        f->qtail = job->fprev;
    job->fprev = job->fnext = NULL;
}

/* Unlinks a queued job from its class queue and its frame's queue. */
static void job_unlink(sl_pool *pool, struct sl_job *job)
{
    queue_unlink(&pool->q[job->cls], job);
    if (job->frame != NULL)
        frame_unlink(job->frame, job);
    if (pool->room_waiters > 0)
        pthread_cond_broadcast(&pool->room_cv);
}

bool sl__pool_has_room(const sl_pool *pool, unsigned cls)
{
    return pool->free_jobs != NULL &&
           pool->q[cls].depth < pool->q[cls].capacity;
}

/* Sleeps on room_cv until woken or *deadline; false when it timed out. */
static bool wait_room(sl_pool *pool, uint64_t timeout_ns,
                      const struct timespec *deadline)
{
    int rc = 0;

    pool->room_waiters++;
    if (timeout_ns == SL_POOL_FOREVER)
        pthread_cond_wait(&pool->room_cv, &pool->lock);
    else
        rc = pthread_cond_timedwait(&pool->room_cv, &pool->lock, deadline);
    pool->room_waiters--;
    return rc != ETIMEDOUT;
}

int sl__pool_enqueue(sl_pool *pool, unsigned cls, sl_job_fn fn, void *arg,
                     sl__frame *frame, uint64_t timeout_ns,
                     struct sl_job **out)
{
    queue *q = &pool->q[cls];
    struct timespec deadline = {0, 0}; /* set before the first wait */
    bool waited = false;
    struct sl_job *job;

    for (;;) {
        if (pool->closing)
            return SL_ECLOSED;
        if (frame != NULL &&
            atomic_load_explicit(&frame->cancelled, memory_order_relaxed))
            return SL_ECANCELED;
        if (sl__pool_has_room(pool, cls))
            break;
        if (timeout_ns == 0) {
            q->rejected++;
            return SL_EFULL;
        }
        if (!waited && timeout_ns != SL_POOL_FOREVER)
            deadline = sl__deadline_in(timeout_ns);
        waited = true;
        if (!wait_room(pool, timeout_ns, &deadline) && !sl__pool_has_room(pool, cls)) {
            q->rejected++;
            return pool->closing ? SL_ECLOSED : SL_ETIMEDOUT;
        }
    }
    job = pool->free_jobs;
    pool->free_jobs = job->qnext;
    job->fn = fn;
    job->arg = arg;
    job->frame = frame;
    job->cls = (uint8_t)cls;
    job->state = JOB_QUEUED;
    job->enq_ns = sl__now_ns();
    queue_push(q, job);
    q->submitted++;
    if (frame != NULL) {
        job->seq = frame->st.jobs_total++;
        frame_push(frame, job);
    }
    if (pool->idle_workers > pool->wakes_pending) {
        pool->wakes_pending++;
        pthread_cond_signal(&pool->work_cv);
    }
    *out = job;
    return SL_OK;
}

void sl__pool_drop(sl_pool *pool, struct sl_job *job, sl__pending *pending)
{
    sl__frame *f = job->frame;

    job_unlink(pool, job);
    pool->q[job->cls].cancelled++;
    if (f != NULL) {
        f->st.jobs_cancelled++;
        sl__frame_job_done(f, pending);
    }
    job_free(pool, job);
}

void sl__pool_take(sl_pool *pool, struct sl_job *job)
{
    job_unlink(pool, job);
    job->state = JOB_RUNNING;
}

/* ------------------------------------------------------------ running */

static int trampoline(void *arg)
{
    struct sl_job *job = arg;
    return job->fn(job, job->arg);
}

static uint64_t umax(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Books one started job's outcome into its frame's stats. */
static void frame_account(sl__frame *f, const struct sl_job *job, int rc,
                          int signo, uint64_t wait, uint64_t exec)
{
    sl_frame_stats *st = &f->st;

    st->wait_ns_total += wait;
    st->wait_ns_max = umax(st->wait_ns_max, wait);
    st->exec_ns_total += exec;
    st->exec_ns_max = umax(st->exec_ns_max, exec);
    if (signo != 0) {
        if (st->jobs_faulted++ == 0) {
            st->fault_signal = signo;
            st->fault_job = job->seq;
            st->fault_arg = job->arg;
        }
    } else if (rc == SL_ECANCELED) {
        st->jobs_cancelled++;
    } else if (rc < 0) {
        if (st->jobs_failed++ == 0)
            st->first_error = rc;
    } else {
        st->jobs_run++;
    }
}

uint64_t sl__pool_run(sl_pool *pool, struct sl_job *job)
{
    uint64_t start = sl__now_ns();
    uint64_t wait = start - job->enq_ns;
    uint64_t exec;
    queue *q = &pool->q[job->cls];
    sl__pending pending = {0};
    int signo = 0, rc;

    pthread_mutex_unlock(&pool->lock);
    rc = sl__fault_call(trampoline, job, &signo);
    exec = sl__now_ns() - start;
    pthread_mutex_lock(&pool->lock);

    if (rc != SL_EFAULT)
        signo = 0; /* a job may return SL_EFAULT itself */
    q->run++;
    q->faulted += signo != 0;
    q->wait_sum += wait;
    q->wait_max = umax(q->wait_max, wait);
    q->exec_sum += exec;
    q->exec_max = umax(q->exec_max, exec);
    if (job->frame != NULL) {
        frame_account(job->frame, job, rc, signo, wait, exec);
        sl__frame_job_done(job->frame, &pending);
    }
    job_free(pool, job);
    sl__frame_announce(pool, &pending);
    return exec;
}

/* Chooses the next job for a worker: the oldest Warm or Idle head that has
 * waited past the aging bound, else the head of the most urgent non-empty
 * class. Each queue is FIFO, so its head is its oldest job. */
static struct sl_job *pick(sl_pool *pool)
{
    struct sl_job *best = NULL;

    if (pool->q[SL_CLASS_IDLE].head != NULL ||
        pool->q[SL_CLASS_WARM].head != NULL) {
        uint64_t now = sl__now_ns();
        for (int c = SL_CLASS_IDLE; c < SL_CLASS_AUDIBLE; c++) {
            struct sl_job *h = pool->q[c].head;
            if (h != NULL && now - h->enq_ns >= pool->aging_ns &&
                (best == NULL || h->enq_ns < best->enq_ns))
                best = h;
        }
        if (best != NULL)
            return best;
    }
    for (int c = SL_CLASS_AUDIBLE; c >= SL_CLASS_IDLE; c--)
        if (pool->q[c].head != NULL)
            return pool->q[c].head;
    return NULL;
}

/* The pool whose worker the calling thread is, if any: resize and
 * shutdown refuse to run on a worker, which would wait to join itself. */
static _Thread_local const sl_pool *own_pool;

/* Wakes every sleeping worker. Lock held. */
static void wake_all(sl_pool *pool)
{
    pool->wakes_pending = pool->idle_workers;
    pthread_cond_broadcast(&pool->work_cv);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sl_pool *pool = w->pool;
    struct sl_job *job;

    own_pool = pool;
    /* Without an alternate stack only stack overflows go untrapped. */
    (void)sl__fault_thread_init();
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        if (w->index >= pool->target)
            break;
        job = pick(pool);
        if (job == NULL) {
            if (pool->closing)
                break;
            pool->idle_workers++;
            pthread_cond_wait(&pool->work_cv, &pool->lock);
            pool->idle_workers--;
            if (pool->wakes_pending > 0) /* 0 after a spurious wake-up */
                pool->wakes_pending--;
            continue;
        }
        sl__pool_take(pool, job);
        w->busy_ns += sl__pool_run(pool, job);
    }
    /* A wake-up meant for a worker that retires is passed on. */
    if (pick(pool) != NULL && pool->idle_workers > 0)
        wake_all(pool);
    pthread_mutex_unlock(&pool->lock);
    sl__fault_thread_fini();
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

void sl_pool_config_default(sl_pool_config *cfg)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    if (cores < 1)
        cores = 1;
    if (cores > (long)SL_POOL_MAX_WORKERS)
        cores = SL_POOL_MAX_WORKERS;
    cfg->workers = (unsigned)cores;
    cfg->job_slots = 4096;
    /* A quarter of the slots per class: the three queues together leave
     * 1024 slots for running jobs, more than can ever run at once, so a
     * full Idle queue never takes a slot an Audible job needs. */
    for (int c = 0; c < SL_CLASS_COUNT; c++)
        cfg->queue_capacity[c] = cfg->job_slots / 4;
    cfg->frame_slots = 256;
    cfg->aging_ns = 20 * 1000 * 1000;
}

static bool config_valid(const sl_pool_config *cfg)
{
    if (cfg->workers > SL_POOL_MAX_WORKERS || cfg->job_slots == 0 ||
        cfg->frame_slots == 0)
        return false;
    for (int c = 0; c < SL_CLASS_COUNT; c++)
        if (cfg->queue_capacity[c] == 0)
            return false;
    return true;
}

/* Initialises the lock and the condition variables, which wait on the
 * monotonic clock so timeouts ignore wall-clock changes. */
static int init_sync(sl_pool *pool)
{
    pthread_condattr_t attr;
    int rc = 0;

    if (pthread_condattr_init(&attr) != 0)
        return SL_ETHREAD;
    rc |= pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    rc |= pthread_mutex_init(&pool->lock, NULL);
    rc |= pthread_mutex_init(&pool->control, NULL);
    rc |= pthread_cond_init(&pool->work_cv, &attr);
    rc |= pthread_cond_init(&pool->room_cv, &attr);
    rc |= pthread_cond_init(&pool->done_cv, &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? SL_OK : SL_ETHREAD;
}

/* Allocates the job and frame slots and threads the free lists. */
static int init_slots(sl_pool *pool, const sl_pool_config *cfg)
{
    pool->jobs = calloc(cfg->job_slots, sizeof *pool->jobs);
    pool->frames = calloc(cfg->frame_slots, sizeof *pool->frames);
    if (pool->jobs == NULL || pool->frames == NULL)
        return SL_ENOMEM;
    pool->n_jobs = cfg->job_slots;
    pool->n_frames = cfg->frame_slots;
    for (unsigned i = cfg->job_slots; i-- > 0;) {
        struct sl_job *job = &pool->jobs[i];
        job->pool = pool;
        job->index = i;
        job->gen = 1;
        atomic_init(&job->cancel, false);
        job->qnext = pool->free_jobs;
        pool->free_jobs = job;
    }
    for (unsigned i = cfg->frame_slots; i-- > 0;) {
        sl__frame *f = &pool->frames[i];
        f->index = i;
        f->gen = 1;
        atomic_init(&f->cancelled, false);
        f->next_free = pool->free_frames;
        pool->free_frames = f;
    }
    for (int c = 0; c < SL_CLASS_COUNT; c++)
        pool->q[c].capacity = cfg->queue_capacity[c];
    return SL_OK;
}

int sl_pool_create(sl_pool **out, const sl_pool_config *cfg)
{
    sl_pool_config def;
    sl_pool *pool = NULL;
    int rc = SL_EINVAL;

    if (out == NULL)
        return SL_EINVAL;
    *out = NULL;
    if (cfg == NULL) {
        sl_pool_config_default(&def);
        cfg = &def;
    }
    if (!config_valid(cfg))
        return SL_EINVAL;
    if (sl__fault_install() != SL_OK)
        return SL_ETHREAD;
    rc = SL_ENOMEM;
    pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        goto fail;
    pool->aging_ns = cfg->aging_ns;
    atomic_init(&pool->abort, false);
    for (unsigned i = 0; i < SL_POOL_MAX_WORKERS; i++) {
        pool->workers[i].pool = pool;
        pool->workers[i].index = i;
    }
    if ((rc = init_slots(pool, cfg)) != SL_OK)
        goto fail;
    if ((rc = init_sync(pool)) != SL_OK)
        goto fail;
    if ((rc = sl_pool_resize(pool, cfg->workers)) != SL_OK)
        goto fail_threads;
    *out = pool;
    return SL_OK;

fail_threads:
    sl_pool_shutdown(pool, SL_POOL_EMERGENCY);
    pthread_cond_destroy(&pool->done_cv);
    pthread_cond_destroy(&pool->room_cv);
    pthread_cond_destroy(&pool->work_cv);
    pthread_mutex_destroy(&pool->control);
    pthread_mutex_destroy(&pool->lock);
fail:
    if (pool != NULL) {
        free(pool->jobs);
        free(pool->frames);
    }
    free(pool);
    return rc;
}

void sl_pool_destroy(sl_pool *pool)
{
    if (pool == NULL)
        return;
    (void)sl_pool_shutdown(pool, SL_POOL_GRACEFUL); /* ECLOSED is fine */
    pthread_cond_destroy(&pool->done_cv);
    pthread_cond_destroy(&pool->room_cv);
    pthread_cond_destroy(&pool->work_cv);
    pthread_mutex_destroy(&pool->control);
    pthread_mutex_destroy(&pool->lock);
    free(pool->jobs);
    free(pool->frames);
    free(pool);
}

/* Joins workers [from, to). Control lock held, pool lock not held. */
static void join_workers(sl_pool *pool, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++)
        pthread_join(pool->workers[i].thread, NULL);
}

/* Starts workers [from, to); returns how many it could start. Control lock
 * held, pool lock not held. */
static unsigned start_workers(sl_pool *pool, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++)
        if (pthread_create(&pool->workers[i].thread, NULL, worker_main,
                           &pool->workers[i]) != 0)
            return i;
    return to;
}

int sl_pool_resize(sl_pool *pool, unsigned workers)
{
    unsigned old, started;

    if (pool == NULL || workers > SL_POOL_MAX_WORKERS)
        return SL_EINVAL;
    if (own_pool == pool)
        return SL_ESTATE;
    pthread_mutex_lock(&pool->control);
    pthread_mutex_lock(&pool->lock);
    if (pool->closing) {
        pthread_mutex_unlock(&pool->lock);
        pthread_mutex_unlock(&pool->control);
        return SL_ECLOSED;
    }
    old = pool->n_threads;
    pool->target = workers;
    /* Wake every sleeper before joining: a retiring worker asleep on
     * work_cv would otherwise never see its new target. */
    wake_all(pool);
    pthread_mutex_unlock(&pool->lock);

    join_workers(pool, workers, old);
    started = workers > old ? start_workers(pool, old, workers) : workers;

    pthread_mutex_lock(&pool->lock);
    pool->target = started;
    pool->n_threads = started;
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_unlock(&pool->control);
    return started == workers ? SL_OK : SL_ETHREAD;
}

unsigned sl_pool_workers(sl_pool *pool)
{
    unsigned n;

    if (pool == NULL)
        return 0;
    pthread_mutex_lock(&pool->lock);
    n = pool->n_threads;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

/* Drops every queued job, announcing each frame it completes. */
static void drop_all(sl_pool *pool)
{
    for (int c = 0; c < SL_CLASS_COUNT; c++) {
        while (pool->q[c].head != NULL) {
            sl__pending pending = {0};
            sl__pool_drop(pool, pool->q[c].head, &pending);
            sl__frame_announce(pool, &pending);
        }
    }
}

int sl_pool_shutdown(sl_pool *pool, sl_pool_shutdown_mode mode)
{
    struct sl_job *job;
    unsigned n;

    if (pool == NULL)
        return SL_EINVAL;
    if (own_pool == pool)
        return SL_ESTATE;
    pthread_mutex_lock(&pool->control);
    pthread_mutex_lock(&pool->lock);
    if (pool->closing) {
        pthread_mutex_unlock(&pool->lock);
        pthread_mutex_unlock(&pool->control);
        return SL_ECLOSED;
    }
    pool->closing = true;
    if (mode == SL_POOL_EMERGENCY) {
        /* relaxed: a hint to running jobs; the drops are under the lock */
        atomic_store_explicit(&pool->abort, true, memory_order_relaxed);
        drop_all(pool);
    }
    wake_all(pool);
    pthread_cond_broadcast(&pool->room_cv);
    pthread_cond_broadcast(&pool->done_cv);
    n = pool->n_threads;
    pthread_mutex_unlock(&pool->lock);

    join_workers(pool, 0, n);

    pthread_mutex_lock(&pool->lock);
    pool->n_threads = pool->target = 0;
    /* Graceful with no worker left (or none ever): run the rest here. */
    while ((job = pick(pool)) != NULL) {
        sl__pool_take(pool, job);
        (void)sl__pool_run(pool, job);
    }
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_unlock(&pool->control);
    return SL_OK;
}

/* ------------------------------------------------------------ plain jobs */

static int submit(sl_pool *pool, sl_service_class cls, sl_job_fn fn,
                  void *arg, uint64_t timeout_ns, sl_job_handle *out)
{
    struct sl_job *job = NULL;
    int rc;

    if (pool == NULL || fn == NULL || (unsigned)cls >= SL_CLASS_COUNT)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    rc = sl__pool_enqueue(pool, (unsigned)cls, fn, arg, NULL, timeout_ns,
                          &job);
    if (rc == SL_OK && out != NULL) {
        out->slot = job->index;
        out->gen = job->gen;
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

int sl_pool_try_submit(sl_pool *pool, sl_service_class cls, sl_job_fn fn,
                       void *arg, sl_job_handle *out)
{
    return submit(pool, cls, fn, arg, 0, out);
}

int sl_pool_submit(sl_pool *pool, sl_service_class cls, sl_job_fn fn,
                   void *arg, uint64_t timeout_ns, sl_job_handle *out)
{
    return submit(pool, cls, fn, arg, timeout_ns, out);
}

/* The live job a handle names, or NULL when it has finished. Lock held. */
static struct sl_job *job_lookup(sl_pool *pool, sl_job_handle h)
{
    struct sl_job *job;

    if (h.slot >= pool->n_jobs)
        return NULL;
    job = &pool->jobs[h.slot];
    return job->gen == h.gen && job->state != JOB_FREE ? job : NULL;
}

int sl_pool_job_cancel(sl_pool *pool, sl_job_handle h)
{
    sl__pending pending = {0};
    struct sl_job *job;
    int rc = SL_OK;

    if (pool == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    job = job_lookup(pool, h);
    if (job == NULL)
        rc = SL_ENOTFOUND;
    else if (job->state == JOB_QUEUED)
        sl__pool_drop(pool, job, &pending);
    else /* relaxed: see struct sl_job */
        atomic_store_explicit(&job->cancel, true, memory_order_relaxed);
    sl__frame_announce(pool, &pending);
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

int sl_pool_job_wait(sl_pool *pool, sl_job_handle h, uint64_t timeout_ns)
{
    struct timespec deadline = sl__deadline_in(
        timeout_ns == SL_POOL_FOREVER ? 0 : timeout_ns);
    int rc = SL_OK, w = 0;

    if (pool == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&pool->lock);
    while (job_lookup(pool, h) != NULL) {
        if (timeout_ns == 0 || w == ETIMEDOUT) {
            rc = SL_ETIMEDOUT;
            break;
        }
        pool->job_waiters++;
        if (timeout_ns == SL_POOL_FOREVER)
            pthread_cond_wait(&pool->done_cv, &pool->lock);
        else
            w = pthread_cond_timedwait(&pool->done_cv, &pool->lock,
                                       &deadline);
        pool->job_waiters--;
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

bool sl_job_cancelled(const sl_job *job)
{
    /* relaxed: cancellation is a hint; no data is published with it. */
    return atomic_load_explicit(&job->cancel, memory_order_relaxed) ||
           (job->frame != NULL &&
            atomic_load_explicit(&job->frame->cancelled,
                                 memory_order_relaxed)) ||
           atomic_load_explicit(&job->pool->abort, memory_order_relaxed);
}

uint64_t sl_job_frame_id(const sl_job *job)
{
    return job->frame != NULL ? job->frame->id : 0;
}

/* ------------------------------------------------------------ metrics */

int sl_pool_get_metrics(sl_pool *pool, sl_pool_metrics *out)
{
    if (pool == NULL || out == NULL)
        return SL_EINVAL;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&pool->lock);
    for (int c = 0; c < SL_CLASS_COUNT; c++) {
        const queue *q = &pool->q[c];
        sl_pool_class_metrics *m = &out->cls[c];
        m->queue_depth = q->depth;
        m->submitted = q->submitted;
        m->rejected = q->rejected;
        m->run = q->run;
        m->cancelled = q->cancelled;
        m->faulted = q->faulted;
        m->wait_ns_mean = q->run ? q->wait_sum / q->run : 0;
        m->wait_ns_max = q->wait_max;
        m->exec_ns_mean = q->run ? q->exec_sum / q->run : 0;
        m->exec_ns_max = q->exec_max;
    }
    out->workers = pool->n_threads;
    out->helped = pool->helped;
    for (unsigned i = 0; i < SL_POOL_MAX_WORKERS; i++)
        out->worker_busy_ns[i] = pool->workers[i].busy_ns;
    pthread_mutex_unlock(&pool->lock);
    return SL_OK;
}
