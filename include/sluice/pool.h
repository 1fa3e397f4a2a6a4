/*
 * sluice/pool.h: the worker pool that runs per-block DSP ("frame jobs") and
 * read-ahead, shared with the scheduler.
 *
 * Jobs are queued in three classes that match the service classes (Audible
 * before Warm before Idle). A queued job of a lower class that has waited
 * longer than the aging bound is served before any younger job, so Idle
 * work is never starved longer than that bound (plus the time a worker
 * needs to become free) by a sustained Audible load.
 *
 * Every job lives in a slot preallocated when the pool is created: there is
 * no allocation per job. Each class queue admits jobs only up to its
 * capacity; sl_pool_try_submit() reports SL_EFULL at once instead of
 * waiting for room.
 *
 * A frame is a group of jobs for one output block. sl_pool_frame_begin()
 * opens it, sl_pool_frame_submit() adds jobs, sl_pool_frame_finish() seals
 * it and gives a handle to poll, wait on (the waiting thread helps by
 * running the frame's queued jobs itself), cancel and release.
 *
 * Handles and their lifetime. Job, group and frame handles are small values
 * {slot, gen}. Each slot carries a generation counter that is bumped every
 * time the slot is freed, so a handle to a job or frame whose slot has since
 * been reused is recognised as stale and never touches the new occupant:
 *  - a job slot is freed as soon as its job has finished (run, cancelled or
 *    faulted), so a stale job handle simply means "finished";
 *  - a frame slot is freed only by sl_pool_frame_release() (or, for a frame
 *    released before it completed, when it completes), so the frame's
 *    progress and stats stay readable until its owner lets go. Every frame
 *    must be released, or the pool runs out of frame slots (SL_EFULL).
 * A zero-initialised handle is never valid (generations start at 1).
 *
 * Jobs run with synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL)
 * trapped: a faulting job is recorded as faulted, with the signal, in its
 * frame's stats and in the pool metrics, and the worker carries on. A fault
 * is a containment event, not a recovery: the owner of the job (a track)
 * should be quarantined and the process considered tainted. A plain job's
 * outcome is not kept (its slot is reused at once), so work whose faults
 * must be attributed runs in a frame, if need be a frame of one job.
 */
#ifndef SLUICE_POOL_H
#define SLUICE_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sluice/common.h>

SL_BEGIN_DECLS

typedef struct sl_pool sl_pool;

/* The running job, as seen by the job function (see sl_job_cancelled()). */
typedef struct sl_job sl_job;

/* A job function. It returns SL_OK (or any value >= 0) when it did its
 * work, SL_ECANCELED when it stopped early because sl_job_cancelled() said
 * so, or another negative SL_E* code when it failed. */
typedef int (*sl_job_fn)(sl_job *job, void *arg);

/* A submitted job. Stale once the job has finished (see the file comment). */
typedef struct sl_job_handle {
    uint32_t slot;
    uint32_t gen;
} sl_job_handle;

/* A frame being built: between sl_pool_frame_begin() and _finish(). */
typedef struct sl_frame_group {
    uint32_t slot;
    uint32_t gen;
} sl_frame_group;

/* A finished frame: valid until sl_pool_frame_release(). */
typedef struct sl_frame_handle {
    uint32_t slot;
    uint32_t gen;
} sl_frame_handle;

/* The most worker threads a pool can have. */
#define SL_POOL_MAX_WORKERS 64u

/* A timeout that never expires. */
#define SL_POOL_FOREVER UINT64_MAX

/* sl_pool_frame_begin() flag: cancel what is left of every frame whose id is
 * smaller than the new one (a seek makes their queued work stale). */
#define SL_FRAME_CANCEL_OLDER 1u

typedef struct sl_pool_config {
    /* Worker threads at creation, 0..SL_POOL_MAX_WORKERS. Default: the
     * number of online cores. 0 is allowed: then only threads waiting on a
     * frame (helping) run jobs, until sl_pool_resize() adds workers. */
    unsigned workers;
    /* Preallocated job slots shared by all classes. Default 4096. */
    unsigned job_slots;
    /* Admission bound of each class queue (indexed by sl_service_class).
     * Default: job_slots / 4 each. Keep their sum below job_slots by more
     * than the number of threads that run jobs, so that one full class
     * never leaves another without a slot. */
    unsigned queue_capacity[SL_CLASS_COUNT];
    /* Preallocated frame slots (frames begun and not yet released).
     * Default 256. */
    unsigned frame_slots;
    /* Aging bound: a queued Warm or Idle job older than this is served
     * before any younger job of a higher class. Default 20 ms. */
    uint64_t aging_ns;
} sl_pool_config;

/* How sl_pool_shutdown() treats jobs that are still queued. */
typedef enum sl_pool_shutdown_mode {
    SL_POOL_GRACEFUL = 0, /* run them all, then stop */
    SL_POOL_EMERGENCY = 1 /* drop them (counted as cancelled) and flag the
                             running ones through sl_job_cancelled() */
} sl_pool_shutdown_mode;

/* What became of a frame's jobs; passed to the completion callback and
 * returned by sl_pool_frame_stats(). The five job counts add up to
 * jobs_total once the frame is complete. */
typedef struct sl_frame_stats {
    uint64_t frame_id;
    sl_service_class cls;
    bool cancelled;          /* the frame was cancelled or superseded */
    unsigned jobs_total;     /* jobs submitted into the frame */
    unsigned jobs_done;      /* jobs finished so far, whatever the outcome */
    unsigned jobs_run;       /* returned a value >= 0 */
    unsigned jobs_cancelled; /* dropped unstarted, or returned SL_ECANCELED */
    unsigned jobs_failed;    /* returned another negative code */
    unsigned jobs_faulted;   /* raised a trapped synchronous fault */
    int first_error;         /* first failing job's code, or SL_OK */
    int fault_signal;        /* first faulting job's signal, or 0 */
    unsigned fault_job;      /* its index in submission order */
    void *fault_arg;         /* its arg, to find the owner to quarantine */
    uint64_t wait_ns_total;  /* queue wait (submit to start) of started jobs */
    uint64_t wait_ns_max;
    uint64_t exec_ns_total;  /* execution time of started jobs */
    uint64_t exec_ns_max;
    uint64_t latency_ns;     /* begin to completion; 0 until complete */
} sl_frame_stats;

/* Called once when a finished frame's last job is done. It runs on the
 * thread that completed the frame: a worker, a thread helping in
 * sl_pool_frame_wait(), or the thread calling sl_pool_frame_finish(),
 * _cancel(), _release(), _begin() (superseding) or sl_pool_shutdown(). It
 * must not block for long and must not call sl_pool_frame_wait() on its own
 * frame, sl_pool_resize() or sl_pool_shutdown(). Waiters return, and
 * is_complete reports 1, only after it has returned. */
typedef void (*sl_frame_done_fn)(const sl_frame_stats *stats, void *user);

/* Metrics of one class queue, since the pool was created. */
typedef struct sl_pool_class_metrics {
    uint64_t queue_depth; /* jobs queued now */
    uint64_t submitted;   /* admitted into the queue */
    uint64_t rejected;    /* refused for lack of room (SL_EFULL, timeout) */
    uint64_t run;         /* started (by a worker or a helping waiter) */
    uint64_t cancelled;   /* dropped before they started */
    uint64_t faulted;     /* started and raised a trapped fault */
    uint64_t wait_ns_mean, wait_ns_max; /* submit to start */
    uint64_t exec_ns_mean, exec_ns_max; /* start to end */
} sl_pool_class_metrics;

typedef struct sl_pool_metrics {
    sl_pool_class_metrics cls[SL_CLASS_COUNT]; /* by sl_service_class */
    unsigned workers;                          /* worker threads now */
    uint64_t helped;     /* jobs run by threads waiting on their frame */
    uint64_t worker_busy_ns[SL_POOL_MAX_WORKERS]; /* by worker index */
} sl_pool_metrics;

/* Fills *cfg with the defaults documented on sl_pool_config.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API void sl_pool_config_default(sl_pool_config *cfg);

/* Creates a pool, allocating every job and frame slot it will use, installs
 * the fault trap and starts cfg->workers threads. cfg NULL means defaults.
 * Thread: control thread; not RT-safe.
 * Errors: SL_EINVAL (out NULL, workers above SL_POOL_MAX_WORKERS, zero
 * job_slots, queue_capacity or frame_slots); SL_ENOMEM; SL_ETHREAD when a
 * thread or the fault trap cannot be set up. *out is NULL on error. */
SL_API int sl_pool_create(sl_pool **out, const sl_pool_config *cfg);

/* Shuts the pool down gracefully if that has not been done, then frees it.
 * No other call on the pool may be running or follow. NULL is ignored.
 * Thread: control thread; not RT-safe.
 * Errors: none. */
SL_API void sl_pool_destroy(sl_pool *pool);

/* Stops accepting jobs and stops the workers. GRACEFUL runs every queued
 * job first (on the calling thread if no worker is left); EMERGENCY drops
 * them as cancelled and flags the running ones. Either way it wakes every
 * sleeping worker and blocked submitter, and returns as soon as the last
 * running job has ended. Later submits fail with SL_ECLOSED; handles stay
 * readable until sl_pool_destroy().
 * Thread: control thread, not a worker; not RT-safe (joins threads).
 * Errors: SL_ECLOSED when already shut down; SL_ESTATE when called from
 * one of the pool's own workers (a job). */
SL_API int sl_pool_shutdown(sl_pool *pool, sl_pool_shutdown_mode mode);

/* Changes the number of worker threads. Retiring workers finish the job
 * they are running and leave the queued ones to the others; every sleeping
 * worker is woken before any is joined, so this never deadlocks. Queued
 * jobs are never lost.
 * Thread: control thread, not a worker; not RT-safe.
 * Errors: SL_EINVAL above SL_POOL_MAX_WORKERS; SL_ECLOSED after shutdown;
 * SL_ESTATE when called from one of the pool's own workers (a job);
 * SL_ETHREAD when a thread cannot be started (the pool keeps the workers
 * it could start). */
SL_API int sl_pool_resize(sl_pool *pool, unsigned workers);

/* Returns the current number of worker threads (0 for a NULL pool).
 * Thread: any thread; not for the device callback (takes the pool lock).
 * Errors: none. */
SL_API unsigned sl_pool_workers(sl_pool *pool);

/* Queues fn(job, arg) in class `cls`. Never waits for room: returns SL_EFULL
 * at once when the class queue or the job slots are full. *out (may be
 * NULL) receives the job's handle.
 * Thread: any thread, including the scheduler; it takes the pool lock for a
 * short constant-time section and never allocates, but is not for the
 * device callback.
 * Errors: SL_EINVAL (pool or fn NULL, bad class); SL_EFULL; SL_ECLOSED. */
SL_API int sl_pool_try_submit(sl_pool *pool, sl_service_class cls,
                              sl_job_fn fn, void *arg, sl_job_handle *out);

/* Like sl_pool_try_submit() but waits up to timeout_ns for room
 * (SL_POOL_FOREVER: no limit; 0: same as try-submit).
 * Thread: non-real-time threads; not RT-safe (may sleep).
 * Errors: SL_EINVAL; SL_ETIMEDOUT when no room came in time; SL_ECLOSED. */
SL_API int sl_pool_submit(sl_pool *pool, sl_service_class cls, sl_job_fn fn,
                          void *arg, uint64_t timeout_ns, sl_job_handle *out);

/* Cancels a job: a queued job is dropped without running; a running one is
 * flagged (sl_job_cancelled() turns true) and left to finish.
 * Thread: any thread; not for the device callback (takes the pool lock).
 * Errors: SL_ENOTFOUND when the job has already finished (stale handle). */
SL_API int sl_pool_job_cancel(sl_pool *pool, sl_job_handle job);

/* Waits up to timeout_ns for a job to finish (0 polls).
 * Thread: any non-real-time thread.
 * Errors: SL_ETIMEDOUT when it is still queued or running. */
SL_API int sl_pool_job_wait(sl_pool *pool, sl_job_handle job,
                            uint64_t timeout_ns);

/* Returns true once the running job has been cancelled: by its handle, by
 * its frame being cancelled or superseded, or by an emergency shutdown. A
 * job should poll it in long loops and check it right before publishing a
 * result, then return SL_ECANCELED. A result published after a true check
 * is still racy against a cancel that lands just after it; a consumer that
 * must never see a stale result also compares sl_job_frame_id().
 * Thread: the job's own thread; RT-safe (relaxed atomic loads).
 * Errors: none. */
SL_API bool sl_job_cancelled(const sl_job *job);

/* Returns the id of the frame the running job belongs to (0 for a job
 * submitted outside a frame), so results can carry their epoch.
 * Thread: the job's own thread; RT-safe.
 * Errors: none. */
SL_API uint64_t sl_job_frame_id(const sl_job *job);

/* Opens a frame group for frame `frame_id` whose jobs run in class `cls`.
 * With SL_FRAME_CANCEL_OLDER, every unreleased frame with a smaller id is
 * cancelled first, as by sl_pool_frame_cancel().
 * Thread: any thread; not for the device callback.
 * Errors: SL_EINVAL; SL_EFULL when every frame slot is in use; SL_ECLOSED. */
SL_API int sl_pool_frame_begin(sl_pool *pool, uint64_t frame_id,
                               sl_service_class cls, unsigned flags,
                               sl_frame_group *out);

/* Queues fn(job, arg) as a job of the group, in the frame's class. Waits up
 * to timeout_ns for room (0: never waits, SL_EFULL at once). While the
 * queue is full it first makes room by running the group's own queued jobs
 * on the calling thread, as sl_pool_frame_wait() does, so a frame larger
 * than its queue still gets in with no free worker.
 * Thread: the thread that began the group.
 * Errors: SL_EINVAL; SL_ENOTFOUND (stale group); SL_ESTATE (already
 * finished); SL_ECANCELED (the frame was cancelled or superseded); SL_EFULL
 * or SL_ETIMEDOUT; SL_ECLOSED. */
SL_API int sl_pool_frame_submit(sl_pool *pool, sl_frame_group group,
                                sl_job_fn fn, void *arg, uint64_t timeout_ns);

/* Seals the group and returns its frame handle. done(stats, user), if not
 * NULL, is called once when the last job is done; for a frame with no job
 * left that is during this call.
 * Thread: the thread that began the group.
 * Errors: SL_EINVAL; SL_ENOTFOUND (stale group); SL_ESTATE (already
 * finished). */
SL_API int sl_pool_frame_finish(sl_pool *pool, sl_frame_group group,
                                sl_frame_done_fn done, void *user,
                                sl_frame_handle *out);

/* Returns 1 when every job of the frame is done and its callback has
 * returned, 0 before.
 * Thread: any thread; not for the device callback.
 * Errors: SL_ENOTFOUND (released or stale handle). */
SL_API int sl_pool_frame_is_complete(sl_pool *pool, sl_frame_handle frame);

/* Reports how many of the frame's jobs are done (whatever the outcome) and
 * how many it has; either pointer may be NULL.
 * Thread: any thread; not for the device callback.
 * Errors: SL_ENOTFOUND. */
SL_API int sl_pool_frame_progress(sl_pool *pool, sl_frame_handle frame,
                                  unsigned *done, unsigned *total);

/* Waits up to timeout_ns (0 polls) for the frame to complete, helping: while
 * the frame has queued jobs the calling thread takes them and runs them
 * itself (faults trapped), and sleeps only when the rest are running
 * elsewhere. A frame therefore completes even when every worker is busy or
 * the pool has none. This is what the scheduler calls to join a frame.
 * Thread: any thread that is not a pool worker (a worker may call it, but a
 * job that waits on its own frame deadlocks); not RT-safe. A thread that
 * wants stack-overflow faults trapped in the jobs it helps with calls the
 * fault module's per-thread set-up itself; other faults are always trapped.
 * Errors: SL_ETIMEDOUT; SL_ENOTFOUND. */
SL_API int sl_pool_frame_wait(sl_pool *pool, sl_frame_handle frame,
                              uint64_t timeout_ns);

/* Cancels the frame: its queued jobs are dropped without running, its
 * running jobs see sl_job_cancelled() turn true. When that completes the
 * frame, its callback runs during this call.
 * Thread: any thread; not for the device callback.
 * Errors: SL_ENOTFOUND. */
SL_API int sl_pool_frame_cancel(sl_pool *pool, sl_frame_handle frame);

/* Copies the frame's stats so far into *out.
 * Thread: any thread; not for the device callback.
 * Errors: SL_EINVAL (out NULL); SL_ENOTFOUND. */
SL_API int sl_pool_frame_stats(sl_pool *pool, sl_frame_handle frame,
                               sl_frame_stats *out);

/* Lets go of the frame. A complete frame's slot is freed now; an incomplete
 * one is cancelled (its callback, if any, still runs once) and its slot
 * freed when it completes. Either way the handle is stale afterwards.
 * Thread: any thread; not for the device callback.
 * Errors: SL_ENOTFOUND (already released). */
SL_API int sl_pool_frame_release(sl_pool *pool, sl_frame_handle frame);

/* Copies the pool's metrics into *out.
 * Thread: any thread; not for the device callback.
 * Errors: SL_EINVAL when an argument is NULL. */
SL_API int sl_pool_get_metrics(sl_pool *pool, sl_pool_metrics *out);

SL_END_DECLS

#endif /* SLUICE_POOL_H */
